/*
 * db.h -- zab-sqlite's replicated state machine: one SQLite database file,
 * the rules that keep every replica identical, and the payload that
 * travels through libzab.
 *
 * The database holds, besides the user's tables, one row in
 * zab_sqlite_meta: the zxid of the last transaction applied and the
 * replicated clock.  db_apply() changes both in the same SQLite
 * transaction as the user's statements, so that after any crash the file
 * says exactly which transactions it reflects (libzab's delivered_zxid)
 * and applying is idempotent.
 *
 * Determinism (details in README.md):
 *   - Reads (every statement of the request read-only) run locally.
 *   - Writes are executed by every replica at delivery with:
 *       'now' (datetime('now'), CURRENT_TIMESTAMP, julianday('now'), ...)
 *         = the issuer's clock carried in the payload, made monotonic
 *         (a VFS whose xCurrentTime returns it); TZ is UTC;
 *       random(), randomblob() = a generator seeded with the zxid;
 *     and an authorizer that refuses what still differs between
 *     replicas: functions not flagged SQLITE_DETERMINISTIC (changes(),
 *     last_insert_rowid(), sqlite_version(), ...), explicit transactions,
 *     ATTACH/DETACH, PRAGMAs (except user_version and application_id),
 *     temporary objects, and writes to zab_sqlite_meta.
 *   - A deterministic error (constraint, syntax, refusal) rolls the whole
 *     request back on every replica and is reported to the issuer; a local
 *     failure (I/O, disk full, out of memory) is DB_FATAL: the node must
 *     stop, and replays the transaction when it restarts.
 *
 * Not thread-safe; one db_t per process is the intended use (the clock
 * override is process-wide).
 */
#ifndef ZSQL_DB_H
#define ZSQL_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define DB_META_TABLE "zab_sqlite_meta"

typedef struct db db_t;

enum db_status {
    DB_OK = 0,       /* done */
    DB_ERROR = 1,    /* the request failed (deterministically); msg says why */
    DB_REFUSED = 2,  /* refused by the replication rules; msg says why */
    DB_WRITE = 3,    /* db_run_local: not a read, replicate it */
    DB_SKIPPED = 4,  /* db_apply: zxid already applied */
    DB_FATAL = 5     /* local failure: stop the node; msg says why */
};

typedef struct db_result {
    int status;
    int64_t changes; /* rows inserted, updated or deleted by the request */
    char msg[512];
} db_result_t;

/* Called for every result row (of a read, or of a write's SELECT or
 * RETURNING when the caller wants them). */
typedef void (*db_row_fn)(void *ud, sqlite3_stmt *st);

/* Opens (creating) the database, in WAL mode with synchronous NORMAL (or
 * FULL), and the meta row.  ":memory:" works (for --local).  0 or -1 with
 * a message. */
int db_open(const char *path, int sync_full, db_t **out, char *err,
            size_t errlen);
void db_close(db_t *d);
sqlite3 *db_handle(db_t *d);

/* The zxid of the last transaction applied (0 for a new database). */
uint64_t db_applied_zxid(const db_t *d);

/* A request from an issuer.  If every statement is a read, runs it
 * (rows to `row`) and returns DB_OK; DB_WRITE if it must be replicated
 * (nothing was executed); DB_ERROR or DB_REFUSED with a message. */
int db_run_local(db_t *d, const char *sql, db_row_fn row, void *ud,
                 db_result_t *r);

/* Checks a write before it is proposed: DB_OK, or DB_REFUSED / DB_ERROR
 * when it can already be known that every replica would refuse or fail it
 * (statements after a schema change are checked again at delivery). */
int db_check_write(db_t *d, const char *sql, db_result_t *r);

/* Applies replicated transaction `zxid`: `sql` (len bytes, may be empty
 * for a no-op) as one SQLite transaction together with the meta row.
 * `time_ms` is the issuer's clock (ms since 1970).  Returns DB_OK,
 * DB_ERROR (rolled back, the zxid is still consumed), DB_SKIPPED or
 * DB_FATAL.  Rows go to `row` if not NULL. */
int db_apply(db_t *d, uint64_t zxid, int64_t time_ms, const char *sql,
             size_t len, db_row_fn row, void *ud, db_result_t *r);

/* A consistent copy of the database file (SQLite's backup API into
 * memory, serialised), as of *zxid.  Free *buf with db_free_buf(). */
int db_snapshot(db_t *d, void **buf, size_t *len, uint64_t *zxid, char *err,
                size_t errlen);
void db_free_buf(void *buf);

/* Replaces the database's content with a copy made by db_snapshot (the
 * buffer is modified).  The copy's meta row must say `zxid` (0: any).  0
 * or -1 with a message. */
int db_restore(db_t *d, void *buf, size_t len, uint64_t zxid, char *err,
               size_t errlen);

/* ---- the payload replicated through libzab ------------------------------
 *
 *   u8 'Q', u8 version 1, u8 kind, u8 0
 *   u32 origin        node that took the request
 *   u64 incarnation   the origin process's run id
 *   u64 seq           the origin's proposal number in that run
 *   i64 time_ms       the origin's clock when proposing (ms since 1970)
 *   u32 len, then the SQL text (UTF-8, no NUL)
 * all big-endian. */

enum { ZCMD_SQL = 1, ZCMD_FENCE = 2 };

typedef struct zcmd {
    int kind;
    uint32_t origin;
    uint64_t incarnation;
    uint64_t seq;
    int64_t time_ms;
    const char *sql; /* borrowed (encode) / into the input (decode) */
    size_t sql_len;
} zcmd_t;

/* A malloc'd encoding.  0 or -1 (out of memory). */
int zcmd_encode(const zcmd_t *c, uint8_t **out, size_t *len);
/* 0, or -1 if malformed. */
int zcmd_decode(const void *buf, size_t len, zcmd_t *c);

#endif
