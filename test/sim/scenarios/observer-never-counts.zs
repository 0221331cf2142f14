# Observers learn every committed transaction but never count toward a
# quorum: with two of three voters down nothing commits, however many
# observers are up.
voters 3
observers 2
seed 17
start all
until leader within 2s
propose 2
until synced within 2s
expect delivered 4 >= 2
expect delivered 5 >= 2
crash follower
crash follower
propose 1 via 3
run 2s
expect not delivered 3 >= 3
expect not delivered 4 >= 3
expect not delivered 5 >= 3
expect not leader
restart all
until leader within 10s
until synced within 10s
expect lost none
