/*
 * trace.h -- what happened, for people: the ring of the last events that
 * a violation prints, the --trace stream and the --narrate story.
 *
 * Frequent records (messages, deliveries) are stored as fields and only
 * formatted when printed, so tracing costs little when nobody reads it.
 */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include "sim.h"

enum {
    TR_SEND = 1, /* node -> peer, accepted by the network */
    TR_RECV,     /* node <- peer */
    TR_LOST,     /* node -> peer, lost (drop rule or connection down) */
    TR_HELD,     /* node -> peer, queued by a hold */
    TR_DELIVER,  /* node delivered zxid */
    TR_NOTE,     /* free text: commands, faults, crashes, roles */
    TR_STORY     /* free text that --narrate also prints */
};

/* A message event; `m` is the summary of the frame. */
void tr_msg(sim_t *s, int type, uint32_t node, uint32_t peer,
            const msg_t *m);
void tr_deliver(sim_t *s, uint32_t node, uint64_t zxid, uint32_t tx);
/* Free text about `node` (0: the simulator itself). */
void tr_note(sim_t *s, uint32_t node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Like tr_note, also printed by --narrate. */
void tr_story(sim_t *s, uint32_t node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* One of libzab's own trace lines (printed with --trace only). */
void tr_lib(sim_t *s, uint32_t node, int level, const char *line);
/* Prints the last `max` records of the ring. */
void tr_dump(sim_t *s, FILE *f, int max);

#endif /* SIM_TRACE_H */
