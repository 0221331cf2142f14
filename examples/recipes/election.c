/*
 * election.c -- master election.
 *
 * Candidates create ephemeral-sequential nodes path/_c_<tag>-n_<seq>
 * holding their names; the lowest is master.  Every other candidate
 * watches only its predecessor, so when a candidate goes exactly one other
 * candidate looks again (no herd effect).  Once lowest, a candidate stays
 * lowest for as long as its node exists (sequence numbers only grow), so
 * "our node still exists in our session" is the whole mastership test.
 *
 * All of it runs on the zkr_t's worker: a watch event on a node under the
 * path, or any session event, makes the worker run election_step() again.
 * State changes are reported from there, so the callback sees them in
 * order: NOT_HELD (candidate) -> HELD (master) -> UNSURE (master,
 * disconnected) -> HELD (reconnected, node verified) or LOST (session
 * ended) -> NOT_HELD/HELD again in the new session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zkr_int.h"

struct zkr_election {
    zkr_t *z;
    char *dir;
    char *name;
    zkr_election_fn fn;
    void *arg;
    zkr_task_t task;
    /* under z->mu */
    int active;               /* started and not resigned                   */
    int state;                /* ZKR_NOT_HELD/HELD/UNSURE/LOST              */
    uint64_t gen;             /* generation of our node                     */
    char node[ZKR_PATH_MAX];  /* our node, "" if none                       */
    char master[256];         /* the master's name as far as we know        */
    int reported;             /* last state given to fn (-1: none)          */
    char reported_master[256];
};

/* Calls fn if the state or the known master changed.  Worker only. */
static void report(zkr_election_t *e)
{
    zkr_t *z = e->z;
    pthread_mutex_lock(&z->mu);
    if (e->state == e->reported &&
        strcmp(e->master, e->reported_master) == 0) {
        pthread_mutex_unlock(&z->mu);
        return;
    }
    int st = e->state;
    char master[256];
    snprintf(master, sizeof master, "%s", e->master);
    e->reported = st;
    snprintf(e->reported_master, sizeof e->reported_master, "%s", master);
    pthread_mutex_unlock(&z->mu);
    if (e->fn)
        e->fn(e->arg, e, st, master);
}

/* Our node is gone (session ended, or deleted): a master has lost. */
static void node_gone_locked(zkr_election_t *e)
{
    e->node[0] = '\0';
    if (e->state == ZKR_HELD || e->state == ZKR_UNSURE)
        e->state = ZKR_LOST;
    else if (e->state != ZKR_LOST)
        e->state = ZKR_NOT_HELD;
    e->master[0] = '\0';
}

/* One pass on the worker: volunteer if we have no node in this
 * session, list the candidates, then be master (lowest) or watch only the
 * predecessor; report state changes. */
static void election_step(zkr_task_t *t)
{
    zkr_election_t *e = t->self;
    zkr_t *z = e->z;

    pthread_mutex_lock(&z->mu);
    if (!e->active) {
        pthread_mutex_unlock(&z->mu);
        report(e);
        return;
    }
    if (e->node[0] && e->gen != z->gen)
        node_gone_locked(e);
    if (!zkr__connected_locked(z, 0)) {
        if (e->state == ZKR_HELD)
            e->state = z->state == ZOO_EXPIRED_SESSION_STATE ? ZKR_LOST
                                                             : ZKR_UNSURE;
        pthread_mutex_unlock(&z->mu);
        report(e);
        return;                 /* the next session event runs us again */
    }
    uint64_t gen = z->gen;
    char node[ZKR_PATH_MAX];
    snprintf(node, sizeof node, "%s", e->node);
    int timeout = z->negotiated_ms;
    pthread_mutex_unlock(&z->mu);

    int rc;
    if (!node[0]) {
        rc = zkr__protected_create(z, gen, e->dir, "n_", e->name,
                                   (int)strlen(e->name),
                                   zkr__now_ms() + timeout, NULL, node,
                                   sizeof node);
        if (rc != ZOK) {
            if (rc != ZSESSIONEXPIRED && rc != ZCLOSING) {
                if (!zkr__is_transient(rc) && rc != ZOPERATIONTIMEOUT)
                    zkr__err(z, rc, "election: create");
                pthread_mutex_lock(&z->mu);
                zkr__task_retry_locked(z, t, ZKR_RETRY_MS);
                pthread_mutex_unlock(&z->mu);
            }
            report(e);
            return;
        }
        pthread_mutex_lock(&z->mu);
        int keep = e->active && gen == z->gen;
        if (keep) {
            snprintf(e->node, sizeof e->node, "%s", node);
            e->gen = gen;
        }
        pthread_mutex_unlock(&z->mu);
        if (!keep) {            /* resigned meanwhile */
            zkr__delete_guaranteed(z, gen, node, timeout);
            return;
        }
        zkr__log(z, "election %s: volunteered as %s", e->dir,
                 strrchr(node, '/') + 1);
    }

    struct String_vector sv;
    rc = zkr__children(z, gen, e->dir, 0, &sv);
    if (rc != ZOK) {
        if (zkr__is_transient(rc)) {
            pthread_mutex_lock(&z->mu);
            zkr__task_retry_locked(z, t, ZKR_RETRY_MS);
            pthread_mutex_unlock(&z->mu);
        } else if (rc != ZSESSIONEXPIRED && rc != ZCLOSING) {
            zkr__err(z, rc, "election: list");
        }
        return;
    }
    zkr__sort_by_seq(sv.data, sv.count);
    const char *me = strrchr(node, '/') + 1;
    int mine = -1;
    for (int i = 0; i < sv.count; i++)
        if (strcmp(sv.data[i], me) == 0)
            mine = i;
    char first[ZKR_PATH_MAX], pred[ZKR_PATH_MAX];
    first[0] = pred[0] = '\0';
    if (mine > 0) {
        zkr__join(first, sizeof first, e->dir, sv.data[0]);
        zkr__join(pred, sizeof pred, e->dir, sv.data[mine - 1]);
    }
    deallocate_String_vector(&sv);

    if (mine < 0) {             /* our node is gone: volunteer again */
        pthread_mutex_lock(&z->mu);
        int gone = gen == e->gen && strcmp(node, e->node) == 0;
        if (gone) {
            node_gone_locked(e);
            t->dirty = 1;
        }
        pthread_mutex_unlock(&z->mu);
        if (gone)
            zkr__log(z, "election %s: our node %s is gone", e->dir, me);
        report(e);
        return;
    }

    if (mine == 0) {
        /* Master.  Watch our own node, to hear if someone deletes it. */
        rc = zkr__exists(z, gen, node, 1, NULL);
        pthread_mutex_lock(&z->mu);
        if (rc == ZNONODE) {
            t->dirty = 1;       /* next step finds it gone */
        } else if (e->active && gen == e->gen && strcmp(node, e->node) == 0) {
            if (rc == ZOK)
                e->state = ZKR_HELD;
            else if (zkr__is_transient(rc))
                zkr__task_retry_locked(z, t, ZKR_RETRY_MS);
            snprintf(e->master, sizeof e->master, "%s", e->name);
        }
        pthread_mutex_unlock(&z->mu);
        report(e);
        return;
    }

    /* Not master: learn who is (for the report), then watch only our
     * predecessor.  If it is already gone, look again at once. */
    char *who = NULL;
    int wlen = 0;
    if (zkr__get(z, gen, first, 0, &who, &wlen, NULL) != ZOK)
        who = NULL;
    rc = zkr__exists(z, gen, pred, 1, NULL);
    pthread_mutex_lock(&z->mu);
    if (e->active && gen == e->gen && strcmp(node, e->node) == 0) {
        if (e->state != ZKR_LOST || rc == ZOK)
            e->state = ZKR_NOT_HELD;
        snprintf(e->master, sizeof e->master, "%s", who ? who : "");
        if (rc == ZNONODE)
            t->dirty = 1;
        else if (rc != ZOK)
            zkr__task_retry_locked(z, t, ZKR_RETRY_MS);
    }
    pthread_mutex_unlock(&z->mu);
    free(who);
    report(e);
}

int zkr_election_new(zkr_t *z, const char *path, const char *name,
                     zkr_election_fn fn, void *arg, zkr_election_t **out)
{
    if (!z || !zkr__valid_path(path) || !name || !out ||
        strlen(name) >= 256)
        return ZKR_EINVAL;
    zkr_election_t *e = calloc(1, sizeof *e);
    if (!e)
        return ZKR_ENOMEM;
    e->dir = zkr__strdup(path);
    e->name = zkr__strdup(name);
    if (!e->dir || !e->name) {
        free(e->dir);
        free(e->name);
        free(e);
        return ZKR_ENOMEM;
    }
    e->z = z;
    e->fn = fn;
    e->arg = arg;
    e->state = ZKR_NOT_HELD;
    e->reported = -1;
    e->task.self = e;
    e->task.prefix = e->dir;
    e->task.step = election_step;
    *out = e;
    return ZKR_OK;
}

/* Sets active and registers (or kicks) the candidate's task. */
int zkr_election_start(zkr_election_t *e)
{
    if (!e)
        return ZKR_EINVAL;
    zkr_t *z = e->z;
    pthread_mutex_lock(&z->mu);
    int was = e->active;
    e->active = 1;
    pthread_mutex_unlock(&z->mu);
    if (was)
        return ZKR_EINVAL;
    /* the task is registered on the first start and stays until free */
    pthread_mutex_lock(&z->mu);
    int registered = 0;
    for (zkr_task_t *t = z->tasks; t; t = t->next)
        if (t == &e->task)
            registered = 1;
    pthread_mutex_unlock(&z->mu);
    if (registered)
        zkr__task_kick(z, &e->task);
    else
        zkr__task_add(z, &e->task);
    return ZKR_OK;
}

/* The state as the caller should see it now, z->mu held. */
static int live_state_locked(zkr_election_t *e)
{
    zkr_t *z = e->z;
    int st = e->state;
    if (st == ZKR_HELD || st == ZKR_UNSURE) {
        if (e->gen != z->gen || z->state == ZOO_EXPIRED_SESSION_STATE ||
            !e->node[0])
            return ZKR_LOST;
        if (!zkr__connected_locked(z, e->gen))
            return ZKR_UNSURE;
    }
    return st;
}

/* The live state without a round trip (see zkr.h). */
int zkr_election_state(zkr_election_t *e)
{
    pthread_mutex_lock(&e->z->mu);
    int st = live_state_locked(e);
    pthread_mutex_unlock(&e->z->mu);
    return st;
}

/* Confirms mastership: our node exists now, in our session. */
int zkr_election_check(zkr_election_t *e, int timeout_ms)
{
    zkr_t *z = e->z;
    int64_t deadline = zkr__deadline(timeout_ms);
    for (;;) {
        pthread_mutex_lock(&z->mu);
        int st = live_state_locked(e);
        uint64_t gen = e->gen;
        char node[ZKR_PATH_MAX];
        snprintf(node, sizeof node, "%s", e->node);
        pthread_mutex_unlock(&z->mu);
        if (st != ZKR_HELD && st != ZKR_UNSURE)
            return st;
        int rc = zkr__wait_connected(z, gen, deadline, NULL);
        if (rc == ZSESSIONEXPIRED)
            return ZKR_LOST;
        if (rc != ZOK)
            return ZKR_UNSURE;
        rc = zkr__exists(z, gen, node, 1, NULL);
        if (rc == ZOK)
            return ZKR_HELD;    /* lowest once, lowest while it exists */
        if (rc == ZNONODE || rc == ZSESSIONEXPIRED) {
            zkr__task_kick(z, &e->task);
            return ZKR_LOST;
        }
        if (!zkr__is_transient(rc) || zkr__now_ms() >= deadline)
            return ZKR_UNSURE;
    }
}

/* Waits on z->cv until the live state is ZKR_HELD. */
int zkr_election_wait(zkr_election_t *e, int timeout_ms)
{
    zkr_t *z = e->z;
    int64_t deadline = zkr__deadline(timeout_ms);
    pthread_mutex_lock(&z->mu);
    int rc = ZKR_OK;
    if (!e->active)
        rc = ZKR_EINVAL;
    while (rc == ZKR_OK && live_state_locked(e) != ZKR_HELD) {
        if (z->stop) {
            rc = ZKR_ECLOSED;
        } else if (zkr__now_ms() >= deadline) {
            rc = ZKR_ETIMEOUT;
        } else {
            zkr__cond_wait(z, deadline);
        }
    }
    pthread_mutex_unlock(&z->mu);
    return rc;
}

/* Deletes our node (guaranteed) and lets the worker report NOT_HELD. */
int zkr_election_resign(zkr_election_t *e)
{
    zkr_t *z = e->z;
    pthread_mutex_lock(&z->mu);
    if (!e->active) {
        pthread_mutex_unlock(&z->mu);
        return ZKR_ENOTHELD;
    }
    e->active = 0;
    uint64_t gen = e->gen;
    char node[ZKR_PATH_MAX];
    snprintf(node, sizeof node, "%s", e->node);
    e->node[0] = '\0';
    e->state = ZKR_NOT_HELD;
    e->master[0] = '\0';
    int timeout = z->negotiated_ms;
    pthread_mutex_unlock(&z->mu);
    int rc = ZOK;
    if (node[0])
        rc = zkr__delete_guaranteed(z, gen, node, timeout);
    zkr__task_kick(z, &e->task);    /* reports NOT_HELD */
    return rc == ZOK || rc == ZSESSIONEXPIRED ? ZKR_OK
                                              : zkr__err(z, rc, "resign");
}

int zkr_election_master(zkr_t *z, const char *path, char *buf, size_t len,
                        int timeout_ms)
{
    if (!z || !zkr__valid_path(path) || !buf || !len)
        return ZKR_EINVAL;
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
            return zkr__err(z, rc, "election master: list");
        }
        if (sv.count == 0) {
            deallocate_String_vector(&sv);
            return ZKR_ENOENT;
        }
        zkr__sort_by_seq(sv.data, sv.count);
        char first[ZKR_PATH_MAX];
        rc = zkr__join(first, sizeof first, path, sv.data[0]);
        deallocate_String_vector(&sv);
        if (rc)
            return ZKR_EINVAL;
        char *data;
        int n;
        rc = zkr__get(z, 0, first, 0, &data, &n, NULL);
        if (rc == ZNONODE || zkr__is_transient(rc) || rc == ZSESSIONEXPIRED)
            continue;           /* the master just left: look again */
        if (rc != ZOK)
            return zkr__err(z, rc, "election master: read");
        int out = ZKR_OK;
        if ((size_t)n >= len)
            out = ZKR_ERANGE;
        else
            snprintf(buf, len, "%s", data ? data : "");
        free(data);
        return out;
    }
}

/* Resigns if active, unregisters the task, frees. */
void zkr_election_free(zkr_election_t *e)
{
    if (!e)
        return;
    zkr_t *z = e->z;
    pthread_mutex_lock(&z->mu);
    int active = e->active;
    pthread_mutex_unlock(&z->mu);
    if (active)
        zkr_election_resign(e);
    zkr__task_remove(z, &e->task);
    free(e->dir);
    free(e->name);
    free(e);
}
