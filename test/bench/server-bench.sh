#!/bin/bash
# server-bench.sh -- zabd against Apache ZooKeeper 3.8, same machine, same
# load: a 3-node zabd cluster, then (never at the same time) a 3-node
# ZooKeeper ensemble, both on 127.0.0.1 with their dataDirs in one temp dir
# (same disk), fsync on for both (ZooKeeper's default forceSync=yes, written
# out explicitly; zabd always fsyncs), the same zoo.cfg apart from ports.
#
# Two load generators, each a row of the same table:
#   set, get, create   zkload (test/bench/zkload.c): Apache ZooKeeper's C
#                      client (libzookeeper_mt), SESSIONS x DEPTH in flight.
#   set-raw, get-raw   zkraw (test/bench/zkraw.c): the client wire protocol
#                      spoken directly, one thread, batched writes and reads,
#                      RAW_SESSIONS x RAW_DEPTH in flight.  The C client
#                      costs the generator several microseconds of CPU per
#                      request and shares the two cores with the servers;
#                      zkraw costs a fraction of a microsecond, so these rows
#                      measure the servers rather than the client.
#   get-st, set-st     (optional) zkload built on libzookeeper_st, one thread
#                      driving every session (needs libzookeeper-st2).
#
# Each ensemble is first primed, unmeasured (PRIME_CREATES creates, then
# PRIME seconds of set and of get: the JVM's JIT warms up, and both trees
# are the same for the idle memory sample).  Then each workload runs RUNS
# times (default 3), each run WARMUP seconds of unmeasured load and
# DURATION seconds measured.  Printed: the median ops/s, p50 and p99 of
# each system and the ratios zabd/ZooKeeper; the longest stall a session
# saw; the CPU the servers and the generator used (on a small machine the
# load generator competes with the servers) and the servers' CPU per op;
# the resident memory of the 3 servers (VmRSS summed; idle after priming,
# then sampled near the end of each workload's measurement, largest of the
# runs) with the number of znodes at that point; and the project's targets
# checked against the numbers, for each generator.  Defaults take about
# 4 minutes.
#
# Usage: bash test/bench/server-bench.sh      (make bench-server)
#
# Environment (defaults):
#   B=build  ZABD=$B/zabd  ZKLOAD=$B/zkload  ZKRAW=$B/zkraw
#   ZKLOAD_ST=$B/zkload-st  CC=cc  JAVA=java
#   RUNS=3 DURATION=5 WARMUP=1 (seconds)
#   PRIME=4 (seconds of set and of get) PRIME_CREATES=20000
#   SESSIONS=8 DEPTH=64 (zkload)  RAW_SESSIONS=8 RAW_DEPTH=64 (zkraw)
#   KEYS=1000 DATA=100 CREATE_MODE=seq|unique
#   WORKLOADS="set get set-raw get-raw create"  SYSTEMS="zabd zookeeper"
#     (create last: the others then run on the same tree for both; the
#     faster system creates more znodes)
#   TICK=2000 INIT_LIMIT=10 SYNC_LIMIT=5   (ZooKeeper's sample zoo.cfg)
#   ZK_HEAP=1g (-Xmx for each ZooKeeper JVM; nothing else is tuned)
#   TMPDIR=/tmp (where the dataDirs go; must be a real disk, not tmpfs)
#   STALL_MS=200 (-S: stalls this long are listed in the generator's log)
#   LOGKEEP=$B/server-bench-logs (server logs are copied here on failure,
#     or always with KEEP_LOGS=1)
#
# zkload and zkraw are built when missing or older than their source
# (zkload-st only when a -st workload is asked for):
#   cc -O2 -g -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
#      -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wvla -Wformat=2 \
#      -Wundef -pthread test/bench/zkload.c -lzookeeper_mt -o build/zkload
#   cc (the same flags) test/bench/zkraw.c -o build/zkraw
#   cc (the same flags) -DZKLOAD_ST test/bench/zkload.c \
#      -l:libzookeeper_st.so.2 -o build/zkload-st
#     (the soname: Debian's libzookeeper-st-dev conflicts with -mt-dev,
#     whose headers serve both)
#
# Exit status: 0 when every run completed without errors (whatever the
# numbers), 1 when a run had errors, a server died or did not start.
# Nothing is left behind: servers are stopped and the temp dir removed on
# exit, Ctrl-C included; the servers die with this script even on SIGKILL
# (setpriv --pdeathsig).

set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$repo/$B ;; esac
ZABD=${ZABD:-$B/zabd}
ZKLOAD=${ZKLOAD:-$B/zkload}
ZKRAW=${ZKRAW:-$B/zkraw}
ZKLOAD_ST=${ZKLOAD_ST:-$B/zkload-st}
# The servers run from their own directories: the paths must not be relative.
ZABD=$(realpath -m "$ZABD")
ZKLOAD=$(realpath -m "$ZKLOAD")
ZKRAW=$(realpath -m "$ZKRAW")
ZKLOAD_ST=$(realpath -m "$ZKLOAD_ST")
CC=${CC:-cc}
JAVA=${JAVA:-java}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
PRIME=${PRIME:-4}
PRIME_CREATES=${PRIME_CREATES:-20000}
SESSIONS=${SESSIONS:-8}
DEPTH=${DEPTH:-64}
RAW_SESSIONS=${RAW_SESSIONS:-8}
RAW_DEPTH=${RAW_DEPTH:-64}
KEYS=${KEYS:-1000}
DATA=${DATA:-100}
CREATE_MODE=${CREATE_MODE:-seq}
WORKLOADS=${WORKLOADS:-set get set-raw get-raw create}
SYSTEMS=${SYSTEMS:-zabd zookeeper}
TICK=${TICK:-2000}
INIT_LIMIT=${INIT_LIMIT:-10}
SYNC_LIMIT=${SYNC_LIMIT:-5}
ZK_HEAP=${ZK_HEAP:-1g}
LOGKEEP=${LOGKEEP:-$B/server-bench-logs}
STALL_MS=${STALL_MS:-200}
N=3

say() { printf '%s\n' "$*"; }
warn() { printf 'server-bench: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }

# ---- prerequisites ---------------------------------------------------------

[ -x "$ZABD" ] || die "no zabd at $ZABD (make zabd)"
for w in $WORKLOADS; do
    case $w in
    set | get | create | set-raw | get-raw | set-st | get-st | create-st) ;;
    *) die "unknown workload $w (set get create, set-raw get-raw, set-st get-st create-st)" ;;
    esac
done

build() {  # binary source extra-args...: (re)builds a generator
    local bin=$1 src=$2
    shift 2
    [ -x "$bin" ] && [ ! "$src" -nt "$bin" ] && return 0
    mkdir -p "$(dirname "$bin")"
    say "  CCLD    $bin"
    "$CC" -O2 -g -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
        -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wvla -Wformat=2 \
        -Wundef -D_POSIX_C_SOURCE=200809L "$@" -o "$bin" ||
        die "cannot build $bin"
}
# zkload primes both systems, whatever the rows.
[ -f /usr/include/zookeeper/zookeeper.h ] ||
    die "zookeeper.h missing (apt-get install libzookeeper-mt-dev)"
build "$ZKLOAD" "$here/zkload.c" -pthread "$here/zkload.c" -lzookeeper_mt
case " $WORKLOADS " in *-raw" "*)
    build "$ZKRAW" "$here/zkraw.c" "$here/zkraw.c" ;;
esac
case " $WORKLOADS " in *-st" "*)
    ls /usr/lib/*/libzookeeper_st.so.2 >/dev/null 2>&1 ||
        die "libzookeeper_st.so.2 missing (apt-get install libzookeeper-st2)"
    build "$ZKLOAD_ST" "$here/zkload.c" -DZKLOAD_ST -pthread "$here/zkload.c" \
        -l:libzookeeper_st.so.2 ;;
esac
case " $SYSTEMS " in
*" zookeeper "*)
    command -v "$JAVA" >/dev/null || die "no java (apt-get install zookeeper)"
    [ -f /usr/share/java/zookeeper.jar ] ||
        die "Apache ZooKeeper jars missing (apt-get install zookeeper)"
    ;;
esac
# zookeeper.jar's manifest names the rest (netty, jute, slf4j-api, ...);
# log4j 1.2 and its slf4j binding make log4j.properties apply.
ZK_CP=/usr/share/java/zookeeper.jar
for j in slf4j-log4j12.jar log4j-1.2.jar; do
    [ -f /usr/share/java/$j ] && ZK_CP=$ZK_CP:/usr/share/java/$j
done

# ---- temp dir, processes, cleanup ------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/server-bench.XXXXXX") || die "mktemp failed"
declare -a spids=()     # running servers
sampler=""
zpid=""                 # a running load generator
failed=0
declare -a failures=()
keep_logs=""            # systems whose logs are kept
[ -n "${KEEP_LOGS:-}" ] && keep_logs=$SYSTEMS

stop_servers() {
    local p alive t
    [ ${#spids[@]} -gt 0 ] || return 0
    for p in "${spids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for t in $(seq 100); do
        alive=0
        for p in "${spids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${spids[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            warn "server pid $p ignored SIGTERM for 10 s: SIGKILL"
            kill -KILL "$p" 2>/dev/null
        fi
        wait "$p" 2>/dev/null
    done
    spids=()
}

cleanup() {
    trap - EXIT INT TERM HUP
    [ -n "$zpid" ] && kill "$zpid" 2>/dev/null && wait "$zpid" 2>/dev/null
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null
    stop_servers
    if [ -n "$keep_logs" ]; then
        local s f
        mkdir -p "$LOGKEEP"
        rm -f "$LOGKEEP"/zabd-*.log "$LOGKEEP"/zookeeper-*.log
        for s in $keep_logs; do
            for f in "$work/$s"/s*/server.log; do
                [ -f "$f" ] && cp "$f" "$LOGKEEP/$s-$(basename "$(dirname "$f")").log"
            done
            for f in "$work/$s"/load-*.err; do
                [ -f "$f" ] && cp "$f" "$LOGKEEP/$s-$(basename "$f" .err).log"
            done
        done
        warn "logs kept in $LOGKEEP"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'warn interrupted; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail() {
    failed=1
    failures+=("$1")
    case " $keep_logs " in *" $2 "*) ;; *) keep_logs="$keep_logs $2" ;; esac
    warn "FAILURE: $1"
}

fstype=$(stat -f -c %T "$work" 2>/dev/null)
[ "$fstype" = tmpfs ] && warn "$work is on tmpfs: fsync costs nothing there; set TMPDIR to a disk"

# ---- cluster ---------------------------------------------------------------

port_busy() { ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }

# Below the ephemeral range, so that no outgoing connection of anyone
# else's takes one of our ports between the check and the bind.
eph_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
[ "${eph_lo:-0}" -gt 12000 ] || eph_lo=61000
pick_base() {
    local base k ok
    for _ in $(seq 200); do
        base=$((10000 + RANDOM % (eph_lo - 10000 - 3 * N)))
        ok=1
        for k in $(seq 0 $((3 * N - 1))); do
            port_busy $((base + k)) && { ok=0; break; }
        done
        [ $ok = 1 ] && { echo $base; return 0; }
    done
    return 1
}

fourlw() {  # port word
    timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 && printf %s "$2" >&3 && cat <&3' \
        _ "$1" "$2" 2>/dev/null
}

start_cluster() {  # system
    local sys=$1 base i j d
    base=$(pick_base) || die "no free block of ports"
    hosts=""
    for i in $(seq $N); do
        d=$work/$sys/s$i
        mkdir -p "$d/data"
        echo $i >"$d/data/myid"
        {
            echo "tickTime=$TICK"
            echo "initLimit=$INIT_LIMIT"
            echo "syncLimit=$SYNC_LIMIT"
            echo "dataDir=$d/data"
            echo "clientPort=$((base + i - 1))"
            echo "clientPortAddress=127.0.0.1"
            echo "forceSync=yes"
            echo "4lw.commands.whitelist=*"
            echo "admin.enableServer=false"
            for j in $(seq $N); do
                echo "server.$j=127.0.0.1:$((base + N + j - 1)):$((base + 2 * N + j - 1))"
            done
        } >"$d/zoo.cfg"
        hosts=$hosts${hosts:+,}127.0.0.1:$((base + i - 1))
        ports[$i]=$((base + i - 1))
        if [ "$sys" = zabd ]; then
            (cd "$d" && exec setpriv --pdeathsig KILL -- "$ZABD" "$d/zoo.cfg" \
                >"$d/server.log" 2>&1 </dev/null) &
        else
            cat >"$d/log4j.properties" <<EOF
log4j.rootLogger=WARN, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=$d/server.log
log4j.appender.F.Append=true
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
EOF
            (cd "$d" && exec setpriv --pdeathsig KILL -- "$JAVA" -Xmx"$ZK_HEAP" \
                -Dlog4j.configuration="file:$d/log4j.properties" \
                -cp "$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain \
                "$d/zoo.cfg" >>"$d/server.log" 2>&1 </dev/null) &
        fi
        spids[$((i - 1))]=$!
    done
    # Serving when every member answers srvr with leader or follower.
    local t0=$SECONDS modes m
    while :; do
        modes=""
        for i in $(seq $N); do
            if ! kill -0 "${spids[$((i - 1))]}" 2>/dev/null; then
                fail "$sys member $i exited during startup" "$sys"
                return 1
            fi
            m=$(fourlw "${ports[$i]}" srvr | sed -n 's/^Mode: //p')
            modes="$modes $m"
        done
        if [ "$(echo $modes | tr ' ' '\n' | sort | tr '\n' ' ')" = \
            "follower follower leader " ]; then
            break
        fi
        if [ $((SECONDS - t0)) -gt 90 ]; then
            fail "$sys did not elect a leader within 90 s (modes:$modes)" "$sys"
            return 1
        fi
        sleep 0.2
    done
    leader=0
    for i in $(seq $N); do
        fourlw "${ports[$i]}" srvr | grep -q '^Mode: leader' && leader=$i
    done
    say "$sys: 3 servers up in $((SECONDS - t0)) s (leader: member $leader), $hosts"
}

servers_alive() {  # system -> 0 if all alive
    local i ok=0 st
    for i in $(seq $N); do
        if ! kill -0 "${spids[$((i - 1))]}" 2>/dev/null; then
            wait "${spids[$((i - 1))]}" 2>/dev/null
            st=$?
            case $st in
            0) st="0 (a clean shutdown: a signal from someone else?)" ;;
            129 | 1[3-9][0-9]) st="$st (killed by signal $((st - 128)))" ;;
            esac
            fail "$1 member $i (pid ${spids[$((i - 1))]}) died, exit status $st" "$1"
            ok=1
        fi
    done
    return $ok
}

HZ=$(getconf CLK_TCK)
cpu_ticks() {  # CPU (user + system) the servers have used, in clock ticks,
    local p sum=0 v n=0  # and how many servers were counted: "TICKS N"
    for p in "${spids[@]}"; do
        # the fields after "(comm)": utime and stime are the 12th and 13th
        v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
        [ -n "$v" ] && { sum=$((sum + v)); n=$((n + 1)); }
    done
    echo "$sum $n"
}

rss_kb() {  # sum of VmRSS over the servers, in kB
    local p sum=0 v
    for p in "${spids[@]}"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        sum=$((sum + ${v:-0}))
    done
    echo $sum
}

# ---- results ---------------------------------------------------------------

declare -A R=()   # R[sys.workload.metric.run]
declare -A RSS=() # RSS[sys.workload] in kB (max sample)
declare -A BAD=() # BAD[sys.workload]=1 when a run had errors
declare -A GAP=() # GAP[sys.workload]: the longest stall (max_gap_ms) of the runs
declare -A NODES=() # NODES[sys.workload]: znodes at the end of the workload

field() {  # line key
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

median() {  # values...
    [ $# -gt 0 ] || { echo ""; return; }
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1}
        END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

gen() {  # binary stdout-file stderr-file args...: runs a load generator,
    # returns its status.  In the background, so that a signal interrupts
    # the wait at once.
    local bin=$1 out=$2 err=$3 rc
    shift 3
    "$bin" "$@" >"$out" 2>>"$err" &
    zpid=$!
    wait $zpid
    rc=$?
    zpid=""
    return $rc
}

gen_bin() {  # workload -> the generator that runs it
    case $1 in
    *-raw) echo "$ZKRAW" ;;
    *-st) echo "$ZKLOAD_ST" ;;
    *) echo "$ZKLOAD" ;;
    esac
}

gen_args() {  # workload -> the generator's arguments
    local base=${1%-*} a
    case $1 in
    *-raw) a="-n $RAW_SESSIONS -d $RAW_DEPTH" ;;
    *) a="-n $SESSIONS -d $DEPTH" ;;
    esac
    a="$a -k $KEYS -b $DATA -w $base"
    [ "$base" = create ] && a="$a -m $CREATE_MODE"
    echo "$a"
}

znodes() {  # port -> the node count srvr reports
    fourlw "$1" srvr | sed -n 's/^Node count: //p'
}

run_system() {  # system
    local sys=$1 w r line rc st samp gap lim c0 c1 e0 e1
    start_cluster "$sys" || { stop_servers; return 1; }
    # Priming: unmeasured load of every kind so that both start from a warm
    # process (the JVM's JIT above all); a fixed number of creates, so that
    # both trees are the same for the idle memory sample.
    for w in create set get; do
        if [ $w = create ]; then lim="-c $PRIME_CREATES"; else lim="-t $PRIME"; fi
        if ! gen "$ZKLOAD" "$work/$sys/out" "$work/$sys/load-prime.err" \
            $(gen_args $w) -W 0 $lim -p /prime "$hosts"; then
            fail "$sys priming run ($w): $(tail -n 1 "$work/$sys/load-prime.err")" "$sys"
        fi
    done
    sleep 1
    RSS[$sys.idle]=$(rss_kb)
    NODES[$sys.idle]=$(znodes "${ports[1]}")
    for w in $WORKLOADS; do
        for r in $(seq "$RUNS"); do
            # Sample memory near the end of the measured window.
            rm -f "$work/$sys/rss"
            (trap 'kill $sp 2>/dev/null; exit 0' TERM
             sleep "$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN {print w + d * 0.9}')" &
             sp=$!
             wait $sp && rss_kb >"$work/$sys/rss") &
            sampler=$!
            echo "== $sys $w run $r $(date +%T), load average" \
                "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/$sys/load-$w.err"
            c0=$(cpu_ticks); e0=$EPOCHREALTIME
            gen "$(gen_bin "$w")" "$work/$sys/out" "$work/$sys/load-$w.err" \
                $(gen_args "$w") -W "$WARMUP" -t "$DURATION" -S "$STALL_MS" \
                -P "$(IFS=,; echo "${spids[*]}")" "$hosts"
            rc=$?
            line=$(cat "$work/$sys/out")
            c1=$(cpu_ticks); e1=$EPOCHREALTIME
            wait "$sampler" 2>/dev/null
            sampler=""
            samp=$(cat "$work/$sys/rss" 2>/dev/null)
            [ "${RSS[$sys.$w]:-0}" -lt "${samp:-0}" ] && RSS[$sys.$w]=$samp
            st=$(field "$line" status)
            printf '  %-9s %-7s run %d/%d (load %s): %s\n' "$sys" "$w" "$r" \
                "$RUNS" "$(cut -d' ' -f1 /proc/loadavg)" "${line:-(no output, exit $rc)}"
            if [ "$st" != ok ] || [ $rc != 0 ]; then
                BAD[$sys.$w]=1
                fail "$sys $w run $r: $(basename "$(gen_bin "$w")") exit $rc, status ${st:-none}: $(tail -n 1 "$work/$sys/load-$w.err" 2>/dev/null)" "$sys"
            fi
            if [ -n "$(field "$line" ops_per_s)" ] && [ "$(field "$line" ops)" != 0 ]; then
                R[$sys.$w.ops.$r]=$(field "$line" ops_per_s)
                R[$sys.$w.p50.$r]=$(field "$line" p50_us)
                R[$sys.$w.p99.$r]=$(field "$line" p99_us)
                R[$sys.$w.ccpu.$r]=$(field "$line" cpu_cores)
                # The generator's own sample of the servers covers exactly
                # the measured window; ours, the whole run (setup, warm-up
                # and the generator's sorting too).
                R[$sys.$w.scpu.$r]=$(field "$line" server_cpu_cores)
                if [ -z "${R[$sys.$w.scpu.$r]}" ] && [ "${c0#* }" = $N ] &&
                    [ "${c1#* }" = $N ]; then
                    R[$sys.$w.scpu.$r]=$(awk -v a="${c0% *}" -v b="${c1% *}" -v s="$e0" \
                        -v e="$e1" -v hz="$HZ" 'BEGIN {printf "%.2f", (b - a) / hz / (e - s)}')
                fi
                [ -n "${R[$sys.$w.scpu.$r]}" ] &&
                    R[$sys.$w.cpuop.$r]=$(awk -v c="${R[$sys.$w.scpu.$r]}" \
                        -v o="${R[$sys.$w.ops.$r]}" 'BEGIN {printf "%.2f", c * 1e6 / o}')
                gap=$(field "$line" max_gap_ms)
                [ "${GAP[$sys.$w]:-0}" -lt "${gap:-0}" ] && GAP[$sys.$w]=$gap
            fi
            servers_alive "$sys" || { stop_servers; return 1; }
        done
        NODES[$sys.$w]=$(znodes "${ports[1]}")
    done
    stop_servers
    rm -rf "$work/$sys"/s*/data
}

say "server bench: $N servers per system on 127.0.0.1, $DATA-byte data, $KEYS nodes," \
    "${DURATION} s + ${WARMUP} s warm-up per run, median of $RUNS runs"
say "load: set, get, create: zkload (Apache's C client, libzookeeper_mt), $SESSIONS sessions x" \
    "$DEPTH in flight; *-raw: zkraw (the wire protocol, one thread), $RAW_SESSIONS sessions x" \
    "$RAW_DEPTH in flight; *-st: zkload on libzookeeper_st, $SESSIONS x $DEPTH"
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared: expect noise);" \
    "dataDirs in $work ($fstype)"
for sys in $SYSTEMS; do
    run_system "$sys"
done

# ---- table -----------------------------------------------------------------

med() {  # sys workload metric
    local r vals=()
    for r in $(seq "$RUNS"); do
        [ -n "${R[$1.$2.$3.$r]:-}" ] && vals+=("${R[$1.$2.$3.$r]}")
    done
    median "${vals[@]}"
}

ratio() {  # a b -> a/b with 2 decimals, or n/a
    awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b + 0 == 0) print "n/a";
        else printf "%.2f", a / b}'
}

fmt() {  # number scale decimals
    awk -v v="$1" -v s="$2" -v d="$3" 'BEGIN {if (v == "") print "n/a";
        else printf "%.*f", d, v / s}'
}

say ""
say "server bench: medians of $RUNS runs; p50/p99: latency per op in ms; stall: the longest"
say "time (ms) one session went without a completion, worst run; ! = a run had errors"
say "(rows: set/get/create from zkload, Apache's C client, $SESSIONS x $DEPTH; *-raw from zkraw,"
say " the wire protocol, $RAW_SESSIONS x $RAW_DEPTH; *-st from zkload on libzookeeper_st)"
printf '%-8s | %-32s | %-32s | %s\n' "" zabd "ZooKeeper 3.8" "zabd/ZooKeeper"
printf '%-8s | %8s %7s %7s %7s | %8s %7s %7s %7s | %6s %6s\n' \
    workload "ops/s" "p50" "p99" "stall" "ops/s" "p50" "p99" "stall" "ops/s" "p99"
declare -A T=()
for w in $WORKLOADS; do
    row=$(printf '%-8s |' "$w")
    for sys in zabd zookeeper; do
        o=$(med "$sys" "$w" ops); p5=$(med "$sys" "$w" p50); p9=$(med "$sys" "$w" p99)
        T[$sys.$w.ops]=$o; T[$sys.$w.p99]=$p9
        mark=" "
        [ -n "${BAD[$sys.$w]:-}" ] && mark="!"
        row="$row$(printf ' %7s%s %7s %7s %7s |' "$(fmt "$o" 1 0)" "$mark" \
            "$(fmt "$p5" 1000 2)" "$(fmt "$p9" 1000 2)" "${GAP[$sys.$w]:-n/a}")"
    done
    T[$w.tr]=$(ratio "${T[zabd.$w.ops]}" "${T[zookeeper.$w.ops]}")
    T[$w.p99r]=$(ratio "${T[zabd.$w.p99]}" "${T[zookeeper.$w.p99]}")
    say "$row$(printf ' %6s %6s' "${T[$w.tr]}" "${T[$w.p99r]}")"
done

say ""
say "CPU used during the measured windows, in cores (of $(nproc)): the 3 servers together"
say "(read from /proc by the generator, -P), the load generator itself (client);"
say "us/op: server CPU time per op in microseconds (the servers' efficiency, even when"
say "the load generator, not the servers, is the bottleneck)"
printf '%-8s | %-23s | %-23s | %s\n' "" zabd "ZooKeeper 3.8" "zabd/ZooKeeper"
printf '%-8s | %7s %7s %7s | %7s %7s %7s | %7s\n' "" servers client us/op servers client us/op us/op
for w in $WORKLOADS; do
    a=$(med zabd "$w" cpuop); b=$(med zookeeper "$w" cpuop)
    rr=$(ratio "$a" "$b"); a=$(fmt "$a" 1 2); b=$(fmt "$b" 1 2)
    x=$(fmt "$(med zabd "$w" scpu)" 1 2); y=$(fmt "$(med zabd "$w" ccpu)" 1 2)
    u=$(fmt "$(med zookeeper "$w" scpu)" 1 2); v=$(fmt "$(med zookeeper "$w" ccpu)" 1 2)
    say "$(printf '%-8s | %7s %7s %7s | %7s %7s %7s | %7s' "$w" \
        "${x:-n/a}" "${y:-n/a}" "${a:-n/a}" "${u:-n/a}" "${v:-n/a}" "${b:-n/a}" \
        "$rr")"
done

say ""
say "memory: VmRSS of the 3 servers summed, MiB (idle: after the priming run; then"
say "sampled near the end of each workload's load, largest of the runs); znodes in the"
say "tree at that point (the faster system has created more of them)"
printf '%-8s | %-15s | %-15s | %s\n' "" zabd "ZooKeeper 3.8" "zabd/ZooKeeper"
printf '%-8s | %6s %8s | %6s %8s | %6s\n' "" RSS znodes RSS znodes RSS
for w in idle $WORKLOADS; do
    row=$(printf '%-8s |' "$w")
    for sys in zabd zookeeper; do
        row="$row$(printf ' %6s %8s |' "$(fmt "${RSS[$sys.$w]:-}" 1024 0)" "${NODES[$sys.$w]:-n/a}")"
    done
    T[$w.mr]=$(ratio "${RSS[zabd.$w]:-}" "${RSS[zookeeper.$w]:-}")
    say "$row$(printf ' %6s' "${T[$w.mr]}")"
done

# The create run leaves trees of different sizes (the faster system made
# more znodes): what one more znode costs is the fair comparison there.
per_znode() {  # sys -> bytes of RSS per znode the create run added
    local r0=${RSS[$1.idle]:-} r1=${RSS[$1.create]:-} n0=${NODES[$1.idle]:-} n1=${NODES[$1.create]:-}
    [ -n "$r0" ] && [ -n "$r1" ] && [ -n "$n0" ] && [ -n "$n1" ] || { echo n/a; return; }
    awk -v a="$r0" -v b="$r1" -v m="$n0" -v n="$n1" \
        'BEGIN {if (n - m <= 0) print "n/a"; else printf "%.0f", (b - a) * 1024 / (n - m) / 3}'
}
if [[ " $WORKLOADS " == *" create "* ]]; then
    pz=$(per_znode zabd); pk=$(per_znode zookeeper)
    T[znode.mr]=n/a
    [ "$pz" != n/a ] && [ "$pk" != n/a ] && T[znode.mr]=$(ratio "$pz" "$pk")
    say ""
    say "memory per znode the create run added (100-byte data), per server:" \
        "zabd ${pz} B, ZooKeeper ${pk} B: ${T[znode.mr]}"
fi

# The targets the project is held to, checked against what was measured.
verdict() {  # value op limit
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {if (v == "n/a") {print "n/a"; exit}
        ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0); print ok ? "met" : "NOT met"}'
}
times_() { [ "$1" = n/a ] && echo n/a || echo "$1x"; }
say ""
say "targets (zabd/ZooKeeper):"
for w in $WORKLOADS; do
    case $w in get | get-*) lim=3 ;; *) lim=2 ;; esac
    say "  $w: throughput $(times_ "${T[$w.tr]}") (>= ${lim}x: $(verdict "${T[$w.tr]}" ">=" $lim));" \
        "p99 $(times_ "${T[$w.p99r]}") (<= 1x: $(verdict "${T[$w.p99r]}" "<=" 1))"
done
for w in idle $WORKLOADS; do
    say "  memory, $w: $(times_ "${T[$w.mr]}") (<= 0.1x: $(verdict "${T[$w.mr]}" "<=" 0.1))"
done
if [ -n "${T[znode.mr]:-}" ]; then
    say "  memory per znode: $(times_ "${T[znode.mr]}") (<= 0.1x:" \
        "$(verdict "${T[znode.mr]}" "<=" 0.1); the 100 bytes of data alone are a" \
        "floor no server goes below)"
fi
say "(one shared machine of $(nproc) cores runs the 3 servers and the load generator,"
say " and other people's jobs -- load average now $(cut -d' ' -f1-3 /proc/loadavg):"
say " noisy; compare several runs before believing a ratio)"

if [ $failed != 0 ]; then
    say ""
    say "FAILURES:"
    for f in "${failures[@]}"; do say "  $f"; done
    exit 1
fi
exit 0
