#!/usr/bin/python3
"""The recipes demo: what people use ZooKeeper for, on a 3-node zabd
ensemble.

Starts three zabd servers on loopback and three members (zk-node: each one
process, one ZooKeeper session, every recipe: it is a candidate for
master, a group member, a provider of the "api" service, and it takes a
lock in turn to increment a shared counter).  Two observers print the
member list and the provider list as they change.  Then it SIGKILLs the
zabd leader, and later the master member while it holds the lock, and
shows -- in timestamped lines -- the new zabd leader, the new master, the
lock passing on, membership and registry updating, and at the end that
every counter value was written exactly once and every server agrees.
Everything it starts and every file it writes is removed at the end, also
on Ctrl-C.

usage: /usr/bin/python3 examples/recipes/demo.py [BUILD_DIR]
       (BUILD_DIR holds zabd and recipes/zk-*; default build)
"""
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
ZABD = os.path.join(BUILD, "zabd")
TOOLS = os.path.join(BUILD, "recipes")
SESSION_MS = 3000
T0 = time.time()
procs = []            # every process we started (servers and tools)
servers = {}          # zabd id -> Popen
workdir = None
out_lock = threading.Lock()
events = queue.Queue()
transcript = []       # (label, message) of every tool line


def stamp(now=None):
    now = time.time() if now is None else now
    return "[%s.%03d +%6.2fs]" % (time.strftime("%H:%M:%S",
                                                time.localtime(now)),
                                  int(now * 1000) % 1000, now - T0)


def say(msg):
    with out_lock:
        print("%s %s" % (stamp(), msg), flush=True)


def story(msg):
    say("")
    say("==> " + msg)


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


def mode(port):
    for line in four(port).splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


def spawn(argv, label=None, out=None):
    cmd = list(argv)
    if shutil.which("setpriv"):     # dies with us, even if we are killed
        cmd = ["setpriv", "--pdeathsig", "KILL", "--"] + cmd
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=out if out else subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    if label:
        threading.Thread(target=reader, args=(p, label), daemon=True).start()
    return p


# A tool line: "12:00:01.234 zk-node[node-a] message".
LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d\d\d) (\S+?)\[([^\]]*)\] (.*)$")
QUIET = ("waiting for", "following the providers", "watching the members",
         "(0, from the cache)")


def reader(p, label):
    for raw in p.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        m = LINE.match(line)
        msg = m.group(4) if m else line
        transcript.append((label, msg))
        events.put((label, msg))
        if any(q in msg for q in QUIET):
            continue
        with out_lock:
            print("%s   %-8s| %s" % (stamp(), label, msg), flush=True)


def wait_event(pred, timeout, what):
    """Consumes tool lines until pred(label, msg) holds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            label, msg = events.get(timeout=0.1)
        except queue.Empty:
            continue
        if pred(label, msg):
            return label, msg
    raise SystemExit("demo: timed out waiting for %s; logs in %s" %
                     (what, workdir))


def drain():
    while True:
        try:
            events.get_nowait()
        except queue.Empty:
            return


def wait_leader(ports, members, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        modes = {i: mode(ports[i]) for i in members}
        if all(m in ("leader", "follower") for m in modes.values()) and \
                list(modes.values()).count("leader") == 1:
            return [i for i, m in modes.items() if m == "leader"][0]
        time.sleep(0.05)
    raise SystemExit("demo: the ensemble did not form; logs in %s" % workdir)


def cleanup(*_):
    for p in procs:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGCONT)
                p.kill()
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)


def on_signal(signum, frame):
    with out_lock:
        print("\n%s interrupted: stopping every process and removing %s" %
              (stamp(), workdir), flush=True)
    cleanup()
    os._exit(128 + signum)


def main():
    global workdir
    for f in [ZABD] + [os.path.join(TOOLS, t) for t in
                       ("zk-node", "zk-member", "zk-registry", "zk-name")]:
        if not os.access(f, os.X_OK):
            sys.exit("demo: %s is not built (run: make zabd recipes)" % f)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    workdir = tempfile.mkdtemp(prefix="zkr-demo-")

    # ---- the ensemble --------------------------------------------------
    p = free_ports(9)
    client = {i: p[i - 1] for i in (1, 2, 3)}
    srv_lines = "\n".join("server.%d=127.0.0.1:%d:%d" % (i, p[2 + i],
                                                         p[5 + i])
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
                    "dataDir=%s\nclientPort=%d\nminSessionTimeout=400\n"
                    "4lw.commands.whitelist=*\n%s\n" % (d, client[i],
                                                         srv_lines))

    def start_server(i):
        log = open(os.path.join(workdir, "zabd%d.log" % i), "ab")
        servers[i] = spawn([ZABD, cfgs[i]], out=log)
        log.close()

    hosts = ",".join("127.0.0.1:%d" % client[i] for i in (1, 2, 3))
    story("Starting 3 zabd servers on loopback (client ports %s)" %
          ", ".join(str(client[i]) for i in (1, 2, 3)))
    for i in (1, 2, 3):
        start_server(i)
    leader = wait_leader(client, (1, 2, 3))
    say("zabd%d is the ensemble's leader; the other two follow it" % leader)

    # ---- observers and members -------------------------------------------
    tool = lambda name: os.path.join(TOOLS, name)  # noqa: E731
    common = ["-s", hosts, "-t", str(SESSION_MS)]
    story("Two observers watch the member list and the providers of the "
          "'api' service")
    spawn([tool("zk-member")] + common + ["watch", "/demo/members"],
          label="members")
    spawn([tool("zk-registry")] + common + [
        "-r", "/demo/services", "-f", os.path.join(workdir, "api.cache"),
        "watch", "api"], label="registry")
    time.sleep(0.5)
    story("Three members start: node-a, node-b, node-c.  Each is one "
          "process with one ZooKeeper session (timeout %.0f s) and uses "
          "every recipe: master election, group membership, the 'api' "
          "service, and a lock taken in turn to add 1 to a shared "
          "counter" % (SESSION_MS / 1000.0))
    nodes = {}
    for k, n in enumerate(("node-a", "node-b", "node-c")):
        nodes[n] = spawn([tool("zk-node")] + common + [
            "-p", str(9001 + k), n], label=n)
        time.sleep(0.4)
    wait_event(lambda l, m: "I am the master" in m, 10, "a master")
    time.sleep(5)

    # ---- kill the zabd leader --------------------------------------------
    leader = wait_leader(client, (1, 2, 3))
    story("SIGKILL zabd%d, the ensemble's leader.  Clients connected to it "
          "lose their connection; their sessions live on" % leader)
    t = time.time()
    servers[leader].kill()
    servers[leader].wait()
    survivors = [i for i in (1, 2, 3) if i != leader]
    new = wait_leader(client, survivors)
    say("zabd%d is the new leader, elected %.0f ms after the kill" %
        (new, (time.time() - t) * 1000))
    time.sleep(4)
    story("Restart zabd%d from its own disk" % leader)
    start_server(leader)
    wait_leader(client, (1, 2, 3))
    say("zabd%d rejoined as %s" % (leader, mode(client[leader])))

    # ---- kill the master while it holds the lock -------------------------
    drain()
    master = None
    for l, m in reversed(transcript):
        if "I am the master" in m and l in nodes:
            master = l
            break
    story("Waiting for the master, %s, to hold the lock ..." % master)
    wait_event(lambda l, m: l == master and "took the lock" in m, 20,
               "the master to take the lock")
    story("SIGKILL %s, the master, while it holds the lock.  Its ephemeral "
          "nodes -- candidate, lock, member, provider -- stay until "
          "ZooKeeper expires its session (%.0f s after it last heard from "
          "%s): until then nobody else can become master or take the lock"
          % (master, SESSION_MS / 1000.0, master))
    t = time.time()
    nodes[master].kill()
    nodes[master].wait()
    dead = master
    l, m = wait_event(lambda l, m: "I am the master" in m, 3 * SESSION_MS /
                      1000.0 + 10, "a new master")
    say("%s became master %.1f s after %s died" % (l, time.time() - t, dead))
    wait_event(lambda l, m: "took the lock" in m, 15, "the lock to move")
    time.sleep(4)

    # ---- the end ------------------------------------------------------------
    story("Stopping the members (they leave at once: a closed session "
          "deletes its ephemeral nodes)")
    for n, p in nodes.items():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in nodes.values():
        p.wait(timeout=15)
    time.sleep(0.5)

    story("Checking the counter: each increment was a read and a write made "
          "while holding the lock")
    values = []
    for l, m in transcript:
        mm = re.search(r"counter (\d+) -> (\d+)", m)
        if mm:
            values.append(int(mm.group(2)))
    unsafe = [m for l, m in transcript if "could not update" in m]
    readings = {}
    for i in (1, 2, 3):
        r = subprocess.run([tool("zk-name"), "-s", "127.0.0.1:%d" % client[i],
                            "-S", "resolve", "/demo/data", "counter"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           timeout=30)
        readings[i] = r.stdout.decode().strip()
    n = max(values) if values else 0
    say("%d increments by 3 members; the values written were %s" % (
        len(values), "1.." + str(n) if sorted(values) == list(
            range(1, n + 1)) else sorted(values)))
    say("each server says the counter is: %s" % ", ".join(
        "zabd%d %s" % (i, readings[i]) for i in (1, 2, 3)))
    ok = sorted(values) == list(range(1, n + 1)) and \
        all(readings[i] == str(n) for i in (1, 2, 3)) and not unsafe
    if not ok:
        raise SystemExit("demo: the counter does not add up! logs in %s" %
                         workdir)
    say("every value from 1 to %d was written exactly once, across a zabd "
        "leader's death and a master's death: no update lost or doubled, "
        "and every server agrees" % n)
    story("Cleaning up every process and file")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
