/*
 * sasl.c -- DIGEST-MD5 (RFC 2831) for zabd's clients, server side, and
 * its users from the JAAS Server section (see sasl.h).
 *
 * Mirrors the JDK's com.sun.security.sasl.digest.DigestMD5Server as
 * ZooKeeper creates it (protocol "zookeeper", server name "zk-sasl-md5",
 * UTF-8, qop auth only) and ZooKeeper's SaslServerCallbackHandler and
 * ZooKeeperServer.processSasl.  Where the JDK throws an unchecked
 * exception on a malformed value (nonce-count, maxbuf) and ZooKeeper then
 * drops the connection without an answer, zabd fails the exchange like
 * any other bad response.
 */
#include "sasl.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__GNUC__) || defined(__clang__)
#define SASL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SASL_PRINTF(f, a)
#endif

#define NONCE_RAW 30 /* DigestMD5Base.RAW_NONCE_SIZE */
#define NC_ONE "00000001"
#define KRB5_MODULE "com.sun.security.auth.module.Krb5LoginModule"

/* ---- UTF-8 --------------------------------------------------------------- */

/* The code point at s[*i] (advancing *i), or -1 if the bytes there are
 * not well-formed UTF-8 (overlong forms, surrogates and values above
 * U+10FFFF included). */
static long utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char c = s[*i];
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    size_t more;
    long cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        more = 1, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        more = 2, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        more = 3, cp = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (n - *i <= more) {
        return -1;
    }
    for (size_t k = 1; k <= more; k++) {
        unsigned char d = s[*i + k];
        if ((d & 0xc0) != 0x80) {
            return -1;
        }
        cp = cp << 6 | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return -1;
    }
    *i += more + 1;
    return cp;
}

static bool utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (utf8_next((const unsigned char *)s, n, &i) < 0) {
            return false;
        }
    }
    return true;
}

/* The bytes the JDK hashes for a string (DigestMD5Base
 * .stringToByte_8859_1 with UTF-8 on): ISO 8859-1 when every character
 * is at most U+00FF, else the UTF-8 itself.  out has room for n bytes
 * (ISO 8859-1 is never longer).  The length, or -1 if s is not UTF-8. */
static long hash_bytes(const char *s, size_t n, unsigned char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, k = 0;
    while (i < n) {
        long cp = utf8_next(u, n, &i);
        if (cp < 0) {
            return -1;
        }
        if (cp > 0xff) {
            memcpy(out, s, n);
            return (long)n;
        }
        out[k++] = (unsigned char)cp;
    }
    return (long)k;
}

/* ---- MD5 ----------------------------------------------------------------- */

typedef struct md5 {
    EVP_MD_CTX *ctx;
    int ok;
} md5_t;

static void md5_begin(md5_t *m)
{
    m->ctx = EVP_MD_CTX_new();
    m->ok = m->ctx != NULL && EVP_DigestInit_ex(m->ctx, EVP_md5(), NULL) == 1;
}

static void md5_add(md5_t *m, const void *p, size_t n)
{
    if (m->ok && n > 0) {
        m->ok = EVP_DigestUpdate(m->ctx, p, n) == 1;
    }
}

static void md5_str(md5_t *m, const char *s)
{
    md5_add(m, s, strlen(s));
}

/* Finishes into out[16]; 0 or -1.  Frees the context either way. */
static int md5_end(md5_t *m, unsigned char out[16])
{
    unsigned int n = 0;
    int ok = m->ok && EVP_DigestFinal_ex(m->ctx, out, &n) == 1 && n == 16;
    EVP_MD_CTX_free(m->ctx);
    m->ctx = NULL;
    return ok ? 0 : -1;
}

static void to_hex(const unsigned char in[16], char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[32] = '\0';
}

/* ---- the digest-response ------------------------------------------------- */

static bool is_lws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The slot of directive key[0..n), or NULL for one we do not use. */
static sasl_val_t *slot_of(sasl_digest_response_t *r, const uint8_t *key,
                           size_t n)
{
    static const struct {
        const char *name;
        size_t offset;
    } names[] = {
        {"username", offsetof(sasl_digest_response_t, username)},
        {"realm", offsetof(sasl_digest_response_t, realm)},
        {"nonce", offsetof(sasl_digest_response_t, nonce)},
        {"cnonce", offsetof(sasl_digest_response_t, cnonce)},
        {"nc", offsetof(sasl_digest_response_t, nc)},
        {"qop", offsetof(sasl_digest_response_t, qop)},
        {"digest-uri", offsetof(sasl_digest_response_t, digest_uri)},
        {"response", offsetof(sasl_digest_response_t, response)},
        {"maxbuf", offsetof(sasl_digest_response_t, maxbuf)},
        {"charset", offsetof(sasl_digest_response_t, charset)},
        {"cipher", offsetof(sasl_digest_response_t, cipher)},
        {"authzid", offsetof(sasl_digest_response_t, authzid)},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == n &&
            strncasecmp(names[i].name, (const char *)key, n) == 0) {
            return (sasl_val_t *)(void *)((char *)r + names[i].offset);
        }
    }
    return NULL;
}

int sasl_digest_parse(const uint8_t *in, size_t len, sasl_digest_response_t *r,
                      const char **why)
{
    static const char *const no_why = "";
    const char *dummy;
    if (why == NULL) {
        why = &dummy;
    }
    *why = no_why;
    memset(r, 0, offsetof(sasl_digest_response_t, buf));
    r->buf[0] = '\0';
    if (len > SASL_TOKEN_MAX) {
        *why = "token longer than 4096 bytes";
        return -1;
    }
    if (in == NULL && len > 0) {
        *why = "no token";
        return -1;
    }
    /* Values are written at buf + used; a known directive keeps its
     * value (and NUL) there, an unknown one is overwritten by the next.
     * A value is never longer than its input and there are at most 12
     * known directives (no repeats), so used + value + NUL <= len + 13. */
    size_t i = 0, used = 0;
    for (;;) {
        while (i < len && (is_lws(in[i]) || in[i] == ',')) {
            i++;
        }
        if (i == len) {
            return 0;
        }
        size_t k0 = i;
        while (i < len && !is_lws(in[i]) && in[i] != '=' && in[i] != ',' &&
               in[i] != '"' && in[i] != '\0') {
            i++;
        }
        size_t klen = i - k0;
        if (klen == 0) {
            *why = "a directive without a name";
            return -1;
        }
        while (i < len && is_lws(in[i])) {
            i++;
        }
        if (i == len || in[i] != '=') {
            *why = "'=' expected after a directive name";
            return -1;
        }
        i++;
        while (i < len && is_lws(in[i])) {
            i++;
        }
        sasl_val_t *slot = slot_of(r, in + k0, klen);
        if (slot != NULL && slot->set) {
            *why = "a directive given twice";
            return -1;
        }
        char *dst = r->buf + used;
        size_t vlen = 0;
        if (i < len && in[i] == '"') {
            i++;
            for (;;) {
                if (i == len) {
                    *why = "a quoted value without its closing quote";
                    return -1;
                }
                uint8_t c = in[i++];
                if (c == '"') {
                    break;
                }
                if (c == '\\') {
                    if (i == len) {
                        *why = "a quoted value without its closing quote";
                        return -1;
                    }
                    c = in[i++];
                }
                if (c == '\0') {
                    *why = "a NUL byte in a value";
                    return -1;
                }
                dst[vlen++] = (char)c;
            }
            if (i < len && !is_lws(in[i]) && in[i] != ',') {
                *why = "',' expected after a quoted value";
                return -1;
            }
        } else {
            while (i < len && !is_lws(in[i]) && in[i] != ',') {
                if (in[i] == '\0' || in[i] == '"') {
                    *why = "a NUL byte or quote inside an unquoted value";
                    return -1;
                }
                dst[vlen++] = (char)in[i++];
            }
        }
        assert(used + vlen < sizeof r->buf); /* see the bound above */
        dst[vlen] = '\0';
        if (slot != NULL) {
            slot->s = dst;
            slot->len = vlen;
            slot->set = true;
            used += vlen + 1;
        }
    }
}

int sasl_digest_response_value(const sasl_digest_response_t *r,
                               const char *nonce, const char *password,
                               const char *method, char out[33])
{
    unsigned char inner[16], ha1[16], ha2[16], res[16];
    char hex_a1[33], hex_a2[33];
    const char *realm = r->realm.set ? r->realm.s : "";
    size_t ulen = r->username.len, rlen = strlen(realm);
    size_t plen = strlen(password);
    unsigned char *buf = malloc(ulen + rlen + plen + 1);
    int rc = -1;
    if (buf == NULL) {
        return -1;
    }
    /* H({ username-value, ":", realm-value, ":", passwd }) */
    md5_t m;
    md5_begin(&m);
    long n = hash_bytes(r->username.s, ulen, buf);
    if (n < 0) {
        m.ok = 0;
    }
    md5_add(&m, buf, n > 0 ? (size_t)n : 0);
    md5_str(&m, ":");
    n = hash_bytes(realm, rlen, buf);
    if (n < 0) {
        m.ok = 0;
    }
    md5_add(&m, buf, n > 0 ? (size_t)n : 0);
    md5_str(&m, ":");
    n = hash_bytes(password, plen, buf);
    if (n < 0) {
        m.ok = 0;
    }
    md5_add(&m, buf, n > 0 ? (size_t)n : 0);
    OPENSSL_cleanse(buf, ulen + rlen + plen + 1);
    free(buf);
    if (md5_end(&m, inner) != 0) {
        goto out;
    }
    /* A1 = { H(...), ":", nonce-value, ":", cnonce-value
     *        [, ":", authzid-value] } */
    md5_begin(&m);
    md5_add(&m, inner, sizeof inner);
    md5_str(&m, ":");
    md5_str(&m, nonce);
    md5_str(&m, ":");
    md5_add(&m, r->cnonce.s, r->cnonce.len);
    if (r->authzid.set) {
        md5_str(&m, ":");
        md5_add(&m, r->authzid.s, r->authzid.len);
    }
    if (md5_end(&m, ha1) != 0) {
        goto out;
    }
    /* A2 = { method, ":", digest-uri-value } (qop auth) */
    md5_begin(&m);
    md5_str(&m, method);
    md5_str(&m, ":");
    md5_add(&m, r->digest_uri.s, r->digest_uri.len);
    if (md5_end(&m, ha2) != 0) {
        goto out;
    }
    /* HEX(KD(HEX(H(A1)), { nonce-value, ":" nc-value, ":", cnonce-value,
     *                      ":", qop-value, ":", HEX(H(A2)) })) */
    to_hex(ha1, hex_a1);
    to_hex(ha2, hex_a2);
    md5_begin(&m);
    md5_add(&m, hex_a1, 32);
    md5_str(&m, ":");
    md5_str(&m, nonce);
    md5_str(&m, ":" NC_ONE ":");
    md5_add(&m, r->cnonce.s, r->cnonce.len);
    md5_str(&m, ":auth:");
    md5_add(&m, hex_a2, 32);
    if (md5_end(&m, res) != 0) {
        goto out;
    }
    to_hex(res, out);
    rc = 0;
out:
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(ha1, sizeof ha1);
    OPENSSL_cleanse(hex_a1, sizeof hex_a1);
    return rc;
}

/* ---- one exchange -------------------------------------------------------- */

void sasl_digest_init(sasl_digest_t *d, const char *service,
                      const char *server_name)
{
    memset(d, 0, sizeof *d);
    d->step = SASL_STEP_CHALLENGE;
    d->service = service;
    d->server_name = server_name;
}

/* Appends s (quoting '"' and '\\') to out[*n..cap); false if no room. */
static bool put(char *out, size_t cap, size_t *n, const char *s, bool quote)
{
    for (; *s != '\0'; s++) {
        if (*n + 2 >= cap) {
            return false;
        }
        if (quote && (*s == '"' || *s == '\\')) {
            out[(*n)++] = '\\';
        }
        out[(*n)++] = *s;
    }
    out[*n] = '\0';
    return true;
}

static bool nonce_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SASL_NONCE_LEN) {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '!' || *s > '~' || *s == '"' || *s == '\\') {
            return false;
        }
    }
    return true;
}

/* DigestMD5Server.generateChallenge with ZooKeeper's settings. */
static int challenge(sasl_digest_t *d, const char *nonce, char *out, size_t cap,
                     size_t *outlen, const char **why)
{
    if (nonce != NULL) {
        if (!nonce_ok(nonce)) {
            *why = "bad nonce";
            return SASL_EFAIL;
        }
        memcpy(d->nonce, nonce, strlen(nonce) + 1);
    } else {
        unsigned char raw[NONCE_RAW];
        if (RAND_bytes(raw, sizeof raw) != 1 ||
            EVP_EncodeBlock((unsigned char *)d->nonce, raw, sizeof raw) !=
                SASL_NONCE_LEN) {
            *why = "no random bytes for the nonce (libcrypto)";
            return SASL_EFAIL;
        }
    }
    size_t n = 0;
    if (cap == 0 || !put(out, cap, &n, "realm=\"", false) ||
        !put(out, cap, &n, d->server_name, true) ||
        !put(out, cap, &n, "\",nonce=\"", false) ||
        !put(out, cap, &n, d->nonce, false) ||
        !put(out, cap, &n, "\",charset=utf-8,algorithm=md5-sess", false)) {
        *why = "no room for the challenge";
        return SASL_EFAIL;
    }
    *outlen = n;
    d->step = SASL_STEP_RESPONSE;
    return SASL_CONTINUE;
}

static bool equal(const sasl_val_t *v, const char *s)
{
    return v->set && v->len == strlen(s) && memcmp(v->s, s, v->len) == 0;
}

/* "SERVICE/SERVER_NAME", ASCII case ignored (DigestMD5Server.uriMatches). */
static bool uri_matches(const sasl_digest_t *d, const sasl_val_t *v)
{
    size_t sl = strlen(d->service), hl = strlen(d->server_name);
    return v->set && v->len == sl + 1 + hl &&
           strncasecmp(v->s, d->service, sl) == 0 && v->s[sl] == '/' &&
           strncasecmp(v->s + sl + 1, d->server_name, hl) == 0;
}

/* 1 to 10 decimal digits, at most 2^31 - 1 (Integer.parseInt). */
static bool maxbuf_ok(const sasl_val_t *v)
{
    if (v->len == 0 || v->len > 10) {
        return false;
    }
    unsigned long long x = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->s[i] < '0' || v->s[i] > '9') {
            return false;
        }
        x = x * 10 + (unsigned)(v->s[i] - '0');
    }
    return x <= 2147483647ull;
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < ' ' || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

/* DigestMD5Server.validateClientResponse.  Fills d->user. */
static int check_response(sasl_digest_t *d, const sasl_server_t *srv,
                          const uint8_t *in, size_t len, char *out, size_t cap,
                          size_t *outlen, const char **why)
{
    sasl_digest_response_t *r = malloc(sizeof *r);
    char want[33], rsp[33];
    int rc = SASL_EFAIL;
    if (r == NULL) {
        *why = "out of memory";
        return SASL_EFAIL;
    }
    if (sasl_digest_parse(in, len, r, why) != 0) {
        goto out;
    }
    if (r->charset.set && !equal(&r->charset, "utf-8")) {
        *why = "charset is not utf-8";
        goto out;
    }
    if (r->maxbuf.set && !maxbuf_ok(&r->maxbuf)) {
        *why = "maxbuf is not a number";
        goto out;
    }
    if (!r->username.set || r->username.len == 0) {
        *why = "no username";
        goto out;
    }
    if (r->username.len > SASL_NAME_MAX ||
        !utf8_valid(r->username.s, r->username.len) ||
        has_control(r->username.s)) {
        /* No such user can exist (see add_option). */
        *why = "the user name is too long, not UTF-8 or has control characters";
        goto out;
    }
    memcpy(d->user, r->username.s, r->username.len + 1);
    if (!equal(&r->realm, d->server_name)) {
        *why = "missing or unknown realm";
        goto out;
    }
    if (!r->nonce.set || r->nonce.len != strlen(d->nonce) ||
        CRYPTO_memcmp(r->nonce.s, d->nonce, r->nonce.len) != 0) {
        *why = "missing or wrong nonce";
        goto out;
    }
    if (!r->cnonce.set) {
        *why = "no cnonce";
        goto out;
    }
    if (r->nc.set && !equal(&r->nc, NC_ONE)) {
        *why = "nc is not 00000001";
        goto out;
    }
    if (r->qop.set && !equal(&r->qop, "auth")) {
        *why = "qop is not auth (no integrity or privacy layer here)";
        goto out;
    }
    if (!uri_matches(d, &r->digest_uri)) {
        *why = "missing or wrong digest-uri (want zookeeper/zk-sasl-md5)";
        goto out;
    }
    if (!r->response.set || r->response.len != 32) {
        *why = "missing or malformed response";
        goto out;
    }
    const char *pw = sasl_server_password(srv, r->username.s, r->username.len);
    if (pw == NULL) {
        *why = "no such user";
        goto out;
    }
    if (sasl_digest_response_value(r, d->nonce, pw, "AUTHENTICATE", want) !=
        0) {
        *why = "cannot compute the digest (libcrypto)";
        goto out;
    }
    if (CRYPTO_memcmp(want, r->response.s, 32) != 0) {
        *why = "wrong password (the response does not match)";
        goto out;
    }
    if (sasl_digest_response_value(r, d->nonce, pw, "", rsp) != 0) {
        *why = "cannot compute the digest (libcrypto)";
        goto out;
    }
    size_t n = 0;
    if (cap == 0 || !put(out, cap, &n, "rspauth=", false) ||
        !put(out, cap, &n, rsp, false)) {
        *why = "no room for rspauth";
        goto out;
    }
    *outlen = n;
    rc = SASL_OK;
out:
    OPENSSL_cleanse(r, sizeof *r);
    free(r);
    OPENSSL_cleanse(want, sizeof want);
    return rc;
}

int sasl_digest_step(sasl_digest_t *d, const sasl_server_t *srv,
                     const uint8_t *in, size_t len, const char *nonce,
                     uint8_t *out, size_t cap, size_t *outlen, const char **why)
{
    const char *dummy;
    if (why == NULL) {
        why = &dummy;
    }
    *why = "";
    *outlen = 0;
    int rc;
    switch (d->step) {
    case SASL_STEP_CHALLENGE:
        /* A non-empty first token (a client's initial response) is
         * ignored: DIGEST-MD5 has none, and the JDK does the same. */
        rc = challenge(d, nonce, (char *)out, cap, outlen, why);
        break;
    case SASL_STEP_RESPONSE:
        rc = check_response(d, srv, in, len, (char *)out, cap, outlen, why);
        break;
    default:
        *why = d->step == SASL_STEP_DONE
                   ? "the SASL exchange is already complete"
                   : "the SASL exchange already failed";
        rc = SASL_EFAIL;
        break;
    }
    if (rc == SASL_EFAIL) {
        d->step = SASL_STEP_FAILED;
        *outlen = 0;
    } else if (rc == SASL_OK) {
        d->step = SASL_STEP_DONE;
    }
    return rc;
}

/* ---- the users ----------------------------------------------------------- */

SASL_PRINTF(3, 4)
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

SASL_PRINTF(3, 4)
static void tell(void (*warn)(void *ud, const char *line), void *ud,
                 const char *fmt, ...)
{
    if (warn == NULL) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    warn(ud, msg);
}

/* s for a message: at most 60 bytes, control bytes as '?'. */
static const char *shown(const char *s, char buf[64])
{
    size_t n = strlen(s), m = n <= 60 ? n : 60;
    for (size_t i = 0; i < m; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = ch < ' ' || ch == 0x7f ? '?' : (char)ch;
    }
    memcpy(buf + m, n > 60 ? "..." : "", n > 60 ? 4 : 1);
    return buf;
}

static void free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void sasl_server_free(sasl_server_t *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nusers; i++) {
        free(s->users[i].name);
        free_secret(s->users[i].password);
    }
    for (size_t i = 0; i < s->nsupers; i++) {
        free(s->supers[i]);
    }
    free(s->users);
    free(s->supers);
    free(s);
}

static sasl_user_t *find_user(const sasl_server_t *s, const char *name,
                              size_t len)
{
    for (size_t i = 0; s != NULL && i < s->nusers; i++) {
        if (strlen(s->users[i].name) == len &&
            memcmp(s->users[i].name, name, len) == 0) {
            return &s->users[i];
        }
    }
    return NULL;
}

const char *sasl_server_password(const sasl_server_t *s, const char *name,
                                 size_t len)
{
    const sasl_user_t *u = find_user(s, name, len);
    return u != NULL ? u->password : NULL;
}

bool sasl_server_is_super(const sasl_server_t *s, const char *name)
{
    for (size_t i = 0;
         s != NULL && name != NULL && *name != '\0' && i < s->nsupers; i++) {
        if (strcmp(s->supers[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

/* Sets (or, as Java's HashMap.put, replaces) the password of a user. */
static int set_user(sasl_server_t *s, const char *name, const char *pw)
{
    char *p = dup(pw);
    if (p == NULL) {
        return -1;
    }
    sasl_user_t *u = find_user(s, name, strlen(name));
    if (u != NULL) {
        free_secret(u->password);
        u->password = p;
        return 0;
    }
    sasl_user_t *v = realloc(s->users, (s->nusers + 1) * sizeof *v);
    char *n = dup(name);
    if (v == NULL || n == NULL) {
        if (v != NULL) {
            s->users = v;
        }
        free(n);
        free_secret(p);
        return -1;
    }
    s->users = v;
    v[s->nusers].name = n;
    v[s->nusers].password = p;
    s->nusers++;
    return 0;
}

/* One option of a DigestLoginModule entry. */
static int add_option(sasl_server_t *s, const char *file, const char *section,
                      const jaas_option_t *o, char *err, size_t errlen,
                      void (*warn)(void *ud, const char *line), void *ud)
{
    static const char prefix[] = "user_";
    char kb[64];
    if (strncmp(o->key, prefix, sizeof prefix - 1) != 0) {
        tell(warn, ud,
             "%s:%d: note: option '%s' of section '%s' is not a "
             "user_NAME option; zabd does not use it",
             file, o->line, shown(o->key, kb), section);
        return 0;
    }
    const char *name = o->key + sizeof prefix - 1;
    size_t n = strlen(name);
    if (n == 0) {
        return fail(err, errlen, "%s:%d: option 'user_' names no user", file,
                    o->line);
    }
    if (n > SASL_NAME_MAX || !utf8_valid(name, n) || has_control(name)) {
        return fail(err, errlen,
                    "%s:%d: option '%s': a user name is 1 to "
                    "%d bytes of UTF-8 text without control characters",
                    file, o->line, shown(o->key, kb), SASL_NAME_MAX);
    }
    if (!utf8_valid(o->value, strlen(o->value))) {
        return fail(err, errlen,
                    "%s:%d: option '%s': the password is not UTF-8", file,
                    o->line, shown(o->key, kb));
    }
    if (set_user(s, name, o->value) != 0) {
        return fail(err, errlen, "%s: out of memory", file);
    }
    return 0;
}

/* "A, B, C" of the section names, for a message. */
static void section_list(const jaas_t *j, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < j->nsections && n + 1 < cap; i++) {
        char nb[64];
        int k = snprintf(out + n, cap - n, "%s'%s'", i ? ", " : "",
                         shown(j->sections[i].name, nb));
        if (k < 0) {
            break;
        }
        n += (size_t)k;
    }
}

int sasl_server_from_jaas(const jaas_t *j, const char *file,
                          const char *section, sasl_server_t **out, char *err,
                          size_t errlen,
                          void (*warn)(void *ud, const char *line), void *ud)
{
    char sb[64], mb[64];
    *out = NULL;
    const jaas_section_t *sec = jaas_section(j, section);
    if (sec == NULL) {
        char list[512];
        section_list(j, list, sizeof list);
        return fail(err, errlen,
                    "%s: no section '%s' (the section for the "
                    "server, named by zookeeper.sasl.serverconfig); %s%s",
                    file, shown(section, sb),
                    j->nsections ? "the file has " : "the file is empty", list);
    }
    sasl_server_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return fail(err, errlen, "%s: out of memory", file);
    }
    bool digest = false;
    for (size_t i = 0; i < sec->nentries; i++) {
        const jaas_entry_t *e = &sec->entries[i];
        if (strcmp(e->module, KRB5_MODULE) == 0) {
            sasl_server_free(s);
            return fail(err, errlen,
                        "%s:%d: section '%s': Kerberos "
                        "(GSSAPI, %s) is not supported by zabd; its SASL "
                        "is DIGEST-MD5 (%s)",
                        file, e->line, shown(section, sb), KRB5_MODULE,
                        SASL_DIGEST_MODULE);
        }
        if (strcmp(e->module, SASL_DIGEST_MODULE) != 0) {
            sasl_server_free(s);
            return fail(err, errlen,
                        "%s:%d: section '%s': login module "
                        "'%s' is not supported by zabd (only %s)",
                        file, e->line, shown(section, sb), shown(e->module, mb),
                        SASL_DIGEST_MODULE);
        }
        digest = true;
        for (size_t k = 0; k < e->nopts; k++) {
            if (add_option(s, file, section, &e->opts[k], err, errlen, warn,
                           ud) != 0) {
                sasl_server_free(s);
                return -1;
            }
        }
    }
    if (!digest || s->nusers == 0) {
        sasl_server_free(s);
        return fail(err, errlen,
                    "%s:%d: section '%s' defines no user: it "
                    "needs %s required user_NAME=\"PASSWORD\" ...;",
                    file, sec->line, shown(section, sb), SASL_DIGEST_MODULE);
    }
    *out = s;
    return 0;
}

static int add_super(sasl_server_t *s, const char *name)
{
    char **v = realloc(s->supers, (s->nsupers + 1) * sizeof *v);
    if (v == NULL) {
        return -1;
    }
    s->supers = v;
    if ((v[s->nsupers] = dup(name)) == NULL) {
        return -1;
    }
    s->nsupers++;
    return 0;
}

int sasl_server_load(const cfg_t *c, sasl_server_t **out, char *err,
                     size_t errlen, void (*warn)(void *ud, const char *line),
                     void *ud)
{
    char nb[64];
    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (c->jaas_path[0] == '\0') {
        for (size_t i = 0; i < c->nsuper_users; i++) {
            tell(warn, ud,
                 "warning: %s=%s has no effect: SASL is off "
                 "(no java.security.auth.login.config)",
                 c->super_users[i].key, shown(c->super_users[i].name, nb));
        }
        if (c->sasl_super_password[0]) {
            tell(warn, ud,
                 "warning: SASLAuthenticationProvider.superPassword "
                 "has no effect: SASL is off (no "
                 "java.security.auth.login.config)");
        }
        if (strcmp(c->sasl_section, "Server") != 0) {
            tell(warn, ud,
                 "warning: sasl.serverconfig has no effect: SASL "
                 "is off (no java.security.auth.login.config)");
        }
        return 0;
    }
    jaas_t j;
    if (jaas_load(c->jaas_path, &j, err, errlen) != 0) {
        size_t n = err != NULL ? strlen(err) : 0;
        if (n + 1 < errlen) {
            snprintf(err + n, errlen - n,
                     " (the JAAS file of java.security.auth.login.config)");
        }
        return -1;
    }
    sasl_server_t *s = NULL;
    int rc = sasl_server_from_jaas(&j, c->jaas_path, c->sasl_section, &s, err,
                                   errlen, warn, ud);
    jaas_free(&j);
    if (rc != 0) {
        return -1;
    }
    if (c->sasl_super_password[0]) {
        /* SaslServerCallbackHandler: the property replaces the password
         * of a user "super" that the section defines. */
        if (find_user(s, "super", 5) == NULL) {
            tell(warn, ud,
                 "warning: SASLAuthenticationProvider."
                 "superPassword has no effect: section '%s' of %s has no "
                 "user_super",
                 shown(c->sasl_section, nb), c->jaas_path);
        } else if (set_user(s, "super", c->sasl_super_password) != 0) {
            sasl_server_free(s);
            return fail(err, errlen, "out of memory");
        }
    }
    for (size_t i = 0; i < c->nsuper_users; i++) {
        const char *name = c->super_users[i].name;
        if (find_user(s, name, strlen(name)) == NULL) {
            tell(warn, ud,
                 "warning: %s: '%s' is not a user of section '%s' of %s",
                 c->super_users[i].key, shown(name, nb), c->sasl_section,
                 c->jaas_path);
        }
        if (add_super(s, name) != 0) {
            sasl_server_free(s);
            return fail(err, errlen, "out of memory");
        }
    }
    *out = s;
    return 0;
}
