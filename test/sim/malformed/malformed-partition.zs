voters 3
start all
partition 1 2 |
