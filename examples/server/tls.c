/*
 * tls.c -- TLS on zabd's sockets with OpenSSL (see tls.h).
 *
 * The context follows Apache ZooKeeper 3.8's X509Util and
 * SSLContextAndOptions: a key store holding this server's private key and
 * certificate chain (PEMFileLoader: one PEM file, the key and then the
 * chain, leaf first; or PKCS12), a trust store of CA certificates whose
 * entries are all trust anchors (as Java's PKIX, hence
 * X509_V_FLAG_PARTIAL_CHAIN), clientAuth need/want/none, the enabled
 * protocol versions, and the cipher suites by their Java (IANA) names,
 * ZooKeeper's default list when none are given.  Client-initiated
 * renegotiation is refused, as ZooKeeper sets
 * jdk.tls.rejectClientInitiatedRenegotiation.
 *
 * Connections are driven by whoever reads or writes (see tls.h); this
 * file keeps, per direction, what OpenSSL last waited for.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define STORE_FILE_MAX (1u << 20) /* a key or trust store larger than this
                                     is refused: not a store */
#define PASSWORD_MAX 1024

/* What one direction of a connection last waited for. */
enum { WAIT_NONE = 0, WAIT_IN, WAIT_OUT };

struct tls_ctx {
    SSL_CTX *ssl;
    int client_auth;           /* enum cfg_client_auth */
    bool hostname_verification;
    const char *what;          /* "client port", "quorum port" */
    tls_log_fn log;
    void *ud;
    uint64_t failures;
};

struct tls_conn {
    tls_ctx_t *ctx;
    SSL *ssl;
    bool established;  /* handshake done */
    bool got_data;     /* application bytes arrived */
    bool broken;       /* fatal error or end of stream seen */
    int broken_errno;  /* what tls_read/tls_write report once broken */
    int rd_wait, wr_wait;
    char peer[80];
};

/* ZooKeeper's default cipher suites on Java 9 and later
 * (X509Util.DEFAULT_CIPHERS_JAVA9): ECDHE with AES-GCM, then AES-CBC. */
static const char *const zk_default_ciphers[] = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
};

/* ---- messages -------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void ctx_log(const tls_ctx_t *ctx, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!ctx->log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->log(ctx->ud, line);
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return -1;
}

/* OpenSSL's reason for the oldest error in the queue (the cause; later
 * entries say what it made fail), or `dflt`.  The queue is cleared. */
static const char *ssl_reason(const char *dflt)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : dflt;
}

/* ---- files ----------------------------------------------------------- */

/* The whole of a small file, NUL-terminated, in *out (malloc'd).  0 or an
 * errno value (EFBIG for a file too large to be a store). */
static int slurp(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno;
    char *buf = malloc(STORE_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return ENOMEM;
    }
    size_t n = fread(buf, 1, STORE_FILE_MAX + 1, f);
    int failed = ferror(f), e = errno;
    fclose(f);
    if (failed || n > STORE_FILE_MAX) {
        free(buf);
        return failed ? (e ? e : EIO) : EFBIG;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* The password of a store: the content of its passwordPath file if one
 * is given (without one trailing newline, as SecretUtils.readSecret),
 * else the password key.  0 or -1 with a message. */
static int store_password(const char *inline_pw, const char *path,
                          const char *path_key, char pw[PASSWORD_MAX],
                          char *err, size_t errlen)
{
    if (path[0] == '\0') {
        snprintf(pw, PASSWORD_MAX, "%s", inline_pw);
        return 0;
    }
    char *buf = NULL;
    size_t n = 0;
    int e = slurp(path, &buf, &n);
    if (e == 0 && n >= PASSWORD_MAX)
        e = EFBIG;
    if (e != 0) {
        free(buf);
        return fail(err, errlen, "%s: cannot read the password file %s: %s",
                    path_key, path, strerror(e));
    }
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    memcpy(pw, buf, n + 1);
    free(buf);
    return 0;
}

/* The PEM password callback: the configured password, or none (0), so
 * that OpenSSL never prompts on the terminal. */
static int password_cb(char *buf, int size, int rwflag, void *ud)
{
    const char *pw = ud;
    size_t n = pw ? strlen(pw) : 0;
    (void)rwflag;
    if (n == 0 || n > (size_t)size)
        return 0;
    memcpy(buf, pw, n);
    return (int)n;
}

/* ---- stores ---------------------------------------------------------- */

static void free_certs(STACK_OF(X509) *certs)
{
    sk_X509_pop_free(certs, X509_free);
}

/* Every certificate of a PEM text, in order (other blocks skipped). */
static STACK_OF(X509) *pem_certs(const char *text, size_t len)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    X509 *x;
    if (!certs || !bio) {
        sk_X509_free(certs);
        BIO_free(bio);
        return NULL;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            break;
        }
    }
    ERR_clear_error(); /* the end of the text reads as "no start line" */
    BIO_free(bio);
    return certs;
}

/* Why the private key of a PEM key store could not be read. */
static int pem_key_error(const char *text, const char *pw, const char *loc_key,
                         const char *pw_key, const char *path, char *err,
                         size_t errlen)
{
    if (!strstr(text, "PRIVATE KEY"))
        return fail(err, errlen,
                    "%s: no private key in %s (a PEM key store holds the "
                    "private key and the certificate chain)", loc_key, path);
    if (strstr(text, "ENCRYPTED") && pw[0] == '\0')
        return fail(err, errlen,
                    "%s: the private key in %s is encrypted and %s is not "
                    "set", loc_key, path, pw_key);
    if (strstr(text, "ENCRYPTED"))
        return fail(err, errlen,
                    "%s: cannot decrypt the private key in %s with %s "
                    "(wrong password?): %s", loc_key, path, pw_key,
                    ssl_reason("bad decrypt"));
    return fail(err, errlen, "%s: cannot read the private key in %s: %s",
                loc_key, path, ssl_reason("not a key"));
}

/* A PEM key store (PEMFileLoader): the private key, and the certificate
 * chain with the leaf first, in one file. */
static int read_pem_keystore(const char *text, size_t len, char *pw,
                             const char *loc_key, const char *pw_key,
                             const char *path, EVP_PKEY **key,
                             STACK_OF(X509) **chain, char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    if (!bio)
        return fail(err, errlen, "out of memory");
    ERR_clear_error();
    *key = PEM_read_bio_PrivateKey(bio, NULL, password_cb, pw);
    BIO_free(bio);
    if (!*key)
        return pem_key_error(text, pw, loc_key, pw_key, path, err, errlen);
    *chain = pem_certs(text, len);
    if (!*chain || sk_X509_num(*chain) == 0) {
        EVP_PKEY_free(*key);
        sk_X509_free(*chain);
        return fail(err, errlen,
                    "%s: no certificate in %s (a PEM key store holds the "
                    "private key and the certificate chain)", loc_key, path);
    }
    return 0;
}

static PKCS12 *read_pkcs12(const char *text, size_t len)
{
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    PKCS12 *p12 = bio ? d2i_PKCS12_bio(bio, NULL) : NULL;
    BIO_free(bio);
    return p12;
}

/* A PKCS12 file whose MAC the password opens (an empty password may
 * also mean none); NULL with a message naming the keys otherwise. */
static PKCS12 *open_pkcs12(const char *text, size_t len, const char *pw,
                           const char *loc_key, const char *pw_key,
                           const char *path, char *err, size_t errlen)
{
    PKCS12 *p12 = read_pkcs12(text, len);
    if (!p12) {
        fail(err, errlen, "%s: %s is not a PKCS12 file: %s", loc_key, path,
             ssl_reason("bad format"));
        return NULL;
    }
    if (!PKCS12_verify_mac(p12, pw, -1) &&
        !(pw[0] == '\0' && PKCS12_verify_mac(p12, NULL, 0))) {
        PKCS12_free(p12);
        fail(err, errlen, "%s: wrong %s for %s", loc_key, pw_key, path);
        return NULL;
    }
    return p12;
}

/* A PKCS12 key store: the key, its certificate, and the other
 * certificates as the rest of the chain. */
static int read_p12_keystore(const char *text, size_t len, const char *pw,
                             const char *loc_key, const char *pw_key,
                             const char *path, EVP_PKEY **key,
                             STACK_OF(X509) **chain, char *err, size_t errlen)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *rest = NULL;
    PKCS12 *p12 = open_pkcs12(text, len, pw, loc_key, pw_key, path, err,
                              errlen);
    if (!p12)
        return -1;
    int ok = PKCS12_parse(p12, pw, key, &leaf, &rest);
    PKCS12_free(p12);
    if (!ok)
        return fail(err, errlen, "%s: cannot read %s: %s", loc_key, path,
                    ssl_reason("bad PKCS12 file"));
    if (!*key || !leaf) {
        EVP_PKEY_free(*key);
        X509_free(leaf);
        free_certs(rest);
        return fail(err, errlen, "%s: no private key with its certificate "
                                 "in %s", loc_key, path);
    }
    *chain = rest ? rest : sk_X509_new_null();
    if (!*chain || !sk_X509_insert(*chain, leaf, 0)) {
        EVP_PKEY_free(*key);
        X509_free(leaf);
        free_certs(*chain);
        return fail(err, errlen, "out of memory");
    }
    return 0;
}

/* A warning when this server's own certificate is out of its validity
 * period: peers will refuse it, and the reason is better read here. */
static void check_validity(const tls_ctx_t *ctx, X509 *leaf,
                           const char *loc_key, const char *path)
{
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
        ctx_log(ctx, "warning: %s: the certificate in %s has expired",
                loc_key, path);
    else if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0)
        ctx_log(ctx, "warning: %s: the certificate in %s is not valid yet",
                loc_key, path);
}

static int use_keystore(tls_ctx_t *ctx, const cfg_tls_t *c,
                        const char *prefix, char *err, size_t errlen)
{
    char loc_key[64], pw_key[64], path_key[64], pw[PASSWORD_MAX];
    char *text = NULL;
    size_t len = 0;
    EVP_PKEY *key = NULL;
    STACK_OF(X509) *chain = NULL;
    snprintf(loc_key, sizeof loc_key, "%skeyStore.location", prefix);
    snprintf(pw_key, sizeof pw_key, "%skeyStore.password", prefix);
    snprintf(path_key, sizeof path_key, "%skeyStore.passwordPath", prefix);
    if (store_password(c->keystore_password, c->keystore_password_path,
                       path_key, pw, err, errlen) != 0)
        return -1;
    int e = slurp(c->keystore, &text, &len);
    if (e != 0)
        return fail(err, errlen, "%s: cannot read %s: %s", loc_key,
                    c->keystore, strerror(e));
    int rc = c->keystore_type == CFG_STORE_PKCS12
                 ? read_p12_keystore(text, len, pw, loc_key, pw_key,
                                     c->keystore, &key, &chain, err, errlen)
                 : read_pem_keystore(text, len, pw, loc_key, pw_key,
                                     c->keystore, &key, &chain, err, errlen);
    OPENSSL_cleanse(text, len);
    OPENSSL_cleanse(pw, sizeof pw);
    free(text);
    if (rc != 0)
        return -1;
    X509 *leaf = sk_X509_shift(chain);
    if (!X509_check_private_key(leaf, key)) {
        rc = fail(err, errlen,
                  "%s: the private key in %s does not belong to its first "
                  "certificate (the chain starts with this server's own "
                  "certificate)", loc_key, c->keystore);
    } else if (SSL_CTX_use_cert_and_key(ctx->ssl, leaf, key, chain, 1) != 1) {
        rc = fail(err, errlen, "%s: OpenSSL refuses the key or certificate "
                               "of %s: %s", loc_key, c->keystore,
                  ssl_reason("unusable"));
    } else {
        check_validity(ctx, leaf, loc_key, c->keystore);
    }
    X509_free(leaf);
    EVP_PKEY_free(key);
    free_certs(chain);
    return rc;
}

/* A PKCS12 trust store: its certificates (entries without a key, as
 * keytool writes trusted certificates, and any with one). */
static int read_p12_truststore(const char *text, size_t len, const char *pw,
                               const char *loc_key, const char *pw_key,
                               const char *path, STACK_OF(X509) **certs,
                               char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    PKCS12 *p12 = open_pkcs12(text, len, pw, loc_key, pw_key, path, err,
                              errlen);
    if (!p12)
        return -1;
    int ok = PKCS12_parse(p12, pw, &key, &cert, certs);
    PKCS12_free(p12);
    EVP_PKEY_free(key);
    if (!ok)
        return fail(err, errlen, "%s: cannot read %s: %s", loc_key, path,
                    ssl_reason("bad PKCS12 file"));
    if (!*certs)
        *certs = sk_X509_new_null();
    if (cert && (!*certs || !sk_X509_push(*certs, cert))) {
        X509_free(cert);
        return fail(err, errlen, "out of memory");
    }
    return *certs ? 0 : fail(err, errlen, "out of memory");
}

/* The certificates of a trust store, PEM or PKCS12. */
static int read_truststore(const cfg_tls_t *c, const char *prefix,
                           STACK_OF(X509) **certs, char *err, size_t errlen)
{
    char loc_key[64], pw_key[64], path_key[64], pw[PASSWORD_MAX];
    char *text = NULL;
    size_t len = 0;
    int rc;
    snprintf(loc_key, sizeof loc_key, "%strustStore.location", prefix);
    snprintf(pw_key, sizeof pw_key, "%strustStore.password", prefix);
    snprintf(path_key, sizeof path_key, "%strustStore.passwordPath", prefix);
    int e = slurp(c->truststore, &text, &len);
    if (e != 0)
        return fail(err, errlen, "%s: cannot read %s: %s", loc_key,
                    c->truststore, strerror(e));
    if (c->truststore_type != CFG_STORE_PKCS12) {
        *certs = pem_certs(text, len);
        rc = *certs ? 0 : fail(err, errlen, "out of memory");
    } else {
        rc = store_password(c->truststore_password,
                            c->truststore_password_path, path_key, pw, err,
                            errlen);
        if (rc == 0)
            rc = read_p12_truststore(text, len, pw, loc_key, pw_key,
                                     c->truststore, certs, err, errlen);
        OPENSSL_cleanse(pw, sizeof pw);
    }
    free(text);
    return rc;
}

/* Every certificate of the trust store is a trust anchor, and its name
 * goes in the server's certificate request (as Java's key manager picks
 * a client certificate by the issuers the server names). */
static int use_truststore(tls_ctx_t *ctx, const cfg_tls_t *c,
                          const char *prefix, char *err, size_t errlen)
{
    STACK_OF(X509) *certs = NULL;
    int rc = 0;
    if (read_truststore(c, prefix, &certs, err, errlen) != 0)
        return -1;
    if (sk_X509_num(certs) == 0)
        rc = fail(err, errlen, "%strustStore.location: no certificate in %s",
                  prefix, c->truststore);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx->ssl);
    for (int i = 0; rc == 0 && i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        if (!X509_STORE_add_cert(store, x) ||
            !SSL_CTX_add_client_CA(ctx->ssl, x))
            rc = fail(err, errlen, "%strustStore.location: %s: %s", prefix,
                      c->truststore, ssl_reason("cannot add a certificate"));
    }
    free_certs(certs);
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx->ssl),
                                X509_V_FLAG_PARTIAL_CHAIN);
    return rc;
}

/* ---- protocol versions and cipher suites ------------------------------ */

/* Appends name to a ':'-separated list; -1 when it does not fit. */
static int list_add(char *list, size_t size, const char *name)
{
    size_t used = strlen(list), n = strlen(name);
    if (used + n + 2 > size)
        return -1;
    if (used)
        list[used++] = ':';
    memcpy(list + used, name, n + 1);
    return 0;
}

/* The OpenSSL cipher of a Java (IANA) name, or NULL. */
static const SSL_CIPHER *cipher_by_name(STACK_OF(SSL_CIPHER) *all,
                                        const char *name)
{
    for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
        const char *std = SSL_CIPHER_standard_name(c);
        if (std && strcmp(std, name) == 0)
            return c;
    }
    return NULL;
}

/* Sorts the Java names of `names` (n of them) into OpenSSL's TLS 1.2
 * cipher list and TLS 1.3 suite list; unknown names are warned about. */
static int map_ciphers(tls_ctx_t *ctx, const char *key,
                       const char *const *names, size_t n, char *l12,
                       char *l13, size_t size)
{
    /* Every cipher this OpenSSL has, to look the names up in. */
    if (!SSL_CTX_set_cipher_list(ctx->ssl, "ALL:COMPLEMENTOFALL"))
        return -1;
    STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(ctx->ssl);
    l12[0] = l13[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const SSL_CIPHER *c = cipher_by_name(all, names[i]);
        if (!c) {
            ctx_log(ctx, "warning: %s: %s is not a cipher suite OpenSSL "
                         "knows; left out", key, names[i]);
            continue;
        }
        bool v13 = strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0;
        if (list_add(v13 ? l13 : l12, size,
                     v13 ? names[i] : SSL_CIPHER_get_name(c)) != 0)
            return -1;
    }
    return 0;
}

/* ssl.ciphersuites (comma-separated Java names) or ZooKeeper's default
 * list.  TLS 1.3 suites keep OpenSSL's default (all strong) unless the
 * list names some; a list with no TLS 1.2 suite leaves TLS 1.3 alone. */
static int use_ciphers(tls_ctx_t *ctx, const cfg_tls_t *c, const char *prefix,
                       int *version_min, int version_max, char *err,
                       size_t errlen)
{
    char key[64], buf[sizeof c->ciphersuites];
    const char *names[256];
    size_t n = 0;
    char l12[8192], l13[8192];
    snprintf(key, sizeof key, "%sciphersuites", prefix);
    if (c->ciphersuites[0] == '\0') {
        n = sizeof zk_default_ciphers / sizeof *zk_default_ciphers;
        memcpy(names, zk_default_ciphers, sizeof zk_default_ciphers);
    } else {
        memcpy(buf, c->ciphersuites, sizeof buf);
        for (char *save = NULL, *w = strtok_r(buf, ", \t", &save);
             w && n < sizeof names / sizeof *names;
             w = strtok_r(NULL, ", \t", &save))
            names[n++] = w;
    }
    if (map_ciphers(ctx, key, names, n, l12, l13, sizeof l13) != 0)
        return fail(err, errlen, "%s: too many cipher suites", key);
    if (l13[0] && !SSL_CTX_set_ciphersuites(ctx->ssl, l13))
        return fail(err, errlen, "%s: %s", key, ssl_reason("refused"));
    if (l12[0]) {
        if (!SSL_CTX_set_cipher_list(ctx->ssl, l12))
            return fail(err, errlen, "%s: %s", key, ssl_reason("refused"));
        return 0;
    }
    if (version_max < 13 || l13[0] == '\0')
        return fail(err, errlen,
                    "%s: none of these cipher suites is known to OpenSSL "
                    "(Java names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)",
                    key);
    if (*version_min < 13)
        ctx_log(ctx, "warning: %s names no TLS 1.2 cipher suite: only TLS "
                     "1.3 is offered", key);
    *version_min = 13;
    return 0;
}

static int use_versions(tls_ctx_t *ctx, int min, int max, char *err,
                        size_t errlen)
{
    if (!SSL_CTX_set_min_proto_version(ctx->ssl, min == 13 ? TLS1_3_VERSION
                                                           : TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx->ssl, max == 13 ? TLS1_3_VERSION
                                                           : TLS1_2_VERSION))
        return fail(err, errlen, "TLS versions: %s",
                    ssl_reason("not supported"));
    return 0;
}

/* ---- the context ------------------------------------------------------- */

int tls_ctx_new(const cfg_tls_t *cfg, const char *prefix, const char *what,
                tls_log_fn log, void *ud, tls_ctx_t **out, char *err,
                size_t errlen)
{
    static const unsigned char sid_ctx[] = "zabd";
    *out = NULL;
    tls_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return fail(err, errlen, "out of memory");
    ctx->client_auth = cfg->client_auth;
    ctx->hostname_verification = cfg->hostname_verification != 0;
    ctx->what = what;
    ctx->log = log;
    ctx->ud = ud;
    ERR_clear_error();
    ctx->ssl = SSL_CTX_new(TLS_method());
    if (!ctx->ssl) {
        free(ctx);
        return fail(err, errlen, "cannot make a TLS context: %s",
                    ssl_reason("out of memory"));
    }
    SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_RENEGOTIATION |
                                      SSL_OP_NO_COMPRESSION);
    /* Partial writes from a buffer that may move between retries (a
     * net_buf grows by realloc); buffers released while idle, so an idle
     * connection costs little. */
    SSL_CTX_set_mode(ctx->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                   SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                   SSL_MODE_RELEASE_BUFFERS);
    /* Resumed sessions of clients with certificates need a context. */
    SSL_CTX_set_session_id_context(ctx->ssl, sid_ctx, sizeof sid_ctx - 1);
    int min = cfg->version_min ? cfg->version_min : 12;
    int max = cfg->version_max ? cfg->version_max : 13;
    int rc = use_ciphers(ctx, cfg, prefix, &min, max, err, errlen);
    if (rc == 0)
        rc = use_versions(ctx, min, max, err, errlen);
    if (rc == 0)
        rc = use_keystore(ctx, cfg, prefix, err, errlen);
    if (rc == 0 && cfg->truststore[0])
        rc = use_truststore(ctx, cfg, prefix, err, errlen);
    if (rc != 0) {
        tls_ctx_free(ctx);
        return -1;
    }
    *out = ctx;
    return 0;
}

void tls_ctx_free(tls_ctx_t *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

uint64_t tls_ctx_failures(const tls_ctx_t *ctx)
{
    return ctx ? ctx->failures : 0;
}

/* ---- connections -------------------------------------------------------- */

static bool is_address(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 ||
           inet_pton(AF_INET6, host, a) == 1;
}

tls_conn_t *tls_conn_new(tls_ctx_t *ctx, int fd, bool accept,
                         const char *peer, const char *host)
{
    tls_conn_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ctx = ctx;
    snprintf(t->peer, sizeof t->peer, "%s", peer ? peer : "?");
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl);
    if (!t->ssl || !SSL_set_fd(t->ssl, fd)) {
        ERR_clear_error();
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    if (accept) {
        static const int modes[] = {
            [CFG_AUTH_NEED] = SSL_VERIFY_PEER |
                              SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
            [CFG_AUTH_WANT] = SSL_VERIFY_PEER,
            [CFG_AUTH_NONE] = SSL_VERIFY_NONE,
        };
        SSL_set_accept_state(t->ssl);
        SSL_set_verify(t->ssl, modes[ctx->client_auth], NULL);
        return t;
    }
    SSL_set_connect_state(t->ssl);
    SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
    /* The client speaks first: its handshake starts on a writable
     * socket, whether or not the caller has anything to send yet. */
    t->rd_wait = t->wr_wait = WAIT_OUT;
    int ok = 1;
    if (host && ctx->hostname_verification) {
        if (is_address(host)) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
        } else {
            ok = SSL_set1_host(t->ssl, host) &&
                 SSL_set_tlsext_host_name(t->ssl, host);
        }
    }
    if (!ok) {
        tls_conn_free(t);
        return NULL;
    }
    return t;
}

void tls_conn_free(tls_conn_t *t)
{
    if (!t)
        return;
    /* One close_notify, without waiting for the answer: the socket is
     * closed right after, as any TLS server does. */
    if (t->established && !t->broken) {
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    SSL_free(t->ssl);
    free(t);
}

bool tls_conn_established(const tls_conn_t *t)
{
    return t->established;
}

/* Why the last call failed, with the certificate check's verdict when
 * that is the cause. */
static void describe_failure(tls_conn_t *t, int ssl_err, int saved_errno,
                             char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    long v = SSL_get_verify_result(t->ssl);
    const char *why;
    if (e)
        why = ERR_reason_error_string(e);
    else if (ssl_err == SSL_ERROR_ZERO_RETURN)
        why = "closed by the peer";
    else if (ssl_err == SSL_ERROR_SYSCALL && saved_errno)
        why = strerror(saved_errno);
    else
        why = "connection closed by the peer";
    snprintf(buf, len, "%s", why ? why : "unknown error");
    if (v != X509_V_OK) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, " (%s)", X509_verify_cert_error_string(v));
    }
    ERR_clear_error();
}

/* A fatal error or the end of the stream: remembered, logged when it is
 * a TLS failure, counted when no application byte came before it (a
 * handshake failure, including a certificate refused by the other end
 * just after it, as TLS 1.3 reports it).  Returns -1. */
static int broken(tls_conn_t *t, int ssl_err)
{
    int saved = errno;
    char why[256];
    unsigned long code = ERR_peek_error();
    /* A TCP close without close_notify is how many clients leave (Python's
     * ssl, a killed process): an end of stream like any other once the
     * handshake is done.  ZooKeeper's framing detects a cut message. */
    bool eof = ssl_err == SSL_ERROR_ZERO_RETURN ||
               (ssl_err == SSL_ERROR_SYSCALL && code == 0 && saved == 0) ||
               (ERR_GET_LIB(code) == ERR_LIB_SSL &&
                ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    describe_failure(t, ssl_err, saved, why, sizeof why);
    t->broken = true;
    t->broken_errno = eof ? 0 : ssl_err == SSL_ERROR_SYSCALL && saved
                                    ? saved : EPROTO;
    if (!t->established || (!t->got_data && !eof)) {
        t->ctx->failures++;
        ctx_log(t->ctx, "TLS handshake with %s on the %s failed: %s "
                        "(%" PRIu64 " failed so far)", t->peer, t->ctx->what,
                why, t->ctx->failures);
    } else if (!eof && ssl_err == SSL_ERROR_SSL) {
        ctx_log(t->ctx, "TLS error on the connection with %s (%s): %s",
                t->peer, t->ctx->what, why);
    }
    errno = t->broken_errno;
    return -1;
}

/* One step of the handshake: 1 done, 0 waiting (rd_wait and wr_wait say
 * for what), -1 failed. */
static int handshake(tls_conn_t *t)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->established = true;
        t->rd_wait = t->wr_wait = WAIT_NONE;
        return 1;
    }
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        t->rd_wait = t->wr_wait = e == SSL_ERROR_WANT_READ ? WAIT_IN
                                                           : WAIT_OUT;
        return 0;
    }
    return broken(t, e);
}

/* 1 when the connection can carry data; otherwise what tls_read and
 * tls_write return: -1 (broken, errno set) or 0 (handshake under way). */
static int ready(tls_conn_t *t)
{
    if (t->broken) {
        errno = t->broken_errno;
        return -1;
    }
    if (!t->established) {
        int h = handshake(t);
        if (h <= 0)
            return h;
    }
    return 1;
}

long tls_read(tls_conn_t *t, net_buf_t *b, size_t max)
{
    int h = ready(t);
    if (h <= 0)
        return h;
    size_t total = 0;
    t->rd_wait = WAIT_NONE;
    /* Past `max` only while OpenSSL holds decrypted bytes of the record
     * just opened: those are not in the kernel any more, so no epoll
     * event would come for them. */
    while (total < max || SSL_pending(t->ssl) > 0) {
        size_t room = total < max ? max - total : (size_t)SSL_pending(t->ssl);
        if (room > INT_MAX)
            room = INT_MAX;
        if (net_buf_reserve(b, room) != 0) {
            errno = ENOMEM;
            return -1;
        }
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(t->ssl, b->p + b->len, (int)room);
        if (n > 0) {
            b->len += (size_t)n;
            total += (size_t)n;
            t->got_data = true;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            t->rd_wait = e == SSL_ERROR_WANT_READ ? WAIT_IN : WAIT_OUT;
            break;
        }
        int rc = broken(t, e);
        return total > 0 ? (long)total : rc;
    }
    return (long)total;
}

int tls_write(tls_conn_t *t, net_buf_t *b)
{
    int h = ready(t);
    if (h <= 0)
        return h;
    t->wr_wait = WAIT_NONE;
    while (net_buf_size(b) > 0) {
        size_t n = net_buf_size(b);
        ERR_clear_error();
        errno = 0;
        int w = SSL_write(t->ssl, b->p + b->off, n > INT_MAX ? INT_MAX
                                                            : (int)n);
        if (w > 0) {
            net_buf_consume(b, (size_t)w);
            continue;
        }
        int e = SSL_get_error(t->ssl, w);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            t->wr_wait = e == SSL_ERROR_WANT_READ ? WAIT_IN : WAIT_OUT;
            return 0;
        }
        return broken(t, e);
    }
    return 0;
}

static uint32_t wait_event(int wait, uint32_t dflt)
{
    return wait == WAIT_IN ? EPOLLIN : wait == WAIT_OUT ? EPOLLOUT : dflt;
}

uint32_t tls_events(const tls_conn_t *t, uint32_t want)
{
    uint32_t ev = want & ~(uint32_t)(EPOLLIN | EPOLLOUT);
    if (t->broken)
        return ev | EPOLLIN | EPOLLOUT;
    if (want & EPOLLIN)
        ev |= wait_event(t->rd_wait == WAIT_OUT ? WAIT_OUT : WAIT_IN, 0);
    if (want & EPOLLOUT)
        ev |= wait_event(t->wr_wait == WAIT_IN ? WAIT_IN : WAIT_OUT, 0);
    /* The handshake goes on whatever the caller wants. */
    if (!t->established)
        ev |= wait_event(t->rd_wait, EPOLLIN);
    return ev;
}

bool tls_conn_peer_matches(const tls_conn_t *t, const char *host)
{
    if (!t->ctx->hostname_verification)
        return true;
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (!cert)
        return t->ctx->client_auth != CFG_AUTH_NEED;
    if (is_address(host))
        return X509_check_ip_asc(cert, host, 0) == 1;
    return X509_check_host(cert, host, strlen(host), 0, NULL) == 1;
}

void tls_conn_describe(const tls_conn_t *t, char *buf, size_t len)
{
    char subject[256] = "none";
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (cert)
        X509_NAME_oneline(X509_get_subject_name(cert), subject,
                          sizeof subject);
    snprintf(buf, len, "%s %s, certificate %s", SSL_get_version(t->ssl),
             SSL_get_cipher_name(t->ssl), subject);
}
