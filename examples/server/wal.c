/*
 * wal.c -- zabd's durable storage: log segments with group commit, the
 * epoch file and snapshots (see wal.h for the contract and the on-disk
 * format).  The counterpart of ZooKeeper's FileTxnLog (segments of
 * checksummed records, rolled by size, preallocation aside),
 * FileSnap/FileTxnSnapLog (snapshots, restore, PurgeTxnLog) and the
 * acceptedEpoch/currentEpoch files that QuorumPeer writes atomically.
 *
 * In memory: an array of segments (each with its file descriptor kept
 * open), an index of every record (zxid -> segment, offset, length) for
 * binary-searched reads, and one buffer holding the tail of the newest
 * segment: bytes not yet written (to be written by wal_sync) followed by
 * nothing else, preceded by recently written bytes kept as a read cache.
 */
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define SEG_MAGIC "ZABDLOG1"
#define SEG_HDR 16u
#define REC_MAGIC 0x5a524543u
#define REC_HDR 24u
#define SNAP_MAGIC "ZABDSNP1"
#define SNAP_HDR 32u
#define EPOCH_MAGIC 0x4550434bu
#define EPOCH_SIZE 20u
#define EPOCH_FILE "epochs"
#define EPOCH_TMP "epochs.tmp"

/* ---- CRC32C (Castagnoli, reflected 0x82f63b78), table-driven ----------- */

static const uint32_t crc32c_tab[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu,
    0x26a1e7e8u, 0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
    0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu,
    0xf165b798u, 0x030e349bu, 0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
    0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u, 0x5d1d08bfu, 0xaf768bbcu,
    0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
    0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
    0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu,
    0x1642ae59u, 0xe4292d5au, 0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
    0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu,
    0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
    0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu, 0xfe53516fu,
    0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu,
    0x3ac7f2ebu, 0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
    0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu,
    0x4767748au, 0xb50cf789u, 0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
    0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u, 0x7198540du, 0x83f3d70eu,
    0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
    0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
    0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u,
    0xe9141340u, 0x1b7f9043u, 0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
    0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u, 0x55326b08u, 0xa759e80bu,
    0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
    0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u, 0x502036a5u,
    0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u,
    0x0e330a81u, 0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
    0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u,
    0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
    0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u, 0x0417b1dbu, 0xf67c32d8u,
    0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
    0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
    0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u,
    0x7fab5e8cu, 0x8dc0dd8fu, 0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
    0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u,
    0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
    0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au, 0xc69f7b69u,
    0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

static uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    crc = ~crc;
    while (len-- > 0) {
        crc = crc32c_tab[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    }
    return ~crc;
}

/* ---- little-endian helpers ---------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* ---- state -------------------------------------------------------------- */

typedef struct wal_seg {
    uint64_t first;   /* zxid in the file name */
    uint64_t prev;    /* zxid just before the first record (header) */
    int fd;
    uint64_t size;    /* logical end, buffered bytes included */
    uint64_t written; /* bytes handed to the file */
    int dirty;        /* written since the last fdatasync */
    size_t first_idx; /* index position of its first record */
} wal_seg_t;

typedef struct wal_ent {
    uint64_t zxid;
    uint64_t off; /* of the record header in its segment */
    uint32_t len; /* payload */
    uint32_t seg;
} wal_ent_t;

struct wal {
    char *dir;
    int dirfd;
    int lockfd; /* holds the directory's lock */
    wal_options_t opt;
    char err[512];
    int failed;
    int fail_next; /* test hook: errno for the next write/sync/rename */

    wal_seg_t *segs;
    size_t nsegs, capsegs;
    wal_ent_t *idx;
    size_t nidx, capidx;
    uint64_t log_start;
    uint64_t durable_zxid;
    int dir_dirty;

    /* tail of the newest segment: file range [wbuf_off, wbuf_off + wlen) */
    unsigned char *wbuf;
    size_t wlen, wcap;
    uint64_t wbuf_off;

    uint64_t *tok; /* unreported tokens of both streams, in issue order */
    size_t ntok, captok;

    uint32_t acc, cur; /* issued epochs */
    int epoch_pending;

    unsigned char *rbuf; /* wal_read's result */
    size_t rcap;
    unsigned char empty[1];

    int have_snap;
    uint64_t snap_zxid;

    int rfd; /* snapshot being received */
    uint64_t r_zxid, r_off, r_total;
    uint32_t r_crc;
};

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void seterr(wal_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

static int ioerr(wal_t *w, const char *what, const char *name)
{
    int e = errno;
    seterr(w, "%s %s/%s: %s", what, w->dir, name, strerror(e));
    return ZAB_EIO;
}

static int fail(wal_t *w, int rc)
{
    if (rc == ZAB_EIO) {
        w->failed = 1;
    }
    return rc;
}

static int hook(wal_t *w)
{
    if (w->fail_next != 0) {
        errno = w->fail_next;
        w->fail_next = 0;
        return -1;
    }
    return 0;
}

static void seg_name(char *buf, size_t n, uint64_t zxid)
{
    snprintf(buf, n, "log.%016" PRIx64, zxid);
}

static void snap_name(char *buf, size_t n, uint64_t zxid, const char *suffix)
{
    snprintf(buf, n, "snapshot.%016" PRIx64 "%s", zxid, suffix);
}

/* ---- I/O primitives (every one reports through w->err) ------------------ */

static int io_pwrite(wal_t *w, int fd, const void *buf, size_t n, uint64_t off,
                     const char *name)
{
    const unsigned char *p = buf;
    if (hook(w) != 0) {
        return ioerr(w, "write", name);
    }
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return ioerr(w, "write", name);
        }
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int io_sync(wal_t *w, int fd, int data_only, const char *name)
{
    if (hook(w) != 0 || (data_only ? fdatasync(fd) : fsync(fd)) != 0) {
        return ioerr(w, "fsync", name);
    }
    return 0;
}

static int io_syncdir(wal_t *w)
{
    return io_sync(w, w->dirfd, 0, ".");
}

static int io_rename(wal_t *w, const char *from, const char *to)
{
    if (hook(w) != 0 || renameat(w->dirfd, from, w->dirfd, to) != 0) {
        return ioerr(w, "rename", from);
    }
    return 0;
}

static int io_unlink(wal_t *w, const char *name)
{
    if (unlinkat(w->dirfd, name, 0) != 0 && errno != ENOENT) {
        return ioerr(w, "unlink", name);
    }
    return 0;
}

/* Reads a whole file into a malloc()ed buffer. */
static int read_file(wal_t *w, int fd, const char *name, unsigned char **out,
                     size_t *outlen)
{
    struct stat st;
    *out = NULL;
    *outlen = 0;
    if (fstat(fd, &st) != 0) {
        return ioerr(w, "stat", name);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n > 0 ? n : 1);
    if (b == NULL) {
        seterr(w, "out of memory reading %s", name);
        return ZAB_ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, b + got, n - got, (off_t)got);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            free(b);
            return ioerr(w, "read", name);
        }
        if (k == 0) {
            break;
        }
        got += (size_t)k;
    }
    *out = b;
    *outlen = got;
    return 0;
}

/* Writes `name` atomically: name.tmp, fsync, rename, fsync directory. */
static int write_atomic(wal_t *w, const char *name, const void *hdr,
                        size_t hlen, const void *data, size_t dlen)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    int fd = openat(w->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0644);
    if (fd < 0) {
        return ioerr(w, "create", tmp);
    }
    int rc = io_pwrite(w, fd, hdr, hlen, 0, tmp);
    if (rc == 0 && dlen > 0) {
        rc = io_pwrite(w, fd, data, dlen, hlen, tmp);
    }
    if (rc == 0) {
        rc = io_sync(w, fd, 0, tmp);
    }
    if (close(fd) != 0 && rc == 0) {
        rc = ioerr(w, "close", tmp);
    }
    if (rc == 0) {
        rc = io_rename(w, tmp, name);
    }
    if (rc == 0) {
        rc = io_syncdir(w);
    }
    if (rc != 0) {
        (void)unlinkat(w->dirfd, tmp, 0);
    }
    return rc;
}

/* ---- growth ------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t n = *cap > 0 ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem) {
            return ZAB_ENOMEM;
        }
        n *= 2;
    }
    void *q = realloc(*p, n * elem);
    if (q == NULL) {
        return ZAB_ENOMEM;
    }
    *p = q;
    *cap = n;
    return 0;
}

#define GROW(arr, cap, need) \
    grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* ---- accessors ---------------------------------------------------------- */

const char *wal_error(const wal_t *w)
{
    return w->err;
}

int wal_failed(const wal_t *w)
{
    return w->failed;
}

uint64_t wal_last_zxid(const wal_t *w)
{
    return w->nidx > 0 ? w->idx[w->nidx - 1].zxid : w->log_start;
}

uint64_t wal_durable_zxid(const wal_t *w)
{
    return w->durable_zxid;
}

uint64_t wal_log_start(const wal_t *w)
{
    return w->log_start;
}

size_t wal_segment_count(const wal_t *w)
{
    return w->nsegs;
}

uint64_t wal_snapshot_zxid(const wal_t *w)
{
    return w->have_snap ? w->snap_zxid : 0;
}

void wal_epochs(const wal_t *w, uint32_t *accepted_epoch,
                uint32_t *current_epoch)
{
    if (accepted_epoch != NULL) {
        *accepted_epoch = w->acc;
    }
    if (current_epoch != NULL) {
        *current_epoch = w->cur;
    }
}

void wal_start_state(const wal_t *w, uint32_t *accepted_epoch,
                     uint32_t *current_epoch, uint64_t *last_zxid,
                     uint64_t *delivered_zxid)
{
    wal_epochs(w, accepted_epoch, current_epoch);
    if (last_zxid != NULL) {
        *last_zxid = w->durable_zxid;
    }
    if (delivered_zxid != NULL) {
        *delivered_zxid = wal_snapshot_zxid(w);
    }
}

void wal_test_fail_next(wal_t *w, int err)
{
    w->fail_next = err;
}

int wal_sync_pending(const wal_t *w)
{
    if (w->ntok > 0 || w->dir_dirty || w->epoch_pending) {
        return 1;
    }
    for (size_t i = 0; i < w->nsegs; i++) {
        if (w->segs[i].dirty || w->segs[i].written < w->segs[i].size) {
            return 1;
        }
    }
    return 0;
}

/* ---- segments ----------------------------------------------------------- */

static void seg_close(wal_seg_t *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* Hands the newest segment's buffered bytes to the file (no sync). */
static int flush_pending(wal_t *w)
{
    if (w->nsegs == 0) {
        return 0;
    }
    wal_seg_t *s = &w->segs[w->nsegs - 1];
    if (s->written >= s->size) {
        return 0;
    }
    char name[64];
    seg_name(name, sizeof name, s->first);
    int rc = io_pwrite(w, s->fd, w->wbuf + (s->written - w->wbuf_off),
                       (size_t)(s->size - s->written), s->written, name);
    if (rc != 0) {
        return rc;
    }
    s->written = s->size;
    s->dirty = 1;
    return 0;
}

/* Starts segment log.<first>: the current one is written and fdatasync'd
 * first, so that only the newest segment can ever have a torn tail.  The
 * caller has reserved room in w->segs. */
static int seg_roll(wal_t *w, uint64_t first)
{
    char name[64];
    if (w->nsegs > 0) {
        wal_seg_t *s = &w->segs[w->nsegs - 1];
        int rc = flush_pending(w);
        if (rc == 0 && s->dirty) {
            seg_name(name, sizeof name, s->first);
            rc = io_sync(w, s->fd, 1, name);
            s->dirty = rc == 0 ? 0 : s->dirty;
        }
        if (rc != 0) {
            return rc;
        }
    }
    seg_name(name, sizeof name, first);
    int fd = openat(w->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0644);
    if (fd < 0) {
        return ioerr(w, "create", name);
    }
    unsigned char hdr[SEG_HDR];
    memcpy(hdr, SEG_MAGIC, 8);
    put64(hdr + 8, wal_last_zxid(w));
    int rc = io_pwrite(w, fd, hdr, sizeof hdr, 0, name);
    if (rc != 0) {
        close(fd);
        (void)unlinkat(w->dirfd, name, 0);
        return rc;
    }
    wal_seg_t *s = &w->segs[w->nsegs++];
    s->first = first;
    s->prev = wal_last_zxid(w);
    s->fd = fd;
    s->size = s->written = SEG_HDR;
    s->dirty = 1;
    s->first_idx = w->nidx;
    w->wbuf_off = SEG_HDR;
    w->wlen = 0;
    w->dir_dirty = 1;
    return 0;
}

/* Deletes segments [from, nsegs), newest first, then fsyncs the
 * directory. */
static int drop_segments_from(wal_t *w, size_t from)
{
    if (from >= w->nsegs) {
        return 0;
    }
    while (w->nsegs > from) {
        wal_seg_t *s = &w->segs[w->nsegs - 1];
        char name[64];
        seg_name(name, sizeof name, s->first);
        seg_close(s);
        w->nsegs--;
        int rc = io_unlink(w, name);
        if (rc != 0) {
            return rc;
        }
    }
    return io_syncdir(w);
}

/* ---- log stream --------------------------------------------------------- */

static int push_token(wal_t *w, uint64_t token)
{
    if (token != 0) {
        w->tok[w->ntok++] = token;
    }
    return 0;
}

int wal_append(wal_t *w, uint64_t zxid, const void *data, size_t len,
               uint64_t token)
{
    if (w->failed) {
        seterr(w, "append after a failed write");
        return ZAB_EIO;
    }
    if (len > w->opt.max_record_bytes) {
        return ZAB_E2BIG;
    }
    if (zxid <= wal_last_zxid(w) || (len > 0 && data == NULL)) {
        return ZAB_EINVAL;
    }
    size_t rec = REC_HDR + len;
    int roll = w->nsegs == 0 ||
               (w->segs[w->nsegs - 1].size > SEG_HDR &&
                w->segs[w->nsegs - 1].size + rec > w->opt.segment_bytes);
    if (GROW(w->idx, w->capidx, w->nidx + 1) != 0 ||
        GROW(w->tok, w->captok, w->ntok + 1) != 0 ||
        GROW(w->segs, w->capsegs, w->nsegs + 1) != 0 ||
        GROW(w->wbuf, w->wcap, (roll ? 0 : w->wlen) + rec) != 0) {
        return ZAB_ENOMEM;
    }
    if (roll) {
        int rc = seg_roll(w, zxid);
        if (rc != 0) {
            return fail(w, rc);
        }
    }
    wal_seg_t *s = &w->segs[w->nsegs - 1];
    unsigned char *p = w->wbuf + w->wlen;
    put32(p, REC_MAGIC);
    put32(p + 4, (uint32_t)len);
    put64(p + 8, zxid);
    uint32_t crc = crc32c(0, p, 16);
    if (len > 0) {
        memcpy(p + REC_HDR, data, len);
        crc = crc32c(crc, data, len);
    }
    put32(p + 16, crc);
    put32(p + 20, 0);
    wal_ent_t *e = &w->idx[w->nidx++];
    e->zxid = zxid;
    e->off = s->size;
    e->len = (uint32_t)len;
    e->seg = (uint32_t)(w->nsegs - 1);
    w->wlen += rec;
    s->size += rec;
    return push_token(w, token);
}

/* The first index position with a zxid greater than `after`. */
static size_t idx_after(const wal_t *w, uint64_t after)
{
    size_t lo = 0, hi = w->nidx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->idx[mid].zxid <= after) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int wal_truncate(wal_t *w, uint64_t zxid, uint64_t token)
{
    if (w->failed) {
        seterr(w, "truncate after a failed write");
        return ZAB_EIO;
    }
    if (GROW(w->tok, w->captok, w->ntok + 1) != 0) {
        return ZAB_ENOMEM;
    }
    size_t k = idx_after(w, zxid);
    if (k == w->nidx) {
        return push_token(w, token); /* nothing after zxid */
    }
    int rc = flush_pending(w);
    /* every segment whose first record goes, newest first */
    size_t keep = w->nsegs;
    while (keep > 0 && w->segs[keep - 1].first_idx >= k) {
        keep--;
    }
    if (rc == 0) {
        rc = drop_segments_from(w, keep);
    }
    if (rc == 0 && w->nsegs > 0) {
        wal_seg_t *s = &w->segs[w->nsegs - 1];
        if (w->idx[k].seg == w->nsegs - 1) {
            /* the newest segment left holds entry k: cut it there */
            uint64_t cut = w->idx[k].off;
            char name[64];
            seg_name(name, sizeof name, s->first);
            if (ftruncate(s->fd, (off_t)cut) != 0) {
                rc = ioerr(w, "truncate", name);
            } else {
                rc = io_sync(w, s->fd, 1, name);
            }
            if (rc == 0) {
                s->size = s->written = cut;
                s->dirty = 0;
            }
        }
        w->wbuf_off = s->size; /* the buffer described a dropped tail */
        w->wlen = 0;
    }
    if (rc != 0) {
        return fail(w, rc);
    }
    w->nidx = k;
    return push_token(w, token);
}

int wal_read(wal_t *w, uint64_t after, uint64_t *zxid, const void **data,
             size_t *len)
{
    if (after < w->log_start) {
        return ZAB_ERANGE;
    }
    size_t i = idx_after(w, after);
    if (i == w->nidx) {
        return ZAB_ENOENT;
    }
    const wal_ent_t *e = &w->idx[i];
    size_t rec = REC_HDR + e->len;
    if (GROW(w->rbuf, w->rcap, rec) != 0) {
        return ZAB_ENOMEM;
    }
    if (e->seg == w->nsegs - 1 && e->off >= w->wbuf_off) {
        memcpy(w->rbuf, w->wbuf + (e->off - w->wbuf_off), rec);
    } else {
        const wal_seg_t *s = &w->segs[e->seg];
        char name[64];
        seg_name(name, sizeof name, s->first);
        size_t got = 0;
        while (got < rec) {
            ssize_t k = pread(s->fd, w->rbuf + got, rec - got,
                              (off_t)(e->off + got));
            if (k < 0 && errno == EINTR) {
                continue;
            }
            if (k <= 0) {
                if (k == 0) {
                    errno = EIO;
                }
                return ioerr(w, "read", name);
            }
            got += (size_t)k;
        }
        uint32_t crc = crc32c(crc32c(0, w->rbuf, 16), w->rbuf + REC_HDR,
                              e->len);
        if (get32(w->rbuf) != REC_MAGIC || get32(w->rbuf + 4) != e->len ||
            get64(w->rbuf + 8) != e->zxid || get32(w->rbuf + 16) != crc) {
            seterr(w, "%s/%s: record at offset %" PRIu64 " changed on disk",
                   w->dir, name, e->off);
            return ZAB_EIO;
        }
    }
    *zxid = e->zxid;
    *data = e->len > 0 ? (const void *)(w->rbuf + REC_HDR) : w->empty;
    *len = e->len;
    return 0;
}

/* ---- epochs ------------------------------------------------------------- */

int wal_save_epochs(wal_t *w, uint32_t accepted_epoch, uint32_t current_epoch,
                    uint64_t token)
{
    if (w->failed) {
        seterr(w, "save_epochs after a failed write");
        return ZAB_EIO;
    }
    if (current_epoch > accepted_epoch) {
        return ZAB_EINVAL;
    }
    if (GROW(w->tok, w->captok, w->ntok + 1) != 0) {
        return ZAB_ENOMEM;
    }
    w->acc = accepted_epoch;
    w->cur = current_epoch;
    w->epoch_pending = 1;
    return push_token(w, token);
}

static int write_epochs(wal_t *w)
{
    unsigned char b[EPOCH_SIZE];
    put32(b, EPOCH_MAGIC);
    put32(b + 4, 1);
    put32(b + 8, w->acc);
    put32(b + 12, w->cur);
    put32(b + 16, crc32c(0, b, 16));
    return write_atomic(w, EPOCH_FILE, b, sizeof b, NULL, 0);
}

static int read_epochs(wal_t *w)
{
    int fd = openat(w->dirfd, EPOCH_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            w->acc = w->cur = 0; /* a new node */
            return 0;
        }
        return ioerr(w, "open", EPOCH_FILE);
    }
    unsigned char *b;
    size_t n;
    int rc = read_file(w, fd, EPOCH_FILE, &b, &n);
    close(fd);
    if (rc != 0) {
        return rc;
    }
    if (n != EPOCH_SIZE || get32(b) != EPOCH_MAGIC || get32(b + 4) != 1 ||
        get32(b + 16) != crc32c(0, b, 16) || get32(b + 12) > get32(b + 8)) {
        seterr(w, "%s/%s: corrupt epoch file (%zu bytes)", w->dir, EPOCH_FILE,
               n);
        free(b);
        return WAL_ECORRUPT;
    }
    w->acc = get32(b + 8);
    w->cur = get32(b + 12);
    free(b);
    return 0;
}

/* ---- group commit ------------------------------------------------------- */

static void report(wal_t *w, wal_durable_fn cb, void *ud, int status)
{
    /* Take the list first: the callback may issue new writes. */
    uint64_t *t = w->tok;
    size_t n = w->ntok, cap = w->captok;
    w->tok = NULL;
    w->ntok = w->captok = 0;
    for (size_t i = 0; cb != NULL && i < n; i++) {
        cb(ud, t[i], status);
    }
    if (w->tok == NULL) {
        w->tok = t;
        w->captok = cap;
    } else {
        free(t);
    }
}

int wal_sync(wal_t *w, wal_durable_fn cb, void *ud)
{
    if (w->failed) {
        seterr(w, "sync after a failed write");
        return ZAB_EIO;
    }
    /* collect: what this sync covers */
    uint64_t target = wal_last_zxid(w);
    int epochs = w->epoch_pending;
    /* perform */
    int rc = flush_pending(w);
    for (size_t i = 0; rc == 0 && i < w->nsegs; i++) {
        wal_seg_t *s = &w->segs[i];
        if (s->dirty) {
            char name[64];
            seg_name(name, sizeof name, s->first);
            rc = io_sync(w, s->fd, 1, name);
            if (rc == 0) {
                s->dirty = 0;
            }
        }
    }
    if (rc == 0 && w->dir_dirty) {
        rc = io_syncdir(w);
        if (rc == 0) {
            w->dir_dirty = 0;
        }
    }
    if (rc == 0 && epochs) {
        rc = write_epochs(w);
        if (rc == 0) {
            w->epoch_pending = 0;
        }
    }
    /* report */
    if (rc != 0) {
        w->failed = 1;
        report(w, cb, ud, ZAB_EIO);
        return ZAB_EIO;
    }
    w->durable_zxid = target;
    if (w->wlen > w->opt.cache_bytes) {
        w->wbuf_off += w->wlen; /* drop the read cache */
        w->wlen = 0;
    }
    report(w, cb, ud, 0);
    return 0;
}

/* ---- snapshots ---------------------------------------------------------- */

static void snap_header(unsigned char *h, uint64_t zxid, uint64_t len,
                        uint32_t crc)
{
    memcpy(h, SNAP_MAGIC, 8);
    put64(h + 8, zxid);
    put64(h + 16, len);
    put32(h + 24, crc);
    put32(h + 28, crc32c(0, h, 28));
}

int wal_snapshot_write(wal_t *w, uint64_t zxid, const void *data, size_t len)
{
    if (len > 0 && data == NULL) {
        return ZAB_EINVAL;
    }
    unsigned char h[SNAP_HDR];
    snap_header(h, zxid, len, crc32c(0, data, len));
    char name[64];
    snap_name(name, sizeof name, zxid, "");
    int rc = write_atomic(w, name, h, sizeof h, data, len);
    if (rc == 0 && (!w->have_snap || zxid > w->snap_zxid)) {
        w->have_snap = 1;
        w->snap_zxid = zxid;
    }
    return rc;
}

int wal_snapshot_adopt(wal_t *w, uint64_t zxid)
{
    char name[64];
    struct stat st;
    snap_name(name, sizeof name, zxid, "");
    if (fstatat(w->dirfd, name, &st, 0) != 0) {
        return ioerr(w, "stat", name);
    }
    if (!w->have_snap || zxid > w->snap_zxid) {
        w->have_snap = 1;
        w->snap_zxid = zxid;
    }
    return 0;
}

/* Reads and checks snapshot.<zxid>; WAL_ECORRUPT if it is not valid. */
static int snap_read(wal_t *w, uint64_t zxid, void **data, size_t *len)
{
    char name[64];
    snap_name(name, sizeof name, zxid, "");
    int fd = openat(w->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ioerr(w, "open", name);
    }
    unsigned char *b;
    size_t n;
    int rc = read_file(w, fd, name, &b, &n);
    close(fd);
    if (rc != 0) {
        return rc;
    }
    if (n < SNAP_HDR || memcmp(b, SNAP_MAGIC, 8) != 0 ||
        get32(b + 28) != crc32c(0, b, 28) || get64(b + 8) != zxid ||
        get64(b + 16) != n - SNAP_HDR ||
        get32(b + 24) != crc32c(0, b + SNAP_HDR, n - SNAP_HDR)) {
        seterr(w, "%s/%s: corrupt snapshot", w->dir, name);
        free(b);
        return WAL_ECORRUPT;
    }
    size_t plen = n - SNAP_HDR;
    void *p = NULL;
    if (plen > 0) {
        memmove(b, b + SNAP_HDR, plen);
        p = b;
    } else {
        free(b);
    }
    *data = p;
    *len = plen;
    return 0;
}

int wal_snapshot_load(wal_t *w, uint64_t *zxid, void **data, size_t *len)
{
    if (!w->have_snap) {
        return ZAB_ENOENT;
    }
    int rc = snap_read(w, w->snap_zxid, data, len);
    if (rc == 0) {
        *zxid = w->snap_zxid;
    }
    return rc;
}

static void recv_abort(wal_t *w)
{
    if (w->rfd >= 0) {
        char name[64];
        snap_name(name, sizeof name, w->r_zxid, ".recv.tmp");
        close(w->rfd);
        w->rfd = -1;
        (void)unlinkat(w->dirfd, name, 0);
    }
}

/* Names of files in the directory matching "<prefix><16 hex>" exactly. */
static int list_zxids(wal_t *w, const char *prefix, uint64_t **out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    DIR *d = opendir(w->dir);
    if (d == NULL) {
        return ioerr(w, "list", ".");
    }
    size_t pl = strlen(prefix);
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        const char *s = de->d_name;
        if (strncmp(s, prefix, pl) != 0 || strlen(s) != pl + 16) {
            continue;
        }
        uint64_t v = 0;
        int ok = 1;
        for (const char *c = s + pl; *c != '\0'; c++) {
            int dgt = (*c >= '0' && *c <= '9')   ? *c - '0'
                      : (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10
                                                 : -1;
            if (dgt < 0) {
                ok = 0;
                break;
            }
            v = (v << 4) | (uint64_t)dgt;
        }
        if (!ok) {
            continue;
        }
        if (GROW(*out, cap, *n + 1) != 0) {
            rc = ZAB_ENOMEM;
            break;
        }
        (*out)[(*n)++] = v;
    }
    closedir(d);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int wal_snapshot_put(wal_t *w, uint64_t zxid, uint64_t offset,
                     uint64_t total, const void *chunk, size_t len,
                     uint64_t token)
{
    if (w->failed) {
        seterr(w, "snapshot_put after a failed write");
        return ZAB_EIO;
    }
    if ((len > 0 && chunk == NULL) || offset > total || len > total - offset) {
        return ZAB_EINVAL;
    }
    if (GROW(w->tok, w->captok, w->ntok + 1) != 0) {
        return ZAB_ENOMEM; /* reserved now: the last chunk cannot fail so */
    }
    char tmp[64];
    snap_name(tmp, sizeof tmp, zxid, ".recv.tmp");
    if (offset == 0) {
        recv_abort(w);
        w->rfd = openat(w->dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                        0644);
        if (w->rfd < 0) {
            return fail(w, ioerr(w, "create", tmp));
        }
        w->r_zxid = zxid;
        w->r_total = total;
        w->r_off = 0;
        w->r_crc = 0;
    } else if (w->rfd < 0 || zxid != w->r_zxid || total != w->r_total ||
               offset != w->r_off) {
        seterr(w, "snapshot chunk out of order");
        return ZAB_EINVAL;
    }
    int rc = 0;
    if (len > 0) {
        rc = io_pwrite(w, w->rfd, chunk, len, SNAP_HDR + offset, tmp);
        if (rc != 0) {
            recv_abort(w);
            return fail(w, rc);
        }
        w->r_crc = crc32c(w->r_crc, chunk, len);
        w->r_off += len;
    }
    if (w->r_off < total) {
        return 0;
    }
    /* last chunk: make the snapshot durable, then reset the log */
    unsigned char h[SNAP_HDR];
    snap_header(h, zxid, total, w->r_crc);
    char name[64];
    snap_name(name, sizeof name, zxid, "");
    rc = io_pwrite(w, w->rfd, h, sizeof h, 0, tmp);
    if (rc == 0) {
        rc = io_sync(w, w->rfd, 0, tmp);
    }
    close(w->rfd);
    w->rfd = -1;
    if (rc == 0) {
        rc = io_rename(w, tmp, name);
    }
    if (rc != 0) {
        (void)unlinkat(w->dirfd, tmp, 0);
        return fail(w, rc);
    }
    /* snapshots newer than the installed state would win on restart */
    uint64_t *z;
    size_t nz;
    rc = list_zxids(w, "snapshot.", &z, &nz);
    for (size_t i = 0; rc == 0 && i < nz; i++) {
        if (z[i] > zxid) {
            char old[64];
            snap_name(old, sizeof old, z[i], "");
            rc = io_unlink(w, old);
        }
    }
    free(z);
    if (rc == 0) {
        w->wlen = 0;
        rc = drop_segments_from(w, 0); /* fsyncs the directory */
    }
    if (rc != 0) {
        return fail(w, rc);
    }
    w->nidx = 0;
    w->log_start = zxid;
    w->have_snap = 1;
    w->snap_zxid = zxid;
    return push_token(w, token);
}

int wal_purge(wal_t *w, unsigned retain)
{
    if (retain < 1) {
        return ZAB_EINVAL;
    }
    uint64_t *z;
    size_t nz;
    int rc = list_zxids(w, "snapshot.", &z, &nz);
    if (rc != 0) {
        return rc;
    }
    if (nz > 0) {
        qsort(z, nz, sizeof *z, cmp_u64);
    }
    /* files newer than the newest valid snapshot failed their check on
     * open: leave them alone, and count only the others */
    while (nz > 0 && (!w->have_snap || z[nz - 1] > w->snap_zxid)) {
        nz--;
    }
    if (nz == 0) {
        free(z);
        return 0;
    }
    size_t keep_from = nz > retain ? nz - retain : 0;
    uint64_t oldest = z[keep_from];
    for (size_t i = 0; rc == 0 && i < keep_from; i++) {
        char name[64];
        snap_name(name, sizeof name, z[i], "");
        rc = io_unlink(w, name);
    }
    free(z);
    /* segments entirely at or below `oldest`, oldest first, never the
     * newest one */
    size_t drop = 0;
    uint64_t new_start = w->log_start;
    while (rc == 0 && drop + 1 < w->nsegs) {
        const wal_seg_t *next = &w->segs[drop + 1];
        uint64_t last = next->prev; /* last zxid of segment `drop` */
        if (last > oldest) {
            break;
        }
        char name[64];
        seg_name(name, sizeof name, w->segs[drop].first);
        seg_close(&w->segs[drop]);
        drop++;
        new_start = last;
        rc = io_unlink(w, name);
    }
    if (drop > 0) {
        size_t cut = w->segs[drop].first_idx;
        memmove(w->segs, w->segs + drop, (w->nsegs - drop) * sizeof *w->segs);
        w->nsegs -= drop;
        for (size_t i = 0; i < w->nsegs; i++) {
            w->segs[i].first_idx -= cut;
        }
        memmove(w->idx, w->idx + cut, (w->nidx - cut) * sizeof *w->idx);
        w->nidx -= cut;
        for (size_t i = 0; i < w->nidx; i++) {
            w->idx[i].seg -= (uint32_t)drop;
        }
        w->log_start = new_start;
    }
    if (rc == 0 && (drop > 0 || keep_from > 0)) {
        rc = io_syncdir(w);
    }
    return rc;
}

/* ---- recovery ----------------------------------------------------------- */

/* The length of the valid record at `off` of b[0..n) whose zxid must
 * exceed `after`, or 0. */
static size_t rec_valid(const wal_t *w, const unsigned char *b, size_t n,
                        size_t off, uint64_t after)
{
    if (off > n || n - off < REC_HDR || get32(b + off) != REC_MAGIC) {
        return 0;
    }
    uint32_t len = get32(b + off + 4);
    if (len > w->opt.max_record_bytes || n - off - REC_HDR < len ||
        get64(b + off + 8) <= after) {
        return 0;
    }
    uint32_t crc = crc32c(crc32c(0, b + off, 16), b + off + REC_HDR, len);
    if (get32(b + off + 16) != crc) {
        return 0;
    }
    return REC_HDR + len;
}

/* Whether anything valid lies after a bad record at `off` of the segment
 * `names[i]` (already in b): a valid record further on in it, or a later
 * segment with a valid header and first record. */
static int valid_after(wal_t *w, const unsigned char *b, size_t n, size_t off,
                       uint64_t after, const uint64_t *names, size_t i,
                       size_t count)
{
    for (size_t o = off + 1; o + REC_HDR <= n; o++) {
        if (b[o] == (REC_MAGIC & 0xffu) && rec_valid(w, b, n, o, after) > 0) {
            return 1;
        }
    }
    for (size_t j = i + 1; j < count; j++) {
        char name[64];
        seg_name(name, sizeof name, names[j]);
        int fd = openat(w->dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        unsigned char *c;
        size_t cn;
        int rc = read_file(w, fd, name, &c, &cn);
        close(fd);
        if (rc != 0) {
            continue;
        }
        int ok = cn >= SEG_HDR && memcmp(c, SEG_MAGIC, 8) == 0 &&
                 rec_valid(w, c, cn, SEG_HDR, 0) > 0;
        free(c);
        if (ok) {
            return 1;
        }
    }
    return 0;
}

static int recover_log(wal_t *w)
{
    uint64_t *names;
    size_t count;
    int rc = list_zxids(w, "log.", &names, &count);
    if (rc != 0) {
        return rc;
    }
    if (count > 0) {
        qsort(names, count, sizeof *names, cmp_u64);
    }
    uint64_t last = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char name[64];
        seg_name(name, sizeof name, names[i]);
        int fd = openat(w->dirfd, name, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            rc = ioerr(w, "open", name);
            break;
        }
        unsigned char *b;
        size_t n;
        rc = read_file(w, fd, name, &b, &n);
        if (rc == 0 && GROW(w->segs, w->capsegs, w->nsegs + 1) != 0) {
            rc = ZAB_ENOMEM;
        }
        if (rc != 0) {
            close(fd);
            free(b);
            break;
        }
        size_t off = 0;
        int hdr_ok = n >= SEG_HDR && memcmp(b, SEG_MAGIC, 8) == 0;
        uint64_t prev = hdr_ok ? get64(b + 8) : 0;
        if (hdr_ok && i > 0 && prev != last) {
            seterr(w,
                   "%s/%s: segment starts after %016" PRIx64
                   " but the one before ends at %016" PRIx64
                   " (a segment is missing)",
                   w->dir, name, prev, last);
            rc = WAL_ECORRUPT;
            close(fd);
            free(b);
            break;
        }
        size_t first_idx = w->nidx;
        uint64_t after = hdr_ok ? prev : last;
        if (hdr_ok) {
            off = SEG_HDR;
            for (;;) {
                size_t r = rec_valid(w, b, n, off, after);
                uint64_t z = r > 0 ? get64(b + off + 8) : 0;
                if (r > 0 && off == SEG_HDR && z != names[i]) {
                    r = 0; /* first record must match the name */
                }
                if (r == 0) {
                    break;
                }
                if (GROW(w->idx, w->capidx, w->nidx + 1) != 0) {
                    rc = ZAB_ENOMEM;
                    break;
                }
                wal_ent_t *e = &w->idx[w->nidx++];
                e->zxid = z;
                e->off = off;
                e->len = (uint32_t)(r - REC_HDR);
                e->seg = (uint32_t)w->nsegs;
                after = z;
                off += r;
            }
        }
        if (rc == 0 && (off < n || !hdr_ok)) {
            /* a bad record (or header) at `off` */
            if (valid_after(w, b, n, off, after, names, i, count) &&
                !w->opt.repair) {
                seterr(w,
                       "%s/%s: corrupt record at offset %zu (after zxid "
                       "%016" PRIx64 ") followed by valid records: "
                       "refusing to start (repair drops everything from it)",
                       w->dir, name, off, after);
                rc = WAL_ECORRUPT;
            } else {
                /* a torn tail: cut it, drop every later segment */
                for (size_t j = count; j-- > i + 1;) {
                    char later[64];
                    seg_name(later, sizeof later, names[j]);
                    if (rc == 0) {
                        rc = io_unlink(w, later);
                    }
                }
                count = i + 1;
                if (rc == 0 && off < SEG_HDR) {
                    rc = io_unlink(w, name);
                    hdr_ok = 0;
                } else if (rc == 0) {
                    if (ftruncate(fd, (off_t)off) != 0) {
                        rc = ioerr(w, "truncate", name);
                    } else {
                        rc = io_sync(w, fd, 1, name);
                    }
                    n = off;
                }
                if (rc == 0) {
                    rc = io_syncdir(w);
                }
            }
        }
        free(b);
        if (rc != 0 || !hdr_ok) {
            close(fd);
            continue;
        }
        wal_seg_t *s = &w->segs[w->nsegs++];
        s->first = names[i];
        s->prev = prev;
        s->fd = fd;
        s->size = s->written = n;
        s->dirty = 0;
        s->first_idx = first_idx;
        last = after;
    }
    free(names);
    if (rc != 0) {
        return rc;
    }
    /* segments without records: drop them (a crash right after a roll) */
    size_t j = 0;
    for (size_t i = 0; i < w->nsegs; i++) {
        wal_seg_t *s = &w->segs[i];
        size_t end = i + 1 < w->nsegs ? w->segs[i + 1].first_idx : w->nidx;
        if (end == s->first_idx && (w->nsegs > 1 || w->nidx == 0)) {
            char name[64];
            seg_name(name, sizeof name, s->first);
            if (i == 0) {
                w->log_start = s->prev; /* still tells where the log starts */
            }
            seg_close(s);
            rc = io_unlink(w, name);
            if (rc != 0) {
                return rc;
            }
            w->dir_dirty = 1;
            continue;
        }
        for (size_t k = s->first_idx; k < end; k++) {
            w->idx[k].seg = (uint32_t)j;
        }
        w->segs[j++] = *s;
    }
    w->nsegs = j;
    if (w->nsegs > 0) {
        w->log_start = w->segs[0].prev;
        w->wbuf_off = w->segs[w->nsegs - 1].size;
        w->wlen = 0;
    }
    return w->dir_dirty ? io_syncdir(w) : 0;
}

static int remove_tmp_files(wal_t *w)
{
    DIR *d = opendir(w->dir);
    if (d == NULL) {
        return ioerr(w, "list", ".");
    }
    struct dirent *de;
    int rc = 0, removed = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0) {
            if (unlinkat(w->dirfd, de->d_name, 0) != 0 && errno != ENOENT) {
                rc = ioerr(w, "unlink", de->d_name);
                break;
            }
            removed = 1;
        }
    }
    closedir(d);
    if (rc == 0 && removed) {
        rc = io_syncdir(w);
    }
    return rc;
}

static int find_snapshot(wal_t *w)
{
    uint64_t *z;
    size_t nz;
    int rc = list_zxids(w, "snapshot.", &z, &nz);
    if (rc != 0) {
        return rc;
    }
    if (nz > 0) {
        qsort(z, nz, sizeof *z, cmp_u64);
    }
    for (size_t i = nz; i-- > 0;) {
        void *data;
        size_t len;
        rc = snap_read(w, z[i], &data, &len);
        if (rc == 0) {
            free(data);
            w->have_snap = 1;
            w->snap_zxid = z[i];
            break;
        }
        if (rc != WAL_ECORRUPT) {
            break;
        }
        rc = 0; /* skip a bad one: try the one before */
    }
    free(z);
    return rc;
}

int wal_open(const char *dir, const wal_options_t *opt, wal_t **out,
             char *errbuf, size_t errlen)
{
    if (out == NULL) {
        return ZAB_EINVAL;
    }
    *out = NULL;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (dir == NULL) {
        return ZAB_EINVAL;
    }
    wal_t *w = calloc(1, sizeof *w);
    if (w == NULL || (w->dir = strdup(dir)) == NULL) {
        free(w);
        if (errbuf != NULL && errlen > 0) {
            snprintf(errbuf, errlen, "out of memory");
        }
        return ZAB_ENOMEM;
    }
    w->dirfd = -1;
    w->lockfd = -1;
    w->rfd = -1;
    if (opt != NULL) {
        w->opt = *opt;
    }
    if (w->opt.segment_bytes == 0) {
        w->opt.segment_bytes = (uint64_t)64 << 20;
    }
    if (w->opt.max_record_bytes == 0) {
        w->opt.max_record_bytes = (uint32_t)64 << 20;
    }
    if (w->opt.cache_bytes == 0) {
        w->opt.cache_bytes = (size_t)4 << 20;
    }
    int rc = 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = ioerr(w, "mkdir", "");
    }
    if (rc == 0) {
        w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->dirfd < 0) {
            rc = ioerr(w, "open", "");
        }
    }
    if (rc == 0) {
        /* one process per directory: a POSIX record lock on LOCK, held
         * while the descriptor stays open (released on close or exit) */
        w->lockfd = openat(w->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC,
                           0644);
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (w->lockfd < 0) {
            rc = ioerr(w, "open", "LOCK");
        } else if (fcntl(w->lockfd, F_SETLK, &fl) != 0) {
            rc = ioerr(w, "lock (is another process using it?)", "LOCK");
        }
    }
    if (rc == 0) {
        rc = remove_tmp_files(w);
    }
    if (rc == 0) {
        rc = read_epochs(w);
    }
    if (rc == 0) {
        rc = find_snapshot(w);
    }
    if (rc == 0) {
        rc = recover_log(w);
    }
    if (rc == 0 && w->have_snap && w->snap_zxid > wal_last_zxid(w) &&
        w->nsegs > 0) {
        /* a crash in the middle of a snapshot install (renamed, log not yet
         * deleted): the whole log is behind the snapshot; finish the job */
        rc = drop_segments_from(w, 0);
        w->nidx = 0;
    }
    if (rc == 0) {
        uint64_t snap = wal_snapshot_zxid(w);
        if (w->nsegs > 0 && w->log_start > 0 && w->log_start > snap) {
            seterr(w,
                   "%s: the log starts after %016" PRIx64
                   " but the newest valid snapshot is %016" PRIx64,
                   w->dir, w->log_start, snap);
            rc = WAL_ECORRUPT;
        } else if (w->nsegs == 0) {
            w->log_start = snap;
        }
    }
    if (rc != 0) {
        if (errbuf != NULL && errlen > 0) {
            snprintf(errbuf, errlen, "%s", w->err);
        }
        wal_close(w);
        return rc;
    }
    w->durable_zxid = wal_last_zxid(w);
    *out = w;
    return 0;
}

void wal_close(wal_t *w)
{
    if (w == NULL) {
        return;
    }
    recv_abort(w);
    for (size_t i = 0; i < w->nsegs; i++) {
        seg_close(&w->segs[i]);
    }
    if (w->dirfd >= 0) {
        close(w->dirfd);
    }
    if (w->lockfd >= 0) {
        close(w->lockfd);
    }
    free(w->segs);
    free(w->idx);
    free(w->wbuf);
    free(w->tok);
    free(w->rbuf);
    free(w->dir);
    free(w);
}
