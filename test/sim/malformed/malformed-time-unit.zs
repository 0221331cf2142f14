voters 3
start all
until leader within 2 minutes
