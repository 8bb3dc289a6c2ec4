/* ema: exponential moving average of the close, as TA-Lib EMA (default compatibility): seeded
 * with the simple average of the first `period` closes, then ema += (close - ema) * k with
 * k = 2 / (period + 1) (ta_EMA.c). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct ema_state {
    int32_t period;
    int32_t count; /* closes seen, saturating at period */
    double k;
    double sum;    /* seed accumulator */
    double ema;
};

static size_t ema_state_size(const double *params)
{
    (void)params;
    return sizeof(struct ema_state);
}

static int ema_init(void *state, const double *params)
{
    struct ema_state *s = state;
    s->period = indk_int(params[0]);
    s->k = 2.0 / (double)(s->period + 1);
    return 0;
}

static int ema_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct ema_state *s = state;
    double x = bar->close;
    if (s->count < s->period) {
        s->sum += x;
        if (++s->count < s->period) {
            out[0] = NAN;
            return 0;
        }
        s->ema = s->sum / s->period;
    } else {
        s->ema = (x - s->ema) * s->k + s->ema;
    }
    out[0] = s->ema;
    return 1;
}

static int ema_lookback(const double *params)
{
    return indk_int(params[0]) - 1;
}

const struct atp_indicator_def atp_ind_ema = {
    .name = "ema",
    .description = "Exponential moving average of the close, SMA-seeded (TA-Lib EMA)",
    .n_params = 1,
    .params = {
        {"period", ATP_PARAM_INT, 20, 2, 1000, "number of bars; smoothing k = 2/(period+1)"},
    },
    .n_outputs = 1,
    .outputs = {"value"},
    .state_size = ema_state_size,
    .init = ema_init,
    .update = ema_update,
    .lookback = ema_lookback,
};
