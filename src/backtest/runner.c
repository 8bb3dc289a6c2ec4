#include "backtest/runner.h"
#include "broker/paper/adapter.h"

#include <string.h>

#include "core/alloc.h"
#include "strategy/registry.h"

/* The round trip being built for one instrument. */
struct trip {
    int side;              /* METRICS_LONG / METRICS_SHORT; 0 when flat */
    int64_t qty;           /* signed position of the strategy */
    int64_t entry_qty;     /* units bought (long) or sold (short) to open and add */
    px_t entry_notional;
    int64_t exit_qty;
    px_t exit_notional;
    px_t charges;
    px_t realized_at_open; /* the position's realized P&L when the trip opened */
    ts_ns entry_ts;
    int64_t entry_bar;
};

struct run {
    const struct bt_config *cfg;
    struct kernel *k;
    struct backtest_result *res;
    uint64_t strategy_id;
    struct trip *trips;     /* by instrument id */
    int64_t *bars_seen;     /* by instrument id: source bars so far */
    ts_ns last_point_ts;
    int failed;             /* an allocation failed in a callback */
};

static void add_point(struct run *r, ts_ns ts)
{
    struct portfolio_summary s;
    if (portfolio_account_summary(kernel_portfolio(r->k), 1, TRADE_MODE_PAPER, &s) != ATP_OK)
        return;
    if (ts == r->last_point_ts && r->res->n_points > 0) { /* one point per time: keep the latest */
        r->res->points[r->res->n_points - 1].equity = s.equity;
        r->res->points[r->res->n_points - 1].in_market = s.open_positions > 0;
        return;
    }
    if (result_add_point(r->res, ts, s.equity, s.open_positions > 0, NULL) != ATP_OK)
        r->failed = 1;
    r->last_point_ts = ts;
}

static px_t avg_of(px_t notional, int64_t qty)
{
    return order_avg_price(notional, qty);
}

static void close_trip(struct run *r, uint32_t inst, ts_ns ts, px_t realized_now)
{
    struct trip *t = &r->trips[inst];
    const struct instrument *in = instreg_get(r->cfg->reg, inst);
    struct metrics_trade mt = {
        .symbol = in->symbol, .side = t->side, .qty = t->entry_qty, .entry_ts = t->entry_ts,
        .entry_px = avg_of(t->entry_notional, t->entry_qty), .is_open = 0, .exit_ts = ts,
        .exit_px = avg_of(t->exit_notional, t->exit_qty),
        .pnl = realized_now - t->realized_at_open - t->charges, .charges = t->charges,
        .holding_bars = r->bars_seen[inst] - t->entry_bar,
    };
    if (result_add_trade(r->res, &mt, NULL) != ATP_OK)
        r->failed = 1;
    memset(t, 0, sizeof *t);
}

static void open_trip(struct run *r, uint32_t inst, int side, int64_t qty, px_t price, ts_ns ts,
                      px_t charges, px_t realized_now)
{
    struct trip *t = &r->trips[inst];
    t->side = side;
    t->qty = side == METRICS_LONG ? qty : -qty;
    t->entry_qty = qty;
    t->entry_notional = price * qty;
    t->charges = charges;
    t->realized_at_open = realized_now;
    t->entry_ts = ts;
    t->entry_bar = r->bars_seen[inst];
}

/* Round trips from the strategy's fills: a trip opens when the position leaves zero and closes
 * when it returns there; a fill through zero closes one trip and opens the next (its charges
 * split by quantity). P&L is the portfolio's realized change over the trip, net of charges. */
static void on_fill(struct run *r, const struct ev_fill *ev)
{
    const struct fill *f = ev->fill;
    if (ev->strategy_id != r->strategy_id)
        return;
    struct portfolio_key key = {1, TRADE_MODE_PAPER, r->strategy_id, f->instrument_id};
    struct portfolio_position pos;
    if (portfolio_position_get(kernel_portfolio(r->k), &key, &pos) != ATP_OK)
        return;
    struct trip *t = &r->trips[f->instrument_id];
    int64_t signed_qty = f->side == ORDER_SIDE_BUY ? f->qty : -f->qty;
    if (t->side == 0) {
        open_trip(r, f->instrument_id, signed_qty > 0 ? METRICS_LONG : METRICS_SHORT, f->qty, f->price,
                  f->ts, ev->charges, pos.realized);
        return;
    }
    if ((t->qty > 0) == (signed_qty > 0)) { /* adding */
        t->qty += signed_qty;
        t->entry_qty += f->qty;
        t->entry_notional += f->price * f->qty;
        t->charges += ev->charges;
        return;
    }
    int64_t held = t->qty > 0 ? t->qty : -t->qty;
    int64_t closing = f->qty < held ? f->qty : held;
    px_t closing_charges = f->qty == closing ? ev->charges : ev->charges * closing / f->qty;
    t->exit_qty += closing;
    t->exit_notional += f->price * closing;
    t->charges += closing_charges;
    t->qty += signed_qty;
    int flipped = (t->side == METRICS_LONG && t->qty < 0) || (t->side == METRICS_SHORT && t->qty > 0);
    if (t->qty == 0 || flipped) {
        int64_t rest = f->qty - closing;
        /* Realized P&L of the closing part: the position's realized now (after the whole fill);
         * a flip's new leg realizes nothing, so this is exact for both cases. */
        close_trip(r, f->instrument_id, f->ts, pos.realized);
        if (rest > 0)
            open_trip(r, f->instrument_id, signed_qty > 0 ? METRICS_LONG : METRICS_SHORT, rest,
                      f->price, f->ts, ev->charges - closing_charges, pos.realized);
    }
}

static void on_event(void *ctx, enum topic topic, const void *payload)
{
    struct run *r = ctx;
    if (topic == TOPIC_FILL) {
        on_fill(r, payload);
    } else if (topic == TOPIC_BAR_COMPLETE) {
        const struct ev_bar *b = payload;
        if (b->tf == r->cfg->tf)
            add_point(r, b->bar->start);
    }
}

int bt_run(const struct bt_config *cfg, const struct bt_bar *bars, size_t n,
           struct backtest_result *out, struct atp_err *err)
{
    memset(out, 0, sizeof *out);
    if (cfg->tf < cfg->source_tf)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "tf", "the strategy timeframe %s is finer than "
                           "the data's %s", tf_name(cfg->tf), tf_name(cfg->source_tf));
    const struct atp_strategy_def *def = strategy_find(cfg->strategy);
    if (!def)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "strategy", "unknown strategy '%s'",
                           cfg->strategy);
    double resolved[ATP_STRAT_MAX_PARAMS];
    int rc = strategy_resolve_params(def, cfg->params, cfg->n_params, resolved, err);
    if (rc != ATP_OK)
        return rc;
    struct ind_param shown[ATP_STRAT_MAX_PARAMS];
    for (int i = 0; i < def->n_params; i++)
        shown[i] = (struct ind_param){def->params[i].name, resolved[i]};
    const char *symbols[STRAT_MAX_INSTRUMENTS];
    for (int i = 0; i < cfg->n_instruments && i < STRAT_MAX_INSTRUMENTS; i++)
        symbols[i] = instreg_get(cfg->reg, cfg->instruments[i])->symbol;
    struct result_config rcfg = {def->name, shown, def->n_params, symbols, (size_t)cfg->n_instruments,
                                 tf_name(cfg->tf), cfg->capital, cfg->risk_free_annual};
    if ((rc = result_init(out, &rcfg, err)) != ATP_OK)
        return rc;

    struct run r = {.cfg = cfg, .res = out, .last_point_ts = INT64_MIN};
    size_t n_inst = instreg_count(cfg->reg);
    r.trips = atp_calloc(n_inst ? n_inst : 1, sizeof *r.trips);
    r.bars_seen = atp_calloc(n_inst ? n_inst : 1, sizeof *r.bars_seen);
    /* Candles only where they are used: the source timeframe and the strategy's. */
    struct kernel_config kc = {.cal = cfg->cal, .reg = cfg->reg, .mode = TRADE_MODE_PAPER,
                               .run_id = 1, .charges = cfg->charges,
                               .tf_mask = (1u << cfg->source_tf) | (1u << cfg->tf),
                               .fill_next_open = cfg->fill_next_open};
    struct paper_config pc;
    paper_config_default(&pc);
    pc.slippage_ppm = cfg->slippage_ppm;
    pc.square_off_tod_ns = cfg->risk.product == ORDER_PRODUCT_MIS ? pc.square_off_tod_ns
                                                                  : PAPER_SQUARE_OFF_NONE;
    if (!r.trips || !r.bars_seen) {
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    if ((rc = paper_kernel_open(&kc, &pc, &r.k, err)) != ATP_OK)
        goto done;
    bus_subscribe(kernel_bus(r.k), TOPIC_FILL, on_event, &r);
    bus_subscribe(kernel_bus(r.k), TOPIC_BAR_COMPLETE, on_event, &r);
    /* One account holding the capital; limits suited to a backtest: the cash check is the only
     * size limit (no order-value cap, no rate limit worth the name on a simulated clock). */
    if ((rc = kernel_account_open(r.k, 1, cfg->capital, err)) != ATP_OK)
        goto done;
    struct risk_limits lim;
    risk_limits_default(&lim);
    lim.max_order_value = 0;
    lim.price_band_bps = 0;
    lim.orders_per_sec = RISK_ORDERS_PER_SEC_MAX;
    lim.max_open_orders = 0;
    if ((rc = risk_set_limits(kernel_risk(r.k), 1, TRADE_MODE_PAPER, &lim, err)) != ATP_OK)
        goto done;
    enum tf tfs[1] = {cfg->tf};
    struct strat_config sc = {.account_id = 1, .mode = TRADE_MODE_PAPER, .type = def->name,
                              .params = cfg->params, .n_params = cfg->n_params,
                              .instruments = cfg->instruments, .n_instruments = cfg->n_instruments,
                              .tfs = tfs, .n_tfs = 1, .risk = cfg->risk};
    if ((rc = kernel_strategy_add(r.k, &sc, &r.strategy_id, err)) != ATP_OK)
        goto done;
    const struct strat_info *info = strat_host_info(kernel_strategies(r.k), r.strategy_id);
    if (info->state != STRATEGY_RUNNING) {
        rc = atp_err_set(err, ATP_EINVAL, NULL, 0, "params", "%s", info->last_error);
        goto done;
    }
    for (size_t i = 0; i < n && !r.failed; i++) {
        r.bars_seen[bars[i].instrument_id]++;
        kernel_on_bar(r.k, bars[i].instrument_id, cfg->source_tf, &bars[i].bar);
        if (cfg->progress && (i % 4096 == 0 || i + 1 == n))
            cfg->progress(cfg->progress_ctx, i + 1, n);
    }
    if (n) {
        /* Complete the last bars of the strategy timeframe (their period is over: the data is). */
        md_engine_flush(kernel_md(r.k));
        result_set_period(out, bars[0].bar.start, bars[n - 1].bar.start, NULL);
    }
    /* Positions still open stay open: one open trade each, valued at the last close. */
    for (int i = 0; i < cfg->n_instruments; i++) {
        uint32_t inst = cfg->instruments[i];
        struct trip *t = &r.trips[inst];
        if (!t->side)
            continue;
        struct portfolio_key key = {1, TRADE_MODE_PAPER, r.strategy_id, inst};
        struct portfolio_position pos;
        portfolio_position_get(kernel_portfolio(r.k), &key, &pos);
        struct metrics_trade mt = {
            .symbol = instreg_get(cfg->reg, inst)->symbol, .side = t->side,
            .qty = t->qty > 0 ? t->qty : -t->qty, .entry_ts = t->entry_ts,
            .entry_px = avg_of(t->entry_notional, t->entry_qty), .is_open = 1,
            .pnl = pos.unrealized + (pos.realized - t->realized_at_open) - t->charges,
            .charges = t->charges, .holding_bars = r.bars_seen[inst] - t->entry_bar,
        };
        if (result_add_trade(out, &mt, NULL) != ATP_OK)
            r.failed = 1;
    }
    if (r.failed) {
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    rc = result_finish(out, err);
done:
    kernel_free(r.k);
    atp_free(r.trips);
    atp_free(r.bars_seen);
    if (rc != ATP_OK)
        result_cleanup(out);
    return rc;
}
