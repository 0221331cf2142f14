#!/usr/bin/python3
"""Run Kazoo's own test suite (Debian's python3-kazoo ships it as
kazoo.tests) against a zabd cluster instead of Apache ZooKeeper.

Kazoo's harness starts ZooKeeper through kazoo.testing.harness
.get_global_cluster(); we replace that function with one returning a
cluster of zabd processes that offers the same interface (servers with
.address/.running/.client_port, start/stop/terminate/reset), then run the
chosen test modules with unittest.  As Kazoo's own function does, it
builds a new cluster when ZOOKEEPER_JAAS_AUTH changes: with "digest" (set
by kazoo.tests.test_sasl) every server gets the JAAS file Kazoo's harness
gives ZooKeeper, named by java.security.auth.login.config in its zoo.cfg;
"gssapi" (Kerberos, which zabd does not do) skips the test.

usage: /usr/bin/python3 test/kazoo/run_suite.py [-z build/zabd] [-n 3]
                                                [-x SKIPFILE] [module...]
Modules default to the client, recipe and watcher suites.  SKIPFILE lists
test ids (one per line, '#' comments) that are known not to apply to
zabd, each with its reason; everything else must pass.  ZABD_KEEP=1
keeps the clusters' work directories (configurations and server logs).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import unittest.mock

# Kazoo's tests import the old standalone `mock` package; the standard
# library's unittest.mock is the same API.
sys.modules.setdefault("mock", unittest.mock)

import kazoo.testing.harness as harness  # noqa: E402

try:
    import pytest  # noqa: E402

    def _skip(reason="", *, allow_module_level=False, msg=None):
        raise unittest.SkipTest(msg or reason)
    # Some of Kazoo's tests skip themselves with pytest.skip(), whose
    # exception unittest would count as an error.
    pytest.skip = _skip
except ImportError:
    pass

DEFAULT_MODULES = [
    "kazoo.tests.test_client",
    "kazoo.tests.test_connection",
    "kazoo.tests.test_watchers",
    "kazoo.tests.test_lock",
    "kazoo.tests.test_election",
    "kazoo.tests.test_barrier",
    "kazoo.tests.test_counter",
    "kazoo.tests.test_party",
    "kazoo.tests.test_queue",
    "kazoo.tests.test_lease",
    "kazoo.tests.test_partitioner",
    "kazoo.tests.test_cache",
    "kazoo.tests.test_paths",
    "kazoo.tests.test_retry",
    "kazoo.tests.test_exceptions",
    "kazoo.tests.test_hosts",
    "kazoo.tests.test_interrupt",
    "kazoo.tests.test_sasl",
]

# What kazoo.testing.harness writes for ZOOKEEPER_JAAS_AUTH=digest (and
# the authProvider line its zoo.cfg always has).
JAAS_DIGEST = """
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ZabdServer(object):
    def __init__(self, cluster, myid):
        self.cluster = cluster
        self.myid = myid
        self.host = "127.0.0.1"
        self.process = None
        self.data = os.path.join(cluster.workdir, "data%d" % myid)
        self.cfg = os.path.join(cluster.workdir, "zoo%d.cfg" % myid)

    @property
    def client_port(self):
        return self.cluster.client_ports[self.myid]

    @property
    def address(self):
        return "%s:%d" % (self.host, self.client_port)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def run(self):
        if self.running:
            return
        os.makedirs(self.data, exist_ok=True)
        with open(os.path.join(self.data, "myid"), "w") as f:
            f.write("%d\n" % self.myid)
        c = self.cluster
        lines = ["tickTime=2000", "initLimit=10", "syncLimit=5",
                 "dataDir=%s" % self.data,
                 "clientPort=%d" % self.client_port,
                 "maxClientCnxns=0", "4lw.commands.whitelist=*",
                 "zookeeper.extendedTypesEnabled=true",
                 # Kazoo's harness starts ZooKeeper with
                 # -Dreadonlymode.enabled=true, reconfigEnabled=true and
                 # the super user "super:test"
                 "readonlymode.enabled=true",
                 "reconfigEnabled=true",
                 "DigestAuthenticationProvider.superDigest="
                 "super:D/InIHSb7yEEbrWz8b9l71RjZJU="]
        if c.jaas_path:
            lines += ["authProvider.1=org.apache.zookeeper.server.auth."
                      "SASLAuthenticationProvider",
                      "java.security.auth.login.config=%s" % c.jaas_path]
        if c.size > 1:
            for i in range(1, c.size + 1):
                lines.append("server.%d=127.0.0.1:%d:%d" %
                             (i, c.quorum_ports[i], c.election_ports[i]))
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        log = open(os.path.join(c.workdir, "zabd%d.log" % self.myid), "a")
        self.process = subprocess.Popen([c.zabd, self.cfg], stdout=log,
                                        stderr=subprocess.STDOUT)

    def stop(self):
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    def reset(self):
        self.destroy()


class ZabdCluster(object):
    def __init__(self, zabd, size, jaas_auth=None):
        self.zabd = os.path.abspath(zabd)
        self.size = size
        self.jaas_auth = jaas_auth
        self.workdir = tempfile.mkdtemp(prefix="zabd-kazoo-")
        self.jaas_path = None
        if jaas_auth == "digest":
            self.jaas_path = os.path.join(self.workdir, "jaas.conf")
            with open(self.jaas_path, "w") as f:
                f.write(JAAS_DIGEST)
        ids = range(1, size + 1)
        self.client_ports = {i: free_port() for i in ids}
        self.quorum_ports = {i: free_port() for i in ids}
        self.election_ports = {i: free_port() for i in ids}
        self._servers = [ZabdServer(self, i) for i in ids]

    def __getitem__(self, k):
        return self._servers[k]

    def __iter__(self):
        return iter(self._servers)

    def start(self):
        for s in self._servers:
            s.run()
        deadline = time.time() + 20
        while time.time() < deadline:
            if all(self._serving(s) for s in self._servers if s.running):
                return
            time.sleep(0.05)
        raise RuntimeError("zabd cluster did not start; logs in %s" %
                           self.workdir)

    def _serving(self, s):
        try:
            sock = socket.create_connection((s.host, s.client_port), 1)
            sock.sendall(b"srvr")
            out = sock.recv(4096).decode()
            sock.close()
            return any(m in out for m in ("Mode: leader", "Mode: follower",
                                           "Mode: standalone"))
        except OSError:
            return False

    def stop(self):
        for s in self._servers:
            s.stop()

    def terminate(self):
        for s in self._servers:
            s.destroy()
        if not os.environ.get("ZABD_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def reset(self):
        for s in self._servers:
            s.reset()


CLUSTER = None
ARGS = None


def get_global_cluster():
    """kazoo.testing.harness.get_global_cluster for zabd: a new cluster
    when the test changed ZOOKEEPER_JAAS_AUTH."""
    global CLUSTER
    auth = os.environ.get("ZOOKEEPER_JAAS_AUTH") or None
    if auth not in (None, "digest"):
        raise unittest.SkipTest("ZOOKEEPER_JAAS_AUTH=%s: zabd does SASL "
                                "DIGEST-MD5 only" % auth)
    if CLUSTER is not None and CLUSTER.jaas_auth != auth:
        CLUSTER.terminate()
        CLUSTER = None
    if CLUSTER is None:
        CLUSTER = ZabdCluster(ARGS.zabd, ARGS.size, auth)
        harness.CLUSTER = CLUSTER
    return CLUSTER


def main():
    global CLUSTER, ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("-z", "--zabd", default="build/zabd")
    ap.add_argument("-n", "--size", type=int, default=3)
    ap.add_argument("-x", "--skip", default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("modules", nargs="*")
    args = ARGS = ap.parse_args()
    os.environ.pop("ZOOKEEPER_JAAS_AUTH", None)

    harness.get_global_cluster = get_global_cluster
    get_global_cluster()

    def bye(*_):
        if CLUSTER is not None:
            CLUSTER.terminate()
        sys.exit(130)
    signal.signal(signal.SIGINT, bye)
    signal.signal(signal.SIGTERM, bye)

    skip = {}
    if args.skip:
        with open(args.skip) as f:
            for line in f:
                line = line.split("#", 1)
                tid = line[0].strip()
                if tid:
                    skip[tid] = line[1].strip() if len(line) > 1 else ""

    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for m in args.modules or DEFAULT_MODULES:
        suite.addTests(loader.loadTestsFromName(m))

    def filtered(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from filtered(t)
            elif t.id() in skip:
                continue
            else:
                yield t
    tests = unittest.TestSuite(list(filtered(suite)))
    t0 = time.time()
    try:
        CLUSTER.start()
        result = unittest.TextTestRunner(
            verbosity=2 if args.verbose else 1).run(tests)
    finally:
        if CLUSTER is not None:
            CLUSTER.terminate()
    print("kazoo suite against zabd: %d run, %d failures, %d errors, "
          "%d skipped by the suite, %d not applicable (skip file), %.0fs" %
          (result.testsRun, len(result.failures), len(result.errors),
           len(result.skipped), len(skip), time.time() - t0))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
