# The demo (make demo): three voters elect a leader, commit a few
# transactions, lose their leader, elect another one, and go on; every
# node ends with the same transactions in the same order.
voters 3
seed 2
latency 1ms 4ms
fsync 1ms 3ms
start all
until leader within 2s
until synced within 2s
propose 3
until committed 3 within 1s
until synced within 1s
crash leader
until leader within 5s
propose 2 via follower
until committed 5 within 2s
restart all
until synced within 5s
expect lost none
expect delivered 1 >= 5
expect delivered 2 >= 5
expect delivered 3 >= 5
