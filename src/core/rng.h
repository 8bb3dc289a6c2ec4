/* core/rng: a small deterministic random generator (xoshiro256** seeded by splitmix64, Blackman
 * and Vigna) so the simulator and tests give byte-identical output for a seed on every machine.
 * A value type: each user owns its own state; not thread-safe across users of one state. */
#ifndef ATP_CORE_RNG_H
#define ATP_CORE_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
    int has_spare;  /* the polar method produces normals in pairs */
    double spare;
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_u64(struct rng *r);
/* Uniform in [0, 1). */
double rng_uniform(struct rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Standard normal N(0, 1) (Marsaglia polar method). */
double rng_normal(struct rng *r);
/* Exponential with the given rate (> 0): the gap between Poisson arrivals. */
double rng_exponential(struct rng *r, double rate);

#endif
