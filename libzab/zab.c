/*
 * zab.c -- entry points, the call frame, the durable-write streams,
 * delivery, and the role transitions.
 *
 * The call frame.  Every public entry point runs between enter() and
 * leave().  Work that must not happen in the middle of a handler is
 * deferred to leave(): a peer whose send failed is treated as
 * disconnected there (so that no handler sees the role change under its
 * feet), write confirmations that arrive from inside a callback are
 * processed there, and a heartbeat round asked for by read barriers is
 * started there (so that barriers asked in one call share one round).
 *
 * Durable writes.  Writes form two streams that complete in order (see
 * zab.h): the log (appends, truncations, snapshot installs) and the epoch
 * file.  Tokens carry the stream in their lowest bit and a per-stream
 * sequence number above it.  For the log, libzab keeps "runs" of
 * operations so that a confirmation maps to the zxid that became durable;
 * consecutive appends in one epoch share one run, so the bookkeeping does
 * not grow with the number of in-flight appends.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zab_int.h"

/* ---- memory ------------------------------------------------------------- */

static void *default_malloc(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}

static void *default_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    return realloc(p, n);
}

static void default_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

void *zab__malloc(zab_t *z, size_t n)
{
    return z->malloc_fn(z->alloc_ud, n == 0 ? 1 : n);
}

void *zab__realloc(zab_t *z, void *p, size_t n)
{
    return z->realloc_fn(z->alloc_ud, p, n == 0 ? 1 : n);
}

void zab__free(zab_t *z, void *p)
{
    if (p != NULL) {
        z->free_fn(z->alloc_ud, p);
    }
}

void zab__trace(zab_t *z, int level, const char *fmt, ...)
{
    if (z->ops.trace == NULL) {
        return;
    }
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    z->ops.trace(z->ud, level, line);
}

zab__peer_t *zab__peer(zab_t *z, uint32_t id)
{
    for (uint32_t i = 0; i < z->n_peers; i++) {
        if (z->peers[i].id == id) {
            return &z->peers[i];
        }
    }
    return NULL;
}

/* ---- call frame ----------------------------------------------------------- */

static void process_confirmations(zab_t *z);
static void handle_peer_down(zab_t *z, zab__peer_t *p);

static int enter(zab_t *z)
{
    if (z->in_call) {
        return ZAB_ESTATE;
    }
    z->in_call = 1;
    return 0;
}

/* The preamble of the calls about one peer: arguments, then enter(). */
static int enter_peer(zab_t *z, uint32_t id, zab__peer_t **p)
{
    if (z == NULL || (*p = zab__peer(z, id)) == NULL) {
        return ZAB_EINVAL;
    }
    return enter(z);
}

static void leave(zab_t *z)
{
    /* Each pass may create more deferred work (a confirmation lets a
     * learner send, the send fails, ...); the work is finite because every
     * pass consumes what the previous one left, but bound it anyway. */
    for (int pass = 0; pass < 64; pass++) {
        int again = 0;
        if (z->deferred_log_seq > z->log_seq_done ||
            z->deferred_epoch_seq > z->epoch_seq_done ||
            z->deferred_status != 0) {
            process_confirmations(z);
            again = 1;
        }
        for (uint32_t i = 0; i < z->n_peers; i++) {
            if (z->peers[i].send_failed) {
                z->peers[i].send_failed = 0;
                if (z->peers[i].connected) {
                    handle_peer_down(z, &z->peers[i]);
                    again = 1;
                }
            }
        }
        if (z->want_ping) {
            z->want_ping = 0;
            if (z->role == ZAB_LEADING && z->established) {
                zab__leader_send_pings(z);
            }
            again = 1;
        }
        if (!again) {
            break;
        }
    }
    z->in_call = 0;
}

/* ---- sending ------------------------------------------------------------- */

size_t zab__encode_frame(zab_t *z, const zab__msg_t *m)
{
    size_t n = zab__encoded_size(m);
    if (n > z->frame_cap) {
        uint8_t *f = zab__realloc(z, z->frame, n);
        if (f == NULL) {
            return 0;
        }
        z->frame = f;
        z->frame_cap = n;
    }
    return zab__encode(m, z->frame);
}

void zab__send_frame(zab_t *z, zab__peer_t *p, const uint8_t *f, size_t len)
{
    if (!p->connected || p->send_failed) {
        return;
    }
    if (z->ops.send(z->ud, p->id, f, len) != 0) {
        z->stats[ZAB_STAT_SEND_ERRORS]++;
        p->send_failed = 1;
        return;
    }
    z->stats[ZAB_STAT_MSGS_SENT]++;
    z->stats[ZAB_STAT_BYTES_SENT] += len;
}

void zab__send(zab_t *z, zab__peer_t *p, const zab__msg_t *m)
{
    if (!p->connected || p->send_failed) {
        return;
    }
    size_t n = zab__encode_frame(z, m);
    if (n == 0) {
        /* Out of memory for the frame: the message is lost, which breaks
         * the channel's FIFO promise, so treat the connection as broken. */
        p->send_failed = 1;
        return;
    }
    zab__send_frame(z, p, z->frame, n);
}

/* ---- durable writes ------------------------------------------------------ */

#define STREAM_LOG 0u
#define STREAM_EPOCHS 1u

static uint64_t token_of(uint64_t seq, unsigned stream)
{
    return (seq << 1) | stream;
}

static void disk_failed(zab_t *z, const char *what)
{
    if (!z->disk_failed) {
        zab__trace(z, 0, "disk failure (%s): no more acknowledgements", what);
    }
    z->disk_failed = 1;
    z->stats[ZAB_STAT_DISK_FAILED] = 1;
}

/* runs_cap is a power of two. */
static zab__log_run_t *run_at(zab_t *z, uint32_t i)
{
    return &z->runs[(z->runs_head + i) & (z->runs_cap - 1)];
}

/* Makes room for one more run, so that issuing a write cannot fail. */
static int runs_reserve(zab_t *z)
{
    if (z->runs_len < z->runs_cap) {
        return 0;
    }
    uint32_t cap = z->runs_cap ? z->runs_cap * 2 : 16;
    zab__log_run_t *n = zab__malloc(z, cap * sizeof *n);
    if (n == NULL) {
        return ZAB_ENOMEM;
    }
    for (uint32_t i = 0; i < z->runs_len; i++) {
        n[i] = *run_at(z, i);
    }
    zab__free(z, z->runs);
    z->runs = n;
    z->runs_cap = cap;
    z->runs_head = 0;
    return 0;
}

/* Records log operation `seq` leaving the log at `zxid`.  The caller has
 * reserved room with runs_reserve(). */
static void runs_push(zab_t *z, uint64_t seq, uint64_t zxid, int is_append)
{
    if (is_append && z->runs_len > 0) {
        zab__log_run_t *r = run_at(z, z->runs_len - 1);
        uint64_t last = r->zxid_first + (r->seq_last - r->seq_first);
        if (r->is_append && r->seq_last + 1 == seq && last + 1 == zxid &&
            ZAB_ZXID_EPOCH(last) == ZAB_ZXID_EPOCH(zxid)) {
            r->seq_last = seq;
            return;
        }
    }
    zab__log_run_t *r = run_at(z, z->runs_len);
    r->seq_first = r->seq_last = seq;
    r->zxid_first = zxid;
    r->is_append = (uint8_t)is_append;
    z->runs_len++;
}

int zab__log_reserve(zab_t *z)
{
    return runs_reserve(z);
}

uint64_t zab__log_append(zab_t *z, uint64_t zxid, const void *data,
                         size_t len)
{
    if (z->disk_failed || runs_reserve(z) != 0) {
        return 0;
    }
    uint64_t seq = ++z->log_seq_issued;
    runs_push(z, seq, zxid, 1);
    z->last_zxid = zxid;
    if (z->ops.log_append(z->ud, zxid, data, len,
                          token_of(seq, STREAM_LOG)) != 0) {
        disk_failed(z, "log_append");
        return 0;
    }
    return seq;
}

uint64_t zab__log_truncate(zab_t *z, uint64_t zxid)
{
    if (z->disk_failed || runs_reserve(z) != 0) {
        return 0;
    }
    uint64_t seq = ++z->log_seq_issued;
    runs_push(z, seq, zxid, 0);
    z->last_zxid = zxid;
    /* Entries up to zxid are untouched by the truncation: still durable. */
    if (z->durable_zxid > zxid) {
        z->durable_zxid = zxid;
    }
    zab__queue_truncate(&z->queue, zxid);
    if (z->ops.log_truncate(z->ud, zxid, token_of(seq, STREAM_LOG)) != 0) {
        disk_failed(z, "log_truncate");
        return 0;
    }
    return seq;
}

uint64_t zab__log_install(zab_t *z, uint64_t zxid, uint64_t offset,
                          uint64_t total, const void *chunk, size_t len)
{
    if (z->disk_failed || z->ops.snapshot_put == NULL) {
        return 0;
    }
    if (offset + len < total) {
        if (z->ops.snapshot_put(z->ud, zxid, offset, total, chunk, len, 0) !=
            0) {
            disk_failed(z, "snapshot_put");
            return 0;
        }
        return 1; /* not the last chunk: nothing to wait for */
    }
    if (runs_reserve(z) != 0) {
        return 0;
    }
    uint64_t seq = ++z->log_seq_issued;
    runs_push(z, seq, zxid, 0);
    z->last_zxid = zxid;
    /* Nothing of the new log is durable until the install is. */
    z->durable_zxid = 0;
    zab__queue_reset(&z->queue, zxid);
    if (z->ops.snapshot_put(z->ud, zxid, offset, total, chunk, len,
                            token_of(seq, STREAM_LOG)) != 0) {
        disk_failed(z, "snapshot_put");
        return 0;
    }
    return seq;
}

uint64_t zab__save_epochs(zab_t *z, uint32_t accepted, uint32_t current)
{
    uint32_t cap = sizeof z->epoch_ops / sizeof z->epoch_ops[0];
    if (z->disk_failed || z->epoch_ops_len == cap) {
        return 0;
    }
    uint64_t seq = ++z->epoch_seq_issued;
    zab__epoch_op_t *op =
        &z->epoch_ops[(z->epoch_ops_head + z->epoch_ops_len) % cap];
    op->seq = seq;
    op->accepted = accepted;
    op->current = current;
    z->epoch_ops_len++;
    z->accepted_issued = accepted;
    z->current_issued = current;
    if (z->ops.save_epochs(z->ud, accepted, current,
                           token_of(seq, STREAM_EPOCHS)) != 0) {
        disk_failed(z, "save_epochs");
        return 0;
    }
    return seq;
}

int zab__writes_pending(const zab_t *z)
{
    return z->log_seq_done < z->log_seq_issued ||
           z->epoch_seq_done < z->epoch_seq_issued;
}

int zab__epoch_durable(const zab_t *z, uint64_t seq)
{
    return seq != 0 && z->epoch_seq_done >= seq;
}

/* The log is durable up to `seq`. */
static void log_done(zab_t *z, uint64_t seq)
{
    while (z->runs_len > 0) {
        zab__log_run_t *r = run_at(z, 0);
        if (r->seq_first > seq) {
            break;
        }
        uint64_t upto = seq < r->seq_last ? seq : r->seq_last;
        z->durable_zxid = r->zxid_first + (upto - r->seq_first);
        if (upto < r->seq_last) {
            break;
        }
        z->runs_head = (z->runs_head + 1) & (z->runs_cap - 1);
        z->runs_len--;
    }
    z->log_seq_done = seq;
}

static void epochs_done(zab_t *z, uint64_t seq)
{
    uint32_t cap = sizeof z->epoch_ops / sizeof z->epoch_ops[0];
    while (z->epoch_ops_len > 0) {
        zab__epoch_op_t *op = &z->epoch_ops[z->epoch_ops_head];
        if (op->seq > seq) {
            break;
        }
        z->accepted_epoch = op->accepted;
        z->current_epoch = op->current;
        z->epoch_ops_head = (z->epoch_ops_head + 1) % cap;
        z->epoch_ops_len--;
    }
    z->epoch_seq_done = seq;
}

/* Acts on the confirmations recorded by zab_persisted(). */
static void process_confirmations(zab_t *z)
{
    int status = z->deferred_status;
    z->deferred_status = 0;
    if (status != 0) {
        disk_failed(z, "write failed");
        if (z->role != ZAB_LOOKING) {
            zab__become_looking(z, "disk failure");
        }
        return;
    }
    int progressed = 0;
    if (z->deferred_log_seq > z->log_seq_done) {
        log_done(z, z->deferred_log_seq);
        progressed = 1;
    }
    if (z->deferred_epoch_seq > z->epoch_seq_done) {
        epochs_done(z, z->deferred_epoch_seq);
        progressed = 1;
    }
    if (!progressed || z->disk_failed) {
        return;
    }
    switch (z->role) {
    case ZAB_LEADING:
        zab__leader_durable(z);
        break;
    case ZAB_FOLLOWING:
    case ZAB_OBSERVING:
        zab__learner_durable(z);
        break;
    default:
        if (z->draining && !zab__writes_pending(z)) {
            z->draining = 0;
            zab__election_start(z);
        }
        break;
    }
    zab__deliver(z);
}

/* ---- delivery ------------------------------------------------------------ */

int zab__read_next(zab_t *z, uint64_t after, uint64_t *zxid,
                   const void **data, size_t *len)
{
    zab__queue_t *q = &z->queue;
    if (after >= q->base) {
        uint64_t pos = zab__queue_find_after(q, after);
        if (pos < q->tail) {
            const zab__entry_t *e = zab__queue_at(q, pos);
            *zxid = e->zxid;
            *data = zab__queue_data(q, e);
            *len = e->len;
            return 0;
        }
        if (after >= z->last_zxid) {
            return ZAB_ENOENT;
        }
    }
    int rc = z->ops.log_read(z->ud, after, zxid, data, len);
    if (rc != 0) {
        return rc == ZAB_ERANGE ? ZAB_ERANGE : ZAB_ENOENT;
    }
    if (*zxid <= after) {
        return ZAB_ENOENT; /* a host bug; never loop on it */
    }
    return 0;
}

void zab__deliver(zab_t *z)
{
    uint64_t target = z->committed_zxid;
    if (target > z->durable_zxid) {
        target = z->durable_zxid;
    }
    int delivered_any = 0;
    while (z->delivered_zxid < target) {
        uint64_t zxid;
        const void *data;
        size_t len;
        if (zab__read_next(z, z->delivered_zxid, &zxid, &data, &len) != 0) {
            zab__trace(z, 0, "cannot read the entry after %u:%u to deliver",
                       ZAB_ZXID_EPOCH(z->delivered_zxid),
                       ZAB_ZXID_COUNTER(z->delivered_zxid));
            break;
        }
        if (zxid > target) {
            break;
        }
        z->ops.deliver(z->ud, zxid, data, len);
        z->delivered_zxid = zxid;
        z->stats[ZAB_STAT_DELIVERIES]++;
        delivered_any = 1;
        /* Drop cached entries that are now delivered, keeping those the
         * leader still has to commit. */
        zab__queue_t *q = &z->queue;
        while (q->head < q->tail &&
               zab__queue_at(q, q->head)->zxid <= z->delivered_zxid &&
               (z->role != ZAB_LEADING || q->head < z->commit_seq)) {
            zab__queue_pop(q);
        }
    }
    if (delivered_any) {
        zab__barrier_progress(z);
    }
}

/* ---- roles --------------------------------------------------------------- */

static void notify_role(zab_t *z)
{
    if (z->ops.role_change != NULL) {
        z->ops.role_change(z->ud, (zab_role_t)z->role, z->leader_id, z->epoch,
                           z->serving);
    }
}

void zab__set_serving(zab_t *z, int serving)
{
    if (z->serving != serving) {
        z->serving = serving;
        notify_role(z);
    }
}

static void reset_role_state(zab_t *z)
{
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        p->lstate = LS_NONE;
        p->is_observer = 0;
        p->epoch_acked = 0;
        p->ack_zxid = 0;
        p->ping_round = 0;
    }
    z->phase = 0;
    z->serving = 0;
    z->established = 0;
    z->epoch_decided = 0;
    z->acks_enabled = 0;
    z->sync_started = 0;
    z->finalize_at = UINT64_MAX;
    z->phase_deadline = 0;
}

void zab__become_looking(zab_t *z, const char *why)
{
    zab__trace(z, 0, "LOOKING (%s)", why);
    zab__barrier_cancel_all(z, ZAB_ECANCELED);
    reset_role_state(z);
    z->role = ZAB_LOOKING;
    z->leader_id = 0;
    z->epoch = 0;
    notify_role(z);
    if (z->disk_failed) {
        return; /* never vote again: the host must restart us */
    }
    if (zab__writes_pending(z)) {
        /* Votes must carry what the disk holds (the position reported in a
         * vote is durable); wait until the writes in flight complete. */
        z->draining = 1;
        return;
    }
    zab__election_start(z);
}

/* Tells peers still looking (observers above all, which only join a
 * settled leader) what we settled on, instead of waiting for their next,
 * backed-off notification. */
static void announce_settled(zab_t *z)
{
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        if (p->vote_valid && p->vote_state == ZAB_LOOKING) {
            zab__send_vote(z, p);
        }
    }
}

void zab__become_follower(zab_t *z, uint32_t leader, uint64_t ee)
{
    reset_role_state(z);
    z->role = z->i_am_voter ? ZAB_FOLLOWING : ZAB_OBSERVING;
    z->leader_id = leader;
    z->decided_election_epoch = ee;
    z->epoch = 0;
    zab__trace(z, 0, "%s %u", zab_role_name(z->role), leader);
    notify_role(z);
    announce_settled(z);
    zab__learner_start(z);
}

void zab__become_leader(zab_t *z, uint64_t ee)
{
    reset_role_state(z);
    z->role = ZAB_LEADING;
    z->leader_id = z->my_id;
    z->decided_election_epoch = ee;
    z->epoch = 0;
    zab__trace(z, 0, "LEADING");
    notify_role(z);
    announce_settled(z);
    zab__leader_start(z);
}

/* ---- lifecycle ----------------------------------------------------------- */

int zab_new(const zab_config_t *cfg, const zab_host_ops_t *ops, void *ud,
            zab_t **out)
{
    if (cfg == NULL || ops == NULL || out == NULL || ops->version < 1 ||
        ops->version > ZAB_HOST_OPS_VERSION || ops->send == NULL ||
        ops->log_append == NULL || ops->log_truncate == NULL ||
        ops->log_read == NULL || ops->save_epochs == NULL ||
        ops->deliver == NULL || cfg->my_id == 0) {
        return ZAB_EINVAL;
    }
    int self = -1;
    uint32_t n_voters = 0;
    for (uint32_t i = 0; i < cfg->n_members; i++) {
        if (cfg->ids[i] == cfg->my_id) {
            self = (int)i;
        }
        n_voters += cfg->voter[i];
    }
    if (self < 0 || n_voters == 0) {
        return ZAB_EINVAL;
    }
    zab_malloc_fn m = cfg->malloc_fn ? cfg->malloc_fn : default_malloc;
    zab_realloc_fn r = cfg->realloc_fn ? cfg->realloc_fn : default_realloc;
    zab_free_fn f = cfg->free_fn ? cfg->free_fn : default_free;
    zab_t *z = m(cfg->alloc_ud, sizeof *z);
    if (z == NULL) {
        return ZAB_ENOMEM;
    }
    memset(z, 0, sizeof *z);
    z->malloc_fn = m;
    z->realloc_fn = r;
    z->free_fn = f;
    z->alloc_ud = cfg->alloc_ud;
    z->ops = *ops;
    z->ud = ud;
    z->my_id = cfg->my_id;
    z->i_am_voter = cfg->voter[self];
    z->n_voters = n_voters;
    z->quorum = n_voters / 2 + 1;
    memcpy(z->opt, cfg->opt, sizeof z->opt);
    z->n_peers = cfg->n_members - 1;
    if (z->n_peers > 0) {
        z->peers = zab__malloc(z, z->n_peers * sizeof *z->peers);
        if (z->peers == NULL) {
            zab__free(z, z);
            return ZAB_ENOMEM;
        }
        memset(z->peers, 0, z->n_peers * sizeof *z->peers);
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < cfg->n_members; i++) {
        if ((int)i != self) {
            z->peers[k].id = cfg->ids[i];
            z->peers[k].voter = cfg->voter[i];
            k++;
        }
    }
    /* The frame scratch buffer is sized for the largest frame once, so
     * that sending never allocates. */
    z->frame_cap = (size_t)z->opt[ZAB_OPT_MAX_PAYLOAD_BYTES] +
                   ZAB__FRAME_OVERHEAD;
    z->frame = zab__malloc(z, z->frame_cap);
    if (z->frame == NULL) {
        zab__free(z, z->peers);
        zab__free(z, z);
        return ZAB_ENOMEM;
    }
    zab__queue_init(&z->queue, 0);
    z->role = ZAB_LOOKING;
    z->finalize_at = UINT64_MAX;
    z->next_sync_id = 1;
    *out = z;
    return 0;
}

void zab_free(zab_t *z)
{
    if (z == NULL) {
        return;
    }
    zab__queue_free(z, &z->queue);
    zab__free(z, z->runs);
    zab__free(z, z->barriers);
    zab__free(z, z->frame);
    zab__free(z, z->peers);
    zab__free(z, z);
}

int zab_start(zab_t *z, uint32_t accepted_epoch, uint32_t current_epoch,
              uint64_t last_zxid, uint64_t delivered_zxid, uint64_t now_ms)
{
    if (z == NULL || current_epoch > accepted_epoch ||
        delivered_zxid > last_zxid ||
        ZAB_ZXID_EPOCH(last_zxid) > accepted_epoch ||
        accepted_epoch == UINT32_MAX) {
        return ZAB_EINVAL;
    }
    int rc = enter(z);
    if (rc != 0) {
        return rc;
    }
    if (z->started) {
        leave(z);
        return ZAB_ESTATE;
    }
    z->started = 1;
    z->now_ms = now_ms;
    z->accepted_epoch = z->accepted_issued = accepted_epoch;
    z->current_epoch = z->current_issued = current_epoch;
    z->last_zxid = z->durable_zxid = last_zxid;
    z->delivered_zxid = z->committed_zxid = delivered_zxid;
    zab__queue_init(&z->queue, last_zxid);
    zab__trace(z, 0, "start: epochs %u/%u, last %u:%u, delivered %u:%u",
               accepted_epoch, current_epoch, ZAB_ZXID_EPOCH(last_zxid),
               ZAB_ZXID_COUNTER(last_zxid), ZAB_ZXID_EPOCH(delivered_zxid),
               ZAB_ZXID_COUNTER(delivered_zxid));
    zab__become_looking(z, "start");
    leave(z);
    return 0;
}

/* ---- driving --------------------------------------------------------------- */

static size_t max_frame(const zab_t *z)
{
    return (size_t)z->opt[ZAB_OPT_MAX_PAYLOAD_BYTES] + ZAB__FRAME_OVERHEAD;
}

int zab_frame_size(const zab_t *z, const void *header, size_t len,
                   size_t *frame_len)
{
    if (z == NULL || header == NULL || frame_len == NULL ||
        len < ZAB_FRAME_HEADER_SIZE) {
        return ZAB_EINVAL;
    }
    return zab__header_check(header, max_frame(z), frame_len);
}

const char *zab_frame_kind(const void *frame, size_t len)
{
    size_t n;
    if (frame == NULL || len < ZAB_FRAME_HEADER_SIZE ||
        zab__header_check(frame, SIZE_MAX, &n) != 0) {
        return NULL;
    }
    return zab__kind_name(((const uint8_t *)frame)[5]);
}

int zab_recv(zab_t *z, uint32_t peer, const void *frame, size_t len)
{
    zab__peer_t *p;
    if (frame == NULL) {
        return ZAB_EINVAL;
    }
    int rc = enter_peer(z, peer, &p);
    if (rc != 0) {
        return rc;
    }
    z->stats[ZAB_STAT_MSGS_RECEIVED]++;
    z->stats[ZAB_STAT_BYTES_RECEIVED] += len;
    zab__msg_t m;
    if (zab__decode(frame, len, max_frame(z), &m) != 0) {
        z->stats[ZAB_STAT_MSGS_MALFORMED]++;
        zab__trace(z, 1, "malformed frame from %u dropped", peer);
        leave(z);
        return ZAB_EPROTO;
    }
    if (!z->started || z->disk_failed || !p->connected) {
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
        leave(z);
        return 0;
    }
    if (m.kind == ZAB__VOTE) {
        /* Votes say nothing about the session with a leader or learner:
         * they do not count as hearing from it. */
        zab__election_recv_vote(z, p, &m);
        leave(z);
        return 0;
    }
    /* Our clock only moves in zab_tick(): remember that the peer spoke, and
     * stamp it with the next tick's time (see zab_tick). */
    p->last_heard_ms = z->now_ms;
    p->heard_since_tick = 1;
    if (z->role == ZAB_LEADING) {
        zab__leader_recv(z, p, &m);
    } else if (z->role == ZAB_FOLLOWING || z->role == ZAB_OBSERVING) {
        zab__learner_recv(z, p, &m);
    } else {
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
    }
    leave(z);
    return 0;
}

int zab_peer_up(zab_t *z, uint32_t peer)
{
    zab__peer_t *p;
    int rc = enter_peer(z, peer, &p);
    if (rc != 0) {
        return rc;
    }
    p->connected = 1;
    p->send_failed = 0;
    p->lstate = LS_NONE;
    p->last_heard_ms = z->now_ms;
    if (z->started && !z->disk_failed) {
        if (z->role == ZAB_LOOKING) {
            zab__election_peer_up(z, p);
        } else if (z->role == ZAB_FOLLOWING || z->role == ZAB_OBSERVING) {
            zab__learner_peer_up(z, p);
        }
    }
    leave(z);
    return 0;
}

static void handle_peer_down(zab_t *z, zab__peer_t *p)
{
    p->connected = 0;
    p->send_failed = 0;
    if (!z->started) {
        return;
    }
    if ((z->role == ZAB_FOLLOWING || z->role == ZAB_OBSERVING) &&
        p->id == z->leader_id) {
        zab__become_looking(z, "lost the connection to the leader");
    } else if (z->role == ZAB_LEADING) {
        zab__leader_peer_down(z, p);
    }
}

int zab_peer_down(zab_t *z, uint32_t peer)
{
    zab__peer_t *p;
    int rc = enter_peer(z, peer, &p);
    if (rc != 0) {
        return rc;
    }
    if (p->connected) {
        handle_peer_down(z, p);
    }
    leave(z);
    return 0;
}

/* ---- membership changes --------------------------------------------------- */

int zab_add_observer(zab_t *z, uint32_t id)
{
    if (z == NULL || id == 0 || id == z->my_id || zab__peer(z, id) != NULL ||
        z->n_peers + 1 >= ZAB__MAX_MEMBERS) {
        return ZAB_EINVAL;
    }
    int rc = enter(z);
    if (rc != 0) {
        return rc;
    }
    zab__peer_t *peers =
        zab__realloc(z, z->peers, (z->n_peers + 1) * sizeof *peers);
    if (peers == NULL) {
        leave(z);
        return ZAB_ENOMEM;
    }
    z->peers = peers;
    memset(&peers[z->n_peers], 0, sizeof *peers);
    peers[z->n_peers].id = id; /* not a voter; unconnected */
    z->n_peers++;
    zab__trace(z, 0, "observer %u added", id);
    leave(z);
    return 0;
}

int zab_remove_observer(zab_t *z, uint32_t id)
{
    zab__peer_t *p;
    if (z == NULL || (p = zab__peer(z, id)) == NULL || p->voter) {
        return ZAB_EINVAL;
    }
    int rc = enter(z);
    if (rc != 0) {
        return rc;
    }
    if (p->connected) {
        handle_peer_down(z, p); /* an observer is never our leader */
    }
    /* No state outside the array points into it: close the gap, keeping
     * the order (iteration order is part of determinism). */
    size_t i = (size_t)(p - z->peers);
    memmove(&z->peers[i], &z->peers[i + 1],
            (z->n_peers - i - 1) * sizeof *z->peers);
    z->n_peers--;
    zab__trace(z, 0, "observer %u removed", id);
    leave(z);
    return 0;
}

int zab_tick(zab_t *z, uint64_t now_ms)
{
    if (z == NULL) {
        return ZAB_EINVAL;
    }
    int rc = enter(z);
    if (rc != 0) {
        return rc;
    }
    if (now_ms > z->now_ms) {
        z->now_ms = now_ms;
    }
    /* Frames received since the previous tick arrived no earlier than
     * that tick; stamping them with this one errs towards keeping a
     * live peer, never towards dropping it. */
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        if (p->heard_since_tick) {
            p->heard_since_tick = 0;
            p->last_heard_ms = z->now_ms;
            if (p->id == z->leader_id && z->role != ZAB_LEADING) {
                z->leader_heard_ms = z->now_ms;
            }
        }
    }
    if (z->started && !z->disk_failed) {
        switch (z->role) {
        case ZAB_LOOKING:
            zab__election_tick(z);
            break;
        case ZAB_LEADING:
            zab__leader_tick(z);
            break;
        default:
            zab__learner_tick(z);
            break;
        }
    }
    leave(z);
    return 0;
}

int zab_next_deadline(const zab_t *z, uint64_t *deadline_ms)
{
    if (z == NULL || deadline_ms == NULL) {
        return ZAB_EINVAL;
    }
    uint64_t d = UINT64_MAX;
    if (z->started && !z->disk_failed) {
        switch (z->role) {
        case ZAB_LOOKING:
            d = zab__election_deadline(z);
            break;
        case ZAB_LEADING:
            d = zab__leader_deadline(z);
            break;
        default:
            d = zab__learner_deadline(z);
            break;
        }
    }
    *deadline_ms = d;
    return 0;
}

int zab_persisted(zab_t *z, uint64_t token, int status)
{
    if (z == NULL || token == 0) {
        return ZAB_EINVAL;
    }
    uint64_t seq = token >> 1;
    if ((token & 1) == STREAM_LOG) {
        if (seq > z->log_seq_issued || seq <= z->log_seq_done) {
            return ZAB_EINVAL;
        }
        if (seq > z->deferred_log_seq) {
            z->deferred_log_seq = seq;
        }
    } else {
        if (seq > z->epoch_seq_issued || seq <= z->epoch_seq_done) {
            return ZAB_EINVAL;
        }
        if (seq > z->deferred_epoch_seq) {
            z->deferred_epoch_seq = seq;
        }
    }
    if (status != 0) {
        z->deferred_status = status;
    }
    if (z->in_call) {
        return 0; /* acted on when the outer call unwinds */
    }
    enter(z);
    leave(z);
    return 0;
}

int zab_propose(zab_t *z, const void *data, size_t len, uint64_t *zxid)
{
    if (z == NULL || (data == NULL && len > 0)) {
        return ZAB_EINVAL;
    }
    if (len > z->opt[ZAB_OPT_MAX_PAYLOAD_BYTES]) {
        return ZAB_E2BIG;
    }
    int rc = enter(z);
    if (rc != 0) {
        return rc;
    }
    if (zxid != NULL) {
        *zxid = 0;
    }
    if (z->role == ZAB_LEADING && z->established) {
        rc = zab__leader_propose(z, data, len, zxid);
    } else if ((z->role == ZAB_FOLLOWING || z->role == ZAB_OBSERVING) &&
               z->serving) {
        zab__peer_t *leader = zab__peer(z, z->leader_id);
        if (leader == NULL || !leader->connected || leader->send_failed) {
            rc = ZAB_ENOTLEADER;
        } else {
            zab__msg_t m = {.kind = ZAB__REQUEST,
                            .data = data,
                            .len = (uint32_t)len};
            zab__send(z, leader, &m);
            z->stats[ZAB_STAT_REQUESTS_FORWARDED]++;
        }
    } else {
        rc = ZAB_ENOTLEADER;
    }
    leave(z);
    return rc;
}

int zab_read_barrier(zab_t *z, uint64_t cookie)
{
    if (z == NULL) {
        return ZAB_EINVAL;
    }
    int rc = enter(z);
    if (rc != 0) {
        return rc;
    }
    if (z->role == ZAB_LEADING && z->established) {
        rc = zab__barrier_add(z, cookie, 0, 0);
    } else if ((z->role == ZAB_FOLLOWING || z->role == ZAB_OBSERVING) &&
               z->serving) {
        zab__peer_t *leader = zab__peer(z, z->leader_id);
        if (leader == NULL || !leader->connected || leader->send_failed) {
            rc = ZAB_ENOTLEADER;
        } else {
            uint64_t id = z->next_sync_id;
            rc = zab__barrier_add(z, cookie, 0, id);
            if (rc == 0) {
                z->next_sync_id++;
                zab__msg_t m = {.kind = ZAB__SYNC, .round = id};
                zab__send(z, leader, &m);
            }
        }
    } else {
        rc = ZAB_ENOTLEADER;
    }
    leave(z);
    return rc;
}

uint64_t zab_stat(const zab_t *z, int which)
{
    if (z == NULL || which < 0 || which >= ZAB_STAT__COUNT) {
        return 0;
    }
    switch (which) {
    case ZAB_STAT_ROLE:
        return (uint64_t)z->role;
    case ZAB_STAT_LEADER:
        return z->leader_id;
    case ZAB_STAT_SERVING:
        return (uint64_t)z->serving;
    case ZAB_STAT_ACCEPTED_EPOCH:
        return z->accepted_epoch;
    case ZAB_STAT_CURRENT_EPOCH:
        return z->current_epoch;
    case ZAB_STAT_ELECTION_EPOCH:
        return z->logical_clock;
    case ZAB_STAT_LAST_ZXID:
        return z->last_zxid;
    case ZAB_STAT_DURABLE_ZXID:
        return z->durable_zxid;
    case ZAB_STAT_COMMITTED_ZXID:
        return z->committed_zxid;
    case ZAB_STAT_DELIVERED_ZXID:
        return z->delivered_zxid;
    case ZAB_STAT_OUTSTANDING:
        if (z->role == ZAB_LEADING && z->established) {
            return z->queue.tail - z->commit_seq;
        }
        return 0;
    case ZAB_STAT_PENDING_BYTES:
        return z->queue.payload_bytes;
    default:
        return z->stats[which];
    }
}
