/*
 * gen_corpus.c -- writes the seed corpus of the fuzz targets.
 *
 *   cc -std=c11 -Iinclude -Ilibzab test/fuzz/gen_corpus.c build/libzab.a \
 *      -o build/gen_corpus && build/gen_corpus test/fuzz/corpus
 *
 * frame-*.bin: one well-formed frame of every kind (for fuzz_decode).
 * recv-*.bin: programs for fuzz_recv: a role byte, then operations in the
 * encoding fuzz_recv.c reads (see run_program and op_structured there).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "zab.h"

static const char *dir;

static void write_file(const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return;
    }
}

static void frames(void)
{
    for (int k = 1; k <= ZAB__KIND_MAX; k++) {
        zab__msg_t m;
        memset(&m, 0, sizeof m);
        m.kind = (uint8_t)k;
        m.zxid = ZAB_ZXID(2, 3);
        m.epoch = 2;
        m.leader = 3;
        m.state = ZAB_LOOKING;
        m.election_epoch = 1;
        m.flags = 1;
        m.round = 4;
        m.data = "payload";
        m.len = 7;
        m.total = 20;
        m.offset = 13;
        uint8_t buf[128];
        size_t n = zab__encode(&m, buf);
        char name[64];
        snprintf(name, sizeof name, "frame-%s.bin", zab__kind_name(k));
        write_file(name, buf, n);
    }
}

/* ---- fuzz_recv programs ---------------------------------------------------- */

typedef struct prog {
    uint8_t b[512];
    size_t n;
} prog_t;

static void put(prog_t *p, uint8_t v)
{
    if (p->n < sizeof p->b) {
        p->b[p->n++] = v;
    }
}

/* zxid selectors (fuzz_recv.c some_zxid): mode | delta << 3 */
enum { Z0 = 0, ZCOMMITTED = 1, ZDELIVERED = 2, ZACC = 3, ZNEXT = 4,
       ZLAST = 6 };
#define ZX(mode, delta) ((uint8_t)((mode) | ((delta) << 3)))
/* epoch selectors (some_epoch) */
enum { EACC = 0, ENEXT = 1, ECUR = 2 };

/* A well-formed frame: op, peer, kind, len, payload, zxid, epoch, extra. */
static void frame(prog_t *p, uint8_t peer, int kind, const char *payload,
                  uint8_t zxid, uint8_t epoch, int extra)
{
    put(p, 2);
    put(p, peer);
    put(p, (uint8_t)(kind - 1));
    size_t len = strlen(payload);
    put(p, (uint8_t)len);
    for (size_t i = 0; i < len; i++) {
        put(p, (uint8_t)payload[i]);
    }
    put(p, zxid);
    put(p, epoch);
    if (extra >= 0) {
        put(p, (uint8_t)extra);
    }
}

/* A VOTE: its extra bytes are state | leader << 2, then the election
 * epoch. */
static void vote(prog_t *p, uint8_t peer, uint8_t zxid, uint8_t epoch,
                 int state, int leader, int election_epoch)
{
    frame(p, peer, ZAB__VOTE, "", zxid, epoch, state | leader << 2);
    put(p, (uint8_t)election_epoch);
}

static void op(prog_t *p, uint8_t code, int arg)
{
    put(p, code);
    if (arg >= 0) {
        put(p, (uint8_t)arg);
    }
}

#define CONFIRM_ALL(p) op(p, 8, 0x80)
#define TICK(p, ms8) op(p, 6, ms8)
#define DEADLINE(p) op(p, 7, -1)
#define BARRIER(p) op(p, 11, -1)

static void propose(prog_t *p, const char *s)
{
    put(p, 10);
    put(p, (uint8_t)strlen(s));
    for (const char *c = s; *c; c++) {
        put(p, (uint8_t)*c);
    }
}

/* role + 5 * disk (fuzz_recv.c) */
static uint8_t role_byte(int role, int disk)
{
    return (uint8_t)(role + 5 * disk);
}

static void programs(void)
{
    prog_t p;

    /* follower in broadcast: a proposal, its commit, a heartbeat */
    for (int disk = 0; disk < 3; disk++) {
        memset(&p, 0, sizeof p);
        put(&p, role_byte(2, disk));
        frame(&p, 1, ZAB__PROPOSAL, "abc", ZX(ZACC, 1), EACC, -1);
        CONFIRM_ALL(&p);
        frame(&p, 1, ZAB__PROPOSAL, "def", ZX(ZLAST, 1), EACC, -1);
        frame(&p, 1, ZAB__COMMIT, "", ZX(ZLAST, 0), EACC, -1);
        CONFIRM_ALL(&p);
        frame(&p, 1, ZAB__PING, "", ZX(ZLAST, 0), EACC, 1);
        propose(&p, "req");
        BARRIER(&p);
        frame(&p, 1, ZAB__SYNC, "", ZX(ZLAST, 0), EACC, 1);
        TICK(&p, 200);
        DEADLINE(&p);
        char name[64];
        snprintf(name, sizeof name, "recv-follower-broadcast-%d.bin", disk);
        write_file(name, p.b, p.n);
    }

    /* follower in synchronisation: DIFF, TRUNC or SNAP, then NEWLEADER */
    for (int disk = 0; disk < 3; disk++) {
        memset(&p, 0, sizeof p);
        put(&p, role_byte(1, disk));
        frame(&p, 1, ZAB__TRUNC, "", ZX(ZDELIVERED, 0), EACC, -1);
        frame(&p, 1, ZAB__PROPOSAL, "x", ZX(ZACC, 1), EACC, -1);
        frame(&p, 1, ZAB__NEWLEADER, "", ZX(ZLAST, 0), EACC, -1);
        CONFIRM_ALL(&p);
        CONFIRM_ALL(&p);
        frame(&p, 1, ZAB__UPTODATE, "", ZX(ZLAST, 0), EACC, -1);
        char name[64];
        snprintf(name, sizeof name, "recv-follower-trunc-%d.bin", disk);
        write_file(name, p.b, p.n);

        memset(&p, 0, sizeof p);
        put(&p, role_byte(1, disk));
        frame(&p, 1, ZAB__SNAP, "snap", ZX(ZLAST, 2), EACC, 0);
        frame(&p, 1, ZAB__NEWLEADER, "", ZX(ZLAST, 0), EACC, -1);
        CONFIRM_ALL(&p);
        CONFIRM_ALL(&p);
        frame(&p, 1, ZAB__UPTODATE, "", ZX(ZLAST, 0), EACC, -1);
        snprintf(name, sizeof name, "recv-follower-snap-%d.bin", disk);
        write_file(name, p.b, p.n);
    }

    /* leader: proposals, acks, a forwarded request, barriers */
    for (int disk = 0; disk < 3; disk++) {
        memset(&p, 0, sizeof p);
        put(&p, role_byte(3, disk));
        propose(&p, "one");
        propose(&p, "two");
        CONFIRM_ALL(&p);
        frame(&p, 0, ZAB__ACK, "", ZX(ZLAST, 0), EACC, -1);
        frame(&p, 1, ZAB__REQUEST, "fwd", ZX(Z0, 0), EACC, -1);
        frame(&p, 1, ZAB__ACK, "", ZX(ZLAST, 0), EACC, -1);
        BARRIER(&p);
        frame(&p, 0, ZAB__SYNC, "", ZX(Z0, 0), EACC, 5);
        frame(&p, 0, ZAB__PING, "", ZX(ZLAST, 0), EACC, 1);
        frame(&p, 1, ZAB__PING, "", ZX(ZLAST, 0), EACC, 1);
        op(&p, 9, 0); /* peer 2 up again: a new handshake */
        frame(&p, 0, ZAB__FOLLOWERINFO, "", ZX(Z0, 0), EACC, -1);
        frame(&p, 0, ZAB__ACKEPOCH, "", ZX(Z0, 0), ECUR, 1);
        TICK(&p, 255);
        DEADLINE(&p);
        char name[64];
        snprintf(name, sizeof name, "recv-leader-%d.bin", disk);
        write_file(name, p.b, p.n);
    }

    /* observer: INFORM */
    memset(&p, 0, sizeof p);
    put(&p, role_byte(4, 1));
    frame(&p, 2, ZAB__INFORM, "obs", ZX(ZACC, 1), EACC, -1);
    CONFIRM_ALL(&p);
    frame(&p, 2, ZAB__INFORM, "obs2", ZX(ZLAST, 1), EACC, -1);
    CONFIRM_ALL(&p);
    propose(&p, "from-observer");
    write_file("recv-observer.bin", p.b, p.n);

    /* looking: votes of all kinds */
    memset(&p, 0, sizeof p);
    put(&p, role_byte(0, 1));
    vote(&p, 0, ZX(ZLAST, 0), ECUR, ZAB_LOOKING, 3, 1);
    vote(&p, 1, ZX(ZLAST, 0), ECUR, ZAB_LOOKING, 3, 1);
    DEADLINE(&p);
    frame(&p, 1, ZAB__LEADERINFO, "", ZX(Z0, 0), ENEXT, -1);
    CONFIRM_ALL(&p);
    write_file("recv-looking.bin", p.b, p.n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    frames();
    programs();
    return 0;
}
