# The leader's disk stalls.  The followers form a quorum without it, but
# the leader cannot deliver what its own disk does not hold until the
# disk comes back.
voters 3
seed 23
start all
until leader within 2s
propose 2
until synced within 2s
disk stall leader
propose 3
until delivered follower >= 5 within 2s
expect not delivered leader >= 5
disk resume leader
until synced within 2s
expect delivered leader >= 5
expect lost none
