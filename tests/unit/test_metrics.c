/* backtest/metrics: hand-checkable curves and trade lists, expected values worked out in the
 * comments (docs/metrics.md has the formulas). Doubles are compared to 1e-9 relative (1e-12
 * absolute near zero); money (px_t) is compared exactly. */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "backtest/metrics.h"
#include "core/alloc.h"

#define R(x) PX_RUPEES(x)
#define TOL 1e-9

static int near(double got, double want)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= fmax(TOL * fabs(want), 1e-12);
}

#define assert_near(got, want)                                                                   \
    cr_assert(near((got), (want)), "%s: got %.17g, want %.17g", #got, (double)(got),            \
              (double)(want))

/* 15:30 IST on the given date: the close of an NSE session. */
static ts_ns close_ist(int y, int m, int d)
{
    return ts_from_ist(y, m, d, 15, 30, 0);
}

static struct metrics compute_ok(const struct metrics_input *in)
{
    struct metrics m;
    struct atp_err err;
    memset(&m, 0x5a, sizeof m);
    int rc = metrics_compute(in, &m, &err);
    cr_assert_eq(rc, ATP_OK, "metrics_compute: %d %s (%s)", rc, err.msg, err.field);
    return m;
}

/* ---- The 5-day curve ------------------------------------------------------------------------
 * initial 100000; day closes 100000, 101000, 99990, 102000, 103030 (Mon 1 .. Fri 5 Jan 2024).
 * Daily returns (first against the initial capital):
 *   r1 = 100000/100000 - 1 = 0
 *   r2 = 101000/100000 - 1 = 0.01
 *   r3 =  99990/101000 - 1 = -0.01
 *   r4 = 102000/ 99990 - 1 = 2010/99990 = 0.020102010201020102...
 *   r5 = 103030/102000 - 1 = 1030/102000 = 0.010098039215686274...
 * mean = 0.030200049416706376 / 5 = 0.0060400098833412753
 * sample variance = sum (r - mean)^2 / 4 = 0.00013091315329228817, sd = 0.011441728597213280
 * Sharpe = mean / sd * sqrt(252) = 0.52789825... * 15.874507866387544 = 8.3800435914475737
 * Downside: min(r,0)^2 = 0, 0, 1e-4, 0, 0 -> mean over all 5 = 2e-5, dd = 0.0044721359549995794
 * Sortino = mean / dd * sqrt(252) = 21.439908216334314
 * Drawdown: peak 101000 -> 99990: -1010 = -1.0% of the peak. Total return 3.03%.
 * CAGR: span Mon 15:30 .. Fri 15:30 = 4 days = 4/365.25 years: 1.0303^(365.25/4) - 1
 *   = 14.266793816878435 -> 1426.6793816878435 %. Calmar = 1426.679... / 1.0. */
static const px_t five_day_eq[] = {R(100000), R(101000), R(99990), R(102000), R(103030)};

static void five_day_points(struct metrics_point *pts)
{
    for (int i = 0; i < 5; i++)
        pts[i] = (struct metrics_point){close_ist(2024, 1, 1 + i), five_day_eq[i], i % 2};
}

Test(metrics_curve, five_day_sharpe_sortino_by_hand)
{
    struct metrics_point pts[5];
    five_day_points(pts);
    struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = 5};
    struct metrics m = compute_ok(&in);

    cr_assert_eq(m.initial_capital, R(100000));
    cr_assert_eq(m.final_equity, R(103030));
    assert_near(m.total_return_pct, 3.03);
    assert_near(m.sharpe, 8.3800435914475737);
    assert_near(m.sortino, 21.439908216334314);
    assert_near(m.max_drawdown_pct, -1.0);
    cr_assert_eq(m.max_drawdown_abs, -R(1010));
    assert_near(m.cagr_pct, 1426.6793816878435);
    assert_near(m.calmar, 1426.6793816878435);
    assert_near(m.exposure_pct, 40.0); /* in_market on points 1 and 3 of 5 */
}

/* Same curve, risk-free 6.3% a year: rf_daily = 0.063/252 = 0.00025.
 * Excess mean = 0.0060400098833412753 - 0.00025 = 0.0057900098833412753; sd unchanged.
 * Sharpe = 0.0057900098833412753 / 0.011441728597213280 * sqrt(252) = 8.0331880500948908
 * Downside of (r - 0.00025): -0.00025 (day 1) and -0.01025 (day 3):
 *   (6.25e-8 + 1.050625e-4) / 5 = 2.1025e-5, dd = 0.0045853026072441500
 * Sortino = 0.0057900098833412753 / 0.0045853026072441500 * sqrt(252) = 20.045254438464294 */
Test(metrics_curve, five_day_with_risk_free_rate)
{
    struct metrics_point pts[5];
    five_day_points(pts);
    struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = 5,
                               .risk_free_annual = 0.063};
    struct metrics m = compute_ok(&in);
    assert_near(m.sharpe, 8.0331880500948908);
    assert_near(m.sortino, 20.045254438464294);
}

/* Several points per day: only each IST day's last equity makes the daily return, so the day
 * closes are the 5-day curve's (100000, 101000, 99990, 102000, 103030) and Sharpe and Sortino
 * equal that case. Intraday points still count for drawdown and exposure:
 *   running peak 100500 (day 1, 09:15) -> 96000 (day 2) = -4500 = -4.4776119402985075 %
 *   running peak 104000 (day 3, 09:15) -> 99500 (day 4, 00:01) = -4500 = -4.3269 %
 * so max_drawdown_abs = -4500 and max_drawdown_pct = -4500/100500*100.
 * 23:59 IST on day 3 (18:29 UTC) is still day 3; 00:01 IST on day 4 (18:31 UTC on the 3rd) is
 * day 4: days are IST days. in_market on 7 of the 11 points. */
Test(metrics_curve, only_the_last_point_of_each_ist_day_counts)
{
    struct metrics_point pts[] = {
        {ts_from_ist(2024, 1, 1, 9, 15, 0), R(100500), 1},
        {ts_from_ist(2024, 1, 1, 12, 0, 0), R(99000), 1},
        {close_ist(2024, 1, 1), R(100000), 0},
        {ts_from_ist(2024, 1, 2, 9, 15, 0), R(96000), 1},
        {ts_from_ist(2024, 1, 2, 10, 0, 0), R(96000), 1}, /* equal times are fine too */
        {ts_from_ist(2024, 1, 2, 10, 0, 0), R(101000), 1},
        {ts_from_ist(2024, 1, 3, 9, 15, 0), R(104000), 1},
        {ts_from_ist(2024, 1, 3, 23, 59, 0), R(99990), 0},
        {ts_from_ist(2024, 1, 4, 0, 1, 0), R(99500), 1},
        {close_ist(2024, 1, 4), R(102000), 0},
        {close_ist(2024, 1, 5), R(103030), 0},
    };
    size_t n = sizeof pts / sizeof pts[0];
    struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = n};
    struct metrics m = compute_ok(&in);
    assert_near(m.sharpe, 8.3800435914475737);
    assert_near(m.sortino, 21.439908216334314);
    cr_assert_eq(m.max_drawdown_abs, -R(4500));
    assert_near(m.max_drawdown_pct, -4.4776119402985075);
    assert_near(m.exposure_pct, 7.0 / 11.0 * 100.0);
    cr_assert_eq(m.final_equity, R(103030));
}

/* ---- Drawdown ------------------------------------------------------------------------------ */

/* Two peaks, initial 100: points 100, 120, 90, 110, 150, 105, 160, 152.
 * Running peak:               100, 120, 120, 120, 150, 150, 160, 160
 * Drawdown %:                   0,   0, -25, -8.333.., 0, -30, 0, -5
 * First episode -25 % (-30), second -30 % (-45): the max is the second on both measures. */
Test(metrics_drawdown, two_peaks_series_and_max)
{
    static const int eq[] = {100, 120, 90, 110, 150, 105, 160, 152};
    static const double want[] = {0, 0, -25, -10.0 / 120.0 * 100.0, 0, -30, 0, -5};
    struct metrics_point pts[8];
    for (int i = 0; i < 8; i++)
        pts[i] = (struct metrics_point){close_ist(2024, 3, 1 + i), R(eq[i]), 1};
    struct metrics_input in = {.initial_capital = R(100), .points = pts, .n_points = 8};

    double dd[8];
    struct atp_err err;
    cr_assert_eq(metrics_drawdown_series(&in, dd, &err), ATP_OK);
    for (int i = 0; i < 8; i++)
        cr_assert(near(dd[i], want[i]), "point %d: got %.17g want %.17g", i, dd[i], want[i]);

    struct metrics m = compute_ok(&in);
    assert_near(m.max_drawdown_pct, -30.0);
    cr_assert_eq(m.max_drawdown_abs, -R(45));
}

/* The deepest % and the largest money drawdown can come from different episodes; each is its own
 * maximum (backtrader's DrawDown analyzer: max drawdown and max moneydown).
 * initial 100: 100, 50 (-50 %, -50), 300, 210 (-30 %, -90) -> -50 % and -90. */
Test(metrics_drawdown, pct_and_abs_are_separate_maxima)
{
    static const int eq[] = {100, 50, 300, 210};
    struct metrics_point pts[4];
    for (int i = 0; i < 4; i++)
        pts[i] = (struct metrics_point){close_ist(2024, 3, 4 + i), R(eq[i]), 0};
    struct metrics_input in = {.initial_capital = R(100), .points = pts, .n_points = 4};
    struct metrics m = compute_ok(&in);
    assert_near(m.max_drawdown_pct, -50.0);
    cr_assert_eq(m.max_drawdown_abs, -R(90));
}

/* The running peak starts at the initial capital: a curve that only falls from it is in
 * drawdown at its first point. initial 1000: 990, 995 -> -1 %, -0.5 %. */
Test(metrics_drawdown, peak_starts_at_initial_capital)
{
    struct metrics_point pts[] = {{close_ist(2024, 3, 4), R(990), 1},
                                  {close_ist(2024, 3, 5), R(995), 1}};
    struct metrics_input in = {.initial_capital = R(1000), .points = pts, .n_points = 2};
    double dd[2];
    cr_assert_eq(metrics_drawdown_series(&in, dd, NULL), ATP_OK);
    assert_near(dd[0], -1.0);
    assert_near(dd[1], -0.5);
    struct metrics m = compute_ok(&in);
    assert_near(m.max_drawdown_pct, -1.0);
    cr_assert_eq(m.max_drawdown_abs, -R(10));
}

/* ---- CAGR ---------------------------------------------------------------------------------- */

struct cagr_case {
    const char *name;
    ts_ns first, last;
    int final_rupees; /* initial is 100000 */
    double want_pct;
};

Test(metrics_cagr, table)
{
    const ts_ns t0 = close_ist(2023, 1, 2);
    const ts_ns year = (ts_ns)(365.25 * 24) * TS_NS_PER_HOUR; /* 365 days 6 hours */
    const struct cagr_case cases[] = {
        /* years = 365.25 days / 365.25 = 1 exactly: CAGR = total return. */
        {"one year of 365.25 days, +10 %", t0, t0 + year, 110000, 10.0},
        /* years = 2: 1.21^(1/2) - 1 = 0.1. */
        {"two years, +21 %", t0, t0 + 2 * year, 121000, 10.0},
        /* years = 2: 0.81^(1/2) - 1 = -0.1. */
        {"two years, -19 %", t0, t0 + 2 * year, 81000, -10.0},
        /* 2023-01-02 .. 2024-01-02 is 365 calendar days = 365/365.25 years:
         * 1.1^(365.25/365) - 1 = 0.10007181138351061. */
        {"calendar year 2023 (365 days)", t0, close_ist(2024, 1, 2), 110000, 10.007181138351061},
        /* Exactly one day is annualized: 1.001^365.25 - 1 = 0.4406112413130268. */
        {"exactly one day", t0, t0 + TS_NS_PER_DAY, 100100, 44.06112413130268},
        /* Under a day is not annualized: NaN. */
        {"23h59m", t0, t0 + TS_NS_PER_DAY - TS_NS_PER_MIN, 110000, NAN},
        {"same instant", t0, t0, 110000, NAN},
        /* Equity at or below zero: everything lost, -100 % a year. */
        {"wiped out", t0, t0 + year, 0, -100.0},
        {"below zero", t0, t0 + year, -5000, -100.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct cagr_case *c = &cases[i];
        struct metrics_point pts[] = {{c->first, R(100000), 0},
                                      {c->last, R(c->final_rupees), 0}};
        struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = 2};
        struct metrics m = compute_ok(&in);
        cr_assert(near(m.cagr_pct, c->want_pct), "%s: got %.17g want %.17g", c->name, m.cagr_pct,
                  c->want_pct);
    }
}

/* Calmar = CAGR / |max drawdown %|: one year, 100000 -> 80000 -> 110000: CAGR 10 %, mdd -20 %
 * -> 0.5. */
Test(metrics_cagr, calmar)
{
    const ts_ns t0 = close_ist(2023, 1, 2);
    const ts_ns year = (ts_ns)(365.25 * 24) * TS_NS_PER_HOUR;
    struct metrics_point pts[] = {{t0, R(100000), 0},
                                  {t0 + year / 2, R(80000), 1},
                                  {t0 + year, R(110000), 0}};
    struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = 3};
    struct metrics m = compute_ok(&in);
    assert_near(m.cagr_pct, 10.0);
    assert_near(m.max_drawdown_pct, -20.0);
    assert_near(m.calmar, 0.5);
}

/* ---- Monthly returns ------------------------------------------------------------------------ */

/* initial 100000. Each month's last equity against the previous month's (IST months):
 *   2023-11: last 110000 vs 100000       -> +10 %
 *   2023-12: last  99000 vs 110000       -> -10 %
 *   2024-01: last 108900 vs  99000       -> +10 %   (its first point is 2023-12-31 19:00 UTC,
 *            which is 2024-01-01 00:30 IST: January, not December)
 *   2024-02: no points, no row
 *   2024-03: last 119790 vs 108900       -> +10 % */
Test(metrics_monthly, across_a_year_boundary_in_ist)
{
    struct metrics_point pts[] = {
        {close_ist(2023, 11, 15), R(105000), 1},
        {close_ist(2023, 11, 30), R(110000), 1},
        {close_ist(2023, 12, 29), R(99000), 0},
        {ts_from_ist(2024, 1, 1, 0, 30, 0), R(50000), 0},
        {close_ist(2024, 1, 31), R(108900), 0},
        {close_ist(2024, 3, 28), R(119790), 0},
    };
    struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = 6};
    static const struct {
        int year, month;
        double pct;
    } want[] = {{2023, 11, 10.0}, {2023, 12, -10.0}, {2024, 1, 10.0}, {2024, 3, 10.0}};

    struct metrics_month *rows = NULL;
    size_t n = 99;
    struct atp_err err;
    cr_assert_eq(metrics_monthly_returns(&in, &rows, &n, &err), ATP_OK);
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(rows[i].year, want[i].year, "row %zu", i);
        cr_assert_eq(rows[i].month, want[i].month, "row %zu", i);
        cr_assert(near(rows[i].return_pct, want[i].pct), "row %zu: %.17g", i,
                  rows[i].return_pct);
    }
    atp_free(rows);
}

/* After a month closing at zero the next month's base is zero: its return is NaN. */
Test(metrics_monthly, base_at_zero_is_nan_and_empty_curve_has_no_rows)
{
    struct metrics_point pts[] = {{close_ist(2024, 1, 31), R(0), 0},
                                  {close_ist(2024, 2, 29), R(10), 0}};
    struct metrics_input in = {.initial_capital = R(100), .points = pts, .n_points = 2};
    struct metrics_month *rows = NULL;
    size_t n = 0;
    cr_assert_eq(metrics_monthly_returns(&in, &rows, &n, NULL), ATP_OK);
    cr_assert_eq(n, 2);
    assert_near(rows[0].return_pct, -100.0);
    cr_assert(isnan(rows[1].return_pct));
    atp_free(rows);

    in.n_points = 0;
    in.points = NULL;
    rows = (struct metrics_month *)&in; /* must be reset */
    n = 7;
    cr_assert_eq(metrics_monthly_returns(&in, &rows, &n, NULL), ATP_OK);
    cr_assert_null(rows);
    cr_assert_eq(n, 0);
}

/* ---- Trades -------------------------------------------------------------------------------- */

/* A closed trade exiting on day d of March 2024 (entry the day before) with the given pnl. */
static struct metrics_trade closed(int exit_day, px_t pnl, px_t charges, int64_t bars)
{
    return (struct metrics_trade){.symbol = "INFY", .side = METRICS_LONG, .qty = 10,
                                  .entry_ts = close_ist(2024, 3, exit_day - 1),
                                  .entry_px = R(1500), .exit_ts = close_ist(2024, 3, exit_day),
                                  .exit_px = R(1500) + pnl / 10, .pnl = pnl, .charges = charges,
                                  .holding_bars = bars};
}

static struct metrics_input trades_only(const struct metrics_trade *t, size_t n)
{
    return (struct metrics_input){.initial_capital = R(100000), .trades = t, .n_trades = n};
}

/* Closed trades in exit order (given shuffled): +1.01, +1.00, 0, +5.00, -1.01, -1.00, -3.00,
 * plus one open trade (pnl 100, 100 bars, charges 20) that only adds to total_charges.
 *   trades = 7, winning = 3, losing = 3 (the flat one is neither)
 *   win rate = 3/7 = 42.857142857142857 %
 *   gross profit 7.01, gross loss -5.01: profit factor = 7.01/5.01 = 1.3992015968063872
 *   avg_win = 7.01/3 = 2.33666.. -> 2.34; avg_loss = -5.01/3 = -1.67
 *   expectancy = (7.01 - 5.01)/7 = 0.285714.. -> 0.29
 *   streaks in exit order: W W 0 W L L L -> max wins 2 (the flat trade breaks the run), losses 3
 *   avg_holding_bars = (1+2+3+4+5+6+7)/7 = 4
 *   total_charges = 0.10*7 + 20 = 20.70 */
Test(metrics_trades, mixed_list_in_shuffled_order)
{
    const px_t c = 1000; /* 0.10 */
    struct metrics_trade t[] = {
        closed(8, -R(3), c, 7),       closed(2, 10100, c, 1), closed(6, -10100, c, 5),
        closed(4, 0, c, 3),           closed(3, R(1), c, 2),  closed(5, R(5), c, 4),
        closed(7, -R(1), c, 6),
        {.symbol = "TCS", .side = METRICS_SHORT, .qty = 5, .entry_ts = close_ist(2024, 3, 8),
         .entry_px = R(4000), .is_open = 1, .pnl = R(100), .charges = R(20),
         .holding_bars = 100},
    };
    struct metrics_input in = trades_only(t, sizeof t / sizeof t[0]);
    long live = atp_alloc_live();
    struct metrics m = compute_ok(&in);
    cr_assert_eq(atp_alloc_live(), live, "the exit-order index is freed");

    cr_assert_eq(m.trades, 7);
    cr_assert_eq(m.winning_trades, 3);
    cr_assert_eq(m.losing_trades, 3);
    assert_near(m.win_rate_pct, 300.0 / 7.0);
    assert_near(m.profit_factor, 7.01 / 5.01);
    cr_assert_eq(m.avg_win, 23400);
    cr_assert_eq(m.avg_loss, -16700);
    cr_assert_eq(m.expectancy, 2900);
    cr_assert_eq(m.max_consecutive_wins, 2);
    cr_assert_eq(m.max_consecutive_losses, 3);
    assert_near(m.avg_holding_bars, 4.0);
    cr_assert_eq(m.total_charges, 207000);
}

/* Averages round to the paisa (100 units) half away from zero. One closed trade, so the average
 * is its pnl rounded. */
Test(metrics_trades, averages_round_half_away_from_zero)
{
    static const struct {
        px_t pnl, want_avg_win, want_avg_loss, want_expectancy;
    } cases[] = {
        {10049, 10000, 0, 10000},    /* 1.0049 -> 1.00 */
        {10050, 10100, 0, 10100},    /* 1.0050 -> 1.01 (tie, away from zero) */
        {10051, 10100, 0, 10100},
        {-10049, 0, -10000, -10000},
        {-10050, 0, -10100, -10100}, /* -1.0050 -> -1.01 */
        {49, 0, 0, 0},               /* 0.0049 -> 0.00: a win whose average shows as 0.00 */
        {50, 100, 0, 100},
        {-50, 0, -100, -100},
        {PX_MAX, PX_MAX - 7, 0, PX_MAX - 7}, /* ...5807 rounds down, no overflow */
        {PX_MIN, 0, PX_MIN + 7, PX_MIN + 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct metrics_trade t = closed(5, cases[i].pnl, 0, 1);
        struct metrics_input in = trades_only(&t, 1);
        struct metrics m = compute_ok(&in);
        cr_assert_eq(m.avg_win, cases[i].want_avg_win, "case %zu avg_win %lld", i,
                     (long long)m.avg_win);
        cr_assert_eq(m.avg_loss, cases[i].want_avg_loss, "case %zu", i);
        cr_assert_eq(m.expectancy, cases[i].want_expectancy, "case %zu", i);
    }
    /* Two wins 1.01 and 1.00: mean 1.005 -> 1.01; two losses -1.01, -1.00 -> -1.01;
     * expectancy over all four = 0. */
    struct metrics_trade t[] = {closed(2, 10100, 0, 1), closed(3, 10000, 0, 1),
                                closed(4, -10100, 0, 1), closed(5, -10000, 0, 1)};
    struct metrics_input in = trades_only(t, 4);
    struct metrics m = compute_ok(&in);
    cr_assert_eq(m.avg_win, 10100);
    cr_assert_eq(m.avg_loss, -10100);
    cr_assert_eq(m.expectancy, 0);
    assert_near(m.profit_factor, 2.01 / 2.01);
    cr_assert_eq(m.max_consecutive_wins, 2);
    cr_assert_eq(m.max_consecutive_losses, 2);
}

Test(metrics_trades, no_trades)
{
    struct metrics_input in = trades_only(NULL, 0);
    struct metrics m = compute_ok(&in);
    cr_assert_eq(m.trades, 0);
    cr_assert_eq(m.winning_trades, 0);
    cr_assert_eq(m.losing_trades, 0);
    cr_assert(isnan(m.win_rate_pct));
    cr_assert(isnan(m.profit_factor));
    cr_assert_eq(m.avg_win, 0);
    cr_assert_eq(m.avg_loss, 0);
    cr_assert_eq(m.expectancy, 0);
    cr_assert(isnan(m.avg_holding_bars));
    cr_assert_eq(m.max_consecutive_wins, 0);
    cr_assert_eq(m.max_consecutive_losses, 0);
    cr_assert_eq(m.total_charges, 0);
}

/* All losing: -2, -4, -6 -> win rate 0, profit factor 0/12 = 0, avg_loss -4, expectancy -4,
 * 3 losses in a row, avg_win 0. */
Test(metrics_trades, all_losing)
{
    struct metrics_trade t[] = {closed(2, -R(2), 5, 1), closed(3, -R(4), 5, 2),
                                closed(4, -R(6), 5, 3)};
    struct metrics_input in = trades_only(t, 3);
    struct metrics m = compute_ok(&in);
    assert_near(m.win_rate_pct, 0.0);
    assert_near(m.profit_factor, 0.0);
    cr_assert_eq(m.avg_win, 0);
    cr_assert_eq(m.avg_loss, -R(4));
    cr_assert_eq(m.expectancy, -R(4));
    cr_assert_eq(m.max_consecutive_wins, 0);
    cr_assert_eq(m.max_consecutive_losses, 3);
    cr_assert_eq(m.total_charges, 15);
    assert_near(m.avg_holding_bars, 2.0);
}

/* All winning: profit factor is +INFINITY (JSON null); only flat trades: NaN. */
Test(metrics_trades, profit_factor_without_losses)
{
    struct metrics_trade win[] = {closed(2, R(2), 0, 1), closed(3, 0, 0, 1)};
    struct metrics_input in = trades_only(win, 2);
    struct metrics m = compute_ok(&in);
    cr_assert(isinf(m.profit_factor) && m.profit_factor > 0);
    assert_near(m.win_rate_pct, 50.0);
    cr_assert_eq(m.expectancy, R(1));

    struct metrics_trade flat[] = {closed(2, 0, 0, 1)};
    in = trades_only(flat, 1);
    m = compute_ok(&in);
    cr_assert(isnan(m.profit_factor));
    assert_near(m.win_rate_pct, 0.0);
    cr_assert_eq(m.winning_trades + m.losing_trades, 0);
}

/* Open trades only: no closed statistics, but their charges are real costs. */
Test(metrics_trades, open_trades_only_count_charges)
{
    struct metrics_trade t = {.side = METRICS_LONG, .qty = 1, .is_open = 1, .pnl = R(50),
                              .charges = 1234, .holding_bars = 3, .exit_ts = -1};
    struct metrics_input in = trades_only(&t, 1);
    struct metrics m = compute_ok(&in);
    cr_assert_eq(m.trades, 0);
    cr_assert(isnan(m.win_rate_pct));
    cr_assert_eq(m.total_charges, 1234);
}

/* ---- Curve edge cases ---------------------------------------------------------------------- */

/* Flat equity: every daily return is 0, sd = 0 -> Sharpe NaN (not inf); no return below 0 ->
 * Sortino NaN; no drawdown -> Calmar NaN. CAGR over 2 days of 0 % = 0. */
Test(metrics_edge, zero_variance_flat)
{
    struct metrics_point pts[3];
    for (int i = 0; i < 3; i++)
        pts[i] = (struct metrics_point){close_ist(2024, 1, 1 + i), R(100000), 0};
    struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = 3};
    struct metrics m = compute_ok(&in);
    cr_assert(isnan(m.sharpe));
    cr_assert(isnan(m.sortino));
    assert_near(m.max_drawdown_pct, 0.0);
    cr_assert_eq(m.max_drawdown_abs, 0);
    assert_near(m.cagr_pct, 0.0);
    cr_assert(isnan(m.calmar));
    assert_near(m.exposure_pct, 0.0);
}

/* Constant +10 % a day: 110000, 121000, 133100 from 100000. Every return is the same double
 * (each is 1/10 rounded once), sd = 0 -> Sharpe NaN; no downside -> Sortino NaN. */
Test(metrics_edge, zero_variance_constant_growth)
{
    static const int eq[] = {110000, 121000, 133100};
    struct metrics_point pts[3];
    for (int i = 0; i < 3; i++)
        pts[i] = (struct metrics_point){close_ist(2024, 1, 1 + i), R(eq[i]), 1};
    struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = 3};
    struct metrics m = compute_ok(&in);
    cr_assert(isnan(m.sharpe), "sharpe %g", m.sharpe);
    cr_assert(isnan(m.sortino));
    assert_near(m.total_return_pct, 33.1);
    assert_near(m.exposure_pct, 100.0);
}

/* One point: one daily return (n < 2) -> Sharpe and Sortino NaN; span 0 -> CAGR NaN. */
Test(metrics_edge, one_point)
{
    struct metrics_point p = {close_ist(2024, 1, 1), R(101000), 1};
    struct metrics_input in = {.initial_capital = R(100000), .points = &p, .n_points = 1};
    struct metrics m = compute_ok(&in);
    cr_assert_eq(m.final_equity, R(101000));
    assert_near(m.total_return_pct, 1.0);
    cr_assert(isnan(m.sharpe));
    cr_assert(isnan(m.sortino));
    cr_assert(isnan(m.cagr_pct));
    cr_assert(isnan(m.calmar));
    assert_near(m.max_drawdown_pct, 0.0);
    assert_near(m.exposure_pct, 100.0);
}

/* No points at all: the curve never left the initial capital. */
Test(metrics_edge, no_points)
{
    struct metrics_input in = {.initial_capital = R(100000)};
    struct metrics m = compute_ok(&in);
    cr_assert_eq(m.final_equity, R(100000));
    assert_near(m.total_return_pct, 0.0);
    cr_assert(isnan(m.cagr_pct));
    cr_assert(isnan(m.sharpe));
    cr_assert(isnan(m.exposure_pct));
    assert_near(m.max_drawdown_pct, 0.0);
    cr_assert_eq(m.max_drawdown_abs, 0);
    double unused;
    cr_assert_eq(metrics_drawdown_series(&in, &unused, NULL), ATP_OK);
}

/* Equity touching zero: initial 100000; days 100000, 50000, 0, 0, 0.
 * Daily returns 0, -0.5, -1 and then stop (nothing is invested after a close at 0):
 *   mean -0.5, sample sd 0.5 -> Sharpe = -1 * sqrt(252) = -15.874507866387544
 *   downside mean square (0 + 0.25 + 1)/3 = 0.41666.., dd = 0.64549722436790281
 *   Sortino = -0.5 / 0.64549722436790281 * sqrt(252) = -12.296340919151518
 * Drawdown -100 % (-100000), CAGR -100 %, Calmar -1. */
Test(metrics_edge, equity_touching_zero)
{
    static const int eq[] = {100000, 50000, 0, 0, 0};
    struct metrics_point pts[5];
    for (int i = 0; i < 5; i++)
        pts[i] = (struct metrics_point){close_ist(2024, 1, 1 + i), R(eq[i]), i < 2};
    struct metrics_input in = {.initial_capital = R(100000), .points = pts, .n_points = 5};
    struct metrics m = compute_ok(&in);
    assert_near(m.sharpe, -15.874507866387544);
    assert_near(m.sortino, -12.296340919151518);
    assert_near(m.max_drawdown_pct, -100.0);
    cr_assert_eq(m.max_drawdown_abs, -R(100000));
    assert_near(m.total_return_pct, -100.0);
    assert_near(m.cagr_pct, -100.0);
    assert_near(m.calmar, -1.0);

    double dd[5];
    cr_assert_eq(metrics_drawdown_series(&in, dd, NULL), ATP_OK);
    assert_near(dd[2], -100.0);
    assert_near(dd[4], -100.0);
}

/* Below zero (F&O losses beyond capital): 100000 -> -20000 is a -120 % drawdown. An intraday
 * touch of zero that recovers by the close leaves the daily returns defined. */
Test(metrics_edge, equity_below_zero_and_intraday_touch)
{
    struct metrics_point below[] = {{close_ist(2024, 1, 1), R(-20000), 1}};
    struct metrics_input in = {.initial_capital = R(100000), .points = below, .n_points = 1};
    struct metrics m = compute_ok(&in);
    assert_near(m.max_drawdown_pct, -120.0);
    cr_assert_eq(m.max_drawdown_abs, -R(120000));
    assert_near(m.total_return_pct, -120.0);

    /* Days close at 100000, 100000 and 110000; day 2 touches 0 at noon.
     * Returns 0, 0, 0.1: mean 0.1/3, sample sd = sqrt(((2 * (0.1/3)^2 + (0.2/3)^2) / 2)
     * = sqrt(0.01/3) -> Sharpe = (0.1/3) / sqrt(0.01/3) * sqrt(252) = sqrt(1/3) * sqrt(252)
     * = sqrt(84) = 9.1651513899116799. */
    struct metrics_point touch[] = {
        {close_ist(2024, 1, 1), R(100000), 1},
        {ts_from_ist(2024, 1, 2, 12, 0, 0), 0, 1},
        {close_ist(2024, 1, 2), R(100000), 1},
        {close_ist(2024, 1, 3), R(110000), 1},
    };
    in = (struct metrics_input){.initial_capital = R(100000), .points = touch, .n_points = 4};
    m = compute_ok(&in);
    assert_near(m.max_drawdown_pct, -100.0);
    assert_near(m.sharpe, sqrt(84.0));
}

/* ---- Validation and failures --------------------------------------------------------------- */

Test(metrics_errors, invalid_input_names_the_field)
{
    struct metrics_point pts[] = {{close_ist(2024, 1, 2), R(1), 0},
                                  {close_ist(2024, 1, 1), R(1), 0}};
    struct metrics_trade bad_side = closed(3, 0, 0, 1);
    bad_side.side = 0;
    struct metrics_trade bad_qty = closed(3, 0, 0, 1);
    bad_qty.qty = 0;
    struct metrics_trade bad_charges = closed(3, 0, -1, 1);
    struct metrics_trade bad_bars = closed(3, 0, 0, -1);
    struct metrics_trade bad_exit = closed(3, 0, 0, 1);
    bad_exit.exit_ts = bad_exit.entry_ts - 1;
    struct metrics_trade ok_trade = closed(3, 0, 0, 1);

    const struct {
        struct metrics_input in;
        const char *field;
    } cases[] = {
        {{.initial_capital = 0}, "initial_capital"},
        {{.initial_capital = -R(1)}, "initial_capital"},
        {{.initial_capital = R(1), .n_points = 2}, "points"},
        {{.initial_capital = R(1), .points = pts, .n_points = 2}, "points[1].ts"},
        {{.initial_capital = R(1), .n_trades = 1}, "trades"},
        {{.initial_capital = R(1), .trades = &bad_side, .n_trades = 1}, "trades[0].side"},
        {{.initial_capital = R(1), .trades = &bad_qty, .n_trades = 1}, "trades[0].qty"},
        {{.initial_capital = R(1), .trades = &bad_charges, .n_trades = 1}, "trades[0].charges"},
        {{.initial_capital = R(1), .trades = &bad_bars, .n_trades = 1}, "trades[0].holding_bars"},
        {{.initial_capital = R(1), .trades = &bad_exit, .n_trades = 1}, "trades[0].exit_ts"},
        {{.initial_capital = R(1), .trades = &ok_trade, .n_trades = 1, .risk_free_annual = -1.0},
         "risk_free_annual"},
        {{.initial_capital = R(1), .risk_free_annual = NAN}, "risk_free_annual"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct metrics m;
        memset(&m, 0x77, sizeof m);
        struct metrics before = m;
        struct atp_err err;
        int rc = metrics_compute(&cases[i].in, &m, &err);
        cr_assert_eq(rc, ATP_EINVAL, "case %zu: rc %d", i, rc);
        cr_assert_str_eq(err.field, cases[i].field, "case %zu", i);
        cr_assert_eq(memcmp(&m, &before, sizeof m), 0, "case %zu: out untouched", i);
    }
    cr_assert_eq(metrics_compute(NULL, NULL, NULL), ATP_EINVAL);

    /* The series functions check the points the same way. */
    struct metrics_input in = {.initial_capital = R(1), .points = pts, .n_points = 2};
    double dd[2];
    struct atp_err err;
    cr_assert_eq(metrics_drawdown_series(&in, dd, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "points[1].ts");
    struct metrics_month *rows = (struct metrics_month *)dd;
    size_t n = 5;
    cr_assert_eq(metrics_monthly_returns(&in, &rows, &n, &err), ATP_EINVAL);
    cr_assert_null(rows);
    cr_assert_eq(n, 0);
    in.points = NULL;
    in.n_points = 0;
    in.initial_capital = 0;
    cr_assert_eq(metrics_drawdown_series(&in, dd, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "initial_capital");
}

Test(metrics_errors, sums_that_overflow_px)
{
    struct metrics_trade t[] = {closed(2, PX_MAX / 2 + 1, 0, 1), closed(3, PX_MAX / 2 + 1, 0, 1)};
    struct metrics_input in = trades_only(t, 2);
    struct metrics m;
    struct atp_err err;
    cr_assert_eq(metrics_compute(&in, &m, &err), ATP_EOVERFLOW);

    struct metrics_trade c[] = {closed(2, 0, PX_MAX, 1), closed(3, 0, 1, 1)};
    in = trades_only(c, 2);
    cr_assert_eq(metrics_compute(&in, &m, &err), ATP_EOVERFLOW);
}

/* Allocation failures leave nothing behind: the exit-order index (trades out of exit order) and
 * the monthly rows. */
Test(metrics_errors, out_of_memory_and_no_leaks)
{
    long live = atp_alloc_live();
    struct metrics_trade t[] = {closed(5, R(1), 0, 1), closed(3, -R(1), 0, 1)};
    struct metrics_input in = trades_only(t, 2);
    struct metrics m;
    memset(&m, 0x33, sizeof m);
    struct metrics before = m;
    struct atp_err err;
    atp_alloc_fail_after(1);
    cr_assert_eq(metrics_compute(&in, &m, &err), ATP_ENOMEM);
    atp_alloc_fail_after(0);
    cr_assert_eq(memcmp(&m, &before, sizeof m), 0);
    cr_assert_eq(atp_alloc_live(), live);

    struct metrics_point pts[5];
    five_day_points(pts);
    in.points = pts;
    in.n_points = 5;
    struct metrics_month *rows = NULL;
    size_t n = 0;
    atp_alloc_fail_after(1);
    cr_assert_eq(metrics_monthly_returns(&in, &rows, &n, &err), ATP_ENOMEM);
    atp_alloc_fail_after(0);
    cr_assert_null(rows);
    cr_assert_eq(n, 0);
    cr_assert_eq(atp_alloc_live(), live);

    /* The successful paths release what they borrowed; the monthly rows are the caller's. */
    m = compute_ok(&in);
    cr_assert_eq(m.max_consecutive_wins, 1);
    cr_assert_eq(m.max_consecutive_losses, 1);
    cr_assert_eq(atp_alloc_live(), live);
    cr_assert_eq(metrics_monthly_returns(&in, &rows, &n, &err), ATP_OK);
    cr_assert_eq(n, 1);
    assert_near(rows[0].return_pct, 3.03);
    cr_assert_eq(atp_alloc_live(), live + 1);
    atp_free(rows);
    cr_assert_eq(atp_alloc_live(), live);
}
