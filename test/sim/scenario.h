/*
 * scenario.h -- the .zs scenario files of shared/design/SCENARIOS.md: a
 * parser that rejects any malformed line before anything runs, and a
 * runner that executes the commands in order against one world.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

/* Runs a scenario file.  Returns the process exit code: 0 every expect
 * held and no invariant broke, 1 a failure (printed), 2 the file is
 * malformed (printed as file:line). */
int scenario_run(const char *path, int trace, int narrate, int quiet);

#endif /* SIM_SCENARIO_H */
