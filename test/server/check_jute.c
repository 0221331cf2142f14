/*
 * check_jute.c -- the ZooKeeper client wire codec (jute.h).
 *
 * Byte-exact encodings built by hand from the jute rules (ConnectRequest
 * with and without readOnly, ConnectResponse, a create request with an
 * ACL, a multi of create+setData+delete, a multi response with every
 * result kind, a GetData reply, a watch notification packet); round trips
 * of every record; every truncation of every record (decoded from an
 * exactly-sized heap copy so that ASan / valgrind see any over-read);
 * over-long, negative and oversized lengths and counts; multi op-kind
 * rules; the writer's limit, sticky errors and framing helpers; names.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jute.h"

/* ---- helpers ------------------------------------------------------------- */

/* A heap copy of exactly n bytes, so reading past it is caught. */
static uint8_t *dup_exact(const void *p, size_t n)
{
    uint8_t *q = malloc(n == 0 ? 1 : n);
    ck_assert_ptr_nonnull(q);
    if (n > 0)
        memcpy(q, p, n);
    return q;
}

static void assert_bytes(const jute_writer_t *w, const uint8_t *exp,
                         size_t n)
{
    ck_assert_int_eq(jute_writer_error(w), JUTE_OK);
    ck_assert_uint_eq(w->len, n);
    for (size_t i = 0; i < n; i++)
        if (w->buf[i] != exp[i])
            ck_abort_msg("byte %zu: got %02x want %02x", i, w->buf[i],
                         exp[i]);
}

static jute_stat_t sample_stat(void)
{
    jute_stat_t st = { 0x0102030405060708LL, 0x1112131415161718LL,
                       1700000000000LL, 1700000000001LL, 7, 8, 9,
                       0x7EADBEEF00000001LL, 42, 3, -5 };
    return st;
}

static void assert_stat_eq(const jute_stat_t *a, const jute_stat_t *b)
{
    ck_assert(a->czxid == b->czxid && a->mzxid == b->mzxid);
    ck_assert(a->ctime == b->ctime && a->mtime == b->mtime);
    ck_assert(a->version == b->version && a->cversion == b->cversion);
    ck_assert(a->aversion == b->aversion);
    ck_assert(a->ephemeral_owner == b->ephemeral_owner);
    ck_assert(a->data_length == b->data_length);
    ck_assert(a->num_children == b->num_children && a->pzxid == b->pzxid);
}

/* Bytes of a Stat in wire order, appended at p; returns bytes written. */
static size_t put_stat_bytes(uint8_t *p, const jute_stat_t *st)
{
    jute_writer_t w;
    jute_writer_init(&w, 0);
    jute_write_stat(&w, st);
    ck_assert_uint_eq(w.len, 68);
    memcpy(p, w.buf, w.len);
    jute_writer_free(&w);
    return 68;
}

static const uint8_t STAT_EXPECT_HEAD[] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* czxid */
    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* mzxid */
};

/* ---- byte-exact ---------------------------------------------------------- */

START_TEST(test_stat_bytes)
{
    jute_stat_t st = sample_stat();
    jute_writer_t w;
    jute_writer_init(&w, 0);
    jute_write_stat(&w, &st);
    ck_assert_uint_eq(w.len, 68);
    ck_assert(memcmp(w.buf, STAT_EXPECT_HEAD, sizeof STAT_EXPECT_HEAD) == 0);
    /* version at offset 32, cversion 36, aversion 40, owner 44,
     * dataLength 52, numChildren 56, pzxid 60. */
    ck_assert(memcmp(w.buf + 32, "\0\0\0\7\0\0\0\x08\0\0\0\x09", 12) == 0);
    ck_assert(memcmp(w.buf + 44, "\x7E\xAD\xBE\xEF\0\0\0\1", 8) == 0);
    ck_assert(memcmp(w.buf + 52, "\0\0\0\x2a\0\0\0\3", 8) == 0);
    ck_assert(memcmp(w.buf + 60, "\xff\xff\xff\xff\xff\xff\xff\xfb", 8) == 0);
    jute_reader_t r;
    jute_stat_t back;
    jute_reader_init(&r, w.buf, w.len, NULL);
    ck_assert_int_eq(jute_read_stat(&r, &back), JUTE_OK);
    assert_stat_eq(&st, &back);
    jute_writer_free(&w);
}
END_TEST

static const uint8_t CONNECT_RO[] = {
    0x00, 0x00, 0x00, 0x00,                         /* protocolVersion 0 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, /* lastZxidSeen */
    0x00, 0x00, 0x75, 0x30,                         /* timeOut 30000 */
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, /* sessionId */
    0x00, 0x00, 0x00, 0x10,                         /* passwd len 16 */
    0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
    0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF,
    0x01,                                           /* readOnly true */
};

START_TEST(test_connect_request_bytes)
{
    for (int with_ro = 0; with_ro <= 1; with_ro++) {
        size_t n = sizeof CONNECT_RO - (with_ro ? 0 : 1);
        uint8_t *in = dup_exact(CONNECT_RO, n);
        jute_reader_t r;
        jute_connect_request_t c;
        jute_reader_init(&r, in, n, NULL);
        ck_assert_int_eq(jute_read_connect_request(&r, &c), JUTE_OK);
        ck_assert_uint_eq(jute_reader_remaining(&r), 0);
        ck_assert_int_eq(c.protocol_version, 0);
        ck_assert(c.last_zxid_seen == 0x0000000100000005LL);
        ck_assert_int_eq(c.timeout, 30000);
        ck_assert(c.session_id == 0x0123456789abcdefLL);
        ck_assert_int_eq(c.passwd.len, 16);
        ck_assert_ptr_eq(c.passwd.data, in + 28); /* zero-copy */
        ck_assert_int_eq(c.has_read_only, with_ro);
        ck_assert_int_eq(c.read_only, with_ro);

        jute_writer_t w;
        jute_writer_init(&w, 0);
        jute_write_connect_request(&w, &c);
        assert_bytes(&w, CONNECT_RO, n);
        jute_writer_free(&w);
        free(in);
    }
}
END_TEST

START_TEST(test_connect_response_bytes)
{
    static const uint8_t pw[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
                                    9, 10, 11, 12, 13, 14, 15, 16 };
    uint8_t exp[4 + 4 + 4 + 8 + 4 + 16 + 1] = {
        0, 0, 0, 37,             /* frame length */
        0, 0, 0, 0,              /* protocolVersion */
        0, 0, 0x0f, 0xa0,        /* timeOut 4000 */
        0, 0, 0, 0, 0, 0, 0, 9,  /* sessionId */
        0, 0, 0, 16,
    };
    memcpy(exp + 24, pw, 16);
    exp[40] = 0; /* readOnly false */
    jute_connect_response_t c = { 0, 4000, 9, { pw, 16 }, true, false };
    jute_writer_t w;
    jute_writer_init(&w, 0);
    size_t m = jute_packet_begin(&w);
    jute_write_connect_response(&w, &c);
    ck_assert_int_eq(jute_packet_end(&w, m), JUTE_OK);
    assert_bytes(&w, exp, sizeof exp);

    /* Old client: no readOnly byte. */
    jute_writer_reset(&w);
    c.has_read_only = false;
    m = jute_packet_begin(&w);
    jute_write_connect_response(&w, &c);
    jute_packet_end(&w, m);
    exp[3] = 36;
    assert_bytes(&w, exp, sizeof exp - 1);

    jute_reader_t r;
    jute_connect_response_t back;
    jute_reader_init(&r, w.buf + 4, w.len - 4, NULL);
    ck_assert_int_eq(jute_read_connect_response(&r, &back), JUTE_OK);
    ck_assert(!back.has_read_only);
    ck_assert_int_eq(back.timeout, 4000);
    ck_assert(back.session_id == 9);
    ck_assert(memcmp(back.passwd.data, pw, 16) == 0);
    jute_writer_free(&w);
}
END_TEST

static const uint8_t CREATE_REQ[] = {
    0x00, 0x00, 0x00, 0x07,             /* xid 7 */
    0x00, 0x00, 0x00, 0x01,             /* type create */
    0x00, 0x00, 0x00, 0x04, '/', 'a', '/', 'b', /* path */
    0x00, 0x00, 0x00, 0x02, 'h', 'i',   /* data */
    0x00, 0x00, 0x00, 0x01,             /* acl count 1 */
    0x00, 0x00, 0x00, 0x1f,             /* perms ALL */
    0x00, 0x00, 0x00, 0x05, 'w', 'o', 'r', 'l', 'd',
    0x00, 0x00, 0x00, 0x06, 'a', 'n', 'y', 'o', 'n', 'e',
    0x00, 0x00, 0x00, 0x03,             /* flags EPHEMERAL_SEQUENTIAL */
};

START_TEST(test_create_request_bytes)
{
    uint8_t *in = dup_exact(CREATE_REQ, sizeof CREATE_REQ);
    jute_reader_t r;
    jute_request_t req;
    jute_reader_init(&r, in, sizeof CREATE_REQ, NULL);
    ck_assert_int_eq(jute_read_request(&r, &req), JUTE_OK);
    ck_assert_uint_eq(jute_reader_remaining(&r), 0);
    ck_assert_int_eq(req.hdr.xid, 7);
    ck_assert_int_eq(req.hdr.type, JUTE_OP_CREATE);
    ck_assert(jute_str_eq(req.u.create.path, JUTE_STR("/a/b")));
    ck_assert_int_eq(req.u.create.data.len, 2);
    ck_assert(memcmp(req.u.create.data.data, "hi", 2) == 0);
    ck_assert_int_eq(req.u.create.flags, JUTE_CREATE_EPHEMERAL_SEQUENTIAL);
    ck_assert_int_eq(req.u.create.acl.count, 1);
    jute_iter_t it;
    jute_acl_t a;
    jute_aclvec_iter(&req.u.create.acl, &it);
    ck_assert(jute_acl_next(&it, &a));
    ck_assert_int_eq(a.perms, JUTE_PERM_ALL);
    ck_assert(jute_str_eq(a.scheme, JUTE_STR("world")));
    ck_assert(jute_str_eq(a.id, JUTE_STR("anyone")));
    ck_assert(!jute_acl_next(&it, &a));

    /* Re-encode from the view, and from a hand-built request. */
    jute_writer_t w;
    jute_writer_init(&w, 0);
    jute_write_request(&w, &req);
    assert_bytes(&w, CREATE_REQ, sizeof CREATE_REQ);
    jute_writer_reset(&w);
    jute_acl_t open = { JUTE_PERM_ALL, JUTE_STR("world"), JUTE_STR("anyone") };
    jute_request_t mk;
    memset(&mk, 0, sizeof mk);
    mk.hdr.xid = 7;
    mk.hdr.type = JUTE_OP_CREATE;
    mk.u.create.path = JUTE_STR("/a/b");
    mk.u.create.data = (jute_buf_t){ (const uint8_t *)"hi", 2 };
    mk.u.create.acl = jute_aclvec(&open, 1);
    mk.u.create.flags = 3;
    jute_write_request(&w, &mk);
    assert_bytes(&w, CREATE_REQ, sizeof CREATE_REQ);
    jute_writer_free(&w);
    free(in);
}
END_TEST

static const uint8_t MULTI_REQ[] = {
    0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x0e, /* xid 42, multi */
    /* MultiHeader(create, false, -1) */
    0x00, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x02, '/', 'x',               /* path */
    0xff, 0xff, 0xff, 0xff,                         /* data null */
    0x00, 0x00, 0x00, 0x00,                         /* acl: empty */
    0x00, 0x00, 0x00, 0x00,                         /* flags */
    /* MultiHeader(setData, false, -1) */
    0x00, 0x00, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x02, '/', 'x',
    0x00, 0x00, 0x00, 0x01, 'z',
    0xff, 0xff, 0xff, 0xff,                         /* version -1 */
    /* MultiHeader(delete, false, -1) */
    0x00, 0x00, 0x00, 0x02, 0x00, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x02, '/', 'y',
    0x00, 0x00, 0x00, 0x04,                         /* version 4 */
    /* MultiHeader(-1, true, -1) */
    0xff, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff,
};

START_TEST(test_multi_request_bytes)
{
    uint8_t *in = dup_exact(MULTI_REQ, sizeof MULTI_REQ);
    jute_reader_t r;
    jute_request_t req;
    jute_reader_init(&r, in, sizeof MULTI_REQ, NULL);
    ck_assert_int_eq(jute_read_request(&r, &req), JUTE_OK);
    ck_assert_uint_eq(jute_reader_remaining(&r), 0);
    ck_assert_int_eq(req.hdr.type, JUTE_OP_MULTI);
    ck_assert_int_eq(req.u.multi.count, 3);

    jute_op_t ops[3];
    jute_iter_t it;
    int n = 0;
    jute_multi_iter(&req.u.multi, &it);
    while (n < 4 && jute_op_next(&it, &ops[n < 3 ? n : 2]))
        n++;
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(ops[0].type, JUTE_OP_CREATE);
    ck_assert(jute_str_eq(ops[0].u.create.path, JUTE_STR("/x")));
    ck_assert_int_eq(ops[0].u.create.data.len, -1);
    ck_assert_ptr_null(ops[0].u.create.data.data);
    ck_assert_int_eq(ops[0].u.create.acl.count, 0);
    ck_assert_int_eq(ops[1].type, JUTE_OP_SETDATA);
    ck_assert_int_eq(ops[1].u.set_data.version, -1);
    ck_assert_int_eq(ops[1].u.set_data.data.len, 1);
    ck_assert_int_eq(ops[2].type, JUTE_OP_DELETE);
    ck_assert(jute_str_eq(ops[2].u.path_version.path, JUTE_STR("/y")));
    ck_assert_int_eq(ops[2].u.path_version.version, 4);

    /* From the view and from an op array: same bytes. */
    jute_writer_t w;
    jute_writer_init(&w, 0);
    jute_write_request(&w, &req);
    assert_bytes(&w, MULTI_REQ, sizeof MULTI_REQ);
    jute_writer_reset(&w);
    req.u.multi.items = ops;
    jute_write_request(&w, &req);
    assert_bytes(&w, MULTI_REQ, sizeof MULTI_REQ);

    /* Iterating the array form. */
    jute_op_t o;
    jute_multi_iter(&req.u.multi, &it);
    ck_assert(jute_op_next(&it, &o));
    ck_assert_int_eq(o.type, JUTE_OP_CREATE);
    jute_writer_free(&w);
    free(in);
}
END_TEST

START_TEST(test_notification_bytes)
{
    static const uint8_t exp[] = {
        0x00, 0x00, 0x00, 0x1e,                         /* length 30 */
        0xff, 0xff, 0xff, 0xff,                         /* xid -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* zxid -1 */
        0x00, 0x00, 0x00, 0x00,                         /* err 0 */
        0x00, 0x00, 0x00, 0x03,                         /* NodeDataChanged */
        0x00, 0x00, 0x00, 0x03,                         /* SyncConnected */
        0x00, 0x00, 0x00, 0x02, '/', 'n',
    };
    jute_watcher_event_t ev = { JUTE_EVENT_NODE_DATA_CHANGED,
                                JUTE_STATE_SYNC_CONNECTED, JUTE_STR("/n") };
    jute_writer_t w;
    jute_writer_init(&w, 0);
    ck_assert_int_eq(jute_write_notification(&w, &ev), JUTE_OK);
    assert_bytes(&w, exp, sizeof exp);

    size_t body;
    ck_assert_int_eq(jute_frame_check(w.buf, w.len, 0xfffff, &body), 1);
    ck_assert_uint_eq(body, 30);
    jute_reader_t r;
    jute_reply_header_t h;
    jute_watcher_event_t back;
    jute_reader_init(&r, w.buf + 4, body, NULL);
    ck_assert_int_eq(jute_read_reply_header(&r, &h), JUTE_OK);
    ck_assert_int_eq(h.xid, JUTE_XID_NOTIFICATION);
    ck_assert(h.zxid == -1);
    ck_assert_int_eq(jute_read_watcher_event(&r, &back), JUTE_OK);
    ck_assert_int_eq(back.type, 3);
    ck_assert(jute_str_eq(back.path, JUTE_STR("/n")));
    jute_writer_free(&w);
}
END_TEST

START_TEST(test_get_data_reply_bytes)
{
    jute_stat_t st = sample_stat();
    uint8_t exp[4 + 16 + 4 + 3 + 68];
    size_t n = 0;
    memcpy(exp, "\0\0\0\x5b", 4); /* 91 */
    n = 4;
    memcpy(exp + n, "\0\0\0\x05" "\0\0\0\0\0\0\0\x10" "\0\0\0\0", 16);
    n += 16;
    memcpy(exp + n, "\0\0\0\x03" "abc", 7);
    n += 7;
    n += put_stat_bytes(exp + n, &st);
    ck_assert_uint_eq(n, sizeof exp);

    jute_writer_t w;
    jute_writer_init(&w, 0);
    size_t m = jute_packet_begin(&w);
    jute_reply_header_t h = { 5, 16, 0 };
    jute_get_data_response_t g = { { (const uint8_t *)"abc", 3 }, st };
    jute_write_reply_header(&w, &h);
    jute_write_get_data_response(&w, &g);
    jute_packet_end(&w, m);
    assert_bytes(&w, exp, sizeof exp);

    /* Error reply: the header alone. */
    jute_writer_reset(&w);
    m = jute_packet_begin(&w);
    h.err = JUTE_ZNONODE;
    jute_write_reply_header(&w, &h);
    jute_packet_end(&w, m);
    static const uint8_t e2[] = { 0, 0, 0, 16, 0, 0, 0, 5, 0, 0, 0, 0,
                                  0, 0, 0, 16, 0xff, 0xff, 0xff, 0x9b };
    assert_bytes(&w, e2, sizeof e2);
    jute_writer_free(&w);
}
END_TEST

START_TEST(test_multi_response_bytes)
{
    jute_stat_t st = sample_stat();
    jute_str_t kids[2] = { JUTE_STR("a"), JUTE_STR("bc") };
    jute_op_result_t res[8];
    memset(res, 0, sizeof res);
    res[0].type = JUTE_OP_CREATE;
    res[0].path = JUTE_STR("/p");
    res[1].type = JUTE_OP_CREATE2;
    res[1].path = JUTE_STR("/q");
    res[1].stat = st;
    res[2].type = JUTE_OP_SETDATA;
    res[2].stat = st;
    res[3].type = JUTE_OP_DELETE;
    res[4].type = JUTE_OP_CHECK;
    res[5].type = JUTE_OP_ERROR;
    res[5].err = JUTE_ZBADVERSION;
    res[6].type = JUTE_OP_GETDATA;
    res[6].data = (jute_buf_t){ (const uint8_t *)"d", 1 };
    res[6].stat = st;
    res[7].type = JUTE_OP_GETCHILDREN;
    res[7].children = jute_strvec(kids, 2);

    uint8_t exp[1024];
    size_t n = 0;
#define PUT(s, len) (memcpy(exp + n, s, len), n += (len))
    PUT("\0\0\0\x01\0\0\0\0\0", 9);           /* create, false, 0 */
    PUT("\0\0\0\x02/p", 6);
    PUT("\0\0\0\x0f\0\0\0\0\0", 9);           /* create2 */
    PUT("\0\0\0\x02/q", 6);
    n += put_stat_bytes(exp + n, &st);
    PUT("\0\0\0\x05\0\0\0\0\0", 9);           /* setData */
    n += put_stat_bytes(exp + n, &st);
    PUT("\0\0\0\x02\0\0\0\0\0", 9);           /* delete */
    PUT("\0\0\0\x0d\0\0\0\0\0", 9);           /* check */
    PUT("\xff\xff\xff\xff\0\xff\xff\xff\x99", 9); /* error, err -103 */
    PUT("\xff\xff\xff\x99", 4);               /* ErrorResponse */
    PUT("\0\0\0\x04\0\0\0\0\0", 9);           /* getData */
    PUT("\0\0\0\x01" "d", 5);
    n += put_stat_bytes(exp + n, &st);
    PUT("\0\0\0\x08\0\0\0\0\0", 9);           /* getChildren */
    PUT("\0\0\0\x02" "\0\0\0\x01" "a" "\0\0\0\x02" "bc", 15);
    PUT("\xff\xff\xff\xff\x01\xff\xff\xff\xff", 9); /* end */
#undef PUT

    jute_multi_response_t mr = { 8, res, NULL, 0 };
    jute_writer_t w;
    jute_writer_init(&w, 0);
    jute_write_multi_response(&w, &mr);
    assert_bytes(&w, exp, n);

    uint8_t *in = dup_exact(exp, n);
    jute_reader_t r;
    jute_multi_response_t back;
    jute_reader_init(&r, in, n, NULL);
    ck_assert_int_eq(jute_read_multi_response(&r, &back), JUTE_OK);
    ck_assert_uint_eq(jute_reader_remaining(&r), 0);
    ck_assert_int_eq(back.count, 8);
    jute_iter_t it;
    jute_op_result_t o;
    int i = 0;
    jute_multi_response_iter(&back, &it);
    while (jute_op_result_next(&it, &o)) {
        ck_assert_int_lt(i, 8);
        ck_assert_int_eq(o.type, res[i].type);
        if (o.type == JUTE_OP_ERROR)
            ck_assert_int_eq(o.err, JUTE_ZBADVERSION);
        if (o.type == JUTE_OP_CREATE || o.type == JUTE_OP_CREATE2)
            ck_assert(jute_str_eq(o.path, res[i].path));
        if (o.type == JUTE_OP_GETCHILDREN) {
            jute_iter_t ci;
            jute_str_t s;
            jute_strvec_iter(&o.children, &ci);
            ck_assert(jute_str_next(&ci, &s));
            ck_assert(jute_str_eq(s, kids[0]));
            ck_assert(jute_str_next(&ci, &s));
            ck_assert(jute_str_eq(s, kids[1]));
            ck_assert(!jute_str_next(&ci, &s));
        }
        if (o.type == JUTE_OP_SETDATA || o.type == JUTE_OP_GETDATA)
            assert_stat_eq(&o.stat, &st);
        i++;
    }
    ck_assert_int_eq(i, 8);
    jute_writer_reset(&w);
    jute_write_multi_response(&w, &back);
    assert_bytes(&w, exp, n);

    /* Unknown result type is refused by the encoder. */
    jute_writer_reset(&w);
    jute_op_result_t bad;
    memset(&bad, 0, sizeof bad);
    bad.type = JUTE_OP_EXISTS;
    ck_assert_int_eq(jute_write_op_result(&w, &bad), JUTE_EINVAL);
    jute_writer_free(&w);
    free(in);
}
END_TEST

START_TEST(test_whoami_bytes)
{
    jute_client_info_t ci[2] = { { JUTE_STR("ip"), JUTE_STR("127.0.0.1") },
                                 { JUTE_STR("digest"), JUTE_STR("u") } };
    jute_whoami_response_t wr = { jute_infovec(ci, 2) };
    static const uint8_t exp[] = {
        0, 0, 0, 2,
        0, 0, 0, 2, 'i', 'p', 0, 0, 0, 9, '1', '2', '7', '.', '0', '.', '0',
        '.', '1',
        0, 0, 0, 6, 'd', 'i', 'g', 'e', 's', 't', 0, 0, 0, 1, 'u',
    };
    jute_writer_t w;
    jute_writer_init(&w, 0);
    jute_write_whoami_response(&w, &wr);
    assert_bytes(&w, exp, sizeof exp);
    jute_reader_t r;
    jute_whoami_response_t back;
    jute_reader_init(&r, w.buf, w.len, NULL);
    ck_assert_int_eq(jute_read_whoami_response(&r, &back), JUTE_OK);
    jute_iter_t it;
    jute_client_info_t c;
    jute_infovec_iter(&back.client_info, &it);
    ck_assert(jute_info_next(&it, &c));
    ck_assert(jute_str_eq(c.user, JUTE_STR("127.0.0.1")));
    ck_assert(jute_info_next(&it, &c));
    ck_assert(jute_str_eq(c.auth_scheme, JUTE_STR("digest")));
    ck_assert(!jute_info_next(&it, &c));
    jute_writer_free(&w);
}
END_TEST

/* ---- round trips and truncations of every record --------------------------- */

/*
 * For a record written into w: decode it back, re-encode, compare bytes;
 * then decode every proper prefix from an exactly-sized heap copy and
 * expect JUTE_ETRUNC (min_ok: shortest prefix that legitimately decodes,
 * for records with an optional trailing field; SIZE_MAX if none).
 */
#define ROUND_TRIP(name, type, w, min_ok)                                    \
    do {                                                                     \
        ck_assert_int_eq(jute_writer_error(&(w)), JUTE_OK);                  \
        size_t n_ = (w).len;                                                 \
        uint8_t *in_ = dup_exact((w).buf, n_);                               \
        jute_reader_t r_;                                                    \
        type out_;                                                           \
        jute_reader_init(&r_, in_, n_, NULL);                                \
        ck_assert_int_eq(jute_read_##name(&r_, &out_), JUTE_OK);             \
        ck_assert_uint_eq(jute_reader_remaining(&r_), 0);                    \
        jute_writer_t w2_;                                                   \
        jute_writer_init(&w2_, 0);                                           \
        ck_assert_int_eq(jute_write_##name(&w2_, &out_), JUTE_OK);           \
        assert_bytes(&w2_, in_, n_);                                         \
        jute_writer_free(&w2_);                                              \
        free(in_);                                                           \
        for (size_t l_ = 0; l_ < n_; l_++) {                                 \
            uint8_t *p_ = dup_exact((w).buf, l_);                            \
            jute_reader_init(&r_, p_, l_, NULL);                             \
            int rc_ = jute_read_##name(&r_, &out_);                          \
            if (l_ >= (size_t)(min_ok))                                      \
                ck_assert_int_eq(rc_, JUTE_OK);                              \
            else if (rc_ != JUTE_ETRUNC)                                     \
                ck_abort_msg(#name " prefix %zu: %s", l_,                    \
                             jute_strerror(rc_));                            \
            free(p_);                                                        \
        }                                                                    \
        jute_writer_reset(&(w));                                             \
    } while (0)

START_TEST(test_round_trip_requests)
{
    jute_writer_t w;
    jute_writer_init(&w, 0);
    static const uint8_t pw[4] = { 9, 8, 7, 6 };
    jute_acl_t acls[2] = { { 31, JUTE_STR("world"), JUTE_STR("anyone") },
                           { 1, JUTE_STR("digest"), JUTE_STR("u:h") } };
    jute_str_t paths[3] = { JUTE_STR("/a"), JUTE_STR(""), JUTE_NULL_STR };

    jute_connect_request_t cr = { 0, 77, 10000, 0, { pw, 4 }, true, true };
    jute_write_connect_request(&w, &cr);
    ROUND_TRIP(connect_request, jute_connect_request_t, w, w.len - 1);
    cr.has_read_only = false;
    jute_write_connect_request(&w, &cr);
    ROUND_TRIP(connect_request, jute_connect_request_t, w, SIZE_MAX);

    jute_request_header_t rh = { -8, JUTE_OP_SETWATCHES };
    jute_write_request_header(&w, &rh);
    ROUND_TRIP(request_header, jute_request_header_t, w, SIZE_MAX);

    jute_multi_header_t mh = { 5, false, -1 };
    jute_write_multi_header(&w, &mh);
    ROUND_TRIP(multi_header, jute_multi_header_t, w, SIZE_MAX);

    jute_create_request_t c = { JUTE_STR("/n"),
                                { (const uint8_t *)"xyz", 3 },
                                jute_aclvec(acls, 2), 5, 60000 };
    jute_write_create_request(&w, &c);
    ROUND_TRIP(create_request, jute_create_request_t, w, SIZE_MAX);
    jute_write_create_ttl_request(&w, &c);
    ROUND_TRIP(create_ttl_request, jute_create_request_t, w, SIZE_MAX);
    c.acl = jute_aclvec(NULL, -1); /* null vector */
    c.data = JUTE_NULL_BUF;
    jute_write_create_request(&w, &c);
    ROUND_TRIP(create_request, jute_create_request_t, w, SIZE_MAX);

    jute_path_version_t pv = { JUTE_STR("/d"), -1 };
    jute_write_path_version(&w, &pv);
    ROUND_TRIP(path_version, jute_path_version_t, w, SIZE_MAX);

    jute_path_watch_t pwt = { JUTE_STR("/w"), true };
    jute_write_path_watch(&w, &pwt);
    ROUND_TRIP(path_watch, jute_path_watch_t, w, SIZE_MAX);

    jute_path_t p = { JUTE_STR("/zookeeper") };
    jute_write_path(&w, &p);
    ROUND_TRIP(path, jute_path_t, w, SIZE_MAX);

    jute_set_data_request_t sd = { JUTE_STR("/s"),
                                   { (const uint8_t *)"", 0 }, 3 };
    jute_write_set_data_request(&w, &sd);
    ROUND_TRIP(set_data_request, jute_set_data_request_t, w, SIZE_MAX);

    jute_set_acl_request_t sa = { JUTE_STR("/s"), jute_aclvec(acls, 2), 2 };
    jute_write_set_acl_request(&w, &sa);
    ROUND_TRIP(set_acl_request, jute_set_acl_request_t, w, SIZE_MAX);

    jute_auth_packet_t ap = { 0, JUTE_STR("digest"),
                              { (const uint8_t *)"u:p", 3 } };
    jute_write_auth_packet(&w, &ap);
    ROUND_TRIP(auth_packet, jute_auth_packet_t, w, SIZE_MAX);

    jute_set_watches_t sw = { 100, jute_strvec(paths, 3),
                              jute_strvec(paths, 0), jute_strvec(NULL, -1),
                              jute_strvec(paths, 1), jute_strvec(paths, 2) };
    jute_write_set_watches(&w, &sw);
    ROUND_TRIP(set_watches, jute_set_watches_t, w, SIZE_MAX);
    jute_write_set_watches2(&w, &sw);
    ROUND_TRIP(set_watches2, jute_set_watches_t, w, SIZE_MAX);

    jute_path_int_t pi = { JUTE_STR("/aw"), JUTE_ADDWATCH_PERSISTENT_RECURSIVE };
    jute_write_path_int(&w, &pi);
    ROUND_TRIP(path_int, jute_path_int_t, w, SIZE_MAX);

    jute_reconfig_request_t rc = { JUTE_STR("server.4=h:1:2"), JUTE_NULL_STR,
                                   JUTE_STR(""), -1 };
    jute_write_reconfig_request(&w, &rc);
    ROUND_TRIP(reconfig_request, jute_reconfig_request_t, w, SIZE_MAX);

    jute_sasl_t sasl = { { pw, 4 } };
    jute_write_sasl(&w, &sasl);
    ROUND_TRIP(sasl, jute_sasl_t, w, SIZE_MAX);
    jute_writer_free(&w);
}
END_TEST

START_TEST(test_round_trip_responses)
{
    jute_writer_t w;
    jute_writer_init(&w, 0);
    jute_stat_t st = sample_stat();
    jute_acl_t acls[1] = { { 31, JUTE_STR("ip"), JUTE_STR("10.0.0.1") } };
    jute_str_t kids[2] = { JUTE_STR("k1"), JUTE_STR("k2") };
    static const uint8_t pw[16] = { 0 };

    jute_connect_response_t cr = { 0, 5000, 0x1234, { pw, 16 }, true, false };
    jute_write_connect_response(&w, &cr);
    ROUND_TRIP(connect_response, jute_connect_response_t, w, w.len - 1);

    jute_reply_header_t rh = { -2, 0x500000001LL, 0 };
    jute_write_reply_header(&w, &rh);
    ROUND_TRIP(reply_header, jute_reply_header_t, w, SIZE_MAX);

    jute_path_t cresp = { JUTE_STR("/seq0000000001") };
    jute_write_path(&w, &cresp);
    ROUND_TRIP(path, jute_path_t, w, SIZE_MAX);

    jute_create2_response_t c2 = { JUTE_STR("/c2"), st };
    jute_write_create2_response(&w, &c2);
    ROUND_TRIP(create2_response, jute_create2_response_t, w, SIZE_MAX);

    jute_stat_response_t sr = { st };
    jute_write_stat_response(&w, &sr);
    ROUND_TRIP(stat_response, jute_stat_response_t, w, SIZE_MAX);

    jute_get_data_response_t gd = { { (const uint8_t *)"v", 1 }, st };
    jute_write_get_data_response(&w, &gd);
    ROUND_TRIP(get_data_response, jute_get_data_response_t, w, SIZE_MAX);

    jute_get_acl_response_t ga = { jute_aclvec(acls, 1), st };
    jute_write_get_acl_response(&w, &ga);
    ROUND_TRIP(get_acl_response, jute_get_acl_response_t, w, SIZE_MAX);

    jute_strlist_response_t sl = { jute_strvec(kids, 2) };
    jute_write_strlist_response(&w, &sl);
    ROUND_TRIP(strlist_response, jute_strlist_response_t, w, SIZE_MAX);

    jute_get_children2_response_t g2 = { jute_strvec(kids, 2), st };
    jute_write_get_children2_response(&w, &g2);
    ROUND_TRIP(get_children2_response, jute_get_children2_response_t, w,
               SIZE_MAX);

    jute_int_response_t ir = { 12345 };
    jute_write_int_response(&w, &ir);
    ROUND_TRIP(int_response, jute_int_response_t, w, SIZE_MAX);

    jute_client_info_t ci = { JUTE_STR("ip"), JUTE_STR("::1") };
    jute_whoami_response_t wr = { jute_infovec(&ci, 1) };
    jute_write_whoami_response(&w, &wr);
    ROUND_TRIP(whoami_response, jute_whoami_response_t, w, SIZE_MAX);

    jute_watcher_event_t ev = { JUTE_EVENT_NONE, JUTE_STATE_EXPIRED,
                                JUTE_NULL_STR };
    jute_write_watcher_event(&w, &ev);
    ROUND_TRIP(watcher_event, jute_watcher_event_t, w, SIZE_MAX);
    jute_writer_free(&w);
}
END_TEST

/* Every request type through jute_read_request / jute_write_request, and
 * every truncation of each. */
START_TEST(test_round_trip_all_request_types)
{
    static const int32_t types[] = {
        JUTE_OP_CREATE, JUTE_OP_CREATE2, JUTE_OP_CREATECONTAINER,
        JUTE_OP_CREATETTL, JUTE_OP_DELETE, JUTE_OP_CHECK, JUTE_OP_EXISTS,
        JUTE_OP_GETDATA, JUTE_OP_GETCHILDREN, JUTE_OP_GETCHILDREN2,
        JUTE_OP_GETACL, JUTE_OP_SYNC, JUTE_OP_GETALLCHILDRENNUMBER,
        JUTE_OP_GETEPHEMERALS, JUTE_OP_SETDATA, JUTE_OP_SETACL,
        JUTE_OP_AUTH, JUTE_OP_SETWATCHES, JUTE_OP_SETWATCHES2,
        JUTE_OP_ADDWATCH, JUTE_OP_CHECKWATCHES, JUTE_OP_REMOVEWATCHES,
        JUTE_OP_RECONFIG, JUTE_OP_SASL, JUTE_OP_MULTI, JUTE_OP_MULTIREAD,
        JUTE_OP_PING, JUTE_OP_CLOSESESSION, JUTE_OP_WHOAMI,
    };
    jute_acl_t acl = { 31, JUTE_STR("world"), JUTE_STR("anyone") };
    jute_str_t ws[2] = { JUTE_STR("/w1"), JUTE_STR("/w2") };
    jute_op_t wops[2], rops[2];
    memset(wops, 0, sizeof wops);
    memset(rops, 0, sizeof rops);
    wops[0].type = JUTE_OP_CREATETTL;
    wops[0].u.create = (jute_create_request_t){ JUTE_STR("/t"), JUTE_NULL_BUF,
                                                jute_aclvec(&acl, 1), 5, 99 };
    wops[1].type = JUTE_OP_CHECK;
    wops[1].u.path_version = (jute_path_version_t){ JUTE_STR("/t"), 0 };
    rops[0].type = JUTE_OP_GETDATA;
    rops[0].u.path_watch = (jute_path_watch_t){ JUTE_STR("/r"), false };
    rops[1].type = JUTE_OP_GETCHILDREN;
    rops[1].u.path_watch = (jute_path_watch_t){ JUTE_STR("/r"), false };

    jute_writer_t w, w2;
    jute_writer_init(&w, 0);
    jute_writer_init(&w2, 0);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        jute_request_t q;
        memset(&q, 0, sizeof q);
        q.hdr.xid = (int32_t)i + 1;
        q.hdr.type = types[i];
        switch (types[i]) {
        case JUTE_OP_CREATE: case JUTE_OP_CREATE2:
        case JUTE_OP_CREATECONTAINER: case JUTE_OP_CREATETTL:
            q.u.create = (jute_create_request_t){ JUTE_STR("/c"),
                { (const uint8_t *)"d", 1 }, jute_aclvec(&acl, 1), 0, 1000 };
            break;
        case JUTE_OP_DELETE: case JUTE_OP_CHECK:
            q.u.path_version = (jute_path_version_t){ JUTE_STR("/c"), 1 };
            break;
        case JUTE_OP_EXISTS: case JUTE_OP_GETDATA: case JUTE_OP_GETCHILDREN:
        case JUTE_OP_GETCHILDREN2:
            q.u.path_watch = (jute_path_watch_t){ JUTE_STR("/c"), true };
            break;
        case JUTE_OP_GETACL: case JUTE_OP_SYNC:
        case JUTE_OP_GETALLCHILDRENNUMBER: case JUTE_OP_GETEPHEMERALS:
            q.u.path = (jute_path_t){ JUTE_STR("/c") };
            break;
        case JUTE_OP_SETDATA:
            q.u.set_data = (jute_set_data_request_t){ JUTE_STR("/c"),
                { (const uint8_t *)"dd", 2 }, 4 };
            break;
        case JUTE_OP_SETACL:
            q.u.set_acl = (jute_set_acl_request_t){ JUTE_STR("/c"),
                jute_aclvec(&acl, 1), 4 };
            break;
        case JUTE_OP_AUTH:
            q.u.auth = (jute_auth_packet_t){ 0, JUTE_STR("digest"),
                { (const uint8_t *)"a:b", 3 } };
            break;
        case JUTE_OP_SETWATCHES: case JUTE_OP_SETWATCHES2:
            q.u.set_watches = (jute_set_watches_t){ 5, jute_strvec(ws, 2),
                jute_strvec(ws, 1), jute_strvec(ws, 0), jute_strvec(ws, 2),
                jute_strvec(ws, 1) };
            break;
        case JUTE_OP_ADDWATCH: case JUTE_OP_CHECKWATCHES:
        case JUTE_OP_REMOVEWATCHES:
            q.u.path_int = (jute_path_int_t){ JUTE_STR("/c"), 1 };
            break;
        case JUTE_OP_RECONFIG:
            q.u.reconfig = (jute_reconfig_request_t){ JUTE_STR("a"),
                JUTE_STR("b"), JUTE_NULL_STR, 7 };
            break;
        case JUTE_OP_SASL:
            q.u.sasl = (jute_sasl_t){ { (const uint8_t *)"tok", 3 } };
            break;
        case JUTE_OP_MULTI:
            q.u.multi = (jute_multi_t){ JUTE_OP_MULTI, 2, wops, NULL, 0 };
            break;
        case JUTE_OP_MULTIREAD:
            q.u.multi = (jute_multi_t){ JUTE_OP_MULTIREAD, 2, rops, NULL, 0 };
            break;
        default:
            break;
        }
        jute_writer_reset(&w);
        ck_assert_int_eq(jute_write_request(&w, &q), JUTE_OK);
        uint8_t *in = dup_exact(w.buf, w.len);
        jute_reader_t r;
        jute_request_t back;
        jute_reader_init(&r, in, w.len, NULL);
        ck_assert_msg(jute_read_request(&r, &back) == JUTE_OK, "type %d",
                      types[i]);
        ck_assert_uint_eq(jute_reader_remaining(&r), 0);
        ck_assert_int_eq(back.hdr.type, types[i]);
        jute_writer_reset(&w2);
        ck_assert_int_eq(jute_write_request(&w2, &back), JUTE_OK);
        assert_bytes(&w2, in, w.len);
        free(in);
        for (size_t l = 0; l < w.len; l++) {
            uint8_t *p = dup_exact(w.buf, l);
            jute_reader_init(&r, p, l, NULL);
            ck_assert_msg(jute_read_request(&r, &back) == JUTE_ETRUNC,
                          "type %d prefix %zu", types[i], l);
            free(p);
        }
    }
    jute_writer_free(&w);
    jute_writer_free(&w2);
}
END_TEST

/* ---- malformed input ----------------------------------------------------- */

static int decode_path(const uint8_t *b, size_t n, const jute_limits_t *lim)
{
    uint8_t *in = dup_exact(b, n);
    jute_reader_t r;
    jute_path_t p;
    jute_reader_init(&r, in, n, lim);
    int rc = jute_read_path(&r, &p);
    free(in);
    return rc;
}

START_TEST(test_bad_lengths)
{
    /* -1 is null; -2 and INT32_MIN are refused. */
    ck_assert_int_eq(decode_path((const uint8_t *)"\xff\xff\xff\xff", 4,
                                 NULL), JUTE_OK);
    ck_assert_int_eq(decode_path((const uint8_t *)"\xff\xff\xff\xfe", 4,
                                 NULL), JUTE_ELEN);
    ck_assert_int_eq(decode_path((const uint8_t *)"\x80\0\0\0", 4, NULL),
                     JUTE_ELEN);
    /* Longer than what is left. */
    ck_assert_int_eq(decode_path((const uint8_t *)"\0\0\0\x05/abc", 8, NULL),
                     JUTE_ETRUNC);
    ck_assert_int_eq(decode_path((const uint8_t *)"\x7f\xff\xff\xff", 4,
                                 NULL), JUTE_ELEN);
    /* Above the configured maximum even when the bytes are there. */
    jute_limits_t lim;
    jute_limits_default(&lim);
    ck_assert_int_eq(lim.max_buffer, 0xfffff + 1024);
    lim.max_buffer = 3;
    ck_assert_int_eq(decode_path((const uint8_t *)"\0\0\0\x04/abc", 8, &lim),
                     JUTE_ELEN);
    ck_assert_int_eq(decode_path((const uint8_t *)"\0\0\0\x03/ab", 7, &lim),
                     JUTE_OK);
    /* Default max: 0xfffff + 1024 accepted, one more refused. */
    size_t big = 4 + 0xfffff + 1025;
    uint8_t *b = calloc(1, big);
    ck_assert_ptr_nonnull(b);
    b[1] = 0x10; b[2] = 0x03; b[3] = 0xff; /* 0x1003ff = 0xfffff + 1024 */
    ck_assert_int_eq(decode_path(b, big - 1, NULL), JUTE_OK);
    b[3] = 0x00; b[2] = 0x04;            /* 0x100400 */
    ck_assert_int_eq(decode_path(b, big, NULL), JUTE_ELEN);
    free(b);
    /* A buffer field behaves the same way. */
    jute_reader_t r;
    jute_buf_t buf;
    jute_reader_init(&r, "\xff\xff\xff\xf0", 4, NULL);
    ck_assert_int_eq(jute_read_buffer(&r, &buf), JUTE_ELEN);
}
END_TEST

START_TEST(test_bad_vectors)
{
    jute_limits_t lim;
    jute_limits_default(&lim);
    struct {
        const char *b;
        size_t n;
        int rc;
    } cases[] = {
        { "\xff\xff\xff\xfe", 4, JUTE_ECOUNT },             /* count -2 */
        { "\x80\0\0\0", 4, JUTE_ECOUNT },                   /* INT32_MIN */
        { "\x7f\xff\xff\xff", 4, JUTE_ECOUNT },             /* > limit */
        { "\0\0\x04\x01", 4, JUTE_ECOUNT },                 /* 1025 ACLs */
        { "\0\0\0\x02\0\0\0\x1f", 8, JUTE_ETRUNC },         /* short */
        { "\0\0\0\x01\0\0\0\x1f\xff\xff\xff\xfe", 12, JUTE_ELEN },
        { "\0\0\0\x01\0\0\0\x1f\xff\xff\xff\xff\xff\xff\xff\xff", 16,
          JUTE_OK },                                        /* null Id */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *in = dup_exact(cases[i].b, cases[i].n);
        jute_reader_t r;
        jute_aclvec_t v;
        jute_reader_init(&r, in, cases[i].n, &lim);
        ck_assert_msg(jute_read_aclvec(&r, &v) == cases[i].rc, "case %zu",
                      i);
        free(in);
    }
    /* String vector limit, and count beyond the bytes with a huge limit. */
    lim.max_strings = 2;
    jute_reader_t r;
    jute_strvec_t sv;
    jute_reader_init(&r, "\0\0\0\x03", 4, &lim);
    ck_assert_int_eq(jute_read_strvec(&r, &sv), JUTE_ECOUNT);
    lim.max_strings = INT32_MAX;
    jute_reader_init(&r, "\x7f\xff\xff\xff\0\0\0\0", 8, &lim);
    ck_assert_int_eq(jute_read_strvec(&r, &sv), JUTE_ETRUNC);
    /* Null vector. */
    jute_reader_init(&r, "\xff\xff\xff\xff", 4, &lim);
    ck_assert_int_eq(jute_read_strvec(&r, &sv), JUTE_OK);
    ck_assert_int_eq(sv.count, -1);
    jute_iter_t it;
    jute_str_t s;
    jute_strvec_iter(&sv, &it);
    ck_assert(!jute_str_next(&it, &s));
    /* A malformed hand-made raw view stops the iterator, no over-read. */
    jute_strvec_t bad = { 3, NULL, (const uint8_t *)"\0\0\0\x01x\0\0", 7 };
    jute_strvec_iter(&bad, &it);
    ck_assert(jute_str_next(&it, &s));
    ck_assert(!jute_str_next(&it, &s));
    ck_assert(!jute_str_next(&it, &s));
}
END_TEST

/* A multi request body decoded with read_request. */
static int decode_multi(int32_t kind, const uint8_t *ops, size_t n,
                        const jute_limits_t *lim, jute_request_t *q)
{
    uint8_t *in = malloc(8 + n);
    ck_assert_ptr_nonnull(in);
    memcpy(in, "\0\0\0\1\0\0\0", 7);
    in[7] = (uint8_t)kind;
    memcpy(in + 8, ops, n);
    uint8_t *ex = dup_exact(in, 8 + n);
    free(in);
    jute_reader_t r;
    jute_reader_init(&r, ex, 8 + n, lim);
    int rc = jute_read_request(&r, q);
    free(ex);
    return rc;
}

#define END_HDR "\xff\xff\xff\xff\x01\xff\xff\xff\xff"
#define GETDATA_OP "\0\0\0\x04\0\xff\xff\xff\xff" "\0\0\0\x01/" "\0"
#define CHECK_OP "\0\0\0\x0d\0\xff\xff\xff\xff" "\0\0\0\x01/" "\0\0\0\0"

START_TEST(test_bad_multi)
{
    jute_request_t q;
    /* Empty multi. */
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTI, (const uint8_t *)END_HDR, 9,
                                  NULL, &q), JUTE_OK);
    ck_assert_int_eq(q.u.multi.count, 0);
    /* Any done header ends the list (MultiOperationRecord tests done). */
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTI,
        (const uint8_t *)"\0\0\0\0\x01\0\0\0\0", 9, NULL, &q), JUTE_OK);
    /* Missing terminator. */
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTI, (const uint8_t *)CHECK_OP,
                                  sizeof CHECK_OP - 1, NULL, &q),
                     JUTE_ETRUNC);
    /* Read op in multi, write op in multiRead: refused. */
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTI,
        (const uint8_t *)GETDATA_OP END_HDR, sizeof GETDATA_OP - 1 + 9, NULL,
        &q), JUTE_EOP);
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTIREAD,
        (const uint8_t *)CHECK_OP END_HDR, sizeof CHECK_OP - 1 + 9, NULL,
        &q), JUTE_EOP);
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTIREAD,
        (const uint8_t *)GETDATA_OP END_HDR, sizeof GETDATA_OP - 1 + 9, NULL,
        &q), JUTE_OK);
    /* Unknown op type. */
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTI,
        (const uint8_t *)"\0\0\0\x03\0\xff\xff\xff\xff" END_HDR, 18, NULL,
        &q), JUTE_EOP);
    /* Too many ops. */
    jute_limits_t lim;
    jute_limits_default(&lim);
    lim.max_ops = 1;
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTI,
        (const uint8_t *)CHECK_OP CHECK_OP END_HDR,
        2 * (sizeof CHECK_OP - 1) + 9, &lim, &q), JUTE_ECOUNT);
    ck_assert_int_eq(decode_multi(JUTE_OP_MULTI,
        (const uint8_t *)CHECK_OP END_HDR, sizeof CHECK_OP - 1 + 9, &lim,
        &q), JUTE_OK);
    /* Encoder refuses an unknown op type and a negative count. */
    jute_writer_t w;
    jute_writer_init(&w, 0);
    jute_op_t op;
    memset(&op, 0, sizeof op);
    op.type = JUTE_OP_SYNC;
    jute_multi_t m = { JUTE_OP_MULTI, 1, &op, NULL, 0 };
    ck_assert_int_eq(jute_write_multi(&w, &m), JUTE_EINVAL);
    jute_writer_reset(&w);
    m.count = -1;
    ck_assert_int_eq(jute_write_multi(&w, &m), JUTE_EINVAL);
    jute_writer_free(&w);
}
END_TEST

START_TEST(test_request_types)
{
    jute_request_t q;
    jute_reader_t r;
    /* Unknown type: header decoded, JUTE_EOP, reader still fine. */
    jute_reader_init(&r, "\0\0\0\x09\0\0\0\x63", 8, NULL);
    ck_assert_int_eq(jute_read_request(&r, &q), JUTE_EOP);
    ck_assert_int_eq(q.hdr.xid, 9);
    ck_assert_int_eq(q.hdr.type, 99);
    ck_assert_int_eq(jute_reader_error(&r), JUTE_OK);
    /* Ping: no body; trailing bytes ignored but visible. */
    jute_reader_init(&r, "\xff\xff\xff\xfe\0\0\0\x0bZ", 9, NULL);
    ck_assert_int_eq(jute_read_request(&r, &q), JUTE_OK);
    ck_assert_int_eq(q.hdr.xid, JUTE_XID_PING);
    ck_assert_uint_eq(jute_reader_remaining(&r), 1);
    /* Short header. */
    jute_reader_init(&r, "\0\0\0", 3, NULL);
    ck_assert_int_eq(jute_read_request(&r, &q), JUTE_ETRUNC);
    /* SetWatches (v1) leaves the persistent vectors null. */
    jute_reader_init(&r, "\xff\xff\xff\xf8\0\0\0\x65" "\0\0\0\0\0\0\0\x01"
                     "\0\0\0\0" "\xff\xff\xff\xff" "\0\0\0\0", 28, NULL);
    ck_assert_int_eq(jute_read_request(&r, &q), JUTE_OK);
    ck_assert(q.u.set_watches.relative_zxid == 1);
    ck_assert_int_eq(q.u.set_watches.exist_watches.count, -1);
    ck_assert_int_eq(q.u.set_watches.persistent_watches.count, -1);
    /* Bool: any non-zero byte is true (DataInput.readBoolean). */
    jute_path_watch_t pw;
    jute_reader_init(&r, "\0\0\0\x01/\x07", 6, NULL);
    ck_assert_int_eq(jute_read_path_watch(&r, &pw), JUTE_OK);
    ck_assert(pw.watch);
}
END_TEST

START_TEST(test_sticky_reader)
{
    jute_reader_t r;
    jute_reader_init(&r, "\0\0\0\x01\0\0", 6, NULL);
    ck_assert_int_eq(jute_read_int(&r), 1);
    ck_assert(jute_read_long(&r) == 0);
    ck_assert_int_eq(jute_reader_error(&r), JUTE_ETRUNC);
    /* After the error even a fitting read fails. */
    ck_assert_int_eq(jute_read_bool(&r), 0);
    ck_assert_int_eq(jute_read_int(&r), 0);
    ck_assert_uint_eq(jute_reader_remaining(&r), 0);
    jute_str_t s;
    ck_assert_int_eq(jute_read_ustring(&r, &s), JUTE_ETRUNC);
    ck_assert_int_eq(s.len, -1);
    /* NULL input reads as empty. */
    jute_reader_init(&r, NULL, 10, NULL);
    ck_assert_int_eq(jute_read_int(&r), 0);
    ck_assert_int_eq(jute_reader_error(&r), JUTE_ETRUNC);
}
END_TEST

/* ---- writer and framing ------------------------------------------------------ */

START_TEST(test_writer_limit)
{
    jute_writer_t w;
    jute_writer_init(&w, 10);
    ck_assert_int_eq(jute_write_int(&w, 1), JUTE_OK);
    ck_assert_int_eq(jute_write_int(&w, 2), JUTE_OK);
    ck_assert_int_eq(jute_write_int(&w, 3), JUTE_ENOMEM);
    ck_assert_uint_eq(w.len, 8);
    ck_assert_int_eq(jute_write_bool(&w, true), JUTE_ENOMEM); /* sticky */
    jute_writer_reset(&w);
    ck_assert_int_eq(jute_write_long(&w, 1), JUTE_OK);
    jute_writer_free(&w);
    ck_assert_ptr_null(w.buf);

    /* Bad arguments. */
    jute_writer_init(&w, 0);
    jute_str_t bad = { "x", -2 };
    ck_assert_int_eq(jute_write_ustring(&w, bad), JUTE_EINVAL);
    jute_writer_reset(&w);
    jute_buf_t nullp = { NULL, 3 };
    ck_assert_int_eq(jute_write_buffer(&w, nullp), JUTE_EINVAL);
    jute_writer_reset(&w);
    jute_strvec_t sv = { 2, NULL, NULL, 0 };
    ck_assert_int_eq(jute_write_strvec(&w, &sv), JUTE_EINVAL);
    jute_writer_reset(&w);
    ck_assert_int_eq(jute_packet_end(&w, 0), JUTE_EINVAL);
    jute_writer_reset(&w);
    ck_assert_int_eq(jute_vector_end(&w, SIZE_MAX, 1), JUTE_EINVAL);

    /* Large growth. */
    jute_writer_reset(&w);
    static uint8_t blob[300000];
    memset(blob, 0x5a, sizeof blob);
    jute_buf_t bb = { blob, (int32_t)sizeof blob };
    ck_assert_int_eq(jute_write_buffer(&w, bb), JUTE_OK);
    ck_assert_uint_eq(w.len, 4 + sizeof blob);
    jute_writer_free(&w);
}
END_TEST

START_TEST(test_incremental_vector)
{
    jute_writer_t w;
    jute_writer_init(&w, 0);
    size_t m = jute_packet_begin(&w);
    size_t v = jute_vector_begin(&w);
    jute_write_ustring(&w, JUTE_STR("a"));
    jute_write_ustring(&w, JUTE_STR("b"));
    ck_assert_int_eq(jute_vector_end(&w, v, 2), JUTE_OK);
    ck_assert_int_eq(jute_packet_end(&w, m), JUTE_OK);
    static const uint8_t exp[] = { 0, 0, 0, 14, 0, 0, 0, 2, 0, 0, 0, 1, 'a',
                                   0, 0, 0, 1, 'b' };
    assert_bytes(&w, exp, sizeof exp);
    jute_writer_free(&w);
}
END_TEST

START_TEST(test_frame_check)
{
    size_t body = 0;
    ck_assert_int_eq(jute_frame_check("\0\0", 2, 100, &body), 0);
    ck_assert_int_eq(jute_frame_check("\0\0\0\x05" "abcd", 8, 100, &body), 0);
    ck_assert_int_eq(jute_frame_check("\0\0\0\x05" "abcde", 9, 100, &body), 1);
    ck_assert_uint_eq(body, 5);
    ck_assert_int_eq(jute_frame_check("\0\0\0\0", 4, 100, &body), 1);
    ck_assert_uint_eq(body, 0);
    ck_assert_int_eq(jute_frame_check("\xff\xff\xff\xff", 4, 100, &body),
                     JUTE_ELEN);
    ck_assert_int_eq(jute_frame_check("\0\0\0\x65", 4, 100, &body),
                     JUTE_ELEN);
    ck_assert_int_eq(jute_frame_check(NULL, 0, 100, &body), 0);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(jute_op_name(JUTE_OP_GETCHILDREN2), "getChildren2");
    ck_assert_str_eq(jute_op_name(JUTE_OP_WHOAMI), "whoAmI");
    ck_assert_str_eq(jute_op_name(JUTE_OP_CLOSESESSION), "closeSession");
    ck_assert_str_eq(jute_op_name(10), "unknown");
    ck_assert_str_eq(jute_err_name(JUTE_ZNONODE), "NONODE");
    ck_assert_str_eq(jute_err_name(-127), "THROTTLEDOP");
    ck_assert_str_eq(jute_err_name(-9999), "UNKNOWN");
    ck_assert_str_eq(jute_strerror(JUTE_ECOUNT), "JUTE_ECOUNT");
    ck_assert_str_eq(jute_strerror(42), "JUTE_?");
    ck_assert(jute_create_mode_valid(6));
    ck_assert(!jute_create_mode_valid(7));
    ck_assert(!jute_create_mode_valid(-1));
    ck_assert(jute_str_eq(jute_str(NULL), JUTE_NULL_STR));
    ck_assert(jute_str_eq(jute_str("ab"), JUTE_STR("ab")));
    ck_assert(!jute_str_eq(jute_str("ab"), JUTE_STR("ac")));
    ck_assert(!jute_str_eq(jute_str(""), JUTE_NULL_STR));
}
END_TEST

static Suite *jute_suite(void)
{
    Suite *s = suite_create("jute");
    TCase *tc = tcase_create("bytes");
    tcase_add_test(tc, test_stat_bytes);
    tcase_add_test(tc, test_connect_request_bytes);
    tcase_add_test(tc, test_connect_response_bytes);
    tcase_add_test(tc, test_create_request_bytes);
    tcase_add_test(tc, test_multi_request_bytes);
    tcase_add_test(tc, test_notification_bytes);
    tcase_add_test(tc, test_get_data_reply_bytes);
    tcase_add_test(tc, test_multi_response_bytes);
    tcase_add_test(tc, test_whoami_bytes);
    suite_add_tcase(s, tc);
    tc = tcase_create("round_trip");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip_requests);
    tcase_add_test(tc, test_round_trip_responses);
    tcase_add_test(tc, test_round_trip_all_request_types);
    suite_add_tcase(s, tc);
    tc = tcase_create("malformed");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_bad_lengths);
    tcase_add_test(tc, test_bad_vectors);
    tcase_add_test(tc, test_bad_multi);
    tcase_add_test(tc, test_request_types);
    tcase_add_test(tc, test_sticky_reader);
    suite_add_tcase(s, tc);
    tc = tcase_create("writer");
    tcase_add_test(tc, test_writer_limit);
    tcase_add_test(tc, test_incremental_vector);
    tcase_add_test(tc, test_frame_check);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jute_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
