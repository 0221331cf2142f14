/*
 * codec.c -- encode and decode peer frames (see codec.h for the layout).
 *
 * The decoder is written for hostile input: a bounded reader refuses every
 * read past the end, every field is checked for its kind, payload lengths
 * must match the frame exactly and trailing bytes are an error.  Nothing
 * here allocates.
 */
#include "codec.h"

#include <string.h>

#include "zab.h"

static const char *const kind_names[] = {
    NULL,       "VOTE",      "FOLLOWERINFO", "OBSERVERINFO", "LEADERINFO",
    "ACKEPOCH", "DIFF",      "TRUNC",        "SNAP",         "NEWLEADER",
    "ACKNEWLEADER", "UPTODATE", "PROPOSAL",  "ACK",          "COMMIT",
    "INFORM",   "PING",      "REQUEST",      "SYNC",
};

const char *zab__kind_name(int kind)
{
    if (kind < 1 || kind > ZAB__KIND_MAX) {
        return NULL;
    }
    return kind_names[kind];
}

int zab__kind_from_name(const char *name)
{
    for (int k = 1; k <= ZAB__KIND_MAX; k++) {
        if (strcmp(kind_names[k], name) == 0) {
            return k;
        }
    }
    return 0;
}

/* ---- writer ---------------------------------------------------------- */

static uint8_t *put8(uint8_t *p, uint8_t v)
{
    *p = v;
    return p + 1;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    p = put32(p, (uint32_t)(v >> 32));
    return put32(p, (uint32_t)v);
}

static uint8_t *put_bytes(uint8_t *p, const void *data, uint32_t len)
{
    p = put32(p, len);
    if (len > 0) {
        memcpy(p, data, len);
    }
    return p + len;
}

/* Size of the body of each kind, payload excluded. */
static size_t body_fixed_size(int kind)
{
    switch (kind) {
    case ZAB__VOTE:
        return 1 + 4 + 8 + 8 + 4;
    case ZAB__FOLLOWERINFO:
    case ZAB__OBSERVERINFO:
        return 4 + 8;
    case ZAB__LEADERINFO:
        return 4;
    case ZAB__ACKEPOCH:
        return 1 + 4 + 8;
    case ZAB__DIFF:
    case ZAB__TRUNC:
    case ZAB__UPTODATE:
    case ZAB__ACK:
    case ZAB__COMMIT:
        return 8;
    case ZAB__SNAP:
        return 8 + 8 + 8 + 4;
    case ZAB__NEWLEADER:
    case ZAB__ACKNEWLEADER:
        return 4 + 8;
    case ZAB__PROPOSAL:
    case ZAB__INFORM:
        return 8 + 4;
    case ZAB__PING:
    case ZAB__SYNC:
        return 8 + 8;
    case ZAB__REQUEST:
        return 4;
    default:
        return 0;
    }
}

static int has_payload(int kind)
{
    return kind == ZAB__SNAP || kind == ZAB__PROPOSAL ||
           kind == ZAB__INFORM || kind == ZAB__REQUEST;
}

size_t zab__encoded_size(const zab__msg_t *m)
{
    size_t n = ZAB__HEADER_SIZE + body_fixed_size(m->kind);
    if (has_payload(m->kind)) {
        n += m->len;
    }
    return n;
}

size_t zab__encode(const zab__msg_t *m, uint8_t *buf)
{
    size_t total = zab__encoded_size(m);
    uint8_t *p = buf;
    p = put32(p, (uint32_t)total);
    p = put8(p, ZAB__WIRE_VERSION);
    p = put8(p, m->kind);
    p = put8(p, 0);
    p = put8(p, 0);
    switch (m->kind) {
    case ZAB__VOTE:
        p = put8(p, m->state);
        p = put32(p, m->leader);
        p = put64(p, m->zxid);
        p = put64(p, m->election_epoch);
        p = put32(p, m->epoch);
        break;
    case ZAB__FOLLOWERINFO:
    case ZAB__OBSERVERINFO:
    case ZAB__NEWLEADER:
    case ZAB__ACKNEWLEADER:
        p = put32(p, m->epoch);
        p = put64(p, m->zxid);
        break;
    case ZAB__LEADERINFO:
        p = put32(p, m->epoch);
        break;
    case ZAB__ACKEPOCH:
        p = put8(p, m->flags);
        p = put32(p, m->epoch);
        p = put64(p, m->zxid);
        break;
    case ZAB__DIFF:
    case ZAB__TRUNC:
    case ZAB__UPTODATE:
    case ZAB__ACK:
    case ZAB__COMMIT:
        p = put64(p, m->zxid);
        break;
    case ZAB__SNAP:
        p = put64(p, m->zxid);
        p = put64(p, m->total);
        p = put64(p, m->offset);
        p = put_bytes(p, m->data, m->len);
        break;
    case ZAB__PROPOSAL:
    case ZAB__INFORM:
        p = put64(p, m->zxid);
        p = put_bytes(p, m->data, m->len);
        break;
    case ZAB__PING:
    case ZAB__SYNC:
        p = put64(p, m->round);
        p = put64(p, m->zxid);
        break;
    case ZAB__REQUEST:
        p = put_bytes(p, m->data, m->len);
        break;
    default:
        break;
    }
    return (size_t)(p - buf);
}

/* ---- bounded reader -------------------------------------------------- */

typedef struct reader {
    const uint8_t *p;
    size_t left;
    int bad; /* set by the first read past the end; sticky */
} reader_t;

static uint8_t get8(reader_t *r)
{
    if (r->bad || r->left < 1) {
        r->bad = 1;
        return 0;
    }
    uint8_t v = r->p[0];
    r->p += 1;
    r->left -= 1;
    return v;
}

static uint32_t get32(reader_t *r)
{
    if (r->bad || r->left < 4) {
        r->bad = 1;
        return 0;
    }
    uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
                 ((uint32_t)r->p[2] << 8) | (uint32_t)r->p[3];
    r->p += 4;
    r->left -= 4;
    return v;
}

static uint64_t get64(reader_t *r)
{
    uint64_t hi = get32(r);
    uint64_t lo = get32(r);
    return (hi << 32) | lo;
}

/* A length-prefixed payload that must fill exactly the rest of the frame. */
static void get_bytes_to_end(reader_t *r, const void **data, uint32_t *len)
{
    uint32_t n = get32(r);
    if (r->bad || n != r->left) {
        r->bad = 1;
        *data = NULL;
        *len = 0;
        return;
    }
    *data = n > 0 ? r->p : NULL;
    *len = n;
    r->p += n;
    r->left = 0;
}

int zab__header_check(const void *hdr, size_t max_len, size_t *frame_len)
{
    const uint8_t *h = hdr;
    uint32_t total = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) |
                     ((uint32_t)h[2] << 8) | (uint32_t)h[3];
    if (h[4] != ZAB__WIRE_VERSION || h[5] < 1 || h[5] > ZAB__KIND_MAX ||
        h[6] != 0 || h[7] != 0) {
        return ZAB_EPROTO;
    }
    if (total < ZAB__HEADER_SIZE + body_fixed_size(h[5]) || total > max_len) {
        return ZAB_EPROTO;
    }
    *frame_len = total;
    return 0;
}

int zab__decode(const void *frame, size_t len, size_t max_len, zab__msg_t *m)
{
    size_t total;
    if (frame == NULL || len < ZAB__HEADER_SIZE) {
        return ZAB_EPROTO;
    }
    if (zab__header_check(frame, max_len, &total) != 0 || total != len) {
        return ZAB_EPROTO;
    }
    memset(m, 0, sizeof *m);
    reader_t r = {(const uint8_t *)frame + ZAB__HEADER_SIZE,
                  len - ZAB__HEADER_SIZE, 0};
    m->kind = ((const uint8_t *)frame)[5];
    switch (m->kind) {
    case ZAB__VOTE:
        m->state = get8(&r);
        m->leader = get32(&r);
        m->zxid = get64(&r);
        m->election_epoch = get64(&r);
        m->epoch = get32(&r);
        if (m->state > 3) {
            return ZAB_EPROTO;
        }
        break;
    case ZAB__FOLLOWERINFO:
    case ZAB__OBSERVERINFO:
    case ZAB__NEWLEADER:
    case ZAB__ACKNEWLEADER:
        m->epoch = get32(&r);
        m->zxid = get64(&r);
        break;
    case ZAB__LEADERINFO:
        m->epoch = get32(&r);
        break;
    case ZAB__ACKEPOCH:
        m->flags = get8(&r);
        m->epoch = get32(&r);
        m->zxid = get64(&r);
        if (m->flags > 1) {
            return ZAB_EPROTO;
        }
        break;
    case ZAB__DIFF:
    case ZAB__TRUNC:
    case ZAB__UPTODATE:
    case ZAB__ACK:
    case ZAB__COMMIT:
        m->zxid = get64(&r);
        break;
    case ZAB__SNAP:
        m->zxid = get64(&r);
        m->total = get64(&r);
        m->offset = get64(&r);
        get_bytes_to_end(&r, &m->data, &m->len);
        if (!r.bad && (m->offset > m->total ||
                       m->len > m->total - m->offset)) {
            return ZAB_EPROTO;
        }
        break;
    case ZAB__PROPOSAL:
    case ZAB__INFORM:
        m->zxid = get64(&r);
        get_bytes_to_end(&r, &m->data, &m->len);
        if (!r.bad && ZAB_ZXID_COUNTER(m->zxid) == 0) {
            return ZAB_EPROTO;
        }
        break;
    case ZAB__PING:
    case ZAB__SYNC:
        m->round = get64(&r);
        m->zxid = get64(&r);
        break;
    case ZAB__REQUEST:
        get_bytes_to_end(&r, &m->data, &m->len);
        break;
    default:
        return ZAB_EPROTO;
    }
    if (r.bad || r.left != 0) {
        return ZAB_EPROTO;
    }
    return 0;
}
