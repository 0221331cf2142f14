/*
 * zab.h -- libzab, ZooKeeper Atomic Broadcast as an embeddable C library.
 *
 * This header is the whole public interface and its documentation.  Anything
 * not declared here is not API.
 *
 * libzab is a pure state machine: one node of a ZAB ensemble per opaque
 * zab_t handle.  It opens no socket or file, starts no thread, reads no
 * clock, keeps no global state and never aborts on bad input.  The host
 * program hands it three things -- bytes from peers (zab_recv), the time
 * (zab_tick) and the news that its own disk writes are durable
 * (zab_persisted) -- and libzab answers through the callbacks of
 * zab_host_ops_t: what to send to whom, what to append to or truncate from
 * the log, which epochs to save, and which transactions are committed, in
 * order (deliver).  Callbacks run only inside a libzab call made by the
 * host, on the host's thread.
 *
 * Conventions
 *   - Every function that can fail returns 0 (ZAB_OK) or a negative ZAB_E*
 *     code; results go out through pointer arguments.  A call that fails
 *     changes nothing and fires no callback, with the exceptions its own
 *     comment names (a leader that cannot go on steps down).
 *   - Transaction ids (zxids) are 64 bits: the high 32 are the epoch, the
 *     low 32 a counter that starts at 1 in every epoch.  ZAB_ZXID() builds
 *     one; ZAB_ZXID_EPOCH()/ZAB_ZXID_COUNTER() split one.
 *   - Times are milliseconds of a monotonic clock chosen by the host.
 *   - Buffers passed to libzab are borrowed for the duration of the call
 *     only; libzab copies what it keeps.  Buffers passed to callbacks are
 *     borrowed for the duration of the callback only; the host copies what
 *     it keeps.  The exceptions (log_read, snapshot_get) say so.
 *   - From inside a callback the host may call zab_persisted() (a host with
 *     a synchronous disk confirms writes at once; libzab acts on it before
 *     the outer call returns) and the read-only calls (zab_stat,
 *     zab_next_deadline, the name functions).  The calls that drive the node
 *     (zab_start, zab_recv, zab_tick, zab_peer_up/down, zab_propose,
 *     zab_read_barrier) return ZAB_ESTATE there; zab_free must not be
 *     called there.
 *
 * Copyright (c) 2026 the libzab developers.  MIT licence, see COPYING.
 */
#ifndef ZAB_H
#define ZAB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(ZAB_BUILDING_DLL)
#define ZAB_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define ZAB_API __attribute__((visibility("default")))
#else
#define ZAB_API
#endif

/* ------------------------------------------------------------------------
 * Version
 * --------------------------------------------------------------------- */

#define ZAB_VERSION_MAJOR 0
#define ZAB_VERSION_MINOR 1
#define ZAB_VERSION_PATCH 0
#define ZAB_VERSION_NUMBER \
    (ZAB_VERSION_MAJOR * 10000 + ZAB_VERSION_MINOR * 100 + ZAB_VERSION_PATCH)

/* The version of the library actually linked, as ZAB_VERSION_NUMBER. */
ZAB_API int zab_version(void);
/* The same as a static string, e.g. "0.1.0". */
ZAB_API const char *zab_version_string(void);

/* ------------------------------------------------------------------------
 * Errors
 *
 * ZAB_ERRNO_MAP(X) lists every code once; the enum, zab_strerror() and
 * zab_err_name() are generated from it so they cannot drift apart.
 * --------------------------------------------------------------------- */

#define ZAB_ERRNO_MAP(X)                                                     \
    X(ENOMEM, -1, "out of memory")                                           \
    X(EINVAL, -2, "invalid argument")                                        \
    X(EBUSY, -3, "queue full, try again later")                              \
    X(ENOTLEADER, -4, "no established leader to take the request")           \
    X(ESTATE, -5, "call not allowed in the current state")                   \
    X(EPROTO, -6, "malformed or illegal peer message")                       \
    X(EEPOCH, -7, "epoch or zxid counter exhausted")                         \
    X(EIO, -8, "host reported an I/O failure")                               \
    X(ENOENT, -9, "no such entry")                                           \
    X(ERANGE, -10, "entry no longer in the log (compacted)")                 \
    X(E2BIG, -11, "payload larger than the configured maximum")              \
    X(ECANCELED, -12, "cancelled by a change of leader or role")

enum {
    ZAB_OK = 0,
#define ZAB__ERR_ENUM(name, value, text) ZAB_##name = (value),
    ZAB_ERRNO_MAP(ZAB__ERR_ENUM)
#undef ZAB__ERR_ENUM
};

/* A static English message for an error code; never NULL, also for codes
 * libzab does not know ("unknown error"). */
ZAB_API const char *zab_strerror(int err);
/* The code's name, e.g. "ZAB_EBUSY"; never NULL ("ZAB_UNKNOWN"). */
ZAB_API const char *zab_err_name(int err);

/* ------------------------------------------------------------------------
 * Zxids and roles
 * --------------------------------------------------------------------- */

#define ZAB_ZXID(epoch, counter) \
    ((((uint64_t)(uint32_t)(epoch)) << 32) | (uint64_t)(uint32_t)(counter))
#define ZAB_ZXID_EPOCH(zxid) ((uint32_t)((uint64_t)(zxid) >> 32))
#define ZAB_ZXID_COUNTER(zxid) ((uint32_t)((uint64_t)(zxid)&0xffffffffu))

typedef enum zab_role {
    ZAB_LOOKING = 0,   /* electing a leader */
    ZAB_FOLLOWING = 1, /* a voter that follows a leader */
    ZAB_LEADING = 2,   /* the leader */
    ZAB_OBSERVING = 3  /* a non-voting learner */
} zab_role_t;

/* "looking", "following", "leading" or "observing"; "unknown" otherwise. */
ZAB_API const char *zab_role_name(int role);

/* ------------------------------------------------------------------------
 * Configuration
 *
 * An opaque object with typed setters, so that it can grow without breaking
 * callers or foreign-function bindings.  zab_new() copies it: the caller
 * may free or reuse it afterwards.
 * --------------------------------------------------------------------- */

typedef struct zab_config zab_config_t;

/* Numeric options for zab_config_set().  Defaults in brackets. */
typedef enum zab_option {
    /* How long a LOOKING node waits for notifications before sending its
     * vote again; doubles up to 8x while nothing changes. [200] */
    ZAB_OPT_ELECTION_TIMEOUT_MS = 1,
    /* Once a vote has a quorum, how long to wait for a better one before
     * deciding (FastLeaderElection's finalizeWait). [50] */
    ZAB_OPT_ELECTION_FINALIZE_MS = 2,
    /* Interval of the leader's PINGs. [500] */
    ZAB_OPT_HEARTBEAT_MS = 3,
    /* A leader that has not heard from a quorum, or a learner that has not
     * heard from its leader, for this long gives up (ZooKeeper's
     * syncLimit x tickTime, 10 s by default there). [4000] */
    ZAB_OPT_PEER_TIMEOUT_MS = 4,
    /* Discovery plus synchronisation must finish within this time, else
     * the node goes back to electing (ZooKeeper's initLimit). [5000] */
    ZAB_OPT_SYNC_TIMEOUT_MS = 5,
    /* Largest transaction payload accepted by zab_propose(), and largest
     * snapshot chunk sent; frames are at most this plus 64 bytes.
     * [1048576] */
    ZAB_OPT_MAX_PAYLOAD_BYTES = 6,
    /* Most proposals the leader keeps uncommitted at once; a further
     * zab_propose() returns ZAB_EBUSY. [4096] */
    ZAB_OPT_MAX_OUTSTANDING = 7,
    /* Most payload bytes a node keeps for logged but undelivered
     * transactions.  [67108864] */
    ZAB_OPT_MAX_PENDING_BYTES = 8,
    /* Most read barriers waiting at once. [1024] */
    ZAB_OPT_MAX_BARRIERS = 9,
    /* Most transactions sent to a learner by DIFF; beyond, SNAP. [100000] */
    ZAB_OPT_DIFF_MAX = 10,
    /* Highest zxid counter a leader uses before it steps down so that a new
     * epoch is elected (tests set it tiny). [0xfffffffe] */
    ZAB_OPT_COUNTER_MAX = 11
} zab_option_t;

/* Allocator hook (per instance, no global state).  realloc_fn follows
 * realloc() semantics; any of them may fail and libzab then reports
 * ZAB_ENOMEM and leaves the node as it was before the call. */
typedef void *(*zab_malloc_fn)(void *alloc_ud, size_t size);
typedef void *(*zab_realloc_fn)(void *alloc_ud, void *ptr, size_t size);
typedef void (*zab_free_fn)(void *alloc_ud, void *ptr);

/* Creates a configuration with every default and no members.  The
 * configuration itself is allocated with malloc(). */
ZAB_API int zab_config_new(zab_config_t **out);
/* Frees a configuration; NULL is allowed. */
ZAB_API void zab_config_free(zab_config_t *cfg);
/* This node's id: a positive integer, the same as in voter/observer lists
 * of every member (ZooKeeper's myid). */
ZAB_API int zab_config_set_id(zab_config_t *cfg, uint32_t id);
/* Adds a voting member (1..255 members in all, ids unique and > 0). */
ZAB_API int zab_config_add_voter(zab_config_t *cfg, uint32_t id);
/* Adds an observer: a member that learns every committed transaction but
 * never votes and never counts toward a quorum. */
ZAB_API int zab_config_add_observer(zab_config_t *cfg, uint32_t id);
/* Sets a numeric option; ZAB_EINVAL for an unknown option or a value out
 * of range (every timeout must be >= 1 ms, every bound >= 1). */
ZAB_API int zab_config_set(zab_config_t *cfg, int option, uint64_t value);
/* Reads a numeric option. */
ZAB_API int zab_config_get(const zab_config_t *cfg, int option,
                           uint64_t *value);
/* Looks up an option by its name without prefix, in lower case, e.g.
 * "heartbeat_ms" or "election_timeout_ms"; ZAB_ENOENT if unknown. */
ZAB_API int zab_config_option(const char *name, int *option);
/* The name of an option ("heartbeat_ms", ...), or NULL for an unknown
 * one: with zab_config_option() a binding can list every option, as
 *   for (int i = 1; zab_option_name(i) != NULL; i++) ...  */
ZAB_API const char *zab_option_name(int option);
/* Replaces malloc/realloc/free for the node created from this config. */
ZAB_API int zab_config_set_allocator(zab_config_t *cfg, zab_malloc_fn m,
                                     zab_realloc_fn r, zab_free_fn f,
                                     void *alloc_ud);

/* ------------------------------------------------------------------------
 * Host callbacks
 *
 * A table whose first field is its version; later versions only append
 * fields.  Every callback receives the host's pointer given to zab_new().
 *
 * Durable writes.  log_append, log_truncate, snapshot_put (its last chunk)
 * and save_epochs each carry a write token.  The host makes the write
 * durable when it likes (group commit is encouraged) and then calls
 * zab_persisted(z, token, 0).  Writes form two streams, the log (appends,
 * truncations, snapshot installs) and the epoch file (save_epochs), and
 * each stream must become durable in the order it was issued: confirming a
 * token confirms every earlier token of the same stream.  The host need
 * not know which stream a token belongs to.  Tokens are opaque, non-zero
 * and never reused by one node.  A write that fails is reported with a
 * non-zero status; libzab then stops acknowledging anything and stops
 * voting (see ZAB_STAT_DISK_FAILED): the host should restart the node.
 * At most 16 epoch writes may await confirmation; a node that would need
 * a 17th gives up its role and elects again.
 * --------------------------------------------------------------------- */

#define ZAB_HOST_OPS_VERSION 1

typedef struct zab_host_ops {
    int version; /* ZAB_HOST_OPS_VERSION */

    /* Queue one frame for peer `peer`.  The frame is borrowed: copy it.
     * Frames to one peer must be delivered in order and whole, over a
     * connection (a reliable FIFO channel).  A non-zero return means the
     * frame could not be queued: libzab then treats the connection as
     * broken (as if zab_peer_down() had been called) and the host should
     * close it. */
    int (*send)(void *ud, uint32_t peer, const void *frame, size_t len);

    /* Append transaction `zxid` (greater than every zxid in the log) to
     * the log.  `data` is borrowed.  Durable once `token` is confirmed. */
    int (*log_append)(void *ud, uint64_t zxid, const void *data, size_t len,
                      uint64_t token);

    /* Remove every log entry with a zxid greater than `zxid`.  Durable once
     * `token` is confirmed. */
    int (*log_truncate)(void *ud, uint64_t zxid, uint64_t token);

    /* Return the first log entry with a zxid greater than `after`, durable
     * or not, in *zxid, *data and *len.  Return ZAB_ENOENT if there is none and
     * ZAB_ERANGE if entries after `after` were compacted away (the log now
     * starts after a snapshot newer than `after`).  *data must stay valid
     * until the next log_read call or until the outermost libzab call on
     * this node returns, whichever comes first (a zab_persisted() made
     * from inside a callback does not end it). */
    int (*log_read)(void *ud, uint64_t after, uint64_t *zxid,
                    const void **data, size_t *len);

    /* Save acceptedEpoch and currentEpoch together (atomically: write a
     * new file, fsync, rename).  Durable once `token` is confirmed. */
    int (*save_epochs)(void *ud, uint32_t accepted_epoch,
                       uint32_t current_epoch, uint64_t token);

    /* Leader side of SNAP: return a snapshot of the host's state as of a
     * delivered zxid (*zxid), such that the log still holds every entry
     * after it.  The snapshot must be at or after `min_zxid` to be used:
     * an older one would drop entries the learner shares with the leader,
     * so the host should take a fresh one of its current state if the one
     * it keeps is older (a host that delivered less than `min_zxid` cannot
     * help; libzab then retries later).  *data must stay valid until the
     * outermost libzab call on this node returns.  May be NULL if the host
     * never wants
     * SNAP (a learner that needs one then cannot be synchronised). */
    int (*snapshot_get)(void *ud, uint64_t min_zxid, uint64_t *zxid,
                        const void **data, size_t *len);

    /* Learner side of SNAP: one chunk of the snapshot labelled `zxid`,
     * `total` bytes long, at `offset`.  Chunks come in order.  `token` is 0
     * except with the last chunk: the host then replaces its state with
     * the snapshot, empties its log (it now starts after `zxid`) and
     * confirms `token` once that is durable.  May be NULL if the host
     * cannot install snapshots: a learner sent one then elects again. */
    int (*snapshot_put)(void *ud, uint64_t zxid, uint64_t offset,
                        uint64_t total, const void *chunk, size_t len,
                        uint64_t token);

    /* A committed transaction, in zxid order, exactly once per run of the
     * node (after a restart libzab delivers from the zxid given to
     * zab_start()).  Only transactions known committed and durable in
     * this node's log are delivered.  `data` is borrowed.  Delivery
     * cannot fail: libzab counts the transaction delivered when this
     * returns.  A host that cannot apply it (out of memory, a full disk)
     * must stop using the node -- zab_free() it once the outer call has
     * returned -- and start a new one from its durable state with the
     * last zxid it did apply; libzab then delivers again from there. */
    void (*deliver)(void *ud, uint64_t zxid, const void *data, size_t len);

    /* The role, the leader or the serving flag changed.  `serving` is 1
     * once a leader has established its epoch or a learner is up to date
     * with it, 0 otherwise; `epoch` is the epoch served (0 while not
     * serving).  May be NULL. */
    void (*role_change)(void *ud, zab_role_t role, uint32_t leader,
                        uint32_t epoch, int serving);

    /* A read barrier (zab_read_barrier) completed with status 0, or failed
     * with ZAB_ECANCELED (the role or leader changed) or ZAB_EBUSY (the
     * leader had too many barriers pending).  May fire before
     * zab_read_barrier returns (a single voter needs no round trip).  May
     * be NULL if the host never asks for barriers. */
    void (*barrier_done)(void *ud, uint64_t cookie, int status);

    /* A human-readable line about what the node is doing (level 0 = info,
     * 1 = debug, 2 = trace).  May be NULL. */
    void (*trace)(void *ud, int level, const char *line);
} zab_host_ops_t;

/* ------------------------------------------------------------------------
 * Lifecycle
 * --------------------------------------------------------------------- */

typedef struct zab zab_t;

/* Creates a node from `cfg` (copied) and `ops` (copied; its version must
 * be 1..ZAB_HOST_OPS_VERSION).  `ud` is passed to every callback.  The
 * config must name this node's id among its voters or observers and have
 * at least one voter; ZAB_EINVAL otherwise. */
ZAB_API int zab_new(const zab_config_t *cfg, const zab_host_ops_t *ops,
                    void *ud, zab_t **out);
/* Frees a node; NULL is allowed.  No callback fires. */
ZAB_API void zab_free(zab_t *z);

/* Starts the node from what its disk holds: the saved epochs, the zxid of
 * the last durable log entry (or of the installed snapshot if the log is
 * empty; 0 for a new node), and the last zxid the host's state already
 * reflects (delivered before the restart, or the snapshot's).  The node
 * starts LOOKING and its clock at `now_ms`.  ZAB_EINVAL if the state is
 * inconsistent (current > accepted, delivered > last, epoch of last >
 * accepted, accepted == UINT32_MAX); ZAB_ESTATE if already started.
 * The host's state must reach at least where its log starts: if the log
 * was compacted behind a snapshot, `delivered_zxid` must be at or after
 * that snapshot (load the snapshot first), since libzab can only deliver
 * what log_read still returns.  role_change() fires from inside this call
 * (the node becomes LOOKING). */
ZAB_API int zab_start(zab_t *z, uint32_t accepted_epoch,
                      uint32_t current_epoch, uint64_t last_zxid,
                      uint64_t delivered_zxid, uint64_t now_ms);

/* ------------------------------------------------------------------------
 * Driving the node
 * --------------------------------------------------------------------- */

/* Frames on the wire: a 4-byte big-endian total length, a version byte
 * (1), a kind byte, two reserved zero bytes, then the body. */
#define ZAB_FRAME_HEADER_SIZE 8

/* From the first ZAB_FRAME_HEADER_SIZE bytes of a frame, the size of the
 * whole frame, checked against this node's maximum.  ZAB_EINVAL if fewer
 * bytes are given, ZAB_EPROTO if the header is not valid. */
ZAB_API int zab_frame_size(const zab_t *z, const void *header, size_t len,
                           size_t *frame_len);
/* The kind of a frame ("PROPOSAL", "ACK", ...), or NULL if the header is
 * not a valid libzab frame header.  For tracing and tests. */
ZAB_API const char *zab_frame_kind(const void *frame, size_t len);

/* One whole frame received from `peer`.  ZAB_EPROTO if it cannot be
 * decoded: it is dropped and counted (ZAB_STAT_MSGS_MALFORMED), and the
 * host should close the connection, which no longer has a trustworthy
 * position.  A well-formed frame from our leader that breaks the protocol
 * (a gap in the zxids, a TRUNC below what is committed) is counted the
 * same way and makes the node elect again; the call returns 0.  Frames
 * that are stale or out of phase, that arrive before zab_start, or from a
 * peer not reported up (zab_peer_up) are ignored and counted
 * (ZAB_STAT_MSGS_IGNORED).  ZAB_EINVAL for an unknown peer id. */
ZAB_API int zab_recv(zab_t *z, uint32_t peer, const void *frame, size_t len);

/* The host's connection to `peer` is up (usable for send) or down (lost;
 * frames in flight on it are gone).  Connections are the host's business:
 * it keeps one to every other member and reconnects with backoff. */
ZAB_API int zab_peer_up(zab_t *z, uint32_t peer);
ZAB_API int zab_peer_down(zab_t *z, uint32_t peer);

/* Changes the observers of a running node (dynamic reconfiguration of the
 * non-voting members; the voters stay those of the configuration).
 * Observers never count toward a quorum, so the change needs no agreement
 * of its own: every member must make it, at the same point of the
 * committed history, e.g. when the host applies a committed entry that
 * says so -- after the call that delivered it has returned, since these
 * are not allowed inside a callback (ZAB_ESTATE).  A leader accepts and
 * synchronises an added observer once its connection is up
 * (zab_peer_up); a removed one is forgotten at once, as if its
 * connection went down, and the host should close that connection.
 * ZAB_EINVAL: id 0, this node's own id, a member already (add), not an
 * observer of this node's membership (remove), or 255 members already;
 * ZAB_ENOMEM. */
ZAB_API int zab_add_observer(zab_t *z, uint32_t id);
ZAB_API int zab_remove_observer(zab_t *z, uint32_t id);

/* Advances the node's clock to `now_ms` (monotonic; a smaller value is
 * taken as no change) and runs every rule due by then.  libzab has no
 * clock of its own: frames received between two ticks count as heard at
 * the second one.  Call it at zab_next_deadline() at the latest (more
 * often is harmless). */
ZAB_API int zab_tick(zab_t *z, uint64_t now_ms);
/* When zab_tick() must next be called, at the latest. */
ZAB_API int zab_next_deadline(const zab_t *z, uint64_t *deadline_ms);

/* A durable write named by `token` completed (status 0) or failed
 * (non-zero status, e.g. ZAB_EIO).  Confirms every earlier write of the
 * same stream too.  Unknown or already confirmed tokens: ZAB_EINVAL. */
ZAB_API int zab_persisted(zab_t *z, uint64_t token, int status);

/* Submits a transaction.  On the leader it becomes a PROPOSAL at once and
 * *zxid (if not NULL) receives its zxid.  On a follower or observer that
 * is up to date it is forwarded to the leader as a REQUEST and *zxid is
 * set to 0; the leader may drop it if its own queue is full (counted as
 * ZAB_STAT_REQUESTS_DROPPED).  Either way the host learns the outcome from
 * deliver(): it should tag its payloads to recognise them.  A request
 * lost with its connection is not reported: the host retries by its own
 * timeout, as ZooKeeper clients do.  Ordering: the leader proposes the
 * requests of one learner in the order that learner forwarded them, or
 * never (a dropped one is not proposed later); so when a later request of
 * this node is delivered, every earlier one that has not been delivered
 * by then never will be -- a host can fail those at once (zabd does), or
 * propose an empty marker to learn the fate of the last ones.
 * Errors: ZAB_ENOTLEADER (no leader, or not up to date with it),
 * ZAB_EBUSY (ZAB_OPT_MAX_OUTSTANDING proposals uncommitted, or
 * ZAB_OPT_MAX_PENDING_BYTES held), ZAB_E2BIG, ZAB_EINVAL, ZAB_ENOMEM,
 * ZAB_ESTATE (called from a callback), ZAB_EEPOCH (the counter is
 * exhausted: the leader steps down so that a new epoch is elected) and
 * ZAB_EIO (the host refused the log write: the leader steps down). */
ZAB_API int zab_propose(zab_t *z, const void *data, size_t len,
                        uint64_t *zxid);

/* Read barrier for linearizable reads.  barrier_done(cookie, 0) fires once
 * (a) the leader, after this call, confirmed with a round of heartbeats
 * acknowledged by a quorum that it still leads, and (b) this node has
 * delivered every transaction the leader had committed when it received
 * the request.  A read served after that sees every write that completed
 * before the barrier was asked for (the read-index technique; stronger
 * than ZooKeeper's sync, see ZOOKEEPER-1675).  A change of role or leader
 * fails pending barriers with ZAB_ECANCELED.  Errors: ZAB_ENOTLEADER (no
 * leader, or not up to date with it), ZAB_EBUSY when ZAB_OPT_MAX_BARRIERS
 * are pending, ZAB_ENOMEM, ZAB_ESTATE. */
ZAB_API int zab_read_barrier(zab_t *z, uint64_t cookie);

/* ------------------------------------------------------------------------
 * Statistics
 * --------------------------------------------------------------------- */

typedef enum zab_stat {
    ZAB_STAT_ROLE = 0,           /* zab_role_t */
    ZAB_STAT_LEADER,             /* leader's id, 0 if none */
    ZAB_STAT_SERVING,            /* 1 if established / up to date */
    ZAB_STAT_ACCEPTED_EPOCH,     /* durable acceptedEpoch */
    ZAB_STAT_CURRENT_EPOCH,      /* durable currentEpoch */
    ZAB_STAT_ELECTION_EPOCH,     /* FLE logical clock */
    ZAB_STAT_LAST_ZXID,          /* last zxid in the log, durable or not */
    ZAB_STAT_DURABLE_ZXID,       /* last durable zxid in the log */
    ZAB_STAT_COMMITTED_ZXID,     /* highest zxid known committed */
    ZAB_STAT_DELIVERED_ZXID,     /* last zxid delivered to the host */
    ZAB_STAT_OUTSTANDING,        /* leader: proposals not yet committed */
    ZAB_STAT_PENDING_BYTES,      /* payload bytes held for delivery */
    ZAB_STAT_MSGS_SENT,
    ZAB_STAT_MSGS_RECEIVED,
    ZAB_STAT_BYTES_SENT,
    ZAB_STAT_BYTES_RECEIVED,
    ZAB_STAT_MSGS_MALFORMED,     /* dropped: could not be decoded */
    ZAB_STAT_MSGS_IGNORED,       /* well formed but stale or out of phase */
    ZAB_STAT_SEND_ERRORS,        /* send callback failures */
    ZAB_STAT_PROPOSALS,          /* proposals made as leader */
    ZAB_STAT_COMMITS,            /* transactions committed as leader */
    ZAB_STAT_DELIVERIES,         /* transactions delivered */
    ZAB_STAT_ELECTIONS,          /* elections started */
    ZAB_STAT_EPOCHS_LED,         /* epochs this node established */
    ZAB_STAT_SYNC_DIFF,          /* learners synchronised with DIFF */
    ZAB_STAT_SYNC_TRUNC,         /* ... with TRUNC (then the entries after
                                    the truncation point) */
    ZAB_STAT_SYNC_SNAP,          /* ... with SNAP */
    ZAB_STAT_SYNC_LATE,          /* ... after the epoch was established */
    ZAB_STAT_SYNC_OBSERVER,      /* observers synchronised */
    ZAB_STAT_REQUESTS_FORWARDED, /* proposals forwarded to the leader */
    ZAB_STAT_REQUESTS_DROPPED,   /* forwarded requests the leader dropped */
    ZAB_STAT_BARRIERS,           /* read barriers completed */
    ZAB_STAT_DISK_FAILED,        /* 1 once a durable write failed */
    ZAB_STAT__COUNT
} zab_stat_t;

/* The value of one statistic; 0 for an unknown one. */
ZAB_API uint64_t zab_stat(const zab_t *z, int which);
/* The statistic's name in lower case ("role", "msgs_sent", ...), or NULL
 * for an unknown one.  For dumping them all:
 *   for (int i = 0; i < ZAB_STAT__COUNT; i++) ... zab_stat_name(i) ... */
ZAB_API const char *zab_stat_name(int which);

#ifdef __cplusplus
}
#endif
#endif /* ZAB_H */
