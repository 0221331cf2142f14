/*
 * server.h -- zabd's server: one process, one thread, one epoll loop that
 * drives libzab (peer frames, time, durable writes), the data tree (the
 * state machine every replica applies committed commands to), and the
 * client connections speaking ZooKeeper's wire protocol.
 *
 * Files:
 *   server.c   lifecycle, the event loop, libzab's host callbacks, applying
 *              committed commands, snapshots
 *   peer.c     connections to the other members (framing, hello,
 *              reconnect with backoff)
 *   client.c   client connections: handshake, requests, replies, watches
 *   session.c  the leader's session tracker (expiry) and session passwords
 *   fourlw.c   the four-letter words
 *   reconfig.c the membership in /zookeeper/config, the reconfig operation
 *              (observers), bringing libzab and the peers in line
 *   sasl.c     SASL (DIGEST-MD5) authentication of clients; jaas.c
 *              reads its JAAS file
 *   tls.c      TLS for the secure client port and the quorum (tls.h)
 *
 * This header is internal to zabd: the structures are shared by those
 * files and by nothing else.
 */
#ifndef ZABD_SERVER_H
#define ZABD_SERVER_H

#include <signal.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zab.h>

#include "acl.h"
#include "cfg.h"
#include "cmd.h"
#include "jute.h"
#include "net.h"
#include "tls.h"
#include "tree.h"
#include "wal.h"
#include "watch.h"

typedef struct srv srv_t;

/* A command type of zabd's own (not a ZooKeeper op code): a client
 * reattached its session to the origin server.  Replicated so that every
 * server agrees which server owns the session (ZooKeeper's
 * SessionMovedException) and so that the session is checked in commit
 * order, after everything that happened to it before. */
#define SRV_OP_REVALIDATE (-20)


/* What an epoll registration points at. */
enum io_kind { IO_CLIENT_LISTEN = 1, IO_PEER_LISTEN, IO_CLIENT, IO_PEER,
               IO_SECURE_CLIENT_LISTEN };

typedef struct io {
    int fd;
    int kind;
    uint32_t events; /* registered epoll events */
    tls_conn_t *tls; /* a TLS connection's handle, NULL for plaintext */
} io_t;

/* Reading and writing a connection's socket, plaintext or TLS: one
 * pointer test, so that the plaintext path is what it was (net.h). */
static inline long srv_io_read(io_t *io, net_buf_t *b, size_t max)
{
    return io->tls ? tls_read(io->tls, b, max) : net_read(io->fd, b, max);
}

static inline int srv_io_write(io_t *io, net_buf_t *b)
{
    return io->tls ? tls_write(io->tls, b) : net_write(io->fd, b);
}

/* ---- peers ---------------------------------------------------------------- */

/* Peer frames on the quorum port: u32 length (of type + payload), u8 type,
 * payload.  The member with the higher id connects; the other accepts. */
enum peer_msg {
    PEER_HELLO = 1,     /* u32 magic, u32 version, u32 from id, u32 to id */
    PEER_HELLO_ACK = 2, /* u32 magic, u32 version, u32 from id */
    PEER_ZAB = 3,       /* a libzab frame */
    PEER_TOUCH = 4      /* u32 n, n x i64 session: sessions heard from */
};

enum peer_state { PEER_CONNECTING = 1, PEER_HELLO_WAIT, PEER_UP };

typedef struct peer_conn {
    io_t io;
    srv_t *srv;
    uint32_t id;       /* remote member, 0 until its hello (accepted side) */
    int state;
    int outgoing;
    uint64_t opened_ms;
    net_buf_t in, out;
    struct peer_conn *next; /* srv->pending_peers (accepted, no hello) */
    bool dirty;
    struct peer_conn *dirty_next;
} peer_conn_t;

typedef struct member {
    const cfg_server_t *cfg;
    peer_conn_t *conn;      /* the live connection, or NULL */
    uint64_t next_attempt;  /* outgoing side: when to connect again */
    uint32_t backoff_ms;
} member_t;

/* ---- clients -------------------------------------------------------------- */

enum creq_state {
    CREQ_READY = 1, /* a read: executed when it reaches the queue's head */
    CREQ_WAIT,      /* a write or sync in flight */
    CREQ_DONE       /* reply encoded, sent when at the head */
};

/* One request in a client's FIFO.  Replies leave in request order, so a
 * read waits behind the writes the same session issued before it
 * (ZooKeeper's ordering guarantee). */
typedef struct creq {
    struct creq *next;
    int state;
    int32_t xid;
    int32_t type;
    uint64_t seq;        /* write/sync: the command or barrier number */
    uint64_t started_ms;
    uint8_t *pkt;        /* READY: the request packet (owned) */
    size_t pkt_len;
    uint8_t *reply;      /* DONE: whole reply packet (owned) */
    size_t reply_len;
    bool close_after;    /* closeSession: close once the reply is out */
} creq_t;

enum client_state {
    CLIENT_HANDSHAKE = 1, /* waiting for ConnectRequest */
    CLIENT_SESSION_WAIT,  /* createSession in flight or revalidating */
    CLIENT_OPEN,
    CLIENT_CLOSING        /* flushing its last bytes, then closed */
};

#define CLIENT_MAX_IDS 16

typedef struct client {
    io_t io;
    srv_t *srv;
    uint64_t id;
    int state;
    bool closed;         /* fd closed; freed when refs drop to 0 */
    unsigned refs;       /* in-flight writes and barriers pointing here */
    char addr[64];
    int port;
    int64_t session;
    int32_t timeout;
    bool has_read_only;  /* the ConnectRequest carried the flag */
    bool read_only;      /* a read-only session (the server is) */
    uint64_t last_rx_ms; /* when a packet last arrived */
    bool touched;        /* a packet arrived since the last touch report */
    bool in_input;       /* process_input is running (no re-entry) */
    uint64_t connected_ms;
    int32_t last_cxid;
    int64_t last_zxid;
    uint64_t packets_in, packets_out;
    net_buf_t in, out;
    acl_id_t ids[CLIENT_MAX_IDS]; /* authInfo: ip first, then digests,
                                     sasl (and super) */
    size_t nids;
    struct sasl_digest *sasl;     /* the SASL exchange, from its first
                                     packet on (owned) */
    creq_t *head, *tail;
    size_t queued;
    struct client *prev, *next; /* srv->clients */
    bool dirty;
    struct client *dirty_next;
} client_t;

/* ---- in-flight commands and barriers ---------------------------------------- */

typedef struct inflight {
    uint64_t seq;
    client_t *c;   /* NULL for the server's own commands */
    int kind;      /* INFLIGHT_WRITE, _SESSION, _SYNC, _REVALIDATE */
} inflight_t;

enum { INFLIGHT_WRITE = 1, INFLIGHT_SESSION, INFLIGHT_SYNC,
       INFLIGHT_REVALIDATE };

/* A ring of in-flight entries in seq order. */
typedef struct inflight_ring {
    inflight_t *v;
    size_t head, n, cap;
} inflight_ring_t;

/* ---- sessions ---------------------------------------------------------------- */

typedef struct session_tracker session_tracker_t;

session_tracker_t *session_tracker_new(void);
void session_tracker_free(session_tracker_t *t);
/* Add or refresh a session: deadline = now + timeout. */
int session_track(session_tracker_t *t, int64_t id, int32_t timeout,
                  uint64_t now);
void session_touch(session_tracker_t *t, int64_t id, uint64_t now);
void session_forget(session_tracker_t *t, int64_t id);
/* Every known session gets a fresh deadline (a new leader's grace). */
void session_reset_all(session_tracker_t *t, uint64_t now);
/* Up to `max` sessions whose deadline passed and that are not already
 * being closed; marks them closing. */
size_t session_expired(session_tracker_t *t, uint64_t now, int64_t *out,
                       size_t max);
/* A session marked closing whose close was lost (leader change): it may be
 * expired again. */
void session_unmark_all(session_tracker_t *t);
size_t session_count(const session_tracker_t *t);
/* The server a session's client is attached to, as set by the replicated
 * createSession and revalidate commands (0: unknown, e.g. after a
 * snapshot; then nothing is checked). */
void session_set_owner(session_tracker_t *t, int64_t id, uint32_t owner);
uint32_t session_owner(const session_tracker_t *t, int64_t id);
/* The 16-byte password of a session: derived from its id and the
 * cluster's secret, so every member can check it (as ZooKeeper derives it
 * from the id and a fixed seed). */
void session_password(const char *secret, int64_t id, uint8_t out[16]);

/* ---- the server -------------------------------------------------------------- */

typedef struct srv_stats {
    uint64_t packets_in, packets_out;
    uint64_t lat_count, lat_sum, lat_min, lat_max;
    uint64_t clients_refused, malformed_client, malformed_peer;
    uint64_t writes_lost, sessions_expired;
    uint64_t sasl_ok, sasl_failed; /* SASL exchanges that authenticated,
                                      and that failed (bad input too) */
} srv_stats_t;

struct srv {
    cfg_t cfg;
    const cfg_server_t *self;  /* &self_cfg, or NULL standalone */
    cfg_server_t self_cfg;     /* our server line (a reconfig may move it) */
    int epfd;
    volatile sig_atomic_t stopping; /* set by SIGTERM/SIGINT */
    bool fatal;                /* the state cannot be trusted: exit(1) */
    int verbose;

    /* libzab and storage */
    zab_t *zab;
    wal_t *wal;
    tree_t *tree;
    tree_config_t tree_cfg;
    watch_mgr_t *watches;
    uint8_t *snap_buf;         /* last snapshot_get answer */
    uint64_t since_snapshot;   /* commands applied since the last one */
    uint64_t snap_threshold;   /* snapshot after this many */
    uint64_t rng;              /* for the threshold's jitter */
    pid_t snap_child;          /* the forked snapshot writer, or 0 */
    uint64_t snap_zxid;        /* what it writes */
    uint64_t snap_started_ms;
    uint64_t next_container_check;
    bool snapshot_due;
    bool disk_failed;

    /* membership: s->cfg.servers is the current one (the zoo.cfg files',
     * or a reconfig's); config_version the zxid of that reconfig, or 0.
     * member_cfg[id] is where members[].cfg points (stable while the
     * servers array is rewritten). */
    uint64_t config_version;
    bool membership_dirty;     /* libzab and the peers must follow */
    cfg_server_t member_cfg[CFG_MAX_SERVERS + 1];

    /* role, from role_change */
    int role;
    uint32_t leader;
    uint32_t epoch;
    bool serving;
    uint64_t role_since_ms;
    /* readonlymode.enabled: set once the server has been looking for a
     * leader for a grace period; cleared when it finds one. */
    bool read_only;

    /* time */
    uint64_t now;              /* monotonic ms, cached per loop turn */
    uint64_t next_sweep;
    uint64_t next_touch;

    /* members */
    member_t members[CFG_MAX_SERVERS];
    size_t nmembers;
    io_t peer_listen;
    peer_conn_t *pending_peers;
    peer_conn_t *dirty_peers;
    peer_conn_t *dead_peers;   /* closed, freed at the end of the turn */

    /* TLS contexts (NULL when the side is plaintext) */
    tls_ctx_t *tls_client;     /* secureClientPort */
    tls_ctx_t *tls_quorum;     /* sslQuorum */

    /* clients */
    io_t client_listen;
    io_t secure_listen;        /* secureClientPort */
    client_t *clients;
    size_t nclients;
    uint64_t next_client_id;
    client_t *dirty_clients;
    client_t *dead_clients;    /* closed, freed once unreferenced */
    bool resume_due;           /* a session opened with input waiting */

    /* commands */
    uint64_t incarnation;
    uint64_t next_seq;
    inflight_ring_t inflight;  /* our proposals, in seq order */
    inflight_ring_t barriers;  /* our read barriers, in seq order */
    size_t outstanding;        /* client requests not yet answered */
    int64_t next_session;
    session_tracker_t *sessions;
    /* Sessions heard from on connections closed since the last touch
     * report: their last activity must still reach the leader. */
    int64_t closed_touches[1024];
    size_t nclosed_touches;

    srv_stats_t stats;
    struct sasl_server *sasl;  /* SASL users, NULL: SASL is off (zabd.c
                                  loads it and frees it after srv_destroy) */
};

/* server.c */
int srv_init(srv_t *s, const cfg_t *cfg, int verbose, char *err,
             size_t errlen);
int srv_run(srv_t *s);
void srv_destroy(srv_t *s);
void srv_log(srv_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Registers what the connection wants (EPOLLIN, EPOLLOUT); for a TLS
 * connection, what its TLS layer needs for that (tls_events). */
int srv_epoll_set(srv_t *s, io_t *io, uint32_t events);
void srv_epoll_del(srv_t *s, io_t *io);
/* Unregisters, ends TLS (close_notify), closes the socket; fd becomes -1. */
void srv_io_close(srv_t *s, io_t *io);
/* Proposes a command of ours (see cmd.h) and records it in the in-flight
 * ring: for client c (its session, its identities, a reference taken on
 * it) or, with c NULL, for the server itself on `session` (expiry,
 * container deletion).  *seq (if not NULL) gets its number.  0 or a
 * ZAB_E* code from zab_propose(); nothing is recorded on failure. */
/* An ERROR transaction carrying err, for a command that failed. */
void srv_error_txn(tree_txn_t *txn, const cmd_t *c, int err);

/* reconfig.c */
/* The text of /zookeeper/config for servers v[0..n) (malloc'd). */
char *reconfig_text(const cfg_server_t *v, size_t n, uint64_t version,
                    size_t *len);
/* Lines of /zookeeper/config into out (room for CFG_MAX_SERVERS). */
int reconfig_parse(const uint8_t *text, size_t len, cfg_server_t *out,
                   size_t *n, uint64_t *version);
/* A reconfig request arrived here: plan it from our membership and
 * propose it (the plan rides after the packet).  0 or a libzab error. */
int reconfig_propose(srv_t *s, client_t *c, const uint8_t *pkt, size_t len,
                     const jute_reconfig_request_t *rq, uint64_t *seq);
/* A committed reconfig request: the txn it makes, applied.  0 or the
 * ZooKeeper error code the client gets. */
int reconfig_apply(srv_t *s, const cmd_t *c, uint64_t zxid, tree_txn_t *txn,
                   tree_result_t *res);
/* After loading or installing a snapshot: a reconfigured membership in
 * the tree becomes ours; otherwise ours is published there.  -1 with a
 * message if the tree's cannot be ours (other voters, or without us). */
int reconfig_adopt_tree(srv_t *s, bool at_start, char *err, size_t errlen);
/* Writes our membership into /zookeeper/config. */
int reconfig_publish(srv_t *s);
/* From the event loop: libzab and the peer connections follow
 * s->cfg.servers. */
void reconfig_converge(srv_t *s);

int srv_propose_cmd(srv_t *s, client_t *c, int32_t type, int32_t arg,
                    int64_t session, const uint8_t *request,
                    size_t request_len, int kind, uint64_t *seq);
const char *srv_mode(const srv_t *s);
int inflight_push(inflight_ring_t *r, const inflight_t *e);
inflight_t *inflight_front(inflight_ring_t *r);
void inflight_pop(inflight_ring_t *r);

/* peer.c */
int peer_init(srv_t *s, char *err, size_t errlen);
void peer_event(srv_t *s, io_t *io, uint32_t events);
void peer_accept(srv_t *s);
void peer_timers(srv_t *s, uint64_t *next_wake);
int peer_send(srv_t *s, uint32_t id, int type, const void *p, size_t len);
void peer_flush(srv_t *s);
void peer_close_all(srv_t *s);
/* Member index for an id, or -1. */
int peer_member(const srv_t *s, uint32_t id);
/* A member added by a reconfig (its connection comes as for any other),
 * or one removed (its connection closed; libzab must know first). */
void peer_add_member(srv_t *s, const cfg_server_t *sv);
void peer_remove_member(srv_t *s, uint32_t id);

/* client.c */
int client_init(srv_t *s, char *err, size_t errlen);
/* Accepts on the plaintext client port or, for s->secure_listen, the TLS
 * one. */
void client_accept(srv_t *s, io_t *listener);
void client_event(srv_t *s, client_t *c, uint32_t events);
void client_flush(srv_t *s);
void client_close(srv_t *s, client_t *c, const char *why);
void client_close_all(srv_t *s, const char *why);
/* Read-only mode: close the read-only connections silent for longer than
 * their session timeout (no leader expires them). */
void client_read_only_sweep(srv_t *s);
void client_release(srv_t *s, client_t *c);
/* A committed command of ours completed: the reply packet for client c
 * (ownership of the malloc'd `reply` passes to the client). */
void client_write_done(srv_t *s, client_t *c, uint64_t seq, uint8_t *reply,
                       size_t len, bool close_after);
/* The createSession of c committed (ok) or c's session is invalid. */
void client_session_ready(srv_t *s, client_t *c, bool valid);
void client_sync_done(srv_t *s, client_t *c, uint64_t seq, int status);
void client_send_event(srv_t *s, client_t *c, int32_t type,
                       const char *path);
client_t *client_by_session(srv_t *s, int64_t session);
void client_touch_report(srv_t *s);
/* Run requests that were waiting for capacity (global outstanding limit). */
void client_resume(srv_t *s);
/* Reply-encoding helper shared with server.c's apply. */
/* The whole reply packet to a committed write: `request` is the client's
 * request packet (header and record), `type` its op code. */
int client_encode_result(srv_t *s, const uint8_t *request,
                         size_t request_len, int32_t type,
                         const tree_result_t *res, int err, uint8_t **out,
                         size_t *len);

/* fourlw.c */
/* If buf starts with a four-letter word: 1 and the answer in out (to be
 * sent, then the connection closed); 0 otherwise. */
int fourlw_handle(srv_t *s, const uint8_t *buf, size_t len, net_buf_t *out);

#endif
