/*
 * world.c -- one simulated world: set-up, the event loop, the client.
 */
#include "world.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "disk.h"
#include "host.h"
#include "net.h"
#include "trace.h"

const char *sim_zxid_str(uint64_t zxid, char *buf)
{
    snprintf(buf, 24, "%" PRIu32 ":%" PRIu32, ZAB_ZXID_EPOCH(zxid),
             ZAB_ZXID_COUNTER(zxid));
    return buf;
}

void *sim_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "zabsim: out of memory\n");
        exit(3);
    }
    return p;
}

void *sim_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return p;
    }
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        c *= 2;
    }
    void *q = realloc(p, c * elem);
    if (q == NULL) {
        fprintf(stderr, "zabsim: out of memory\n");
        exit(3);
    }
    *cap = c;
    return q;
}

void sim_defaults(sim_t *s)
{
    memset(s, 0, sizeof(*s));
    s->seed = 1;
    s->nv = 3;
    s->lat_min = 1;
    s->lat_max = 5;
    s->fsync_min = 1;
    s->fsync_max = 3;
    s->client_retry_ms = 1;
}

void sim_setup(sim_t *s)
{
    s->nn = s->nv + s->no;
    s->quorum = s->nv / 2 + 1;
    s->voter_mask = 0;
    for (uint32_t v = 1; v <= s->nv; v++) {
        s->voter_mask |= NODE_BIT(v);
    }
    rng_seed(&s->rng, s->seed);
    sched_init(&s->sched);
    for (uint32_t id = 1; id <= s->nn; id++) {
        node_t *n = &s->nodes[id];
        memset(n, 0, sizeof(*n));
        n->sim = s;
        n->id = id;
        n->voter = id <= s->nv;
        n->role = -1;
        disk_init(n);
    }
    net_init(s);
    chk_init(s);
    chk_new_tx(s); /* tx 0 is never proposed: ids start at 1 */
    s->txs[0].bogus = 1;
}

static void drop_event(ev_t *ev)
{
    if (ev->type == EV_MSG) {
        net_msg_free(ev->p);
    }
}

void sim_teardown(sim_t *s)
{
    host_free_all(s);
    sched_free(&s->sched, drop_event);
    net_free(s);
    chk_free(s);
    free(s->client);
    s->client = NULL;
    s->nclient = s->capclient = 0;
}

/* ---- client ----------------------------------------------------------------- */

static void client_try(sim_t *s)
{
    uint64_t busy = 0;
    size_t w = 0;
    for (size_t i = 0; i < s->nclient; i++) {
        creq_t c = s->client[i];
        if (busy & NODE_BIT(c.via)) {
            s->client[w++] = c; /* keep the order per node */
            continue;
        }
        if (s->client_max_wait_ms != 0 &&
            s->now - c.since > s->client_max_wait_ms) {
            s->tot.refused++;
            continue; /* random mode: give up on a very old one */
        }
        uint64_t zxid = 0;
        int r = host_propose(s, c.via, c.tx, &zxid);
        char z[24];
        if (r == 0) {
            if (zxid != 0) {
                tr_note(s, c.via, "proposed %s as %s", s->txs[c.tx].payload,
                        sim_zxid_str(zxid, z));
            } else {
                tr_note(s, c.via, "forwarded %s", s->txs[c.tx].payload);
            }
        } else if (r == ZAB_EBUSY) {
            busy |= NODE_BIT(c.via);
            s->client[w++] = c;
        } else {
            s->tot.refused++;
            tr_story(s, c.via, "refused %s: %s", s->txs[c.tx].payload,
                     r == ZAB_ESTATE ? "node is down" : zab_err_name(r));
            if (!s->random_mode && !s->quiet && !s->trace && !s->narrate) {
                printf("note: t=%" PRIu64 " n%u refused %s: %s\n", s->now,
                       c.via, s->txs[c.tx].payload,
                       r == ZAB_ESTATE ? "node is down" : zab_err_name(r));
            }
        }
    }
    s->nclient = w;
    if (s->nclient > 0 && !s->client_ev) {
        s->client_ev = 1;
        sched_push(&s->sched, s->now + s->client_retry_ms, EV_CLIENT, 0, 0, 0,
                   NULL);
    }
}

void sim_submit(sim_t *s, uint32_t via, uint32_t tx)
{
    s->client = sim_grow(s->client, &s->capclient, s->nclient + 1,
                         sizeof(creq_t));
    creq_t c = {tx, via, s->now};
    s->client[s->nclient++] = c;
}

int sim_propose(sim_t *s, uint32_t via, uint32_t count)
{
    uint64_t before = s->tot.refused;
    for (uint32_t i = 0; i < count; i++) {
        sim_submit(s, via, chk_new_tx(s));
    }
    client_try(s);
    return (int)(s->tot.refused - before);
}

/* ---- event loop ---------------------------------------------------------------- */

int sim_step(sim_t *s)
{
    ev_t ev;
    if (!sched_pop(&s->sched, &ev)) {
        return 0;
    }
    if (ev.t > s->now) {
        s->now = ev.t;
        s->same_instant = 0;
    } else if (++s->same_instant > SIM_INSTANT_MAX) {
        /* Every loop of the simulator ends when virtual time passes a
         * bound; nodes that keep messaging at zero latency would stop
         * time, so that is reported rather than spun on forever. */
        chk_fail(s, "livelock: more than %d events at t=%" PRIu64
                    " ms without virtual time advancing",
                 SIM_INSTANT_MAX, s->now);
        drop_event(&ev);
        return 0;
    }
    s->steps++;
    switch (ev.type) {
    case EV_MSG:
        net_on_msg(s, &ev);
        break;
    case EV_RECONNECT:
        net_on_reconnect(s, &ev);
        break;
    case EV_PEER_DOWN:
        net_on_peer_down(s, &ev);
        break;
    case EV_DISK:
        disk_on_event(s, &ev);
        break;
    case EV_TICK:
        host_on_tick(s, &ev);
        break;
    case EV_CLIENT:
        s->client_ev = 0;
        client_try(s);
        break;
    case EV_CAMPAIGN:
        campaign_on_event(s, &ev);
        break;
    default:
        break;
    }
    return 1;
}

void sim_run_until(sim_t *s, uint64_t t)
{
    for (;;) {
        const ev_t *e = sched_peek(&s->sched);
        if (e == NULL || e->t > t || s->failed) {
            break;
        }
        sim_step(s);
    }
    if (t > s->now && !s->failed) {
        s->now = t;
    }
}
