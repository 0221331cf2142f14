# Like uncommitted-tail-truncated, but the epoch the follower shares with
# the new leader is long: 20 entries, with diff_max 4.  The leader finds
# the last shared entry of that epoch by a binary search over its log (not
# a scan bounded by diff_max), truncates the follower's divergent tail and
# sends it the new epoch's transactions.  Whatever the sync mode, the
# divergent proposal is dropped everywhere and nothing committed is lost.
voters 3
seed 11
config diff_max 4
start all
until leader 3 within 2s
propose 20
until synced within 3s
hold 3->2 PROPOSAL
hold 1->3 ACK
disk stall 3 log
propose 1
until logged 1 1:21 within 1s
run 50ms
crash 3
release
isolate 1
restart 3
until leader within 5s
propose 2
until committed 22 within 3s
heal
until synced within 5s
expect dropped 1:21
expect lost none
expect delivered 1 >= 22
