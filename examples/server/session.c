/*
 * session.c -- the leader's session tracker and session passwords.
 *
 * Every server tracks every session (created and closed by committed
 * commands), but only the serving leader acts on deadlines: a session
 * that no server heard from within its timeout is expired by a
 * closeSession command the leader proposes, so expiry is a replicated
 * transaction like any other (ZooKeeper's SessionTrackerImpl on the
 * leader, fed by the followers' pings).
 *
 * An open-addressing hash table keyed by session id; deadlines are
 * checked by a sweep (the table is small next to the tree, and the sweep
 * runs a few times per tick).
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

typedef struct sess {
    int64_t id;       /* 0: empty slot */
    int32_t timeout;
    bool closing;     /* an expiry was proposed */
    bool tomb;        /* deleted (keeps probe chains intact) */
    uint32_t owner;   /* server the client is attached to; 0 unknown */
    uint64_t deadline;
} sess_t;

struct session_tracker {
    sess_t *v;
    size_t cap, n, used; /* used counts live and tombstones */
};

session_tracker_t *session_tracker_new(void)
{
    session_tracker_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = 64;
    t->v = calloc(t->cap, sizeof *t->v);
    if (!t->v) {
        free(t);
        return NULL;
    }
    return t;
}

void session_tracker_free(session_tracker_t *t)
{
    if (t) {
        free(t->v);
        free(t);
    }
}

static size_t slot_of(int64_t id, size_t cap)
{
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

static sess_t *find(const session_tracker_t *t, int64_t id)
{
    for (size_t i = slot_of(id, t->cap), k = 0; k < t->cap;
         i = (i + 1) & (t->cap - 1), k++) {
        sess_t *e = &t->v[i];
        if (e->id == 0 && !e->tomb)
            return NULL;
        if (e->id == id && !e->tomb)
            return e;
    }
    return NULL;
}

static int grow(session_tracker_t *t)
{
    size_t cap = t->cap;
    if ((t->used + 1) * 4 < cap * 3)
        return 0;
    if (t->n * 2 >= cap)
        cap *= 2;
    sess_t *old = t->v;
    size_t oldcap = t->cap;
    sess_t *v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    t->v = v;
    t->cap = cap;
    t->n = t->used = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].id == 0 || old[i].tomb)
            continue;
        size_t j = slot_of(old[i].id, cap);
        while (v[j].id != 0)
            j = (j + 1) & (cap - 1);
        v[j] = old[i];
        t->n++;
        t->used++;
    }
    free(old);
    return 0;
}

/* Deadlines of sessions whose timeout is not positive: now. */
static uint64_t deadline_of(int32_t timeout, uint64_t now)
{
    return now + (uint64_t)(timeout > 0 ? timeout : 0);
}

int session_track(session_tracker_t *t, int64_t id, int32_t timeout,
                  uint64_t now)
{
    if (id == 0) /* 0 marks an empty slot; zabd never makes it */
        return -1;
    sess_t *e = find(t, id);
    if (!e) {
        if (grow(t) != 0)
            return -1;
        size_t i = slot_of(id, t->cap);
        while (t->v[i].id != 0 && !t->v[i].tomb)
            i = (i + 1) & (t->cap - 1);
        e = &t->v[i];
        if (!e->tomb)
            t->used++;
        memset(e, 0, sizeof *e);
        e->id = id;
        t->n++;
    }
    e->timeout = timeout;
    e->closing = false;
    e->deadline = deadline_of(timeout, now);
    return 0;
}

void session_touch(session_tracker_t *t, int64_t id, uint64_t now)
{
    sess_t *e = find(t, id);
    if (e && !e->closing)
        e->deadline = deadline_of(e->timeout, now);
}

void session_forget(session_tracker_t *t, int64_t id)
{
    sess_t *e = find(t, id);
    if (e) {
        e->id = 0;
        e->tomb = true;
        t->n--;
    }
}

void session_reset_all(session_tracker_t *t, uint64_t now)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->v[i].id != 0 && !t->v[i].tomb)
            t->v[i].deadline = deadline_of(t->v[i].timeout, now);
}

size_t session_expired(session_tracker_t *t, uint64_t now, int64_t *out,
                       size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < t->cap && k < max; i++) {
        sess_t *e = &t->v[i];
        if (e->id == 0 || e->tomb || e->closing || e->deadline > now)
            continue;
        e->closing = true;
        out[k++] = e->id;
    }
    return k;
}

void session_unmark_all(session_tracker_t *t)
{
    for (size_t i = 0; i < t->cap; i++)
        t->v[i].closing = false;
}

void session_set_owner(session_tracker_t *t, int64_t id, uint32_t owner)
{
    sess_t *e = find(t, id);
    if (e)
        e->owner = owner;
}

uint32_t session_owner(const session_tracker_t *t, int64_t id)
{
    const sess_t *e = find(t, id);
    return e ? e->owner : 0;
}

size_t session_count(const session_tracker_t *t)
{
    return t->n;
}

void session_password(const char *secret, int64_t id, uint8_t out[16])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    uint8_t idb[8];
    for (int i = 0; i < 8; i++)
        idb[i] = (uint8_t)((uint64_t)id >> (56 - 8 * i));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, "zabd-session:", 13) == 1 &&
        EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
        EVP_DigestUpdate(ctx, idb, sizeof idb) == 1 &&
        EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16) {
        memcpy(out, md, 16);
    } else {
        /* libcrypto failed: a password nobody can guess from outside is
         * still needed; fall back to the id mixed with the secret. */
        memset(out, 0, 16);
        memcpy(out, idb, 8);
        for (size_t i = 0; secret[i]; i++)
            out[8 + i % 8] ^= (uint8_t)secret[i];
    }
    EVP_MD_CTX_free(ctx);
}
