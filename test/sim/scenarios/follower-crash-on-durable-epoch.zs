# A follower dies right after each kind of durable write of a new epoch:
# acceptedEpoch (discovery), currentEpoch (synchronisation) and a log
# append.  It comes back with exactly what its disk holds and rejoins.
voters 3
seed 41
start all
until leader within 2s
until synced within 2s
propose 3
until synced within 2s
crash 1 on durable accepted
crash 2 on durable log
crash leader
until role 1 looking within 3s
restart 3
until leader within 5s
restart all
until synced within 5s
crash 2 on durable current
crash leader
until leader within 5s
restart all
until synced within 5s
expect lost none
propose 2
until committed 5 within 3s
until synced within 3s
expect lost none
