/*
 * naming.c -- naming service.
 *
 * Unique names: a persistent sequential node dir/<prefix><seq>.  ZooKeeper
 * gives a sequential child the parent's cversion as its number, so names
 * under one parent are unique and ordered, for every client.  The node's
 * data is a tag naming the allocation (host:pid:session:counter); after a
 * connection loss during the create, the children created since the
 * cversion we read beforehand are searched for that tag, so a lost reply
 * neither hands out two names nor leaks one.
 *
 * Name registry: registry/<name> holds the value; names may be paths
 * ("db/primary").  Persistent, or ephemeral (dies with the session).
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zkr_int.h"

/* A relative name: non-empty components, no "." or "..". */
static int valid_name(const char *name)
{
    char buf[ZKR_PATH_MAX];
    if (!name || !*name || strlen(name) + 2 > sizeof buf)
        return 0;
    snprintf(buf, sizeof buf, "/%s", name);
    return zkr__valid_path(buf);
}

int zkr_name_next(zkr_t *z, const char *dir, const char *prefix, char *buf,
                  size_t len, int64_t *seq, int timeout_ms)
{
    static atomic_uint counter;
    if (!z || !zkr__valid_path(dir) || !prefix || strchr(prefix, '/') ||
        !buf || !len)
        return ZKR_EINVAL;
    int64_t deadline = zkr__deadline(timeout_ms);
    char path[ZKR_PATH_MAX], out[ZKR_PATH_MAX], tag[160], host[64] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(tag, sizeof tag, "%s:%ld:%016" PRIx64 ":%u", host,
             (long)getpid(), (uint64_t)zkr_session_id(z),
             atomic_fetch_add(&counter, 1));
    if (zkr__join(path, sizeof path, dir, prefix))
        return ZKR_EINVAL;

    for (;;) {
        /* Persistent nodes outlive sessions: any generation will do. */
        int rc = zkr__wait_connected(z, 0, deadline, NULL);
        if (rc != ZOK)
            return rc == ZCLOSING ? ZKR_ECLOSED : ZKR_ETIMEOUT;
        struct Stat st;
        rc = zkr__exists(z, 0, dir, 0, &st);
        if (rc == ZNONODE) {
            rc = zkr__ensure_path(z, 0, dir);
            if (rc != ZOK && !zkr__is_transient(rc) &&
                rc != ZSESSIONEXPIRED)
                return zkr__err(z, rc, "name: create parent");
            continue;
        }
        if (rc != ZOK) {
            if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED)
                continue;
            return zkr__err(z, rc, "name: stat parent");
        }
        int32_t since = st.cversion;
        rc = zkr__create(z, 0, path, tag, (int)strlen(tag),
                         ZOO_PERSISTENT_SEQUENTIAL, out, sizeof out);
        if (rc == ZOK && zkr__fault_create()) {
            zkr__log(z, "fault injection: dropping the reply to the create "
                        "of %s", out);
            rc = ZCONNECTIONLOSS;
        }
        if (rc == ZNONODE)
            continue;           /* the parent went meanwhile */
        if (rc != ZOK && !zkr__is_transient(rc) && rc != ZSESSIONEXPIRED)
            return zkr__err(z, rc, "name: create");
        if (rc != ZOK) {
            /* Did it happen?  Look at what was created since `since`. */
            zkr__log(z, "connection lost while creating %s*; looking for "
                        "our name by its tag once reconnected", path);
            int found = 0;
            for (;;) {
                rc = zkr__wait_connected(z, 0, deadline, NULL);
                if (rc != ZOK)
                    return rc == ZCLOSING ? ZKR_ECLOSED : ZKR_ETIMEOUT;
                struct String_vector sv;
                rc = zkr__children(z, 0, dir, 0, &sv);
                if (rc != ZOK) {
                    if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED)
                        continue;
                    return zkr__err(z, rc, "name: list");
                }
                int retry = 0;
                for (int i = 0; i < sv.count && !found && !retry; i++) {
                    const char *c = sv.data[i];
                    if (strncmp(c, prefix, strlen(prefix)) != 0 ||
                        strlen(c) != strlen(prefix) + 10 ||
                        zkr__seq(c) < since)
                        continue;
                    char cp[ZKR_PATH_MAX], *data;
                    int dl;
                    if (zkr__join(cp, sizeof cp, dir, c))
                        continue;
                    rc = zkr__get(z, 0, cp, 0, &data, &dl, NULL);
                    if (rc == ZOK && data && strcmp(data, tag) == 0) {
                        snprintf(out, sizeof out, "%s", cp);
                        found = 1;
                    } else if (rc != ZOK && rc != ZNONODE) {
                        retry = 1;
                    }
                    free(data);
                }
                deallocate_String_vector(&sv);
                if (!retry)
                    break;
            }
            if (!found) {
                zkr__log(z, "the create of %s* had not taken effect; "
                            "creating again", path);
                continue;
            }
            zkr__log(z, "found our name %s: the create had taken effect",
                     out);
        }
        const char *name = strrchr(out, '/') + 1;
        if (strlen(name) >= len)
            return ZKR_ERANGE;
        snprintf(buf, len, "%s", name);
        if (seq)
            *seq = zkr__seq(name);
        return ZKR_OK;
    }
}

int zkr_name_register(zkr_t *z, const char *registry, const char *name,
                      const char *value, int flags, int timeout_ms)
{
    char path[ZKR_PATH_MAX];
    if (!z || !zkr__valid_path(registry) || !valid_name(name) || !value ||
        zkr__join(path, sizeof path, registry, name))
        return ZKR_EINVAL;
    int ephemeral = flags & ZKR_NAME_EPHEMERAL;
    int vlen = (int)strlen(value);
    int64_t deadline = zkr__deadline(timeout_ms);
    int lost = 0;
    for (;;) {
        uint64_t gen;
        int rc = zkr__wait_connected(z, 0, deadline, &gen);
        if (rc != ZOK)
            return rc == ZCLOSING ? ZKR_ECLOSED : ZKR_ETIMEOUT;
        rc = zkr__create(z, gen, path, value, vlen,
                         ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT, NULL, 0);
        if (rc == ZOK)
            return ZKR_OK;
        if (rc == ZNONODE) {
            char parent[ZKR_PATH_MAX];
            snprintf(parent, sizeof parent, "%s", path);
            *strrchr(parent, '/') = '\0';
            rc = zkr__ensure_path(z, gen, parent);
            if (rc == ZOK || zkr__is_transient(rc) || rc == ZSESSIONEXPIRED)
                continue;
            return zkr__err(z, rc, "register: create parents");
        }
        if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED) {
            lost = 1;
            continue;
        }
        if (rc != ZNODEEXISTS)
            return zkr__err(z, rc, "register: create");
        /* Taken -- by us, before a lost reply?  Or replace it. */
        struct Stat st;
        char *data;
        int dl;
        rc = zkr__get(z, gen, path, 0, &data, &dl, &st);
        if (rc == ZNONODE)
            continue;           /* went meanwhile: try again */
        if (rc != ZOK) {
            if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED)
                continue;
            return zkr__err(z, rc, "register: read");
        }
        int same = data && dl == vlen && memcmp(data, value, (size_t)vlen) == 0;
        free(data);
        if (lost && same &&
            (ephemeral ? st.ephemeralOwner == zkr_session_id(z)
                       : st.ephemeralOwner == 0))
            return ZKR_OK;
        if (!(flags & ZKR_NAME_REPLACE))
            return ZKR_EEXIST;
        rc = zkr__set(z, gen, path, value, vlen, st.version);
        if (rc == ZOK)
            return ZKR_OK;
        if (rc == ZBADVERSION || rc == ZNONODE)
            continue;           /* changed meanwhile: look again */
        if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED) {
            lost = 1;
            continue;
        }
        return zkr__err(z, rc, "register: replace");
    }
}

int zkr_name_resolve(zkr_t *z, const char *registry, const char *name,
                     char *buf, size_t len, int flags, int timeout_ms)
{
    char path[ZKR_PATH_MAX];
    if (!z || !zkr__valid_path(registry) || !valid_name(name) || !buf ||
        !len || zkr__join(path, sizeof path, registry, name))
        return ZKR_EINVAL;
    int64_t deadline = zkr__deadline(timeout_ms);
    for (;;) {
        int rc = zkr__wait_connected(z, 0, deadline, NULL);
        if (rc != ZOK)
            return rc == ZCLOSING ? ZKR_ECLOSED : ZKR_ETIMEOUT;
        if (flags & ZKR_NAME_SYNC) {
            rc = zkr__sync(z, 0, path);
            if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED)
                continue;
            /* sync on a missing path is fine: ZOK or ZNONODE alike */
        }
        char *data;
        int dl;
        rc = zkr__get(z, 0, path, 0, &data, &dl, NULL);
        if (rc == ZNONODE)
            return ZKR_ENOENT;
        if (rc != ZOK) {
            if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED)
                continue;
            return zkr__err(z, rc, "resolve");
        }
        rc = (size_t)dl < len ? ZKR_OK : ZKR_ERANGE;
        if (rc == ZKR_OK)
            snprintf(buf, len, "%s", data ? data : "");
        free(data);
        return rc;
    }
}

/* Orders strings for qsort. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int zkr_name_list(zkr_t *z, const char *registry, const char *dir,
                  char ***names, int *count, int timeout_ms)
{
    char path[ZKR_PATH_MAX];
    if (!z || !zkr__valid_path(registry) || !names || !count)
        return ZKR_EINVAL;
    if (dir && *dir) {
        if (!valid_name(dir) || zkr__join(path, sizeof path, registry, dir))
            return ZKR_EINVAL;
    } else {
        snprintf(path, sizeof path, "%s", registry);
    }
    int64_t deadline = zkr__deadline(timeout_ms);
    for (;;) {
        int rc = zkr__wait_connected(z, 0, deadline, NULL);
        if (rc != ZOK)
            return rc == ZCLOSING ? ZKR_ECLOSED : ZKR_ETIMEOUT;
        struct String_vector sv;
        rc = zkr__children(z, 0, path, 0, &sv);
        if (rc == ZNONODE)
            return ZKR_ENOENT;
        if (rc != ZOK) {
            if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED)
                continue;
            return zkr__err(z, rc, "list");
        }
        char **v = calloc((size_t)sv.count + 1, sizeof *v);
        int ok = v != NULL;
        for (int i = 0; ok && i < sv.count; i++)
            if (!(v[i] = zkr__strdup(sv.data[i])))
                ok = 0;
        int n = sv.count;
        deallocate_String_vector(&sv);
        if (!ok) {
            zkr_strings_free(v, n);
            return ZKR_ENOMEM;
        }
        qsort(v, (size_t)n, sizeof *v, cmp_str);
        *names = v;
        *count = n;
        return ZKR_OK;
    }
}

int zkr_name_unregister(zkr_t *z, const char *registry, const char *name,
                        int timeout_ms)
{
    char path[ZKR_PATH_MAX];
    if (!z || !zkr__valid_path(registry) || !valid_name(name) ||
        zkr__join(path, sizeof path, registry, name))
        return ZKR_EINVAL;
    int64_t deadline = zkr__deadline(timeout_ms);
    int lost = 0;
    for (;;) {
        int rc = zkr__wait_connected(z, 0, deadline, NULL);
        if (rc != ZOK)
            return rc == ZCLOSING ? ZKR_ECLOSED : ZKR_ETIMEOUT;
        rc = zkr__delete(z, 0, path, -1);
        if (rc == ZOK)
            return ZKR_OK;
        if (rc == ZNONODE)
            return lost ? ZKR_OK : ZKR_ENOENT;
        if (zkr__is_transient(rc) || rc == ZSESSIONEXPIRED) {
            lost = 1;
            continue;
        }
        return zkr__err(z, rc, "unregister");
    }
}

/* Frees a string vector from zkr_name_list(). */
void zkr_strings_free(char **v, int count)
{
    if (!v)
        return;
    for (int i = 0; i < count; i++)
        free(v[i]);
    free(v);
}
