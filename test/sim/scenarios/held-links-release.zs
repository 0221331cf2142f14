# Held traffic is delivered in order when released: a follower that got
# nothing for a while catches up from the queued stream itself.
voters 3
seed 61
start all
until leader 3 within 2s
until synced within 2s
hold 3->1 *
propose 6
until committed 6 within 2s
expect not delivered 1 >= 1
release 3->1
until synced within 3s
expect delivered 1 >= 6
expect lost none
