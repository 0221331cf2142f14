/*
 * check_queue.c -- the cache of logged, undelivered transactions
 * (queue.h): push, pop, at, data, find_after, truncate and reset; the byte
 * ring's wrap-around (a payload never straddles the end), growth of both
 * rings (absolute positions survive it), the byte bound (ZAB_EBUSY),
 * allocation failures (ZAB_ENOMEM, nothing changed), and a randomized run
 * against a plain array model.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "zab_int.h"

/* ---- a node shell that only carries the allocator ------------------------ */

typedef struct acct {
    long live;
    long calls;
    int fail; /* fail every allocation while set */
} acct_t;

static void *t_malloc(void *ud, size_t n)
{
    acct_t *a = ud;
    a->calls++;
    if (a->fail) {
        return NULL;
    }
    void *p = malloc(n);
    if (p != NULL) {
        a->live++;
    }
    return p;
}

static void *t_realloc(void *ud, void *p, size_t n)
{
    acct_t *a = ud;
    a->calls++;
    if (a->fail) {
        return NULL;
    }
    void *q = realloc(p, n);
    if (q != NULL && p == NULL) {
        a->live++;
    }
    return q;
}

static void t_free(void *ud, void *p)
{
    acct_t *a = ud;
    if (p != NULL) {
        a->live--;
        free(p);
    }
}

static struct zab shell;
static acct_t acct;
static zab__queue_t q;

static void setup(void)
{
    memset(&shell, 0, sizeof shell);
    memset(&acct, 0, sizeof acct);
    shell.malloc_fn = t_malloc;
    shell.realloc_fn = t_realloc;
    shell.free_fn = t_free;
    shell.alloc_ud = &acct;
    zab__queue_init(&q, 0);
}

static void teardown(void)
{
    zab__queue_free(&shell, &q);
    ck_assert_int_eq(acct.live, 0);
}

#define BIG ((uint64_t)1 << 40)

static uint64_t count(void)
{
    return q.tail - q.head;
}

/* Deterministic payload bytes for an entry. */
static void fill(uint8_t *buf, size_t len, uint64_t zxid)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(zxid * 31 + i * 7 + (i >> 8));
    }
}

static int push_filled(uint64_t zxid, size_t len, uint64_t max)
{
    uint8_t *buf = malloc(len + 1);
    fill(buf, len, zxid);
    int rc = zab__queue_push(&shell, &q, zxid, len ? buf : NULL, len, max);
    free(buf);
    return rc;
}

static void check_entry(uint64_t seq, uint64_t zxid, size_t len)
{
    /* Plain tests, then ck_abort: every ck_assert writes a checkpoint,
     * which is slow under valgrind in loops like these. */
    const zab__entry_t *e = zab__queue_at(&q, seq);
    if (e->zxid != zxid || e->len != len) {
        ck_abort_msg("entry at %llu is %llx/%u, expected %llx/%zu",
                     (unsigned long long)seq, (unsigned long long)e->zxid,
                     e->len, (unsigned long long)zxid, len);
    }
    /* contiguous and inside the ring */
    if ((e->off & (q.bytes_cap - 1)) + e->len > q.bytes_cap) {
        ck_abort_msg("entry %llx crosses the end of the ring",
                     (unsigned long long)zxid);
    }
    const uint8_t *d = zab__queue_data(&q, e);
    for (size_t i = 0; i < len; i++) {
        if (d[i] != (uint8_t)(zxid * 31 + i * 7 + (i >> 8))) {
            ck_abort_msg("entry %llx: byte %zu differs",
                         (unsigned long long)zxid, i);
        }
    }
}

/* ---- basics --------------------------------------------------------------- */

START_TEST(test_empty)
{
    zab__queue_init(&q, 7);
    ck_assert_uint_eq(q.base, 7);
    ck_assert_uint_eq(count(), 0);
    ck_assert_uint_eq(q.payload_bytes, 0);
    ck_assert_uint_eq(zab__queue_find_after(&q, 0), q.tail);
    ck_assert_uint_eq(zab__queue_find_after(&q, UINT64_MAX), q.tail);
    zab__queue_pop(&q);
    zab__queue_truncate(&q, 100);
    ck_assert_uint_eq(count(), 0);
    ck_assert_uint_eq(q.base, 7);
    ck_assert_int_eq(acct.calls, 0); /* an empty queue allocates nothing */
}
END_TEST

START_TEST(test_push_at_data)
{
    ck_assert_int_eq(push_filled(ZAB_ZXID(1, 1), 5, BIG), 0);
    ck_assert_int_eq(push_filled(ZAB_ZXID(1, 2), 0, BIG), 0);
    ck_assert_int_eq(push_filled(ZAB_ZXID(1, 3), 300, BIG), 0);
    ck_assert_uint_eq(count(), 3);
    ck_assert_uint_eq(q.payload_bytes, 305);
    check_entry(q.head, ZAB_ZXID(1, 1), 5);
    check_entry(q.head + 1, ZAB_ZXID(1, 2), 0);
    check_entry(q.head + 2, ZAB_ZXID(1, 3), 300);
    /* The queue copied the payload: the caller's buffer is gone. */
    const char *s = "hello";
    char tmp[8];
    memcpy(tmp, s, 6);
    ck_assert_int_eq(zab__queue_push(&shell, &q, ZAB_ZXID(2, 1), tmp, 6, BIG),
                     0);
    memset(tmp, 0, sizeof tmp);
    ck_assert_str_eq(zab__queue_data(&q, zab__queue_at(&q, q.head + 3)),
                     "hello");
}
END_TEST

START_TEST(test_find_after)
{
    const uint64_t z[] = {ZAB_ZXID(1, 5), ZAB_ZXID(1, 6), ZAB_ZXID(2, 1),
                          ZAB_ZXID(2, 2), ZAB_ZXID(4, 1)};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(push_filled(z[i], 3, BIG), 0);
    }
    uint64_t h = q.head;
    ck_assert_uint_eq(zab__queue_find_after(&q, 0), h);
    ck_assert_uint_eq(zab__queue_find_after(&q, ZAB_ZXID(1, 4)), h);
    ck_assert_uint_eq(zab__queue_find_after(&q, ZAB_ZXID(1, 5)), h + 1);
    ck_assert_uint_eq(zab__queue_find_after(&q, ZAB_ZXID(1, 9)), h + 2);
    ck_assert_uint_eq(zab__queue_find_after(&q, ZAB_ZXID(2, 1)), h + 3);
    ck_assert_uint_eq(zab__queue_find_after(&q, ZAB_ZXID(3, 0)), h + 4);
    ck_assert_uint_eq(zab__queue_find_after(&q, ZAB_ZXID(4, 1)), q.tail);
    ck_assert_uint_eq(zab__queue_find_after(&q, UINT64_MAX), q.tail);
}
END_TEST

START_TEST(test_pop)
{
    for (uint32_t i = 1; i <= 4; i++) {
        ck_assert_int_eq(push_filled(ZAB_ZXID(1, i), 10 * i, BIG), 0);
    }
    zab__queue_pop(&q);
    ck_assert_uint_eq(q.base, ZAB_ZXID(1, 1));
    ck_assert_uint_eq(count(), 3);
    ck_assert_uint_eq(q.payload_bytes, 20 + 30 + 40);
    check_entry(q.head, ZAB_ZXID(1, 2), 20);
    zab__queue_pop(&q);
    zab__queue_pop(&q);
    zab__queue_pop(&q);
    ck_assert_uint_eq(count(), 0);
    ck_assert_uint_eq(q.base, ZAB_ZXID(1, 4));
    ck_assert_uint_eq(q.payload_bytes, 0);
    ck_assert_uint_eq(q.bytes_head, q.bytes_tail);
    zab__queue_pop(&q); /* empty: no-op */
    ck_assert_uint_eq(q.base, ZAB_ZXID(1, 4));
}
END_TEST

START_TEST(test_truncate)
{
    for (uint32_t i = 1; i <= 10; i++) {
        ck_assert_int_eq(push_filled(ZAB_ZXID(1, i), i, BIG), 0);
    }
    zab__queue_truncate(&q, ZAB_ZXID(1, 100)); /* nothing above */
    ck_assert_uint_eq(count(), 10);
    zab__queue_truncate(&q, ZAB_ZXID(1, 5));
    ck_assert_uint_eq(count(), 5);
    ck_assert_uint_eq(q.payload_bytes, 1 + 2 + 3 + 4 + 5);
    ck_assert_uint_eq(zab__queue_at(&q, q.tail - 1)->zxid, ZAB_ZXID(1, 5));
    /* Pushing after a truncation reuses the space and keeps order. */
    ck_assert_int_eq(push_filled(ZAB_ZXID(2, 1), 50, BIG), 0);
    check_entry(q.tail - 1, ZAB_ZXID(2, 1), 50);
    for (uint64_t s = q.head; s < q.tail - 1; s++) {
        check_entry(s, ZAB_ZXID(1, s - q.head + 1), s - q.head + 1);
    }
    /* Below the base: everything goes and the base comes down. */
    zab__queue_pop(&q);
    zab__queue_pop(&q);
    ck_assert_uint_eq(q.base, ZAB_ZXID(1, 2));
    zab__queue_truncate(&q, ZAB_ZXID(1, 1));
    ck_assert_uint_eq(count(), 0);
    ck_assert_uint_eq(q.payload_bytes, 0);
    ck_assert_uint_le(q.base, ZAB_ZXID(1, 1));
    ck_assert_int_eq(push_filled(ZAB_ZXID(3, 1), 7, BIG), 0);
    check_entry(q.head, ZAB_ZXID(3, 1), 7);
}
END_TEST

START_TEST(test_reset)
{
    for (uint32_t i = 1; i <= 5; i++) {
        ck_assert_int_eq(push_filled(ZAB_ZXID(1, i), 100, BIG), 0);
    }
    zab__queue_reset(&q, ZAB_ZXID(1, 9));
    ck_assert_uint_eq(count(), 0);
    ck_assert_uint_eq(q.payload_bytes, 0);
    ck_assert_uint_eq(q.base, ZAB_ZXID(1, 9));
    ck_assert_uint_eq(zab__queue_find_after(&q, 0), q.tail);
    long calls = acct.calls;
    ck_assert_int_eq(push_filled(ZAB_ZXID(1, 10), 100, BIG), 0);
    check_entry(q.head, ZAB_ZXID(1, 10), 100);
    ck_assert_int_eq(acct.calls, calls); /* space reused */
}
END_TEST

/* ---- ring behaviour --------------------------------------------------------- */

/* Pushes and pops with at most two entries live: the 4096-byte ring wraps
 * again and again, a payload that does not fit before the end starts at
 * the beginning, and nothing is allocated after the first push. */
START_TEST(test_wrap_around)
{
    ck_assert_int_eq(push_filled(1, 1000, BIG), 0);
    ck_assert_uint_eq(q.bytes_cap, 4096);
    long calls = acct.calls;
    uint64_t zxid = 1;
    int wrapped = 0;
    for (int i = 0; i < 300; i++) {
        size_t len = 500 + (size_t)((i * 337) % 501); /* 500..1000 */
        if (count() == 2) {
            zab__queue_pop(&q);
        }
        uint64_t before = q.bytes_tail;
        ck_assert_int_eq(push_filled(++zxid, len, BIG), 0);
        const zab__entry_t *e = zab__queue_at(&q, q.tail - 1);
        if ((e->off & 4095) < (before & 4095)) {
            wrapped++;
            ck_assert_uint_eq(e->off & 4095, 0);
        }
        for (uint64_t s = q.head; s < q.tail; s++) {
            uint64_t z = zab__queue_at(&q, s)->zxid;
            check_entry(s, z, zab__queue_at(&q, s)->len);
        }
    }
    ck_assert_int_gt(wrapped, 10);
    ck_assert_uint_eq(q.bytes_cap, 4096);
    ck_assert_int_eq(acct.calls, calls);
}
END_TEST

/* Both rings grow; entries keep their absolute positions (the leader
 * keeps its commit cursor as one) and their bytes. */
START_TEST(test_growth)
{
    uint32_t next = 1;
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(push_filled(ZAB_ZXID(1, next), 3, BIG), 0);
        next++;
    }
    ck_assert_uint_eq(q.ents_cap, 64);
    for (int i = 0; i < 10; i++) {
        zab__queue_pop(&q);
    }
    for (int i = 0; i < 10; i++) { /* wraps in the descriptor ring */
        ck_assert_int_eq(push_filled(ZAB_ZXID(1, next), 3, BIG), 0);
        next++;
    }
    ck_assert_uint_eq(q.ents_cap, 64);
    uint64_t mark = q.head + 40;
    uint64_t mark_zxid = zab__queue_at(&q, mark)->zxid;
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(push_filled(ZAB_ZXID(1, next), 3, BIG), 0);
        next++;
    }
    ck_assert_uint_ge(q.ents_cap, 256);
    ck_assert_uint_eq(zab__queue_at(&q, mark)->zxid, mark_zxid);
    ck_assert_uint_eq(zab__queue_find_after(&q, mark_zxid - 1), mark);
    uint32_t c = ZAB_ZXID_COUNTER(zab__queue_at(&q, q.head)->zxid);
    for (uint64_t s = q.head; s < q.tail; s++, c++) {
        check_entry(s, ZAB_ZXID(1, c), 3);
    }
    /* A payload bigger than the byte ring: it grows and re-lays. */
    uint64_t cap = q.bytes_cap;
    ck_assert_int_eq(push_filled(ZAB_ZXID(1, next), 3 * cap, BIG), 0);
    ck_assert_uint_gt(q.bytes_cap, cap);
    check_entry(q.tail - 1, ZAB_ZXID(1, next), 3 * cap);
    c = ZAB_ZXID_COUNTER(zab__queue_at(&q, q.head)->zxid);
    for (uint64_t s = q.head; s < q.tail - 1; s++, c++) {
        check_entry(s, ZAB_ZXID(1, c), 3);
    }
    ck_assert_uint_eq(zab__queue_at(&q, mark)->zxid, mark_zxid);
}
END_TEST

START_TEST(test_byte_bound)
{
    ck_assert_int_eq(push_filled(1, 60, 100), 0);
    uint64_t tail = q.tail, bt = q.bytes_tail;
    ck_assert_int_eq(push_filled(2, 41, 100), ZAB_EBUSY);
    ck_assert_uint_eq(q.tail, tail);
    ck_assert_uint_eq(q.bytes_tail, bt);
    ck_assert_uint_eq(q.payload_bytes, 60);
    ck_assert_int_eq(push_filled(2, 40, 100), 0); /* exactly the bound */
    ck_assert_int_eq(push_filled(3, 0, 100), 0);
    ck_assert_int_eq(push_filled(4, 1, 100), ZAB_EBUSY);
    zab__queue_pop(&q);
    ck_assert_int_eq(push_filled(4, 60, 100), 0);
    ck_assert_uint_eq(q.payload_bytes, 100);
    check_entry(q.head, 2, 40);
    check_entry(q.head + 1, 3, 0);
    check_entry(q.head + 2, 4, 60);
}
END_TEST

START_TEST(test_enomem)
{
    acct.fail = 1;
    ck_assert_int_eq(push_filled(1, 10, BIG), ZAB_ENOMEM);
    ck_assert_uint_eq(count(), 0);
    ck_assert_uint_eq(q.payload_bytes, 0);
    acct.fail = 0;
    ck_assert_int_eq(push_filled(1, 10, BIG), 0);
    ck_assert_int_eq(push_filled(2, 20, BIG), 0);
    /* The byte ring must grow for this one; it cannot. */
    acct.fail = 1;
    ck_assert_int_eq(push_filled(3, 10000, BIG), ZAB_ENOMEM);
    ck_assert_uint_eq(count(), 2);
    ck_assert_uint_eq(q.payload_bytes, 30);
    check_entry(q.head, 1, 10);
    check_entry(q.head + 1, 2, 20);
    /* Pushes that fit need no memory. */
    ck_assert_int_eq(push_filled(3, 100, BIG), 0);
    acct.fail = 0;
    ck_assert_int_eq(push_filled(4, 10000, BIG), 0);
    check_entry(q.head, 1, 10);
    check_entry(q.head + 3, 4, 10000);
    /* The descriptor ring must grow: fails, nothing changes. */
    uint64_t z = 5;
    while (count() < q.ents_cap) {
        ck_assert_int_eq(push_filled(z++, 1, BIG), 0);
    }
    acct.fail = 1;
    uint64_t n = count();
    ck_assert_int_eq(push_filled(z, 1, BIG), ZAB_ENOMEM);
    ck_assert_uint_eq(count(), n);
    acct.fail = 0;
    ck_assert_int_eq(push_filled(z, 1, BIG), 0);
    check_entry(q.tail - 1, z, 1);
}
END_TEST

/* ---- randomized model ---------------------------------------------------------- */

typedef struct mentry {
    uint64_t zxid;
    size_t len;
} mentry_t;

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t model_find_after(const mentry_t *m, size_t n, uint64_t zxid)
{
    size_t i = 0;
    while (i < n && m[i].zxid <= zxid) {
        i++;
    }
    return i;
}

START_TEST(test_model)
{
    rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)_i;
    size_t cap = 4096, n = 0;
    mentry_t *m = malloc(cap * sizeof *m);
    uint64_t payload = 0, next = 1;
    for (int op = 0; op < 3000; op++) {
        uint64_t r = rnd() % 100;
        if (r < 50) {
            size_t len;
            uint64_t k = rnd() % 100;
            len = k < 10 ? 0 : k < 70 ? rnd() % 64 : k < 97 ? rnd() % 3000
                                                          : rnd() % 12000;
            uint64_t maxb = rnd() % 8 == 0 ? payload + rnd() % 4000 : BIG;
            if (rnd() % 4 == 0) {
                next += ZAB_ZXID(1, 0); /* a new epoch now and then */
            }
            uint64_t zxid = next++;
            acct.fail = rnd() % 50 == 0;
            int rc = push_filled(zxid, len, maxb);
            acct.fail = 0;
            if (payload + len > maxb) {
                ck_assert_int_eq(rc, ZAB_EBUSY);
            } else if (rc == ZAB_ENOMEM) {
                ck_assert(acct.calls > 0);
            } else {
                ck_assert_int_eq(rc, 0);
                ck_assert_uint_lt(n, cap);
                m[n].zxid = zxid;
                m[n].len = len;
                n++;
                payload += len;
                check_entry(q.tail - 1, zxid, len);
            }
        } else if (r < 80) {
            uint64_t base = q.base;
            zab__queue_pop(&q);
            if (n > 0) {
                ck_assert_uint_eq(q.base, m[0].zxid);
                payload -= m[0].len;
                memmove(m, m + 1, (n - 1) * sizeof *m);
                n--;
            } else {
                ck_assert_uint_eq(q.base, base);
            }
        } else if (r < 90) {
            uint64_t t;
            if (n > 0 && rnd() % 4 != 0) {
                t = m[rnd() % n].zxid;
            } else {
                t = next == 0 ? 0 : rnd() % next;
            }
            zab__queue_truncate(&q, t);
            size_t keep = model_find_after(m, n, t);
            for (size_t i = keep; i < n; i++) {
                payload -= m[i].len;
            }
            n = keep;
            next = t + 1;
        } else if (r < 92) {
            uint64_t base = n > 0 ? m[n - 1].zxid : next;
            zab__queue_reset(&q, base);
            ck_assert_uint_eq(q.base, base);
            n = 0;
            payload = 0;
            next = base + 1;
        } else {
            /* lookups only */
            for (int k = 0; k < 4; k++) {
                uint64_t z = n > 0 && k < 2 ? m[rnd() % n].zxid - (uint64_t)k
                                            : rnd() % (next + 2);
                ck_assert_uint_eq(zab__queue_find_after(&q, z) - q.head,
                                  model_find_after(m, n, z));
            }
        }
        /* The queue against the model (plain tests first: ck_assert is
         * slow under valgrind). */
        if (count() != n || q.payload_bytes != payload) {
            ck_abort_msg("op %d: %llu entries, %llu bytes; model %zu, %llu",
                         op, (unsigned long long)count(),
                         (unsigned long long)q.payload_bytes, n,
                         (unsigned long long)payload);
        }
        for (size_t i = 0; i < n; i++) {
            const zab__entry_t *e = zab__queue_at(&q, q.head + i);
            if (e->zxid != m[i].zxid || e->len != m[i].len) {
                ck_abort_msg("op %d: entry %zu is %llx/%u, model %llx/%zu", op,
                             i, (unsigned long long)e->zxid, e->len,
                             (unsigned long long)m[i].zxid, m[i].len);
            }
        }
        if (op % 128 == 0 || n < 4) {
            for (size_t i = 0; i < n; i++) {
                check_entry(q.head + i, m[i].zxid, m[i].len);
            }
        }
    }
    free(m);
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("basics");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_push_at_data);
    tcase_add_test(tc, test_find_after);
    tcase_add_test(tc, test_pop);
    tcase_add_test(tc, test_truncate);
    tcase_add_test(tc, test_reset);
    suite_add_tcase(s, tc);

    tc = tcase_create("ring");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_wrap_around);
    tcase_add_test(tc, test_growth);
    tcase_add_test(tc, test_byte_bound);
    tcase_add_test(tc, test_enomem);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_model, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(queue_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
