#!/bin/sh
# make demo: a three-node libzab cluster in the deterministic simulator.
# It elects a leader, commits transactions, loses the leader, elects
# another one, commits more, and brings the old leader back; the story is
# printed with virtual timestamps (milliseconds) and ends with each node's
# delivered history and state hash, which must be equal everywhere.
#
# usage: sh examples/demo-sim.sh [path/to/zabsim]
set -e
SIM=${1:-build/zabsim}
HERE=$(dirname "$0")
SCENARIO="$HERE/../test/sim/scenarios/demo-leader-failover.zs"
if [ ! -x "$SIM" ]; then
    echo "demo: $SIM is not built (run: make sim)" >&2
    exit 2
fi
echo "== libzab demo: $SCENARIO"
echo "== times are virtual milliseconds; every run of this seed is identical"
echo
"$SIM" --scenario "$SCENARIO" --narrate
echo
echo "== the same cluster under random faults, three seeds:"
"$SIM" --seeds 1-3 --steps 3000
