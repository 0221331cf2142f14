/*
 * lib_cluster.h -- an in-process cluster of libzab nodes for unit tests.
 *
 * N zab_t nodes (voters with ids 1..V, observers V+1..V+O) share one
 * virtual clock.  Each node has:
 *   - an in-memory log (zab.h's log_read semantics: ZAB_ENOENT past the
 *     end, ZAB_ERANGE below the snapshot the log starts after), truncation
 *     and snapshot install;
 *   - a state machine that is the list of delivered transactions; its
 *     serialisation is the node's snapshot (snapshot_get / snapshot_put);
 *   - write confirmations that are either synchronous (zab_persisted is
 *     called from inside the write callback) or deferred (confirmed by the
 *     step function, in issue order, unless the node's disk is held);
 *   - an allocator hook that counts live blocks and can fail the Nth
 *     allocation counted over the whole cluster (for OOM tests).
 *
 * Transport: one FIFO queue of frames per ordered pair of nodes.  Frames
 * are delivered one at a time, oldest first over all links; a link can be
 * blocked (its frames wait, in order) or cut (the connection closes: both
 * ends see zab_peer_down and queued frames are lost).  A connection that
 * libzab gives up on (send failure, ZAB_EPROTO from zab_recv) is closed
 * and reconnected after CL_RECONNECT_MS, as a host would.
 *
 * The harness checks the host contract while it runs (appends in zxid
 * order, deliveries in order, only of durable logged entries, truncations
 * that never remove a delivered entry, snapshot chunks in order) and
 * records violations; cl_assert_clean() fails the test if any happened.
 *
 * Time: nothing takes virtual time except waiting: when no frame and no
 * confirmation is pending, the clock jumps to the earliest
 * zab_next_deadline() of the live nodes and those nodes are ticked.
 */
#ifndef LIB_CLUSTER_H
#define LIB_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "zab.h"

#define CL_MAX 8
#define CL_KINDS 19
#define CL_RECONNECT_MS 10
/* Steps without an idle moment (no frame, confirmation or reconnection
 * pending) after which the harness reports a message storm: time never
 * advances while work is pending, so a protocol loop would hang. */
#define CL_STORM_STEPS 20000

enum { CL_PERSIST_SYNC = 0, CL_PERSIST_DEFERRED = 1 };

typedef struct cl_entry {
    uint64_t zxid;
    size_t len;
    uint8_t *data;
    size_t tok; /* index in the node's write history (log entries only) */
} cl_entry_t;

typedef struct cl_frame {
    struct cl_frame *next;
    uint64_t seq;
    size_t len;
    uint8_t data[];
} cl_frame_t;

typedef struct cl_link {
    cl_frame_t *head, *tail;
    size_t queued;
    int blocked;
    uint64_t kinds[CL_KINDS]; /* frames sent on this link, by kind */
} cl_link_t;

typedef struct cl_barrier_rec {
    uint64_t cookie;
    int status;
} cl_barrier_rec_t;

struct cl_cluster;

typedef struct cl_node {
    struct cl_cluster *c;
    uint32_t id;
    int voter;
    zab_t *z; /* NULL while down */

    /* disk: epochs, log, snapshot point */
    uint32_t accepted, current;
    cl_entry_t *log;
    size_t log_len, log_cap;
    uint64_t log_base; /* the log starts after this zxid (snapshot) */

    /* state machine: the delivered transactions, in order */
    cl_entry_t *applied;
    size_t applied_len, applied_cap;
    uint64_t applied_zxid;

    /* snapshot being received, and the last one handed out */
    uint8_t *snap_in;
    size_t snap_in_len, snap_in_cap;
    uint64_t snap_in_zxid;
    uint8_t *snap_out;
    size_t snap_out_cap;
    void *read_buf; /* the entry handed out by the last log_read */

    /* write history: tokens in issue order; the first `confirmed` are
     * confirmed (confirmations always go in issue order) */
    uint64_t *toks;
    size_t n_toks, toks_cap, confirmed;
    int persist_mode;
    int disk_hold;
    int persist_fail; /* deferred: the next confirmation reports ZAB_EIO */

    /* allocator accounting */
    long live_blocks;
    int use_hook;

    /* callback records */
    uint64_t n_send, n_append, n_truncate, n_save, n_snap_put, n_deliver;
    uint64_t n_snap_get;
    uint64_t n_role_change;
    int role;
    uint32_t role_leader, role_epoch;
    int role_serving;
    cl_barrier_rec_t *barriers;
    size_t n_barriers, barriers_cap;
    int fail_send; /* send returns -1 while set */
    int no_snapshot; /* snapshot_get refuses */
    int no_snapshot_put; /* booted with snapshot_put = NULL */
    int fail_snapshot_put; /* snapshot_put returns -1 (nothing installed) */
} cl_node_t;

typedef struct cl_cluster {
    int n, voters;
    cl_node_t nodes[CL_MAX];
    cl_link_t links[CL_MAX][CL_MAX]; /* [from][to], 0-based */
    int up[CL_MAX][CL_MAX];          /* connection open (symmetric) */
    int want[CL_MAX][CL_MAX];        /* connection allowed (symmetric) */
    int unknown[CL_MAX][CL_MAX];     /* [a][b]: b is not a member for a */
    uint64_t reconnect_at[CL_MAX][CL_MAX];
    int broken[CL_MAX][CL_MAX];      /* to be closed after the call */
    uint64_t now;
    uint64_t seq;
    uint64_t opts[16]; /* 0: library default */
    int trace;

    /* allocation failure injection, counted over every hooked node */
    uint64_t alloc_calls;
    uint64_t fail_at; /* 0: never */
    uint64_t alloc_failures;

    /* results */
    uint64_t n_eproto;  /* ZAB_EPROTO from zab_recv */
    uint64_t violations;
    char violation[256];
    uint64_t steps;
} cl_cluster_t;

/* ---- set-up -------------------------------------------------------------- */

cl_cluster_t *cl_new(int voters, int observers);
/* Frees every node (zab_free) and the harness; fails the test if a hooked
 * node leaked an allocation. */
void cl_free(cl_cluster_t *c);
/* A numeric option for every node booted afterwards. */
void cl_set_opt(cl_cluster_t *c, int option, uint64_t value);
/* CL_PERSIST_SYNC or CL_PERSIST_DEFERRED for node `id` (0: every node). */
void cl_set_persist(cl_cluster_t *c, uint32_t id, int mode);
/* Routes the node's allocations through the counting hook (before boot). */
void cl_use_alloc_hook(cl_cluster_t *c, uint32_t id);
/* Gives node `id` a disk: epochs and a log of the given zxids (payload
 * derived from the zxid, so equal zxids carry equal values everywhere);
 * the state machine holds every entry up to `delivered`. */
void cl_seed(cl_cluster_t *c, uint32_t id, uint32_t accepted, uint32_t current,
             const uint64_t *zxids, size_t n, uint64_t delivered);
/* Compacts node `id`'s log: drops entries up to `upto` (<= delivered). */
void cl_compact(cl_cluster_t *c, uint32_t id, uint64_t upto);
/* The payload cl_seed uses for `zxid` (static buffer). */
const char *cl_payload_of(uint64_t zxid);

/* ---- nodes ------------------------------------------------------------- */

/* zab_new + zab_start from the node's disk, then connect to every live
 * peer.  Returns the first error (the node stays down on error). */
int cl_boot(cl_cluster_t *c, uint32_t id);
/* Boots every node, failing the test on error. */
void cl_boot_all(cl_cluster_t *c);
/* Stops a node (zab_free); its connections close.  Writes it issued are
 * kept (a clean stop). */
void cl_kill(cl_cluster_t *c, uint32_t id);

/* Dynamic observers: cl_set_unknown before booting makes observer `id`
 * a member for itself only (the others boot without it and no connection
 * to it opens); cl_add_observer then adds it on every live node
 * (zab_add_observer), cl_remove_observer removes it again
 * (zab_remove_observer) and closes its connections.  Either fails the
 * test if a call fails. */
void cl_set_unknown(cl_cluster_t *c, uint32_t id);
void cl_add_observer(cl_cluster_t *c, uint32_t id);
void cl_remove_observer(cl_cluster_t *c, uint32_t id);

cl_node_t *cl_node(cl_cluster_t *c, uint32_t id);
zab_t *cl_z(cl_cluster_t *c, uint32_t id);
uint64_t cl_stat(cl_cluster_t *c, uint32_t id, int which);

/* ---- network and disks ----------------------------------------------------- */

/* Closes the connection a<->b and keeps it closed until cl_heal. */
void cl_cut(cl_cluster_t *c, uint32_t a, uint32_t b);
/* Allows every connection again (they reopen at once). */
void cl_heal(cl_cluster_t *c);
/* Holds (on) or releases (off) the frames from `from` to `to`. */
void cl_block(cl_cluster_t *c, uint32_t from, uint32_t to, int on);
/* Holds or releases node `id`'s write confirmations (deferred mode). */
void cl_hold_disk(cl_cluster_t *c, uint32_t id, int on);
/* Frames of `kind` sent from `from` to `to` so far. */
uint64_t cl_sent(cl_cluster_t *c, uint32_t from, uint32_t to, int kind);

/* ---- running ----------------------------------------------------------------- */

typedef int (*cl_pred_t)(cl_cluster_t *c, void *arg);

/* One unit of work: confirm a node's pending writes, or deliver a frame.
 * 0 if there was nothing to do. */
int cl_step(cl_cluster_t *c);
/* Runs until pred holds (checked between steps) or `max_ms` of virtual
 * time passed; returns whether pred held.  pred NULL: run the full time. */
int cl_run_until(cl_cluster_t *c, cl_pred_t pred, void *arg, uint64_t max_ms);
void cl_run(cl_cluster_t *c, uint64_t ms);
/* Delivers frames and confirmations until nothing is pending, without
 * advancing time. */
void cl_settle(cl_cluster_t *c);

/* ---- observations ------------------------------------------------------------- */

/* The id of the node that leads an established epoch, 0 if none or more
 * than one. */
uint32_t cl_leader(cl_cluster_t *c);
/* One established leader and every live node serving under it. */
int cl_pred_stable(cl_cluster_t *c, void *arg);
/* Every live node delivered up to *(uint64_t *)arg. */
int cl_pred_delivered(cl_cluster_t *c, void *arg);
/* Runs until stable; fails the test if not within max_ms. */
uint32_t cl_wait_stable(cl_cluster_t *c, uint64_t max_ms);

/* zab_propose through node `id` with a string payload. */
int cl_propose(cl_cluster_t *c, uint32_t id, const char *payload,
               uint64_t *zxid);
/* Whether node `id` delivered a transaction with this payload. */
int cl_delivered_payload(cl_cluster_t *c, uint32_t id, const char *payload);
/* Barrier completions recorded on node `id` for `cookie`: count, and the
 * last status in *status. */
int cl_barrier_done(cl_cluster_t *c, uint32_t id, uint64_t cookie,
                    int *status);

/* Whether the logs of a and b hold the same entries. */
int cl_logs_equal(cl_cluster_t *c, uint32_t a, uint32_t b);
/* Whether the delivered sequences of a and b are equal. */
int cl_applied_equal(cl_cluster_t *c, uint32_t a, uint32_t b);
/* Every pair of delivered sequences is a prefix one of the other. */
int cl_agree(cl_cluster_t *c);

/* Fails the test on a host-contract violation, a ZAB_EPROTO, a malformed
 * message counted by a node, or delivered sequences that disagree. */
void cl_assert_clean(cl_cluster_t *c);

#endif /* LIB_CLUSTER_H */
