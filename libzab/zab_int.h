/*
 * zab_int.h -- the node structure shared by the modules of libzab.
 *
 * One struct zab per node.  The modules:
 *   zab.c       entry points, argument checks, the call frame (enter/leave),
 *               sending, the two durable-write streams, delivery
 *   election.c  Phase 0, Fast Leader Election (FastLeaderElection.java)
 *   leader.c    Phases 1-3 on the leader (Leader.java, LearnerHandler.java)
 *   learner.c   Phases 1-3 on a follower or observer (Learner.java,
 *               Follower.java, Observer.java)
 *   barrier.c   read barriers (read-index over heartbeat rounds)
 *   queue.c     the cache of logged, undelivered transactions
 *   codec.c     the wire format
 *   config.c    configuration; err.c error strings
 *
 * Every rule that changes the role goes through zab__become_* in zab.c.
 */
#ifndef ZAB_INT_H
#define ZAB_INT_H

#include <stdint.h>
#include <stddef.h>

#include "zab.h"
#include "codec.h"
#include "queue.h"

#define ZAB__MAX_MEMBERS 255

/* Numeric options, indexed by zab_option_t. */
#define ZAB__OPT_COUNT 12

struct zab_config {
    uint32_t my_id;
    uint32_t n_members;
    uint32_t ids[ZAB__MAX_MEMBERS];
    uint8_t voter[ZAB__MAX_MEMBERS];
    uint64_t opt[ZAB__OPT_COUNT];
    zab_malloc_fn malloc_fn;
    zab_realloc_fn realloc_fn;
    zab_free_fn free_fn;
    void *alloc_ud;
};

void zab__config_defaults(struct zab_config *cfg);

/* ---- per-peer state ---------------------------------------------------- */

/* What the leader knows of one learner (LearnerHandler's state). */
enum {
    LS_NONE = 0,   /* no handshake on this connection */
    LS_INFO,       /* FOLLOWERINFO/OBSERVERINFO received */
    LS_EPOCH_SENT, /* LEADERINFO sent */
    LS_ACKEPOCH,   /* ACKEPOCH received, waiting for the epoch quorum */
    LS_SYNCING,    /* sync stream and NEWLEADER sent */
    LS_SYNCED,     /* ACKNEWLEADER received */
    LS_ACTIVE      /* UPTODATE sent: in broadcast */
};

typedef struct zab__vote {
    uint32_t leader;
    uint32_t peer_epoch;
    uint64_t zxid;
} zab__vote_t;

typedef struct zab__peer {
    uint32_t id;
    uint8_t voter;
    uint8_t connected;
    uint8_t send_failed; /* a send failed; peer-down handled at leave() */

    /* Election: the latest notification from this peer. */
    uint8_t vote_valid;
    uint8_t vote_state; /* zab_role_t of the sender */
    zab__vote_t vote;
    uint64_t vote_election_epoch;

    /* Leader side. */
    uint8_t lstate;
    uint8_t is_observer;   /* sent OBSERVERINFO */
    uint8_t epoch_acked;   /* ACKEPOCH carried a real acknowledgement */
    uint32_t info_accepted;
    uint64_t ack_last;     /* last zxid reported in ACKEPOCH */
    uint64_t ack_zxid;     /* cumulative ACK */
    uint64_t ping_round;   /* highest heartbeat round answered */
    uint64_t last_heard_ms;
    uint8_t heard_since_tick; /* a frame came since the last zab_tick */
} zab__peer_t;

/* ---- durable write streams ---------------------------------------------- */

/* A run of log operations issued under consecutive sequence numbers:
 * appends of consecutive counters in one epoch, or a single truncation or
 * snapshot install.  Confirming sequence s of a run means the log is
 * durable up to zxid_of(run, s). */
typedef struct zab__log_run {
    uint64_t seq_first, seq_last;
    uint64_t zxid_first; /* zxid after the first op of the run */
    uint8_t is_append;
} zab__log_run_t;

typedef struct zab__epoch_op {
    uint64_t seq;
    uint32_t accepted, current;
} zab__epoch_op_t;

/* ---- read barriers ------------------------------------------------------ */

typedef struct zab__barrier {
    uint64_t cookie;  /* local: the host's cookie; remote: the learner's id */
    uint32_t origin;  /* 0: asked on this node; else the learner's id */
    uint8_t have_commit;
    uint64_t round;   /* leader: heartbeat round that must be acknowledged */
    uint64_t commit;  /* commit point to deliver up to */
    uint64_t id;      /* learner: id of the SYNC sent to the leader */
} zab__barrier_t;

/* ---- phases ---------------------------------------------------------------- */

enum {
    /* learner */
    LP_CONNECT = 1,  /* waiting for a connection to the leader */
    LP_INFO_SENT,    /* FOLLOWERINFO sent, waiting for LEADERINFO */
    LP_EPOCH_WAIT,   /* acceptedEpoch being made durable */
    LP_SYNC,         /* ACKEPOCH sent; receiving the sync stream */
    LP_NEWLEADER_WAIT, /* NEWLEADER received; history/currentEpoch durable */
    LP_UPTODATE_WAIT,  /* ACKNEWLEADER sent */
    LP_BROADCAST,
    /* leader */
    LD_DISCOVERY,    /* collecting FOLLOWERINFO from a quorum */
    LD_EPOCH,        /* LEADERINFO sent, collecting ACKEPOCH */
    LD_SYNC,         /* syncing learners, collecting ACKNEWLEADER */
    LD_BROADCAST
};

struct zab {
    /* allocator and host */
    zab_malloc_fn malloc_fn;
    zab_realloc_fn realloc_fn;
    zab_free_fn free_fn;
    void *alloc_ud;
    zab_host_ops_t ops;
    void *ud;

    /* configuration */
    uint32_t my_id;
    uint8_t i_am_voter;
    uint32_t n_voters;
    uint32_t quorum;
    uint64_t opt[ZAB__OPT_COUNT];
    uint32_t n_peers; /* other members */
    zab__peer_t *peers;

    /* call frame */
    int started;
    int in_call;
    uint64_t deferred_log_seq;   /* confirmations received inside a call */
    uint64_t deferred_epoch_seq;
    int deferred_status;
    int want_ping;               /* start a heartbeat round at leave() */
    uint64_t now_ms;

    /* role */
    int role;
    int serving;
    int phase;
    uint32_t leader_id;
    uint32_t epoch; /* the epoch being established or served */
    int disk_failed;

    /* durable and in-memory positions */
    uint32_t accepted_epoch;  /* durable */
    uint32_t current_epoch;   /* durable */
    uint32_t accepted_issued; /* latest values handed to save_epochs */
    uint32_t current_issued;
    uint64_t last_zxid;       /* last entry in the log (current view) */
    uint64_t durable_zxid;    /* last durable entry */
    uint64_t committed_zxid;
    uint64_t delivered_zxid;

    /* write streams */
    uint64_t log_seq_issued, log_seq_done;
    uint64_t epoch_seq_issued, epoch_seq_done;
    zab__log_run_t *runs;
    uint32_t runs_cap, runs_head, runs_len;
    zab__epoch_op_t epoch_ops[16];
    uint32_t epoch_ops_head, epoch_ops_len;

    /* transactions logged in this run and not yet delivered */
    zab__queue_t queue;

    /* election */
    uint64_t logical_clock;
    zab__vote_t proposal;
    int draining;          /* LOOKING but waiting for writes to drain */
    uint64_t join_after;   /* no joining a settled leader before this */
    uint64_t finalize_at;  /* UINT64_MAX: not armed */
    uint64_t retry_at;
    uint64_t retry_interval;
    uint64_t decided_election_epoch;

    /* learner */
    uint64_t phase_deadline;  /* sync timeout for phases before broadcast */
    uint64_t leader_heard_ms;
    uint64_t info_retry_at;   /* resend FOLLOWERINFO until LEADERINFO */
    uint64_t epoch_wait_seq;  /* epoch write that the phase waits for */
    uint64_t newleader_zxid;
    uint64_t acked_zxid;      /* last ACK sent */
    int acks_enabled;
    int sync_started;         /* DIFF, TRUNC or SNAP received */
    uint64_t snap_zxid, snap_total, snap_received;
    uint64_t next_sync_id;

    /* leader */
    uint32_t new_epoch;
    int epoch_decided;
    uint64_t self_accepted_seq; /* our acceptedEpoch write */
    uint64_t self_current_seq;  /* our currentEpoch write */
    int established;
    uint32_t next_counter;
    uint64_t commit_seq;        /* queue position of the first uncommitted */
    uint64_t ping_round;
    uint64_t next_ping_at;

    /* read barriers */
    zab__barrier_t *barriers;
    uint32_t barriers_len, barriers_cap;

    /* scratch buffer for encoding frames */
    uint8_t *frame;
    size_t frame_cap;

    uint64_t stats[ZAB_STAT__COUNT];
};

/* ---- zab.c --------------------------------------------------------------- */

void *zab__malloc(zab_t *z, size_t n);
void *zab__realloc(zab_t *z, void *p, size_t n);
void zab__free(zab_t *z, void *p);

void zab__trace(zab_t *z, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

zab__peer_t *zab__peer(zab_t *z, uint32_t id);

/* Encodes and sends `m` to `peer`.  A failed send marks the peer; its
 * connection is treated as down when the current call unwinds. */
void zab__send(zab_t *z, zab__peer_t *peer, const zab__msg_t *m);
/* Sends an already encoded frame (the scratch buffer from zab__encode_frame)
 * to `peer`. */
void zab__send_frame(zab_t *z, zab__peer_t *peer, const uint8_t *f,
                     size_t len);
/* Encodes `m` into the scratch buffer; returns its length, 0 on ENOMEM. */
size_t zab__encode_frame(zab_t *z, const zab__msg_t *m);

/* Makes room to record one more log write, so that issuing it cannot fail
 * for memory.  0 or ZAB_ENOMEM. */
int zab__log_reserve(zab_t *z);
/* Durable writes.  Each returns the sequence number of the write, or 0
 * if it could not be issued (no memory to record it) or the host refused
 * it (the node then counts the disk as failed). */
uint64_t zab__log_append(zab_t *z, uint64_t zxid, const void *data,
                         size_t len);
uint64_t zab__log_truncate(zab_t *z, uint64_t zxid);
uint64_t zab__log_install(zab_t *z, uint64_t zxid, uint64_t offset,
                          uint64_t total, const void *chunk, size_t len);
uint64_t zab__save_epochs(zab_t *z, uint32_t accepted, uint32_t current);
/* Writes still pending on either stream. */
int zab__writes_pending(const zab_t *z);
/* The epoch write `seq` is durable. */
int zab__epoch_durable(const zab_t *z, uint64_t seq);

/* Delivers committed, durable transactions in order. */
void zab__deliver(zab_t *z);
/* Reads the log entry following `after` from the cache or the host log. */
int zab__read_next(zab_t *z, uint64_t after, uint64_t *zxid,
                   const void **data, size_t *len);

/* Role changes: the only places where role/phase/leader are reset. */
void zab__become_looking(zab_t *z, const char *why);
void zab__become_follower(zab_t *z, uint32_t leader, uint64_t ee);
void zab__become_leader(zab_t *z, uint64_t ee);
void zab__set_serving(zab_t *z, int serving);

/* ---- election.c ---------------------------------------------------------- */

/* Vote order: epoch, then zxid, then id (totalOrderPredicate). */
int zab__vote_better(const zab__vote_t *a, const zab__vote_t *b);
void zab__election_start(zab_t *z);
void zab__election_recv_vote(zab_t *z, zab__peer_t *p, const zab__msg_t *m);
void zab__election_tick(zab_t *z);
void zab__election_peer_up(zab_t *z, zab__peer_t *p);
void zab__send_vote(zab_t *z, zab__peer_t *p);
uint64_t zab__election_deadline(const zab_t *z);

/* ---- leader.c -------------------------------------------------------------- */

void zab__leader_start(zab_t *z);
void zab__leader_recv(zab_t *z, zab__peer_t *p, const zab__msg_t *m);
void zab__leader_tick(zab_t *z);
void zab__leader_peer_down(zab_t *z, zab__peer_t *p);
void zab__leader_durable(zab_t *z);
int zab__leader_propose(zab_t *z, const void *data, size_t len,
                        uint64_t *zxid);
uint64_t zab__leader_deadline(const zab_t *z);
/* Number of voters, itself included, whose heartbeat reply covers round. */
uint32_t zab__leader_round_votes(const zab_t *z, uint64_t round);
void zab__leader_send_pings(zab_t *z);

/* ---- learner.c ------------------------------------------------------------- */

void zab__learner_start(zab_t *z);
void zab__learner_recv(zab_t *z, zab__peer_t *p, const zab__msg_t *m);
void zab__learner_tick(zab_t *z);
void zab__learner_peer_up(zab_t *z, zab__peer_t *p);
void zab__learner_durable(zab_t *z);
uint64_t zab__learner_deadline(const zab_t *z);

/* ---- barrier.c ------------------------------------------------------------- */

int zab__barrier_add(zab_t *z, uint64_t cookie, uint32_t origin,
                     uint64_t id);
/* Re-examines pending barriers (after a heartbeat reply, a delivery, a
 * SYNC reply). */
void zab__barrier_progress(zab_t *z);
void zab__barrier_sync_reply(zab_t *z, uint64_t id, uint64_t commit);
void zab__barrier_cancel_all(zab_t *z, int status);

#endif /* ZAB_INT_H */
