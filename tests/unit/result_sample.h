/* A small hand-made backtest result shared by test_result.c and test_report.c. Every expected
 * value the tests assert is worked out by hand in the comments below.
 *
 * Capital 1,00,000. Equity points (15:30 IST each day):
 *   2024-01-01 100000       flat
 *   2024-01-02 103200.1     in market   new peak
 *   2024-01-03 101000       in market   drawdown -2200.1 = -2.13187777... % of 103200.1 (deepest)
 *   2024-02-01 124000.5     flat        new peak
 *   2024-02-02 123456.78    in market   -543.72 = -0.43848... % of 124000.5
 * final 123456.78: total return 23456.78 / 100000 = 23.45678 %; exposure 3/5 = 60 %.
 * Monthly: Jan 101000 / 100000 - 1 = 1.00 %; Feb 123456.78 / 101000 - 1 = 22.2344356... %;
 * 2024 compounded: 1.01 * 1.222344356... - 1 = 23.45678 %.
 *
 * Trades:
 *   RELIANCE long 10 @ 2450.5 (01-01) -> 2600.05 (01-03): gross 1495.5, charges 20.5, pnl 1475,
 *     pnl_pct 1475 / 24505 * 100, 2 bars
 *   TCS short 5 @ 3200.1 (01-02) -> 3300 (02-01): gross -499.5, charges 12.25, pnl -511.75,
 *     pnl_pct -511.75 / 16000.5 * 100, 4 bars
 *   INFY long 3 @ 1500.0025 (02-02), still open: pnl -3.5 at the last close, charges 1.75, 0 bars
 * Closed: 2, won 1, lost 1, win rate 50 %, profit factor 1475 / 511.75 = 2.8822...,
 * avg win 1475, avg loss -511.75, expectancy (1475 - 511.75) / 2 = 481.625 -> 481.63 (paisa, half
 * away from zero), avg holding (2 + 4) / 2 = 3 bars, streaks 1 and 1, charges 20.5 + 12.25 + 1.75
 * = 34.5 (the open trade's too). */
#ifndef ATP_TEST_RESULT_SAMPLE_H
#define ATP_TEST_RESULT_SAMPLE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "backtest/result.h"
#include "core/alloc.h"

#define PX(text) sample_px(text)

static inline px_t sample_px(const char *text)
{
    px_t v = 0;
    cr_assert_eq(px_parse(text, strlen(text), &v, NULL), ATP_OK, "bad px '%s'", text);
    return v;
}

static inline ts_ns sample_close(int month, int day)
{
    return ts_from_ist(2024, month, day, 15, 30, 0);
}

/* Initialises r with the run description of the sample (or the given strategy/symbol names). */
static inline void sample_init_named(struct backtest_result *r, const char *strategy,
                                     const char *const *symbols, size_t n_symbols)
{
    static const struct ind_param params[] = {{"fast", 10}, {"slow", 30}};
    struct result_config cfg = {
        .strategy = strategy,
        .params = params,
        .n_params = 2,
        .symbols = symbols,
        .n_symbols = n_symbols,
        .timeframe = "1d",
        .initial_capital = PX_RUPEES(100000),
    };
    struct atp_err err;
    cr_assert_eq(result_init(r, &cfg, &err), ATP_OK, "%s", err.msg);
}

static inline void sample_add_trades(struct backtest_result *r, const char *const *names)
{
    struct metrics_trade t[3] = {
        {.symbol = names[0], .side = METRICS_LONG, .qty = 10, .entry_ts = sample_close(1, 1),
         .entry_px = PX("2450.5"), .exit_ts = sample_close(1, 3), .exit_px = PX("2600.05"),
         .pnl = PX("1475"), .charges = PX("20.5"), .holding_bars = 2},
        {.symbol = names[1], .side = METRICS_SHORT, .qty = 5, .entry_ts = sample_close(1, 2),
         .entry_px = PX("3200.1"), .exit_ts = sample_close(2, 1), .exit_px = PX("3300"),
         .pnl = PX("-511.75"), .charges = PX("12.25"), .holding_bars = 4},
        {.symbol = names[2], .side = METRICS_LONG, .qty = 3, .entry_ts = sample_close(2, 2),
         .entry_px = PX("1500.0025"), .is_open = 1, .pnl = PX("-3.5"), .charges = PX("1.75"),
         .holding_bars = 0},
    };
    for (int i = 0; i < 3; i++)
        cr_assert_eq(result_add_trade(r, &t[i], NULL), ATP_OK);
}

static inline void sample_add_points(struct backtest_result *r)
{
    cr_assert_eq(result_add_point(r, sample_close(1, 1), PX("100000"), 0, NULL), ATP_OK);
    cr_assert_eq(result_add_point(r, sample_close(1, 2), PX("103200.1"), 1, NULL), ATP_OK);
    cr_assert_eq(result_add_point(r, sample_close(1, 3), PX("101000"), 1, NULL), ATP_OK);
    cr_assert_eq(result_add_point(r, sample_close(2, 1), PX("124000.5"), 0, NULL), ATP_OK);
    cr_assert_eq(result_add_point(r, sample_close(2, 2), PX("123456.78"), 1, NULL), ATP_OK);
}

/* The whole sample, finished. */
static inline void sample_build(struct backtest_result *r)
{
    static const char *const symbols[] = {"RELIANCE", "TCS", "INFY"};
    sample_init_named(r, "sma_cross", symbols, 3);
    sample_add_points(r);
    sample_add_trades(r, symbols);
    struct atp_err err;
    cr_assert_eq(result_finish(r, &err), ATP_OK, "%s", err.msg);
}

/* Runs a writer into a temporary file; returns the malloc'd text (free) and the status in *rc. */
static inline char *sample_render(int (*write)(const struct backtest_result *, FILE *,
                                               struct atp_err *),
                                  const struct backtest_result *r, int *rc,
                                  struct atp_err *err)
{
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    *rc = write(r, f, err);
    long len = ftell(f);
    cr_assert(len >= 0);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

#endif
