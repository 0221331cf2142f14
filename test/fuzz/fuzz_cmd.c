/*
 * fuzz_cmd.c -- libFuzzer target for the replicated command codec
 * (examples/server/cmd.c, see cmd.h).  Every replica decodes every
 * committed command, so cmd_decode must refuse garbage cleanly (no crash,
 * no leak, nothing to free after a refusal) and must accept only canonical
 * encodings: whatever decodes re-encodes to exactly the input bytes, so
 * that a command means one thing on every member.
 *
 * The input is the encoded command itself (no selector byte), so that the
 * seeds in test/fuzz/corpus/cmd/ are real commands.
 *
 * Build and run:
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Iinclude -Iexamples/server -o /tmp/fuzz_cmd test/fuzz/fuzz_cmd.c \
 *       examples/server/cmd.c examples/server/acl.c -lcrypto
 *   /tmp/fuzz_cmd -max_total_time=60 -max_len=4096 test/fuzz/corpus/cmd
 *
 * The seeds in test/fuzz/corpus/cmd are cmd_encode outputs: a
 * createSession, an expiry (closeSession with no request), a client
 * closeSession, a create with an "ip" identity, a setData with ip and
 * digest identities, and a multi from a server whose id gives negative
 * session ids.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)         \
    do {                 \
        if (!(c))        \
            abort();     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of exactly `size` bytes: any read past the end is
     * caught, and the request pointer must point into it. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    cmd_t c;
    if (cmd_decode(buf, size, &c) != 0) {
        /* A refusal leaves nothing to free (and cmd_free is harmless). */
        CHECK(c.nids == 0);
        cmd_free(&c);
        free(buf);
        return 0;
    }
    CHECK(c.nids <= CMD_MAX_IDS);
    CHECK(c.request_len <= size);
    CHECK(c.request_len == 0 ||
          (c.request >= buf && c.request + c.request_len == buf + size));
    for (size_t i = 0; i < c.nids; i++) {
        CHECK(c.ids[i].scheme != NULL && c.ids[i].id != NULL);
        CHECK(strlen(c.ids[i].scheme) <= ACL_MAX_STR);
        CHECK(strlen(c.ids[i].id) <= ACL_MAX_STR);
    }

    /* encode . decode is the identity on accepted input. */
    uint8_t *again = NULL;
    size_t alen = 0;
    CHECK(cmd_encode(&c, &again, &alen) == 0);
    CHECK(alen == size);
    CHECK(memcmp(again, buf, size) == 0);

    /* And decode . encode on the re-encoding gives the same command. */
    cmd_t d;
    CHECK(cmd_decode(again, alen, &d) == 0);
    CHECK(d.origin == c.origin && d.incarnation == c.incarnation &&
          d.seq == c.seq && d.session == c.session && d.time == c.time &&
          d.type == c.type && d.arg == c.arg && d.nids == c.nids &&
          d.request_len == c.request_len);
    for (size_t i = 0; i < d.nids; i++) {
        CHECK(strcmp(d.ids[i].scheme, c.ids[i].scheme) == 0);
        CHECK(strcmp(d.ids[i].id, c.ids[i].id) == 0);
    }
    cmd_free(&d);
    cmd_free(&c);
    CHECK(c.nids == 0);
    free(again);
    free(buf);
    return 0;
}
