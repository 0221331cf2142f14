/*
 * campaign.c -- random mode (see campaign.h).
 *
 * A run: every node boots at t=0; a fault phase of N steps (a step is one
 * processed event) with client proposals through random nodes and a
 * random mix of faults, each undone after a random while; then every
 * fault is healed and the run must show liveness within a bound of
 * virtual time: a leader is established, 5 fresh proposals commit, every
 * node converges, and nothing committed is lost.
 *
 * A fault budget keeps liveness meaningful (TigerBeetle's VOPR does the
 * same): the campaign itself never crashes more voters than a quorum can
 * spare; traps may still take one more down for a while.
 *
 * In some seeds with observers, observers are also removed from and added
 * back to the membership while the faults go on (zab_remove_observer and
 * zab_add_observer on every other node at one instant, as hosts applying a
 * committed reconfiguration would); all are members again for the
 * liveness phase, and must converge.
 *
 * Lying and torn disks are in the mix of some seeds, but a random run
 * keeps every safety check meaningful: a lie that would make a loss
 * unavoidable (it would undo an epoch, a truncation, an install, or an
 * entry that the node acknowledged or led with and that no quorum holds
 * without it) is downgraded to a clean crash and counted as such.  Only
 * scenarios (`disk lose`) let such a lie through, and the checker then
 * excuses what follows.
 */
#include "campaign.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "disk.h"
#include "host.h"
#include "net.h"
#include "trace.h"
#include "world.h"

/* Campaign actions (EV_CAMPAIGN's `a`). */
enum {
    A_FAULT = 1,
    A_CLIENT,
    A_RESTART, /* b: node */
    A_HEAL,
    A_RELEASE, /* b -> gen */
    A_RESUME,  /* b: node */
    A_UNSLOW,  /* b: node */
    A_CHURN    /* remove or add back an observer */
};

/* Liveness bound after the faults are healed, in virtual ms. */
#define LIVENESS_MS 30000
#define QUIET_MS 5000 /* fault-free stretch that must keep its leader */

typedef struct campaign {
    int phase; /* 0: faults, 1: liveness */
    int lies;  /* lying and torn disks are part of the mix */
    int tiny_counter;
    int churn; /* observers are removed and added back while it runs */
    uint64_t restart_pending; /* node mask */
} campaign_t;

static const int msg_kinds[] = {
    ZAB__VOTE,     ZAB__FOLLOWERINFO, ZAB__LEADERINFO, ZAB__ACKEPOCH,
    ZAB__DIFF,     ZAB__TRUNC,        ZAB__SNAP,       ZAB__NEWLEADER,
    ZAB__ACKNEWLEADER, ZAB__UPTODATE, ZAB__PROPOSAL,   ZAB__PROPOSAL,
    ZAB__ACK,      ZAB__ACK,          ZAB__COMMIT,     ZAB__COMMIT,
    ZAB__INFORM,   ZAB__PING,         ZAB__REQUEST,    0,
};

static int pick_kind(sim_t *s)
{
    size_t n = sizeof(msg_kinds) / sizeof(msg_kinds[0]);
    return msg_kinds[rng_range(&s->rng, 0, n - 1)];
}

static uint32_t pick_node(sim_t *s)
{
    return (uint32_t)rng_range(&s->rng, 1, s->nn);
}

static uint32_t voters_down(sim_t *s)
{
    uint32_t d = 0;
    for (uint32_t v = 1; v <= s->nv; v++) {
        d += !s->nodes[v].live;
    }
    return d;
}

static int can_crash(sim_t *s, uint32_t id)
{
    if (!s->nodes[id].live) {
        return 0;
    }
    return !s->nodes[id].voter || voters_down(s) + 1 <= s->nv - s->quorum;
}

static void later(sim_t *s, uint64_t lo, uint64_t hi, int action, uint32_t b,
                  uint32_t gen)
{
    sched_push(&s->sched, s->now + rng_range(&s->rng, lo, hi), EV_CAMPAIGN,
               action, (int)b, gen, NULL);
}

/* Every node that is down gets a restart scheduled (trap crashes too). */
static void schedule_restarts(sim_t *s, campaign_t *c)
{
    for (uint32_t id = 1; id <= s->nn; id++) {
        if (!s->nodes[id].live && !(c->restart_pending & NODE_BIT(id))) {
            c->restart_pending |= NODE_BIT(id);
            later(s, 20, 1500, A_RESTART, id, 0);
        }
    }
}

/* Cuts every link between the nodes of mask x and those of mask y. */
static void cut_between(sim_t *s, uint64_t x, uint64_t y)
{
    for (uint32_t a = 1; a <= s->nn; a++) {
        for (uint32_t b = 1; b <= s->nn; b++) {
            if ((x & NODE_BIT(a)) && (y & NODE_BIT(b))) {
                net_cut(s, a, b);
                net_cut(s, b, a);
            }
        }
    }
}

static uint64_t all_mask(sim_t *s)
{
    return s->nn >= 64 ? ~0ull : (1ull << s->nn) - 1;
}

static void inject(sim_t *s, campaign_t *c)
{
    /* Weights of the fault mix, in this order. */
    static const unsigned weights[] = {14, 8, 4, 6, 5, 3, 4, 10, 6, 6, 6, 5, 4, 4};
    unsigned total = 0;
    for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++) {
        total += weights[i];
    }
    unsigned w = (unsigned)rng_range(&s->rng, 0, total - 1), what = 0;
    while (w >= weights[what]) {
        w -= weights[what++];
    }
    uint32_t a = pick_node(s), b = pick_node(s);
    uint32_t l = chk_leader(s);
    switch (what) {
    case 0: /* crash a node */
        if (can_crash(s, a)) {
            host_crash(s, a, "fault: crash");
        }
        break;
    case 1: /* crash the leader */
        if (l != 0 && can_crash(s, l)) {
            host_crash(s, l, "fault: crash the leader");
        }
        break;
    case 2: /* crash on a lying or torn disk */
        if (c->lies && can_crash(s, a)) {
            int lose = rng_chance(&s->rng, 60);
            s->nodes[a].disk.lose = (uint8_t)lose;
            s->nodes[a].disk.torn = (uint8_t)(!lose || rng_chance(&s->rng, 30));
            host_crash(s, a, lose ? "fault: crash, disk lies" : "fault: crash, torn");
        }
        break;
    case 3: { /* partition in two halves */
        uint64_t x = 0;
        while (x == 0 || x == all_mask(s)) {
            x = rng_next(&s->rng) & all_mask(s);
        }
        tr_note(s, 0, "fault: partition %#" PRIx64 " | %#" PRIx64, x,
                all_mask(s) & ~x);
        cut_between(s, x, all_mask(s) & ~x);
        later(s, 100, 3000, A_HEAL, 0, 0);
        break;
    }
    case 4: { /* isolate the leader (or anyone) */
        uint32_t v = l ? l : a;
        tr_note(s, 0, "fault: isolate n%u", v);
        cut_between(s, NODE_BIT(v), all_mask(s) & ~NODE_BIT(v));
        later(s, 100, 3000, A_HEAL, 0, 0);
        break;
    }
    case 5: { /* two sides that only a bridge node sees both of */
        if (s->nn < 3) {
            break;
        }
        uint64_t rest = all_mask(s) & ~NODE_BIT(a);
        uint64_t x = 0;
        while (x == 0 || x == rest) {
            x = rng_next(&s->rng) & rest;
        }
        tr_note(s, 0, "fault: bridge n%u between %#" PRIx64 " and %#" PRIx64,
                a, x, rest & ~x);
        cut_between(s, x, rest & ~x);
        later(s, 100, 3000, A_HEAL, 0, 0);
        break;
    }
    case 6: /* cut one direction */
        if (a != b) {
            tr_note(s, 0, "fault: cut n%u->n%u", a, b);
            net_cut(s, a, b);
            later(s, 50, 2000, A_HEAL, 0, 0);
        }
        break;
    case 7: { /* drop messages of a kind (often from the leader) */
        if (l != 0 && rng_chance(&s->rng, 50)) {
            a = l;
        }
        if (a != b) {
            int k = pick_kind(s);
            uint32_t n = (uint32_t)rng_range(&s->rng, 1, 3);
            tr_note(s, 0, "fault: drop n%u->n%u %s count %u", a, b,
                    k ? zab__kind_name(k) : "*", n);
            net_drop(s, a, b, k, n);
        }
        break;
    }
    case 8: { /* hold a link, release later */
        if (l != 0 && rng_chance(&s->rng, 50)) {
            a = l;
        }
        if (a != b) {
            int k = pick_kind(s);
            tr_note(s, 0, "fault: hold n%u->n%u %s", a, b,
                    k ? zab__kind_name(k) : "*");
            net_hold(s, a, b, k);
            later(s, 5, 400, A_RELEASE, a, b);
        }
        break;
    }
    case 9: /* connection reset */
        if (a != b) {
            net_break(s, a, b, "fault: disconnect");
        }
        break;
    case 10: { /* stalled disk */
        int mask = (int)rng_range(&s->rng, 1, 3);
        tr_note(s, a, "fault: disk stall (%s)",
                mask == 1 ? "log" : mask == 2 ? "epochs" : "both");
        disk_stall(s, &s->nodes[a], mask);
        later(s, 10, 800, A_RESUME, a, 0);
        break;
    }
    case 11: { /* crash on send */
        int k = pick_kind(s);
        tr_note(s, a, "fault: trap on send %s", k ? zab__kind_name(k) : "*");
        s->nodes[a].trap_send |= 1u << k;
        break;
    }
    case 12: { /* crash on a durable write */
        static const uint32_t bits[] = {TRAP_LOG, TRAP_ACCEPTED, TRAP_CURRENT};
        uint32_t bit = bits[rng_range(&s->rng, 0, 2)];
        tr_note(s, a, "fault: trap on durable %s",
                bit == TRAP_LOG ? "log" : bit == TRAP_ACCEPTED ? "accepted" : "current");
        s->nodes[a].trap_durable |= bit;
        break;
    }
    default: /* slow disk */
        s->nodes[a].disk.slow_ms = rng_range(&s->rng, 5, 60);
        tr_note(s, a, "fault: slow disk +%" PRIu64 " ms", s->nodes[a].disk.slow_ms);
        later(s, 100, 2000, A_UNSLOW, a, 0);
        break;
    }
}

static void client(sim_t *s)
{
    if (s->nclient > 256) {
        return; /* the cluster is not taking them: do not pile up */
    }
    uint32_t l = chk_leader(s);
    uint32_t via = (l != 0 && rng_chance(&s->rng, 60)) ? l : pick_node(s);
    uint32_t n = (uint32_t)rng_range(&s->rng, 1, 3);
    sim_propose(s, via, n);
}

void campaign_on_event(sim_t *s, const ev_t *ev)
{
    campaign_t *c = s->campaign;
    if (c == NULL) {
        return;
    }
    switch (ev->a) {
    case A_FAULT:
        if (c->phase == 0) {
            inject(s, c);
            schedule_restarts(s, c);
            later(s, 20, 400, A_FAULT, 0, 0);
        }
        break;
    case A_CLIENT:
        if (c->phase == 0) {
            client(s);
            schedule_restarts(s, c);
            later(s, 2, 40, A_CLIENT, 0, 0);
        }
        break;
    case A_RESTART:
        c->restart_pending &= ~NODE_BIT(ev->b);
        if (c->phase == 0 && !s->nodes[ev->b].live) {
            host_boot(s, ev->b);
        }
        break;
    case A_HEAL:
        if (c->phase == 0) {
            tr_note(s, 0, "fault undone: heal");
            net_heal(s);
        }
        break;
    case A_RELEASE:
        if (c->phase == 0) {
            net_release(s, ev->b, ev->gen);
        }
        break;
    case A_RESUME:
        disk_resume(s, &s->nodes[ev->b]);
        break;
    case A_UNSLOW:
        s->nodes[ev->b].disk.slow_ms = 0;
        break;
    case A_CHURN:
        if (c->phase == 0) {
            uint32_t o = (uint32_t)rng_range(&s->rng, s->nv + 1, s->nn);
            host_set_observer(s, o, (s->absent & NODE_BIT(o)) != 0);
            later(s, 100, 3000, A_CHURN, 0, 0);
        }
        break;
    default:
        break;
    }
}

/* Runs until pred holds or the deadline passes. */
static int run_until(sim_t *s, int (*pred)(sim_t *), uint64_t deadline)
{
    for (;;) {
        if (s->failed) {
            return 0;
        }
        if (pred(s)) {
            return 1;
        }
        const ev_t *e = sched_peek(&s->sched);
        if (e == NULL || e->t > deadline) {
            return 0;
        }
        sim_step(s);
    }
}

static int never(sim_t *s)
{
    (void)s;
    return 0;
}

static int has_leader(sim_t *s)
{
    return chk_leader(s) != 0;
}

static int lost_none(sim_t *s)
{
    char why[8];
    return chk_lost_none(s, why, sizeof(why));
}

static size_t fresh_committed(sim_t *s, size_t first_tx)
{
    size_t k = 0;
    for (size_t t = first_tx; t < s->ntx; t++) {
        k += s->txs[t].gpos >= 0;
    }
    return k;
}

static void liveness(sim_t *s, campaign_t *c)
{
    char why[256];
    c->phase = 1;
    tr_story(s, 0, "fault-free phase: heal, release, resume, restart");
    for (uint32_t o = s->nv + 1; o <= s->nn; o++) {
        host_set_observer(s, o, 1);
    }
    net_heal(s);
    net_clear_rules(s);
    for (uint32_t id = 1; id <= s->nn; id++) {
        node_t *n = &s->nodes[id];
        n->trap_send = 0;
        n->trap_durable = 0;
        n->disk.lose = 0;
        n->disk.torn = 0;
        n->disk.slow_ms = 0;
        disk_resume(s, n);
    }
    for (uint32_t id = 1; id <= s->nn && !s->failed; id++) {
        if (!s->nodes[id].live) {
            host_boot(s, id);
        }
    }
    uint64_t start = s->now;
    uint64_t deadline = start + LIVENESS_MS * (c->tiny_counter ? 2 : 1);
    if (!run_until(s, has_leader, deadline)) {
        chk_fail(s, "liveness: no leader established within %" PRIu64
                    " ms after the faults were healed",
                 deadline - start);
        return;
    }
    size_t first_tx = s->ntx;
    uint64_t last_submit = 0;
    int submitted = 0;
    for (;;) {
        if (s->failed) {
            return;
        }
        size_t done = fresh_committed(s, first_tx);
        if (done >= 5) {
            break;
        }
        uint32_t l = chk_leader(s);
        if (l != 0 && (!submitted || s->now - last_submit >= 1000)) {
            /* Proposals lost to a leader change are submitted afresh. */
            sim_propose(s, l, (uint32_t)(5 - done));
            last_submit = s->now;
            submitted = 1;
        }
        const ev_t *e = sched_peek(&s->sched);
        if (e == NULL || e->t > deadline) {
            chk_fail(s, "liveness: %zu of 5 fresh proposals committed within "
                        "%" PRIu64 " ms after the faults were healed",
                     done, deadline - start);
            return;
        }
        sim_step(s);
    }
    if (!run_until(s, chk_synced, deadline)) {
        chk_fail(s, "liveness: the live nodes did not converge within %" PRIu64
                    " ms after the faults were healed",
                 deadline - start);
        return;
    }
    /* Transactions a quorum holds may still await their COMMIT: give
     * them the rest of the bound, then nothing committed may be missing. */
    if (!run_until(s, lost_none, deadline) &&
        !chk_lost_none(s, why, sizeof(why))) {
        chk_fail(s, "after convergence: %s", why);
        return;
    }
    /* No needless leader change (INVARIANTS.md, liveness): a healthy,
     * idle cluster keeps its leader and epoch through a quiet stretch of
     * several peer timeouts, heartbeats only. */
    uint32_t leader = chk_leader(s);
    uint32_t epoch = leader != 0 ? s->nodes[leader].epoch : 0;
    run_until(s, never, s->now + QUIET_MS);
    if (s->failed) {
        return;
    }
    uint32_t now_leader = chk_leader(s);
    if (now_leader != leader ||
        (now_leader != 0 && s->nodes[now_leader].epoch != epoch)) {
        chk_fail(s, "liveness: the leader changed in a fault-free stretch "
                    "(n%u epoch %u, then n%u epoch %u)",
                 leader, epoch, now_leader,
                 now_leader != 0 ? s->nodes[now_leader].epoch : 0);
    }
}

static void print_params(sim_t *s, campaign_t *c, uint64_t steps)
{
    char opts[256];
    size_t o = 0;
    opts[0] = '\0';
    static const char *const names[] = {"",          "election",  "finalize",
                                        "heartbeat", "peer",      "sync",
                                        "max_payload", "outstanding", "pending",
                                        "barriers",  "diff_max",  "counter_max"};
    for (int i = 0; i < s->nopts; i++) {
        int r = snprintf(opts + o, sizeof(opts) - o, " %s=%" PRIu64,
                         s->opts[i].option < 12 ? names[s->opts[i].option] : "?",
                         s->opts[i].value);
        if (r > 0 && (size_t)r < sizeof(opts) - o) {
            o += (size_t)r;
        }
    }
    printf("seed %" PRIu64 ": steps=%" PRIu64 " voters=%u observers=%u "
           "latency=%" PRIu64 "-%" PRIu64 "ms fsync=%" PRIu64 "-%" PRIu64
           "ms log_window=%u%s%s%s%s\n",
           s->seed, steps, s->nv, s->no, s->lat_min, s->lat_max, s->fsync_min,
           s->fsync_max, s->log_window, s->cumulative ? " cumulative" : "",
           c->lies ? " lies" : "", c->churn ? " churn" : "", opts);
}

static void add_opt(sim_t *s, int opt, uint64_t v)
{
    s->opts[s->nopts].option = opt;
    s->opts[s->nopts].value = v;
    s->nopts++;
}

/* Derives every parameter of the run from the seed. */
static void derive(sim_t *s, campaign_t *c, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed ^ 0x5eed5eed5eed5eedull);
    static const uint64_t lat_spread[] = {0, 1, 2, 4, 9, 20, 40};
    static const uint64_t fs_spread[] = {0, 1, 2, 5, 10, 25};
    s->seed = seed;
    s->nv = rng_chance(&r, 50) ? 3 : 5;
    s->no = (uint32_t)rng_range(&r, 0, 2);
    s->lat_min = rng_range(&r, 0, 2);
    s->lat_max = s->lat_min + lat_spread[rng_range(&r, 0, 6)];
    s->fsync_min = rng_range(&r, 0, 2);
    s->fsync_max = s->fsync_min + fs_spread[rng_range(&r, 0, 5)];
    s->cumulative = rng_chance(&r, 50);
    c->lies = rng_chance(&r, 30);
    s->journal = c->lies;
    if (rng_chance(&r, 30)) {
        s->log_window = (uint32_t)rng_range(&r, 3, 20);
        if (rng_chance(&r, 30)) {
            /* Snapshot chunks: a snapshot needs several SNAP frames. */
            add_opt(s, ZAB_OPT_MAX_PAYLOAD_BYTES, rng_range(&r, 48, 200));
        }
    }
    if (rng_chance(&r, 15)) {
        add_opt(s, ZAB_OPT_DIFF_MAX, rng_range(&r, 2, 10));
    }
    if (rng_chance(&r, 25)) {
        c->tiny_counter = 1;
        add_opt(s, ZAB_OPT_COUNTER_MAX, rng_range(&r, 5, 20));
    }
    if (rng_chance(&r, 60)) {
        /* Fast timers: more elections per step.  The peer timeout stays
         * well above a round trip plus an fsync. */
        uint64_t hb = rng_range(&r, 10, 60);
        uint64_t rt = 2 * s->lat_max + s->fsync_max + 10;
        uint64_t peer = hb * rng_range(&r, 4, 10);
        if (peer < 4 * rt) {
            peer = 4 * rt;
        }
        add_opt(s, ZAB_OPT_HEARTBEAT_MS, hb);
        add_opt(s, ZAB_OPT_PEER_TIMEOUT_MS, peer);
        add_opt(s, ZAB_OPT_SYNC_TIMEOUT_MS, peer * rng_range(&r, 1, 3));
        add_opt(s, ZAB_OPT_ELECTION_TIMEOUT_MS, rng_range(&r, 20, 150) + rt);
        add_opt(s, ZAB_OPT_ELECTION_FINALIZE_MS, rng_range(&r, 5, 50));
    }
    /* Drawn last, so that the seeds drawn without it keep their runs. */
    c->churn = s->no > 0 && rng_chance(&r, 40);
}

int campaign_run(uint64_t seed, uint64_t steps, int trace, int quiet,
                 totals_t *tot)
{
    static sim_t sim; /* large: not on the stack */
    sim_t *s = &sim;
    campaign_t c;
    char replay[128];
    memset(&c, 0, sizeof(c));
    sim_defaults(s);
    derive(s, &c, seed);
    s->random_mode = 1;
    s->trace = trace;
    s->quiet = quiet;
    s->client_retry_ms = 5;
    s->client_max_wait_ms = 3000;
    s->campaign = &c;
    snprintf(replay, sizeof(replay),
             "zabsim --seed %" PRIu64 " --steps %" PRIu64 " --trace", seed,
             steps);
    s->replay = replay;
    if (!quiet || trace) {
        print_params(s, &c, steps);
    }
    sim_setup(s);
    for (uint32_t id = 1; id <= s->nn; id++) {
        host_boot(s, id);
    }
    later(s, 200, 1000, A_FAULT, 0, 0);
    later(s, 10, 50, A_CLIENT, 0, 0);
    if (c.churn) {
        later(s, 100, 2000, A_CHURN, 0, 0);
    }
    while (s->steps < steps && !s->failed) {
        if (!sim_step(s)) {
            break;
        }
    }
    if (!s->failed) {
        liveness(s, &c);
    }
    int failed = s->failed;
    if (failed) {
        printf("seed %" PRIu64 " FAILED; replay: %s\n", seed, replay);
    }
    fflush(stdout);
    sim_teardown(s);
    s->tot.steps = s->steps;
    s->tot.seeds = 1;
    tot->sync_diff += s->tot.sync_diff;
    tot->sync_trunc += s->tot.sync_trunc;
    tot->sync_snap += s->tot.sync_snap;
    tot->sync_late += s->tot.sync_late;
    tot->sync_observer += s->tot.sync_observer;
    tot->epochs3 += s->tot.epochs3;
    tot->tail_changes += s->tot.tail_changes;
    tot->trunc_diff += s->tot.trunc_diff;
    tot->steps += s->tot.steps;
    tot->seeds += 1;
    tot->violations += s->tot.violations;
    tot->failures += s->tot.failures;
    tot->lies += s->tot.lies;
    tot->lies_downgraded += s->tot.lies_downgraded;
    tot->eproto += s->tot.eproto;
    tot->refused += s->tot.refused;
    tot->excused += s->tot.excused;
    return failed ? -1 : 0;
}
