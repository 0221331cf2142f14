/*
 * proto.c -- the issuers' line protocol (see proto.h).
 */
#include "proto.h"

#include <inttypes.h>
#include <string.h>

int proto_escape(net_buf_t *out, const char *s, size_t n)
{
    if (net_buf_reserve(out, 2 * n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        const char *e = c == '\\' ? "\\\\"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t"
                                    : NULL;
        if (e)
            net_buf_append(out, e, 2);
        else
            net_buf_append(out, &c, 1);
    }
    return 0;
}

size_t proto_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r == 't' ? '\t' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

int proto_row(net_buf_t *out, sqlite3_stmt *st)
{
    static const char hex[] = "0123456789ABCDEF";
    int n = sqlite3_column_count(st);
    int rc = net_buf_append(out, "R", 1);
    for (int i = 0; i < n && rc == 0; i++) {
        rc = net_buf_append(out, "\t", 1);
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL:
            if (rc == 0)
                rc = net_buf_append(out, "\\N", 2);
            break;
        case SQLITE_BLOB: {
            const unsigned char *b = sqlite3_column_blob(st, i);
            size_t len = (size_t)sqlite3_column_bytes(st, i);
            if (rc == 0)
                rc = net_buf_reserve(out, 2 * len + 3);
            if (rc == 0) {
                net_buf_append(out, "X'", 2);
                for (size_t k = 0; k < len; k++) {
                    char h[2] = { hex[b[k] >> 4], hex[b[k] & 15] };
                    net_buf_append(out, h, 2);
                }
                net_buf_append(out, "'", 1);
            }
            break;
        }
        default: {
            const char *t = (const char *)sqlite3_column_text(st, i);
            if (rc == 0 && t)
                rc = proto_escape(out, t,
                                  (size_t)sqlite3_column_bytes(st, i));
            break;
        }
        }
    }
    if (rc == 0)
        rc = net_buf_append(out, "\n", 1);
    return rc;
}

int proto_row_kv(net_buf_t *out, const char *key, const char *value)
{
    int rc = net_buf_append(out, "R\t", 2);
    if (rc == 0)
        rc = proto_escape(out, key, strlen(key));
    if (rc == 0)
        rc = net_buf_append(out, "\t", 1);
    if (rc == 0)
        rc = proto_escape(out, value, strlen(value));
    if (rc == 0)
        rc = net_buf_append(out, "\n", 1);
    return rc;
}

int proto_ok(net_buf_t *out, uint64_t zxid, int64_t changes)
{
    char line[64];
    int n = snprintf(line, sizeof line, "OK\t%016" PRIx64 "\t%" PRId64 "\n",
                     zxid, changes);
    return net_buf_append(out, line, (size_t)n);
}

int proto_err(net_buf_t *out, const char *kind, const char *msg)
{
    int rc = net_buf_append(out, kind, strlen(kind));
    if (rc == 0)
        rc = net_buf_append(out, "\t", 1);
    if (rc == 0)
        rc = proto_escape(out, msg, strlen(msg));
    if (rc == 0)
        rc = net_buf_append(out, "\n", 1);
    return rc;
}

int proto_is_final(const char *line)
{
    return strncmp(line, "OK\t", 3) == 0 || strncmp(line, "ERR\t", 4) == 0 ||
           strncmp(line, "UNKNOWN\t", 8) == 0;
}

int proto_print_human(char *line, FILE *out, FILE *err, int verbose)
{
    if (line[0] == 'R' && (line[1] == '\t' || line[1] == '\0')) {
        char *f = line[1] ? line + 2 : NULL;
        int first = 1;
        while (f) {
            char *tab = strchr(f, '\t');
            if (tab)
                *tab = '\0';
            if (!first)
                fputc('|', out);
            first = 0;
            if (strcmp(f, "\\N") != 0) {
                size_t n = proto_unescape(f);
                fwrite(f, 1, n, out);
            }
            f = tab ? tab + 1 : NULL;
        }
        fputc('\n', out);
        return 0;
    }
    if (strncmp(line, "OK\t", 3) == 0) {
        char *tab = strchr(line + 3, '\t');
        if (tab)
            *tab = '\0';
        if (verbose && strspn(line + 3, "0") != strlen(line + 3))
            fprintf(out, "-- committed as zxid 0x%s, %s change(s)\n",
                    line + 3, tab ? tab + 1 : "?");
        return 0;
    }
    int unknown = strncmp(line, "UNKNOWN\t", 8) == 0;
    char *msg = strchr(line, '\t');
    msg = msg ? msg + 1 : line;
    proto_unescape(msg);
    fprintf(err, "%s: %s\n", unknown ? "Unknown outcome" : "Error", msg);
    return 1;
}
