/*
 * reconfig.c -- the ensemble's membership as replicated state, and
 * ZooKeeper's reconfig operation for observers.
 *
 * The membership is what /zookeeper/config says, as ZooKeeper writes it
 * (QuorumVerifier.toString): one "server.N=..." line per member in id
 * order, then "version=<hex>", 0 for the configuration of the zoo.cfg
 * files and otherwise the zxid of the reconfig that made it.  A committed
 * reconfig command rewrites that node on every replica at the same zxid
 * (ZooKeeper's SetDataTxn on it); a server that restarts, or installs a
 * snapshot, takes the membership from its tree.  Each server then brings
 * libzab and its peer connections in line (reconfig_converge), from the
 * event loop: libzab's membership calls are not allowed inside its
 * callbacks, and deliver is one.
 *
 * zabd changes observers only.  A reconfig whose result keeps every voter
 * exactly as it is may add, remove or move observers; anything else fails
 * with UNIMPLEMENTED.  Observers never count toward a quorum, so their
 * change needs no joint consensus: libzab adds or drops one at once
 * (zab_add_observer(3)).
 *
 * The checks follow ZooKeeper's PrepRequestProcessor, in its order:
 * reconfigEnabled (checked where the request arrives, since it is a
 * server's setting and not replicated state), the session, the version
 * (curConfigId), the syntax of the servers, at least one voter, then
 * WRITE permission on /zookeeper/config (the super user: the node is
 * read-only for everyone else).
 */
#include "server.h"
#include "jute.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_NODE "/zookeeper/config"

/* ---- the membership as text ---------------------------------------------- */

static int by_id(const void *a, const void *b)
{
    uint32_t x = ((const cfg_server_t *)a)->id;
    uint32_t y = ((const cfg_server_t *)b)->id;
    return x < y ? -1 : x > y;
}

char *reconfig_text(const cfg_server_t *v, size_t n, uint64_t version,
                    size_t *len)
{
    cfg_server_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
    size_t cap = n * 600 + 32, used = 0;
    char *buf = malloc(cap);
    if (!sorted || !buf) {
        free(sorted);
        free(buf);
        return NULL;
    }
    memcpy(sorted, v, n * sizeof *v);
    qsort(sorted, n, sizeof *sorted, by_id);
    for (size_t i = 0; i < n; i++) {
        used += cfg_server_format(&sorted[i], buf + used, cap - used - 1);
        buf[used++] = '\n';
    }
    used += (size_t)snprintf(buf + used, cap - used, "version=%" PRIx64,
                             version);
    free(sorted);
    *len = used;
    return buf;
}

/* Splits s[0..len) at `sep` into trimmed pieces, calling fn on each
 * non-empty one (as a NUL-terminated copy); stops at fn's first non-zero
 * answer (a ZooKeeper error code) and returns it; JUTE_ZSYSTEMERROR if
 * out of memory. */
static int each_piece(const char *s, size_t len, char sep,
                      int (*fn)(void *ud, char *piece), void *ud)
{
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && s[j] != sep)
            j++;
        size_t a = i, b = j;
        while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' ||
                         s[b - 1] == '\r'))
            b--;
        if (b > a) {
            char *piece = malloc(b - a + 1);
            if (!piece)
                return JUTE_ZSYSTEMERROR;
            memcpy(piece, s + a, b - a);
            piece[b - a] = '\0';
            int rc = fn(ud, piece);
            free(piece);
            if (rc != 0)
                return rc;
        }
        i = j + 1;
    }
    return 0;
}

/* A list of servers under construction, and what a plan carries. */
typedef struct plan {
    cfg_server_t *v;
    size_t n;
    uint64_t version;   /* "version=" (the text of /zookeeper/config) */
    uint64_t base;      /* "base=": the version the plan was made from */
    int32_t err;        /* "error=": the request was refused */
    bool need_client;   /* joining servers must give a client port */
    unsigned long long too_big; /* a well-formed id libzab cannot have */
    char *why;
    size_t whylen;
} plan_t;

static void plan_init(plan_t *p, cfg_server_t *v, char *why, size_t whylen)
{
    memset(p, 0, sizeof *p);
    p->v = v;
    p->why = why;
    p->whylen = whylen;
}

static cfg_server_t *plan_find(plan_t *p, uint32_t id)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].id == id)
            return &p->v[i];
    return NULL;
}

/* "server.N=spec": replaces server N or adds it. */
static int plan_put(void *ud, char *piece)
{
    plan_t *p = ud;
    char *eq = strchr(piece, '=');
    if (!eq || strchr(eq + 1, '=')) {
        snprintf(p->why, p->whylen, "wrong format of server string '%.80s'",
                 piece);
        return JUTE_ZBADARGUMENTS;
    }
    *eq = '\0';
    char *key = piece, *end = eq;
    while (end > key && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    if (strncmp(key, "server.", 7) == 0 && key[7] >= '0' && key[7] <= '9') {
        /* ZooKeeper takes any long; libzab 1..255.  Refused after the
         * permission check, as an unsupported value, not bad syntax. */
        char *e;
        unsigned long long id = strtoull(key + 7, &e, 10);
        if (*e == '\0' && id > CFG_MAX_SERVERS) {
            p->too_big = id;
            return 0;
        }
    }
    cfg_server_t sv;
    if (cfg_parse_server(key, eq + 1, &sv, p->why, p->whylen) != 0)
        return JUTE_ZBADARGUMENTS;
    if (p->need_client && sv.client_port == 0) {
        snprintf(p->why, p->whylen, "server.%u: each server should have 3 "
                 "ports specified (quorum, election, client)", sv.id);
        return JUTE_ZBADARGUMENTS;
    }
    cfg_server_t *old = plan_find(p, sv.id);
    if (old) {
        *old = sv;
    } else if (p->n < CFG_MAX_SERVERS) {
        p->v[p->n++] = sv;
    } else {
        snprintf(p->why, p->whylen, "more than %d servers", CFG_MAX_SERVERS);
        return JUTE_ZBADARGUMENTS;
    }
    return 0;
}

/* A leaving server's id. */
static int plan_drop(void *ud, char *piece)
{
    plan_t *p = ud;
    char *end;
    unsigned long long id = strtoull(piece, &end, 10);
    if (*end != '\0' || piece[0] < '0' || piece[0] > '9') {
        snprintf(p->why, p->whylen, "leaving server '%.40s' is not an id",
                 piece);
        return JUTE_ZBADARGUMENTS;
    }
    cfg_server_t *old = plan_find(p, id > CFG_MAX_SERVERS ? 0 : (uint32_t)id);
    if (old)
        *old = p->v[--p->n];
    return 0;
}

/* A line of a plan or of /zookeeper/config: a server or a key=hex. */
static int plan_line(void *ud, char *piece)
{
    plan_t *p = ud;
    static const char *const keys[] = {"version=", "base=", "error=",
                                       "toobig="};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        size_t kl = strlen(keys[k]);
        if (strncmp(piece, keys[k], kl) != 0)
            continue;
        char *end;
        uint64_t v = strtoull(piece + kl, &end, 16);
        if (*end != '\0' || piece[kl] == '\0')
            return JUTE_ZBADARGUMENTS;
        if (k == 0)
            p->version = v;
        else if (k == 1)
            p->base = v;
        else if (k == 2)
            p->err = (int32_t)(uint32_t)v;
        else
            p->too_big = v;
        return 0;
    }
    return plan_put(ud, piece);
}

static bool same_server(const cfg_server_t *a, const cfg_server_t *b)
{
    return a->id == b->id && a->observer == b->observer &&
           a->quorum_port == b->quorum_port &&
           a->election_port == b->election_port &&
           a->client_port == b->client_port && !strcmp(a->host, b->host) &&
           !strcmp(a->client_host, b->client_host);
}

/* The voters of `next` are those of cur, unchanged. */
static bool same_voters(const cfg_server_t *cur, size_t ncur,
                        const plan_t *next)
{
    size_t voters = 0;
    for (size_t i = 0; i < next->n; i++) {
        if (next->v[i].observer)
            continue;
        voters++;
        size_t k = 0;
        while (k < ncur && cur[k].id != next->v[i].id)
            k++;
        if (k == ncur || !same_server(&cur[k], &next->v[i]))
            return false;
    }
    for (size_t k = 0; k < ncur; k++)
        voters -= !cur[k].observer;
    return voters == 0;
}

/* Text lines into p (p->v has room for CFG_MAX_SERVERS). */
static int plan_parse(plan_t *p, const uint8_t *text, size_t len)
{
    return each_piece((const char *)text, len, '\n', plan_line, p);
}

int reconfig_parse(const uint8_t *text, size_t len, cfg_server_t *out,
                   size_t *n, uint64_t *version)
{
    char why[256];
    plan_t p;
    plan_init(&p, out, why, sizeof why);
    int rc = plan_parse(&p, text, len);
    *n = p.n;
    *version = p.version;
    return rc;
}

/* ---- the operation ---------------------------------------------------------- */

/* The servers a request asks for, into p (which starts as the current
 * list).  0 or a ZooKeeper error code, with the reason in p->why. */
static int plan_request(srv_t *s, const jute_reconfig_request_t *rq,
                        plan_t *p)
{
    int rc;
    p->need_client = true;
    if (rq->new_members.len >= 0) {
        /* Non-incremental: the whole list, separated by commas or
         * newlines. */
        p->n = 0;
        char *copy = malloc((size_t)rq->new_members.len + 1);
        if (!copy)
            return JUTE_ZSYSTEMERROR;
        memcpy(copy, rq->new_members.s, (size_t)rq->new_members.len);
        for (int32_t i = 0; i < rq->new_members.len; i++)
            if (copy[i] == '\n')
                copy[i] = ',';
        rc = each_piece(copy, (size_t)rq->new_members.len, ',', plan_put, p);
        free(copy);
    } else {
        rc = rq->leaving_servers.len > 0
                 ? each_piece(rq->leaving_servers.s,
                              (size_t)rq->leaving_servers.len, ',',
                              plan_drop, p)
                 : 0;
        if (rc == 0 && rq->joining_servers.len > 0)
            rc = each_piece(rq->joining_servers.s,
                            (size_t)rq->joining_servers.len, ',', plan_put,
                            p);
    }
    if (rc != 0)
        return rc;
    size_t voters = 0;
    for (size_t i = 0; i < p->n; i++)
        voters += !p->v[i].observer;
    if (voters < 1) {
        snprintf(p->why, p->whylen, "the new configuration must include at "
                 "least 1 follower");
        return JUTE_ZBADARGUMENTS;
    }
    if (!same_voters(s->cfg.servers, s->cfg.nservers, p)) {
        snprintf(p->why, p->whylen, "zabd reconfigures observers only: the "
                 "voters must stay as they are");
        return JUTE_ZUNIMPLEMENTED;
    }
    return 0;
}

int reconfig_propose(srv_t *s, client_t *c, const uint8_t *pkt, size_t len,
                     const jute_reconfig_request_t *rq, uint64_t *seq)
{
    char why[256] = "";
    plan_t p;
    cfg_server_t *v = malloc(CFG_MAX_SERVERS * sizeof *v);
    if (!v)
        return ZAB_ENOMEM;
    plan_init(&p, v, why, sizeof why);
    memcpy(v, s->cfg.servers, s->cfg.nservers * sizeof *v);
    p.n = s->cfg.nservers;
    int err = plan_request(s, rq, &p);
    if (err != 0) {
        srv_log(s, "reconfig from session 0x%" PRIx64 " refused (%s): %s",
                (uint64_t)c->session, jute_err_name(err), why);
        p.n = 0;
    }
    /* The plan follows the request packet: every replica applies what
     * this server decided, from the membership it had (base). */
    size_t tlen = 0;
    char *text = reconfig_text(p.v, p.n, 0, &tlen);
    size_t cap = len + tlen + 96;
    uint8_t *buf = text ? malloc(cap) : NULL;
    int rc = ZAB_ENOMEM;
    if (buf) {
        memcpy(buf, pkt, len);
        int h = snprintf((char *)buf + len, cap - len,
                         "base=%" PRIx64 "\nerror=%" PRIx32 "\ntoobig=%llx\n",
                         s->config_version, (uint32_t)err, p.too_big);
        size_t n = len + (size_t)h;
        /* Without its "version=0" line: the apply adds the real one. */
        size_t keep = tlen - strlen("version=0");
        memcpy(buf + n, text, keep);
        n += keep;
        rc = srv_propose_cmd(s, c, JUTE_OP_RECONFIG, (int32_t)len, 0, buf, n,
                             INFLIGHT_WRITE, seq);
    }
    free(buf);
    free(text);
    free(v);
    return rc;
}

int reconfig_apply(srv_t *s, const cmd_t *c, uint64_t zxid, tree_txn_t *txn,
                   tree_result_t *res)
{
    jute_reader_t r;
    jute_request_t req;
    jute_limits_t lim;
    char why[256] = "";
    plan_t p;
    char *text = NULL;
    size_t tlen = 0;
    int rc;

    plan_init(&p, malloc(CFG_MAX_SERVERS * sizeof *p.v), why, sizeof why);
    jute_limits_default(&lim);
    lim.max_buffer = s->cfg.jute_maxbuffer + 1024;
    size_t plen = c->arg >= 0 ? (size_t)c->arg : SIZE_MAX;
    if (!p.v) {
        rc = JUTE_ZSYSTEMERROR;
    } else if (plen > c->request_len ||
               (jute_reader_init(&r, c->request, plen, &lim),
                jute_read_request(&r, &req) != JUTE_OK) ||
               req.hdr.type != JUTE_OP_RECONFIG ||
               plan_parse(&p, c->request + plen, c->request_len - plen) != 0) {
        rc = TREE_ZMARSHALLINGERROR;
    } else if (!tree_session_get(s->tree, c->session, NULL)) {
        rc = JUTE_ZSESSIONEXPIRED;
    } else if (req.u.reconfig.cur_config_id != -1 &&
               (uint64_t)req.u.reconfig.cur_config_id != s->config_version) {
        snprintf(why, sizeof why, "reconfiguration from version %" PRIx64
                 " failed: the version is %" PRIx64,
                 (uint64_t)req.u.reconfig.cur_config_id, s->config_version);
        rc = JUTE_ZBADVERSION;
    } else if (p.err != 0) {
        rc = p.err; /* refused where it arrived (logged there) */
    } else if (p.base != s->config_version) {
        snprintf(why, sizeof why, "planned from version %" PRIx64 ", now %"
                 PRIx64, p.base, s->config_version);
        rc = JUTE_ZRECONFIGINPROGRESS;
    } else if (!(text = reconfig_text(p.v, p.n, zxid, &tlen))) {
        rc = JUTE_ZSYSTEMERROR;
    } else {
        /* WRITE on the node, the super user's privilege. */
        acl_auth_t who = { c->ids, c->nids };
        tree_op_t op;
        memset(&op, 0, sizeof op);
        op.type = TREE_OP_SET_DATA;
        op.path = CONFIG_NODE;
        op.data = (const uint8_t *)text;
        op.data_len = tlen;
        op.version = -1;
        rc = tree_prepare(s->tree, &op, c->session, &who, (int64_t)zxid,
                          c->time, txn);
        if (rc != TREE_ZOK) {
            snprintf(why, sizeof why, "no WRITE permission on %s",
                     CONFIG_NODE);
        } else if (p.too_big) {
            snprintf(why, sizeof why, "server.%llu: zabd's server ids are "
                     "1 to %d", p.too_big, CFG_MAX_SERVERS);
            rc = JUTE_ZBADARGUMENTS;
        }
    }
    if (rc != 0) {
        srv_log(s, "reconfig 0x%" PRIx64 " refused (%s)%s%s", zxid,
                jute_err_name(rc), why[0] ? ": " : "", why);
        srv_error_txn(txn, c, rc);
        tree_apply(s->tree, txn, (int64_t)zxid, res);
    } else if (tree_apply(s->tree, txn, (int64_t)zxid, res) == TREE_ZOK) {
        memcpy(s->cfg.servers, p.v, p.n * sizeof *p.v);
        s->cfg.nservers = p.n;
        s->config_version = zxid;
        s->membership_dirty = true; /* reconfig_converge, from the loop */
        srv_log(s, "reconfig 0x%" PRIx64 ": %zu servers", zxid, p.n);
    } else {
        rc = res->err;
    }
    free(text);
    free(p.v);
    return rc;
}

/* ---- the membership of a tree --------------------------------------------- */

int reconfig_adopt_tree(srv_t *s, bool at_start, char *err, size_t errlen)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    uint64_t version = 0;
    size_t n = 0;
    cfg_server_t *v = malloc(CFG_MAX_SERVERS * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tree_get_data(s->tree, CONFIG_NODE, NULL, &data, &len, NULL) !=
            TREE_ZOK ||
        !data || reconfig_parse(data, len, v, &n, &version) != 0 ||
        version == 0) {
        /* Never reconfigured: the zoo.cfg files' membership, which every
         * server writes there from its own. */
        free(v);
        if (reconfig_publish(s) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    plan_t p;
    plan_init(&p, v, err, errlen);
    p.n = n;
    if (!same_voters(s->cfg.servers, s->cfg.nservers, &p)) {
        snprintf(err, errlen, "the voters of the configuration in the data "
                 "(version %" PRIx64 ") differ from this server's server.N "
                 "lines", version);
        free(v);
        return -1;
    }
    if (!plan_find(&p, s->cfg.myid)) {
        snprintf(err, errlen, "this server (id %u) was removed from the "
                 "ensemble by a reconfiguration (version %" PRIx64 ")",
                 s->cfg.myid, version);
        free(v);
        return -1;
    }
    memcpy(s->cfg.servers, v, n * sizeof *v);
    s->cfg.nservers = n;
    s->config_version = version;
    s->self_cfg = *cfg_self(&s->cfg);
    s->membership_dirty = !at_start;
    free(v);
    return 0;
}

int reconfig_publish(srv_t *s)
{
    size_t len;
    char *text = reconfig_text(s->cfg.servers, s->cfg.nservers,
                               s->config_version, &len);
    if (!text)
        return -1;
    int rc = tree_set_config(s->tree, (const uint8_t *)text,
                             s->cfg.nservers ? len : 0);
    free(text);
    return rc == TREE_ZOK ? 0 : -1;
}

/* ---- bringing libzab and the peers in line ------------------------------- */

void reconfig_converge(srv_t *s)
{
    if (!s->membership_dirty)
        return;
    s->membership_dirty = false;
    const cfg_server_t *me = cfg_self(&s->cfg);
    if (me) {
        s->self_cfg = *me;
    } else {
        srv_log(s, "this server was removed from the ensemble (version %"
                   PRIx64 "): stopping", s->config_version);
        s->stopping = true;
        return;
    }
    /* Members that left: libzab forgets them first, then the
     * connection goes. */
    for (size_t i = s->nmembers; i-- > 0;) {
        uint32_t id = s->members[i].cfg->id;
        const cfg_server_t *now = NULL;
        for (size_t k = 0; k < s->cfg.nservers && !now; k++)
            if (s->cfg.servers[k].id == id)
                now = &s->cfg.servers[k];
        if (now && same_server(now, s->members[i].cfg))
            continue;
        int rc = zab_remove_observer(s->zab, id);
        if (rc != 0)
            srv_log(s, "zab_remove_observer(%u): %s", id, zab_strerror(rc));
        peer_remove_member(s, id);
        srv_log(s, "observer %u %s", id, now ? "moved" : "removed");
    }
    /* Members that joined (or moved: added again with the new address). */
    for (size_t k = 0; k < s->cfg.nservers; k++) {
        const cfg_server_t *sv = &s->cfg.servers[k];
        if (sv->id == s->cfg.myid || peer_member(s, sv->id) >= 0)
            continue;
        int rc = zab_add_observer(s->zab, sv->id);
        if (rc != 0) {
            srv_log(s, "zab_add_observer(%u): %s", sv->id, zab_strerror(rc));
            continue;
        }
        peer_add_member(s, sv);
        srv_log(s, "observer %u added (%s:%u)", sv->id, sv->host,
                sv->quorum_port);
    }
}
