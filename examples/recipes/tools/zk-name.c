/*
 * zk-name -- naming service.
 *
 *   zk-name [opts] next DIR PREFIX [COUNT]    allocate COUNT (default 1)
 *                                             unique names, one per line
 *   zk-name [opts] register REGISTRY NAME VALUE
 *   zk-name [opts] resolve REGISTRY NAME
 *   zk-name [opts] list REGISTRY [DIR]
 *   zk-name [opts] unregister REGISTRY NAME
 *
 * Options:
 *   -s HOSTS, -t MS (session timeout, default 4000), -v
 *   -e         register: ephemeral -- stays registered while zk-name runs
 *              (until SIGINT/SIGTERM)
 *   -r         register: replace an existing registration
 *   -S         resolve: sync first (a linearizable read)
 *   -W MS      give up after MS of disconnection (default 30000)
 *   -T         next: print a timestamp and label with each name (tests)
 * Exit status: 0 ok, 1 not found / already registered, 2 error.
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
            "usage: zk-name [-s hosts] [-t ms] [-v] [-W ms] next DIR PREFIX "
            "[COUNT]\n"
            "       zk-name ... [-e] [-r] register REGISTRY NAME VALUE\n"
            "       zk-name ... [-S] resolve REGISTRY NAME\n"
            "       zk-name ... list REGISTRY [DIR]\n"
            "       zk-name ... unregister REGISTRY NAME\n");
    exit(2);
}

/* Parses the options and runs the command. */
int main(int argc, char **argv)
{
    const char *hosts = NULL;
    int timeout = 4000, verbose = 0, eph = 0, replace = 0, sync = 0;
    int wait_ms = 30000, stamp = 0, c;
    while ((c = getopt(argc, argv, "+s:t:verSW:T")) != -1) {
        switch (c) {
        case 's': hosts = optarg; break;
        case 't': timeout = atoi(optarg); break;
        case 'v': verbose = 1; break;
        case 'e': eph = 1; break;
        case 'r': replace = 1; break;
        case 'S': sync = 1; break;
        case 'W': wait_ms = atoi(optarg); break;
        case 'T': stamp = 1; break;
        default: usage();
        }
    }
    int n = argc - optind;
    if (n < 1)
        usage();
    const char *cmd = argv[optind];
    char **a = argv + optind + 1;
    n--;
    tool_init("zk-name", cmd);
    tool_out = stderr;
    tool_show_sessions = verbose || (!strcmp(cmd, "register") && eph);
    int rc;

    if (!strcmp(cmd, "next") && (n == 2 || n == 3)) {
        long count = n == 3 ? atol(a[2]) : 1;
        zkr_t *z = tool_open(hosts, timeout, verbose, wait_ms);
        for (long i = 0; i < count && !tool_stop; i++) {
            char name[256];
            long long t0 = (long long)tool_now_ms();
            rc = zkr_name_next(z, a[0], a[1], name, sizeof name, NULL,
                               wait_ms);
            if (rc != ZKR_OK)
                die("next %s/%s: %s", a[0], a[1], zkr_strerror(rc));
            if (stamp)
                printf("%s %ld %lld %lld\n", name, (long)getpid(), t0,
                       (long long)tool_now_ms());
            else
                printf("%s\n", name);
        }
        fflush(stdout);
        zkr_close(z);
        return 0;
    }
    if (!strcmp(cmd, "register") && n == 3) {
        zkr_t *z = tool_open(hosts, timeout, verbose, wait_ms);
        int flags = (eph ? ZKR_NAME_EPHEMERAL : 0) |
                    (replace ? ZKR_NAME_REPLACE : 0);
        rc = zkr_name_register(z, a[0], a[1], a[2], flags, wait_ms);
        if (rc == ZKR_EEXIST) {
            say("%s is already registered", a[1]);
            zkr_close(z);
            return 1;
        }
        if (rc != ZKR_OK)
            die("register %s: %s", a[1], zkr_strerror(rc));
        say("registered %s = %s%s", a[1], a[2], eph ? " (ephemeral)" : "");
        if (eph) {
            while (!tool_stop)
                tool_sleep(1000);
            say("unregistering %s", a[1]);
        }
        zkr_close(z);
        return 0;
    }
    if (!strcmp(cmd, "resolve") && n == 2) {
        zkr_t *z = tool_open(hosts, timeout, verbose, wait_ms);
        char value[65536];
        rc = zkr_name_resolve(z, a[0], a[1], value, sizeof value,
                              sync ? ZKR_NAME_SYNC : 0, wait_ms);
        zkr_close(z);
        if (rc == ZKR_ENOENT) {
            fprintf(stderr, "%s: not registered\n", a[1]);
            return 1;
        }
        if (rc != ZKR_OK)
            die("resolve %s: %s", a[1], zkr_strerror(rc));
        printf("%s\n", value);
        return 0;
    }
    if (!strcmp(cmd, "list") && (n == 1 || n == 2)) {
        zkr_t *z = tool_open(hosts, timeout, verbose, wait_ms);
        char **names;
        int count;
        rc = zkr_name_list(z, a[0], n == 2 ? a[1] : NULL, &names, &count,
                           wait_ms);
        zkr_close(z);
        if (rc == ZKR_ENOENT)
            return 0;
        if (rc != ZKR_OK)
            die("list %s: %s", a[0], zkr_strerror(rc));
        for (int i = 0; i < count; i++)
            printf("%s\n", names[i]);
        zkr_strings_free(names, count);
        return 0;
    }
    if (!strcmp(cmd, "unregister") && n == 2) {
        zkr_t *z = tool_open(hosts, timeout, verbose, wait_ms);
        rc = zkr_name_unregister(z, a[0], a[1], wait_ms);
        zkr_close(z);
        if (rc == ZKR_ENOENT) {
            fprintf(stderr, "%s: not registered\n", a[1]);
            return 1;
        }
        if (rc != ZKR_OK)
            die("unregister %s: %s", a[1], zkr_strerror(rc));
        return 0;
    }
    usage();
}
