/*
 * main.c -- zab-sqlite: a replicated SQLite on libzab.
 *
 *   zab-sqlite --node N [--serve] [--machine] [-v] CONFIG
 *       runs node N of CONFIG; unless --serve, its shell reads SQL from
 *       stdin (the node stops at the end of the input)
 *   zab-sqlite --node N -c SQL [--machine] [-v] CONFIG
 *       runs SQL on the running node N (through its client port)
 *   zab-sqlite --node N --connect [--machine] [-v] CONFIG
 *       a shell on the running node N
 *   zab-sqlite --local [--machine] [-v]
 *       a shell on an in-memory database that classifies, refuses and
 *       applies requests exactly as a node does, without replication
 *
 * See README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "net.h"
#include "node.h"
#include "proto.h"

static void usage(FILE *f)
{
    fputs("usage: zab-sqlite --node N [--serve] [--machine] [-v] CONFIG\n"
          "       zab-sqlite --node N -c SQL [--machine] [-v] CONFIG\n"
          "       zab-sqlite --node N --connect [--machine] [-v] CONFIG\n"
          "       zab-sqlite --local [--machine] [-v]\n"
          "\n"
          "  --node N     this node's id in CONFIG\n"
          "  --serve      no shell: serve until SIGINT or SIGTERM\n"
          "  -c SQL       run SQL on the running node N and exit (status 0:\n"
          "               done, 1: error or refused, 2: outcome unknown or\n"
          "               no connection)\n"
          "  --connect    a shell on the running node N\n"
          "  --machine    requests and answers in the line protocol\n"
          "               (proto.h) instead of text tables\n"
          "  --local      no replication: an in-memory database that\n"
          "               applies the replication rules (for trying them)\n"
          "  -v           more logging (repeat for libzab's debug lines)\n",
          f);
}

/* ---- reading requests from stdin ------------------------------------------ */

/* The next request: in human mode statements up to a complete ';' (or a
 * dot command line), in machine mode one escaped line.  malloc'd, NULL
 * at the end of the input. */
static char *read_request(FILE *in, int human, int interactive)
{
    char *line = NULL, *acc = NULL;
    size_t cap = 0, acclen = 0;
    for (;;) {
        if (interactive)
            fputs(acclen ? "   ...> " : "zab-sqlite> ", stdout);
        fflush(stdout);
        ssize_t n = getline(&line, &cap, in);
        if (n < 0) {
            free(line);
            if (acc && acc[strspn(acc, " \t\r\n")] != '\0')
                return acc;
            free(acc);
            return NULL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!human) {
            if (n == 0)
                continue;
            proto_unescape(line);
            return line;
        }
        if (acclen == 0) {
            const char *s = line + strspn(line, " \t");
            if (*s == '\0')
                continue;
            if (*s == '.') {
                return line;
            }
        }
        char *na = realloc(acc, acclen + (size_t)n + 2);
        if (!na) {
            free(line);
            free(acc);
            return NULL;
        }
        acc = na;
        memcpy(acc + acclen, line, (size_t)n);
        acclen += (size_t)n;
        acc[acclen++] = '\n';
        acc[acclen] = '\0';
        if (sqlite3_complete(acc)) {
            free(line);
            return acc;
        }
    }
}

/* Prints an answer held in `out` (complete lines).  Returns the worst
 * status: 0 OK, 1 ERR, 2 UNKNOWN. */
static int print_answer(net_buf_t *out, int machine, int verbose)
{
    int status = 0;
    while (net_buf_size(out) > 0) {
        char *p = (char *)out->p + out->off;
        char *nl = memchr(p, '\n', net_buf_size(out));
        size_t l = nl ? (size_t)(nl - p) : net_buf_size(out);
        char *line = strndup(p, l);
        net_buf_consume(out, nl ? l + 1 : l);
        if (!line)
            return 2;
        if (strncmp(line, "ERR\t", 4) == 0 && status < 1)
            status = 1;
        if (strncmp(line, "UNKNOWN\t", 8) == 0)
            status = 2;
        if (machine)
            printf("%s\n", line);
        else
            proto_print_human(line, stdout, stderr, verbose);
        free(line);
    }
    fflush(stdout);
    return status;
}

/* ---- client of a running node ------------------------------------------------ */

static int connect_node(const conf_node_t *nd)
{
    char err[256];
    int fd = net_connect(nd->client_host, nd->client_port, err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "zab-sqlite: %s\n", err);
        return -1;
    }
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int e = poll(&p, 1, 5000) == 1 ? net_connect_result(fd) : ETIMEDOUT;
    if (e != 0) {
        fprintf(stderr,
                "zab-sqlite: cannot connect to node %u at %s:%d: %s (is it "
                "running?)\n",
                nd->id, nd->client_host, nd->client_port, strerror(e));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* Sends one request and prints its answer.  0, 1 (ERR), 2 (UNKNOWN or
 * connection lost). */
static int client_request(int fd, FILE *rd, const char *text, int machine,
                          int verbose)
{
    net_buf_t req, ans;
    memset(&req, 0, sizeof req);
    memset(&ans, 0, sizeof ans);
    if (proto_escape(&req, text, strlen(text)) != 0 ||
        net_buf_append(&req, "\n", 1) != 0)
        return 2;
    while (net_buf_size(&req) > 0) {
        ssize_t w = write(fd, req.p + req.off, net_buf_size(&req));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "zab-sqlite: connection lost\n");
            net_buf_free(&req);
            return 2;
        }
        net_buf_consume(&req, (size_t)w);
    }
    net_buf_free(&req);
    char *line = NULL;
    size_t cap = 0;
    int status = 2;
    for (;;) {
        ssize_t n = getline(&line, &cap, rd);
        if (n <= 0) {
            fprintf(stderr, "zab-sqlite: connection lost (the outcome of "
                            "a write in progress is unknown)\n");
            break;
        }
        net_buf_append(&ans, line, (size_t)n);
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (proto_is_final(line)) {
            status = print_answer(&ans, machine, verbose);
            break;
        }
        if (net_buf_size(&ans) > (1u << 20)) /* long results: stream */
            print_answer(&ans, machine, verbose);
    }
    free(line);
    net_buf_free(&ans);
    return status;
}

static int client_run(const conf_t *c, uint32_t id, const char *sql,
                      int machine, int verbose)
{
    const conf_node_t *nd = conf_node(c, id);
    if (!nd) {
        fprintf(stderr, "zab-sqlite: node %u is not in the configuration\n",
                id);
        return 2;
    }
    int fd = connect_node(nd);
    if (fd < 0)
        return 2;
    FILE *rd = fdopen(dup(fd), "r");
    if (!rd) {
        close(fd);
        return 2;
    }
    int status = 0;
    if (sql) {
        status = client_request(fd, rd, sql, machine, verbose);
    } else {
        int interactive = isatty(0) && isatty(1);
        char *req;
        while ((req = read_request(stdin, !machine, interactive)) != NULL) {
            const char *s = req + strspn(req, " \t");
            int quit = strncmp(s, ".quit", 5) == 0 ||
                       strncmp(s, ".exit", 5) == 0;
            int st = quit ? 0
                          : client_request(fd, rd, req, machine,
                                           verbose || interactive);
            free(req);
            if (quit)
                break;
            if (st > status)
                status = st;
            if (st == 2 && !interactive)
                break;
        }
    }
    fclose(rd);
    close(fd);
    return status;
}

/* ---- --local: the rules without replication --------------------------------- */

static void local_row(void *ud, sqlite3_stmt *st)
{
    proto_row(ud, st);
}

static int local_run(int machine, int verbose)
{
    char err[512];
    db_t *d;
    if (db_open(":memory:", 0, &d, err, sizeof err) != 0) {
        fprintf(stderr, "zab-sqlite: %s\n", err);
        return 2;
    }
    net_buf_t out;
    memset(&out, 0, sizeof out);
    int interactive = isatty(0) && isatty(1);
    int status = 0;
    uint64_t zxid = db_applied_zxid(d);
    char *req;
    while ((req = read_request(stdin, !machine, interactive)) != NULL) {
        const char *s = req + strspn(req, " \t\r\n");
        db_result_t r;
        if (strncmp(s, ".quit", 5) == 0 || strncmp(s, ".exit", 5) == 0) {
            free(req);
            break;
        }
        if (strncmp(s, ".tables", 7) == 0) {
            free(req);
            req = strdup("SELECT name FROM sqlite_schema WHERE type = "
                         "'table' AND name NOT LIKE 'sqlite_%' ORDER BY "
                         "name");
            if (!req)
                break;
        } else if (*s == '.') {
            proto_err(&out, "ERR", "unknown command (--local knows .tables "
                                   "and .quit)");
            free(req);
            status |= print_answer(&out, machine, verbose);
            continue;
        }
        int st = db_run_local(d, req, local_row, &out, &r);
        if (st == DB_WRITE) {
            net_buf_consume(&out, net_buf_size(&out));
            st = db_check_write(d, req, &r);
            if (st == DB_OK) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                st = db_apply(d, ++zxid,
                              (int64_t)ts.tv_sec * 1000 +
                                  ts.tv_nsec / 1000000,
                              req, strlen(req), local_row, &out, &r);
                if (st == DB_FATAL) {
                    fprintf(stderr, "zab-sqlite: %s\n", r.msg);
                    free(req);
                    status = 2;
                    break;
                }
                if (st == DB_OK)
                    proto_ok(&out, zxid, r.changes);
            }
        } else if (st == DB_OK) {
            proto_ok(&out, 0, 0);
        }
        if (st != DB_OK) {
            net_buf_consume(&out, net_buf_size(&out));
            proto_err(&out, "ERR", r.msg);
        }
        free(req);
        int ps = print_answer(&out, machine, verbose || interactive);
        if (ps > status)
            status = ps;
    }
    net_buf_free(&out);
    db_close(d);
    return status;
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    node_opts_t o;
    const char *config = NULL, *sql = NULL;
    int connect = 0, local = 0, serve = 0;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--node") == 0 && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || v == 0 || v > UINT32_MAX) {
                fprintf(stderr, "zab-sqlite: bad node id '%s'\n", argv[i]);
                return 2;
            }
            o.id = (uint32_t)v;
        } else if (strcmp(a, "-c") == 0 && i + 1 < argc) {
            sql = argv[++i];
        } else if (strcmp(a, "--connect") == 0) {
            connect = 1;
        } else if (strcmp(a, "--serve") == 0) {
            serve = 1;
        } else if (strcmp(a, "--machine") == 0) {
            o.machine = 1;
        } else if (strcmp(a, "--local") == 0) {
            local = 1;
        } else if (strcmp(a, "-v") == 0) {
            o.verbose++;
        } else if (strcmp(a, "-vv") == 0) {
            o.verbose += 2;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' || config) {
            usage(stderr);
            return 2;
        } else {
            config = a;
        }
    }
    if (local)
        return local_run(o.machine, o.verbose);
    if (!config || o.id == 0) {
        usage(stderr);
        return 2;
    }
    static conf_t cfg;
    char err[1024];
    if (conf_load(config, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "zab-sqlite: %s\n", err);
        return 2;
    }
    if (sql || connect)
        return client_run(&cfg, o.id, sql, o.machine, o.verbose);
    o.shell = !serve;
    return node_run(&cfg, &o);
}
