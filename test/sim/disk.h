/*
 * disk.h -- the simulated disk of one node.
 *
 * Two views: `dur`, what survives a crash, and `cur`, durable plus the
 * writes libzab issued that are not durable yet (what log_read sees).
 * Writes form two streams, the log (append, truncate, snapshot install)
 * and the epoch file; each write completes after a random fsync delay, in
 * issue order within its stream, and is then applied to `dur` before
 * zab_persisted is called.  A crash loses what is pending; an armed
 * `disk lose` also undoes what completed in the last `fsync MAX` ms, an
 * armed `disk torn` drops the last durable log record (SQLite's crash VFS
 * in src/test6.c does the same to unsynced sectors).
 */
#ifndef SIM_DISK_H
#define SIM_DISK_H

#include "sim.h"

void disk_init(node_t *n);
void disk_free(node_t *n);

/* Writes issued by libzab (the host callbacks).  0 on success. */
int disk_append(sim_t *s, node_t *n, uint64_t zxid, uint32_t rec,
                uint64_t token);
int disk_truncate(sim_t *s, node_t *n, uint64_t zxid, uint64_t token);
int disk_epochs(sim_t *s, node_t *n, uint32_t acc, uint32_t cur,
                uint64_t token);
/* Installs `snap` (the reference is taken over). */
int disk_install(sim_t *s, node_t *n, snap_t *snap, uint64_t token);

/* EV_DISK: the head write of a stream is due. */
void disk_on_event(sim_t *s, const ev_t *ev);
/* The node crashed: pending writes are lost, lies and tears applied, and
 * `cur` becomes `dur` again. */
void disk_crash(sim_t *s, node_t *n);
/* Stall (mask: 1 log, 2 epochs) or resume both streams. */
void disk_stall(sim_t *s, node_t *n, int mask);
void disk_resume(sim_t *s, node_t *n);
/* Host log compaction after a delivery (random mode's short log window). */
void disk_compact(sim_t *s, node_t *n);

/* Views. */
uint64_t view_last(const view_t *v);
/* The rec held at `zxid` in the log or the snapshot, or -1. */
int64_t view_find(const view_t *v, uint64_t zxid);
/* How many transactions the view holds with zxid <= `zxid`. */
size_t view_count_le(const view_t *v, uint64_t zxid);
/* log_read: ZAB_ERANGE, ZAB_ENOENT or 0 with *e. */
int view_log_next(const view_t *v, uint64_t after, const logent_t **e);

/* Snapshots: refcounted and immutable. */
snap_t *snap_new(sim_t *s, const uint32_t *recs, size_t n, uint64_t hash);
snap_t *snap_ref(snap_t *sn);
void snap_unref(snap_t *sn);
/* The serialised bytes (built once). */
const uint8_t *snap_bytes(sim_t *s, snap_t *sn, size_t *len);
/* Parses and checks a received snapshot labelled `zxid`; NULL with a
 * reason in err if it is not an honest snapshot of the history. */
snap_t *snap_parse(sim_t *s, const uint8_t *buf, size_t len, uint64_t zxid,
                   char *err, size_t errlen);

#endif /* SIM_DISK_H */
