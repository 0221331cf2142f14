/*
 * check_tls.c -- zabd's TLS layer (tls.c): contexts from the zoo.cfg
 * settings (PEM and PKCS12 key and trust stores, encrypted keys, password
 * files, cipher suites by Java name) and every start-up error message;
 * then connections over a non-blocking socketpair, driven as the event
 * loop drives them (read or write only when poll says the socket is
 * ready): the handshake both ways, 64 KB each way through small
 * reads and a small socket buffer (nothing may be left inside OpenSSL
 * where poll cannot see it), a client without a certificate, a
 * certificate from another CA, a host name that does not match, a
 * plaintext client on the TLS side, the end of the stream, and the epoll
 * interest a blocked direction asks for.
 *
 * The certificates are made by the openssl command in a mkdtemp()
 * directory, once for the suite.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cfg.h"
#include "tls.h"

/* ---- fixture: certificates, a log ------------------------------------ */

static char dir[64];
static char logbuf[16384];
static int nlog;

static void collect(void *ud, const char *line)
{
    (void)ud;
    size_t used = strlen(logbuf), n = strlen(line);
    nlog++;
    if (used + n + 2 < sizeof logbuf) {
        memcpy(logbuf + used, line, n);
        memcpy(logbuf + used + n, "\n", 2);
    }
}

static void clear_log(void)
{
    logbuf[0] = '\0';
    nlog = 0;
}

#define LOGGED(want)                                                        \
    ck_assert_msg(strstr(logbuf, want) != NULL, "log '%s' lacks '%s'",      \
                  logbuf, want)

/* Every file the tests use, made with the openssl command: two CAs, this
 * server (SAN 127.0.0.1 and localhost), a client, a rogue signed by the
 * other CA, an encrypted key, PKCS12 stores, broken stores. */
static const char gen_script[] =
    "set -e; cd '%s'\n"
    "q() { \"$@\" >/dev/null 2>&1; }\n"
    "ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
    "q openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 "
    "  -subj '/CN=test CA'\n"
    "q openssl req -x509 $ec -keyout ca2.key -out ca2.pem -days 2 "
    "  -subj '/CN=other CA'\n"
    "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n"
    "extendedKeyUsage=serverAuth,clientAuth\\n' > ext.cnf\n"
    "mk() { q openssl req $ec -keyout $1.key -out $1.csr -subj \"/CN=$1\"; "
    "  q openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key "
    "    -CAcreateserial -out $1.crt -days 2 -extfile ext.cnf; "
    "  cat $1.key $1.crt > $1.pem; }\n"
    "mk server ca; mk client ca; mk rogue ca2\n"
    "q openssl pkcs8 -topk8 -v2 aes-256-cbc -in server.key "
    "  -passout pass:secret -out enc.key\n"
    "cat enc.key server.crt > enc.pem\n"
    "cat server.crt > nokey.pem\n"
    "cat server.key > nocert.pem\n"
    "cat client.key server.crt > mismatch.pem\n"
    "printf 'secret\\n' > pw.txt\n"
    "q openssl pkcs12 -export -in server.crt -inkey server.key "
    "  -passout pass:p12pw -out server.p12\n"
    "q openssl pkcs12 -export -nokeys -in ca.pem -passout pass:trustpw "
    "  -out ca.p12\n"
    "printf 'not a store' > junk.p12\n";

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char sub[PATH_MAX];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void suite_setup(void)
{
    char cmd[sizeof gen_script + 64];
    signal(SIGPIPE, SIG_IGN); /* as zabd: a closed peer is an error code */
    snprintf(dir, sizeof dir, "/tmp/check_tls.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, gen_script, dir);
    ck_assert_msg(system(cmd) == 0, "making certificates with openssl failed");
}

static void suite_teardown(void)
{
    rm_rf(dir);
}

/* ---- settings and contexts --------------------------------------------- */

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

/* Settings of one side: key store `ks` (file name in the scratch
 * directory, PEM unless it ends in .p12), trust store `ts` (or NULL). */
static void settings(cfg_tls_t *t, const char *ks, const char *ts)
{
    memset(t, 0, sizeof *t);
    t->hostname_verification = 1;
    t->version_min = 12;
    t->version_max = 13;
    path_of(t->keystore, sizeof t->keystore, ks);
    t->keystore_type = strstr(ks, ".p12") ? CFG_STORE_PKCS12 : CFG_STORE_PEM;
    if (ts) {
        path_of(t->truststore, sizeof t->truststore, ts);
        t->truststore_type = strstr(ts, ".p12") ? CFG_STORE_PKCS12
                                                : CFG_STORE_PEM;
    }
}

static char err[1024];

static tls_ctx_t *ctx_ok(const cfg_tls_t *t)
{
    tls_ctx_t *ctx = NULL;
    int rc = tls_ctx_new(t, "ssl.", "client port", collect, NULL, &ctx, err,
                         sizeof err);
    ck_assert_msg(rc == 0, "tls_ctx_new: %s", err);
    ck_assert_ptr_nonnull(ctx);
    return ctx;
}

/* The context fails; err contains `want` (with "@D" for the directory). */
static void ctx_bad(const cfg_tls_t *t, const char *prefix, const char *want)
{
    tls_ctx_t *ctx = (tls_ctx_t *)1;
    char expect[1024];
    const char *at = strstr(want, "@D");
    if (at)
        snprintf(expect, sizeof expect, "%.*s%s%s", (int)(at - want), want,
                 dir, at + 2);
    else
        snprintf(expect, sizeof expect, "%s", want);
    ck_assert_int_eq(tls_ctx_new(t, prefix, "quorum port", collect, NULL,
                                 &ctx, err, sizeof err),
                     -1);
    ck_assert_ptr_null(ctx);
    ck_assert_msg(strstr(err, expect) != NULL, "got '%s', want '%s'", err,
                  expect);
}

START_TEST(test_stores)
{
    cfg_tls_t t;
    /* PEM key store and trust store. */
    settings(&t, "server.pem", "ca.pem");
    tls_ctx_free(ctx_ok(&t));
    /* No trust store (clientAuth=none on the client port). */
    settings(&t, "server.pem", NULL);
    t.client_auth = CFG_AUTH_NONE;
    tls_ctx_free(ctx_ok(&t));
    /* An encrypted key, its password inline or from a file whose one
     * trailing newline is not part of it. */
    settings(&t, "enc.pem", "ca.pem");
    snprintf(t.keystore_password, sizeof t.keystore_password, "secret");
    tls_ctx_free(ctx_ok(&t));
    settings(&t, "enc.pem", "ca.pem");
    snprintf(t.keystore_password, sizeof t.keystore_password, "ignored");
    path_of(t.keystore_password_path, sizeof t.keystore_password_path,
            "pw.txt");
    tls_ctx_free(ctx_ok(&t));
    /* PKCS12 stores. */
    settings(&t, "server.p12", "ca.p12");
    snprintf(t.keystore_password, sizeof t.keystore_password, "p12pw");
    snprintf(t.truststore_password, sizeof t.truststore_password,
             "trustpw");
    tls_ctx_free(ctx_ok(&t));
    tls_ctx_free(NULL);
    ck_assert_int_eq(tls_ctx_failures(NULL), 0);
}
END_TEST

START_TEST(test_store_errors)
{
    cfg_tls_t t;
    settings(&t, "nope.pem", "ca.pem");
    ctx_bad(&t, "ssl.quorum.",
            "ssl.quorum.keyStore.location: cannot read @D/nope.pem: No such "
            "file or directory");
    settings(&t, "nokey.pem", "ca.pem");
    ctx_bad(&t, "ssl.", "ssl.keyStore.location: no private key in "
                        "@D/nokey.pem (a PEM key store holds the private "
                        "key and the certificate chain)");
    settings(&t, "nocert.pem", "ca.pem");
    ctx_bad(&t, "ssl.", "ssl.keyStore.location: no certificate in "
                        "@D/nocert.pem");
    settings(&t, "enc.pem", "ca.pem");
    ctx_bad(&t, "ssl.", "ssl.keyStore.location: the private key in "
                        "@D/enc.pem is encrypted and ssl.keyStore.password "
                        "is not set");
    snprintf(t.keystore_password, sizeof t.keystore_password, "wrong");
    ctx_bad(&t, "ssl.", "ssl.keyStore.location: cannot decrypt the private "
                        "key in @D/enc.pem with ssl.keyStore.password "
                        "(wrong password?)");
    path_of(t.keystore_password_path, sizeof t.keystore_password_path,
            "nopw.txt");
    ctx_bad(&t, "ssl.", "ssl.keyStore.passwordPath: cannot read the "
                        "password file @D/nopw.txt: No such file");
    settings(&t, "mismatch.pem", "ca.pem");
    ctx_bad(&t, "ssl.", "ssl.keyStore.location: the private key in "
                        "@D/mismatch.pem does not belong to its first "
                        "certificate");
    settings(&t, "server.p12", "ca.pem");
    snprintf(t.keystore_password, sizeof t.keystore_password, "nope");
    ctx_bad(&t, "ssl.", "ssl.keyStore.location: wrong "
                        "ssl.keyStore.password for @D/server.p12");
    settings(&t, "junk.p12", "ca.pem");
    ctx_bad(&t, "ssl.", "ssl.keyStore.location: @D/junk.p12 is not a "
                        "PKCS12 file");
    settings(&t, "server.pem", "nope.pem");
    ctx_bad(&t, "ssl.quorum.", "ssl.quorum.trustStore.location: cannot "
                               "read @D/nope.pem: No such file");
    settings(&t, "server.pem", "nocert.pem");
    ctx_bad(&t, "ssl.", "ssl.trustStore.location: no certificate in "
                        "@D/nocert.pem");
    settings(&t, "server.pem", "ca.p12");
    ctx_bad(&t, "ssl.", "ssl.trustStore.location: wrong "
                        "ssl.trustStore.password for @D/ca.p12");
}
END_TEST

START_TEST(test_ciphers)
{
    cfg_tls_t t;
    settings(&t, "server.pem", "ca.pem");
    clear_log();
    snprintf(t.ciphersuites, sizeof t.ciphersuites,
             "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_NO_SUCH_SUITE, "
             "TLS_AES_128_GCM_SHA256");
    tls_ctx_free(ctx_ok(&t));
    ck_assert_int_eq(nlog, 1);
    LOGGED("warning: ssl.ciphersuites: TLS_NO_SUCH_SUITE is not a cipher "
           "suite OpenSSL knows; left out\n");
    /* TLS 1.3 suites only: TLS 1.2 is not offered. */
    clear_log();
    snprintf(t.ciphersuites, sizeof t.ciphersuites,
             "TLS_AES_256_GCM_SHA384");
    tls_ctx_free(ctx_ok(&t));
    LOGGED("warning: ssl.ciphersuites names no TLS 1.2 cipher suite: only "
           "TLS 1.3 is offered");
    /* ... which is refused when TLS 1.3 is not enabled. */
    t.version_max = 12;
    ctx_bad(&t, "ssl.", "ssl.ciphersuites: none of these cipher suites is "
                        "known to OpenSSL");
    t.version_max = 13;
    snprintf(t.ciphersuites, sizeof t.ciphersuites, "SSL_FOO,TLS_BAR");
    ctx_bad(&t, "ssl.", "ssl.ciphersuites: none of these cipher suites is "
                        "known to OpenSSL");
}
END_TEST

/* ---- connections ------------------------------------------------------- */

typedef struct pair {
    int fd[2];          /* [0] server side, [1] client side */
    tls_conn_t *t[2];
    tls_ctx_t *ctx[2];
    net_buf_t in[2], out[2];
    bool dead[2];
} pair_t;

static void pair_open(pair_t *p, const cfg_tls_t *srv, const cfg_tls_t *cli,
                      const char *host)
{
    memset(p, 0, sizeof *p);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
                                p->fd),
                     0);
    p->ctx[0] = ctx_ok(srv);
    p->ctx[1] = ctx_ok(cli);
    p->t[0] = tls_conn_new(p->ctx[0], p->fd[0], true, "client:1", NULL);
    p->t[1] = tls_conn_new(p->ctx[1], p->fd[1], false, "server:2", host);
    ck_assert_ptr_nonnull(p->t[0]);
    ck_assert_ptr_nonnull(p->t[1]);
}

static void pair_close(pair_t *p)
{
    for (int i = 0; i < 2; i++) {
        tls_conn_free(p->t[i]);
        close(p->fd[i]);
        tls_ctx_free(p->ctx[i]);
        net_buf_free(&p->in[i]);
        net_buf_free(&p->out[i]);
    }
}

/* One turn of an event loop over both ends: each end registers what
 * tls_events asks for (wanting to read always, to write when it has
 * output), and reads or writes only if poll reports its socket ready,
 * reading at most `max` bytes per call.  Returns the ends still alive. */
static int pair_turn(pair_t *p, size_t max)
{
    struct pollfd pf[2];
    int alive = 0;
    for (int i = 0; i < 2; i++) {
        uint32_t want = EPOLLIN | (net_buf_size(&p->out[i]) ? EPOLLOUT : 0);
        uint32_t ev = tls_events(p->t[i], want);
        pf[i].fd = p->dead[i] ? -1 : p->fd[i];
        pf[i].events = (short)(((ev & EPOLLIN) ? POLLIN : 0) |
                               ((ev & EPOLLOUT) ? POLLOUT : 0));
        pf[i].revents = 0;
    }
    /* Nothing ready means nothing ever will be: a byte stranded inside
     * OpenSSL, or an interest that waits for the wrong direction. */
    ck_assert_msg(poll(pf, 2, 2000) > 0, "stalled: nothing ready");
    for (int i = 0; i < 2; i++) {
        if (p->dead[i])
            continue;
        if (pf[i].revents) {
            /* As client_event: either direction may move on any event. */
            if (tls_read(p->t[i], &p->in[i], max) < 0 ||
                tls_write(p->t[i], &p->out[i]) != 0)
                p->dead[i] = true;
        }
        alive += !p->dead[i];
    }
    return alive;
}

static bool established(const pair_t *p)
{
    return tls_conn_established(p->t[0]) && tls_conn_established(p->t[1]);
}

/* Turns until both ends finished the handshake or one gave up. */
static void pair_handshake(pair_t *p)
{
    for (int i = 0; i < 50 && !established(p) && !p->dead[0] && !p->dead[1];
         i++)
        pair_turn(p, 4096);
}

static void fill(net_buf_t *b, size_t n, unsigned seed)
{
    ck_assert_int_eq(net_buf_reserve(b, n), 0);
    for (size_t i = 0; i < n; i++)
        b->p[b->len + i] = (uint8_t)(i * 31 + seed);
    b->len += n;
}

static void check_fill(const net_buf_t *b, size_t n, unsigned seed)
{
    ck_assert_uint_eq(net_buf_size(b), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(b->p[b->off + i], (uint8_t)(i * 31 + seed));
}

START_TEST(test_handshake_and_data)
{
    cfg_tls_t s, c;
    pair_t p;
    settings(&s, "server.pem", "ca.pem");
    settings(&c, "client.pem", "ca.pem");
    pair_open(&p, &s, &c, "127.0.0.1");
    /* Small socket buffers: writes block half way, records arrive in
     * pieces. */
    int small = 4096;
    for (int i = 0; i < 2; i++) {
        setsockopt(p.fd[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        setsockopt(p.fd[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    /* Output queued before the handshake waits for it (the peer HELLO). */
    fill(&p.out[1], 100, 7);
    pair_handshake(&p);
    ck_assert(established(&p));
    ck_assert(tls_conn_peer_matches(p.t[0], "127.0.0.1"));
    ck_assert(tls_conn_peer_matches(p.t[0], "localhost"));
    ck_assert(!tls_conn_peer_matches(p.t[0], "10.0.0.1"));
    ck_assert(!tls_conn_peer_matches(p.t[0], "zk1.example.com"));
    char desc[256];
    tls_conn_describe(p.t[0], desc, sizeof desc);
    ck_assert_msg(strstr(desc, "TLSv1.3 ") == desc &&
                      strstr(desc, "certificate /CN=client"),
                  "%s", desc);
    /* 64 KB each way (four records), read 333 bytes per call: everything
     * arrives although each call stops long before a record's end. */
    const size_t n = 64u << 10;
    fill(&p.out[0], n, 1);
    fill(&p.out[1], n, 2);
    for (int i = 0; i < 100000 && (net_buf_size(&p.in[0]) < n + 100 ||
                                   net_buf_size(&p.in[1]) < n);
         i++)
        ck_assert_int_eq(pair_turn(&p, 333), 2);
    check_fill(&p.in[1], n, 1);
    net_buf_consume(&p.in[0], 100);
    check_fill(&p.in[0], n, 2);
    ck_assert_int_eq(tls_ctx_failures(p.ctx[0]), 0);
    ck_assert_int_eq(tls_ctx_failures(p.ctx[1]), 0);
    /* A clean close: the other end reads the end of the stream (errno 0)
     * and logs nothing. */
    clear_log();
    tls_conn_free(p.t[1]);
    p.t[1] = NULL;
    close(p.fd[1]);
    p.fd[1] = -1;
    net_buf_t b = {0};
    errno = 0;
    ck_assert_int_eq(tls_read(p.t[0], &b, 4096), -1);
    ck_assert_int_eq(errno, 0);
    ck_assert_int_eq(nlog, 0);
    /* Once broken, the interest asks to be called at once. */
    ck_assert_uint_eq(tls_events(p.t[0], EPOLLIN), EPOLLIN | EPOLLOUT);
    net_buf_free(&b);
    pair_close(&p);
}
END_TEST

START_TEST(test_tls12)
{
    cfg_tls_t s, c;
    pair_t p;
    settings(&s, "server.pem", "ca.pem");
    settings(&c, "client.pem", "ca.pem");
    c.version_max = 12;
    pair_open(&p, &s, &c, "localhost");
    pair_handshake(&p);
    ck_assert(established(&p));
    char desc[256];
    tls_conn_describe(p.t[1], desc, sizeof desc);
    ck_assert_msg(strstr(desc, "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256") ==
                      desc,
                  "%s", desc);
    pair_close(&p);
}
END_TEST

/* The handshake fails on the server side (counted, logged with why) and
 * the client end gives up too. */
static void expect_refused(pair_t *p, int side, const char *why)
{
    clear_log();
    pair_handshake(p);
    for (int i = 0; i < 20 && !(p->dead[0] && p->dead[1]); i++)
        pair_turn(p, 4096);
    ck_assert(p->dead[0] && p->dead[1]);
    ck_assert_int_eq(tls_ctx_failures(p->ctx[side]), 1);
    LOGGED(why);
}

START_TEST(test_client_without_certificate)
{
    cfg_tls_t s, c;
    pair_t p;
    settings(&s, "server.pem", "ca.pem");
    settings(&c, "client.pem", "ca.pem");
    pair_open(&p, &s, &c, "127.0.0.1");
    /* A client context with no certificate, made directly. */
    SSL_CTX *bare = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(bare);
    tls_conn_free(p.t[1]);
    SSL_set_fd(ssl, p.fd[1]);
    SSL_set_connect_state(ssl);
    clear_log();
    for (int i = 0; i < 50 && !p.dead[0]; i++) {
        SSL_do_handshake(ssl);
        SSL_read(ssl, err, 1);
        net_buf_t b = {0};
        if (tls_read(p.t[0], &b, 100) < 0)
            p.dead[0] = true;
        net_buf_free(&b);
    }
    ck_assert(p.dead[0]);
    ck_assert_int_eq(tls_ctx_failures(p.ctx[0]), 1);
    LOGGED("TLS handshake with client:1 on the client port failed: peer did "
           "not return a certificate (1 failed so far)");
    SSL_free(ssl);
    SSL_CTX_free(bare);
    p.t[1] = NULL;
    pair_close(&p);
}
END_TEST

START_TEST(test_other_ca)
{
    cfg_tls_t s, c;
    pair_t p;
    settings(&s, "server.pem", "ca.pem");
    settings(&c, "rogue.pem", "ca.pem");
    pair_open(&p, &s, &c, "127.0.0.1");
    expect_refused(&p, 0, "TLS handshake with client:1 on the client port "
                          "failed: certificate verify failed (unable to get "
                          "local issuer certificate)");
    /* The rogue's end learns it from the alert (TLS 1.3: after its own
     * handshake was done), and counts it too. */
    ck_assert_int_eq(tls_ctx_failures(p.ctx[1]), 1);
    pair_close(&p);
}
END_TEST

START_TEST(test_host_mismatch)
{
    cfg_tls_t s, c;
    pair_t p;
    settings(&s, "server.pem", "ca.pem");
    settings(&c, "client.pem", "ca.pem");
    pair_open(&p, &s, &c, "10.1.2.3");
    expect_refused(&p, 1, "TLS handshake with server:2 on the client port "
                          "failed: certificate verify failed (IP address "
                          "mismatch)");
    pair_close(&p);
    /* Names are checked as names; without hostnameVerification, not at
     * all. */
    pair_open(&p, &s, &c, "zk9.example.com");
    expect_refused(&p, 1, "(hostname mismatch)");
    pair_close(&p);
    c.hostname_verification = 0;
    s.hostname_verification = 0;
    pair_open(&p, &s, &c, "zk9.example.com");
    pair_handshake(&p);
    ck_assert(established(&p));
    ck_assert(tls_conn_peer_matches(p.t[0], "zk9.example.com"));
    pair_close(&p);
}
END_TEST

START_TEST(test_plaintext_client)
{
    cfg_tls_t s, c;
    pair_t p;
    settings(&s, "server.pem", "ca.pem");
    settings(&c, "client.pem", "ca.pem");
    pair_open(&p, &s, &c, NULL);
    /* A ZooKeeper ConnectRequest's first bytes, in clear. */
    static const uint8_t hello[] = {0, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(write(p.fd[1], hello, sizeof hello), sizeof hello);
    net_buf_t b = {0};
    clear_log();
    errno = 0;
    ck_assert_int_eq(tls_read(p.t[0], &b, 100), -1);
    ck_assert_int_eq(errno, EPROTO);
    ck_assert_int_eq(tls_ctx_failures(p.ctx[0]), 1);
    LOGGED("TLS handshake with client:1 on the client port failed: ");
    /* Reported again, not re-counted. */
    ck_assert_int_eq(tls_write(p.t[0], &b), -1);
    ck_assert_int_eq(tls_ctx_failures(p.ctx[0]), 1);
    net_buf_free(&b);
    pair_close(&p);
}
END_TEST

START_TEST(test_events)
{
    cfg_tls_t s, c;
    pair_t p;
    settings(&s, "server.pem", "ca.pem");
    settings(&c, "client.pem", "ca.pem");
    pair_open(&p, &s, &c, NULL);
    /* Before anything: the server waits for the client's hello; the
     * client waits to be able to send it, even with nothing to send. */
    ck_assert_uint_eq(tls_events(p.t[0], EPOLLIN), EPOLLIN);
    ck_assert_uint_eq(tls_events(p.t[1], EPOLLIN), EPOLLOUT);
    ck_assert_uint_eq(tls_events(p.t[1], EPOLLIN | EPOLLOUT), EPOLLOUT);
    /* The client sent its hello and waits for the answer: it must not
     * wait for the socket to be writable, which it always is. */
    fill(&p.out[1], 10, 0);
    ck_assert_int_eq(tls_write(p.t[1], &p.out[1]), 0);
    ck_assert_uint_eq(net_buf_size(&p.out[1]), 10);
    ck_assert_uint_eq(tls_events(p.t[1], EPOLLIN | EPOLLOUT), EPOLLIN);
    ck_assert_uint_eq(tls_events(p.t[1], EPOLLOUT | EPOLLRDHUP),
                      EPOLLIN | EPOLLRDHUP);
    pair_close(&p);
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stores);
    tcase_add_test(tc, test_store_errors);
    tcase_add_test(tc, test_ciphers);
    tcase_add_test(tc, test_handshake_and_data);
    tcase_add_test(tc, test_tls12);
    tcase_add_test(tc, test_client_without_certificate);
    tcase_add_test(tc, test_other_ca);
    tcase_add_test(tc, test_host_mismatch);
    tcase_add_test(tc, test_plaintext_client);
    tcase_add_test(tc, test_events);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(tls_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
