/* backtest/trips: round trips from fills, with hand-worked numbers. The tracker takes the
 * position's realized P&L from the caller (the portfolio), so each case states it. */
#include <criterion/criterion.h>

#include "backtest/trips.h"

#define R(x) PX_RUPEES(x)

static struct fill fill_of(uint32_t inst, enum order_side side, int64_t qty, px_t price, ts_ns ts)
{
    return (struct fill){.order_id = 1, .fill_id = "f", .account_id = 1, .instrument_id = inst,
                         .side = side, .qty = qty, .price = price, .ts = ts,
                         .mode = TRADE_MODE_PAPER};
}

static struct trips *tracker(void)
{
    struct trips *t;
    cr_assert_eq(trips_new(4, &t, NULL), ATP_OK);
    return t;
}

Test(trips, long_trip_with_an_add_closes_at_flat)
{
    struct trips *t = tracker();
    struct metrics_trade mt;
    struct fill f = fill_of(2, ORDER_SIDE_BUY, 10, R(100), 1000);
    cr_assert_eq(trips_on_fill(t, &f, R(2), 0, 5, "INFY", &mt), 0);
    f = fill_of(2, ORDER_SIDE_BUY, 10, R(110), 2000); /* add: entry avg 105 */
    cr_assert_eq(trips_on_fill(t, &f, R(2), 0, 6, "INFY", &mt), 0);
    f = fill_of(2, ORDER_SIDE_SELL, 5, R(120), 3000); /* partial exit: still open */
    cr_assert_eq(trips_on_fill(t, &f, R(1), R(75), 7, "INFY", &mt), 0);
    /* realized 75 + 15 x (130 - 105) = 450 */
    f = fill_of(2, ORDER_SIDE_SELL, 15, R(130), 4000);
    cr_assert_eq(trips_on_fill(t, &f, R(3), R(450), 9, "INFY", &mt), 1);
    cr_assert_eq(mt.side, METRICS_LONG);
    cr_assert_eq(mt.qty, 20);
    cr_assert_eq(mt.entry_px, R(105));
    cr_assert_eq(mt.exit_px, (5 * R(120) + 15 * R(130)) / 20); /* 127.50 */
    cr_assert_eq(mt.charges, R(8));
    cr_assert_eq(mt.pnl, R(450) - R(8));
    cr_assert_eq(mt.entry_ts, 1000);
    cr_assert_eq(mt.exit_ts, 4000);
    cr_assert_eq(mt.holding_bars, 4);
    cr_assert_str_eq(mt.symbol, "INFY");
    cr_assert_eq(trips_open_trade(t, 2, R(450), 0, 9, "INFY", &mt), 0, "flat: no open trip");
    trips_free(t);
}

Test(trips, a_fill_through_zero_closes_one_trip_and_opens_the_next_with_split_charges)
{
    struct trips *t = tracker();
    struct metrics_trade mt;
    struct fill f = fill_of(1, ORDER_SIDE_BUY, 10, R(100), 1000);
    cr_assert_eq(trips_on_fill(t, &f, R(1), 0, 0, "TCS", &mt), 0);
    /* Sell 30 at 90: closes 10 (realized -100), opens a 20 short. Charges 3 split 1 / 2. */
    f = fill_of(1, ORDER_SIDE_SELL, 30, R(90), 2000);
    cr_assert_eq(trips_on_fill(t, &f, R(3), R(-100), 0, "TCS", &mt), 1);
    cr_assert_eq(mt.side, METRICS_LONG);
    cr_assert_eq(mt.qty, 10);
    cr_assert_eq(mt.charges, R(2));
    cr_assert_eq(mt.pnl, R(-102));
    cr_assert_eq(trips_open_trade(t, 1, R(-100), R(40), 0, "TCS", &mt), 1);
    cr_assert_eq(mt.side, METRICS_SHORT);
    cr_assert_eq(mt.qty, 20);
    cr_assert_eq(mt.entry_px, R(90));
    cr_assert_eq(mt.charges, R(2));
    cr_assert_eq(mt.pnl, R(40) - R(2), "unrealized 40, nothing realized since the flip, charges 2");
    cr_assert(mt.is_open);
    /* Buy 20 at 85: the short closes, +100 realized since it opened. */
    f = fill_of(1, ORDER_SIDE_BUY, 20, R(85), 3000);
    cr_assert_eq(trips_on_fill(t, &f, R(1), R(0), 0, "TCS", &mt), 1);
    cr_assert_eq(mt.side, METRICS_SHORT);
    cr_assert_eq(mt.pnl, R(100) - R(3));
    trips_free(t);
}

Test(trips, an_instrument_out_of_range_is_refused)
{
    struct trips *t = tracker();
    struct metrics_trade mt;
    struct fill f = fill_of(4, ORDER_SIDE_BUY, 1, R(1), 1);
    cr_assert_eq(trips_on_fill(t, &f, 0, 0, 0, "X", &mt), ATP_EINVAL);
    cr_assert_eq(trips_open_trade(t, 9, 0, 0, 0, "X", &mt), 0);
    trips_free(t);
}
