/* analytics: an account's fills over three days, every number worked out by hand in the
 * comments. Money is compared exactly. */
#include <criterion/criterion.h>

#include <math.h>

#include "analytics/analytics.h"

#define R(x) PX_RUPEES(x)
#define P(x) ((px_t)((x) * PX_SCALE)) /* exact for the halves used here */

static struct analytics_fill af(uint64_t sid, uint32_t inst, const char *sym, enum order_side side,
                                int64_t qty, px_t price, px_t charges, ts_ns ts)
{
    return (struct analytics_fill){
        .fill = {.order_id = 1, .fill_id = "f", .account_id = 42, .instrument_id = inst, .side = side,
                 .qty = qty, .price = price, .ts = ts, .mode = TRADE_MODE_PAPER},
        .strategy_id = sid, .product = ORDER_PRODUCT_MIS, .charges = charges, .symbol = sym};
}

/* Mon 16 Nov 2026: strategy 7 buys 10 INFY at 100 (10:00) and sells at 110 (11:30), charges 1 +
 * 1: a trip of +100 - 2 = +98. Tue 17: manual (strategy 0) short 5 TCS at 200 (09:30), covered
 * at 210 (14:00), charges 0.50 + 0.50: -50 - 1 = -51. Wed 18 10:00: buys 2 TCS at 300, still
 * open, marked at 310 at 15:30: +20. */
static struct analytics_fill fills[5];
static const struct analytics_mark marks[] = {{2, R(310)}};

static void setup(void)
{
    fills[0] = af(7, 1, "INFY", ORDER_SIDE_BUY, 10, R(100), R(1), ts_from_ist(2026, 11, 16, 10, 0, 0));
    fills[1] = af(7, 1, "INFY", ORDER_SIDE_SELL, 10, R(110), R(1), ts_from_ist(2026, 11, 16, 11, 30, 0));
    fills[2] = af(0, 2, "TCS", ORDER_SIDE_SELL, 5, R(200), P(0.5), ts_from_ist(2026, 11, 17, 9, 30, 0));
    fills[3] = af(0, 2, "TCS", ORDER_SIDE_BUY, 5, R(210), P(0.5), ts_from_ist(2026, 11, 17, 14, 0, 0));
    fills[4] = af(0, 2, "TCS", ORDER_SIDE_BUY, 2, R(300), 0, ts_from_ist(2026, 11, 18, 10, 0, 0));
}

static struct analytics compute(ts_ns from, ts_ns to)
{
    struct analytics_input in = {.initial_capital = R(100000), .fills = fills, .n_fills = 5, .from = from,
                                 .to = to, .marks = marks, .n_marks = 1, .n_instruments = 4};
    struct analytics a;
    struct atp_err err = {0};
    int rc = analytics_compute(&in, &a, &err);
    cr_assert_eq(rc, ATP_OK, "%s (%s)", err.msg, err.field);
    return a;
}

Test(analytics, whole_history, .init = setup)
{
    struct analytics a = compute(INT64_MIN, ts_from_ist(2026, 11, 18, 15, 30, 0));
    cr_assert_eq(a.equity_start, R(100000));
    /* Equity: 100000 at the start; 99999 (cash 98999 + 1000 held); 100098; 100097.50 (cash
     * 101097.50, short 1000); 100047; 100047 (600 held); 100067 at the 310 mark. */
    px_t curve[] = {R(100000), R(99999), R(100098), P(100097.5), R(100047), R(100047), R(100067)};
    cr_assert_eq(a.n_points, 7);
    for (size_t i = 0; i < 7; i++)
        cr_assert_eq(a.points[i].equity, curve[i], "point %zu: %lld", i, (long long)a.points[i].equity);
    cr_assert_eq(a.summary.final_equity, R(100067));
    cr_assert_eq(a.summary.trades, 2);
    cr_assert_eq(a.summary.winning_trades, 1);
    cr_assert_eq(a.summary.losing_trades, 1);
    cr_assert_float_eq(a.summary.win_rate_pct, 50.0, 1e-12);
    cr_assert_float_eq(a.summary.profit_factor, 98.0 / 51.0, 1e-12);
    cr_assert_float_eq(a.summary.total_return_pct, 0.067, 1e-12);
    cr_assert_eq(a.summary.total_charges, R(3));
    cr_assert_eq(a.realized, R(50)); /* +100 - 50 before charges */
    cr_assert_eq(a.charges, R(3));
    cr_assert_eq(a.n_trades, 3);
    cr_assert_eq(a.trades[0].pnl, R(98));
    cr_assert_eq(a.trade_strategy[0], 7);
    cr_assert_eq(a.trades[1].pnl, R(-51));
    cr_assert_eq(a.trades[1].side, METRICS_SHORT);
    cr_assert(a.trades[2].is_open);
    cr_assert_eq(a.trades[2].pnl, R(20));
    cr_assert_str_eq(a.trades[2].symbol, "TCS");
    cr_assert_eq(a.n_strategies, 2);
    cr_assert_eq(a.strategies[0].strategy_id, 0);
    cr_assert_eq(a.strategies[0].net_pnl, R(-51));
    cr_assert_eq(a.strategies[0].losses, 1);
    cr_assert_eq(a.strategies[1].strategy_id, 7);
    cr_assert_eq(a.strategies[1].net_pnl, R(98));
    cr_assert_float_eq(a.strategies[1].win_rate_pct, 100.0, 1e-12);
    cr_assert_eq(a.by_hour[11].trades, 1);
    cr_assert_eq(a.by_hour[11].pnl, R(98));
    cr_assert_eq(a.by_hour[14].pnl, R(-51));
    cr_assert_eq(a.by_weekday[1].pnl, R(98)); /* Monday */
    cr_assert_eq(a.by_weekday[2].pnl, R(-51));
    cr_assert_eq(a.min_holding_s, 5400);
    cr_assert_eq(a.max_holding_s, 16200);
    cr_assert_float_eq(a.avg_holding_s, 10800.0, 1e-9);
    cr_assert_eq(a.best_trade, 0);
    cr_assert_eq(a.worst_trade, 1);
    /* Drawdown of the 99999 point: 1 below the 100000 peak. */
    cr_assert_float_eq(a.drawdown_pct[1], -0.001, 1e-12);
    analytics_free(&a);
}

Test(analytics, a_period_starts_from_the_equity_then, .init = setup)
{
    struct analytics a = compute(ts_from_ist(2026, 11, 17, 0, 0, 0), ts_from_ist(2026, 11, 18, 15, 30, 0));
    cr_assert_eq(a.equity_start, R(100098));
    cr_assert_eq(a.summary.trades, 1);
    cr_assert_eq(a.trades[0].pnl, R(-51));
    cr_assert_eq(a.realized, R(-50));
    cr_assert_eq(a.charges, R(1));
    cr_assert_eq(a.summary.final_equity, R(100067));
    cr_assert_eq(a.points[0].ts, ts_from_ist(2026, 11, 17, 0, 0, 0));
    analytics_free(&a);
}

Test(analytics, an_idle_period_is_a_flat_curve, .init = setup)
{
    struct analytics a = compute(ts_from_ist(2026, 11, 19, 0, 0, 0), ts_from_ist(2026, 11, 19, 15, 30, 0));
    cr_assert_eq(a.n_points, 2);
    cr_assert_eq(a.points[0].equity, R(100067));
    cr_assert_eq(a.points[1].equity, R(100067));
    cr_assert_eq(a.summary.trades, 0);
    cr_assert(isnan(a.summary.win_rate_pct));
    cr_assert_eq(a.n_trades, 1, "the TCS position is still open");
    cr_assert_eq(a.best_trade, -1);
    analytics_free(&a);
}

Test(analytics, bad_input_is_named, .init = setup)
{
    struct analytics_fill bad[2] = {fills[1], fills[0]};
    struct analytics_input in = {.initial_capital = R(1000), .fills = bad, .n_fills = 2, .from = INT64_MIN,
                                 .to = INT64_MAX, .n_instruments = 4};
    struct analytics a;
    struct atp_err err = {0};
    cr_assert_eq(analytics_compute(&in, &a, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "fills[1].ts");
    analytics_free(&a);
    in.fills = fills;
    in.n_instruments = 1; /* INFY is instrument 1 */
    cr_assert_eq(analytics_compute(&in, &a, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "fills[0].instrument_id");
    analytics_free(&a);
    in.n_instruments = 4;
    in.initial_capital = 0;
    cr_assert_eq(analytics_compute(&in, &a, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "initial_capital");
    analytics_free(&a);
}
