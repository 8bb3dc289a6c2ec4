/* supertrend_follow: trend following on the Supertrend direction (ATR bands; docs/indicators.md).
 *
 * On each complete bar of the first timeframe, per instrument: when the Supertrend direction
 * turns up (-1 -> +1) it buys when flat; when it turns down it exits the long, and with
 * short = 1 sells short (stop-and-reverse). The first bar with a Supertrend value only records
 * the direction: a trend already running when the strategy starts is not chased. */
#include "strategy/builtin/common.h"

enum { P_PERIOD = 0, P_MULTIPLIER, P_SHORT, P_COUNT };

struct supertrend_follow_state {
    int allow_short;
    struct {
        int st;
        int8_t last_dir; /* direction on the previous valid bar, 0 before any */
        struct bi_follow follow;
    } inst[BI_MAX_INST];
};

static const struct bi_follow_text text = {
    .enter_long = "Supertrend turned up",
    .enter_short = "Supertrend turned down",
    .exit_long = "Supertrend turned down: exit long",
    .exit_short = "Supertrend turned up: cover short",
};

static int supertrend_follow_init(void *state, const double *params, struct atp_ctx *ctx)
{
    struct supertrend_follow_state *s = state;
    s->allow_short = params[P_SHORT] != 0;
    static const char *const names[] = {"period", "multiplier"};
    for (int i = 0; i < atp_instrument_count(ctx); i++) {
        s->inst[i].st = atp_indicator(ctx, atp_instrument(ctx, i), atp_timeframe(ctx, 0),
                                      "supertrend", names, &params[P_PERIOD], 2);
        if (s->inst[i].st < 0)
            return -1;
    }
    return 0;
}

static int supertrend_follow_on_bar(void *state, struct atp_ctx *ctx, uint32_t instrument,
                                    enum atp_tf tf, const struct atp_bar *bar)
{
    (void)bar;
    struct supertrend_follow_state *s = state;
    int i = bi_inst_index(ctx, instrument);
    double v[ATP_IND_MAX_OUTPUTS]; /* value, direction */
    if (i < 0 || !bi_primary_tf(ctx, tf) || !atp_indicator_value(ctx, s->inst[i].st, 0, v))
        return 0;
    int dir = v[1] > 0 ? 1 : -1;
    int last = s->inst[i].last_dir;
    s->inst[i].last_dir = (int8_t)dir;
    struct bi_follow *f = &s->inst[i].follow;
    if (last != 0 && dir != last)
        bi_follow_signal(f, dir > 0 ? 1 : s->allow_short ? -1 : 0);
    bi_follow_act(f, ctx, instrument, &text);
    return 0;
}

const struct atp_strategy_def atp_strategy_supertrend_follow = {
    .name = "supertrend_follow",
    .description = "Buy when the Supertrend turns up, exit when it turns down "
                   "(short = 1: sell short on the turn down)",
    .n_params = P_COUNT,
    .params = {
        [P_PERIOD] = {"period", ATP_PARAM_INT, 10, 1, 1000, "ATR period (bars)"},
        [P_MULTIPLIER] = {"multiplier", ATP_PARAM_DOUBLE, 3.0, 0.1, 50.0, "band distance in ATRs"},
        [P_SHORT] = {"short", ATP_PARAM_INT, 0, 0, 1, "1: also sell short on the turn down"},
    },
    .state_size = sizeof(struct supertrend_follow_state),
    .init = supertrend_follow_init,
    .on_bar = supertrend_follow_on_bar,
};
