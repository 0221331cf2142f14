#!/usr/bin/python3
"""Reproduces a zabd bug found by the recipe tests: a session can expire
before its timeout has elapsed since the client's last request.

A follower reports the sessions it heard from to the leader every
tickTime/2 (client_touch_report() in examples/server/client.c), but it
walks only the connections still open.  A client whose connection to the
follower closes before the next report -- killed, or reconnecting
elsewhere -- loses its last touch, and the leader expires the session one
timeout after an older one.  Apache ZooKeeper keeps follower touches per
session (LearnerSessionTracker), independent of the connection.

The victim (Kazoo, connected to a follower only, 2 s session) creates an
ephemeral node, stays idle IDLE seconds (shorter than Kazoo's ping
interval), makes one request and SIGKILLs itself right after the reply.
A watcher times the node's deletion from that last request.  ZooKeeper's
contract: never less than the session timeout.

usage: /usr/bin/python3 test/recipes/repro_touch_expiry.py [zabd|zookeeper]
Expected (ZooKeeper 3.8): every line >= 2.0 s.  zabd at HEAD: about
2.0 - IDLE s (1.8 s after 0.3 s idle, 1.6 s after 0.5 s).
"""
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "cluster"))
from zkcluster import Cluster  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

VICTIM = r'''
import os, sys, time, signal
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=2.0)
zk.start()
zk.create("/t/" + sys.argv[2], b"", ephemeral=True, makepath=True)
time.sleep(float(sys.argv[3]))
zk.get("/")                                   # the last request
sys.stdout.write("%.6f\n" % time.time())
sys.stdout.flush()
os.kill(os.getpid(), signal.SIGKILL)
'''


def main():
    impl = sys.argv[1] if len(sys.argv) > 1 else "zabd"
    c = Cluster(impl, 3, tick=200)
    c.start()
    f = c.followers()[0]
    zk = KazooClient(hosts=c.connect_string(), timeout=10)
    zk.start()
    early = 0
    try:
        for idle in (0.1, 0.3, 0.5):
            name = "v%d" % int(idle * 10)
            p = subprocess.Popen([sys.executable, "-c", VICTIM, c.address(f),
                                  name, str(idle)], stdout=subprocess.PIPE)
            while not zk.exists("/t/" + name):
                time.sleep(0.005)
            gone = threading.Event()

            def w(ev, name=name):
                if ev.type == "DELETED" or not zk.exists("/t/" + name,
                                                         watch=w):
                    gone.set()
            zk.exists("/t/" + name, watch=w)
            last = float(p.stdout.readline())
            p.wait()
            gone.wait(10)
            dt = time.time() - last
            early += dt < 1.95
            print("%s: idle %.1f s, then one request, then SIGKILL: the "
                  "session expired %.3f s after that request (timeout 2.000)"
                  % (impl, idle, dt), flush=True)
    finally:
        zk.stop()
        c.stop()
        c.kill_all()
        c.cleanup()
    print("%s: %s" % (impl, "sessions expired EARLY" if early else
                      "no early expiry"))
    return 1 if early else 0


if __name__ == "__main__":
    sys.exit(main())
