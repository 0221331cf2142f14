# Regression: diff_max prefers SNAP for a learner far behind, but the
# leader's only snapshot (installed when it was itself a learner) is older
# than that learner's position.  The learner must still be synchronised
# (a DIFF is always possible when the log holds everything after it).
voters 3
seed 71
config diff_max 2
start all
until leader 3 within 2s
until synced within 2s
propose 2
until synced within 2s
crash 1
propose 5
until committed 7 within 3s
restart 1
# n1 is 5 behind: it gets a snapshot of n3's state at 1:7.
until synced within 5s
propose 2
until synced within 3s
crash 2
propose 3
until committed 12 within 3s
crash 3
restart 2
# n1 (1:12) leads; n2 (1:9) is 3 behind, past diff_max, and n1's own
# snapshot (1:7) is older than n2's position.
until leader 1 within 5s
until synced within 5s
expect lost none
