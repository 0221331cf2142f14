/*
 * check_oom.c -- allocation failures (zab_config_set_allocator).
 *
 * For every N from 1 upward the Nth allocation fails, until N is beyond
 * the last allocation made:
 *   - zab_new alone: every failure is ZAB_ENOMEM with nothing left
 *     allocated;
 *   - a 3-voter cluster scenario (election, a SNAP and a DIFF sync,
 *     proposals through the leader and a follower, read barriers on both):
 *     every failure surfaces as ZAB_ENOMEM from the call that hit it (the
 *     caller retries) or leaves a node in a state it recovers from (it
 *     re-elects or re-syncs); the scenario completes, the delivered
 *     sequences agree, the host contract holds, and every node frees all
 *     it allocated.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib_cluster.h"

/* ---- zab_new alone ----------------------------------------------------------- */

typedef struct counting {
    long calls, live, fail_at;
} counting_t;

static void *c_malloc(void *ud, size_t n)
{
    counting_t *a = ud;
    if (++a->calls == a->fail_at) {
        return NULL;
    }
    void *p = malloc(n);
    a->live += p != NULL;
    return p;
}

static void *c_realloc(void *ud, void *p, size_t n)
{
    counting_t *a = ud;
    if (++a->calls == a->fail_at) {
        return NULL;
    }
    void *q = realloc(p, n);
    a->live += q != NULL && p == NULL;
    return q;
}

static void c_free(void *ud, void *p)
{
    counting_t *a = ud;
    if (p != NULL) {
        a->live--;
        free(p);
    }
}

static int n_send(void *ud, uint32_t peer, const void *f, size_t len)
{
    return 0;
}

static int n_append(void *ud, uint64_t zxid, const void *d, size_t len,
                    uint64_t token)
{
    return 0;
}

static int n_truncate(void *ud, uint64_t zxid, uint64_t token)
{
    return 0;
}

static int n_read(void *ud, uint64_t after, uint64_t *zxid, const void **d,
                  size_t *len)
{
    return ZAB_ENOENT;
}

static int n_save(void *ud, uint32_t a, uint32_t c, uint64_t token)
{
    return 0;
}

static void n_deliver(void *ud, uint64_t zxid, const void *d, size_t len)
{
}

START_TEST(test_new)
{
    const zab_host_ops_t ops = {.version = ZAB_HOST_OPS_VERSION,
                                .send = n_send,
                                .log_append = n_append,
                                .log_truncate = n_truncate,
                                .log_read = n_read,
                                .save_epochs = n_save,
                                .deliver = n_deliver};
    int failures = 0;
    for (long n = 1;; n++) {
        counting_t a = {0, 0, n};
        zab_config_t *cfg;
        ck_assert_int_eq(zab_config_new(&cfg), 0);
        ck_assert_int_eq(zab_config_set_id(cfg, 2), 0);
        for (uint32_t id = 1; id <= 5; id++) {
            ck_assert_int_eq(zab_config_add_voter(cfg, id), 0);
        }
        ck_assert_int_eq(zab_config_set_allocator(cfg, c_malloc, c_realloc,
                                                  c_free, &a),
                         0);
        zab_t *z = (zab_t *)&a; /* a sentinel */
        int rc = zab_new(cfg, &ops, NULL, &z);
        zab_config_free(cfg);
        if (a.calls < n) {
            /* Nothing failed: the node is complete. */
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 0), 0);
            zab_free(z);
            ck_assert_int_eq(a.live, 0);
            break;
        }
        failures++;
        ck_assert_msg(rc == ZAB_ENOMEM, "allocation %ld failed: zab_new = %s",
                      n, zab_err_name(rc));
        ck_assert_msg(a.live == 0, "allocation %ld failed: %ld blocks left", n,
                      a.live);
        ck_assert_ptr_eq(z, (zab_t *)&a);
        ck_assert_int_lt(n, 1000);
    }
    ck_assert_int_ge(failures, 2); /* the node and at least one buffer */
}
END_TEST

/* ---- a cluster scenario ------------------------------------------------------ */

static const uint64_t L1to6[] = {
    ZAB_ZXID(1, 1), ZAB_ZXID(1, 2), ZAB_ZXID(1, 3),
    ZAB_ZXID(1, 4), ZAB_ZXID(1, 5), ZAB_ZXID(1, 6),
};

typedef struct outcome {
    int boot_failures;    /* zab_new or zab_start returned ENOMEM */
    int call_failures;    /* a later call returned ENOMEM */
    int failure_hit;      /* the Nth allocation happened */
} outcome_t;

static uint32_t wait_leader(cl_cluster_t *c, uint64_t n)
{
    int ok = cl_run_until(c, cl_pred_stable, NULL, 30000);
    ck_assert_msg(c->violations == 0, "N=%llu: %s", (unsigned long long)n,
                  c->violation);
    ck_assert_msg(ok, "N=%llu: no stable leader (t=%llu)",
                  (unsigned long long)n, (unsigned long long)c->now);
    return cl_leader(c);
}

/* zab_propose through the leader; a ZAB_ENOMEM is retried, a lost
 * leadership waited out. */
static uint64_t propose_retry(cl_cluster_t *c, uint64_t n, const char *p,
                              outcome_t *o)
{
    for (int tries = 0; tries < 10; tries++) {
        uint32_t l = wait_leader(c, n);
        uint64_t zxid = 0;
        int rc = cl_propose(c, l, p, &zxid);
        if (rc == 0) {
            ck_assert_uint_ne(zxid, 0);
            return zxid;
        }
        ck_assert_msg(rc == ZAB_ENOMEM || rc == ZAB_ENOTLEADER,
                      "N=%llu: zab_propose = %s", (unsigned long long)n,
                      zab_err_name(rc));
        o->call_failures += rc == ZAB_ENOMEM;
    }
    ck_abort_msg("N=%llu: could not propose", (unsigned long long)n);
    return 0;
}

static int barrier_retry(cl_cluster_t *c, uint64_t n, uint32_t id,
                         uint64_t cookie, outcome_t *o)
{
    for (int tries = 0; tries < 10; tries++) {
        wait_leader(c, n);
        int rc = zab_read_barrier(cl_z(c, id), cookie);
        if (rc == 0) {
            return 0;
        }
        ck_assert_msg(rc == ZAB_ENOMEM || rc == ZAB_ENOTLEADER,
                      "N=%llu: zab_read_barrier = %s", (unsigned long long)n,
                      zab_err_name(rc));
        o->call_failures += rc == ZAB_ENOMEM;
    }
    ck_abort_msg("N=%llu: no barrier", (unsigned long long)n);
    return -1;
}

static int pred_barrier(cl_cluster_t *c, void *arg)
{
    const uint64_t *a = arg; /* id, cookie */
    return cl_barrier_done(c, (uint32_t)a[0], a[1], NULL) > 0;
}

static void scenario(uint64_t n, outcome_t *o)
{
    memset(o, 0, sizeof *o);
    cl_cluster_t *c = cl_new(3, 0);
    /* Small frames, so that the snapshot goes in several chunks. */
    cl_set_opt(c, ZAB_OPT_MAX_PAYLOAD_BYTES, 64);
    cl_seed(c, 2, 1, 1, L1to6, 6, ZAB_ZXID(1, 6));
    cl_seed(c, 3, 1, 1, L1to6, 6, ZAB_ZXID(1, 6));
    cl_compact(c, 2, ZAB_ZXID(1, 4));
    cl_compact(c, 3, ZAB_ZXID(1, 4));
    cl_set_persist(c, 2, CL_PERSIST_DEFERRED);
    for (uint32_t id = 1; id <= 3; id++) {
        cl_use_alloc_hook(c, id);
    }
    c->fail_at = n;

    /* Boot; a failing zab_new leaves nothing behind and is retried. */
    for (uint32_t id = 1; id <= 3; id++) {
        for (;;) {
            uint64_t failures = c->alloc_failures;
            int rc = cl_boot(c, id);
            cl_node_t *nd = cl_node(c, id);
            if (rc == 0) {
                ck_assert_uint_eq(c->alloc_failures, failures);
                break;
            }
            ck_assert_msg(rc == ZAB_ENOMEM, "N=%llu: boot of %u: %s",
                          (unsigned long long)n, id, zab_err_name(rc));
            ck_assert_uint_eq(c->alloc_failures, failures + 1);
            ck_assert_ptr_null(nd->z);
            ck_assert_msg(nd->live_blocks == 0,
                          "N=%llu: failed zab_new left %ld blocks",
                          (unsigned long long)n, nd->live_blocks);
            o->boot_failures++;
        }
    }

    uint32_t l = wait_leader(c, n);
    /* The leader is 3 (or 2 after a failure moved it): node 1 was
     * synchronised with SNAP, the other with DIFF. */
    ck_assert_msg(l == 3 || l == 2, "N=%llu: leader %u", (unsigned long long)n,
                  l);

    char p[32];
    uint64_t last = 0;
    for (int k = 0; k < 5; k++) {
        snprintf(p, sizeof p, "tx%d", k);
        last = propose_retry(c, n, p, o);
        if (k == 2) {
            cl_run(c, 5);
        }
    }
    /* A burst without any delivery in between: more outstanding
     * proposals than the caches' first size, so their rings grow. */
    for (int k = 0; k < 70; k++) {
        snprintf(p, sizeof p, "burst%d", k);
        last = propose_retry(c, n, p, o);
    }
    /* A proposal forwarded by a follower; the leader may have to drop it
     * when its own allocation fails (counted as dropped). */
    l = wait_leader(c, n);
    uint32_t f = l == 1 ? 2 : 1;
    int frc = cl_propose(c, f, "fwd", NULL);
    ck_assert_msg(frc == 0 || frc == ZAB_ENOMEM || frc == ZAB_ENOTLEADER,
                  "N=%llu: forwarded propose = %s", (unsigned long long)n,
                  zab_err_name(frc));
    ck_assert_msg(cl_run_until(c, cl_pred_delivered, &last, 30000),
                  "N=%llu: not delivered everywhere", (unsigned long long)n);
    cl_run(c, 100);
    if (frc == 0 && !cl_delivered_payload(c, l, "fwd")) {
        ck_assert_msg(cl_stat(c, l, ZAB_STAT_REQUESTS_DROPPED) > 0 ||
                          cl_leader(c) != l,
                      "N=%llu: forwarded request lost silently",
                      (unsigned long long)n);
    }

    /* Read barriers on the leader and on a follower. */
    l = wait_leader(c, n);
    f = l == 1 ? 2 : 1;
    uint64_t bl[2] = {l, 1001}, bf[2] = {f, 1002};
    /* The follower's first: its SYNC makes the leader allocate its
     * barrier array; if that fails the barrier fails with ZAB_EBUSY and is
     * asked again. */
    for (uint64_t cookie = 1002;; cookie++) {
        ck_assert_uint_lt(cookie, 1010);
        bf[1] = cookie;
        barrier_retry(c, n, f, cookie, o);
        ck_assert_msg(cl_run_until(c, pred_barrier, bf, 5000),
                      "N=%llu: follower barrier never completed",
                      (unsigned long long)n);
        int st = -99;
        cl_barrier_done(c, f, cookie, &st);
        if (st == 0) {
            break;
        }
        ck_assert_msg(st == ZAB_EBUSY || st == ZAB_ECANCELED,
                      "N=%llu: follower barrier: %s", (unsigned long long)n,
                      zab_err_name(st));
        o->call_failures++;
    }
    barrier_retry(c, n, l, 1001, o);
    ck_assert_msg(cl_run_until(c, pred_barrier, bl, 5000),
                  "N=%llu: leader barrier never completed",
                  (unsigned long long)n);
    int lst = -99;
    cl_barrier_done(c, l, 1001, &lst);
    ck_assert_msg(lst == 0, "N=%llu: leader barrier: %s",
                  (unsigned long long)n, zab_err_name(lst));

    /* Everything still works: one more round through the final leader. */
    last = propose_retry(c, n, "final", o);
    ck_assert_msg(cl_run_until(c, cl_pred_delivered, &last, 30000),
                  "N=%llu: final transaction not delivered everywhere",
                  (unsigned long long)n);
    for (uint32_t id = 1; id <= 3; id++) {
        for (int k = 0; k < 75; k++) {
            if (k < 5) {
                snprintf(p, sizeof p, "tx%d", k);
            } else {
                snprintf(p, sizeof p, "burst%d", k - 5);
            }
            ck_assert_msg(cl_delivered_payload(c, id, p),
                          "N=%llu: node %u lacks %s", (unsigned long long)n,
                          id, p);
        }
        ck_assert_msg(cl_applied_equal(c, id, l), "N=%llu: node %u differs",
                      (unsigned long long)n, id);
    }
    ck_assert_uint_ge(cl_stat(c, 3, ZAB_STAT_SYNC_SNAP) +
                          cl_stat(c, 2, ZAB_STAT_SYNC_SNAP),
                      1);
    cl_assert_clean(c);
    o->failure_hit = c->alloc_calls >= n;
    cl_free(c); /* fails the test if a node leaked */
}

START_TEST(test_cluster)
{
    int boot = 0, calls = 0;
    uint64_t n;
    for (n = 1; n < 5000; n++) {
        outcome_t o;
        scenario(n, &o);
        boot += o.boot_failures;
        calls += o.call_failures;
        if (getenv("ZAB_TEST_TRACE") != NULL) {
            fprintf(stderr, "oom: N=%llu: %d boot, %d call failures\n",
                    (unsigned long long)n, o.boot_failures, o.call_failures);
        }
        if (!o.failure_hit) {
            break;
        }
    }
    ck_assert_uint_lt(n, 5000);
    ck_assert_int_ge(boot, 9); /* 3 allocations in each zab_new */
    ck_assert_int_ge(calls, 1);
    if (getenv("ZAB_TEST_TRACE") != NULL) {
        fprintf(stderr, "oom: %llu allocations, %d boot and %d call failures\n",
                (unsigned long long)n - 1, boot, calls);
    }
}
END_TEST

/* When the leader cannot allocate room for a learner's read barrier (its
 * barrier array, first needed for the follower's SYNC), it must refuse it
 * so that the learner's barrier fails at once with ZAB_EBUSY, instead of
 * leaving it pending for as long as the leader stays (found by this test;
 * fixed in 47ee018). */
START_TEST(test_follower_barrier_refused)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_use_alloc_hook(c, 3);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    c->fail_at = c->alloc_calls + 1;
    ck_assert_int_eq(zab_read_barrier(cl_z(c, 1), 5), 0);
    uint64_t arg[2] = {1, 5};
    int done = cl_run_until(c, pred_barrier, arg, 10000);
    int st = 0;
    int n = cl_barrier_done(c, 1, 5, &st);
    uint64_t failures = c->alloc_failures;
    uint64_t now = c->now;
    /* The cluster goes on: a second barrier succeeds. */
    ck_assert_int_eq(zab_read_barrier(cl_z(c, 1), 6), 0);
    cl_settle(c);
    int st6 = -99;
    ck_assert_int_eq(cl_barrier_done(c, 1, 6, &st6), 1);
    ck_assert_int_eq(st6, 0);
    cl_assert_clean(c);
    cl_free(c);
    ck_assert_uint_eq(failures, 1);
    ck_assert_msg(done, "the follower's barrier neither completed nor failed "
                        "in 10 s after the leader ran out of memory for it");
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(st, ZAB_EBUSY);
    ck_assert_uint_lt(now, 100); /* at once, not after a timeout */
}
END_TEST

static Suite *oom_suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("new");
    tcase_add_test(tc, test_new);
    suite_add_tcase(s, tc);
    tc = tcase_create("cluster");
    tcase_add_test(tc, test_cluster);
    tcase_add_test(tc, test_follower_barrier_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(oom_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
