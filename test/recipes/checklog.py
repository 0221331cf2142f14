"""checklog -- judges the O_APPEND event logs written by the zk-* tools
(-l FILE) and by the test driver, from the outside.

Every line is "<event> <pid> <epoch-seconds> <rest...>".  A holder appends
a line only right after confirming with a round trip that it holds the
lock / mastership ("acquire", "work", "release"; "master", "work"); it
appends "lost"/"unmaster" when it finds it no longer does.  The driver
appends "killed <pid>" after SIGKILLing a process and reaping it.  The file
is therefore a total order of the actions taken on the protected resource.

Violation: an action ("acquire"/"work"/"release", "master"/"work") by a
process that is not the current holder by that order -- e.g. an old
holder that goes on working after someone else acquired.  A "takeover" (an
acquire while the previous holder had neither released nor been killed) is
legitimate only if that holder lost its session and never acts again; the
tests count them and say whether each was explained by a "lost" line.
"""


def parse(path):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            p = line.split()
            if len(p) < 3:
                raise ValueError("%s:%d: malformed line %r" % (path, n, line))
            out.append((p[0], int(p[1]), float(p[2]), p[3:], n))
    return out


class Result(object):
    def __init__(self):
        self.violations = []
        self.takeovers = []       # (old holder, new holder, line)
        self.acquisitions = 0
        self.kills_holding = 0    # holders SIGKILLed while holding
        self.lost = []            # pids that reported losing what they held
        self.handoffs = []        # (kill time, next acquire time)
        self.max_readers = 0

    def explained_takeovers(self):
        """Takeovers whose old holder later reported the loss."""
        lost = set(self.lost)
        return [t for t in self.takeovers if t[0] in lost]

    def ok(self):
        return not self.violations and \
            len(self.explained_takeovers()) == len(self.takeovers)


def check_exclusive(path):
    """An exclusive lock (or a write-only rwlock log)."""
    return check_rw(path)


def check_rw(path):
    """Readers may overlap; a writer/exclusive holder excludes everyone.
    Tokens of exclusive acquisitions must strictly increase."""
    r = Result()
    readers = set()
    writer = None
    last_token = -1
    kill_at = None
    for ev, pid, ts, rest, n in parse(path):
        kind = "read" if rest[:1] == ["read"] else "write"
        if ev == "acquire":
            r.acquisitions += 1
            if kill_at is not None:
                r.handoffs.append((kill_at, ts))
                kill_at = None
            try:
                token = int(rest[-1])
            except (ValueError, IndexError):
                token = None
            if kind == "write":
                if writer is not None or readers:
                    for old in ([writer] if writer is not None else []) + \
                            sorted(readers):
                        r.takeovers.append((old, pid, n))
                    writer = None
                    readers.clear()
                if token is not None:
                    if token <= last_token:
                        r.violations.append(
                            "line %d: token %d not above %d" %
                            (n, token, last_token))
                    last_token = token
                writer = pid
            else:
                if writer is not None:
                    r.takeovers.append((writer, pid, n))
                    writer = None
                readers.add(pid)
                r.max_readers = max(r.max_readers, len(readers))
        elif ev in ("work", "release"):
            holds = writer == pid if kind == "write" else pid in readers
            if not holds:
                r.violations.append(
                    "line %d: %d did %s while the holders were %s" %
                    (n, pid, ev, sorted(readers) if readers else writer))
            if ev == "release":
                if kind == "write" and writer == pid:
                    writer = None
                readers.discard(pid)
        elif ev == "lost":
            r.lost.append(pid)
            if writer == pid:
                writer = None
            readers.discard(pid)
        elif ev == "killed":
            if writer == pid or pid in readers:
                r.kills_holding += 1
                kill_at = ts
            if writer == pid:
                writer = None
            readers.discard(pid)
    return r


def check_election(path):
    """At most one process acts as master at any point of the order."""
    r = Result()
    master = None
    kill_at = None
    for ev, pid, ts, rest, n in parse(path):
        if ev == "master":
            r.acquisitions += 1
            if kill_at is not None:
                r.handoffs.append((kill_at, ts))
                kill_at = None
            if master is not None and master != pid:
                r.takeovers.append((master, pid, n))
            master = pid
        elif ev == "work":
            if master != pid:
                r.violations.append("line %d: %d worked as master while the "
                                    "master was %s" % (n, pid, master))
        elif ev == "unmaster":
            r.lost.append(pid)
            if master == pid:
                master = None
        elif ev == "killed":
            if master == pid:
                r.kills_holding += 1
                kill_at = ts
                master = None
    r.current = master
    return r


def current_holder(path):
    """The pid that holds the exclusive lock / mastership at the end of the
    log, or None."""
    holder = None
    try:
        events = parse(path)
    except (OSError, ValueError):
        return None
    for ev, pid, ts, rest, n in events:
        if ev in ("acquire", "master"):
            holder = pid
        elif ev in ("release", "lost", "unmaster", "killed") and holder == pid:
            holder = None
    return holder
