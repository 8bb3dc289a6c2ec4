/* adx: Wilder's average directional index, as TA-Lib ADX, with the directional indicators of
 * TA-Lib PLUS_DI / MINUS_DI as extra outputs (ta_ADX.c, ta_PLUS_DI.c, ta_MINUS_DI.c; unstable
 * period 0).
 *
 * Per bar (from bar 1): up = high - prev_high, down = prev_low - low;
 *   +DM1 = up   when up > 0 and up > down,   else 0
 *   -DM1 = down when down > 0 and down > up, else 0
 *   TR1  = true range
 * +DM, -DM and TR are summed over bars 1..period-1, then Wilder-smoothed from bar `period` on:
 *   S = S - S/period + x1.
 * +DI = 100 * +DM / TR, -DI = 100 * -DM / TR (0 when TR is in TA-Lib's zero band), valid from
 * bar `period`. DX = 100 * |(-DI) - (+DI)| / ((-DI) + (+DI)). The first ADX (bar 2*period-1) is
 * the sum of the DX of bars period..2*period-1 divided by period; later
 *   ADX = (ADX * (period-1) + DX) / period.
 * A DX that cannot be computed (zero TR or zero DI sum) adds nothing to the first sum and leaves
 * a later ADX unchanged, as in TA-Lib. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct adx_state {
    int32_t period;
    int64_t count; /* bars seen */
    double prev_high, prev_low, prev_close;
    double plus_dm, minus_dm, tr; /* sums, then Wilder-smoothed */
    double sum_dx;                /* DX total while seeding the ADX */
    double adx;
};

static size_t adx_state_size(const double *params)
{
    (void)params;
    return sizeof(struct adx_state);
}

static int adx_init(void *state, const double *params)
{
    struct adx_state *s = state;
    s->period = indk_int(params[0]);
    return 0;
}

static int adx_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct adx_state *s = state;
    int64_t n = s->count++;
    int32_t p = s->period;
    out[0] = out[1] = out[2] = NAN;
    if (n == 0) {
        s->prev_high = bar->high;
        s->prev_low = bar->low;
        s->prev_close = bar->close;
        return 0;
    }
    double diff_p = bar->high - s->prev_high;
    double diff_m = s->prev_low - bar->low;
    s->prev_high = bar->high;
    s->prev_low = bar->low;
    double tr = indk_true_range(bar->high, bar->low, s->prev_close);
    s->prev_close = bar->close;
    if (n < p) {
        if (diff_m > 0 && diff_p < diff_m)
            s->minus_dm += diff_m;
        else if (diff_p > 0 && diff_p > diff_m)
            s->plus_dm += diff_p;
        s->tr += tr;
        return 0;
    }
    s->minus_dm -= s->minus_dm / p;
    s->plus_dm -= s->plus_dm / p;
    if (diff_m > 0 && diff_p < diff_m)
        s->minus_dm += diff_m;
    else if (diff_p > 0 && diff_p > diff_m)
        s->plus_dm += diff_p;
    s->tr = s->tr - s->tr / p + tr;

    double dx = 0.0;
    int have_dx = 0;
    if (!indk_is_zero(s->tr)) {
        double minus_di = 100.0 * (s->minus_dm / s->tr);
        double plus_di = 100.0 * (s->plus_dm / s->tr);
        out[1] = plus_di;
        out[2] = minus_di;
        double di_sum = minus_di + plus_di;
        if (!indk_is_zero(di_sum)) {
            dx = 100.0 * (fabs(minus_di - plus_di) / di_sum);
            have_dx = 1;
        }
    } else {
        out[1] = 0.0;
        out[2] = 0.0;
    }
    if (n < 2 * (int64_t)p - 1) {
        if (have_dx)
            s->sum_dx += dx;
        return 0;
    }
    if (n == 2 * (int64_t)p - 1) {
        if (have_dx)
            s->sum_dx += dx;
        s->adx = s->sum_dx / p;
    } else if (have_dx) {
        s->adx = (s->adx * (p - 1) + dx) / p;
    }
    out[0] = s->adx;
    return 1;
}

static int adx_lookback(const double *params)
{
    return 2 * indk_int(params[0]) - 1;
}

const struct atp_indicator_def atp_ind_adx = {
    .name = "adx",
    .description = "Wilder's ADX with +DI/-DI (TA-Lib ADX, PLUS_DI, MINUS_DI)",
    .n_params = 1,
    .params = {
        {"period", ATP_PARAM_INT, 14, 2, 1000, "Wilder smoothing period of DM, TR and DX"},
    },
    .n_outputs = 3,
    .outputs = {"value", "plus_di", "minus_di"},
    .state_size = adx_state_size,
    .init = adx_init,
    .update = adx_update,
    .lookback = adx_lookback,
};
