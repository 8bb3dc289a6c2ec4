#include "kernel/kernel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "md/feed/replay.h"
#include "portfolio/stops.h"

/* An order action waiting to be sent to the broker (see "Re-entrancy" in kernel.h). */
enum kaction_kind { KA_SUBMIT = 0, KA_CANCEL };

struct kaction {
    enum kaction_kind kind;
    uint64_t order_id;
};

struct kqueue {
    struct kaction *v;
    size_t head, n, cap; /* ring */
};

struct kaccount {
    uint64_t id;
    int64_t *net_qty; /* per instrument: the account's signed position (all its strategies) */
};

/* What the kernel remembers of an order beyond the OMS: the stops its entry arms, and whether it
 * is a protective exit (re-armed when the exit does not go through). */
struct korder_extra {
    struct stops_params stops;
    uint8_t has_stops;
    uint8_t is_stop_exit;
};

struct kernel {
    struct kernel_config cfg;
    struct bus bus;
    struct md_engine *md;
    struct strat_host *strategies;
    struct risk_gate *risk;
    struct oms *oms;
    struct portfolio *pf;
    struct stops *stops;
    struct broker *broker;
    ts_ns now;
    struct kqueue queue;     /* actions to send when the current call returns */
    struct kqueue deferred;  /* strategy orders waiting for the next price (fill_next_open) */
    int draining;
    struct fill last_fill;   /* the broker reports a fill just before its order's FILL update */
    struct kaccount *accounts;
    size_t n_accounts, cap_accounts;
    struct korder_extra *extra; /* indexed by order id */
    size_t cap_extra;
    uint32_t n_instruments;
    struct kernel_stats stats;
    kernel_order_hook_fn order_hook; /* durability: sees each NEW order before the broker */
    void *order_hook_ctx;
    int restoring;                   /* kernel_restore_order: skip the risk gate */
};

/* ---- small containers -------------------------------------------------------------------------- */

static int queue_push(struct kqueue *q, struct kaction a)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct kaction *v = atp_reallocarray(NULL, cap, sizeof *v);
        if (!v)
            return ATP_ENOMEM;
        for (size_t i = 0; i < q->n; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        atp_free(q->v);
        q->v = v;
        q->head = 0;
        q->cap = cap;
    }
    q->v[(q->head + q->n) % q->cap] = a;
    q->n++;
    return ATP_OK;
}

static int queue_pop(struct kqueue *q, struct kaction *out)
{
    if (!q->n)
        return 0;
    *out = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return 1;
}

static struct korder_extra *extra_of(struct kernel *k, uint64_t order_id)
{
    if (order_id >= k->cap_extra) {
        size_t cap = k->cap_extra ? k->cap_extra : 1024;
        while (cap <= order_id)
            cap *= 2;
        struct korder_extra *e = atp_reallocarray(k->extra, cap, sizeof *e);
        if (!e)
            return NULL;
        memset(e + k->cap_extra, 0, (cap - k->cap_extra) * sizeof *e);
        k->extra = e;
        k->cap_extra = cap;
    }
    return &k->extra[order_id];
}

static struct kaccount *account_of(struct kernel *k, uint64_t id)
{
    for (size_t i = 0; i < k->n_accounts; i++)
        if (k->accounts[i].id == id)
            return &k->accounts[i];
    return NULL;
}

/* ---- prices, positions -------------------------------------------------------------------------- */

static px_t last_price(struct kernel *k, uint32_t instrument_id)
{
    px_t p = 0;
    if (k->broker->ops->last_price && k->broker->ops->last_price(k->broker, instrument_id, &p) == ATP_OK)
        return p;
    const struct tick *t = md_engine_last_tick(k->md, instrument_id);
    return t ? t->ltp : 0;
}

static void pending_qty(struct kernel *k, uint64_t account_id, uint32_t instrument_id,
                        int64_t *buy, int64_t *sell)
{
    *buy = *sell = 0;
    for (struct order *o = oms_next_open(k->oms, NULL); o; o = oms_next_open(k->oms, o)) {
        if (o->req.account_id != account_id || o->req.instrument_id != instrument_id)
            continue;
        if (o->req.side == ORDER_SIDE_BUY)
            *buy += order_qty_remaining(o);
        else
            *sell += order_qty_remaining(o);
    }
}

/* Margin share of an order's value by product, as the portfolio blocks it. */
static int32_t margin_bps(enum order_product p)
{
    return p == ORDER_PRODUCT_CNC    ? PORTFOLIO_MARGIN_CNC_BPS_DEFAULT
           : p == ORDER_PRODUCT_NRML ? PORTFOLIO_MARGIN_NRML_BPS_DEFAULT
                                     : PORTFOLIO_MARGIN_MIS_BPS_DEFAULT;
}

/* The funds side of a risk check: what the account has (equity - margin used) and what its other
 * working orders already need. */
static void funds_of(struct kernel *k, const struct order_request *req, struct risk_order_ctx *rc)
{
    struct portfolio_summary s;
    if (portfolio_account_summary(k->pf, req->account_id, req->mode, &s) != ATP_OK)
        return;
    rc->check_funds = 1;
    rc->margin_bps = margin_bps(req->product);
    rc->funds_available = s.margin_available;
    for (struct order *o = oms_next_open(k->oms, NULL); o; o = oms_next_open(k->oms, o)) {
        if (o->req.account_id != req->account_id)
            continue;
        px_t ref = o->req.limit_price ? o->req.limit_price
                   : o->req.trigger_price ? o->req.trigger_price
                                          : last_price(k, o->req.instrument_id);
        rc->funds_reserved += ref * order_qty_remaining(o) / 10000 * margin_bps(o->req.product);
    }
}

static void publish_position(struct kernel *k, const struct portfolio_key *key)
{
    if (!bus_wanted(&k->bus, TOPIC_POSITION))
        return;
    struct portfolio_position p;
    if (portfolio_position_get(k->pf, key, &p) != ATP_OK)
        return;
    struct ev_position ev = {key->account_id, key->strategy_id, key->instrument_id, key->mode, p.qty,
                             p.avg_price, p.realized, p.unrealized, k->now};
    bus_publish(&k->bus, TOPIC_POSITION, &ev);
}

/* Reports each account's net P&L to the loss monitor (accounts with a loss limit only: the
 * summary is the costly part, and without a limit nobody reads it). */
static void check_losses(struct kernel *k)
{
    for (size_t i = 0; i < k->n_accounts; i++) {
        struct risk_loss_status ls;
        if (risk_loss_status(k->risk, k->accounts[i].id, k->cfg.mode, &ls) != ATP_OK ||
            (ls.max_loss == 0 && !ls.breached))
            continue;
        struct portfolio_summary s;
        if (portfolio_account_summary(k->pf, k->accounts[i].id, k->cfg.mode, &s) == ATP_OK)
            risk_on_pnl(k->risk, k->accounts[i].id, k->cfg.mode, s.net_pnl, k->now);
    }
}

/* ---- the order path ----------------------------------------------------------------------------- */

static void drain(struct kernel *k);
static void reject_locally(struct kernel *k, struct order *o, const char *why);

static void deny_event(struct kernel *k, const struct order_request *req, int reason, const char *msg)
{
    k->stats.denied++;
    struct ev_risk_denied ev = {req->account_id, req->strategy_id, req, reason, msg, k->now};
    bus_publish(&k->bus, TOPIC_RISK_DENIED, &ev);
}

/* Risk gate, then OMS, then the send queue (or the deferred queue). The one way an order enters. */
static int place(struct kernel *k, const struct order_request *req, int defer,
                 const struct stops_params *stops, int is_stop_exit, uint64_t *id_out,
                 struct atp_err *err)
{
    *id_out = 0;
    const struct instrument *in = instreg_get(k->cfg.reg, req->instrument_id);
    struct kaccount *acct = account_of(k, req->account_id);
    if (!in)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "instrument", "unknown instrument id %u",
                           req->instrument_id);
    const struct order *prev = oms_find_key(k->oms, req->client_key);
    if (prev) { /* an idempotent retry returns the first order, before any check, never a second */
        *id_out = prev->id;
        return 1;
    }
    struct risk_order_ctx rc = {
        .action = RISK_ACTION_PLACE,
        .req = req,
        .instrument = in,
        .last_price = last_price(k, req->instrument_id),
        .position_qty = acct ? acct->net_qty[req->instrument_id] : 0,
        .open_orders = oms_open_count(k->oms, req->account_id, 0, UINT32_MAX),
        .now = k->now,
    };
    pending_qty(k, req->account_id, req->instrument_id, &rc.pending_buy_qty, &rc.pending_sell_qty);
    funds_of(k, req, &rc);
    struct risk_decision d;
    if (!k->restoring && risk_check_order(k->risk, &rc, &d) != RISK_ALLOW) {
        deny_event(k, req, d.reason, d.msg);
        return atp_err_set(err, ATP_ERANGE, NULL, 0, NULL, "%s: %s", risk_reason_name(d.reason),
                           d.msg);
    }
    struct order *o;
    int rc2 = oms_create(k->oms, req, k->now, &o, err);
    if (rc2 == 1) {
        *id_out = o->id;
        return 1;
    }
    if (rc2 != ATP_OK)
        return rc2;
    struct korder_extra *x = extra_of(k, o->id);
    if (!x)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    if (stops && (stops->stop_loss_ppm || stops->take_profit_ppm || stops->trailing_ppm)) {
        x->stops = *stops;
        x->has_stops = 1;
    }
    x->is_stop_exit = (uint8_t)is_stop_exit;
    k->stats.orders++;
    if (k->order_hook) {
        int hr = k->order_hook(k->order_hook_ctx, o, err);
        if (hr != ATP_OK) { /* not recorded, so not sent: the broker never sees it */
            reject_locally(k, o, err && err->msg[0] ? err->msg : "the order could not be recorded");
            *id_out = o->id;
            return hr;
        }
    }
    bus_publish(&k->bus, TOPIC_ORDER_UPDATE, o);
    if (queue_push(defer ? &k->deferred : &k->queue, (struct kaction){KA_SUBMIT, o->id}) != ATP_OK)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    *id_out = o->id;
    return ATP_OK;
}

/* The broker refused to take an order at all (an error, not a rejection): record it as REJECTED. */
static void reject_locally(struct kernel *k, struct order *o, const char *why)
{
    struct order_sm_args a = {.ts = k->now, .reason = why};
    struct atp_err e;
    if (o->state == ORDER_STATE_NEW)
        oms_apply(k->oms, o, ORDER_EV_SUBMIT, &a, &e);
    if (oms_apply(k->oms, o, ORDER_EV_REJECT, &a, &e) == ATP_OK) {
        bus_publish(&k->bus, TOPIC_ORDER_UPDATE, o);
        strat_host_on_order_update(k->strategies, o);
    }
}

/* Sends queued actions. Broker callbacks may queue more; they go out in the same loop. */
static void drain(struct kernel *k)
{
    if (k->draining)
        return;
    k->draining = 1;
    struct kaction a;
    while (queue_pop(&k->queue, &a)) {
        struct order *o = oms_get(k->oms, a.order_id);
        if (!o)
            continue;
        struct atp_err err;
        err.msg[0] = '\0'; /* filled only on failure; a full clear per action shows in profiles */
        if (a.kind == KA_SUBMIT) {
            if (o->state == ORDER_STATE_NEW &&
                k->broker->ops->submit(k->broker, o, k->now, &err) != ATP_OK)
                reject_locally(k, o, err.msg[0] ? err.msg : "the broker did not take the order");
        } else if (!order_state_is_terminal(o->state)) {
            k->broker->ops->cancel(k->broker, o->id, k->now, "cancelled by request", &err);
        }
    }
    k->draining = 0;
}

/* ---- broker events ------------------------------------------------------------------------------ */

static enum charges_segment segment_of(const struct instrument *in, enum order_product product)
{
    switch (in->type) {
    case INST_FUT: return CHARGES_FUTURES;
    case INST_CE:
    case INST_PE: return CHARGES_OPTIONS;
    default: return product == ORDER_PRODUCT_CNC ? CHARGES_DELIVERY : CHARGES_INTRADAY;
    }
}

static void on_broker_fill(void *ctx, const struct fill *f)
{
    struct kernel *k = ctx;
    k->last_fill = *f;
    k->stats.fills++;
    const struct order *o = oms_get(k->oms, f->order_id);
    const struct instrument *in = instreg_get(k->cfg.reg, f->instrument_id);
    if (!o || !in) {
        k->stats.oms_refusals++;
        atp_log(LOG_WARN, "kernel", "fill %s for unknown order %llu dropped", f->fill_id,
                (unsigned long long)f->order_id);
        return;
    }
    px_t charges = 0;
    if (k->cfg.charges) {
        struct charges_req cr = {segment_of(in, o->req.product), in->exchange,
                                 f->side == ORDER_SIDE_BUY ? CHARGES_BUY : CHARGES_SELL, f->price,
                                 f->qty, ts_ist_day(f->ts)};
        struct charges_breakdown b;
        if (charges_compute(k->cfg.charges, &cr, &b, NULL) == ATP_OK)
            charges = b.total;
    }
    struct portfolio_key key = {f->account_id, f->mode, o->req.strategy_id, f->instrument_id};
    if (portfolio_apply_fill_product(k->pf, f, o->req.strategy_id, o->req.product, charges) !=
        ATP_OK)
        k->stats.oms_refusals++;
    px_t mark = last_price(k, f->instrument_id); /* value the new position at the market now */
    if (mark > 0)
        portfolio_mark(k->pf, f->instrument_id, mark);
    struct kaccount *acct = account_of(k, f->account_id);
    if (acct)
        acct->net_qty[f->instrument_id] += f->side == ORDER_SIDE_BUY ? f->qty : -f->qty;
    struct portfolio_position pos;
    if (portfolio_position_get(k->pf, &key, &pos) == ATP_OK) {
        const struct korder_extra *x = f->order_id < k->cap_extra ? &k->extra[f->order_id] : NULL;
        if (x && x->has_stops && pos.qty != 0)
            stops_arm(k->stops, &key, &x->stops, in->tick_size, pos.qty, pos.avg_price);
        else
            stops_on_position(k->stops, &key, pos.qty, pos.avg_price);
    }
    struct ev_fill ev = {f, o->req.strategy_id, charges};
    bus_publish(&k->bus, TOPIC_FILL, &ev);
    publish_position(k, &key);
    strat_host_on_fill(k->strategies, o->req.strategy_id, f);
}

static void on_broker_order(void *ctx, const struct order *snap, enum order_event ev)
{
    struct kernel *k = ctx;
    struct order *o = oms_get(k->oms, snap->id);
    if (!o) {
        k->stats.oms_refusals++;
        return;
    }
    struct order_sm_args a = {.ts = snap->updated_ts, .reason = snap->reason,
                              .broker_order_id = snap->broker_order_id};
    if (ev == ORDER_EV_PARTIAL_FILL || ev == ORDER_EV_FILL) {
        a.fill_qty = k->last_fill.qty;
        a.fill_price = k->last_fill.price;
    } else if (ev == ORDER_EV_MODIFY) {
        a.new_qty = snap->req.qty;
        a.new_limit_price = snap->req.limit_price;
        a.new_trigger_price = snap->req.trigger_price;
    }
    struct atp_err err;
    atp_err_clear(&err);
    if (oms_apply(k->oms, o, ev, &a, &err) != ATP_OK) {
        /* The broker reported what the state machine does not allow: keep our order as it is and
         * say so; reconciliation (the broker issue) resolves it against the broker's book. */
        k->stats.oms_refusals++;
        atp_log(LOG_WARN, "oms", "order %llu (%s): broker event %s refused: %s",
                (unsigned long long)o->id, o->tag, order_event_name(ev), err.msg);
        return;
    }
    if (ev == ORDER_EV_REJECT || ev == ORDER_EV_CANCEL || ev == ORDER_EV_EXPIRE) {
        const struct korder_extra *x = o->id < k->cap_extra ? &k->extra[o->id] : NULL;
        if (x && x->is_stop_exit) { /* the exit did not happen: keep protecting the position */
            struct portfolio_key key = {o->req.account_id, o->req.mode, o->req.strategy_id,
                                        o->req.instrument_id};
            stops_rearm(k->stops, &key);
        }
    }
    bus_publish(&k->bus, TOPIC_ORDER_UPDATE, o);
    strat_host_on_order_update(k->strategies, o);
}

/* An exit order for a position (stop hit, square-off): a MARKET order of the same strategy. */
static void exit_position(struct kernel *k, const struct portfolio_key *key, int64_t qty,
                          enum order_side side, int is_stop_exit, enum order_product product)
{
    struct order_request req = {.account_id = key->account_id, .strategy_id = key->strategy_id,
                                .mode = key->mode, .instrument_id = key->instrument_id,
                                .side = side, .type = ORDER_TYPE_MARKET, .product = product,
                                .validity = ORDER_VALIDITY_DAY, .qty = qty};
    uint64_t id;
    struct atp_err err;
    if (place(k, &req, 0, NULL, is_stop_exit, &id, &err) != ATP_OK && is_stop_exit)
        stops_rearm(k->stops, key); /* denied: try again on the next tick */
}

static void on_square_off(void *ctx, ts_ns ts)
{
    struct kernel *k = ctx;
    (void)ts;
    for (size_t i = 0; i < k->n_accounts; i++) {
        struct portfolio_iter it;
        struct portfolio_position p;
        if (portfolio_iter_init(k->pf, k->accounts[i].id, k->cfg.mode, &it) != ATP_OK)
            continue;
        while (portfolio_iter_next(k->pf, &it, &p) == 1) {
            if (p.qty == 0 || p.product != ORDER_PRODUCT_MIS)
                continue;
            k->stats.square_offs++;
            exit_position(k, &p.key, p.qty > 0 ? p.qty : -p.qty,
                          p.qty > 0 ? ORDER_SIDE_SELL : ORDER_SIDE_BUY, 0, ORDER_PRODUCT_MIS);
        }
    }
}

static void on_stop_exit(const struct stop_exit *x, void *ctx)
{
    struct kernel *k = ctx;
    k->stats.stop_exits++;
    struct portfolio_position p;
    enum order_product product = ORDER_PRODUCT_MIS;
    if (portfolio_position_get(k->pf, &x->key, &p) == ATP_OK)
        product = p.product;
    exit_position(k, &x->key, x->qty, x->side, 1, product);
}

/* ---- risk and strategy events -------------------------------------------------------------------- */

static void on_breach(void *ctx, uint64_t account_id, enum trade_mode mode, px_t limit, px_t pnl,
                      ts_ns ts)
{
    struct kernel *k = ctx;
    char why[160];
    char lim[PX_STR_MAX], p[PX_STR_MAX];
    px_format_fixed(limit, 2, lim, sizeof lim);
    px_format_fixed(pnl, 2, p, sizeof p);
    snprintf(why, sizeof why, "max loss %s breached (net P&L %s): exits only until acknowledged", lim,
             p);
    strat_host_pause_account(k->strategies, account_id, mode, why);
    struct ev_risk_breach ev = {account_id, mode, limit, pnl, ts};
    bus_publish(&k->bus, TOPIC_RISK_BREACH, &ev);
}

static void on_md_bar(void *ctx, uint32_t instrument_id, enum tf tf, const struct bar *bar,
                      int complete)
{
    struct kernel *k = ctx;
    struct ev_bar ev = {instrument_id, tf, bar};
    if (complete) {
        strat_host_on_bar(k->strategies, instrument_id, tf, bar);
        bus_publish(&k->bus, TOPIC_BAR_COMPLETE, &ev);
    } else if (bus_wanted(&k->bus, TOPIC_BAR_FORMING)) {
        bus_publish(&k->bus, TOPIC_BAR_FORMING, &ev);
    }
}

/* Units for an entry: the intent's, the strategy's fixed qty, a share of equity, or one lot. */
static int64_t entry_qty(struct kernel *k, const struct strat_info *s, const struct instrument *in,
                         const struct atp_order_intent *it, px_t price)
{
    int64_t qty = it->qty;
    if (qty <= 0)
        qty = s->risk.qty;
    if (qty <= 0 && s->risk.sizing_pct > 0 && price > 0) {
        struct portfolio_summary sum;
        if (portfolio_account_summary(k->pf, s->account_id, s->mode, &sum) == ATP_OK) {
            double units = px_to_double(sum.equity) * s->risk.sizing_pct / px_to_double(price);
            qty = (int64_t)floor(units / (double)in->lot_size) * in->lot_size;
        }
        return qty;
    }
    if (qty <= 0)
        qty = in->lot_size;
    return qty;
}

static uint32_t to_ppm(double pct_fraction)
{
    return pct_fraction > 0 ? (uint32_t)llround(pct_fraction * 1e6) : 0;
}

static uint64_t svc_submit(void *ctx, const struct strat_info *s, const struct atp_order_intent *it)
{
    struct kernel *k = ctx;
    k->stats.intents++;
    const struct instrument *in = instreg_get(k->cfg.reg, it->instrument);
    if (!in)
        return 0;
    struct portfolio_key key = {s->account_id, s->mode, s->id, it->instrument};
    struct portfolio_position pos;
    int64_t held = portfolio_position_get(k->pf, &key, &pos) == ATP_OK ? pos.qty : 0;
    int entry = it->intent == ATP_ENTRY_LONG || it->intent == ATP_ENTRY_SHORT;
    int buy = it->intent == ATP_ENTRY_LONG || it->intent == ATP_EXIT_SHORT;
    px_t ref = it->kind == ATP_LIMIT || it->kind == ATP_SL ? it->limit_price
               : it->kind == ATP_SL_M                      ? it->trigger_price
                                                           : last_price(k, it->instrument);
    int64_t qty;
    if (entry) {
        qty = entry_qty(k, s, in, it, ref);
    } else {
        int64_t open = it->intent == ATP_EXIT_LONG ? (held > 0 ? held : 0) : (held < 0 ? -held : 0);
        qty = it->qty > 0 && it->qty < open ? it->qty : open;
    }
    struct ev_signal sig = {s->id, s->account_id, it->instrument, it->intent, qty, k->now,
                            it->reason ? it->reason : ""};
    bus_publish(&k->bus, TOPIC_SIGNAL, &sig);
    if (qty <= 0)
        return 0; /* nothing to exit, or sizing gives less than a lot */
    static const enum order_type types[] = {ORDER_TYPE_MARKET, ORDER_TYPE_LIMIT, ORDER_TYPE_SL,
                                            ORDER_TYPE_SL_M};
    struct order_request req = {
        .account_id = s->account_id, .strategy_id = s->id, .mode = s->mode,
        .instrument_id = it->instrument, .side = buy ? ORDER_SIDE_BUY : ORDER_SIDE_SELL,
        .type = (unsigned)it->kind < 4 ? types[it->kind] : ORDER_TYPE_MARKET,
        .product = s->risk.product, .validity = ORDER_VALIDITY_DAY, .qty = qty,
        .limit_price = it->kind == ATP_LIMIT || it->kind == ATP_SL ? it->limit_price : 0,
        .trigger_price = it->kind == ATP_SL || it->kind == ATP_SL_M ? it->trigger_price : 0,
    };
    struct stops_params sp = {0};
    if (entry) {
        double sl = it->stop_loss_pct != 0 ? it->stop_loss_pct : s->risk.stop_loss_pct;
        double tp = it->take_profit_pct != 0 ? it->take_profit_pct : s->risk.take_profit_pct;
        double tr = it->trailing_stop_pct != 0 ? it->trailing_stop_pct : s->risk.trailing_stop_pct;
        sp = (struct stops_params){to_ppm(sl), to_ppm(tp), to_ppm(tr)};
    }
    uint64_t id;
    struct atp_err err;
    int rc = place(k, &req, k->cfg.fill_next_open, entry ? &sp : NULL, 0, &id, &err);
    return rc == ATP_OK || rc == 1 ? id : 0;
}

static int svc_cancel(void *ctx, const struct strat_info *s, uint64_t order_id)
{
    struct kernel *k = ctx;
    const struct order *o = oms_get(k->oms, order_id);
    if (!o || o->req.strategy_id != s->id || order_state_is_terminal(o->state))
        return -1;
    return queue_push(&k->queue, (struct kaction){KA_CANCEL, order_id}) == ATP_OK ? 0 : -1;
}

static int svc_open_orders(void *ctx, const struct strat_info *s, uint32_t instrument)
{
    struct kernel *k = ctx;
    /* Orders still deferred are NEW, which the OMS counts as open. */
    return oms_open_count(k->oms, s->account_id, s->id, instrument);
}

static void svc_position(void *ctx, const struct strat_info *s, uint32_t instrument,
                         struct atp_position *out)
{
    struct kernel *k = ctx;
    struct portfolio_key key = {s->account_id, s->mode, s->id, instrument};
    struct portfolio_position p;
    if (portfolio_position_get(k->pf, &key, &p) != ATP_OK)
        return;
    out->qty = p.qty;
    out->avg_price = p.avg_price;
    out->realized_pnl = p.realized;
    out->unrealized_pnl = p.unrealized;
}

static void svc_state(void *ctx, const struct strat_info *s, const char *reason)
{
    struct kernel *k = ctx;
    struct ev_strategy_state ev = {s->id, s->account_id, s->state, k->now, reason};
    bus_publish(&k->bus, TOPIC_STRATEGY_STATE, &ev);
}

static ts_ns svc_now(void *ctx)
{
    return ((struct kernel *)ctx)->now;
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */

int kernel_new(const struct kernel_config *cfg, kernel_broker_open_fn open_broker, void *arg,
               struct kernel **out, struct atp_err *err)
{
    *out = NULL;
    if (!cfg || !cfg->cal || !cfg->reg || !open_broker)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "config", "calendar, instruments and broker needed");
    if ((unsigned)cfg->mode >= TRADE_MODE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode", "unknown trading mode");
    struct kernel *k = atp_calloc(1, sizeof *k);
    if (!k)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    k->cfg = *cfg;
    k->now = INT64_MIN;
    k->n_instruments = (uint32_t)instreg_count(cfg->reg);
    bus_init(&k->bus);
    int rc;
    struct md_config mc = {cfg->cal, k->n_instruments ? k->n_instruments : 1, cfg->tf_mask};
    if ((rc = md_engine_new(&mc, &k->md)) != ATP_OK)
        goto fail_nomem;
    struct md_handlers mh = {k, on_md_bar};
    md_engine_set_handlers(k->md, &mh);
    struct strat_services ss = {k, svc_submit, svc_cancel, svc_open_orders, svc_position, svc_state,
                                svc_now};
    if ((rc = strat_host_new(k->md, cfg->reg, &ss, &k->strategies)) != ATP_OK)
        goto fail_nomem;
    if (!(k->risk = risk_new()))
        goto fail_nomem;
    struct risk_events re = {k, on_breach, NULL};
    risk_set_events(k->risk, &re);
    if ((rc = oms_new(cfg->mode, cfg->run_id, &k->oms, err)) != ATP_OK)
        goto fail;
    struct portfolio_config pc;
    portfolio_config_default(&pc);
    if ((rc = portfolio_new(&pc, &k->pf, err)) != ATP_OK)
        goto fail;
    if ((rc = stops_new(0, &k->stops)) != ATP_OK)
        goto fail_nomem;
    struct broker_events be = {k, on_broker_order, on_broker_fill, on_square_off};
    if ((rc = open_broker(arg, &be, &k->broker, err)) != ATP_OK)
        goto fail;
    *out = k;
    return ATP_OK;
fail_nomem:
    rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
fail:
    kernel_free(k);
    return rc;
}

void kernel_free(struct kernel *k)
{
    if (!k)
        return;
    broker_free(k->broker);
    strat_host_free(k->strategies);
    md_engine_free(k->md);
    risk_free(k->risk);
    oms_free(k->oms);
    portfolio_free(k->pf);
    stops_free(k->stops);
    for (size_t i = 0; i < k->n_accounts; i++)
        atp_free(k->accounts[i].net_qty);
    atp_free(k->accounts);
    atp_free(k->extra);
    atp_free(k->queue.v);
    atp_free(k->deferred.v);
    atp_free(k);
}

struct bus *kernel_bus(struct kernel *k) { return &k->bus; }
struct md_engine *kernel_md(struct kernel *k) { return k->md; }
struct strat_host *kernel_strategies(struct kernel *k) { return k->strategies; }
struct risk_gate *kernel_risk(struct kernel *k) { return k->risk; }
struct oms *kernel_oms(struct kernel *k) { return k->oms; }
struct portfolio *kernel_portfolio(struct kernel *k) { return k->pf; }
struct broker *kernel_broker(struct kernel *k) { return k->broker; }
ts_ns kernel_now(const struct kernel *k) { return k->now; }

void kernel_stats(const struct kernel *k, struct kernel_stats *out)
{
    *out = k->stats;
    out->oms_refusals += oms_stats(k->oms)->sm.refused;
}

int kernel_account_open(struct kernel *k, uint64_t account_id, px_t initial_cash,
                        struct atp_err *err)
{
    if (account_id == 0 || initial_cash < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "account_id", "account id > 0 and cash >= 0");
    if (account_of(k, account_id))
        return atp_err_set(err, ATP_EEXIST, NULL, 0, "account_id", "account %llu is open",
                           (unsigned long long)account_id);
    if (k->n_accounts == k->cap_accounts) {
        size_t cap = k->cap_accounts ? k->cap_accounts * 2 : 8;
        struct kaccount *a = atp_reallocarray(k->accounts, cap, sizeof *a);
        if (!a)
            return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        k->accounts = a;
        k->cap_accounts = cap;
    }
    int64_t *net = atp_calloc(k->n_instruments ? k->n_instruments : 1, sizeof *net);
    if (!net)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    int rc = portfolio_account_open(k->pf, account_id, k->cfg.mode, initial_cash);
    if (rc == ATP_OK)
        rc = risk_account_add(k->risk, account_id);
    if (rc != ATP_OK) {
        atp_free(net);
        return atp_err_set(err, rc, NULL, 0, "account_id", "cannot open account %llu",
                           (unsigned long long)account_id);
    }
    k->accounts[k->n_accounts++] = (struct kaccount){account_id, net};
    return ATP_OK;
}

int kernel_strategy_add(struct kernel *k, const struct strat_config *cfg, uint64_t *id_out,
                        struct atp_err *err)
{
    if (cfg->mode != k->cfg.mode)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode", "this kernel trades %s, not %s",
                           trade_mode_name(k->cfg.mode), trade_mode_name(cfg->mode));
    if (!account_of(k, cfg->account_id))
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "account_id", "account %llu is not open",
                           (unsigned long long)cfg->account_id);
    struct risk_decision d;
    int running = strat_host_running(k->strategies, cfg->account_id, cfg->mode);
    if (risk_check_strategy_start(k->risk, cfg->account_id, cfg->mode, running, &d) != RISK_ALLOW)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, NULL, "%s: %s", risk_reason_name(d.reason), d.msg);
    return strat_host_add(k->strategies, cfg, id_out, err);
}

/* ---- data and time ------------------------------------------------------------------------------ */

void kernel_advance(struct kernel *k, ts_ns now)
{
    if (now > k->now)
        k->now = now;
    md_engine_advance(k->md, now);
    if (k->broker->ops->on_time)
        k->broker->ops->on_time(k->broker, now);
    strat_host_on_time(k->strategies, now);
    drain(k);
}

/* What every price print does apart from candles: the broker matches, deferred orders go out at
 * this price, positions are marked (when `mark`) and protective stops checked. A bar's inner path
 * ticks skip the mark: fills mark at their own price, stops read the tick, and the loss monitor
 * and the equity curve look after the bar, so only the close's mark is ever read. */
static void on_price(struct kernel *k, const struct tick *t, int mark)
{
    kernel_advance(k, t->ts);
    if (k->broker->ops->on_tick)
        k->broker->ops->on_tick(k->broker, t);
    drain(k);
    struct kaction a;
    while (queue_pop(&k->deferred, &a))
        queue_push(&k->queue, a);
    drain(k);
    if (mark)
        portfolio_mark(k->pf, t->instrument_id, t->ltp);
    stops_on_tick(k->stops, t, on_stop_exit, k);
    drain(k);
}

void kernel_on_tick(struct kernel *k, const struct tick *t)
{
    k->stats.ticks++;
    on_price(k, t, 1);
    md_engine_on_tick(k->md, t);
    strat_host_on_tick(k->strategies, t);
    if (bus_wanted(&k->bus, TOPIC_TICK))
        bus_publish(&k->bus, TOPIC_TICK, t);
    check_losses(k);
    drain(k);
}

void kernel_on_bar(struct kernel *k, uint32_t instrument_id, enum tf tf, const struct bar *bar)
{
    k->stats.bars++;
    struct tick path[4];
    replay_expand_bar(bar, tf, instrument_id, path);
    for (int i = 0; i < 4; i++) {
        on_price(k, &path[i], i == 3);
        strat_host_on_tick(k->strategies, &path[i]);
    }
    md_engine_on_bar(k->md, instrument_id, tf, bar);
    check_losses(k);
    drain(k);
}

int kernel_place(struct kernel *k, const struct order_request *req, uint64_t *id_out,
                 struct atp_err *err)
{
    return kernel_place_protected(k, req, NULL, id_out, err);
}

int kernel_place_protected(struct kernel *k, const struct order_request *req, const struct stops_params *stops,
                           uint64_t *id_out, struct atp_err *err)
{
    if (req->strategy_id != 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "strategy_id", "manual orders have no strategy");
    if (stops && (stops->stop_loss_ppm >= STOPS_PPM_ONE || stops->trailing_ppm >= STOPS_PPM_ONE ||
                  stops->take_profit_ppm > STOPS_TAKE_PROFIT_PPM_MAX))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, stops->stop_loss_ppm >= STOPS_PPM_ONE ? "stop_loss_pct"
                           : stops->trailing_ppm >= STOPS_PPM_ONE ? "trailing_stop_pct" : "take_profit_pct",
                           "out of range");
    int rc = place(k, req, 0, stops, 0, id_out, err);
    drain(k);
    return rc;
}

/* The account's order that is still working, or NULL with err set (another account's order is
 * "not found", never "forbidden"). */
static struct order *working_order(struct kernel *k, uint64_t account_id, uint64_t order_id,
                                   int *rc, struct atp_err *err)
{
    struct order *o = oms_get(k->oms, order_id);
    if (!o || o->req.account_id != account_id) {
        *rc = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "order_id", "no such order");
        return NULL;
    }
    if (order_state_is_terminal(o->state)) {
        *rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "order_id", "order is %s",
                          order_state_name(o->state));
        return NULL;
    }
    return o;
}

int kernel_cancel(struct kernel *k, uint64_t account_id, uint64_t order_id, struct atp_err *err)
{
    int status;
    struct order *o = working_order(k, account_id, order_id, &status, err);
    if (!o)
        return status;
    struct risk_order_ctx rc = {.action = RISK_ACTION_CANCEL, .req = &o->req, .now = k->now};
    struct risk_decision d;
    if (risk_check_order(k->risk, &rc, &d) != RISK_ALLOW) {
        deny_event(k, &o->req, d.reason, d.msg);
        return atp_err_set(err, ATP_ERANGE, NULL, 0, NULL, "%s: %s", risk_reason_name(d.reason), d.msg);
    }
    if (o->state == ORDER_STATE_NEW) { /* still deferred: withdraw it here */
        struct order_sm_args a = {.ts = k->now, .reason = "cancelled by request"};
        oms_apply(k->oms, o, ORDER_EV_CANCEL, &a, err);
        bus_publish(&k->bus, TOPIC_ORDER_UPDATE, o);
        return ATP_OK;
    }
    queue_push(&k->queue, (struct kaction){KA_CANCEL, order_id});
    drain(k);
    return ATP_OK;
}

int kernel_modify(struct kernel *k, uint64_t account_id, uint64_t order_id, int64_t new_qty,
                  px_t new_limit_price, px_t new_trigger_price, struct atp_err *err)
{
    int status;
    struct order *o = working_order(k, account_id, order_id, &status, err);
    if (!o)
        return status;
    struct order_request next = o->req;
    next.qty = new_qty;
    next.limit_price = new_limit_price;
    next.trigger_price = new_trigger_price;
    const struct instrument *in = instreg_get(k->cfg.reg, next.instrument_id);
    struct kaccount *acct = account_of(k, account_id);
    struct risk_order_ctx rc = {
        .action = RISK_ACTION_MODIFY, .req = &next, .instrument = in,
        .last_price = last_price(k, next.instrument_id),
        .position_qty = acct ? acct->net_qty[next.instrument_id] : 0,
        .open_orders = oms_open_count(k->oms, account_id, 0, UINT32_MAX) - 1, .now = k->now};
    pending_qty(k, account_id, next.instrument_id, &rc.pending_buy_qty, &rc.pending_sell_qty);
    if (o->req.side == ORDER_SIDE_BUY) /* the order being modified is not its own pending qty */
        rc.pending_buy_qty -= order_qty_remaining(o);
    else
        rc.pending_sell_qty -= order_qty_remaining(o);
    struct risk_decision d;
    if (risk_check_order(k->risk, &rc, &d) != RISK_ALLOW) {
        deny_event(k, &next, d.reason, d.msg);
        return atp_err_set(err, ATP_ERANGE, NULL, 0, NULL, "%s: %s", risk_reason_name(d.reason), d.msg);
    }
    if (o->state == ORDER_STATE_NEW) { /* still deferred, not at the broker: new terms go with it */
        int v = order_request_validate(&next, err);
        if (v == ATP_OK)
            o->req = next;
        return v;
    }
    if (!k->broker->ops->modify)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL, "the broker cannot modify orders");
    int r = k->broker->ops->modify(k->broker, order_id, new_qty, new_limit_price, new_trigger_price,
                                   k->now, err);
    drain(k);
    return r;
}

void kernel_set_order_hook(struct kernel *k, kernel_order_hook_fn fn, void *ctx)
{
    k->order_hook = fn;
    k->order_hook_ctx = fn ? ctx : NULL;
}

int kernel_restore_fill(struct kernel *k, const struct fill *f, uint64_t strategy_id,
                        enum order_product product, px_t charges, struct atp_err *err)
{
    int rc = fill_validate(f, err);
    if (rc != ATP_OK)
        return rc;
    struct kaccount *acct = account_of(k, f->account_id);
    if (!acct)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "account_id", "account %llu is not open",
                           (unsigned long long)f->account_id);
    if (f->instrument_id >= k->n_instruments)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "instrument", "unknown instrument id %u",
                           f->instrument_id);
    rc = portfolio_apply_fill_product(k->pf, f, strategy_id, product, charges);
    if (rc != ATP_OK)
        return atp_err_set(err, rc, NULL, 0, "fill", "the portfolio refused fill %s", f->fill_id);
    acct->net_qty[f->instrument_id] += f->side == ORDER_SIDE_BUY ? f->qty : -f->qty;
    return ATP_OK;
}

int kernel_restore_order(struct kernel *k, const struct order_request *req, uint64_t *id_out,
                         struct atp_err *err)
{
    k->restoring = 1;
    int rc = place(k, req, 0, NULL, 0, id_out, err);
    k->restoring = 0;
    drain(k);
    return rc;
}
