/*
 * cmd.c -- encoding of the replicated command (see cmd.h).
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

#define CMD_MAGIC 'Z'
#define CMD_VERSION 1

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int err;
} wbuf_t;

static void put(wbuf_t *w, const void *d, size_t n)
{
    if (w->err)
        return;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->err = 1;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void put_u64(wbuf_t *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    put(w, b, 8);
}

static void put_u32(wbuf_t *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
                     (uint8_t)(v >> 8), (uint8_t)v };
    put(w, b, 4);
}

static void put_str(wbuf_t *w, const char *s)
{
    size_t n = strlen(s);
    if (n > ACL_MAX_STR) {
        /* The decoder would refuse it on every replica. */
        w->err = 1;
        return;
    }
    put_u32(w, (uint32_t)n);
    put(w, s, n);
}

int cmd_encode(const cmd_t *c, uint8_t **out, size_t *len)
{
    wbuf_t w = { 0 };
    uint8_t head[4] = { CMD_MAGIC, CMD_VERSION, 0, 0 };
    if (c->nids > CMD_MAX_IDS || c->request_len > UINT32_MAX)
        return -1;
    put(&w, head, 4);
    put_u32(&w, c->origin);
    put_u64(&w, c->incarnation);
    put_u64(&w, c->seq);
    put_u64(&w, (uint64_t)c->session);
    put_u64(&w, (uint64_t)c->time);
    put_u32(&w, (uint32_t)c->type);
    put_u32(&w, (uint32_t)c->arg);
    put_u32(&w, (uint32_t)c->nids);
    for (size_t i = 0; i < c->nids; i++) {
        put_str(&w, c->ids[i].scheme);
        put_str(&w, c->ids[i].id);
    }
    put_u32(&w, (uint32_t)c->request_len);
    if (c->request_len)
        put(&w, c->request, c->request_len);
    if (w.err) {
        free(w.p);
        return -1;
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t left;
    int err;
} rbuf_t;

static const uint8_t *take(rbuf_t *r, size_t n)
{
    if (r->err || r->left < n) {
        r->err = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint64_t get_u64(rbuf_t *r)
{
    const uint8_t *p = take(r, 8);
    uint64_t v = 0;
    if (!p)
        return 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t get_u32(rbuf_t *r)
{
    const uint8_t *p = take(r, 4);
    if (!p)
        return 0;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static char *get_str(rbuf_t *r)
{
    uint32_t n = get_u32(r);
    if (n > ACL_MAX_STR) {
        r->err = 1;
        return NULL;
    }
    const uint8_t *p = take(r, n);
    if (!p)
        return NULL;
    if (n && memchr(p, '\0', n)) { /* C strings cannot hold it */
        r->err = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->err = 1;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void cmd_free(cmd_t *c)
{
    for (size_t i = 0; i < c->nids; i++) {
        free(c->ids[i].scheme);
        free(c->ids[i].id);
    }
    c->nids = 0;
}

int cmd_decode(const uint8_t *buf, size_t len, cmd_t *c)
{
    rbuf_t r = { buf, len, 0 };
    memset(c, 0, sizeof *c);
    const uint8_t *head = take(&r, 4);
    if (!head || head[0] != CMD_MAGIC || head[1] != CMD_VERSION ||
        head[2] != 0 || head[3] != 0)
        return -1;
    c->origin = get_u32(&r);
    c->incarnation = get_u64(&r);
    c->seq = get_u64(&r);
    c->session = (int64_t)get_u64(&r);
    c->time = (int64_t)get_u64(&r);
    c->type = (int32_t)get_u32(&r);
    c->arg = (int32_t)get_u32(&r);
    uint32_t nids = get_u32(&r);
    if (r.err || nids > CMD_MAX_IDS)
        return -1;
    for (uint32_t i = 0; i < nids && !r.err; i++) {
        char *scheme = get_str(&r);
        char *id = scheme ? get_str(&r) : NULL;
        if (!scheme || !id) {
            free(scheme);
            break;
        }
        c->ids[c->nids].scheme = scheme;
        c->ids[c->nids].id = id;
        c->nids++;
    }
    uint32_t rlen = get_u32(&r);
    const uint8_t *req = take(&r, rlen);
    if (r.err || r.left != 0) {
        cmd_free(c);
        return -1;
    }
    c->request = req;
    c->request_len = rlen;
    return 0;
}
