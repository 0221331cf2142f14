/*
 * scenario.c -- parser and runner of .zs scenario files (SCENARIOS.md).
 *
 * The whole file is parsed first, so a malformed line anywhere exits 2
 * before the cluster runs; `leader` and `follower` are kept symbolic and
 * resolved when their line runs.  Set-up commands must come before the
 * first event, since they define the world the events run in.
 */
#include "scenario.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "disk.h"
#include "host.h"
#include "net.h"
#include "sim.h"
#include "trace.h"
#include "world.h"

/* ---- parsed form ------------------------------------------------------------ */

enum {
    C_VOTERS = 1, C_OBSERVERS, C_SEED, C_LATENCY, C_FSYNC, C_CONFIG,
    C_START, C_RESTART, C_CRASH, C_TRAP_SEND, C_TRAP_DURABLE, C_RUN, C_UNTIL,
    C_PROPOSE, C_PARTITION, C_ISOLATE, C_HEAL, C_CUT, C_DROP, C_HOLD,
    C_RELEASE, C_DISCONNECT, C_DISK_STALL, C_DISK_RESUME, C_DISK_LOSE,
    C_DISK_TORN, C_EXPECT, C_EXPECT_LOST, C_EXPECT_DROPPED
};

/* A node reference: a number, or a word resolved when the line runs. */
enum { R_NONE = 0, R_ID, R_LEADER, R_FOLLOWER, R_ALL };

typedef struct ref {
    uint8_t kind;
    uint32_t id;
} ref_t;

enum {
    K_LEADER = 1, K_LEADER_ID, K_EPOCH, K_COMMITTED, K_DELIVERED_N,
    K_DELIVERED_Z, K_ROLE, K_SYNCED, K_LOGGED
};

typedef struct cond {
    uint8_t kind;
    uint8_t neg;
    ref_t node;
    uint64_t num; /* count, epoch or zxid */
    int role;
} cond_t;

#define MAX_REFS 128

typedef struct cmd {
    int line;
    int kind;
    char *text;
    ref_t refs[MAX_REFS];
    uint8_t group[MAX_REFS]; /* partition: group of each ref */
    int nrefs;
    ref_t a, b; /* links; R_ALL for `*` */
    int has_link;
    int msgkind; /* 0: any */
    uint64_t num, num2;
    int sub;
    cond_t cond;
} cmd_t;

typedef struct script {
    const char *path;
    cmd_t *cmds;
    size_t n, cap;
    sim_t *s;
    int seen_event;
} script_t;

/* ---- tokens -------------------------------------------------------------------- */

#define MAX_TOKS 160

typedef struct toks {
    char *t[MAX_TOKS];
    int n;
    char buf[2048];
} toks_t;

/* Splits a line into tokens; "->", "|" and ">=" are tokens of their own
 * even without spaces around them.  -1 if the line is too long. */
static int tokenize(const char *line, toks_t *tk)
{
    size_t o = 0;
    tk->n = 0;
    for (const char *p = line; *p && *p != '#' && *p != '\n' && *p != '\r';
         p++) {
        if (o + 4 >= sizeof(tk->buf)) {
            return -1;
        }
        if ((p[0] == '-' && p[1] == '>') || (p[0] == '>' && p[1] == '=')) {
            tk->buf[o++] = ' ';
            tk->buf[o++] = p[0];
            tk->buf[o++] = p[1];
            tk->buf[o++] = ' ';
            p++;
        } else if (*p == '|') {
            tk->buf[o++] = ' ';
            tk->buf[o++] = '|';
            tk->buf[o++] = ' ';
        } else {
            tk->buf[o++] = *p;
        }
    }
    tk->buf[o] = '\0';
    char *save = NULL;
    for (char *w = strtok_r(tk->buf, " \t", &save); w != NULL;
         w = strtok_r(NULL, " \t", &save)) {
        if (tk->n == MAX_TOKS) {
            return -1;
        }
        tk->t[tk->n++] = w;
    }
    return 0;
}

/* ---- parsing helpers ------------------------------------------------------------ */

typedef struct pctx {
    script_t *sc;
    int line;
    toks_t *tk;
    int i; /* next token */
    char err[256];
} pctx_t;

static int perr(pctx_t *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int perr(pctx_t *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    return -1;
}

static const char *peek(pctx_t *p)
{
    return p->i < p->tk->n ? p->tk->t[p->i] : NULL;
}

static const char *next(pctx_t *p)
{
    return p->i < p->tk->n ? p->tk->t[p->i++] : NULL;
}

static int is_word(const char *w, const char *x)
{
    return w != NULL && strcmp(w, x) == 0;
}

static int parse_u64(const char *w, uint64_t *out)
{
    if (w == NULL || *w == '\0') {
        return -1;
    }
    uint64_t v = 0;
    for (const char *c = w; *c; c++) {
        if (!isdigit((unsigned char)*c)) {
            return -1;
        }
        uint64_t nv = v * 10 + (uint64_t)(*c - '0');
        if (nv / 10 != v) {
            return -1; /* overflow */
        }
        v = nv;
    }
    *out = v;
    return 0;
}

/* A number with an optional fraction and a unit suffix: "200ms", "1.5s",
 * or the number and the unit as two tokens.  `unit_required`: a bare
 * number is an error (times in events); else it means ms (config). */
static int parse_time_tok(pctx_t *p, uint64_t *ms, int unit_required)
{
    const char *w = next(p);
    if (w == NULL) {
        return perr(p, "missing time");
    }
    char num[64];
    size_t k = 0;
    while (w[k] && (isdigit((unsigned char)w[k]) || w[k] == '.') &&
           k + 1 < sizeof(num)) {
        num[k] = w[k];
        k++;
    }
    num[k] = '\0';
    const char *unit = w + k;
    if (k == 0) {
        return perr(p, "bad time '%s'", w);
    }
    if (*unit == '\0' && (is_word(peek(p), "ms") || is_word(peek(p), "s"))) {
        unit = next(p);
    }
    uint64_t scale;
    if (strcmp(unit, "ms") == 0) {
        scale = 1;
    } else if (strcmp(unit, "s") == 0) {
        scale = 1000;
    } else if (*unit == '\0' && !unit_required) {
        scale = 1;
    } else {
        return perr(p, "bad time '%s' (use ms or s)", w);
    }
    /* integer part and up to three decimals, without floating point */
    uint64_t ip = 0, frac = 0, fdiv = 1;
    int seen_dot = 0;
    for (const char *c = num; *c; c++) {
        if (*c == '.') {
            if (seen_dot) {
                return perr(p, "bad time '%s'", w);
            }
            seen_dot = 1;
        } else if (!seen_dot) {
            ip = ip * 10 + (uint64_t)(*c - '0');
            if (ip > 1000000000000ull) {
                return perr(p, "time '%s' too large", w);
            }
        } else if (fdiv < 1000000) {
            frac = frac * 10 + (uint64_t)(*c - '0');
            fdiv *= 10;
        }
    }
    *ms = ip * scale + frac * scale / fdiv;
    return 0;
}

static int parse_zxid(const char *w, uint64_t *z)
{
    if (w == NULL) {
        return -1;
    }
    const char *colon = strchr(w, ':');
    if (colon == NULL || colon == w) {
        return -1;
    }
    char e[32];
    size_t el = (size_t)(colon - w);
    if (el >= sizeof(e)) {
        return -1;
    }
    memcpy(e, w, el);
    e[el] = '\0';
    uint64_t ev, cv;
    if (parse_u64(e, &ev) != 0 || parse_u64(colon + 1, &cv) != 0 ||
        ev > 0xffffffffu || cv > 0xffffffffu) {
        return -1;
    }
    *z = ZAB_ZXID(ev, cv);
    return 0;
}

/* A node id, `leader`, `follower`; `all`/`*` when allow_all. */
static int parse_ref(pctx_t *p, ref_t *r, int allow_all)
{
    const char *w = next(p);
    uint64_t v;
    if (w == NULL) {
        return perr(p, "missing node id");
    }
    if (strcmp(w, "leader") == 0) {
        r->kind = R_LEADER;
    } else if (strcmp(w, "follower") == 0) {
        r->kind = R_FOLLOWER;
    } else if (allow_all && (strcmp(w, "all") == 0 || strcmp(w, "*") == 0)) {
        r->kind = R_ALL;
    } else if (parse_u64(w, &v) == 0) {
        uint32_t nn = p->sc->s->nv + p->sc->s->no;
        if (v < 1 || v > nn) {
            return perr(p, "node id %s out of range 1..%u", w, nn);
        }
        r->kind = R_ID;
        r->id = (uint32_t)v;
    } else {
        return perr(p, "bad node id '%s'", w);
    }
    return 0;
}

static int parse_list(pctx_t *p, cmd_t *c, int min)
{
    while (peek(p) != NULL && !is_word(peek(p), "on")) {
        if (c->nrefs == MAX_REFS) {
            return perr(p, "too many ids");
        }
        if (parse_ref(p, &c->refs[c->nrefs], 1) != 0) {
            return -1;
        }
        c->nrefs++;
    }
    if (c->nrefs < min) {
        return perr(p, "missing node id");
    }
    return 0;
}

static int parse_kind(pctx_t *p, int *kind)
{
    const char *w = next(p);
    if (w == NULL) {
        return perr(p, "missing message kind");
    }
    if (strcmp(w, "*") == 0) {
        *kind = 0;
        return 0;
    }
    char up[32];
    size_t k = 0;
    for (; w[k] && k + 1 < sizeof(up); k++) {
        up[k] = (char)toupper((unsigned char)w[k]);
    }
    up[k] = '\0';
    int v = zab__kind_from_name(up);
    if (v == 0) {
        return perr(p, "unknown message kind '%s'", w);
    }
    *kind = v;
    return 0;
}

static int parse_link(pctx_t *p, cmd_t *c)
{
    if (parse_ref(p, &c->a, 1) != 0) {
        return -1;
    }
    if (!is_word(next(p), "->")) {
        return perr(p, "expected A->B");
    }
    if (parse_ref(p, &c->b, 1) != 0) {
        return -1;
    }
    c->has_link = 1;
    return 0;
}

static int strcasecmp_portable(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca != cb || ca == 0) {
            return ca - cb;
        }
    }
}

static int parse_role(const char *w, int *role)
{
    static const char *const names[] = {"looking", "following", "leading",
                                        "observing"};
    if (w == NULL) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        if (strcasecmp_portable(w, names[i]) == 0) {
            *role = i;
            return 0;
        }
    }
    return -1;
}

static int parse_cond(pctx_t *p, cond_t *cd, int end)
{
    const char *w = next(p);
    memset(cd, 0, sizeof(*cd));
    while (is_word(w, "not")) {
        cd->neg ^= 1;
        w = next(p);
    }
    if (w == NULL || p->i > end) {
        return perr(p, "missing condition");
    }
    uint64_t v;
    if (strcmp(w, "leader") == 0) {
        if (p->i < end) {
            cd->kind = K_LEADER_ID;
            if (parse_ref(p, &cd->node, 0) != 0) {
                return -1;
            }
        } else {
            cd->kind = K_LEADER;
        }
    } else if (strcmp(w, "epoch") == 0) {
        cd->kind = K_EPOCH;
        if (!is_word(next(p), ">=") || parse_u64(next(p), &v) != 0) {
            return perr(p, "expected: epoch >= E");
        }
        cd->num = v;
    } else if (strcmp(w, "committed") == 0) {
        cd->kind = K_COMMITTED;
        if (parse_u64(next(p), &v) != 0) {
            return perr(p, "expected: committed K");
        }
        cd->num = v;
    } else if (strcmp(w, "delivered") == 0) {
        if (parse_ref(p, &cd->node, 0) != 0) {
            return -1;
        }
        const char *x = next(p);
        if (is_word(x, ">=")) {
            cd->kind = K_DELIVERED_N;
            if (parse_u64(next(p), &v) != 0) {
                return perr(p, "expected: delivered ID >= K");
            }
            cd->num = v;
        } else if (parse_zxid(x, &v) == 0) {
            cd->kind = K_DELIVERED_Z;
            cd->num = v;
        } else {
            return perr(p, "expected: delivered ID >= K, or delivered ID E:C");
        }
    } else if (strcmp(w, "role") == 0) {
        cd->kind = K_ROLE;
        if (parse_ref(p, &cd->node, 0) != 0) {
            return -1;
        }
        if (parse_role(next(p), &cd->role) != 0) {
            return perr(p, "expected a role: looking, following, leading or "
                           "observing");
        }
    } else if (strcmp(w, "synced") == 0) {
        cd->kind = K_SYNCED;
    } else if (strcmp(w, "logged") == 0) {
        cd->kind = K_LOGGED;
        if (parse_ref(p, &cd->node, 0) != 0) {
            return -1;
        }
        if (parse_zxid(next(p), &v) != 0) {
            return perr(p, "expected: logged ID E:C");
        }
        cd->num = v;
    } else {
        return perr(p, "unknown condition '%s'", w);
    }
    if (p->i != end) {
        return perr(p, "unexpected '%s' after the condition",
                    p->i < p->tk->n ? p->tk->t[p->i] : "");
    }
    return 0;
}

/* ---- config keys ---------------------------------------------------------------- */

static const struct {
    const char *alias, *name;
} aliases[] = {
    {"tick", "heartbeat_ms"},
    {"heartbeat", "heartbeat_ms"},
    {"ping_interval", "heartbeat_ms"},
    {"sync_limit", "peer_timeout_ms"},
    {"follower_timeout", "peer_timeout_ms"},
    {"leader_timeout", "peer_timeout_ms"},
    {"init_limit", "sync_timeout_ms"},
    {"counter_limit", "counter_max"},
    {"zxid_counter_max", "counter_max"},
    {"finalize_wait", "election_finalize_ms"},
};

/* -1: unknown; -2: the simulator's own host knob `log_window`. */
static int lookup_option(const char *key)
{
    char k[64], k2[72];
    size_t n = 0;
    for (; key[n] && n + 1 < sizeof(k); n++) {
        k[n] = key[n] == '-' ? '_' : (char)tolower((unsigned char)key[n]);
    }
    k[n] = '\0';
    int opt;
    if (zab_config_option(k, &opt) == 0) {
        return opt;
    }
    snprintf(k2, sizeof(k2), "%s_ms", k);
    if (zab_config_option(k2, &opt) == 0) {
        return opt;
    }
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (strcmp(k, aliases[i].alias) == 0 &&
            zab_config_option(aliases[i].name, &opt) == 0) {
            return opt;
        }
    }
    if (strcmp(k, "log_window") == 0 || strcmp(k, "snap_count") == 0) {
        return -2;
    }
    return -1;
}

/* ---- one line ---------------------------------------------------------------------- */

static int setup_cmd(int kind)
{
    return kind >= C_VOTERS && kind <= C_CONFIG;
}

static int parse_line(pctx_t *p, cmd_t *c)
{
    sim_t *s = p->sc->s;
    const char *w = next(p);
    uint64_t v, v2;
    if (strcmp(w, "voters") == 0 || strcmp(w, "observers") == 0) {
        int voters = w[0] == 'v';
        c->kind = voters ? C_VOTERS : C_OBSERVERS;
        if (parse_u64(next(p), &v) != 0) {
            return perr(p, "expected: %s N", w);
        }
        uint32_t other = voters ? s->no : s->nv;
        if ((voters && v < 1) || v + other > SIM_MAX_NODES) {
            return perr(p, "%s %" PRIu64 ": 1..%d nodes in all", w, v,
                        SIM_MAX_NODES);
        }
        if (voters) {
            s->nv = (uint32_t)v;
        } else {
            s->no = (uint32_t)v;
        }
    } else if (strcmp(w, "seed") == 0) {
        c->kind = C_SEED;
        if (parse_u64(next(p), &v) != 0) {
            return perr(p, "expected: seed S");
        }
        s->seed = v;
    } else if (strcmp(w, "latency") == 0 || strcmp(w, "fsync") == 0) {
        c->kind = w[0] == 'l' ? C_LATENCY : C_FSYNC;
        if (parse_time_tok(p, &v, 1) != 0 || parse_time_tok(p, &v2, 1) != 0) {
            return -1;
        }
        if (v2 < v) {
            return perr(p, "%s MIN MAX with MAX < MIN", w);
        }
        if (c->kind == C_LATENCY) {
            s->lat_min = v;
            s->lat_max = v2;
        } else {
            s->fsync_min = v;
            s->fsync_max = v2;
        }
    } else if (strcmp(w, "config") == 0) {
        c->kind = C_CONFIG;
        const char *key = next(p);
        if (key == NULL || peek(p) == NULL) {
            return perr(p, "expected: config KEY VALUE");
        }
        if (parse_time_tok(p, &v, 0) != 0) {
            return -1;
        }
        int opt = lookup_option(key);
        if (opt == -1) {
            fprintf(stderr, "%s:%d: warning: unknown config key '%s' ignored\n",
                    p->sc->path, p->line, key);
        } else if (opt == -2) {
            s->log_window = (uint32_t)(v > 0xffffffffu ? 0xffffffffu : v);
        } else {
            zab_config_t *cfg = NULL;
            int r = zab_config_new(&cfg);
            if (r == 0) {
                r = zab_config_set(cfg, opt, v);
            }
            zab_config_free(cfg);
            if (r != 0) {
                return perr(p, "config %s %" PRIu64 ": %s", key, v,
                            zab_strerror(r));
            }
            int i = 0;
            while (i < s->nopts && s->opts[i].option != opt) {
                i++;
            }
            if (i == s->nopts) {
                if (s->nopts == (int)(sizeof(s->opts) / sizeof(s->opts[0]))) {
                    return perr(p, "too many config lines");
                }
                s->nopts++;
            }
            s->opts[i].option = opt;
            s->opts[i].value = v;
        }
    } else if (strcmp(w, "start") == 0 || strcmp(w, "restart") == 0) {
        c->kind = w[0] == 's' ? C_START : C_RESTART;
        if (parse_list(p, c, 1) != 0) {
            return -1;
        }
    } else if (strcmp(w, "crash") == 0) {
        c->kind = C_CRASH;
        if (parse_list(p, c, 1) != 0) {
            return -1;
        }
        if (is_word(peek(p), "on")) {
            next(p);
            if (c->nrefs != 1 || c->refs[0].kind == R_ALL) {
                return perr(p, "a trap names one node");
            }
            const char *what = next(p);
            if (is_word(what, "send")) {
                c->kind = C_TRAP_SEND;
                if (parse_kind(p, &c->msgkind) != 0) {
                    return -1;
                }
            } else if (is_word(what, "durable")) {
                c->kind = C_TRAP_DURABLE;
                const char *x = next(p);
                if (is_word(x, "log")) {
                    c->sub = TRAP_LOG;
                } else if (is_word(x, "accepted")) {
                    c->sub = TRAP_ACCEPTED;
                } else if (is_word(x, "current")) {
                    c->sub = TRAP_CURRENT;
                } else {
                    return perr(p, "expected: crash ID on durable "
                                   "log|accepted|current");
                }
            } else {
                return perr(p, "expected: crash ID on send KIND, or crash ID "
                               "on durable ...");
            }
        }
    } else if (strcmp(w, "run") == 0) {
        c->kind = C_RUN;
        if (parse_time_tok(p, &c->num, 1) != 0) {
            return -1;
        }
    } else if (strcmp(w, "until") == 0) {
        c->kind = C_UNTIL;
        int within = -1;
        for (int i = p->tk->n - 1; i >= p->i; i--) {
            if (strcmp(p->tk->t[i], "within") == 0) {
                within = i;
                break;
            }
        }
        if (within < 0) {
            return perr(p, "expected: until COND within T");
        }
        if (parse_cond(p, &c->cond, within) != 0) {
            return -1;
        }
        next(p); /* within */
        if (parse_time_tok(p, &c->num, 1) != 0) {
            return -1;
        }
    } else if (strcmp(w, "expect") == 0) {
        if (is_word(peek(p), "lost")) {
            next(p);
            if (!is_word(next(p), "none")) {
                return perr(p, "expected: expect lost none");
            }
            c->kind = C_EXPECT_LOST;
        } else if (is_word(peek(p), "dropped")) {
            next(p);
            c->kind = C_EXPECT_DROPPED;
            if (parse_zxid(next(p), &c->num) != 0) {
                return perr(p, "expected: expect dropped E:C");
            }
        } else {
            c->kind = C_EXPECT;
            if (parse_cond(p, &c->cond, p->tk->n) != 0) {
                return -1;
            }
        }
    } else if (strcmp(w, "propose") == 0) {
        c->kind = C_PROPOSE;
        if (parse_u64(next(p), &c->num) != 0 || c->num > 1000000) {
            return perr(p, "expected: propose K [via ID]");
        }
        if (is_word(peek(p), "via")) {
            next(p);
            if (parse_ref(p, &c->a, 0) != 0) {
                return -1;
            }
        } else {
            c->a.kind = R_LEADER;
        }
    } else if (strcmp(w, "partition") == 0) {
        c->kind = C_PARTITION;
        int g = 0, in_group = 0;
        while (peek(p) != NULL) {
            if (is_word(peek(p), "|")) {
                next(p);
                if (in_group == 0) {
                    return perr(p, "empty group in partition");
                }
                g++;
                in_group = 0;
                continue;
            }
            if (c->nrefs == MAX_REFS) {
                return perr(p, "too many ids");
            }
            if (parse_ref(p, &c->refs[c->nrefs], 0) != 0) {
                return -1;
            }
            c->group[c->nrefs++] = (uint8_t)g;
            in_group++;
        }
        if (g < 1 || in_group == 0) {
            return perr(p, "expected: partition A.. | B.. [| C..]");
        }
    } else if (strcmp(w, "isolate") == 0) {
        c->kind = C_ISOLATE;
        if (parse_ref(p, &c->a, 0) != 0) {
            return -1;
        }
    } else if (strcmp(w, "heal") == 0) {
        c->kind = C_HEAL;
    } else if (strcmp(w, "cut") == 0) {
        c->kind = C_CUT;
        if (parse_link(p, c) != 0) {
            return -1;
        }
    } else if (strcmp(w, "drop") == 0 || strcmp(w, "hold") == 0) {
        c->kind = w[0] == 'd' ? C_DROP : C_HOLD;
        if (parse_link(p, c) != 0 || parse_kind(p, &c->msgkind) != 0) {
            return -1;
        }
        c->num = 1;
        if (c->kind == C_DROP && is_word(peek(p), "count")) {
            next(p);
            if (parse_u64(next(p), &c->num) != 0 || c->num == 0 ||
                c->num > 0xffffffffu) {
                return perr(p, "expected: count C (C >= 1)");
            }
        }
    } else if (strcmp(w, "release") == 0) {
        c->kind = C_RELEASE;
        if (peek(p) != NULL && parse_link(p, c) != 0) {
            return -1;
        }
    } else if (strcmp(w, "disconnect") == 0) {
        c->kind = C_DISCONNECT;
        if (parse_ref(p, &c->a, 0) != 0 || parse_ref(p, &c->b, 0) != 0) {
            return -1;
        }
    } else if (strcmp(w, "disk") == 0) {
        const char *x = next(p);
        if (is_word(x, "stall")) {
            c->kind = C_DISK_STALL;
        } else if (is_word(x, "resume")) {
            c->kind = C_DISK_RESUME;
        } else if (is_word(x, "lose")) {
            c->kind = C_DISK_LOSE;
            s->journal = 1;
        } else if (is_word(x, "torn")) {
            c->kind = C_DISK_TORN;
        } else {
            return perr(p, "expected: disk stall|resume|lose|torn ID");
        }
        if (parse_ref(p, &c->a, 0) != 0) {
            return -1;
        }
        c->sub = 3;
        if (c->kind == C_DISK_STALL && peek(p) != NULL) {
            const char *m = next(p);
            if (is_word(m, "log")) {
                c->sub = 1;
            } else if (is_word(m, "epochs")) {
                c->sub = 2;
            } else {
                return perr(p, "expected: disk stall ID [log|epochs]");
            }
        }
    } else {
        return perr(p, "unknown command '%s'", w);
    }
    if (peek(p) != NULL) {
        return perr(p, "unexpected '%s'", peek(p));
    }
    if (setup_cmd(c->kind)) {
        if (p->sc->seen_event) {
            return perr(p, "'%s' is a set-up command: it must come before "
                           "the first event",
                        w);
        }
    } else {
        p->sc->seen_event = 1;
    }
    return 0;
}

static char *trim_copy(const char *line)
{
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    size_t n = strcspn(line, "#\r\n");
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) {
        n--;
    }
    char *t = sim_alloc(n + 1);
    memcpy(t, line, n);
    t[n] = '\0';
    return t;
}

static int load(script_t *sc)
{
    FILE *f = fopen(sc->path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open\n", sc->path);
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    static toks_t tk; /* large; the parser is not re-entered */
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "%s:%d: line too long\n", sc->path, lineno);
            rc = -1;
            break;
        }
        pctx_t p;
        memset(&p, 0, sizeof(p));
        p.sc = sc;
        p.line = lineno;
        p.tk = &tk;
        if (tokenize(line, &tk) != 0) {
            fprintf(stderr, "%s:%d: line too long\n", sc->path, lineno);
            rc = -1;
            break;
        }
        if (tk.n == 0) {
            continue;
        }
        sc->cmds = sim_grow(sc->cmds, &sc->cap, sc->n + 1, sizeof(cmd_t));
        cmd_t *c = &sc->cmds[sc->n];
        memset(c, 0, sizeof(*c));
        c->line = lineno;
        if (parse_line(&p, c) != 0) {
            fprintf(stderr, "%s:%d: %s\n", sc->path, lineno, p.err);
            rc = -1;
            break;
        }
        c->text = trim_copy(line);
        sc->n++;
    }
    fclose(f);
    return rc;
}

/* ---- running ----------------------------------------------------------------------- */

/* Resolves a single reference; 0 when `leader`/`follower` has no node. */
static uint32_t resolve(sim_t *s, const ref_t *r)
{
    switch (r->kind) {
    case R_ID:
        return r->id;
    case R_LEADER:
        return chk_leader(s);
    case R_FOLLOWER: {
        uint32_t l = chk_leader(s);
        if (l == 0) {
            return 0;
        }
        for (uint32_t id = 1; id <= s->nn; id++) {
            node_t *n = &s->nodes[id];
            if (n->live && n->role == ZAB_FOLLOWING && n->leader == l) {
                return id;
            }
        }
        return 0;
    }
    default:
        return 0;
    }
}

static const char *ref_name(const ref_t *r)
{
    return r->kind == R_LEADER ? "leader" : "follower";
}

/* Resolves a list into a node mask; 0 after a reported failure. */
static uint64_t resolve_list(sim_t *s, const cmd_t *c, int *ok)
{
    uint64_t mask = 0;
    *ok = 1;
    for (int i = 0; i < c->nrefs; i++) {
        if (c->refs[i].kind == R_ALL) {
            for (uint32_t id = 1; id <= s->nn; id++) {
                mask |= NODE_BIT(id);
            }
            continue;
        }
        uint32_t id = resolve(s, &c->refs[i]);
        if (id == 0) {
            chk_fail(s, "line %d: %s: there is no %s", c->line, c->text,
                     ref_name(&c->refs[i]));
            *ok = 0;
            return 0;
        }
        mask |= NODE_BIT(id);
    }
    return mask;
}

/* Resolves one end of a link: a mask (all nodes for `*`). */
static uint64_t resolve_end(sim_t *s, const cmd_t *c, const ref_t *r, int *ok)
{
    *ok = 1;
    if (r->kind == R_ALL) {
        uint64_t m = 0;
        for (uint32_t id = 1; id <= s->nn; id++) {
            m |= NODE_BIT(id);
        }
        return m;
    }
    uint32_t id = resolve(s, r);
    if (id == 0) {
        chk_fail(s, "line %d: %s: there is no %s", c->line, c->text,
                 ref_name(r));
        *ok = 0;
        return 0;
    }
    return NODE_BIT(id);
}

/* Evaluates a condition.  *unresolved is set when it names `leader` or
 * `follower` and there is none. */
static int eval(sim_t *s, const cond_t *cd, int *unresolved, char *why,
                size_t wlen)
{
    char z[24];
    int v = 0;
    uint32_t id = 0;
    *unresolved = 0;
    why[0] = '\0';
    if (cd->node.kind != R_NONE) {
        id = resolve(s, &cd->node);
        if (id == 0) {
            *unresolved = 1;
            snprintf(why, wlen, "there is no %s", ref_name(&cd->node));
            return 0;
        }
    }
    node_t *n = id ? &s->nodes[id] : NULL;
    switch (cd->kind) {
    case K_LEADER: {
        uint32_t l = chk_leader(s);
        v = l != 0;
        snprintf(why, wlen, l ? "n%u leads" : "no established leader", l);
        break;
    }
    case K_LEADER_ID: {
        uint32_t l = chk_leader(s);
        v = l == id;
        snprintf(why, wlen, l ? "the leader is n%u" : "no established leader",
                 l);
        break;
    }
    case K_EPOCH: {
        uint32_t l = chk_leader(s);
        uint32_t e = l ? s->nodes[l].epoch : s->max_epoch;
        v = e >= cd->num;
        snprintf(why, wlen, "epoch is %u", e);
        break;
    }
    case K_COMMITTED: {
        uint32_t l = chk_leader(s);
        if (l == 0) {
            snprintf(why, wlen, "no established leader");
            break;
        }
        uint64_t c = host_stat(s, l, ZAB_STAT_COMMITTED_ZXID);
        size_t k = view_count_le(&s->nodes[l].disk.cur, c);
        v = k >= cd->num;
        snprintf(why, wlen, "leader n%u committed %zu (up to %s)", l, k,
                 sim_zxid_str(c, z));
        break;
    }
    case K_DELIVERED_N:
        v = n->nd >= cd->num;
        snprintf(why, wlen, "n%u delivered %zu", id, n->nd);
        break;
    case K_DELIVERED_Z:
        v = chk_delivered(s, n, cd->num);
        snprintf(why, wlen, "n%u delivered %zu, up to %s", id, n->nd,
                 sim_zxid_str(n->nd ? s->recs[n->d[n->nd - 1]].zxid : 0, z));
        break;
    case K_ROLE:
        v = n->live && n->role == cd->role;
        snprintf(why, wlen, "n%u is %s", id,
                 n->live ? zab_role_name(n->role) : "down");
        break;
    case K_SYNCED:
        v = chk_synced(s);
        snprintf(why, wlen, "%s", chk_leader(s) ? "some node lags"
                                                : "no established leader");
        break;
    case K_LOGGED:
        v = view_find(&n->disk.cur, cd->num) >= 0;
        snprintf(why, wlen, "n%u's log ends at %s", id,
                 sim_zxid_str(view_last(&n->disk.cur), z));
        break;
    default:
        break;
    }
    return cd->neg ? !v : v;
}

static int run_until(sim_t *s, const cmd_t *c)
{
    uint64_t deadline = s->now + c->num;
    char why[160];
    int unresolved;
    for (;;) {
        if (eval(s, &c->cond, &unresolved, why, sizeof(why)) && !unresolved) {
            return 0;
        }
        if (s->failed) {
            return -1;
        }
        const ev_t *e = sched_peek(&s->sched);
        if (e == NULL || e->t > deadline) {
            s->now = deadline;
            if (eval(s, &c->cond, &unresolved, why, sizeof(why)) &&
                !unresolved) {
                return 0;
            }
            chk_fail(s, "line %d: %s: not reached by t=%" PRIu64 " (%s)",
                     c->line, c->text, s->now, why);
            return -1;
        }
        sim_step(s);
    }
}

static void for_links(sim_t *s, const cmd_t *c, uint64_t am, uint64_t bm)
{
    for (uint32_t a = 1; a <= s->nn; a++) {
        for (uint32_t b = 1; b <= s->nn; b++) {
            if (a == b || !(am & NODE_BIT(a)) || !(bm & NODE_BIT(b))) {
                continue;
            }
            switch (c->kind) {
            case C_CUT:
                net_cut(s, a, b);
                break;
            case C_DROP:
                net_drop(s, a, b, c->msgkind, (uint32_t)c->num);
                break;
            case C_HOLD:
                net_hold(s, a, b, c->msgkind);
                break;
            case C_RELEASE:
                net_release(s, a, b);
                break;
            default:
                break;
            }
        }
    }
}

static int exec(sim_t *s, const cmd_t *c)
{
    int ok = 1;
    char why[256];
    uint64_t mask;
    tr_story(s, 0, "line %d: %s", c->line, c->text);
    switch (c->kind) {
    case C_START:
    case C_RESTART:
        mask = resolve_list(s, c, &ok);
        for (uint32_t id = 1; ok && id <= s->nn && !s->failed; id++) {
            if (mask & NODE_BIT(id)) {
                if (s->nodes[id].live) {
                    if (c->refs[0].kind != R_ALL) {
                        tr_note(s, id, "already running");
                    }
                    continue;
                }
                host_boot(s, id);
            }
        }
        break;
    case C_CRASH:
        mask = resolve_list(s, c, &ok);
        for (uint32_t id = 1; ok && id <= s->nn; id++) {
            if (mask & NODE_BIT(id)) {
                host_crash(s, id, "crash command");
            }
        }
        break;
    case C_TRAP_SEND:
    case C_TRAP_DURABLE: {
        uint32_t id = resolve(s, &c->refs[0]);
        if (id == 0) {
            chk_fail(s, "line %d: %s: there is no %s", c->line, c->text,
                     ref_name(&c->refs[0]));
            break;
        }
        if (c->kind == C_TRAP_SEND) {
            s->nodes[id].trap_send |= 1u << c->msgkind;
        } else {
            s->nodes[id].trap_durable |= (uint32_t)c->sub;
        }
        break;
    }
    case C_RUN:
        sim_run_until(s, s->now + c->num);
        break;
    case C_UNTIL:
        run_until(s, c);
        break;
    case C_PROPOSE: {
        uint32_t via = resolve(s, &c->a);
        if (via == 0) {
            chk_fail(s, "line %d: %s: there is no %s", c->line, c->text,
                     ref_name(&c->a));
            break;
        }
        sim_propose(s, via, (uint32_t)c->num);
        break;
    }
    case C_PARTITION: {
        uint32_t ids[MAX_REFS];
        for (int i = 0; i < c->nrefs; i++) {
            ids[i] = resolve(s, &c->refs[i]);
            if (ids[i] == 0) {
                chk_fail(s, "line %d: %s: there is no %s", c->line, c->text,
                         ref_name(&c->refs[i]));
                return -1;
            }
        }
        for (int i = 0; i < c->nrefs; i++) {
            for (int j = 0; j < c->nrefs; j++) {
                if (c->group[i] != c->group[j]) {
                    net_cut(s, ids[i], ids[j]);
                }
            }
        }
        break;
    }
    case C_ISOLATE: {
        uint32_t id = resolve(s, &c->a);
        if (id == 0) {
            chk_fail(s, "line %d: %s: there is no %s", c->line, c->text,
                     ref_name(&c->a));
            break;
        }
        for (uint32_t p = 1; p <= s->nn; p++) {
            net_cut(s, id, p);
            net_cut(s, p, id);
        }
        break;
    }
    case C_HEAL:
        net_heal(s);
        break;
    case C_CUT:
    case C_DROP:
    case C_HOLD:
    case C_RELEASE: {
        if (!c->has_link) {
            net_release(s, 0, 0);
            break;
        }
        int ok2 = 0;
        uint64_t am = resolve_end(s, c, &c->a, &ok);
        uint64_t bm = ok ? resolve_end(s, c, &c->b, &ok2) : 0;
        if (ok && ok2) {
            for_links(s, c, am, bm);
        }
        break;
    }
    case C_DISCONNECT: {
        uint32_t a = resolve(s, &c->a), b = resolve(s, &c->b);
        if (a == 0 || b == 0) {
            chk_fail(s, "line %d: %s: there is no %s", c->line, c->text,
                     ref_name(a == 0 ? &c->a : &c->b));
            break;
        }
        if (a != b) {
            net_break(s, a, b, "disconnect");
        }
        break;
    }
    case C_DISK_STALL:
    case C_DISK_RESUME:
    case C_DISK_LOSE:
    case C_DISK_TORN: {
        uint32_t id = resolve(s, &c->a);
        if (id == 0) {
            chk_fail(s, "line %d: %s: there is no %s", c->line, c->text,
                     ref_name(&c->a));
            break;
        }
        node_t *n = &s->nodes[id];
        if (c->kind == C_DISK_STALL) {
            disk_stall(s, n, c->sub);
        } else if (c->kind == C_DISK_RESUME) {
            disk_resume(s, n);
        } else if (c->kind == C_DISK_LOSE) {
            n->disk.lose = 1;
        } else {
            n->disk.torn = 1;
        }
        break;
    }
    case C_EXPECT: {
        int unresolved;
        if (!eval(s, &c->cond, &unresolved, why, sizeof(why)) || unresolved) {
            chk_fail(s, "line %d: %s: does not hold (%s)", c->line, c->text,
                     why);
        }
        break;
    }
    case C_EXPECT_LOST:
        if (!chk_lost_none(s, why, sizeof(why))) {
            chk_fail(s, "line %d: %s: %s", c->line, c->text, why);
        }
        break;
    case C_EXPECT_DROPPED:
        if (!chk_dropped(s, c->num, why, sizeof(why))) {
            chk_fail(s, "line %d: %s: %s", c->line, c->text, why);
        }
        break;
    default:
        break; /* set-up: already applied while parsing */
    }
    return s->failed ? -1 : 0;
}

/* --narrate: where every node ended, and the hash of its state machine
 * (equal hashes: the same transactions applied in the same order). */
static void print_summary(sim_t *s)
{
    char z[24];
    printf("t=%-7" PRIu64 " final state:\n", s->now);
    for (uint32_t id = 1; id <= s->nn; id++) {
        node_t *n = &s->nodes[id];
        uint64_t last = n->nd ? s->recs[n->d[n->nd - 1]].zxid : 0;
        if (n->live) {
            printf("          n%u %-9s leader=%u epoch=%u  delivered %zu, up to "
                   "%s, state %016" PRIx64 "\n",
                   id, zab_role_name(n->role), n->leader, n->epoch, n->nd,
                   sim_zxid_str(last, z), n->hash);
        } else {
            printf("          n%u down      delivered %zu, up to %s\n", id,
                   n->nd, sim_zxid_str(last, z));
        }
    }
}

int scenario_run(const char *path, int trace, int narrate, int quiet)
{
    static sim_t sim; /* large: not on the stack */
    sim_t *s = &sim;
    script_t sc;
    memset(&sc, 0, sizeof(sc));
    sim_defaults(s);
    sc.path = path;
    sc.s = s;
    int rc = load(&sc);
    if (rc == 0) {
        s->trace = trace;
        s->narrate = narrate;
        s->quiet = quiet;
        sim_setup(s);
        for (size_t i = 0; i < sc.n && !s->failed; i++) {
            exec(s, &sc.cmds[i]);
        }
        rc = s->failed ? 1 : 0;
        if (narrate) {
            print_summary(s);
        }
        if (rc == 0 && !quiet) {
            printf("%s: ok (%" PRIu64 " steps, %" PRIu64
                   " ms virtual%s)\n",
                   path, s->steps, s->now,
                   s->tot.excused ? ", some checks excused by disk lose" : "");
        }
        sim_teardown(s);
    } else {
        rc = 2;
    }
    for (size_t i = 0; i < sc.n; i++) {
        free(sc.cmds[i].text);
    }
    free(sc.cmds);
    return rc;
}
