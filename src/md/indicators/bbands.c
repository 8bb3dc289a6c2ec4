/* bbands: Bollinger bands of the close, as TA-Lib BBANDS with an SMA middle band and
 * nbdevup = nbdevdn = stddev (ta_BBANDS.c):
 *   middle = SMA(period)
 *   sd     = sqrt(mean(close^2) - middle^2)   population standard deviation over the window,
 *                                             0 when that variance is within TA-Lib's zero band
 *   upper  = middle + stddev * sd,  lower = middle - stddev * sd
 * The sum of squares runs like TA-Lib's (add the new square, take the mean, drop the trailing
 * square), so flat windows give exactly the bands TA-Lib gives. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct bbands_state {
    struct indk_sma sma; /* middle band; its ring also feeds the sum of squares */
    double nbdev;
    double total2;       /* sum of squares of the last period-1 closes */
    double ring[];       /* period closes (shared with sma) */
};

static size_t bbands_state_size(const double *params)
{
    return sizeof(struct bbands_state) + (size_t)indk_int(params[0]) * sizeof(double);
}

static int bbands_init(void *state, const double *params)
{
    struct bbands_state *s = state;
    indk_sma_init(&s->sma, indk_int(params[0]));
    s->nbdev = params[1];
    return 0;
}

static int bbands_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct bbands_state *s = state;
    double x = bar->close;
    double middle;
    out[0] = out[1] = out[2] = NAN;
    /* indk_sma_push writes the new close into slot pos; the trailing close (period-1 bars
     * back) is in slot pos+1, which the push leaves alone (period >= 2). */
    int period = s->sma.period;
    int trailing = s->sma.pos + 1 == period ? 0 : s->sma.pos + 1;
    s->total2 += x * x;
    if (!indk_sma_push(&s->sma, s->ring, x, &middle))
        return 0;
    double mean2 = s->total2 / period;
    double old = s->ring[trailing];
    s->total2 -= old * old;
    mean2 -= middle * middle;
    double sd = indk_is_zero_or_neg(mean2) ? 0.0 : sqrt(mean2);
    double dev = sd * s->nbdev;
    out[0] = middle + dev;
    out[1] = middle;
    out[2] = middle - dev;
    return 1;
}

static int bbands_lookback(const double *params)
{
    return indk_int(params[0]) - 1;
}

const struct atp_indicator_def atp_ind_bbands = {
    .name = "bbands",
    .description = "Bollinger bands: SMA of the close +/- k population std devs (TA-Lib BBANDS)",
    .n_params = 2,
    .params = {
        {"period", ATP_PARAM_INT, 20, 2, 1000, "number of bars for the SMA and the deviation"},
        {"stddev", ATP_PARAM_DOUBLE, 2.0, 0.01, 10.0, "band width in standard deviations"},
    },
    .n_outputs = 3,
    .outputs = {"upper", "middle", "lower"},
    .state_size = bbands_state_size,
    .init = bbands_init,
    .update = bbands_update,
    .lookback = bbands_lookback,
};
