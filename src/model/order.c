/* model/order: enum names, request and fill validation, the order's value helpers. */
#include "model/order.h"

#include "core/names.h"

#include <string.h>
#include <strings.h>

static const char *const side_names[ORDER_SIDE_COUNT] = {"BUY", "SELL"};
static const char *const type_names[ORDER_TYPE_COUNT] = {"MARKET", "LIMIT", "SL", "SL-M"};
static const char *const product_names[ORDER_PRODUCT_COUNT] = {"MIS", "CNC", "NRML"};
static const char *const validity_names[ORDER_VALIDITY_COUNT] = {"DAY", "IOC"};
static const char *const mode_names[TRADE_MODE_COUNT] = {"PAPER", "LIVE"};
static const char *const state_names[ORDER_STATE_COUNT] = {
    [ORDER_STATE_NEW] = "NEW",
    [ORDER_STATE_PENDING_SUBMIT] = "PENDING_SUBMIT",
    [ORDER_STATE_OPEN] = "OPEN",
    [ORDER_STATE_TRIGGER_PENDING] = "TRIGGER_PENDING",
    [ORDER_STATE_PARTIALLY_FILLED] = "PARTIALLY_FILLED",
    [ORDER_STATE_FILLED] = "FILLED",
    [ORDER_STATE_CANCELLED] = "CANCELLED",
    [ORDER_STATE_REJECTED] = "REJECTED",
    [ORDER_STATE_EXPIRED] = "EXPIRED",
};

/* Index of text in names[0..count), or -1. */
const char *order_side_name(enum order_side side)
{
    return (unsigned)side < ORDER_SIDE_COUNT ? side_names[side] : "?";
}

int order_side_parse(const char *text, enum order_side *out)
{
    int i = names_index(side_names, ORDER_SIDE_COUNT, text);
    if (i < 0)
        return ATP_EINVAL;
    *out = (enum order_side)i;
    return ATP_OK;
}

const char *order_type_name(enum order_type type)
{
    return (unsigned)type < ORDER_TYPE_COUNT ? type_names[type] : "?";
}

int order_type_parse(const char *text, enum order_type *out)
{
    int i = names_index(type_names, ORDER_TYPE_COUNT, text);
    if (i < 0 && text && strcasecmp(text, "SL_M") == 0)
        i = ORDER_TYPE_SL_M;
    if (i < 0)
        return ATP_EINVAL;
    *out = (enum order_type)i;
    return ATP_OK;
}

const char *order_product_name(enum order_product product)
{
    return (unsigned)product < ORDER_PRODUCT_COUNT ? product_names[product] : "?";
}

int order_product_parse(const char *text, enum order_product *out)
{
    int i = names_index(product_names, ORDER_PRODUCT_COUNT, text);
    if (i < 0)
        return ATP_EINVAL;
    *out = (enum order_product)i;
    return ATP_OK;
}

const char *order_validity_name(enum order_validity validity)
{
    return (unsigned)validity < ORDER_VALIDITY_COUNT ? validity_names[validity] : "?";
}

int order_validity_parse(const char *text, enum order_validity *out)
{
    int i = names_index(validity_names, ORDER_VALIDITY_COUNT, text);
    if (i < 0)
        return ATP_EINVAL;
    *out = (enum order_validity)i;
    return ATP_OK;
}

const char *trade_mode_name(enum trade_mode mode)
{
    return (unsigned)mode < TRADE_MODE_COUNT ? mode_names[mode] : "?";
}

int trade_mode_parse(const char *text, enum trade_mode *out)
{
    int i = names_index(mode_names, TRADE_MODE_COUNT, text);
    if (i < 0)
        return ATP_EINVAL;
    *out = (enum trade_mode)i;
    return ATP_OK;
}

const char *order_state_name(enum order_state state)
{
    return (unsigned)state < ORDER_STATE_COUNT ? state_names[state] : "?";
}

int order_state_parse(const char *text, enum order_state *out)
{
    int i = names_index(state_names, ORDER_STATE_COUNT, text);
    if (i < 0)
        return ATP_EINVAL;
    *out = (enum order_state)i;
    return ATP_OK;
}

int order_state_is_terminal(enum order_state state)
{
    return state == ORDER_STATE_FILLED || state == ORDER_STATE_CANCELLED ||
           state == ORDER_STATE_REJECTED || state == ORDER_STATE_EXPIRED;
}

/* ---- validation ---------------------------------------------------------------------------- */

static int is_alnum_ascii(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int order_tag_valid(const char *tag)
{
    if (!tag || !tag[0])
        return 0;
    size_t n = 0;
    for (; tag[n]; n++)
        if (n >= ORDER_TAG_MAX || !is_alnum_ascii(tag[n]))
            return 0;
    return 1;
}

/* price > 0 where required, == 0 where it must be absent. */
static int check_price(px_t value, int required, const char *field, const char *type,
                       struct atp_err *err)
{
    if (required && value <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "a %s order needs %s > 0", type,
                           field);
    if (!required && value != 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "a %s order takes no %s (must be 0)",
                           type, field);
    return ATP_OK;
}

int order_request_validate(const struct order_request *req, struct atp_err *err)
{
    if (!req)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no order request");
    if (req->account_id == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "account_id", "account id is missing");
    if ((unsigned)req->mode >= TRADE_MODE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode", "mode %d is not PAPER or LIVE",
                           (int)req->mode);
    if ((unsigned)req->side >= ORDER_SIDE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "side", "side %d is not BUY or SELL",
                           (int)req->side);
    if ((unsigned)req->type >= ORDER_TYPE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "type", "order type %d is unknown",
                           (int)req->type);
    if ((unsigned)req->product >= ORDER_PRODUCT_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "product", "product %d is unknown",
                           (int)req->product);
    if ((unsigned)req->validity >= ORDER_VALIDITY_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "validity", "validity %d is unknown",
                           (int)req->validity);
    if (req->qty <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "qty", "qty must be > 0 (got %lld)",
                           (long long)req->qty);

    const char *tname = order_type_name(req->type);
    int need_limit = req->type == ORDER_TYPE_LIMIT || req->type == ORDER_TYPE_SL;
    int need_trigger = req->type == ORDER_TYPE_SL || req->type == ORDER_TYPE_SL_M;
    int rc = check_price(req->limit_price, need_limit, "limit_price", tname, err);
    if (rc == ATP_OK)
        rc = check_price(req->trigger_price, need_trigger, "trigger_price", tname, err);
    if (rc != ATP_OK)
        return rc;

    if (req->type == ORDER_TYPE_SL) {
        char trig[PX_STR_MAX], lim[PX_STR_MAX];
        px_format(req->trigger_price, trig, sizeof trig);
        px_format(req->limit_price, lim, sizeof lim);
        if (req->side == ORDER_SIDE_BUY && req->trigger_price > req->limit_price)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "trigger_price",
                               "a BUY SL order needs trigger_price <= limit_price (%s > %s)",
                               trig, lim);
        if (req->side == ORDER_SIDE_SELL && req->trigger_price < req->limit_price)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "trigger_price",
                               "a SELL SL order needs trigger_price >= limit_price (%s < %s)",
                               trig, lim);
    }
    if (req->validity == ORDER_VALIDITY_IOC && need_trigger)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "validity",
                           "IOC validity is allowed only for MARKET and LIMIT orders, not %s",
                           tname);

    px_t top = req->limit_price > req->trigger_price ? req->limit_price : req->trigger_price;
    px_t notional;
    if (px_mul_qty(top, req->qty, &notional) != ATP_OK)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "qty",
                           "qty %lld times the order's price does not fit in an amount",
                           (long long)req->qty);

    const char *end = memchr(req->client_key, '\0', sizeof req->client_key);
    if (!end)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "client_key",
                           "client key is longer than %d characters", ORDER_CLIENT_KEY_MAX - 1);
    for (const char *p = req->client_key; p < end; p++)
        if (*p <= ' ' || *p > '~')
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "client_key",
                               "client key may hold printable ASCII without spaces only "
                               "(byte %d at offset %d)",
                               (unsigned char)*p, (int)(p - req->client_key));
    return ATP_OK;
}

int fill_validate(const struct fill *f, struct atp_err *err)
{
    if (!f)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no fill");
    if (f->order_id == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "order_id", "fill has no order id");
    if (!memchr(f->fill_id, '\0', sizeof f->fill_id))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "fill_id", "fill id is longer than %d",
                           FILL_ID_MAX - 1);
    if (!f->fill_id[0])
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "fill_id", "fill id is empty");
    if ((unsigned)f->side >= ORDER_SIDE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "side", "side %d is not BUY or SELL",
                           (int)f->side);
    if ((unsigned)f->mode >= TRADE_MODE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode", "mode %d is not PAPER or LIVE",
                           (int)f->mode);
    if (f->qty <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "qty", "fill qty must be > 0 (got %lld)",
                           (long long)f->qty);
    if (f->price <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "price", "fill price must be > 0");
    px_t notional;
    if (px_mul_qty(f->price, f->qty, &notional) != ATP_OK)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "qty",
                           "fill qty x price does not fit in an amount");
    return ATP_OK;
}

/* ---- the order value ----------------------------------------------------------------------- */

int order_init(struct order *o, const struct order_request *req, uint64_t id, const char *tag,
               ts_ns now, struct atp_err *err)
{
    int rc = order_request_validate(req, err);
    if (rc != ATP_OK)
        return rc;
    if (id == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "id", "order id must be > 0");
    if (!order_tag_valid(tag))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "tag",
                           "tag must be 1..%d characters from [A-Za-z0-9]", ORDER_TAG_MAX);
    memset(o, 0, sizeof *o);
    o->req = *req;
    o->id = id;
    memcpy(o->tag, tag, strlen(tag) + 1);
    o->state = ORDER_STATE_NEW;
    o->created_ts = now;
    o->updated_ts = now;
    order_history_push(o, ORDER_STATE_NEW, now);
    return ATP_OK;
}

void order_history_push(struct order *o, enum order_state state, ts_ns ts)
{
    struct order_hist *h = &o->history[o->history_count % ORDER_HISTORY_LEN];
    h->state = state;
    h->ts = ts;
    o->history_count++;
}

uint32_t order_history_len(const struct order *o)
{
    return o->history_count < ORDER_HISTORY_LEN ? o->history_count : ORDER_HISTORY_LEN;
}

const struct order_hist *order_history_at(const struct order *o, uint32_t i)
{
    uint32_t len = order_history_len(o);
    if (i >= len)
        return NULL;
    uint32_t first = o->history_count - len; /* index, in all history, of the oldest kept */
    return &o->history[(first + i) % ORDER_HISTORY_LEN];
}

int64_t order_qty_remaining(const struct order *o)
{
    return o->req.qty - o->qty_filled;
}

px_t order_avg_price(px_t notional, int64_t qty)
{
    if (qty <= 0)
        return 0;
    px_t q = notional / qty, r = notional % qty;
    int neg = r < 0;
    if (neg)
        r = -r;
    /* half away from zero: |r| >= qty - |r| is 2|r| >= qty without overflowing 2|r| */
    if (r >= qty - r)
        q += neg ? -1 : 1;
    return q;
}

void order_set_reason(struct order *o, const char *reason)
{
    size_t n = reason ? strlen(reason) : 0;
    if (n >= sizeof o->reason) {
        n = sizeof o->reason - 1;
        /* do not cut a multi-byte UTF-8 character: back up over continuation bytes (10xxxxxx)
         * to the lead byte, and drop it too */
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(o->reason, reason, n);
    o->reason[n] = '\0';
}

int order_is_consistent(const struct order *o)
{
    if ((unsigned)o->state >= ORDER_STATE_COUNT)
        return 0;
    if (o->req.qty <= 0 || o->qty_filled < 0 || o->qty_filled > o->req.qty)
        return 0;
    if (o->avg_fill_price != order_avg_price(o->filled_notional, o->qty_filled))
        return 0;
    if (o->qty_filled == 0 && (o->filled_notional != 0 || o->fill_count != 0))
        return 0;
    switch (o->state) {
    case ORDER_STATE_NEW:
    case ORDER_STATE_PENDING_SUBMIT:
    case ORDER_STATE_OPEN:
    case ORDER_STATE_TRIGGER_PENDING:
    case ORDER_STATE_REJECTED:
        return o->qty_filled == 0;
    case ORDER_STATE_PARTIALLY_FILLED:
        return o->qty_filled > 0 && o->qty_filled < o->req.qty;
    case ORDER_STATE_FILLED:
        return o->qty_filled == o->req.qty;
    case ORDER_STATE_CANCELLED:
    case ORDER_STATE_EXPIRED:
    case ORDER_STATE_COUNT:
        break;
    }
    return 1;
}
