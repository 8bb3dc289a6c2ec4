/* core/rng: xoshiro256** seeded by splitmix64. The expected outputs below were computed with an
 * independent implementation of the reference C code (prng.di.unimi.it/xoshiro256starstar.c and
 * splitmix64.c) and cross-checked against its published vector for state {1, 2, 3, 4}. */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "core/rng.h"

Test(rng, reference_vector_from_state_1_2_3_4)
{
    static const uint64_t want[] = {11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL,
                                    1216172134540287360ULL, 607988272756665600ULL};
    struct rng r;
    memset(&r, 0, sizeof r);
    r.s[0] = 1;
    r.s[1] = 2;
    r.s[2] = 3;
    r.s[3] = 4;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint64_t x = rng_u64(&r);
        cr_expect_eq(x, want[i], "output %zu: %llu, want %llu", i, (unsigned long long)x,
                     (unsigned long long)want[i]);
    }
}

Test(rng, splitmix64_seeding)
{
    struct rng r;
    rng_seed(&r, 0);
    /* splitmix64 from 0: the first output is the well-known 0xe220a8397b1dcdaf. */
    cr_assert_eq(r.s[0], 0xe220a8397b1dcdafULL);
    cr_assert_eq(r.s[1], 0x6e789e6aa1b965f4ULL);
    cr_assert_eq(r.s[2], 0x06c45d188009454fULL);
    cr_assert_eq(r.s[3], 0xf88bb8a8724c81ecULL);
    cr_assert_eq(r.has_spare, 0);
}

Test(rng, known_first_outputs_per_seed)
{
    static const struct {
        uint64_t seed;
        uint64_t out[5];
    } cases[] = {
        {0, {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL,
             0x6aa594f1262d2d2cULL, 0xbba5ad4a1f842e59ULL}},
        {42, {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL, 0xae17533239e499a1ULL,
              0xecb8ad4703b360a1ULL, 0xfde6dc7fe2ec5e64ULL}},
        {20260105, {0x58a79bb5b219519aULL, 0x1dae4de1ece1e367ULL, 0x3abfca3cf524e248ULL,
                    0xcb7788dbec2af063ULL, 0xc0906aa77b9896ccULL}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct rng r;
        rng_seed(&r, cases[c].seed);
        for (int i = 0; i < 5; i++) {
            uint64_t x = rng_u64(&r);
            cr_expect_eq(x, cases[c].out[i], "seed %llu output %d: 0x%016llx",
                         (unsigned long long)cases[c].seed, i, (unsigned long long)x);
        }
    }
}

Test(rng, same_seed_same_stream_different_seed_different_stream)
{
    struct rng a, b, c;
    rng_seed(&a, 7);
    rng_seed(&b, 7);
    rng_seed(&c, 8);
    int differ = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t x = rng_u64(&a), y = rng_u64(&b), z = rng_u64(&c);
        cr_assert_eq(x, y, "draw %d", i);
        differ += x != z;
    }
    cr_assert_gt(differ, 9990);

    /* Mixed calls replay identically too, including the cached normal. */
    rng_seed(&a, 99);
    rng_seed(&b, 99);
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(rng_below(&a, 1000), rng_below(&b, 1000));
        cr_assert(rng_normal(&a) == rng_normal(&b));
        cr_assert(rng_exponential(&a, 3.0) == rng_exponential(&b, 3.0));
    }
}

Test(rng, reseed_discards_cached_normal)
{
    struct rng a, b;
    rng_seed(&a, 5);
    double first = rng_normal(&a); /* leaves a spare */
    cr_assert_eq(a.has_spare, 1);
    rng_seed(&a, 5);
    cr_assert_eq(a.has_spare, 0);
    cr_assert(rng_normal(&a) == first);
    rng_seed(&b, 5);
    rng_normal(&b);
    double spare = rng_normal(&b);
    cr_assert(spare == a.spare);
}

Test(rng, uniform_in_unit_interval)
{
    struct rng r;
    rng_seed(&r, 42);
    cr_assert(rng_uniform(&r) == 0x1.5780b2e0c2ec0p-4); /* top 53 bits of the first output */
    double sum = 0, lo = 1, hi = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = rng_uniform(&r);
        cr_assert(u >= 0.0 && u < 1.0, "draw %d = %.17g", i, u);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    /* mean 1/2, sd of the mean sqrt(1/12/n) ~ 0.00065: allow 5 sd */
    cr_assert(fabs(sum / n - 0.5) < 0.0033, "mean %.6f", sum / n);
    cr_assert(lo < 1e-3 && hi > 1 - 1e-3);
}

/* Pearson chi-square of n draws of rng_below(k) against the uniform law. */
static double chi_square_below(struct rng *r, uint64_t k, int n)
{
    long counts[64] = {0};
    cr_assert(k <= 64);
    for (int i = 0; i < n; i++) {
        uint64_t x = rng_below(r, k);
        cr_assert(x < k, "rng_below(%llu) = %llu", (unsigned long long)k, (unsigned long long)x);
        counts[x]++;
    }
    double expect = (double)n / (double)k, chi = 0;
    for (uint64_t i = 0; i < k; i++)
        chi += ((double)counts[i] - expect) * ((double)counts[i] - expect) / expect;
    return chi;
}

Test(rng, below_bounds_and_uniformity)
{
    struct rng r;
    rng_seed(&r, 2026);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(rng_below(&r, 1), 0);

    /* Generous bounds: roughly the 1e-6 tail of chi-square with k-1 degrees of freedom. */
    static const struct {
        uint64_t k;
        double bound;
    } cases[] = {{2, 24}, {3, 28}, {6, 37}, {7, 39}, {10, 44}, {37, 96}, {64, 130}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double chi = chi_square_below(&r, cases[c].k, 100000);
        cr_expect_lt(chi, cases[c].bound, "rng_below(%llu): chi-square %.2f",
                     (unsigned long long)cases[c].k, chi);
    }

    /* Huge bounds: results stay below n, and a bound just over 2^63 (where rejection matters
     * most) still splits evenly around 2^62. */
    uint64_t big = (1ULL << 63) + 1;
    int upper = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t x = rng_below(&r, big);
        cr_assert_lt(x, big);
        upper += x >= big / 2;
        cr_assert_lt(rng_below(&r, UINT64_MAX), UINT64_MAX);
        cr_assert_lt(rng_below(&r, 1000000007ULL), 1000000007ULL);
    }
    cr_expect(upper > 9500 && upper < 10500, "upper half drawn %d of 20000", upper);
}

Test(rng, normal_moments)
{
    struct rng r;
    rng_seed(&r, 12345);
    const int n = 200000;
    double sum = 0, sumsq = 0;
    int within1 = 0;
    for (int i = 0; i < n; i++) {
        double z = rng_normal(&r);
        cr_assert(isfinite(z));
        sum += z;
        sumsq += z * z;
        within1 += fabs(z) < 1.0;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    /* sd of the mean 1/sqrt(n) ~ 0.0022; sd of the variance sqrt(2/n) ~ 0.0032: 5 sd each. */
    cr_expect(fabs(mean) < 0.011, "mean %.5f", mean);
    cr_expect(fabs(var - 1.0) < 0.016, "variance %.5f", var);
    /* P(|Z| < 1) = 0.6827, sd sqrt(p(1-p)/n) ~ 0.001 */
    cr_expect(fabs((double)within1 / n - 0.6827) < 0.005, "P(|z|<1) = %.4f",
              (double)within1 / n);
}

Test(rng, exponential_mean)
{
    static const double rates[] = {0.5, 2.0, 10.0};
    struct rng r;
    rng_seed(&r, 777);
    const int n = 200000;
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        double sum = 0, sumsq = 0;
        for (int i = 0; i < n; i++) {
            double x = rng_exponential(&r, rates[k]);
            cr_assert(x >= 0.0 && isfinite(x), "draw %.17g", x);
            sum += x;
            sumsq += x * x;
        }
        double mean = sum / n, want = 1.0 / rates[k];
        double var = sumsq / n - mean * mean;
        /* sd of the mean is want/sqrt(n): 5 sd. Variance of Exp(rate) is 1/rate^2. */
        cr_expect(fabs(mean - want) < 5 * want / sqrt(n), "rate %g: mean %.6f, want %.6f",
                  rates[k], mean, want);
        cr_expect(fabs(var / (want * want) - 1.0) < 0.05, "rate %g: variance ratio %.4f",
                  rates[k], var / (want * want));
    }
}
