/*
 * proto.h -- the line protocol between a zab-sqlite node and its issuers
 * (the client port, the node's own shell in --machine mode, zab-sqlite
 * -c/--connect).
 *
 * A request is one line: a statement, a ;-separated batch, or a dot
 * command, with backslash escapes \\ \n \r \t (so a request may contain
 * newlines).  A client sends the next request after the previous answer.
 *
 * The answer is zero or more row lines and exactly one final line; the
 * fields of a line are separated by TABs and escaped the same way:
 *   R <value>...           a result row; NULL is \N, a blob X'hex'
 *   OK <zxid> <changes>    done: zxid (16 hex digits) of the replicated
 *                          write, 0000000000000000 for a local read;
 *                          rows inserted, updated or deleted
 *   ERR <message>          failed or refused; nothing was changed
 *   UNKNOWN <message>      the outcome is unknown: the write may or may
 *                          not be applied (e.g. the node lost its leader
 *                          and could not find out in time)
 */
#ifndef ZSQL_PROTO_H
#define ZSQL_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "net.h"

/* Appends `s` (n bytes) escaped. */
int proto_escape(net_buf_t *out, const char *s, size_t n);
/* Unescapes in place; returns the new length (s stays NUL-terminated). */
size_t proto_unescape(char *s);

/* Answer lines, with their newline. */
int proto_row(net_buf_t *out, sqlite3_stmt *st);
int proto_row_kv(net_buf_t *out, const char *key, const char *value);
int proto_ok(net_buf_t *out, uint64_t zxid, int64_t changes);
int proto_err(net_buf_t *out, const char *kind, const char *msg);

/* 1 if `line` (without its newline) is a final line, else 0. */
int proto_is_final(const char *line);

/* Prints an answer line (without its newline, modified) for a human:
 * rows as a|b|c to `out`, errors to `err`, OK only if `verbose`.  Returns
 * 0 for R and OK, 1 for ERR and UNKNOWN. */
int proto_print_human(char *line, FILE *out, FILE *err, int verbose);

#endif
