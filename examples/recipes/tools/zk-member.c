/*
 * zk-member -- group membership.
 *
 *   zk-member [opts] join GROUP NAME [STATE]   be a member until SIGINT/
 *                                             SIGTERM (then leave)
 *   zk-member [opts] list GROUP                print "NAME<TAB>STATE" lines
 *   zk-member [opts] watch GROUP               print joins, leaves, state
 *                                             changes and the member list
 *                                             after every change
 * Options:
 *   -s HOSTS, -t MS (session timeout, default 4000), -v
 *   -u MS      join: update the runtime state every MS ("STATE n=<k>")
 *   -d SEC     join/watch: exit after SEC seconds
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
            "usage: zk-member [-s hosts] [-t ms] [-v] [-u ms] [-d sec] "
            "join GROUP NAME [STATE]\n"
            "       zk-member [-s hosts] [-t ms] [-v] list GROUP\n"
            "       zk-member [-s hosts] [-t ms] [-v] [-d sec] watch GROUP\n");
    exit(2);
}

/* Prints the cached member list on one line. */
static void print_members(zkr_cache_t *c, const char *why)
{
    zkr_entry_t *v;
    int n, fresh;
    if (zkr_cache_get(c, &v, &n, &fresh) != ZKR_OK)
        return;
    char line[4096];
    size_t off = 0;
    line[0] = '\0';
    for (int i = 0; i < n && off < sizeof line - 64; i++)
        off += (size_t)snprintf(line + off, sizeof line - off, "%s%s",
                                i ? " " : "", v[i].name);
    say("members (%d%s%s): %s", n, fresh ? "" : ", ",
        fresh ? "" : why, line);
    zkr_entries_free(v, n);
}

static void on_cache(void *arg, zkr_cache_t *c, int event, const char *name,
                     const char *data, size_t len)
{
    (void)arg;
    (void)len;
    switch (event) {
    case ZKR_CACHE_ADDED:
        say("joined: %s (%s)", name, data);
        break;
    case ZKR_CACHE_REMOVED:
        say("left: %s", name);
        break;
    case ZKR_CACHE_CHANGED:
        say("%s now: %s", name, data);
        break;
    case ZKR_CACHE_SYNCED:
        print_members(c, "");
        break;
    case ZKR_CACHE_STALE:
        print_members(c, "disconnected: last known");
        break;
    }
}

/* Parses the options and runs the command. */
int main(int argc, char **argv)
{
    const char *hosts = NULL;
    int timeout = 4000, verbose = 0, update = 0, duration = 0, c;
    while ((c = getopt(argc, argv, "+s:t:vu:d:")) != -1) {
        switch (c) {
        case 's': hosts = optarg; break;
        case 't': timeout = atoi(optarg); break;
        case 'v': verbose = 1; break;
        case 'u': update = atoi(optarg); break;
        case 'd': duration = atoi(optarg); break;
        default: usage();
        }
    }
    int n = argc - optind;
    if (n < 2)
        usage();
    const char *cmd = argv[optind], *group = argv[optind + 1];
    int64_t end = duration ? tool_now_ms() + duration * 1000LL : 0;

    if (!strcmp(cmd, "join") && (n == 3 || n == 4)) {
        const char *name = argv[optind + 2];
        const char *state = n == 4 ? argv[optind + 3] : "up";
        tool_init("zk-member", name);
        zkr_t *z = tool_open(hosts, timeout, verbose, 30000);
        zkr_member_t *m;
        int rc = zkr_member_join(z, group, name, state, strlen(state), &m);
        if (rc != ZKR_OK)
            die("join %s: %s", group, zkr_strerror(rc));
        int told = 0;
        long k = 0;
        int64_t next = tool_now_ms() + update;
        while (!tool_stop && (!end || tool_now_ms() < end)) {
            int st = zkr_member_state(m);
            if (st == ZKR_HELD && !told) {
                say("joined %s as %s", group, name);
                told = 1;
            } else if (st != ZKR_HELD && told) {
                told = 0;       /* the session events say why */
            }
            if (update && tool_now_ms() >= next) {
                char buf[512];
                snprintf(buf, sizeof buf, "%s n=%ld", state, ++k);
                zkr_member_set(m, buf, strlen(buf));
                next += update;
            }
            tool_sleep(50);
        }
        zkr_member_leave(m);
        say("left %s", group);
        zkr_close(z);
        return 0;
    }
    if (!strcmp(cmd, "list") && n == 2) {
        tool_init("zk-member", "list");
        tool_out = stderr;
        tool_show_sessions = verbose;
        zkr_t *z = tool_open(hosts, timeout, verbose, 30000);
        zkr_cache_t *cache;
        int rc = zkr_cache_new(z, group, NULL, NULL, &cache);
        if (rc == ZKR_OK)
            rc = zkr_cache_wait_synced(cache, 30000);
        if (rc != ZKR_OK)
            die("list %s: %s", group, zkr_strerror(rc));
        zkr_entry_t *v;
        int count, fresh;
        zkr_cache_get(cache, &v, &count, &fresh);
        for (int i = 0; i < count; i++)
            printf("%s\t%s\n", v[i].name, v[i].data);
        zkr_entries_free(v, count);
        zkr_cache_free(cache);
        zkr_close(z);
        return 0;
    }
    if (!strcmp(cmd, "watch") && n == 2) {
        tool_init("zk-member", "watch");
        zkr_t *z = tool_open(hosts, timeout, verbose, 30000);
        zkr_cache_t *cache;
        int rc = zkr_cache_new(z, group, on_cache, NULL, &cache);
        if (rc != ZKR_OK)
            die("watch %s: %s", group, zkr_strerror(rc));
        say("watching the members of %s", group);
        while (!tool_stop && (!end || tool_now_ms() < end))
            tool_sleep(100);
        zkr_cache_free(cache);
        zkr_close(z);
        return 0;
    }
    usage();
}
