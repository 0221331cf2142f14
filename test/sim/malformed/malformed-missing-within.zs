voters 3
start all
until leader
