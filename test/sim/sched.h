/*
 * sched.h -- the simulator's event queue under virtual time.
 *
 * A binary min-heap ordered by (time, sequence number).  The sequence
 * number is taken when an event is pushed, so two events due at the same
 * millisecond run in the order they were scheduled: ties never depend on
 * heap layout or addresses (libuv's timer start_id does the same).
 */
#ifndef SIM_SCHED_H
#define SIM_SCHED_H

#include <stddef.h>
#include <stdint.h>

typedef struct ev {
    uint64_t t;   /* due time, ms of virtual time */
    uint64_t seq; /* tie-break: push order */
    void *p;      /* payload owned by the event (a message), or NULL */
    uint32_t gen; /* generation the event belongs to (stale check) */
    uint16_t type;
    uint8_t a, b; /* node ids or other small operands */
} ev_t;

typedef struct sched {
    ev_t *h;
    size_t n, cap;
    uint64_t seq;
} sched_t;

void sched_init(sched_t *s);
/* Frees the heap; `drop` (may be NULL) is called on every event left. */
void sched_free(sched_t *s, void (*drop)(ev_t *ev));
/* Schedules an event; exits the process on out-of-memory (a test tool). */
void sched_push(sched_t *s, uint64_t t, int type, int a, int b, uint32_t gen,
                void *p);
/* Removes the earliest event into *out; 0 if the queue is empty. */
int sched_pop(sched_t *s, ev_t *out);
/* The earliest event, or NULL. */
const ev_t *sched_peek(const sched_t *s);

#endif /* SIM_SCHED_H */
