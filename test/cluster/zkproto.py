#!/usr/bin/python3
"""zkproto -- a small synchronous client for ZooKeeper's wire protocol,
and a freezable TCP proxy, for what Kazoo 2.8 cannot do or hides:

  * operations Kazoo 2.8 lacks: createContainer (19), createTTL (21),
    addWatch (106, persistent and persistent-recursive watches),
    removeWatches (18), checkWatches (17), getEphemerals (103),
    getAllChildrenNumber (104), multiRead (22);
  * requests Kazoo rewrites on the client side (paths are normalised by
    Kazoo, so server-side path validation is only reachable raw);
  * sessions that simply go silent (no pings), to observe server-side
    session expiry, and reconnecting to an expired session;
  * the reply header's zxid and error code of every request.

RawClient never sends pings by itself; call ping() to keep a session alive.
Proxy forwards a listening port to a server and can be frozen (bytes stop
flowing, new connections are dropped) so that a real client (Kazoo) loses
its session to expiry without being closed.
"""

import select
import socket
import struct
import threading
import time

# op codes (ZooDefs.OpCode)
OP = dict(notification=0, create=1, delete=2, exists=3, getData=4, setData=5,
          getACL=6, setACL=7, getChildren=8, sync=9, ping=11, getChildren2=12,
          check=13, multi=14, create2=15, reconfig=16, checkWatches=17,
          removeWatches=18, createContainer=19, deleteContainer=20,
          createTTL=21, multiRead=22, auth=100, setWatches=101, sasl=102,
          getEphemerals=103, getAllChildrenNumber=104, setWatches2=105,
          addWatch=106, whoAmI=107, createSession=-10, closeSession=-11,
          error=-1)

# error codes (KeeperException.Code)
ERR = dict(OK=0, SYSTEMERROR=-1, RUNTIMEINCONSISTENCY=-2, DATAINCONSISTENCY=-3,
           CONNECTIONLOSS=-4, MARSHALLINGERROR=-5, UNIMPLEMENTED=-6,
           OPERATIONTIMEOUT=-7, BADARGUMENTS=-8, UNKNOWNSESSION=-12,
           NEWCONFIGNOQUORUM=-13, RECONFIGINPROGRESS=-14, APIERROR=-100,
           NONODE=-101, NOAUTH=-102, BADVERSION=-103,
           NOCHILDRENFOREPHEMERALS=-108, NODEEXISTS=-110, NOTEMPTY=-111,
           SESSIONEXPIRED=-112, INVALIDCALLBACK=-113, INVALIDACL=-114,
           AUTHFAILED=-115, SESSIONMOVED=-118, NOTREADONLY=-119,
           EPHEMERALONLOCALSESSION=-120, NOWATCHER=-121,
           RECONFIGDISABLED=-123, SESSIONCLOSEDREQUIRESASLAUTH=-124,
           QUOTAEXCEEDED=-125, THROTTLEDOP=-127)
ERRNAME = {v: k for k, v in ERR.items()}

# CreateMode flags
PERSISTENT, EPHEMERAL, PERSISTENT_SEQUENTIAL, EPHEMERAL_SEQUENTIAL = 0, 1, 2, 3
CONTAINER, PERSISTENT_WITH_TTL, PERSISTENT_SEQUENTIAL_WITH_TTL = 4, 5, 6
# AddWatchMode
PERSISTENT_WATCH, PERSISTENT_RECURSIVE_WATCH = 0, 1
# WatcherType for removeWatches/checkWatches
WT_CHILDREN, WT_DATA, WT_ANY = 1, 2, 3
# Event types
EV = {-1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
      4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved",
      7: "PersistentWatchRemoved"}

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion",
               "aversion", "ephemeralOwner", "dataLength", "numChildren",
               "pzxid")
_stat = struct.Struct("!qqqqiiiqiiq")

OPEN_ACL = [(31, "world", "anyone")]


class ZKError(Exception):
    def __init__(self, code, what=""):
        self.code = code
        Exception.__init__(self, "%s (%d) %s" % (ERRNAME.get(code, "?"), code, what))


class Stat(dict):
    __getattr__ = dict.__getitem__


# -- jute encoding ------------------------------------------------------------

def w_int(v):
    return struct.pack("!i", v)


def w_long(v):
    return struct.pack("!q", v)


def w_bool(v):
    return b"\x01" if v else b"\x00"


def w_buf(b):
    if b is None:
        return w_int(-1)
    return w_int(len(b)) + b


def w_str(s):
    if s is None:
        return w_int(-1)
    return w_buf(s.encode("utf-8"))


def w_strs(items):
    out = w_int(len(items))
    for x in items:
        out += w_str(x)
    return out


def w_acl(acl):
    out = w_int(len(acl))
    for perms, scheme, ident in acl:
        out += w_int(perms) + w_str(scheme) + w_str(ident)
    return out


class Reader(object):
    def __init__(self, data, off=0):
        self.d = data
        self.o = off

    def int(self):
        v = struct.unpack_from("!i", self.d, self.o)[0]
        self.o += 4
        return v

    def long(self):
        v = struct.unpack_from("!q", self.d, self.o)[0]
        self.o += 8
        return v

    def bool(self):
        v = self.d[self.o] != 0
        self.o += 1
        return v

    def buf(self):
        n = self.int()
        if n < 0:
            return None
        v = self.d[self.o:self.o + n]
        self.o += n
        return bytes(v)

    def str(self):
        b = self.buf()
        return None if b is None else b.decode("utf-8")

    def stat(self):
        v = _stat.unpack_from(self.d, self.o)
        self.o += _stat.size
        return Stat(zip(STAT_FIELDS, v))

    def strs(self):
        n = self.int()
        return [self.str() for _ in range(max(n, 0))]

    def acl(self):
        n = self.int()
        return [(self.int(), self.str(), self.str()) for _ in range(max(n, 0))]

    def rest(self):
        return len(self.d) - self.o


# -- the client ---------------------------------------------------------------

class RawClient(object):
    """One connection, one session.  Synchronous: each call sends one
    request and reads frames until its reply; watch events received on the
    way (xid -1) are queued in self.events as (type, state, path)."""

    def __init__(self, host, port, timeout_ms=4000, session_id=0,
                 passwd=b"\0" * 16, last_zxid=0, read_only=False,
                 sock_timeout=10.0, connect=True):
        self.host, self.port = host, port
        self.req_timeout_ms = timeout_ms
        self.session_id = session_id
        self.passwd = passwd
        self.last_zxid = last_zxid
        self.read_only = read_only
        self.sock_timeout = sock_timeout
        self.sock = None
        self.xid = 0
        self.events = []
        self.negotiated_timeout = None
        self.last_reply_zxid = None
        if connect:
            self.connect()

    # framing
    def _send(self, payload):
        self.sock.sendall(w_int(len(payload)) + payload)

    def _recv_exact(self, n, deadline):
        out = b""
        while len(out) < n:
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(left)
            b = self.sock.recv(n - len(out))
            if not b:
                raise ConnectionError("connection closed by server")
            out += b
        return out

    def _recv_frame(self, timeout=None):
        deadline = time.time() + (timeout if timeout is not None else self.sock_timeout)
        n = struct.unpack("!i", self._recv_exact(4, deadline))[0]
        return self._recv_exact(n, deadline)

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.sock_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = (w_int(0) + w_long(self.last_zxid) + w_int(self.req_timeout_ms) +
               w_long(self.session_id) + w_buf(self.passwd) + w_bool(self.read_only))
        self._send(req)
        r = Reader(self._recv_frame())
        proto = r.int()
        self.negotiated_timeout = r.int()
        sid = r.long()
        pw = r.buf()
        ro = r.bool() if r.rest() > 0 else False
        self.xid = 0
        if self.negotiated_timeout <= 0:
            # the server's way of saying "session expired": it then closes
            self.close_socket()
            raise ZKError(ERR["SESSIONEXPIRED"], "negotiated timeout %d" % self.negotiated_timeout)
        self.session_id, self.passwd, self.read_only = sid, pw, ro
        return proto

    def close_socket(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def call(self, op, body=b"", xid=None, timeout=None):
        """Sends request `op` (name or code); returns (zxid, err, Reader on
        the body).  Does not raise on a non-zero err."""
        code = OP[op] if isinstance(op, str) else op
        if xid is None:
            self.xid += 1
            xid = self.xid
        self._send(w_int(xid) + w_int(code) + body)
        while True:
            r = Reader(self._recv_frame(timeout))
            rxid, zxid, err = r.int(), r.long(), r.int()
            if rxid == -1:
                self.events.append((r.int(), r.int(), r.str()))
                continue
            if rxid == -2 and xid != -2:
                continue
            if rxid != xid:
                raise RuntimeError("reply xid %d, expected %d" % (rxid, xid))
            if zxid > 0:
                self.last_zxid = zxid
            self.last_reply_zxid = zxid
            return zxid, err, r

    def ok(self, op, body=b"", what=""):
        zxid, err, r = self.call(op, body)
        if err != 0:
            raise ZKError(err, what)
        return r

    def wait_event(self, timeout=5.0):
        """Next queued or incoming watch event, or None after timeout."""
        if self.events:
            return self.events.pop(0)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                r = Reader(self._recv_frame(max(0.01, deadline - time.time())))
            except socket.timeout:
                return None
            rxid, zxid, err = r.int(), r.long(), r.int()
            if rxid == -1:
                return (r.int(), r.int(), r.str())
        return None

    def drain_events(self, quiet=0.3):
        """Collects events until none arrives for `quiet` seconds."""
        out = list(self.events)
        self.events = []
        while True:
            e = self.wait_event(quiet)
            if e is None:
                return out
            out.append(e)

    # operations
    def ping(self):
        return self.call("ping", xid=-2)

    def close(self):
        """closeSession, then close the socket."""
        try:
            self.call("closeSession", timeout=5)
        except (OSError, ConnectionError):
            pass
        self.close_socket()

    def create(self, path, data=b"", acl=None, flags=PERSISTENT, ttl=None, op=None):
        if op is None:
            op = "createTTL" if ttl is not None else "create2"
        body = w_str(path) + w_buf(data) + w_acl(OPEN_ACL if acl is None else acl) + w_int(flags)
        if op == "createTTL":
            body += w_long(ttl)
        r = self.ok(op, body, path)
        p = r.str()
        return (p, r.stat()) if op != "create" else (p, None)

    def create_container(self, path, data=b"", acl=None):
        return self.create(path, data, acl, CONTAINER, op="createContainer")

    def create_ttl(self, path, ttl, data=b"", acl=None, sequential=False):
        return self.create(path, data, acl,
                           PERSISTENT_SEQUENTIAL_WITH_TTL if sequential else PERSISTENT_WITH_TTL,
                           ttl=ttl, op="createTTL")

    def delete(self, path, version=-1):
        self.ok("delete", w_str(path) + w_int(version), path)

    def exists(self, path, watch=False):
        zxid, err, r = self.call("exists", w_str(path) + w_bool(watch))
        if err == ERR["NONODE"]:
            return None
        if err:
            raise ZKError(err, path)
        return r.stat()

    def get(self, path, watch=False):
        r = self.ok("getData", w_str(path) + w_bool(watch), path)
        return r.buf(), r.stat()

    def set(self, path, data, version=-1):
        return self.ok("setData", w_str(path) + w_buf(data) + w_int(version), path).stat()

    def children(self, path, watch=False):
        r = self.ok("getChildren2", w_str(path) + w_bool(watch), path)
        return r.strs(), r.stat()

    def get_acl(self, path):
        r = self.ok("getACL", w_str(path), path)
        return r.acl(), r.stat()

    def add_auth(self, scheme, auth):
        # auth replies carry xid -4
        self._send(w_int(-4) + w_int(OP["auth"]) + w_int(0) + w_str(scheme) + w_buf(auth))
        while True:
            r = Reader(self._recv_frame())
            rxid, zxid, err = r.int(), r.long(), r.int()
            if rxid == -1:
                self.events.append((r.int(), r.int(), r.str()))
                continue
            if rxid == -4:
                if err:
                    raise ZKError(err, "auth")
                return

    def add_watch(self, path, mode):
        self.ok("addWatch", w_str(path) + w_int(mode), path)

    def remove_watches(self, path, wtype, local=False):
        self.ok("removeWatches", w_str(path) + w_int(wtype), path)

    def check_watches(self, path, wtype):
        self.ok("checkWatches", w_str(path) + w_int(wtype), path)

    def set_watches(self, rel_zxid, data=(), exist=(), child=(), persistent=None,
                    recursive=None):
        """Re-registers watches after a reconnect, as the Java and C clients
        do (setWatches, or setWatches2 with persistent ones; xid -8).
        Events the server fires at once are queued in self.events."""
        body = w_long(rel_zxid) + w_strs(list(data)) + w_strs(list(exist)) + w_strs(list(child))
        op = "setWatches"
        if persistent is not None or recursive is not None:
            op = "setWatches2"
            body += w_strs(list(persistent or ())) + w_strs(list(recursive or ()))
        zxid, err, r = self.call(op, body, xid=-8)
        if err:
            raise ZKError(err, op)

    def get_ephemerals(self, prefix="/"):
        return self.ok("getEphemerals", w_str(prefix), prefix).strs()

    def get_all_children_number(self, path):
        return self.ok("getAllChildrenNumber", w_str(path), path).int()

    def sync(self, path):
        return self.ok("sync", w_str(path), path).str()

    def multi_read(self, ops):
        """ops: list of ("getChildren"|"getData", path). Returns a list of
        ("children", [names]) / ("data", bytes, Stat) / ("error", code)."""
        body = b""
        for kind, path in ops:
            body += w_int(OP[kind]) + w_bool(False) + w_int(-1)
            body += w_str(path) + w_bool(False)
        body += w_int(-1) + w_bool(True) + w_int(-1)
        r = self.ok("multiRead", body)
        out = []
        while True:
            t, done, err = r.int(), r.bool(), r.int()
            if done:
                return out
            if t == OP["getChildren"]:
                out.append(("children", r.strs()))
            elif t == OP["getData"]:
                out.append(("data", r.buf(), r.stat()))
            elif t == -1:
                out.append(("error", r.int()))
            else:
                raise RuntimeError("multiRead: unexpected result type %d" % t)

    def multi(self, ops):
        """ops: list of (opname, body bytes) with opname in create, delete,
        setData, check, create2.  Returns [(type, err or None, Reader)]."""
        body = b""
        for name, b in ops:
            body += w_int(OP[name]) + w_bool(False) + w_int(-1) + b
        body += w_int(-1) + w_bool(True) + w_int(-1)
        zxid, err, r = self.call("multi", body)
        out = []
        while True:
            t, done, e = r.int(), r.bool(), r.int()
            if done:
                return err, out
            if t == -1:
                out.append((t, r.int()))
            elif t in (OP["create"],):
                out.append((t, r.str()))
            elif t in (OP["create2"], OP["createContainer"], OP["createTTL"]):
                out.append((t, (r.str(), r.stat())))
            elif t == OP["setData"]:
                out.append((t, r.stat()))
            else:
                out.append((t, None))


# -- a freezable TCP proxy ----------------------------------------------------

class Proxy(object):
    """Listens on 127.0.0.1:<port> and forwards each connection to
    (host, target_port).  freeze(): stop moving bytes (connections stay
    open, new ones are closed at once) -- to the server the client has gone
    silent, to the client the server has.  thaw() resumes.  retarget()
    changes where new connections go."""

    def __init__(self, host, target_port):
        self.target = (host, target_port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self.pairs = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def address(self):
        return "127.0.0.1:%d" % self.port

    def retarget(self, host, port):
        self.target = (host, port)

    def _accept(self):
        while not self.closed.is_set():
            try:
                r, _, _ = select.select([self.lsock], [], [], 0.1)
                if not r:
                    continue
                c, _ = self.lsock.accept()
            except OSError:
                return
            if self.frozen.is_set():
                c.close()
                continue
            try:
                u = socket.create_connection(self.target, timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.pairs.append((c, u))
            threading.Thread(target=self._pump, args=(c, u), daemon=True).start()

    def _pump(self, a, b):
        socks = [a, b]
        try:
            while not self.closed.is_set():
                if self.frozen.is_set():
                    time.sleep(0.05)
                    continue
                r, _, _ = select.select(socks, [], [], 0.1)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass

    def drop_all(self):
        """Closes every forwarded connection (both sides)."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for c, u in pairs:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def freeze(self):
        self.frozen.set()

    def thaw(self):
        self.frozen.clear()

    def close(self):
        self.closed.set()
        self.drop_all()
        try:
            self.lsock.close()
        except OSError:
            pass
