#!/usr/bin/python3
"""A three-voter libzab ensemble inside one Python process, through the
ctypes binding (zab.py).

Everything is deterministic: an in-memory transport (one FIFO queue per
directed link, drained by a scheduler loop with a seeded random number of
frames per link and step), an in-memory disk per node whose log writes are
made durable in groups at the start of the next scheduler step (group
commit through zab_persisted, one confirmation for many tokens) and whose
epoch file is written and confirmed from inside save_epochs, and virtual
time (the scheduler jumps to the earliest zab_next_deadline when nothing is
in flight).

The story:
  0. API errors surface as ZabError: bad options, a bad config, propose and
     read_barrier with no leader (ENOTLEADER), start twice (ESTATE), an
     unknown peer, an unknown token (EINVAL), a garbage frame (EPROTO);
     calls that drive the node from a callback (ESTATE); an exception in a
     callback re-raised from the outer call.
  1. Election; 100 transactions proposed from the leader and a follower,
     with a connection reset half-way; a read barrier on a follower; the
     three delivered sequences agree.
  2. The leader logs 3 proposals durably that no one else receives, and
     crashes.  The others elect a new leader and commit 20 more.  The old
     leader restarts from its disk (its epochs, last zxid, and the zxid its
     durable state reflects); it is synchronised by TRUNC, catches up, and
     the 3 lost proposals are delivered nowhere.
  3. The new leader crashes too, with a volatile state (restarted with
     delivered_zxid 0); 160 transactions are committed without it, more
     than diff_max (150), so it is synchronised by SNAP (snapshot_get on the leader,
     snapshot_put in chunks on the learner).  All sequences agree.

Run: /usr/bin/python3 examples/python/test_zab.py [-v] [--seed N]
Exit status 0 when everything passed.
"""

import bisect
import collections
import gc
import os
import random
import struct
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zab  # noqa: E402

IDS = (1, 2, 3)
OPTIONS = {
    "election_timeout_ms": 100,
    "election_finalize_ms": 20,
    "heartbeat_ms": 100,
    "peer_timeout_ms": 1000,
    "sync_timeout_ms": 2000,
    "diff_max": 150,            # phase 2 TRUNCs, phase 3 needs SNAP
    "max_payload_bytes": 256,   # snapshots come in many chunks
}
VERBOSE = "-v" in sys.argv


class TestFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def expect_error(code, fn, *args):
    try:
        fn(*args)
    except zab.ZabError as e:
        check(e.code == code, "expected %s, got %s" % (zab.err_name(code), e))
        return e
    raise TestFailure("expected %s from %s" % (zab.err_name(code),
                                               getattr(fn, "__name__", fn)))


# ---------------------------------------------------------------------------
# Snapshots of the host's state: a list of (zxid, payload).

def encode_state(state):
    return b"".join(struct.pack(">QI", z, len(d)) + d for z, d in state)


def decode_state(blob):
    out, at = [], 0
    while at < len(blob):
        z, n = struct.unpack_from(">QI", blob, at)
        at += 12
        out.append((z, blob[at:at + n]))
        at += n
    return out


# ---------------------------------------------------------------------------
# The disk: what survives a crash, i.e. only what was confirmed durable.

class Disk:
    def __init__(self):
        self.log = []            # [(zxid, data)], durable
        self.log_start = 0       # the log starts after this zxid
        self.epochs = (0, 0)
        self.state = []          # the host's state, if it keeps it durable
        self.applied = 0         # the zxid that state reflects


# ---------------------------------------------------------------------------
# One run of one node: the host object whose methods are libzab's callbacks.

class Host:
    def __init__(self, cluster, nid, disk, durable_state):
        self.cluster, self.id, self.disk = cluster, nid, disk
        self.durable_state = durable_state
        # Recovery: the host reads its disk.
        self.log = list(disk.log)
        self.zxids = [z for z, _ in self.log]
        self.log_start = disk.log_start
        self.epochs = disk.epochs
        if durable_state:
            self.state, self.applied = list(disk.state), disk.applied
        else:
            self.state, self.applied = [], 0
        self.node = None
        self.unsynced = 0          # newest log-stream token not yet synced
        self.tokens = 0            # log-stream tokens issued
        self.confirms = 0          # zab_persisted calls for them
        self.run = []              # zxids delivered in this run
        self.roles = []
        self.barriers = {}
        self.snap_parts = []
        self.snapshots_installed = 0
        self.snapshots_given = 0
        self.estate_checked = False

    # -- recovery values for zab_start
    def last_zxid(self):
        return self.zxids[-1] if self.zxids else self.log_start

    # -- group commit, once per scheduler step
    def sync(self):
        if self.unsynced:
            token, self.unsynced = self.unsynced, 0
            d = self.disk
            d.log, d.log_start = list(self.log), self.log_start
            self.confirms += 1
            self.node.persisted(token)   # deliveries happen in here
        if self.durable_state:
            self.disk.state, self.disk.applied = list(self.state), self.applied

    # -- callbacks
    def send(self, peer, frame):
        q = self.cluster.links.get((self.id, peer))
        if q is None:
            return -1
        q.append(frame)
        return 0

    def log_append(self, zxid, data, token):
        if self.zxids and zxid <= self.zxids[-1]:
            raise TestFailure("node %d: append %s not after %s" % (
                self.id, zab.zxid_str(zxid), zab.zxid_str(self.zxids[-1])))
        self.log.append((zxid, data))
        self.zxids.append(zxid)
        self.unsynced = token
        self.tokens += 1
        return 0

    def log_truncate(self, zxid, token):
        i = bisect.bisect_right(self.zxids, zxid)
        check(not any(z <= self.applied for z in self.zxids[i:]),
              "node %d: truncating delivered entries" % self.id)
        del self.log[i:], self.zxids[i:]
        self.unsynced = token
        self.tokens += 1
        self.cluster.truncations += 1

    def log_read(self, after):
        if after < self.log_start:
            raise zab.ZabError(zab.ERANGE)    # compacted: a deliberate code
        i = bisect.bisect_right(self.zxids, after)
        if i == len(self.log):
            return None
        z, d = self.log[i]
        # A fresh copy that nothing else holds: keeping it alive for as long
        # as libzab may read it is the binding's job (see zab.py).
        return z, bytes(bytearray(d))

    def save_epochs(self, accepted, current, token):
        # A synchronous epoch file: written and confirmed at once, from
        # inside the callback (the one libzab call allowed there).
        self.epochs = self.disk.epochs = (accepted, current)
        self.node.persisted(token)

    def snapshot_get(self, min_zxid):
        if self.applied < min_zxid:
            return None
        self.snapshots_given += 1
        return self.applied, encode_state(self.state)

    def snapshot_put(self, zxid, offset, total, chunk, token):
        if offset == 0:
            self.snap_parts = []
        check(offset == sum(len(p) for p in self.snap_parts),
              "snapshot chunk out of order")
        self.snap_parts.append(chunk)
        if token:
            blob = b"".join(self.snap_parts)
            check(len(blob) == total, "snapshot size")
            self.state = decode_state(blob)
            self.applied = zxid
            check(not self.state or self.state[-1][0] <= zxid, "snapshot zxid")
            self.log, self.zxids, self.log_start = [], [], zxid
            self.unsynced = token
            self.tokens += 1
            self.snapshots_installed += 1
            self.snap_parts = []

    def deliver(self, zxid, data):
        check(zxid > self.applied, "node %d: delivered %s after %s"
              % (self.id, zab.zxid_str(zxid), zab.zxid_str(self.applied)))
        check(dict(self.disk.log).get(zxid) == data,
              "node %d: delivered %s, not durable in its log"
              % (self.id, zab.zxid_str(zxid)))
        self.state.append((zxid, data))
        self.applied = zxid
        self.run.append(zxid)
        if not self.estate_checked:
            # Driving the node from a callback is refused.
            self.estate_checked = True
            expect_error(zab.ESTATE, self.node.propose, b"from deliver")
            expect_error(zab.ESTATE, self.node.tick, self.cluster.now)
            expect_error(zab.ESTATE, self.node.close)
            self.cluster.estate_checks += 1

    def role_change(self, role, leader, epoch, serving):
        self.roles.append((role, leader, epoch, serving))
        if VERBOSE:
            print("  [%6d] node %d: %s leader=%d epoch=%d serving=%d"
                  % (self.cluster.now, self.id, zab.role_name(role), leader,
                     epoch, serving))

    def barrier_done(self, cookie, status):
        self.barriers[cookie] = status

    def trace(self, level, line):
        if VERBOSE and level == 0:
            print("  [%6d] node %d: %s" % (self.cluster.now, self.id, line))


# ---------------------------------------------------------------------------
# The ensemble, the transport and the scheduler.

class Cluster:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.now = 1000
        self.steps = 0
        self.disks = {i: Disk() for i in IDS}
        self.hosts = {}
        self.links = {}          # (src, dst) -> deque of frames
        self.truncations = 0
        self.estate_checks = 0
        self.frames = 0
        self.all_hosts = []

    def config(self, nid):
        return zab.Config(id=nid, voters=IDS, **OPTIONS)

    def boot(self, nid, durable_state=True):
        h = Host(self, nid, self.disks[nid], durable_state)
        cfg = self.config(nid)
        h.node = zab.Node(cfg, h)
        cfg.close()                  # zab_new copied it
        gc.collect()                 # the callbacks must survive this
        self.hosts[nid] = h
        self.all_hosts.append(h)
        for p in self.hosts:
            if p != nid:
                self.connect(nid, p)
        acc, cur = h.epochs
        h.node.start(acc, cur, h.last_zxid(), h.applied, self.now)
        return h

    def connect(self, a, b):
        self.links[(a, b)] = collections.deque()
        self.links[(b, a)] = collections.deque()
        self.hosts[a].node.peer_up(b)
        self.hosts[b].node.peer_up(a)

    def disconnect(self, a, b):
        """The connection between a and b breaks: frames in flight are
        lost and both ends hear of it."""
        self.links.pop((a, b), None)
        self.links.pop((b, a), None)
        for x, y in ((a, b), (b, a)):
            if x in self.hosts:
                self.hosts[x].node.peer_down(y)

    def crash(self, nid):
        h = self.hosts.pop(nid)
        for p in list(self.hosts):
            self.disconnect(nid, p)
        h.node.close()               # its memory is gone, its disk stays
        return h

    def busy(self):
        return (any(self.links.values()) or
                any(h.unsynced for h in self.hosts.values()))

    def step(self):
        self.steps += 1
        for h in list(self.hosts.values()):
            h.sync()
        for key in sorted(self.links):
            for _ in range(self.rng.randint(1, 4)):
                q = self.links.get(key)
                if not q:
                    break
                frame = q.popleft()
                src, dst = key
                node = self.hosts[dst].node
                check(node.frame_size(frame[:zab.FRAME_HEADER_SIZE])
                      == len(frame), "frame_size disagrees with the frame")
                self.frames += 1
                node.recv(src, frame)
        if self.busy():
            self.now += 1
        else:
            ds = [h.node.next_deadline() for h in self.hosts.values()]
            ds = [d for d in ds if d is not None]
            self.now = max(self.now + 1, min(ds) if ds else self.now + 1)
        for h in list(self.hosts.values()):
            h.node.tick(self.now)

    def run_until(self, pred, what, max_steps=20000):
        for _ in range(max_steps):
            if pred():
                return
            self.step()
        raise TestFailure("timed out waiting for " + what + "\n" + self.dump())

    def dump(self):
        return "\n".join(
            "  node %d: %s leader=%d serving=%d last=%s delivered=%s" % (
                h.id, zab.role_name(h.node.role), h.node.leader,
                h.node.serving, zab.zxid_str(h.node.stat("last_zxid")),
                zab.zxid_str(h.applied))
            for h in self.hosts.values())

    # -- views
    def leader(self):
        """The serving leader that every live node follows, or None."""
        ls = [h for h in self.hosts.values()
              if h.node.role == zab.LEADING and h.node.serving]
        if len(ls) != 1:
            return None
        lid = ls[0].id
        if all(h.node.serving and h.node.leader == lid
               for h in self.hosts.values()):
            return ls[0]
        return None

    def payloads(self, h):
        return [d for _, d in h.state]


# ---------------------------------------------------------------------------
# The workload: payloads tagged with their origin and a sequence number.

class Workload:
    def __init__(self, cluster):
        self.c = cluster
        self.seq = 0
        self.submitted = []      # payloads zab_propose accepted
        self.forwarded = 0

    def propose(self, n, origins):
        """Proposes n transactions, round-robin over `origins` (callables
        returning a host), a few per scheduler step; a node that is not
        serving at the moment passes its turn to the leader."""
        done, turn = 0, 0
        while done < n:
            for _ in range(3):
                if done == n:
                    break
                h = origins[turn % len(origins)]()
                turn += 1
                if h is None or not h.node.serving:
                    h = self.c.leader()
                if h is None:
                    break
                self.seq += 1
                payload = b"n%d-tx%04d" % (h.id, self.seq)
                try:
                    z = h.node.propose(payload)
                except zab.ZabError as e:
                    if e.code in (zab.ENOTLEADER, zab.EBUSY):
                        self.seq -= 1
                        break
                    raise
                if z == 0:
                    self.forwarded += 1
                self.submitted.append(payload)
                done += 1
            self.c.step()

    def wait_delivered(self, what):
        want = set(self.submitted)
        self.c.run_until(
            lambda: all(want <= set(self.c.payloads(h))
                        for h in self.c.hosts.values()),
            what)


def check_agreement(cluster, work, n_expected, forbidden=()):
    states = [h.state for h in cluster.hosts.values()]
    first = states[0]
    for h in cluster.hosts.values():
        check(h.state == first, "node %d's delivered sequence differs" % h.id)
    payloads = [d for _, d in first]
    check(len(payloads) == n_expected,
          "%d delivered, %d expected" % (len(payloads), n_expected))
    check(len(set(payloads)) == len(payloads), "a transaction delivered twice")
    check(set(payloads) == set(work.submitted), "delivered != submitted")
    zx = [z for z, _ in first]
    check(zx == sorted(zx) and len(set(zx)) == len(zx), "zxids not in order")
    for bad in forbidden:
        check(bad not in payloads, "an unacknowledged proposal was delivered")
    # The transactions of each origin are delivered in the order proposed.
    by_origin = collections.defaultdict(list)
    for p in payloads:
        by_origin[p.split(b"-")[0]].append(p)
    for seqs in by_origin.values():
        check(seqs == sorted(seqs), "an origin's transactions out of order")
    # Within each run of each node, deliveries are in increasing zxid order.
    for h in cluster.all_hosts:
        check(h.run == sorted(set(h.run)), "node %d: run out of order" % h.id)


# ---------------------------------------------------------------------------

class MinimalHost:
    """A single-voter host with a synchronous disk."""

    def __init__(self):
        self.log, self.out, self.fail_deliver = [], [], False

    def send(self, peer, frame):
        return -1

    def log_append(self, zxid, data, token):
        self.log.append((zxid, data))
        self.node.persisted(token)

    def log_truncate(self, zxid, token):
        self.log = [e for e in self.log if e[0] <= zxid]
        self.node.persisted(token)

    def log_read(self, after):
        return next((e for e in self.log if e[0] > after), None)

    def save_epochs(self, accepted, current, token):
        self.node.persisted(token)

    def deliver(self, zxid, data):
        if self.fail_deliver:
            self.fail_deliver = False
            raise RuntimeError("host bug in deliver")
        self.out.append(data)


def phase0_api_errors():
    # Options: unknown name, unknown number, out of range.
    cfg = zab.Config()
    expect_error(zab.ENOENT, cfg.set, "no_such_option", 1)
    expect_error(zab.EINVAL, cfg.set, 999, 1)
    expect_error(zab.EINVAL, cfg.set, "heartbeat_ms", 0)
    expect_error(zab.EINVAL, cfg.set, zab.OPT_MAX_OUTSTANDING, -1)
    cfg.set(zab.OPT_HEARTBEAT_MS, 250)
    check(cfg.get("heartbeat_ms") == 250, "config get/set")
    check(cfg.get("diff_max") == 100000, "default diff_max")
    expect_error(zab.EINVAL, cfg.add_voter, 0)
    cfg.set_id(9).add_voter(1).add_voter(2).add_voter(3)
    expect_error(zab.EINVAL, cfg.add_voter, 2)
    # The node's id must be a member.
    e = expect_error(zab.EINVAL, zab.Node, cfg, MinimalHost())
    check(e.name == "ZAB_EINVAL" and e.message == "invalid argument"
          and e.call == "zab_new", "ZabError fields: %r" % (e,))
    cfg.close()
    try:
        zab.Node(zab.Config(id=1, voters=[1]), object())
        raise TestFailure("a host without callbacks was accepted")
    except TypeError:
        pass

    # A single voter: an exception in a callback comes out of the call that
    # fired it, and the node carries on.
    h = MinimalHost()
    h.node = zab.Node(zab.Config(id=1, voters=[1]), h)
    gc.collect()
    expect_error(zab.ENOTLEADER, h.node.propose, b"too early")
    h.node.start(0, 0, 0, 0, 0)
    expect_error(zab.ESTATE, h.node.start)
    t = 0
    while not h.node.serving:
        t = h.node.next_deadline()
        h.node.tick(t)
    check(h.node.propose(b"one") == zab.zxid(1, 1), "single voter zxid")
    h.fail_deliver = True
    try:
        h.node.propose(b"two")
        raise TestFailure("the exception in deliver was lost")
    except RuntimeError:
        pass
    h.node.propose(b"three")
    check(h.out == [b"one", b"three"], "single voter deliveries %r" % h.out)
    done = []
    h.barrier_done = lambda c, s: done.append((c, s))   # too late: copied
    h.node.read_barrier(7)     # barrier_done was NULL in the table: no call
    check(done == [], "a callback added after zab_new was called")
    h.node.close()


def main():
    seed = 1
    if "--seed" in sys.argv:
        seed = int(sys.argv[sys.argv.index("--seed") + 1])
    t0 = time.monotonic()
    phase0_api_errors()

    c = Cluster(seed)
    for nid in IDS:
        c.boot(nid)
    n1 = c.hosts[1].node
    expect_error(zab.ENOTLEADER, n1.propose, b"no leader yet")
    expect_error(zab.ENOTLEADER, n1.read_barrier, 1)
    expect_error(zab.ESTATE, n1.start)
    expect_error(zab.EINVAL, n1.recv, 99, b"\0" * 8)
    expect_error(zab.EINVAL, n1.persisted, 123456789)
    expect_error(zab.EPROTO, n1.recv, 2, b"\0\0\0\x0c\x01\xee\0\0garb")
    c.disconnect(1, 2)          # the stream lost its framing: reconnect
    c.connect(1, 2)
    check(zab.frame_kind(b"junk") is None, "frame_kind of junk")

    # Phase 1: election, 100 transactions, all agree.
    c.run_until(lambda: c.leader() is not None, "a leader")
    l1 = c.leader()
    followers = [h for h in c.hosts.values() if h is not l1]
    print("phase 1: node %d leads epoch %d" % (l1.id,
                                                l1.node.stat("current_epoch")))
    w = Workload(c)
    f0, f1 = followers[0].id, followers[1].id
    w.propose(50, [lambda: c.hosts[l1.id], lambda: c.hosts[f0]])
    c.disconnect(f1, l1.id)      # a connection reset mid-run
    c.connect(f1, l1.id)
    w.propose(50, [lambda: c.hosts[f1], lambda: c.hosts[l1.id]])
    w.wait_delivered("100 transactions")
    c.hosts[f0].node.read_barrier(42)
    c.run_until(lambda: c.hosts[f0].barriers.get(42) == 0, "a read barrier")
    check_agreement(c, w, 100)
    print("phase 1: 100 transactions (%d forwarded by followers) delivered "
          "identically by 3 nodes" % w.forwarded)

    # Phase 2: the leader logs three proposals no one else gets, crashes.
    doomed = [b"doomed-%d" % i for i in range(3)]
    for d in doomed:
        l1.node.propose(d)
    l1.sync()                    # durable on its disk only
    c.crash(l1.id)
    c.run_until(lambda: c.leader() is not None, "a new leader")
    l2 = c.leader()
    other = [h for h in c.hosts.values() if h is not l2][0]
    print("phase 2: node %d crashed; node %d leads epoch %d"
          % (l1.id, l2.id, l2.node.stat("current_epoch")))
    w.propose(20, [lambda: c.hosts[l2.id], lambda: c.hosts[other.id]])
    w.wait_delivered("20 transactions without the old leader")
    d1 = c.disks[l1.id]
    check(d1.log[-1][1] == doomed[-1], "the doomed proposals are on disk")
    l1b = c.boot(l1.id, durable_state=True)
    check(l1b.applied > 0, "restarted with a delivered zxid")
    c.run_until(lambda: c.leader() is not None and l1b.node.serving,
                "the old leader to rejoin")
    w.wait_delivered("the old leader to catch up")
    check_agreement(c, w, 120, doomed)
    st = c.hosts[l2.id].node.stats()
    check(st["sync_trunc"] >= 1, "no TRUNC sync: %r %d" % ({k: v for k, v in st.items() if k.startswith("sync")}, c.truncations))
    check(c.truncations >= 1, "no log_truncate")
    print("phase 2: node %d restarted from its disk (delivered %s), TRUNC'd "
          "its 3 lost proposals, caught up: 120 agree"
          % (l1.id, zab.zxid_str(d1.applied)))

    # Phase 3: the second leader crashes; more than diff_max behind, it
    # comes back by SNAP, with a volatile state (delivered_zxid 0).
    l2_id = l2.id
    c.crash(l2_id)
    c.run_until(lambda: c.leader() is not None, "a third leader")
    l3 = c.leader()
    other = [h for h in c.hosts.values() if h is not l3][0]
    w.propose(160, [lambda: c.hosts[other.id], lambda: c.hosts[l3.id]])
    w.wait_delivered("160 transactions without the second leader")
    l2b = c.boot(l2_id, durable_state=False)
    c.run_until(lambda: c.leader() is not None and l2b.node.serving,
                "the second leader to rejoin")
    w.wait_delivered("the second leader to catch up")
    check_agreement(c, w, 280, doomed)
    check(l3.node.stat("sync_snap") >= 1 and l3.snapshots_given >= 1,
          "no SNAP sync")
    check(l2b.snapshots_installed == 1, "no snapshot installed")
    print("phase 3: node %d crashed; node %d leads epoch %d; node %d "
          "restarted with no state, SNAP'd, caught up: 280 agree"
          % (l2_id, l3.id, l3.node.stat("current_epoch"), l2_id))

    # Group commit happened: fewer confirmations than log tokens.
    tokens = sum(h.tokens for h in c.all_hosts)
    confirms = sum(h.confirms for h in c.all_hosts)
    check(confirms < tokens, "no group commit")
    check(c.estate_checks >= 1, "ESTATE from a callback not checked")
    for h in c.hosts.values():
        st = h.node.stats()
        check(st["send_errors"] == 0 and st["msgs_malformed"] <= 1,
              "node %d: stats %r" % (h.id, st))
    for h in list(c.hosts.values()):
        h.node.close()
    print("ok: %d steps, %d frames, %d virtual ms, %d log writes confirmed "
          "by %d zab_persisted calls, %.2f s"
          % (c.steps, c.frames, c.now - 1000, tokens, confirms,
             time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
