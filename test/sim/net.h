/*
 * net.h -- simulated connections between nodes.
 *
 * Each unordered pair of nodes has one connection, up or down; each
 * ordered pair a->b is a FIFO link over it.  A frame sent on an up
 * connection arrives after a random latency but never before the previous
 * frame of its link (TCP's order).  When a connection breaks (a crash, a
 * cut, a drop, a disconnect) everything in flight or held on it, both
 * ways, is lost and each live end is told with zab_peer_down; it comes
 * back 5..30 ms later when both ends are up and no direction is cut, and
 * both ends are told with zab_peer_up.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "sim.h"

void net_init(sim_t *s);
void net_free(sim_t *s);

/* Sends `m` (owned by the network from now on) from a to b.  0 if the
 * frame was accepted (it may still be lost by a drop rule), -1 if the
 * connection is down. */
int net_send(sim_t *s, uint32_t a, uint32_t b, msg_t *m);

/* Event handlers. */
void net_on_msg(sim_t *s, const ev_t *ev);
void net_on_reconnect(sim_t *s, const ev_t *ev);
void net_on_peer_down(sim_t *s, const ev_t *ev);

/* Breaks the connection {a,b} (if up); it reconnects later if it can. */
void net_break(sim_t *s, uint32_t a, uint32_t b, const char *why);
/* A node went down or came up: break or (re)connect all its connections. */
void net_node_down(sim_t *s, uint32_t id);
void net_node_up(sim_t *s, uint32_t id);

/* Faults.  a or b may be 0 for "every node" where noted. */
void net_cut(sim_t *s, uint32_t a, uint32_t b); /* one direction */
void net_heal(sim_t *s);                         /* clear every cut */
void net_hold(sim_t *s, uint32_t a, uint32_t b, int kind);     /* 0: any */
void net_release(sim_t *s, uint32_t a, uint32_t b);            /* 0: all */
void net_drop(sim_t *s, uint32_t a, uint32_t b, int kind, uint32_t count);
/* Random mode's fault-free phase: forget every drop rule and hold. */
void net_clear_rules(sim_t *s);
/* Either direction between a and b is cut. */
int net_is_cut(sim_t *s, uint32_t a, uint32_t b);

/* Frees a message. */
void net_msg_free(msg_t *m);

#endif /* SIM_NET_H */
