/*
 * check_codec.c -- the peer wire format (codec.h).
 *
 * Round trips of every kind (empty and maximum payloads), the exact bytes
 * of a few frames, the size of every kind's frame, zab_frame_size() and
 * zab_frame_kind(), and every way a frame can be malformed: each truncated
 * length of each kind, wrong version, unknown kind, reserved bytes, length
 * field against the buffer, payload length field against the frame,
 * trailing bytes, frames above the maximum, and the per-kind field checks
 * (VOTE state, ACKEPOCH flags, zero counters, SNAP ranges).  Finally,
 * zab_recv's rules: a malformed frame given to a running node is refused
 * with ZAB_EPROTO, counted, and changes nothing else; a well-formed but
 * illegal frame from the leader is counted as malformed and makes the
 * node elect again; stale, out-of-phase and early frames are ignored and
 * counted.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "lib_cluster.h"
#include "zab.h"

#define MAX_PAYLOAD 1048576u /* ZAB_OPT_MAX_PAYLOAD_BYTES default */
#define MAX_FRAME (MAX_PAYLOAD + ZAB__FRAME_OVERHEAD)

static int has_payload(int kind)
{
    return kind == ZAB__SNAP || kind == ZAB__PROPOSAL ||
           kind == ZAB__INFORM || kind == ZAB__REQUEST;
}

/* A message of `kind` with every field of that kind set to a distinctive
 * value and every other field zero (as the decoder leaves them). */
static zab__msg_t sample(int kind, const void *data, uint32_t len)
{
    zab__msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = (uint8_t)kind;
    switch (kind) {
    case ZAB__VOTE:
        m.state = 2;
        m.leader = 0x01020304u;
        m.zxid = ZAB_ZXID(5, 6);
        m.election_epoch = 0x1122334455667788ull;
        m.epoch = 0xA0B0C0D0u;
        break;
    case ZAB__FOLLOWERINFO:
    case ZAB__OBSERVERINFO:
    case ZAB__NEWLEADER:
    case ZAB__ACKNEWLEADER:
        m.epoch = 0xFFFFFFFEu;
        m.zxid = ZAB_ZXID(7, 9);
        break;
    case ZAB__LEADERINFO:
        m.epoch = 0xFFFFFFFFu;
        break;
    case ZAB__ACKEPOCH:
        m.flags = 1;
        m.epoch = 3;
        m.zxid = ZAB_ZXID(3, 4);
        break;
    case ZAB__DIFF:
    case ZAB__TRUNC:
    case ZAB__UPTODATE:
    case ZAB__ACK:
    case ZAB__COMMIT:
        m.zxid = 0xFEDCBA9876543210ull;
        break;
    case ZAB__SNAP:
        m.zxid = ZAB_ZXID(2, 3);
        m.total = (uint64_t)len + 1000;
        m.offset = 1000;
        m.data = data;
        m.len = len;
        break;
    case ZAB__PROPOSAL:
    case ZAB__INFORM:
        m.zxid = ZAB_ZXID(9, 1);
        m.data = data;
        m.len = len;
        break;
    case ZAB__PING:
    case ZAB__SYNC:
        m.round = 0x0102030405060708ull;
        m.zxid = ZAB_ZXID(4, 4);
        break;
    case ZAB__REQUEST:
        m.data = data;
        m.len = len;
        break;
    default:
        break;
    }
    return m;
}

/* Encodes into a fresh buffer (caller frees). */
static uint8_t *encode(const zab__msg_t *m, size_t *len)
{
    size_t n = zab__encoded_size(m);
    uint8_t *buf = malloc(n + 16);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0xAA, n + 16);
    size_t w = zab__encode(m, buf);
    ck_assert_uint_eq(w, n);
    *len = n;
    return buf;
}

static void assert_msg_equal(const zab__msg_t *a, const zab__msg_t *b)
{
    ck_assert_uint_eq(a->kind, b->kind);
    ck_assert_uint_eq(a->state, b->state);
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert_uint_eq(a->leader, b->leader);
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_uint_eq(a->zxid, b->zxid);
    ck_assert_uint_eq(a->election_epoch, b->election_epoch);
    ck_assert_uint_eq(a->round, b->round);
    ck_assert_uint_eq(a->total, b->total);
    ck_assert_uint_eq(a->offset, b->offset);
    ck_assert_uint_eq(a->len, b->len);
    if (a->len > 0) {
        ck_assert_ptr_nonnull(a->data);
        ck_assert_ptr_nonnull(b->data);
        ck_assert_int_eq(memcmp(a->data, b->data, a->len), 0);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int decode(const uint8_t *f, size_t len)
{
    zab__msg_t m;
    return zab__decode(f, len, MAX_FRAME, &m);
}

/* Frame size of every kind with an empty payload: codec.h's table. */
static const size_t empty_size[ZAB__KIND_MAX + 1] = {
    [ZAB__VOTE] = 8 + 25,        [ZAB__FOLLOWERINFO] = 8 + 12,
    [ZAB__OBSERVERINFO] = 8 + 12, [ZAB__LEADERINFO] = 8 + 4,
    [ZAB__ACKEPOCH] = 8 + 13,    [ZAB__DIFF] = 8 + 8,
    [ZAB__TRUNC] = 8 + 8,        [ZAB__SNAP] = 8 + 28,
    [ZAB__NEWLEADER] = 8 + 12,   [ZAB__ACKNEWLEADER] = 8 + 12,
    [ZAB__UPTODATE] = 8 + 8,     [ZAB__PROPOSAL] = 8 + 12,
    [ZAB__ACK] = 8 + 8,          [ZAB__COMMIT] = 8 + 8,
    [ZAB__INFORM] = 8 + 12,      [ZAB__PING] = 8 + 16,
    [ZAB__REQUEST] = 8 + 4,      [ZAB__SYNC] = 8 + 16,
};

static const char *const names[ZAB__KIND_MAX + 1] = {
    NULL,       "VOTE",         "FOLLOWERINFO", "OBSERVERINFO",
    "LEADERINFO", "ACKEPOCH",   "DIFF",         "TRUNC",
    "SNAP",     "NEWLEADER",    "ACKNEWLEADER", "UPTODATE",
    "PROPOSAL", "ACK",          "COMMIT",       "INFORM",
    "PING",     "REQUEST",      "SYNC",
};

/* ---- Round trips ------------------------------------------------------ */

static void round_trip(int kind, const void *data, uint32_t len)
{
    zab__msg_t in = sample(kind, data, len);
    size_t n;
    uint8_t *f = encode(&in, &n);
    ck_assert_uint_eq(n, empty_size[kind] + (has_payload(kind) ? len : 0));
    /* Header: length, version, kind, reserved. */
    ck_assert_uint_eq(((uint32_t)f[0] << 24 | (uint32_t)f[1] << 16 |
                       (uint32_t)f[2] << 8 | f[3]),
                      n);
    ck_assert_uint_eq(f[4], 1);
    ck_assert_uint_eq(f[5], kind);
    ck_assert_uint_eq(f[6], 0);
    ck_assert_uint_eq(f[7], 0);
    ck_assert_uint_eq(f[n], 0xAA); /* nothing written past the end */
    zab__msg_t out;
    memset(&out, 0x5C, sizeof out);
    ck_assert_int_eq(zab__decode(f, n, MAX_FRAME, &out), 0);
    assert_msg_equal(&in, &out);
    if (out.len > 0) {
        /* The payload points into the frame, at its end. */
        ck_assert_ptr_eq((const uint8_t *)out.data + out.len, f + n);
    }
    /* Re-encoding gives the same bytes. */
    size_t n2;
    uint8_t *f2 = encode(&out, &n2);
    ck_assert_uint_eq(n2, n);
    ck_assert_int_eq(memcmp(f, f2, n), 0);
    free(f2);
    free(f);
}

START_TEST(test_round_trip_small)
{
    int kind = _i;
    round_trip(kind, "abc", 3);
    round_trip(kind, "x", 1);
}
END_TEST

START_TEST(test_round_trip_empty)
{
    int kind = _i;
    round_trip(kind, NULL, 0);
    if (has_payload(kind)) {
        zab__msg_t in = sample(kind, NULL, 0);
        size_t n;
        uint8_t *f = encode(&in, &n);
        zab__msg_t out;
        ck_assert_int_eq(zab__decode(f, n, MAX_FRAME, &out), 0);
        ck_assert_uint_eq(out.len, 0);
        free(f);
    }
}
END_TEST

/* The largest payload a node accepts makes the largest frame it takes. */
START_TEST(test_round_trip_max)
{
    int kind = _i;
    if (!has_payload(kind)) {
        return;
    }
    uint8_t *big = malloc(MAX_PAYLOAD);
    ck_assert_ptr_nonnull(big);
    for (uint32_t i = 0; i < MAX_PAYLOAD; i++) {
        big[i] = (uint8_t)(i * 7 + (i >> 8));
    }
    round_trip(kind, big, MAX_PAYLOAD);
    zab__msg_t in = sample(kind, big, MAX_PAYLOAD);
    size_t n;
    uint8_t *f = encode(&in, &n);
    ck_assert_uint_le(n, MAX_FRAME);
    zab__msg_t out;
    ck_assert_int_eq(zab__decode(f, n, n, &out), 0);
    ck_assert_int_eq(zab__decode(f, n, n - 1, &out), ZAB_EPROTO);
    /* Truncations of the big frame, at the interesting places. */
    size_t cuts[] = {0, 7, 8, empty_size[kind] - 1, empty_size[kind],
                     n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ck_assert_int_eq(zab__decode(f, cuts[i], n, &out), ZAB_EPROTO);
    }
    free(f);
    free(big);
}
END_TEST

START_TEST(test_golden_bytes)
{
    /* ACK 0x0102030405060708 */
    static const uint8_t ack[] = {0, 0, 0, 16, 1, 13, 0, 0,
                                  1, 2, 3, 4,  5, 6,  7, 8};
    zab__msg_t m = {.kind = ZAB__ACK, .zxid = 0x0102030405060708ull};
    uint8_t buf[64];
    ck_assert_uint_eq(zab__encode(&m, buf), sizeof ack);
    ck_assert_mem_eq(buf, ack, sizeof ack);

    /* PROPOSAL 1:2 "hi" */
    static const uint8_t prop[] = {0, 0, 0, 22, 1, 12, 0, 0, 0,   0,   0,
                                   1, 0, 0, 0,  2, 0,  0, 0, 2, 'h', 'i'};
    zab__msg_t p = {.kind = ZAB__PROPOSAL,
                    .zxid = ZAB_ZXID(1, 2),
                    .data = "hi",
                    .len = 2};
    ck_assert_uint_eq(zab__encode(&p, buf), sizeof prop);
    ck_assert_mem_eq(buf, prop, sizeof prop);

    /* VOTE state 1, leader 3, zxid 1:2, election epoch 5, peer epoch 1 */
    static const uint8_t vote[] = {0, 0, 0, 33, 1, 1, 0, 0, 1, 0, 0,
                                   0, 3, 0, 0,  0, 1, 0, 0, 0, 2, 0,
                                   0, 0, 0, 0,  0, 0, 5, 0, 0, 0, 1};
    zab__msg_t v = {.kind = ZAB__VOTE,
                    .state = 1,
                    .leader = 3,
                    .zxid = ZAB_ZXID(1, 2),
                    .election_epoch = 5,
                    .epoch = 1};
    ck_assert_uint_eq(zab__encode(&v, buf), sizeof vote);
    ck_assert_mem_eq(buf, vote, sizeof vote);

    /* SNAP zxid 2:3 total 10 offset 4 "xy" */
    static const uint8_t snap[] = {0, 0, 0, 38, 1, 8, 0, 0, 0, 0,   0,  2,  0,
                                   0, 0, 3, 0,  0, 0, 0, 0, 0, 0,   10, 0,  0,
                                   0, 0, 0, 0,  0, 4, 0, 0, 0, 2, 'x', 'y'};
    zab__msg_t s = {.kind = ZAB__SNAP,
                    .zxid = ZAB_ZXID(2, 3),
                    .total = 10,
                    .offset = 4,
                    .data = "xy",
                    .len = 2};
    ck_assert_uint_eq(zab__encode(&s, buf), sizeof snap);
    ck_assert_mem_eq(buf, snap, sizeof snap);
    zab__msg_t out;
    ck_assert_int_eq(zab__decode(snap, sizeof snap, MAX_FRAME, &out), 0);
    assert_msg_equal(&s, &out);
}
END_TEST

START_TEST(test_kind_names)
{
    for (int k = 1; k <= ZAB__KIND_MAX; k++) {
        ck_assert_pstr_eq(zab__kind_name(k), names[k]);
        ck_assert_int_eq(zab__kind_from_name(names[k]), k);
    }
    ck_assert_ptr_null(zab__kind_name(0));
    ck_assert_ptr_null(zab__kind_name(ZAB__KIND_MAX + 1));
    ck_assert_ptr_null(zab__kind_name(-1));
    ck_assert_int_eq(zab__kind_from_name("NOPE"), 0);
    ck_assert_int_eq(zab__kind_from_name("vote"), 0);
    ck_assert_int_eq(zab__kind_from_name(""), 0);
}
END_TEST

/* ---- Malformed frames ---------------------------------------------------- */

/* Every truncation of every kind fails, whether the length field still
 * announces the whole frame or was patched to match the cut. */
START_TEST(test_truncated)
{
    int kind = _i;
    const char *payloads[] = {"abc", ""};
    for (int pi = 0; pi < 2; pi++) {
        zab__msg_t in = sample(kind, payloads[pi],
                               (uint32_t)strlen(payloads[pi]));
        size_t n;
        uint8_t *f = encode(&in, &n);
        ck_assert_int_eq(decode(f, n), 0);
        for (size_t cut = 0; cut < n; cut++) {
            ck_assert_msg(decode(f, cut) == ZAB_EPROTO,
                          "%s cut to %zu of %zu decoded", names[kind], cut, n);
            if (cut >= 4) {
                uint8_t *g = malloc(cut);
                memcpy(g, f, cut);
                put32(g, (uint32_t)cut);
                ck_assert_msg(decode(g, cut) == ZAB_EPROTO,
                              "%s cut to %zu with its length patched decoded",
                              names[kind], cut);
                free(g);
            }
        }
        free(f);
    }
    ck_assert_int_eq(zab__decode(NULL, 16, MAX_FRAME, &(zab__msg_t){0}),
                     ZAB_EPROTO);
}
END_TEST

/* Bytes after the body: with the length field unchanged (it no longer
 * matches the buffer) or patched (the body has trailing bytes). */
START_TEST(test_trailing_bytes)
{
    int kind = _i;
    zab__msg_t in = sample(kind, "abc", 3);
    size_t n;
    uint8_t *f = encode(&in, &n);
    uint8_t *g = malloc(n + 8);
    for (size_t extra = 1; extra <= 8; extra++) {
        memcpy(g, f, n);
        memset(g + n, 0, extra);
        ck_assert_int_eq(decode(g, n + extra), ZAB_EPROTO);
        put32(g, (uint32_t)(n + extra));
        ck_assert_msg(decode(g, n + extra) == ZAB_EPROTO,
                      "%s with %zu trailing bytes decoded", names[kind],
                      extra);
    }
    free(g);
    free(f);
}
END_TEST

START_TEST(test_header_fields)
{
    int kind = _i;
    zab__msg_t in = sample(kind, "abc", 3);
    size_t n;
    uint8_t *f = encode(&in, &n);
    uint8_t *g = malloc(n);
    static const uint8_t bad_versions[] = {0, 2, 0x7F, 0xFF};
    for (size_t i = 0; i < sizeof bad_versions; i++) {
        memcpy(g, f, n);
        g[4] = bad_versions[i];
        ck_assert_int_eq(decode(g, n), ZAB_EPROTO);
    }
    static const uint8_t bad_kinds[] = {0, ZAB__KIND_MAX + 1, 0x80, 0xFF};
    for (size_t i = 0; i < sizeof bad_kinds; i++) {
        memcpy(g, f, n);
        g[5] = bad_kinds[i];
        ck_assert_int_eq(decode(g, n), ZAB_EPROTO);
    }
    for (int byte = 6; byte <= 7; byte++) {
        static const uint8_t vals[] = {1, 0x80, 0xFF};
        for (size_t i = 0; i < sizeof vals; i++) {
            memcpy(g, f, n);
            g[byte] = vals[i];
            ck_assert_int_eq(decode(g, n), ZAB_EPROTO);
        }
    }
    /* Length field against the buffer. */
    const uint32_t lens[] = {0, 7, 8, (uint32_t)n - 1, (uint32_t)n + 1,
                             0x7FFFFFFFu, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memcpy(g, f, n);
        put32(g, lens[i]);
        ck_assert_msg(decode(g, n) == ZAB_EPROTO,
                      "%s with length field %u for %zu bytes decoded",
                      names[kind], lens[i], n);
    }
    /* Frame above the maximum. */
    zab__msg_t out;
    ck_assert_int_eq(zab__decode(f, n, n, &out), 0);
    ck_assert_int_eq(zab__decode(f, n, n - 1, &out), ZAB_EPROTO);
    ck_assert_int_eq(zab__decode(f, n, 0, &out), ZAB_EPROTO);
    free(g);
    free(f);
}
END_TEST

/* The u32 payload length of PROPOSAL, INFORM, REQUEST and SNAP must
 * equal what is left of the frame. */
START_TEST(test_payload_length)
{
    static const int kinds[] = {ZAB__PROPOSAL, ZAB__INFORM, ZAB__REQUEST,
                                ZAB__SNAP};
    for (size_t k = 0; k < 4; k++) {
        int kind = kinds[k];
        zab__msg_t in = sample(kind, "abcd", 4);
        size_t n;
        uint8_t *f = encode(&in, &n);
        size_t at = empty_size[kind] - 4; /* the u32 length field */
        const uint32_t bad[] = {0, 3, 5, 8, 0x7FFFFFFFu, 0xFFFFFFFFu};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            uint8_t *g = malloc(n);
            memcpy(g, f, n);
            put32(g + at, bad[i]);
            ck_assert_msg(decode(g, n) == ZAB_EPROTO,
                          "%s with payload length %u of 4 decoded",
                          names[kind], bad[i]);
            free(g);
        }
        free(f);
    }
}
END_TEST

START_TEST(test_vote_state)
{
    for (int state = 0; state <= 255; state++) {
        zab__msg_t in = sample(ZAB__VOTE, NULL, 0);
        in.state = (uint8_t)state;
        size_t n;
        uint8_t *f = encode(&in, &n);
        zab__msg_t out;
        int rc = zab__decode(f, n, MAX_FRAME, &out);
        if (state <= 3) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(out.state, state);
        } else {
            ck_assert_msg(rc == ZAB_EPROTO, "VOTE state %d decoded", state);
        }
        free(f);
    }
}
END_TEST

START_TEST(test_ackepoch_flags)
{
    for (int flags = 0; flags <= 255; flags++) {
        zab__msg_t in = sample(ZAB__ACKEPOCH, NULL, 0);
        in.flags = (uint8_t)flags;
        size_t n;
        uint8_t *f = encode(&in, &n);
        zab__msg_t out;
        int rc = zab__decode(f, n, MAX_FRAME, &out);
        if (flags <= 1) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(out.flags, flags);
        } else {
            ck_assert_msg(rc == ZAB_EPROTO, "ACKEPOCH flags %d decoded",
                          flags);
        }
        free(f);
    }
}
END_TEST

START_TEST(test_zero_counter)
{
    static const int kinds[] = {ZAB__PROPOSAL, ZAB__INFORM};
    const struct {
        uint64_t zxid;
        int ok;
    } cases[] = {
        {ZAB_ZXID(5, 0), 0},          {ZAB_ZXID(0, 0), 0},
        {ZAB_ZXID(0xFFFFFFFF, 0), 0}, {ZAB_ZXID(0, 1), 1},
        {ZAB_ZXID(5, 1), 1},          {ZAB_ZXID(5, 0xFFFFFFFF), 1},
    };
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            for (uint32_t len = 0; len <= 2; len += 2) {
                zab__msg_t in = sample(kinds[k], "ab", len);
                in.zxid = cases[i].zxid;
                size_t n;
                uint8_t *f = encode(&in, &n);
                ck_assert_int_eq(decode(f, n), cases[i].ok ? 0 : ZAB_EPROTO);
                free(f);
            }
        }
    }
}
END_TEST

START_TEST(test_snap_ranges)
{
    const struct {
        uint64_t total, offset;
        uint32_t len;
        int ok;
    } cases[] = {
        {10, 11, 0, 0},                  /* offset > total */
        {10, 8, 3, 0},                   /* len > total - offset */
        {10, 10, 1, 0},                  /* nothing left */
        {0, 0, 1, 0},                    /* empty snapshot with bytes */
        {UINT64_MAX, UINT64_MAX, 3, 0},  /* no wrap-around */
        {UINT64_MAX - 1, UINT64_MAX, 0, 0},
        {10, 7, 3, 1},                   /* last chunk, exactly */
        {10, 10, 0, 1},                  /* empty chunk at the end */
        {0, 0, 0, 1},                    /* empty snapshot */
        {UINT64_MAX, 0, 3, 1},
        {UINT64_MAX, UINT64_MAX - 3, 3, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zab__msg_t in = sample(ZAB__SNAP, "abc", cases[i].len);
        in.total = cases[i].total;
        in.offset = cases[i].offset;
        size_t n;
        uint8_t *f = encode(&in, &n);
        zab__msg_t out;
        int rc = zab__decode(f, n, MAX_FRAME, &out);
        ck_assert_msg(rc == (cases[i].ok ? 0 : ZAB_EPROTO),
                      "SNAP case %zu: %d", i, rc);
        if (rc == 0) {
            assert_msg_equal(&in, &out);
        }
        free(f);
    }
}
END_TEST

/* ---- zab__header_check, zab_frame_size, zab_frame_kind ------------------ */

START_TEST(test_header_check)
{
    for (int k = 1; k <= ZAB__KIND_MAX; k++) {
        zab__msg_t in = sample(k, "abc", 3);
        size_t n, got = 0;
        uint8_t *f = encode(&in, &n);
        ck_assert_int_eq(zab__header_check(f, MAX_FRAME, &got), 0);
        ck_assert_uint_eq(got, n);
        /* Shorter than the kind's fixed body. */
        put32(f, (uint32_t)empty_size[k] - 1);
        ck_assert_int_eq(zab__header_check(f, MAX_FRAME, &got), ZAB_EPROTO);
        put32(f, (uint32_t)empty_size[k]);
        ck_assert_int_eq(zab__header_check(f, MAX_FRAME, &got), 0);
        ck_assert_uint_eq(got, empty_size[k]);
        ck_assert_int_eq(zab__header_check(f, empty_size[k] - 1, &got),
                         ZAB_EPROTO);
        free(f);
    }
}
END_TEST

START_TEST(test_frame_size)
{
    cl_cluster_t *c = cl_new(1, 0);
    cl_set_opt(c, ZAB_OPT_MAX_PAYLOAD_BYTES, 100);
    ck_assert_int_eq(cl_boot(c, 1), 0);
    zab_t *z = cl_z(c, 1);
    for (int k = 1; k <= ZAB__KIND_MAX; k++) {
        zab__msg_t in = sample(k, "abc", 3);
        size_t n, got = 0;
        uint8_t *f = encode(&in, &n);
        ck_assert_int_eq(zab_frame_size(z, f, ZAB_FRAME_HEADER_SIZE, &got),
                         0);
        ck_assert_uint_eq(got, n);
        ck_assert_int_eq(zab_frame_size(z, f, n, &got), 0);
        ck_assert_uint_eq(got, n);
        got = 12345;
        ck_assert_int_eq(zab_frame_size(z, f, ZAB_FRAME_HEADER_SIZE - 1, &got),
                         ZAB_EINVAL);
        ck_assert_int_eq(zab_frame_size(z, f, 0, &got), ZAB_EINVAL);
        ck_assert_uint_eq(got, 12345);
        ck_assert_int_eq(zab_frame_size(z, NULL, 8, &got), ZAB_EINVAL);
        ck_assert_int_eq(zab_frame_size(z, f, 8, NULL), ZAB_EINVAL);
        ck_assert_int_eq(zab_frame_size(NULL, f, 8, &got), ZAB_EINVAL);
        /* This node's maximum is 100 + 64 bytes. */
        put32(f, 164);
        ck_assert_int_eq(zab_frame_size(z, f, 8, &got), 0);
        ck_assert_uint_eq(got, 164);
        put32(f, 165);
        ck_assert_int_eq(zab_frame_size(z, f, 8, &got), ZAB_EPROTO);
        put32(f, (uint32_t)empty_size[k] - 1);
        ck_assert_int_eq(zab_frame_size(z, f, 8, &got), ZAB_EPROTO);
        put32(f, (uint32_t)n);
        f[4] = 2;
        ck_assert_int_eq(zab_frame_size(z, f, 8, &got), ZAB_EPROTO);
        f[4] = 1;
        f[5] = 0;
        ck_assert_int_eq(zab_frame_size(z, f, 8, &got), ZAB_EPROTO);
        f[5] = (uint8_t)k;
        f[7] = 1;
        ck_assert_int_eq(zab_frame_size(z, f, 8, &got), ZAB_EPROTO);
        free(f);
    }
    cl_free(c);
}
END_TEST

START_TEST(test_frame_kind)
{
    for (int k = 1; k <= ZAB__KIND_MAX; k++) {
        zab__msg_t in = sample(k, "abc", 3);
        size_t n;
        uint8_t *f = encode(&in, &n);
        ck_assert_pstr_eq(zab_frame_kind(f, n), names[k]);
        ck_assert_pstr_eq(zab_frame_kind(f, ZAB_FRAME_HEADER_SIZE), names[k]);
        ck_assert_ptr_null(zab_frame_kind(f, ZAB_FRAME_HEADER_SIZE - 1));
        ck_assert_ptr_null(zab_frame_kind(NULL, n));
        f[4] = 0;
        ck_assert_ptr_null(zab_frame_kind(f, n));
        f[4] = 1;
        f[6] = 9;
        ck_assert_ptr_null(zab_frame_kind(f, n));
        f[6] = 0;
        f[5] = ZAB__KIND_MAX + 1;
        ck_assert_ptr_null(zab_frame_kind(f, n));
        free(f);
    }
    static const uint8_t junk[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    ck_assert_ptr_null(zab_frame_kind(junk, sizeof junk));
}
END_TEST

/* ---- zab_recv with malformed frames --------------------------------------- */

typedef struct bad_frame {
    uint8_t *f;
    size_t n;
} bad_frame_t;

/* A collection of malformed frames, one per kind of defect. */
static size_t make_bad_frames(bad_frame_t *out, size_t cap)
{
    size_t k = 0, n;
    uint8_t *f;
#define ADD(frame, len)                        \
    do {                                       \
        ck_assert_uint_lt(k, cap);             \
        out[k].f = (frame);                    \
        out[k].n = (len);                      \
        k++;                                   \
    } while (0)
    zab__msg_t p = sample(ZAB__PROPOSAL, "abc", 3);
    p.zxid = ZAB_ZXID(1, 1);
    /* truncated */
    f = encode(&p, &n);
    ADD(f, n - 1);
    f = encode(&p, &n);
    ADD(f, 3);
    /* wrong version, unknown kind, reserved byte */
    f = encode(&p, &n);
    f[4] = 2;
    ADD(f, n);
    f = encode(&p, &n);
    f[5] = 0;
    ADD(f, n);
    f = encode(&p, &n);
    f[5] = 200;
    ADD(f, n);
    f = encode(&p, &n);
    f[6] = 1;
    ADD(f, n);
    /* length field against the buffer */
    f = encode(&p, &n);
    put32(f, (uint32_t)n + 1);
    ADD(f, n);
    /* payload length field */
    f = encode(&p, &n);
    put32(f + 16, 4);
    ADD(f, n);
    f = encode(&p, &n);
    put32(f + 16, 2);
    ADD(f, n);
    /* trailing byte */
    f = encode(&p, &n);
    put32(f, (uint32_t)n + 1);
    ADD(f, n + 1);
    /* zero counter */
    zab__msg_t p0 = p;
    p0.zxid = ZAB_ZXID(1, 0);
    f = encode(&p0, &n);
    ADD(f, n);
    /* VOTE state, ACKEPOCH flags */
    zab__msg_t v = sample(ZAB__VOTE, NULL, 0);
    v.state = 4;
    f = encode(&v, &n);
    ADD(f, n);
    zab__msg_t a = sample(ZAB__ACKEPOCH, NULL, 0);
    a.flags = 2;
    f = encode(&a, &n);
    ADD(f, n);
    /* SNAP ranges */
    zab__msg_t s = sample(ZAB__SNAP, "abc", 3);
    s.total = 2;
    s.offset = 0;
    f = encode(&s, &n);
    ADD(f, n);
    s.total = 10;
    s.offset = 11;
    f = encode(&s, &n);
    ADD(f, n);
    /* above the node's maximum frame (1 MiB + 64) */
    uint8_t *big = calloc(1, MAX_PAYLOAD + 60);
    zab__msg_t r = sample(ZAB__REQUEST, big, MAX_PAYLOAD + 60);
    f = encode(&r, &n);
    free(big);
    ADD(f, n);
#undef ADD
    return k;
}

START_TEST(test_recv_malformed)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "before", &z), 0);
    cl_settle(c);
    bad_frame_t bad[32];
    size_t nbad = make_bad_frames(bad, 32);
    /* Into the leader from a follower, into a follower from the leader. */
    const uint32_t pairs[2][2] = {{3, 1}, {1, 3}};
    for (size_t pi = 0; pi < 2; pi++) {
        uint32_t to = pairs[pi][0], from = pairs[pi][1];
        for (size_t b = 0; b < nbad; b++) {
            uint64_t before[ZAB_STAT__COUNT];
            for (int i = 0; i < ZAB_STAT__COUNT; i++) {
                before[i] = cl_stat(c, to, i);
            }
            cl_node_t snap_nodes[3];
            for (uint32_t id = 1; id <= 3; id++) {
                snap_nodes[id - 1] = *cl_node(c, id);
            }
            uint64_t seq = c->seq;
            int rc = zab_recv(cl_z(c, to), from, bad[b].f, bad[b].n);
            ck_assert_msg(rc == ZAB_EPROTO, "bad frame %zu into %u: %d", b,
                          to, rc);
            for (int i = 0; i < ZAB_STAT__COUNT; i++) {
                uint64_t now = cl_stat(c, to, i);
                if (i == ZAB_STAT_MSGS_MALFORMED || i == ZAB_STAT_MSGS_RECEIVED) {
                    ck_assert_uint_eq(now, before[i] + 1);
                } else if (i == ZAB_STAT_BYTES_RECEIVED) {
                    ck_assert_uint_eq(now, before[i] + bad[b].n);
                } else {
                    ck_assert_msg(now == before[i],
                                  "bad frame %zu into %u changed stat %s", b,
                                  to, zab_stat_name(i));
                }
            }
            /* No callback fired anywhere: nothing sent, written or
             * delivered, no role change. */
            ck_assert_uint_eq(c->seq, seq);
            for (uint32_t id = 1; id <= 3; id++) {
                cl_node_t *nd = cl_node(c, id);
                ck_assert_uint_eq(nd->n_send, snap_nodes[id - 1].n_send);
                ck_assert_uint_eq(nd->n_append, snap_nodes[id - 1].n_append);
                ck_assert_uint_eq(nd->n_save, snap_nodes[id - 1].n_save);
                ck_assert_uint_eq(nd->n_deliver, snap_nodes[id - 1].n_deliver);
                ck_assert_uint_eq(nd->n_role_change,
                                  snap_nodes[id - 1].n_role_change);
            }
        }
    }
    /* Still a working cluster. */
    ck_assert_int_eq(cl_propose(c, 3, "after", &z), 0);
    ck_assert(cl_run_until(c, cl_pred_delivered, &z, 1000));
    ck_assert_uint_eq(cl_leader(c), 3);
    ck_assert_uint_eq(c->violations, 0);
    ck_assert(cl_agree(c));
    /* A frame from a node that is not a member is an argument error. */
    ck_assert_int_eq(zab_recv(cl_z(c, 1), 9, bad[0].f, bad[0].n), ZAB_EINVAL);
    ck_assert_int_eq(zab_recv(cl_z(c, 1), 1, bad[0].f, bad[0].n), ZAB_EINVAL);
    ck_assert_int_eq(zab_recv(cl_z(c, 1), 3, NULL, 10), ZAB_EINVAL);
    for (size_t b = 0; b < nbad; b++) {
        free(bad[b].f);
    }
    cl_free(c);
}
END_TEST


/* ---- zab_recv's other rules (zab.h) ------------------------------------------ */

static int s_send(void *ud, uint32_t p, const void *f, size_t n)
{
    (*(int *)ud)++;
    return 0;
}

static int s_append(void *ud, uint64_t z, const void *d, size_t n,
                    uint64_t t)
{
    (*(int *)ud)++;
    return 0;
}

static int s_truncate(void *ud, uint64_t z, uint64_t t)
{
    (*(int *)ud)++;
    return 0;
}

static int s_read(void *ud, uint64_t a, uint64_t *z, const void **d,
                  size_t *n)
{
    return ZAB_ENOENT;
}

static uint64_t s_last_token;

static int s_save(void *ud, uint32_t a, uint32_t c, uint64_t t)
{
    (*(int *)ud)++;
    s_last_token = t;
    return 0;
}

static void s_deliver(void *ud, uint64_t z, const void *d, size_t n)
{
    (*(int *)ud)++;
}

/* Before zab_start: a well-formed frame is ignored and counted, a
 * malformed one refused; no callback fires. */
START_TEST(test_recv_before_start)
{
    const zab_host_ops_t ops = {.version = ZAB_HOST_OPS_VERSION,
                                .send = s_send,
                                .log_append = s_append,
                                .log_truncate = s_truncate,
                                .log_read = s_read,
                                .save_epochs = s_save,
                                .deliver = s_deliver};
    int calls = 0;
    zab_config_t *cfg;
    ck_assert_int_eq(zab_config_new(&cfg), 0);
    ck_assert_int_eq(zab_config_set_id(cfg, 1), 0);
    ck_assert_int_eq(zab_config_add_voter(cfg, 1), 0);
    ck_assert_int_eq(zab_config_add_voter(cfg, 2), 0);
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &ops, &calls, &z), 0);
    zab_config_free(cfg);
    zab__msg_t v = sample(ZAB__VOTE, NULL, 0);
    size_t n;
    uint8_t *f = encode(&v, &n);
    ck_assert_int_eq(zab_recv(z, 2, f, n), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_MSGS_IGNORED), 1);
    ck_assert_int_eq(zab_peer_up(z, 2), 0);
    ck_assert_int_eq(zab_recv(z, 2, f, n), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_MSGS_IGNORED), 2);
    f[4] = 9;
    ck_assert_int_eq(zab_recv(z, 2, f, n), ZAB_EPROTO);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_MSGS_MALFORMED), 1);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_MSGS_RECEIVED), 3);
    ck_assert_int_eq(calls, 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ELECTIONS), 0);
    free(f);
    zab_free(z);
}
END_TEST

static void inject_rc(cl_cluster_t *c, uint32_t to, uint32_t from,
                      const zab__msg_t *m, int want)
{
    uint8_t buf[256];
    size_t n = zab__encode(m, buf);
    ck_assert_int_eq(zab_recv(cl_z(c, to), from, buf, n), want);
}

/* Well-formed but illegal frames from the leader: counted as malformed,
 * the follower elects again (and comes back); zab_recv returns 0. */
START_TEST(test_recv_illegal_from_leader)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    ck_assert_int_eq(cl_propose(c, 3, "b", &z), 0);
    cl_settle(c);
    const zab__msg_t bad[] = {
        /* a gap in the zxids */
        {.kind = ZAB__PROPOSAL, .zxid = ZAB_ZXID(1, 9), .data = "x", .len = 1},
        /* a proposal of another epoch in broadcast */
        {.kind = ZAB__PROPOSAL, .zxid = ZAB_ZXID(7, 3), .data = "x", .len = 1},
        /* a sync stream in broadcast */
        {.kind = ZAB__TRUNC, .zxid = ZAB_ZXID(1, 1)},
        {.kind = ZAB__DIFF, .zxid = ZAB_ZXID(1, 2)},
        {.kind = ZAB__NEWLEADER, .epoch = 1, .zxid = ZAB_ZXID(1, 2)},
        {.kind = ZAB__UPTODATE, .zxid = ZAB_ZXID(1, 2)},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t mal = cl_stat(c, 1, ZAB_STAT_MSGS_MALFORMED);
        uint64_t appends = cl_node(c, 1)->n_append;
        uint64_t truncs = cl_node(c, 1)->n_truncate;
        ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_ROLE), ZAB_FOLLOWING);
        inject_rc(c, 1, 3, &bad[i], 0);
        ck_assert_msg(cl_stat(c, 1, ZAB_STAT_MSGS_MALFORMED) == mal + 1,
                      "illegal frame %zu not counted", i);
        ck_assert_msg(cl_stat(c, 1, ZAB_STAT_ROLE) == ZAB_LOOKING,
                      "illegal frame %zu did not make it elect again", i);
        ck_assert_uint_eq(cl_node(c, 1)->n_append, appends);
        ck_assert_uint_eq(cl_node(c, 1)->n_truncate, truncs);
        ck_assert_uint_eq(cl_wait_stable(c, 2000), 3);
    }
    ck_assert(cl_logs_equal(c, 1, 3));
    ck_assert_uint_eq(c->violations, 0);
    ck_assert(cl_agree(c));
    cl_free(c);
}
END_TEST

/* Stale or out-of-phase frames, frames from a peer that is not our leader
 * and frames from a peer not reported up are ignored and counted. */
START_TEST(test_recv_ignored)
{
    cl_cluster_t *c = cl_new(3, 0);
    cl_boot_all(c);
    ck_assert_uint_eq(cl_wait_stable(c, 1000), 3);
    uint64_t z;
    ck_assert_int_eq(cl_propose(c, 3, "a", &z), 0);
    cl_settle(c);
    const struct {
        uint32_t to, from;
        zab__msg_t m;
    } cases[] = {
        /* a follower hears "leader" traffic from another follower */
        {1, 2, {.kind = ZAB__PROPOSAL, .zxid = ZAB_ZXID(1, 2), .data = "x",
                .len = 1}},
        {1, 2, {.kind = ZAB__COMMIT, .zxid = ZAB_ZXID(1, 1)}},
        /* a follower is sent what only a leader takes */
        {1, 3, {.kind = ZAB__ACK, .zxid = ZAB_ZXID(1, 1)}},
        {1, 3, {.kind = ZAB__FOLLOWERINFO, .epoch = 1}},
        /* a COMMIT for a zxid the follower never received */
        {1, 3, {.kind = ZAB__COMMIT, .zxid = ZAB_ZXID(1, 5)}},
        /* the leader is sent what only a learner takes, or stale acks */
        {3, 1, {.kind = ZAB__UPTODATE, .zxid = ZAB_ZXID(1, 1)}},
        {3, 1, {.kind = ZAB__ACK, .zxid = ZAB_ZXID(1, 9)}},
        {3, 1, {.kind = ZAB__ACKEPOCH, .flags = 1, .epoch = 1}},
        {3, 1, {.kind = ZAB__ACKNEWLEADER, .epoch = 9, .zxid = 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t to = cases[i].to;
        uint64_t ign = cl_stat(c, to, ZAB_STAT_MSGS_IGNORED);
        uint64_t seq = c->seq;
        inject_rc(c, to, cases[i].from, &cases[i].m, 0);
        ck_assert_msg(cl_stat(c, to, ZAB_STAT_MSGS_IGNORED) == ign + 1,
                      "case %zu not counted as ignored", i);
        ck_assert_msg(c->seq == seq, "case %zu made node %u send", i, to);
        ck_assert_uint_eq(cl_stat(c, to, ZAB_STAT_MSGS_MALFORMED), 0);
        ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_ROLE), ZAB_FOLLOWING);
        ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_ROLE), ZAB_LEADING);
    }
    ck_assert_uint_eq(cl_stat(c, 3, ZAB_STAT_COMMITTED_ZXID), z);
    /* A peer whose connection is down. */
    cl_cut(c, 1, 2);
    uint64_t ign = cl_stat(c, 1, ZAB_STAT_MSGS_IGNORED);
    zab__msg_t v = sample(ZAB__VOTE, NULL, 0);
    inject_rc(c, 1, 2, &v, 0);
    ck_assert_uint_eq(cl_stat(c, 1, ZAB_STAT_MSGS_IGNORED), ign + 1);
    cl_heal(c);
    cl_settle(c);
    cl_assert_clean(c);
    cl_free(c);
}
END_TEST

/* A node following a leader that proposes epoch 0.  No leader ever does
 * (the first epoch is 1: newEpoch = max(acceptedEpoch) + 1), so
 * LEADERINFO(0) is illegal and must count as a protocol error.
 * LIBRARY BUG (reported, minor; found by fuzz_recv): a node whose
 * acceptedEpoch is 0 takes LEADERINFO(0) as "an epoch I already
 * accepted", answers ACKEPOCH and goes on to serve "epoch 0"
 * (role_change(FOLLOWING, 3, epoch 0, serving 1)). */
static int role_serving_epoch0;

static void s_role(void *ud, zab_role_t role, uint32_t leader, uint32_t epoch,
                   int serving)
{
    if (serving && epoch == 0) {
        role_serving_epoch0 = 1;
    }
}

START_TEST(test_recv_leaderinfo_epoch_zero)
{
    const zab_host_ops_t ops = {.version = ZAB_HOST_OPS_VERSION,
                                .send = s_send,
                                .log_append = s_append,
                                .log_truncate = s_truncate,
                                .log_read = s_read,
                                .save_epochs = s_save,
                                .deliver = s_deliver,
                                .role_change = s_role};
    int calls = 0;
    role_serving_epoch0 = 0;
    zab_config_t *cfg;
    ck_assert_int_eq(zab_config_new(&cfg), 0);
    ck_assert_int_eq(zab_config_set_id(cfg, 1), 0);
    for (uint32_t id = 1; id <= 3; id++) {
        ck_assert_int_eq(zab_config_add_voter(cfg, id), 0);
    }
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &ops, &calls, &z), 0);
    zab_config_free(cfg);
    ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 1), 0);
    ck_assert_int_eq(zab_peer_up(z, 2), 0);
    ck_assert_int_eq(zab_peer_up(z, 3), 0);
    /* 2 and 3 vote for 3: node 1 follows 3. */
    zab__msg_t v = {.kind = ZAB__VOTE, .state = ZAB_LOOKING, .leader = 3,
                    .election_epoch = 1};
    uint8_t buf[64];
    size_t n = zab__encode(&v, buf);
    ck_assert_int_eq(zab_recv(z, 2, buf, n), 0);
    ck_assert_int_eq(zab_recv(z, 3, buf, n), 0);
    uint64_t d;
    ck_assert_int_eq(zab_next_deadline(z, &d), 0);
    ck_assert_int_eq(zab_tick(z, d), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ROLE), ZAB_FOLLOWING);
    /* The "leader" proposes epoch 0 and walks us through a sync. */
    const zab__msg_t seq[] = {
        {.kind = ZAB__LEADERINFO, .epoch = 0},
        {.kind = ZAB__DIFF, .zxid = 0},
        {.kind = ZAB__NEWLEADER, .epoch = 0, .zxid = 0},
        {.kind = ZAB__UPTODATE, .zxid = 0},
    };
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        s_last_token = 0;
        n = zab__encode(&seq[i], buf);
        ck_assert_int_eq(zab_recv(z, 3, buf, n), 0);
        if (s_last_token != 0) { /* an epoch write: make it durable */
            ck_assert_int_eq(zab_persisted(z, s_last_token, 0), 0);
        }
    }
    uint64_t malformed = zab_stat(z, ZAB_STAT_MSGS_MALFORMED);
    uint64_t serving = zab_stat(z, ZAB_STAT_SERVING);
    zab_free(z);
    ck_assert_msg(!role_serving_epoch0 && serving == 0,
                  "the node serves epoch 0 for a leader that proposed it");
    ck_assert_uint_ge(malformed, 1);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("round_trip");
    tcase_add_loop_test(tc, test_round_trip_small, 1, ZAB__KIND_MAX + 1);
    tcase_add_loop_test(tc, test_round_trip_empty, 1, ZAB__KIND_MAX + 1);
    tcase_add_loop_test(tc, test_round_trip_max, 1, ZAB__KIND_MAX + 1);
    tcase_add_test(tc, test_golden_bytes);
    tcase_add_test(tc, test_kind_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_loop_test(tc, test_truncated, 1, ZAB__KIND_MAX + 1);
    tcase_add_loop_test(tc, test_trailing_bytes, 1, ZAB__KIND_MAX + 1);
    tcase_add_loop_test(tc, test_header_fields, 1, ZAB__KIND_MAX + 1);
    tcase_add_test(tc, test_payload_length);
    tcase_add_test(tc, test_vote_state);
    tcase_add_test(tc, test_ackepoch_flags);
    tcase_add_test(tc, test_zero_counter);
    tcase_add_test(tc, test_snap_ranges);
    suite_add_tcase(s, tc);

    tc = tcase_create("frame_header");
    tcase_add_test(tc, test_header_check);
    tcase_add_test(tc, test_frame_size);
    tcase_add_test(tc, test_frame_kind);
    suite_add_tcase(s, tc);

    tc = tcase_create("recv_malformed");
    tcase_add_test(tc, test_recv_malformed);
    tcase_add_test(tc, test_recv_before_start);
    tcase_add_test(tc, test_recv_illegal_from_leader);
    tcase_add_test(tc, test_recv_ignored);
    tcase_add_test(tc, test_recv_leaderinfo_epoch_zero);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(codec_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
