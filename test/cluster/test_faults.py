#!/usr/bin/python3
"""Real-process fault tests on a 3-member ensemble:

  a. SIGKILL the leader under a write load from several Kazoo clients;
     every acknowledged write survives on every member, members converge
     (same children, data and full stats), no write is applied twice;
  b. SIGKILL all three members and restart them from disk: data intact,
     a live client's session and ephemerals survive;
  c. a member is down while many writes happen (ZKC_FAULT_WRITES, default
     5000), then restarted: it catches up and serves the same data, and
     can then carry the quorum itself;
  d. (zabd only) a torn log tail: SIGKILL a member during writes, cut the
     last bytes of its newest log.<16 hex> file, restart: it rejoins and
     converges;
  e. read-only mode (readonlymode.enabled): with two members SIGKILLed the
     survivor serves reads to read-only sessions, refuses their writes
     and sync with NOTREADONLY and refuses read-write clients; the quorum
     comes back with the data intact;
  f. (zabd only) the same with a session created before the partition: it
     reattaches read-only, keeps its ephemeral, and is read-write again,
     the same session, once the quorum is back;
  g. (zabd only) dynamic reconfiguration of observers: a fourth server,
     unknown to the ensemble, cannot join; `reconfig` adds it, it catches
     up and serves, the membership survives the restart of the leader and
     of the observer, and `reconfig` removes it again;
  h. (zabd only) the same through zkCli (addauth super, reconfig -add,
     config, reconfig -remove).

    /usr/bin/python3 test/cluster/test_faults.py [-v] [Faults.test_...]
"""

import glob
import os
import random
import re
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True   # keep the source tree clean

from zktestlib import IMPL, new_cluster, client, close, wait_for, dump, diff_dumps, main  # noqa

from kazoo.exceptions import (ConnectionLoss, SessionExpiredError, OperationTimeoutError,
                              ConnectionClosedError, SessionMovedError, ZookeeperError,
                              NotReadOnlyCallError)
from kazoo.protocol.states import KeeperState
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.security import make_digest_acl

WRITES = int(os.environ.get("ZKC_FAULT_WRITES", "5000"))
UNKNOWN = (ConnectionLoss, SessionExpiredError, OperationTimeoutError, ConnectionClosedError,
           SessionMovedError, KazooTimeoutError)


def log(msg):
    sys.stderr.write("    [%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Writer(threading.Thread):
    """One Kazoo session writing until stopped, one request at a time:
    even steps create <root>/w<t>-<seq> with data "t:n" (sequential), odd
    steps set <root>/k<t> to "n".  Each outcome is recorded as ack, fail
    (a definite error from the server) or unknown (connection lost, session
    expired, timeout: it may or may not have been applied)."""

    def __init__(self, hosts, root, t):
        threading.Thread.__init__(self, daemon=True)
        self.zk = client(hosts, timeout=10.0)
        self.root, self.t = root, t
        self.stop = threading.Event()
        self.creates = {}       # n -> ("ack", path) | ("fail", exc) | ("unknown", exc)
        self.sets = {}          # n -> ("ack", stat) | ...
        self.ack_times = []

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                if n % 2 == 0:
                    a = self.zk.create_async("%s/w%d-" % (self.root, self.t),
                                             ("%d:%d" % (self.t, n)).encode(), sequence=True)
                    self.creates[n] = ("ack", a.get(timeout=15))
                else:
                    a = self.zk.set_async("%s/k%d" % (self.root, self.t), b"%d" % n)
                    self.sets[n] = ("ack", a.get(timeout=15))
                self.ack_times.append(time.time())
            except UNKNOWN as e:
                (self.creates if n % 2 == 0 else self.sets)[n] = ("unknown", e)
                time.sleep(0.02)
            except ZookeeperError as e:
                (self.creates if n % 2 == 0 else self.sets)[n] = ("fail", e)
                time.sleep(0.02)

    def counts(self):
        c = {"ack": 0, "fail": 0, "unknown": 0}
        for d in (self.creates, self.sets):
            for v in d.values():
                c[v[0]] += 1
        return c


class ClusterCase(unittest.TestCase):
    """A test with a cluster in self.cl and clients made by self.c(), all
    stopped at the end."""

    def tearDown(self):
        close(*self.clients)
        self.cl.stop()
        self.cl.kill_all()

    def c(self, hosts, **kw):
        z = client(hosts, **kw)
        self.clients.append(z)
        return z


class Faults(ClusterCase):

    def setUp(self):
        # snapCount: both implementations snapshot during these tests, so
        # restarts and catch-ups go through snapshot + log.  ZooKeeper would
        # catch a lagging member up from its txn log (DIFF) however far
        # behind; snapshotSizeFactor=-1 makes it send a snapshot (SNAP) once
        # the gap exceeds its in-memory commit log (500 txns), so the
        # reference exercises state transfer too.
        self.cl = new_cluster(3, "faults-" + self.id().split(".")[-1],
                              extra_cfg=["snapCount=1000"],
                              java_opts=["-Dzookeeper.snapshotSizeFactor=-1"])
        self.cl.start(timeout=90)
        self.clients = []


    def member_dumps(self, members, root):
        out = {}
        for i in members:
            z = self.c(self.cl.connect_string([i]), timeout=10.0)
            z.add_auth("digest", "u:p")     # for test b's protected node
            z.sync(root)
            out[i] = dump(z, root)
            close(z)
        return out

    def assert_converged(self, members, root, timeout=20):
        """Every member in `members` holds the same tree under root (data
        and complete stats), read after a sync on that member.  Retries
        for a while (a dead client's session may still be closing)."""
        deadline = time.time() + timeout
        while True:
            d = self.member_dumps(members, root)
            ref = d[members[0]]
            bad = [(i, diff_dumps(ref, d[i])) for i in members[1:] if d[i] != ref]
            if not bad:
                return ref
            if time.time() > deadline:
                self.fail("members diverge under %s:\n%s" % (root, "\n".join(
                    "member %d vs member %d:\n%s" % (members[0], i, t) for i, t in bad)))
            time.sleep(0.5)

    def bulk_write(self, zk, root, count, window=400):
        """count pipelined writes under root (creates, every 3rd one set
        twice, every 5th deleted, a multi every 50): returns the expected
        {path: data} and the number of children created under root."""
        expect = {}
        pending = []

        def drain(limit):
            while len(pending) > limit:
                pending.pop(0).get(timeout=60)
        zk.create(root, b"bulk")
        for i in range(count):
            p = "%s/n%05d" % (root, i)
            v = ("%05d" % i).encode() * 8
            pending.append(zk.create_async(p, v))
            expect[p] = v
            if i % 3 == 0:
                pending.append(zk.set_async(p, v + b"+"))
                expect[p] = v + b"+"
            if i % 5 == 4:
                pending.append(zk.delete_async(p))
                del expect[p]
            if i % 50 == 49:
                t = zk.transaction()
                t.create("%s/m%05d" % (root, i), b"m")
                t.set_data(root, b"%d" % i)
                pending.append(t.commit_async())
                expect["%s/m%05d" % (root, i)] = b"m"
            drain(window)
        drain(0)
        expect[root] = zk.get(root)[0]
        return expect, count + count // 50

    # -- a ---------------------------------------------------------------------
    def test_a_leader_killed_under_load(self):
        cl = self.cl
        root = "/load"
        nw = 4
        z = self.c(cl.connect_string())
        z.create(root)
        for t in range(nw):
            z.create("%s/k%d" % (root, t), b"0")
        writers = [Writer(cl.connect_string(), root, t) for t in range(nw)]
        self.clients += [w.zk for w in writers]
        for w in writers:
            w.start()
        time.sleep(1.5)
        victim = cl.leader()
        t_kill = time.time()
        cl.kill(victim)
        log("killed leader (member %d)" % victim)
        survivors = [i for i in range(3) if i != victim]
        cl.wait_ready(members=survivors, timeout=60)
        t_ready = time.time()
        log("new leader member %d after %.2fs" % (cl.leader(), t_ready - t_kill))
        time.sleep(2.0)
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(30)
            self.assertFalse(w.is_alive(), "writer stuck")
        tot = {"ack": 0, "fail": 0, "unknown": 0}
        for w in writers:
            for k, v in w.counts().items():
                tot[k] += v
        after = sum(1 for w in writers for t in w.ack_times if t > t_ready)
        before = sum(1 for w in writers for t in w.ack_times if t < t_kill)
        log("outcomes %r; acked before kill %d, after new leader %d" % (tot, before, after))
        self.assertGreater(before, 0, "no write acknowledged before the kill")
        self.assertGreater(after, 0, "no write acknowledged after failover")

        def check(tree, where):
            seen = {}
            for p, (data, st) in tree.items():
                m = re.match(r"^%s/w(\d+)-(\d{10})$" % root, p)
                if m:
                    tv, nv = data.decode().split(":")
                    self.assertEqual(int(tv), int(m.group(1)), p)
                    key = (int(tv), int(nv))
                    self.assertNotIn(key, seen, "write %r applied twice: %s and %s" % (
                        key, seen.get(key), p))
                    seen[key] = p
            for w in writers:
                for n, (outcome, res) in w.creates.items():
                    key = (w.t, n)
                    if outcome == "ack":
                        self.assertEqual(seen.get(key), res,
                                         "%s: acknowledged create %r -> %s missing" % (where, key, res))
                    elif outcome == "fail":
                        self.assertNotIn(key, seen, "%s: failed create %r applied" % (where, key))
                for (tv, nv) in seen:
                    if tv == w.t:
                        self.assertIn(nv, w.creates, "%s: create %r never issued" % (where, (tv, nv)))
                acked = [n for n, (o, _) in w.sets.items() if o == "ack"]
                unknown = [n for n, (o, _) in w.sets.items() if o == "unknown"]
                data, st = tree["%s/k%d" % (root, w.t)]
                final = int(data)
                if acked:
                    self.assertGreaterEqual(final, max(acked),
                                            "%s: acknowledged set lost on k%d" % (where, w.t))
                if final:
                    self.assertIn(final, acked + unknown)
                self.assertGreaterEqual(st.version, len(acked))
                self.assertLessEqual(st.version, len(acked) + len(unknown))
                # the last acked set's stat is a version that existed
                for n in acked:
                    self.assertLessEqual(w.sets[n][1].version, st.version)

        ref = self.assert_converged(survivors, root)
        check(ref, "survivors")
        cl.start_one(victim)
        cl.wait_ready(timeout=60)
        ref3 = self.assert_converged([0, 1, 2], root)
        self.assertEqual(ref3, ref)
        check(ref3, "all three")

    # -- b ---------------------------------------------------------------------
    def test_b_kill_all_and_restart(self):
        cl = self.cl
        root = "/persist"
        z = self.c(cl.connect_string([0]))
        expect, ncreated = self.bulk_write(z, root, 600)
        z.create(root + "/acl", b"a", acl=[make_digest_acl("u", "p", all=True)])
        z.create(root + "/seq-", sequence=True)
        # a session that stays alive through the outage
        holder = self.c(cl.connect_string(), timeout=20.0)
        sid = holder.client_id[0]
        holder.create(root + "/held", b"h", ephemeral=True)
        before = self.assert_converged([0, 1, 2], root)
        cl.kill_all()
        log("all three SIGKILLed")
        t0 = time.time()
        cl.start(timeout=60)
        log("ensemble serving again after %.2fs" % (time.time() - t0))
        after = self.assert_converged([0, 1, 2], root)
        self.assertEqual(after, before, diff_dumps(before, after))
        for p, v in expect.items():
            self.assertEqual(after[p][0], v, p)
        # the live session reconnects and still owns its ephemeral
        wait_for(lambda: holder.connected, 30, what="holder reconnect")
        self.assertEqual(holder.client_id[0], sid)
        self.assertEqual(holder.exists(root + "/held").ephemeralOwner, sid)
        # new writes continue the zxid sequence
        st = holder.create(root + "/new", include_data=True)[1]
        self.assertGreater(st.czxid, max(s.mzxid for _, s in before.values()))
        # the parent's sequence counter survived too: it counts every child
        # ever created (bulk, acl, seq-, held, new)
        self.assertEqual(holder.create(root + "/seq-", sequence=True),
                         root + "/seq-%010d" % (ncreated + 4))
        holder.stop()
        z2 = self.c(cl.connect_string([1]))
        z2.sync(root)
        self.assertIsNone(z2.exists(root + "/held"))

    # -- c ---------------------------------------------------------------------
    def test_c_lagging_member_catches_up(self):
        cl = self.cl
        root = "/bulk"
        lag = cl.followers()[0]
        others = [i for i in range(3) if i != lag]
        z = self.c(cl.connect_string([others[0]]))
        z.create("/before", b"x")
        cl.kill(lag)
        log("member %d down; writing %d" % (lag, WRITES))
        t0 = time.time()
        expect, _ = self.bulk_write(z, root, WRITES)
        log("%d writes (+sets/deletes/multis) in %.1fs" % (WRITES, time.time() - t0))
        z.delete("/before")
        t0 = time.time()
        cl.start_one(lag)
        cl.wait_ready(timeout=90)
        log("member %d back in %.2fs" % (lag, time.time() - t0))
        ref = self.assert_converged([lag] + others, root)
        self.assertEqual({p: v[0] for p, v in ref.items()}, expect)
        zl = self.c(cl.connect_string([lag]))
        zl.sync("/")
        self.assertIsNone(zl.exists("/before"))
        # the caught-up member now carries the quorum with one other
        ldr = cl.leader()
        victim = ldr if ldr != lag else others[0]
        cl.kill(victim)
        rest = [i for i in range(3) if i != victim]
        cl.wait_ready(members=rest, timeout=60)
        retry(lambda: zl.create(root + "/after-kill", b"ok"))   # zl only knows lag
        ref2 = self.assert_converged(rest, root)
        self.assertEqual(ref2[root + "/after-kill"][0], b"ok")
        cl.start_one(victim)
        cl.wait_ready(timeout=90)
        self.assert_converged([0, 1, 2], root)

    # -- d ---------------------------------------------------------------------
    @unittest.skipIf(IMPL != "zabd", "torn-tail test is for zabd's log.<16 hex> files only")
    def test_d_torn_log_tail(self):
        cl = self.cl
        root = "/torn"
        z = self.c(cl.connect_string())
        z.create(root)
        for t in range(2):
            z.create("%s/k%d" % (root, t), b"0")
        victim = cl.followers()[0]
        writers = [Writer(cl.connect_string([i for i in range(3) if i != victim]), root, t)
                   for t in range(2)]
        self.clients += [w.zk for w in writers]
        for w in writers:
            w.start()
        time.sleep(1.5)
        cl.kill(victim)
        logs = [f for f in glob.glob(os.path.join(cl.data_dir(victim), "**", "log.*"), recursive=True)
                if re.match(r"^log\.[0-9a-f]{16}$", os.path.basename(f))]
        self.assertTrue(logs, "no log.<16 hex> file in %s" % cl.data_dir(victim))
        newest = max(logs, key=lambda f: int(os.path.basename(f)[4:], 16))
        size = os.path.getsize(newest)
        cut = random.Random(size).randint(1, 13)
        self.assertGreater(size, cut)
        with open(newest, "r+b") as f:
            f.truncate(size - cut)
        log("member %d killed; cut %d of %d bytes off %s" % (victim, cut, size, newest))
        time.sleep(1.0)
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(30)
        cl.start_one(victim)
        cl.wait_ready(timeout=90)
        ref = self.assert_converged([victim] + [i for i in range(3) if i != victim], root)
        for w in writers:
            for n, (outcome, res) in w.creates.items():
                if outcome == "ack":
                    self.assertIn(res, ref, "acknowledged create %s lost" % res)


class ReadOnly(ClusterCase):
    """readonlymode.enabled.  ZooKeeper (3.7 on, ZOOKEEPER-3863) gives
    read-only sessions only as local sessions and refuses to reattach a
    global session in read-only mode, so the reference runs with
    localSessionsEnabled=true and test f (a global session carried through
    the partition, what Kazoo's own test_read_only expects, and what
    ZooKeeper up to 3.6 did) is zabd's alone."""

    def setUp(self):
        # ZooKeeper reads the switch only as a Java system property.
        self.cl = new_cluster(3, "readonly", extra_cfg=["readonlymode.enabled=true",
                                                       "localSessionsEnabled=true"],
                              java_opts=["-Dreadonlymode.enabled=true"])
        self.cl.start(timeout=90)
        self.clients = []


    def wait_state(self, z, state, timeout=30):
        wait_for(lambda: z.client_state == state, timeout,
                 what="client state %s" % state)

    def lose_quorum(self):
        t0 = time.time()
        self.cl.kill(1)
        self.cl.kill(2)
        wait_for(lambda: self.cl.four_letter(0, "isro").strip() == "ro", 30,
                 what="member 0 read-only")
        log("member 0 read-only %.1fs after losing the quorum" % (time.time() - t0))
        self.assertEqual(self.cl.mode(0), "read-only")

    def assert_read_only(self, z, kid):
        self.assertEqual(z.client_state, KeeperState.CONNECTED_RO)
        self.assertEqual(z.get("/ro")[0], b"before")
        self.assertEqual(z.get_children("/ro"), [kid])

        def multi():
            t = z.transaction()
            t.create("/ro/y")
            return t.commit()
        for op in (lambda: z.create("/ro/x"), lambda: z.set("/ro", b"x"),
                   lambda: z.delete("/ro/" + kid), lambda: z.sync("/ro"), multi):
            with self.assertRaises(NotReadOnlyCallError):
                op()
        self.assertEqual(z.get("/ro")[0], b"before")

    def test_e_read_only_mode(self):
        cl = self.cl
        w = self.c(cl.connect_string([0]))
        w.create("/ro", b"before")
        w.create("/ro/kid", b"k")   # (a local session has no ephemerals)
        self.lose_quorum()
        # a read-only session on the survivor: reads, no writes, no sync
        z = self.c(cl.connect_string([0]), read_only=True)
        self.wait_state(z, KeeperState.CONNECTED_RO)
        self.assert_read_only(z, "kid")
        # a read-write client is refused there
        z3 = client(cl.connect_string([0]), start=False)
        self.clients.append(z3)
        with self.assertRaises(Exception):
            z3.start(timeout=4)
        close(z, z3)
        # the quorum comes back: read-write service, the data intact
        cl.start_one(1)
        cl.start_one(2)
        cl.wait_ready(timeout=90)
        z = self.c(cl.connect_string([0]))
        self.assertEqual(z.get("/ro")[0], b"before")
        z.create("/ro/after", b"a")
        self.assertEqual(z.get("/ro/after")[0], b"a")

    @unittest.skipIf(IMPL == "zookeeper", "ZooKeeper 3.7+ refuses global sessions in "
                     "read-only mode (ZOOKEEPER-3863)")
    def test_f_read_only_keeps_global_session(self):
        cl = self.cl
        z = self.c(cl.connect_string(), read_only=True)
        z.create("/ro", b"before")
        z.create("/ro/eph", b"e", ephemeral=True)
        session = z.client_id[0]
        self.assertEqual(z.client_state, KeeperState.CONNECTED)
        self.lose_quorum()
        self.wait_state(z, KeeperState.CONNECTED_RO)
        self.assertEqual(z.client_id[0], session)
        self.assertEqual(z.exists("/ro/eph").ephemeralOwner, session)
        self.assert_read_only(z, "eph")
        # the quorum comes back: the same session, read-write again
        cl.start_one(1)
        cl.start_one(2)
        cl.wait_ready(timeout=90)
        self.wait_state(z, KeeperState.CONNECTED, timeout=60)
        self.assertEqual(z.client_id[0], session)
        self.assertEqual(z.exists("/ro/eph").ephemeralOwner, session)
        z.create("/ro/after", b"a")
        self.assertEqual(z.get("/ro/after")[0], b"a")


SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="   # super:test


@unittest.skipIf(IMPL == "zookeeper", "zabd's observer reconfiguration; "
                 "ZooKeeper's needs dynamic configuration files")
class Reconfig(ClusterCase):

    def setUp(self):
        self.cl = new_cluster(4, "reconfig", observers=1,
                              extra_cfg=["reconfigEnabled=true",
                                         "DigestAuthenticationProvider.superDigest=" +
                                         SUPER_DIGEST])
        # The three voters do not know the fourth server: it joins by
        # reconfig.  Its own zoo.cfg names the voters and itself.
        for i in range(3):
            path = self.cl.cfg_path(i)
            with open(path) as f:
                lines = [l for l in f if not l.startswith("server.4=")]
            with open(path, "w") as f:
                f.writelines(lines)
        self.clients = []


    def config(self, z):
        z.sync("/zookeeper/config")
        data = z.get("/zookeeper/config")[0].decode()
        return data, int(data.strip().split("\n")[-1].split("=")[1], 16)

    def test_g_observer_joins_and_leaves(self):
        cl = self.cl
        for i in range(3):
            cl.start_one(i)
        cl.wait_ready(members=[0, 1, 2], timeout=90)
        cl.start_one(3)
        adm = self.c(cl.connect_string([0, 1, 2]),
                     auth_data=[("digest", "super:test")])
        adm.create("/rc", b"before")
        time.sleep(1.5)
        self.assertNotEqual(cl.mode(3), "observer", "an unknown server joined")
        data, version = self.config(adm)
        self.assertEqual(version, 0)
        self.assertNotIn("server.4=", data)

        joining = "server.4=127.0.0.1:%d:%d:observer;127.0.0.1:%d" % (
            cl.quorum_port(3), cl.election_port(3), cl.client_port(3))
        data, stat = adm.reconfig(joining=joining, leaving=None, new_members=None)
        data = data.decode()
        self.assertIn(joining, data)
        version = int(data.strip().split("\n")[-1].split("=")[1], 16)
        self.assertEqual(version, stat.mzxid)
        cl.wait_ready(members=[0, 1, 2, 3], timeout=60)
        self.assertEqual(cl.mode(3), "observer")
        z4 = self.c(cl.connect_string([3]))
        self.assertEqual(z4.get("/rc")[0], b"before")
        z4.create("/rc/via-observer", b"x")
        self.assertEqual(adm.get("/rc/via-observer")[0], b"x")
        self.assertEqual(self.config(z4), (data, version))

        # The membership is replicated state: it survives restarts.
        leader = cl.leader()
        cl.restart(leader, hard=True, wait=False)
        cl.restart(3, hard=True, wait=False)
        cl.wait_ready(members=[0, 1, 2, 3], timeout=90)
        self.assertEqual(cl.mode(3), "observer")
        self.assertEqual(self.config(adm), (data, version))
        wait_for(lambda: retry(lambda: z4.exists("/rc/via-observer")), 30,
                 what="the observer's client back")

        # A stale version, a voter change and bad syntax are refused.
        from kazoo.exceptions import (BadVersionError, BadArgumentsError,
                                      UnimplementedError)
        with self.assertRaises(BadVersionError):
            adm.reconfig(joining=None, leaving="4", new_members=None,
                         from_config=version + 1)
        with self.assertRaises(UnimplementedError):
            adm.reconfig(joining=None, leaving="1", new_members=None)
        with self.assertRaises(BadArgumentsError):
            adm.reconfig(joining="server.5", leaving=None, new_members=None)
        self.assertEqual(self.config(adm), (data, version))

        # Removed: the observer is cut off, the voters go on.
        data2, _ = adm.reconfig(joining=None, leaving="4", new_members=None,
                                from_config=version)
        self.assertNotIn("server.4=", data2.decode())
        wait_for(lambda: cl.mode(3) != "observer", 30,
                 what="the removed observer to stop serving")
        adm.create("/rc/after", b"y")
        for i in range(3):
            z = self.c(cl.connect_string([i]))
            z.sync("/rc")
            self.assertEqual(z.get("/rc/after")[0], b"y")
            close(z)


    def test_h_zkcli_reconfig(self):
        """The operator's tool: zkCli's config and reconfig -add/-remove."""
        zkcli = "/usr/share/zookeeper/bin/zkCli.sh"
        if not os.access(zkcli, os.X_OK):
            self.skipTest("zkCli.sh missing")
        cl = self.cl
        for i in range(3):
            cl.start_one(i)
        cl.wait_ready(members=[0, 1, 2], timeout=90)
        cl.start_one(3)
        joining = "server.4=127.0.0.1:%d:%d:observer;127.0.0.1:%d" % (
            cl.quorum_port(3), cl.election_port(3), cl.client_port(3))

        def zkcli_script(*lines):
            env = dict(os.environ, CLIENT_JVMFLAGS="-XX:TieredStopAtLevel=1 -Xmx128m")
            r = subprocess.run([zkcli, "-server", cl.connect_string([0])],
                               input="\n".join(lines + ("quit", "")),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, timeout=90)
            return r.stdout
        out = zkcli_script("reconfig -add %s" % joining)
        self.assertIn("Insufficient permission", out)   # not the super user
        out = zkcli_script("addauth digest super:test", "reconfig -add %s" % joining,
                           "config")
        self.assertIn("Committed new configuration:\n", out)
        self.assertEqual(out.count(joining + "\n"), 2, out)
        cl.wait_ready(members=[0, 1, 2, 3], timeout=60)
        self.assertEqual(cl.mode(3), "observer")
        out = zkcli_script("addauth digest super:test", "reconfig -remove 4")
        self.assertIn("Committed new configuration:\n", out)
        wait_for(lambda: cl.mode(3) != "observer", 30,
                 what="the removed observer to stop serving")


def retry(f, timeout=30):
    """f() until it does not fail with a connection loss."""
    deadline = time.time() + timeout
    while True:
        try:
            return f()
        except UNKNOWN:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


if __name__ == "__main__":
    main()
