/*
 * check_sasl.c -- SASL DIGEST-MD5 for zabd (sasl.c): the example exchange
 * of RFC 2831 section 4 byte for byte, the exchange as ZooKeeper runs it
 * (challenge format, authzid, ISO 8859-1 and UTF-8 hashing), every way a
 * response can be wrong, the directive parser (case, blanks, escapes,
 * unknown and repeated directives) and hostile input (every truncation
 * and byte mutation of a valid response, random bytes, oversized tokens),
 * and the users taken from the JAAS Server section and zoo.cfg settings.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sasl.h"

static char err[512];

typedef struct warns {
    int n;
    char text[8192];
} warns_t;
static warns_t warns;

static void collect(void *ud, const char *line)
{
    warns_t *w = ud;
    w->n++;
    size_t used = strlen(w->text), n = strlen(line);
    if (used + n + 2 < sizeof w->text) {
        memcpy(w->text + used, line, n);
        memcpy(w->text + used + n, "\n", 2);
    }
}

#define WARNED(want)                                                           \
    ck_assert_msg(strstr(warns.text, want) != NULL, "warnings '%s' lack '%s'", \
                  warns.text, want)

/* A server configuration from JAAS text (section "Server"). */
static sasl_server_t *users(const char *jaas_text)
{
    jaas_t j;
    sasl_server_t *s = NULL;
    ck_assert_int_eq(
        jaas_parse(jaas_text, strlen(jaas_text), "j.conf", &j, err, sizeof err),
        0);
    memset(&warns, 0, sizeof warns);
    int rc = sasl_server_from_jaas(&j, "j.conf", "Server", &s, err, sizeof err,
                                   collect, &warns);
    jaas_free(&j);
    ck_assert_msg(rc == 0, "unexpected error: %s", err);
    return s;
}

/* The error of a JAAS text that must be refused. */
#define REFUSED(jaas_text, want)                                               \
    do {                                                                       \
        jaas_t j_;                                                             \
        sasl_server_t *s_ = (sasl_server_t *)1;                                \
        ck_assert_int_eq(jaas_parse(jaas_text, strlen(jaas_text), "j.conf",    \
                                    &j_, err, sizeof err),                     \
                         0);                                                   \
        ck_assert_int_eq(sasl_server_from_jaas(&j_, "j.conf", "Server", &s_,   \
                                               err, sizeof err, NULL, NULL),   \
                         -1);                                                  \
        jaas_free(&j_);                                                        \
        ck_assert_ptr_null(s_);                                                \
        ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err,   \
                      want);                                                   \
    } while (0)

#define DIGEST "org.apache.zookeeper.server.auth.DigestLoginModule"

static const char zk_users[] =
    "Server { " DIGEST " required user_super=\"super_secret\" "
    "user_jaasuser=\"jaas_password\" user_j\xc3\xbcrgen=\"p\xc3\xa4ssword\" "
    "user_bob=\"\xe2\x82\xacuro\"; };";

/* One step; returns its result, the token in out (NUL-terminated). */
static int step(sasl_digest_t *d, const sasl_server_t *s, const char *in,
                const char *nonce, char out[SASL_TOKEN_MAX + 1],
                const char **why)
{
    size_t n = 99;
    int rc = sasl_digest_step(d, s, (const uint8_t *)in, strlen(in), nonce,
                              (uint8_t *)out, SASL_TOKEN_MAX, &n, why);
    ck_assert_uint_le(n, SASL_TOKEN_MAX - 1);
    out[n] = '\0';
    if (rc == SASL_EFAIL) {
        ck_assert_uint_eq(n, 0);
        ck_assert_str_ne(*why, "");
    }
    return rc;
}

/* ---- RFC 2831, section 4 ------------------------------------------------- */

static const char rfc_response[] =
    "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\","
    "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
    "digest-uri=\"imap/elwood.innosoft.com\","
    "response=d388dad90d4bbd760a152321f2143af7,qop=auth";

START_TEST(test_rfc2831_example)
{
    sasl_server_t *s = users("Server { " DIGEST " required "
                             "user_chris=\"secret\"; };");
    sasl_digest_t d;
    char out[SASL_TOKEN_MAX + 1];
    const char *why = NULL;
    sasl_digest_init(&d, "imap", "elwood.innosoft.com");
    ck_assert_int_eq(step(&d, s, "", "OA6MG9tEQGm2hh", out, &why),
                     SASL_CONTINUE);
    /* The JDK's challenge: no qop (auth is the default), utf-8. */
    ck_assert_str_eq(out, "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQ"
                          "Gm2hh\",charset=utf-8,algorithm=md5-sess");
    ck_assert_int_eq(step(&d, s, rfc_response, NULL, out, &why), SASL_OK);
    ck_assert_str_eq(out, "rspauth=ea40f60335c427b5527b84dbabcdfffd");
    ck_assert_str_eq(d.user, "chris");
    ck_assert_int_eq(d.step, SASL_STEP_DONE);
    /* Nothing more: the exchange is complete (ZooKeeper: AUTHFAILED). */
    ck_assert_int_eq(step(&d, s, "", NULL, out, &why), SASL_EFAIL);
    ck_assert_str_eq(why, "the SASL exchange is already complete");

    /* The response-value by itself. */
    sasl_digest_response_t r;
    ck_assert_int_eq(sasl_digest_parse((const uint8_t *)rfc_response,
                                       strlen(rfc_response), &r, &why),
                     0);
    ck_assert_str_eq(r.username.s, "chris");
    ck_assert_str_eq(r.digest_uri.s, "imap/elwood.innosoft.com");
    ck_assert_str_eq(r.charset.s, "utf-8");
    ck_assert(!r.authzid.set && !r.maxbuf.set && !r.cipher.set);
    char v[33];
    ck_assert_int_eq(sasl_digest_response_value(&r, "OA6MG9tEQGm2hh", "secret",
                                                "AUTHENTICATE", v),
                     0);
    ck_assert_str_eq(v, "d388dad90d4bbd760a152321f2143af7");
    ck_assert_int_eq(
        sasl_digest_response_value(&r, "OA6MG9tEQGm2hh", "secret", "", v), 0);
    ck_assert_str_eq(v, "ea40f60335c427b5527b84dbabcdfffd");
    sasl_server_free(s);
}
END_TEST

/* ---- as ZooKeeper -------------------------------------------------------- */

#define NONCE "OA6MG9tEQGm2hh"

/* A response for the zookeeper/zk-sasl-md5 exchange (cnonce
 * OA6MHXh6VqTrRk) with `extra` directives appended. */
static void zk_response(char *buf, size_t cap, const char *user,
                        const char *response, const char *extra)
{
    snprintf(buf, cap,
             "username=\"%s\",realm=\"zk-sasl-md5\",nonce=\"" NONCE "\","
             "cnonce=\"OA6MHXh6VqTrRk\",nc=00000001,qop=auth,"
             "digest-uri=\"zookeeper/zk-sasl-md5\",response=%s%s",
             user, response, extra);
}

/* The valid response of user jaasuser for nonce NONCE (computed with
 * Python's hashlib from RFC 2831's formulas), and its rspauth. */
#define JAASUSER_RESPONSE "b0c76e9ae0974fc98c918431bf931ff0"
#define JAASUSER_RSPAUTH "rspauth=17eb1283d2f243987b228884466ddb48"

static int exchange(const sasl_server_t *s, const char *response,
                    char out[SASL_TOKEN_MAX + 1], const char **why,
                    sasl_digest_t *d)
{
    sasl_digest_init(d, SASL_SERVICE, SASL_SERVER_NAME);
    ck_assert_int_eq(step(d, s, "", NONCE, out, why), SASL_CONTINUE);
    return step(d, s, response, NULL, out, why);
}

START_TEST(test_zookeeper_exchange)
{
    sasl_server_t *s = users(zk_users);
    sasl_digest_t d;
    char out[SASL_TOKEN_MAX + 1], resp[1024];
    const char *why = NULL;
    sasl_digest_init(&d, SASL_SERVICE, SASL_SERVER_NAME);
    ck_assert_int_eq(step(&d, s, "", NONCE, out, &why), SASL_CONTINUE);
    ck_assert_str_eq(out, "realm=\"zk-sasl-md5\",nonce=\"" NONCE "\","
                          "charset=utf-8,algorithm=md5-sess");
    zk_response(resp, sizeof resp, "jaasuser", JAASUSER_RESPONSE, "");
    ck_assert_int_eq(step(&d, s, resp, NULL, out, &why), SASL_OK);
    ck_assert_str_eq(out, JAASUSER_RSPAUTH);
    ck_assert_str_eq(d.user, "jaasuser");

    /* A non-empty first token is ignored, as the JDK does. */
    sasl_digest_init(&d, SASL_SERVICE, SASL_SERVER_NAME);
    ck_assert_int_eq(step(&d, s, "hello", NONCE, out, &why), SASL_CONTINUE);
    ck_assert_int_eq(step(&d, s, resp, NULL, out, &why), SASL_OK);

    /* An authzid is part of A1; the identity stays the user name. */
    zk_response(resp, sizeof resp, "jaasuser",
                "e2c692a822414c8498303852673df805", ",authzid=\"someone\"");
    ck_assert_int_eq(exchange(s, resp, out, &why, &d), SASL_OK);
    ck_assert_str_eq(d.user, "jaasuser");

    /* ISO 8859-1: "jürgen" / "pässword" hashed as Latin-1 bytes. */
    zk_response(resp, sizeof resp, "j\xc3\xbcrgen",
                "f66e146c407c63db21c607d66e7b5f4c", ",charset=utf-8");
    ck_assert_int_eq(exchange(s, resp, out, &why, &d), SASL_OK);
    ck_assert_str_eq(d.user, "j\xc3\xbcrgen");
    /* Beyond Latin-1 ("€uro"): the UTF-8 bytes themselves. */
    zk_response(resp, sizeof resp, "bob", "c9f749c5b8f83fb8cb7decd2615f1084",
                "");
    ck_assert_int_eq(exchange(s, resp, out, &why, &d), SASL_OK);

    /* Directive names in any case, blanks and empty elements around,
     * quoted values where tokens would do, unknown directives, and a
     * digest-uri that differs in case only: accepted, and hashed as sent
     * (DigestMD5Server keeps the client's spelling). */
    const char *loose =
        " ,, USERNAME = \"jaasuser\" ,\r\n\tRealm=zk-sasl-md5 , "
        "Nonce=\"" NONCE "\", cnonce = OA6MHXh6VqTrRk , NC=\"00000001\""
        " QOP=\"auth\" x-unknown=\"a,b\" Digest-URI=\"ZooKeeper/ZK-SASL-MD5\""
        ",maxbuf=65536,cipher=rc4,auth-param=x,response="
        "ebde86ce478dcbf2e343da6db38f6c83,,";
    ck_assert_int_eq(exchange(s, loose, out, &why, &d), SASL_OK);
    ck_assert_str_eq(out, "rspauth=b6b5321d15ba9181ba1e345aed228778");
    sasl_server_free(s);
}
END_TEST

START_TEST(test_random_nonce)
{
    sasl_server_t *s = users(zk_users);
    sasl_digest_t a, b;
    char out[SASL_TOKEN_MAX + 1];
    const char *why;
    sasl_digest_init(&a, SASL_SERVICE, SASL_SERVER_NAME);
    sasl_digest_init(&b, SASL_SERVICE, SASL_SERVER_NAME);
    ck_assert_int_eq(step(&a, s, "", NULL, out, &why), SASL_CONTINUE);
    ck_assert_int_eq(step(&b, s, "", NULL, out, &why), SASL_CONTINUE);
    ck_assert_uint_eq(strlen(a.nonce), SASL_NONCE_LEN);
    ck_assert_str_ne(a.nonce, b.nonce);
    ck_assert_ptr_nonnull(strstr(out, b.nonce));
    /* Test nonces must be printable and unquoted. */
    sasl_digest_init(&a, SASL_SERVICE, SASL_SERVER_NAME);
    ck_assert_int_eq(step(&a, s, "", "a\"b", out, &why), SASL_EFAIL);
    sasl_digest_init(&a, SASL_SERVICE, SASL_SERVER_NAME);
    ck_assert_int_eq(step(&a, s, "", "", out, &why), SASL_EFAIL);
    /* No room for the challenge. */
    sasl_digest_init(&a, SASL_SERVICE, SASL_SERVER_NAME);
    size_t n;
    ck_assert_int_eq(
        sasl_digest_step(&a, s, NULL, 0, NONCE, (uint8_t *)out, 20, &n, &why),
        SASL_EFAIL);
    sasl_server_free(s);
}
END_TEST

/* Every way a well-formed response is refused, with its reason. */
START_TEST(test_refused_responses)
{
    sasl_server_t *s = users(zk_users);
    sasl_digest_t d;
    char out[SASL_TOKEN_MAX + 1], resp[1024];
    const char *why;
    static const struct {
        const char *user, *response, *extra, *why;
    } cases[] = {
        {"jaasuser", "0123456789abcdef0123456789abcdef", "", "wrong password"},
        {"jaasuser", "B0C76E9AE0974FC98C918431BF931FF0", "",
         "wrong password"}, /* LHEX: lower case only, as the JDK */
        {"jaasuser", JAASUSER_RESPONSE "0", "", "malformed response"},
        {"nobody", JAASUSER_RESPONSE, "", "no such user"},
        {"JAASUSER", JAASUSER_RESPONSE, "", "no such user"},
        {"", JAASUSER_RESPONSE, "", "no username"},
        {"a\\\nb", JAASUSER_RESPONSE, "", "control characters"},
        {"\xc3\x28", JAASUSER_RESPONSE, "", "not UTF-8"},
        {"jaasuser", JAASUSER_RESPONSE, ",charset=iso-8859-1", "charset"},
        {"jaasuser", JAASUSER_RESPONSE, ",maxbuf=12x", "maxbuf"},
        {"jaasuser", JAASUSER_RESPONSE, ",maxbuf=99999999999", "maxbuf"},
        {"jaasuser", JAASUSER_RESPONSE, ",maxbuf=", "maxbuf"},
        {"jaasuser", JAASUSER_RESPONSE, ",username=x", "given twice"},
        {"jaasuser", JAASUSER_RESPONSE, ",NONCE=x", "given twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zk_response(resp, sizeof resp, cases[i].user, cases[i].response,
                    cases[i].extra);
        ck_assert_int_eq(exchange(s, resp, out, &why, &d), SASL_EFAIL);
        ck_assert_msg(strstr(why, cases[i].why) != NULL,
                      "case %zu: '%s', want '%s'", i, why, cases[i].why);
        ck_assert_int_eq(d.step, SASL_STEP_FAILED);
        /* After a failure the exchange stays failed. */
        zk_response(resp, sizeof resp, "jaasuser", JAASUSER_RESPONSE, "");
        ck_assert_int_eq(step(&d, s, resp, NULL, out, &why), SASL_EFAIL);
        ck_assert_str_eq(why, "the SASL exchange already failed");
    }
    /* Directives changed from the valid response, one at a time. */
    static const struct {
        const char *from, *to, *why;
    } edits[] = {
        {"realm=\"zk-sasl-md5\",", "", "realm"},
        {"realm=\"zk-sasl-md5\"", "realm=\"ZK-SASL-MD5\"", "realm"},
        {"nonce=\"" NONCE "\"", "nonce=\"" NONCE "x\"", "nonce"},
        {"nonce=\"" NONCE "\",", "", "nonce"},
        {"cnonce=\"OA6MHXh6VqTrRk\",", "", "no cnonce"},
        {"nc=00000001", "nc=00000002", "nc is not 00000001"},
        {"nc=00000001", "nc=1", "nc is not 00000001"},
        {"qop=auth", "qop=auth-int", "qop is not auth"},
        {"qop=auth", "qop=auth-conf", "qop is not auth"},
        {"digest-uri=\"zookeeper/zk-sasl-md5\"",
         "digest-uri=\"zookeeper/localhost\"", "digest-uri"},
        {"digest-uri=\"zookeeper/zk-sasl-md5\"",
         "digest-uri=\"zookeeper/zk-sasl-md5/x\"", "digest-uri"},
        {"digest-uri=\"zookeeper/zk-sasl-md5\"",
         "digest-uri=\"ldap/zk-sasl-md5\"", "digest-uri"},
        {"digest-uri=\"zookeeper/zk-sasl-md5\",", "", "digest-uri"},
        {"response=", "x-response=", "missing or malformed response"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char valid[1024];
        zk_response(valid, sizeof valid, "jaasuser", JAASUSER_RESPONSE, "");
        char *at = strstr(valid, edits[i].from);
        ck_assert_ptr_nonnull(at);
        snprintf(resp, sizeof resp, "%.*s%s%s", (int)(at - valid), valid,
                 edits[i].to, at + strlen(edits[i].from));
        ck_assert_int_eq(exchange(s, resp, out, &why, &d), SASL_EFAIL);
        ck_assert_msg(strstr(why, edits[i].why) != NULL,
                      "edit %zu: '%s', want '%s'", i, why, edits[i].why);
    }
    /* Without nc, the count is 00000001 (the JDK reads no "nc" at all). */
    zk_response(resp, sizeof resp, "jaasuser", JAASUSER_RESPONSE, "");
    char *nc = strstr(resp, "nc=00000001,");
    memmove(nc, nc + 12, strlen(nc + 12) + 1);
    ck_assert_int_eq(exchange(s, resp, out, &why, &d), SASL_OK);
    /* No room for rspauth. */
    zk_response(resp, sizeof resp, "jaasuser", JAASUSER_RESPONSE, "");
    sasl_digest_init(&d, SASL_SERVICE, SASL_SERVER_NAME);
    ck_assert_int_eq(step(&d, s, "", NONCE, out, &why), SASL_CONTINUE);
    size_t n;
    ck_assert_int_eq(sasl_digest_step(&d, s, (const uint8_t *)resp,
                                      strlen(resp), NULL, (uint8_t *)out, 12,
                                      &n, &why),
                     SASL_EFAIL);
    /* No users at all (no configuration). */
    zk_response(resp, sizeof resp, "jaasuser", JAASUSER_RESPONSE, "");
    ck_assert_int_eq(exchange(NULL, resp, out, &why, &d), SASL_EFAIL);
    ck_assert_str_eq(why, "no such user");
    sasl_server_free(s);
}
END_TEST

/* ---- the parser ---------------------------------------------------------- */

static int parse(const char *in, const char **why)
{
    static sasl_digest_response_t r;
    return sasl_digest_parse((const uint8_t *)in, strlen(in), &r, why);
}

START_TEST(test_parser)
{
    sasl_digest_response_t r;
    const char *why;
    const char *in = "username=\"a\\\"b\\\\c\\d\",realm=,authzid=\"\","
                     "x=\"ignored, with comma\",response=y";
    ck_assert_int_eq(
        sasl_digest_parse((const uint8_t *)in, strlen(in), &r, &why), 0);
    ck_assert_str_eq(r.username.s, "a\"b\\cd");
    ck_assert_uint_eq(r.username.len, 6);
    ck_assert(r.realm.set);
    ck_assert_str_eq(r.realm.s, "");
    ck_assert(r.authzid.set);
    ck_assert_uint_eq(r.authzid.len, 0);
    ck_assert_str_eq(r.response.s, "y");
    ck_assert(!r.nonce.set);
    /* Empty input, blanks and commas only: no directives. */
    ck_assert_int_eq(parse("", &why), 0);
    ck_assert_int_eq(parse(" ,\r\n, ", &why), 0);
    /* Malformed. */
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"=x", "without a name"},
        {"\"a\"=x", "without a name"},
        {"a", "'=' expected"},
        {"a b=c", "'=' expected"},
        {"a=\"x", "closing quote"},
        {"a=\"x\\", "closing quote"},
        {"a=\"x\"y", "',' expected after a quoted value"},
        {"a=x\"y", "quote inside an unquoted value"},
        {"username=a,username=b", "given twice"},
        {"UserName=a,username=b", "given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse(bad[i].in, &why), -1);
        ck_assert_msg(strstr(why, bad[i].why) != NULL, "'%s': '%s'", bad[i].in,
                      why);
    }
    /* NUL bytes, which the C strings could not carry. */
    const uint8_t nul1[] = "a=\"x\0y\"", nul2[] = "a=x\0y", nul3[] = "a\0=x";
    ck_assert_int_eq(sasl_digest_parse(nul1, sizeof nul1 - 1, &r, &why), -1);
    ck_assert_int_eq(sasl_digest_parse(nul2, sizeof nul2 - 1, &r, &why), -1);
    ck_assert_int_eq(sasl_digest_parse(nul3, sizeof nul3 - 1, &r, &why), -1);
    /* The longest token accepted, and one byte more. */
    uint8_t *big = malloc(SASL_TOKEN_MAX + 1);
    memcpy(big, "authzid=", 8);
    memset(big + 8, 'z', SASL_TOKEN_MAX - 8);
    ck_assert_int_eq(sasl_digest_parse(big, SASL_TOKEN_MAX, &r, &why), 0);
    ck_assert_uint_eq(r.authzid.len, SASL_TOKEN_MAX - 8);
    big[SASL_TOKEN_MAX] = 'z';
    ck_assert_int_eq(sasl_digest_parse(big, SASL_TOKEN_MAX + 1, &r, &why), -1);
    ck_assert_str_eq(why, "token longer than 4096 bytes");
    /* Twelve known directives, each as long as possible, fill the value
     * buffer to its bound. */
    static const char *const keys[] = {
        "username",   "realm",    "nonce",  "cnonce",  "nc",     "qop",
        "digest-uri", "response", "maxbuf", "charset", "cipher", "authzid"};
    size_t per = SASL_TOKEN_MAX / 12, off = 0;
    for (size_t k = 0; k < 12; k++) {
        size_t kl = strlen(keys[k]);
        memcpy(big + off, keys[k], kl);
        big[off + kl] = '=';
        memset(big + off + kl + 1, 'v', per - kl - 2);
        big[off + per - 1] = ',';
        off += per;
    }
    ck_assert_int_eq(sasl_digest_parse(big, off, &r, &why), 0);
    ck_assert(r.authzid.set && r.username.set);
    free(big);
    ck_assert_int_eq(sasl_digest_parse(NULL, 1, &r, &why), -1);
    ck_assert_int_eq(sasl_digest_parse(NULL, 0, &r, NULL), 0);
}
END_TEST

/* Hostile input: every truncation and every single-byte change of a
 * valid response, and random tokens, end the exchange cleanly. */
START_TEST(test_hostile_responses)
{
    sasl_server_t *s = users(zk_users);
    sasl_digest_t d;
    char out[SASL_TOKEN_MAX + 1], valid[1024];
    const char *why;
    zk_response(valid, sizeof valid, "jaasuser",
                "c484151caa2f19ecd58b05dd806b7499",
                ",charset=utf-8,authzid=\"jaasuser\"");
    size_t n = strlen(valid);
    uint8_t buf[1024];
    ck_assert_int_eq(exchange(s, valid, out, &why, &d), SASL_OK);
    for (size_t len = 0; len < n; len++) {
        sasl_digest_init(&d, SASL_SERVICE, SASL_SERVER_NAME);
        size_t o;
        ck_assert_int_eq(sasl_digest_step(&d, s, NULL, 0, NONCE, (uint8_t *)out,
                                          SASL_TOKEN_MAX, &o, &why),
                         SASL_CONTINUE);
        memcpy(buf, valid, len);
        ck_assert_int_eq(sasl_digest_step(&d, s, buf, len, NULL, (uint8_t *)out,
                                          SASL_TOKEN_MAX, &o, &why),
                         SASL_EFAIL);
    }
    static const uint8_t subst[] = {0, '"', '\\', ',', '=', ' ', 0xff, 'A'};
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(buf, valid, n);
            if (buf[i] == subst[k]) {
                continue;
            }
            buf[i] = subst[k];
            sasl_digest_init(&d, SASL_SERVICE, SASL_SERVER_NAME);
            size_t o;
            sasl_digest_step(&d, s, NULL, 0, NONCE, (uint8_t *)out,
                             SASL_TOKEN_MAX, &o, &why);
            int rc = sasl_digest_step(&d, s, buf, n, NULL, (uint8_t *)out,
                                      SASL_TOKEN_MAX, &o, &why);
            ck_assert(rc == SASL_OK || rc == SASL_EFAIL);
            ok += rc == SASL_OK;
        }
    }
    /* Only changes outside what is hashed or checked can pass: the case
     * of directive names and of digest-uri, blanks, the ignored charset
     * and such.  Far fewer than the changes tried. */
    ck_assert_uint_lt(ok, n);
    /* Random tokens (a fixed xorshift sequence). */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < 2000; t++) {
        size_t len = (size_t)(x % sizeof buf);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* Mostly the bytes of the grammar. */
            static const char alphabet[] = "\"\\=, ausernmqopcdi-x0";
            buf[i] = (x & 3)
                         ? (uint8_t)alphabet[(x >> 8) % (sizeof alphabet - 1)]
                         : (uint8_t)(x >> 16);
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sasl_digest_init(&d, SASL_SERVICE, SASL_SERVER_NAME);
        size_t o;
        sasl_digest_step(&d, s, buf, len, NONCE, (uint8_t *)out, SASL_TOKEN_MAX,
                         &o, &why);
        ck_assert_int_eq(sasl_digest_step(&d, s, buf, len, NULL, (uint8_t *)out,
                                          SASL_TOKEN_MAX, &o, &why),
                         SASL_EFAIL);
    }
    sasl_server_free(s);
}
END_TEST

/* ---- the users ----------------------------------------------------------- */

START_TEST(test_users_from_jaas)
{
    sasl_server_t *s =
        users("Client { " DIGEST " required username=\"u\" password=\"p\"; };\n"
              "Server {\n  " DIGEST " required user_a=\"1\" debug=\"true\";\n"
              "  " DIGEST " optional user_b=\"2\" user_a=\"3\";\n};\n");
    ck_assert_uint_eq(s->nusers, 2);
    /* A later user_a replaces the earlier one, as Java's HashMap.put. */
    ck_assert_str_eq(sasl_server_password(s, "a", 1), "3");
    ck_assert_str_eq(sasl_server_password(s, "b", 1), "2");
    ck_assert_ptr_null(sasl_server_password(s, "c", 1));
    ck_assert_ptr_null(sasl_server_password(s, "a", 0));
    ck_assert_ptr_null(sasl_server_password(s, "ab", 2));
    ck_assert_int_eq(warns.n, 1);
    WARNED("j.conf:3: note: option 'debug' of section 'Server' is not a "
           "user_NAME option; zabd does not use it");
    ck_assert(!sasl_server_is_super(s, "a"));
    sasl_server_free(s);
    sasl_server_free(NULL);

    /* The example of zabd.cfg(5) and zabd(8). */
    s = users("Server {\n"
              "    org.apache.zookeeper.server.auth.DigestLoginModule "
              "required\n    user_admin=\"admin-secret\"\n"
              "    user_app=\"app-secret\";\n};\n");
    ck_assert_str_eq(sasl_server_password(s, "app", 3), "app-secret");
    ck_assert_int_eq(warns.n, 0);
    sasl_server_free(s);

    REFUSED("Client { " DIGEST " required username=\"u\"; };",
            "j.conf: no section 'Server' (the section for the server, "
            "named by zookeeper.sasl.serverconfig); the file has 'Client'");
    REFUSED("", "the file is empty");
    REFUSED("Server { };", "j.conf:1: section 'Server' defines no user");
    REFUSED("Server { " DIGEST " required; };", "defines no user");
    REFUSED("Server { " DIGEST " required debug=\"x\"; };", "defines no user");
    REFUSED("Server {\n com.sun.security.auth.module.Krb5LoginModule "
            "required useKeyTab=true; };",
            "j.conf:2: section 'Server': Kerberos (GSSAPI, "
            "com.sun.security.auth.module.Krb5LoginModule) is not supported");
    REFUSED("Server {\n " DIGEST " required user_a=\"1\";\n x.Y required; };",
            "j.conf:3: section 'Server': login module 'x.Y' is not supported");
    REFUSED("Server {\n " DIGEST " required user_=\"1\"; };",
            "j.conf:2: option 'user_' names no user");
    REFUSED("Server { " DIGEST " required \"user_a\\nb\"=\"1\"; };",
            "a user name is 1 to 256 bytes of UTF-8 text");
    REFUSED("Server { " DIGEST " required user_\xff=\"1\"; };",
            "a user name is 1 to 256 bytes");
    REFUSED("Server { " DIGEST " required user_a=\"\\377\"; };",
            "option 'user_a': the password is not UTF-8");
    char big[600];
    snprintf(big, sizeof big, "Server { " DIGEST " required user_%0257d=x; };",
             0);
    big[strlen("Server { " DIGEST " required user_")] = 'a';
    REFUSED(big, "a user name is 1 to 256 bytes");
    /* 256 bytes is still a name. */
    snprintf(big, sizeof big, "Server { " DIGEST " required user_%0256d=x; };",
             0);
    big[strlen("Server { " DIGEST " required user_")] = 'a';
    sasl_server_free(users(big));
}
END_TEST

static char dir[] = "/tmp/check_sasl.XXXXXX";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_load_from_cfg)
{
    static cfg_t c;
    char path[128];
    sasl_server_t *s = (sasl_server_t *)1;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/jaas.conf", dir);

    /* SASL off: nothing loaded, SASL settings warned as useless. */
    cfg_default(&c);
    memset(&warns, 0, sizeof warns);
    ck_assert_int_eq(sasl_server_load(&c, &s, err, sizeof err, collect, &warns),
                     0);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(warns.n, 0);
    memcpy(c.super_users[0].key, "superUser", 10);
    memcpy(c.super_users[0].name, "admin", 6);
    c.nsuper_users = 1;
    memcpy(c.sasl_super_password, "pw", 3);
    memcpy(c.sasl_section, "Zk", 3);
    ck_assert_int_eq(sasl_server_load(&c, &s, err, sizeof err, collect, &warns),
                     0);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(warns.n, 3);
    WARNED("warning: superUser=admin has no effect: SASL is off");
    WARNED("warning: SASLAuthenticationProvider.superPassword has no effect");
    WARNED("warning: sasl.serverconfig has no effect");

    /* A missing file. */
    memcpy(c.jaas_path, path, strlen(path) + 1);
    ck_assert_int_eq(sasl_server_load(&c, &s, err, sizeof err, NULL, NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "jaas.conf: cannot open: No such file "
                                      "or directory (the JAAS file of "
                                      "java.security.auth.login.config)"));
    /* The section named by sasl.serverconfig. */
    write_file(path, "Server { " DIGEST " required user_x=\"1\"; };\n"
                     "Zk { " DIGEST " required user_admin=\"a\" "
                     "user_super=\"s\"; };");
    memset(&warns, 0, sizeof warns);
    ck_assert_int_eq(sasl_server_load(&c, &s, err, sizeof err, collect, &warns),
                     0);
    ck_assert_uint_eq(s->nusers, 2);
    ck_assert_ptr_null(sasl_server_password(s, "x", 1));
    /* superPassword replaces the password of the user "super". */
    ck_assert_str_eq(sasl_server_password(s, "super", 5), "pw");
    ck_assert(sasl_server_is_super(s, "admin"));
    ck_assert(!sasl_server_is_super(s, "super"));
    ck_assert(!sasl_server_is_super(s, ""));
    ck_assert(!sasl_server_is_super(s, NULL));
    ck_assert_int_eq(warns.n, 0);
    sasl_server_free(s);
    /* superUser.X names too; unknown users and a superPassword without
     * user_super are warned about. */
    memcpy(c.sasl_section, "Server", 7);
    memcpy(c.super_users[1].key, "superUser.2", 12);
    memcpy(c.super_users[1].name, "x", 2);
    c.nsuper_users = 2;
    memset(&warns, 0, sizeof warns);
    ck_assert_int_eq(sasl_server_load(&c, &s, err, sizeof err, collect, &warns),
                     0);
    ck_assert(sasl_server_is_super(s, "x"));
    ck_assert(sasl_server_is_super(s, "admin"));
    ck_assert_int_eq(warns.n, 2);
    WARNED("superPassword has no effect: section 'Server' of ");
    WARNED("warning: superUser: 'admin' is not a user of section 'Server'");
    sasl_server_free(s);
    /* A syntax error names the file and line. */
    write_file(path, "Server {\n " DIGEST " required user_x=1; };");
    ck_assert_int_eq(sasl_server_load(&c, &s, err, sizeof err, NULL, NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "jaas.conf:2: '1' starts like a number"));
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *sasl_suite(void)
{
    Suite *s = suite_create("sasl");
    TCase *tc = tcase_create("sasl");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rfc2831_example);
    tcase_add_test(tc, test_zookeeper_exchange);
    tcase_add_test(tc, test_random_nonce);
    tcase_add_test(tc, test_refused_responses);
    tcase_add_test(tc, test_parser);
    tcase_add_test(tc, test_hostile_responses);
    tcase_add_test(tc, test_users_from_jaas);
    tcase_add_test(tc, test_load_from_cfg);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(sasl_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
