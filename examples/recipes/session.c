/*
 * session.c -- the zkr_t: one ZooKeeper session at a time, replaced when it
 * expires; the worker thread; the wrappers every recipe uses; protected
 * create and guaranteed delete.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zkr_int.h"

/* ---- small helpers ---------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds. */
int64_t zkr__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* now + timeout_ms, or INT64_MAX for a negative timeout. */
int64_t zkr__deadline(int timeout_ms)
{
    return timeout_ms < 0 ? INT64_MAX : zkr__now_ms() + timeout_ms;
}

/* pthread_cond_(timed)wait on z->cv (a CLOCK_MONOTONIC condvar). */
void zkr__cond_wait(zkr_t *z, int64_t deadline)
{
    if (deadline == INT64_MAX) {
        pthread_cond_wait(&z->cv, &z->mu);
        return;
    }
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline / 1000);
    ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
    pthread_cond_timedwait(&z->cv, &z->mu, &ts);
}

/* strdup for C11 (NULL when out of memory). */
char *zkr__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* dir + "/" + name into out; -1 if it does not fit. */
int zkr__join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "", name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Checks an absolute ZooKeeper path (see zkr_int.h). */
int zkr__valid_path(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    if (n == 0 || path[0] != '/' || n >= ZKR_PATH_MAX)
        return 0;
    if (n == 1)
        return 1;
    if (path[n - 1] == '/')
        return 0;
    const char *p = path;
    while (*p) {
        const char *c = p + 1, *e = strchr(c, '/');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l == 0 || (l == 1 && c[0] == '.') ||
            (l == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        p = c + l;
    }
    return 1;
}

/* Parses the ten trailing digits of a sequential node's name. */
int64_t zkr__seq(const char *name)
{
    size_t n = strlen(name);
    if (n < 10)
        return -1;
    const char *d = name + n - 10;
    int64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (d[i] < '0' || d[i] > '9')
            return -1;
        v = v * 10 + (d[i] - '0');
    }
    return v;
}

/* Orders node names by sequence number, then by name. */
static int cmp_seq(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int64_t sx = zkr__seq(x), sy = zkr__seq(y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return strcmp(x, y);
}

/* Sorts children the way the queue recipes need them. */
void zkr__sort_by_seq(char **names, int n)
{
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, cmp_seq);
}

/* Connection loss (or its timeout twin): retry after reconnection. */
int zkr__is_transient(int rc)
{
    return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT;
}

/* Static descriptions of the ZKR_E* codes. */
const char *zkr_strerror(int rc)
{
    switch (rc) {
    case ZKR_OK: return "success";
    case ZKR_ETIMEOUT: return "timed out";
    case ZKR_EBUSY: return "held by someone else";
    case ZKR_ELOST: return "session expired: what was held is lost";
    case ZKR_ECLOSED: return "closing";
    case ZKR_EEXIST: return "already exists";
    case ZKR_ENOENT: return "no such name or node";
    case ZKR_EINVAL: return "invalid argument";
    case ZKR_ENOMEM: return "out of memory";
    case ZKR_EZK: return "ZooKeeper error";
    case ZKR_ENOTHELD: return "not held";
    case ZKR_ERANGE: return "buffer too small";
    case ZKR_ECANCELED: return "canceled";
    default: return "unknown error";
    }
}

/* ZooKeeper code to ZKR code; unexpected codes are logged. */
int zkr__err(zkr_t *z, int rc, const char *what)
{
    switch (rc) {
    case ZOK: return ZKR_OK;
    case ZNONODE: return ZKR_ENOENT;
    case ZNODEEXISTS: return ZKR_EEXIST;
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE: return ZKR_ELOST;
    case ZCLOSING: return ZKR_ECLOSED;
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT: return ZKR_ETIMEOUT;
    case ZBADARGUMENTS: return ZKR_EINVAL;
    default:
        zkr__log(z, "%s: ZooKeeper error %d (%s)", what, rc, zerror(rc));
        return ZKR_EZK;
    }
}

/* Formats a message and hands it to the user's log function. */
void zkr__log(zkr_t *z, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&z->log_mu);
    zkr_log_fn fn = z->log_fn;
    void *arg = z->log_arg;
    pthread_mutex_unlock(&z->log_mu);
    if (fn)
        fn(arg, buf);
}

/* The client library's own log: stderr if ZKR_ZK_LOG is set, else dropped
 * (it reports every refused connection while a server is down). */
static void zk_log_cb(const char *msg)
{
    static int on = -1;
    if (on < 0)
        on = getenv("ZKR_ZK_LOG") != NULL;
    if (on)
        fprintf(stderr, "zookeeper: %s\n", msg);
}

/* Test hook driven by ZKR_FAULT_CREATE (see zkr_int.h). */
int zkr__fault_create(void)
{
    static atomic_int every = -1;
    static atomic_uint count;
    int e = atomic_load(&every);
    if (e < 0) {
        const char *s = getenv("ZKR_FAULT_CREATE");
        e = s ? atoi(s) : 0;
        atomic_store(&every, e);
    }
    if (e <= 0)
        return 0;
    return (atomic_fetch_add(&count, 1) + 1) % (unsigned)e == 0;
}

/* ---- tasks ----------------------------------------------------------- */

/* 1 if path is prefix itself or below it. */
static int under_prefix(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    if (strncmp(prefix, path, n) != 0)
        return 0;
    return path[n] == '\0' || path[n] == '/' || (n == 1 && prefix[0] == '/');
}

/* Marks every task to run (session events), z->mu held. */
static void dirty_all_locked(zkr_t *z)
{
    for (zkr_task_t *t = z->tasks; t; t = t->next)
        t->dirty = 1;
}

/* Appends a task and marks it to run. */
void zkr__task_add(zkr_t *z, zkr_task_t *t)
{
    pthread_mutex_lock(&z->mu);
    t->next = NULL;
    zkr_task_t **pp = &z->tasks;
    while (*pp)
        pp = &(*pp)->next;
    *pp = t;
    t->dirty = 1;
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
}

/* Unlinks a task after any running step ends (unless called from
 * the worker itself). */
void zkr__task_remove(zkr_t *z, zkr_task_t *t)
{
    pthread_mutex_lock(&z->mu);
    int on_worker = z->worker_started &&
                    pthread_equal(pthread_self(), z->worker);
    while (t->busy && !on_worker)
        pthread_cond_wait(&z->cv, &z->mu);
    for (zkr_task_t **pp = &z->tasks; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    pthread_mutex_unlock(&z->mu);
}

/* Marks a task to run and wakes the worker. */
void zkr__task_kick(zkr_t *z, zkr_task_t *t)
{
    pthread_mutex_lock(&z->mu);
    t->dirty = 1;
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
}

/* Schedules a task delay_ms from now, z->mu held. */
void zkr__task_retry_locked(zkr_t *z, zkr_task_t *t, int delay_ms)
{
    int64_t at = zkr__now_ms() + delay_ms;
    if (t->due == 0 || at < t->due)
        t->due = at;
    pthread_cond_broadcast(&z->cv);
}

/* ---- session events --------------------------------------------------- */

/* Queues a session event for the user's callback, z->mu held. */
static void push_event_locked(zkr_t *z, int ev, int64_t sid)
{
    if (z->evq_len == ZKR_EVQ) {        /* drop the oldest */
        z->evq_head = (z->evq_head + 1) % ZKR_EVQ;
        z->evq_len--;
    }
    int i = (z->evq_head + z->evq_len) % ZKR_EVQ;
    z->evq[i] = ev;
    z->evq_sid[i] = sid;
    z->evq_len++;
}

/* The one watcher of every handle, for session and watch events alike.  It
 * runs on the client's completion thread: record, signal, return. */
static void zkr_watcher(zhandle_t *zh, int type, int state, const char *path,
                        void *ctx)
{
    zkr_handle_t *h = ctx;
    zkr_t *z = h->z;
    pthread_mutex_lock(&z->mu);
    if (h->gen != z->gen || z->stop) {  /* a replaced handle's last words */
        pthread_mutex_unlock(&z->mu);
        return;
    }
    z->event_seq++;
    if (type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE) {
            if (z->state != ZOO_CONNECTED_STATE) {
                const clientid_t *cid = zoo_client_id(zh);
                int64_t sid = cid ? cid->client_id : 0;
                int fresh = z->session_id == 0;
                z->session_id = sid;
                z->negotiated_ms = zoo_recv_timeout(zh);
                z->state = ZOO_CONNECTED_STATE;
                z->connects++;
                push_event_locked(z, fresh ? ZKR_SESSION_NEW
                                           : ZKR_SESSION_RECONNECTED, sid);
            }
        } else if (state == ZOO_CONNECTING_STATE ||
                   state == ZOO_ASSOCIATING_STATE) {
            if (z->state == ZOO_CONNECTED_STATE) {
                z->disconnected_at = zkr__now_ms();
                push_event_locked(z, ZKR_SESSION_DISCONNECTED, z->session_id);
            }
            if (z->state != ZOO_EXPIRED_SESSION_STATE)
                z->state = ZOO_CONNECTING_STATE;
        } else if (state == ZOO_EXPIRED_SESSION_STATE ||
                   state == ZOO_AUTH_FAILED_STATE) {
            if (z->state != ZOO_EXPIRED_SESSION_STATE) {
                z->state = ZOO_EXPIRED_SESSION_STATE;
                z->renew = 1;
                z->renew_due = 0;
                push_event_locked(z, ZKR_SESSION_EXPIRED, z->session_id);
            }
        }
        dirty_all_locked(z);
    } else if (path) {
        for (zkr_task_t *t = z->tasks; t; t = t->next) {
            if (t->notify)
                t->notify(t, type, path);
            if (t->prefix && under_prefix(t->prefix, path))
                t->dirty = 1;
        }
    }
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
}

/* ---- handles --------------------------------------------------------- */

/* zookeeper_close() (never with z->mu held) and free. */
static void close_handle(zkr_handle_t *h)
{
    if (h->zh)
        zookeeper_close(h->zh);
    free(h);
}

/* Replaces cur by a new handle with a new session.  z->mu held on entry
 * and exit; dropped around zookeeper_init/close. */
static void renew_locked(zkr_t *z)
{
    zkr_handle_t *old = z->cur, *to_close = NULL;
    z->cur = NULL;
    z->gen++;
    z->state = 0;
    z->session_id = 0;
    z->event_seq++;
    dirty_all_locked(z);
    /* deletes of the old session: its ephemerals are gone or going */
    for (zkr_pending_delete_t **pp = &z->deletes; *pp;) {
        zkr_pending_delete_t *d = *pp;
        if (d->gen != z->gen) {
            *pp = d->next;
            free(d->path);
            free(d);
        } else {
            pp = &d->next;
        }
    }
    if (old) {
        old->retired = 1;
        if (old->refs == 0) {
            to_close = old;
        } else {
            old->next = z->retired;
            z->retired = old;
        }
    }
    uint64_t gen = z->gen;
    char *hosts = z->hosts;     /* never changes */
    int timeout = z->requested_ms;
    char *scheme = NULL, *cert = NULL;
    if (z->auth_scheme) {
        scheme = zkr__strdup(z->auth_scheme);
        cert = zkr__strdup(z->auth_cert);
    }
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);

    if (to_close)
        close_handle(to_close);
    zkr_handle_t *h = calloc(1, sizeof *h);
    zhandle_t *zh = NULL;
    if (h) {
        h->z = z;
        h->gen = gen;
        zh = zookeeper_init2(hosts, zkr_watcher, timeout, NULL, h, 0,
                             zk_log_cb);
        if (zh && scheme && cert)
            zoo_add_auth(zh, scheme, cert, (int)strlen(cert), NULL, NULL);
    }
    free(scheme);
    free(cert);

    pthread_mutex_lock(&z->mu);
    if (!zh) {
        free(h);
        z->renew = 1;
        z->renew_due = zkr__now_ms() + 1000;
        pthread_mutex_unlock(&z->mu);
        zkr__log(z, "cannot create a ZooKeeper handle (%s); retrying in 1 s",
                 strerror(errno));
        pthread_mutex_lock(&z->mu);
        return;
    }
    h->zh = zh;
    z->cur = h;
    z->renew = 0;
    z->event_seq++;
    pthread_cond_broadcast(&z->cv);
}

/* Takes a reference on the handle of generation gen (0: current). */
static int begin(zkr_t *z, uint64_t gen, zkr_handle_t **hp)
{
    int rc = ZOK;
    pthread_mutex_lock(&z->mu);
    if (z->stop)
        rc = ZCLOSING;
    else if (gen && gen != z->gen)
        rc = ZSESSIONEXPIRED;
    else if (!z->cur)
        rc = ZCONNECTIONLOSS;
    else {
        *hp = z->cur;
        z->cur->refs++;
    }
    pthread_mutex_unlock(&z->mu);
    return rc;
}

/* Drops the reference taken by begin(); the last reference to a
 * retired handle closes it.  Maps ZINVALIDSTATE to ZSESSIONEXPIRED. */
static int end(zkr_t *z, zkr_handle_t *h, int rc)
{
    int close_it = 0;
    pthread_mutex_lock(&z->mu);
    if (--h->refs == 0 && h->retired) {
        close_it = 1;
        for (zkr_handle_t **pp = &z->retired; *pp; pp = &(*pp)->next)
            if (*pp == h) {
                *pp = h->next;
                break;
            }
        pthread_cond_broadcast(&z->cv);
    }
    pthread_mutex_unlock(&z->mu);
    if (close_it)
        close_handle(h);
    if (rc == ZINVALIDSTATE)          /* the handle's session is over */
        rc = ZSESSIONEXPIRED;
    return rc;
}

/* Connected in the given generation, z->mu held. */
int zkr__connected_locked(zkr_t *z, uint64_t gen)
{
    return z->cur && (gen == 0 || gen == z->gen) &&
           z->state == ZOO_CONNECTED_STATE;
}

int zkr__wait_connected(zkr_t *z, uint64_t gen, int64_t deadline,
                        uint64_t *got)
{
    return zkr__wait_connected_c(z, gen, deadline, got, NULL);
}

int zkr__wait_connected_c(zkr_t *z, uint64_t gen, int64_t deadline,
                          uint64_t *got, const int *cancel)
{
    int rc;
    pthread_mutex_lock(&z->mu);
    for (;;) {
        if (z->stop) {
            rc = ZCLOSING;
            break;
        }
        if (gen && gen != z->gen) {
            rc = ZSESSIONEXPIRED;
            break;
        }
        if (zkr__connected_locked(z, gen)) {
            if (got)
                *got = z->gen;
            rc = ZOK;
            break;
        }
        if (zkr__now_ms() >= deadline || (cancel && *cancel)) {
            rc = ZOPERATIONTIMEOUT;
            break;
        }
        zkr__cond_wait(z, deadline);
    }
    pthread_mutex_unlock(&z->mu);
    return rc;
}

/* ---- wrappers ----------------------------------------------------------- */

int zkr__create(zkr_t *z, uint64_t gen, const char *path, const void *data,
                int len, int mode, char *out, int outlen)
{
    zkr_handle_t *h;
    int rc = begin(z, gen, &h);
    if (rc != ZOK)
        return rc;
    const struct ACL_vector *acl = z->acl ? z->acl : &ZOO_OPEN_ACL_UNSAFE;
    rc = zoo_create(h->zh, path, data, data ? len : -1, acl, mode, out,
                    outlen);
    return end(z, h, rc);
}

/* zoo_delete on the handle of generation gen. */
int zkr__delete(zkr_t *z, uint64_t gen, const char *path, int version)
{
    zkr_handle_t *h;
    int rc = begin(z, gen, &h);
    if (rc != ZOK)
        return rc;
    rc = zoo_delete(h->zh, path, version);
    return end(z, h, rc);
}

int zkr__exists(zkr_t *z, uint64_t gen, const char *path, int watch,
                struct Stat *st)
{
    zkr_handle_t *h;
    struct Stat tmp;
    int rc = begin(z, gen, &h);
    if (rc != ZOK)
        return rc;
    rc = zoo_exists(h->zh, path, watch, st ? st : &tmp);
    return end(z, h, rc);
}

int zkr__get(zkr_t *z, uint64_t gen, const char *path, int watch,
             char **data, int *len, struct Stat *st)
{
    zkr_handle_t *h;
    struct Stat tmp;
    if (!st)
        st = &tmp;
    *data = NULL;
    *len = 0;
    int rc = begin(z, gen, &h);
    if (rc != ZOK)
        return rc;
    int cap = 4096;
    char *buf = NULL;
    for (;;) {
        char *nb = realloc(buf, (size_t)cap + 1);
        if (!nb) {
            free(buf);
            end(z, h, ZOK);
            return ZSYSTEMERROR;
        }
        buf = nb;
        int n = cap;
        rc = zoo_get(h->zh, path, watch, buf, &n, st);
        if (rc != ZOK) {
            free(buf);
            break;
        }
        if (st->dataLength > cap && cap < ZKR_DATA_MAX) {
            cap = st->dataLength;
            continue;
        }
        if (n < 0) {            /* a node without data */
            free(buf);
            break;
        }
        buf[n] = '\0';
        *data = buf;
        *len = n;
        break;
    }
    return end(z, h, rc);
}

int zkr__set(zkr_t *z, uint64_t gen, const char *path, const void *data,
             int len, int version)
{
    zkr_handle_t *h;
    int rc = begin(z, gen, &h);
    if (rc != ZOK)
        return rc;
    rc = zoo_set(h->zh, path, data, len, version);
    return end(z, h, rc);
}

int zkr__children(zkr_t *z, uint64_t gen, const char *path, int watch,
                  struct String_vector *sv)
{
    zkr_handle_t *h;
    memset(sv, 0, sizeof *sv);
    int rc = begin(z, gen, &h);
    if (rc != ZOK)
        return rc;
    rc = zoo_get_children(h->zh, path, watch, sv);
    if (rc != ZOK)
        memset(sv, 0, sizeof *sv);
    return end(z, h, rc);
}

/* zoo_async has no synchronous twin: wait for its completion. */
struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
};

/* Completion of zoo_async: wakes zkr__sync(). */
static void sync_done(int rc, const char *value, const void *data)
{
    struct sync_wait *w = (struct sync_wait *)(uintptr_t)data;
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* zoo_async, waited for: the server catches up with the leader. */
int zkr__sync(zkr_t *z, uint64_t gen, const char *path)
{
    zkr_handle_t *h;
    int rc = begin(z, gen, &h);
    if (rc != ZOK)
        return rc;
    struct sync_wait w = {.done = 0, .rc = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    rc = zoo_async(h->zh, path, sync_done, &w);
    if (rc == ZOK) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        rc = w.rc;
        pthread_mutex_unlock(&w.mu);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return end(z, h, rc);
}

/* Creates the missing persistent nodes down to path. */
int zkr__ensure_path(zkr_t *z, uint64_t gen, const char *path)
{
    int rc = zkr__exists(z, gen, path, 0, NULL);
    if (rc != ZNONODE)
        return rc;
    char buf[ZKR_PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return ZBADARGUMENTS;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        rc = zkr__create(z, gen, buf, NULL, -1, ZOO_PERSISTENT, NULL, 0);
        buf[i] = c;
        if (rc != ZOK && rc != ZNODEEXISTS)
            return rc;
    }
    return ZOK;
}

/* ---- protected create, guaranteed delete ------------------------------ */

/* Hands a delete to the worker until it succeeds or gen ends. */
static void queue_delete(zkr_t *z, uint64_t gen, const char *path)
{
    zkr_pending_delete_t *d = calloc(1, sizeof *d);
    char *p = zkr__strdup(path);
    if (!d || !p) {
        free(d);
        free(p);
        return;                 /* the session's end deletes it anyway */
    }
    d->gen = gen;
    d->path = p;
    pthread_mutex_lock(&z->mu);
    if (gen != z->gen) {
        free(p);
        free(d);
    } else {
        d->next = z->deletes;
        z->deletes = d;
        pthread_cond_broadcast(&z->cv);
    }
    pthread_mutex_unlock(&z->mu);
}

/* Looks for a child of dir whose name starts with tag; its full path goes
 * to out.  ZOK (found), ZNONODE (not there) or an error. */
static int find_tagged(zkr_t *z, uint64_t gen, const char *dir,
                       const char *tag, char *out, size_t outlen)
{
    struct String_vector sv;
    int rc = zkr__children(z, gen, dir, 0, &sv);
    if (rc != ZOK)
        return rc;
    rc = ZNONODE;
    for (int i = 0; i < sv.count; i++)
        if (strncmp(sv.data[i], tag, strlen(tag)) == 0) {
            rc = zkr__join(out, outlen, dir, sv.data[i]) ? ZBADARGUMENTS
                                                         : ZOK;
            break;
        }
    deallocate_String_vector(&sv);
    return rc;
}

int zkr__protected_create(zkr_t *z, uint64_t gen, const char *dir,
                          const char *kind, const void *data, int len,
                          int64_t deadline, const int *cancel, char *out,
                          size_t outlen)
{
    int rc = zkr__wait_connected_c(z, gen, deadline, NULL, cancel);
    if (rc != ZOK)
        return rc;
    pthread_mutex_lock(&z->mu);
    int64_t sid = z->session_id;
    uint32_t nonce = ++z->nonce;
    if (z->gen != gen)
        rc = ZSESSIONEXPIRED;
    pthread_mutex_unlock(&z->mu);
    if (rc != ZOK)
        return rc;

    char tag[64], path[ZKR_PATH_MAX], name[128];
    snprintf(tag, sizeof tag, "_c_%016" PRIx64 "-%08" PRIx32 "-",
             (uint64_t)sid, nonce);
    snprintf(name, sizeof name, "%s%s", tag, kind);
    if (zkr__join(path, sizeof path, dir, name))
        return ZBADARGUMENTS;

    int parents = 0, lost = 0;
    for (;;) {
        rc = zkr__create(z, gen, path, data, len, ZOO_EPHEMERAL_SEQUENTIAL,
                         out, (int)outlen);
        if (rc == ZOK && zkr__fault_create()) {
            zkr__log(z, "fault injection: dropping the reply to the create "
                        "of %s", out);
            rc = ZCONNECTIONLOSS;
        }
        if (rc == ZOK) {
            if (lost)
                zkr__log(z, "created %s after the connection loss", out);
            return ZOK;
        }
        if (rc == ZNONODE && parents++ < 3) {
            rc = zkr__ensure_path(z, gen, dir);
            if (rc == ZOK || zkr__is_transient(rc))
                continue;
            return rc;
        }
        if (!zkr__is_transient(rc))
            return rc;
        /* The create may or may not have happened.  Our node, if it
         * exists, is the child of dir that starts with our tag. */
        lost = 1;
        zkr__log(z, "connection lost while creating %s*; looking for our "
                    "node by its session tag once reconnected", path);
        for (;;) {
            rc = zkr__wait_connected_c(z, gen, deadline, NULL, cancel);
            if (rc == ZOPERATIONTIMEOUT) {
                /* Give up, but never leave a node behind that would block
                 * others for as long as our session lives. */
                char d[ZKR_PATH_MAX + 64];
                snprintf(d, sizeof d, "%s\n%s", dir, tag);
                queue_delete(z, gen, d);
                return rc;
            }
            if (rc != ZOK)
                return rc;
            rc = find_tagged(z, gen, dir, tag, out, outlen);
            if (rc == ZOK) {
                zkr__log(z, "found our node %s: the create had taken effect",
                         out);
                return ZOK;
            }
            if (rc == ZNONODE) {
                zkr__log(z, "no node with our tag: the create had not taken "
                            "effect; creating again");
                break;
            }
            if (!zkr__is_transient(rc))
                return rc;
        }
    }
}

int zkr__delete_guaranteed(zkr_t *z, uint64_t gen, const char *path,
                           int wait_ms)
{
    int64_t deadline = zkr__deadline(wait_ms);
    for (;;) {
        int rc = zkr__delete(z, gen, path, -1);
        if (rc == ZOK || rc == ZNONODE)
            return ZOK;
        if (rc == ZSESSIONEXPIRED || rc == ZCLOSING)
            return rc;
        if (!zkr__is_transient(rc))
            return rc;
        rc = zkr__wait_connected(z, gen, deadline, NULL);
        if (rc == ZOPERATIONTIMEOUT) {
            zkr__log(z, "still disconnected; the delete of %s will be "
                        "retried in the background", path);
            queue_delete(z, gen, path);
            return ZOK;
        }
        if (rc != ZOK)
            return rc;
    }
}

/* One pending delete, on the worker.  "dir\ntag" entries delete every
 * child of dir whose name starts with tag. */
static int run_delete(zkr_t *z, zkr_pending_delete_t *d)
{
    char *nl = strchr(d->path, '\n');
    if (!nl)
        return zkr__delete(z, d->gen, d->path, -1);
    *nl = '\0';
    char path[ZKR_PATH_MAX];
    int rc;
    while ((rc = find_tagged(z, d->gen, d->path, nl + 1, path,
                             sizeof path)) == ZOK) {
        rc = zkr__delete(z, d->gen, path, -1);
        if (rc != ZOK && rc != ZNONODE)
            break;
        zkr__log(z, "deleted %s, left behind by a create that timed out",
                 path);
    }
    *nl = '\n';
    return rc;
}

/* ---- the worker --------------------------------------------------------- */

/* The worker: local expiry, handle renewal, session callbacks,
 * background deletes and the recipe tasks, round-robin. */
static void *worker_main(void *arg)
{
    zkr_t *z = arg;
    pthread_mutex_lock(&z->mu);
    while (!z->stop) {
        int64_t now = zkr__now_ms(), wake = INT64_MAX;

        /* Disconnected for longer than the session timeout: the ensemble
         * has expired the session (or will), so stop believing in it. */
        if (z->cur && z->session_id && !z->renew &&
            z->state != ZOO_CONNECTED_STATE &&
            z->state != ZOO_EXPIRED_SESSION_STATE) {
            int64_t at = z->disconnected_at + z->negotiated_ms;
            if (now >= at) {
                push_event_locked(z, ZKR_SESSION_GIVEN_UP, z->session_id);
                z->renew = 1;
                z->renew_due = 0;
            } else if (at < wake) {
                wake = at;
            }
        }
        if (z->renew) {
            if (now >= z->renew_due) {
                renew_locked(z);
                continue;
            }
            if (z->renew_due < wake)
                wake = z->renew_due;
        }
        if (z->evq_len) {
            int ev = z->evq[z->evq_head];
            int64_t sid = z->evq_sid[z->evq_head];
            z->evq_head = (z->evq_head + 1) % ZKR_EVQ;
            z->evq_len--;
            zkr_session_fn fn = z->session_fn;
            void *fa = z->session_arg;
            pthread_mutex_unlock(&z->mu);
            if (fn)
                fn(fa, ev, sid);
            pthread_mutex_lock(&z->mu);
            continue;
        }
        if (z->deletes && zkr__connected_locked(z, 0)) {
            if (now >= z->deletes_due) {
                zkr_pending_delete_t *d = z->deletes;
                z->deletes = d->next;
                pthread_mutex_unlock(&z->mu);
                int rc = run_delete(z, d);
                pthread_mutex_lock(&z->mu);
                if (zkr__is_transient(rc) && d->gen == z->gen) {
                    d->next = z->deletes;
                    z->deletes = d;
                    z->deletes_due = zkr__now_ms() + ZKR_RETRY_MS;
                } else {
                    free(d->path);
                    free(d);
                }
                continue;
            }
            if (z->deletes_due < wake)
                wake = z->deletes_due;
        }
        zkr_task_t *run = NULL, **runp = NULL;
        for (zkr_task_t **pp = &z->tasks; *pp; pp = &(*pp)->next) {
            zkr_task_t *t = *pp;
            if (t->busy || !t->step)
                continue;
            if (t->dirty || (t->due && t->due <= now)) {
                run = t;
                runp = pp;
                break;
            }
            if (t->due && t->due < wake)
                wake = t->due;
        }
        if (run) {
            /* to the back of the list, so that every task gets its turn */
            *runp = run->next;
            zkr_task_t **pp = &z->tasks;
            while (*pp)
                pp = &(*pp)->next;
            *pp = run;
            run->next = NULL;
            run->busy = 1;
            run->dirty = 0;
            run->due = 0;
            pthread_mutex_unlock(&z->mu);
            run->step(run);
            pthread_mutex_lock(&z->mu);
            run->busy = 0;
            pthread_cond_broadcast(&z->cv);
            continue;
        }
        zkr__cond_wait(z, wake);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}

/* ---- public ------------------------------------------------------------ */

/* Allocates the zkr_t, opens the first handle, starts the worker. */
int zkr_open(const char *hosts, int session_timeout_ms, zkr_t **out)
{
    if (!hosts || !*hosts || session_timeout_ms <= 0 || !out)
        return ZKR_EINVAL;
    zkr_t *z = calloc(1, sizeof *z);
    if (!z)
        return ZKR_ENOMEM;
    z->hosts = zkr__strdup(hosts);
    if (!z->hosts) {
        free(z);
        return ZKR_ENOMEM;
    }
    z->requested_ms = session_timeout_ms;
    z->negotiated_ms = session_timeout_ms;
    /* tags must differ between processes that reuse a session id: they
     * cannot, but a random start costs nothing */
    z->nonce = (uint32_t)getpid() * 2654435761u ^ (uint32_t)zkr__now_ms();
    pthread_mutex_init(&z->mu, NULL);
    pthread_mutex_init(&z->log_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&z->cv, &ca);
    pthread_condattr_destroy(&ca);

    pthread_mutex_lock(&z->mu);
    renew_locked(z);
    pthread_mutex_unlock(&z->mu);
    if (pthread_create(&z->worker, NULL, worker_main, z) != 0) {
        zkr_close(z);
        return ZKR_ENOMEM;
    }
    z->worker_started = 1;
    *out = z;
    return ZKR_OK;
}

/* Stops the worker, waits for calls in flight, closes the session. */
void zkr_close(zkr_t *z)
{
    if (!z)
        return;
    pthread_mutex_lock(&z->mu);
    z->stop = 1;
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
    if (z->worker_started)
        pthread_join(z->worker, NULL);
    pthread_mutex_lock(&z->mu);
    while (z->retired || (z->cur && z->cur->refs))
        pthread_cond_wait(&z->cv, &z->mu);
    zkr_handle_t *h = z->cur;
    z->cur = NULL;
    pthread_mutex_unlock(&z->mu);
    if (h)
        close_handle(h);        /* closes the session: ephemerals go now */
    while (z->deletes) {
        zkr_pending_delete_t *d = z->deletes;
        z->deletes = d->next;
        free(d->path);
        free(d);
    }
    pthread_cond_destroy(&z->cv);
    pthread_mutex_destroy(&z->mu);
    pthread_mutex_destroy(&z->log_mu);
    free(z->auth_scheme);
    free(z->auth_cert);
    free(z->hosts);
    free(z);
}

/* Public wrapper of zkr__wait_connected() for any generation. */
int zkr_wait_connected(zkr_t *z, int timeout_ms)
{
    int rc = zkr__wait_connected(z, 0, zkr__deadline(timeout_ms), NULL);
    return rc == ZOK ? ZKR_OK : rc == ZCLOSING ? ZKR_ECLOSED : ZKR_ETIMEOUT;
}

/* Snapshot of the connection state. */
int zkr_is_connected(zkr_t *z)
{
    pthread_mutex_lock(&z->mu);
    int c = zkr__connected_locked(z, 0);
    pthread_mutex_unlock(&z->mu);
    return c;
}

/* The current session id (0 before the first connection). */
int64_t zkr_session_id(zkr_t *z)
{
    pthread_mutex_lock(&z->mu);
    int64_t sid = z->session_id;
    pthread_mutex_unlock(&z->mu);
    return sid;
}

/* The negotiated session timeout. */
int zkr_session_timeout(zkr_t *z)
{
    pthread_mutex_lock(&z->mu);
    int t = z->negotiated_ms;
    pthread_mutex_unlock(&z->mu);
    return t;
}

/* The current handle's generation. */
uint64_t zkr_generation(zkr_t *z)
{
    pthread_mutex_lock(&z->mu);
    uint64_t g = z->gen;
    pthread_mutex_unlock(&z->mu);
    return g;
}

/* Sets the session event callback. */
void zkr_set_session_cb(zkr_t *z, zkr_session_fn fn, void *arg)
{
    pthread_mutex_lock(&z->mu);
    z->session_fn = fn;
    z->session_arg = arg;
    pthread_mutex_unlock(&z->mu);
}

/* Sets the log function (under log_mu). */
void zkr_set_log(zkr_t *z, zkr_log_fn fn, void *arg)
{
    pthread_mutex_lock(&z->log_mu);
    z->log_fn = fn;
    z->log_arg = arg;
    pthread_mutex_unlock(&z->log_mu);
}

/* Sets the ACL used for every node the recipes create. */
void zkr_set_acl(zkr_t *z, const void *acl)
{
    pthread_mutex_lock(&z->mu);
    z->acl = acl;
    pthread_mutex_unlock(&z->mu);
}

/* Records the credentials for future handles and adds them now. */
int zkr_add_auth(zkr_t *z, const char *scheme, const char *cert)
{
    if (!scheme || !cert)
        return ZKR_EINVAL;
    char *s = zkr__strdup(scheme), *c = zkr__strdup(cert);
    if (!s || !c) {
        free(s);
        free(c);
        return ZKR_ENOMEM;
    }
    pthread_mutex_lock(&z->mu);
    free(z->auth_scheme);
    free(z->auth_cert);
    z->auth_scheme = s;
    z->auth_cert = c;
    pthread_mutex_unlock(&z->mu);
    zkr_handle_t *h;
    int rc = begin(z, 0, &h);
    if (rc != ZOK)
        return ZKR_OK;          /* the next handle gets it */
    rc = zoo_add_auth(h->zh, s, c, (int)strlen(c), NULL, NULL);
    rc = end(z, h, rc);
    return rc == ZOK ? ZKR_OK : zkr__err(z, rc, "add_auth");
}
