/*
 * membership.c -- group membership: a member keeps an ephemeral node
 * group/name with its runtime state for as long as it lives, across
 * connection losses and session expiries.  Service providers
 * (registry.c) are members of <root>/<service>.
 *
 * The worker runs member_step() when kicked: by any session event, by a
 * watch event on our own path (our node deleted or changed; the node of a
 * previous incarnation going away), or by zkr_member_set().  The step
 * converges on "our node exists in the current session holding the latest
 * data":
 *   no node in this session   -> create it (ephemeral)
 *     ZNODEEXISTS, owner = us -> our earlier create took effect (its reply
 *                                was lost with the connection): adopt it
 *     ZNODEEXISTS, owner other-> another session's node (our predecessor
 *                                killed with SIGKILL, not yet expired, or
 *                                a duplicate name): watch it, wait
 *   data out of date          -> set it
 *   always                    -> keep an exists-watch on our node
 * The "group view" side -- listing live members and hearing joins and
 * leaves -- is the zkr_cache_t of cache.c on the group path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zkr_int.h"

struct zkr_member {
    zkr_t *z;
    char *dir;
    char *name;
    char path[ZKR_PATH_MAX];
    zkr_task_t task;
    /* under z->mu */
    char *data;
    size_t len;
    uint64_t want;        /* version of data wanted                        */
    uint64_t written;     /* version at the server (in gen)                */
    uint64_t gen;         /* generation in which our node exists, 0: none  */
    int deleted;          /* a watch said our node went                    */
    int64_t blocked_by;   /* owner of a foreign node we wait for (logging) */
};

/* Watcher-thread hook (z->mu held): our path was deleted. */
static void member_notify(zkr_task_t *t, int type, const char *path)
{
    zkr_member_t *m = t->self;
    if (type == ZOO_DELETED_EVENT && strcmp(path, m->path) == 0)
        m->deleted = 1;
}

/* One pass on the worker: (re)create our ephemeral node in this
 * session, adopt it if a lost create had made it, wait out a foreign
 * one, bring its data up to date, keep a watch on it. */
static void member_step(zkr_task_t *t)
{
    zkr_member_t *m = t->self;
    zkr_t *z = m->z;

    const char *why = NULL;
    pthread_mutex_lock(&z->mu);
    if (m->gen && m->gen != z->gen) {
        why = "session ended";
        m->gen = 0;
    }
    if (m->deleted) {
        m->deleted = 0;
        if (m->gen)
            why = "our node was deleted";
        m->gen = 0;
    }
    int connected = zkr__connected_locked(z, 0);
    pthread_mutex_unlock(&z->mu);
    if (why)
        zkr__log(z, "member %s: %s; joining again", m->path, why);
    if (!connected)
        return;
    pthread_mutex_lock(&z->mu);
    if (!zkr__connected_locked(z, 0)) {
        pthread_mutex_unlock(&z->mu);
        return;
    }
    uint64_t gen = z->gen;
    int64_t sid = z->session_id;
    int have = m->gen == gen;
    uint64_t want = m->want;
    int up_to_date = have && m->written == want;
    char *data = NULL;
    int len = (int)m->len;
    if (!up_to_date && m->data) {
        data = malloc(m->len + 1);
        if (data)
            memcpy(data, m->data, m->len + 1);
    }
    pthread_mutex_unlock(&z->mu);
    if (!up_to_date && m->data && !data) {
        pthread_mutex_lock(&z->mu);
        zkr__task_retry_locked(z, t, 1000);
        pthread_mutex_unlock(&z->mu);
        return;
    }

    int rc = ZOK, parents = 0;
    uint64_t written = 0;
    if (!have) {
    again:
        rc = zkr__create(z, gen, m->path, data, data ? len : -1,
                         ZOO_EPHEMERAL, NULL, 0);
        if (rc == ZNONODE && parents++ < 3) {
            rc = zkr__ensure_path(z, gen, m->dir);
            if (rc == ZOK)
                goto again;
        }
        if (rc == ZOK) {
            have = 1;
            written = want;
        } else if (rc == ZNODEEXISTS) {
            struct Stat st;
            rc = zkr__exists(z, gen, m->path, 1, &st);
            if (rc == ZOK && st.ephemeralOwner == sid) {
                have = 1;       /* ours: a lost reply; data may be older */
                written = 0;
            } else if (rc == ZOK) {
                pthread_mutex_lock(&z->mu);
                int first = m->blocked_by != st.ephemeralOwner;
                m->blocked_by = st.ephemeralOwner;
                pthread_mutex_unlock(&z->mu);
                if (first)
                    zkr__log(z, "member %s: the name is held by session "
                                "0x%llx (a previous incarnation?); waiting "
                                "for it to go",
                             m->path, (unsigned long long)st.ephemeralOwner);
                free(data);
                return;         /* its deletion event runs us again */
            } else if (rc == ZNONODE) {
                pthread_mutex_lock(&z->mu);
                t->dirty = 1;
                pthread_mutex_unlock(&z->mu);
                free(data);
                return;
            }
        }
    } else {
        written = m->written;
    }
    if (have && written != want) {
        rc = zkr__set(z, gen, m->path, data, data ? len : -1, -1);
        if (rc == ZOK) {
            written = want;
        } else if (rc == ZNONODE) {
            have = 0;           /* deleted under us: create again */
            pthread_mutex_lock(&z->mu);
            t->dirty = 1;
            pthread_mutex_unlock(&z->mu);
        }
    }
    if (have && rc == ZOK) {
        rc = zkr__exists(z, gen, m->path, 1, NULL);
        if (rc == ZNONODE) {
            have = 0;
            pthread_mutex_lock(&z->mu);
            t->dirty = 1;
            pthread_mutex_unlock(&z->mu);
        }
    }
    free(data);

    pthread_mutex_lock(&z->mu);
    if (gen == z->gen) {
        int was = m->gen == gen;
        m->gen = have ? gen : 0;
        if (have) {
            m->blocked_by = 0;
            if (written > m->written || !was)
                m->written = written;
        }
        if (rc != ZOK && rc != ZSESSIONEXPIRED && rc != ZCLOSING)
            zkr__task_retry_locked(z, t, ZKR_RETRY_MS);
        if (have && !was) {
            pthread_mutex_unlock(&z->mu);
            zkr__log(z, "member %s: joined (session 0x%llx)", m->path,
                     (unsigned long long)sid);
            pthread_mutex_lock(&z->mu);
        }
    }
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
    if (rc != ZOK && !zkr__is_transient(rc) && rc != ZSESSIONEXPIRED &&
        rc != ZCLOSING && rc != ZNONODE && rc != ZNODEEXISTS)
        zkr__err(z, rc, "member");
}

int zkr_member_join(zkr_t *z, const char *group, const char *name,
                    const void *data, size_t len, zkr_member_t **out)
{
    if (!z || !zkr__valid_path(group) || !name || !*name ||
        strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
        !out || len > ZKR_DATA_MAX)
        return ZKR_EINVAL;
    zkr_member_t *m = calloc(1, sizeof *m);
    if (!m)
        return ZKR_ENOMEM;
    m->dir = zkr__strdup(group);
    m->name = zkr__strdup(name);
    if (data) {
        m->data = malloc(len + 1);
        if (m->data) {
            memcpy(m->data, data, len);
            m->data[len] = '\0';
            m->len = len;
        }
    }
    int rc = !m->dir || !m->name || (data && !m->data) ? ZKR_ENOMEM
             : zkr__join(m->path, sizeof m->path, group, name) ? ZKR_EINVAL
                                                               : ZKR_OK;
    if (rc != ZKR_OK) {
        free(m->dir);
        free(m->name);
        free(m->data);
        free(m);
        return rc;
    }
    m->z = z;
    m->want = 1;
    m->task.self = m;
    m->task.prefix = m->path;
    m->task.notify = member_notify;
    m->task.step = member_step;
    zkr__task_add(z, &m->task);
    *out = m;
    return ZKR_OK;
}

/* Stores the new state and kicks the worker to write it. */
int zkr_member_set(zkr_member_t *m, const void *data, size_t len)
{
    if (!m || len > ZKR_DATA_MAX)
        return ZKR_EINVAL;
    char *copy = NULL;
    if (data) {
        copy = malloc(len + 1);
        if (!copy)
            return ZKR_ENOMEM;
        memcpy(copy, data, len);
        copy[len] = '\0';
    }
    zkr_t *z = m->z;
    pthread_mutex_lock(&z->mu);
    free(m->data);
    m->data = copy;
    m->len = copy ? len : 0;
    m->want++;
    m->task.dirty = 1;
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
    return ZKR_OK;
}

/* Waits on z->cv until our node exists with the latest data. */
int zkr_member_wait(zkr_member_t *m, int timeout_ms)
{
    zkr_t *z = m->z;
    int64_t deadline = zkr__deadline(timeout_ms);
    int rc = ZKR_OK;
    pthread_mutex_lock(&z->mu);
    while (!(m->gen == z->gen && m->written == m->want &&
             zkr__connected_locked(z, m->gen))) {
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

/* HELD/UNSURE/NOT_HELD from the local view. */
int zkr_member_state(zkr_member_t *m)
{
    zkr_t *z = m->z;
    pthread_mutex_lock(&z->mu);
    int st = ZKR_NOT_HELD;
    if (m->gen == z->gen && !m->deleted)
        st = zkr__connected_locked(z, m->gen) ? ZKR_HELD : ZKR_UNSURE;
    pthread_mutex_unlock(&z->mu);
    return st;
}

/* Unregisters the task, deletes our node (guaranteed), frees. */
void zkr_member_leave(zkr_member_t *m)
{
    if (!m)
        return;
    zkr_t *z = m->z;
    zkr__task_remove(z, &m->task);
    pthread_mutex_lock(&z->mu);
    uint64_t gen = m->gen == z->gen ? m->gen : 0;
    int timeout = z->negotiated_ms;
    pthread_mutex_unlock(&z->mu);
    if (gen)
        zkr__delete_guaranteed(z, gen, m->path, timeout);
    free(m->dir);
    free(m->name);
    free(m->data);
    free(m);
}
