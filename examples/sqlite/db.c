/*
 * db.c -- the replicated SQLite state machine (see db.h).
 */
#include "db.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { MODE_INTERNAL = 0, MODE_READ = 1, MODE_WRITE = 2 };

struct db {
    sqlite3 *h;
    int mode;        /* what the authorizer enforces */
    int applying;    /* random() and 'now' are the replicated ones */
    uint64_t rng;    /* random()'s state while applying */
    char deny[256];  /* why the authorizer refused, "" if it did not */
    int force_write; /* a PRAGMA that may set something: not a read */
    char **allow;    /* functions allowed in writes, sorted */
    size_t nallow;
    uint64_t applied; /* zab_sqlite_meta.zxid */
    int64_t now_ms;   /* zab_sqlite_meta.now_ms, the replicated clock */
};

/* ---- the replicated clock: a VFS that is the default one except for the
 * time ---------------------------------------------------------------------- */

#define VFS_NAME "zab-sqlite"
/* Milliseconds from the Julian day epoch to 1970-01-01. */
#define UNIX_EPOCH_JD_MS INT64_C(210866760000000)

static sqlite3_vfs g_vfs;
static sqlite3_vfs *g_base;
static int g_clock_on;
static int64_t g_clock_ms;

static int vfs_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    (void)v;
    if (g_clock_on) {
        *t = g_clock_ms + UNIX_EPOCH_JD_MS;
        return SQLITE_OK;
    }
    if (g_base->iVersion >= 2 && g_base->xCurrentTimeInt64)
        return g_base->xCurrentTimeInt64(g_base, t);
    double d;
    int rc = g_base->xCurrentTime(g_base, &d);
    *t = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

static int vfs_time(sqlite3_vfs *v, double *t)
{
    sqlite3_int64 ms;
    int rc = vfs_time64(v, &ms);
    *t = (double)ms / 86400000.0;
    return rc;
}

static int vfs_init(char *err, size_t errlen)
{
    if (g_base)
        return 0;
    sqlite3_vfs *base = sqlite3_vfs_find(NULL);
    if (!base) {
        snprintf(err, errlen, "sqlite3: no default VFS");
        return -1;
    }
    /* Everything of the default VFS (its methods find their state through
     * pAppData, which is copied), except the name and the clock. */
    g_vfs = *base;
    g_vfs.zName = VFS_NAME;
    g_vfs.pNext = NULL;
    g_vfs.xCurrentTime = vfs_time;
    if (g_vfs.iVersion >= 2)
        g_vfs.xCurrentTimeInt64 = vfs_time64;
    g_base = base;
    if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) {
        g_base = NULL;
        snprintf(err, errlen, "sqlite3: cannot register the VFS");
        return -1;
    }
    /* 'localtime' and 'utc' must not depend on the node's time zone. */
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

/* ---- functions replaced for replicated writes ---------------------------- */

static uint64_t rng_next(db_t *d)
{
    /* splitmix64 */
    uint64_t z = (d->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void fn_random(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    db_t *d = sqlite3_user_data(ctx);
    uint64_t x;
    (void)argc;
    (void)argv;
    if (d->applying)
        x = rng_next(d);
    else
        sqlite3_randomness(sizeof x, &x);
    /* Any 64-bit integer but the smallest, like the built-in. */
    int64_t v = (int64_t)(x >> 1);
    sqlite3_result_int64(ctx, (x & 1) ? -v : v);
}

static void fn_randomblob(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv)
{
    db_t *d = sqlite3_user_data(ctx);
    sqlite3_int64 n = sqlite3_value_int64(argv[0]);
    (void)argc;
    if (n < 1)
        n = 1;
    if (n > sqlite3_limit(d->h, SQLITE_LIMIT_LENGTH, -1)) {
        sqlite3_result_error_toobig(ctx);
        return;
    }
    unsigned char *p = sqlite3_malloc64((sqlite3_uint64)n);
    if (!p) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (d->applying) {
        for (sqlite3_int64 i = 0; i < n; i += 8) {
            uint64_t x = rng_next(d);
            for (int k = 0; k < 8 && i + k < n; k++)
                p[i + k] = (unsigned char)(x >> (8 * k));
        }
    } else {
        sqlite3_randomness((int)n, p);
    }
    sqlite3_result_blob64(ctx, p, (sqlite3_uint64)n, sqlite3_free);
}

/* changes(), total_changes(), last_insert_rowid(): what this connection
 * did last, which differs between replicas (a restarted node, one that
 * installed a snapshot).  The authorizer refuses them in writes; these
 * replacements also catch the places it does not see. */
static int refuse_in_write(sqlite3_context *ctx, const char *name)
{
    db_t *d = sqlite3_user_data(ctx);
    if (d->mode != MODE_WRITE)
        return 0;
    char msg[160];
    snprintf(msg, sizeof msg,
             "%s() differs between replicas: refused in replicated writes",
             name);
    sqlite3_result_error(ctx, msg, -1);
    return 1;
}

static void fn_changes(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    if (!refuse_in_write(ctx, "changes"))
        sqlite3_result_int64(
            ctx, sqlite3_changes64(((db_t *)sqlite3_user_data(ctx))->h));
}

static void fn_total_changes(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    if (!refuse_in_write(ctx, "total_changes"))
        sqlite3_result_int64(ctx, sqlite3_total_changes64(
                                      ((db_t *)sqlite3_user_data(ctx))->h));
}

static void fn_last_insert_rowid(sqlite3_context *ctx, int argc,
                                 sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    if (!refuse_in_write(ctx, "last_insert_rowid"))
        sqlite3_result_int64(ctx, sqlite3_last_insert_rowid(
                                      ((db_t *)sqlite3_user_data(ctx))->h));
}

/* ---- which functions a replicated write may call -------------------------- */

/* Made deterministic here (the replicated clock and generator), or FTS
 * auxiliary functions (deterministic, but not flagged so). */
static const char *const extra_allowed[] = {
    "random",    "randomblob", "current_date", "current_time",
    "current_timestamp", "match", "matchinfo", "offsets",
    "snippet",   "highlight",  "bm25",
};
/* Never, whatever their flags say. */
static const char *const always_refused[] = {
    "changes", "total_changes", "last_insert_rowid", "load_extension",
    "fts3_tokenizer", "sqlite_version", "sqlite_source_id",
    "sqlite_compileoption_get", "sqlite_compileoption_used",
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int in_list(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], s) == 0)
            return 1;
    return 0;
}

static int fn_allowed(const db_t *d, const char *name)
{
    char low[128];
    size_t n = strlen(name);
    if (n >= sizeof low)
        return 0;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    const char *key = low;
    return bsearch(&key, d->allow, d->nallow, sizeof *d->allow, cmp_str) !=
           NULL;
}

/* Built from PRAGMA function_list: every built-in function that SQLite
 * flags SQLITE_DETERMINISTIC (for each of its argument counts), every
 * aggregate and window function (deterministic given the rows, whose
 * order the query fixes), plus extra_allowed, minus always_refused. */
static int build_allowlist(db_t *d, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    struct ent {
        char *name;
        int ok;
    } *v = NULL;
    size_t n = 0, cap = 0;
    int rc = sqlite3_prepare_v2(
        d->h, "SELECT name, type, flags FROM pragma_function_list", -1, &st,
        NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen,
                 "sqlite3 %s: PRAGMA function_list is needed (%s)",
                 sqlite3_libversion(), sqlite3_errmsg(d->h));
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        int flags = sqlite3_column_int(st, 2);
        if (!name || !type)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            struct ent *nv = realloc(v, cap * sizeof *v);
            if (!nv)
                goto nomem;
            v = nv;
        }
        v[n].name = strdup(name);
        if (!v[n].name)
            goto nomem;
        v[n].ok = type[0] == 'a' || type[0] == 'w' ||
                  (flags & SQLITE_DETERMINISTIC) != 0;
        n++;
    }
    sqlite3_finalize(st);
    st = NULL;
    size_t ne = sizeof extra_allowed / sizeof extra_allowed[0];
    d->allow = calloc(n + ne + 1, sizeof *d->allow);
    if (!d->allow)
        goto nomem;
    /* A name is allowed if every variant of it is. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n && v[i].ok; j++)
            if (!v[j].ok && strcmp(v[j].name, v[i].name) == 0)
                v[i].ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].ok ||
            in_list(always_refused,
                    sizeof always_refused / sizeof always_refused[0],
                    v[i].name) ||
            in_list((const char *const *)d->allow, d->nallow, v[i].name))
            continue;
        d->allow[d->nallow++] = v[i].name;
        v[i].name = NULL;
    }
    for (size_t i = 0; i < ne; i++) {
        if (in_list((const char *const *)d->allow, d->nallow,
                    extra_allowed[i]))
            continue;
        d->allow[d->nallow] = strdup(extra_allowed[i]);
        if (!d->allow[d->nallow])
            goto nomem;
        d->nallow++;
    }
    qsort(d->allow, d->nallow, sizeof *d->allow, cmp_str);
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    return 0;
nomem:
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ---- the authorizer ------------------------------------------------------ */

/* PRAGMAs a read may run: with no argument (the query form) ... */
static const char *const pragma_query[] = {
    "application_id", "auto_vacuum",     "cache_size",
    "collation_list", "compile_options", "data_version",
    "database_list",  "encoding",        "foreign_key_check",
    "foreign_key_list", "foreign_keys",  "freelist_count",
    "function_list",  "index_info",      "index_list",
    "index_xinfo",    "integrity_check", "journal_mode",
    "max_page_count", "module_list",     "page_count",
    "page_size",      "pragma_list",     "quick_check",
    "schema_version", "synchronous",     "table_info",
    "table_list",     "table_xinfo",     "user_version",
};
/* ... and with an argument that names something (or is a limit). */
static const char *const pragma_named[] = {
    "foreign_key_check", "foreign_key_list", "index_info",
    "index_list",        "index_xinfo",      "integrity_check",
    "quick_check",       "table_info",       "table_list",
    "table_xinfo",
};
/* A write may set these: they live in the database file's header. */
static const char *const pragma_settable[] = { "user_version",
                                               "application_id" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Refuses, keeping the first reason: `pre` `name` `post`. */
static int deny3(db_t *d, const char *pre, const char *name,
                 const char *post)
{
    if (d->deny[0] == '\0')
        snprintf(d->deny, sizeof d->deny, "%s%s%s", pre, name ? name : "",
                 post);
    return SQLITE_DENY;
}

static int deny(db_t *d, const char *msg)
{
    return deny3(d, msg, NULL, "");
}

static int is_meta(const char *table)
{
    return table && strcasecmp(table, DB_META_TABLE) == 0;
}

static int authorize(void *ud, int action, const char *a1, const char *a2,
                     const char *dbname, const char *trigger)
{
    db_t *d = ud;
    (void)trigger;
    if (d->mode == MODE_INTERNAL)
        return SQLITE_OK;
    int write = d->mode == MODE_WRITE;
    switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
        return deny(d, "explicit transactions (BEGIN, COMMIT, SAVEPOINT...) "
                       "are refused: every request is one transaction");
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
        return deny(d, "ATTACH and DETACH are refused: other database files "
                       "are not replicated");
    case SQLITE_PRAGMA: {
        int temp = dbname && strcasecmp(dbname, "temp") == 0;
        int query = a2 == NULL && in_list(pragma_query, NELEM(pragma_query),
                                          a1);
        int named = a2 != NULL && in_list(pragma_named, NELEM(pragma_named),
                                          a1);
        if (query || named)
            return SQLITE_OK;
        if (!write) {
            /* It may set something: handled (refused or replicated) as a
             * write. */
            d->force_write = 1;
            return SQLITE_OK;
        }
        if (!temp && in_list(pragma_settable, NELEM(pragma_settable), a1))
            return SQLITE_OK;
        return deny3(d, "PRAGMA ", a1,
                     " is refused in replicated writes (only user_version "
                     "and application_id may be set)");
    }
    case SQLITE_FUNCTION:
        if (write && !fn_allowed(d, a2))
            return deny3(d, "non-deterministic function ", a2,
                         "() is refused in replicated writes");
        return SQLITE_OK;
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
        return deny(d, "temporary tables, views and triggers are refused: "
                       "they belong to one connection and are not "
                       "replicated");
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_DROP_TABLE:
        if (write && is_meta(a1))
            return deny(d, DB_META_TABLE " is maintained by zab-sqlite");
        if (write && dbname && strcasecmp(dbname, "temp") == 0)
            return deny(d, "writes to the temp database are refused");
        return SQLITE_OK;
    case SQLITE_ALTER_TABLE:
    case SQLITE_CREATE_TRIGGER:
        if (write && is_meta(a2))
            return deny(d, DB_META_TABLE " is maintained by zab-sqlite");
        return SQLITE_OK;
    default:
        return SQLITE_OK;
    }
}

/* ---- helpers --------------------------------------------------------------- */

static void result_init(db_result_t *r)
{
    r->status = DB_OK;
    r->changes = 0;
    r->msg[0] = '\0';
}

/* status, and the message `a` `b`. */
static int set_result(db_result_t *r, int status, const char *a,
                      const char *b)
{
    r->status = status;
    snprintf(r->msg, sizeof r->msg, "%s%s", a ? a : "", b ? b : "");
    return status;
}

/* The outcome of a failed prepare or step. */
static int stmt_failed(db_t *d, db_result_t *r)
{
    if (d->deny[0] != '\0')
        return set_result(r, DB_REFUSED, "refused: ", d->deny);
    return set_result(r, DB_ERROR, sqlite3_errmsg(d->h), NULL);
}

static int prep(db_t *d, const char *p, sqlite3_stmt **st, const char **tail)
{
    d->deny[0] = '\0';
    d->force_write = 0;
    *st = NULL;
    return sqlite3_prepare_v2(d->h, p, -1, st, tail);
}

static int exec_internal(db_t *d, const char *sql)
{
    int mode = d->mode;
    d->mode = MODE_INTERNAL;
    int rc = sqlite3_exec(d->h, sql, NULL, NULL, NULL);
    d->mode = mode;
    return rc;
}

/* Errors that every replica meets identically given the same state and
 * request.  Everything else (I/O, full disk, memory, locks, corruption)
 * is this node's problem. */
static int deterministic_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_ERROR:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_AUTH:
    case SQLITE_FORMAT:
    case SQLITE_SCHEMA:
        return 1;
    default:
        return 0;
    }
}

static int load_meta(db_t *d, sqlite3 *h, uint64_t *zxid, int64_t *now)
{
    sqlite3_stmt *st;
    int mode = d->mode;
    d->mode = MODE_INTERNAL;
    int rc = sqlite3_prepare_v2(
        h, "SELECT zxid, now_ms FROM " DB_META_TABLE " WHERE id = 1", -1, &st,
        NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *zxid = (uint64_t)sqlite3_column_int64(st, 0);
            *now = sqlite3_column_int64(st, 1);
            rc = SQLITE_OK;
        } else {
            rc = SQLITE_CORRUPT;
        }
        sqlite3_finalize(st);
    }
    d->mode = mode;
    return rc;
}

/* ---- open / close ---------------------------------------------------------- */

int db_open(const char *path, int sync_full, db_t **out, char *err,
            size_t errlen)
{
    *out = NULL;
    if (vfs_init(err, errlen) != 0)
        return -1;
    db_t *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = sqlite3_open_v2(path, &d->h,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_NOMUTEX,
                             VFS_NAME);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path,
                 d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(d->h, 1);
    sqlite3_busy_timeout(d->h, 10000);
    sqlite3_db_config(d->h, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(d->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
                      (int *)NULL);
    char setup[512];
    snprintf(setup, sizeof setup,
             "PRAGMA journal_mode = WAL;"
             "PRAGMA synchronous = %s;"
             "PRAGMA foreign_keys = ON;"
             "CREATE TABLE IF NOT EXISTS " DB_META_TABLE
             " (id INTEGER PRIMARY KEY CHECK (id = 1),"
             "  zxid INTEGER NOT NULL, now_ms INTEGER NOT NULL);"
             "INSERT OR IGNORE INTO " DB_META_TABLE " VALUES (1, 0, 0);",
             sync_full ? "FULL" : "NORMAL");
    char *msg = NULL;
    rc = sqlite3_exec(d->h, setup, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        goto fail;
    }
    if (build_allowlist(d, err, errlen) != 0)
        goto fail;
    /* Registered after the allowlist was read, so they replace the
     * built-ins (application-defined functions take precedence). */
    struct {
        const char *name;
        int narg;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {
        { "random", 0, fn_random },
        { "randomblob", 1, fn_randomblob },
        { "changes", 0, fn_changes },
        { "total_changes", 0, fn_total_changes },
        { "last_insert_rowid", 0, fn_last_insert_rowid },
    };
    for (size_t i = 0; i < NELEM(fns); i++) {
        rc = sqlite3_create_function_v2(d->h, fns[i].name, fns[i].narg,
                                        SQLITE_UTF8, d, fns[i].fn, NULL,
                                        NULL, NULL);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "cannot register %s(): %s", fns[i].name,
                     sqlite3_errmsg(d->h));
            goto fail;
        }
    }
    sqlite3_set_authorizer(d->h, authorize, d);
    if (load_meta(d, d->h, &d->applied, &d->now_ms) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot read %s: %s", path, DB_META_TABLE,
                 sqlite3_errmsg(d->h));
        goto fail;
    }
    *out = d;
    return 0;
fail:
    db_close(d);
    return -1;
}

void db_close(db_t *d)
{
    if (!d)
        return;
    if (d->h)
        sqlite3_close(d->h);
    for (size_t i = 0; i < d->nallow; i++)
        free(d->allow[i]);
    free(d->allow);
    free(d);
}

sqlite3 *db_handle(db_t *d)
{
    return d->h;
}

uint64_t db_applied_zxid(const db_t *d)
{
    return d->applied;
}

/* ---- requests -------------------------------------------------------------- */

int db_run_local(db_t *d, const char *sql, db_row_fn row, void *ud,
                 db_result_t *r)
{
    sqlite3_stmt **v = NULL;
    size_t n = 0, cap = 0;
    const char *p = sql;
    result_init(r);
    d->mode = MODE_READ;
    /* Compile everything first: a request is a read only if all of it is
     * (and read-only statements cannot change what the next one means). */
    while (*p) {
        sqlite3_stmt *st;
        const char *tail;
        int rc = prep(d, p, &st, &tail);
        if (rc != SQLITE_OK) {
            stmt_failed(d, r);
            break;
        }
        p = tail;
        if (!st)
            continue;
        if (!sqlite3_stmt_readonly(st) || d->force_write) {
            sqlite3_finalize(st);
            r->status = DB_WRITE;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            sqlite3_stmt **nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                sqlite3_finalize(st);
                set_result(r, DB_ERROR, "out of memory", NULL);
                break;
            }
            v = nv;
        }
        v[n++] = st;
    }
    for (size_t i = 0; i < n && r->status == DB_OK; i++) {
        int rc;
        d->deny[0] = '\0';
        while ((rc = sqlite3_step(v[i])) == SQLITE_ROW)
            if (row)
                row(ud, v[i]);
        if (rc != SQLITE_DONE)
            stmt_failed(d, r);
    }
    for (size_t i = 0; i < n; i++)
        sqlite3_finalize(v[i]);
    free(v);
    d->mode = MODE_INTERNAL;
    return r->status;
}

int db_check_write(db_t *d, const char *sql, db_result_t *r)
{
    const char *p = sql;
    int seen_write = 0;
    result_init(r);
    d->mode = MODE_WRITE;
    while (*p) {
        sqlite3_stmt *st;
        const char *tail;
        int rc = prep(d, p, &st, &tail);
        if (rc != SQLITE_OK) {
            /* A statement after a write may depend on it (a table created
             * earlier in the request): only delivery can tell. */
            if (d->deny[0] != '\0' || !seen_write)
                stmt_failed(d, r);
            break;
        }
        p = tail;
        if (!st)
            continue;
        if (!sqlite3_stmt_readonly(st))
            seen_write = 1;
        sqlite3_finalize(st);
    }
    d->mode = MODE_INTERNAL;
    return r->status;
}

static int fatal(db_t *d, db_result_t *r, const char *what)
{
    snprintf(r->msg, sizeof r->msg, "%s: %s", what, sqlite3_errmsg(d->h));
    r->status = DB_FATAL;
    if (!sqlite3_get_autocommit(d->h))
        exec_internal(d, "ROLLBACK");
    d->applying = 0;
    g_clock_on = 0;
    d->mode = MODE_INTERNAL;
    return DB_FATAL;
}

int db_apply(db_t *d, uint64_t zxid, int64_t time_ms, const char *sql,
             size_t len, db_row_fn row, void *ud, db_result_t *r)
{
    result_init(r);
    if (zxid <= d->applied)
        return r->status = DB_SKIPPED;
    char *text = malloc(len + 1);
    if (!text) {
        snprintf(r->msg, sizeof r->msg, "out of memory");
        return r->status = DB_FATAL;
    }
    memcpy(text, sql, len);
    text[len] = '\0';
    /* The replicated clock never goes back, whatever the issuers' clocks
     * say; the generator is seeded with the zxid. */
    int64_t now = time_ms > d->now_ms ? time_ms : d->now_ms;
    g_clock_ms = now;
    g_clock_on = 1;
    d->rng = zxid ^ UINT64_C(0x5a41425f53514c21);
    d->applying = 1;

    if (exec_internal(d, "BEGIN IMMEDIATE") != SQLITE_OK ||
        exec_internal(d, "SAVEPOINT zab_request") != SQLITE_OK) {
        free(text);
        return fatal(d, r, "cannot begin a transaction");
    }
    sqlite3_int64 before = sqlite3_total_changes64(d->h);
    const char *p = text;
    int rc = SQLITE_OK;
    d->mode = MODE_WRITE;
    while (*p) {
        sqlite3_stmt *st;
        const char *tail;
        rc = prep(d, p, &st, &tail);
        if (rc != SQLITE_OK)
            break;
        p = tail;
        if (!st)
            continue;
        d->deny[0] = '\0';
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (row)
                row(ud, st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        else
            rc = sqlite3_errcode(d->h);
        if (rc != SQLITE_OK) {
            stmt_failed(d, r);
            sqlite3_finalize(st);
            break;
        }
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_OK && r->status == DB_OK)
        stmt_failed(d, r);
    d->mode = MODE_INTERNAL;
    free(text);

    if (rc != SQLITE_OK) {
        if (!deterministic_error(rc))
            return fatal(d, r, "applying");
        /* Undo the whole request; the zxid is still consumed. */
        if (!sqlite3_get_autocommit(d->h)) {
            if (exec_internal(d, "ROLLBACK TO zab_request") != SQLITE_OK ||
                exec_internal(d, "RELEASE zab_request") != SQLITE_OK)
                return fatal(d, r, "cannot roll back");
        } else if (exec_internal(d, "BEGIN IMMEDIATE") != SQLITE_OK) {
            /* (INSERT OR ROLLBACK and RAISE(ROLLBACK) end the transaction) */
            return fatal(d, r, "cannot begin a transaction");
        }
        r->changes = 0;
    } else {
        r->changes = sqlite3_total_changes64(d->h) - before;
        if (exec_internal(d, "RELEASE zab_request") != SQLITE_OK)
            return fatal(d, r, "cannot release the savepoint");
    }

    sqlite3_stmt *st;
    rc = sqlite3_prepare_v2(d->h,
                            "UPDATE " DB_META_TABLE
                            " SET zxid = ?1, now_ms = ?2 WHERE id = 1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)zxid);
        sqlite3_bind_int64(st, 2, now);
        rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(d->h) == 1
                 ? SQLITE_OK
                 : SQLITE_ERROR;
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_OK)
        return fatal(d, r, "cannot update " DB_META_TABLE);
    if (exec_internal(d, "COMMIT") != SQLITE_OK)
        return fatal(d, r, "cannot commit");
    d->applied = zxid;
    d->now_ms = now;
    d->applying = 0;
    g_clock_on = 0;
    return r->status;
}

/* ---- snapshots ------------------------------------------------------------- */

void db_free_buf(void *buf)
{
    sqlite3_free(buf);
}

int db_snapshot(db_t *d, void **buf, size_t *len, uint64_t *zxid, char *err,
                size_t errlen)
{
    sqlite3 *m = NULL;
    *buf = NULL;
    *len = 0;
    int rc = sqlite3_open(":memory:", &m);
    if (rc == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(m, "main", d->h, "main");
        if (!b) {
            rc = sqlite3_errcode(m);
        } else {
            rc = sqlite3_backup_step(b, -1);
            int frc = sqlite3_backup_finish(b);
            rc = rc == SQLITE_DONE ? frc : rc;
        }
    }
    if (rc == SQLITE_OK) {
        sqlite3_int64 sz = 0;
        unsigned char *p = sqlite3_serialize(m, "main", &sz, 0);
        if (!p) {
            rc = SQLITE_NOMEM;
        } else {
            *buf = p;
            *len = (size_t)sz;
            *zxid = d->applied;
        }
    }
    if (rc != SQLITE_OK)
        snprintf(err, errlen, "snapshot: %s",
                 m ? sqlite3_errmsg(m) : sqlite3_errstr(rc));
    sqlite3_close(m);
    return rc == SQLITE_OK ? 0 : -1;
}

int db_restore(db_t *d, void *buf, size_t len, uint64_t zxid, char *err,
               size_t errlen)
{
    unsigned char *b = buf;
    sqlite3 *m = NULL;
    uint64_t at = 0;
    int64_t now = 0;
    if (len < 512 || memcmp(b, "SQLite format 3", 16) != 0) {
        snprintf(err, errlen, "the snapshot is not an SQLite database");
        return -1;
    }
    /* A copy of a WAL-mode file says so in its header (bytes 18-19 = 2),
     * which an in-memory database cannot open: say rollback journal. */
    b[18] = 1;
    b[19] = 1;
    int rc = sqlite3_open(":memory:", &m);
    if (rc == SQLITE_OK)
        rc = sqlite3_deserialize(m, "main", b, (sqlite3_int64)len,
                                 (sqlite3_int64)len,
                                 SQLITE_DESERIALIZE_READONLY);
    if (rc == SQLITE_OK) {
        rc = load_meta(d, m, &at, &now);
        if (rc == SQLITE_OK && zxid != 0 && at != zxid) {
            snprintf(err, errlen,
                     "the snapshot labelled %016llx holds zxid %016llx",
                     (unsigned long long)zxid, (unsigned long long)at);
            sqlite3_close(m);
            return -1;
        }
    }
    if (rc == SQLITE_OK) {
        sqlite3_stmt *st;
        rc = sqlite3_prepare_v2(m, "PRAGMA quick_check", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            const char *ok;
            rc = sqlite3_step(st) == SQLITE_ROW &&
                         (ok = (const char *)sqlite3_column_text(st, 0)) &&
                         strcmp(ok, "ok") == 0
                     ? SQLITE_OK
                     : SQLITE_CORRUPT;
            sqlite3_finalize(st);
        }
    }
    if (rc == SQLITE_OK) {
        int mode = d->mode;
        d->mode = MODE_INTERNAL;
        sqlite3_backup *bk = sqlite3_backup_init(d->h, "main", m, "main");
        if (!bk) {
            rc = sqlite3_errcode(d->h);
        } else {
            rc = sqlite3_backup_step(bk, -1);
            int frc = sqlite3_backup_finish(bk);
            rc = rc == SQLITE_DONE ? frc : rc;
        }
        d->mode = mode;
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "restore: %s", sqlite3_errmsg(d->h));
            sqlite3_close(m);
            return -1;
        }
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "the snapshot is not usable: %s",
                 m ? sqlite3_errmsg(m) : sqlite3_errstr(rc));
        sqlite3_close(m);
        return -1;
    }
    sqlite3_close(m);
    if (load_meta(d, d->h, &d->applied, &d->now_ms) != SQLITE_OK) {
        snprintf(err, errlen, "restore: cannot read %s", DB_META_TABLE);
        return -1;
    }
    return 0;
}

/* ---- payload ---------------------------------------------------------------- */

#define ZCMD_HDR 36

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

int zcmd_encode(const zcmd_t *c, uint8_t **out, size_t *len)
{
    if (c->sql_len > UINT32_MAX)
        return -1;
    uint8_t *p = malloc(ZCMD_HDR + c->sql_len);
    if (!p)
        return -1;
    p[0] = 'Q';
    p[1] = 1;
    p[2] = (uint8_t)c->kind;
    p[3] = 0;
    put32(p + 4, c->origin);
    put64(p + 8, c->incarnation);
    put64(p + 16, c->seq);
    put64(p + 24, (uint64_t)c->time_ms);
    put32(p + 32, (uint32_t)c->sql_len);
    if (c->sql_len)
        memcpy(p + ZCMD_HDR, c->sql, c->sql_len);
    *out = p;
    *len = ZCMD_HDR + c->sql_len;
    return 0;
}

int zcmd_decode(const void *buf, size_t len, zcmd_t *c)
{
    const uint8_t *p = buf;
    if (len < ZCMD_HDR || p[0] != 'Q' || p[1] != 1 ||
        (p[2] != ZCMD_SQL && p[2] != ZCMD_FENCE) ||
        get32(p + 32) != len - ZCMD_HDR)
        return -1;
    c->kind = p[2];
    c->origin = get32(p + 4);
    c->incarnation = get64(p + 8);
    c->seq = get64(p + 16);
    c->time_ms = (int64_t)get64(p + 24);
    c->sql = (const char *)p + ZCMD_HDR;
    c->sql_len = len - ZCMD_HDR;
    if (memchr(c->sql, '\0', c->sql_len))
        return -1;
    return 0;
}
