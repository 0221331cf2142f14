# The leader dies at the moment it would send its first COMMIT: a quorum
# acknowledged the transaction, so the next leader must deliver it.
voters 3
seed 37
start all
until leader 3 within 2s
until synced within 2s
crash leader on send COMMIT
propose 1
until role 1 looking within 1s
until leader within 3s
until synced within 3s
expect delivered 1 1:1
expect lost none
restart all
until synced within 3s
expect delivered 3 1:1
