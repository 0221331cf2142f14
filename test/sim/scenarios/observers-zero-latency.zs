# Regression: two observers looking for a leader at the same time must not
# answer each other's votes forever (with no network delay that stops
# virtual time altogether).
voters 3
observers 2
seed 73
latency 0ms 0ms
start all
until leader within 2s
until synced within 2s
propose 3
until synced within 2s
crash 4 5
restart 4 5
until synced within 3s
expect lost none
