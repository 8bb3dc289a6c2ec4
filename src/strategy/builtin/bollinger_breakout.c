/* bollinger_breakout: volatility breakout on Bollinger bands of the close (TA-Lib BBANDS, SMA
 * middle band).
 *
 * On each complete bar of the first timeframe, per instrument, with the bands of that bar:
 *   - close > upper band starts a long signal: buy when flat (once per signal);
 *   - the long signal ends when the close falls below the middle band: the long is exited;
 *   - with short = 1, mirror image: close < lower band starts a short signal, a close above the
 *     middle band ends it (cover).
 * A close beyond the opposite band while positioned reverses the signal directly (long-only: a
 * close below the lower band is also below the middle, so it exits). */
#include "strategy/builtin/common.h"

enum { P_PERIOD = 0, P_STDDEV, P_SHORT, P_COUNT };

struct bollinger_breakout_state {
    int allow_short;
    struct {
        int bands;
        struct bi_follow follow;
    } inst[BI_MAX_INST];
};

static const struct bi_follow_text text = {
    .enter_long = "close broke above the upper Bollinger band",
    .enter_short = "close broke below the lower Bollinger band",
    .exit_long = "close fell below the middle band: exit long",
    .exit_short = "close rose above the middle band: cover short",
};

static int bollinger_breakout_init(void *state, const double *params, struct atp_ctx *ctx)
{
    struct bollinger_breakout_state *s = state;
    s->allow_short = params[P_SHORT] != 0;
    static const char *const names[] = {"period", "stddev"};
    for (int i = 0; i < atp_instrument_count(ctx); i++) {
        s->inst[i].bands = atp_indicator(ctx, atp_instrument(ctx, i), atp_timeframe(ctx, 0),
                                         "bbands", names, &params[P_PERIOD], 2);
        if (s->inst[i].bands < 0)
            return -1;
    }
    return 0;
}

static int bollinger_breakout_on_bar(void *state, struct atp_ctx *ctx, uint32_t instrument,
                                     enum atp_tf tf, const struct atp_bar *bar)
{
    struct bollinger_breakout_state *s = state;
    int i = bi_inst_index(ctx, instrument);
    double b[ATP_IND_MAX_OUTPUTS]; /* upper, middle, lower */
    if (i < 0 || !bi_primary_tf(ctx, tf) || !atp_indicator_value(ctx, s->inst[i].bands, 0, b))
        return 0;
    double close = atp_px_to_double(bar->close);
    struct bi_follow *f = &s->inst[i].follow;
    if (close > b[0])
        bi_follow_signal(f, 1);
    else if (close < b[2])
        bi_follow_signal(f, s->allow_short ? -1 : 0);
    else if ((f->regime > 0 && close < b[1]) || (f->regime < 0 && close > b[1]))
        bi_follow_signal(f, 0);
    bi_follow_act(f, ctx, instrument, &text);
    return 0;
}

const struct atp_strategy_def atp_strategy_bollinger_breakout = {
    .name = "bollinger_breakout",
    .description = "Buy a close above the upper Bollinger band, exit below the middle band "
                   "(short = 1: the mirror image too)",
    .n_params = P_COUNT,
    .params = {
        [P_PERIOD] = {"period", ATP_PARAM_INT, 20, 2, 1000, "bands period (bars)"},
        [P_STDDEV] = {"stddev", ATP_PARAM_DOUBLE, 2.0, 0.1, 10.0, "band width in standard deviations"},
        [P_SHORT] = {"short", ATP_PARAM_INT, 0, 0, 1, "1: also sell short below the lower band"},
    },
    .state_size = sizeof(struct bollinger_breakout_state),
    .init = bollinger_breakout_init,
    .on_bar = bollinger_breakout_on_bar,
};
