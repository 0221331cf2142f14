/*
 * disk.c -- the simulated disk: two views, two write streams, crashes that
 * lose, lie and tear (see disk.h).
 */
#include "disk.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "host.h"
#include "trace.h"

/* ---- views ----------------------------------------------------------------- */

/* First index in a zxid-sorted array whose zxid is greater than `z`. */
static size_t upper(const logent_t *a, size_t n, uint64_t z)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid].zxid <= z) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

uint64_t view_last(const view_t *v)
{
    if (v->n > 0) {
        return v->log[v->n - 1].zxid;
    }
    return v->snap != NULL ? v->snap->zxid : 0;
}

int64_t view_find(const view_t *v, uint64_t zxid)
{
    const logent_t *a = v->log;
    size_t n = v->n;
    if (v->snap != NULL && zxid <= v->snap->zxid) {
        a = v->snap->ents;
        n = v->snap->n;
    }
    size_t i = upper(a, n, zxid);
    if (i > 0 && a[i - 1].zxid == zxid) {
        return a[i - 1].rec;
    }
    return -1;
}

size_t view_count_le(const view_t *v, uint64_t zxid)
{
    size_t c = upper(v->log, v->n, zxid);
    if (v->snap != NULL) {
        c += upper(v->snap->ents, v->snap->n, zxid);
    }
    return c;
}

int view_log_next(const view_t *v, uint64_t after, const logent_t **e)
{
    if (v->snap != NULL && after < v->snap->zxid) {
        return ZAB_ERANGE; /* the entries after `after` are under a snapshot */
    }
    size_t i = upper(v->log, v->n, after);
    if (i >= v->n) {
        return ZAB_ENOENT;
    }
    *e = &v->log[i];
    return 0;
}

static void view_push(view_t *v, uint64_t zxid, uint32_t rec)
{
    v->log = sim_grow(v->log, &v->cap, v->n + 1, sizeof(logent_t));
    v->log[v->n].zxid = zxid;
    v->log[v->n].rec = rec;
    v->n++;
}

static void view_clear(view_t *v)
{
    free(v->log);
    v->log = NULL;
    v->n = v->cap = 0;
    snap_unref(v->snap);
    v->snap = NULL;
}

static void view_copy(view_t *dst, const view_t *src)
{
    view_clear(dst);
    dst->acc = src->acc;
    dst->cur = src->cur;
    if (src->n > 0) {
        dst->log = sim_alloc(src->n * sizeof(logent_t));
        memcpy(dst->log, src->log, src->n * sizeof(logent_t));
        dst->n = dst->cap = src->n;
    }
    dst->snap = snap_ref(src->snap);
}

/* Drops the first k log entries. */
static void view_drop_prefix(view_t *v, size_t k)
{
    if (k == 0) {
        return;
    }
    memmove(v->log, v->log + k, (v->n - k) * sizeof(logent_t));
    v->n -= k;
}

/* ---- snapshots --------------------------------------------------------------- */

snap_t *snap_new(sim_t *s, const uint32_t *recs, size_t n, uint64_t hash)
{
    snap_t *sn = sim_alloc(sizeof(*sn));
    memset(sn, 0, sizeof(*sn));
    sn->refs = 1;
    sn->n = (uint32_t)n;
    sn->hash = hash;
    if (n > 0) {
        sn->ents = sim_alloc(n * sizeof(logent_t));
        for (size_t i = 0; i < n; i++) {
            sn->ents[i].zxid = s->recs[recs[i]].zxid;
            sn->ents[i].rec = recs[i];
        }
        sn->zxid = sn->ents[n - 1].zxid;
    }
    return sn;
}

snap_t *snap_ref(snap_t *sn)
{
    if (sn != NULL) {
        sn->refs++;
    }
    return sn;
}

void snap_unref(snap_t *sn)
{
    if (sn != NULL && --sn->refs == 0) {
        free(sn->ents);
        free(sn->buf);
        free(sn);
    }
}

/* Serialised form: "ZSN1", zxid u64, count u32, hash u64, then count x
 * (zxid u64, tx u32), big-endian.  Transactions are named by their client
 * id: the checker can verify every element against the history. */
#define SNAP_HDR 24
#define SNAP_ENT 12

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

const uint8_t *snap_bytes(sim_t *s, snap_t *sn, size_t *len)
{
    if (sn->buf == NULL) {
        sn->buflen = SNAP_HDR + (size_t)sn->n * SNAP_ENT;
        sn->buf = sim_alloc(sn->buflen);
        memcpy(sn->buf, "ZSN1", 4);
        put64(sn->buf + 4, sn->zxid);
        put32(sn->buf + 12, sn->n);
        put64(sn->buf + 16, sn->hash);
        for (uint32_t i = 0; i < sn->n; i++) {
            uint8_t *p = sn->buf + SNAP_HDR + (size_t)i * SNAP_ENT;
            put64(p, sn->ents[i].zxid);
            put32(p + 8, s->recs[sn->ents[i].rec].tx);
        }
    }
    *len = sn->buflen;
    return sn->buf;
}

snap_t *snap_parse(sim_t *s, const uint8_t *buf, size_t len, uint64_t zxid,
                   char *err, size_t errlen)
{
    char z1[24], z2[24];
    if (len < SNAP_HDR || memcmp(buf, "ZSN1", 4) != 0) {
        snprintf(err, errlen, "not a snapshot (%zu bytes)", len);
        return NULL;
    }
    uint64_t hz = get64(buf + 4);
    uint32_t n = get32(buf + 12);
    uint64_t hash = get64(buf + 16);
    if ((len - SNAP_HDR) % SNAP_ENT != 0 || (len - SNAP_HDR) / SNAP_ENT != n) {
        snprintf(err, errlen, "%zu bytes for %u entries", len, n);
        return NULL;
    }
    if (hz != zxid) {
        snprintf(err, errlen, "labelled %s but holds the state at %s",
                 sim_zxid_str(zxid, z1), sim_zxid_str(hz, z2));
        return NULL;
    }
    if (n > s->ng) {
        snprintf(err, errlen, "holds %u transactions, only %zu ever delivered",
                 n, s->ng);
        return NULL;
    }
    uint32_t *recs = n ? sim_alloc(n * sizeof(uint32_t)) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = buf + SNAP_HDR + (size_t)i * SNAP_ENT;
        uint64_t ez = get64(p);
        uint32_t tx = get32(p + 8);
        int64_t r = chk_find(s, ez);
        /* Honest: exactly the effect of the history up to its label, whose
         * every element was committed (delivered somewhere). */
        if (r < 0 || s->recs[r].tx != tx || s->g[i] != (uint32_t)r) {
            snprintf(err, errlen,
                     "element %u is %s=tx-%u, the history has %s there", i,
                     sim_zxid_str(ez, z1), tx,
                     sim_zxid_str(s->recs[s->g[i]].zxid, z2));
            free(recs);
            return NULL;
        }
        recs[i] = (uint32_t)r;
    }
    if ((n > 0 && s->recs[recs[n - 1]].zxid != zxid) || (n == 0 && zxid != 0)) {
        snprintf(err, errlen, "labelled %s but its last element differs",
                 sim_zxid_str(zxid, z1));
        free(recs);
        return NULL;
    }
    if (n > 0 && s->gh[n - 1] != hash) {
        snprintf(err, errlen, "state hash differs from the history's");
        free(recs);
        return NULL;
    }
    snap_t *sn = snap_new(s, recs, n, hash);
    free(recs);
    return sn;
}

/* ---- write streams -------------------------------------------------------------- */

void disk_init(node_t *n)
{
    memset(&n->disk, 0, sizeof(n->disk));
}

static void dq_clear(dq_t *q)
{
    for (size_t i = 0; i < q->n; i++) {
        snap_unref(q->v[(q->head + i) % q->cap].snap);
    }
    q->head = 0;
    q->n = 0;
}

static void dq_push(dq_t *q, const dop_t *op)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        dop_t *v = sim_alloc(cap * sizeof(dop_t));
        for (size_t i = 0; i < q->n; i++) {
            v[i] = q->v[(q->head + i) % q->cap];
        }
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    q->v[(q->head + q->n) % q->cap] = *op;
    q->n++;
}

static dop_t *dq_head(dq_t *q)
{
    return q->n ? &q->v[q->head] : NULL;
}

static void dq_pop(dq_t *q)
{
    q->head = (q->head + 1) % q->cap;
    q->n--;
}

static void undo_release(undo_t *u)
{
    free(u->ents);
    u->ents = NULL;
    snap_unref(u->snap);
    u->snap = NULL;
}

static void journal_clear(disk_t *d)
{
    for (size_t i = d->uhead; i < d->nundo; i++) {
        undo_release(&d->undo[i]);
    }
    d->uhead = d->nundo = 0;
}

void disk_free(node_t *n)
{
    disk_t *d = &n->disk;
    dq_clear(&d->q[0]);
    dq_clear(&d->q[1]);
    free(d->q[0].v);
    free(d->q[1].v);
    journal_clear(d);
    free(d->undo);
    view_clear(&d->dur);
    view_clear(&d->cur);
    free(d->in_buf);
    memset(d, 0, sizeof(*d));
}

/* Records how to undo a completed write, for a later `disk lose`.  Only
 * the writes of the last fsync-max ms can be undone, so older records are
 * dropped as new ones come. */
static undo_t *journal_push(sim_t *s, disk_t *d, int type)
{
    while (d->uhead < d->nundo &&
           d->undo[d->uhead].t + s->fsync_max < s->now) {
        undo_release(&d->undo[d->uhead++]);
    }
    if (d->uhead > 32 && d->uhead * 2 > d->nundo) {
        memmove(d->undo, d->undo + d->uhead,
                (d->nundo - d->uhead) * sizeof(undo_t));
        d->nundo -= d->uhead;
        d->uhead = 0;
    }
    d->undo = sim_grow(d->undo, &d->capundo, d->nundo + 1, sizeof(undo_t));
    undo_t *u = &d->undo[d->nundo++];
    memset(u, 0, sizeof(*u));
    u->t = s->now;
    u->type = (uint8_t)type;
    return u;
}

static void kick(sim_t *s, node_t *n, int st)
{
    disk_t *d = &n->disk;
    dop_t *h = dq_head(&d->q[st]);
    if (h == NULL || d->stalled[st]) {
        return;
    }
    d->ev_gen[st]++;
    uint64_t t = h->due > s->now ? h->due : s->now;
    sched_push(&s->sched, t, EV_DISK, (int)n->id, st, d->ev_gen[st], NULL);
}

static void enqueue(sim_t *s, node_t *n, int st, dop_t *op)
{
    disk_t *d = &n->disk;
    uint64_t due = s->now + rng_range(&s->rng, s->fsync_min, s->fsync_max) +
                   d->slow_ms;
    /* A stream completes in issue order, like one file fsync'd in turn. */
    if (due < d->last_due[st]) {
        due = d->last_due[st];
    }
    d->last_due[st] = due;
    op->due = due;
    int was_empty = d->q[st].n == 0;
    dq_push(&d->q[st], op);
    if (was_empty) {
        kick(s, n, st);
    }
}

int disk_append(sim_t *s, node_t *n, uint64_t zxid, uint32_t rec,
                uint64_t token)
{
    char z1[24], z2[24];
    view_t *c = &n->disk.cur;
    if (zxid <= view_last(c)) {
        chk_violation(s, "log order",
                      "n%u appended %s after %s (zxids must grow in the log)",
                      n->id, sim_zxid_str(zxid, z1),
                      sim_zxid_str(view_last(c), z2));
    }
    view_push(c, zxid, rec);
    dop_t op = {0};
    op.type = OP_APPEND;
    op.zxid = zxid;
    op.rec = rec;
    op.token = token;
    enqueue(s, n, STREAM_LOG, &op);
    return 0;
}

int disk_truncate(sim_t *s, node_t *n, uint64_t zxid, uint64_t token)
{
    view_t *c = &n->disk.cur;
    c->n = upper(c->log, c->n, zxid);
    dop_t op = {0};
    op.type = OP_TRUNC;
    op.zxid = zxid;
    op.token = token;
    enqueue(s, n, STREAM_LOG, &op);
    return 0;
}

int disk_epochs(sim_t *s, node_t *n, uint32_t acc, uint32_t cur,
                uint64_t token)
{
    n->disk.cur.acc = acc;
    n->disk.cur.cur = cur;
    dop_t op = {0};
    op.type = OP_EPOCHS;
    op.acc = acc;
    op.cur = cur;
    op.token = token;
    enqueue(s, n, STREAM_EPOCHS, &op);
    return 0;
}

int disk_install(sim_t *s, node_t *n, snap_t *snap, uint64_t token)
{
    view_t *c = &n->disk.cur;
    free(c->log);
    c->log = NULL;
    c->n = c->cap = 0;
    snap_unref(c->snap);
    c->snap = snap_ref(snap);
    dop_t op = {0};
    op.type = OP_INSTALL;
    op.zxid = snap->zxid;
    op.snap = snap; /* the caller's reference */
    op.token = token;
    enqueue(s, n, STREAM_LOG, &op);
    return 0;
}

/* ---- completion ------------------------------------------------------------------- */

static int snap_holds(const snap_t *sn, const logent_t *e)
{
    if (sn == NULL || e->zxid > sn->zxid) {
        return 0;
    }
    size_t i = upper(sn->ents, sn->n, e->zxid);
    return i > 0 && sn->ents[i - 1].zxid == e->zxid &&
           sn->ents[i - 1].rec == e->rec;
}

/* Applies a write to the durable view; returns the trap bits it matches. */
static uint32_t apply(sim_t *s, node_t *n, dop_t *op)
{
    char z1[24], z2[24];
    disk_t *d = &n->disk;
    view_t *v = &d->dur;
    switch (op->type) {
    case OP_APPEND:
        view_push(v, op->zxid, op->rec);
        chk_hold(s, n, op->rec);
        if (s->journal) {
            undo_t *u = journal_push(s, d, OP_APPEND);
            u->ent.zxid = op->zxid;
            u->ent.rec = op->rec;
        }
        return TRAP_LOG;
    case OP_TRUNC: {
        if (v->snap != NULL && op->zxid < v->snap->zxid) {
            chk_violation(s, "committed is forever",
                          "n%u truncated its log to %s, below its snapshot "
                          "at %s",
                          n->id, sim_zxid_str(op->zxid, z1),
                          sim_zxid_str(v->snap->zxid, z2));
        }
        size_t k = upper(v->log, v->n, op->zxid);
        for (size_t i = v->n; i > k; i--) {
            chk_unhold(s, n, v->log[i - 1].rec, "truncation");
        }
        if (s->journal) {
            undo_t *u = journal_push(s, d, OP_TRUNC);
            u->n = v->n - k;
            if (u->n > 0) {
                u->ents = sim_alloc(u->n * sizeof(logent_t));
                memcpy(u->ents, v->log + k, u->n * sizeof(logent_t));
            }
        }
        v->n = k;
        return TRAP_LOG;
    }
    case OP_INSTALL: {
        snap_t *sn = op->snap;
        op->snap = NULL;
        for (uint32_t i = 0; i < sn->n; i++) {
            chk_hold(s, n, sn->ents[i].rec);
        }
        for (size_t i = 0; i < v->n; i++) {
            if (!snap_holds(sn, &v->log[i])) {
                chk_unhold(s, n, v->log[i].rec, "snapshot install");
            }
        }
        if (v->snap != NULL) {
            for (uint32_t i = 0; i < v->snap->n; i++) {
                if (!snap_holds(sn, &v->snap->ents[i])) {
                    chk_unhold(s, n, v->snap->ents[i].rec,
                               "snapshot install");
                }
            }
        }
        if (s->journal) {
            undo_t *u = journal_push(s, d, OP_INSTALL);
            u->ents = v->log;
            u->n = v->n;
            u->snap = v->snap;
        } else {
            free(v->log);
            snap_unref(v->snap);
        }
        v->log = NULL;
        v->n = v->cap = 0;
        v->snap = sn;
        return TRAP_LOG;
    }
    case OP_EPOCHS: {
        uint32_t traps = 0;
        chk_on_epochs(s, n, v->acc, v->cur, op->acc, op->cur);
        if (s->journal) {
            undo_t *u = journal_push(s, d, OP_EPOCHS);
            u->acc = v->acc;
            u->cur = v->cur;
        }
        if (op->acc != v->acc) {
            traps |= TRAP_ACCEPTED;
        }
        if (op->cur != v->cur) {
            traps |= TRAP_CURRENT;
        }
        v->acc = op->acc;
        v->cur = op->cur;
        if (traps & TRAP_CURRENT) {
            chk_epoch_durable(s, n);
        }
        return traps;
    }
    default:
        return 0;
    }
}

void disk_on_event(sim_t *s, const ev_t *ev)
{
    node_t *n = sim_node(s, ev->a);
    int st = ev->b;
    disk_t *d = &n->disk;
    if (!n->live || ev->gen != d->ev_gen[st] || d->stalled[st]) {
        return; /* stale, or a stall: disk_resume kicks the stream again */
    }
    uint32_t inc = n->inc;
    uint64_t token = 0;
    /* Bounded: each pass removes one write, and writes issued meanwhile
     * are due strictly later unless fsync MIN is 0. */
    for (int guard = 0; guard < 1000000; guard++) {
        dop_t *h = dq_head(&d->q[st]);
        if (h == NULL || h->due > s->now) {
            break;
        }
        dop_t op = *h;
        dq_pop(&d->q[st]);
        uint32_t traps = apply(s, n, &op);
        snap_unref(op.snap);
        if (traps & n->trap_durable) {
            n->trap_durable &= ~(traps & n->trap_durable);
            host_crash(s, n->id, "trap: on durable write");
            return;
        }
        token = op.token;
        dop_t *next = dq_head(&d->q[st]);
        /* Cumulative mode confirms a run of due writes with its last
         * token only, as a group-committing host does. */
        if (!s->cumulative || next == NULL || next->due > s->now) {
            host_persisted(s, n->id, token);
            token = 0;
            if (!n->live || n->inc != inc) {
                return;
            }
        }
    }
    kick(s, n, st);
}

void disk_stall(sim_t *s, node_t *n, int mask)
{
    (void)s;
    if (mask & 1) {
        n->disk.stalled[STREAM_LOG] = 1;
    }
    if (mask & 2) {
        n->disk.stalled[STREAM_EPOCHS] = 1;
    }
}

void disk_resume(sim_t *s, node_t *n)
{
    for (int st = 0; st < 2; st++) {
        if (n->disk.stalled[st]) {
            n->disk.stalled[st] = 0;
            if (n->live) {
                kick(s, n, st);
            }
        }
    }
}

/* ---- host log compaction ----------------------------------------------------------- */

void disk_compact(sim_t *s, node_t *n)
{
    disk_t *d = &n->disk;
    if (s->log_window == 0 || d->dur.n <= s->log_window || n->nd == 0 ||
        d->cur.snap != d->dur.snap) {
        return; /* nothing to do, or an install is on its way */
    }
    uint64_t z = s->recs[n->d[n->nd - 1]].zxid;
    size_t k = upper(d->dur.log, d->dur.n, z);
    if (k == 0 || z > view_last(&d->dur)) {
        return;
    }
    snap_t *sn = snap_new(s, n->d, n->nd, n->hash);
    char zs[24];
    tr_note(s, n->id, "host snapshot at %s, log compacted",
            sim_zxid_str(z, zs));
    if (s->journal) {
        undo_t *u = journal_push(s, d, OP_COMPACT);
        u->n = k;
        u->ents = sim_alloc(k * sizeof(logent_t));
        memcpy(u->ents, d->dur.log, k * sizeof(logent_t));
        u->snap = d->dur.snap; /* the durable view's reference moves here */
    } else {
        snap_unref(d->dur.snap);
    }
    view_drop_prefix(&d->dur, k);
    d->dur.snap = snap_ref(sn);
    view_drop_prefix(&d->cur, upper(d->cur.log, d->cur.n, z));
    snap_unref(d->cur.snap);
    d->cur.snap = sn;
}

/* ---- crash ------------------------------------------------------------------------- */

/* Whether losing log entry `e` at a crash makes a safety loss possible:
 * the entry is committed, or the node acknowledged it (a leader may count
 * that ACK), or the node led meanwhile (a leader counts itself).  Other
 * holders do not make the loss harmless: the node's durable currentEpoch
 * still vouches for the history it acknowledged, so with the entry gone
 * it can win an election on a higher epoch and truncate the others (seed
 * 11956 found this). */
static int loss_matters(sim_t *s, node_t *n, const logent_t *e,
                        uint64_t since)
{
    if (!n->voter) {
        return 0; /* observers never count */
    }
    int counted = s->recs[e->rec].qd || e->zxid <= n->max_acked ||
                  n->role == ZAB_LEADING ||
                  (n->led_until != 0 && n->led_until >= since);
    return counted;
}

static int undo_matters(sim_t *s, node_t *n, const disk_t *d, size_t first,
                        uint64_t since)
{
    if (!n->voter) {
        return 0;
    }
    for (size_t i = d->nundo; i > first; i--) {
        const undo_t *u = &d->undo[i - 1];
        switch (u->type) {
        case OP_APPEND:
            if (loss_matters(s, n, &u->ent, since)) {
                return 1;
            }
            break;
        case OP_COMPACT:
            break; /* entries move between log and snapshot: nothing lost */
        case OP_EPOCHS:
            /* A voter that forgets an epoch it acknowledged may ack a
             * second leader of that epoch. */
            if (u->acc != d->dur.acc || u->cur != d->dur.cur) {
                return 1;
            }
            break;
        default: /* an undone truncation or install resurrects a tail */
            return 1;
        }
    }
    return 0;
}

static void undo_apply(disk_t *d, size_t first)
{
    view_t *v = &d->dur;
    for (size_t i = d->nundo; i > first; i--) {
        undo_t *u = &d->undo[i - 1];
        switch (u->type) {
        case OP_APPEND:
            if (v->n > 0) {
                v->n--;
            }
            break;
        case OP_TRUNC:
            for (size_t k = 0; k < u->n; k++) {
                view_push(v, u->ents[k].zxid, u->ents[k].rec);
            }
            break;
        case OP_INSTALL:
            free(v->log);
            snap_unref(v->snap);
            v->log = u->ents;
            v->n = v->cap = u->n;
            v->snap = u->snap;
            u->ents = NULL;
            u->snap = NULL;
            break;
        case OP_COMPACT: {
            logent_t *log = sim_alloc((u->n + v->n + 1) * sizeof(logent_t));
            memcpy(log, u->ents, u->n * sizeof(logent_t));
            if (v->n > 0) {
                memcpy(log + u->n, v->log, v->n * sizeof(logent_t));
            }
            free(v->log);
            v->log = log;
            v->n = v->cap = u->n + v->n;
            snap_unref(v->snap);
            v->snap = u->snap;
            u->snap = NULL;
            break;
        }
        case OP_EPOCHS:
            v->acc = u->acc;
            v->cur = u->cur;
            break;
        default:
            break;
        }
    }
}

static void compromise(sim_t *s, node_t *n, const char *what)
{
    if (s->random_mode) {
        return;
    }
    if (!s->compromised) {
        tr_story(s, n->id,
                 "%s undid writes already acknowledged: the safety checks "
                 "now excuse what follows",
                 what);
    }
    s->compromised = 1;
}

void disk_crash(sim_t *s, node_t *n)
{
    disk_t *d = &n->disk;
    for (int st = 0; st < 2; st++) {
        dq_clear(&d->q[st]);
        d->stalled[st] = 0;
        d->ev_gen[st]++;
        d->last_due[st] = 0;
    }
    free(d->in_buf);
    d->in_buf = NULL;
    int changed = 0;
    uint64_t since = s->now > s->fsync_max ? s->now - s->fsync_max : 0;
    if (d->lose) {
        size_t first = d->uhead;
        while (first < d->nundo && d->undo[first].t < since) {
            first++;
        }
        if (first < d->nundo) {
            int matters = undo_matters(s, n, d, first, since);
            if (matters && s->random_mode) {
                /* Random runs keep every check meaningful: a lie that
                 * would make a loss unavoidable becomes a plain crash. */
                s->tot.lies_downgraded++;
                tr_note(s, n->id, "disk lose downgraded to a clean crash");
            } else {
                tr_story(s, n->id, "lying disk: %zu completed writes undone",
                         d->nundo - first);
                undo_apply(d, first);
                changed = 1;
                s->tot.lies++;
                if (matters) {
                    compromise(s, n, "disk lose");
                }
            }
        }
    }
    if (d->torn && d->dur.n > 0) {
        /* since = 1: a node that ever led may have counted the record. */
        int matters = loss_matters(s, n, &d->dur.log[d->dur.n - 1], 1);
        if (matters && s->random_mode) {
            s->tot.lies_downgraded++;
            tr_note(s, n->id, "torn write downgraded to a clean crash");
        } else {
            char z[24];
            tr_story(s, n->id, "torn last record %s dropped at recovery",
                     sim_zxid_str(d->dur.log[d->dur.n - 1].zxid, z));
            d->dur.n--;
            changed = 1;
            s->tot.lies++;
            if (matters) {
                compromise(s, n, "disk torn");
            }
        }
    }
    d->lose = 0;
    d->torn = 0;
    journal_clear(d);
    if (changed) {
        n->lied = 1;
        chk_rehold(s, n);
    }
    view_copy(&d->cur, &d->dur);
}
