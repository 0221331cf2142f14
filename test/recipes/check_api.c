/*
 * check_api.c -- the library's API against a live ensemble ($ZK_HOSTS),
 * for what the command-line tools do not reach: argument checks, cancel
 * from another thread, shared locks within one process, election
 * wait/resign/master, the cache's event sequence, the consumer's cache
 * file before any connection, ACLs with digest auth, and a forced session
 * expiry (another handle takes the session over and closes it) -- a held
 * lock must turn LOST, a master must stop being master, members and
 * candidates must come back in the new session.
 *
 * Run by test/recipes/run_tests.py (test "api"); white-box: it includes
 * zkr_int.h to reach the session's handle.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zkr_int.h"

static int failures;
static const char *hosts;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "check_api.c:%d: FAILED: %s\n", __LINE__,      \
                    #cond);                                                \
            failures++;                                                    \
        }                                                                  \
    } while (0)

/* Sleeps ms milliseconds. */
static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Opens a zkr_t on hosts and waits for its session. */
static zkr_t *open_z(void)
{
    zkr_t *z;
    if (zkr_open(hosts, 2000, &z) != ZKR_OK || zkr_wait_connected(z, 10000))
        abort();
    return z;
}

/* ---- argument checks ---------------------------------------------------- */

/* Bad arguments are refused, never crash. */
static void test_args(zkr_t *z)
{
    zkr_lock_t *l;
    zkr_election_t *e;
    zkr_member_t *m;
    zkr_t *bad;
    char buf[8];
    CHECK(zkr_open("", 1000, &bad) == ZKR_EINVAL);
    CHECK(zkr_open("x:1", 0, &bad) == ZKR_EINVAL);
    CHECK(zkr_lock_new(z, "relative", ZKR_LOCK_EXCLUSIVE, &l) == ZKR_EINVAL);
    CHECK(zkr_lock_new(z, "/a/", ZKR_LOCK_EXCLUSIVE, &l) == ZKR_EINVAL);
    CHECK(zkr_lock_new(z, "/a//b", ZKR_LOCK_EXCLUSIVE, &l) == ZKR_EINVAL);
    CHECK(zkr_lock_new(z, "/a/../b", ZKR_LOCK_EXCLUSIVE, &l) == ZKR_EINVAL);
    CHECK(zkr_lock_new(z, "/a", 7, &l) == ZKR_EINVAL);
    CHECK(zkr_election_new(z, "/a", NULL, NULL, NULL, &e) == ZKR_EINVAL);
    CHECK(zkr_member_join(z, "/g", "a/b", "", 0, &m) == ZKR_EINVAL);
    CHECK(zkr_member_join(z, "/g", "..", "", 0, &m) == ZKR_EINVAL);
    CHECK(zkr_name_register(z, "/r", "/abs", "v", 0, 1000) == ZKR_EINVAL);
    CHECK(zkr_name_register(z, "/r", "a/../b", "v", 0, 1000) == ZKR_EINVAL);
    CHECK(zkr_name_next(z, "/n", "a/b", buf, sizeof buf, NULL, 1000) ==
          ZKR_EINVAL);
    CHECK(zkr_service_register(z, NULL, "web", "h/1", "", &m) == ZKR_EINVAL);
    CHECK(strcmp(zkr_strerror(ZKR_ECANCELED), "canceled") == 0);
}

/* ---- locks ----------------------------------------------------------------- */

struct waiter {
    zkr_lock_t *l;
    int rc;
    int64_t took_ms;
};

/* Thread body: a blocking acquire, timed. */
static void *acquire_thread(void *arg)
{
    struct waiter *w = arg;
    int64_t t0 = zkr__now_ms();
    w->rc = zkr_lock_acquire(w->l, -1);
    w->took_ms = zkr__now_ms() - t0;
    return NULL;
}

/* Exclusive and read/write locks inside one process, cancel, tokens. */
static void test_locks(zkr_t *z)
{
    zkr_lock_t *a, *b;
    CHECK(zkr_lock_new(z, "/api/lock", ZKR_LOCK_EXCLUSIVE, &a) == ZKR_OK);
    CHECK(zkr_lock_new(z, "/api/lock", ZKR_LOCK_EXCLUSIVE, &b) == ZKR_OK);
    CHECK(zkr_lock_release(a) == ZKR_ENOTHELD);
    CHECK(zkr_lock_token(a) == -1);
    CHECK(zkr_lock_acquire(a, 5000) == ZKR_OK);
    CHECK(zkr_lock_acquire(a, 5000) == ZKR_EINVAL);   /* not reentrant */
    CHECK(zkr_lock_state(a) == ZKR_HELD);
    CHECK(zkr_lock_check(a, 1000) == ZKR_HELD);
    int64_t ta = zkr_lock_token(a);
    CHECK(ta >= 0);
    CHECK(zkr_lock_try_acquire(b) == ZKR_EBUSY);
    CHECK(zkr_lock_acquire(b, 300) == ZKR_ETIMEOUT);

    /* a blocked acquire, cancelled from here */
    struct waiter w = {b, 99, 0};
    pthread_t th;
    pthread_create(&th, NULL, acquire_thread, &w);
    sleep_ms(300);
    zkr_lock_cancel(b);
    pthread_join(th, NULL);
    CHECK(w.rc == ZKR_ECANCELED);
    CHECK(w.took_ms < 4000);    /* prompt; a create in flight finishes */

    /* a blocked acquire that gets the lock when a releases */
    w.rc = 99;
    pthread_create(&th, NULL, acquire_thread, &w);
    sleep_ms(200);
    CHECK(zkr_lock_release(a) == ZKR_OK);
    pthread_join(th, NULL);
    CHECK(w.rc == ZKR_OK);
    CHECK(zkr_lock_token(b) > ta);
    CHECK(zkr_lock_release(b) == ZKR_OK);
    CHECK(zkr_lock_release(b) == ZKR_ENOTHELD);
    zkr_lock_free(a);
    zkr_lock_free(b);

    /* readers share; a writer waits for them; a reader waits for it */
    zkr_lock_t *r1, *r2, *wr, *ex;
    CHECK(zkr_lock_new(z, "/api/rw", ZKR_LOCK_READ, &r1) == ZKR_OK);
    CHECK(zkr_lock_new(z, "/api/rw", ZKR_LOCK_READ, &r2) == ZKR_OK);
    CHECK(zkr_lock_new(z, "/api/rw", ZKR_LOCK_WRITE, &wr) == ZKR_OK);
    CHECK(zkr_lock_new(z, "/api/rw", ZKR_LOCK_EXCLUSIVE, &ex) == ZKR_OK);
    CHECK(zkr_lock_acquire(r1, 5000) == ZKR_OK);
    CHECK(zkr_lock_acquire(r2, 5000) == ZKR_OK);
    CHECK(zkr_lock_try_acquire(wr) == ZKR_EBUSY);
    CHECK(zkr_lock_try_acquire(ex) == ZKR_EBUSY);
    CHECK(zkr_lock_release(r1) == ZKR_OK);
    CHECK(zkr_lock_release(r2) == ZKR_OK);
    CHECK(zkr_lock_acquire(wr, 5000) == ZKR_OK);
    CHECK(zkr_lock_try_acquire(r1) == ZKR_EBUSY);
    CHECK(zkr_lock_try_acquire(ex) == ZKR_EBUSY);  /* write excludes lock- */
    CHECK(zkr_lock_release(wr) == ZKR_OK);
    CHECK(zkr_lock_try_acquire(r1) == ZKR_OK);
    zkr_lock_free(r1);                              /* frees a held lock */
    zkr_lock_free(r2);
    zkr_lock_free(wr);
    zkr_lock_free(ex);

    /* nothing left behind */
    char **v;
    int n;
    CHECK(zkr_name_list(z, "/api", "lock", &v, &n, 5000) == ZKR_OK);
    CHECK(n == 0);
    zkr_strings_free(v, n);
    CHECK(zkr_name_list(z, "/api", "rw", &v, &n, 5000) == ZKR_OK);
    CHECK(n == 0);
    zkr_strings_free(v, n);
}

/* ---- election ----------------------------------------------------------- */

struct seen {
    pthread_mutex_t mu;
    int states[64];
    int n;
};

/* Records every election state reported (on the worker thread). */
static void on_state(void *arg, zkr_election_t *e, int st, const char *m)
{
    struct seen *s = arg;
    (void)e;
    (void)m;
    pthread_mutex_lock(&s->mu);
    if (s->n < 64)
        s->states[s->n++] = st;
    pthread_mutex_unlock(&s->mu);
}

/* The last state reported (-1: none). */
static int last_state(struct seen *s)
{
    pthread_mutex_lock(&s->mu);
    int st = s->n ? s->states[s->n - 1] : -1;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* Whether st was ever reported. */
static int saw_state(struct seen *s, int st)
{
    int found = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n; i++)
        found |= s->states[i] == st;
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* Waits up to 5 s for the last reported state to be st. */
static int wait_state(struct seen *s, int st)
{
    for (int i = 0; i < 200 && last_state(s) != st; i++)
        sleep_ms(25);
    return last_state(s) == st;
}

/* Master, waiting candidate, resign, the master query. */
static void test_election(zkr_t *z)
{
    zkr_election_t *e1, *e2;
    struct seen s1 = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
    struct seen s2 = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
    char who[64];
    CHECK(zkr_election_new(z, "/api/elect", "one", on_state, &s1, &e1) ==
          ZKR_OK);
    CHECK(zkr_election_new(z, "/api/elect", "two", on_state, &s2, &e2) ==
          ZKR_OK);
    CHECK(zkr_election_wait(e1, 100) == ZKR_EINVAL);   /* not started */
    CHECK(zkr_election_start(e1) == ZKR_OK);
    CHECK(zkr_election_wait(e1, 5000) == ZKR_OK);
    CHECK(zkr_election_start(e2) == ZKR_OK);
    CHECK(zkr_election_wait(e2, 500) == ZKR_ETIMEOUT);
    CHECK(zkr_election_state(e2) == ZKR_NOT_HELD);
    CHECK(zkr_election_check(e1, 1000) == ZKR_HELD);
    CHECK(zkr_election_master(z, "/api/elect", who, sizeof who, 5000) ==
          ZKR_OK);
    CHECK(strcmp(who, "one") == 0);
    CHECK(zkr_election_master(z, "/api/elect", who, 2, 5000) == ZKR_ERANGE);
    CHECK(zkr_election_resign(e1) == ZKR_OK);
    CHECK(zkr_election_wait(e2, 5000) == ZKR_OK);
    CHECK(zkr_election_master(z, "/api/elect", who, sizeof who, 5000) ==
          ZKR_OK);
    CHECK(strcmp(who, "two") == 0);
    CHECK(wait_state(&s1, ZKR_NOT_HELD) && saw_state(&s1, ZKR_HELD));
    CHECK(wait_state(&s2, ZKR_HELD) && saw_state(&s2, ZKR_NOT_HELD));
    zkr_election_free(e1);
    zkr_election_free(e2);
    CHECK(zkr_election_master(z, "/api/elect", who, sizeof who, 5000) ==
          ZKR_ENOENT);
}

/* ---- membership, cache, naming --------------------------------------- */

struct log {
    pthread_mutex_t mu;
    char lines[64][96];
    int n;
};

/* Records every cache event as "EVENT name data" (on the worker). */
static void on_cache(void *arg, zkr_cache_t *c, int ev, const char *name,
                     const char *data, size_t len)
{
    struct log *g = arg;
    (void)c;
    (void)len;
    pthread_mutex_lock(&g->mu);
    if (g->n < 64)
        snprintf(g->lines[g->n++], 96, "%d %s %s", ev, name ? name : "-",
                 data ? data : "-");
    pthread_mutex_unlock(&g->mu);
}

/* Waits until the log holds a line equal to want. */
static int wait_line(struct log *g, const char *want)
{
    for (int t = 0; t < 100; t++) {
        int found = 0;
        pthread_mutex_lock(&g->mu);
        for (int i = 0; i < g->n; i++)
            found |= strcmp(g->lines[i], want) == 0;
        pthread_mutex_unlock(&g->mu);
        if (found)
            return 1;
        sleep_ms(50);
    }
    return 0;
}

/* A cache sees a member join, change state and leave; names work. */
static void test_members_names(zkr_t *z)
{
    static struct log g;
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.mu, NULL);
    zkr_cache_t *c;
    zkr_member_t *m;
    char line[96];
    CHECK(zkr_cache_new(z, "/api/group", on_cache, &g, &c) == ZKR_OK);
    CHECK(zkr_cache_wait_synced(c, 5000) == ZKR_OK);
    CHECK(zkr_member_join(z, "/api/group", "m1", "s1", 2, &m) == ZKR_OK);
    CHECK(zkr_member_wait(m, 5000) == ZKR_OK);
    CHECK(zkr_member_state(m) == ZKR_HELD);
    snprintf(line, sizeof line, "%d m1 s1", ZKR_CACHE_ADDED);
    CHECK(wait_line(&g, line));
    CHECK(zkr_member_set(m, "s2", 2) == ZKR_OK);
    CHECK(zkr_member_wait(m, 5000) == ZKR_OK);
    snprintf(line, sizeof line, "%d m1 s2", ZKR_CACHE_CHANGED);
    CHECK(wait_line(&g, line));
    zkr_entry_t *v;
    int n, fresh;
    CHECK(zkr_cache_get(c, &v, &n, &fresh) == ZKR_OK);
    CHECK(n == 1 && fresh && strcmp(v[0].data, "s2") == 0);
    zkr_entries_free(v, n);
    zkr_member_leave(m);
    snprintf(line, sizeof line, "%d m1 s2", ZKR_CACHE_REMOVED);
    CHECK(wait_line(&g, line));
    zkr_cache_free(c);

    char name[32], small[4], val[32];
    int64_t s1, s2;
    CHECK(zkr_name_next(z, "/api/names", "x-", name, sizeof name, &s1,
                        5000) == ZKR_OK);
    CHECK(zkr_name_next(z, "/api/names", "x-", name, sizeof name, &s2,
                        5000) == ZKR_OK);
    CHECK(s2 > s1 && strncmp(name, "x-", 2) == 0 && strlen(name) == 12);
    CHECK(zkr_name_next(z, "/api/names", "x-", small, sizeof small, NULL,
                        5000) == ZKR_ERANGE);
    CHECK(zkr_name_register(z, "/api/reg", "a/b", "v1", 0, 5000) == ZKR_OK);
    CHECK(zkr_name_register(z, "/api/reg", "a/b", "v2", 0, 5000) ==
          ZKR_EEXIST);
    CHECK(zkr_name_register(z, "/api/reg", "a/b", "v2", ZKR_NAME_REPLACE,
                            5000) == ZKR_OK);
    CHECK(zkr_name_resolve(z, "/api/reg", "a/b", val, sizeof val,
                           ZKR_NAME_SYNC, 5000) == ZKR_OK);
    CHECK(strcmp(val, "v2") == 0);
    CHECK(zkr_name_resolve(z, "/api/reg", "a/b", small, 2, 0, 5000) ==
          ZKR_ERANGE);
    CHECK(zkr_name_resolve(z, "/api/reg", "a/c", val, sizeof val, 0,
                           5000) == ZKR_ENOENT);
    char **names;
    CHECK(zkr_name_list(z, "/api/reg", "a", &names, &n, 5000) == ZKR_OK);
    CHECK(n == 1 && strcmp(names[0], "b") == 0);
    zkr_strings_free(names, n);
    CHECK(zkr_name_unregister(z, "/api/reg", "a/b", 5000) == ZKR_OK);
    CHECK(zkr_name_unregister(z, "/api/reg", "a/b", 5000) == ZKR_ENOENT);
}

/* ---- consumer cache file without any server ----------------------------- */

/* A consumer that cannot reach ZooKeeper serves the cache file's list. */
static void test_consumer_file(void)
{
    char path[] = "/tmp/zkr-check-api-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "10.0.0.1:80\tv=1\n10.0.0.2:80\tv=2\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    zkr_t *z;
    zkr_consumer_t *c;
    CHECK(zkr_open("127.0.0.1:1", 2000, &z) == ZKR_OK);   /* nobody there */
    CHECK(zkr_consumer_new(z, NULL, "web", path, NULL, NULL, &c) == ZKR_OK);
    zkr_entry_t *v;
    int n, fresh = 1;
    CHECK(zkr_consumer_get(c, &v, &n, &fresh) == ZKR_OK);
    CHECK(n == 2 && !fresh && strcmp(v[1].name, "10.0.0.2:80") == 0 &&
          strcmp(v[1].data, "v=2") == 0);
    zkr_entries_free(v, n);
    char a[32], b[32];
    CHECK(zkr_consumer_pick(c, a, sizeof a) == ZKR_OK);
    CHECK(zkr_consumer_pick(c, b, sizeof b) == ZKR_OK);
    CHECK(strcmp(a, b) != 0);                      /* round robin */
    zkr_consumer_free(c);
    zkr_close(z);
    unlink(path);
}

/* ---- ACL and auth -------------------------------------------------------- */

/* Nodes made with the creator-only ACL are closed to other clients. */
static void test_acl(void)
{
    zkr_t *z = open_z(), *other = open_z();
    CHECK(zkr_add_auth(z, "digest", "alice:secret") == ZKR_OK);
    zkr_set_acl(z, &ZOO_CREATOR_ALL_ACL);
    CHECK(zkr_name_register(z, "/api-acl", "k", "v", 0, 5000) == ZKR_OK);
    char val[16];
    CHECK(zkr_name_resolve(z, "/api-acl", "k", val, sizeof val, 0, 5000) ==
          ZKR_OK);
    CHECK(zkr_name_resolve(other, "/api-acl", "k", val, sizeof val, 0,
                           5000) == ZKR_EZK);      /* ZNOAUTH */
    CHECK(zkr_name_unregister(other, "/api-acl", "k", 5000) == ZKR_EZK);
    CHECK(zkr_name_unregister(z, "/api-acl", "k", 5000) == ZKR_OK);
    zkr_close(other);
    zkr_close(z);
}

/* ---- forced session expiry ------------------------------------------------ */

/* Dummy watcher for the stealing handle. */
static void quiet_watcher(zhandle_t *zh, int type, int state,
                          const char *path, void *ctx)
{
    (void)zh;
    (void)type;
    (void)state;
    (void)path;
    (void)ctx;
}

/* Ends z's session from outside: a second handle takes it over with its
 * id and password, then closes it -- the ensemble deletes its ephemerals
 * and z's client learns that its session expired. */
static void expire_session(zkr_t *z)
{
    pthread_mutex_lock(&z->mu);
    clientid_t cid = *zoo_client_id(z->cur->zh);
    pthread_mutex_unlock(&z->mu);
    zhandle_t *zh = zookeeper_init(hosts, quiet_watcher, 2000, &cid, NULL,
                                   0);
    for (int i = 0; i < 500 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        sleep_ms(10);
    CHECK(zoo_state(zh) == ZOO_CONNECTED_STATE);
    zookeeper_close(zh);
}

/* After an expiry: the lock is LOST, the master is not, members and
 * candidates return in the new session. */
static void test_expiry(void)
{
    zkr_t *z = open_z(), *w = open_z();
    uint64_t gen = zkr_generation(z);
    int64_t sid = zkr_session_id(z);
    zkr_lock_t *l;
    zkr_election_t *e;
    zkr_member_t *m;
    struct seen s = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
    CHECK(zkr_lock_new(z, "/api/xlock", ZKR_LOCK_EXCLUSIVE, &l) == ZKR_OK);
    CHECK(zkr_lock_acquire(l, 5000) == ZKR_OK);
    CHECK(zkr_election_new(z, "/api/xelect", "z", on_state, &s, &e) ==
          ZKR_OK);
    CHECK(zkr_election_start(e) == ZKR_OK);
    CHECK(zkr_election_wait(e, 5000) == ZKR_OK);
    CHECK(zkr_member_join(z, "/api/xgroup", "z", "up", 2, &m) == ZKR_OK);
    CHECK(zkr_member_wait(m, 5000) == ZKR_OK);

    expire_session(z);
    for (int i = 0; i < 200 && zkr_lock_state(l) != ZKR_LOST; i++)
        sleep_ms(25);
    CHECK(zkr_lock_state(l) == ZKR_LOST);
    CHECK(zkr_lock_check(l, 1000) == ZKR_LOST);
    /* The lock can be seen LOST (its node deleted with the session) while
     * the old handle is still connected, before the library has noticed
     * the expiry and opened the new session: wait for the renewal. */
    for (int i = 0; i < 400 && zkr_generation(z) == gen; i++)
        sleep_ms(25);
    CHECK(zkr_wait_connected(z, 10000) == ZKR_OK);
    CHECK(zkr_generation(z) == gen + 1);
    CHECK(zkr_session_id(z) != sid);
    CHECK(zkr_lock_release(l) == ZKR_ELOST);
    /* the lock is free for others at once: our node went with the session */
    zkr_lock_t *l2;
    CHECK(zkr_lock_new(w, "/api/xlock", ZKR_LOCK_EXCLUSIVE, &l2) == ZKR_OK);
    CHECK(zkr_lock_try_acquire(l2) == ZKR_OK);
    zkr_lock_free(l2);
    /* the candidate came back and, alone, is master again */
    CHECK(zkr_election_wait(e, 5000) == ZKR_OK);
    CHECK(saw_state(&s, ZKR_LOST));
    /* the member is back in the new session */
    CHECK(zkr_member_wait(m, 5000) == ZKR_OK);
    zkr_cache_t *c;
    CHECK(zkr_cache_new(w, "/api/xgroup", NULL, NULL, &c) == ZKR_OK);
    CHECK(zkr_cache_wait_synced(c, 5000) == ZKR_OK);
    zkr_entry_t *v;
    int n, fresh;
    CHECK(zkr_cache_get(c, &v, &n, &fresh) == ZKR_OK);
    CHECK(n == 1 && strcmp(v[0].name, "z") == 0);
    zkr_entries_free(v, n);
    zkr_cache_free(c);
    zkr_member_leave(m);
    zkr_election_free(e);
    zkr_lock_free(l);
    zkr_close(w);
    zkr_close(z);
}

/* Runs every test; exit status 0 if all checks held. */
int main(void)
{
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);  /* the stealing handle's */
    hosts = getenv("ZK_HOSTS");
    if (!hosts)
        hosts = "127.0.0.1:2181";
    zkr_t *z = open_z();
    test_args(z);
    test_locks(z);
    test_election(z);
    test_members_names(z);
    zkr_close(z);
    test_consumer_file();
    test_acl();
    test_expiry();
    printf("check_api: %s (%d failed checks)\n",
           failures ? "FAILED" : "all checks passed", failures);
    return failures ? 1 : 0;
}
