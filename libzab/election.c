/*
 * election.c -- Phase 0: Fast Leader Election (FastLeaderElection.java).
 *
 * A LOOKING voter proposes (currentEpoch, lastZxid, myid) and adopts any
 * better vote it hears: higher epoch, then higher zxid, then higher id
 * (totalOrderPredicate).  A logical clock (the election epoch) numbers the
 * rounds; notifications of older rounds are answered, not counted.  Once a
 * quorum of voters votes like us we wait election_finalize_ms for a better
 * vote (finalizeWait) and then decide.
 *
 * A node that starts while a leader exists learns it from FOLLOWING and
 * LEADING answers: when a quorum of voters report the same leader and the
 * leader itself reports LEADING (checkLeader), it joins that leader
 * directly, whatever its own round.  Observers never propose themselves;
 * they only join a leader that way.
 *
 * The position a voter proposes for itself is durable: zab__become_looking
 * waits for writes in flight before calling zab__election_start.
 */
#include "zab_int.h"

int zab__vote_better(const zab__vote_t *a, const zab__vote_t *b)
{
    if (a->peer_epoch != b->peer_epoch) {
        return a->peer_epoch > b->peer_epoch;
    }
    if (a->zxid != b->zxid) {
        return a->zxid > b->zxid;
    }
    return a->leader > b->leader;
}

static int vote_equal(const zab__vote_t *a, const zab__vote_t *b)
{
    return a->leader == b->leader && a->zxid == b->zxid &&
           a->peer_epoch == b->peer_epoch;
}

static zab__vote_t self_vote(const zab_t *z)
{
    zab__vote_t v = {z->my_id, z->current_epoch, z->last_zxid};
    return v;
}

static int is_voter_id(const zab_t *z, uint32_t id)
{
    if (id == z->my_id) {
        return z->i_am_voter;
    }
    for (uint32_t i = 0; i < z->n_peers; i++) {
        if (z->peers[i].id == id) {
            return z->peers[i].voter;
        }
    }
    return 0;
}

void zab__send_vote(zab_t *z, zab__peer_t *p)
{
    zab__msg_t m = {.kind = ZAB__VOTE, .state = (uint8_t)z->role};
    m.leader = z->proposal.leader;
    m.zxid = z->proposal.zxid;
    m.epoch = z->proposal.peer_epoch;
    m.election_epoch = z->role == ZAB_LOOKING ? z->logical_clock
                                              : z->decided_election_epoch;
    zab__send(z, p, &m);
}

static void send_votes(zab_t *z)
{
    for (uint32_t i = 0; i < z->n_peers; i++) {
        zab__send_vote(z, &z->peers[i]);
    }
    z->retry_at = z->now_ms + z->retry_interval;
}

void zab__election_start(zab_t *z)
{
    z->logical_clock++;
    z->stats[ZAB_STAT_ELECTIONS]++;
    for (uint32_t i = 0; i < z->n_peers; i++) {
        z->peers[i].vote_valid = 0;
    }
    if (z->i_am_voter) {
        z->proposal = self_vote(z);
    } else {
        z->proposal.leader = 0;
        z->proposal.zxid = z->last_zxid;
        z->proposal.peer_epoch = z->current_epoch;
    }
    z->finalize_at = UINT64_MAX;
    z->retry_interval = z->opt[ZAB_OPT_ELECTION_TIMEOUT_MS];
    zab__trace(z, 1, "election round %llu: vote %u (%u, %u:%u)",
               (unsigned long long)z->logical_clock, z->proposal.leader,
               z->proposal.peer_epoch, ZAB_ZXID_EPOCH(z->proposal.zxid),
               ZAB_ZXID_COUNTER(z->proposal.zxid));
    send_votes(z);
    /* A single voter is its own quorum. */
    if (z->i_am_voter && z->quorum == 1) {
        z->finalize_at = z->now_ms;
    }
}

/* Voters, ourselves included, whose vote in this round equals `v`, whether
 * they are still looking or already settled on it (getVoteTracker over
 * recvset). */
static uint32_t count_round_votes(const zab_t *z, const zab__vote_t *v)
{
    uint32_t n = 0;
    if (z->i_am_voter && vote_equal(&z->proposal, v)) {
        n++;
    }
    for (uint32_t i = 0; i < z->n_peers; i++) {
        const zab__peer_t *p = &z->peers[i];
        if (p->voter && p->vote_valid &&
            p->vote_election_epoch == z->logical_clock &&
            vote_equal(&p->vote, v)) {
            n++;
        }
    }
    return n;
}

static void decide(zab_t *z, uint32_t leader, uint64_t ee)
{
    z->finalize_at = UINT64_MAX;
    if (leader == z->my_id) {
        zab__become_leader(z, ee);
    } else {
        zab__become_follower(z, leader, ee);
    }
}

/* checkLeader: we may settle on `leader` only if it is us or if it told us
 * itself that it leads; otherwise followers could wait on a node that
 * never took the role. */
static int leader_confirmed(zab_t *z, uint32_t leader)
{
    if (leader == z->my_id) {
        return 1;
    }
    const zab__peer_t *lp = zab__peer(z, leader);
    return lp != NULL && lp->vote_valid && lp->vote_state == ZAB_LEADING &&
           lp->vote.leader == leader;
}

/* Joining an existing leader: a quorum of voters (counting ourselves, as
 * we are about to follow it) report, outside of any election round, that
 * they follow or lead `leader` in the same epoch, and the leader itself
 * says it leads (termination over outofelection + checkLeader). */
static int try_join(zab_t *z, const zab__peer_t *from)
{
    uint32_t leader = from->vote.leader;
    uint32_t epoch = from->vote.peer_epoch;
    if (leader == z->my_id || !is_voter_id(z, leader) ||
        !leader_confirmed(z, leader) || z->now_ms < z->join_after) {
        return 0;
    }
    uint32_t n = z->i_am_voter ? 1 : 0;
    for (uint32_t i = 0; i < z->n_peers; i++) {
        const zab__peer_t *p = &z->peers[i];
        if (p->voter && p->vote_valid &&
            (p->vote_state == ZAB_FOLLOWING ||
             p->vote_state == ZAB_LEADING) &&
            p->vote.leader == leader && p->vote.peer_epoch == epoch) {
            n++;
        }
    }
    if (n < z->quorum) {
        return 0;
    }
    z->proposal = from->vote;
    if (from->vote_election_epoch > z->logical_clock) {
        z->logical_clock = from->vote_election_epoch;
    }
    decide(z, leader, from->vote_election_epoch);
    return 1;
}

static void check_quorum(zab_t *z)
{
    if (!z->i_am_voter) {
        return;
    }
    if (count_round_votes(z, &z->proposal) >= z->quorum) {
        if (z->finalize_at == UINT64_MAX) {
            z->finalize_at = z->now_ms + z->opt[ZAB_OPT_ELECTION_FINALIZE_MS];
        }
    } else {
        z->finalize_at = UINT64_MAX;
    }
}

static void adopt(zab_t *z, const zab__vote_t *v)
{
    z->proposal = *v;
    z->finalize_at = UINT64_MAX;
    z->retry_interval = z->opt[ZAB_OPT_ELECTION_TIMEOUT_MS];
    send_votes(z);
}

static void looking_recv(zab_t *z, zab__peer_t *p, const zab__msg_t *m)
{
    if (!p->voter) {
        /* Observers have no say; a voter answers so they learn the leader.
         * Non-voters never answer each other, or two of them would echo
         * notifications forever. */
        if (z->i_am_voter && m->state == ZAB_LOOKING) {
            zab__send_vote(z, p);
        }
        return;
    }
    /* A vote naming us is only as good as our own durable position: a
     * relayed one may carry what we held before a crash. */
    zab__vote_t v = p->vote;
    if (v.leader == z->my_id) {
        v = self_vote(z);
    }
    if (m->state == ZAB_LOOKING) {
        if (!z->i_am_voter) {
            return; /* an observer learns only from settled voters */
        }
        if (m->election_epoch > z->logical_clock) {
            /* A newer round: join it, forgetting the old round's votes. */
            z->logical_clock = m->election_epoch;
            for (uint32_t i = 0; i < z->n_peers; i++) {
                if (&z->peers[i] != p &&
                    z->peers[i].vote_state == ZAB_LOOKING) {
                    z->peers[i].vote_valid = 0;
                }
            }
            zab__vote_t mine = self_vote(z);
            if (is_voter_id(z, v.leader) && zab__vote_better(&v, &mine)) {
                adopt(z, &v);
            } else {
                adopt(z, &mine);
            }
        } else if (m->election_epoch < z->logical_clock) {
            /* The sender lags: tell it where we are; do not count. */
            p->vote_valid = 0;
            zab__send_vote(z, p);
            return;
        } else if (is_voter_id(z, v.leader) &&
                   zab__vote_better(&v, &z->proposal)) {
            adopt(z, &v);
        }
        check_quorum(z);
        return;
    }
    /* FOLLOWING or LEADING: a settled voter.  In our own round its vote
     * counts like any other, and settles us at once if it completes a
     * quorum that the leader confirmed; in any round it may let us join
     * an established leader. */
    if (z->i_am_voter && m->election_epoch == z->logical_clock &&
        is_voter_id(z, p->vote.leader) &&
        count_round_votes(z, &p->vote) >= z->quorum &&
        leader_confirmed(z, p->vote.leader)) {
        z->proposal = p->vote;
        decide(z, p->vote.leader, z->logical_clock);
        return;
    }
    if (try_join(z, p)) {
        return;
    }
    check_quorum(z);
}

void zab__election_recv_vote(zab_t *z, zab__peer_t *p, const zab__msg_t *m)
{
    p->vote_valid = 1;
    p->vote_state = m->state;
    p->vote.leader = m->leader;
    p->vote.zxid = m->zxid;
    p->vote.peer_epoch = m->epoch;
    p->vote_election_epoch = m->election_epoch;

    if (z->role == ZAB_LOOKING) {
        if (z->draining) {
            return; /* our position is not durable yet; peers retry */
        }
        looking_recv(z, p, m);
        return;
    }
    if (m->state != ZAB_LOOKING) {
        return;
    }
    /* A peer is looking while we are settled.  A notification from the
     * round we settled in (or an older one) was sent before its sender
     * settled and merely arrived late; only a newer round means the sender
     * started a new election. */
    int newer = m->election_epoch > z->decided_election_epoch;
    if ((z->role == ZAB_FOLLOWING || z->role == ZAB_OBSERVING) &&
        p->id == z->leader_id && newer) {
        /* Our leader gave up leading: no point waiting for its timeout. */
        zab__become_looking(z, "the leader is looking");
        return;
    }
    if (z->role == ZAB_LEADING && p->lstate != LS_NONE && newer) {
        /* A learner of ours left; it will come back through discovery. */
        zab__leader_peer_down(z, p);
    }
    zab__send_vote(z, p);
}

void zab__election_peer_up(zab_t *z, zab__peer_t *p)
{
    if (!z->draining) {
        zab__send_vote(z, p);
    }
}

void zab__election_tick(zab_t *z)
{
    if (z->draining) {
        return;
    }
    if (z->finalize_at != UINT64_MAX && z->now_ms >= z->finalize_at) {
        z->finalize_at = UINT64_MAX;
        if (z->i_am_voter &&
            count_round_votes(z, &z->proposal) >= z->quorum) {
            decide(z, z->proposal.leader, z->logical_clock);
            return;
        }
    }
    if (z->now_ms >= z->retry_at) {
        /* Nothing settled: say it again, a little less often each time
         * (FastLeaderElection doubles its notification timeout). */
        uint64_t max = z->opt[ZAB_OPT_ELECTION_TIMEOUT_MS] * 8;
        z->retry_interval *= 2;
        if (z->retry_interval > max) {
            z->retry_interval = max;
        }
        send_votes(z);
    }
}

uint64_t zab__election_deadline(const zab_t *z)
{
    if (z->draining) {
        return UINT64_MAX;
    }
    uint64_t d = z->retry_at;
    if (z->finalize_at < d) {
        d = z->finalize_at;
    }
    return d;
}
