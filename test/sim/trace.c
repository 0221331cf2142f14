/*
 * trace.c -- the trace ring, --trace and --narrate output (see trace.h).
 */
#include "trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "codec.h"

static trace_rec_t *slot(sim_t *s, int type, uint32_t node)
{
    trace_rec_t *r = &s->ring[s->ring_n++ % TRACE_RING];
    r->t = s->now;
    r->type = (uint8_t)type;
    r->node = (uint8_t)node;
    r->peer = 0;
    r->kind = 0;
    r->zxid = 0;
    r->epoch = 0;
    r->aux = 0;
    r->text[0] = '\0';
    return r;
}

static void format_rec(sim_t *s, const trace_rec_t *r, char *out, size_t cap)
{
    char z[24];
    const char *kn = zab__kind_name(r->kind);
    if (kn == NULL) {
        kn = "?";
    }
    int off = snprintf(out, cap, "t=%-7" PRIu64 " ", r->t);
    if (off < 0 || (size_t)off >= cap) {
        return;
    }
    out += off;
    cap -= (size_t)off;
    switch (r->type) {
    case TR_SEND:
    case TR_LOST:
    case TR_HELD: {
        const char *what = r->type == TR_SEND   ? "send"
                           : r->type == TR_LOST ? "LOST"
                                                : "held";
        off = snprintf(out, cap, "n%u -> n%u %s %s", r->node, r->peer, what,
                       kn);
        break;
    }
    case TR_RECV:
        off = snprintf(out, cap, "n%u <- n%u recv %s", r->node, r->peer, kn);
        break;
    case TR_DELIVER:
        snprintf(out, cap, "n%u deliver %s %s", r->node,
                 sim_zxid_str(r->zxid, z),
                 r->epoch < s->ntx ? s->txs[r->epoch].payload : "?");
        return;
    default:
        if (r->node) {
            snprintf(out, cap, "n%u %s", r->node, r->text);
        } else {
            snprintf(out, cap, "%s", r->text);
        }
        return;
    }
    if (off < 0 || (size_t)off >= cap) {
        return;
    }
    out += off;
    cap -= (size_t)off;
    /* The fields that matter for each kind (see codec.h). */
    switch (r->kind) {
    case ZAB__VOTE:
        snprintf(out, cap, " (%s leader=%u zxid=%s peer_epoch=%u)",
                 zab_role_name((int)(r->aux >> 16)), r->aux & 0xffffu,
                 sim_zxid_str(r->zxid, z), r->epoch);
        break;
    case ZAB__FOLLOWERINFO:
    case ZAB__OBSERVERINFO:
        snprintf(out, cap, " (accepted=%u last=%s)", r->epoch,
                 sim_zxid_str(r->zxid, z));
        break;
    case ZAB__LEADERINFO:
        snprintf(out, cap, " (epoch=%u)", r->epoch);
        break;
    case ZAB__ACKEPOCH:
        snprintf(out, cap, " (flags=%u current=%u last=%s)", r->aux,
                 r->epoch, sim_zxid_str(r->zxid, z));
        break;
    case ZAB__NEWLEADER:
    case ZAB__ACKNEWLEADER:
        snprintf(out, cap, " (epoch=%u zxid=%s)", r->epoch,
                 sim_zxid_str(r->zxid, z));
        break;
    case ZAB__REQUEST:
        break;
    default:
        snprintf(out, cap, " %s", sim_zxid_str(r->zxid, z));
        break;
    }
}

static void emit(sim_t *s, const trace_rec_t *r)
{
    char line[320];
    if (s->trace || (s->narrate && (r->type == TR_STORY))) {
        format_rec(s, r, line, sizeof(line));
        printf("%s\n", line);
    }
}

void tr_msg(sim_t *s, int type, uint32_t node, uint32_t peer, const msg_t *m)
{
    trace_rec_t *r = slot(s, type, node);
    r->peer = (uint8_t)peer;
    r->kind = m->kind;
    r->zxid = m->zxid;
    r->epoch = m->epoch;
    r->aux = m->aux;
    emit(s, r);
}

void tr_deliver(sim_t *s, uint32_t node, uint64_t zxid, uint32_t tx)
{
    trace_rec_t *r = slot(s, TR_DELIVER, node);
    r->zxid = zxid;
    r->epoch = tx; /* reused: the transaction id */
    if (s->trace) {
        emit(s, r);
    }
}

static void vnote(sim_t *s, int type, uint32_t node, const char *fmt,
                  va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;

static void vnote(sim_t *s, int type, uint32_t node, const char *fmt,
                  va_list ap)
{
    trace_rec_t *r = slot(s, type, node);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    emit(s, r);
}

void tr_note(sim_t *s, uint32_t node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(s, TR_NOTE, node, fmt, ap);
    va_end(ap);
}

void tr_story(sim_t *s, uint32_t node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(s, TR_STORY, node, fmt, ap);
    va_end(ap);
}

void tr_lib(sim_t *s, uint32_t node, int level, const char *line)
{
    if (s->trace) {
        printf("t=%-7" PRIu64 " n%u | %s\n", s->now, node, line);
    }
    (void)level;
}

void tr_dump(sim_t *s, FILE *f, int max)
{
    char line[320];
    uint64_t n = s->ring_n < TRACE_RING ? s->ring_n : TRACE_RING;
    if ((uint64_t)max < n) {
        n = (uint64_t)max;
    }
    for (uint64_t i = s->ring_n - n; i < s->ring_n; i++) {
        format_rec(s, &s->ring[i % TRACE_RING], line, sizeof(line));
        fprintf(f, "    %s\n", line);
    }
}
