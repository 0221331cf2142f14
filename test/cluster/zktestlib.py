"""Shared helpers for the real-client tests (test_kazoo.py, test_faults.py,
test_cli.py): the impl under test, workdirs, Kazoo client factory, waiting,
tree dumps for convergence checks, a tiny unittest main."""

import logging
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import zkcluster  # noqa: E402

from kazoo.client import KazooClient, TransactionRequest  # noqa: E402
from kazoo.retry import KazooRetry  # noqa: E402

# Every synchronous Kazoo call waits at most this long (Kazoo's own
# synchronous API waits forever), so that a server that never answers makes
# a test fail instead of hang.
OP_TIMEOUT = float(os.environ.get("ZKC_OP_TIMEOUT", "30"))


class TimedTransaction(TransactionRequest):
    def commit(self):
        return self.commit_async().get(timeout=OP_TIMEOUT)


class TimedKazooClient(KazooClient):
    """KazooClient whose blocking calls time out after OP_TIMEOUT seconds
    (KazooTimeoutError)."""

    def _t(self, a):
        return a.get(timeout=OP_TIMEOUT)

    def add_auth(self, scheme, credential):
        return self._t(self.add_auth_async(scheme, credential))

    def sync(self, path):
        return self._t(self.sync_async(path))

    def create(self, path, value=b"", acl=None, ephemeral=False, sequence=False,
               makepath=False, include_data=False):
        return self._t(self.create_async(path, value, acl=acl, ephemeral=ephemeral,
                                         sequence=sequence, makepath=makepath,
                                         include_data=include_data))

    def exists(self, path, watch=None):
        return self._t(self.exists_async(path, watch=watch))

    def get(self, path, watch=None):
        return self._t(self.get_async(path, watch=watch))

    def get_children(self, path, watch=None, include_data=False):
        return self._t(self.get_children_async(path, watch=watch, include_data=include_data))

    def get_acls(self, path):
        return self._t(self.get_acls_async(path))

    def set_acls(self, path, acls, version=-1):
        return self._t(self.set_acls_async(path, acls, version))

    def set(self, path, value, version=-1):
        return self._t(self.set_async(path, value, version))

    def delete(self, path, version=-1, recursive=False):
        if recursive:       # Kazoo does it with the calls above
            return KazooClient.delete(self, path, version, recursive)
        return self._t(self.delete_async(path, version))

    def transaction(self):
        return TimedTransaction(self)

IMPL = os.environ.get("ZK_IMPL", "zookeeper")
_workroot = None


def workroot():
    """Root for this process' cluster workdirs: $ZKC_WORKDIR or a tmpdir."""
    global _workroot
    if _workroot is None:
        r = os.environ.get("ZKC_WORKDIR")
        if r:
            os.makedirs(r, exist_ok=True)
            _workroot = r
        else:
            _workroot = tempfile.mkdtemp(prefix="zkc-tests-")
    return _workroot


def new_cluster(n, name, **kw):
    d = tempfile.mkdtemp(prefix=name + "-", dir=workroot())
    return zkcluster.Cluster(IMPL, n, d, **kw)


def client(hosts, timeout=8.0, start=True, randomize=True, **kw):
    """A Kazoo client that retries connecting forever (quickly) and never
    retries commands on its own (so each outcome is the server's)."""
    c = TimedKazooClient(hosts=hosts, timeout=timeout,
                    connection_retry=KazooRetry(max_tries=-1, delay=0.05,
                                                backoff=1.5, max_delay=0.5),
                    command_retry=None, randomize_hosts=randomize, **kw)
    if start:
        c.start(timeout=20)
    return c


def close(*clients):
    for c in clients:
        if c is None:
            continue
        try:
            c.stop()
        except Exception:
            pass
        try:
            c.close()
        except Exception:
            pass


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)




def dump(zk, root, with_stat=True):
    """{path: (data, stat)} for root and everything under it, read with
    pipelined async calls.  Children lists are compared as sets (order is
    not part of the contract)."""
    out = {}
    level = [root]
    while level:
        gets = [(p, zk.get_async(p)) for p in level]
        kids = [(p, zk.get_children_async(p)) for p in level]
        for p, a in gets:
            data, st = a.get(timeout=30)
            out[p] = (data, st if with_stat else None)
        nxt = []
        for p, a in kids:
            for k in a.get(timeout=30):
                nxt.append(p.rstrip("/") + "/" + k)
        level = nxt
    return out


def diff_dumps(a, b, limit=10):
    """Human-readable differences between two dumps ("" when equal)."""
    lines = []
    for p in sorted(set(a) | set(b)):
        if p not in a:
            lines.append("only in second: %s" % p)
        elif p not in b:
            lines.append("only in first: %s" % p)
        elif a[p] != b[p]:
            lines.append("differs: %s\n    %r\n    %r" % (p, a[p], b[p]))
        if len(lines) >= limit:
            lines.append("...")
            break
    return "\n".join(lines)


def member_client(cluster, i, timeout=8.0):
    return client(cluster.connect_string([i]), timeout=timeout)


def setup_logging():
    lvl = os.environ.get("ZKC_LOG", "ERROR").upper()
    logging.basicConfig(level=getattr(logging, lvl, logging.ERROR),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


class TimedResult(unittest.TextTestResult):
    """Records each test's wall time; main() prints the slowest."""
    durations = []

    def startTest(self, test):
        self._t0 = time.time()
        super().startTest(test)

    def stopTest(self, test):
        TimedResult.durations.append((time.time() - self._t0, test.id()))
        super().stopTest(test)


def main():
    """unittest.main, then: servers killed; a workroot we made ourselves is
    removed after a successful run (kept on failure, or with ZKC_KEEP)."""
    setup_logging()
    own = not os.environ.get("ZKC_WORKDIR")
    sys.stderr.write("impl=%s workroot=%s\n" % (IMPL, workroot()))
    runner = unittest.TextTestRunner(verbosity=2, resultclass=TimedResult)
    prog = unittest.main(testRunner=runner, exit=False)
    slow = sorted(TimedResult.durations, reverse=True)[:8]
    if slow:
        sys.stderr.write("slowest: %s\n" % ", ".join(
            "%s %.1fs" % (name.split(".", 1)[1], d) for d, name in slow))
    zkcluster.kill_all_servers()
    ok = prog.result.wasSuccessful()
    if own and ok and not os.environ.get("ZKC_KEEP"):
        import shutil
        shutil.rmtree(workroot(), ignore_errors=True)
    elif not ok:
        sys.stderr.write("server logs kept in %s\n" % workroot())
    sys.exit(0 if ok else 1)
