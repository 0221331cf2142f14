/*
 * fuzz_decode.c -- libFuzzer target for the wire codec.
 *
 * The input is one frame.  zab__decode must never read out of bounds; when
 * it accepts the frame, encoding the decoded message must give back the
 * very same bytes, and the header checks (zab__header_check,
 * zab_frame_size, zab_frame_kind) must agree with the decoder.  A decoder
 * with a smaller maximum must refuse the frame.
 *
 *   make fuzz            (builds with clang -fsanitize=fuzzer,address,...)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "zab.h"

#define MAX_PAYLOAD 4096
#define MAX_FRAME (MAX_PAYLOAD + ZAB__FRAME_OVERHEAD)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            __builtin_trap();                                                \
        }                                                                    \
    } while (0)

/* ---- a node, only for zab_frame_size (never started) ------------------- */

static int s_send(void *ud, uint32_t p, const void *f, size_t n)
{
    (void)ud, (void)p, (void)f, (void)n;
    return 0;
}

static int s_append(void *ud, uint64_t z, const void *d, size_t n,
                    uint64_t t)
{
    (void)ud, (void)z, (void)d, (void)n, (void)t;
    return 0;
}

static int s_truncate(void *ud, uint64_t z, uint64_t t)
{
    (void)ud, (void)z, (void)t;
    return 0;
}

static int s_read(void *ud, uint64_t a, uint64_t *z, const void **d,
                  size_t *n)
{
    (void)ud, (void)a, (void)z, (void)d, (void)n;
    return ZAB_ENOENT;
}

static int s_save(void *ud, uint32_t a, uint32_t c, uint64_t t)
{
    (void)ud, (void)a, (void)c, (void)t;
    return 0;
}

static void s_deliver(void *ud, uint64_t z, const void *d, size_t n)
{
    (void)ud, (void)z, (void)d, (void)n;
}

static zab_t *node(void)
{
    static zab_t *z;
    if (z == NULL) {
        static const zab_host_ops_t ops = {.version = ZAB_HOST_OPS_VERSION,
                                           .send = s_send,
                                           .log_append = s_append,
                                           .log_truncate = s_truncate,
                                           .log_read = s_read,
                                           .save_epochs = s_save,
                                           .deliver = s_deliver};
        zab_config_t *cfg;
        CHECK(zab_config_new(&cfg) == 0);
        CHECK(zab_config_set_id(cfg, 1) == 0);
        CHECK(zab_config_add_voter(cfg, 1) == 0);
        CHECK(zab_config_add_voter(cfg, 2) == 0);
        CHECK(zab_config_set(cfg, ZAB_OPT_MAX_PAYLOAD_BYTES, MAX_PAYLOAD) ==
              0);
        CHECK(zab_new(cfg, &ops, NULL, &z) == 0);
        zab_config_free(cfg);
    }
    return z;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy, exactly `size` bytes, so that ASan sees any read
     * past the end. */
    uint8_t *f = malloc(size ? size : 1);
    if (f == NULL) {
        return 0;
    }
    if (size > 0) {
        memcpy(f, data, size);
    }
    zab__msg_t m;
    int rc = zab__decode(f, size, MAX_FRAME, &m);
    CHECK(rc == 0 || rc == ZAB_EPROTO);

    size_t announced = 0;
    int hrc = size >= ZAB__HEADER_SIZE
                  ? zab__header_check(f, MAX_FRAME, &announced)
                  : ZAB_EPROTO;
    CHECK(hrc == 0 || hrc == ZAB_EPROTO);
    size_t fs = 0;
    int frc = zab_frame_size(node(), f, size, &fs);
    if (size < ZAB_FRAME_HEADER_SIZE) {
        CHECK(frc == ZAB_EINVAL);
        CHECK(zab_frame_kind(f, size) == NULL);
    } else {
        CHECK(frc == hrc);
        CHECK(frc != 0 || fs == announced);
        CHECK(frc != 0 || (fs >= ZAB__HEADER_SIZE && fs <= MAX_FRAME));
    }

    if (rc == 0) {
        /* Accepted: the header agrees ... */
        CHECK(hrc == 0 && announced == size);
        CHECK(frc == 0 && fs == size);
        const char *kind = zab_frame_kind(f, size);
        CHECK(kind != NULL);
        CHECK(strcmp(kind, zab__kind_name(m.kind)) == 0);
        CHECK(zab__kind_from_name(kind) == m.kind);
        /* ... the fields are in range ... */
        CHECK(m.kind >= 1 && m.kind <= ZAB__KIND_MAX);
        if (m.kind == ZAB__VOTE) {
            CHECK(m.state <= 3);
        }
        if (m.kind == ZAB__ACKEPOCH) {
            CHECK(m.flags <= 1);
        }
        if (m.kind == ZAB__PROPOSAL || m.kind == ZAB__INFORM) {
            CHECK(ZAB_ZXID_COUNTER(m.zxid) != 0);
        }
        if (m.kind == ZAB__SNAP) {
            CHECK(m.offset <= m.total && m.len <= m.total - m.offset);
        }
        if (m.len > 0) {
            const uint8_t *d = m.data;
            CHECK(d >= f + ZAB__HEADER_SIZE && d + m.len == f + size);
        }
        /* ... re-encoding gives the same bytes ... */
        CHECK(zab__encoded_size(&m) == size);
        uint8_t *g = malloc(size);
        CHECK(g != NULL);
        CHECK(zab__encode(&m, g) == size);
        CHECK(memcmp(f, g, size) == 0);
        /* ... and decoding those gives the same message. */
        zab__msg_t m2;
        CHECK(zab__decode(g, size, MAX_FRAME, &m2) == 0);
        CHECK(m2.kind == m.kind && m2.zxid == m.zxid && m2.len == m.len &&
              m2.epoch == m.epoch && m2.round == m.round &&
              m2.total == m.total && m2.offset == m.offset &&
              m2.leader == m.leader && m2.state == m.state &&
              m2.flags == m.flags && m2.election_epoch == m.election_epoch);
        free(g);
        /* A node with a smaller maximum refuses it. */
        CHECK(zab__decode(f, size, size - 1, &m2) == ZAB_EPROTO);
        CHECK(zab__decode(f, size, size, &m2) == 0);
        /* Any strict prefix is refused. */
        CHECK(zab__decode(f, size - 1, MAX_FRAME, &m2) == ZAB_EPROTO);
    } else if (hrc == 0 && announced == size) {
        /* The header is fine but the body is not: the kind is still
         * named, for tracing. */
        CHECK(zab_frame_kind(f, size) != NULL);
    }
    free(f);
    return 0;
}
