# Fast leader election: with equal histories the highest id wins; later
# the node with the highest zxid wins even with a lower id.
voters 3
seed 5
start all
until leader within 2s
expect leader 3
propose 2
until synced within 2s
# n2 misses what comes next; n1 logs it.
hold 3->2 PROPOSAL
propose 2
until logged 1 1:4 within 1s
run 20ms
crash 3
release
until leader within 3s
# n1 (zxid 1:4) beats n2 (zxid 1:2) although n2 has the higher id.
expect leader 1
until synced within 3s
expect delivered 2 1:4
restart 3
until synced within 3s
expect lost none
