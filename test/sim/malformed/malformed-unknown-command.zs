voters 3
start all
frobnicate 3
