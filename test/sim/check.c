/*
 * check.c -- the ghost history and the invariants (see check.h and
 * shared/design/INVARIANTS.md; the numbers below are that file's).
 *
 * Every delivered sequence D(n) must be a prefix of one global sequence G,
 * so agreement is checked in O(1) per delivery: position i of D(n) must be
 * G[i], and a delivery past the end of G extends G (after the order and
 * integrity checks).  G is what "the history" means for snapshots too.
 */
#include "check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "host.h"
#include "net.h"
#include "trace.h"

/* ---- reporting --------------------------------------------------------- */

static void report(sim_t *s, const char *head, const char *msg)
{
    printf("%s: %s\n", head, msg);
    printf("  at step %" PRIu64 ", t=%" PRIu64 " ms, seed %" PRIu64 "\n",
           s->steps, s->now, s->seed);
    if (s->replay != NULL) {
        printf("  replay: %s\n", s->replay);
    }
    printf("  last events:\n");
    tr_dump(s, stdout, 60);
    fflush(stdout);
}

int chk_violation(sim_t *s, const char *name, const char *fmt, ...)
{
    char msg[512], head[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (s->compromised) {
        /* A lying disk lost acknowledged writes: ZAB cannot promise this
         * any more, so the checker only notes it. */
        s->tot.excused++;
        tr_note(s, 0, "EXCUSED (disk lose) %s: %s", name, msg);
        return 0;
    }
    if (s->failed) {
        return 0; /* the first report is the one that matters */
    }
    s->failed = 1;
    s->tot.violations++;
    snprintf(head, sizeof(head), "VIOLATION %s", name);
    report(s, head, msg);
    return 0;
}

void chk_fail(sim_t *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (s->failed) {
        return;
    }
    s->failed = 1;
    s->tot.failures++;
    report(s, "FAIL", msg);
}

/* ---- transactions and broadcasts ------------------------------------------ */

#define ARENA_CHUNK 65536

static char *arena_copy(sim_t *s, const void *data, size_t len)
{
    if (len + 1 > ARENA_CHUNK) {
        char *p = sim_alloc(len + 1); /* oversized: a chunk of its own */
        s->arena = sim_grow(s->arena, &s->caparena, s->narena + 1,
                            sizeof(char *));
        s->arena[s->narena++] = p;
        memcpy(p, data, len);
        p[len] = '\0';
        s->arena_used = ARENA_CHUNK; /* force a new chunk next time */
        return p;
    }
    if (s->narena == 0 || s->arena_used + len + 1 > ARENA_CHUNK) {
        s->arena = sim_grow(s->arena, &s->caparena, s->narena + 1,
                            sizeof(char *));
        s->arena[s->narena++] = sim_alloc(ARENA_CHUNK);
        s->arena_used = 0;
    }
    char *p = s->arena[s->narena - 1] + s->arena_used;
    memcpy(p, data, len);
    p[len] = '\0';
    s->arena_used += len + 1;
    return p;
}

static uint64_t fnv(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static uint32_t add_tx(sim_t *s, const void *data, size_t len, int bogus)
{
    s->txs = sim_grow(s->txs, &s->captx, s->ntx + 1, sizeof(tx_t));
    tx_t *t = &s->txs[s->ntx];
    t->payload = arena_copy(s, data, len);
    t->len = (uint32_t)len;
    t->bogus = (uint8_t)bogus;
    t->hash = fnv(data, len);
    t->gpos = -1;
    return (uint32_t)s->ntx++;
}

uint32_t chk_new_tx(sim_t *s)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "tx-%zu", s->ntx);
    return add_tx(s, buf, (size_t)n, 0);
}

uint32_t chk_intern(sim_t *s, const void *data, size_t len)
{
    const char *p = data;
    if (len > 3 && len < 24 && memcmp(p, "tx-", 3) == 0) {
        uint64_t id = 0;
        size_t i = 3;
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            id = id * 10 + (uint64_t)(p[i] - '0');
            i++;
        }
        if (i == len && id < s->ntx && !s->txs[id].bogus &&
            s->txs[id].len == len && memcmp(s->txs[id].payload, p, len) == 0) {
            return (uint32_t)id;
        }
    }
    return add_tx(s, data, len, 1);
}

static size_t zslot(uint64_t zxid, size_t cap)
{
    return (size_t)(rng_mix(zxid) & (cap - 1));
}

int64_t chk_find(const sim_t *s, uint64_t zxid)
{
    if (s->idxcap == 0) {
        return -1;
    }
    for (size_t i = zslot(zxid, s->idxcap);; i = (i + 1) & (s->idxcap - 1)) {
        uint32_t v = s->idx[i];
        if (v == 0) {
            return -1;
        }
        if (s->recs[v - 1].zxid == zxid) {
            return (int64_t)v - 1;
        }
    }
}

static void idx_insert(sim_t *s, uint32_t rec)
{
    size_t i = zslot(s->recs[rec].zxid, s->idxcap);
    while (s->idx[i] != 0) {
        i = (i + 1) & (s->idxcap - 1);
    }
    s->idx[i] = rec + 1;
}

static uint32_t new_rec(sim_t *s, uint64_t zxid, uint32_t tx)
{
    if ((s->nrec + 1) * 2 > s->idxcap) {
        size_t cap = s->idxcap ? s->idxcap * 2 : 1024;
        free(s->idx);
        s->idx = sim_alloc(cap * sizeof(uint32_t));
        memset(s->idx, 0, cap * sizeof(uint32_t));
        s->idxcap = cap;
        for (size_t r = 0; r < s->nrec; r++) {
            idx_insert(s, (uint32_t)r);
        }
    }
    s->recs = sim_grow(s->recs, &s->caprec, s->nrec + 1, sizeof(rec_t));
    rec_t *r = &s->recs[s->nrec];
    r->zxid = zxid;
    r->tx = tx;
    r->qd = 0;
    r->holders = 0;
    r->acked = 0;
    idx_insert(s, (uint32_t)s->nrec);
    return (uint32_t)s->nrec++;
}

void chk_init(sim_t *s)
{
    (void)s; /* every field starts zeroed */
}

void chk_free(sim_t *s)
{
    for (size_t i = 0; i < s->narena; i++) {
        free(s->arena[i]);
    }
    free(s->arena);
    free(s->txs);
    free(s->recs);
    free(s->idx);
    free(s->qdl);
    free(s->g);
    free(s->gh);
    for (size_t e = 0; e < s->nepochs; e++) {
        free(s->epochs[e].hist);
    }
    free(s->epochs);
}

/* Registers "leader n broadcast (zxid, tx)" (7: a zxid names one value;
 * 6: nobody but the epoch's leader broadcasts in it). */
static int64_t broadcast(sim_t *s, node_t *n, uint64_t zxid, uint32_t tx)
{
    char z[24];
    int64_t r = chk_find(s, zxid);
    if (r >= 0) {
        if (s->recs[r].tx != tx) {
            chk_violation(s, "a zxid names one value",
                          "n%u broadcast %s=%s, but %s was broadcast as %s",
                          n->id, sim_zxid_str(zxid, z), s->txs[tx].payload,
                          s->txs[s->recs[r].tx].payload, z);
            return -1;
        }
        return r;
    }
    uint32_t e = ZAB_ZXID_EPOCH(zxid);
    if (e == 0 || ZAB_ZXID_COUNTER(zxid) == 0) {
        chk_violation(s, "zxid numbering",
                      "n%u broadcast zxid %s (epochs and counters start at 1)",
                      n->id, sim_zxid_str(zxid, z));
        return -1;
    }
    if (s->txs[tx].bogus) {
        chk_violation(s, "integrity",
                      "n%u broadcast %s with a payload no client proposed",
                      n->id, sim_zxid_str(zxid, z));
        return -1;
    }
    if (e < s->nepochs && s->epochs[e].leader != 0 &&
        s->epochs[e].leader != n->id) {
        chk_violation(s, "one leader per epoch",
                      "n%u broadcast %s in epoch %u, established by n%u",
                      n->id, sim_zxid_str(zxid, z), e, s->epochs[e].leader);
        return -1;
    }
    return new_rec(s, zxid, tx);
}

/* ---- durable holdings -------------------------------------------------------- */

/* A transaction becomes committed once a voter quorum has acknowledged
 * it while holding it durably (SCENARIOS.md: "a transaction acknowledged
 * by a quorum"): a follower acknowledges with ACK or ACKNEWLEADER covering
 * it, a leader by holding it durably while its currentEpoch is durable
 * (it counts its own vote).  Merely holding it is not enough: a learner
 * that logged a history whose epoch was never established acknowledged
 * nothing, and the next leader may rightly truncate what it holds. */
static void recheck_qd(sim_t *s, uint32_t rec)
{
    rec_t *r = &s->recs[rec];
    if (r->qd) {
        return;
    }
    uint32_t count = 0;
    uint64_t h = r->holders & r->acked & s->voter_mask;
    for (uint32_t id = 1; h != 0 && id <= s->nv; id++) {
        if (h & NODE_BIT(id)) {
            count++;
        }
    }
    if (count >= s->quorum) {
        r->qd = 1;
        s->qdl = sim_grow(s->qdl, &s->capqd, s->nqd + 1, sizeof(uint32_t));
        s->qdl[s->nqd++] = rec;
    }
}

/* Marks the entries of n's durable state up to `upto` as acknowledged by
 * n.  n->ack_mark is the highest zxid n acknowledged and still holds
 * everything up to (truncations lower it), so an ACK only walks the
 * entries above it; a `whole` walk (a leader establishing its epoch,
 * which is rare) covers everything, since a leader's own acknowledgements
 * can leave holes (writes that became durable after it stepped down). */
static void ack_upto(sim_t *s, node_t *n, uint64_t upto, int whole)
{
    if (!n->voter) {
        return;
    }
    uint64_t bit = NODE_BIT(n->id);
    uint64_t floor = whole ? 0 : n->ack_mark;
    const view_t *v = &n->disk.dur;
    for (size_t i = v->n; i > 0; i--) {
        rec_t *r = &s->recs[v->log[i - 1].rec];
        if (r->zxid <= floor) {
            break;
        }
        if (r->zxid <= upto) {
            r->acked |= bit;
            recheck_qd(s, v->log[i - 1].rec);
        }
    }
    if (v->snap != NULL) {
        for (uint32_t i = v->snap->n; i > 0; i--) {
            rec_t *r = &s->recs[v->snap->ents[i - 1].rec];
            if (r->zxid <= floor) {
                break;
            }
            if (r->zxid <= upto) {
                r->acked |= bit;
                recheck_qd(s, v->snap->ents[i - 1].rec);
            }
        }
    }
    if (upto != UINT64_MAX && upto > n->ack_mark) {
        n->ack_mark = upto;
    }
}

/* A leader counts its own vote for what it holds durably once its
 * currentEpoch is durable. */
static int self_acks(const node_t *n)
{
    return n->voter && n->live && n->role == ZAB_LEADING &&
           n->epoch != 0 && n->disk.dur.cur == n->epoch;
}

void chk_hold(sim_t *s, node_t *n, uint32_t rec)
{
    rec_t *r = &s->recs[rec];
    uint64_t bit = NODE_BIT(n->id);
    if (r->holders & bit) {
        return;
    }
    r->holders |= bit;
    if (self_acks(n)) {
        r->acked |= bit;
    }
    recheck_qd(s, rec);
}

void chk_epoch_durable(sim_t *s, node_t *n)
{
    /* The node's currentEpoch grew: a leader now counts what it holds. */
    if (self_acks(n)) {
        ack_upto(s, n, UINT64_MAX, 1);
    }
}

void chk_unhold(sim_t *s, node_t *n, uint32_t rec, const char *why)
{
    char z[24];
    rec_t *r = &s->recs[rec];
    uint64_t bit = NODE_BIT(n->id);
    if (!(r->holders & bit)) {
        return;
    }
    r->holders &= ~bit;
    r->acked &= ~bit;
    if (n->ack_mark >= r->zxid) {
        n->ack_mark = r->zxid - 1; /* must acknowledge it again */
    }
    if (r->qd && why != NULL) {
        chk_violation(s, "committed is forever",
                      "n%u lost committed %s=%s from its disk by %s", n->id,
                      sim_zxid_str(r->zxid, z), s->txs[r->tx].payload, why);
    }
}

void chk_rehold(sim_t *s, node_t *n)
{
    uint64_t bit = NODE_BIT(n->id);
    n->ack_mark = 0;
    for (size_t i = 0; i < s->nrec; i++) {
        s->recs[i].holders &= ~bit;
        s->recs[i].acked &= ~bit;
    }
    const view_t *v = &n->disk.dur;
    if (v->snap != NULL) {
        for (uint32_t i = 0; i < v->snap->n; i++) {
            chk_hold(s, n, v->snap->ents[i].rec);
        }
    }
    for (size_t i = 0; i < v->n; i++) {
        chk_hold(s, n, v->log[i].rec);
    }
}

/* ---- hooks ------------------------------------------------------------------ */

static uint64_t dur_last(const node_t *n)
{
    return view_last(&n->disk.dur);
}

/* 13, synced means prefix: a learner that acknowledges NEWLEADER(e)
 * holds durably only what its leader holds, with no tail left over from
 * an abandoned epoch. */
static void synced_prefix(sim_t *s, node_t *n, uint32_t to, uint32_t e)
{
    char z[24];
    node_t *l = sim_node(s, to);
    if (l == NULL || !l->live || l->role != ZAB_LEADING || l->epoch != e) {
        return; /* not (or no longer) the leader of that epoch */
    }
    const view_t *dv = &n->disk.dur;
    for (size_t i = 0; i < dv->n; i++) {
        if (view_find(&l->disk.cur, dv->log[i].zxid) !=
            (int64_t)dv->log[i].rec) {
            chk_violation(s, "synced means prefix",
                          "n%u acknowledged NEWLEADER(epoch %u) holding %s, "
                          "which its leader n%u does not have",
                          n->id, e, sim_zxid_str(dv->log[i].zxid, z), to);
            return;
        }
    }
}

void chk_on_send(sim_t *s, node_t *n, uint32_t to, const zab__msg_t *m)
{
    char z1[24], z2[24];
    link_t *l = sim_link(s, n->id, to);
    const view_t *dv = &n->disk.dur;
    switch (m->kind) {
    case ZAB__PROPOSAL: {
        uint32_t tx = chk_intern(s, m->data, m->len);
        if (n->role == ZAB_LEADING) {
            broadcast(s, n, m->zxid, tx);
        } else {
            int64_t r = chk_find(s, m->zxid);
            if (r < 0 || s->recs[r].tx != tx) {
                chk_violation(s, "integrity",
                              "n%u (not leading) sent PROPOSAL %s=%s that no "
                              "leader broadcast",
                              n->id, sim_zxid_str(m->zxid, z1),
                              s->txs[tx].payload);
            }
        }
        if (l->trunc_seen) {
            l->trunc_seen = 0;
            s->tot.trunc_diff++;
        }
        break;
    }
    case ZAB__INFORM: {
        uint32_t tx = chk_intern(s, m->data, m->len);
        int64_t r = chk_find(s, m->zxid);
        if (r < 0 || s->recs[r].tx != tx) {
            chk_violation(s, "integrity",
                          "n%u sent INFORM %s=%s that no leader broadcast",
                          n->id, sim_zxid_str(m->zxid, z1),
                          s->txs[tx].payload);
        }
        break;
    }
    case ZAB__TRUNC:
        l->trunc_seen = 1;
        break;
    case ZAB__NEWLEADER:
        l->trunc_seen = 0;
        break;
    case ZAB__ACK: /* 10 */
        if (m->zxid > dur_last(n)) {
            chk_violation(s, "ACK implies durable",
                          "n%u sent ACK %s with its durable log ending at %s",
                          n->id, sim_zxid_str(m->zxid, z1),
                          sim_zxid_str(dur_last(n), z2));
        }
        if (m->zxid > n->max_acked) {
            n->max_acked = m->zxid;
        }
        ack_upto(s, n, m->zxid, 0);
        break;
    case ZAB__ACKNEWLEADER:
        if (dv->cur != m->epoch || m->zxid > dur_last(n)) {
            chk_violation(s, "ACK implies durable",
                          "n%u sent ACKNEWLEADER(epoch %u, %s) with durable "
                          "currentEpoch %u and log ending at %s",
                          n->id, m->epoch, sim_zxid_str(m->zxid, z1), dv->cur,
                          sim_zxid_str(dur_last(n), z2));
        }
        if (m->zxid > n->max_acked) {
            n->max_acked = m->zxid;
        }
        ack_upto(s, n, m->zxid, 0);
        synced_prefix(s, n, to, m->epoch);
        break;
    case ZAB__VOTE: /* 15 */
        if (m->state == ZAB_LOOKING && m->leader == n->id &&
            (m->zxid != dur_last(n) || m->epoch != dv->cur)) {
            chk_violation(s, "reported position is durable",
                          "n%u voted for itself with (epoch %u, %s); its disk "
                          "holds (currentEpoch %u, %s)",
                          n->id, m->epoch, sim_zxid_str(m->zxid, z1), dv->cur,
                          sim_zxid_str(dur_last(n), z2));
        }
        break;
    case ZAB__FOLLOWERINFO:
    case ZAB__OBSERVERINFO:
        if (m->epoch != dv->acc || m->zxid != dur_last(n)) {
            chk_violation(s, "reported position is durable",
                          "n%u sent %s(acceptedEpoch %u, %s); its disk holds "
                          "(%u, %s)",
                          n->id, zab__kind_name(m->kind), m->epoch,
                          sim_zxid_str(m->zxid, z1), dv->acc,
                          sim_zxid_str(dur_last(n), z2));
        }
        break;
    case ZAB__ACKEPOCH:
        if (m->zxid != dur_last(n) || (m->flags == 1 && m->epoch != dv->cur)) {
            chk_violation(s, "reported position is durable",
                          "n%u sent ACKEPOCH(flags %u, currentEpoch %u, %s); "
                          "its disk holds (currentEpoch %u, %s)",
                          n->id, m->flags, m->epoch, sim_zxid_str(m->zxid, z1),
                          dv->cur, sim_zxid_str(dur_last(n), z2));
        }
        break;
    default:
        break;
    }
}

int64_t chk_on_append(sim_t *s, node_t *n, uint64_t zxid, const void *data,
                      size_t len)
{
    char z[24];
    uint32_t tx = chk_intern(s, data, len);
    int64_t r = chk_find(s, zxid);
    if (r < 0) {
        if (n->role == ZAB_LEADING && ZAB_ZXID_EPOCH(zxid) == n->epoch) {
            return broadcast(s, n, zxid, tx); /* the leader logs first */
        }
        chk_violation(s, "integrity",
                      "n%u logged %s=%s, which no leader broadcast", n->id,
                      sim_zxid_str(zxid, z), s->txs[tx].payload);
        return -1;
    }
    if (s->recs[r].tx != tx) {
        chk_violation(s, "a zxid names one value",
                      "n%u logged %s=%s, but %s was broadcast", n->id,
                      sim_zxid_str(zxid, z), s->txs[tx].payload,
                      s->txs[s->recs[r].tx].payload);
        return -1;
    }
    return r;
}

static uint64_t state_step(uint64_t h, uint64_t zxid, uint64_t txhash)
{
    /* Not idempotent and not commutative: a missed, doubled or reordered
     * apply changes every later state. */
    return rng_mix(h ^ rng_mix(zxid ^ (txhash * 0x9e3779b97f4a7c15ull)));
}

/* Is zxid in I(e)? */
static int in_hist(const epoch_info_t *ei, uint64_t zxid)
{
    size_t lo = 0, hi = ei->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ei->hist[mid] < zxid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < ei->n && ei->hist[lo] == zxid;
}

/* Extends G with rec: integrity (once), primary order (3, 4) and primary
 * integrity (5). */
static void extend_g(sim_t *s, node_t *n, uint32_t rec, uint64_t hash)
{
    char z1[24], z2[24];
    const rec_t *r = &s->recs[rec];
    tx_t *t = &s->txs[r->tx];
    uint32_t e = ZAB_ZXID_EPOCH(r->zxid), c = ZAB_ZXID_COUNTER(r->zxid);
    if (t->gpos >= 0) {
        chk_violation(s, "integrity",
                      "n%u delivered %s as %s, already delivered as %s",
                      n->id, t->payload, sim_zxid_str(r->zxid, z1),
                      sim_zxid_str(s->recs[s->g[t->gpos]].zxid, z2));
        return;
    }
    if (s->ng > 0) {
        const rec_t *p = &s->recs[s->g[s->ng - 1]];
        uint32_t pe = ZAB_ZXID_EPOCH(p->zxid), pc = ZAB_ZXID_COUNTER(p->zxid);
        if (r->zxid <= p->zxid || (e == pe && c != pc + 1) ||
            (e != pe && c != 1)) {
            chk_violation(s, "primary order",
                          "n%u delivered %s right after %s (counters of an "
                          "epoch are contiguous from 1)",
                          n->id, sim_zxid_str(r->zxid, z1),
                          sim_zxid_str(p->zxid, z2));
            return;
        }
    } else if (c != 1) {
        chk_violation(s, "primary order",
                      "n%u delivered %s as the first transaction ever", n->id,
                      sim_zxid_str(r->zxid, z1));
        return;
    }
    for (uint32_t ne = e + 1; ne <= s->max_epoch && ne < s->nepochs; ne++) {
        const epoch_info_t *ei = &s->epochs[ne];
        if (ei->leader != 0 && !in_hist(ei, r->zxid)) {
            chk_violation(s, "primary integrity",
                          "n%u delivered %s of epoch %u, which is not in the "
                          "initial history of epoch %u (led by n%u)",
                          n->id, sim_zxid_str(r->zxid, z1), e, ne, ei->leader);
            return;
        }
    }
    s->g = sim_grow(s->g, &s->capg, s->ng + 1, sizeof(uint32_t));
    s->gh = sim_grow(s->gh, &s->capgh, s->ng + 1, sizeof(uint64_t));
    s->g[s->ng] = rec;
    s->gh[s->ng] = hash;
    t->gpos = (int64_t)s->ng;
    s->ng++;
}

void chk_on_deliver(sim_t *s, node_t *n, uint64_t zxid, const void *data,
                    size_t len)
{
    char z1[24], z2[24];
    uint32_t tx = chk_intern(s, data, len);
    int64_t r = chk_find(s, zxid);
    if (r < 0 || s->recs[r].tx != tx) {
        chk_violation(s, "integrity",
                      "n%u delivered %s=%s, which no leader broadcast", n->id,
                      sim_zxid_str(zxid, z1), s->txs[tx].payload);
        return;
    }
    tr_deliver(s, n->id, zxid, tx);
    if (s->narrate && n->role == ZAB_LEADING) {
        tr_story(s, n->id, "commits %s = %s", sim_zxid_str(zxid, z1),
                 s->txs[tx].payload);
    }
    if (!s->recs[r].qd) {
        chk_violation(s, "delivers only committed",
                      "n%u delivered %s=%s while no voter quorum held it "
                      "durably",
                      n->id, sim_zxid_str(zxid, z1), s->txs[tx].payload);
    }
    if (view_find(&n->disk.dur, zxid) != r) {
        chk_violation(s, "delivers only durable",
                      "n%u delivered %s, which its own disk does not hold",
                      n->id, sim_zxid_str(zxid, z1));
    }
    size_t pos = n->nd;
    if (pos > 0 && s->recs[n->d[pos - 1]].zxid >= zxid) {
        chk_violation(s, "primary order", "n%u delivered %s after %s", n->id,
                      sim_zxid_str(zxid, z1),
                      sim_zxid_str(s->recs[n->d[pos - 1]].zxid, z2));
        return;
    }
    uint64_t h = state_step(n->hash, zxid, s->txs[tx].hash);
    if (pos < s->ng) {
        if (s->g[pos] != (uint32_t)r) { /* 2 */
            chk_violation(s, "agreement",
                          "n%u delivered %s=%s at position %zu where %s=%s "
                          "was delivered before",
                          n->id, sim_zxid_str(zxid, z1), s->txs[tx].payload,
                          pos + 1,
                          sim_zxid_str(s->recs[s->g[pos]].zxid, z2),
                          s->txs[s->recs[s->g[pos]].tx].payload);
            return;
        }
        if (s->gh[pos] != h) {
            chk_violation(s, "agreement",
                          "n%u state hash after %s differs from the history's",
                          n->id, sim_zxid_str(zxid, z1));
        }
    } else {
        extend_g(s, n, (uint32_t)r, h);
    }
    n->d = sim_grow(n->d, &n->capd, n->nd + 1, sizeof(uint32_t));
    n->d[n->nd++] = (uint32_t)r;
    n->hash = h;
    disk_compact(s, n);
}

void chk_set_delivered(sim_t *s, node_t *n, const snap_t *sn)
{
    (void)s;
    n->nd = 0;
    n->hash = 0;
    if (sn == NULL) {
        return;
    }
    n->d = sim_grow(n->d, &n->capd, sn->n + 1, sizeof(uint32_t));
    for (uint32_t i = 0; i < sn->n; i++) {
        n->d[i] = sn->ents[i].rec;
    }
    n->nd = sn->n;
    n->hash = sn->hash;
}

/* Epoch e is established by n: one leader per epoch (6), committed is
 * forever (11: every committed transaction is in I(e)). */
static void establish(sim_t *s, node_t *n, uint32_t e)
{
    char z[24];
    if (e == 0) {
        chk_violation(s, "epoch numbering", "n%u established epoch 0",
                      n->id);
        return;
    }
    if (e >= s->nepochs) {
        size_t ne = s->nepochs ? s->nepochs : 8;
        while (ne <= e) {
            ne *= 2;
        }
        s->epochs = realloc(s->epochs, ne * sizeof(epoch_info_t));
        if (s->epochs == NULL) {
            fprintf(stderr, "zabsim: out of memory\n");
            exit(3);
        }
        memset(s->epochs + s->nepochs, 0,
               (ne - s->nepochs) * sizeof(epoch_info_t));
        s->nepochs = ne;
    }
    epoch_info_t *ei = &s->epochs[e];
    if (ei->leader != 0) {
        if (ei->leader != n->id) {
            chk_violation(s, "one leader per epoch",
                          "n%u established epoch %u, already established by "
                          "n%u at t=%" PRIu64,
                          n->id, e, ei->leader, ei->at_ms);
        }
        return;
    }
    ei->leader = n->id;
    ei->at_ms = s->now;
    const view_t *v = &n->disk.cur;
    size_t sn = v->snap ? v->snap->n : 0;
    ei->n = sn + v->n;
    ei->hist = sim_alloc((ei->n + 1) * sizeof(uint64_t));
    for (size_t i = 0; i < sn; i++) {
        ei->hist[i] = v->snap->ents[i].zxid;
    }
    for (size_t i = 0; i < v->n; i++) {
        ei->hist[sn + i] = v->log[i].zxid;
    }
    tr_story(s, n->id, "established epoch %u (initial history ends at %s)", e,
             sim_zxid_str(view_last(v), z));
    for (size_t i = 0; i < s->nqd; i++) {
        const rec_t *r = &s->recs[s->qdl[i]];
        if (ZAB_ZXID_EPOCH(r->zxid) < e && !in_hist(ei, r->zxid)) {
            chk_violation(s, "committed is forever",
                          "n%u established epoch %u without committed %s=%s",
                          n->id, e, sim_zxid_str(r->zxid, z),
                          s->txs[r->tx].payload);
            return;
        }
    }
    /* Evidence: a leader change while the old leader held a tail that no
     * quorum had (the case TRUNC exists for). */
    uint32_t prev = 0;
    for (uint32_t pe = e - 1; pe > 0; pe--) {
        if (pe < s->nepochs && s->epochs[pe].leader != 0) {
            prev = pe;
            break;
        }
    }
    if (prev != 0 && s->epochs[prev].leader != n->id) {
        const view_t *ov = &s->nodes[s->epochs[prev].leader].disk.cur;
        for (size_t i = ov->n; i > 0; i--) {
            if (!s->recs[ov->log[i - 1].rec].qd) {
                s->tot.tail_changes++;
                break;
            }
        }
    }
    if (e >= 3 && s->max_epoch < 3) {
        s->tot.epochs3++;
    }
    if (e > s->max_epoch) {
        s->max_epoch = e;
    }
}

void chk_on_role(sim_t *s, node_t *n, int role, uint32_t leader,
                 uint32_t epoch, int serving)
{
    if (n->role == ZAB_LEADING || role == ZAB_LEADING) {
        n->led_until = s->now ? s->now : 1;
    }
    if (role != n->role || leader != n->leader || epoch != n->epoch ||
        serving != n->serving) {
        tr_story(s, n->id, "%s leader=%u epoch=%u%s", zab_role_name(role),
                 leader, epoch, serving ? " serving" : "");
    }
    n->role = role;
    n->leader = leader;
    n->epoch = epoch;
    n->serving = serving;
    if (role == ZAB_LEADING && serving) {
        establish(s, n, epoch);
        /* Its currentEpoch is durable: its own vote counts from now on. */
        if (self_acks(n)) {
            ack_upto(s, n, UINT64_MAX, 1);
        }
    }
}

void chk_on_epochs(sim_t *s, node_t *n, uint32_t oacc, uint32_t ocur,
                   uint32_t acc, uint32_t cur)
{
    if (acc < oacc || cur < ocur) { /* 8 */
        chk_violation(s, "epochs only grow",
                      "n%u made (accepted %u, current %u) durable over "
                      "(%u, %u)",
                      n->id, acc, cur, oacc, ocur);
    } else if (cur > acc) {
        chk_violation(s, "epochs only grow",
                      "n%u made currentEpoch %u durable above acceptedEpoch "
                      "%u",
                      n->id, cur, acc);
    }
}

/* ---- conditions ------------------------------------------------------------- */

uint32_t chk_leader(sim_t *s)
{
    uint32_t best = 0, best_epoch = 0;
    for (uint32_t id = 1; id <= s->nn; id++) {
        node_t *l = &s->nodes[id];
        if (!l->live || l->role != ZAB_LEADING || !l->serving) {
            continue;
        }
        uint32_t votes = l->voter ? 1 : 0;
        for (uint32_t f = 1; f <= s->nv; f++) {
            node_t *fn = &s->nodes[f];
            if (f != id && fn->live && fn->role == ZAB_FOLLOWING &&
                fn->leader == id && fn->serving) {
                votes++;
            }
        }
        if (votes >= s->quorum && (best == 0 || l->epoch > best_epoch)) {
            best = id;
            best_epoch = l->epoch;
        }
    }
    return best;
}

/* How many entries of D(n) have zxid <= z. */
static size_t d_count_le(const sim_t *s, const node_t *n, uint64_t z)
{
    size_t lo = 0, hi = n->nd;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->recs[n->d[mid]].zxid <= z) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int chk_synced(sim_t *s)
{
    uint32_t lid = chk_leader(s);
    if (lid == 0) {
        return 0;
    }
    node_t *l = &s->nodes[lid];
    uint64_t c = host_stat(s, lid, ZAB_STAT_COMMITTED_ZXID);
    if (c < host_stat(s, lid, ZAB_STAT_LAST_ZXID)) {
        return 0; /* proposals still in flight: not settled yet */
    }
    /* The leader's committed history: every transaction of its log (or
     * snapshot) up to its commit point, which it must have delivered
     * itself too (a stalled disk may hold its own deliveries back). */
    size_t k = view_count_le(&l->disk.cur, c);
    if (l->nd < k) {
        return 0;
    }
    for (uint32_t id = 1; id <= s->nn; id++) {
        node_t *n = &s->nodes[id];
        if (id == lid || !n->live || net_is_cut(s, id, lid)) {
            continue;
        }
        /* In sync: following the leader, up to date with it (serving),
         * and holding its whole committed history. */
        if (n->leader != lid || !n->serving ||
            (n->role != ZAB_FOLLOWING && n->role != ZAB_OBSERVING)) {
            return 0;
        }
        if (n->nd < k || (k > 0 && n->d[k - 1] != l->d[k - 1])) {
            return 0;
        }
    }
    return 1;
}

int chk_delivered(const sim_t *s, const node_t *n, uint64_t z)
{
    size_t k = d_count_le(s, n, z);
    return k > 0 && s->recs[n->d[k - 1]].zxid == z;
}

int chk_lost_none(sim_t *s, char *buf, size_t len)
{
    char z[24];
    for (size_t i = 0; i < s->nqd; i++) {
        const rec_t *r = &s->recs[s->qdl[i]];
        for (uint32_t id = 1; id <= s->nn; id++) {
            node_t *n = &s->nodes[id];
            if (n->live && !chk_delivered(s, n, r->zxid)) {
                snprintf(buf, len,
                         "committed %s=%s is not delivered by live n%u",
                         sim_zxid_str(r->zxid, z), s->txs[r->tx].payload, id);
                return 0;
            }
        }
    }
    return 1;
}

int chk_dropped(sim_t *s, uint64_t zxid, char *buf, size_t len)
{
    char z[24];
    sim_zxid_str(zxid, z);
    for (uint32_t id = 1; id <= s->nn; id++) {
        node_t *n = &s->nodes[id];
        if (chk_delivered(s, n, zxid)) {
            snprintf(buf, len, "%s was delivered by n%u", z, id);
            return 0;
        }
        if (view_find(&n->disk.cur, zxid) >= 0) {
            snprintf(buf, len, "%s is in n%u's log", z, id);
            return 0;
        }
    }
    int64_t r = chk_find(s, zxid);
    if (r >= 0 && s->txs[s->recs[r].tx].gpos >= 0 &&
        s->g[s->txs[s->recs[r].tx].gpos] == (uint32_t)r) {
        snprintf(buf, len, "%s was delivered by a node", z);
        return 0;
    }
    return 1;
}
