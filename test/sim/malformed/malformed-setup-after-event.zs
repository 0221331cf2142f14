voters 3
start all
voters 5
