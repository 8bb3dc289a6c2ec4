/* atp bench backtest: the trading kernel's speed.
 *   bars_per_sec:      sma_crossover(10, 30) over N one-minute bars of one instrument through
 *                      bt_run (every bar: four path ticks to the paper broker, portfolio and stops,
 *                      then candles, indicators and the strategy), fills at next open;
 *   tick_to_fill_ns:   one tick into the kernel, then a market order through the risk gate, the
 *                      OMS and the paper broker to its fill (the in-process order path), p50/p99;
 *   many_strategies:   5,000 sma_crossover instances over 50 instruments fed simulator ticks:
 *                      ticks per second through the whole kernel.
 * Single thread; docs/PERFORMANCE.md records the figures. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/cli.h"
#include "backtest/runner.h"
#include "broker/paper/adapter.h"
#include "bench.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "md/feed.h"
#include "md/feed/sim.h"

static ts_ns mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts_ns)ts.tv_sec * TS_NS_PER_SEC + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* N one-minute bars of a random walk on NSE session minutes from 5 Jan 2026. */
static struct bt_bar *make_bars(const struct cal *cal, uint32_t id, size_t n)
{
    struct bt_bar *v = atp_malloc(n * sizeof *v);
    if (!v)
        return NULL;
    struct rng r;
    rng_seed(&r, 3);
    int64_t day = ts_days_from_civil(2026, 1, 5);
    int minute = 0;
    px_t price = PX_RUPEES(1500);
    for (size_t i = 0; i < n; i++) {
        if (minute == 375) {
            minute = 0;
            day = cal_next_trading_day(cal, day);
        }
        px_t o = price, c = o + (px_t)((rng_normal(&r) * 0.001) * (double)o) / 500 * 500;
        if (c < PX_RUPEES(10))
            c = PX_RUPEES(10);
        px_t h = (o > c ? o : c) + 500 * (px_t)rng_below(&r, 4), l = (o < c ? o : c) - 500 * (px_t)rng_below(&r, 4);
        v[i] = (struct bt_bar){id, {.start = cal_session_open(day) + minute * TS_NS_PER_MIN, .open = o,
                                    .high = h, .low = l, .close = c, .volume = 1000, .oi = -1, .ticks = 1}};
        price = c;
        minute++;
    }
    return v;
}

int bench_backtest(int argc, char **argv)
{
    static const struct option opts[] = {{"bars", required_argument, 0, 'b'},
                                         {"ticks", required_argument, 0, 't'},
                                         {"strategies", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    long n_bars = 1000000, n_ticks = 300000, n_strats = 5000;
    int c, rc = CLI_EXIT_OK;
    opterr = 0;
    optind = 1;
    while (rc == CLI_EXIT_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': rc = cli_opt_long("bench backtest", "--bars", optarg, 1000, 100000000, &n_bars); break;
        case 't': rc = cli_opt_long("bench backtest", "--ticks", optarg, 1000, 100000000, &n_ticks); break;
        case 's': rc = cli_opt_long("bench backtest", "--strategies", optarg, 50, 100000, &n_strats); break;
        default: return cli_fail("bench backtest", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    struct cli_refdata rd;
    if ((rc = cli_refdata_load("bench backtest", &rd, NULL)) != CLI_EXIT_OK)
        return rc;
    struct atp_err err;
    atp_err_clear(&err);
    struct cal *weekdays = cal_new();
    const struct instrument *rel = instreg_find(rd.reg, "RELIANCE");
    struct bt_bar *bars = make_bars(rd.cal, rel->id, (size_t)n_bars);
    int64_t *lat = atp_malloc(20000 * sizeof *lat);
    struct kernel *k = NULL;
    struct feed *feed = NULL;
    struct tick *ticks = atp_malloc((size_t)n_ticks * sizeof *ticks);
    if (!weekdays || !bars || !lat || !ticks) {
        rc = cli_fail("bench backtest", "out of memory");
        goto out;
    }

    /* 1. Bars per second through a backtest. */
    struct ind_param p[] = {{"fast", 10}, {"slow", 30}};
    uint32_t ids[1] = {rel->id};
    struct bt_config bc = {.cal = weekdays, .reg = rd.reg, .strategy = "sma_crossover", .params = p,
                           .n_params = 2, .instruments = ids, .n_instruments = 1,
                           .source_tf = TF_1M, .tf = TF_1M, .capital = PX_RUPEES(10000000),
                           .risk = {.qty = 10, .product = ORDER_PRODUCT_CNC}, .slippage_ppm = 500,
                           .fill_next_open = 1};
    struct backtest_result res;
    ts_ns t0 = mono_ns();
    if (bt_run(&bc, bars, (size_t)n_bars, &res, &err) != ATP_OK) {
        rc = cli_fail_err("bench backtest", &err);
        goto out;
    }
    ts_ns t1 = mono_ns();
    long long trades = (long long)res.metrics.trades;
    result_cleanup(&res);
    double bars_per_sec = (double)n_bars / ((double)(t1 - t0) / 1e9);

    /* 2. Tick -> order -> risk -> OMS -> paper fill, in process. */
    struct kernel_config kc = {.cal = rd.cal, .reg = rd.reg, .mode = TRADE_MODE_PAPER, .run_id = 2};
    if (paper_kernel_open(&kc, NULL, &k, &err) != ATP_OK || kernel_account_open(k, 1, PX_RUPEES(1000000000), &err) != ATP_OK) {
        rc = cli_fail_err("bench backtest", &err);
        goto out;
    }
    struct risk_limits lim;
    risk_limits_default(&lim);
    lim.orders_per_sec = RISK_ORDERS_PER_SEC_MAX;
    lim.max_open_orders = 0;
    risk_set_limits(kernel_risk(k), 1, TRADE_MODE_PAPER, &lim, &err);
    int n_lat = 20000;
    for (int i = 0; i < n_lat; i++) {
        /* One tick every 2 ms of market time (under the 1000 orders/s rate window). */
        struct tick t = {.instrument_id = rel->id, .ts = cal_session_open(ts_days_from_civil(2026, 1, 5)) + (ts_ns)i * 2 * TS_NS_PER_MS,
                         .ltp = PX_RUPEES(1500) + (i % 20) * 500};
        struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = rel->id,
                                    .side = i % 2 ? ORDER_SIDE_SELL : ORDER_SIDE_BUY, .type = ORDER_TYPE_MARKET,
                                    .product = ORDER_PRODUCT_CNC, .validity = ORDER_VALIDITY_DAY, .qty = 1};
        uint64_t id;
        ts_ns a = mono_ns();
        kernel_on_tick(k, &t);
        int prc = kernel_place(k, &req, &id, &err);
        lat[i] = mono_ns() - a;
        if (prc != ATP_OK || oms_get(kernel_oms(k), id)->state != ORDER_STATE_FILLED) {
            rc = cli_fail("bench backtest", "order %d did not fill: %s", i, err.msg);
            goto out;
        }
    }
    qsort(lat, (size_t)n_lat, sizeof *lat, cmp_i64);
    kernel_free(k);
    k = NULL;

    /* 3. Many strategies over many instruments, simulator ticks. */
    const char *syms[50];
    uint32_t sids[50];
    int n_syms = 0;
    for (uint32_t i = 0; i < instreg_count(rd.reg) && n_syms < 50; i++) {
        const struct instrument *in = instreg_get(rd.reg, i);
        if (in->exchange == EXCH_NSE && in->type == INST_EQ) {
            sids[n_syms] = in->id;
            syms[n_syms++] = in->symbol;
        }
    }
    struct sim_params sp = {.seed = 5, .from_day = ts_days_from_civil(2026, 1, 5), .days = 0,
                            .symbols = syms, .n_symbols = (size_t)n_syms,
                            .profiles_path = cli_data_path("sim_profiles.csv")};
    if (sim_new(&sp, rd.reg, rd.cal, &feed, &err) != ATP_OK) {
        rc = cli_fail_err("bench backtest", &err);
        goto out;
    }
    struct feed_item item;
    long nt = 0;
    while (nt < n_ticks && feed_next(feed, &item, &err) == 1)
        ticks[nt++] = item.tick;
    if (paper_kernel_open(&kc, NULL, &k, &err) != ATP_OK) {
        rc = cli_fail_err("bench backtest", &err);
        goto out;
    }
    long per_account = 100, n_accounts = (n_strats + per_account - 1) / per_account;
    risk_limits_default(&lim);
    lim.max_strategies = 0;
    lim.orders_per_sec = RISK_ORDERS_PER_SEC_MAX;
    lim.max_open_orders = 0;
    for (long a = 1; a <= n_accounts; a++) {
        if (kernel_account_open(k, (uint64_t)a, PX_RUPEES(10000000), &err) != ATP_OK ||
            risk_set_limits(kernel_risk(k), (uint64_t)a, TRADE_MODE_PAPER, &lim, &err) != ATP_OK) {
            rc = cli_fail_err("bench backtest", &err);
            goto out;
        }
    }
    enum tf tf = TF_1M;
    for (long s = 0; s < n_strats; s++) {
        struct ind_param sp2[] = {{"fast", 5 + (double)(s % 5)}, {"slow", 20 + (double)(s % 7)}};
        struct strat_config sc = {.account_id = (uint64_t)(s / per_account + 1), .mode = TRADE_MODE_PAPER,
                                  .type = "sma_crossover", .params = sp2, .n_params = 2,
                                  .instruments = &sids[s % n_syms], .n_instruments = 1, .tfs = &tf,
                                  .n_tfs = 1, .risk = {.qty = 1, .product = ORDER_PRODUCT_MIS}};
        uint64_t id;
        if (kernel_strategy_add(k, &sc, &id, &err) != ATP_OK) {
            rc = cli_fail_err("bench backtest", &err);
            goto out;
        }
    }
    ts_ns t4 = mono_ns();
    for (long i = 0; i < nt; i++)
        kernel_on_tick(k, &ticks[i]);
    ts_ns t5 = mono_ns();
    struct kernel_stats ks;
    kernel_stats(k, &ks);
    double many_tps = (double)nt / ((double)(t5 - t4) / 1e9);

    printf("{\n  \"bench\": \"backtest\",\n"
           "  \"sma_crossover_bars\": %ld,\n  \"bars_per_sec\": %.0f,\n  \"trades\": %lld,\n"
           "  \"tick_to_fill_ns\": {\"p50\": %lld, \"p99\": %lld, \"max\": %lld},\n"
           "  \"many_strategies\": {\"strategies\": %ld, \"instruments\": %d, \"ticks\": %ld,"
           " \"ticks_per_sec\": %.0f, \"orders\": %llu, \"fills\": %llu}\n}\n",
           n_bars, bars_per_sec, trades, (long long)lat[n_lat / 2],
           (long long)lat[(int)(n_lat * 0.99)], (long long)lat[n_lat - 1], n_strats, n_syms, nt,
           many_tps, (unsigned long long)ks.orders, (unsigned long long)ks.fills);
out:
    kernel_free(k);
    feed_free(feed);
    atp_free(ticks);
    atp_free(bars);
    atp_free(lat);
    cal_free(weekdays);
    cli_refdata_free(&rd);
    return rc;
}
