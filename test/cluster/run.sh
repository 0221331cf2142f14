#!/usr/bin/env bash
# run.sh IMPL [SUITE...] -- the real-client test battery against real
# server processes.
#
#   IMPL   zookeeper (Apache ZooKeeper 3.8 from Debian: the reference) or
#          zabd (build/zabd, or $ZABD)
#   SUITE  any of: kazoo cli faults sasl tls (default: the first four;
#          make check runs tls through check-tls)
#
# Suites:
#   kazoo   test_kazoo.py: every client operation, stats, errors, ACLs,
#           watches, sessions, containers/TTL, on a standalone server and a
#           3-member ensemble; failover with session/ephemerals/watches
#   cli     test_cli.py: test_cclient.c (C client), cli_mt, zkCli.sh
#   faults  test_faults.py: leader SIGKILL under load, kill-all + restart,
#           lagging member catch-up, torn log tail (zabd)
#   sasl    test_sasl.py: SASL DIGEST-MD5 (a JAAS Server section) with a
#           raw RFC 2831 client, Kazoo and zkCli.sh; the sasl ACL scheme
#   tls     test_tls.py: sslQuorum and secureClientPort with PEM stores:
#           Kazoo and zkCli over TLS, refused clients, leader failover
#           over TLS, a member with another CA's certificate kept out
#           (make check-tls)
#
# Environment: ZABD, CCLIENT (a built test_cclient; else built here),
# ZKC_FAULT_WRITES (default 5000), ZKC_KEEP=1 (keep the work directory),
# ZKC_LOG=INFO (Kazoo logging), ZKC_TICK (tickTime, default 200).
#
# Exit status 0 when every suite passed.  Server logs and test output are
# kept in the work directory when anything failed.

set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY=/usr/bin/python3

IMPL="${1:-}"
case "$IMPL" in
    zookeeper|zabd) shift ;;
    *) echo "usage: $0 zookeeper|zabd [kazoo] [cli] [faults] [sasl] [tls]" >&2; exit 2 ;;
esac
SUITES=("$@")
[ ${#SUITES[@]} -eq 0 ] && SUITES=(kazoo cli faults sasl)

if [ "$IMPL" = zabd ]; then
    ZABD="${ZABD:-$REPO/build/zabd}"
    if [ ! -x "$ZABD" ]; then
        echo "run.sh: zabd binary not found at $ZABD (build it, or set ZABD)" >&2
        exit 2
    fi
    export ZABD
fi
$PY -c 'import kazoo' 2>/dev/null || { echo "run.sh: $PY cannot import kazoo (python3-kazoo)" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/zkc-run-$IMPL.XXXXXX")"
export ZK_IMPL="$IMPL" ZKC_WORKDIR="$WORK" PYTHONDONTWRITEBYTECODE=1

# Kill any server a test left behind: only processes whose pid we wrote
# (workdir/*/s*/pid) and whose command line names this work directory.
sweep() {
    local f pid
    for f in "$WORK"/*/s*/pid; do
        [ -f "$f" ] || continue
        pid="$(cat "$f")"
        if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$WORK"; then
            echo "run.sh: killing leftover server pid $pid ($f)" >&2
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        fi
    done
}
SUITE_PID=""
on_signal() {
    echo "run.sh: interrupted" >&2
    if [ -n "$SUITE_PID" ]; then
        kill -TERM "$SUITE_PID" 2>/dev/null   # timeout passes it on to the tests
        wait "$SUITE_PID" 2>/dev/null
    fi
    sweep
    echo "run.sh: outputs and server logs kept in $WORK" >&2
    exit 130
}
trap on_signal INT TERM HUP
trap sweep EXIT

T0=$(date +%s.%N)
declare -A RESULT TIME
FAILED=0

# the C client test program
if [ -z "${CCLIENT:-}" ]; then
    CCLIENT="$WORK/test_cclient"
    if ! ${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -DTHREADED -Wall -Wextra -O2 \
            -o "$CCLIENT" "$HERE/test_cclient.c" -lzookeeper_mt -lpthread 2>"$WORK/cclient-build.log"; then
        echo "run.sh: building test_cclient failed:" >&2
        cat "$WORK/cclient-build.log" >&2
        CCLIENT=""
    fi
fi
export CCLIENT

run_suite() {
    local name="$1" script="$2" limit="$3"
    local t0 t1 rc
    echo "=== $name ($script, impl $IMPL)"
    t0=$(date +%s.%N)
    # in the background, so that a signal to run.sh is handled at once
    timeout -k 15 "$limit" $PY "$HERE/$script" > >(tee "$WORK/$name.out") 2>&1 &
    SUITE_PID=$!
    wait "$SUITE_PID"
    rc=$?
    SUITE_PID=""
    sleep 0.2   # let tee finish
    t1=$(date +%s.%N)
    TIME[$name]=$(printf '%.1f' "$(echo "$t1 - $t0" | bc)")
    if [ "$rc" -eq 0 ]; then
        RESULT[$name]=PASS
    else
        [ "$rc" -eq 124 ] && echo "run.sh: $name timed out after ${limit}s" | tee -a "$WORK/$name.out"
        RESULT[$name]="FAIL (exit $rc)"
        FAILED=1
    fi
    sweep
}

for s in "${SUITES[@]}"; do
    case "$s" in
        kazoo)  run_suite kazoo test_kazoo.py 300 ;;
        cli)    if [ -z "$CCLIENT" ]; then RESULT[cli]="FAIL (no test_cclient)"; TIME[cli]=0; FAILED=1
                else run_suite cli test_cli.py 180; fi ;;
        faults) run_suite faults test_faults.py 300 ;;
        sasl)   run_suite sasl test_sasl.py 180 ;;
        tls)    run_suite tls test_tls.py 240 ;;
        *) echo "run.sh: unknown suite $s" >&2; RESULT[$s]="FAIL (unknown suite)"; TIME[$s]=0; FAILED=1 ;;
    esac
done

T1=$(date +%s.%N)
echo
echo "==================== summary (impl $IMPL) ===================="
for s in "${SUITES[@]}"; do
    tests=""
    if [ -f "$WORK/$s.out" ]; then
        tests=$(grep -E '^Ran [0-9]+ tests? in' "$WORK/$s.out" | tail -1)
        sk=$(grep -oE 'skipped=[0-9]+' "$WORK/$s.out" | tail -1)
        [ -n "$sk" ] && tests="$tests, $sk"
    fi
    printf '  %-8s %-16s %7ss   %s\n' "$s" "${RESULT[$s]}" "${TIME[$s]}" "$tests"
done
printf '  total wall time %.1fs\n' "$(echo "$T1 - $T0" | bc)"
if [ $FAILED -eq 0 ]; then
    echo "PASS"
    [ -z "${ZKC_KEEP:-}" ] && rm -rf "$WORK"
    exit 0
fi
echo "FAIL -- outputs and server logs kept in $WORK"
exit 1
