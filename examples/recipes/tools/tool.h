/*
 * tool.h -- what the zk-* command-line tools share: timestamped output,
 * signals, opening a zkr_t that reports its session events, and the
 * O_APPEND event log the tests check.
 */
#ifndef ZKR_TOOL_H
#define ZKR_TOOL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "zkr.h"

/* Set (by the signal thread) on SIGINT/SIGTERM. */
extern atomic_int tool_stop;

/* Names the tool for its output prefix: "12:00:01.234 zk-elect[node-a] ",
 * and blocks SIGINT/SIGTERM in every thread: one thread sigwait()s for
 * them, sets tool_stop and calls the hook of tool_on_stop() -- so a
 * blocking library call can be interrupted without a signal handler
 * touching the library.  Call it before any thread exists. */
void tool_init(const char *prog, const char *who);

/* Sets the function the signal thread calls after setting tool_stop. */
void tool_on_stop(void (*fn)(void *), void *arg);

/* In a forked child before exec: restores the default signal mask. */
void tool_child_signals(void);

/* Where say() prints: stdout unless a tool whose stdout is data (zk-name,
 * the list commands) sets it to stderr. */
#include <stdio.h>
extern FILE *tool_out;

/* Prints one timestamped line to tool_out (and flushes it). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints to stderr and exits with status 2. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* 0: tool_open() does not print session events (one-shot commands). */
extern int tool_show_sessions;

/* Opens a zkr_t on hosts (NULL: $ZK_HOSTS or 127.0.0.1:2181) that prints
 * its session events; with verbose, also the library's explanations.  Waits
 * up to wait_ms for the first connection (< 0: not at all). */
zkr_t *tool_open(const char *hosts, int timeout_ms, int verbose, int wait_ms);

/* Sleeps up to ms, returning early when tool_stop is set. */
void tool_sleep(int ms);

/* Appends one line "<event> <pid> <rest>" to path with a single O_APPEND
 * write (the tests' mutual-exclusion log).  No-op if path is NULL. */
void tool_event(const char *path, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Milliseconds on the monotonic clock. */
int64_t tool_now_ms(void);

/* The name of a holder/master state. */
const char *tool_state_name(int st);

#endif
