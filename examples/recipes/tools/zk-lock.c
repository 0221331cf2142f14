/*
 * zk-lock -- take a distributed lock, hold it (or run a command under it),
 * release it; optionally many times.
 *
 *   zk-lock [options] PATH [COMMAND [ARG...]]
 *
 * Options:
 *   -m MODE    ex (exclusive, default), read (shared) or write
 *   -T         try once: exit 1 at once if the lock is busy
 *   -W MS      give up waiting after MS (default: wait forever)
 *   -H MS      hold for MS when there is no command (default 1000)
 *   -c N       acquire N times (default 1; 0: until SIGINT/SIGTERM)
 *   -i MS      pause between acquisitions (default 0)
 *   -l FILE    event log for tests: "acquire"/"work"/"release" lines are
 *              appended only while the lock is confirmed held (a round
 *              trip just before each line); "lost" if it was lost
 *   -q         quiet: print only unusual events and the summary
 *   -s HOSTS, -t MS (session timeout, default 4000), -v, -n NAME (label)
 *
 * A command runs with ZKR_LOCK_TOKEN set to the fencing token.  While the
 * lock is UNSURE (disconnected) the command is stopped (SIGSTOP) and
 * continued when the session is confirmed; if the lock is LOST it gets
 * SIGTERM.  Exit status: 0 ok, 1 busy/timed out/lost, 2 usage or error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

/* Prints the usage and exits with status 2. */
static void usage(void)
{
    fprintf(stderr,
            "usage: zk-lock [-s hosts] [-t ms] [-v] [-q] [-n name] "
            "[-m ex|read|write] [-T] [-W ms] [-H ms] [-c n] [-i ms] "
            "[-l file] PATH [COMMAND...]\n");
    exit(2);
}

/* Stop hook: cancels a blocked zkr_lock_acquire(). */
static void cancel_lock(void *l)
{
    zkr_lock_cancel(l);
}

/* Runs argv under the lock; returns 0 if it ran to the end with the lock
 * held, 1 if the lock was lost meanwhile. */
static int run_command(zkr_lock_t *l, char **argv, int64_t token)
{
    char tok[32];
    snprintf(tok, sizeof tok, "%lld", (long long)token);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        tool_child_signals();
        setenv("ZKR_LOCK_TOKEN", tok, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "zk-lock: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int stopped = 0, lost = 0, status;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        int st = zkr_lock_state(l);
        if (st == ZKR_UNSURE && !stopped) {
            say("connection lost: the lock is unsure; stopping the command");
            kill(pid, SIGSTOP);
            stopped = 1;
        } else if (st == ZKR_HELD && stopped) {
            if (zkr_lock_check(l, 0) == ZKR_HELD) {
                say("the lock is still ours; continuing the command");
                kill(pid, SIGCONT);
                stopped = 0;
            }
        } else if (st == ZKR_LOST && !lost) {
            say("the lock is lost: terminating the command");
            kill(pid, SIGTERM);
            kill(pid, SIGCONT);
            lost = 1;
        }
        if (tool_stop && !lost) {
            kill(pid, SIGTERM);
            kill(pid, SIGCONT);
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        say("the command exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        say("the command was killed by signal %d", WTERMSIG(status));
    return lost;
}

/* Parses the options and runs the command. */
int main(int argc, char **argv)
{
    const char *hosts = NULL, *logf = NULL, *label = NULL;
    int timeout = 4000, verbose = 0, quiet = 0, try_only = 0, c;
    int wait_ms = -1, hold = 1000, count = 1, pause_ms = 0;
    int mode = ZKR_LOCK_EXCLUSIVE;
    while ((c = getopt(argc, argv, "+s:t:vqn:m:TW:H:c:i:l:")) != -1) {
        switch (c) {
        case 's': hosts = optarg; break;
        case 't': timeout = atoi(optarg); break;
        case 'v': verbose = 1; break;
        case 'q': quiet = 1; break;
        case 'n': label = optarg; break;
        case 'm':
            if (!strcmp(optarg, "ex"))
                mode = ZKR_LOCK_EXCLUSIVE;
            else if (!strcmp(optarg, "read"))
                mode = ZKR_LOCK_READ;
            else if (!strcmp(optarg, "write"))
                mode = ZKR_LOCK_WRITE;
            else
                usage();
            break;
        case 'T': try_only = 1; break;
        case 'W': wait_ms = atoi(optarg); break;
        case 'H': hold = atoi(optarg); break;
        case 'c': count = atoi(optarg); break;
        case 'i': pause_ms = atoi(optarg); break;
        case 'l': logf = optarg; break;
        default: usage();
        }
    }
    if (argc - optind < 1)
        usage();
    const char *path = argv[optind];
    char **cmd = argc - optind > 1 ? argv + optind + 1 : NULL;
    const char *who = label ? label : NULL;
    char whobuf[32];
    if (!who) {
        snprintf(whobuf, sizeof whobuf, "%ld", (long)getpid());
        who = whobuf;
    }
    tool_init("zk-lock", who);
    zkr_t *z = tool_open(hosts, timeout, verbose, 30000);
    zkr_lock_t *l;
    int rc = zkr_lock_new(z, path, mode, &l);
    if (rc != ZKR_OK)
        die("%s: %s", path, zkr_strerror(rc));
    tool_on_stop(cancel_lock, l);

    int64_t start = tool_now_ms(), wait_total = 0, wait_max = 0;
    long done = 0, lost = 0, failed = 0;
    int status = 0;
    const char *kind = mode == ZKR_LOCK_READ ? "read lock"
                       : mode == ZKR_LOCK_WRITE ? "write lock" : "lock";
    for (long i = 0; !tool_stop && (count == 0 || i < count); i++) {
        if (i && pause_ms)
            tool_sleep(pause_ms);
        if (!quiet)
            say("waiting for the %s %s", kind, path);
        int64_t t0 = tool_now_ms();
        rc = try_only ? zkr_lock_try_acquire(l) : zkr_lock_acquire(l, wait_ms);
        int64_t waited = tool_now_ms() - t0;
        if (rc == ZKR_ECANCELED)
            break;              /* SIGINT/SIGTERM */
        if (rc == ZKR_EBUSY || rc == ZKR_ETIMEOUT) {
            say(rc == ZKR_EBUSY ? "the %s is busy" : "timed out waiting for "
                "the %s", kind);
            failed++;
            status = 1;
            continue;
        }
        if (rc != ZKR_OK) {
            say("cannot take the %s: %s", kind, zkr_strerror(rc));
            status = 2;
            break;
        }
        wait_total += waited;
        if (waited > wait_max)
            wait_max = waited;
        long long token = (long long)zkr_lock_token(l);
        /* Confirm before the first action, waiting out a disconnection
         * for up to the session timeout. */
        int st = zkr_lock_check(l, zkr_session_timeout(z));
        int ok = st == ZKR_HELD;
        if (ok)
            tool_event(logf, "acquire", "%s %lld", kind, token);
        else
            say("acquired the %s (token %lld) but lost it before using it "
                "(%s)", kind, token, tool_state_name(st));
        if (ok && !quiet)
            say("acquired the %s (token %lld) after %lld ms", kind, token,
                (long long)waited);
        int was_lost = !ok;
        if (ok && cmd) {
            was_lost = run_command(l, cmd, token);
        } else if (ok) {
            /* pretend work: half the hold, one logged step, the rest */
            int64_t mid = tool_now_ms() + hold / 2, end = t0 + waited + hold;
            int logged = 0, told = ZKR_HELD;
            while (!tool_stop) {
                int64_t now = tool_now_ms();
                if (now >= end)
                    break;
                int cur = zkr_lock_state(l);
                if (cur != told) {
                    if (cur == ZKR_UNSURE)
                        say("connection lost while holding: pausing work");
                    else if (cur == ZKR_HELD)
                        say("reconnected: still holding the %s", kind);
                    told = cur;
                }
                if (cur == ZKR_LOST)
                    break;
                if (!logged && now >= mid && cur == ZKR_HELD &&
                    zkr_lock_check(l, 0) == ZKR_HELD) {
                    tool_event(logf, "work", "%s %lld", kind, token);
                    logged = 1;
                }
                tool_sleep((int)(end - now < 20 ? end - now : 20));
            }
        }
        /* Release: confirm first (waiting out a disconnection for up to
         * the session timeout), so that "release" is never logged by a
         * process that is no longer the holder. */
        if (ok)
            st = was_lost ? ZKR_LOST
                          : zkr_lock_check(l, zkr_session_timeout(z));
        if (st == ZKR_HELD) {
            tool_event(logf, "release", "%s %lld", kind, token);
        } else {
            lost++;
            say("lost the %s while holding it (%s): not touching the "
                "resource any more", kind, tool_state_name(st));
            tool_event(logf, "lost", "%s %lld %s", kind, token,
                       tool_state_name(st));
            status = 1;
        }
        rc = zkr_lock_release(l);
        if (rc != ZKR_OK && rc != ZKR_ELOST)
            say("release: %s", zkr_strerror(rc));
        done++;
        if (!quiet)
            say("released the %s", kind);
    }
    double secs = (double)(tool_now_ms() - start) / 1000.0;
    if (count != 1 || quiet)
        say("%ld acquisitions in %.1f s (%.1f/s); wait mean %.1f ms, max "
            "%lld ms; %ld lost, %ld busy/timed out",
            done, secs, secs > 0 ? (double)done / secs : 0.0,
            done ? (double)wait_total / (double)done : 0.0,
            (long long)wait_max, lost, failed);
    zkr_lock_free(l);
    zkr_close(z);
    return status;
}
