/* dca: dollar-cost averaging ("rupee-cost" here): buy periodically, take profit on the average.
 *
 * Per instrument, on each complete bar of the first timeframe, with no order of the strategy
 * open on the instrument:
 *   - take-profit: long and close >= average price x (1 + take_profit_pct) -> EXIT_LONG of the
 *     whole position; a new cycle starts (max_buys counts again);
 *   - periodic buy: the first bar seen buys; later a bar buys when the period since the last buy
 *     has passed: in_days = 1, its IST day is at least `every` calendar days after the last
 *     buy's (so every = 7 buys weekly, on the first bar of the first trading day of the week
 *     after); in_days = 0, at least `every` bars of the timeframe after it. A buy is ENTRY_LONG of
 *     `qty` units (0: the sizing rule) with the protective take-profit disabled (this strategy
 *     takes profit on the average itself) and the stop from the risk configuration; at most
 *     max_buys per cycle (0: no limit). A bar that takes profit does not also buy.
 * Calendar days, not timers: data only arrives on trading days, so a buy never falls on a
 * holiday and a missed period is bought on the next trading day. */
#include "strategy/builtin/common.h"

enum { P_EVERY = 0, P_IN_DAYS, P_QTY, P_TP, P_MAX_BUYS, P_COUNT };

struct dca_inst {
    int64_t bars;         /* bars of the first timeframe seen */
    int64_t last_buy_bar; /* bars count at the last buy; valid when bought */
    int64_t last_buy_day; /* IST day of the last buy; valid when bought */
    int32_t buys;         /* buys in the current cycle */
    int8_t bought;        /* a buy was sent */
};

struct dca_state {
    int64_t every;
    int in_days;
    int64_t qty;
    double take_profit_pct;
    int64_t max_buys;
    struct dca_inst inst[BI_MAX_INST];
};

static int dca_init(void *state, const double *params, struct atp_ctx *ctx)
{
    (void)ctx;
    struct dca_state *s = state;
    s->every = (int64_t)params[P_EVERY];
    s->in_days = params[P_IN_DAYS] != 0;
    s->qty = (int64_t)params[P_QTY];
    s->take_profit_pct = params[P_TP];
    s->max_buys = (int64_t)params[P_MAX_BUYS];
    return 0;
}

static int dca_on_bar(void *state, struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf,
                      const struct atp_bar *bar)
{
    struct dca_state *s = state;
    int i = bi_inst_index(ctx, instrument);
    if (i < 0 || !bi_primary_tf(ctx, tf))
        return 0;
    struct dca_inst *d = &s->inst[i];
    d->bars++;
    if (atp_open_orders(ctx, instrument) > 0)
        return 0;
    struct atp_position pos;
    atp_position(ctx, instrument, &pos);
    if (pos.qty > 0 && atp_px_to_double(bar->close) >=
                           atp_px_to_double(pos.avg_price) * (1 + s->take_profit_pct)) {
        bi_market(ctx, instrument, ATP_EXIT_LONG, 0, "dca: take-profit on the average price");
        d->buys = 0;
        return 0;
    }
    if (pos.qty <= 0)
        d->buys = 0; /* flat: whatever closed the last cycle, a new one starts */
    int64_t day = bi_ist_day(bar->start_ns);
    int due = !d->bought || (s->in_days ? day - d->last_buy_day >= s->every
                                        : d->bars - d->last_buy_bar >= s->every);
    if (!due || (s->max_buys > 0 && d->buys >= s->max_buys))
        return 0;
    struct atp_order_intent oi = {
        .instrument = instrument,
        .intent = ATP_ENTRY_LONG,
        .kind = ATP_MARKET,
        .qty = s->qty,
        .take_profit_pct = -1,
        .reason = "dca: periodic buy",
    };
    atp_order(ctx, &oi);
    d->bought = 1;
    d->last_buy_bar = d->bars;
    d->last_buy_day = day;
    d->buys++;
    return 0;
}

const struct atp_strategy_def atp_strategy_dca = {
    .name = "dca",
    .description = "Buy every N days (or bars), exit everything at a take-profit on the average price",
    .n_params = P_COUNT,
    .params = {
        [P_EVERY] = {"every", ATP_PARAM_INT, 1, 1, 100000, "period between buys, in days or bars"},
        [P_IN_DAYS] = {"in_days", ATP_PARAM_INT, 1, 0, 1,
                       "1: the period is in calendar days (IST); 0: in bars of the timeframe"},
        [P_QTY] = {"qty", ATP_PARAM_INT, 0, 0, 1e9, "units per buy; 0 = the sizing rule"},
        [P_TP] = {"take_profit_pct", ATP_PARAM_DOUBLE, 0.05, 0.001, 10,
                  "exit all when the close is this fraction above the average price"},
        [P_MAX_BUYS] = {"max_buys", ATP_PARAM_INT, 0, 0, 100000, "buys per cycle; 0 = no limit"},
    },
    .state_size = sizeof(struct dca_state),
    .init = dca_init,
    .on_bar = dca_on_bar,
};
