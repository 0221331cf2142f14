/*
 * world.h -- building, stepping and tearing down one simulated world, and
 * the simulated client that submits transactions.
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include "sim.h"

/* Zeroes `s` and sets the scenario defaults (3 voters, latency 1-5 ms,
 * fsync 1-3 ms, seed 1). */
void sim_defaults(sim_t *s);
/* Allocates the nodes and links once the parameters are set. */
void sim_setup(sim_t *s);
/* Frees everything (node stats go to s->tot first). */
void sim_teardown(sim_t *s);

/* Runs the earliest event; 0 if there is none. */
int sim_step(sim_t *s);
/* Runs every event due up to `t`, then sets the clock to `t`. */
void sim_run_until(sim_t *s, uint64_t t);

/* Submits `count` fresh transactions via node `via`; ZAB_EBUSY is retried
 * by the client.  Returns how many were refused at once. */
int sim_propose(sim_t *s, uint32_t via, uint32_t count);
/* Submits one transaction already created (random mode). */
void sim_submit(sim_t *s, uint32_t via, uint32_t tx);

/* Random mode's event handler (campaign.c). */
void campaign_on_event(sim_t *s, const ev_t *ev);

#endif /* SIM_WORLD_H */
