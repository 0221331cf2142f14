/*
 * leader.c -- Phases 1 to 3 on the leader (Leader.java, LearnerHandler.java).
 *
 * Discovery: wait for FOLLOWERINFO from a quorum of voters (ourselves
 * included), propose newEpoch = max(acceptedEpoch) + 1 in LEADERINFO,
 * persist our own acceptedEpoch, and collect ACKEPOCH from a quorum.  A
 * follower whose (currentEpoch, lastZxid) is more recent than ours means
 * the election picked the wrong leader: we step down (waitForEpochAck).
 *
 * Synchronisation: persist currentEpoch = newEpoch, then bring every
 * learner to our history with DIFF, TRUNC or SNAP (syncFollower) followed
 * by NEWLEADER.  When a quorum acknowledged NEWLEADER, the epoch is
 * established: our whole history is committed and UPTODATE goes out.
 *
 * Broadcast: PROPOSAL to followers, cumulative ACKs counted per voter,
 * COMMIT once a quorum (our own vote counted only once our write is
 * durable) has acknowledged; INFORM carries committed transactions to
 * observers.  Heartbeats keep learners alive and give read barriers their
 * quorum rounds; losing the quorum for peer_timeout_ms means stepping down.
 */
#include "zab_int.h"

enum { SYNC_DIFF, SYNC_TRUNC, SYNC_SNAP };

static void check_discovery(zab_t *z);

static int in_broadcast_set(const zab__peer_t *p)
{
    return p->connected && (p->lstate == LS_SYNCING ||
                            p->lstate == LS_SYNCED ||
                            p->lstate == LS_ACTIVE);
}

static int counts_for_quorum(const zab__peer_t *p)
{
    return p->voter && !p->is_observer &&
           (p->lstate == LS_SYNCED || p->lstate == LS_ACTIVE);
}

void zab__leader_start(zab_t *z)
{
    z->phase = LD_DISCOVERY;
    z->phase_deadline = z->now_ms + z->opt[ZAB_OPT_SYNC_TIMEOUT_MS];
    z->next_ping_at = z->now_ms + z->opt[ZAB_OPT_HEARTBEAT_MS];
    z->self_accepted_seq = 0;
    z->self_current_seq = 0;
    check_discovery(z);
}

static void step_down(zab_t *z, const char *why)
{
    zab__become_looking(z, why);
}

static void send_leaderinfo(zab_t *z, zab__peer_t *p)
{
    zab__msg_t m = {.kind = ZAB__LEADERINFO, .epoch = z->new_epoch};
    zab__send(z, p, &m);
    p->lstate = LS_EPOCH_SENT;
}

/* Discovery: once a quorum of voters told us their acceptedEpoch, choose
 * the new epoch above all of them (getEpochToPropose). */
static void check_discovery(zab_t *z)
{
    if (z->phase != LD_DISCOVERY) {
        return;
    }
    uint32_t n = 1;
    uint32_t max = z->accepted_epoch;
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        if (p->lstate >= LS_INFO) {
            if (p->voter && !p->is_observer) {
                n++;
            }
            if (p->info_accepted > max) {
                max = p->info_accepted;
            }
        }
    }
    if (n < z->quorum) {
        return;
    }
    if (max >= UINT32_MAX - 1) {
        step_down(z, "epoch space exhausted");
        return;
    }
    z->new_epoch = max + 1;
    z->epoch_decided = 1;
    z->epoch = z->new_epoch;
    z->self_accepted_seq = zab__save_epochs(z, z->new_epoch,
                                            z->current_issued);
    if (z->self_accepted_seq == 0) {
        step_down(z, "cannot save acceptedEpoch");
        return;
    }
    z->phase = LD_EPOCH;
    zab__trace(z, 0, "proposing epoch %u", z->new_epoch);
    for (uint32_t i = 0; i < z->n_peers; i++) {
        if (z->peers[i].lstate == LS_INFO) {
            send_leaderinfo(z, &z->peers[i]);
        }
    }
}

/* ---- synchronisation ------------------------------------------------------ */

/* Scans forward from `from` while entries stay below `limit`; returns the
 * last zxid seen below it (or `from`), or 0 with *ok = 0 if the log could
 * not be read or the scan exceeded `budget` entries. */
static uint64_t scan_below(zab_t *z, uint64_t from, uint64_t limit,
                           uint64_t budget, int *ok)
{
    uint64_t at = from;
    *ok = 1;
    for (uint64_t i = 0; i <= budget; i++) {
        uint64_t nx;
        const void *d;
        size_t l;
        int rc = zab__read_next(z, at, &nx, &d, &l);
        if (rc == ZAB_ENOENT || (rc == 0 && nx >= limit)) {
            return at;
        }
        if (rc != 0) {
            break;
        }
        at = nx;
    }
    *ok = 0;
    return 0;
}

/* The last entry we hold of epoch e below counter p, knowing that we hold
 * e:lo (lo < p).  Counters are consecutive within an epoch in any log (a
 * log holds a prefix of what that epoch's leader proposed), so "we hold
 * e:k" is true exactly for k up to some m, and a binary search over k
 * finds m in O(log n) reads, whatever the distance. */
static int last_of_epoch_below(zab_t *z, uint32_t e, uint32_t lo, uint32_t p,
                               uint64_t *out)
{
    uint32_t good = lo, hi = p - 1;
    while (good < hi) {
        uint32_t mid = good + (hi - good + 1) / 2;
        uint64_t nx;
        const void *d;
        size_t l;
        int rc = zab__read_next(z, ZAB_ZXID(e, mid - 1), &nx, &d, &l);
        if (rc == 0 && nx == ZAB_ZXID(e, mid)) {
            good = mid;
        } else if (rc == 0 || rc == ZAB_ENOENT) {
            hi = mid - 1;
        } else {
            return rc;
        }
    }
    *out = ZAB_ZXID(e, good);
    return 0;
}

/* Chooses how to bring a learner whose last logged zxid is `peer_last` to
 * our history (LearnerHandler.syncFollower).  On DIFF and TRUNC, *from is
 * the zxid after which our entries are sent (for TRUNC, where the learner
 * cuts its log).  On SNAP, *snap_min is the lowest snapshot zxid that is
 * safe: the snapshot replaces the learner's log, so it must cover every
 * entry that the learner shares with us. */
static int choose_sync(zab_t *z, uint64_t peer_last, uint64_t *from,
                       uint64_t *snap_min)
{
    uint64_t last = z->last_zxid;
    uint64_t budget = z->opt[ZAB_OPT_DIFF_MAX];
    uint64_t nx;
    const void *d;
    size_t l;
    *snap_min = peer_last;
    if (peer_last == last) {
        *from = last;
        return SYNC_DIFF;
    }
    if (peer_last > last) {
        /* The learner has a tail we never had (an old leader's uncommitted
         * proposals): our whole log is its common prefix with ours. */
        *from = last;
        return SYNC_TRUNC;
    }
    if (peer_last == 0) {
        if (zab__read_next(z, 0, &nx, &d, &l) == ZAB_ERANGE) {
            return SYNC_SNAP;
        }
        *from = 0;
        return SYNC_DIFF;
    }
    int rc = zab__read_next(z, peer_last - 1, &nx, &d, &l);
    if (rc != 0) {
        return SYNC_SNAP; /* compacted: the learner is too far behind */
    }
    if (nx == peer_last) {
        *from = peer_last;
        return SYNC_DIFF;
    }
    /* The learner's last entry is not in our log: its tail diverged.  Find
     * the last entry we share (the floor of peer_last in our log). */
    uint32_t e = ZAB_ZXID_EPOCH(peer_last);
    int ok;
    rc = zab__read_next(z, ZAB_ZXID(e, 0), &nx, &d, &l);
    if (rc == 0 && ZAB_ZXID_EPOCH(nx) == e && nx < peer_last) {
        /* We hold a shorter prefix of the same epoch: TRUNC to its last
         * entry, however long the shared part is. */
        uint64_t x;
        if (last_of_epoch_below(z, e, ZAB_ZXID_COUNTER(nx),
                                ZAB_ZXID_COUNTER(peer_last), &x) == 0) {
            *from = x;
            return SYNC_TRUNC;
        }
        return SYNC_SNAP; /* unreadable log; snap_min stays peer_last */
    }
    if (rc == ZAB_ERANGE || (rc == 0 && ZAB_ZXID_EPOCH(nx) == e)) {
        /* Our log starts inside that epoch (compacted), so we cannot tell
         * what we share: only a snapshot covering the learner's whole log
         * is safe. */
        return SYNC_SNAP;
    }
    /* We hold nothing of the learner's last epoch: the common prefix ends
     * at our last entry of an older epoch (the initial history of the
     * learner's epoch).  Find it by scanning from our delivered point,
     * which precedes it unless we delivered past that epoch. */
    *snap_min = ZAB_ZXID(e, 0);
    if (z->delivered_zxid < ZAB_ZXID(e, 0)) {
        uint64_t x = scan_below(z, z->delivered_zxid, ZAB_ZXID(e, 0), budget,
                                &ok);
        if (ok) {
            *from = x;
            return SYNC_TRUNC;
        }
    }
    return SYNC_SNAP;
}

/* Number of our entries after `from`, counting at most budget + 1. */
static uint64_t count_after(zab_t *z, uint64_t from, uint64_t budget)
{
    uint64_t last = z->last_zxid;
    if (from >= last) {
        return 0;
    }
    if (ZAB_ZXID_EPOCH(from) == ZAB_ZXID_EPOCH(last)) {
        return ZAB_ZXID_COUNTER(last) - ZAB_ZXID_COUNTER(from);
    }
    uint64_t n = 0, at = from;
    while (at < last && n <= budget) {
        uint64_t nx;
        const void *d;
        size_t l;
        if (zab__read_next(z, at, &nx, &d, &l) != 0) {
            return UINT64_MAX;
        }
        at = nx;
        n++;
    }
    return n;
}

/* Sends our entries after `from`, up to our last, as PROPOSALs. */
static int send_entries_after(zab_t *z, zab__peer_t *p, uint64_t from)
{
    uint64_t at = from;
    while (at < z->last_zxid) {
        zab__msg_t m = {.kind = ZAB__PROPOSAL};
        const void *d;
        size_t l;
        if (zab__read_next(z, at, &m.zxid, &d, &l) != 0) {
            return ZAB_ERANGE;
        }
        m.data = d;
        m.len = (uint32_t)l;
        zab__send(z, p, &m);
        at = m.zxid;
    }
    return 0;
}

/* Asks the host for a snapshot at or after `min` (anything older would
 * drop entries the learner shares with us) and checks what comes back. */
static int get_snapshot(zab_t *z, uint64_t min, uint64_t *zxid,
                        const void **data, size_t *len)
{
    if (z->ops.snapshot_get == NULL ||
        z->ops.snapshot_get(z->ud, min, zxid, data, len) != 0) {
        return ZAB_EIO;
    }
    if (*zxid < min || *zxid > z->last_zxid) {
        return ZAB_ERANGE;
    }
    return 0;
}

static void send_snapshot(zab_t *z, zab__peer_t *p, uint64_t snap_zxid,
                          const void *data, size_t len)
{
    uint64_t chunk = z->opt[ZAB_OPT_MAX_PAYLOAD_BYTES];
    uint64_t off = 0;
    do {
        uint64_t n = len - off < chunk ? len - off : chunk;
        zab__msg_t m = {.kind = ZAB__SNAP,
                        .zxid = snap_zxid,
                        .total = len,
                        .offset = off,
                        .data = (const uint8_t *)data + off,
                        .len = (uint32_t)n};
        zab__send(z, p, &m);
        off += n;
    } while (off < len);
}

/* Brings learner `p` to our history and sends NEWLEADER.  From here on the
 * learner is in the broadcast set, so every later PROPOSAL and COMMIT
 * follows the sync stream on the same FIFO channel. */
static void sync_learner(zab_t *z, zab__peer_t *p)
{
    uint64_t from = 0, snap_min = 0, snap_zxid = 0;
    const void *snap = NULL;
    size_t snap_len = 0;
    int mode = choose_sync(z, p->ack_last, &from, &snap_min);
    uint64_t budget = z->opt[ZAB_OPT_DIFF_MAX];
    if (mode != SYNC_SNAP && count_after(z, from, budget) > budget &&
        get_snapshot(z, from, &snap_zxid, &snap, &snap_len) == 0) {
        /* Too much to send entry by entry, and the host has a snapshot
         * that covers what the learner already shares with us.  Without
         * one, the long DIFF is still correct. */
        mode = SYNC_SNAP;
    } else if (mode == SYNC_SNAP &&
               get_snapshot(z, snap_min, &snap_zxid, &snap, &snap_len) != 0) {
        /* No safe snapshot now.  The learner times out, elects again and
         * retries; by then we will have delivered more and the host can
         * snapshot it. */
        zab__trace(z, 0, "no snapshot at or after %u:%u to sync learner %u",
                   ZAB_ZXID_EPOCH(snap_min), ZAB_ZXID_COUNTER(snap_min),
                   p->id);
        p->lstate = LS_NONE;
        return;
    }
    if (mode == SYNC_SNAP) {
        send_snapshot(z, p, snap_zxid, snap, snap_len);
        if (send_entries_after(z, p, snap_zxid) != 0) {
            zab__trace(z, 0, "log unreadable after the snapshot for %u",
                       p->id);
            p->lstate = LS_NONE;
            return;
        }
        z->stats[ZAB_STAT_SYNC_SNAP]++;
    } else {
        zab__msg_t m = {.kind = mode == SYNC_DIFF ? ZAB__DIFF : ZAB__TRUNC,
                        .zxid = from};
        zab__send(z, p, &m);
        if (send_entries_after(z, p, from) != 0) {
            zab__trace(z, 0, "log unreadable while syncing %u", p->id);
            p->lstate = LS_NONE;
            return;
        }
        z->stats[mode == SYNC_DIFF ? ZAB_STAT_SYNC_DIFF
                                   : ZAB_STAT_SYNC_TRUNC]++;
    }
    if (z->established) {
        z->stats[ZAB_STAT_SYNC_LATE]++;
    }
    if (p->is_observer) {
        z->stats[ZAB_STAT_SYNC_OBSERVER]++;
    }
    zab__trace(z, 1, "sync %u by %s from %u:%u (its last %u:%u)", p->id,
               mode == SYNC_SNAP ? "SNAP" : mode == SYNC_DIFF ? "DIFF" : "TRUNC",
               ZAB_ZXID_EPOCH(from), ZAB_ZXID_COUNTER(from),
               ZAB_ZXID_EPOCH(p->ack_last), ZAB_ZXID_COUNTER(p->ack_last));
    zab__msg_t nl = {.kind = ZAB__NEWLEADER,
                     .epoch = z->new_epoch,
                     .zxid = z->last_zxid};
    zab__send(z, p, &nl);
    p->lstate = LS_SYNCING;
}

static void establish(zab_t *z)
{
    z->established = 1;
    z->phase = LD_BROADCAST;
    z->stats[ZAB_STAT_EPOCHS_LED]++;
    /* Our whole history was acknowledged by a quorum: it is committed. */
    if (z->last_zxid > z->committed_zxid) {
        z->committed_zxid = z->last_zxid;
    }
    z->commit_seq = z->queue.tail;
    z->next_counter = 1;
    z->ping_round = 0;
    zab__trace(z, 0, "epoch %u established, history up to %u:%u",
               z->new_epoch, ZAB_ZXID_EPOCH(z->last_zxid),
               ZAB_ZXID_COUNTER(z->last_zxid));
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        if (p->lstate == LS_SYNCED) {
            zab__msg_t m = {.kind = ZAB__UPTODATE, .zxid = z->committed_zxid};
            zab__send(z, p, &m);
            p->lstate = LS_ACTIVE;
        }
    }
    zab__set_serving(z, 1);
    zab__deliver(z);
}

static void check_newleader_quorum(zab_t *z)
{
    if (z->phase != LD_SYNC || !zab__epoch_durable(z, z->self_current_seq)) {
        return;
    }
    uint32_t n = 1;
    for (uint32_t i = 0; i < z->n_peers; i++) {
        if (counts_for_quorum(&z->peers[i])) {
            n++;
        }
    }
    if (n >= z->quorum) {
        establish(z);
    }
}

static void check_epoch_quorum(zab_t *z)
{
    if (z->phase != LD_EPOCH || !zab__epoch_durable(z, z->self_accepted_seq)) {
        return;
    }
    uint32_t n = 1;
    for (uint32_t i = 0; i < z->n_peers; i++) {
        const zab__peer_t *p = &z->peers[i];
        if (p->voter && !p->is_observer && p->lstate >= LS_ACKEPOCH &&
            p->epoch_acked) {
            n++;
        }
    }
    if (n < z->quorum) {
        return;
    }
    /* currentEpoch is persisted before our own NEWLEADER vote counts. */
    z->self_current_seq = zab__save_epochs(z, z->new_epoch, z->new_epoch);
    if (z->self_current_seq == 0) {
        step_down(z, "cannot save currentEpoch");
        return;
    }
    z->phase = LD_SYNC;
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        if (p->lstate == LS_ACKEPOCH) {
            sync_learner(z, p);
        }
    }
    check_newleader_quorum(z);
}

/* ---- broadcast ------------------------------------------------------------ */

static void try_commit(zab_t *z)
{
    if (!z->established) {
        return;
    }
    zab__queue_t *q = &z->queue;
    uint64_t newc = z->committed_zxid;
    while (z->commit_seq < q->tail) {
        const zab__entry_t *e = zab__queue_at(q, z->commit_seq);
        uint32_t n = z->durable_zxid >= e->zxid ? 1 : 0;
        for (uint32_t i = 0; i < z->n_peers && n < z->quorum; i++) {
            const zab__peer_t *p = &z->peers[i];
            if (counts_for_quorum(p) && p->ack_zxid >= e->zxid) {
                n++;
            }
        }
        if (n < z->quorum) {
            break;
        }
        newc = e->zxid;
        z->commit_seq++;
        z->stats[ZAB_STAT_COMMITS]++;
        /* Observers learn committed transactions only (INFORM). */
        zab__msg_t inf = {.kind = ZAB__INFORM,
                          .zxid = e->zxid,
                          .data = zab__queue_data(q, e),
                          .len = e->len};
        size_t flen = 0;
        for (uint32_t i = 0; i < z->n_peers; i++) {
            zab__peer_t *p = &z->peers[i];
            if (p->is_observer && in_broadcast_set(p)) {
                if (flen == 0) {
                    flen = zab__encode_frame(z, &inf);
                }
                zab__send_frame(z, p, z->frame, flen);
            }
        }
    }
    if (newc == z->committed_zxid) {
        return;
    }
    z->committed_zxid = newc;
    zab__msg_t c = {.kind = ZAB__COMMIT, .zxid = newc};
    size_t flen = zab__encode_frame(z, &c);
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        if (!p->is_observer && in_broadcast_set(p)) {
            zab__send_frame(z, p, z->frame, flen);
        }
    }
    zab__deliver(z);
}

int zab__leader_propose(zab_t *z, const void *data, size_t len,
                        uint64_t *zxid)
{
    if (z->next_counter > z->opt[ZAB_OPT_COUNTER_MAX]) {
        step_down(z, "zxid counter exhausted: a new epoch is needed");
        return ZAB_EEPOCH;
    }
    if (z->queue.tail - z->commit_seq >= z->opt[ZAB_OPT_MAX_OUTSTANDING]) {
        return ZAB_EBUSY;
    }
    int rc = zab__log_reserve(z);
    if (rc != 0) {
        return rc;
    }
    uint64_t id = ZAB_ZXID(z->new_epoch, z->next_counter);
    rc = zab__queue_push(z, &z->queue, id, data, len,
                         z->opt[ZAB_OPT_MAX_PENDING_BYTES]);
    if (rc != 0) {
        return rc;
    }
    z->next_counter++;
    if (zab__log_append(z, id, data, len) == 0) {
        step_down(z, "log append failed");
        return ZAB_EIO;
    }
    z->stats[ZAB_STAT_PROPOSALS]++;
    if (zxid != NULL) {
        *zxid = id;
    }
    zab__msg_t m = {.kind = ZAB__PROPOSAL,
                    .zxid = id,
                    .data = data,
                    .len = (uint32_t)len};
    size_t flen = 0;
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        if (!p->is_observer && in_broadcast_set(p)) {
            if (flen == 0) {
                flen = zab__encode_frame(z, &m);
            }
            zab__send_frame(z, p, z->frame, flen);
        }
    }
    try_commit(z); /* a single voter commits on its own durability */
    return 0;
}

/* ---- messages ----------------------------------------------------------------- */

static void recv_info(zab_t *z, zab__peer_t *p, const zab__msg_t *m)
{
    int observer = m->kind == ZAB__OBSERVERINFO;
    if (observer == (int)p->voter) {
        /* A voter calling itself an observer, or the reverse: the two
         * configurations disagree.  Refuse rather than miscount. */
        zab__trace(z, 0, "peer %u: membership type mismatch", p->id);
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
        return;
    }
    /* A new handshake on this connection replaces any earlier one. */
    p->lstate = LS_INFO;
    p->is_observer = (uint8_t)observer;
    p->info_accepted = m->epoch;
    p->epoch_acked = 0;
    p->ack_zxid = 0;
    p->ping_round = 0;
    if (z->epoch_decided && m->epoch > z->new_epoch) {
        /* It accepted a newer epoch (from a leader that never established
         * it), so it can never follow us: it refuses older epochs, and
         * would come straight back to us after each refusal.  Only a new
         * election, whose epoch will be above its, brings it back. */
        step_down(z, "a learner accepted a newer epoch");
        return;
    }
    if (z->epoch_decided) {
        send_leaderinfo(z, p);
    } else {
        check_discovery(z);
    }
}

static void recv_ackepoch(zab_t *z, zab__peer_t *p, const zab__msg_t *m)
{
    if (p->lstate != LS_EPOCH_SENT) {
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
        return;
    }
    p->lstate = LS_ACKEPOCH;
    p->epoch_acked = m->flags;
    p->ack_last = m->zxid;
    if (z->phase == LD_EPOCH && m->flags && p->voter) {
        if (m->epoch > z->current_epoch ||
            (m->epoch == z->current_epoch && m->zxid > z->last_zxid)) {
            /* waitForEpochAck: a follower is ahead of us; the election
             * chose badly (stale votes).  Let a better node lead. */
            step_down(z, "a follower is more recent than the leader");
            return;
        }
    }
    if (z->phase >= LD_SYNC) {
        sync_learner(z, p);
        check_newleader_quorum(z);
    } else {
        check_epoch_quorum(z);
    }
}

static void recv_acknewleader(zab_t *z, zab__peer_t *p, const zab__msg_t *m)
{
    if (p->lstate != LS_SYNCING || m->epoch != z->new_epoch ||
        m->zxid > z->last_zxid) {
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
        return;
    }
    p->lstate = LS_SYNCED;
    if (m->zxid > p->ack_zxid) {
        p->ack_zxid = m->zxid;
    }
    if (z->established) {
        zab__msg_t u = {.kind = ZAB__UPTODATE, .zxid = z->committed_zxid};
        zab__send(z, p, &u);
        p->lstate = LS_ACTIVE;
        try_commit(z);
    } else {
        check_newleader_quorum(z);
    }
}

void zab__leader_recv(zab_t *z, zab__peer_t *p, const zab__msg_t *m)
{
    switch (m->kind) {
    case ZAB__FOLLOWERINFO:
    case ZAB__OBSERVERINFO:
        recv_info(z, p, m);
        return;
    case ZAB__ACKEPOCH:
        recv_ackepoch(z, p, m);
        return;
    case ZAB__ACKNEWLEADER:
        recv_acknewleader(z, p, m);
        return;
    case ZAB__ACK:
        if (!counts_for_quorum(p) || m->zxid > z->last_zxid) {
            z->stats[ZAB_STAT_MSGS_IGNORED]++;
            return;
        }
        if (m->zxid > p->ack_zxid) {
            p->ack_zxid = m->zxid;
            try_commit(z);
        }
        return;
    case ZAB__PING:
        if (m->round > p->ping_round && m->round <= z->ping_round) {
            p->ping_round = m->round;
            zab__barrier_progress(z);
        }
        return;
    case ZAB__REQUEST:
        if (!z->established || p->lstate != LS_ACTIVE ||
            m->len > z->opt[ZAB_OPT_MAX_PAYLOAD_BYTES] ||
            zab__leader_propose(z, m->data, m->len, NULL) != 0) {
            z->stats[ZAB_STAT_REQUESTS_DROPPED]++;
        }
        return;
    case ZAB__SYNC:
        if (!z->established || p->lstate != LS_ACTIVE ||
            zab__barrier_add(z, m->round, p->id, 0) != 0) {
            /* Refuse explicitly, so the learner's barrier fails now
             * instead of waiting for a change of leader. */
            zab__msg_t r = {.kind = ZAB__SYNC,
                            .round = m->round,
                            .zxid = ZAB__SYNC_REFUSED};
            zab__send(z, p, &r);
            z->stats[ZAB_STAT_MSGS_IGNORED]++;
        }
        return;
    default:
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
        return;
    }
}

void zab__leader_peer_down(zab_t *z, zab__peer_t *p)
{
    p->lstate = LS_NONE;
    p->is_observer = 0;
    p->epoch_acked = 0;
}

void zab__leader_durable(zab_t *z)
{
    switch (z->phase) {
    case LD_EPOCH:
        check_epoch_quorum(z);
        break;
    case LD_SYNC:
        check_newleader_quorum(z);
        break;
    case LD_BROADCAST:
        try_commit(z);
        break;
    default:
        break;
    }
}

void zab__leader_send_pings(zab_t *z)
{
    z->ping_round++;
    zab__msg_t m = {.kind = ZAB__PING,
                    .round = z->ping_round,
                    .zxid = z->committed_zxid};
    size_t flen = zab__encode_frame(z, &m);
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__peer_t *p = &z->peers[i];
        if (p->connected && p->lstate >= LS_INFO && flen > 0) {
            zab__send_frame(z, p, z->frame, flen);
        }
    }
    z->next_ping_at = z->now_ms + z->opt[ZAB_OPT_HEARTBEAT_MS];
    zab__barrier_progress(z); /* a single voter is its own quorum */
}

uint32_t zab__leader_round_votes(const zab_t *z, uint64_t round)
{
    uint32_t n = 1;
    for (uint32_t i = 0; i < z->n_peers; i++) {
        const zab__peer_t *p = &z->peers[i];
        if (counts_for_quorum(p) && p->ping_round >= round) {
            n++;
        }
    }
    return n;
}

void zab__leader_tick(zab_t *z)
{
    if (!z->established) {
        if (z->now_ms >= z->phase_deadline) {
            step_down(z, "could not establish the epoch in time");
            return;
        }
    } else {
        /* Leader.lead(): step down unless a quorum is still synced and
         * heard from within the timeout. */
        uint32_t n = 1;
        for (uint32_t i = 0; i < z->n_peers; i++) {
            const zab__peer_t *p = &z->peers[i];
            if (counts_for_quorum(p) && p->connected &&
                z->now_ms - p->last_heard_ms <=
                    z->opt[ZAB_OPT_PEER_TIMEOUT_MS]) {
                n++;
            }
        }
        if (n < z->quorum) {
            step_down(z, "lost the quorum");
            return;
        }
    }
    if (z->now_ms >= z->next_ping_at) {
        zab__leader_send_pings(z);
    }
}

uint64_t zab__leader_deadline(const zab_t *z)
{
    uint64_t d = z->next_ping_at;
    if (!z->established) {
        if (z->phase_deadline < d) {
            d = z->phase_deadline;
        }
        return d;
    }
    /* The moment a follower's silence would cost us the quorum, so that a
     * host ticking only at deadlines runs the rule on time. */
    for (uint32_t i = 0; i < z->n_peers; i++) {
        const zab__peer_t *p = &z->peers[i];
        if (counts_for_quorum(p) && p->connected) {
            uint64_t t = p->last_heard_ms + z->opt[ZAB_OPT_PEER_TIMEOUT_MS] + 1;
            if (t > z->now_ms && t < d) { /* past ones were counted */
                d = t;
            }
        }
    }
    return d;
}
