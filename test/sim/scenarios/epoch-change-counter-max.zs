# With a tiny zxid counter the leader runs out of counters: it steps down
# and a new epoch is elected; the counters of that epoch start at 1.
voters 3
seed 31
config counter_max 5
start all
until leader within 2s
propose 5
until committed 5 within 2s
# The sixth would need counter 6: refused, and the leader steps down.
propose 1
until epoch >= 2 within 10s
until leader within 10s
propose 2
until committed 7 within 3s
until synced within 3s
expect delivered 1 2:2
expect lost none
