/*
 * zkload.c -- a load generator for ZooKeeper-compatible servers, on Apache
 * ZooKeeper's C client (zookeeper_mt, asynchronous API).
 *
 *     cc -O2 -g -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
 *        -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wvla \
 *        -Wformat=2 -Wundef -pthread \
 *        test/bench/zkload.c -lzookeeper_mt -o build/zkload
 *
 * or, on the single-threaded library (zookeeper_st; Debian's runtime
 * package libzookeeper-st2 -- its -dev package conflicts with
 * libzookeeper-mt-dev, whose headers serve both, so link by soname):
 *
 *     cc (the same flags) -DZKLOAD_ST test/bench/zkload.c \
 *        -l:libzookeeper_st.so.2 -o build/zkload-st
 *
 *     zkload [options] HOST:PORT[,HOST:PORT...]
 *
 * zookeeper_mt runs two threads per session (I/O and completions) and
 * hands every request and every completion between them; zkload-st drives
 * every session from the main thread instead: poll() over all sockets, then
 * zookeeper_process() on each (what it costs: see the README's benchmark).
 * Either way the library sends every request with its own send().
 *
 * The library's default re-resolves the connect string before every poll
 * (getaddrinfo() per server, with a netlink query of the local addresses):
 * on the 2-core development machine that was most of the client's CPU and
 * held it near 30,000 requests/s whatever the server.  zkload turns it off
 * (zoo_set_servers_resolution_delay -1: resolve only on reconnection);
 * -R restores the library's default.
 *
 * N sessions (-n, default 8), each keeping D requests in flight (-d,
 * default 64): when a request completes, its completion issues the next.
 * Session i connects to server i mod (number of servers in the connect
 * string); it is given the whole list, starting there, in a fixed order,
 * so that it fails over to the next server if its own dies (-r: the client
 * library's random order instead).  Workloads (-w):
 *
 *   create  zoo_acreate of znodes with -b bytes of data (default 100) under
 *           PREFIX (-p, default /zkload): sequential (-m seq, the default:
 *           PREFIX/seq-0000000042) or unique names (-m unique).
 *   set     zoo_aset (version -1) of random nodes among -k pre-created
 *           nodes PREFIX/k-<i> (default 1000).
 *   get     zoo_aget (no watch) of random nodes among the same (a reply
 *           whose data is not -b bytes long counts as an error).
 *
 * Before the load: connect every session, create PREFIX and (set, get) the
 * -k nodes, then zoo_async (sync) on every session so that every server has
 * them.  Then -W seconds of warm-up (default 1, not measured) and either -t
 * seconds (default 5) or -c completed requests of measurement.  Then no new
 * requests; what is in flight is waited for (a request that has not
 * completed within max(10 s, session timeout) is "stuck").
 *
 * Every successful completion in the measurement window counts as an op and
 * its latency (issue to completion callback, CLOCK_MONOTONIC) is recorded;
 * p50/p90/p99/p99.9/max are nearest-rank over all of them.  A request that
 * failed (any rc other than ZOK, in any phase, warm-up included), a stuck
 * request, a disconnection and an expired session are all counted; max_gap_ms
 * is the longest stretch of the measurement in which one session, with
 * requests in flight, saw not a single completion (a stall, polled every
 * 2 ms); -S MS prints every such stretch of at least MS ms on stderr with
 * its wall-clock time and server, to match against the servers' logs.
 *
 * Output: one line on stdout,
 *
 *   workload=set sessions=8 depth=64 secs=5.000 ops=123456 ops_per_s=24691
 *   avg_us=... p50_us=... p90_us=... p99_us=... p999_us=... max_us=...
 *   max_gap_ms=... cpu_cores=... errors=0 stuck=0 disconnects=0 expired=0
 *   status=ok
 *
 * (all on one line; cpu_cores: the CPU zkload itself used during the
 * measurement, in cores: on a small machine the load generator competes
 * with the servers; with -P PID,... also server_cpu_cores, the CPU those
 * processes used in the same window, from /proc/PID/stat);
 * status=ERRORS when anything failed, and then a break-
 * down of the errors by code on stderr.  Exit status: 0 ok, 1 the run had
 * errors, 2 bad usage or the load could not start.
 */
#define _POSIX_C_SOURCE 200809L
#ifndef ZKLOAD_ST
#define THREADED 1 /* the multithreaded library's declarations */
#endif

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

enum { W_CREATE, W_SET, W_GET };
enum { PH_SETUP, PH_WARM, PH_MEASURE, PH_STOP };

#define MAX_HOSTS 64
#define MAX_PIDS 16
#define NERR 256 /* error codes are small negative numbers */
#define PATH_LEN 256

typedef struct sess sess_t;

/* One lane: at most one request in flight at a time. */
typedef struct {
    sess_t *s;
    uint64_t t0;
    char path[PATH_LEN];
} slot_t;

struct sess {
    int id;
    zhandle_t *zh;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;        /* last session state seen by the watcher */
    bool was_connected;
    bool expired;
    unsigned disconnects;
    int inflight;     /* lanes with a request in flight */
    bool dead;        /* expired or closed: do not issue */
    uint64_t rng;
    uint64_t seq;     /* unique-name counter */
    uint64_t *lat;    /* latencies (ns) recorded in the window */
    size_t nlat, caplat;
    uint64_t errs[NERR];
    slot_t *slots;
    const char *host;
    atomic_ullong done; /* completions, for the stall monitor */
    uint64_t mon_last, mon_since;
    struct timespec mon_since_rt; /* mon_since on the wall clock */
    /* setup */
    int setup_pending;
    int setup_rc;
};

static struct {
    /* options */
    const char *hosts;
    int nsess;
    int depth;
    int workload;
    bool sequential;
    double secs;
    uint64_t count;
    double warm;
    int nkeys;
    int datalen;
    const char *prefix;
    int timeout_ms;
    bool all_hosts;
    bool resolve;
    long pids[MAX_PIDS]; /* -P: the servers, for server_cpu_cores */
    int npids;
    double stall_report_ms;
    /* state */
    struct pollfd *pfd; /* zkload-st: one per session */
    char *data;
    unsigned runid;
    atomic_int phase;
    atomic_ullong completions; /* successful or not, every phase */
    atomic_ullong measured;    /* ops recorded (count mode) */
    atomic_bool count_reached;
    sess_t *sess;
} g;

static const char *const wname[] = {"create", "set", "get"};

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

#ifndef ZKLOAD_ST
static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
#endif

#ifdef ZKLOAD_ST
/* The single-threaded library does nothing unless driven: one poll() over
 * every session's socket, then zookeeper_process() on each, which sends what
 * is queued, reads what arrived and runs the completions, all on this
 * thread. */
static void drive(uint64_t ns)
{
    int timeout_ms = (int)(ns / 1000000u);
    for (int i = 0; i < g.nsess; i++) {
        int fd = -1, interest = 0;
        struct timeval tv = {0, 0};
        zookeeper_interest(g.sess[i].zh, &fd, &interest, &tv);
        g.pfd[i].fd = fd;
        g.pfd[i].events = (short)((interest & ZOOKEEPER_READ ? POLLIN : 0) |
                                  (interest & ZOOKEEPER_WRITE ? POLLOUT : 0));
        int ms = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
        if (fd >= 0 && ms < timeout_ms)
            timeout_ms = ms;
    }
    if (poll(g.pfd, (nfds_t)g.nsess, timeout_ms) < 0 && errno != EINTR)
        return;
    for (int i = 0; i < g.nsess; i++) {
        short r = g.pfd[i].fd >= 0 ? g.pfd[i].revents : 0;
        int ev = (r & (POLLIN | POLLERR | POLLHUP) ? ZOOKEEPER_READ : 0) |
                 (r & POLLOUT ? ZOOKEEPER_WRITE : 0);
        /* One call reads at most one reply: call again while it finds
         * more (ZNOTHING: the socket is empty), so that a poll() serves a
         * whole batch. */
        for (int k = 0; k <= g.depth && zookeeper_process(g.sess[i].zh, ev) ==
                                            ZOK && (ev & ZOOKEEPER_READ);
             k++) {
        }
    }
}
#else
/* The multithreaded library runs by itself. */
static void drive(uint64_t ns)
{
    sleep_ns(ns);
}
#endif

static uint64_t rnd(sess_t *s)
{
    /* xorshift64* */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 2685821657736338717ull;
}

static void count_error(sess_t *s, int rc)
{
    int i = rc < 0 ? -rc : rc;
    s->errs[i < NERR ? i : NERR - 1]++;
}

/* ---- the load ---------------------------------------------------------- */

static void on_create(int rc, const char *value, const void *data);
static void on_set(int rc, const struct Stat *stat, const void *data);
static void on_get(int rc, const char *value, int value_len,
                   const struct Stat *stat, const void *data);

static int issue(slot_t *sl)
{
    sess_t *s = sl->s;
    switch (g.workload) {
    case W_CREATE:
        if (g.sequential) {
            snprintf(sl->path, sizeof sl->path, "%s/seq-", g.prefix);
            sl->t0 = now_ns();
            return zoo_acreate(s->zh, sl->path, g.data, g.datalen,
                               &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL,
                               on_create, sl);
        }
        snprintf(sl->path, sizeof sl->path, "%s/u-%08x-%d-%" PRIu64, g.prefix,
                 g.runid, s->id, s->seq++);
        sl->t0 = now_ns();
        return zoo_acreate(s->zh, sl->path, g.data, g.datalen,
                           &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, on_create, sl);
    case W_SET:
        snprintf(sl->path, sizeof sl->path, "%s/k-%d", g.prefix,
                 (int)(rnd(s) % (uint64_t)g.nkeys));
        sl->t0 = now_ns();
        return zoo_aset(s->zh, sl->path, g.data, g.datalen, -1, on_set, sl);
    default:
        snprintf(sl->path, sizeof sl->path, "%s/k-%d", g.prefix,
                 (int)(rnd(s) % (uint64_t)g.nkeys));
        sl->t0 = now_ns();
        return zoo_aget(s->zh, sl->path, 0, on_get, sl);
    }
}

static void record(sess_t *s, uint64_t ns)
{
    if (s->nlat == s->caplat) {
        size_t cap = s->caplat ? s->caplat * 2 : 65536;
        uint64_t *p = realloc(s->lat, cap * sizeof *p);
        if (!p) {
            fprintf(stderr, "zkload: out of memory\n");
            exit(2);
        }
        s->lat = p;
        s->caplat = cap;
    }
    s->lat[s->nlat++] = ns;
}

/* A lane whose request could not be issued (or must not be reissued). */
static void lane_done(sess_t *s)
{
    s->inflight--;
    pthread_cond_broadcast(&s->cv);
}

static void completed(const void *data, int rc)
{
    uint64_t t = now_ns();
    slot_t *sl = (slot_t *)(uintptr_t)data;
    sess_t *s = sl->s;
    bool again;

    atomic_fetch_add(&g.completions, 1);
    atomic_fetch_add(&s->done, 1);
    pthread_mutex_lock(&s->mu);
    if (rc != ZOK) {
        count_error(s, rc);
    } else if (atomic_load(&g.phase) == PH_MEASURE) {
        if (g.count) {
            uint64_t n = atomic_fetch_add(&g.measured, 1);
            if (n < g.count)
                record(s, t - sl->t0);
            if (n + 1 >= g.count)
                atomic_store(&g.count_reached, true);
        } else {
            record(s, t - sl->t0);
        }
    }
    again = atomic_load(&g.phase) != PH_STOP && !s->dead &&
            !atomic_load(&g.count_reached);
    if (!again)
        lane_done(s);
    pthread_mutex_unlock(&s->mu);
    if (!again)
        return;
#ifndef ZKLOAD_ST
    if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT)
        sleep_ns(10 * 1000000u); /* do not spin while reconnecting */
#endif
    int irc = issue(sl);
    if (irc != ZOK) {
        pthread_mutex_lock(&s->mu);
        count_error(s, irc);
        lane_done(s);
        pthread_mutex_unlock(&s->mu);
    }
}

static void on_create(int rc, const char *value, const void *data)
{
    (void)value;
    completed(data, rc);
}

static void on_set(int rc, const struct Stat *stat, const void *data)
{
    (void)stat;
    completed(data, rc);
}

static void on_get(int rc, const char *value, int value_len,
                   const struct Stat *stat, const void *data)
{
    (void)stat;
    if (rc == ZOK && value_len != g.datalen)
        rc = ZRUNTIMEINCONSISTENCY; /* counted as an error */
    (void)value;
    completed(data, rc);
}

/* ---- sessions ---------------------------------------------------------- */

static void watcher(zhandle_t *zh, int type, int state, const char *path,
                    void *ctx)
{
    sess_t *s = ctx;
    (void)zh;
    (void)path;
    if (type != ZOO_SESSION_EVENT || !s)
        return;
    pthread_mutex_lock(&s->mu);
    if (state == ZOO_CONNECTED_STATE) {
        s->was_connected = true;
    } else if (state == ZOO_EXPIRED_SESSION_STATE ||
               state == ZOO_AUTH_FAILED_STATE) {
        s->expired = true;
        s->dead = true;
    } else if (s->state == ZOO_CONNECTED_STATE) {
        s->disconnects++;
    }
    s->state = state;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

#ifndef ZKLOAD_ST
static void deadline_ts(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    uint64_t ns = (uint64_t)ts->tv_nsec + (ms % 1000) * 1000000u;
    ts->tv_sec += (time_t)(ms / 1000 + ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}
#endif

/* Waits (at most ms) until pred(s) holds; returns whether it does. */
static bool wait_for(sess_t *s, bool (*pred)(const sess_t *), uint64_t ms)
{
#ifdef ZKLOAD_ST
    uint64_t end = now_ns() + ms * 1000000u;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool ok = pred(s);
        pthread_mutex_unlock(&s->mu);
        uint64_t t = now_ns();
        if (ok || t >= end)
            return ok;
        drive(end - t < 10000000u ? end - t : 10000000u);
    }
#else
    struct timespec ts;
    deadline_ts(&ts, ms);
    pthread_mutex_lock(&s->mu);
    while (!pred(s)) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    }
    bool ok = pred(s);
    pthread_mutex_unlock(&s->mu);
    return ok;
#endif
}

static bool is_connected(const sess_t *s)
{
    return s->state == ZOO_CONNECTED_STATE || s->dead;
}

static bool setup_done(const sess_t *s)
{
    return s->setup_pending == 0;
}

static bool drained(const sess_t *s)
{
    return s->inflight == 0;
}

static void on_setup_create(int rc, const char *value, const void *data)
{
    sess_t *s = (sess_t *)(uintptr_t)data;
    (void)value;
    pthread_mutex_lock(&s->mu);
    if (rc != ZOK && rc != ZNODEEXISTS) {
        count_error(s, rc);
        s->setup_rc = rc;
    }
    s->setup_pending--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void on_setup_sync(int rc, const char *value, const void *data)
{
    on_setup_create(rc == ZNODEEXISTS ? ZSYSTEMERROR : rc, value, data);
}

/* Creates PREFIX (asynchronously: the single-threaded library has no
 * synchronous calls). */
static int create_prefix(void)
{
    sess_t *s = &g.sess[0];
    pthread_mutex_lock(&s->mu);
    s->setup_pending++;
    pthread_mutex_unlock(&s->mu);
    int rc = zoo_acreate(s->zh, g.prefix, "", 0, &ZOO_OPEN_ACL_UNSAFE,
                         ZOO_PERSISTENT, on_setup_create, s);
    if (rc != ZOK)
        on_setup_create(rc, NULL, s);
    if (!wait_for(s, setup_done, 30000 + (uint64_t)g.timeout_ms))
        s->setup_rc = ZOPERATIONTIMEOUT;
    if (s->setup_rc != ZOK) {
        fprintf(stderr, "zkload: create %s: %s\n", g.prefix,
                zerror(s->setup_rc));
        return -1;
    }
    return 0;
}

/* Creates PREFIX and the keys, then syncs every session. */
static int setup(void)
{
    const int n = g.nsess;
    int rc;
    if (create_prefix() != 0)
        return -1;
    if (g.workload != W_CREATE) {
        for (int k = 0; k < g.nkeys; k++) {
            sess_t *s = &g.sess[k % n];
            char path[PATH_LEN];
            snprintf(path, sizeof path, "%s/k-%d", g.prefix, k);
            pthread_mutex_lock(&s->mu);
            s->setup_pending++;
            pthread_mutex_unlock(&s->mu);
            rc = zoo_acreate(s->zh, path, g.data, g.datalen,
                             &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                             on_setup_create, s);
            if (rc != ZOK)
                on_setup_create(rc, NULL, s);
        }
    }
    for (int i = 0; i < n; i++) {
        sess_t *s = &g.sess[i];
        pthread_mutex_lock(&s->mu);
        s->setup_pending++;
        pthread_mutex_unlock(&s->mu);
        rc = zoo_async(s->zh, g.prefix, on_setup_sync, s);
        if (rc != ZOK)
            on_setup_sync(rc, NULL, s);
    }
    uint64_t wait_ms = 30000 + (uint64_t)g.timeout_ms;
    for (int i = 0; i < n; i++) {
        sess_t *s = &g.sess[i];
        if (!wait_for(s, setup_done, wait_ms)) {
            fprintf(stderr, "zkload: session %d: setup did not complete in "
                    "%" PRIu64 " ms\n", i, wait_ms);
            count_error(s, ZOPERATIONTIMEOUT);
            return -1;
        }
        if (s->setup_rc != ZOK) {
            fprintf(stderr, "zkload: session %d: setup failed: %s\n", i,
                    zerror(s->setup_rc));
            return -1;
        }
    }
    return 0;
}

/* ---- results ----------------------------------------------------------- */

/* The stall monitor, polled by the main thread: returns how long session s
 * has gone without a completion while it had requests in flight, and
 * reports (-S) a stall that ended (or is still going on at the end). */
static uint64_t monitor(sess_t *s, uint64_t t, bool final)
{
    uint64_t c = atomic_load(&s->done);
    uint64_t gap = t - s->mon_since;
    bool progress = c != s->mon_last;
    if (g.stall_report_ms > 0 && (progress || final) &&
        (double)gap >= g.stall_report_ms * 1e6) {
        struct tm tm;
        char when[32];
        localtime_r(&s->mon_since_rt.tv_sec, &tm);
        strftime(when, sizeof when, "%H:%M:%S", &tm);
        fprintf(stderr, "zkload: session %d (%s): no completion for %.0f ms "
                "from %s.%03ld%s\n", s->id, s->host, (double)gap / 1e6, when,
                s->mon_since_rt.tv_nsec / 1000000,
                progress ? "" : " (still stalled at the end)");
    }
    if (progress) {
        s->mon_last = c;
        s->mon_since = t;
        clock_gettime(CLOCK_REALTIME, &s->mon_since_rt);
        return 0;
    }
    return gap;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t r = (size_t)((double)n * p + 0.999999999);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return (double)v[r - 1] / 1000.0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zkload [options] HOST:PORT[,HOST:PORT...]\n"
            "  -w create|set|get  workload (default set)\n"
            "  -m seq|unique      create: sequential or unique names (seq)\n"
            "  -n N               sessions (8), spread over the servers\n"
            "  -r                 let the client order the servers at random\n"
            "  -d N               requests in flight per session (64)\n"
            "  -t SECS            measure for SECS seconds (5)\n"
            "  -c N               or until N requests completed\n"
            "  -W SECS            warm-up, not measured (1)\n"
            "  -k N               set/get: number of nodes (1000)\n"
            "  -b N               data bytes (100)\n"
            "  -p PATH            parent znode (/zkload)\n"
            "  -T MS              session timeout (10000)\n"
            "  -S MS              report stalls of MS ms or more on stderr\n"
            "  -R                 let the library resolve the server names\n"
            "                     again before every poll (its default)\n"
            "  -P PID,...         also report the CPU these processes (the\n"
            "                     servers) used during the measurement\n"
            "  -v                 the client library logs at INFO (WARN)\n");
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
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

static int parse_options(int argc, char **argv)
{
    int c;
    long v;
    g.nsess = 8;
    g.depth = 64;
    g.workload = W_SET;
    g.sequential = true;
    g.secs = 5;
    g.warm = 1;
    g.nkeys = 1000;
    g.datalen = 100;
    g.prefix = "/zkload";
    g.timeout_ms = 10000;
    int loglevel = ZOO_LOG_LEVEL_WARN;

    while ((c = getopt(argc, argv, "w:m:n:rd:t:c:W:k:b:p:T:S:RP:vh")) != -1) {
        switch (c) {
        case 'w':
            if (!strcmp(optarg, "create"))
                g.workload = W_CREATE;
            else if (!strcmp(optarg, "set"))
                g.workload = W_SET;
            else if (!strcmp(optarg, "get"))
                g.workload = W_GET;
            else
                return -1;
            break;
        case 'm':
            if (!strcmp(optarg, "seq") || !strcmp(optarg, "sequential"))
                g.sequential = true;
            else if (!strcmp(optarg, "unique"))
                g.sequential = false;
            else
                return -1;
            break;
        case 'n':
            if (parse_int(optarg, 1, 4096, &v))
                return -1;
            g.nsess = (int)v;
            break;
        case 'r':
            g.all_hosts = true;
            break;
        case 'd':
            if (parse_int(optarg, 1, 100000, &v))
                return -1;
            g.depth = (int)v;
            break;
        case 't':
            if (parse_secs(optarg, &g.secs) || g.secs <= 0)
                return -1;
            break;
        case 'c':
            if (parse_int(optarg, 1, 2000000000L, &v))
                return -1;
            g.count = (uint64_t)v;
            break;
        case 'W':
            if (parse_secs(optarg, &g.warm))
                return -1;
            break;
        case 'k':
            if (parse_int(optarg, 1, 10000000L, &v))
                return -1;
            g.nkeys = (int)v;
            break;
        case 'b':
            if (parse_int(optarg, 0, 1 << 20, &v))
                return -1;
            g.datalen = (int)v;
            break;
        case 'p':
            if (optarg[0] != '/' || optarg[1] == '\0' ||
                strlen(optarg) > PATH_LEN - 64)
                return -1;
            g.prefix = optarg;
            break;
        case 'T':
            if (parse_int(optarg, 100, 3600000L, &v))
                return -1;
            g.timeout_ms = (int)v;
            break;
        case 'S':
            if (parse_secs(optarg, &g.stall_report_ms))
                return -1;
            break;
        case 'R':
            g.resolve = true;
            break;
        case 'P':
            if (parse_pids(optarg))
                return -1;
            break;
        case 'v':
            loglevel = ZOO_LOG_LEVEL_INFO;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc - 1)
        return -1;
    g.hosts = argv[optind];
    zoo_set_debug_level((ZooLogLevel)loglevel);
    return 0;
}

/* Splits the connect string; returns the number of hosts. */
static int split_hosts(char *buf, char **hosts)
{
    int n = 0;
    for (char *save = NULL, *h = strtok_r(buf, ",", &save);
         h && n < MAX_HOSTS; h = strtok_r(NULL, ",", &save))
        hosts[n++] = h;
    return n;
}

int main(int argc, char **argv)
{
    if (parse_options(argc, argv) != 0) {
        usage(stderr);
        return 2;
    }

    g.data = malloc((size_t)g.datalen + 1);
    g.sess = calloc((size_t)g.nsess, sizeof *g.sess);
    g.pfd = calloc((size_t)g.nsess, sizeof *g.pfd);
    char *hostbuf = strdup(g.hosts);
    if (!g.data || !g.sess || !g.pfd || !hostbuf) {
        fprintf(stderr, "zkload: out of memory\n");
        return 2;
    }
    for (int i = 0; i < g.datalen; i++)
        g.data[i] = (char)('a' + i % 26);
    g.runid = (unsigned)getpid() ^ (unsigned)(now_ns() >> 10);

    char *hosts[MAX_HOSTS];
    int nh = split_hosts(hostbuf, hosts);
    if (nh == 0) {
        usage(stderr);
        return 2;
    }
    /* Session i: the servers from i mod nh on, in that order. */
    size_t rotlen = strlen(g.hosts) + 2;
    char *rot = malloc((size_t)nh * rotlen);
    if (!rot) {
        fprintf(stderr, "zkload: out of memory\n");
        return 2;
    }
    for (int k = 0; k < nh; k++) {
        char *r = rot + (size_t)k * rotlen;
        r[0] = '\0';
        for (int j = 0; j < nh; j++) {
            if (j)
                strcat(r, ",");
            strcat(r, hosts[(k + j) % nh]);
        }
    }
    if (!g.all_hosts)
        zoo_deterministic_conn_order(1);

    /* Connect. */
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        s->id = i;
        s->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) ^ g.runid;
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        s->slots = calloc((size_t)g.depth, sizeof *s->slots);
        if (!s->slots) {
            fprintf(stderr, "zkload: out of memory\n");
            return 2;
        }
        for (int j = 0; j < g.depth; j++)
            s->slots[j].s = s;
        const char *h = g.all_hosts ? g.hosts : rot + (size_t)(i % nh) * rotlen;
        s->host = g.all_hosts ? g.hosts : hosts[i % nh];
        s->zh = zookeeper_init(h, watcher, g.timeout_ms, NULL, s, 0);
        if (!s->zh) {
            fprintf(stderr, "zkload: zookeeper_init(%s): %s\n", h,
                    strerror(errno));
            return 2;
        }
        /* By default the library resolves the connect string again (a
         * getaddrinfo() per server, with a netlink query of the local
         * addresses) every time it prepares to poll, that is for every
         * batch of replies: measured here, that was most of its CPU and
         * capped it near 30,000 requests/s on two cores.  -1: resolve
         * only when reconnecting; the servers' addresses never change. */
        if (!g.resolve)
            zoo_set_servers_resolution_delay(s->zh, -1);
    }
    int status = 0;
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        if (!wait_for(s, is_connected, 20000) || s->dead) {
            fprintf(stderr, "zkload: session %d did not connect (%s)\n", i,
                    s->host);
            status = 2;
        }
    }
    if (status == 0 && setup() != 0)
        status = 2;
    if (status != 0) {
        printf("workload=%s status=SETUP_FAILED\n", wname[g.workload]);
        fflush(stdout);
        for (int i = 0; i < g.nsess; i++)
            zookeeper_close(g.sess[i].zh);
        free(rot);
        free(hostbuf);
        return 2;
    }

    /* Load: every lane issues its first request. */
    uint64_t t_start = now_ns();
    atomic_store(&g.phase, g.warm > 0 ? PH_WARM : PH_MEASURE);
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        for (int j = 0; j < g.depth; j++) {
            pthread_mutex_lock(&s->mu);
            s->inflight++;
            pthread_mutex_unlock(&s->mu);
            int rc = issue(&s->slots[j]);
            if (rc != ZOK) {
                pthread_mutex_lock(&s->mu);
                count_error(s, rc);
                lane_done(s);
                pthread_mutex_unlock(&s->mu);
            }
        }
    }

    const uint64_t tick = 2 * 1000000u; /* poll every 2 ms */
    uint64_t t_measure = t_start + (uint64_t)(g.warm * 1e9);
    uint64_t t_end = t_measure + (uint64_t)(g.secs * 1e9);
    uint64_t max_gap = 0;
    bool monitoring = false;
    double cpu1 = g.warm > 0 ? 0 : cpu_secs(), cpu2;
    double scpu1 = g.warm > 0 ? 0 : server_cpu_secs(), scpu2;
    uint64_t t1 = t_start, t2 = t_start;
    for (;;) {
        uint64_t t = now_ns();
        int ph = atomic_load(&g.phase);
        if (ph == PH_WARM && t >= t_measure) {
            cpu1 = cpu_secs();
            scpu1 = server_cpu_secs();
            atomic_store(&g.phase, PH_MEASURE);
            t1 = t;
            continue;
        }
        if (ph == PH_MEASURE) {
            if (!monitoring) { /* no warm-up: t1 is t_start */
                monitoring = true;
                for (int i = 0; i < g.nsess; i++) {
                    g.sess[i].mon_last = atomic_load(&g.sess[i].done);
                    g.sess[i].mon_since = t;
                    clock_gettime(CLOCK_REALTIME, &g.sess[i].mon_since_rt);
                }
            }
            for (int i = 0; i < g.nsess; i++) {
                uint64_t gap = monitor(&g.sess[i], t, false);
                if (gap > max_gap)
                    max_gap = gap;
            }
            if (g.count ? atomic_load(&g.count_reached) : t >= t_end)
                break;
            if (g.count && t - t1 > 3600 * 1000000000ull)
                break; /* a count that never completes */
        }
        drive(tick);
    }
    /* t1 was read before the phase became MEASURE and t2 is read after it
     * became STOP: every recorded op completed within [t1, t2]. */
    atomic_store(&g.phase, PH_STOP);
    t2 = now_ns();
    cpu2 = cpu_secs();
    scpu2 = server_cpu_secs();
    for (int i = 0; i < g.nsess && monitoring; i++)
        monitor(&g.sess[i], t2, true); /* report a stall still going on */

    /* Drain. */
    uint64_t stuck = 0;
    uint64_t drain_ms = g.timeout_ms > 10000 ? (uint64_t)g.timeout_ms : 10000;
    uint64_t drain_end = now_ns() + drain_ms * 1000000u;
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        uint64_t t = now_ns();
        uint64_t left = t < drain_end ? (drain_end - t) / 1000000u : 0;
        wait_for(s, drained, left);
    }

    /* Snapshot the results before closing (close fails what is left). */
    size_t total = 0;
    uint64_t errs[NERR] = {0}, nerr = 0;
    unsigned disconnects = 0, expired = 0;
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        pthread_mutex_lock(&s->mu);
        stuck += (uint64_t)s->inflight;
        s->dead = true;
        total += s->nlat;
        for (int k = 0; k < NERR; k++) {
            errs[k] += s->errs[k];
            nerr += s->errs[k];
        }
        disconnects += s->disconnects;
        expired += s->expired;
        pthread_mutex_unlock(&s->mu);
    }
    uint64_t *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) {
        fprintf(stderr, "zkload: out of memory\n");
        return 2;
    }
    size_t at = 0;
    double sum = 0;
    for (int i = 0; i < g.nsess; i++) {
        sess_t *s = &g.sess[i];
        pthread_mutex_lock(&s->mu);
        memcpy(all + at, s->lat, s->nlat * sizeof *all);
        at += s->nlat;
        pthread_mutex_unlock(&s->mu);
    }
    for (size_t k = 0; k < total; k++)
        sum += (double)all[k];
    qsort(all, total, sizeof *all, cmp_u64);

    double secs = (double)(t2 - t1) / 1e9;
    char scpu[64] = "";
    if (g.npids > 0 && scpu1 >= 0 && scpu2 >= scpu1 && secs > 0)
        snprintf(scpu, sizeof scpu, " server_cpu_cores=%.2f",
                 (scpu2 - scpu1) / secs);
    bool bad = nerr || stuck || disconnects || expired || total == 0;
    printf("workload=%s%s sessions=%d depth=%d secs=%.3f ops=%zu "
           "ops_per_s=%.0f avg_us=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f "
           "p999_us=%.0f max_us=%.0f max_gap_ms=%.0f cpu_cores=%.2f%s "
           "errors=%" PRIu64
           " stuck=%" PRIu64 " disconnects=%u expired=%u status=%s\n",
           wname[g.workload],
           g.workload == W_CREATE ? (g.sequential ? "-seq" : "-unique") : "",
           g.nsess, g.depth, secs, total, secs > 0 ? (double)total / secs : 0,
           total ? sum / (double)total / 1000.0 : 0, pct(all, total, 0.50),
           pct(all, total, 0.90), pct(all, total, 0.99),
           pct(all, total, 0.999), total ? (double)all[total - 1] / 1000.0 : 0,
           (double)max_gap / 1e6, secs > 0 ? (cpu2 - cpu1) / secs : 0, scpu,
           nerr, stuck, disconnects, expired,
           bad ? "ERRORS" : "ok");
    fflush(stdout);
    if (bad) {
        fprintf(stderr, "zkload: %s: the run had errors:", wname[g.workload]);
        for (int k = 0; k < NERR; k++)
            if (errs[k])
                fprintf(stderr, " %s(%d) x%" PRIu64 ";", zerror(-k), -k,
                        errs[k]);
        if (stuck)
            fprintf(stderr, " %" PRIu64 " requests never completed;", stuck);
        if (disconnects)
            fprintf(stderr, " %u disconnections;", disconnects);
        if (expired)
            fprintf(stderr, " %u sessions expired;", expired);
        if (total == 0)
            fprintf(stderr, " no request completed in the window;");
        fprintf(stderr, "\n");
    }

    for (int i = 0; i < g.nsess; i++)
        zookeeper_close(g.sess[i].zh);
    for (int i = 0; i < g.nsess; i++) {
        free(g.sess[i].lat);
        free(g.sess[i].slots);
        pthread_mutex_destroy(&g.sess[i].mu);
        pthread_cond_destroy(&g.sess[i].cv);
    }
    free(all);
    free(g.sess);
    free(g.pfd);
    free(g.data);
    free(hostbuf);
    free(rot);
    return bad ? 1 : 0;
}
