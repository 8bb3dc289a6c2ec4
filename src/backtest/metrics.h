/* backtest/metrics: performance metrics of an equity curve and a trade list, for the backtest
 * report and the analytics API. Pure functions: no I/O, no globals, callable from any thread on
 * inputs nobody mutates meanwhile. Formulas and conventions, with their sources: docs/metrics.md.
 *
 * Money stays exact (px_t) where a metric is a sum of px_t amounts or an average of them
 * (averages rounded to the paisa, half away from zero). Ratios are doubles. A double that is
 * undefined for the input (Sharpe of flat returns, CAGR over less than a day, win rate with no
 * closed trades...) is NaN; the only infinite value is profit_factor = +INFINITY when there are
 * winning but no losing trades. JSON writers print every non-finite double as null. */
#ifndef ATP_BACKTEST_METRICS_H
#define ATP_BACKTEST_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/px.h"
#include "core/ts.h"

#define METRICS_TRADING_DAYS 252 /* annualization factor for daily returns (NSE ~ 248-252) */

/* One point of the equity curve: one per bar or per event, in time order (equal times allowed). */
struct metrics_point {
    ts_ns ts;       /* time of the point, UTC ns */
    px_t equity;    /* cash + marked-to-market positions at ts */
    int in_market;  /* 1 when a position was open at this point, else 0 (for exposure_pct) */
};

enum metrics_side {
    METRICS_LONG = 1,
    METRICS_SHORT = -1,
};

/* One trade (a round trip, or an open position when is_open). */
struct metrics_trade {
    const char *symbol;    /* not read by the metrics; may be NULL */
    int side;              /* enum metrics_side */
    int64_t qty;           /* > 0 */
    ts_ns entry_ts;
    px_t entry_px;
    int is_open;           /* 1: still open, exit_* ignored and pnl is not a closed result */
    ts_ns exit_ts;         /* closed trades: >= entry_ts; orders the win/loss streaks */
    px_t exit_px;
    px_t pnl;              /* realised P&L net of charges (closed trades) */
    px_t charges;          /* charges paid so far (both legs when closed), >= 0 */
    int64_t holding_bars;  /* bars held, >= 0 */
};

struct metrics_input {
    px_t initial_capital;                /* > 0; equity before the first point */
    const struct metrics_point *points;  /* n_points entries (NULL when n_points == 0) */
    size_t n_points;
    const struct metrics_trade *trades;  /* n_trades entries (NULL when n_trades == 0) */
    size_t n_trades;
    double risk_free_annual;             /* annual risk-free rate as a fraction (0.065 = 6.5%);
                                            0 for none; finite, > -1 */
};

/* The metrics of the backtest JSON schema (names kept as the schema spells them). */
struct metrics {
    px_t initial_capital;
    px_t final_equity;          /* equity of the last point (initial_capital when no points) */
    double total_return_pct;    /* (final - initial) / initial * 100 */
    double cagr_pct;            /* NaN when first..last point spans under one day */
    double max_drawdown_pct;    /* <= 0: deepest fall below the running peak, % of that peak */
    px_t max_drawdown_abs;      /* <= 0: largest fall below the running peak, in money */
    double sharpe;              /* annualized, daily returns; NaN under 2 days or flat returns */
    double sortino;             /* annualized, daily returns; NaN under 2 days or no downside */
    double calmar;              /* cagr_pct / |max_drawdown_pct|; NaN when either is 0/NaN */
    double win_rate_pct;        /* winning / closed trades * 100; NaN with no closed trades */
    double profit_factor;       /* gross profit / |gross loss|; +INFINITY: no losses; NaN: neither */
    px_t avg_win;               /* mean pnl of winning trades (> 0), 0 when none */
    px_t avg_loss;              /* mean pnl of losing trades (< 0, so <= 0), 0 when none */
    px_t expectancy;            /* mean pnl per closed trade, 0 when none */
    int64_t trades;             /* closed trades */
    int64_t winning_trades;     /* closed trades with pnl > 0 */
    int64_t losing_trades;      /* closed trades with pnl < 0 (pnl == 0 is neither) */
    double exposure_pct;        /* points with in_market / points * 100; NaN with no points */
    double avg_holding_bars;    /* mean holding_bars of closed trades; NaN with none */
    int64_t max_consecutive_wins;   /* longest run of wins in exit order (a 0 pnl breaks it) */
    int64_t max_consecutive_losses; /* longest run of losses in exit order */
    px_t total_charges;         /* charges of all trades, closed and open */
};

/* One row of the monthly returns table (IST calendar months). */
struct metrics_month {
    int year;
    int month;          /* 1..12 */
    double return_pct;  /* last equity of the month vs the last equity before it (the previous
                           month with points, or initial_capital); NaN when that base is <= 0 */
};

/* Computes every metric of in into *out. Validates the input first: initial_capital <= 0, a NULL
 * array with a non-zero count, points out of time order, a trade with a bad side, qty <= 0,
 * negative charges or holding_bars, an exit before its entry, or a bad risk_free_annual give
 * ATP_EINVAL with err->field naming the input ("points[3].ts") and *out untouched. Sums that
 * overflow px_t give ATP_EOVERFLOW. May allocate a temporary index (freed before return) when the
 * closed trades are not in exit order: ATP_ENOMEM then. err may be NULL. */
int metrics_compute(const struct metrics_input *in, struct metrics *out, struct atp_err *err);

/* Writes the drawdown of every point, as in max_drawdown_pct (<= 0, % below the running peak,
 * which starts at initial_capital), into drawdown_pct[0..n_points-1], an array the caller
 * provides. Same validation of the points as metrics_compute; never allocates. */
int metrics_drawdown_series(const struct metrics_input *in, double *drawdown_pct,
                            struct atp_err *err);

/* Monthly returns, one row per IST calendar month that has at least one point, in time order.
 * On ATP_OK *months is an atp_malloc'd array of *n_months rows that the caller releases with
 * atp_free (NULL and 0 when there are no points). On failure (ATP_EINVAL as metrics_compute,
 * ATP_ENOMEM) *months is NULL and *n_months 0. */
int metrics_monthly_returns(const struct metrics_input *in, struct metrics_month **months,
                            size_t *n_months, struct atp_err *err);

#endif
