/*
 * barrier.c -- read barriers for linearizable reads (read-index).
 *
 * On the leader, a barrier records the commit point c at the time of the
 * request and the number r of the next heartbeat round.  It completes once
 * a quorum of voters answered a round >= r (so we were still the leader
 * after the request: no other leader can have committed anything we do not
 * know) and we delivered up to c.  A learner sends SYNC(id) to the leader,
 * which answers with c after such a round; the learner completes once it
 * delivered up to c.  ZooKeeper's sync only flushes the channel and skips
 * the quorum round (ZOOKEEPER-1675): a deposed leader could answer.
 *
 * Barriers are kept in request order in a bounded array; completion order
 * follows the rounds, so the array is compacted after each pass.
 */
#include "zab_int.h"

int zab__barrier_add(zab_t *z, uint64_t cookie, uint32_t origin, uint64_t id)
{
    if (z->barriers_len >= z->opt[ZAB_OPT_MAX_BARRIERS]) {
        return ZAB_EBUSY;
    }
    if (z->barriers_len == z->barriers_cap) {
        uint32_t cap = z->barriers_cap ? z->barriers_cap * 2 : 8;
        zab__barrier_t *n =
            zab__realloc(z, z->barriers, cap * sizeof *n);
        if (n == NULL) {
            return ZAB_ENOMEM;
        }
        z->barriers = n;
        z->barriers_cap = cap;
    }
    zab__barrier_t *b = &z->barriers[z->barriers_len++];
    b->cookie = cookie;
    b->origin = origin;
    b->id = id;
    if (z->role == ZAB_LEADING) {
        b->round = z->ping_round + 1;
        b->commit = z->committed_zxid;
        b->have_commit = 1;
        z->want_ping = 1; /* one new round for all barriers of this call */
    } else {
        b->round = 0;
        b->commit = 0;
        b->have_commit = 0;
    }
    return 0;
}

static void complete(zab_t *z, const zab__barrier_t *b, int status)
{
    if (status == 0) {
        z->stats[ZAB_STAT_BARRIERS]++;
    }
    if (z->ops.barrier_done != NULL) {
        z->ops.barrier_done(z->ud, b->cookie, status);
    }
}

void zab__barrier_progress(zab_t *z)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < z->barriers_len; i++) {
        zab__barrier_t b = z->barriers[i];
        int done = 0;
        if (z->role == ZAB_LEADING) {
            if (zab__leader_round_votes(z, b.round) >= z->quorum) {
                if (b.origin != 0) {
                    zab__peer_t *p = zab__peer(z, b.origin);
                    zab__msg_t m = {.kind = ZAB__SYNC,
                                    .round = b.cookie,
                                    .zxid = b.commit};
                    if (p != NULL) {
                        zab__send(z, p, &m);
                    }
                    done = 1;
                } else if (z->delivered_zxid >= b.commit) {
                    complete(z, &b, 0);
                    done = 1;
                }
            }
        } else if (b.have_commit && z->delivered_zxid >= b.commit) {
            complete(z, &b, 0);
            done = 1;
        }
        if (!done) {
            z->barriers[kept++] = b;
        }
    }
    z->barriers_len = kept;
}

void zab__barrier_sync_reply(zab_t *z, uint64_t id, uint64_t commit)
{
    for (uint32_t i = 0; i < z->barriers_len; i++) {
        zab__barrier_t *b = &z->barriers[i];
        if (b->origin == 0 && !b->have_commit && b->id == id) {
            if (commit == ZAB__SYNC_REFUSED) {
                zab__barrier_t gone = *b;
                z->barriers_len--;
                for (uint32_t k = i; k < z->barriers_len; k++) {
                    z->barriers[k] = z->barriers[k + 1];
                }
                complete(z, &gone, ZAB_EBUSY);
                return;
            }
            b->have_commit = 1;
            b->commit = commit;
            zab__barrier_progress(z);
            return;
        }
    }
    z->stats[ZAB_STAT_MSGS_IGNORED]++;
}

void zab__barrier_cancel_all(zab_t *z, int status)
{
    /* Detach first: the callback must not see a half-updated array. */
    uint32_t n = z->barriers_len;
    z->barriers_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (z->barriers[i].origin == 0) {
            complete(z, &z->barriers[i], status);
        }
    }
}
