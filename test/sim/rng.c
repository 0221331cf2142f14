/*
 * rng.c -- xoshiro256** with splitmix64 seeding (see rng.h).
 */
#include "rng.h"

uint64_t rng_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void rng_seed(rng_t *r, uint64_t seed)
{
    /* splitmix64 expands one word into four well-mixed, non-zero words. */
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ull;
        r->s[i] = rng_mix(x);
    }
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) {
        r->s[0] = 1; /* the all-zero state is a fixed point */
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo) {
        return lo;
    }
    uint64_t span = hi - lo + 1;
    if (span == 0) { /* the whole 64-bit range */
        return rng_next(r);
    }
    /* The modulo bias is below 2^-40 for the small spans used here, and it
     * is deterministic, which is all the simulator needs. */
    return lo + rng_next(r) % span;
}

int rng_chance(rng_t *r, unsigned percent)
{
    return rng_next(r) % 100 < percent;
}
