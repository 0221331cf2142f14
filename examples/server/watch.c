/*
 * watch.c -- zabd's watch manager; mirrors ZooKeeper 3.8's
 * server/watch/WatchManager (addWatch, triggerWatch, removeWatcher,
 * containsWatcher, getWatchesSummary) and the watch calls of DataTree.
 * See watch.h.
 */
#include "watch.h"

#include <stdlib.h>
#include <string.h>

typedef struct went {
    watch_handle_t h;
    int modes;
} went_t;

typedef struct wpath {
    int table;
    char *path;
    size_t plen;
    went_t *v;
    size_t n, cap;
} wpath_t;

struct watch_mgr {
    wpath_t **slot; /* open addressing on (table, path) */
    size_t cap, n;
    size_t total, max;
    size_t recursive; /* entries with WATCH_RECURSIVE */
};

static uint64_t hash_key(int table, const char *p, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603) ^ (uint64_t)table;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= UINT64_C(1099511628211);
    }
    return h ^ (h >> 31);
}

watch_mgr_t *watch_new(size_t max_watches)
{
    watch_mgr_t *w = calloc(1, sizeof *w);
    if (w != NULL) {
        w->max = max_watches != 0 ? max_watches : (size_t)1 << 22;
    }
    return w;
}

static void wpath_free(wpath_t *p)
{
    if (p != NULL) {
        free(p->path);
        free(p->v);
        free(p);
    }
}

void watch_free(watch_mgr_t *w)
{
    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->cap; i++) {
        wpath_free(w->slot[i]);
    }
    free(w->slot);
    free(w);
}

static wpath_t *find(const watch_mgr_t *w, int table, const char *p, size_t n)
{
    if (w->cap == 0) {
        return NULL;
    }
    size_t m = w->cap - 1;
    for (size_t i = hash_key(table, p, n) & m;; i = (i + 1) & m) {
        wpath_t *x = w->slot[i];
        if (x == NULL) {
            return NULL;
        }
        if (x->table == table && x->plen == n && memcmp(x->path, p, n) == 0) {
            return x;
        }
    }
}

static void raw_insert(wpath_t **slot, size_t cap, wpath_t *x)
{
    size_t m = cap - 1;
    size_t i = hash_key(x->table, x->path, x->plen) & m;
    while (slot[i] != NULL) {
        i = (i + 1) & m;
    }
    slot[i] = x;
}

static wpath_t *make(watch_mgr_t *w, int table, const char *p, size_t n)
{
    wpath_t *x = find(w, table, p, n);
    if (x != NULL) {
        return x;
    }
    if ((w->n + 1) * 2 > w->cap) {
        size_t nc = w->cap == 0 ? 16 : w->cap * 2;
        wpath_t **ns = calloc(nc, sizeof *ns);
        if (ns == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < w->cap; i++) {
            if (w->slot[i] != NULL) {
                raw_insert(ns, nc, w->slot[i]);
            }
        }
        free(w->slot);
        w->slot = ns;
        w->cap = nc;
    }
    x = calloc(1, sizeof *x);
    if (x == NULL || (x->path = malloc(n + 1)) == NULL) {
        free(x);
        return NULL;
    }
    memcpy(x->path, p, n);
    x->path[n] = '\0';
    x->plen = n;
    x->table = table;
    raw_insert(w->slot, w->cap, x);
    w->n++;
    return x;
}

static void drop(watch_mgr_t *w, wpath_t *x)
{
    size_t m = w->cap - 1;
    size_t i = hash_key(x->table, x->path, x->plen) & m;
    while (w->slot[i] != x) {
        i = (i + 1) & m;
    }
    w->slot[i] = NULL;
    w->n--;
    for (size_t j = (i + 1) & m; w->slot[j] != NULL; j = (j + 1) & m) {
        wpath_t *y = w->slot[j];
        size_t home = hash_key(y->table, y->path, y->plen) & m;
        bool between = i <= j ? (home > i && home <= j)
                              : (home > i || home <= j);
        if (!between) {
            w->slot[i] = y;
            w->slot[j] = NULL;
            i = j;
        }
    }
    wpath_free(x);
}

/* Set entry k's modes (0 removes it, and the path when it empties). */
static void set_modes(watch_mgr_t *w, wpath_t *x, size_t k, int modes)
{
    int old = x->v[k].modes;
    if ((old & WATCH_RECURSIVE) && !(modes & WATCH_RECURSIVE)) {
        w->recursive--;
    } else if (!(old & WATCH_RECURSIVE) && (modes & WATCH_RECURSIVE)) {
        w->recursive++;
    }
    if (modes != 0) {
        x->v[k].modes = modes;
        return;
    }
    memmove(&x->v[k], &x->v[k + 1], (x->n - k - 1) * sizeof *x->v);
    x->n--;
    w->total--;
}

static int add(watch_mgr_t *w, watch_handle_t h, const char *path, int table,
               int mode)
{
    if (path == NULL || path[0] != '/') {
        return WATCH_EINVAL;
    }
    size_t n = strlen(path);
    wpath_t *x = make(w, table, path, n);
    if (x == NULL) {
        return WATCH_ENOMEM;
    }
    for (size_t k = 0; k < x->n; k++) {
        if (x->v[k].h == h) {
            set_modes(w, x, k, x->v[k].modes | mode);
            return WATCH_OK;
        }
    }
    int rc = WATCH_OK;
    if (w->total >= w->max) {
        rc = WATCH_ELIMIT;
    } else if (x->n == x->cap) {
        size_t nc = x->cap == 0 ? 2 : x->cap * 2;
        went_t *nv = realloc(x->v, nc * sizeof *nv);
        if (nv == NULL) {
            rc = WATCH_ENOMEM;
        } else {
            x->v = nv;
            x->cap = nc;
        }
    }
    if (rc != WATCH_OK) {
        if (x->n == 0) {
            drop(w, x);
        }
        return rc;
    }
    x->v[x->n].h = h;
    x->v[x->n].modes = 0;
    x->n++;
    w->total++;
    set_modes(w, x, x->n - 1, mode);
    return WATCH_OK;
}

int watch_add(watch_mgr_t *w, watch_handle_t h, const char *path, int table)
{
    if (table != WATCH_DATA && table != WATCH_CHILD) {
        return WATCH_EINVAL;
    }
    return add(w, h, path, table, WATCH_STANDARD);
}

int watch_add_persistent(watch_mgr_t *w, watch_handle_t h, const char *path,
                         int add_mode)
{
    if (add_mode == WATCH_ADD_PERSISTENT_RECURSIVE) {
        return add(w, h, path, WATCH_DATA, WATCH_RECURSIVE);
    }
    if (add_mode != WATCH_ADD_PERSISTENT) {
        return WATCH_EINVAL;
    }
    int rc = add(w, h, path, WATCH_DATA, WATCH_PERSISTENT);
    if (rc == WATCH_OK) {
        rc = add(w, h, path, WATCH_CHILD, WATCH_PERSISTENT);
    }
    return rc;
}

static long entry_of(const wpath_t *x, watch_handle_t h)
{
    for (size_t k = 0; x != NULL && k < x->n; k++) {
        if (x->v[k].h == h) {
            return (long)k;
        }
    }
    return -1;
}

int watch_modes(const watch_mgr_t *w, watch_handle_t h, const char *path,
                int table)
{
    if (path == NULL) {
        return 0;
    }
    const wpath_t *x = find(w, table, path, strlen(path));
    long k = entry_of(x, h);
    return k < 0 ? 0 : x->v[k].modes;
}

bool watch_check(const watch_mgr_t *w, watch_handle_t h, const char *path,
                 int type)
{
    return ((type & WATCH_TYPE_CHILDREN) &&
            watch_modes(w, h, path, WATCH_CHILD) != 0) ||
           ((type & WATCH_TYPE_DATA) &&
            watch_modes(w, h, path, WATCH_DATA) != 0);
}

static bool remove_one(watch_mgr_t *w, watch_handle_t h, const char *path,
                       int table)
{
    wpath_t *x = find(w, table, path, strlen(path));
    long k = entry_of(x, h);
    if (k < 0) {
        return false;
    }
    set_modes(w, x, (size_t)k, 0);
    if (x->n == 0) {
        drop(w, x);
    }
    return true;
}

int watch_remove(watch_mgr_t *w, watch_handle_t h, const char *path, int type)
{
    if (path == NULL || type < WATCH_TYPE_CHILDREN || type > WATCH_TYPE_ANY) {
        return TREE_ZBADARGUMENTS;
    }
    bool removed = false;
    if (type & WATCH_TYPE_CHILDREN) {
        removed |= remove_one(w, h, path, WATCH_CHILD);
    }
    if (type & WATCH_TYPE_DATA) {
        removed |= remove_one(w, h, path, WATCH_DATA);
    }
    return removed ? WATCH_OK : TREE_ZNOWATCHER;
}

void watch_remove_handle(watch_mgr_t *w, watch_handle_t h)
{
    for (size_t i = 0; i < w->cap;) {
        wpath_t *x = w->slot[i];
        long k = entry_of(x, h);
        if (k >= 0) {
            set_modes(w, x, (size_t)k, 0);
            if (x->n == 0) {
                drop(w, x); /* may shift a later slot into i: recheck */
                continue;
            }
        }
        i++;
    }
}

static int cmp_h(const void *a, const void *b)
{
    watch_handle_t x = *(const watch_handle_t *)a;
    watch_handle_t y = *(const watch_handle_t *)b;
    return x < y ? -1 : x > y;
}

void watch_summary(const watch_mgr_t *w, size_t *connections, size_t *paths,
                   size_t *total)
{
    *paths = w->n;
    *total = w->total;
    *connections = 0;
    watch_handle_t *hs = malloc((w->total + 1) * sizeof *hs);
    if (hs == NULL) {
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < w->cap; i++) {
        for (size_t j = 0; w->slot[i] != NULL && j < w->slot[i]->n; j++) {
            hs[k++] = w->slot[i]->v[j].h;
        }
    }
    qsort(hs, k, sizeof *hs, cmp_h);
    for (size_t i = 0; i < k; i++) {
        *connections += i == 0 || hs[i] != hs[i - 1];
    }
    free(hs);
}

void watch_events_free(watch_events_t *ev)
{
    if (ev == NULL) {
        return;
    }
    for (size_t i = 0; i < ev->n; i++) {
        free(ev->v[i].path);
    }
    free(ev->v);
    memset(ev, 0, sizeof *ev);
}

typedef struct hset {
    watch_handle_t *v;
    size_t n, cap;
} hset_t;

static bool hset_has(const hset_t *s, watch_handle_t h)
{
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        if (s->v[i] == h) {
            return true;
        }
    }
    return false;
}

static int hset_add(hset_t *s, watch_handle_t h)
{
    if (hset_has(s, h)) {
        return 0;
    }
    if (s->n == s->cap) {
        size_t nc = s->cap == 0 ? 8 : s->cap * 2;
        watch_handle_t *nv = realloc(s->v, nc * sizeof *nv);
        if (nv == NULL) {
            return -1;
        }
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = h;
    return 0;
}

static int emit(watch_events_t *out, watch_handle_t h, int32_t type,
                const char *path)
{
    if (out->n == out->cap) {
        size_t nc = out->cap == 0 ? 8 : out->cap * 2;
        watch_event_t *nv = realloc(out->v, nc * sizeof *nv);
        if (nv == NULL) {
            return -1;
        }
        out->v = nv;
        out->cap = nc;
    }
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (p == NULL) {
        return -1;
    }
    memcpy(p, path, n + 1);
    out->v[out->n].handle = h;
    out->v[out->n].type = type;
    out->v[out->n].path = p;
    out->n++;
    return 0;
}

/* WatchManager.triggerWatch(path, type, supress): collect into *got. */
static int trigger(watch_mgr_t *w, int table, const char *path, hset_t *got)
{
    size_t len = strlen(path);
    bool walk = w->recursive > 0;
    for (size_t l = len;;) {
        wpath_t *x = find(w, table, path, l);
        bool at_path = l == len;
        for (size_t k = 0; x != NULL && k < x->n;) {
            int m = x->v[k].modes;
            if (at_path) {
                if (hset_add(got, x->v[k].h) != 0) {
                    return -1;
                }
                int nm = m & ~WATCH_STANDARD;
                if (nm != m) {
                    set_modes(w, x, k, nm);
                    if (nm == 0) {
                        continue; /* entry k removed */
                    }
                }
            } else if (m & WATCH_RECURSIVE) {
                if (hset_add(got, x->v[k].h) != 0) {
                    return -1;
                }
            }
            k++;
        }
        if (x != NULL && x->n == 0) {
            drop(w, x);
        }
        if (!walk || l <= 1) {
            break;
        }
        /* Next parent: "/a/b" -> "/a" -> "/". */
        size_t s = l - 1;
        while (s > 0 && path[s] != '/') {
            s--;
        }
        l = s == 0 ? 1 : s;
    }
    return 0;
}

static int fire(watch_mgr_t *w, int table, int32_t ev, const char *path,
                const hset_t *suppress, hset_t *got, watch_events_t *out)
{
    got->n = 0;
    if (trigger(w, table, path, got) != 0) {
        return -1;
    }
    for (size_t i = 0; i < got->n; i++) {
        if (!hset_has(suppress, got->v[i]) &&
            emit(out, got->v[i], ev, path) != 0) {
            return -1;
        }
    }
    return 0;
}

int watch_fire(watch_mgr_t *w, const tree_result_t *res, watch_events_t *out)
{
    hset_t a = {0}, b = {0};
    int rc = WATCH_OK;
    for (size_t i = 0; res != NULL && i < res->ntrig && rc == WATCH_OK; i++) {
        const tree_trigger_t *t = &res->trig[i];
        int e = 0;
        switch (t->table) {
        case TREE_TRIG_DATA:
            e = fire(w, WATCH_DATA, t->event, t->path, NULL, &a, out);
            break;
        case TREE_TRIG_CHILD:
            e = fire(w, WATCH_CHILD, t->event, t->path, NULL, &a, out);
            break;
        case TREE_TRIG_DATA_CHILD:
            e = fire(w, WATCH_DATA, t->event, t->path, NULL, &a, out);
            if (e == 0) {
                e = fire(w, WATCH_CHILD, t->event, t->path, &a, &b, out);
            }
            break;
        default:
            break;
        }
        rc = e == 0 ? WATCH_OK : WATCH_ENOMEM;
    }
    free(a.v);
    free(b.v);
    return rc;
}
