/*
 * client.c -- zabd's client connections: ZooKeeper's client protocol.
 *
 * A connection starts with a ConnectRequest (or a four-letter word).  A new
 * session is a createSession command through libzab; a reconnecting one is
 * checked after a read barrier, so a member that lags behind cannot call a
 * live session expired.  Then requests flow in a per-connection FIFO:
 * reads run against the local tree when they reach its head, writes are
 * proposed as commands and answered when they commit (server.c applies
 * them), and replies leave in request order -- ZooKeeper's guarantee that
 * a session sees its own writes and replies in order.  Watch notifications
 * go out as soon as the change that fires them is applied.
 *
 * Throttling: at most globalOutstandingLimit requests are in progress in
 * the whole server; beyond that, buffered input waits (as ZooKeeper stops
 * reading from sockets).
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cmd.h"
#include "jute.h"
#include "sasl.h"

#define CLIENT_MAX_OUT ((size_t)64 << 20)
/* Room for the longest path the tree accepts (4096 bytes) and its NUL. */
#define CLIENT_PATH_MAX 4097
/* Bytes read per call: small, so an idle connection holds little. */
#define CLIENT_READ_CHUNK ((size_t)16 << 10)
#define CLIENT_HANDSHAKE_MS 10000

static void pump(srv_t *s, client_t *c);
static void process_input(srv_t *s, client_t *c);

static jute_stat_t to_jute(const tree_stat_t *st)
{
    jute_stat_t j;
    j.czxid = st->czxid;
    j.mzxid = st->mzxid;
    j.ctime = st->ctime;
    j.mtime = st->mtime;
    j.version = st->version;
    j.cversion = st->cversion;
    j.aversion = st->aversion;
    j.ephemeral_owner = st->ephemeral_owner;
    j.data_length = st->data_length;
    j.num_children = st->num_children;
    j.pzxid = st->pzxid;
    return j;
}

static void mark_dirty(srv_t *s, client_t *c)
{
    if (!c->dirty && !c->closed) {
        c->dirty = true;
        c->dirty_next = s->dirty_clients;
        s->dirty_clients = c;
    }
}

static void send_bytes(srv_t *s, client_t *c, const void *p, size_t n)
{
    if (c->closed)
        return;
    if (net_buf_size(&c->out) + n > CLIENT_MAX_OUT ||
        net_buf_append(&c->out, p, n) != 0) {
        client_close(s, c, "client does not read its replies");
        return;
    }
    c->packets_out++;
    s->stats.packets_out++;
    mark_dirty(s, c);
}

/* ---- reply encoding ------------------------------------------------------- */

static void reply_begin(jute_writer_t *w, size_t *mark, int32_t xid,
                        int64_t zxid, int32_t err)
{
    jute_reply_header_t h = { xid, zxid, err };
    jute_writer_init(w, 0);
    *mark = jute_packet_begin(w);
    jute_write_reply_header(w, &h);
}

static int reply_end(jute_writer_t *w, size_t mark, uint8_t **out,
                     size_t *len)
{
    if (jute_packet_end(w, mark) != JUTE_OK) {
        jute_writer_free(w);
        return -1;
    }
    *out = w->buf;
    *len = w->len;
    return 0;
}

static void send_writer(srv_t *s, client_t *c, jute_writer_t *w,
                        size_t mark)
{
    if (jute_packet_end(w, mark) == JUTE_OK)
        send_bytes(s, c, w->buf, w->len);
    else
        client_close(s, c, "cannot encode a reply");
    jute_writer_free(w);
}

static void send_error(srv_t *s, client_t *c, int32_t xid, int32_t err)
{
    jute_writer_t w;
    size_t mark;
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), err);
    send_writer(s, c, &w, mark);
}

static int32_t op_type_at(jute_iter_t *it, bool *more)
{
    jute_op_t op;
    *more = jute_op_next(it, &op);
    return *more ? op.type : 0;
}

int client_encode_result(srv_t *s, const uint8_t *request,
                         size_t request_len, int32_t type,
                         const tree_result_t *res, int err, uint8_t **out,
                         size_t *len)
{
    jute_writer_t w;
    size_t mark;
    int32_t xid = 0;
    jute_reader_t r;
    jute_request_t req;
    bool have_req = false;

    jute_reader_init(&r, request, request_len, NULL);
    if (request_len && jute_read_request(&r, &req) == JUTE_OK) {
        have_req = true;
        xid = req.hdr.xid;
    } else if (request_len >= 8) {
        jute_request_header_t h;
        jute_reader_init(&r, request, request_len, NULL);
        if (jute_read_request_header(&r, &h) == JUTE_OK)
            xid = h.xid;
    }
    int64_t zxid = tree_last_zxid(s->tree);
    if (type == JUTE_OP_MULTI && res->type == TREE_OP_MULTI && have_req) {
        reply_begin(&w, &mark, xid, zxid, 0);
        jute_iter_t it;
        jute_multi_iter(&req.u.multi, &it);
        for (size_t i = 0; i < res->nsub; i++) {
            const tree_result_t *sr = &res->sub[i];
            jute_op_result_t o;
            bool more;
            int32_t ot = op_type_at(&it, &more);
            memset(&o, 0, sizeof o);
            if (sr->type == TREE_OP_ERROR) {
                o.type = JUTE_OP_ERROR;
                o.err = sr->err;
            } else {
                /* As FinalRequestProcessor: a create2 op answers as
                 * create (path only), createTTL and createContainer as
                 * create2 (path and stat). */
                o.type = ot == JUTE_OP_CREATETTL ||
                                 ot == JUTE_OP_CREATECONTAINER
                             ? JUTE_OP_CREATE2 : sr->type;
                o.path = jute_str(sr->path);
                if (sr->has_stat)
                    o.stat = to_jute(&sr->stat);
            }
            jute_write_op_result(&w, &o);
        }
        jute_write_multi_end(&w);
        return reply_end(&w, mark, out, len);
    }
    if (res->type == TREE_OP_ERROR && err == 0)
        err = res->err;
    reply_begin(&w, &mark, xid, zxid, err);
    if (err == 0) {
        jute_stat_t st;
        memset(&st, 0, sizeof st);
        if (res->has_stat)
            st = to_jute(&res->stat);
        switch (type) {
        case JUTE_OP_CREATE: {
            jute_path_t p = { jute_str(res->path) };
            jute_write_path(&w, &p);
            break;
        }
        case JUTE_OP_CREATE2:
        case JUTE_OP_CREATETTL:
        case JUTE_OP_CREATECONTAINER: {
            jute_create2_response_t cr = { jute_str(res->path), st };
            jute_write_create2_response(&w, &cr);
            break;
        }
        case JUTE_OP_SETDATA:
        case JUTE_OP_SETACL:
        case JUTE_OP_CHECK: {
            jute_stat_response_t sr = { st };
            jute_write_stat_response(&w, &sr);
            break;
        }
        case JUTE_OP_RECONFIG: {
            /* The new configuration and the Stat of /zookeeper/config. */
            const uint8_t *d = NULL;
            size_t dlen = 0;
            tree_get_data(s->tree, "/zookeeper/config", NULL, &d, &dlen,
                          NULL);
            jute_get_data_response_t gr = {
                { d, d ? (int32_t)dlen : -1 }, st
            };
            jute_write_get_data_response(&w, &gr);
            break;
        }
        default:
            break; /* delete, closeSession: the header alone */
        }
    }
    return reply_end(&w, mark, out, len);
}

/* ---- connection lifecycle -------------------------------------------------- */

static int listen_clients(srv_t *s, io_t *io, int kind, const char *host,
                          int port, char *err, size_t errlen)
{
    io->kind = kind;
    io->fd = net_listen(host, port, err, errlen);
    if (io->fd < 0)
        return -1;
    srv_log(s, "serving clients on %s:%d%s", *host ? host : "*", port,
            kind == IO_SECURE_CLIENT_LISTEN ? " (TLS)" : "");
    return srv_epoll_set(s, io, EPOLLIN);
}

/* The plaintext client port (absent on a TLS-only server) and the
 * secureClientPort. */
int client_init(srv_t *s, char *err, size_t errlen)
{
    const char *host = s->cfg.client_address;
    int port = s->cfg.client_port;
    if (s->self && s->self->client_port) {
        port = s->self->client_port;
        if (s->self->client_host[0])
            host = s->self->client_host;
    }
    if (port && listen_clients(s, &s->client_listen, IO_CLIENT_LISTEN, host,
                               port, err, errlen) != 0)
        return -1;
    if (s->tls_client &&
        listen_clients(s, &s->secure_listen, IO_SECURE_CLIENT_LISTEN,
                       s->cfg.secure_client_address,
                       s->cfg.secure_client_port, err, errlen) != 0)
        return -1;
    return 0;
}

static size_t clients_from(const srv_t *s, const char *addr)
{
    size_t n = 0;
    for (const client_t *c = s->clients; c; c = c->next)
        n += strcmp(c->addr, addr) == 0;
    return n;
}

static int add_id(client_t *c, const char *scheme, const char *id)
{
    if (c->nids == CLIENT_MAX_IDS)
        return -1;
    for (size_t i = 0; i < c->nids; i++)
        if (!strcmp(c->ids[i].scheme, scheme) && !strcmp(c->ids[i].id, id))
            return 0;
    char *a = strdup(scheme), *b = strdup(id);
    if (!a || !b) {
        free(a);
        free(b);
        return -1;
    }
    c->ids[c->nids].scheme = a;
    c->ids[c->nids].id = b;
    c->nids++;
    return 0;
}

/* The TLS handle of a connection accepted on the secure port; false
 * when out of memory. */
static bool start_tls(srv_t *s, client_t *c)
{
    char peer[96];
    snprintf(peer, sizeof peer, "%s:%d", c->addr, c->port);
    c->io.tls = tls_conn_new(s->tls_client, c->io.fd, true, peer, NULL);
    return c->io.tls != NULL;
}

void client_accept(srv_t *s, io_t *listener)
{
    for (;;) {
        char addr[64];
        int port = 0;
        int fd = net_accept(listener->fd, addr, sizeof addr, &port);
        if (fd < 0)
            return;
        if (s->cfg.max_client_cnxns > 0 &&
            clients_from(s, addr) >= (size_t)s->cfg.max_client_cnxns) {
            /* NIOServerCnxnFactory: "Too many connections from IP". */
            srv_log(s, "too many connections from %s (max %d)", addr,
                    s->cfg.max_client_cnxns);
            s->stats.clients_refused++;
            close(fd);
            continue;
        }
        client_t *c = calloc(1, sizeof *c);
        if (!c || add_id(c, "ip", addr) != 0) {
            free(c);
            close(fd);
            continue;
        }
        c->io.fd = fd;
        c->io.kind = IO_CLIENT;
        c->srv = s;
        c->id = ++s->next_client_id;
        c->state = CLIENT_HANDSHAKE;
        c->connected_ms = s->now;
        c->last_zxid = -1;
        c->last_cxid = -1;
        snprintf(c->addr, sizeof c->addr, "%s", addr);
        c->port = port;
        c->next = s->clients;
        if (s->clients)
            s->clients->prev = c;
        s->clients = c;
        s->nclients++;
        if (listener->kind == IO_SECURE_CLIENT_LISTEN && !start_tls(s, c)) {
            client_close(s, c, "out of memory");
            continue;
        }
        srv_epoll_set(s, &c->io, EPOLLIN);
    }
}

static void free_queue(srv_t *s, client_t *c)
{
    while (c->head) {
        creq_t *q = c->head;
        c->head = q->next;
        free(q->pkt);
        free(q->reply);
        free(q);
        s->outstanding--;
    }
    c->tail = NULL;
    c->queued = 0;
}

/* A connection heard from since the last report is closing: its session's
 * last activity is reported all the same (the leader touches it at once),
 * else the leader would expire it up to a report interval early. */
static void touch_closed(srv_t *s, int64_t session)
{
    if (s->serving && s->role == ZAB_LEADING) {
        session_touch(s->sessions, session, s->now);
        return;
    }
    if (s->nclosed_touches == sizeof s->closed_touches /
                                 sizeof s->closed_touches[0])
        client_touch_report(s); /* full: send what we have now */
    s->closed_touches[s->nclosed_touches++] = session;
}

void client_close(srv_t *s, client_t *c, const char *why)
{
    if (c->closed)
        return;
    if (s->verbose > 0 || c->session)
        srv_log(s, "closing connection %s%s0x%" PRIx64 ": %s", c->addr,
                c->session ? " session " : " ", (uint64_t)c->session, why);
    if (c->session && c->touched && c->state != CLIENT_HANDSHAKE)
        touch_closed(s, c->session);
    srv_io_close(s, &c->io);
    c->closed = true;
    watch_remove_handle(s->watches, (watch_handle_t)(uintptr_t)c);
    free_queue(s, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nclients--;
    c->next = s->dead_clients;
    s->dead_clients = c;
}

void client_release(srv_t *s, client_t *c)
{
    (void)s;
    if (c->refs)
        c->refs--;
}

void client_close_all(srv_t *s, const char *why)
{
    while (s->clients)
        client_close(s, s->clients, why);
}

void client_read_only_sweep(srv_t *s)
{
    for (client_t *c = s->clients, *nx; c; c = nx) {
        nx = c->next;
        uint64_t last = c->last_rx_ms > c->connected_ms ? c->last_rx_ms
                                                        : c->connected_ms;
        if (c->read_only && !c->closed &&
            s->now - last > (uint64_t)c->timeout)
            client_close(s, c, "read-only session timed out");
    }
}

static void reap(srv_t *s)
{
    client_t **pp = &s->dead_clients;
    while (*pp) {
        client_t *c = *pp;
        if (c->refs) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        for (size_t i = 0; i < c->nids; i++) {
            free(c->ids[i].scheme);
            free(c->ids[i].id);
        }
        free(c->sasl);
        net_buf_free(&c->in);
        net_buf_free(&c->out);
        free(c);
    }
}

void client_flush(srv_t *s)
{
    client_t *c = s->dirty_clients;
    s->dirty_clients = NULL;
    while (c) {
        client_t *nx = c->dirty_next;
        c->dirty = false;
        c->dirty_next = NULL;
        if (!c->closed) {
            if (srv_io_write(&c->io, &c->out) != 0) {
                client_close(s, c, "write failed");
            } else if (net_buf_size(&c->out) == 0 &&
                       c->state == CLIENT_CLOSING) {
                client_close(s, c, "closed after the last reply");
            } else {
                uint32_t want = c->state == CLIENT_CLOSING ? 0 : EPOLLIN;
                if (net_buf_size(&c->out) > 0)
                    want |= EPOLLOUT;
                srv_epoll_set(s, &c->io, want ? want : EPOLLOUT);
            }
        }
        c = nx;
    }
    /* Handshakes that never finish are dropped. */
    for (client_t *k = s->clients, *nx; k; k = nx) {
        nx = k->next;
        if (k->state == CLIENT_HANDSHAKE &&
            s->now - k->connected_ms > CLIENT_HANDSHAKE_MS)
            client_close(s, k, "no ConnectRequest");
    }
    reap(s);
}

client_t *client_by_session(srv_t *s, int64_t session)
{
    for (client_t *c = s->clients; c; c = c->next)
        if (c->session == session && c->state != CLIENT_HANDSHAKE)
            return c;
    return NULL;
}

/* ---- the queue ---------------------------------------------------------- */

static creq_t *enqueue(srv_t *s, client_t *c, int state, int32_t xid,
                       int32_t type)
{
    creq_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->state = state;
    q->xid = xid;
    q->type = type;
    q->started_ms = s->now;
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    c->queued++;
    s->outstanding++;
    return q;
}

static void dequeue(srv_t *s, client_t *c)
{
    creq_t *q = c->head;
    c->head = q->next;
    if (!c->head)
        c->tail = NULL;
    c->queued--;
    s->outstanding--;
    uint64_t lat = s->now - q->started_ms;
    s->stats.lat_count++;
    s->stats.lat_sum += lat;
    if (s->stats.lat_count == 1 || lat < s->stats.lat_min)
        s->stats.lat_min = lat;
    if (lat > s->stats.lat_max)
        s->stats.lat_max = lat;
    free(q->pkt);
    free(q->reply);
    free(q);
}

static creq_t *find_req(client_t *c, uint64_t seq)
{
    for (creq_t *q = c->head; q; q = q->next)
        if (q->state == CREQ_WAIT && q->seq == seq)
            return q;
    return NULL;
}

void client_write_done(srv_t *s, client_t *c, uint64_t seq, uint8_t *reply,
                       size_t len, bool close_after)
{
    creq_t *q = c->closed ? NULL : find_req(c, seq);
    if (!q) {
        free(reply);
        return;
    }
    q->state = CREQ_DONE;
    q->reply = reply;
    q->reply_len = len;
    q->close_after = close_after;
    pump(s, c);
}

/* ---- reads ------------------------------------------------------------------- */

/* A path from the wire as a C string in buf; false if it has a NUL or is
 * too long (BADARGUMENTS, as FinalRequestProcessor answers a NUL). */
static bool cpath(jute_str_t p, char *buf, size_t cap)
{
    if (p.len < 0 || (size_t)p.len >= cap || memchr(p.s, '\0', (size_t)p.len))
        return false;
    memcpy(buf, p.s, (size_t)p.len);
    buf[p.len] = '\0';
    return true;
}

static watch_handle_t handle_of(client_t *c)
{
    return (watch_handle_t)(uintptr_t)c;
}

static acl_auth_t auth_of(const client_t *c)
{
    acl_auth_t a = { c->ids, c->nids };
    return a;
}

static void reply_stat_only(srv_t *s, client_t *c, int32_t xid,
                            const tree_stat_t *st)
{
    jute_writer_t w;
    size_t mark;
    jute_stat_response_t r = { to_jute(st) };
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), 0);
    jute_write_stat_response(&w, &r);
    send_writer(s, c, &w, mark);
}

static void do_exists(srv_t *s, client_t *c, int32_t xid, const char *path,
                      bool watch)
{
    tree_stat_t st;
    if (watch)
        watch_add(s->watches, handle_of(c), path, WATCH_DATA);
    if (tree_exists(s->tree, path, &st) != TREE_ZOK) {
        send_error(s, c, xid, JUTE_ZNONODE);
        return;
    }
    reply_stat_only(s, c, xid, &st);
}

static void do_get_data(srv_t *s, client_t *c, int32_t xid, const char *path,
                        bool watch)
{
    acl_auth_t who = auth_of(c);
    const uint8_t *data;
    size_t len;
    tree_stat_t st;
    int rc = tree_get_data(s->tree, path, &who, &data, &len, &st);
    if (rc != TREE_ZOK) {
        send_error(s, c, xid, rc);
        return;
    }
    if (watch)
        watch_add(s->watches, handle_of(c), path, WATCH_DATA);
    jute_writer_t w;
    size_t mark;
    /* NULL data is ZooKeeper's null value: length -1 on the wire. */
    jute_get_data_response_t r = {
        { data, data ? (int32_t)len : -1 }, to_jute(&st)
    };
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), 0);
    jute_write_get_data_response(&w, &r);
    send_writer(s, c, &w, mark);
}

/* Children as a jute string vector over the tree's names. */
static jute_str_t *strs_of(char **names, size_t n)
{
    jute_str_t *v = calloc(n ? n : 1, sizeof *v);
    if (v)
        for (size_t i = 0; i < n; i++)
            v[i] = jute_str(names[i]);
    return v;
}

static void do_get_children(srv_t *s, client_t *c, int32_t xid,
                            const char *path, bool watch, bool with_stat)
{
    acl_auth_t who = auth_of(c);
    char **names = NULL;
    size_t n = 0;
    tree_stat_t st;
    int rc = tree_get_children(s->tree, path, &who, &names, &n, &st);
    if (rc != TREE_ZOK) {
        send_error(s, c, xid, rc);
        return;
    }
    if (watch)
        watch_add(s->watches, handle_of(c), path, WATCH_CHILD);
    jute_str_t *v = strs_of(names, n);
    jute_writer_t w;
    size_t mark;
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), 0);
    if (with_stat) {
        jute_get_children2_response_t r = { jute_strvec(v, (int32_t)n),
                                            to_jute(&st) };
        jute_write_get_children2_response(&w, &r);
    } else {
        jute_strlist_response_t r = { jute_strvec(v, (int32_t)n) };
        jute_write_strlist_response(&w, &r);
    }
    if (!v)
        w.err = JUTE_ENOMEM;
    send_writer(s, c, &w, mark);
    free(v);
    tree_strv_free(names, n);
}

static void do_get_acl(srv_t *s, client_t *c, int32_t xid, const char *path)
{
    acl_auth_t who = auth_of(c);
    acl_list_t acl;
    tree_stat_t st;
    acl_list_init(&acl);
    int rc = tree_get_acl(s->tree, path, &who, &acl, &st);
    if (rc != TREE_ZOK) {
        send_error(s, c, xid, rc);
        return;
    }
    jute_acl_t *v = calloc(acl.n ? acl.n : 1, sizeof *v);
    jute_writer_t w;
    size_t mark;
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), 0);
    if (v) {
        for (size_t i = 0; i < acl.n; i++) {
            v[i].perms = acl.v[i].perms;
            v[i].scheme = jute_str(acl.v[i].id.scheme);
            v[i].id = jute_str(acl.v[i].id.id);
        }
        jute_get_acl_response_t r = { jute_aclvec(v, (int32_t)acl.n),
                                      to_jute(&st) };
        jute_write_get_acl_response(&w, &r);
    } else {
        w.err = JUTE_ENOMEM;
    }
    send_writer(s, c, &w, mark);
    free(v);
    acl_list_free(&acl);
}

static void reply_strings(srv_t *s, client_t *c, int32_t xid, char **v,
                          size_t n)
{
    jute_str_t *js = strs_of(v, n);
    jute_writer_t w;
    size_t mark;
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), 0);
    jute_strlist_response_t r = { jute_strvec(js, (int32_t)n) };
    jute_write_strlist_response(&w, &r);
    if (!js)
        w.err = JUTE_ENOMEM;
    send_writer(s, c, &w, mark);
    free(js);
}

static void reply_int(srv_t *s, client_t *c, int32_t xid, int32_t value)
{
    jute_writer_t w;
    size_t mark;
    jute_int_response_t r = { value };
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), 0);
    jute_write_int_response(&w, &r);
    send_writer(s, c, &w, mark);
}

static void do_whoami(srv_t *s, client_t *c, int32_t xid)
{
    jute_client_info_t v[CLIENT_MAX_IDS];
    char users[CLIENT_MAX_IDS][ACL_MAX_STR + 1];
    for (size_t i = 0; i < c->nids; i++) {
        /* AuthUtil.getClientInfos: the scheme and the provider's user
         * name (a digest id's user part). */
        const char *id = c->ids[i].id;
        const char *colon = strchr(id, ':');
        size_t n = (!strcmp(c->ids[i].scheme, "digest") && colon)
                       ? (size_t)(colon - id) : strlen(id);
        if (n > ACL_MAX_STR)
            n = ACL_MAX_STR;
        memcpy(users[i], id, n);
        users[i][n] = '\0';
        v[i].auth_scheme = jute_str(c->ids[i].scheme);
        v[i].user = jute_str(users[i]);
    }
    jute_writer_t w;
    size_t mark;
    jute_whoami_response_t r = { jute_infovec(v, (int32_t)c->nids) };
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), 0);
    jute_write_whoami_response(&w, &r);
    send_writer(s, c, &w, mark);
}

static void do_multi_read(srv_t *s, client_t *c, int32_t xid,
                          const jute_multi_t *m)
{
    acl_auth_t who = auth_of(c);
    jute_writer_t w;
    size_t mark;
    jute_iter_t it;
    jute_op_t op;
    char path[CLIENT_PATH_MAX];
    reply_begin(&w, &mark, xid, tree_last_zxid(s->tree), 0);
    jute_multi_iter(m, &it);
    while (jute_op_next(&it, &op)) {
        jute_op_result_t o;
        memset(&o, 0, sizeof o);
        if (!cpath(op.u.path_watch.path, path, sizeof path)) {
            o.type = JUTE_OP_ERROR;
            o.err = JUTE_ZBADARGUMENTS;
            jute_write_op_result(&w, &o);
            continue;
        }
        if (op.type == JUTE_OP_GETDATA) {
            const uint8_t *data;
            size_t len;
            tree_stat_t st;
            int rc = tree_get_data(s->tree, path, &who, &data, &len, &st);
            if (rc == TREE_ZOK) {
                if (op.u.path_watch.watch)
                    watch_add(s->watches, handle_of(c), path, WATCH_DATA);
                o.type = JUTE_OP_GETDATA;
                o.data.data = data;
                o.data.len = data ? (int32_t)len : -1;
                o.stat = to_jute(&st);
            } else {
                o.type = JUTE_OP_ERROR;
                o.err = rc;
            }
            jute_write_op_result(&w, &o);
        } else {
            char **names = NULL;
            size_t n = 0;
            tree_stat_t st;
            int rc = tree_get_children(s->tree, path, &who, &names, &n, &st);
            jute_str_t *v = NULL;
            if (rc == TREE_ZOK) {
                if (op.u.path_watch.watch)
                    watch_add(s->watches, handle_of(c), path, WATCH_CHILD);
                v = strs_of(names, n);
                o.type = JUTE_OP_GETCHILDREN;
                o.children = jute_strvec(v, (int32_t)n);
                if (!v)
                    w.err = JUTE_ENOMEM;
            } else {
                o.type = JUTE_OP_ERROR;
                o.err = rc;
            }
            jute_write_op_result(&w, &o);
            free(v);
            tree_strv_free(names, n);
        }
    }
    jute_write_multi_end(&w);
    send_writer(s, c, &w, mark);
}

/* DataTree.setWatches: re-arm the watches a reconnecting client had,
 * firing at once those whose node changed after relativeZxid. */
static void do_set_watches(srv_t *s, client_t *c, const jute_set_watches_t *sw)
{
    jute_iter_t it;
    jute_str_t p;
    char path[CLIENT_PATH_MAX];
    tree_stat_t st;
    int64_t rz = sw->relative_zxid;
    watch_handle_t h = handle_of(c);

    jute_strvec_iter(&sw->data_watches, &it);
    while (jute_str_next(&it, &p)) {
        if (!cpath(p, path, sizeof path))
            continue;
        if (tree_exists(s->tree, path, &st) != TREE_ZOK)
            client_send_event(s, c, TREE_EV_DELETED, path);
        else if (st.mzxid > rz)
            client_send_event(s, c, TREE_EV_DATA_CHANGED, path);
        else
            watch_add(s->watches, h, path, WATCH_DATA);
    }
    jute_strvec_iter(&sw->exist_watches, &it);
    while (jute_str_next(&it, &p)) {
        if (!cpath(p, path, sizeof path))
            continue;
        if (tree_exists(s->tree, path, &st) == TREE_ZOK)
            client_send_event(s, c, TREE_EV_CREATED, path);
        else
            watch_add(s->watches, h, path, WATCH_DATA);
    }
    jute_strvec_iter(&sw->child_watches, &it);
    while (jute_str_next(&it, &p)) {
        if (!cpath(p, path, sizeof path))
            continue;
        if (tree_exists(s->tree, path, &st) != TREE_ZOK)
            client_send_event(s, c, TREE_EV_DELETED, path);
        else if (st.pzxid > rz)
            client_send_event(s, c, TREE_EV_CHILDREN_CHANGED, path);
        else
            watch_add(s->watches, h, path, WATCH_CHILD);
    }
    jute_strvec_iter(&sw->persistent_watches, &it);
    while (jute_str_next(&it, &p))
        if (cpath(p, path, sizeof path))
            watch_add_persistent(s->watches, h, path,
                                 WATCH_ADD_PERSISTENT);
    jute_strvec_iter(&sw->persistent_recursive_watches, &it);
    while (jute_str_next(&it, &p))
        if (cpath(p, path, sizeof path))
            watch_add_persistent(s->watches, h, path,
                                 WATCH_ADD_PERSISTENT_RECURSIVE);
}

/* Runs a request that needs no replication, against the local tree. */
static void exec_local(srv_t *s, client_t *c, const uint8_t *pkt, size_t len)
{
    jute_reader_t r;
    jute_request_t req;
    jute_limits_t lim;
    char path[CLIENT_PATH_MAX];
    jute_limits_default(&lim);
    lim.max_buffer = s->cfg.jute_maxbuffer;
    jute_reader_init(&r, pkt, len, &lim);
    if (jute_read_request(&r, &req) != JUTE_OK) {
        send_error(s, c, req.hdr.xid, JUTE_ZMARSHALLINGERROR);
        return;
    }
    int32_t xid = req.hdr.xid;
    switch (req.hdr.type) {
    case JUTE_OP_PING: {
        jute_writer_t w;
        size_t mark;
        reply_begin(&w, &mark, JUTE_XID_PING, tree_last_zxid(s->tree), 0);
        send_writer(s, c, &w, mark);
        return;
    }
    case JUTE_OP_EXISTS:
    case JUTE_OP_GETDATA:
    case JUTE_OP_GETCHILDREN:
    case JUTE_OP_GETCHILDREN2:
        if (!cpath(req.u.path_watch.path, path, sizeof path)) {
            send_error(s, c, xid, JUTE_ZBADARGUMENTS);
            return;
        }
        if (req.hdr.type == JUTE_OP_EXISTS)
            do_exists(s, c, xid, path, req.u.path_watch.watch);
        else if (req.hdr.type == JUTE_OP_GETDATA)
            do_get_data(s, c, xid, path, req.u.path_watch.watch);
        else
            do_get_children(s, c, xid, path, req.u.path_watch.watch,
                            req.hdr.type == JUTE_OP_GETCHILDREN2);
        return;
    case JUTE_OP_GETACL:
    case JUTE_OP_GETALLCHILDRENNUMBER:
    case JUTE_OP_GETEPHEMERALS: {
        if (!cpath(req.u.path.path.len < 0 ? JUTE_STR("") : req.u.path.path,
                   path, sizeof path)) {
            send_error(s, c, xid, JUTE_ZBADARGUMENTS);
            return;
        }
        if (req.hdr.type == JUTE_OP_GETACL) {
            do_get_acl(s, c, xid, path);
        } else if (req.hdr.type == JUTE_OP_GETALLCHILDRENNUMBER) {
            acl_auth_t who = auth_of(c);
            int32_t n = 0;
            int rc = tree_all_children_number(s->tree, path, &who, &n);
            if (rc != TREE_ZOK)
                send_error(s, c, xid, rc);
            else
                reply_int(s, c, xid, n);
        } else {
            char **v = NULL;
            size_t n = 0;
            if (tree_get_ephemerals(s->tree, c->session,
                                    path[0] ? path : NULL, &v,
                                    &n) != TREE_ZOK) {
                send_error(s, c, xid, JUTE_ZSYSTEMERROR);
                return;
            }
            reply_strings(s, c, xid, v, n);
            tree_strv_free(v, n);
        }
        return;
    }
    case JUTE_OP_CHECKWATCHES:
    case JUTE_OP_REMOVEWATCHES:
    case JUTE_OP_ADDWATCH: {
        if (!cpath(req.u.path_int.path, path, sizeof path)) {
            send_error(s, c, xid, JUTE_ZBADARGUMENTS);
            return;
        }
        int v = req.u.path_int.value, rc = 0;
        if (req.hdr.type == JUTE_OP_ADDWATCH) {
            if (v != WATCH_ADD_PERSISTENT &&
                v != WATCH_ADD_PERSISTENT_RECURSIVE) {
                send_error(s, c, xid, JUTE_ZBADARGUMENTS);
                return;
            }
            if (watch_add_persistent(s->watches, handle_of(c), path, v) !=
                WATCH_OK) {
                send_error(s, c, xid, JUTE_ZSYSTEMERROR);
                return;
            }
            reply_int(s, c, xid, 0); /* ErrorResponse(0), as 3.8 */
            return;
        }
        if (req.hdr.type == JUTE_OP_CHECKWATCHES)
            rc = watch_check(s->watches, handle_of(c), path, v)
                     ? 0 : JUTE_ZNOWATCHER;
        else
            rc = watch_remove(s->watches, handle_of(c), path, v);
        send_error(s, c, xid, rc);
        return;
    }
    case JUTE_OP_WHOAMI:
        do_whoami(s, c, xid);
        return;
    case JUTE_OP_MULTIREAD:
        do_multi_read(s, c, xid, &req.u.multi);
        return;
    case JUTE_OP_SETWATCHES:
    case JUTE_OP_SETWATCHES2:
        do_set_watches(s, c, &req.u.set_watches);
        send_error(s, c, JUTE_XID_SET_WATCHES, 0);
        return;
    case JUTE_OP_RECONFIG:
        /* Not replicated (see handle_request): refused as ZooKeeper's
         * PrepRequestProcessor does, reconfigEnabled first. */
        send_error(s, c, xid, s->cfg.reconfig_enabled
                                  ? JUTE_ZUNIMPLEMENTED /* standalone */
                                  : JUTE_ZRECONFIGDISABLED);
        return;
    default:
        send_error(s, c, xid, JUTE_ZUNIMPLEMENTED);
        return;
    }
}

/* Sends what is ready at the head of the queue, in order. */
static void pump(srv_t *s, client_t *c)
{
    while (!c->closed && c->head) {
        creq_t *q = c->head;
        if (q->state == CREQ_WAIT)
            return;
        if (q->state == CREQ_READY) {
            exec_local(s, c, q->pkt, q->pkt_len);
        } else {
            send_bytes(s, c, q->reply, q->reply_len);
            if (q->close_after && !c->closed)
                c->state = CLIENT_CLOSING;
        }
        if (c->closed)
            return;
        dequeue(s, c);
    }
}

/* ---- writes and syncs ------------------------------------------------------ */

static bool is_write(int32_t type)
{
    switch (type) {
    case JUTE_OP_CREATE:
    case JUTE_OP_CREATE2:
    case JUTE_OP_CREATECONTAINER:
    case JUTE_OP_CREATETTL:
    case JUTE_OP_DELETE:
    case JUTE_OP_SETDATA:
    case JUTE_OP_SETACL:
    case JUTE_OP_CHECK:
    case JUTE_OP_MULTI:
    case JUTE_OP_CLOSESESSION:
        return true;
    default:
        return false;
    }
}

/* The request went to libzab as command `seq` (rc 0): its reply waits
 * for the commit, in its place in the session's queue. */
static void await_commit(srv_t *s, client_t *c, int32_t xid, int32_t type,
                         int rc, uint64_t seq)
{
    if (rc != 0) {
        /* No leader, or its queue is full: the client must retry, which
         * it does on a lost connection (the outcome is then "unknown",
         * and here it is "not applied"). */
        client_close(s, c, zab_strerror(rc));
        return;
    }
    creq_t *q = enqueue(s, c, CREQ_WAIT, xid, type);
    if (!q) {
        client_close(s, c, "out of memory");
        return;
    }
    q->seq = seq;
}

static void start_write(srv_t *s, client_t *c, int32_t xid, int32_t type,
                        const uint8_t *pkt, size_t len)
{
    uint64_t seq = 0;
    int32_t ctype = type == JUTE_OP_CLOSESESSION ? TREE_OP_CLOSE_SESSION
                                                 : type;
    int rc = srv_propose_cmd(s, c, ctype, 0, 0, pkt, len, INFLIGHT_WRITE,
                             &seq);
    await_commit(s, c, xid, type, rc, seq);
}

/* A write whose command carries this server's plan (reconfig.c). */
static void start_reconfig(srv_t *s, client_t *c, int32_t xid,
                           const uint8_t *pkt, size_t len,
                           const jute_reconfig_request_t *rq)
{
    uint64_t seq = 0;
    int rc = reconfig_propose(s, c, pkt, len, rq, &seq);
    await_commit(s, c, xid, JUTE_OP_RECONFIG, rc, seq);
}

static void start_sync(srv_t *s, client_t *c, int32_t xid,
                       const uint8_t *pkt, size_t len)
{
    creq_t *q = enqueue(s, c, CREQ_WAIT, xid, JUTE_OP_SYNC);
    if (!q || !(q->pkt = malloc(len))) {
        client_close(s, c, "out of memory");
        return;
    }
    memcpy(q->pkt, pkt, len);
    q->pkt_len = len;
    q->seq = ++s->next_seq;
    inflight_t e = { q->seq, c, INFLIGHT_SYNC };
    if (inflight_push(&s->barriers, &e) != 0) {
        client_close(s, c, "out of memory");
        return;
    }
    c->refs++;
    int rc = zab_read_barrier(s->zab, q->seq);
    if (rc != 0) {
        /* The entry stays on the ring (its client reference is dropped
         * when a later barrier completes or fails). */
        client_close(s, c, zab_strerror(rc));
    }
}

void client_sync_done(srv_t *s, client_t *c, uint64_t seq, int status)
{
    creq_t *q = c->closed ? NULL : find_req(c, seq);
    if (!q)
        return;
    if (status != 0) {
        client_close(s, c, "sync failed: leader changed");
        return;
    }
    jute_reader_t r;
    jute_request_t req;
    jute_writer_t w;
    size_t mark;
    jute_reader_init(&r, q->pkt, q->pkt_len, NULL);
    jute_read_request(&r, &req);
    reply_begin(&w, &mark, q->xid, tree_last_zxid(s->tree), 0);
    jute_write_path(&w, &req.u.path);
    if (jute_packet_end(&w, mark) != JUTE_OK) {
        jute_writer_free(&w);
        client_close(s, c, "cannot encode a reply");
        return;
    }
    q->state = CREQ_DONE;
    q->reply = w.buf;
    q->reply_len = w.len;
    pump(s, c);
}

/* ---- requests ---------------------------------------------------------------- */

static void do_auth(srv_t *s, client_t *c, const jute_auth_packet_t *a)
{
    char scheme[64];
    char digest[ACL_MAX_STR + 64];
    if (a->scheme.len == 6 && !memcmp(a->scheme.s, "digest", 6) &&
        a->auth.len > 0 &&
        acl_digest((const char *)a->auth.data, (size_t)a->auth.len, digest,
                   sizeof digest) > 0 &&
        strlen(digest) <= ACL_MAX_STR &&
        add_id(c, "digest", digest) == 0) {
        if (s->cfg.super_digest[0] && !strcmp(digest, s->cfg.super_digest))
            add_id(c, "super", "");
        send_error(s, c, JUTE_XID_AUTH, 0);
        return;
    }
    /* Unknown scheme or bad credentials: AUTHFAILED, then the connection
     * is closed (ZooKeeperServer.processPacket). */
    snprintf(scheme, sizeof scheme, "%.*s",
             a->scheme.len > 0 ? (int)a->scheme.len : 0,
             a->scheme.s ? a->scheme.s : "");
    srv_log(s, "authentication failed for scheme '%s' from %s", scheme,
            c->addr);
    send_error(s, c, JUTE_XID_AUTH, JUTE_ZAUTHFAILED);
    c->state = CLIENT_CLOSING;
}

/* A read-only session (ZooKeeper's ReadOnlyRequestProcessor): what would
 * change the tree, and sync, which needs a leader, fail with NOTREADONLY;
 * closeSession is answered and the connection closed, the global session
 * left to expire once a leader is back.  True if the request was handled.
 * Nothing is ever queued on a read-only connection, so answering at once
 * keeps the session's order. */
static bool read_only_refused(srv_t *s, client_t *c, int32_t xid,
                              int32_t type)
{
    if (type == JUTE_OP_CLOSESESSION) {
        send_error(s, c, xid, JUTE_ZOK);
        c->state = CLIENT_CLOSING;
        return true;
    }
    if (is_write(type) || type == JUTE_OP_SYNC || type == JUTE_OP_RECONFIG) {
        send_error(s, c, xid, JUTE_ZNOTREADONLY);
        return true;
    }
    return false;
}

/* ZooKeeperServer.processSasl: one token in, one out (sasl.c does the
 * DIGEST-MD5 exchange).  Success adds ("sasl", user), and "super" for a
 * zookeeper.superUser, to the connection's identities; a failure, or SASL
 * not configured, is answered AUTHFAILED with a null token and the
 * connection is closed.  The reply header's zxid is 0, as ZooKeeper's. */
static void do_sasl(srv_t *s, client_t *c, int32_t xid,
                    const jute_sasl_t *req)
{
    uint8_t out[SASL_TOKEN_MAX];
    size_t n = 0;
    int rc = SASL_EFAIL;
    const char *why = "SASL is not configured (no JAAS Server section)";
    if (s->sasl && !c->sasl && (c->sasl = malloc(sizeof *c->sasl)))
        sasl_digest_init(c->sasl, SASL_SERVICE, SASL_SERVER_NAME);
    if (s->sasl && !c->sasl)
        why = "out of memory";
    if (s->sasl && c->sasl)
        rc = sasl_digest_step(c->sasl, s->sasl, req->token.data,
                              req->token.len > 0 ? (size_t)req->token.len : 0,
                              NULL, out, sizeof out, &n, &why);
    if (rc == SASL_OK && add_id(c, "sasl", c->sasl->user) != 0) {
        rc = SASL_EFAIL;
        why = "too many identities on the connection";
    }
    jute_writer_t w;
    jute_reply_header_t h = { xid, 0, rc == SASL_EFAIL ? JUTE_ZAUTHFAILED : 0 };
    jute_sasl_t r = { { out, rc == SASL_EFAIL ? -1 : (int32_t)n } };
    jute_writer_init(&w, 0);
    size_t mark = jute_packet_begin(&w);
    jute_write_reply_header(&w, &h);
    jute_write_sasl(&w, &r);
    send_writer(s, c, &w, mark);
    const char *user = c->sasl && c->sasl->user[0] ? c->sasl->user : "";
    if (rc == SASL_EFAIL) {
        s->stats.sasl_failed++;
        srv_log(s, "SASL authentication failed for session 0x%" PRIx64
                   " from %s%s%s%s: %s", (uint64_t)c->session, c->addr,
                *user ? " (user '" : "", user, *user ? "')" : "", why);
        c->state = CLIENT_CLOSING;
    } else if (rc == SASL_OK) {
        s->stats.sasl_ok++;
        bool super = sasl_server_is_super(s->sasl, user) &&
                     add_id(c, "super", "") == 0;
        srv_log(s, "session 0x%" PRIx64 " from %s: SASL DIGEST-MD5 "
                   "authenticated '%s'%s", (uint64_t)c->session, c->addr,
                user, super ? " (super user)" : "");
    }
}

static void handle_request(srv_t *s, client_t *c, const uint8_t *pkt,
                           size_t len)
{
    jute_reader_t r;
    jute_request_t req;
    jute_limits_t lim;
    jute_limits_default(&lim);
    lim.max_buffer = s->cfg.jute_maxbuffer;
    jute_reader_init(&r, pkt, len, &lim);
    int rc = jute_read_request(&r, &req);
    c->last_cxid = req.hdr.xid;
    if (rc == JUTE_EOP) {
        send_error(s, c, req.hdr.xid, JUTE_ZUNIMPLEMENTED);
        return;
    }
    if (rc != JUTE_OK) {
        s->stats.malformed_client++;
        client_close(s, c, "malformed request");
        return;
    }
    if (c->read_only && read_only_refused(s, c, req.hdr.xid, req.hdr.type))
        return;
    switch (req.hdr.type) {
    case JUTE_OP_AUTH:
        do_auth(s, c, &req.u.auth);
        return;
    case JUTE_OP_SASL:
        do_sasl(s, c, req.hdr.xid, &req.u.sasl);
        return;
    case JUTE_OP_SYNC:
        start_sync(s, c, req.hdr.xid, pkt, len);
        return;
    default:
        break;
    }
    if (is_write(req.hdr.type)) {
        start_write(s, c, req.hdr.xid, req.hdr.type, pkt, len);
        return;
    }
    if (req.hdr.type == JUTE_OP_RECONFIG && s->cfg.reconfig_enabled &&
        !s->cfg.standalone) {
        start_reconfig(s, c, req.hdr.xid, pkt, len, &req.u.reconfig);
        return;
    }
    if (!c->head) {
        /* Nothing ahead of it: answer now, without copying. */
        exec_local(s, c, pkt, len);
        return;
    }
    creq_t *q = enqueue(s, c, CREQ_READY, req.hdr.xid, req.hdr.type);
    if (!q || !(q->pkt = malloc(len))) {
        client_close(s, c, "out of memory");
        return;
    }
    memcpy(q->pkt, pkt, len);
    q->pkt_len = len;
}

/* ---- the handshake ---------------------------------------------------------- */

static void send_connect_response(srv_t *s, client_t *c, bool valid)
{
    uint8_t pw[16];
    jute_writer_t w;
    memset(pw, 0, sizeof pw);
    if (valid)
        session_password(s->cfg.session_secret, c->session, pw);
    jute_connect_response_t r = {
        0, valid ? c->timeout : 0, valid ? c->session : 0,
        { pw, 16 }, c->has_read_only, c->read_only
    };
    jute_writer_init(&w, 0);
    size_t mark = jute_packet_begin(&w);
    jute_write_connect_response(&w, &r);
    send_writer(s, c, &w, mark);
}

void client_session_ready(srv_t *s, client_t *c, bool valid)
{
    if (c->closed || c->state != CLIENT_SESSION_WAIT)
        return;
    send_connect_response(s, c, valid);
    if (!valid) {
        srv_log(s, "session 0x%" PRIx64 " from %s is expired or invalid",
                (uint64_t)c->session, c->addr);
        c->state = CLIENT_CLOSING;
        return;
    }
    /* A client that reconnects to us drops its older connection here. */
    for (client_t *o = s->clients, *nx; o; o = nx) {
        nx = o->next;
        if (o != c && o->session == c->session && o->state != CLIENT_HANDSHAKE)
            client_close(s, o, "session moved to a new connection");
    }
    c->state = CLIENT_OPEN;
    c->touched = true;
    if (s->serving && s->role == ZAB_LEADING)
        session_touch(s->sessions, c->session, s->now);
    /* Requests a client sent behind its ConnectRequest without waiting
     * (Java's client does) run from the loop, not from here: this runs
     * inside libzab's deliver callback, where a write cannot be
     * proposed. */
    s->resume_due = true;
}

/* The request's password is its session's (derived from the id). */
static bool password_ok(const srv_t *s, const jute_connect_request_t *req)
{
    uint8_t pw[16];
    session_password(s->cfg.session_secret, req->session_id, pw);
    return req->passwd.len == 16 && memcmp(req->passwd.data, pw, 16) == 0;
}

/* A read-only session, decided here without a quorum (ZooKeeper's
 * ReadOnlyZooKeeperServer): a known session with the right password keeps
 * its id; a new one gets an id of ours that no leader has heard of, so it
 * is not valid on a server with a quorum, as in ZooKeeper, whose clients
 * ask a read-write server for a new session then. */
static void connect_read_only(srv_t *s, client_t *c,
                              const jute_connect_request_t *req)
{
    c->read_only = true;
    if (req->session_id == 0) {
        c->session = s->next_session++;
        client_session_ready(s, c, true);
        return;
    }
    c->session = req->session_id;
    client_session_ready(s, c,
                         password_ok(s, req) &&
                             tree_session_get(s->tree, c->session, NULL));
}

static void handle_connect(srv_t *s, client_t *c, const uint8_t *pkt,
                           size_t len)
{
    jute_reader_t r;
    jute_connect_request_t req;
    jute_reader_init(&r, pkt, len, NULL);
    if (jute_read_connect_request(&r, &req) != JUTE_OK) {
        s->stats.malformed_client++;
        client_close(s, c, "malformed ConnectRequest");
        return;
    }
    bool read_only = false;
    if (!s->serving) {
        if (!s->read_only || !req.has_read_only || !req.read_only) {
            client_close(s, c, s->read_only
                                   ? "read-only mode: the client did not "
                                     "ask for a read-only session"
                                   : "not serving: no leader yet");
            return;
        }
        read_only = true;
    }
    if (req.last_zxid_seen > tree_last_zxid(s->tree)) {
        srv_log(s, "refusing session from %s: it has seen zxid 0x%" PRIx64
                   ", our last is 0x%" PRIx64 "; it must try another server",
                c->addr, (uint64_t)req.last_zxid_seen,
                (uint64_t)tree_last_zxid(s->tree));
        client_close(s, c, "client is ahead of this server");
        return;
    }
    int32_t t = req.timeout;
    if (t < s->cfg.min_session_timeout)
        t = s->cfg.min_session_timeout;
    if (t > s->cfg.max_session_timeout)
        t = s->cfg.max_session_timeout;
    c->timeout = t;
    c->has_read_only = req.has_read_only;
    c->state = CLIENT_SESSION_WAIT;
    if (read_only) {
        connect_read_only(s, c, &req);
        return;
    }
    if (req.session_id == 0) {
        uint64_t seq;
        c->session = s->next_session++;
        int rc = srv_propose_cmd(s, c, TREE_OP_CREATE_SESSION, t, 0, NULL,
                                 0, INFLIGHT_SESSION, &seq);
        if (rc != 0)
            client_close(s, c, zab_strerror(rc));
        return;
    }
    c->session = req.session_id;
    if (!password_ok(s, &req)) {
        client_session_ready(s, c, false);
        return;
    }
    /* Reattach through a replicated command: it is checked in commit
     * order (a session created or closed on another member is seen), and
     * every server learns that the session now lives here. */
    uint64_t seq;
    int rc = srv_propose_cmd(s, c, SRV_OP_REVALIDATE, 0, 0, NULL, 0,
                             INFLIGHT_REVALIDATE, &seq);
    if (rc != 0)
        client_close(s, c, zab_strerror(rc));
}

/* ---- input ---------------------------------------------------------------------- */

static void process_input_loop(srv_t *s, client_t *c);

/* Handling a packet can complete a barrier at once (a single voter) and
 * call back here; the running loop then simply goes on. */
static void process_input(srv_t *s, client_t *c)
{
    if (c->in_input)
        return;
    c->in_input = true;
    process_input_loop(s, c);
    c->in_input = false;
}

static void process_input_loop(srv_t *s, client_t *c)
{
    while (!c->closed && c->state != CLIENT_CLOSING &&
           c->state != CLIENT_SESSION_WAIT) {
        size_t avail = net_buf_size(&c->in);
        const uint8_t *p = c->in.p + c->in.off;
        if (c->state == CLIENT_HANDSHAKE && avail >= 4 &&
            c->packets_in == 0) {
            net_buf_t out = { 0 };
            if (fourlw_handle(s, p, avail, &out)) {
                send_bytes(s, c, out.p + out.off, net_buf_size(&out));
                net_buf_free(&out);
                c->state = CLIENT_CLOSING;
                return;
            }
        }
        if (c->state == CLIENT_OPEN &&
            s->outstanding >= (size_t)s->cfg.global_outstanding_limit)
            return; /* resumed by client_resume */
        size_t body;
        int rc = jute_frame_check(p, avail, s->cfg.jute_maxbuffer, &body);
        if (rc == 0)
            return;
        if (rc < 0) {
            s->stats.malformed_client++;
            client_close(s, c, "packet length error (jute.maxbuffer)");
            return;
        }
        c->packets_in++;
        s->stats.packets_in++;
        c->touched = true;
        c->last_rx_ms = s->now;
        if (c->state == CLIENT_HANDSHAKE) {
            handle_connect(s, c, p + 4, body);
        } else {
            handle_request(s, c, p + 4, body);
        }
        net_buf_consume(&c->in, 4 + body);
        pump(s, c);
    }
}

void client_event(srv_t *s, client_t *c, uint32_t events)
{
    if (c->closed)
        return;
    /* Either direction of a TLS connection may move on any event (a read
     * may have waited for the socket to be writable, a write for it to
     * be readable): try both; the flush registers what TLS needs next. */
    if (c->io.tls)
        events |= (c->state == CLIENT_CLOSING ? 0 : EPOLLIN) | EPOLLOUT;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        long n = srv_io_read(&c->io, &c->in, CLIENT_READ_CHUNK);
        if (n < 0) {
            client_close(s, c, errno ? strerror(errno)
                                     : "connection closed by client");
            return;
        }
        process_input(s, c);
    }
    if (!c->closed && (events & EPOLLOUT))
        mark_dirty(s, c);
}

void client_resume(srv_t *s)
{
    s->resume_due = false;
    if (s->outstanding >= (size_t)s->cfg.global_outstanding_limit)
        return;
    for (client_t *c = s->clients, *nx; c; c = nx) {
        nx = c->next;
        if (c->state == CLIENT_OPEN && net_buf_size(&c->in) >= 4)
            process_input(s, c);
    }
}

/* ---- watches and session liveness --------------------------------------------- */

void client_send_event(srv_t *s, client_t *c, int32_t type, const char *path)
{
    jute_writer_t w;
    if (c->closed || c->state != CLIENT_OPEN)
        return;
    jute_watcher_event_t ev = { type, JUTE_STATE_SYNC_CONNECTED,
                                jute_str(path) };
    jute_writer_init(&w, 0);
    if (jute_write_notification(&w, &ev) == JUTE_OK)
        send_bytes(s, c, w.buf, w.len);
    jute_writer_free(&w);
}

/* Adds a session to the touch report being built in buf (n entries so
 * far), sending a full batch; the leader touches its own tracker. */
static void touch_one(srv_t *s, uint8_t *buf, uint32_t *n, int64_t id)
{
    if (s->serving && s->role == ZAB_LEADING) {
        session_touch(s->sessions, id, s->now);
        return;
    }
    uint8_t *q = buf + 4 + 8 * (size_t)*n;
    net_put_u32(q, (uint32_t)((uint64_t)id >> 32));
    net_put_u32(q + 4, (uint32_t)id);
    if (++*n == 512) {
        net_put_u32(buf, *n);
        peer_send(s, s->leader, PEER_TOUCH, buf, 4 + 8 * (size_t)*n);
        *n = 0;
    }
}

void client_touch_report(srv_t *s)
{
    uint8_t buf[4 + 8 * 512];
    uint32_t n = 0;
    for (size_t i = 0; i < s->nclosed_touches; i++)
        touch_one(s, buf, &n, s->closed_touches[i]);
    s->nclosed_touches = 0;
    for (client_t *c = s->clients; c; c = c->next) {
        if (c->state != CLIENT_OPEN || !c->touched)
            continue;
        c->touched = false;
        touch_one(s, buf, &n, c->session);
    }
    if (n && s->serving && s->leader) {
        net_put_u32(buf, n);
        peer_send(s, s->leader, PEER_TOUCH, buf, 4 + 8 * (size_t)n);
    }
}
