/*
 * tree.c -- zabd's replicated data tree.  Mirrors Apache ZooKeeper 3.8's
 * DataTree and DataNode (createNode, deleteNode, setData, setACL, Stat
 * maintenance, ephemerals per session, containers and TTL nodes,
 * processTxn including multi), the request validation of
 * PrepRequestProcessor (pRequest2Txn, pRequest2TxnCreate, fixupACL via
 * acl.c, checkAndIncVersion, outstanding ChangeRecords and multi
 * rollback), PathUtils.validatePath, EphemeralType, and a snapshot in our
 * own canonical format (FileSnap's role).  See tree.h for the contracts.
 */
#include "tree.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- types --------------------------------------------------------------- */

/* One znode.  Memory per node is what a large tree costs, so the fields
 * are packed (pointers, then 64-bit, then 32-bit values: no padding) and
 * the path, which never changes, is allocated with the node.  32 bits
 * hold every length and count: data is at most jute.maxbuffer, paths
 * max_path, and a tree at most max_nodes (2^24) nodes. */
struct tree_node {
    uint8_t *data;
    struct acl_ref *acl; /* shared with every node of the same ACL */
    tree_node_t *parent;
    tree_node_t **kids;
    tree_node_t *eprev, *enext;   /* the owner's ephemeral list */
    int64_t czxid, mzxid, ctime, mtime;
    int64_t owner, pzxid;
    int32_t version, cversion, aversion;
    uint32_t dlen;
    uint32_t plen;
    uint32_t nkids, ckids;
    uint32_t idx;                 /* index in parent->kids */
    bool dnull;      /* ZooKeeper's null data (distinct from empty) */
    char path[];     /* NUL-terminated */
};

typedef struct owner {
    int64_t id;
    bool session;
    int32_t timeout;
    tree_node_t *head;
    size_t count;
} owner_t;

/* An outstanding change (PrepRequestProcessor.ChangeRecord). */
typedef struct pend {
    int64_t tag;
    char *path;
    bool exists;
    int64_t owner;
    int32_t version, cversion, aversion, nkids;
    acl_list_t acl;
} pend_t;

/* An ACL shared by every node that has it (ZooKeeper's
 * ReferenceCountedACLCache): most trees use a handful of distinct ACLs, so
 * a node holds a pointer instead of its own copy of entries and strings. */
typedef struct acl_ref {
    acl_list_t list;
    uint64_t hash;
    size_t refs;
    struct acl_ref *next; /* in its hash bucket */
} acl_ref_t;

struct tree {
    tree_config_t cfg;
    acl_ref_t **acls;   /* buckets */
    size_t nacl_buckets, nacls;
    tree_node_t **slot; /* open addressing, linear probing */
    size_t cap, n;
    owner_t *own;       /* sorted by id */
    size_t nown, cown;
    pend_t *pend;       /* FIFO */
    size_t npend, cpend;
    char **quota;       /* paths with a zookeeper_limits node (pTrie) */
    size_t nquota;
    int64_t last_zxid;
};

enum { EPH_VOID, EPH_NORMAL, EPH_CONTAINER, EPH_TTL };

#define EXT_MASK UINT64_C(0xff00000000000000)

void tree_config_default(tree_config_t *c)
{
    c->max_data = 1024 * 1024;
    c->max_path = 4096;
    c->max_acl = 64;
    c->max_multi = 1024;
    c->max_nodes = (size_t)1 << 24;
    c->max_pending = (size_t)1 << 16;
    c->extended_types = false;
}

int64_t tree_ttl_owner(int64_t ttl)
{
    if (ttl <= 0 || ttl > TREE_TTL_MASK) {
        return 0;
    }
    return (int64_t)(EXT_MASK | (uint64_t)ttl);
}

static int eph_type(const tree_t *t, int64_t owner)
{
    uint64_t u = (uint64_t)owner;
    if (t->cfg.extended_types && (u & EXT_MASK) == EXT_MASK) {
        /* Only feature 0 (TTL) exists; Java throws for others, we call
         * them NORMAL (prepare never makes one). */
        return ((u >> 40) & 0xffff) == 0 ? EPH_TTL : EPH_NORMAL;
    }
    if (owner == TREE_CONTAINER_OWNER) {
        return EPH_CONTAINER;
    }
    return owner == 0 ? EPH_VOID : EPH_NORMAL;
}

static int32_t next_version(int32_t v)
{
    /* Java int overflow wraps; ZOOKEEPER-4743 skips -1. */
    int32_t n = v == INT32_MAX ? INT32_MIN : v + 1;
    return n == -1 ? 0 : n;
}

static int32_t inc32(int32_t v)
{
    return v == INT32_MAX ? INT32_MIN : v + 1;
}

static char *memdup0(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        if (n > 0) {
            memcpy(d, p, n);
        }
        d[n] = '\0';
    }
    return d;
}

/* ---- node map ------------------------------------------------------------ */

static uint64_t hash_path(const char *s, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h ^ (h >> 29);
}

static tree_node_t *map_get(const tree_t *t, const char *p, size_t n)
{
    if (t->cap == 0) {
        return NULL;
    }
    size_t m = t->cap - 1;
    for (size_t i = hash_path(p, n) & m;; i = (i + 1) & m) {
        tree_node_t *x = t->slot[i];
        if (x == NULL) {
            return NULL;
        }
        if (x->plen == n && memcmp(x->path, p, n) == 0) {
            return x;
        }
    }
}

static void map_insert_raw(tree_node_t **slot, size_t cap, tree_node_t *x)
{
    size_t m = cap - 1;
    size_t i = hash_path(x->path, x->plen) & m;
    while (slot[i] != NULL) {
        i = (i + 1) & m;
    }
    slot[i] = x;
}

static int map_put(tree_t *t, tree_node_t *x)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap == 0 ? 16 : t->cap * 2;
        tree_node_t **ns = calloc(ncap, sizeof *ns);
        if (ns == NULL) {
            return -1;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (t->slot[i] != NULL) {
                map_insert_raw(ns, ncap, t->slot[i]);
            }
        }
        free(t->slot);
        t->slot = ns;
        t->cap = ncap;
    }
    map_insert_raw(t->slot, t->cap, x);
    t->n++;
    return 0;
}

static void map_del(tree_t *t, const tree_node_t *x)
{
    size_t m = t->cap - 1;
    size_t i = hash_path(x->path, x->plen) & m;
    while (t->slot[i] != x) {
        i = (i + 1) & m;
    }
    t->slot[i] = NULL;
    t->n--;
    /* Backward-shift the cluster that follows. */
    for (size_t j = (i + 1) & m; t->slot[j] != NULL; j = (j + 1) & m) {
        tree_node_t *y = t->slot[j];
        size_t home = hash_path(y->path, y->plen) & m;
        /* y may move to i if home is not in (i, j]. */
        bool between = i <= j ? (home > i && home <= j)
                              : (home > i || home <= j);
        if (!between) {
            t->slot[i] = y;
            t->slot[j] = NULL;
            i = j;
        }
    }
}

/* ---- owners (sessions and their ephemerals) ------------------------------ */

static size_t own_find(const tree_t *t, int64_t id, bool *found)
{
    size_t lo = 0, hi = t->nown;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->own[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < t->nown && t->own[lo].id == id;
    return lo;
}

static owner_t *own_get(const tree_t *t, int64_t id)
{
    bool found;
    size_t i = own_find(t, id, &found);
    return found ? &t->own[i] : NULL;
}

static owner_t *own_make(tree_t *t, int64_t id)
{
    bool found;
    size_t i = own_find(t, id, &found);
    if (found) {
        return &t->own[i];
    }
    if (t->nown == t->cown) {
        size_t nc = t->cown == 0 ? 8 : t->cown * 2;
        owner_t *no = realloc(t->own, nc * sizeof *no);
        if (no == NULL) {
            return NULL;
        }
        t->own = no;
        t->cown = nc;
    }
    memmove(&t->own[i + 1], &t->own[i], (t->nown - i) * sizeof *t->own);
    t->nown++;
    memset(&t->own[i], 0, sizeof t->own[i]);
    t->own[i].id = id;
    return &t->own[i];
}

static void own_drop_if_empty(tree_t *t, int64_t id)
{
    bool found;
    size_t i = own_find(t, id, &found);
    if (found && !t->own[i].session && t->own[i].count == 0) {
        memmove(&t->own[i], &t->own[i + 1],
                (t->nown - i - 1) * sizeof *t->own);
        t->nown--;
    }
}

static void eph_unlink(tree_t *t, tree_node_t *x)
{
    owner_t *o = own_get(t, x->owner);
    if (o == NULL) {
        return;
    }
    if (x->eprev != NULL) {
        x->eprev->enext = x->enext;
    } else {
        o->head = x->enext;
    }
    if (x->enext != NULL) {
        x->enext->eprev = x->eprev;
    }
    x->eprev = x->enext = NULL;
    o->count--;
    own_drop_if_empty(t, x->owner);
}

/* ---- nodes --------------------------------------------------------------- */

static uint64_t acl_hash(const acl_list_t *l)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < l->n; i++) {
        const char *parts[2] = {l->v[i].id.scheme, l->v[i].id.id};
        h = (h ^ (uint64_t)(uint32_t)l->v[i].perms) * 1099511628211ull;
        for (int k = 0; k < 2; k++) {
            for (const char *c = parts[k]; *c; c++) {
                h = (h ^ (uint8_t)*c) * 1099511628211ull;
            }
            h = (h ^ 0xff) * 1099511628211ull;
        }
    }
    return h;
}

/* The shared copy of l, with one more reference; NULL on out of memory. */
static acl_ref_t *acl_intern(tree_t *t, const acl_list_t *l)
{
    uint64_t h = acl_hash(l);
    if (t->nacl_buckets > 0) {
        for (acl_ref_t *r = t->acls[h % t->nacl_buckets]; r; r = r->next) {
            if (r->hash == h && acl_list_equal(&r->list, l)) {
                r->refs++;
                return r;
            }
        }
    }
    if (t->nacls >= t->nacl_buckets) {
        size_t nb = t->nacl_buckets ? t->nacl_buckets * 2 : 64;
        acl_ref_t **b = calloc(nb, sizeof *b);
        if (b == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < t->nacl_buckets; i++) {
            for (acl_ref_t *r = t->acls[i], *nx; r; r = nx) {
                nx = r->next;
                r->next = b[r->hash % nb];
                b[r->hash % nb] = r;
            }
        }
        free(t->acls);
        t->acls = b;
        t->nacl_buckets = nb;
    }
    acl_ref_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    acl_list_init(&r->list);
    if (acl_list_copy(&r->list, l) != ACL_OK) {
        free(r);
        return NULL;
    }
    r->hash = h;
    r->refs = 1;
    r->next = t->acls[h % t->nacl_buckets];
    t->acls[h % t->nacl_buckets] = r;
    t->nacls++;
    return r;
}

static void acl_release(tree_t *t, acl_ref_t *r)
{
    if (r == NULL || --r->refs > 0) {
        return;
    }
    for (acl_ref_t **pp = &t->acls[r->hash % t->nacl_buckets]; *pp;
         pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    acl_list_free(&r->list);
    free(r);
    t->nacls--;
}

/* Gives node x the ACL l (shared); false on out of memory. */
static bool node_set_acl(tree_t *t, tree_node_t *x, const acl_list_t *l)
{
    acl_ref_t *r = acl_intern(t, l);
    if (r == NULL) {
        return false;
    }
    acl_release(t, x->acl);
    x->acl = r;
    return true;
}

static const acl_list_t *node_acl(const tree_node_t *x)
{
    static const acl_list_t none = {0, NULL};
    return x->acl != NULL ? &x->acl->list : &none;
}

static void node_free(tree_t *t, tree_node_t *x)
{
    if (x != NULL) {
        free(x->data);
        acl_release(t, x->acl);
        free(x->kids);
        free(x);
    }
}

static tree_node_t *node_new(const char *path, size_t plen)
{
    tree_node_t *x = calloc(1, sizeof *x + plen + 1);
    if (x == NULL) {
        return NULL;
    }
    memcpy(x->path, path, plen); /* calloc put the NUL */
    x->plen = (uint32_t)plen;
    return x;
}

static const char *node_name(const tree_node_t *x)
{
    const char *s = strrchr(x->path, '/');
    return s != NULL ? s + 1 : x->path;
}

static int kids_reserve(tree_node_t *p)
{
    if (p->nkids < p->ckids) {
        return 0;
    }
    size_t nc = p->ckids == 0 ? 4 : p->ckids * 2;
    tree_node_t **nk = realloc(p->kids, nc * sizeof *nk);
    if (nk == NULL) {
        return -1;
    }
    p->kids = nk;
    p->ckids = nc;
    return 0;
}

/* Link x under parent p, into the map and the owner's list.  Cannot fail
 * once kids_reserve and map room are ensured; returns -1 on no memory with
 * nothing changed. */
static int node_link(tree_t *t, tree_node_t *p, tree_node_t *x)
{
    owner_t *o = NULL;
    if (eph_type(t, x->owner) == EPH_NORMAL) {
        o = own_make(t, x->owner);
        if (o == NULL) {
            return -1;
        }
    }
    if ((p != NULL && kids_reserve(p) != 0) || map_put(t, x) != 0) {
        if (o != NULL) {
            own_drop_if_empty(t, x->owner);
        }
        return -1;
    }
    if (p != NULL) {
        x->parent = p;
        x->idx = p->nkids;
        p->kids[p->nkids++] = x;
    }
    if (o != NULL) {
        x->enext = o->head;
        if (o->head != NULL) {
            o->head->eprev = x;
        }
        o->head = x;
        o->count++;
    }
    return 0;
}

static void node_unlink(tree_t *t, tree_node_t *x)
{
    tree_node_t *p = x->parent;
    if (p != NULL) {
        p->kids[x->idx] = p->kids[p->nkids - 1];
        p->kids[x->idx]->idx = x->idx;
        p->nkids--;
    }
    map_del(t, x);
    if (eph_type(t, x->owner) == EPH_NORMAL) {
        eph_unlink(t, x);
    }
}

/* The Stat clients see (DataNode.copyStat).  Internally cversion counts
 * the creates of children (the sequential suffix comes from it); clients
 * see it translated to the count of child changes, every create having a
 * delete except for the children still present: 2 * creates - children
 * (Java int arithmetic, so it wraps).  The container and TTL markers of
 * ephemeralOwner are hidden: such nodes show 0 (getClientEphemeralOwner). */
static void node_stat(const tree_node_t *x, tree_stat_t *s)
{
    s->czxid = x->czxid;
    s->mzxid = x->mzxid;
    s->ctime = x->ctime;
    s->mtime = x->mtime;
    s->version = x->version;
    s->cversion = (int32_t)((uint32_t)x->cversion * 2u - (uint32_t)x->nkids);
    s->aversion = x->aversion;
    s->ephemeral_owner = x->owner;
    uint64_t u = (uint64_t)x->owner;
    if (x->owner == TREE_CONTAINER_OWNER ||
        ((u & EXT_MASK) == EXT_MASK && ((u >> 40) & 0xffff) == 0)) {
        s->ephemeral_owner = 0;
    }
    s->data_length = (int32_t)x->dlen;
    s->num_children = (int32_t)x->nkids;
    s->pzxid = x->pzxid;
}

/* ---- tree ---------------------------------------------------------------- */

static tree_t *tree_alloc(const tree_config_t *cfg)
{
    tree_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return NULL;
    }
    if (cfg != NULL) {
        t->cfg = *cfg;
    } else {
        tree_config_default(&t->cfg);
    }
    return t;
}

static int add_builtin(tree_t *t, const char *path, bool read_only)
{
    tree_node_t *p = NULL;
    if (strcmp(path, "/") != 0) {
        const char *s = strrchr(path, '/');
        size_t pl = s == path ? 1 : (size_t)(s - path);
        p = map_get(t, path, pl);
    }
    tree_node_t *x = node_new(path, strlen(path));
    acl_list_t acl;
    acl_list_init(&acl);
    bool ok = x != NULL &&
              (read_only ? acl_list_read_unsafe(&acl)
                         : acl_list_open_unsafe(&acl)) == ACL_OK &&
              node_set_acl(t, x, &acl);
    acl_list_free(&acl);
    if (!ok || node_link(t, p, x) != 0) {
        node_free(t, x);
        return -1;
    }
    if (read_only) {
        x->aversion = -1; /* DataTree.addConfigNode: setACL(..., -1) */
    }
    return 0;
}

tree_t *tree_new(const tree_config_t *cfg)
{
    tree_t *t = tree_alloc(cfg);
    if (t == NULL) {
        return NULL;
    }
    if (add_builtin(t, "/", false) != 0 ||
        add_builtin(t, "/zookeeper", false) != 0 ||
        add_builtin(t, "/zookeeper/quota", false) != 0 ||
        add_builtin(t, "/zookeeper/config", true) != 0) {
        tree_free(t);
        return NULL;
    }
    return t;
}

static void pend_free_one(pend_t *r)
{
    free(r->path);
    acl_list_free(&r->acl);
}

void tree_pending_clear(tree_t *t)
{
    for (size_t i = 0; i < t->npend; i++) {
        pend_free_one(&t->pend[i]);
    }
    t->npend = 0;
}

void tree_free(tree_t *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->cap; i++) {
        node_free(t, t->slot[i]);
    }
    free(t->slot);
    free(t->acls); /* empty now: every node released its reference */
    free(t->own);
    tree_pending_clear(t);
    free(t->pend);
    for (size_t i = 0; i < t->nquota; i++) {
        free(t->quota[i]);
    }
    free(t->quota);
    free(t);
}

size_t tree_node_count(const tree_t *t)
{
    return t->n;
}

int64_t tree_last_zxid(const tree_t *t)
{
    return t->last_zxid;
}

static tree_node_t *find_node(const tree_t *t, const char *path);

const tree_node_t *tree_lookup(const tree_t *t, const char *path)
{
    return find_node(t, path);
}

/* The node at path ("" is the root), or NULL. */
static tree_node_t *find_node(const tree_t *t, const char *path)
{
    if (path == NULL) {
        return NULL;
    }
    if (path[0] == '\0') {
        path = "/"; /* DataTree keeps the root under "" as well */
    }
    size_t n = strnlen(path, t->cfg.max_path + 1);
    if (n > t->cfg.max_path) {
        return NULL;
    }
    return map_get(t, path, n);
}

void tree_node_stat(const tree_node_t *n, tree_stat_t *out)
{
    node_stat(n, out);
}

/* Non-NULL for an empty value, so that NULL can mean null data. */
static const uint8_t empty_data[1];

static const uint8_t *node_data(const tree_node_t *n)
{
    if (n->dnull)
        return NULL;
    return n->data != NULL ? n->data : empty_data;
}

const uint8_t *tree_node_data(const tree_node_t *n, size_t *len)
{
    *len = n->dlen;
    return node_data(n);
}

const acl_list_t *tree_node_acl(const tree_node_t *n)
{
    return node_acl(n);
}

/* ---- reads --------------------------------------------------------------- */

int tree_exists(const tree_t *t, const char *path, tree_stat_t *st)
{
    const tree_node_t *x = tree_lookup(t, path);
    if (x == NULL) {
        return TREE_ZNONODE;
    }
    if (st != NULL) {
        node_stat(x, st);
    }
    return TREE_ZOK;
}

int tree_get_data(const tree_t *t, const char *path, const acl_auth_t *who,
                  const uint8_t **data, size_t *len, tree_stat_t *st)
{
    const tree_node_t *x = tree_lookup(t, path);
    if (x == NULL) {
        return TREE_ZNONODE;
    }
    if (!acl_check(node_acl(x), ACL_READ, who)) {
        return TREE_ZNOAUTH;
    }
    if (data != NULL) {
        *data = node_data(x);
    }
    if (len != NULL) {
        *len = x->dlen;
    }
    if (st != NULL) {
        node_stat(x, st);
    }
    return TREE_ZOK;
}

void tree_strv_free(char **v, size_t n)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A sorted vector of new strings being collected for a caller (children,
 * ephemerals, container candidates).  It grows by doubling; after a failed
 * allocation it stops taking strings, and strv_finish reports the failure
 * and frees what it held, so callers test one result. */
typedef struct strv {
    char **v;
    size_t n, cap;
    bool failed;
} strv_t;

static void strv_push(strv_t *b, const char *s, size_t len)
{
    if (b->failed) {
        return;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap != 0 ? b->cap * 2 : 8;
        char **nv = realloc(b->v, cap * sizeof *nv);
        if (nv == NULL) {
            b->failed = true;
            return;
        }
        b->v = nv;
        b->cap = cap;
    }
    char *c = memdup0(s, len);
    if (c == NULL) {
        b->failed = true;
        return;
    }
    b->v[b->n++] = c;
}

/* Sorts the strings and hands them to the caller (a non-NULL array, also
 * when empty), or frees them and reports TREE_ZSYSTEMERROR. */
static int strv_finish(strv_t *b, char ***out, size_t *n)
{
    if (!b->failed && b->v == NULL) {
        b->v = calloc(1, sizeof *b->v);
        b->failed = b->v == NULL;
    }
    if (b->failed) {
        tree_strv_free(b->v, b->n);
        return TREE_ZSYSTEMERROR;
    }
    qsort(b->v, b->n, sizeof *b->v, cmp_str);
    *out = b->v;
    *n = b->n;
    return TREE_ZOK;
}

static int cmp_kid(const void *a, const void *b)
{
    return strcmp(node_name(*(tree_node_t *const *)a),
                  node_name(*(tree_node_t *const *)b));
}

int tree_get_children(const tree_t *t, const char *path,
                      const acl_auth_t *who, char ***names, size_t *n,
                      tree_stat_t *st)
{
    const tree_node_t *x = tree_lookup(t, path);
    *names = NULL;
    *n = 0;
    if (x == NULL) {
        return TREE_ZNONODE;
    }
    if (!acl_check(node_acl(x), ACL_READ, who)) {
        return TREE_ZNOAUTH;
    }
    strv_t b = {0};
    for (size_t i = 0; i < x->nkids; i++) {
        const char *nm = node_name(x->kids[i]);
        strv_push(&b, nm, strlen(nm));
    }
    int rc = strv_finish(&b, names, n);
    if (rc != TREE_ZOK) {
        return rc;
    }
    if (st != NULL) {
        node_stat(x, st);
    }
    return TREE_ZOK;
}

int tree_get_acl(const tree_t *t, const char *path, const acl_auth_t *who,
                 acl_list_t *acl, tree_stat_t *st)
{
    const tree_node_t *x = tree_lookup(t, path);
    if (x == NULL) {
        return TREE_ZNONODE;
    }
    if (!acl_check(node_acl(x), ACL_READ | ACL_ADMIN, who)) {
        return TREE_ZNOAUTH;
    }
    bool admin = acl_check(node_acl(x), ACL_ADMIN, who);
    acl_list_t tmp;
    acl_list_init(&tmp);
    const acl_list_t *nacl = node_acl(x);
    for (size_t i = 0; i < nacl->n; i++) {
        const acl_entry_t *e = &nacl->v[i];
        char masked[ACL_MAX_STR + 3];
        const char *id = e->id.id;
        const char *c = strchr(id, ':');
        if (!admin && strcmp(e->id.scheme, "digest") == 0 && c != NULL) {
            /* Java: id.replaceAll(":.*", ":x") */
            size_t k = (size_t)(c - id);
            memcpy(masked, id, k);
            memcpy(masked + k, ":x", 3);
            id = masked;
        }
        if (acl_list_add(&tmp, e->perms, e->id.scheme, id, 0) != ACL_OK) {
            acl_list_free(&tmp);
            return TREE_ZSYSTEMERROR;
        }
    }
    acl_list_free(acl);
    *acl = tmp;
    if (st != NULL) {
        node_stat(x, st);
    }
    return TREE_ZOK;
}

static int32_t count_desc(const tree_node_t *x)
{
    int32_t c = 0;
    for (size_t i = 0; i < x->nkids; i++) {
        c += 1 + count_desc(x->kids[i]);
    }
    return c;
}

int tree_all_children_number(const tree_t *t, const char *path,
                             const acl_auth_t *who, int32_t *count)
{
    const tree_node_t *x = tree_lookup(t, path);
    if (x == NULL) {
        return TREE_ZNONODE;
    }
    if (!acl_check(node_acl(x), ACL_READ, who)) {
        return TREE_ZNOAUTH;
    }
    *count = strcmp(path, "/") == 0 ? (int32_t)t->n - 1 : count_desc(x);
    return TREE_ZOK;
}

int tree_get_ephemerals(const tree_t *t, int64_t session, const char *prefix,
                        char ***paths, size_t *n)
{
    *paths = NULL;
    *n = 0;
    const owner_t *o = own_get(t, session);
    strv_t b = {0};
    size_t pl = prefix != NULL ? strlen(prefix) : 0;
    for (const tree_node_t *x = o != NULL ? o->head : NULL; x != NULL;
         x = x->enext) {
        if (pl == 0 || strncmp(x->path, prefix, pl) == 0) {
            strv_push(&b, x->path, x->plen);
        }
    }
    return strv_finish(&b, paths, n);
}

bool tree_session_get(const tree_t *t, int64_t session, int32_t *timeout)
{
    const owner_t *o = own_get(t, session);
    if (o == NULL || !o->session) {
        return false;
    }
    if (timeout != NULL) {
        *timeout = o->timeout;
    }
    return true;
}

void tree_session_each(const tree_t *t,
                       void (*fn)(void *ud, int64_t session, int32_t timeout),
                       void *ud)
{
    for (size_t i = 0; i < t->nown; i++) {
        if (t->own[i].session) {
            fn(ud, t->own[i].id, t->own[i].timeout);
        }
    }
}

int tree_set_config(tree_t *t, const uint8_t *data, size_t len)
{
    tree_node_t *x = map_get(t, "/zookeeper/config",
                             sizeof "/zookeeper/config" - 1);
    if (x == NULL) {
        return TREE_ZNONODE;
    }
    uint8_t *d = NULL;
    if (len > 0 && (d = malloc(len)) == NULL) {
        return TREE_ZSYSTEMERROR;
    }
    if (len > 0) {
        memcpy(d, data, len);
    }
    free(x->data);
    x->data = d;
    x->dlen = len;
    x->dnull = false;
    return TREE_ZOK;
}

size_t tree_session_count(const tree_t *t)
{
    size_t c = 0;
    for (size_t i = 0; i < t->nown; i++) {
        c += t->own[i].session;
    }
    return c;
}

int tree_container_candidates(const tree_t *t, int64_t now, char ***paths,
                              size_t *n)
{
    strv_t b = {0};
    *paths = NULL;
    *n = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const tree_node_t *x = t->slot[i];
        if (x == NULL || x->nkids != 0) {
            continue;
        }
        int e = eph_type(t, x->owner);
        bool want = false;
        if (e == EPH_CONTAINER) {
            want = x->cversion > 0;
        } else if (e == EPH_TTL) {
            int64_t ttl = (int64_t)((uint64_t)x->owner & TREE_TTL_MASK);
            want = ttl != 0 && x->mtime + ttl < now;
        }
        if (want) {
            strv_push(&b, x->path, x->plen);
        }
    }
    return strv_finish(&b, paths, n);
}

/* ---- PathUtils.validatePath ---------------------------------------------- */

/* Decode one UTF-8 sequence at s[i..len); returns its length, 0 if bad. */
static size_t utf8_decode(const uint8_t *s, size_t i, size_t len,
                          uint32_t *cp)
{
    uint8_t c = s[i];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + n > len) {
        return 0;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[i + k] & 0x3f);
    }
    if (v < min || v > 0x10ffff) {
        return 0;
    }
    *cp = v;
    return n;
}

int tree_validate_path(const char *path, size_t max_path)
{
    if (path == NULL) {
        return TREE_ZBADARGUMENTS;
    }
    size_t len = strnlen(path, max_path + 1);
    if (len == 0 || len > max_path || path[0] != '/') {
        return TREE_ZBADARGUMENTS;
    }
    if (len == 1) {
        return TREE_ZOK;
    }
    if (path[len - 1] == '/') {
        return TREE_ZBADARGUMENTS;
    }
    const uint8_t *s = (const uint8_t *)path;
    for (size_t i = 1; i < len;) {
        uint8_t c = s[i];
        uint8_t last = s[i - 1];
        if (c == '/' && last == '/') {
            return TREE_ZBADARGUMENTS; /* empty node name */
        } else if (c == '.' && last == '.') {
            if (s[i - 2] == '/' && (i + 1 == len || s[i + 1] == '/')) {
                return TREE_ZBADARGUMENTS; /* relative path */
            }
        } else if (c == '.') {
            if (last == '/' && (i + 1 == len || s[i + 1] == '/')) {
                return TREE_ZBADARGUMENTS;
            }
        }
        uint32_t cp;
        size_t n = utf8_decode(s, i, len, &cp);
        if (n == 0 || (cp > 0 && cp <= 0x1f) || (cp >= 0x7f && cp <= 0x9f) ||
            (cp >= 0xd800 && cp <= 0xf8ff) || cp >= 0xfff0) {
            /* cp >= 0x10000 is a surrogate pair in Java: rejected too. */
            return TREE_ZBADARGUMENTS;
        }
        i += n;
    }
    return TREE_ZOK;
}

/* Is path one of DataTree.isSpecialPath's? */
static bool special_path(const char *p)
{
    return strcmp(p, "/") == 0 || strcmp(p, "/zookeeper") == 0 ||
           strcmp(p, "/zookeeper/quota") == 0 ||
           strcmp(p, "/zookeeper/config") == 0;
}

/* ---- binary writer / reader ---------------------------------------------- */

typedef struct sink {
    uint8_t *buf;
    size_t len, cap;
    EVP_MD_CTX *md;
    bool fail;
} sink_t;

static void put(sink_t *s, const void *p, size_t n)
{
    if (s->fail || n == 0) {
        return;
    }
    if (s->md != NULL) {
        if (EVP_DigestUpdate(s->md, p, n) != 1) {
            s->fail = true;
        }
        return;
    }
    if (s->len + n > s->cap) {
        size_t nc = s->cap == 0 ? 256 : s->cap;
        while (nc < s->len + n) {
            nc *= 2;
        }
        uint8_t *nb = realloc(s->buf, nc);
        if (nb == NULL) {
            s->fail = true;
            return;
        }
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void put_u64(sink_t *s, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    }
    put(s, b, 8);
}

static void put_u32(sink_t *s, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    put(s, b, 4);
}

static void put_i32(sink_t *s, int32_t v)
{
    put_u32(s, (uint32_t)v);
}

static void put_i64(sink_t *s, int64_t v)
{
    put_u64(s, (uint64_t)v);
}

static void put_bytes(sink_t *s, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        s->fail = true;
        return;
    }
    put_u32(s, (uint32_t)n);
    put(s, p, n);
}

static void put_str(sink_t *s, const char *p)
{
    put_bytes(s, p, p != NULL ? strlen(p) : 0);
}

static void put_acl(sink_t *s, const acl_list_t *a)
{
    put_u32(s, (uint32_t)a->n);
    for (size_t i = 0; i < a->n; i++) {
        put_i32(s, a->v[i].perms);
        put_str(s, a->v[i].id.scheme);
        put_str(s, a->v[i].id.id);
    }
}

typedef struct rd {
    const uint8_t *p;
    size_t len, off;
    bool bad;
    bool nomem;
} rd_t;

static const uint8_t *take(rd_t *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}

static uint64_t get_u64(rd_t *r)
{
    const uint8_t *b = take(r, 8);
    uint64_t v = 0;
    for (int i = 0; b != NULL && i < 8; i++) {
        v = (v << 8) | b[i];
    }
    return v;
}

static uint32_t get_u32(rd_t *r)
{
    const uint8_t *b = take(r, 4);
    return b == NULL ? 0
                     : ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
                           ((uint32_t)b[2] << 8) | b[3];
}

static int32_t get_i32(rd_t *r)
{
    uint32_t u = get_u32(r);
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - INT32_MAX - 1) + INT32_MIN;
}

static int64_t get_i64(rd_t *r)
{
    uint64_t u = get_u64(r);
    return u <= INT64_MAX ? (int64_t)u : (int64_t)(u - INT64_MAX - 1) + INT64_MIN;
}

/* Length 0xffffffff encodes null data (ZooKeeper's null byte[]). */
#define NULL_BLOB 0xffffffffu

static void put_data(sink_t *s, const void *p, size_t n, bool null)
{
    if (null) {
        put_u32(s, NULL_BLOB);
        return;
    }
    put_bytes(s, p, n);
}

/* A length-prefixed blob of at most max bytes; pointer into the buffer.
 * *null (if given) tells null data from empty. */
static const uint8_t *get_data_blob(rd_t *r, size_t max, size_t *n,
                                    bool *null)
{
    uint32_t l = get_u32(r);
    *n = 0;
    *null = false;
    if (!r->bad && l == NULL_BLOB) {
        *null = true;
        return NULL;
    }
    if (r->bad || l > max) {
        r->bad = true;
        return NULL;
    }
    *n = l;
    return take(r, l);
}

static const uint8_t *get_blob(rd_t *r, size_t max, size_t *n)
{
    uint32_t l = get_u32(r);
    *n = 0;
    if (r->bad || l > max) {
        r->bad = true;
        return NULL;
    }
    *n = l;
    return take(r, l);
}

/* A string without NUL bytes, copied and NUL-terminated. */
static char *get_str(rd_t *r, size_t max)
{
    size_t n;
    const uint8_t *b = get_blob(r, max, &n);
    if (b == NULL && (r->bad || n > 0)) {
        return NULL;
    }
    if (n > 0 && memchr(b, 0, n) != NULL) {
        r->bad = true;
        return NULL;
    }
    char *s = memdup0(b, n);
    if (s == NULL) {
        r->nomem = r->bad = true;
    }
    return s;
}

static void get_acl(rd_t *r, acl_list_t *a, size_t max)
{
    uint32_t n = get_u32(r);
    if (r->bad || n > max) {
        r->bad = true;
        return;
    }
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        int32_t perms = get_i32(r);
        char *sch = get_str(r, ACL_MAX_STR);
        char *id = get_str(r, ACL_MAX_STR);
        if (!r->bad) {
            int rc = acl_list_add(a, perms, sch, id, 0);
            if (rc != ACL_OK) {
                r->bad = true;
                r->nomem = rc == ACL_ENOMEM;
            }
        }
        free(sch);
        free(id);
    }
}

/* ---- transactions -------------------------------------------------------- */

void tree_txn_init(tree_txn_t *x)
{
    memset(x, 0, sizeof *x);
    acl_list_init(&x->acl);
    x->type = TREE_OP_ERROR;
}

void tree_txn_free(tree_txn_t *x)
{
    if (x == NULL) {
        return;
    }
    free(x->path);
    free(x->data);
    acl_list_free(&x->acl);
    for (size_t i = 0; i < x->nops; i++) {
        tree_txn_free(&x->ops[i]);
    }
    free(x->ops);
    tree_txn_init(x);
}

static void enc_body(sink_t *s, const tree_txn_t *x)
{
    switch (x->type) {
    case TREE_OP_CREATE:
        put_str(s, x->path);
        put_data(s, x->data, x->data_len, x->data_null);
        put_acl(s, &x->acl);
        put_i64(s, x->ephemeral_owner);
        put_i32(s, x->parent_cversion);
        break;
    case TREE_OP_DELETE:
        put_str(s, x->path);
        break;
    case TREE_OP_SET_DATA:
        put_str(s, x->path);
        put_data(s, x->data, x->data_len, x->data_null);
        put_i32(s, x->version);
        break;
    case TREE_OP_SET_ACL:
        put_str(s, x->path);
        put_acl(s, &x->acl);
        put_i32(s, x->version);
        break;
    case TREE_OP_CHECK:
        put_str(s, x->path);
        put_i32(s, x->version);
        break;
    case TREE_OP_ERROR:
        put_i32(s, x->err);
        break;
    case TREE_OP_CREATE_SESSION:
        put_i32(s, x->timeout);
        break;
    case TREE_OP_CLOSE_SESSION:
        break;
    case TREE_OP_MULTI:
        put_u32(s, (uint32_t)x->nops);
        for (size_t i = 0; i < x->nops; i++) {
            if (x->ops[i].type == TREE_OP_MULTI) {
                s->fail = true;
            }
            put_i32(s, x->ops[i].type);
            enc_body(s, &x->ops[i]);
        }
        break;
    default:
        s->fail = true;
    }
}

int tree_txn_encode(const tree_txn_t *x, uint8_t **out, size_t *len)
{
    sink_t s = {0};
    put_i32(&s, x->type);
    put_i64(&s, x->session);
    put_i32(&s, x->cxid);
    put_i64(&s, x->time);
    enc_body(&s, x);
    if (s.fail) {
        free(s.buf);
        *out = NULL;
        *len = 0;
        return TREE_ZSYSTEMERROR;
    }
    *out = s.buf;
    *len = s.len;
    return TREE_ZOK;
}

static void dec_body(rd_t *r, const tree_config_t *c, tree_txn_t *x,
                     bool top)
{
    size_t n;
    const uint8_t *b;
    switch (x->type) {
    case TREE_OP_CREATE:
    case TREE_OP_SET_DATA:
        x->path = get_str(r, c->max_path);
        b = get_data_blob(r, c->max_data, &n, &x->data_null);
        if (!r->bad && n > 0) {
            x->data = malloc(n);
            if (x->data == NULL) {
                r->bad = r->nomem = true;
                return;
            }
            memcpy(x->data, b, n);
            x->data_len = n;
        }
        if (x->type == TREE_OP_CREATE) {
            get_acl(r, &x->acl, c->max_acl);
            x->ephemeral_owner = get_i64(r);
            x->parent_cversion = get_i32(r);
        } else {
            x->version = get_i32(r);
        }
        break;
    case TREE_OP_DELETE:
        x->path = get_str(r, c->max_path);
        break;
    case TREE_OP_SET_ACL:
        x->path = get_str(r, c->max_path);
        get_acl(r, &x->acl, c->max_acl);
        x->version = get_i32(r);
        break;
    case TREE_OP_CHECK:
        x->path = get_str(r, c->max_path);
        x->version = get_i32(r);
        break;
    case TREE_OP_ERROR:
        x->err = get_i32(r);
        break;
    case TREE_OP_CREATE_SESSION:
        x->timeout = get_i32(r);
        break;
    case TREE_OP_CLOSE_SESSION:
        break;
    case TREE_OP_MULTI: {
        uint32_t k = get_u32(r);
        /* Each sub-op takes at least 8 bytes: bounds the allocation. */
        if (!top || r->bad || k > c->max_multi ||
            k > (r->len - r->off) / 8) {
            r->bad = true;
            return;
        }
        x->ops = calloc(k + 1, sizeof *x->ops);
        if (x->ops == NULL) {
            r->bad = r->nomem = true;
            return;
        }
        for (uint32_t i = 0; i < k && !r->bad; i++) {
            tree_txn_init(&x->ops[i]);
            x->nops = i + 1;
            x->ops[i].type = get_i32(r);
            x->ops[i].session = x->session;
            x->ops[i].cxid = x->cxid;
            x->ops[i].time = x->time;
            dec_body(r, c, &x->ops[i], false);
        }
        break;
    }
    default:
        r->bad = true;
    }
}

int tree_txn_decode(const uint8_t *buf, size_t len, const tree_config_t *cfg,
                    tree_txn_t *x)
{
    tree_config_t def;
    if (cfg == NULL) {
        tree_config_default(&def);
        cfg = &def;
    }
    tree_txn_init(x);
    rd_t r = {buf, buf != NULL ? len : 0, 0, false, false};
    x->type = get_i32(&r);
    x->session = get_i64(&r);
    x->cxid = get_i32(&r);
    x->time = get_i64(&r);
    if (!r.bad) {
        dec_body(&r, cfg, x, true);
    }
    if (!r.bad && r.off != r.len) {
        r.bad = true;
    }
    if (r.bad) {
        tree_txn_free(x);
        return r.nomem ? TREE_ZSYSTEMERROR : TREE_ZMARSHALLINGERROR;
    }
    return TREE_ZOK;
}

/* ---- outstanding changes (PrepRequestProcessor.ChangeRecord) ------------- */

size_t tree_pending_count(const tree_t *t)
{
    return t->npend;
}

void tree_pending_release(tree_t *t, int64_t upto)
{
    size_t k = 0;
    while (k < t->npend && t->pend[k].tag <= upto) {
        pend_free_one(&t->pend[k]);
        k++;
    }
    if (k > 0) {
        memmove(t->pend, t->pend + k, (t->npend - k) * sizeof *t->pend);
        t->npend -= k;
    }
}

static void pending_truncate(tree_t *t, size_t mark)
{
    while (t->npend > mark) {
        pend_free_one(&t->pend[--t->npend]);
    }
}

/* getRecordForPath: the newest outstanding record, else the tree.  The
 * view's acl and path are borrowed. */
static int get_rec(const tree_t *t, const char *path, pend_t *v)
{
    for (size_t i = t->npend; i-- > 0;) {
        if (strcmp(t->pend[i].path, path) == 0) {
            if (!t->pend[i].exists) {
                return TREE_ZNONODE;
            }
            *v = t->pend[i];
            return TREE_ZOK;
        }
    }
    tree_node_t *x = find_node(t, path);
    if (x == NULL) {
        return TREE_ZNONODE;
    }
    memset(v, 0, sizeof *v);
    v->path = x->path;
    v->exists = true;
    v->owner = x->owner;
    v->version = x->version;
    v->cversion = x->cversion;
    v->aversion = x->aversion;
    v->nkids = (int32_t)x->nkids;
    v->acl = *node_acl(x); /* borrowed; add_rec copies it */
    return TREE_ZOK;
}

/* addChangeRecord: a deep copy of *v, tagged. */
static int add_rec(tree_t *t, int64_t tag, const pend_t *v)
{
    if (t->npend >= t->cfg.max_pending) {
        return TREE_ZQUOTAEXCEEDED;
    }
    if (t->npend == t->cpend) {
        size_t nc = t->cpend == 0 ? 16 : t->cpend * 2;
        pend_t *np = realloc(t->pend, nc * sizeof *np);
        if (np == NULL) {
            return TREE_ZSYSTEMERROR;
        }
        t->pend = np;
        t->cpend = nc;
    }
    pend_t r = *v;
    r.tag = tag;
    r.path = memdup0(v->path, strlen(v->path));
    acl_list_init(&r.acl);
    if (r.path == NULL || (v->exists && acl_list_copy(&r.acl, &v->acl) != 0)) {
        free(r.path);
        acl_list_free(&r.acl);
        return TREE_ZSYSTEMERROR;
    }
    t->pend[t->npend++] = r;
    return TREE_ZOK;
}

static int add_deleted(tree_t *t, int64_t tag, const char *path)
{
    pend_t v;
    memset(&v, 0, sizeof v);
    v.path = (char *)(uintptr_t)path; /* copied by add_rec */
    return add_rec(t, tag, &v);
}

/* The parent path of path (which has a '/' at lastSlash): "" becomes "/".
 * Returns a new string or NULL. */
static char *parent_of(const char *path)
{
    const char *s = strrchr(path, '/');
    size_t n = (size_t)(s - path);
    return n == 0 ? memdup0("/", 1) : memdup0(path, n);
}

static int check_version(int32_t cur, int32_t expected, int32_t *next)
{
    if (expected != -1 && expected != cur) {
        return TREE_ZBADVERSION;
    }
    *next = next_version(cur);
    return TREE_ZOK;
}

static int fixup(const tree_t *t, const acl_list_t *in, const acl_auth_t *who,
                 acl_list_t *out)
{
    int rc = acl_fixup(in, who, out, t->cfg.max_acl);
    if (rc == ACL_OK) {
        return TREE_ZOK;
    }
    return rc == ACL_ENOMEM ? TREE_ZSYSTEMERROR : TREE_ZINVALIDACL;
}

static int set_path(tree_txn_t *x, const char *p)
{
    x->path = memdup0(p, strlen(p));
    return x->path == NULL ? TREE_ZSYSTEMERROR : TREE_ZOK;
}

static int set_data(tree_txn_t *x, const uint8_t *d, size_t n, bool null)
{
    x->data_null = null;
    if (n == 0) {
        return TREE_ZOK;
    }
    if (d == NULL) {
        return TREE_ZBADARGUMENTS;
    }
    x->data = malloc(n);
    if (x->data == NULL) {
        return TREE_ZSYSTEMERROR;
    }
    memcpy(x->data, d, n);
    x->data_len = n;
    return TREE_ZOK;
}

static int prep_create(tree_t *t, const tree_op_t *op, int64_t session,
                       const acl_auth_t *who, int64_t tag, tree_txn_t *x)
{
    int f = op->flags;
    if (f < TREE_PERSISTENT || f > TREE_PERSISTENT_SEQUENTIAL_WITH_TTL) {
        return TREE_ZBADARGUMENTS; /* CreateMode.fromFlag */
    }
    bool ttl_mode = f == TREE_PERSISTENT_WITH_TTL ||
                    f == TREE_PERSISTENT_SEQUENTIAL_WITH_TTL;
    bool seq = f == TREE_PERSISTENT_SEQUENTIAL ||
               f == TREE_EPHEMERAL_SEQUENTIAL ||
               f == TREE_PERSISTENT_SEQUENTIAL_WITH_TTL;
    /* As PrepRequestProcessor: the opcode, not the flags, makes a
     * container (a CreateContainerTxn); create/create2 with the CONTAINER
     * flag make a plain persistent node (CreateTxn, not ephemeral). */
    bool container = op->type == TREE_OP_CREATE_CONTAINER;
    bool ephemeral = !container &&
                     (f == TREE_EPHEMERAL || f == TREE_EPHEMERAL_SEQUENTIAL);
    /* validateCreateRequest */
    if (ttl_mode && !t->cfg.extended_types) {
        return TREE_ZUNIMPLEMENTED;
    }
    if (ttl_mode != (op->type == TREE_OP_CREATE_TTL) ||
        (ttl_mode && tree_ttl_owner(op->ttl) == 0)) {
        return TREE_ZBADARGUMENTS;
    }
    /* validatePathForCreate */
    if (op->path == NULL ||
        strnlen(op->path, t->cfg.max_path + 1) > t->cfg.max_path ||
        strchr(op->path, '/') == NULL || op->data_len > t->cfg.max_data) {
        return TREE_ZBADARGUMENTS;
    }
    acl_list_t acl;
    acl_list_init(&acl);
    int rc = fixup(t, op->acl, who, &acl);
    char *ppath = NULL;
    char *path = NULL;
    pend_t pr, nr;
    if (rc != TREE_ZOK) {
        goto out;
    }
    ppath = parent_of(op->path);
    if (ppath == NULL) {
        rc = TREE_ZSYSTEMERROR;
        goto out;
    }
    if ((rc = get_rec(t, ppath, &pr)) != TREE_ZOK) {
        goto out;
    }
    if (!acl_check(&pr.acl, ACL_CREATE, who)) {
        rc = TREE_ZNOAUTH;
        goto out;
    }
    size_t plen = strlen(op->path);
    path = malloc(plen + 16);
    if (path == NULL) {
        rc = TREE_ZSYSTEMERROR;
        goto out;
    }
    memcpy(path, op->path, plen + 1);
    if (seq) {
        snprintf(path + plen, 16, "%010d", (int)pr.cversion);
    }
    if ((rc = tree_validate_path(path, t->cfg.max_path)) != TREE_ZOK) {
        goto out;
    }
    if (get_rec(t, path, &nr) == TREE_ZOK) {
        rc = TREE_ZNODEEXISTS;
        goto out;
    }
    if (eph_type(t, pr.owner) == EPH_NORMAL) {
        rc = TREE_ZNOCHILDRENFOREPHEMERALS;
        goto out;
    }
    if (t->n + t->npend >= t->cfg.max_nodes) {
        rc = TREE_ZQUOTAEXCEEDED;
        goto out;
    }
    int64_t owner = 0;
    if (container) {
        owner = TREE_CONTAINER_OWNER;
    } else if (ttl_mode) {
        owner = tree_ttl_owner(op->ttl);
    } else if (ephemeral) {
        owner = session;
    }
    int32_t ncv = inc32(pr.cversion);
    x->type = TREE_OP_CREATE;
    x->path = path;
    path = NULL;
    if ((rc = set_data(x, op->data, op->data_len, op->data_null)) != TREE_ZOK) {
        goto out;
    }
    x->acl = acl;
    acl_list_init(&acl);
    x->ephemeral_owner = owner;
    x->parent_cversion = ncv;
    pr.nkids++;
    pr.cversion = ncv;
    if ((rc = add_rec(t, tag, &pr)) != TREE_ZOK) {
        goto out;
    }
    memset(&nr, 0, sizeof nr);
    nr.path = x->path;
    nr.exists = true;
    nr.owner = owner;
    nr.acl = x->acl;
    rc = add_rec(t, tag, &nr);
out:
    acl_list_free(&acl);
    free(ppath);
    free(path);
    return rc;
}

static int prep_delete(tree_t *t, const tree_op_t *op, const acl_auth_t *who,
                       int64_t tag, tree_txn_t *x)
{
    /* getParentPathAndValidate */
    if (op->path == NULL ||
        strnlen(op->path, t->cfg.max_path + 1) > t->cfg.max_path ||
        strchr(op->path, '/') == NULL || special_path(op->path)) {
        return TREE_ZBADARGUMENTS;
    }
    char *ppath = parent_of(op->path);
    if (ppath == NULL) {
        return TREE_ZSYSTEMERROR;
    }
    pend_t pr, nr;
    int32_t nv;
    int rc;
    if (op->type == TREE_OP_DELETE_CONTAINER) {
        if ((rc = get_rec(t, op->path, &nr)) != TREE_ZOK) {
            goto out;
        }
        if (nr.nkids > 0) {
            rc = TREE_ZNOTEMPTY;
            goto out;
        }
        if (eph_type(t, nr.owner) == EPH_NORMAL) {
            rc = TREE_ZBADVERSION;
            goto out;
        }
        if ((rc = get_rec(t, ppath, &pr)) != TREE_ZOK) {
            goto out;
        }
    } else {
        if ((rc = get_rec(t, ppath, &pr)) != TREE_ZOK) {
            goto out;
        }
        if (!acl_check(&pr.acl, ACL_DELETE, who)) {
            rc = TREE_ZNOAUTH;
            goto out;
        }
        if ((rc = get_rec(t, op->path, &nr)) != TREE_ZOK ||
            (rc = check_version(nr.version, op->version, &nv)) != TREE_ZOK) {
            goto out;
        }
        if (nr.nkids > 0) {
            rc = TREE_ZNOTEMPTY;
            goto out;
        }
    }
    x->type = TREE_OP_DELETE;
    if ((rc = set_path(x, op->path)) != TREE_ZOK) {
        goto out;
    }
    pr.nkids--;
    if ((rc = add_rec(t, tag, &pr)) == TREE_ZOK) {
        rc = add_deleted(t, tag, op->path);
    }
out:
    free(ppath);
    return rc;
}

static int prep_node(tree_t *t, const tree_op_t *op, const acl_auth_t *who,
                     int64_t tag, tree_txn_t *x)
{
    int rc = tree_validate_path(op->path, t->cfg.max_path);
    if (rc != TREE_ZOK) {
        return rc;
    }
    pend_t nr;
    int32_t nv;
    acl_list_t acl;
    acl_list_init(&acl);
    switch (op->type) {
    case TREE_OP_SET_DATA:
        if (op->data_len > t->cfg.max_data) {
            return TREE_ZBADARGUMENTS;
        }
        if ((rc = get_rec(t, op->path, &nr)) != TREE_ZOK) {
            return rc;
        }
        if (!acl_check(&nr.acl, ACL_WRITE, who)) {
            return TREE_ZNOAUTH;
        }
        if ((rc = check_version(nr.version, op->version, &nv)) != TREE_ZOK) {
            return rc;
        }
        x->type = TREE_OP_SET_DATA;
        x->version = nv;
        if ((rc = set_path(x, op->path)) != TREE_ZOK ||
            (rc = set_data(x, op->data, op->data_len, op->data_null)) != TREE_ZOK) {
            return rc;
        }
        nr.version = nv;
        return add_rec(t, tag, &nr);
    case TREE_OP_SET_ACL:
        if ((rc = fixup(t, op->acl, who, &acl)) != TREE_ZOK) {
            return rc;
        }
        if ((rc = get_rec(t, op->path, &nr)) != TREE_ZOK) {
            break;
        }
        if (!acl_check(&nr.acl, ACL_ADMIN, who)) {
            rc = TREE_ZNOAUTH;
            break;
        }
        if ((rc = check_version(nr.aversion, op->version, &nv)) !=
            TREE_ZOK) {
            break;
        }
        x->type = TREE_OP_SET_ACL;
        x->version = nv;
        if ((rc = set_path(x, op->path)) != TREE_ZOK) {
            break;
        }
        x->acl = acl;
        acl_list_init(&acl);
        nr.aversion = nv;
        nr.acl = x->acl;
        rc = add_rec(t, tag, &nr);
        break;
    case TREE_OP_CHECK:
        if ((rc = get_rec(t, op->path, &nr)) != TREE_ZOK) {
            return rc;
        }
        if (!acl_check(&nr.acl, ACL_READ, who)) {
            return TREE_ZNOAUTH;
        }
        if ((rc = check_version(nr.version, op->version, &nv)) != TREE_ZOK) {
            return rc;
        }
        x->type = TREE_OP_CHECK;
        x->version = nv;
        return set_path(x, op->path);
    default:
        return TREE_ZBADARGUMENTS;
    }
    acl_list_free(&acl);
    return rc;
}

/* One op into *x (initialised by the caller). */
static int prep_one(tree_t *t, const tree_op_t *op, int64_t session,
                    const acl_auth_t *who, int64_t tag, tree_txn_t *x)
{
    if (op == NULL) {
        return TREE_ZBADARGUMENTS;
    }
    switch (op->type) {
    case TREE_OP_CREATE:
    case TREE_OP_CREATE2:
    case TREE_OP_CREATE_CONTAINER:
    case TREE_OP_CREATE_TTL:
        return prep_create(t, op, session, who, tag, x);
    case TREE_OP_DELETE:
    case TREE_OP_DELETE_CONTAINER:
        return prep_delete(t, op, who, tag, x);
    default:
        return prep_node(t, op, who, tag, x);
    }
}

static void as_error(tree_txn_t *x, int32_t err)
{
    int64_t s = x->session, tm = x->time;
    int32_t c = x->cxid;
    tree_txn_free(x);
    x->type = TREE_OP_ERROR;
    x->err = err;
    x->session = s;
    x->time = tm;
    x->cxid = c;
}

int tree_prepare(tree_t *t, const tree_op_t *op, int64_t session,
                 const acl_auth_t *who, int64_t tag, int64_t time,
                 tree_txn_t *out)
{
    tree_txn_init(out);
    out->session = session;
    out->time = time;
    size_t mark = t->npend;
    int rc = prep_one(t, op, session, who, tag, out);
    if (rc != TREE_ZOK) {
        pending_truncate(t, mark);
        as_error(out, rc);
    }
    return rc;
}

int tree_prepare_multi(tree_t *t, const tree_op_t *ops, size_t nops,
                       int64_t session, const acl_auth_t *who, int64_t tag,
                       int64_t time, tree_txn_t *out)
{
    tree_txn_init(out);
    out->session = session;
    out->time = time;
    if (nops > t->cfg.max_multi || (nops > 0 && ops == NULL)) {
        as_error(out, TREE_ZBADARGUMENTS);
        return TREE_ZBADARGUMENTS;
    }
    out->ops = calloc(nops + 1, sizeof *out->ops);
    if (out->ops == NULL) {
        as_error(out, TREE_ZSYSTEMERROR);
        return TREE_ZSYSTEMERROR;
    }
    out->type = TREE_OP_MULTI;
    size_t mark = t->npend;
    int first = TREE_ZOK;
    for (size_t i = 0; i < nops; i++) {
        tree_txn_t *x = &out->ops[i];
        tree_txn_init(x);
        out->nops = i + 1;
        x->session = session;
        x->time = time;
        if (first != TREE_ZOK) {
            x->err = TREE_ZRUNTIMEINCONSISTENCY;
            continue;
        }
        /* Only what Op/MultiOperationRecord allows inside a multi. */
        int ty = ops[i].type;
        int rc = (ty == TREE_OP_SET_ACL || ty == TREE_OP_DELETE_CONTAINER)
                     ? TREE_ZBADARGUMENTS
                     : prep_one(t, &ops[i], session, who, tag, x);
        if (rc == TREE_ZSYSTEMERROR) {
            pending_truncate(t, mark);
            tree_txn_free(out);
            as_error(out, rc);
            return rc;
        }
        if (rc != TREE_ZOK) {
            first = rc;
            pending_truncate(t, mark); /* rollbackPendingChanges */
            as_error(x, rc);
        }
    }
    return first;
}

int tree_prepare_create_session(tree_t *t, int64_t session, int32_t timeout,
                                int64_t time, tree_txn_t *out)
{
    (void)t;
    tree_txn_init(out);
    out->type = TREE_OP_CREATE_SESSION;
    out->session = session;
    out->time = time;
    out->timeout = timeout;
    return TREE_ZOK;
}

int tree_prepare_close_session(tree_t *t, int64_t session, int64_t tag,
                               int64_t time, tree_txn_t *out)
{
    tree_txn_init(out);
    out->type = TREE_OP_CLOSE_SESSION;
    out->session = session;
    out->time = time;
    /* es = committed ephemerals, adjusted by the outstanding changes. */
    char **es = NULL;
    size_t n = 0;
    if (tree_get_ephemerals(t, session, NULL, &es, &n) != TREE_ZOK) {
        return TREE_ZSYSTEMERROR;
    }
    size_t cap = n + 1;
    int rc = TREE_ZOK;
    for (size_t i = 0; i < t->npend && rc == TREE_ZOK; i++) {
        const pend_t *c = &t->pend[i];
        size_t k = 0;
        while (k < n && strcmp(es[k], c->path) != 0) {
            k++;
        }
        if (!c->exists && k < n) {
            free(es[k]);
            es[k] = es[--n];
        } else if (c->exists && c->owner == session && k == n) {
            if (n + 1 >= cap) {
                char **ne = realloc(es, cap * 2 * sizeof *ne);
                if (ne == NULL) {
                    rc = TREE_ZSYSTEMERROR;
                    break;
                }
                es = ne;
                cap *= 2;
            }
            es[n] = memdup0(c->path, strlen(c->path));
            rc = es[n] == NULL ? TREE_ZSYSTEMERROR : TREE_ZOK;
            n += es[n] != NULL;
        }
    }
    size_t mark = t->npend;
    for (size_t i = 0; i < n && rc == TREE_ZOK; i++) {
        char *pp = parent_of(es[i]);
        pend_t pr;
        if (pp == NULL) {
            rc = TREE_ZSYSTEMERROR;
            break;
        }
        if (get_rec(t, pp, &pr) == TREE_ZOK) {
            pr.nkids--;
            rc = add_rec(t, tag, &pr);
        }
        free(pp);
        if (rc == TREE_ZOK) {
            rc = add_deleted(t, tag, es[i]);
        }
    }
    tree_strv_free(es, n);
    if (rc != TREE_ZOK) {
        pending_truncate(t, mark);
        as_error(out, rc);
    }
    return rc;
}

/* ---- quotas (DataTree's pTrie, updateQuotaStat, updateQuotaForPath) ------- */

/* ZooKeeper keeps, for a path P with a quota, the limits in
 * /zookeeper/quota/P/zookeeper_limits (written by clients: zkCli's
 * setquota) and the usage in /zookeeper/quota/P/zookeeper_stats, which
 * the tree itself maintains as every replica applies a change under P:
 * "count=N,bytes=B[,key=value...]", without touching that node's Stat.
 * The limits are not enforced (ZooKeeper's default: enforceQuota=false). */
#define QUOTA_ROOT "/zookeeper/quota"
#define QUOTA_LIMITS "zookeeper_limits"
#define QUOTA_STATS "zookeeper_stats"

/* If path is QUOTA_ROOT + P + "/" + name, P (as an offset and length into
 * path). */
static bool quota_node(const char *path, size_t n, const char *name,
                       size_t *off, size_t *len)
{
    size_t r = strlen(QUOTA_ROOT), k = strlen(name);
    if (n < r + 2 + k || memcmp(path, QUOTA_ROOT "/", r + 1) != 0 ||
        path[n - k - 1] != '/' || memcmp(path + n - k, name, k) != 0) {
        return false;
    }
    *off = r;
    *len = n - k - 1 - r;
    return *len > 1;
}

static int quota_add(tree_t *t, const char *p, size_t n)
{
    for (size_t i = 0; i < t->nquota; i++) {
        if (strlen(t->quota[i]) == n && memcmp(t->quota[i], p, n) == 0) {
            return 0;
        }
    }
    char **v = realloc(t->quota, (t->nquota + 1) * sizeof *v);
    if (v == NULL) {
        return -1;
    }
    t->quota = v;
    if ((v[t->nquota] = memdup0(p, n)) == NULL) {
        return -1;
    }
    t->nquota++;
    return 0;
}

static void quota_remove(tree_t *t, const char *p, size_t n)
{
    for (size_t i = 0; i < t->nquota; i++) {
        if (strlen(t->quota[i]) == n && memcmp(t->quota[i], p, n) == 0) {
            free(t->quota[i]);
            t->quota[i] = t->quota[--t->nquota];
            return;
        }
    }
}

/* getMaxPrefixWithQuota: the longest path with a quota that is path or
 * an ancestor of it (a quota on "/" counts for nothing, as in ZooKeeper). */
static const char *quota_prefix(const tree_t *t, const char *path, size_t n)
{
    const char *best = NULL;
    size_t bl = 0;
    for (size_t i = 0; i < t->nquota; i++) {
        const char *q = t->quota[i];
        size_t ql = strlen(q);
        if (ql > 1 && ql <= n && ql > bl && memcmp(path, q, ql) == 0 &&
            (ql == n || path[ql] == '/')) {
            best = q;
            bl = ql;
        }
    }
    return best;
}

/* Sets the data of a stats node to count and bytes, then the other
 * ",key=value" pairs of `rest` (from its old data), as StatsTrack writes. */
static int quota_write(tree_node_t *st, int64_t count, int64_t bytes,
                       const char *rest, size_t rlen)
{
    char head[64];
    int h = snprintf(head, sizeof head, "count=%" PRId64 ",bytes=%" PRId64,
                     count, bytes);
    uint8_t *d = malloc((size_t)h + rlen);
    if (d == NULL) {
        return -1;
    }
    memcpy(d, head, (size_t)h);
    if (rlen > 0) {
        memcpy(d + h, rest, rlen);
    }
    free(st->data);
    st->data = d;
    st->dlen = (uint32_t)((size_t)h + rlen);
    st->dnull = false;
    return 0;
}

static tree_node_t *quota_stats_node(const tree_t *t, const char *q)
{
    char path[4200];
    int n = snprintf(path, sizeof path, QUOTA_ROOT "%s/" QUOTA_STATS, q);
    return n > 0 && (size_t)n < sizeof path ? map_get(t, path, (size_t)n)
                                           : NULL;
}

/* updateQuotaStat: usage under q changes by bytes and count. */
static int quota_adjust(tree_t *t, const char *q, int64_t dbytes,
                        int64_t dcount)
{
    tree_node_t *st = quota_stats_node(t, q);
    if (st == NULL) {
        return 0; /* ZooKeeper logs it; nothing to update */
    }
    int64_t count = 0, bytes = 0;
    char *rest = malloc((size_t)st->dlen + 1);
    size_t rlen = 0;
    if (rest == NULL) {
        return -1;
    }
    /* key=value pairs separated by commas; count and bytes are read, the
     * others kept in order.  A malformed pair is dropped. */
    const char *d = (const char *)st->data, *end = d + st->dlen;
    while (d != NULL && d < end) {
        const char *comma = memchr(d, ',', (size_t)(end - d));
        const char *e = comma != NULL ? comma : end;
        const char *eq = memchr(d, '=', (size_t)(e - d));
        if (eq != NULL) {
            char num[32];
            size_t kl = (size_t)(eq - d), vl = (size_t)(e - eq - 1);
            int64_t v = 0;
            if (vl < sizeof num) {
                memcpy(num, eq + 1, vl);
                num[vl] = '\0';
                v = strtoll(num, NULL, 10);
            }
            if (kl == 5 && memcmp(d, "count", 5) == 0) {
                count = v;
            } else if (kl == 5 && memcmp(d, "bytes", 5) == 0) {
                bytes = v;
            } else {
                rest[rlen++] = ',';
                memcpy(rest + rlen, d, (size_t)(e - d));
                rlen += (size_t)(e - d);
            }
        }
        d = comma != NULL ? comma + 1 : NULL;
    }
    int rc = quota_write(st, count + dcount, bytes + dbytes, rest, rlen);
    free(rest);
    return rc;
}

static void quota_count(const tree_node_t *x, int64_t *count, int64_t *bytes)
{
    *count += 1;
    *bytes += x->dlen;
    for (uint32_t i = 0; i < x->nkids; i++) {
        quota_count(x->kids[i], count, bytes);
    }
}

/* updateQuotaForPath: the stats node says what is under q now. */
static int quota_recount(tree_t *t, const char *q, size_t ql)
{
    char *qs = memdup0(q, ql);
    if (qs == NULL) {
        return -1;
    }
    tree_node_t *st = quota_stats_node(t, qs);
    tree_node_t *x = map_get(t, q, ql);
    int64_t count = 0, bytes = 0;
    free(qs);
    if (st == NULL) {
        return 0;
    }
    if (x != NULL) {
        quota_count(x, &count, &bytes);
    }
    return quota_write(st, count, bytes, NULL, 0);
}

/* After node c was created (DataTree.createNode's quota part). */
static int quota_created(tree_t *t, const tree_node_t *c)
{
    size_t off, len;
    if (quota_node(c->path, c->plen, QUOTA_LIMITS, &off, &len) &&
        quota_add(t, c->path + off, len) != 0) {
        return -1;
    }
    if (quota_node(c->path, c->plen, QUOTA_STATS, &off, &len) &&
        quota_recount(t, c->path + off, len) != 0) {
        return -1;
    }
    const char *q = quota_prefix(t, c->path, c->plen);
    return q != NULL ? quota_adjust(t, q, c->dlen, 1) : 0;
}

/* Before node c goes (DataTree.deleteNode's quota part). */
static int quota_deleted(tree_t *t, const tree_node_t *c)
{
    size_t off, len;
    if (quota_node(c->path, c->plen, QUOTA_LIMITS, &off, &len)) {
        quota_remove(t, c->path + off, len);
    }
    const char *q = quota_prefix(t, c->path, c->plen);
    return q != NULL ? quota_adjust(t, q, -(int64_t)c->dlen, -1) : 0;
}

/* After loading a tree: every zookeeper_limits node names a quota. */
static int quota_rebuild(tree_t *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        const tree_node_t *x = t->slot[i];
        size_t off, len;
        if (x != NULL && quota_node(x->path, x->plen, QUOTA_LIMITS, &off,
                                    &len) &&
            quota_add(t, x->path + off, len) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- apply (DataTree.processTxn) ----------------------------------------- */

void tree_result_free(tree_result_t *r)
{
    if (r == NULL) {
        return;
    }
    free(r->path);
    for (size_t i = 0; i < r->nsub; i++) {
        tree_result_free(&r->sub[i]);
    }
    free(r->sub);
    for (size_t i = 0; i < r->ntrig; i++) {
        free(r->trig[i].path);
    }
    free(r->trig);
    memset(r, 0, sizeof *r);
}

static int trig(tree_result_t *top, int32_t table, int32_t ev,
                const char *path, size_t plen)
{
    if (top == NULL) {
        return 0;
    }
    tree_trigger_t *v = realloc(top->trig, (top->ntrig + 1) * sizeof *v);
    if (v == NULL) {
        return -1;
    }
    top->trig = v;
    char *p = memdup0(path, plen);
    if (p == NULL) {
        return -1;
    }
    v[top->ntrig].table = table;
    v[top->ntrig].event = ev;
    v[top->ntrig].path = p;
    top->ntrig++;
    return 0;
}

static int set_rpath(tree_result_t *r, const char *p)
{
    if (r == NULL || p == NULL) {
        return 0;
    }
    free(r->path);
    r->path = memdup0(p, strlen(p));
    return r->path == NULL ? -1 : 0;
}

/* Parent of a validated absolute path p of length n: node or NULL. */
static tree_node_t *parent_node(const tree_t *t, const char *p, size_t n,
                                size_t *ppl)
{
    const char *s = NULL;
    for (size_t i = n; i-- > 0;) {
        if (p[i] == '/') {
            s = p + i;
            break;
        }
    }
    if (s == NULL || n <= 1) {
        return NULL;
    }
    *ppl = s == p ? 1 : (size_t)(s - p);
    return map_get(t, p, *ppl);
}

static int apply_create(tree_t *t, const tree_txn_t *x, int64_t zxid,
                        tree_result_t *r, tree_result_t *top)
{
    /* Only a faulty leader sends these; refuse them identically. */
    if (x->path == NULL || (x->data_len > 0 && x->data == NULL) ||
        tree_validate_path(x->path, t->cfg.max_path) != TREE_ZOK) {
        return TREE_ZBADARGUMENTS;
    }
    size_t n = strlen(x->path), ppl;
    tree_node_t *p = parent_node(t, x->path, n, &ppl);
    if (p == NULL) {
        return n <= 1 ? TREE_ZNODEEXISTS : TREE_ZNONODE;
    }
    if (map_get(t, x->path, n) != NULL) {
        return TREE_ZNODEEXISTS;
    }
    tree_node_t *c = node_new(x->path, n);
    if (c == NULL || !node_set_acl(t, c, &x->acl) ||
        (x->data_len > 0 && (c->data = malloc(x->data_len)) == NULL)) {
        node_free(t, c);
        return TREE_ZSYSTEMERROR;
    }
    if (x->data_len > 0) {
        memcpy(c->data, x->data, x->data_len);
    }
    c->dlen = x->data_len;
    c->dnull = x->data_null;
    c->czxid = c->mzxid = c->pzxid = zxid;
    c->ctime = c->mtime = x->time;
    c->owner = x->ephemeral_owner;
    if (node_link(t, p, c) != 0) {
        node_free(t, c);
        return TREE_ZSYSTEMERROR;
    }
    if (quota_created(t, c) != 0) {
        return TREE_ZSYSTEMERROR;
    }
    int32_t pcv = x->parent_cversion;
    if (pcv == -1) {
        pcv = inc32(p->cversion);
    }
    if (pcv > p->cversion) {
        p->cversion = pcv;
        p->pzxid = zxid;
    }
    if (r != NULL) {
        r->has_stat = true;
        node_stat(c, &r->stat);
    }
    if (set_rpath(r, x->path) != 0 ||
        trig(top, TREE_TRIG_DATA, TREE_EV_CREATED, x->path, n) != 0 ||
        trig(top, TREE_TRIG_CHILD, TREE_EV_CHILDREN_CHANGED, x->path, ppl) !=
            0) {
        return TREE_ZSYSTEMERROR;
    }
    return TREE_ZOK;
}

static int delete_node(tree_t *t, const char *path, int64_t zxid,
                       tree_result_t *top)
{
    size_t n = strlen(path), ppl;
    tree_node_t *p = parent_node(t, path, n, &ppl);
    if (p == NULL) {
        return TREE_ZNONODE;
    }
    tree_node_t *c = map_get(t, path, n);
    if (c != NULL && c->nkids > 0) {
        return TREE_ZNOTEMPTY; /* DataTree would orphan them; we refuse */
    }
    /* As DataTree: the parent's pzxid moves even if the child is gone. */
    if (zxid > p->pzxid) {
        p->pzxid = zxid;
    }
    if (c == NULL) {
        return TREE_ZNONODE;
    }
    if (quota_deleted(t, c) != 0) {
        return TREE_ZSYSTEMERROR;
    }
    node_unlink(t, c);
    node_free(t, c);
    if (trig(top, TREE_TRIG_DATA_CHILD, TREE_EV_DELETED, path, n) != 0 ||
        trig(top, TREE_TRIG_CHILD, TREE_EV_CHILDREN_CHANGED, path, ppl) !=
            0) {
        return TREE_ZSYSTEMERROR;
    }
    return TREE_ZOK;
}

static int apply_close(tree_t *t, int64_t session, int64_t zxid,
                       tree_result_t *top)
{
    char **es = NULL;
    size_t n = 0;
    if (tree_get_ephemerals(t, session, NULL, &es, &n) != TREE_ZOK) {
        return TREE_ZSYSTEMERROR;
    }
    int rc = TREE_ZOK;
    for (size_t i = 0; i < n; i++) {
        int e = delete_node(t, es[i], zxid, top);
        if (e == TREE_ZSYSTEMERROR) {
            rc = e;
        }
    }
    tree_strv_free(es, n);
    owner_t *o = own_get(t, session);
    if (o != NULL) {
        o->session = false;
        own_drop_if_empty(t, session);
    }
    return rc;
}

static int apply_one(tree_t *t, const tree_txn_t *x, int64_t zxid,
                     tree_result_t *r, tree_result_t *top);

static int apply_multi(tree_t *t, const tree_txn_t *x, int64_t zxid,
                       tree_result_t *r, tree_result_t *top)
{
    bool failed = false;
    for (size_t i = 0; i < x->nops; i++) {
        failed |= x->ops[i].type == TREE_OP_ERROR;
    }
    if (r != NULL) {
        r->sub = calloc(x->nops + 1, sizeof *r->sub);
        if (r->sub == NULL) {
            return TREE_ZSYSTEMERROR;
        }
        r->nsub = x->nops;
    }
    int err = TREE_ZOK;
    bool post_failed = false;
    for (size_t i = 0; i < x->nops; i++) {
        const tree_txn_t *s = &x->ops[i];
        tree_result_t *sr = r != NULL ? &r->sub[i] : NULL;
        int e;
        if (s->type == TREE_OP_ERROR) {
            post_failed = true;
        }
        if (s->type == TREE_OP_MULTI) {
            e = TREE_ZMARSHALLINGERROR;
            if (sr != NULL) {
                sr->type = TREE_OP_ERROR;
                sr->err = e;
            }
        } else if (failed && s->type != TREE_OP_ERROR) {
            e = post_failed ? TREE_ZRUNTIMEINCONSISTENCY : TREE_ZOK;
            if (sr != NULL) {
                sr->type = TREE_OP_ERROR;
                sr->err = e;
            }
        } else {
            e = apply_one(t, s, zxid, sr, top);
        }
        if (e == TREE_ZSYSTEMERROR) {
            return e;
        }
        if (e != TREE_ZOK && err == TREE_ZOK) {
            err = e;
        }
    }
    return err;
}

static int apply_one(tree_t *t, const tree_txn_t *x, int64_t zxid,
                     tree_result_t *r, tree_result_t *top)
{
    int rc = TREE_ZOK;
    tree_node_t *n = NULL;
    if (r != NULL) {
        r->type = x->type;
    }
    switch (x->type) {
    case TREE_OP_CREATE:
        rc = apply_create(t, x, zxid, r, top);
        break;
    case TREE_OP_DELETE:
        if (x->path == NULL) {
            rc = TREE_ZBADARGUMENTS;
            break;
        }
        rc = set_rpath(r, x->path) != 0 ? TREE_ZSYSTEMERROR
                                        : delete_node(t, x->path, zxid, top);
        break;
    case TREE_OP_SET_DATA:
    case TREE_OP_SET_ACL:
        n = x->path != NULL ? map_get(t, x->path, strlen(x->path)) : NULL;
        if (set_rpath(r, x->path) != 0) {
            rc = TREE_ZSYSTEMERROR;
            break;
        }
        if (n == NULL) {
            rc = TREE_ZNONODE;
            break;
        }
        if (x->type == TREE_OP_SET_DATA) {
            uint8_t *d = NULL;
            if (x->data_len > 0 && x->data == NULL) {
                rc = TREE_ZBADARGUMENTS;
                break;
            }
            if (x->data_len > 0 && (d = malloc(x->data_len)) == NULL) {
                rc = TREE_ZSYSTEMERROR;
                break;
            }
            if (x->data_len > 0) {
                memcpy(d, x->data, x->data_len);
            }
            const char *q = quota_prefix(t, n->path, n->plen);
            if (q != NULL && quota_adjust(t, q,
                                          (int64_t)x->data_len -
                                              (int64_t)n->dlen,
                                          0) != 0) {
                free(d);
                rc = TREE_ZSYSTEMERROR;
                break;
            }
            free(n->data);
            n->data = d;
            n->dlen = x->data_len;
            n->dnull = x->data_null;
            n->mtime = x->time;
            n->mzxid = zxid;
            n->version = x->version;
            if (trig(top, TREE_TRIG_DATA, TREE_EV_DATA_CHANGED, n->path,
                     n->plen) != 0) {
                rc = TREE_ZSYSTEMERROR;
            }
        } else {
            if (!node_set_acl(t, n, &x->acl)) {
                rc = TREE_ZSYSTEMERROR;
                break;
            }
            n->aversion = x->version;
        }
        if (r != NULL) {
            r->has_stat = true;
            node_stat(n, &r->stat);
        }
        break;
    case TREE_OP_CHECK:
        rc = set_rpath(r, x->path) != 0 ? TREE_ZSYSTEMERROR : TREE_ZOK;
        break;
    case TREE_OP_ERROR:
        rc = x->err;
        break;
    case TREE_OP_CREATE_SESSION: {
        owner_t *o = own_make(t, x->session);
        if (o == NULL) {
            rc = TREE_ZSYSTEMERROR;
            break;
        }
        o->session = true;
        o->timeout = x->timeout;
        break;
    }
    case TREE_OP_CLOSE_SESSION:
        rc = apply_close(t, x->session, zxid, top);
        break;
    case TREE_OP_MULTI:
        rc = apply_multi(t, x, zxid, r, top);
        break;
    default:
        rc = TREE_ZMARSHALLINGERROR;
    }
    if (r != NULL) {
        r->err = rc;
    }
    return rc;
}

int tree_apply(tree_t *t, const tree_txn_t *txn, int64_t zxid,
               tree_result_t *res)
{
    if (res != NULL) {
        memset(res, 0, sizeof *res);
    }
    if (txn == NULL) {
        return TREE_ZBADARGUMENTS;
    }
    int rc = apply_one(t, txn, zxid, res, res);
    if (zxid > t->last_zxid) {
        t->last_zxid = zxid;
    }
    return rc;
}

/* ---- snapshots ----------------------------------------------------------- */

#define SNAP_MAGIC 0x5a424454u /* "ZBDT" */
#define SNAP_VERSION 1u

static int put_node(sink_t *s, const tree_node_t *x)
{
    put_str(s, x->path);
    put_data(s, x->data, x->dlen, x->dnull);
    put_acl(s, node_acl(x));
    put_i64(s, x->czxid);
    put_i64(s, x->mzxid);
    put_i64(s, x->ctime);
    put_i64(s, x->mtime);
    put_i32(s, x->version);
    put_i32(s, x->cversion);
    put_i32(s, x->aversion);
    put_i64(s, x->owner);
    put_i64(s, x->pzxid);
    if (x->nkids == 0) {
        return 0;
    }
    tree_node_t **k = malloc(x->nkids * sizeof *k);
    if (k == NULL) {
        s->fail = true;
        return -1;
    }
    memcpy(k, x->kids, x->nkids * sizeof *k);
    qsort(k, x->nkids, sizeof *k, cmp_kid);
    for (size_t i = 0; i < x->nkids && !s->fail; i++) {
        put_node(s, k[i]);
    }
    free(k);
    return s->fail ? -1 : 0;
}

static void put_tree(sink_t *s, const tree_t *t)
{
    put_u32(s, SNAP_MAGIC);
    put_u32(s, SNAP_VERSION);
    put_i64(s, t->last_zxid);
    put_u32(s, (uint32_t)tree_session_count(t));
    for (size_t i = 0; i < t->nown; i++) {
        if (t->own[i].session) {
            put_i64(s, t->own[i].id);
            put_i32(s, t->own[i].timeout);
        }
    }
    put_u64(s, t->n);
    const tree_node_t *root = map_get(t, "/", 1);
    if (root != NULL) {
        put_node(s, root);
    }
}

int tree_snapshot(const tree_t *t, uint8_t **out, size_t *len)
{
    sink_t s = {0};
    put_tree(&s, t);
    if (s.fail) {
        free(s.buf);
        *out = NULL;
        *len = 0;
        return TREE_ZSYSTEMERROR;
    }
    *out = s.buf;
    *len = s.len;
    return TREE_ZOK;
}

int tree_digest(const tree_t *t, uint8_t out[32])
{
    sink_t s = {0};
    s.md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = s.md != NULL && EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) == 1;
    if (ok) {
        put_tree(&s, t);
        ok = !s.fail && EVP_DigestFinal_ex(s.md, out, &n) == 1 && n == 32;
    }
    EVP_MD_CTX_free(s.md);
    return ok ? TREE_ZOK : TREE_ZSYSTEMERROR;
}

static int load_node(tree_t *t, rd_t *r, bool first)
{
    char *path = get_str(r, t->cfg.max_path);
    if (r->bad) {
        free(path);
        return -1;
    }
    size_t n = strlen(path), ppl = 0;
    tree_node_t *p = NULL;
    if (tree_validate_path(path, t->cfg.max_path) != TREE_ZOK ||
        (first != (n == 1)) || map_get(t, path, n) != NULL ||
        (!first && (p = parent_node(t, path, n, &ppl)) == NULL)) {
        free(path);
        r->bad = true;
        return -1;
    }
    tree_node_t *x = node_new(path, n);
    free(path);
    if (x == NULL) {
        r->bad = r->nomem = true;
        return -1;
    }
    size_t dl;
    const uint8_t *d = get_data_blob(r, t->cfg.max_data, &dl, &x->dnull);
    if (!r->bad && dl > 0) {
        x->data = malloc(dl);
        if (x->data == NULL) {
            r->bad = r->nomem = true;
        } else {
            memcpy(x->data, d, dl);
            x->dlen = dl;
        }
    }
    acl_list_t acl;
    acl_list_init(&acl);
    get_acl(r, &acl, t->cfg.max_acl);
    if (!r->bad && !node_set_acl(t, x, &acl)) {
        r->bad = r->nomem = true;
    }
    acl_list_free(&acl);
    x->czxid = get_i64(r);
    x->mzxid = get_i64(r);
    x->ctime = get_i64(r);
    x->mtime = get_i64(r);
    x->version = get_i32(r);
    x->cversion = get_i32(r);
    x->aversion = get_i32(r);
    x->owner = get_i64(r);
    x->pzxid = get_i64(r);
    if (r->bad || node_link(t, p, x) != 0) {
        r->nomem |= !r->bad;
        r->bad = true;
        node_free(t, x);
        return -1;
    }
    return 0;
}

int tree_load(const uint8_t *buf, size_t len, const tree_config_t *cfg,
              tree_t **out)
{
    *out = NULL;
    tree_t *t = tree_alloc(cfg);
    if (t == NULL) {
        return TREE_ZSYSTEMERROR;
    }
    rd_t r = {buf, buf != NULL ? len : 0, 0, false, false};
    if (get_u32(&r) != SNAP_MAGIC || get_u32(&r) != SNAP_VERSION) {
        r.bad = true;
    }
    t->last_zxid = get_i64(&r);
    uint32_t ns = get_u32(&r);
    if (!r.bad && ns > (r.len - r.off) / 12) {
        r.bad = true;
    }
    int64_t prev = 0;
    for (uint32_t i = 0; i < ns && !r.bad; i++) {
        int64_t id = get_i64(&r);
        int32_t to = get_i32(&r);
        if (r.bad || (i > 0 && id <= prev)) {
            r.bad = true;
            break;
        }
        prev = id;
        owner_t *o = own_make(t, id);
        if (o == NULL) {
            r.bad = r.nomem = true;
            break;
        }
        o->session = true;
        o->timeout = to;
    }
    uint64_t nn = get_u64(&r);
    /* A node takes at least (4+1) + 4 + 4 + 8*6 + 4*3 = 73 bytes. */
    if (!r.bad && (nn == 0 || nn > (r.len - r.off) / 73)) {
        r.bad = true;
    }
    for (uint64_t i = 0; i < nn && !r.bad; i++) {
        load_node(t, &r, i == 0);
    }
    if (!r.bad && r.off != r.len) {
        r.bad = true;
    }
    if (!r.bad && quota_rebuild(t) != 0) {
        r.bad = r.nomem = true;
    }
    if (r.bad) {
        tree_free(t);
        return r.nomem ? TREE_ZSYSTEMERROR : TREE_ZMARSHALLINGERROR;
    }
    *out = t;
    return TREE_ZOK;
}
