/* wma: linearly weighted moving average of the close (weights 1..period, newest heaviest), as
 * TA-Lib WMA. Uses TA-Lib's running sums (ta_WMA.c): period_sum holds sum(w_i * x_i) and
 * period_sub the plain sum, so each bar costs O(1). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct wma_state {
    int32_t period;
    int32_t pos;       /* ring slot for the next close */
    int64_t count;     /* closes seen */
    double period_sum; /* weighted sum carried between bars */
    double period_sub; /* plain sum carried between bars */
    double trailing;   /* close to drop from period_sub at the next bar */
    double ring[];     /* last period closes */
};

static size_t wma_state_size(const double *params)
{
    return sizeof(struct wma_state) + (size_t)indk_int(params[0]) * sizeof(double);
}

static int wma_init(void *state, const double *params)
{
    struct wma_state *s = state;
    s->period = indk_int(params[0]);
    return 0;
}

static int wma_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct wma_state *s = state;
    double x = bar->close;
    int32_t pos = s->pos;
    s->ring[pos] = x;
    s->pos = pos + 1 == s->period ? 0 : pos + 1;
    s->count++;
    if (s->count < s->period) {
        /* Warm-up: weights 1, 2, ... in arrival order. */
        s->period_sub += x;
        s->period_sum += x * (double)s->count;
        out[0] = NAN;
        return 0;
    }
    s->period_sub += x;
    s->period_sub -= s->trailing;
    s->period_sum += x * s->period;
    /* The oldest close of the window (period-1 bars back) leaves period_sub next bar. */
    s->trailing = s->ring[pos + 1 == s->period ? 0 : pos + 1];
    int divider = s->period * (s->period + 1) >> 1;
    out[0] = s->period_sum / divider;
    s->period_sum -= s->period_sub;
    return 1;
}

static int wma_lookback(const double *params)
{
    return indk_int(params[0]) - 1;
}

const struct atp_indicator_def atp_ind_wma = {
    .name = "wma",
    .description = "Linearly weighted moving average of the close (TA-Lib WMA)",
    .n_params = 1,
    .params = {
        {"period", ATP_PARAM_INT, 20, 2, 1000, "number of bars; weights 1..period, newest heaviest"},
    },
    .n_outputs = 1,
    .outputs = {"value"},
    .state_size = wma_state_size,
    .init = wma_init,
    .update = wma_update,
    .lookback = wma_lookback,
};
