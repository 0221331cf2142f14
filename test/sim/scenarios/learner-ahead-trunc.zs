# A follower holds a transaction nobody else has (its ACK never reached
# the leader, and the leader's own write never became durable).  The
# others elect a new epoch without it and go on; when the follower comes
# back it is truncated to the common prefix and then sent the new epoch's
# transactions (TRUNC followed by DIFF).
voters 3
seed 11
start all
until leader 3 within 2s
propose 3
until synced within 2s
hold 3->2 PROPOSAL
hold 1->3 ACK
disk stall 3 log
propose 1
until logged 1 1:4 within 1s
run 50ms
crash 3
release
isolate 1
restart 3
until leader within 5s
propose 2
until committed 5 within 3s
heal
until synced within 5s
expect dropped 1:4
expect lost none
expect delivered 1 >= 5
