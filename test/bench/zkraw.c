/*
 * zkraw.c -- a lightweight load generator for ZooKeeper-compatible servers
 * that speaks the client wire protocol itself (no client library).
 *
 *     cc -O2 -g -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
 *        -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wvla \
 *        -Wformat=2 -Wundef -D_POSIX_C_SOURCE=200809L \
 *        test/bench/zkraw.c -o build/zkraw
 *
 *     zkraw [options] HOST:PORT[,HOST:PORT...]
 *
 * Why a second generator: zkload (Apache's C client) spends several
 * microseconds of CPU per request in the library (a send() per request,
 * two threads per session handing each completion over with a mutex and a
 * condition variable).  On a small machine the generator then takes most
 * of the CPU and the servers are measured at the client's limit, not at
 * their own.  zkraw costs well under a microsecond per request: one thread,
 * epoll, every session's requests for one loop turn written with one
 * write(), every reply that arrived read with one read().
 *
 * What it does: N sessions (-n, default 8), session i on server i mod (the
 * number of servers given), each keeping D requests in flight (-d, default
 * 64): each reply issues the next request on its session.  Workloads (-w):
 *
 *   get  GetData (no watch) of random nodes among -k nodes PREFIX/k-<i>
 *        (default 1000, PREFIX from -p, default /zkload).
 *   set  SetData (version -1) of the same nodes with -b bytes (default 100).
 *
 * Before the load: connect every session (ConnectRequest: protocol 0, no
 * session id, a zero password, not read-only), create PREFIX and the -k
 * nodes (an existing node is fine, as in zkload, which creates the same
 * ones), then Sync on every session so that every server has them.  Then
 * -W seconds of warm-up (default 1, not measured), -t seconds (default 5)
 * measured, then no new requests: what is in flight is waited for (a
 * request without a reply after max(10 s, session timeout) is "stuck").
 * Then every session is closed (CloseSession), so that the servers do not
 * carry the sessions until they expire.
 *
 * Replies are checked, so that the numbers are a measurement and not a
 * firehose: on each session the replies must come in request order (the
 * xid of the oldest request in flight), a successful reply must carry a
 * zxid no lower than the session's previous one, and its body must have
 * exactly the expected length: GetData returns -b bytes, equal to the data
 * written (byte by byte), and a Stat whose dataLength says -b; SetData
 * returns a Stat with dataLength -b.  A reply with a non-zero err, a
 * malformed or out-of-order reply, a lost connection (its requests in
 * flight are counted as failed; the session is not reopened), a session the
 * server refuses and a stuck request are all errors: the line then says
 * status=ERRORS and stderr has the breakdown.  Pings (xid -2) are sent on
 * a session that has sent nothing for a third of its timeout.
 *
 * Latency: from the write() that carried the request (CLOCK_MONOTONIC just
 * before it) to the read() that returned its reply (just after it); every
 * successful reply read during the measurement counts as an op.  p50, p90,
 * p99, p99.9 and max are nearest-rank over all of them.  max_gap_ms is the
 * longest time one session, with requests in flight, saw no reply during
 * the measurement; -S MS lists every such stall of MS ms or more on stderr.
 * cpu_cores is the CPU (user + system) zkraw itself used during the
 * measurement, in cores; with -P PID,... also server_cpu_cores, the CPU
 * those processes (the servers) used in exactly the same window, read from
 * /proc/PID/stat (10 ms ticks).
 *
 * Output: one line on stdout, the keys of zkload's line:
 *
 *   workload=get sessions=8 depth=64 secs=5.000 ops=... ops_per_s=...
 *   avg_us=... p50_us=... p90_us=... p99_us=... p999_us=... max_us=...
 *   max_gap_ms=... cpu_cores=... [server_cpu_cores=...] errors=0 stuck=0
 *   disconnects=0 expired=0 status=ok
 *
 * What it costs and what limits it: about 0.1-0.15 us of CPU per get on
 * the 2-core development machine (a quarter of a core at 2 million gets/s),
 * most of it in the kernel's loopback TCP.  It keeps exactly D requests in
 * flight per session (a closed loop): latency is then the servers' queue
 * plus one loop turn of zkraw, and by Little's law ops/s = in flight /
 * mean latency.  It does not reconnect: a lost connection ends that
 * session's share of the load and the run is an error.
 *
 * Exit status: 0 ok, 1 the run had errors, 2 bad usage or the load could
 * not start (then the line says status=SETUP_FAILED).
 *
 * The encodings (jute): int and long big-endian, boolean one byte, buffer
 * and ustring an int length then the bytes, every frame preceded by its
 * 4-byte length; records as in ZooKeeper's zookeeper.jute (ConnectRequest,
 * ConnectResponse, RequestHeader, ReplyHeader, CreateRequest, GetData-,
 * SetData-, SyncRequest and their responses, Stat).  Written here from
 * those definitions, not shared with zabd's codec (examples/server/jute.c),
 * so that a mistake in one is not mirrored by the other.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOSTS 64
#define MAX_PIDS 16
#define PATH_LEN 256
#define NERR 256                    /* ZooKeeper error codes are -1..-255 */
#define FRAME_MAX ((uint32_t)1 << 20) /* the largest reply accepted */
#define READ_MIN ((size_t)64 << 10) /* free room asked of each read() */

/* Op codes and special xids (ZooDefs.OpCode, ClientCnxn). */
enum {
    OP_CREATE = 1,
    OP_GETDATA = 4,
    OP_SETDATA = 5,
    OP_SYNC = 9,
    OP_PING = 11,
    OP_CLOSE = -11
};
enum { XID_WATCH = -1, XID_PING = -2 };
enum { ZE_NODEEXISTS = -110, ZE_CONNLOSS = -4 };

/* A Stat is 68 bytes; its dataLength field sits at offset 52. */
enum { STAT_LEN = 68, STAT_DATALEN_AT = 52 };

enum { W_GET, W_SET };
enum { PH_SETUP, PH_WARM, PH_MEASURE, PH_DRAIN };
enum { S_CONNECTING, S_HANDSHAKE, S_OPEN, S_CLOSING, S_DEAD };

/* What a request in flight was for: how its reply is checked. */
enum { K_CREATE, K_SYNC, K_GET, K_SET, K_CLOSE };

typedef struct {
    uint8_t *p;
    size_t off, len, cap; /* bytes [off, len) are pending */
} buf_t;

typedef struct {
    int32_t xid;
    int kind;
    uint64_t t0; /* 0 until the write() that carries it */
} pending_t;

typedef struct {
    int id;
    int fd;
    int state;
    const char *host;
    uint32_t events; /* registered with epoll */
    int64_t session_id; /* in messages, to match the servers' logs */
    int timeout_ms;
    buf_t in, out;
    pending_t *ring; /* requests in flight, oldest first */
    size_t head, count, cap, unstamped;
    int32_t next_xid;
    int64_t last_zxid;
    uint64_t rng;
    uint64_t last_send;
    int lanes;           /* load requests in flight */
    uint64_t last_reply; /* stall monitor: the last reply, or the start */
    struct timespec last_reply_rt;
    int setup_rc;        /* the first unexpected err of a setup request */
} sess_t;

static struct {
    /* options */
    const char *hosts;
    int nsess, depth, workload, nkeys, datalen, timeout_ms;
    double secs, warm, stall_report_ms;
    const char *prefix;
    long pids[MAX_PIDS]; /* -P: the servers, for server_cpu_cores */
    int npids;
    /* state */
    int epfd;
    int phase;
    char *data;
    uint8_t *keys; /* every key's path as a ustring, key_stride apart */
    size_t key_stride;
    sess_t *sess;
    struct sockaddr_storage addr[MAX_HOSTS];
    socklen_t addrlen[MAX_HOSTS];
    char *host[MAX_HOSTS];
    int nhosts;
    /* results */
    uint64_t *lat;
    size_t nlat, caplat;
    uint64_t max_gap;
    uint64_t errs[NERR]; /* server err codes, by -err */
    uint64_t bad_reply, bad_order, bad_zxid, lost, disconnects, expired;
} g;

static const char *const wname[] = {"get", "set"};

/* ---- time, memory ------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time (user + system) this process has used, in seconds. */
static double cpu_secs(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU time (user + system) the processes of -P have used, in seconds:
 * the servers' share of the machine during exactly the measured window
 * (the caller could only see the whole run, setup and sorting included). */
static double server_cpu_secs(void)
{
    double ticks = 0;
    for (int i = 0; i < g.npids; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%ld/stat", g.pids[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            return -1;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* After "(comm) ": state is the 1st field, utime the 12th. */
        char *p = strrchr(buf, ')');
        unsigned long ut, st;
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                         "%*u %lu %lu", &ut, &st) != 2)
            return -1;
        ticks += (double)ut + (double)st;
    }
    return ticks / (double)sysconf(_SC_CLK_TCK);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "zkraw: out of memory\n");
        exit(2);
    }
    return q;
}

static uint64_t rnd(sess_t *s)
{
    /* xorshift64*, as zkload */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 2685821657736338717ull;
}

/* ---- buffers and the jute encoding -------------------------------------- */

/* Room for n more bytes at the end; pending bytes move to the front first
 * so that the buffer does not grow while it is drained as fast as filled. */
static void buf_reserve(buf_t *b, size_t n)
{
    if (b->off > 0 && (b->off == b->len || b->cap - b->len < n)) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->cap - b->len >= n)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static size_t buf_pending(const buf_t *b)
{
    return b->len - b->off;
}

/* The put* functions write into room reserved by frame_begin(). */
static void put32(buf_t *b, uint32_t v)
{
    uint8_t *p = b->p + b->len;
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    b->len += 4;
}

static void put64(buf_t *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b, (uint32_t)v);
}

static void put_bytes(buf_t *b, const void *p, size_t n)
{
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* A buffer or ustring: the length, then the bytes. */
static void put_blob(buf_t *b, const void *p, size_t n)
{
    put32(b, (uint32_t)n);
    put_bytes(b, p, n);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* A frame is written with a length placeholder, patched when it ends. */
static size_t frame_begin(buf_t *b, size_t body_max)
{
    buf_reserve(b, 4 + body_max);
    size_t at = b->len;
    b->len += 4;
    return at;
}

static void frame_end(buf_t *b, size_t at)
{
    uint32_t n = (uint32_t)(b->len - at - 4);
    uint8_t be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                     (uint8_t)n};
    memcpy(b->p + at, be, 4);
}

static const uint8_t *key_path(int k)
{
    return g.keys + (size_t)k * g.key_stride;
}

static size_t key_path_len(int k)
{
    return 4 + get32(key_path(k));
}

/* ---- requests ----------------------------------------------------------- */

static void ring_push(sess_t *s, int32_t xid, int kind)
{
    if (s->count == s->cap) { /* grow, keeping the order */
        size_t cap = s->cap ? s->cap * 2 : 64;
        pending_t *r = xrealloc(NULL, cap * sizeof *r);
        for (size_t i = 0; i < s->count; i++)
            r[i] = s->ring[(s->head + i) % s->cap];
        free(s->ring);
        s->ring = r;
        s->head = 0;
        s->cap = cap;
    }
    pending_t *p = &s->ring[(s->head + s->count) % s->cap];
    p->xid = xid;
    p->kind = kind;
    p->t0 = 0;
    s->count++;
    s->unstamped++;
}

/* Starts a request frame: length placeholder and RequestHeader. */
static size_t request_begin(sess_t *s, int kind, int32_t type, size_t body)
{
    size_t at = frame_begin(&s->out, 8 + body);
    int32_t xid = s->next_xid++;
    if (s->next_xid <= 0)
        s->next_xid = 1; /* negative xids are the protocol's own */
    put32(&s->out, (uint32_t)xid);
    put32(&s->out, (uint32_t)type);
    ring_push(s, xid, kind);
    return at;
}

static void send_create(sess_t *s, const char *path)
{
    static const char scheme[] = "world", id[] = "anyone";
    size_t plen = strlen(path);
    size_t body = 4 + plen + 4 + (size_t)g.datalen + 4 + 4 + 4 +
                  sizeof scheme + 4 + sizeof id + 4;
    size_t at = request_begin(s, K_CREATE, OP_CREATE, body);
    put_blob(&s->out, path, plen);
    put_blob(&s->out, g.data, (size_t)g.datalen);
    put32(&s->out, 1);  /* one ACL: OPEN_ACL_UNSAFE */
    put32(&s->out, 31); /* Perms.ALL */
    put_blob(&s->out, scheme, sizeof scheme - 1);
    put_blob(&s->out, id, sizeof id - 1);
    put32(&s->out, 0); /* CreateMode.PERSISTENT */
    frame_end(&s->out, at);
}

static void send_sync(sess_t *s)
{
    size_t plen = strlen(g.prefix);
    size_t at = request_begin(s, K_SYNC, OP_SYNC, 4 + plen);
    put_blob(&s->out, g.prefix, plen);
    frame_end(&s->out, at);
}

static void send_close(sess_t *s)
{
    frame_end(&s->out, request_begin(s, K_CLOSE, OP_CLOSE, 0));
}

/* The next request of the load, on a random node. */
static void send_load(sess_t *s)
{
    int k = (int)(rnd(s) % (uint64_t)g.nkeys);
    size_t pl = key_path_len(k);
    size_t at;
    if (g.workload == W_GET) {
        at = request_begin(s, K_GET, OP_GETDATA, pl + 1);
        put_bytes(&s->out, key_path(k), pl);
        s->out.p[s->out.len++] = 0; /* no watch */
    } else {
        at = request_begin(s, K_SET, OP_SETDATA, pl + 4 + g.datalen + 4);
        put_bytes(&s->out, key_path(k), pl);
        put_blob(&s->out, g.data, (size_t)g.datalen);
        put32(&s->out, UINT32_MAX); /* version -1: any */
    }
    frame_end(&s->out, at);
    s->lanes++;
}

static void send_ping(sess_t *s)
{
    size_t at = frame_begin(&s->out, 8);
    put32(&s->out, (uint32_t)XID_PING);
    put32(&s->out, OP_PING);
    frame_end(&s->out, at);
}

static void send_connect(sess_t *s)
{
    static const uint8_t passwd[16];
    size_t at = frame_begin(&s->out, 4 + 8 + 4 + 8 + 4 + 16 + 1);
    put32(&s->out, 0); /* protocolVersion */
    put64(&s->out, 0); /* lastZxidSeen */
    put32(&s->out, (uint32_t)g.timeout_ms);
    put64(&s->out, 0); /* sessionId: a new session */
    put_blob(&s->out, passwd, sizeof passwd);
    s->out.p[s->out.len++] = 0; /* readOnly: false */
    frame_end(&s->out, at);
}

/* ---- connections -------------------------------------------------------- */

static void set_events(sess_t *s, uint32_t ev)
{
    if (s->fd < 0 || ev == s->events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = s};
    if (epoll_ctl(g.epfd, EPOLL_CTL_MOD, s->fd, &e) == 0)
        s->events = ev;
}

/* Everything still in flight on a session that is gone counts as failed. */
static void sess_kill(sess_t *s, const char *why)
{
    if (s->state == S_DEAD)
        return;
    if (s->state != S_CLOSING) {
        fprintf(stderr, "zkraw: session %d (%s, 0x%" PRIx64 "): %s\n", s->id,
                s->host, (uint64_t)s->session_id, why);
        if (s->state == S_OPEN)
            g.disconnects++;
        for (size_t i = 0; i < s->count; i++) {
            int kind = s->ring[(s->head + i) % s->cap].kind;
            if (kind == K_GET || kind == K_SET)
                g.lost++;
            else if (s->setup_rc == 0)
                s->setup_rc = ZE_CONNLOSS;
        }
    }
    s->count = s->unstamped = 0;
    s->lanes = 0;
    s->state = S_DEAD;
    if (s->fd >= 0) {
        epoll_ctl(g.epfd, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
        s->fd = -1;
    }
}

static int sess_connect(sess_t *s, int h)
{
    int one = 1;
    s->host = g.host[h];
    s->fd = socket(g.addr[h].ss_family, SOCK_STREAM, 0);
    if (s->fd < 0)
        return -1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
    if (connect(s->fd, (struct sockaddr *)&g.addr[h], g.addrlen[h]) != 0 &&
        errno != EINPROGRESS)
        return -1;
    s->state = S_CONNECTING;
    s->events = EPOLLOUT;
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = s};
    return epoll_ctl(g.epfd, EPOLL_CTL_ADD, s->fd, &e);
}

/* The pending output goes out with one write(); the requests it carries
 * are stamped with the time just before it. */
static void sess_flush(sess_t *s)
{
    if (s->fd < 0 || s->state == S_CONNECTING || buf_pending(&s->out) == 0)
        return;
    uint64_t t = now_ns();
    for (; s->unstamped > 0; s->unstamped--)
        s->ring[(s->head + s->count - s->unstamped) % s->cap].t0 = t;
    ssize_t n = send(s->fd, s->out.p + s->out.off, buf_pending(&s->out),
                     MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        sess_kill(s, strerror(errno));
        return;
    }
    if (n > 0)
        s->out.off += (size_t)n;
    s->last_send = t;
    set_events(s, EPOLLIN | (buf_pending(&s->out) ? EPOLLOUT : 0));
}

static void on_connected(sess_t *s)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        sess_kill(s, err ? strerror(err) : "connect failed");
        return;
    }
    send_connect(s);
    s->state = S_HANDSHAKE;
    s->last_send = now_ns();
    set_events(s, EPOLLIN);
}

/* ---- replies ------------------------------------------------------------ */

static void record(uint64_t ns)
{
    if (g.nlat == g.caplat) {
        g.caplat = g.caplat ? g.caplat * 2 : 1 << 20;
        g.lat = xrealloc(g.lat, g.caplat * sizeof *g.lat);
    }
    g.lat[g.nlat++] = ns;
}

/* The stall monitor starts (again) at t. */
static void monitor_from(sess_t *s, uint64_t t)
{
    s->last_reply = t;
    clock_gettime(CLOCK_REALTIME, &s->last_reply_rt);
}

/* The stall monitor: a reply at t ends the wait since the previous one. */
static void progress(sess_t *s, uint64_t t)
{
    if (g.phase != PH_MEASURE || t <= s->last_reply)
        return;
    uint64_t gap = t - s->last_reply;
    if (gap > g.max_gap)
        g.max_gap = gap;
    if (g.stall_report_ms > 0 && (double)gap >= g.stall_report_ms * 1e6) {
        struct tm tm;
        char when[32];
        localtime_r(&s->last_reply_rt.tv_sec, &tm);
        strftime(when, sizeof when, "%H:%M:%S", &tm);
        fprintf(stderr, "zkraw: session %d (%s, 0x%" PRIx64 "): no reply "
                "for %.0f ms from %s.%03ld\n", s->id, s->host,
                (uint64_t)s->session_id, (double)gap / 1e6, when,
                s->last_reply_rt.tv_nsec / 1000000);
    }
    monitor_from(s, t);
}

/* The body of a successful load reply: GetDataResponse {buffer data, Stat}
 * or SetDataResponse {Stat}. */
static bool load_reply_ok(int kind, const uint8_t *p, size_t n)
{
    size_t dl = (size_t)g.datalen;
    if (kind == K_GET) {
        if (n != 4 + dl + STAT_LEN || get32(p) != dl ||
            memcmp(p + 4, g.data, dl) != 0)
            return false;
        p += 4 + dl;
    } else if (n != STAT_LEN) {
        return false;
    }
    return get32(p + STAT_DATALEN_AT) == dl;
}

/* ZooKeeper's error codes are small negative numbers. */
static void count_err(int32_t err)
{
    g.errs[err < 0 && err > -NERR ? -err : NERR - 1]++;
}

static void on_load_reply(sess_t *s, const pending_t *q, int32_t err,
                          const uint8_t *body, size_t n, uint64_t t)
{
    s->lanes--;
    if (err != 0)
        count_err(err);
    else if (!load_reply_ok(q->kind, body, n))
        g.bad_reply++;
    else if (g.phase == PH_MEASURE && q->t0 != 0)
        record(t - q->t0);
    if (g.phase == PH_WARM || g.phase == PH_MEASURE)
        send_load(s);
}

static void on_setup_reply(sess_t *s, const pending_t *q, int32_t err)
{
    if (q->kind == K_CLOSE) {
        s->state = S_CLOSING; /* the server closes the connection next */
        return;
    }
    if (err == 0 || (q->kind == K_CREATE && err == ZE_NODEEXISTS))
        return;
    if (s->setup_rc == 0)
        s->setup_rc = err;
    count_err(err);
}

/* One reply frame (ReplyHeader {int xid, long zxid, int err} + body);
 * returns false when the session cannot go on. */
static bool on_reply(sess_t *s, const uint8_t *p, size_t n, uint64_t t)
{
    if (n < 16) {
        g.bad_reply++;
        return false;
    }
    int32_t xid = (int32_t)get32(p);
    int64_t zxid = (int64_t)get64(p + 4);
    int32_t err = (int32_t)get32(p + 12);
    if (xid == XID_PING || xid == XID_WATCH)
        return true; /* no watches are set: a notification is ignored */
    if (s->count == 0 || s->ring[s->head].xid != xid) {
        g.bad_order++;
        return false;
    }
    pending_t q = s->ring[s->head];
    s->head = (s->head + 1) % s->cap;
    s->count--;
    if (err == 0) {
        if (zxid < s->last_zxid)
            g.bad_zxid++;
        else
            s->last_zxid = zxid;
    }
    if (q.kind == K_GET || q.kind == K_SET)
        on_load_reply(s, &q, err, p + 16, n - 16, t);
    else
        on_setup_reply(s, &q, err);
    return true;
}

/* ConnectResponse {int protocolVersion, int timeOut, long sessionId,
 * buffer passwd, bool readOnly}: a timeout of 0 is a refused session. */
static bool on_connect_reply(sess_t *s, const uint8_t *p, size_t n)
{
    if (n < 20) {
        g.bad_reply++;
        return false;
    }
    s->timeout_ms = (int)get32(p + 4);
    s->session_id = (int64_t)get64(p + 8);
    if (s->timeout_ms <= 0) {
        g.expired++;
        return false;
    }
    s->state = S_OPEN;
    return true;
}

/* Every complete frame in the input buffer; returns how many. */
static int parse_input(sess_t *s, uint64_t t)
{
    buf_t *b = &s->in;
    int frames = 0;
    for (; buf_pending(b) >= 4 && s->state != S_DEAD; frames++) {
        uint32_t n = get32(b->p + b->off);
        if (n > FRAME_MAX) {
            g.bad_reply++;
            sess_kill(s, "reply frame too long");
            break;
        }
        if (buf_pending(b) < 4 + (size_t)n) {
            buf_reserve(b, 4 + (size_t)n - buf_pending(b));
            break;
        }
        const uint8_t *p = b->p + b->off + 4;
        b->off += 4 + (size_t)n;
        bool ok = s->state == S_HANDSHAKE ? on_connect_reply(s, p, n)
                                          : on_reply(s, p, n, t);
        if (!ok)
            sess_kill(s, "bad reply (out of order, malformed or refused)");
    }
    return frames;
}

static void on_readable(sess_t *s)
{
    buf_reserve(&s->in, READ_MIN);
    ssize_t n = read(s->fd, s->in.p + s->in.len, s->in.cap - s->in.len);
    uint64_t t = now_ns();
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        sess_kill(s, n == 0 ? "connection closed by the server"
                            : strerror(errno));
        return;
    }
    if (n < 0)
        return;
    s->in.len += (size_t)n;
    if (parse_input(s, t) > 0 && s->state != S_DEAD)
        progress(s, t);
}

/* ---- the loop ----------------------------------------------------------- */

static void dispatch(sess_t *s, uint32_t ev)
{
    if (s->state == S_DEAD)
        return;
    if (s->state == S_CONNECTING) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_connected(s);
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(s);
}

/* One turn: wait at most timeout_ms, read what arrived (which queues the
 * next requests), then write every session's output at once. */
static void loop_once(int timeout_ms)
{
    struct epoll_event ev[MAX_HOSTS * 4];
    int n = epoll_wait(g.epfd, ev, (int)(sizeof ev / sizeof *ev), timeout_ms);
    for (int i = 0; i < n; i++)
        dispatch(ev[i].data.ptr, ev[i].events);
    uint64_t t = now_ns();
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        if (s->state == S_OPEN && s->timeout_ms > 0 &&
            t - s->last_send > (uint64_t)s->timeout_ms * 1000000u / 3)
            send_ping(s);
        sess_flush(s);
    }
}

/* Runs the loop until done() or the deadline; returns done(). */
static bool run_until(bool (*done)(void), uint64_t deadline)
{
    while (!done()) {
        uint64_t t = now_ns();
        if (t >= deadline)
            return false;
        uint64_t ms = (deadline - t) / 1000000u + 1;
        loop_once(ms > 10 ? 10 : (int)ms);
    }
    return true;
}

static bool never(void)
{
    return false;
}

static bool all_open(void)
{
    for (int i = 0; i < g.nsess; i++)
        if (g.sess[i].state != S_OPEN && g.sess[i].state != S_DEAD)
            return false;
    return true;
}

static bool all_idle(void)
{
    for (int i = 0; i < g.nsess; i++)
        if (g.sess[i].state != S_DEAD && g.sess[i].count > 0)
            return false;
    return true;
}

static bool all_gone(void)
{
    for (int i = 0; i < g.nsess; i++)
        if (g.sess[i].state != S_DEAD)
            return false;
    return true;
}

/* ---- setup -------------------------------------------------------------- */

static int setup_failed(const char *what)
{
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        if (s->state != S_OPEN || s->setup_rc != 0) {
            fprintf(stderr, "zkraw: %s: session %d (%s): %s, err %d\n", what,
                    i, s->host, s->state == S_OPEN ? "open" : "not open",
                    s->setup_rc);
            return 1;
        }
    }
    return 0;
}

/* Connects every session, creates PREFIX and the keys, syncs. */
static int setup(void)
{
    uint64_t limit = now_ns() + (30000u + (uint64_t)g.timeout_ms) * 1000000u;
    for (int i = 0; i < g.nsess; i++)
        if (sess_connect(&g.sess[i], i % g.nhosts) != 0)
            sess_kill(&g.sess[i], strerror(errno));
    if (!run_until(all_open, limit) || setup_failed("connect"))
        return -1;
    send_create(&g.sess[0], g.prefix);
    if (!run_until(all_idle, limit) || setup_failed("create prefix"))
        return -1;
    for (int k = 0; k < g.nkeys; k++) {
        char path[PATH_LEN];
        snprintf(path, sizeof path, "%s/k-%d", g.prefix, k);
        send_create(&g.sess[k % g.nsess], path);
    }
    if (!run_until(all_idle, limit) || setup_failed("create keys"))
        return -1;
    for (int i = 0; i < g.nsess; i++)
        send_sync(&g.sess[i]);
    if (!run_until(all_idle, limit) || setup_failed("sync"))
        return -1;
    return 0;
}

/* Every key's path, encoded once as a ustring. */
static void make_keys(void)
{
    g.key_stride = PATH_LEN;
    g.keys = xrealloc(NULL, (size_t)g.nkeys * g.key_stride);
    for (int k = 0; k < g.nkeys; k++) {
        uint8_t *p = g.keys + (size_t)k * g.key_stride;
        int n = snprintf((char *)p + 4, PATH_LEN - 4, "%s/k-%d", g.prefix, k);
        buf_t b = {.p = p, .cap = 4};
        put32(&b, (uint32_t)n);
    }
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zkraw [options] HOST:PORT[,HOST:PORT...]\n"
            "  -w get|set  workload (get)\n"
            "  -n N        sessions (8), session i on server i mod servers\n"
            "  -d N        requests in flight per session (64)\n"
            "  -t SECS     measure for SECS seconds (5)\n"
            "  -W SECS     warm-up, not measured (1)\n"
            "  -k N        number of nodes (1000)\n"
            "  -b N        data bytes (100)\n"
            "  -p PATH     parent znode (/zkload)\n"
            "  -T MS       session timeout (10000)\n"
            "  -S MS       report stalls of MS ms or more on stderr\n"
            "  -P PID,...  also report the CPU these processes (the servers)\n"
            "              used during the measurement (server_cpu_cores)\n");
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_secs(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400)
        return -1;
    *out = v;
    return 0;
}

/* PID[,PID...] */
static int parse_pids(const char *arg)
{
    char *end;
    for (const char *p = arg; *p; p = *end ? end + 1 : end) {
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || (*end && *end != ',') ||
            g.npids == MAX_PIDS)
            return -1;
        g.pids[g.npids++] = v;
    }
    return g.npids > 0 ? 0 : -1;
}

static int parse_option(int c, const char *arg)
{
    switch (c) {
    case 'w':
        if (!strcmp(arg, "get") || !strcmp(arg, "set")) {
            g.workload = !strcmp(arg, "get") ? W_GET : W_SET;
            return 0;
        }
        return -1;
    case 'n':
        return parse_int(arg, 1, 1024, &g.nsess);
    case 'd':
        return parse_int(arg, 1, 100000, &g.depth);
    case 't':
        return parse_secs(arg, &g.secs) || g.secs <= 0 ? -1 : 0;
    case 'W':
        return parse_secs(arg, &g.warm);
    case 'k':
        return parse_int(arg, 1, 10000000, &g.nkeys);
    case 'b':
        return parse_int(arg, 0, 1 << 19, &g.datalen);
    case 'p':
        g.prefix = arg;
        return arg[0] == '/' && arg[1] && strlen(arg) < PATH_LEN - 32 ? 0 : -1;
    case 'T':
        return parse_int(arg, 100, 3600000, &g.timeout_ms);
    case 'S':
        return parse_secs(arg, &g.stall_report_ms);
    case 'P':
        return parse_pids(arg);
    default:
        return -1;
    }
}

static int parse_options(int argc, char **argv)
{
    int c;
    g.nsess = 8;
    g.depth = 64;
    g.workload = W_GET;
    g.secs = 5;
    g.warm = 1;
    g.nkeys = 1000;
    g.datalen = 100;
    g.prefix = "/zkload";
    g.timeout_ms = 10000;
    while ((c = getopt(argc, argv, "w:n:d:t:W:k:b:p:T:S:P:h")) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(0);
        }
        if (parse_option(c, optarg) != 0)
            return -1;
    }
    if (optind != argc - 1)
        return -1;
    g.hosts = argv[optind];
    return 0;
}

/* HOST:PORT[,HOST:PORT...], each resolved once. */
static int resolve_hosts(void)
{
    char *list = strdup(g.hosts), *save = NULL;
    for (char *h = strtok_r(list, ",", &save); h && g.nhosts < MAX_HOSTS;
         h = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(h, ':');
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
        if (!colon)
            return -1;
        *colon = '\0';
        if (getaddrinfo(h, colon + 1, &hints, &ai) != 0)
            return -1;
        memcpy(&g.addr[g.nhosts], ai->ai_addr, ai->ai_addrlen);
        g.addrlen[g.nhosts] = ai->ai_addrlen;
        freeaddrinfo(ai);
        *colon = ':';
        g.host[g.nhosts++] = h;
    }
    return g.nhosts > 0 ? 0 : -1;
}

/* ---- results ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank, in microseconds. */
static double pct(double p)
{
    if (g.nlat == 0)
        return 0;
    size_t r = (size_t)((double)g.nlat * p + 0.999999999);
    r = r < 1 ? 1 : r > g.nlat ? g.nlat : r;
    return (double)g.lat[r - 1] / 1000.0;
}

static uint64_t server_errors(void)
{
    uint64_t n = 0;
    for (int k = 0; k < NERR; k++)
        n += g.errs[k];
    return n;
}

static void report_errors(uint64_t stuck)
{
    fprintf(stderr, "zkraw: %s: the run had errors:", wname[g.workload]);
    for (int k = 0; k < NERR; k++)
        if (g.errs[k])
            fprintf(stderr, " err %d x%" PRIu64 ";", -k, g.errs[k]);
    if (g.bad_reply)
        fprintf(stderr, " %" PRIu64 " malformed or wrong replies;",
                g.bad_reply);
    if (g.bad_order)
        fprintf(stderr, " %" PRIu64 " replies out of order;", g.bad_order);
    if (g.bad_zxid)
        fprintf(stderr, " %" PRIu64 " zxids going back;", g.bad_zxid);
    if (g.lost)
        fprintf(stderr, " %" PRIu64 " requests lost with their connection;",
                g.lost);
    if (stuck)
        fprintf(stderr, " %" PRIu64 " requests never answered;", stuck);
    if (g.nlat == 0)
        fprintf(stderr, " no request completed in the window;");
    fprintf(stderr, "\n");
}

/* " server_cpu_cores=X" when -P was given and both samples were read. */
static void server_cpu_field(char *out, size_t n, double secs, double c1,
                             double c2)
{
    out[0] = '\0';
    if (g.npids > 0 && c1 >= 0 && c2 >= c1 && secs > 0)
        snprintf(out, n, " server_cpu_cores=%.2f", (c2 - c1) / secs);
}

static int report(double secs, double cpu, const char *scpu, uint64_t stuck)
{
    double sum = 0;
    for (size_t k = 0; k < g.nlat; k++)
        sum += (double)g.lat[k];
    qsort(g.lat, g.nlat, sizeof *g.lat, cmp_u64);
    uint64_t nerr = server_errors() + g.bad_reply + g.bad_order + g.bad_zxid +
                    g.lost;
    bool bad = nerr || stuck || g.disconnects || g.expired || g.nlat == 0;
    printf("workload=%s sessions=%d depth=%d secs=%.3f ops=%zu "
           "ops_per_s=%.0f avg_us=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f "
           "p999_us=%.0f max_us=%.0f max_gap_ms=%.0f cpu_cores=%.2f%s "
           "errors=%" PRIu64 " stuck=%" PRIu64 " disconnects=%" PRIu64
           " expired=%" PRIu64 " status=%s\n",
           wname[g.workload], g.nsess, g.depth, secs, g.nlat,
           (double)g.nlat / secs, g.nlat ? sum / (double)g.nlat / 1000.0 : 0,
           pct(0.50), pct(0.90), pct(0.99), pct(0.999),
           g.nlat ? (double)g.lat[g.nlat - 1] / 1000.0 : 0,
           (double)g.max_gap / 1e6, cpu / secs, scpu, nerr, stuck,
           g.disconnects,
           g.expired, bad ? "ERRORS" : "ok");
    fflush(stdout);
    if (bad)
        report_errors(stuck);
    return bad ? 1 : 0;
}

/* ---- main --------------------------------------------------------------- */

static void start_load(void)
{
    uint64_t t = now_ns();
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        monitor_from(s, t);
        for (int j = 0; j < g.depth && s->state == S_OPEN; j++)
            send_load(s);
    }
}

/* The measured window has ended: a session still waiting has stalled
 * since its last reply. */
static void end_window(uint64_t t)
{
    for (int i = 0; i < g.nsess; i++)
        if (g.sess[i].state == S_OPEN)
            progress(&g.sess[i], t);
}

static bool no_lanes(void)
{
    for (int i = 0; i < g.nsess; i++)
        if (g.sess[i].state == S_OPEN && g.sess[i].lanes > 0)
            return false;
    return true;
}

static void close_sessions(void)
{
    for (int i = 0; i < g.nsess; i++)
        if (g.sess[i].state == S_OPEN)
            send_close(&g.sess[i]);
    run_until(all_gone, now_ns() + 2000000000u);
    for (int i = 0; i < g.nsess; i++) {
        g.sess[i].state = S_CLOSING; /* not a disconnection */
        sess_kill(&g.sess[i], "");
    }
}

int main(int argc, char **argv)
{
    if (parse_options(argc, argv) != 0 || resolve_hosts() != 0) {
        usage(stderr);
        return 2;
    }
    g.data = xrealloc(NULL, (size_t)g.datalen + 1);
    for (int i = 0; i < g.datalen; i++)
        g.data[i] = (char)('a' + i % 26); /* zkload's data, byte for byte */
    make_keys();
    g.sess = xrealloc(NULL, (size_t)g.nsess * sizeof *g.sess);
    memset(g.sess, 0, (size_t)g.nsess * sizeof *g.sess);
    uint64_t seed = (uint64_t)getpid() << 20 ^ now_ns();
    for (int i = 0; i < g.nsess; i++) {
        g.sess[i].id = i;
        g.sess[i].fd = -1;
        g.sess[i].next_xid = 1;
        g.sess[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) ^ seed;
    }
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g.epfd < 0 || setup() != 0) {
        printf("workload=%s status=SETUP_FAILED\n", wname[g.workload]);
        return 2;
    }

    /* Warm-up, then the measured window. */
    uint64_t t0 = now_ns();
    uint64_t t1 = t0 + (uint64_t)(g.warm * 1e9);
    uint64_t t2 = t1 + (uint64_t)(g.secs * 1e9);
    g.phase = g.warm > 0 ? PH_WARM : PH_MEASURE;
    start_load();
    run_until(never, t1);
    double cpu1 = cpu_secs(), scpu1 = server_cpu_secs();
    t1 = now_ns();
    for (int i = 0; i < g.nsess; i++)
        monitor_from(&g.sess[i], t1);
    g.phase = PH_MEASURE;
    run_until(never, t2);
    t2 = now_ns();
    double cpu2 = cpu_secs(), scpu2 = server_cpu_secs();
    double secs = (double)(t2 - t1) / 1e9;
    char scpu[64];
    server_cpu_field(scpu, sizeof scpu, secs, scpu1, scpu2);
    end_window(t2);
    g.phase = PH_DRAIN;

    /* What is in flight is answered, or stuck. */
    uint64_t drain_ms = g.timeout_ms > 10000 ? (uint64_t)g.timeout_ms : 10000;
    run_until(no_lanes, now_ns() + drain_ms * 1000000u);
    uint64_t stuck = 0;
    for (int i = 0; i < g.nsess; i++)
        if (g.sess[i].state == S_OPEN)
            stuck += (uint64_t)g.sess[i].lanes;
    close_sessions();
    return report(secs, cpu2 - cpu1, scpu, stuck);
}
