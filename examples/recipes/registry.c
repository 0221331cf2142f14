/*
 * registry.c -- service registry.
 *
 * Providers are members (membership.c) of <root>/<service>, named by their
 * "host:port", with their metadata as data: ephemeral, re-registered in a
 * new session after expiry, gone within the session timeout after the
 * provider dies.
 *
 * Consumers follow <root>/<service> with a zkr_cache_t (cache.c) and keep
 * the last list they saw -- in memory, and in a file if asked -- so they
 * can go on picking providers while disconnected or before the first
 * connection.  The file is one line per provider, "address<TAB>metadata",
 * written to a temporary file and renamed over the old one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zkr_int.h"

int zkr_service_register(zkr_t *z, const char *root, const char *service,
                         const char *address, const char *meta,
                         zkr_member_t **out)
{
    char dir[ZKR_PATH_MAX];
    if (!root)
        root = ZKR_SERVICES_ROOT;
    if (!z || !service || !*service || strchr(service, '/') || !address ||
        !*address || strchr(address, '/') || !zkr__valid_path(root) ||
        zkr__join(dir, sizeof dir, root, service))
        return ZKR_EINVAL;
    return zkr_member_join(z, dir, address, meta, meta ? strlen(meta) : 0,
                           out);
}

struct zkr_consumer {
    zkr_t *z;
    zkr_cache_t *cache;
    char *file;
    zkr_consumer_fn fn;
    void *arg;
    /* under z->mu */
    zkr_entry_t *filev;   /* the list loaded from the file               */
    int filen;
    int synced_once;      /* the cache has synced at least once           */
    unsigned rr;          /* round-robin position                          */
};

/* Writes the cache's current list to the consumer's file: a
 * temporary file, fsync'd, renamed over the old one. */
static void write_file(zkr_consumer_t *c, zkr_cache_t *cache)
{
    zkr_entry_t *v;
    int n, fresh;
    if (!c->file || zkr_cache_get(cache, &v, &n, &fresh) != ZKR_OK)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", c->file, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        zkr__log(c->z, "cannot write %s: %s", tmp, strerror(errno));
        zkr_entries_free(v, n);
        return;
    }
    for (int i = 0; i < n; i++) {
        fputs(v[i].name, f);
        fputc('\t', f);
        for (size_t k = 0; k < v[i].len; k++)
            fputc(v[i].data[k] == '\n' || v[i].data[k] == '\t'
                      ? ' ' : v[i].data[k], f);
        fputc('\n', f);
    }
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, c->file) != 0) {
        zkr__log(c->z, "cannot write %s: %s", c->file, strerror(errno));
        unlink(tmp);
    }
    zkr_entries_free(v, n);
}

/* Loads the list saved by write_file(), if any. */
static void load_file(zkr_consumer_t *c)
{
    FILE *f = fopen(c->file, "r");
    if (!f)
        return;
    char line[8192];
    zkr_entry_t *v = NULL;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (tab)
            *tab++ = '\0';
        if (!*line)
            continue;
        zkr_entry_t *nv = realloc(v, (size_t)(n + 1) * sizeof *v);
        if (!nv)
            break;
        v = nv;
        v[n].name = zkr__strdup(line);
        v[n].data = zkr__strdup(tab ? tab : "");
        if (!v[n].name || !v[n].data) {
            free(v[n].name);
            free(v[n].data);
            break;
        }
        v[n].len = strlen(v[n].data);
        n++;
    }
    fclose(f);
    c->filev = v;
    c->filen = n;
}

static void consumer_cb(void *arg, zkr_cache_t *cache, int event,
                        const char *name, const char *data, size_t len)
{
    zkr_consumer_t *c = arg;
    if (event == ZKR_CACHE_SYNCED) {
        pthread_mutex_lock(&c->z->mu);
        c->synced_once = 1;
        pthread_mutex_unlock(&c->z->mu);
        write_file(c, cache);
        if (c->fn)
            c->fn(c->arg, c, 1);
    } else if (event == ZKR_CACHE_STALE) {
        if (c->fn)
            c->fn(c->arg, c, 0);
    }
}

int zkr_consumer_new(zkr_t *z, const char *root, const char *service,
                     const char *cache_file, zkr_consumer_fn fn, void *arg,
                     zkr_consumer_t **out)
{
    char dir[ZKR_PATH_MAX];
    if (!root)
        root = ZKR_SERVICES_ROOT;
    if (!z || !service || !*service || strchr(service, '/') || !out ||
        !zkr__valid_path(root) || zkr__join(dir, sizeof dir, root, service))
        return ZKR_EINVAL;
    zkr_consumer_t *c = calloc(1, sizeof *c);
    if (!c)
        return ZKR_ENOMEM;
    c->z = z;
    c->fn = fn;
    c->arg = arg;
    if (cache_file) {
        c->file = zkr__strdup(cache_file);
        if (!c->file) {
            free(c);
            return ZKR_ENOMEM;
        }
        load_file(c);
    }
    int rc = zkr__cache_create(z, dir, consumer_cb, c, &c->cache);
    if (rc != ZKR_OK) {
        zkr_entries_free(c->filev, c->filen);
        free(c->file);
        free(c);
        return rc;
    }
    *out = c;
    zkr__cache_start(c->cache);
    return ZKR_OK;
}

int zkr_consumer_get(zkr_consumer_t *c, zkr_entry_t **entries, int *count,
                     int *fresh)
{
    zkr_t *z = c->z;
    pthread_mutex_lock(&z->mu);
    int from_file = !c->synced_once;
    pthread_mutex_unlock(&z->mu);
    if (!from_file)
        return zkr_cache_get(c->cache, entries, count, fresh);
    /* nothing from ZooKeeper yet: the file's list, if any */
    zkr_entry_t *v = calloc((size_t)c->filen + 1, sizeof *v);
    if (!v)
        return ZKR_ENOMEM;
    for (int i = 0; i < c->filen; i++) {
        v[i].name = zkr__strdup(c->filev[i].name);
        v[i].data = zkr__strdup(c->filev[i].data);
        v[i].len = c->filev[i].len;
        if (!v[i].name || !v[i].data) {
            zkr_entries_free(v, i + 1);
            return ZKR_ENOMEM;
        }
    }
    *entries = v;
    *count = c->filen;
    if (fresh)
        *fresh = 0;
    return ZKR_OK;
}

/* Round-robin choice among zkr_consumer_get()'s entries. */
int zkr_consumer_pick(zkr_consumer_t *c, char *buf, size_t len)
{
    zkr_entry_t *v;
    int n, fresh;
    int rc = zkr_consumer_get(c, &v, &n, &fresh);
    if (rc != ZKR_OK)
        return rc;
    if (n == 0) {
        zkr_entries_free(v, n);
        return ZKR_ENOENT;
    }
    pthread_mutex_lock(&c->z->mu);
    unsigned i = c->rr++ % (unsigned)n;
    pthread_mutex_unlock(&c->z->mu);
    rc = strlen(v[i].name) < len ? ZKR_OK : ZKR_ERANGE;
    if (rc == ZKR_OK)
        snprintf(buf, len, "%s", v[i].name);
    zkr_entries_free(v, n);
    return rc;
}

/* Frees the cache (stopping its task) and the file list. */
void zkr_consumer_free(zkr_consumer_t *c)
{
    if (!c)
        return;
    zkr_cache_free(c->cache);
    zkr_entries_free(c->filev, c->filen);
    free(c->file);
    free(c);
}
