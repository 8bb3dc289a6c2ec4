/* The trading kernel end to end: real md engine, strategy host, risk gate, OMS, paper broker,
 * portfolio, stops and charges, wired by kernel_new. Manual orders and built-in strategies, with
 * hand-computed prices; properties over a simulated market (equity identity at every step, no
 * fill without an order, denials never become orders); determinism. */
#include <criterion/criterion.h>

#include <string.h>

#include "core/alloc.h"
#include "broker/paper/adapter.h"
#include "kernel/kernel.h"
#include "md/feed.h"
#include "md/feed/sim.h"
#include "testutil.h"

static struct cal *cal;
static struct instreg *reg;
static struct charges_table *rates;
static struct kernel *k;

#define IST(y, mo, d, h, mi, s) ts_from_ist(y, mo, d, h, mi, s)

/* Events seen on the bus, as a log the tests assert on. */
#define LOG_MAX 200000
struct evlog {
    char lines[LOG_MAX][96];
    int n;
    uint64_t fills, orders_new, denied, breaches, fill_qty;
    uint64_t hash;
};
static struct evlog *logp;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char buf[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (const char *p = buf; *p; p++)
        logp->hash = (logp->hash ^ (unsigned char)*p) * 1099511628211ULL;
    if (logp->n < LOG_MAX)
        memcpy(logp->lines[logp->n++], buf, sizeof buf);
}

static void on_event(void *ctx, enum topic t, const void *payload)
{
    (void)ctx;
    char px[PX_STR_MAX];
    switch (t) {
    case TOPIC_ORDER_UPDATE: {
        const struct order *o = payload;
        if (o->state == ORDER_STATE_NEW)
            logp->orders_new++;
        logf_("order %llu %s %s %lld", (unsigned long long)o->id, order_side_name(o->req.side),
              order_state_name(o->state), (long long)o->qty_filled);
        break;
    }
    case TOPIC_FILL: {
        const struct ev_fill *f = payload;
        logp->fills++;
        logp->fill_qty += (uint64_t)f->fill->qty;
        px_format(f->fill->price, px, sizeof px);
        logf_("fill %llu %s %lld @ %s", (unsigned long long)f->fill->order_id,
              order_side_name(f->fill->side), (long long)f->fill->qty, px);
        break;
    }
    case TOPIC_RISK_DENIED: {
        const struct ev_risk_denied *d = payload;
        logp->denied++;
        logf_("denied %s", d->message);
        break;
    }
    case TOPIC_RISK_BREACH:
        logp->breaches++;
        logf_("breach");
        break;
    case TOPIC_STRATEGY_STATE: {
        const struct ev_strategy_state *s = payload;
        logf_("strategy %llu state %d", (unsigned long long)s->strategy_id, (int)s->state);
        break;
    }
    default: break;
    }
}

static void open_kernel(int next_open, const struct charges_model *cm)
{
    struct kernel_config kc = {.cal = cal, .reg = reg, .mode = TRADE_MODE_PAPER, .run_id = 7,
                               .charges = cm, .fill_next_open = next_open};
    struct atp_err err;
    cr_assert_eq(paper_kernel_open(&kc, NULL, &k, &err), ATP_OK, "%s", err.msg);
    for (int t = 0; t < TOPIC_COUNT; t++)
        cr_assert_eq(bus_subscribe(kernel_bus(k), (enum topic)t, on_event, NULL), ATP_OK);
    cr_assert_eq(kernel_account_open(k, 1, PX_RUPEES(1000000), &err), ATP_OK, "%s", err.msg);
}

static void setup(void)
{
    struct atp_err err;
    cal = cal_new();
    reg = instreg_new();
    cr_assert_eq(cal_load(cal, tu_root_path("data/nse_holidays.csv"), &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(instreg_load_csv(reg, tu_root_path("data/instruments.csv"), &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(charges_table_load(tu_root_path("data/charges.csv"), &rates, &err), ATP_OK, "%s",
                 err.msg);
    logp = atp_calloc(1, sizeof *logp);
    cr_assert_not_null(logp);
    k = NULL;
}

static void teardown(void)
{
    kernel_free(k);
    charges_table_free(rates);
    instreg_free(reg);
    cal_free(cal);
    atp_free(logp);
}

static uint32_t id_of(const char *sym)
{
    const struct instrument *in = instreg_find(reg, sym);
    cr_assert_not_null(in, "%s in the master", sym);
    return in->id;
}

static struct tick tk(const char *sym, ts_ns ts, px_t ltp, int64_t qty)
{
    return (struct tick){.instrument_id = id_of(sym), .flags = TICK_HAS_QTY, .ts = ts, .ltp = ltp,
                         .qty = qty};
}

static struct portfolio_summary summary(void)
{
    struct portfolio_summary s;
    cr_assert_eq(portfolio_account_summary(kernel_portfolio(k), 1, TRADE_MODE_PAPER, &s), ATP_OK);
    return s;
}

Test(kernel, manual_market_order_fills_with_slippage_and_charges, .init = setup, .fini = teardown)
{
    /* Flat 0.03% per side. Buy 10 RELIANCE at LTP 1500.00: slippage 0.05% = 0.75 -> 1500.75,
     * on RELIANCE's tick; charges 0.03% x 15007.50 = 4.50225 -> 4.50 (paisa, half-up). */
    struct charges_model flat = {.kind = CHARGES_MODEL_FLAT};
    struct atp_err err;
    cr_assert_eq(charges_rate_parse("0.03", 4, &flat.flat_rate, &err), ATP_OK);
    open_kernel(0, &flat);
    struct tick t = tk("RELIANCE", IST(2026, 1, 5, 9, 20, 0), PX_RUPEES(1500), 100);
    kernel_on_tick(k, &t);
    struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = id_of("RELIANCE"),
                                .side = ORDER_SIDE_BUY, .type = ORDER_TYPE_MARKET,
                                .product = ORDER_PRODUCT_MIS, .validity = ORDER_VALIDITY_DAY, .qty = 10};
    uint64_t id;
    cr_assert_eq(kernel_place(k, &req, &id, &err), ATP_OK, "%s", err.msg);
    const struct order *o = oms_get(kernel_oms(k), id);
    cr_assert_eq(o->state, ORDER_STATE_FILLED);
    cr_assert_eq(o->avg_fill_price, 15007500);
    struct portfolio_summary s = summary();
    cr_assert_eq(s.charges, 45000, "4.50 rupees");
    cr_assert_eq(s.cash, PX_RUPEES(1000000) - 150075000 - 45000);
    /* Marked at 1500.00 the position lost the slippage: unrealized = 10 x (1500 - 1500.75). */
    cr_assert_eq(s.unrealized, -75000);
    cr_assert_eq(s.equity, PX_RUPEES(1000000) - 75000 - 45000);
    cr_assert_eq(s.net_pnl, s.realized - s.charges + s.unrealized);
    cr_assert_eq(portfolio_check(kernel_portfolio(k)), 1);
}

Test(kernel, risk_denial_is_an_event_not_an_order, .init = setup, .fini = teardown)
{
    open_kernel(0, NULL);
    uint32_t fut = id_of("NIFTY26DECFUT");
    struct tick t = {.instrument_id = fut, .ts = IST(2026, 12, 1, 10, 0, 0), .ltp = PX_RUPEES(26000)};
    kernel_on_tick(k, &t);
    struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = fut,
                                .side = ORDER_SIDE_BUY, .type = ORDER_TYPE_MARKET,
                                .product = ORDER_PRODUCT_NRML, .validity = ORDER_VALIDITY_DAY, .qty = 70};
    uint64_t id;
    struct atp_err err;
    cr_assert_eq(kernel_place(k, &req, &id, &err), ATP_ERANGE);
    cr_assert(strstr(err.msg, "QTY_NOT_LOT_MULTIPLE"), "%s", err.msg);
    cr_assert(strstr(err.msg, "65"), "the message gives the lot size: %s", err.msg);
    cr_assert_eq(logp->denied, 1);
    cr_assert_eq(oms_count(kernel_oms(k)), 0, "a denial creates no order");
}

Test(kernel, idempotency_key_returns_the_same_order, .init = setup, .fini = teardown)
{
    open_kernel(0, NULL);
    struct tick t = tk("INFY", IST(2026, 1, 5, 9, 30, 0), PX_RUPEES(1600), 10);
    kernel_on_tick(k, &t);
    struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = id_of("INFY"),
                                .side = ORDER_SIDE_BUY, .type = ORDER_TYPE_LIMIT,
                                .product = ORDER_PRODUCT_CNC, .validity = ORDER_VALIDITY_DAY, .qty = 5,
                                .limit_price = PX_RUPEES(1590)};
    strcpy(req.client_key, "retry-42");
    uint64_t a, b;
    struct atp_err err;
    cr_assert_eq(kernel_place(k, &req, &a, &err), ATP_OK);
    cr_assert_eq(kernel_place(k, &req, &b, &err), 1);
    cr_assert_eq(a, b);
    cr_assert_eq(oms_count(kernel_oms(k)), 1);
    /* The limit rests, then fills when the market trades through it. */
    cr_assert_eq(oms_get(kernel_oms(k), a)->state, ORDER_STATE_OPEN);
    struct tick down = tk("INFY", IST(2026, 1, 5, 9, 31, 0), PX_RUPEES(1589), 10);
    kernel_on_tick(k, &down);
    cr_assert_eq(oms_get(kernel_oms(k), a)->state, ORDER_STATE_FILLED);
    cr_assert_eq(oms_get(kernel_oms(k), a)->avg_fill_price, PX_RUPEES(1590));
}

Test(kernel, stop_loss_exits_once_and_mis_is_squared_off, .init = setup, .fini = teardown)
{
    open_kernel(0, NULL);
    uint32_t sbin = id_of("SBIN");
    struct atp_err err;
    struct tick t = tk("SBIN", IST(2026, 1, 5, 10, 0, 0), PX_RUPEES(800), 10);
    kernel_on_tick(k, &t);
    /* A strategy-less entry has no stops; use a time_window strategy with a 1% stop instead. */
    enum tf tf = TF_1M;
    struct ind_param p[] = {{"entry_time", 1001}, {"exit_time", 1500}, {"stop_loss_pct", 0.01}};
    struct strat_config sc = {.account_id = 1, .mode = TRADE_MODE_PAPER, .type = "time_window",
                              .params = p, .n_params = 3, .instruments = &sbin, .n_instruments = 1,
                              .tfs = &tf, .n_tfs = 1,
                              .risk = {.qty = 10, .product = ORDER_PRODUCT_MIS}};
    uint64_t sid;
    cr_assert_eq(kernel_strategy_add(k, &sc, &sid, &err), ATP_OK, "%s", err.msg);
    for (int s = 1; s <= 90; s++) { /* 10:00:01 .. 10:01:30 at 800 */
        struct tick x = tk("SBIN", IST(2026, 1, 5, 10, 0, 0) + s * TS_NS_PER_SEC, PX_RUPEES(800), 1);
        kernel_on_tick(k, &x);
    }
    struct portfolio_key key = {1, TRADE_MODE_PAPER, sid, sbin};
    struct portfolio_position pos;
    cr_assert_eq(portfolio_position_get(kernel_portfolio(k), &key, &pos), ATP_OK, "entered at 10:01");
    cr_assert_eq(pos.qty, 10);
    uint64_t fills_before = logp->fills;
    /* 1% below the 800.40 entry (800 + 0.05% slippage) rounded down to the 0.05 tick: 792.35. */
    struct tick fall = tk("SBIN", IST(2026, 1, 5, 10, 5, 0), PX_RUPEES(792), 1);
    kernel_on_tick(k, &fall);
    cr_assert_eq(logp->fills, fills_before + 1, "one exit fill");
    cr_assert_eq(portfolio_position_get(kernel_portfolio(k), &key, &pos), ATP_OK);
    cr_assert_eq(pos.qty, 0);
    struct kernel_stats st;
    kernel_stats(k, &st);
    cr_assert_eq(st.stop_exits, 1);
    struct tick lower = tk("SBIN", IST(2026, 1, 5, 10, 6, 0), PX_RUPEES(780), 1);
    kernel_on_tick(k, &lower);
    kernel_stats(k, &st);
    cr_assert_eq(st.stop_exits, 1, "a flat position fires nothing");
    /* A manual MIS position is squared off at 15:20. */
    struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = sbin,
                                .side = ORDER_SIDE_SELL, .type = ORDER_TYPE_MARKET,
                                .product = ORDER_PRODUCT_MIS, .validity = ORDER_VALIDITY_DAY, .qty = 3};
    uint64_t id;
    cr_assert_eq(kernel_place(k, &req, &id, &err), ATP_OK, "%s", err.msg);
    struct portfolio_key manual = {1, TRADE_MODE_PAPER, 0, sbin};
    cr_assert_eq(portfolio_position_get(kernel_portfolio(k), &manual, &pos), ATP_OK);
    cr_assert_eq(pos.qty, -3);
    struct tick late = tk("SBIN", IST(2026, 1, 5, 15, 21, 0), PX_RUPEES(785), 1);
    kernel_on_tick(k, &late);
    cr_assert_eq(portfolio_position_get(kernel_portfolio(k), &manual, &pos), ATP_OK);
    cr_assert_eq(pos.qty, 0, "squared off at 15:20");
    kernel_stats(k, &st);
    cr_assert_geq(st.square_offs, 1);
}

/* sma_crossover(2, 3) on daily bars. Closes: 10 10 10 9 9 12 13 11 8 8
 * SMA2: -  10 10 9.5 9 10.5 12.5 12 9.5 8
 * SMA3: -  -  10 9.67 9.33 10 11.33 12 10.67 9
 * fast>slow first on bar 6 (10.5 > 10) after fast<slow on bar 5: cross above -> BUY signal at
 * bar 6's close; bar 9: 9.5 < 10.67 after 12 == 12 on bar 8 and 12.5 > 11.33 on bar 7: cross
 * below -> SELL at bar 9's close. */
static void run_sma(int next_open, px_t *entry, px_t *exit_px)
{
    open_kernel(next_open, NULL);
    uint32_t id = id_of("TCS");
    enum tf tf = TF_1D;
    struct ind_param p[] = {{"fast", 2}, {"slow", 3}};
    struct strat_config sc = {.account_id = 1, .mode = TRADE_MODE_PAPER, .type = "sma_crossover",
                              .params = p, .n_params = 2, .instruments = &id, .n_instruments = 1,
                              .tfs = &tf, .n_tfs = 1, .risk = {.qty = 4, .product = ORDER_PRODUCT_CNC}};
    uint64_t sid;
    struct atp_err err;
    cr_assert_eq(kernel_strategy_add(k, &sc, &sid, &err), ATP_OK, "%s", err.msg);
    static const int closes[] = {10, 10, 10, 9, 9, 12, 13, 11, 8, 8};
    int day = 5;
    for (int i = 0; i < 10; i++, day++) {
        while (!cal_is_trading_day(cal, ts_days_from_civil(2026, 1, day)))
            day++;
        px_t c = PX_RUPEES(closes[i] * 100), o = c + PX_RUPEES(1);
        struct bar b = {.start = IST(2026, 1, day, 9, 15, 0), .open = o, .high = o + PX_RUPEES(2),
                        .low = c - PX_RUPEES(2), .close = c, .volume = 1000, .oi = -1};
        kernel_on_bar(k, id, TF_1D, &b);
    }
    *entry = *exit_px = 0;
    for (size_t i = 0; i < oms_count(kernel_oms(k)); i++) {
        const struct order *o = oms_at(kernel_oms(k), i);
        cr_assert_eq(o->state, ORDER_STATE_FILLED, "order %zu filled", i);
        if (o->req.side == ORDER_SIDE_BUY)
            *entry = o->avg_fill_price;
        else
            *exit_px = o->avg_fill_price;
    }
    cr_assert_eq(oms_count(kernel_oms(k)), 2, "one entry, one exit");
}

Test(kernel, sma_crossover_fills_at_next_open, .init = setup, .fini = teardown)
{
    px_t entry, exit_px;
    run_sma(1, &entry, &exit_px);
    /* Next opens: bar 7 opens at 1301, bar 10 at 801; slippage 0.05% against us, rounded to the
     * 0.05 tick: 1301 x 1.0005 = 1301.6505 -> 1301.70; 801 x 0.9995 = 800.5995 -> 800.55. */
    cr_assert_eq(entry, 13017000);
    cr_assert_eq(exit_px, 8005500);
}

Test(kernel, sma_crossover_fills_at_close, .init = setup, .fini = teardown)
{
    px_t entry, exit_px;
    run_sma(0, &entry, &exit_px);
    /* Closes of bars 6 and 9: 1200 x 1.0005 = 1200.60; 800 x 0.9995 = 799.60. */
    cr_assert_eq(entry, 12006000);
    cr_assert_eq(exit_px, 7996000);
}

/* Several strategies over a simulated market: at every tick equity = initial + realized -
 * charges + unrealized (portfolio_check), every fill has an order, orders never exceed the
 * gate's limits. Returns the event-log hash for the determinism test. */
static uint64_t run_market(uint64_t seed)
{
    struct charges_model india = {.kind = CHARGES_MODEL_INDIAN, .table = rates};
    open_kernel(0, &india);
    static const char *syms[] = {"RELIANCE", "TCS", "INFY", "SBIN", "ITC"};
    uint32_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = id_of(syms[i]);
    static const char *types[] = {"sma_crossover", "ema_crossover", "rsi_reversion",
                                  "bollinger_breakout", "supertrend_follow"};
    enum tf tf = TF_1M;
    struct atp_err err;
    for (int i = 0; i < 5; i++) {
        struct strat_config sc = {.account_id = 1, .mode = TRADE_MODE_PAPER, .type = types[i],
                                  .instruments = ids, .n_instruments = 5, .tfs = &tf, .n_tfs = 1,
                                  .risk = {.qty = 5, .stop_loss_pct = 0.005, .trailing_stop_pct = 0.004,
                                           .product = ORDER_PRODUCT_MIS}};
        uint64_t sid;
        cr_assert_eq(kernel_strategy_add(k, &sc, &sid, &err), ATP_OK, "%s: %s", types[i], err.msg);
    }
    struct sim_params sp = {.seed = seed, .from_day = ts_days_from_civil(2026, 1, 5), .days = 2,
                            .symbols = syms, .n_symbols = 5, .ticks_per_min = 30,
                            .profiles_path = tu_root_path("data/sim_profiles.csv")};
    struct feed *feed;
    cr_assert_eq(sim_new(&sp, reg, cal, &feed, &err), ATP_OK, "%s", err.msg);
    struct feed_item item;
    long n = 0;
    while (feed_next(feed, &item, &err) == 1) {
        kernel_on_tick(k, &item.tick);
        if (++n % 97 == 0)
            cr_assert_eq(portfolio_check(kernel_portfolio(k)), 1, "equity identity at tick %ld", n);
    }
    feed_free(feed);
    kernel_advance(k, IST(2026, 1, 6, 16, 0, 0));
    cr_assert_eq(portfolio_check(kernel_portfolio(k)), 1);
    struct kernel_stats st;
    kernel_stats(k, &st);
    cr_assert_gt(st.fills, 10, "the strategies traded (%llu fills)", (unsigned long long)st.fills);
    cr_assert_eq(st.oms_refusals, 0, "every broker event matched an order");
    /* No fill without an order; filled quantity equals the orders' filled quantity. */
    uint64_t filled = 0;
    for (size_t i = 0; i < oms_count(kernel_oms(k)); i++) {
        const struct order *o = oms_at(kernel_oms(k), i);
        filled += (uint64_t)o->qty_filled;
        cr_assert(o->qty_filled <= o->req.qty);
    }
    cr_assert_eq(filled, logp->fill_qty);
    cr_assert_eq(logp->orders_new, oms_count(kernel_oms(k)));
    /* MIS positions are flat after the 15:20 square-off of the last day. */
    struct portfolio_summary s = summary();
    cr_assert_eq(s.open_positions, 0, "all MIS positions squared off");
    cr_assert_eq(s.net_pnl, s.equity - s.initial_cash);
    uint64_t h = logp->hash;
    kernel_free(k);
    k = NULL;
    memset(logp, 0, sizeof *logp);
    return h;
}

Test(kernel_property, equity_identity_and_determinism, .init = setup, .fini = teardown, .timeout = 120)
{
    uint64_t a = run_market(11);
    uint64_t b = run_market(11);
    uint64_t c = run_market(12);
    cr_assert_eq(a, b, "same input and seed give the same events");
    cr_assert_neq(a, c);
}

Test(kernel, loss_breach_pauses_strategies, .init = setup, .fini = teardown)
{
    open_kernel(0, NULL);
    struct atp_err err;
    struct risk_limits lim;
    risk_limits_default(&lim);
    lim.max_loss = PX_RUPEES(100);
    cr_assert_eq(risk_set_limits(kernel_risk(k), 1, TRADE_MODE_PAPER, &lim, &err), ATP_OK);
    uint32_t id = id_of("ITC");
    enum tf tf = TF_1M;
    struct strat_config sc = {.account_id = 1, .mode = TRADE_MODE_PAPER, .type = "sma_crossover",
                              .instruments = &id, .n_instruments = 1, .tfs = &tf, .n_tfs = 1,
                              .risk = {.qty = 1}};
    uint64_t sid;
    cr_assert_eq(kernel_strategy_add(k, &sc, &sid, &err), ATP_OK);
    struct tick t = tk("ITC", IST(2026, 1, 5, 9, 20, 0), PX_RUPEES(400), 1);
    kernel_on_tick(k, &t);
    struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = id,
                                .side = ORDER_SIDE_BUY, .type = ORDER_TYPE_MARKET,
                                .product = ORDER_PRODUCT_CNC, .validity = ORDER_VALIDITY_DAY, .qty = 100};
    uint64_t oid;
    cr_assert_eq(kernel_place(k, &req, &oid, &err), ATP_OK, "%s", err.msg);
    struct tick fall = tk("ITC", IST(2026, 1, 5, 9, 21, 0), PX_RUPEES(398), 1);
    kernel_on_tick(k, &fall); /* 100 x (398 - 400.20) = -220 < -100 */
    cr_assert_eq(logp->breaches, 1);
    cr_assert_eq(strat_host_info(kernel_strategies(k), sid)->state, STRATEGY_PAUSED);
    req.qty = 1;
    cr_assert_eq(kernel_place(k, &req, &oid, &err), ATP_ERANGE, "new entries are denied");
    req.side = ORDER_SIDE_SELL;
    req.qty = 100;
    cr_assert_eq(kernel_place(k, &req, &oid, &err), ATP_OK, "exits are allowed: %s", err.msg);
}

Test(kernel, no_new_intraday_exposure_after_the_square_off, .init = setup, .fini = teardown)
{
    open_kernel(0, NULL);
    uint32_t id = id_of("WIPRO");
    struct tick t = tk("WIPRO", IST(2026, 1, 5, 15, 21, 0), PX_RUPEES(240), 1);
    kernel_on_tick(k, &t);
    struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = id,
                                .side = ORDER_SIDE_BUY, .type = ORDER_TYPE_MARKET,
                                .product = ORDER_PRODUCT_MIS, .validity = ORDER_VALIDITY_DAY, .qty = 1};
    uint64_t oid;
    struct atp_err err;
    cr_assert_eq(kernel_place(k, &req, &oid, &err), ATP_ERANGE);
    cr_assert(strstr(err.msg, "MIS_AFTER_CUTOFF"), "%s", err.msg);
    req.product = ORDER_PRODUCT_CNC; /* delivery is still open until 15:30 */
    cr_assert_eq(kernel_place(k, &req, &oid, &err), ATP_OK, "%s", err.msg);
}

Test(kernel, modify_and_cancel_working_orders, .init = setup, .fini = teardown)
{
    open_kernel(0, NULL);
    uint32_t id = id_of("HDFCBANK");
    struct tick t = tk("HDFCBANK", IST(2026, 1, 5, 11, 0, 0), PX_RUPEES(1000), 1);
    kernel_on_tick(k, &t);
    struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = id,
                                .side = ORDER_SIDE_BUY, .type = ORDER_TYPE_LIMIT,
                                .product = ORDER_PRODUCT_CNC, .validity = ORDER_VALIDITY_DAY, .qty = 2,
                                .limit_price = PX_RUPEES(990)};
    uint64_t a, b;
    struct atp_err err;
    cr_assert_eq(kernel_place(k, &req, &a, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(kernel_place(k, &req, &b, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(oms_get(kernel_oms(k), a)->state, ORDER_STATE_OPEN);
    /* Off-tick new price: the gate refuses and nothing changes. */
    cr_assert_eq(kernel_modify(k, 1, a, 2, 9950100, 0, &err), ATP_ERANGE);
    cr_assert_eq(oms_get(kernel_oms(k), a)->req.limit_price, PX_RUPEES(990));
    /* Raised to the market: it fills at once, at the limit-capped price. */
    cr_assert_eq(kernel_modify(k, 1, a, 2, PX_RUPEES(1001), 0, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(oms_get(kernel_oms(k), a)->state, ORDER_STATE_FILLED);
    cr_assert_eq(kernel_cancel(k, 1, b, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(oms_get(kernel_oms(k), b)->state, ORDER_STATE_CANCELLED);
    cr_assert_eq(kernel_cancel(k, 1, b, &err), ATP_ESTATE, "a final order cannot be cancelled");
    cr_assert_eq(kernel_cancel(k, 2, a, &err), ATP_ENOTFOUND, "another account's order is not found");
}

/* The gate holds under a strategy's pressure: with a position limit of 10 units, the account's
 * position never exceeds it while five strategies keep trying to add. */
Test(kernel_property, risk_limits_hold_under_strategies, .init = setup, .fini = teardown, .timeout = 120)
{
    open_kernel(0, NULL);
    struct atp_err err;
    struct risk_limits lim;
    risk_limits_default(&lim);
    lim.max_position_qty = 10;
    cr_assert_eq(risk_set_limits(kernel_risk(k), 1, TRADE_MODE_PAPER, &lim, &err), ATP_OK);
    static const char *syms[] = {"RELIANCE", "TCS"};
    uint32_t ids[2] = {id_of("RELIANCE"), id_of("TCS")};
    static const char *types[] = {"sma_crossover", "ema_crossover", "rsi_reversion",
                                  "bollinger_breakout", "dca"};
    enum tf tf = TF_1M;
    for (int i = 0; i < 5; i++) {
        struct strat_config sc = {.account_id = 1, .mode = TRADE_MODE_PAPER, .type = types[i],
                                  .instruments = ids, .n_instruments = 2, .tfs = &tf, .n_tfs = 1,
                                  .risk = {.qty = 4, .product = ORDER_PRODUCT_CNC}};
        uint64_t sid;
        cr_assert_eq(kernel_strategy_add(k, &sc, &sid, &err), ATP_OK, "%s", err.msg);
    }
    struct sim_params sp = {.seed = 3, .from_day = ts_days_from_civil(2026, 1, 5), .days = 2,
                            .symbols = syms, .n_symbols = 2, .ticks_per_min = 30,
                            .profiles_path = tu_root_path("data/sim_profiles.csv")};
    struct feed *feed;
    cr_assert_eq(sim_new(&sp, reg, cal, &feed, &err), ATP_OK, "%s", err.msg);
    struct feed_item item;
    while (feed_next(feed, &item, &err) == 1) {
        kernel_on_tick(k, &item.tick);
        for (int i = 0; i < 2; i++) {
            int64_t net = 0;
            struct portfolio_iter it;
            struct portfolio_position p;
            portfolio_iter_init(kernel_portfolio(k), 1, TRADE_MODE_PAPER, &it);
            while (portfolio_iter_next(kernel_portfolio(k), &it, &p) == 1)
                if (p.key.instrument_id == ids[i])
                    net += p.qty;
            cr_assert(net <= 10 && net >= -10, "position %lld within the limit", (long long)net);
        }
    }
    feed_free(feed);
    cr_assert_gt(logp->denied, 0, "the limit was tested");
    cr_assert_gt(logp->fills, 0);
}

Test(kernel, an_entry_beyond_the_funds_is_rejected_not_shrunk, .init = setup, .fini = teardown)
{
    open_kernel(0, NULL); /* 10,00,000 rupees */
    uint32_t id = id_of("LT");
    struct tick t = tk("LT", IST(2026, 1, 5, 10, 0, 0), PX_RUPEES(4000), 1);
    kernel_on_tick(k, &t);
    struct order_request req = {.account_id = 1, .mode = TRADE_MODE_PAPER, .instrument_id = id,
                                .side = ORDER_SIDE_BUY, .type = ORDER_TYPE_LIMIT,
                                .product = ORDER_PRODUCT_CNC, .validity = ORDER_VALIDITY_DAY, .qty = 200,
                                .limit_price = PX_RUPEES(3990)};
    uint64_t a;
    struct atp_err err;
    cr_assert_eq(kernel_place(k, &req, &a, &err), ATP_OK, "7,98,000 fits: %s", err.msg);
    req.qty = 60; /* 2,39,400 more: with the resting 7,98,000 it passes 10,00,000 */
    cr_assert_eq(kernel_place(k, &req, &a, &err), ATP_ERANGE);
    cr_assert(strstr(err.msg, "INSUFFICIENT_FUNDS"), "%s", err.msg);
    /* Intraday needs 20%: the same 60 shares as MIS fit. */
    req.product = ORDER_PRODUCT_MIS;
    cr_assert_eq(kernel_place(k, &req, &a, &err), ATP_OK, "%s", err.msg);
}
