/*
 * node.h -- one zab-sqlite replica: libzab over TCP, the log (zabd's
 * wal.c), the SQLite state machine (db.c) and its issuers (the shell on
 * stdin and clients on the client port, speaking proto.h).
 */
#ifndef ZSQL_NODE_H
#define ZSQL_NODE_H

#include <stdint.h>

#include "conf.h"

typedef struct node_opts {
    uint32_t id;
    int shell;   /* read requests from stdin; stop at its end */
    int machine; /* the shell speaks proto.h instead of printing tables */
    int verbose; /* 1: libzab's info lines; 2: debug; 3: trace */
} node_opts_t;

/* Runs node `o->id` of `c` until SIGINT/SIGTERM (or the end of the
 * shell's input).  Returns the process exit status: 0 after a clean stop,
 * 1 after a failure (a message on stderr). */
int node_run(const conf_t *c, const node_opts_t *o);

#endif
