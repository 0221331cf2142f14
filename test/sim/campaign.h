/*
 * campaign.h -- random mode: one seed derives a whole run (cluster shape,
 * latencies, disks, the fault mix), then a fault-free phase checks
 * liveness.  TigerBeetle's VOPR is the model: the seed and every derived
 * parameter are printed first, and a failure prints a replay command.
 */
#ifndef SIM_CAMPAIGN_H
#define SIM_CAMPAIGN_H

#include <stdint.h>

#include "sim.h"

/* Runs one seed with `steps` fault-phase steps; adds to *tot.  Returns 0
 * if every check and the liveness phase passed. */
int campaign_run(uint64_t seed, uint64_t steps, int trace, int quiet,
                 totals_t *tot);

#endif /* SIM_CAMPAIGN_H */
