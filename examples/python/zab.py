"""zab -- a ctypes binding of libzab (ZooKeeper Atomic Broadcast).

Pure Python over the standard library's ctypes: nothing to compile.  The
shared library is found, in this order, at

  1. the path in the environment variable ZAB_LIBRARY;
  2. build/libzab.so.0 of the source tree this file lives in
     (examples/python/../../build/libzab.so.0), after ``make lib``;
  3. the system's libzab.so.0 (the dynamic loader's search path).

The binding mirrors include/zab.h one to one:

  Config   zab_config_t: new / set_id / add_voter / add_observer / set / get,
           freed when the object goes (or with close()).
  Node     zab_t, created from a Config and a *host* object whose methods
           are the callbacks of zab_host_ops_t.  start / recv / peer_up /
           peer_down / tick / next_deadline / persisted / propose /
           read_barrier / stat / stats / frame_size; close() frees it.
  ZabError every negative return code, as an exception with .code, .name
           (zab_err_name) and .message (zab_strerror).

Constants (OK, ENOTLEADER, ..., LEADING, ..., OPT_HEARTBEAT_MS, ...,
STAT_ROLE, ...) are mirrored from zab.h and checked against the library at
import (zab_err_name, zab_role_name, zab_stat_name, zab_config_option): a
mismatch is an ImportError.  STATS holds every statistic the loaded library
names, so Node.stats() shows a newer library's extra ones too.

The host object
---------------

libzab answers through callbacks that it calls only from inside a call the
host makes on the same node (start, recv, peer_up, peer_down, tick,
persisted, propose, read_barrier), on the host's own thread.  Node maps each
to a method of the host object; the methods marked optional may be left out
(the slot of zab_host_ops_t is then NULL):

  send(peer, frame)                      -> None/0, or non-zero: cannot queue
  log_append(zxid, data, token)          -> None/0, or non-zero: disk failed
  log_truncate(zxid, token)              -> None/0, or non-zero: disk failed
  log_read(after)                        -> (zxid, data), or None (no entry);
                                            raise ZabError(ERANGE) if compacted
  save_epochs(accepted, current, token)  -> None/0, or non-zero: disk failed
  snapshot_get(min_zxid)                 -> (zxid, data), or None   [optional]
  snapshot_put(zxid, offset, total, chunk, token) -> None/0         [optional]
  deliver(zxid, data)                                               [required]
  role_change(role, leader, epoch, serving)                         [optional]
  barrier_done(cookie, status)                                      [optional]
  trace(level, line)                                                [optional]

A durable write is confirmed later with node.persisted(token) -- or at once,
from inside the callback that issued it (libzab allows exactly that call,
and the read-only ones, from a callback; the calls that drive the node raise
ZabError(ESTATE) there).

Exceptions in callbacks.  ctypes cannot let an exception cross the C frames
of libzab, so a callback that raises makes the binding return a failure to
libzab (-1 for send, ZAB_EIO for the writes, ZAB_ENOENT for log_read and
snapshot_get) and keeps the exception.  A ZabError that the host raises
itself (``raise zab.ZabError(zab.ERANGE)`` from log_read, say) is just that
return code.  Any other exception, including a ZabError from a libzab call
made inside the callback, is re-raised from the outermost Node method once libzab
has returned: a bug in the host surfaces where the host called libzab, and
libzab has treated it as the failure of that operation (a broken connection
for send, a disk failure for the writes).  Exceptions in deliver,
role_change, barrier_done and trace (which return nothing to libzab) are
re-raised the same way; libzab has already moved on.

Who owns which buffer, and for how long
---------------------------------------

  Host -> libzab (arguments of Node methods: recv's frame, propose's data,
  frame_size's header): borrowed for the call only; libzab copies what it
  keeps.  The binding passes bytes objects without copying.

  libzab -> host (frame of send, data of log_append and deliver, chunk of
  snapshot_put, line of trace): borrowed by the callback for its duration
  only.  The binding copies each into a new bytes (str for trace) before
  calling the host method, so the host receives objects it owns and may
  keep.

  host -> libzab through an out-pointer (log_read, snapshot_get): the data
  the host returns must stay valid until the next log_read (log_read) or
  until the outermost libzab call on the node returns (both; a
  zab_persisted made from inside a callback does not end it).  The binding
  passes a pointer into the bytes object returned (no copy) and keeps a
  reference to it on the Node (``_log_buf``, ``_snap_buf``): the first is
  replaced at the next log_read, both are dropped when the outermost Node
  method returns.  The host need not keep anything alive.

  The callback objects (ctypes CFUNCTYPE wrappers) live as long as the Node:
  libzab copies the table of function pointers, not the Python objects
  behind them, and a wrapper that is garbage-collected while the node can
  still call it crashes the process.  Node keeps them in ``_cfuncs`` until
  close().

  The user-data pointer of zab_new (ud) is not used: each Node has its own
  closures, which already know their node.

Threads: a Node, like a zab_t, must be driven by one thread at a time; its
callbacks run on that thread, inside the Node method that caused them.
"""

import ctypes
import ctypes.util
import os


# ---------------------------------------------------------------------------
# Loading the library and declaring every function (restype included: a
# function returning a pointer or a uint64_t declared with ctypes' default
# int would be truncated to 32 bits).

_c_int, _c_u32, _c_u64 = ctypes.c_int, ctypes.c_uint32, ctypes.c_uint64
_c_size, _c_vp, _c_cp = ctypes.c_size_t, ctypes.c_void_p, ctypes.c_char_p
_P = ctypes.POINTER


def _candidates():
    env = os.environ.get("ZAB_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.join(here, os.pardir, os.pardir, "build", "libzab.so.0")
    names = [os.path.normpath(tree), "libzab.so.0"]
    found = ctypes.util.find_library("zab")
    if found:
        names.append(found)
    return names


def load_library():
    """Loads libzab as described in the module's docstring."""
    errors = []
    for name in _candidates():
        if os.sep in name and not os.path.exists(name):
            errors.append("%s: no such file" % name)
            continue
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
    raise OSError("libzab not found (set ZAB_LIBRARY, or run make lib): "
                  + "; ".join(errors))


_lib = load_library()

_PROTOS = {
    "zab_version": (_c_int, []),
    "zab_version_string": (_c_cp, []),
    "zab_strerror": (_c_cp, [_c_int]),
    "zab_err_name": (_c_cp, [_c_int]),
    "zab_role_name": (_c_cp, [_c_int]),
    "zab_config_new": (_c_int, [_P(_c_vp)]),
    "zab_config_free": (None, [_c_vp]),
    "zab_config_set_id": (_c_int, [_c_vp, _c_u32]),
    "zab_config_add_voter": (_c_int, [_c_vp, _c_u32]),
    "zab_config_add_observer": (_c_int, [_c_vp, _c_u32]),
    "zab_config_set": (_c_int, [_c_vp, _c_int, _c_u64]),
    "zab_config_get": (_c_int, [_c_vp, _c_int, _P(_c_u64)]),
    "zab_config_option": (_c_int, [_c_cp, _P(_c_int)]),
    "zab_new": (_c_int, [_c_vp, _c_vp, _c_vp, _P(_c_vp)]),
    "zab_free": (None, [_c_vp]),
    "zab_start": (_c_int, [_c_vp, _c_u32, _c_u32, _c_u64, _c_u64, _c_u64]),
    "zab_frame_size": (_c_int, [_c_vp, _c_vp, _c_size, _P(_c_size)]),
    "zab_frame_kind": (_c_cp, [_c_vp, _c_size]),
    "zab_recv": (_c_int, [_c_vp, _c_u32, _c_vp, _c_size]),
    "zab_peer_up": (_c_int, [_c_vp, _c_u32]),
    "zab_peer_down": (_c_int, [_c_vp, _c_u32]),
    "zab_tick": (_c_int, [_c_vp, _c_u64]),
    "zab_next_deadline": (_c_int, [_c_vp, _P(_c_u64)]),
    "zab_persisted": (_c_int, [_c_vp, _c_u64, _c_int]),
    "zab_propose": (_c_int, [_c_vp, _c_vp, _c_size, _P(_c_u64)]),
    "zab_read_barrier": (_c_int, [_c_vp, _c_u64]),
    "zab_stat": (_c_u64, [_c_vp, _c_int]),
    "zab_stat_name": (_c_cp, [_c_int]),
}
for _name, (_res, _args) in _PROTOS.items():
    _f = getattr(_lib, _name)
    _f.restype = _res
    _f.argtypes = _args
del _name, _res, _args, _f

# ---------------------------------------------------------------------------
# Constants

HOST_OPS_VERSION = 1          # ZAB_HOST_OPS_VERSION of the zab.h mirrored
FRAME_HEADER_SIZE = 8         # ZAB_FRAME_HEADER_SIZE
UINT64_MAX = (1 << 64) - 1


def _s(b):
    return None if b is None else b.decode("utf-8", "replace")


def version():
    """zab_version(): e.g. 100 for 0.1.0."""
    return _lib.zab_version()


def version_string():
    return _s(_lib.zab_version_string())


def strerror(code):
    return _s(_lib.zab_strerror(code))


def err_name(code):
    return _s(_lib.zab_err_name(code))


def role_name(role):
    return _s(_lib.zab_role_name(role))


def stat_name(which):
    """The statistic's name, or None past the last one."""
    return _s(_lib.zab_stat_name(which))


# The constants of zab.h, mirrored here so that code using them reads (and
# lints) like C, and checked against the library at import: a mismatch is
# an ImportError, not a silent misbehaviour.

OK = 0
ENOMEM = -1
EINVAL = -2
EBUSY = -3
ENOTLEADER = -4
ESTATE = -5
EPROTO = -6
EEPOCH = -7
EIO = -8
ENOENT = -9
ERANGE = -10
E2BIG = -11
ECANCELED = -12
ERRORS = {"ENOMEM": ENOMEM, "EINVAL": EINVAL, "EBUSY": EBUSY,
          "ENOTLEADER": ENOTLEADER, "ESTATE": ESTATE, "EPROTO": EPROTO,
          "EEPOCH": EEPOCH, "EIO": EIO, "ENOENT": ENOENT, "ERANGE": ERANGE,
          "E2BIG": E2BIG, "ECANCELED": ECANCELED}

LOOKING = 0
FOLLOWING = 1
LEADING = 2
OBSERVING = 3
ROLES = {"LOOKING": 0, "FOLLOWING": 1, "LEADING": 2, "OBSERVING": 3}

OPT_ELECTION_TIMEOUT_MS = 1
OPT_ELECTION_FINALIZE_MS = 2
OPT_HEARTBEAT_MS = 3
OPT_PEER_TIMEOUT_MS = 4
OPT_SYNC_TIMEOUT_MS = 5
OPT_MAX_PAYLOAD_BYTES = 6
OPT_MAX_OUTSTANDING = 7
OPT_MAX_PENDING_BYTES = 8
OPT_MAX_BARRIERS = 9
OPT_DIFF_MAX = 10
OPT_COUNTER_MAX = 11
OPTIONS = {n[4:].lower(): v for n, v in globals().items()
           if n.startswith("OPT_")}

(STAT_ROLE, STAT_LEADER, STAT_SERVING, STAT_ACCEPTED_EPOCH,
 STAT_CURRENT_EPOCH, STAT_ELECTION_EPOCH, STAT_LAST_ZXID, STAT_DURABLE_ZXID,
 STAT_COMMITTED_ZXID, STAT_DELIVERED_ZXID, STAT_OUTSTANDING,
 STAT_PENDING_BYTES, STAT_MSGS_SENT, STAT_MSGS_RECEIVED, STAT_BYTES_SENT,
 STAT_BYTES_RECEIVED, STAT_MSGS_MALFORMED, STAT_MSGS_IGNORED,
 STAT_SEND_ERRORS, STAT_PROPOSALS, STAT_COMMITS, STAT_DELIVERIES,
 STAT_ELECTIONS, STAT_EPOCHS_LED, STAT_SYNC_DIFF, STAT_SYNC_TRUNC,
 STAT_SYNC_SNAP, STAT_SYNC_LATE, STAT_SYNC_OBSERVER, STAT_REQUESTS_FORWARDED,
 STAT_REQUESTS_DROPPED, STAT_BARRIERS, STAT_DISK_FAILED) = range(33)

# STATS maps every statistic of the library *loaded* to its number: names
# come from zab_stat_name() until it returns NULL, so a newer library's
# extra statistics appear in Node.stats() even before this file knows them.
STATS = {}
while stat_name(len(STATS)) is not None:
    STATS[stat_name(len(STATS))] = len(STATS)
STAT_COUNT = len(STATS)


def _verify():
    bad = []
    for n, v in ERRORS.items():
        if err_name(v) != "ZAB_" + n:
            bad.append("error %s is %s" % (n, err_name(v)))
    if err_name(ECANCELED - 1) != "ZAB_UNKNOWN":
        bad.append("the library has error codes below ECANCELED")
    for n, v in ROLES.items():
        if role_name(v) != n.lower():
            bad.append("role %s is %s" % (n, role_name(v)))
    for n, v in globals().items():
        if n.startswith("STAT_") and n != "STAT_COUNT":
            if stat_name(v) != n[5:].lower():
                bad.append("statistic %s is %s" % (n, stat_name(v)))
    for n, v in OPTIONS.items():
        got = _c_int()
        rc = _lib.zab_config_option(n.encode(), ctypes.byref(got))
        if rc != 0 or got.value != v:
            bad.append("option %s is %s" % (n, rc or got.value))
    if bad:
        raise ImportError("zab.py does not match %s: %s"
                          % (_lib._name, "; ".join(bad)))


_verify()


def zxid(epoch, counter):
    """ZAB_ZXID(epoch, counter)."""
    return ((epoch & 0xffffffff) << 32) | (counter & 0xffffffff)


def zxid_epoch(z):
    return (z >> 32) & 0xffffffff


def zxid_counter(z):
    return z & 0xffffffff


def zxid_str(z):
    return "%d:%d" % (zxid_epoch(z), zxid_counter(z))


# ---------------------------------------------------------------------------
# Errors


class ZabError(Exception):
    """A libzab error code.  .code is the negative ZAB_E* value, .name its
    name ("ZAB_ENOTLEADER"), .message zab_strerror()'s text, .call the
    function that returned it (or None)."""

    def __init__(self, code, call=None):
        self.code = code
        self.name = err_name(code)
        self.message = strerror(code)
        self.call = call
        where = "%s: " % call if call else ""
        super().__init__("%s%s (%d): %s" % (where, self.name, code,
                                            self.message))


def _u(value, bits, call):
    """An unsigned argument, range-checked (ctypes would silently wrap a
    negative or too large int)."""
    value = int(value)
    if not 0 <= value < (1 << bits):
        raise ZabError(EINVAL, call)
    return value


def _check(rc, call):
    if rc != 0:
        raise ZabError(rc, call)
    return rc


def option(name):
    """The number of the option called `name` ("heartbeat_ms"), from
    zab_config_option(); ZabError(ENOENT) if there is none."""
    out = _c_int()
    _check(_lib.zab_config_option(name.encode(), ctypes.byref(out)),
           "zab_config_option")
    return out.value


def frame_kind(frame):
    """zab_frame_kind(): "PROPOSAL", "ACK", ... or None."""
    frame = bytes(frame)
    return _s(_lib.zab_frame_kind(frame, len(frame)))


# ---------------------------------------------------------------------------
# Configuration


class Config:
    """A zab_config_t.  Config(id=1, voters=[1, 2, 3], heartbeat_ms=100)
    is short for new, set_id, add_voter ... and set."""

    def __init__(self, id=None, voters=(), observers=(), **options):
        p = _c_vp()
        _check(_lib.zab_config_new(ctypes.byref(p)), "zab_config_new")
        self._p = p
        if id is not None:
            self.set_id(id)
        for v in voters:
            self.add_voter(v)
        for o in observers:
            self.add_observer(o)
        for k, v in options.items():
            self.set(k, v)

    def _h(self):
        if self._p is None:
            raise ValueError("configuration already freed")
        return self._p

    def set_id(self, id):
        _check(_lib.zab_config_set_id(self._h(), _u(id, 32, "zab_config_set_id")),
               "zab_config_set_id")
        return self

    def add_voter(self, id):
        _check(_lib.zab_config_add_voter(
            self._h(), _u(id, 32, "zab_config_add_voter")),
            "zab_config_add_voter")
        return self

    def add_observer(self, id):
        _check(_lib.zab_config_add_observer(
            self._h(), _u(id, 32, "zab_config_add_observer")),
            "zab_config_add_observer")
        return self

    @staticmethod
    def _opt(opt):
        return option(opt) if isinstance(opt, str) else int(opt)

    def set(self, opt, value):
        """Sets an option given by name ("heartbeat_ms") or number
        (OPT_HEARTBEAT_MS).  ZabError(ENOENT) for an unknown name,
        ZabError(EINVAL) for an unknown number or a value out of range."""
        value = _u(value, 64, "zab_config_set")
        _check(_lib.zab_config_set(self._h(), self._opt(opt), value),
               "zab_config_set")
        return self

    def get(self, opt):
        out = _c_u64()
        _check(_lib.zab_config_get(self._h(), self._opt(opt),
                                   ctypes.byref(out)), "zab_config_get")
        return out.value

    def close(self):
        """zab_config_free(); also done when the object is collected."""
        if getattr(self, "_p", None) is not None:
            _lib.zab_config_free(self._p)
            self._p = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# Host callbacks: zab_host_ops_t, mirrored field by field from zab.h.

_SEND = ctypes.CFUNCTYPE(_c_int, _c_vp, _c_u32, _c_vp, _c_size)
_LOG_APPEND = ctypes.CFUNCTYPE(_c_int, _c_vp, _c_u64, _c_vp, _c_size,
                               _c_u64)
_LOG_TRUNCATE = ctypes.CFUNCTYPE(_c_int, _c_vp, _c_u64, _c_u64)
_LOG_READ = ctypes.CFUNCTYPE(_c_int, _c_vp, _c_u64, _P(_c_u64), _P(_c_vp),
                             _P(_c_size))
_SAVE_EPOCHS = ctypes.CFUNCTYPE(_c_int, _c_vp, _c_u32, _c_u32, _c_u64)
_SNAPSHOT_GET = ctypes.CFUNCTYPE(_c_int, _c_vp, _c_u64, _P(_c_u64),
                                 _P(_c_vp), _P(_c_size))
_SNAPSHOT_PUT = ctypes.CFUNCTYPE(_c_int, _c_vp, _c_u64, _c_u64, _c_u64,
                                 _c_vp, _c_size, _c_u64)
_DELIVER = ctypes.CFUNCTYPE(None, _c_vp, _c_u64, _c_vp, _c_size)
# zab_role_t in C: an enum with values 0..3, passed like an int on every
# ABI libzab supports.
_ROLE_CHANGE = ctypes.CFUNCTYPE(None, _c_vp, _c_int, _c_u32, _c_u32, _c_int)
_BARRIER_DONE = ctypes.CFUNCTYPE(None, _c_vp, _c_u64, _c_int)
_TRACE = ctypes.CFUNCTYPE(None, _c_vp, _c_int, _c_cp)


class _HostOps(ctypes.Structure):
    """struct zab_host_ops, version 1: an int, then eleven function
    pointers (ctypes inserts the same padding as the C compiler)."""
    _fields_ = [
        ("version", _c_int),
        ("send", _SEND),
        ("log_append", _LOG_APPEND),
        ("log_truncate", _LOG_TRUNCATE),
        ("log_read", _LOG_READ),
        ("save_epochs", _SAVE_EPOCHS),
        ("snapshot_get", _SNAPSHOT_GET),
        ("snapshot_put", _SNAPSHOT_PUT),
        ("deliver", _DELIVER),
        ("role_change", _ROLE_CHANGE),
        ("barrier_done", _BARRIER_DONE),
        ("trace", _TRACE),
    ]


_FTYPES = dict(_HostOps._fields_[1:])
_REQUIRED = ("send", "log_append", "log_truncate", "log_read",
             "save_epochs", "deliver")
_OPTIONAL = ("snapshot_get", "snapshot_put", "role_change", "barrier_done",
             "trace")


def _borrow(ptr, n):
    """Copies a buffer libzab lends to a callback into bytes we own."""
    return ctypes.string_at(ptr, n) if n else b""


def _status(r):
    """A host method's return value as a C status: None and 0 are 0,
    False is -1, an int is itself."""
    if r is None or r is True:
        return 0
    if r is False:
        return -1
    return int(r)


def _as_bytes(b):
    return b if isinstance(b, bytes) else bytes(b)


class Node:
    """One ZAB node (zab_t), driven by the host through its methods.

    Node(config, host) calls zab_new() with a table whose callbacks call
    `host`'s methods (see the module docstring).  The config may be freed or
    reused afterwards."""

    def __init__(self, config, host):
        self._z = None
        self.host = host
        self._depth = 0          # nesting of libzab calls on this node
        self._exc = None         # first exception raised by a callback
        self._log_buf = None     # log_read's data, see module docstring
        self._snap_buf = None    # snapshot_get's data
        ops = _HostOps()
        ops.version = HOST_OPS_VERSION
        self._cfuncs = {}
        for name in _REQUIRED + _OPTIONAL:
            meth = getattr(host, name, None)
            if meth is None:
                if name in _REQUIRED:
                    raise TypeError("host has no %s method" % name)
                continue  # left NULL in the table
            cf = _FTYPES[name](getattr(self, "_cb_" + name)(meth))
            self._cfuncs[name] = cf      # kept alive until close()
            setattr(ops, name, cf)
        out = _c_vp()
        _check(_lib.zab_new(config._h(), ctypes.byref(ops), None,
                            ctypes.byref(out)), "zab_new")
        self._z = out

    # -- calls --------------------------------------------------------------

    def _h(self):
        if self._z is None:
            raise ValueError("node already freed")
        return self._z

    def _call(self, name, *args):
        """Calls libzab function `name` on this node, then, once the
        outermost call returns, drops the buffers lent to libzab and
        re-raises what a callback raised."""
        f = getattr(_lib, name)
        self._depth += 1
        try:
            rc = f(self._h(), *args)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._log_buf = None
                self._snap_buf = None
                exc, self._exc = self._exc, None
                if exc is not None:
                    raise exc
        _check(rc, name)

    def start(self, accepted_epoch=0, current_epoch=0, last_zxid=0,
              delivered_zxid=0, now_ms=0):
        """zab_start(): the node's durable state, all 0 for a new node."""
        c = "zab_start"
        self._call(c, _u(accepted_epoch, 32, c), _u(current_epoch, 32, c),
                   _u(last_zxid, 64, c), _u(delivered_zxid, 64, c),
                   _u(now_ms, 64, c))

    def recv(self, peer, frame):
        """zab_recv(): one whole frame from `peer` (bytes; borrowed)."""
        frame = _as_bytes(frame)
        self._call("zab_recv", _u(peer, 32, "zab_recv"), frame, len(frame))

    def peer_up(self, peer):
        self._call("zab_peer_up", _u(peer, 32, "zab_peer_up"))

    def peer_down(self, peer):
        self._call("zab_peer_down", _u(peer, 32, "zab_peer_down"))

    def tick(self, now_ms):
        self._call("zab_tick", _u(now_ms, 64, "zab_tick"))

    def persisted(self, token, status=0):
        """zab_persisted(): the write `token` is durable (status 0) or
        failed.  Allowed from inside a callback of this node."""
        self._call("zab_persisted", _u(token, 64, "zab_persisted"), status)

    def propose(self, data):
        """zab_propose(): returns the zxid given by a leader, 0 when the
        request was forwarded to the leader."""
        data = _as_bytes(data)
        z = _c_u64()
        self._call("zab_propose", data, len(data), ctypes.byref(z))
        return z.value

    def read_barrier(self, cookie):
        self._call("zab_read_barrier", _u(cookie, 64, "zab_read_barrier"))

    def next_deadline(self):
        """zab_next_deadline(), or None when no rule is pending
        (UINT64_MAX)."""
        d = _c_u64()
        _check(_lib.zab_next_deadline(self._h(), ctypes.byref(d)),
               "zab_next_deadline")
        return None if d.value == UINT64_MAX else d.value

    def frame_size(self, header):
        """zab_frame_size(): the whole frame's size from its first
        FRAME_HEADER_SIZE bytes."""
        header = _as_bytes(header)
        n = _c_size()
        _check(_lib.zab_frame_size(self._h(), header, len(header),
                                   ctypes.byref(n)), "zab_frame_size")
        return n.value

    def stat(self, which):
        """zab_stat(), by number (STAT_ROLE) or name ("role")."""
        if isinstance(which, str):
            which = STATS[which]
        return _lib.zab_stat(self._h(), which)

    def stats(self):
        """Every statistic, as {name: value}."""
        return {n: _lib.zab_stat(self._h(), i) for n, i in STATS.items()}

    @property
    def role(self):
        return self.stat(STAT_ROLE)

    @property
    def leader(self):
        return self.stat(STAT_LEADER)

    @property
    def serving(self):
        return bool(self.stat(STAT_SERVING))

    def close(self):
        """zab_free(); no callback fires.  Not allowed from a callback of
        this node (ZabError(ESTATE)).  Also done when the object is
        collected."""
        if self._depth > 0:
            raise ZabError(ESTATE, "zab_free")
        if self._z is not None:
            _lib.zab_free(self._z)
            self._z = None
            self._cfuncs = {}    # only now may the wrappers go

    def __del__(self):
        if getattr(self, "_z", None) is not None and _lib is not None:
            self._depth = 0
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- callbacks ----------------------------------------------------------
    #
    # Each _cb_X(meth) returns the Python function that the CFUNCTYPE
    # wrapper calls: it converts the C arguments, calls the host's method
    # and converts the result, and never lets an exception out (see the
    # module docstring).

    def _failed(self, e, code):
        """A callback raised `e`: the C status to return.  A ZabError the
        host made itself (no .call) is just that status; anything else,
        including a ZabError from a libzab call made inside the callback,
        is kept to be re-raised by the outermost call."""
        if isinstance(e, ZabError) and e.call is None and code != 0:
            return e.code
        if self._exc is None:
            self._exc = e
        return code

    def _cb_send(self, meth):
        def send(ud, peer, frame, n):
            try:
                return _status(meth(peer, _borrow(frame, n)))
            except BaseException as e:    # nothing may cross libzab's frames
                return self._failed(e, -1)
        return send

    def _cb_log_append(self, meth):
        def log_append(ud, zxid, data, n, token):
            try:
                return _status(meth(zxid, _borrow(data, n), token))
            except BaseException as e:
                return self._failed(e, EIO)
        return log_append

    def _cb_log_truncate(self, meth):
        def log_truncate(ud, zxid, token):
            try:
                return _status(meth(zxid, token))
            except BaseException as e:
                return self._failed(e, EIO)
        return log_truncate

    def _lend(self, r, zxid_p, data_p, len_p, slot):
        """Stores (zxid, data) in the out-pointers, keeping data alive on
        the node in `slot`."""
        z, data = r
        data = _as_bytes(data)
        ptr = ctypes.c_char_p(data)      # points into the bytes object
        setattr(self, slot, (data, ptr))
        zxid_p[0] = z
        data_p[0] = ctypes.cast(ptr, _c_vp).value
        len_p[0] = len(data)
        return 0

    def _cb_log_read(self, meth):
        def log_read(ud, after, zxid_p, data_p, len_p):
            try:
                r = meth(after)
                if r is None:
                    return ENOENT
                return self._lend(r, zxid_p, data_p, len_p, "_log_buf")
            except BaseException as e:
                return self._failed(e, ENOENT)
        return log_read

    def _cb_save_epochs(self, meth):
        def save_epochs(ud, accepted, current, token):
            try:
                return _status(meth(accepted, current, token))
            except BaseException as e:
                return self._failed(e, EIO)
        return save_epochs

    def _cb_snapshot_get(self, meth):
        def snapshot_get(ud, min_zxid, zxid_p, data_p, len_p):
            try:
                r = meth(min_zxid)
                if r is None:
                    return ENOENT
                return self._lend(r, zxid_p, data_p, len_p, "_snap_buf")
            except BaseException as e:
                return self._failed(e, ENOENT)
        return snapshot_get

    def _cb_snapshot_put(self, meth):
        def snapshot_put(ud, zxid, offset, total, chunk, n, token):
            try:
                return _status(meth(zxid, offset, total, _borrow(chunk, n),
                                    token))
            except BaseException as e:
                return self._failed(e, EIO)
        return snapshot_put

    def _cb_deliver(self, meth):
        def deliver(ud, zxid, data, n):
            try:
                meth(zxid, _borrow(data, n))
            except BaseException as e:
                self._failed(e, 0)
        return deliver

    def _cb_role_change(self, meth):
        def role_change(ud, role, leader, epoch, serving):
            try:
                meth(role, leader, epoch, serving)
            except BaseException as e:
                self._failed(e, 0)
        return role_change

    def _cb_barrier_done(self, meth):
        def barrier_done(ud, cookie, status):
            try:
                meth(cookie, status)
            except BaseException as e:
                self._failed(e, 0)
        return barrier_done

    def _cb_trace(self, meth):
        def trace(ud, level, line):
            try:
                meth(level, _s(line))
            except BaseException as e:
                self._failed(e, 0)
        return trace
