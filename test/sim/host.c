/*
 * host.c -- zab_host_ops_t of a simulated node, its boot and crash, and
 * the wrappers around every call into libzab (see host.h).
 */
#include "host.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "disk.h"
#include "net.h"
#include "trace.h"

/* ---- call frame ------------------------------------------------------------ */

static void finalize(sim_t *s, node_t *n)
{
    if (n->z == NULL) {
        return;
    }
    /* The evidence counters of a sweep come from the nodes' own stats. */
    s->tot.sync_diff += zab_stat(n->z, ZAB_STAT_SYNC_DIFF);
    s->tot.sync_trunc += zab_stat(n->z, ZAB_STAT_SYNC_TRUNC);
    s->tot.sync_snap += zab_stat(n->z, ZAB_STAT_SYNC_SNAP);
    s->tot.sync_late += zab_stat(n->z, ZAB_STAT_SYNC_LATE);
    s->tot.sync_observer += zab_stat(n->z, ZAB_STAT_SYNC_OBSERVER);
    zab_free(n->z);
    n->z = NULL;
    snap_unref(n->served);
    n->served = NULL;
}

static void enter(node_t *n)
{
    n->in_call++;
}

static void schedule_tick(sim_t *s, node_t *n)
{
    uint64_t d = 0;
    if (zab_next_deadline(n->z, &d) != 0) {
        d = s->now + 1000;
    }
    if (d <= s->now) {
        /* Right after zab_tick a deadline that is not in the future would
         * spin at one instant; a millisecond later is as good. */
        d = n->ticking ? s->now + 1 : s->now;
    }
    if (!n->tick_pending || d < n->tick_at) {
        n->tick_gen++;
        n->tick_at = d;
        n->tick_pending = 1;
        sched_push(&s->sched, d, EV_TICK, (int)n->id, 0, n->tick_gen, NULL);
    }
}

static void leave(sim_t *s, node_t *n)
{
    if (--n->in_call > 0) {
        return;
    }
    if (!n->live) {
        finalize(s, n); /* it crashed inside the call */
        return;
    }
    schedule_tick(s, n);
}

/* ---- callbacks ---------------------------------------------------------------- */

static int cb_send(void *ud, uint32_t peer, const void *frame, size_t len)
{
    node_t *n = ud;
    sim_t *s = n->sim;
    if (!n->live) {
        return -1; /* crashed inside this call: nothing leaves any more */
    }
    if (peer < 1 || peer > s->nn || peer == n->id) {
        chk_violation(s, "host contract", "n%u sent a frame to peer %u",
                      n->id, peer);
        return -1;
    }
    zab__msg_t m;
    if (zab__decode(frame, len, len, &m) != 0) {
        chk_violation(s, "wire format",
                      "n%u sent a malformed frame of %zu bytes to n%u", n->id,
                      len, peer);
        return -1;
    }
    uint32_t bit = 1u << m.kind;
    if (n->trap_send & (bit | 1u)) {
        n->trap_send &= (n->trap_send & bit) ? ~bit : ~1u;
        char why[64];
        snprintf(why, sizeof(why), "trap: on send %s", zab__kind_name(m.kind));
        host_crash(s, n->id, why);
        return -1;
    }
    chk_on_send(s, n, peer, &m);
    msg_t *mm = sim_alloc(sizeof(msg_t) + len);
    mm->len = (uint32_t)len;
    mm->kind = m.kind;
    mm->zxid = m.zxid;
    mm->epoch = m.epoch;
    mm->aux = m.kind == ZAB__VOTE ? ((uint32_t)m.state << 16 | (m.leader & 0xffffu))
                                  : m.flags;
    memcpy(mm->data, frame, len);
    return net_send(s, n->id, peer, mm);
}

static int cb_log_append(void *ud, uint64_t zxid, const void *data,
                         size_t len, uint64_t token)
{
    node_t *n = ud;
    sim_t *s = n->sim;
    if (!n->live) {
        return 0;
    }
    int64_t r = chk_on_append(s, n, zxid, data, len);
    if (r < 0) {
        return 0; /* reported; the run stops after this step */
    }
    return disk_append(s, n, zxid, (uint32_t)r, token);
}

static int cb_log_truncate(void *ud, uint64_t zxid, uint64_t token)
{
    node_t *n = ud;
    if (!n->live) {
        return 0;
    }
    char z[24];
    tr_note(n->sim, n->id, "log_truncate after %s", sim_zxid_str(zxid, z));
    return disk_truncate(n->sim, n, zxid, token);
}

static int cb_log_read(void *ud, uint64_t after, uint64_t *zxid,
                       const void **data, size_t *len)
{
    node_t *n = ud;
    sim_t *s = n->sim;
    const logent_t *e = NULL;
    int r = view_log_next(&n->disk.cur, after, &e);
    if (r == ZAB_ERANGE) {
        char z1[24], z2[24];
        tr_note(s, n->id, "log_read after %s: ERANGE (log starts after %s)",
                sim_zxid_str(after, z1),
                sim_zxid_str(n->disk.cur.snap->zxid, z2));
    }
    if (r != 0) {
        return r;
    }
    const tx_t *t = &s->txs[s->recs[e->rec].tx];
    *zxid = e->zxid;
    *data = t->payload; /* the arena never moves */
    *len = t->len;
    return 0;
}

static int cb_save_epochs(void *ud, uint32_t acc, uint32_t cur,
                          uint64_t token)
{
    node_t *n = ud;
    if (!n->live) {
        return 0;
    }
    return disk_epochs(n->sim, n, acc, cur, token);
}

static int cb_snapshot_get(void *ud, uint64_t min_zxid, uint64_t *zxid,
                           const void **data, size_t *len)
{
    node_t *n = ud;
    sim_t *s = n->sim;
    uint64_t delivered = n->nd ? s->recs[n->d[n->nd - 1]].zxid : 0;
    snap_t *sn = n->disk.cur.snap;
    /* The kept snapshot if it is recent enough, else a fresh one of the
     * delivered state (which libzab refuses if even that is too old). */
    if (sn != NULL && sn->zxid <= delivered && sn->zxid >= min_zxid) {
        snap_ref(sn);
    } else {
        sn = snap_new(s, n->d, n->nd, n->hash);
    }
    /* Kept until the next call: a compaction during this libzab call must
     * not free the bytes libzab is reading. */
    snap_unref(n->served);
    n->served = sn;
    *zxid = sn->zxid;
    *data = snap_bytes(s, sn, len);
    char z[24];
    tr_note(s, n->id, "snapshot_get: %s, %zu bytes", sim_zxid_str(sn->zxid, z),
            *len);
    return 0;
}

static int cb_snapshot_put(void *ud, uint64_t zxid, uint64_t offset,
                           uint64_t total, const void *chunk, size_t len,
                           uint64_t token)
{
    node_t *n = ud;
    sim_t *s = n->sim;
    disk_t *d = &n->disk;
    char z[24], err[256];
    if (!n->live) {
        return 0;
    }
    if (offset == 0) {
        free(d->in_buf);
        d->in_buf = sim_alloc(total ? total : 1);
        d->in_zxid = zxid;
        d->in_total = total;
        d->in_got = 0;
    } else if (d->in_buf == NULL || zxid != d->in_zxid ||
               total != d->in_total || offset != d->in_got) {
        chk_violation(s, "host contract",
                      "n%u got snapshot chunk %s@%llu/%llu out of order", n->id,
                      sim_zxid_str(zxid, z), (unsigned long long)offset,
                      (unsigned long long)total);
        return ZAB_EINVAL;
    }
    if (len > total - offset) {
        chk_violation(s, "host contract",
                      "n%u got a snapshot chunk past its end", n->id);
        return ZAB_EINVAL;
    }
    if (len > 0) {
        memcpy(d->in_buf + offset, chunk, len);
    }
    d->in_got += len;
    if (token == 0) {
        return 0;
    }
    if (d->in_got != d->in_total) {
        chk_violation(s, "host contract",
                      "n%u asked to install snapshot %s after %llu of %llu "
                      "bytes",
                      n->id, sim_zxid_str(zxid, z),
                      (unsigned long long)d->in_got,
                      (unsigned long long)d->in_total);
        return ZAB_EINVAL;
    }
    snap_t *sn = snap_parse(s, d->in_buf, d->in_total, zxid, err, sizeof(err));
    free(d->in_buf);
    d->in_buf = NULL;
    if (sn == NULL) {
        chk_violation(s, "snapshots are honest", "n%u received snapshot %s: %s",
                      n->id, sim_zxid_str(zxid, z), err);
        return ZAB_EINVAL;
    }
    tr_story(s, n->id, "installs snapshot at %s (%u transactions)",
             sim_zxid_str(zxid, z), sn->n);
    /* The host's state becomes the snapshot's at once; its log empties
     * once the install is durable. */
    chk_set_delivered(s, n, sn);
    return disk_install(s, n, sn, token);
}

static void cb_deliver(void *ud, uint64_t zxid, const void *data, size_t len)
{
    node_t *n = ud;
    if (n->live) {
        chk_on_deliver(n->sim, n, zxid, data, len);
    }
}

static void cb_role_change(void *ud, zab_role_t role, uint32_t leader,
                           uint32_t epoch, int serving)
{
    node_t *n = ud;
    if (n->live) {
        chk_on_role(n->sim, n, (int)role, leader, epoch, serving);
    }
}

static void cb_barrier_done(void *ud, uint64_t cookie, int status)
{
    node_t *n = ud;
    tr_note(n->sim, n->id, "barrier %llu done: %s",
            (unsigned long long)cookie, zab_err_name(status));
}

static void cb_trace(void *ud, int level, const char *line)
{
    node_t *n = ud;
    tr_lib(n->sim, n->id, level, line);
}

/* ---- life ------------------------------------------------------------------------ */

static zab_config_t *make_config(sim_t *s, uint32_t id)
{
    zab_config_t *cfg = NULL;
    if (zab_config_new(&cfg) != 0) {
        return NULL;
    }
    int r = zab_config_set_id(cfg, id);
    for (uint32_t v = 1; v <= s->nv && r == 0; v++) {
        r = zab_config_add_voter(cfg, v);
    }
    for (uint32_t o = s->nv + 1; o <= s->nn && r == 0; o++) {
        if (o == id || !(s->absent & NODE_BIT(o))) {
            r = zab_config_add_observer(cfg, o);
        }
    }
    for (int i = 0; i < s->nopts && r == 0; i++) {
        r = zab_config_set(cfg, s->opts[i].option, s->opts[i].value);
    }
    if (r != 0) {
        chk_fail(s, "configuring n%u: %s", id, zab_strerror(r));
        zab_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void host_set_observer(sim_t *s, uint32_t o, int present)
{
    if (present == !(s->absent & NODE_BIT(o))) {
        return;
    }
    tr_note(s, o, "membership: observer n%u %s", o,
            present ? "added" : "removed");
    if (present) {
        s->absent &= ~NODE_BIT(o);
    } else {
        s->absent |= NODE_BIT(o);
    }
    for (uint32_t id = 1; id <= s->nn && !s->failed; id++) {
        node_t *n = &s->nodes[id];
        if (id == o || !n->live) {
            continue;
        }
        enter(n);
        int r = present ? zab_add_observer(n->z, o)
                        : zab_remove_observer(n->z, o);
        leave(s, n);
        if (r != 0) {
            chk_fail(s, "zab_%s_observer(n%u, %u): %s",
                     present ? "add" : "remove", id, o, zab_strerror(r));
        }
    }
    if (present) {
        net_node_up(s, o);
    } else {
        for (uint32_t id = 1; id <= s->nn; id++) {
            if (id != o) {
                net_break(s, id, o, "observer removed");
            }
        }
    }
}

int host_boot(sim_t *s, uint32_t id)
{
    char z1[24], z2[24];
    node_t *n = sim_node(s, id);
    if (n == NULL || n->live) {
        return 0;
    }
    zab_host_ops_t ops;
    memset(&ops, 0, sizeof(ops));
    ops.version = ZAB_HOST_OPS_VERSION;
    ops.send = cb_send;
    ops.log_append = cb_log_append;
    ops.log_truncate = cb_log_truncate;
    ops.log_read = cb_log_read;
    ops.save_epochs = cb_save_epochs;
    ops.snapshot_get = cb_snapshot_get;
    ops.snapshot_put = cb_snapshot_put;
    ops.deliver = cb_deliver;
    ops.role_change = cb_role_change;
    ops.barrier_done = cb_barrier_done;
    ops.trace = s->trace ? cb_trace : NULL; /* formatting costs */
    zab_config_t *cfg = make_config(s, id);
    if (cfg == NULL) {
        return -1;
    }
    int r = zab_new(cfg, &ops, n, &n->z);
    zab_config_free(cfg);
    if (r != 0) {
        chk_fail(s, "zab_new for n%u: %s", id, zab_strerror(r));
        n->z = NULL;
        return -1;
    }
    const view_t *dv = &n->disk.dur;
    uint64_t last = view_last(dv);
    uint64_t delivered = dv->snap ? dv->snap->zxid : 0;
    n->inc++;
    n->live = 1;
    n->booted = 1;
    n->role = ZAB_LOOKING;
    n->leader = 0;
    n->epoch = 0;
    n->serving = 0;
    n->max_acked = 0;
    n->tick_pending = 0;
    /* The host's state restarts from its snapshot; libzab delivers again
     * what follows, and the checker compares each re-delivery with what
     * was delivered at that position before. */
    chk_set_delivered(s, n, dv->snap);
    tr_story(s, id, "boots (accepted %u, current %u, last %s, snapshot %s)",
             dv->acc, dv->cur, sim_zxid_str(last, z1),
             sim_zxid_str(delivered, z2));
    enter(n);
    r = zab_start(n->z, dv->acc, dv->cur, last, delivered, s->now);
    if (r != 0) {
        n->live = 0;
        n->role = -1;
        leave(s, n);
        if (n->lied) {
            tr_story(s, id, "refuses to start after its disk lied: %s",
                     zab_strerror(r));
        } else {
            chk_fail(s, "n%u refused to start from a consistent disk: %s",
                     id, zab_strerror(r));
        }
        return -1;
    }
    leave(s, n);
    if (n->live) {
        net_node_up(s, id);
    }
    return 0;
}

void host_crash(sim_t *s, uint32_t id, const char *why)
{
    node_t *n = sim_node(s, id);
    if (n == NULL || !n->live) {
        return;
    }
    tr_story(s, id, "crashes (%s)", why);
    disk_crash(s, n); /* reads the role: a leader's losses always matter */
    if (n->role == ZAB_LEADING) {
        n->led_until = s->now ? s->now : 1;
    }
    n->live = 0;
    n->role = -1;
    n->leader = 0;
    n->serving = 0;
    n->inc++;
    n->tick_pending = 0;
    n->tick_gen++;
    net_node_down(s, id);
    if (n->in_call == 0) {
        finalize(s, n);
    }
}

void host_free_all(sim_t *s)
{
    for (uint32_t id = 1; id <= s->nn; id++) {
        node_t *n = &s->nodes[id];
        finalize(s, n);
        disk_free(n);
        free(n->d);
        n->d = NULL;
    }
}

/* ---- calls -------------------------------------------------------------------------- */

void host_recv(sim_t *s, uint32_t id, uint32_t from, const msg_t *m)
{
    node_t *n = sim_node(s, id);
    if (!n->live) {
        return;
    }
    tr_msg(s, TR_RECV, id, from, m);
    enter(n);
    int r = zab_recv(n->z, from, m->data, m->len);
    leave(s, n);
    if (r == ZAB_EPROTO) {
        /* The contract: close a connection that carried an illegal frame. */
        s->tot.eproto++;
        tr_note(s, id, "zab_recv from n%u: EPROTO, closing", from);
        net_break(s, id, from, "EPROTO");
    } else if (r != 0) {
        tr_note(s, id, "zab_recv from n%u: %s", from, zab_err_name(r));
    }
}

void host_peer_up(sim_t *s, uint32_t id, uint32_t peer)
{
    node_t *n = sim_node(s, id);
    if (!n->live) {
        return;
    }
    enter(n);
    zab_peer_up(n->z, peer);
    leave(s, n);
}

void host_peer_down(sim_t *s, uint32_t id, uint32_t peer)
{
    node_t *n = sim_node(s, id);
    if (!n->live) {
        return;
    }
    enter(n);
    zab_peer_down(n->z, peer);
    leave(s, n);
}

void host_on_tick(sim_t *s, const ev_t *ev)
{
    node_t *n = sim_node(s, ev->a);
    if (!n->live || ev->gen != n->tick_gen) {
        return;
    }
    n->tick_pending = 0;
    n->ticking = 1;
    enter(n);
    zab_tick(n->z, s->now);
    leave(s, n);
    n->ticking = 0;
}

void host_persisted(sim_t *s, uint32_t id, uint64_t token)
{
    node_t *n = sim_node(s, id);
    if (!n->live) {
        return;
    }
    enter(n);
    int r = zab_persisted(n->z, token, 0);
    leave(s, n);
    if (r != 0) {
        tr_note(s, id, "zab_persisted(%llu): %s", (unsigned long long)token,
                zab_err_name(r));
    }
}

int host_propose(sim_t *s, uint32_t id, uint32_t tx, uint64_t *zxid)
{
    node_t *n = sim_node(s, id);
    if (n == NULL || !n->live) {
        return ZAB_ESTATE;
    }
    const tx_t *t = &s->txs[tx];
    enter(n);
    int r = zab_propose(n->z, t->payload, t->len, zxid);
    leave(s, n);
    return r;
}

uint64_t host_stat(sim_t *s, uint32_t id, int which)
{
    node_t *n = sim_node(s, id);
    if (n == NULL || !n->live || n->z == NULL) {
        return 0;
    }
    return zab_stat(n->z, which);
}
