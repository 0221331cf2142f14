#!/usr/bin/python3
"""Apache ZooKeeper's own clients against the server under test:
  * test_cclient (test_cclient.c on the C client library zookeeper_mt),
    against a standalone server and a 3-member ensemble;
  * the C CLI /usr/lib/zookeeper/bin/cli_mt in batch mode (-c CMD);
  * the Java CLI zkCli.sh (one-shot commands and commands on stdin).
Their output is checked against what Kazoo reads back.

    /usr/bin/python3 test/cluster/test_cli.py
    CCLIENT=build/test_cclient ZK_IMPL=zabd /usr/bin/python3 test/cluster/test_cli.py

CCLIENT names a built test_cclient; without it the test compiles
test_cclient.c into its work directory (cc, -lzookeeper_mt).
"""

import os
import re
import shutil
import subprocess
import unittest

import sys
sys.dont_write_bytecode = True   # keep the source tree clean

from zktestlib import IMPL, new_cluster, client, close, main, workroot, HERE  # noqa

CLI_MT = os.environ.get("CLI_MT", "/usr/lib/zookeeper/bin/cli_mt")
ZKCLI = os.environ.get("ZKCLI", "/usr/share/zookeeper/bin/zkCli.sh")
_cclient = None


def cclient_binary():
    global _cclient
    if _cclient:
        return _cclient
    b = os.environ.get("CCLIENT")
    if b:
        _cclient = os.path.abspath(b)
        return _cclient
    out = os.path.join(workroot(), "test_cclient")
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-DTHREADED", "-Wall", "-Wextra",
           "-O2", "-o", out, os.path.join(HERE, "test_cclient.c"), "-lzookeeper_mt", "-lpthread"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise unittest.SkipTest("cannot build test_cclient: %s" % r.stdout)
    _cclient = out
    return out


def run(cmd, timeout=60, stdin=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    # both CLIs print results on stderr too: one merged stream
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, env=e)


class CClient(object):
    N = None

    @classmethod
    def setUpClass(cls):
        cls.cl = new_cluster(cls.N, cls.__name__)
        cls.cl.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()
        cls.cl.kill_all()

    def test_cclient(self):
        b = cclient_binary()
        args = [b, self.cl.connect_string([0])]
        if self.N > 1:
            args = [b, self.cl.connect_string([1]), self.cl.connect_string([2])]
        r = run(args, timeout=120)
        if r.returncode != 0:
            self.fail("test_cclient exited %d\n%s" % (r.returncode, r.stdout))
        self.assertIn("PASS: test_cclient", r.stdout)

    def test_cclient_all_members(self):
        # the C client with the whole ensemble in its host list
        r = run([cclient_binary(), self.cl.connect_string()], timeout=120)
        if r.returncode != 0:
            self.fail("test_cclient exited %d\n%s" % (r.returncode, r.stdout))


class CClientStandalone(CClient, unittest.TestCase):
    N = 1


class CClientEnsemble(CClient, unittest.TestCase):
    N = 3


class CLIs(unittest.TestCase):
    """cli_mt and zkCli.sh against a 3-member ensemble."""

    @classmethod
    def setUpClass(cls):
        cls.cl = new_cluster(3, cls.__name__)
        cls.cl.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()
        cls.cl.kill_all()

    def setUp(self):
        self.zk = client(self.cl.connect_string())

    def tearDown(self):
        close(self.zk)

    def climt(self, cmd, member=0):
        if not os.access(CLI_MT, os.X_OK):
            self.skipTest("%s not installed (zookeeper-bin)" % CLI_MT)
        r = run([CLI_MT, "-h", self.cl.connect_string([member]), "-c", cmd], timeout=20)
        self.assertEqual(r.returncode, 0, "cli_mt -c %r: %d\n%s" % (cmd, r.returncode, r.stdout))
        return r.stdout

    def test_cli_mt(self):
        """cli_mt batch mode: one command per run.  (Its `exists` never
        returns in batch mode in 3.8, whatever the server answers, so it
        is not used.)"""
        p = "/climt-%d" % os.getpid()
        out = self.climt("create %s" % p, 0)
        self.assertIn("[%s]: rc = 0" % p, out)
        self.assertIn("name = %s" % p, out)
        self.zk.sync(p)
        # cli_mt's create always stores the 3 bytes "new"
        self.assertEqual(self.zk.get(p)[0], b"new")
        out = self.climt("set %s payload" % p, 1)
        self.assertIn("%s: rc = 0" % p, out)
        self.assertIn("version=1", out)
        out = self.climt("get %s" % p, 2)
        data, st = self.zk.get(p)
        self.assertEqual(data, b"payload")
        self.assertIn("value_len = 7\npayload\n", out)
        self.assertIn("czxid=%x\n" % st.czxid, out)
        self.assertIn("mzxid=%x\n" % st.mzxid, out)
        self.assertIn("version=1\taversion=0", out)
        self.assertIn("ephemeralOwner = 0", out)
        out = self.climt("create +s %s/s-" % p, 0)
        self.assertIn("name = %s/s-0000000000" % p, out)
        out = self.climt("create +e %s/e" % p, 1)
        self.assertIn("name = %s/e" % p, out)
        out = self.climt("ls %s" % p, 2)
        self.assertIn("%s: rc = 0" % p, out)
        self.assertIn("\ts-0000000000\n", out)
        self.assertNotIn("\te\n", out, "the ephemeral went with cli_mt's session")
        out = self.climt("ls2 /", 0)
        self.assertIn("\t%s\n" % p[1:], out)
        self.assertIn("\tzookeeper\n", out)
        out = self.climt("delete %s" % p, 1)
        self.assertIn("%s: rc = -111" % p, out)          # ZNOTEMPTY
        out = self.climt("get %s/nope" % p, 2)
        self.assertIn("%s/nope: rc = -101" % p, out)     # ZNONODE
        out = self.climt("delete %s/s-0000000000" % p, 0)
        self.assertIn("rc = 0", out)
        out = self.climt("delete %s" % p, 1)
        self.assertIn("%s: rc = 0" % p, out)
        self.zk.sync("/")
        self.assertIsNone(self.zk.exists(p))

    def zkcli(self, member, args=(), stdin=None):
        if not os.access(ZKCLI, os.X_OK) or not shutil.which("java"):
            self.skipTest("zkCli.sh or java missing")
        env = {"CLIENT_JVMFLAGS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -Xmx128m"}
        return run([ZKCLI, "-server", self.cl.connect_string([member])] + list(args),
                   timeout=60, stdin=stdin, env=env)

    def test_zkcli(self):
        p = "/zkcli-%d" % os.getpid()
        r = self.zkcli(0, ["create", p, "hello"])
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("Created %s" % p, r.stdout)
        # several commands in one session, on stdin (no JLine: read line by line)
        script = "\n".join([
            "get %s" % p,
            "stat %s" % p,
            "ls /",
            "set %s world" % p,
            "get -s %s" % p,
            "create -s %s/s- x" % p,
            "create %s/k" % p,
            "delete %s" % p,
            "ls %s" % p,
            "delete %s/nope" % p,
            "quit", ""])
        r = self.zkcli(1, stdin=script)
        out = r.stdout
        self.zk.sync(p)
        data, st = self.zk.get(p)
        self.assertEqual(data, b"world")
        self.assertIn("\nhello\n", out)
        self.assertIn("\nworld\n", out)
        stat_first = re.search(r"cZxid = (0x[0-9a-f]+)\nctime = .*\nmZxid = (0x[0-9a-f]+)\n"
                               r"mtime = .*\npZxid = (0x[0-9a-f]+)\ncversion = (-?\d+)\n"
                               r"dataVersion = (\d+)\naclVersion = (\d+)\nephemeralOwner = (0x[0-9a-f]+)\n"
                               r"dataLength = (\d+)\nnumChildren = (\d+)", out)
        self.assertIsNotNone(stat_first, out)
        self.assertEqual(int(stat_first.group(1), 16), st.czxid)
        self.assertEqual(stat_first.groups()[3:], ("0", "0", "0", "0x0", "5", "0"))
        self.assertIn("dataVersion = 1\n", out)
        self.assertIn("mZxid = 0x%x\n" % st.mzxid, out)
        ls_root = re.search(r"^\[(.*)\]$", out, re.M)
        self.assertIsNotNone(ls_root, out)
        names = [x.strip() for x in ls_root.group(1).split(",")]
        self.assertIn(p[1:], names)
        self.assertIn("zookeeper", names)
        self.assertIn("Created %s/s-0000000000" % p, out)
        self.assertIn("Node not empty: %s" % p, out)
        self.assertIn("[k, s-0000000000]", out.replace("[s-0000000000, k]", "[k, s-0000000000]"))
        self.assertIn("Node does not exist: %s/nope" % p, out)
        # one-shot commands report failures in their exit status
        r = self.zkcli(2, ["get", p + "/nope"])
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("Node does not exist: %s/nope" % p, r.stdout)
        r = self.zkcli(2, ["deleteall", p])
        self.assertEqual(r.returncode, 0, r.stdout)
        self.zk.sync("/")
        self.assertIsNone(self.zk.exists(p))

    def test_zkcli_quota(self):
        """setquota/listquota/delquota: the limits are the client's, the
        stats the servers keep up to date as the subtree changes."""
        p = "/quota-%d" % os.getpid()
        self.zk.create(p, b"12345")
        self.zk.create(p + "/a", b"1234567890")
        script = "\n".join([
            "setquota -n 10 %s" % p,
            "create %s/b xyz" % p,
            "set %s/a 1" % p,
            "create %s/b/c" % p,
            "listquota %s" % p,
            "quit", ""])
        r = self.zkcli(0, stdin=script)
        out = r.stdout
        self.assertIn("Output quota for %s count=10,bytes=-1" % p, out)
        # p, a, b, b/c: 4 nodes; 5 + 1 + 3 + 0 bytes
        self.assertIn("Output stat for %s count=4,bytes=9" % p, out)
        for member in (1, 2):
            z = client(self.cl.connect_string([member]))
            try:
                z.sync(p)
                stats = z.get("/zookeeper/quota%s/zookeeper_stats" % p)[0]
                self.assertEqual(stats, b"count=4,bytes=9")
                z.delete(p + "/b/c")
                z.sync(p)
                stats = z.get("/zookeeper/quota%s/zookeeper_stats" % p)[0]
                self.assertEqual(stats, b"count=3,bytes=9")
                z.create(p + "/b/c", b"")
            finally:
                close(z)
        r = self.zkcli(1, ["delquota", p])
        self.assertEqual(r.returncode, 0, r.stdout)
        self.zk.sync("/")
        self.assertIsNone(self.zk.exists("/zookeeper/quota%s/zookeeper_limits" % p))
        self.zk.create(p + "/after", b"")       # no quota: nothing to update
        r = self.zkcli(2, ["deleteall", p])
        self.assertEqual(r.returncode, 0, r.stdout)


if __name__ == "__main__":
    main()
