/* api/h_signals: one signal, many accounts (issue 5 §4, the seeds' back-office use case). See
 * h_signals.h and docs/api.md "Signals".
 *
 * Each account's order goes through the trading service exactly as a manual order does
 * (api_trading_place: the account's own risk gate and kill switch, stored before the paper
 * broker sees it, audited), so a signal can do nothing an account's owner could not do by hand.
 *
 * Parallelism. The accounts are executed one after the other, each taking the paper kernel's
 * lock once: the kernel is single-threaded by design, and a paper placement costs microseconds,
 * so threads would only queue on that lock. What deserves threads is a live broker's round trip
 * (tens of milliseconds); the broker issue fans those out per connection. */
#include "api/h_signals.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/h_orders.h"
#include "api/hutil.h"
#include "api/jbuf.h"
#include "api/json_err.h"
#include "api/market.h"
#include "api/ownership.h"
#include "api/trading.h"
#include "core/alloc.h"

#define SIGNAL_ACCOUNTS_MAX 200 /* accounts one signal may address */

const struct api_field h_signals_body[] = {
    {"symbol", API_FT_STRING, 1, 47, "instrument symbol, e.g. RELIANCE"},
    {"action", API_FT_STRING, 1, 16, "OPEN_LONG, CLOSE_LONG, OPEN_SHORT or CLOSE_SHORT"},
    {"qty", API_FT_INT, 0, 0, "units per account; opens need qty or sizing_pct; closes default to the whole position"},
    {"sizing_pct", API_FT_DECIMAL, 0, 0, "opens: percent of each account's equity, at the last price, in whole lots"},
    {"stop_loss_pct", API_FT_DECIMAL, 0, 0, "opens: protective stop-loss below (long) / above (short) the fill, percent"},
    {"take_profit_pct", API_FT_DECIMAL, 0, 0, "opens: take-profit, percent from the fill"},
    {"trailing_stop_pct", API_FT_DECIMAL, 0, 0, "opens: trailing stop, percent"},
    {"product", API_FT_STRING, 0, 8, "CNC (default), MIS or NRML"},
    {"mode", API_FT_STRING, 0, 8, "paper (default); live needs a broker connection"},
    {"account_ids", API_FT_ARRAY, 0, SIGNAL_ACCOUNTS_MAX, "accounts to trade (default: every account the caller owns)"},
    {NULL, 0, 0, 0, NULL},
};

enum action { OPEN_LONG, CLOSE_LONG, OPEN_SHORT, CLOSE_SHORT };
static const char *const action_names[] = {"OPEN_LONG", "CLOSE_LONG", "OPEN_SHORT", "CLOSE_SHORT"};

/* What every account gets: the signal's terms, parsed once. */
struct terms {
    enum action action;
    const struct instrument *in;
    int64_t qty;           /* 0: sizing (opens) or the whole position (closes) */
    px_t sizing_pct;       /* 4 decimals: 100.0000 % = 1000000 */
    enum order_product product;
    struct stops_params stops;
    char key[ORDER_CLIENT_KEY_MAX]; /* the request's Idempotency-Key, "" for none */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A percent field as parts per million of the price (px_t has 4 decimals, so 1.5 % is 15000
 * px units = 15000 ppm: the same integer). 0, or -1 after a 422. */
static int pct_ppm(json_t *body, const char *name, uint32_t max_ppm, uint32_t *out, struct api_response *res)
{
    px_t v;
    int present;
    if (h_orders_decimal(body, name, &v, &present, res))
        return -1;
    if (present && (v <= 0 || v >= (px_t)max_ppm)) {
        api_error(res, 422, "invalid_field", name, "%s must be above 0 and below %u", name, max_ppm / 10000);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int parse_terms(struct api_request *req, struct api_response *res, struct terms *t)
{
    json_t *body = req->json;
    memset(t, 0, sizeof *t);
    if (!h_orders_paper_mode(body, res))
        return -1;
    const char *symbol = json_string_value(json_object_get(body, "symbol"));
    t->in = instreg_find(api_market_registry(api_market_current()), symbol);
    if (!t->in) {
        api_error(res, 422, "invalid_field", "symbol", "unknown symbol (GET /api/v1/instruments?q= searches)");
        return -1;
    }
    const char *action = json_string_value(json_object_get(body, "action"));
    int found = 0;
    for (int i = 0; i < 4 && !found; i++)
        if (strcasecmp(action, action_names[i]) == 0) {
            t->action = (enum action)i;
            found = 1;
        }
    if (!found) {
        api_error(res, 422, "invalid_field", "action", "action must be OPEN_LONG, CLOSE_LONG, OPEN_SHORT or CLOSE_SHORT");
        return -1;
    }
    json_t *q = json_object_get(body, "qty");
    t->qty = q ? json_integer_value(q) : 0;
    if (q && t->qty <= 0) {
        api_error(res, 422, "invalid_field", "qty", "qty must be above 0");
        return -1;
    }
    int has_sizing;
    if (h_orders_decimal(body, "sizing_pct", &t->sizing_pct, &has_sizing, res))
        return -1;
    int open = t->action == OPEN_LONG || t->action == OPEN_SHORT;
    if (open && !q && !has_sizing) {
        api_error(res, 400, "missing_field", "qty", "an open needs qty or sizing_pct");
        return -1;
    }
    if (has_sizing && (q || !open || t->sizing_pct <= 0 || t->sizing_pct > PX_RUPEES(100))) {
        api_error(res, 422, "invalid_field", "sizing_pct",
                  "sizing_pct is for opens without qty, above 0 and at most 100 (percent of equity)");
        return -1;
    }
    const char *product = json_string_value(json_object_get(body, "product"));
    if (order_product_parse(product ? product : "CNC", &t->product) != ATP_OK) {
        api_error(res, 422, "invalid_field", "product", "product must be CNC, MIS or NRML");
        return -1;
    }
    if (pct_ppm(body, "stop_loss_pct", STOPS_PPM_ONE, &t->stops.stop_loss_ppm, res) ||
        pct_ppm(body, "take_profit_pct", STOPS_TAKE_PROFIT_PPM_MAX, &t->stops.take_profit_ppm, res) ||
        pct_ppm(body, "trailing_stop_pct", STOPS_PPM_ONE, &t->stops.trailing_ppm, res))
        return -1;
    if (!open && (t->stops.stop_loss_ppm || t->stops.take_profit_ppm || t->stops.trailing_ppm)) {
        api_error(res, 422, "invalid_field", "stop_loss_pct", "protective exits go with opens, not closes");
        return -1;
    }
    return h_orders_idem_key(req, t->key, res);
}

/* The accounts to trade: the listed ones (each checked by the ownership table: anything but
 * the caller's own is "not_found" in its result, never a hint that it exists), else every
 * account the caller owns. ids[i] < 0 marks a refused one (-id). Returns the count, -1 after an
 * answer. */
static int accounts_of(struct api_request *req, struct api_response *res, int64_t *ids)
{
    json_t *list = json_object_get(req->json, "account_ids");
    int n = 0;
    if (list) {
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) {
            if (!json_is_integer(v) || json_integer_value(v) <= 0) {
                char field[48];
                snprintf(field, sizeof field, "account_ids[%zu]", i);
                api_error(res, 422, "invalid_field", field, "an account id is a positive integer");
                return -1;
            }
            int64_t id = json_integer_value(v);
            for (int k = 0; k < n; k++)
                if (ids[k] == id || ids[k] == -id) {
                    char field[48];
                    snprintf(field, sizeof field, "account_ids[%zu]", i);
                    api_error(res, 422, "invalid_field", field, "account %lld is listed twice", (long long)id);
                    return -1;
                }
            enum api_relation rel = API_REL_NONE;
            if (api_account_relation(req->store, id, req->user_id, req->role, &rel) != 0) {
                api_error(res, 500, "internal", NULL, "cannot resolve account access");
                return -1;
            }
            ids[n++] = rel == API_REL_OWNER ? id : -id;
        }
        if (n == 0) {
            api_error(res, 422, "invalid_field", "account_ids", "account_ids is empty");
            return -1;
        }
        return n;
    }
    struct store_account *rows = atp_calloc(SIGNAL_ACCOUNTS_MAX, sizeof *rows);
    if (!rows) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return -1;
    }
    struct store_page page = {0, SIGNAL_ACCOUNTS_MAX};
    struct store_page_out out;
    struct atp_err err;
    int rc;
    do {
        rc = store_accounts_list_for_user(req->store, req->user_id, &page, rows, &out, &err);
        for (uint32_t i = 0; rc == ATP_OK && i < out.count && n < SIGNAL_ACCOUNTS_MAX; i++)
            if (rows[i].access == STORE_ACCESS_OWNER)
                ids[n++] = rows[i].id;
        page.cursor = out.next_cursor;
    } while (rc == ATP_OK && out.next_cursor && n < SIGNAL_ACCOUNTS_MAX);
    atp_free(rows);
    if (rc != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot list the accounts");
        return -1;
    }
    if (n == 0) {
        api_error(res, 409, "no_accounts", "account_ids", "the caller owns no trading account to execute on");
        return -1;
    }
    return n;
}

/* The account's net position in the instrument (every strategy's and the manual one). */
static int net_position(struct api_trading *tr, int64_t account_id, uint32_t instrument_id, int64_t *net,
                        struct atp_err *err)
{
    enum { CAP = 256 };
    struct api_trading_position *pos = atp_calloc(CAP, sizeof *pos);
    if (!pos)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    uint32_t n = 0;
    int rc = api_trading_positions(tr, account_id, pos, CAP, &n, err);
    *net = 0;
    for (uint32_t i = 0; rc == ATP_OK && i < n; i++)
        if (pos[i].instrument_id == instrument_id)
            *net += pos[i].qty;
    atp_free(pos);
    return rc;
}

/* Whole lots of sizing_pct of the account's equity at the last price. */
static int sized_qty(struct api_trading *tr, const struct terms *t, int64_t account_id, int64_t *qty,
                     struct atp_err *err)
{
    struct api_trading_funds f;
    int rc = api_trading_funds(tr, account_id, &f, err);
    if (rc != ATP_OK)
        return rc;
    struct api_market_quote q;
    api_market_quote(api_market_current(), t->in->id, &q);
    if (!q.has_data || q.last <= 0)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, "sizing_pct", "no price yet for %s to size by", t->in->symbol);
    /* equity x pct / 100 / price, in whole lots; doubles only for the ratio (the qty is an integer). */
    double budget = px_to_double(f.equity) * px_to_double(t->sizing_pct) / 100.0;
    int64_t lot = t->in->lot_size > 0 ? t->in->lot_size : 1;
    *qty = (int64_t)(budget / px_to_double(q.last)) / lot * lot;
    if (*qty <= 0)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "sizing_pct", "%s of the equity buys no whole lot of %s",
                           "sizing_pct", t->in->symbol);
    return ATP_OK;
}

/* One account: the order the signal means there, placed. ATP_OK with *o, or an error in err. */
static int execute_one(struct api_trading *tr, const struct terms *t, int64_t account_id, struct store_order *o,
                       int *repeated, struct atp_err *err)
{
    struct api_trading_place p = {.account_id = account_id, .instrument_id = t->in->id, .type = ORDER_TYPE_MARKET,
                                  .product = t->product, .validity = ORDER_VALIDITY_DAY, .qty = t->qty};
    /* Per account, so a retried signal finds each account's first order and never places twice. */
    if (t->key[0] && snprintf(p.client_key, sizeof p.client_key, "%s.%lld", t->key, (long long)account_id) >=
                         (int)sizeof p.client_key)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "Idempotency-Key", "too long to be made per account");
    int rc;
    switch (t->action) {
    case OPEN_LONG:
    case OPEN_SHORT:
        p.side = t->action == OPEN_LONG ? ORDER_SIDE_BUY : ORDER_SIDE_SELL;
        p.stops = t->stops;
        if (!p.qty && (rc = sized_qty(tr, t, account_id, &p.qty, err)) != ATP_OK)
            return rc;
        break;
    case CLOSE_LONG:
    case CLOSE_SHORT: {
        int64_t net = 0;
        if ((rc = net_position(tr, account_id, t->in->id, &net, err)) != ATP_OK)
            return rc;
        int64_t held = t->action == CLOSE_LONG ? net : -net;
        if (held <= 0)
            return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "action", "no %s position in %s to close",
                               t->action == CLOSE_LONG ? "long" : "short", t->in->symbol);
        p.side = t->action == CLOSE_LONG ? ORDER_SIDE_SELL : ORDER_SIDE_BUY;
        if (!p.qty || p.qty > held)
            p.qty = held; /* never through zero: a close does not open the other side */
        break;
    }
    }
    rc = api_trading_place(tr, &p, o, err);
    *repeated = rc == 1;
    return rc == 1 ? ATP_OK : rc;
}

static const char *code_of(int rc)
{
    switch (rc) {
    case ATP_ERANGE: return "risk_denied";
    case ATP_EINVAL: return "invalid_field";
    case ATP_ENOTFOUND: return "no_position";
    case ATP_ESTATE: return "conflict";
    default: return "store_error";
    }
}

void h_signals_execute(struct api_request *req, struct api_response *res)
{
    struct api_trading *tr = h_orders_need_trading(res);
    if (!tr || !hutil_have_store(req, res))
        return;
    double t0 = now_ms();
    struct terms t;
    if (parse_terms(req, res, &t))
        return;
    int64_t ids[SIGNAL_ACCOUNTS_MAX];
    int n = accounts_of(req, res, ids);
    if (n < 0)
        return;
    struct hutil_actor who = hutil_actor_of(req);
    struct jbuf b = {0};
    int executed = 0, failed = 0;
    jbuf_printf(&b, "{\"results\":[");
    for (int i = 0; i < n; i++) {
        int64_t id = ids[i] > 0 ? ids[i] : -ids[i];
        jbuf_printf(&b, "%s{\"account_id\":%lld,", i ? "," : "", (long long)id);
        if (ids[i] < 0) { /* not the caller's to trade: the same words as for an absent account */
            failed++;
            jbuf_printf(&b, "\"status\":\"failed\",\"error\":{\"code\":\"not_found\",\"message\":\"no such account\"}}");
            continue;
        }
        struct store_order o;
        struct atp_err err;
        atp_err_clear(&err);
        int repeated = 0;
        int rc = execute_one(tr, &t, id, &o, &repeated, &err);
        if (rc != ATP_OK) {
            failed++;
            jbuf_printf(&b, "\"status\":\"failed\",\"error\":{\"code\":\"%s\",\"message\":", code_of(rc));
            jbuf_str(&b, err.msg);
            if (err.field[0]) {
                jbuf_printf(&b, ",\"field\":");
                jbuf_str(&b, err.field);
            }
            jbuf_printf(&b, "}}");
            hutil_audit(req->store, &who, id, "order.place", req->path, rc == ATP_ERANGE ? "denied" : "error",
                        json_pack("{s:s, s:s, s:s}", "source", "signal", "symbol", t.in->symbol, "reason", err.msg));
            continue;
        }
        executed++;
        jbuf_printf(&b, "\"status\":\"executed\",\"repeated\":%s,\"order\":", repeated ? "true" : "false");
        api_trading_order_json(&b, &o, NULL, 0);
        jbuf_printf(&b, "}");
        if (!repeated)
            hutil_audit(req->store, &who, id, "order.place", req->path, "ok",
                        json_pack("{s:s, s:I, s:s, s:s, s:I}", "source", "signal", "order_id", (json_int_t)o.id,
                                  "symbol", o.symbol, "side", o.side, "qty", (json_int_t)o.qty));
    }
    double ms = now_ms() - t0;
    jbuf_printf(&b, "],\"signal\":{\"symbol\":");
    jbuf_str(&b, t.in->symbol);
    jbuf_printf(&b, ",\"action\":\"%s\"},\"executed_count\":%d,\"failed_count\":%d,\"execution_time_ms\":%.3f}",
                action_names[t.action], executed, failed, ms);
    hutil_audit(req->store, &who, 0, "signal.execute", req->path, failed ? (executed ? "partial" : "error") : "ok",
                json_pack("{s:s, s:s, s:i, s:i}", "symbol", t.in->symbol, "action", action_names[t.action],
                          "executed", executed, "failed", failed));
    jbuf_send(&b, res, 200);
}
