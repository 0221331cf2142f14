/*
 * learner.c -- Phases 1 to 3 on a follower or observer (Learner.java,
 * Follower.java, Observer.java).
 *
 * Discovery: send FOLLOWERINFO (or OBSERVERINFO) with our acceptedEpoch.
 * On LEADERINFO(e): if e is above our acceptedEpoch, persist it and only
 * then answer ACKEPOCH with our currentEpoch and last zxid; if e equals it
 * (we already accepted e, e.g. on a reconnect) answer without an
 * acknowledgement; if e is below it, abandon this leader.
 *
 * Synchronisation: DIFF, TRUNC or SNAP, then the leader's entries as
 * PROPOSALs, then NEWLEADER.  Once the whole history is durable we persist
 * currentEpoch = e and only then send ACKNEWLEADER.  UPTODATE makes us
 * serve.  Followers acknowledge proposals (cumulatively, once durable) only
 * after ACKNEWLEADER, so that every ACK comes from a node whose durable
 * currentEpoch is the leader's.
 *
 * Anything from the leader that makes no sense in the current phase (a gap
 * in the zxids, a TRUNC below what we know committed, NEWLEADER for a
 * history we do not hold) is a protocol error: we drop the leader and
 * elect again rather than guess.
 */
#include "zab_int.h"

/* Leaves a leader we could not follow.  The leader is probably alive and
 * would take us back at once, and fail us the same way: wait an election
 * timeout before joining a settled leader again, so that retries are
 * paced instead of back to back. */
static void abandon(zab_t *z, const char *why)
{
    z->join_after = z->now_ms + z->opt[ZAB_OPT_ELECTION_TIMEOUT_MS];
    zab__become_looking(z, why);
}

static void protocol_error(zab_t *z, const char *what)
{
    z->stats[ZAB_STAT_MSGS_MALFORMED]++;
    zab__trace(z, 0, "protocol error from leader %u: %s", z->leader_id, what);
    abandon(z, what);
}

static zab__peer_t *leader_peer(zab_t *z)
{
    return zab__peer(z, z->leader_id);
}

static void send_to_leader(zab_t *z, const zab__msg_t *m)
{
    zab__peer_t *p = leader_peer(z);
    if (p != NULL) {
        zab__send(z, p, m);
    }
}

static void send_info(zab_t *z)
{
    zab__msg_t m = {.kind = z->i_am_voter ? ZAB__FOLLOWERINFO
                                          : ZAB__OBSERVERINFO,
                    .epoch = z->accepted_epoch,
                    .zxid = z->last_zxid};
    send_to_leader(z, &m);
    z->phase = LP_INFO_SENT;
    /* The leader may still be finishing its own election and ignore this
     * (ZooKeeper's learners retry the connection); say it again until
     * LEADERINFO comes. */
    z->info_retry_at = z->now_ms + z->opt[ZAB_OPT_ELECTION_TIMEOUT_MS];
}

void zab__learner_start(zab_t *z)
{
    z->phase = LP_CONNECT;
    z->phase_deadline = z->now_ms + z->opt[ZAB_OPT_SYNC_TIMEOUT_MS];
    z->leader_heard_ms = z->now_ms;
    z->epoch_wait_seq = 0;
    z->newleader_zxid = 0;
    z->acked_zxid = 0;
    z->snap_total = 0;
    z->snap_received = 0;
    z->snap_zxid = 0;
    zab__peer_t *p = leader_peer(z);
    if (p != NULL && p->connected) {
        send_info(z);
    }
}

void zab__learner_peer_up(zab_t *z, zab__peer_t *p)
{
    if (p->id == z->leader_id && z->phase == LP_CONNECT) {
        send_info(z);
    }
}

/* Sends a cumulative ACK for everything durable, once acks are allowed. */
static void maybe_ack(zab_t *z)
{
    if (!z->acks_enabled || !z->i_am_voter) {
        return;
    }
    if (z->durable_zxid > z->acked_zxid && z->durable_zxid <= z->last_zxid) {
        zab__msg_t m = {.kind = ZAB__ACK, .zxid = z->durable_zxid};
        send_to_leader(z, &m);
        z->acked_zxid = z->durable_zxid;
    }
}

static void send_ackepoch(zab_t *z, int acked)
{
    zab__msg_t m = {.kind = ZAB__ACKEPOCH,
                    .flags = (uint8_t)acked,
                    .epoch = z->current_epoch,
                    .zxid = z->last_zxid};
    send_to_leader(z, &m);
    z->phase = LP_SYNC;
    z->sync_started = 0;
}

static void try_ack_newleader(zab_t *z)
{
    if (z->phase != LP_NEWLEADER_WAIT) {
        return;
    }
    if (z->epoch_wait_seq == 0) {
        /* currentEpoch only once the history it stands for is durable. */
        if (z->log_seq_done < z->log_seq_issued) {
            return;
        }
        z->epoch_wait_seq = zab__save_epochs(z, z->accepted_issued, z->epoch);
        if (z->epoch_wait_seq == 0) {
            abandon(z, "cannot save currentEpoch");
            return;
        }
    }
    if (!zab__epoch_durable(z, z->epoch_wait_seq)) {
        return;
    }
    z->epoch_wait_seq = 0;
    zab__msg_t m = {.kind = ZAB__ACKNEWLEADER,
                    .epoch = z->epoch,
                    .zxid = z->newleader_zxid};
    send_to_leader(z, &m);
    z->acks_enabled = 1;
    z->acked_zxid = z->newleader_zxid;
    z->phase = LP_UPTODATE_WAIT;
    maybe_ack(z);
}

void zab__learner_durable(zab_t *z)
{
    if (z->phase == LP_EPOCH_WAIT && zab__epoch_durable(z, z->epoch_wait_seq)) {
        z->epoch_wait_seq = 0;
        send_ackepoch(z, 1);
    }
    try_ack_newleader(z);
    maybe_ack(z);
}

static void recv_leaderinfo(zab_t *z, const zab__msg_t *m)
{
    if (z->phase != LP_INFO_SENT) {
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
        return;
    }
    if (m->epoch == 0) {
        /* A leader proposes max(acceptedEpoch) + 1: never 0. */
        protocol_error(z, "LEADERINFO for epoch 0");
        return;
    }
    z->epoch = m->epoch;
    if (m->epoch > z->accepted_issued) {
        z->epoch_wait_seq = zab__save_epochs(z, m->epoch, z->current_issued);
        if (z->epoch_wait_seq == 0) {
            abandon(z, "cannot save acceptedEpoch");
            return;
        }
        z->phase = LP_EPOCH_WAIT;
        zab__learner_durable(z);
    } else if (m->epoch == z->accepted_issued) {
        send_ackepoch(z, 0);
    } else {
        abandon(z, "the leader's epoch is older than ours");
    }
}

/* Logs one entry received from the leader, caching it for delivery when
 * memory allows (the log has it either way). */
static int append_entry(zab_t *z, const zab__msg_t *m)
{
    if (m->zxid <= z->last_zxid) {
        return ZAB_EPROTO;
    }
    if (ZAB_ZXID_EPOCH(m->zxid) == ZAB_ZXID_EPOCH(z->last_zxid) &&
        ZAB_ZXID_COUNTER(m->zxid) != ZAB_ZXID_COUNTER(z->last_zxid) + 1) {
        return ZAB_EPROTO; /* a gap: something was lost */
    }
    if (ZAB_ZXID_EPOCH(m->zxid) > z->accepted_issued) {
        return ZAB_EPROTO;
    }
    if (zab__log_reserve(z) != 0) {
        return ZAB_ENOMEM;
    }
    if (zab__queue_push(z, &z->queue, m->zxid, m->data, m->len,
                        z->opt[ZAB_OPT_MAX_PENDING_BYTES]) != 0) {
        /* Keep the cache a contiguous tail of the log: drop it. */
        zab__queue_reset(&z->queue, m->zxid);
    }
    if (zab__log_append(z, m->zxid, m->data, m->len) == 0) {
        return ZAB_EIO;
    }
    return 0;
}

static void recv_sync_start(zab_t *z, const zab__msg_t *m)
{
    if (z->phase != LP_SYNC || z->sync_started) {
        protocol_error(z, "sync mode out of phase");
        return;
    }
    if (m->kind == ZAB__DIFF) {
        if (m->zxid != z->last_zxid) {
            protocol_error(z, "DIFF from a zxid that is not our last");
            return;
        }
    } else {
        uint64_t t = m->zxid;
        if (t > z->last_zxid || t < z->delivered_zxid ||
            t < z->committed_zxid) {
            protocol_error(z, "TRUNC below what is committed");
            return;
        }
        if (t < z->last_zxid && zab__log_truncate(z, t) == 0) {
            abandon(z, "cannot truncate the log");
            return;
        }
    }
    z->sync_started = 1;
}

static int snap_in_progress(const zab_t *z)
{
    return z->snap_total != 0 && z->snap_received < z->snap_total;
}

static void recv_snap(zab_t *z, const zab__msg_t *m)
{
    if (z->phase != LP_SYNC) {
        protocol_error(z, "SNAP out of phase");
        return;
    }
    if (!z->sync_started) {
        if (m->offset != 0 || m->zxid < z->delivered_zxid) {
            protocol_error(z, "SNAP older than what we delivered");
            return;
        }
        z->sync_started = 1;
        z->snap_zxid = m->zxid;
        z->snap_total = m->total;
        z->snap_received = 0;
    } else if (!snap_in_progress(z)) {
        protocol_error(z, "SNAP after the sync began");
        return;
    } else if (m->zxid != z->snap_zxid || m->total != z->snap_total ||
               m->offset != z->snap_received) {
        protocol_error(z, "SNAP chunk out of order");
        return;
    }
    if (zab__log_install(z, m->zxid, m->offset, m->total, m->data, m->len) ==
        0) {
        abandon(z, "cannot install the snapshot");
        return;
    }
    z->snap_received += m->len;
    if (z->snap_received == z->snap_total) {
        /* The host now reflects the snapshot. */
        z->delivered_zxid = m->zxid;
        if (z->committed_zxid < m->zxid) {
            z->committed_zxid = m->zxid;
        }
        z->snap_total = 0;
        z->snap_received = 0;
    }
}

static void recv_proposal(zab_t *z, const zab__msg_t *m)
{
    if (z->phase == LP_SYNC) {
        if (!z->sync_started || snap_in_progress(z)) {
            protocol_error(z, "entry before the sync mode");
            return;
        }
    } else if (z->phase < LP_NEWLEADER_WAIT ||
               ZAB_ZXID_EPOCH(m->zxid) != z->epoch) {
        protocol_error(z, "proposal out of phase");
        return;
    }
    int rc = append_entry(z, m);
    if (rc == ZAB_EPROTO) {
        protocol_error(z, "proposal out of order");
    } else if (rc != 0) {
        abandon(z, "cannot log a proposal");
    }
}

static void raise_commit(zab_t *z, uint64_t zxid)
{
    if (zxid > z->last_zxid) {
        zxid = z->last_zxid;
    }
    if (zxid > z->committed_zxid) {
        z->committed_zxid = zxid;
        zab__deliver(z);
    }
}

static void recv_newleader(zab_t *z, const zab__msg_t *m)
{
    if (z->phase != LP_SYNC || !z->sync_started || snap_in_progress(z) ||
        m->epoch != z->epoch || m->zxid != z->last_zxid) {
        protocol_error(z, "NEWLEADER does not match our history");
        return;
    }
    z->newleader_zxid = m->zxid;
    z->epoch_wait_seq = 0;
    z->phase = LP_NEWLEADER_WAIT;
    try_ack_newleader(z);
}

void zab__learner_recv(zab_t *z, zab__peer_t *p, const zab__msg_t *m)
{
    if (p->id != z->leader_id) {
        /* Only the leader we follow speaks to us in these phases. */
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
        return;
    }
    z->leader_heard_ms = z->now_ms;
    switch (m->kind) {
    case ZAB__LEADERINFO:
        recv_leaderinfo(z, m);
        return;
    case ZAB__DIFF:
    case ZAB__TRUNC:
        recv_sync_start(z, m);
        return;
    case ZAB__SNAP:
        recv_snap(z, m);
        return;
    case ZAB__PROPOSAL:
        recv_proposal(z, m);
        return;
    case ZAB__NEWLEADER:
        recv_newleader(z, m);
        return;
    case ZAB__UPTODATE:
        if (z->phase != LP_UPTODATE_WAIT) {
            protocol_error(z, "UPTODATE out of phase");
            return;
        }
        z->phase = LP_BROADCAST;
        zab__set_serving(z, 1);
        raise_commit(z, m->zxid);
        return;
    case ZAB__COMMIT:
        if (z->phase < LP_NEWLEADER_WAIT || m->zxid > z->last_zxid) {
            /* A COMMIT for a zxid we never received: never act on it. */
            z->stats[ZAB_STAT_MSGS_IGNORED]++;
            return;
        }
        raise_commit(z, m->zxid);
        return;
    case ZAB__INFORM:
        if (z->i_am_voter || z->phase < LP_NEWLEADER_WAIT) {
            z->stats[ZAB_STAT_MSGS_IGNORED]++;
            return;
        }
        if (m->zxid > z->last_zxid) {
            if (ZAB_ZXID_EPOCH(m->zxid) != z->epoch) {
                protocol_error(z, "INFORM from another epoch");
                return;
            }
            int rc = append_entry(z, m);
            if (rc != 0) {
                protocol_error(z, "INFORM out of order");
                return;
            }
        }
        raise_commit(z, m->zxid);
        return;
    case ZAB__PING: {
        zab__msg_t r = {.kind = ZAB__PING,
                        .round = m->round,
                        .zxid = z->durable_zxid};
        send_to_leader(z, &r);
        if (z->phase == LP_BROADCAST) {
            raise_commit(z, m->zxid);
        }
        return;
    }
    case ZAB__SYNC:
        zab__barrier_sync_reply(z, m->round, m->zxid);
        return;
    default:
        z->stats[ZAB_STAT_MSGS_IGNORED]++;
        return;
    }
}

void zab__learner_tick(zab_t *z)
{
    if (z->phase == LP_INFO_SENT && z->now_ms >= z->info_retry_at) {
        send_info(z);
    }
    if (z->phase != LP_BROADCAST && z->now_ms >= z->phase_deadline) {
        zab__become_looking(z, "synchronisation timed out");
        return;
    }
    if (z->now_ms - z->leader_heard_ms > z->opt[ZAB_OPT_PEER_TIMEOUT_MS]) {
        zab__become_looking(z, "the leader is silent");
    }
}

uint64_t zab__learner_deadline(const zab_t *z)
{
    uint64_t d = z->leader_heard_ms + z->opt[ZAB_OPT_PEER_TIMEOUT_MS] + 1;
    /* Frames are stamped at the next tick: ask for one every heartbeat so
     * that a host ticking only at deadlines keeps the stamps fresh. */
    if (z->now_ms + z->opt[ZAB_OPT_HEARTBEAT_MS] < d) {
        d = z->now_ms + z->opt[ZAB_OPT_HEARTBEAT_MS];
    }
    if (z->phase != LP_BROADCAST && z->phase_deadline < d) {
        d = z->phase_deadline;
    }
    if (z->phase == LP_INFO_SENT && z->info_retry_at < d) {
        d = z->info_retry_at;
    }
    return d;
}
