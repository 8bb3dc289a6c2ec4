/* supertrend: ATR trailing-band trend follower (not in TA-Lib; formula in docs/indicators.md).
 *
 *   atr         = Wilder ATR(period) exactly as TA-Lib ATR (first value on bar `period`)
 *   basic_upper = (high + low) / 2 + multiplier * atr
 *   basic_lower = (high + low) / 2 - multiplier * atr
 *   upper = basic_upper if basic_upper < prev_upper or prev_close > prev_upper, else prev_upper
 *   lower = basic_lower if basic_lower > prev_lower or prev_close < prev_lower, else prev_lower
 *   direction: on the first bar with an ATR, -1 (down) and both bands are the basic bands;
 *              afterwards, when down it turns +1 if close > upper, when up it turns -1 if
 *              close < lower, otherwise it stays
 *   value = lower when direction is +1, upper when -1
 * This is the common TradingView ta.supertrend() rule set, with direction +1 = up. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct supertrend_state {
    struct indk_wilder atr;
    double multiplier;
    int32_t have_prev;  /* a previous close exists */
    int32_t have_bands; /* upper/lower/direction hold the previous bar's values */
    int32_t direction;  /* +1 up, -1 down */
    double prev_close;
    double upper, lower; /* final bands of the previous bar */
};

static size_t supertrend_state_size(const double *params)
{
    (void)params;
    return sizeof(struct supertrend_state);
}

static int supertrend_init(void *state, const double *params)
{
    struct supertrend_state *s = state;
    indk_wilder_init(&s->atr, indk_int(params[0]));
    s->multiplier = params[1];
    return 0;
}

static int supertrend_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct supertrend_state *s = state;
    out[0] = out[1] = NAN;
    if (!s->have_prev) {
        s->have_prev = 1;
        s->prev_close = bar->close;
        return 0;
    }
    double prev_close = s->prev_close;
    double atr;
    s->prev_close = bar->close;
    if (!indk_wilder_push(&s->atr, indk_true_range(bar->high, bar->low, prev_close), &atr))
        return 0;

    double hl2 = (bar->high + bar->low) / 2.0;
    double basic_upper = hl2 + s->multiplier * atr;
    double basic_lower = hl2 - s->multiplier * atr;
    if (!s->have_bands) {
        s->have_bands = 1;
        s->upper = basic_upper;
        s->lower = basic_lower;
        s->direction = -1;
    } else {
        if (basic_upper < s->upper || prev_close > s->upper)
            s->upper = basic_upper;
        if (basic_lower > s->lower || prev_close < s->lower)
            s->lower = basic_lower;
        if (s->direction < 0)
            s->direction = bar->close > s->upper ? 1 : -1;
        else
            s->direction = bar->close < s->lower ? -1 : 1;
    }
    out[0] = s->direction > 0 ? s->lower : s->upper;
    out[1] = (double)s->direction;
    return 1;
}

static int supertrend_lookback(const double *params)
{
    return indk_int(params[0]);
}

const struct atp_indicator_def atp_ind_supertrend = {
    .name = "supertrend",
    .description = "Supertrend: ATR trailing band and trend direction (+1 up, -1 down)",
    .n_params = 2,
    .params = {
        {"period", ATP_PARAM_INT, 10, 1, 1000, "Wilder ATR period"},
        {"multiplier", ATP_PARAM_DOUBLE, 3.0, 0.1, 50.0, "band distance from (H+L)/2 in ATRs"},
    },
    .n_outputs = 2,
    .outputs = {"value", "direction"},
    .state_size = supertrend_state_size,
    .init = supertrend_init,
    .update = supertrend_update,
    .lookback = supertrend_lookback,
};
