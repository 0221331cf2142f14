/*
 * acl.c -- ZooKeeper ACLs for zabd.  Mirrors ZooKeeperServer.checkACL,
 * PrepRequestProcessor.fixupACL/removeDuplicates, ZooDefs.Ids,
 * DigestAuthenticationProvider (generateDigest, isValid),
 * IPAuthenticationProvider (isValid, matches) and
 * SASLAuthenticationProvider (isValid, matches).  SHA-1 and base64 come
 * from OpenSSL's libcrypto.
 */
#include "acl.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void acl_list_init(acl_list_t *l)
{
    l->n = 0;
    l->v = NULL;
}

void acl_list_free(acl_list_t *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].id.scheme);
        free(l->v[i].id.id);
    }
    free(l->v);
    l->n = 0;
    l->v = NULL;
}

static char *dup_bounded(const char *s)
{
    size_t n = strnlen(s, ACL_MAX_STR + 1);
    if (n > ACL_MAX_STR) {
        return NULL;
    }
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n + 1);
    }
    return d;
}

int acl_list_add(acl_list_t *l, int32_t perms, const char *scheme,
                 const char *id, size_t max_entries)
{
    if (scheme == NULL || id == NULL) {
        return ACL_EINVALID;
    }
    if ((max_entries != 0 && l->n >= max_entries) ||
        strnlen(scheme, ACL_MAX_STR + 1) > ACL_MAX_STR ||
        strnlen(id, ACL_MAX_STR + 1) > ACL_MAX_STR) {
        return ACL_ETOOBIG;
    }
    acl_entry_t *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (v == NULL) {
        return ACL_ENOMEM;
    }
    l->v = v;
    char *s = dup_bounded(scheme);
    char *i = dup_bounded(id);
    if (s == NULL || i == NULL) {
        free(s);
        free(i);
        return ACL_ENOMEM;
    }
    v[l->n].perms = perms;
    v[l->n].id.scheme = s;
    v[l->n].id.id = i;
    l->n++;
    return ACL_OK;
}

int acl_list_copy(acl_list_t *dst, const acl_list_t *src)
{
    acl_list_t tmp;
    acl_list_init(&tmp);
    for (size_t i = 0; i < src->n; i++) {
        int rc = acl_list_add(&tmp, src->v[i].perms, src->v[i].id.scheme,
                              src->v[i].id.id, 0);
        if (rc != ACL_OK) {
            acl_list_free(&tmp);
            return rc;
        }
    }
    acl_list_free(dst);
    *dst = tmp;
    return ACL_OK;
}

static bool entry_equal(const acl_entry_t *a, const acl_entry_t *b)
{
    return a->perms == b->perms && strcmp(a->id.scheme, b->id.scheme) == 0 &&
           strcmp(a->id.id, b->id.id) == 0;
}

bool acl_list_equal(const acl_list_t *a, const acl_list_t *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (!entry_equal(&a->v[i], &b->v[i])) {
            return false;
        }
    }
    return true;
}

static int one(acl_list_t *l, int32_t perms, const char *scheme,
               const char *id)
{
    acl_list_t tmp;
    acl_list_init(&tmp);
    int rc = acl_list_add(&tmp, perms, scheme, id, 0);
    if (rc != ACL_OK) {
        return rc;
    }
    acl_list_free(l);
    *l = tmp;
    return ACL_OK;
}

int acl_list_open_unsafe(acl_list_t *l)
{
    return one(l, ACL_ALL, "world", "anyone");
}

int acl_list_read_unsafe(acl_list_t *l)
{
    return one(l, ACL_READ, "world", "anyone");
}

int acl_list_creator_all(acl_list_t *l)
{
    return one(l, ACL_ALL, "auth", "");
}

/* ---- ip ------------------------------------------------------------------ */

/* IPAuthenticationProvider.v4addr2Bytes: four dot-separated decimal
 * numbers 0..255 (Java's Integer.parseInt: optional sign, digits). */
static int v4_bytes(const char *s, size_t len, uint8_t out[16])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.') {
                return 0;
            }
            i++;
        }
        size_t start = i;
        bool neg = false;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            neg = s[i] == '-';
            i++;
        }
        long v = 0;
        size_t digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 12) {
            v = v * 10 + (s[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || (i < len && s[i] != '.') || i - start > 12) {
            return 0;
        }
        if (neg) {
            v = -v;
        }
        if (v < 0 || v > 255) {
            return 0;
        }
        out[part] = (uint8_t)v;
    }
    return i == len ? 4 : 0;
}

/* Address bytes (4 or 16) of s[0..len), 0 if not an address. */
static int addr_bytes(const char *s, size_t len, uint8_t out[16])
{
    int n = v4_bytes(s, len, out);
    if (n != 0) {
        return n;
    }
    char buf[64];
    if (len == 0 || len >= sizeof buf || memchr(s, ':', len) == NULL) {
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1 ? 16 : 0;
}

/* Parse "addr[/bits]"; returns address length or 0; *bits defaults to
 * the full length. */
static int parse_expr(const char *expr, uint8_t addr[16], int *bits)
{
    const char *slash = strchr(expr, '/');
    size_t alen = slash != NULL ? (size_t)(slash - expr) : strlen(expr);
    int n = addr_bytes(expr, alen, addr);
    if (n == 0) {
        return 0;
    }
    *bits = n * 8;
    if (slash != NULL) {
        const char *p = slash + 1;
        if (*p == '+' || *p == '-') {
            if (*p == '-' && p[1] != '\0') {
                return 0; /* negative bits are out of range */
            }
            p++;
        }
        if (*p == '\0' || strlen(p) > 9) {
            return 0;
        }
        long v = 0;
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9') {
                return 0;
            }
            v = v * 10 + (*p - '0');
        }
        if (v > n * 8) {
            return 0;
        }
        *bits = (int)v;
    }
    return n;
}

bool acl_ip_valid(const char *id)
{
    uint8_t a[16];
    int bits;
    return id != NULL && parse_expr(id, a, &bits) != 0;
}

static void mask(uint8_t *a, int n, int bits)
{
    for (int i = 0; i < n; i++) {
        int keep = bits - i * 8;
        if (keep >= 8) {
            continue;
        }
        a[i] = keep <= 0 ? 0 : (uint8_t)(a[i] & (0xff00 >> keep));
    }
}

bool acl_ip_matches(const char *acl_expr, const char *addr)
{
    uint8_t a[16], r[16];
    int bits;
    int n = parse_expr(acl_expr, a, &bits);
    if (n == 0 || addr == NULL) {
        return false;
    }
    int m = addr_bytes(addr, strlen(addr), r);
    if (m != n) {
        return false;
    }
    mask(a, n, bits);
    mask(r, n, bits);
    return memcmp(a, r, (size_t)n) == 0;
}

/* ---- digest -------------------------------------------------------------- */

bool acl_digest_valid(const char *id)
{
    if (id == NULL) {
        return false;
    }
    /* Java's id.split(":") drops trailing empty strings, so strip trailing
     * colons, then exactly one colon must remain. */
    size_t len = strlen(id);
    while (len > 0 && id[len - 1] == ':') {
        len--;
    }
    size_t colons = 0;
    for (size_t i = 0; i < len; i++) {
        colons += id[i] == ':';
    }
    return colons == 1;
}

int acl_digest(const char *user_password, size_t len, char *out, size_t cap)
{
    if (user_password == NULL || out == NULL || len > ACL_MAX_STR) {
        return -1;
    }
    const char *c = memchr(user_password, ':', len);
    size_t ulen = c != NULL ? (size_t)(c - user_password) : len;
    if (cap < ulen + 1 + ACL_DIGEST_LEN + 1) {
        return -1;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(user_password, len, md, &mdlen, EVP_sha1(), NULL) != 1 ||
        mdlen != 20) {
        return -1;
    }
    memcpy(out, user_password, ulen);
    out[ulen] = ':';
    int b = EVP_EncodeBlock((unsigned char *)out + ulen + 1, md, (int)mdlen);
    if (b != ACL_DIGEST_LEN) {
        return -1;
    }
    out[ulen + 1 + ACL_DIGEST_LEN] = '\0';
    return (int)(ulen + 1 + ACL_DIGEST_LEN);
}

/* ---- sasl ---------------------------------------------------------------- */

bool acl_sasl_valid(const char *id)
{
    /* new KerberosName(id) accepts a name without '@', or one matching
     * ([^/@]*)(/([^/@]*))?@([^/@]*): one '@', at most one '/' before it,
     * none after. */
    if (id == NULL) {
        return false;
    }
    const char *at = strchr(id, '@');
    if (at == NULL) {
        return true;
    }
    if (strchr(at + 1, '@') != NULL || strchr(at + 1, '/') != NULL) {
        return false;
    }
    /* No '/' after the '@', so every '/' is before it: at most one. */
    const char *slash = strchr(id, '/');
    return slash == NULL || strchr(slash + 1, '/') == NULL;
}

bool acl_sasl_matches(const char *id, const char *acl_expr)
{
    return strcmp(id, "super") == 0 || strcmp(id, acl_expr) == 0;
}

/* ---- check and fix-up ---------------------------------------------------- */

static bool is_world_anyone(const acl_id_t *id)
{
    return strcmp(id->scheme, "world") == 0 && strcmp(id->id, "anyone") == 0;
}

bool acl_check(const acl_list_t *acl, int32_t perm, const acl_auth_t *who)
{
    size_t nids = who != NULL ? who->n : 0;
    if (acl == NULL || acl->n == 0) {
        return true;
    }
    for (size_t i = 0; i < nids; i++) {
        if (strcmp(who->ids[i].scheme, "super") == 0) {
            return true;
        }
    }
    for (size_t a = 0; a < acl->n; a++) {
        const acl_entry_t *e = &acl->v[a];
        if ((e->perms & perm) == 0) {
            continue;
        }
        if (is_world_anyone(&e->id)) {
            return true;
        }
        bool digest = strcmp(e->id.scheme, "digest") == 0;
        bool ip = strcmp(e->id.scheme, "ip") == 0;
        bool sasl = strcmp(e->id.scheme, "sasl") == 0;
        if (!digest && !ip && !sasl) {
            continue; /* no provider for the scheme */
        }
        for (size_t i = 0; i < nids; i++) {
            const acl_id_t *me = &who->ids[i];
            if (strcmp(me->scheme, e->id.scheme) != 0) {
                continue;
            }
            if (digest ? strcmp(me->id, e->id.id) == 0
                : ip   ? acl_ip_matches(e->id.id, me->id)
                       : acl_sasl_matches(me->id, e->id.id)) {
                return true;
            }
        }
    }
    return false;
}

/* Is the identity's provider "authenticated" (ServerAuthenticationProvider
 * .isAuthenticated)?  digest and sasl yes; ip no; super/world have no
 * provider. */
static bool authenticated(const acl_id_t *id)
{
    return strcmp(id->scheme, "digest") == 0 ||
           strcmp(id->scheme, "sasl") == 0;
}

int acl_fixup(const acl_list_t *in, const acl_auth_t *who, acl_list_t *out,
              size_t max_entries)
{
    if (in == NULL || in->n == 0) {
        return ACL_EINVALID;
    }
    acl_list_t rv;
    acl_list_init(&rv);
    int rc = ACL_OK;
    for (size_t i = 0; i < in->n && rc == ACL_OK; i++) {
        const acl_entry_t *a = &in->v[i];
        bool dup = false;
        for (size_t j = 0; j < i; j++) {
            if (entry_equal(&in->v[j], a)) {
                dup = true;
            }
        }
        if (dup) {
            continue;
        }
        if (a->id.scheme == NULL || a->id.id == NULL) {
            rc = ACL_EINVALID;
        } else if (is_world_anyone(&a->id)) {
            rc = acl_list_add(&rv, a->perms, "world", "anyone", max_entries);
        } else if (strcmp(a->id.scheme, "auth") == 0) {
            bool any = false;
            for (size_t k = 0; who != NULL && k < who->n && rc == ACL_OK;
                 k++) {
                if (authenticated(&who->ids[k])) {
                    any = true;
                    rc = acl_list_add(&rv, a->perms, who->ids[k].scheme,
                                      who->ids[k].id, max_entries);
                }
            }
            if (!any && rc == ACL_OK) {
                rc = ACL_EINVALID;
            }
        } else if ((strcmp(a->id.scheme, "digest") == 0 &&
                    acl_digest_valid(a->id.id)) ||
                   (strcmp(a->id.scheme, "ip") == 0 &&
                    acl_ip_valid(a->id.id)) ||
                   (strcmp(a->id.scheme, "sasl") == 0 &&
                    acl_sasl_valid(a->id.id))) {
            rc = acl_list_add(&rv, a->perms, a->id.scheme, a->id.id,
                              max_entries);
        } else {
            rc = ACL_EINVALID;
        }
    }
    if (rc != ACL_OK) {
        acl_list_free(&rv);
        return rc;
    }
    acl_list_free(out);
    *out = rv;
    return ACL_OK;
}
