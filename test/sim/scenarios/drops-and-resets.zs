# Lost frames break the connection they were on (a reliable channel
# cannot skip one); the nodes reconnect.  Proposals caught in the turmoil
# may be dropped if no quorum logged them, but nothing committed is lost
# and nothing is delivered twice.
voters 5
observers 1
seed 43
start all
until leader 5 within 2s
until synced within 2s
propose 2
until committed 2 within 2s
drop 5->1 PROPOSAL count 2
drop 2->5 ACK
propose 5
run 500ms
until leader within 5s
until synced within 5s
expect lost none
drop leader->6 INFORM count 3
propose 3
disconnect 1 2
disconnect leader follower
run 300ms
until leader within 5s
until synced within 5s
expect lost none
expect delivered 6 >= 2
