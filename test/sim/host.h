/*
 * host.h -- the host of one simulated node: its zab_host_ops_t, its life
 * (boot from disk, crash) and every call the simulator makes into it.
 *
 * Every call into libzab goes through these functions: they keep the
 * call-depth count that makes a crash from inside a callback safe (the
 * node is marked dead at once, its further callbacks are ignored, and its
 * zab_t is freed once the outermost call returns), and after each call
 * they reschedule the node's tick at zab_next_deadline().
 */
#ifndef SIM_HOST_H
#define SIM_HOST_H

#include "sim.h"

/* Boots a node from what its disk holds.  0, or -1 if libzab refused to
 * start (reported). */
int host_boot(sim_t *s, uint32_t id);
/* Crashes a node at once (also from inside one of its callbacks). */
void host_crash(sim_t *s, uint32_t id, const char *why);
/* Adds (present) or removes observer `o` on every other live node, as a
 * host applying a committed reconfiguration would; nodes booted later get
 * the membership of the moment.  A removed observer's connections break
 * and stay down until it is added again. */
void host_set_observer(sim_t *s, uint32_t o, int present);
/* Frees every node (end of run), adding their stats to the totals. */
void host_free_all(sim_t *s);

/* Calls into libzab (no-ops on a node that is down). */
void host_recv(sim_t *s, uint32_t id, uint32_t from, const msg_t *m);
void host_peer_up(sim_t *s, uint32_t id, uint32_t peer);
void host_peer_down(sim_t *s, uint32_t id, uint32_t peer);
void host_on_tick(sim_t *s, const ev_t *ev);
/* zab_persisted(token) on a live node. */
void host_persisted(sim_t *s, uint32_t id, uint64_t token);
/* zab_propose; returns its result (ZAB_ESTATE if the node is down). */
int host_propose(sim_t *s, uint32_t id, uint32_t tx, uint64_t *zxid);
/* A zab_stat of a live node, 0 if down. */
uint64_t host_stat(sim_t *s, uint32_t id, int which);

#endif /* SIM_HOST_H */
