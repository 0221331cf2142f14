/*
 * check_session.c -- the leader's session tracker and session passwords
 * (examples/server/session.c, declared in server.h): tracking, refreshing,
 * touching and forgetting sessions; deadlines (a session expires when its
 * deadline is reached, not before); session_expired never returning a
 * session that is already closing, in batches of any size, until
 * session_unmark_all; session_reset_all (a new leader's grace); growth to
 * 100,000 sessions; tombstones (forget then track the same id again, and
 * every remaining session still found after many deletes and much churn);
 * and session_password: deterministic, known values, and different for a
 * different secret or id.
 *
 * The tracker has no lookup function: a session is "found" when touching
 * it moves its deadline, which session_expired then shows.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Session ids as zabd makes them: the server id in the top byte, a
 * counter below (n < 2^24, so that distinct n give distinct ids). */
static int64_t sid(uint32_t myid, uint64_t n)
{
    return (int64_t)(((uint64_t)myid << 56) | (0x2c3d4e5ull << 24) | n);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* All sessions due at `now` (one call, room for everything). */
static size_t all_expired(session_tracker_t *t, uint64_t now, int64_t **out)
{
    size_t cap = session_count(t) + 1;
    *out = malloc(cap * sizeof **out);
    ck_assert_ptr_nonnull(*out);
    size_t n = session_expired(t, now, *out, cap);
    ck_assert_uint_le(n, session_count(t));
    qsort(*out, n, sizeof **out, cmp_i64);
    return n;
}

static size_t expired_now(session_tracker_t *t, uint64_t now)
{
    int64_t *v;
    size_t n = all_expired(t, now, &v);
    free(v);
    return n;
}

/* ---- basics ------------------------------------------------------------------ */

START_TEST(test_track_forget_count)
{
    session_tracker_t *t = session_tracker_new();
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(session_count(t), 0);
    ck_assert_int_eq(session_track(t, sid(1, 1), 4000, 0), 0);
    ck_assert_int_eq(session_track(t, sid(1, 2), 4000, 0), 0);
    ck_assert_int_eq(session_track(t, sid(2, 1), 4000, 0), 0);
    ck_assert_uint_eq(session_count(t), 3);
    /* Tracking a known session refreshes it, it does not add one. */
    ck_assert_int_eq(session_track(t, sid(1, 2), 6000, 10), 0);
    ck_assert_uint_eq(session_count(t), 3);
    session_forget(t, sid(1, 1));
    ck_assert_uint_eq(session_count(t), 2);
    /* Unknown or already forgotten: nothing happens. */
    session_forget(t, sid(1, 1));
    session_forget(t, sid(9, 9));
    ck_assert_uint_eq(session_count(t), 2);
    session_touch(t, sid(9, 9), 100);
    ck_assert_uint_eq(session_count(t), 2);
    session_forget(t, sid(1, 2));
    session_forget(t, sid(2, 1));
    ck_assert_uint_eq(session_count(t), 0);
    ck_assert_uint_eq(expired_now(t, UINT64_MAX), 0);
    session_tracker_free(t);
    session_tracker_free(NULL);
}
END_TEST

START_TEST(test_negative_and_extreme_ids)
{
    /* Server ids 128..255 give negative session ids. */
    static const int64_t ids[] = { 1, -1, INT64_MIN, INT64_MAX,
                                   (int64_t)0xff00000000000001ull,
                                   (int64_t)0x8000000000000000ull + 7 };
    session_tracker_t *t = session_tracker_new();
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        ck_assert_int_eq(session_track(t, ids[i], 1000, 0), 0);
    ck_assert_uint_eq(session_count(t), sizeof ids / sizeof ids[0]);
    int64_t *v;
    size_t n = all_expired(t, 1000, &v);
    ck_assert_uint_eq(n, sizeof ids / sizeof ids[0]);
    int64_t want[sizeof ids / sizeof ids[0]];
    memcpy(want, ids, sizeof ids);
    qsort(want, n, sizeof want[0], cmp_i64);
    for (size_t i = 0; i < n; i++)
        ck_assert(v[i] == want[i]);
    free(v);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        session_forget(t, ids[i]);
    ck_assert_uint_eq(session_count(t), 0);
    session_tracker_free(t);
}
END_TEST

/* ---- deadlines ------------------------------------------------------------------ */

START_TEST(test_deadline)
{
    session_tracker_t *t = session_tracker_new();
    int64_t a = sid(1, 1), b = sid(1, 2), out[4];
    session_track(t, a, 1000, 0);
    session_track(t, b, 1000, 0);
    ck_assert_uint_eq(session_expired(t, 999, out, 4), 0);
    /* Touching b at 500 moves its deadline to 1500. */
    session_touch(t, b, 500);
    ck_assert_uint_eq(session_expired(t, 1000, out, 4), 1);
    ck_assert(out[0] == a);
    ck_assert_uint_eq(session_expired(t, 1499, out, 4), 0);
    ck_assert_uint_eq(session_expired(t, 1500, out, 4), 1);
    ck_assert(out[0] == b);
    /* Re-tracking moves the deadline too (and the timeout). */
    session_tracker_free(t);
    t = session_tracker_new();
    session_track(t, a, 1000, 0);
    session_track(t, a, 3000, 100);
    ck_assert_uint_eq(session_expired(t, 3099, out, 4), 0);
    ck_assert_uint_eq(session_expired(t, 3100, out, 4), 1);
    session_tracker_free(t);
}
END_TEST

START_TEST(test_zero_timeout)
{
    session_tracker_t *t = session_tracker_new();
    int64_t out[4];
    session_track(t, sid(1, 1), 0, 50);
    ck_assert_uint_eq(session_expired(t, 49, out, 4), 0);
    ck_assert_uint_eq(session_expired(t, 50, out, 4), 1);
    /* A negative timeout is treated as 0 by session_track. */
    session_track(t, sid(1, 2), -5, 70);
    ck_assert_uint_eq(session_expired(t, 69, out, 4), 0);
    ck_assert_uint_eq(session_expired(t, 70, out, 4), 1);
    ck_assert(out[0] == sid(1, 2));
    session_tracker_free(t);
}
END_TEST

START_TEST(test_expired_never_twice)
{
    session_tracker_t *t = session_tracker_new();
    enum { N = 100 };
    for (uint64_t i = 0; i < N; i++)
        session_track(t, sid(3, i + 1), 1000, 0);
    /* Batches of 7: every session exactly once. */
    int64_t got[N + 7], out[7];
    size_t total = 0, k;
    while ((k = session_expired(t, 5000, out, 7)) > 0) {
        ck_assert_uint_le(k, 7);
        ck_assert_uint_le(total + k, N);
        memcpy(got + total, out, k * sizeof out[0]);
        total += k;
    }
    ck_assert_uint_eq(total, N);
    qsort(got, total, sizeof got[0], cmp_i64);
    for (size_t i = 1; i < total; i++)
        ck_assert(got[i] != got[i - 1]);
    /* Still tracked (expiry only marks them), never returned again, even
     * later, even touched (a closing session is not refreshed), even after
     * a reset. */
    ck_assert_uint_eq(session_count(t), N);
    ck_assert_uint_eq(session_expired(t, UINT64_MAX, out, 7), 0);
    session_touch(t, sid(3, 1), 10000);
    session_reset_all(t, 20000);
    ck_assert_uint_eq(session_expired(t, UINT64_MAX, out, 7), 0);
    /* max 0 marks nothing. */
    session_unmark_all(t);
    ck_assert_uint_eq(session_expired(t, UINT64_MAX, out, 0), 0);
    /* After unmark_all (the close was lost), they may expire again, once;
     * the reset above gave them deadline 21000. */
    ck_assert_uint_eq(expired_now(t, 20999), 0);
    ck_assert_uint_eq(expired_now(t, 21000), N);
    ck_assert_uint_eq(expired_now(t, 21000), 0);
    session_tracker_free(t);
}
END_TEST

START_TEST(test_touch_closing_ignored)
{
    session_tracker_t *t = session_tracker_new();
    int64_t a = sid(1, 1), out[2];
    session_track(t, a, 1000, 0);
    ck_assert_uint_eq(session_expired(t, 1000, out, 2), 1);
    /* The expiry is in flight: a late touch does not revive the deadline,
     * so once unmarked it is due at once. */
    session_touch(t, a, 5000);
    session_unmark_all(t);
    ck_assert_uint_eq(session_expired(t, 1000, out, 2), 1);
    ck_assert(out[0] == a);
    session_tracker_free(t);
}
END_TEST

START_TEST(test_reset_all)
{
    session_tracker_t *t = session_tracker_new();
    int64_t a = sid(1, 1), b = sid(1, 2), out[4];
    session_track(t, a, 1000, 0);
    session_track(t, b, 5000, 0);
    session_reset_all(t, 10000);
    ck_assert_uint_eq(session_expired(t, 10999, out, 4), 0);
    ck_assert_uint_eq(session_expired(t, 11000, out, 4), 1);
    ck_assert(out[0] == a);
    ck_assert_uint_eq(session_expired(t, 14999, out, 4), 0);
    ck_assert_uint_eq(session_expired(t, 15000, out, 4), 1);
    ck_assert(out[0] == b);
    /* On an empty tracker (and on one with only tombstones). */
    session_forget(t, a);
    session_forget(t, b);
    session_reset_all(t, 1);
    session_unmark_all(t);
    ck_assert_uint_eq(session_expired(t, UINT64_MAX, out, 4), 0);
    session_tracker_free(t);
    t = session_tracker_new();
    session_reset_all(t, 1);
    session_unmark_all(t);
    session_tracker_free(t);
}
END_TEST

/* ---- growth and tombstones ------------------------------------------------------ */

START_TEST(test_growth_100k)
{
    enum { N = 100000 };
    session_tracker_t *t = session_tracker_new();
    for (uint64_t i = 0; i < N; i++) {
        /* Ids from several servers, interleaved. */
        ck_assert_int_eq(session_track(t, sid((uint32_t)(i % 5) + 1, i),
                                       1000, 0),
                         0);
        if ((i & 8191) == 0)
            ck_assert_uint_eq(session_count(t), i + 1);
    }
    ck_assert_uint_eq(session_count(t), N);
    /* Each one is found: touch the even ones; exactly the odd ones expire
     * at their original deadline. */
    for (uint64_t i = 0; i < N; i += 2)
        session_touch(t, sid((uint32_t)(i % 5) + 1, i), 4000);
    ck_assert_uint_eq(expired_now(t, 999), 0);
    int64_t *v;
    size_t n = all_expired(t, 1000, &v);
    ck_assert_uint_eq(n, N / 2);
    int64_t *want = malloc(N / 2 * sizeof *want);
    ck_assert_ptr_nonnull(want);
    for (uint64_t i = 1, k = 0; i < N; i += 2)
        want[k++] = sid((uint32_t)(i % 5) + 1, i);
    qsort(want, N / 2, sizeof *want, cmp_i64);
    ck_assert(memcmp(v, want, N / 2 * sizeof *want) == 0);
    free(v);
    free(want);
    ck_assert_uint_eq(expired_now(t, 4999), 0);
    ck_assert_uint_eq(expired_now(t, 5000), N / 2);
    /* Forget them all. */
    for (uint64_t i = 0; i < N; i++)
        session_forget(t, sid((uint32_t)(i % 5) + 1, i));
    ck_assert_uint_eq(session_count(t), 0);
    ck_assert_uint_eq(expired_now(t, UINT64_MAX), 0);
    session_tracker_free(t);
}
END_TEST

START_TEST(test_forget_then_track_again)
{
    session_tracker_t *t = session_tracker_new();
    int64_t a = sid(4, 7), out[2];
    session_track(t, sid(4, 1), 1000, 0);
    for (int i = 0; i < 20000; i++) {
        ck_assert_int_eq(session_track(t, a, 1000, (uint64_t)i), 0);
        ck_assert_uint_eq(session_count(t), 2);
        session_forget(t, a);
        ck_assert_uint_eq(session_count(t), 1);
    }
    /* A session expired (closing), forgotten and tracked again starts
     * fresh: not closing, its new deadline. */
    session_track(t, a, 1000, 0);
    ck_assert_uint_eq(session_expired(t, 1000, out, 2), 2);
    session_forget(t, a);
    session_track(t, a, 1000, 2000);
    ck_assert_uint_eq(session_count(t), 2);
    ck_assert_uint_eq(session_expired(t, 2999, out, 2), 0);
    ck_assert_uint_eq(session_expired(t, 3000, out, 2), 1);
    ck_assert(out[0] == a);
    /* Only once in the table: forgetting it once removes it. */
    session_forget(t, a);
    ck_assert_uint_eq(session_count(t), 1);
    session_unmark_all(t);
    ck_assert_uint_eq(session_expired(t, UINT64_MAX, out, 2), 1);
    ck_assert(out[0] == sid(4, 1));
    session_tracker_free(t);
}
END_TEST

START_TEST(test_find_after_many_deletes)
{
    enum { N = 20000, KEEP_EVERY = 97, CHURN = 100000 };
    session_tracker_t *t = session_tracker_new();
    for (uint64_t i = 0; i < N; i++)
        session_track(t, sid(2, i), 1000, 0);
    /* Delete all but every 97th: long runs of tombstones in the probe
     * chains of the survivors. */
    size_t kept = 0;
    for (uint64_t i = 0; i < N; i++) {
        if (i % KEEP_EVERY == 0)
            kept++;
        else
            session_forget(t, sid(2, i));
    }
    ck_assert_uint_eq(session_count(t), kept);
    /* Churn: many short-lived sessions (insertions that reuse tombstones
     * or trigger rehashes) while the survivors stay. */
    for (uint64_t i = 0; i < CHURN; i++) {
        ck_assert_int_eq(session_track(t, sid(3, i), 1000, 0), 0);
        if (i >= 10)
            session_forget(t, sid(3, i - 10));
    }
    for (uint64_t i = CHURN - 10; i < CHURN; i++)
        session_forget(t, sid(3, i));
    ck_assert_uint_eq(session_count(t), kept);
    /* Every survivor is still found (touch moves its deadline), every
     * deleted one is gone (forgetting it again changes nothing). */
    for (uint64_t i = 0; i < N; i += KEEP_EVERY)
        session_touch(t, sid(2, i), 10000);
    for (uint64_t i = 0; i < N; i++)
        if (i % KEEP_EVERY != 0)
            session_forget(t, sid(2, i));
    ck_assert_uint_eq(session_count(t), kept);
    ck_assert_uint_eq(expired_now(t, 10999), 0);
    int64_t *v;
    size_t n = all_expired(t, 11000, &v);
    ck_assert_uint_eq(n, kept);
    for (size_t i = 0; i < n; i++)
        ck_assert(v[i] == sid(2, (uint64_t)i * KEEP_EVERY));
    free(v);
    /* Deleting the survivors one by one keeps the rest findable. */
    session_unmark_all(t);
    for (uint64_t i = 0; i < N; i += KEEP_EVERY) {
        session_forget(t, sid(2, i));
        kept--;
        ck_assert_uint_eq(session_count(t), kept);
    }
    ck_assert_uint_eq(expired_now(t, UINT64_MAX), 0);
    session_tracker_free(t);
}
END_TEST

/* ---- passwords -------------------------------------------------------------------- */

static void hex16(const uint8_t *p, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[32] = '\0';
}

START_TEST(test_password)
{
    uint8_t a[16], b[16];
    char h[33];
    /* Known values: the first 16 bytes of SHA-256("zabd-session:" secret
     * id as 8 big-endian bytes).  Every member and every version must
     * derive the same password, or sessions stop moving between servers. */
    session_password("zabd", 0x0100018b2c3d4e5fll, a);
    hex16(a, h);
    ck_assert_str_eq(h, "90447a8e105f8b6dc7cebbd427aeaf9e");
    session_password("zabd", 1, a);
    hex16(a, h);
    ck_assert_str_eq(h, "a4306314d0d2bc61dcd954d1a07f155a");
    session_password("", -1, a);
    hex16(a, h);
    ck_assert_str_eq(h, "1547d926f021f17827a448cc0258e568");

    /* Deterministic. */
    for (int64_t id = -3; id <= 3; id++) {
        session_password("s3cret", sid(7, (uint64_t)id), a);
        session_password("s3cret", sid(7, (uint64_t)id), b);
        ck_assert(memcmp(a, b, 16) == 0);
    }
    /* A different id, a different secret: different bytes. */
    session_password("s3cret", sid(7, 1), a);
    session_password("s3cret", sid(7, 2), b);
    ck_assert(memcmp(a, b, 16) != 0);
    session_password("s3cret", sid(7, 1), b);
    ck_assert(memcmp(a, b, 16) == 0);
    session_password("s3creT", sid(7, 1), b);
    ck_assert(memcmp(a, b, 16) != 0);
    session_password("s3cret ", sid(7, 1), b);
    ck_assert(memcmp(a, b, 16) != 0);
    session_password("", sid(7, 1), b);
    ck_assert(memcmp(a, b, 16) != 0);
    /* Ids that differ in one bit anywhere. */
    session_password("zabd", 0, a);
    for (int bit = 0; bit < 64; bit++) {
        session_password("zabd", (int64_t)(1ull << bit), b);
        ck_assert(memcmp(a, b, 16) != 0);
    }
    /* A long secret (the configuration allows 255 bytes). */
    char lng[256];
    memset(lng, 'k', sizeof lng - 1);
    lng[255] = '\0';
    session_password(lng, 5, a);
    lng[254] = 'j';
    session_password(lng, 5, b);
    ck_assert(memcmp(a, b, 16) != 0);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("session");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_track_forget_count);
    tcase_add_test(tc, test_negative_and_extreme_ids);
    tcase_add_test(tc, test_deadline);
    tcase_add_test(tc, test_zero_timeout);
    tcase_add_test(tc, test_expired_never_twice);
    tcase_add_test(tc, test_touch_closing_ignored);
    tcase_add_test(tc, test_reset_all);
    tcase_add_test(tc, test_growth_100k);
    tcase_add_test(tc, test_forget_then_track_again);
    tcase_add_test(tc, test_find_after_many_deletes);
    tcase_add_test(tc, test_password);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(session_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
