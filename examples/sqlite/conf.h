/*
 * conf.h -- zab-sqlite's cluster configuration file.
 *
 * One file describes the whole ensemble; every node reads the same file
 * and picks its own line with --node N.  Format (see README.md):
 *
 *   # comment
 *   node.<id>     = <peer host:port> <client host:port> <db file> <log dir>
 *   observer.<id> = ... the same, for a non-voting member
 *   snapshot_every = 10000        local snapshot + log purge every N writes
 *   segment_bytes = 67108864      log segment size
 *   request_timeout_ms = 10000    how long a write may wait for its outcome
 *   fence_ms = 1000               when to ask about a silent write
 *   synchronous = normal          or full (SQLite's PRAGMA synchronous)
 *   zab.<option> = <value>        any libzab option (zab_config_option name)
 *
 * Relative paths are relative to the directory of the configuration file.
 * Hosts may be names, IPv4 addresses or [IPv6] addresses.
 */
#ifndef ZSQL_CONF_H
#define ZSQL_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_NODES 64
#define CONF_MAX_ZAB_OPTS 32
#define CONF_PATH_MAX 1024
#define CONF_HOST_MAX 256

typedef struct conf_node {
    uint32_t id;
    int observer;
    char peer_host[CONF_HOST_MAX];
    int peer_port;
    char client_host[CONF_HOST_MAX];
    int client_port;
    char db_path[CONF_PATH_MAX];
    char log_dir[CONF_PATH_MAX];
} conf_node_t;

typedef struct conf {
    conf_node_t nodes[CONF_MAX_NODES];
    size_t nnodes;
    struct {
        int option;
        uint64_t value;
    } zab_opts[CONF_MAX_ZAB_OPTS];
    size_t nzab_opts;
    uint64_t snapshot_every;     /* 0: never */
    uint64_t segment_bytes;      /* 0: the log's default (64 MiB) */
    uint64_t request_timeout_ms; /* > 0 */
    uint64_t fence_ms;           /* > 0 */
    int sync_full;               /* synchronous=FULL instead of NORMAL */
} conf_t;

/* Reads and checks `path`.  0, or -1 with a message (file:line: ...) in
 * err. */
int conf_load(const char *path, conf_t *c, char *err, size_t errlen);

/* The node with this id, or NULL. */
const conf_node_t *conf_node(const conf_t *c, uint32_t id);

#endif
