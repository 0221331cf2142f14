/*
 * zkr_int.h -- what the recipes share: the zkr_t, its worker's tasks, and
 * wrappers around the synchronous ZooKeeper calls.
 *
 * Locking rule: z->mu protects every field of the zkr_t and every recipe
 * object's mutable state.  It is never held across a zoo_* call or
 * zookeeper_init/close (the completion thread takes it in the watcher, so
 * holding it across a call that waits for that thread would deadlock),
 * nor across a user callback.
 */
#ifndef ZKR_INT_H
#define ZKR_INT_H

#include <pthread.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

#include "zkr.h"

/* Bounds. */
#define ZKR_PATH_MAX 1024      /* longest path the recipes build           */
#define ZKR_DATA_MAX (1 << 20) /* ZooKeeper's jute.maxbuffer default        */
#define ZKR_RETRY_MS 200       /* pause before retrying after an error      */

/* A unit of work the worker runs when kicked: by a watch event on a path
 * under `prefix`, by any session event, or when `due` passes. */
typedef struct zkr_task {
    struct zkr_task *next;
    char *prefix;           /* events on prefix or prefix/... mark it dirty */
    /* Optional; runs under z->mu on the completion thread for every watch
     * event (not session events).  Must not block or call ZooKeeper. */
    void (*notify)(struct zkr_task *t, int type, const char *path);
    /* Runs on the worker, z->mu not held. */
    void (*step)(struct zkr_task *t);
    void *self;             /* the recipe object                            */
    int dirty;
    int busy;
    int64_t due;            /* monotonic ms, 0 = none                       */
} zkr_task_t;

/* One ZooKeeper handle and what lives as long as it does. */
typedef struct zkr_handle {
    struct zkr_handle *next; /* on the retired list                         */
    zhandle_t *zh;
    struct zkr *z;
    uint64_t gen;
    int refs;                /* calls in progress                           */
    int retired;
} zkr_handle_t;

/* A delete to retry until it succeeds or its session ends. */
typedef struct zkr_pending_delete {
    struct zkr_pending_delete *next;
    uint64_t gen;
    char *path;
} zkr_pending_delete_t;

#define ZKR_EVQ 64

struct zkr {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *hosts;
    int requested_ms;
    int negotiated_ms;
    const struct ACL_vector *acl;
    char *auth_scheme, *auth_cert;

    zkr_handle_t *cur;        /* NULL while being replaced                   */
    zkr_handle_t *retired;    /* old handles with calls still in progress    */
    uint64_t gen;             /* generation of cur                           */
    int state;                /* ZOO_*_STATE of cur as reported to the watcher
                                 (0 before the first event)                  */
    int64_t session_id;       /* of cur, 0 until its first connection        */
    int64_t disconnected_at;  /* monotonic ms, when state left CONNECTED     */
    int renew;                /* the worker must replace cur                 */
    int64_t renew_due;        /* ... not before this time                    */
    uint64_t event_seq;       /* +1 on every event: waiters re-check         */
    uint64_t connects;        /* +1 on every (re)connection                   */
    uint32_t nonce;           /* for tags                                    */

    zkr_task_t *tasks;
    zkr_pending_delete_t *deletes;
    int64_t deletes_due;

    int evq[ZKR_EVQ];
    int64_t evq_sid[ZKR_EVQ];
    int evq_head, evq_len;
    zkr_session_fn session_fn;
    void *session_arg;
    pthread_mutex_t log_mu;   /* guards log_fn/log_arg only               */
    zkr_log_fn log_fn;
    void *log_arg;

    pthread_t worker;
    int worker_started;
    int stop;
};

/* Time. */
int64_t zkr__now_ms(void);
/* Deadline from a timeout (< 0: none, INT64_MAX). */
int64_t zkr__deadline(int timeout_ms);
/* Waits on z->cv (z->mu held) until `deadline` (INT64_MAX: no limit). */
void zkr__cond_wait(zkr_t *z, int64_t deadline);

/* Explanatory messages to the zkr_log_fn.  By convention called without
 * z->mu held (the user's function may call zkr); it takes only log_mu, so
 * a slip cannot deadlock. */
void zkr__log(zkr_t *z, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Tasks (take z->mu). */
void zkr__task_add(zkr_t *z, zkr_task_t *t);
void zkr__task_remove(zkr_t *z, zkr_task_t *t);
void zkr__task_kick(zkr_t *z, zkr_task_t *t);
/* With z->mu held: run the task again in delay_ms (keeps an earlier due). */
void zkr__task_retry_locked(zkr_t *z, zkr_task_t *t, int delay_ms);

/* With z->mu held: 1 if cur is connected in generation gen (0: any). */
int zkr__connected_locked(zkr_t *z, uint64_t gen);

/* Waits until connected.  gen 0: any generation (returns the current one
 * in *got); otherwise that generation only.  Returns ZOK, ZSESSIONEXPIRED
 * (the generation ended), ZOPERATIONTIMEOUT (deadline) or ZCLOSING. */
int zkr__wait_connected(zkr_t *z, uint64_t gen, int64_t deadline,
                        uint64_t *got);
/* The same, also returning ZOPERATIONTIMEOUT as soon as *cancel (read
 * under z->mu) is non-zero. */
int zkr__wait_connected_c(zkr_t *z, uint64_t gen, int64_t deadline,
                          uint64_t *got, const int *cancel);

/* The wrappers: each runs one synchronous call on the current handle if it
 * is of generation gen (0: whichever is current) and returns the
 * ZooKeeper code.  A different generation gives ZSESSIONEXPIRED; no handle
 * (being replaced) gives ZCONNECTIONLOSS; closing gives ZCLOSING.  *data
 * of zkr__get is malloc'ed and NUL-terminated (NULL with len 0 for a node
 * without data). */
int zkr__create(zkr_t *z, uint64_t gen, const char *path, const void *data,
                int len, int mode, char *out, int outlen);
int zkr__delete(zkr_t *z, uint64_t gen, const char *path, int version);
int zkr__exists(zkr_t *z, uint64_t gen, const char *path, int watch,
                struct Stat *st);
int zkr__get(zkr_t *z, uint64_t gen, const char *path, int watch,
             char **data, int *len, struct Stat *st);
int zkr__set(zkr_t *z, uint64_t gen, const char *path, const void *data,
             int len, int version);
int zkr__children(zkr_t *z, uint64_t gen, const char *path, int watch,
                  struct String_vector *sv);
int zkr__sync(zkr_t *z, uint64_t gen, const char *path);

/* Creates every missing node on the way to `path`, path included
 * (persistent, empty).  ZOK or the first other error. */
int zkr__ensure_path(zkr_t *z, uint64_t gen, const char *path);

/* Creates dir/<tag><kind> (an EPHEMERAL_SEQUENTIAL node unless `mode` says
 * otherwise) in generation gen, with tag = "_c_<session>-<nonce>-".
 * Missing parents are created.  On connection loss it waits for
 * reconnection (until deadline) and looks for a child of dir starting with
 * the tag whose ephemeralOwner is our session; found, that is our node;
 * not found, the create is sent again with the same tag.  A non-zero
 * *cancel (may be NULL) counts as the deadline passing.  The full path
 * goes to out.  Returns ZOK, ZSESSIONEXPIRED, ZOPERATIONTIMEOUT, ZCLOSING
 * or another ZooKeeper error. */
int zkr__protected_create(zkr_t *z, uint64_t gen, const char *dir,
                          const char *kind, const void *data, int len,
                          int64_t deadline, const int *cancel, char *out,
                          size_t outlen);

/* Deletes path (ZNONODE counts as done) in generation gen.  Tries for up
 * to wait_ms; if still disconnected, the worker retries until it succeeds
 * or the session ends (which deletes an ephemeral node anyway).  Returns
 * ZOK when done or handed over, ZSESSIONEXPIRED if gen has ended. */
int zkr__delete_guaranteed(zkr_t *z, uint64_t gen, const char *path,
                           int wait_ms);

/* zkr_cache_new() in two halves, so that an owner can store the cache
 * before its first callback can run. */
int zkr__cache_create(zkr_t *z, const char *path, zkr_cache_fn fn,
                      void *arg, zkr_cache_t **out);
void zkr__cache_start(zkr_cache_t *c);

/* Fault injection for tests: 1 if this create's reply should be "lost"
 * (the environment variable ZKR_FAULT_CREATE=N loses every Nth reply of a
 * create that succeeded, after it took effect). */
int zkr__fault_create(void);

/* The sequence number at the end of a sequential node's name, or -1. */
int64_t zkr__seq(const char *name);
/* Sorts names by sequence number (then by name). */
void zkr__sort_by_seq(char **names, int n);
/* 1 if rc means "try again after reconnecting". */
int zkr__is_transient(int rc);
/* Maps a ZooKeeper code to a ZKR_* code (logs unexpected ones). */
int zkr__err(zkr_t *z, int rc, const char *what);
/* Joins dir and name into out ("dir/name"; "/name" if dir is "/"). */
int zkr__join(char *out, size_t len, const char *dir, const char *name);
/* Validates an absolute node path (no trailing '/', no empty, "." or ".."
 * components).  1 if fine. */
int zkr__valid_path(const char *path);
/* strdup that may fail. */
char *zkr__strdup(const char *s);

#endif /* ZKR_INT_H */
