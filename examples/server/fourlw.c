/*
 * fourlw.c -- ZooKeeper's four-letter words on the client port (ruok,
 * srvr, stat, mntr, conf, cons, envi, wchs, isro, dirs), in the formats of
 * ZooKeeper 3.8's FourLetterCommands and ServerStats, which tools such as
 * zkServer.sh status and monitoring scripts parse ("Mode: leader",
 * "Zxid: 0x...", mntr's tab-separated zk_* keys).
 *
 * As in ZooKeeper, the first four bytes of a connection are compared with
 * the known words; a known word outside 4lw.commands.whitelist is answered
 * with ZooKeeper's refusal text.  The connection closes after the answer.
 */
#include "server.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define ZK_COMPAT_VERSION "3.8.0"

static const char *const known[] = {
    "conf", "cons", "crst", "dump", "envi", "gtmk", "ruok", "stmk", "srst",
    "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash", "dirs",
};

static void out(net_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out(net_buf_t *b, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        net_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n
                                                        : sizeof line - 1);
}

static void version_line(net_buf_t *b)
{
    out(b, "Zookeeper version: %s-zabd-%s, built on %s %s\n",
        ZK_COMPAT_VERSION, zab_version_string(), __DATE__, __TIME__);
}

static double avg_latency(const srv_t *s)
{
    return s->stats.lat_count
               ? (double)s->stats.lat_sum / (double)s->stats.lat_count : 0.0;
}

/* ServerStats.toString. */
static void server_stats(const srv_t *s, net_buf_t *b)
{
    out(b, "Latency min/avg/max: %" PRIu64 "/%.4f/%" PRIu64 "\n",
        s->stats.lat_min, avg_latency(s), s->stats.lat_max);
    out(b, "Received: %" PRIu64 "\n", s->stats.packets_in);
    out(b, "Sent: %" PRIu64 "\n", s->stats.packets_out);
    out(b, "Connections: %zu\n", s->nclients);
    out(b, "Outstanding: %zu\n", s->outstanding);
    out(b, "Zxid: 0x%" PRIx64 "\n", (uint64_t)tree_last_zxid(s->tree));
    out(b, "Mode: %s\n", srv_mode(s));
    out(b, "Node count: %zu\n", tree_node_count(s->tree));
}

static void connection_line(const srv_t *s, const client_t *c, net_buf_t *b,
                            bool full)
{
    out(b, " /%s:%d[%d](queued=%zu,recved=%" PRIu64 ",sent=%" PRIu64, c->addr,
        c->port, c->state == CLIENT_OPEN ? 1 : 0, c->queued, c->packets_in,
        c->packets_out);
    if (full && c->session)
        out(b, ",sid=0x%" PRIx64 ",lcxid=0x%x,to=%d,est=%" PRIu64,
            (uint64_t)c->session, (unsigned)c->last_cxid, c->timeout,
            c->connected_ms);
    (void)s;
    out(b, ")\n");
}

struct eph_count {
    const tree_t *tree;
    size_t n;
};

static void count_ephemerals(void *ud, int64_t session, int32_t timeout)
{
    struct eph_count *ec = ud;
    char **v = NULL;
    size_t n = 0;
    (void)timeout;
    if (tree_get_ephemerals(ec->tree, session, NULL, &v, &n) == TREE_ZOK) {
        ec->n += n;
        tree_strv_free(v, n);
    }
}

static void cmd_mntr(const srv_t *s, net_buf_t *b)
{
    struct eph_count ec = { s->tree, 0 };
    tree_session_each(s->tree, count_ephemerals, &ec);
    size_t wconn = 0, wpaths = 0, wtotal = 0;
    watch_summary(s->watches, &wconn, &wpaths, &wtotal);
    out(b, "zk_version\t%s-zabd-%s\n", ZK_COMPAT_VERSION,
        zab_version_string());
    out(b, "zk_server_state\t%s\n", srv_mode(s));
    out(b, "zk_avg_latency\t%.4f\n", avg_latency(s));
    out(b, "zk_max_latency\t%" PRIu64 "\n", s->stats.lat_max);
    out(b, "zk_min_latency\t%" PRIu64 "\n", s->stats.lat_min);
    out(b, "zk_packets_received\t%" PRIu64 "\n", s->stats.packets_in);
    out(b, "zk_packets_sent\t%" PRIu64 "\n", s->stats.packets_out);
    out(b, "zk_num_alive_connections\t%zu\n", s->nclients);
    out(b, "zk_outstanding_requests\t%zu\n", s->outstanding);
    out(b, "zk_znode_count\t%zu\n", tree_node_count(s->tree));
    out(b, "zk_watch_count\t%zu\n", wtotal);
    out(b, "zk_ephemerals_count\t%zu\n", ec.n);
    out(b, "zk_global_sessions\t%zu\n", tree_session_count(s->tree));
    out(b, "zk_last_zxid\t0x%" PRIx64 "\n", (uint64_t)tree_last_zxid(s->tree));
    out(b, "zk_uptime\t%" PRIu64 "\n", s->now - s->role_since_ms);
    if (s->role == ZAB_LEADING && s->serving) {
        size_t followers = 0;
        for (size_t i = 0; i < s->nmembers; i++)
            followers += s->members[i].conn != NULL &&
                         s->members[i].conn->state == PEER_UP;
        out(b, "zk_learners\t%zu\n", followers);
        out(b, "zk_synced_followers\t%zu\n", followers);
    }
    /* libzab's own counters, under their names. */
    for (int i = 0; i < ZAB_STAT__COUNT; i++)
        out(b, "zabd_%s\t%" PRIu64 "\n", zab_stat_name(i),
            zab_stat(s->zab, i));
    out(b, "zabd_writes_lost\t%" PRIu64 "\n", s->stats.writes_lost);
    out(b, "zabd_sessions_expired\t%" PRIu64 "\n", s->stats.sessions_expired);
    out(b, "zabd_malformed_client_packets\t%" PRIu64 "\n",
        s->stats.malformed_client);
    out(b, "zabd_malformed_peer_frames\t%" PRIu64 "\n",
        s->stats.malformed_peer);
    out(b, "zabd_sasl_auth_ok\t%" PRIu64 "\n", s->stats.sasl_ok);
    out(b, "zabd_sasl_auth_failed\t%" PRIu64 "\n", s->stats.sasl_failed);
    /* ZooKeeper's counter of failed TLS handshakes on the client port
     * (ServerMetrics.UNSUCCESSFUL_HANDSHAKE), and zabd's for the quorum. */
    out(b, "zk_unsuccessful_handshake\t%" PRIu64 "\n",
        tls_ctx_failures(s->tls_client));
    out(b, "zabd_quorum_unsuccessful_handshake\t%" PRIu64 "\n",
        tls_ctx_failures(s->tls_quorum));
}

static void cmd_conf(const srv_t *s, net_buf_t *b)
{
    const cfg_t *c = &s->cfg;
    out(b, "clientPort=%d\n",
        s->self && s->self->client_port ? s->self->client_port
                                        : c->client_port);
    if (c->secure_client_port)
        out(b, "secureClientPort=%d\n", c->secure_client_port);
    out(b, "dataDir=%s\n", c->data_dir);
    out(b, "dataLogDir=%s\n", c->data_log_dir);
    out(b, "tickTime=%d\n", c->tick_time);
    out(b, "maxClientCnxns=%d\n", c->max_client_cnxns);
    out(b, "minSessionTimeout=%d\n", c->min_session_timeout);
    out(b, "maxSessionTimeout=%d\n", c->max_session_timeout);
    out(b, "serverId=%u\n", c->myid);
    if (!c->standalone) {
        out(b, "initLimit=%d\n", c->init_limit);
        out(b, "syncLimit=%d\n", c->sync_limit);
        out(b, "electionAlg=3\n");
        out(b, "electionPort=%d\n", s->self->election_port);
        out(b, "quorumPort=%d\n", s->self->quorum_port);
        out(b, "peerType=%d\n", s->self->observer ? 1 : 0);
        out(b, "membership: \n");
        for (size_t i = 0; i < c->nservers; i++) {
            const cfg_server_t *sv = &c->servers[i];
            out(b, "server.%u=%s:%d:%d:%s\n", sv->id, sv->host,
                sv->quorum_port, sv->election_port,
                sv->observer ? "observer" : "participant");
        }
    }
}

static void cmd_envi(const srv_t *s, net_buf_t *b)
{
    struct utsname u;
    char host[256] = "";
    char cwd[1024] = "";
    gethostname(host, sizeof host - 1);
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    out(b, "Environment:\n");
    out(b, "zookeeper.version=%s-zabd-%s, built on %s %s\n",
        ZK_COMPAT_VERSION, zab_version_string(), __DATE__, __TIME__);
    out(b, "host.name=%s\n", host);
    out(b, "zabd.version=%s\n", zab_version_string());
    if (uname(&u) == 0) {
        out(b, "os.name=%s\n", u.sysname);
        out(b, "os.arch=%s\n", u.machine);
        out(b, "os.version=%s\n", u.release);
    }
    out(b, "user.dir=%s\n", cwd);
    out(b, "process.id=%ld\n", (long)getpid());
    (void)s;
}

/* FourLetterCommands.ZK_NOT_SERVING: what the commands that describe
 * the running server answer while it has no leader to serve with. */
#define ZK_NOT_SERVING "This ZooKeeper instance is not currently serving requests\n"

static bool needs_serving(const char *cmd)
{
    static const char *const words[] = {"srvr", "stat", "cons", "mntr",
                                        "wchs", "dirs"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(cmd, words[i]))
            return true;
    return false;
}

static void answer(srv_t *s, const char *cmd, net_buf_t *b)
{
    if (!s->serving && !s->read_only && needs_serving(cmd)) {
        out(b, ZK_NOT_SERVING);
        return;
    }
    if (!strcmp(cmd, "ruok")) {
        out(b, "imok");
    } else if (!strcmp(cmd, "srvr")) {
        version_line(b);
        server_stats(s, b);
    } else if (!strcmp(cmd, "stat")) {
        version_line(b);
        out(b, "Clients:\n");
        for (const client_t *c = s->clients; c; c = c->next)
            connection_line(s, c, b, false);
        out(b, "\n");
        server_stats(s, b);
    } else if (!strcmp(cmd, "cons")) {
        for (const client_t *c = s->clients; c; c = c->next)
            connection_line(s, c, b, true);
        out(b, "\n");
    } else if (!strcmp(cmd, "mntr")) {
        cmd_mntr(s, b);
    } else if (!strcmp(cmd, "conf")) {
        cmd_conf(s, b);
    } else if (!strcmp(cmd, "envi")) {
        cmd_envi(s, b);
    } else if (!strcmp(cmd, "wchs")) {
        size_t conns = 0, paths = 0, total = 0;
        watch_summary(s->watches, &conns, &paths, &total);
        out(b, "%zu connections watching %zu paths\nTotal watches:%zu\n",
            conns, paths, total);
    } else if (!strcmp(cmd, "isro")) {
        /* IsroCommand: "ro" from a ReadOnlyZooKeeperServer */
        out(b, s->serving ? "rw" : s->read_only ? "ro" : "null");
    } else if (!strcmp(cmd, "dirs")) {
        out(b, "datadir_size: 0\nlogdir_size: 0\n");
    } else {
        out(b, "%s is not supported by zabd\n", cmd);
    }
}

int fourlw_handle(srv_t *s, const uint8_t *buf, size_t len, net_buf_t *o)
{
    char cmd[5];
    if (len < 4)
        return 0;
    memcpy(cmd, buf, 4);
    cmd[4] = '\0';
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(cmd, known[i]) != 0)
            continue;
        if (!cfg_fourlw_allowed(&s->cfg, cmd))
            out(o, "%s is not executed because it is not in the whitelist.\n",
                cmd);
        else
            answer(s, cmd, o);
        return 1;
    }
    return 0;
}
