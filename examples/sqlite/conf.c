/*
 * conf.c -- the cluster configuration file (see conf.h).
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zab.h>

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* "host:port" or "[v6]:port". */
static int parse_addr(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    size_t hl;
    const char *h = s;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    uint64_t p;
    if (parse_u64(colon + 1, &p) != 0 || p == 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

/* `rel` resolved against the directory of the config file. */
static int resolve_path(const char *cfgpath, const char *rel, char *out,
                        size_t outlen)
{
    int n;
    const char *slash = strrchr(cfgpath, '/');
    if (rel[0] == '/' || !slash)
        n = snprintf(out, outlen, "%s", rel);
    else
        n = snprintf(out, outlen, "%.*s/%s", (int)(slash - cfgpath), cfgpath,
                     rel);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int parse_node(const char *path, conf_t *c, uint32_t id, int observer,
                      char *val, char *err, size_t errlen)
{
    char *f[5];
    size_t nf = 0;
    char *save = NULL;
    for (char *t = strtok_r(val, " \t", &save); t && nf < 5;
         t = strtok_r(NULL, " \t", &save))
        f[nf++] = t;
    if (nf != 4) {
        snprintf(err, errlen,
                 "want: <peer host:port> <client host:port> <db file> "
                 "<log dir>");
        return -1;
    }
    if (conf_node(c, id)) {
        snprintf(err, errlen, "node %u defined twice", id);
        return -1;
    }
    if (c->nnodes == CONF_MAX_NODES) {
        snprintf(err, errlen, "more than %d nodes", CONF_MAX_NODES);
        return -1;
    }
    conf_node_t *n = &c->nodes[c->nnodes];
    memset(n, 0, sizeof *n);
    n->id = id;
    n->observer = observer;
    if (parse_addr(f[0], n->peer_host, sizeof n->peer_host, &n->peer_port) !=
            0 ||
        parse_addr(f[1], n->client_host, sizeof n->client_host,
                   &n->client_port) != 0) {
        snprintf(err, errlen, "bad address (want host:port or [v6]:port)");
        return -1;
    }
    if (resolve_path(path, f[2], n->db_path, sizeof n->db_path) != 0 ||
        resolve_path(path, f[3], n->log_dir, sizeof n->log_dir) != 0) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    c->nnodes++;
    return 0;
}

static int parse_line(const char *path, conf_t *c, char *key, char *val,
                      char *err, size_t errlen)
{
    uint64_t v;
    if (strncmp(key, "node.", 5) == 0 || strncmp(key, "observer.", 9) == 0) {
        int obs = key[0] == 'o';
        if (parse_u64(key + (obs ? 9 : 5), &v) != 0 || v == 0 ||
            v > UINT32_MAX) {
            snprintf(err, errlen, "bad node id in '%s'", key);
            return -1;
        }
        return parse_node(path, c, (uint32_t)v, obs, val, err, errlen);
    }
    if (strncmp(key, "zab.", 4) == 0) {
        int opt;
        if (zab_config_option(key + 4, &opt) != 0) {
            snprintf(err, errlen, "unknown libzab option '%s'", key + 4);
            return -1;
        }
        if (parse_u64(val, &v) != 0) {
            snprintf(err, errlen, "'%s' wants a number", key);
            return -1;
        }
        if (c->nzab_opts == CONF_MAX_ZAB_OPTS) {
            snprintf(err, errlen, "too many zab.* options");
            return -1;
        }
        c->zab_opts[c->nzab_opts].option = opt;
        c->zab_opts[c->nzab_opts].value = v;
        c->nzab_opts++;
        return 0;
    }
    if (strcmp(key, "synchronous") == 0) {
        if (strcmp(val, "normal") == 0 || strcmp(val, "NORMAL") == 0)
            c->sync_full = 0;
        else if (strcmp(val, "full") == 0 || strcmp(val, "FULL") == 0)
            c->sync_full = 1;
        else {
            snprintf(err, errlen, "synchronous is normal or full");
            return -1;
        }
        return 0;
    }
    static const struct {
        const char *name;
        size_t off;
        int positive;
    } nums[] = {
        { "snapshot_every", offsetof(conf_t, snapshot_every), 0 },
        { "segment_bytes", offsetof(conf_t, segment_bytes), 0 },
        { "request_timeout_ms", offsetof(conf_t, request_timeout_ms), 1 },
        { "fence_ms", offsetof(conf_t, fence_ms), 1 },
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(key, nums[i].name) != 0)
            continue;
        if (parse_u64(val, &v) != 0 || (nums[i].positive && v == 0)) {
            snprintf(err, errlen, "'%s' wants a%s number", key,
                     nums[i].positive ? " positive" : "");
            return -1;
        }
        *(uint64_t *)(void *)((char *)c + nums[i].off) = v;
        return 0;
    }
    snprintf(err, errlen, "unknown key '%s'", key);
    return -1;
}

int conf_load(const char *path, conf_t *c, char *err, size_t errlen)
{
    char line[4096], msg[512];
    int lineno = 0, rc = 0;
    FILE *f = fopen(path, "r");
    memset(c, 0, sizeof *c);
    c->snapshot_every = 10000;
    c->request_timeout_ms = 10000;
    c->fence_ms = 1000;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: want key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        if (parse_line(path, c, trim(s), trim(eq + 1), msg, sizeof msg) !=
            0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
        }
    }
    fclose(f);
    if (rc == 0 && c->nnodes == 0) {
        snprintf(err, errlen, "%s: no node.<id> lines", path);
        rc = -1;
    }
    return rc;
}

const conf_node_t *conf_node(const conf_t *c, uint32_t id)
{
    for (size_t i = 0; i < c->nnodes; i++)
        if (c->nodes[i].id == id)
            return &c->nodes[i];
    return NULL;
}
