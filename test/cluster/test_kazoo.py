#!/usr/bin/python3
"""Real-client tests with Kazoo (and zkproto's raw client for what Kazoo
2.8 lacks) against a standalone server and a 3-member ensemble.

    /usr/bin/python3 test/cluster/test_kazoo.py [-v] [Class[.test]]
    ZK_IMPL=zabd ZABD=build/zabd /usr/bin/python3 test/cluster/test_kazoo.py

Every assertion states what Apache ZooKeeper 3.8 does (the reference);
comments marked "ZK:" explain behaviour a reimplementation must copy.
"""

import os
import queue
import re
import socket
import time
import unittest

import sys
sys.dont_write_bytecode = True   # keep the source tree clean

from zktestlib import IMPL, new_cluster, client, close, wait_for, main  # noqa
import zktestlib
import zkproto
from zkproto import RawClient, ZKError, ERR

from kazoo.exceptions import (
    NoNodeError, NodeExistsError, NotEmptyError, BadVersionError,
    NoChildrenForEphemeralsError, NoAuthError, InvalidACLError,
    BadArgumentsError, RolledBackError, RuntimeInconsistency, AuthFailedError,
    KazooException)
from kazoo.protocol.states import KazooState, KeeperState, EventType
from kazoo.security import (ACL, Id, make_digest_acl, make_digest_acl_credential,
                            OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Permissions)

# How long to wait for the server's background deletion of containers and
# TTL nodes (both servers check every 500 ms: znode.container.checkIntervalMs).
CONTAINER_WAIT = float(os.environ.get("ZKC_CONTAINER_WAIT", "15"))


class Events(object):
    """A watch callback that queues events."""

    def __init__(self):
        self.q = queue.Queue()

    def __call__(self, ev):
        self.q.put(ev)

    def get(self, timeout=5.0):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no watch event within %.1fs" % timeout)

    def none(self, wait=0.3):
        try:
            ev = self.q.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError("unexpected watch event %r" % (ev,))


def settle(zk, path="/"):
    """After a sync on `zk`, every event its server sent before has been
    received; give Kazoo's callback thread a moment to dispatch them."""
    zk.sync(path)
    time.sleep(0.15)


class OpsMixin(object):
    """Operations, stats, errors, ACLs, watches, sessions: the same tests
    for a standalone server and for an ensemble (clients on different
    members)."""

    N = None
    cl = None

    @classmethod
    def setUpClass(cls):
        cls.cl = new_cluster(cls.N, cls.__name__)
        cls.cl.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()
        cls.cl.kill_all()

    def setUp(self):
        self.cl.wait_ready(timeout=60)
        live = self.cl.live_members()
        # zk on one member, zk2 on another one when there are several
        self.m1 = live[0]
        self.m2 = live[-1]
        self.zk = client(self.cl.connect_string([self.m1]))
        self.zk2 = client(self.cl.connect_string([self.m2]))
        self.extra = []
        self.raws = []
        self.root = "/t-" + self.id().split(".")[-1]
        self.zk.create(self.root, b"root")
        self.zk2.sync(self.root)

    def tearDown(self):
        for r in self.raws:
            if r.sock is not None:
                r.close()
        close(self.zk, self.zk2, *self.extra)

    def new_client(self, member=None, **kw):
        m = self.m1 if member is None else member
        c = client(self.cl.connect_string([m]), **kw)
        self.extra.append(c)
        return c

    def raw(self, member=None, **kw):
        m = self.m1 if member is None else member
        r = RawClient("127.0.0.1", self.cl.client_port(m), **kw)
        self.raws.append(r)
        return r

    def p(self, *parts):
        return "/".join((self.root,) + parts)

    # -- create / stat ------------------------------------------------------
    def test_create_persistent_and_stat(self):
        zk = self.zk
        now = time.time() * 1000
        path = zk.create(self.p("a"), b"hello")
        self.assertEqual(path, self.p("a"))
        data, st = zk.get(path)
        self.assertEqual(data, b"hello")
        self.assertEqual(st.czxid, st.mzxid)
        self.assertEqual(st.pzxid, st.czxid)        # ZK: pzxid = czxid at birth
        self.assertEqual((st.version, st.cversion, st.aversion), (0, 0, 0))
        self.assertEqual(st.ephemeralOwner, 0)
        self.assertEqual(st.dataLength, 5)
        self.assertEqual(st.numChildren, 0)
        self.assertEqual(st.ctime, st.mtime)
        self.assertLess(abs(st.ctime - now), 120000, "ctime is ms since the epoch")
        self.assertEqual(zk.exists(path), st)
        # the node's zxid is the one the reply header carried
        self.assertGreater(st.czxid, 0)
        # include_data (create2) returns the same stat as exists
        p2, st2 = zk.create(self.p("b"), b"", include_data=True)
        self.assertEqual(p2, self.p("b"))
        self.assertEqual(st2, zk.exists(p2))
        self.assertEqual(st2.dataLength, 0)
        self.assertEqual(zk.get(p2)[0], b"")
        self.assertGreater(st2.czxid, st.czxid)
        # binary data round-trips, up to large sizes
        blob = bytes(range(256)) * 400
        zk.create(self.p("blob"), blob)
        d, s = zk.get(self.p("blob"))
        self.assertEqual(d, blob)
        self.assertEqual(s.dataLength, len(blob))

    def test_parent_stat_on_create_set_delete(self):
        zk = self.zk
        par = self.p("par")
        zk.create(par, b"x")
        st0 = zk.exists(par)
        _, cst = zk.create(self.p("par", "c1"), include_data=True)
        st1 = zk.exists(par)
        self.assertEqual(st1.pzxid, cst.czxid, "parent pzxid = child's czxid")
        self.assertEqual(st1.cversion, 1)
        self.assertEqual(st1.numChildren, 1)
        self.assertEqual(st1.mzxid, st0.mzxid, "a child create does not change mzxid")
        self.assertEqual(st1.mtime, st0.mtime)
        self.assertEqual(st1.version, 0)
        # changing the child's data does not touch the parent
        cst2 = zk.set(self.p("par", "c1"), b"new")
        self.assertEqual(zk.exists(par), st1)
        self.assertEqual(cst2.version, 1)
        self.assertGreater(cst2.mzxid, cst2.czxid)
        self.assertEqual(cst2.czxid, cst.czxid)
        self.assertGreaterEqual(cst2.mtime, cst2.ctime)
        self.assertEqual(cst2.pzxid, cst.czxid, "set does not change pzxid")
        # delete: pzxid = the delete's zxid; ZK reports cversion as
        # 2*creates - numChildren, so a delete also moves cversion by one
        zk.delete(self.p("par", "c1"))
        del_zxid = zk.last_zxid
        st2 = zk.exists(par)
        self.assertEqual(st2.numChildren, 0)
        self.assertEqual(st2.pzxid, del_zxid)
        self.assertGreater(st2.pzxid, cst2.mzxid)
        self.assertEqual(st2.cversion, 2)
        self.assertEqual(st2.mzxid, st0.mzxid)
        # create three, delete one: cversion = 2*4 - 3 = 5
        for k in ("a", "b", "c"):
            zk.create(self.p("par", k))
        zk.delete(self.p("par", "b"))
        st3 = zk.exists(par)
        self.assertEqual((st3.numChildren, st3.cversion), (2, 2 * 4 - 2),
                         "ZK: cversion reported as 2*(creates) - numChildren")

    def test_create_errors(self):
        zk = self.zk
        zk.create(self.p("e"))
        with self.assertRaises(NodeExistsError):
            zk.create(self.p("e"))
        with self.assertRaises(NoNodeError):
            zk.create(self.p("missing", "child"))
        # makepath creates every missing ancestor
        p = zk.create(self.p("m1", "m2", "m3"), b"deep", makepath=True)
        self.assertEqual(p, self.p("m1", "m2", "m3"))
        self.assertEqual(zk.get(p)[0], b"deep")
        self.assertIsNotNone(zk.exists(self.p("m1", "m2")))
        self.assertEqual(zk.get_children(self.p("m1")), ["m2"])
        # an existing node is still an error with makepath
        with self.assertRaises(NodeExistsError):
            zk.create(self.p("m1", "m2", "m3"), makepath=True)
        # "/" and /zookeeper exist
        with self.assertRaises(NodeExistsError):
            zk.create("/zookeeper")

    def test_sequential(self):
        zk = self.zk
        par = self.p("seq")
        zk.create(par)
        a = zk.create(self.p("seq", "n-"), b"0", sequence=True)
        b = zk.create(self.p("seq", "n-"), b"1", sequence=True)
        self.assertEqual(a, self.p("seq", "n-0000000000"))
        self.assertEqual(b, self.p("seq", "n-0000000001"))
        # the suffix counts every create under the parent (sequential or
        # not), deletes do not decrease it
        zk.create(self.p("seq", "plain"))
        zk.delete(a)
        c = zk.create(self.p("seq", "x"), sequence=True)
        self.assertEqual(c, self.p("seq", "x0000000003"))
        st = zk.exists(par)
        self.assertEqual(st.numChildren, 3)
        self.assertEqual(st.cversion, 2 * 4 - 3)
        # an empty prefix ("parent/") is allowed for sequential nodes
        d = zk.create(self.p("seq") + "/", sequence=True)
        self.assertEqual(d, self.p("seq", "0000000004"))
        self.assertTrue(re.match(r"^\d{10}$", d.rsplit("/", 1)[1]))
        self.assertEqual(sorted(zk.get_children(par)),
                         sorted(["n-0000000001", "plain", "x0000000003", "0000000004"]))
        # sequential + include_data
        e, st = zk.create(self.p("seq", "y-"), b"v", sequence=True, include_data=True)
        self.assertEqual(e, self.p("seq", "y-0000000005"))
        self.assertEqual(st, zk.exists(e))
        # a data-only change of the parent does not move the counter
        zk.set(par, b"changed")
        f = zk.create(self.p("seq", "z"), sequence=True)
        self.assertEqual(f, self.p("seq", "z0000000006"))
        # separate parents have separate counters
        zk.create(self.p("seq2"))
        self.assertEqual(zk.create(self.p("seq2", "q"), sequence=True),
                         self.p("seq2", "q0000000000"))

    def test_ephemeral(self):
        zk, zk2 = self.zk, self.zk2
        sid = zk.client_id[0]
        e = zk.create(self.p("eph"), b"e", ephemeral=True)
        st = zk.exists(e)
        self.assertEqual(st.ephemeralOwner, sid)
        self.assertNotEqual(sid, 0)
        zk2.sync(e)
        self.assertEqual(zk2.exists(e).ephemeralOwner, sid)
        with self.assertRaises(NoChildrenForEphemeralsError):
            zk.create(self.p("eph", "child"))
        with self.assertRaises(NoChildrenForEphemeralsError):
            zk2.create(self.p("eph", "child"))
        self.assertEqual(zk.get_children(e), [])
        es = zk.create(self.p("es-"), ephemeral=True, sequence=True)
        self.assertTrue(re.match(r"^.*/es-\d{10}$", es), es)
        self.assertEqual(zk.exists(es).ephemeralOwner, sid)
        # ephemerals of another session vanish when it closes
        c3 = self.new_client(self.m2)
        sid3 = c3.client_id[0]
        e3 = c3.create(self.p("eph3"), ephemeral=True)
        e3s = c3.create(self.p("eph3s-"), ephemeral=True, sequence=True)
        zk.sync(e3)
        self.assertEqual(zk.exists(e3).ephemeralOwner, sid3)
        w = Events()
        self.assertIsNotNone(zk.exists(e3, watch=w))
        c3.stop()
        ev = w.get()
        self.assertEqual((ev.type, ev.path), (EventType.DELETED, e3))
        zk.sync(self.root)
        self.assertIsNone(zk.exists(e3))
        self.assertIsNone(zk.exists(e3s))
        # ours are still there
        self.assertIsNotNone(zk.exists(e))
        # and they vanish when we close
        zk2.sync(self.root)
        self.assertIsNotNone(zk2.exists(es))
        zk.stop()
        zk2.sync(self.root)
        self.assertIsNone(zk2.exists(e))
        self.assertIsNone(zk2.exists(es))
        self.assertEqual(zk2.get_children(self.root), [])

    # -- delete / set / get / children ---------------------------------------
    def test_delete(self):
        zk = self.zk
        p = self.p("d")
        zk.create(p, b"1")
        zk.set(p, b"2")
        with self.assertRaises(BadVersionError):
            zk.delete(p, version=0)
        with self.assertRaises(BadVersionError):
            zk.delete(p, version=7)
        zk.delete(p, version=1)
        self.assertIsNone(zk.exists(p))
        with self.assertRaises(NoNodeError):
            zk.delete(p)
        with self.assertRaises(NoNodeError):
            zk.delete(p, version=0)
        zk.create(p)
        zk.create(self.p("d", "c"))
        with self.assertRaises(NotEmptyError):
            zk.delete(p)
        with self.assertRaises(NotEmptyError):
            zk.delete(p, version=0)
        with self.assertRaises(BadVersionError):   # version is checked first
            zk.delete(p, version=5)
        zk.delete(self.p("d", "c"), version=-1)
        zk.delete(p, version=-1)
        self.assertIsNone(zk.exists(p))
        # recursive delete through the client
        zk.create(self.p("r", "a", "b"), makepath=True)
        zk.delete(self.p("r"), recursive=True)
        self.assertIsNone(zk.exists(self.p("r")))
        # ZK refuses to delete "/" and the system nodes (BadArguments)
        for sp in ("/", "/zookeeper", "/zookeeper/quota"):
            with self.assertRaises(BadArgumentsError, msg=sp):
                zk.delete(sp)

    def test_set_and_versions(self):
        zk = self.zk
        p = self.p("s")
        _, st0 = zk.create(p, b"v0", include_data=True)
        st1 = zk.set(p, b"v1")
        self.assertEqual(st1.version, 1)
        self.assertEqual(st1.czxid, st0.czxid)
        self.assertGreater(st1.mzxid, st0.mzxid)
        self.assertEqual(st1, zk.exists(p))
        st2 = zk.set(p, b"v2", version=1)
        self.assertEqual(st2.version, 2)
        with self.assertRaises(BadVersionError):
            zk.set(p, b"x", version=1)
        with self.assertRaises(BadVersionError):
            zk.set(p, b"x", version=3)
        self.assertEqual(zk.get(p), (b"v2", st2))
        st3 = zk.set(p, b"", version=-1)
        self.assertEqual((st3.version, st3.dataLength), (3, 0))
        self.assertEqual(zk.get(p)[0], b"")
        # same data again still bumps version and mzxid
        st4 = zk.set(p, b"")
        self.assertEqual(st4.version, 4)
        self.assertGreater(st4.mzxid, st3.mzxid)
        with self.assertRaises(NoNodeError):
            zk.set(self.p("nope"), b"x")
        with self.assertRaises(NoNodeError):
            zk.set(self.p("nope"), b"x", version=0)
        # mtime moves forward, never behind ctime
        self.assertGreaterEqual(st4.mtime, st0.mtime)
        # another client sees the last value
        self.zk2.sync(p)
        self.assertEqual(self.zk2.get(p), (b"", st4))

    def test_get_exists_children(self):
        zk = self.zk
        self.assertIsNone(zk.exists(self.p("none")))
        with self.assertRaises(NoNodeError):
            zk.get(self.p("none"))
        with self.assertRaises(NoNodeError):
            zk.get_children(self.p("none"))
        with self.assertRaises(NoNodeError):
            zk.get_children(self.p("none"), include_data=True)
        names = ["c%03d" % k for k in range(40)] + ["z", "a", "M", "-", "_x"]
        for n in names:
            zk.create(self.p(n), n.encode())
        kids = zk.get_children(self.root)
        self.assertEqual(sorted(kids), sorted(names))        # order not specified
        kids2, st = zk.get_children(self.root, include_data=True)
        self.assertEqual(sorted(kids2), sorted(names))
        self.assertEqual(st, zk.exists(self.root))
        self.assertEqual(st.numChildren, len(names))
        self.assertEqual(st.cversion, len(names))
        self.assertEqual(zk.get_children(self.p("z")), [])
        for n in names[:5]:
            self.assertEqual(zk.get(self.p(n))[0], n.encode())
        # the root and /zookeeper
        self.assertIn("zookeeper", zk.get_children("/"))
        self.assertIn(self.root[1:], zk.get_children("/"))
        self.assertIsNotNone(zk.exists("/"))
        self.assertIsNotNone(zk.exists("/zookeeper"))

    def test_sync(self):
        self.assertEqual(self.zk.sync(self.root), self.root)
        self.assertEqual(self.zk2.sync("/"), "/")
        # ZK: sync does not look the path up
        self.assertEqual(self.zk.sync(self.p("no", "such")), self.p("no", "such"))

    # -- ACLs -----------------------------------------------------------------
    def test_acl_default_get_set(self):
        zk = self.zk
        p = self.p("acl")
        zk.create(p, b"d")
        acls, st = zk.get_acls(p)
        self.assertEqual(acls, OPEN_ACL_UNSAFE)
        self.assertEqual(acls[0].perms, Permissions.ALL)
        self.assertEqual(st, zk.exists(p))
        self.assertEqual(st.aversion, 0)
        st1 = zk.set_acls(p, READ_ACL_UNSAFE + [make_digest_acl("bob", "pw", all=True)],
                          version=0)
        self.assertEqual(st1.aversion, 1)
        self.assertEqual(st1.version, 0, "setACL does not change the data version")
        self.assertEqual(st1.mzxid, st.mzxid, "setACL does not change mzxid")
        self.assertEqual(st1.mtime, st.mtime)
        # the permission (ADMIN) is checked before the version
        with self.assertRaises(NoAuthError):
            zk.set_acls(p, OPEN_ACL_UNSAFE, version=0)
        # ZK: without ADMIN on the node, getACL masks digest ids as "user:x"
        acls2, st2 = zk.get_acls(p)
        self.assertEqual(sorted(acls2, key=repr),
                         sorted(READ_ACL_UNSAFE + [ACL(Permissions.ALL, Id("digest", "bob:x"))],
                                key=repr))
        self.assertEqual(st2.aversion, 1)
        zk.add_auth("digest", "bob:pw")
        acls3, _ = zk.get_acls(p)
        self.assertEqual(sorted(acls3, key=repr),
                         sorted(READ_ACL_UNSAFE + [make_digest_acl("bob", "pw", all=True)], key=repr))
        with self.assertRaises(BadVersionError):
            zk.set_acls(p, OPEN_ACL_UNSAFE, version=0)
        self.assertEqual(zk.set_acls(p, OPEN_ACL_UNSAFE, version=1).aversion, 2)
        self.assertEqual(zk.set_acls(p, OPEN_ACL_UNSAFE).aversion, 3)
        with self.assertRaises(NoNodeError):
            zk.get_acls(self.p("none"))
        with self.assertRaises(NoNodeError):
            zk.set_acls(self.p("none"), OPEN_ACL_UNSAFE)
        # the ACL a node is created with is stored as given
        odd = [ACL(Permissions.READ | Permissions.WRITE, Id("world", "anyone")),
               make_digest_acl("u1", "p1", read=True, admin=True)]
        zk.create(self.p("odd"), acl=odd)
        masked = [odd[0], ACL(odd[1].perms, Id("digest", "u1:x"))]
        self.assertEqual(sorted(zk.get_acls(self.p("odd"))[0], key=repr), sorted(masked, key=repr))

    def test_acl_digest(self):
        a = self.new_client()
        a.add_auth("digest", "alice:secret")
        acl = make_digest_acl("alice", "secret", all=True)
        p = a.create(self.p("priv"), b"secret data", acl=[acl])
        a.create(self.p("priv", "kid"), b"k", acl=[acl])
        self.assertEqual(a.get(p)[0], b"secret data")
        self.assertEqual(a.get_acls(p)[0], [acl])
        zk2 = self.zk2
        zk2.sync(p)
        with self.assertRaises(NoAuthError):
            zk2.get(p)
        with self.assertRaises(NoAuthError):
            zk2.set(p, b"x")
        with self.assertRaises(NoAuthError):
            zk2.get_children(p)
        with self.assertRaises(NoAuthError):
            zk2.create(self.p("priv", "x"))
        with self.assertRaises(NoAuthError):
            zk2.set_acls(p, OPEN_ACL_UNSAFE)
        with self.assertRaises(NoAuthError):
            zk2.delete(self.p("priv", "kid"))
        # ZK 3.8: getACL needs READ or ADMIN
        with self.assertRaises(NoAuthError):
            zk2.get_acls(p)
        # exists does not check ACLs
        self.assertIsNotNone(zk2.exists(p))
        # a wrong password is accepted as an identity, but not this one
        zk2.add_auth("digest", "alice:wrong")
        with self.assertRaises(NoAuthError):
            zk2.get(p)
        zk2.add_auth("digest", "alice:secret")
        self.assertEqual(zk2.get(p)[0], b"secret data")
        zk2.set(p, b"by zk2")
        # the "auth" scheme stands for every digest identity of the session
        p2 = a.create(self.p("byauth"), acl=[ACL(Permissions.ALL, Id("auth", ""))])
        self.assertEqual(a.get_acls(p2)[0], [acl])
        self.assertEqual(acl.id.id, make_digest_acl_credential("alice", "secret"))
        with self.assertRaises(NoAuthError):
            self.zk.get(p2)
        # identities survive a reconnect (Kazoo re-sends auth)
        a.stop()
        a.start(timeout=20)
        self.assertEqual(a.get(p)[0], b"by zk2")

    def test_acl_world_read_only(self):
        zk = self.zk
        p = zk.create(self.p("ro"), b"r", acl=READ_ACL_UNSAFE)
        self.assertEqual(zk.get(p)[0], b"r")
        with self.assertRaises(NoAuthError):
            zk.set(p, b"w")
        with self.assertRaises(NoAuthError):
            zk.create(self.p("ro", "kid"))
        with self.assertRaises(NoAuthError):
            zk.set_acls(p, OPEN_ACL_UNSAFE)          # needs ADMIN
        self.assertEqual(zk.get_children(p), [])
        self.assertEqual(zk.get_acls(p)[0], READ_ACL_UNSAFE)
        # deleting needs DELETE on the parent, not on the node itself
        zk.delete(p)
        self.assertIsNone(zk.exists(p))
        # a parent without DELETE protects its children from deletion
        nodel = [ACL(Permissions.ALL & ~Permissions.DELETE, Id("world", "anyone"))]
        q = zk.create(self.p("nodel"), acl=nodel)
        zk.create(self.p("nodel", "kid"))
        with self.assertRaises(NoAuthError):
            zk.delete(self.p("nodel", "kid"))
        zk.set(q, b"allowed")
        # perms 0: nothing but exists
        z = zk.create(self.p("zero"), acl=[ACL(0, Id("world", "anyone"))])
        self.assertIsNotNone(zk.exists(z))
        for f in (lambda: zk.get(z), lambda: zk.get_children(z),
                  lambda: zk.get_acls(z), lambda: zk.set(z, b"")):
            with self.assertRaises(NoAuthError):
                f()
        zk.delete(z)

    def test_acl_invalid(self):
        zk = self.zk
        bad = [
            [ACL(Permissions.ALL, Id("digest", "nocolon"))],  # digest needs user:hash
            [ACL(Permissions.ALL, Id("auth", ""))],           # no identity yet
            [ACL(Permissions.ALL, Id("nosuchscheme", "x"))],
            [ACL(Permissions.ALL, Id("world", "someone"))],   # only "anyone"
            [ACL(Permissions.ALL, Id("ip", "999.1.1.1"))],
        ]
        for i, acl in enumerate(bad):
            with self.assertRaises(InvalidACLError, msg=repr(acl)):
                zk.create(self.p("bad%d" % i), acl=acl)
            self.assertIsNone(zk.exists(self.p("bad%d" % i)))
        zk.create(self.p("good"))
        for acl in bad:
            with self.assertRaises(InvalidACLError, msg=repr(acl)):
                zk.set_acls(self.p("good"), acl)
        # an empty ACL (Kazoo replaces [] by OPEN_ACL_UNSAFE: raw)
        r = self.raw()
        with self.assertRaises(ZKError) as cm:
            r.create(self.p("empty"), acl=[], op="create")
        self.assertEqual(cm.exception.code, ERR["INVALIDACL"])
        z, err, _ = r.call("setACL", zkproto.w_str(self.p("good")) + zkproto.w_acl([]) +
                           zkproto.w_int(-1))
        self.assertEqual(err, ERR["INVALIDACL"])
        # valid non-world schemes
        zk.create(self.p("ip"), acl=[ACL(Permissions.ALL, Id("ip", "127.0.0.1"))])
        zk.create(self.p("ipnet"), acl=[ACL(Permissions.ALL, Id("ip", "127.0.0.0/8"))])
        self.assertEqual(zk.get(self.p("ip"))[0], b"")
        self.assertEqual(zk.get(self.p("ipnet"))[0], b"")
        zk.create(self.p("other-ip"), acl=[ACL(Permissions.ALL, Id("ip", "10.1.2.3"))])
        with self.assertRaises(NoAuthError):
            zk.get(self.p("other-ip"))

    def test_auth_failed(self):
        c = self.new_client()
        states = []
        c.add_listener(states.append)
        with self.assertRaises(AuthFailedError):
            c.add_auth("nosuchscheme", "whatever")
        # a raw client sees the reply, then the close
        r = self.raw()
        with self.assertRaises(ZKError) as cm:
            r.add_auth("nosuchscheme", b"x")
        self.assertEqual(cm.exception.code, ERR["AUTHFAILED"])
        with self.assertRaises((ConnectionError, OSError)):
            r.exists("/")
            r.exists("/")

    # -- paths ----------------------------------------------------------------
    def test_bad_paths(self):
        zk = self.zk
        for name in ("bad\x01", "x\x7f", "x\x9f", "\ufff5", "\U0001F600", "a\u0000b"):
            with self.assertRaises(BadArgumentsError, msg=repr(name)):
                zk.create(self.p(name))
        # these are fine
        for name in ("a.b", "..x", " ", "\u00e9t\u00e9", "zookeeper", "-"):
            zk.create(self.p(name))
        # raw requests reach the server unnormalised
        r = self.raw()
        base = self.root
        cases = [
            ("create", "rel", "BADARGUMENTS"),
            ("create", "", "BADARGUMENTS"),
            ("create", base + "/", "BADARGUMENTS"),
            ("create", base + "/.", "BADARGUMENTS"),
            ("create", base + "/..", "BADARGUMENTS"),
            ("create", base + "/x/.", "NONODE"),    # ZK: parent looked up first
            ("create", base + "//x", "NONODE"),
            ("create", base + "/nope/", "NONODE"),
            ("create", "/", "NODEEXISTS"),
            ("delete", "rel", "BADARGUMENTS"),
            ("delete", "", "BADARGUMENTS"),
            ("delete", "/", "BADARGUMENTS"),
            ("delete", "/zookeeper", "BADARGUMENTS"),
            ("delete", "/zookeeper/quota", "BADARGUMENTS"),
            ("delete", base + "//x", "NONODE"),
            ("setData", "rel", "BADARGUMENTS"),
            ("setData", "", "BADARGUMENTS"),
            ("setData", base + "//x", "BADARGUMENTS"),
            ("setData", base + "/", "BADARGUMENTS"),
            ("getData", "rel", "NONODE"),           # reads only look up
            ("getData", base + "//x", "NONODE"),
            ("getData", base + "/", "NONODE"),
        ]
        for op, path, want in cases:
            if op == "create":
                z, err, _ = r.call("create", zkproto.w_str(path) + zkproto.w_buf(b"") +
                                   zkproto.w_acl(zkproto.OPEN_ACL) + zkproto.w_int(0))
            elif op == "delete":
                z, err, _ = r.call("delete", zkproto.w_str(path) + zkproto.w_int(-1))
            elif op == "setData":
                z, err, _ = r.call("setData", zkproto.w_str(path) + zkproto.w_buf(b"x") +
                                   zkproto.w_int(-1))
            else:
                z, err, _ = r.call("getData", zkproto.w_str(path) + zkproto.w_bool(False))
            self.assertEqual(zkproto.ERRNAME.get(err, err), want, "%s %r" % (op, path))
        # sequential: a trailing "/" or "." is completed by the suffix
        pa, _ = r.create(base + "/", flags=zkproto.PERSISTENT_SEQUENTIAL)
        self.assertTrue(re.match(r"^%s/\d{10}$" % re.escape(base), pa), pa)
        pb, _ = r.create(base + "/.", flags=zkproto.PERSISTENT_SEQUENTIAL)
        self.assertTrue(re.match(r"^%s/\.\d{10}$" % re.escape(base), pb), pb)

    # -- multi ----------------------------------------------------------------
    def test_transaction_commit(self):
        zk = self.zk
        t = zk.transaction()
        t.create(self.p("a"), b"1")
        t.create(self.p("a", "b"), b"2")
        t.set_data(self.p("a"), b"3")
        t.check(self.p("a"), 1)
        t.delete(self.p("a", "b"))
        t.create(self.p("q-"), sequence=True)
        t.create(self.p("q-"), sequence=True)
        t.create(self.p("eph"), ephemeral=True)
        res = t.commit()
        self.assertEqual(len(res), 8, res)
        self.assertEqual(res[0], self.p("a"))
        self.assertEqual(res[1], self.p("a", "b"))
        self.assertEqual(res[2].version, 1)
        self.assertIs(res[3], True)
        self.assertIs(res[4], True)
        self.assertEqual(res[5], self.p("q-0000000001"))
        self.assertEqual(res[6], self.p("q-0000000002"))
        self.assertEqual(res[7], self.p("eph"))
        data, st = zk.get(self.p("a"))
        self.assertEqual(data, b"3")
        self.assertEqual(st.version, 1)
        self.assertEqual(st.czxid, st.mzxid, "one multi = one zxid")
        self.assertEqual(st.pzxid, st.czxid)
        self.assertEqual(st.numChildren, 0)
        self.assertEqual(st.cversion, 2)
        # the setData result is the stat right after that op
        self.assertEqual(res[2], st._replace(cversion=1, numChildren=1))
        self.assertEqual(zk.exists(self.p("q-0000000002")).czxid, st.czxid)
        self.assertEqual(zk.exists(self.p("eph")).ephemeralOwner, zk.client_id[0])
        self.assertEqual(zk.exists(self.p("eph")).czxid, st.czxid)
        # an empty multi is fine
        self.assertEqual(zk.transaction().commit(), [])

    def test_transaction_all_or_nothing(self):
        zk = self.zk
        zk.create(self.p("x"), b"x0")
        before = zk.exists(self.p("x"))
        t = zk.transaction()
        t.create(self.p("f1"))
        t.set_data(self.p("x"), b"x1")
        t.delete(self.p("nosuch"))
        t.create(self.p("f2"))
        res = t.commit()
        # ZK: ops before the failure report OK (Kazoo: RolledBackError),
        # the failing op its error, later ops RUNTIMEINCONSISTENCY
        self.assertEqual([type(r) for r in res],
                         [RolledBackError, RolledBackError, NoNodeError, RuntimeInconsistency])
        self.assertIsNone(zk.exists(self.p("f1")))
        self.assertIsNone(zk.exists(self.p("f2")))
        self.assertEqual(zk.get(self.p("x")), (b"x0", before))
        # a failing check
        t = zk.transaction()
        t.check(self.p("x"), 5)
        t.set_data(self.p("x"), b"x2")
        res = t.commit()
        self.assertEqual([type(r) for r in res], [BadVersionError, RuntimeInconsistency])
        self.assertEqual(zk.get(self.p("x"))[0], b"x0")
        t = zk.transaction()
        t.set_data(self.p("x"), b"x3")
        t.check(self.p("x"), 0)     # the check sees the earlier op's effect
        res = t.commit()
        self.assertEqual([type(r) for r in res], [RolledBackError, BadVersionError])
        self.assertEqual(zk.get(self.p("x"))[0], b"x0")
        t = zk.transaction()
        t.set_data(self.p("x"), b"x3")
        t.check(self.p("x"), 1)
        res = t.commit()
        self.assertEqual(res[0].version, 1)
        self.assertIs(res[1], True)
        # NodeExists and NotEmpty inside a multi
        zk.create(self.p("x", "kid"))
        t = zk.transaction()
        t.create(self.p("x"))
        res = t.commit()
        self.assertEqual([type(r) for r in res], [NodeExistsError])
        t = zk.transaction()
        t.delete(self.p("x"))
        res = t.commit()
        self.assertEqual([type(r) for r in res], [NotEmptyError])
        # a later op may depend on an earlier one in the same multi
        t = zk.transaction()
        t.delete(self.p("x", "kid"))
        t.delete(self.p("x"))
        t.create(self.p("x"), b"again")
        t.create(self.p("x", "kid2"))
        res = t.commit()
        self.assertEqual(res, [True, True, self.p("x"), self.p("x", "kid2")])
        self.assertEqual(zk.get(self.p("x"))[0], b"again")
        # failed multis do not consume a sequence number
        zk.create(self.p("sq"))
        t = zk.transaction()
        t.create(self.p("sq", "n"), sequence=True)
        t.check(self.p("sq"), 42)
        t.commit()
        self.assertEqual(zk.create(self.p("sq", "n"), sequence=True), self.p("sq", "n0000000000"))

    def test_raw_multi_results(self):
        # what goes over the wire for multi results
        r = self.raw()
        w = zkproto

        def cbody(p, flags=0):
            return w.w_str(p) + w.w_buf(b"") + w.w_acl(w.OPEN_ACL) + w.w_int(flags)
        err, res = r.multi([("create", cbody(self.p("m1"))),
                            ("delete", w.w_str(self.p("nosuch")) + w.w_int(-1)),
                            ("create", cbody(self.p("m2")))])
        self.assertEqual(err, 0, "ZK: a failed multi's reply header has err 0")
        self.assertEqual(res, [(-1, 0), (-1, ERR["NONODE"]), (-1, ERR["RUNTIMEINCONSISTENCY"])])
        err, res = r.multi([])
        self.assertEqual((err, res), (0, []))
        # create2 inside a multi answers like create (path only); createContainer
        # and createTTL answer with path and stat (type create2)
        err, res = r.multi([("create2", cbody(self.p("c2")))])
        self.assertEqual((err, res), (0, [(zkproto.OP["create"], self.p("c2"))]))
        err, res = r.multi([("createContainer", cbody(self.p("cc"), zkproto.CONTAINER))])
        self.assertEqual(err, 0)
        self.assertEqual(res[0][0], zkproto.OP["create2"])
        self.assertEqual(res[0][1][0], self.p("cc"))
        self.assertEqual(res[0][1][1], r.exists(self.p("cc")))

    # -- watches --------------------------------------------------------------
    def test_data_watches(self):
        zk, zk2 = self.zk, self.zk2
        p = self.p("w")
        zk.create(p, b"0")
        zk2.sync(p)
        w = Events()
        self.assertEqual(zk.get(p, watch=w)[0], b"0")
        zk2.set(p, b"1")
        ev = w.get()
        self.assertEqual((ev.type, ev.path, ev.state), (EventType.CHANGED, p, KeeperState.CONNECTED))
        zk2.set(p, b"2")           # one-shot: no second event
        settle(zk, p)
        w.none()
        # exists watch on an existing node fires on change and on delete
        w2 = Events()
        self.assertIsNotNone(zk.exists(p, watch=w2))
        zk2.delete(p)
        ev = w2.get()
        self.assertEqual((ev.type, ev.path), (EventType.DELETED, p))
        # exists watch on a missing node fires on create, once
        w3 = Events()
        self.assertIsNone(zk.exists(p, watch=w3))
        zk2.create(p, b"new")
        ev = w3.get()
        self.assertEqual((ev.type, ev.path), (EventType.CREATED, p))
        zk2.set(p, b"again")
        settle(zk, p)
        w3.none()
        # get watch fires DELETED on delete
        w4 = Events()
        zk.get(p, watch=w4)
        zk2.delete(p)
        self.assertEqual(w4.get().type, EventType.DELETED)
        # a failed get (NoNode) leaves no watch behind... but a failed
        # exists does (that is how exists works)
        w5 = Events()
        with self.assertRaises(NoNodeError):
            zk.get(p, watch=w5)
        zk2.create(p)
        settle(zk, p)
        w5.none()
        # watch on one path is not triggered by another path
        w6 = Events()
        zk.get(p, watch=w6)
        zk2.create(self.p("other"))
        zk2.set(self.p("other"), b"o")
        zk2.create(self.p("w", "kid"))       # child create: not a data change
        settle(zk, p)
        w6.none()
        # a setACL is not a data change either
        zk2.set_acls(p, OPEN_ACL_UNSAFE)
        settle(zk, p)
        w6.none()
        zk2.set(p, b"z")
        self.assertEqual(w6.get().type, EventType.CHANGED)
        # the session's own writes trigger its watches too
        w7 = Events()
        zk.get(p, watch=w7)
        zk.set(p, b"self")
        self.assertEqual(w7.get().type, EventType.CHANGED)

    def test_child_watches(self):
        zk, zk2 = self.zk, self.zk2
        p = self.p("cw")
        zk.create(p)
        zk2.sync(p)
        w = Events()
        self.assertEqual(zk.get_children(p, watch=w), [])
        zk2.create(self.p("cw", "a"))
        ev = w.get()
        self.assertEqual((ev.type, ev.path), (EventType.CHILD, p))
        zk2.create(self.p("cw", "b"))       # one-shot
        settle(zk, p)
        w.none()
        w2 = Events()
        self.assertEqual(sorted(zk.get_children(p, watch=w2)), ["a", "b"])
        # data changes of the parent or of a child, grandchildren: no event
        zk2.set(p, b"d")
        zk2.set(self.p("cw", "a"), b"d")
        zk2.create(self.p("cw", "a", "grand"))
        settle(zk, p)
        w2.none()
        zk2.delete(self.p("cw", "b"))       # child delete fires
        ev = w2.get()
        self.assertEqual((ev.type, ev.path), (EventType.CHILD, p))
        # get_children with include_data sets the same watch
        w3 = Events()
        zk.get_children(p, watch=w3, include_data=True)
        zk2.create(self.p("cw", "s-"), sequence=True, ephemeral=True)
        self.assertEqual(w3.get().type, EventType.CHILD)
        # deleting the watched node itself: NodeDeleted to the child watcher
        w4 = Events()
        zk.get_children(self.p("cw", "a", "grand"), watch=w4)
        zk2.delete(self.p("cw", "a", "grand"))
        ev = w4.get()
        self.assertEqual((ev.type, ev.path), (EventType.DELETED, self.p("cw", "a", "grand")))
        # a multi triggers each watch once
        w5, w6 = Events(), Events()
        zk.get_children(p, watch=w5)
        zk.get(self.p("cw", "a"), watch=w6)
        t = zk2.transaction()
        t.create(self.p("cw", "m1"))
        t.create(self.p("cw", "m2"))
        t.set_data(self.p("cw", "a"), b"1")
        t.set_data(self.p("cw", "a"), b"2")
        t.commit()
        self.assertEqual(w5.get().type, EventType.CHILD)
        self.assertEqual(w6.get().type, EventType.CHANGED)
        settle(zk, p)
        w5.none()
        w6.none()

    def test_ephemeral_delete_fires_watches(self):
        zk = self.zk
        c3 = self.new_client(self.m2)
        e = c3.create(self.p("e"), ephemeral=True)
        zk.sync(e)
        wd, wc = Events(), Events()
        zk.get(e, watch=wd)
        zk.get_children(self.root, watch=wc)
        c3.stop()
        self.assertEqual(wd.get().type, EventType.DELETED)
        self.assertEqual(wc.get().type, EventType.CHILD)

    def test_raw_persistent_watches(self):
        r1 = self.raw()
        r2 = self.raw()
        w = self.raw(self.m2)
        p = self.p("pw")
        w.create(p)
        r1.sync(p)
        r2.sync(p)
        r1.add_watch(p, zkproto.PERSISTENT_WATCH)
        r2.add_watch(p, zkproto.PERSISTENT_RECURSIVE_WATCH)
        w.create(p + "/a")
        w.set(p, b"1")
        w.set(p, b"2")
        w.create(p + "/a/b")
        w.set(p + "/a/b", b"x")
        w.delete(p + "/a/b")
        w.delete(p + "/a")
        r1.sync(p)
        r2.sync(p)
        ev1 = [(zkproto.EV[t], s, path) for t, s, path in r1.drain_events()]
        ev2 = [(zkproto.EV[t], s, path) for t, s, path in r2.drain_events()]
        # persistent: the node's own data/children events, repeatedly
        self.assertEqual(ev1, [("NodeChildrenChanged", 3, p), ("NodeDataChanged", 3, p),
                               ("NodeDataChanged", 3, p), ("NodeChildrenChanged", 3, p)])
        # recursive: every node below, no NodeChildrenChanged
        self.assertEqual(ev2, [("NodeCreated", 3, p + "/a"), ("NodeDataChanged", 3, p),
                               ("NodeDataChanged", 3, p), ("NodeCreated", 3, p + "/a/b"),
                               ("NodeDataChanged", 3, p + "/a/b"), ("NodeDeleted", 3, p + "/a/b"),
                               ("NodeDeleted", 3, p + "/a")])
        # they survive the node's deletion and re-creation
        w.delete(p)
        w.create(p)
        r1.sync(p)
        r2.sync(p)
        self.assertEqual([zkproto.EV[t] for t, s, x in r1.drain_events()], ["NodeDeleted", "NodeCreated"])
        self.assertEqual([zkproto.EV[t] for t, s, x in r2.drain_events()], ["NodeDeleted", "NodeCreated"])
        # checkWatches / removeWatches
        r2.check_watches(p, zkproto.WT_ANY)
        with self.assertRaises(ZKError) as cm:
            r2.check_watches(self.p("nowatch"), zkproto.WT_ANY)
        self.assertEqual(cm.exception.code, ERR["NOWATCHER"])
        r2.remove_watches(p, zkproto.WT_ANY)
        with self.assertRaises(ZKError) as cm:
            r2.remove_watches(p, zkproto.WT_ANY)
        self.assertEqual(cm.exception.code, ERR["NOWATCHER"])
        w.set(p, b"after")
        r2.sync(p)
        r1.sync(p)
        self.assertEqual(r2.drain_events(0.2), [])
        self.assertEqual([zkproto.EV[t] for t, s, x in r1.drain_events(0.2)], ["NodeDataChanged"])
        # a one-shot data watch can be removed too
        r2.get(p, watch=True)
        r2.check_watches(p, zkproto.WT_DATA)
        r2.remove_watches(p, zkproto.WT_DATA)
        w.set(p, b"after2")
        r2.sync(p)
        self.assertEqual(r2.drain_events(0.2), [])

    # -- sessions -------------------------------------------------------------
    def test_session_expiry_kazoo(self):
        """A client that goes silent (frozen proxy) loses its session to
        expiry: its ephemerals vanish, and on reconnect Kazoo is told the
        session expired (LOST) and starts a new one."""
        proxy = zkproto.Proxy("127.0.0.1", self.cl.client_port(self.m1))
        try:
            c = client(proxy.address(), timeout=2.0)
            self.extra.append(c)
            states = []
            c.add_listener(states.append)
            old = c.client_id[0]
            e = c.create(self.p("gone"), ephemeral=True)
            es = c.create(self.p("gone-"), ephemeral=True, sequence=True)
            self.zk2.sync(e)
            w = Events()
            self.assertIsNotNone(self.zk2.exists(e, watch=w))
            t0 = time.time()
            proxy.freeze()
            ev = w.get(timeout=15)
            took = time.time() - t0
            self.assertEqual((ev.type, ev.path), (EventType.DELETED, e))
            self.assertGreater(took, 1.0, "expired after %.2fs, timeout is 2s" % took)
            self.zk2.sync(self.root)
            self.assertIsNone(self.zk2.exists(es))
            proxy.thaw()
            wait_for(lambda: KazooState.LOST in states, 15, what="LOST")
            wait_for(lambda: c.connected, 15, what="new session")
            self.assertNotEqual(c.client_id[0], old)
            self.assertIsNone(c.exists(e))
            c.create(self.p("again"), ephemeral=True)
        finally:
            proxy.close()

    def test_request_pipelined_behind_connect(self):
        # Java's client sends its queued requests right behind the
        # ConnectRequest, without waiting for the session: a write there
        # must be served once the session exists (zabd used to drop the
        # connection: the write was proposed from inside the commit of the
        # session).
        r = self.raw(connect=False)
        path = self.p("piped")
        conn = (zkproto.w_int(0) + zkproto.w_long(0) + zkproto.w_int(4000) +
                zkproto.w_long(0) + zkproto.w_buf(b"\0" * 16) +
                zkproto.w_bool(False))
        create = (zkproto.w_int(1) + zkproto.w_int(zkproto.OP["create"]) +
                  zkproto.w_str(path) + zkproto.w_buf(b"x") +
                  zkproto.w_acl([(31, "world", "anyone")]) + zkproto.w_int(0))
        r.sock = socket.create_connection(("127.0.0.1", self.cl.client_port(self.m1)),
                                          timeout=10)
        r.sock.sendall(zkproto.w_int(len(conn)) + conn +
                       zkproto.w_int(len(create)) + create)
        zkproto.Reader(r._recv_frame())          # the ConnectResponse
        rd = zkproto.Reader(r._recv_frame())
        self.assertEqual((rd.int(), rd.long() > 0, rd.int()), (1, True, 0))
        self.assertEqual(rd.str(), path)
        self.zk.sync(path)
        self.assertEqual(self.zk.get(path)[0], b"x")

    def test_session_expiry_raw(self):
        r = self.raw(timeout_ms=1000)
        self.assertEqual(r.negotiated_timeout, 1000)
        r.create(self.p("silent"), flags=zkproto.EPHEMERAL)
        w = Events()
        self.zk2.sync(self.root)
        self.assertIsNotNone(self.zk2.exists(self.p("silent"), watch=w))
        t0 = time.time()
        self.assertEqual(w.get(timeout=10).type, EventType.DELETED)
        self.assertLess(time.time() - t0, 6)
        # the server has closed the expired session's connection
        with self.assertRaises((ConnectionError, OSError)):
            r.exists("/")
            r.exists("/")
        # reattaching to it is refused with timeout 0 (session expired)
        r2 = RawClient("127.0.0.1", self.cl.client_port(self.m2), connect=False,
                       session_id=r.session_id, passwd=r.passwd)
        with self.assertRaises(ZKError) as cm:
            r2.connect()
        self.assertEqual(cm.exception.code, ERR["SESSIONEXPIRED"])

    def test_session_reattach_and_password(self):
        r1 = self.raw()
        sid, pw = r1.session_id, r1.passwd
        e, _ = r1.create(self.p("mine"), flags=zkproto.EPHEMERAL)
        # another connection (to another member) takes the session over
        # with its password; the server closes the first connection
        r2 = RawClient("127.0.0.1", self.cl.client_port(self.m2), connect=False,
                       session_id=sid, passwd=pw, last_zxid=r1.last_zxid)
        self.raws.append(r2)
        r2.connect()
        self.assertEqual(r2.session_id, sid)
        r2.sync(self.root)
        self.assertEqual(r2.exists(e).ephemeralOwner, sid)
        if self.m1 == self.m2:
            with self.assertRaises((ConnectionError, OSError)):
                r1.exists("/")
                r1.exists("/")
        # a wrong password is answered as an expired session
        bad = RawClient("127.0.0.1", self.cl.client_port(self.m1), connect=False,
                        session_id=sid, passwd=b"\x01" * 16)
        with self.assertRaises(ZKError) as cm:
            bad.connect()
        self.assertEqual(cm.exception.code, ERR["SESSIONEXPIRED"])
        # ZK closes the session's current connection even for a refused
        # attempt (it does so before checking the password); the session
        # itself lives on
        try:
            r2.exists(e)
        except (ConnectionError, OSError):
            r2.close_socket()
            r2.connect()
        self.assertEqual(r2.session_id, sid)
        self.assertEqual(r2.exists(e).ephemeralOwner, sid)
        # closing it from the second connection ends the session
        r2.close()
        self.zk2.sync(self.root)
        self.assertIsNone(self.zk2.exists(e))

    def test_session_timeout_negotiation(self):
        tick = self.cl.tick
        self.assertEqual(self.raw(timeout_ms=1).negotiated_timeout, 2 * tick)
        self.assertEqual(self.raw(timeout_ms=3000).negotiated_timeout, 3000)
        self.assertEqual(self.raw(timeout_ms=10 ** 8).negotiated_timeout, 60000)

    # -- containers, TTL, newer ops (raw) ---------------------------------------
    def test_raw_container(self):
        r = self.raw()
        c, st = r.create_container(self.p("cont"), b"cdata")
        self.assertEqual(c, self.p("cont"))
        self.assertEqual(st.ephemeralOwner, 0, "ZK hides the container marker")
        self.assertEqual(r.get(c)[0], b"cdata")
        r.create(c + "/k1")
        r.create(c + "/k2", flags=zkproto.EPHEMERAL)
        # a container that never had a child stays
        never, _ = r.create_container(self.p("never"))
        # ZK: the opcode makes a container, not the flags: createContainer
        # with flags 0 is a container, create2 with flags 4 is not
        c3, _ = r.create(self.p("cont3"), flags=zkproto.PERSISTENT, op="createContainer")
        r.create(c3 + "/k")
        r.delete(c3 + "/k")
        c4, _ = r.create(self.p("cont4"), flags=zkproto.CONTAINER, op="create2")
        r.create(c4 + "/k")
        r.delete(c4 + "/k")
        r.delete(c + "/k1")
        time.sleep(1.5)
        self.assertIsNotNone(r.exists(c), "a container with a child stays")
        r.delete(c + "/k2")
        deadline = time.time() + CONTAINER_WAIT
        while (r.exists(c) or r.exists(c3)) and time.time() < deadline:
            time.sleep(0.2)
            r.ping()
        self.assertIsNone(r.exists(c), "empty container deleted")
        self.assertIsNone(r.exists(c3), "empty container (createContainer, flags 0) deleted")
        self.assertIsNotNone(r.exists(never))
        self.assertIsNotNone(r.exists(c4), "create2 with flags 4 is a plain node")

    def test_raw_ttl(self):
        r = self.raw()
        try:
            t, st = r.create_ttl(self.p("ttl"), 500, b"t")
        except ZKError as e:
            if e.code == ERR["UNIMPLEMENTED"]:
                self.skipTest("server does not enable TTL nodes (extendedTypesEnabled)")
            raise
        self.assertEqual(st.ephemeralOwner, 0, "ZK hides the TTL marker")
        ts, _ = r.create_ttl(self.p("ttls-"), 500, sequential=True)
        self.assertTrue(re.match(r".*/ttls-\d{10}$", ts), ts)
        keep, _ = r.create_ttl(self.p("keep"), 500)
        r.create(keep + "/kid")
        for ttl in (0, -1, 1 << 41):
            with self.assertRaises(ZKError) as cm:
                r.create_ttl(self.p("badttl"), ttl)
            self.assertEqual(cm.exception.code, ERR["BADARGUMENTS"], ttl)
        # TTL modes only through createTTL, createTTL only with TTL modes
        for op, flags in (("create2", zkproto.PERSISTENT_WITH_TTL),
                          ("createTTL", zkproto.PERSISTENT)):
            with self.assertRaises(ZKError) as cm:
                r.create(self.p("badmode"), flags=flags, ttl=1000 if op == "createTTL" else None, op=op)
            self.assertEqual(cm.exception.code, ERR["BADARGUMENTS"])
        deadline = time.time() + CONTAINER_WAIT
        while (r.exists(t) or r.exists(ts)) and time.time() < deadline:
            time.sleep(0.2)
            r.ping()
        self.assertIsNone(r.exists(t), "TTL node deleted after its TTL")
        self.assertIsNone(r.exists(ts))
        self.assertIsNotNone(r.exists(keep), "a TTL node with children stays")

    def test_raw_get_ephemerals_and_all_children_number(self):
        r = self.raw()
        r.create(self.p("a"))
        r.create(self.p("a", "e1"), flags=zkproto.EPHEMERAL)
        r.create(self.p("e2"), flags=zkproto.EPHEMERAL)
        r.create(self.p("a", "b"))
        r.create(self.p("a", "b", "c"))
        self.zk.create(self.p("other"), ephemeral=True)   # another session
        self.assertEqual(sorted(r.get_ephemerals(self.root)), sorted([self.p("a", "e1"), self.p("e2")]))
        self.assertEqual(r.get_ephemerals(self.p("a")), [self.p("a", "e1")])
        self.assertEqual(r.get_ephemerals(self.p("zzz")), [])
        # descendants, not counting the node itself
        self.assertEqual(r.get_all_children_number(self.p("a")), 3)
        self.assertEqual(r.get_all_children_number(self.root), 6)
        self.assertEqual(r.get_all_children_number(self.p("a", "b", "c")), 0)
        with self.assertRaises(ZKError) as cm:
            r.get_all_children_number(self.p("nope"))
        self.assertEqual(cm.exception.code, ERR["NONODE"])

    def test_raw_multi_read(self):
        r = self.raw()
        r.create(self.p("a"), b"A")
        r.create(self.p("a", "x"))
        res = r.multi_read([("getChildren", self.p("a")), ("getData", self.p("a")),
                            ("getData", self.p("nope")), ("getChildren", self.p("nope"))])
        self.assertEqual(res[0], ("children", ["x"]))
        self.assertEqual(res[1][:2], ("data", b"A"))
        self.assertEqual(res[1][2], r.exists(self.p("a")))
        self.assertEqual(res[2:], [("error", ERR["NONODE"])] * 2)

    # -- system nodes ------------------------------------------------------------
    def test_system_nodes(self):
        """What a client sees of /zookeeper in ZooKeeper 3.8."""
        r = self.raw()
        kids, _ = r.children("/zookeeper")
        self.assertEqual(sorted(kids), ["config", "quota"])
        self.assertEqual(r.get_acl("/zookeeper/config")[0], [(1, "world", "anyone")])
        self.assertEqual(r.get_acl("/zookeeper")[0], [(31, "world", "anyone")])
        self.assertEqual(r.get_acl("/")[0], [(31, "world", "anyone")])
        data, st = r.get("/zookeeper/config")
        if self.N == 1:
            self.assertEqual(data, b"")
        else:
            text = data.decode()
            for i in range(self.N):
                self.assertIn("server.%d=127.0.0.1:%d:%d:participant" % (
                    i + 1, self.cl.quorum_port(i), self.cl.election_port(i)), text)
            self.assertTrue(re.search(r"^version=[0-9a-f]+$", text, re.M), text)
        # the quirks of the built-in nodes' stats (ZK: internal cversion 0,
        # reported as 2*0 - numChildren; config's ACL set with version -1)
        st = r.exists("/zookeeper")
        self.assertEqual((st.czxid, st.ctime, st.version, st.aversion), (0, 0, 0, 0))
        self.assertEqual(st.cversion, -st.numChildren)
        self.assertEqual(r.exists("/zookeeper/config").aversion, -1)
        rs = r.exists("/")
        self.assertEqual((rs.czxid, rs.ctime, rs.ephemeralOwner), (0, 0, 0))
        # "" reads as the root (ZK's tree has both "" and "/" for it)
        self.assertEqual(r.get("")[1], r.get("/")[1])
        # writes under /zookeeper/config are refused, /zookeeper/config itself
        # cannot be set without the reconfig path
        with self.assertRaises(ZKError) as cm:
            r.set("/zookeeper/config", b"x")
        self.assertEqual(cm.exception.code, ERR["NOAUTH"])

    def test_four_letter_words(self):
        cl, m = self.cl, self.m1
        self.zk.get(self.root, watch=lambda e: None)
        self.assertEqual(cl.four_letter(m, "ruok"), "imok")
        srvr = zktestlib.zkcluster.parse_srvr(cl.four_letter(m, "srvr"))
        for k in ("Zookeeper version", "Latency min/avg/max", "Received", "Sent",
                  "Connections", "Outstanding", "Zxid", "Mode", "Node count"):
            self.assertIn(k, srvr)
        self.assertTrue(re.match(r"^0x[0-9a-f]+$", srvr["Zxid"]), srvr["Zxid"])
        self.assertIn(srvr["Mode"], ("standalone",) if self.N == 1 else ("leader", "follower"))
        stat = cl.four_letter(m, "stat")
        self.assertIn("Clients:\n", stat)
        self.assertIn("Mode: ", stat)
        mntr = dict(l.split("\t", 1) for l in cl.four_letter(m, "mntr").splitlines() if "\t" in l)
        for k in ("zk_version", "zk_server_state", "zk_znode_count", "zk_watch_count",
                  "zk_ephemerals_count", "zk_outstanding_requests", "zk_num_alive_connections"):
            self.assertIn(k, mntr)
        self.assertEqual(mntr["zk_server_state"], srvr["Mode"])
        conf = cl.four_letter(m, "conf")
        self.assertIn("clientPort=%d\n" % cl.client_port(m), conf)
        self.assertIn("tickTime=%d\n" % cl.tick, conf)
        self.assertEqual(cl.four_letter(m, "isro"), "rw")
        self.assertTrue(cl.four_letter(m, "envi").startswith("Environment:\n"))
        cons = cl.four_letter(m, "cons")
        self.assertIn("sid=0x%x" % self.zk.client_id[0], cons)
        wchs = cl.four_letter(m, "wchs")
        self.assertTrue(re.search(r"\d+ connections watching \d+ paths\nTotal watches:\d+", wchs), wchs)


class Standalone(OpsMixin, unittest.TestCase):
    N = 1


class Ensemble(OpsMixin, unittest.TestCase):
    N = 3


class EnsembleFailover(unittest.TestCase):
    """Reconnects to other members with the session, its ephemerals and its
    watches intact; reads on every member after sync."""

    @classmethod
    def setUpClass(cls):
        cls.cl = new_cluster(3, cls.__name__)
        cls.cl.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()
        cls.cl.kill_all()

    def setUp(self):
        for i in range(3):
            if not self.cl.alive(i):
                self.cl.start_one(i)
        self.cl.wait_ready(timeout=60)
        self.clients = []
        self.root = "/f-" + self.id().split(".")[-1]
        w = self.c(self.cl.connect_string())
        w.create(self.root)

    def tearDown(self):
        close(*self.clients)

    def c(self, hosts, **kw):
        z = client(hosts, **kw)
        self.clients.append(z)
        return z

    def connected_member(self, zk):
        port = zk._connection._socket.getpeername()[1]
        for i in range(self.cl.n):
            if self.cl.client_port(i) == port:
                return i
        return None

    def test_reads_on_every_member_after_sync(self):
        w = self.c(self.cl.connect_string([self.cl.followers()[0]]))
        expect = {}
        for k in range(60):
            p = "%s/n%02d" % (self.root, k)
            w.create(p, b"v%d" % k)
            expect[p] = b"v%d" % k
        for k in range(0, 60, 3):
            p = "%s/n%02d" % (self.root, k)
            w.set(p, b"s%d" % k)
            expect[p] = b"s%d" % k
        for k in range(1, 60, 5):
            p = "%s/n%02d" % (self.root, k)
            w.delete(p)
            del expect[p]
        ref = None
        for i in range(3):
            r = self.c(self.cl.connect_string([i]))
            r.sync(self.root)       # after sync: at least as new as the sync
            self.assertEqual(sorted(r.get_children(self.root)),
                             sorted(p.rsplit("/", 1)[1] for p in expect))
            d = zktestlib.dump(r, self.root)
            for p, v in expect.items():
                self.assertEqual(d[p][0], v, "member %d %s" % (i, p))
            if ref is None:
                ref = d
            self.assertEqual(d, ref, zktestlib.diff_dumps(d, ref))

    def _member_kill_keeps_session(self, victim):
        others = [i for i in range(3) if i != victim]
        hosts = self.cl.connect_string([victim] + others)
        zk = self.c(hosts, randomize=False, timeout=8.0)
        self.assertEqual(self.connected_member(zk), victim)
        states = []
        zk.add_listener(states.append)
        sid = zk.client_id[0]
        e = zk.create(self.root + "/eph", b"e", ephemeral=True)
        es = zk.create(self.root + "/eph-", ephemeral=True, sequence=True)
        self.cl.kill(victim)
        wait_for(lambda: KazooState.SUSPENDED in states, 10, what="SUSPENDED")
        wait_for(lambda: zk.connected and states[-1] == KazooState.CONNECTED, 20,
                 what="reconnect")
        self.assertNotIn(KazooState.LOST, states)
        self.assertEqual(zk.client_id[0], sid)
        self.assertIn(self.connected_member(zk), others)
        self.assertEqual(zk.exists(e).ephemeralOwner, sid)
        for i in others:
            r = self.c(self.cl.connect_string([i]))
            r.sync(self.root)
            self.assertEqual(r.exists(e).ephemeralOwner, sid)
            self.assertEqual(r.exists(es).ephemeralOwner, sid)
        zk.set(e, b"after")
        self.assertEqual(zk.get(e)[0], b"after")
        self.cl.start_one(victim)
        self.cl.wait_ready()
        r = self.c(self.cl.connect_string([victim]))
        r.sync(self.root)
        self.assertEqual(r.get(e)[0], b"after")
        self.assertEqual(r.exists(e).ephemeralOwner, sid)
        zk.stop()
        r.sync(self.root)
        self.assertIsNone(r.exists(e))

    def test_follower_kill_keeps_session(self):
        self._member_kill_keeps_session(self.cl.followers()[0])

    def test_leader_kill_keeps_session(self):
        self._member_kill_keeps_session(self.cl.leader())

    def test_watches_reregistered_on_another_member(self):
        """After its member dies, a client reattaches its session elsewhere
        and re-sends its watches with its last zxid (setWatches2, as the
        Java and C clients do; Kazoo 2.8 drops watches on disconnect, so this
        is raw).  The new member fires at once those whose nodes changed
        since that zxid and keeps the others armed."""
        cl = self.cl
        m = cl.followers()[0]
        other = [i for i in range(3) if i != m]
        R = self.root
        w = self.c(cl.connect_string([other[0]]))
        for n in ("x", "y", "w", "gone", "pw", "pr"):
            w.create(R + "/" + n, b"0")
        r = RawClient("127.0.0.1", cl.client_port(m), timeout_ms=8000)
        try:
            r.sync(R)
            r.get(R + "/x", watch=True)
            r.children(R + "/y", watch=True)
            self.assertIsNone(r.exists(R + "/z", watch=True))
            r.get(R + "/w", watch=True)
            r.get(R + "/gone", watch=True)
            r.children(R + "/w", watch=True)
            r.add_watch(R + "/pw", zkproto.PERSISTENT_WATCH)
            r.add_watch(R + "/pr", zkproto.PERSISTENT_RECURSIVE_WATCH)
            sid, pw, last = r.session_id, r.passwd, r.last_zxid
            cl.kill(m)
            r.close_socket()
            w.set(R + "/x", b"1")
            w.create(R + "/y/kid")
            w.create(R + "/z", b"z")
            w.delete(R + "/gone")
            w.set(R + "/pw", b"1")
            w.create(R + "/pr/a")
            w.sync(R)
            r = RawClient("127.0.0.1", cl.client_port(other[1]), session_id=sid,
                          passwd=pw, last_zxid=last, timeout_ms=8000)
            self.assertEqual(r.session_id, sid)
            r.set_watches(last, data=[R + "/x", R + "/w", R + "/gone"], exist=[R + "/z"],
                          child=[R + "/y", R + "/w"], persistent=[R + "/pw"],
                          recursive=[R + "/pr"])
            r.sync(R)
            got = sorted((zkproto.EV[t], p) for t, s, p in r.drain_events(0.3))
            # persistent watches are re-armed but not fired for the past
            self.assertEqual(got, sorted([("NodeDataChanged", R + "/x"),
                                          ("NodeChildrenChanged", R + "/y"),
                                          ("NodeCreated", R + "/z"),
                                          ("NodeDeleted", R + "/gone")]))
            # the others are armed on the new member
            w.set(R + "/w", b"1")
            w.create(R + "/w/kid")
            w.set(R + "/pw", b"2")
            w.create(R + "/pr/b")
            w.set(R + "/x", b"2")        # fired already: no event
            w.sync(R)
            r.sync(R)
            got = sorted((zkproto.EV[t], p) for t, s, p in r.drain_events(0.3))
            self.assertEqual(got, sorted([("NodeDataChanged", R + "/w"),
                                          ("NodeChildrenChanged", R + "/w"),
                                          ("NodeDataChanged", R + "/pw"),
                                          ("NodeCreated", R + "/pr/b")]))
            # plain setWatches (no persistent lists) after another hop
            last = r.last_zxid
            r.get(R + "/x", watch=True)
            r.close_socket()
            w.set(R + "/x", b"3")
            w.sync(R)
            r = RawClient("127.0.0.1", cl.client_port(other[0]), session_id=sid,
                          passwd=pw, last_zxid=last, timeout_ms=8000)
            r.set_watches(last, data=[R + "/x"])
            r.sync(R)
            self.assertEqual([(zkproto.EV[t], p) for t, s, p in r.drain_events(0.3)],
                             [("NodeDataChanged", R + "/x")])
            r.close()
        finally:
            r.close_socket()
            if not cl.alive(m):
                cl.start_one(m)
            cl.wait_ready()

    def test_kazoo_watch_after_reconnect(self):
        """Kazoo 2.8 itself drops its watches on a disconnect (it calls them
        with a NONE event); watches set after reconnecting to another
        member work."""
        cl = self.cl
        m = cl.followers()[0]
        others = [i for i in range(3) if i != m]
        zk = self.c(cl.connect_string([m] + others), randomize=False)
        w = self.c(cl.connect_string([others[0]]))
        p = zk.create(self.root + "/kw", b"0")
        ev = Events()
        zk.get(p, watch=ev)
        cl.kill(m)
        self.assertEqual(ev.q.get(timeout=10).type, EventType.NONE)
        wait_for(lambda: zk.connected, 20, what="reconnect")
        ev2 = Events()
        self.assertEqual(zk.get(p, watch=ev2)[0], b"0")
        w.set(p, b"1")
        self.assertEqual(ev2.get().type, EventType.CHANGED)
        cl.start_one(m)
        cl.wait_ready()

    def test_writes_through_every_member(self):
        zs = [self.c(self.cl.connect_string([i])) for i in range(3)]
        for k in range(30):
            zs[k % 3].create("%s/k%02d" % (self.root, k), b"%d" % k)
        t = zs[1].transaction()
        t.create(self.root + "/tx1")
        t.create(self.root + "/tx2")
        t.commit()
        czx = []
        for i, z in enumerate(zs):
            z.sync(self.root)
            kids = z.get_children(self.root)
            self.assertEqual(len(kids), 32, "member %d" % i)
            czx.append([z.exists("%s/k%02d" % (self.root, k)).czxid for k in range(30)])
        self.assertEqual(czx[0], czx[1])
        self.assertEqual(czx[0], czx[2])
        self.assertEqual(czx[0], sorted(czx[0]), "zxids follow the write order")
        self.assertEqual(len(set(czx[0])), 30)

    def test_old_connection_of_a_moved_session_cannot_write(self):
        # ZooKeeper: once a session has reattached to another member, a
        # write on its old connection fails with SessionMoved and that
        # connection is closed (the client sees the connection drop).
        a = self.c(self.cl.connect_string([0]))
        sid, pw = a.client_id
        b = self.c(self.cl.connect_string([1]), client_id=(sid, pw))
        self.assertEqual(b.client_id[0], sid)
        b.create(self.root + "/moved-b", b"")
        # The old connection's write fails or, if the client library retries
        # it on a new connection, that reattaches the session to member 0;
        # either way member 1's connection then loses its own writes.
        try:
            a.create(self.root + "/moved-a", b"")
            moved_back = True
        except KazooException:
            moved_back = False
        if moved_back:
            with self.assertRaises(KazooException):
                b.create(self.root + "/moved-b2", b"")
            b = self.c(self.cl.connect_string([1]), client_id=(sid, pw))
        b.sync(self.root)
        self.assertEqual(b.exists(self.root + "/moved-a") is not None,
                         moved_back)
        self.assertIsNotNone(b.exists(self.root + "/moved-b"))
        self.assertIsNone(b.exists(self.root + "/moved-b2"))



class Observers(unittest.TestCase):
    """Three voters and one observer: the observer serves reads, writes
    (forwarded) and watches, never counts toward a quorum, and follows a
    new leader after the old one is killed."""

    @classmethod
    def setUpClass(cls):
        cls.cl = new_cluster(4, cls.__name__, observers=1)
        cls.cl.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()
        cls.cl.kill_all()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        close(*self.clients)

    def c(self, member):
        z = client(self.cl.connect_string([member]))
        self.clients.append(z)
        return z

    def mode(self, member):
        out = self.cl.four_letter(member, "srvr")
        return [l.split(": ", 1)[1] for l in out.splitlines()
                if l.startswith("Mode: ")][0]

    def test_observer_serves_and_follows_a_new_leader(self):
        self.assertEqual(self.mode(3), "observer")
        obs, voter = self.c(3), self.c(0)
        obs.create("/obs", b"1")                     # forwarded
        voter.sync("/obs")
        self.assertEqual(voter.get("/obs")[0], b"1")
        ev = Events()
        obs.get("/obs", watch=ev)
        voter.set("/obs", b"2")
        self.assertEqual(ev.get().type, EventType.CHANGED)
        self.assertEqual(obs.get("/obs")[0], b"2")
        old = self.cl.leader()
        self.cl.kill(old)
        self.cl.wait_ready(timeout=60,
                           members=[i for i in range(4) if i != old])
        self.assertNotEqual(self.cl.leader(), 3, "an observer never leads")
        w = self.c([i for i in range(3) if i != old][0])
        w.set("/obs", b"3")
        obs.sync("/obs")
        self.assertEqual(obs.get("/obs")[0], b"3")
        self.assertEqual(self.mode(3), "observer")


if __name__ == "__main__":
    main()
