/*
 * main.c -- zabsim, the deterministic simulator of libzab.
 *
 *   zabsim --scenario FILE.zs [--trace | --narrate] [--quiet]
 *   zabsim --seeds A-B --steps N [--trace] [--quiet]
 *   zabsim --seed S --steps N [--trace]
 *
 * Scenario mode exits 0 (every expect held, no invariant broke), 1 (a
 * failure, printed with its step and the last events) or 2 (malformed
 * file).  Random mode runs each seed (see campaign.h) and ends with one
 * summary line; it exits 1 if any seed failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign.h"
#include "scenario.h"
#include "sim.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: zabsim --scenario FILE.zs [--trace | --narrate] [--quiet]\n"
            "       zabsim --seeds A-B --steps N [--trace] [--quiet]\n"
            "       zabsim --seed S --steps N [--trace]\n");
}

static int parse_num(const char *s, uint64_t *v)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    *v = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

static double wall_seconds(void)
{
    /* Measured for the summary only: nothing in a run depends on it. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *scenario = NULL;
    uint64_t seed_lo = 0, seed_hi = 0, steps = 4000;
    int have_seeds = 0, trace = 0, narrate = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--scenario") == 0 && v != NULL) {
            scenario = v;
            i++;
        } else if (strcmp(a, "--seeds") == 0 && v != NULL) {
            const char *dash = strchr(v, '-');
            char lo[32];
            if (dash == NULL || (size_t)(dash - v) >= sizeof(lo)) {
                usage();
                return 2;
            }
            memcpy(lo, v, (size_t)(dash - v));
            lo[dash - v] = '\0';
            if (parse_num(lo, &seed_lo) != 0 ||
                parse_num(dash + 1, &seed_hi) != 0 || seed_hi < seed_lo) {
                usage();
                return 2;
            }
            have_seeds = 1;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v != NULL) {
            if (parse_num(v, &seed_lo) != 0) {
                usage();
                return 2;
            }
            seed_hi = seed_lo;
            have_seeds = 1;
            i++;
        } else if (strcmp(a, "--steps") == 0 && v != NULL) {
            if (parse_num(v, &steps) != 0) {
                usage();
                return 2;
            }
            i++;
        } else if (strcmp(a, "--trace") == 0) {
            trace = 1;
        } else if (strcmp(a, "--narrate") == 0) {
            narrate = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            usage();
            return 2;
        }
    }
    if (scenario != NULL && !have_seeds) {
        return scenario_run(scenario, trace, narrate, quiet);
    }
    if (!have_seeds || scenario != NULL) {
        usage();
        return 2;
    }
    totals_t tot;
    memset(&tot, 0, sizeof(tot));
    double t0 = wall_seconds();
    int failed = 0;
    for (uint64_t seed = seed_lo;; seed++) {
        if (campaign_run(seed, steps, trace, quiet, &tot) != 0) {
            failed = 1;
        }
        if (seed == seed_hi) {
            break;
        }
    }
    double wall = wall_seconds() - t0;
    /* One line: the evidence counters, then what ran and how fast.  Only
     * the wall-clock figures differ between two runs of the same seeds. */
    printf("sweep: seeds=%" PRIu64 " steps=%" PRIu64 " violations=%" PRIu64
           " failures=%" PRIu64 " | diff=%" PRIu64 " trunc=%" PRIu64
           " snap=%" PRIu64 " trunc+diff=%" PRIu64 " late=%" PRIu64
           " observer=%" PRIu64 " epoch>=3=%" PRIu64 " tail-change=%" PRIu64
           " | lies=%" PRIu64 " lies-downgraded=%" PRIu64 " eproto=%" PRIu64
           " refused=%" PRIu64 " | wall=%.2fs (%.0f steps/s)\n",
           tot.seeds, tot.steps, tot.violations, tot.failures, tot.sync_diff,
           tot.sync_trunc, tot.sync_snap, tot.trunc_diff, tot.sync_late,
           tot.sync_observer, tot.epochs3, tot.tail_changes, tot.lies,
           tot.lies_downgraded, tot.eproto, tot.refused, wall,
           wall > 0 ? (double)tot.steps / wall : 0.0);
    return failed ? 1 : 0;
}
