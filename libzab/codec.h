/*
 * codec.h -- the peer wire format: one encode/decode pair for every frame.
 *
 * A frame is an 8-byte header (u32 total length, u8 version = 1, u8 kind,
 * u16 reserved = 0) followed by a fixed body per kind; integers are
 * big-endian.  Kinds that carry a payload (PROPOSAL, INFORM, REQUEST, SNAP)
 * give its length explicitly, and it must match the frame's length
 * exactly.  The decoder trusts nothing: every read is bounds-checked and
 * any inconsistency makes the whole frame invalid (ZAB_EPROTO).
 *
 * The body of each kind mirrors ZooKeeper's QuorumPacket types (Leader.java)
 * and FastLeaderElection's notification, trimmed to what ZAB needs:
 *
 *   VOTE          state u8, leader u32, zxid u64, election_epoch u64,
 *                 peer_epoch u32
 *   FOLLOWERINFO  epoch u32 (acceptedEpoch), zxid u64 (last logged)
 *   OBSERVERINFO  same as FOLLOWERINFO
 *   LEADERINFO    epoch u32 (the proposed new epoch)
 *   ACKEPOCH      flags u8 (1: epoch acknowledged), epoch u32
 *                 (currentEpoch), zxid u64 (last logged)
 *   DIFF          zxid u64 (entries after this one follow)
 *   TRUNC         zxid u64 (drop entries after this one; entries follow)
 *   SNAP          zxid u64, total u64, offset u64, len u32, bytes
 *   NEWLEADER     epoch u32, zxid u64 (last zxid of the history sent)
 *   ACKNEWLEADER  epoch u32, zxid u64
 *   UPTODATE      zxid u64 (commit point)
 *   PROPOSAL      zxid u64, len u32, bytes
 *   ACK           zxid u64 (cumulative: everything up to zxid is durable)
 *   COMMIT        zxid u64 (cumulative)
 *   INFORM        zxid u64, len u32, bytes (to observers)
 *   PING          round u64, zxid u64 (leader: commit point)
 *   REQUEST       len u32, bytes (a learner forwards a proposal)
 *   SYNC          id u64, zxid u64 (learner: 0; leader's reply: commit
 *                 point at the request, or ZAB__SYNC_REFUSED)
 */
#ifndef ZAB_CODEC_H
#define ZAB_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define ZAB__WIRE_VERSION 1
#define ZAB__HEADER_SIZE 8
/* Largest fixed part of any body; a frame is at most payload + this. */
#define ZAB__FRAME_OVERHEAD 64
/* The zxid of a SYNC reply by which the leader refuses a read barrier
 * (too many pending). */
#define ZAB__SYNC_REFUSED UINT64_MAX

typedef enum zab__kind {
    ZAB__VOTE = 1,
    ZAB__FOLLOWERINFO = 2,
    ZAB__OBSERVERINFO = 3,
    ZAB__LEADERINFO = 4,
    ZAB__ACKEPOCH = 5,
    ZAB__DIFF = 6,
    ZAB__TRUNC = 7,
    ZAB__SNAP = 8,
    ZAB__NEWLEADER = 9,
    ZAB__ACKNEWLEADER = 10,
    ZAB__UPTODATE = 11,
    ZAB__PROPOSAL = 12,
    ZAB__ACK = 13,
    ZAB__COMMIT = 14,
    ZAB__INFORM = 15,
    ZAB__PING = 16,
    ZAB__REQUEST = 17,
    ZAB__SYNC = 18,
    ZAB__KIND_MAX = 18
} zab__kind_t;

/* A decoded frame.  Which fields are meaningful depends on the kind (see
 * the table above); `data` points into the frame that was decoded. */
typedef struct zab__msg {
    uint8_t kind;
    uint8_t state;          /* VOTE: sender's zab_role_t */
    uint8_t flags;          /* ACKEPOCH */
    uint32_t leader;        /* VOTE */
    uint32_t epoch;         /* VOTE peer_epoch, *INFO, ACKEPOCH, NEWLEADER */
    uint64_t zxid;
    uint64_t election_epoch; /* VOTE */
    uint64_t round;         /* PING; SYNC id */
    uint64_t total;         /* SNAP */
    uint64_t offset;        /* SNAP */
    const void *data;       /* PROPOSAL, INFORM, REQUEST, SNAP */
    uint32_t len;
} zab__msg_t;

/* The name of a kind ("PROPOSAL"), or NULL. */
const char *zab__kind_name(int kind);
/* The kind for a name, or 0. */
int zab__kind_from_name(const char *name);

/* Size of the encoded frame for `m`. */
size_t zab__encoded_size(const zab__msg_t *m);
/* Encodes `m` into `buf` (at least zab__encoded_size(m) bytes); returns the
 * number of bytes written. */
size_t zab__encode(const zab__msg_t *m, uint8_t *buf);
/* Decodes one whole frame of exactly `len` bytes into `m`, refusing any
 * frame longer than `max_len`.  0 or ZAB_EPROTO. */
int zab__decode(const void *frame, size_t len, size_t max_len,
                zab__msg_t *m);
/* Validates a header and returns the frame length it announces.  0 or
 * ZAB_EPROTO. */
int zab__header_check(const void *hdr, size_t max_len, size_t *frame_len);

#endif /* ZAB_CODEC_H */
