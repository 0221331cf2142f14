/*
 * check.h -- the ghost history and the safety invariants of
 * shared/design/INVARIANTS.md, checked as the run goes.
 *
 * The checker sees every frame a node sends, every durable write as it
 * completes, every delivery and every role change, and checks each
 * property at the moment it could first break, so a violation is reported
 * at the step that caused it:
 *   agreement, integrity, primary order   at every delivery
 *   a zxid names one value                at every broadcast and append
 *   one leader per epoch                  at establishment and broadcast
 *   epochs only grow                      at every durable epoch write
 *   ACK implies durable, reported
 *   position is durable                   at every ACK, VOTE, FOLLOWERINFO, ACKEPOCH
 *   committed is forever                  at every truncation or install,
 *                                         and at every establishment (I(e))
 *   delivers only committed               at every delivery
 *
 * A transaction is committed ("quorum-durable") from the moment a voter
 * quorum holds it durably at once (in the log or under a snapshot), each
 * with a durable currentEpoch no older than the transaction (see
 * recheck_qd in check.c).
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include "sim.h"
#include "codec.h"

void chk_init(sim_t *s);
void chk_free(sim_t *s);

/* Reports a violation (only the first is printed in full); returns 0. */
int chk_violation(sim_t *s, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Reports a failed scenario step or liveness check. */
void chk_fail(sim_t *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Transactions. */
uint32_t chk_new_tx(sim_t *s);
/* The tx of a payload (interned as bogus if no client proposed it). */
uint32_t chk_intern(sim_t *s, const void *data, size_t len);
/* The rec of a zxid, or -1. */
int64_t chk_find(const sim_t *s, uint64_t zxid);

/* Hooks. */
void chk_on_send(sim_t *s, node_t *n, uint32_t to, const zab__msg_t *m);
/* log_append: returns the rec, or -1 after a violation. */
int64_t chk_on_append(sim_t *s, node_t *n, uint64_t zxid, const void *data,
                      size_t len);
void chk_on_deliver(sim_t *s, node_t *n, uint64_t zxid, const void *data,
                    size_t len);
void chk_on_role(sim_t *s, node_t *n, int role, uint32_t leader,
                 uint32_t epoch, int serving);
void chk_on_epochs(sim_t *s, node_t *n, uint32_t oacc, uint32_t ocur,
                   uint32_t acc, uint32_t cur);
/* The node's durable state gained or lost `rec`.  `why` names the cause
 * of a loss ("truncation", "snapshot install"); NULL for a loss the
 * checker excuses (a lying disk already judged). */
void chk_hold(sim_t *s, node_t *n, uint32_t rec);
void chk_unhold(sim_t *s, node_t *n, uint32_t rec, const char *why);
/* The node's durable currentEpoch changed (after it is applied). */
void chk_epoch_durable(sim_t *s, node_t *n);
/* Recomputes a node's holder bits after a lie; returns how many
 * committed transactions it lost. */
void chk_rehold(sim_t *s, node_t *n);

/* Conditions and helpers used by scenarios and random runs. */
uint32_t chk_leader(sim_t *s); /* the established leader with a quorum */
int chk_synced(sim_t *s);
/* Every quorum-durable transaction is delivered by every live node;
 * 0 with a message in buf otherwise. */
int chk_lost_none(sim_t *s, char *buf, size_t len);
int chk_dropped(sim_t *s, uint64_t zxid, char *buf, size_t len);
/* Node n has delivered zxid. */
int chk_delivered(const sim_t *s, const node_t *n, uint64_t zxid);
/* Rebuilds a node's delivered list from a snapshot (boot, install). */
void chk_set_delivered(sim_t *s, node_t *n, const snap_t *sn);

#endif /* SIM_CHECK_H */
