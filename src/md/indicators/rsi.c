/* rsi: Wilder's relative strength index of the close, as TA-Lib RSI (default compatibility,
 * unstable period 0; ta_RSI.c). The first average gain/loss is the simple average of the first
 * `period` close-to-close changes; later ones are Wilder-smoothed:
 *   avg = (avg * (period-1) + change) / period.
 * RSI = 100 * gain / (gain + loss), and 0 when gain + loss is zero (TA-Lib's zero band). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct rsi_state {
    int32_t period;
    int32_t count; /* closes seen, saturating at period + 1 */
    double prev_close;
    double gain;   /* running sum while seeding, then Wilder average */
    double loss;
};

static size_t rsi_state_size(const double *params)
{
    (void)params;
    return sizeof(struct rsi_state);
}

static int rsi_init(void *state, const double *params)
{
    struct rsi_state *s = state;
    s->period = indk_int(params[0]);
    return 0;
}

static int rsi_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct rsi_state *s = state;
    double x = bar->close;
    out[0] = NAN;
    if (s->count == 0) {
        s->prev_close = x;
        s->count = 1;
        return 0;
    }
    double change = x - s->prev_close;
    s->prev_close = x;
    if (s->count <= s->period) {
        if (change < 0.0)
            s->loss -= change;
        else
            s->gain += change;
        if (s->count++ < s->period)
            return 0;
        s->loss /= (double)s->period;
        s->gain /= (double)s->period;
    } else {
        s->loss *= (double)(s->period - 1);
        s->gain *= (double)(s->period - 1);
        if (change < 0.0)
            s->loss -= change;
        else
            s->gain += change;
        s->loss /= (double)s->period;
        s->gain /= (double)s->period;
    }
    double total = s->gain + s->loss;
    out[0] = indk_is_zero(total) ? 0.0 : 100.0 * (s->gain / total);
    return 1;
}

static int rsi_lookback(const double *params)
{
    return indk_int(params[0]);
}

const struct atp_indicator_def atp_ind_rsi = {
    .name = "rsi",
    .description = "Wilder's relative strength index of the close, 0..100 (TA-Lib RSI)",
    .n_params = 1,
    .params = {
        {"period", ATP_PARAM_INT, 14, 2, 1000, "number of close-to-close changes smoothed"},
    },
    .n_outputs = 1,
    .outputs = {"value"},
    .state_size = rsi_state_size,
    .init = rsi_init,
    .update = rsi_update,
    .lookback = rsi_lookback,
};
