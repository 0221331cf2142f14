/*
 * zk-elect -- take part in a master election, printing when this process
 * becomes master and when it stops.
 *
 *   zk-elect [options] PATH NAME    volunteer as NAME under PATH until
 *                                   SIGINT/SIGTERM (then resign)
 *   zk-elect [options] -q PATH      print the current master's name
 *
 * Options:
 *   -s HOSTS   ZooKeeper connect string (default $ZK_HOSTS, 127.0.0.1:2181)
 *   -t MS      session timeout asked for (default 4000)
 *   -v         also print the library's explanations
 *   -l FILE    event log for tests: "master"/"work"/"unmaster" lines
 *              appended while (and only while) mastership is confirmed
 *   -w MS      how often the master does its (pretend) work: default 1000
 *   -d SEC     resign and exit after SEC seconds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* Prints the usage and exits with status 2. */
static void usage(void)
{
    fprintf(stderr,
            "usage: zk-elect [-s hosts] [-t ms] [-v] [-l file] [-w ms] "
            "[-d sec] PATH NAME\n"
            "       zk-elect [-s hosts] -q PATH\n");
    exit(2);
}

static int last = -1;
static atomic_int resigning;

static void on_change(void *arg, zkr_election_t *e, int st,
                      const char *master)
{
    (void)arg;
    (void)e;
    int prev = last;
    last = st;
    switch (st) {
    case ZKR_HELD:
        say(prev == ZKR_UNSURE ? "reconnected in time: still the master"
                               : "I am the master");
        break;
    case ZKR_UNSURE:
        say("connection lost: not sure I am still the master; pausing "
            "master work until this resolves");
        break;
    case ZKR_LOST:
        say("my session is gone: I am no longer the master");
        break;
    case ZKR_NOT_HELD:
        if (prev == ZKR_HELD || prev == ZKR_UNSURE)
            say("no longer the master");
        if (resigning)
            break;
        if (*master)
            say("candidate; the master is %s", master);
        else
            say("candidate; waiting for my turn");
        break;
    }
}

/* Parses the options and runs the command. */
int main(int argc, char **argv)
{
    const char *hosts = NULL, *logf = NULL;
    int timeout = 4000, verbose = 0, work = 1000, query = 0, c;
    int duration = 0;
    while ((c = getopt(argc, argv, "+s:t:vl:w:d:q")) != -1) {
        switch (c) {
        case 's': hosts = optarg; break;
        case 't': timeout = atoi(optarg); break;
        case 'v': verbose = 1; break;
        case 'l': logf = optarg; break;
        case 'w': work = atoi(optarg); break;
        case 'd': duration = atoi(optarg); break;
        case 'q': query = 1; break;
        default: usage();
        }
    }
    if (query) {
        if (argc - optind != 1)
            usage();
        tool_init("zk-elect", "query");
        tool_out = stderr;
        tool_show_sessions = verbose;
        zkr_t *z = tool_open(hosts, timeout, verbose, 10000);
        char name[256];
        int rc = zkr_election_master(z, argv[optind], name, sizeof name,
                                     10000);
        zkr_close(z);
        if (rc == ZKR_ENOENT) {
            fprintf(stderr, "no master at %s\n", argv[optind]);
            return 1;
        }
        if (rc != ZKR_OK)
            die("%s: %s", argv[optind], zkr_strerror(rc));
        printf("%s\n", name);
        return 0;
    }
    if (argc - optind != 2 || work <= 0)
        usage();
    const char *path = argv[optind], *name = argv[optind + 1];
    tool_init("zk-elect", name);
    zkr_t *z = tool_open(hosts, timeout, verbose, 30000);
    zkr_election_t *e;
    int rc = zkr_election_new(z, path, name, on_change, NULL, &e);
    if (rc != ZKR_OK)
        die("%s: %s", path, zkr_strerror(rc));
    say("volunteering under %s", path);
    zkr_election_start(e);

    /* The master's "work": done only after confirming mastership with a
     * round trip, and logged for the tests' checker. */
    int64_t end = duration ? tool_now_ms() + duration * 1000LL : 0;
    int acting = 0;
    while (!tool_stop && (!end || tool_now_ms() < end)) {
        tool_sleep(work);
        if (tool_stop)
            break;
        int st = zkr_election_check(e, 0);
        if (st == ZKR_HELD) {
            if (!acting)
                tool_event(logf, "master", "%s", name);
            acting = 1;
            tool_event(logf, "work", "%s", name);
        } else if (acting) {
            tool_event(logf, "unmaster", "%s %s", name, tool_state_name(st));
            acting = 0;
        }
    }
    if (acting)
        tool_event(logf, "unmaster", "%s resign", name);
    resigning = 1;
    zkr_election_free(e);
    say("resigned");
    zkr_close(z);
    return 0;
}
