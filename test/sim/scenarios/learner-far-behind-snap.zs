# A follower that missed more than diff_max transactions is brought back
# with a snapshot (SNAP) instead of a DIFF.
voters 3
seed 9
config diff_max 4
start all
until leader within 2s
propose 2
until synced within 2s
crash follower
propose 20
until committed 22 within 3s
restart all
until synced within 5s
expect lost none
expect delivered 1 >= 22
expect delivered 2 >= 22
expect delivered 3 >= 22
