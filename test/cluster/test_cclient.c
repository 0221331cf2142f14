/*
 * test_cclient.c -- Apache ZooKeeper's C client (zookeeper_mt, synchronous
 * API) against a running server or ensemble: create (all modes), get, set,
 * delete, exists, children2, multi, ACLs and auth, ephemerals, watches.
 *
 *   test_cclient HOST:PORT[,HOST:PORT...] [HOST:PORT-of-another-member]
 *
 * The optional second argument is used for a second session (cross-client
 * checks go through it, after a sync).  Exits 0 when every expectation
 * holds, 1 at the first one that does not (with a message naming it), 2 on
 * a usage or setup error.
 *
 * Build (needs libzookeeper-mt-dev):
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -DTHREADED -Wall -Wextra -O2 \
 *      -o build/test_cclient test/cluster/test_cclient.c -lzookeeper_mt -lpthread
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

static int checks;

#define FAIL(...) do { \
        fprintf(stderr, "test_cclient: FAIL at %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)
#define CHECK(cond, ...) do { checks++; if (!(cond)) FAIL(__VA_ARGS__); } while (0)
#define RC(expr, want) do { int rc_ = (expr); checks++; if (rc_ != (want)) \
        FAIL("%s returned %d (%s), expected %d (%s)", #expr, rc_, zerror(rc_), \
             (want), zerror(want)); } while (0)

static void step(const char *what) { printf("ok: %s\n", what); fflush(stdout); }

/* -- waiting on callbacks ---------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) { ts->tv_sec++; ts->tv_nsec -= 1000000000L; }
}

/* session state of each handle, set by the global watcher */
typedef struct session { int state; int connected_once; } session_t;

static void global_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)path;
    session_t *s = ctx;
    if (type == ZOO_SESSION_EVENT && s) {
        pthread_mutex_lock(&mu);
        s->state = state;
        if (state == ZOO_CONNECTED_STATE)
            s->connected_once = 1;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

static zhandle_t *connect_to(const char *hosts, session_t *s, int timeout_ms)
{
    memset(s, 0, sizeof *s);
    zhandle_t *zh = zookeeper_init(hosts, global_watcher, timeout_ms, NULL, s, 0);
    if (!zh) {
        fprintf(stderr, "test_cclient: zookeeper_init(%s): %s\n", hosts, strerror(errno));
        exit(2);
    }
    struct timespec ts;
    deadline_in(&ts, 20000);
    pthread_mutex_lock(&mu);
    while (!s->connected_once)
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
            break;
    int ok = s->connected_once;
    pthread_mutex_unlock(&mu);
    if (!ok) {
        fprintf(stderr, "test_cclient: no session with %s within 20s\n", hosts);
        exit(2);
    }
    return zh;
}

/* a queue of watch events (type, path) */
#define MAXEV 64
typedef struct evq { int n; int type[MAXEV]; char path[MAXEV][256]; } evq_t;

static void watch_fn(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)state;
    evq_t *q = ctx;
    if (type == ZOO_SESSION_EVENT)
        return;
    pthread_mutex_lock(&mu);
    if (q->n < MAXEV) {
        q->type[q->n] = type;
        snprintf(q->path[q->n], sizeof q->path[0], "%s", path ? path : "");
        q->n++;
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* waits up to ms for the queue to hold at least n events */
static int wait_events(evq_t *q, int n, int ms)
{
    struct timespec ts;
    deadline_in(&ts, ms);
    pthread_mutex_lock(&mu);
    while (q->n < n)
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
            break;
    int got = q->n;
    pthread_mutex_unlock(&mu);
    return got;
}

static const char *evname(int t)
{
    if (t == ZOO_CREATED_EVENT) return "created";
    if (t == ZOO_DELETED_EVENT) return "deleted";
    if (t == ZOO_CHANGED_EVENT) return "changed";
    if (t == ZOO_CHILD_EVENT) return "child";
    if (t == ZOO_NOTWATCHING_EVENT) return "notwatching";
    return "other";
}

static void expect_event(evq_t *q, int idx, int type, const char *path)
{
    int got = wait_events(q, idx + 1, 5000);
    CHECK(got > idx, "no watch event #%d (%s on %s) within 5s", idx, evname(type), path);
    pthread_mutex_lock(&mu);
    int t = q->type[idx];
    char p[256];
    snprintf(p, sizeof p, "%s", q->path[idx]);
    pthread_mutex_unlock(&mu);
    CHECK(t == type && strcmp(p, path) == 0, "watch event #%d is %s on %s, expected %s on %s",
          idx, evname(t), p, evname(type), path);
}

/* completion-based calls made synchronous */
typedef struct done { int fired; int rc; char str[256]; } done_t;

static void void_done(int rc, const void *data)
{
    done_t *d = (done_t *)(uintptr_t)data;
    pthread_mutex_lock(&mu);
    d->rc = rc;
    d->fired = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void string_done(int rc, const char *value, const void *data)
{
    done_t *d = (done_t *)(uintptr_t)data;
    pthread_mutex_lock(&mu);
    d->rc = rc;
    snprintf(d->str, sizeof d->str, "%s", value ? value : "");
    d->fired = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static int wait_done(done_t *d)
{
    struct timespec ts;
    deadline_in(&ts, 10000);
    pthread_mutex_lock(&mu);
    while (!d->fired)
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
            break;
    int rc = d->fired ? d->rc : -9999;
    pthread_mutex_unlock(&mu);
    return rc;
}

static int do_sync(zhandle_t *zh, const char *path)
{
    done_t d = {0};
    int rc = zoo_async(zh, path, string_done, &d);
    if (rc != ZOK)
        return rc;
    rc = wait_done(&d);
    if (rc == ZOK && strcmp(d.str, path) != 0)
        FAIL("sync(%s) answered path %s", path, d.str);
    return rc;
}

static int add_auth(zhandle_t *zh, const char *scheme, const char *cred)
{
    done_t d = {0};
    int rc = zoo_add_auth(zh, scheme, cred, (int)strlen(cred), void_done, &d);
    if (rc != ZOK)
        return rc;
    return wait_done(&d);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int stat_eq(const struct Stat *a, const struct Stat *b)
{
    return a->czxid == b->czxid && a->mzxid == b->mzxid && a->ctime == b->ctime &&
           a->mtime == b->mtime && a->version == b->version && a->cversion == b->cversion &&
           a->aversion == b->aversion && a->ephemeralOwner == b->ephemeralOwner &&
           a->dataLength == b->dataLength && a->numChildren == b->numChildren &&
           a->pzxid == b->pzxid;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_seq_name(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || strlen(name) != n + 10)
        return 0;
    for (size_t i = n; i < n + 10; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return 1;
}

static void delete_tree(zhandle_t *zh, const char *path)
{
    struct String_vector v;
    if (zoo_get_children(zh, path, 0, &v) == ZOK) {
        for (int i = 0; i < v.count; i++) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, v.data[i]);
            delete_tree(zh, sub);
        }
        deallocate_String_vector(&v);
    }
    zoo_delete(zh, path, -1);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s HOST:PORT[,...] [HOST:PORT-for-second-session]\n", argv[0]);
        return 2;
    }
    const char *hosts = argv[1];
    const char *hosts2 = argc > 2 ? argv[2] : argv[1];
    zoo_set_debug_level(getenv("ZK_C_DEBUG") ? ZOO_LOG_LEVEL_DEBUG : ZOO_LOG_LEVEL_ERROR);
    zoo_deterministic_conn_order(1);

    session_t s1, s2;
    zhandle_t *zh = connect_to(hosts, &s1, 10000);
    zhandle_t *zh2 = connect_to(hosts2, &s2, 10000);
    const clientid_t *cid = zoo_client_id(zh);
    CHECK(cid && cid->client_id != 0, "no session id");
    CHECK(zoo_recv_timeout(zh) == 10000, "negotiated timeout %d, asked 10000", zoo_recv_timeout(zh));
    step("two sessions");

    char root[128], p[512], buf[1024], out[512];
    snprintf(root, sizeof root, "/cclient-%ld-%ld", (long)getpid(), (long)time(NULL));
    struct Stat st, st2;
    int len;

    /* create / get / exists */
    RC(zoo_create(zh, root, "r", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, out, sizeof out), ZOK);
    CHECK(strcmp(out, root) == 0, "create returned %s", out);
    snprintf(p, sizeof p, "%s/a", root);
    RC(zoo_create(zh, p, "hello", 5, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZOK);
    RC(zoo_create(zh, p, "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZNODEEXISTS);
    snprintf(buf, sizeof buf, "%s/missing/kid", root);
    RC(zoo_create(zh, buf, "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZNONODE);
    RC(zoo_create(zh, "no-slash", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZBADARGUMENTS);
    len = sizeof buf;
    RC(zoo_get(zh, p, 0, buf, &len, &st), ZOK);
    CHECK(len == 5 && memcmp(buf, "hello", 5) == 0, "get returned %d bytes", len);
    CHECK(st.version == 0 && st.cversion == 0 && st.aversion == 0, "fresh node versions %d/%d/%d",
          st.version, st.cversion, st.aversion);
    CHECK(st.czxid == st.mzxid && st.pzxid == st.czxid && st.czxid > 0, "fresh node zxids");
    CHECK(st.dataLength == 5 && st.numChildren == 0 && st.ephemeralOwner == 0, "fresh node stat");
    CHECK(st.ctime == st.mtime && st.ctime > 1000000000000LL, "ctime %lld", (long long)st.ctime);
    struct Stat sta = st;
    RC(zoo_exists(zh, p, 0, &st2), ZOK);
    CHECK(stat_eq(&st, &st2), "exists stat differs from get stat");
    snprintf(buf, sizeof buf, "%s/none", root);
    RC(zoo_exists(zh, buf, 0, &st2), ZNONODE);
    len = sizeof buf;
    RC(zoo_get(zh, buf, 0, buf, &len, &st2), ZNONODE);
    /* create2 returns the stat */
    snprintf(buf, sizeof buf, "%s/c2", root);
    RC(zoo_create2(zh, buf, "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, out, sizeof out, &st), ZOK);
    RC(zoo_exists(zh, buf, 0, &st2), ZOK);
    CHECK(stat_eq(&st, &st2) && st.dataLength == 0, "create2 stat");
    /* NULL data */
    snprintf(buf, sizeof buf, "%s/null", root);
    RC(zoo_create(zh, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZOK);
    len = sizeof out;
    RC(zoo_get(zh, buf, 0, out, &len, &st2), ZOK);
    CHECK(len == -1 || len == 0, "null data read back as %d bytes", len);
    step("create, create2, get, exists");

    /* set with versions */
    RC(zoo_set(zh, p, "v1", 2, 0), ZOK);
    RC(zoo_set(zh, p, "v2", 2, 0), ZBADVERSION);
    RC(zoo_set2(zh, p, "v2", 2, 1, &st2), ZOK);
    CHECK(st2.version == 2 && st2.czxid == sta.czxid && st2.mzxid > st2.czxid,
          "set2 stat version %d", st2.version);
    RC(zoo_set(zh, p, "v3", 2, -1), ZOK);
    snprintf(buf, sizeof buf, "%s/none", root);
    RC(zoo_set(zh, buf, "x", 1, -1), ZNONODE);
    len = sizeof buf;
    RC(zoo_get(zh, p, 0, buf, &len, &st2), ZOK);
    CHECK(len == 2 && memcmp(buf, "v3", 2) == 0 && st2.version == 3, "after sets");
    step("set, set2, versions");

    /* sequential */
    snprintf(buf, sizeof buf, "%s/seq", root);
    RC(zoo_create(zh, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZOK);
    snprintf(buf, sizeof buf, "%s/seq/n-", root);
    for (int i = 0; i < 3; i++) {
        char want[1100];
        RC(zoo_create(zh, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, out, sizeof out), ZOK);
        snprintf(want, sizeof want, "%s%010d", buf, i);
        CHECK(strcmp(out, want) == 0, "sequential create returned %s, expected %s", out, want);
    }
    step("sequential");

    /* children2 */
    snprintf(buf, sizeof buf, "%s/seq", root);
    struct String_vector v;
    RC(zoo_get_children2(zh, buf, 0, &v, &st), ZOK);
    CHECK(v.count == 3 && st.numChildren == 3 && st.cversion == 3, "children2: %d children, stat %d/%d",
          v.count, st.numChildren, st.cversion);
    qsort(v.data, (size_t)v.count, sizeof v.data[0], cmpstr);
    for (int i = 0; i < v.count; i++)
        CHECK(is_seq_name(v.data[i], "n-"), "child %s", v.data[i]);
    deallocate_String_vector(&v);
    RC(zoo_get_children(zh, root, 0, &v), ZOK);
    CHECK(v.count == 4, "root has %d children, expected 4", v.count);
    deallocate_String_vector(&v);
    snprintf(buf, sizeof buf, "%s/none", root);
    RC(zoo_get_children2(zh, buf, 0, &v, &st), ZNONODE);
    step("get_children, get_children2");

    /* delete */
    snprintf(buf, sizeof buf, "%s/seq", root);
    RC(zoo_delete(zh, buf, -1), ZNOTEMPTY);
    RC(zoo_delete(zh, p, 0), ZBADVERSION);
    RC(zoo_delete(zh, p, 3), ZOK);
    RC(zoo_delete(zh, p, -1), ZNONODE);
    RC(zoo_delete(zh, "/", -1), ZBADARGUMENTS);
    step("delete");

    /* multi: success */
    {
        char pa[512], pb[512], ps[512], o1[512], o2[512], o3[512];
        snprintf(pa, sizeof pa, "%s/ma", root);
        snprintf(pb, sizeof pb, "%s/ma/b", root);
        snprintf(ps, sizeof ps, "%s/ms-", root);
        zoo_op_t ops[6];
        zoo_op_result_t res[6];
        struct Stat sst;
        zoo_create_op_init(&ops[0], pa, "1", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, o1, sizeof o1);
        zoo_create_op_init(&ops[1], pb, "2", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, o2, sizeof o2);
        zoo_set_op_init(&ops[2], pa, "3", 1, 0, &sst);
        zoo_check_op_init(&ops[3], pa, 1);
        zoo_delete_op_init(&ops[4], pb, 0);
        zoo_create_op_init(&ops[5], ps, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, o3, sizeof o3);
        RC(zoo_multi(zh, 6, ops, res), ZOK);
        for (int i = 0; i < 6; i++)
            CHECK(res[i].err == ZOK, "multi op %d: %d", i, res[i].err);
        CHECK(strcmp(o1, pa) == 0 && strcmp(o2, pb) == 0, "multi create paths %s %s", o1, o2);
        CHECK(strncmp(o3, ps, strlen(ps)) == 0 && strlen(o3) == strlen(ps) + 10, "multi seq path %s", o3);
        CHECK(sst.version == 1, "multi set stat version %d", sst.version);
        len = sizeof buf;
        RC(zoo_get(zh, pa, 0, buf, &len, &st), ZOK);
        CHECK(len == 1 && buf[0] == '3' && st.version == 1 && st.czxid == st.mzxid && st.numChildren == 0,
              "after multi");
        /* failure: nothing applied; OK before the failed op, then
           RUNTIMEINCONSISTENCY */
        char pc[512], pn[512], pd[512];
        snprintf(pc, sizeof pc, "%s/mc", root);
        snprintf(pn, sizeof pn, "%s/none", root);
        snprintf(pd, sizeof pd, "%s/md", root);
        zoo_create_op_init(&ops[0], pc, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, o1, sizeof o1);
        zoo_delete_op_init(&ops[1], pn, -1);
        zoo_create_op_init(&ops[2], pd, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, o2, sizeof o2);
        RC(zoo_multi(zh, 3, ops, res), ZNONODE);
        CHECK(res[0].err == ZOK && res[1].err == ZNONODE && res[2].err == ZRUNTIMEINCONSISTENCY,
              "failed multi results %d %d %d", res[0].err, res[1].err, res[2].err);
        RC(zoo_exists(zh, pc, 0, &st), ZNONODE);
        RC(zoo_exists(zh, pd, 0, &st), ZNONODE);
        zoo_check_op_init(&ops[0], pa, 7);
        RC(zoo_multi(zh, 1, ops, res), ZBADVERSION);
        CHECK(res[0].err == ZBADVERSION, "check result %d", res[0].err);
        step("multi");
    }

    /* ephemerals */
    {
        char pe[512], pes[512];
        snprintf(pe, sizeof pe, "%s/eph", root);
        RC(zoo_create(zh2, pe, "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0), ZOK);
        snprintf(pes, sizeof pes, "%s/eph-", root);
        RC(zoo_create(zh2, pes, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL, out, sizeof out), ZOK);
        CHECK(strlen(out) == strlen(pes) + 10, "ephemeral sequential %s", out);
        RC(zoo_exists(zh2, pe, 0, &st), ZOK);
        CHECK(st.ephemeralOwner == zoo_client_id(zh2)->client_id, "ephemeralOwner %llx != session %llx",
              (unsigned long long)st.ephemeralOwner, (unsigned long long)zoo_client_id(zh2)->client_id);
        snprintf(buf, sizeof buf, "%s/eph/kid", root);
        RC(zoo_create(zh2, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZNOCHILDRENFOREPHEMERALS);
        RC(do_sync(zh, root), ZOK);
        RC(zoo_exists(zh, pe, 0, &st2), ZOK);
        CHECK(st2.ephemeralOwner == st.ephemeralOwner, "other session sees another owner");
        evq_t q = {0};
        RC(zoo_wexists(zh, pe, watch_fn, &q, &st2), ZOK);
        RC(zookeeper_close(zh2), ZOK);
        expect_event(&q, 0, ZOO_DELETED_EVENT, pe);
        RC(do_sync(zh, root), ZOK);
        RC(zoo_exists(zh, pe, 0, &st2), ZNONODE);
        RC(zoo_exists(zh, out, 0, &st2), ZNONODE);
        zh2 = connect_to(hosts2, &s2, 10000);
        step("ephemerals vanish with their session");
    }

    /* watches */
    {
        char pw[512], pk[512];
        evq_t q = {0};
        snprintf(pw, sizeof pw, "%s/w", root);
        RC(zoo_wexists(zh, pw, watch_fn, &q, &st), ZNONODE);
        RC(zoo_create(zh2, pw, "0", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZOK);
        expect_event(&q, 0, ZOO_CREATED_EVENT, pw);
        len = sizeof buf;
        RC(zoo_wget(zh, pw, watch_fn, &q, buf, &len, &st), ZOK);
        RC(zoo_set(zh2, pw, "1", 1, -1), ZOK);
        expect_event(&q, 1, ZOO_CHANGED_EVENT, pw);
        RC(zoo_set(zh2, pw, "2", 1, -1), ZOK);       /* one-shot */
        RC(do_sync(zh, pw), ZOK);
        sleep_ms(200);
        CHECK(wait_events(&q, 3, 100) == 2, "a watch fired twice");
        RC(zoo_wget_children2(zh, pw, watch_fn, &q, &v, &st), ZOK);
        deallocate_String_vector(&v);
        snprintf(pk, sizeof pk, "%s/w/kid", root);
        RC(zoo_create(zh2, pk, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZOK);
        expect_event(&q, 2, ZOO_CHILD_EVENT, pw);
        len = sizeof buf;
        RC(zoo_wget(zh, pk, watch_fn, &q, buf, &len, &st), ZOK);
        RC(zoo_delete(zh2, pk, -1), ZOK);
        expect_event(&q, 3, ZOO_DELETED_EVENT, pk);
        /* removing a watch */
        len = sizeof buf;
        RC(zoo_wget(zh, pw, watch_fn, &q, buf, &len, &st), ZOK);
        RC(zoo_remove_watches(zh, pw, ZWATCHTYPE_DATA, watch_fn, &q, 0), ZOK);
        RC(zoo_set(zh2, pw, "3", 1, -1), ZOK);
        RC(do_sync(zh, pw), ZOK);
        sleep_ms(200);
        pthread_mutex_lock(&mu);
        int changed = 0;
        for (int i = 4; i < q.n; i++)
            changed += q.type[i] == ZOO_CHANGED_EVENT;
        pthread_mutex_unlock(&mu);
        CHECK(changed == 0, "a removed watch fired");
        RC(zoo_remove_watches(zh, pw, ZWATCHTYPE_DATA, watch_fn, &q, 0), ZNOWATCHER);
        step("watches: created, changed, child, deleted, one-shot, removal");
    }

    /* ACLs */
    {
        char pp[512], pr[512];
        struct ACL_vector acl;
        struct Stat ast;
        RC(add_auth(zh, "digest", "carol:pw"), ZOK);
        snprintf(pp, sizeof pp, "%s/priv", root);
        RC(zoo_create(zh, pp, "s", 1, &ZOO_CREATOR_ALL_ACL, ZOO_PERSISTENT, NULL, 0), ZOK);
        RC(zoo_get_acl(zh, pp, &acl, &ast), ZOK);
        CHECK(acl.count == 1 && acl.data[0].perms == ZOO_PERM_ALL &&
              strcmp(acl.data[0].id.scheme, "digest") == 0 &&
              strncmp(acl.data[0].id.id, "carol:", 6) == 0 && strlen(acl.data[0].id.id) == 6 + 28,
              "creator ACL is %s:%s", acl.count ? acl.data[0].id.scheme : "-",
              acl.count ? acl.data[0].id.id : "-");
        deallocate_ACL_vector(&acl);
        RC(do_sync(zh2, pp), ZOK);
        len = sizeof buf;
        RC(zoo_get(zh2, pp, 0, buf, &len, &st), ZNOAUTH);
        RC(zoo_set(zh2, pp, "x", 1, -1), ZNOAUTH);
        RC(zoo_exists(zh2, pp, 0, &st), ZOK);
        RC(add_auth(zh2, "digest", "carol:pw"), ZOK);
        len = sizeof buf;
        RC(zoo_get(zh2, pp, 0, buf, &len, &st), ZOK);
        snprintf(pr, sizeof pr, "%s/ro", root);
        RC(zoo_create(zh, pr, "r", 1, &ZOO_READ_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZOK);
        RC(zoo_set(zh, pr, "w", 1, -1), ZNOAUTH);
        RC(zoo_set_acl(zh, pr, -1, &ZOO_OPEN_ACL_UNSAFE), ZNOAUTH);
        RC(zoo_set_acl(zh, pp, 0, &ZOO_OPEN_ACL_UNSAFE), ZOK);
        RC(zoo_set_acl(zh, pp, 0, &ZOO_OPEN_ACL_UNSAFE), ZBADVERSION);
        RC(zoo_get_acl(zh, pp, &acl, &ast), ZOK);
        CHECK(ast.aversion == 1 && acl.count == 1 && strcmp(acl.data[0].id.scheme, "world") == 0,
              "after set_acl: aversion %d", ast.aversion);
        deallocate_ACL_vector(&acl);
        struct ACL_vector empty = { 0, NULL };
        RC(zoo_create(zh, pr, "r", 1, &empty, ZOO_PERSISTENT, NULL, 0), ZINVALIDACL);
        step("ACLs and digest auth");
    }

    /* containers and TTL nodes (TTL only if the server enables them) */
    {
        char pc[512];
        snprintf(pc, sizeof pc, "%s/cont", root);
        RC(zoo_create2(zh, pc, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, out, sizeof out, &st), ZOK);
        CHECK(st.ephemeralOwner == 0, "container ephemeralOwner %llx", (unsigned long long)st.ephemeralOwner);
        snprintf(pc, sizeof pc, "%s/ttl", root);
        int rc = zoo_create_ttl(zh, pc, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL,
                                60000, out, sizeof out);
        CHECK(rc == ZOK || rc == ZUNIMPLEMENTED, "create_ttl: %d (%s)", rc, zerror(rc));
        step(rc == ZOK ? "container, TTL" : "container (TTL not enabled)");
    }

    delete_tree(zh, root);
    RC(zoo_exists(zh, root, 0, &st), ZNONODE);
    RC(zookeeper_close(zh2), ZOK);
    RC(zookeeper_close(zh), ZOK);
    printf("PASS: test_cclient, %d checks\n", checks);
    return 0;
}
