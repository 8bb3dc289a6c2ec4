/* analytics/analytics: an account's performance over a period, from its stored fills: the
 * numbers behind GET /api/v1/accounts/{id}/analytics (issue 5 §7) and the dashboard's analytics
 * page. Pure: no I/O, no globals, any thread.
 *
 * How. The fills (every fill of one account and mode, from the first, in time order: positions
 * opened before the period matter) are replayed through a fresh portfolio (portfolio/portfolio.h),
 * so positions, realized P&L and charges are the ledger's own arithmetic, never a second cost
 * basis; round trips come from backtest/trips.h, one tracker per strategy (manual trading is
 * strategy 0), and the metrics from backtest/metrics.h. So a backtest and an account's analytics
 * compute every number with the same code.
 *
 * Equity curve: one point at the period's start (the equity then: initial capital plus
 * everything before) and one after every fill in the period, valued at the last fill price of
 * each instrument; a last point at the period's end valued at the given marks (last prices),
 * when there are any. The period's metrics are measured against the equity at its start.
 *
 * Trades: round trips closed inside the period, then the trips still open at the end (valued at
 * the marks). Breakdowns by hour of day and weekday (IST) use a closed trip's exit time. */
#ifndef ATP_ANALYTICS_ANALYTICS_H
#define ATP_ANALYTICS_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#include "backtest/metrics.h"
#include "core/err.h"
#include "model/order.h"

struct analytics_fill {
    struct fill fill;            /* instrument_id < n_instruments, qty, price, side, ts, mode */
    uint64_t strategy_id;        /* 0: a manual order */
    enum order_product product;
    px_t charges;                /* >= 0 */
    const char *symbol;          /* borrowed; names the trades */
};

struct analytics_mark {
    uint32_t instrument_id;
    px_t price;                  /* > 0 */
};

struct analytics_input {
    px_t initial_capital;                 /* > 0 */
    const struct analytics_fill *fills;   /* time order */
    size_t n_fills;
    ts_ns from, to;                       /* the period [from, to]; INT64_MIN..INT64_MAX: all */
    const struct analytics_mark *marks;   /* last prices at `to` (may be none) */
    size_t n_marks;
    size_t n_instruments;                 /* instrument ids are below this */
    double risk_free_annual;              /* as metrics_input */
};

struct analytics_strategy {
    uint64_t strategy_id;
    int64_t trades;          /* closed in the period */
    int64_t wins, losses;
    px_t net_pnl;            /* closed trades' pnl (net of charges) */
    px_t charges;
    double win_rate_pct;     /* NaN with no closed trades */
};

struct analytics_bucket {
    int64_t trades;
    int64_t wins;
    px_t pnl;                /* net, closed trades */
};

struct analytics {
    struct metrics summary;                 /* against the equity at the period's start */
    struct metrics_point *points;           /* the equity curve, n_points */
    double *drawdown_pct;                   /* per point, <= 0 */
    size_t n_points;
    struct metrics_trade *trades;           /* closed in the period, then open at the end */
    uint64_t *trade_strategy;               /* strategy id of each trade */
    size_t n_trades;
    struct analytics_strategy *strategies;  /* by strategy id, ascending; every strategy with a
                                               fill, even with no closed trade in the period */
    size_t n_strategies;
    struct analytics_bucket by_hour[24];    /* IST hour of exit */
    struct analytics_bucket by_weekday[7];  /* 0 = Sunday */
    double avg_holding_s;                   /* closed trades; NaN with none */
    int64_t min_holding_s, max_holding_s;   /* 0 with none */
    int64_t best_trade, worst_trade;        /* indexes into trades (closed ones), -1 with none */
    px_t equity_start;                      /* equity at the period's start */
    px_t realized, charges;                 /* over the period (closed and partial exits) */
};

/* Computes *out (zeroed first; release with analytics_free, also after a failure). ATP_EINVAL
 * with err->field naming the input ("fills[3].ts" out of order, an instrument id out of range, a
 * bad charge, capital <= 0, marks[i].price <= 0), ATP_EOVERFLOW, ATP_ENOMEM. */
int analytics_compute(const struct analytics_input *in, struct analytics *out, struct atp_err *err);
void analytics_free(struct analytics *a);

#endif
