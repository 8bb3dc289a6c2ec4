/* Built-in strategies, driven through the real strategy host and market-data engine.
 *
 * Each test loads the real instrument master (data/instruments.csv) and NSE calendar
 * (data/nse_holidays.csv), builds an md_engine whose complete bars go to strat_host_on_bar, and
 * gives the host a test kernel boundary (struct strat_services): submit records every intent and,
 * in auto-fill mode, fills it at once at the last close of its instrument (as a backtest broker
 * would), so positions follow from the strategy's own orders; in manual mode orders stay open
 * (atp_open_orders counts them) until the test fills them. Price sequences are hand-made; the
 * comment tables next to them give the indicator values (computed by hand or with a direct
 * transcription of the indicator formulas) and so the bars where intents must appear. Bars are
 * 1-minute bars of a real NSE session (IST), counted from 1 in the order they are fed. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cal.h"
#include "core/ts.h"
#include "md/engine.h"
#include "model/instrument.h"
#include "strategy/builtin/common.h"
#include "strategy/host.h"
#include "strategy/registry.h"
#include "testutil.h"

#define MAX_RECS 4096
#define MAX_INST 256
#define SIZING_QTY 10 /* what the test kernel's sizing rule gives an entry with qty 0 */

struct rec {
    int bar;            /* bars fed before (and including) the one being processed */
    ts_ns ts;           /* the test clock when the intent arrived */
    uint32_t instrument;
    enum atp_intent intent;
    int64_t qty;        /* as asked (0 = sizing rule / whole position) */
    double stop_loss_pct, take_profit_pct, trailing_stop_pct;
    char reason[128];
    int filled;
};

struct harness {
    struct cal *cal;
    struct instreg *reg;
    struct md_engine *eng;
    struct strat_host *host;
    uint64_t id;
    int manual_fill;    /* 1: orders stay open until fill_open() */
    int drive_timers;   /* 1: feed() also advances the host's timers to the bar's end */
    int bar_no;
    ts_ns now;
    struct rec recs[MAX_RECS];
    int n_recs;
    int64_t pos[MAX_INST];
    px_t avg[MAX_INST];
    px_t mark[MAX_INST];
    int state_changes;
    char last_reason[256];
};

static struct harness H;

/* ---- the test kernel boundary --------------------------------------------------------------- */

static void apply_fill(struct harness *h, struct rec *r)
{
    uint32_t in = r->instrument;
    int64_t q = r->qty;
    px_t px = h->mark[in];
    switch (r->intent) {
    case ATP_ENTRY_LONG:
    case ATP_ENTRY_SHORT: {
        if (q == 0)
            q = SIZING_QTY;
        int64_t sq = r->intent == ATP_ENTRY_LONG ? q : -q;
        int64_t before = h->pos[in] < 0 ? -h->pos[in] : h->pos[in];
        h->avg[in] = (h->avg[in] * before + px * q) / (before + q);
        h->pos[in] += sq;
        break;
    }
    case ATP_EXIT_LONG:
        if (q == 0 || q > h->pos[in])
            q = h->pos[in] > 0 ? h->pos[in] : 0;
        h->pos[in] -= q;
        break;
    case ATP_EXIT_SHORT:
        if (q == 0 || q > -h->pos[in])
            q = h->pos[in] < 0 ? -h->pos[in] : 0;
        h->pos[in] += q;
        break;
    }
    if (h->pos[in] == 0)
        h->avg[in] = 0;
    r->filled = 1;
}

static uint64_t svc_submit(void *ctx, const struct strat_info *s, const struct atp_order_intent *in)
{
    struct harness *h = ctx;
    (void)s;
    cr_assert_lt(h->n_recs, MAX_RECS, "too many intents");
    cr_assert_lt(in->instrument, MAX_INST);
    struct rec *r = &h->recs[h->n_recs++];
    memset(r, 0, sizeof *r);
    r->bar = h->bar_no;
    r->ts = h->now;
    r->instrument = in->instrument;
    r->intent = in->intent;
    r->qty = in->qty;
    r->stop_loss_pct = in->stop_loss_pct;
    r->take_profit_pct = in->take_profit_pct;
    r->trailing_stop_pct = in->trailing_stop_pct;
    cr_assert(in->kind == ATP_MARKET, "built-ins send market orders");
    cr_assert(in->reason && in->reason[0], "every intent says why");
    snprintf(r->reason, sizeof r->reason, "%s", in->reason);
    if (!h->manual_fill)
        apply_fill(h, r);
    return (uint64_t)h->n_recs;
}

static int svc_open_orders(void *ctx, const struct strat_info *s, uint32_t instrument)
{
    struct harness *h = ctx;
    (void)s;
    int n = 0;
    for (int i = 0; i < h->n_recs; i++)
        n += h->recs[i].instrument == instrument && !h->recs[i].filled;
    return n;
}

static void svc_position(void *ctx, const struct strat_info *s, uint32_t instrument,
                         struct atp_position *out)
{
    struct harness *h = ctx;
    (void)s;
    out->qty = h->pos[instrument];
    out->avg_price = h->avg[instrument];
}

static void svc_state_changed(void *ctx, const struct strat_info *s, const char *reason)
{
    struct harness *h = ctx;
    (void)s;
    h->state_changes++;
    snprintf(h->last_reason, sizeof h->last_reason, "%s", reason);
}

static ts_ns svc_now(void *ctx)
{
    return ((struct harness *)ctx)->now;
}

static void md_on_bar(void *ctx, uint32_t instrument, enum tf tf, const struct bar *bar, int complete)
{
    struct harness *h = ctx;
    if (complete)
        strat_host_on_bar(h->host, instrument, tf, bar);
}

/* ---- set-up --------------------------------------------------------------------------------- */

static void setup(void)
{
    memset(&H, 0, sizeof H);
    struct atp_err err;
    atp_err_clear(&err);
    H.cal = cal_new();
    cr_assert_not_null(H.cal);
    cr_assert_eq(cal_load(H.cal, tu_root_path("data/nse_holidays.csv"), &err), ATP_OK, "%s", err.msg);
    H.reg = instreg_new();
    cr_assert_not_null(H.reg);
    cr_assert_eq(instreg_load_csv(H.reg, tu_root_path("data/instruments.csv"), &err), ATP_OK, "%s",
                 err.msg);
    cr_assert_leq(instreg_count(H.reg), MAX_INST);
    struct md_config cfg = {.cal = H.cal, .n_instruments = (uint32_t)instreg_count(H.reg)};
    cr_assert_eq(md_engine_new(&cfg, &H.eng), ATP_OK);
    struct md_handlers mh = {.ctx = &H, .on_bar = md_on_bar};
    md_engine_set_handlers(H.eng, &mh);
    struct strat_services svc = {
        .ctx = &H,
        .submit = svc_submit,
        .open_orders = svc_open_orders,
        .position = svc_position,
        .state_changed = svc_state_changed,
        .now = svc_now,
    };
    cr_assert_eq(strat_host_new(H.eng, H.reg, &svc, &H.host), ATP_OK);
}

static void teardown(void)
{
    strat_host_free(H.host);
    md_engine_free(H.eng);
    instreg_free(H.reg);
    cal_free(H.cal);
    cr_expect_eq(atp_alloc_live(), 0, "leak: %ld blocks", atp_alloc_live());
}

TestSuite(strategies, .init = setup, .fini = teardown);

static uint32_t sym(const char *symbol)
{
    const struct instrument *in = instreg_find(H.reg, symbol);
    cr_assert_not_null(in, "%s not in data/instruments.csv", symbol);
    return in->id;
}

/* Adds a strategy on the given symbols (NULL-terminated) and timeframe; returns rc. */
static int add_ex(const char *type, const struct ind_param *params, int n_params, const char **symbols,
                  enum tf tf, struct atp_err *err)
{
    uint32_t ids[8];
    int n = 0;
    while (symbols[n]) {
        ids[n] = sym(symbols[n]);
        n++;
    }
    struct strat_config cfg = {
        .account_id = 1,
        .mode = TRADE_MODE_PAPER,
        .type = type,
        .params = params,
        .n_params = n_params,
        .instruments = ids,
        .n_instruments = n,
        .tfs = &tf,
        .n_tfs = 1,
    };
    atp_err_clear(err);
    return strat_host_add(H.host, &cfg, &H.id, err);
}

/* Adds a strategy that must start running. */
static void add(const char *type, const struct ind_param *params, int n_params, const char **symbols)
{
    struct atp_err err;
    int rc = add_ex(type, params, n_params, symbols, TF_1M, &err);
    cr_assert_eq(rc, ATP_OK, "%s: %s (field %s)", type, err.msg, err.field);
    const struct strat_info *info = strat_host_info(H.host, H.id);
    cr_assert_eq(info->state, STRATEGY_RUNNING, "%s paused at init: %s", type, info->last_error);
}

static px_t px(double rupees)
{
    return (px_t)llround(rupees * PX_SCALE);
}

/* IST day d (0 = Monday 2 Feb 2026, a trading day) at hh:mm. */
static ts_ns at(int d, int hh, int mm)
{
    return ts_from_ist(2026, 2, 2, hh, mm, 0) + (ts_ns)d * TS_NS_PER_DAY;
}

/* Feeds one complete 1-minute bar. */
static void feed_ohlc(const char *symbol, ts_ns start, double open, double high, double low, double close)
{
    uint32_t in = sym(symbol);
    struct bar b = {.start = start, .open = px(open), .high = px(high), .low = px(low),
                    .close = px(close), .volume = 100, .oi = -1, .ticks = 1};
    H.bar_no++;
    H.mark[in] = b.close;
    H.now = start + TS_NS_PER_MIN;
    cr_assert_eq(md_engine_on_bar(H.eng, in, TF_1M, &b), 0);
    if (H.drive_timers)
        strat_host_on_time(H.host, H.now);
}

static void feed(const char *symbol, ts_ns start, double close)
{
    feed_ohlc(symbol, start, close, close, close, close);
}

/* Feeds closes as consecutive minutes from 09:15 on day 0. */
static void feed_closes(const char *symbol, const double *closes, int n)
{
    for (int i = 0; i < n; i++)
        feed(symbol, at(0, 9, 15) + i * TS_NS_PER_MIN, closes[i]);
}

static void fill_open(void)
{
    for (int i = 0; i < H.n_recs; i++)
        if (!H.recs[i].filled)
            apply_fill(&H, &H.recs[i]);
}

/* ---- expected intents ----------------------------------------------------------------------- */

enum { EL = ATP_ENTRY_LONG, XL = ATP_EXIT_LONG, ES = ATP_ENTRY_SHORT, XS = ATP_EXIT_SHORT };

struct want {
    int bar;
    const char *symbol;
    int intent;
    int64_t qty;
};

static const char *intent_name(int i)
{
    static const char *const names[] = {"ENTRY_LONG", "EXIT_LONG", "ENTRY_SHORT", "EXIT_SHORT"};
    return i >= 0 && i < 4 ? names[i] : "?";
}

static void dump(void)
{
    for (int i = 0; i < H.n_recs; i++)
        cr_log_info("  got: bar %d %s %s qty %lld (%s)", H.recs[i].bar,
                    instreg_get(H.reg, H.recs[i].instrument)->symbol, intent_name(H.recs[i].intent),
                    (long long)H.recs[i].qty, H.recs[i].reason);
}

static void expect_intents(const struct want *w, int n)
{
    if (H.n_recs != n)
        dump();
    cr_assert_eq(H.n_recs, n, "expected %d intents, got %d", n, H.n_recs);
    for (int i = 0; i < n; i++) {
        const struct rec *r = &H.recs[i];
        int ok = r->bar == w[i].bar && r->instrument == sym(w[i].symbol) &&
                 (int)r->intent == w[i].intent && r->qty == w[i].qty;
        if (!ok)
            dump();
        cr_assert(ok, "intent %d: want bar %d %s %s qty %lld, got bar %d %s %s qty %lld", i, w[i].bar,
                  w[i].symbol, intent_name(w[i].intent), (long long)w[i].qty, r->bar,
                  instreg_get(H.reg, r->instrument)->symbol, intent_name(r->intent),
                  (long long)r->qty);
    }
}

static void expect_time(int i, ts_ns want)
{
    char a[TS_STR_MAX], b[TS_STR_MAX];
    ts_format_ist(want, a, sizeof a);
    ts_format_ist(H.recs[i].ts, b, sizeof b);
    cr_assert_eq(H.recs[i].ts, want, "intent %d at %s, want %s", i, b, a);
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define P(name, v) ((struct ind_param){(name), (v)})

/* ---- the crossover rule --------------------------------------------------------------------- */

/* The rule itself, on (fast, slow) pairs: a cross needs the last earlier bar where they differed
 * to be on the other side; equal bars never cross and never reset that reference. */
Test(strategies, crossover_rule_table)
{
    static const struct {
        const char *name;
        int n;
        double fast[8], slow[8];
        int cross[8];
    } cases[] = {
        {"plain cross above then below", 4, {1, 3, 2, 1}, {2, 2, 2, 2}, {0, 1, 0, -1}},
        {"first bar never crosses", 2, {3, 1}, {2, 2}, {0, -1}},
        {"equal bar then same side: no cross", 4, {1, 3, 2, 3}, {2, 2, 2, 2}, {0, 1, 0, 0}},
        {"cross through one equal bar", 3, {3, 2, 1}, {2, 2, 2}, {0, 0, -1}},
        {"cross through two equal bars", 4, {1, 2, 2, 3}, {2, 2, 2, 2}, {0, 0, 0, 1}},
        {"equal bars first: no reference yet", 4, {2, 2, 3, 1}, {2, 2, 2, 2}, {0, 0, 0, -1}},
        {"round-off equality (1e-14) is equality", 3, {3, 2.00000000000001, 3}, {2, 2, 2}, {0, 0, 0}},
        {"a real difference of 1e-6 counts", 2, {2.000001, 1.999999}, {2, 2}, {0, -1}},
    };
    for (int c = 0; c < N(cases); c++) {
        struct bi_cross_state st = {0};
        for (int i = 0; i < cases[c].n; i++)
            cr_expect_eq(bi_cross_update(&st, cases[c].fast[i], cases[c].slow[i]), cases[c].cross[i],
                         "%s: bar %d", cases[c].name, i + 1);
    }
}

Test(strategies, ist_time_helpers)
{
    ts_ns t = ts_from_ist(2026, 2, 2, 9, 15, 0); /* 03:45 UTC */
    cr_assert_eq(bi_ist_day(t), ts_days_from_civil(2026, 2, 2));
    cr_assert_eq(bi_ist_time_of_day(t), (9 * 60 + 15) * TS_NS_PER_MIN);
    /* 00:10 IST is still the previous UTC date: the IST day must be the 2nd. */
    cr_assert_eq(bi_ist_day(ts_from_ist(2026, 2, 2, 0, 10, 0)), ts_days_from_civil(2026, 2, 2));
    cr_assert_eq(bi_ist_day(ts_from_ist(2026, 2, 1, 23, 59, 59)), ts_days_from_civil(2026, 2, 1));
    cr_assert_eq(bi_ist_at(ts_days_from_civil(2026, 2, 2), 15 * 60 + 15), ts_from_ist(2026, 2, 2, 15, 15, 0));
    cr_assert_eq(bi_ist_day(ts_from_ist(1969, 12, 31, 23, 0, 0)), -1);
    cr_assert_eq(bi_hhmm_minutes(930), 570);
    cr_assert_eq(bi_hhmm_minutes(0), 0);
    cr_assert_eq(bi_hhmm_minutes(975), -1);
    cr_assert_eq(bi_hhmm_minutes(2400), -1);
    /* Bar ends: the day's last 1h bar is cut at 15:30, a daily bar ends at the close. */
    cr_assert_eq(bi_bar_end(ATP_TF_1M, at(0, 9, 29)), at(0, 9, 30));
    cr_assert_eq(bi_bar_end(ATP_TF_1H, at(0, 14, 15)), at(0, 15, 15));
    cr_assert_eq(bi_bar_end(ATP_TF_1H, at(0, 15, 15)), at(0, 15, 30));
    cr_assert_eq(bi_bar_end(ATP_TF_1D, at(0, 9, 15)), at(0, 15, 30));
}

/* ---- sma_crossover ---------------------------------------------------------------------------- */

/* sma_crossover(fast 2, slow 3) on INFY. fast - slow = (c[t-1] + c[t]) / 6 - c[t-2] / 3, so a bar
 * is an equality bar exactly when c[t-2] is the mean of the next two closes.
 *
 *   bar close  fast    slow     side  cross
 *    1   100    -       -
 *    2    99   99.5     -
 *    3    99   99.0    99.333    <     (first comparable bar: no earlier bar, no cross)
 *    4   100   99.5    99.333    >    ABOVE
 *    5    98   99.0    99.0      =     equality after >: must NOT cross
 *    6   103  100.5   100.333    >     last unequal bar (4) was > : no cross
 *    7   103  103.0   101.333    >
 *    8   103  103.0   103.0      =
 *    9   102  102.5   102.667    <    BELOW through the equality bar 8
 *   10   102  102.0   102.333    <
 *   11   102  102.0   102.0      =
 *   12   102  102.0   102.0      =
 *   13   103  102.5   102.333    >    ABOVE through two equality bars
 *   14   100  101.5   101.667    <    BELOW */
static const double sma_closes[] = {100, 99, 99, 100, 98, 103, 103, 103, 102, 102, 102, 102, 103, 100};

Test(strategies, sma_crossover_long_only)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("fast", 2), P("slow", 3)};
    add("sma_crossover", p, N(p), syms);
    feed_closes("INFY", sma_closes, N(sma_closes));
    static const struct want w[] = {
        {4, "INFY", EL, 0}, {9, "INFY", XL, 0}, {13, "INFY", EL, 0}, {14, "INFY", XL, 0}};
    expect_intents(w, N(w));
    cr_expect_str_eq(H.recs[0].reason, "fast SMA crossed above slow SMA");
    /* Protective exits are left to the risk configuration. */
    cr_expect(H.recs[0].stop_loss_pct == 0 && H.recs[0].take_profit_pct == 0 &&
              H.recs[0].trailing_stop_pct == 0);
    cr_expect_eq(H.pos[sym("INFY")], 0);
}

/* The first comparable bar is an equality bar, so there is no earlier unequal bar: fast rising
 * above slow on bar 4 is NOT a cross (a rule comparing with the previous bar only would buy).
 *
 *   bar close  fast    slow     side  cross
 *    3   101   100.0   100.0     =
 *    4   102   101.5   100.667   >     none: no earlier bar where fast != slow
 *    5    98   100.0   100.333   <    BELOW (flat: nothing)
 *    6   108   103.0   102.667   >    ABOVE -> buy */
Test(strategies, sma_crossover_equality_first_is_no_reference)
{
    static const double closes[] = {100, 99, 101, 102, 98, 108};
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("fast", 2), P("slow", 3)};
    add("sma_crossover", p, N(p), syms);
    feed_closes("INFY", closes, N(closes));
    static const struct want w[] = {{6, "INFY", EL, 0}};
    expect_intents(w, N(w));
}

Test(strategies, sma_crossover_short_reverses)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("fast", 2), P("slow", 3), P("short", 1)};
    add("sma_crossover", p, N(p), syms);
    feed_closes("INFY", sma_closes, N(sma_closes));
    /* With the broker filling at once, the exit and the reverse entry come on the cross bar. */
    static const struct want w[] = {
        {4, "INFY", EL, 0},  {9, "INFY", XL, 0},  {9, "INFY", ES, 0}, {13, "INFY", XS, 0},
        {13, "INFY", EL, 0}, {14, "INFY", XL, 0}, {14, "INFY", ES, 0}};
    expect_intents(w, N(w));
    cr_expect_eq(H.pos[sym("INFY")], -SIZING_QTY);
}

/* Two instruments, interleaved, keep separate state: TCS gets the mirror sequence (200 - close),
 * so its crosses are the opposite ones: below at 4 (flat, long-only: nothing), above at 9, below
 * at 13, above at 14. */
Test(strategies, sma_crossover_per_instrument_state)
{
    const char *syms[] = {"INFY", "TCS", NULL};
    struct ind_param p[] = {P("fast", 2), P("slow", 3)};
    add("sma_crossover", p, N(p), syms);
    for (int i = 0; i < N(sma_closes); i++) {
        feed("INFY", at(0, 9, 15) + i * TS_NS_PER_MIN, sma_closes[i]);
        feed("TCS", at(0, 9, 15) + i * TS_NS_PER_MIN, 200 - sma_closes[i]);
    }
    /* Bar numbers count both instruments' bars: INFY's bar i is 2i-1, TCS's is 2i. */
    static const struct want w[] = {
        {7, "INFY", EL, 0},  {17, "INFY", XL, 0}, {18, "TCS", EL, 0},
        {25, "INFY", EL, 0}, {26, "TCS", XL, 0},  {27, "INFY", XL, 0}, {28, "TCS", EL, 0}};
    expect_intents(w, N(w));
}

/* No duplicates while an order is open: the entry of bar 4 stays open through the cross below of
 * bar 9; once it fills (after bar 9) the pending exit goes out on bar 10. That exit stays open
 * through the cross above of bar 13 (so no entry), and the cross below of bar 14 cancels it. */
Test(strategies, sma_crossover_waits_for_open_orders)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("fast", 2), P("slow", 3)};
    add("sma_crossover", p, N(p), syms);
    H.manual_fill = 1;
    for (int i = 0; i < N(sma_closes); i++) {
        feed("INFY", at(0, 9, 15) + i * TS_NS_PER_MIN, sma_closes[i]);
        if (i + 1 == 9 || i + 1 == 13)
            fill_open();
    }
    static const struct want w[] = {{4, "INFY", EL, 0}, {10, "INFY", XL, 0}};
    expect_intents(w, N(w));
}

/* ---- ema_crossover ---------------------------------------------------------------------------- */

/* ema_crossover(fast 2, slow 3): TA-Lib EMA, seeded with the SMA of the first `period` closes,
 * then ema += (close - ema) * 2 / (period + 1).
 *
 *   bar close  fast(2)    slow(3)    cross
 *    2   102   101.0        -
 *    3   104   103.0      102.0      (first comparable: fast above)
 *    4   103   103.0      102.5
 *    5   101   101.667    101.75     BELOW (flat, long-only: nothing)
 *    6    99    99.889    100.375
 *    7   100    99.963    100.1875
 *    8   103   101.988    101.594    ABOVE -> buy
 *    9   106   104.663    103.797
 *   10   104   104.221    103.898
 *   11   101   102.074    102.449    BELOW -> exit */
Test(strategies, ema_crossover)
{
    static const double closes[] = {100, 102, 104, 103, 101, 99, 100, 103, 106, 104, 101};
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("fast", 2), P("slow", 3)};
    add("ema_crossover", p, N(p), syms);
    feed_closes("INFY", closes, N(closes));
    static const struct want w[] = {{8, "INFY", EL, 0}, {11, "INFY", XL, 0}};
    expect_intents(w, N(w));
    cr_expect_str_eq(H.recs[1].reason, "fast EMA crossed below slow EMA: exit long");
}

/* ---- rsi_reversion ---------------------------------------------------------------------------- */

/* rsi_reversion(period 3, oversold 30, overbought 70, exit 50). Wilder RSI(3):
 *
 *   bar close  RSI     long-only            short = 1
 *    4   103   100.0                        short (flat)
 *    5   100    40.0                        cover (<= 50)
 *    6    98    25.0   buy (< 30)           buy
 *    7    97    19.5   (still oversold)
 *    8    99    51.5   exit (>= 50)         exit
 *    9   101    69.6
 *   10   102    76.2                        short (> 70)
 *   11   104    85.7
 *   12   106    91.0
 *   13   103    49.5                        cover (<= 50)
 *   14   100    29.4   buy                  buy */
static const double rsi_closes[] = {100, 101, 102, 103, 100, 98, 97, 99, 101, 102, 104, 106, 103, 100};

Test(strategies, rsi_reversion_table)
{
    static const struct want long_only[] = {{6, "INFY", EL, 0}, {8, "INFY", XL, 0}, {14, "INFY", EL, 0}};
    static const struct want with_short[] = {
        {4, "INFY", ES, 0}, {5, "INFY", XS, 0},  {6, "INFY", EL, 0}, {8, "INFY", XL, 0},
        {10, "INFY", ES, 0}, {13, "INFY", XS, 0}, {14, "INFY", EL, 0}};
    static const struct {
        double short_;
        const struct want *w;
        int n;
    } cases[] = {{0, long_only, N(long_only)}, {1, with_short, N(with_short)}};
    for (int c = 0; c < N(cases); c++) {
        if (c > 0) {
            teardown();
            setup();
        }
        const char *syms[] = {"INFY", NULL};
        struct ind_param p[] = {P("period", 3), P("short", cases[c].short_)};
        add("rsi_reversion", p, N(p), syms);
        feed_closes("INFY", rsi_closes, N(rsi_closes));
        expect_intents(cases[c].w, cases[c].n);
    }
}

/* A protective stop-out (the kernel flattens the position) does not re-enter while RSI is still
 * oversold: the next entry needs the signal to end (RSI >= 50 at bar 8) and start again (14). */
Test(strategies, rsi_reversion_no_reentry_after_stop_out)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("period", 3)};
    add("rsi_reversion", p, N(p), syms);
    for (int i = 0; i < N(rsi_closes); i++) {
        feed("INFY", at(0, 9, 15) + i * TS_NS_PER_MIN, rsi_closes[i]);
        if (i + 1 == 6)
            H.pos[sym("INFY")] = 0; /* stopped out after the entry of bar 6 */
    }
    static const struct want w[] = {{6, "INFY", EL, 0}, {14, "INFY", EL, 0}};
    expect_intents(w, N(w));
}

/* ---- bollinger_breakout ----------------------------------------------------------------------- */

/* bollinger_breakout(period 3, stddev 1): bands = SMA(3) +- 1 population standard deviation.
 *
 *   bar close  upper     middle    lower     long-only          short = 1
 *    3   100   100.000   100.000   100.000   (inside: flat bands, close on them)
 *    4   103   102.414   101.000    99.586   buy (> upper)      buy
 *    5   104   104.033   102.333   100.634   (inside)
 *    6   102   103.816   103.000   102.184   exit (< lower)     exit + short (< lower)
 *    7   100   103.633   102.000   100.367                      (still below lower)
 *    8    99   101.581   100.333    99.086
 *    9    97    99.914    98.667    97.419
 *   10   100    99.914    98.667    97.419   buy (> upper)      cover + buy
 *   11   102   101.721    99.667    97.612
 *   12   100   101.609   100.667    99.724   exit (< middle)    exit */
Test(strategies, bollinger_breakout_table)
{
    static const double closes[] = {100, 100, 100, 103, 104, 102, 100, 99, 97, 100, 102, 100};
    static const struct want long_only[] = {
        {4, "INFY", EL, 0}, {6, "INFY", XL, 0}, {10, "INFY", EL, 0}, {12, "INFY", XL, 0}};
    static const struct want with_short[] = {
        {4, "INFY", EL, 0},  {6, "INFY", XL, 0},  {6, "INFY", ES, 0},
        {10, "INFY", XS, 0}, {10, "INFY", EL, 0}, {12, "INFY", XL, 0}};
    static const struct {
        double short_;
        const struct want *w;
        int n;
    } cases[] = {{0, long_only, N(long_only)}, {1, with_short, N(with_short)}};
    for (int c = 0; c < N(cases); c++) {
        if (c > 0) {
            teardown();
            setup();
        }
        const char *syms[] = {"INFY", NULL};
        struct ind_param p[] = {P("period", 3), P("stddev", 1), P("short", cases[c].short_)};
        add("bollinger_breakout", p, N(p), syms);
        feed_closes("INFY", closes, N(closes));
        expect_intents(cases[c].w, cases[c].n);
    }
}

/* ---- supertrend_follow ------------------------------------------------------------------------ */

/* supertrend_follow(period 2, multiplier 1) on bars with high = close + 1, low = close - 1
 * (docs/indicators.md formula; direction +1 up):
 *
 *   bar close  value      dir   long-only     short = 1
 *    3   102   104.0      -1    (first value: direction recorded, no signal)
 *   10    98    98.5625   -1
 *   11   101    97.609    +1    buy           buy
 *   14   103   102.152    +1
 *   15   100   103.462    -1    exit          exit + short
 *   18    99    99.615    -1
 *   19   102    98.596    +1    buy           cover + buy */
Test(strategies, supertrend_follow_table)
{
    static const double closes[] = {100, 101, 102, 103, 104, 102, 99, 97, 96, 98,
                                    101, 104, 105, 103, 100, 98, 97, 99, 102};
    static const struct want long_only[] = {{11, "INFY", EL, 0}, {15, "INFY", XL, 0}, {19, "INFY", EL, 0}};
    static const struct want with_short[] = {{11, "INFY", EL, 0}, {15, "INFY", XL, 0},
                                             {15, "INFY", ES, 0}, {19, "INFY", XS, 0},
                                             {19, "INFY", EL, 0}};
    static const struct {
        double short_;
        const struct want *w;
        int n;
    } cases[] = {{0, long_only, N(long_only)}, {1, with_short, N(with_short)}};
    for (int c = 0; c < N(cases); c++) {
        if (c > 0) {
            teardown();
            setup();
        }
        const char *syms[] = {"INFY", NULL};
        struct ind_param p[] = {P("period", 2), P("multiplier", 1), P("short", cases[c].short_)};
        add("supertrend_follow", p, N(p), syms);
        for (int i = 0; i < N(closes); i++)
            feed_ohlc("INFY", at(0, 9, 15) + i * TS_NS_PER_MIN, closes[i], closes[i] + 1,
                      closes[i] - 1, closes[i]);
        expect_intents(cases[c].w, cases[c].n);
    }
}

/* ---- time_window ------------------------------------------------------------------------------ */

/* Feeds day d's 1-minute bars from 09:15 up to (not including) hh:mm, at a constant price. */
static void feed_day_until(const char *symbol, int d, int hh, int mm, double close)
{
    for (ts_ns t = at(d, 9, 15); t < at(d, hh, mm); t += TS_NS_PER_MIN)
        feed(symbol, t, close);
}

static int count_before(ts_ns t)
{
    int n = 0;
    for (int i = 0; i < H.n_recs; i++)
        n += H.recs[i].ts < t;
    return n;
}

/* time_window(entry 09:30, exit 15:15 IST, stop 1%): the entry comes with the bar ending at
 * 09:30 IST (the 09:29 minute bar; 04:00 UTC), the exit with the bar ending at 15:15 IST. */
Test(strategies, time_window_entry_and_exit_in_ist)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("entry_time", 930), P("exit_time", 1515), P("stop_loss_pct", 0.01)};
    add("time_window", p, N(p), syms);
    H.drive_timers = 1;

    /* Day 0 (Mon 2 Feb 2026): the whole session. */
    feed_day_until("INFY", 0, 15, 30, 1500);
    cr_assert_eq(H.n_recs, 2);
    cr_expect_eq(H.recs[0].intent, ATP_ENTRY_LONG);
    expect_time(0, at(0, 9, 30));
    cr_expect_eq(H.recs[0].bar, 15, "the 15th minute bar (09:29-09:30) completes at 09:30");
    cr_expect_eq(H.recs[0].qty, 0, "sized by the risk configuration");
    cr_expect(H.recs[0].stop_loss_pct == 0.01, "stop %g", H.recs[0].stop_loss_pct);
    cr_expect(H.recs[0].take_profit_pct == 0);
    cr_expect_eq(H.recs[1].intent, ATP_EXIT_LONG);
    expect_time(1, at(0, 15, 15));
    cr_expect_eq(H.recs[1].qty, 0);
    cr_expect_eq(H.pos[sym("INFY")], 0);

    /* Day 1: stopped out at 10:00 by the protective stop: no re-entry, nothing to exit. */
    H.n_recs = 0;
    feed_day_until("INFY", 1, 10, 0, 1500);
    cr_assert_eq(H.n_recs, 1);
    expect_time(0, at(1, 9, 30));
    H.pos[sym("INFY")] = 0;
    for (ts_ns t = at(1, 10, 0); t < at(1, 15, 30); t += TS_NS_PER_MIN)
        feed("INFY", t, 1480);
    cr_expect_eq(H.n_recs, 1, "no re-entry after a stop-out, no exit when flat");

    /* Day 2: the instrument goes quiet after 09:20; the timer still enters at 09:30 and squares
     * off at 15:15 (the host's timers fire at those market times). */
    H.n_recs = 0;
    feed_day_until("INFY", 2, 9, 20, 1500);
    cr_assert_eq(H.n_recs, 0);
    H.now = at(2, 9, 29);
    strat_host_on_time(H.host, H.now);
    cr_assert_eq(H.n_recs, 0, "nothing before the entry time");
    H.now = at(2, 9, 30);
    strat_host_on_time(H.host, H.now);
    cr_assert_eq(H.n_recs, 1);
    cr_expect_eq(H.recs[0].intent, ATP_ENTRY_LONG);
    expect_time(0, at(2, 9, 30));
    H.now = at(2, 15, 15);
    strat_host_on_time(H.host, H.now);
    cr_assert_eq(H.n_recs, 2);
    cr_expect_eq(H.recs[1].intent, ATP_EXIT_LONG);
    expect_time(1, at(2, 15, 15));

    /* Day 3: ticks, to the second. */
    H.n_recs = 0;
    uint32_t infy = sym("INFY");
    static const struct {
        int hh, mm, ss;
        int n_after;
    } ticks[] = {{9, 15, 0, 0}, {9, 29, 59, 0}, {9, 30, 0, 1}, {9, 31, 0, 1},
                 {15, 14, 59, 1}, {15, 15, 0, 2}, {15, 20, 0, 2}};
    for (int i = 0; i < N(ticks); i++) {
        struct tick tk = {.instrument_id = infy,
                          .ts = ts_from_ist(2026, 2, 5, ticks[i].hh, ticks[i].mm, ticks[i].ss),
                          .ltp = px(1500)};
        H.now = tk.ts;
        strat_host_on_tick(H.host, &tk);
        cr_expect_eq(H.n_recs, ticks[i].n_after, "after the tick at %02d:%02d:%02d", ticks[i].hh,
                     ticks[i].mm, ticks[i].ss);
    }
    cr_expect_eq(count_before(ts_from_ist(2026, 2, 5, 9, 30, 0)), 0);
}

/* A position left open from an earlier day (the square-off was missed) is closed on the next
 * day's first event, and that day's entry follows once flat. short = 1 sells at the entry time. */
Test(strategies, time_window_short_and_overnight_position)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("entry_time", 1000), P("exit_time", 1400), P("stop_loss_pct", 0.02),
                            P("take_profit_pct", 0.03), P("short", 1)};
    add("time_window", p, N(p), syms);
    feed_day_until("INFY", 0, 10, 30, 1500); /* the data stops: no exit today */
    cr_assert_eq(H.n_recs, 1);
    cr_expect_eq(H.recs[0].intent, ATP_ENTRY_SHORT);
    cr_expect(H.recs[0].stop_loss_pct == 0.02 && H.recs[0].take_profit_pct == 0.03);
    expect_time(0, at(0, 10, 0));
    feed_day_until("INFY", 1, 10, 1, 1500);
    static const struct want w[] = {{45, "INFY", ES, 0}, {76, "INFY", XS, 0}, {120, "INFY", ES, 0}};
    expect_intents(w, N(w));
    expect_time(1, at(1, 9, 16));
    expect_time(2, at(1, 10, 0));
    cr_expect_str_eq(H.recs[1].reason, "time window: position left from an earlier day");
}

/* The seeds' rule: no stop-loss, no strategy. init fails, the host pauses it with the message,
 * and it can never be resumed (its parameters cannot change). */
Test(strategies, time_window_requires_a_stop_loss)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("entry_time", 930), P("exit_time", 1515)};
    struct atp_err err;
    cr_assert_eq(add_ex("time_window", p, N(p), syms, TF_1M, &err), ATP_OK);
    const struct strat_info *info = strat_host_info(H.host, H.id);
    cr_assert_eq(info->state, STRATEGY_PAUSED);
    cr_expect(strstr(info->last_error, "stop-loss is mandatory"), "%s", info->last_error);
    cr_expect(strstr(H.last_reason, "stop-loss is mandatory"), "state event: %s", H.last_reason);
    cr_expect_eq(strat_host_resume(H.host, H.id), ATP_ESTATE);
    cr_expect_eq(info->state, STRATEGY_PAUSED);
    feed_day_until("INFY", 0, 10, 0, 1500);
    cr_expect_eq(H.n_recs, 0);
}

/* ---- opening_range_breakout ------------------------------------------------------------------- */

/* Day d's opening range on 1-minute bars 09:15..09:29 IST: high 105 (09:20), low 95 (09:25). */
static void feed_opening_range(const char *symbol, int d)
{
    for (int m = 0; m < 15; m++) {
        double hi = m == 5 ? 105 : 101, lo = m == 10 ? 95 : 99;
        feed_ohlc(symbol, at(d, 9, 15 + m), 100, hi, lo, 100);
    }
}

Test(strategies, opening_range_breakout_long_and_square_off)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("range_minutes", 15), P("target_mult", 2), P("square_off", 1515)};
    add("opening_range_breakout", p, N(p), syms);
    feed_opening_range("INFY", 0);
    feed_ohlc("INFY", at(0, 9, 30), 100, 104.5, 100, 104);  /* bar 16: inside the range */
    feed_ohlc("INFY", at(0, 9, 31), 104, 106.5, 104, 106);  /* bar 17: close above 105 -> buy */
    feed_ohlc("INFY", at(0, 9, 32), 106, 108, 106, 107);    /* bar 18: already long */
    for (ts_ns t = at(0, 9, 33); t < at(0, 15, 30); t += TS_NS_PER_MIN)
        feed_ohlc("INFY", t, 107, 108, 106, 107);
    static const struct want w[] = {{17, "INFY", EL, 0}, {17 + 1 + 342, "INFY", XL, 0}};
    expect_intents(w, N(w));
    expect_time(0, at(0, 9, 32));
    expect_time(1, at(0, 15, 15));
    /* Stop at the range low, target 2 x the range height (10), as fractions of the 106 close. */
    cr_expect(fabs(H.recs[0].stop_loss_pct - 11.0 / 106) < 1e-12, "stop %.15g", H.recs[0].stop_loss_pct);
    cr_expect(fabs(H.recs[0].take_profit_pct - 20.0 / 106) < 1e-12, "target %.15g",
              H.recs[0].take_profit_pct);
    cr_expect_str_eq(H.recs[1].reason, "opening range breakout: square-off time");

    /* Day 1: long-only ignores a break below; one breakout per day (stopped out at 10:00, a
     * second break above at 10:30 is not taken); no entry after the square-off time. */
    H.n_recs = 0;
    H.bar_no = 0;
    feed_opening_range("INFY", 1);
    feed_ohlc("INFY", at(1, 9, 30), 100, 100, 93, 94);    /* bar 16: below the low: no short */
    feed_ohlc("INFY", at(1, 9, 31), 94, 106, 94, 105.5);  /* bar 17: buy */
    H.pos[sym("INFY")] = 0;                                /* the protective stop hits */
    feed_ohlc("INFY", at(1, 10, 30), 100, 107, 100, 106); /* bar 18: no second trade */
    cr_expect_eq(H.n_recs, 1);
    cr_expect_eq(H.recs[0].bar, 17);
    cr_expect(fabs(H.recs[0].stop_loss_pct - 10.5 / 105.5) < 1e-12);

    H.n_recs = 0;
    feed_opening_range("INFY", 2);
    feed_ohlc("INFY", at(2, 15, 15), 100, 110, 100, 110); /* a break, but at square-off time */
    cr_expect_eq(H.n_recs, 0, "no entry at or after the square-off time");
}

/* short = 1 with a fixed 2% stop and no target of its own; square-off at 14:00 by the timer when
 * the data stops, and by a tick on the next day. */
Test(strategies, opening_range_breakout_short_timer_and_tick)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("range_minutes", 15), P("stop_pct", 0.02), P("target_mult", 0),
                            P("square_off", 1400), P("short", 1)};
    add("opening_range_breakout", p, N(p), syms);
    feed_opening_range("INFY", 0);
    feed_ohlc("INFY", at(0, 9, 30), 100, 100, 94, 94.5); /* close below 95: sell short */
    cr_assert_eq(H.n_recs, 1);
    cr_expect_eq(H.recs[0].intent, ATP_ENTRY_SHORT);
    cr_expect(H.recs[0].stop_loss_pct == 0.02 && H.recs[0].take_profit_pct == 0);
    expect_time(0, at(0, 9, 31));
    H.now = at(0, 13, 59);
    strat_host_on_time(H.host, H.now);
    cr_expect_eq(H.n_recs, 1);
    H.now = at(0, 14, 0);
    strat_host_on_time(H.host, H.now);
    cr_assert_eq(H.n_recs, 2);
    cr_expect_eq(H.recs[1].intent, ATP_EXIT_SHORT);
    expect_time(1, at(0, 14, 0));

    feed_opening_range("INFY", 1);
    feed_ohlc("INFY", at(1, 9, 30), 100, 100, 94, 94.5);
    cr_assert_eq(H.n_recs, 3);
    struct tick tk = {.instrument_id = sym("INFY"), .ts = at(1, 13, 59) + 59 * TS_NS_PER_SEC,
                      .ltp = px(94)};
    H.now = tk.ts;
    strat_host_on_tick(H.host, &tk);
    cr_expect_eq(H.n_recs, 3, "13:59:59 is before the square-off");
    tk.ts = at(1, 14, 0) + 2 * TS_NS_PER_SEC;
    H.now = tk.ts;
    strat_host_on_tick(H.host, &tk);
    cr_assert_eq(H.n_recs, 4);
    cr_expect_eq(H.recs[3].intent, ATP_EXIT_SHORT);
    expect_time(3, tk.ts);
}

/* On 5-minute bars (fed as minutes, folded by the engine) a 15-minute range is the 09:15, 09:20
 * and 09:25 bars; the first 5-minute close beyond it trades. */
Test(strategies, opening_range_breakout_on_5m_bars)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("range_minutes", 15)};
    struct atp_err err;
    cr_assert_eq(add_ex("opening_range_breakout", p, N(p), syms, TF_5M, &err), ATP_OK);
    cr_assert_eq(strat_host_info(H.host, H.id)->state, STRATEGY_RUNNING);
    feed_opening_range("INFY", 0);
    for (int m = 0; m < 5; m++) /* 09:30-09:35: closes at 106 at 09:34 */
        feed_ohlc("INFY", at(0, 9, 30 + m), 104, 106, 104, m == 4 ? 106 : 104);
    cr_assert_eq(H.n_recs, 1);
    cr_expect_eq(H.recs[0].intent, ATP_ENTRY_LONG);
    cr_expect_eq(H.recs[0].bar, 20, "the 5-minute bar completes with its last minute");
    cr_expect(fabs(H.recs[0].stop_loss_pct - 11.0 / 106) < 1e-12);
}

/* ---- grid ------------------------------------------------------------------------------------- */

/* grid(ref 100, spacing 1%, 3 levels, qty 5): levels 99, 98, 97 below the reference 100.
 *
 *   bar close  held before  action
 *    1  100.5   0
 *    2   99.5   0
 *    3   99.0   0           buy level 1 (<= 99)
 *    4   97.5   1           buy level 2 (<= 98); not level 3 (97)
 *    5   96.0   2           buy level 3
 *    6   95.0   3           (every level held)
 *    7   97.9   3           (level 3 sells at >= 98)
 *    8   98.0   3           sell level 3
 *    9  100.0   2           sell level 2 (>= 99) and level 1 (>= 100)
 *   10   96.5   0           gap down: buy levels 1, 2, 3
 *   11  101.0   3           sell levels 3, 2, 1 */
Test(strategies, grid_level_fills)
{
    static const double closes[] = {100.5, 99.5, 99, 97.5, 96, 95, 97.9, 98, 100, 96.5, 101};
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("levels", 3), P("spacing_pct", 0.01), P("qty", 5), P("ref_price", 100)};
    add("grid", p, N(p), syms);
    feed_closes("INFY", closes, N(closes));
    static const struct want w[] = {
        {3, "INFY", EL, 5},  {4, "INFY", EL, 5},  {5, "INFY", EL, 5},  {8, "INFY", XL, 5},
        {9, "INFY", XL, 5},  {9, "INFY", XL, 5},  {10, "INFY", EL, 5}, {10, "INFY", EL, 5},
        {10, "INFY", EL, 5}, {11, "INFY", XL, 5}, {11, "INFY", XL, 5}, {11, "INFY", XL, 5}};
    expect_intents(w, N(w));
    cr_expect_str_eq(H.recs[1].reason, "grid: buy level 2 at 98.00");
    cr_expect_str_eq(H.recs[3].reason, "grid: sell level 3 at 98.00");
    cr_expect_str_eq(H.recs[9].reason, "grid: sell level 3 at 98.00");
    cr_expect_eq(H.pos[sym("INFY")], 0);
}

/* The position is the truth: a buy the broker rejected (position unchanged) is bought again on
 * the next bar; with the reference 0 the first close is the reference. */
Test(strategies, grid_reference_from_first_close_and_rejections)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("levels", 2), P("spacing_pct", 0.02), P("qty", 3)};
    add("grid", p, N(p), syms);
    H.manual_fill = 1;
    feed("INFY", at(0, 9, 15), 200); /* reference 200: levels 196, 192 */
    feed("INFY", at(0, 9, 16), 196); /* buy level 1 ... */
    cr_assert_eq(H.n_recs, 1);
    H.recs[0].filled = 1;            /* ... rejected: closed without a fill */
    feed("INFY", at(0, 9, 17), 195);
    feed("INFY", at(0, 9, 18), 194); /* still open: no duplicate */
    fill_open();
    feed("INFY", at(0, 9, 19), 193);
    static const struct want w[] = {{2, "INFY", EL, 3}, {3, "INFY", EL, 3}};
    expect_intents(w, N(w));
    cr_expect_eq(H.pos[sym("INFY")], 3);
}

/* A callback error pauses the strategy and keeps its state; resume continues from it. TCS's first
 * close (0.10 at a 0.05 tick) cannot hold a 1% ladder (level 1 rounds onto the reference), so
 * on_bar fails; INFY's ladder (reference 100, level 1 held) survives the pause. */
Test(strategies, callback_error_pauses_and_resume_keeps_state)
{
    const char *syms[] = {"INFY", "TCS", NULL};
    struct ind_param p[] = {P("levels", 3), P("spacing_pct", 0.01), P("qty", 5)};
    add("grid", p, N(p), syms);
    feed("INFY", at(0, 9, 15), 100);
    feed("INFY", at(0, 9, 16), 99); /* buy level 1 */
    cr_assert_eq(H.n_recs, 1);
    feed("TCS", at(0, 9, 16), 0.10);
    const struct strat_info *info = strat_host_info(H.host, H.id);
    cr_assert_eq(info->state, STRATEGY_PAUSED);
    cr_expect(strstr(info->last_error, "grid on TCS: level 1 rounds to 0.1000"), "%s", info->last_error);
    cr_expect_str_eq(H.last_reason, info->last_error);
    feed("INFY", at(0, 9, 17), 100); /* paused: no callbacks */
    cr_expect_eq(H.n_recs, 1);

    cr_assert_eq(strat_host_resume(H.host, H.id), ATP_OK);
    cr_expect_eq(info->state, STRATEGY_RUNNING);
    cr_expect_str_eq(info->last_error, "");
    feed("TCS", at(0, 9, 18), 50);   /* the failed close was not kept: 50 is the reference */
    feed("INFY", at(0, 9, 18), 100); /* the kept reference 100: level 1 sells */
    feed("TCS", at(0, 9, 19), 49.5); /* level 1 of TCS at 49.50 */
    static const struct want w[] = {{2, "INFY", EL, 5}, {6, "INFY", XL, 5}, {7, "TCS", EL, 5}};
    expect_intents(w, N(w));
}

/* ---- dca ------------------------------------------------------------------------------------- */

/* dca(every 3 bars, qty 10, take-profit 5% on the average):
 *
 *   bar close  action (max_buys 0)                 action (max_buys 2)
 *    1   100   buy (first bar)                     buy
 *    4    94   buy: avg 97, target 101.85          buy: avg 97
 *    6   101   (below 101.85)                      (below)
 *    7   100   buy: avg 98, target 102.90          (max_buys reached)
 *    8   103   take profit (>= 102.90)             take profit (>= 101.85)
 *    9   103   (2 bars since the last buy)         buy: new cycle, period long passed
 *   10   100   buy */
Test(strategies, dca_bars_and_take_profit)
{
    static const double closes[] = {100, 98, 96, 94, 95, 101, 100, 103, 103, 100};
    static const struct want unlimited[] = {
        {1, "INFY", EL, 10}, {4, "INFY", EL, 10}, {7, "INFY", EL, 10}, {8, "INFY", XL, 0},
        {10, "INFY", EL, 10}};
    static const struct want max2[] = {
        {1, "INFY", EL, 10}, {4, "INFY", EL, 10}, {8, "INFY", XL, 0}, {9, "INFY", EL, 10}};
    static const struct {
        double max_buys;
        const struct want *w;
        int n;
    } cases[] = {{0, unlimited, N(unlimited)}, {2, max2, N(max2)}};
    for (int c = 0; c < N(cases); c++) {
        if (c > 0) {
            teardown();
            setup();
        }
        const char *syms[] = {"INFY", NULL};
        struct ind_param p[] = {P("every", 3), P("in_days", 0), P("qty", 10),
                                P("take_profit_pct", 0.05), P("max_buys", cases[c].max_buys)};
        add("dca", p, N(p), syms);
        feed_closes("INFY", closes, N(closes));
        expect_intents(cases[c].w, cases[c].n);
        /* Buys leave the take-profit to the strategy (per-entry target disabled). */
        cr_expect(H.recs[0].take_profit_pct < 0 && H.recs[0].stop_loss_pct == 0);
    }
}

/* Every 2 calendar days, on the first bar of the first trading day that far from the last buy:
 * Mon 2 Feb, Wed 4, Fri 6, then Mon 9 (the weekend has no data). */
Test(strategies, dca_calendar_days)
{
    const char *syms[] = {"INFY", NULL};
    struct ind_param p[] = {P("every", 2), P("in_days", 1)};
    add("dca", p, N(p), syms);
    static const int days[] = {0, 1, 2, 3, 4, 7, 8}; /* Mon..Fri, Mon, Tue */
    for (int i = 0; i < N(days); i++)
        for (int m = 0; m < 3; m++)
            feed("INFY", at(days[i], 9, 15 + m), 100);
    static const struct want w[] = {
        {1, "INFY", EL, 0}, {7, "INFY", EL, 0}, {13, "INFY", EL, 0}, {16, "INFY", EL, 0}};
    expect_intents(w, N(w));
    expect_time(3, at(7, 9, 16));
}

/* ---- parameters --------------------------------------------------------------------------------- */

/* Schema violations are refused by strat_host_add with the parameter named; nothing is created. */
Test(strategies, bad_parameters_are_rejected_with_the_field)
{
    static const struct {
        const char *type;
        struct ind_param p;
        int rc;
        const char *field;
    } cases[] = {
        {"sma_crossover", {"fast", 1}, ATP_EINVAL, "fast"},
        {"sma_crossover", {"slow", 5000}, ATP_EINVAL, "slow"},
        {"sma_crossover", {"fast", 2.5}, ATP_EINVAL, "fast"},
        {"sma_crossover", {"short", 2}, ATP_EINVAL, "short"},
        {"ema_crossover", {"period", 5}, ATP_EINVAL, "period"},
        {"rsi_reversion", {"oversold", 0}, ATP_EINVAL, "oversold"},
        {"bollinger_breakout", {"stddev", 0}, ATP_EINVAL, "stddev"},
        {"supertrend_follow", {"multiplier", -1}, ATP_EINVAL, "multiplier"},
        {"time_window", {"stop_loss_pct", -0.01}, ATP_EINVAL, "stop_loss_pct"},
        {"time_window", {"entry_time", 900}, ATP_EINVAL, "entry_time"},
        {"time_window", {"exit_time", 1600}, ATP_EINVAL, "exit_time"},
        {"opening_range_breakout", {"range_minutes", 0}, ATP_EINVAL, "range_minutes"},
        {"opening_range_breakout", {"square_off", 1545}, ATP_EINVAL, "square_off"},
        {"grid", {"levels", 0}, ATP_EINVAL, "levels"},
        {"grid", {"qty", 0}, ATP_EINVAL, "qty"},
        {"dca", {"take_profit_pct", 0}, ATP_EINVAL, "take_profit_pct"},
        {"dca", {"every", 0}, ATP_EINVAL, "every"},
        {"no_such_strategy", {"x", 1}, ATP_ENOTFOUND, "type"},
    };
    const char *syms[] = {"INFY", NULL};
    for (int c = 0; c < N(cases); c++) {
        struct atp_err err;
        uint64_t before = strat_host_count(H.host);
        cr_expect_eq(add_ex(cases[c].type, &cases[c].p, 1, syms, TF_1M, &err), cases[c].rc, "%s %s=%g",
                     cases[c].type, cases[c].p.name, cases[c].p.value);
        cr_expect_str_eq(err.field, cases[c].field, "%s %s: %s", cases[c].type, cases[c].p.name, err.msg);
        cr_expect_eq(strat_host_count(H.host), before, "nothing created");
    }
}

/* Consistency rules the schema cannot express fail init: the instance is paused with the reason
 * (naming the parameters) and cannot be resumed. */
Test(strategies, inconsistent_parameters_pause_at_init)
{
    static const struct {
        const char *type;
        struct ind_param p[3];
        int n;
        enum tf tf;
        const char *msg;
    } cases[] = {
        {"sma_crossover", {{"fast", 30}, {"slow", 20}}, 2, TF_1M, "fast (30) must be below slow (20)"},
        {"ema_crossover", {{"fast", 9}, {"slow", 9}}, 2, TF_1M, "fast (9) must be below slow (9)"},
        {"rsi_reversion", {{"oversold", 60}}, 1, TF_1M, "need oversold (60) < exit_level (50)"},
        {"time_window", {{"stop_loss_pct", 0.01}, {"entry_time", 975}}, 2, TF_1M,
         "entry_time 975 is not an HHMM time of day"},
        {"time_window", {{"stop_loss_pct", 0.01}, {"entry_time", 1400}, {"exit_time", 1300}}, 3, TF_1M,
         "exit_time 1300 must be after entry_time 1400"},
        {"time_window", {{"stop_loss_pct", 0.01}}, 1, TF_1D, "needs an intraday first timeframe"},
        {"opening_range_breakout", {{"range_minutes", 20}}, 1, TF_15M,
         "range_minutes 20 is not a multiple of the 15-minute timeframe"},
        {"opening_range_breakout", {{"range_minutes", 60}, {"square_off", 1000}}, 2, TF_1M,
         "square_off 1000 must be after the opening range ends"},
        {"grid", {{"levels", 20}, {"spacing_pct", 0.05}}, 2, TF_1M, "levels x spacing_pct (20 x 0.05)"},
        {"grid", {{"ref_price", 0.1}}, 1, TF_1M, "grid on INFY: level 1 rounds to 0.1000"},
    };
    const char *syms[] = {"INFY", NULL};
    for (int c = 0; c < N(cases); c++) {
        struct atp_err err;
        cr_assert_eq(add_ex(cases[c].type, cases[c].p, cases[c].n, syms, cases[c].tf, &err), ATP_OK,
                     "%s: %s", cases[c].type, err.msg);
        const struct strat_info *info = strat_host_info(H.host, H.id);
        cr_expect_eq(info->state, STRATEGY_PAUSED, "%s case %d", cases[c].type, c);
        cr_expect(strstr(info->last_error, cases[c].msg), "%s: '%s' lacks '%s'", cases[c].type,
                  info->last_error, cases[c].msg);
        cr_expect_eq(strat_host_resume(H.host, H.id), ATP_ESTATE);
    }
}

/* Every catalog entry is well formed: defaults within bounds, and each strategy starts (with its
 * defaults, plus the mandatory stop for time_window) on two instruments and runs a session of
 * data without failing. */
Test(strategies, catalog_defaults_run)
{
    cr_assert_eq(strategy_catalog_count(), 9);
    const char *syms[] = {"INFY", "TCS", NULL};
    for (size_t i = 0; i < strategy_catalog_count(); i++) {
        const struct atp_strategy_def *def = strategy_catalog_get(i);
        cr_expect(def->description && def->description[0]);
        cr_expect(def->on_bar != NULL, "%s", def->name);
        for (int k = 0; k < def->n_params; k++) {
            const struct atp_param_def *pd = &def->params[k];
            cr_expect(pd->name && pd->description && pd->min <= pd->def && pd->def <= pd->max,
                      "%s.%s", def->name, pd->name);
        }
        struct ind_param stop = P("stop_loss_pct", 0.01);
        int is_tw = strcmp(def->name, "time_window") == 0;
        add(def->name, &stop, is_tw, syms);
    }
    for (ts_ns t = at(0, 9, 15); t < at(0, 15, 30); t += TS_NS_PER_MIN) {
        double x = (double)((t - at(0, 9, 15)) / TS_NS_PER_MIN);
        feed("INFY", t, 1500 + 20 * sin(x / 15));
        feed("TCS", t, 3200 + 30 * cos(x / 25));
    }
    for (uint64_t id = 1; id <= strat_host_count(H.host); id++) {
        const struct strat_info *info = strat_host_info(H.host, id);
        cr_expect_eq(info->state, STRATEGY_RUNNING, "%s: %s", info->name, info->last_error);
    }
    cr_expect_gt(H.n_recs, 0);
}
