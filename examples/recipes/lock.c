/*
 * lock.c -- distributed locks: exclusive, and shared/exclusive (read/write).
 *
 * The ZooKeeper recipe: every would-be holder creates an ephemeral-
 * sequential node under the lock's path and holds the lock when no lower
 * node blocks it.  An exclusive ("lock-") or write ("write-") node is
 * blocked by every lower node; a read ("read-") node only by lower
 * exclusive/write nodes.  A waiter watches only the nearest lower node
 * that blocks it, so a release wakes one waiter, not all (no herd).
 *
 * A holder's safety under SIGKILL comes from the node being ephemeral: the
 * ensemble deletes it when the session times out.  A holder's own belief
 * is tied to its session: UNSURE while disconnected, LOST once the session
 * has ended (or its node was deleted by someone else).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zkr_int.h"

struct zkr_lock {
    zkr_t *z;
    char *dir;
    int mode;
    zkr_task_t task;          /* only its notify hook: our node deleted   */
    char whoami[96];          /* node data: host:pid                       */
    /* under z->mu */
    int held;                 /* acquired and not released                 */
    int busy;                 /* an acquire is in progress                 */
    int deleted;              /* a watch said our node was deleted         */
    int cancel;               /* zkr_lock_cancel() was called              */
    uint64_t gen;             /* session generation of our node            */
    int64_t seq;              /* our node's sequence number                */
    char node[ZKR_PATH_MAX];  /* our node's full path, "" if none          */
};

/* The node name kind for a lock mode. */
static const char *kind_of(int mode)
{
    return mode == ZKR_LOCK_READ ? "read-" : mode == ZKR_LOCK_WRITE
                                                 ? "write-" : "lock-";
}

/* A read node: its name ends in "read-" and ten digits. */
static int is_read_node(const char *name)
{
    size_t n = strlen(name);
    return n >= 15 && memcmp(name + n - 15, "read-", 5) == 0;
}

/* Watcher-thread hook (z->mu held): our held node was deleted. */
static void lock_notify(zkr_task_t *t, int type, const char *path)
{
    zkr_lock_t *l = t->self;
    if (type == ZOO_DELETED_EVENT && l->held && strcmp(path, l->node) == 0)
        l->deleted = 1;
}

/* Allocates the lock object and registers its notify hook. */
int zkr_lock_new(zkr_t *z, const char *path, int mode, zkr_lock_t **out)
{
    if (!z || !zkr__valid_path(path) || !out ||
        (mode != ZKR_LOCK_EXCLUSIVE && mode != ZKR_LOCK_READ &&
         mode != ZKR_LOCK_WRITE))
        return ZKR_EINVAL;
    zkr_lock_t *l = calloc(1, sizeof *l);
    if (!l || !(l->dir = zkr__strdup(path))) {
        free(l);
        return ZKR_ENOMEM;
    }
    l->z = z;
    l->mode = mode;
    l->seq = -1;
    char host[64] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(l->whoami, sizeof l->whoami, "%s:%ld", host, (long)getpid());
    l->task.self = l;
    l->task.notify = lock_notify;
    zkr__task_add(z, &l->task);
    *out = l;
    return ZKR_OK;
}

/* The holder state, z->mu held. */
static int state_locked(zkr_lock_t *l)
{
    zkr_t *z = l->z;
    if (!l->held)
        return ZKR_NOT_HELD;
    if (l->deleted || l->gen != z->gen ||
        z->state == ZOO_EXPIRED_SESSION_STATE)
        return ZKR_LOST;
    if (!zkr__connected_locked(z, l->gen))
        return ZKR_UNSURE;
    return ZKR_HELD;
}

/* Outcomes of wait_turn besides ZooKeeper codes. */
#define TURN_BUSY 1       /* try-only and blocked */
#define TURN_TIMEOUT 2    /* deadline passed      */
#define TURN_CANCEL 3     /* zkr_lock_cancel()    */

/* 1 if zkr_lock_cancel() was called (reads under z->mu). */
static int canceled(zkr_lock_t *l)
{
    pthread_mutex_lock(&l->z->mu);
    int c = l->cancel;
    pthread_mutex_unlock(&l->z->mu);
    return c;
}

/* Waits until our node (l->node, generation gen) is not blocked by any
 * lower node.  ZOK: ours.  ZNONODE: our node is gone.  ZSESSIONEXPIRED,
 * ZCLOSING, TURN_BUSY, TURN_TIMEOUT, or another ZooKeeper error. */
static int wait_turn(zkr_lock_t *l, uint64_t gen, const char *node,
                     int64_t deadline, int try_only)
{
    zkr_t *z = l->z;
    const char *me = strrchr(node, '/') + 1;
    for (;;) {
        pthread_mutex_lock(&z->mu);
        uint64_t seen = z->event_seq;
        pthread_mutex_unlock(&z->mu);

        if (canceled(l))
            return TURN_CANCEL;
        struct String_vector sv;
        int rc = zkr__children(z, gen, l->dir, 0, &sv);
        if (zkr__is_transient(rc)) {
            rc = zkr__wait_connected_c(z, gen, deadline, NULL, &l->cancel);
            if (rc == ZOPERATIONTIMEOUT)
                return canceled(l) ? TURN_CANCEL : TURN_TIMEOUT;
            if (rc != ZOK)
                return rc;
            continue;
        }
        if (rc != ZOK)
            return rc;
        zkr__sort_by_seq(sv.data, sv.count);
        int i, mine = -1;
        for (i = 0; i < sv.count; i++)
            if (strcmp(sv.data[i], me) == 0) {
                mine = i;
                break;
            }
        if (mine < 0) {
            deallocate_String_vector(&sv);
            return ZNONODE;
        }
        int blocker = -1;
        for (i = mine - 1; i >= 0; i--)
            if (l->mode != ZKR_LOCK_READ || !is_read_node(sv.data[i])) {
                blocker = i;
                break;
            }
        if (blocker < 0) {
            deallocate_String_vector(&sv);
            return ZOK;
        }
        char bpath[ZKR_PATH_MAX];
        rc = zkr__join(bpath, sizeof bpath, l->dir, sv.data[blocker]);
        deallocate_String_vector(&sv);
        if (rc)
            return ZBADARGUMENTS;
        if (try_only)
            return TURN_BUSY;
        /* Watch only the node just ahead of us that blocks us. */
        rc = zkr__exists(z, gen, bpath, 1, NULL);
        if (rc == ZNONODE)
            continue;           /* it went meanwhile: look again */
        if (zkr__is_transient(rc))
            continue;           /* the next round waits for the connection */
        if (rc != ZOK)
            return rc;
        pthread_mutex_lock(&z->mu);
        while (z->event_seq == seen && !z->stop && !l->cancel &&
               zkr__now_ms() < deadline)
            zkr__cond_wait(z, deadline);
        int timed_out = z->event_seq == seen && !z->stop && !l->cancel;
        pthread_mutex_unlock(&z->mu);
        if (timed_out)
            return TURN_TIMEOUT;
    }
}

/* The body of acquire and try-acquire: protected create, wait for
 * our turn, withdraw on busy/timeout/cancel, start over on expiry. */
static int acquire(zkr_lock_t *l, int64_t deadline, int try_only)
{
    zkr_t *z = l->z;
    pthread_mutex_lock(&z->mu);
    if (l->held || l->busy) {
        pthread_mutex_unlock(&z->mu);
        return ZKR_EINVAL;
    }
    l->busy = 1;
    pthread_mutex_unlock(&z->mu);

    int result;
    for (;;) {
        uint64_t gen;
        int rc = zkr__wait_connected_c(z, 0, deadline, &gen, &l->cancel);
        if (canceled(l)) {
            result = ZKR_ECANCELED;
            break;
        }
        if (rc != ZOK) {
            result = rc == ZCLOSING ? ZKR_ECLOSED : ZKR_ETIMEOUT;
            break;
        }
        char node[ZKR_PATH_MAX];
        rc = zkr__protected_create(z, gen, l->dir, kind_of(l->mode),
                                   l->whoami, (int)strlen(l->whoami),
                                   deadline, &l->cancel, node, sizeof node);
        if (rc == ZSESSIONEXPIRED)
            continue;           /* a new session is on its way */
        if (rc != ZOK) {
            result = canceled(l) ? ZKR_ECANCELED
                     : rc == ZOPERATIONTIMEOUT ? ZKR_ETIMEOUT
                                               : zkr__err(z, rc, "lock create");
            break;
        }
        rc = wait_turn(l, gen, node, deadline, try_only);
        if (rc == ZOK) {
            pthread_mutex_lock(&z->mu);
            l->held = 1;
            l->deleted = 0;
            l->gen = gen;
            l->seq = zkr__seq(node);
            snprintf(l->node, sizeof l->node, "%s", node);
            pthread_mutex_unlock(&z->mu);
            /* a watch on our own node tells us if someone deletes it */
            rc = zkr__exists(z, gen, node, 1, NULL);
            if (rc == ZNONODE) {
                pthread_mutex_lock(&z->mu);
                l->deleted = 1;
                pthread_mutex_unlock(&z->mu);
            }
            result = ZKR_OK;
            break;
        }
        if (rc == TURN_BUSY || rc == TURN_TIMEOUT || rc == TURN_CANCEL) {
            /* Withdraw, so that our node never blocks anybody. */
            zkr__delete_guaranteed(z, gen, node, zkr_session_timeout(z));
            result = rc == TURN_BUSY ? ZKR_EBUSY : rc == TURN_CANCEL
                         ? ZKR_ECANCELED : ZKR_ETIMEOUT;
            break;
        }
        if (rc == ZSESSIONEXPIRED || rc == ZNONODE) {
            /* Our node is gone with its session (or was deleted): queue
             * again, in the new session, if there is time. */
            if (rc == ZNONODE)
                zkr__log(z, "our lock node %s vanished while waiting; "
                            "queueing again", node);
            if (zkr__now_ms() >= deadline) {
                result = ZKR_ETIMEOUT;
                break;
            }
            continue;
        }
        zkr__delete_guaranteed(z, gen, node, zkr_session_timeout(z));
        result = rc == ZCLOSING ? ZKR_ECLOSED : zkr__err(z, rc, "lock wait");
        break;
    }
    pthread_mutex_lock(&z->mu);
    l->busy = 0;
    if (result == ZKR_ECANCELED)
        l->cancel = 0;          /* consumed */
    pthread_mutex_unlock(&z->mu);
    return result;
}

/* Sets the cancel flag and wakes every waiter on z->cv. */
void zkr_lock_cancel(zkr_lock_t *l)
{
    pthread_mutex_lock(&l->z->mu);
    l->cancel = 1;
    pthread_cond_broadcast(&l->z->cv);
    pthread_mutex_unlock(&l->z->mu);
}

/* Blocking acquire with a deadline (see zkr.h). */
int zkr_lock_acquire(zkr_lock_t *l, int timeout_ms)
{
    if (!l)
        return ZKR_EINVAL;
    return acquire(l, zkr__deadline(timeout_ms), 0);
}

/* Acquire that never waits for the lock itself; connection waits
 * are bounded by the session timeout. */
int zkr_lock_try_acquire(zkr_lock_t *l)
{
    if (!l)
        return ZKR_EINVAL;
    return acquire(l, zkr__deadline(zkr_session_timeout(l->z)), 1);
}

/* Clears the hold, then deletes our node (guaranteed). */
int zkr_lock_release(zkr_lock_t *l)
{
    if (!l)
        return ZKR_EINVAL;
    zkr_t *z = l->z;
    pthread_mutex_lock(&z->mu);
    if (!l->held) {
        pthread_mutex_unlock(&z->mu);
        return ZKR_ENOTHELD;
    }
    int st = state_locked(l);
    uint64_t gen = l->gen;
    char node[ZKR_PATH_MAX];
    snprintf(node, sizeof node, "%s", l->node);
    l->held = 0;
    l->node[0] = '\0';
    l->seq = -1;
    pthread_mutex_unlock(&z->mu);
    if (st == ZKR_LOST && gen != zkr_generation(z))
        return ZKR_ELOST;       /* gone with the session */
    int rc = zkr__delete_guaranteed(z, gen, node, zkr_session_timeout(z));
    if (rc == ZOK)
        return st == ZKR_LOST ? ZKR_ELOST : ZKR_OK;
    if (rc == ZSESSIONEXPIRED)
        return ZKR_ELOST;
    return zkr__err(z, rc, "lock release");
}

/* The holder state without a round trip. */
int zkr_lock_state(zkr_lock_t *l)
{
    pthread_mutex_lock(&l->z->mu);
    int st = state_locked(l);
    pthread_mutex_unlock(&l->z->mu);
    return st;
}

/* The holder state confirmed by exists() on our node. */
int zkr_lock_check(zkr_lock_t *l, int timeout_ms)
{
    zkr_t *z = l->z;
    int64_t deadline = zkr__deadline(timeout_ms);
    for (;;) {
        pthread_mutex_lock(&z->mu);
        int st = state_locked(l);
        uint64_t gen = l->gen;
        char node[ZKR_PATH_MAX];
        snprintf(node, sizeof node, "%s", l->node);
        pthread_mutex_unlock(&z->mu);
        if (st == ZKR_NOT_HELD || st == ZKR_LOST)
            return st;
        int rc = zkr__wait_connected(z, gen, deadline, NULL);
        if (rc == ZSESSIONEXPIRED)
            return ZKR_LOST;
        if (rc != ZOK)
            return ZKR_UNSURE;
        rc = zkr__exists(z, gen, node, 1, NULL);
        if (rc == ZOK) {
            pthread_mutex_lock(&z->mu);
            st = state_locked(l);
            pthread_mutex_unlock(&z->mu);
            return st;
        }
        if (rc == ZNONODE) {
            pthread_mutex_lock(&z->mu);
            if (l->held && l->gen == gen)
                l->deleted = 1;
            st = state_locked(l);
            pthread_mutex_unlock(&z->mu);
            return st;
        }
        if (rc == ZSESSIONEXPIRED)
            return ZKR_LOST;
        if (!zkr__is_transient(rc) || zkr__now_ms() >= deadline)
            return ZKR_UNSURE;
    }
}

/* The held node's sequence number, or -1. */
int64_t zkr_lock_token(zkr_lock_t *l)
{
    pthread_mutex_lock(&l->z->mu);
    int64_t t = l->held ? l->seq : -1;
    pthread_mutex_unlock(&l->z->mu);
    return t;
}

/* Releases if needed, unregisters the hook, frees. */
void zkr_lock_free(zkr_lock_t *l)
{
    if (!l)
        return;
    if (zkr_lock_state(l) != ZKR_NOT_HELD)
        zkr_lock_release(l);
    zkr__task_remove(l->z, &l->task);
    free(l->dir);
    free(l);
}
