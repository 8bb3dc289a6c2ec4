/* rsi_reversion: mean reversion on Wilder's RSI of the close.
 *
 * On each complete bar of the first timeframe, per instrument:
 *   - RSI < oversold starts a long signal: buy when flat (once per signal);
 *   - the long signal ends when RSI >= exit_level: the long is exited;
 *   - with short = 1, mirror image: RSI > overbought starts a short signal, RSI <= exit_level
 *     ends it (cover).
 * A signal stays on until its exit condition, so a protective stop-out while RSI is still
 * oversold does not re-enter; the next entry needs RSI to revert to exit_level first. */
#include "strategy/builtin/common.h"

enum { P_PERIOD = 0, P_OVERSOLD, P_OVERBOUGHT, P_EXIT, P_SHORT, P_COUNT };

struct rsi_reversion_state {
    double oversold, overbought, exit_level;
    int allow_short;
    struct {
        int rsi;
        struct bi_follow follow;
    } inst[BI_MAX_INST];
};

static const struct bi_follow_text text = {
    .enter_long = "RSI below oversold",
    .enter_short = "RSI above overbought",
    .exit_long = "RSI reverted to the exit level: exit long",
    .exit_short = "RSI reverted to the exit level: cover short",
};

static int rsi_reversion_init(void *state, const double *params, struct atp_ctx *ctx)
{
    struct rsi_reversion_state *s = state;
    s->oversold = params[P_OVERSOLD];
    s->overbought = params[P_OVERBOUGHT];
    s->exit_level = params[P_EXIT];
    s->allow_short = params[P_SHORT] != 0;
    if (!(s->oversold < s->exit_level && s->exit_level < s->overbought)) {
        atp_fail(ctx, "need oversold (%g) < exit_level (%g) < overbought (%g)", s->oversold,
                 s->exit_level, s->overbought);
        return -1;
    }
    static const char *const names[] = {"period"};
    for (int i = 0; i < atp_instrument_count(ctx); i++) {
        s->inst[i].rsi = atp_indicator(ctx, atp_instrument(ctx, i), atp_timeframe(ctx, 0), "rsi",
                                       names, &params[P_PERIOD], 1);
        if (s->inst[i].rsi < 0)
            return -1;
    }
    return 0;
}

static int rsi_reversion_on_bar(void *state, struct atp_ctx *ctx, uint32_t instrument,
                                enum atp_tf tf, const struct atp_bar *bar)
{
    (void)bar;
    struct rsi_reversion_state *s = state;
    int i = bi_inst_index(ctx, instrument);
    double rsi;
    if (i < 0 || !bi_primary_tf(ctx, tf) || !atp_indicator_value(ctx, s->inst[i].rsi, 0, &rsi))
        return 0;
    struct bi_follow *f = &s->inst[i].follow;
    if (rsi < s->oversold)
        bi_follow_signal(f, 1);
    else if (s->allow_short && rsi > s->overbought)
        bi_follow_signal(f, -1);
    else if ((f->regime > 0 && rsi >= s->exit_level) || (f->regime < 0 && rsi <= s->exit_level))
        bi_follow_signal(f, 0);
    bi_follow_act(f, ctx, instrument, &text);
    return 0;
}

const struct atp_strategy_def atp_strategy_rsi_reversion = {
    .name = "rsi_reversion",
    .description = "Buy when RSI is oversold, exit when it reverts to the exit level "
                   "(short = 1: sell overbought too)",
    .n_params = P_COUNT,
    .params = {
        [P_PERIOD] = {"period", ATP_PARAM_INT, 14, 2, 1000, "RSI period (bars)"},
        [P_OVERSOLD] = {"oversold", ATP_PARAM_DOUBLE, 30, 1, 99, "buy below this RSI"},
        [P_OVERBOUGHT] = {"overbought", ATP_PARAM_DOUBLE, 70, 1, 99, "sell short above this RSI"},
        [P_EXIT] = {"exit_level", ATP_PARAM_DOUBLE, 50, 1, 99,
                    "exit a long at or above, a short at or below this RSI"},
        [P_SHORT] = {"short", ATP_PARAM_INT, 0, 0, 1, "1: also sell short when overbought"},
    },
    .state_size = sizeof(struct rsi_reversion_state),
    .init = rsi_reversion_init,
    .on_bar = rsi_reversion_on_bar,
};
