#include "api/h_orders.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/hutil.h"
#include "api/jbuf.h"
#include "api/json_err.h"
#include "api/request.h"
#include "api/trading.h"
#include "core/alloc.h"

#define HIST_MAX 64 /* history rows shown with an order */

const struct api_field h_orders_place_body[] = {
    {"symbol", API_FT_STRING, 1, 47, "instrument symbol, e.g. RELIANCE"},
    {"side", API_FT_STRING, 1, 8, "BUY or SELL"},
    {"qty", API_FT_INT, 1, 0, "units (> 0, a multiple of the lot size)"},
    {"type", API_FT_STRING, 0, 8, "MARKET (default), LIMIT, SL or SL-M"},
    {"price", API_FT_DECIMAL, 0, 0, "limit price (LIMIT, SL), rupees, exact decimal"},
    {"trigger_price", API_FT_DECIMAL, 0, 0, "trigger price (SL, SL-M), rupees"},
    {"product", API_FT_STRING, 0, 8, "CNC (default), MIS or NRML"},
    {"validity", API_FT_STRING, 0, 8, "DAY (default) or IOC"},
    {"mode", API_FT_STRING, 0, 8, "paper (default); live needs a broker connection"},
    {NULL, 0, 0, 0, NULL},
};

const struct api_field h_orders_modify_body[] = {
    {"qty", API_FT_INT, 0, 0, "new total quantity (filled included)"},
    {"price", API_FT_DECIMAL, 0, 0, "new limit price"},
    {"trigger_price", API_FT_DECIMAL, 0, 0, "new trigger price"},
    {NULL, 0, 0, 0, NULL},
};

const struct api_field h_funds_set_body[] = {
    {"initial_capital", API_FT_DECIMAL, 1, 0, "paper starting capital in rupees (before the first order)"},
    {NULL, 0, 0, 0, NULL},
};

const struct api_field h_kill_switch_body[] = {
    {"state", API_FT_STRING, 1, 16, "ACTIVE, REDUCING (exits only) or HALTED (no orders; cancels working ones)"},
    {"reason", API_FT_STRING, 0, 200, "why, for the audit log"},
    {NULL, 0, 0, 0, NULL},
};

/* ---- helpers ----------------------------------------------------------------------------------- */

static int64_t account_param(struct api_request *req) { return hutil_parse_id(api_param(req, "id")); }

struct api_trading *h_orders_need_trading(struct api_response *res)
{
    struct api_trading *t = api_trading_current();
    if (!t)
        api_error(res, 503, "trading_unavailable", NULL,
                  "this server runs without market data, so without paper trading (atp serve --feed none)");
    return t;
}

/* The answer for a failed trading or store call. */
static void fail(struct api_response *res, int rc, const struct atp_err *err)
{
    const char *field = err->field[0] ? err->field : NULL;
    switch (rc) {
    case ATP_EINVAL: api_error(res, 422, "invalid_field", field, "%s", err->msg); break;
    case ATP_ERANGE: api_error(res, 422, "risk_denied", field, "%s", err->msg); break;
    /* Exactly the policy's answer for a hidden resource: an id must not tell "exists elsewhere". */
    case ATP_ENOTFOUND: api_error(res, 404, "not_found", NULL, "no such resource"); break;
    case ATP_ESTATE: api_error(res, 409, "conflict", field, "%s", err->msg); break;
    case ATP_EEXIST: api_error(res, 409, "conflict", field, "%s", err->msg); break;
    default: api_error(res, 503, "store_error", NULL, "the order could not be recorded; nothing was done"); break;
    }
}

/* An optional money field: absent or null -> 0 (*present 0). A JSON integer, a real (at most 4
 * decimals kept exactly) or a decimal string. 0, or -1 with a 422 naming the field. */
int h_orders_decimal(json_t *body, const char *name, px_t *out, int *present, struct api_response *res)
{
    json_t *v = json_object_get(body, name);
    *out = 0;
    if (present)
        *present = v && !json_is_null(v);
    if (!v || json_is_null(v))
        return 0;
    char text[64];
    size_t len;
    if (json_is_integer(v)) {
        len = (size_t)snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        len = (size_t)snprintf(text, sizeof text, "%.4f", json_real_value(v));
    } else {
        len = json_string_length(v);
        if (len >= sizeof text)
            len = sizeof text; /* too long for any price: px_parse refuses it */
        memcpy(text, json_string_value(v), len < sizeof text ? len : sizeof text - 1);
        text[len < sizeof text ? len : sizeof text - 1] = 0;
    }
    struct atp_err e;
    if (len >= sizeof text || px_parse(text, len, out, &e) != ATP_OK || *out < 0) {
        api_error(res, 422, "invalid_field", name, "%s must be a non-negative amount in rupees with at most 4 "
                  "decimals, e.g. \"2500.05\"", name);
        return -1;
    }
    return 0;
}

static int enum_field(json_t *body, const char *name, const char *dflt, int (*parse)(const char *, void *),
                      void *out, const char *allowed, struct api_response *res)
{
    json_t *v = json_object_get(body, name);
    const char *text = v && json_is_string(v) ? json_string_value(v) : dflt;
    if (parse(text, out) != ATP_OK) {
        api_error(res, 422, "invalid_field", name, "%s must be one of %s", name, allowed);
        return -1;
    }
    return 0;
}

static int p_side(const char *t, void *o) { return order_side_parse(t, o); }
static int p_type(const char *t, void *o) { return order_type_parse(t, o); }
static int p_product(const char *t, void *o) { return order_product_parse(t, o); }
static int p_validity(const char *t, void *o) { return order_validity_parse(t, o); }

/* The Idempotency-Key header into key ("" when absent). 0, or -1 with a 422. */
int h_orders_idem_key(struct api_request *req, char key[ORDER_CLIENT_KEY_MAX], struct api_response *res)
{
    key[0] = 0;
    if (!req->idempotency_key || !req->idempotency_key_len)
        return 0;
    const char *k = req->idempotency_key;
    size_t n = strlen(k);
    int ok = req->idempotency_key_len < ORDER_CLIENT_KEY_MAX && n == (size_t)req->idempotency_key_len && n > 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = k[i] > 0x20 && k[i] < 0x7f;
    if (!ok) {
        api_error(res, 422, "invalid_header", "Idempotency-Key",
                  "Idempotency-Key must be 1 to %d printable ASCII characters without spaces",
                  ORDER_CLIENT_KEY_MAX - 1);
        return -1;
    }
    memcpy(key, k, n + 1);
    return 0;
}

static void send_order(struct api_response *res, int status, const struct store_order *o,
                       const struct store_order_hist *h, uint32_t n)
{
    struct jbuf b = {0};
    api_trading_order_json(&b, o, h, n);
    jbuf_send(&b, res, status);
}

static void audit(struct api_request *req, int64_t account_id, const char *action, const char *result,
                  json_t *details)
{
    struct hutil_actor who = hutil_actor_of(req);
    hutil_audit(req->store, &who, account_id, action, req->path, result, details);
}

int h_orders_paper_mode(json_t *body, struct api_response *res)
{
    const char *mode = json_string_value(json_object_get(body, "mode"));
    if (!mode || strcasecmp(mode, "paper") == 0)
        return 1;
    if (strcasecmp(mode, "live") == 0)
        api_error(res, 409, "live_unavailable", "mode",
                  "live trading needs a broker connection, which this server does not have yet");
    else
        api_error(res, 422, "invalid_field", "mode", "mode must be paper or live");
    return 0;
}

/* ---- orders ------------------------------------------------------------------------------------- */

void h_orders_place(struct api_request *req, struct api_response *res)
{
    struct api_trading *t = h_orders_need_trading(res);
    if (!t || !hutil_have_store(req, res))
        return;
    int64_t account_id = account_param(req);
    json_t *body = req->json;
    if (!h_orders_paper_mode(body, res))
        return;
    struct api_trading_place p = {.account_id = account_id};
    const char *symbol = json_string_value(json_object_get(body, "symbol"));
    const struct instrument *in = instreg_find(api_market_registry(api_market_current()), symbol);
    if (!in) {
        api_error(res, 422, "invalid_field", "symbol", "unknown symbol");
        return;
    }
    p.instrument_id = in->id;
    int has_price, has_trigger;
    if (enum_field(body, "side", NULL, p_side, &p.side, "BUY, SELL", res) ||
        enum_field(body, "type", "MARKET", p_type, &p.type, "MARKET, LIMIT, SL, SL-M", res) ||
        enum_field(body, "product", "CNC", p_product, &p.product, "CNC, MIS, NRML", res) ||
        enum_field(body, "validity", "DAY", p_validity, &p.validity, "DAY, IOC", res) ||
        h_orders_decimal(body, "price", &p.price, &has_price, res) ||
        h_orders_decimal(body, "trigger_price", &p.trigger_price, &has_trigger, res) || h_orders_idem_key(req, p.client_key, res))
        return;
    p.qty = json_integer_value(json_object_get(body, "qty"));
    struct store_order o;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = api_trading_place(t, &p, &o, &err);
    if (rc == 1) { /* the same key again: the first order, never a second one */
        send_order(res, 200, &o, NULL, 0);
        return;
    }
    if (rc != ATP_OK) {
        if (rc == ATP_ERANGE)
            audit(req, account_id, "order.place", "denied",
                  json_pack("{s:s, s:s}", "symbol", in->symbol, "reason", err.msg));
        fail(res, rc, &err);
        return;
    }
    audit(req, account_id, "order.place", "ok",
          json_pack("{s:I, s:s, s:s, s:I, s:s}", "order_id", (json_int_t)o.id, "symbol", o.symbol, "side",
                    o.side, "qty", (json_int_t)o.qty, "type", o.type));
    send_order(res, 201, &o, NULL, 0);
}

void h_orders_list(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    struct store_page page;
    if (hutil_page(req, res, HUTIL_PAGE_DEFAULT, &page))
        return;
    struct store_order_filter f = {.account_id = account_param(req)};
    char state[STORE_ENUM_MAX];
    if (api_query_get(req->query, "state", state, sizeof state) == ATP_OK && state[0]) {
        enum order_state s;
        if (strcasecmp(state, "working") == 0)
            snprintf(f.state, sizeof f.state, "WORKING");
        else if (order_state_parse(state, &s) == ATP_OK)
            snprintf(f.state, sizeof f.state, "%s", order_state_name(s));
        else {
            api_error(res, 422, "invalid_query", "state", "state must be WORKING or an order state (OPEN, FILLED, ...)");
            return;
        }
    }
    struct store_order *rows = atp_calloc(page.limit, sizeof *rows);
    struct store_page_out out;
    struct atp_err err;
    if (!rows) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    int rc = store_order_list(req->store, &f, &page, rows, &out, &err);
    if (rc != ATP_OK) {
        atp_free(rows);
        fail(res, rc, &err);
        return;
    }
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"items\":[");
    for (uint32_t i = 0; i < out.count; i++) {
        if (i)
            jbuf_printf(&b, ",");
        api_trading_order_json(&b, &rows[i], NULL, 0);
    }
    jbuf_printf(&b, "]");
    if (out.next_cursor)
        jbuf_printf(&b, ",\"next_cursor\":%lld", (long long)out.next_cursor);
    jbuf_printf(&b, "}");
    atp_free(rows);
    jbuf_send(&b, res, 200);
}

void h_orders_get(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    int64_t account_id = account_param(req), order_id = hutil_parse_id(api_param(req, "order_id"));
    struct store_order o;
    static _Thread_local struct store_order_hist hist[HIST_MAX];
    uint32_t n = 0;
    struct atp_err err;
    int rc = order_id ? store_order_get(req->store, account_id, order_id, &o, &err) : ATP_ENOTFOUND;
    if (rc == ATP_OK)
        rc = store_order_history(req->store, account_id, order_id, hist, HIST_MAX, &n, &err);
    if (rc == ATP_ENOTFOUND) {
        api_error(res, 404, "not_found", NULL, "no such resource");
        return;
    }
    if (rc != ATP_OK) {
        fail(res, rc, &err);
        return;
    }
    send_order(res, 200, &o, hist, n);
}

static void change(struct api_request *req, struct api_response *res, int modify)
{
    struct api_trading *t = h_orders_need_trading(res);
    if (!t || !hutil_have_store(req, res))
        return;
    int64_t account_id = account_param(req), order_id = hutil_parse_id(api_param(req, "order_id"));
    if (!order_id) {
        api_error(res, 404, "not_found", NULL, "no such resource");
        return;
    }
    struct store_order o;
    struct atp_err err;
    atp_err_clear(&err);
    int rc;
    if (modify) {
        /* Absent fields keep their current value. */
        if ((rc = store_order_get(req->store, account_id, order_id, &o, &err)) != ATP_OK) {
            fail(res, rc, &err);
            return;
        }
        px_t price = o.price_px, trigger = o.trigger_px;
        int has;
        px_t v;
        json_t *q = json_object_get(req->json, "qty");
        if (h_orders_decimal(req->json, "price", &v, &has, res))
            return;
        if (has)
            price = v;
        if (h_orders_decimal(req->json, "trigger_price", &v, &has, res))
            return;
        if (has)
            trigger = v;
        int64_t qty = q ? json_integer_value(q) : o.qty;
        rc = api_trading_modify(t, account_id, order_id, qty, price, trigger, &o, &err);
    } else {
        rc = api_trading_cancel(t, account_id, order_id, &o, &err);
    }
    const char *action = modify ? "order.modify" : "order.cancel";
    if (rc != ATP_OK) {
        if (rc == ATP_ERANGE || rc == ATP_ESTATE)
            audit(req, account_id, action, "denied", json_pack("{s:I, s:s}", "order_id", (json_int_t)order_id,
                                                               "reason", err.msg));
        if (rc == ATP_ENOTFOUND)
            snprintf(err.msg, sizeof err.msg, "no such order in this account");
        fail(res, rc, &err);
        return;
    }
    audit(req, account_id, action, "ok",
          json_pack("{s:I, s:I, s:s}", "order_id", (json_int_t)order_id, "qty", (json_int_t)o.qty, "state", o.state));
    send_order(res, 200, &o, NULL, 0);
}

void h_orders_modify(struct api_request *req, struct api_response *res) { change(req, res, 1); }
void h_orders_cancel(struct api_request *req, struct api_response *res) { change(req, res, 0); }

void h_trades_list(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    struct store_page page;
    if (hutil_page(req, res, HUTIL_PAGE_DEFAULT, &page))
        return;
    struct store_fill *rows = atp_calloc(page.limit, sizeof *rows);
    if (!rows) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    struct store_page_out out;
    struct atp_err err;
    int rc = store_fill_list(req->store, account_param(req), &page, rows, &out, &err);
    if (rc != ATP_OK) {
        atp_free(rows);
        fail(res, rc, &err);
        return;
    }
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"items\":[");
    for (uint32_t i = 0; i < out.count; i++) {
        if (i)
            jbuf_printf(&b, ",");
        api_trading_fill_json(&b, &rows[i]);
    }
    jbuf_printf(&b, "]");
    if (out.next_cursor)
        jbuf_printf(&b, ",\"next_cursor\":%lld", (long long)out.next_cursor);
    jbuf_printf(&b, "}");
    atp_free(rows);
    jbuf_send(&b, res, 200);
}

/* ---- positions and funds ------------------------------------------------------------------------- */

#define POSITIONS_MAX 1000

void h_positions_list(struct api_request *req, struct api_response *res)
{
    struct api_trading *t = h_orders_need_trading(res);
    if (!t)
        return;
    int64_t account_id = account_param(req);
    struct api_trading_position *pos = atp_calloc(POSITIONS_MAX, sizeof *pos);
    if (!pos) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    uint32_t n = 0;
    struct atp_err err;
    int rc = api_trading_positions(t, account_id, pos, POSITIONS_MAX, &n, &err);
    if (rc != ATP_OK) {
        atp_free(pos);
        fail(res, rc, &err);
        return;
    }
    const struct instreg *reg = api_market_registry(api_market_current());
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"items\":[");
    for (uint32_t i = 0; i < n; i++) {
        const struct instrument *in = instreg_get(reg, pos[i].instrument_id);
        if (i)
            jbuf_printf(&b, ",");
        api_trading_position_json(&b, account_id, in ? in->symbol : "?", &pos[i]);
    }
    jbuf_printf(&b, "]}");
    atp_free(pos);
    jbuf_send(&b, res, 200);
}

void h_positions_close(struct api_request *req, struct api_response *res)
{
    struct api_trading *t = h_orders_need_trading(res);
    if (!t || !hutil_have_store(req, res))
        return;
    int64_t account_id = account_param(req);
    const struct instrument *in = instreg_find(api_market_registry(api_market_current()), api_param(req, "symbol"));
    if (!in) {
        api_error(res, 404, "not_found", NULL, "no such resource");
        return;
    }
    char key[ORDER_CLIENT_KEY_MAX];
    if (h_orders_idem_key(req, key, res))
        return;
    struct store_order o;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = api_trading_close_position(t, account_id, in->id, key, &o, &err);
    if (rc == 1) {
        send_order(res, 200, &o, NULL, 0);
        return;
    }
    if (rc != ATP_OK) {
        fail(res, rc, &err);
        return;
    }
    audit(req, account_id, "position.close", "ok",
          json_pack("{s:I, s:s, s:I}", "order_id", (json_int_t)o.id, "symbol", o.symbol, "qty", (json_int_t)o.qty));
    send_order(res, 201, &o, NULL, 0);
}

static void send_funds(struct api_response *res, int64_t account_id, const struct api_trading_funds *f)
{
    struct jbuf b = {0};
    api_trading_funds_json(&b, account_id, f);
    jbuf_send(&b, res, 200);
}

void h_funds_get(struct api_request *req, struct api_response *res)
{
    struct api_trading *t = h_orders_need_trading(res);
    if (!t)
        return;
    int64_t account_id = account_param(req);
    struct api_trading_funds f;
    struct atp_err err;
    int rc = api_trading_funds(t, account_id, &f, &err);
    if (rc != ATP_OK) {
        fail(res, rc, &err);
        return;
    }
    send_funds(res, account_id, &f);
}

void h_funds_set(struct api_request *req, struct api_response *res)
{
    struct api_trading *t = h_orders_need_trading(res);
    if (!t || !hutil_have_store(req, res))
        return;
    int64_t account_id = account_param(req);
    px_t capital;
    int has;
    if (h_orders_decimal(req->json, "initial_capital", &capital, &has, res))
        return;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = api_trading_set_capital(t, account_id, capital, &err);
    if (rc != ATP_OK) {
        fail(res, rc, &err);
        return;
    }
    char text[PX_STR_MAX];
    px_format(capital, text, sizeof text);
    audit(req, account_id, "funds.set", "ok", json_pack("{s:s}", "initial_capital", text));
    h_funds_get(req, res);
}

/* ---- kill switch ----------------------------------------------------------------------------------- */

static void send_kill(struct api_response *res, const struct store_kill_switch *k, enum risk_state effective,
                      int cancelled)
{
    char iso[HUTIL_ISO_MAX];
    struct jbuf b = {0};
    if (k->account_id)
        jbuf_printf(&b, "{\"scope\":\"account\",\"account_id\":%lld", (long long)k->account_id);
    else
        jbuf_printf(&b, "{\"scope\":\"global\",\"account_id\":null");
    jbuf_printf(&b, ",\"state\":\"%s\",\"effective_state\":\"%s\",\"reason\":", k->state, risk_state_name(effective));
    jbuf_str(&b, k->reason);
    jbuf_printf(&b, ",\"set_by\":");
    if (k->set_by)
        jbuf_printf(&b, "%lld", (long long)k->set_by);
    else
        jbuf_printf(&b, "null");
    jbuf_printf(&b, ",\"updated\":\"%s\",\"updated_ns\":%lld", hutil_iso8601(k->updated_ns, iso),
                (long long)k->updated_ns);
    if (cancelled >= 0)
        jbuf_printf(&b, ",\"cancelled_orders\":%d", cancelled);
    jbuf_printf(&b, "}");
    jbuf_send(&b, res, 200);
}

static void kill_get(struct api_request *req, struct api_response *res, int64_t account_id, int cancelled)
{
    struct api_trading *t = h_orders_need_trading(res);
    if (!t)
        return;
    struct store_kill_switch k;
    enum risk_state eff = RISK_STATE_ACTIVE;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = api_trading_kill_switch_get(t, account_id, &k, &eff, &err);
    if (rc != ATP_OK) {
        fail(res, rc, &err);
        return;
    }
    (void)req;
    send_kill(res, &k, eff, cancelled);
}

static void kill_set(struct api_request *req, struct api_response *res, int64_t account_id)
{
    struct api_trading *t = h_orders_need_trading(res);
    if (!t || !hutil_have_store(req, res))
        return;
    enum risk_state state;
    if (risk_state_parse(json_string_value(json_object_get(req->json, "state")), &state) != ATP_OK) {
        api_error(res, 422, "invalid_field", "state", "state must be ACTIVE, REDUCING or HALTED");
        return;
    }
    const char *reason = json_string_value(json_object_get(req->json, "reason"));
    int cancelled = 0;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = api_trading_kill_switch_set(t, account_id, state, req->user_id, reason, &cancelled, &err);
    if (rc != ATP_OK) {
        fail(res, rc, &err);
        return;
    }
    audit(req, account_id, account_id ? "kill_switch.account" : "kill_switch.global", "ok",
          json_pack("{s:s, s:s, s:i}", "state", risk_state_name(state), "reason", reason ? reason : "",
                    "cancelled_orders", cancelled));
    kill_get(req, res, account_id, cancelled);
}

void h_kill_switch_get(struct api_request *req, struct api_response *res) { kill_get(req, res, account_param(req), -1); }
void h_kill_switch_set(struct api_request *req, struct api_response *res) { kill_set(req, res, account_param(req)); }
void h_admin_kill_switch_get(struct api_request *req, struct api_response *res) { kill_get(req, res, 0, -1); }
void h_admin_kill_switch_set(struct api_request *req, struct api_response *res) { kill_set(req, res, 0); }
