#!/usr/bin/python3
"""zab-sqlite end to end: three processes on loopback, each with its own
SQLite file and log directory.

  A. The replication rules, without a cluster (zab-sqlite --local):
     non-deterministic statements are refused, random() and 'now' are
     replayed identically, a failing request changes nothing.
  B. A cluster: the same refusals through `zab-sqlite -c` on a follower
     (exit status 1), a write at one node read at another after `.sync`,
     RETURNING rows come back to the issuer.
  C. A load of writes (each request: an INSERT and an UPDATE of a shared
     counter, one transaction) from six issuers spread over the three
     nodes.  In the middle a follower is SIGKILLed and restarted (it
     catches up by DIFF); later the leader is SIGKILLed, its database and
     log are wiped, and it is restarted empty (it catches up by SNAP, the
     leader's log having been compacted by local snapshots).  The load
     goes on throughout.  Then the nodes are stopped and the three
     databases compared row by row; every write the nodes acknowledged is
     present exactly once, every write they answered "not committed" is
     absent, and the counter equals the number of rows (atomicity).

Run: /usr/bin/python3 examples/sqlite/test_sqlite.py [build/zab-sqlite] [-v]
Exit status 0 when everything passed.  Takes about 30 seconds.
"""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = [a for a in sys.argv[1:] if not a.startswith("-")]
BIN = os.path.abspath(ARGS[0] if ARGS else
                      os.path.join(HERE, "..", "..", "build", "zab-sqlite"))
VERBOSE = "-v" in sys.argv
IDS = (1, 2, 3)
T0 = time.monotonic()


def log(*a):
    print("[%6.2fs]" % (time.monotonic() - T0), *a, flush=True)


def fail(msg):
    log("FAIL:", msg)
    raise SystemExit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


# ---- the line protocol (proto.h) -------------------------------------------

def escape(s):
    return (s.replace("\\", "\\\\").replace("\n", "\\n")
             .replace("\r", "\\r").replace("\t", "\\t"))


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            i += 1
            c = {"n": "\n", "r": "\r", "t": "\t"}.get(s[i], s[i])
        out.append(c)
        i += 1
    return "".join(out)


def parse_answer(lines):
    """(rows, kind, rest) from the lines of one answer."""
    rows = []
    for line in lines[:-1]:
        f = line.split("\t")
        check(f[0] == "R", "unexpected line %r" % line)
        rows.append([None if v == "\\N" else unescape(v) for v in f[1:]])
    f = lines[-1].split("\t", 1)
    return rows, f[0], unescape(f[1]) if len(f) > 1 else ""


class Conn:
    """One client connection to a node's client port."""

    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.s.settimeout(timeout)
        self.buf = b""

    def request(self, sql):
        self.s.sendall((escape(sql) + "\n").encode())
        lines = []
        while True:
            while b"\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise ConnectionError("closed")
                self.buf += d
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.decode()
            lines.append(line)
            if line.split("\t", 1)[0] in ("OK", "ERR", "UNKNOWN"):
                return parse_answer(lines)

    def close(self):
        self.s.close()


# ---- a cluster --------------------------------------------------------------

def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Cluster:
    def __init__(self, root, extra):
        self.root = root
        ports = free_ports(2 * len(IDS))
        self.peer = {i: ports[k] for k, i in enumerate(IDS)}
        self.client = {i: ports[len(IDS) + k] for k, i in enumerate(IDS)}
        self.conf = os.path.join(root, "cluster.conf")
        with open(self.conf, "w") as f:
            f.write("# written by test_sqlite.py\n")
            for i in IDS:
                f.write("node.%d = 127.0.0.1:%d 127.0.0.1:%d node%d.db "
                        "node%d.log\n" % (i, self.peer[i], self.client[i],
                                          i, i))
            f.write(extra)
        self.procs = {}
        self.runs = {i: 0 for i in IDS}

    def db(self, i):
        return os.path.join(self.root, "node%d.db" % i)

    def logdir(self, i):
        return os.path.join(self.root, "node%d.log" % i)

    def errfile(self, i):
        return os.path.join(self.root, "node%d.run%d.err" % (i, self.runs[i]))

    def start(self, i):
        self.runs[i] += 1
        err = open(self.errfile(i), "w")
        args = [BIN, "--node", str(i), "--serve", self.conf]
        if VERBOSE:
            args.insert(1, "-v")
        self.procs[i] = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=err)
        err.close()

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def stop(self, i):
        p = self.procs[i]
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("node %d did not stop on SIGTERM" % i)
        check(rc == 0, "node %d exited with status %d" % (i, rc))

    def stop_all(self):
        for i, p in self.procs.items():
            if p.poll() is None:
                p.kill()
                p.wait()

    def wipe(self, i):
        for path in (self.db(i), self.db(i) + "-wal", self.db(i) + "-shm"):
            if os.path.exists(path):
                os.unlink(path)
        shutil.rmtree(self.logdir(i), ignore_errors=True)

    def stderr(self, i, run=None):
        path = os.path.join(self.root, "node%d.run%d.err" %
                            (i, run or self.runs[i]))
        with open(path) as f:
            return f.read()

    def status(self, i):
        c = Conn(self.client[i], timeout=5)
        try:
            rows, kind, _ = c.request(".status")
        finally:
            c.close()
        return {k: v for k, v in rows}

    def cli(self, i, sql, *extra):
        return subprocess.run([BIN, "--node", str(i)] + list(extra) +
                              ["-c", sql, self.conf], capture_output=True,
                              text=True, timeout=30)

    def wait_serving(self, ids=IDS, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                st = {i: self.status(i) for i in ids}
                if all(s["serving"] == "1" for s in st.values()):
                    return st
            except OSError:
                pass
            time.sleep(0.1)
        fail("nodes %s not serving after %ds" % (ids, timeout))

    def leader(self):
        for i in IDS:
            try:
                s = self.status(i)
                if s["role"] == "leading" and s["serving"] == "1":
                    return i
            except OSError:
                pass
        return None

    def wait_leader(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ld = self.leader()
            if ld:
                return ld
            time.sleep(0.1)
        fail("no leader after %ds" % timeout)

    def wait_converged(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                z = {i: self.status(i)["applied_zxid"] for i in IDS}
                if len(set(z.values())) == 1:
                    return z[IDS[0]]
            except OSError:
                pass
            time.sleep(0.1)
        fail("the nodes did not converge: %s" % z)


# ---- A. the rules, without a cluster ----------------------------------------

RULES = [
    # (request, expected: "ok", "err" or "refused")
    ("CREATE TABLE t(id INTEGER PRIMARY KEY, v, ts DEFAULT CURRENT_TIMESTAMP,"
     " r DEFAULT (random()))", "ok"),
    ("INSERT INTO t(v) VALUES (random()), (randomblob(4)), "
     "(datetime('now')), (julianday('now')), (strftime('%f', 'now')), "
     "(datetime('now', 'localtime'))", "ok"),
    ("INSERT INTO t(v) SELECT abs(v) FROM t ORDER BY random() LIMIT 2", "ok"),
    ("INSERT INTO t(v) VALUES (changes())", "refused"),
    ("INSERT INTO t(v) VALUES (total_changes())", "refused"),
    ("INSERT INTO t(v) VALUES (last_insert_rowid())", "refused"),
    ("UPDATE t SET v = sqlite_version()", "refused"),
    ("BEGIN", "refused"),
    ("COMMIT", "refused"),
    ("SAVEPOINT s", "refused"),
    ("ATTACH 'other.db' AS o", "refused"),
    ("CREATE TEMP TABLE tt(a)", "refused"),
    ("PRAGMA foreign_keys = OFF", "refused"),
    ("PRAGMA journal_mode = DELETE", "refused"),
    ("PRAGMA user_version = 3", "ok"),
    ("DELETE FROM zab_sqlite_meta", "refused"),
    ("CREATE TRIGGER bad AFTER INSERT ON t BEGIN "
     "UPDATE t SET v = last_insert_rowid() WHERE id = new.id; END", "ok"),
    ("INSERT INTO t(v) VALUES (1)", "refused"),       # the trigger's body
    ("DROP TRIGGER bad", "ok"),
    # A failing request changes nothing, even its first statement.
    ("INSERT INTO t(id, v) VALUES (100, 'a'); INSERT INTO t(id, v) "
     "VALUES (100, 'b')", "err"),
    ("SELECT count(*) FROM t WHERE id = 100", "ok"),
    # Reads may use anything: they run on one node.
    ("SELECT random(), changes(), datetime('now'), sqlite_version()", "ok"),
    ("PRAGMA foreign_keys", "ok"),
    ("PRAGMA table_info(t)", "ok"),
]


def part_a():
    log("A. replication rules (--local)")
    for run in range(2):
        text = "".join(escape(sql) + "\n" for sql, _ in RULES)
        p = subprocess.run([BIN, "--local", "--machine"], input=text,
                           capture_output=True, text=True, timeout=30)
        lines = p.stdout.splitlines()
        answers, cur = [], []
        for line in lines:
            cur.append(line)
            if line.split("\t", 1)[0] in ("OK", "ERR", "UNKNOWN"):
                answers.append(parse_answer(cur))
                cur = []
        check(len(answers) == len(RULES),
              "--local answered %d of %d requests: %s" %
              (len(answers), len(RULES), p.stderr))
        for (sql, want), (rows, kind, rest) in zip(RULES, answers):
            got = ("ok" if kind == "OK" else
                   "refused" if rest.startswith("refused:") else "err")
            check(got == want, "%r: want %s, got %s %s" %
                  (sql, want, kind, rest))
            if VERBOSE and run == 0:
                log("   %-7s %s %s" % (got, sql[:60], rest[:60]))
        check(answers[20][0] == [["0"]], "a failed request left a row")
    # The replayed values (random(), randomblob(), DEFAULT (random())) are
    # the same in both runs: they depend on the zxid only.
    r0 = subprocess.run([BIN, "--local"], input="".join(
        sql + ";\n" for sql, w in RULES[:3]) +
        "SELECT id, v, r FROM t WHERE id NOT IN (3,4,5,6);\n",
        capture_output=True, text=True).stdout
    r1 = subprocess.run([BIN, "--local"], input="".join(
        sql + ";\n" for sql, w in RULES[:3]) +
        "SELECT id, v, r FROM t WHERE id NOT IN (3,4,5,6);\n",
        capture_output=True, text=True).stdout
    check(r0 == r1 and r0.count("\n") == 4,
          "random() is not replayed identically:\n%s\n%s" % (r0, r1))
    log("   %d requests classified as expected; random() replays" %
        len(RULES))


# ---- B. a cluster: refusals, barriers, RETURNING -----------------------------

def part_b(cl):
    log("B. refusals and reads on a live cluster")
    ld = cl.wait_leader()
    fol = [i for i in IDS if i != ld]
    r = cl.cli(fol[0], "CREATE TABLE t(id INTEGER PRIMARY KEY, "
               "issuer INTEGER NOT NULL, seq INTEGER NOT NULL, node INTEGER,"
               " ts DEFAULT CURRENT_TIMESTAMP, r DEFAULT (random()), "
               "rb DEFAULT (randomblob(8)));"
               "CREATE TABLE counter(k INTEGER PRIMARY KEY, n INTEGER);"
               "INSERT INTO counter VALUES (1, 0)")
    check(r.returncode == 0, "create: %s" % r.stderr)
    for sql in ("INSERT INTO t(issuer, seq) VALUES (0, changes())",
                "INSERT INTO t(issuer, seq) VALUES (0, 1); COMMIT",
                "PRAGMA synchronous = OFF",
                "INSERT INTO t(issuer, seq, node) "
                "VALUES (0, 0, last_insert_rowid())"):
        r = cl.cli(fol[1], sql)
        check(r.returncode == 1 and "refused" in r.stderr,
              "%r was not refused: %d %s" % (sql, r.returncode, r.stderr))
    r = cl.cli(fol[0], "INSERT INTO t(issuer, seq, node) VALUES "
               "(0, 1, 0), (0, 2, 0) RETURNING id, issuer, seq", "--machine")
    check(r.returncode == 0 and r.stdout.count("R\t") == 2 and
          r.stdout.splitlines()[-1].startswith("OK\t"),
          "RETURNING: %r %r" % (r.stdout, r.stderr))
    # Written at one follower, read at the other after a barrier.
    c = Conn(cl.client[fol[1]])
    rows, kind, _ = c.request(".sync")
    check(kind == "OK", ".sync failed")
    rows, kind, _ = c.request("SELECT count(*) FROM t WHERE issuer = 0")
    check(kind == "OK" and rows == [["2"]], "read after .sync: %s" % rows)
    rows, kind, rest = c.request("INSERT INTO t(id, issuer, seq) "
                                 "VALUES (1, 0, 9)")
    check(kind == "ERR" and "UNIQUE" in rest, "constraint: %s %s" %
          (kind, rest))
    c.close()
    log("   refused through -c with status 1; RETURNING; .sync; "
        "constraint errors reported")
    return ld


# ---- C. a load, a follower killed, the leader killed and wiped ----------------

class Issuer(threading.Thread):
    def __init__(self, cl, k, node, stop, res):
        super().__init__(daemon=True)
        self.cl, self.k, self.node, self.stop, self.res = (cl, k, node,
                                                           stop, res)
        self.seq = 0

    def run(self):
        conn = None
        node = self.node
        while not self.stop.is_set():
            if conn is None:
                try:
                    conn = Conn(self.cl.client[node], timeout=30)
                except OSError:
                    # The node is down: go to the next one meanwhile.
                    node = IDS[(IDS.index(node) + 1) % len(IDS)]
                    time.sleep(0.05)
                    continue
            self.seq += 1
            key = (self.k, self.seq)
            try:
                rows, kind, rest = conn.request(
                    "INSERT INTO t(issuer, seq, node) VALUES (%d, %d, %d);"
                    "UPDATE counter SET n = n + 1 WHERE k = 1" %
                    (self.k, self.seq, node))
            except (OSError, ConnectionError):
                self.res["unknown"].add(key)
                conn.close()
                conn = None
                continue
            if kind == "OK":
                self.res["acked"].add(key)
            elif kind == "UNKNOWN":
                self.res["unknown"].add(key)
            elif rest.startswith("not committed"):
                self.res["lost"].add(key)
                time.sleep(0.02)
            else:
                self.res["errors"].append((key, rest))
        if conn:
            conn.close()


def dump(path):
    """Every table of a database file, row by row, on a copy."""
    tmp = path + ".copy"
    shutil.copy(path, tmp)
    for ext in ("-wal",):
        if os.path.exists(path + ext):
            shutil.copy(path + ext, tmp + ext)
    db = sqlite3.connect(tmp)
    out = {}
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' "
        "ORDER BY name")]
    out["schema"] = db.execute(
        "SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall()
    for t in tables:
        out[t] = db.execute('SELECT * FROM "%s" ORDER BY rowid' %
                            t).fetchall()
    out["user_version"] = db.execute("PRAGMA user_version").fetchall()
    db.close()
    return out


def wait_caught_up(cl, i, timeout=20):
    """Node i serving and within a few transactions of the leader."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            s = cl.status(i)
            ld = cl.leader()
            if s["serving"] == "1" and ld:
                lz = int(cl.status(ld)["applied_zxid"], 16)
                if lz - int(s["applied_zxid"], 16) < 50:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    fail("node %d did not catch up" % i)


def part_c(cl):
    log("C. load from 6 issuers; kill a follower; kill and wipe the leader")
    res = {"acked": set(), "lost": set(), "unknown": set(), "errors": []}
    stop = threading.Event()
    issuers = [Issuer(cl, k, IDS[k % 3], stop, res) for k in range(1, 7)]
    for t in issuers:
        t.start()
    time.sleep(2)
    ld = cl.wait_leader()
    f1 = [i for i in IDS if i != ld][0]
    # The leader keeps its log back to the older of its two newest local
    # snapshots: once it has one, a follower down for fewer writes than
    # snapshot_every is still covered by the log (DIFF).
    end = time.monotonic() + 60
    while int(cl.status(ld)["snapshots_taken"]) < 1:
        check(time.monotonic() < end, "leader %d took no snapshot" % ld)
        time.sleep(0.1)
    time.sleep(0.3)
    before = int(cl.status(ld)["zab.sync_diff"])
    log("   %d writes acknowledged; SIGKILL follower %d" %
        (len(res["acked"]), f1))
    cl.kill(f1)
    # Down for ~500 writes: fewer than a local snapshot's worth, so that
    # the leader's log still holds them all (DIFF).
    n0, end = len(res["acked"]), time.monotonic() + 3
    time.sleep(0.3)
    while len(res["acked"]) < n0 + 500 and time.monotonic() < end:
        time.sleep(0.02)
    log("   %d acknowledged; restart node %d" % (len(res["acked"]), f1))
    cl.start(f1)
    wait_caught_up(cl, f1)
    check("installed a snapshot" not in cl.stderr(f1),
          "node %d was synchronised by SNAP, not DIFF" % f1)
    after = int(cl.status(ld)["zab.sync_diff"])
    check(after > before, "leader %d counted no DIFF (%d -> %d)" %
          (ld, before, after))
    log("   node %d caught up by DIFF (leader %d: sync_diff %d -> %d)" %
        (f1, ld, before, after))

    # Freeze the leader: the requests the followers forward to it are
    # swallowed, the others elect a new leader, and the fences of their
    # nodes settle the lost requests as "not committed".
    lost0 = len(res["lost"])
    log("   SIGSTOP leader %d for 2.5 s" % ld)
    cl.procs[ld].send_signal(signal.SIGSTOP)
    time.sleep(2.5)
    cl.procs[ld].send_signal(signal.SIGCONT)
    ld = cl.wait_leader()
    wait_caught_up(cl, [i for i in IDS if i != ld][0])
    log("   SIGCONT; node %d leads; %d writes answered 'not committed' "
        "so far" % (ld, len(res["lost"]) - lost0))

    # Let the local snapshots compact the log before killing the leader.
    end = time.monotonic() + 60
    while time.monotonic() < end:
        s = cl.status(ld)
        if int(s["log_start"], 16) > 0 and int(s["snapshots_taken"]) > 0:
            break
        time.sleep(0.2)
    else:
        fail("leader %d never compacted its log" % ld)
    log("   leader %d: log starts after %s (%s snapshots taken); "
        "SIGKILL it and wipe its database and log" %
        (ld, s["log_start"], s["snapshots_taken"]))
    cl.kill(ld)
    cl.wipe(ld)
    new = cl.wait_leader()
    log("   node %d leads; %d acknowledged" % (new, len(res["acked"])))
    # Whoever leads when it comes back must have compacted its log, so
    # that an empty node can only be synchronised by SNAP.
    time.sleep(1)
    end = time.monotonic() + 60
    live = [i for i in IDS if i != ld]
    while time.monotonic() < end:
        if all(int(cl.status(i)["log_start"], 16) > 0 for i in live):
            break
        time.sleep(0.2)
    else:
        fail("nodes %s never compacted their logs" % live)
    cl.start(ld)
    wait_caught_up(cl, ld, timeout=30)
    check("installed a snapshot" in cl.stderr(ld),
          "wiped node %d was not synchronised by SNAP" % ld)
    log("   node %d restarted empty and caught up by SNAP" % ld)
    time.sleep(1.5)
    stop.set()
    for t in issuers:
        t.join(40)
    check(not any(t.is_alive() for t in issuers), "an issuer hangs")
    zx = cl.wait_converged()
    log("   load stopped: %d acknowledged, %d not committed, %d unknown; "
        "all nodes at %s" % (len(res["acked"]), len(res["lost"]),
                             len(res["unknown"]), zx))
    check(not res["errors"], "unexpected errors: %s" % res["errors"][:5])
    check(len(res["acked"]) > 500, "too few writes acknowledged")
    for i in IDS:
        cl.stop(i)
    dumps = {i: dump(cl.db(i)) for i in IDS}
    for i in IDS[1:]:
        for t in dumps[IDS[0]]:
            a, b = dumps[IDS[0]][t], dumps[i].get(t)
            if a != b:
                diff = [x for x in range(min(len(a), len(b or [])))
                        if a[x] != b[x]][:3]
                fail("table %s differs between node %d and %d (%d vs %d "
                     "rows, first differences at %s)" %
                     (t, IDS[0], i, len(a), len(b or []), diff))
        check(dumps[i].keys() == dumps[IDS[0]].keys(), "tables differ")
    rows = dumps[IDS[0]]["t"]
    count = {}
    for r in rows:
        count[(r[1], r[2])] = count.get((r[1], r[2]), 0) + 1
    dup = [k for k, v in count.items() if v > 1]
    check(not dup, "rows present twice: %s" % dup[:5])
    missing = [k for k in res["acked"] if k not in count]
    check(not missing, "acknowledged writes missing: %s" % missing[:5])
    ghosts = [k for k in res["lost"] if k in count]
    check(not ghosts, "writes answered 'not committed' are present: %s" %
          ghosts[:5])
    maybe = sum(1 for k in res["unknown"] if k in count)
    counter = dumps[IDS[0]]["counter"][0][1]
    n_load = sum(1 for r in rows if r[1] != 0)
    check(counter == n_load, "counter %d != %d rows: a request was applied "
          "in part" % (counter, n_load))
    meta = dumps[IDS[0]]["zab_sqlite_meta"]
    log("   %d tables identical on the 3 nodes (%d rows in t, meta %s); "
        "every acknowledged write present once; %d of %d unknown writes "
        "were applied" % (len(dumps[IDS[0]]) - 2, len(rows), meta, maybe,
                          len(res["unknown"])))


def main():
    check(os.access(BIN, os.X_OK), "%s: not built (make sqlite)" % BIN)
    part_a()
    root = tempfile.mkdtemp(prefix="zab-sqlite-test.")
    cl = Cluster(root,
                 "zab.heartbeat_ms = 100\n"
                 "zab.peer_timeout_ms = 1000\n"
                 "zab.election_timeout_ms = 100\n"
                 "zab.sync_timeout_ms = 5000\n"
                 "snapshot_every = 2000\n"
                 "segment_bytes = 65536\n"
                 "fence_ms = 500\n"
                 "request_timeout_ms = 8000\n")
    ok = False
    try:
        for i in IDS:
            cl.start(i)
        cl.wait_serving()
        part_b(cl)
        part_c(cl)
        ok = True
    finally:
        cl.stop_all()
        if ok and not VERBOSE:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log("node logs and databases kept in", root)
    log("all passed")


if __name__ == "__main__":
    main()
