/*
 * check_cfg.c -- zabd's configuration (cfg.c): the java.util.Properties
 * syntax (separators, comments, continuations, line endings), every key's
 * value and default, session timeouts derived after the whole file, the
 * four-letter-word whitelist, server.N lines (observers, client ports,
 * IPv6 brackets), myid from dataDir/myid or the myid key, every error
 * message, the notes and warnings passed to the warn callback, and the
 * bounds of the error buffer.  Files go under a mkdtemp() directory that
 * each test removes.
 */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"

/* ---- fixture: a scratch directory, warnings, one cfg_t -------------- */

static char dir[64];
static cfg_t cfg; /* static: a cfg_t holds 255 server slots */
static char err[512];

typedef struct warns {
    int n;
    char text[16384];
} warns_t;
static warns_t warns;

static void collect(void *ud, const char *line)
{
    warns_t *w = ud;
    w->n++;
    size_t used = strlen(w->text), n = strlen(line);
    if (used + n + 2 < sizeof w->text) {
        memcpy(w->text + used, line, n);
        memcpy(w->text + used + n, "\n", 2);
    }
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 ||
                    strcmp(e->d_name, "..") == 0) {
                    continue;
                }
                char sub[PATH_MAX];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_cfg.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    rm_rf(dir);
}

/* Writes dir/name with the given content. */
static void put_file(const char *name, const char *content, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(content, 1, len, f), len);
    fclose(f);
}

static void put_myid(const char *content)
{
    put_file("myid", content, strlen(content));
}

/* body with every "@D" replaced by the scratch directory (malloc'd). */
static char *expand(const char *body)
{
    size_t dl = strlen(dir), n = 0;
    for (const char *s = body; (s = strstr(s, "@D")) != NULL; s += 2) {
        n++;
    }
    char *out = malloc(strlen(body) + n * dl + 1);
    ck_assert_ptr_nonnull(out);
    char *o = out;
    for (const char *s = body; *s;) {
        if (s[0] == '@' && s[1] == 'D') {
            memcpy(o, dir, dl);
            o += dl;
            s += 2;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

static int parse(const char *body)
{
    char *text = expand(body);
    memset(&warns, 0, sizeof warns);
    memset(err, 'x', sizeof err);
    int rc = cfg_parse(text, "t.cfg", &cfg, err, sizeof err, collect,
                       &warns);
    free(text);
    return rc;
}

#define BASE "dataDir=@D\nclientPort=2181\n" /* lines 1 and 2 */
#define ENSEMBLE                                                            \
    "server.1=10.0.0.1:2888:3888\n"                                         \
    "server.2=10.0.0.2:2888:3888\n"                                         \
    "server.3=10.0.0.3:2888:3888\n"
/* server.2 and server.3 carry client ports (lines 4 and 5 after one line). */
#define ENSEMBLE_CLIENT                                                     \
    "server.1=10.0.0.1:2888:3888\n"                                         \
    "server.2=10.0.0.2:2888:3888;2182\n"                                    \
    "server.3=10.0.0.3:2888:3888;10.0.0.3:2183\n"

#define OK(body)                                                            \
    do {                                                                    \
        int rc_ = parse(body);                                              \
        ck_assert_msg(rc_ == 0, "unexpected error: %s", err);               \
        ck_assert_str_eq(err, "");                                          \
    } while (0)

/* The parse fails and err contains `want`. */
#define BAD(body, want)                                                     \
    do {                                                                    \
        ck_assert_int_eq(parse(body), -1);                                  \
        ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err, \
                      want);                                                \
    } while (0)

/* The parse fails with exactly this message. */
#define BAD_EQ(body, want)                                                  \
    do {                                                                    \
        ck_assert_int_eq(parse(body), -1);                                  \
        ck_assert_str_eq(err, want);                                        \
    } while (0)

#define WARNED(want)                                                        \
    ck_assert_msg(strstr(warns.text, want) != NULL,                         \
                  "warnings '%s' lack '%s'", warns.text, want)

/* ---- defaults -------------------------------------------------------- */

static void assert_defaults_except_dirs(const cfg_t *c)
{
    ck_assert_int_eq(c->tick_time, 2000);
    ck_assert_int_eq(c->init_limit, 10);
    ck_assert_int_eq(c->sync_limit, 5);
    ck_assert_str_eq(c->client_address, "0.0.0.0");
    ck_assert_int_eq(c->max_client_cnxns, 60);
    ck_assert_int_eq(c->min_session_timeout, 4000);
    ck_assert_int_eq(c->max_session_timeout, 40000);
    ck_assert_int_eq(c->jute_maxbuffer, 1048575);
    ck_assert_int_eq(c->global_outstanding_limit, 1000);
    ck_assert_int_eq(c->snap_count, 100000);
    ck_assert_int_eq(c->snap_retain_count, 3);
    ck_assert_int_eq(c->force_sync, 1);
    ck_assert_int_eq(c->extended_types, 0);
    ck_assert_int_eq(c->read_only_mode, 0);
    ck_assert_str_eq(c->fourlw_whitelist, "srvr");
    ck_assert_str_eq(c->session_secret, "zabd");
    ck_assert_str_eq(c->jaas_path, "");
    ck_assert_str_eq(c->sasl_section, "Server");
    ck_assert_uint_eq(c->nsuper_users, 0);
    ck_assert_str_eq(c->sasl_super_password, "");
    ck_assert_uint_eq(c->nservers, 0);
    ck_assert_int_eq(c->observer_self, 0);
    ck_assert_uint_eq(c->myid, 1);
    ck_assert_int_eq(c->standalone, 1);
}

START_TEST(test_defaults)
{
    cfg_default(&cfg);
    assert_defaults_except_dirs(&cfg);
    ck_assert_str_eq(cfg.data_dir, "");
    ck_assert_str_eq(cfg.data_log_dir, "");
    ck_assert_int_eq(cfg.client_port, 0);

    OK(BASE);
    assert_defaults_except_dirs(&cfg);
    ck_assert_str_eq(cfg.data_dir, dir);
    ck_assert_str_eq(cfg.data_log_dir, dir); /* defaults to dataDir */
    ck_assert_int_eq(cfg.client_port, 2181);
    ck_assert_ptr_null(cfg_self(&cfg));
    ck_assert_int_eq(warns.n, 0);
}
END_TEST

/* ---- every key ------------------------------------------------------- */

START_TEST(test_every_key)
{
    OK("tickTime=3000\n"
       "initLimit=20\n"
       "syncLimit=7\n"
       "dataDir=@D\n"
       "dataLogDir=@D/log\n"
       "clientPort=2182\n"
       "clientPortAddress=127.0.0.1\n"
       "maxClientCnxns=0\n"
       "minSessionTimeout=5000\n"
       "maxSessionTimeout=90000\n"
       "jute.maxbuffer=4194304\n"
       "globalOutstandingLimit=2000\n"
       "snapCount=5000\n"
       "autopurge.snapRetainCount=10\n"
       "forceSync=no\n"
       "zookeeper.extendedTypesEnabled=true\n"
       "readonlymode.enabled=true\n"
       "4lw.commands.whitelist=ruok,stat\n"
       "sessionSecret=s3cret\n"
       "peerType=participant\n"
       "myid=9\n");
    ck_assert_int_eq(cfg.tick_time, 3000);
    ck_assert_int_eq(cfg.init_limit, 20);
    ck_assert_int_eq(cfg.sync_limit, 7);
    ck_assert_str_eq(cfg.data_dir, dir);
    char log[128];
    snprintf(log, sizeof log, "%s/log", dir);
    ck_assert_str_eq(cfg.data_log_dir, log);
    ck_assert_int_eq(cfg.client_port, 2182);
    ck_assert_str_eq(cfg.client_address, "127.0.0.1");
    ck_assert_int_eq(cfg.max_client_cnxns, 0);
    ck_assert_int_eq(cfg.min_session_timeout, 5000);
    ck_assert_int_eq(cfg.max_session_timeout, 90000);
    ck_assert_int_eq(cfg.jute_maxbuffer, 4194304);
    ck_assert_int_eq(cfg.global_outstanding_limit, 2000);
    ck_assert_int_eq(cfg.snap_count, 5000);
    ck_assert_int_eq(cfg.snap_retain_count, 10);
    ck_assert_int_eq(cfg.force_sync, 0);
    ck_assert_int_eq(cfg.extended_types, 1);
    ck_assert_int_eq(cfg.read_only_mode, 1);
    ck_assert_str_eq(cfg.fourlw_whitelist, "ruok,stat");
    ck_assert_str_eq(cfg.session_secret, "s3cret");
    ck_assert_int_eq(cfg.observer_self, 0);
    ck_assert_uint_eq(cfg.myid, 9); /* standalone, the key's id */
    ck_assert_int_eq(cfg.standalone, 1);
    ck_assert_int_eq(warns.n, 0);
}
END_TEST

/* One server line outside a file (reconfig), and back as ZooKeeper
 * writes it in /zookeeper/config. */
START_TEST(test_server_line)
{
    cfg_server_t sv;
    char msg[256], out[700];
    ck_assert_int_eq(cfg_parse_server("server.7", " 10.0.0.7:2888:3888:"
                                      "observer;127.0.0.1:2181", &sv, msg,
                                      sizeof msg), 0);
    ck_assert_uint_eq(sv.id, 7);
    ck_assert_str_eq(sv.host, "10.0.0.7");
    ck_assert_int_eq(sv.observer, 1);
    ck_assert_uint_eq(sv.client_port, 2181);
    ck_assert_uint_eq(cfg_server_format(&sv, out, sizeof out),
                      strlen("server.7=10.0.0.7:2888:3888:observer;"
                             "127.0.0.1:2181"));
    ck_assert_str_eq(out, "server.7=10.0.0.7:2888:3888:observer;"
                          "127.0.0.1:2181");
    ck_assert_int_eq(cfg_parse_server("server.2", "[::1]:1:2;3", &sv, msg,
                                      sizeof msg), 0);
    cfg_server_format(&sv, out, sizeof out);
    ck_assert_str_eq(out, "server.2=[::1]:1:2:participant;0.0.0.0:3");
    ck_assert_int_eq(cfg_parse_server("server.2", "h:1:1", &sv, msg,
                                      sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "must differ"));
    ck_assert_int_eq(cfg_parse_server("server.256", "h:1:2", &sv, msg,
                                      sizeof msg), -1);
    ck_assert_int_eq(cfg_parse_server("srv.2", "h:1:2", &sv, msg,
                                      sizeof msg), -1);
    ck_assert_int_eq(cfg_parse_server("server.2", "h:1:2:voter", &sv, msg,
                                      sizeof msg), -1);
    /* A small buffer: the length wanted, as snprintf. */
    ck_assert_uint_gt(cfg_server_format(&sv, out, 8), 7);
}
END_TEST

START_TEST(test_booleans)
{
    OK(BASE "forceSync=yes\n");
    ck_assert_int_eq(cfg.force_sync, 1);
    OK(BASE "forceSync=NO\n");
    ck_assert_int_eq(cfg.force_sync, 0);
    BAD_EQ(BASE "forceSync=false\n",
           "t.cfg:3: forceSync: must be yes or no (value 'false')");
    BAD(BASE "forceSync=\n", "forceSync: must be yes or no (value '')");

    OK(BASE "zookeeper.extendedTypesEnabled=TRUE\n");
    ck_assert_int_eq(cfg.extended_types, 1);
    OK(BASE "zookeeper.extendedTypesEnabled=false\n");
    ck_assert_int_eq(cfg.extended_types, 0);
    /* The form that works in a real zoo.cfg (ZooKeeper prefixes it). */
    OK(BASE "extendedTypesEnabled=true\n");
    ck_assert_int_eq(cfg.extended_types, 1);
    BAD_EQ(BASE "zookeeper.extendedTypesEnabled=yes\n",
           "t.cfg:3: zookeeper.extendedTypesEnabled: must be true or false "
           "(value 'yes')");
}
END_TEST

START_TEST(test_strings)
{
    OK("dataDir = @D/\nclientPort=1\n");
    char want[128];
    snprintf(want, sizeof want, "%s/", dir);
    ck_assert_str_eq(cfg.data_dir, want);
    BAD_EQ("dataDir=\n", "t.cfg:1: dataDir: empty (value '')");
    BAD(BASE "dataLogDir=\n", "t.cfg:3: dataLogDir: empty");
    BAD(BASE "sessionSecret=\n", "t.cfg:3: sessionSecret: empty");
    BAD(BASE "clientPortAddress=\n", "t.cfg:3: clientPortAddress: empty");
    BAD(BASE "clientPortAddress=[]\n", "t.cfg:3: clientPortAddress: empty");
    BAD(BASE "clientPortAddress=a b\n",
        "t.cfg:3: clientPortAddress: a host name has no blanks");
    OK(BASE "sessionSecret=with spaces inside\n");
    ck_assert_str_eq(cfg.session_secret, "with spaces inside");

    /* Too long for the field. */
    char *big = malloc(5000 + 64);
    ck_assert_ptr_nonnull(big);
    strcpy(big, "clientPort=1\ndataDir=/");
    memset(big + strlen(big), 'd', 5000);
    strcpy(big + strlen("clientPort=1\ndataDir=/") + 5000, "\n");
    BAD(big, "t.cfg:2: dataDir: too long (at most 4095 bytes) (value '/ddd");
    ck_assert_ptr_nonnull(strstr(err, "...')"));
    ck_assert_uint_lt(strlen(err), 200); /* the value is cut */
    strcpy(big, BASE "sessionSecret=");
    memset(big + strlen(big), 's', 256);
    strcpy(big + strlen(BASE "sessionSecret=") + 256, "\n");
    BAD(big, "sessionSecret: too long (at most 255 bytes)");
    free(big);

    /* Relative directories work, with a warning. */
    OK("dataDir=data\nclientPort=1\ndataLogDir=./log\n");
    ck_assert_str_eq(cfg.data_dir, "data");
    ck_assert_str_eq(cfg.data_log_dir, "./log");
    WARNED("t.cfg:1: warning: dataDir is a relative path");
    WARNED("t.cfg:3: warning: dataLogDir is a relative path");
    ck_assert_int_eq(warns.n, 2);
}
END_TEST

/* ---- Properties syntax ----------------------------------------------- */

START_TEST(test_separators)
{
    OK("dataDir=@D\n"
       "clientPort: 2182\n"
       "tickTime 2500\n"
       "initLimit = 11\n"
       "  syncLimit\t=\t6   \n"
       "\tmaxClientCnxns:7\t \n"
       "snapCount    =    9000\n"
       "globalOutstandingLimit\t1500\n"
       "sessionSecret==x\n");
    ck_assert_int_eq(cfg.client_port, 2182);
    ck_assert_int_eq(cfg.tick_time, 2500);
    ck_assert_int_eq(cfg.init_limit, 11);
    ck_assert_int_eq(cfg.sync_limit, 6);
    ck_assert_int_eq(cfg.max_client_cnxns, 7);
    ck_assert_int_eq(cfg.snap_count, 9000);
    ck_assert_int_eq(cfg.global_outstanding_limit, 1500);
    /* Only one separator is eaten, as in Properties. */
    ck_assert_str_eq(cfg.session_secret, "=x");
    ck_assert_int_eq(warns.n, 0);
}
END_TEST

START_TEST(test_comments_and_blank_lines)
{
    OK("# a comment\n"
       "! another comment\n"
       "   # indented comment\n"
       "\n"
       "   \t  \n"
       "dataDir=@D\n"
       "#clientPort=1\n"
       "clientPort=2181\n"
       "# a comment ending in a backslash does not continue \\\n"
       "tickTime=1000\n");
    ck_assert_int_eq(cfg.client_port, 2181);
    ck_assert_int_eq(cfg.tick_time, 1000);
    ck_assert_int_eq(warns.n, 0); /* no comment was taken for a key */
    /* '#' after a value is part of the value (Properties has no trailing
     * comments). */
    OK(BASE "sessionSecret=abc # not a comment\n");
    ck_assert_str_eq(cfg.session_secret, "abc # not a comment");
    BAD_EQ(BASE "tickTime=1000 # ms\n",
           "t.cfg:3: tickTime: not a decimal integer (value '1000 # ms')");
}
END_TEST

START_TEST(test_line_endings)
{
    OK("dataDir=@D\r\nclientPort=2181\r\ntickTime=1500\r\n");
    ck_assert_int_eq(cfg.client_port, 2181);
    ck_assert_int_eq(cfg.tick_time, 1500);
    OK("dataDir=@D\rclientPort=2182\rtickTime=1600");
    ck_assert_int_eq(cfg.client_port, 2182);
    ck_assert_int_eq(cfg.tick_time, 1600);
    /* No final newline; the line numbers count every ending style. */
    BAD_EQ("dataDir=@D\r\nclientPort=2181\rinitLimit=0",
           "t.cfg:3: initLimit: must be at least 1 (value '0')");
}
END_TEST

START_TEST(test_continuations)
{
    OK(BASE
       "server.1=10.0.0.1:\\\n"
       "         2888:3888\n"
       "server.2=\\\n"
       "   10.0.0.2:2888:3888\\\n"
       "\t:observer\n"
       "myid=1\n");
    ck_assert_uint_eq(cfg.nservers, 2);
    ck_assert_str_eq(cfg.servers[0].host, "10.0.0.1");
    ck_assert_uint_eq(cfg.servers[0].quorum_port, 2888);
    ck_assert_uint_eq(cfg.servers[0].election_port, 3888);
    ck_assert_int_eq(cfg.servers[1].observer, 1);

    /* A continued line's '#' is text; the continuation ends at a line
     * without a final backslash. */
    OK(BASE "sessionSecret=a\\\n#b\ntickTime=1000\n");
    ck_assert_str_eq(cfg.session_secret, "a#b");
    ck_assert_int_eq(cfg.tick_time, 1000);

    /* An even number of backslashes does not continue; escapes are kept
     * literally. */
    OK(BASE "sessionSecret=x\\\\\ntickTime=1200\n");
    ck_assert_str_eq(cfg.session_secret, "x\\\\");
    ck_assert_int_eq(cfg.tick_time, 1200);
    OK(BASE "sessionSecret=x\\\\\\\ny\n");
    ck_assert_str_eq(cfg.session_secret, "x\\\\y");
    OK(BASE "sessionSecret=a\\tb\\u0041\n");
    ck_assert_str_eq(cfg.session_secret, "a\\tb\\u0041");

    /* A backslash on the last line, and continuation into an empty
     * line, end the entry. */
    OK(BASE "sessionSecret=end\\");
    ck_assert_str_eq(cfg.session_secret, "end");
    OK(BASE "sessionSecret=end\\\n\ntickTime=1300\n");
    ck_assert_str_eq(cfg.session_secret, "end");
    ck_assert_int_eq(cfg.tick_time, 1300);

    /* Errors name the entry's first line. */
    BAD_EQ(BASE "# comment\n"
                "tickTime=\\\n"
                "  12\\\n"
                "  x\n",
           "t.cfg:4: tickTime: not a decimal integer (value '12x')");
}
END_TEST

START_TEST(test_duplicate_keys)
{
    OK(BASE "tickTime=1000\n# c\ntickTime=3000\n");
    ck_assert_int_eq(cfg.tick_time, 3000);
    ck_assert_int_eq(warns.n, 1);
    WARNED("t.cfg:5: warning: tickTime set again (first on line 3); the "
           "last value counts");
}
END_TEST

/* ---- integers -------------------------------------------------------- */

START_TEST(test_integers)
{
    /* Integer.parseInt accepts a sign and leading zeros. */
    OK(BASE "tickTime=+2500\ninitLimit=007\n");
    ck_assert_int_eq(cfg.tick_time, 2500);
    ck_assert_int_eq(cfg.init_limit, 7);

    BAD_EQ(BASE "tickTime=abc\n",
           "t.cfg:3: tickTime: not a decimal integer (value 'abc')");
    BAD_EQ(BASE "tickTime=\n",
           "t.cfg:3: tickTime: not a decimal integer (value '')");
    BAD(BASE "tickTime=1.5\n", "tickTime: not a decimal integer");
    BAD(BASE "tickTime=0x10\n", "tickTime: not a decimal integer");
    BAD(BASE "tickTime=-\n", "tickTime: not a decimal integer");
    BAD(BASE "tickTime=1 2\n", "tickTime: not a decimal integer");
    BAD(BASE "tickTime=99999999999999999999x\n",
        "tickTime: not a decimal integer");
    BAD_EQ(BASE "tickTime=2147483648\n",
           "t.cfg:3: tickTime: out of range (a 32-bit integer: at most "
           "2147483647) (value '2147483648')");
    BAD(BASE "tickTime=99999999999999999999999\n", "tickTime: out of range");
    BAD(BASE "maxClientCnxns=-2147483649\n", "maxClientCnxns: out of range");
    BAD_EQ(BASE "tickTime=0\n",
           "t.cfg:3: tickTime: must be at least 1 (value '0')");
    BAD(BASE "tickTime=-5\n", "tickTime: must be at least 1 (value '-5')");
    BAD(BASE "initLimit=0\n", "t.cfg:3: initLimit: must be at least 1");
    BAD(BASE "syncLimit=-1\n", "t.cfg:3: syncLimit: must be at least 1");
    BAD_EQ("dataDir=@D\nclientPort=0\n",
           "t.cfg:2: clientPort: must be from 1 to 65535 (value '0')");
    BAD("dataDir=@D\nclientPort=65536\n",
        "clientPort: must be from 1 to 65535");
    OK("dataDir=@D\nclientPort=65535\n");
    ck_assert_int_eq(cfg.client_port, 65535);
    BAD(BASE "maxClientCnxns=-1\n", "maxClientCnxns: must be at least 0");
    BAD(BASE "snapCount=1\n", "t.cfg:3: snapCount: must be at least 2");
    OK(BASE "snapCount=2\n");
    ck_assert_int_eq(cfg.snap_count, 2);
    BAD(BASE "jute.maxbuffer=0\n", "jute.maxbuffer: must be at least 1");
    BAD(BASE "globalOutstandingLimit=0\n",
        "globalOutstandingLimit: must be at least 1");
    BAD(BASE "globalOutstandingLimit=x\n",
        "globalOutstandingLimit: not an integer (decimal, 0x hex or "
        "0-prefixed octal) (value 'x')");
    BAD(BASE "myid=x\n", "t.cfg:3: myid: not a decimal integer");
}
END_TEST

/* Keys ZooKeeper reads as system properties take Integer.decode syntax. */
START_TEST(test_decode_integers)
{
    OK(BASE "jute.maxbuffer=0xfffff\n");
    ck_assert_int_eq(cfg.jute_maxbuffer, 0xfffff);
    OK(BASE "jute.maxbuffer=0X400000\n");
    ck_assert_int_eq(cfg.jute_maxbuffer, 0x400000);
    OK(BASE "jute.maxbuffer=#10\n");
    ck_assert_int_eq(cfg.jute_maxbuffer, 16);
    OK(BASE "jute.maxbuffer=+0x10\n");
    ck_assert_int_eq(cfg.jute_maxbuffer, 16);
    OK(BASE "snapCount=010\n"); /* octal, as Integer.decode */
    ck_assert_int_eq(cfg.snap_count, 8);
    OK(BASE "globalOutstandingLimit=1234\n");
    ck_assert_int_eq(cfg.global_outstanding_limit, 1234);
    OK(BASE "jute.maxbuffer=0x7fffffff\n");
    ck_assert_int_eq(cfg.jute_maxbuffer, INT_MAX);
    BAD(BASE "jute.maxbuffer=0x80000000\n", "jute.maxbuffer: out of range");
    BAD(BASE "jute.maxbuffer=0x\n", "jute.maxbuffer: not an integer");
    BAD(BASE "jute.maxbuffer=0xfg\n", "jute.maxbuffer: not an integer");
    BAD(BASE "snapCount=08\n", "snapCount: not an integer");
    BAD(BASE "jute.maxbuffer=-0x1\n", "jute.maxbuffer: must be at least 1");
}
END_TEST

/* ---- session timeouts ------------------------------------------------ */

START_TEST(test_session_timeouts)
{
    /* Derived from the final tickTime, wherever it is in the file. */
    OK("clientPort=1\ndataDir=@D\ntickTime=3000\n");
    ck_assert_int_eq(cfg.min_session_timeout, 6000);
    ck_assert_int_eq(cfg.max_session_timeout, 60000);
    OK("tickTime=100\nclientPort=1\ndataDir=@D\ntickTime=500\n");
    ck_assert_int_eq(cfg.min_session_timeout, 1000);
    ck_assert_int_eq(cfg.max_session_timeout, 10000);
    OK(BASE "maxSessionTimeout=7000\ntickTime=1000\n");
    ck_assert_int_eq(cfg.min_session_timeout, 2000);
    ck_assert_int_eq(cfg.max_session_timeout, 7000);
    /* -1 is ZooKeeper's "not set". */
    OK(BASE "minSessionTimeout=-1\nmaxSessionTimeout=-1\ntickTime=1000\n");
    ck_assert_int_eq(cfg.min_session_timeout, 2000);
    ck_assert_int_eq(cfg.max_session_timeout, 20000);
    OK(BASE "minSessionTimeout=5000\nmaxSessionTimeout=5000\n");
    ck_assert_int_eq(cfg.min_session_timeout, 5000);
    ck_assert_int_eq(cfg.max_session_timeout, 5000);

    BAD_EQ(BASE "minSessionTimeout=0\n",
           "t.cfg:3: minSessionTimeout: must be at least 1 ms (or -1 for "
           "the default) (value '0')");
    BAD(BASE "maxSessionTimeout=-2\n", "t.cfg:3: maxSessionTimeout: must be");
    BAD(BASE "maxSessionTimeout=x\n",
        "maxSessionTimeout: not a decimal integer");
    /* min > max: on the max line when it is given... */
    BAD_EQ(BASE "maxSessionTimeout=3000\nminSessionTimeout=5000\n",
           "t.cfg:3: maxSessionTimeout: smaller than minSessionTimeout "
           "(5000 ms) (value '3000')");
    BAD_EQ(BASE "maxSessionTimeout=3000\n",
           "t.cfg:3: maxSessionTimeout: smaller than minSessionTimeout "
           "(4000 ms) (value '3000')");
    /* ...else on the min line, against 20 ticks. */
    BAD_EQ(BASE "minSessionTimeout=50000\n",
           "t.cfg:3: minSessionTimeout: larger than maxSessionTimeout "
           "(40000 ms, 20 * tickTime) (value '50000')");
    /* Defaults that would not fit in an int. */
    BAD_EQ(BASE "tickTime=200000000\n",
           "t.cfg:3: tickTime: too large: the default session timeouts "
           "(2 and 20 * tickTime) exceed 2147483647 ms (value '200000000')");
    OK(BASE "tickTime=200000000\nmaxSessionTimeout=2000000000\n");
    ck_assert_int_eq(cfg.min_session_timeout, 400000000);
}
END_TEST

START_TEST(test_snap_retain)
{
    OK(BASE "autopurge.snapRetainCount=5\n");
    ck_assert_int_eq(cfg.snap_retain_count, 5);
    ck_assert_int_eq(warns.n, 0);
    OK(BASE "autopurge.snapRetainCount=3\n");
    ck_assert_int_eq(cfg.snap_retain_count, 3);
    ck_assert_int_eq(warns.n, 0);
    OK(BASE "autopurge.snapRetainCount=1\n");
    ck_assert_int_eq(cfg.snap_retain_count, 3);
    ck_assert_str_eq(warns.text, "t.cfg:3: warning: "
                                 "autopurge.snapRetainCount: 1 is below 3; "
                                 "using 3\n");
    OK(BASE "autopurge.snapRetainCount=-7\n");
    ck_assert_int_eq(cfg.snap_retain_count, 3);
    ck_assert_int_eq(warns.n, 1);
    BAD(BASE "autopurge.snapRetainCount=three\n",
        "t.cfg:3: autopurge.snapRetainCount: not a decimal integer");
}
END_TEST

/* ---- four-letter words ----------------------------------------------- */

START_TEST(test_whitelist)
{
    OK(BASE);
    ck_assert(cfg_fourlw_allowed(&cfg, "srvr"));
    ck_assert(!cfg_fourlw_allowed(&cfg, "ruok"));

    OK(BASE "4lw.commands.whitelist= ruok , stat,,mntr ,ruok\n");
    ck_assert_str_eq(cfg.fourlw_whitelist, "ruok,stat,mntr");
    ck_assert_int_eq(warns.n, 0);
    ck_assert(cfg_fourlw_allowed(&cfg, "ruok"));
    ck_assert(cfg_fourlw_allowed(&cfg, "stat"));
    ck_assert(cfg_fourlw_allowed(&cfg, "mntr"));
    ck_assert(!cfg_fourlw_allowed(&cfg, "dump"));
    ck_assert(!cfg_fourlw_allowed(&cfg, "ruo"));
    ck_assert(!cfg_fourlw_allowed(&cfg, "ruokk"));
    ck_assert(!cfg_fourlw_allowed(&cfg, "RUOK"));
    ck_assert(!cfg_fourlw_allowed(&cfg, ""));
    ck_assert(!cfg_fourlw_allowed(&cfg, NULL));
    ck_assert(!cfg_fourlw_allowed(NULL, "ruok"));
    /* ZooKeeper always allows srvr (zkServer.sh status uses it). */
    ck_assert(cfg_fourlw_allowed(&cfg, "srvr"));

    OK(BASE "4lw.commands.whitelist=*\n");
    ck_assert_str_eq(cfg.fourlw_whitelist, "*");
    ck_assert(cfg_fourlw_allowed(&cfg, "dump"));
    ck_assert(cfg_fourlw_allowed(&cfg, "wchc"));
    OK(BASE "4lw.commands.whitelist=ruok, * ,stat\n");
    ck_assert_str_eq(cfg.fourlw_whitelist, "*");

    OK(BASE "4lw.commands.whitelist=\n");
    ck_assert_str_eq(cfg.fourlw_whitelist, "");
    ck_assert(!cfg_fourlw_allowed(&cfg, "ruok"));
    ck_assert(cfg_fourlw_allowed(&cfg, "srvr"));

    /* Unknown words are kept (with a warning). */
    OK(BASE "4lw.commands.whitelist=ruok,xyzw, RUOK\n");
    ck_assert_str_eq(cfg.fourlw_whitelist, "ruok,xyzw,RUOK");
    ck_assert_int_eq(warns.n, 2);
    WARNED("t.cfg:3: warning: 4lw.commands.whitelist: unknown four-letter "
           "word 'xyzw'\n");
    WARNED("unknown four-letter word 'RUOK'\n");
    OK(BASE "4lw.commands.whitelist=ru\001k\n");
    WARNED("unknown four-letter word 'ru?k'\n");

    /* Every word ZooKeeper 3.8 knows passes without a warning. */
    OK(BASE "4lw.commands.whitelist=conf,cons,crst,dirs,dump,envi,gtmk,"
            "ruok,stmk,srst,srvr,stat,wchc,wchp,wchs,mntr,isro\n");
    ck_assert_int_eq(warns.n, 0);
    ck_assert(cfg_fourlw_allowed(&cfg, "isro"));
    ck_assert(cfg_fourlw_allowed(&cfg, "conf"));

    /* Longer than the field. */
    char big[1200];
    strcpy(big, BASE "4lw.commands.whitelist=");
    for (int i = 0; i < 150; i++) {
        char w[16];
        snprintf(w, sizeof w, "w%03d,", i);
        strcat(big, w);
    }
    strcat(big, "\n");
    BAD(big, "t.cfg:3: 4lw.commands.whitelist: too long (at most 511 "
             "bytes)");
}
END_TEST

/* ---- the ensemble ---------------------------------------------------- */

START_TEST(test_ensemble)
{
    put_myid("2\n");
    OK(BASE "initLimit=5\nsyncLimit=2\n" ENSEMBLE);
    ck_assert_int_eq(cfg.standalone, 0);
    ck_assert_uint_eq(cfg.myid, 2);
    ck_assert_uint_eq(cfg.nservers, 3);
    for (uint32_t i = 0; i < 3; i++) {
        char host[32];
        snprintf(host, sizeof host, "10.0.0.%u", (unsigned)(i + 1));
        ck_assert_uint_eq(cfg.servers[i].id, i + 1);
        ck_assert_str_eq(cfg.servers[i].host, host);
        ck_assert_uint_eq(cfg.servers[i].quorum_port, 2888);
        ck_assert_uint_eq(cfg.servers[i].election_port, 3888);
        ck_assert_int_eq(cfg.servers[i].observer, 0);
        ck_assert_str_eq(cfg.servers[i].client_host, "");
        ck_assert_uint_eq(cfg.servers[i].client_port, 0);
    }
    const cfg_server_t *self = cfg_self(&cfg);
    ck_assert_ptr_eq(self, &cfg.servers[1]);
    ck_assert_int_eq(cfg.observer_self, 0);
    ck_assert_int_eq(cfg.client_port, 2181);
    ck_assert_int_eq(warns.n, 0);

    /* Ids in any order, names and explicit types, blanks in parts. */
    put_myid("7");
    OK(BASE "server.7 = zk7.example.com:2888:3888:participant\n"
            "server.3=zk3:12888 : 13888:PARTICIPANT\n"
            "server.255=localhost:1:65535\n");
    ck_assert_uint_eq(cfg.nservers, 3);
    ck_assert_uint_eq(cfg.servers[0].id, 7);
    ck_assert_str_eq(cfg.servers[0].host, "zk7.example.com");
    ck_assert_uint_eq(cfg.servers[1].quorum_port, 12888);
    ck_assert_uint_eq(cfg.servers[1].election_port, 13888);
    ck_assert_uint_eq(cfg.servers[2].id, 255);
    ck_assert_uint_eq(cfg.servers[2].quorum_port, 1);
    ck_assert_uint_eq(cfg.servers[2].election_port, 65535);
    ck_assert_ptr_eq(cfg_self(&cfg), &cfg.servers[0]);
}
END_TEST

START_TEST(test_ensemble_sizes)
{
    put_myid("1");
    OK(BASE "server.1=a:1:2\n");
    ck_assert_int_eq(cfg.standalone, 0); /* a one-voter ensemble */
    WARNED("t.cfg: warning: 1 participant: no server failure will be "
           "tolerated; you need at least 3 servers");
    OK(BASE "server.1=a:1:2\nserver.2=b:1:2\n");
    WARNED("t.cfg: warning: 2 participants: no server failure");
    OK(BASE "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n"
            "server.4=d:1:2\n");
    WARNED("t.cfg: warning: 4 participants: consider an odd number of "
           "servers");
    OK(BASE ENSEMBLE "server.4=d:1:2:observer\nserver.5=e:1:2:observer\n");
    ck_assert_int_eq(warns.n, 0); /* observers do not count */

    put_myid("4");
    BAD_EQ(BASE "server.4=d:1:2:observer\n",
           "t.cfg: every server.N line is an observer: an ensemble needs at "
           "least one participant");
}
END_TEST

START_TEST(test_observers)
{
    put_myid("4");
    OK(BASE ENSEMBLE "server.4=10.0.0.4:2888:3888:observer\n"
                     "peerType=observer\n");
    ck_assert_int_eq(cfg.servers[3].observer, 1);
    ck_assert_int_eq(cfg.observer_self, 1);
    ck_assert_ptr_eq(cfg_self(&cfg), &cfg.servers[3]);
    /* peerType left out: the server line decides. */
    OK(BASE ENSEMBLE "server.4=10.0.0.4:2888:3888:Observer\n");
    ck_assert_int_eq(cfg.observer_self, 1);
    OK(BASE "peerType=OBSERVER\n" ENSEMBLE
            "server.4=10.0.0.4:2888:3888:observer\n");
    ck_assert_int_eq(cfg.observer_self, 1);

    /* Mismatches are refused, on the peerType line. */
    BAD_EQ(BASE "peerType=participant\n" ENSEMBLE
                "server.4=10.0.0.4:2888:3888:observer\n",
           "t.cfg:3: peerType: server.4 (line 7) says observer (value "
           "'participant')");
    put_myid("1");
    BAD_EQ(BASE ENSEMBLE "peerType=observer\n",
           "t.cfg:6: peerType: server.1 (line 3) says participant (value "
           "'observer')");
    OK(BASE ENSEMBLE "peerType=participant\n");
    ck_assert_int_eq(cfg.observer_self, 0);

    BAD_EQ(BASE "peerType=leader\n",
           "t.cfg:3: peerType: must be participant or observer (value "
           "'leader')");
    /* An observer of nothing. */
    BAD_EQ(BASE "peerType=observer\n",
           "t.cfg:3: peerType: an observer needs server.N lines naming the "
           "ensemble (value 'observer')");
}
END_TEST

START_TEST(test_client_port_from_server_line)
{
    put_myid("2");
    /* Only this server's line matters. */
    OK("dataDir=@D\n"
       "server.1=10.0.0.1:2888:3888\n"
       "server.2=10.0.0.2:2888:3888;2182\n"
       "server.3=10.0.0.3:2888:3888;10.0.0.3:2183\n");
    ck_assert_int_eq(cfg.client_port, 2182);
    ck_assert_str_eq(cfg.client_address, "0.0.0.0");
    ck_assert_uint_eq(cfg.servers[1].client_port, 2182);
    ck_assert_str_eq(cfg.servers[1].client_host, "");
    ck_assert_uint_eq(cfg.servers[2].client_port, 2183);
    ck_assert_str_eq(cfg.servers[2].client_host, "10.0.0.3");

    put_myid("3");
    OK("dataDir=@D\n" ENSEMBLE_CLIENT);
    ck_assert_int_eq(cfg.client_port, 2183);
    ck_assert_str_eq(cfg.client_address, "10.0.0.3");

    /* clientPortAddress completes a bare ";port"... */
    put_myid("2");
    OK("dataDir=@D\nclientPortAddress=127.0.0.2\n" ENSEMBLE_CLIENT);
    ck_assert_int_eq(cfg.client_port, 2182);
    ck_assert_str_eq(cfg.client_address, "127.0.0.2");
    /* ...and may agree with the line or be the wildcard. */
    put_myid("3");
    OK("dataDir=@D\nclientPortAddress=10.0.0.3\nclientPort=2183\n"
       ENSEMBLE_CLIENT);
    ck_assert_str_eq(cfg.client_address, "10.0.0.3");
    OK("dataDir=@D\nclientPortAddress=0.0.0.0\n" ENSEMBLE_CLIENT);
    ck_assert_str_eq(cfg.client_address, "10.0.0.3");
    BAD_EQ("dataDir=@D\nclientPortAddress=10.9.9.9\n" ENSEMBLE_CLIENT,
           "t.cfg:2: clientPortAddress: differs from the client address "
           "'10.0.0.3' of server.3 (line 5) (value '10.9.9.9')");
    BAD_EQ("dataDir=@D\nclientPort=2181\n" ENSEMBLE_CLIENT,
           "t.cfg:2: clientPort: differs from the client port 2183 of "
           "server.3 (line 5) (value '2181')");

    /* Neither clientPort nor a client port on this server's line. */
    put_myid("1");
    BAD_EQ("dataDir=@D\n" ENSEMBLE_CLIENT,
           "t.cfg: clientPort is not set (nor a ;clientPort on this "
           "server's server.N line)");
    BAD_EQ("dataDir=@D\n", "t.cfg: clientPort is not set");
    BAD_EQ("dataDir=@D\nclientPortAddress=127.0.0.1\n",
           "t.cfg: clientPort is not set");
}
END_TEST

START_TEST(test_ipv6)
{
    put_myid("1");
    OK(BASE "server.1=[::1]:2888:3888\n"
            "server.2=[fe80::1%eth0]:2889:3889:observer;[::1]:2182\n"
            "server.3=[2001:db8::3]:2890:3890;[2001:db8::3]:2183\n");
    ck_assert_str_eq(cfg.servers[0].host, "::1");
    ck_assert_uint_eq(cfg.servers[0].quorum_port, 2888);
    ck_assert_uint_eq(cfg.servers[0].election_port, 3888);
    ck_assert_str_eq(cfg.servers[1].host, "fe80::1%eth0");
    ck_assert_int_eq(cfg.servers[1].observer, 1);
    ck_assert_str_eq(cfg.servers[1].client_host, "::1");
    ck_assert_uint_eq(cfg.servers[1].client_port, 2182);
    ck_assert_str_eq(cfg.servers[2].host, "2001:db8::3");
    ck_assert_str_eq(cfg.servers[2].client_host, "2001:db8::3");

    OK(BASE "clientPortAddress=[::1]\n");
    ck_assert_str_eq(cfg.client_address, "::1");
    OK(BASE "clientPortAddress=::\n");
    ck_assert_str_eq(cfg.client_address, "::");

    BAD(BASE "server.1=[::1:2888:3888\n", "t.cfg:3: server.1: want host:");
    BAD(BASE "server.1=[::1]2888:3888\n", "t.cfg:3: server.1: want host:");
    BAD(BASE "server.1=::1:2888:3888\n", "t.cfg:3: server.1: want host:");
    BAD(BASE "server.1=[]:2888:3888\n", "t.cfg:3: server.1: empty host");
    BAD(BASE "server.1=[::1]:2888:3888;[::1]\n",
        "server.1: client port is not a number");
}
END_TEST

START_TEST(test_bad_server_lines)
{
    put_myid("1");
    BAD_EQ(BASE "server.0=a:1:2\n",
           "t.cfg:3: server.0: the server id must be from 1 to 255 "
           "(libzab's limit on ids) (value 'a:1:2')");
    BAD(BASE "server.256=a:1:2\n",
        "t.cfg:3: server.256: the server id must be from 1 to 255");
    BAD(BASE "server.99999999999999999999=a:1:2\n",
        "the server id must be from 1 to 255");
    BAD_EQ(BASE "server.x=a:1:2\n",
           "t.cfg:3: server.x: the server id is not a number (value "
           "'a:1:2')");
    BAD(BASE "server.=a:1:2\n", "server.: the server id is not a number");
    BAD(BASE "server.-1=a:1:2\n", "the server id is not a number");
    BAD(BASE "server.+1=a:1:2\n", "the server id is not a number");
    BAD(BASE "server.1.2=a:1:2\n", "the server id is not a number");

    BAD_EQ(BASE "server.1=a:2888\n",
           "t.cfg:3: server.1: want host:quorumPort:electionPort"
           "[:participant|:observer][;[clientAddress:]clientPort] (value "
           "'a:2888')");
    BAD(BASE "server.1=a\n", "server.1: want host:");
    BAD(BASE "server.1=\n", "server.1: want host:");
    BAD(BASE "server.1=a:1:2:observer:x\n", "server.1: want host:");
    BAD(BASE "server.1=a:1:2;3;4\n", "server.1: want host:");
    BAD(BASE "server.1=a:1:2;h:3:4\n", "server.1: want host:");
    BAD_EQ(BASE "server.1=a:0:3888\n",
           "t.cfg:3: server.1: quorum port must be from 1 to 65535 (value "
           "'a:0:3888')");
    BAD(BASE "server.1=a:2888:65536\n",
        "server.1: election port must be from 1 to 65535");
    BAD(BASE "server.1=a:x:3888\n", "server.1: quorum port is not a number");
    BAD(BASE "server.1=a:2888:\n",
        "server.1: election port is not a number");
    BAD(BASE "server.1=a:1:2;0\n",
        "server.1: client port must be from 1 to 65535");
    BAD(BASE "server.1=a:1:2;\n", "server.1: client port is not a number");
    BAD(BASE "server.1=a:1:2;h:\n", "server.1: client port is not a number");
    BAD(BASE "server.1=a:1:2;:3\n", "server.1: empty client address");
    BAD_EQ(BASE "server.1=a:2888:2888\n",
           "t.cfg:3: server.1: quorum and election ports must differ (value "
           "'a:2888:2888')");
    BAD_EQ(BASE "server.1=a:1:2:leader\n",
           "t.cfg:3: server.1: unknown server type 'leader' (want "
           "participant or observer) (value 'a:1:2:leader')");
    BAD(BASE "server.1=a:1:2:\n", "server.1: unknown server type ''");
    BAD(BASE "server.1=:1:2\n", "server.1: empty host");
    BAD(BASE "server.1=a b:1:2\n", "server.1: blank inside the host");
    BAD(BASE "server.1=a:1:2|b:3:4\n",
        "server.1: several addresses (a|b) are not supported by zabd");

    char big[2000];
    strcpy(big, BASE "server.1=");
    memset(big + strlen(big), 'h', 300);
    strcpy(big + strlen(BASE "server.1=") + 300, ":1:2\n");
    BAD(big, "server.1: host too long (at most 255 bytes)");
    strcpy(big, BASE "server.1=");
    memset(big + strlen(big), 'h', 1500);
    strcpy(big + strlen(BASE "server.1=") + 1500, ":1:2\n");
    BAD(big, "server.1: too long (value 'hhhh");
}
END_TEST

START_TEST(test_duplicate_ids)
{
    put_myid("1");
    BAD_EQ(BASE ENSEMBLE "server.2=10.0.0.9:2888:3888\n",
           "t.cfg:6: server.2: server 2 is already defined on line 4 (value "
           "'10.0.0.9:2888:3888')");
    BAD(BASE "server.1=a:1:2\nserver.01=b:1:2\n",
        "t.cfg:4: server.01: server 1 is already defined on line 3");
}
END_TEST

/* ---- myid ------------------------------------------------------------ */

START_TEST(test_myid_file)
{
    char want[512];
    /* Missing. */
    ck_assert_int_eq(parse(BASE ENSEMBLE), -1);
    snprintf(want, sizeof want,
             "t.cfg: cannot open the myid file %s/myid: No such file or "
             "directory (each server of an ensemble needs dataDir/myid "
             "holding its id, or a myid key)", dir);
    ck_assert_str_eq(err, want);

    /* Blanks and newlines around the number are fine. */
    put_myid("  3 \n\n");
    OK(BASE ENSEMBLE);
    ck_assert_uint_eq(cfg.myid, 3);
    put_myid("\t1");
    OK(BASE ENSEMBLE);
    ck_assert_uint_eq(cfg.myid, 1);
    /* A dataDir ending in '/' still finds it. */
    OK("dataDir=@D/\nclientPort=1\n" ENSEMBLE);
    ck_assert_uint_eq(cfg.myid, 1);

    static const char *const bad[] = {"", "\n", "abc", "0", "256", "1 2",
                                      "-1", "+1", "0x2", "1\n2\n", "1.0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        put_myid(bad[i]);
        ck_assert_int_eq(parse(BASE ENSEMBLE), -1);
        snprintf(want, sizeof want,
                 "t.cfg: myid file %s/myid: not a server id from 1 to 255 "
                 "(content '", dir);
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
                      "myid '%s': %s", bad[i], err);
    }
    put_myid("abc");
    parse(BASE ENSEMBLE);
    ck_assert_ptr_nonnull(strstr(err, "(content 'abc')"));
    /* Control characters are shown as '?': a message is one line. */
    put_myid("1\n2\r\n");
    parse(BASE ENSEMBLE);
    ck_assert_ptr_nonnull(strstr(err, "(content '1?2')"));
    ck_assert_ptr_null(strchr(err, '\n'));
    put_file("myid", "2\0" "5", 3);
    ck_assert_int_eq(parse(BASE ENSEMBLE), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a server id"));
    char big[200];
    memset(big, ' ', sizeof big - 2);
    big[sizeof big - 2] = '1';
    big[sizeof big - 1] = '\0';
    put_myid(big);
    ck_assert_int_eq(parse(BASE ENSEMBLE), -1);
    ck_assert_ptr_nonnull(strstr(err, "myid: too long for a server id"));

    /* An id with no server line. */
    put_myid("4");
    ck_assert_int_eq(parse(BASE ENSEMBLE), -1);
    snprintf(want, sizeof want,
             "t.cfg: myid 4 (from %s/myid) matches no server.N line", dir);
    ck_assert_str_eq(err, want);

    /* myid is a directory: unreadable. */
    char path[256];
    snprintf(path, sizeof path, "%s/myid", dir);
    unlink(path);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(parse(BASE ENSEMBLE), -1);
    ck_assert_ptr_nonnull(strstr(err, "myid"));
    ck_assert_ptr_nonnull(strstr(err, "t.cfg: "));
    rmdir(path);
}
END_TEST

START_TEST(test_myid_key)
{
    /* The key overrides the file, which is then not even read. */
    put_myid("garbage");
    OK(BASE ENSEMBLE "myid=3\n");
    ck_assert_uint_eq(cfg.myid, 3);
    ck_assert_ptr_eq(cfg_self(&cfg), &cfg.servers[2]);
    OK("myid=2\n" BASE ENSEMBLE);
    ck_assert_uint_eq(cfg.myid, 2);

    BAD_EQ(BASE ENSEMBLE "myid=4\n",
           "t.cfg:6: myid 4 (from the myid key) matches no server.N line");
    BAD_EQ(BASE "myid=0\n",
           "t.cfg:3: myid: must be from 1 to 255 (libzab's limit on ids) "
           "(value '0')");
    BAD(BASE "myid=256\n", "t.cfg:3: myid: must be from 1 to 255");
    BAD(BASE "myid=\n", "t.cfg:3: myid: not a decimal integer");

    /* Standalone: no file needed, 1 unless the key says otherwise. */
    teardown();
    setup();
    OK(BASE);
    ck_assert_uint_eq(cfg.myid, 1);
    ck_assert_int_eq(cfg.standalone, 1);
    OK(BASE "myid=7\n");
    ck_assert_uint_eq(cfg.myid, 7);
    ck_assert_int_eq(cfg.standalone, 1);
    ck_assert_ptr_null(cfg_self(&cfg));
}
END_TEST

/* ---- required keys --------------------------------------------------- */

START_TEST(test_required)
{
    BAD_EQ("clientPort=2181\n", "t.cfg: dataDir is not set");
    BAD_EQ("", "t.cfg: dataDir is not set");
    BAD_EQ("# only comments\n\n", "t.cfg: dataDir is not set");
    BAD_EQ("dataDir=@D\n", "t.cfg: clientPort is not set");
}
END_TEST

/* ---- notes and warnings ---------------------------------------------- */

START_TEST(test_ignored_keys)
{
    OK(BASE "admin.enableServer=false\n"
            "admin.serverPort=8080\n"
            "metricsProvider.className=x.Y\n"
            "standaloneEnabled=false\n"
            "oraclePath=/x\n"
            "autopurge.purgeInterval=1\n"
            "quorumListenOnAllIPs=true\n"
            "electionAlg=3\n"
            "preAllocSize=65536\n"
            "syncEnabled=true\n"
            "localSessionsEnabled=true\n"
            "localSessionsUpgradingEnabled=true\n"
            "skipACL=no\n"
            "leaderServes=yes\n"
            "cnxTimeout=5\n"
            "dynamicConfigFile=/x\n"
            "ssl.authProvider=x509\n"
            "ssl.quorum.handshakeDetectionTimeoutMillis=5000\n"
            "zookeeper.ssl.sslProvider=JDK\n"
            "authProvider.1=org.X\n"
            "portUnification=false\n"
            "serverCnxnFactory=org.Netty\n"
            "clientPortListenBacklog=10\n"
            "quorum.auth.enableSasl=false\n"
            "jvm.pause.monitor=true\n"
            "multiAddress.enabled=false\n");
    ck_assert_int_eq(warns.n, 26);
    WARNED("t.cfg:3: note: admin.enableServer is a ZooKeeper setting zabd "
           "does not use\n");
    WARNED("t.cfg:11: note: preAllocSize is a ZooKeeper setting zabd does "
           "not use\n");
    WARNED("t.cfg:28: note: multiAddress.enabled is a ZooKeeper setting");
    WARNED("t.cfg:21: note: ssl.sslProvider is a ZooKeeper setting zabd "
           "does not use\n");
    ck_assert_ptr_null(strstr(warns.text, "warning"));
    /* The defaults are untouched. */
    assert_defaults_except_dirs(&cfg);
}
END_TEST

/* The SASL keys: ZooKeeper's system properties, with or without the
 * zookeeper. prefix; authProvider naming the SASL provider is silent. */
START_TEST(test_sasl_keys)
{
    OK(BASE "java.security.auth.login.config=/etc/zabd/jaas.conf\n"
            "zookeeper.sasl.serverconfig=ZkServer\n"
            "zookeeper.superUser=admin\n"
            "superUser.ops=ops1\n"
            "zookeeper.superUser.ops=ops2\n"
            "SASLAuthenticationProvider.superPassword=pw\n"
            "authProvider.1=org.apache.zookeeper.server.auth."
            "SASLAuthenticationProvider\n"
            "zookeeper.authProvider.2=org.apache.zookeeper.server.auth."
            "SASLAuthenticationProvider\n"
            "authProvider.3=com.example.MyProvider\n"
            "allowSaslFailedClients=true\n"
            "letAnySaslUserDoX=x\n");
    ck_assert_str_eq(cfg.jaas_path, "/etc/zabd/jaas.conf");
    ck_assert_str_eq(cfg.sasl_section, "ZkServer");
    ck_assert_uint_eq(cfg.nsuper_users, 2);
    ck_assert_str_eq(cfg.super_users[0].key, "superUser");
    ck_assert_str_eq(cfg.super_users[0].name, "admin");
    ck_assert_str_eq(cfg.super_users[1].key, "superUser.ops");
    ck_assert_str_eq(cfg.super_users[1].name, "ops2");
    ck_assert_int_eq(cfg.super_users[1].line, 7);
    ck_assert_str_eq(cfg.sasl_super_password, "pw");
    ck_assert_int_eq(warns.n, 4);
    WARNED("t.cfg:7: warning: zookeeper.superUser.ops set again (first on "
           "line 6); the last value counts\n");
    WARNED("t.cfg:11: note: authProvider.3 is a ZooKeeper setting zabd does "
           "not use\n");
    WARNED("t.cfg:12: note: allowSaslFailedClients is a ZooKeeper setting");
    WARNED("t.cfg:13: note: letAnySaslUserDoX is a ZooKeeper setting");
    /* A relative JAAS path works but is warned about. */
    OK(BASE "java.security.auth.login.config=jaas.conf\n");
    WARNED("t.cfg:3: warning: java.security.auth.login.config is a relative "
           "path");
    BAD_EQ(BASE "superUser=\n", "t.cfg:3: superUser: empty (value '')");
    BAD_EQ(BASE "zookeeper.sasl.serverconfig=\n",
           "t.cfg:3: zookeeper.sasl.serverconfig: empty (value '')");
    char text[2048];
    strcpy(text, BASE);
    for (int i = 0; i <= CFG_MAX_SUPER_USERS; i++) {
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "superUser.%d=u%d\n", i, i);
    }
    BAD(text, "t.cfg:19: superUser.16: more than 16 superUser keys");
}
END_TEST

START_TEST(test_protections_warned)
{
    OK(BASE "ssl.crl=true\n"
            "quorum.auth.enableSasl=TRUE\n"
            "enforce.auth.enabled=true\n");
    ck_assert_int_eq(warns.n, 3);
    WARNED("t.cfg:3: warning: ssl.crl=true: zabd does not provide "
           "certificate revocation checks (CRL) and ignores this setting\n");
    WARNED("t.cfg:4: warning: quorum.auth.enableSasl=true: zabd does not "
           "provide SASL authentication between servers");
    WARNED("t.cfg:5: warning: enforce.auth.enabled=true: zabd does not "
           "provide refusing unauthenticated clients");
}
END_TEST

START_TEST(test_unknown_keys)
{
    OK(BASE "foo=bar\n"
            "ticktime=5\n"
            "\n"
            "=novalue\n"
            "lonely\n");
    ck_assert_int_eq(warns.n, 4);
    WARNED("t.cfg:3: warning: unknown key 'foo' ignored\n");
    WARNED("t.cfg:4: warning: unknown key 'ticktime' ignored (did you mean "
           "'tickTime'?)\n");
    WARNED("t.cfg:6: warning: unknown key '' ignored\n");
    WARNED("t.cfg:7: warning: unknown key 'lonely' ignored\n");
    ck_assert_int_eq(cfg.tick_time, 2000);

    /* Long keys are cut in the message. */
    char big[400];
    strcpy(big, BASE);
    memset(big + strlen(big), 'k', 300);
    strcpy(big + strlen(BASE) + 300, "=1\n");
    OK(big);
    ck_assert_int_eq(warns.n, 1);
    ck_assert_ptr_nonnull(strstr(warns.text, "kkk...' ignored"));
    ck_assert_uint_lt(strlen(warns.text), 150);

    /* Without a warn callback, nothing is reported and nothing breaks. */
    char *text = expand(BASE "foo=bar\nadmin.x=1\n");
    ck_assert_int_eq(cfg_parse(text, "t.cfg", &cfg, err, sizeof err, NULL,
                               NULL), 0);
    free(text);
}
END_TEST

START_TEST(test_hierarchical_refused)
{
    BAD_EQ(BASE "group.1=1:2:3\n",
           "t.cfg:3: group.1: hierarchical quorums (group.N, weight.N) are "
           "not supported by zabd (value '1:2:3')");
    BAD(BASE "weight.1=1\n", "t.cfg:3: weight.1: hierarchical quorums");
}
END_TEST

/* ---- the error buffer ------------------------------------------------ */

/* ---- TLS ---------------------------------------------------------------- */

START_TEST(test_tls_defaults)
{
    cfg_default(&cfg);
    ck_assert_int_eq(cfg.secure_client_port, 0);
    ck_assert_str_eq(cfg.secure_client_address, "0.0.0.0");
    ck_assert_int_eq(cfg.ssl_quorum, 0);
    const cfg_tls_t *sides[] = {&cfg.tls_client, &cfg.tls_quorum};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_str_eq(sides[i]->keystore, "");
        ck_assert_str_eq(sides[i]->truststore, "");
        ck_assert_int_eq(sides[i]->keystore_type, CFG_STORE_AUTO);
        ck_assert_int_eq(sides[i]->client_auth, CFG_AUTH_NEED);
        ck_assert_int_eq(sides[i]->hostname_verification, 1);
        ck_assert_str_eq(sides[i]->ciphersuites, "");
    }
    /* Keys given without secureClientPort or sslQuorum are stored, not
     * checked: nothing uses them. */
    OK(BASE "ssl.keyStore.type=JKS\n"
            "ssl.quorum.keyStore.location=/no/extension\n");
    ck_assert_int_eq(warns.n, 0);
    ck_assert_int_eq(cfg.tls_client.keystore_type, CFG_STORE_JKS);
}
END_TEST

START_TEST(test_tls_client_port)
{
    OK(BASE "secureClientPort=2281\n"
            "secureClientPortAddress=[::1]\n"
            "ssl.keyStore.location=/etc/zk/server.pem\n"
            "ssl.keyStore.password=\n"
            "ssl.keyStore.passwordPath=/etc/zk/pw\n"
            "ssl.trustStore.location=/etc/zk/ca.p12\n"
            "ssl.trustStore.password=changeit\n"
            "ssl.clientAuth=WANT\n"
            "zookeeper.ssl.ciphersuites=TLS_AES_128_GCM_SHA256\n"
            "ssl.hostnameVerification=false\n");
    ck_assert_int_eq(warns.n, 0);
    ck_assert_int_eq(cfg.client_port, 2181);
    ck_assert_int_eq(cfg.secure_client_port, 2281);
    ck_assert_str_eq(cfg.secure_client_address, "::1");
    const cfg_tls_t *t = &cfg.tls_client;
    ck_assert_str_eq(t->keystore, "/etc/zk/server.pem");
    ck_assert_str_eq(t->keystore_password, "");
    ck_assert_str_eq(t->keystore_password_path, "/etc/zk/pw");
    ck_assert_int_eq(t->keystore_type, CFG_STORE_PEM);
    ck_assert_str_eq(t->truststore, "/etc/zk/ca.p12");
    ck_assert_str_eq(t->truststore_password, "changeit");
    ck_assert_int_eq(t->truststore_type, CFG_STORE_PKCS12);
    ck_assert_int_eq(t->client_auth, CFG_AUTH_WANT);
    ck_assert_str_eq(t->ciphersuites, "TLS_AES_128_GCM_SHA256");
    ck_assert_int_eq(t->hostname_verification, 0);
    ck_assert_int_eq(t->version_min, 12);
    ck_assert_int_eq(t->version_max, 13);
    /* The quorum side is untouched. */
    ck_assert_str_eq(cfg.tls_quorum.keystore, "");

    /* A TLS-only server: no clientPort at all; a type given wins over the
     * file name, in any case; clientAuth=none needs no trust store. */
    OK("dataDir=@D\n"
       "secureClientPort=2281\n"
       "ssl.keyStore.location=/etc/zk/server.crt\n"
       "ssl.keyStore.type=pem\n"
       "ssl.clientAuth=none\n");
    ck_assert_int_eq(cfg.client_port, 0);
    ck_assert_int_eq(cfg.tls_client.keystore_type, CFG_STORE_PEM);
    ck_assert_int_eq(cfg.tls_client.client_auth, CFG_AUTH_NONE);
    /* An empty clientAuth is need, as in ZooKeeper. */
    OK(BASE "ssl.clientAuth=\n");
    ck_assert_int_eq(cfg.tls_client.client_auth, CFG_AUTH_NEED);
}
END_TEST

#define TLS_BASE                                                            \
    BASE "secureClientPort=2281\n"                                          \
         "ssl.keyStore.location=/k.pem\n"                                   \
         "ssl.trustStore.location=/ca.pem\n" /* lines 3 to 5 */

START_TEST(test_tls_versions)
{
    OK(TLS_BASE "ssl.protocol=TLSv1.3\n");
    ck_assert_int_eq(cfg.tls_client.version_min, 13);
    ck_assert_int_eq(cfg.tls_client.version_max, 13);
    OK(TLS_BASE "ssl.protocol=TLSv1.2\n");
    ck_assert_int_eq(cfg.tls_client.version_min, 12);
    ck_assert_int_eq(cfg.tls_client.version_max, 12);
    OK(TLS_BASE "ssl.protocol=TLS\n");
    ck_assert_int_eq(cfg.tls_client.version_min, 12);
    ck_assert_int_eq(cfg.tls_client.version_max, 13);
    /* enabledProtocols wins over protocol, as in SSLContextAndOptions. */
    OK(TLS_BASE "ssl.protocol=TLSv1.2\n"
                "ssl.enabledProtocols=TLSv1.3\n");
    ck_assert_int_eq(cfg.tls_client.version_min, 13);
    ck_assert_int_eq(cfg.tls_client.version_max, 13);
    OK(TLS_BASE "ssl.enabledProtocols=TLSv1.3, TLSv1.2\n");
    ck_assert_int_eq(cfg.tls_client.version_min, 12);
    ck_assert_int_eq(cfg.tls_client.version_max, 13);
    /* Versions below 1.2 are left out with a warning... */
    OK(TLS_BASE "ssl.enabledProtocols=TLSv1.1,TLSv1.2\n");
    ck_assert_int_eq(warns.n, 1);
    WARNED("t.cfg:6: warning: ssl.enabledProtocols: TLSv1.1 is not "
           "supported by zabd (TLSv1.2 and TLSv1.3 only); left out\n");
    ck_assert_int_eq(cfg.tls_client.version_min, 12);
    ck_assert_int_eq(cfg.tls_client.version_max, 12);
    /* ... and refused when nothing is left. */
    BAD_EQ(TLS_BASE "ssl.enabledProtocols=TLSv1,TLSv1.1\n",
           "t.cfg:6: ssl.enabledProtocols: no protocol zabd speaks "
           "(TLSv1.2, TLSv1.3) (value 'TLSv1,TLSv1.1')");
    BAD_EQ(TLS_BASE "ssl.protocol=TLSv1.1\n",
           "t.cfg:6: ssl.protocol: zabd speaks TLSv1.2 and TLSv1.3 only "
           "(value 'TLSv1.1')");
    BAD_EQ(TLS_BASE "ssl.protocol=QUIC\n",
           "t.cfg:6: ssl.protocol: unknown protocol (want TLSv1.2, TLSv1.3 "
           "or TLS) (value 'QUIC')");
    BAD_EQ(TLS_BASE "ssl.enabledProtocols=TLSv1.2,TLSv9\n",
           "t.cfg:6: ssl.enabledProtocols: unknown protocol 'TLSv9' (value "
           "'TLSv1.2,TLSv9')");
}
END_TEST

START_TEST(test_tls_errors)
{
    BAD_EQ(BASE "secureClientPort=2281\n",
           "t.cfg:3: secureClientPort needs ssl.keyStore.location (a PEM "
           "file holding this server's private key and certificate chain)");
    BAD_EQ(BASE "secureClientPort=2281\n"
                "ssl.keyStore.location=/k.pem\n",
           "t.cfg:3: secureClientPort needs ssl.trustStore.location (the CA "
           "certificates that sign the clients' certificates), or "
           "ssl.clientAuth=none");
    /* An empty location is no location, as in ZooKeeper. */
    BAD(BASE "secureClientPort=2281\n"
             "ssl.keyStore.location=\n",
        "t.cfg:3: secureClientPort needs ssl.keyStore.location");
    BAD_EQ(TLS_BASE "ssl.keyStore.type=JKS\n",
           "t.cfg:6: ssl.keyStore.type: zabd reads PEM (or PKCS12) stores, "
           "not JKS: convert it, e.g. with keytool -importkeystore "
           "-deststoretype PKCS12 (value 'JKS')");
    BAD_EQ(BASE "secureClientPort=2281\n"
                "ssl.keyStore.location=/k.pem\n"
                "ssl.trustStore.location=/etc/truststore.jks\n",
           "t.cfg:5: ssl.trustStore.location: zabd reads PEM (or PKCS12) "
           "stores, not JKS: convert it, e.g. with keytool -importkeystore "
           "-deststoretype PKCS12 (value '/etc/truststore.jks')");
    BAD(TLS_BASE "ssl.trustStore.type=BCFKS\n", "not BCFKS");
    BAD_EQ(BASE "secureClientPort=2281\n"
                "ssl.keyStore.location=/k\n",
           "t.cfg:4: ssl.keyStore.location: cannot tell the store type from "
           "the file name (.pem, .p12, .jks, .bcfks): set ssl.keyStore.type "
           "(value '/k')");
    BAD_EQ(TLS_BASE "ssl.trustStore.type=DER\n",
           "t.cfg:6: ssl.trustStore.type: must be PEM, PKCS12, JKS or BCFKS "
           "(value 'DER')");
    BAD_EQ(TLS_BASE "ssl.clientAuth=required\n",
           "t.cfg:6: ssl.clientAuth: must be need, want or none (value "
           "'required')");
    BAD_EQ(TLS_BASE "ssl.hostnameVerification=yes\n",
           "t.cfg:6: ssl.hostnameVerification: must be true or false (value "
           "'yes')");
    BAD_EQ(BASE "secureClientPortAddress=0.0.0.0\n",
           "t.cfg:3: secureClientPortAddress is set but secureClientPort is "
           "not");
    BAD_EQ(BASE "secureClientPort=2181\n",
           "t.cfg:3: secureClientPort: the same port as the plaintext client "
           "port (value '2181')");
    BAD_EQ(BASE "secureClientPort=0\n",
           "t.cfg:3: secureClientPort: must be from 1 to 65535 (value '0')");
    BAD_EQ(BASE "sslQuorum=yes\n",
           "t.cfg:3: sslQuorum: must be true or false (value 'yes')");
    /* Neither port: the old message. */
    BAD_EQ("dataDir=@D\n", "t.cfg: clientPort is not set");
}
END_TEST

#define QUORUM_TLS                                                          \
    "myid=1\n" ENSEMBLE "sslQuorum=true\n" /* lines 3 to 7 */

START_TEST(test_tls_quorum)
{
    OK(BASE QUORUM_TLS
       "zookeeper.ssl.quorum.keyStore.location=/q.pem\n"
       "ssl.quorum.keyStore.password=pw\n"
       "ssl.quorum.trustStore.location=/qca.pem\n"
       "ssl.quorum.trustStore.type=PEM\n");
    ck_assert_int_eq(warns.n, 0);
    ck_assert_int_eq(cfg.ssl_quorum, 1);
    ck_assert_str_eq(cfg.tls_quorum.keystore, "/q.pem");
    ck_assert_str_eq(cfg.tls_quorum.keystore_password, "pw");
    ck_assert_int_eq(cfg.tls_quorum.keystore_type, CFG_STORE_PEM);
    ck_assert_int_eq(cfg.tls_quorum.truststore_type, CFG_STORE_PEM);
    ck_assert_int_eq(cfg.tls_quorum.client_auth, CFG_AUTH_NEED);
    ck_assert_int_eq(cfg.tls_quorum.hostname_verification, 1);
    ck_assert_str_eq(cfg.tls_client.keystore, "");

    /* The quorum always checks certificates: a trust store is needed
     * whatever clientAuth says. */
    BAD_EQ(BASE QUORUM_TLS "ssl.quorum.keyStore.location=/q.pem\n"
                           "ssl.quorum.clientAuth=none\n",
           "t.cfg:7: sslQuorum needs ssl.quorum.trustStore.location (the CA "
           "certificates that sign the members' certificates)");
    BAD_EQ(BASE QUORUM_TLS,
           "t.cfg:7: sslQuorum needs ssl.quorum.keyStore.location (a PEM "
           "file holding this server's private key and certificate chain)");
    /* The client side's stores are not the quorum's. */
    BAD(BASE QUORUM_TLS "ssl.keyStore.location=/k.pem\n"
                        "ssl.trustStore.location=/ca.pem\n",
        "sslQuorum needs ssl.quorum.keyStore.location");

    /* Weakened member authentication is warned about. */
    OK(BASE QUORUM_TLS "ssl.quorum.keyStore.location=/q.pem\n"
                       "ssl.quorum.trustStore.location=/qca.pem\n"
                       "ssl.quorum.clientAuth=want\n"
                       "ssl.quorum.hostnameVerification=false\n");
    ck_assert_int_eq(warns.n, 2);
    WARNED("t.cfg:10: warning: ssl.quorum.clientAuth=want: a process "
           "without a certificate may connect to the quorum port and claim "
           "a member's id\n");
    WARNED("t.cfg:11: warning: ssl.quorum.hostnameVerification=false: any "
           "holder of a certificate the trust store accepts may claim any "
           "member's id\n");

    /* Standalone: nothing to protect. */
    OK(BASE "sslQuorum=true\n");
    ck_assert_int_eq(warns.n, 1);
    WARNED("t.cfg:3: note: sslQuorum=true has no effect on a standalone "
           "server\n");
}
END_TEST

START_TEST(test_errbuf_bounds)
{
    char *text = expand(BASE "tickTime=bogus-value-that-is-long\n");
    char small[40];
    for (size_t len = 1; len <= 24; len++) {
        memset(small, '#', sizeof small);
        ck_assert_int_eq(cfg_parse(text, "t.cfg", &cfg, small, len, NULL,
                                   NULL), -1);
        ck_assert_uint_eq(strlen(small), len - 1); /* NUL-terminated */
        for (size_t i = len; i < sizeof small; i++) {
            ck_assert_int_eq(small[i], '#'); /* nothing beyond */
        }
    }
    ck_assert_int_eq(cfg_parse(text, "t.cfg", &cfg, NULL, 0, NULL, NULL), -1);
    ck_assert_int_eq(cfg_parse(text, "t.cfg", &cfg, small, 0, NULL, NULL),
                     -1);
    free(text);

    /* A very long file name is cut too. */
    char name[2000];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memset(err, '#', sizeof err);
    ck_assert_int_eq(cfg_parse("", name, &cfg, err, sizeof err, NULL, NULL),
                     -1);
    ck_assert_uint_eq(strlen(err), sizeof err - 1);

    /* Long values are cut in messages. */
    char *big = malloc(100000);
    ck_assert_ptr_nonnull(big);
    strcpy(big, "dataDir=/d\nclientPort=1\ntickTime=");
    memset(big + strlen(big), '7', 90000);
    strcpy(big + strlen("dataDir=/d\nclientPort=1\ntickTime=") + 90000,
           "x\n");
    text = expand(big);
    ck_assert_int_eq(cfg_parse(text, "t.cfg", &cfg, err, sizeof err, NULL,
                               NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "t.cfg:3: tickTime: not a decimal "
                                      "integer (value '777"));
    ck_assert_ptr_nonnull(strstr(err, "...')"));
    ck_assert_uint_lt(strlen(err), 150);
    free(text);
    free(big);
}
END_TEST

START_TEST(test_null_arguments)
{
    ck_assert_int_eq(cfg_parse(NULL, "t.cfg", &cfg, err, sizeof err, NULL,
                               NULL), -1);
    ck_assert_str_eq(err, "t.cfg: no text or no cfg_t given");
    ck_assert_int_eq(cfg_parse("", NULL, NULL, err, sizeof err, NULL, NULL),
                     -1);
    ck_assert_int_eq(cfg_load(NULL, &cfg, err, sizeof err, NULL, NULL), -1);
    ck_assert_int_eq(cfg_load("/x", NULL, err, sizeof err, NULL, NULL), -1);
    ck_assert_ptr_null(cfg_self(NULL));
    ck_assert_int_eq(cfg_fourlw_allowed(NULL, NULL), 0);
}
END_TEST

/* ---- cfg_load -------------------------------------------------------- */

START_TEST(test_load)
{
    char path[128], want[1024];
    snprintf(path, sizeof path, "%s/zoo.cfg", dir);
    char *text = expand("# zoo.cfg\n"
                        "tickTime=2000\n"
                        "dataDir=@D\n"
                        "clientPort=2181\n"
                        "admin.enableServer=false\n"
                        "server.1=127.0.0.1:2888:3888\n"
                        "server.2=127.0.0.1:2889:3889\n"
                        "server.3=127.0.0.1:2890:3890\n"
                        "foo=1\n");
    put_file("zoo.cfg", text, strlen(text));
    free(text);
    put_myid("3\n");
    memset(&warns, 0, sizeof warns);
    ck_assert_int_eq(cfg_load(path, &cfg, err, sizeof err, collect, &warns),
                     0);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(cfg.myid, 3);
    ck_assert_uint_eq(cfg.servers[2].quorum_port, 2890);
    ck_assert_int_eq(warns.n, 2);
    snprintf(want, sizeof want,
             "%s:5: note: admin.enableServer is a ZooKeeper setting zabd "
             "does not use\n%s:9: warning: unknown key 'foo' ignored\n",
             path, path);
    ck_assert_str_eq(warns.text, want);

    /* Errors name the file. */
    static const char bad_tick[] = "dataDir=/x\nclientPort=1\ntickTime=0\n";
    put_file("zoo.cfg", bad_tick, sizeof bad_tick - 1);
    ck_assert_int_eq(cfg_load(path, &cfg, err, sizeof err, NULL, NULL), -1);
    snprintf(want, sizeof want,
             "%s:3: tickTime: must be at least 1 (value '0')", path);
    ck_assert_str_eq(err, want);

    /* A NUL byte. */
    static const char with_nul[] = "dataDir=/x\nclientPort=1\n\0x\n";
    put_file("zoo.cfg", with_nul, sizeof with_nul - 1);
    ck_assert_int_eq(cfg_load(path, &cfg, err, sizeof err, NULL, NULL), -1);
    snprintf(want, sizeof want, "%s:3: NUL byte in the file: not a zoo.cfg",
             path);
    ck_assert_str_eq(err, want);
    static const char nul_cr[] = "a=1\r\nb=2\rc=3\n\0";
    put_file("zoo.cfg", nul_cr, sizeof nul_cr - 1);
    ck_assert_int_eq(cfg_load(path, &cfg, err, sizeof err, NULL, NULL), -1);
    snprintf(want, sizeof want, "%s:4: NUL byte in the file: not a zoo.cfg",
             path);
    ck_assert_str_eq(err, want);

    /* Missing, a directory, too large. */
    snprintf(path, sizeof path, "%s/missing.cfg", dir);
    ck_assert_int_eq(cfg_load(path, &cfg, err, sizeof err, NULL, NULL), -1);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
             path);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(cfg_load(dir, &cfg, err, sizeof err, NULL, NULL), -1);
    snprintf(want, sizeof want, "%s: cannot read: ", dir);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

    size_t big_len = (1u << 20) + 10;
    char *big = malloc(big_len);
    ck_assert_ptr_nonnull(big);
    memset(big, '#', big_len);
    put_file("big.cfg", big, big_len);
    free(big);
    snprintf(path, sizeof path, "%s/big.cfg", dir);
    ck_assert_int_eq(cfg_load(path, &cfg, err, sizeof err, NULL, NULL), -1);
    snprintf(want, sizeof want, "%s: larger than 1048576 bytes: not a "
                                "zoo.cfg", path);
    ck_assert_str_eq(err, want);

    /* A large file of comments under the limit is fine. */
    size_t ok_len = 300000;
    char *ok = malloc(ok_len + 64);
    ck_assert_ptr_nonnull(ok);
    for (size_t i = 0; i < ok_len; i += 10) {
        memcpy(ok + i, "#comment.\n", 10);
    }
    strcpy(ok + ok_len, "dataDir=/x\nclientPort=9\n");
    put_file("ok.cfg", ok, strlen(ok));
    free(ok);
    snprintf(path, sizeof path, "%s/ok.cfg", dir);
    ck_assert_int_eq(cfg_load(path, &cfg, err, sizeof err, NULL, NULL), 0);
    ck_assert_int_eq(cfg.client_port, 9);
}
END_TEST

/* The sample configurations of zabd.cfg(5). */
START_TEST(test_man_page_examples)
{
    put_myid("1\n");
    OK("tickTime=2000\n"
       "initLimit=10\n"
       "syncLimit=5\n"
       "dataDir=@D\n"
       "clientPort=2181\n"
       "maxClientCnxns=60\n"
       "4lw.commands.whitelist=srvr, ruok, mntr\n"
       "autopurge.snapRetainCount=3\n"
       "autopurge.purgeInterval=24\n"
       "server.1=zk1.example.com:2888:3888\n"
       "server.2=zk2.example.com:2888:3888\n"
       "server.3=zk3.example.com:2888:3888\n");
    ck_assert_int_eq(warns.n, 1); /* the purgeInterval note */
    ck_assert_str_eq(cfg.fourlw_whitelist, "srvr,ruok,mntr");
    OK("tickTime=2000\n"
       "dataDir=@D\n"
       "clientPort=2181\n");
    ck_assert_int_eq(warns.n, 0);
    ck_assert_int_eq(cfg.standalone, 1);
    OK("dataDir=@D\n"
       "server.1=127.0.0.1:2888:3888;2181\n"
       "server.2=127.0.0.1:2889:3889;2182\n"
       "server.3=127.0.0.1:2890:3890;2183\n"
       "server.4=[::1]:2891:3891:observer;[::1]:2184\n");
    ck_assert_int_eq(warns.n, 0);
    ck_assert_int_eq(cfg.client_port, 2181);
    ck_assert_str_eq(cfg.servers[3].host, "::1");
    put_myid("4\n");
    OK("dataDir=@D\n"
       "peerType=observer\n"
       "server.1=127.0.0.1:2888:3888;2181\n"
       "server.2=127.0.0.1:2889:3889;2182\n"
       "server.3=127.0.0.1:2890:3890;2183\n"
       "server.4=[::1]:2891:3891:observer;[::1]:2184\n");
    ck_assert_int_eq(cfg.observer_self, 1);
    ck_assert_int_eq(cfg.client_port, 2184);
    ck_assert_str_eq(cfg.client_address, "::1");
    /* SASL DIGEST-MD5 for clients: no note, no warning. */
    OK("tickTime=2000\n"
       "dataDir=@D\n"
       "clientPort=2181\n"
       "authProvider.1=org.apache.zookeeper.server.auth."
       "SASLAuthenticationProvider\n"
       "java.security.auth.login.config=/etc/zabd/jaas.conf\n"
       "superUser=admin\n");
    ck_assert_int_eq(warns.n, 0);
    ck_assert_str_eq(cfg.jaas_path, "/etc/zabd/jaas.conf");
    ck_assert_str_eq(cfg.super_users[0].name, "admin");
    /* The TLS example (added to the first one). */
    put_myid("1\n");
    OK("tickTime=2000\n"
       "dataDir=@D\n"
       "clientPort=2181\n"
       "server.1=zk1.example.com:2888:3888\n"
       "server.2=zk2.example.com:2888:3888\n"
       "server.3=zk3.example.com:2888:3888\n"
       "secureClientPort=2281\n"
       "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n"
       "ssl.keyStore.location=/etc/zookeeper/tls/server.pem\n"
       "ssl.keyStore.password=changeit\n"
       "ssl.trustStore.location=/etc/zookeeper/tls/ca.pem\n"
       "sslQuorum=true\n"
       "ssl.quorum.keyStore.location=/etc/zookeeper/tls/server.pem\n"
       "ssl.quorum.keyStore.password=changeit\n"
       "ssl.quorum.trustStore.location=/etc/zookeeper/tls/ca.pem\n");
    ck_assert_int_eq(warns.n, 1); /* the serverCnxnFactory note */
    ck_assert_int_eq(cfg.secure_client_port, 2281);
    ck_assert_int_eq(cfg.ssl_quorum, 1);
    ck_assert_int_eq(cfg.tls_quorum.keystore_type, CFG_STORE_PEM);
}
END_TEST

static Suite *cfg_suite(void)
{
    Suite *s = suite_create("cfg");
    TCase *tc = tcase_create("cfg");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_every_key);
    tcase_add_test(tc, test_booleans);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_separators);
    tcase_add_test(tc, test_comments_and_blank_lines);
    tcase_add_test(tc, test_line_endings);
    tcase_add_test(tc, test_continuations);
    tcase_add_test(tc, test_duplicate_keys);
    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_decode_integers);
    tcase_add_test(tc, test_session_timeouts);
    tcase_add_test(tc, test_snap_retain);
    tcase_add_test(tc, test_whitelist);
    tcase_add_test(tc, test_ensemble);
    tcase_add_test(tc, test_ensemble_sizes);
    tcase_add_test(tc, test_observers);
    tcase_add_test(tc, test_client_port_from_server_line);
    tcase_add_test(tc, test_ipv6);
    tcase_add_test(tc, test_bad_server_lines);
    tcase_add_test(tc, test_duplicate_ids);
    tcase_add_test(tc, test_myid_file);
    tcase_add_test(tc, test_myid_key);
    tcase_add_test(tc, test_required);
    tcase_add_test(tc, test_ignored_keys);
    tcase_add_test(tc, test_sasl_keys);
    tcase_add_test(tc, test_protections_warned);
    tcase_add_test(tc, test_unknown_keys);
    tcase_add_test(tc, test_hierarchical_refused);
    tcase_add_test(tc, test_tls_defaults);
    tcase_add_test(tc, test_tls_client_port);
    tcase_add_test(tc, test_tls_versions);
    tcase_add_test(tc, test_tls_errors);
    tcase_add_test(tc, test_tls_quorum);
    tcase_add_test(tc, test_errbuf_bounds);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_server_line);
    tcase_add_test(tc, test_load);
    tcase_add_test(tc, test_man_page_examples);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(cfg_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
