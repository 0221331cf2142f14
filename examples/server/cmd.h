/*
 * cmd.h -- the payload zabd replicates through libzab: one client write
 * (or a session event) exactly as the client sent it, with what every
 * replica needs to execute it deterministically.
 *
 * Why requests and not ZooKeeper's pre-computed transactions: libzab
 * forwards a follower's zab_propose() payload to the leader and proposes
 * it verbatim, so the leader's host never sees it before it is ordered.
 * Every replica therefore validates and executes the request when it is
 * delivered (tree_prepare then tree_apply against the committed tree), in
 * the same order, with the same inputs -- the time, the session and the
 * caller's identities travel with the request -- and gets the same result,
 * errors included.  This is the classic replicated-state-machine design;
 * it also makes ZooKeeper's "outstanding changes" shadow unnecessary.
 *
 * Encoding (big-endian):
 *   u8  magic 'Z', u8 version 1, u16 flags (0)
 *   u32 origin       server that took the request (0: the leader itself,
 *                    e.g. a session expiry)
 *   u64 incarnation  the origin process's run id, so that a restarted
 *                    server never mistakes an old request for a new one
 *   u64 seq          the origin's request number in that run
 *   i64 session
 *   i64 time         ms since the Unix epoch, chosen by the origin
 *   i32 type         ZooKeeper op code; -10 createSession, -11
 *                    closeSession
 *   i32 arg          createSession: the negotiated timeout; else 0
 *   u32 nids, then nids x (str scheme, str id): the caller's identities
 *   u32 len, then the request packet as the client sent it (RequestHeader
 *                    and record), empty for session events
 * where str = u32 length + bytes.
 */
#ifndef ZABD_CMD_H
#define ZABD_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "acl.h"

#define CMD_MAX_IDS 64

typedef struct cmd {
    uint32_t origin;
    uint64_t incarnation;
    uint64_t seq;
    int64_t session;
    int64_t time;
    int32_t type;
    int32_t arg;
    size_t nids;
    acl_id_t ids[CMD_MAX_IDS]; /* borrowed when encoding; copies owned
                                  by the cmd after decoding (cmd_free) */
    const uint8_t *request;    /* borrowed (encode) / into input (decode) */
    size_t request_len;
} cmd_t;

/* Appends the encoding of c to a new malloc'd buffer.  0 or -1 (memory,
 * or more than CMD_MAX_IDS identities). */
int cmd_encode(const cmd_t *c, uint8_t **out, size_t *len);
/* Decodes; c->request points into buf; identities are copied (cmd_free).
 * 0, or -1 if malformed (then nothing to free). */
int cmd_decode(const uint8_t *buf, size_t len, cmd_t *c);
void cmd_free(cmd_t *c);

#endif
