# The basic path: election, proposals through the leader and through
# followers (forwarded as REQUEST), everyone delivers the same sequence.
voters 3
observers 1
seed 1
latency 1ms 3ms
fsync 1ms 2ms
start all
until leader within 2s
until synced within 2s
propose 10
propose 5 via follower
propose 3 via 4
until committed 18 within 3s
until synced within 2s
expect lost none
expect delivered 1 >= 18
expect delivered 4 >= 18
run 2s
expect leader
