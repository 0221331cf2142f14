/*
 * watch.h -- zabd's watch manager.  Mirrors ZooKeeper 3.8's
 * server/watch/WatchManager (one table for data/exist watches and one for
 * child watches, WatcherMode STANDARD / PERSISTENT / PERSISTENT_RECURSIVE,
 * triggerWatch with parent-path walking for recursive watches and the
 * suppression set used by deleteNode), DataTree.addWatch/removeWatch/
 * containsWatcher, and WatchesSummary for the "wchs" four-letter word.
 *
 * Watches are per-server state (not replicated, not in snapshots).  A
 * watcher is an opaque handle (a connection/session id of the caller's
 * choosing).  No global mutable state; not thread-safe.
 */
#ifndef ZABD_WATCH_H
#define ZABD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tree.h"

typedef uint64_t watch_handle_t;
typedef struct watch_mgr watch_mgr_t;

/* Tables. */
#define WATCH_DATA 0  /* getData, exists, persistent watches */
#define WATCH_CHILD 1 /* getChildren, persistent (non-recursive) watches */

/* WatcherMode bits of one (watcher, path, table). */
#define WATCH_STANDARD 1
#define WATCH_PERSISTENT 2
#define WATCH_RECURSIVE 4

/* AddWatchMode. */
#define WATCH_ADD_PERSISTENT 0
#define WATCH_ADD_PERSISTENT_RECURSIVE 1

/* WatcherType of removeWatches/checkWatches. */
#define WATCH_TYPE_CHILDREN 1
#define WATCH_TYPE_DATA 2
#define WATCH_TYPE_ANY 3

/* Results. */
#define WATCH_OK 0
#define WATCH_ENOMEM (-1)
#define WATCH_ELIMIT (-2) /* max_watches reached */
#define WATCH_EINVAL (-3)

typedef struct watch_event {
    watch_handle_t handle;
    int32_t type; /* TREE_EV_* */
    char *path;   /* owned */
} watch_event_t;

typedef struct watch_events {
    size_t n, cap;
    watch_event_t *v;
} watch_events_t;

/* max_watches bounds the (watcher, path, table) entries; 0: 1<<22. */
watch_mgr_t *watch_new(size_t max_watches);
void watch_free(watch_mgr_t *w);

/* A one-shot watch: table WATCH_DATA for getData/exists, WATCH_CHILD for
 * getChildren.  The path is copied. */
int watch_add(watch_mgr_t *w, watch_handle_t h, const char *path, int table);
/* addWatch: PERSISTENT goes in both tables, PERSISTENT_RECURSIVE in the
 * data table only (DataTree.addWatch). */
int watch_add_persistent(watch_mgr_t *w, watch_handle_t h, const char *path,
                         int add_mode);
/* removeWatches: remove h's watches (every mode) on path from the tables
 * type names.  WATCH_OK, or TREE_ZNOWATCHER if there was none. */
int watch_remove(watch_mgr_t *w, watch_handle_t h, const char *path,
                 int type);
/* checkWatches: does h watch path in the tables type names? */
bool watch_check(const watch_mgr_t *w, watch_handle_t h, const char *path,
                 int type);
/* The modes h has on path in table (0: none). */
int watch_modes(const watch_mgr_t *w, watch_handle_t h, const char *path,
                int table);
/* Drop everything h watches (connection closed). */
void watch_remove_handle(watch_mgr_t *w, watch_handle_t h);

/* WatchesSummary over both tables: distinct watchers, (table, path)
 * pairs watched, and (watcher, path, table) entries. */
void watch_summary(const watch_mgr_t *w, size_t *connections, size_t *paths,
                   size_t *total);

/* Fire the triggers of an applied transaction's result, in order, as
 * DataTree's triggerWatch calls do: append one event per notified watcher
 * per trigger to *out (initialise it to zeros), removing the one-shot
 * watches that fired; persistent watches stay.  WATCH_OK or WATCH_ENOMEM
 * (then *out holds what was produced so far). */
int watch_fire(watch_mgr_t *w, const tree_result_t *res, watch_events_t *out);
void watch_events_free(watch_events_t *ev);

#endif
