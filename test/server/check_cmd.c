/*
 * check_cmd.c -- the replicated command (examples/server/cmd.h): encode and
 * decode round trips (no identity and CMD_MAX_IDS identities, an empty and
 * a large request, every field at its extremes), the exact byte layout of
 * cmd.h, every truncation of a valid encoding refused, trailing bytes
 * refused, a bad magic or version refused, more than CMD_MAX_IDS
 * identities refused by the encoder and by the decoder, an identity string
 * longer than ACL_MAX_STR refused (exactly ACL_MAX_STR accepted), and
 * cmd_free being safe after a failed decode.  Run under valgrind by make
 * check: every decode that succeeds is freed.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

/* ---- helpers -------------------------------------------------------------- */

/* Identity strings owned by the test, pointed at by cmd_t.ids. */
typedef struct idstore {
    char scheme[CMD_MAX_IDS + 1][32];
    char id[CMD_MAX_IDS + 1][64];
} idstore_t;

static void fill_ids(cmd_t *c, idstore_t *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(st->scheme[i], sizeof st->scheme[i], "%s",
                 i == 0 ? "ip" : (i % 3 == 0 ? "" : "digest"));
        if (i == 0)
            snprintf(st->id[i], sizeof st->id[i], "10.1.2.3");
        else if (i % 5 == 0)
            st->id[i][0] = '\0';
        else
            snprintf(st->id[i], sizeof st->id[i],
                     "user%zu:fyVmFCwVbTJYrznoSu1koqYEYF0=", i);
        c->ids[i].scheme = st->scheme[i];
        c->ids[i].id = st->id[i];
    }
    c->nids = n;
}

static void base_cmd(cmd_t *c)
{
    memset(c, 0, sizeof *c);
    c->origin = 3;
    c->incarnation = 0x0123456789abcdefull;
    c->seq = 42;
    c->session = 0x0300000012345678ll;
    c->time = 1700000000123ll;
    c->type = 1; /* create */
    c->arg = 0;
}

/* Every field and every identity of a and b equal; requests equal bytes. */
static void assert_same(const cmd_t *a, const cmd_t *b)
{
    ck_assert_uint_eq(a->origin, b->origin);
    ck_assert(a->incarnation == b->incarnation);
    ck_assert(a->seq == b->seq);
    ck_assert(a->session == b->session);
    ck_assert(a->time == b->time);
    ck_assert_int_eq(a->type, b->type);
    ck_assert_int_eq(a->arg, b->arg);
    ck_assert_uint_eq(a->nids, b->nids);
    for (size_t i = 0; i < a->nids; i++) {
        ck_assert_str_eq(a->ids[i].scheme, b->ids[i].scheme);
        ck_assert_str_eq(a->ids[i].id, b->ids[i].id);
    }
    ck_assert_uint_eq(a->request_len, b->request_len);
    if (a->request_len)
        ck_assert(memcmp(a->request, b->request, a->request_len) == 0);
}

/* encode(c) decodes to c, and re-encodes to the same bytes. */
static void round_trip(const cmd_t *c)
{
    uint8_t *buf = NULL, *again = NULL;
    size_t len = 0, alen = 0;
    cmd_t d;
    ck_assert_int_eq(cmd_encode(c, &buf, &len), 0);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(cmd_decode(buf, len, &d), 0);
    assert_same(c, &d);
    /* The decoded request points into the input; the identities are
     * copies. */
    ck_assert(d.request >= buf && d.request + d.request_len <= buf + len);
    for (size_t i = 0; i < d.nids; i++) {
        ck_assert(d.ids[i].scheme != c->ids[i].scheme);
        ck_assert(d.ids[i].id != c->ids[i].id);
    }
    ck_assert_int_eq(cmd_encode(&d, &again, &alen), 0);
    ck_assert_uint_eq(alen, len);
    ck_assert(memcmp(again, buf, len) == 0);
    cmd_free(&d);
    ck_assert_uint_eq(d.nids, 0);
    cmd_free(&d); /* twice is harmless */
    free(again);
    free(buf);
}

/* Decoding must fail; a failed decode leaves nothing to free. */
static void assert_refused(const uint8_t *buf, size_t len)
{
    cmd_t d;
    ck_assert_int_eq(cmd_decode(buf, len, &d), -1);
    ck_assert_uint_eq(d.nids, 0);
    cmd_free(&d);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Offsets of the fixed header (cmd.h). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 1,
    OFF_FLAGS = 2,
    OFF_ORIGIN = 4,
    OFF_INCARNATION = 8,
    OFF_SEQ = 16,
    OFF_SESSION = 24,
    OFF_TIME = 32,
    OFF_TYPE = 40,
    OFF_ARG = 44,
    OFF_NIDS = 48,
    HEADER_LEN = 52
};

/* ---- round trips ------------------------------------------------------------ */

START_TEST(test_round_trip_no_ids_empty_request)
{
    cmd_t c;
    base_cmd(&c);
    c.type = -10; /* createSession */
    c.arg = 30000;
    round_trip(&c);

    /* The encoding of a session event is the header, nids 0, len 0. */
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(cmd_encode(&c, &buf, &len), 0);
    ck_assert_uint_eq(len, HEADER_LEN + 4);
    cmd_t d;
    ck_assert_int_eq(cmd_decode(buf, len, &d), 0);
    ck_assert_uint_eq(d.request_len, 0);
    ck_assert_uint_eq(d.nids, 0);
    cmd_free(&d);
    free(buf);

    /* All zero. */
    memset(&c, 0, sizeof c);
    round_trip(&c);
}
END_TEST

START_TEST(test_round_trip_max_ids)
{
    static idstore_t st;
    static const uint8_t req[] = { 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, '/',
                                   'a' };
    cmd_t c;
    base_cmd(&c);
    fill_ids(&c, &st, CMD_MAX_IDS);
    c.request = req;
    c.request_len = sizeof req;
    round_trip(&c);
    /* And every count in between. */
    for (size_t n = 0; n <= CMD_MAX_IDS; n++) {
        fill_ids(&c, &st, n);
        round_trip(&c);
    }
}
END_TEST

START_TEST(test_round_trip_large_request)
{
    size_t n = (size_t)4 << 20;
    uint8_t *req = malloc(n);
    ck_assert_ptr_nonnull(req);
    for (size_t i = 0; i < n; i++)
        req[i] = (uint8_t)(i * 131 + (i >> 13));
    static idstore_t st;
    cmd_t c;
    base_cmd(&c);
    fill_ids(&c, &st, 2);
    c.request = req;
    c.request_len = n;
    round_trip(&c);
    /* A request of one byte and one with every byte value. */
    c.request_len = 1;
    round_trip(&c);
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    c.request = all;
    c.request_len = sizeof all;
    round_trip(&c);
    free(req);
}
END_TEST

START_TEST(test_round_trip_extremes)
{
    static const int64_t i64s[] = { 0, 1, -1, INT64_MIN, INT64_MAX,
                                    (int64_t)0xff00000000000001ull };
    static const int32_t i32s[] = { 0, 1, -1, -10, -11, INT32_MIN,
                                    INT32_MAX };
    static const uint64_t u64s[] = { 0, 1, UINT64_MAX, 0x8000000000000000ull };
    static const uint32_t u32s[] = { 0, 1, 255, UINT32_MAX };
    cmd_t c;
    for (size_t i = 0; i < sizeof i64s / sizeof i64s[0]; i++) {
        base_cmd(&c);
        c.session = i64s[i];
        c.time = i64s[(i + 1) % (sizeof i64s / sizeof i64s[0])];
        round_trip(&c);
    }
    for (size_t i = 0; i < sizeof i32s / sizeof i32s[0]; i++) {
        base_cmd(&c);
        c.type = i32s[i];
        c.arg = i32s[(i + 3) % (sizeof i32s / sizeof i32s[0])];
        round_trip(&c);
    }
    for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++) {
        base_cmd(&c);
        c.incarnation = u64s[i];
        c.seq = u64s[(i + 1) % (sizeof u64s / sizeof u64s[0])];
        c.origin = u32s[i];
        round_trip(&c);
    }
}
END_TEST

/* The byte layout documented in cmd.h (big-endian, fixed offsets). */
START_TEST(test_layout)
{
    static const uint8_t req[] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };
    acl_id_t ids[1];
    cmd_t c;
    base_cmd(&c);
    c.origin = 0x01020304;
    c.incarnation = 0x1112131415161718ull;
    c.seq = 0x2122232425262728ull;
    c.session = (int64_t)0xf1f2f3f4f5f6f7f8ull;
    c.time = 0x3132333435363738ll;
    c.type = -11;
    c.arg = 0x41424344;
    ids[0].scheme = (char *)(uintptr_t)"digest";
    ids[0].id = (char *)(uintptr_t)"bob:x";
    c.ids[0] = ids[0];
    c.nids = 1;
    c.request = req;
    c.request_len = sizeof req;
    uint8_t *b;
    size_t len;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), 0);
    ck_assert_uint_eq(len, HEADER_LEN + 4 + 6 + 4 + 5 + 4 + sizeof req);
    ck_assert_uint_eq(b[OFF_MAGIC], 'Z');
    ck_assert_uint_eq(b[OFF_VERSION], 1);
    ck_assert_uint_eq(b[OFF_FLAGS], 0);
    ck_assert_uint_eq(b[OFF_FLAGS + 1], 0);
    ck_assert_uint_eq(get32(b + OFF_ORIGIN), 0x01020304u);
    ck_assert(get64(b + OFF_INCARNATION) == 0x1112131415161718ull);
    ck_assert(get64(b + OFF_SEQ) == 0x2122232425262728ull);
    ck_assert(get64(b + OFF_SESSION) == 0xf1f2f3f4f5f6f7f8ull);
    ck_assert(get64(b + OFF_TIME) == 0x3132333435363738ull);
    ck_assert_uint_eq(get32(b + OFF_TYPE), (uint32_t)-11);
    ck_assert_uint_eq(get32(b + OFF_ARG), 0x41424344u);
    ck_assert_uint_eq(get32(b + OFF_NIDS), 1);
    const uint8_t *p = b + HEADER_LEN;
    ck_assert_uint_eq(get32(p), 6);
    ck_assert(memcmp(p + 4, "digest", 6) == 0);
    p += 10;
    ck_assert_uint_eq(get32(p), 5);
    ck_assert(memcmp(p + 4, "bob:x", 5) == 0);
    p += 9;
    ck_assert_uint_eq(get32(p), sizeof req);
    ck_assert(memcmp(p + 4, req, sizeof req) == 0);
    ck_assert(p + 4 + sizeof req == b + len);
    free(b);
}
END_TEST

/* ---- malformed input --------------------------------------------------------- */

START_TEST(test_every_truncation_refused)
{
    static idstore_t st;
    static const uint8_t req[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
    cmd_t c;
    for (size_t nids = 0; nids <= 3; nids++) {
        for (int with_req = 0; with_req < 2; with_req++) {
            base_cmd(&c);
            fill_ids(&c, &st, nids);
            c.request = with_req ? req : NULL;
            c.request_len = with_req ? sizeof req : 0;
            uint8_t *b;
            size_t len;
            ck_assert_int_eq(cmd_encode(&c, &b, &len), 0);
            for (size_t cut = 0; cut < len; cut++) {
                /* A fresh copy of exactly `cut` bytes, so that ASan and
                 * valgrind see any read past the end. */
                uint8_t *t = malloc(cut ? cut : 1);
                ck_assert_ptr_nonnull(t);
                memcpy(t, b, cut);
                assert_refused(t, cut);
                free(t);
            }
            free(b);
        }
    }
    /* The same with CMD_MAX_IDS identities (strings cut in the middle, at
     * every length field). */
    base_cmd(&c);
    fill_ids(&c, &st, CMD_MAX_IDS);
    c.request = req;
    c.request_len = sizeof req;
    uint8_t *b;
    size_t len;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *t = malloc(cut ? cut : 1);
        ck_assert_ptr_nonnull(t);
        memcpy(t, b, cut);
        assert_refused(t, cut);
        free(t);
    }
    free(b);
    assert_refused(NULL, 0);
}
END_TEST

START_TEST(test_trailing_bytes_refused)
{
    static idstore_t st;
    static const uint8_t req[] = { 9, 8, 7 };
    cmd_t c;
    base_cmd(&c);
    fill_ids(&c, &st, 2);
    c.request = req;
    c.request_len = sizeof req;
    uint8_t *b;
    size_t len;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), 0);
    for (size_t extra = 1; extra <= 9; extra++) {
        uint8_t *t = calloc(1, len + extra);
        ck_assert_ptr_nonnull(t);
        memcpy(t, b, len);
        assert_refused(t, len + extra);
        free(t);
    }
    /* The request length field shorter than what follows: also trailing. */
    uint8_t *t = malloc(len);
    ck_assert_ptr_nonnull(t);
    memcpy(t, b, len);
    put32(t + len - sizeof req - 4, (uint32_t)sizeof req - 1);
    assert_refused(t, len);
    /* And longer than what follows: truncated. */
    put32(t + len - sizeof req - 4, (uint32_t)sizeof req + 1);
    assert_refused(t, len);
    put32(t + len - sizeof req - 4, UINT32_MAX);
    assert_refused(t, len);
    free(t);
    free(b);
}
END_TEST

START_TEST(test_bad_magic_version_refused)
{
    cmd_t c;
    base_cmd(&c);
    uint8_t *b;
    size_t len;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), 0);
    cmd_t d;
    ck_assert_int_eq(cmd_decode(b, len, &d), 0);
    cmd_free(&d);
    for (int v = 0; v < 256; v++) {
        if (v == 'Z')
            continue;
        b[OFF_MAGIC] = (uint8_t)v;
        assert_refused(b, len);
    }
    b[OFF_MAGIC] = 'Z';
    for (int v = 0; v < 256; v++) {
        if (v == 1)
            continue;
        b[OFF_VERSION] = (uint8_t)v;
        assert_refused(b, len);
    }
    b[OFF_VERSION] = 1;
    ck_assert_int_eq(cmd_decode(b, len, &d), 0);
    cmd_free(&d);
    free(b);
}
END_TEST

START_TEST(test_too_many_ids)
{
    static idstore_t st;
    cmd_t c;
    uint8_t *b = (uint8_t *)&c; /* must stay untouched on refusal */
    size_t len = 12345;

    /* The encoder refuses CMD_MAX_IDS + 1 (and reads none of them). */
    base_cmd(&c);
    fill_ids(&c, &st, CMD_MAX_IDS);
    c.nids = CMD_MAX_IDS + 1;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), -1);
    ck_assert_ptr_eq(b, (uint8_t *)&c);
    ck_assert_uint_eq(len, 12345);
    c.nids = SIZE_MAX;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), -1);

    /* The decoder refuses a count above CMD_MAX_IDS, with the identities
     * present or not. */
    c.nids = CMD_MAX_IDS;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), 0);
    /* Splice one more (scheme, id) pair in before the request length. */
    static const uint8_t extra[] = { 0, 0, 0, 2, 'i', 'p', 0, 0, 0, 1, 'x' };
    uint8_t *t = malloc(len + sizeof extra);
    ck_assert_ptr_nonnull(t);
    memcpy(t, b, len - 4);
    memcpy(t + len - 4, extra, sizeof extra);
    memcpy(t + len - 4 + sizeof extra, b + len - 4, 4);
    put32(t + OFF_NIDS, CMD_MAX_IDS + 1);
    assert_refused(t, len + sizeof extra);
    /* Same bytes with the right count but one pair too many: trailing. */
    put32(t + OFF_NIDS, CMD_MAX_IDS);
    assert_refused(t, len + sizeof extra);
    free(t);
    /* A huge count with nothing behind it. */
    put32(b + OFF_NIDS, UINT32_MAX);
    assert_refused(b, len);
    put32(b + OFF_NIDS, CMD_MAX_IDS + 1);
    assert_refused(b, len);
    free(b);
}
END_TEST

/* An encoding with one identity whose id string is `idlen` bytes. */
static uint8_t *with_id_len(size_t idlen, size_t *len)
{
    static const uint8_t req[] = { 0, 0, 0, 1 };
    char *id = malloc(idlen + 1);
    ck_assert_ptr_nonnull(id);
    memset(id, 'u', idlen);
    id[idlen] = '\0';
    cmd_t c;
    base_cmd(&c);
    c.ids[0].scheme = (char *)(uintptr_t)"digest";
    c.ids[0].id = id;
    c.nids = 1;
    c.request = req;
    c.request_len = sizeof req;
    uint8_t *b = NULL;
    int rc = cmd_encode(&c, &b, len);
    free(id);
    return rc == 0 ? b : NULL;
}

START_TEST(test_long_id_refused)
{
    /* Exactly ACL_MAX_STR bytes: accepted, both as id and as scheme. */
    size_t len;
    uint8_t *b = with_id_len(ACL_MAX_STR, &len);
    ck_assert_ptr_nonnull(b);
    cmd_t d;
    ck_assert_int_eq(cmd_decode(b, len, &d), 0);
    ck_assert_uint_eq(strlen(d.ids[0].id), ACL_MAX_STR);
    cmd_free(&d);

    /* One byte more, spliced by hand (so that the test does not depend on
     * whether the encoder refuses it too). */
    uint8_t *t = malloc(len + 1);
    ck_assert_ptr_nonnull(t);
    size_t id_at = HEADER_LEN + 4 + 6 + 4; /* the id's bytes */
    ck_assert_uint_eq(get32(b + id_at - 4), ACL_MAX_STR);
    memcpy(t, b, id_at);
    t[id_at] = 'u';
    memcpy(t + id_at + 1, b + id_at, len - id_at);
    put32(t + id_at - 4, ACL_MAX_STR + 1);
    assert_refused(t, len + 1);
    /* The same length on the scheme. */
    put32(t + id_at - 4, ACL_MAX_STR);
    put32(t + HEADER_LEN, ACL_MAX_STR + 1);
    assert_refused(t, len + 1);
    put32(t + HEADER_LEN, UINT32_MAX);
    assert_refused(t, len + 1);
    free(t);
    free(b);

    /* Whatever the encoder does with an over-long id, what it produces
     * must not decode: every replica refuses it. */
    b = with_id_len(ACL_MAX_STR + 1, &len);
    if (b) {
        assert_refused(b, len);
        free(b);
    }
}
END_TEST

START_TEST(test_request_too_long_for_encoding)
{
#if SIZE_MAX > UINT32_MAX
    cmd_t c;
    base_cmd(&c);
    uint8_t one = 0;
    c.request = &one; /* never read: the length is refused first */
    c.request_len = (size_t)UINT32_MAX + 1;
    uint8_t *b = NULL;
    size_t len = 0;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), -1);
    ck_assert_ptr_null(b);
#endif
}
END_TEST

/* Decoding every single-byte corruption of a valid encoding never crashes
 * or leaks; what still decodes re-encodes to the same bytes. */
START_TEST(test_byte_flips)
{
    static idstore_t st;
    static const uint8_t req[] = { 0, 0, 0, 5, 0, 0, 0, 4 };
    cmd_t c;
    base_cmd(&c);
    fill_ids(&c, &st, 3);
    c.request = req;
    c.request_len = sizeof req;
    uint8_t *b;
    size_t len;
    ck_assert_int_eq(cmd_encode(&c, &b, &len), 0);
    static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
    for (size_t i = 0; i < len; i++) {
        /* The flags bytes are not checked by the decoder (see cmd.h:
         * "u16 flags (0)"); leave them out of the identity check. */
        if (i == OFF_FLAGS || i == OFF_FLAGS + 1)
            continue;
        uint8_t keep = b[i];
        for (size_t k = 0; k < sizeof vals; k++) {
            b[i] = vals[k];
            cmd_t d;
            if (cmd_decode(b, len, &d) == 0) {
                uint8_t *again;
                size_t alen;
                ck_assert_int_eq(cmd_encode(&d, &again, &alen), 0);
                /* A NUL byte written inside an identity string shortens it
                 * (C strings): only then may the bytes differ. */
                if (alen == len)
                    ck_assert(memcmp(again, b, len) == 0);
                else
                    ck_assert(vals[k] == 0 && i >= HEADER_LEN);
                free(again);
                cmd_free(&d);
            }
        }
        b[i] = keep;
    }
    free(b);
}
END_TEST

static Suite *cmd_suite(void)
{
    Suite *s = suite_create("cmd");
    TCase *tc = tcase_create("cmd");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip_no_ids_empty_request);
    tcase_add_test(tc, test_round_trip_max_ids);
    tcase_add_test(tc, test_round_trip_large_request);
    tcase_add_test(tc, test_round_trip_extremes);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_every_truncation_refused);
    tcase_add_test(tc, test_trailing_bytes_refused);
    tcase_add_test(tc, test_bad_magic_version_refused);
    tcase_add_test(tc, test_too_many_ids);
    tcase_add_test(tc, test_long_id_refused);
    tcase_add_test(tc, test_request_too_long_for_encoding);
    tcase_add_test(tc, test_byte_flips);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(cmd_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
