# Every node crashes at once and boots from its disk: nothing committed
# is lost, and the cluster goes on in a new epoch.
voters 3
observers 1
seed 19
start all
until leader within 2s
propose 5
until committed 5 within 2s
until synced within 2s
crash all
run 100ms
restart all
until leader within 5s
until epoch >= 2 within 1s
until synced within 5s
expect lost none
propose 3
until committed 8 within 3s
until synced within 3s
expect delivered 4 >= 8
