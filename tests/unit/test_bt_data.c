/* backtest/data (the bars and instruments of a run, the cost model) and the runner's progress and
 * cancellation callbacks. */
#include <criterion/criterion.h>
#include <string.h>

#include "backtest/data.h"
#include "backtest/runner.h"
#include "core/alloc.h"
#include "core/cal.h"

static struct bar day_bar(int day, px_t close)
{
    struct bar b = {0};
    b.start = ts_from_ist(2026, 1, 5 + day, 9, 15, 0);
    b.open = b.high = b.low = b.close = close;
    b.high += 100;
    b.volume = 10;
    b.ticks = 1;
    return b;
}

Test(bt_data, copies_known_instruments_and_adds_unknown_ones)
{
    struct atp_err err;
    struct instreg *master = instreg_new();
    struct instrument lot = {.exchange = EXCH_NSE, .type = INST_EQ, .lot_size = 25, .tick_size = 500,
                             .expiry_day = -1};
    snprintf(lot.symbol, sizeof lot.symbol, "BIGLOT");
    cr_assert_eq(instreg_add(master, &lot, NULL), ATP_OK);
    struct bt_data d;
    cr_assert_eq(bt_data_init(&d, &err), ATP_OK);
    struct bar b = day_bar(0, 1000000);
    int unknown = -1;
    cr_assert_eq(bt_data_add(&d, master, "BIGLOT", &b, &unknown, &err), ATP_OK);
    cr_assert_eq(unknown, 0);
    cr_assert_eq(bt_data_add(&d, master, "NEWCO", &b, &unknown, &err), ATP_OK);
    cr_assert_eq(unknown, 1, "the first bar of an unknown symbol says so");
    cr_assert_eq(bt_data_add(&d, master, "NEWCO", &b, &unknown, &err), ATP_OK);
    cr_assert_eq(unknown, 0, "only once");
    cr_assert_eq(d.n_instruments, 2);
    cr_assert_eq(d.n, 3);
    const struct instrument *in = instreg_get(d.reg, d.instruments[0]);
    cr_assert_eq(in->lot_size, 25, "lot and tick come from the master");
    cr_assert_eq(in->tick_size, 500);
    in = instreg_get(d.reg, d.instruments[1]);
    cr_assert_str_eq(in->symbol, "NEWCO");
    cr_assert_eq(in->lot_size, 1);
    cr_assert_eq(in->tick_size, 100);
    cr_assert_eq(bt_data_add(&d, master, "", &b, NULL, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "symbol");
    bt_data_cleanup(&d);
    bt_data_cleanup(&d); /* a second cleanup is a no-op */
    instreg_free(master);
}

Test(bt_data, symbol_limit_is_an_error_naming_symbols)
{
    struct atp_err err;
    struct bt_data d;
    cr_assert_eq(bt_data_init(&d, &err), ATP_OK);
    struct bar b = day_bar(0, 1000000);
    char sym[16];
    for (int i = 0; i < STRAT_MAX_INSTRUMENTS; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        cr_assert_eq(bt_data_add(&d, NULL, sym, &b, NULL, &err), ATP_OK);
    }
    cr_assert_eq(bt_data_add(&d, NULL, "ONEMORE", &b, NULL, &err), ATP_ERANGE);
    cr_assert_str_eq(err.field, "symbols");
    cr_assert_eq(d.n, STRAT_MAX_INSTRUMENTS, "unchanged by the failed add");
    bt_data_cleanup(&d);
}

Test(bt_data, sort_is_stable_by_time)
{
    struct atp_err err;
    struct bt_data d;
    cr_assert_eq(bt_data_init(&d, &err), ATP_OK);
    /* Two symbols added file after file: A days 0..99, then B days 0..99. */
    for (int s = 0; s < 2; s++)
        for (int day = 0; day < 100; day++) {
            struct bar b = day_bar(day, 1000000 + s);
            cr_assert_eq(bt_data_add(&d, NULL, s ? "B" : "A", &b, NULL, &err), ATP_OK);
        }
    bt_data_sort(&d);
    for (size_t i = 0; i < d.n; i++) {
        cr_assert_eq(d.bars[i].bar.start, day_bar((int)(i / 2), 0).start, "bar %zu in time order", i);
        cr_assert_eq(d.bars[i].instrument_id, d.instruments[i % 2], "ties keep the order added (%zu)", i);
    }
    bt_data_cleanup(&d);
}

Test(bt_costs, kinds)
{
    struct atp_err err;
    struct bt_costs c;
    cr_assert_eq(bt_costs_init(&c, "none", -1, NULL, &err), ATP_OK);
    cr_assert_null(c.use);
    cr_assert_eq(bt_costs_init(&c, NULL, -1, NULL, &err), ATP_OK);
    cr_assert_not_null(c.use);
    cr_assert_eq(c.use->kind, CHARGES_MODEL_FLAT);
    charges_rate_t def = c.model.flat_rate;
    cr_assert_eq(bt_costs_init(&c, "flat", 0.0003, NULL, &err), ATP_OK);
    cr_assert_eq(c.model.flat_rate, def, "the default is 0.03%%");
    cr_assert_eq(bt_costs_init(&c, "flat", 0, NULL, &err), ATP_OK);
    cr_assert_eq(c.model.flat_rate, 0);
    cr_assert_eq(bt_costs_init(&c, "percent", 0, NULL, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "charges");
    bt_costs_cleanup(&c);
}

/* ---- the runner's callbacks ---- */

struct watch {
    size_t calls, last_done, total;
    size_t stop_after; /* 0: never */
};

static void on_progress(void *ctx, size_t done, size_t total)
{
    struct watch *w = ctx;
    cr_assert_geq(done, w->last_done, "progress never goes back");
    w->calls++;
    w->last_done = done;
    w->total = total;
}

static int stop_now(void *ctx)
{
    struct watch *w = ctx;
    return w->stop_after && w->last_done >= w->stop_after;
}

static void run_days(size_t n_days, struct watch *w, int *rc_out, struct backtest_result *res, struct atp_err *err)
{
    struct bt_data d;
    cr_assert_eq(bt_data_init(&d, err), ATP_OK);
    for (size_t i = 0; i < n_days; i++) {
        struct bar b = day_bar(0, 1000000 + (px_t)((i * 7919) % 2000) * 100);
        b.start += (ts_ns)i * 86400 * TS_NS_PER_SEC;
        cr_assert_eq(bt_data_add(&d, NULL, "TCS", &b, NULL, err), ATP_OK);
    }
    struct cal *cal = cal_new();
    struct ind_param params[2] = {{"fast", 2}, {"slow", 3}};
    struct bt_config cfg = {.cal = cal, .reg = d.reg, .strategy = "sma_crossover", .params = params,
                            .n_params = 2, .instruments = d.instruments, .n_instruments = d.n_instruments,
                            .source_tf = TF_1D, .tf = TF_1D, .capital = 100000 * PX_SCALE,
                            .risk = {.qty = 1, .product = ORDER_PRODUCT_CNC}, .fill_next_open = 1,
                            .progress = on_progress, .should_stop = stop_now, .progress_ctx = w};
    *rc_out = bt_run(&cfg, d.bars, d.n, res, err);
    cal_free(cal);
    bt_data_cleanup(&d);
}

Test(bt_runner, progress_reaches_the_total)
{
    struct watch w = {0};
    struct backtest_result res;
    struct atp_err err;
    int rc;
    run_days(5000, &w, &rc, &res, &err);
    cr_assert_eq(rc, ATP_OK, "%s", err.msg);
    cr_assert_eq(w.last_done, 5000);
    cr_assert_eq(w.total, 5000);
    cr_assert_geq(w.calls, 5000 / BT_POLL_BARS);
    result_cleanup(&res);
}

Test(bt_runner, stop_ends_the_run_promptly_with_a_named_error)
{
    struct watch w = {.stop_after = 2000};
    struct backtest_result res;
    struct atp_err err;
    int rc;
    run_days(20000, &w, &rc, &res, &err);
    cr_assert_eq(rc, ATP_ESTATE);
    cr_assert_str_eq(err.field, "cancelled");
    cr_assert_lt(w.last_done, 2000 + BT_POLL_BARS + 1, "stopped within one poll interval");
    cr_assert_not(res.finished, "no result is left behind");
}
