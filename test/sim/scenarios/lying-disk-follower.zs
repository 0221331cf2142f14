# A follower's disk acknowledges writes it then loses at a crash.  The
# follower must come back with what is left, and the cluster, which never
# depended on that follower alone, still agrees on everything committed.
voters 3
seed 53
fsync 1ms 5ms
start all
until leader within 2s
until synced within 2s
propose 3
until synced within 2s
disk lose 1
propose 2
until committed 5 within 2s
crash 1
restart 1
until synced within 5s
expect lost none
expect delivered 1 >= 5
