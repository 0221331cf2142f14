# Two voters form a quorum and commit; the third voter and an observer
# start later and catch up with the established epoch.
voters 3
observers 1
seed 29
start 1 2
until leader within 2s
propose 6
until committed 6 within 2s
start 3 4
until synced within 3s
expect delivered 3 >= 6
expect delivered 4 >= 6
propose 2
until committed 8 within 2s
until synced within 2s
expect lost none
