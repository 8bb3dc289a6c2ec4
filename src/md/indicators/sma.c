/* sma: simple moving average of the close, as TA-Lib SMA. */
#include <math.h>
#include <stddef.h>

#include "md/indicators/kit.h"

struct sma_state {
    struct indk_sma sma;
    double ring[]; /* period closes */
};

static size_t sma_state_size(const double *params)
{
    return sizeof(struct sma_state) + (size_t)indk_int(params[0]) * sizeof(double);
}

static int sma_init(void *state, const double *params)
{
    struct sma_state *s = state;
    indk_sma_init(&s->sma, indk_int(params[0]));
    return 0;
}

static int sma_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct sma_state *s = state;
    out[0] = NAN;
    return indk_sma_push(&s->sma, s->ring, bar->close, &out[0]);
}

static int sma_lookback(const double *params)
{
    return indk_int(params[0]) - 1;
}

const struct atp_indicator_def atp_ind_sma = {
    .name = "sma",
    .description = "Simple moving average of the close (TA-Lib SMA)",
    .n_params = 1,
    .params = {
        {"period", ATP_PARAM_INT, 20, 2, 1000, "number of bars averaged"},
    },
    .n_outputs = 1,
    .outputs = {"value"},
    .state_size = sma_state_size,
    .init = sma_init,
    .update = sma_update,
    .lookback = sma_lookback,
};
