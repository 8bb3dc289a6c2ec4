/* atp demo: the live market demo. The simulator feeds the candle engine through the player at a
 * chosen speed; a table of prices, the forming candle and indicators is redrawn every second
 * until Ctrl-C (or --duration). Until the server exists this is what `make run` starts. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/symlist.h"
#include "md/engine.h"
#include "md/feed.h"
#include "md/feed/player.h"
#include "md/feed/sim.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static ts_ns wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts_ns)ts.tv_sec * TS_NS_PER_SEC + ts.tv_nsec;
}

/* Indicator slots on the display timeframe, in column order. */
enum { SL_SMA, SL_EMA, SL_RSI, SL_MACD, SL_BB, SL_VWAP, SL_ST, SL_COUNT };

static const struct {
    const char *name;
    struct ind_param params[2];
    int n;
} demo_indicators[SL_COUNT] = {
    [SL_SMA] = {"sma", {{"period", 20}}, 1},
    [SL_EMA] = {"ema", {{"period", 20}}, 1},
    [SL_RSI] = {"rsi", {{"period", 14}}, 1},
    [SL_MACD] = {"macd", {{0, 0}}, 0},
    [SL_BB] = {"bbands", {{"period", 20}, {"stddev", 2}}, 2},
    [SL_VWAP] = {"vwap", {{0, 0}}, 0},
    [SL_ST] = {"supertrend", {{"period", 10}, {"multiplier", 3}}, 2},
};

struct demo {
    struct cli_refdata rd;
    struct symlist syms;
    uint32_t ids[SYMLIST_MAX];
    struct feed *feed;
    struct player *player;
    struct md_engine *eng;
    enum tf tf;
    int slot[SL_COUNT];
    int tty;
    double speed;
    uint64_t items;
};

static void cell_px(char *buf, size_t size, double v, int valid)
{
    if (!valid || isnan(v))
        snprintf(buf, size, "%s", "-");
    else
        snprintf(buf, size, "%.2f", v);
}

static void draw(struct demo *d, ts_ns wall)
{
    char mt[TS_STR_MAX] = "-";
    ts_ns market = player_market_time(d->player, wall);
    if (market != FEED_TS_UNKNOWN)
        ts_format_ist(market, mt, sizeof mt);
    struct md_stats st;
    md_engine_stats(d->eng, &st);
    if (d->tty)
        fputs("\033[H\033[2J", stdout);
    printf("ATP live market demo   market time %s   speed %gx   progress %.1f%%\n", mt, d->speed,
           100.0 * player_progress(d->player, wall));
    printf("ticks %llu  bars completed %llu  late %llu  off-session %llu   candles: %s (forming)   "
           "Ctrl-C to stop\n\n",
           (unsigned long long)st.accepted, (unsigned long long)st.bars_completed,
           (unsigned long long)st.late, (unsigned long long)st.off_session, tf_name(d->tf));
    printf("%-11s %10s %7s | %10s %10s %10s %10s %9s | %9s %9s %6s %8s %9s %9s %9s %5s\n", "symbol",
           "ltp", "chg%", "open", "high", "low", "close", "volume", "sma20", "ema20", "rsi14",
           "macd.h", "bb.upper", "bb.lower", "vwap", "trend");
    for (size_t i = 0; i < d->syms.n; i++) {
        uint32_t id = d->ids[i];
        const struct tick *last = md_engine_last_tick(d->eng, id);
        const struct candle_series *s = md_engine_series(d->eng, id, d->tf);
        const struct candle_series *day = md_engine_series(d->eng, id, TF_1D);
        if (!last || !s) {
            printf("%-11s %10s\n", d->syms.names[i], "waiting");
            continue;
        }
        char ltp[PX_STR_MAX], o[PX_STR_MAX], h[PX_STR_MAX], l[PX_STR_MAX], c[PX_STR_MAX];
        px_format_fixed(last->ltp, 2, ltp, sizeof ltp);
        const struct bar *fb = s->has_forming ? &s->forming : candles_get(s, 0);
        px_format_fixed(fb ? fb->open : 0, 2, o, sizeof o);
        px_format_fixed(fb ? fb->high : 0, 2, h, sizeof h);
        px_format_fixed(fb ? fb->low : 0, 2, l, sizeof l);
        px_format_fixed(fb ? fb->close : 0, 2, c, sizeof c);
        /* Change against the previous session's close, else today's open. */
        px_t base = 0;
        const struct bar *prev_day = day ? candles_get(day, 0) : NULL;
        if (prev_day && day->has_forming)
            base = prev_day->close;
        else if (day && day->has_forming)
            base = day->forming.open;
        double chg = base ? 100.0 * (double)(last->ltp - base) / (double)base : 0.0;
        double v[SL_COUNT][ATP_IND_MAX_OUTPUTS];
        int ok[SL_COUNT];
        for (int k = 0; k < SL_COUNT; k++)
            ok[k] = md_engine_indicator(d->eng, id, d->tf, d->slot[k], 1, v[k]) == 1;
        char sma[16], ema[16], rsi[16], macd[16], bbu[16], bbl[16], vwap[16];
        cell_px(sma, sizeof sma, v[SL_SMA][0], ok[SL_SMA]);
        cell_px(ema, sizeof ema, v[SL_EMA][0], ok[SL_EMA]);
        cell_px(rsi, sizeof rsi, v[SL_RSI][0], ok[SL_RSI]);
        cell_px(macd, sizeof macd, v[SL_MACD][2], ok[SL_MACD]);
        cell_px(bbu, sizeof bbu, v[SL_BB][0], ok[SL_BB]);
        cell_px(bbl, sizeof bbl, v[SL_BB][2], ok[SL_BB]);
        cell_px(vwap, sizeof vwap, v[SL_VWAP][0], ok[SL_VWAP]);
        const char *trend = !ok[SL_ST] ? "-" : v[SL_ST][1] > 0 ? "up" : "down";
        printf("%-11s %10s %+6.2f%% | %10s %10s %10s %10s %9lld | %9s %9s %6s %8s %9s %9s %9s %5s\n",
               d->syms.names[i], ltp, chg, o, h, l, c, (long long)(fb ? fb->volume : 0), sma, ema, rsi,
               macd, bbu, bbl, vwap, trend);
    }
    if (!d->tty)
        printf("\n");
    fflush(stdout);
}

static const char *default_symbols =
    "NIFTY,RELIANCE,HDFCBANK,ICICIBANK,INFY,TCS,SBIN,BHARTIARTL,ITC,LT,AXISBANK";

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"symbols", required_argument, 0, 's'},
                                         {"speed", required_argument, 0, 'x'},
                                         {"seed", required_argument, 0, 'r'},
                                         {"from", required_argument, 0, 'f'},
                                         {"tf", required_argument, 0, 't'},
                                         {"duration", required_argument, 0, 'd'},
                                         {0, 0, 0, 0}};
    const char *symbols = default_symbols, *from = NULL, *tfname = "1m";
    double speed = 60, duration = 0;
    unsigned long long seed = 42;
    int c, rc = CLI_EXIT_OK;
    opterr = 0;
    optind = 1;
    while (rc == CLI_EXIT_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': symbols = optarg; break;
        case 'f': from = optarg; break;
        case 't': tfname = optarg; break;
        case 'x':
            rc = cli_opt_double("demo", "--speed", optarg, PLAYER_SPEED_MIN, PLAYER_SPEED_MAX, &speed);
            break;
        case 'r': rc = cli_opt_u64("demo", "--seed", optarg, &seed); break;
        case 'd': rc = cli_opt_double("demo", "--duration", optarg, 0.001, 1e9, &duration); break;
        default: return cli_fail("demo", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (optind < argc)
        return cli_fail("demo", "unexpected argument '%s'", argv[optind]);

    struct demo d;
    memset(&d, 0, sizeof d);
    d.speed = speed;
    d.tty = isatty(STDOUT_FILENO);
    if (tf_parse(tfname, &d.tf) != ATP_OK)
        return cli_fail("demo", "--tf: unknown timeframe '%s' (1m 3m 5m 15m 30m 1h 1d)", tfname);
    int64_t from_day = 0;
    if (from && (rc = cli_opt_date("demo", "--from", from, &from_day)) != CLI_EXIT_OK)
        return rc;
    rc = cli_refdata_load("demo", &d.rd, NULL);
    if (rc)
        return rc;
    struct atp_err err;
    atp_err_clear(&err);
    if (!from)
        from_day = cli_today_trading_day(d.rd.cal);
    if (symlist_parse(&d.syms, symbols, d.rd.reg, "--symbols", &err) != ATP_OK) {
        rc = cli_fail_err("demo", &err);
        goto out;
    }
    for (size_t i = 0; i < d.syms.n; i++)
        d.ids[i] = instreg_find(d.rd.reg, d.syms.names[i])->id;

    /* Warm-up: the simulator starts one trading day early and that day runs unpaced into the
     * engine, so candles and indicators have history the moment the table appears. */
    int64_t warm_day = cal_prev_trading_day(d.rd.cal, from_day);
    if (warm_day < 0)
        warm_day = from_day;
    struct sim_params sp = {.seed = seed, .from_day = warm_day, .days = 0,
                            .symbols = d.syms.names, .n_symbols = d.syms.n,
                            .profiles_path = cli_data_path("sim_profiles.csv")};
    struct md_config mc = {.cal = d.rd.cal, .n_instruments = (uint32_t)instreg_count(d.rd.reg)};
    if (sim_new(&sp, d.rd.reg, d.rd.cal, &d.feed, &err) != ATP_OK ||
        player_new(d.feed, speed, &d.player, &err) != ATP_OK) {
        rc = cli_fail_err("demo", &err);
        goto out;
    }
    /* Nights and weekends pass in a moment rather than at `speed`. */
    player_set_max_gap(d.player, 5 * TS_NS_PER_SEC);
    if (md_engine_new(&mc, &d.eng) != ATP_OK) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    for (int k = 0; k < SL_COUNT; k++) {
        if (md_engine_add_indicator(d.eng, d.tf, demo_indicators[k].name, demo_indicators[k].params,
                                    demo_indicators[k].n, &d.slot[k], &err) != ATP_OK) {
            rc = cli_fail_err("demo", &err);
            goto out;
        }
    }
    struct feed_item item;
    int st;
    ts_ns live_open = cal_session_open(from_day);
    while ((st = feed_next(d.feed, &item, &err)) == 1) {
        d.items++;
        if (item.kind == FEED_TICK)
            md_engine_on_tick(d.eng, &item.tick);
        else
            md_engine_on_bar(d.eng, item.instrument_id, item.tf, &item.bar);
        if (feed_item_time(&item) >= live_open)
            break; /* the first live item is in; the player paces the rest */
    }
    if (st < 0) {
        rc = cli_fail_err("demo", &err);
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    ts_ns start = wall_now(), next_draw = start;
    while (!stop_requested) {
        ts_ns now = wall_now(), wait = 0;
        if (duration > 0 && now - start >= (ts_ns)(duration * TS_NS_PER_SEC))
            break;
        if (now >= next_draw) {
            draw(&d, now);
            next_draw = now + TS_NS_PER_SEC;
        }
        st = player_next_due(d.player, now, &item, &wait, &err);
        if (st < 0) {
            rc = cli_fail_err("demo", &err);
            goto out;
        }
        if (st == PLAYER_ITEM) {
            d.items++;
            if (item.kind == FEED_TICK)
                md_engine_on_tick(d.eng, &item.tick);
            else
                md_engine_on_bar(d.eng, item.instrument_id, item.tf, &item.bar);
            continue;
        }
        if (st == PLAYER_END)
            break;
        /* The engine's timer: quiet instruments' bars complete at their period end. */
        ts_ns market = player_market_time(d.player, now);
        if (market != FEED_TS_UNKNOWN)
            md_engine_advance(d.eng, market);
        ts_ns nap = next_draw - now;
        if (st == PLAYER_WAIT && wait < nap)
            nap = wait;
        if (nap > 50 * TS_NS_PER_MS)
            nap = 50 * TS_NS_PER_MS;
        if (nap > 0) {
            struct timespec ts = {nap / TS_NS_PER_SEC, nap % TS_NS_PER_SEC};
            nanosleep(&ts, NULL);
        }
    }
    draw(&d, wall_now());
    printf("demo stopped after %llu market-data items\n", (unsigned long long)d.items);
out:
    md_engine_free(d.eng);
    player_free(d.player);
    feed_free(d.feed);
    symlist_cleanup(&d.syms);
    cli_refdata_free(&d.rd);
    return rc;
}
