# The leader commits on a quorum, then dies before its COMMIT reaches
# anyone; the next leader must still deliver the transaction.
voters 3
seed 7
start all
until leader within 2s
propose 1
hold *->* COMMIT
until committed 1 within 1s
crash leader
until leader within 3s
until synced within 3s
expect lost none
