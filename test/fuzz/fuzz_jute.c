/*
 * fuzz_jute.c -- libFuzzer target for the ZooKeeper client wire codec
 * (examples/server/jute.c, mirroring ZooKeeper's jute records).
 *
 * The first input byte picks a decoder (whole request packet, connect
 * request/response, multi / multiRead, multi response, single records,
 * framing); the rest is fed to it with small or default limits.  Whatever
 * decodes is walked with the vector / op iterators (which must yield
 * exactly `count` elements) and re-encoded; the encoding must decode again
 * and re-encode to the same bytes (encode . decode is idempotent; the
 * first encoding may differ from the input only where jute is lenient:
 * non-0/1 booleans, multi terminator fields, trailing bytes).
 *
 * Build:
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Iinclude -Iexamples/server -o /tmp/fj test/fuzz/fuzz_jute.c \
 *       examples/server/jute.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jute.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)         \
    do {                 \
        if (!(c))        \
            abort();     \
    } while (0)

static void walk_acl(const jute_aclvec_t *v)
{
    jute_iter_t it;
    jute_acl_t a;
    int32_t n = 0;
    jute_aclvec_iter(v, &it);
    while (jute_acl_next(&it, &a)) {
        CHECK(a.scheme.len >= -1 && a.id.len >= -1);
        n++;
    }
    CHECK(n == (v->count < 0 ? 0 : v->count));
}

static void walk_str(const jute_strvec_t *v)
{
    jute_iter_t it;
    jute_str_t s;
    int32_t n = 0;
    jute_strvec_iter(v, &it);
    while (jute_str_next(&it, &s))
        n++;
    CHECK(n == (v->count < 0 ? 0 : v->count));
}

static void walk_info(const jute_infovec_t *v)
{
    jute_iter_t it;
    jute_client_info_t c;
    int32_t n = 0;
    jute_infovec_iter(v, &it);
    while (jute_info_next(&it, &c))
        n++;
    CHECK(n == (v->count < 0 ? 0 : v->count));
}

static void walk_multi(const jute_multi_t *m)
{
    jute_iter_t it;
    jute_op_t op;
    int32_t n = 0;
    jute_multi_iter(m, &it);
    while (jute_op_next(&it, &op)) {
        if (op.type == JUTE_OP_CREATE || op.type == JUTE_OP_CREATE2 ||
            op.type == JUTE_OP_CREATETTL ||
            op.type == JUTE_OP_CREATECONTAINER)
            walk_acl(&op.u.create.acl);
        n++;
    }
    CHECK(n == m->count);
}

static void walk_multi_response(const jute_multi_response_t *m)
{
    jute_iter_t it;
    jute_op_result_t res;
    int32_t n = 0;
    jute_multi_response_iter(m, &it);
    while (jute_op_result_next(&it, &res)) {
        if (res.type == JUTE_OP_GETCHILDREN)
            walk_str(&res.children);
        n++;
    }
    CHECK(n == m->count);
}

static void walk_request(const jute_request_t *q)
{
    switch (q->hdr.type) {
    case JUTE_OP_CREATE: case JUTE_OP_CREATE2: case JUTE_OP_CREATECONTAINER:
    case JUTE_OP_CREATETTL:
        walk_acl(&q->u.create.acl);
        break;
    case JUTE_OP_SETACL:
        walk_acl(&q->u.set_acl.acl);
        break;
    case JUTE_OP_SETWATCHES: case JUTE_OP_SETWATCHES2:
        walk_str(&q->u.set_watches.data_watches);
        walk_str(&q->u.set_watches.exist_watches);
        walk_str(&q->u.set_watches.child_watches);
        walk_str(&q->u.set_watches.persistent_watches);
        walk_str(&q->u.set_watches.persistent_recursive_watches);
        break;
    case JUTE_OP_MULTI: case JUTE_OP_MULTIREAD:
        walk_multi(&q->u.multi);
        break;
    default:
        break;
    }
}

/* decode(in) is `*first`; check encode . decode is idempotent.  READ(r, out)
 * and WRITE(w, in) are the record's functions, bound by the macro. */
#define ROUND_TRIP(type, first, READ, WRITE)                                 \
    do {                                                                     \
        jute_writer_t w1, w2;                                                \
        jute_writer_init(&w1, 1u << 22);                                     \
        jute_writer_init(&w2, 1u << 22);                                     \
        if (WRITE(&w1, (first)) == JUTE_OK) {                                \
            jute_reader_t r2;                                                \
            type second;                                                     \
            jute_reader_init(&r2, w1.buf, w1.len, &lim);                     \
            CHECK(READ(&r2, &second) == JUTE_OK);                            \
            CHECK(jute_reader_remaining(&r2) == 0);                          \
            CHECK(WRITE(&w2, &second) == JUTE_OK);                           \
            CHECK(w1.len == w2.len);                                         \
            CHECK(w1.len == 0 || memcmp(w1.buf, w2.buf, w1.len) == 0);       \
        }                                                                    \
        jute_writer_free(&w1);                                               \
        jute_writer_free(&w2);                                               \
    } while (0)

#define SIMPLE(type, name)                                                   \
    do {                                                                     \
        type v;                                                              \
        if (jute_read_##name(&r, &v) == JUTE_OK)                             \
            ROUND_TRIP(type, &v, jute_read_##name, jute_write_##name);       \
    } while (0)

static int read_multi_w(jute_reader_t *r, jute_multi_t *m)
{
    return jute_read_multi(r, JUTE_OP_MULTI, m);
}

static int read_multi_r(jute_reader_t *r, jute_multi_t *m)
{
    return jute_read_multi(r, JUTE_OP_MULTIREAD, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;

    jute_limits_t lim;
    jute_limits_default(&lim);
    if (sel & 0x80) { /* small limits, to reach the limit checks */
        lim.max_buffer = 16;
        lim.max_acl = 2;
        lim.max_strings = 3;
        lim.max_ops = 3;
    }
    jute_reader_t r;
    jute_reader_init(&r, data, size, &lim);

    switch (sel & 0x7f) {
    case 0: {
        jute_request_t q;
        if (jute_read_request(&r, &q) == JUTE_OK) {
            walk_request(&q);
            ROUND_TRIP(jute_request_t, &q, jute_read_request,
                       jute_write_request);
        }
        break;
    }
    case 1: {
        jute_connect_request_t c;
        if (jute_read_connect_request(&r, &c) == JUTE_OK) {
            /* Only round-trip when nothing follows the readOnly byte. */
            if (jute_reader_remaining(&r) == 0)
                ROUND_TRIP(jute_connect_request_t, &c,
                           jute_read_connect_request,
                           jute_write_connect_request);
        }
        break;
    }
    case 2: {
        jute_connect_response_t c;
        if (jute_read_connect_response(&r, &c) == JUTE_OK &&
            jute_reader_remaining(&r) == 0)
            ROUND_TRIP(jute_connect_response_t, &c,
                       jute_read_connect_response,
                       jute_write_connect_response);
        break;
    }
    case 3: {
        jute_multi_t m;
        if (read_multi_w(&r, &m) == JUTE_OK) {
            walk_multi(&m);
            ROUND_TRIP(jute_multi_t, &m, read_multi_w, jute_write_multi);
        }
        break;
    }
    case 4: {
        jute_multi_t m;
        if (read_multi_r(&r, &m) == JUTE_OK) {
            walk_multi(&m);
            ROUND_TRIP(jute_multi_t, &m, read_multi_r, jute_write_multi);
        }
        break;
    }
    case 5: {
        jute_multi_response_t m;
        if (jute_read_multi_response(&r, &m) == JUTE_OK) {
            walk_multi_response(&m);
            ROUND_TRIP(jute_multi_response_t, &m, jute_read_multi_response,
                       jute_write_multi_response);
        }
        break;
    }
    case 6: SIMPLE(jute_create_request_t, create_ttl_request); break;
    case 7: SIMPLE(jute_set_watches_t, set_watches2); break;
    case 8: SIMPLE(jute_set_acl_request_t, set_acl_request); break;
    case 9: SIMPLE(jute_auth_packet_t, auth_packet); break;
    case 10: SIMPLE(jute_get_acl_response_t, get_acl_response); break;
    case 11: SIMPLE(jute_get_children2_response_t, get_children2_response);
        break;
    case 12: {
        jute_whoami_response_t v;
        if (jute_read_whoami_response(&r, &v) == JUTE_OK) {
            walk_info(&v.client_info);
            ROUND_TRIP(jute_whoami_response_t, &v, jute_read_whoami_response,
                       jute_write_whoami_response);
        }
        break;
    }
    case 13: SIMPLE(jute_watcher_event_t, watcher_event); break;
    case 14: SIMPLE(jute_reconfig_request_t, reconfig_request); break;
    case 15: SIMPLE(jute_get_data_response_t, get_data_response); break;
    case 16: {
        /* A stream of length-prefixed request packets. */
        size_t off = 0, body;
        while (jute_frame_check(data + off, size - off, lim.max_buffer,
                                &body) == 1) {
            jute_reader_t pr;
            jute_request_t q;
            jute_reader_init(&pr, data + off + 4, body, &lim);
            if (jute_read_request(&pr, &q) == JUTE_OK)
                walk_request(&q);
            off += 4 + body;
        }
        break;
    }
    default: {
        /* Primitive reads in sequence until the sticky error. */
        for (int i = 0; i < 64 && jute_reader_error(&r) == JUTE_OK; i++) {
            jute_str_t s;
            jute_buf_t b;
            jute_strvec_t sv;
            jute_stat_t st;
            switch ((sel + i) & 7) {
            case 0: (void)jute_read_int(&r); break;
            case 1: (void)jute_read_long(&r); break;
            case 2: (void)jute_read_bool(&r); break;
            case 3: jute_read_ustring(&r, &s); break;
            case 4: jute_read_buffer(&r, &b); break;
            case 5:
                if (jute_read_strvec(&r, &sv) == JUTE_OK)
                    walk_str(&sv);
                break;
            case 6: jute_read_stat(&r, &st); break;
            default: {
                jute_aclvec_t av;
                if (jute_read_aclvec(&r, &av) == JUTE_OK)
                    walk_acl(&av);
                break;
            }
            }
        }
        CHECK(jute_reader_error(&r) == JUTE_OK ||
              jute_reader_remaining(&r) == 0);
        break;
    }
    }
    return 0;
}
