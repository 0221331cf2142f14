/*
 * fuzz_sasl.c -- libFuzzer target for zabd's SASL DIGEST-MD5 server
 * (examples/server/sasl.c) and its JAAS reader (examples/server/jaas.c).
 *
 * The first input byte picks what the rest is fed to:
 *   0   the digest-response parser: whatever parses must have every value
 *       inside the response's buffer, NUL-terminated, without NUL inside;
 *   1   a whole exchange as zabd runs it (fixed nonce, users jaasuser and
 *       j\xc3\xbcrgen): the challenge, then the input as the client's
 *       response -- it must fail, or authenticate a user whose password
 *       the fuzzer found, and any third token must fail;
 *   2   the JAAS parser, then the users of its Server section.
 * Nothing may crash, leak or read out of bounds (ASan/UBSan).
 *
 * Build (make fuzz does):
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Iinclude -Iexamples/server -o /tmp/fs test/fuzz/fuzz_sasl.c \
 *       examples/server/sasl.c examples/server/jaas.c -lcrypto
 * Seeds: test/fuzz/corpus/sasl.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

static const char users_jaas[] =
    "Server { org.apache.zookeeper.server.auth.DigestLoginModule required "
    "user_jaasuser=\"jaas_password\" user_j\xc3\xbcrgen=\"p\xc3\xa4ssword\"; "
    "};";

static sasl_server_t *server_users(void)
{
    static sasl_server_t *s;
    if (s == NULL) {
        jaas_t j;
        char err[256];
        CHECK(jaas_parse(users_jaas, strlen(users_jaas), "fuzz", &j, err,
                         sizeof err) == 0);
        CHECK(sasl_server_from_jaas(&j, "fuzz", "Server", &s, err, sizeof err,
                                    NULL, NULL) == 0);
        jaas_free(&j);
    }
    return s;
}

static void check_val(const sasl_digest_response_t *r, const sasl_val_t *v)
{
    if (!v->set) {
        return;
    }
    CHECK(v->s >= r->buf && v->s + v->len < r->buf + sizeof r->buf);
    CHECK(v->s[v->len] == '\0' && strlen(v->s) == v->len);
}

static void fuzz_parse(const uint8_t *p, size_t n)
{
    static sasl_digest_response_t r;
    const char *why = NULL;
    if (sasl_digest_parse(p, n, &r, &why) != 0) {
        CHECK(why != NULL && *why != '\0');
        return;
    }
    const sasl_val_t *all[] = {&r.username,   &r.realm,    &r.nonce,
                               &r.cnonce,     &r.nc,       &r.qop,
                               &r.digest_uri, &r.response, &r.maxbuf,
                               &r.charset,    &r.cipher,   &r.authzid};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        check_val(&r, all[i]);
    }
    if (r.username.set && r.cnonce.set && r.digest_uri.set) {
        char v[33];
        if (sasl_digest_response_value(&r, "nonce", "pw", "AUTHENTICATE", v) ==
            0) {
            CHECK(strlen(v) == 32);
        }
    }
}

static void fuzz_exchange(const uint8_t *p, size_t n)
{
    const sasl_server_t *s = server_users();
    sasl_digest_t d;
    uint8_t out[SASL_TOKEN_MAX];
    size_t len = 0;
    const char *why = NULL;
    sasl_digest_init(&d, SASL_SERVICE, SASL_SERVER_NAME);
    CHECK(sasl_digest_step(&d, s, NULL, 0, "OA6MG9tEQGm2hh", out, sizeof out,
                           &len, &why) == SASL_CONTINUE);
    int rc = sasl_digest_step(&d, s, p, n, NULL, out, sizeof out, &len, &why);
    CHECK(rc == SASL_OK || rc == SASL_EFAIL);
    if (rc == SASL_OK) {
        CHECK(len == 40 && memcmp(out, "rspauth=", 8) == 0);
        CHECK(sasl_server_password(s, d.user, strlen(d.user)) != NULL);
    } else {
        CHECK(len == 0 && why != NULL && *why != '\0');
    }
    CHECK(sasl_digest_step(&d, s, p, n, NULL, out, sizeof out, &len, &why) ==
          SASL_EFAIL);
}

static void fuzz_jaas(const uint8_t *p, size_t n)
{
    jaas_t j;
    char err[256];
    if (jaas_parse((const char *)p, n, "fuzz", &j, err, sizeof err) != 0) {
        CHECK(strlen(err) < sizeof err && strncmp(err, "fuzz:", 5) == 0);
        return;
    }
    sasl_server_t *s = NULL;
    if (sasl_server_from_jaas(&j, "fuzz", "Server", &s, err, sizeof err, NULL,
                              NULL) == 0) {
        CHECK(s != NULL && s->nusers > 0);
        for (size_t i = 0; i < s->nusers; i++) {
            const char *u = s->users[i].name;
            CHECK(*u != '\0' && strlen(u) <= SASL_NAME_MAX);
            CHECK(sasl_server_password(s, u, strlen(u)) != NULL);
        }
        sasl_server_free(s);
    } else {
        CHECK(s == NULL);
    }
    jaas_free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        fuzz_parse(data + 1, size - 1);
        break;
    case 1:
        fuzz_exchange(data + 1, size - 1);
        break;
    default:
        fuzz_jaas(data + 1, size - 1);
        break;
    }
    return 0;
}
