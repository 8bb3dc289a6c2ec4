/* opening_range_breakout: trade the break of the day's opening range, square off intraday.
 *
 * Per instrument and IST trading day, on complete bars of the first timeframe:
 *   - the opening range is the high and low of the bars starting in [09:15, 09:15 + range_minutes)
 *     IST (range_minutes must be a multiple of the timeframe); it is complete with the bar ending
 *     at 09:15 + range_minutes (or, after a gap, the first bar starting at or after it);
 *   - after that, the first bar that closes above the range high buys (ENTRY_LONG); with
 *     short = 1, a close below the range low sells short. One breakout trade per day;
 *   - the protective stop is at the other side of the range (stop_pct = 0) or stop_pct from the
 *     entry; the target is target_mult x the range height from the entry (0: the risk
 *     configuration's take-profit). The intent carries them as fractions of the breakout bar's
 *     close, the price the entry is decided at (a zero-height range has no target of its own and
 *     falls back to the risk configuration);
 *   - at square_off (HHMM IST) any position is closed and no entry is taken: on the first bar
 *     ending at or after it, a tick at or after it, or the timer set at entry. A position still
 *     open on a later day (a missed square-off) is closed on that day's first event. */
#include "strategy/builtin/common.h"

enum { P_RANGE = 0, P_STOP, P_TARGET, P_SQUARE_OFF, P_SHORT, P_COUNT };

struct orb_inst {
    int64_t day;       /* IST day + 1 of the range below; 0 = none */
    int64_t entry_day; /* IST day + 1 of the last entry; 0 = none */
    atp_px high, low;
    int32_t range_bars; /* bars folded into the range */
    int8_t range_done;
    int8_t traded;
};

struct orb_state {
    int64_t range_end_ns, square_off_ns; /* since IST midnight */
    double stop_pct, target_mult;
    int allow_short;
    struct orb_inst inst[BI_MAX_INST];
};

static int orb_init(void *state, const double *params, struct atp_ctx *ctx)
{
    struct orb_state *s = state;
    enum atp_tf tf = atp_timeframe(ctx, 0);
    int range = (int)params[P_RANGE];
    int square_off = bi_hhmm_minutes((int)params[P_SQUARE_OFF]);
    if (tf == ATP_TF_1D) {
        atp_fail(ctx, "opening_range_breakout needs an intraday first timeframe, not 1d");
        return -1;
    }
    if (range % bi_tf_minutes(tf) != 0) {
        atp_fail(ctx, "range_minutes %d is not a multiple of the %d-minute timeframe", range,
                 bi_tf_minutes(tf));
        return -1;
    }
    if (square_off < 0) {
        atp_fail(ctx, "square_off %d is not an HHMM time of day", (int)params[P_SQUARE_OFF]);
        return -1;
    }
    if (square_off <= BI_SESSION_OPEN_MIN + range) {
        atp_fail(ctx, "square_off %d must be after the opening range ends (09:15 + %d minutes)",
                 (int)params[P_SQUARE_OFF], range);
        return -1;
    }
    s->range_end_ns = (BI_SESSION_OPEN_MIN + range) * BI_NS_PER_MIN;
    s->square_off_ns = square_off * BI_NS_PER_MIN;
    s->stop_pct = params[P_STOP];
    s->target_mult = params[P_TARGET];
    s->allow_short = params[P_SHORT] != 0;
    return 0;
}

/* Closes the instrument's position when it is square-off time at t or the position is from an
 * earlier day. Returns 1 when the position (or an open order) means no entry may follow. */
static int close_if_due(struct orb_state *s, struct atp_ctx *ctx, int i, int64_t t)
{
    uint32_t in = atp_instrument(ctx, i);
    if (atp_open_orders(ctx, in) > 0)
        return 1;
    struct atp_position pos;
    atp_position(ctx, in, &pos);
    if (pos.qty == 0)
        return 0;
    int late = bi_ist_time_of_day(t) >= s->square_off_ns;
    if (late || s->inst[i].entry_day != bi_ist_day(t) + 1)
        bi_market(ctx, in, pos.qty > 0 ? ATP_EXIT_LONG : ATP_EXIT_SHORT, 0,
                  late ? "opening range breakout: square-off time"
                       : "opening range breakout: position left from an earlier day");
    return 1;
}

static void enter(struct orb_state *s, struct atp_ctx *ctx, int i, int dir, atp_px close_px,
                  int64_t t)
{
    struct orb_inst *o = &s->inst[i];
    double close = atp_px_to_double(close_px), high = atp_px_to_double(o->high),
           low = atp_px_to_double(o->low);
    struct atp_order_intent oi = {
        .instrument = atp_instrument(ctx, i),
        .intent = dir > 0 ? ATP_ENTRY_LONG : ATP_ENTRY_SHORT,
        .kind = ATP_MARKET,
        .stop_loss_pct = s->stop_pct > 0 ? s->stop_pct
                         : dir > 0       ? (close - low) / close
                                         : (high - close) / close,
        .take_profit_pct = s->target_mult > 0 ? s->target_mult * (high - low) / close : 0,
        .reason = dir > 0 ? "close broke above the opening range" : "close broke below the opening range",
    };
    o->traded = 1; /* also when denied: one breakout per day */
    o->entry_day = bi_ist_day(t) + 1;
    atp_order(ctx, &oi);
    atp_set_timer(ctx, t - bi_ist_time_of_day(t) + s->square_off_ns);
}

static int orb_on_bar(void *state, struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf,
                      const struct atp_bar *bar)
{
    struct orb_state *s = state;
    int i = bi_inst_index(ctx, instrument);
    if (i < 0 || !bi_primary_tf(ctx, tf))
        return 0;
    struct orb_inst *o = &s->inst[i];
    int64_t day = bi_ist_day(bar->start_ns) + 1;
    int64_t start = bi_ist_time_of_day(bar->start_ns);
    int64_t end_t = bi_bar_end(tf, bar->start_ns);
    if (o->day != day) {
        o->day = day;
        o->range_bars = 0;
        o->range_done = 0;
        o->traded = 0;
    }
    if (start >= (int64_t)BI_SESSION_OPEN_MIN * BI_NS_PER_MIN && start < s->range_end_ns) {
        if (o->range_bars == 0 || bar->high > o->high)
            o->high = bar->high;
        if (o->range_bars == 0 || bar->low < o->low)
            o->low = bar->low;
        o->range_bars++;
        if (bi_ist_time_of_day(end_t) >= s->range_end_ns)
            o->range_done = 1;
        close_if_due(s, ctx, i, end_t); /* only a position from an earlier day */
        return 0;
    }
    if (start >= s->range_end_ns && o->range_bars > 0)
        o->range_done = 1;
    if (close_if_due(s, ctx, i, end_t) || bi_ist_time_of_day(end_t) >= s->square_off_ns)
        return 0;
    if (!o->range_done || o->traded)
        return 0;
    if (bar->close > o->high)
        enter(s, ctx, i, 1, bar->close, end_t);
    else if (s->allow_short && bar->close < o->low)
        enter(s, ctx, i, -1, bar->close, end_t);
    return 0;
}

static int orb_on_tick(void *state, struct atp_ctx *ctx, const struct atp_tick *tick)
{
    struct orb_state *s = state;
    int i = bi_inst_index(ctx, tick->instrument);
    if (i >= 0 && bi_ist_time_of_day(tick->ts_ns) >= s->square_off_ns)
        close_if_due(s, ctx, i, tick->ts_ns);
    return 0;
}

static int orb_on_timer(void *state, struct atp_ctx *ctx, int64_t now_ns)
{
    for (int i = 0; i < atp_instrument_count(ctx); i++)
        close_if_due(state, ctx, i, now_ns);
    return 0;
}

const struct atp_strategy_def atp_strategy_opening_range_breakout = {
    .name = "opening_range_breakout",
    .description = "Trade the first close beyond the opening range (first N minutes), stop at the "
                   "other side, target a multiple of the range, square off intraday",
    .n_params = P_COUNT,
    .params = {
        [P_RANGE] = {"range_minutes", ATP_PARAM_INT, 15, 1, 360,
                     "opening range length from 09:15 IST (a multiple of the timeframe)"},
        [P_STOP] = {"stop_pct", ATP_PARAM_DOUBLE, 0, 0, 0.5,
                    "stop as a fraction of the entry; 0 = the other side of the range"},
        [P_TARGET] = {"target_mult", ATP_PARAM_DOUBLE, 2, 0, 50,
                      "target distance in range heights; 0 = the risk configuration's"},
        [P_SQUARE_OFF] = {"square_off", ATP_PARAM_INT, 1515, 916, 1530,
                          "close everything at this time, HHMM IST"},
        [P_SHORT] = {"short", ATP_PARAM_INT, 0, 0, 1, "1: also sell short below the range low"},
    },
    .state_size = sizeof(struct orb_state),
    .init = orb_init,
    .on_tick = orb_on_tick,
    .on_bar = orb_on_bar,
    .on_timer = orb_on_timer,
};
