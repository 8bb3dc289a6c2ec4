/* backtest/data: what one backtest runs on, built the same way whatever the bars' origin (the bar
 * CSV files of `atp backtest`, a CSV uploaded to the API, simulator bars, the server's candles):
 * a registry of just the run's instruments, the bars in time order, and the cost model made
 * from the options `atp backtest` and POST /api/v1/backtests share. One owner thread; the value
 * is read-only while bt_run reads it.
 *
 * Instruments: a symbol found in the master registry is copied with its lot, tick and type (so
 * charges and lot checks are the real ones); any other symbol is traded as a plain NSE equity
 * with tick 0.01 and lot 1 (the caller may tell the user: *unknown_out). */
#ifndef ATP_BACKTEST_DATA_H
#define ATP_BACKTEST_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "backtest/runner.h"
#include "core/err.h"
#include "model/instrument.h"
#include "portfolio/charges.h"
#include "strategy/host.h"

struct bt_data {
    struct instreg *reg;                            /* owned: the run's instruments only */
    struct bt_bar *bars;                            /* n bars (time order after bt_data_sort) */
    size_t n, cap;
    uint32_t instruments[STRAT_MAX_INSTRUMENTS];    /* ids in reg, in order of first appearance */
    int n_instruments;
};

/* Empty data with its own registry. ATP_ENOMEM. bt_data_cleanup is allowed after a failure. */
int bt_data_init(struct bt_data *d, struct atp_err *err);
void bt_data_cleanup(struct bt_data *d);

/* Appends one bar of symbol (resolved as above; master may be NULL). *unknown_out (optional) is
 * set to 1 when this call added a symbol absent from master, else 0. Errors: ATP_ERANGE (field
 * "symbols") for a symbol beyond STRAT_MAX_INSTRUMENTS, ATP_EINVAL (field "symbol") for an
 * empty or over-long symbol, ATP_ENOMEM; d is unchanged then. */
int bt_data_add(struct bt_data *d, const struct instreg *master, const char *symbol, const struct bar *bar,
                int *unknown_out, struct atp_err *err);

/* Sorts the bars by start time, stably (ties keep the order they were added in, so bars of
 * several files or symbols interleave deterministically). */
void bt_data_sort(struct bt_data *d);

/* The cost model of a run. */
struct bt_costs {
    struct charges_model model;
    struct charges_table *rates;       /* owned (the Indian rates), NULL otherwise */
    const struct charges_model *use;   /* what bt_config.charges takes: NULL for none */
};

#define BT_DEFAULT_COMMISSION 0.0003 /* 0.03% of turnover per side when nothing is said */

/* kind "india": the dated Indian rates of charges_csv (data/charges.csv); "none": no charges;
 * NULL or "flat": a flat commission_frac of turnover per side (0.0003 = 0.03%; negative: the
 * default BT_DEFAULT_COMMISSION). ATP_EINVAL (field "charges") for another kind, the rate
 * file's errors. */
int bt_costs_init(struct bt_costs *c, const char *kind, double commission_frac, const char *charges_csv,
                  struct atp_err *err);
void bt_costs_cleanup(struct bt_costs *c);

#endif
