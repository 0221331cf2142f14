/*
 * zk-registry -- service registry.
 *
 *   zk-registry [opts] register SERVICE HOST:PORT [META]
 *                 provide SERVICE at HOST:PORT until SIGINT/SIGTERM
 *   zk-registry [opts] list SERVICE
 *                 print "HOST:PORT<TAB>META" lines
 *   zk-registry [opts] watch SERVICE
 *                 follow the providers, printing the list after every
 *                 change (and the cached list while disconnected)
 * Options:
 *   -s HOSTS, -t MS (session timeout, default 4000), -v
 *   -r ROOT    registry root (default /services)
 *   -f FILE    watch: keep the list in FILE too, and start from it
 *   -p MS      watch: pick a provider every MS and print it
 *   -d SEC     exit after SEC seconds
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
            "usage: zk-registry [-s hosts] [-t ms] [-v] [-r root] [-d sec] "
            "register SERVICE HOST:PORT [META]\n"
            "       zk-registry [-s hosts] [-r root] list SERVICE\n"
            "       zk-registry [-s hosts] [-r root] [-f file] [-p ms] "
            "[-d sec] watch SERVICE\n");
    exit(2);
}

static const char *service;

/* Prints the consumer's provider list on one line. */
static void print_list(zkr_consumer_t *c)
{
    zkr_entry_t *v;
    int n, fresh;
    if (zkr_consumer_get(c, &v, &n, &fresh) != ZKR_OK)
        return;
    char line[4096];
    size_t off = 0;
    line[0] = '\0';
    for (int i = 0; i < n && off < sizeof line - 64; i++)
        off += (size_t)snprintf(line + off, sizeof line - off, "%s%s",
                                i ? " " : "", v[i].name);
    say("providers of %s (%d, %s): %s", service, n,
        fresh ? "live" : "from the cache", line);
    zkr_entries_free(v, n);
}

/* Consumer callback: prints the list after every change. */
static void on_change(void *arg, zkr_consumer_t *c, int fresh)
{
    (void)arg;
    (void)fresh;
    print_list(c);
}

/* Parses the options and runs the command. */
int main(int argc, char **argv)
{
    const char *hosts = NULL, *root = NULL, *file = NULL;
    int timeout = 4000, verbose = 0, pick = 0, duration = 0, c;
    while ((c = getopt(argc, argv, "+s:t:vr:f:p:d:")) != -1) {
        switch (c) {
        case 's': hosts = optarg; break;
        case 't': timeout = atoi(optarg); break;
        case 'v': verbose = 1; break;
        case 'r': root = optarg; break;
        case 'f': file = optarg; break;
        case 'p': pick = atoi(optarg); break;
        case 'd': duration = atoi(optarg); break;
        default: usage();
        }
    }
    int n = argc - optind;
    if (n < 2)
        usage();
    const char *cmd = argv[optind];
    service = argv[optind + 1];
    int64_t end = duration ? tool_now_ms() + duration * 1000LL : 0;

    if (!strcmp(cmd, "register") && (n == 3 || n == 4)) {
        const char *addr = argv[optind + 2];
        const char *meta = n == 4 ? argv[optind + 3] : "";
        char who[300];
        snprintf(who, sizeof who, "%s@%s", service, addr);
        tool_init("zk-registry", who);
        zkr_t *z = tool_open(hosts, timeout, verbose, 30000);
        zkr_member_t *m;
        int rc = zkr_service_register(z, root, service, addr, meta, &m);
        if (rc != ZKR_OK)
            die("register: %s", zkr_strerror(rc));
        int told = 0;
        while (!tool_stop && (!end || tool_now_ms() < end)) {
            int st = zkr_member_state(m);
            if (st == ZKR_HELD && !told)
                say("registered %s at %s%s%s", service, addr,
                    *meta ? " " : "", meta);
            told = st == ZKR_HELD ? 1 : st == ZKR_UNSURE ? told : 0;
            tool_sleep(50);
        }
        zkr_member_leave(m);
        say("deregistered");
        zkr_close(z);
        return 0;
    }
    if (!strcmp(cmd, "list") && n == 2) {
        tool_init("zk-registry", service);
        tool_out = stderr;
        tool_show_sessions = verbose;
        zkr_t *z = tool_open(hosts, timeout, verbose, 30000);
        zkr_consumer_t *cons;
        int rc = zkr_consumer_new(z, root, service, NULL, NULL, NULL, &cons);
        if (rc != ZKR_OK)
            die("list: %s", zkr_strerror(rc));
        zkr_entry_t *v;
        int count, fresh = 0;
        for (int i = 0; i < 300 && !fresh; i++) {
            tool_sleep(100);
            zkr_consumer_get(cons, &v, &count, &fresh);
            if (!fresh)
                zkr_entries_free(v, count);
        }
        if (!fresh)
            die("list: no answer from ZooKeeper");
        for (int i = 0; i < count; i++)
            printf("%s\t%s\n", v[i].name, v[i].data);
        zkr_entries_free(v, count);
        zkr_consumer_free(cons);
        zkr_close(z);
        return 0;
    }
    if (!strcmp(cmd, "watch") && n == 2) {
        tool_init("zk-registry", service);
        zkr_t *z = tool_open(hosts, timeout, verbose, -1);
        zkr_consumer_t *cons;
        int rc = zkr_consumer_new(z, root, service, file, on_change, NULL,
                                  &cons);
        if (rc != ZKR_OK)
            die("watch: %s", zkr_strerror(rc));
        say("following the providers of %s", service);
        if (file)
            print_list(cons);   /* what the cache file says, if anything */
        int64_t next = tool_now_ms() + pick;
        while (!tool_stop && (!end || tool_now_ms() < end)) {
            tool_sleep(50);
            if (pick && tool_now_ms() >= next) {
                char addr[256];
                zkr_entry_t *v;
                int cnt, fresh = 0;
                if (zkr_consumer_get(cons, &v, &cnt, &fresh) == ZKR_OK)
                    zkr_entries_free(v, cnt);
                rc = zkr_consumer_pick(cons, addr, sizeof addr);
                if (rc == ZKR_OK)
                    say("picked %s%s", addr, fresh ? "" : " (from the cache)");
                else
                    say("no provider of %s known", service);
                next += pick;
            }
        }
        zkr_consumer_free(cons);
        zkr_close(z);
        return 0;
    }
    usage();
}
