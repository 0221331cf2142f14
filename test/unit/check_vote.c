/*
 * check_vote.c -- the vote order of Fast Leader Election
 * (zab__vote_better, FastLeaderElection.totalOrderPredicate): peer epoch
 * first, then zxid, then id; equal votes are not better.  Table cases,
 * then the order's laws over a grid of votes with extreme values:
 * irreflexive, antisymmetric, total, transitive, and equal to the
 * lexicographic order of (epoch, zxid, id).
 */
#include <check.h>
#include <stdlib.h>

#include "zab_int.h"

static zab__vote_t V(uint32_t epoch, uint64_t zxid, uint32_t id)
{
    zab__vote_t v = {.leader = id, .peer_epoch = epoch, .zxid = zxid};
    return v;
}

typedef struct vote_case {
    zab__vote_t a, b;
    int better; /* zab__vote_better(a, b) */
} vote_case_t;

#define Z ZAB_ZXID

START_TEST(test_table)
{
    const vote_case_t cases[] = {
        /* epoch first, whatever zxid and id say */
        {V(2, Z(1, 1), 1), V(1, Z(1, 9), 9), 1},
        {V(1, Z(1, 9), 9), V(2, Z(1, 1), 1), 0},
        {V(1, 0, 1), V(0, Z(9, 9), 255), 1},
        {V(0xFFFFFFFF, 0, 1), V(0xFFFFFFFE, UINT64_MAX, 0xFFFFFFFF), 1},
        /* same epoch: zxid, whatever the id */
        {V(1, Z(1, 2), 1), V(1, Z(1, 1), 3), 1},
        {V(1, Z(1, 1), 3), V(1, Z(1, 2), 1), 0},
        {V(3, Z(2, 1), 1), V(3, Z(1, 0xFFFFFFFF), 2), 1}, /* zxid epoch */
        {V(1, Z(0, 1), 1), V(1, 0, 2), 1},
        {V(1, UINT64_MAX, 1), V(1, UINT64_MAX - 1, 2), 1},
        /* same epoch and zxid: id */
        {V(1, Z(1, 1), 3), V(1, Z(1, 1), 2), 1},
        {V(1, Z(1, 1), 2), V(1, Z(1, 1), 3), 0},
        {V(0, 0, 2), V(0, 0, 1), 1},
        {V(0, 0, 0xFFFFFFFF), V(0, 0, 0xFFFFFFFE), 1},
        /* equal votes: not better either way */
        {V(1, Z(1, 1), 1), V(1, Z(1, 1), 1), 0},
        {V(0, 0, 0), V(0, 0, 0), 0},
        {V(0xFFFFFFFF, UINT64_MAX, 0xFFFFFFFF),
         V(0xFFFFFFFF, UINT64_MAX, 0xFFFFFFFF), 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(zab__vote_better(&cases[i].a, &cases[i].b) ==
                          cases[i].better,
                      "case %zu", i);
    }
}
END_TEST

/* The reference order: lexicographic on (epoch, zxid, id). */
static int cmp_ref(const zab__vote_t *a, const zab__vote_t *b)
{
    if (a->peer_epoch != b->peer_epoch) {
        return a->peer_epoch < b->peer_epoch ? -1 : 1;
    }
    if (a->zxid != b->zxid) {
        return a->zxid < b->zxid ? -1 : 1;
    }
    if (a->leader != b->leader) {
        return a->leader < b->leader ? -1 : 1;
    }
    return 0;
}

#define GRID_E 4
#define GRID_Z 5
#define GRID_I 4
#define GRID (GRID_E * GRID_Z * GRID_I)

static zab__vote_t grid[GRID];

static void make_grid(void)
{
    const uint32_t epochs[GRID_E] = {0, 1, 2, 0xFFFFFFFF};
    const uint64_t zxids[GRID_Z] = {0, Z(1, 1), Z(1, 2), Z(2, 0),
                                    UINT64_MAX};
    const uint32_t ids[GRID_I] = {1, 2, 255, 0xFFFFFFFF};
    int k = 0;
    for (int e = 0; e < GRID_E; e++) {
        for (int z = 0; z < GRID_Z; z++) {
            for (int i = 0; i < GRID_I; i++) {
                grid[k++] = V(epochs[e], zxids[z], ids[i]);
            }
        }
    }
}

START_TEST(test_laws)
{
    make_grid();
    for (int i = 0; i < GRID; i++) {
        const zab__vote_t *a = &grid[i];
        ck_assert_msg(!zab__vote_better(a, a), "irreflexive at %d", i);
        for (int j = 0; j < GRID; j++) {
            const zab__vote_t *b = &grid[j];
            int ab = zab__vote_better(a, b);
            int ba = zab__vote_better(b, a);
            /* Plain tests first: ck_assert is slow under valgrind. */
            if ((ab && ba) || (i != j && !ab && !ba) ||
                ab != (cmp_ref(a, b) > 0)) {
                ck_assert_msg(!(ab && ba), "antisymmetry at %d, %d", i, j);
                ck_assert_msg(i == j || ab || ba, "totality at %d, %d", i, j);
                ck_assert_msg(ab == (cmp_ref(a, b) > 0), "order at %d, %d", i,
                              j);
            }
        }
    }
}
END_TEST

START_TEST(test_transitive)
{
    make_grid();
    for (int i = 0; i < GRID; i++) {
        for (int j = 0; j < GRID; j++) {
            if (!zab__vote_better(&grid[i], &grid[j])) {
                continue;
            }
            for (int k = 0; k < GRID; k++) {
                if (zab__vote_better(&grid[j], &grid[k]) &&
                    !zab__vote_better(&grid[i], &grid[k])) {
                    ck_abort_msg("transitivity at %d, %d, %d", i, j, k);
                }
            }
        }
    }
}
END_TEST

/* The best of any set is unique: the vote every voter converges on. */
START_TEST(test_unique_best)
{
    make_grid();
    int best = 0;
    for (int i = 1; i < GRID; i++) {
        if (zab__vote_better(&grid[i], &grid[best])) {
            best = i;
        }
    }
    for (int i = 0; i < GRID; i++) {
        if (i != best) {
            ck_assert(zab__vote_better(&grid[best], &grid[i]));
        }
    }
    ck_assert_uint_eq(grid[best].peer_epoch, 0xFFFFFFFF);
    ck_assert_uint_eq(grid[best].zxid, UINT64_MAX);
    ck_assert_uint_eq(grid[best].leader, 0xFFFFFFFF);
}
END_TEST

static Suite *vote_suite(void)
{
    Suite *s = suite_create("vote");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("laws");
    tcase_add_test(tc, test_laws);
    tcase_add_test(tc, test_transitive);
    tcase_add_test(tc, test_unique_best);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(vote_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
