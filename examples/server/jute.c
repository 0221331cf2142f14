/*
 * jute.c -- the ZooKeeper client wire protocol (jute binary encoding).
 *
 * Mirrors org.apache.jute.BinaryInputArchive / BinaryOutputArchive, the
 * records of zookeeper.jute (org.apache.zookeeper.proto.*, data.Stat,
 * data.ACL, data.ClientInfo), MultiOperationRecord and MultiResponse, and
 * the length-prefixed framing of NIOServerCnxn / ClientCnxn.  See jute.h
 * for the contracts.  Simple records are described by field tables and
 * read / written by one generic routine each, so every record gets a
 * reader and a writer that cannot disagree on field order.
 */
#include "jute.h"

#include <stdlib.h>
#include <string.h>

/* ---- names ----------------------------------------------------------- */

typedef struct {
    int32_t code;
    const char *name;
} code_name_t;

static const code_name_t op_names[] = {
    { JUTE_OP_NOTIFICATION, "notification" },
    { JUTE_OP_CREATE, "create" },
    { JUTE_OP_DELETE, "delete" },
    { JUTE_OP_EXISTS, "exists" },
    { JUTE_OP_GETDATA, "getData" },
    { JUTE_OP_SETDATA, "setData" },
    { JUTE_OP_GETACL, "getACL" },
    { JUTE_OP_SETACL, "setACL" },
    { JUTE_OP_GETCHILDREN, "getChildren" },
    { JUTE_OP_SYNC, "sync" },
    { JUTE_OP_PING, "ping" },
    { JUTE_OP_GETCHILDREN2, "getChildren2" },
    { JUTE_OP_CHECK, "check" },
    { JUTE_OP_MULTI, "multi" },
    { JUTE_OP_CREATE2, "create2" },
    { JUTE_OP_RECONFIG, "reconfig" },
    { JUTE_OP_CHECKWATCHES, "checkWatches" },
    { JUTE_OP_REMOVEWATCHES, "removeWatches" },
    { JUTE_OP_CREATECONTAINER, "createContainer" },
    { JUTE_OP_DELETECONTAINER, "deleteContainer" },
    { JUTE_OP_CREATETTL, "createTTL" },
    { JUTE_OP_MULTIREAD, "multiRead" },
    { JUTE_OP_AUTH, "auth" },
    { JUTE_OP_SETWATCHES, "setWatches" },
    { JUTE_OP_SASL, "sasl" },
    { JUTE_OP_GETEPHEMERALS, "getEphemerals" },
    { JUTE_OP_GETALLCHILDRENNUMBER, "getAllChildrenNumber" },
    { JUTE_OP_SETWATCHES2, "setWatches2" },
    { JUTE_OP_ADDWATCH, "addWatch" },
    { JUTE_OP_WHOAMI, "whoAmI" },
    { JUTE_OP_CREATESESSION, "createSession" },
    { JUTE_OP_CLOSESESSION, "closeSession" },
    { JUTE_OP_ERROR, "error" },
};

static const code_name_t err_names[] = {
    { JUTE_ZOK, "OK" },
    { JUTE_ZSYSTEMERROR, "SYSTEMERROR" },
    { JUTE_ZRUNTIMEINCONSISTENCY, "RUNTIMEINCONSISTENCY" },
    { JUTE_ZDATAINCONSISTENCY, "DATAINCONSISTENCY" },
    { JUTE_ZCONNECTIONLOSS, "CONNECTIONLOSS" },
    { JUTE_ZMARSHALLINGERROR, "MARSHALLINGERROR" },
    { JUTE_ZUNIMPLEMENTED, "UNIMPLEMENTED" },
    { JUTE_ZOPERATIONTIMEOUT, "OPERATIONTIMEOUT" },
    { JUTE_ZBADARGUMENTS, "BADARGUMENTS" },
    { JUTE_ZUNKNOWNSESSION, "UNKNOWNSESSION" },
    { JUTE_ZNEWCONFIGNOQUORUM, "NEWCONFIGNOQUORUM" },
    { JUTE_ZRECONFIGINPROGRESS, "RECONFIGINPROGRESS" },
    { JUTE_ZAPIERROR, "APIERROR" },
    { JUTE_ZNONODE, "NONODE" },
    { JUTE_ZNOAUTH, "NOAUTH" },
    { JUTE_ZBADVERSION, "BADVERSION" },
    { JUTE_ZNOCHILDRENFOREPHEMERALS, "NOCHILDRENFOREPHEMERALS" },
    { JUTE_ZNODEEXISTS, "NODEEXISTS" },
    { JUTE_ZNOTEMPTY, "NOTEMPTY" },
    { JUTE_ZSESSIONEXPIRED, "SESSIONEXPIRED" },
    { JUTE_ZINVALIDCALLBACK, "INVALIDCALLBACK" },
    { JUTE_ZINVALIDACL, "INVALIDACL" },
    { JUTE_ZAUTHFAILED, "AUTHFAILED" },
    { JUTE_ZSESSIONMOVED, "SESSIONMOVED" },
    { JUTE_ZNOTREADONLY, "NOTREADONLY" },
    { JUTE_ZEPHEMERALONLOCALSESSION, "EPHEMERALONLOCALSESSION" },
    { JUTE_ZNOWATCHER, "NOWATCHER" },
    { JUTE_ZREQUESTTIMEOUT, "REQUESTTIMEOUT" },
    { JUTE_ZRECONFIGDISABLED, "RECONFIGDISABLED" },
    { JUTE_ZSESSIONCLOSEDREQUIRESASLAUTH, "SESSIONCLOSEDREQUIRESASLAUTH" },
    { JUTE_ZQUOTAEXCEEDED, "QUOTAEXCEEDED" },
    { JUTE_ZTHROTTLEDOP, "THROTTLEDOP" },
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const code_name_t *t, size_t n, int32_t code,
                          const char *dflt)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].name;
    return dflt;
}

const char *jute_op_name(int32_t op)
{
    return lookup(op_names, COUNT_OF(op_names), op, "unknown");
}

const char *jute_err_name(int32_t err)
{
    return lookup(err_names, COUNT_OF(err_names), err, "UNKNOWN");
}

const char *jute_strerror(int status)
{
    switch (status) {
    case JUTE_OK: return "JUTE_OK";
    case JUTE_ETRUNC: return "JUTE_ETRUNC";
    case JUTE_ELEN: return "JUTE_ELEN";
    case JUTE_ECOUNT: return "JUTE_ECOUNT";
    case JUTE_EOP: return "JUTE_EOP";
    case JUTE_ENOMEM: return "JUTE_ENOMEM";
    case JUTE_EINVAL: return "JUTE_EINVAL";
    default: return "JUTE_?";
    }
}

bool jute_create_mode_valid(int32_t flags)
{
    return flags >= JUTE_CREATE_PERSISTENT &&
           flags <= JUTE_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

void jute_limits_default(jute_limits_t *lim)
{
    lim->max_buffer = JUTE_DEFAULT_MAX_BUFFER;
    lim->max_acl = JUTE_DEFAULT_MAX_ACL;
    lim->max_strings = JUTE_DEFAULT_MAX_STRINGS;
    lim->max_ops = JUTE_DEFAULT_MAX_OPS;
}

/* Limits used to re-walk data that was already validated. */
static void limits_max(jute_limits_t *lim)
{
    lim->max_buffer = INT32_MAX;
    lim->max_acl = INT32_MAX;
    lim->max_strings = INT32_MAX;
    lim->max_ops = INT32_MAX;
}

/* ---- small values -------------------------------------------------------- */

jute_str_t jute_str(const char *s)
{
    jute_str_t r;
    if (s == NULL) {
        r.s = NULL;
        r.len = -1;
    } else {
        size_t n = strlen(s);
        r.s = s;
        r.len = n > (size_t)INT32_MAX ? INT32_MAX : (int32_t)n;
    }
    return r;
}

bool jute_str_eq(jute_str_t a, jute_str_t b)
{
    if (a.len != b.len)
        return false;
    if (a.len <= 0)
        return true;
    return memcmp(a.s, b.s, (size_t)a.len) == 0;
}

jute_aclvec_t jute_aclvec(const jute_acl_t *items, int32_t n)
{
    jute_aclvec_t v = { n, items, NULL, 0 };
    return v;
}

jute_strvec_t jute_strvec(const jute_str_t *items, int32_t n)
{
    jute_strvec_t v = { n, items, NULL, 0 };
    return v;
}

jute_infovec_t jute_infovec(const jute_client_info_t *items, int32_t n)
{
    jute_infovec_t v = { n, items, NULL, 0 };
    return v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- reader -------------------------------------------------------------- */

void jute_reader_init(jute_reader_t *r, const void *buf, size_t len,
                      const jute_limits_t *lim)
{
    r->buf = buf;
    r->len = buf != NULL ? len : 0;
    r->pos = 0;
    r->err = JUTE_OK;
    if (lim != NULL)
        r->lim = *lim;
    else
        jute_limits_default(&r->lim);
}

int jute_reader_error(const jute_reader_t *r)
{
    return r->err;
}

size_t jute_reader_remaining(const jute_reader_t *r)
{
    return r->err != JUTE_OK ? 0 : r->len - r->pos;
}

static void fail(jute_reader_t *r, int err)
{
    if (r->err == JUTE_OK)
        r->err = err;
}

/* n bytes from the input, or NULL (and the error set). */
static const uint8_t *take(jute_reader_t *r, size_t n)
{
    if (r->err != JUTE_OK)
        return NULL;
    if (r->len - r->pos < n) {
        r->err = JUTE_ETRUNC;
        return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

int32_t jute_read_int(jute_reader_t *r)
{
    const uint8_t *p = take(r, 4);
    return p != NULL ? (int32_t)get_be32(p) : 0;
}

int64_t jute_read_long(jute_reader_t *r)
{
    const uint8_t *p = take(r, 8);
    if (p == NULL)
        return 0;
    return (int64_t)((uint64_t)get_be32(p) << 32 | get_be32(p + 4));
}

bool jute_read_bool(jute_reader_t *r)
{
    const uint8_t *p = take(r, 1);
    return p != NULL && *p != 0;
}

/* A length-prefixed byte run: *len -1 (null, *p NULL) or 0..max_buffer. */
static int read_bytes(jute_reader_t *r, const uint8_t **p, int32_t *len)
{
    *p = NULL;
    *len = -1;
    int32_t n = jute_read_int(r);
    if (r->err != JUTE_OK)
        return r->err;
    if (n == -1)
        return JUTE_OK;
    if (n < -1 || n > r->lim.max_buffer) {
        fail(r, JUTE_ELEN);
        return r->err;
    }
    const uint8_t *q = take(r, (size_t)n);
    if (q == NULL)
        return r->err;
    *p = q;
    *len = n;
    return JUTE_OK;
}

int jute_read_buffer(jute_reader_t *r, jute_buf_t *out)
{
    return read_bytes(r, &out->data, &out->len);
}

int jute_read_ustring(jute_reader_t *r, jute_str_t *out)
{
    const uint8_t *p;
    int rc = read_bytes(r, &p, &out->len);
    out->s = (const char *)p;
    return rc;
}

int jute_read_stat(jute_reader_t *r, jute_stat_t *out)
{
    jute_stat_t st;
    st.czxid = jute_read_long(r);
    st.mzxid = jute_read_long(r);
    st.ctime = jute_read_long(r);
    st.mtime = jute_read_long(r);
    st.version = jute_read_int(r);
    st.cversion = jute_read_int(r);
    st.aversion = jute_read_int(r);
    st.ephemeral_owner = jute_read_long(r);
    st.data_length = jute_read_int(r);
    st.num_children = jute_read_int(r);
    st.pzxid = jute_read_long(r);
    if (r->err == JUTE_OK)
        *out = st;
    return r->err;
}

/* Vector element kinds. */
enum { VEC_ACL, VEC_STR, VEC_INFO };

static void read_elem(jute_reader_t *r, int kind, void *out)
{
    switch (kind) {
    case VEC_ACL: {
        jute_acl_t *a = out;
        a->perms = jute_read_int(r);
        jute_read_ustring(r, &a->scheme);
        jute_read_ustring(r, &a->id);
        break;
    }
    case VEC_STR:
        jute_read_ustring(r, out);
        break;
    default: {
        jute_client_info_t *c = out;
        jute_read_ustring(r, &c->auth_scheme);
        jute_read_ustring(r, &c->user);
        break;
    }
    }
}

/* Reads a vector of `kind`, validating each element, into a raw view. */
static int read_vec(jute_reader_t *r, int kind, int32_t limit,
                    int32_t *count, const uint8_t **raw, size_t *raw_len)
{
    *count = -1;
    *raw = NULL;
    *raw_len = 0;
    int32_t n = jute_read_int(r);
    if (r->err != JUTE_OK)
        return r->err;
    if (n == -1)
        return JUTE_OK;
    if (n < -1 || n > limit) {
        fail(r, JUTE_ECOUNT);
        return r->err;
    }
    /* Every element takes at least 4 bytes: refuse early when even that
     * cannot fit (the loop below would stop anyway). */
    if ((size_t)n > (r->len - r->pos) / 4) {
        fail(r, JUTE_ETRUNC);
        return r->err;
    }
    size_t start = r->pos;
    union {
        jute_acl_t acl;
        jute_str_t str;
        jute_client_info_t info;
    } tmp;
    for (int32_t i = 0; i < n && r->err == JUTE_OK; i++)
        read_elem(r, kind, &tmp);
    if (r->err != JUTE_OK)
        return r->err;
    *count = n;
    *raw = r->buf + start;
    *raw_len = r->pos - start;
    return JUTE_OK;
}

int jute_read_aclvec(jute_reader_t *r, jute_aclvec_t *out)
{
    out->items = NULL;
    return read_vec(r, VEC_ACL, r->lim.max_acl, &out->count, &out->raw,
                    &out->raw_len);
}

int jute_read_strvec(jute_reader_t *r, jute_strvec_t *out)
{
    out->items = NULL;
    return read_vec(r, VEC_STR, r->lim.max_strings, &out->count, &out->raw,
                    &out->raw_len);
}

int jute_read_infovec(jute_reader_t *r, jute_infovec_t *out)
{
    out->items = NULL;
    return read_vec(r, VEC_INFO, r->lim.max_acl, &out->count, &out->raw,
                    &out->raw_len);
}

/* ---- iterators ----------------------------------------------------------- */

static void iter_init(jute_iter_t *it, const void *items, int32_t count,
                      const uint8_t *raw, size_t raw_len)
{
    it->items = items;
    it->p = raw;
    it->left = raw != NULL ? raw_len : 0;
    it->index = 0;
    it->count = count < 0 ? 0 : count;
    it->kind = 0;
    if (items == NULL && raw == NULL)
        it->count = 0;
}

void jute_aclvec_iter(const jute_aclvec_t *v, jute_iter_t *it)
{
    iter_init(it, v->items, v->count, v->raw, v->raw_len);
}

void jute_strvec_iter(const jute_strvec_t *v, jute_iter_t *it)
{
    iter_init(it, v->items, v->count, v->raw, v->raw_len);
}

void jute_infovec_iter(const jute_infovec_t *v, jute_iter_t *it)
{
    iter_init(it, v->items, v->count, v->raw, v->raw_len);
}

/* Starts a reader over the iterator's remaining raw bytes. */
static void iter_reader(const jute_iter_t *it, jute_reader_t *r)
{
    jute_limits_t lim;
    limits_max(&lim);
    jute_reader_init(r, it->p, it->left, &lim);
}

/* Moves the iterator past what r consumed, or ends it on error. */
static bool iter_advance(jute_iter_t *it, const jute_reader_t *r)
{
    if (r->err != JUTE_OK) {
        it->count = it->index; /* malformed hand-made view: stop */
        return false;
    }
    it->p += r->pos;
    it->left -= r->pos;
    it->index++;
    return true;
}

static bool vec_next(jute_iter_t *it, int kind, void *out, size_t size)
{
    if (it->index >= it->count)
        return false;
    if (it->items != NULL) {
        memcpy(out, (const uint8_t *)it->items + (size_t)it->index * size,
               size);
        it->index++;
        return true;
    }
    jute_reader_t r;
    iter_reader(it, &r);
    read_elem(&r, kind, out);
    return iter_advance(it, &r);
}

bool jute_acl_next(jute_iter_t *it, jute_acl_t *out)
{
    return vec_next(it, VEC_ACL, out, sizeof *out);
}

bool jute_str_next(jute_iter_t *it, jute_str_t *out)
{
    return vec_next(it, VEC_STR, out, sizeof *out);
}

bool jute_info_next(jute_iter_t *it, jute_client_info_t *out)
{
    return vec_next(it, VEC_INFO, out, sizeof *out);
}

/* ---- writer -------------------------------------------------------------- */

void jute_writer_init(jute_writer_t *w, size_t limit)
{
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->limit = limit == 0 ? SIZE_MAX / 2 : limit;
    w->err = JUTE_OK;
}

void jute_writer_free(jute_writer_t *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->err = JUTE_OK;
}

void jute_writer_reset(jute_writer_t *w)
{
    w->len = 0;
    w->err = JUTE_OK;
}

int jute_writer_error(const jute_writer_t *w)
{
    return w->err;
}

static void wfail(jute_writer_t *w, int err)
{
    if (w->err == JUTE_OK)
        w->err = err;
}

/* Room for n more bytes, or the error set. */
static bool ensure(jute_writer_t *w, size_t n)
{
    if (w->err != JUTE_OK)
        return false;
    if (n > w->limit || w->len > w->limit - n) {
        w->err = JUTE_ENOMEM;
        return false;
    }
    size_t need = w->len + n;
    if (need <= w->cap)
        return true;
    size_t cap = w->cap < 256 ? 256 : w->cap;
    while (cap < need)
        cap = cap > w->limit / 2 ? w->limit : cap * 2;
    if (cap > w->limit)
        cap = w->limit;
    uint8_t *nb = realloc(w->buf, cap);
    if (nb == NULL) {
        w->err = JUTE_ENOMEM;
        return false;
    }
    w->buf = nb;
    w->cap = cap;
    return true;
}

int jute_write_raw(jute_writer_t *w, const void *p, size_t n)
{
    if (n == 0)
        return w->err;
    if (p == NULL) {
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
    if (ensure(w, n)) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
    }
    return w->err;
}

int jute_write_int(jute_writer_t *w, int32_t v)
{
    if (ensure(w, 4)) {
        put_be32(w->buf + w->len, (uint32_t)v);
        w->len += 4;
    }
    return w->err;
}

int jute_write_long(jute_writer_t *w, int64_t v)
{
    if (ensure(w, 8)) {
        put_be32(w->buf + w->len, (uint32_t)((uint64_t)v >> 32));
        put_be32(w->buf + w->len + 4, (uint32_t)v);
        w->len += 8;
    }
    return w->err;
}

int jute_write_bool(jute_writer_t *w, bool v)
{
    uint8_t b = v ? 1 : 0;
    return jute_write_raw(w, &b, 1);
}

static int write_bytes(jute_writer_t *w, const void *p, int32_t len)
{
    if (len < -1 || (len > 0 && p == NULL)) {
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
    jute_write_int(w, len);
    if (len > 0)
        jute_write_raw(w, p, (size_t)len);
    return w->err;
}

int jute_write_buffer(jute_writer_t *w, jute_buf_t b)
{
    return write_bytes(w, b.data, b.len);
}

int jute_write_ustring(jute_writer_t *w, jute_str_t s)
{
    return write_bytes(w, s.s, s.len);
}

int jute_write_stat(jute_writer_t *w, const jute_stat_t *st)
{
    jute_write_long(w, st->czxid);
    jute_write_long(w, st->mzxid);
    jute_write_long(w, st->ctime);
    jute_write_long(w, st->mtime);
    jute_write_int(w, st->version);
    jute_write_int(w, st->cversion);
    jute_write_int(w, st->aversion);
    jute_write_long(w, st->ephemeral_owner);
    jute_write_int(w, st->data_length);
    jute_write_int(w, st->num_children);
    jute_write_long(w, st->pzxid);
    return w->err;
}

static void write_elem(jute_writer_t *w, int kind, const void *e)
{
    switch (kind) {
    case VEC_ACL: {
        const jute_acl_t *a = e;
        jute_write_int(w, a->perms);
        jute_write_ustring(w, a->scheme);
        jute_write_ustring(w, a->id);
        break;
    }
    case VEC_STR:
        jute_write_ustring(w, *(const jute_str_t *)e);
        break;
    default: {
        const jute_client_info_t *c = e;
        jute_write_ustring(w, c->auth_scheme);
        jute_write_ustring(w, c->user);
        break;
    }
    }
}

static int write_vec(jute_writer_t *w, int kind, size_t size, int32_t count,
                     const void *items, const uint8_t *raw, size_t raw_len)
{
    if (count < -1 || (count > 0 && items == NULL && raw == NULL)) {
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
    jute_write_int(w, count);
    if (count <= 0)
        return w->err;
    if (items != NULL) {
        for (int32_t i = 0; i < count && w->err == JUTE_OK; i++)
            write_elem(w, kind, (const uint8_t *)items + (size_t)i * size);
        return w->err;
    }
    return jute_write_raw(w, raw, raw_len);
}

int jute_write_aclvec(jute_writer_t *w, const jute_aclvec_t *v)
{
    return write_vec(w, VEC_ACL, sizeof(jute_acl_t), v->count, v->items,
                     v->raw, v->raw_len);
}

int jute_write_strvec(jute_writer_t *w, const jute_strvec_t *v)
{
    return write_vec(w, VEC_STR, sizeof(jute_str_t), v->count, v->items,
                     v->raw, v->raw_len);
}

int jute_write_infovec(jute_writer_t *w, const jute_infovec_t *v)
{
    return write_vec(w, VEC_INFO, sizeof(jute_client_info_t), v->count,
                     v->items, v->raw, v->raw_len);
}

/* A placeholder int, returning its offset (SIZE_MAX after an error). */
static size_t placeholder(jute_writer_t *w)
{
    size_t mark = w->len;
    if (jute_write_int(w, 0) != JUTE_OK)
        return SIZE_MAX;
    return mark;
}

static int patch(jute_writer_t *w, size_t mark, int32_t v)
{
    if (w->err != JUTE_OK)
        return w->err;
    if (mark == SIZE_MAX || mark > w->len || w->len - mark < 4) {
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
    put_be32(w->buf + mark, (uint32_t)v);
    return JUTE_OK;
}

size_t jute_vector_begin(jute_writer_t *w)
{
    return placeholder(w);
}

int jute_vector_end(jute_writer_t *w, size_t mark, int32_t count)
{
    return patch(w, mark, count);
}

size_t jute_packet_begin(jute_writer_t *w)
{
    return placeholder(w);
}

int jute_packet_end(jute_writer_t *w, size_t mark)
{
    if (w->err != JUTE_OK)
        return w->err;
    if (mark == SIZE_MAX || mark > w->len || w->len - mark < 4) {
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
    size_t body = w->len - mark - 4;
    if (body > (size_t)INT32_MAX) {
        wfail(w, JUTE_ENOMEM);
        return w->err;
    }
    return patch(w, mark, (int32_t)body);
}

int jute_frame_check(const void *buf, size_t len, int32_t max_len,
                     size_t *body_len)
{
    if (buf == NULL || len < 4)
        return 0;
    int32_t n = (int32_t)get_be32(buf);
    if (n < 0 || n > max_len)
        return JUTE_ELEN;
    if (len - 4 < (size_t)n)
        return 0;
    *body_len = (size_t)n;
    return 1;
}

/* ---- table-driven records ------------------------------------------------ */

enum { F_INT, F_LONG, F_BOOL, F_BUF, F_STR, F_STAT, F_ACLV, F_STRV, F_INFOV };

typedef struct {
    uint8_t kind;
    uint16_t off;
} field_t;

#define FLD(kind, type, member) { kind, (uint16_t)offsetof(type, member) }

static int read_fields(jute_reader_t *r, const field_t *f, size_t n,
                       void *out)
{
    uint8_t *b = out;
    for (size_t i = 0; i < n && r->err == JUTE_OK; i++) {
        void *p = b + f[i].off;
        switch (f[i].kind) {
        case F_INT: *(int32_t *)p = jute_read_int(r); break;
        case F_LONG: *(int64_t *)p = jute_read_long(r); break;
        case F_BOOL: *(bool *)p = jute_read_bool(r); break;
        case F_BUF: jute_read_buffer(r, p); break;
        case F_STR: jute_read_ustring(r, p); break;
        case F_STAT: jute_read_stat(r, p); break;
        case F_ACLV: jute_read_aclvec(r, p); break;
        case F_STRV: jute_read_strvec(r, p); break;
        default: jute_read_infovec(r, p); break;
        }
    }
    return r->err;
}

static int write_fields(jute_writer_t *w, const field_t *f, size_t n,
                        const void *in)
{
    const uint8_t *b = in;
    for (size_t i = 0; i < n && w->err == JUTE_OK; i++) {
        const void *p = b + f[i].off;
        switch (f[i].kind) {
        case F_INT: jute_write_int(w, *(const int32_t *)p); break;
        case F_LONG: jute_write_long(w, *(const int64_t *)p); break;
        case F_BOOL: jute_write_bool(w, *(const bool *)p); break;
        case F_BUF: jute_write_buffer(w, *(const jute_buf_t *)p); break;
        case F_STR: jute_write_ustring(w, *(const jute_str_t *)p); break;
        case F_STAT: jute_write_stat(w, p); break;
        case F_ACLV: jute_write_aclvec(w, p); break;
        case F_STRV: jute_write_strvec(w, p); break;
        default: jute_write_infovec(w, p); break;
        }
    }
    return w->err;
}

/* jute_read_<name> / jute_write_<name> from the field table <name>_f. */
#define RECORD(name, type)                                                  \
    int jute_read_##name(jute_reader_t *r, type *out)                       \
    {                                                                       \
        type tmp;                                                           \
        memset(&tmp, 0, sizeof tmp);                                        \
        if (read_fields(r, name##_f, COUNT_OF(name##_f), &tmp) == JUTE_OK)  \
            *out = tmp;                                                     \
        return r->err;                                                      \
    }                                                                       \
    int jute_write_##name(jute_writer_t *w, const type *in)                 \
    {                                                                       \
        return write_fields(w, name##_f, COUNT_OF(name##_f), in);           \
    }

static const field_t request_header_f[] = {
    FLD(F_INT, jute_request_header_t, xid),
    FLD(F_INT, jute_request_header_t, type),
};
RECORD(request_header, jute_request_header_t)

static const field_t reply_header_f[] = {
    FLD(F_INT, jute_reply_header_t, xid),
    FLD(F_LONG, jute_reply_header_t, zxid),
    FLD(F_INT, jute_reply_header_t, err),
};
RECORD(reply_header, jute_reply_header_t)

static const field_t multi_header_f[] = {
    FLD(F_INT, jute_multi_header_t, type),
    FLD(F_BOOL, jute_multi_header_t, done),
    FLD(F_INT, jute_multi_header_t, err),
};
RECORD(multi_header, jute_multi_header_t)

static const field_t create_request_f[] = {
    FLD(F_STR, jute_create_request_t, path),
    FLD(F_BUF, jute_create_request_t, data),
    FLD(F_ACLV, jute_create_request_t, acl),
    FLD(F_INT, jute_create_request_t, flags),
};
RECORD(create_request, jute_create_request_t)

static const field_t create_ttl_request_f[] = {
    FLD(F_STR, jute_create_request_t, path),
    FLD(F_BUF, jute_create_request_t, data),
    FLD(F_ACLV, jute_create_request_t, acl),
    FLD(F_INT, jute_create_request_t, flags),
    FLD(F_LONG, jute_create_request_t, ttl),
};
RECORD(create_ttl_request, jute_create_request_t)

static const field_t path_version_f[] = {
    FLD(F_STR, jute_path_version_t, path),
    FLD(F_INT, jute_path_version_t, version),
};
RECORD(path_version, jute_path_version_t)

static const field_t path_watch_f[] = {
    FLD(F_STR, jute_path_watch_t, path),
    FLD(F_BOOL, jute_path_watch_t, watch),
};
RECORD(path_watch, jute_path_watch_t)

static const field_t path_f[] = {
    FLD(F_STR, jute_path_t, path),
};
RECORD(path, jute_path_t)

static const field_t set_data_request_f[] = {
    FLD(F_STR, jute_set_data_request_t, path),
    FLD(F_BUF, jute_set_data_request_t, data),
    FLD(F_INT, jute_set_data_request_t, version),
};
RECORD(set_data_request, jute_set_data_request_t)

static const field_t set_acl_request_f[] = {
    FLD(F_STR, jute_set_acl_request_t, path),
    FLD(F_ACLV, jute_set_acl_request_t, acl),
    FLD(F_INT, jute_set_acl_request_t, version),
};
RECORD(set_acl_request, jute_set_acl_request_t)

static const field_t auth_packet_f[] = {
    FLD(F_INT, jute_auth_packet_t, type),
    FLD(F_STR, jute_auth_packet_t, scheme),
    FLD(F_BUF, jute_auth_packet_t, auth),
};
RECORD(auth_packet, jute_auth_packet_t)

static const field_t set_watches2_f[] = {
    FLD(F_LONG, jute_set_watches_t, relative_zxid),
    FLD(F_STRV, jute_set_watches_t, data_watches),
    FLD(F_STRV, jute_set_watches_t, exist_watches),
    FLD(F_STRV, jute_set_watches_t, child_watches),
    FLD(F_STRV, jute_set_watches_t, persistent_watches),
    FLD(F_STRV, jute_set_watches_t, persistent_recursive_watches),
};
RECORD(set_watches2, jute_set_watches_t)

int jute_read_set_watches(jute_reader_t *r, jute_set_watches_t *out)
{
    jute_set_watches_t tmp;
    memset(&tmp, 0, sizeof tmp);
    if (read_fields(r, set_watches2_f, 4, &tmp) == JUTE_OK) {
        tmp.persistent_watches.count = -1;
        tmp.persistent_recursive_watches.count = -1;
        *out = tmp;
    }
    return r->err;
}

int jute_write_set_watches(jute_writer_t *w, const jute_set_watches_t *in)
{
    return write_fields(w, set_watches2_f, 4, in);
}

static const field_t path_int_f[] = {
    FLD(F_STR, jute_path_int_t, path),
    FLD(F_INT, jute_path_int_t, value),
};
RECORD(path_int, jute_path_int_t)

static const field_t reconfig_request_f[] = {
    FLD(F_STR, jute_reconfig_request_t, joining_servers),
    FLD(F_STR, jute_reconfig_request_t, leaving_servers),
    FLD(F_STR, jute_reconfig_request_t, new_members),
    FLD(F_LONG, jute_reconfig_request_t, cur_config_id),
};
RECORD(reconfig_request, jute_reconfig_request_t)

static const field_t sasl_f[] = {
    FLD(F_BUF, jute_sasl_t, token),
};
RECORD(sasl, jute_sasl_t)

static const field_t create2_response_f[] = {
    FLD(F_STR, jute_create2_response_t, path),
    FLD(F_STAT, jute_create2_response_t, stat),
};
RECORD(create2_response, jute_create2_response_t)

static const field_t stat_response_f[] = {
    FLD(F_STAT, jute_stat_response_t, stat),
};
RECORD(stat_response, jute_stat_response_t)

static const field_t get_data_response_f[] = {
    FLD(F_BUF, jute_get_data_response_t, data),
    FLD(F_STAT, jute_get_data_response_t, stat),
};
RECORD(get_data_response, jute_get_data_response_t)

static const field_t get_acl_response_f[] = {
    FLD(F_ACLV, jute_get_acl_response_t, acl),
    FLD(F_STAT, jute_get_acl_response_t, stat),
};
RECORD(get_acl_response, jute_get_acl_response_t)

static const field_t strlist_response_f[] = {
    FLD(F_STRV, jute_strlist_response_t, list),
};
RECORD(strlist_response, jute_strlist_response_t)

static const field_t get_children2_response_f[] = {
    FLD(F_STRV, jute_get_children2_response_t, children),
    FLD(F_STAT, jute_get_children2_response_t, stat),
};
RECORD(get_children2_response, jute_get_children2_response_t)

static const field_t int_response_f[] = {
    FLD(F_INT, jute_int_response_t, value),
};
RECORD(int_response, jute_int_response_t)

static const field_t whoami_response_f[] = {
    FLD(F_INFOV, jute_whoami_response_t, client_info),
};
RECORD(whoami_response, jute_whoami_response_t)

static const field_t watcher_event_f[] = {
    FLD(F_INT, jute_watcher_event_t, type),
    FLD(F_INT, jute_watcher_event_t, state),
    FLD(F_STR, jute_watcher_event_t, path),
};
RECORD(watcher_event, jute_watcher_event_t)

/* ---- connect ------------------------------------------------------------- */

int jute_read_connect_request(jute_reader_t *r, jute_connect_request_t *out)
{
    jute_connect_request_t c;
    memset(&c, 0, sizeof c);
    c.protocol_version = jute_read_int(r);
    c.last_zxid_seen = jute_read_long(r);
    c.timeout = jute_read_int(r);
    c.session_id = jute_read_long(r);
    jute_read_buffer(r, &c.passwd);
    if (r->err == JUTE_OK && jute_reader_remaining(r) >= 1) {
        c.has_read_only = true;
        c.read_only = jute_read_bool(r);
    }
    if (r->err == JUTE_OK)
        *out = c;
    return r->err;
}

int jute_write_connect_request(jute_writer_t *w,
                               const jute_connect_request_t *in)
{
    jute_write_int(w, in->protocol_version);
    jute_write_long(w, in->last_zxid_seen);
    jute_write_int(w, in->timeout);
    jute_write_long(w, in->session_id);
    jute_write_buffer(w, in->passwd);
    if (in->has_read_only)
        jute_write_bool(w, in->read_only);
    return w->err;
}

int jute_read_connect_response(jute_reader_t *r,
                               jute_connect_response_t *out)
{
    jute_connect_response_t c;
    memset(&c, 0, sizeof c);
    c.protocol_version = jute_read_int(r);
    c.timeout = jute_read_int(r);
    c.session_id = jute_read_long(r);
    jute_read_buffer(r, &c.passwd);
    if (r->err == JUTE_OK && jute_reader_remaining(r) >= 1) {
        c.has_read_only = true;
        c.read_only = jute_read_bool(r);
    }
    if (r->err == JUTE_OK)
        *out = c;
    return r->err;
}

int jute_write_connect_response(jute_writer_t *w,
                                const jute_connect_response_t *in)
{
    jute_write_int(w, in->protocol_version);
    jute_write_int(w, in->timeout);
    jute_write_long(w, in->session_id);
    jute_write_buffer(w, in->passwd);
    if (in->has_read_only)
        jute_write_bool(w, in->read_only);
    return w->err;
}

/* ---- multi --------------------------------------------------------------- */

static bool op_allowed(int32_t kind, int32_t type)
{
    switch (type) {
    case JUTE_OP_CREATE:
    case JUTE_OP_CREATE2:
    case JUTE_OP_CREATECONTAINER:
    case JUTE_OP_CREATETTL:
    case JUTE_OP_DELETE:
    case JUTE_OP_SETDATA:
    case JUTE_OP_CHECK:
        return kind == JUTE_OP_MULTI;
    case JUTE_OP_GETDATA:
    case JUTE_OP_GETCHILDREN:
        return kind == JUTE_OP_MULTIREAD;
    default:
        return false;
    }
}

/* The record of an op whose header said `type`. */
static int read_op_body(jute_reader_t *r, int32_t type, jute_op_t *op)
{
    memset(op, 0, sizeof *op);
    op->type = type;
    switch (type) {
    case JUTE_OP_CREATE:
    case JUTE_OP_CREATE2:
    case JUTE_OP_CREATECONTAINER:
        return jute_read_create_request(r, &op->u.create);
    case JUTE_OP_CREATETTL:
        return jute_read_create_ttl_request(r, &op->u.create);
    case JUTE_OP_DELETE:
    case JUTE_OP_CHECK:
        return jute_read_path_version(r, &op->u.path_version);
    case JUTE_OP_SETDATA:
        return jute_read_set_data_request(r, &op->u.set_data);
    case JUTE_OP_GETDATA:
    case JUTE_OP_GETCHILDREN:
        return jute_read_path_watch(r, &op->u.path_watch);
    default:
        fail(r, JUTE_EOP);
        return r->err;
    }
}

static int write_op_body(jute_writer_t *w, const jute_op_t *op)
{
    switch (op->type) {
    case JUTE_OP_CREATE:
    case JUTE_OP_CREATE2:
    case JUTE_OP_CREATECONTAINER:
        return jute_write_create_request(w, &op->u.create);
    case JUTE_OP_CREATETTL:
        return jute_write_create_ttl_request(w, &op->u.create);
    case JUTE_OP_DELETE:
    case JUTE_OP_CHECK:
        return jute_write_path_version(w, &op->u.path_version);
    case JUTE_OP_SETDATA:
        return jute_write_set_data_request(w, &op->u.set_data);
    case JUTE_OP_GETDATA:
    case JUTE_OP_GETCHILDREN:
        return jute_write_path_watch(w, &op->u.path_watch);
    default:
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
}

int jute_read_multi(jute_reader_t *r, int32_t kind, jute_multi_t *out)
{
    jute_multi_t m = { kind, 0, NULL, NULL, 0 };
    size_t start = r->pos, end = r->pos;
    jute_op_t op;
    for (;;) {
        end = r->pos;
        jute_multi_header_t h = { 0, false, 0 };
        if (jute_read_multi_header(r, &h) != JUTE_OK)
            return r->err;
        if (h.done)
            break;
        if (m.count >= r->lim.max_ops) {
            fail(r, JUTE_ECOUNT);
            return r->err;
        }
        if (!op_allowed(kind, h.type)) {
            fail(r, JUTE_EOP);
            return r->err;
        }
        if (read_op_body(r, h.type, &op) != JUTE_OK)
            return r->err;
        m.count++;
    }
    m.raw = r->buf + start;
    m.raw_len = end - start;
    *out = m;
    return JUTE_OK;
}

int jute_write_multi(jute_writer_t *w, const jute_multi_t *in)
{
    if (in->count < 0 || (in->count > 0 && in->items == NULL &&
                          in->raw == NULL)) {
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
    if (in->items != NULL) {
        for (int32_t i = 0; i < in->count && w->err == JUTE_OK; i++) {
            jute_multi_header_t h = { in->items[i].type, false, -1 };
            jute_write_multi_header(w, &h);
            write_op_body(w, &in->items[i]);
        }
    } else if (in->raw_len > 0) {
        jute_write_raw(w, in->raw, in->raw_len);
    }
    return jute_write_multi_end(w);
}

void jute_multi_iter(const jute_multi_t *m, jute_iter_t *it)
{
    iter_init(it, m->items, m->count, m->raw, m->raw_len);
    it->kind = m->kind;
}

bool jute_op_next(jute_iter_t *it, jute_op_t *out)
{
    if (it->index >= it->count)
        return false;
    if (it->items != NULL) {
        *out = ((const jute_op_t *)it->items)[it->index++];
        return true;
    }
    jute_reader_t r;
    iter_reader(it, &r);
    jute_multi_header_t h = { 0, false, 0 };
    jute_read_multi_header(&r, &h);
    if (r.err == JUTE_OK && h.done)
        fail(&r, JUTE_EOP);
    if (r.err == JUTE_OK)
        read_op_body(&r, h.type, out);
    return iter_advance(it, &r);
}

int jute_write_multi_end(jute_writer_t *w)
{
    jute_multi_header_t h = { -1, true, -1 };
    return jute_write_multi_header(w, &h);
}

int jute_write_op_result(jute_writer_t *w, const jute_op_result_t *res)
{
    jute_multi_header_t h = { res->type, false,
                              res->type == JUTE_OP_ERROR ? res->err : 0 };
    switch (res->type) {
    case JUTE_OP_CREATE:
    case JUTE_OP_CREATE2:
    case JUTE_OP_DELETE:
    case JUTE_OP_CHECK:
    case JUTE_OP_SETDATA:
    case JUTE_OP_GETDATA:
    case JUTE_OP_GETCHILDREN:
    case JUTE_OP_ERROR:
        break;
    default:
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
    jute_write_multi_header(w, &h);
    switch (res->type) {
    case JUTE_OP_CREATE:
        jute_write_ustring(w, res->path);
        break;
    case JUTE_OP_CREATE2:
        jute_write_ustring(w, res->path);
        jute_write_stat(w, &res->stat);
        break;
    case JUTE_OP_SETDATA:
        jute_write_stat(w, &res->stat);
        break;
    case JUTE_OP_GETDATA:
        jute_write_buffer(w, res->data);
        jute_write_stat(w, &res->stat);
        break;
    case JUTE_OP_GETCHILDREN:
        jute_write_strvec(w, &res->children);
        break;
    case JUTE_OP_ERROR:
        jute_write_int(w, res->err);
        break;
    default: /* delete, check: no record */
        break;
    }
    return w->err;
}

/* One result after its header (type from the header). */
static int read_result_body(jute_reader_t *r, int32_t type,
                            jute_op_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->type = type;
    res->path = JUTE_NULL_STR;
    res->data = JUTE_NULL_BUF;
    res->children.count = -1;
    switch (type) {
    case JUTE_OP_CREATE:
        jute_read_ustring(r, &res->path);
        break;
    case JUTE_OP_CREATE2:
        jute_read_ustring(r, &res->path);
        jute_read_stat(r, &res->stat);
        break;
    case JUTE_OP_DELETE:
    case JUTE_OP_CHECK:
        break;
    case JUTE_OP_SETDATA:
        jute_read_stat(r, &res->stat);
        break;
    case JUTE_OP_GETDATA:
        jute_read_buffer(r, &res->data);
        jute_read_stat(r, &res->stat);
        break;
    case JUTE_OP_GETCHILDREN:
        jute_read_strvec(r, &res->children);
        break;
    case JUTE_OP_ERROR:
        res->err = jute_read_int(r);
        break;
    default:
        fail(r, JUTE_EOP);
        break;
    }
    return r->err;
}

int jute_read_multi_response(jute_reader_t *r, jute_multi_response_t *out)
{
    jute_multi_response_t m = { 0, NULL, NULL, 0 };
    size_t start = r->pos, end = r->pos;
    jute_op_result_t res;
    for (;;) {
        end = r->pos;
        jute_multi_header_t h = { 0, false, 0 };
        if (jute_read_multi_header(r, &h) != JUTE_OK)
            return r->err;
        if (h.done)
            break;
        if (m.count >= r->lim.max_ops) {
            fail(r, JUTE_ECOUNT);
            return r->err;
        }
        if (read_result_body(r, h.type, &res) != JUTE_OK)
            return r->err;
        m.count++;
    }
    m.raw = r->buf + start;
    m.raw_len = end - start;
    *out = m;
    return JUTE_OK;
}

int jute_write_multi_response(jute_writer_t *w,
                              const jute_multi_response_t *in)
{
    if (in->count < 0 || (in->count > 0 && in->items == NULL &&
                          in->raw == NULL)) {
        wfail(w, JUTE_EINVAL);
        return w->err;
    }
    if (in->items != NULL) {
        for (int32_t i = 0; i < in->count && w->err == JUTE_OK; i++)
            jute_write_op_result(w, &in->items[i]);
    } else if (in->raw_len > 0) {
        jute_write_raw(w, in->raw, in->raw_len);
    }
    return jute_write_multi_end(w);
}

void jute_multi_response_iter(const jute_multi_response_t *m,
                              jute_iter_t *it)
{
    iter_init(it, m->items, m->count, m->raw, m->raw_len);
}

bool jute_op_result_next(jute_iter_t *it, jute_op_result_t *out)
{
    if (it->index >= it->count)
        return false;
    if (it->items != NULL) {
        *out = ((const jute_op_result_t *)it->items)[it->index++];
        return true;
    }
    jute_reader_t r;
    iter_reader(it, &r);
    jute_multi_header_t h = { 0, false, 0 };
    jute_read_multi_header(&r, &h);
    if (r.err == JUTE_OK && h.done)
        fail(&r, JUTE_EOP);
    if (r.err == JUTE_OK)
        read_result_body(&r, h.type, out);
    return iter_advance(it, &r);
}

/* ---- whole requests ------------------------------------------------------ */

int jute_read_request(jute_reader_t *r, jute_request_t *out)
{
    memset(out, 0, sizeof *out);
    if (jute_read_request_header(r, &out->hdr) != JUTE_OK)
        return r->err;
    switch (out->hdr.type) {
    case JUTE_OP_CREATE:
    case JUTE_OP_CREATE2:
    case JUTE_OP_CREATECONTAINER:
        return jute_read_create_request(r, &out->u.create);
    case JUTE_OP_CREATETTL:
        return jute_read_create_ttl_request(r, &out->u.create);
    case JUTE_OP_DELETE:
    case JUTE_OP_CHECK:
        return jute_read_path_version(r, &out->u.path_version);
    case JUTE_OP_EXISTS:
    case JUTE_OP_GETDATA:
    case JUTE_OP_GETCHILDREN:
    case JUTE_OP_GETCHILDREN2:
        return jute_read_path_watch(r, &out->u.path_watch);
    case JUTE_OP_GETACL:
    case JUTE_OP_SYNC:
    case JUTE_OP_GETALLCHILDRENNUMBER:
    case JUTE_OP_GETEPHEMERALS:
        return jute_read_path(r, &out->u.path);
    case JUTE_OP_SETDATA:
        return jute_read_set_data_request(r, &out->u.set_data);
    case JUTE_OP_SETACL:
        return jute_read_set_acl_request(r, &out->u.set_acl);
    case JUTE_OP_AUTH:
        return jute_read_auth_packet(r, &out->u.auth);
    case JUTE_OP_SETWATCHES:
        return jute_read_set_watches(r, &out->u.set_watches);
    case JUTE_OP_SETWATCHES2:
        return jute_read_set_watches2(r, &out->u.set_watches);
    case JUTE_OP_ADDWATCH:
    case JUTE_OP_CHECKWATCHES:
    case JUTE_OP_REMOVEWATCHES:
        return jute_read_path_int(r, &out->u.path_int);
    case JUTE_OP_RECONFIG:
        return jute_read_reconfig_request(r, &out->u.reconfig);
    case JUTE_OP_SASL:
        return jute_read_sasl(r, &out->u.sasl);
    case JUTE_OP_MULTI:
    case JUTE_OP_MULTIREAD:
        return jute_read_multi(r, out->hdr.type, &out->u.multi);
    case JUTE_OP_PING:
    case JUTE_OP_CLOSESESSION:
    case JUTE_OP_WHOAMI:
        return JUTE_OK;
    default:
        /* Not an error of the reader: the header is good, the caller
         * answers the op.  Later reads still work. */
        return JUTE_EOP;
    }
}

int jute_write_request(jute_writer_t *w, const jute_request_t *in)
{
    jute_write_request_header(w, &in->hdr);
    switch (in->hdr.type) {
    case JUTE_OP_CREATE:
    case JUTE_OP_CREATE2:
    case JUTE_OP_CREATECONTAINER:
        return jute_write_create_request(w, &in->u.create);
    case JUTE_OP_CREATETTL:
        return jute_write_create_ttl_request(w, &in->u.create);
    case JUTE_OP_DELETE:
    case JUTE_OP_CHECK:
        return jute_write_path_version(w, &in->u.path_version);
    case JUTE_OP_EXISTS:
    case JUTE_OP_GETDATA:
    case JUTE_OP_GETCHILDREN:
    case JUTE_OP_GETCHILDREN2:
        return jute_write_path_watch(w, &in->u.path_watch);
    case JUTE_OP_GETACL:
    case JUTE_OP_SYNC:
    case JUTE_OP_GETALLCHILDRENNUMBER:
    case JUTE_OP_GETEPHEMERALS:
        return jute_write_path(w, &in->u.path);
    case JUTE_OP_SETDATA:
        return jute_write_set_data_request(w, &in->u.set_data);
    case JUTE_OP_SETACL:
        return jute_write_set_acl_request(w, &in->u.set_acl);
    case JUTE_OP_AUTH:
        return jute_write_auth_packet(w, &in->u.auth);
    case JUTE_OP_SETWATCHES:
        return jute_write_set_watches(w, &in->u.set_watches);
    case JUTE_OP_SETWATCHES2:
        return jute_write_set_watches2(w, &in->u.set_watches);
    case JUTE_OP_ADDWATCH:
    case JUTE_OP_CHECKWATCHES:
    case JUTE_OP_REMOVEWATCHES:
        return jute_write_path_int(w, &in->u.path_int);
    case JUTE_OP_RECONFIG:
        return jute_write_reconfig_request(w, &in->u.reconfig);
    case JUTE_OP_SASL:
        return jute_write_sasl(w, &in->u.sasl);
    case JUTE_OP_MULTI:
    case JUTE_OP_MULTIREAD:
        return jute_write_multi(w, &in->u.multi);
    case JUTE_OP_PING:
    case JUTE_OP_CLOSESESSION:
    case JUTE_OP_WHOAMI:
        return w->err;
    default:
        return w->err != JUTE_OK ? w->err : JUTE_EOP;
    }
}

int jute_write_notification(jute_writer_t *w, const jute_watcher_event_t *ev)
{
    jute_reply_header_t h = { JUTE_XID_NOTIFICATION, -1, JUTE_ZOK };
    size_t mark = jute_packet_begin(w);
    jute_write_reply_header(w, &h);
    jute_write_watcher_event(w, ev);
    return jute_packet_end(w, mark);
}
