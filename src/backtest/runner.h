/* backtest/runner: runs one strategy over bar data through the trading kernel (the same kernel
 * that paper-trades: "one kernel, three clocks"), on a simulated clock, and collects the result:
 * the equity curve, the round-trip trades and, through backtest/result, the metrics.
 *
 * Fills: the paper broker with the given slippage. `fill_next_open` (the default of `atp backtest`):
 * a market order decided at a bar's close fills at the next bar's open; otherwise at the signal
 * bar's close. An order needing more cash than the account has is rejected with a reason, never
 * shrunk. A position still open at the end stays open (valued at the last close).
 *
 * Data: bars of one timeframe (the source), any number of instruments, sorted by time; the
 * strategy runs on `tf`, equal to or coarser than the source (bars fold like live data).
 * Calendar: backtests use the calendar the caller gives (app/ uses weekends only, so any market's
 * history trades on the days it has data).
 *
 * A runner is a plain function over values: many can run at once on different threads. */
#ifndef ATP_BACKTEST_RUNNER_H
#define ATP_BACKTEST_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "backtest/result.h"
#include "core/cal.h"
#include "kernel/kernel.h"

/* One source bar of one instrument. */
struct bt_bar {
    uint32_t instrument_id;
    struct bar bar;
};

struct bt_config {
    const struct cal *cal;
    const struct instreg *reg;
    const char *strategy;            /* registry name */
    const struct ind_param *params;
    int n_params;
    const uint32_t *instruments;     /* traded instruments (1..STRAT_MAX_INSTRUMENTS) */
    int n_instruments;
    enum tf source_tf;               /* timeframe of the bars */
    enum tf tf;                      /* the strategy's timeframe (>= source_tf) */
    px_t capital;                    /* initial cash, > 0 */
    struct strat_risk risk;          /* qty or sizing, protective stops, product */
    int64_t slippage_ppm;            /* paper broker slippage (500 = 0.05%) */
    const struct charges_model *charges; /* NULL: none */
    int fill_next_open;
    double risk_free_annual;
    /* Progress: called every BT_POLL_BARS bars and after the last with done/total; may be NULL. */
    void (*progress)(void *ctx, size_t done, size_t total);
    /* Cancellation: polled every BT_POLL_BARS bars (so a stop takes effect within about a
     * millisecond of run time); non-zero stops the run, which then fails with ATP_ESTATE and
     * err->field "cancelled". May be NULL. Called on the running thread, like progress. */
    int (*should_stop)(void *ctx);
    void *progress_ctx;              /* ctx of progress and should_stop */
};

#define BT_POLL_BARS 1024

/* Runs cfg over bars[0..n) (time order, filtered by the caller) and fills *out (initialised here,
 * finished: metrics computed; the caller cleans it up). Errors: ATP_EINVAL/ATP_ENOTFOUND for a
 * bad configuration (err names the field: "strategy", a parameter, "tf"), ATP_ENOMEM, ATP_ESTATE
 * (field "cancelled") when cfg->should_stop asked to stop. */
int bt_run(const struct bt_config *cfg, const struct bt_bar *bars, size_t n,
           struct backtest_result *out, struct atp_err *err);

#endif
