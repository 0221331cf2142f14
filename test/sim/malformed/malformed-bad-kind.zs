voters 3
start all
hold 1->2 PROPOSALS
