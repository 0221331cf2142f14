# A proposal that only the leader logged is not committed: when the leader
# dies, the next epoch goes on without it, and when the old leader comes
# back its tail is truncated (it is ahead of the new leader: TRUNC).
voters 3
seed 3
start all
until leader within 2s
propose 2
until committed 2 within 1s
until synced within 1s
# From now on nothing the leader sends reaches anyone.
hold leader->* PROPOSAL
propose 1
until logged leader 1:3 within 1s
run 20ms
crash leader
release
until leader within 3s
until synced within 3s
restart all
until synced within 5s
expect dropped 1:3
expect lost none
expect delivered 1 >= 2
expect delivered 2 >= 2
expect delivered 3 >= 2
