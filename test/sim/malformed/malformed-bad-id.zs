voters 3
start all
crash 4
