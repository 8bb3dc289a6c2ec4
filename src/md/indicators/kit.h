/* md/indicators/kit: small building blocks shared by the indicator files (private to
 * src/md/indicators). "indk" = indicator kit.
 *
 * Everything here works on plain-value structs embedded in an indicator's state; ring buffers
 * live in the state's trailing double array and are passed in by the caller at each call, so no
 * state ever holds a pointer (the host copies states with memcpy for peek).
 *
 * The arithmetic deliberately follows TA-Lib's C source operation by operation (order of
 * additions, where the division happens), so streaming results stay within a few ulps of
 * TA-Lib's batch results instead of merely being "mathematically equal". */
#ifndef ATP_MD_INDICATORS_KIT_H
#define ATP_MD_INDICATORS_KIT_H

#include <math.h>
#include <stdint.h>

#include "atp/indicator.h"

/* TA-Lib's zero band (ta_utility.h TA_IS_ZERO / TA_IS_ZERO_OR_NEG). It decides e.g. RSI = 0
 * when there was neither gain nor loss, or a zero standard deviation in BBANDS. TA-Lib 0.4.0
 * used 1e-8; later TA-Lib (0.6.x, and the WebAssembly build our reference values come from)
 * uses 1e-14, which we follow. The two only differ on near-flat data (see docs/indicators.md). */
#define INDK_TA_EPSILON 0.00000000000001

static inline int indk_is_zero(double v)
{
    return -INDK_TA_EPSILON < v && v < INDK_TA_EPSILON;
}

static inline int indk_is_zero_or_neg(double v)
{
    return v < INDK_TA_EPSILON;
}

/* True range as TA-Lib computes it (ta_TRANGE.c): the greatest of high-low,
 * |prev_close-high| and |prev_close-low|, compared in that order. */
static inline double indk_true_range(double high, double low, double prev_close)
{
    double greatest = high - low;
    double v = fabs(prev_close - high);
    if (v > greatest)
        greatest = v;
    v = fabs(prev_close - low);
    if (v > greatest)
        greatest = v;
    return greatest;
}

/* Running simple moving average with TA-Lib's arithmetic (ta_SMA.c): the total of the last
 * period-1 values, plus the new one, divided by the period; then the trailing value is taken
 * out. The ring (period doubles) belongs to the caller's state. */
struct indk_sma {
    int32_t period;
    int32_t pos;   /* ring slot the next value goes to */
    int64_t count; /* values pushed so far */
    double total;  /* sum of the last period-1 values */
};

static inline void indk_sma_init(struct indk_sma *s, int period)
{
    s->period = period;
    s->pos = 0;
    s->count = 0;
    s->total = 0.0;
}

/* Pushes x; returns 1 and sets *out once period values were seen, else 0 (*out untouched). */
static inline int indk_sma_push(struct indk_sma *s, double *ring, double x, double *out)
{
    int32_t pos = s->pos;
    ring[pos] = x;
    s->pos = pos + 1 == s->period ? 0 : pos + 1;
    s->count++;
    s->total += x;
    if (s->count < s->period)
        return 0;
    /* The value period-1 bars back sits in the slot after the newest one (mod period); for
     * period 1 that is x itself. */
    int32_t trailing = pos + 1 == s->period ? 0 : pos + 1;
    double sum = s->total;
    s->total -= ring[trailing];
    *out = sum / (double)s->period;
    return 1;
}

/* Wilder's running average as TA-Lib's ATR smooths (ta_ATR.c): seeded with the simple
 * average of the first period values, then avg = (avg * (period-1) + x) / period, as three
 * separate operations. */
struct indk_wilder {
    int32_t period;
    int32_t count; /* values seen, saturating at period */
    double sum;    /* seed accumulator */
    double avg;    /* valid once count == period */
};

static inline void indk_wilder_init(struct indk_wilder *w, int period)
{
    w->period = period;
    w->count = 0;
    w->sum = 0.0;
    w->avg = 0.0;
}

/* Pushes x; returns 1 and sets *out once period values were seen. */
static inline int indk_wilder_push(struct indk_wilder *w, double x, double *out)
{
    if (w->count < w->period) {
        w->sum += x;
        if (++w->count < w->period)
            return 0;
        w->avg = w->sum / w->period;
    } else {
        w->avg *= w->period - 1;
        w->avg += x;
        w->avg /= w->period;
    }
    *out = w->avg;
    return 1;
}

/* Integer value of a validated parameter (ind_resolve_params guarantees an exact integer). */
static inline int indk_int(double v)
{
    return (int)v;
}

#endif
