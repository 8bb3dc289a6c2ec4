/* model/order: plain value types for orders: the request a strategy or the API makes, the order
 * the OMS keeps, and a fill. Enum names and parsers, validation that needs no market data, and the
 * exact fill accounting the state machine (oms/order_sm) uses. Nothing here allocates or knows any
 * other module beyond core; rules that need an instrument (tick size, lot size, price band) and
 * rules that need an account (margin, limits) live in risk/ and oms/.
 *
 * Money is exact (DESIGN principle 4): prices are px_t; the filled notional is kept as an exact
 * px_t sum and the average price is derived from it (see order_avg_price). */
#ifndef ATP_MODEL_ORDER_H
#define ATP_MODEL_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/px.h"
#include "core/ts.h"

enum order_side { ORDER_SIDE_BUY = 0, ORDER_SIDE_SELL, ORDER_SIDE_COUNT };

/* Semantics as on NSE (../shared/reference/india-market.md §2): LIMIT rests at limit_price;
 * MARKET takes liquidity; SL becomes a LIMIT at limit_price once the LTP crosses trigger_price;
 * SL-M becomes a MARKET order at the trigger. */
enum order_type {
    ORDER_TYPE_MARKET = 0,
    ORDER_TYPE_LIMIT,
    ORDER_TYPE_SL,
    ORDER_TYPE_SL_M, /* printed "SL-M" */
    ORDER_TYPE_COUNT
};

/* MIS intraday (squared off by the broker), CNC delivery (cash equity), NRML carry-forward F&O. */
enum order_product { ORDER_PRODUCT_MIS = 0, ORDER_PRODUCT_CNC, ORDER_PRODUCT_NRML, ORDER_PRODUCT_COUNT };

/* DAY: rests until filled or the session ends. IOC: whatever does not fill at once is cancelled. */
enum order_validity { ORDER_VALIDITY_DAY = 0, ORDER_VALIDITY_IOC, ORDER_VALIDITY_COUNT };

/* Paper and live never mix (DESIGN principle 5): every order, fill and position carries its mode. */
enum trade_mode { TRADE_MODE_PAPER = 0, TRADE_MODE_LIVE, TRADE_MODE_COUNT };

/* The life of an order; oms/order_sm.h holds the transitions between these (docs/orders.md). */
enum order_state {
    ORDER_STATE_NEW = 0,          /* created and validated, not yet handed to the send path */
    ORDER_STATE_PENDING_SUBMIT,   /* persisted with its tag, handed to the broker, no answer yet */
    ORDER_STATE_OPEN,             /* working at the exchange, nothing filled */
    ORDER_STATE_TRIGGER_PENDING,  /* SL / SL-M waiting for its trigger */
    ORDER_STATE_PARTIALLY_FILLED, /* 0 < qty_filled < qty, the rest still working */
    ORDER_STATE_FILLED,           /* terminal: qty_filled == qty */
    ORDER_STATE_CANCELLED,        /* terminal: cancelled; any fills before the cancel are kept */
    ORDER_STATE_REJECTED,         /* terminal: refused by broker, exchange or adapter; no fills */
    ORDER_STATE_EXPIRED,          /* terminal: end of day, or the unfilled rest of an IOC */
    ORDER_STATE_COUNT
};

/* Names ("BUY", "SL-M", "NRML", "IOC", "PAPER", "PARTIALLY_FILLED") and ASCII case-insensitive
 * parsers. A parser returns ATP_OK, or ATP_EINVAL (and *out untouched) for NULL or unknown text.
 * order_type_parse also takes "SL_M" (the enum's spelling) for "SL-M". A name function given an
 * out-of-range value returns "?". */
const char *order_side_name(enum order_side side);
int order_side_parse(const char *text, enum order_side *out);
const char *order_type_name(enum order_type type);
int order_type_parse(const char *text, enum order_type *out);
const char *order_product_name(enum order_product product);
int order_product_parse(const char *text, enum order_product *out);
const char *order_validity_name(enum order_validity validity);
int order_validity_parse(const char *text, enum order_validity *out);
const char *trade_mode_name(enum trade_mode mode);
int trade_mode_parse(const char *text, enum trade_mode *out);
const char *order_state_name(enum order_state state);
int order_state_parse(const char *text, enum order_state *out);

/* 1 for FILLED, CANCELLED, REJECTED, EXPIRED (no event moves an order out of them), else 0. */
int order_state_is_terminal(enum order_state state);

#define ORDER_TAG_MAX 20          /* broker tag fields: Kite and Angel reject longer tags */
#define ORDER_CLIENT_KEY_MAX 64   /* incl. NUL: at most 63 characters */
#define ORDER_BROKER_ID_MAX 64    /* incl. NUL: Kite ids are 18 digits, Angel's unique ids 36 */
#define ORDER_REASON_MAX 256      /* incl. NUL: reject/cancel/expire reason, truncated to fit */
#define ORDER_HISTORY_LEN 8       /* state changes kept; more than any order's life (docs) */
#define FILL_ID_MAX 48            /* incl. NUL */

/* What a strategy or an API caller asks for. A value type; validate with order_request_validate. */
struct order_request {
    uint64_t account_id;       /* trading account, > 0 */
    uint64_t strategy_id;      /* strategy instance; 0 for a manual (API) order */
    enum trade_mode mode;
    uint32_t instrument_id;    /* id in the instrument registry */
    enum order_side side;
    enum order_type type;
    enum order_product product;
    enum order_validity validity;
    int64_t qty;               /* units (shares; for F&O contracts x lot size), > 0 */
    px_t limit_price;          /* LIMIT and SL: > 0; MARKET and SL-M: 0 */
    px_t trigger_price;        /* SL and SL-M: > 0; MARKET and LIMIT: 0 */
    char client_key[ORDER_CLIENT_KEY_MAX]; /* optional idempotency key from the caller, "" = none;
                                              printable ASCII without spaces */
};

/* Checks a request on its own, without market data. Rules (docs/orders.md):
 *   account_id > 0; mode, side, type, product, validity in range; qty > 0;
 *   MARKET: limit_price == 0, trigger_price == 0;
 *   LIMIT:  limit_price > 0, trigger_price == 0;
 *   SL:     limit_price > 0, trigger_price > 0, BUY trigger <= limit, SELL trigger >= limit;
 *   SL-M:   trigger_price > 0, limit_price == 0;
 *   IOC only with MARKET and LIMIT (an ATP rule, see docs/orders.md for why);
 *   qty x the larger price fits in px_t; client_key NUL-terminated, printable, no spaces.
 * Returns ATP_OK or ATP_EINVAL with err->field naming the field at fault ("qty", "limit_price",
 * "trigger_price", "validity", ...). err may be NULL. Any thread. */
int order_request_validate(const struct order_request *req, struct atp_err *err);

/* One retained state change. */
struct order_hist {
    enum order_state state;
    ts_ns ts;
};

/* An order as the OMS keeps it. req holds the current terms: a confirmed MODIFY updates req.qty,
 * req.limit_price and req.trigger_price. Fields other than through order_init and the state
 * machine are for the OMS and the store to fill (e.g. when loading). Invariants (checked by
 * order_is_consistent): 0 <= qty_filled <= req.qty; filled_notional is the exact sum of fill
 * qty x price; avg_fill_price == order_avg_price(filled_notional, qty_filled); PARTIALLY_FILLED
 * means 0 < qty_filled < qty, FILLED means qty_filled == qty, NEW/PENDING_SUBMIT/OPEN/
 * TRIGGER_PENDING/REJECTED mean qty_filled == 0. */
struct order {
    struct order_request req;
    uint64_t id;                 /* ATP's order id, > 0, unique in a store */
    char tag[ORDER_TAG_MAX + 1]; /* unique tag sent to the broker (oms/tag), [A-Za-z0-9]{1,20} */
    enum order_state state;
    int64_t qty_filled;          /* sum of fill quantities */
    px_t filled_notional;        /* exact sum of fill qty x fill price: use this for money */
    px_t avg_fill_price;         /* filled_notional / qty_filled rounded half away from zero to
                                    0.0001 rupee; 0 when nothing filled. For display and reports */
    uint32_t fill_count;         /* fills applied */
    uint32_t modify_count;       /* confirmed modifications (Kite allows 25 per order) */
    char broker_order_id[ORDER_BROKER_ID_MAX]; /* the broker's id, "" until known */
    char reason[ORDER_REASON_MAX]; /* why it was rejected, cancelled or expired, else "" */
    ts_ns created_ts;
    ts_ns updated_ts;            /* time of the last applied event */
    struct order_hist history[ORDER_HISTORY_LEN]; /* ring of state changes, see order_history_at */
    uint32_t history_count;      /* state changes ever recorded (the ring keeps the last LEN) */
};

/* 1 when tag is a valid order tag: 1..ORDER_TAG_MAX characters from [A-Za-z0-9]. */
int order_tag_valid(const char *tag);

/* Initialises *o as a NEW order from a copy of *req, with the given id (> 0) and tag, created and
 * updated at now, history [NEW @ now]. Returns ATP_OK, or ATP_EINVAL (err names "id", "tag" or
 * the request's field) leaving *o untouched. */
int order_init(struct order *o, const struct order_request *req, uint64_t id, const char *tag,
               ts_ns now, struct atp_err *err);

/* Records a state change in the history ring (the state machine calls this). */
void order_history_push(struct order *o, enum order_state state, ts_ns ts);

/* Number of history entries retained (min(history_count, ORDER_HISTORY_LEN)) and the i-th of
 * them, oldest first (i < retained); NULL when i is out of range. */
uint32_t order_history_len(const struct order *o);
const struct order_hist *order_history_at(const struct order *o, uint32_t i);

/* Quantity still to fill: req.qty - qty_filled. */
int64_t order_qty_remaining(const struct order *o);

/* notional / qty rounded half away from zero to 1/10000 rupee; 0 when qty <= 0. Not to the
 * instrument's tick: the average of tick-aligned fills is generally not on the tick, and the
 * tick is market data the model does not hold. */
px_t order_avg_price(px_t notional, int64_t qty);

/* Stores reason into o->reason (NULL means ""), truncated to fit at a UTF-8 character boundary. */
void order_set_reason(struct order *o, const char *reason);

/* 1 when the invariants listed above struct order hold. For asserts and for orders loaded from a
 * store. */
int order_is_consistent(const struct order *o);

/* One execution. fill_id is the venue's trade id (the paper broker makes its own); with order_id
 * it is the key the OMS uses to drop a report it has already applied. */
struct fill {
    uint64_t order_id;           /* ATP's order id */
    char fill_id[FILL_ID_MAX];   /* venue's trade id, non-empty */
    uint64_t account_id;         /* tenancy: every trading row carries its account */
    uint32_t instrument_id;
    enum order_side side;
    int64_t qty;                 /* > 0 */
    px_t price;                  /* > 0 */
    ts_ns ts;                    /* exchange time of the trade */
    enum trade_mode mode;
};

/* Checks a fill report at the edge: order_id > 0, fill_id non-empty and NUL-terminated, side and
 * mode in range, qty > 0, price > 0, qty x price fits in px_t. ATP_OK or ATP_EINVAL with
 * err->field set. */
int fill_validate(const struct fill *f, struct atp_err *err);

#endif
