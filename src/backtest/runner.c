#include "backtest/runner.h"
#include "backtest/trips.h"
#include "broker/paper/adapter.h"

#include <string.h>

#include "core/alloc.h"
#include "strategy/registry.h"

struct run {
    const struct bt_config *cfg;
    struct kernel *k;
    struct backtest_result *res;
    uint64_t strategy_id;
    struct trips *trips;    /* the strategy's round trips */
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

/* Round trips from the strategy's fills (backtest/trips.h), valued by the kernel's portfolio. */
static void on_fill(struct run *r, const struct ev_fill *ev)
{
    const struct fill *f = ev->fill;
    if (ev->strategy_id != r->strategy_id)
        return;
    struct portfolio_key key = {1, TRADE_MODE_PAPER, r->strategy_id, f->instrument_id};
    struct portfolio_position pos;
    if (portfolio_position_get(kernel_portfolio(r->k), &key, &pos) != ATP_OK)
        return;
    struct metrics_trade mt;
    int rc = trips_on_fill(r->trips, f, ev->charges, pos.realized, r->bars_seen[f->instrument_id],
                           instreg_get(r->cfg->reg, f->instrument_id)->symbol, &mt);
    if (rc == 1 && result_add_trade(r->res, &mt, NULL) != ATP_OK)
        r->failed = 1;
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
    r.bars_seen = atp_calloc(n_inst ? n_inst : 1, sizeof *r.bars_seen);
    if (r.bars_seen && (rc = trips_new(n_inst, &r.trips, err)) != ATP_OK)
        goto done;
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
    if (!r.bars_seen) {
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
        if (i % BT_POLL_BARS == 0 || i + 1 == n) {
            if (cfg->progress)
                cfg->progress(cfg->progress_ctx, i + 1, n);
            if (cfg->should_stop && cfg->should_stop(cfg->progress_ctx)) {
                rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "cancelled", "the backtest was cancelled");
                goto done;
            }
        }
    }
    if (n) {
        /* Complete the last bars of the strategy timeframe (their period is over: the data is). */
        md_engine_flush(kernel_md(r.k));
        result_set_period(out, bars[0].bar.start, bars[n - 1].bar.start, NULL);
    }
    /* Positions still open stay open: one open trade each, valued at the last close. */
    for (int i = 0; i < cfg->n_instruments; i++) {
        uint32_t inst = cfg->instruments[i];
        struct portfolio_key key = {1, TRADE_MODE_PAPER, r.strategy_id, inst};
        struct portfolio_position pos;
        struct metrics_trade mt;
        if (portfolio_position_get(kernel_portfolio(r.k), &key, &pos) != ATP_OK ||
            !trips_open_trade(r.trips, inst, pos.realized, pos.unrealized, r.bars_seen[inst],
                              instreg_get(cfg->reg, inst)->symbol, &mt))
            continue;
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
    trips_free(r.trips);
    atp_free(r.bars_seen);
    if (rc != ATP_OK)
        result_cleanup(out);
    return rc;
}
