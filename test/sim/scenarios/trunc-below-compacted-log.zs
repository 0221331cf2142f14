# Regression: the new leader's log was compacted (its host keeps a short
# log window and a snapshot) and a returning follower has an uncommitted
# tail in the same epoch.  The follower must be truncated to the common
# prefix (or given a snapshot that covers it), never given an older
# snapshot that drops committed transactions it holds.
voters 3
seed 67
config log_window 4
start all
until leader 3 within 2s
until synced within 2s
propose 10
until committed 10 within 3s
until synced within 3s
# n1 alone logs 1:11: n2 never sees it, n3's copy never becomes durable
# and n1's ACK never reaches n3.
hold 3->2 PROPOSAL
hold 1->3 ACK
disk stall 3 log
propose 1
until logged 1 1:11 within 1s
run 50ms
crash 3
release
isolate 1
# n1 restarts too: its host state is empty again, so nothing it delivered
# before stops it from installing whatever snapshot it is sent.
crash 1
restart 1 3
until leader within 5s
# A transaction of the new epoch that stays in the leader's log: 1:11 is
# then neither the leader's last entry nor in its log, and the log starts
# after the leader's snapshot, inside epoch 1.
disk stall leader log
propose 1
heal
run 500ms
disk resume leader
until synced within 5s
expect dropped 1:11
expect lost none
