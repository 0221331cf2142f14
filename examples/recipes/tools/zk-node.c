/*
 * zk-node -- one member of a small service, using every recipe on ONE
 * session, as a real program would (the demo runs three of them):
 *
 *   - it is a member of /demo/members, its runtime state "role=..." kept
 *     current;
 *   - it provides the service "api" at 127.0.0.1:PORT;
 *   - it is a candidate in the election /demo/election, and says when it
 *     becomes master and when it stops;
 *   - in a loop it takes the lock /demo/lock and, holding it, increments
 *     the counter /demo/data/counter (read, then write: safe only under
 *     the lock), holds it a moment, releases it.
 *
 *   zk-node [-s HOSTS] [-t MS] [-p PORT] [-H HOLD_MS] [-P PAUSE_MS] NAME
 *
 * Every counter update is printed as "counter A -> B", so a checker can
 * verify that every value was written exactly once (no update lost or
 * doubled).  SIGINT/SIGTERM: leave cleanly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static zkr_member_t *member;
static const char *name;

/* Election callback: prints the change, updates our member state. */
static void on_elect(void *arg, zkr_election_t *e, int st, const char *master)
{
    (void)arg;
    (void)e;
    static int last = -1;
    int prev = last;
    last = st;
    const char *role = "candidate";
    switch (st) {
    case ZKR_HELD:
        say(prev == ZKR_UNSURE ? "reconnected in time: still the master"
                               : "I am the master");
        role = "master";
        break;
    case ZKR_UNSURE:
        say("connection lost: not sure I am still the master; pausing");
        role = "master?";
        break;
    case ZKR_LOST:
        say("my session is gone: I am no longer the master");
        break;
    case ZKR_NOT_HELD:
        if (*master)
            say("candidate; the master is %s", master);
        break;
    }
    char state[64];
    snprintf(state, sizeof state, "role=%s", role);
    zkr_member_set(member, state, strlen(state));
}

/* Stop hook: cancels a blocked zkr_lock_acquire(). */
static void cancel_lock(void *l)
{
    zkr_lock_cancel(l);
}

/* Parses the options and runs the command. */
int main(int argc, char **argv)
{
    const char *hosts = NULL;
    int timeout = 3000, port = 9000, hold = 1500, pause_ms = 1000, c;
    while ((c = getopt(argc, argv, "+s:t:p:H:P:")) != -1) {
        switch (c) {
        case 's': hosts = optarg; break;
        case 't': timeout = atoi(optarg); break;
        case 'p': port = atoi(optarg); break;
        case 'H': hold = atoi(optarg); break;
        case 'P': pause_ms = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: zk-node [-s hosts] [-t ms] [-p port] "
                            "[-H ms] [-P ms] NAME\n");
            return 2;
        }
    }
    if (argc - optind != 1)
        return 2;
    name = argv[optind];
    tool_init("zk-node", name);
    zkr_t *z = tool_open(hosts, timeout, 0, 30000);

    const char *state = "role=candidate";
    if (zkr_member_join(z, "/demo/members", name, state, strlen(state),
                        &member) != ZKR_OK)
        die("cannot join /demo/members");
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    zkr_member_t *provider;
    if (zkr_service_register(z, "/demo/services", "api", addr, name,
                             &provider) != ZKR_OK)
        die("cannot register the api service");
    zkr_election_t *e;
    if (zkr_election_new(z, "/demo/election", name, on_elect, NULL, &e) !=
        ZKR_OK)
        die("cannot make a candidate");
    zkr_election_start(e);
    zkr_member_wait(member, 10000);
    zkr_member_wait(provider, 10000);
    say("joined /demo/members and serves api at %s", addr);

    zkr_lock_t *l;
    if (zkr_lock_new(z, "/demo/lock", ZKR_LOCK_EXCLUSIVE, &l) != ZKR_OK)
        die("cannot make the lock");
    tool_on_stop(cancel_lock, l);
    while (!tool_stop) {
        int rc = zkr_lock_acquire(l, -1);
        if (rc != ZKR_OK)
            break;
        long long token = (long long)zkr_lock_token(l);
        /* read-modify-write of the counter: only under the lock, and only
         * after confirming we still hold it */
        char val[32] = "0";
        int updated = 0;
        if (zkr_lock_check(l, timeout) == ZKR_HELD) {
            rc = zkr_name_resolve(z, "/demo/data", "counter", val,
                                  sizeof val, ZKR_NAME_SYNC, timeout);
            if (rc == ZKR_OK || rc == ZKR_ENOENT) {
                long n = rc == ZKR_OK ? atol(val) : 0;
                char next[32];
                snprintf(next, sizeof next, "%ld", n + 1);
                if (zkr_lock_check(l, timeout) == ZKR_HELD &&
                    zkr_name_register(z, "/demo/data", "counter", next,
                                      ZKR_NAME_REPLACE, timeout) == ZKR_OK) {
                    say("took the lock (token %lld): counter %ld -> %ld",
                        token, n, n + 1);
                    updated = 1;
                }
            }
        }
        if (!updated)
            say("took the lock (token %lld) but could not update the "
                "counter safely", token);
        tool_sleep(hold);
        zkr_lock_release(l);
        if (!tool_stop)
            say("released the lock");
        tool_sleep(pause_ms);
    }
    zkr_lock_free(l);
    zkr_election_free(e);
    zkr_member_leave(provider);
    zkr_member_leave(member);
    say("left");
    zkr_close(z);
    return 0;
}
