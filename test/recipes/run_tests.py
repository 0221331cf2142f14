#!/usr/bin/python3
"""Recipe tests: the zk-* tools (examples/recipes) against a real 3-node
ensemble on loopback -- zabd (default) or Apache ZooKeeper 3.8 -- with
several processes per recipe, SIGKILLed holders and a SIGKILLed leader.

usage: /usr/bin/python3 test/recipes/run_tests.py [--impl zabd|zookeeper]
           [--bin build/recipes] [--only NAME,...] [--keep] [--list]

Mutual exclusion is judged from outside (checklog.py): holders append to
one O_APPEND file only while they have confirmed they hold; the driver
appends "killed PID" after each SIGKILL.  The cluster comes from
test/cluster/zkcluster.py (used as is).  Every process is started with a
parent-death signal and killed at exit; the work directory is removed
unless --keep or a test failed.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "test", "cluster"))
sys.path.insert(0, HERE)

from zkcluster import Cluster  # noqa: E402
import checklog  # noqa: E402

SESSION_MS = 2000          # what the tools ask for (-t)
SESSION_S = SESSION_MS / 1000.0
T0 = time.time()
IMPL = "zabd"
MEASURED = []              # (test, what, value) for the summary


def say(msg):
    now = time.time()
    print("%s.%03d +%6.2fs [%s] %s" % (
        time.strftime("%H:%M:%S", time.localtime(now)), int(now * 1000) % 1000,
        now - T0, IMPL, msg), flush=True)


class Failure(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Failure(msg)


class Env(object):
    """The cluster, the tools and every process a test starts."""

    def __init__(self, impl, bindir, workdir):
        self.impl = impl
        self.bindir = bindir
        self.workdir = workdir
        self.cluster = Cluster(impl, 3, os.path.join(workdir, "cluster"),
                               tick=200)
        self.procs = []
        self.seq = 0

    def hosts(self):
        return self.cluster.connect_string()

    def path(self, name):
        return os.path.join(self.workdir, name)

    def tool(self, name):
        return os.path.join(self.bindir, name)

    def spawn(self, tag, argv, env=None):
        """Starts a tool in the background, output to workdir/<tag>.out."""
        self.seq += 1
        out = open(self.path("%s.out" % tag), "ab")
        e = dict(os.environ)
        e["ZK_HOSTS"] = self.hosts()
        e.pop("ZKR_FAULT_CREATE", None)
        if env:
            e.update(env)
        cmd = [self.tool(argv[0])] + list(argv[1:])
        if shutil.which("setpriv"):
            cmd = ["setpriv", "--pdeathsig", "KILL", "--"] + cmd
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=e,
                             start_new_session=True)
        out.close()
        p.tag = tag
        p.outpath = self.path("%s.out" % tag)
        self.procs.append(p)
        return p

    def run(self, argv, timeout=60, env=None):
        """Runs a tool to completion: (status, stdout, stderr)."""
        e = dict(os.environ)
        e["ZK_HOSTS"] = self.hosts()
        e.pop("ZKR_FAULT_CREATE", None)
        if env:
            e.update(env)
        r = subprocess.run([self.tool(argv[0])] + list(argv[1:]), env=e,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def sigkill(self, p, log=None):
        """SIGKILLs p, reaps it, then records it in the event log."""
        try:
            p.kill()
        except ProcessLookupError:
            pass
        p.wait()
        if log:
            with open(log, "a") as f:
                f.write("killed %d %.6f\n" % (p.pid, time.time()))

    def stop(self, p, timeout=15):
        """SIGTERM and wait (SIGKILL if it does not exit)."""
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise Failure("%s ignored SIGTERM for %ds" % (p.tag, timeout))
        return p.returncode

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                    p.kill()
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []

    def kill_leader(self):
        i = self.cluster.leader()
        self.cluster.kill(i)
        return i

    def children(self, path):
        st, out, err = self.run(["zk-name", "-W", "10000", "list",
                                 os.path.dirname(path) or "/",
                                 os.path.basename(path)])
        expect(st == 0, "listing %s failed: %s" % (path, err.strip()))
        return [l for l in out.splitlines() if l]


def lines(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def last_match(path, regex):
    r = re.compile(regex)
    for line in reversed(lines(path)):
        m = r.search(line)
        if m:
            return m
    return None


def wait_for(cond, timeout, what, step=0.05):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise Failure("timed out after %.0fs waiting for %s" % (timeout,
                                                                   what))
        time.sleep(step)


def report_log(name, r):
    say("  %s: %d acquisitions, %d violations, %d takeovers (%d explained by "
        "a reported loss), %d holders killed while holding" % (
            name, r.acquisitions, len(r.violations), len(r.takeovers),
            len(r.explained_takeovers()), r.kills_holding))
    for v in r.violations[:10]:
        say("  VIOLATION %s" % v)


# ---------------------------------------------------------------------------
# Locks

def holder_argv(log, path, name, hold=5, extra=()):
    return ["zk-lock", "-q", "-t", str(SESSION_MS), "-H", str(hold), "-c",
            "0", "-l", log, "-n", name] + list(extra) + [path]


def test_lock_rate(env):
    """5 processes take an exclusive lock in turn as fast as they can."""
    log = env.path("lock-rate.log")
    ps = [env.spawn("rate-%d" % k, holder_argv(log, "/recipes/rate", "r%d" % k,
                                               hold=0)) for k in range(5)]
    time.sleep(1.0)
    t1 = time.time()
    n1 = checklog.check_exclusive(log).acquisitions
    time.sleep(4.0)
    n2 = checklog.check_exclusive(log).acquisitions
    t2 = time.time()
    for p in ps:
        env.stop(p)
    r = checklog.check_exclusive(log)
    report_log("lock-rate", r)
    rate = (n2 - n1) / (t2 - t1)
    MEASURED.append(("lock", "hand-offs per second, 5 processes, no hold",
                     "%.0f" % rate))
    say("  %.0f lock hand-offs per second among 5 processes" % rate)
    expect(r.ok() and not r.takeovers, "mutual exclusion violated")
    expect(rate > 20, "the lock hardly moves")


def test_lock_chaos(env, duration=30):
    """5 holders (2 with lost-create-reply fault injection); the holder is
    SIGKILLed every ~3 s and replaced; the zabd/ZooKeeper leader is
    SIGKILLed twice and restarted."""
    log = env.path("lock.log")
    path = "/recipes/lock"
    holders = []
    k = [0]

    def start(fault=False):
        k[0] += 1
        extra = ["-v"] if fault else []
        env_ = {"ZKR_FAULT_CREATE": "5"} if fault else None
        holders.append(env.spawn("lock-%d" % k[0], holder_argv(
            log, path, "h%d" % k[0], hold=5, extra=extra), env=env_))

    for i in range(5):
        start(fault=i < 2)
    t_end = time.time() + duration
    next_kill = time.time() + 3
    leader_kills = [time.time() + 8, time.time() + 19]
    restart_at = None
    kills = 0
    while time.time() < t_end:
        now = time.time()
        if leader_kills and now >= leader_kills[0]:
            leader_kills.pop(0)
            i = env.kill_leader()
            say("  lock: SIGKILLed the leader (member %d)" % i)
            restart_at = (now + 4, i)
        if restart_at and now >= restart_at[0]:
            env.cluster.start_one(restart_at[1])
            say("  lock: restarted member %d" % restart_at[1])
            restart_at = None
        if now >= next_kill:
            h = checklog.current_holder(log)
            victim = [p for p in holders if p.pid == h and p.poll() is None]
            if victim:
                env.sigkill(victim[0], log)
                holders.remove(victim[0])
                kills += 1
                start(fault=kills % 3 == 0)
                next_kill = now + 3
        time.sleep(0.02)
    if restart_at:
        env.cluster.start_one(restart_at[1])
    env.cluster.wait_ready()
    # the lock must still move after all that
    before = checklog.check_exclusive(log).acquisitions
    wait_for(lambda: checklog.check_exclusive(log).acquisitions > before + 20,
             3 * SESSION_S + 5, "the lock to move after the chaos")
    for p in holders:
        env.stop(p)
    r = checklog.check_exclusive(log)
    report_log("lock", r)
    found = sum(sum(1 for l in lines(p.outpath) if "found our node" in l)
                for p in env.procs if p.tag.startswith("lock-"))
    recreated = sum(sum(1 for l in lines(p.outpath)
                        if "had not taken effect" in l)
                    for p in env.procs if p.tag.startswith("lock-"))
    say("  lock: %d lost create replies recovered by finding our node by its "
        "tag, %d creates retried" % (found, recreated))
    gaps = [b - a for a, b in r.handoffs]
    if gaps:
        MEASURED.append(("lock", "hand-over after SIGKILL of the holder (s)",
                         "%.2f-%.2f (median %.2f)" % (
                             min(gaps), max(gaps), sorted(gaps)[len(gaps) // 2])))
        say("  lock: next holder after a SIGKILLed holder: %.2f..%.2f s "
            "(session timeout %.1f s)" % (min(gaps), max(gaps), SESSION_S))
    MEASURED.append(("lock", "acquisitions in the chaos run", r.acquisitions))
    expect(not r.violations, "mutual exclusion violated")
    expect(r.ok(), "a takeover not explained by a reported loss")
    expect(r.acquisitions >= 300, "only %d acquisitions" % r.acquisitions)
    expect(r.kills_holding >= 5, "only %d holders killed while holding" %
           r.kills_holding)
    expect(found >= 3, "fault injection did not exercise recovery")
    # every holder is gone: no node may stay behind
    wait_for(lambda: not env.children(path), SESSION_S * 3 + 5,
             "the lock's nodes to go (left: %s)" % env.children(path))


def test_rwlock(env, duration=8):
    """3 readers and 2 writers; a writer is SIGKILLed while holding."""
    log = env.path("rw.log")
    path = "/recipes/rw"
    ps = []
    for i in range(3):
        ps.append(env.spawn("reader-%d" % i, holder_argv(
            log, path, "rd%d" % i, hold=40, extra=["-m", "read"])))
    for i in range(2):
        ps.append(env.spawn("writer-%d" % i, holder_argv(
            log, path, "wr%d" % i, hold=10, extra=["-m", "write"])))
    killed = False
    t_end = time.time() + duration
    while time.time() < t_end:
        if not killed and time.time() > t_end - duration + 2:
            for ev, pid, ts, rest, n in reversed(checklog.parse(log)):
                if ev == "acquire" and rest[:1] == ["write"]:
                    v = [p for p in ps if p.pid == pid]
                    if v and checklog.current_holder(log) == pid:
                        env.sigkill(v[0], log)
                        ps.remove(v[0])
                        killed = True
                    break
        time.sleep(0.005)
    for p in ps:
        env.stop(p)
    r = checklog.check_rw(log)
    report_log("rwlock", r)
    reads = sum(1 for e in checklog.parse(log)
                if e[0] == "acquire" and e[3][:1] == ["read"])
    say("  rwlock: %d read and %d write acquisitions; up to %d readers at "
        "once" % (reads, r.acquisitions - reads, r.max_readers))
    expect(r.ok() and not r.takeovers, "read/write exclusion violated")
    expect(killed, "could not kill a writer while it held the lock")
    expect(r.max_readers >= 2, "readers never shared the lock")
    expect(r.acquisitions - reads >= 5, "writers starved")


def test_lock_try(env):
    """try-acquire and acquire-with-timeout leave no node behind."""
    path = "/recipes/try"
    holder = env.spawn("try-holder", ["zk-lock", "-t", str(SESSION_MS),
                                      "-H", "4000", path])
    wait_for(lambda: any("acquired" in l for l in lines(holder.outpath)),
             10, "the holder")
    t = time.time()
    st, out, err = env.run(["zk-lock", "-T", "-t", str(SESSION_MS), path])
    dt_try = time.time() - t
    expect(st == 1 and "busy" in out, "try-acquire: status %d: %s" % (st, out))
    t = time.time()
    st, out, err = env.run(["zk-lock", "-W", "500", "-t", str(SESSION_MS),
                            path])
    dt = time.time() - t
    expect(st == 1 and "timed out" in out, "timed acquire: %d %s" % (st, out))
    expect(0.45 < dt < 3, "timed acquire took %.2fs" % dt)
    kids = env.children(path)
    expect(len(kids) == 1, "nodes left behind by busy/timed-out attempts: %s"
           % kids)
    say("  try: busy answered in %.0f ms; a 500 ms wait gave up after %.0f ms"
        "; only the holder's node remains" % (dt_try * 1000, dt * 1000))
    env.stop(holder)
    st, out, err = env.run(["zk-lock", "-T", "-H", "0", "-t",
                            str(SESSION_MS), path])
    expect(st == 0, "try-acquire of a free lock failed: %s" % out)


def test_lock_paused(env):
    """A holder frozen (SIGSTOP) past its session timeout loses the lock
    to a waiter and, once thawed, notices and never acts as holder."""
    log = env.path("paused.log")
    path = "/recipes/paused"
    a = env.spawn("paused-a", ["zk-lock", "-t", str(SESSION_MS), "-H", "9000",
                               "-l", log, "-n", "A", path])
    wait_for(lambda: checklog.current_holder(log) == a.pid, 10, "A to hold")
    b = env.spawn("paused-b", ["zk-lock", "-t", str(SESSION_MS), "-H", "300",
                               "-l", log, "-n", "B", path])
    time.sleep(0.3)
    a.send_signal(signal.SIGSTOP)
    t_stop = time.time()
    say("  paused: A holds and is frozen (SIGSTOP); B waits")
    wait_for(lambda: any(e[0] == "acquire" and e[1] == b.pid
                         for e in checklog.parse(log)),
             SESSION_S * 3 + 5, "B to get the lock")
    t_b = time.time()
    time.sleep(max(0.0, 2 * SESSION_S - (t_b - t_stop)))
    a.send_signal(signal.SIGCONT)
    say("  paused: B got the lock %.1f s after A froze; A thawed" %
        (t_b - t_stop))
    st_a = a.wait(timeout=20)
    env.stop(b)
    r = checklog.check_exclusive(log)
    report_log("paused", r)
    out = "\n".join(lines(a.outpath))
    expect(not r.violations, "the thawed holder acted without the lock")
    expect(r.ok(), "takeover not reported by the old holder")
    expect(len(r.takeovers) == 1, "expected exactly one takeover")
    expect("lost the lock" in out, "A did not report losing the lock")
    expect(st_a == 1, "A's exit status %s" % st_a)
    say("  paused: A reported: %s" % [l.split("] ", 1)[1] for l in
                                     out.splitlines() if "lost" in l or
                                     "expired" in l or "given" in l][:3])


# ---------------------------------------------------------------------------
# Election

def elect_argv(log, path, name):
    return ["zk-elect", "-t", str(SESSION_MS), "-w", "50", "-l", log,
            path, name]


def test_election(env):
    """4 candidates; the master is SIGKILLed 3 times (once right after the
    ensemble leader); the ensemble leader alone is SIGKILLed once."""
    log = env.path("elect.log")
    path = "/recipes/election"
    cands = {}
    n = [0]

    def start():
        n[0] += 1
        name = "node-%d" % n[0]
        cands[name] = env.spawn("elect-%s" % name, elect_argv(log, path, name))

    for _ in range(4):
        start()
    wait_for(lambda: checklog.current_holder(log), 10, "a first master")
    gaps = []
    for rnd in range(3):
        m = checklog.current_holder(log)
        victim = [(nm, p) for nm, p in cands.items() if p.pid == m][0]
        if rnd == 1:
            i = env.kill_leader()
            say("  election: SIGKILLed the ensemble leader (member %d)" % i)
        t_kill = time.time()
        env.sigkill(victim[1], log)
        del cands[victim[0]]
        say("  election: SIGKILLed the master %s" % victim[0])
        start()
        nm = wait_for(lambda: checklog.current_holder(log), 3 * SESSION_S + 10,
                      "a new master")
        gaps.append(time.time() - t_kill)
        new = [x for x, p in cands.items() if p.pid == nm][0]
        say("  election: %s is master %.2f s after the kill" % (new, gaps[-1]))
        if rnd == 1:
            env.cluster.start_one(i)
            env.cluster.wait_ready()
    # the ensemble leader alone: the master keeps (or re-confirms) its role
    m = checklog.current_holder(log)
    i = env.kill_leader()
    say("  election: SIGKILLed the ensemble leader (member %d) alone" % i)
    time.sleep(SESSION_S * 2)
    env.cluster.start_one(i)
    env.cluster.wait_ready()
    m2 = wait_for(lambda: checklog.current_holder(log), 3 * SESSION_S + 5,
                  "a master after the ensemble leader's death")
    time.sleep(0.5)
    # exactly one master: the log's, and the one ZooKeeper names
    st, out, err = env.run(["zk-elect", "-q", path])
    named = out.strip()
    expect(st == 0 and named in cands and cands[named].pid == m2,
           "ZooKeeper names %r as master, the log says pid %s" % (named, m2))
    claiming = []
    for nm, p in cands.items():
        states = [l for l in lines(p.outpath)
                  if re.search(r"I am the master|still the master|no longer|"
                               r"candidate;|session is gone", l)]
        if states and re.search("I am the master|still the master",
                                states[-1]):
            claiming.append(nm)
    expect(claiming == [named], "processes claiming to be master: %s" %
           claiming)
    for p in list(cands.values()):
        env.stop(p)
    r = checklog.check_election(log)
    report_log("election", r)
    say("  election: master %s kept its role across the lone leader kill: %s"
        % (named, "yes" if m == m2 else "no (re-elected)"))
    MEASURED.append(("election", "failover after SIGKILL of the master (s)",
                     ", ".join("%.2f" % g for g in gaps)))
    expect(not r.violations, "two masters acted at once")
    expect(r.ok(), "a takeover not explained by the old master")
    expect(all(g < SESSION_S + 3 for g in gaps), "failover too slow: %s" % gaps)


def test_election_paused(env):
    """The master frozen past its session timeout: another takes over; the
    thawed one learns it lost and never works as master again."""
    log = env.path("elect-paused.log")
    path = "/recipes/election-paused"
    a = env.spawn("ep-a", elect_argv(log, path, "A"))
    wait_for(lambda: checklog.current_holder(log) == a.pid, 10, "A master")
    b = env.spawn("ep-b", elect_argv(log, path, "B"))
    time.sleep(0.5)
    a.send_signal(signal.SIGSTOP)
    t0 = time.time()
    wait_for(lambda: checklog.current_holder(log) == b.pid,
             3 * SESSION_S + 5, "B to become master")
    t_b = time.time() - t0
    time.sleep(SESSION_S)
    a.send_signal(signal.SIGCONT)
    time.sleep(SESSION_S + 1)
    out = lines(a.outpath)
    env.stop(a)
    env.stop(b)
    r = checklog.check_election(log)
    report_log("election-paused", r)
    say("  election-paused: B master %.1f s after A froze; A then said: %s" %
        (t_b, [l.split("] ", 1)[1] for l in out
               if "master" in l or "session" in l][-3:]))
    expect(not r.violations, "the frozen master acted after losing")
    expect(r.ok(), "takeover not acknowledged by the frozen master")
    expect(any("no longer the master" in l or "session is gone" in l
               or "not sure" in l for l in out),
           "A never noticed it lost mastership")


# ---------------------------------------------------------------------------
# Membership

MEMBERS_RE = r"members \((\d+)(?:, [^)]*)?\): ?(.*)$"


def watcher_view(p):
    m = last_match(p.outpath, MEMBERS_RE)
    if not m:
        return None
    fresh = "disconnected" not in m.group(0)
    return fresh, sorted(m.group(2).split())


def test_membership(env):
    """5 members, 2 watchers; 2 members SIGKILLed (one restarted at once
    under the same name), 1 leaves, 1 joins, the leader is SIGKILLed;
    every view converges to the live set."""
    group = "/recipes/group"
    ws = [env.spawn("watch-%d" % i, ["zk-member", "-t", str(SESSION_MS),
                                     "watch", group]) for i in range(2)]
    ms = {}
    for i in range(1, 6):
        name = "m%d" % i
        ms[name] = env.spawn("member-%s" % name, [
            "zk-member", "-t", str(SESSION_MS), "-u", "500", "join", group,
            name, "pid=%d" % i])

    def converged(want):
        def f():
            views = [watcher_view(w) for w in ws]
            return all(v and v[0] and v[1] == sorted(want) for v in views)
        return f

    wait_for(converged(ms.keys()), 10, "watchers to see 5 members")
    say("  membership: both watchers see %s" % sorted(ms))
    t = time.time()
    env.sigkill(ms.pop("m2"))
    env.sigkill(ms.pop("m4"))
    env.stop(ms.pop("m5"))
    i = env.kill_leader()
    ms["m6"] = env.spawn("member-m6", ["zk-member", "-t", str(SESSION_MS),
                                       "join", group, "m6"])
    # m2 comes back at once: its old node lives until the old session ends
    ms["m2"] = env.spawn("member-m2b", ["zk-member", "-t", str(SESSION_MS),
                                        "-v", "join", group, "m2"])
    say("  membership: SIGKILLed m2, m4 and the leader (member %d); m5 left; "
        "m6 joined; m2 restarted" % i)
    wait_for(converged(["m1", "m2", "m3", "m6"]), 3 * SESSION_S + 10,
             "views to converge")
    dt = time.time() - t
    say("  membership: views converged to %s in %.1f s" % (sorted(ms), dt))
    MEASURED.append(("membership", "views converged after kills (s)",
                     "%.1f" % dt))
    env.cluster.start_one(i)
    env.cluster.wait_ready()
    out = "\n".join(lines(ms["m2"].outpath))
    waited = "previous incarnation" in out
    say("  membership: restarted m2 %s for its old node to expire" % (
        "waited" if waited else "did not need to wait"))
    st, listing, err = env.run(["zk-member", "list", group])
    names = sorted(l.split("\t")[0] for l in listing.splitlines() if l)
    expect(names == ["m1", "m2", "m3", "m6"], "zk-member list says %s" % names)
    states = dict(l.split("\t", 1) for l in listing.splitlines() if l)
    expect(states["m1"].startswith("pid=1 n="), "m1's runtime state is %r" %
           states["m1"])
    for w in ws:
        evs = lines(w.outpath)
        expect(any("left: m4" in l for l in evs), "a watcher missed m4 leaving")
        expect(any("joined: m6" in l for l in evs), "a watcher missed m6")
    for p in list(ms.values()) + ws:
        env.stop(p)


# ---------------------------------------------------------------------------
# Service registry

PROV_RE = r"providers of web \((\d+), ([a-z ]+)\): ?(.*)$"


def consumer_view(p):
    m = last_match(p.outpath, PROV_RE)
    if not m:
        return None
    return m.group(2) == "live", sorted(m.group(3).split())


def test_registry(env):
    """4 providers, 2 consumers (one with a cache file); 2 providers
    SIGKILLed; then the whole ensemble is SIGKILLed: consumers go on from
    their cache, a new consumer starts from the cache file; the ensemble
    restarts and everything converges to the live providers."""
    cache = env.path("web.cache")
    provs = {}
    for i in range(1, 5):
        addr = "127.0.0.1:80%02d" % i
        provs[addr] = env.spawn("prov-%d" % i, [
            "zk-registry", "-t", str(SESSION_MS), "register", "web", addr,
            "version=%d" % i])
    cons = [env.spawn("cons-0", ["zk-registry", "-t", str(SESSION_MS), "-f",
                                 cache, "-p", "300", "watch", "web"]),
            env.spawn("cons-1", ["zk-registry", "-t", str(SESSION_MS),
                                 "watch", "web"])]

    def converged(ps, want, live=True):
        def f():
            return all(consumer_view(p) == (live, sorted(want)) for p in ps)
        return f

    wait_for(converged(cons, provs), 10, "consumers to see 4 providers")
    t = time.time()
    for a in ("127.0.0.1:8001", "127.0.0.1:8003"):
        env.sigkill(provs.pop(a))
    wait_for(converged(cons, provs), 3 * SESSION_S + 5,
             "consumers to drop the dead providers")
    dt = time.time() - t
    say("  registry: SIGKILLed 2 providers; consumers dropped them after "
        "%.1f s (session timeout %.1f s)" % (dt, SESSION_S))
    MEASURED.append(("registry", "dead provider gone from consumers (s)",
                     "%.1f" % dt))
    with open(cache) as f:
        cached = sorted(l.split("\t")[0] for l in f.read().splitlines())
    expect(cached == sorted(provs), "cache file says %s" % cached)

    env.cluster.kill_all()
    say("  registry: SIGKILLed the whole ensemble")
    wait_for(converged(cons, provs, live=False), 10,
             "consumers to fall back to their cached list")
    c2 = env.spawn("cons-2", ["zk-registry", "-t", str(SESSION_MS), "-f",
                              cache, "watch", "web"])
    wait_for(converged([c2], provs, live=False), 5,
             "a new consumer to start from the cache file")
    n_picks = len([l for l in lines(cons[0].outpath)
                   if "picked" in l and "from the cache" in l])
    time.sleep(1.0)
    n_picks2 = len([l for l in lines(cons[0].outpath)
                    if "picked" in l and "from the cache" in l])
    expect(n_picks2 > n_picks, "no picks from the cache while disconnected")
    say("  registry: while the ensemble is down, consumers serve %s from "
        "their cache (a new one from the file)" % sorted(provs))
    time.sleep(SESSION_S)
    env.cluster.start()
    say("  registry: ensemble restarted")
    provs["127.0.0.1:8005"] = env.spawn("prov-5", [
        "zk-registry", "-t", str(SESSION_MS), "register", "web",
        "127.0.0.1:8005", "version=5"])
    t = time.time()
    wait_for(converged(cons + [c2], provs), 4 * SESSION_S + 15,
             "consumers to converge after the restart")
    say("  registry: all consumers live again with %s after %.1f s" % (
        sorted(provs), time.time() - t))
    # The providers gave their old sessions up while the ensemble was down
    # (disconnected > session timeout) and started new ones; the restarted
    # ensemble still had the old sessions and expires them one timeout
    # later, so a provider's node may blink out and back.  The views must
    # be right again after that, for good.
    time.sleep(2.5 * SESSION_S)
    wait_for(converged(cons + [c2], provs), 4 * SESSION_S + 15,
             "consumers to converge once the old sessions expired")
    blinks = sum(sum(1 for l in lines(p.outpath) if "providers of web" in l
                     and "live" in l) for p in cons)
    time.sleep(SESSION_S)
    expect(all(consumer_view(p) == (True, sorted(provs)) for p in cons + [c2]),
           "consumer views moved again: %s" % [consumer_view(p) for p in cons])
    say("  registry: views still right %.1f s after the restart (%d list "
        "updates seen by the 2 first consumers in all)" % (
            time.time() - t, blinks))
    st, out, err = env.run(["zk-registry", "list", "web"])
    listed = sorted(l.split("\t")[0] for l in out.splitlines() if l)
    expect(listed == sorted(provs), "zk-registry list says %s" % listed)
    for p in list(provs.values()) + cons + [c2]:
        env.stop(p)


# ---------------------------------------------------------------------------
# Naming

def test_naming(env):
    """5 processes allocate 200 names each, concurrently, 2 of them with
    lost create replies injected; the leader is SIGKILLed meanwhile.
    Then 6 processes race to register the same name."""
    d = "/recipes/names"
    outs = []
    for i in range(5):
        env_ = {"ZKR_FAULT_CREATE": "4"} if i < 2 else None
        outs.append(env.spawn("names-%d" % i, ["zk-name", "-v", "-T", "-t",
                                               str(SESSION_MS), "next", d,
                                               "job-", "200"], env=env_))
    time.sleep(0.3)
    i = env.kill_leader()
    say("  naming: SIGKILLed the leader (member %d) during allocation" % i)
    for p in outs:
        expect(p.wait(timeout=60) == 0, "%s failed" % p.tag)
    env.cluster.start_one(i)
    env.cluster.wait_ready()
    names, per = [], {}
    for p in outs:
        got = [l.split()[0] for l in lines(p.outpath)
               if re.match(r"job-\d{10} ", l)]
        per[p.tag] = got
        names += got
        seqs = [int(x[4:]) for x in got]
        expect(seqs == sorted(seqs) and len(set(seqs)) == len(seqs),
               "%s: names not increasing" % p.tag)
    expect(len(names) == 1000, "%d names allocated" % len(names))
    expect(len(set(names)) == 1000, "duplicate names: %d unique" %
           len(set(names)))
    recovered = sum(sum(1 for l in lines(p.outpath) if "found our name" in l)
                    for p in outs)
    nodes = env.children(d)
    expect(sorted(nodes) == sorted(names),
           "%d nodes for %d names (leaks or holes)" % (len(nodes), len(names)))
    say("  naming: 1000 unique names, increasing per process, one node each;"
        " %d lost replies recovered by tag" % recovered)
    expect(recovered >= 20, "fault injection did not exercise recovery")

    racers = [env.spawn("reg-%d" % k, ["zk-name", "register", "/recipes/reg",
                                       "svc/primary", "host-%d" % k])
              for k in range(6)]
    sts = [p.wait(timeout=30) for p in racers]
    expect(sorted(sts) == [0, 1, 1, 1, 1, 1], "register race: %s" % sts)
    winner = "host-%d" % sts.index(0)
    st, out, err = env.run(["zk-name", "-S", "resolve", "/recipes/reg",
                            "svc/primary"])
    expect(out.strip() == winner, "resolve says %r, winner %s" % (out, winner))
    # an ephemeral registration dies with its owner
    e = env.spawn("reg-eph", ["zk-name", "-t", str(SESSION_MS), "-e",
                              "register", "/recipes/reg", "svc/temp", "x"])
    wait_for(lambda: env.run(["zk-name", "resolve", "/recipes/reg",
                              "svc/temp"])[0] == 0, 10, "ephemeral name")
    env.sigkill(e)
    t = time.time()
    wait_for(lambda: env.run(["zk-name", "resolve", "/recipes/reg",
                              "svc/temp"])[0] == 1, 3 * SESSION_S + 5,
             "the ephemeral name to go")
    say("  naming: 6-way register race won by %s alone; an ephemeral name "
        "vanished %.1f s after its owner's SIGKILL" % (winner,
                                                       time.time() - t))


def test_api(env):
    """The C API test (check_api.c): cancel, shared locks, election,
    cache events, cache file, ACLs, a forced session expiry."""
    exe = env.tool("check_api")
    expect(os.access(exe, os.X_OK), "%s is not built" % exe)
    e = dict(os.environ, ZK_HOSTS=env.hosts())
    r = subprocess.run([exe], env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode(errors="replace").strip().splitlines()
    for line in out:
        if "FAILED" in line or line.startswith("check_api:"):
            say("  " + line)
    expect(r.returncode == 0, "check_api failed")


TESTS = [
    ("api", test_api),
    ("lock-rate", test_lock_rate),
    ("lock-try", test_lock_try),
    ("lock", test_lock_chaos),
    ("rwlock", test_rwlock),
    ("lock-paused", test_lock_paused),
    ("election", test_election),
    ("election-paused", test_election_paused),
    ("membership", test_membership),
    ("naming", test_naming),
    ("registry", test_registry),      # last: restarts the whole ensemble
]


def main():
    global IMPL
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--impl", default="zabd", choices=("zabd", "zookeeper"))
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "recipes"))
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for name, fn in TESTS:
            print("%-16s %s" % (name, fn.__doc__.split("\n")[0]))
        return 0
    IMPL = a.impl
    bindir = os.path.abspath(a.bin)
    for t in ("zk-lock", "zk-elect", "zk-name", "zk-member", "zk-registry"):
        if not os.access(os.path.join(bindir, t), os.X_OK):
            sys.exit("run_tests: %s/%s is not built (make recipes)" %
                     (bindir, t))
    only = [x for x in a.only.split(",") if x]
    workdir = tempfile.mkdtemp(prefix="zkr-test-%s-" % a.impl)
    env = Env(a.impl, bindir, workdir)
    failed = []

    def on_signal(signum, frame):
        env.stop_all()
        env.cluster.kill_all()
        shutil.rmtree(workdir, ignore_errors=True)
        os._exit(128 + signum)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        say("starting a 3-node %s ensemble (tickTime 200 ms); clients ask "
            "for %d ms sessions" % (a.impl, SESSION_MS))
        env.cluster.start()
        for name, fn in TESTS:
            if only and name not in only:
                continue
            t = time.time()
            say("%s: %s" % (name, fn.__doc__.split("\n")[0]))
            try:
                fn(env)
                say("%s: PASS (%.1f s)" % (name, time.time() - t))
            except Failure as e:
                failed.append(name)
                say("%s: FAIL: %s (outputs in %s)" % (name, e, workdir))
            finally:
                env.stop_all()
                if not env.cluster.live_members():
                    env.cluster.start()
                elif len(env.cluster.live_members()) < 3:
                    for i in range(3):
                        if not env.cluster.alive(i):
                            env.cluster.start_one(i)
                    env.cluster.wait_ready()
    finally:
        env.stop_all()
        env.cluster.stop(grace=5)
        env.cluster.kill_all()
    say("measurements:")
    for test, what, value in MEASURED:
        say("  %-10s %-48s %s" % (test, what, value))
    if failed or a.keep:
        say("outputs kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    say("%s: %s" % ("FAILED" if failed else "all recipe tests passed",
                    ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
