/*
 * peer.c -- zabd's connections to the other members of the ensemble.
 *
 * One TCP connection per pair of members, on the quorum port.  The member
 * with the higher id connects (as ZooKeeper's QuorumCnxManager keeps only
 * the connection initiated by the larger id), so two members never race
 * to build two connections.  The connector sends HELLO (its id and the id
 * it meant to reach); the acceptor checks both, replaces any older
 * connection from that member, answers HELLO_ACK and reports the peer up
 * to libzab; the connector reports it up on the ACK.  From then on the
 * connection carries libzab frames (a reliable FIFO channel, as libzab
 * requires) and zabd's own session touches.  Any error closes it and
 * libzab hears zab_peer_down; the connector retries with exponential
 * backoff (50 ms doubling to 2 s).
 *
 * With sslQuorum=true every connection is TLS with certificates checked
 * both ways (tls.c): the connector checks that the acceptor's certificate
 * names the host of the member it dialled, and the acceptor, once HELLO
 * says which member is calling, that the connector's certificate names
 * that member's host (ssl.quorum.hostnameVerification; ZooKeeper checks
 * the address the connection comes from instead).  A claimed id is thus
 * backed by a certificate from the trusted CA for that member's host.
 */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define PEER_MAGIC 0x5a414244u /* "ZABD" */
#define PEER_VERSION 1u
#define PEER_HANDSHAKE_MS 5000
#define PEER_BACKOFF_MIN_MS 50
#define PEER_BACKOFF_MAX_MS 2000
#define PEER_MAX_OUT ((size_t)512 << 20)

int peer_member(const srv_t *s, uint32_t id)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (s->members[i].cfg->id == id)
            return (int)i;
    return -1;
}

static size_t max_frame(const srv_t *s)
{
    return (size_t)s->cfg.jute_maxbuffer + 65536 + 1024;
}

static void mark_dirty(srv_t *s, peer_conn_t *pc)
{
    if (!pc->dirty) {
        pc->dirty = true;
        pc->dirty_next = s->dirty_peers;
        s->dirty_peers = pc;
    }
}

static int queue_frame(srv_t *s, peer_conn_t *pc, int type, const void *p,
                       size_t len)
{
    uint8_t head[5];
    if (net_buf_size(&pc->out) + len > PEER_MAX_OUT)
        return -1;
    net_put_u32(head, (uint32_t)(len + 1));
    head[4] = (uint8_t)type;
    if (net_buf_reserve(&pc->out, len + 5) != 0)
        return -1;
    net_buf_append(&pc->out, head, 5);
    net_buf_append(&pc->out, p, len);
    mark_dirty(s, pc);
    return 0;
}

/* Closes a connection.  `tell_zab` is false when libzab already knows
 * (its send callback failed) or never knew (not up yet). */
static void peer_close(srv_t *s, peer_conn_t *pc, const char *why,
                       bool tell_zab)
{
    if (pc->io.fd < 0)
        return;
    int m = pc->id ? peer_member(s, pc->id) : -1;
    if (m >= 0 && s->members[m].conn == pc) {
        s->members[m].conn = NULL;
        if (pc->state == PEER_UP) {
            srv_log(s, "peer %u down: %s", pc->id, why);
            if (tell_zab)
                zab_peer_down(s->zab, pc->id);
        }
        if (pc->outgoing) {
            member_t *mb = &s->members[m];
            mb->next_attempt = s->now + mb->backoff_ms;
            mb->backoff_ms = mb->backoff_ms * 2 > PEER_BACKOFF_MAX_MS
                                 ? PEER_BACKOFF_MAX_MS : mb->backoff_ms * 2;
        }
    }
    /* Unlink from the accepted-but-unidentified list. */
    for (peer_conn_t **pp = &s->pending_peers; *pp; pp = &(*pp)->next)
        if (*pp == pc) {
            *pp = pc->next;
            break;
        }
    srv_io_close(s, &pc->io);
    pc->state = 0;
    /* Freed at the end of the loop turn: events for it may still be in
     * this turn's batch. */
    pc->next = s->dead_peers;
    s->dead_peers = pc;
}

static peer_conn_t *peer_new(srv_t *s, int fd, int outgoing)
{
    peer_conn_t *pc = calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    pc->io.fd = fd;
    pc->io.kind = IO_PEER;
    pc->srv = s;
    pc->outgoing = outgoing;
    pc->opened_ms = s->now;
    return pc;
}

int peer_init(srv_t *s, char *err, size_t errlen)
{
    if (s->cfg.standalone)
        return 0;
    for (size_t i = 0; i < s->cfg.nservers; i++)
        if (s->cfg.servers[i].id != s->cfg.myid)
            peer_add_member(s, &s->cfg.servers[i]);
    s->peer_listen.kind = IO_PEER_LISTEN;
    s->peer_listen.fd =
        net_listen(s->self->host, s->self->quorum_port, err, errlen);
    if (s->peer_listen.fd < 0)
        return -1;
    return srv_epoll_set(s, &s->peer_listen, EPOLLIN);
}

/* The TLS handle of a quorum connection (sslQuorum); false when out of
 * memory.  The connector names the host its peer's certificate must
 * match; the acceptor checks after HELLO (on_hello). */
static bool start_tls(srv_t *s, peer_conn_t *pc, const char *addr, int port,
                      const char *host)
{
    char peer[320];
    if (!s->tls_quorum)
        return true;
    snprintf(peer, sizeof peer, "%s:%d", addr, port);
    pc->io.tls = tls_conn_new(s->tls_quorum, pc->io.fd, !pc->outgoing, peer,
                              host);
    return pc->io.tls != NULL;
}

void peer_accept(srv_t *s)
{
    for (;;) {
        char addr[64];
        int port = 0;
        int fd = net_accept(s->peer_listen.fd, addr, sizeof addr, &port);
        if (fd < 0)
            return;
        peer_conn_t *pc = peer_new(s, fd, 0);
        if (!pc || !start_tls(s, pc, addr, port, NULL)) {
            free(pc);
            close(fd);
            continue;
        }
        pc->state = PEER_HELLO_WAIT;
        pc->next = s->pending_peers;
        s->pending_peers = pc;
        srv_epoll_set(s, &pc->io, EPOLLIN);
    }
}

static void send_hello(srv_t *s, peer_conn_t *pc, int type)
{
    uint8_t b[16];
    net_put_u32(b, PEER_MAGIC);
    net_put_u32(b + 4, PEER_VERSION);
    net_put_u32(b + 8, s->cfg.myid);
    net_put_u32(b + 12, pc->id);
    queue_frame(s, pc, type, b, type == PEER_HELLO ? 16 : 12);
}

static void peer_up(srv_t *s, peer_conn_t *pc)
{
    int m = peer_member(s, pc->id);
    char tls[384] = "";
    pc->state = PEER_UP;
    s->members[m].conn = pc;
    s->members[m].backoff_ms = PEER_BACKOFF_MIN_MS;
    if (pc->io.tls) {
        memcpy(tls, ", ", 3);
        tls_conn_describe(pc->io.tls, tls + 2, sizeof tls - 2);
    }
    srv_log(s, "peer %u up (%s%s)", pc->id,
            pc->outgoing ? "connected" : "accepted", tls);
    zab_peer_up(s->zab, pc->id);
}

/* The acceptor's side of the handshake. */
static int on_hello(srv_t *s, peer_conn_t *pc, const uint8_t *p, size_t n)
{
    if (n != 16 || net_get_u32(p) != PEER_MAGIC ||
        net_get_u32(p + 4) != PEER_VERSION)
        return -1;
    uint32_t from = net_get_u32(p + 8), to = net_get_u32(p + 12);
    int m = peer_member(s, from);
    if (m < 0 || to != s->cfg.myid || from < s->cfg.myid) {
        srv_log(s, "refusing a peer connection claiming id %u (for %u)",
                from, to);
        return -1;
    }
    if (pc->io.tls &&
        !tls_conn_peer_matches(pc->io.tls, s->members[m].cfg->host)) {
        char tls[320];
        tls_conn_describe(pc->io.tls, tls, sizeof tls);
        srv_log(s, "refusing a peer connection claiming id %u: its "
                   "certificate does not name server.%u's host %s (%s)",
                from, from, s->members[m].cfg->host, tls);
        return -1;
    }
    for (peer_conn_t **pp = &s->pending_peers; *pp; pp = &(*pp)->next)
        if (*pp == pc) {
            *pp = pc->next;
            break;
        }
    pc->next = NULL;
    if (s->members[m].conn)
        peer_close(s, s->members[m].conn, "replaced by a new connection",
                   true);
    pc->id = from;
    send_hello(s, pc, PEER_HELLO_ACK);
    peer_up(s, pc);
    return 0;
}

static void on_touch(srv_t *s, const uint8_t *p, size_t n)
{
    if (n < 4)
        return;
    uint32_t k = net_get_u32(p);
    if ((size_t)k > (n - 4) / 8)
        return;
    if (!(s->serving && s->role == ZAB_LEADING))
        return;
    for (uint32_t i = 0; i < k; i++) {
        const uint8_t *q = p + 4 + 8 * (size_t)i;
        uint64_t id = (uint64_t)net_get_u32(q) << 32 | net_get_u32(q + 4);
        session_touch(s->sessions, (int64_t)id, s->now);
    }
}

/* One whole frame.  Returns -1 to close the connection. */
static int on_frame(srv_t *s, peer_conn_t *pc, int type, const uint8_t *p,
                    size_t n)
{
    switch (pc->state) {
    case PEER_HELLO_WAIT:
        if (!pc->outgoing && type == PEER_HELLO)
            return on_hello(s, pc, p, n);
        if (pc->outgoing && type == PEER_HELLO_ACK && n == 12 &&
            net_get_u32(p) == PEER_MAGIC && net_get_u32(p + 8) == pc->id) {
            peer_up(s, pc);
            return 0;
        }
        return -1;
    case PEER_UP:
        if (type == PEER_ZAB) {
            int rc = zab_recv(s->zab, pc->id, p, n);
            if (rc == ZAB_EPROTO) {
                s->stats.malformed_peer++;
                return -1;
            }
            return 0;
        }
        if (type == PEER_TOUCH) {
            on_touch(s, p, n);
            return 0;
        }
        s->stats.malformed_peer++;
        return -1;
    default:
        return -1;
    }
}

static void peer_read(srv_t *s, peer_conn_t *pc)
{
    size_t budget = 4u << 20; /* per event, so one peer cannot starve */
    while (budget > 0 && pc->io.fd >= 0) {
        long r = srv_io_read(&pc->io, &pc->in, 256u << 10);
        if (r < 0) {
            peer_close(s, pc, errno ? strerror(errno) : "closed by peer",
                       true);
            return;
        }
        if (r == 0)
            break;
        budget = (size_t)r >= budget ? 0 : budget - (size_t)r;
        while (pc->io.fd >= 0 && net_buf_size(&pc->in) >= 5) {
            const uint8_t *p = pc->in.p + pc->in.off;
            size_t len = net_get_u32(p);
            if (len == 0 || len > max_frame(s)) {
                s->stats.malformed_peer++;
                peer_close(s, pc, "bad frame length", true);
                return;
            }
            if (net_buf_size(&pc->in) < 4 + len)
                break;
            int rc = on_frame(s, pc, p[4], p + 5, len - 1);
            if (pc->io.fd < 0)
                return;
            net_buf_consume(&pc->in, 4 + len);
            if (rc != 0) {
                peer_close(s, pc, "protocol error", true);
                return;
            }
        }
    }
}

void peer_event(srv_t *s, io_t *io, uint32_t events)
{
    peer_conn_t *pc = (peer_conn_t *)io;
    if (io->fd < 0)
        return;
    if (pc->state == PEER_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int e = net_connect_result(io->fd);
        if (e != 0) {
            peer_close(s, pc, strerror(e), false);
            return;
        }
        const cfg_server_t *sv = s->members[peer_member(s, pc->id)].cfg;
        if (!start_tls(s, pc, sv->host, sv->quorum_port, sv->host)) {
            peer_close(s, pc, "out of memory", false);
            return;
        }
        pc->state = PEER_HELLO_WAIT;
        send_hello(s, pc, PEER_HELLO);
        srv_epoll_set(s, io, EPOLLIN);
        return;
    }
    /* TLS: either direction may move on any event (see client_event). */
    if (io->tls)
        events |= EPOLLIN | EPOLLOUT;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        peer_read(s, pc);
    if (io->fd >= 0 && (events & EPOLLOUT))
        mark_dirty(s, pc);
}

int peer_send(srv_t *s, uint32_t id, int type, const void *p, size_t len)
{
    int m = peer_member(s, id);
    if (m < 0)
        return ZAB_EINVAL;
    peer_conn_t *pc = s->members[m].conn;
    if (!pc || pc->state != PEER_UP)
        return ZAB_ESTATE;
    if (queue_frame(s, pc, type, p, len) != 0) {
        /* libzab treats the connection as broken: close it without
         * calling back into libzab from inside its callback. */
        peer_close(s, pc, "send queue full", false);
        return ZAB_EBUSY;
    }
    return 0;
}

static void connect_member(srv_t *s, member_t *m)
{
    char err[256];
    int fd = net_connect(m->cfg->host, m->cfg->quorum_port, err, sizeof err);
    if (fd < 0) {
        /* Back off like a failed connect (a name that does not resolve
         * must not be retried every 50 ms). */
        m->next_attempt = s->now + m->backoff_ms;
        m->backoff_ms = m->backoff_ms * 2 > PEER_BACKOFF_MAX_MS
                            ? PEER_BACKOFF_MAX_MS : m->backoff_ms * 2;
        return;
    }
    peer_conn_t *pc = peer_new(s, fd, 1);
    if (!pc) {
        close(fd);
        return;
    }
    pc->id = m->cfg->id;
    pc->state = PEER_CONNECTING;
    m->conn = pc;
    srv_epoll_set(s, &pc->io, EPOLLOUT);
}

void peer_timers(srv_t *s, uint64_t *next_wake)
{
    for (size_t i = 0; i < s->nmembers; i++) {
        member_t *m = &s->members[i];
        peer_conn_t *pc = m->conn;
        if (pc && pc->state != PEER_UP &&
            s->now - pc->opened_ms > PEER_HANDSHAKE_MS)
            peer_close(s, pc, "handshake timed out", false);
        if (m->cfg->id < s->cfg.myid && !m->conn) {
            if (s->now >= m->next_attempt)
                connect_member(s, m);
            else if (m->next_attempt < *next_wake)
                *next_wake = m->next_attempt;
        }
    }
    for (peer_conn_t *pc = s->pending_peers, *nx; pc; pc = nx) {
        nx = pc->next;
        if (s->now - pc->opened_ms > PEER_HANDSHAKE_MS)
            peer_close(s, pc, "no hello", false);
    }
}

void peer_flush(srv_t *s)
{
    peer_conn_t *pc = s->dirty_peers;
    s->dirty_peers = NULL;
    while (pc) {
        peer_conn_t *nx = pc->dirty_next;
        pc->dirty = false;
        pc->dirty_next = NULL;
        if (pc->io.fd >= 0 && pc->state != PEER_CONNECTING) {
            if (srv_io_write(&pc->io, &pc->out) != 0) {
                peer_close(s, pc, strerror(errno), true);
            } else {
                uint32_t want = EPOLLIN;
                if (net_buf_size(&pc->out) > 0)
                    want |= EPOLLOUT;
                srv_epoll_set(s, &pc->io, want);
            }
        }
        pc = nx;
    }
    /* Closed connections are off the dirty list (consumed above, and a
     * closed one is never marked again). */
    while (s->dead_peers) {
        peer_conn_t *d = s->dead_peers;
        s->dead_peers = d->next;
        net_buf_free(&d->in);
        net_buf_free(&d->out);
        free(d);
    }
}

void peer_close_all(srv_t *s)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (s->members[i].conn)
            peer_close(s, s->members[i].conn, "shutting down", false);
    while (s->pending_peers)
        peer_close(s, s->pending_peers, "shutting down", false);
    s->dirty_peers = NULL;
    peer_flush(s);
}

void peer_add_member(srv_t *s, const cfg_server_t *sv)
{
    s->member_cfg[sv->id] = *sv;
    member_t *m = &s->members[s->nmembers++];
    memset(m, 0, sizeof *m);
    m->cfg = &s->member_cfg[sv->id];
    m->backoff_ms = PEER_BACKOFF_MIN_MS;
}

void peer_remove_member(srv_t *s, uint32_t id)
{
    int m = peer_member(s, id);
    if (m < 0)
        return;
    if (s->members[m].conn)
        peer_close(s, s->members[m].conn, "removed from the ensemble",
                   false);
    /* A connection accepted but not yet identified is refused at its
     * hello, as from any stranger. */
    memmove(&s->members[m], &s->members[m + 1],
            (s->nmembers - (size_t)m - 1) * sizeof *s->members);
    s->nmembers--;
}
