/* ema_crossover: trend following on two exponential moving averages of the close (TA-Lib EMA:
 * seeded with the SMA of the first `period` closes).
 *
 * On each complete bar of the first timeframe, per instrument: when the fast EMA crosses above
 * the slow EMA (the crossover rule of common.h / docs/strategies.md) and the strategy is flat it
 * buys; a cross below exits the long. With short = 1 the mirror image also trades: a cross below
 * sells short when flat (after exiting a long: stop-and-reverse), a cross above covers. */
#include "strategy/builtin/common.h"

static const struct bi_follow_text text = {
    .enter_long = "fast EMA crossed above slow EMA",
    .enter_short = "fast EMA crossed below slow EMA",
    .exit_long = "fast EMA crossed below slow EMA: exit long",
    .exit_short = "fast EMA crossed above slow EMA: cover short",
};

static int ema_crossover_init(void *state, const double *params, struct atp_ctx *ctx)
{
    return bi_xover_init(state, params, ctx, "ema");
}

static int ema_crossover_on_bar(void *state, struct atp_ctx *ctx, uint32_t instrument,
                                enum atp_tf tf, const struct atp_bar *bar)
{
    (void)bar;
    return bi_xover_on_bar(state, ctx, instrument, tf, &text);
}

const struct atp_strategy_def atp_strategy_ema_crossover = {
    .name = "ema_crossover",
    .description = "Buy when the fast EMA crosses above the slow EMA, exit on the cross below "
                   "(short = 1: the mirror image too)",
    .n_params = BI_XOVER_NPARAMS,
    .params = {
        [BI_XOVER_FAST] = {"fast", ATP_PARAM_INT, 9, 2, 500, "fast EMA period (bars), below slow"},
        [BI_XOVER_SLOW] = {"slow", ATP_PARAM_INT, 21, 3, 1000, "slow EMA period (bars)"},
        [BI_XOVER_SHORT] = {"short", ATP_PARAM_INT, 0, 0, 1, "1: also sell short on a cross below"},
    },
    .state_size = sizeof(struct bi_xover_state),
    .init = ema_crossover_init,
    .on_bar = ema_crossover_on_bar,
};
