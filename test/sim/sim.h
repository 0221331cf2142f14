/*
 * sim.h -- the simulated world of zabsim: nodes, links, disks, the ghost
 * history, the clock.  The structures live here because every module of
 * the simulator looks at them; each module's functions are declared in its
 * own header (net.h, disk.h, check.h, host.h, trace.h, scenario.h,
 * campaign.h).
 *
 * One `sim_t` is one run: a scenario file or one seed of a sweep.  Nothing
 * in it is global, so a sweep builds and frees one world per seed and two
 * runs of a seed are identical byte for byte: every choice comes from the
 * seeded generator, every tie from the event sequence number, and no
 * behaviour depends on an address or on hash-table iteration order.
 */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zab.h"
#include "rng.h"
#include "sched.h"

/* Ids 1..SIM_MAX_NODES; node sets are bit masks of one uint64_t. */
#define SIM_MAX_NODES 64
#define NODE_BIT(id) (1ull << ((id)-1))
/* More events than this at one instant is a livelock (see sim_step). */
#define SIM_INSTANT_MAX 200000

/* Event types of the scheduler. */
enum {
    EV_MSG = 1,    /* a frame arrives on link a->b (gen: connection gen) */
    EV_RECONNECT,  /* connection {a,b} comes back (gen: reconnect gen) */
    EV_PEER_DOWN,  /* tell node a that its connection to b dropped */
    EV_DISK,       /* disk of node a, stream b: head write completes */
    EV_TICK,       /* node a's deadline (gen: tick gen) */
    EV_CLIENT,     /* the simulated client resubmits after ZAB_EBUSY */
    EV_CAMPAIGN    /* random mode: a fault or a client action (a: what) */
};

/* A frame in flight or held on a link.  The fields before `data` are a
 * decoded summary for the trace. */
typedef struct msg {
    uint32_t len;
    uint32_t epoch;
    uint32_t aux; /* VOTE: state << 16 | leader; ACKEPOCH: flags */
    uint64_t zxid;
    uint8_t kind;
    uint8_t data[];
} msg_t;

/* ---- ghost history --------------------------------------------------- */

/* A client transaction: a unique payload "tx-<id>".  Payloads that no
 * client proposed (a library bug) are interned as `bogus`. */
typedef struct tx {
    const char *payload;
    uint32_t len;
    uint8_t bogus;
    uint64_t hash;
    int64_t gpos; /* position in the global delivered sequence, or -1 */
} tx_t;

/* A broadcast: zxid -> value (a zxid names one value). */
typedef struct rec {
    uint64_t zxid;
    uint32_t tx;
    uint8_t qd;       /* quorum-durable at some moment: committed forever */
    uint64_t holders; /* nodes whose durable state holds it now */
    uint64_t acked;   /* voters that acknowledged it while holding it */
} rec_t;

/* An established epoch: its leader and initial history I(e). */
typedef struct epoch_info {
    uint32_t leader;
    uint64_t at_ms;
    uint64_t *hist; /* sorted zxids of I(e) */
    size_t n;
} epoch_info_t;

/* ---- disk ---------------------------------------------------------------- */

typedef struct logent {
    uint64_t zxid;
    uint32_t rec;
} logent_t;

/* An immutable snapshot: the delivered list up to `zxid`, shared by
 * reference between the durable and the current view. */
typedef struct snap {
    uint32_t refs;
    uint64_t zxid;
    uint32_t n;
    logent_t *ents; /* (zxid, rec) in delivery order */
    uint64_t hash;  /* state-machine hash after the last one */
    uint8_t *buf;   /* serialised form, built on first use */
    size_t buflen;
} snap_t;

/* A view of a disk: epochs, log, snapshot (log base = snapshot zxid). */
typedef struct view {
    uint32_t acc, cur;
    logent_t *log;
    size_t n, cap;
    snap_t *snap;
} view_t;

enum { OP_APPEND = 1, OP_TRUNC, OP_INSTALL, OP_EPOCHS, OP_COMPACT };
enum { STREAM_LOG = 0, STREAM_EPOCHS = 1 };

/* A write issued by libzab and not yet durable. */
typedef struct dop {
    uint64_t due;
    uint64_t token;
    uint64_t zxid;
    snap_t *snap;
    uint32_t rec, acc, cur;
    uint8_t type;
} dop_t;

typedef struct dq {
    dop_t *v;
    size_t head, n, cap;
} dq_t;

/* Undo record of a completed write, for `disk lose`. */
typedef struct undo {
    uint64_t t;
    uint8_t type;
    uint32_t acc, cur;  /* OP_EPOCHS: the values before */
    logent_t ent;       /* OP_APPEND: the entry appended */
    logent_t *ents;     /* OP_TRUNC: removed; OP_INSTALL/COMPACT: old log */
    size_t n;
    snap_t *snap;       /* OP_INSTALL/COMPACT: old snapshot */
} undo_t;

typedef struct disk {
    view_t dur; /* what survives a crash */
    view_t cur; /* durable + pending writes, as libzab sees it */
    dq_t q[2];
    uint64_t last_due[2];
    uint32_t ev_gen[2];
    uint8_t stalled[2];
    uint8_t lose, torn;
    uint64_t slow_ms; /* random mode: extra latency of a slow disk */
    undo_t *undo; /* [uhead, nundo) are live, oldest first */
    size_t uhead, nundo, capundo;
    /* snapshot_put accumulation */
    uint8_t *in_buf;
    uint64_t in_zxid, in_total, in_got;
} disk_t;

/* ---- network ------------------------------------------------------------- */

typedef struct drop_rule {
    int kind; /* 0: any */
    uint32_t count;
} drop_rule_t;

/* One direction a->b. */
typedef struct link {
    uint64_t last_deliver;
    uint8_t cut;
    uint8_t holding; /* a hold fired: nothing is delivered until release */
    int hold_kind;   /* armed hold: -1 none, 0 any, else a kind */
    msg_t **held;
    size_t nheld, capheld;
    drop_rule_t *drops;
    size_t ndrops, capdrops;
    uint8_t trunc_seen; /* stats: TRUNC sent, no PROPOSAL yet */
} link_t;

/* One connection between a and b (a < b). */
typedef struct conn {
    uint8_t up;
    uint8_t reconnecting;
    uint32_t gen;  /* bumped when it comes up or breaks */
    uint32_t rgen; /* reconnect event generation */
} conn_t;

/* ---- nodes --------------------------------------------------------------- */

enum { TRAP_LOG = 1, TRAP_ACCEPTED = 2, TRAP_CURRENT = 4 };

typedef struct node {
    struct sim *sim;
    uint32_t id;
    int voter;
    zab_t *z;
    int live;      /* booted and not crashed */
    int booted;    /* ever started */
    int in_call;   /* depth of libzab calls on the stack */
    uint32_t inc;  /* incarnation: stale events carry an older one */
    int lied;      /* a lying disk undid acknowledged writes */

    /* last role_change */
    int role; /* -1 when down */
    uint32_t leader, epoch;
    int serving;
    uint64_t led_until; /* last time it was LEADING (lie accounting) */

    /* delivered sequence D(n) (rec indices) and the state hash */
    uint32_t *d;
    size_t nd, capd;
    uint64_t hash;

    disk_t disk;
    snap_t *served; /* snapshot made for snapshot_get */

    /* tick scheduling */
    uint64_t tick_at;
    uint32_t tick_gen;
    int tick_pending;
    int ticking; /* inside zab_tick: a deadline not in the future waits 1 ms */

    /* traps */
    uint32_t trap_send; /* bit k: kind k; bit 0: any */
    uint32_t trap_durable;

    uint64_t max_acked; /* highest zxid it ACKed (lie accounting) */

    uint64_t ack_mark; /* checker: acknowledged up to here */
} node_t;

/* ---- the simulated client --------------------------------------------------- */

typedef struct creq {
    uint32_t tx;
    uint32_t via;
    uint64_t since;
} creq_t;

/* ---- trace ring ------------------------------------------------------------- */

#define TRACE_RING 64
#define TRACE_TEXT 160

typedef struct trace_rec {
    uint64_t t;
    uint8_t type;
    uint8_t node, peer, kind;
    uint64_t zxid;
    uint32_t epoch, aux;
    char text[TRACE_TEXT];
} trace_rec_t;

/* ---- totals over a sweep ---------------------------------------------------- */

typedef struct totals {
    uint64_t sync_diff, sync_trunc, sync_snap, sync_late, sync_observer;
    uint64_t epochs3, tail_changes, trunc_diff;
    uint64_t steps, seeds, violations, failures;
    uint64_t lies, lies_downgraded, eproto, refused, excused;
} totals_t;

/* ---- the world ------------------------------------------------------------- */

typedef struct option_set {
    int option;
    uint64_t value;
} option_set_t;

typedef struct sim {
    /* parameters */
    uint64_t seed;
    uint32_t nv, no, nn; /* voters, observers, all */
    uint32_t quorum;
    /* Observers removed from the membership (zab_remove_observer on every
     * other node; random mode's observer churn): no connection to them. */
    uint64_t absent;
    uint64_t voter_mask;
    uint64_t lat_min, lat_max;
    uint64_t fsync_min, fsync_max;
    option_set_t opts[32];
    int nopts;
    uint32_t log_window; /* host log compaction; 0: never */
    int journal;         /* keep undo records (a `disk lose` may come) */
    int random_mode;     /* lies that would break safety are downgraded */
    int cumulative;      /* confirm several writes with one zab_persisted */

    /* output */
    int trace;   /* print every event and libzab's trace lines */
    int narrate; /* print a readable story */
    int quiet;
    const char *replay; /* printed with a violation */

    /* state */
    rng_t rng;
    sched_t sched;
    uint64_t now;
    uint64_t steps;
    uint64_t same_instant; /* events run without the clock moving */
    node_t nodes[SIM_MAX_NODES + 1]; /* index = id */
    conn_t *conns;                   /* [a * (nn+1) + b], a < b */
    link_t *links;                   /* [a * (nn+1) + b] */

    /* client */
    creq_t *client;
    size_t nclient, capclient;
    int client_ev;
    uint64_t client_retry_ms;
    uint64_t client_max_wait_ms; /* 0: wait forever */
    uint32_t next_tx;

    /* ghost history */
    tx_t *txs;
    size_t ntx, captx;
    char **arena;
    size_t narena, caparena;
    size_t arena_used;
    rec_t *recs;
    size_t nrec, caprec;
    uint32_t *idx; /* open-addressing index zxid -> rec + 1 */
    size_t idxcap;
    uint32_t *qdl; /* recs that became quorum-durable, in that order */
    size_t nqd, capqd;
    uint32_t *g; /* the global delivered sequence (longest D(n)) */
    uint64_t *gh;
    size_t ng, capg, capgh;
    epoch_info_t *epochs;
    size_t nepochs; /* array size: index = epoch */
    uint32_t max_epoch;
    int compromised; /* a lying disk made a safety loss unavoidable */
    int failed;      /* a violation or a failed step */

    /* trace ring */
    trace_rec_t ring[TRACE_RING];
    uint64_t ring_n;

    totals_t tot;
    void *campaign; /* random mode state */
} sim_t;

static inline node_t *sim_node(sim_t *s, uint32_t id)
{
    return (id >= 1 && id <= s->nn) ? &s->nodes[id] : NULL;
}

static inline link_t *sim_link(sim_t *s, uint32_t a, uint32_t b)
{
    return &s->links[a * (s->nn + 1) + b];
}

static inline conn_t *sim_conn(sim_t *s, uint32_t a, uint32_t b)
{
    return a < b ? &s->conns[a * (s->nn + 1) + b]
                 : &s->conns[b * (s->nn + 1) + a];
}

/* "E:C" of a zxid into buf (at least 24 bytes); returns buf. */
const char *sim_zxid_str(uint64_t zxid, char *buf);

/* Exits the process on out-of-memory: the simulator is a test tool and a
 * half-built world is useless. */
void *sim_alloc(size_t n);
void *sim_grow(void *p, size_t *cap, size_t need, size_t elem);

#endif /* SIM_H */
