#!/bin/sh
# Runs every scenario under test/sim/scenarios with $B/zabsim (B defaults
# to build): each must pass (exit 0).  The files under test/sim/malformed
# test the parser: each must be rejected as malformed (exit 2).  They live
# apart so that test/sim/scenarios holds only scenarios that pass.  One
# line per file; exits non-zero if any file does not behave.
B=${B:-build}
SIM="$B/zabsim"
HERE=$(dirname "$0")
if [ ! -x "$SIM" ]; then
    echo "run-scenarios: $SIM not built" >&2
    exit 2
fi
pass=0
fail=0
for f in "$HERE"/scenarios/*.zs "$HERE"/malformed/*.zs; do
    name=$(basename "$f")
    out=$("$SIM" --scenario "$f" --quiet 2>&1)
    rc=$?
    case "$f" in
    */malformed/*) want=2 ;;
    *) want=0 ;;
    esac
    if [ "$rc" -eq "$want" ]; then
        echo "PASS $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name (exit $rc, expected $want)"
        printf '%s\n' "$out" | sed -n '1,12p' | sed 's/^/    /'
        echo "    rerun: $SIM --scenario $f --trace"
        fail=$((fail + 1))
    fi
done
echo "scenarios: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
