/* backtest/result: the value a backtest produces (what ran, the equity curve with its drawdown,
 * the trades, the metrics, the monthly returns) and its machine-readable writers: the JSON
 * document of `atp backtest --json` and the trade CSV of `--trades`. The schema is stable and
 * documented in docs/backtest-output.md; the HTML report (backtest/report) reads the same value.
 *
 * Life cycle: result_init copies the run's description; the runner then appends equity points and
 * trades (result_add_point, result_add_trade); result_finish computes the metrics, the drawdown
 * series and the monthly returns (backtest/metrics) and freezes the value; the writers need a
 * finished result. result_cleanup releases everything. One thread owns a result while it is built;
 * a finished result is read-only and any thread may write it out. */
#ifndef ATP_BACKTEST_RESULT_H
#define ATP_BACKTEST_RESULT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backtest/metrics.h"
#include "core/err.h"
#include "core/px.h"
#include "core/ts.h"
#include "md/params.h"

/* What the runner was asked to run. Strings are copied by result_init; NULL pointers are allowed
 * only where a count is 0. Every string must be valid UTF-8 (they end up in JSON and HTML). */
struct result_config {
    const char *strategy;               /* strategy name, e.g. "sma_cross" (required, non-empty) */
    const struct ind_param *params;     /* resolved parameters as run, n_params entries */
    int n_params;
    const char *const *symbols;         /* instruments traded, n_symbols entries */
    size_t n_symbols;
    const char *timeframe;              /* bar timeframe as text ("5m", "1d"); NULL: unknown */
    px_t initial_capital;               /* > 0 */
    double risk_free_annual;            /* for Sharpe/Sortino, as metrics_input (0 = none) */
};

struct result_param {
    char *name;   /* owned */
    double value;
};

struct backtest_result {
    /* What ran (owned copies). */
    char *strategy;
    struct result_param *params;
    size_t n_params;
    char **symbols;
    size_t n_symbols;
    char *timeframe;               /* NULL when unknown */
    ts_ns period_first;            /* first bar time (see result_set_period) */
    ts_ns period_last;             /* last bar time */
    int has_period;                /* 0: no bar was seen (no points and no result_set_period) */
    px_t initial_capital;
    double risk_free_annual;

    /* Appended by the runner. trades[i].symbol points into memory owned by the result. */
    struct metrics_point *points;
    size_t n_points;
    struct metrics_trade *trades;
    size_t n_trades;

    /* Filled by result_finish. */
    struct metrics metrics;
    double *drawdown_pct;          /* n_points entries, <= 0 (metrics_drawdown_series) */
    struct metrics_month *months;  /* n_months IST calendar months, in time order */
    size_t n_months;
    int finished;                  /* 1 after a successful result_finish */

    size_t cap_points;             /* allocated entries of points / trades (internal) */
    size_t cap_trades;
};

/* Initialises r (storage the caller provides) from cfg, copying every string. Fails with
 * ATP_EINVAL (err->field "strategy", "params[1].name", "params[1].value", "symbols[0]",
 * "timeframe", "initial_capital", "risk_free_annual") for a missing or empty strategy, a NULL
 * array with a non-zero count, a NULL or non-UTF-8 string, a non-finite parameter value,
 * initial_capital <= 0 or a bad rate; ATP_ENOMEM when a copy fails. On failure r is left empty
 * (result_cleanup is allowed and does nothing). err may be NULL. */
int result_init(struct backtest_result *r, const struct result_config *cfg, struct atp_err *err);

/* Releases everything r owns and leaves it zeroed (so a second cleanup is a no-op). r may be
 * NULL; a zero-filled struct is fine. */
void result_cleanup(struct backtest_result *r);

/* Records the first and last bar time of the run (first <= last), the "period" the report shows.
 * Without it, result_finish takes the times of the first and last equity point. ATP_EINVAL when
 * first > last, ATP_ESTATE after result_finish. */
int result_set_period(struct backtest_result *r, ts_ns first, ts_ns last, struct atp_err *err);

/* Appends one equity point (one per bar or per event, in time order, equal times allowed:
 * metrics.h). Ordering is checked by result_finish. ATP_ESTATE after result_finish, ATP_ENOMEM
 * (the result unchanged) when the array cannot grow. Amortised O(1). */
int result_add_point(struct backtest_result *r, ts_ns ts, px_t equity, int in_market,
                     struct atp_err *err);

/* Appends a copy of one trade, symbol included (a closed round trip, or a position still open
 * at the end with is_open = 1: it stays in the list with no exit, its pnl being the unrealised
 * P&L at the last close net of charges paid so far). The symbol must be non-NULL, non-empty
 * UTF-8: ATP_EINVAL (field "trades[N].symbol") otherwise; the other fields are validated by
 * result_finish (metrics_compute). ATP_ESTATE after result_finish, ATP_ENOMEM (result
 * unchanged). */
int result_add_trade(struct backtest_result *r, const struct metrics_trade *trade,
                     struct atp_err *err);

/* Computes the metrics, the drawdown series and the monthly returns, and freezes r. Errors of
 * metrics_compute pass through (ATP_EINVAL naming "points[3].ts", "trades[2].qty"...,
 * ATP_EOVERFLOW, ATP_ENOMEM); r is then unchanged and still open for appends. ATP_ESTATE when
 * already finished. */
int result_finish(struct backtest_result *r, struct atp_err *err);

/* pnl as a percentage of the trade's entry notional: pnl / (entry_px * qty) * 100. NaN when the
 * notional is 0. Same for long and short trades (a short's notional is what it sold). */
double result_trade_pnl_pct(const struct metrics_trade *t);

/* Writes the JSON document of docs/backtest-output.md to out:
 *   {"metrics":{...22 keys...},"trades":[{...11 keys...}],"equity_curve":[{time,equity,
 *   drawdown_pct}]}
 * keys in that order, times ISO 8601 IST with offset, money as JSON numbers written digit by
 * digit from fixed point (exact for every px_t), ratios with 15 significant digits, NaN and
 * infinite doubles (profit_factor with no losing trades) as null, an open trade's exit_time and
 * exit_price as null. Top level and metrics are indented, one trade or point per line. Streams:
 * memory does not grow with the curve. ATP_ESTATE when r is not finished; ATP_EIO (err->msg from
 * errno) when writing fails. err may be NULL. */
int result_write_json(const struct backtest_result *r, FILE *out, struct atp_err *err);

/* The same document on one line with every '<', '>', '&', U+2028 and U+2029 inside strings
 * escaped as \uXXXX, so it can sit inside an HTML <script> element: no "</script>" or "<!--"
 * can appear in it. Used by the HTML report. Same errors as result_write_json. */
int result_write_json_html(const struct backtest_result *r, FILE *out, struct atp_err *err);

/* Writes the trade list as RFC 4180 CSV with the header
 *   symbol,side,qty,entry_time,entry_price,exit_time,exit_price,pnl,pnl_pct,charges,holding_bars
 * side "long"/"short", times ISO 8601 IST, money exact, pnl_pct with 15 significant digits, empty
 * fields for an open trade's exit and for an undefined pnl_pct; a symbol holding ',', '"', CR or
 * LF is quoted. Lines end with "\n". Same errors as result_write_json. */
int result_write_trades_csv(const struct backtest_result *r, FILE *out, struct atp_err *err);

#endif
