#!/usr/bin/python3
"""make demo: a real 3-node zabd cluster on loopback, killed and healed.

Starts three zabd processes from generated zoo.cfg files, drives them with
Kazoo (the Python ZooKeeper client, unchanged), kills the leader with
SIGKILL in the middle of a stream of writes, shows the new election and
that every acknowledged write survived, restarts the old leader and shows it
catch up.  Every line is timestamped.  Everything it starts and every file
it writes is removed at the end, also on Ctrl-C.

usage: /usr/bin/python3 examples/demo/demo.py [path/to/zabd]
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    from kazoo.client import KazooClient
    from kazoo.exceptions import KazooException
except ImportError:
    sys.exit("demo: Kazoo is missing: apt-get install python3-kazoo "
             "(and run this with /usr/bin/python3)")

ZABD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/zabd")
T0 = time.time()
procs = {}
workdir = None


def say(msg):
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now))
    print("[%s.%03d +%6.2fs] %s" % (stamp, int(now * 1000) % 1000,
                                    now - T0, msg), flush=True)


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


def four(port, cmd="srvr"):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(cmd.encode())
        out = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            out += d
        s.close()
        return out.decode()
    except OSError:
        return ""


def field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def start(i, cfgs):
    log = open(os.path.join(workdir, "zabd%d.log" % i), "a")
    procs[i] = subprocess.Popen([ZABD, cfgs[i]], stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)


def cleanup(*_):
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.wait()
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)


def wait_modes(ports, members, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        modes = {i: field(four(ports[i]), "Mode") for i in members}
        if all(m in ("leader", "follower") for m in modes.values()) and \
                list(modes.values()).count("leader") == 1:
            return modes
        time.sleep(0.05)
    raise SystemExit("demo: the cluster did not form; logs in %s" % workdir)


def main():
    global workdir
    if not os.access(ZABD, os.X_OK):
        sys.exit("demo: %s is not built (run: make zabd)" % ZABD)
    signal.signal(signal.SIGINT, lambda *a: (cleanup(), sys.exit(130)))
    signal.signal(signal.SIGTERM, lambda *a: (cleanup(), sys.exit(143)))
    workdir = tempfile.mkdtemp(prefix="zabd-demo-")
    p = free_ports(9)
    client = {i: p[i - 1] for i in (1, 2, 3)}
    servers = "\n".join("server.%d=127.0.0.1:%d:%d" % (i, p[2 + i], p[5 + i])
                        for i in (1, 2, 3))
    cfgs = {}
    for i in (1, 2, 3):
        d = os.path.join(workdir, "data%d" % i)
        os.makedirs(d)
        with open(os.path.join(d, "myid"), "w") as f:
            f.write("%d\n" % i)
        cfgs[i] = os.path.join(workdir, "zoo%d.cfg" % i)
        with open(cfgs[i], "w") as f:
            f.write("tickTime=200\ninitLimit=10\nsyncLimit=5\n"
                    "dataDir=%s\nclientPort=%d\n"
                    "4lw.commands.whitelist=*\n%s\n" % (d, client[i], servers))

    say("starting 3 zabd servers on loopback (client ports %s)" %
        ", ".join(str(client[i]) for i in (1, 2, 3)))
    for i in (1, 2, 3):
        start(i, cfgs)
    modes = wait_modes(client, (1, 2, 3))
    leader = [i for i, m in modes.items() if m == "leader"][0]
    say("elected: zabd%d is the leader; the others follow" % leader)

    hosts = ",".join("127.0.0.1:%d" % client[i] for i in (1, 2, 3))
    zk = KazooClient(hosts=hosts, timeout=6)
    zk.start(timeout=10)
    say("a Kazoo client connected, session 0x%x" % zk.client_id[0])
    zk.ensure_path("/demo/orders")
    zk.create("/demo/members/worker-", b"alive", ephemeral=True,
              sequence=True, makepath=True)
    zk.create("/demo/config", b"v1")

    acked = []
    for n in range(200):
        acked.append(zk.create("/demo/orders/order-", b"%d" % n,
                               sequence=True))
    say("wrote 200 orders (sequential znodes), every one acknowledged")

    victim = leader
    say("SIGKILL the leader zabd%d while writes continue..." % victim)
    procs[victim].kill()
    procs[victim].wait()
    t_kill = time.time()
    failures = 0
    first_ok = None
    while time.time() - t_kill < 3:
        try:
            acked.append(zk.create("/demo/orders/order-", b"more",
                                   sequence=True))
            if first_ok is None and len(acked) > 200:
                first_ok = time.time() - t_kill
        except KazooException:
            failures += 1
            time.sleep(0.01)
    survivors = [i for i in (1, 2, 3) if i != victim]
    modes = wait_modes(client, survivors)
    new_leader = [i for i, m in modes.items() if m == "leader"][0]
    say("new leader: zabd%d; writes resumed %.0f ms after the kill "
        "(%d attempts failed with connection loss meanwhile)" %
        (new_leader, (first_ok or 0) * 1000, failures))
    events = []
    watcher = KazooClient(hosts="127.0.0.1:%d" % client[survivors[0]])
    watcher.start(timeout=10)
    watcher.get("/demo/config", watch=events.append)
    zk.set("/demo/config", b"v2")
    deadline = time.time() + 5
    while not events and time.time() < deadline:
        time.sleep(0.01)
    if events:
        say("a watch on /demo/config (via zabd%d) fired: %s" %
            (survivors[0], events[0].type))
    watcher.stop()
    watcher.close()
    say("session 0x%x survived the failover; its ephemeral member node "
        "is still there: %s" % (zk.client_id[0],
                                 zk.get_children("/demo/members")))

    say("restarting zabd%d from its own disk..." % victim)
    start(victim, cfgs)
    wait_modes(client, (1, 2, 3))
    say("zabd%d rejoined as %s" %
        (victim, field(four(client[victim]), "Mode")))
    want = sorted(os.path.basename(a) for a in acked)
    for i in (1, 2, 3):
        c = KazooClient(hosts="127.0.0.1:%d" % client[i])
        c.start(timeout=10)
        c.sync("/")
        have = sorted(c.get_children("/demo/orders"))
        lost = set(want) - set(have)
        say("zabd%d: %d orders, %d acknowledged ones missing, zxid %s" %
            (i, len(have), len(lost), field(four(client[i]), "Zxid")))
        c.stop()
        c.close()
        if lost:
            raise SystemExit("demo: acknowledged writes were lost!")
    zk.stop()
    zk.close()
    say("every acknowledged write is on every server; cleaning up")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
