/*
 * check_tree.c -- the data tree (tree.c) and watch manager (watch.c):
 * every write's success and error paths through prepare + encode/decode +
 * apply, Stat fields as ZooKeeper 3.8's DataTree maintains them, sequential
 * naming from the parent's cversion, ephemerals and closeSession,
 * containers and TTL nodes, multi all-or-nothing, ACL checks through the
 * tree, watches, snapshots and digests, and the transaction codec's bounds.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"
#include "watch.h"

#define T0 1700000000000LL

static tree_t *t;
static int64_t zxid;
static acl_list_t open_acl;

static void setup(void)
{
    t = tree_new(NULL);
    ck_assert_ptr_nonnull(t);
    zxid = 0;
    acl_list_init(&open_acl);
    ck_assert_int_eq(acl_list_open_unsafe(&open_acl), ACL_OK);
}

static void teardown(void)
{
    tree_free(t);
    acl_list_free(&open_acl);
}

/* Apply txn on tree tt through an encode/decode round trip. */
static int apply_coded(tree_t *tt, const tree_txn_t *x, int64_t z,
                       tree_result_t *res)
{
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(tree_txn_encode(x, &buf, &len), TREE_ZOK);
    tree_txn_t y;
    ck_assert_int_eq(tree_txn_decode(buf, len, NULL, &y), TREE_ZOK);
    free(buf);
    int rc = tree_apply(tt, &y, z, res);
    tree_txn_free(&y);
    return rc;
}

/* Prepare, then (if it validated) apply at the next zxid.  Returns the
 * prepare code, or the apply code. */
static int run_as(const tree_op_t *op, int64_t session, const acl_auth_t *who,
                  tree_result_t *res)
{
    tree_txn_t x;
    int64_t z = ++zxid;
    int rc = tree_prepare(t, op, session, who, z, T0 + z, &x);
    if (rc == TREE_ZOK) {
        tree_result_t r;
        rc = apply_coded(t, &x, z, res != NULL ? res : &r);
        if (res == NULL) {
            tree_result_free(&r);
        }
    } else {
        ck_assert_int_eq(x.type, TREE_OP_ERROR);
        ck_assert_int_eq(x.err, rc);
    }
    tree_pending_release(t, z);
    tree_txn_free(&x);
    return rc;
}

static int run(const tree_op_t *op)
{
    return run_as(op, 0, NULL, NULL);
}

static int create_as(const char *path, int flags, int64_t session,
                     const char *data, tree_result_t *res)
{
    tree_op_t op = {.type = TREE_OP_CREATE2, .path = path,
                    .data = (const uint8_t *)data,
                    .data_len = data != NULL ? strlen(data) : 0,
                    .acl = &open_acl, .flags = flags};
    return run_as(&op, session, NULL, res);
}

static int create(const char *path)
{
    return create_as(path, TREE_PERSISTENT, 0, NULL, NULL);
}

static int del(const char *path, int32_t version)
{
    tree_op_t op = {.type = TREE_OP_DELETE, .path = path, .version = version};
    return run(&op);
}

static int set_data(const char *path, const char *data, int32_t version)
{
    tree_op_t op = {.type = TREE_OP_SET_DATA, .path = path,
                    .data = (const uint8_t *)data, .data_len = strlen(data),
                    .version = version};
    return run(&op);
}

static int session_op(int64_t s, bool open, tree_result_t *res)
{
    tree_txn_t x;
    int64_t z = ++zxid;
    int rc = open ? tree_prepare_create_session(t, s, 30000, T0 + z, &x)
                  : tree_prepare_close_session(t, s, z, T0 + z, &x);
    ck_assert_int_eq(rc, TREE_ZOK);
    tree_result_t r;
    rc = apply_coded(t, &x, z, res != NULL ? res : &r);
    if (res == NULL) {
        tree_result_free(&r);
    }
    tree_pending_release(t, z);
    tree_txn_free(&x);
    return rc;
}

static tree_stat_t st(const char *path)
{
    tree_stat_t s;
    memset(&s, 0, sizeof s);
    ck_assert_msg(tree_exists(t, path, &s) == TREE_ZOK, "no %s", path);
    return s;
}

/* ---- initial tree and Stat maintenance ----------------------------------- */

START_TEST(test_initial)
{
    ck_assert_int_eq(tree_node_count(t), 4);
    tree_stat_t r = st("/");
    ck_assert_int_eq(r.czxid, 0);
    /* DataNode.copyStat: 2 * creates - children; "/" has /zookeeper. */
    ck_assert_int_eq(r.cversion, -1);
    ck_assert_int_eq(r.num_children, 1);
    ck_assert_int_eq(st("/zookeeper").num_children, 2);
    ck_assert_int_eq(st("/zookeeper/config").aversion, -1);
    const tree_node_t *c = tree_lookup(t, "/zookeeper/config");
    ck_assert_int_eq(tree_node_acl(c)->v[0].perms, ACL_READ);
    ck_assert_int_eq(tree_exists(t, "/nope", NULL), TREE_ZNONODE);
    ck_assert_ptr_null(tree_lookup(t, NULL));
}
END_TEST

START_TEST(test_stat_maintenance)
{
    tree_result_t res;
    ck_assert_int_eq(create_as("/a", TREE_PERSISTENT, 0, "hello", &res), 0);
    ck_assert_str_eq(res.path, "/a");
    ck_assert(res.has_stat);
    tree_stat_t a = st("/a");
    ck_assert_mem_eq(&a, &res.stat, sizeof a);
    tree_result_free(&res);
    ck_assert_int_eq(a.czxid, 1);
    ck_assert_int_eq(a.mzxid, 1);
    ck_assert_int_eq(a.pzxid, 1);
    ck_assert_int_eq(a.ctime, T0 + 1);
    ck_assert_int_eq(a.mtime, T0 + 1);
    ck_assert_int_eq(a.version, 0);
    ck_assert_int_eq(a.cversion, 0);
    ck_assert_int_eq(a.aversion, 0);
    ck_assert_int_eq(a.ephemeral_owner, 0);
    ck_assert_int_eq(a.data_length, 5);
    ck_assert_int_eq(a.num_children, 0);
    tree_stat_t r = st("/");
    ck_assert_int_eq(r.cversion, 0); /* 2 * 1 - 2 children */
    ck_assert_int_eq(r.pzxid, 1);
    ck_assert_int_eq(r.num_children, 2);
    ck_assert_int_eq(r.mzxid, 0);

    ck_assert_int_eq(create("/a/b"), 0); /* zxid 2 */
    a = st("/a");
    ck_assert_int_eq(a.cversion, 1);
    ck_assert_int_eq(a.pzxid, 2);
    ck_assert_int_eq(a.mzxid, 1);
    ck_assert_int_eq(a.num_children, 1);

    ck_assert_int_eq(del("/a/b", 0), 0); /* zxid 3 */
    a = st("/a");
    /* DataTree.deleteNode leaves the creates count; the visible cversion
     * (2 * creates - children) moves from 1 to 2. */
    ck_assert_int_eq(a.cversion, 2);
    ck_assert_int_eq(a.pzxid, 3);
    ck_assert_int_eq(a.num_children, 0);

    ck_assert_int_eq(set_data("/a", "xy", -1), 0); /* zxid 4 */
    a = st("/a");
    ck_assert_int_eq(a.version, 1);
    ck_assert_int_eq(a.mzxid, 4);
    ck_assert_int_eq(a.mtime, T0 + 4);
    ck_assert_int_eq(a.ctime, T0 + 1);
    ck_assert_int_eq(a.czxid, 1);
    ck_assert_int_eq(a.pzxid, 3);
    ck_assert_int_eq(a.data_length, 2);
    const uint8_t *d;
    size_t dl;
    ck_assert_int_eq(tree_get_data(t, "/a", NULL, &d, &dl, NULL), 0);
    ck_assert_int_eq(dl, 2);
    ck_assert_mem_eq(d, "xy", 2);
    ck_assert_int_eq(set_data("/a", "", 1), 0);
    ck_assert_int_eq(st("/a").version, 2);
    ck_assert_int_eq(st("/a").data_length, 0);

    acl_list_t ro;
    acl_list_init(&ro);
    acl_list_read_unsafe(&ro);
    tree_op_t op = {.type = TREE_OP_SET_ACL, .path = "/a", .acl = &ro,
                    .version = 0};
    tree_result_t sr;
    ck_assert_int_eq(run_as(&op, 0, NULL, &sr), 0); /* zxid 6 */
    ck_assert(sr.has_stat);
    ck_assert_int_eq(sr.stat.aversion, 1);
    tree_result_free(&sr);
    a = st("/a");
    ck_assert_int_eq(a.aversion, 1);
    ck_assert_int_eq(a.mzxid, 5); /* setACL does not touch mzxid */
    ck_assert(acl_list_equal(tree_node_acl(tree_lookup(t, "/a")), &ro));
    op.version = 0; /* aversion is 1 now, but ADMIN is checked first */
    ck_assert_int_eq(run(&op), TREE_ZNOAUTH);
    acl_list_free(&ro);
    ck_assert_int_eq(set_data("/a", "z", -1), TREE_ZNOAUTH);
    ck_assert_int_eq(tree_last_zxid(t), 6);
}
END_TEST

/* ACLs are shared between nodes (one copy per distinct ACL): changing
 * one node's ACL must leave every other node's alone, and nodes created
 * with equal ACLs must still compare equal after a snapshot round trip. */
START_TEST(test_shared_acls)
{
    acl_list_t open, ro;
    acl_list_init(&open);
    acl_list_init(&ro);
    acl_list_open_unsafe(&open);
    acl_list_read_unsafe(&ro);
    ck_assert_int_eq(create("/s1"), 0);
    ck_assert_int_eq(create("/s2"), 0);
    ck_assert_int_eq(create("/s3"), 0);
    tree_op_t op = {.type = TREE_OP_SET_ACL, .path = "/s2", .acl = &ro,
                    .version = -1};
    ck_assert_int_eq(run(&op), 0);
    ck_assert(acl_list_equal(tree_node_acl(tree_lookup(t, "/s1")), &open));
    ck_assert(acl_list_equal(tree_node_acl(tree_lookup(t, "/s2")), &ro));
    ck_assert(acl_list_equal(tree_node_acl(tree_lookup(t, "/s3")), &open));
    ck_assert_int_eq(del("/s1", -1), 0);
    ck_assert(acl_list_equal(tree_node_acl(tree_lookup(t, "/s3")), &open));
    /* /zookeeper/config has the read-only ACL too: still intact. */
    ck_assert(acl_list_equal(
        tree_node_acl(tree_lookup(t, "/zookeeper/config")), &ro));
    uint8_t *buf;
    size_t len;
    tree_t *copy;
    uint8_t d1[32], d2[32];
    ck_assert_int_eq(tree_snapshot(t, &buf, &len), 0);
    ck_assert_int_eq(tree_load(buf, len, NULL, &copy), 0);
    ck_assert(acl_list_equal(tree_node_acl(tree_lookup(copy, "/s2")), &ro));
    ck_assert_int_eq(tree_digest(t, d1), 0);
    ck_assert_int_eq(tree_digest(copy, d2), 0);
    ck_assert_mem_eq(d1, d2, 32);
    free(buf);
    tree_free(copy);
    acl_list_free(&open);
    acl_list_free(&ro);
}
END_TEST

START_TEST(test_errors)
{
    ck_assert_int_eq(create("/a"), 0);
    ck_assert_int_eq(create("/a/b"), 0);
    ck_assert_int_eq(create("/a"), TREE_ZNODEEXISTS);
    ck_assert_int_eq(create("/"), TREE_ZNODEEXISTS);
    ck_assert_int_eq(create("/x/y"), TREE_ZNONODE);
    ck_assert_int_eq(del("/a", -1), TREE_ZNOTEMPTY);
    ck_assert_int_eq(del("/a/b", 3), TREE_ZBADVERSION);
    ck_assert_int_eq(del("/nope", -1), TREE_ZNONODE);
    ck_assert_int_eq(del("/nope/x", -1), TREE_ZNONODE);
    ck_assert_int_eq(del("/", -1), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(del("/zookeeper", -1), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(del("/zookeeper/quota", -1), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(del("nopath", -1), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(set_data("/a", "v", 7), TREE_ZBADVERSION);
    ck_assert_int_eq(set_data("/nope", "v", -1), TREE_ZNONODE);
    const char *bad[] = {"a", "", "/a/", "/a//b", "/a/./b", "/a/../b",
                         "/a/.", "/a/..", "/a\x01", "/a\x7f", "/\xc3\x28",
                         "/\xef\xbf\xb0", "/\xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(set_data(bad[i], "v", -1) == TREE_ZBADARGUMENTS,
                      "path %zu", i);
        ck_assert_int_eq(tree_validate_path(bad[i], 4096),
                         TREE_ZBADARGUMENTS);
    }
    ck_assert_int_eq(tree_validate_path("/a/.b/..c/b..", 4096), TREE_ZOK);
    ck_assert_int_eq(tree_validate_path("/\xc3\xa9t\xc3\xa9", 4096),
                     TREE_ZOK);
    ck_assert_int_eq(tree_validate_path("/abc", 3), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(create("/a/"), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(create("noslash"), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(create_as("/f", 7, 0, NULL, NULL), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(create_as("/f", -1, 0, NULL, NULL), TREE_ZBADARGUMENTS);
    ck_assert_int_eq(create_as("/f", TREE_PERSISTENT_WITH_TTL, 0, NULL, NULL),
                     TREE_ZUNIMPLEMENTED);
    /* Data bound. */
    size_t big = 1024 * 1024 + 1;
    uint8_t *d = calloc(1, big);
    tree_op_t op = {.type = TREE_OP_CREATE, .path = "/big", .data = d,
                    .data_len = big, .acl = &open_acl};
    ck_assert_int_eq(run(&op), TREE_ZBADARGUMENTS);
    op.data_len = big - 1;
    ck_assert_int_eq(run(&op), TREE_ZOK);
    ck_assert_int_eq(st("/big").data_length, big - 1);
    op.type = TREE_OP_SET_DATA;
    op.data_len = big;
    ck_assert_int_eq(run(&op), TREE_ZBADARGUMENTS);
    free(d);
    /* Check: version and existence. */
    tree_op_t ck = {.type = TREE_OP_CHECK, .path = "/a", .version = 0};
    ck_assert_int_eq(run(&ck), 0);
    ck.version = 1;
    ck_assert_int_eq(run(&ck), TREE_ZBADVERSION);
    ck.path = "/nope";
    ck_assert_int_eq(run(&ck), TREE_ZNONODE);
    /* Unknown op. */
    tree_op_t un = {.type = 99, .path = "/a"};
    ck_assert_int_eq(run(&un), TREE_ZBADARGUMENTS);
    /* Empty ACL. */
    acl_list_t empty;
    acl_list_init(&empty);
    tree_op_t ea = {.type = TREE_OP_CREATE, .path = "/e", .acl = &empty};
    ck_assert_int_eq(run(&ea), TREE_ZINVALIDACL);
    ea.acl = NULL;
    ck_assert_int_eq(run(&ea), TREE_ZINVALIDACL);
    ck_assert_int_eq(tree_pending_count(t), 0);
}
END_TEST

START_TEST(test_version_wrap)
{
    /* checkAndIncVersion: MAX -> MIN, and -2 + 1 skips -1 to 0. */
    ck_assert_int_eq(create("/v"), 0);
    tree_txn_t x;
    tree_txn_init(&x);
    x.type = TREE_OP_SET_DATA;
    x.path = strdup("/v");
    x.version = -2;
    ck_assert_int_eq(tree_apply(t, &x, ++zxid, NULL), 0);
    tree_txn_free(&x);
    ck_assert_int_eq(st("/v").version, -2);
    /* A create txn with a bad path is refused at apply too. */
    tree_txn_t bad;
    tree_txn_init(&bad);
    bad.type = TREE_OP_CREATE;
    bad.path = strdup("/v/");
    ck_assert_int_eq(tree_apply(t, &bad, ++zxid, NULL), TREE_ZBADARGUMENTS);
    tree_txn_free(&bad);
    ck_assert_int_eq(set_data("/v", "a", -2), 0);
    ck_assert_int_eq(st("/v").version, 0);
}
END_TEST

/* ---- sequential ---------------------------------------------------------- */

START_TEST(test_sequential)
{
    tree_result_t r;
    ck_assert_int_eq(create("/s"), 0);
    ck_assert_int_eq(create_as("/s/n-", TREE_PERSISTENT_SEQUENTIAL, 0, NULL,
                               &r),
                     0);
    ck_assert_str_eq(r.path, "/s/n-0000000000");
    tree_result_free(&r);
    ck_assert_int_eq(create_as("/s/n-", TREE_PERSISTENT_SEQUENTIAL, 0, NULL,
                               &r),
                     0);
    ck_assert_str_eq(r.path, "/s/n-0000000001");
    tree_result_free(&r);
    ck_assert_int_eq(create("/s/plain"), 0);
    ck_assert_int_eq(del("/s/n-0000000000", -1), 0);
    ck_assert_int_eq(del("/s/plain", -1), 0);
    ck_assert_int_eq(st("/s").cversion, 5); /* 2 * 3 creates - 1 child */
    ck_assert_int_eq(create_as("/s/", TREE_PERSISTENT_SEQUENTIAL, 0, NULL,
                               &r),
                     0);
    ck_assert_str_eq(r.path, "/s/0000000003");
    tree_result_free(&r);

    /* Two prepared before either is applied get distinct names. */
    tree_op_t op = {.type = TREE_OP_CREATE, .path = "/s/q",
                    .acl = &open_acl, .flags = TREE_PERSISTENT_SEQUENTIAL};
    tree_txn_t a, b;
    ck_assert_int_eq(tree_prepare(t, &op, 0, NULL, 100, T0, &a), 0);
    ck_assert_int_eq(tree_prepare(t, &op, 0, NULL, 101, T0, &b), 0);
    ck_assert_str_eq(a.path, "/s/q0000000004");
    ck_assert_str_eq(b.path, "/s/q0000000005");
    ck_assert_int_eq(a.parent_cversion, 5);
    ck_assert_int_eq(b.parent_cversion, 6);
    ck_assert_int_eq(tree_pending_count(t), 4);
    ck_assert_int_eq(tree_apply(t, &a, 100, NULL), 0);
    tree_pending_release(t, 100);
    ck_assert_int_eq(tree_pending_count(t), 2);
    ck_assert_int_eq(tree_apply(t, &b, 101, NULL), 0);
    tree_pending_release(t, 101);
    ck_assert_int_eq(tree_pending_count(t), 0);
    ck_assert_int_eq(st("/s").cversion, 8); /* 2 * 6 creates - 4 children */
    ck_assert_int_eq(st("/s").pzxid, 101);
    tree_txn_free(&a);
    tree_txn_free(&b);

    /* Children listed sorted. */
    char **names;
    size_t n;
    ck_assert_int_eq(tree_get_children(t, "/s", NULL, &names, &n, NULL), 0);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(names[0], "0000000003");
    ck_assert_str_eq(names[1], "n-0000000001");
    ck_assert_str_eq(names[2], "q0000000004");
    ck_assert_str_eq(names[3], "q0000000005");
    tree_strv_free(names, n);
    int32_t cnt;
    ck_assert_int_eq(tree_all_children_number(t, "/s", NULL, &cnt), 0);
    ck_assert_int_eq(cnt, 4);
    ck_assert_int_eq(tree_all_children_number(t, "/", NULL, &cnt), 0);
    ck_assert_int_eq(cnt, (int32_t)tree_node_count(t) - 1);
}
END_TEST

/* ---- ephemerals, containers, TTL ----------------------------------------- */

START_TEST(test_ephemerals)
{
    const int64_t s1 = 0x1000000000000001LL, s2 = 0x22;
    ck_assert_int_eq(session_op(s1, true, NULL), 0);
    ck_assert_int_eq(session_op(s2, true, NULL), 0);
    int32_t to;
    ck_assert(tree_session_get(t, s1, &to));
    ck_assert_int_eq(to, 30000);
    ck_assert_int_eq(tree_session_count(t), 2);
    ck_assert_int_eq(create("/p"), 0); /* zxid 3 */
    ck_assert_int_eq(create_as("/p/e1", TREE_EPHEMERAL, s1, NULL, NULL), 0);
    ck_assert_int_eq(create_as("/p/e2", TREE_EPHEMERAL_SEQUENTIAL, s1, NULL,
                               NULL),
                     0);
    ck_assert_int_eq(create_as("/e3", TREE_EPHEMERAL, s2, NULL, NULL), 0);
    ck_assert_int_eq(st("/p/e1").ephemeral_owner, s1);
    ck_assert_int_eq(create("/p/e1/c"), TREE_ZNOCHILDRENFOREPHEMERALS);
    ck_assert_int_eq(create_as("/p/e1/c", TREE_EPHEMERAL, s1, NULL, NULL),
                     TREE_ZNOCHILDRENFOREPHEMERALS);
    ck_assert_int_eq(create("/p/e1"), TREE_ZNODEEXISTS); /* checked first */
    char **v;
    size_t n;
    ck_assert_int_eq(tree_get_ephemerals(t, s1, NULL, &v, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(v[0], "/p/e1");
    ck_assert_str_eq(v[1], "/p/e20000000001");
    tree_strv_free(v, n);
    ck_assert_int_eq(tree_get_ephemerals(t, s1, "/p/e2", &v, &n), 0);
    ck_assert_int_eq(n, 1);
    tree_strv_free(v, n);
    ck_assert_int_eq(tree_get_ephemerals(t, 0x99, "/", &v, &n), 0);
    ck_assert_int_eq(n, 0);
    tree_strv_free(v, n);

    tree_stat_t before = st("/p");
    tree_result_t r;
    ck_assert_int_eq(session_op(s1, false, &r), 0);
    ck_assert_int_eq(r.ntrig, 4);
    tree_result_free(&r);
    ck_assert_int_eq(tree_exists(t, "/p/e1", NULL), TREE_ZNONODE);
    ck_assert_int_eq(tree_exists(t, "/p/e20000000001", NULL), TREE_ZNONODE);
    tree_stat_t after = st("/p");
    /* The creates count is unchanged, so the visible cversion grows by
     * one per child removed (2 * creates - children). */
    ck_assert_int_eq(after.cversion, before.cversion + 2);
    ck_assert_int_eq(after.pzxid, zxid); /* the closeSession's */
    ck_assert_int_eq(after.num_children, 0);
    ck_assert(!tree_session_get(t, s1, NULL));
    ck_assert_int_eq(tree_exists(t, "/e3", NULL), 0);
    ck_assert_int_eq(tree_session_count(t), 1);
    /* An ephemeral prepared but not applied is included in closeSession. */
    tree_op_t op = {.type = TREE_OP_CREATE, .path = "/e4", .acl = &open_acl,
                    .flags = TREE_EPHEMERAL};
    tree_txn_t a, c;
    ck_assert_int_eq(tree_prepare(t, &op, s2, NULL, 50, T0, &a), 0);
    ck_assert_int_eq(tree_prepare_close_session(t, s2, 51, T0, &c), 0);
    /* ...so the shadow already sees both gone. */
    op.flags = TREE_PERSISTENT;
    tree_txn_t d;
    ck_assert_int_eq(tree_prepare(t, &op, 0, NULL, 52, T0, &d), 0);
    tree_txn_free(&d);
    tree_pending_clear(t);
    ck_assert_int_eq(tree_apply(t, &a, 50, NULL), 0);
    ck_assert_int_eq(tree_apply(t, &c, 51, NULL), 0);
    ck_assert_int_eq(tree_exists(t, "/e3", NULL), TREE_ZNONODE);
    ck_assert_int_eq(tree_exists(t, "/e4", NULL), TREE_ZNONODE);
    ck_assert_int_eq(st("/").pzxid, 51);
    tree_txn_free(&a);
    tree_txn_free(&c);
}
END_TEST

START_TEST(test_container_ttl)
{
    tree_op_t op = {.type = TREE_OP_CREATE_CONTAINER, .path = "/c",
                    .acl = &open_acl, .flags = TREE_CONTAINER};
    ck_assert_int_eq(run(&op), 0);
    /* The container marker is hidden from clients. */
    ck_assert_int_eq(st("/c").ephemeral_owner, 0);
    /* The opcode makes a container, whatever the flags (Apache
     * ZooKeeper 3.8 as observed): createContainer with PERSISTENT gives a
     * container, create2 with CONTAINER a plain node. */
    op.flags = TREE_PERSISTENT;
    op.path = "/c2";
    ck_assert_int_eq(run(&op), 0);
    tree_op_t plain = {.type = TREE_OP_CREATE2, .path = "/c3",
                       .acl = &open_acl, .flags = TREE_CONTAINER};
    ck_assert_int_eq(run(&plain), 0);
    ck_assert_int_eq(create("/c3/k"), 0);
    tree_op_t dk = {.type = TREE_OP_DELETE, .path = "/c3/k", .version = -1};
    ck_assert_int_eq(run(&dk), 0);
    char **v;
    size_t n;
    ck_assert_int_eq(tree_container_candidates(t, T0 + 1000, &v, &n), 0);
    ck_assert_int_eq(n, 0); /* never had a child */
    tree_strv_free(v, n);
    ck_assert_int_eq(create("/c/kid"), 0); /* containers may have kids */
    tree_op_t dc = {.type = TREE_OP_DELETE_CONTAINER, .path = "/c"};
    ck_assert_int_eq(run(&dc), TREE_ZNOTEMPTY);
    ck_assert_int_eq(del("/c/kid", -1), 0);
    ck_assert_int_eq(tree_container_candidates(t, T0 + 1000, &v, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(v[0], "/c");
    tree_strv_free(v, n);
    ck_assert_int_eq(run(&dc), 0);
    ck_assert_int_eq(tree_exists(t, "/c", NULL), TREE_ZNONODE);
    /* deleteContainer of a normal ephemeral: BadVersion. */
    ck_assert_int_eq(session_op(5, true, NULL), 0);
    ck_assert_int_eq(create_as("/eph", TREE_EPHEMERAL, 5, NULL, NULL), 0);
    dc.path = "/eph";
    ck_assert_int_eq(run(&dc), TREE_ZBADVERSION);
    dc.path = "/zookeeper";
    ck_assert_int_eq(run(&dc), TREE_ZBADARGUMENTS);
}
END_TEST

START_TEST(test_ttl)
{
    tree_config_t cfg;
    tree_config_default(&cfg);
    cfg.extended_types = true;
    tree_free(t);
    t = tree_new(&cfg);
    tree_op_t op = {.type = TREE_OP_CREATE_TTL, .path = "/t",
                    .acl = &open_acl, .flags = TREE_PERSISTENT_WITH_TTL,
                    .ttl = 100};
    ck_assert_int_eq(run(&op), 0); /* zxid 1, mtime T0+1 */
    ck_assert_int_eq(st("/t").ephemeral_owner, 0); /* TTL marker hidden */
    ck_assert_int_eq(tree_ttl_owner(1), (int64_t)UINT64_C(0xff00000000000001));
    ck_assert_int_eq(tree_ttl_owner(0), 0);
    ck_assert_int_eq(tree_ttl_owner(TREE_TTL_MASK + 1), 0);
    ck_assert_int_eq(create("/t/kid"), 0); /* TTL nodes may have kids */
    ck_assert_int_eq(del("/t/kid", -1), 0);
    op.ttl = 0;
    op.path = "/t0";
    ck_assert_int_eq(run(&op), TREE_ZBADARGUMENTS);
    op.ttl = TREE_TTL_MASK + 1;
    ck_assert_int_eq(run(&op), TREE_ZBADARGUMENTS);
    op.ttl = 5;
    op.type = TREE_OP_CREATE; /* TTL mode needs createTTL */
    ck_assert_int_eq(run(&op), TREE_ZBADARGUMENTS);
    op.type = TREE_OP_CREATE_TTL;
    op.flags = TREE_PERSISTENT; /* createTTL needs a TTL mode */
    ck_assert_int_eq(run(&op), TREE_ZBADARGUMENTS);
    op.flags = TREE_PERSISTENT_SEQUENTIAL_WITH_TTL;
    op.path = "/t/s";
    op.ttl = 1000000;
    tree_result_t r;
    ck_assert_int_eq(run_as(&op, 0, NULL, &r), 0);
    ck_assert_str_eq(r.path, "/t/s0000000001"); /* delete kept cversion */
    tree_result_free(&r);
    char **v;
    size_t n;
    ck_assert_int_eq(tree_container_candidates(t, T0 + 1 + 100, &v, &n), 0);
    ck_assert_int_eq(n, 0); /* not yet expired; /t has a kid anyway */
    tree_strv_free(v, n);
    ck_assert_int_eq(del("/t/s0000000001", -1), 0);
    ck_assert_int_eq(tree_container_candidates(t, T0 + 1 + 100, &v, &n), 0);
    ck_assert_int_eq(n, 0); /* mtime + ttl == now is not expired */
    tree_strv_free(v, n);
    ck_assert_int_eq(tree_container_candidates(t, T0 + 1 + 101, &v, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(v[0], "/t");
    tree_strv_free(v, n);
}
END_TEST

/* ---- multi --------------------------------------------------------------- */

START_TEST(test_multi)
{
    ck_assert_int_eq(create("/m"), 0); /* zxid 1 */
    tree_op_t ops[] = {
        {.type = TREE_OP_CREATE, .path = "/m/a", .acl = &open_acl},
        {.type = TREE_OP_CREATE, .path = "/m/a/b", .acl = &open_acl},
        {.type = TREE_OP_SET_DATA, .path = "/m/a", .data = (const uint8_t *)"d",
         .data_len = 1, .version = 0},
        {.type = TREE_OP_CHECK, .path = "/m/a", .version = 1},
        {.type = TREE_OP_DELETE, .path = "/m/a/b", .version = 0},
    };
    tree_txn_t x;
    ck_assert_int_eq(tree_prepare_multi(t, ops, 5, 0, NULL, 2, T0 + 2, &x), 0);
    ck_assert_int_eq(x.type, TREE_OP_MULTI);
    ck_assert_int_eq(x.nops, 5);
    tree_result_t r;
    ck_assert_int_eq(apply_coded(t, &x, 2, &r), 0);
    tree_pending_release(t, 2);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(r.nsub, 5);
    ck_assert_int_eq(r.sub[0].type, TREE_OP_CREATE);
    ck_assert_str_eq(r.sub[0].path, "/m/a");
    ck_assert_int_eq(r.sub[2].type, TREE_OP_SET_DATA);
    ck_assert_int_eq(r.sub[2].stat.version, 1);
    ck_assert_int_eq(r.sub[3].type, TREE_OP_CHECK);
    ck_assert_int_eq(r.sub[4].type, TREE_OP_DELETE);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(r.sub[i].err, 0);
    }
    tree_result_free(&r);
    tree_txn_free(&x);
    tree_stat_t a = st("/m/a");
    ck_assert_int_eq(a.czxid, 2);
    ck_assert_int_eq(a.mzxid, 2);
    ck_assert_int_eq(a.pzxid, 2);
    ck_assert_int_eq(a.cversion, 2); /* one create, its child deleted */
    ck_assert_int_eq(a.num_children, 0);
    zxid = 2;

    /* Failure in the middle: nothing happens, per-op results. */
    size_t nodes = tree_node_count(t);
    tree_op_t bad[] = {
        {.type = TREE_OP_CREATE, .path = "/m/x", .acl = &open_acl},
        {.type = TREE_OP_SET_DATA, .path = "/m/a", .version = 0},
        {.type = TREE_OP_DELETE, .path = "/m/a", .version = -1},
    };
    ck_assert_int_eq(tree_prepare_multi(t, bad, 3, 0, NULL, 3, T0, &x),
                     TREE_ZBADVERSION);
    ck_assert_int_eq(tree_pending_count(t), 0); /* rolled back */
    ck_assert_int_eq(x.ops[0].type, TREE_OP_CREATE);
    ck_assert_int_eq(x.ops[1].type, TREE_OP_ERROR);
    ck_assert_int_eq(x.ops[1].err, TREE_ZBADVERSION);
    ck_assert_int_eq(x.ops[2].type, TREE_OP_ERROR);
    ck_assert_int_eq(x.ops[2].err, TREE_ZRUNTIMEINCONSISTENCY);
    ck_assert_int_eq(apply_coded(t, &x, 3, &r), TREE_ZBADVERSION);
    ck_assert_int_eq(r.err, TREE_ZBADVERSION);
    ck_assert_int_eq(r.sub[0].type, TREE_OP_ERROR);
    ck_assert_int_eq(r.sub[0].err, 0);
    ck_assert_int_eq(r.sub[1].err, TREE_ZBADVERSION);
    ck_assert_int_eq(r.sub[2].err, TREE_ZRUNTIMEINCONSISTENCY);
    ck_assert_int_eq(r.ntrig, 0);
    tree_result_free(&r);
    tree_txn_free(&x);
    ck_assert_int_eq(tree_node_count(t), nodes);
    ck_assert_int_eq(tree_exists(t, "/m/x", NULL), TREE_ZNONODE);

    /* setACL is not a multi op; an empty multi is fine. */
    tree_op_t sa = {.type = TREE_OP_SET_ACL, .path = "/m", .acl = &open_acl,
                    .version = -1};
    ck_assert_int_eq(tree_prepare_multi(t, &sa, 1, 0, NULL, 4, T0, &x),
                     TREE_ZBADARGUMENTS);
    tree_txn_free(&x);
    ck_assert_int_eq(tree_prepare_multi(t, NULL, 0, 0, NULL, 4, T0, &x), 0);
    ck_assert_int_eq(apply_coded(t, &x, 4, &r), 0);
    ck_assert_int_eq(r.nsub, 0);
    tree_result_free(&r);
    tree_txn_free(&x);
    /* Delete and re-create the same path inside one multi. */
    tree_op_t dc[] = {
        {.type = TREE_OP_DELETE, .path = "/m/a", .version = -1},
        {.type = TREE_OP_CREATE, .path = "/m/a", .acl = &open_acl,
         .flags = TREE_PERSISTENT_SEQUENTIAL},
        {.type = TREE_OP_CREATE, .path = "/m/a", .acl = &open_acl},
    };
    ck_assert_int_eq(tree_prepare_multi(t, dc, 3, 0, NULL, 5, T0, &x), 0);
    ck_assert_str_eq(x.ops[1].path, "/m/a0000000001");
    ck_assert_int_eq(apply_coded(t, &x, 5, NULL), 0);
    tree_pending_release(t, 5);
    tree_txn_free(&x);
    ck_assert_int_eq(st("/m/a").czxid, 5);
    ck_assert_int_eq(st("/m").cversion, 4); /* 2 * 3 creates - 2 children */
}
END_TEST

/* ---- ACLs through the tree ----------------------------------------------- */

START_TEST(test_acl_tree)
{
    char bobd[64];
    ck_assert_int_gt(acl_digest("bob:secret", 10, bobd, sizeof bobd), 0);
    acl_id_t bob_ids[2] = {{"ip", "10.1.1.1"}, {"digest", bobd}};
    acl_id_t anon_ids[1] = {{"ip", "10.1.1.2"}};
    acl_id_t sup_ids[2] = {{"digest", "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="},
                           {"super", ""}};
    acl_auth_t bob = {bob_ids, 2}, anon = {anon_ids, 1}, sup = {sup_ids, 2};

    acl_list_t creator;
    acl_list_init(&creator);
    acl_list_creator_all(&creator);
    tree_op_t op = {.type = TREE_OP_CREATE, .path = "/b", .acl = &creator};
    ck_assert_int_eq(run_as(&op, 0, &anon, NULL), TREE_ZINVALIDACL);
    ck_assert_int_eq(run_as(&op, 0, &bob, NULL), 0);
    const acl_list_t *stored = tree_node_acl(tree_lookup(t, "/b"));
    ck_assert_int_eq(stored->n, 1);
    ck_assert_str_eq(stored->v[0].id.scheme, "digest");
    ck_assert_str_eq(stored->v[0].id.id, bobd);
    acl_list_free(&creator);

    /* Every permission: bob yes, anon no, super yes. */
    const uint8_t *d;
    size_t dl;
    ck_assert_int_eq(tree_get_data(t, "/b", &anon, &d, &dl, NULL),
                     TREE_ZNOAUTH);
    ck_assert_int_eq(tree_get_data(t, "/b", &bob, &d, &dl, NULL), 0);
    ck_assert_int_eq(tree_get_data(t, "/b", &sup, &d, &dl, NULL), 0);
    char **names;
    size_t n;
    ck_assert_int_eq(tree_get_children(t, "/b", &anon, &names, &n, NULL),
                     TREE_ZNOAUTH);
    op.path = "/b/c";
    op.acl = &open_acl;
    ck_assert_int_eq(run_as(&op, 0, &anon, NULL), TREE_ZNOAUTH); /* CREATE */
    ck_assert_int_eq(run_as(&op, 0, &bob, NULL), 0);
    tree_op_t w = {.type = TREE_OP_SET_DATA, .path = "/b", .version = -1};
    ck_assert_int_eq(run_as(&w, 0, &anon, NULL), TREE_ZNOAUTH); /* WRITE */
    ck_assert_int_eq(run_as(&w, 0, &bob, NULL), 0);
    tree_op_t dl_op = {.type = TREE_OP_DELETE, .path = "/b/c", .version = -1};
    ck_assert_int_eq(run_as(&dl_op, 0, &anon, NULL), TREE_ZNOAUTH);
    ck_assert_int_eq(run_as(&dl_op, 0, &bob, NULL), 0); /* DELETE on /b */
    tree_op_t ck = {.type = TREE_OP_CHECK, .path = "/b", .version = -1};
    ck_assert_int_eq(run_as(&ck, 0, &anon, NULL), TREE_ZNOAUTH); /* READ */

    /* getACL: READ|ADMIN; digest masked without ADMIN. */
    acl_list_t got;
    acl_list_init(&got);
    ck_assert_int_eq(tree_get_acl(t, "/b", &anon, &got, NULL), TREE_ZNOAUTH);
    ck_assert_int_eq(tree_get_acl(t, "/b", &bob, &got, NULL), 0);
    ck_assert_str_eq(got.v[0].id.id, bobd);

    /* setACL: ADMIN; then bob keeps READ only. */
    acl_list_t ro;
    acl_list_init(&ro);
    acl_list_add(&ro, ACL_READ, "digest", bobd, 0);
    tree_op_t sa = {.type = TREE_OP_SET_ACL, .path = "/b", .acl = &ro,
                    .version = -1};
    ck_assert_int_eq(run_as(&sa, 0, &anon, NULL), TREE_ZNOAUTH);
    ck_assert_int_eq(run_as(&sa, 0, &bob, NULL), 0);
    ck_assert_int_eq(run_as(&sa, 0, &bob, NULL), TREE_ZNOAUTH);
    ck_assert_int_eq(run_as(&w, 0, &bob, NULL), TREE_ZNOAUTH);
    ck_assert_int_eq(run_as(&w, 0, &sup, NULL), 0);
    ck_assert_int_eq(tree_get_acl(t, "/b", &bob, &got, NULL), 0);
    ck_assert_str_eq(got.v[0].id.id, "bob:x");
    /* setACL with an invalid ACL. */
    acl_list_t inv;
    acl_list_init(&inv);
    acl_list_add(&inv, ACL_ALL, "world", "nobody", 0);
    sa.acl = &inv;
    ck_assert_int_eq(run_as(&sa, 0, &sup, NULL), TREE_ZINVALIDACL);
    acl_list_free(&inv);
    acl_list_free(&got);
    acl_list_free(&ro);

    /* ip ACL. */
    acl_list_t ipacl;
    acl_list_init(&ipacl);
    acl_list_add(&ipacl, ACL_ALL, "ip", "10.1.1.2/32", 0);
    op.path = "/ip";
    op.acl = &ipacl;
    ck_assert_int_eq(run_as(&op, 0, NULL, NULL), 0);
    w.path = "/ip";
    ck_assert_int_eq(run_as(&w, 0, &bob, NULL), TREE_ZNOAUTH);
    ck_assert_int_eq(run_as(&w, 0, &anon, NULL), 0);
    acl_list_free(&ipacl);
    /* /zookeeper/config is read-only to the world. */
    w.path = "/zookeeper/config";
    ck_assert_int_eq(run_as(&w, 0, NULL, NULL), TREE_ZNOAUTH);
}
END_TEST

/* ---- watches ------------------------------------------------------------- */

/* Prepare+apply op and return the events it fires on *w. */
static watch_events_t do_watched(watch_mgr_t *w, const tree_op_t *op,
                                 int64_t session)
{
    tree_txn_t x;
    int64_t z = ++zxid;
    ck_assert_int_eq(tree_prepare(t, op, session, NULL, z, T0 + z, &x), 0);
    tree_result_t r;
    ck_assert_int_eq(tree_apply(t, &x, z, &r), 0);
    tree_pending_release(t, z);
    watch_events_t ev = {0};
    ck_assert_int_eq(watch_fire(w, &r, &ev), WATCH_OK);
    tree_result_free(&r);
    tree_txn_free(&x);
    return ev;
}

static void expect(const watch_events_t *ev, size_t i, watch_handle_t h,
                   int32_t type, const char *path)
{
    ck_assert_uint_gt(ev->n, i);
    ck_assert_uint_eq(ev->v[i].handle, h);
    ck_assert_int_eq(ev->v[i].type, type);
    ck_assert_str_eq(ev->v[i].path, path);
}

START_TEST(test_watches_one_shot)
{
    watch_mgr_t *w = watch_new(0);
    tree_op_t cr = {.type = TREE_OP_CREATE, .path = "/w", .acl = &open_acl};
    tree_op_t sd = {.type = TREE_OP_SET_DATA, .path = "/w", .version = -1};
    tree_op_t dl = {.type = TREE_OP_DELETE, .path = "/w", .version = -1};
    ck_assert_int_eq(watch_add(w, 1, "/w", WATCH_DATA), 0); /* exists */
    ck_assert_int_eq(watch_add(w, 2, "/", WATCH_CHILD), 0);
    ck_assert_int_eq(watch_add(w, 3, "/other", WATCH_DATA), 0);
    watch_events_t ev = do_watched(w, &cr, 0);
    ck_assert_int_eq(ev.n, 2);
    expect(&ev, 0, 1, TREE_EV_CREATED, "/w");
    expect(&ev, 1, 2, TREE_EV_CHILDREN_CHANGED, "/");
    watch_events_free(&ev);
    ck_assert(!watch_check(w, 1, "/w", WATCH_TYPE_ANY));
    ck_assert(watch_check(w, 3, "/other", WATCH_TYPE_DATA));

    /* getData watch: fires once on setData. */
    ck_assert_int_eq(watch_add(w, 1, "/w", WATCH_DATA), 0);
    ck_assert_int_eq(watch_add(w, 1, "/w", WATCH_DATA), 0); /* same watch */
    ev = do_watched(w, &sd, 0);
    ck_assert_int_eq(ev.n, 1);
    expect(&ev, 0, 1, TREE_EV_DATA_CHANGED, "/w");
    watch_events_free(&ev);
    ev = do_watched(w, &sd, 0);
    ck_assert_int_eq(ev.n, 0);
    watch_events_free(&ev);

    /* delete: data + child watch of one watcher -> one NodeDeleted; a
     * child watcher of the node gets NodeDeleted too; parent's child
     * watchers get NodeChildrenChanged. */
    ck_assert_int_eq(watch_add(w, 1, "/w", WATCH_DATA), 0);
    ck_assert_int_eq(watch_add(w, 1, "/w", WATCH_CHILD), 0);
    ck_assert_int_eq(watch_add(w, 4, "/w", WATCH_CHILD), 0);
    ck_assert_int_eq(watch_add(w, 2, "/", WATCH_CHILD), 0);
    ck_assert_int_eq(watch_add(w, 2, "/", WATCH_DATA), 0); /* not fired */
    ev = do_watched(w, &dl, 0);
    ck_assert_int_eq(ev.n, 3);
    expect(&ev, 0, 1, TREE_EV_DELETED, "/w");
    expect(&ev, 1, 4, TREE_EV_DELETED, "/w");
    expect(&ev, 2, 2, TREE_EV_CHILDREN_CHANGED, "/");
    watch_events_free(&ev);
    size_t conns, paths, total;
    watch_summary(w, &conns, &paths, &total);
    ck_assert_uint_eq(conns, 2); /* 2 on "/" data, 3 on /other */
    ck_assert_uint_eq(paths, 2);
    ck_assert_uint_eq(total, 2);

    /* removeWatches / checkWatches. */
    ck_assert_int_eq(watch_remove(w, 3, "/other", WATCH_TYPE_CHILDREN),
                     TREE_ZNOWATCHER);
    ck_assert_int_eq(watch_remove(w, 3, "/other", WATCH_TYPE_DATA), 0);
    ck_assert(!watch_check(w, 3, "/other", WATCH_TYPE_ANY));
    ck_assert_int_eq(watch_remove(w, 3, "/other", WATCH_TYPE_ANY),
                     TREE_ZNOWATCHER);
    watch_remove_handle(w, 2);
    watch_summary(w, &conns, &paths, &total);
    ck_assert_uint_eq(total, 0);
    ck_assert_uint_eq(conns, 0);
    watch_free(w);
}
END_TEST

START_TEST(test_watches_persistent)
{
    watch_mgr_t *w = watch_new(0);
    ck_assert_int_eq(create("/r"), 0);
    ck_assert_int_eq(watch_add_persistent(w, 7, "/r", WATCH_ADD_PERSISTENT),
                     0);
    ck_assert_int_eq(watch_modes(w, 7, "/r", WATCH_DATA), WATCH_PERSISTENT);
    ck_assert_int_eq(watch_modes(w, 7, "/r", WATCH_CHILD), WATCH_PERSISTENT);
    ck_assert_int_eq(
        watch_add_persistent(w, 8, "/r", WATCH_ADD_PERSISTENT_RECURSIVE), 0);
    ck_assert_int_eq(watch_modes(w, 8, "/r", WATCH_CHILD), 0);
    ck_assert_int_eq(watch_add(w, 7, "/r", WATCH_DATA), 0);
    ck_assert_int_eq(watch_modes(w, 7, "/r", WATCH_DATA),
                     WATCH_PERSISTENT | WATCH_STANDARD);
    ck_assert_int_eq(watch_add_persistent(w, 8, "/r", 9), WATCH_EINVAL);

    tree_op_t sd = {.type = TREE_OP_SET_DATA, .path = "/r", .version = -1};
    for (int i = 0; i < 2; i++) {
        watch_events_t ev = do_watched(w, &sd, 0);
        ck_assert_int_eq(ev.n, 2);
        expect(&ev, 0, 7, TREE_EV_DATA_CHANGED, "/r");
        expect(&ev, 1, 8, TREE_EV_DATA_CHANGED, "/r");
        watch_events_free(&ev);
    }
    ck_assert_int_eq(watch_modes(w, 7, "/r", WATCH_DATA), WATCH_PERSISTENT);
    tree_op_t cr = {.type = TREE_OP_CREATE, .path = "/r/k", .acl = &open_acl};
    watch_events_t ev = do_watched(w, &cr, 0);
    /* recursive: NodeCreated for the descendant; persistent on /r:
     * NodeChildrenChanged (not NodeCreated for /r/k). */
    ck_assert_int_eq(ev.n, 2);
    expect(&ev, 0, 8, TREE_EV_CREATED, "/r/k");
    expect(&ev, 1, 7, TREE_EV_CHILDREN_CHANGED, "/r");
    watch_events_free(&ev);
    cr.path = "/r/k/deep";
    ev = do_watched(w, &cr, 0);
    ck_assert_int_eq(ev.n, 1);
    expect(&ev, 0, 8, TREE_EV_CREATED, "/r/k/deep");
    watch_events_free(&ev);
    tree_op_t dl = {.type = TREE_OP_DELETE, .path = "/r/k/deep",
                    .version = -1};
    ev = do_watched(w, &dl, 0);
    ck_assert_int_eq(ev.n, 1);
    expect(&ev, 0, 8, TREE_EV_DELETED, "/r/k/deep");
    watch_events_free(&ev);
    ck_assert_int_eq(watch_remove(w, 8, "/r", WATCH_TYPE_DATA), 0);
    ev = do_watched(w, &sd, 0);
    ck_assert_int_eq(ev.n, 1);
    watch_events_free(&ev);
    /* Bound. */
    watch_mgr_t *small = watch_new(1);
    ck_assert_int_eq(watch_add(small, 1, "/a", WATCH_DATA), 0);
    ck_assert_int_eq(watch_add(small, 1, "/b", WATCH_DATA), WATCH_ELIMIT);
    ck_assert_int_eq(watch_add(small, 1, "rel", WATCH_DATA), WATCH_EINVAL);
    watch_free(small);
    watch_free(w);
}
END_TEST

/* ---- snapshots, digests, codec ------------------------------------------- */

static void build_sample(void)
{
    ck_assert_int_eq(session_op(0x51, true, NULL), 0);
    ck_assert_int_eq(create_as("/x", TREE_PERSISTENT, 0, "data", NULL), 0);
    ck_assert_int_eq(create_as("/x/q-", TREE_PERSISTENT_SEQUENTIAL, 0, "1",
                               NULL),
                     0);
    ck_assert_int_eq(create_as("/x/e", TREE_EPHEMERAL, 0x51, NULL, NULL), 0);
    ck_assert_int_eq(create("/y"), 0);
    ck_assert_int_eq(set_data("/y", "yy", 0), 0);
    ck_assert_int_eq(del("/y", -1), 0);
    ck_assert_int_eq(create("/y"), 0);
    tree_op_t c = {.type = TREE_OP_CREATE_CONTAINER, .path = "/c",
                   .acl = &open_acl, .flags = TREE_CONTAINER};
    ck_assert_int_eq(run(&c), 0);
}

/* run() on another tree. */
static int run_in(tree_t *tt, const tree_op_t *op)
{
    tree_t *saved = t;
    t = tt;
    int rc = run(op);
    t = saved;
    return rc;
}

static void expect_data(tree_t *tt, const char *path, const char *want)
{
    const uint8_t *d = NULL;
    size_t n = 0;
    ck_assert_int_eq(tree_get_data(tt, path, NULL, &d, &n, NULL), 0);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_mem_eq(d, want, n);
}

/* The stats of a quota follow every change under its path, as
 * DataTree's updateQuotaStat; extra keys stay; a snapshot keeps them and
 * the loaded tree goes on counting. */
START_TEST(test_quota)
{
    const char *stats = "/zookeeper/quota/app/zookeeper_stats";
    ck_assert_int_eq(create_as("/app", TREE_PERSISTENT, 0, "12345", NULL), 0);
    ck_assert_int_eq(create_as("/app/a", TREE_PERSISTENT, 0, "1234567890",
                               NULL), 0);
    ck_assert_int_eq(create("/application"), 0); /* not under /app */
    ck_assert_int_eq(create("/zookeeper/quota/app"), 0);
    ck_assert_int_eq(create_as("/zookeeper/quota/app/zookeeper_limits",
                               TREE_PERSISTENT, 0, "count=10,bytes=-1",
                               NULL), 0);
    ck_assert_int_eq(create_as(stats, TREE_PERSISTENT, 0,
                               "count=0,bytes=0", NULL), 0);
    expect_data(t, stats, "count=2,bytes=15"); /* recounted */
    ck_assert_int_eq(create_as("/app/b", TREE_PERSISTENT, 0, "xyz", NULL),
                     0);
    ck_assert_int_eq(set_data("/app/a", "1", -1), 0);
    ck_assert_int_eq(create("/app/b/c"), 0);
    ck_assert_int_eq(create_as("/application/x", TREE_PERSISTENT, 0, "zz",
                               NULL), 0);
    expect_data(t, stats, "count=4,bytes=9");
    ck_assert_int_eq(del("/app/b/c", -1), 0);
    expect_data(t, stats, "count=3,bytes=9");
    /* Other keys (hard limits) are kept after count and bytes. */
    ck_assert_int_eq(set_data(stats, "bytes=9,count=3,countHardLimit=7", -1),
                     0);
    ck_assert_int_eq(create("/app/d"), 0);
    expect_data(t, stats, "count=4,bytes=9,countHardLimit=7");

    uint8_t *a;
    size_t al;
    tree_t *u;
    ck_assert_int_eq(tree_snapshot(t, &a, &al), 0);
    ck_assert_int_eq(tree_load(a, al, NULL, &u), 0);
    free(a);
    expect_data(u, stats, "count=4,bytes=9,countHardLimit=7");
    tree_op_t op = {.type = TREE_OP_CREATE, .path = "/app/e",
                    .acl = &open_acl};
    ck_assert_int_eq(run_in(u, &op), 0);
    expect_data(u, stats, "count=5,bytes=9,countHardLimit=7");
    tree_free(u);

    /* No limits node, no quota: the stats stay as they were. */
    ck_assert_int_eq(del("/zookeeper/quota/app/zookeeper_limits", -1), 0);
    ck_assert_int_eq(create("/app/f"), 0);
    expect_data(t, stats, "count=4,bytes=9,countHardLimit=7");
}
END_TEST

START_TEST(test_snapshot)
{
    build_sample();
    uint8_t *a, *b;
    size_t al, bl;
    ck_assert_int_eq(tree_snapshot(t, &a, &al), 0);
    tree_t *u;
    ck_assert_int_eq(tree_load(a, al, NULL, &u), 0);
    ck_assert_int_eq(tree_snapshot(u, &b, &bl), 0);
    ck_assert_uint_eq(al, bl);
    ck_assert_mem_eq(a, b, al);
    uint8_t d1[32], d2[32];
    ck_assert_int_eq(tree_digest(t, d1), 0);
    ck_assert_int_eq(tree_digest(u, d2), 0);
    ck_assert_mem_eq(d1, d2, 32);
    ck_assert_int_eq(tree_node_count(u), tree_node_count(t));
    ck_assert_int_eq(tree_last_zxid(u), tree_last_zxid(t));
    ck_assert(tree_session_get(u, 0x51, NULL));
    tree_stat_t s1, s2;
    memset(&s1, 0, sizeof s1); /* padding */
    memset(&s2, 0, sizeof s2);
    ck_assert_int_eq(tree_exists(t, "/x", &s1), 0);
    ck_assert_int_eq(tree_exists(u, "/x", &s2), 0);
    ck_assert_mem_eq(&s1, &s2, sizeof s1);
    /* The loaded tree's ephemerals still belong to the session. */
    char **v;
    size_t n;
    ck_assert_int_eq(tree_get_ephemerals(u, 0x51, NULL, &v, &n), 0);
    ck_assert_int_eq(n, 1);
    tree_strv_free(v, n);
    tree_txn_t close;
    tree_prepare_close_session(u, 0x51, 99, T0, &close);
    ck_assert_int_eq(tree_apply(u, &close, 99, NULL), 0);
    ck_assert_int_eq(tree_apply(t, &close, 99, NULL), 0);
    tree_txn_free(&close);
    ck_assert_int_eq(tree_exists(u, "/x/e", NULL), TREE_ZNONODE);
    ck_assert_int_eq(tree_digest(t, d1), 0);
    ck_assert_int_eq(tree_digest(u, d2), 0);
    ck_assert_mem_eq(d1, d2, 32);
    tree_free(u);
    free(b);

    /* Every truncation and a trailing byte are refused, without leaks. */
    for (size_t cut = 0; cut < al; cut++) {
        ck_assert_int_eq(tree_load(a, cut, NULL, &u), TREE_ZMARSHALLINGERROR);
        ck_assert_ptr_null(u);
    }
    uint8_t *longer = malloc(al + 1);
    memcpy(longer, a, al);
    longer[al] = 0;
    ck_assert_int_eq(tree_load(longer, al + 1, NULL, &u),
                     TREE_ZMARSHALLINGERROR);
    /* Byte flips never crash; most are refused. */
    for (size_t i = 0; i < al; i++) {
        memcpy(longer, a, al);
        longer[i] ^= 0x80;
        if (tree_load(longer, al, NULL, &u) == TREE_ZOK) {
            tree_free(u);
        }
    }
    free(longer);
    free(a);
}
END_TEST

START_TEST(test_replicas_agree)
{
    /* Record every committed txn on t, replay on a fresh tree. */
    tree_t *u = tree_new(NULL);
    tree_txn_t log[32];
    int64_t zx[32];
    size_t nlog = 0;
    const char *paths[] = {"/a", "/a/b", "/a/c", "/d"};
    for (size_t i = 0; i < 4; i++) {
        tree_op_t op = {.type = TREE_OP_CREATE, .path = paths[i],
                        .acl = &open_acl,
                        .flags = i == 2 ? TREE_PERSISTENT_SEQUENTIAL : 0};
        zx[nlog] = ++zxid;
        ck_assert_int_eq(
            tree_prepare(t, &op, 0, NULL, zxid, T0 + zxid, &log[nlog]), 0);
        nlog++;
    }
    tree_op_t ops[] = {
        {.type = TREE_OP_SET_DATA, .path = "/a", .data = (const uint8_t *)"q",
         .data_len = 1, .version = -1},
        {.type = TREE_OP_DELETE, .path = "/a/b", .version = -1},
    };
    zx[nlog] = ++zxid;
    ck_assert_int_eq(tree_prepare_multi(t, ops, 2, 0, NULL, zxid, T0 + zxid,
                                        &log[nlog]),
                     0);
    nlog++;
    for (size_t i = 0; i < nlog; i++) {
        ck_assert_int_eq(apply_coded(t, &log[i], zx[i], NULL), 0);
        tree_pending_release(t, zx[i]);
    }
    for (size_t i = 0; i < nlog; i++) {
        ck_assert_int_eq(apply_coded(u, &log[i], zx[i], NULL), 0);
    }
    uint8_t d1[32], d2[32];
    tree_digest(t, d1);
    tree_digest(u, d2);
    ck_assert_mem_eq(d1, d2, 32);
    /* One more change on one replica: digests differ. */
    tree_txn_t x;
    tree_op_t sd = {.type = TREE_OP_SET_DATA, .path = "/d", .version = -1};
    ck_assert_int_eq(tree_prepare(t, &sd, 0, NULL, 100, T0, &x), 0);
    ck_assert_int_eq(tree_apply(t, &x, 100, NULL), 0);
    tree_digest(t, d1);
    ck_assert(memcmp(d1, d2, 32) != 0);
    ck_assert_int_eq(tree_apply(u, &x, 100, NULL), 0);
    tree_digest(u, d2);
    ck_assert_mem_eq(d1, d2, 32);
    tree_txn_free(&x);
    for (size_t i = 0; i < nlog; i++) {
        tree_txn_free(&log[i]);
    }
    tree_free(u);
}
END_TEST

START_TEST(test_codec)
{
    tree_op_t ops[] = {
        {.type = TREE_OP_CREATE, .path = "/k", .data = (const uint8_t *)"abc",
         .data_len = 3, .acl = &open_acl},
        {.type = TREE_OP_CHECK, .path = "/", .version = -1},
        {.type = TREE_OP_SET_DATA, .path = "/k", .version = 0},
        {.type = TREE_OP_DELETE, .path = "/k", .version = -1},
    };
    tree_txn_t x, y;
    ck_assert_int_eq(tree_prepare_multi(t, ops, 4, 0x77, NULL, 1, 12345, &x),
                     0);
    x.cxid = 42;
    uint8_t *buf, *buf2;
    size_t len, len2;
    ck_assert_int_eq(tree_txn_encode(&x, &buf, &len), 0);
    ck_assert_int_eq(tree_txn_decode(buf, len, NULL, &y), 0);
    ck_assert_int_eq(y.type, TREE_OP_MULTI);
    ck_assert_int_eq(y.session, 0x77);
    ck_assert_int_eq(y.cxid, 42);
    ck_assert_int_eq(y.time, 12345);
    ck_assert_int_eq(y.nops, 4);
    ck_assert_str_eq(y.ops[0].path, "/k");
    ck_assert_int_eq(y.ops[0].data_len, 3);
    ck_assert(acl_list_equal(&y.ops[0].acl, &open_acl));
    ck_assert_int_eq(tree_txn_encode(&y, &buf2, &len2), 0);
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(buf, buf2, len);
    free(buf2);
    tree_txn_free(&y);
    for (size_t cut = 0; cut < len; cut++) {
        ck_assert_int_eq(tree_txn_decode(buf, cut, NULL, &y),
                         TREE_ZMARSHALLINGERROR);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 1;
    ck_assert_int_eq(tree_txn_decode(longer, len + 1, NULL, &y),
                     TREE_ZMARSHALLINGERROR);
    for (size_t i = 0; i < len; i++) {
        memcpy(longer, buf, len);
        longer[i] ^= 0xff;
        if (tree_txn_decode(longer, len, NULL, &y) == TREE_ZOK) {
            tree_apply(t, &y, 2, NULL);
            tree_txn_free(&y);
        }
    }
    free(longer);
    /* Limits: a multi over max_multi, a nested multi. */
    tree_config_t cfg;
    tree_config_default(&cfg);
    cfg.max_multi = 3;
    ck_assert_int_eq(tree_txn_decode(buf, len, &cfg, &y),
                     TREE_ZMARSHALLINGERROR);
    free(buf);
    tree_txn_free(&x);
    tree_txn_init(&x);
    x.type = TREE_OP_MULTI;
    x.ops = calloc(1, sizeof *x.ops);
    x.nops = 1;
    tree_txn_init(&x.ops[0]);
    x.ops[0].type = TREE_OP_MULTI;
    ck_assert_int_eq(tree_txn_encode(&x, &buf, &len), TREE_ZSYSTEMERROR);
    tree_txn_free(&x);
    /* Hand-made nested multi bytes. */
    uint8_t nested[] = {0, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 14,
                        0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(tree_txn_decode(nested, sizeof nested, NULL, &y),
                     TREE_ZMARSHALLINGERROR);
    ck_assert_int_eq(tree_txn_decode(NULL, 0, NULL, &y),
                     TREE_ZMARSHALLINGERROR);
    /* Session txns and error txns round-trip. */
    tree_prepare_create_session(t, 9, 4000, 5, &x);
    ck_assert_int_eq(tree_txn_encode(&x, &buf, &len), 0);
    ck_assert_int_eq(tree_txn_decode(buf, len, NULL, &y), 0);
    ck_assert_int_eq(y.timeout, 4000);
    free(buf);
    tree_txn_free(&x);
    tree_txn_free(&y);
}
END_TEST

static Suite *tree_suite(void)
{
    Suite *s = suite_create("tree");
    TCase *tc = tcase_create("ops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_initial);
    tcase_add_test(tc, test_stat_maintenance);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_shared_acls);
    tcase_add_test(tc, test_version_wrap);
    tcase_add_test(tc, test_sequential);
    tcase_add_test(tc, test_ephemerals);
    tcase_add_test(tc, test_container_ttl);
    tcase_add_test(tc, test_ttl);
    tcase_add_test(tc, test_multi);
    tcase_add_test(tc, test_acl_tree);
    suite_add_tcase(s, tc);

    tc = tcase_create("watches");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_watches_one_shot);
    tcase_add_test(tc, test_watches_persistent);
    suite_add_tcase(s, tc);

    tc = tcase_create("snapshot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_quota);
    tcase_add_test(tc, test_snapshot);
    tcase_add_test(tc, test_replicas_agree);
    tcase_add_test(tc, test_codec);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(tree_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
