/*
 * cfg.c -- zabd's configuration: a ZooKeeper zoo.cfg and dataDir/myid (see
 * cfg.h for the contract, zabd.cfg(5) for the user's view).
 *
 * Reading goes in three steps:
 *   1. the text is cut into logical lines the way java.util.Properties
 *      load() does: '#' and '!' comment lines, leading blanks skipped, a
 *      line ending in an odd number of backslashes continued, the key
 *      ending at the first '=', ':' or blank;
 *   2. each key is looked up in a table that says how its value is parsed
 *      and where it is stored (server.N lines, ZooKeeper keys zabd ignores
 *      and unknown keys are handled beside the table);
 *   3. once the whole file is read, the checks that need all of it run:
 *      defaults that depend on tickTime (so key order does not matter, as
 *      in QuorumPeerConfig), myid, this server's line, the client port.
 *
 * Reference: Apache ZooKeeper 3.8, QuorumPeerConfig.parseProperties,
 * QuorumPeer.QuorumServer and FourLetterCommands.  Where ZooKeeper reads a
 * value as a system property (snapCount, globalOutstandingLimit,
 * jute.maxbuffer) it uses Integer.decode, so those also take 0x hex.
 */
#include "cfg.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#if defined(__GNUC__) || defined(__clang__)
#define CFG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CFG_PRINTF(f, a)
#endif

#define SHOW_MAX 60             /* longest key or value quoted in a message */
#define SHOW_BUF (SHOW_MAX + 4) /* ... plus "..." and the NUL */
#define MSG_MAX 1024            /* one warning or note line */
#define FILE_MAX (1u << 20)     /* a zoo.cfg larger than this is refused */
#define MYID_FILE_MAX 64        /* a myid file holds a number, nothing more */
#define SPEC_MAX 1024           /* longest server.N value */
#define MIN_SNAP_RETAIN 3       /* as QuorumPeerConfig.MIN_SNAP_RETAIN_COUNT */
#define UNSET_TIMEOUT (-1)      /* session timeout not given: derive it */

/* ---- messages -------------------------------------------------------- */

typedef struct parser parser_t;

/* s[0..n) as quoted in a message, in buf: cut to SHOW_MAX bytes and
 * "..." so that one absurd value cannot push the rest of the message out
 * of the buffer, and control characters (a newline inside a myid file)
 * shown as '?' so that every message stays one line. */
static const char *shown_n(const char *s, size_t n, char buf[SHOW_BUF])
{
    size_t m = n <= SHOW_MAX ? n : SHOW_MAX;
    for (size_t i = 0; i < m; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = ch < ' ' || ch == 0x7f ? '?' : (char)ch;
    }
    memcpy(buf + m, n > SHOW_MAX ? "..." : "", n > SHOW_MAX ? 4 : 1);
    return buf;
}

static const char *shown(const char *s, char buf[SHOW_BUF])
{
    return shown_n(s, strlen(s), buf);
}

/* ---- the key table --------------------------------------------------- */

typedef struct key_spec key_spec_t;
typedef int (*key_setter_t)(parser_t *p, const key_spec_t *k,
                            const char *value);

/* How one key is read: `set` parses the value and stores it at `offset`
 * in cfg_t (a buffer of `size` bytes for strings); integers must lie in
 * [min, max]; `decode` takes Java's Integer.decode syntax (0x hex, 0
 * octal) for keys that ZooKeeper reads as system properties. */
struct key_spec {
    const char *name;
    key_setter_t set;
    size_t offset;
    size_t size;
    long long min, max;
    int decode;
};

static int set_int(parser_t *p, const key_spec_t *k, const char *value);
static int set_session_timeout(parser_t *p, const key_spec_t *k,
                               const char *value);
static int set_snap_retain(parser_t *p, const key_spec_t *k,
                           const char *value);
static int set_path(parser_t *p, const key_spec_t *k, const char *value);
static int set_address(parser_t *p, const key_spec_t *k, const char *value);
static int set_string(parser_t *p, const key_spec_t *k, const char *value);
static int set_yes_no(parser_t *p, const key_spec_t *k, const char *value);
static int set_true_false(parser_t *p, const key_spec_t *k,
                          const char *value);
static int set_whitelist(parser_t *p, const key_spec_t *k,
                         const char *value);
static int set_peer_type(parser_t *p, const key_spec_t *k,
                         const char *value);
static int set_myid(parser_t *p, const key_spec_t *k, const char *value);
static int set_text(parser_t *p, const key_spec_t *k, const char *value);
static int set_store_type(parser_t *p, const key_spec_t *k,
                          const char *value);
static int set_client_auth(parser_t *p, const key_spec_t *k,
                           const char *value);

#define FIELD(f) offsetof(cfg_t, f), sizeof(((cfg_t *)0)->f)

/* The keys of ZooKeeper's X509Util under one prefix ("ssl." for the
 * client port, "ssl.quorum." for the quorum), stored in cfg_t's member
 * `side`. */
#define TLS_KEYS(prefix, side)                                              \
    {prefix "keyStore.location", set_text, FIELD(side.keystore), 0, 0, 0},  \
    {prefix "keyStore.password", set_text, FIELD(side.keystore_password),  \
     0, 0, 0},                                                              \
    {prefix "keyStore.passwordPath", set_text,                              \
     FIELD(side.keystore_password_path), 0, 0, 0},                          \
    {prefix "keyStore.type", set_store_type, FIELD(side.keystore_type), 0,  \
     0, 0},                                                                 \
    {prefix "trustStore.location", set_text, FIELD(side.truststore), 0, 0, \
     0},                                                                    \
    {prefix "trustStore.password", set_text,                                \
     FIELD(side.truststore_password), 0, 0, 0},                             \
    {prefix "trustStore.passwordPath", set_text,                            \
     FIELD(side.truststore_password_path), 0, 0, 0},                        \
    {prefix "trustStore.type", set_store_type, FIELD(side.truststore_type), \
     0, 0, 0},                                                              \
    {prefix "clientAuth", set_client_auth, FIELD(side.client_auth), 0, 0,   \
     0},                                                                    \
    {prefix "protocol", set_text, FIELD(side.protocol), 0, 0, 0},           \
    {prefix "enabledProtocols", set_text, FIELD(side.enabled_protocols), 0, \
     0, 0},                                                                 \
    {prefix "ciphersuites", set_text, FIELD(side.ciphersuites), 0, 0, 0},   \
    {prefix "hostnameVerification", set_true_false,                         \
     FIELD(side.hostname_verification), 0, 0, 0}

static const key_spec_t key_specs[] = {
    {"tickTime", set_int, FIELD(tick_time), 1, INT_MAX, 0},
    {"initLimit", set_int, FIELD(init_limit), 1, INT_MAX, 0},
    {"syncLimit", set_int, FIELD(sync_limit), 1, INT_MAX, 0},
    {"dataDir", set_path, FIELD(data_dir), 0, 0, 0},
    {"dataLogDir", set_path, FIELD(data_log_dir), 0, 0, 0},
    {"clientPort", set_int, FIELD(client_port), 1, 65535, 0},
    {"clientPortAddress", set_address, FIELD(client_address), 0, 0, 0},
    {"maxClientCnxns", set_int, FIELD(max_client_cnxns), 0, INT_MAX, 0},
    {"minSessionTimeout", set_session_timeout, FIELD(min_session_timeout),
     1, INT_MAX, 0},
    {"maxSessionTimeout", set_session_timeout, FIELD(max_session_timeout),
     1, INT_MAX, 0},
    {"jute.maxbuffer", set_int, FIELD(jute_maxbuffer), 1, INT_MAX, 1},
    {"globalOutstandingLimit", set_int, FIELD(global_outstanding_limit), 1,
     INT_MAX, 1},
    {"snapCount", set_int, FIELD(snap_count), 2, INT_MAX, 1},
    {"autopurge.snapRetainCount", set_snap_retain, FIELD(snap_retain_count),
     0, 0, 0},
    {"forceSync", set_yes_no, FIELD(force_sync), 0, 0, 0},
    /* ZooKeeper turns an unknown zoo.cfg key k into the system property
     * zookeeper.k, so this short form is what works in a real zoo.cfg;
     * the property's name is accepted too (see find_key). */
    {"extendedTypesEnabled", set_true_false, FIELD(extended_types), 0, 0, 0},
    {"4lw.commands.whitelist", set_whitelist, FIELD(fourlw_whitelist), 0, 0,
     0},
    {"sessionSecret", set_string, FIELD(session_secret), 0, 0, 0},
    {"syncDiffMax", set_int, FIELD(sync_diff_max), 1, INT_MAX, 0},
    {"znode.container.checkIntervalMs", set_int, FIELD(container_check_ms),
     1, INT_MAX, 0},
    /* The super user: "super:" base64(sha1("super:password")), ZooKeeper's
     * zookeeper.DigestAuthenticationProvider.superDigest property. */
    {"DigestAuthenticationProvider.superDigest", set_string,
     FIELD(super_digest), 0, 0, 0},
    /* ZooKeeper's Java system property -Dreadonlymode.enabled=true (its
     * zoo.cfg cannot set it); a zoo.cfg key for zabd. */
    {"readonlymode.enabled", set_true_false, FIELD(read_only_mode), 0, 0,
     0},
    {"reconfigEnabled", set_true_false, FIELD(reconfig_enabled), 0, 0, 0},
    /* SASL (see sasl.h): the JAAS file, which ZooKeeper takes as the JVM
     * system property java.security.auth.login.config, its section, and
     * the password of the JAAS user "super". */
    {"java.security.auth.login.config", set_path, FIELD(jaas_path), 0, 0, 0},
    {"sasl.serverconfig", set_string, FIELD(sasl_section), 0, 0, 0},
    {"SASLAuthenticationProvider.superPassword", set_string,
     FIELD(sasl_super_password), 0, 0, 0},
    {"peerType", set_peer_type, FIELD(observer_self), 0, 0, 0},
    {"myid", set_myid, FIELD(myid), 1, CFG_MAX_SERVERS, 0},
    /* TLS, as QuorumPeerConfig and X509Util read it. */
    {"secureClientPort", set_int, FIELD(secure_client_port), 1, 65535, 0},
    {"secureClientPortAddress", set_address, FIELD(secure_client_address),
     0, 0, 0},
    {"sslQuorum", set_true_false, FIELD(ssl_quorum), 0, 0, 0},
    TLS_KEYS("ssl.", tls_client),
    TLS_KEYS("ssl.quorum.", tls_quorum),
};

#define NKEYS (sizeof key_specs / sizeof key_specs[0])

/* A key of the table; "zookeeper.K" is K, as ZooKeeper reads an unknown
 * zoo.cfg key K as the system property zookeeper.K (so settings written
 * either way, e.g. zookeeper.extendedTypesEnabled, work). */
static const key_spec_t *find_key(const char *name)
{
    static const char prefix[] = "zookeeper.";
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(key_specs[i].name, name) == 0) {
            return &key_specs[i];
        }
    }
    if (strncmp(name, prefix, sizeof prefix - 1) == 0) {
        return find_key(name + sizeof prefix - 1);
    }
    return NULL;
}

/* ---- parser state ---------------------------------------------------- */

struct parser {
    cfg_t *c;
    const char *name; /* the file, as it appears in messages */
    char *err;
    size_t errlen;
    void (*warn)(void *ud, const char *line);
    void *ud;
    int line;                             /* line of the current entry */
    int key_line[NKEYS];                  /* where each key was set, or 0 */
    int server_line[CFG_MAX_SERVERS + 1]; /* where server.N was set, or 0 */
    int min_timeout_line, max_timeout_line; /* given, and not -1 */
};

static int line_of(const parser_t *p, const char *name)
{
    const key_spec_t *k = find_key(name);
    return k ? p->key_line[k - key_specs] : 0;
}

/* Writes "NAME:LINE: " (or "NAME: " for line 0) and the message to err;
 * snprintf keeps err NUL-terminated whatever the lengths.  Returns -1 so
 * that callers can `return fail_at(...)`. */
CFG_PRINTF(3, 4)
static int fail_at(parser_t *p, int line, const char *fmt, ...)
{
    if (p->err == NULL || p->errlen == 0) {
        return -1;
    }
    int n = line > 0 ? snprintf(p->err, p->errlen, "%s:%d: ", p->name, line)
                     : snprintf(p->err, p->errlen, "%s: ", p->name);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* "NAME:LINE: key: what (value 'v')" for the current line. */
CFG_PRINTF(4, 5)
static int bad_value(parser_t *p, const char *key, const char *value,
                     const char *fmt, ...)
{
    char what[256], kb[SHOW_BUF], vb[SHOW_BUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fail_at(p, p->line, "%s: %s (value '%s')", shown(key, kb), what,
                   shown(value, vb));
}

/* Passes one "NAME:LINE: ..." line to the warn callback, if any. */
CFG_PRINTF(3, 4)
static void tell(parser_t *p, int line, const char *fmt, ...)
{
    if (p->warn == NULL) {
        return;
    }
    char msg[MSG_MAX];
    int n = line > 0 ? snprintf(msg, sizeof msg, "%s:%d: ", p->name, line)
                     : snprintf(msg, sizeof msg, "%s: ", p->name);
    if (n >= 0 && (size_t)n < sizeof msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
        va_end(ap);
    }
    p->warn(p->ud, msg);
}

/* ---- small string helpers -------------------------------------------- */

/* Blanks as Properties sees them between key and value. */
static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\f';
}

/* What Java's String.trim() removes: every char up to and including ' '. */
static int is_trimmed(char ch)
{
    return (unsigned char)ch <= ' ';
}

/* Trims s in place; returns the first kept character. */
static char *trim(char *s)
{
    while (*s && is_trimmed(*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && is_trimmed(s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int has_blank_inside(const char *s)
{
    for (; *s; s++) {
        if (is_trimmed(*s)) {
            return 1;
        }
    }
    return 0;
}

/* Copies s into a buffer of `size` bytes; -1 if it does not fit. */
static int copy_str(char *dst, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size) {
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

/* Is the word w[0..wlen) an element of the comma-separated list? */
static int list_has(const char *list, const char *w, size_t wlen)
{
    const char *s = list;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n == wlen && memcmp(s, w, n) == 0) {
            return 1;
        }
        if (comma == NULL) {
            break;
        }
        s = comma + 1;
    }
    return 0;
}

/* ---- integers as Java reads them ------------------------------------- */

enum { NUM_OK, NUM_BAD, NUM_RANGE };

static int digit_value(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* The magnitude of a run of digits of `base` (all of s).  A non-digit
 * anywhere makes it NUM_BAD even after an overflow, so that "9999999999x"
 * is called "not a number" rather than "too large". */
static int digits_value(const char *s, int base, unsigned long long *out)
{
    if (*s == '\0') {
        return NUM_BAD;
    }
    unsigned long long v = 0;
    int big = 0;
    for (; *s; s++) {
        int d = digit_value(*s);
        if (d < 0 || d >= base) {
            return NUM_BAD;
        }
        if (v > (1ull << 32)) {
            big = 1; /* keep scanning for bad characters, stop growing */
        } else {
            v = v * (unsigned)base + (unsigned)d;
        }
    }
    *out = v;
    return big ? NUM_RANGE : NUM_OK;
}

/* Applies the sign and checks the range of a Java int. */
static int signed_int(unsigned long long v, int negative, long long *out)
{
    if (negative ? v > 2147483648ull : v > 2147483647ull) {
        return NUM_RANGE;
    }
    *out = negative ? -(long long)v : (long long)v;
    return NUM_OK;
}

/* Integer.parseInt: an optional sign, then decimal digits. */
static int java_parse_int(const char *s, long long *out)
{
    int negative = *s == '-';
    if (*s == '-' || *s == '+') {
        s++;
    }
    unsigned long long v = 0;
    int rc = digits_value(s, 10, &v);
    return rc == NUM_OK ? signed_int(v, negative, out) : rc;
}

/* Integer.decode: an optional sign, then 0x/0X/# and hex digits, or 0 and
 * octal digits, or decimal digits. */
static int java_decode_int(const char *s, long long *out)
{
    int negative = *s == '-';
    if (*s == '-' || *s == '+') {
        s++;
    }
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '#') {
        base = 16;
        s++;
    } else if (s[0] == '0' && s[1] != '\0') {
        base = 8;
        s++;
    }
    unsigned long long v = 0;
    int rc = digits_value(s, base, &v);
    return rc == NUM_OK ? signed_int(v, negative, out) : rc;
}

/* Parses the value of integer key `name`; reports a bad number. */
static int read_int(parser_t *p, const char *name, const char *value,
                    int decode, long long *out)
{
    int rc = decode ? java_decode_int(value, out)
                    : java_parse_int(value, out);
    if (rc == NUM_BAD) {
        return bad_value(p, name, value, "%s",
                         decode ? "not an integer (decimal, 0x hex or "
                                  "0-prefixed octal)"
                                : "not a decimal integer");
    }
    if (rc == NUM_RANGE) {
        return bad_value(p, name, value,
                         "out of range (a 32-bit integer: at most %d)",
                         INT_MAX);
    }
    return 0;
}

static int range_error(parser_t *p, const key_spec_t *k, const char *value)
{
    if (k->max == INT_MAX) {
        return bad_value(p, k->name, value, "must be at least %lld", k->min);
    }
    return bad_value(p, k->name, value, "must be from %lld to %lld", k->min,
                     k->max);
}

/* ---- setters --------------------------------------------------------- */

static int *int_field(const parser_t *p, const key_spec_t *k)
{
    return (int *)(void *)((char *)p->c + k->offset);
}

static char *str_field(const parser_t *p, const key_spec_t *k)
{
    return (char *)p->c + k->offset;
}

static int set_int(parser_t *p, const key_spec_t *k, const char *value)
{
    long long n = 0;
    if (read_int(p, k->name, value, k->decode, &n) != 0) {
        return -1;
    }
    if (n < k->min || n > k->max) {
        return range_error(p, k, value);
    }
    *int_field(p, k) = (int)n;
    return 0;
}

/* -1 is QuorumPeerConfig's "not set", so it also means the default here
 * (2 or 20 ticks, derived once tickTime is known). */
static int set_session_timeout(parser_t *p, const key_spec_t *k,
                               const char *value)
{
    long long n = 0;
    if (read_int(p, k->name, value, 0, &n) != 0) {
        return -1;
    }
    if (n != UNSET_TIMEOUT && n < k->min) {
        return bad_value(p, k->name, value,
                         "must be at least 1 ms (or -1 for the default)");
    }
    *int_field(p, k) = (int)n;
    int given_line = n == UNSET_TIMEOUT ? 0 : p->line;
    if (k->offset == offsetof(cfg_t, min_session_timeout)) {
        p->min_timeout_line = given_line;
    } else {
        p->max_timeout_line = given_line;
    }
    return 0;
}

/* ZooKeeper's purge keeps at least 3 snapshots: smaller values are raised
 * with a warning rather than refused. */
static int set_snap_retain(parser_t *p, const key_spec_t *k,
                           const char *value)
{
    long long n = 0;
    if (read_int(p, k->name, value, 0, &n) != 0) {
        return -1;
    }
    if (n < MIN_SNAP_RETAIN) {
        tell(p, p->line, "warning: %s: %lld is below %d; using %d", k->name,
             n, MIN_SNAP_RETAIN, MIN_SNAP_RETAIN);
        n = MIN_SNAP_RETAIN;
    }
    *int_field(p, k) = (int)n;
    return 0;
}

static int set_string(parser_t *p, const key_spec_t *k, const char *value)
{
    if (*value == '\0') {
        return bad_value(p, k->name, value, "empty");
    }
    if (copy_str(str_field(p, k), k->size, value) != 0) {
        return bad_value(p, k->name, value, "too long (at most %zu bytes)",
                         k->size - 1);
    }
    return 0;
}

/* A directory.  Relative paths work but depend on the working directory,
 * which ZooKeeper also warns about. */
static int set_path(parser_t *p, const key_spec_t *k, const char *value)
{
    if (set_string(p, k, value) != 0) {
        return -1;
    }
    if (value[0] != '/') {
        tell(p, p->line,
             "warning: %s is a relative path; it depends on zabd's "
             "working directory", k->name);
    }
    return 0;
}

/* A host name or address to listen on; "[::1]" is taken as "::1". */
static int set_address(parser_t *p, const key_spec_t *k, const char *value)
{
    char buf[SPEC_MAX];
    if (copy_str(buf, sizeof buf, value) != 0) {
        return bad_value(p, k->name, value, "too long");
    }
    char *host = buf;
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host[n - 1] = '\0';
        host++;
    }
    if (*host == '\0') {
        return bad_value(p, k->name, value, "empty");
    }
    if (has_blank_inside(host)) {
        return bad_value(p, k->name, value, "a host name has no blanks");
    }
    if (copy_str(str_field(p, k), k->size, host) != 0) {
        return bad_value(p, k->name, value, "too long (at most %zu bytes)",
                         k->size - 1);
    }
    return 0;
}

/* forceSync: ZooKeeper syncs unless the value is exactly "no"; anything
 * but yes or no is refused here, since "false" would silently mean yes. */
static int set_yes_no(parser_t *p, const key_spec_t *k, const char *value)
{
    if (strcasecmp(value, "yes") == 0) {
        *int_field(p, k) = 1;
    } else if (strcasecmp(value, "no") == 0) {
        *int_field(p, k) = 0;
    } else {
        return bad_value(p, k->name, value, "must be yes or no");
    }
    return 0;
}

static int set_true_false(parser_t *p, const key_spec_t *k,
                          const char *value)
{
    if (strcasecmp(value, "true") == 0) {
        *int_field(p, k) = 1;
    } else if (strcasecmp(value, "false") == 0) {
        *int_field(p, k) = 0;
    } else {
        return bad_value(p, k->name, value, "must be true or false");
    }
    return 0;
}

static int set_peer_type(parser_t *p, const key_spec_t *k, const char *value)
{
    if (strcasecmp(value, "observer") == 0) {
        *int_field(p, k) = 1;
    } else if (strcasecmp(value, "participant") == 0) {
        *int_field(p, k) = 0;
    } else {
        return bad_value(p, k->name, value,
                         "must be participant or observer");
    }
    return 0;
}

static int set_myid(parser_t *p, const key_spec_t *k, const char *value)
{
    long long n = 0;
    if (read_int(p, k->name, value, 0, &n) != 0) {
        return -1;
    }
    if (n < k->min || n > k->max) {
        return bad_value(p, k->name, value,
                         "must be from 1 to %d (libzab's limit on ids)",
                         CFG_MAX_SERVERS);
    }
    p->c->myid = (uint32_t)n;
    return 0;
}

/* Free text that may be empty: a password, a list, or a file location
 * (ZooKeeper takes an empty location as "not set"). */
static int set_text(parser_t *p, const key_spec_t *k, const char *value)
{
    if (copy_str(str_field(p, k), k->size, value) != 0) {
        return bad_value(p, k->name, value, "too long (at most %zu bytes)",
                         k->size - 1);
    }
    return 0;
}

/* KeyStoreFileType.fromPropertyValue: the name in any case; empty means
 * "from the file name".  Which formats zabd reads is decided once the
 * store is known to be used (finish_tls). */
static int set_store_type(parser_t *p, const key_spec_t *k,
                          const char *value)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {
        {"", CFG_STORE_AUTO},       {"PEM", CFG_STORE_PEM},
        {"PKCS12", CFG_STORE_PKCS12}, {"JKS", CFG_STORE_JKS},
        {"BCFKS", CFG_STORE_BCFKS},
    };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        if (strcasecmp(value, types[i].name) == 0) {
            *int_field(p, k) = types[i].type;
            return 0;
        }
    }
    return bad_value(p, k->name, value, "must be PEM, PKCS12, JKS or BCFKS");
}

/* X509Util.ClientAuth.fromPropertyValue: empty means need. */
static int set_client_auth(parser_t *p, const key_spec_t *k,
                           const char *value)
{
    if (*value == '\0' || strcasecmp(value, "need") == 0) {
        *int_field(p, k) = CFG_AUTH_NEED;
    } else if (strcasecmp(value, "want") == 0) {
        *int_field(p, k) = CFG_AUTH_WANT;
    } else if (strcasecmp(value, "none") == 0) {
        *int_field(p, k) = CFG_AUTH_NONE;
    } else {
        return bad_value(p, k->name, value, "must be need, want or none");
    }
    return 0;
}

/* The four-letter words ZooKeeper 3.8 knows (FourLetterCommands). */
static int known_fourlw(const char *w, size_t n)
{
    static const char words[] =
        "conf,cons,crst,dirs,dump,envi,gtmk,ruok,stmk,srst,srvr,stat,"
        "wchc,wchp,wchs,mntr,isro,icfg,sysp";
    return list_has(words, w, n);
}

/* Adds word w[0..n) to the normalised list `out` (no blanks, no empty
 * entries, no repeats); warns about words ZooKeeper does not know. */
static int whitelist_add(parser_t *p, const key_spec_t *k, const char *value,
                         char *out, size_t size, const char *w, size_t n)
{
    if (!known_fourlw(w, n)) {
        char wb[SHOW_BUF];
        tell(p, p->line, "warning: %s: unknown four-letter word '%s'",
             k->name, shown_n(w, n, wb));
    }
    if (list_has(out, w, n)) {
        return 0;
    }
    size_t used = strlen(out);
    size_t need = used + (used ? 1 : 0) + n;
    if (need >= size) {
        return bad_value(p, k->name, value, "too long (at most %zu bytes)",
                         size - 1);
    }
    if (used) {
        out[used++] = ',';
    }
    memcpy(out + used, w, n);
    out[used + n] = '\0';
    return 0;
}

/* Comma-separated, blanks around entries allowed; "*" anywhere allows
 * every word (and ends the list, as in ZooKeeper). */
static int set_whitelist(parser_t *p, const key_spec_t *k, const char *value)
{
    char *out = str_field(p, k);
    out[0] = '\0';
    const char *s = value;
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        while (s < end && is_trimmed(*s)) {
            s++;
        }
        while (end > s && is_trimmed(end[-1])) {
            end--;
        }
        size_t n = (size_t)(end - s);
        if (n == 1 && *s == '*') {
            memcpy(out, "*", 2);
            return 0;
        }
        if (n > 0 && whitelist_add(p, k, value, out, k->size, s, n) != 0) {
            return -1;
        }
        if (comma == NULL) {
            return 0;
        }
        s = comma + 1;
    }
}

/* ---- server.N -------------------------------------------------------- */

#define SERVER_FORM                                                         \
    "want host:quorumPort:electionPort[:participant|:observer]"             \
    "[;[clientAddress:]clientPort]"

/* Splits "host:a:b..." (host possibly "[v6 address]") at colons into at
 * most `max` trimmed parts, like ZooKeeper's ConfigUtils.getHostAndPort.
 * Returns the count, max + 1 if there are more, or -1 for a bad bracket. */
static int split_host_parts(char *s, char **parts, int max)
{
    int n = 0;
    s = trim(s);
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (close == NULL) {
            return -1;
        }
        *close = '\0';
        parts[n++] = s + 1;
        s = close + 1;
        if (*s == '\0') {
            return n;
        }
        if (*s != ':') {
            return -1;
        }
        s++;
    }
    for (;;) {
        if (n == max) {
            return max + 1;
        }
        char *colon = strchr(s, ':');
        if (colon) {
            *colon = '\0';
        }
        parts[n++] = trim(s);
        if (colon == NULL) {
            return n;
        }
        s = colon + 1;
    }
}

/* A port of a server line; `what` names it in the message. */
static int read_port(parser_t *p, const char *key, const char *value,
                     const char *text, const char *what, uint16_t *out)
{
    long long n = 0;
    if (java_parse_int(text, &n) != NUM_OK) {
        return bad_value(p, key, value, "%s is not a number", what);
    }
    if (n < 1 || n > 65535) {
        return bad_value(p, key, value, "%s must be from 1 to 65535", what);
    }
    *out = (uint16_t)n;
    return 0;
}

static int read_host(parser_t *p, const char *key, const char *value,
                     const char *text, const char *what, char *out,
                     size_t size)
{
    if (*text == '\0') {
        return bad_value(p, key, value, "empty %s", what);
    }
    if (has_blank_inside(text)) {
        return bad_value(p, key, value, "blank inside the %s", what);
    }
    if (copy_str(out, size, text) != 0) {
        return bad_value(p, key, value, "%s too long (at most %zu bytes)",
                         what, size - 1);
    }
    return 0;
}

/* "host:quorumPort:electionPort[:type]" */
static int parse_server_addr(parser_t *p, const char *key, const char *value,
                             char *spec, cfg_server_t *s)
{
    if (strchr(spec, '|')) {
        return bad_value(p, key, value,
                         "several addresses (a|b) are not supported by zabd");
    }
    char *parts[4];
    int n = split_host_parts(spec, parts, 4);
    if (n < 3 || n > 4) {
        return bad_value(p, key, value, SERVER_FORM);
    }
    if (read_host(p, key, value, parts[0], "host", s->host, sizeof s->host) ||
        read_port(p, key, value, parts[1], "quorum port", &s->quorum_port) ||
        read_port(p, key, value, parts[2], "election port",
                  &s->election_port)) {
        return -1;
    }
    if (s->quorum_port == s->election_port) {
        return bad_value(p, key, value,
                         "quorum and election ports must differ");
    }
    if (n == 4) {
        if (strcasecmp(parts[3], "observer") == 0) {
            s->observer = 1;
        } else if (strcasecmp(parts[3], "participant") != 0) {
            char tb[SHOW_BUF];
            return bad_value(p, key, value,
                             "unknown server type '%s' (want participant or "
                             "observer)", shown(parts[3], tb));
        }
    }
    return 0;
}

/* "[clientAddress:]clientPort" after the ';' */
static int parse_server_client(parser_t *p, const char *key,
                               const char *value, char *spec, cfg_server_t *s)
{
    char *parts[2];
    int n = split_host_parts(spec, parts, 2);
    if (n < 1 || n > 2) {
        return bad_value(p, key, value, SERVER_FORM);
    }
    if (n == 2 && read_host(p, key, value, parts[0], "client address",
                            s->client_host, sizeof s->client_host) != 0) {
        return -1;
    }
    return read_port(p, key, value, parts[n - 1], "client port",
                     &s->client_port);
}

/* The id of "server.N": decimal digits, as QuorumMaj's Long.parseLong
 * (a sign is no use for an id), 1..255 for libzab. */
static int read_server_id(parser_t *p, const char *key, const char *value,
                          uint32_t *id)
{
    const char *digits = key + strlen("server.");
    unsigned long long v = 0;
    int rc = (*digits == '+' || *digits == '-')
                 ? NUM_BAD
                 : digits_value(digits, 10, &v);
    if (rc == NUM_BAD) {
        return bad_value(p, key, value, "the server id is not a number");
    }
    if (rc == NUM_RANGE || v < 1 || v > CFG_MAX_SERVERS) {
        return bad_value(p, key, value,
                         "the server id must be from 1 to %d (libzab's "
                         "limit on ids)", CFG_MAX_SERVERS);
    }
    *id = (uint32_t)v;
    return 0;
}

/* "server.N" = "host:quorumPort:electionPort[:type][;[addr:]clientPort]"
 * into *s (zeroed first). */
static int parse_server_line(parser_t *p, const char *key, const char *value,
                             cfg_server_t *s)
{
    uint32_t id = 0;
    memset(s, 0, sizeof *s);
    if (read_server_id(p, key, value, &id) != 0) {
        return -1;
    }
    char spec[SPEC_MAX];
    if (copy_str(spec, sizeof spec, value) != 0) {
        return bad_value(p, key, value, "too long");
    }
    s->id = id;
    char *client = strchr(spec, ';');
    if (client) {
        *client++ = '\0';
        if (strchr(client, ';')) {
            return bad_value(p, key, value, SERVER_FORM);
        }
    }
    if (parse_server_addr(p, key, value, spec, s) != 0) {
        return -1;
    }
    if (client && parse_server_client(p, key, value, client, s) != 0) {
        return -1;
    }
    return 0;
}

static int set_server(parser_t *p, const char *key, const char *value)
{
    cfg_t *c = p->c;
    /* Ids are unique and 1..255, so there is always room. */
    cfg_server_t *s = &c->servers[c->nservers];
    if (parse_server_line(p, key, value, s) != 0) {
        return -1;
    }
    if (p->server_line[s->id] != 0) {
        return bad_value(p, key, value, "server %u is already defined on "
                         "line %d", (unsigned)s->id, p->server_line[s->id]);
    }
    p->server_line[s->id] = p->line;
    c->nservers++;
    return 0;
}

int cfg_parse_server(const char *key, const char *value, cfg_server_t *out,
                     char *err, size_t errlen)
{
    parser_t p;
    memset(&p, 0, sizeof p);
    p.name = "server";
    p.err = err;
    p.errlen = errlen;
    if (strncmp(key, "server.", 7) != 0) {
        snprintf(err, errlen, "'%.64s' is not server.N", key);
        return -1;
    }
    return parse_server_line(&p, key, value, out);
}

size_t cfg_server_format(const cfg_server_t *v, char *buf, size_t size)
{
    bool v6 = strchr(v->host, ':') != NULL;
    int n = snprintf(buf, size, "server.%u=%s%s%s:%u:%u:%s", v->id,
                     v6 ? "[" : "", v->host, v6 ? "]" : "", v->quorum_port,
                     v->election_port,
                     v->observer ? "observer" : "participant");
    if (n >= 0 && (size_t)n < size && v->client_port) {
        bool c6 = strchr(v->client_host, ':') != NULL;
        int k = snprintf(buf + n, size - (size_t)n, ";%s%s%s:%u",
                         c6 ? "[" : "",
                         v->client_host[0] ? v->client_host : "0.0.0.0",
                         c6 ? "]" : "", v->client_port);
        n = k < 0 ? k : n + k;
    }
    return n < 0 ? 0 : (size_t)n;
}

/* ---- SASL super users ------------------------------------------------ */

#define SASL_PROVIDER                                                      \
    "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"

/* zookeeper.superUser and zookeeper.superUser.X (ZooKeeperServer
 * .isSaslSuperUser reads every such property): a SASL user name that is
 * super.  The same key again replaces its value, as a property would. */
static int set_super_user(parser_t *p, const char *key, const char *bare,
                          const char *value)
{
    cfg_t *c = p->c;
    cfg_super_user_t *u = NULL;
    if (*value == '\0') {
        return bad_value(p, key, value, "empty");
    }
    if (strlen(bare) >= sizeof u->key) {
        return bad_value(p, key, value, "key too long");
    }
    for (size_t i = 0; i < c->nsuper_users; i++) {
        if (strcmp(c->super_users[i].key, bare) == 0) {
            u = &c->super_users[i];
            tell(p, p->line,
                 "warning: %s set again (first on line %d); the last value "
                 "counts", key, u->line);
        }
    }
    if (u == NULL) {
        if (c->nsuper_users == CFG_MAX_SUPER_USERS) {
            return bad_value(p, key, value, "more than %d superUser keys",
                             CFG_MAX_SUPER_USERS);
        }
        u = &c->super_users[c->nsuper_users++];
        memcpy(u->key, bare, strlen(bare) + 1);
    }
    if (copy_str(u->name, sizeof u->name, value) != 0) {
        return bad_value(p, key, value, "too long (at most %zu bytes)",
                         sizeof u->name - 1);
    }
    u->line = p->line;
    return 0;
}

/* ---- keys zabd does not act on --------------------------------------- */

/* ZooKeeper settings zabd accepts and ignores: exact names, then
 * prefixes. */
static const char *const zk_ignored_keys[] = {
    "standaloneEnabled", "autopurge.purgeInterval",
    "quorumListenOnAllIPs", "electionAlg", "preAllocSize", "syncEnabled",
    "localSessionsEnabled", "localSessionsUpgradingEnabled", "skipACL",
    "leaderServes", "cnxTimeout", "dynamicConfigFile", "serverCnxnFactory",
    "clientPortListenBacklog", "observerMasterPort",
    "connectToLearnerMasterLimit", "portUnification",
    "sslQuorumReloadCertFiles", "quorum.cnxn.threads.size", "oraclePath",
    "electionPortBindRetry", "tcpKeepAlive", "clientTcpKeepAlive",
    "fsync.warningthresholdms", "txnLogSizeLimitInKb", "snapSizeLimitInKb",
    "maxCnxns", "commitLogCount", "maxResponseCacheSize",
    "maxGetChildrenResponseCacheSize", "flushDelay", "maxWriteQueuePollTime",
    "maxBatchSize", "requestThrottleLimit", "requestThrottleStallTime",
    "requestThrottleDropStale", "requestStaleLatencyCheck",
    "requestStaleConnectionCheck", "enforceQuota", "digest.enabled",
    "audit.enable", "learner.asyncSending", "learner.closeSocketAsync",
    "leader.closeSocketAsync", "serializeLastProcessedZxid.enabled",
    "snapshot.trust.empty", "snapshot.compression.method",
    "sessionRequireClientSASLAuth", "enforce.auth.enabled",
    "enforce.auth.schemes", "X509AuthenticationProvider.superUser",
    "watchManagerName", "connectionMaxTokens",
    "connectionTokenFillTime", "connectionTokenFillCount",
    "connectionFreezeTime", "connectionDropIncrease",
    "connectionDropDecrease", "connectionDecreaseRatio",
    "allowSaslFailedClients", "letAnySaslUserDoX",
    /* TLS settings with no use in zabd (X509Util, NettyServerCnxnFactory):
     * the Java provider, the x509 ACL scheme, certificate reloading, port
     * unification (ssl.crl/ssl.ocsp: see zk_protections). */
    "ssl.crl", "ssl.ocsp", "ssl.quorum.crl", "ssl.quorum.ocsp",
    "ssl.context.supplier.class", "ssl.quorum.context.supplier.class",
    "ssl.handshakeDetectionTimeoutMillis",
    "ssl.quorum.handshakeDetectionTimeoutMillis", "ssl.authProvider",
    "ssl.sslProvider", "client.portUnification",
};

static const char *const zk_ignored_prefixes[] = {
    "admin.", "metricsProvider.", "authProvider.", "quorum.auth.",
    "multiAddress.", "jvm.pause.", "kerberos.", "netty.",
};

static int zk_ignored(const char *key)
{
    for (size_t i = 0; i < sizeof zk_ignored_keys / sizeof *zk_ignored_keys;
         i++) {
        if (strcmp(key, zk_ignored_keys[i]) == 0) {
            return 1;
        }
    }
    for (size_t i = 0;
         i < sizeof zk_ignored_prefixes / sizeof *zk_ignored_prefixes; i++) {
        if (has_prefix(key, zk_ignored_prefixes[i])) {
            return 1;
        }
    }
    return 0;
}

/* Ignored settings that, when true, ask for a protection zabd does not
 * give: those deserve a warning, not a mere note. */
static const struct {
    const char *key;
    const char *protection;
} zk_protections[] = {
    {"ssl.crl", "certificate revocation checks (CRL)"},
    {"ssl.ocsp", "certificate revocation checks (OCSP)"},
    {"ssl.quorum.crl", "certificate revocation checks (CRL)"},
    {"ssl.quorum.ocsp", "certificate revocation checks (OCSP)"},
    {"portUnification", "plaintext and TLS on one quorum port"},
    {"sslQuorumReloadCertFiles", "reloading certificates that change"},
    {"quorum.auth.enableSasl", "SASL authentication between servers"},
    {"quorum.auth.serverRequireSasl", "SASL authentication between servers"},
    {"quorum.auth.learnerRequireSasl", "SASL authentication between servers"},
    {"enforce.auth.enabled", "refusing unauthenticated clients"},
    {"sessionRequireClientSASLAuth", "refusing clients without SASL"},
    {"enforceQuota", "refusing writes over a quota's hard limits"},
};

static void note_ignored(parser_t *p, const char *key, const char *value)
{
    char kb[SHOW_BUF];
    for (size_t i = 0; i < sizeof zk_protections / sizeof *zk_protections;
         i++) {
        if (strcmp(key, zk_protections[i].key) == 0 &&
            strcasecmp(value, "true") == 0) {
            tell(p, p->line,
                 "warning: %s=true: zabd does not provide %s and ignores "
                 "this setting", key, zk_protections[i].protection);
            return;
        }
    }
    tell(p, p->line, "note: %s is a ZooKeeper setting zabd does not use",
         shown(key, kb));
}

static void warn_unknown(parser_t *p, const char *key)
{
    char kb[SHOW_BUF];
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcasecmp(key, key_specs[i].name) == 0) {
            tell(p, p->line,
                 "warning: unknown key '%s' ignored (did you mean '%s'?)",
                 shown(key, kb), key_specs[i].name);
            return;
        }
    }
    tell(p, p->line, "warning: unknown key '%s' ignored", shown(key, kb));
}

/* ---- one entry ------------------------------------------------------- */

static int apply_entry(parser_t *p, const char *key, const char *value)
{
    const key_spec_t *k = find_key(key);
    if (k) {
        int *seen = &p->key_line[k - key_specs];
        if (*seen) {
            tell(p, p->line,
                 "warning: %s set again (first on line %d); the last value "
                 "counts", key, *seen);
        }
        *seen = p->line;
        /* Messages name the key as written (zookeeper.K or K). */
        key_spec_t as_written = *k;
        as_written.name = key;
        return k->set(p, &as_written, value);
    }
    if (has_prefix(key, "server.")) {
        return set_server(p, key, value);
    }
    const char *bare = key; /* without zookeeper. prefixes, as find_key */
    while (has_prefix(bare, "zookeeper.")) {
        bare += strlen("zookeeper.");
    }
    if (strcmp(bare, "superUser") == 0 || has_prefix(bare, "superUser.")) {
        return set_super_user(p, key, bare, value);
    }
    /* What enables the sasl scheme in ZooKeeper; zabd always has it. */
    if (has_prefix(bare, "authProvider.") &&
        strcmp(value, SASL_PROVIDER) == 0) {
        return 0;
    }
    /* Hierarchical quorums change who votes and how much: running them as
     * plain majorities would be a different ensemble, so refuse. */
    if (has_prefix(key, "group.") || has_prefix(key, "weight.")) {
        return bad_value(p, key, value,
                         "hierarchical quorums (group.N, weight.N) are not "
                         "supported by zabd");
    }
    /* Ignored keys, like table keys, may carry the zookeeper. prefix. */
    if (zk_ignored(bare)) {
        note_ignored(p, bare, value);
        return 0;
    }
    warn_unknown(p, key);
    return 0;
}

/* Cuts a logical line into key and value as Properties does: the key ends
 * at the first '=', ':' or blank; blanks, at most one '=' or ':' and blanks
 * again separate it from the value.  The value is trimmed (ZooKeeper
 * trims every value). */
static int apply_line(parser_t *p, char *line)
{
    char *s = line;
    while (*s && *s != '=' && *s != ':' && !is_blank(*s)) {
        s++;
    }
    char *key_end = s;
    while (is_blank(*s)) {
        s++;
    }
    if (*s == '=' || *s == ':') {
        s++;
    }
    char *value = trim(s);
    *key_end = '\0';
    return apply_entry(p, line, value);
}

/* ---- Properties lines ------------------------------------------------ */

typedef struct line_reader {
    const char *pos, *end;
    int lineno; /* physical lines read so far */
} line_reader_t;

/* The next physical line, without its terminator (\n, \r or \r\n). */
static int next_physical(line_reader_t *r, const char **start, size_t *len)
{
    if (r->pos >= r->end) {
        return 0;
    }
    const char *s = r->pos, *e = s;
    while (e < r->end && *e != '\n' && *e != '\r') {
        e++;
    }
    *start = s;
    *len = (size_t)(e - s);
    if (e < r->end) {
        e += (*e == '\r' && e + 1 < r->end && e[1] == '\n') ? 2 : 1;
    }
    r->pos = e;
    r->lineno++;
    return 1;
}

static void skip_blanks(const char **s, size_t *len)
{
    while (*len > 0 && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
}

/* A line continues on the next when it ends in an odd number of
 * backslashes (an even number is escaped backslashes). */
static int continues(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[len - 1 - n] == '\\') {
        n++;
    }
    return n % 2 == 1;
}

/* The next logical line into out (room for the whole text), without
 * leading blanks, continuations joined; blank and comment lines skipped.
 * *first is the number of its first physical line.  Returns 0 at end. */
static int next_logical(line_reader_t *r, char *out, int *first)
{
    const char *s;
    size_t len = 0;
    for (;;) {
        if (!next_physical(r, &s, &len)) {
            return 0;
        }
        skip_blanks(&s, &len);
        if (len > 0 && *s != '#' && *s != '!') {
            break;
        }
    }
    *first = r->lineno;
    size_t used = 0;
    for (;;) {
        int more = continues(s, len);
        if (more) {
            len--;
        }
        memcpy(out + used, s, len);
        used += len;
        /* A continuation line's leading blanks are not part of the value,
         * and a '#' there is text, not a comment. */
        if (!more || !next_physical(r, &s, &len)) {
            break;
        }
        skip_blanks(&s, &len);
    }
    out[used] = '\0';
    return 1;
}

/* ---- whole-file checks ----------------------------------------------- */

/* Session timeout defaults need the final tickTime. */
static int finish_session_timeouts(parser_t *p)
{
    cfg_t *c = p->c;
    long long tick = c->tick_time;
    if ((c->min_session_timeout == UNSET_TIMEOUT && 2 * tick > INT_MAX) ||
        (c->max_session_timeout == UNSET_TIMEOUT && 20 * tick > INT_MAX)) {
        return fail_at(p, line_of(p, "tickTime"),
                       "tickTime: too large: the default session timeouts "
                       "(2 and 20 * tickTime) exceed %d ms (value '%d')",
                       INT_MAX, c->tick_time);
    }
    if (c->min_session_timeout == UNSET_TIMEOUT) {
        c->min_session_timeout = (int)(2 * tick);
    }
    if (c->max_session_timeout == UNSET_TIMEOUT) {
        c->max_session_timeout = (int)(20 * tick);
    }
    if (c->min_session_timeout <= c->max_session_timeout) {
        return 0;
    }
    if (p->max_timeout_line) {
        p->line = p->max_timeout_line;
        char v[32];
        snprintf(v, sizeof v, "%d", c->max_session_timeout);
        return bad_value(p, "maxSessionTimeout", v,
                         "smaller than minSessionTimeout (%d ms)",
                         c->min_session_timeout);
    }
    p->line = p->min_timeout_line;
    char v[32];
    snprintf(v, sizeof v, "%d", c->min_session_timeout);
    return bad_value(p, "minSessionTimeout", v,
                     "larger than maxSessionTimeout (%d ms, 20 * tickTime)",
                     c->max_session_timeout);
}

static void myid_path(const cfg_t *c, char *path, size_t size)
{
    size_t dl = strlen(c->data_dir);
    snprintf(path, size, "%s%smyid", c->data_dir,
             dl > 0 && c->data_dir[dl - 1] == '/' ? "" : "/");
}

/* dataDir/myid: a decimal id, blanks and newlines around it allowed
 * (ZooKeeper's Long.parseLong of the first line is stricter). */
static int read_myid_file(parser_t *p)
{
    cfg_t *c = p->c;
    char path[sizeof c->data_dir + 8];
    myid_path(c, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        return fail_at(p, 0,
                       "cannot open the myid file %s: %s (each server of an "
                       "ensemble needs dataDir/myid holding its id, or a "
                       "myid key)", path, strerror(e));
    }
    char buf[MYID_FILE_MAX + 1];
    size_t n = fread(buf, 1, sizeof buf, f);
    int failed = ferror(f);
    int e = errno;
    fclose(f);
    if (failed) {
        return fail_at(p, 0, "cannot read the myid file %s: %s", path,
                       strerror(e));
    }
    if (n > MYID_FILE_MAX) {
        return fail_at(p, 0, "myid file %s: too long for a server id",
                       path);
    }
    /* A NUL inside would hide what follows it from the checks below. */
    int has_nul = memchr(buf, '\0', n) != NULL;
    buf[n] = '\0';
    char *text = trim(buf);
    unsigned long long v = 0;
    int rc = has_nul ? NUM_BAD : digits_value(text, 10, &v);
    if (rc != NUM_OK || v < 1 || v > CFG_MAX_SERVERS) {
        char tb[SHOW_BUF];
        return fail_at(p, 0,
                       "myid file %s: not a server id from 1 to %d "
                       "(content '%s')", path, CFG_MAX_SERVERS,
                       shown(text, tb));
    }
    c->myid = (uint32_t)v;
    return 0;
}

/* The ZooKeeper warnings about ensemble sizes. */
static void check_ensemble_size(parser_t *p, size_t participants)
{
    if (participants <= 2) {
        tell(p, 0,
             "warning: %zu participant%s: no server failure will be "
             "tolerated; you need at least 3 servers", participants,
             participants == 1 ? "" : "s");
    } else if (participants % 2 == 0) {
        tell(p, 0,
             "warning: %zu participants: consider an odd number of servers "
             "(%zu tolerate no more failures than %zu)", participants,
             participants, participants - 1);
    }
}

/* myid, this server's line and peerType. */
static int finish_ensemble(parser_t *p)
{
    cfg_t *c = p->c;
    int peer_type_line = line_of(p, "peerType");
    if (c->nservers == 0) {
        c->standalone = 1;
        if (line_of(p, "myid") == 0) {
            c->myid = 1;
        }
        if (c->observer_self) {
            p->line = peer_type_line;
            return bad_value(p, "peerType", "observer",
                             "an observer needs server.N lines naming the "
                             "ensemble");
        }
        return 0;
    }
    c->standalone = 0;
    size_t participants = 0;
    for (size_t i = 0; i < c->nservers; i++) {
        participants += !c->servers[i].observer;
    }
    if (participants == 0) {
        return fail_at(p, 0,
                       "every server.N line is an observer: an ensemble "
                       "needs at least one participant");
    }
    if (line_of(p, "myid") == 0 && read_myid_file(p) != 0) {
        return -1;
    }
    const cfg_server_t *self = cfg_self(c);
    if (self == NULL) {
        int myid_line = line_of(p, "myid");
        char path[sizeof c->data_dir + 8];
        myid_path(c, path, sizeof path);
        return fail_at(p, myid_line, "myid %u (from %s) matches no server.N "
                       "line", (unsigned)c->myid,
                       myid_line ? "the myid key" : path);
    }
    if (peer_type_line && c->observer_self != self->observer) {
        p->line = peer_type_line;
        return bad_value(p, "peerType",
                         c->observer_self ? "observer" : "participant",
                         "server.%u (line %d) says %s", (unsigned)self->id,
                         p->server_line[self->id],
                         self->observer ? "observer" : "participant");
    }
    c->observer_self = self->observer;
    check_ensemble_size(p, participants);
    return 0;
}

static int is_wildcard(const char *host)
{
    return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* The client port: clientPort, or ";[addr:]port" on this server's line
 * (both may be given if they agree, as QuorumPeerConfig.setupClientPort
 * checks). */
static int finish_client_port(parser_t *p)
{
    cfg_t *c = p->c;
    const cfg_server_t *self = cfg_self(c);
    int port_line = line_of(p, "clientPort");
    int addr_line = line_of(p, "clientPortAddress");
    if (self == NULL || self->client_port == 0) {
        if (port_line == 0 && c->secure_client_port == 0) {
            return fail_at(p, 0, "clientPort is not set%s",
                           self ? " (nor a ;clientPort on this server's "
                                  "server.N line)"
                                : "");
        }
        return 0;
    }
    int self_line = p->server_line[self->id];
    if (port_line && c->client_port != self->client_port) {
        p->line = port_line;
        char v[16];
        snprintf(v, sizeof v, "%d", c->client_port);
        return bad_value(p, "clientPort", v,
                         "differs from the client port %u of server.%u "
                         "(line %d)", (unsigned)self->client_port,
                         (unsigned)self->id, self_line);
    }
    if (self->client_host[0]) {
        if (addr_line && !is_wildcard(c->client_address) &&
            strcmp(c->client_address, self->client_host) != 0) {
            p->line = addr_line;
            char hb[SHOW_BUF];
            return bad_value(p, "clientPortAddress", c->client_address,
                             "differs from the client address '%s' of "
                             "server.%u (line %d)",
                             shown(self->client_host, hb),
                             (unsigned)self->id, self_line);
        }
        memcpy(c->client_address, self->client_host,
               sizeof c->client_address);
    }
    c->client_port = self->client_port;
    return 0;
}

/* ---- TLS ------------------------------------------------------------- */

/* A TLS version of Java's SSLContext names: 12 or 13, 0 for "TLS" (any),
 * -1 for the versions zabd refuses to speak, -2 for a name Java does not
 * know. */
static int tls_version_of(const char *name)
{
    static const char *const old[] = {"TLSv1", "TLSv1.1", "SSLv3", "SSL",
                                      "SSLv2", "SSLv2Hello"};
    if (strcasecmp(name, "TLSv1.2") == 0) {
        return 12;
    }
    if (strcasecmp(name, "TLSv1.3") == 0) {
        return 13;
    }
    if (strcasecmp(name, "TLS") == 0) {
        return 0;
    }
    for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
        if (strcasecmp(name, old[i]) == 0) {
            return -1;
        }
    }
    return -2;
}

/* Adds version v (as tls_version_of) to the set of allowed versions
 * (bit 0: TLS 1.2, bit 1: TLS 1.3). */
static void add_version(int v, unsigned *set)
{
    *set |= v == 12 ? 1u : v == 13 ? 2u : v == 0 ? 3u : 0u;
}

/* enabledProtocols: a comma-separated list; old versions are dropped with
 * a warning (TLS 1.2 is the least zabd speaks), unknown names refused. */
static int enabled_versions(parser_t *p, const char *key, const char *list,
                            unsigned *set)
{
    char buf[sizeof ((cfg_tls_t *)0)->enabled_protocols];
    memcpy(buf, list, strlen(list) + 1);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        w = trim(w);
        int v = tls_version_of(w);
        if (v == -2) {
            char wb[SHOW_BUF];
            p->line = line_of(p, key);
            return bad_value(p, key, list, "unknown protocol '%s'",
                             shown(w, wb));
        }
        if (v == -1) {
            char wb[SHOW_BUF];
            tell(p, line_of(p, key),
                 "warning: %s: %s is not supported by zabd (TLSv1.2 and "
                 "TLSv1.3 only); left out", key, shown(w, wb));
        }
        add_version(v, set);
    }
    return 0;
}

/* protocol and enabledProtocols as SSLContextAndOptions reads them: the
 * enabled list if given, else the context's protocol alone; neither given
 * means TLS 1.2 and 1.3 (ZooKeeper 3.8 defaults to TLSv1.2 alone, 3.9 to
 * both). */
static int finish_versions(parser_t *p, cfg_tls_t *t, const char *prefix)
{
    char key[64];
    unsigned set = 0;
    snprintf(key, sizeof key, "%senabledProtocols", prefix);
    if (line_of(p, key) && t->enabled_protocols[0]) {
        if (enabled_versions(p, key, t->enabled_protocols, &set) != 0) {
            return -1;
        }
    } else if (t->protocol[0]) {
        snprintf(key, sizeof key, "%sprotocol", prefix);
        int v = tls_version_of(t->protocol);
        if (v < 0) {
            p->line = line_of(p, key);
            return bad_value(p, key, t->protocol, "%s",
                             v == -1 ? "zabd speaks TLSv1.2 and TLSv1.3 only"
                                     : "unknown protocol (want TLSv1.2, "
                                       "TLSv1.3 or TLS)");
        }
        add_version(v, &set);
    } else {
        set = 3;
    }
    if (set == 0) {
        p->line = line_of(p, key);
        return bad_value(p, key, t->enabled_protocols,
                         "no protocol zabd speaks (TLSv1.2, TLSv1.3)");
    }
    t->version_min = (set & 1) ? 12 : 13;
    t->version_max = (set & 2) ? 13 : 12;
    return 0;
}

/* The type of a store that is used: as given, or from the file name
 * (KeyStoreFileType.fromFilename); zabd reads PEM and PKCS12 only. */
static int finish_store_type(parser_t *p, const char *prefix,
                             const char *store, const char *location,
                             int *type)
{
    char key[64], loc_key[64];
    snprintf(key, sizeof key, "%s%s.type", prefix, store);
    snprintf(loc_key, sizeof loc_key, "%s%s.location", prefix, store);
    if (*type == CFG_STORE_AUTO) {
        const char *dot = strrchr(location, '.');
        static const struct {
            const char *ext;
            int type;
        } exts[] = {{".pem", CFG_STORE_PEM}, {".p12", CFG_STORE_PKCS12},
                    {".jks", CFG_STORE_JKS}, {".bcfks", CFG_STORE_BCFKS}};
        for (size_t i = 0; dot && i < sizeof exts / sizeof *exts; i++) {
            if (strcmp(dot, exts[i].ext) == 0) {
                *type = exts[i].type;
            }
        }
        if (*type == CFG_STORE_AUTO) {
            p->line = line_of(p, loc_key);
            return bad_value(p, loc_key, location,
                             "cannot tell the store type from the file name "
                             "(.pem, .p12, .jks, .bcfks): set %s", key);
        }
    }
    if (*type == CFG_STORE_JKS || *type == CFG_STORE_BCFKS) {
        const char *name = *type == CFG_STORE_JKS ? "JKS" : "BCFKS";
        int line = line_of(p, key);
        p->line = line ? line : line_of(p, loc_key);
        return bad_value(p, line ? key : loc_key, line ? name : location,
                         "zabd reads PEM (or PKCS12) stores, not %s: convert "
                         "it, e.g. with keytool -importkeystore "
                         "-deststoretype PKCS12", name);
    }
    return 0;
}

/* One side that is used (`user` is the key that uses it, for messages):
 * a key store always, a trust store where certificates are checked, the
 * store types, the versions. */
static int finish_tls_side(parser_t *p, cfg_tls_t *t, const char *prefix,
                           const char *user, int quorum)
{
    char key[64];
    int user_line = line_of(p, user);
    if (t->keystore[0] == '\0') {
        return fail_at(p, user_line,
                       "%s needs %skeyStore.location (a PEM file holding "
                       "this server's private key and certificate chain)",
                       user, prefix);
    }
    if (finish_store_type(p, prefix, "keyStore", t->keystore,
                          &t->keystore_type) != 0) {
        return -1;
    }
    if (t->truststore[0] == '\0') {
        if (quorum || t->client_auth != CFG_AUTH_NONE) {
            return fail_at(p, user_line,
                           "%s needs %strustStore.location (the CA "
                           "certificates that sign the %s' certificates)%s",
                           user, prefix, quorum ? "members" : "clients",
                           quorum ? ""
                                  : ", or ssl.clientAuth=none");
        }
    } else if (finish_store_type(p, prefix, "trustStore", t->truststore,
                                 &t->truststore_type) != 0) {
        return -1;
    }
    if (quorum && t->client_auth != CFG_AUTH_NEED) {
        snprintf(key, sizeof key, "%sclientAuth", prefix);
        tell(p, line_of(p, key),
             "warning: %s=%s: a process without a certificate may connect "
             "to the quorum port and claim a member's id", key,
             t->client_auth == CFG_AUTH_WANT ? "want" : "none");
    }
    if (quorum && !t->hostname_verification) {
        snprintf(key, sizeof key, "%shostnameVerification", prefix);
        tell(p, line_of(p, key),
             "warning: %s=false: any holder of a certificate the trust "
             "store accepts may claim any member's id", key);
    }
    return finish_versions(p, t, prefix);
}

/* secureClientPort (and its address) and sslQuorum, as
 * QuorumPeerConfig.parseProperties checks them. */
static int finish_tls(parser_t *p)
{
    cfg_t *c = p->c;
    if (c->secure_client_port == 0) {
        int addr_line = line_of(p, "secureClientPortAddress");
        if (addr_line) {
            return fail_at(p, addr_line, "secureClientPortAddress is set "
                                         "but secureClientPort is not");
        }
    } else {
        if (c->secure_client_port == c->client_port) {
            char v[16];
            p->line = line_of(p, "secureClientPort");
            snprintf(v, sizeof v, "%d", c->secure_client_port);
            return bad_value(p, "secureClientPort", v,
                             "the same port as the plaintext client port");
        }
        if (finish_tls_side(p, &c->tls_client, "ssl.", "secureClientPort",
                            0) != 0) {
            return -1;
        }
    }
    if (c->ssl_quorum && c->standalone) {
        tell(p, line_of(p, "sslQuorum"),
             "note: sslQuorum=true has no effect on a standalone server");
    } else if (c->ssl_quorum &&
               finish_tls_side(p, &c->tls_quorum, "ssl.quorum.", "sslQuorum",
                               1) != 0) {
        return -1;
    }
    return 0;
}

static int finish(parser_t *p)
{
    cfg_t *c = p->c;
    if (c->data_dir[0] == '\0') {
        return fail_at(p, 0, "dataDir is not set");
    }
    if (c->data_log_dir[0] == '\0') {
        memcpy(c->data_log_dir, c->data_dir, sizeof c->data_log_dir);
    }
    if (finish_session_timeouts(p) != 0 || finish_ensemble(p) != 0 ||
        finish_client_port(p) != 0 || finish_tls(p) != 0) {
        return -1;
    }
    return 0;
}

/* ---- entry points ---------------------------------------------------- */

void cfg_default(cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->tick_time = 2000;
    c->init_limit = 10;
    c->sync_limit = 5;
    memcpy(c->client_address, "0.0.0.0", sizeof "0.0.0.0");
    c->max_client_cnxns = 60;
    c->min_session_timeout = 2 * c->tick_time;
    c->max_session_timeout = 20 * c->tick_time;
    c->jute_maxbuffer = 0xfffff;
    c->global_outstanding_limit = 1000;
    c->snap_count = 100000;
    c->snap_retain_count = MIN_SNAP_RETAIN;
    c->force_sync = 1;
    c->sync_diff_max = 100000;
    c->container_check_ms = 10000;
    c->extended_types = 0;
    memcpy(c->fourlw_whitelist, "srvr", sizeof "srvr");
    memcpy(c->session_secret, "zabd", sizeof "zabd");
    memcpy(c->sasl_section, "Server", sizeof "Server");
    memcpy(c->secure_client_address, "0.0.0.0", sizeof "0.0.0.0");
    c->tls_client.hostname_verification = 1;
    c->tls_quorum.hostname_verification = 1;
    c->myid = 1;
    c->standalone = 1;
}

/* Parses text[0..len) (no NUL inside) into *c. */
static int parse_text(const char *text, size_t len, const char *name,
                      cfg_t *c, char *err, size_t errlen,
                      void (*warn)(void *ud, const char *line), void *ud)
{
    parser_t p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.name = name;
    p.err = err;
    p.errlen = errlen;
    p.warn = warn;
    p.ud = ud;
    cfg_default(c);
    c->min_session_timeout = UNSET_TIMEOUT;
    c->max_session_timeout = UNSET_TIMEOUT;

    char *line = malloc(len + 1); /* a logical line is never longer */
    if (line == NULL) {
        return fail_at(&p, 0, "out of memory");
    }
    line_reader_t r = {text, text + len, 0};
    int rc = 0;
    while (rc == 0 && next_logical(&r, line, &p.line)) {
        rc = apply_line(&p, line);
    }
    free(line);
    if (rc == 0) {
        p.line = 0;
        rc = finish(&p);
    }
    return rc;
}

/* Reads the whole file into a new buffer. */
static int read_file(const char *path, char **out, size_t *len,
                     parser_t *p)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        return fail_at(p, 0, "cannot open: %s", strerror(e));
    }
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        fclose(f);
        return fail_at(p, 0, "out of memory");
    }
    /* Read until a short read (end of file or error) or past the limit;
     * no fseek/ftell, so that a pipe works too. */
    for (;;) {
        used += fread(buf + used, 1, cap - used, f);
        if (used < cap || used > FILE_MAX) {
            break;
        }
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            fclose(f);
            return fail_at(p, 0, "out of memory");
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f);
    int e = errno;
    fclose(f);
    if (failed) {
        free(buf);
        return fail_at(p, 0, "cannot read: %s", strerror(e));
    }
    if (used > FILE_MAX) {
        free(buf);
        return fail_at(p, 0, "larger than %u bytes: not a zoo.cfg",
                       FILE_MAX);
    }
    *out = buf;
    *len = used;
    return 0;
}

/* The number of the physical line holding text[off], counting line ends
 * as next_physical does (\n, \r\n, \r). */
static int line_number_at(const char *text, size_t off)
{
    int n = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n' || (text[i] == '\r' && text[i + 1] != '\n')) {
            n++;
        }
    }
    return n;
}

int cfg_load(const char *path, cfg_t *c, char *err, size_t errlen,
             void (*warn)(void *ud, const char *line), void *ud)
{
    parser_t p;
    memset(&p, 0, sizeof p);
    p.name = path ? path : "(null)";
    p.err = err;
    p.errlen = errlen;
    if (err && errlen) {
        err[0] = '\0';
    }
    if (path == NULL || c == NULL) {
        return fail_at(&p, 0, "no file or no cfg_t given");
    }
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, &p) != 0) {
        return -1;
    }
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = line_number_at(text, (size_t)(nul - text));
        free(text);
        return fail_at(&p, line, "NUL byte in the file: not a zoo.cfg");
    }
    int rc = parse_text(text, len, path, c, err, errlen, warn, ud);
    free(text);
    return rc;
}

int cfg_parse(const char *text, const char *name, cfg_t *c, char *err,
              size_t errlen, void (*warn)(void *ud, const char *line),
              void *ud)
{
    if (err && errlen) {
        err[0] = '\0';
    }
    if (name == NULL) {
        name = "(config)";
    }
    if (text == NULL || c == NULL) {
        parser_t p;
        memset(&p, 0, sizeof p);
        p.name = name;
        p.err = err;
        p.errlen = errlen;
        return fail_at(&p, 0, "no text or no cfg_t given");
    }
    return parse_text(text, strlen(text), name, c, err, errlen, warn, ud);
}

const cfg_server_t *cfg_self(const cfg_t *c)
{
    if (c == NULL || c->standalone) {
        return NULL;
    }
    for (size_t i = 0; i < c->nservers; i++) {
        if (c->servers[i].id == c->myid) {
            return &c->servers[i];
        }
    }
    return NULL;
}

int cfg_fourlw_allowed(const cfg_t *c, const char *cmd)
{
    if (c == NULL || cmd == NULL || *cmd == '\0') {
        return 0;
    }
    /* ZooKeeper always enables srvr, whatever the list: zkServer.sh
     * status depends on it. */
    if (strcmp(cmd, "srvr") == 0) {
        return 1;
    }
    if (strcmp(c->fourlw_whitelist, "*") == 0) {
        return 1;
    }
    return list_has(c->fourlw_whitelist, cmd, strlen(cmd));
}
