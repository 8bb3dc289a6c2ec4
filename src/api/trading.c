#include "api/trading.h"
#include "api/notify.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "api/events.h"
#include "api/jbuf.h"
#include "core/alloc.h"
#include "core/log.h"
#include "kernel/topics.h"
#include "portfolio/portfolio.h"

/* What the service knows of a kernel order (indexed by the kernel's id). */
struct tmap {
    int64_t store_id;      /* 0: not recorded (rejected before the store took it) */
    int64_t base_filled;   /* re-placed after a restart: filled before it (the kernel holds the rest) */
    px_t base_notional;
};

/* An order waiting to be re-placed into the paper broker after a restart. */
struct pending {
    int64_t store_id;
    struct order_request req; /* the unfilled rest */
    int64_t base_filled;
    px_t base_notional;
};

struct api_trading {
    struct api_market *m;
    struct kernel *k;          /* the market's kernel (borrowed) */
    const struct instreg *reg;
    struct store *st;          /* the service's own connection: under the market lock only */
    struct tmap *map;
    size_t cap_map;
    /* the order being placed or re-placed, for the order hook */
    const struct pending *restoring;
    /* working orders of before the restart, re-placed at the first tick (see restore_orders) */
    struct pending *pending;
    size_t n_pending;
};

static _Atomic(struct api_trading *) current;

void api_trading_set_current(struct api_trading *t) { atomic_store(&current, t); }
struct api_trading *api_trading_current(void) { return atomic_load(&current); }

static struct tmap *map_of(struct api_trading *t, uint64_t kid, int grow)
{
    if (kid >= t->cap_map) {
        if (!grow)
            return NULL;
        size_t cap = t->cap_map ? t->cap_map : 256;
        while (cap <= kid)
            cap *= 2;
        struct tmap *m = atp_reallocarray(t->map, cap, sizeof *m);
        if (!m)
            return NULL;
        memset(m + t->cap_map, 0, (cap - t->cap_map) * sizeof *m);
        t->map = m;
        t->cap_map = cap;
    }
    return &t->map[kid];
}

/* The kernel id of a store order that is in the paper broker now, 0 when none. */
static uint64_t kernel_id_of(const struct api_trading *t, int64_t store_id)
{
    for (size_t i = 1; i < t->cap_map; i++)
        if (t->map[i].store_id == store_id)
            return i;
    return 0;
}

static const char *symbol_of(const struct api_trading *t, uint32_t instrument_id)
{
    const struct instrument *in = instreg_get(t->reg, instrument_id);
    return in ? in->symbol : "?";
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

/* ---- JSON ------------------------------------------------------------------------------------- */

static void json_time(struct jbuf *b, const char *name, int64_t ns)
{
    char iso[TS_STR_MAX];
    ts_format_ist(ns, iso, sizeof iso);
    jbuf_printf(b, "\"%s\":\"%s\",\"%s_ns\":%lld", name, ns ? iso : "", name, (long long)ns);
}

void api_trading_order_json(struct jbuf *b, const struct store_order *o, const struct store_order_hist *hist,
                            uint32_t n_hist)
{
    jbuf_printf(b, "{\"id\":%lld,\"account_id\":%lld,\"mode\":", (long long)o->id, (long long)o->account_id);
    jbuf_str(b, o->mode);
    if (o->strategy_id)
        jbuf_printf(b, ",\"strategy_id\":%lld", (long long)o->strategy_id);
    else
        jbuf_printf(b, ",\"strategy_id\":null");
    jbuf_printf(b, ",\"client_key\":");
    if (o->client_key[0])
        jbuf_str(b, o->client_key);
    else
        jbuf_printf(b, "null");
    jbuf_printf(b, ",\"tag\":");
    jbuf_str(b, o->tag);
    jbuf_printf(b, ",\"symbol\":");
    jbuf_str(b, o->symbol);
    jbuf_printf(b, ",\"side\":\"%s\",\"qty\":%lld,\"type\":\"%s\",\"price\":", o->side, (long long)o->qty, o->type);
    jbuf_px(b, o->price_px);
    jbuf_printf(b, ",\"trigger_price\":");
    jbuf_px(b, o->trigger_px);
    jbuf_printf(b, ",\"product\":\"%s\",\"validity\":\"%s\",\"state\":\"%s\",\"filled_qty\":%lld,\"avg_price\":",
                o->product, o->validity, o->state, (long long)o->filled_qty);
    jbuf_px(b, order_avg_price(o->filled_notional_px, o->filled_qty));
    jbuf_printf(b, ",\"reason\":");
    jbuf_str(b, o->reason);
    jbuf_printf(b, ",");
    json_time(b, "created", o->created_ns);
    jbuf_printf(b, ",");
    json_time(b, "updated", o->updated_ns);
    if (hist) {
        jbuf_printf(b, ",\"history\":[");
        for (uint32_t i = 0; i < n_hist; i++) {
            jbuf_printf(b, "%s{\"state\":\"%s\",\"reason\":", i ? "," : "", hist[i].state);
            jbuf_str(b, hist[i].reason);
            jbuf_printf(b, ",");
            json_time(b, "time", hist[i].ts_ns);
            jbuf_printf(b, "}");
        }
        jbuf_printf(b, "]");
    }
    jbuf_printf(b, "}");
}

void api_trading_fill_json(struct jbuf *b, const struct store_fill *f)
{
    jbuf_printf(b, "{\"id\":%lld,\"order_id\":%lld,\"account_id\":%lld,\"mode\":\"%s\",\"venue_id\":",
                (long long)f->id, (long long)f->order_id, (long long)f->account_id, f->mode);
    jbuf_str(b, f->venue_id);
    jbuf_printf(b, ",\"symbol\":");
    jbuf_str(b, f->symbol);
    jbuf_printf(b, ",\"side\":\"%s\",\"product\":\"%s\",\"qty\":%lld,\"price\":", f->side, f->product,
                (long long)f->qty);
    jbuf_px(b, f->price_px);
    jbuf_printf(b, ",\"charges\":");
    jbuf_px(b, f->charges_px);
    jbuf_printf(b, ",");
    json_time(b, "time", f->ts_ns);
    jbuf_printf(b, "}");
}

void api_trading_position_json(struct jbuf *b, int64_t account_id, const char *symbol,
                               const struct api_trading_position *p)
{
    jbuf_printf(b, "{\"account_id\":%lld,\"symbol\":", (long long)account_id);
    jbuf_str(b, symbol);
    jbuf_printf(b, ",\"strategy_id\":");
    if (p->strategy_id)
        jbuf_printf(b, "%lld", (long long)p->strategy_id);
    else
        jbuf_printf(b, "null");
    jbuf_printf(b, ",\"product\":\"%s\",\"status\":\"%s\",\"qty\":%lld,\"avg_price\":",
                order_product_name(p->product), p->qty ? "open" : "closed", (long long)p->qty);
    jbuf_px(b, p->avg_price);
    jbuf_printf(b, ",\"last_price\":");
    jbuf_px(b, p->last_price);
    jbuf_printf(b, ",\"realized_pnl\":");
    jbuf_px(b, p->realized);
    jbuf_printf(b, ",\"unrealized_pnl\":");
    jbuf_px(b, p->unrealized);
    jbuf_printf(b, ",\"charges\":");
    jbuf_px(b, p->charges);
    jbuf_printf(b, ",\"net_pnl\":");
    jbuf_px(b, p->net_pnl);
    jbuf_printf(b, ",\"qty_bought\":%lld,\"qty_sold\":%lld,\"buy_value\":", (long long)p->qty_bought,
                (long long)p->qty_sold);
    jbuf_px(b, p->buy_value);
    jbuf_printf(b, ",\"sell_value\":");
    jbuf_px(b, p->sell_value);
    jbuf_printf(b, "}");
}

void api_trading_funds_json(struct jbuf *b, int64_t account_id, const struct api_trading_funds *f)
{
    jbuf_printf(b, "{\"account_id\":%lld,\"mode\":\"PAPER\",\"initial_capital\":", (long long)account_id);
    jbuf_px(b, f->initial_capital);
    jbuf_printf(b, ",\"cash\":");
    jbuf_px(b, f->cash);
    jbuf_printf(b, ",\"margin_used\":");
    jbuf_px(b, f->margin_used);
    jbuf_printf(b, ",\"margin_available\":");
    jbuf_px(b, f->margin_available);
    jbuf_printf(b, ",\"realized_pnl\":");
    jbuf_px(b, f->realized);
    jbuf_printf(b, ",\"unrealized_pnl\":");
    jbuf_px(b, f->unrealized);
    jbuf_printf(b, ",\"charges\":");
    jbuf_px(b, f->charges);
    jbuf_printf(b, ",\"equity\":");
    jbuf_px(b, f->equity);
    jbuf_printf(b, ",\"open_positions\":%d}", f->open_positions);
}

static void publish(const char *channel, const char *event, int64_t account_id, struct jbuf *b)
{
    char *text = jbuf_take(b);
    if (!text)
        return;
    struct api_event ev = {channel, event, account_id, 0, text};
    api_events_publish(&ev);
    atp_free(text);
}

static void publish_order(struct api_trading *t, int64_t account_id, int64_t store_id)
{
    struct store_order so;
    struct atp_err err;
    if (store_order_get(t->st, account_id, store_id, &so, &err) != ATP_OK)
        return;
    struct jbuf b = {0};
    api_trading_order_json(&b, &so, NULL, 0);
    publish("orders", "order_update", account_id, &b);
}

/* ---- the store side of the kernel's order flow ---------------------------------------------------- */

/* The order's state as the store shows it: an order re-placed after a restart with fills before
 * it is PARTIALLY_FILLED while its rest works (the kernel's copy knows only the rest). */
static const char *stored_state(const struct order *o, const struct tmap *mp)
{
    if (mp->base_filled > 0 && !order_state_is_terminal(o->state) && o->qty_filled == 0)
        return order_state_name(ORDER_STATE_PARTIALLY_FILLED);
    if (mp->base_filled > 0 && o->state == ORDER_STATE_CANCELLED)
        return order_state_name(ORDER_STATE_CANCELLED);
    return order_state_name(o->state);
}

static void change_of(const struct order *o, const struct tmap *mp, struct store_order_change *c)
{
    memset(c, 0, sizeof *c);
    c->account_id = (int64_t)o->req.account_id;
    c->order_id = mp->store_id;
    COPY(c->state, stored_state(o, mp));
    c->qty = o->req.qty + mp->base_filled;
    c->price_px = o->req.limit_price;
    c->trigger_px = o->req.trigger_price;
    c->filled_qty = o->qty_filled + mp->base_filled;
    c->filled_notional_px = o->filled_notional + mp->base_notional;
    COPY(c->reason, o->reason);
}

/* The kernel's order hook: a new order goes to the store before the broker sees it. */
static int on_new_order(void *ctx, const struct order *o, struct atp_err *err)
{
    struct api_trading *t = ctx;
    struct tmap *mp = map_of(t, o->id, 1);
    if (!mp)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    if (t->restoring) { /* already stored: only the id map is new */
        *mp = (struct tmap){t->restoring->store_id, t->restoring->base_filled, t->restoring->base_notional};
        return ATP_OK;
    }
    struct store_order so = {.account_id = (int64_t)o->req.account_id,
                             .strategy_id = (int64_t)o->req.strategy_id,
                             .qty = o->req.qty,
                             .price_px = o->req.limit_price,
                             .trigger_px = o->req.trigger_price};
    COPY(so.mode, trade_mode_name(o->req.mode));
    COPY(so.client_key, o->req.client_key);
    COPY(so.tag, o->tag);
    COPY(so.symbol, symbol_of(t, o->req.instrument_id));
    COPY(so.side, order_side_name(o->req.side));
    COPY(so.type, order_type_name(o->req.type));
    COPY(so.product, order_product_name(o->req.product));
    COPY(so.validity, order_validity_name(o->req.validity));
    COPY(so.state, order_state_name(o->state));
    int64_t id = 0;
    int rc = store_order_insert(t->st, &so, &id, err);
    if (rc != ATP_OK) {
        atp_log(LOG_ERROR, "trading", "order of account %lld not recorded, so not sent: %s",
                (long long)so.account_id, err ? err->msg : "");
        return rc == ATP_EEXIST ? rc : ATP_EIO;
    }
    *mp = (struct tmap){id, 0, 0};
    return ATP_OK;
}

static void on_order_update(struct api_trading *t, const struct order *o)
{
    struct tmap *mp = map_of(t, o->id, 0);
    if (!mp || !mp->store_id)
        return; /* never recorded (the hook refused it): nothing to update */
    if (o->state != ORDER_STATE_NEW) { /* NEW is what the hook just wrote */
        struct store_order_change c;
        change_of(o, mp, &c);
        struct atp_err err;
        if (store_order_update(t->st, &c, &err) != ATP_OK)
            atp_log(LOG_ERROR, "trading", "order %lld: state %s not recorded: %s", (long long)mp->store_id,
                    c.state, err.msg);
    }
    publish_order(t, (int64_t)o->req.account_id, mp->store_id);
}

static void on_fill(struct api_trading *t, const struct ev_fill *ev)
{
    const struct fill *f = ev->fill;
    struct tmap *mp = map_of(t, f->order_id, 0);
    const struct order *o = oms_get(kernel_oms(t->k), f->order_id);
    if (!mp || !mp->store_id || !o)
        return;
    /* The broker reports the fill before the order's own update: the kernel's copy does not
     * count it yet, so the totals here add it. Fill and order totals go in one transaction. */
    struct store_order_change c;
    change_of(o, mp, &c);
    px_t amount = 0;
    px_mul_qty(f->price, f->qty, &amount);
    c.filled_qty += f->qty;
    c.filled_notional_px += amount;
    COPY(c.state, order_state_name(c.filled_qty >= c.qty ? ORDER_STATE_FILLED : ORDER_STATE_PARTIALLY_FILLED));
    struct store_fill sf = {.order_id = mp->store_id,
                            .account_id = (int64_t)f->account_id,
                            .strategy_id = (int64_t)ev->strategy_id,
                            .qty = f->qty,
                            .price_px = f->price,
                            .charges_px = ev->charges,
                            .ts_ns = f->ts};
    COPY(sf.mode, trade_mode_name(f->mode));
    COPY(sf.venue_id, f->fill_id);
    COPY(sf.symbol, symbol_of(t, f->instrument_id));
    COPY(sf.side, order_side_name(f->side));
    COPY(sf.product, order_product_name(o->req.product));
    struct atp_err err;
    if (store_fill_record(t->st, &sf, &c, &sf.id, &err) != ATP_OK) {
        atp_log(LOG_ERROR, "trading", "fill %s of order %lld not recorded: %s", f->fill_id,
                (long long)mp->store_id, err.msg);
        return;
    }
    struct jbuf b = {0};
    api_trading_fill_json(&b, &sf);
    publish("trades", "fill", sf.account_id, &b);
    /* The account owner hears of a completed order (stored and pushed: api/notify.h). */
    struct store_account acct;
    if (c.filled_qty >= c.qty && store_account_get(t->st, sf.account_id, &acct, &err) == ATP_OK) {
        char title[160], body[200], avg[32];
        px_format_fixed(order_avg_price(c.filled_notional_px, c.filled_qty), 2, avg, sizeof avg);
        snprintf(title, sizeof title, "Order filled: %s %lld %s", sf.side, (long long)c.filled_qty, sf.symbol);
        snprintf(body, sizeof body, "Order %lld on account %lld filled at an average of %s%s.",
                 (long long)mp->store_id, (long long)sf.account_id, avg,
                 sf.strategy_id ? " (a strategy's order)" : "");
        notify_user(t->st, acct.owner_id, NOTIFY_ORDER, title, body);
    }
}

static void funds_of(const struct portfolio_summary *s, struct api_trading_funds *out)
{
    *out = (struct api_trading_funds){
        .initial_capital = s->initial_cash, .cash = s->cash, .margin_used = s->margin_used,
        .margin_available = s->margin_available, .realized = s->realized, .unrealized = s->unrealized,
        .charges = s->charges, .equity = s->equity, .open_positions = (int)s->open_positions};
}

static void position_of(const struct portfolio_position *p, struct api_trading_position *out)
{
    *out = (struct api_trading_position){
        .strategy_id = (int64_t)p->key.strategy_id, .instrument_id = p->key.instrument_id,
        .product = p->product, .qty = p->qty, .avg_price = p->avg_price, .last_price = p->mark_px,
        .realized = p->realized, .unrealized = p->unrealized, .charges = p->charges, .net_pnl = p->net_pnl,
        .qty_bought = p->qty_bought, .qty_sold = p->qty_sold, .buy_value = p->buy_value,
        .sell_value = p->sell_value};
}

static void on_position(struct api_trading *t, const struct ev_position *ev)
{
    struct portfolio_key key = {ev->account_id, ev->mode, ev->strategy_id, ev->instrument_id};
    struct portfolio_position p;
    if (portfolio_position_get(kernel_portfolio(t->k), &key, &p) != ATP_OK)
        return;
    struct api_trading_position ap;
    position_of(&p, &ap);
    struct jbuf b = {0};
    api_trading_position_json(&b, (int64_t)ev->account_id, symbol_of(t, ev->instrument_id), &ap);
    publish("positions", "position", (int64_t)ev->account_id, &b);
    /* The account overview moves with every position: the dashboard channel's summary. */
    struct portfolio_summary s;
    if (portfolio_account_summary(kernel_portfolio(t->k), ev->account_id, ev->mode, &s) == ATP_OK) {
        struct api_trading_funds f;
        funds_of(&s, &f);
        struct jbuf d = {0};
        api_trading_funds_json(&d, (int64_t)ev->account_id, &f);
        publish("dashboard", "summary", (int64_t)ev->account_id, &d);
    }
}

static void restore_orders(struct api_trading *t);

static void on_bus(void *ctx, enum topic topic, const void *payload)
{
    struct api_trading *t = ctx;
    switch (topic) {
    case TOPIC_ORDER_UPDATE: on_order_update(t, payload); break;
    case TOPIC_FILL: on_fill(t, payload); break;
    case TOPIC_POSITION: on_position(t, payload); break;
    case TOPIC_TICK:
        if (t->n_pending)
            restore_orders(t);
        break;
    default: break;
    }
}

/* ---- accounts and restore ------------------------------------------------------------------------ */

static int apply_kill_switch(struct api_trading *t, struct kernel *k, const struct store_kill_switch *ks)
{
    enum risk_state state;
    if (risk_state_parse(ks->state, &state) != ATP_OK)
        return ATP_EINVAL;
    ts_ns now = kernel_now(k) == INT64_MIN ? 0 : kernel_now(k);
    (void)t;
    return ks->account_id == 0 ? risk_set_global_state(kernel_risk(k), state, now)
                               : risk_set_account_state(kernel_risk(k), (uint64_t)ks->account_id, state, now);
}

int api_trading_account_ensure(struct api_trading *t, struct kernel *k, int64_t account_id, struct atp_err *err)
{
    if (account_id <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "account_id", "must be a positive id");
    if (risk_account_known(kernel_risk(k), (uint64_t)account_id))
        return ATP_OK;
    struct store_funds f;
    int rc = store_funds_get(t->st, account_id, &f, err);
    if (rc == ATP_ENOTFOUND) {
        f.initial_capital_px = TRADING_DEFAULT_CAPITAL;
        rc = store_funds_set(t->st, account_id, f.initial_capital_px, err);
    }
    if (rc != ATP_OK)
        return rc;
    if ((rc = kernel_account_open(k, (uint64_t)account_id, f.initial_capital_px, err)) != ATP_OK)
        return rc;
    struct store_kill_switch ks;
    if (store_kill_switch_get(t->st, account_id, &ks, NULL) == ATP_OK)
        apply_kill_switch(t, k, &ks);
    return ATP_OK;
}

/* Re-places the working orders of before the restart. Run at the first tick after start-up: the
 * paper broker refuses any order before it has a clock and a price ("market closed"). */
static void restore_orders(struct api_trading *t)
{
    size_t n = t->n_pending;
    struct pending *p = t->pending;
    t->pending = NULL;
    t->n_pending = 0;
    for (size_t i = 0; i < n; i++) {
        struct atp_err err;
        uint64_t kid = 0;
        t->restoring = &p[i];
        int rc = kernel_restore_order(t->k, &p[i].req, &kid, &err);
        t->restoring = NULL;
        if (rc != ATP_OK && rc != 1)
            atp_log(LOG_ERROR, "trading", "order %lld not re-placed after the restart: %s",
                    (long long)p[i].store_id, err.msg);
    }
    atp_free(p);
    if (n)
        atp_log(LOG_INFO, "trading", "%zu working orders re-placed into the paper broker", n);
}

#define RESTORE_PAGE 200u

static int restore(struct api_trading *t, struct kernel *k, struct atp_err *err)
{
    static struct store_funds funds[RESTORE_PAGE];
    struct store_page_out res;
    struct store_page pg = {0, RESTORE_PAGE};
    do { /* accounts with their funds */
        int rc = store_funds_list(t->st, &pg, funds, &res, err);
        if (rc != ATP_OK)
            return rc;
        for (uint32_t i = 0; i < res.count; i++)
            if (kernel_account_open(k, (uint64_t)funds[i].account_id, funds[i].initial_capital_px, err) != ATP_OK)
                atp_log(LOG_ERROR, "trading", "account %lld not opened: %s", (long long)funds[i].account_id,
                        err->msg);
        pg.cursor = res.next_cursor;
    } while (pg.cursor);

    struct store_kill_switch ks[64];
    pg = (struct store_page){0, 64};
    do {
        int rc = store_kill_switch_list(t->st, &pg, ks, &res, err);
        if (rc != ATP_OK)
            return rc;
        for (uint32_t i = 0; i < res.count; i++)
            if (ks[i].account_id == 0 || api_trading_account_ensure(t, k, ks[i].account_id, err) == ATP_OK)
                apply_kill_switch(t, k, &ks[i]);
        pg.cursor = res.next_cursor;
    } while (pg.cursor);

    struct store_fill *fills = atp_calloc(RESTORE_PAGE, sizeof *fills);
    if (!fills)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    size_t n_fills = 0;
    pg = (struct store_page){0, RESTORE_PAGE};
    int rc = ATP_OK;
    do { /* positions: every stored fill, in the order they happened */
        if ((rc = store_fill_list(t->st, 0, &pg, fills, &res, err)) != ATP_OK)
            break;
        for (uint32_t i = 0; i < res.count; i++) {
            const struct store_fill *sf = &fills[i];
            const struct instrument *in = instreg_find(t->reg, sf->symbol);
            struct fill f = {.order_id = (uint64_t)sf->order_id, .account_id = (uint64_t)sf->account_id,
                             .qty = sf->qty, .price = sf->price_px, .ts = sf->ts_ns};
            enum order_product product = ORDER_PRODUCT_MIS;
            COPY(f.fill_id, sf->venue_id);
            if (!in || order_side_parse(sf->side, &f.side) != ATP_OK ||
                trade_mode_parse(sf->mode, &f.mode) != ATP_OK ||
                order_product_parse(sf->product, &product) != ATP_OK) {
                atp_log(LOG_ERROR, "trading", "stored fill %lld unreadable (symbol %s): skipped", (long long)sf->id,
                        sf->symbol);
                continue;
            }
            f.instrument_id = in->id;
            if (api_trading_account_ensure(t, k, sf->account_id, err) != ATP_OK ||
                kernel_restore_fill(k, &f, (uint64_t)sf->strategy_id, product, sf->charges_px, err) != ATP_OK)
                atp_log(LOG_ERROR, "trading", "stored fill %lld not restored: %s", (long long)sf->id, err->msg);
            else
                n_fills++;
        }
        pg.cursor = res.next_cursor;
    } while (pg.cursor);
    atp_free(fills);
    if (rc != ATP_OK)
        return rc;

    static struct store_order orders[RESTORE_PAGE];
    struct store_order_filter flt = {.account_id = 0, .state = "WORKING"};
    pg = (struct store_page){0, RESTORE_PAGE};
    do { /* working orders: re-placed at the first tick */
        if ((rc = store_order_list(t->st, &flt, &pg, orders, &res, err)) != ATP_OK)
            return rc;
        struct pending *np = atp_reallocarray(t->pending, t->n_pending + res.count + 1, sizeof *np);
        if (!np)
            return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        t->pending = np;
        for (uint32_t i = 0; i < res.count; i++) {
            const struct store_order *so = &orders[i];
            const struct instrument *in = instreg_find(t->reg, so->symbol);
            struct pending p = {.store_id = so->id, .base_filled = so->filled_qty,
                                .base_notional = so->filled_notional_px};
            struct order_request *r = &p.req;
            *r = (struct order_request){.account_id = (uint64_t)so->account_id,
                                        .strategy_id = 0, /* the kernel's strategies are gone */
                                        .qty = so->qty - so->filled_qty,
                                        .limit_price = so->price_px,
                                        .trigger_price = so->trigger_px};
            if (!in || r->qty <= 0 || trade_mode_parse(so->mode, &r->mode) != ATP_OK ||
                order_side_parse(so->side, &r->side) != ATP_OK || order_type_parse(so->type, &r->type) != ATP_OK ||
                order_product_parse(so->product, &r->product) != ATP_OK ||
                order_validity_parse(so->validity, &r->validity) != ATP_OK ||
                api_trading_account_ensure(t, k, so->account_id, err) != ATP_OK) {
                atp_log(LOG_ERROR, "trading", "stored order %lld unreadable: not re-placed", (long long)so->id);
                continue;
            }
            r->instrument_id = in->id;
            t->pending[t->n_pending++] = p;
        }
        pg.cursor = res.next_cursor;
    } while (pg.cursor);
    atp_log(LOG_INFO, "trading", "restored %zu fills; %zu working orders wait for the first tick", n_fills,
            t->n_pending);
    return ATP_OK;
}

struct init_call {
    struct api_trading *t;
    struct atp_err *err;
};

static int init_in_kernel(struct kernel *k, void *arg)
{
    struct init_call *c = arg;
    struct api_trading *t = c->t;
    t->k = k;
    kernel_set_order_hook(k, on_new_order, t);
    static const enum topic topics[] = {TOPIC_ORDER_UPDATE, TOPIC_FILL, TOPIC_POSITION, TOPIC_TICK};
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
        if (bus_subscribe(kernel_bus(k), topics[i], on_bus, t) != ATP_OK)
            return atp_err_set(c->err, ATP_ENOMEM, NULL, 0, NULL, "cannot subscribe to the kernel's bus");
    return restore(t, k, c->err);
}

int api_trading_new(struct api_market *m, const char *store_url, struct api_trading **out, struct atp_err *err)
{
    *out = NULL;
    if (!m || !store_url)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "market", "paper trading needs the market and a store");
    struct api_trading *t = atp_calloc(1, sizeof *t);
    if (!t)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    t->m = m;
    t->reg = api_market_registry(m);
    int rc = store_open(store_url, &t->st, err);
    if (rc == ATP_OK) {
        struct init_call c = {t, err};
        rc = api_market_exec(m, init_in_kernel, &c);
    }
    if (rc != ATP_OK) {
        if (t->k) { /* unhook: the kernel outlives this failed service */
            kernel_set_order_hook(t->k, NULL, NULL);
        }
        /* The bus has no unsubscribe; the caller frees the market on this path (cmd_serve). */
        api_trading_free(t);
        return rc;
    }
    *out = t;
    return ATP_OK;
}

void api_trading_free(struct api_trading *t)
{
    if (!t)
        return;
    store_close(t->st);
    atp_free(t->map);
    atp_free(t->pending);
    atp_free(t);
}

/* ---- orders ------------------------------------------------------------------------------------- */

/* The stored order once the kernel call returned (fills at once included). */
static int reread(struct api_trading *t, int64_t account_id, int64_t store_id, struct store_order *out,
                  struct atp_err *err)
{
    return store_order_get(t->st, account_id, store_id, out, err);
}

struct place_call {
    struct api_trading *t;
    const struct api_trading_place *p;
    struct store_order *out;
    struct atp_err *err;
};

static int place_in_kernel(struct kernel *k, void *arg)
{
    struct place_call *c = arg;
    struct api_trading *t = c->t;
    const struct api_trading_place *p = c->p;
    int rc = api_trading_account_ensure(t, k, p->account_id, c->err);
    if (rc != ATP_OK)
        return rc;
    if (p->client_key[0]) { /* the store remembers every key, across restarts */
        rc = store_order_find_key(t->st, p->account_id, p->client_key, c->out, c->err);
        if (rc == ATP_OK)
            return 1;
        if (rc != ATP_ENOTFOUND)
            return rc;
    }
    struct order_request req = {.account_id = (uint64_t)p->account_id, .mode = TRADE_MODE_PAPER,
                                .instrument_id = p->instrument_id, .side = p->side, .type = p->type,
                                .product = p->product, .validity = p->validity, .qty = p->qty,
                                .limit_price = p->price, .trigger_price = p->trigger_price};
    COPY(req.client_key, p->client_key);
    /* Malformed terms are the caller's mistake, named by field, before the gate judges them. */
    if ((rc = order_request_validate(&req, c->err)) != ATP_OK)
        return rc;
    uint64_t kid = 0;
    atp_err_clear(c->err);
    rc = kernel_place_protected(k, &req, &p->stops, &kid, c->err);
    struct tmap *mp = kid ? map_of(t, kid, 0) : NULL;
    if (rc == 1 || rc == ATP_OK) {
        if (!mp || !mp->store_id)
            return atp_err_set(c->err, ATP_EIO, NULL, 0, NULL, "the order was not recorded");
        int r2 = reread(t, p->account_id, mp->store_id, c->out, c->err);
        return r2 != ATP_OK ? r2 : rc;
    }
    return rc;
}

int api_trading_place(struct api_trading *t, const struct api_trading_place *p, struct store_order *out,
                      struct atp_err *err)
{
    struct place_call c = {t, p, out, err};
    return api_market_exec(t->m, place_in_kernel, &c);
}

struct change_call {
    struct api_trading *t;
    int64_t account_id, order_id;
    int modify;
    int64_t qty;
    px_t price, trigger;
    struct store_order *out;
    struct atp_err *err;
};

static int change_in_kernel(struct kernel *k, void *arg)
{
    struct change_call *c = arg;
    struct api_trading *t = c->t;
    int rc = store_order_get(t->st, c->account_id, c->order_id, c->out, c->err);
    if (rc != ATP_OK)
        return rc;
    uint64_t kid = kernel_id_of(t, c->order_id);
    const struct order *o = kid ? oms_get(kernel_oms(k), kid) : NULL;
    if (!o || order_state_is_terminal(o->state))
        return atp_err_set(c->err, ATP_ESTATE, NULL, 0, "order_id", "order is %s", c->out->state);
    const struct tmap *mp = &t->map[kid];
    if (c->modify) {
        if (c->qty <= c->out->filled_qty)
            return atp_err_set(c->err, ATP_EINVAL, NULL, 0, "qty",
                               "qty %lld must be more than the %lld already filled", (long long)c->qty,
                               (long long)c->out->filled_qty);
        struct order_request next = o->req;
        next.qty = c->qty - mp->base_filled;
        next.limit_price = c->price;
        next.trigger_price = c->trigger;
        if ((rc = order_request_validate(&next, c->err)) != ATP_OK)
            return rc;
        rc = kernel_modify(k, (uint64_t)c->account_id, kid, next.qty, c->price, c->trigger, c->err);
    } else {
        rc = kernel_cancel(k, (uint64_t)c->account_id, kid, c->err);
    }
    if (rc != ATP_OK)
        return rc;
    return reread(t, c->account_id, c->order_id, c->out, c->err);
}

int api_trading_cancel(struct api_trading *t, int64_t account_id, int64_t order_id, struct store_order *out,
                       struct atp_err *err)
{
    struct change_call c = {.t = t, .account_id = account_id, .order_id = order_id, .out = out, .err = err};
    return api_market_exec(t->m, change_in_kernel, &c);
}

int api_trading_modify(struct api_trading *t, int64_t account_id, int64_t order_id, int64_t qty, px_t price,
                       px_t trigger_price, struct store_order *out, struct atp_err *err)
{
    struct change_call c = {.t = t, .account_id = account_id, .order_id = order_id, .modify = 1, .qty = qty,
                            .price = price, .trigger = trigger_price, .out = out, .err = err};
    return api_market_exec(t->m, change_in_kernel, &c);
}

/* ---- positions and funds ------------------------------------------------------------------------ */

struct book_call {
    struct api_trading *t;
    int64_t account_id;
    struct api_trading_position *pos;
    uint32_t cap, n;
    struct api_trading_funds *funds;
    px_t capital;
    uint32_t instrument_id;
    const char *client_key;
    struct store_order *out;
    struct atp_err *err;
};

static int positions_in_kernel(struct kernel *k, void *arg)
{
    struct book_call *c = arg;
    struct portfolio_iter it;
    struct portfolio_position p;
    c->n = 0;
    if (portfolio_iter_init(kernel_portfolio(k), (uint64_t)c->account_id, TRADE_MODE_PAPER, &it) != ATP_OK)
        return ATP_OK; /* never traded */
    while (c->n < c->cap && portfolio_iter_next(kernel_portfolio(k), &it, &p))
        position_of(&p, &c->pos[c->n++]);
    return ATP_OK;
}

int api_trading_positions(struct api_trading *t, int64_t account_id, struct api_trading_position *out,
                          uint32_t cap, uint32_t *n_out, struct atp_err *err)
{
    struct book_call c = {.t = t, .account_id = account_id, .pos = out, .cap = cap, .err = err};
    int rc = api_market_exec(t->m, positions_in_kernel, &c);
    *n_out = c.n;
    return rc;
}

static int funds_in_kernel(struct kernel *k, void *arg)
{
    struct book_call *c = arg;
    int rc;
    if (!risk_account_known(kernel_risk(k), (uint64_t)c->account_id)) {
        /* Not trading yet: the funds are the capital alone. Not opened here, so the capital can
         * still be set (api_trading_set_capital). */
        struct store_funds f;
        rc = store_funds_get(c->t->st, c->account_id, &f, c->err);
        if (rc == ATP_ENOTFOUND)
            f.initial_capital_px = TRADING_DEFAULT_CAPITAL;
        else if (rc != ATP_OK)
            return rc;
        px_t cap = f.initial_capital_px;
        *c->funds = (struct api_trading_funds){.initial_capital = cap, .cash = cap, .margin_available = cap,
                                               .equity = cap};
        return ATP_OK;
    }
    struct portfolio_summary s;
    if ((rc = portfolio_account_summary(kernel_portfolio(k), (uint64_t)c->account_id, TRADE_MODE_PAPER, &s)) !=
        ATP_OK)
        return atp_err_set(c->err, rc, NULL, 0, "account_id", "no ledger for the account");
    funds_of(&s, c->funds);
    return ATP_OK;
}

int api_trading_funds(struct api_trading *t, int64_t account_id, struct api_trading_funds *out,
                      struct atp_err *err)
{
    struct book_call c = {.t = t, .account_id = account_id, .funds = out, .err = err};
    return api_market_exec(t->m, funds_in_kernel, &c);
}

static int capital_in_kernel(struct kernel *k, void *arg)
{
    struct book_call *c = arg;
    struct store_order o;
    struct store_page_out res;
    struct store_order_filter flt = {.account_id = c->account_id};
    int rc = store_order_list(c->t->st, &flt, &(struct store_page){0, 1}, &o, &res, c->err);
    if (rc != ATP_OK)
        return rc;
    if (res.count)
        return atp_err_set(c->err, ATP_ESTATE, NULL, 0, "initial_capital",
                           "the account has orders: its ledger started from the capital it had");
    if (risk_account_known(kernel_risk(k), (uint64_t)c->account_id))
        return atp_err_set(c->err, ATP_ESTATE, NULL, 0, "initial_capital",
                           "the account is open in the paper book since this server started; set the capital "
                           "before its first order after a restart");
    if ((rc = store_funds_set(c->t->st, c->account_id, c->capital, c->err)) != ATP_OK)
        return rc;
    return api_trading_account_ensure(c->t, k, c->account_id, c->err);
}

int api_trading_set_capital(struct api_trading *t, int64_t account_id, px_t capital, struct atp_err *err)
{
    if (capital < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "initial_capital", "must be >= 0");
    struct book_call c = {.t = t, .account_id = account_id, .capital = capital, .err = err};
    return api_market_exec(t->m, capital_in_kernel, &c);
}

static int close_in_kernel(struct kernel *k, void *arg)
{
    struct book_call *c = arg;
    struct portfolio_key key = {(uint64_t)c->account_id, TRADE_MODE_PAPER, 0, c->instrument_id};
    struct portfolio_position p;
    if (portfolio_position_get(kernel_portfolio(k), &key, &p) != ATP_OK || p.qty == 0)
        return atp_err_set(c->err, ATP_ENOTFOUND, NULL, 0, "symbol", "no open position in %s",
                           symbol_of(c->t, c->instrument_id));
    struct api_trading_place pl = {.account_id = c->account_id, .instrument_id = c->instrument_id,
                                   .side = p.qty > 0 ? ORDER_SIDE_SELL : ORDER_SIDE_BUY,
                                   .type = ORDER_TYPE_MARKET, .product = p.product,
                                   .validity = ORDER_VALIDITY_DAY, .qty = p.qty > 0 ? p.qty : -p.qty};
    COPY(pl.client_key, c->client_key ? c->client_key : "");
    struct place_call pc = {c->t, &pl, c->out, c->err};
    return place_in_kernel(k, &pc);
}

int api_trading_close_position(struct api_trading *t, int64_t account_id, uint32_t instrument_id,
                               const char *client_key, struct store_order *out, struct atp_err *err)
{
    struct book_call c = {.t = t, .account_id = account_id, .instrument_id = instrument_id,
                          .client_key = client_key, .out = out, .err = err};
    return api_market_exec(t->m, close_in_kernel, &c);
}

/* ---- kill switch ------------------------------------------------------------------------------- */

struct kill_call {
    struct api_trading *t;
    int64_t account_id;
    enum risk_state state;
    int64_t user_id;
    const char *reason;
    int cancelled;
    struct store_kill_switch *out;
    enum risk_state effective;
    struct atp_err *err;
};

static int kill_set_in_kernel(struct kernel *k, void *arg)
{
    struct kill_call *c = arg;
    struct api_trading *t = c->t;
    int rc;
    if (c->account_id && (rc = api_trading_account_ensure(t, k, c->account_id, c->err)) != ATP_OK)
        return rc;
    struct store_kill_switch ks = {.account_id = c->account_id, .set_by = c->user_id};
    COPY(ks.state, risk_state_name(c->state));
    COPY(ks.reason, c->reason ? c->reason : "");
    if ((rc = store_kill_switch_set(t->st, &ks, c->err)) != ATP_OK) /* durable first */
        return rc;
    if ((rc = apply_kill_switch(t, k, &ks)) != ATP_OK)
        return atp_err_set(c->err, rc, NULL, 0, "state", "the risk gate refused the state");
    if (c->state != RISK_STATE_HALTED)
        return ATP_OK;
    /* HALTED: cancel what it covers. Ids first: cancelling changes the open set. */
    size_t n = 0, cap = 0;
    uint64_t *ids = NULL;
    for (struct order *o = oms_next_open(kernel_oms(k), NULL); o; o = oms_next_open(kernel_oms(k), o)) {
        if (c->account_id && o->req.account_id != (uint64_t)c->account_id)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            uint64_t *v = atp_reallocarray(ids, cap, sizeof *v);
            if (!v) {
                atp_free(ids);
                return atp_err_set(c->err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
            }
            ids = v;
        }
        ids[n++] = o->id;
    }
    for (size_t i = 0; i < n; i++) {
        const struct order *o = oms_get(kernel_oms(k), ids[i]);
        struct atp_err e;
        if (o && kernel_cancel(k, o->req.account_id, ids[i], &e) == ATP_OK)
            c->cancelled++;
        else if (o)
            atp_log(LOG_WARN, "trading", "kill switch: order %llu not cancelled: %s", (unsigned long long)ids[i],
                    e.msg);
    }
    atp_free(ids);
    return ATP_OK;
}

int api_trading_kill_switch_set(struct api_trading *t, int64_t account_id, enum risk_state state,
                                int64_t user_id, const char *reason, int *cancelled_out, struct atp_err *err)
{
    if ((unsigned)state >= RISK_STATE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "state", "ACTIVE, REDUCING or HALTED");
    struct kill_call c = {.t = t, .account_id = account_id, .state = state, .user_id = user_id,
                          .reason = reason, .err = err};
    int rc = api_market_exec(t->m, kill_set_in_kernel, &c);
    if (cancelled_out)
        *cancelled_out = c.cancelled;
    return rc;
}

static int kill_get_in_kernel(struct kernel *k, void *arg)
{
    struct kill_call *c = arg;
    int rc = store_kill_switch_get(c->t->st, c->account_id, c->out, c->err);
    if (rc == ATP_ENOTFOUND) {
        *c->out = (struct store_kill_switch){.account_id = c->account_id};
        COPY(c->out->state, risk_state_name(RISK_STATE_ACTIVE));
        atp_err_clear(c->err);
    } else if (rc != ATP_OK) {
        return rc;
    }
    if (c->account_id == 0) {
        c->effective = risk_global_state(kernel_risk(k));
        return ATP_OK;
    }
    if ((rc = api_trading_account_ensure(c->t, k, c->account_id, c->err)) != ATP_OK)
        return rc;
    return risk_effective_state(kernel_risk(k), (uint64_t)c->account_id, TRADE_MODE_PAPER, &c->effective);
}

int api_trading_kill_switch_get(struct api_trading *t, int64_t account_id, struct store_kill_switch *out,
                                enum risk_state *effective, struct atp_err *err)
{
    struct kill_call c = {.t = t, .account_id = account_id, .out = out, .err = err};
    int rc = api_market_exec(t->m, kill_get_in_kernel, &c);
    if (effective)
        *effective = c.effective;
    return rc;
}
