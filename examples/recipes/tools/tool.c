/*
 * tool.c -- shared helpers of the zk-* tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

atomic_int tool_stop;
FILE *tool_out;
int tool_show_sessions = 1;
static char prefix[160];
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void (*stop_fn)(void *);
static void *stop_arg;
static sigset_t stop_set;

/* Waits for SIGINT/SIGTERM, sets tool_stop, calls the stop hook. */
static void *signal_thread(void *arg)
{
    (void)arg;
    for (;;) {
        int sig;
        if (sigwait(&stop_set, &sig) != 0)
            continue;
        tool_stop = 1;
        pthread_mutex_lock(&out_mu);
        void (*fn)(void *) = stop_fn;
        void *fa = stop_arg;
        pthread_mutex_unlock(&out_mu);
        if (fn)
            fn(fa);
    }
    return NULL;
}

/* Sets the output prefix; blocks SIGINT/SIGTERM and starts the
 * signal thread. */
void tool_init(const char *prog, const char *who)
{
    if (who && *who)
        snprintf(prefix, sizeof prefix, "%s[%s]", prog, who);
    else
        snprintf(prefix, sizeof prefix, "%s[%ld]", prog, (long)getpid());
    /* whole lines only, even when stdout and stderr share a file */
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, signal_thread, NULL) != 0)
        die("cannot start the signal thread");
    pthread_detach(t);
}

/* Sets the hook the signal thread calls. */
void tool_on_stop(void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&out_mu);
    stop_fn = fn;
    stop_arg = arg;
    pthread_mutex_unlock(&out_mu);
}

/* Unblocks SIGINT/SIGTERM (for a child about to exec). */
void tool_child_signals(void)
{
    pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
}

/* One timestamped line, written whole under out_mu. */
static void vsay(FILE *f, const char *fmt, va_list ap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    pthread_mutex_lock(&out_mu);
    fprintf(f, "%02d:%02d:%02d.%03ld %s %s\n", tm.tm_hour, tm.tm_min,
            tm.tm_sec, ts.tv_nsec / 1000000L, prefix, msg);
    fflush(f);
    pthread_mutex_unlock(&out_mu);
}

/* Timestamped line to tool_out. */
void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(tool_out ? tool_out : stdout, fmt, ap);
    va_end(ap);
}

/* Timestamped line to stderr, exit status 2. */
void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(stderr, fmt, ap);
    va_end(ap);
    exit(2);
}

/* CLOCK_MONOTONIC in milliseconds. */
int64_t tool_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps in 50 ms slices, returning early on tool_stop. */
void tool_sleep(int ms)
{
    int64_t end = tool_now_ms() + ms;
    while (!tool_stop) {
        int64_t left = end - tool_now_ms();
        if (left <= 0)
            break;
        if (left > 50)
            left = 50;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Readable name of a ZKR_* holder state. */
const char *tool_state_name(int st)
{
    switch (st) {
    case ZKR_NOT_HELD: return "not held";
    case ZKR_HELD: return "held";
    case ZKR_UNSURE: return "unsure";
    case ZKR_LOST: return "lost";
    default: return "?";
    }
}

/* Prints each session event in words. */
static void on_session(void *arg, int event, int64_t sid)
{
    zkr_t *z = arg;
    unsigned long long s = (unsigned long long)sid;
    switch (event) {
    case ZKR_SESSION_NEW:
        say("connected: session 0x%llx, timeout %d ms", s,
            zkr_session_timeout(z));
        break;
    case ZKR_SESSION_DISCONNECTED:
        say("connection lost (session 0x%llx may live on); reconnecting", s);
        break;
    case ZKR_SESSION_RECONNECTED:
        say("reconnected: session 0x%llx survived", s);
        break;
    case ZKR_SESSION_EXPIRED:
        say("session 0x%llx expired: its ephemeral nodes are gone; starting "
            "a new session", s);
        break;
    case ZKR_SESSION_GIVEN_UP:
        say("disconnected for longer than the session timeout: treating "
            "session 0x%llx as expired; starting a new session", s);
        break;
    }
}

/* Prints the library's explanations (with -v). */
static void on_log(void *arg, const char *msg)
{
    (void)arg;
    say("(zkr) %s", msg);
}

/* zkr_open() plus the tool's session printing and optional wait. */
zkr_t *tool_open(const char *hosts, int timeout_ms, int verbose, int wait_ms)
{
    if (!hosts)
        hosts = getenv("ZK_HOSTS");
    if (!hosts || !*hosts)
        hosts = "127.0.0.1:2181";
    zkr_t *z;
    int rc = zkr_open(hosts, timeout_ms, &z);
    if (rc != ZKR_OK)
        die("cannot open a session on %s: %s", hosts, zkr_strerror(rc));
    if (tool_show_sessions)
        zkr_set_session_cb(z, on_session, z);
    if (verbose)
        zkr_set_log(z, on_log, NULL);
    if (wait_ms >= 0) {
        int64_t end = tool_now_ms() + wait_ms;
        while (!tool_stop && zkr_wait_connected(z, 100) != ZKR_OK)
            if (tool_now_ms() >= end) {
                zkr_close(z);
                die("no ZooKeeper server reachable at %s", hosts);
            }
    }
    return z;
}

/* One O_APPEND write of one event line (the tests' log). */
void tool_event(const char *path, const char *event, const char *fmt, ...)
{
    if (!path)
        return;
    char line[512];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(line, sizeof line, "%s %ld %lld.%06ld ", event,
                     (long)getpid(), (long long)ts.tv_sec,
                     ts.tv_nsec / 1000L);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        die("cannot open %s: %s", path, strerror(errno));
    if (write(fd, line, (size_t)n) != n)
        die("cannot write %s: %s", path, strerror(errno));
    close(fd);
}
