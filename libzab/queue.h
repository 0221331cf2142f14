/*
 * queue.h -- the cache of transactions that this node logged during this
 * run and has not delivered yet: a FIFO of (zxid, payload) kept in two
 * rings (descriptors and bytes) that grow by doubling and are then reused,
 * so the steady state allocates nothing per transaction.
 *
 * The cache always holds a contiguous tail of the log: every entry with a
 * zxid in (base, last].  Entries at or below `base` are read back from the
 * host's log (after a restart, or when the cache was dropped because it
 * hit its byte bound).
 */
#ifndef ZAB_QUEUE_H
#define ZAB_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct zab;

typedef struct zab__entry {
    uint64_t zxid;
    uint64_t off; /* position in the byte ring (absolute, mod capacity) */
    uint32_t len;
} zab__entry_t;

typedef struct zab__queue {
    zab__entry_t *ents;
    uint64_t ents_cap;      /* power of two */
    uint64_t head, tail;    /* absolute sequence numbers: [head, tail) */
    uint8_t *bytes;
    uint64_t bytes_cap;     /* power of two */
    uint64_t bytes_head, bytes_tail; /* absolute byte positions */
    uint64_t payload_bytes; /* sum of len over entries */
    uint64_t base;          /* entries with zxid <= base are not cached */
} zab__queue_t;

void zab__queue_init(zab__queue_t *q, uint64_t base);
void zab__queue_free(struct zab *z, zab__queue_t *q);
/* Appends an entry; ZAB_ENOMEM if memory could not grow, ZAB_EBUSY if the
 * byte bound `max_bytes` would be exceeded. */
int zab__queue_push(struct zab *z, zab__queue_t *q, uint64_t zxid,
                    const void *data, size_t len, uint64_t max_bytes);
/* The entry at absolute position `seq` (head <= seq < tail). */
const zab__entry_t *zab__queue_at(const zab__queue_t *q, uint64_t seq);
/* Pointer to an entry's payload.  The bytes of one entry are contiguous. */
const void *zab__queue_data(const zab__queue_t *q, const zab__entry_t *e);
/* Removes the first entry. */
void zab__queue_pop(zab__queue_t *q);
/* Drops every entry with a zxid above `zxid` (the log was truncated). */
void zab__queue_truncate(zab__queue_t *q, uint64_t zxid);
/* Drops everything and makes `base` the new lower bound. */
void zab__queue_reset(zab__queue_t *q, uint64_t base);
/* Position of the first entry with zxid > `zxid` (tail if none). */
uint64_t zab__queue_find_after(const zab__queue_t *q, uint64_t zxid);

#endif /* ZAB_QUEUE_H */
