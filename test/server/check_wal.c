/*
 * check_wal.c -- zabd's durable storage (examples/server/wal.h): appends,
 * group commit and reads across segment rolls; reopening; truncation;
 * recovery of a torn or garbage tail and refusal of a corrupt middle
 * record; the epoch file (atomic replace, leftover temp file, corruption);
 * snapshots (write, load, fallback, install in chunks, purge keeping N);
 * the ERANGE/ENOENT semantics of log_read; and the failed state after a
 * write failure.  Every test runs in its own mkdtemp directory under /tmp,
 * removed afterwards.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wal.h"

/* ---- fixture ------------------------------------------------------------ */

static char dir[64];
static wal_t *w;
static char errbuf[512];

typedef struct seen {
    uint64_t tok[512];
    int status[512];
    size_t n;
} seen_t;

static seen_t seen;


static void rm_dir(const char *d)
{
    DIR *dp = opendir(d);
    if (dp == NULL) {
        return;
    }
    struct dirent *de;
    char path[512];
    while ((de = readdir(dp)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", d, de->d_name);
        unlink(path);
    }
    closedir(dp);
    rmdir(d);
}

static void setup(void)
{
    strcpy(dir, "/tmp/check_wal.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    w = NULL;
    memset(&seen, 0, sizeof seen);
}

static void teardown(void)
{
    wal_close(w);
    w = NULL;
    rm_dir(dir);
}

static wal_options_t small_opts(void)
{
    wal_options_t o;
    memset(&o, 0, sizeof o);
    o.segment_bytes = 256; /* a roll every few records */
    o.cache_bytes = 64;
    return o;
}

static int reopen_opts(const wal_options_t *o)
{
    wal_close(w);
    w = NULL;
    return wal_open(dir, o, &w, errbuf, sizeof errbuf);
}

static void reopen(void)
{
    wal_options_t o = small_opts();
    int rc = reopen_opts(&o);
    ck_assert_msg(rc == 0, "wal_open: %d %s", rc, errbuf);
}

/* deterministic payload of entry zxid: (zxid % 37) bytes */
static size_t payload(uint64_t zxid, unsigned char *buf)
{
    size_t n = (size_t)(zxid % 37);
    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)(zxid * 31 + i);
    }
    return n;
}

static void append(uint64_t zxid, uint64_t token)
{
    unsigned char b[64];
    size_t n = payload(zxid, b);
    int rc = wal_append(w, zxid, b, n, token);
    ck_assert_msg(rc == 0, "append %llx: %d %s", (unsigned long long)zxid, rc,
                  wal_error(w));
}

static void check_entry(uint64_t after, uint64_t want)
{
    uint64_t z = 0;
    const void *d = NULL;
    size_t n = 0;
    int rc = wal_read(w, after, &z, &d, &n);
    ck_assert_msg(rc == 0, "read after %llx: %d %s", (unsigned long long)after,
                  rc, wal_error(w));
    ck_assert_uint_eq(z, want);
    unsigned char b[64];
    size_t m = payload(want, b);
    ck_assert_uint_eq(n, m);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(memcmp(d, b, m), 0);
}

/* reads the whole log from `after` and checks it is exactly zs[0..n) */
static void check_log(uint64_t after, const uint64_t *zs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        check_entry(i == 0 ? after : zs[i - 1], zs[i]);
    }
    uint64_t z;
    const void *d;
    size_t len;
    ck_assert_int_eq(wal_read(w, n > 0 ? zs[n - 1] : after, &z, &d, &len),
                     ZAB_ENOENT);
}

static void on_durable(void *ud, uint64_t token, int status)
{
    seen_t *s = ud;
    ck_assert_uint_lt(s->n, 512);
    s->tok[s->n] = token;
    s->status[s->n] = status;
    s->n++;
}

static void sync_ok(void)
{
    int rc = wal_sync(w, on_durable, &seen);
    ck_assert_msg(rc == 0, "sync: %d %s", rc, wal_error(w));
}

static char *path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static char *seg_path(uint64_t first)
{
    char name[64];
    snprintf(name, sizeof name, "log.%016llx", (unsigned long long)first);
    return path_of(name);
}

static off_t file_size(const char *p)
{
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    return st.st_size;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void write_bytes(const char *p, off_t off, const void *b, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, b, n, off), (ssize_t)n);
    close(fd);
}

#define E(c) ZAB_ZXID(1, (c))

/* ---- log ---------------------------------------------------------------- */

START_TEST(test_append_read_roll)
{
    reopen();
    uint64_t zs[40];
    for (int i = 0; i < 40; i++) {
        zs[i] = E(i + 1);
        append(zs[i], (uint64_t)i + 1);
        if (i == 20) {
            sync_ok();
        }
    }
    ck_assert_uint_gt(wal_segment_count(w), 3);
    ck_assert_uint_eq(wal_last_zxid(w), E(40));
    ck_assert_uint_eq(wal_durable_zxid(w), E(21));
    check_log(0, zs, 40); /* durable and buffered alike */
    check_entry(E(17), E(18));
    check_entry(E(17) - 1, E(17));
    sync_ok();
    ck_assert_uint_eq(wal_durable_zxid(w), E(40));
    ck_assert_uint_eq(seen.n, 40);
    /* zxids must grow */
    ck_assert_int_eq(wal_append(w, E(40), "x", 1, 99), ZAB_EINVAL);
    ck_assert_int_eq(wal_append(w, E(3), "x", 1, 99), ZAB_EINVAL);
    size_t segs = wal_segment_count(w);
    reopen();
    ck_assert_uint_eq(wal_segment_count(w), segs);
    uint64_t last;
    wal_start_state(w, NULL, NULL, &last, NULL);
    ck_assert_uint_eq(last, E(40));
    check_log(0, zs, 40);
    /* keeps appending where it left off, into a new epoch */
    append(ZAB_ZXID(2, 1), 1);
    sync_ok();
    reopen();
    check_entry(E(40), ZAB_ZXID(2, 1));
}
END_TEST

START_TEST(test_group_commit)
{
    reopen();
    uint64_t tok = 1;
    for (int i = 1; i <= 200; i++) {
        append(E(i), tok++);
        if (i % 50 == 0) {
            ck_assert_int_eq(wal_save_epochs(w, 1, 1, tok++), 0);
        }
    }
    ck_assert(wal_sync_pending(w));
    sync_ok();
    ck_assert_uint_eq(seen.n, tok - 1);
    for (size_t i = 0; i < seen.n; i++) {
        ck_assert_uint_eq(seen.tok[i], i + 1);
        ck_assert_int_eq(seen.status[i], 0);
    }
    ck_assert(!wal_sync_pending(w));
    sync_ok(); /* nothing new */
    ck_assert_uint_eq(seen.n, tok - 1);
    /* token 0 (no confirmation wanted) is never reported */
    append(E(201), 0);
    sync_ok();
    ck_assert_uint_eq(seen.n, tok - 1);
}
END_TEST

/* a callback that appends: reentrant writes land in the next batch */
static void on_durable_append(void *ud, uint64_t token, int status)
{
    (void)ud;
    on_durable(&seen, token, status);
    if (token == 2) {
        append(E(3), 3);
    }
}

START_TEST(test_reentrant_callback)
{
    reopen();
    append(E(1), 1);
    append(E(2), 2);
    ck_assert_int_eq(wal_sync(w, on_durable_append, NULL), 0);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert(wal_sync_pending(w));
    ck_assert_int_eq(wal_sync(w, on_durable_append, NULL), 0);
    ck_assert_uint_eq(seen.n, 3);
    ck_assert_uint_eq(seen.tok[2], 3);
}
END_TEST

START_TEST(test_truncate)
{
    reopen();
    uint64_t zs[40];
    size_t n = 0;
    for (int i = 1; i <= 30; i++) {
        append(E(i), (uint64_t)i);
    }
    sync_ok();
    size_t segs = wal_segment_count(w);
    /* truncate into an early segment: later ones are deleted */
    ck_assert_int_eq(wal_truncate(w, E(7), 31), 0);
    ck_assert_uint_lt(wal_segment_count(w), segs);
    ck_assert_uint_eq(wal_last_zxid(w), E(7));
    for (int i = 1; i <= 7; i++) {
        zs[n++] = E(i);
    }
    check_log(0, zs, n);
    ck_assert(!exists(seg_path(E(30))));
    /* append after the truncation, in a new epoch */
    for (int i = 1; i <= 10; i++) {
        zs[n] = ZAB_ZXID(2, i);
        append(zs[n++], (uint64_t)31 + i);
    }
    /* truncating beyond the end is a no-op, still confirmed in order */
    ck_assert_int_eq(wal_truncate(w, ZAB_ZXID(3, 0), 42), 0);
    sync_ok();
    ck_assert_uint_eq(seen.n, 42);
    ck_assert_uint_eq(seen.tok[30], 31);
    ck_assert_uint_eq(seen.tok[41], 42);
    check_log(0, zs, n);
    reopen();
    check_log(0, zs, n);
    /* truncating a buffered, unsynced tail */
    append(ZAB_ZXID(2, 11), 43);
    append(ZAB_ZXID(2, 12), 44);
    ck_assert_int_eq(wal_truncate(w, ZAB_ZXID(2, 11), 45), 0);
    sync_ok();
    zs[n++] = ZAB_ZXID(2, 11);
    reopen();
    check_log(0, zs, n);
    /* truncating everything empties the log */
    ck_assert_int_eq(wal_truncate(w, 0, 46), 0);
    ck_assert_uint_eq(wal_segment_count(w), 0);
    ck_assert_uint_eq(wal_last_zxid(w), 0);
    check_log(0, NULL, 0);
    sync_ok();
    reopen();
    ck_assert_uint_eq(wal_last_zxid(w), 0);
    append(ZAB_ZXID(3, 1), 47);
    sync_ok();
    reopen();
    zs[0] = ZAB_ZXID(3, 1);
    check_log(0, zs, 1);
}
END_TEST

START_TEST(test_torn_tail)
{
    wal_options_t o;
    memset(&o, 0, sizeof o); /* one big segment */
    ck_assert_int_eq(reopen_opts(&o), 0);
    uint64_t zs[10];
    for (int i = 1; i <= 10; i++) {
        zs[i - 1] = E(i);
        append(E(i), (uint64_t)i);
    }
    sync_ok();
    wal_close(w);
    w = NULL;
    const char *p = seg_path(E(1));
    off_t full = file_size(p);
    /* chop the last record in the middle */
    ck_assert_int_eq(truncate(p, full - 5), 0);
    ck_assert_int_eq(reopen_opts(&o), 0);
    check_log(0, zs, 9);
    ck_assert_uint_eq(wal_durable_zxid(w), E(9));
    off_t cut = file_size(p);
    ck_assert_int_lt(cut, full - 5); /* cut back to the last good record */
    wal_close(w);
    w = NULL;
    /* garbage at the end */
    write_bytes(p, cut, "garbage garbage garbage garbage", 31);
    ck_assert_int_eq(reopen_opts(&o), 0);
    check_log(0, zs, 9);
    ck_assert_int_eq(file_size(p), cut);
    /* zeros at the end (a crash after the size grew) */
    wal_close(w);
    w = NULL;
    static const unsigned char zeros[300];
    write_bytes(p, cut, zeros, sizeof zeros);
    ck_assert_int_eq(reopen_opts(&o), 0);
    check_log(0, zs, 9);
    ck_assert_int_eq(file_size(p), cut);
    /* a torn last record of the newest segment of many: the rest stays */
    append(E(10), 11);
    sync_ok();
    check_log(0, zs, 10);
}
END_TEST

START_TEST(test_torn_new_segment)
{
    reopen();
    for (int i = 1; i <= 20; i++) {
        append(E(i), (uint64_t)i);
    }
    sync_ok();
    wal_close(w);
    w = NULL;
    /* a segment created by a roll whose header never made it */
    write_bytes(seg_path(E(21)), 0, "ZABD", 4);
    reopen();
    ck_assert(!exists(seg_path(E(21))));
    ck_assert_uint_eq(wal_last_zxid(w), E(20));
    append(E(21), 21);
    sync_ok();
    reopen();
    check_entry(E(20), E(21));
}
END_TEST

START_TEST(test_corrupt_middle)
{
    wal_options_t o;
    memset(&o, 0, sizeof o);
    ck_assert_int_eq(reopen_opts(&o), 0);
    for (int i = 1; i <= 10; i++) {
        append(E(i), (uint64_t)i);
    }
    sync_ok();
    uint64_t z;
    const void *d;
    size_t n;
    ck_assert_int_eq(wal_read(w, E(2), &z, &d, &n), 0);
    wal_close(w);
    w = NULL;
    /* flip a payload byte of record 3: 16-byte header, records 1 and 2 */
    off_t off = 16 + (24 + (off_t)(E(1) % 37)) + (24 + (off_t)(E(2) % 37)) +
                24 + 2;
    unsigned char c = 0x5a;
    write_bytes(seg_path(E(1)), off, &c, 1);
    int rc = reopen_opts(&o);
    ck_assert_int_eq(rc, WAL_ECORRUPT);
    ck_assert_ptr_null(w);
    ck_assert_msg(strstr(errbuf, "corrupt record") != NULL, "%s", errbuf);
    ck_assert_msg(strstr(errbuf, "log.0000000100000001") != NULL, "%s",
                  errbuf);
    /* the operator's override keeps what comes before */
    o.repair = 1;
    ck_assert_int_eq(reopen_opts(&o), 0);
    uint64_t zs[2] = {E(1), E(2)};
    check_log(0, zs, 2);
}
END_TEST

START_TEST(test_corrupt_earlier_segment)
{
    reopen();
    for (int i = 1; i <= 30; i++) {
        append(E(i), (uint64_t)i);
    }
    sync_ok();
    ck_assert_uint_gt(wal_segment_count(w), 2);
    wal_close(w);
    w = NULL;
    /* break the last bytes of the first segment: later segments exist */
    const char *p = seg_path(E(1));
    unsigned char c = 0xff;
    write_bytes(p, file_size(p) - 1, &c, 1);
    wal_options_t o = small_opts();
    ck_assert_int_eq(reopen_opts(&o), WAL_ECORRUPT);
    ck_assert_msg(strstr(errbuf, "followed by valid") != NULL, "%s", errbuf);
    /* repair cuts the first segment and drops every later one */
    o.repair = 1;
    ck_assert_int_eq(reopen_opts(&o), 0);
    ck_assert_uint_lt(wal_last_zxid(w), E(30));
}
END_TEST

START_TEST(test_missing_segment)
{
    reopen();
    for (int i = 1; i <= 30; i++) {
        append(E(i), (uint64_t)i);
    }
    sync_ok();
    ck_assert_uint_gt(wal_segment_count(w), 2);
    /* find the second segment through the index: first one after segment 1 */
    wal_close(w);
    w = NULL;
    DIR *dp = opendir(dir);
    struct dirent *de;
    char second[256] = "";
    char first[64] = "log.0000000100000001";
    while ((de = readdir(dp)) != NULL) {
        if (strncmp(de->d_name, "log.", 4) == 0 &&
            strcmp(de->d_name, first) > 0 &&
            (second[0] == '\0' || strcmp(de->d_name, second) < 0)) {
            snprintf(second, sizeof second, "%s", de->d_name);
        }
    }
    closedir(dp);
    ck_assert(second[0] != '\0');
    ck_assert_int_eq(unlink(path_of(second)), 0);
    wal_options_t o = small_opts();
    ck_assert_int_eq(reopen_opts(&o), WAL_ECORRUPT);
    ck_assert_msg(strstr(errbuf, "missing") != NULL, "%s", errbuf);
}
END_TEST

START_TEST(test_read_semantics)
{
    reopen();
    uint64_t z;
    const void *d;
    size_t n;
    ck_assert_int_eq(wal_read(w, 0, &z, &d, &n), ZAB_ENOENT);
    ck_assert_int_eq(wal_append(w, E(1), NULL, 0, 1), 0); /* empty entry */
    ck_assert_int_eq(wal_read(w, 0, &z, &d, &n), 0);
    ck_assert_uint_eq(z, E(1));
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(wal_read(w, E(1), &z, &d, &n), ZAB_ENOENT);
    ck_assert_int_eq(wal_read(w, ZAB_ZXID(9, 9), &z, &d, &n), ZAB_ENOENT);
    ck_assert_int_eq(wal_append(w, E(2), "x", 1, 2), 0);
    /* a zxid between entries gives the next one */
    ck_assert_int_eq(wal_read(w, E(1) + 0, &z, &d, &n), 0);
    ck_assert_uint_eq(z, E(2));
    ck_assert_int_eq(wal_append(w, E(3), "y", (size_t)65 << 20, 3), ZAB_E2BIG);
    /* compaction: ERANGE below the start, entries after it as usual */
    ck_assert_int_eq(wal_snapshot_put(w, E(10), 0, 1, "s", 1, 4), 0);
    ck_assert_int_eq(wal_read(w, 0, &z, &d, &n), ZAB_ERANGE);
    ck_assert_int_eq(wal_read(w, E(9), &z, &d, &n), ZAB_ERANGE);
    ck_assert_int_eq(wal_read(w, E(10), &z, &d, &n), ZAB_ENOENT);
    append(E(11), 5);
    check_entry(E(10), E(11));
    sync_ok();
    reopen();
    ck_assert_int_eq(wal_read(w, E(9), &z, &d, &n), ZAB_ERANGE);
    check_entry(E(10), E(11));
}
END_TEST

/* ---- epochs ------------------------------------------------------------- */

START_TEST(test_epochs)
{
    reopen();
    uint32_t a = 9, c = 9;
    wal_epochs(w, &a, &c);
    ck_assert_uint_eq(a, 0); /* a new node */
    ck_assert_uint_eq(c, 0);
    ck_assert_int_eq(wal_save_epochs(w, 2, 3, 1), ZAB_EINVAL);
    ck_assert_int_eq(wal_save_epochs(w, 2, 1, 1), 0);
    ck_assert_int_eq(wal_save_epochs(w, 3, 2, 2), 0);
    sync_ok();
    ck_assert_uint_eq(seen.n, 2);
    reopen();
    uint64_t last, delivered;
    wal_start_state(w, &a, &c, &last, &delivered);
    ck_assert_uint_eq(a, 3);
    ck_assert_uint_eq(c, 2);
    ck_assert_uint_eq(last, 0);
    ck_assert_uint_eq(delivered, 0);
    /* a crash between writing the temp file and the rename */
    wal_close(w);
    w = NULL;
    write_bytes(path_of("epochs.tmp"), 0, "half a new epoch file", 21);
    reopen();
    wal_epochs(w, &a, &c);
    ck_assert_uint_eq(a, 3);
    ck_assert_uint_eq(c, 2);
    ck_assert(!exists(path_of("epochs.tmp")));
    /* pending (unsynced) epochs are lost with a crash */
    ck_assert_int_eq(wal_save_epochs(w, 4, 4, 3), 0);
    wal_epochs(w, &a, &c);
    ck_assert_uint_eq(a, 4);
    reopen();
    wal_epochs(w, &a, &c);
    ck_assert_uint_eq(a, 3);
    /* a corrupt epoch file refuses to open */
    wal_close(w);
    w = NULL;
    write_bytes(path_of("epochs"), 9, "X", 1);
    wal_options_t o = small_opts();
    ck_assert_int_eq(reopen_opts(&o), WAL_ECORRUPT);
    ck_assert_msg(strstr(errbuf, "epoch") != NULL, "%s", errbuf);
    ck_assert_int_eq(truncate(path_of("epochs"), 7), 0);
    ck_assert_int_eq(reopen_opts(&o), WAL_ECORRUPT);
}
END_TEST

/* ---- snapshots ---------------------------------------------------------- */

static char *snap_path(uint64_t zxid)
{
    char name[64];
    snprintf(name, sizeof name, "snapshot.%016llx", (unsigned long long)zxid);
    return path_of(name);
}

static void check_snapshot(uint64_t want_zxid, const char *want)
{
    uint64_t z = 0;
    void *d = NULL;
    size_t n = 0;
    int rc = wal_snapshot_load(w, &z, &d, &n);
    ck_assert_msg(rc == 0, "load: %d %s", rc, wal_error(w));
    ck_assert_uint_eq(z, want_zxid);
    ck_assert_uint_eq(n, strlen(want));
    if (n > 0) {
        ck_assert_int_eq(memcmp(d, want, n), 0);
    }
    free(d);
}

START_TEST(test_snapshot_write_purge)
{
    reopen();
    uint64_t z;
    void *d;
    size_t n;
    ck_assert_int_eq(wal_snapshot_load(w, &z, &d, &n), ZAB_ENOENT);
    for (int i = 1; i <= 60; i++) {
        append(E(i), (uint64_t)i);
        if (i % 10 == 0) {
            sync_ok();
            char s[32];
            snprintf(s, sizeof s, "state at %d", i);
            ck_assert_int_eq(wal_snapshot_write(w, E(i), s, strlen(s)), 0);
        }
    }
    sync_ok();
    check_snapshot(E(60), "state at 60");
    size_t segs = wal_segment_count(w);
    ck_assert_int_eq(wal_purge(w, 0), ZAB_EINVAL);
    ck_assert_int_eq(wal_purge(w, 3), 0);
    ck_assert(!exists(snap_path(E(30))));
    ck_assert(exists(snap_path(E(40))));
    ck_assert(exists(snap_path(E(60))));
    ck_assert_uint_lt(wal_segment_count(w), segs);
    uint64_t start = wal_log_start(w);
    ck_assert_uint_gt(start, 0);
    ck_assert_uint_le(start, E(40)); /* the log still covers snapshot 40 */
    const void *cd;
    ck_assert_int_eq(wal_read(w, 0, &z, &cd, &n), ZAB_ERANGE);
    check_entry(start, start + 1);
    check_entry(E(40), E(41));
    reopen();
    ck_assert_uint_eq(wal_log_start(w), start);
    uint64_t last, delivered;
    wal_start_state(w, NULL, NULL, &last, &delivered);
    ck_assert_uint_eq(last, E(60));
    ck_assert_uint_eq(delivered, E(60));
    check_entry(start, start + 1);
    /* the newest snapshot corrupt: the one before is used */
    wal_close(w);
    w = NULL;
    write_bytes(snap_path(E(60)), 40, "?", 1);
    reopen();
    ck_assert_uint_eq(wal_snapshot_zxid(w), E(50));
    check_snapshot(E(50), "state at 50");
    /* purge never counts (or deletes) the unreadable newer file */
    ck_assert_int_eq(wal_purge(w, 1), 0);
    ck_assert(exists(snap_path(E(60))));
    ck_assert(exists(snap_path(E(50))));
    ck_assert(!exists(snap_path(E(40))));
    check_entry(E(50), E(51));
    /* every snapshot gone while the log starts late: refuse */
    wal_close(w);
    w = NULL;
    unlink(snap_path(E(50)));
    wal_options_t o = small_opts();
    ck_assert_int_eq(reopen_opts(&o), WAL_ECORRUPT);
}
END_TEST

START_TEST(test_snapshot_install)
{
    reopen();
    for (int i = 1; i <= 20; i++) {
        append(E(i), (uint64_t)i);
    }
    sync_ok();
    append(E(21), 21); /* buffered, superseded by the snapshot */
    const char *s = "0123456789abcdefghij";
    uint64_t z = ZAB_ZXID(2, 5);
    ck_assert_int_eq(wal_snapshot_put(w, z, 0, 20, s, 8, 0), 0);
    ck_assert_int_eq(wal_snapshot_put(w, z, 12, 20, s + 12, 8, 0), ZAB_EINVAL);
    ck_assert_int_eq(wal_snapshot_put(w, z, 8, 20, s + 8, 8, 0), 0);
    ck_assert_uint_eq(wal_last_zxid(w), E(21)); /* not yet installed */
    ck_assert_int_eq(wal_snapshot_put(w, z, 16, 20, s + 16, 4, 22), 0);
    ck_assert_uint_eq(wal_segment_count(w), 0);
    ck_assert_uint_eq(wal_last_zxid(w), z);
    ck_assert_uint_eq(wal_log_start(w), z);
    uint64_t rz;
    const void *d;
    size_t n;
    ck_assert_int_eq(wal_read(w, E(20), &rz, &d, &n), ZAB_ERANGE);
    ck_assert_int_eq(wal_read(w, z, &rz, &d, &n), ZAB_ENOENT);
    check_snapshot(z, s);
    sync_ok();
    ck_assert_uint_eq(seen.n, 22);
    ck_assert_uint_eq(seen.tok[21], 22);
    ck_assert_uint_eq(wal_durable_zxid(w), z);
    reopen();
    uint64_t last, delivered;
    wal_start_state(w, NULL, NULL, &last, &delivered);
    ck_assert_uint_eq(last, z);
    ck_assert_uint_eq(delivered, z);
    check_snapshot(z, s);
    append(ZAB_ZXID(2, 6), 23);
    sync_ok();
    reopen();
    check_entry(z, ZAB_ZXID(2, 6));
    ck_assert_uint_eq(wal_log_start(w), z);
    /* an empty snapshot comes as one call */
    ck_assert_int_eq(wal_snapshot_put(w, ZAB_ZXID(3, 1), 0, 0, NULL, 0, 24),
                     0);
    check_snapshot(ZAB_ZXID(3, 1), "");
    /* an abandoned transfer leaves nothing after a restart */
    ck_assert_int_eq(wal_snapshot_put(w, ZAB_ZXID(4, 1), 0, 10, s, 5, 0), 0);
    sync_ok();
    reopen();
    ck_assert_uint_eq(wal_snapshot_zxid(w), ZAB_ZXID(3, 1));
    ck_assert(!exists(path_of("snapshot.0000000400000001.recv.tmp")));
}
END_TEST

START_TEST(test_install_crash)
{
    reopen();
    for (int i = 1; i <= 20; i++) {
        append(E(i), (uint64_t)i);
    }
    sync_ok();
    /* the disk as a crash leaves it after the installed snapshot's rename
     * but before the old log is deleted */
    ck_assert_int_eq(wal_snapshot_write(w, ZAB_ZXID(2, 3), "new", 3), 0);
    reopen();
    ck_assert_uint_eq(wal_segment_count(w), 0);
    uint64_t last, delivered;
    wal_start_state(w, NULL, NULL, &last, &delivered);
    ck_assert_uint_eq(last, ZAB_ZXID(2, 3));
    ck_assert_uint_eq(delivered, ZAB_ZXID(2, 3));
    ck_assert_uint_eq(wal_log_start(w), ZAB_ZXID(2, 3));
    check_snapshot(ZAB_ZXID(2, 3), "new");
}
END_TEST

/* ---- failures ----------------------------------------------------------- */

START_TEST(test_write_failure)
{
    reopen();
    append(E(1), 1);
    sync_ok();
    append(E(2), 2);
    ck_assert_int_eq(wal_save_epochs(w, 1, 1, 3), 0);
    append(E(3), 4);
    wal_test_fail_next(w, ENOSPC);
    ck_assert_int_eq(wal_sync(w, on_durable, &seen), ZAB_EIO);
    ck_assert(wal_failed(w));
    ck_assert_msg(strstr(wal_error(w), "No space") != NULL, "%s",
                  wal_error(w));
    ck_assert_uint_eq(seen.n, 4);
    ck_assert_int_eq(seen.status[0], 0);
    for (size_t i = 1; i < 4; i++) {
        ck_assert_int_eq(seen.status[i], ZAB_EIO);
    }
    ck_assert_uint_eq(wal_durable_zxid(w), E(1));
    /* never durable again */
    ck_assert_int_eq(wal_append(w, E(4), "x", 1, 5), ZAB_EIO);
    ck_assert_int_eq(wal_truncate(w, E(1), 5), ZAB_EIO);
    ck_assert_int_eq(wal_save_epochs(w, 2, 2, 5), ZAB_EIO);
    ck_assert_int_eq(wal_snapshot_put(w, E(9), 0, 0, NULL, 0, 5), ZAB_EIO);
    ck_assert_int_eq(wal_sync(w, on_durable, &seen), ZAB_EIO);
    ck_assert_uint_eq(seen.n, 4);
    /* the disk holds what was confirmed */
    reopen();
    ck_assert(!wal_failed(w));
    ck_assert_uint_ge(wal_last_zxid(w), E(1));
}
END_TEST

START_TEST(test_epoch_write_failure)
{
    reopen();
    ck_assert_int_eq(wal_save_epochs(w, 1, 0, 1), 0);
    sync_ok();
    ck_assert_int_eq(wal_save_epochs(w, 2, 0, 2), 0);
    wal_test_fail_next(w, EIO); /* the temp file's write */
    ck_assert_int_eq(wal_sync(w, on_durable, &seen), ZAB_EIO);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert_int_eq(seen.status[1], ZAB_EIO);
    ck_assert(wal_failed(w));
    reopen();
    uint32_t a, c;
    wal_epochs(w, &a, &c);
    ck_assert_uint_eq(a, 1);
    ck_assert(!exists(path_of("epochs.tmp")));
}
END_TEST

START_TEST(test_roll_failure)
{
    reopen();
    for (int i = 1; i <= 5; i++) {
        append(E(i), (uint64_t)i);
    }
    /* the next roll writes and fdatasyncs the full segment: make it fail */
    int rc = 0;
    for (int i = 6; i <= 40 && rc == 0; i++) {
        if (wal_segment_count(w) == 1) {
            wal_test_fail_next(w, EIO);
        }
        unsigned char b[64];
        size_t n = payload(E(i), b);
        rc = wal_append(w, E(i), b, n, (uint64_t)i);
        if (wal_segment_count(w) > 1) {
            break;
        }
    }
    ck_assert_int_eq(rc, ZAB_EIO);
    ck_assert(wal_failed(w));
    ck_assert_int_eq(wal_sync(w, on_durable, &seen), ZAB_EIO);
    ck_assert_uint_eq(seen.n, 0);
}
END_TEST

START_TEST(test_open_errors)
{
    ck_assert_int_eq(wal_open(NULL, NULL, &w, errbuf, sizeof errbuf),
                     ZAB_EINVAL);
    /* a file where the directory should be */
    write_bytes(path_of("afile"), 0, "x", 1);
    ck_assert_int_eq(wal_open(path_of("afile"), NULL, &w, errbuf,
                              sizeof errbuf),
                     ZAB_EIO);
    ck_assert_ptr_null(w);
    ck_assert(errbuf[0] != '\0');
    /* a missing directory is created */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(wal_open(sub, NULL, &w, errbuf, sizeof errbuf), 0);
    append(E(1), 1);
    sync_ok();
    wal_close(w);
    w = NULL;
    rm_dir(sub);
}
END_TEST

START_TEST(test_lock)
{
    reopen();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        wal_t *other = NULL;
        int rc = wal_open(dir, NULL, &other, errbuf, sizeof errbuf);
        _exit(rc == ZAB_EIO && other == NULL &&
                      strstr(errbuf, "lock") != NULL
                  ? 0
                  : 1);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

static Suite *wal_suite(void)
{
    Suite *s = suite_create("wal");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_append_read_roll);
    tcase_add_test(tc, test_group_commit);
    tcase_add_test(tc, test_reentrant_callback);
    tcase_add_test(tc, test_truncate);
    tcase_add_test(tc, test_read_semantics);
    suite_add_tcase(s, tc);

    tc = tcase_create("recovery");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_torn_tail);
    tcase_add_test(tc, test_torn_new_segment);
    tcase_add_test(tc, test_corrupt_middle);
    tcase_add_test(tc, test_corrupt_earlier_segment);
    tcase_add_test(tc, test_missing_segment);
    suite_add_tcase(s, tc);

    tc = tcase_create("epochs_snapshots");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_epochs);
    tcase_add_test(tc, test_snapshot_write_purge);
    tcase_add_test(tc, test_snapshot_install);
    tcase_add_test(tc, test_install_crash);
    suite_add_tcase(s, tc);

    tc = tcase_create("failures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_write_failure);
    tcase_add_test(tc, test_epoch_write_failure);
    tcase_add_test(tc, test_roll_failure);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_lock);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(wal_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
