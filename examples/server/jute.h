/*
 * jute.h -- the ZooKeeper client wire protocol (jute binary encoding), as
 * Apache ZooKeeper 3.8 speaks it between clients and a server.
 *
 * Mirrors org.apache.jute.BinaryInputArchive / BinaryOutputArchive (the
 * primitive encodings), the records of zookeeper-jute's zookeeper.jute
 * (org.apache.zookeeper.proto.* and org.apache.zookeeper.data.*),
 * org.apache.zookeeper.MultiOperationRecord and MultiResponse (the multi
 * encodings), ZooDefs.OpCode, KeeperException.Code, Watcher.Event,
 * CreateMode, and the framing of NIOServerCnxn / ClientCnxn (a 4-byte
 * big-endian length, then the record).
 *
 * Encodings: int = 4 bytes big-endian, long = 8 bytes big-endian, boolean =
 * 1 byte (written 0/1, any non-zero reads as true, like
 * DataInput.readBoolean), buffer and ustring = int length (-1 = null) then
 * the bytes, vector = int count (-1 = null) then the elements.
 *
 * Design:
 *  - Decoding is zero-copy and allocation-free.  Strings and buffers point
 *    into the input with explicit lengths (they are NOT NUL-terminated).
 *    Vectors (ACL lists, string lists, multi op lists) are validated in
 *    full when their record is read and then kept as a *view* of their raw
 *    bytes, walked later with an iterator (jute_iter_t) that cannot fail.
 *    So nothing is allocated, nothing leaks, and every count is bounded by
 *    both the input length and a configured limit (jute_limits_t).  All
 *    decoded pointers are valid only as long as the input buffer is.
 *  - Reading uses a bounded reader (jute_reader_t): every read checks the
 *    bytes remaining; the first failure is sticky, later reads return
 *    zeroes and the same error.
 *  - Writing uses a growable writer (jute_writer_t) with a size limit; the
 *    first failure is sticky.  The writer owns its heap buffer; release it
 *    with jute_writer_free().
 *  - No global mutable state; nothing aborts on bad input.
 *
 * Every record has a reader jute_read_<record>() and a writer
 * jute_write_<record>() so that both the server side (decode requests,
 * encode responses) and the client side (used by tests and fuzzing) exist.
 */
#ifndef ZABD_JUTE_H
#define ZABD_JUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- status codes of this module (not ZooKeeper error codes) ----------- */

enum {
    JUTE_OK = 0,
    JUTE_ETRUNC = -1,  /* input ended inside a field */
    JUTE_ELEN = -2,    /* length < -1, or above the buffer limit */
    JUTE_ECOUNT = -3,  /* vector count < -1, or above its limit */
    JUTE_EOP = -4,     /* unknown / disallowed op type (request, multi) */
    JUTE_ENOMEM = -5,  /* writer limit reached or allocation failed */
    JUTE_EINVAL = -6   /* bad argument given to an encoder */
};

/* Name of a JUTE_* status ("JUTE_ETRUNC"...); "JUTE_?" if unknown. */
const char *jute_strerror(int status);

/* ---- ZooKeeper constants ----------------------------------------------- */

/* ZooDefs.OpCode (3.8). */
enum {
    JUTE_OP_NOTIFICATION = 0,
    JUTE_OP_CREATE = 1,
    JUTE_OP_DELETE = 2,
    JUTE_OP_EXISTS = 3,
    JUTE_OP_GETDATA = 4,
    JUTE_OP_SETDATA = 5,
    JUTE_OP_GETACL = 6,
    JUTE_OP_SETACL = 7,
    JUTE_OP_GETCHILDREN = 8,
    JUTE_OP_SYNC = 9,
    JUTE_OP_PING = 11,
    JUTE_OP_GETCHILDREN2 = 12,
    JUTE_OP_CHECK = 13,
    JUTE_OP_MULTI = 14,
    JUTE_OP_CREATE2 = 15,
    JUTE_OP_RECONFIG = 16,
    JUTE_OP_CHECKWATCHES = 17,
    JUTE_OP_REMOVEWATCHES = 18,
    JUTE_OP_CREATECONTAINER = 19,
    JUTE_OP_DELETECONTAINER = 20,
    JUTE_OP_CREATETTL = 21,
    JUTE_OP_MULTIREAD = 22,
    JUTE_OP_AUTH = 100,
    JUTE_OP_SETWATCHES = 101,
    JUTE_OP_SASL = 102,
    JUTE_OP_GETEPHEMERALS = 103,
    JUTE_OP_GETALLCHILDRENNUMBER = 104,
    JUTE_OP_SETWATCHES2 = 105,
    JUTE_OP_ADDWATCH = 106,
    JUTE_OP_WHOAMI = 107,
    JUTE_OP_CREATESESSION = -10,
    JUTE_OP_CLOSESESSION = -11,
    JUTE_OP_ERROR = -1
};

/* KeeperException.Code (3.8). */
enum {
    JUTE_ZOK = 0,
    JUTE_ZSYSTEMERROR = -1,
    JUTE_ZRUNTIMEINCONSISTENCY = -2,
    JUTE_ZDATAINCONSISTENCY = -3,
    JUTE_ZCONNECTIONLOSS = -4,
    JUTE_ZMARSHALLINGERROR = -5,
    JUTE_ZUNIMPLEMENTED = -6,
    JUTE_ZOPERATIONTIMEOUT = -7,
    JUTE_ZBADARGUMENTS = -8,
    JUTE_ZUNKNOWNSESSION = -12,
    JUTE_ZNEWCONFIGNOQUORUM = -13,
    JUTE_ZRECONFIGINPROGRESS = -14,
    JUTE_ZAPIERROR = -100,
    JUTE_ZNONODE = -101,
    JUTE_ZNOAUTH = -102,
    JUTE_ZBADVERSION = -103,
    JUTE_ZNOCHILDRENFOREPHEMERALS = -108,
    JUTE_ZNODEEXISTS = -110,
    JUTE_ZNOTEMPTY = -111,
    JUTE_ZSESSIONEXPIRED = -112,
    JUTE_ZINVALIDCALLBACK = -113,
    JUTE_ZINVALIDACL = -114,
    JUTE_ZAUTHFAILED = -115,
    JUTE_ZSESSIONMOVED = -118,
    JUTE_ZNOTREADONLY = -119,
    JUTE_ZEPHEMERALONLOCALSESSION = -120,
    JUTE_ZNOWATCHER = -121,
    JUTE_ZREQUESTTIMEOUT = -122,
    JUTE_ZRECONFIGDISABLED = -123,
    JUTE_ZSESSIONCLOSEDREQUIRESASLAUTH = -124,
    JUTE_ZQUOTAEXCEEDED = -125,
    JUTE_ZTHROTTLEDOP = -127
};

/* Special xids (ClientCnxn). */
enum {
    JUTE_XID_NOTIFICATION = -1,
    JUTE_XID_PING = -2,
    JUTE_XID_AUTH = -4,
    JUTE_XID_SET_WATCHES = -8
};

/* CreateMode flags. */
enum {
    JUTE_CREATE_PERSISTENT = 0,
    JUTE_CREATE_EPHEMERAL = 1,
    JUTE_CREATE_PERSISTENT_SEQUENTIAL = 2,
    JUTE_CREATE_EPHEMERAL_SEQUENTIAL = 3,
    JUTE_CREATE_CONTAINER = 4,
    JUTE_CREATE_PERSISTENT_WITH_TTL = 5,
    JUTE_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL = 6
};

/* ZooDefs.Perms. */
enum {
    JUTE_PERM_READ = 1,
    JUTE_PERM_WRITE = 2,
    JUTE_PERM_CREATE = 4,
    JUTE_PERM_DELETE = 8,
    JUTE_PERM_ADMIN = 16,
    JUTE_PERM_ALL = 31
};

/* Watcher.Event.EventType. */
enum {
    JUTE_EVENT_NONE = -1,
    JUTE_EVENT_NODE_CREATED = 1,
    JUTE_EVENT_NODE_DELETED = 2,
    JUTE_EVENT_NODE_DATA_CHANGED = 3,
    JUTE_EVENT_NODE_CHILDREN_CHANGED = 4,
    JUTE_EVENT_DATA_WATCH_REMOVED = 5,
    JUTE_EVENT_CHILD_WATCH_REMOVED = 6,
    JUTE_EVENT_PERSISTENT_WATCH_REMOVED = 7
};

/* Watcher.Event.KeeperState. */
enum {
    JUTE_STATE_UNKNOWN = -1,
    JUTE_STATE_DISCONNECTED = 0,
    JUTE_STATE_NO_SYNC_CONNECTED = 1,
    JUTE_STATE_SYNC_CONNECTED = 3,
    JUTE_STATE_AUTH_FAILED = 4,
    JUTE_STATE_CONNECTED_READ_ONLY = 5,
    JUTE_STATE_SASL_AUTHENTICATED = 6,
    JUTE_STATE_CLOSED = 7,
    JUTE_STATE_EXPIRED = -112
};

/* Watcher.WatcherType (checkWatches / removeWatches "type"). */
enum { JUTE_WATCHER_CHILDREN = 1, JUTE_WATCHER_DATA = 2, JUTE_WATCHER_ANY = 3 };

/* ZooDefs.AddWatchModes. */
enum { JUTE_ADDWATCH_PERSISTENT = 0, JUTE_ADDWATCH_PERSISTENT_RECURSIVE = 1 };

/* Java op name ("create", "getData", ...) of an op code; "unknown" if
 * none.  Static strings. */
const char *jute_op_name(int32_t op);

/* KeeperException.Code name ("OK", "NONODE", ...) of an error code;
 * "UNKNOWN" if none.  Static strings. */
const char *jute_err_name(int32_t err);

/* True when `flags` is one of the CreateMode values 0..6. */
bool jute_create_mode_valid(int32_t flags);

/* ---- limits -------------------------------------------------------------- */

/* Default largest buffer/ustring length: jute.maxbuffer (0xfffff) + 1024.
 * (Java 3.8.6's BinaryInputArchive allows maxBuffer + extrasize, where
 * zookeeper.jute.maxbuffer.extrasize defaults to maxBuffer, not 1024; so
 * Java accepts up to 2 * 0xfffff.  Packets themselves are capped at
 * jute.maxbuffer by NIOServerCnxn, so this rarely matters.) */
#define JUTE_DEFAULT_MAX_BUFFER (0xfffff + 1024)
/* Default largest ACL vector. */
#define JUTE_DEFAULT_MAX_ACL 1024
/* Default largest string vector (children, watches, ephemerals...). */
#define JUTE_DEFAULT_MAX_STRINGS 65536
/* Default largest number of ops in one multi / multiRead. */
#define JUTE_DEFAULT_MAX_OPS 65536

typedef struct jute_limits {
    int32_t max_buffer;  /* largest buffer / ustring length in bytes */
    int32_t max_acl;     /* largest ACL (and ClientInfo) vector count */
    int32_t max_strings; /* largest vector<ustring> count */
    int32_t max_ops;     /* largest number of ops in a multi */
} jute_limits_t;

/* Fills *lim with the JUTE_DEFAULT_* values. */
void jute_limits_default(jute_limits_t *lim);

/* ---- decoded values ------------------------------------------------------ */

/* A ustring: `len` bytes at `s` (no NUL terminator; not validated as
 * UTF-8).  len == -1 (and s == NULL) is the null string.  In decoded
 * records `s` points into the input. */
typedef struct jute_str {
    const char *s;
    int32_t len;
} jute_str_t;

/* A buffer: like jute_str_t, bytes instead of characters. */
typedef struct jute_buf {
    const uint8_t *data;
    int32_t len;
} jute_buf_t;

/* A string literal as a jute_str_t. */
#define JUTE_STR(lit) ((jute_str_t){ (lit), (int32_t)(sizeof(lit) - 1) })
/* The null string / buffer. */
#define JUTE_NULL_STR ((jute_str_t){ NULL, -1 })
#define JUTE_NULL_BUF ((jute_buf_t){ NULL, -1 })

/* jute_str_t of a NUL-terminated C string (NULL gives the null string).
 * Does not copy: the result points at `s`. */
jute_str_t jute_str(const char *s);

/* True when a and b hold the same bytes (or both are null). */
bool jute_str_eq(jute_str_t a, jute_str_t b);

/* data.Stat, field order as on the wire. */
typedef struct jute_stat {
    int64_t czxid;
    int64_t mzxid;
    int64_t ctime;
    int64_t mtime;
    int32_t version;
    int32_t cversion;
    int32_t aversion;
    int64_t ephemeral_owner;
    int32_t data_length;
    int32_t num_children;
    int64_t pzxid;
} jute_stat_t;

/* data.ACL (perms, Id{scheme, id}). */
typedef struct jute_acl {
    int32_t perms;
    jute_str_t scheme;
    jute_str_t id;
} jute_acl_t;

/* data.ClientInfo (authScheme, user), for WhoAmIResponse. */
typedef struct jute_client_info {
    jute_str_t auth_scheme;
    jute_str_t user;
} jute_client_info_t;

/*
 * A vector: count (-1 = null vector) and either
 *  - items (an array of `count` elements, the caller's memory, used when
 *    encoding), or
 *  - raw/raw_len (the encoded elements, without the count; what decoding
 *    fills, pointing into the input; items is then NULL).
 * When encoding, items is used if non-NULL, else raw/raw_len are copied
 * verbatim (so a decoded vector can be re-encoded).  Walk either form with
 * jute_*vec_iter() and jute_*_next().
 */
typedef struct jute_aclvec {
    int32_t count;
    const jute_acl_t *items;
    const uint8_t *raw;
    size_t raw_len;
} jute_aclvec_t;

typedef struct jute_strvec {
    int32_t count;
    const jute_str_t *items;
    const uint8_t *raw;
    size_t raw_len;
} jute_strvec_t;

typedef struct jute_infovec {
    int32_t count;
    const jute_client_info_t *items;
    const uint8_t *raw;
    size_t raw_len;
} jute_infovec_t;

/* Vectors over caller arrays (`n` elements; n may be 0). */
jute_aclvec_t jute_aclvec(const jute_acl_t *items, int32_t n);
jute_strvec_t jute_strvec(const jute_str_t *items, int32_t n);
jute_infovec_t jute_infovec(const jute_client_info_t *items, int32_t n);

/* Iterator over a vector (or a multi op list): internal state, treat as
 * opaque. */
typedef struct jute_iter {
    const void *items; /* array form, or NULL */
    const uint8_t *p;  /* raw form: next element */
    size_t left;       /* raw form: bytes left */
    int32_t index;
    int32_t count;
    int32_t kind;      /* for multi lists: JUTE_OP_MULTI / _MULTIREAD */
} jute_iter_t;

/* Start iterating a vector; a null vector iterates as empty. */
void jute_aclvec_iter(const jute_aclvec_t *v, jute_iter_t *it);
void jute_strvec_iter(const jute_strvec_t *v, jute_iter_t *it);
void jute_infovec_iter(const jute_infovec_t *v, jute_iter_t *it);

/* Next element into *out; false at the end.  On a vector that came from a
 * successful decode (or from an array) this never fails; on a hand-made
 * malformed raw view it stops early (returns false). */
bool jute_acl_next(jute_iter_t *it, jute_acl_t *out);
bool jute_str_next(jute_iter_t *it, jute_str_t *out);
bool jute_info_next(jute_iter_t *it, jute_client_info_t *out);

/* ---- bounded reader ------------------------------------------------------ */

typedef struct jute_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int err;             /* first error (sticky), JUTE_OK if none */
    jute_limits_t lim;
} jute_reader_t;

/* Reads `len` bytes at `buf` (not copied; must outlive every value decoded
 * from it).  lim NULL means jute_limits_default(). */
void jute_reader_init(jute_reader_t *r, const void *buf, size_t len,
                      const jute_limits_t *lim);

/* The sticky error (JUTE_OK if none). */
int jute_reader_error(const jute_reader_t *r);

/* Bytes not read yet (0 after an error). */
size_t jute_reader_remaining(const jute_reader_t *r);

/* Primitive reads.  On error (or after one) they return 0 / false / the
 * null value and leave the error in r.  jute_read_buffer/_ustring return
 * the status; the pointers they give point into the input. */
int32_t jute_read_int(jute_reader_t *r);
int64_t jute_read_long(jute_reader_t *r);
bool jute_read_bool(jute_reader_t *r);
int jute_read_buffer(jute_reader_t *r, jute_buf_t *out);
int jute_read_ustring(jute_reader_t *r, jute_str_t *out);

/* Vector reads: validate every element, honour the count limit of their
 * kind, and fill a raw view (see jute_aclvec_t).  Return the status. */
int jute_read_aclvec(jute_reader_t *r, jute_aclvec_t *out);
int jute_read_strvec(jute_reader_t *r, jute_strvec_t *out);
int jute_read_infovec(jute_reader_t *r, jute_infovec_t *out);
int jute_read_stat(jute_reader_t *r, jute_stat_t *out);

/* ---- growable writer ----------------------------------------------------- */

typedef struct jute_writer {
    uint8_t *buf;   /* heap, owned by the writer */
    size_t len;
    size_t cap;
    size_t limit;   /* largest len allowed */
    int err;        /* first error (sticky) */
} jute_writer_t;

/* An empty writer that may grow to `limit` bytes (0 = no limit beyond
 * SIZE_MAX/2).  Allocates nothing until the first write. */
void jute_writer_init(jute_writer_t *w, size_t limit);

/* Frees the buffer; the writer is then empty and may be reused. */
void jute_writer_free(jute_writer_t *w);

/* Forgets the contents and the error, keeping the buffer for reuse. */
void jute_writer_reset(jute_writer_t *w);

/* The sticky error (JUTE_OK if none). */
int jute_writer_error(const jute_writer_t *w);

/* Primitive writes; each returns the writer's status afterwards.  A string
 * or buffer with len -1 is written as null; len < -1 is JUTE_EINVAL. */
int jute_write_int(jute_writer_t *w, int32_t v);
int jute_write_long(jute_writer_t *w, int64_t v);
int jute_write_bool(jute_writer_t *w, bool v);
int jute_write_buffer(jute_writer_t *w, jute_buf_t b);
int jute_write_ustring(jute_writer_t *w, jute_str_t s);
int jute_write_raw(jute_writer_t *w, const void *p, size_t n);
int jute_write_aclvec(jute_writer_t *w, const jute_aclvec_t *v);
int jute_write_strvec(jute_writer_t *w, const jute_strvec_t *v);
int jute_write_infovec(jute_writer_t *w, const jute_infovec_t *v);
int jute_write_stat(jute_writer_t *w, const jute_stat_t *st);

/* Incremental vector: jute_vector_begin() writes a placeholder count and
 * returns its offset; write the elements; jute_vector_end() patches the
 * count in.  Useful when the elements are produced by a walk. */
size_t jute_vector_begin(jute_writer_t *w);
int jute_vector_end(jute_writer_t *w, size_t mark, int32_t count);

/* ---- framing ------------------------------------------------------------- */

/* jute_packet_begin() writes a placeholder 4-byte length and returns its
 * offset; write the packet's records; jute_packet_end() patches the length
 * (bytes after the prefix).  Returns the status. */
size_t jute_packet_begin(jute_writer_t *w);
int jute_packet_end(jute_writer_t *w, size_t mark);

/* Looks for one length-prefixed packet at the start of buf[0..len).
 * Returns 1 and sets *body_len (bytes after the prefix) when a whole packet
 * is present, 0 when more bytes are needed, JUTE_ELEN when the length is
 * negative or above max_len (NIOServerCnxn: "Len error" above
 * jute.maxbuffer).  The caller recognising four-letter words should look
 * at the first 4 bytes before calling this. */
int jute_frame_check(const void *buf, size_t len, int32_t max_len,
                     size_t *body_len);

/* ---- records ------------------------------------------------------------- */

/* proto.ConnectRequest + the optional trailing readOnly boolean.  Reading
 * sets has_read_only when a byte follows the fixed fields (like
 * ZooKeeperServer.processConnectRequest: absent = "old client").  Writing
 * writes read_only only when has_read_only. */
typedef struct jute_connect_request {
    int32_t protocol_version;
    int64_t last_zxid_seen;
    int32_t timeout;
    int64_t session_id;
    jute_buf_t passwd;
    bool has_read_only;
    bool read_only;
} jute_connect_request_t;

/* proto.ConnectResponse + optional readOnly (write it when the client sent
 * one, as ZooKeeperServer.finishSessionInit does for !isOldClient). */
typedef struct jute_connect_response {
    int32_t protocol_version;
    int32_t timeout;
    int64_t session_id;
    jute_buf_t passwd;
    bool has_read_only;
    bool read_only;
} jute_connect_response_t;

typedef struct jute_request_header { int32_t xid; int32_t type; } jute_request_header_t;
typedef struct jute_reply_header { int32_t xid; int64_t zxid; int32_t err; } jute_reply_header_t;
typedef struct jute_multi_header { int32_t type; bool done; int32_t err; } jute_multi_header_t;

/* CreateRequest (create, create2, createContainer) and CreateTTLRequest
 * (createTTL): the TTL form is the same struct with ttl used. */
typedef struct jute_create_request {
    jute_str_t path;
    jute_buf_t data;
    jute_aclvec_t acl;
    int32_t flags;
    int64_t ttl;        /* CreateTTLRequest only */
} jute_create_request_t;

/* DeleteRequest and CheckVersionRequest (path, version). */
typedef struct jute_path_version {
    jute_str_t path;
    int32_t version;
} jute_path_version_t;

/* ExistsRequest, GetDataRequest, GetChildrenRequest, GetChildren2Request
 * (path, watch). */
typedef struct jute_path_watch {
    jute_str_t path;
    bool watch;
} jute_path_watch_t;

/* GetACLRequest, SyncRequest, GetAllChildrenNumberRequest,
 * GetEphemeralsRequest (prefixPath), SyncResponse, CreateResponse. */
typedef struct jute_path { jute_str_t path; } jute_path_t;

typedef struct jute_set_data_request {
    jute_str_t path;
    jute_buf_t data;
    int32_t version;
} jute_set_data_request_t;

typedef struct jute_set_acl_request {
    jute_str_t path;
    jute_aclvec_t acl;
    int32_t version;
} jute_set_acl_request_t;

typedef struct jute_auth_packet {
    int32_t type;
    jute_str_t scheme;
    jute_buf_t auth;
} jute_auth_packet_t;

/* SetWatches, and SetWatches2 (v2: the two persistent vectors too). */
typedef struct jute_set_watches {
    int64_t relative_zxid;
    jute_strvec_t data_watches;
    jute_strvec_t exist_watches;
    jute_strvec_t child_watches;
    jute_strvec_t persistent_watches;           /* SetWatches2 only */
    jute_strvec_t persistent_recursive_watches; /* SetWatches2 only */
} jute_set_watches_t;

/* AddWatchRequest (path, mode), CheckWatchesRequest and
 * RemoveWatchesRequest (path, type): `value` is the mode or type. */
typedef struct jute_path_int {
    jute_str_t path;
    int32_t value;
} jute_path_int_t;

typedef struct jute_reconfig_request {
    jute_str_t joining_servers;
    jute_str_t leaving_servers;
    jute_str_t new_members;
    int64_t cur_config_id;
} jute_reconfig_request_t;

/* GetSASLRequest / SetSASLResponse (token). */
typedef struct jute_sasl { jute_buf_t token; } jute_sasl_t;

/* One op of a multi (MultiOperationRecord).  `type` selects the member:
 * create/create2/createContainer/createTTL -> create (ttl only for
 * createTTL); delete/check -> path_version; setData -> set_data;
 * getData/getChildren -> path_watch (multiRead). */
typedef struct jute_op {
    int32_t type;
    union {
        jute_create_request_t create;
        jute_path_version_t path_version;
        jute_set_data_request_t set_data;
        jute_path_watch_t path_watch;
    } u;
} jute_op_t;

/* A multi (kind JUTE_OP_MULTI: create, create2, createContainer,
 * createTTL, delete, setData, check) or multiRead (kind
 * JUTE_OP_MULTIREAD: getData, getChildren) op list.  Decoding fills raw
 * (the ops, headers included, without the terminating header).  Encoding
 * uses items if non-NULL, else copies raw, then writes the terminator.
 * Walk either form with jute_multi_iter() / jute_op_next(). */
typedef struct jute_multi {
    int32_t kind;
    int32_t count;
    const jute_op_t *items;
    const uint8_t *raw;
    size_t raw_len;
} jute_multi_t;

void jute_multi_iter(const jute_multi_t *m, jute_iter_t *it);
bool jute_op_next(jute_iter_t *it, jute_op_t *out);

/* One result of a multi / multiRead response (MultiResponse / OpResult).
 * type: create -> path; create2 -> path, stat (the server answers create2,
 * createTTL and createContainer ops with create2 results); delete, check
 * -> nothing; setData -> stat; getData -> data, stat; getChildren ->
 * children; error (-1) -> err.  The MultiHeader carries err only for
 * error results (0 otherwise), as MultiResponse.serialize does. */
typedef struct jute_op_result {
    int32_t type;
    int32_t err;
    jute_str_t path;
    jute_buf_t data;
    jute_stat_t stat;
    jute_strvec_t children;
} jute_op_result_t;

/* A multi / multiRead response: results as items (encoding) or, after
 * decoding, a raw view of the results without the terminating header;
 * walk with jute_multi_response_iter() / jute_op_result_next(). */
typedef struct jute_multi_response {
    int32_t count;
    const jute_op_result_t *items;
    const uint8_t *raw;
    size_t raw_len;
} jute_multi_response_t;

void jute_multi_response_iter(const jute_multi_response_t *m, jute_iter_t *it);
bool jute_op_result_next(jute_iter_t *it, jute_op_result_t *out);

/* Responses. */
typedef struct jute_create2_response { jute_str_t path; jute_stat_t stat; } jute_create2_response_t;
/* ExistsResponse, SetDataResponse, SetACLResponse. */
typedef struct jute_stat_response { jute_stat_t stat; } jute_stat_response_t;
typedef struct jute_get_data_response { jute_buf_t data; jute_stat_t stat; } jute_get_data_response_t;
typedef struct jute_get_acl_response { jute_aclvec_t acl; jute_stat_t stat; } jute_get_acl_response_t;
/* GetChildrenResponse and GetEphemeralsResponse (one string vector). */
typedef struct jute_strlist_response { jute_strvec_t list; } jute_strlist_response_t;
typedef struct jute_get_children2_response { jute_strvec_t children; jute_stat_t stat; } jute_get_children2_response_t;
/* GetAllChildrenNumberResponse (totalNumber), ErrorResponse (err). */
typedef struct jute_int_response { int32_t value; } jute_int_response_t;
typedef struct jute_whoami_response { jute_infovec_t client_info; } jute_whoami_response_t;
typedef struct jute_watcher_event { int32_t type; int32_t state; jute_str_t path; } jute_watcher_event_t;

/*
 * Record readers and writers.  Each jute_read_X() reads record X from r
 * into *out (zero-copy, see above) and returns the reader's status; *out
 * is fully written only on JUTE_OK.  Each jute_write_X() appends record X
 * and returns the writer's status.  Neither takes ownership of anything.
 */
int jute_read_connect_request(jute_reader_t *r, jute_connect_request_t *out);
int jute_write_connect_request(jute_writer_t *w, const jute_connect_request_t *in);
int jute_read_connect_response(jute_reader_t *r, jute_connect_response_t *out);
int jute_write_connect_response(jute_writer_t *w, const jute_connect_response_t *in);
int jute_read_request_header(jute_reader_t *r, jute_request_header_t *out);
int jute_write_request_header(jute_writer_t *w, const jute_request_header_t *in);
int jute_read_reply_header(jute_reader_t *r, jute_reply_header_t *out);
int jute_write_reply_header(jute_writer_t *w, const jute_reply_header_t *in);
int jute_read_multi_header(jute_reader_t *r, jute_multi_header_t *out);
int jute_write_multi_header(jute_writer_t *w, const jute_multi_header_t *in);
int jute_read_create_request(jute_reader_t *r, jute_create_request_t *out);      /* ttl := 0 */
int jute_write_create_request(jute_writer_t *w, const jute_create_request_t *in);
int jute_read_create_ttl_request(jute_reader_t *r, jute_create_request_t *out);
int jute_write_create_ttl_request(jute_writer_t *w, const jute_create_request_t *in);
int jute_read_path_version(jute_reader_t *r, jute_path_version_t *out);
int jute_write_path_version(jute_writer_t *w, const jute_path_version_t *in);
int jute_read_path_watch(jute_reader_t *r, jute_path_watch_t *out);
int jute_write_path_watch(jute_writer_t *w, const jute_path_watch_t *in);
int jute_read_path(jute_reader_t *r, jute_path_t *out);
int jute_write_path(jute_writer_t *w, const jute_path_t *in);
int jute_read_set_data_request(jute_reader_t *r, jute_set_data_request_t *out);
int jute_write_set_data_request(jute_writer_t *w, const jute_set_data_request_t *in);
int jute_read_set_acl_request(jute_reader_t *r, jute_set_acl_request_t *out);
int jute_write_set_acl_request(jute_writer_t *w, const jute_set_acl_request_t *in);
int jute_read_auth_packet(jute_reader_t *r, jute_auth_packet_t *out);
int jute_write_auth_packet(jute_writer_t *w, const jute_auth_packet_t *in);
/* SetWatches: the persistent vectors are set to null when reading. */
int jute_read_set_watches(jute_reader_t *r, jute_set_watches_t *out);
int jute_write_set_watches(jute_writer_t *w, const jute_set_watches_t *in);
int jute_read_set_watches2(jute_reader_t *r, jute_set_watches_t *out);
int jute_write_set_watches2(jute_writer_t *w, const jute_set_watches_t *in);
int jute_read_path_int(jute_reader_t *r, jute_path_int_t *out);
int jute_write_path_int(jute_writer_t *w, const jute_path_int_t *in);
int jute_read_reconfig_request(jute_reader_t *r, jute_reconfig_request_t *out);
int jute_write_reconfig_request(jute_writer_t *w, const jute_reconfig_request_t *in);
int jute_read_sasl(jute_reader_t *r, jute_sasl_t *out);
int jute_write_sasl(jute_writer_t *w, const jute_sasl_t *in);
/* Multi / multiRead request: `kind` is JUTE_OP_MULTI or JUTE_OP_MULTIREAD
 * and decides which op types are allowed (JUTE_EOP otherwise, like
 * MultiOperationRecord's "Invalid type of op" / "Mixing different kind of
 * ops").  The list ends at the first header with done set (written as
 * type -1, done true, err -1).  Op headers are written (type, false, -1). */
int jute_read_multi(jute_reader_t *r, int32_t kind, jute_multi_t *out);
int jute_write_multi(jute_writer_t *w, const jute_multi_t *in);
int jute_read_multi_response(jute_reader_t *r, jute_multi_response_t *out);
int jute_write_multi_response(jute_writer_t *w, const jute_multi_response_t *in);
/* One result, then the end marker: for producing a multi response as a
 * stream (jute_write_multi_response does both). */
int jute_write_op_result(jute_writer_t *w, const jute_op_result_t *res);
int jute_write_multi_end(jute_writer_t *w);

int jute_read_create2_response(jute_reader_t *r, jute_create2_response_t *out);
int jute_write_create2_response(jute_writer_t *w, const jute_create2_response_t *in);
int jute_read_stat_response(jute_reader_t *r, jute_stat_response_t *out);
int jute_write_stat_response(jute_writer_t *w, const jute_stat_response_t *in);
int jute_read_get_data_response(jute_reader_t *r, jute_get_data_response_t *out);
int jute_write_get_data_response(jute_writer_t *w, const jute_get_data_response_t *in);
int jute_read_get_acl_response(jute_reader_t *r, jute_get_acl_response_t *out);
int jute_write_get_acl_response(jute_writer_t *w, const jute_get_acl_response_t *in);
int jute_read_strlist_response(jute_reader_t *r, jute_strlist_response_t *out);
int jute_write_strlist_response(jute_writer_t *w, const jute_strlist_response_t *in);
int jute_read_get_children2_response(jute_reader_t *r, jute_get_children2_response_t *out);
int jute_write_get_children2_response(jute_writer_t *w, const jute_get_children2_response_t *in);
int jute_read_int_response(jute_reader_t *r, jute_int_response_t *out);
int jute_write_int_response(jute_writer_t *w, const jute_int_response_t *in);
int jute_read_whoami_response(jute_reader_t *r, jute_whoami_response_t *out);
int jute_write_whoami_response(jute_writer_t *w, const jute_whoami_response_t *in);
int jute_read_watcher_event(jute_reader_t *r, jute_watcher_event_t *out);
int jute_write_watcher_event(jute_writer_t *w, const jute_watcher_event_t *in);

/* ---- whole packets --------------------------------------------------------- */

/* A decoded client request: header and the op's record.  Which member of
 * u is filled depends on hdr.type:
 *   create, create2, createContainer, createTTL -> create
 *   delete, check                               -> path_version
 *   exists, getData, getChildren, getChildren2  -> path_watch
 *   getACL, sync, getAllChildrenNumber, getEphemerals -> path
 *   setData -> set_data; setACL -> set_acl; auth -> auth;
 *   setWatches, setWatches2 -> set_watches; addWatch, checkWatches,
 *   removeWatches -> path_int; reconfig -> reconfig; sasl -> sasl;
 *   multi, multiRead -> multi; ping, closeSession, whoAmI -> nothing. */
typedef struct jute_request {
    jute_request_header_t hdr;
    union {
        jute_create_request_t create;
        jute_path_version_t path_version;
        jute_path_watch_t path_watch;
        jute_path_t path;
        jute_set_data_request_t set_data;
        jute_set_acl_request_t set_acl;
        jute_auth_packet_t auth;
        jute_set_watches_t set_watches;
        jute_path_int_t path_int;
        jute_reconfig_request_t reconfig;
        jute_sasl_t sasl;
        jute_multi_t multi;
    } u;
} jute_request_t;

/* Decodes one request packet body (after the length prefix): the
 * RequestHeader, then the record its type calls for.  Returns JUTE_OK,
 * a reader error, or JUTE_EOP for a type clients do not send or that has
 * no decoder here (hdr is still filled then, so the caller can answer
 * with an error).  Trailing bytes after the record are ignored, as the
 * Java server ignores them; check jute_reader_remaining() for strictness. */
int jute_read_request(jute_reader_t *r, jute_request_t *out);

/* Encodes a request (header and record, no length prefix); for tests and
 * clients.  JUTE_EOP for a type without a record here. */
int jute_write_request(jute_writer_t *w, const jute_request_t *in);

/* A whole watch notification packet: length prefix, ReplyHeader(xid -1,
 * zxid -1, err 0) and the WatcherEvent, as NIOServerCnxn.process sends. */
int jute_write_notification(jute_writer_t *w, const jute_watcher_event_t *ev);

#endif /* ZABD_JUTE_H */
