# The leader is cut off with a minority.  The majority elects a new leader;
# the old one notices it lost its quorum and steps down, and what it
# proposed alone is never committed.
voters 5
seed 13
start all
until leader 5 within 2s
propose 3
until synced within 2s
partition 5 1 | 2 3 4
propose 1 via 5
# The majority side notices the leader is gone and elects another.
until not role 2 following within 15s
until not role 3 following within 15s
until not role 4 following within 15s
until leader within 15s
expect not leader 5
until not role 5 leading within 15s
propose 2
until committed 5 within 3s
heal
until synced within 10s
expect dropped 1:4
expect lost none
