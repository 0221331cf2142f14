/*
 * check_cluster.c -- whole-protocol behaviour on the in-process cluster
 * (lib_cluster.h): who gets elected, quorum counting (observers never
 * count, the leader's own vote only once durable), the choice of DIFF,
 * TRUNC or SNAP for each learner, agreement of the delivered sequences,
 * forwarding, back-pressure (outstanding proposals, pending bytes), epoch
 * change on counter exhaustion, read barriers, and faults: leader
 * failover with an uncommitted tail, restarts, isolated and stalled
 * leaders, failed disks and sends, hosts that cannot install snapshots.
 *
 * Every test ends with cl_assert_clean(): no host-contract violation, no
 * frame refused as malformed, no malformed message counted, and delivered
 * sequences that are prefixes of one another.  Tests that found a
 * library bug say so; they stay as regression tests.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "zab_int.h"
#include "lib_cluster.h"

#define Z(e, c) ZAB_ZXID(e, c)
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Election -------------------------------------------------------------- */

typedef struct seed {
    uint32_t accepted, current;
    const uint64_t *log;
    size_t n;
    uint64_t delivered;
} seed_t;

static const uint64_t L1[] = {Z(1, 1)};
static const uint64_t L12[] = {Z(1, 1), Z(1, 2)};
static const uint64_t L123[] = {Z(1, 1), Z(1, 2), Z(1, 3)};
static const uint64_t L1234[] = {Z(1, 1), Z(1, 2), Z(1, 3), Z(1, 4)};
static const uint64_t L12345[] = {Z(1, 1), Z(1, 2), Z(1, 3), Z(1, 4),
                                  Z(1, 5)};
static const uint64_t L1_21[] = {Z(1, 1), Z(2, 1)};

typedef struct election_case {
    const char *what;
    seed_t s[3];
    uint32_t leader;
    uint32_t epoch; /* the epoch it establishes */
} election_case_t;

static const election_case_t election_cases[] = {
    {"all empty: highest id",
     {{0, 0, NULL, 0, 0}, {0, 0, NULL, 0, 0}, {0, 0, NULL, 0, 0}}, 3, 1},
    {"longest log wins over id",
     {{1, 1, L1234, 4, Z(1, 2)}, {1, 1, L12, 2, Z(1, 2)},
      {1, 1, L12, 2, Z(1, 2)}},
     1, 2},
    {"currentEpoch wins over a longer log",
     {{1, 1, L1234, 4, Z(1, 1)}, {2, 2, L12, 2, Z(1, 1)},
      {1, 1, L123, 3, Z(1, 1)}},
     2, 3},
    {"equal epoch and zxid: higher id",
     {{1, 1, L123, 3, Z(1, 3)}, {1, 1, L123, 3, Z(1, 3)},
      {1, 1, L1, 1, Z(1, 1)}},
     2, 2},
    {"currentEpoch counts, not acceptedEpoch",
     {{2, 2, L1_21, 2, Z(1, 1)}, {2, 2, L1, 1, Z(1, 1)},
      {2, 1, L12345, 5, Z(1, 1)}},
     1, 3},
    {"all equal: highest id",
     {{1, 1, L12, 2, Z(1, 1)}, {1, 1, L12, 2, Z(1, 1)},
      {1, 1, L12, 2, Z(1, 1)}},
     3, 2},
};

static cl_cluster_t *seeded3(const seed_t s[3])
{
    cl_cluster_t *c = cl_new(3, 0);
    for (uint32_t i = 0; i < 3; i++) {
        cl_seed(c, i + 1, s[i].accepted, s[i].current, s[i].log, s[i].n,
                s[i].delivered);
    }
    return c;
}

START_TEST(test_election_order)
{
    const election_case_t *ec = &election_cases[_i];
    cl_cluster_t *c = seeded3(ec->s);
    cl_boot_all(c);
    uint32_t l = cl_wait_stable(c, 1000);
    ck_assert_msg(l == ec->leader, "%s: node %u leads, expected %u", ec->what,
                  l, ec->leader);
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_EPOCHS_LED), 1);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert_uint_eq(cl_stat(c, id, ZAB_STAT_CURRENT_EPOCH), ec->epoch);
        ck_assert_uint_eq(cl_stat(c, id, ZAB_STAT_ACCEPTED_EPOCH), ec->epoch);
        ck_assert_uint_eq(cl_node(c, id)->current, ec->epoch);
        ck_assert_msg(cl_logs_equal(c, id, l), "%s: log of %u differs",
                      ec->what, id);
        /* The whole initial history is committed once established. */
        ck_assert_uint_eq(cl_stat(c, id, ZAB_STAT_DELIVERED_ZXID),
                          cl_stat(c, l, ZAB_STAT_LAST_ZXID));
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* Followers that settle on a leader before the leader itself has counted
 * enough votes send FOLLOWERINFO to a node that is still LOOKING; they
 * must not wait for a timeout to be heard. */
START_TEST(test_election_followers_first)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_block(c, 1, 3, 1);
    cl_block(c, 2, 3, 1);
    cl_boot_all(c);
    /* 1 and 2 see each other's votes for 3 and decide at 50 ms; 3 hears
     * nothing from them until 60 ms. */
    cl_run(c, 60);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_ROLE), ZAB_FOLLOWING);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_ROLE), ZAB_LOOKING);
    ck_assert_uint_ge(cl_sent(c, 1, 3, ZAB__FOLLOWERINFO), 1);
    cl_block(c, 1, 3, 0);
    cl_block(c, 2, 3, 0);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    ck_assert_uint_le(c->now, 1000);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* A node that starts while a leader is established joins it, even with
 * a higher id, and the leader counts a late synchronisation. */
START_TEST(test_election_late_joiner)
{
    cl_cluster_t *c = cl_new(3, 0);
    ck_assert_int_eq(cl_boot(c, 1), 0);
    ck_assert_int_eq(cl_boot(c, 2), 0);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 2);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 2, "before", &z), 0);
    ck_assert_int_eq(cl_propose(c, 2, "before2", &z), 0);
    cl_settle(c);
    ck_assert_int_eq(cl_boot(c, 3), 0);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 2);
    ck_assert_uint_eq(cl_stat(c, 2, ZAB_STAT_SYNC_LATE), 1);
    ck_assert_uint_eq(cl_stat(c, 2, ZAB_STAT_EPOCHS_LED), 1);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_CURRENT_EPOCH), 1);
    ck_assert(cl_logs_equal(c, 3, 2));
    ck_assert(cl_applied_equal(c, 3, 2));
    ck_assert(cl_delivered_payload(c, 3, "before2"));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* Two LOOKING observers must not answer each other's notifications: they
 * used to, forever (an unbounded vote storm while no voter quorum is up;
 * found by this test).  Booted alone, their exchange dies down. */
START_TEST(test_election_observers_no_vote_storm)
{
    cl_cluster_t *c = cl_new(3, 2);
    ck_assert_int_eq(cl_boot(c, 4), 0);
    ck_assert_int_eq(cl_boot(c, 5), 0);
    int quiet = 0;
    for (int i = 0; i < 1000; i++) {
        if (!cl_step(c)) {
            quiet = 1;
            break;
        }
    }
    uint64_t votes = cl_sent(c, 4, 5, ZAB__VOTE) + cl_sent(c, 5, 4, ZAB__VOTE);
    cl_free(c);
    ck_assert_msg(quiet && votes <= 4,
                  "observers 4 and 5 exchanged %llu votes without pause",
                  (unsigned long long)votes);
}
END_TEST

/* ---- Quorum counting -------------------------------------------------------- */

/* Boots every node at once and waits for a stable leader. */
static cl_cluster_t *stable_cluster(int voters, int observers, uint32_t *leader)
{
    cl_cluster_t *c = cl_new(voters, observers);
    cl_boot_all(c);
    *leader = cl_wait_stable(c, 1000);
    return c;
}

START_TEST(test_quorum_three)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    ck_assert_uint_eq(l, 3);
    cl_block(c, 1, 3, 1);
    cl_block(c, 2, 3, 1);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    ck_assert_uint_eq(z, Z(1, 1));
    cl_run(c, 100);
    /* Both followers logged it durably; their ACKs are held. */
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_DURABLE_ZXID), z);
    ck_assert_uint_eq(cl_stat(c, 2, ZAB_STAT_DURABLE_ZXID), z);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_DURABLE_ZXID), z);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), 0);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_OUTSTANDING), 1);
    ck_assert(!cl_delivered_payload(c, 3, "a"));
    /* One follower's ACK makes a quorum with the leader. */
    cl_block(c, 1, 3, 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), z);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITS), 1);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_OUTSTANDING), 0);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert(cl_delivered_payload(c, id, "a"));
    }
    cl_block(c, 2, 3, 0);
    cl_settle(c);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

START_TEST(test_quorum_five)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(5, 0, &l);
    ck_assert_uint_eq(l, 5);
    for (uint32_t id = 1; id <= 4; id++) {
        cl_block(c, id, 5, 1);
    }
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 5, "a", &z), 0);
    cl_run(c, 100);
    ck_assert_uint_eq(cl_stat(c, 5, ZAB_STAT_COMMITTED_ZXID), 0);
    /* Leader + one follower: 2 of 5, not a quorum. */
    cl_block(c, 1, 5, 0);
    cl_run(c, 100);
    ck_assert_uint_eq(cl_stat(c, 5, ZAB_STAT_COMMITTED_ZXID), 0);
    ck_assert_uint_ge(cl_sent(c, 1, 5, ZAB__ACK), 1);
    for (uint32_t id = 1; id <= 5; id++) {
        ck_assert(!cl_delivered_payload(c, id, "a"));
    }
    /* Leader + two followers: 3 of 5. */
    cl_block(c, 2, 5, 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 5, ZAB_STAT_COMMITTED_ZXID), z);
    for (uint32_t id = 1; id <= 5; id++) {
        ck_assert(cl_delivered_payload(c, id, "a"));
    }
    cl_block(c, 3, 5, 0);
    cl_block(c, 4, 5, 0);
    cl_settle(c);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* The leader's own vote counts only once its write is durable. */
START_TEST(test_quorum_leader_durability)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_set_persist(c, 3, CL_PERSIST_DEFERRED);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    cl_hold_disk(c, 3, 1);
    cl_block(c, 2, 3, 1);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    cl_run(c, 100);
    ck_assert_uint_ge(cl_sent(c, 1, 3, ZAB__ACK), 1);
    ck_assert_uint_lt(cl_stat(c, 3, ZAB_STAT_DURABLE_ZXID), z);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), 0);
    /* Two followers are a quorum without the leader; it still delivers
     * nothing until its own copy is durable. */
    cl_block(c, 2, 3, 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), z);
    ck_assert(!cl_delivered_payload(c, 3, "a"));
    ck_assert(cl_delivered_payload(c, 1, "a"));
    ck_assert(cl_delivered_payload(c, 2, "a"));
    cl_hold_disk(c, 3, 0);
    cl_settle(c);
    ck_assert(cl_delivered_payload(c, 3, "a"));

    /* And the reverse: the leader durable plus no follower is not enough,
     * the leader durable plus one follower is. */
    cl_block(c, 1, 3, 1);
    cl_block(c, 2, 3, 1);
    ck_assert_int_eq(cl_propose(c, 3, "b", &z), 0);
    cl_run(c, 100);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_DURABLE_ZXID), z);
    ck_assert_uint_lt(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), z);
    cl_block(c, 2, 3, 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), z);
    cl_block(c, 1, 3, 0);
    cl_settle(c);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

static void inject(cl_cluster_t *c, uint32_t to, uint32_t from,
                   const zab__msg_t *m)
{
    uint8_t buf[256];
    ck_assert_uint_le(zab__encoded_size(m), sizeof buf);
    size_t n = zab__encode(m, buf);
    ck_assert_int_eq(zab_recv(cl_z(c, to), from, buf, n), 0);
}

/* 3 voters + 2 observers; two voters cut off from the leader by held
 * links: whatever the observers say, nothing commits and no barrier
 * completes. */
START_TEST(test_quorum_observers_never_count)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 2, &l);
    ck_assert_uint_eq(l, 3);
    ck_assert_uint_eq(cl_stat(c, 4, ZAB_STAT_ROLE), ZAB_OBSERVING);
    ck_assert_uint_eq(cl_stat(c, 5, ZAB_STAT_ROLE), ZAB_OBSERVING);
    cl_block(c, 1, 3, 1);
    cl_block(c, 2, 3, 1);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    ck_assert_int_eq(zab_read_barrier(cl_z(c, 3), 77), 0);
    uint64_t ignored = cl_stat(c, 3, ZAB_STAT_MSGS_IGNORED);
    /* Observers acknowledging anyway (a buggy or hostile observer). */
    zab__msg_t ack = {.kind = ZAB__ACK, .zxid = z};
    inject(c, 3, 4, &ack);
    inject(c, 3, 5, &ack);
    zab__msg_t anl = {.kind = ZAB__ACKNEWLEADER, .epoch = 1, .zxid = z};
    inject(c, 3, 4, &anl);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_MSGS_IGNORED), ignored + 3);
    /* Two heartbeat rounds: observers answer them, voters cannot. */
    cl_run(c, 1100);
    ck_assert_uint_ge(cl_sent(c, 4, 3, ZAB__PING), 2);
    /* An observer answering the current heartbeat round. */
    zab__msg_t ping = {.kind = ZAB__PING,
                       .round = cl_z(c, 3)->ping_round,
                       .zxid = z};
    inject(c, 3, 5, &ping);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_ROLE), ZAB_LEADING);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), 0);
    ck_assert_int_eq(cl_barrier_done(c, 3, 77, NULL), 0);
    for (uint32_t id = 1; id <= 5; id++) {
        ck_assert(!cl_delivered_payload(c, id, "a"));
    }
    cl_block(c, 1, 3, 0);
    cl_block(c, 2, 3, 0);
    uint64_t want = z;
    ck_assert(cl_run_until(c, cl_pred_delivered, &want, 1000));
    int st = -99;
    ck_assert(cl_run_until(c, NULL, NULL, 600));
    ck_assert_int_eq(cl_barrier_done(c, 3, 77, &st), 1);
    ck_assert_int_eq(st, 0);
    /* Observers got the transaction as INFORM, never as PROPOSAL. */
    ck_assert_uint_ge(cl_sent(c, 3, 4, ZAB__INFORM), 1);
    ck_assert_uint_eq(cl_sent(c, 3, 4, ZAB__PROPOSAL), 0);
    ck_assert_uint_eq(cl_sent(c, 4, 3, ZAB__ACK), 0);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* ---- Synchronisation -------------------------------------------------------------- */

static const uint64_t L123_2122[] = {Z(1, 1), Z(1, 2), Z(1, 3), Z(2, 1),
                                     Z(2, 2)};
static const uint64_t L123_31[] = {Z(1, 1), Z(1, 2), Z(1, 3), Z(3, 1)};
static const uint64_t L1_2124[] = {Z(1, 1), Z(2, 1), Z(2, 2), Z(2, 3),
                                   Z(2, 4)};
static const uint64_t L1_2122_31[] = {Z(1, 1), Z(2, 1), Z(2, 2), Z(3, 1)};
static const uint64_t L1to8[] = {Z(1, 1), Z(1, 2), Z(1, 3), Z(1, 4),
                                 Z(1, 5), Z(1, 6), Z(1, 7), Z(1, 8)};

static void check_sync_stats(cl_cluster_t *c, uint32_t l, uint64_t diff,
                             uint64_t trunc, uint64_t snap)
{
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_SYNC_DIFF), diff);
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_SYNC_TRUNC), trunc);
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_SYNC_SNAP), snap);
}

START_TEST(test_sync_equal_diff)
{
    seed_t s[3] = {{1, 1, L123, 3, Z(1, 2)},
                   {1, 1, L123, 3, Z(1, 2)},
                   {1, 1, L123, 3, Z(1, 2)}};
    cl_cluster_t *c = seeded3(s);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    check_sync_stats(c, 3, 2, 0, 0);
    for (uint32_t id = 1; id <= 2; id++) {
        ck_assert_uint_eq(cl_sent(c, 3, id, ZAB__DIFF), 1);
        ck_assert_uint_eq(cl_sent(c, 3, id, ZAB__PROPOSAL), 0);
        ck_assert_uint_eq(cl_node(c, id)->n_append, 0);
        ck_assert_uint_eq(cl_node(c, id)->n_truncate, 0);
        ck_assert(cl_logs_equal(c, id, 3));
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

START_TEST(test_sync_behind_diff)
{
    seed_t s[3] = {{1, 1, L1, 1, Z(1, 1)},
                   {1, 1, L1234, 4, Z(1, 1)},
                   {1, 1, L1234, 4, Z(1, 1)}};
    cl_cluster_t *c = seeded3(s);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    check_sync_stats(c, 3, 2, 0, 0);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__DIFF), 1);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__PROPOSAL), 3);
    ck_assert_uint_eq(cl_sent(c, 3, 2, ZAB__PROPOSAL), 0);
    ck_assert_uint_eq(cl_node(c, 1)->n_append, 3);
    ck_assert(cl_logs_equal(c, 1, 3));
    ck_assert(cl_applied_equal(c, 1, 3));
    ck_assert_uint_eq(cl_node(c, 1)->applied_zxid, Z(1, 4));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* The learner logged proposals of an old epoch that the new leader never
 * had: they go (TRUNC), and they are never delivered. */
START_TEST(test_sync_ahead_trunc)
{
    seed_t s[3] = {{1, 1, L12345, 5, Z(1, 2)},
                   {2, 2, L123, 3, Z(1, 2)},
                   {2, 2, L123, 3, Z(1, 2)}};
    cl_cluster_t *c = seeded3(s);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    check_sync_stats(c, 3, 1, 1, 0);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__TRUNC), 1);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__PROPOSAL), 0);
    ck_assert_uint_eq(cl_node(c, 1)->n_truncate, 1);
    ck_assert(cl_logs_equal(c, 1, 3));
    ck_assert_uint_eq(cl_node(c, 1)->applied_zxid, Z(1, 3));
    ck_assert(!cl_delivered_payload(c, 1, cl_payload_of(Z(1, 4))));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* The learner's tail is from an epoch the leader holds nothing of: cut it
 * back to the last shared entry of an older epoch, then send what
 * follows. */
START_TEST(test_sync_divergent_trunc_then_diff)
{
    seed_t s[3] = {{2, 2, L123_2122, 5, Z(1, 3)},
                   {3, 3, L123_31, 4, Z(1, 3)},
                   {3, 3, L123_31, 4, Z(1, 3)}};
    cl_cluster_t *c = seeded3(s);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    check_sync_stats(c, 3, 1, 1, 0);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__TRUNC), 1);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__PROPOSAL), 1);
    ck_assert(cl_logs_equal(c, 1, 3));
    ck_assert_uint_eq(cl_node(c, 1)->applied_zxid, Z(3, 1));
    ck_assert(!cl_delivered_payload(c, 1, cl_payload_of(Z(2, 1))));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* Same epoch, the learner holds a longer run of it than the leader. */
START_TEST(test_sync_same_epoch_trunc)
{
    seed_t s[3] = {{2, 2, L1_2124, 5, Z(1, 1)},
                   {3, 3, L1_2122_31, 4, Z(1, 1)},
                   {3, 3, L1_2122_31, 4, Z(1, 1)}};
    cl_cluster_t *c = seeded3(s);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    check_sync_stats(c, 3, 1, 1, 0);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__TRUNC), 1);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__PROPOSAL), 1);
    ck_assert(cl_logs_equal(c, 1, 3));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* The leader's log starts after a snapshot newer than the learner's last
 * entry: SNAP, in several chunks. */
START_TEST(test_sync_compacted_snap)
{
    seed_t s[3] = {{1, 1, L12, 2, Z(1, 2)},
                   {1, 1, L1to8, 8, Z(1, 8)},
                   {1, 1, L1to8, 8, Z(1, 8)}};
    cl_cluster_t *c = seeded3(s);
    cl_set_opt(c, ZAB_OPT_MAX_PAYLOAD_BYTES, 64);
    cl_compact(c, 2, Z(1, 6));
    cl_compact(c, 3, Z(1, 6));
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    check_sync_stats(c, 3, 1, 0, 1);
    /* 8 entries of 16 + 6 bytes: 176 bytes in chunks of 64. */
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__SNAP), 3);
    ck_assert_uint_eq(cl_node(c, 1)->n_snap_put, 3);
    ck_assert_uint_eq(cl_node(c, 1)->log_base, Z(1, 8));
    ck_assert_uint_eq(cl_node(c, 1)->log_len, 0);
    ck_assert(cl_applied_equal(c, 1, 3));
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_DELIVERED_ZXID), Z(1, 8));
    /* Broadcast continues on top of the snapshot. */
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "after", &z), 0);
    ck_assert(cl_run_until(c, cl_pred_delivered, &z, 1000));
    ck_assert(cl_applied_equal(c, 1, 3));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* More than diff_max entries missing: SNAP although the log has them. */
START_TEST(test_sync_diff_max_snap)
{
    seed_t s[3] = {{1, 1, L1, 1, Z(1, 1)},
                   {1, 1, L1to8, 8, Z(1, 8)},
                   {1, 1, L1to8, 8, Z(1, 8)}};
    cl_cluster_t *c = seeded3(s);
    cl_set_opt(c, ZAB_OPT_DIFF_MAX, 3);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    check_sync_stats(c, 3, 1, 0, 1);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__DIFF), 0);
    ck_assert(cl_applied_equal(c, 1, 3));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

START_TEST(test_sync_observer)
{
    cl_cluster_t *c = cl_new(3, 1);
    for (uint32_t id = 1; id <= 3; id++) {
        cl_seed(c, id, 1, 1, L123, 3, Z(1, 3));
    }
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_SYNC_OBSERVER), 1);
    ck_assert_uint_eq(cl_stat(c, 4, ZAB_STAT_ROLE), ZAB_OBSERVING);
    ck_assert_uint_eq(cl_sent(c, 4, 3, ZAB__OBSERVERINFO), 1);
    ck_assert_uint_eq(cl_sent(c, 4, 3, ZAB__FOLLOWERINFO), 0);
    ck_assert(cl_logs_equal(c, 4, 3));
    ck_assert(cl_applied_equal(c, 4, 3));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* An observer added to and removed from a running ensemble (the host's
 * dynamic reconfiguration): unknown, it cannot join; added, it is synced
 * and learns what follows; removed, it is cut off while the voters go
 * on.  Quorums never change. */
START_TEST(test_sync_observer_added_and_removed)
{
    cl_cluster_t *c = cl_new(3, 1);
    cl_set_unknown(c, 4);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert_int_eq(cl_boot(c, id), 0);
    }
    uint32_t l = cl_wait_stable(c, 1000);
    ck_assert_uint_eq(l, 3);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, l, "before", &z), 0);
    ck_assert_int_eq(cl_boot(c, 4), 0);
    cl_run(c, 500);
    ck_assert_uint_eq(cl_stat(c, 4, ZAB_STAT_ROLE), ZAB_LOOKING);
    ck_assert_uint_eq(cl_node(c, 4)->applied_len, 0);

    /* Bad calls change nothing. */
    zab_t *lz = cl_z(c, l);
    ck_assert_int_eq(zab_add_observer(lz, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_add_observer(lz, l), ZAB_EINVAL);
    ck_assert_int_eq(zab_add_observer(lz, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_remove_observer(lz, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_remove_observer(lz, 4), ZAB_EINVAL);
    ck_assert_int_eq(zab_add_observer(NULL, 4), ZAB_EINVAL);
    ck_assert_int_eq(zab_remove_observer(NULL, 4), ZAB_EINVAL);

    cl_add_observer(c, 4);
    ck_assert_int_eq(zab_add_observer(lz, 4), ZAB_EINVAL); /* twice */
    ck_assert_uint_eq(cl_wait_stable(c, 1000), l);
    ck_assert_uint_eq(cl_stat(c, 4, ZAB_STAT_ROLE), ZAB_OBSERVING);
    ck_assert(cl_delivered_payload(c, 4, "before"));
    ck_assert_int_eq(cl_propose(c, 4, "from-new-observer", &z), 0);
    cl_settle(c);
    for (uint32_t id = 1; id <= 4; id++) {
        ck_assert(cl_delivered_payload(c, id, "from-new-observer"));
    }

    uint64_t informed = cl_sent(c, l, 4, ZAB__INFORM);
    ck_assert_uint_gt(informed, 0);
    cl_remove_observer(c, 4);
    cl_run(c, 200);
    ck_assert_uint_eq(cl_stat(c, 4, ZAB_STAT_ROLE), ZAB_LOOKING);
    ck_assert_int_eq(cl_propose(c, l, "after", &z), 0);
    cl_settle(c);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert(cl_delivered_payload(c, id, "after"));
    }
    ck_assert(!cl_delivered_payload(c, 4, "after"));
    ck_assert_uint_eq(cl_leader(c), l);
    ck_assert_uint_eq(cl_sent(c, l, 4, ZAB__INFORM), informed);

    /* Added again: it catches up on what it missed. */
    cl_add_observer(c, 4);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), l);
    ck_assert(cl_applied_equal(c, 4, l));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* ---- Broadcast ------------------------------------------------------------------- */

static int pred_count(cl_cluster_t *c, void *arg)
{
    size_t want = *(const size_t *)arg;
    for (int i = 0; i < c->n; i++) {
        if (c->nodes[i].z != NULL && c->nodes[i].applied_len < want) {
            return 0;
        }
    }
    return 1;
}

/* Proposals through every node, deferred disks: every node delivers the
 * same sequence, with consecutive counters. */
START_TEST(test_broadcast_agreement)
{
    cl_cluster_t *c = cl_new(3, 1);
    cl_set_persist(c, 0, CL_PERSIST_DEFERRED);
    cl_boot_all(c);
    uint32_t l = cl_wait_stable(c, 1000);
    char p[32];
    for (int k = 0; k < 40; k++) {
        uint32_t via = (uint32_t)(k % 4) + 1;
        snprintf(p, sizeof p, "tx%d", k);
        uint64_t z = 1;
        ck_assert_int_eq(cl_propose(c, via, p, &z), 0);
        ck_assert(via == l ? z != 0 : z == 0);
        if (k % 3 == 0) {
            (void)cl_step(c); /* interleave proposals with traffic */
        }
    }
    size_t want = 40;
    ck_assert(cl_run_until(c, pred_count, &want, 2000));
    for (uint32_t id = 1; id <= 4; id++) {
        cl_node_t *nd = cl_node(c, id);
        ck_assert_uint_eq(nd->applied_len, 40);
        for (size_t i = 0; i < nd->applied_len; i++) {
            ck_assert_uint_eq(nd->applied[i].zxid, Z(1, i + 1));
        }
        ck_assert(cl_applied_equal(c, id, l));
    }
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_PROPOSALS), 40);
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_COMMITS), 40);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

START_TEST(test_broadcast_forward)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 1, &l);
    ck_assert_uint_eq(l, 3);
    uint64_t z = 99;
    ck_assert_int_eq(cl_propose(c, 1, "from-follower", &z), 0);
    ck_assert_uint_eq(z, 0);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_REQUESTS_FORWARDED), 1);
    ck_assert_int_eq(cl_propose(c, 4, "from-observer", &z), 0);
    ck_assert_uint_eq(cl_stat(c, 4, ZAB_STAT_REQUESTS_FORWARDED), 1);
    cl_settle(c);
    ck_assert_uint_eq(cl_sent(c, 1, 3, ZAB__REQUEST), 1);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_PROPOSALS), 2);
    for (uint32_t id = 1; id <= 4; id++) {
        ck_assert(cl_delivered_payload(c, id, "from-follower"));
        ck_assert(cl_delivered_payload(c, id, "from-observer"));
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

START_TEST(test_broadcast_busy)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_set_opt(c, ZAB_OPT_MAX_OUTSTANDING, 3);
    cl_set_persist(c, 3, CL_PERSIST_DEFERRED);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    /* Nothing can commit: the leader's disk is held and only follower 1's
     * ACKs get through. */
    cl_hold_disk(c, 3, 1);
    cl_block(c, 2, 3, 1);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    ck_assert_int_eq(cl_propose(c, 3, "b", &z), 0);
    ck_assert_int_eq(cl_propose(c, 3, "c", &z), 0);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_OUTSTANDING), 3);
    uint64_t last = cl_stat(c, 3, ZAB_STAT_LAST_ZXID);
    ck_assert_int_eq(cl_propose(c, 3, "d", &z), ZAB_EBUSY);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_LAST_ZXID), last);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_PROPOSALS), 3);
    /* A follower's forwarded request meets the full queue: dropped. */
    ck_assert_int_eq(cl_propose(c, 1, "e", &z), 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_REQUESTS_DROPPED), 1);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_OUTSTANDING), 3);
    cl_hold_disk(c, 3, 0);
    cl_block(c, 2, 3, 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_OUTSTANDING), 0);
    ck_assert_int_eq(cl_propose(c, 3, "f", &z), 0);
    cl_settle(c);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert(cl_delivered_payload(c, id, "c"));
        ck_assert(cl_delivered_payload(c, id, "f"));
        ck_assert(!cl_delivered_payload(c, id, "d"));
        ck_assert(!cl_delivered_payload(c, id, "e"));
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* ZAB_OPT_MAX_PENDING_BYTES bounds the payload bytes a node holds for
 * delivery: the leader refuses a proposal beyond it (ZAB_EBUSY); a
 * follower whose cache would overflow drops it and delivers from its
 * host's log instead. */
START_TEST(test_broadcast_pending_bytes)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_set_opt(c, ZAB_OPT_MAX_PENDING_BYTES, 10);
    cl_set_persist(c, 1, CL_PERSIST_DEFERRED);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    /* Leader: 6 + 5 > 10 while nothing commits. */
    cl_block(c, 1, 3, 1);
    cl_block(c, 2, 3, 1);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "aaaaaa", &z), 0);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_PENDING_BYTES), 6);
    ck_assert_int_eq(cl_propose(c, 3, "bbbbb", &z), ZAB_EBUSY);
    ck_assert_int_eq(cl_propose(c, 3, "cccc", &z), 0);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_PENDING_BYTES), 10);
    cl_block(c, 1, 3, 0);
    cl_block(c, 2, 3, 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_PENDING_BYTES), 0);
    /* Follower 1 cannot deliver (its disk is held) while three 4-byte
     * transactions arrive: its cache overflows. */
    cl_hold_disk(c, 1, 1);
    const char *p[] = {"tx-1", "tx-2", "tx-3"};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(cl_propose(c, 3, p[k], &z), 0);
        cl_settle(c);
        ck_assert(cl_delivered_payload(c, 2, p[k]));
    }
    ck_assert_uint_le(cl_stat(c, 1, ZAB_STAT_PENDING_BYTES), 10);
    ck_assert(!cl_delivered_payload(c, 1, "tx-1"));
    cl_hold_disk(c, 1, 0);
    cl_settle(c);
    for (int k = 0; k < 3; k++) {
        ck_assert(cl_delivered_payload(c, 1, p[k]));
    }
    ck_assert(cl_applied_equal(c, 1, 3));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* With a tiny counter space the leader steps down before it would run
 * out, and a higher epoch takes over. */
START_TEST(test_broadcast_counter_max)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_set_opt(c, ZAB_OPT_COUNTER_MAX, 3);
    cl_boot_all(c);
    uint32_t l = cl_wait_stable(c, 1000);
    uint64_t z;
    for (int k = 1; k <= 3; k++) {
        ck_assert_int_eq(cl_propose(c, l, "x", &z), 0);
        ck_assert_uint_eq(z, Z(1, k));
        cl_settle(c);
    }
    ck_assert_int_eq(cl_propose(c, l, "y", &z), ZAB_EEPOCH);
    ck_assert_uint_ne(cl_stat(c, l, ZAB_STAT_ROLE), ZAB_LEADING);
    uint32_t l2 = cl_wait_stable(c, 2000);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert_uint_eq(cl_stat(c, id, ZAB_STAT_CURRENT_EPOCH), 2);
        ck_assert_uint_eq(cl_stat(c, id, ZAB_STAT_DELIVERED_ZXID), Z(1, 3));
    }
    ck_assert_int_eq(cl_propose(c, l2, "z", &z), 0);
    ck_assert_uint_eq(z, Z(2, 1));
    ck_assert(cl_run_until(c, cl_pred_delivered, &z, 1000));
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert(!cl_delivered_payload(c, id, "y"));
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* ---- Read barriers ------------------------------------------------------------ */

START_TEST(test_barrier_leader)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, l, "w", &z), 0);
    ck_assert_int_eq(zab_read_barrier(cl_z(c, l), 5), 0);
    ck_assert_int_eq(zab_read_barrier(cl_z(c, l), 6), 0);
    /* A heartbeat round must be acknowledged first. */
    ck_assert_int_eq(cl_barrier_done(c, l, 5, NULL), 0);
    cl_settle(c);
    int st = -99;
    ck_assert_int_eq(cl_barrier_done(c, l, 5, &st), 1);
    ck_assert_int_eq(st, 0);
    ck_assert_int_eq(cl_barrier_done(c, l, 6, &st), 1);
    ck_assert_int_eq(st, 0);
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_BARRIERS), 2);
    ck_assert(cl_delivered_payload(c, l, "w"));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* On a follower the barrier also waits until the follower delivered what
 * the leader had committed. */
START_TEST(test_barrier_follower)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_set_persist(c, 1, CL_PERSIST_DEFERRED);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    cl_hold_disk(c, 1, 1);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "w", &z), 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), z);
    ck_assert(!cl_delivered_payload(c, 1, "w"));
    ck_assert_int_eq(zab_read_barrier(cl_z(c, 1), 42), 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_sent(c, 1, 3, ZAB__SYNC), 1);
    ck_assert_uint_eq(cl_sent(c, 3, 1, ZAB__SYNC), 1);
    ck_assert_int_eq(cl_barrier_done(c, 1, 42, NULL), 0);
    cl_hold_disk(c, 1, 0);
    cl_settle(c);
    int st = -99;
    ck_assert_int_eq(cl_barrier_done(c, 1, 42, &st), 1);
    ck_assert_int_eq(st, 0);
    ck_assert(cl_delivered_payload(c, 1, "w"));
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_BARRIERS), 1);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

START_TEST(test_barrier_cancel_on_leader_death)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    ck_assert_uint_eq(l, 3);
    cl_block(c, 1, 3, 1);
    ck_assert_int_eq(zab_read_barrier(cl_z(c, 1), 7), 0);
    cl_settle(c);
    ck_assert_int_eq(cl_barrier_done(c, 1, 7, NULL), 0);
    cl_kill(c, 3);
    int st = 0;
    ck_assert_int_eq(cl_barrier_done(c, 1, 7, &st), 1);
    ck_assert_int_eq(st, ZAB_ECANCELED);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_BARRIERS), 0);
    /* A new leader; the cancelled barrier never fires again. */
    ck_assert_uint_eq(cl_wait_stable(c, 2000), 2);
    ck_assert_int_eq(cl_barrier_done(c, 1, 7, NULL), 1);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

START_TEST(test_barrier_errors)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_set_opt(c, ZAB_OPT_MAX_BARRIERS, 2);
    cl_boot_all(c);
    /* Still electing. */
    ck_assert_int_eq(zab_read_barrier(cl_z(c, 1), 1), ZAB_ENOTLEADER);
    ck_assert_int_eq(cl_propose(c, 1, "x", NULL), ZAB_ENOTLEADER);
    uint32_t l = cl_wait_stable(c, 1000);
    cl_block(c, 1, l, 1);
    cl_block(c, 2, l, 1);
    ck_assert_int_eq(zab_read_barrier(cl_z(c, l), 1), 0);
    ck_assert_int_eq(zab_read_barrier(cl_z(c, l), 2), 0);
    ck_assert_int_eq(zab_read_barrier(cl_z(c, l), 3), ZAB_EBUSY);
    cl_block(c, 1, l, 0);
    cl_block(c, 2, l, 0);
    cl_settle(c);
    ck_assert_int_eq(cl_barrier_done(c, l, 1, NULL), 1);
    ck_assert_int_eq(cl_barrier_done(c, l, 2, NULL), 1);
    ck_assert_int_eq(cl_barrier_done(c, l, 3, NULL), 0);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST


/* ---- Faults -------------------------------------------------------------------- */

/* The leader logged a proposal nobody else received, then died: the new
 * leader never had it, and when the old leader comes back its tail is cut
 * (TRUNC) and never delivered anywhere. */
START_TEST(test_fault_failover_uncommitted_tail)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    ck_assert_uint_eq(l, 3);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "c1", &z), 0);
    cl_settle(c);
    ck_assert(cl_pred_delivered(c, &z));
    cl_block(c, 3, 1, 1);
    cl_block(c, 3, 2, 1);
    ck_assert_int_eq(cl_propose(c, 3, "u", &z), 0);
    ck_assert_uint_eq(z, Z(1, 2));
    cl_settle(c);
    cl_kill(c, 3);
    cl_block(c, 3, 1, 0);
    cl_block(c, 3, 2, 0);
    ck_assert_uint_eq(cl_wait_stable(c, 5000), 2);
    ck_assert_uint_eq(cl_stat(c, 2, ZAB_STAT_CURRENT_EPOCH), 2);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_CURRENT_EPOCH), 2);
    ck_assert_int_eq(cl_propose(c, 2, "after", &z), 0);
    ck_assert_uint_eq(z, Z(2, 1));
    cl_settle(c);
    /* The old leader restarts from its disk, with 1:2 in its log. */
    ck_assert_uint_eq(cl_node(c, 3)->log[cl_node(c, 3)->log_len - 1].zxid,
                      Z(1, 2));
    ck_assert_int_eq(cl_boot(c, 3), 0);
    ck_assert_uint_eq(cl_wait_stable(c, 2000), 2);
    ck_assert_uint_eq(cl_stat(c, 2, ZAB_STAT_SYNC_TRUNC), 1);
    ck_assert_uint_eq(cl_stat(c, 2, ZAB_STAT_SYNC_LATE), 1);
    ck_assert(cl_logs_equal(c, 3, 2));
    ck_assert(cl_applied_equal(c, 3, 2));
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert(!cl_delivered_payload(c, id, "u"));
        ck_assert(cl_delivered_payload(c, id, "after"));
        ck_assert(cl_delivered_payload(c, id, "c1"));
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* A follower stops, misses transactions, restarts from its disk and
 * catches up by DIFF without delivering anything twice. */
START_TEST(test_fault_restart_catch_up)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, l, "before", &z), 0);
    cl_settle(c);
    cl_kill(c, 1);
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(cl_propose(c, l, "missed", &z), 0);
        cl_settle(c);
    }
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_COMMITTED_ZXID), z);
    uint64_t diff = cl_stat(c, l, ZAB_STAT_SYNC_DIFF);
    ck_assert_int_eq(cl_boot(c, 1), 0);
    ck_assert_uint_eq(cl_wait_stable(c, 2000), l);
    ck_assert_uint_eq(cl_stat(c, l, ZAB_STAT_SYNC_DIFF), diff + 1);
    ck_assert_uint_eq(cl_sent(c, l, 1, ZAB__PROPOSAL), 1 + 5);
    ck_assert(cl_logs_equal(c, 1, l));
    ck_assert(cl_applied_equal(c, 1, l));
    ck_assert_uint_eq(cl_node(c, 1)->applied_len, 6);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* A follower's disk reports a failed write: it stops acknowledging and
 * voting; the two others go on. */
START_TEST(test_fault_disk_failure)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_set_persist(c, 1, CL_PERSIST_DEFERRED);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    cl_node(c, 1)->persist_fail = 1;
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    cl_settle(c);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_DISK_FAILED), 1);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_ROLE), ZAB_LOOKING);
    ck_assert_uint_eq(cl_sent(c, 1, 3, ZAB__ACK), 0);
    uint64_t sent = cl_stat(c, 1, ZAB_STAT_MSGS_SENT);
    uint64_t elections = cl_stat(c, 1, ZAB_STAT_ELECTIONS);
    uint64_t d;
    ck_assert_int_eq(zab_next_deadline(cl_z(c, 1), &d), 0);
    ck_assert_uint_eq(d, UINT64_MAX);
    cl_run(c, 6000);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_MSGS_SENT), sent);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_ELECTIONS), elections);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_ROLE), ZAB_LOOKING);
    ck_assert_uint_eq(cl_leader(c), 3);
    ck_assert_int_eq(cl_propose(c, 3, "b", &z), 0);
    cl_settle(c);
    ck_assert(cl_delivered_payload(c, 2, "b"));
    ck_assert(cl_delivered_payload(c, 3, "b"));
    ck_assert(!cl_delivered_payload(c, 1, "a"));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* A failed send closes the connection; the follower comes back. */
START_TEST(test_fault_send_failure)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    ck_assert_uint_eq(l, 3);
    cl_node(c, 1)->fail_send = 1;
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    cl_settle(c);
    ck_assert_uint_ge(cl_stat(c, 1, ZAB_STAT_SEND_ERRORS), 1);
    ck_assert_uint_ne(cl_stat(c, 1, ZAB_STAT_ROLE), ZAB_FOLLOWING);
    cl_node(c, 1)->fail_send = 0;
    ck_assert_uint_eq(cl_wait_stable(c, 2000), 3);
    ck_assert(cl_run_until(c, cl_pred_delivered, &z, 1000));
    ck_assert(cl_logs_equal(c, 1, 3));
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* A learner whose host cannot install snapshots (snapshot_put NULL,
 * allowed by zab.h: "a learner sent one then elects again") and that
 * needs one must not rejoin the same leader back to back: it used to (a
 * hot loop of elections, handshakes and SNAPs in which no time passed;
 * found by this test, fixed in d1c887f).  Retries are paced by timeouts. */
START_TEST(test_fault_no_snapshot_put)
{
    seed_t s[3] = {{0, 0, NULL, 0, 0},
                   {1, 1, L1to8, 8, Z(1, 8)},
                   {1, 1, L1to8, 8, Z(1, 8)}};
    cl_cluster_t *c = seeded3(s);
    cl_compact(c, 2, Z(1, 6));
    cl_compact(c, 3, Z(1, 6));
    cl_node(c, 1)->no_snapshot_put = 1;
    cl_boot_all(c);
    cl_run(c, 3000);
    /* Collect, free, then judge: a failed check must not leak. */
    char why[256];
    snprintf(why, sizeof why, "%s", c->violation);
    uint64_t violations = c->violations;
    uint64_t snaps = cl_sent(c, 3, 1, ZAB__SNAP);
    uint64_t elections = cl_stat(c, 1, ZAB_STAT_ELECTIONS);
    uint32_t leader = cl_leader(c);
    uint64_t serving2 = cl_stat(c, 2, ZAB_STAT_SERVING);
    uint64_t serving1 = cl_stat(c, 1, ZAB_STAT_SERVING);
    size_t log1 = cl_node(c, 1)->log_len;
    int delivered = 0;
    if (violations == 0) {
        uint64_t z;
        ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
        cl_settle(c);
        delivered = cl_delivered_payload(c, 2, "a");
    }
    cl_free(c);
    ck_assert_msg(violations == 0, "%s (%llu SNAPs sent, %llu elections on "
                                   "node 1)",
                  why, (unsigned long long)snaps,
                  (unsigned long long)elections);
    /* Retries are paced by timeouts, not back to back. */
    ck_assert_uint_le(snaps, 3000 / 200 + 1);
    ck_assert_uint_eq(leader, 3);
    ck_assert_uint_eq(serving2, 1);
    ck_assert_uint_eq(serving1, 0);
    ck_assert_uint_eq(log1, 0);
    ck_assert(delivered);
}
END_TEST

/* A node whose acceptedEpoch (5) is above the epoch the others
 * established (2) can never follow that epoch (it refuses LEADERINFO(2)).
 * It used to rejoin and abandon the leader in a hot loop (found by this
 * test); it must instead get back in without flooding anyone, which needs
 * a new epoch above 5. */
START_TEST(test_fault_higher_accepted_epoch)
{
    seed_t s[3] = {{5, 1, L1, 1, Z(1, 1)},
                   {1, 1, L12, 2, Z(1, 1)},
                   {1, 1, L12, 2, Z(1, 1)}};
    cl_cluster_t *c = seeded3(s);
    /* Node 1's FOLLOWERINFO must come after the leader chose its epoch. */
    cl_block(c, 1, 3, 1);
    cl_boot_all(c);
    cl_run(c, 200);
    ck_assert_uint_eq(cl_leader(c), 3);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_CURRENT_EPOCH), 2);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "in-epoch-2", &z), 0);
    cl_settle(c);
    cl_block(c, 1, 3, 0);
    int stable = cl_run_until(c, cl_pred_stable, NULL, 3000);
    /* Collect, free, then judge: a failed check must not leak. */
    char why[256];
    snprintf(why, sizeof why, "%s", c->violation);
    uint64_t violations = c->violations;
    uint64_t infos = cl_sent(c, 3, 1, ZAB__LEADERINFO);
    uint64_t elections = cl_stat(c, 1, ZAB_STAT_ELECTIONS);
    uint64_t epoch = cl_stat(c, 1, ZAB_STAT_CURRENT_EPOCH);
    int agree = cl_agree(c);
    int has = cl_delivered_payload(c, 1, "in-epoch-2");
    cl_free(c);
    ck_assert_msg(violations == 0, "%s (%llu LEADERINFOs sent to node 1, "
                                   "%llu elections on it)",
                  why, (unsigned long long)infos,
                  (unsigned long long)elections);
    ck_assert_msg(stable, "node 1 never got back in");
    ck_assert_uint_gt(epoch, 5);
    ck_assert(agree);
    ck_assert(has);
}
END_TEST

/* The leader is cut off from both followers: they elect a new leader at
 * once (their connection to it closed), it steps down at its next tick,
 * and what it proposed meanwhile is never delivered.  Healed, it follows
 * the new leader. */
START_TEST(test_fault_leader_isolated)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    ck_assert_uint_eq(l, 3);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    cl_settle(c);
    cl_cut(c, 3, 1);
    cl_cut(c, 3, 2);
    int rc = cl_propose(c, 3, "lost", &z);
    ck_assert(rc == 0 || rc == ZAB_ENOTLEADER);
    ck_assert(cl_run_until(c, NULL, NULL, 600));
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_ROLE), ZAB_LOOKING);
    ck_assert_int_eq(cl_propose(c, 3, "late", &z), ZAB_ENOTLEADER);
    ck_assert_uint_eq(cl_leader(c), 2);
    ck_assert_uint_eq(cl_stat(c, 2, ZAB_STAT_CURRENT_EPOCH), 2);
    ck_assert_int_eq(cl_propose(c, 2, "b", &z), 0);
    cl_settle(c);
    cl_heal(c);
    ck_assert_uint_eq(cl_wait_stable(c, 2000), 2);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert(cl_delivered_payload(c, id, "a"));
        ck_assert(cl_delivered_payload(c, id, "b"));
        ck_assert(!cl_delivered_payload(c, id, "lost"));
        ck_assert(cl_logs_equal(c, id, 2));
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* The leader's links stall without closing: the leader steps down once it
 * has not heard a quorum for peer_timeout_ms, the followers give up on it
 * after the same time and elect among themselves.  When the links resume,
 * the stale frames queued on them arrive and must do no harm. */
START_TEST(test_fault_leader_stalled)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    ck_assert_uint_eq(l, 3);
    for (uint32_t id = 1; id <= 2; id++) {
        cl_block(c, id, 3, 1);
        cl_block(c, 3, id, 1);
    }
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "stalled", &z), 0);
    cl_run(c, 3900);
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_ROLE), ZAB_LEADING);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_ROLE), ZAB_FOLLOWING);
    cl_run(c, 2100);
    ck_assert_uint_ne(cl_stat(c, 3, ZAB_STAT_ROLE), ZAB_LEADING);
    ck_assert_uint_eq(cl_leader(c), 2);
    ck_assert_int_eq(cl_propose(c, 2, "new", &z), 0);
    cl_settle(c);
    for (uint32_t id = 1; id <= 2; id++) {
        cl_block(c, id, 3, 0);
        cl_block(c, 3, id, 0);
    }
    ck_assert_uint_eq(cl_wait_stable(c, 5000), 2);
    /* Node 3 comes back with 1:1 ("stalled") that nobody else has; the
     * leader delivered past epoch 1, so it synchronises it by SNAP. */
    ck_assert_uint_eq(cl_stat(c, 2, ZAB_STAT_SYNC_SNAP), 1);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert(cl_delivered_payload(c, id, "new"));
        ck_assert(!cl_delivered_payload(c, id, "stalled"));
        ck_assert(cl_applied_equal(c, id, 2));
        cl_node_t *nd = cl_node(c, id);
        for (size_t i = 0; i < nd->log_len; i++) {
            ck_assert_uint_ne(nd->log[i].zxid, Z(1, 1));
        }
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* The leader's rule "step down after peer_timeout_ms without hearing a
 * quorum" must be covered by zab_next_deadline, so that a host ticking at
 * deadlines runs it on time.  Frames are stamped at the tick after they
 * arrive (at most heartbeat_ms after the stall begins), so the rule is due
 * by stall + heartbeat_ms + peer_timeout_ms + 1, the bound the followers
 * meet for their own rule.  (The leader used to miss it by a heartbeat;
 * found by this test, fixed in d1c887f.) */
START_TEST(test_fault_leader_steps_down_in_time)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 0, &l);
    ck_assert_uint_eq(l, 3);
    uint64_t t0 = c->now;
    for (uint32_t id = 1; id <= 2; id++) {
        cl_block(c, id, 3, 1);
        cl_block(c, 3, id, 1);
    }
    cl_run(c, 500 + 4000 + 1);
    uint64_t leader_role = cl_stat(c, 3, ZAB_STAT_ROLE);
    uint64_t f1 = cl_stat(c, 1, ZAB_STAT_ROLE);
    uint64_t now = c->now;
    cl_free(c);
    ck_assert_msg(f1 != ZAB_FOLLOWING, "the follower kept its leader");
    ck_assert_msg(leader_role != ZAB_LEADING,
                  "the stalled leader still leads %llu ms after its links "
                  "stalled (due by heartbeat + peer timeout + 1 = 4501)",
                  (unsigned long long)(now - t0));
}
END_TEST

/* Observers follow a change of leader. */
START_TEST(test_fault_observer_failover)
{
    uint32_t l;
    cl_cluster_t *c = stable_cluster(3, 1, &l);
    ck_assert_uint_eq(l, 3);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    cl_settle(c);
    cl_kill(c, 3);
    ck_assert_uint_eq(cl_wait_stable(c, 3000), 2);
    ck_assert_uint_eq(cl_stat(c, 4, ZAB_STAT_ROLE), ZAB_OBSERVING);
    ck_assert_uint_eq(cl_stat(c, 4, ZAB_STAT_LEADER), 2);
    ck_assert_int_eq(cl_propose(c, 4, "via-observer", &z), 0);
    cl_settle(c);
    for (uint32_t id = 1; id <= 4; id++) {
        if (id != 3) {
            ck_assert(cl_delivered_payload(c, id, "a"));
            ck_assert(cl_delivered_payload(c, id, "via-observer"));
        }
    }
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* The learner's host fails to install a snapshot (snapshot_put returns
 * non-zero): the node counts its disk as failed and stops, and it must not
 * claim to have delivered what it never installed (it did: recv_snap
 * advanced delivered_zxid to the snapshot's zxid whatever snapshot_put
 * returned; found by this test and fuzz_recv, fixed in d1c887f). */
START_TEST(test_fault_snapshot_put_fails)
{
    seed_t s[3] = {{1, 1, L12, 2, Z(1, 2)},
                   {1, 1, L1to8, 8, Z(1, 8)},
                   {1, 1, L1to8, 8, Z(1, 8)}};
    cl_cluster_t *c = seeded3(s);
    cl_compact(c, 2, Z(1, 6));
    cl_compact(c, 3, Z(1, 6));
    cl_node(c, 1)->fail_snapshot_put = 1;
    cl_boot_all(c);
    cl_run(c, 1000);
    uint64_t failed = cl_stat(c, 1, ZAB_STAT_DISK_FAILED);
    uint64_t delivered = cl_stat(c, 1, ZAB_STAT_DELIVERED_ZXID);
    uint64_t applied = cl_node(c, 1)->applied_zxid;
    uint64_t puts = cl_node(c, 1)->n_snap_put;
    uint32_t leader = cl_leader(c);
    uint64_t violations = c->violations;
    cl_free(c);
    ck_assert_uint_eq(violations, 0);
    ck_assert_uint_eq(leader, 3);
    ck_assert_uint_ge(puts, 1);
    ck_assert_uint_eq(failed, 1);
    ck_assert_msg(delivered == applied,
                  "node 1 reports %llx delivered; its host holds %llx",
                  (unsigned long long)delivered, (unsigned long long)applied);
}
END_TEST

/* ---- Suite ------------------------------------------------------------------------- */

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("election");
    tcase_add_loop_test(tc, test_election_order, 0,
                        (int)N(election_cases));
    tcase_add_test(tc, test_election_followers_first);
    tcase_add_test(tc, test_election_late_joiner);
    tcase_add_test(tc, test_election_observers_no_vote_storm);
    suite_add_tcase(s, tc);

    tc = tcase_create("quorum");
    tcase_add_test(tc, test_quorum_three);
    tcase_add_test(tc, test_quorum_five);
    tcase_add_test(tc, test_quorum_leader_durability);
    tcase_add_test(tc, test_quorum_observers_never_count);
    suite_add_tcase(s, tc);

    tc = tcase_create("sync");
    tcase_add_test(tc, test_sync_equal_diff);
    tcase_add_test(tc, test_sync_behind_diff);
    tcase_add_test(tc, test_sync_ahead_trunc);
    tcase_add_test(tc, test_sync_divergent_trunc_then_diff);
    tcase_add_test(tc, test_sync_same_epoch_trunc);
    tcase_add_test(tc, test_sync_compacted_snap);
    tcase_add_test(tc, test_sync_diff_max_snap);
    tcase_add_test(tc, test_sync_observer);
    tcase_add_test(tc, test_sync_observer_added_and_removed);
    suite_add_tcase(s, tc);

    tc = tcase_create("broadcast");
    tcase_add_test(tc, test_broadcast_agreement);
    tcase_add_test(tc, test_broadcast_forward);
    tcase_add_test(tc, test_broadcast_busy);
    tcase_add_test(tc, test_broadcast_pending_bytes);
    tcase_add_test(tc, test_broadcast_counter_max);
    suite_add_tcase(s, tc);

    tc = tcase_create("barrier");
    tcase_add_test(tc, test_barrier_leader);
    tcase_add_test(tc, test_barrier_follower);
    tcase_add_test(tc, test_barrier_cancel_on_leader_death);
    tcase_add_test(tc, test_barrier_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("faults");
    tcase_add_test(tc, test_fault_failover_uncommitted_tail);
    tcase_add_test(tc, test_fault_restart_catch_up);
    tcase_add_test(tc, test_fault_disk_failure);
    tcase_add_test(tc, test_fault_send_failure);
    tcase_add_test(tc, test_fault_leader_isolated);
    tcase_add_test(tc, test_fault_leader_stalled);
    tcase_add_test(tc, test_fault_leader_steps_down_in_time);
    tcase_add_test(tc, test_fault_observer_failover);
    tcase_add_test(tc, test_fault_no_snapshot_put);
    tcase_add_test(tc, test_fault_snapshot_put_fails);
    tcase_add_test(tc, test_fault_higher_accepted_epoch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(cluster_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
