/* atp bench md: market-data engine throughput and per-tick latency.
 *
 * Ticks come from the real simulator (50 NIFTY 50 stocks by default), generated into memory
 * first so the measurement is the engine alone: every tick goes through candle aggregation in
 * 7 timeframes, each timeframe carrying 5 indicators (sma 20, ema 20, rsi 14, macd 12/26/9,
 * bbands 20/2) updated on every bar completion. Three passes on fresh engines:
 *   throughput: all ticks, one clock read at each end;
 *   latency:    a clock read around every tick, giving p50/p99/p99.9/max;
 *   with_reads: as throughput, plus reading all 5 indicator values for the forming 1m bar of the
 *               tick's instrument after every tick (what a strategy reading indicators per tick
 *               pays).
 * Single thread; results in docs/PERFORMANCE.md. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/cli.h"
#include "bench.h"
#include "core/alloc.h"
#include "md/engine.h"
#include "md/feed.h"
#include "md/feed/sim.h"

static ts_ns mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts_ns)ts.tv_sec * TS_NS_PER_SEC + ts.tv_nsec;
}

static const struct {
    const char *name;
    struct ind_param params[2];
    int n;
} bench_inds[5] = {
    {"sma", {{"period", 20}}, 1},
    {"ema", {{"period", 20}}, 1},
    {"rsi", {{"period", 14}}, 1},
    {"macd", {{0, 0}}, 0},
    {"bbands", {{"period", 20}, {"stddev", 2}}, 2},
};

static int new_engine(const struct cli_refdata *rd, struct md_engine **out)
{
    struct md_config mc = {.cal = rd->cal, .n_instruments = (uint32_t)instreg_count(rd->reg)};
    struct atp_err err;
    if (md_engine_new(&mc, out) != ATP_OK)
        return ATP_ENOMEM;
    for (int tf = 0; tf < TF_COUNT; tf++)
        for (int k = 0; k < 5; k++)
            if (md_engine_add_indicator(*out, (enum tf)tf, bench_inds[k].name, bench_inds[k].params,
                                        bench_inds[k].n, NULL, &err) != ATP_OK)
                return err.code;
    return ATP_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int bench_md(int argc, char **argv)
{
    static const struct option opts[] = {{"instruments", required_argument, 0, 'i'},
                                         {"ticks", required_argument, 0, 'n'},
                                         {"seed", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    long n_inst = 50, n_ticks = 2000000;
    unsigned long long seed = 7;
    int c, rc = CLI_EXIT_OK;
    opterr = 0;
    optind = 1;
    while (rc == CLI_EXIT_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': rc = cli_opt_long("bench md", "--instruments", optarg, 1, 50, &n_inst); break;
        case 'n': rc = cli_opt_long("bench md", "--ticks", optarg, 1000, 100000000, &n_ticks); break;
        case 's': rc = cli_opt_u64("bench md", "--seed", optarg, &seed); break;
        default: return cli_fail("bench md", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    struct cli_refdata rd;
    rc = cli_refdata_load("bench md", &rd, NULL);
    if (rc)
        return rc;
    /* The first n_inst NSE equities of the master (the NIFTY 50 constituents). */
    const char *syms[50];
    size_t n_syms = 0;
    for (uint32_t i = 0; i < instreg_count(rd.reg) && n_syms < (size_t)n_inst; i++) {
        const struct instrument *in = instreg_get(rd.reg, i);
        if (in->exchange == EXCH_NSE && in->type == INST_EQ)
            syms[n_syms++] = in->symbol;
    }
    struct tick *ticks = atp_malloc((size_t)n_ticks * sizeof *ticks);
    int64_t *lat = atp_malloc((size_t)n_ticks * sizeof *lat);
    struct feed *feed = NULL;
    struct md_engine *eng = NULL;
    struct atp_err err;
    atp_err_clear(&err);
    if (!ticks || !lat) {
        rc = cli_fail("bench md", "out of memory for %ld ticks", n_ticks);
        goto out;
    }
    /* The simulator's default rate (60 ticks a minute per instrument, U-shaped over the day):
     * 2,000,000 ticks of 50 instruments span about two sessions, so every timeframe completes. */
    struct sim_params sp = {.seed = seed, .from_day = ts_days_from_civil(2026, 1, 5), .days = 0,
                            .symbols = syms, .n_symbols = n_syms, .ticks_per_min = 0,
                            .profiles_path = cli_data_path("sim_profiles.csv")};
    if (sim_new(&sp, rd.reg, rd.cal, &feed, &err) != ATP_OK) {
        rc = cli_fail_err("bench md", &err);
        goto out;
    }
    long n = 0;
    struct feed_item item;
    while (n < n_ticks && feed_next(feed, &item, &err) == 1)
        if (item.kind == FEED_TICK)
            ticks[n++] = item.tick;
    if (n < n_ticks) {
        rc = cli_fail("bench md", "simulator produced only %ld ticks", n);
        goto out;
    }

    /* Pass 1: throughput. */
    if ((rc = new_engine(&rd, &eng)) != ATP_OK)
        goto fail_engine;
    ts_ns t0 = mono_ns();
    for (long i = 0; i < n; i++)
        md_engine_on_tick(eng, &ticks[i]);
    ts_ns t1 = mono_ns();
    struct md_stats st;
    md_engine_stats(eng, &st);
    md_engine_free(eng);
    eng = NULL;
    double tps = (double)n / ((double)(t1 - t0) / 1e9);

    /* Pass 2: per-tick latency. */
    if ((rc = new_engine(&rd, &eng)) != ATP_OK)
        goto fail_engine;
    for (long i = 0; i < n; i++) {
        ts_ns a = mono_ns();
        md_engine_on_tick(eng, &ticks[i]);
        lat[i] = mono_ns() - a;
    }
    md_engine_free(eng);
    eng = NULL;
    qsort(lat, (size_t)n, sizeof *lat, cmp_i64);

    /* Pass 3: throughput with every forming 1m indicator value read after each tick. */
    if ((rc = new_engine(&rd, &eng)) != ATP_OK)
        goto fail_engine;
    double sink = 0, v[ATP_IND_MAX_OUTPUTS];
    ts_ns t2 = mono_ns();
    for (long i = 0; i < n; i++) {
        md_engine_on_tick(eng, &ticks[i]);
        for (int k = 0; k < 5; k++)
            if (md_engine_indicator(eng, ticks[i].instrument_id, TF_1M, k, 1, v) == 1)
                sink += v[0];
    }
    ts_ns t3 = mono_ns();
    double tps_reads = (double)n / ((double)(t3 - t2) / 1e9);

    char first[TS_STR_MAX], last[TS_STR_MAX];
    ts_format_ist(ticks[0].ts, first, sizeof first);
    ts_format_ist(ticks[n - 1].ts, last, sizeof last);
    printf("{\n  \"bench\": \"md\",\n  \"instruments\": %zu,\n  \"timeframes\": %d,\n"
           "  \"indicators_per_timeframe\": 5,\n  \"ticks\": %ld,\n  \"market_span\": [\"%s\", \"%s\"],\n"
           "  \"bars_completed\": %llu,\n  \"ticks_per_sec\": %.0f,\n"
           "  \"latency_ns\": {\"p50\": %lld, \"p99\": %lld, \"p999\": %lld, \"max\": %lld},\n"
           "  \"ticks_per_sec_with_forming_indicator_reads\": %.0f,\n  \"checksum\": %.6g\n}\n",
           n_syms, TF_COUNT, n, first, last, (unsigned long long)st.bars_completed, tps,
           (long long)lat[n / 2], (long long)lat[(long)((double)n * 0.99)],
           (long long)lat[(long)((double)n * 0.999)], (long long)lat[n - 1], tps_reads, sink);
    rc = CLI_EXIT_OK;
    goto out;
fail_engine:
    rc = cli_fail("bench md", "cannot build the engine (%s)", atp_status_name(rc));
out:
    md_engine_free(eng);
    feed_free(feed);
    atp_free(ticks);
    atp_free(lat);
    cli_refdata_free(&rd);
    return rc;
}
