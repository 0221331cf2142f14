/*
 * cache.c -- a watched view of a node's children and their data: the
 * "list live members and get notified as they join and leave" half of
 * membership, and the consumer half of the service registry.
 *
 * cache_step() runs on the worker when a watch fires under the path, on
 * every session event, and on retries.  Each run:
 *   1. getChildren(path, watch) -- reading the list and re-arming the
 *      child watch are one operation, so a change after the read always
 *      fires the new watch: nothing is missed, at worst several changes
 *      arrive as one.
 *   2. getData(child, watch) for every child that is new, whose data watch
 *      fired, or all of them after a (re)connection.
 *   3. reports the differences with the previous view, then SYNCED.
 * While disconnected the view is kept and reported STALE once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zkr_int.h"

struct centry {
    char *name;
    char *data;
    size_t len;
    int reread;           /* its data watch fired (set by notify)          */
};

struct zkr_cache {
    zkr_t *z;
    char *path;
    zkr_cache_fn fn;
    void *arg;
    zkr_task_t task;
    /* under z->mu */
    struct centry *v;     /* the view, sorted by name                      */
    int n;
    int synced;           /* the view is current (since the last event)    */
    int stale_told;       /* STALE reported since the last sync            */
    uint64_t connects;    /* z->connects at the last full read             */
};

/* Orders cache entries by name (qsort/bsearch). */
static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct centry *)a)->name,
                  ((const struct centry *)b)->name);
}

/* The entry called name in the sorted view v, or NULL. */
static struct centry *find(struct centry *v, int n, const char *name)
{
    struct centry key = {.name = (char *)(uintptr_t)name};
    return n ? bsearch(&key, v, (size_t)n, sizeof *v, cmp_entry) : NULL;
}

/* Frees a view and its names and data. */
static void free_view(struct centry *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].data);
    }
    free(v);
}

/* Watcher-thread hook (z->mu held): a data watch on one of our
 * children fired; mark that entry to be read again. */
static void cache_notify(zkr_task_t *t, int type, const char *path)
{
    zkr_cache_t *c = t->self;
    if (type != ZOO_CHANGED_EVENT)
        return;
    size_t n = strlen(c->path);
    if (strncmp(path, c->path, n) != 0 || path[n] != '/')
        return;
    struct centry *e = find(c->v, c->n, path + n + 1);
    if (e)
        e->reread = 1;
}

/* Events to deliver after the view is swapped. */
struct cev {
    int ev;
    char *name;
    char *data;
    size_t len;
};

/* Runs the cache's step again after ZKR_RETRY_MS. */
static void cache_retry(zkr_cache_t *c)
{
    pthread_mutex_lock(&c->z->mu);
    zkr__task_retry_locked(c->z, &c->task, ZKR_RETRY_MS);
    pthread_mutex_unlock(&c->z->mu);
}

/* One pass on the worker: list with a child watch, read new or
 * changed children with data watches, swap the view, report differences. */
static void cache_step(zkr_task_t *t)
{
    zkr_cache_t *c = t->self;
    zkr_t *z = c->z;

    pthread_mutex_lock(&z->mu);
    if (!zkr__connected_locked(z, 0)) {
        int tell = !c->stale_told;
        c->synced = 0;
        c->stale_told = 1;
        pthread_mutex_unlock(&z->mu);
        if (tell && c->fn)
            c->fn(c->arg, c, ZKR_CACHE_STALE, NULL, NULL, 0);
        return;
    }
    uint64_t gen = z->gen, connects = z->connects;
    int reread_all = connects != c->connects;
    /* what we know, and which entries must be read again */
    int on = c->n;
    char **oldnames = calloc((size_t)on + 1, sizeof *oldnames);
    int *oldreread = calloc((size_t)on + 1, sizeof *oldreread);
    if (!oldnames || !oldreread) {
        pthread_mutex_unlock(&z->mu);
        free(oldnames);
        free(oldreread);
        cache_retry(c);
        return;
    }
    for (int i = 0; i < on; i++) {
        oldnames[i] = c->v[i].name;     /* owned by the view; only the
                                           worker replaces the view */
        oldreread[i] = c->v[i].reread || reread_all;
        c->v[i].reread = 0;
    }
    pthread_mutex_unlock(&z->mu);

    struct String_vector sv;
    int rc = zkr__children(z, gen, c->path, 1, &sv);
    if (rc == ZNONODE) {
        /* not there (yet): wait for its creation, meanwhile empty */
        rc = zkr__exists(z, gen, c->path, 1, NULL);
        if (rc == ZOK) {                /* created just now: again */
            free(oldnames);
            free(oldreread);
            zkr__task_kick(z, t);
            return;
        }
        if (rc == ZNONODE) {
            rc = ZOK;
            sv.count = 0;
            sv.data = NULL;
        }
    }
    if (rc != ZOK) {
        free(oldnames);
        free(oldreread);
        if (zkr__is_transient(rc))
            cache_retry(c);
        else if (rc != ZSESSIONEXPIRED && rc != ZCLOSING)
            zkr__err(z, rc, "cache: list");
        return;
    }

    struct centry *nv = calloc((size_t)sv.count + 1, sizeof *nv);
    int nn = 0, failed = 0;
    for (int i = 0; nv && i < sv.count && !failed; i++) {
        const char *name = sv.data[i];
        int known = -1;
        for (int j = 0; j < on; j++)    /* small lists: linear is fine */
            if (strcmp(oldnames[j], name) == 0) {
                known = j;
                break;
            }
        nv[nn].name = zkr__strdup(name);
        if (!nv[nn].name) {
            failed = ZSYSTEMERROR;
            break;
        }
        if (known >= 0 && !oldreread[known]) {
            pthread_mutex_lock(&z->mu);
            struct centry *o = find(c->v, c->n, name);
            if (o && o->data) {
                nv[nn].data = malloc(o->len + 1);
                if (nv[nn].data) {
                    memcpy(nv[nn].data, o->data, o->len + 1);
                    nv[nn].len = o->len;
                }
            }
            /* a data event that arrived since we looked */
            nv[nn].reread = o ? o->reread : 0;
            if (o)
                o->reread = 0;
            pthread_mutex_unlock(&z->mu);
            if (!o || !o->data || nv[nn].data) {
                nn++;
                continue;
            }
        }
        char path[ZKR_PATH_MAX], *data;
        int len;
        if (zkr__join(path, sizeof path, c->path, name)) {
            free(nv[nn].name);
            continue;
        }
        rc = zkr__get(z, gen, path, 1, &data, &len, NULL);
        if (rc == ZNONODE) {            /* gone already; the child watch
                                           has fired for it */
            free(nv[nn].name);
            continue;
        }
        if (rc != ZOK) {
            free(nv[nn].name);
            failed = rc;
            break;
        }
        nv[nn].data = data;
        nv[nn].len = data ? (size_t)len : 0;
        nn++;
    }
    deallocate_String_vector(&sv);
    free(oldnames);
    free(oldreread);
    if (!nv || failed) {
        if (nv)
            free_view(nv, nn);
        if (zkr__is_transient(failed) || failed == ZSYSTEMERROR || !nv)
            cache_retry(c);
        return;
    }
    qsort(nv, (size_t)nn, sizeof *nv, cmp_entry);

    /* Swap and compute the differences. */
    pthread_mutex_lock(&z->mu);
    if (gen != z->gen) {                /* a session change meanwhile */
        pthread_mutex_unlock(&z->mu);
        free_view(nv, nn);
        return;
    }
    struct centry *ov = c->v;
    int onn = c->n, was_synced = c->synced;
    int anyreread = 0;
    for (int i = 0; i < nn; i++)
        anyreread |= nv[i].reread;
    c->v = nv;
    c->n = nn;
    c->synced = 1;
    c->stale_told = 0;
    c->connects = connects;
    if (anyreread)
        t->dirty = 1;
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);

    struct cev *evs = calloc((size_t)(onn + nn) + 1, sizeof *evs);
    int ne = 0;
    if (evs) {
        for (int i = 0; i < onn; i++)
            if (!find(nv, nn, ov[i].name))
                evs[ne++] = (struct cev){ZKR_CACHE_REMOVED, ov[i].name,
                                         ov[i].data, ov[i].len};
        for (int i = 0; i < nn; i++) {
            struct centry *o = find(ov, onn, nv[i].name);
            if (!o)
                evs[ne++] = (struct cev){ZKR_CACHE_ADDED, nv[i].name,
                                         nv[i].data, nv[i].len};
            else if (o->len != nv[i].len ||
                     (o->len && memcmp(o->data, nv[i].data, o->len)))
                evs[ne++] = (struct cev){ZKR_CACHE_CHANGED, nv[i].name,
                                         nv[i].data, nv[i].len};
        }
    }
    /* nv stays alive during the callbacks: only this worker frees views */
    if (c->fn) {
        for (int i = 0; i < ne; i++)
            c->fn(c->arg, c, evs[i].ev, evs[i].name,
                  evs[i].data ? evs[i].data : "", evs[i].len);
        if (ne || !was_synced)
            c->fn(c->arg, c, ZKR_CACHE_SYNCED, NULL, NULL, 0);
    }
    free(evs);
    free_view(ov, onn);
}

int zkr__cache_create(zkr_t *z, const char *path, zkr_cache_fn fn,
                      void *arg, zkr_cache_t **out)
{
    if (!z || !zkr__valid_path(path) || !out)
        return ZKR_EINVAL;
    zkr_cache_t *c = calloc(1, sizeof *c);
    if (!c || !(c->path = zkr__strdup(path))) {
        free(c);
        return ZKR_ENOMEM;
    }
    c->z = z;
    c->fn = fn;
    c->arg = arg;
    c->connects = (uint64_t)-1;
    c->task.self = c;
    c->task.prefix = c->path;
    c->task.notify = cache_notify;
    c->task.step = cache_step;
    *out = c;
    return ZKR_OK;
}

/* Registers the cache's task: its first step runs on the worker. */
void zkr__cache_start(zkr_cache_t *c)
{
    zkr__task_add(c->z, &c->task);
}

int zkr_cache_new(zkr_t *z, const char *path, zkr_cache_fn fn, void *arg,
                  zkr_cache_t **out)
{
    int rc = zkr__cache_create(z, path, fn, arg, out);
    if (rc == ZKR_OK)
        zkr__cache_start(*out);
    return rc;
}

int zkr_cache_get(zkr_cache_t *c, zkr_entry_t **entries, int *count,
                  int *fresh)
{
    zkr_t *z = c->z;
    pthread_mutex_lock(&z->mu);
    zkr_entry_t *v = calloc((size_t)c->n + 1, sizeof *v);
    int ok = v != NULL;
    for (int i = 0; ok && i < c->n; i++) {
        v[i].name = zkr__strdup(c->v[i].name);
        v[i].data = malloc(c->v[i].len + 1);
        if (!v[i].name || !v[i].data) {
            ok = 0;
            zkr_entries_free(v, i + 1);
            break;
        }
        if (c->v[i].data)
            memcpy(v[i].data, c->v[i].data, c->v[i].len + 1);
        else
            v[i].data[0] = '\0';
        v[i].len = c->v[i].len;
    }
    int n = c->n;
    if (fresh)
        *fresh = c->synced && zkr__connected_locked(z, 0);
    pthread_mutex_unlock(&z->mu);
    if (!ok)
        return ZKR_ENOMEM;
    *entries = v;
    *count = n;
    return ZKR_OK;
}

/* Waits on z->cv for c->synced (see zkr.h). */
int zkr_cache_wait_synced(zkr_cache_t *c, int timeout_ms)
{
    zkr_t *z = c->z;
    int64_t deadline = zkr__deadline(timeout_ms);
    int rc = ZKR_OK;
    pthread_mutex_lock(&z->mu);
    while (!c->synced) {
        if (z->stop) {
            rc = ZKR_ECLOSED;
            break;
        }
        if (zkr__now_ms() >= deadline) {
            rc = ZKR_ETIMEOUT;
            break;
        }
        zkr__cond_wait(z, deadline);
    }
    pthread_mutex_unlock(&z->mu);
    return rc;
}

/* Unregisters the task (waiting for a running step) and frees. */
void zkr_cache_free(zkr_cache_t *c)
{
    if (!c)
        return;
    zkr__task_remove(c->z, &c->task);
    free_view(c->v, c->n);
    free(c->path);
    free(c);
}

/* Frees an entry array and its strings (see zkr.h). */
void zkr_entries_free(zkr_entry_t *v, int count)
{
    if (!v)
        return;
    for (int i = 0; i < count; i++) {
        free(v[i].name);
        free(v[i].data);
    }
    free(v);
}
