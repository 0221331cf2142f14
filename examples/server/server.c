/*
 * server.c -- zabd's core: the event loop, libzab's host callbacks, and
 * the state machine (applying committed commands to the data tree).
 *
 * One thread.  A loop turn is: wait for sockets or the next deadline;
 * read and handle everything that arrived (peer frames go to zab_recv,
 * client requests are answered or proposed); run the timers (zab_tick,
 * reconnects, session expiry); make the turn's log writes durable with
 * ONE fsync (wal_sync: group commit) and tell libzab (zab_persisted);
 * write out what the turn produced.  Everything a turn proposes therefore
 * shares one fsync, however many clients and peers contributed.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "jute.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void srv_log(srv_t *s, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%04d-%02d-%02d %02d:%02d:%02d.%03ld [myid:%u] %s\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
            tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, s->cfg.myid, line);
}

const char *srv_mode(const srv_t *s)
{
    if (s->cfg.standalone)
        return "standalone";
    if (s->read_only)
        return "read-only";
    switch (s->role) {
    case ZAB_LEADING:
        return "leader";
    case ZAB_FOLLOWING:
        return "follower";
    case ZAB_OBSERVING:
        return "observer";
    default:
        return "looking";
    }
}

/* ---- in-flight rings ------------------------------------------------------- */

int inflight_push(inflight_ring_t *r, const inflight_t *e)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        inflight_t *v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < r->n; i++)
            v[i] = r->v[(r->head + i) % r->cap];
        free(r->v);
        r->v = v;
        r->cap = cap;
        r->head = 0;
    }
    r->v[(r->head + r->n) % r->cap] = *e;
    r->n++;
    return 0;
}

inflight_t *inflight_front(inflight_ring_t *r)
{
    return r->n ? &r->v[r->head] : NULL;
}

void inflight_pop(inflight_ring_t *r)
{
    if (r->n) {
        r->head = (r->head + 1) % r->cap;
        r->n--;
    }
}

/* Every in-flight entry is failed: its client (if still there) loses its
 * connection, as a ZooKeeper client does when its server stops serving. */
static void inflight_fail_all(srv_t *s, inflight_ring_t *r)
{
    inflight_t *e;
    while ((e = inflight_front(r)) != NULL) {
        client_t *c = e->c;
        inflight_pop(r);
        if (c) {
            client_close(s, c, "request lost with the leader");
            client_release(s, c);
        }
    }
}

/* ---- epoll ---------------------------------------------------------------- */

int srv_epoll_set(srv_t *s, io_t *io, uint32_t events)
{
    struct epoll_event ev;
    if (io->fd < 0)
        return -1;
    if (io->tls)
        events = tls_events(io->tls, events);
    if (io->events == events)
        return 0;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.ptr = io;
    int op = io->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(s->epfd, op, io->fd, &ev) != 0)
        return -1;
    io->events = events;
    return 0;
}

void srv_epoll_del(srv_t *s, io_t *io)
{
    if (io->fd >= 0 && io->events)
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->events = 0;
}

void srv_io_close(srv_t *s, io_t *io)
{
    srv_epoll_del(s, io);
    tls_conn_free(io->tls); /* its close_notify needs the socket */
    io->tls = NULL;
    if (io->fd >= 0)
        close(io->fd);
    io->fd = -1;
}

static void tls_log(void *ud, const char *line)
{
    srv_log(ud, "%s", line);
}

/* The TLS contexts the configuration asks for; a store that cannot be
 * read stops the start-up with a message naming the key and the file. */
static int make_tls(srv_t *s, char *err, size_t errlen)
{
    if (s->cfg.secure_client_port &&
        tls_ctx_new(&s->cfg.tls_client, "ssl.", "client port", tls_log, s,
                    &s->tls_client, err, errlen) != 0)
        return -1;
    if (s->cfg.ssl_quorum && !s->cfg.standalone &&
        tls_ctx_new(&s->cfg.tls_quorum, "ssl.quorum.", "quorum port",
                    tls_log, s, &s->tls_quorum, err, errlen) != 0)
        return -1;
    return 0;
}

/* ---- applying committed commands --------------------------------------- */

/* Owned C strings and ACL lists made while turning a request into tree
 * operations; freed together. */
typedef struct scratch {
    char *strs[2048];
    size_t nstrs;
    acl_list_t acls[1024];
    size_t nacls;
} scratch_t;

static void scratch_free(scratch_t *sc)
{
    for (size_t i = 0; i < sc->nstrs; i++)
        free(sc->strs[i]);
    for (size_t i = 0; i < sc->nacls; i++)
        acl_list_free(&sc->acls[i]);
    sc->nstrs = sc->nacls = 0;
}

/* A NUL-terminated copy of a path; NULL for a null string, one with an
 * embedded NUL, or when out of room (the caller answers BADARGUMENTS or
 * MARSHALLINGERROR). */
static const char *scratch_path(scratch_t *sc, jute_str_t p, int *err)
{
    if (p.len < 0 || memchr(p.s, '\0', (size_t)p.len)) {
        *err = TREE_ZBADARGUMENTS;
        return NULL;
    }
    if (sc->nstrs == sizeof sc->strs / sizeof sc->strs[0]) {
        *err = TREE_ZMARSHALLINGERROR;
        return NULL;
    }
    char *s = malloc((size_t)p.len + 1);
    if (!s) {
        *err = TREE_ZSYSTEMERROR;
        return NULL;
    }
    memcpy(s, p.s, (size_t)p.len);
    s[p.len] = '\0';
    sc->strs[sc->nstrs++] = s;
    return s;
}

static const acl_list_t *scratch_acl(scratch_t *sc, const jute_aclvec_t *v,
                                     int *err)
{
    if (sc->nacls == sizeof sc->acls / sizeof sc->acls[0]) {
        *err = TREE_ZMARSHALLINGERROR;
        return NULL;
    }
    acl_list_t *l = &sc->acls[sc->nacls++];
    acl_list_init(l);
    jute_iter_t it;
    jute_acl_t a;
    char scheme[ACL_MAX_STR + 1], id[ACL_MAX_STR + 1];
    jute_aclvec_iter(v, &it);
    while (jute_acl_next(&it, &a)) {
        /* A null string reads as empty: Kazoo sends "" as null, and Java
         * ZooKeeper takes Id("auth", null) like Id("auth", ""). */
        int32_t sl = a.scheme.len < 0 ? 0 : a.scheme.len;
        int32_t il = a.id.len < 0 ? 0 : a.id.len;
        if (sl > ACL_MAX_STR || il > ACL_MAX_STR) {
            *err = TREE_ZINVALIDACL;
            return NULL;
        }
        if (sl)
            memcpy(scheme, a.scheme.s, (size_t)sl);
        scheme[sl] = '\0';
        if (il)
            memcpy(id, a.id.s, (size_t)il);
        id[il] = '\0';
        int rc = acl_list_add(l, a.perms, scheme, id, 0);
        if (rc != ACL_OK) {
            *err = rc == ACL_ENOMEM ? TREE_ZSYSTEMERROR : TREE_ZINVALIDACL;
            return NULL;
        }
    }
    return l;
}

/* One jute op (a request or a multi member) as a tree_op_t. */
static int op_from_jute(scratch_t *sc, int32_t type, const jute_op_t *jo,
                        tree_op_t *op)
{
    int err = TREE_ZOK;
    memset(op, 0, sizeof *op);
    op->type = type;
    op->version = -1;
    switch (type) {
    case JUTE_OP_CREATE:
    case JUTE_OP_CREATE2:
    case JUTE_OP_CREATECONTAINER:
    case JUTE_OP_CREATETTL:
        op->path = scratch_path(sc, jo->u.create.path, &err);
        if (!op->path)
            return err;
        op->data = jo->u.create.data.data;
        op->data_len = jo->u.create.data.len > 0
                           ? (size_t)jo->u.create.data.len : 0;
        op->data_null = jo->u.create.data.len < 0;
        op->acl = scratch_acl(sc, &jo->u.create.acl, &err);
        if (!op->acl)
            return err;
        op->flags = jo->u.create.flags;
        op->ttl = jo->u.create.ttl;
        return TREE_ZOK;
    case JUTE_OP_DELETE:
    case JUTE_OP_CHECK:
        op->path = scratch_path(sc, jo->u.path_version.path, &err);
        op->version = jo->u.path_version.version;
        return op->path ? TREE_ZOK : err;
    case JUTE_OP_SETDATA:
        op->path = scratch_path(sc, jo->u.set_data.path, &err);
        op->data = jo->u.set_data.data.data;
        op->data_len = jo->u.set_data.data.len > 0
                           ? (size_t)jo->u.set_data.data.len : 0;
        op->data_null = jo->u.set_data.data.len < 0;
        op->version = jo->u.set_data.version;
        return op->path ? TREE_ZOK : err;
    default:
        return TREE_ZUNIMPLEMENTED;
    }
}

/* The request of a client command as tree operations, prepared into a
 * transaction.  Returns the prepare code (a KeeperException code). */
static int prepare_request(srv_t *s, const cmd_t *c, const acl_auth_t *who,
                           uint64_t zxid, tree_txn_t *txn, int32_t *type)
{
    scratch_t *sc = calloc(1, sizeof *sc);
    jute_reader_t r;
    jute_request_t req;
    jute_limits_t lim;
    tree_op_t *ops = NULL;
    int rc;

    tree_txn_init(txn);
    if (!sc)
        return TREE_ZSYSTEMERROR;
    jute_limits_default(&lim);
    lim.max_buffer = s->cfg.jute_maxbuffer + 1024;
    jute_reader_init(&r, c->request, c->request_len, &lim);
    if (jute_read_request(&r, &req) != JUTE_OK) {
        rc = TREE_ZMARSHALLINGERROR;
        goto out;
    }
    *type = req.hdr.type;
    if (req.hdr.type == JUTE_OP_MULTI) {
        size_t n = 0, cap = (size_t)(req.u.multi.count > 0 ? req.u.multi.count : 0);
        jute_iter_t it;
        jute_op_t jo;
        ops = calloc(cap ? cap : 1, sizeof *ops);
        if (!ops) {
            rc = TREE_ZSYSTEMERROR;
            goto out;
        }
        jute_multi_iter(&req.u.multi, &it);
        while (n < cap && jute_op_next(&it, &jo)) {
            rc = op_from_jute(sc, jo.type, &jo, &ops[n]);
            if (rc != TREE_ZOK)
                goto out;
            n++;
        }
        rc = tree_prepare_multi(s->tree, ops, n, c->session, who,
                                (int64_t)zxid, c->time, txn);
    } else {
        jute_op_t jo;
        tree_op_t op;
        jo.type = req.hdr.type;
        switch (req.hdr.type) {
        case JUTE_OP_CREATE:
        case JUTE_OP_CREATE2:
        case JUTE_OP_CREATECONTAINER:
        case JUTE_OP_CREATETTL:
            jo.u.create = req.u.create;
            break;
        case JUTE_OP_DELETE:
        case JUTE_OP_CHECK:
            jo.u.path_version = req.u.path_version;
            break;
        case JUTE_OP_SETDATA:
            jo.u.set_data = req.u.set_data;
            break;
        case JUTE_OP_SETACL: {
            int err = TREE_ZOK;
            memset(&op, 0, sizeof op);
            op.type = TREE_OP_SET_ACL;
            op.path = scratch_path(sc, req.u.set_acl.path, &err);
            op.acl = op.path ? scratch_acl(sc, &req.u.set_acl.acl, &err)
                             : NULL;
            op.version = req.u.set_acl.version;
            if (!op.acl) {
                rc = err;
                goto out;
            }
            rc = tree_prepare(s->tree, &op, c->session, who, (int64_t)zxid,
                              c->time, txn);
            goto out;
        }
        default:
            rc = TREE_ZUNIMPLEMENTED;
            goto out;
        }
        rc = op_from_jute(sc, req.hdr.type, &jo, &op);
        if (rc == TREE_ZOK)
            rc = tree_prepare(s->tree, &op, c->session, who, (int64_t)zxid,
                              c->time, txn);
    }
out:
    free(ops);
    scratch_free(sc);
    free(sc);
    return rc;
}

/* An ERROR transaction: the zxid is consumed, the tree unchanged. */
void srv_error_txn(tree_txn_t *txn, const cmd_t *c, int err)
{
    tree_txn_free(txn);
    tree_txn_init(txn);
    txn->type = TREE_OP_ERROR;
    txn->err = err;
    if (c) {
        txn->session = c->session;
        txn->time = c->time;
    }
}

static void fire_watches(srv_t *s, const tree_result_t *res)
{
    watch_events_t ev;
    memset(&ev, 0, sizeof ev);
    if (res->ntrig == 0)
        return;
    if (watch_fire(s->watches, res, &ev) != WATCH_OK)
        srv_log(s, "out of memory firing watches: some were lost");
    for (size_t i = 0; i < ev.n; i++) {
        client_t *c = (client_t *)(uintptr_t)ev.v[i].handle;
        client_send_event(s, c, ev.v[i].type, ev.v[i].path);
    }
    watch_events_free(&ev);
}

/* Our own command `seq` committed: match it with the in-flight ring.
 * Entries before it were dropped on the way (a full leader queue, a lost
 * connection): their clients lose the connection, the ZooKeeper way of
 * saying "outcome unknown". */
static inflight_t *inflight_match(srv_t *s, uint64_t seq, inflight_t *out)
{
    inflight_t *e;
    while ((e = inflight_front(&s->inflight)) != NULL && e->seq < seq) {
        client_t *c = e->c;
        inflight_pop(&s->inflight);
        s->stats.writes_lost++;
        if (c) {
            client_close(s, c, "request was not committed");
            client_release(s, c);
        }
    }
    if (e && e->seq == seq) {
        *out = *e;
        inflight_pop(&s->inflight);
        return out;
    }
    return NULL;
}

static void apply_session_event(srv_t *s, const cmd_t *c, uint64_t zxid,
                                tree_txn_t *txn, tree_result_t *res)
{
    int32_t timeout;
    bool known = tree_session_get(s->tree, c->session, &timeout);
    if (c->type == TREE_OP_CREATE_SESSION) {
        if (known || tree_prepare_create_session(s->tree, c->session, c->arg,
                                                 c->time, txn) != TREE_ZOK)
            srv_error_txn(txn, c, TREE_ZRUNTIMEINCONSISTENCY);
    } else if (!known ||
               tree_prepare_close_session(s->tree, c->session,
                                          (int64_t)zxid, c->time,
                                          txn) != TREE_ZOK) {
        srv_error_txn(txn, c, JUTE_ZSESSIONEXPIRED);
    }
    tree_apply(s->tree, txn, (int64_t)zxid, res);
    if (c->type == TREE_OP_CREATE_SESSION && !known) {
        session_track(s->sessions, c->session, c->arg, s->now);
        session_set_owner(s->sessions, c->session, c->origin);
    } else if (c->type == TREE_OP_CLOSE_SESSION && known) {
        session_forget(s->sessions, c->session);
    }
}

/* The leader's ContainerManager found an empty container or an expired
 * TTL node: the request is the bare path.  Whether it is still deletable
 * is decided here, at commit, like everything else. */
static void apply_container_delete(srv_t *s, const cmd_t *c, uint64_t zxid,
                                   tree_txn_t *txn, tree_result_t *res)
{
    char path[4096];
    int rc = TREE_ZBADARGUMENTS;
    if (c->request_len > 0 && c->request_len < sizeof path &&
        !memchr(c->request, '\0', c->request_len)) {
        tree_op_t op;
        memcpy(path, c->request, c->request_len);
        path[c->request_len] = '\0';
        memset(&op, 0, sizeof op);
        op.type = TREE_OP_DELETE_CONTAINER;
        op.path = path;
        op.version = -1;
        rc = tree_prepare(s->tree, &op, 0, NULL, (int64_t)zxid, c->time, txn);
    }
    if (rc != TREE_ZOK)
        srv_error_txn(txn, c, rc);
    tree_apply(s->tree, txn, (int64_t)zxid, res);
}

static void srv_apply(srv_t *s, uint64_t zxid, const void *data, size_t len)
{
    cmd_t c;
    if (s->fatal)
        return; /* the tree is not trustworthy any more: restart */
    tree_txn_t txn;
    tree_result_t res;
    int32_t type = 0;
    int rc;

    memset(&res, 0, sizeof res);
    tree_txn_init(&txn);
    if (cmd_decode(data, len, &c) != 0) {
        /* Never produced by zabd; applied as an error so that every replica
         * still consumes the zxid identically. */
        s->stats.malformed_peer++;
        srv_log(s, "committed command 0x%" PRIx64 " is malformed", zxid);
        srv_error_txn(&txn, NULL, TREE_ZMARSHALLINGERROR);
        tree_apply(s->tree, &txn, (int64_t)zxid, NULL);
        tree_txn_free(&txn);
        return;
    }
    bool mine = c.origin == s->cfg.myid && c.incarnation == s->incarnation;

    if (c.type == TREE_OP_CREATE_SESSION || c.type == TREE_OP_CLOSE_SESSION) {
        apply_session_event(s, &c, zxid, &txn, &res);
        rc = res.err;
        type = c.type;
    } else if (c.type == SRV_OP_REVALIDATE) {
        /* Consumes its zxid like every command; moves the session. */
        rc = tree_session_get(s->tree, c.session, NULL)
                 ? TREE_ZOK : JUTE_ZSESSIONEXPIRED;
        /* An old connection of the session elsewhere stays until it
         * writes (then SESSIONMOVED closes it), as in ZooKeeper. */
        if (rc == TREE_ZOK)
            session_set_owner(s->sessions, c.session, c.origin);
        srv_error_txn(&txn, &c, rc);
        tree_apply(s->tree, &txn, (int64_t)zxid, &res);
        type = c.type;
    } else if (c.type == TREE_OP_DELETE_CONTAINER) {
        apply_container_delete(s, &c, zxid, &txn, &res);
        rc = res.err;
        type = c.type;
    } else if (c.type == JUTE_OP_RECONFIG) {
        rc = reconfig_apply(s, &c, zxid, &txn, &res);
        type = c.type;
    } else {
        acl_auth_t who = { c.ids, c.nids };
        uint32_t owner = session_owner(s->sessions, c.session);
        if (owner != 0 && owner != c.origin &&
            tree_session_get(s->tree, c.session, NULL)) {
            /* The client has reattached elsewhere since: a request from
             * its old connection fails (PrepRequestProcessor's
             * checkSession), and that connection is closed below. */
            rc = JUTE_ZSESSIONMOVED;
            srv_error_txn(&txn, &c, rc);
        } else if (!tree_session_get(s->tree, c.session, NULL)) {
            rc = JUTE_ZSESSIONEXPIRED;
            srv_error_txn(&txn, &c, rc);
            jute_reader_t r;
            jute_request_header_t h;
            jute_reader_init(&r, c.request, c.request_len, NULL);
            if (jute_read_request_header(&r, &h) == JUTE_OK)
                type = h.type;
        } else {
            rc = prepare_request(s, &c, &who, zxid, &txn, &type);
            if (rc == TREE_ZSYSTEMERROR && txn.type != TREE_OP_ERROR)
                srv_error_txn(&txn, &c, rc);
        }
        if (tree_apply(s->tree, &txn, (int64_t)zxid, &res) ==
                TREE_ZSYSTEMERROR &&
            res.err == TREE_ZSYSTEMERROR) {
            /* The tree may be half changed: the only safe way on is a
             * restart from disk, which replays this command. */
            srv_log(s, "out of memory applying 0x%" PRIx64 ": stopping",
                    zxid);
            s->fatal = true;
            s->stopping = true;
        }
        if (txn.type != TREE_OP_MULTI && res.err != TREE_ZOK)
            rc = res.err;
    }
    tree_pending_release(s->tree, (int64_t)zxid);
    fire_watches(s, &res);

    client_t *replied = NULL;
    if (mine) {
        inflight_t e;
        if (inflight_match(s, c.seq, &e)) {
            if (e.c && e.kind == INFLIGHT_SESSION &&
                c.type == TREE_OP_CREATE_SESSION) {
                client_session_ready(s, e.c, rc == TREE_ZOK);
            } else if (e.c && e.kind == INFLIGHT_REVALIDATE) {
                client_session_ready(s, e.c, rc == TREE_ZOK);
            } else if (e.c && rc == JUTE_ZSESSIONMOVED) {
                /* As FinalRequestProcessor: no reply, the connection is
                 * closed; the client reconnects to where it moved. */
                client_close(s, e.c, "session moved to another server");
            } else if (e.c) {
                /* `type` is the request's op code (closeSession's
                 * TREE_OP_CLOSE_SESSION is JUTE_OP_CLOSESESSION). */
                uint8_t *reply = NULL;
                size_t rlen = 0;
                if (client_encode_result(s, c.request, c.request_len, type,
                                         &res, rc, &reply, &rlen) == 0) {
                    client_write_done(s, e.c, c.seq, reply, rlen,
                                      c.type == TREE_OP_CLOSE_SESSION);
                    replied = e.c;
                } else
                    client_close(s, e.c, "out of memory");
            }
            if (e.c)
                client_release(s, e.c);
        }
    }
    /* A closed session's connection ends on every server (its own
     * closeSession request was answered above and closes after the
     * reply). */
    if (c.type == TREE_OP_CLOSE_SESSION && rc == TREE_ZOK) {
        bool expired = c.request_len == 0;
        client_t *owner = client_by_session(s, c.session);
        if (owner && owner != replied)
            client_close(s, owner,
                         expired ? "session expired" : "session closed");
        if (expired)
            s->stats.sessions_expired++;
    }
    tree_result_free(&res);
    tree_txn_free(&txn);
    cmd_free(&c);
    if (++s->since_snapshot >= s->snap_threshold)
        s->snapshot_due = true;
}

/* ---- libzab host callbacks --------------------------------------------- */

static int h_send(void *ud, uint32_t peer, const void *frame, size_t len)
{
    return peer_send(ud, peer, PEER_ZAB, frame, len);
}

static int h_log_append(void *ud, uint64_t zxid, const void *data,
                        size_t len, uint64_t token)
{
    srv_t *s = ud;
    return wal_append(s->wal, zxid, data, len, token);
}

static int h_log_truncate(void *ud, uint64_t zxid, uint64_t token)
{
    srv_t *s = ud;
    srv_log(s, "truncating the log after 0x%" PRIx64, zxid);
    return wal_truncate(s->wal, zxid, token);
}

static int h_log_read(void *ud, uint64_t after, uint64_t *zxid,
                      const void **data, size_t *len)
{
    srv_t *s = ud;
    return wal_read(s->wal, after, zxid, data, len);
}

static int h_save_epochs(void *ud, uint32_t accepted, uint32_t current,
                         uint64_t token)
{
    srv_t *s = ud;
    return wal_save_epochs(s->wal, accepted, current, token);
}

static int h_snapshot_get(void *ud, uint64_t min_zxid, uint64_t *zxid,
                          const void **data, size_t *len)
{
    srv_t *s = ud;
    uint64_t at = (uint64_t)tree_last_zxid(s->tree);
    free(s->snap_buf);
    s->snap_buf = NULL;
    if (at < min_zxid)
        return ZAB_ENOENT;
    if (tree_snapshot(s->tree, &s->snap_buf, len) != TREE_ZOK)
        return ZAB_ENOMEM;
    *zxid = at;
    *data = s->snap_buf;
    srv_log(s, "sending a snapshot at 0x%" PRIx64 " (%zu bytes)", at, *len);
    return 0;
}

static void track_one(void *ud, int64_t session, int32_t timeout)
{
    srv_t *s = ud;
    session_track(s->sessions, session, timeout, s->now);
}

/* The tracker follows the tree: after loading or installing a snapshot
 * it is rebuilt from the sessions the snapshot holds. */
static int rebuild_tracker(srv_t *s)
{
    session_tracker_t *t = session_tracker_new();
    if (!t)
        return -1;
    session_tracker_free(s->sessions);
    s->sessions = t;
    tree_session_each(s->tree, track_one, s);
    return 0;
}

static int h_snapshot_put(void *ud, uint64_t zxid, uint64_t offset,
                          uint64_t total, const void *chunk, size_t len,
                          uint64_t token)
{
    srv_t *s = ud;
    int rc = wal_snapshot_put(s->wal, zxid, offset, total, chunk, len, token);
    if (rc != 0 || token == 0)
        return rc;
    /* The last chunk: the snapshot is durable; replace the tree. */
    uint64_t at;
    void *buf = NULL;
    size_t blen = 0;
    tree_t *t = NULL;
    rc = wal_snapshot_load(s->wal, &at, &buf, &blen);
    if (rc == 0 && tree_load(buf, blen, &s->tree_cfg, &t) != TREE_ZOK)
        rc = ZAB_EIO;
    free(buf);
    if (rc != 0) {
        srv_log(s, "cannot load the snapshot received: %s",
                zab_strerror(rc));
        return rc;
    }
    tree_free(s->tree);
    s->tree = t;
    s->since_snapshot = 0;
    char why[256];
    if (reconfig_adopt_tree(s, false, why, sizeof why) != 0) {
        /* Another ensemble's state, or one that removed us: nothing here
         * can be trusted any more. */
        srv_log(s, "the snapshot received cannot be used: %s; stopping",
                why);
        s->fatal = true;
        s->stopping = true;
    }
    if (rebuild_tracker(s) != 0)
        return ZAB_ENOMEM;
    srv_log(s, "installed a snapshot at 0x%" PRIx64 " (%zu nodes)", at,
            tree_node_count(t));
    return 0;
}

static void h_deliver(void *ud, uint64_t zxid, const void *data, size_t len)
{
    srv_apply(ud, zxid, data, len);
}

static void h_role_change(void *ud, zab_role_t role, uint32_t leader,
                          uint32_t epoch, int serving)
{
    srv_t *s = ud;
    bool was_serving = s->serving;
    s->role = role;
    s->leader = leader;
    s->epoch = epoch;
    s->serving = serving != 0;
    s->role_since_ms = s->now;
    srv_log(s, "%s%s, leader %u, epoch %u", zab_role_name(role),
            serving ? " (serving)" : "", leader, epoch);
    if (s->read_only && role != ZAB_LOOKING) {
        /* As ZooKeeper shuts its ReadOnlyZooKeeperServer down once the
         * election ends: the read-only sessions reconnect to a server
         * with a quorum (their global sessions are intact). */
        s->read_only = false;
        srv_log(s, "leaving read-only mode");
        client_close_all(s, "read-only mode ended");
    }
    if (was_serving && !s->serving) {
        /* As a ZooKeeper server that stops serving: every client must
         * reconnect (to us later, or to another member). */
        inflight_fail_all(s, &s->inflight);
        client_close_all(s, "server stopped serving");
    }
    if (s->serving && role == ZAB_LEADING) {
        /* A new leader gives every session a full timeout before it can
         * expire: their clients may be reconnecting right now. */
        session_unmark_all(s->sessions);
        session_reset_all(s->sessions, s->now);
    }
}

static void h_barrier_done(void *ud, uint64_t cookie, int status)
{
    srv_t *s = ud;
    inflight_t *e;
    /* Barriers complete in the order they were asked; a skipped one was
     * lost with a role change and is failed the same way. */
    while ((e = inflight_front(&s->barriers)) != NULL && e->seq <= cookie) {
        inflight_t b = *e;
        inflight_pop(&s->barriers);
        int st = b.seq == cookie ? status : ZAB_ECANCELED;
        if (b.c) { /* only syncs wait on barriers */
            client_sync_done(s, b.c, b.seq, st);
            client_release(s, b.c);
        }
    }
}

static void h_trace(void *ud, int level, const char *line)
{
    srv_t *s = ud;
    if (level < s->verbose)
        srv_log(s, "zab: %s", line);
}

static void on_durable(void *ud, uint64_t token, int status)
{
    srv_t *s = ud;
    int rc = zab_persisted(s->zab, token, status);
    if (rc != 0 && rc != ZAB_EINVAL)
        srv_log(s, "zab_persisted: %s", zab_strerror(rc));
}


/* ---- periodic work ---------------------------------------------------------- */

/* ZooKeeper's SyncRequestProcessor: a snapshot after snapCount/2 plus a
 * random share of snapCount/2 commands, so that the members of an
 * ensemble do not all pause for a snapshot at the same moment. */
static void next_snap_threshold(srv_t *s)
{
    uint64_t half = (uint64_t)s->cfg.snap_count / 2;
    s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
    s->snap_threshold = half + (half ? (s->rng >> 33) % half : 0) + 1;
}

/* Writes the snapshot of the tree as of `at`: serialise, write, fsync,
 * rename.  Runs in the forked child (or inline if fork fails). */
static int write_snapshot(srv_t *s, uint64_t at, size_t *len)
{
    uint8_t *buf = NULL;
    if (tree_snapshot(s->tree, &buf, len) != TREE_ZOK)
        return ZAB_ENOMEM;
    int rc = wal_snapshot_write(s->wal, at, buf, *len);
    free(buf);
    return rc;
}

static void snapshot_done(srv_t *s, uint64_t at, int ok)
{
    if (!ok || wal_snapshot_adopt(s->wal, at) != 0) {
        srv_log(s, "snapshot at 0x%" PRIx64 " failed; the log is kept", at);
        return;
    }
    int rc = wal_purge(s->wal, (unsigned)s->cfg.snap_retain_count);
    srv_log(s, "snapshot at 0x%" PRIx64 " written in %" PRIu64 " ms%s", at,
            s->now - s->snap_started_ms, rc ? "; purge failed" : "");
}

/* A fuzzy snapshot without a pause: a forked child serialises the tree
 * from its copy-on-write image of this process and writes it, while the
 * server goes on serving (ZooKeeper takes its snapshots on a thread; the
 * single-threaded way is Redis's BGSAVE).  One at a time; the parent
 * adopts the file and purges the log when the child is done. */
static void take_snapshot(srv_t *s)
{
    uint64_t at = (uint64_t)tree_last_zxid(s->tree);
    if (s->snap_child > 0)
        return; /* still due: tried again after the running one */
    s->snapshot_due = false;
    s->since_snapshot = 0;
    next_snap_threshold(s);
    if (at == 0 || at == wal_snapshot_zxid(s->wal))
        return;
    s->snap_started_ms = s->now;
    s->snap_zxid = at;
    pid_t pid = fork();
    if (pid == 0) {
        size_t len;
        _exit(write_snapshot(s, at, &len) == 0 ? 0 : 1);
    }
    if (pid > 0) {
        s->snap_child = pid;
        return;
    }
    size_t len;
    srv_log(s, "fork for the snapshot failed (%s): writing it inline",
            strerror(errno));
    snapshot_done(s, at, write_snapshot(s, at, &len) == 0);
}

static void reap_snapshot(srv_t *s, bool wait)
{
    int st;
    if (s->snap_child <= 0)
        return;
    pid_t r = waitpid(s->snap_child, &st, wait ? 0 : WNOHANG);
    if (r == 0)
        return;
    s->snap_child = 0;
    snapshot_done(s, s->snap_zxid,
                  r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int srv_propose_cmd(srv_t *s, client_t *c, int32_t type, int32_t arg,
                    int64_t session, const uint8_t *request,
                    size_t request_len, int kind, uint64_t *seq)
{
    cmd_t cmd;
    uint8_t *buf;
    size_t len;
    memset(&cmd, 0, sizeof cmd);
    cmd.origin = s->cfg.myid;
    cmd.incarnation = s->incarnation;
    cmd.seq = ++s->next_seq;
    cmd.session = c ? c->session : session;
    cmd.time = wall_ms();
    cmd.type = type;
    cmd.arg = arg;
    if (c) {
        cmd.nids = c->nids;
        memcpy(cmd.ids, c->ids, c->nids * sizeof c->ids[0]);
    }
    cmd.request = request;
    cmd.request_len = request_len;
    if (cmd_encode(&cmd, &buf, &len) != 0)
        return ZAB_ENOMEM;
    inflight_t e = { cmd.seq, c, kind };
    if (inflight_push(&s->inflight, &e) != 0) {
        free(buf);
        return ZAB_ENOMEM;
    }
    int rc = zab_propose(s->zab, buf, len, NULL);
    free(buf);
    if (rc != 0) {
        s->inflight.n--; /* not proposed: drop the entry just pushed */
        return rc;
    }
    if (c)
        c->refs++;
    if (seq)
        *seq = cmd.seq;
    return 0;
}

/* The leader expires sessions nobody heard from within their timeout. */
static void expire_sessions(srv_t *s)
{
    int64_t ids[64];
    if (!(s->serving && s->role == ZAB_LEADING))
        return;
    size_t n = session_expired(s->sessions, s->now, ids, 64);
    for (size_t i = 0; i < n; i++) {
        if (srv_propose_cmd(s, NULL, TREE_OP_CLOSE_SESSION, 0, ids[i], NULL,
                            0, INFLIGHT_WRITE, NULL) != 0) {
            /* Try again at the next sweep. */
            session_unmark_all(s->sessions);
            break;
        }
        srv_log(s, "expiring session 0x%" PRIx64, (uint64_t)ids[i]);
    }
}

/* The leader's ContainerManager: propose the deletion of empty
 * containers and expired TTL nodes, at most 1000 per check. */
static void check_containers(srv_t *s)
{
    char **paths = NULL;
    size_t n = 0;
    if (!(s->serving && s->role == ZAB_LEADING))
        return;
    if (tree_container_candidates(s->tree, wall_ms(), &paths, &n) != TREE_ZOK)
        return;
    for (size_t i = 0; i < n && i < 1000; i++)
        if (srv_propose_cmd(s, NULL, TREE_OP_DELETE_CONTAINER, 0, 0,
                            (const uint8_t *)paths[i], strlen(paths[i]),
                            INFLIGHT_WRITE, NULL) != 0)
            break;
    tree_strv_free(paths, n);
}

/* readonlymode.enabled: as ZooKeeper's QuorumPeer, a member that has been
 * looking for a leader for max(2 s, tickTime) decides it is partitioned
 * and serves reads to read-only clients until an election ends. */
static void check_read_only(srv_t *s, uint64_t *wake)
{
    if (!s->cfg.read_only_mode || s->cfg.standalone || s->read_only ||
        s->role != ZAB_LOOKING)
        return;
    uint64_t grace = (uint64_t)(s->cfg.tick_time > 2000 ? s->cfg.tick_time
                                                        : 2000);
    uint64_t at = s->role_since_ms + grace;
    if (s->now < at) {
        if (at < *wake)
            *wake = at;
        return;
    }
    s->read_only = true;
    srv_log(s, "no leader for %" PRIu64 " ms: serving read-only clients",
            s->now - s->role_since_ms);
}

static void run_timers(srv_t *s, uint64_t *wake)
{
    uint64_t deadline;
    zab_tick(s->zab, s->now);
    if (zab_next_deadline(s->zab, &deadline) == 0 && deadline < *wake)
        *wake = deadline;
    peer_timers(s, wake);
    if (s->now >= s->next_touch) {
        client_touch_report(s);
        if (s->read_only)
            client_read_only_sweep(s);
        s->next_touch = s->now + (uint64_t)s->cfg.tick_time / 2;
    }
    if (s->now >= s->next_sweep) {
        expire_sessions(s);
        s->next_sweep = s->now + (uint64_t)s->cfg.tick_time / 4 + 1;
    }
    check_read_only(s, wake);
    if (s->now >= s->next_container_check) {
        check_containers(s);
        s->next_container_check = s->now + (uint64_t)s->cfg.container_check_ms;
    }
    if (s->next_touch < *wake)
        *wake = s->next_touch;
    if (s->next_sweep < *wake)
        *wake = s->next_sweep;
}

static void sync_disk(srv_t *s)
{
    if (!wal_sync_pending(s->wal))
        return;
    if (wal_sync(s->wal, on_durable, s) != 0 && !s->disk_failed) {
        s->disk_failed = true;
        srv_log(s, "DISK FAILURE: %s; this server no longer acknowledges "
                   "anything; restart it once the disk is fixed",
                wal_error(s->wal));
    }
}

/* ---- lifecycle ---------------------------------------------------------- */

static int load_state(srv_t *s, char *err, size_t errlen)
{
    char werr[512];
    int rc = wal_open(s->cfg.data_log_dir, NULL, &s->wal, werr, sizeof werr);
    if (rc != 0) {
        snprintf(err, errlen, "%s", werr);
        return -1;
    }
    if (wal_snapshot_zxid(s->wal) != 0) {
        uint64_t at;
        void *buf = NULL;
        size_t len = 0;
        rc = wal_snapshot_load(s->wal, &at, &buf, &len);
        if (rc == 0 && tree_load(buf, len, &s->tree_cfg, &s->tree) != TREE_ZOK)
            rc = WAL_ECORRUPT;
        free(buf);
        if (rc != 0) {
            snprintf(err, errlen, "cannot load the snapshot in %s: %s",
                     s->cfg.data_log_dir,
                     rc == WAL_ECORRUPT ? "corrupt" : zab_strerror(rc));
            return -1;
        }
        srv_log(s, "loaded the snapshot at 0x%" PRIx64 " (%zu nodes)", at,
                tree_node_count(s->tree));
    } else {
        s->tree = tree_new(&s->tree_cfg);
        if (!s->tree) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int make_zab(srv_t *s, char *err, size_t errlen)
{
    static const zab_host_ops_t ops = {
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
    zab_config_t *zc;
    const cfg_t *c = &s->cfg;
    uint64_t tick = (uint64_t)c->tick_time;
    int rc = zab_config_new(&zc);
    if (rc != 0)
        goto fail;
    rc = zab_config_set_id(zc, c->myid);
    if (c->standalone) {
        if (rc == 0)
            rc = zab_config_add_voter(zc, c->myid);
    } else {
        for (size_t i = 0; i < c->nservers && rc == 0; i++)
            rc = c->servers[i].observer
                     ? zab_config_add_observer(zc, c->servers[i].id)
                     : zab_config_add_voter(zc, c->servers[i].id);
    }
    /* ZooKeeper's timing, expressed in libzab's options. */
    if (rc == 0)
        rc = zab_config_set(zc, ZAB_OPT_HEARTBEAT_MS, tick / 2 ? tick / 2 : 1);
    if (rc == 0)
        rc = zab_config_set(zc, ZAB_OPT_PEER_TIMEOUT_MS,
                            tick * (uint64_t)c->sync_limit);
    if (rc == 0)
        rc = zab_config_set(zc, ZAB_OPT_SYNC_TIMEOUT_MS,
                            tick * (uint64_t)c->init_limit);
    if (rc == 0)
        rc = zab_config_set(zc, ZAB_OPT_MAX_PAYLOAD_BYTES,
                            (uint64_t)c->jute_maxbuffer + 65536);
    if (rc == 0)
        rc = zab_config_set(zc, ZAB_OPT_DIFF_MAX, (uint64_t)c->sync_diff_max);
    /* Room for every member's forwarded requests at the global limit. */
    if (rc == 0)
        rc = zab_config_set(zc, ZAB_OPT_MAX_OUTSTANDING,
                            (uint64_t)c->global_outstanding_limit *
                                    (c->nservers ? c->nservers : 1) +
                                4096);
    if (rc == 0)
        rc = zab_new(zc, &ops, s, &s->zab);
    zab_config_free(zc);
    if (rc == 0) {
        uint32_t acc, cur;
        uint64_t last, delivered;
        wal_start_state(s->wal, &acc, &cur, &last, &delivered);
        delivered = (uint64_t)tree_last_zxid(s->tree);
        rc = zab_start(s->zab, acc, cur, last, delivered, s->now);
        srv_log(s, "starting: epochs %u/%u, log up to 0x%" PRIx64
                   ", state at 0x%" PRIx64,
                acc, cur, last, delivered);
    }
    if (rc == 0)
        return 0;
fail:
    snprintf(err, errlen, "cannot start libzab: %s", zab_strerror(rc));
    return -1;
}

int srv_init(srv_t *s, const cfg_t *cfg, int verbose, char *err,
             size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->verbose = verbose;
    s->epfd = -1;
    s->peer_listen.fd = s->client_listen.fd = s->secure_listen.fd = -1;
    const cfg_server_t *me = cfg_self(&s->cfg);
    if (me) {
        s->self_cfg = *me;
        s->self = &s->self_cfg;
    }
    s->now = mono_ms();
    s->role_since_ms = s->now; /* looking since start-up */
    s->incarnation = (uint64_t)wall_ms() << 16 ^ (uint64_t)getpid();
    /* ZooKeeper's session ids: the server id in the top byte, then a
     * counter seeded from the time (SessionTrackerImpl.initializeNextSession
     * Id), so ids from different servers and runs do not collide. */
    s->next_session = (int64_t)(((uint64_t)wall_ms() << 24) >> 8) |
                      (int64_t)((uint64_t)cfg->myid << 56);
    s->rng = s->incarnation | 1;
    next_snap_threshold(s);
    s->next_container_check = s->now + (uint64_t)s->cfg.container_check_ms;
    tree_config_default(&s->tree_cfg);
    s->tree_cfg.max_data = (size_t)cfg->jute_maxbuffer;
    s->tree_cfg.extended_types = cfg->extended_types != 0;
    s->watches = watch_new(0);
    s->sessions = session_tracker_new();
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!s->watches || !s->sessions || s->epfd < 0) {
        snprintf(err, errlen, "out of memory or epoll: %s", strerror(errno));
        return -1;
    }
    /* Unreadable key or trust stores stop the start before the data
     * directory is touched. */
    if (make_tls(s, err, errlen) != 0 || load_state(s, err, errlen) != 0)
        return -1;
    if (rebuild_tracker(s) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (reconfig_adopt_tree(s, true, err, errlen) != 0)
        return -1;
    if (make_zab(s, err, errlen) != 0)
        return -1;
    if (peer_init(s, err, errlen) != 0 || client_init(s, err, errlen) != 0)
        return -1;
    return 0;
}

static void dispatch(srv_t *s, io_t *io, uint32_t events)
{
    switch (io->kind) {
    case IO_CLIENT_LISTEN:
    case IO_SECURE_CLIENT_LISTEN:
        client_accept(s, io);
        break;
    case IO_PEER_LISTEN:
        peer_accept(s);
        break;
    case IO_CLIENT:
        client_event(s, (client_t *)io, events);
        break;
    case IO_PEER:
        peer_event(s, io, events);
        break;
    default:
        break;
    }
}

int srv_run(srv_t *s)
{
    struct epoll_event evs[256];
    uint64_t wake = s->now;
    while (!s->stopping) {
        s->now = mono_ms();
        int timeout = wake > s->now ? (int)(wake - s->now) : 0;
        if (timeout > 1000)
            timeout = 1000;
        int n = epoll_wait(s->epfd, evs, 256, timeout);
        if (n < 0 && errno != EINTR) {
            srv_log(s, "epoll_wait: %s", strerror(errno));
            return -1;
        }
        s->now = mono_ms();
        for (int i = 0; i < n; i++)
            dispatch(s, evs[i].data.ptr, evs[i].events);
        wake = s->now + 1000;
        run_timers(s, &wake);
        client_resume(s);
        /* Proposals leave before our own fsync, so the followers' disks
         * work in parallel with ours. */
        peer_flush(s);
        sync_disk(s);
        if (s->resume_due) /* sessions its commits opened */
            client_resume(s);
        reap_snapshot(s, false);
        if (s->snapshot_due && !s->fatal)
            take_snapshot(s);
        reconfig_converge(s); /* outside libzab's callbacks */
        peer_flush(s);
        client_flush(s);
        if (wal_sync_pending(s->wal))
            wake = s->now;
    }
    sync_disk(s);
    peer_flush(s);
    client_flush(s);
    return s->fatal ? -1 : 0;
}

void srv_destroy(srv_t *s)
{
    reap_snapshot(s, true);
    client_close_all(s, "server shutting down");
    client_flush(s);
    peer_close_all(s);
    zab_free(s->zab);
    if (s->wal)
        wal_sync(s->wal, NULL, NULL);
    wal_close(s->wal);
    tree_free(s->tree);
    watch_free(s->watches);
    session_tracker_free(s->sessions);
    free(s->snap_buf);
    free(s->inflight.v);
    free(s->barriers.v);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->client_listen.fd >= 0)
        close(s->client_listen.fd);
    if (s->secure_listen.fd >= 0)
        close(s->secure_listen.fd);
    if (s->peer_listen.fd >= 0)
        close(s->peer_listen.fd);
    tls_ctx_free(s->tls_client);
    tls_ctx_free(s->tls_quorum);
}
