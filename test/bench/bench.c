/*
 * bench.c -- `make bench`: throughput and commit latency of libzab on a
 * 3-node ensemble that lives in one process, on one thread.
 *
 * The host around the three zab_t handles:
 *
 *   Network   one FIFO byte ring per directed link.  send() copies the frame
 *             into the ring (8-byte record header, 8-byte alignment, a wrap
 *             marker instead of splitting a frame), so a frame costs one
 *             memcpy and no allocation.  Rings grow by doubling during the
 *             warm-up and are then reused.
 *   Rounds    the network moves in rounds.  A round delivers, node by node,
 *             every frame that was queued on its inbound links when the
 *             round began; frames sent during the round wait for the next
 *             one.  A round is therefore one message hop, and the virtual
 *             clock advances 1 ms per round; every node is ticked every
 *             round, so heartbeats and timeouts run as usual.
 *   Disk      a null disk: log_append copies the entry into an in-memory
 *             per-node log (entry ring + byte ring, so log_read works).
 *             "group" mode confirms the newest token of each stream with one
 *             zab_persisted() after the node has handled its frames of the
 *             round (group commit); "sync" mode calls zab_persisted() from
 *             inside the write callback (a synchronous disk).
 *   Memory    the logs are compacted after every round: entries delivered by
 *             all three nodes are dropped and log_read() answers ZAB_ERANGE
 *             below them, so memory stays bounded by the pipeline depth.
 *   Client    attached to the leader; keeps W proposals in flight (proposed,
 *             not yet delivered by the leader), resubmitting after a round
 *             when zab_propose() says ZAB_EBUSY.  Payload bytes 0..7 carry a
 *             sequence number that every node checks on delivery (order,
 *             no loss, no duplicate).
 *
 * Measured per run (fresh cluster, election, warm-up, then N transactions):
 *   tx/s      N / wall time (CLOCK_MONOTONIC) from the first measured
 *             proposal until all three nodes delivered the N-th;
 *   latency   wall-clock microseconds from zab_propose() to deliver() on the
 *             leader (= committed), sampled on every 16th transaction;
 *   hops      the same in rounds: the number of message hops on the
 *             transaction's path (PROPOSAL + ACK = 2 at the leader, + COMMIT
 *             = 3 at a follower when nothing waits);
 *   allocs    calls into the counting allocator given to
 *             zab_config_set_allocator() during the measured part, per
 *             committed transaction (and the host's own buffer growth).
 * Each configuration runs 5 times; the table shows the median of each
 * figure (hops: of the first run; they do not vary).
 *
 * Options: -q quick (1 run, small N), -v print libzab's trace lines,
 * -D tick a node only when its zab_next_deadline() is due instead of every
 * round (shows the stale-clock timeout described in the README), -c N run
 * only row N of the table (for profiling).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zab.h"

#define NNODES 3
#define TARGET_TPS 1000000.0
#define SEQ_RING (1u << 16) /* > max outstanding + a round of lag */
#define HOP_MAX 64
#define TRACE_KEEP 64

/* ---- small helpers ------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static void die(const char *fmt, ...);

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "zabbench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        die("out of memory (%zu bytes)", n);
    }
    return p;
}

static uint64_t pow2_at_least(uint64_t n, uint64_t min)
{
    uint64_t c = min;
    while (c < n) {
        c *= 2;
    }
    return c;
}

#define ZX(z) ZAB_ZXID_EPOCH(z), ZAB_ZXID_COUNTER(z)

/* ---- counting allocator (handed to libzab) ------------------------------- */

typedef struct acount {
    uint64_t mallocs, reallocs, frees;
    uint64_t live, peak; /* bytes */
} acount_t;

/* A 16-byte header keeps the size so that live bytes can be tracked. */
#define AHDR 16

static void acount_add(acount_t *a, size_t n)
{
    a->live += n;
    if (a->live > a->peak) {
        a->peak = a->live;
    }
}

static void *cnt_malloc(void *ud, size_t n)
{
    acount_t *a = ud;
    a->mallocs++;
    uint8_t *p = malloc(n + AHDR);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    acount_add(a, n);
    return p + AHDR;
}

static void cnt_free(void *ud, void *ptr)
{
    acount_t *a = ud;
    if (ptr == NULL) {
        return;
    }
    a->frees++;
    uint8_t *p = (uint8_t *)ptr - AHDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    a->live -= n;
    free(p);
}

static void *cnt_realloc(void *ud, void *ptr, size_t n)
{
    acount_t *a = ud;
    a->reallocs++;
    size_t old = 0;
    uint8_t *p = NULL;
    if (ptr != NULL) {
        p = (uint8_t *)ptr - AHDR;
        memcpy(&old, p, sizeof old);
    }
    uint8_t *q = realloc(p, n + AHDR);
    if (q == NULL) {
        return NULL;
    }
    memcpy(q, &n, sizeof n);
    a->live -= old;
    acount_add(a, n);
    return q + AHDR;
}

/* ---- the cluster ----------------------------------------------------------- */

/* A directed link: a FIFO of frames in a byte ring.  Positions are absolute
 * (mod cap on access); frames are counted so that a round can take "the
 * frames queued so far" even if the ring is re-laid out meanwhile. */
typedef struct link {
    uint8_t *buf;
    uint64_t cap, head, tail;
    uint64_t pushed, popped;
} link_t;

typedef struct logent {
    uint64_t zxid;
    uint64_t off;
    uint32_t len;
} logent_t;

/* A node's in-memory log: entries (zxid order) in a ring of descriptors and
 * a ring of bytes; entries <= base were compacted away. */
typedef struct hlog {
    logent_t *ents;
    uint64_t ecap, ehead, etail;
    uint8_t *bytes;
    uint64_t bcap, bhead, btail;
    uint64_t base;
} hlog_t;

struct cluster;

typedef struct node {
    struct cluster *c;
    int idx;
    uint32_t id;
    zab_t *z;
    hlog_t log;
    uint64_t log_token, epoch_token; /* newest unconfirmed, 0 if none */
    uint32_t acc, cur;               /* the "epoch file" */
    int role, serving;
    uint32_t leader;
    uint64_t delivered_zxid;
    uint64_t next_seq; /* next sequence number expected in deliver() */
} node_t;

typedef struct cluster {
    node_t n[NNODES];
    link_t link[NNODES][NNODES]; /* [from][to] */
    int sync_disk;
    int verbose;
    int deadline_ticks;
    uint64_t now_ms;
    uint64_t round;
    acount_t lib_alloc;
    uint64_t host_allocs; /* growth of the bench's own rings */
    uint64_t host_bytes, host_peak;
    uint8_t *retired[64]; /* log byte buffers freed at the end of a round */
    int n_retired;
    /* client and measurement */
    int leader;
    uint64_t next_seq;      /* next sequence number to propose */
    uint64_t measure_from;  /* first measured sequence number */
    uint32_t sample_every;
    uint64_t submit_ns[SEQ_RING];
    uint64_t submit_round[SEQ_RING];
    uint64_t *lat;          /* wall latency samples (ns) */
    size_t n_lat, lat_cap;
    uint64_t hops_leader[HOP_MAX], hops_follower[HOP_MAX];
    uint64_t ebusy;
    /* diagnostics */
    char trace[TRACE_KEEP][160];
    uint64_t n_trace;
} cluster_t;

static void host_grew(cluster_t *c, int64_t delta)
{
    c->host_allocs++;
    c->host_bytes += (uint64_t)delta;
    if (c->host_bytes > c->host_peak) {
        c->host_peak = c->host_bytes;
    }
}

/* ---- links ------------------------------------------------------------------ */

#define REC_HDR 8
#define ALIGN8(n) (((n) + 7) & ~(uint64_t)7)

static void link_grow(cluster_t *c, link_t *l, uint64_t need)
{
    uint64_t used = l->tail - l->head;
    uint64_t cap = pow2_at_least(2 * (used + need), 1u << 16);
    uint8_t *nb = xmalloc(cap);
    uint64_t pos = 0, at = l->head;
    while (at < l->tail) {
        uint64_t p = at & (l->cap - 1);
        uint32_t len;
        memcpy(&len, l->buf + p, 4);
        if (len == 0) { /* wrap marker */
            at += l->cap - p;
            continue;
        }
        uint64_t rec = REC_HDR + ALIGN8(len);
        memcpy(nb + pos, l->buf + p, rec);
        pos += rec;
        at += rec;
    }
    host_grew(c, (int64_t)cap - (int64_t)l->cap);
    free(l->buf);
    l->buf = nb;
    l->cap = cap;
    l->head = 0;
    l->tail = pos;
}

static void link_push(cluster_t *c, link_t *l, const void *frame, size_t len)
{
    uint64_t rec = REC_HDR + ALIGN8(len);
    for (;;) {
        if (l->cap > 0) {
            uint64_t p = l->tail & (l->cap - 1);
            uint64_t room_to_end = l->cap - p;
            uint64_t skip = rec > room_to_end ? room_to_end : 0;
            if (l->tail + skip + rec - l->head <= l->cap) {
                if (skip) {
                    uint32_t zero = 0;
                    memcpy(l->buf + p, &zero, 4);
                    l->tail += skip;
                    p = 0;
                }
                uint32_t n32 = (uint32_t)len;
                memcpy(l->buf + p, &n32, 4);
                memcpy(l->buf + p + REC_HDR, frame, len);
                l->tail += rec;
                l->pushed++;
                return;
            }
        }
        link_grow(c, l, rec);
    }
}

/* The frame at the head (the link must not be empty). */
static const uint8_t *link_head(link_t *l, uint32_t *len)
{
    uint64_t p = l->head & (l->cap - 1);
    uint32_t n;
    memcpy(&n, l->buf + p, 4);
    if (n == 0) {
        l->head += l->cap - p;
        p = 0;
        memcpy(&n, l->buf, 4);
    }
    *len = n;
    return l->buf + p + REC_HDR;
}

static void link_pop(link_t *l, uint32_t len)
{
    l->head += REC_HDR + ALIGN8(len);
    l->popped++;
}

/* ---- the in-memory log ------------------------------------------------------ */

static const logent_t *log_at(const hlog_t *g, uint64_t i)
{
    return &g->ents[i & (g->ecap - 1)];
}

static void log_grow_ents(cluster_t *c, hlog_t *g)
{
    uint64_t cap = g->ecap ? g->ecap * 2 : 1024;
    logent_t *ne = xmalloc(cap * sizeof *ne);
    uint64_t n = g->etail - g->ehead;
    for (uint64_t i = 0; i < n; i++) {
        ne[i] = *log_at(g, g->ehead + i);
    }
    host_grew(c, (int64_t)((cap - g->ecap) * sizeof *ne));
    free(g->ents);
    g->ents = ne;
    g->ecap = cap;
    g->ehead = 0;
    g->etail = n;
}

/* Re-lays the bytes compactly into a bigger ring.  The old buffer stays
 * valid until the end of the round: log_read() data may still point at it
 * (it must stay valid until the end of the current libzab call). */
static void log_grow_bytes(cluster_t *c, hlog_t *g, uint64_t need)
{
    uint64_t live = 0;
    for (uint64_t i = g->ehead; i < g->etail; i++) {
        live += log_at(g, i)->len;
    }
    uint64_t cap = pow2_at_least(2 * (live + need), 1u << 16);
    uint8_t *nb = xmalloc(cap);
    uint64_t pos = 0;
    for (uint64_t i = g->ehead; i < g->etail; i++) {
        logent_t *e = &g->ents[i & (g->ecap - 1)];
        memcpy(nb + pos, g->bytes + (e->off & (g->bcap - 1)), e->len);
        e->off = pos;
        pos += e->len;
    }
    host_grew(c, (int64_t)cap - (int64_t)g->bcap);
    if (g->bytes != NULL) {
        if (c->n_retired < (int)(sizeof c->retired / sizeof c->retired[0])) {
            c->retired[c->n_retired++] = g->bytes;
        } else {
            die("too many log buffers retired in one round");
        }
    }
    g->bytes = nb;
    g->bcap = cap;
    g->bhead = 0;
    g->btail = pos;
}

static void log_append_entry(cluster_t *c, hlog_t *g, uint64_t zxid,
                             const void *data, size_t len)
{
    if (g->etail - g->ehead == g->ecap) {
        log_grow_ents(c, g);
    }
    uint64_t at = g->btail;
    if (g->bcap > 0) {
        uint64_t room_to_end = g->bcap - (at & (g->bcap - 1));
        if (len > room_to_end) {
            at += room_to_end;
        }
    }
    if (g->bcap == 0 || at + len - g->bhead > g->bcap) {
        log_grow_bytes(c, g, len);
        at = g->btail;
    }
    logent_t *e = &g->ents[g->etail & (g->ecap - 1)];
    e->zxid = zxid;
    e->off = at;
    e->len = (uint32_t)len;
    if (len > 0) {
        memcpy(g->bytes + (at & (g->bcap - 1)), data, len);
    }
    g->btail = at + len;
    g->etail++;
}

static void log_truncate_after(hlog_t *g, uint64_t zxid)
{
    while (g->etail > g->ehead && log_at(g, g->etail - 1)->zxid > zxid) {
        g->etail--;
        g->btail = log_at(g, g->etail)->off;
    }
    if (g->etail == g->ehead) {
        g->bhead = g->btail;
    }
}

/* Drops entries with zxid <= upto. */
static void log_compact(hlog_t *g, uint64_t upto)
{
    while (g->ehead < g->etail && log_at(g, g->ehead)->zxid <= upto) {
        g->base = log_at(g, g->ehead)->zxid;
        g->ehead++;
    }
    g->bhead = g->ehead < g->etail ? log_at(g, g->ehead)->off : g->btail;
}

/* ---- host callbacks ---------------------------------------------------------- */

static int cb_send(void *ud, uint32_t peer, const void *frame, size_t len)
{
    node_t *n = ud;
    if (peer < 1 || peer > NNODES || peer == n->id) {
        return -1;
    }
    link_push(n->c, &n->c->link[n->idx][peer - 1], frame, len);
    return 0;
}

static void confirm_now(node_t *n, uint64_t token)
{
    int rc = zab_persisted(n->z, token, 0);
    if (rc != 0) {
        die("node %u: zab_persisted(%" PRIu64 ") from a callback: %s", n->id,
            token, zab_err_name(rc));
    }
}

static int cb_log_append(void *ud, uint64_t zxid, const void *data,
                         size_t len, uint64_t token)
{
    node_t *n = ud;
    log_append_entry(n->c, &n->log, zxid, data, len);
    if (n->c->sync_disk) {
        confirm_now(n, token);
    } else {
        n->log_token = token;
    }
    return 0;
}

static int cb_log_truncate(void *ud, uint64_t zxid, uint64_t token)
{
    node_t *n = ud;
    log_truncate_after(&n->log, zxid);
    if (n->c->sync_disk) {
        confirm_now(n, token);
    } else {
        n->log_token = token;
    }
    return 0;
}

static int cb_log_read(void *ud, uint64_t after, uint64_t *zxid,
                       const void **data, size_t *len)
{
    node_t *n = ud;
    hlog_t *g = &n->log;
    if (after < g->base) {
        return ZAB_ERANGE;
    }
    uint64_t lo = g->ehead, hi = g->etail;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (log_at(g, mid)->zxid <= after) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == g->etail) {
        return ZAB_ENOENT;
    }
    const logent_t *e = log_at(g, lo);
    *zxid = e->zxid;
    *data = g->bytes + (e->off & (g->bcap - 1));
    *len = e->len;
    return 0;
}

static int cb_save_epochs(void *ud, uint32_t accepted, uint32_t current,
                          uint64_t token)
{
    node_t *n = ud;
    n->acc = accepted;
    n->cur = current;
    if (n->c->sync_disk) {
        confirm_now(n, token);
    } else {
        n->epoch_token = token;
    }
    return 0;
}

static void cb_deliver(void *ud, uint64_t zxid, const void *data, size_t len)
{
    node_t *n = ud;
    cluster_t *c = n->c;
    uint64_t seq;
    if (len < sizeof seq) {
        die("node %u: delivered %u:%u with %zu bytes", n->id, ZX(zxid), len);
    }
    memcpy(&seq, data, sizeof seq);
    if (seq != n->next_seq) {
        die("node %u: delivered %u:%u carrying tx %" PRIu64 ", expected tx %"
            PRIu64, n->id, ZX(zxid), seq, n->next_seq);
    }
    n->next_seq++;
    n->delivered_zxid = zxid;
    if (seq < c->measure_from) {
        return;
    }
    /* Proposed during round r (after the snapshot of that round), so its
     * PROPOSAL travels in round r + 1: the difference counts hops. */
    uint64_t hops = c->round - c->submit_round[seq & (SEQ_RING - 1)];
    if (hops >= HOP_MAX) {
        hops = HOP_MAX - 1;
    }
    if (n->idx == c->leader) {
        c->hops_leader[hops]++;
        if (seq % c->sample_every == 0 && c->n_lat < c->lat_cap) {
            c->lat[c->n_lat++] =
                now_ns() - c->submit_ns[seq & (SEQ_RING - 1)];
        }
    } else {
        c->hops_follower[hops]++;
    }
}

static void cb_role_change(void *ud, zab_role_t role, uint32_t leader,
                           uint32_t epoch, int serving)
{
    node_t *n = ud;
    (void)epoch;
    n->role = (int)role;
    n->leader = leader;
    n->serving = serving;
}

static void cb_trace(void *ud, int level, const char *line)
{
    node_t *n = ud;
    cluster_t *c = n->c;
    if (c->verbose) {
        fprintf(stderr, "[r%" PRIu64 " t%" PRIu64 "ms] node %u (%d): %s\n",
                c->round, c->now_ms, n->id, level, line);
    }
    snprintf(c->trace[c->n_trace % TRACE_KEEP], sizeof c->trace[0],
             "[r%" PRIu64 "] node %u: %s", c->round, n->id, line);
    c->n_trace++;
}

/* ---- driving the cluster ------------------------------------------------------ */

static void dump_state(cluster_t *c, const char *why)
{
    fprintf(stderr, "zabbench: %s (round %" PRIu64 ", t=%" PRIu64 " ms)\n",
            why, c->round, c->now_ms);
    for (int i = 0; i < NNODES; i++) {
        zab_t *z = c->n[i].z;
        fprintf(stderr,
                "  node %u: %s serving=%d leader=%u last=%u:%u durable=%u:%u "
                "committed=%u:%u delivered=%u:%u outstanding=%" PRIu64
                " sent=%" PRIu64 " recv=%" PRIu64 " ignored=%" PRIu64
                " malformed=%" PRIu64 "\n",
                c->n[i].id, zab_role_name((int)zab_stat(z, ZAB_STAT_ROLE)),
                (int)zab_stat(z, ZAB_STAT_SERVING),
                (unsigned)zab_stat(z, ZAB_STAT_LEADER),
                ZX(zab_stat(z, ZAB_STAT_LAST_ZXID)),
                ZX(zab_stat(z, ZAB_STAT_DURABLE_ZXID)),
                ZX(zab_stat(z, ZAB_STAT_COMMITTED_ZXID)),
                ZX(zab_stat(z, ZAB_STAT_DELIVERED_ZXID)),
                zab_stat(z, ZAB_STAT_OUTSTANDING),
                zab_stat(z, ZAB_STAT_MSGS_SENT),
                zab_stat(z, ZAB_STAT_MSGS_RECEIVED),
                zab_stat(z, ZAB_STAT_MSGS_IGNORED),
                zab_stat(z, ZAB_STAT_MSGS_MALFORMED));
    }
    fprintf(stderr, "  client: proposed %" PRIu64 " tx, ZAB_EBUSY %" PRIu64
            " times\n", c->next_seq, c->ebusy);
    uint64_t first = c->n_trace > TRACE_KEEP ? c->n_trace - TRACE_KEEP : 0;
    fprintf(stderr, "  last trace lines:\n");
    for (uint64_t i = first; i < c->n_trace; i++) {
        fprintf(stderr, "    %s\n", c->trace[i % TRACE_KEEP]);
    }
}

/* Confirms the newest pending token of one write stream, if any. */
static void confirm_stream(node_t *n, uint64_t *token, const char *what)
{
    if (*token == 0) {
        return;
    }
    uint64_t t = *token;
    *token = 0;
    int rc = zab_persisted(n->z, t, 0);
    if (rc != 0) {
        die("node %u: zab_persisted(%s %" PRIu64 "): %s", n->id, what, t,
            zab_err_name(rc));
    }
}

static void persist_group(node_t *n)
{
    /* Group commit: one confirmation per stream covers every earlier
     * write of that stream. */
    confirm_stream(n, &n->log_token, "log");
    confirm_stream(n, &n->epoch_token, "epochs");
}

/* The client: proposes until W transactions are in flight on the leader. */
static void client_topup(cluster_t *c, uint32_t window, uint64_t until,
                         uint8_t *payload, size_t len)
{
    node_t *ld = &c->n[c->leader];
    while (c->next_seq < until && c->next_seq - ld->next_seq < window) {
        uint64_t seq = c->next_seq;
        memcpy(payload, &seq, sizeof seq);
        uint64_t slot = seq & (SEQ_RING - 1);
        c->submit_round[slot] = c->round;
        if (seq % c->sample_every == 0) {
            c->submit_ns[slot] = now_ns();
        }
        int rc = zab_propose(ld->z, payload, len, NULL);
        if (rc == ZAB_EBUSY) {
            c->ebusy++;
            return; /* pump the network, then try again */
        }
        if (rc != 0) {
            dump_state(c, "zab_propose failed");
            die("zab_propose: %s", zab_err_name(rc));
        }
        c->next_seq++;
    }
}

typedef struct client {
    uint32_t window;
    uint64_t until;
    uint8_t *payload;
    size_t len;
} client_t;

/* One round: every node handles the frames queued for it when the round
 * began; the client tops up right after the leader's turn. */
static void pump_round(cluster_t *c, client_t *cl)
{
    uint64_t lim[NNODES][NNODES];
    for (int f = 0; f < NNODES; f++) {
        for (int t = 0; t < NNODES; t++) {
            lim[f][t] = c->link[f][t].pushed;
        }
    }
    for (int t = 0; t < NNODES; t++) {
        node_t *n = &c->n[t];
        for (int f = 0; f < NNODES; f++) {
            link_t *l = &c->link[f][t];
            while (l->popped < lim[f][t]) {
                uint32_t len;
                const uint8_t *fr = link_head(l, &len);
                int rc = zab_recv(n->z, (uint32_t)f + 1, fr, len);
                if (rc != 0) {
                    dump_state(c, "zab_recv failed");
                    die("node %u: zab_recv(%s from %d): %s", n->id,
                        zab_frame_kind(fr, len), f + 1, zab_err_name(rc));
                }
                link_pop(l, len);
            }
        }
        if (cl != NULL && t == c->leader) {
            client_topup(c, cl->window, cl->until, cl->payload, cl->len);
        }
        persist_group(n);
    }
    /* Compact the logs below what all three delivered. */
    uint64_t upto = UINT64_MAX;
    for (int i = 0; i < NNODES; i++) {
        if (c->n[i].delivered_zxid < upto) {
            upto = c->n[i].delivered_zxid;
        }
    }
    for (int i = 0; i < NNODES; i++) {
        log_compact(&c->n[i].log, upto);
    }
    for (int i = 0; i < c->n_retired; i++) {
        free(c->retired[i]);
    }
    c->n_retired = 0;
    /* Time: 1 ms per round.  Every node is ticked every round (a host
     * with a 1 ms timer); with -D only when zab_next_deadline() is due,
     * which zab.h allows but which makes followers time out (see README). */
    c->round++;
    c->now_ms++;
    for (int i = 0; i < NNODES; i++) {
        uint64_t d;
        if (!c->deadline_ticks ||
            (zab_next_deadline(c->n[i].z, &d) == 0 && d <= c->now_ms)) {
            zab_tick(c->n[i].z, c->now_ms);
            persist_group(&c->n[i]);
        }
    }
}

static int opt_deadline_ticks;

static void cluster_init(cluster_t *c, int sync_disk, int verbose)
{
    memset(c, 0, sizeof *c);
    c->sync_disk = sync_disk;
    c->verbose = verbose;
    c->deadline_ticks = opt_deadline_ticks;
    c->now_ms = 1000;
    c->leader = -1;
    c->sample_every = 16;
    c->measure_from = UINT64_MAX;
    static const zab_host_ops_t ops = {
        .version = ZAB_HOST_OPS_VERSION,
        .send = cb_send,
        .log_append = cb_log_append,
        .log_truncate = cb_log_truncate,
        .log_read = cb_log_read,
        .save_epochs = cb_save_epochs,
        .snapshot_get = NULL,
        .snapshot_put = NULL,
        .deliver = cb_deliver,
        .role_change = cb_role_change,
        .barrier_done = NULL,
        .trace = cb_trace,
    };
    for (int i = 0; i < NNODES; i++) {
        node_t *n = &c->n[i];
        n->c = c;
        n->idx = i;
        n->id = (uint32_t)i + 1;
        zab_config_t *cfg;
        if (zab_config_new(&cfg) != 0) {
            die("zab_config_new");
        }
        int rc = zab_config_set_id(cfg, n->id);
        for (uint32_t v = 1; v <= NNODES && rc == 0; v++) {
            rc = zab_config_add_voter(cfg, v);
        }
        if (rc == 0) {
            rc = zab_config_set_allocator(cfg, cnt_malloc, cnt_realloc,
                                          cnt_free, &c->lib_alloc);
        }
        if (rc == 0) {
            rc = zab_new(cfg, &ops, n, &n->z);
        }
        zab_config_free(cfg);
        if (rc != 0) {
            die("creating node %u: %s", n->id, zab_err_name(rc));
        }
    }
    for (int i = 0; i < NNODES; i++) {
        int rc = zab_start(c->n[i].z, 0, 0, 0, 0, c->now_ms);
        if (rc != 0) {
            die("zab_start: %s", zab_err_name(rc));
        }
        persist_group(&c->n[i]);
    }
    for (int i = 0; i < NNODES; i++) {
        for (int j = 0; j < NNODES; j++) {
            if (i != j && zab_peer_up(c->n[i].z, (uint32_t)j + 1) != 0) {
                die("zab_peer_up");
            }
        }
        persist_group(&c->n[i]);
    }
}

static void cluster_free(cluster_t *c)
{
    for (int i = 0; i < NNODES; i++) {
        zab_free(c->n[i].z);
        free(c->n[i].log.ents);
        free(c->n[i].log.bytes);
        for (int j = 0; j < NNODES; j++) {
            free(c->link[i][j].buf);
        }
    }
    free(c->lat);
}

/* Runs rounds until one node leads an established epoch and the other two
 * follow it and serve.  Returns the number of rounds (= virtual ms). */
static uint64_t elect(cluster_t *c)
{
    uint64_t start = c->round;
    while (c->round - start < 60000) {
        pump_round(c, NULL);
        int leader = -1, following = 0;
        for (int i = 0; i < NNODES; i++) {
            node_t *n = &c->n[i];
            if (n->role == ZAB_LEADING && n->serving) {
                leader = i;
            }
        }
        for (int i = 0; leader >= 0 && i < NNODES; i++) {
            node_t *n = &c->n[i];
            if (n->role == ZAB_FOLLOWING && n->serving &&
                n->leader == c->n[leader].id) {
                following++;
            }
        }
        if (leader >= 0 && following == NNODES - 1) {
            c->leader = leader;
            return c->round - start;
        }
    }
    dump_state(c, "no leader elected within 60 s of virtual time");
    die("election failed");
    return 0;
}

/* Proposes transactions up to sequence number `until` with `window` in
 * flight, then pumps until every node delivered them all. */
static void run_until(cluster_t *c, client_t *cl)
{
    uint64_t stall = 0, last_progress = 0;
    for (;;) {
        int done = c->next_seq == cl->until;
        for (int i = 0; i < NNODES && done; i++) {
            done = c->n[i].next_seq == cl->until;
        }
        if (done) {
            return;
        }
        if (c->n[c->leader].role != ZAB_LEADING) {
            dump_state(c, "the leader stepped down during the run");
            die("leader lost");
        }
        pump_round(c, cl);
        uint64_t progress = c->n[0].next_seq + c->n[1].next_seq +
                            c->n[2].next_seq + c->next_seq;
        if (progress != last_progress) {
            last_progress = progress;
            stall = 0;
        } else if (++stall > 20000) {
            dump_state(c, "no progress for 20000 rounds");
            die("cluster stalled");
        }
    }
}

/* ---- one configuration --------------------------------------------------------- */

typedef struct config {
    size_t payload;
    uint32_t window;
    int sync_disk;
    uint64_t warmup, n;
    uint32_t sample_every;
} config_t;

typedef struct result {
    double tps;
    double p50_us, p99_us;
    uint64_t hl50, hl99, hf50, hf99;
    double frames_per_tx;
    double lib_allocs_per_tx;
    uint64_t lib_allocs, host_allocs;
    uint64_t lib_peak, host_peak;
    uint64_t ebusy;
    uint64_t elect_rounds;
} result_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct_sorted(const uint64_t *v, size_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static uint64_t pct_hist(const uint64_t *h, double p)
{
    uint64_t total = 0;
    for (int i = 0; i < HOP_MAX; i++) {
        total += h[i];
    }
    if (total == 0) {
        return 0;
    }
    uint64_t want = (uint64_t)(p * (double)total);
    if (want >= total) {
        want = total - 1;
    }
    uint64_t acc = 0;
    for (int i = 0; i < HOP_MAX; i++) {
        acc += h[i];
        if (acc > want) {
            return (uint64_t)i;
        }
    }
    return HOP_MAX - 1;
}

static uint64_t frames_sent(const cluster_t *c)
{
    uint64_t s = 0;
    for (int i = 0; i < NNODES; i++) {
        s += zab_stat(c->n[i].z, ZAB_STAT_MSGS_SENT);
    }
    return s;
}

static void run_once(const config_t *cf, int verbose, result_t *r)
{
    cluster_t *c = xmalloc(sizeof *c);
    cluster_init(c, cf->sync_disk, verbose);
    r->elect_rounds = elect(c);

    uint8_t *payload = xmalloc(cf->payload);
    for (size_t i = 0; i < cf->payload; i++) {
        payload[i] = (uint8_t)('a' + i % 26);
    }
    c->sample_every = cf->sample_every;
    c->lat_cap = cf->n / cf->sample_every + 1;
    c->lat = xmalloc(c->lat_cap * sizeof *c->lat);

    /* Warm-up: rings, logs and libzab's caches reach their working size.
     * The first half runs with a small window, so that the caches grow
     * while their ring positions are far from 0 (libzab 0.1.0 as first
     * committed stalled there: its leader lost its commit cursor). */
    client_t cl = {cf->window / 16 + 1, cf->warmup / 2, payload, cf->payload};
    c->measure_from = UINT64_MAX;
    run_until(c, &cl);
    cl.window = cf->window;
    cl.until = cf->warmup;
    run_until(c, &cl);

    acount_t a0 = c->lib_alloc;
    uint64_t h0 = c->host_allocs, f0 = frames_sent(c), e0 = c->ebusy;
    c->measure_from = c->next_seq;
    cl.until = c->next_seq + cf->n;
    uint64_t t0 = now_ns();
    run_until(c, &cl);
    uint64_t t1 = now_ns();

    r->tps = (double)cf->n / ((double)(t1 - t0) / 1e9);
    qsort(c->lat, c->n_lat, sizeof *c->lat, cmp_u64);
    r->p50_us = (double)pct_sorted(c->lat, c->n_lat, 0.50) / 1e3;
    r->p99_us = (double)pct_sorted(c->lat, c->n_lat, 0.99) / 1e3;
    r->hl50 = pct_hist(c->hops_leader, 0.50);
    r->hl99 = pct_hist(c->hops_leader, 0.99);
    r->hf50 = pct_hist(c->hops_follower, 0.50);
    r->hf99 = pct_hist(c->hops_follower, 0.99);
    r->frames_per_tx = (double)(frames_sent(c) - f0) / (double)cf->n;
    r->lib_allocs = (c->lib_alloc.mallocs - a0.mallocs) +
                    (c->lib_alloc.reallocs - a0.reallocs);
    r->lib_allocs_per_tx = (double)r->lib_allocs / (double)cf->n;
    r->host_allocs = c->host_allocs - h0;
    r->lib_peak = c->lib_alloc.peak;
    r->host_peak = c->host_peak;
    r->ebusy = c->ebusy - e0;
    free(payload);
    cluster_free(c);
    free(c);
}

/* ---- main ---------------------------------------------------------------------- */

static void fmt_thousands(char *out, size_t cap, double v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.0f", v);
    size_t n = strlen(tmp), o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        out[o++] = tmp[i];
        size_t left = n - i - 1;
        if (left > 0 && left % 3 == 0) {
            out[o++] = ',';
        }
    }
    out[o] = '\0';
}

int main(int argc, char **argv)
{
    int quick = 0, verbose = 0, only = 0;
    uint32_t window = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-q") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "-D") == 0) {
            opt_deadline_ticks = 1;
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            only = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
            window = (uint32_t)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [-q] [-v] [-D] [-c row] [-w window]\n",
                    argv[0]);
            return 2;
        }
    }
    const int runs = quick ? 1 : 5;
    /* Row 1 is the one measured against the target. */
    config_t cfgs[] = {
        {100, 1000, 0, 100000, 2000000, 16},
        {4096, 1000, 0, 20000, 200000, 16},
        {4096, 64, 0, 20000, 400000, 16},
        {100, 1000, 1, 100000, 1000000, 16},
        {100, 1, 0, 2000, 100000, 1},
    };
    const int ncfg = (int)(sizeof cfgs / sizeof cfgs[0]);
    for (int i = 0; window > 0 && i < ncfg; i++) {
        cfgs[i].window = window;
    }
    if (quick) {
        for (int i = 0; i < ncfg; i++) {
            cfgs[i].n /= 10;
            cfgs[i].warmup /= 10;
        }
    }

    printf("libzab %s bench: 3 voters in one process, one thread; in-memory "
           "FIFO links,\nnull disk, virtual clock (1 round = 1 hop = 1 ms). "
           "%d run(s) per row, medians shown.\n\n",
           zab_version_string(), runs);
    printf("%-29s %9s %12s %7s %9s %9s %7s %7s %7s %9s %9s\n", "configuration",
           "tx/run", "commits/s", "x1M", "p50 us", "p99 us", "hopsL", "hopsF",
           "frm/tx", "allocs/tx", "host allc");
    printf("%-29s %9s %12s %7s %9s %9s %7s %7s %7s %9s %9s\n", "", "", "",
           "", "(wall)", "(wall)", "p50/99", "p50/99", "", "(libzab)",
           "(bench)");

    double headline = 0;
    uint64_t total_lib_allocs = 0;
    uint64_t t_start = now_ns();
    for (int ci = 0; ci < ncfg; ci++) {
        const config_t *cf = &cfgs[ci];
        if (only != 0 && only != ci + 1) {
            continue;
        }
        result_t rs[8];
        double tps[8], p50[8], p99[8];
        uint64_t allocs = 0, host = 0, ebusy = 0, lib_peak = 0, host_peak = 0;
        for (int k = 0; k < runs; k++) {
            run_once(cf, verbose, &rs[k]);
            tps[k] = rs[k].tps;
            p50[k] = rs[k].p50_us;
            p99[k] = rs[k].p99_us;
            allocs += rs[k].lib_allocs;
            host += rs[k].host_allocs;
            ebusy += rs[k].ebusy;
            if (rs[k].lib_peak > lib_peak) {
                lib_peak = rs[k].lib_peak;
            }
            if (rs[k].host_peak > host_peak) {
                host_peak = rs[k].host_peak;
            }
        }
        qsort(tps, (size_t)runs, sizeof tps[0], cmp_double);
        qsort(p50, (size_t)runs, sizeof p50[0], cmp_double);
        qsort(p99, (size_t)runs, sizeof p99[0], cmp_double);
        double mtps = tps[runs / 2];
        const result_t *r0 = &rs[0];
        char num[32];
        fmt_thousands(num, sizeof num, mtps);
        char hl[16], hf[16];
        snprintf(hl, sizeof hl, "%" PRIu64 "/%" PRIu64, r0->hl50, r0->hl99);
        snprintf(hf, sizeof hf, "%" PRIu64 "/%" PRIu64, r0->hf50, r0->hf99);
        char name[64];
        snprintf(name, sizeof name, "%s, W=%u, %s",
                 cf->payload >= 1024 ? "4 KiB" : "100 B", cf->window,
                 cf->sync_disk ? "sync confirm" : "group commit");
        if (cf->payload != 100 && cf->payload != 4096) {
            snprintf(name, sizeof name, "%zu B, W=%u, %s", cf->payload,
                     cf->window, cf->sync_disk ? "sync" : "group");
        }
        printf("%-29s %9" PRIu64 " %12s %7.2f %9.1f %9.1f %7s %7s %7.3f "
               "%9.6f %9" PRIu64 "\n",
               name, cf->n, num, mtps / TARGET_TPS, p50[runs / 2],
               p99[runs / 2], hl, hf, r0->frames_per_tx,
               (double)allocs / (double)(cf->n * (uint64_t)runs), host);
        printf("%-29s   range %.0f..%.0f tx/s; ZAB_EBUSY %" PRIu64
               "; peak heap libzab %.1f MiB, bench %.1f MiB\n",
               "", tps[0], tps[runs - 1], ebusy,
               (double)lib_peak / 1048576.0, (double)host_peak / 1048576.0);
        fflush(stdout);
        if (ci == 0) {
            headline = mtps;
        }
        total_lib_allocs += allocs;
    }
    double secs = (double)(now_ns() - t_start) / 1e9;
    printf("\n");
    if (only == 0 || only == 1) {
        char num[32];
        fmt_thousands(num, sizeof num, headline);
        printf("target:   >= 1,000,000 committed 100-byte tx/s in-process on "
               "one core\nmeasured: %s tx/s (row 1, median) = %.2fx the "
               "target: %s\n",
               num, headline / TARGET_TPS,
               headline >= TARGET_TPS ? "met" : "NOT MET");
    }
    printf("libzab allocations after warm-up, all rows: %" PRIu64 " (%s)\n",
           total_lib_allocs,
           total_lib_allocs == 0 ? "0 as required" : "NOT 0: a regression");
    printf("total bench time %.1f s\n", secs);
    return 0;
}
