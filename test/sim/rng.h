/*
 * rng.h -- the simulator's seeded pseudo-random generator.
 *
 * xoshiro256** seeded through splitmix64 (Blackman and Vigna).  Every
 * random choice of a run comes from one of these, so a seed replays a run
 * byte for byte.  rand() is never used: its sequence differs between C
 * libraries and it has hidden global state.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng_t;

/* Seeds `r`; any 64-bit value is a valid seed (0 included). */
void rng_seed(rng_t *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t rng_next(rng_t *r);
/* A value in [lo, hi], both included; lo when hi <= lo. */
uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi);
/* 1 with probability percent/100. */
int rng_chance(rng_t *r, unsigned percent);
/* The splitmix64 finaliser: a good 64-bit mixing function, also used for
 * the state-machine hash chain. */
uint64_t rng_mix(uint64_t x);

#endif /* SIM_RNG_H */
