/* vwap: session volume-weighted average price (not in TA-Lib; docs/indicators.md).
 *   tp   = (high + low + close) / 3
 *   vwap = sum(tp * volume) / sum(volume), both sums over the bars of the current session
 * The sums restart on the first bar whose atp_bar_in.session differs from the previous bar's.
 * While the session has traded no volume the value is NAN and update returns 0. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

struct vwap_state {
    int32_t started;   /* a bar has been seen (session is meaningful) */
    int64_t session;   /* session of the last bar */
    double sum_pv;     /* sum of tp * volume this session */
    double sum_v;      /* sum of volume this session */
};

static size_t vwap_state_size(const double *params)
{
    (void)params;
    return sizeof(struct vwap_state);
}

static int vwap_init(void *state, const double *params)
{
    (void)state;
    (void)params;
    return 0;
}

static int vwap_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct vwap_state *s = state;
    if (!s->started || bar->session != s->session) {
        s->started = 1;
        s->session = bar->session;
        s->sum_pv = 0.0;
        s->sum_v = 0.0;
    }
    double tp = (bar->high + bar->low + bar->close) / 3.0;
    s->sum_pv += tp * bar->volume;
    s->sum_v += bar->volume;
    if (!(s->sum_v > 0.0)) {
        out[0] = NAN;
        return 0;
    }
    out[0] = s->sum_pv / s->sum_v;
    return 1;
}

static int vwap_lookback(const double *params)
{
    (void)params;
    return 0;
}

const struct atp_indicator_def atp_ind_vwap = {
    .name = "vwap",
    .description = "Volume-weighted average of (H+L+C)/3 since the session start",
    .n_params = 0,
    .n_outputs = 1,
    .outputs = {"value"},
    .state_size = vwap_state_size,
    .init = vwap_init,
    .update = vwap_update,
    .lookback = vwap_lookback,
};
