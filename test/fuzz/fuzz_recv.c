/*
 * fuzz_recv.c -- libFuzzer target for zab_recv in every role.
 *
 * One node (id 1 of voters 1..3 plus observer 4, or the observer 4 itself)
 * with a stub host: an in-memory log and epoch file, writes confirmed only
 * when the input says so (deferred), a state that is the list of delivered
 * zxids.  The first input byte chooses the role and the recovered disk:
 *
 *   role (byte % 5): 0 LOOKING, 1 FOLLOWING in synchronisation, 2
 *   FOLLOWING in broadcast, 3 LEADING an established epoch, 4 OBSERVING;
 *   disk (byte / 5 % 3): empty, a short log, a compacted log.
 *
 * The node is driven into that role by well-formed frames from fake peers
 * (the exact handshake of each phase).  The rest of the input is a program
 * of operations: raw frames, frames with a valid header and arbitrary
 * body, well-formed frames built from the input's bytes around the node's
 * own position, ticks, write confirmations (or failures), connections
 * going up and down, proposals, read barriers, and host faults (a write
 * callback that refuses, a snapshot_get that fails).
 *
 * Nothing may crash, leak or trip a sanitizer, and the stub checks the
 * host contract all along: appends in zxid order, truncations that never
 * remove a delivered entry, deliveries in order of durable logged entries
 * only, epochs that never go back, snapshot chunks in order, every frame
 * sent well formed, every return code one the API documents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "zab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            __builtin_trap();                                                \
        }                                                                    \
    } while (0)

#define MAX_PAYLOAD 256
#define MAX_FRAME (MAX_PAYLOAD + ZAB__FRAME_OVERHEAD)

/* ---- the stub host ------------------------------------------------------ */

typedef struct ent {
    uint64_t zxid;
    size_t ticket; /* index + 1 of its write; 0: durable before start */
    size_t len;
    uint8_t *data;
} ent_t;

typedef struct host {
    zab_t *z;
    uint32_t me;
    uint64_t now;

    ent_t *log;
    size_t log_len, log_cap;
    uint64_t log_base;

    uint32_t accepted, current;
    uint64_t applied; /* last delivered zxid */

    uint64_t *toks; /* every token issued, in order */
    size_t n_toks, toks_cap, confirmed;

    uint8_t *snap_in;
    size_t snap_in_len;
    uint64_t snap_zxid;
    uint8_t snap_out[16];

    int fail_write;   /* the next write callback refuses (returns -1) */
    int fail_snap;    /* snapshot_get fails */

    uint64_t sent;
    zab__msg_t last_sent; /* fields only, no payload */
    uint32_t last_sent_to;
    uint64_t cookie;
} host_t;

static uint64_t log_last(const host_t *h)
{
    return h->log_len ? h->log[h->log_len - 1].zxid : h->log_base;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    CHECK(q != NULL);
    return q;
}

static size_t record_token(host_t *h, uint64_t token)
{
    CHECK(token != 0);
    for (size_t i = 0; i < h->n_toks; i++) {
        CHECK(h->toks[i] != token); /* never reused */
    }
    if (h->n_toks == h->toks_cap) {
        h->toks_cap = h->toks_cap ? 2 * h->toks_cap : 16;
        h->toks = xrealloc(h->toks, h->toks_cap * sizeof *h->toks);
    }
    h->toks[h->n_toks++] = token;
    return h->n_toks;
}

static void log_push(host_t *h, uint64_t zxid, const void *d, size_t len,
                     size_t ticket)
{
    if (h->log_len == h->log_cap) {
        h->log_cap = h->log_cap ? 2 * h->log_cap : 16;
        h->log = xrealloc(h->log, h->log_cap * sizeof *h->log);
    }
    ent_t *e = &h->log[h->log_len++];
    e->zxid = zxid;
    e->ticket = ticket;
    e->len = len;
    e->data = xrealloc(NULL, len);
    if (len > 0) {
        memcpy(e->data, d, len);
    }
}

static int h_send(void *ud, uint32_t peer, const void *frame, size_t len)
{
    host_t *h = ud;
    zab__msg_t m;
    CHECK(peer >= 1 && peer <= 4 && peer != h->me);
    CHECK(zab__decode(frame, len, MAX_FRAME, &m) == 0);
    h->sent++;
    h->last_sent = m;
    h->last_sent.data = NULL;
    h->last_sent_to = peer;
    return 0;
}

static int h_append(void *ud, uint64_t zxid, const void *d, size_t len,
                    uint64_t token)
{
    host_t *h = ud;
    CHECK(zxid > log_last(h));
    CHECK(ZAB_ZXID_COUNTER(zxid) != 0);
    CHECK(ZAB_ZXID_EPOCH(zxid) <= h->accepted);
    if (h->fail_write) {
        h->fail_write = 0;
        return -1; /* refused: nothing written */
    }
    size_t t = record_token(h, token);
    log_push(h, zxid, d, len, t);
    return 0;
}

static int h_truncate(void *ud, uint64_t zxid, uint64_t token)
{
    host_t *h = ud;
    CHECK(zxid >= h->log_base);
    CHECK(zxid >= h->applied); /* a delivered entry is never removed */
    if (h->fail_write) {
        h->fail_write = 0;
        return -1;
    }
    while (h->log_len > 0 && h->log[h->log_len - 1].zxid > zxid) {
        free(h->log[--h->log_len].data);
    }
    record_token(h, token);
    return 0;
}

static int h_read(void *ud, uint64_t after, uint64_t *zxid, const void **d,
                  size_t *len)
{
    host_t *h = ud;
    if (after < h->log_base) {
        return ZAB_ERANGE;
    }
    for (size_t i = 0; i < h->log_len; i++) {
        if (h->log[i].zxid > after) {
            *zxid = h->log[i].zxid;
            *d = h->log[i].data;
            *len = h->log[i].len;
            return 0;
        }
    }
    return ZAB_ENOENT;
}

static int h_save(void *ud, uint32_t accepted, uint32_t current,
                  uint64_t token)
{
    host_t *h = ud;
    CHECK(accepted >= h->accepted && current >= h->current);
    CHECK(current <= accepted);
    if (h->fail_write) {
        h->fail_write = 0;
        return -1;
    }
    h->accepted = accepted;
    h->current = current;
    record_token(h, token);
    return 0;
}

static int h_snap_get(void *ud, uint64_t min_zxid, uint64_t *zxid,
                      const void **d, size_t *len)
{
    host_t *h = ud;
    /* The current state is the freshest snapshot this host can offer. */
    if (h->fail_snap || h->applied < min_zxid) {
        return ZAB_EIO;
    }
    for (int i = 0; i < 8; i++) {
        h->snap_out[i] = (uint8_t)(h->applied >> (56 - 8 * i));
    }
    memcpy(h->snap_out + 8, "snapshot", 8);
    *zxid = h->applied;
    *d = h->snap_out;
    *len = sizeof h->snap_out;
    return 0;
}

static int h_snap_put(void *ud, uint64_t zxid, uint64_t offset,
                      uint64_t total, const void *chunk, size_t len,
                      uint64_t token)
{
    host_t *h = ud;
    if (offset == 0) {
        h->snap_in_len = 0;
        h->snap_zxid = zxid;
    }
    CHECK(zxid == h->snap_zxid && offset == h->snap_in_len);
    CHECK(offset + len <= total);
    CHECK(zxid >= h->applied);
    h->snap_in = xrealloc(h->snap_in, h->snap_in_len + len);
    if (len > 0) {
        memcpy(h->snap_in + h->snap_in_len, chunk, len);
    }
    h->snap_in_len += len;
    if (token == 0) {
        CHECK(h->snap_in_len < total);
        return 0;
    }
    CHECK(h->snap_in_len == total);
    if (h->fail_write) {
        h->fail_write = 0;
        return -1; /* the install failed: the old state stays */
    }
    /* Install: the state is now the snapshot's, the log starts after it. */
    while (h->log_len > 0) {
        free(h->log[--h->log_len].data);
    }
    h->log_base = zxid;
    h->applied = zxid;
    record_token(h, token);
    return 0;
}

static void h_deliver(void *ud, uint64_t zxid, const void *d, size_t len)
{
    host_t *h = ud;
    CHECK(zxid > h->applied);
    const ent_t *e = NULL;
    for (size_t i = 0; i < h->log_len; i++) {
        if (h->log[i].zxid == zxid) {
            e = &h->log[i];
        }
    }
    CHECK(e != NULL);
    CHECK(e->len == len && (len == 0 || memcmp(e->data, d, len) == 0));
    CHECK(e->ticket == 0 || e->ticket <= h->confirmed); /* durable */
    h->applied = zxid;
}

static void h_role(void *ud, zab_role_t role, uint32_t leader, uint32_t epoch,
                   int serving)
{
    host_t *h = ud;
    CHECK(role <= ZAB_OBSERVING);
    CHECK(serving == 0 || serving == 1);
    CHECK(leader <= 4);
    CHECK(role != ZAB_LOOKING || (leader == 0 && !serving));
    /* The epoch served, 0 while not serving; served means durable. */
    CHECK(serving ? epoch != 0 && epoch == h->current : epoch == 0);
}

static void h_barrier(void *ud, uint64_t cookie, int status)
{
    host_t *h = ud;
    CHECK(cookie >= 1 && cookie <= h->cookie);
    /* zab.h: 0, ZAB_ECANCELED (role or leader changed), ZAB_EBUSY (the
     * leader refused: too many barriers pending). */
    CHECK(status == 0 || status == ZAB_ECANCELED || status == ZAB_EBUSY);
}

#ifdef FUZZ_TRACE
#include <stdio.h>
static void h_trace(void *ud, int level, const char *line)
{
    (void)ud, (void)level;
    fprintf(stderr, "trace: %s\n", line);
}
#endif

static const zab_host_ops_t ops = {
#ifdef FUZZ_TRACE
    .trace = h_trace,
#endif
    .version = ZAB_HOST_OPS_VERSION,
    .send = h_send,
    .log_append = h_append,
    .log_truncate = h_truncate,
    .log_read = h_read,
    .save_epochs = h_save,
    .snapshot_get = h_snap_get,
    .snapshot_put = h_snap_put,
    .deliver = h_deliver,
    .role_change = h_role,
    .barrier_done = h_barrier,
};

/* ---- driving the node ---------------------------------------------------- */

static void check_state(host_t *h)
{
    zab_t *z = h->z;
    CHECK(zab_stat(z, ZAB_STAT_ROLE) <= ZAB_OBSERVING);
    CHECK(zab_stat(z, ZAB_STAT_DELIVERED_ZXID) == h->applied);
    CHECK(zab_stat(z, ZAB_STAT_DELIVERED_ZXID) <=
          zab_stat(z, ZAB_STAT_COMMITTED_ZXID));
    CHECK(zab_stat(z, ZAB_STAT_CURRENT_EPOCH) <=
          zab_stat(z, ZAB_STAT_ACCEPTED_EPOCH));
    CHECK(zab_stat(z, ZAB_STAT_ACCEPTED_EPOCH) <= h->accepted);
    uint64_t d;
    CHECK(zab_next_deadline(z, &d) == 0);
}

/* Confirms up to `n` pending writes (all with n == 0), the first one with
 * `status`. */
static void confirm(host_t *h, size_t n, int status)
{
    size_t upto = n == 0 || h->confirmed + n > h->n_toks ? h->n_toks
                                                         : h->confirmed + n;
    while (h->confirmed < upto) {
        uint64_t tok = h->toks[h->confirmed++];
        int rc = zab_persisted(h->z, tok, status);
        CHECK(rc == 0);
        status = 0;
    }
}

static void recv_msg(host_t *h, uint32_t from, const zab__msg_t *m)
{
    uint8_t buf[MAX_FRAME];
    if (zab__encoded_size(m) > sizeof buf) {
        return;
    }
    size_t n = zab__encode(m, buf);
    int rc = zab_recv(h->z, from, buf, n);
    CHECK(rc == 0 || rc == ZAB_EPROTO);
}

static void tick_to(host_t *h, uint64_t t)
{
    if (t > h->now) {
        h->now = t;
    }
    CHECK(zab_tick(h->z, h->now) == 0);
}

static void tick_deadline(host_t *h)
{
    uint64_t d;
    CHECK(zab_next_deadline(h->z, &d) == 0);
    if (d != UINT64_MAX && d > h->now && d - h->now < 100000) {
        tick_to(h, d);
    } else {
        tick_to(h, h->now + 1);
    }
}

static uint64_t last_zxid(host_t *h)
{
    return zab_stat(h->z, ZAB_STAT_LAST_ZXID);
}

/* Votes from `a` and `b` for `leader` in the first round. */
static void votes(host_t *h, uint32_t a, uint32_t b, uint32_t leader,
                  uint8_t state_a, uint8_t state_b)
{
    zab__msg_t v = {.kind = ZAB__VOTE,
                    .state = state_a,
                    .leader = leader,
                    .zxid = last_zxid(h),
                    .election_epoch = 1,
                    .epoch = h->current};
    recv_msg(h, a, &v);
    v.state = state_b;
    recv_msg(h, b, &v);
}

/* The learner side of discovery and synchronisation, leader 3. */
static void learner_handshake(host_t *h, int to_broadcast)
{
    zab__msg_t li = {.kind = ZAB__LEADERINFO, .epoch = h->accepted + 1};
    uint32_t epoch = li.epoch;
    recv_msg(h, 3, &li);
    confirm(h, 0, 0); /* acceptedEpoch durable: ACKEPOCH goes out */
    CHECK(h->last_sent.kind == ZAB__ACKEPOCH);
    if (!to_broadcast) {
        return;
    }
    zab__msg_t diff = {.kind = ZAB__DIFF, .zxid = last_zxid(h)};
    recv_msg(h, 3, &diff);
    zab__msg_t nl = {.kind = ZAB__NEWLEADER,
                     .epoch = epoch,
                     .zxid = last_zxid(h)};
    recv_msg(h, 3, &nl);
    confirm(h, 0, 0); /* currentEpoch durable: ACKNEWLEADER */
    CHECK(h->last_sent.kind == ZAB__ACKNEWLEADER);
    zab__msg_t up = {.kind = ZAB__UPTODATE, .zxid = last_zxid(h)};
    recv_msg(h, 3, &up);
    CHECK(zab_stat(h->z, ZAB_STAT_SERVING) == 1);
}

static void setup_role(host_t *h, int role)
{
    zab_t *z = h->z;
    for (uint32_t p = 1; p <= 4; p++) {
        if (p != h->me) {
            CHECK(zab_peer_up(z, p) == 0);
        }
    }
    switch (role) {
    case 0: /* LOOKING */
        break;
    case 1: /* FOLLOWING, in synchronisation */
    case 2: /* FOLLOWING, in broadcast */
        votes(h, 2, 3, 3, ZAB_LOOKING, ZAB_LOOKING);
        tick_deadline(h);
        CHECK(zab_stat(z, ZAB_STAT_ROLE) == ZAB_FOLLOWING);
        CHECK(h->last_sent.kind == ZAB__FOLLOWERINFO);
        learner_handshake(h, role == 2);
        break;
    case 3: { /* LEADING an established epoch */
        votes(h, 2, 3, 1, ZAB_LOOKING, ZAB_LOOKING);
        tick_deadline(h);
        CHECK(zab_stat(z, ZAB_STAT_ROLE) == ZAB_LEADING);
        uint32_t epoch = h->accepted + 1; /* what the leader will propose */
        zab__msg_t fi = {.kind = ZAB__FOLLOWERINFO,
                         .epoch = h->accepted,
                         .zxid = last_zxid(h)};
        recv_msg(h, 2, &fi);
        recv_msg(h, 3, &fi);
        zab__msg_t oi = {.kind = ZAB__OBSERVERINFO, .epoch = 0, .zxid = 0};
        recv_msg(h, 4, &oi);
        confirm(h, 0, 0); /* acceptedEpoch */
        zab__msg_t ae = {.kind = ZAB__ACKEPOCH,
                         .flags = 1,
                         .epoch = h->current,
                         .zxid = last_zxid(h)};
        recv_msg(h, 2, &ae);
        recv_msg(h, 3, &ae);
        zab__msg_t ao = {.kind = ZAB__ACKEPOCH, .flags = 1};
        recv_msg(h, 4, &ao);
        confirm(h, 0, 0); /* currentEpoch */
        zab__msg_t anl = {.kind = ZAB__ACKNEWLEADER,
                          .epoch = epoch,
                          .zxid = last_zxid(h)};
        recv_msg(h, 2, &anl);
        recv_msg(h, 3, &anl);
        recv_msg(h, 4, &anl);
        CHECK(zab_stat(z, ZAB_STAT_SERVING) == 1);
        break;
    }
    default: /* OBSERVING (we are node 4) */
        votes(h, 3, 2, 3, ZAB_LEADING, ZAB_FOLLOWING);
        CHECK(zab_stat(z, ZAB_STAT_ROLE) == ZAB_OBSERVING);
        CHECK(h->last_sent.kind == ZAB__OBSERVERINFO);
        learner_handshake(h, 1);
        break;
    }
}

/* ---- reading the program ------------------------------------------------- */

typedef struct input {
    const uint8_t *p;
    size_t left;
} input_t;

static uint8_t byte(input_t *in)
{
    if (in->left == 0) {
        return 0;
    }
    in->left--;
    return *in->p++;
}

static uint64_t u64(input_t *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | byte(in);
    }
    return v;
}

static uint32_t peer(host_t *h, input_t *in)
{
    uint32_t p = (uint32_t)(byte(in) % 3);
    /* the three others: 2, 3, 4 for node 1; 1, 2, 3 for node 4 */
    return h->me == 1 ? p + 2 : p + 1;
}

/* A zxid near the node's own position. */
static uint64_t some_zxid(host_t *h, input_t *in)
{
    zab_t *z = h->z;
    uint8_t b = byte(in);
    uint64_t base;
    switch (b % 8) {
    case 0: base = 0; break;
    case 1: base = zab_stat(z, ZAB_STAT_COMMITTED_ZXID); break;
    case 2: base = zab_stat(z, ZAB_STAT_DELIVERED_ZXID); break;
    case 3: base = ZAB_ZXID(h->accepted, 0); break;
    case 4: base = ZAB_ZXID(h->accepted + 1, 0); break;
    case 5: return u64(in);
    default: base = last_zxid(h); break;
    }
    return base + (b >> 3) % 4;
}

static uint32_t some_epoch(host_t *h, input_t *in)
{
    uint8_t b = byte(in);
    switch (b % 4) {
    case 0: return h->accepted;
    case 1: return h->accepted + 1;
    case 2: return h->current;
    default: return b;
    }
}

static void op_structured(host_t *h, input_t *in)
{
    uint32_t from = peer(h, in);
    zab__msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = (uint8_t)(byte(in) % ZAB__KIND_MAX + 1);
    uint8_t payload[MAX_PAYLOAD];
    uint32_t len = byte(in) % 48;
    for (uint32_t i = 0; i < len; i++) {
        payload[i] = byte(in);
    }
    m.data = payload;
    m.len = len;
    m.zxid = some_zxid(h, in);
    m.epoch = some_epoch(h, in);
    switch (m.kind) {
    case ZAB__VOTE: {
        uint8_t b = byte(in);
        m.state = b % 4;
        m.leader = (uint32_t)(b >> 2) % 5;
        m.election_epoch = byte(in) % 4;
        break;
    }
    case ZAB__ACKEPOCH:
        m.flags = byte(in) % 2;
        break;
    case ZAB__SNAP: {
        uint8_t b = byte(in);
        m.total = len + (uint64_t)(b % 64);
        m.offset = b & 0x80 ? m.total - len : 0;
        break;
    }
    case ZAB__PING:
    case ZAB__SYNC:
        m.round = byte(in) % 8;
        break;
    case ZAB__PROPOSAL:
    case ZAB__INFORM:
        if (ZAB_ZXID_COUNTER(m.zxid) == 0) {
            m.zxid++;
        }
        break;
    default:
        break;
    }
    recv_msg(h, from, &m);
}

static void op_raw(host_t *h, input_t *in, int fix_header)
{
    uint32_t from = peer(h, in);
    size_t len = byte(in);
    if (len > in->left) {
        len = in->left;
    }
    uint8_t *f = malloc(len + ZAB__HEADER_SIZE);
    CHECK(f != NULL);
    size_t n = len;
    if (fix_header) {
        /* A valid header in front of arbitrary body bytes. */
        uint8_t kind = (uint8_t)(byte(in) % ZAB__KIND_MAX + 1);
        n = len + ZAB__HEADER_SIZE;
        f[0] = (uint8_t)(n >> 24);
        f[1] = (uint8_t)(n >> 16);
        f[2] = (uint8_t)(n >> 8);
        f[3] = (uint8_t)n;
        f[4] = ZAB__WIRE_VERSION;
        f[5] = kind;
        f[6] = f[7] = 0;
        if (len > in->left) {
            len = in->left;
            n = len + ZAB__HEADER_SIZE;
        }
        memcpy(f + ZAB__HEADER_SIZE, in->p, len);
    } else {
        memcpy(f, in->p, len);
    }
    in->p += len;
    in->left -= len;
    int rc = zab_recv(h->z, from, f, n);
    CHECK(rc == 0 || rc == ZAB_EPROTO);
    free(f);
}

static void run_program(host_t *h, input_t *in)
{
    zab_t *z = h->z;
    int ops = 0;
    while (in->left > 0 && ops++ < 1000) {
        uint8_t op = byte(in);
        switch (op % 13) {
        case 0:
            op_raw(h, in, 0);
            break;
        case 1:
            op_raw(h, in, 1);
            break;
        case 2:
        case 3:
        case 4:
        case 5:
            op_structured(h, in);
            break;
        case 6: {
            uint8_t b = byte(in);
            tick_to(h, h->now + (uint64_t)b * 8);
            break;
        }
        case 7:
            tick_deadline(h);
            break;
        case 8: {
            uint8_t b = byte(in);
            confirm(h, b & 0x80 ? 0 : (size_t)(b % 4) + 1,
                    b == 0xFF ? ZAB_EIO : 0);
            break;
        }
        case 9: {
            uint32_t p = peer(h, in);
            int rc = op & 0x10 ? zab_peer_down(z, p) : zab_peer_up(z, p);
            CHECK(rc == 0);
            break;
        }
        case 10: {
            uint8_t payload[64];
            size_t len = byte(in) % 64;
            for (size_t i = 0; i < len; i++) {
                payload[i] = byte(in);
            }
            uint64_t zxid = 1;
            int rc = zab_propose(z, payload, len, &zxid);
            CHECK(rc == 0 || rc == ZAB_ENOTLEADER || rc == ZAB_EBUSY ||
                  rc == ZAB_EEPOCH || rc == ZAB_EIO || rc == ZAB_ENOMEM);
            CHECK(rc != 0 || zxid == 0 ||
                  ZAB_ZXID_EPOCH(zxid) == h->current);
            break;
        }
        case 11: {
            int rc = zab_read_barrier(z, ++h->cookie);
            CHECK(rc == 0 || rc == ZAB_ENOTLEADER || rc == ZAB_EBUSY ||
                  rc == ZAB_ENOMEM);
            break;
        }
        default: { /* host faults */
            uint8_t b = byte(in);
            h->fail_write = b & 1;
            h->fail_snap = (b >> 1) & 1;
            break;
        }
        }
        check_state(h);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    input_t in = {data + 1, size - 1};
    int role = data[0] % 5;
    int disk = data[0] / 5 % 3;

    host_t h;
    memset(&h, 0, sizeof h);
    h.me = role == 4 ? 4 : 1;
    h.now = 1;
    uint64_t delivered = 0;
    if (disk >= 1) {
        static const char *const p[] = {"a", "bb", "ccc", "dddd"};
        for (uint32_t i = 1; i <= 4; i++) {
            log_push(&h, ZAB_ZXID(1, i), p[i - 1], i, 0);
        }
        h.accepted = h.current = 1;
        delivered = h.applied = ZAB_ZXID(1, 2);
        if (disk == 2) {
            /* compacted: the log starts after 1:2 */
            for (size_t i = 0; i < 2; i++) {
                free(h.log[i].data);
            }
            memmove(h.log, h.log + 2, 2 * sizeof *h.log);
            h.log_len = 2;
            h.log_base = ZAB_ZXID(1, 2);
        }
    }

    zab_config_t *cfg;
    CHECK(zab_config_new(&cfg) == 0);
    CHECK(zab_config_set_id(cfg, h.me) == 0);
    for (uint32_t id = 1; id <= 3; id++) {
        CHECK(zab_config_add_voter(cfg, id) == 0);
    }
    CHECK(zab_config_add_observer(cfg, 4) == 0);
    CHECK(zab_config_set(cfg, ZAB_OPT_MAX_PAYLOAD_BYTES, MAX_PAYLOAD) == 0);
    CHECK(zab_config_set(cfg, ZAB_OPT_MAX_OUTSTANDING, 8) == 0);
    CHECK(zab_config_set(cfg, ZAB_OPT_MAX_BARRIERS, 4) == 0);
    CHECK(zab_config_set(cfg, ZAB_OPT_COUNTER_MAX, 6) == 0);
    CHECK(zab_config_set(cfg, ZAB_OPT_DIFF_MAX, 3) == 0);
    CHECK(zab_new(cfg, &ops, &h, &h.z) == 0);
    zab_config_free(cfg);
    CHECK(zab_start(h.z, h.accepted, h.current, log_last(&h), delivered,
                    h.now) == 0);
    setup_role(&h, role);
    check_state(&h);
    run_program(&h, &in);
#ifdef FUZZ_TRACE
    fprintf(stderr, "end: %s serving %d last %llx delivered %llx\n",
            zab_role_name((int)zab_stat(h.z, ZAB_STAT_ROLE)),
            (int)zab_stat(h.z, ZAB_STAT_SERVING),
            (unsigned long long)zab_stat(h.z, ZAB_STAT_LAST_ZXID),
            (unsigned long long)zab_stat(h.z, ZAB_STAT_DELIVERED_ZXID));
#endif

    zab_free(h.z);
    for (size_t i = 0; i < h.log_len; i++) {
        free(h.log[i].data);
    }
    free(h.log);
    free(h.toks);
    free(h.snap_in);
    return 0;
}
