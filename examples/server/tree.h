/*
 * tree.h -- zabd's replicated data tree: the deterministic state machine
 * every server applies committed transactions to.  Mirrors Apache
 * ZooKeeper 3.8's DataTree/DataNode (znodes, Stat maintenance, ephemerals,
 * containers and TTL nodes), the validation half of PrepRequestProcessor
 * (requests -> transactions, with a shadow of outstanding changes), the
 * transaction records (CreateTxn, DeleteTxn, SetDataTxn, SetACLTxn,
 * CheckVersionTxn, MultiTxn, CreateSessionTxn, closeSession, ErrorTxn) with
 * our own compact binary encoding, and snapshots (FileSnap) with a digest.
 *
 * Two layers, as in ZooKeeper:
 *   tree_prepare*  (leader only) validates a client request against the
 *                  tree plus the outstanding (prepared, not yet applied)
 *                  changes and produces a transaction or an error code;
 *   tree_apply     (every replica) applies a committed transaction.  Given
 *                  the same transactions, zxids and order every replica ends
 *                  with a byte-identical tree (tree_snapshot, tree_digest).
 *
 * Paths are NUL-terminated UTF-8 strings.  Children are listed sorted by
 * byte order (ZooKeeper returns HashSet order, which clients must not rely
 * on).  Nothing here aborts on bad input; sizes a client controls are
 * bounded by tree_config_t.  No global mutable state: a tree_t is a plain
 * object, not thread-safe, used by one thread at a time.
 */
#ifndef ZABD_TREE_H
#define ZABD_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"

/* KeeperException.Code values we produce. */
#define TREE_ZOK 0
#define TREE_ZSYSTEMERROR (-1) /* also: out of memory */
#define TREE_ZRUNTIMEINCONSISTENCY (-2)
#define TREE_ZMARSHALLINGERROR (-5)
#define TREE_ZUNIMPLEMENTED (-6)
#define TREE_ZBADARGUMENTS (-8)
#define TREE_ZNONODE (-101)
#define TREE_ZNOAUTH (-102)
#define TREE_ZBADVERSION (-103)
#define TREE_ZNOCHILDRENFOREPHEMERALS (-108)
#define TREE_ZNODEEXISTS (-110)
#define TREE_ZNOTEMPTY (-111)
#define TREE_ZINVALIDACL (-114)
#define TREE_ZNOWATCHER (-121)
#define TREE_ZQUOTAEXCEEDED (-125) /* our node-count / pending bound */

/* ZooDefs.OpCode values used as request and transaction types. */
#define TREE_OP_ERROR (-1)
#define TREE_OP_CREATE 1
#define TREE_OP_DELETE 2
#define TREE_OP_SET_DATA 5
#define TREE_OP_SET_ACL 7
#define TREE_OP_CHECK 13
#define TREE_OP_MULTI 14
#define TREE_OP_CREATE2 15
#define TREE_OP_CREATE_CONTAINER 19
#define TREE_OP_DELETE_CONTAINER 20
#define TREE_OP_CREATE_TTL 21
#define TREE_OP_CREATE_SESSION (-10)
#define TREE_OP_CLOSE_SESSION (-11)

/* CreateMode flags. */
#define TREE_PERSISTENT 0
#define TREE_EPHEMERAL 1
#define TREE_PERSISTENT_SEQUENTIAL 2
#define TREE_EPHEMERAL_SEQUENTIAL 3
#define TREE_CONTAINER 4
#define TREE_PERSISTENT_WITH_TTL 5
#define TREE_PERSISTENT_SEQUENTIAL_WITH_TTL 6

/* EphemeralType encodings of ephemeralOwner. */
#define TREE_CONTAINER_OWNER INT64_MIN /* 0x8000000000000000 */
#define TREE_TTL_MASK INT64_C(0x000000ffffffffff) /* max TTL, ms */
/* 0xff00000000000000 | ttl, for 0 < ttl <= TREE_TTL_MASK. */
int64_t tree_ttl_owner(int64_t ttl);

/* Watcher.Event.EventType. */
#define TREE_EV_NONE (-1)
#define TREE_EV_CREATED 1
#define TREE_EV_DELETED 2
#define TREE_EV_DATA_CHANGED 3
#define TREE_EV_CHILDREN_CHANGED 4
#define TREE_EV_DATA_WATCH_REMOVED 5
#define TREE_EV_CHILD_WATCH_REMOVED 6
#define TREE_EV_PERSISTENT_WATCH_REMOVED 7

/* The client-visible Stat, in Jute order. */
typedef struct tree_stat {
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
} tree_stat_t;

typedef struct tree_config {
    size_t max_data;    /* bytes of a znode's data; default 1 MiB */
    size_t max_path;    /* bytes of a path; default 4096 */
    size_t max_acl;     /* entries in an ACL; default 64 */
    size_t max_multi;   /* ops in a multi; default 1024 */
    size_t max_nodes;   /* znodes (prepare refuses more); default 1<<24 */
    size_t max_pending; /* outstanding change records; default 1<<16 */
    bool extended_types; /* zookeeper.extendedTypesEnabled (TTL nodes) */
} tree_config_t;

/* Fill *c with the defaults above (extended_types false). */
void tree_config_default(tree_config_t *c);

typedef struct tree tree_t;
typedef struct tree_node tree_node_t;

/* A new tree as DataTree() builds it: "/", "/zookeeper",
 * "/zookeeper/quota" (OPEN_ACL_UNSAFE, all-zero Stat) and
 * "/zookeeper/config" (READ_ACL_UNSAFE, aversion -1).  cfg may be NULL
 * (defaults).  NULL on out of memory. */
tree_t *tree_new(const tree_config_t *cfg);
void tree_free(tree_t *t);

/* ---- reads --------------------------------------------------------------- */

/* Number of znodes, "/" included. */
size_t tree_node_count(const tree_t *t);
/* The znode at path, or NULL.  Valid until the next tree_apply/tree_load. */
const tree_node_t *tree_lookup(const tree_t *t, const char *path);
void tree_node_stat(const tree_node_t *n, tree_stat_t *out);
const uint8_t *tree_node_data(const tree_node_t *n, size_t *len);
const acl_list_t *tree_node_acl(const tree_node_t *n);

/* exists: TREE_ZOK and *st (may be NULL), or TREE_ZNONODE.  No ACL check,
 * as in ZooKeeper. */
int tree_exists(const tree_t *t, const char *path, tree_stat_t *st);
/* getData: READ permission.  *data points into the tree (valid until the
 * next change); it is NULL for null data (ZooKeeper keeps null and empty
 * apart) and non-NULL for an empty value.  TREE_ZOK, TREE_ZNONODE, TREE_ZNOAUTH. */
int tree_get_data(const tree_t *t, const char *path, const acl_auth_t *who,
                  const uint8_t **data, size_t *len, tree_stat_t *st);
/* getChildren/getChildren2: READ permission; *names is a new sorted
 * array of new strings (free with tree_strv_free), *n its length. */
int tree_get_children(const tree_t *t, const char *path,
                      const acl_auth_t *who, char ***names, size_t *n,
                      tree_stat_t *st);
/* getACL: READ or ADMIN permission; *acl (initialised) gets a copy, with
 * digest ids shown as "user:x" unless the caller has ADMIN, as in 3.8. */
int tree_get_acl(const tree_t *t, const char *path, const acl_auth_t *who,
                 acl_list_t *acl, tree_stat_t *st);
/* getAllChildrenNumber: descendants of path (not path itself).  READ. */
int tree_all_children_number(const tree_t *t, const char *path,
                             const acl_auth_t *who, int32_t *count);
/* getEphemerals: sorted paths of session's ephemerals starting with
 * prefix (NULL or "/" for all); free with tree_strv_free. */
int tree_get_ephemerals(const tree_t *t, int64_t session, const char *prefix,
                        char ***paths, size_t *n);
void tree_strv_free(char **v, size_t n);

/* Sessions known to the tree (createSession applied, closeSession not):
 * true and *timeout if known. */
bool tree_session_get(const tree_t *t, int64_t session, int32_t *timeout);
size_t tree_session_count(const tree_t *t);
/* Sets the data of /zookeeper/config (the ensemble's configuration as
 * text, which ZooKeeper writes there from its own configuration at start,
 * outside any transaction).  Only the data changes, not the Stat's zxids
 * or versions. */
int tree_set_config(tree_t *t, const uint8_t *data, size_t len);
/* Calls fn for every session known to the tree (in no particular order). */
void tree_session_each(const tree_t *t,
                       void (*fn)(void *ud, int64_t session, int32_t timeout),
                       void *ud);

/* ContainerManager candidates at wall time now (ms): containers with
 * cversion > 0 and no children, TTL nodes with no children whose
 * mtime + ttl < now.  Sorted new strings; free with tree_strv_free.  The
 * caller prepares TREE_OP_DELETE_CONTAINER for each. */
int tree_container_candidates(const tree_t *t, int64_t now, char ***paths,
                              size_t *n);

/* PathUtils.validatePath (UTF-8 decoded; code points Java would reject
 * are rejected, as is invalid UTF-8).  TREE_ZOK or TREE_ZBADARGUMENTS. */
int tree_validate_path(const char *path, size_t max_path);

/* ---- transactions -------------------------------------------------------- */

/* One transaction.  type is a TREE_OP_* value: CREATE (also covering
 * create2/container/TTL: the owner says which), DELETE, SET_DATA, SET_ACL,
 * CHECK, MULTI, CREATE_SESSION, CLOSE_SESSION, ERROR.  Every pointer is
 * owned by the txn (free with tree_txn_free). */
typedef struct tree_txn {
    int32_t type;
    int64_t session;  /* TxnHeader.clientId */
    int32_t cxid;     /* TxnHeader.cxid (opaque to the tree) */
    int64_t time;     /* TxnHeader.time, ms, chosen by the leader */
    char *path;       /* create, delete, setData, setACL, check */
    uint8_t *data;    /* create, setData */
    size_t data_len;
    bool data_null;   /* null data (Java's null byte[]), not empty */
    acl_list_t acl;           /* create, setACL */
    int64_t ephemeral_owner;  /* create: 0, session, container or TTL */
    int32_t parent_cversion;  /* create: the parent's new cversion */
    int32_t version;          /* setData/setACL/check: new version */
    int32_t err;              /* error */
    int32_t timeout;          /* createSession */
    size_t nops;              /* multi: sub-transactions, none a multi */
    struct tree_txn *ops;
} tree_txn_t;

void tree_txn_init(tree_txn_t *x);
void tree_txn_free(tree_txn_t *x);

/* Encoding (big-endian): i32 type, i64 session, i32 cxid, i64 time, then
 * by type: create: str path, bytes data (length 0xffffffff: null), acl, i64 owner, i32 pcversion;
 * delete: str path; setData: str path, bytes data, i32 version; setACL:
 * str path, acl, i32 version; check: str path, i32 version; error: i32 err;
 * createSession: i32 timeout; closeSession: nothing; multi: u32 n then n
 * times (i32 type + body).  str/bytes = u32 length + bytes; acl = u32 n +
 * n (i32 perms, str scheme, str id).
 * tree_txn_encode: *out is a new malloc'd buffer.  TREE_ZOK or
 * TREE_ZSYSTEMERROR. */
int tree_txn_encode(const tree_txn_t *x, uint8_t **out, size_t *len);
/* Bounds-checked decode against cfg's limits (NULL: defaults); *x is
 * initialised here.  TREE_ZOK, TREE_ZMARSHALLINGERROR (malformed,
 * trailing bytes, over a limit) or TREE_ZSYSTEMERROR. */
int tree_txn_decode(const uint8_t *buf, size_t len, const tree_config_t *cfg,
                    tree_txn_t *x);

/* ---- prepare (PrepRequestProcessor) -------------------------------------- */

/* A client write request.  type: CREATE, CREATE2, CREATE_CONTAINER,
 * CREATE_TTL, DELETE, DELETE_CONTAINER, SET_DATA, SET_ACL, CHECK.
 * Borrowed pointers. */
typedef struct tree_op {
    int32_t type;
    const char *path;
    const uint8_t *data;
    size_t data_len;
    bool data_null;        /* create/setData with null data */
    const acl_list_t *acl; /* create, setACL */
    int32_t flags;         /* create: CreateMode */
    int64_t ttl;           /* createTTL only */
    int32_t version;       /* delete/setData/setACL/check; -1 any */
} tree_op_t;

/* Turn one request of session into a transaction.  tag identifies the
 * outstanding changes it records (normally the zxid it will commit with;
 * it must not decrease between calls); time is TxnHeader.time.  Returns
 * TREE_ZOK and a transaction in *out, or a KeeperException code and an
 * ERROR transaction carrying it in *out (ZooKeeper logs these too; zabd
 * may answer the client without proposing it).  TREE_ZSYSTEMERROR on out
 * of memory (*out then an empty ERROR txn).  *out is initialised here;
 * free it with tree_txn_free. */
int tree_prepare(tree_t *t, const tree_op_t *op, int64_t session,
                 const acl_auth_t *who, int64_t tag, int64_t time,
                 tree_txn_t *out);
/* A multi: all ops validated in order against the outstanding changes so
 * far.  If one fails, the changes of the earlier ops are rolled back, the
 * failing op becomes ERROR(code), later ones ERROR(RUNTIMEINCONSISTENCY),
 * and the code is returned; *out is always a MULTI txn (as ZooKeeper). */
int tree_prepare_multi(tree_t *t, const tree_op_t *ops, size_t nops,
                       int64_t session, const acl_auth_t *who, int64_t tag,
                       int64_t time, tree_txn_t *out);
int tree_prepare_create_session(tree_t *t, int64_t session, int32_t timeout,
                                int64_t time, tree_txn_t *out);
/* Records the deletion of the session's ephemerals (committed and
 * outstanding) as outstanding changes. */
int tree_prepare_close_session(tree_t *t, int64_t session, int64_t tag,
                               int64_t time, tree_txn_t *out);
/* Drop the outstanding changes whose tag <= upto (call after applying the
 * txn prepared with that tag).  tree_pending_clear drops them all (on
 * losing leadership). */
void tree_pending_release(tree_t *t, int64_t upto);
void tree_pending_clear(tree_t *t);
size_t tree_pending_count(const tree_t *t);

/* ---- apply (DataTree.processTxn) ----------------------------------------- */

/* What an applied transaction asks the watch manager to fire
 * (DataTree's triggerWatch calls): table DATA for dataWatches, CHILD for
 * childWatches, DATA_CHILD for a deletion's "data table, then child table
 * suppressing the watchers already notified". */
#define TREE_TRIG_DATA 1
#define TREE_TRIG_CHILD 2
#define TREE_TRIG_DATA_CHILD 3
typedef struct tree_trigger {
    int32_t table;
    int32_t event; /* TREE_EV_* */
    char *path;
} tree_trigger_t;

/* ProcessTxnResult.  For a multi, sub[] holds one result per op (type is
 * the sub txn's type, ERROR for the ops of a failed multi).  Triggers are
 * collected at the top level only, in firing order.  Free with
 * tree_result_free. */
typedef struct tree_result {
    int32_t type;
    int32_t err;
    char *path;        /* created/affected path, or NULL */
    bool has_stat;     /* create, setData, setACL */
    tree_stat_t stat;
    size_t nsub;
    struct tree_result *sub;
    size_t ntrig;
    tree_trigger_t *trig;
} tree_result_t;

void tree_result_free(tree_result_t *r);

/* Apply a committed txn with its zxid.  res may be NULL.  Returns res->err
 * (a KeeperException code for a txn that fails against the tree, which
 * leaves it unchanged, exactly as on every other replica), or
 * TREE_ZSYSTEMERROR when memory ran out: the tree may then be partly
 * changed and must be discarded (reload a snapshot). */
int tree_apply(tree_t *t, const tree_txn_t *txn, int64_t zxid,
               tree_result_t *res);
/* Highest zxid applied (DataTree.lastProcessedZxid). */
int64_t tree_last_zxid(const tree_t *t);

/* ---- snapshots ----------------------------------------------------------- */

/* Canonical serialisation: "ZBDT", u32 1, i64 lastZxid, u32 nsessions,
 * (i64 id, i32 timeout) sorted by id, u64 nnodes, nodes in pre-order with
 * children sorted: str path, bytes data, acl, i64 czxid, mzxid, ctime,
 * mtime, i32 version, cversion, aversion, i64 ephemeralOwner, pzxid.
 * Outstanding changes are not included.  *out is malloc'd. */
int tree_snapshot(const tree_t *t, uint8_t **out, size_t *len);
/* Load a snapshot into a new tree (bounds-checked, NULL cfg = defaults).
 * TREE_ZOK, TREE_ZMARSHALLINGERROR or TREE_ZSYSTEMERROR. */
int tree_load(const uint8_t *buf, size_t len, const tree_config_t *cfg,
              tree_t **out);
/* SHA-256 of the snapshot bytes, computed without building them: equal
 * digests mean byte-identical trees. */
int tree_digest(const tree_t *t, uint8_t out[32]);

#endif
