/*
 * queue.c -- the cache of logged, undelivered transactions (see queue.h).
 *
 * Two rings: descriptors (zab__entry_t) and payload bytes.  A payload never
 * wraps around the end of the byte ring: if it does not fit before the
 * end, the rest of the ring is skipped.  Offsets are absolute (they only
 * grow) and reduced modulo the capacity on access, so an empty ring needs
 * no reset.  Growth doubles and re-lays the live entries compactly; it is
 * the only allocation, so a queue that reached its working size allocates
 * nothing more.
 */
#include "queue.h"

#include <string.h>

#include "zab_int.h"

void zab__queue_init(zab__queue_t *q, uint64_t base)
{
    memset(q, 0, sizeof *q);
    q->base = base;
}

void zab__queue_free(zab_t *z, zab__queue_t *q)
{
    zab__free(z, q->ents);
    zab__free(z, q->bytes);
    q->ents = NULL;
    q->bytes = NULL;
}

const zab__entry_t *zab__queue_at(const zab__queue_t *q, uint64_t seq)
{
    return &q->ents[seq & (q->ents_cap - 1)];
}

const void *zab__queue_data(const zab__queue_t *q, const zab__entry_t *e)
{
    return q->bytes + (e->off & (q->bytes_cap - 1));
}

static int grow_ents(zab_t *z, zab__queue_t *q)
{
    uint64_t cap = q->ents_cap ? q->ents_cap * 2 : 64;
    zab__entry_t *n = zab__malloc(z, cap * sizeof *n);
    if (n == NULL) {
        return ZAB_ENOMEM;
    }
    /* Positions are absolute and outlive growth (the leader keeps its
     * commit cursor as one), so each entry keeps its sequence number. */
    for (uint64_t s = q->head; s < q->tail; s++) {
        n[s & (cap - 1)] = *zab__queue_at(q, s);
    }
    zab__free(z, q->ents);
    q->ents = n;
    q->ents_cap = cap;
    return 0;
}

/* Re-lays the payloads compactly into a ring of at least `need` bytes. */
static int grow_bytes(zab_t *z, zab__queue_t *q, uint64_t need)
{
    uint64_t cap = q->bytes_cap ? q->bytes_cap : 4096;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *n = zab__malloc(z, cap);
    if (n == NULL) {
        return ZAB_ENOMEM;
    }
    uint64_t pos = 0;
    for (uint64_t s = q->head; s < q->tail; s++) {
        zab__entry_t *e = &q->ents[s & (q->ents_cap - 1)];
        if (e->len > 0) {
            memcpy(n + pos, zab__queue_data(q, e), e->len);
        }
        e->off = pos;
        pos += e->len;
    }
    zab__free(z, q->bytes);
    q->bytes = n;
    q->bytes_cap = cap;
    q->bytes_head = 0;
    q->bytes_tail = pos;
    return 0;
}

int zab__queue_push(zab_t *z, zab__queue_t *q, uint64_t zxid,
                    const void *data, size_t len, uint64_t max_bytes)
{
    if (q->payload_bytes + len > max_bytes) {
        return ZAB_EBUSY;
    }
    if (q->tail - q->head == q->ents_cap) {
        int rc = grow_ents(z, q);
        if (rc != 0) {
            return rc;
        }
    }
    /* Where the payload would go: at the tail, or at the start of the
     * ring if it would cross the end. */
    uint64_t at = q->bytes_tail;
    if (q->bytes_cap > 0) {
        uint64_t room_to_end = q->bytes_cap - (at & (q->bytes_cap - 1));
        if (len > room_to_end) {
            at += room_to_end;
        }
    }
    if (q->bytes_cap == 0 || at + len - q->bytes_head > q->bytes_cap) {
        /* Compact into a larger ring; afterwards the tail has room. */
        int rc = grow_bytes(z, q, (q->payload_bytes + len) * 2);
        if (rc != 0) {
            return rc;
        }
        at = q->bytes_tail;
    }
    zab__entry_t *e = &q->ents[q->tail & (q->ents_cap - 1)];
    e->zxid = zxid;
    e->off = at;
    e->len = (uint32_t)len;
    if (len > 0) {
        memcpy(q->bytes + (at & (q->bytes_cap - 1)), data, len);
    }
    q->bytes_tail = at + len;
    q->payload_bytes += len;
    q->tail++;
    return 0;
}

void zab__queue_pop(zab__queue_t *q)
{
    if (q->head == q->tail) {
        return;
    }
    const zab__entry_t *e = zab__queue_at(q, q->head);
    q->payload_bytes -= e->len;
    q->base = e->zxid;
    q->head++;
    if (q->head == q->tail) {
        q->bytes_head = q->bytes_tail;
    } else {
        q->bytes_head = zab__queue_at(q, q->head)->off;
    }
}

void zab__queue_reset(zab__queue_t *q, uint64_t base)
{
    q->head = q->tail;
    q->bytes_head = q->bytes_tail;
    q->payload_bytes = 0;
    q->base = base;
}

void zab__queue_truncate(zab__queue_t *q, uint64_t zxid)
{
    if (zxid < q->base) {
        q->base = zxid; /* the cache holds (base, last] of the new log */
    }
    uint64_t pos = zab__queue_find_after(q, zxid);
    if (pos == q->tail) {
        return;
    }
    for (uint64_t s = pos; s < q->tail; s++) {
        q->payload_bytes -= zab__queue_at(q, s)->len;
    }
    q->bytes_tail = zab__queue_at(q, pos)->off;
    q->tail = pos;
    if (q->head == q->tail) {
        q->bytes_head = q->bytes_tail;
    }
}

uint64_t zab__queue_find_after(const zab__queue_t *q, uint64_t zxid)
{
    /* Entries are in zxid order: binary search, after the common case of
     * delivery asking for the head. */
    uint64_t lo = q->head, hi = q->tail;
    if (lo == hi || zab__queue_at(q, lo)->zxid > zxid) {
        return lo;
    }
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (zab__queue_at(q, mid)->zxid <= zxid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}
