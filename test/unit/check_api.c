/*
 * check_api.c -- the public API's small print: error strings and names,
 * version, role and statistic names, every configuration setter and its
 * range, the argument checks of zab_new, zab_start, zab_persisted and the
 * driving calls, and the re-entrancy rule (only zab_persisted may be
 * called from a callback; anything else returns ZAB_ESTATE).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zab.h"

/* ---- Errors -------------------------------------------------------------- */

typedef struct err_info {
    int code;
    const char *name;
    const char *text;
} err_info_t;

static const err_info_t errs[] = {
#define X(name, value, text) {ZAB_##name, "ZAB_" #name, text},
    ZAB_ERRNO_MAP(X)
#undef X
};
#define N_ERRS ((int)(sizeof errs / sizeof errs[0]))

START_TEST(test_errors_known)
{
    ck_assert_int_eq(N_ERRS, 12);
    for (int i = 0; i < N_ERRS; i++) {
        ck_assert_int_lt(errs[i].code, 0);
        ck_assert_int_eq(errs[i].code, -(i + 1)); /* -1 .. -12, in order */
        ck_assert_pstr_eq(zab_strerror(errs[i].code), errs[i].text);
        ck_assert_pstr_eq(zab_err_name(errs[i].code), errs[i].name);
        for (int j = 0; j < i; j++) {
            ck_assert_int_ne(errs[i].code, errs[j].code);
            ck_assert_str_ne(zab_strerror(errs[i].code),
                             zab_strerror(errs[j].code));
            ck_assert_str_ne(zab_err_name(errs[i].code),
                             zab_err_name(errs[j].code));
        }
    }
    ck_assert_int_eq(ZAB_OK, 0);
    ck_assert_pstr_eq(zab_err_name(ZAB_OK), "ZAB_OK");
    ck_assert_ptr_nonnull(zab_strerror(ZAB_OK));
    ck_assert_int_eq(ZAB_ENOMEM, -1);
    ck_assert_int_eq(ZAB_ECANCELED, -12);
    ck_assert_pstr_eq(zab_err_name(ZAB_EBUSY), "ZAB_EBUSY");
}
END_TEST

START_TEST(test_errors_unknown)
{
    const int unknown[] = {1, 2, -13, -100, 1000, INT_MIN, INT_MAX};
    for (size_t u = 0; u < sizeof unknown / sizeof unknown[0]; u++) {
        const char *s = zab_strerror(unknown[u]);
        const char *n = zab_err_name(unknown[u]);
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_nonnull(n);
        ck_assert_str_eq(s, "unknown error");
        ck_assert_str_eq(n, "ZAB_UNKNOWN");
        for (int i = 0; i < N_ERRS; i++) {
            ck_assert_str_ne(s, zab_strerror(errs[i].code));
            ck_assert_str_ne(n, zab_err_name(errs[i].code));
        }
        ck_assert_str_ne(s, zab_strerror(ZAB_OK));
        ck_assert_str_ne(n, zab_err_name(ZAB_OK));
    }
}
END_TEST

START_TEST(test_version)
{
    ck_assert_int_eq(zab_version(), ZAB_VERSION_NUMBER);
    ck_assert_int_eq(ZAB_VERSION_NUMBER, ZAB_VERSION_MAJOR * 10000 +
                                             ZAB_VERSION_MINOR * 100 +
                                             ZAB_VERSION_PATCH);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", ZAB_VERSION_MAJOR,
             ZAB_VERSION_MINOR, ZAB_VERSION_PATCH);
    ck_assert_pstr_eq(zab_version_string(), want);
    ck_assert_ptr_eq(zab_version_string(), zab_version_string());
}
END_TEST

START_TEST(test_role_names)
{
    ck_assert_pstr_eq(zab_role_name(ZAB_LOOKING), "looking");
    ck_assert_pstr_eq(zab_role_name(ZAB_FOLLOWING), "following");
    ck_assert_pstr_eq(zab_role_name(ZAB_LEADING), "leading");
    ck_assert_pstr_eq(zab_role_name(ZAB_OBSERVING), "observing");
    ck_assert_pstr_eq(zab_role_name(-1), "unknown");
    ck_assert_pstr_eq(zab_role_name(4), "unknown");
    ck_assert_pstr_eq(zab_role_name(INT_MAX), "unknown");
    ck_assert_int_eq(ZAB_LOOKING, 0);
    ck_assert_int_eq(ZAB_FOLLOWING, 1);
    ck_assert_int_eq(ZAB_LEADING, 2);
    ck_assert_int_eq(ZAB_OBSERVING, 3);
}
END_TEST

START_TEST(test_stat_names)
{
    for (int i = 0; i < ZAB_STAT__COUNT; i++) {
        const char *n = zab_stat_name(i);
        ck_assert_msg(n != NULL, "stat %d has no name", i);
        ck_assert_uint_gt(strlen(n), 0);
        for (const char *p = n; *p; p++) {
            ck_assert_msg((*p >= 'a' && *p <= 'z') || *p == '_',
                          "stat name %s", n);
        }
        for (int j = 0; j < i; j++) {
            ck_assert_str_ne(n, zab_stat_name(j));
        }
    }
    ck_assert_pstr_eq(zab_stat_name(ZAB_STAT_ROLE), "role");
    ck_assert_pstr_eq(zab_stat_name(ZAB_STAT_MSGS_SENT), "msgs_sent");
    ck_assert_pstr_eq(zab_stat_name(ZAB_STAT_DISK_FAILED), "disk_failed");
    ck_assert_pstr_eq(zab_stat_name(ZAB_STAT_SYNC_SNAP), "sync_snap");
    ck_assert_ptr_null(zab_stat_name(-1));
    ck_assert_ptr_null(zab_stat_name(ZAB_STAT__COUNT));
    ck_assert_ptr_null(zab_stat_name(INT_MAX));
    ck_assert_uint_eq(zab_stat(NULL, ZAB_STAT_ROLE), 0);
}
END_TEST

/* ---- Configuration --------------------------------------------------------------- */

typedef struct opt_info {
    int opt;
    const char *name;
    uint64_t def, min, max;
} opt_info_t;

/* Defaults from zab.h's comments; ranges as libzab implements them
 * (zab.h: every timeout >= 1 ms, every bound >= 1). */
static const opt_info_t opts[] = {
    {ZAB_OPT_ELECTION_TIMEOUT_MS, "election_timeout_ms", 200, 1, 3600000},
    {ZAB_OPT_ELECTION_FINALIZE_MS, "election_finalize_ms", 50, 1, 3600000},
    {ZAB_OPT_HEARTBEAT_MS, "heartbeat_ms", 500, 1, 3600000},
    {ZAB_OPT_PEER_TIMEOUT_MS, "peer_timeout_ms", 4000, 1, 3600000},
    {ZAB_OPT_SYNC_TIMEOUT_MS, "sync_timeout_ms", 5000, 1, 3600000},
    {ZAB_OPT_MAX_PAYLOAD_BYTES, "max_payload_bytes", 1048576, 1,
     (uint64_t)1 << 30},
    {ZAB_OPT_MAX_OUTSTANDING, "max_outstanding", 4096, 1, 1u << 24},
    {ZAB_OPT_MAX_PENDING_BYTES, "max_pending_bytes", 67108864, 1,
     (uint64_t)1 << 40},
    {ZAB_OPT_MAX_BARRIERS, "max_barriers", 1024, 1, 1u << 20},
    {ZAB_OPT_DIFF_MAX, "diff_max", 100000, 1, (uint64_t)1 << 32},
    {ZAB_OPT_COUNTER_MAX, "counter_max", 0xfffffffe, 1, 0xfffffffe},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

START_TEST(test_config_options)
{
    const opt_info_t *o = &opts[_i];
    zab_config_t *cfg;
    ck_assert_int_eq(zab_config_new(&cfg), 0);
    uint64_t v = 0;
    ck_assert_int_eq(zab_config_get(cfg, o->opt, &v), 0);
    ck_assert_uint_eq(v, o->def);
    ck_assert_int_eq(zab_config_set(cfg, o->opt, o->min), 0);
    ck_assert_int_eq(zab_config_get(cfg, o->opt, &v), 0);
    ck_assert_uint_eq(v, o->min);
    ck_assert_int_eq(zab_config_set(cfg, o->opt, o->max), 0);
    ck_assert_int_eq(zab_config_get(cfg, o->opt, &v), 0);
    ck_assert_uint_eq(v, o->max);
    const uint64_t bad[] = {o->min - 1, o->max + 1, 0, UINT64_MAX};
    for (size_t b = 0; b < 4; b++) {
        ck_assert_int_eq(zab_config_set(cfg, o->opt, o->def), 0);
        ck_assert_msg(zab_config_set(cfg, o->opt, bad[b]) == ZAB_EINVAL,
                      "%s = %llu accepted", o->name,
                      (unsigned long long)bad[b]);
        ck_assert_int_eq(zab_config_get(cfg, o->opt, &v), 0);
        ck_assert_uint_eq(v, o->def);
    }
    int opt = -1;
    ck_assert_int_eq(zab_config_option(o->name, &opt), 0);
    ck_assert_int_eq(opt, o->opt);
    ck_assert_str_eq(zab_option_name(o->opt), o->name);
    /* Setting one option leaves the others alone. */
    ck_assert_int_eq(zab_config_set(cfg, o->opt, o->min), 0);
    for (int j = 0; j < N_OPTS; j++) {
        if (j != _i) {
            ck_assert_int_eq(zab_config_get(cfg, opts[j].opt, &v), 0);
            ck_assert_uint_eq(v, opts[j].def);
        }
    }
    zab_config_free(cfg);
}
END_TEST

START_TEST(test_config_bad_options)
{
    zab_config_t *cfg;
    ck_assert_int_eq(zab_config_new(&cfg), 0);
    uint64_t v = 77;
    const int bad[] = {0, -1, N_OPTS + 1, 100, INT_MIN, INT_MAX};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        ck_assert_int_eq(zab_config_set(cfg, bad[b], 1), ZAB_EINVAL);
        ck_assert_int_eq(zab_config_get(cfg, bad[b], &v), ZAB_EINVAL);
        ck_assert_uint_eq(v, 77);
    }
    ck_assert_int_eq(zab_config_set(NULL, ZAB_OPT_HEARTBEAT_MS, 1),
                     ZAB_EINVAL);
    ck_assert_int_eq(zab_config_get(NULL, ZAB_OPT_HEARTBEAT_MS, &v),
                     ZAB_EINVAL);
    ck_assert_int_eq(zab_config_get(cfg, ZAB_OPT_HEARTBEAT_MS, NULL),
                     ZAB_EINVAL);
    /* Names: exact, lower case, without prefix. */
    int opt = 42;
    const char *unknown[] = {"", "foo", "HEARTBEAT_MS", "heartbeat",
                             "heartbeat_ms ", "zab_opt_heartbeat_ms",
                             "Heartbeat_ms"};
    for (size_t u = 0; u < sizeof unknown / sizeof unknown[0]; u++) {
        ck_assert_int_eq(zab_config_option(unknown[u], &opt), ZAB_ENOENT);
        ck_assert_int_eq(opt, 42);
    }
    ck_assert_int_eq(zab_config_option(NULL, &opt), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_option("heartbeat_ms", NULL), ZAB_EINVAL);
    /* zab_option_name: every option from 1 without gaps, NULL after. */
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        ck_assert_ptr_null(zab_option_name(bad[b]));
    for (int i = 1; i <= N_OPTS; i++) {
        ck_assert_ptr_nonnull(zab_option_name(i));
        ck_assert_int_eq(zab_config_option(zab_option_name(i), &opt), 0);
        ck_assert_int_eq(opt, i);
    }
    ck_assert_int_eq(zab_config_new(NULL), ZAB_EINVAL);
    zab_config_free(NULL);
    zab_config_free(cfg);
}
END_TEST

static void *my_malloc(void *ud, size_t n)
{
    (void)ud;
    return malloc(n);
}

static void *my_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    return realloc(p, n);
}

static void my_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

START_TEST(test_config_members)
{
    zab_config_t *cfg;
    ck_assert_int_eq(zab_config_new(&cfg), 0);
    ck_assert_int_eq(zab_config_set_id(cfg, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_set_id(NULL, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_set_id(cfg, 1), 0);
    ck_assert_int_eq(zab_config_set_id(cfg, 0xFFFFFFFF), 0);
    ck_assert_int_eq(zab_config_add_voter(cfg, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_add_observer(cfg, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_add_voter(NULL, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_add_observer(NULL, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_add_voter(cfg, 1), 0);
    ck_assert_int_eq(zab_config_add_voter(cfg, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_add_observer(cfg, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_add_observer(cfg, 2), 0);
    ck_assert_int_eq(zab_config_add_observer(cfg, 2), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_add_voter(cfg, 2), ZAB_EINVAL);
    /* 255 members in all. */
    for (uint32_t id = 3; id <= 255; id++) {
        ck_assert_int_eq(id % 2 ? zab_config_add_voter(cfg, id * 1000)
                                : zab_config_add_observer(cfg, id * 1000),
                         0);
    }
    ck_assert_int_eq(zab_config_add_voter(cfg, 999999), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_add_observer(cfg, 999999), ZAB_EINVAL);
    ck_assert_int_eq(zab_config_set_allocator(cfg, NULL, my_realloc, my_free,
                                              NULL),
                     ZAB_EINVAL);
    ck_assert_int_eq(zab_config_set_allocator(cfg, my_malloc, NULL, my_free,
                                              NULL),
                     ZAB_EINVAL);
    ck_assert_int_eq(zab_config_set_allocator(cfg, my_malloc, my_realloc,
                                              NULL, NULL),
                     ZAB_EINVAL);
    ck_assert_int_eq(zab_config_set_allocator(NULL, my_malloc, my_realloc,
                                              my_free, NULL),
                     ZAB_EINVAL);
    ck_assert_int_eq(zab_config_set_allocator(cfg, my_malloc, my_realloc,
                                              my_free, NULL),
                     0);
    zab_config_free(cfg);
}
END_TEST

/* ---- A small host ------------------------------------------------------------------ */

typedef struct host {
    zab_t *z;
    int sync;    /* confirm writes from inside the callback */
    int reenter; /* try forbidden calls from inside send */
    uint64_t toks[64];
    int n_toks;
    int rc_persisted[64];
    int rc_reentry[16];
    int n_reentry_tries;
    int rc_deadline;
    uint64_t deadline_in_cb, role_in_cb;
    int n_send, n_append, n_truncate, n_save, n_deliver, n_role, n_barrier;
    int n_trace;
    uint64_t last_zxid, delivered_zxid;
    int barrier_status;
    uint64_t barrier_cookie;
    uint64_t log_zxid[64];
    size_t log_len[64];
    char log_data[64][32];
    int n_log;
} host_t;

static void confirm(host_t *h, uint64_t token)
{
    if (h->n_toks < 64) {
        h->toks[h->n_toks] = token;
        h->rc_persisted[h->n_toks] = h->sync ? zab_persisted(h->z, token, 0)
                                             : 1;
        h->n_toks++;
    }
}

static int a_send(void *ud, uint32_t peer, const void *frame, size_t len)
{
    host_t *h = ud;
    h->n_send++;
    if (h->reenter && h->n_reentry_tries == 0) {
        int *r = h->rc_reentry;
        uint8_t buf[64] = {0};
        r[0] = zab_tick(h->z, 1000000);
        r[1] = zab_propose(h->z, "x", 1, NULL);
        r[2] = zab_recv(h->z, peer, frame, len);
        r[3] = zab_peer_up(h->z, peer);
        r[4] = zab_peer_down(h->z, peer);
        r[5] = zab_start(h->z, 0, 0, 0, 0, 0);
        r[6] = zab_read_barrier(h->z, 1);
        r[7] = zab_recv(h->z, peer, buf, sizeof buf); /* even garbage */
        r[8] = zab_add_observer(h->z, 200);
        h->n_reentry_tries = 9;
        /* The read-only calls are allowed. */
        h->rc_deadline = zab_next_deadline(h->z, &h->deadline_in_cb);
        h->role_in_cb = zab_stat(h->z, ZAB_STAT_ROLE) + 100;
    }
    return 0;
}

static int a_log_append(void *ud, uint64_t zxid, const void *data,
                        size_t len, uint64_t token)
{
    host_t *h = ud;
    h->n_append++;
    h->last_zxid = zxid;
    if (h->n_log < 64 && len < 32) {
        h->log_zxid[h->n_log] = zxid;
        h->log_len[h->n_log] = len;
        memcpy(h->log_data[h->n_log], data, len);
        h->n_log++;
    }
    confirm(h, token);
    return 0;
}

static int a_log_truncate(void *ud, uint64_t zxid, uint64_t token)
{
    host_t *h = ud;
    h->n_truncate++;
    confirm(h, token);
    return 0;
}

static int a_log_read(void *ud, uint64_t after, uint64_t *zxid,
                      const void **data, size_t *len)
{
    host_t *h = ud;
    for (int i = 0; i < h->n_log; i++) {
        if (h->log_zxid[i] > after) {
            *zxid = h->log_zxid[i];
            *data = h->log_data[i];
            *len = h->log_len[i];
            return 0;
        }
    }
    return ZAB_ENOENT;
}

static int a_save_epochs(void *ud, uint32_t accepted, uint32_t current,
                         uint64_t token)
{
    host_t *h = ud;
    h->n_save++;
    confirm(h, token);
    return 0;
}

static void a_deliver(void *ud, uint64_t zxid, const void *data, size_t len)
{
    host_t *h = ud;
    h->n_deliver++;
    h->delivered_zxid = zxid;
}

static void a_role_change(void *ud, zab_role_t role, uint32_t leader,
                          uint32_t epoch, int serving)
{
    host_t *h = ud;
    h->n_role++;
}

static void a_barrier_done(void *ud, uint64_t cookie, int status)
{
    host_t *h = ud;
    h->n_barrier++;
    h->barrier_cookie = cookie;
    h->barrier_status = status;
}

static void a_trace(void *ud, int level, const char *line)
{
    host_t *h = ud;
    h->n_trace++;
}

static const zab_host_ops_t base_ops = {
    .version = ZAB_HOST_OPS_VERSION,
    .send = a_send,
    .log_append = a_log_append,
    .log_truncate = a_log_truncate,
    .log_read = a_log_read,
    .save_epochs = a_save_epochs,
    .deliver = a_deliver,
    .role_change = a_role_change,
    .barrier_done = a_barrier_done,
    .trace = a_trace,
};

/* A configuration: voters 1..voters, observers after; this node `me`. */
static zab_config_t *config(uint32_t me, int voters, int observers)
{
    zab_config_t *cfg;
    ck_assert_int_eq(zab_config_new(&cfg), 0);
    if (me != 0) {
        ck_assert_int_eq(zab_config_set_id(cfg, me), 0);
    }
    for (int i = 1; i <= voters; i++) {
        ck_assert_int_eq(zab_config_add_voter(cfg, (uint32_t)i), 0);
    }
    for (int i = voters + 1; i <= voters + observers; i++) {
        ck_assert_int_eq(zab_config_add_observer(cfg, (uint32_t)i), 0);
    }
    return cfg;
}

static int callbacks(const host_t *h)
{
    return h->n_send + h->n_append + h->n_truncate + h->n_save +
           h->n_deliver + h->n_role + h->n_barrier;
}

/* ---- zab_new ------------------------------------------------------------------------ */

#define SENTINEL ((zab_t *)(uintptr_t)0x5A5A)

START_TEST(test_new_args)
{
    host_t h;
    memset(&h, 0, sizeof h);
    zab_config_t *cfg = config(1, 3, 0);
    zab_t *z = SENTINEL;
    ck_assert_int_eq(zab_new(NULL, &base_ops, &h, &z), ZAB_EINVAL);
    ck_assert_int_eq(zab_new(cfg, NULL, &h, &z), ZAB_EINVAL);
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, NULL), ZAB_EINVAL);
    ck_assert_ptr_eq(z, SENTINEL);
    zab_host_ops_t ops = base_ops;
    const int versions[] = {0, -1, ZAB_HOST_OPS_VERSION + 1, 1000};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        ops.version = versions[i];
        ck_assert_int_eq(zab_new(cfg, &ops, &h, &z), ZAB_EINVAL);
        ck_assert_ptr_eq(z, SENTINEL);
    }
    /* Every required callback. */
    for (int k = 0; k < 6; k++) {
        ops = base_ops;
        switch (k) {
        case 0: ops.send = NULL; break;
        case 1: ops.log_append = NULL; break;
        case 2: ops.log_truncate = NULL; break;
        case 3: ops.log_read = NULL; break;
        case 4: ops.save_epochs = NULL; break;
        default: ops.deliver = NULL; break;
        }
        ck_assert_msg(zab_new(cfg, &ops, &h, &z) == ZAB_EINVAL,
                      "required callback %d missing, accepted", k);
        ck_assert_ptr_eq(z, SENTINEL);
    }
    /* The optional ones may all be missing. */
    ops = base_ops;
    ops.snapshot_get = NULL;
    ops.snapshot_put = NULL;
    ops.role_change = NULL;
    ops.barrier_done = NULL;
    ops.trace = NULL;
    ck_assert_int_eq(zab_new(cfg, &ops, &h, &z), 0);
    ck_assert_ptr_ne(z, SENTINEL);
    zab_free(z);
    zab_config_free(cfg);

    /* Membership: my id must be a member; at least one voter. */
    z = SENTINEL;
    cfg = config(4, 3, 0);
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), ZAB_EINVAL);
    zab_config_free(cfg);
    cfg = config(0, 3, 0); /* no id */
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), ZAB_EINVAL);
    zab_config_free(cfg);
    cfg = config(1, 0, 0); /* no members */
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), ZAB_EINVAL);
    zab_config_free(cfg);
    zab_config_t *obs_only;
    ck_assert_int_eq(zab_config_new(&obs_only), 0);
    ck_assert_int_eq(zab_config_set_id(obs_only, 1), 0);
    ck_assert_int_eq(zab_config_add_observer(obs_only, 1), 0);
    ck_assert_int_eq(zab_config_add_observer(obs_only, 2), 0);
    ck_assert_int_eq(zab_new(obs_only, &base_ops, &h, &z), ZAB_EINVAL);
    zab_config_free(obs_only);
    ck_assert_ptr_eq(z, SENTINEL);
    cfg = config(4, 3, 1); /* an observer of three voters */
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), 0);
    zab_free(z);
    zab_config_free(cfg);
    ck_assert_int_eq(callbacks(&h), 0);
    zab_free(NULL);
}
END_TEST

/* zab_new copies the configuration: changing or freeing it afterwards
 * changes nothing. */
START_TEST(test_new_copies_config)
{
    host_t h;
    memset(&h, 0, sizeof h);
    h.sync = 1;
    zab_config_t *cfg = config(1, 1, 0);
    ck_assert_int_eq(zab_config_set(cfg, ZAB_OPT_MAX_PAYLOAD_BYTES, 10), 0);
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), 0);
    ck_assert_int_eq(zab_config_set(cfg, ZAB_OPT_MAX_PAYLOAD_BYTES, 1000), 0);
    ck_assert_int_eq(zab_config_add_voter(cfg, 2), 0);
    zab_config_free(cfg);
    h.z = z;
    ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 1), 0); /* t=1: see below */
    uint64_t d;
    ck_assert_int_eq(zab_next_deadline(z, &d), 0);
    ck_assert_int_eq(zab_tick(z, d), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ROLE), ZAB_LEADING);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_SERVING), 1);
    ck_assert_int_eq(zab_propose(z, "01234567890", 11, NULL), ZAB_E2BIG);
    ck_assert_int_eq(zab_propose(z, "0123456789", 10, NULL), 0);
    zab_free(z);
}
END_TEST

/* ---- zab_start ---------------------------------------------------------------------- */

START_TEST(test_start_args)
{
    host_t h;
    memset(&h, 0, sizeof h);
    zab_config_t *cfg = config(1, 3, 0);
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), 0);
    zab_config_free(cfg);
    h.z = z;
    /* current > accepted */
    ck_assert_int_eq(zab_start(z, 1, 2, 0, 0, 0), ZAB_EINVAL);
    /* delivered > last */
    ck_assert_int_eq(zab_start(z, 1, 1, ZAB_ZXID(1, 1), ZAB_ZXID(1, 2), 0),
                     ZAB_EINVAL);
    /* epoch of last > accepted */
    ck_assert_int_eq(zab_start(z, 1, 1, ZAB_ZXID(2, 1), 0, 0), ZAB_EINVAL);
    /* no epoch left to accept */
    ck_assert_int_eq(zab_start(z, UINT32_MAX, 0, 0, 0, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_start(NULL, 0, 0, 0, 0, 0), ZAB_EINVAL);
    ck_assert_int_eq(callbacks(&h), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ELECTIONS), 0);
    /* Not started: nothing to do, nothing to wait for. */
    uint64_t d = 0;
    ck_assert_int_eq(zab_next_deadline(z, &d), 0);
    ck_assert_uint_eq(d, UINT64_MAX);
    ck_assert_int_eq(zab_propose(z, "x", 1, NULL), ZAB_ENOTLEADER);
    ck_assert_int_eq(zab_read_barrier(z, 1), ZAB_ENOTLEADER);
    /* A consistent state starts; a second start is refused. */
    ck_assert_int_eq(zab_start(z, 2, 1, ZAB_ZXID(2, 3), ZAB_ZXID(1, 7), 5),
                     0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ROLE), ZAB_LOOKING);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ACCEPTED_EPOCH), 2);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_CURRENT_EPOCH), 1);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_LAST_ZXID), ZAB_ZXID(2, 3));
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_DURABLE_ZXID), ZAB_ZXID(2, 3));
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_DELIVERED_ZXID), ZAB_ZXID(1, 7));
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ELECTIONS), 1);
    ck_assert_int_eq(zab_start(z, 2, 1, ZAB_ZXID(2, 3), ZAB_ZXID(1, 7), 5),
                     ZAB_ESTATE);
    ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 0), ZAB_ESTATE);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ACCEPTED_EPOCH), 2);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ELECTIONS), 1);
    zab_free(z);
}
END_TEST

/* ---- driving calls -------------------------------------------------------------------- */

START_TEST(test_call_args)
{
    host_t h;
    memset(&h, 0, sizeof h);
    zab_config_t *cfg = config(1, 3, 0);
    zab_config_set(cfg, ZAB_OPT_MAX_PAYLOAD_BYTES, 100);
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), 0);
    zab_config_free(cfg);
    h.z = z;
    ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 0), 0);
    int before = callbacks(&h);
    uint64_t zx = 55, d;
    ck_assert_int_eq(zab_propose(NULL, "x", 1, &zx), ZAB_EINVAL);
    ck_assert_int_eq(zab_propose(z, NULL, 1, &zx), ZAB_EINVAL);
    ck_assert_int_eq(zab_propose(z, "x", 101, &zx), ZAB_E2BIG);
    ck_assert_uint_eq(zx, 55);
    ck_assert_int_eq(zab_propose(z, "x", 1, &zx), ZAB_ENOTLEADER);
    ck_assert_int_eq(zab_read_barrier(NULL, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_read_barrier(z, 1), ZAB_ENOTLEADER);
    ck_assert_int_eq(zab_tick(NULL, 1), ZAB_EINVAL);
    ck_assert_int_eq(zab_next_deadline(NULL, &d), ZAB_EINVAL);
    ck_assert_int_eq(zab_next_deadline(z, NULL), ZAB_EINVAL);
    ck_assert_int_eq(zab_peer_up(NULL, 2), ZAB_EINVAL);
    ck_assert_int_eq(zab_peer_up(z, 9), ZAB_EINVAL);
    ck_assert_int_eq(zab_peer_up(z, 1), ZAB_EINVAL); /* myself */
    ck_assert_int_eq(zab_peer_up(z, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_peer_down(NULL, 2), ZAB_EINVAL);
    ck_assert_int_eq(zab_peer_down(z, 9), ZAB_EINVAL);
    ck_assert_int_eq(zab_persisted(NULL, 2, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_recv(NULL, 2, "12345678", 8), ZAB_EINVAL);
    ck_assert_int_eq(callbacks(&h), before);
    /* A peer going down that was never up is no event. */
    ck_assert_int_eq(zab_peer_down(z, 2), 0);
    /* Time going backwards is no change. */
    ck_assert_int_eq(zab_next_deadline(z, &d), 0);
    ck_assert_int_eq(zab_tick(z, 0), 0);
    ck_assert_int_eq(zab_tick(z, d), 0);
    ck_assert_int_eq(zab_tick(z, 1), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ROLE), ZAB_LOOKING);
    ck_assert_uint_eq(zab_stat(z, -1), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT__COUNT), 0);
    zab_free(z);
}
END_TEST

/* Unknown, zero and already confirmed tokens are refused. */
START_TEST(test_persisted_tokens)
{
    host_t h;
    memset(&h, 0, sizeof h);
    h.sync = 0; /* deferred: confirm by hand */
    zab_config_t *cfg = config(1, 1, 0);
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), 0);
    zab_config_free(cfg);
    h.z = z;
    /* Nothing issued yet. */
    for (uint64_t t = 0; t < 8; t++) {
        ck_assert_int_eq(zab_persisted(z, t, 0), ZAB_EINVAL);
    }
    ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 1), 0);
    uint64_t d;
    ck_assert_int_eq(zab_next_deadline(z, &d), 0);
    ck_assert_int_eq(zab_tick(z, d), 0);
    /* A single voter leads at once and saves its acceptedEpoch. */
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ROLE), ZAB_LEADING);
    ck_assert_int_eq(h.n_toks, 1);
    uint64_t tok = h.toks[0];
    ck_assert_uint_ne(tok, 0);
    ck_assert_int_eq(zab_persisted(z, 0, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_persisted(z, tok + 2, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_persisted(z, tok + 1, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_persisted(z, tok ^ 1, 0), ZAB_EINVAL);
    ck_assert_int_eq(zab_persisted(z, UINT64_MAX, 0), ZAB_EINVAL);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ACCEPTED_EPOCH), 0);
    ck_assert_int_eq(zab_persisted(z, tok, 0), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ACCEPTED_EPOCH), 1);
    ck_assert_int_eq(zab_persisted(z, tok, 0), ZAB_EINVAL); /* again */
    /* Then currentEpoch; then the node serves. */
    ck_assert_int_eq(h.n_toks, 2);
    ck_assert_uint_ne(h.toks[1], tok);
    ck_assert_int_eq(zab_persisted(z, h.toks[1], 0), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_CURRENT_EPOCH), 1);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_SERVING), 1);
    /* A log write: confirming it commits the proposal. */
    uint64_t zx;
    ck_assert_int_eq(zab_propose(z, "a", 1, &zx), 0);
    ck_assert_uint_eq(zx, ZAB_ZXID(1, 1));
    ck_assert_int_eq(h.n_toks, 3);
    ck_assert_int_eq(h.n_deliver, 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_ne(h.toks[2], h.toks[i]);
    }
    ck_assert_int_eq(zab_persisted(z, h.toks[2], 0), 0);
    ck_assert_int_eq(h.n_deliver, 1);
    ck_assert_uint_eq(h.delivered_zxid, zx);
    ck_assert_int_eq(zab_persisted(z, h.toks[2], 0), ZAB_EINVAL);
    zab_free(z);
}
END_TEST

/* A single voter with a synchronous disk: zab_persisted from inside the
 * write callbacks works, and its effect is complete before the outer call
 * returns. */
START_TEST(test_persisted_from_callback)
{
    host_t h;
    memset(&h, 0, sizeof h);
    h.sync = 1;
    zab_config_t *cfg = config(1, 1, 0);
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), 0);
    zab_config_free(cfg);
    h.z = z;
    ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 1), 0);
    uint64_t d;
    ck_assert_int_eq(zab_next_deadline(z, &d), 0);
    ck_assert_int_eq(zab_tick(z, d), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ROLE), ZAB_LEADING);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_SERVING), 1);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_CURRENT_EPOCH), 1);
    for (int k = 1; k <= 5; k++) {
        uint64_t zx;
        ck_assert_int_eq(zab_propose(z, "tx", 2, &zx), 0);
        ck_assert_uint_eq(zx, ZAB_ZXID(1, k));
        ck_assert_int_eq(h.n_deliver, k); /* delivered within the call */
        ck_assert_uint_eq(h.delivered_zxid, zx);
    }
    for (int i = 0; i < h.n_toks; i++) {
        ck_assert_int_eq(h.rc_persisted[i], 0);
    }
    ck_assert_int_eq(h.n_toks, 2 + 5);
    /* A barrier on a single voter completes within the call. */
    ck_assert_int_eq(zab_read_barrier(z, 99), 0);
    ck_assert_int_eq(h.n_barrier, 1);
    ck_assert_uint_eq(h.barrier_cookie, 99);
    ck_assert_int_eq(h.barrier_status, 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_COMMITS), 5);
    zab_free(z);
}
END_TEST

/* A single voter is its own quorum and decides at once, also when it
 * starts at time 0 (it did not: "0" was the value meaning "no decision
 * pending"; found by this test, fixed in 47ee018).  The other single-voter
 * tests here start at t = 1. */
START_TEST(test_single_voter_start_at_zero)
{
    host_t h;
    memset(&h, 0, sizeof h);
    h.sync = 1;
    zab_config_t *cfg = config(1, 1, 0);
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), 0);
    zab_config_free(cfg);
    h.z = z;
    ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 0), 0);
    uint64_t now = 0;
    for (int i = 0; i < 10 && zab_stat(z, ZAB_STAT_SERVING) == 0; i++) {
        uint64_t d;
        ck_assert_int_eq(zab_next_deadline(z, &d), 0);
        ck_assert_uint_ne(d, UINT64_MAX);
        now = d > now ? d : now;
        ck_assert_int_eq(zab_tick(z, now), 0);
    }
    uint64_t role = zab_stat(z, ZAB_STAT_ROLE);
    uint64_t serving = zab_stat(z, ZAB_STAT_SERVING);
    zab_free(z);
    ck_assert_msg(role == ZAB_LEADING && serving == 1,
                  "a single voter started at t=0 is still %s at t=%llu",
                  zab_role_name((int)role), (unsigned long long)now);
}
END_TEST

/* The calls that drive the node return ZAB_ESTATE from a callback and do
 * nothing; the read-only ones work there. */
START_TEST(test_reentry_refused)
{
    host_t h;
    memset(&h, 0, sizeof h);
    h.sync = 1;
    h.reenter = 1;
    zab_config_t *cfg = config(1, 2, 0);
    zab_t *z;
    ck_assert_int_eq(zab_new(cfg, &base_ops, &h, &z), 0);
    zab_config_free(cfg);
    h.z = z;
    ck_assert_int_eq(zab_start(z, 0, 0, 0, 0, 0), 0);
    uint64_t elections = zab_stat(z, ZAB_STAT_ELECTIONS);
    ck_assert_int_eq(zab_peer_up(z, 2), 0); /* sends our vote */
    ck_assert_int_eq(h.n_reentry_tries, 9);
    for (int i = 0; i < 9; i++) {
        ck_assert_msg(h.rc_reentry[i] == ZAB_ESTATE,
                      "re-entrant call %d returned %s", i,
                      zab_err_name(h.rc_reentry[i]));
    }
    ck_assert_int_eq(h.rc_deadline, 0);
    ck_assert_uint_ne(h.deadline_in_cb, UINT64_MAX);
    ck_assert_uint_lt(h.deadline_in_cb, 1000000);
    ck_assert_uint_eq(h.role_in_cb, ZAB_LOOKING + 100);
    /* None of them had an effect: no start, no tick, no extra send. */
    ck_assert_int_eq(h.n_send, 1);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ELECTIONS), elections);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_MSGS_MALFORMED), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_MSGS_RECEIVED), 0);
    ck_assert_uint_eq(zab_stat(z, ZAB_STAT_ROLE), ZAB_LOOKING);
    /* After the callback the node takes calls again. */
    uint64_t d;
    ck_assert_int_eq(zab_next_deadline(z, &d), 0);
    ck_assert_uint_lt(d, 1000000);
    ck_assert_int_eq(zab_tick(z, d), 0);
    ck_assert_int_eq(zab_peer_down(z, 2), 0);
    zab_free(z);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("strings");
    tcase_add_test(tc, test_errors_known);
    tcase_add_test(tc, test_errors_unknown);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_role_names);
    tcase_add_test(tc, test_stat_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("config");
    tcase_add_loop_test(tc, test_config_options, 0, N_OPTS);
    tcase_add_test(tc, test_config_bad_options);
    tcase_add_test(tc, test_config_members);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifecycle");
    tcase_add_test(tc, test_new_args);
    tcase_add_test(tc, test_new_copies_config);
    tcase_add_test(tc, test_start_args);
    tcase_add_test(tc, test_call_args);
    suite_add_tcase(s, tc);

    tc = tcase_create("persisted");
    tcase_add_test(tc, test_persisted_tokens);
    tcase_add_test(tc, test_persisted_from_callback);
    tcase_add_test(tc, test_reentry_refused);
    tcase_add_test(tc, test_single_voter_start_at_zero);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(api_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
