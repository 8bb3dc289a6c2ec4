/* atr: Wilder's average true range, as TA-Lib ATR (ta_ATR.c, unstable period 0). The true
 * range needs the previous close, so the first one is for bar 1; the first ATR (bar `period`)
 * is the simple average of the true ranges of bars 1..period, later ones are
 *   atr = (atr * (period-1) + tr) / period. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct atr_state {
    struct indk_wilder avg;
    int32_t have_prev; /* a previous close exists */
    double prev_close;
};

static size_t atr_state_size(const double *params)
{
    (void)params;
    return sizeof(struct atr_state);
}

static int atr_init(void *state, const double *params)
{
    struct atr_state *s = state;
    indk_wilder_init(&s->avg, indk_int(params[0]));
    return 0;
}

static int atr_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct atr_state *s = state;
    out[0] = NAN;
    if (!s->have_prev) {
        s->have_prev = 1;
        s->prev_close = bar->close;
        return 0;
    }
    double tr = indk_true_range(bar->high, bar->low, s->prev_close);
    s->prev_close = bar->close;
    return indk_wilder_push(&s->avg, tr, &out[0]);
}

static int atr_lookback(const double *params)
{
    return indk_int(params[0]);
}

const struct atp_indicator_def atp_ind_atr = {
    .name = "atr",
    .description = "Wilder's average true range (TA-Lib ATR)",
    .n_params = 1,
    .params = {
        {"period", ATP_PARAM_INT, 14, 1, 1000, "number of true ranges smoothed"},
    },
    .n_outputs = 1,
    .outputs = {"value"},
    .state_size = atr_state_size,
    .init = atr_init,
    .update = atr_update,
    .lookback = atr_lookback,
};
