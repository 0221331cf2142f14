# The last log record of a crashed observer is torn: the host drops it
# when it recovers and the observer learns it again from the leader.
voters 3
observers 1
seed 59
start all
until leader within 2s
until synced within 2s
propose 4
until synced within 2s
disk torn 4
crash 4
restart 4
until synced within 5s
expect lost none
expect delivered 4 >= 4
