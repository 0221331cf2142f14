/*
 * net.c -- connections, FIFO links and network faults (see net.h).
 */
#include "net.h"

#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "trace.h"

/* A broken connection comes back after this long (a host's reconnect
 * backoff, kept short so that faults heal quickly in virtual time). */
#define RECONNECT_MIN_MS 5
#define RECONNECT_MAX_MS 30

void net_msg_free(msg_t *m)
{
    free(m);
}

void net_init(sim_t *s)
{
    size_t n = (size_t)(s->nn + 1) * (s->nn + 1);
    s->conns = sim_alloc(n * sizeof(conn_t));
    s->links = sim_alloc(n * sizeof(link_t));
    memset(s->conns, 0, n * sizeof(conn_t));
    memset(s->links, 0, n * sizeof(link_t));
    for (size_t i = 0; i < n; i++) {
        s->links[i].hold_kind = -1;
    }
}

static void link_clear_held(link_t *l)
{
    for (size_t i = 0; i < l->nheld; i++) {
        net_msg_free(l->held[i]);
    }
    l->nheld = 0;
}

void net_free(sim_t *s)
{
    if (s->links != NULL) {
        size_t n = (size_t)(s->nn + 1) * (s->nn + 1);
        for (size_t i = 0; i < n; i++) {
            link_clear_held(&s->links[i]);
            free(s->links[i].held);
            free(s->links[i].drops);
        }
    }
    free(s->links);
    free(s->conns);
    s->links = NULL;
    s->conns = NULL;
}

int net_is_cut(sim_t *s, uint32_t a, uint32_t b)
{
    return sim_link(s, a, b)->cut || sim_link(s, b, a)->cut;
}

/* Schedules the reconnection of {a,b} if it can happen at all. */
static void maybe_reconnect(sim_t *s, uint32_t a, uint32_t b)
{
    conn_t *c = sim_conn(s, a, b);
    if (c->up || c->reconnecting || !s->nodes[a].live || !s->nodes[b].live ||
        net_is_cut(s, a, b) || (s->absent & (NODE_BIT(a) | NODE_BIT(b)))) {
        return;
    }
    c->reconnecting = 1;
    c->rgen++;
    uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
    sched_push(&s->sched,
               s->now + rng_range(&s->rng, RECONNECT_MIN_MS, RECONNECT_MAX_MS),
               EV_RECONNECT, (int)lo, (int)hi, c->rgen, NULL);
}

void net_break(sim_t *s, uint32_t a, uint32_t b, const char *why)
{
    conn_t *c = sim_conn(s, a, b);
    link_t *ab = sim_link(s, a, b), *ba = sim_link(s, b, a);
    link_clear_held(ab);
    link_clear_held(ba);
    if (!c->up) {
        maybe_reconnect(s, a, b);
        return;
    }
    c->up = 0;
    c->gen++; /* frames in flight now carry a stale generation */
    ab->trunc_seen = 0;
    ba->trunc_seen = 0;
    tr_note(s, 0, "connection n%u-n%u down (%s)", a < b ? a : b,
            a < b ? b : a, why);
    /* The live ends learn it as soon as the current call has returned:
     * a libzab call cannot be made from inside one of its callbacks. */
    if (s->nodes[a].live) {
        sched_push(&s->sched, s->now, EV_PEER_DOWN, (int)a, (int)b, c->gen,
                   NULL);
    }
    if (s->nodes[b].live) {
        sched_push(&s->sched, s->now, EV_PEER_DOWN, (int)b, (int)a, c->gen,
                   NULL);
    }
    maybe_reconnect(s, a, b);
}

void net_on_peer_down(sim_t *s, const ev_t *ev)
{
    conn_t *c = sim_conn(s, ev->a, ev->b);
    if (c->gen != ev->gen || c->up) {
        return; /* it came back meanwhile: that end already saw peer_up */
    }
    host_peer_down(s, ev->a, ev->b);
}

void net_on_reconnect(sim_t *s, const ev_t *ev)
{
    uint32_t a = ev->a, b = ev->b;
    conn_t *c = sim_conn(s, a, b);
    if (c->rgen != ev->gen) {
        return;
    }
    c->reconnecting = 0;
    if (c->up || !s->nodes[a].live || !s->nodes[b].live ||
        net_is_cut(s, a, b) || (s->absent & (NODE_BIT(a) | NODE_BIT(b)))) {
        return; /* a restart, a heal or a re-added observer schedules it */
    }
    c->up = 1;
    c->gen++;
    sim_link(s, a, b)->last_deliver = s->now;
    sim_link(s, b, a)->last_deliver = s->now;
    tr_note(s, 0, "connection n%u-n%u up", a, b);
    host_peer_up(s, a, b);
    /* a's peer_up may have crashed a (a trap) or broken the connection. */
    if (c->up && s->nodes[b].live) {
        host_peer_up(s, b, a);
    }
}

void net_node_down(sim_t *s, uint32_t id)
{
    for (uint32_t p = 1; p <= s->nn; p++) {
        if (p != id) {
            net_break(s, id, p, "crash");
        }
    }
}

void net_node_up(sim_t *s, uint32_t id)
{
    for (uint32_t p = 1; p <= s->nn; p++) {
        if (p != id) {
            maybe_reconnect(s, id, p);
        }
    }
}

static void schedule_msg(sim_t *s, uint32_t a, uint32_t b, msg_t *m)
{
    link_t *l = sim_link(s, a, b);
    uint64_t t = s->now + rng_range(&s->rng, s->lat_min, s->lat_max);
    if (t < l->last_deliver) {
        t = l->last_deliver; /* FIFO: never overtake the previous frame */
    }
    l->last_deliver = t;
    sched_push(&s->sched, t, EV_MSG, (int)a, (int)b, sim_conn(s, a, b)->gen,
               m);
}

int net_send(sim_t *s, uint32_t a, uint32_t b, msg_t *m)
{
    conn_t *c = sim_conn(s, a, b);
    link_t *l = sim_link(s, a, b);
    if (!c->up) {
        tr_msg(s, TR_LOST, a, b, m);
        net_msg_free(m);
        return -1;
    }
    for (size_t i = 0; i < l->ndrops; i++) {
        drop_rule_t *r = &l->drops[i];
        if (r->count > 0 && (r->kind == 0 || r->kind == m->kind)) {
            r->count--;
            if (r->count == 0) {
                l->drops[i] = l->drops[--l->ndrops];
            }
            tr_msg(s, TR_LOST, a, b, m);
            net_msg_free(m);
            /* A reliable channel cannot lose one frame and go on: the
             * connection breaks (both ends see it) and comes back. */
            net_break(s, a, b, "drop");
            return 0;
        }
    }
    if (!l->holding && l->hold_kind >= 0 &&
        (l->hold_kind == 0 || l->hold_kind == m->kind)) {
        l->holding = 1;
    }
    if (l->holding) {
        l->held = sim_grow(l->held, &l->capheld, l->nheld + 1, sizeof(msg_t *));
        l->held[l->nheld++] = m;
        tr_msg(s, TR_HELD, a, b, m);
        return 0;
    }
    tr_msg(s, TR_SEND, a, b, m);
    schedule_msg(s, a, b, m);
    return 0;
}

void net_on_msg(sim_t *s, const ev_t *ev)
{
    msg_t *m = ev->p;
    conn_t *c = sim_conn(s, ev->a, ev->b);
    if (c->up && c->gen == ev->gen && s->nodes[ev->b].live) {
        host_recv(s, ev->b, ev->a, m);
    }
    net_msg_free(m);
}

void net_cut(sim_t *s, uint32_t a, uint32_t b)
{
    if (a == b) {
        return;
    }
    sim_link(s, a, b)->cut = 1;
    net_break(s, a, b, "cut");
}

void net_heal(sim_t *s)
{
    for (uint32_t a = 1; a <= s->nn; a++) {
        for (uint32_t b = 1; b <= s->nn; b++) {
            sim_link(s, a, b)->cut = 0;
        }
    }
    for (uint32_t a = 1; a <= s->nn; a++) {
        for (uint32_t b = a + 1; b <= s->nn; b++) {
            maybe_reconnect(s, a, b);
        }
    }
}

void net_hold(sim_t *s, uint32_t a, uint32_t b, int kind)
{
    if (a != b) {
        sim_link(s, a, b)->hold_kind = kind;
    }
}

static void release_link(sim_t *s, uint32_t a, uint32_t b)
{
    link_t *l = sim_link(s, a, b);
    l->hold_kind = -1;
    l->holding = 0;
    /* What was kept goes out in order, with latencies from now. */
    for (size_t i = 0; i < l->nheld; i++) {
        tr_msg(s, TR_SEND, a, b, l->held[i]);
        schedule_msg(s, a, b, l->held[i]);
    }
    l->nheld = 0;
}

void net_release(sim_t *s, uint32_t a, uint32_t b)
{
    for (uint32_t x = 1; x <= s->nn; x++) {
        for (uint32_t y = 1; y <= s->nn; y++) {
            if (x != y && (a == 0 || a == x) && (b == 0 || b == y)) {
                release_link(s, x, y);
            }
        }
    }
}

void net_drop(sim_t *s, uint32_t a, uint32_t b, int kind, uint32_t count)
{
    if (a == b || count == 0) {
        return;
    }
    link_t *l = sim_link(s, a, b);
    for (size_t i = 0; i < l->ndrops; i++) {
        if (l->drops[i].kind == kind) {
            l->drops[i].count += count;
            return;
        }
    }
    l->drops = sim_grow(l->drops, &l->capdrops, l->ndrops + 1,
                        sizeof(drop_rule_t));
    l->drops[l->ndrops].kind = kind;
    l->drops[l->ndrops].count = count;
    l->ndrops++;
}

void net_clear_rules(sim_t *s)
{
    net_release(s, 0, 0);
    for (uint32_t a = 1; a <= s->nn; a++) {
        for (uint32_t b = 1; b <= s->nn; b++) {
            sim_link(s, a, b)->ndrops = 0;
        }
    }
}
