/*
 * lib_cluster.c -- the in-process cluster harness (see lib_cluster.h).
 */
#include "lib_cluster.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);
    ck_assert_msg(p != NULL, "harness out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n == 0 ? 1 : n);
    ck_assert_msg(q != NULL, "harness out of memory");
    return q;
}

static void violation(cl_cluster_t *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void violation(cl_cluster_t *c, const char *fmt, ...)
{
    if (c->violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->violation, sizeof c->violation, fmt, ap);
        va_end(ap);
        if (c->trace) {
            fprintf(stderr, "VIOLATION: %s\n", c->violation);
        }
    }
}

static int idx_of(const cl_cluster_t *c, uint32_t id)
{
    ck_assert_msg(id >= 1 && (int)id <= c->n, "no node %u", id);
    return (int)id - 1;
}

cl_node_t *cl_node(cl_cluster_t *c, uint32_t id)
{
    return &c->nodes[idx_of(c, id)];
}

zab_t *cl_z(cl_cluster_t *c, uint32_t id)
{
    return cl_node(c, id)->z;
}

uint64_t cl_stat(cl_cluster_t *c, uint32_t id, int which)
{
    return zab_stat(cl_z(c, id), which);
}

static char payload_buf[64];

const char *cl_payload_of(uint64_t zxid)
{
    snprintf(payload_buf, sizeof payload_buf, "tx-%u:%u",
             (unsigned)ZAB_ZXID_EPOCH(zxid), (unsigned)ZAB_ZXID_COUNTER(zxid));
    return payload_buf;
}

static void entry_set(cl_entry_t *e, uint64_t zxid, const void *data,
                      size_t len, size_t tok)
{
    e->zxid = zxid;
    e->len = len;
    e->data = xmalloc(len);
    if (len > 0) {
        memcpy(e->data, data, len);
    }
    e->tok = tok;
}

static void entries_free(cl_entry_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].data);
    }
}

static void log_push(cl_node_t *nd, uint64_t zxid, const void *data,
                     size_t len, size_t tok)
{
    if (nd->log_len == nd->log_cap) {
        nd->log_cap = nd->log_cap ? nd->log_cap * 2 : 16;
        nd->log = xrealloc(nd->log, nd->log_cap * sizeof *nd->log);
    }
    entry_set(&nd->log[nd->log_len++], zxid, data, len, tok);
}

static void applied_push(cl_node_t *nd, uint64_t zxid, const void *data,
                         size_t len)
{
    if (nd->applied_len == nd->applied_cap) {
        nd->applied_cap = nd->applied_cap ? nd->applied_cap * 2 : 16;
        nd->applied =
            xrealloc(nd->applied, nd->applied_cap * sizeof *nd->applied);
    }
    entry_set(&nd->applied[nd->applied_len++], zxid, data, len, 0);
    nd->applied_zxid = zxid;
}

static uint64_t log_last(const cl_node_t *nd)
{
    return nd->log_len > 0 ? nd->log[nd->log_len - 1].zxid : nd->log_base;
}

static const cl_entry_t *log_find(const cl_node_t *nd, uint64_t zxid)
{
    for (size_t i = 0; i < nd->log_len; i++) {
        if (nd->log[i].zxid == zxid) {
            return &nd->log[i];
        }
    }
    return NULL;
}

/* ---- allocator hook ------------------------------------------------------ */

static int alloc_should_fail(cl_cluster_t *c)
{
    c->alloc_calls++;
    if (c->fail_at != 0 && c->alloc_calls == c->fail_at) {
        c->alloc_failures++;
        return 1;
    }
    return 0;
}

static void *hook_malloc(void *ud, size_t n)
{
    cl_node_t *nd = ud;
    if (alloc_should_fail(nd->c)) {
        return NULL;
    }
    void *p = malloc(n);
    if (p != NULL) {
        nd->live_blocks++;
    }
    return p;
}

static void *hook_realloc(void *ud, void *p, size_t n)
{
    cl_node_t *nd = ud;
    if (alloc_should_fail(nd->c)) {
        return NULL;
    }
    void *q = realloc(p, n);
    if (q != NULL && p == NULL) {
        nd->live_blocks++;
    }
    return q;
}

static void hook_free(void *ud, void *p)
{
    cl_node_t *nd = ud;
    if (p != NULL) {
        nd->live_blocks--;
        free(p);
    }
}

/* ---- per-call buffers ------------------------------------------------------ */

/* Buffers that libzab may use only until the current call returns (or the
 * next log_read): freed right after, so that a late use is caught by
 * valgrind or ASan. */
static void scratch_release(cl_cluster_t *c, cl_node_t *nd)
{
    free(nd->read_buf);
    nd->read_buf = NULL;
    free(nd->snap_out);
    nd->snap_out = NULL;
    nd->snap_out_cap = 0;
    (void)c;
}

/* ---- connections --------------------------------------------------------- */

static void after_call(cl_cluster_t *c, cl_node_t *nd);

static void drop_queue(cl_link_t *l)
{
    cl_frame_t *f = l->head;
    while (f != NULL) {
        cl_frame_t *nx = f->next;
        free(f);
        f = nx;
    }
    l->head = l->tail = NULL;
    l->queued = 0;
}

static int alive(const cl_node_t *nd)
{
    return nd->z != NULL;
}

static void close_pair(cl_cluster_t *c, int a, int b, int reconnect)
{
    if (!c->up[a][b]) {
        return;
    }
    c->up[a][b] = c->up[b][a] = 0;
    c->broken[a][b] = c->broken[b][a] = 0;
    if (c->trace >= 4) {
        fprintf(stderr, "[%6llu] connection %u-%u closed\n",
                (unsigned long long)c->now, c->nodes[a].id, c->nodes[b].id);
    }
    drop_queue(&c->links[a][b]);
    drop_queue(&c->links[b][a]);
    c->reconnect_at[a][b] = c->reconnect_at[b][a] =
        reconnect ? c->now + CL_RECONNECT_MS : 0;
    cl_node_t *na = &c->nodes[a], *nb = &c->nodes[b];
    if (alive(na)) {
        int rc = zab_peer_down(na->z, nb->id);
        if (rc != 0) {
            violation(c, "zab_peer_down(%u, %u) = %d", na->id, nb->id, rc);
        }
        after_call(c, na);
    }
    if (alive(nb)) {
        int rc = zab_peer_down(nb->z, na->id);
        if (rc != 0) {
            violation(c, "zab_peer_down(%u, %u) = %d", nb->id, na->id, rc);
        }
        after_call(c, nb);
    }
}

/* The connection a<->b is allowed, and each side counts the other as a
 * member. */
static int may_connect(const cl_cluster_t *c, int a, int b)
{
    return c->want[a][b] && !c->unknown[a][b] && !c->unknown[b][a];
}

static void open_pair(cl_cluster_t *c, int a, int b)
{
    cl_node_t *na = &c->nodes[a], *nb = &c->nodes[b];
    if (c->up[a][b] || !alive(na) || !alive(nb) || !may_connect(c, a, b)) {
        return;
    }
    c->up[a][b] = c->up[b][a] = 1;
    if (c->trace >= 4) {
        fprintf(stderr, "[%6llu] connection %u-%u open\n",
                (unsigned long long)c->now, na->id, nb->id);
    }
    int rc = zab_peer_up(na->z, nb->id);
    if (rc != 0) {
        violation(c, "zab_peer_up(%u, %u) = %d", na->id, nb->id, rc);
    }
    after_call(c, na);
    if (c->up[a][b] && alive(nb)) {
        rc = zab_peer_up(nb->z, na->id);
        if (rc != 0) {
            violation(c, "zab_peer_up(%u, %u) = %d", nb->id, na->id, rc);
        }
        after_call(c, nb);
    }
}

/* After every call into node `nd`: release the per-call buffers and close
 * the connections libzab gave up on. */
static void after_call(cl_cluster_t *c, cl_node_t *nd)
{
    scratch_release(c, nd);
    for (int again = 1; again;) {
        again = 0;
        for (int a = 0; a < c->n; a++) {
            for (int b = 0; b < c->n; b++) {
                if (c->broken[a][b]) {
                    c->broken[a][b] = 0;
                    if (c->up[a][b]) {
                        close_pair(c, a, b, 1);
                        again = 1;
                    }
                }
            }
        }
    }
}

/* ---- host callbacks ------------------------------------------------------- */

static void confirm_upto(cl_node_t *nd, size_t upto);

/* Records a write token; confirms it at once in synchronous mode (when no
 * older write is still waiting, so that confirmations stay in order). */
static size_t record_token(cl_node_t *nd, uint64_t token)
{
    if (token == 0) {
        violation(nd->c, "node %u: write token 0", nd->id);
    }
    for (size_t i = 0; i < nd->n_toks; i++) {
        if (nd->toks[i] == token) {
            violation(nd->c, "node %u: token %llu reused", nd->id,
                      (unsigned long long)token);
        }
    }
    if (nd->n_toks == nd->toks_cap) {
        nd->toks_cap = nd->toks_cap ? nd->toks_cap * 2 : 64;
        nd->toks = xrealloc(nd->toks, nd->toks_cap * sizeof *nd->toks);
    }
    nd->toks[nd->n_toks++] = token;
    size_t ticket = nd->n_toks; /* 1-based */
    if (nd->persist_mode == CL_PERSIST_SYNC && !nd->disk_hold &&
        nd->confirmed + 1 == nd->n_toks) {
        confirm_upto(nd, nd->n_toks);
    }
    return ticket;
}

static void confirm_upto(cl_node_t *nd, size_t upto)
{
    while (nd->confirmed < upto && nd->z != NULL) {
        uint64_t tok = nd->toks[nd->confirmed++];
        int status = 0;
        if (nd->persist_fail) {
            nd->persist_fail = 0;
            status = ZAB_EIO;
        }
        int rc = zab_persisted(nd->z, tok, status);
        if (rc != 0) {
            violation(nd->c, "node %u: zab_persisted(%llu) = %d", nd->id,
                      (unsigned long long)tok, rc);
        }
    }
}

static int entry_durable(const cl_node_t *nd, const cl_entry_t *e)
{
    return e->tok == 0 || e->tok <= nd->confirmed;
}

static int h_send(void *ud, uint32_t peer, const void *frame, size_t len)
{
    cl_node_t *nd = ud;
    cl_cluster_t *c = nd->c;
    nd->n_send++;
    if (peer < 1 || (int)peer > c->n || peer == nd->id) {
        violation(c, "node %u: send to unknown peer %u", nd->id, peer);
        return -1;
    }
    int a = (int)nd->id - 1, b = (int)peer - 1;
    if (!c->up[a][b]) {
        violation(c, "node %u: send to %u over a closed connection", nd->id,
                  peer);
        return -1;
    }
    if (nd->fail_send) {
        c->broken[a][b] = 1;
        return -1;
    }
    if (len < ZAB_FRAME_HEADER_SIZE || zab_frame_kind(frame, len) == NULL) {
        violation(c, "node %u: sent an invalid frame", nd->id);
    }
    cl_frame_t *f = xmalloc(sizeof *f + len);
    f->next = NULL;
    f->seq = ++c->seq;
    f->len = len;
    memcpy(f->data, frame, len);
    cl_link_t *l = &c->links[a][b];
    if (l->tail != NULL) {
        l->tail->next = f;
    } else {
        l->head = f;
    }
    l->tail = f;
    l->queued++;
    uint8_t kind = len > 5 ? ((const uint8_t *)frame)[5] : 0;
    if (kind < CL_KINDS) {
        l->kinds[kind]++;
    }
    return 0;
}

static int h_log_append(void *ud, uint64_t zxid, const void *data,
                        size_t len, uint64_t token)
{
    cl_node_t *nd = ud;
    nd->n_append++;
    if (zxid <= log_last(nd)) {
        violation(nd->c, "node %u: append %llx after %llx", nd->id,
                  (unsigned long long)zxid,
                  (unsigned long long)log_last(nd));
    }
    if (ZAB_ZXID_COUNTER(zxid) == 0) {
        violation(nd->c, "node %u: append of a zxid with counter 0", nd->id);
    }
    log_push(nd, zxid, data, len, 0);
    cl_entry_t *e = &nd->log[nd->log_len - 1];
    e->tok = nd->n_toks + 1; /* the ticket record_token will hand out */
    record_token(nd, token);
    return 0;
}

static int h_log_truncate(void *ud, uint64_t zxid, uint64_t token)
{
    cl_node_t *nd = ud;
    nd->n_truncate++;
    if (zxid < nd->log_base) {
        violation(nd->c, "node %u: truncation into the snapshot", nd->id);
    }
    while (nd->log_len > 0 && nd->log[nd->log_len - 1].zxid > zxid) {
        cl_entry_t *e = &nd->log[nd->log_len - 1];
        if (e->zxid <= nd->applied_zxid) {
            violation(nd->c, "node %u: truncation removes delivered %llx",
                      nd->id, (unsigned long long)e->zxid);
        }
        free(e->data);
        nd->log_len--;
    }
    record_token(nd, token);
    return 0;
}

static int h_log_read(void *ud, uint64_t after, uint64_t *zxid,
                      const void **data, size_t *len)
{
    cl_node_t *nd = ud;
    free(nd->read_buf);
    nd->read_buf = NULL;
    if (after < nd->log_base) {
        return ZAB_ERANGE;
    }
    for (size_t k = 0; k < nd->log_len; k++) {
        if (nd->log[k].zxid > after) {
            /* A private copy, freed at the next log_read or when the call
             * returns: libzab must not keep the pointer longer. */
            nd->read_buf = xmalloc(nd->log[k].len);
            memcpy(nd->read_buf, nd->log[k].data, nd->log[k].len);
            *zxid = nd->log[k].zxid;
            *data = nd->read_buf;
            *len = nd->log[k].len;
            return 0;
        }
    }
    return ZAB_ENOENT;
}

static int h_save_epochs(void *ud, uint32_t accepted, uint32_t current,
                         uint64_t token)
{
    cl_node_t *nd = ud;
    nd->n_save++;
    if (accepted < nd->accepted || current < nd->current ||
        current > accepted) {
        violation(nd->c, "node %u: epochs %u/%u after %u/%u", nd->id,
                  accepted, current, nd->accepted, nd->current);
    }
    nd->accepted = accepted;
    nd->current = current;
    record_token(nd, token);
    return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Snapshot format: for each delivered entry, zxid u64, len u64, bytes.
 * The host snapshots its current state, the freshest it can offer; if
 * that is still older than `min_zxid` it cannot help (zab.h). */
static int h_snapshot_get(void *ud, uint64_t min_zxid, uint64_t *zxid,
                          const void **data, size_t *len)
{
    cl_node_t *nd = ud;
    nd->n_snap_get++;
    if (nd->no_snapshot || nd->applied_zxid < min_zxid) {
        return ZAB_EIO;
    }
    size_t n = 0;
    for (size_t i = 0; i < nd->applied_len; i++) {
        n += 16 + nd->applied[i].len;
    }
    free(nd->snap_out);
    nd->snap_out = xmalloc(n);
    nd->snap_out_cap = n;
    size_t at = 0;
    for (size_t i = 0; i < nd->applied_len; i++) {
        put64(nd->snap_out + at, nd->applied[i].zxid);
        put64(nd->snap_out + at + 8, nd->applied[i].len);
        if (nd->applied[i].len > 0) {
            memcpy(nd->snap_out + at + 16, nd->applied[i].data,
                   nd->applied[i].len);
        }
        at += 16 + nd->applied[i].len;
    }
    *zxid = nd->applied_zxid;
    *data = nd->snap_out;
    *len = n;
    return 0;
}

static void install_snapshot(cl_node_t *nd, uint64_t zxid)
{
    entries_free(nd->applied, nd->applied_len);
    nd->applied_len = 0;
    nd->applied_zxid = 0;
    size_t at = 0;
    while (at + 16 <= nd->snap_in_len) {
        uint64_t z = get64(nd->snap_in + at);
        uint64_t l = get64(nd->snap_in + at + 8);
        if (l > nd->snap_in_len - at - 16) {
            violation(nd->c, "node %u: garbled snapshot", nd->id);
            break;
        }
        applied_push(nd, z, nd->snap_in + at + 16, (size_t)l);
        at += 16 + (size_t)l;
    }
    if (at != nd->snap_in_len) {
        violation(nd->c, "node %u: garbled snapshot", nd->id);
    }
    if (nd->applied_zxid > zxid) {
        violation(nd->c, "node %u: snapshot %llx holds %llx", nd->id,
                  (unsigned long long)zxid,
                  (unsigned long long)nd->applied_zxid);
    }
    nd->applied_zxid = zxid;
    entries_free(nd->log, nd->log_len);
    nd->log_len = 0;
    nd->log_base = zxid;
}

static int h_snapshot_put(void *ud, uint64_t zxid, uint64_t offset,
                          uint64_t total, const void *chunk, size_t len,
                          uint64_t token)
{
    cl_node_t *nd = ud;
    nd->n_snap_put++;
    if (nd->fail_snapshot_put) {
        return -1; /* the disk refused: nothing is installed */
    }
    if (offset == 0) {
        nd->snap_in_len = 0;
        nd->snap_in_zxid = zxid;
    }
    if (offset != nd->snap_in_len || zxid != nd->snap_in_zxid ||
        offset + len > total) {
        violation(nd->c, "node %u: snapshot chunk out of order", nd->id);
        return 0;
    }
    if (nd->snap_in_len + len > nd->snap_in_cap) {
        nd->snap_in_cap = nd->snap_in_len + len;
        nd->snap_in = xrealloc(nd->snap_in, nd->snap_in_cap);
    }
    if (len > 0) {
        memcpy(nd->snap_in + nd->snap_in_len, chunk, len);
    }
    nd->snap_in_len += len;
    if (token == 0) {
        if (nd->snap_in_len == total) {
            violation(nd->c, "node %u: last snapshot chunk without token",
                      nd->id);
        }
        return 0;
    }
    if (nd->snap_in_len != total) {
        violation(nd->c, "node %u: snapshot token before the last chunk",
                  nd->id);
    }
    install_snapshot(nd, zxid);
    record_token(nd, token);
    return 0;
}

static void h_deliver(void *ud, uint64_t zxid, const void *data, size_t len)
{
    cl_node_t *nd = ud;
    nd->n_deliver++;
    if (zxid <= nd->applied_zxid) {
        violation(nd->c, "node %u: delivered %llx after %llx", nd->id,
                  (unsigned long long)zxid,
                  (unsigned long long)nd->applied_zxid);
    }
    const cl_entry_t *e = log_find(nd, zxid);
    if (e == NULL) {
        violation(nd->c, "node %u: delivered %llx, not in its log", nd->id,
                  (unsigned long long)zxid);
    } else if (e->len != len || (len > 0 && memcmp(e->data, data, len))) {
        violation(nd->c, "node %u: delivered %llx with other data", nd->id,
                  (unsigned long long)zxid);
    } else if (!entry_durable(nd, e)) {
        violation(nd->c, "node %u: delivered %llx before it was durable",
                  nd->id, (unsigned long long)zxid);
    }
    applied_push(nd, zxid, data, len);
}

static void h_role_change(void *ud, zab_role_t role, uint32_t leader,
                          uint32_t epoch, int serving)
{
    cl_node_t *nd = ud;
    nd->n_role_change++;
    nd->role = (int)role;
    nd->role_leader = leader;
    nd->role_epoch = epoch;
    nd->role_serving = serving;
    if (nd->c->trace) {
        fprintf(stderr, "[%6llu] node %u: role %s leader %u epoch %u%s\n",
                (unsigned long long)nd->c->now, nd->id, zab_role_name(role),
                leader, epoch, serving ? " serving" : "");
    }
}

static void h_barrier_done(void *ud, uint64_t cookie, int status)
{
    cl_node_t *nd = ud;
    if (nd->n_barriers == nd->barriers_cap) {
        nd->barriers_cap = nd->barriers_cap ? nd->barriers_cap * 2 : 8;
        nd->barriers =
            xrealloc(nd->barriers, nd->barriers_cap * sizeof *nd->barriers);
    }
    nd->barriers[nd->n_barriers].cookie = cookie;
    nd->barriers[nd->n_barriers].status = status;
    nd->n_barriers++;
}

static void h_trace(void *ud, int level, const char *line)
{
    cl_node_t *nd = ud;
    if (nd->c->trace && level <= nd->c->trace - 1) {
        fprintf(stderr, "[%6llu] node %u: %s\n",
                (unsigned long long)nd->c->now, nd->id, line);
    }
}

static const zab_host_ops_t host_ops = {
    .version = ZAB_HOST_OPS_VERSION,
    .send = h_send,
    .log_append = h_log_append,
    .log_truncate = h_log_truncate,
    .log_read = h_log_read,
    .save_epochs = h_save_epochs,
    .snapshot_get = h_snapshot_get,
    .snapshot_put = h_snapshot_put,
    .deliver = h_deliver,
    .role_change = h_role_change,
    .barrier_done = h_barrier_done,
    .trace = h_trace,
};

/* ---- set-up ---------------------------------------------------------------- */

cl_cluster_t *cl_new(int voters, int observers)
{
    ck_assert(voters >= 1 && voters + observers <= CL_MAX);
    cl_cluster_t *c = xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    c->n = voters + observers;
    c->voters = voters;
    for (int i = 0; i < c->n; i++) {
        cl_node_t *nd = &c->nodes[i];
        nd->c = c;
        nd->id = (uint32_t)i + 1;
        nd->voter = i < voters;
        for (int j = 0; j < c->n; j++) {
            c->want[i][j] = i != j;
        }
    }
    const char *t = getenv("ZAB_TEST_TRACE");
    c->trace = t != NULL ? atoi(t) : 0;
    return c;
}

static void node_release(cl_node_t *nd)
{
    entries_free(nd->log, nd->log_len);
    free(nd->log);
    entries_free(nd->applied, nd->applied_len);
    free(nd->applied);
    free(nd->snap_in);
    free(nd->snap_out);
    free(nd->toks);
    free(nd->barriers);
}

void cl_free(cl_cluster_t *c)
{
    if (c == NULL) {
        return;
    }
    for (int i = 0; i < c->n; i++) {
        cl_node_t *nd = &c->nodes[i];
        if (nd->z != NULL) {
            zab_free(nd->z);
            nd->z = NULL;
        }
        scratch_release(c, nd);
    }
    for (int a = 0; a < c->n; a++) {
        for (int b = 0; b < c->n; b++) {
            drop_queue(&c->links[a][b]);
        }
    }
    long leaked = 0;
    uint32_t who = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->nodes[i].live_blocks != 0 && who == 0) {
            who = c->nodes[i].id;
            leaked = c->nodes[i].live_blocks;
        }
        node_release(&c->nodes[i]);
    }
    free(c);
    ck_assert_msg(leaked == 0, "node %u leaked %ld blocks after zab_free", who,
                  leaked);
}

void cl_set_opt(cl_cluster_t *c, int option, uint64_t value)
{
    ck_assert(option > 0 && option < 16);
    c->opts[option] = value;
}

void cl_set_persist(cl_cluster_t *c, uint32_t id, int mode)
{
    for (int i = 0; i < c->n; i++) {
        if (id == 0 || c->nodes[i].id == id) {
            c->nodes[i].persist_mode = mode;
        }
    }
}

void cl_use_alloc_hook(cl_cluster_t *c, uint32_t id)
{
    cl_node(c, id)->use_hook = 1;
}

void cl_seed(cl_cluster_t *c, uint32_t id, uint32_t accepted, uint32_t current,
             const uint64_t *zxids, size_t n, uint64_t delivered)
{
    cl_node_t *nd = cl_node(c, id);
    ck_assert(nd->z == NULL);
    nd->accepted = accepted;
    nd->current = current;
    for (size_t i = 0; i < n; i++) {
        const char *p = cl_payload_of(zxids[i]);
        ck_assert(i == 0 || zxids[i] > zxids[i - 1]);
        log_push(nd, zxids[i], p, strlen(p), 0);
        if (zxids[i] <= delivered) {
            applied_push(nd, zxids[i], p, strlen(p));
        }
    }
    nd->applied_zxid = delivered;
}

void cl_compact(cl_cluster_t *c, uint32_t id, uint64_t upto)
{
    cl_node_t *nd = cl_node(c, id);
    ck_assert(upto <= nd->applied_zxid);
    size_t k = 0;
    while (k < nd->log_len && nd->log[k].zxid <= upto) {
        free(nd->log[k].data);
        k++;
    }
    memmove(nd->log, nd->log + k, (nd->log_len - k) * sizeof *nd->log);
    nd->log_len -= k;
    nd->log_base = upto;
}

/* ---- nodes ------------------------------------------------------------------- */

void cl_set_unknown(cl_cluster_t *c, uint32_t id)
{
    int o = (int)id - 1;
    ck_assert(!c->nodes[o].voter);
    for (int a = 0; a < c->n; a++) {
        c->unknown[a][o] = a != o;
    }
}

void cl_add_observer(cl_cluster_t *c, uint32_t id)
{
    int o = (int)id - 1;
    for (int a = 0; a < c->n; a++) {
        if (a == o || !c->unknown[a][o]) {
            continue;
        }
        c->unknown[a][o] = 0;
        if (alive(&c->nodes[a])) {
            ck_assert_int_eq(zab_add_observer(c->nodes[a].z, id), 0);
            after_call(c, &c->nodes[a]);
            open_pair(c, a, o);
        }
    }
}

void cl_remove_observer(cl_cluster_t *c, uint32_t id)
{
    int o = (int)id - 1;
    for (int a = 0; a < c->n; a++) {
        if (a == o || c->unknown[a][o]) {
            continue;
        }
        c->unknown[a][o] = 1;
        if (alive(&c->nodes[a])) {
            /* libzab forgets it first, as a host would, then the
             * connection goes: the peer-down reaches only the observer. */
            int was_up = c->up[a][o];
            c->up[a][o] = c->up[o][a] = 0;
            drop_queue(&c->links[a][o]);
            drop_queue(&c->links[o][a]);
            ck_assert_int_eq(zab_remove_observer(c->nodes[a].z, id), 0);
            after_call(c, &c->nodes[a]);
            if (was_up && alive(&c->nodes[o])) {
                ck_assert_int_eq(zab_peer_down(c->nodes[o].z, c->nodes[a].id),
                                 0);
                after_call(c, &c->nodes[o]);
            }
        }
    }
}

int cl_boot(cl_cluster_t *c, uint32_t id)
{
    cl_node_t *nd = cl_node(c, id);
    ck_assert_msg(nd->z == NULL, "node %u is already up", id);
    zab_config_t *cfg;
    ck_assert_int_eq(zab_config_new(&cfg), 0);
    ck_assert_int_eq(zab_config_set_id(cfg, id), 0);
    for (int i = 0; i < c->n; i++) {
        if (c->unknown[id - 1][i]) {
            continue;
        }
        if (c->nodes[i].voter) {
            ck_assert_int_eq(zab_config_add_voter(cfg, c->nodes[i].id), 0);
        } else {
            ck_assert_int_eq(zab_config_add_observer(cfg, c->nodes[i].id), 0);
        }
    }
    for (int o = 1; o < 16; o++) {
        if (c->opts[o] != 0) {
            ck_assert_int_eq(zab_config_set(cfg, o, c->opts[o]), 0);
        }
    }
    if (nd->use_hook) {
        ck_assert_int_eq(zab_config_set_allocator(cfg, hook_malloc,
                                                  hook_realloc, hook_free, nd),
                         0);
    }
    zab_host_ops_t ops = host_ops;
    if (nd->no_snapshot_put) {
        ops.snapshot_put = NULL;
    }
    zab_t *z = NULL;
    int rc = zab_new(cfg, &ops, nd, &z);
    zab_config_free(cfg);
    if (rc != 0) {
        return rc;
    }
    /* A new run: tokens start afresh; what the log holds is durable. */
    nd->n_toks = nd->confirmed = 0;
    for (size_t i = 0; i < nd->log_len; i++) {
        nd->log[i].tok = 0;
    }
    nd->z = z;
    rc = zab_start(z, nd->accepted, nd->current, log_last(nd),
                   nd->applied_zxid, c->now);
    after_call(c, nd);
    if (rc != 0) {
        zab_free(z);
        nd->z = NULL;
        return rc;
    }
    int me = (int)id - 1;
    for (int j = 0; j < c->n; j++) {
        if (j != me && c->want[me][j]) {
            open_pair(c, me, j);
        }
    }
    return 0;
}

void cl_boot_all(cl_cluster_t *c)
{
    for (int i = 0; i < c->n; i++) {
        int rc = cl_boot(c, c->nodes[i].id);
        ck_assert_msg(rc == 0, "boot of node %d: %s", i + 1, zab_err_name(rc));
    }
}

void cl_kill(cl_cluster_t *c, uint32_t id)
{
    cl_node_t *nd = cl_node(c, id);
    int me = (int)id - 1;
    if (nd->z == NULL) {
        return;
    }
    zab_t *z = nd->z;
    nd->z = NULL; /* closing the connections must not call into it */
    for (int j = 0; j < c->n; j++) {
        /* close_pair calls zab_peer_down on live ends only */
        close_pair(c, me, j, 0);
    }
    zab_free(z);
    scratch_release(c, nd);
    nd->confirmed = nd->n_toks;
    ck_assert_msg(!nd->use_hook || nd->live_blocks == 0,
                  "node %u leaked %ld blocks", id, nd->live_blocks);
}

/* ---- network and disks --------------------------------------------------------- */

void cl_cut(cl_cluster_t *c, uint32_t a, uint32_t b)
{
    int i = idx_of(c, a), j = idx_of(c, b);
    c->want[i][j] = c->want[j][i] = 0;
    close_pair(c, i, j, 0);
}

void cl_heal(cl_cluster_t *c)
{
    for (int i = 0; i < c->n; i++) {
        for (int j = 0; j < c->n; j++) {
            if (i != j && !c->want[i][j]) {
                c->want[i][j] = 1;
                c->reconnect_at[i][j] = 0;
            }
        }
    }
    for (int i = 0; i < c->n; i++) {
        for (int j = i + 1; j < c->n; j++) {
            open_pair(c, i, j);
        }
    }
}

void cl_block(cl_cluster_t *c, uint32_t from, uint32_t to, int on)
{
    c->links[idx_of(c, from)][idx_of(c, to)].blocked = on;
}

void cl_hold_disk(cl_cluster_t *c, uint32_t id, int on)
{
    cl_node(c, id)->disk_hold = on;
}

uint64_t cl_sent(cl_cluster_t *c, uint32_t from, uint32_t to, int kind)
{
    return c->links[idx_of(c, from)][idx_of(c, to)].kinds[kind];
}

/* ---- running --------------------------------------------------------------------- */

static int reconnect_due(cl_cluster_t *c)
{
    for (int i = 0; i < c->n; i++) {
        for (int j = i + 1; j < c->n; j++) {
            if (may_connect(c, i, j) && !c->up[i][j] &&
                alive(&c->nodes[i]) && alive(&c->nodes[j]) &&
                c->reconnect_at[i][j] <= c->now) {
                open_pair(c, i, j);
                return 1;
            }
        }
    }
    return 0;
}

static int confirm_pending(cl_cluster_t *c)
{
    for (int i = 0; i < c->n; i++) {
        cl_node_t *nd = &c->nodes[i];
        if (alive(nd) && !nd->disk_hold && nd->confirmed < nd->n_toks) {
            /* One write at a time, as a disk completes them. */
            confirm_upto(nd, nd->confirmed + 1);
            after_call(c, nd);
            return 1;
        }
    }
    return 0;
}

static int deliver_one(cl_cluster_t *c)
{
    int fa = -1, fb = -1;
    uint64_t best = UINT64_MAX;
    for (int a = 0; a < c->n; a++) {
        for (int b = 0; b < c->n; b++) {
            cl_link_t *l = &c->links[a][b];
            if (c->up[a][b] && !l->blocked && l->head != NULL &&
                l->head->seq < best) {
                best = l->head->seq;
                fa = a;
                fb = b;
            }
        }
    }
    if (fa < 0) {
        return 0;
    }
    cl_link_t *l = &c->links[fa][fb];
    cl_frame_t *f = l->head;
    l->head = f->next;
    if (l->head == NULL) {
        l->tail = NULL;
    }
    l->queued--;
    cl_node_t *to = &c->nodes[fb];
    if (c->trace >= 4) {
        const char *k = zab_frame_kind(f->data, f->len);
        fprintf(stderr, "[%6llu] %u -> %u: %s\n", (unsigned long long)c->now,
                c->nodes[fa].id, to->id, k != NULL ? k : "?");
    }
    if (alive(to)) {
        int rc = zab_recv(to->z, c->nodes[fa].id, f->data, f->len);
        if (rc == ZAB_EPROTO) {
            c->n_eproto++;
            c->broken[fb][fa] = 1;
        } else if (rc != 0) {
            violation(c, "zab_recv on %u = %d", to->id, rc);
        }
        after_call(c, to);
    }
    free(f);
    return 1;
}

int cl_step(cl_cluster_t *c)
{
    c->steps++;
    return reconnect_due(c) || confirm_pending(c) || deliver_one(c);
}

void cl_settle(cl_cluster_t *c)
{
    uint64_t guard = 0;
    while (cl_step(c)) {
        if (++guard > CL_STORM_STEPS) {
            violation(c, "no quiescence: a message storm");
            return;
        }
    }
}

int cl_run_until(cl_cluster_t *c, cl_pred_t pred, void *arg, uint64_t max_ms)
{
    uint64_t end = c->now + max_ms;
    uint64_t busy = 0, stuck = 0;
    for (;;) {
        if (pred != NULL && pred(c, arg)) {
            return 1;
        }
        if (c->violations != 0) {
            return pred == NULL;
        }
        if (cl_step(c)) {
            if (++busy > CL_STORM_STEPS) {
                violation(c, "message storm: no idle moment");
                return 0;
            }
            continue;
        }
        busy = 0;
        uint64_t next = UINT64_MAX;
        for (int i = 0; i < c->n; i++) {
            cl_node_t *nd = &c->nodes[i];
            uint64_t d;
            if (alive(nd) && zab_next_deadline(nd->z, &d) == 0 && d < next) {
                next = d;
            }
            for (int j = i + 1; j < c->n; j++) {
                if (may_connect(c, i, j) && !c->up[i][j] && alive(nd) &&
                    alive(&c->nodes[j]) && c->reconnect_at[i][j] < next) {
                    next = c->reconnect_at[i][j];
                }
            }
        }
        if (next > end) {
            c->now = end;
            return pred == NULL ? 1 : pred(c, arg);
        }
        if (next > c->now) {
            c->now = next;
            stuck = 0;
        } else if (++stuck > 10000) {
            violation(c, "a deadline that never moves (t=%llu)",
                      (unsigned long long)c->now);
            return 0;
        }
        for (int i = 0; i < c->n; i++) {
            cl_node_t *nd = &c->nodes[i];
            uint64_t d;
            if (alive(nd) && zab_next_deadline(nd->z, &d) == 0 &&
                d <= c->now) {
                int rc = zab_tick(nd->z, c->now);
                if (rc != 0) {
                    violation(c, "zab_tick on %u = %d", nd->id, rc);
                }
                after_call(c, nd);
            }
        }
    }
}

void cl_run(cl_cluster_t *c, uint64_t ms)
{
    cl_run_until(c, NULL, NULL, ms);
}

/* ---- observations -------------------------------------------------------------- */

uint32_t cl_leader(cl_cluster_t *c)
{
    uint32_t found = 0;
    int count = 0;
    for (int i = 0; i < c->n; i++) {
        cl_node_t *nd = &c->nodes[i];
        if (alive(nd) && zab_stat(nd->z, ZAB_STAT_ROLE) == ZAB_LEADING &&
            zab_stat(nd->z, ZAB_STAT_SERVING) == 1) {
            found = nd->id;
            count++;
        }
    }
    return count == 1 ? found : 0;
}

int cl_pred_stable(cl_cluster_t *c, void *arg)
{
    (void)arg;
    uint32_t l = cl_leader(c);
    if (l == 0) {
        return 0;
    }
    for (int i = 0; i < c->n; i++) {
        cl_node_t *nd = &c->nodes[i];
        if (!alive(nd) || nd->id == l) {
            continue;
        }
        uint64_t role = zab_stat(nd->z, ZAB_STAT_ROLE);
        if ((role != ZAB_FOLLOWING && role != ZAB_OBSERVING) ||
            zab_stat(nd->z, ZAB_STAT_LEADER) != l ||
            zab_stat(nd->z, ZAB_STAT_SERVING) != 1) {
            return 0;
        }
    }
    return 1;
}

int cl_pred_delivered(cl_cluster_t *c, void *arg)
{
    uint64_t zxid = *(const uint64_t *)arg;
    for (int i = 0; i < c->n; i++) {
        cl_node_t *nd = &c->nodes[i];
        if (alive(nd) && nd->applied_zxid < zxid) {
            return 0;
        }
    }
    return 1;
}

uint32_t cl_wait_stable(cl_cluster_t *c, uint64_t max_ms)
{
    int ok = cl_run_until(c, cl_pred_stable, NULL, max_ms);
    ck_assert_msg(c->violations == 0, "violation: %s", c->violation);
    ck_assert_msg(ok, "no stable leader within %llu ms (t=%llu)",
                  (unsigned long long)max_ms, (unsigned long long)c->now);
    return cl_leader(c);
}

int cl_propose(cl_cluster_t *c, uint32_t id, const char *payload,
               uint64_t *zxid)
{
    cl_node_t *nd = cl_node(c, id);
    ck_assert(nd->z != NULL);
    int rc = zab_propose(nd->z, payload, strlen(payload), zxid);
    after_call(c, nd);
    return rc;
}

int cl_delivered_payload(cl_cluster_t *c, uint32_t id, const char *payload)
{
    cl_node_t *nd = cl_node(c, id);
    size_t n = strlen(payload);
    for (size_t i = 0; i < nd->applied_len; i++) {
        if (nd->applied[i].len == n && memcmp(nd->applied[i].data, payload,
                                              n) == 0) {
            return 1;
        }
    }
    return 0;
}

int cl_barrier_done(cl_cluster_t *c, uint32_t id, uint64_t cookie,
                    int *status)
{
    cl_node_t *nd = cl_node(c, id);
    int n = 0;
    for (size_t i = 0; i < nd->n_barriers; i++) {
        if (nd->barriers[i].cookie == cookie) {
            n++;
            if (status != NULL) {
                *status = nd->barriers[i].status;
            }
        }
    }
    return n;
}

static int entries_equal(const cl_entry_t *a, const cl_entry_t *b)
{
    return a->zxid == b->zxid && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int cl_logs_equal(cl_cluster_t *c, uint32_t a, uint32_t b)
{
    cl_node_t *na = cl_node(c, a), *nb = cl_node(c, b);
    if (na->log_len != nb->log_len) {
        return 0;
    }
    for (size_t i = 0; i < na->log_len; i++) {
        if (!entries_equal(&na->log[i], &nb->log[i])) {
            return 0;
        }
    }
    return 1;
}

int cl_applied_equal(cl_cluster_t *c, uint32_t a, uint32_t b)
{
    cl_node_t *na = cl_node(c, a), *nb = cl_node(c, b);
    if (na->applied_len != nb->applied_len) {
        return 0;
    }
    for (size_t i = 0; i < na->applied_len; i++) {
        if (!entries_equal(&na->applied[i], &nb->applied[i])) {
            return 0;
        }
    }
    return 1;
}

int cl_agree(cl_cluster_t *c)
{
    for (int i = 0; i < c->n; i++) {
        for (int j = i + 1; j < c->n; j++) {
            cl_node_t *a = &c->nodes[i], *b = &c->nodes[j];
            size_t n = a->applied_len < b->applied_len ? a->applied_len
                                                       : b->applied_len;
            for (size_t k = 0; k < n; k++) {
                if (!entries_equal(&a->applied[k], &b->applied[k])) {
                    return 0;
                }
            }
        }
    }
    return 1;
}

void cl_assert_clean(cl_cluster_t *c)
{
    ck_assert_msg(c->violations == 0, "host contract violated: %s",
                  c->violation);
    ck_assert_msg(c->n_eproto == 0, "%llu frames refused with ZAB_EPROTO",
                  (unsigned long long)c->n_eproto);
    for (int i = 0; i < c->n; i++) {
        cl_node_t *nd = &c->nodes[i];
        if (!alive(nd)) {
            continue;
        }
        ck_assert_msg(zab_stat(nd->z, ZAB_STAT_MSGS_MALFORMED) == 0,
                      "node %u counted %llu malformed messages", nd->id,
                      (unsigned long long)zab_stat(nd->z,
                                                   ZAB_STAT_MSGS_MALFORMED));
        if (nd->n_role_change > 0) {
            ck_assert_int_eq(nd->role, (int)zab_stat(nd->z, ZAB_STAT_ROLE));
            ck_assert_uint_eq(nd->role_leader,
                              zab_stat(nd->z, ZAB_STAT_LEADER));
            ck_assert_int_eq(nd->role_serving,
                             (int)zab_stat(nd->z, ZAB_STAT_SERVING));
            /* role_change's epoch: the epoch served, 0 while not. */
            ck_assert_uint_eq(nd->role_epoch,
                              nd->role_serving
                                  ? zab_stat(nd->z, ZAB_STAT_CURRENT_EPOCH)
                                  : 0);
        }
        ck_assert_uint_eq(nd->applied_zxid,
                          zab_stat(nd->z, ZAB_STAT_DELIVERED_ZXID));
    }
    ck_assert_msg(cl_agree(c), "delivered sequences disagree");
}
