# A one-way cut between the leader and a follower: the connection cannot
# stay up, the follower falls back and rejoins once the link heals, and
# the rest of the cluster keeps committing meanwhile.
voters 3
seed 47
start all
until leader 3 within 2s
until synced within 2s
cut 3->1
propose 4
until committed 4 within 3s
expect not delivered 1 >= 4
heal
until synced within 10s
expect lost none
expect delivered 1 >= 4
