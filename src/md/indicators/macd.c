/* macd: moving average convergence/divergence of the close, as TA-Lib MACD (ta_MACD.c,
 * default compatibility).
 *
 *   macd   = EMA(fast) - EMA(slow)
 *   signal = EMA(signal) of macd
 *   hist   = macd - signal
 *
 * TA-Lib aligns both price EMAs so they start on the same bar: the slow EMA is seeded with the
 * SMA of closes 0..slow-1 and the fast EMA with the SMA of the `fast` closes ENDING on the same
 * bar slow-1 (closes slow-fast..slow-1), not of closes 0..fast-1. The signal EMA is seeded with
 * the SMA of the first `signal` macd values. Every output stays NAN until the signal line
 * exists (lookback (slow-1) + (signal-1)), as TA-Lib emits nothing earlier. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct macd_state {
    int32_t fast, slow, signal;
    int32_t n_macd;   /* macd values produced, saturating at signal */
    int64_t count;    /* closes seen */
    double k_fast, k_slow, k_signal;
    double ema_fast;  /* seed sum until bar slow-1, then the EMA */
    double ema_slow;
    double sig;       /* seed sum of macd values, then the signal EMA */
};

static size_t macd_state_size(const double *params)
{
    (void)params;
    return sizeof(struct macd_state);
}

static int macd_init(void *state, const double *params)
{
    struct macd_state *s = state;
    s->fast = indk_int(params[0]);
    s->slow = indk_int(params[1]);
    s->signal = indk_int(params[2]);
    if (s->fast >= s->slow)
        return -1;
    s->k_fast = 2.0 / (double)(s->fast + 1);
    s->k_slow = 2.0 / (double)(s->slow + 1);
    s->k_signal = 2.0 / (double)(s->signal + 1);
    return 0;
}

static int macd_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct macd_state *s = state;
    double x = bar->close;
    out[0] = out[1] = out[2] = NAN;
    int64_t i = s->count++;
    double macd;
    if (i < s->slow) {
        /* Seeding both EMAs; the fast window is the tail of the slow one. */
        s->ema_slow += x;
        if (i >= s->slow - s->fast)
            s->ema_fast += x;
        if (i < s->slow - 1)
            return 0;
        s->ema_slow = s->ema_slow / s->slow;
        s->ema_fast = s->ema_fast / s->fast;
    } else {
        s->ema_fast = (x - s->ema_fast) * s->k_fast + s->ema_fast;
        s->ema_slow = (x - s->ema_slow) * s->k_slow + s->ema_slow;
    }
    macd = s->ema_fast - s->ema_slow;
    if (s->n_macd < s->signal) {
        s->sig += macd;
        if (++s->n_macd < s->signal)
            return 0;
        s->sig = s->sig / s->signal;
    } else {
        s->sig = (macd - s->sig) * s->k_signal + s->sig;
    }
    out[0] = macd;
    out[1] = s->sig;
    out[2] = macd - s->sig;
    return 1;
}

static int macd_lookback(const double *params)
{
    return (indk_int(params[1]) - 1) + (indk_int(params[2]) - 1);
}

const struct atp_indicator_def atp_ind_macd = {
    .name = "macd",
    .description = "MACD line, signal line and histogram of the close; fast < slow (TA-Lib MACD)",
    .n_params = 3,
    .params = {
        {"fast", ATP_PARAM_INT, 12, 2, 1000, "fast EMA period (must be below slow)"},
        {"slow", ATP_PARAM_INT, 26, 2, 1000, "slow EMA period"},
        {"signal", ATP_PARAM_INT, 9, 2, 1000, "EMA period of the signal line"},
    },
    .n_outputs = 3,
    .outputs = {"macd", "signal", "hist"},
    .state_size = macd_state_size,
    .init = macd_init,
    .update = macd_update,
    .lookback = macd_lookback,
};
