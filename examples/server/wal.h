/*
 * wal.h -- zabd's durable storage: the transaction log (with group commit),
 * the epoch file and on-disk snapshots, shaped after libzab's host
 * contract for storage (zab.h: log_append, log_truncate, log_read,
 * save_epochs, snapshot_put, write tokens and zab_persisted).
 *
 * It plays the part of ZooKeeper's FileTxnLog (the log segments),
 * FileSnap/FileTxnSnapLog (snapshots, restore, purge) and the
 * acceptedEpoch/currentEpoch files of QuorumPeer.
 *
 * One wal_t owns one data directory.  It keeps no global state, starts no
 * thread and never aborts; it is not thread-safe (one thread drives it, the
 * host's event loop).  Every function that can fail returns 0 or a
 * negative ZAB_E* code (or WAL_ECORRUPT); on an I/O failure the message
 * with the path and errno is in wal_error().
 *
 * Write streams and group commit.  wal_append, wal_truncate and the last
 * chunk of wal_snapshot_put belong to the log stream; wal_save_epochs to
 * the epoch stream.  Each takes libzab's write token.  An append is only
 * buffered in memory (and visible to wal_read at once); wal_sync(), which
 * the host calls once per event-loop turn, writes the buffer, fdatasyncs
 * every segment written since the last sync, fsyncs the directory if files
 * were created, renamed or deleted, writes the newest epoch pair if one is
 * pending, and then reports every token made durable, in the order they
 * were issued, through the host's callback (which calls zab_persisted).
 * A truncation or snapshot install does its file work (and the fsyncs
 * that keep a crash from mixing old and new bytes) at once, but its token
 * is also reported by the next wal_sync, after everything issued before
 * it.  wal_sync is split internally into collect / perform / report so
 * that a sync thread or io_uring can later run the middle part.
 *
 * Failure.  A write, fsync, rename or unlink that fails puts the wal_t in
 * the failed state: the pending tokens are reported with ZAB_EIO, every
 * later write call returns ZAB_EIO, and nothing is ever reported durable
 * again.  The host should then stop the node and restart from disk.
 *
 * On-disk format (all integers little-endian; CRC is CRC32C, Castagnoli):
 *
 *   log.<16 hex digits>   a log segment, named after the zxid of its first
 *                         record.  16-byte header: "ZABDLOG1", u64 prev
 *                         (the zxid of the entry just before this segment's
 *                         first one; for the oldest segment it is where
 *                         the log starts: entries at or below it were
 *                         compacted into a snapshot).  Then records, each
 *                         a 24-byte header -- u32 magic 0x5a524543, u32
 *                         payload length, u64 zxid, u32 CRC32C of (the
 *                         first 16 header bytes and the payload), u32 zero
 *                         -- and the payload.  zxids increase strictly.
 *                         A segment is rolled once it exceeds
 *                         segment_bytes; the old one is fdatasync'd first,
 *                         so only the newest segment can have a torn tail.
 *   snapshot.<16 hex>     a snapshot as of that zxid.  32-byte header:
 *                         "ZABDSNP1", u64 zxid, u64 length, u32 CRC32C of
 *                         the payload, u32 CRC32C of the first 28 header
 *                         bytes; then the payload (the host's format).
 *   epochs                u32 magic 0x4550434b, u32 version 1,
 *                         u32 acceptedEpoch, u32 currentEpoch, u32 CRC32C
 *                         of the first 16 bytes.  Replaced atomically
 *                         (epochs.tmp, fsync, rename, fsync directory).
 *   *.tmp                 unfinished temporary files (epochs.tmp,
 *                         snapshot.<zxid>.tmp, snapshot.<zxid>.recv.tmp for
 *                         a snapshot being received); deleted on open.
 *   LOCK                  empty; a POSIX write lock on it, held while the
 *                         wal_t is open, keeps a second process out.
 *
 * Recovery (wal_open).  Every record of every segment is checked.  A bad
 * record (bad magic or CRC, impossible length, zxid not above the one
 * before, cut short by the end of the file) with nothing valid after it
 * is a torn tail: the file is cut back to the last good record and
 * fsync'd.  A bad record followed by a valid one (a later record in the
 * same segment or any record in a later segment) is corruption in the
 * middle of the log: wal_open refuses with WAL_ECORRUPT and names the file
 * and offset, unless wal_options_t.repair is set, in which case everything
 * from the bad record on is dropped.  (Limitation: a crash may leave the
 * last, never-synced batch with a lost page followed by a surviving one;
 * that looks like middle corruption and needs repair = 1.)
 * If the newest valid snapshot is newer than the whole log (a crash in the
 * middle of a snapshot install: renamed, old log not yet deleted), the log
 * is reset to start after it.
 */
#ifndef ZABD_WAL_H
#define ZABD_WAL_H

#include <stddef.h>
#include <stdint.h>

#include <zab.h>

/* Corruption found on open: a bad record in the middle of the log, a
 * corrupt epoch file, a gap between segments, or a log that starts after
 * every valid snapshot.  wal_error()/the open error buffer say where. */
#define WAL_ECORRUPT (-100)

typedef struct wal wal_t;

typedef struct wal_options {
    /* Roll to a new segment once the current one holds this many bytes.
     * 0 = 64 MiB. */
    uint64_t segment_bytes;
    /* Largest payload accepted by wal_append (and believed on recovery).
     * 0 = 64 MiB. */
    uint32_t max_record_bytes;
    /* Bytes of recently written records kept in memory so that wal_read
     * serves them without a file read.  0 = 4 MiB. */
    size_t cache_bytes;
    /* Drop everything from the first bad record on instead of refusing to
     * open when a record in the middle of the log is corrupt. */
    int repair;
} wal_options_t;

/* The host's callback for durable writes: `status` is 0 (durable) or
 * ZAB_EIO (the write failed); pass both to zab_persisted(). */
typedef void (*wal_durable_fn)(void *ud, uint64_t token, int status);

/* Opens (creating it if missing) the data directory `dir` and recovers:
 * epochs, the newest valid snapshot, the log (see "Recovery" above).
 * `opt` may be NULL for the defaults.  On failure *out is NULL and a
 * message is written to errbuf (if not NULL; errlen bytes including the
 * NUL).  Returns 0, ZAB_EIO (also when another process holds the
 * directory's lock), WAL_ECORRUPT, ZAB_ENOMEM or ZAB_EINVAL. */
int wal_open(const char *dir, const wal_options_t *opt, wal_t **out,
             char *errbuf, size_t errlen);

/* Closes the files and frees; NULL allowed.  Buffered appends that
 * wal_sync has not written are lost (as in a crash); call wal_sync first
 * for a clean stop. */
void wal_close(wal_t *w);

/* The last error message ("" if none).  Owned by w. */
const char *wal_error(const wal_t *w);

/* 1 once a write failed (see "Failure"), else 0. */
int wal_failed(const wal_t *w);

/* What zab_start() needs after wal_open: the durable epochs, the last
 * durable zxid (of the log's last entry, or the snapshot/log start if the
 * log is empty) and the delivered zxid, which is the newest snapshot's
 * zxid (the host's state after loading that snapshot; a host that keeps
 * its state elsewhere passes its own).  Any pointer may be NULL. */
void wal_start_state(const wal_t *w, uint32_t *accepted_epoch,
                     uint32_t *current_epoch, uint64_t *last_zxid,
                     uint64_t *delivered_zxid);

/* The zxid of the last entry issued (durable or not), or the log start if
 * the log is empty. */
uint64_t wal_last_zxid(const wal_t *w);
/* The last zxid made durable by wal_sync (or found on open). */
uint64_t wal_durable_zxid(const wal_t *w);
/* Entries at or below this zxid were compacted away (0: never). */
uint64_t wal_log_start(const wal_t *w);
/* Number of log segment files. */
size_t wal_segment_count(const wal_t *w);

/* ---- log stream --------------------------------------------------------- */

/* log_append: buffers entry `zxid` (greater than every zxid in the log;
 * else ZAB_EINVAL).  `data` is copied.  ZAB_E2BIG above max_record_bytes,
 * ZAB_EIO when failed (or when rolling a segment fails, which fails w). */
int wal_append(wal_t *w, uint64_t zxid, const void *data, size_t len,
               uint64_t token);

/* log_truncate: removes every entry with a zxid greater than `zxid`:
 * deletes the later segments (newest first), fsyncs the directory, cuts
 * the segment holding `zxid` after it and fsyncs it, all before
 * returning.  `token` is reported by the next wal_sync.  Truncating below
 * the log start empties the log. */
int wal_truncate(wal_t *w, uint64_t zxid, uint64_t token);

/* log_read: the first entry with a zxid greater than `after`, durable or
 * not.  ZAB_ENOENT if there is none, ZAB_ERANGE if `after` is below the
 * log start (those entries were compacted), ZAB_EIO if the file read
 * fails or the record's checksum does not match.  *data points into a
 * buffer owned by w, valid until the next call on w. */
int wal_read(wal_t *w, uint64_t after, uint64_t *zxid, const void **data,
             size_t *len);

/* ---- epoch stream ------------------------------------------------------- */

/* save_epochs: records the pair (current <= accepted, else ZAB_EINVAL);
 * the next wal_sync writes the newest pending pair atomically and reports
 * every epoch token issued before it.  ZAB_EIO when failed. */
int wal_save_epochs(wal_t *w, uint32_t accepted_epoch, uint32_t current_epoch,
                    uint64_t token);

/* The epochs last issued (durable or pending). */
void wal_epochs(const wal_t *w, uint32_t *accepted_epoch,
                uint32_t *current_epoch);

/* ---- group commit ------------------------------------------------------- */

/* 1 if wal_sync has anything to do (buffered bytes, unsynced files or
 * unreported tokens). */
int wal_sync_pending(const wal_t *w);

/* Makes everything issued durable and reports every pending token through
 * `cb` (may be NULL) in issue order, each with status 0; on failure the
 * pending tokens are reported with ZAB_EIO, w enters the failed state and
 * ZAB_EIO is returned.  Returns ZAB_EIO at once (reporting nothing) when
 * already failed, ZAB_ENOMEM if the token list cannot grow. */
int wal_sync(wal_t *w, wal_durable_fn cb, void *ud);

/* ---- snapshots ---------------------------------------------------------- */

/* Writes a snapshot of the host's state as of the delivered zxid `zxid`
 * (the log must already be durable up to it): snapshot.<zxid>.tmp, fsync,
 * rename, fsync directory, synchronously.  `data` is borrowed.  Not a
 * log-stream write: no token.  An I/O failure returns ZAB_EIO but does not
 * fail w (the log is untouched). */
int wal_snapshot_write(wal_t *w, uint64_t zxid, const void *data,
                       size_t len);

/* Takes note of snapshot.<zxid> written by another process (zabd writes
 * its snapshots from a forked child, with wal_snapshot_write on the
 * child's copy of w): it becomes the newest snapshot if it is newer.
 * ZAB_EIO if the file is not there. */
int wal_snapshot_adopt(wal_t *w, uint64_t zxid);

/* The zxid of the newest valid snapshot (0 if none). */
uint64_t wal_snapshot_zxid(const wal_t *w);

/* Reads the newest valid snapshot into a malloc()ed buffer that the caller
 * frees (NULL when len is 0).  ZAB_ENOENT if there is none, WAL_ECORRUPT
 * if its checksum no longer matches, ZAB_EIO, ZAB_ENOMEM. */
int wal_snapshot_load(wal_t *w, uint64_t *zxid, void **data, size_t *len);

/* snapshot_put: one chunk of the snapshot `zxid`, `total` bytes, at
 * `offset`, in order (offset 0 starts it, abandoning any other one in
 * progress; a chunk out of order is ZAB_EINVAL).  Chunks accumulate in
 * snapshot.<zxid>.recv.tmp.  The last chunk (offset + len == total; `token`
 * non-zero) fsyncs and renames it, then resets the log so that it starts
 * after `zxid` (buffered appends are dropped, every segment deleted,
 * directory fsync'd), before returning; the token is reported by the next
 * wal_sync.  The host then loads the new state with wal_snapshot_load.
 * An I/O failure fails w. */
int wal_snapshot_put(wal_t *w, uint64_t zxid, uint64_t offset,
                     uint64_t total, const void *chunk, size_t len,
                     uint64_t token);

/* autopurge: keeps the newest `retain` (>= 1, else ZAB_EINVAL) snapshots,
 * deletes older ones, and deletes the oldest log segments whose entries
 * are all at or below the oldest kept snapshot (never the newest segment),
 * oldest first, then fsyncs the directory.  The log start moves up
 * accordingly.  An I/O failure returns ZAB_EIO (w is not failed: a purge
 * cut short leaves a consistent directory). */
int wal_purge(wal_t *w, unsigned retain);

/* ---- testing ------------------------------------------------------------ */

/* Test hook: the next write(2)/fsync(2)/fdatasync(2)/rename(2) made by w
 * fails with errno `err` (0 clears it). */
void wal_test_fail_next(wal_t *w, int err);

#endif /* ZABD_WAL_H */
