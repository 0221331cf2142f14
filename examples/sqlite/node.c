/*
 * node.c -- a zab-sqlite replica (see node.h and README.md).
 *
 * One thread, one poll() loop.  A loop turn: wait for sockets or the next
 * deadline; read peers (zab_recv), clients and the shell (reads are
 * answered at once, writes are proposed); run the timers (zab_tick,
 * reconnects, request deadlines and fences); send what libzab queued;
 * make the turn's log writes durable with one wal_sync (group commit),
 * whose confirmations (zab_persisted) let libzab deliver committed
 * transactions, which are applied to SQLite and answered to their
 * issuers; take a snapshot if one is due; write everything out.
 *
 * Peers: one TCP connection per pair of members; the higher id connects
 * and sends HELLO (magic, version, its id, the id it wants), the other
 * answers HELLO_ACK; then frames are u32 length (of what follows), u8
 * type, body, and type ZAB carries one libzab frame.
 *
 * Matching a write to its delivery: the payload carries (origin node,
 * incarnation, seq), seq increasing with every zab_propose() of this
 * process.  Proposals from one node reach the leader in order (a FIFO
 * connection, and a REQUEST is only accepted from a learner synchronised
 * in the leader's current epoch), so when our seq N is delivered, any
 * earlier seq of ours not delivered yet never will be: it is answered
 * "not committed" -- definitely not applied.  A write that stays silent
 * (its request lost with a connection or a leader) is settled by
 * proposing a FENCE, an empty transaction of ours, after fence_ms.
 * After a snapshot install, or after request_timeout_ms without an
 * answer, the outcome is UNKNOWN.
 */
#include "node.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zab.h>

#include "db.h"
#include "net.h"
#include "proto.h"
#include "wal.h"

#define PEER_MAGIC 0x5a53514cu /* "ZSQL" */
#define PEER_VERSION 1u
#define PEER_HANDSHAKE_MS 5000
#define PEER_BACKOFF_MIN_MS 50
#define PEER_BACKOFF_MAX_MS 2000
#define PEER_MAX_OUT ((size_t)512 << 20)
#define CLIENT_MAX_IN ((size_t)64 << 20)

enum { F_HELLO = 1, F_HELLO_ACK = 2, F_ZAB = 3 };
enum { PC_CONNECTING = 1, PC_HELLO_WAIT, PC_UP };
enum { REQ_WRITE = 1, REQ_FENCE, REQ_BARRIER };

typedef struct pconn {
    struct pconn *next; /* on the pending or dead list */
    int fd;
    uint32_t id; /* 0 until the HELLO */
    int state;
    int outgoing;
    uint64_t opened_ms;
    net_buf_t in, out;
} pconn_t;

typedef struct member {
    const conf_node_t *cfg;
    pconn_t *conn;
    uint64_t next_attempt, backoff_ms;
} member_t;

struct issuer;

typedef struct req {
    struct req *next;
    struct issuer *who; /* NULL: nobody waits (a fence, or gone) */
    int kind;
    uint64_t seq;    /* proposal number, once proposed */
    uint64_t cookie; /* barrier */
    uint64_t created_ms, proposed_ms;
    char *sql;
} req_t;

typedef struct reqq {
    req_t *head, *tail;
} reqq_t;

typedef struct issuer {
    struct issuer *next;
    int fd;                 /* the socket, or 0 for the shell */
    int is_stdin, human, interactive;
    net_buf_t in, out, stmt;
    req_t *cur;             /* the request in progress */
    int eof, closing, dead, prompted;
} issuer_t;

typedef struct node {
    const conf_t *cfg;
    const conf_node_t *self;
    node_opts_t opt;
    zab_t *zab;
    wal_t *wal;
    db_t *db;
    member_t members[CONF_MAX_NODES];
    size_t nmembers;
    pconn_t *pending, *dead;
    int peer_lfd, client_lfd;
    issuer_t *issuers;
    reqq_t waiting, proposed, barriers;
    uint64_t now, incarnation, next_seq, next_cookie, last_fence_ms;
    int role, serving;
    uint32_t leader, epoch;
    uint64_t max_payload;
    int fatal, stopping;
    uint64_t since_snapshot;
    void *snap_buf; /* handed to libzab by snapshot_get */
    net_buf_t rows; /* rows of the request being answered */
    uint64_t writes_ok, writes_failed, writes_lost, writes_unknown,
        refused, reads, snapshots_sent, snapshots_installed,
        snapshots_taken;
} node_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nlog(const node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void nlog(const node_t *n, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%02d:%02d:%02d.%03ld [node %u] %s\n", tm.tm_hour,
            tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, n->opt.id, line);
}

/* ---- request queues --------------------------------------------------------- */

static void q_push(reqq_t *q, req_t *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
}

static req_t *q_pop(reqq_t *q)
{
    req_t *r = q->head;
    if (r) {
        q->head = r->next;
        if (!q->head)
            q->tail = NULL;
        r->next = NULL;
    }
    return r;
}

static void q_remove(reqq_t *q, req_t *r)
{
    req_t *prev = NULL;
    for (req_t *x = q->head; x; prev = x, x = x->next) {
        if (x != r)
            continue;
        if (prev)
            prev->next = x->next;
        else
            q->head = x->next;
        if (q->tail == x)
            q->tail = prev;
        x->next = NULL;
        return;
    }
}

/* ---- answering issuers ------------------------------------------------------ */

static void req_free(req_t *r)
{
    free(r->sql);
    free(r);
}

/* The request is over: its issuer may send the next one. */
static void req_done(req_t *r)
{
    if (r->who)
        r->who->cur = NULL;
    req_free(r);
}

static void answer_ok(node_t *n, req_t *r, uint64_t zxid, int64_t changes)
{
    if (r->who) {
        net_buf_append(&r->who->out, n->rows.p + n->rows.off,
                       net_buf_size(&n->rows));
        proto_ok(&r->who->out, zxid, changes);
    }
    net_buf_consume(&n->rows, net_buf_size(&n->rows));
    req_done(r);
}

static void answer_err(node_t *n, req_t *r, const char *kind,
                       const char *msg)
{
    if (r->who)
        proto_err(&r->who->out, kind, msg);
    net_buf_consume(&n->rows, net_buf_size(&n->rows));
    req_done(r);
}

static void row_sink(void *ud, sqlite3_stmt *st)
{
    node_t *n = ud;
    proto_row(&n->rows, st);
}

/* ---- peers ------------------------------------------------------------------ */

static member_t *member_of(node_t *n, uint32_t id)
{
    for (size_t i = 0; i < n->nmembers; i++)
        if (n->members[i].cfg->id == id)
            return &n->members[i];
    return NULL;
}

static size_t max_frame(const node_t *n)
{
    return (size_t)n->max_payload + 4096;
}

static pconn_t *pc_new(node_t *n, int fd, int outgoing)
{
    pconn_t *pc = calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    pc->fd = fd;
    pc->outgoing = outgoing;
    pc->opened_ms = n->now;
    return pc;
}

static void pending_unlink(node_t *n, pconn_t *pc)
{
    for (pconn_t **pp = &n->pending; *pp; pp = &(*pp)->next)
        if (*pp == pc) {
            *pp = pc->next;
            pc->next = NULL;
            return;
        }
}

/* Closes a connection; `tell_zab` is 0 when libzab already knows (its
 * send failed) or never knew (not up yet).  Freed at the end of the turn. */
static void pc_close(node_t *n, pconn_t *pc, const char *why, int tell_zab)
{
    if (pc->fd < 0)
        return;
    member_t *m = pc->id ? member_of(n, pc->id) : NULL;
    if (m && m->conn == pc) {
        m->conn = NULL;
        if (pc->state == PC_UP) {
            nlog(n, "peer %u down: %s", pc->id, why);
            if (tell_zab)
                zab_peer_down(n->zab, pc->id);
        }
        if (pc->outgoing) {
            m->next_attempt = n->now + m->backoff_ms;
            m->backoff_ms = m->backoff_ms * 2 > PEER_BACKOFF_MAX_MS
                                ? PEER_BACKOFF_MAX_MS
                                : m->backoff_ms * 2;
        }
    }
    pending_unlink(n, pc);
    close(pc->fd);
    pc->fd = -1;
    pc->state = 0;
    pc->next = n->dead;
    n->dead = pc;
}

static int queue_frame(pconn_t *pc, int type, const void *p, size_t len)
{
    uint8_t head[5];
    if (net_buf_size(&pc->out) + len > PEER_MAX_OUT ||
        net_buf_reserve(&pc->out, len + 5) != 0)
        return -1;
    net_put_u32(head, (uint32_t)(len + 1));
    head[4] = (uint8_t)type;
    net_buf_append(&pc->out, head, 5);
    net_buf_append(&pc->out, p, len);
    return 0;
}

static void send_hello(node_t *n, pconn_t *pc, int type)
{
    uint8_t b[16];
    net_put_u32(b, PEER_MAGIC);
    net_put_u32(b + 4, PEER_VERSION);
    net_put_u32(b + 8, n->opt.id);
    net_put_u32(b + 12, pc->id);
    queue_frame(pc, type, b, type == F_HELLO ? 16 : 12);
}

static void peer_up(node_t *n, pconn_t *pc)
{
    member_t *m = member_of(n, pc->id);
    pc->state = PC_UP;
    m->conn = pc;
    m->backoff_ms = PEER_BACKOFF_MIN_MS;
    nlog(n, "peer %u up (%s)", pc->id, pc->outgoing ? "connected" : "accepted");
    zab_peer_up(n->zab, pc->id);
}

static int on_hello(node_t *n, pconn_t *pc, const uint8_t *p, size_t len)
{
    if (len != 16 || net_get_u32(p) != PEER_MAGIC ||
        net_get_u32(p + 4) != PEER_VERSION)
        return -1;
    uint32_t from = net_get_u32(p + 8), to = net_get_u32(p + 12);
    member_t *m = member_of(n, from);
    if (!m || to != n->opt.id || from < n->opt.id) {
        nlog(n, "refusing a peer connection from id %u (for %u)", from, to);
        return -1;
    }
    pending_unlink(n, pc);
    if (m->conn)
        pc_close(n, m->conn, "replaced by a new connection", 1);
    pc->id = from;
    send_hello(n, pc, F_HELLO_ACK);
    peer_up(n, pc);
    return 0;
}

/* One whole frame; -1 closes the connection. */
static int on_frame(node_t *n, pconn_t *pc, int type, const uint8_t *p,
                    size_t len)
{
    if (pc->state == PC_HELLO_WAIT) {
        if (!pc->outgoing && type == F_HELLO)
            return on_hello(n, pc, p, len);
        if (pc->outgoing && type == F_HELLO_ACK && len == 12 &&
            net_get_u32(p) == PEER_MAGIC && net_get_u32(p + 8) == pc->id) {
            peer_up(n, pc);
            return 0;
        }
        return -1;
    }
    if (pc->state == PC_UP && type == F_ZAB)
        return zab_recv(n->zab, pc->id, p, len) == ZAB_EPROTO ? -1 : 0;
    return -1;
}

static void peer_read(node_t *n, pconn_t *pc)
{
    size_t budget = 4u << 20; /* per turn, so one peer cannot starve */
    while (budget > 0 && pc->fd >= 0) {
        long r = net_read(pc->fd, &pc->in, 256u << 10);
        if (r < 0) {
            pc_close(n, pc, errno ? strerror(errno) : "closed by peer", 1);
            return;
        }
        if (r == 0)
            break;
        budget = (size_t)r >= budget ? 0 : budget - (size_t)r;
        while (pc->fd >= 0 && net_buf_size(&pc->in) >= 5) {
            const uint8_t *p = pc->in.p + pc->in.off;
            size_t len = net_get_u32(p);
            if (len == 0 || len > max_frame(n)) {
                pc_close(n, pc, "bad frame length", 1);
                return;
            }
            if (net_buf_size(&pc->in) < 4 + len)
                break;
            int rc = on_frame(n, pc, p[4], p + 5, len - 1);
            if (pc->fd < 0)
                return;
            net_buf_consume(&pc->in, 4 + len);
            if (rc != 0) {
                pc_close(n, pc, "protocol error", 1);
                return;
            }
        }
    }
}

static void peer_writable(node_t *n, pconn_t *pc)
{
    if (pc->state != PC_CONNECTING)
        return;
    int e = net_connect_result(pc->fd);
    if (e != 0) {
        pc_close(n, pc, strerror(e), 0);
        return;
    }
    pc->state = PC_HELLO_WAIT;
    send_hello(n, pc, F_HELLO);
}

static void peer_accept(node_t *n)
{
    for (;;) {
        int fd = net_accept(n->peer_lfd, NULL, 0, NULL);
        if (fd < 0)
            return;
        pconn_t *pc = pc_new(n, fd, 0);
        if (!pc) {
            close(fd);
            continue;
        }
        pc->state = PC_HELLO_WAIT;
        pc->next = n->pending;
        n->pending = pc;
    }
}

static void peer_timers(node_t *n, uint64_t *wake)
{
    for (size_t i = 0; i < n->nmembers; i++) {
        member_t *m = &n->members[i];
        pconn_t *pc = m->conn;
        if (pc && pc->state != PC_UP &&
            n->now - pc->opened_ms > PEER_HANDSHAKE_MS)
            pc_close(n, pc, "handshake timed out", 0);
        if (m->cfg->id > n->opt.id || m->conn)
            continue;
        if (n->now < m->next_attempt) {
            if (m->next_attempt < *wake)
                *wake = m->next_attempt;
            continue;
        }
        char err[256];
        int fd = net_connect(m->cfg->peer_host, m->cfg->peer_port, err,
                             sizeof err);
        if (fd < 0) {
            m->next_attempt = n->now + m->backoff_ms;
            continue;
        }
        pc = pc_new(n, fd, 1);
        if (!pc) {
            close(fd);
            continue;
        }
        pc->id = m->cfg->id;
        pc->state = PC_CONNECTING;
        m->conn = pc;
    }
    for (pconn_t *pc = n->pending, *nx; pc; pc = nx) {
        nx = pc->next;
        if (n->now - pc->opened_ms > PEER_HANDSHAKE_MS)
            pc_close(n, pc, "no hello", 0);
    }
}

static void peer_flush_one(node_t *n, pconn_t *pc)
{
    if (pc->fd >= 0 && pc->state != PC_CONNECTING &&
        net_buf_size(&pc->out) > 0 && net_write(pc->fd, &pc->out) != 0)
        pc_close(n, pc, strerror(errno), 1);
}

static void peer_flush(node_t *n)
{
    for (size_t i = 0; i < n->nmembers; i++)
        if (n->members[i].conn)
            peer_flush_one(n, n->members[i].conn);
    for (pconn_t *pc = n->pending, *nx; pc; pc = nx) {
        nx = pc->next;
        peer_flush_one(n, pc);
    }
}

static void free_dead(node_t *n)
{
    while (n->dead) {
        pconn_t *d = n->dead;
        n->dead = d->next;
        net_buf_free(&d->in);
        net_buf_free(&d->out);
        free(d);
    }
}

/* ---- proposing ------------------------------------------------------------- */

static int propose_req(node_t *n, req_t *r)
{
    zcmd_t c;
    uint8_t *buf;
    size_t len;
    memset(&c, 0, sizeof c);
    c.kind = r->kind == REQ_FENCE ? ZCMD_FENCE : ZCMD_SQL;
    c.origin = n->opt.id;
    c.incarnation = n->incarnation;
    c.seq = n->next_seq + 1;
    c.time_ms = wall_ms();
    c.sql = r->sql;
    c.sql_len = r->sql ? strlen(r->sql) : 0;
    if (zcmd_encode(&c, &buf, &len) != 0)
        return ZAB_ENOMEM;
    int rc = zab_propose(n->zab, buf, len, NULL);
    free(buf);
    if (rc == 0) {
        n->next_seq = c.seq;
        r->seq = c.seq;
        r->proposed_ms = n->now;
    }
    return rc;
}

static void propose_waiting(node_t *n)
{
    req_t *r;
    while (n->serving && (r = n->waiting.head) != NULL) {
        int rc = propose_req(n, r);
        if (rc == ZAB_ENOTLEADER || rc == ZAB_EBUSY)
            return; /* again at the next turn */
        q_pop(&n->waiting);
        if (rc == 0) {
            q_push(&n->proposed, r);
        } else {
            char msg[128];
            snprintf(msg, sizeof msg, "not committed: %s", zab_strerror(rc));
            n->writes_failed++;
            answer_err(n, r, "ERR", msg);
        }
    }
}

/* Deadlines of waiting and proposed requests, and fences. */
static void req_timers(node_t *n, uint64_t *wake)
{
    const conf_t *c = n->cfg;
    char msg[256];
    for (req_t *r = n->waiting.head, *nx; r; r = nx) {
        nx = r->next;
        if (n->now >= r->created_ms + c->request_timeout_ms) {
            q_remove(&n->waiting, r);
            snprintf(msg, sizeof msg,
                     "not committed: no leader took the request within %" PRIu64
                     " ms (nothing was applied)",
                     c->request_timeout_ms);
            n->writes_failed++;
            answer_err(n, r, "ERR", msg);
        } else if (r->created_ms + c->request_timeout_ms < *wake) {
            *wake = r->created_ms + c->request_timeout_ms;
        }
    }
    if (n->waiting.head && n->serving && n->now + 20 < *wake)
        *wake = n->now + 20; /* EBUSY or ENOTLEADER: try again soon */
    req_t *r;
    while ((r = n->proposed.head) != NULL &&
           n->now >= r->proposed_ms + c->request_timeout_ms) {
        q_pop(&n->proposed);
        if (r->kind == REQ_WRITE) {
            snprintf(msg, sizeof msg,
                     "no outcome within %" PRIu64
                     " ms (the write may or may not be applied)",
                     c->request_timeout_ms);
            n->writes_unknown++;
            answer_err(n, r, "UNKNOWN", msg);
        } else {
            req_free(r);
        }
    }
    if (r && r->proposed_ms + c->request_timeout_ms < *wake)
        *wake = r->proposed_ms + c->request_timeout_ms;
    /* The oldest silent write: a fence settles it (and every write of
     * ours before the fence). */
    for (r = n->proposed.head; r && r->kind != REQ_WRITE; r = r->next)
        ;
    if (!r)
        return;
    uint64_t due = r->proposed_ms + c->fence_ms;
    if (n->last_fence_ms + c->fence_ms > due)
        due = n->last_fence_ms + c->fence_ms;
    if (n->now < due) {
        if (due < *wake)
            *wake = due;
        return;
    }
    if (!n->serving)
        return;
    req_t *f = calloc(1, sizeof *f);
    if (!f)
        return;
    f->kind = REQ_FENCE;
    f->created_ms = n->now;
    if (propose_req(n, f) == 0) {
        q_push(&n->proposed, f);
        n->last_fence_ms = n->now;
        if (n->opt.verbose)
            nlog(n, "fence %" PRIu64 " proposed for a silent write", f->seq);
    } else {
        req_free(f);
    }
}

/* ---- libzab host callbacks --------------------------------------------------- */

static int h_send(void *ud, uint32_t peer, const void *frame, size_t len)
{
    node_t *n = ud;
    member_t *m = member_of(n, peer);
    if (!m || !m->conn || m->conn->state != PC_UP)
        return ZAB_ESTATE;
    if (queue_frame(m->conn, F_ZAB, frame, len) != 0) {
        pc_close(n, m->conn, "send queue full", 0);
        return ZAB_EBUSY;
    }
    return 0;
}

static int h_log_append(void *ud, uint64_t zxid, const void *data,
                        size_t len, uint64_t token)
{
    node_t *n = ud;
    return wal_append(n->wal, zxid, data, len, token);
}

static int h_log_truncate(void *ud, uint64_t zxid, uint64_t token)
{
    node_t *n = ud;
    nlog(n, "truncating the log after %016" PRIx64, zxid);
    return wal_truncate(n->wal, zxid, token);
}

static int h_log_read(void *ud, uint64_t after, uint64_t *zxid,
                      const void **data, size_t *len)
{
    node_t *n = ud;
    return wal_read(n->wal, after, zxid, data, len);
}

static int h_save_epochs(void *ud, uint32_t accepted, uint32_t current,
                         uint64_t token)
{
    node_t *n = ud;
    return wal_save_epochs(n->wal, accepted, current, token);
}

static int h_snapshot_get(void *ud, uint64_t min_zxid, uint64_t *zxid,
                          const void **data, size_t *len)
{
    node_t *n = ud;
    char err[256];
    if (db_applied_zxid(n->db) < min_zxid)
        return ZAB_ENOENT;
    db_free_buf(n->snap_buf);
    n->snap_buf = NULL;
    void *buf;
    if (db_snapshot(n->db, &buf, len, zxid, err, sizeof err) != 0) {
        nlog(n, "%s", err);
        return ZAB_EIO;
    }
    n->snap_buf = buf; /* freed at the end of the loop turn */
    *data = buf;
    n->snapshots_sent++;
    nlog(n, "sending a snapshot at %016" PRIx64 " (%zu bytes)", *zxid, *len);
    return 0;
}

/* Loads the newest snapshot of the log directory into the database. */
static int restore_from_wal(node_t *n, char *err, size_t errlen)
{
    uint64_t at;
    void *buf = NULL;
    size_t len = 0;
    int rc = wal_snapshot_load(n->wal, &at, &buf, &len);
    if (rc != 0) {
        snprintf(err, errlen, "cannot read the snapshot: %s",
                 wal_error(n->wal)[0] ? wal_error(n->wal) : zab_strerror(rc));
        return -1;
    }
    rc = db_restore(n->db, buf, len, at, err, errlen);
    free(buf);
    return rc;
}

static int h_snapshot_put(void *ud, uint64_t zxid, uint64_t offset,
                          uint64_t total, const void *chunk, size_t len,
                          uint64_t token)
{
    node_t *n = ud;
    char err[256];
    int rc = wal_snapshot_put(n->wal, zxid, offset, total, chunk, len, token);
    if (rc != 0 || token == 0)
        return rc;
    /* The last chunk: the snapshot is durable in the log directory and the
     * log starts after it.  Now the database. */
    if (restore_from_wal(n, err, sizeof err) != 0) {
        /* The log directory holds the snapshot: a restart finishes the
         * job (see reconcile()). */
        nlog(n, "FATAL: installing the snapshot at %016" PRIx64 ": %s", zxid,
             err);
        n->fatal = 1;
        return ZAB_EIO;
    }
    n->snapshots_installed++;
    n->since_snapshot = 0;
    nlog(n, "installed a snapshot at %016" PRIx64 " (%" PRIu64 " bytes)", zxid,
         total);
    /* Our writes in flight may or may not be in it. */
    req_t *r;
    while ((r = q_pop(&n->proposed)) != NULL) {
        if (r->kind == REQ_WRITE) {
            n->writes_unknown++;
            answer_err(n, r, "UNKNOWN",
                       "this node was re-synchronised from a snapshot; the "
                       "write may or may not be in it");
        } else {
            req_free(r);
        }
    }
    return 0;
}

/* Our own proposal `seq` was delivered: earlier ones still waiting were
 * lost (see the top of this file). */
static req_t *match_own(node_t *n, uint64_t seq)
{
    req_t *r;
    while ((r = n->proposed.head) != NULL && r->seq < seq) {
        q_pop(&n->proposed);
        if (r->kind == REQ_WRITE) {
            n->writes_lost++;
            answer_err(n, r, "ERR",
                       "not committed: the request was lost on the way to "
                       "the leader (nothing was applied); retry");
        } else {
            req_free(r);
        }
    }
    if (r && r->seq == seq)
        return q_pop(&n->proposed);
    return NULL;
}

static void h_deliver(void *ud, uint64_t zxid, const void *data, size_t len)
{
    node_t *n = ud;
    zcmd_t c;
    db_result_t res;
    if (n->fatal)
        return; /* the state must not move past a failed transaction */
    if (zcmd_decode(data, len, &c) != 0) {
        /* Never produced by zab-sqlite; applied as a no-op so that every
         * replica consumes the zxid the same way. */
        nlog(n, "transaction %016" PRIx64 " is malformed: applied as a no-op",
             zxid);
        memset(&c, 0, sizeof c);
        c.kind = ZCMD_FENCE;
    }
    req_t *mine = NULL;
    if (c.origin == n->opt.id && c.incarnation == n->incarnation)
        mine = match_own(n, c.seq);
    int want_rows = mine && mine->who;
    net_buf_consume(&n->rows, net_buf_size(&n->rows));
    int st = db_apply(n->db, zxid, c.time_ms, c.sql,
                      c.kind == ZCMD_SQL ? c.sql_len : 0,
                      want_rows ? row_sink : NULL, n, &res);
    if (st == DB_FATAL) {
        nlog(n, "FATAL: transaction %016" PRIx64 ": %s; stopping (a restart "
                "applies it again)",
             zxid, res.msg);
        n->fatal = 1;
        if (mine) {
            n->writes_unknown++;
            answer_err(n, mine, "UNKNOWN", "the node failed while applying");
        }
        return;
    }
    n->since_snapshot++;
    if (!mine)
        return;
    if (mine->kind != REQ_WRITE) {
        req_free(mine);
    } else if (st == DB_OK || st == DB_SKIPPED) {
        n->writes_ok++;
        answer_ok(n, mine, zxid, res.changes);
    } else {
        n->writes_failed++;
        answer_err(n, mine, "ERR", res.msg);
    }
}

static void h_role_change(void *ud, zab_role_t role, uint32_t leader,
                          uint32_t epoch, int serving)
{
    node_t *n = ud;
    n->role = role;
    n->leader = leader;
    n->epoch = epoch;
    n->serving = serving;
    nlog(n, "%s%s, leader %u, epoch %u", zab_role_name(role),
         serving ? " (serving)" : "", leader, epoch);
}

static void h_barrier_done(void *ud, uint64_t cookie, int status)
{
    node_t *n = ud;
    for (req_t *r = n->barriers.head; r; r = r->next) {
        if (r->cookie != cookie)
            continue;
        q_remove(&n->barriers, r);
        if (status == 0)
            answer_ok(n, r, 0, 0);
        else
            answer_err(n, r, "ERR", zab_strerror(status));
        return;
    }
}

static void h_trace(void *ud, int level, const char *line)
{
    node_t *n = ud;
    if (level < n->opt.verbose)
        nlog(n, "zab: %s", line);
}

static void on_durable(void *ud, uint64_t token, int status)
{
    node_t *n = ud;
    int rc = zab_persisted(n->zab, token, status);
    if (rc != 0 && rc != ZAB_EINVAL)
        nlog(n, "zab_persisted: %s", zab_strerror(rc));
}

/* ---- issuers ------------------------------------------------------------------ */

static issuer_t *issuer_new(node_t *n, int fd, int is_stdin, int human)
{
    issuer_t *iss = calloc(1, sizeof *iss);
    if (!iss)
        return NULL;
    iss->fd = fd;
    iss->is_stdin = is_stdin;
    iss->human = human;
    iss->interactive = is_stdin && isatty(0) && isatty(1);
    iss->next = n->issuers;
    n->issuers = iss;
    return iss;
}

static void issuer_close(issuer_t *iss)
{
    if (iss->dead)
        return;
    if (iss->cur)
        iss->cur->who = NULL; /* answered to nobody */
    iss->cur = NULL;
    if (!iss->is_stdin)
        close(iss->fd);
    iss->dead = 1;
}

static void status_rows(node_t *n, net_buf_t *out)
{
    char v[64];
    size_t nw = 0, np = 0;
    for (req_t *r = n->waiting.head; r; r = r->next)
        nw++;
    for (req_t *r = n->proposed.head; r; r = r->next)
        np++;
#define KV(k, fmt, x)                      \
    do {                                   \
        snprintf(v, sizeof v, fmt, x);     \
        proto_row_kv(out, k, v);           \
    } while (0)
    KV("node", "%u", n->opt.id);
    KV("role", "%s", zab_role_name(n->role));
    KV("serving", "%d", n->serving);
    KV("leader", "%u", n->leader);
    KV("epoch", "%u", n->epoch);
    KV("applied_zxid", "%016" PRIx64, db_applied_zxid(n->db));
    KV("log_start", "%016" PRIx64, wal_log_start(n->wal));
    KV("log_last", "%016" PRIx64, wal_last_zxid(n->wal));
    KV("log_segments", "%zu", wal_segment_count(n->wal));
    KV("snapshot_zxid", "%016" PRIx64, wal_snapshot_zxid(n->wal));
    KV("writes_waiting", "%zu", nw);
    KV("writes_in_flight", "%zu", np);
    KV("writes_ok", "%" PRIu64, n->writes_ok);
    KV("writes_failed", "%" PRIu64, n->writes_failed);
    KV("writes_lost", "%" PRIu64, n->writes_lost);
    KV("writes_unknown", "%" PRIu64, n->writes_unknown);
    KV("refused", "%" PRIu64, n->refused);
    KV("reads", "%" PRIu64, n->reads);
    KV("snapshots_sent", "%" PRIu64, n->snapshots_sent);
    KV("snapshots_installed", "%" PRIu64, n->snapshots_installed);
    KV("snapshots_taken", "%" PRIu64, n->snapshots_taken);
    for (int i = 0; i < ZAB_STAT__COUNT; i++) {
        char k[64];
        snprintf(k, sizeof k, "zab.%s", zab_stat_name(i));
        KV(k, "%" PRIu64, zab_stat(n->zab, i));
    }
#undef KV
}

static const char help_text[] =
    "SQL statements end with ';' (a request may hold several: it is one\n"
    "transaction).  Reads run on this node; writes are replicated and\n"
    "answered once applied here.  Dot commands:\n"
    "  .status   this node's role, zxids and counters\n"
    "  .sync     wait until this node has applied every write committed\n"
    "            before (a read barrier), for an up-to-date next read\n"
    "  .tables   the tables\n"
    "  .quit     end the session (the shell: stop this node)\n";

static void start_local(node_t *n, issuer_t *iss, const char *sql)
{
    db_result_t r;
    net_buf_consume(&n->rows, net_buf_size(&n->rows));
    int st = db_run_local(n->db, sql, row_sink, n, &r);
    if (st == DB_OK) {
        n->reads++;
        net_buf_append(&iss->out, n->rows.p + n->rows.off,
                       net_buf_size(&n->rows));
        net_buf_consume(&n->rows, net_buf_size(&n->rows));
        proto_ok(&iss->out, 0, 0);
        return;
    }
    net_buf_consume(&n->rows, net_buf_size(&n->rows));
    if (st == DB_WRITE) {
        st = db_check_write(n->db, sql, &r);
        if (st == DB_OK) {
            req_t *q = calloc(1, sizeof *q);
            if (!q || !(q->sql = strdup(sql))) {
                free(q);
                proto_err(&iss->out, "ERR", "out of memory");
                return;
            }
            if (strlen(sql) + 64 > n->max_payload) {
                req_free(q);
                proto_err(&iss->out, "ERR",
                          "refused: the request is larger than "
                          "zab.max_payload_bytes");
                return;
            }
            q->kind = REQ_WRITE;
            q->who = iss;
            q->created_ms = n->now;
            iss->cur = q;
            q_push(&n->waiting, q);
            return;
        }
    }
    if (st == DB_REFUSED)
        n->refused++;
    proto_err(&iss->out, "ERR", r.msg);
}

static void start_request(node_t *n, issuer_t *iss, char *text)
{
    char *s = text;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (*s != '.') {
        start_local(n, iss, text);
        return;
    }
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
                     e[-1] == '\r' || e[-1] == ';'))
        *--e = '\0';
    if (strcmp(s, ".status") == 0) {
        status_rows(n, &iss->out);
        proto_ok(&iss->out, 0, 0);
    } else if (strcmp(s, ".tables") == 0) {
        start_local(n, iss,
                    "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                    "name NOT LIKE 'sqlite_%' ORDER BY name");
    } else if (strcmp(s, ".help") == 0) {
        proto_row_kv(&iss->out, "help", help_text);
        proto_ok(&iss->out, 0, 0);
    } else if (strcmp(s, ".quit") == 0 || strcmp(s, ".exit") == 0) {
        proto_ok(&iss->out, 0, 0);
        iss->eof = 1;
        net_buf_consume(&iss->in, net_buf_size(&iss->in));
    } else if (strcmp(s, ".sync") == 0) {
        req_t *q = calloc(1, sizeof *q);
        if (!q) {
            proto_err(&iss->out, "ERR", "out of memory");
            return;
        }
        q->kind = REQ_BARRIER;
        q->who = iss;
        q->cookie = ++n->next_cookie;
        q->created_ms = n->now;
        iss->cur = q;
        q_push(&n->barriers, q);
        int rc = zab_read_barrier(n->zab, q->cookie);
        if (rc != 0 && iss->cur == q) {
            q_remove(&n->barriers, q);
            answer_err(n, q, "ERR", zab_strerror(rc));
        }
    } else {
        proto_err(&iss->out, "ERR", "unknown command (try .help)");
    }
}

/* The next request in iss->in (malloc'd), or NULL. */
static char *next_request(issuer_t *iss)
{
    for (;;) {
        char *p = (char *)iss->in.p + iss->in.off;
        size_t avail = net_buf_size(&iss->in);
        char *nl = avail ? memchr(p, '\n', avail) : NULL;
        size_t linelen;
        if (nl) {
            linelen = (size_t)(nl - p);
        } else if (iss->eof && avail > 0) {
            linelen = avail;
        } else {
            /* End of input: what is left of a statement runs as is. */
            if (iss->eof && iss->human && net_buf_size(&iss->stmt) > 0) {
                char *s = strndup((char *)iss->stmt.p + iss->stmt.off,
                                  net_buf_size(&iss->stmt));
                net_buf_consume(&iss->stmt, net_buf_size(&iss->stmt));
                if (s && s[strspn(s, " \t\r\n")] == '\0') {
                    free(s);
                    return NULL;
                }
                return s;
            }
            return NULL;
        }
        char *line = strndup(p, linelen);
        net_buf_consume(&iss->in, nl ? linelen + 1 : linelen);
        if (!line)
            return NULL;
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\r')
            line[--l] = '\0';
        if (!iss->human) {
            if (l == 0) {
                free(line);
                continue;
            }
            proto_unescape(line);
            return line;
        }
        iss->prompted = 0;
        int blank = line[strspn(line, " \t")] == '\0';
        if (net_buf_size(&iss->stmt) == 0) {
            if (blank) {
                free(line);
                continue;
            }
            if (line[strspn(line, " \t")] == '.')
                return line;
        }
        net_buf_append(&iss->stmt, line, l);
        net_buf_append(&iss->stmt, "\n\0", 2);
        iss->stmt.len--; /* keep the NUL after the live bytes */
        free(line);
        const char *s = (const char *)iss->stmt.p + iss->stmt.off;
        if (sqlite3_complete(s)) {
            char *req = strdup(s);
            net_buf_consume(&iss->stmt, net_buf_size(&iss->stmt));
            return req;
        }
    }
}

/* Starts the next requests of every idle issuer. */
static void issuers_resume(node_t *n)
{
    for (issuer_t *iss = n->issuers; iss; iss = iss->next) {
        while (!iss->dead && !iss->cur && !iss->closing) {
            char *req = next_request(iss);
            if (!req)
                break;
            start_request(n, iss, req);
            free(req);
        }
        if (!iss->dead && !iss->cur && iss->eof && !iss->closing &&
            net_buf_size(&iss->in) == 0)
            iss->closing = 1; /* once the answers are out */
    }
}

static void issuer_read(node_t *n, issuer_t *iss)
{
    (void)n;
    if (net_buf_size(&iss->in) > CLIENT_MAX_IN) {
        proto_err(&iss->out, "ERR", "request too long");
        iss->closing = 1;
        return;
    }
    long r = net_read(iss->fd, &iss->in, 64u << 10);
    if (r < 0) {
        if (errno != 0 && !iss->is_stdin) {
            issuer_close(iss); /* the connection is gone */
            return;
        }
        iss->eof = 1;
    }
}

/* Writes an issuer's answers; for the shell in human mode, as tables. */
static void issuer_flush(node_t *n, issuer_t *iss)
{
    if (iss->dead)
        return;
    if (iss->is_stdin) {
        while (net_buf_size(&iss->out) > 0) {
            char *p = (char *)iss->out.p + iss->out.off;
            char *nl = memchr(p, '\n', net_buf_size(&iss->out));
            size_t l = nl ? (size_t)(nl - p) + 1 : net_buf_size(&iss->out);
            if (iss->human) {
                char *line = strndup(p, nl ? l - 1 : l);
                if (line) {
                    proto_print_human(line, stdout, stderr,
                                      iss->interactive || n->opt.verbose);
                    free(line);
                }
            } else {
                fwrite(p, 1, l, stdout);
            }
            net_buf_consume(&iss->out, l);
        }
        if (iss->interactive && !iss->cur && !iss->eof && !iss->prompted) {
            fputs(net_buf_size(&iss->stmt) ? "   ...> " : "zab-sqlite> ",
                  stdout);
            iss->prompted = 1;
        }
        fflush(stdout);
        fflush(stderr);
        if (iss->closing) {
            iss->dead = 1;
            nlog(n, "end of the shell's input: stopping");
            n->stopping = 1;
        }
        return;
    }
    if (net_buf_size(&iss->out) > 0 && net_write(iss->fd, &iss->out) != 0) {
        issuer_close(iss);
        return;
    }
    if (iss->closing && net_buf_size(&iss->out) == 0)
        issuer_close(iss);
}

static void client_accept(node_t *n)
{
    for (;;) {
        int fd = net_accept(n->client_lfd, NULL, 0, NULL);
        if (fd < 0)
            return;
        if (!issuer_new(n, fd, 0, 0))
            close(fd);
    }
}

static void free_dead_issuers(node_t *n)
{
    for (issuer_t **pp = &n->issuers; *pp;) {
        issuer_t *iss = *pp;
        if (!iss->dead) {
            pp = &iss->next;
            continue;
        }
        *pp = iss->next;
        net_buf_free(&iss->in);
        net_buf_free(&iss->out);
        net_buf_free(&iss->stmt);
        free(iss);
    }
}

/* ---- snapshots and the disk ----------------------------------------------------- */

static void take_snapshot(node_t *n)
{
    char err[256];
    void *buf;
    size_t len;
    uint64_t at;
    n->since_snapshot = 0;
    if (db_applied_zxid(n->db) == wal_snapshot_zxid(n->wal))
        return;
    if (db_snapshot(n->db, &buf, &len, &at, err, sizeof err) != 0) {
        nlog(n, "%s", err);
        return;
    }
    int rc = wal_snapshot_write(n->wal, at, buf, len);
    db_free_buf(buf);
    if (rc != 0) {
        nlog(n, "snapshot at %016" PRIx64 " failed: %s", at,
             wal_error(n->wal));
        return;
    }
    n->snapshots_taken++;
    rc = wal_purge(n->wal, 2);
    nlog(n, "snapshot at %016" PRIx64 " (%zu bytes); the log now starts "
            "after %016" PRIx64 "%s",
         at, len, wal_log_start(n->wal), rc ? " (purge failed)" : "");
}

static void sync_disk(node_t *n)
{
    if (!wal_sync_pending(n->wal))
        return;
    if (wal_sync(n->wal, on_durable, n) != 0) {
        nlog(n, "FATAL: disk failure: %s", wal_error(n->wal));
        n->fatal = 1;
    }
}

/* ---- start and stop ------------------------------------------------------------- */

/* The database and the log directory are two pieces of state: make them
 * agree before libzab starts (see README.md, "What happens on a crash"). */
static int reconcile(node_t *n, uint64_t *last, char *err, size_t errlen)
{
    uint64_t applied = db_applied_zxid(n->db);
    uint64_t start = wal_log_start(n->wal);
    uint64_t snap = wal_snapshot_zxid(n->wal);
    wal_start_state(n->wal, NULL, NULL, last, NULL);
    if (applied < start) {
        /* The log no longer holds what the database misses: a snapshot
         * install or a purge happened after the database's last durable
         * commit.  The log directory's newest snapshot covers it. */
        if (snap < start || snap <= applied) {
            snprintf(err, errlen,
                     "the database is at %016" PRIx64
                     " but the log starts after %016" PRIx64
                     " and holds no snapshot to bridge the gap",
                     applied, start);
            return -1;
        }
        nlog(n, "the database (%016" PRIx64 ") is behind the log start; "
                "loading the snapshot at %016" PRIx64,
             applied, snap);
        if (restore_from_wal(n, err, errlen) != 0)
            return -1;
        applied = db_applied_zxid(n->db);
    }
    if (applied > *last) {
        snprintf(err, errlen,
                 "the database is at %016" PRIx64
                 " but the log in %.200s ends at %016" PRIx64
                 ": the log was lost or belongs to another database (remove "
                 "the database file too: it is rebuilt from the ensemble)",
                 applied, n->self->log_dir, *last);
        return -1;
    }
    return 0;
}

static int make_zab(node_t *n, char *err, size_t errlen)
{
    static const zab_host_ops_t ops = {
        .version = ZAB_HOST_OPS_VERSION,
        .send = h_send,
        .log_append = h_log_append,
        .log_truncate = h_log_truncate,
        .log_read = h_log_read,
        .save_epochs = h_save_epochs,
        .snapshot_get = h_snapshot_get,
        .snapshot_put = h_snapshot_put,
        .deliver = h_deliver,
        .role_change = h_role_change,
        .barrier_done = h_barrier_done,
        .trace = h_trace,
    };
    zab_config_t *zc;
    int rc = zab_config_new(&zc);
    if (rc == 0)
        rc = zab_config_set_id(zc, n->opt.id);
    for (size_t i = 0; rc == 0 && i < n->cfg->nnodes; i++)
        rc = n->cfg->nodes[i].observer
                 ? zab_config_add_observer(zc, n->cfg->nodes[i].id)
                 : zab_config_add_voter(zc, n->cfg->nodes[i].id);
    for (size_t i = 0; rc == 0 && i < n->cfg->nzab_opts; i++)
        rc = zab_config_set(zc, n->cfg->zab_opts[i].option,
                            n->cfg->zab_opts[i].value);
    if (rc == 0)
        rc = zab_config_get(zc, ZAB_OPT_MAX_PAYLOAD_BYTES, &n->max_payload);
    if (rc == 0)
        rc = zab_new(zc, &ops, n, &n->zab);
    zab_config_free(zc);
    if (rc != 0) {
        snprintf(err, errlen, "libzab: %s", zab_strerror(rc));
        return -1;
    }
    return 0;
}

static int node_init(node_t *n, char *err, size_t errlen)
{
    const conf_node_t *self = n->self;
    char werr[512];
    if (make_zab(n, err, errlen) != 0)
        return -1;
    wal_options_t wo;
    memset(&wo, 0, sizeof wo);
    wo.segment_bytes = n->cfg->segment_bytes;
    wo.max_record_bytes = (uint32_t)(n->max_payload + 1024);
    if (wal_open(self->log_dir, &wo, &n->wal, werr, sizeof werr) != 0) {
        snprintf(err, errlen, "%s", werr);
        return -1;
    }
    if (db_open(self->db_path, n->cfg->sync_full, &n->db, err, errlen) != 0)
        return -1;
    uint32_t acc, cur;
    uint64_t last;
    if (reconcile(n, &last, err, errlen) != 0)
        return -1;
    wal_epochs(n->wal, &acc, &cur);
    uint64_t applied = db_applied_zxid(n->db);
    nlog(n, "starting: epochs %u/%u, log %016" PRIx64 "..%016" PRIx64
            ", database at %016" PRIx64,
         acc, cur, wal_log_start(n->wal), last, applied);
    int rc = zab_start(n->zab, acc, cur, last, applied, n->now);
    if (rc != 0) {
        snprintf(err, errlen, "zab_start: %s", zab_strerror(rc));
        return -1;
    }
    for (size_t i = 0; i < n->cfg->nnodes; i++) {
        const conf_node_t *c = &n->cfg->nodes[i];
        if (c->id == n->opt.id)
            continue;
        member_t *m = &n->members[n->nmembers++];
        m->cfg = c;
        m->backoff_ms = PEER_BACKOFF_MIN_MS;
    }
    n->peer_lfd = net_listen(self->peer_host, self->peer_port, err, errlen);
    if (n->peer_lfd < 0)
        return -1;
    n->client_lfd =
        net_listen(self->client_host, self->client_port, err, errlen);
    if (n->client_lfd < 0)
        return -1;
    if (n->opt.shell && !issuer_new(n, 0, 1, !n->opt.machine)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static void node_destroy(node_t *n)
{
    req_t *r;
    reqq_t *qs[] = { &n->waiting, &n->proposed, &n->barriers };
    for (size_t i = 0; i < 3; i++)
        while ((r = q_pop(qs[i])) != NULL) {
            if (r->kind == REQ_WRITE && i == 1)
                answer_err(n, r, "UNKNOWN", "the node is stopping");
            else if (r->kind == REQ_WRITE || r->kind == REQ_BARRIER)
                answer_err(n, r, "ERR", "not committed: the node is stopping");
            else
                req_free(r);
        }
    for (issuer_t *iss = n->issuers; iss; iss = iss->next) {
        issuer_flush(n, iss);
        issuer_close(iss);
    }
    free_dead_issuers(n);
    for (size_t i = 0; i < n->nmembers; i++)
        if (n->members[i].conn) {
            peer_flush_one(n, n->members[i].conn);
            if (n->members[i].conn)
                pc_close(n, n->members[i].conn, "stopping", 0);
        }
    while (n->pending)
        pc_close(n, n->pending, "stopping", 0);
    free_dead(n);
    zab_free(n->zab);
    if (n->wal && !n->fatal)
        wal_sync(n->wal, NULL, NULL);
    wal_close(n->wal);
    db_close(n->db);
    db_free_buf(n->snap_buf);
    net_buf_free(&n->rows);
    if (n->peer_lfd >= 0)
        close(n->peer_lfd);
    if (n->client_lfd >= 0)
        close(n->client_lfd);
}

/* ---- the loop ------------------------------------------------------------------- */

enum { P_PEER_LISTEN = 1, P_CLIENT_LISTEN, P_PEER, P_ISSUER };

typedef struct pollset {
    struct pollfd *fds;
    struct {
        int kind;
        void *p;
    } * tag;
    size_t n, cap;
} pollset_t;

static int ps_add(pollset_t *ps, int fd, short events, int kind, void *p)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 32;
        struct pollfd *f = realloc(ps->fds, cap * sizeof *f);
        if (!f)
            return -1;
        ps->fds = f;
        void *t = realloc(ps->tag, cap * sizeof *ps->tag);
        if (!t)
            return -1;
        ps->tag = t;
        ps->cap = cap;
    }
    ps->fds[ps->n].fd = fd;
    ps->fds[ps->n].events = events;
    ps->fds[ps->n].revents = 0;
    ps->tag[ps->n].kind = kind;
    ps->tag[ps->n].p = p;
    ps->n++;
    return 0;
}

static void ps_add_peer(pollset_t *ps, pconn_t *pc)
{
    short ev = POLLIN;
    if (pc->state == PC_CONNECTING || net_buf_size(&pc->out) > 0)
        ev |= POLLOUT;
    if (pc->state == PC_CONNECTING)
        ev = POLLOUT;
    ps_add(ps, pc->fd, ev, P_PEER, pc);
}

static void build_pollset(node_t *n, pollset_t *ps)
{
    ps->n = 0;
    ps_add(ps, n->peer_lfd, POLLIN, P_PEER_LISTEN, NULL);
    ps_add(ps, n->client_lfd, POLLIN, P_CLIENT_LISTEN, NULL);
    for (size_t i = 0; i < n->nmembers; i++)
        if (n->members[i].conn)
            ps_add_peer(ps, n->members[i].conn);
    for (pconn_t *pc = n->pending; pc; pc = pc->next)
        ps_add_peer(ps, pc);
    for (issuer_t *iss = n->issuers; iss; iss = iss->next) {
        if (iss->dead)
            continue;
        short ev = 0;
        /* Read ahead only while idle: the next request waits its turn. */
        if (!iss->eof && !iss->closing && !iss->cur)
            ev |= POLLIN;
        if (!iss->is_stdin && net_buf_size(&iss->out) > 0)
            ev |= POLLOUT;
        if (ev)
            ps_add(ps, iss->fd, ev, P_ISSUER, iss);
    }
}

static void dispatch(node_t *n, pollset_t *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        short re = ps->fds[i].revents;
        if (!re)
            continue;
        switch (ps->tag[i].kind) {
        case P_PEER_LISTEN:
            peer_accept(n);
            break;
        case P_CLIENT_LISTEN:
            client_accept(n);
            break;
        case P_PEER: {
            pconn_t *pc = ps->tag[i].p;
            if (pc->fd < 0)
                break;
            if (pc->state == PC_CONNECTING) {
                peer_writable(n, pc);
                break;
            }
            if (re & (POLLIN | POLLERR | POLLHUP))
                peer_read(n, pc);
            break;
        }
        case P_ISSUER: {
            issuer_t *iss = ps->tag[i].p;
            if (!iss->dead && (re & (POLLIN | POLLERR | POLLHUP)))
                issuer_read(n, iss);
            break;
        }
        default:
            break;
        }
    }
}

int node_run(const conf_t *c, const node_opts_t *o)
{
    static node_t node;
    node_t *n = &node;
    char err[1024];
    pollset_t ps;
    memset(&ps, 0, sizeof ps);
    memset(n, 0, sizeof *n);
    n->cfg = c;
    n->opt = *o;
    n->peer_lfd = n->client_lfd = -1;
    n->now = mono_ms();
    n->incarnation = (uint64_t)wall_ms() << 16 ^ (uint64_t)getpid();
    n->self = conf_node(c, o->id);
    if (!n->self) {
        fprintf(stderr, "zab-sqlite: node %u is not in the configuration\n",
                o->id);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (node_init(n, err, sizeof err) != 0) {
        nlog(n, "cannot start: %s", err);
        node_destroy(n);
        return 1;
    }
    uint64_t wake = n->now;
    while (!n->stopping && !n->fatal && !g_stop) {
        build_pollset(n, &ps);
        n->now = mono_ms();
        int timeout = wake > n->now ? (int)(wake - n->now) : 0;
        if (timeout > 1000)
            timeout = 1000;
        int rc = poll(ps.fds, ps.n, timeout);
        if (rc < 0 && errno != EINTR) {
            nlog(n, "poll: %s", strerror(errno));
            n->fatal = 1;
            break;
        }
        n->now = mono_ms();
        if (rc > 0)
            dispatch(n, &ps);
        wake = n->now + 1000;
        zab_tick(n->zab, n->now);
        uint64_t deadline;
        if (zab_next_deadline(n->zab, &deadline) == 0 && deadline < wake)
            wake = deadline;
        peer_timers(n, &wake);
        issuers_resume(n);
        propose_waiting(n);
        req_timers(n, &wake);
        /* Proposals leave before our own fsync: the followers' disks work
         * in parallel with ours. */
        peer_flush(n);
        sync_disk(n);
        if (n->fatal)
            break;
        issuers_resume(n);
        propose_waiting(n);
        if (n->cfg->snapshot_every &&
            n->since_snapshot >= n->cfg->snapshot_every)
            take_snapshot(n);
        peer_flush(n);
        for (issuer_t *iss = n->issuers; iss; iss = iss->next)
            issuer_flush(n, iss);
        free_dead_issuers(n);
        free_dead(n);
        db_free_buf(n->snap_buf);
        n->snap_buf = NULL;
        if (wal_sync_pending(n->wal))
            wake = n->now;
    }
    int status = n->fatal ? 1 : 0;
    if (!n->fatal)
        nlog(n, "stopping");
    node_destroy(n);
    free(ps.fds);
    free(ps.tag);
    return status;
}
