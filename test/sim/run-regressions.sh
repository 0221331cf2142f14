#!/bin/sh
# Replays every seed in test/sim/regression-seeds; fails if any fails.
B=${B:-build}
fail=0
n=0
for s in $(grep -v '^#' test/sim/regression-seeds | awk 'NF {print $1}'); do
    n=$((n + 1))
    if ! "$B/zabsim" --seed "$s" --steps 4000 >/dev/null 2>&1; then
        echo "FAIL regression seed $s (replay: $B/zabsim --seed $s --steps 4000 --trace)"
        fail=1
    fi
done
echo "regression seeds: $n replayed, $([ $fail = 0 ] && echo all passed || echo FAILURES)"
exit $fail
