#!/usr/bin/python3
"""zkcluster -- start, stop, kill and inspect a local ZooKeeper-compatible
ensemble made of real server processes, for the real-client test battery.

The same harness drives Apache ZooKeeper 3.8 (impl "zookeeper", the
reference) and zabd (impl "zabd"); nothing here depends on anything but
the zoo.cfg/myid files, the client port, the `srvr` four-letter word and
process behaviour (signals, restart from the same dataDir).

Library use:

    from zkcluster import Cluster
    with Cluster("zookeeper", 3, "/tmp/w") as c:   # or Cluster(...); c.start()
        c.start()                  # all members, waits until serving
        hosts = c.connect_string() # "127.0.0.1:p1,127.0.0.1:p2,..."
        i = c.leader()             # 0-based index of the member in Mode: leader
        c.kill(i)                  # SIGKILL (whole process group)
        c.wait_ready()             # the survivors elect a new leader
        c.restart(i)               # start it again on the same dataDir
    # stop() on exit: SIGTERM, then SIGKILL after a grace period

Members are indexed 0..n-1 in the API; member i has myid i+1.
Files: workdir/s<id>/zoo.cfg, workdir/s<id>/data/{myid,...},
workdir/s<id>.log (everything the server prints, plus log4j output for
ZooKeeper).

Environment:
  ZABD             zabd binary (default: <repo>/build/zabd)
  ZKC_BASE_PORT    first port to use (3*n consecutive ports); default: probe
  ZKC_TICK         tickTime in ms (default 200)
  ZKC_JAVA         java binary (default: java on PATH)
  ZKC_EXTRA_CFG    extra zoo.cfg lines, separated by ';'

TLS (test_tls.py): Cluster(..., secure=True) gives member i a
secureClientPort, secure_port(i); plain=False leaves the plaintext
clientPort out (a TLS-only server: srvr cannot reach it, so start it with
wait=False).  "{myid}" in an extra_cfg line is replaced by the member's id
(a key store per member).

Command line:
  zkcluster.py up [--impl zookeeper|zabd] [-n N] [--dir D] [--base-port P]
      start an ensemble, print its connect string, run until Ctrl-C/SIGTERM
  zkcluster.py 4lw HOST:PORT WORD
      send a four-letter word and print the answer
"""

import atexit
import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

IMPLS = ("zookeeper", "zabd")
SERVING_MODES = ("leader", "follower", "standalone", "observer")


# ---------------------------------------------------------------------------
# Four-letter words

def four_letter(host, port, word, timeout=2.0):
    """Sends a four-letter word over a plain TCP connection and returns the
    whole answer (the server closes the connection after answering).
    Raises OSError when the server cannot be reached."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(word.encode("ascii"))
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode("utf-8", "replace")


def parse_srvr(text):
    """Parses srvr/stat output into a dict of "Key: value" lines (the
    client list of `stat` is skipped)."""
    out = {}
    for line in text.splitlines():
        if ": " in line and not line.startswith(" "):
            k, v = line.split(": ", 1)
            out[k.strip()] = v.strip()
    return out


# ---------------------------------------------------------------------------
# Process bookkeeping: every server we start is remembered here until it is
# reaped, and killed (with its whole process group) on interpreter exit or
# on SIGTERM/SIGINT/SIGHUP.

_live = {}            # pid -> Popen
_live_lock = threading.Lock()
_handlers_installed = False


def _kill_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all_servers():
    """SIGKILLs every server process (group) this interpreter started."""
    with _live_lock:
        procs = list(_live.values())
        _live.clear()
    for p in procs:
        _kill_group(p.pid, signal.SIGKILL)
    for p in procs:
        try:
            p.wait(timeout=5)
        except Exception:
            pass


def _on_signal(signum, frame):
    kill_all_servers()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(kill_all_servers)
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            try:
                if signal.getsignal(s) in (signal.SIG_DFL, signal.default_int_handler):
                    signal.signal(s, _on_signal)
            except (ValueError, OSError):
                pass


# ---------------------------------------------------------------------------
# Ports

def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_base_port(count, lo=20000, hi=60000, tries=200):
    """A base such that base..base+count-1 are all bindable on 127.0.0.1
    (random, so that concurrent runs rarely collide)."""
    rnd = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(tries):
        base = rnd.randrange(lo, hi - count)
        if all(_port_free(base + k) for k in range(count)):
            return base
    raise RuntimeError("no block of %d free ports found" % count)


# ---------------------------------------------------------------------------
# Apache ZooKeeper command line

def java_classpath():
    """The Debian ZooKeeper jars plus an slf4j->log4j 1.2 binding.
    zookeeper.jar's manifest names the rest (netty, commons-cli, ...)."""
    jd = "/usr/share/java"
    names = ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar",
             "slf4j-log4j12.jar", "log4j-1.2.jar", "commons-cli.jar",
             "metrics-core.jar", "snappy-java.jar", "netty-buffer.jar",
             "netty-codec.jar", "netty-common.jar", "netty-handler.jar",
             "netty-resolver.jar", "netty-transport.jar",
             "netty-transport-native-epoll.jar",
             "netty-transport-native-unix-common.jar"]
    cp = [os.path.join(jd, n) for n in names if os.path.exists(os.path.join(jd, n))]
    if not cp or not cp[0].endswith("zookeeper.jar"):
        alt = sorted(glob.glob(jd + "/zookeeper-3*.jar"))
        if not alt:
            raise RuntimeError("Apache ZooKeeper jars not found in " + jd)
    return ":".join(cp)


LOG4J = """\
log4j.rootLogger=INFO, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File={log}
log4j.appender.F.Append=true
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=%d{{ISO8601}} %-5p [%t:%C{{1}}@%L] - %m%n
"""


# ---------------------------------------------------------------------------

class ClusterError(Exception):
    pass


class Cluster(object):
    """A local ensemble of n real server processes (n=1: standalone)."""

    def __init__(self, impl, n, workdir=None, base_port=None, tick=None,
                 extra_cfg=None, java_opts=None, quiet=True, observers=0,
                 secure=False, plain=True):
        if impl not in IMPLS:
            raise ValueError("impl must be one of %r" % (IMPLS,))
        self.impl = impl
        self.n = int(n)
        # The last `observers` members are observers (":observer" on their
        # server line, peerType=observer in their own zoo.cfg).
        self.observers = int(observers)
        self.secure, self.plain = bool(secure), bool(plain)
        self._own_workdir = workdir is None
        self.workdir = os.path.abspath(workdir or tempfile.mkdtemp(prefix="zkc-"))
        os.makedirs(self.workdir, exist_ok=True)
        if base_port is None and os.environ.get("ZKC_BASE_PORT"):
            base_port = int(os.environ["ZKC_BASE_PORT"])
        self.base_port = base_port or pick_base_port((4 if secure else 3) * self.n)
        self.tick = int(tick or os.environ.get("ZKC_TICK", "200"))
        self.extra_cfg = list(extra_cfg or [])
        env_extra = os.environ.get("ZKC_EXTRA_CFG", "")
        self.extra_cfg += [l.strip() for l in env_extra.split(";") if l.strip()]
        self.java_opts = list(java_opts or [])
        self.quiet = quiet
        self.procs = [None] * self.n
        self.starts = [0] * self.n
        _install_handlers()
        self.write_config()

    # -- layout -------------------------------------------------------------
    def is_observer(self, i):
        return i >= self.n - self.observers

    def client_port(self, i):
        return self.base_port + i

    def quorum_port(self, i):
        return self.base_port + self.n + i

    def election_port(self, i):
        return self.base_port + 2 * self.n + i

    def secure_port(self, i):
        return self.base_port + 3 * self.n + i

    def secure_connect_string(self, members=None):
        if members is None:
            members = range(self.n)
        elif isinstance(members, int):
            members = [members]
        return ",".join("127.0.0.1:%d" % self.secure_port(i) for i in members)

    def server_dir(self, i):
        return os.path.join(self.workdir, "s%d" % (i + 1))

    def data_dir(self, i):
        return os.path.join(self.server_dir(i), "data")

    def cfg_path(self, i):
        return os.path.join(self.server_dir(i), "zoo.cfg")

    def log_path(self, i):
        return os.path.join(self.workdir, "s%d.log" % (i + 1))

    def address(self, i):
        return "127.0.0.1:%d" % self.client_port(i)

    def connect_string(self, members=None):
        if members is None:
            members = range(self.n)
        elif isinstance(members, int):
            members = [members]
        return ",".join(self.address(i) for i in members)

    def write_config(self):
        for i in range(self.n):
            os.makedirs(self.data_dir(i), exist_ok=True)
            lines = [
                "# written by test/cluster/zkcluster.py (impl %s)" % self.impl,
                "tickTime=%d" % self.tick,
                "initLimit=25",
                "syncLimit=10",
                "dataDir=%s" % self.data_dir(i),
            ]
            if self.plain:
                lines += ["clientPort=%d" % self.client_port(i),
                          "clientPortAddress=127.0.0.1"]
            if self.secure:
                lines += ["secureClientPort=%d" % self.secure_port(i),
                          "secureClientPortAddress=127.0.0.1"]
            lines += [
                "maxClientCnxns=0",
                "minSessionTimeout=%d" % (2 * self.tick),
                "maxSessionTimeout=60000",
                "4lw.commands.whitelist=*",
                "admin.enableServer=false",
                # ZooKeeper stores unknown keys as system properties
                # "zookeeper.<key>": this enables TTL nodes.
                "extendedTypesEnabled=true",
            ]
            if self.impl == "zabd":
                # The same check interval ZooKeeper gets as -D below.
                lines.append("znode.container.checkIntervalMs=500")
            if self.n > 1:
                for j in range(self.n):
                    lines.append("server.%d=127.0.0.1:%d:%d%s" % (
                        j + 1, self.quorum_port(j), self.election_port(j),
                        ":observer" if self.is_observer(j) else ""))
                if self.is_observer(i):
                    lines.append("peerType=observer")
            lines += [l.replace("{myid}", str(i + 1)) for l in self.extra_cfg]
            with open(self.cfg_path(i), "w") as f:
                f.write("\n".join(lines) + "\n")
            if self.n > 1:
                with open(os.path.join(self.data_dir(i), "myid"), "w") as f:
                    f.write("%d\n" % (i + 1))
            if self.impl == "zookeeper":
                with open(os.path.join(self.server_dir(i), "log4j.properties"), "w") as f:
                    f.write(LOG4J.format(log=self.log_path(i)))

    # -- commands -------------------------------------------------------------
    def command(self, i):
        if self.impl == "zabd":
            zabd = os.environ.get("ZABD") or os.path.join(REPO, "build", "zabd")
            if not os.access(zabd, os.X_OK):
                raise ClusterError("zabd binary not found: %s (set ZABD)" % zabd)
            return [zabd, self.cfg_path(i)]
        java = os.environ.get("ZKC_JAVA") or shutil.which("java") or "/usr/bin/java"
        main = ("org.apache.zookeeper.server.quorum.QuorumPeerMain" if self.n > 1
                else "org.apache.zookeeper.server.ZooKeeperServerMain")
        return [java, "-Xmx256m", "-Xms64m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Xss512k", "-Djava.awt.headless=true",
                "-Dlog4j.configuration=file:" +
                os.path.join(self.server_dir(i), "log4j.properties"),
                "-Dzookeeper.log.dir=" + self.workdir,
                "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.jmx.log4j.disable=true",
                # ContainerManager's period (ZooKeeper reads it only as a
                # system property; default 60 s) for container/TTL tests.
                "-Dznode.container.checkIntervalMs=500",
                ] + self.java_opts + ["-cp", java_classpath(), main, self.cfg_path(i)]

    # -- process control ------------------------------------------------------
    def alive(self, i):
        p = self.procs[i]
        return p is not None and p.poll() is None

    def live_members(self):
        return [i for i in range(self.n) if self.alive(i)]

    def start_one(self, i):
        if self.alive(i):
            raise ClusterError("member %d already running" % i)
        cmd = self.command(i)
        if (shutil.which("setpriv") and
                threading.current_thread() is threading.main_thread()):
            # the server dies with us even if we are SIGKILLed
            cmd = ["setpriv", "--pdeathsig", "KILL", "--"] + cmd
        logf = open(self.log_path(i), "ab")
        logf.write(("\n==== zkcluster: starting member %d (myid %d) at %s: %s\n" % (
            i, i + 1, time.strftime("%H:%M:%S"), " ".join(cmd))).encode())
        logf.flush()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, cwd=self.server_dir(i),
                             start_new_session=True, close_fds=True)
        logf.close()
        with _live_lock:
            _live[p.pid] = p
        self.procs[i] = p
        self.starts[i] += 1
        with open(os.path.join(self.server_dir(i), "pid"), "w") as f:
            f.write("%d\n" % p.pid)
        return p

    def _reap(self, i, timeout):
        p = self.procs[i]
        if p is None:
            return None
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        _kill_group(p.pid, signal.SIGKILL)   # stragglers in its group
        with _live_lock:
            _live.pop(p.pid, None)
        return rc

    def kill(self, i):
        """SIGKILL member i (and its process group); waits until it is gone."""
        p = self.procs[i]
        if p is None:
            return None
        _kill_group(p.pid, signal.SIGKILL)
        rc = self._reap(i, 30)
        self.procs[i] = None
        return rc

    def signal(self, i, sig):
        p = self.procs[i]
        if p is not None and p.poll() is None:
            _kill_group(p.pid, sig)

    def stop_one(self, i, grace=10.0):
        """SIGTERM member i, SIGKILL after `grace` seconds. Returns the exit
        status (negative: killed by that signal; None: was not running)."""
        p = self.procs[i]
        if p is None:
            return None
        if p.poll() is None:
            _kill_group(p.pid, signal.SIGTERM)
            rc = self._reap(i, grace)
            if rc is None:
                sys.stderr.write("zkcluster: member %d ignored SIGTERM for %.0fs, "
                                 "SIGKILL\n" % (i, grace))
                _kill_group(p.pid, signal.SIGKILL)
                rc = self._reap(i, 30)
        else:
            rc = self._reap(i, 0)
        self.procs[i] = None
        return rc

    def start(self, wait=True, timeout=60):
        for i in range(self.n):
            if not self.alive(i):
                self.start_one(i)
        if wait:
            self.wait_ready(timeout=timeout)
        return self

    def stop(self, grace=10.0):
        """Stops every member (SIGTERM in parallel, SIGKILL after grace)."""
        for i in range(self.n):
            if self.alive(i):
                _kill_group(self.procs[i].pid, signal.SIGTERM)
        deadline = time.time() + grace
        rcs = {}
        for i in range(self.n):
            if self.procs[i] is not None:
                rcs[i] = self.stop_one(i, grace=max(0.1, deadline - time.time()))
        return rcs

    def kill_all(self):
        for i in range(self.n):
            if self.procs[i] is not None:
                _kill_group(self.procs[i].pid, signal.SIGKILL)
        for i in range(self.n):
            self.kill(i)

    def restart(self, i, hard=False, wait=True, timeout=60):
        """Restarts member i on its dataDir (SIGKILL first if hard, else a
        clean stop), then optionally waits until the ensemble is serving."""
        if self.procs[i] is not None:
            if hard:
                self.kill(i)
            else:
                self.stop_one(i)
        self.start_one(i)
        if wait:
            self.wait_ready(timeout=timeout)

    def cleanup(self, remove=None):
        """Kills everything; removes the workdir if we created it (or if
        remove=True), unless ZKC_KEEP is set."""
        self.kill_all()
        if remove is None:
            remove = self._own_workdir
        if remove and not os.environ.get("ZKC_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(grace=5.0)
        self.kill_all()
        return False

    # -- inspection -----------------------------------------------------------
    def four_letter(self, i, word, timeout=2.0):
        return four_letter("127.0.0.1", self.client_port(i), word, timeout)

    def srvr(self, i, timeout=2.0):
        """srvr of member i as a dict ({} when unreachable)."""
        try:
            return parse_srvr(self.four_letter(i, "srvr", timeout))
        except OSError:
            return {}

    def mode(self, i):
        return self.srvr(i).get("Mode")

    def zxid(self, i):
        z = self.srvr(i).get("Zxid")
        return int(z, 16) if z else None

    def _ready_state(self, members):
        modes = {}
        for i in members:
            if not self.alive(i):
                raise ClusterError("member %d exited (rc %s); log tail:\n%s" % (
                    i, self.procs[i].poll() if self.procs[i] else None,
                    self.log_tail(i)))
            modes[i] = self.mode(i)
        ok = all(m in SERVING_MODES for m in modes.values())
        if ok and self.n > 1:
            ok = sum(1 for m in modes.values() if m == "leader") == 1
        return ok, modes

    def wait_ready(self, timeout=60, members=None):
        """Polls srvr until every live member (or `members`) serves, in a
        consistent state: exactly one leader among them for an ensemble.
        Returns {index: mode}."""
        if members is None:
            members = self.live_members()
        deadline = time.time() + timeout
        modes = {}
        while True:
            ok, modes = self._ready_state(members)
            if ok:
                return modes
            if time.time() > deadline:
                raise ClusterError("not ready after %.0fs: modes %r\n%s" % (
                    timeout, modes, "\n".join(
                        "--- member %d ---\n%s" % (i, self.log_tail(i, 15))
                        for i in members)))
            time.sleep(0.05)

    def leader(self):
        """Index of the live member whose srvr says Mode: leader (the
        standalone server for n=1), or None."""
        for i in self.live_members():
            m = self.mode(i)
            if m == "leader" or (self.n == 1 and m == "standalone"):
                return i
        return None

    def followers(self):
        return [i for i in self.live_members() if self.mode(i) == "follower"]

    def log_tail(self, i, lines=40):
        try:
            with open(self.log_path(i), "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - 200 * lines))
                data = f.read().decode("utf-8", "replace")
            return "\n".join(data.splitlines()[-lines:])
        except OSError:
            return "(no log)"


# ---------------------------------------------------------------------------

def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start an ensemble and run until interrupted")
    up.add_argument("--impl", default="zookeeper", choices=IMPLS)
    up.add_argument("-n", type=int, default=3)
    up.add_argument("--dir", default=None)
    up.add_argument("--base-port", type=int, default=None)
    fl = sub.add_parser("4lw", help="send a four-letter word")
    fl.add_argument("hostport")
    fl.add_argument("word")
    a = ap.parse_args(argv)
    if a.cmd == "4lw":
        h, p = a.hostport.rsplit(":", 1)
        sys.stdout.write(four_letter(h, int(p), a.word))
        return 0
    c = Cluster(a.impl, a.n, a.dir, a.base_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *x: stop.set())
    signal.signal(signal.SIGINT, lambda *x: stop.set())
    try:
        t0 = time.time()
        c.start()
        print("ready in %.1fs; workdir %s" % (time.time() - t0, c.workdir))
        print("connect string: %s" % c.connect_string())
        print("leader: member %s" % c.leader())
        sys.stdout.flush()
        while not stop.is_set():
            stop.wait(1)
    finally:
        c.stop()
        c.kill_all()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
