/*
 * zkr.h -- ZooKeeper recipes on Apache's C client (libzookeeper_mt)
 *
 * The five things people use ZooKeeper for, as a small C library:
 *
 *   master election   zkr_election_*   ephemeral-sequential candidates, the
 *                                      lowest is master, each other watches
 *                                      only its predecessor
 *   locks             zkr_lock_*       exclusive, shared (read) and write
 *                                      locks on the same ordered queue
 *   naming            zkr_name_*       unique ordered names; a path-based
 *                                      name registry
 *   membership        zkr_member_*,    an ephemeral node per member with its
 *                     zkr_cache_*      runtime state; a watched member list
 *   service registry  zkr_service_*,   providers as ephemeral host:port nodes
 *                     zkr_consumer_*   under /services/NAME; consumers keep a
 *                                      watched, cached list
 *
 * man 7 zk-recipes is the user's guide; this header is the reference.
 *
 * The session: zkr_t
 * ------------------
 * Every recipe works through one zkr_t, which owns a ZooKeeper handle and
 * replaces it when its session ends.  It tells three situations apart, and
 * every recipe documents what it does in each:
 *
 *   CONNECTION_LOSS  The TCP connection broke; the client library is already
 *                    reconnecting, possibly to another server.  The session
 *                    and its ephemeral nodes live on, but nothing is known
 *                    until the client reconnects: a request that failed
 *                    with connection loss may or may not have been applied.
 *                    zkr calls this state "disconnected"; holders of locks
 *                    and masters are UNSURE in it.
 *   reconnection     The client reconnected within the session timeout: the
 *                    same session, its ephemerals and its watches (the
 *                    client library re-registers them and the server fires
 *                    the ones whose nodes changed meanwhile).  Recipes
 *                    re-read what they watch, to be safe.
 *   SESSION_EXPIRED  The ensemble ended the session: every ephemeral node it
 *                    owned is gone, every watch is gone, and the handle is
 *                    useless.  zkr then opens a new session on a new handle
 *                    (the "generation" increases).  Locks held in the old
 *                    session are LOST; a master is no longer master;
 *                    members, providers and candidates re-create their
 *                    nodes in the new session; caches re-read everything.
 *                    A client that stays disconnected for longer than the
 *                    negotiated session timeout treats its session as
 *                    expired without waiting to hear it from a server (as
 *                    Curator does): the ensemble has expired it by then, or
 *                    will, and a holder must not go on believing.  (After
 *                    an outage of the whole ensemble, the restarted
 *                    ensemble may keep the abandoned session for one more
 *                    timeout: a member's node then blinks out and back in
 *                    once, when it expires and the new session's node
 *                    takes its place.)
 *
 * Why the synchronous API
 * -----------------------
 * The recipes use the synchronous zoo_* calls with watches set through the
 * handle's one global watcher.  Each recipe is then a short straight-line
 * sequence of steps -- create, list, watch the predecessor -- with each
 * error handled where it occurs, which is what this library exists to show
 * and to get right.  The async API would turn every recipe into a chain of
 * completions and the recovery paths (find our node after a lost create
 * reply; retry a delete until it sticks) into state machines.  The cost is
 * one thread per zkr_t (the "worker") for the recipes that must react to
 * events on their own (election, members, providers, caches); blocking
 * calls such as zkr_lock_acquire() run on the caller's thread.
 *
 * Threads
 * -------
 * zookeeper_mt calls watchers on its own completion thread, and a
 * synchronous call made from that thread would wait for itself.  zkr's
 * watcher therefore only records the event under the zkr_t's mutex and
 * signals its condition variable; ZooKeeper calls are made by the caller's
 * thread or by the worker, never with the mutex held.  Every zkr function
 * may be called from any thread.  Callbacks (session, election, cache,
 * consumer) run on the worker thread with no lock held; they may call any
 * zkr function except the one that frees the object calling back (or
 * zkr_close), but a callback that blocks delays every other recipe of its
 * zkr_t.
 *
 * Errors
 * ------
 * Functions return 0 (ZKR_OK) or a negative ZKR_E* code; zkr_strerror()
 * names it.  State queries return the non-negative ZKR_* state constants.
 */
#ifndef ZKR_H
#define ZKR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

enum {
    ZKR_OK = 0,
    ZKR_ETIMEOUT = -1,   /* the deadline passed (e.g. still disconnected)   */
    ZKR_EBUSY = -2,      /* try-acquire: someone else holds it              */
    ZKR_ELOST = -3,      /* the session ended: what was held is gone        */
    ZKR_ECLOSED = -4,    /* the zkr_t is closing                            */
    ZKR_EEXIST = -5,     /* the name or node already exists                 */
    ZKR_ENOENT = -6,     /* no such name or node                            */
    ZKR_EINVAL = -7,     /* bad argument or call out of order               */
    ZKR_ENOMEM = -8,     /* out of memory                                   */
    ZKR_EZK = -9,        /* another ZooKeeper error (logged with its name)  */
    ZKR_ENOTHELD = -10,  /* release of something not held                   */
    ZKR_ERANGE = -11,    /* the caller's buffer is too small                */
    ZKR_ECANCELED = -12  /* zkr_lock_cancel() interrupted the call          */
};

/* Returns a static English description of a ZKR_E* code. */
const char *zkr_strerror(int rc);

/* ---- the session -------------------------------------------------------- */

typedef struct zkr zkr_t;

/* Session events, reported in order to the zkr_session_fn. */
enum {
    ZKR_SESSION_NEW = 1,       /* connected with a new session (sid given)  */
    ZKR_SESSION_DISCONNECTED,  /* connection lost; the session may live on  */
    ZKR_SESSION_RECONNECTED,   /* reconnected within the same session       */
    ZKR_SESSION_EXPIRED,       /* the ensemble expired the session          */
    ZKR_SESSION_GIVEN_UP       /* disconnected for longer than the session
                                  timeout: treated as expired locally        */
};

typedef void (*zkr_session_fn)(void *arg, int event, int64_t session_id);
typedef void (*zkr_log_fn)(void *arg, const char *msg);

/* Opens a zkr_t on `hosts` ("host:port,host:port,...", optionally followed
 * by a chroot "/path") asking for `session_timeout_ms` (the ensemble
 * clamps it to its minSessionTimeout..maxSessionTimeout).  Returns at once;
 * the session is established in the background (zkr_wait_connected()).
 * Starts the worker thread.  Returns ZKR_EINVAL or ZKR_ENOMEM on failure. */
int zkr_open(const char *hosts, int session_timeout_ms, zkr_t **out);

/* Closes the session gracefully -- the ensemble deletes its ephemeral
 * nodes at once instead of after the timeout -- stops the worker and frees
 * the zkr_t.  Every recipe object made on it must be freed first. */
void zkr_close(zkr_t *z);

/* Waits until the session is connected.  Returns ZKR_OK, or ZKR_ETIMEOUT
 * after timeout_ms (< 0: wait forever), or ZKR_ECLOSED. */
int zkr_wait_connected(zkr_t *z, int timeout_ms);

/* 1 if the session is connected right now, else 0 (a snapshot). */
int zkr_is_connected(zkr_t *z);

/* The current session id (0 while no session is established). */
int64_t zkr_session_id(zkr_t *z);

/* The session timeout the ensemble granted, in ms (the requested one until
 * the first connection). */
int zkr_session_timeout(zkr_t *z);

/* The session generation: 1 for the first session, +1 each time an expired
 * session is replaced.  Changes exactly when ephemerals are lost. */
uint64_t zkr_generation(zkr_t *z);

/* Sets the callback told about every session event, in order, on the
 * worker thread.  NULL removes it. */
void zkr_set_session_cb(zkr_t *z, zkr_session_fn fn, void *arg);

/* Sets a sink for the library's explanatory messages ("connection lost
 * while creating ...; looking for our node by its tag").  NULL: silent.
 * The ZooKeeper client's own log goes to stderr only when the environment
 * variable ZKR_ZK_LOG is set. */
void zkr_set_log(zkr_t *z, zkr_log_fn fn, void *arg);

/* Sets the ACL used for every node the recipes create, missing parents
 * included (default: world anyone, all permissions).  `acl` is a struct
 * ACL_vector * from <zookeeper/zookeeper.h>; it must outlive the zkr_t.
 * Other clients must then hold matching credentials (zkr_add_auth()) to
 * take part in those recipes. */
void zkr_set_acl(zkr_t *z, const void *acl);

/* Adds authentication to the session and to every future session (scheme
 * "digest", cert "user:password").  Returns ZKR_OK or ZKR_EZK. */
int zkr_add_auth(zkr_t *z, const char *scheme, const char *cert);

/* ---- holder states ----------------------------------------------------- */

/* What a lock holder or a master may believe.  Query functions return
 * these; a careful holder acts only in ZKR_HELD. */
enum {
    ZKR_NOT_HELD = 0,  /* not acquired (or released)                       */
    ZKR_HELD = 1,      /* held, connected, our node exists                  */
    ZKR_UNSURE = 2,    /* held, but disconnected: the session may or may not
                          still exist.  Pause; it resolves to HELD on
                          reconnection or LOST on expiry.                   */
    ZKR_LOST = 3       /* was held; the session expired (or our node was
                          deleted by someone): another may hold it now     */
};

/* ---- master election --------------------------------------------------- */

typedef struct zkr_election zkr_election_t;

/* Called on the worker thread whenever the candidate's state changes:
 * state is ZKR_HELD (master), ZKR_UNSURE (master but disconnected: stop
 * acting as master until this resolves), ZKR_LOST (was master; the session
 * ended -- no longer master) or ZKR_NOT_HELD (a candidate, not master).
 * `master` names the current master as far as this candidate knows (its
 * NAME data; "" if unknown). */
typedef void (*zkr_election_fn)(void *arg, zkr_election_t *e, int state,
                                const char *master);

/* Makes a candidate called `name` for the election under `path` (created
 * if missing).  It takes part once zkr_election_start() is called. */
int zkr_election_new(zkr_t *z, const char *path, const char *name,
                     zkr_election_fn fn, void *arg, zkr_election_t **out);

/* Volunteers: the worker creates an ephemeral-sequential node
 * path/_c_<tag>-n_<seq> holding the name; if it is the lowest the candidate
 * is master, otherwise it watches only the next lower node (no herd
 * effect) and re-checks when that one goes.
 *   Connection loss during the create: the node is found again by its
 *   session-tagged name after reconnection, never created twice.
 *   Disconnected while master: ZKR_UNSURE, then ZKR_HELD again if the
 *   session survived (the node is verified).
 *   Session expired: ZKR_LOST is reported, then the candidate volunteers
 *   again in the new session, at the end of the queue. */
int zkr_election_start(zkr_election_t *e);

/* The candidate's state as last established (see zkr_election_fn), without
 * a round trip.  Use zkr_election_check() before acting as master. */
int zkr_election_state(zkr_election_t *e);

/* Confirms mastership with a round trip to the ensemble: ZKR_HELD only if
 * we are master, connected, in the session our node was made in, and the
 * node still exists at the server now.  Waits up to timeout_ms for a
 * disconnection to resolve, else answers ZKR_UNSURE. */
int zkr_election_check(zkr_election_t *e, int timeout_ms);

/* Waits until this candidate is master (ZKR_OK), or ZKR_ETIMEOUT after
 * timeout_ms (< 0: forever), or ZKR_EINVAL if it was never started. */
int zkr_election_wait(zkr_election_t *e, int timeout_ms);

/* Withdraws: deletes our node (retried until it sticks or the session
 * ends), stops being master, reports ZKR_NOT_HELD.  start() may follow. */
int zkr_election_resign(zkr_election_t *e);

/* Reads who is master of the election at `path` right now (the name held
 * by the lowest candidate node) into buf.  ZKR_ENOENT if there is no
 * candidate, ZKR_ERANGE if buf is too small, ZKR_ETIMEOUT if disconnected
 * for timeout_ms. */
int zkr_election_master(zkr_t *z, const char *path, char *buf, size_t len,
                        int timeout_ms);

/* Resigns (if started) and frees the candidate. */
void zkr_election_free(zkr_election_t *e);

/* ---- locks -------------------------------------------------------------- */

typedef struct zkr_lock zkr_lock_t;

enum {
    ZKR_LOCK_EXCLUSIVE = 0, /* node "lock-": excludes everyone              */
    ZKR_LOCK_READ = 1,      /* node "read-": shared among readers,
                               excluded by any lower write/lock node        */
    ZKR_LOCK_WRITE = 2      /* node "write-": exclusive, like EXCLUSIVE;
                               the two kinds exclude each other             */
};

/* Makes a lock object for the lock at `path` (created if missing) in the
 * given mode.  One object is one would-be holder; it is not reentrant. */
int zkr_lock_new(zkr_t *z, const char *path, int mode, zkr_lock_t **out);

/* Blocks until the lock is held (ZKR_OK) or timeout_ms passes
 * (ZKR_ETIMEOUT; < 0 waits forever).  Creates an ephemeral-sequential
 * node path/_c_<session>-<nonce>-<kind>-<seq> and waits, watching only the
 * nearest lower node that blocks it.
 *   Connection loss during the create: after reconnection our node is
 *   found by its session-tagged name (as Curator's protected mode does) --
 *   neither leaked nor created twice.  Connection loss while waiting: the
 *   wait goes on; on reconnection the queue is read again.
 *   Session expired while waiting: our node is gone; the attempt starts
 *   over in the new session if time remains.
 *   Timeout: our node is deleted (retried in the background if
 *   disconnected) so it never blocks later holders.
 * ZKR_EINVAL if this object already holds or waits. */
int zkr_lock_acquire(zkr_lock_t *l, int timeout_ms);

/* Takes the lock only if it is free now: ZKR_OK or ZKR_EBUSY (our node is
 * then deleted again).  Connection loss is handled as in acquire; if the
 * session cannot be reached within the session timeout, ZKR_ETIMEOUT. */
int zkr_lock_try_acquire(zkr_lock_t *l);

/* Releases: deletes our node.  A delete that fails with connection loss is
 * retried, on the worker if need be, until it succeeds or the session ends
 * (which deletes the node anyway), so a release never leaks the lock.
 * ZKR_OK; ZKR_ELOST if the session had already expired (nothing to
 * release: the lock was lost); ZKR_ENOTHELD if not held. */
int zkr_lock_release(zkr_lock_t *l);

/* The holder's state without a round trip: ZKR_NOT_HELD, ZKR_HELD,
 * ZKR_UNSURE (disconnected) or ZKR_LOST (session expired or our node was
 * deleted).  A holder that sees anything but ZKR_HELD must stop touching
 * the protected resource. */
int zkr_lock_state(zkr_lock_t *l);

/* Like zkr_lock_state() but confirmed with a round trip (our node exists
 * at the server now, in our session).  If disconnected it waits up to
 * timeout_ms for the question to resolve before answering ZKR_UNSURE.
 * Call it just before an action that must not be taken without the lock;
 * pair it with zkr_lock_token() where the resource can check tokens. */
int zkr_lock_check(zkr_lock_t *l, int timeout_ms);

/* The fencing token of the current hold: the sequence number of our node.
 * Later exclusive holds of the same lock have strictly larger tokens, so a
 * resource that remembers the largest token it has seen can refuse a
 * holder that paused and lost its lock without knowing.  -1 if not held. */
int64_t zkr_lock_token(zkr_lock_t *l);

/* Makes the zkr_lock_acquire()/zkr_lock_try_acquire() in progress on
 * another thread return ZKR_ECANCELED promptly (its node is withdrawn as on
 * a timeout); if none is in progress, the next one returns ZKR_ECANCELED at
 * once.  Safe from any thread (not from a signal handler: use a thread
 * that sigwait()s, as the zk-lock tool does). */
void zkr_lock_cancel(zkr_lock_t *l);

/* Releases if held and frees the object. */
void zkr_lock_free(zkr_lock_t *l);

/* ---- naming ------------------------------------------------------------- */

/* Allocates the next unique name under `dir` (created if missing): a
 * persistent sequential node dir/<prefix><10-digit seq>; its data records
 * the allocating process.  The name (prefix + digits, no directory) goes
 * to buf, the sequence number to *seq if seq is not NULL.  Names from one
 * dir are unique across all clients and increase in allocation order.
 *   Connection loss during the create: the node is looked up among those
 *   created since (the parent's cversion) by its data tag, so a lost reply
 *   neither leaks a name nor hands out two.
 * ZKR_ETIMEOUT if not done within timeout_ms (< 0: forever). */
int zkr_name_next(zkr_t *z, const char *dir, const char *prefix, char *buf,
                  size_t len, int64_t *seq, int timeout_ms);

enum {
    ZKR_NAME_EPHEMERAL = 1,  /* the registration dies with the session     */
    ZKR_NAME_REPLACE = 2,    /* overwrite an existing registration          */
    ZKR_NAME_SYNC = 4        /* resolve: sync first (linearizable read)     */
};

/* Registers `name` (a relative path like "db/primary"; missing
 * intermediate nodes are created) under the registry node `registry` with
 * `value`.  ZKR_EEXIST if taken (unless ZKR_NAME_REPLACE).
 *   Connection loss during the create: on retry, an existing node that we
 *   own (ephemeral) or that holds exactly our value (persistent) counts as
 *   our registration -- the outcome the caller asked for.
 *   An ephemeral registration is NOT renewed after session expiry; use
 *   zkr_member_join() for that. */
int zkr_name_register(zkr_t *z, const char *registry, const char *name,
                      const char *value, int flags, int timeout_ms);

/* Resolves `name` into buf (NUL-terminated).  ZKR_ENOENT if unknown,
 * ZKR_ERANGE if buf is too small.  Reads are retried on connection loss
 * until timeout_ms.  With ZKR_NAME_SYNC the server first catches up with
 * the leader, so the answer reflects every registration completed before
 * the call. */
int zkr_name_resolve(zkr_t *z, const char *registry, const char *name,
                     char *buf, size_t len, int flags, int timeout_ms);

/* Lists the names directly under registry/dir (dir "" or NULL: the top)
 * into a sorted, malloc'ed vector of *count strings; free it with
 * zkr_strings_free().  Retried on connection loss until timeout_ms. */
int zkr_name_list(zkr_t *z, const char *registry, const char *dir,
                  char ***names, int *count, int timeout_ms);

/* Deletes a registration.  ZKR_ENOENT if there was none.  A delete whose
 * reply was lost is retried; ZNONODE on the retry counts as done. */
int zkr_name_unregister(zkr_t *z, const char *registry, const char *name,
                        int timeout_ms);

/* Frees a vector returned by zkr_name_list(). */
void zkr_strings_free(char **v, int count);

/* ---- membership ---------------------------------------------------------- */

typedef struct zkr_member zkr_member_t;

/* Joins the group at `group` (created if missing) as `name`: the worker
 * keeps an ephemeral node group/name holding `data` (the member's runtime
 * state) for as long as the member object lives.
 *   Connection loss during the create: on retry, ZNODEEXISTS with our
 *   session as the node's owner means the first create took effect.
 *   A node of the same name owned by another session (typically our own
 *   previous incarnation, killed, whose session has not yet expired) is
 *   waited out: we watch it and create ours when it goes.
 *   Session expiry: the node is re-created in the new session with the
 *   latest data.  Someone deleting our node: it is re-created.
 * Returns at once; zkr_member_wait() waits for the node to exist. */
int zkr_member_join(zkr_t *z, const char *group, const char *name,
                    const void *data, size_t len, zkr_member_t **out);

/* Replaces the member's runtime state; written by the worker (retried
 * across connection loss and re-joins).  Last write wins. */
int zkr_member_set(zkr_member_t *m, const void *data, size_t len);

/* Waits until our node exists in the current session with the latest
 * data: ZKR_OK, or ZKR_ETIMEOUT after timeout_ms (< 0: forever). */
int zkr_member_wait(zkr_member_t *m, int timeout_ms);

/* ZKR_HELD while our node is known to exist and we are connected,
 * ZKR_UNSURE while disconnected, ZKR_NOT_HELD while (re-)joining. */
int zkr_member_state(zkr_member_t *m);

/* Leaves: deletes our node (retried across connection loss, bounded by
 * the session timeout; if it cannot be done, the node still disappears
 * when the session ends) and frees the object. */
void zkr_member_leave(zkr_member_t *m);

/* ---- watched child lists (group views, service consumers) -------------- */

typedef struct zkr_cache zkr_cache_t;

/* One child of a watched node: its name and data (NUL-terminated; len
 * excludes the NUL). */
typedef struct {
    char *name;
    char *data;
    size_t len;
} zkr_entry_t;

/* Cache events. */
enum {
    ZKR_CACHE_ADDED = 1,   /* a child appeared (name, data)                 */
    ZKR_CACHE_REMOVED,     /* a child disappeared (name, last data)         */
    ZKR_CACHE_CHANGED,     /* a child's data changed (name, new data)       */
    ZKR_CACHE_SYNCED,      /* the view is complete and current (name NULL)  */
    ZKR_CACHE_STALE        /* disconnected: the view may be out of date and
                              is kept as it was until reconnection (NULL)   */
};

typedef void (*zkr_cache_fn)(void *arg, zkr_cache_t *c, int event,
                             const char *name, const char *data, size_t len);

/* Watches the children of `path` and their data: the worker lists the
 * children with a child watch and reads each child with a data watch;
 * every watch event re-reads (which re-arms the watch in the same call, so
 * no change after the read can be missed) and the differences are
 * reported as ADDED/REMOVED/CHANGED followed by SYNCED.  Several changes
 * between two reads are reported as their net effect.  If `path` does not
 * exist yet, an exists-watch waits for it.
 *   Connection loss: STALE is reported; the list is kept.
 *   Reconnection: everything is read again and the net differences
 *   reported.
 *   Session expiry: the same, in the new session (all watches set again). */
int zkr_cache_new(zkr_t *z, const char *path, zkr_cache_fn fn, void *arg,
                  zkr_cache_t **out);

/* Copies the current view (sorted by name) into a malloc'ed array; free it
 * with zkr_entries_free().  *fresh is 1 if the view is synced and we are
 * connected, 0 if it may be stale.  Never blocks on the network. */
int zkr_cache_get(zkr_cache_t *c, zkr_entry_t **entries, int *count,
                  int *fresh);

/* Waits until the view has been synced at least once since the last
 * session event: ZKR_OK or ZKR_ETIMEOUT. */
int zkr_cache_wait_synced(zkr_cache_t *c, int timeout_ms);

/* Stops watching and frees the cache. */
void zkr_cache_free(zkr_cache_t *c);

/* Frees an array returned by zkr_cache_get() or zkr_consumer_get(). */
void zkr_entries_free(zkr_entry_t *v, int count);

/* ---- service registry --------------------------------------------------- */

/* The default registry root. */
#define ZKR_SERVICES_ROOT "/services"

/* Registers a provider of service `service` at `address` ("host:port"):
 * an ephemeral node <root>/<service>/<address> whose data is `meta`
 * (free text, e.g. "version=2 zone=a"; may be NULL).  root NULL means
 * ZKR_SERVICES_ROOT.  It is a zkr_member_t: the same connection-loss,
 * stale-node and session-expiry handling (re-registered in a new
 * session), zkr_member_set() updates the metadata and zkr_member_leave()
 * deregisters.  A provider that dies disappears when its session times
 * out. */
int zkr_service_register(zkr_t *z, const char *root, const char *service,
                         const char *address, const char *meta,
                         zkr_member_t **out);

typedef struct zkr_consumer zkr_consumer_t;

/* Called on the worker thread after every change of the provider list and
 * when it turns stale/fresh; `fresh` as in zkr_consumer_get(). */
typedef void (*zkr_consumer_fn)(void *arg, zkr_consumer_t *c, int fresh);

/* Follows the providers of `service`: a zkr_cache_t on <root>/<service>
 * whose list is also written atomically to `cache_file` (if not NULL)
 * after every change.  If the file exists, its list is loaded at once, so
 * the consumer has providers to offer before the first connection and
 * while disconnected -- marked not fresh. */
int zkr_consumer_new(zkr_t *z, const char *root, const char *service,
                     const char *cache_file, zkr_consumer_fn fn, void *arg,
                     zkr_consumer_t **out);

/* The providers as last known (name = address, data = metadata), sorted;
 * free with zkr_entries_free().  *fresh is 1 if the list is current (synced
 * and connected), 0 if it comes from the cache: while disconnected, before
 * the first sync, or loaded from the cache file. */
int zkr_consumer_get(zkr_consumer_t *c, zkr_entry_t **entries, int *count,
                     int *fresh);

/* Picks one provider address round-robin into buf (from the cache while
 * disconnected).  ZKR_ENOENT if none is known. */
int zkr_consumer_pick(zkr_consumer_t *c, char *buf, size_t len);

/* Stops following and frees the consumer (the cache file is kept). */
void zkr_consumer_free(zkr_consumer_t *c);

#ifdef __cplusplus
}
#endif

#endif /* ZKR_H */
