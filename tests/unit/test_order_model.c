/* Tests of model/order: enum names and parsers (round trips), request validation (a table of
 * requests with the field each must name), fill validation, order_init, the history ring, the
 * average price, reasons and the consistency check. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "model/order.h"

/* ---- enums --------------------------------------------------------------------------------- */

/* Every name parses back to its value, in upper and lower case; unknown text and NULL fail and
 * leave *out alone; out-of-range values print "?". */
#define ROUND_TRIP(name_fn, parse_fn, type, count)                                              \
    do {                                                                                       \
        for (int i_ = 0; i_ < (count); i_++) {                                                 \
            const char *nm_ = name_fn((type)i_);                                               \
            cr_assert_neq(strcmp(nm_, "?"), 0, #name_fn "(%d) has no name", i_);                \
            type out_ = (type)-1;                                                              \
            cr_assert_eq(parse_fn(nm_, &out_), ATP_OK, #parse_fn "(\"%s\")", nm_);              \
            cr_assert_eq((int)out_, i_);                                                       \
            char lower_[32];                                                                   \
            size_t k_ = 0;                                                                     \
            for (; nm_[k_] && k_ < sizeof lower_ - 1; k_++)                                     \
                lower_[k_] = (char)((nm_[k_] >= 'A' && nm_[k_] <= 'Z') ? nm_[k_] + 32 : nm_[k_]); \
            lower_[k_] = '\0';                                                                 \
            out_ = (type)-1;                                                                   \
            cr_assert_eq(parse_fn(lower_, &out_), ATP_OK, #parse_fn "(\"%s\")", lower_);        \
            cr_assert_eq((int)out_, i_);                                                       \
        }                                                                                      \
        type keep_ = (type)0;                                                                  \
        cr_assert_eq(parse_fn("NOPE", &keep_), ATP_EINVAL);                                    \
        cr_assert_eq(parse_fn("", &keep_), ATP_EINVAL);                                        \
        cr_assert_eq(parse_fn(NULL, &keep_), ATP_EINVAL);                                      \
        cr_assert_eq((int)keep_, 0);                                                           \
        cr_assert_str_eq(name_fn((type)(count)), "?");                                         \
        cr_assert_str_eq(name_fn((type)-1), "?");                                              \
    } while (0)

Test(order_enums, round_trips)
{
    ROUND_TRIP(order_side_name, order_side_parse, enum order_side, ORDER_SIDE_COUNT);
    ROUND_TRIP(order_type_name, order_type_parse, enum order_type, ORDER_TYPE_COUNT);
    ROUND_TRIP(order_product_name, order_product_parse, enum order_product, ORDER_PRODUCT_COUNT);
    ROUND_TRIP(order_validity_name, order_validity_parse, enum order_validity,
               ORDER_VALIDITY_COUNT);
    ROUND_TRIP(trade_mode_name, trade_mode_parse, enum trade_mode, TRADE_MODE_COUNT);
    ROUND_TRIP(order_state_name, order_state_parse, enum order_state, ORDER_STATE_COUNT);
}

/* The printed names are the brokers' spellings. */
Test(order_enums, names)
{
    static const char *const want[] = {
        "BUY", "SELL", "MARKET", "LIMIT", "SL", "SL-M", "MIS", "CNC", "NRML", "DAY", "IOC",
        "PAPER", "LIVE", "PENDING_SUBMIT", "TRIGGER_PENDING", "PARTIALLY_FILLED", "EXPIRED",
    };
    const char *got[] = {
        order_side_name(ORDER_SIDE_BUY), order_side_name(ORDER_SIDE_SELL),
        order_type_name(ORDER_TYPE_MARKET), order_type_name(ORDER_TYPE_LIMIT),
        order_type_name(ORDER_TYPE_SL), order_type_name(ORDER_TYPE_SL_M),
        order_product_name(ORDER_PRODUCT_MIS), order_product_name(ORDER_PRODUCT_CNC),
        order_product_name(ORDER_PRODUCT_NRML), order_validity_name(ORDER_VALIDITY_DAY),
        order_validity_name(ORDER_VALIDITY_IOC), trade_mode_name(TRADE_MODE_PAPER),
        trade_mode_name(TRADE_MODE_LIVE), order_state_name(ORDER_STATE_PENDING_SUBMIT),
        order_state_name(ORDER_STATE_TRIGGER_PENDING),
        order_state_name(ORDER_STATE_PARTIALLY_FILLED), order_state_name(ORDER_STATE_EXPIRED),
    };
    cr_assert_eq(sizeof got / sizeof got[0], sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect_str_eq(got[i], want[i]);
}

Test(order_enums, sl_m_aliases)
{
    enum order_type t = ORDER_TYPE_MARKET;
    cr_assert_eq(order_type_parse("sl-m", &t), ATP_OK);
    cr_assert_eq(t, ORDER_TYPE_SL_M);
    t = ORDER_TYPE_MARKET;
    cr_assert_eq(order_type_parse("SL_M", &t), ATP_OK);
    cr_assert_eq(t, ORDER_TYPE_SL_M);
    cr_assert_eq(order_type_parse("SLM", &t), ATP_EINVAL);
    cr_assert_eq(order_type_parse("SL-M ", &t), ATP_EINVAL);
}

Test(order_enums, terminal_states)
{
    static const int terminal[ORDER_STATE_COUNT] = {
        [ORDER_STATE_FILLED] = 1, [ORDER_STATE_CANCELLED] = 1, [ORDER_STATE_REJECTED] = 1,
        [ORDER_STATE_EXPIRED] = 1,
    };
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        cr_expect_eq(order_state_is_terminal((enum order_state)s), terminal[s], "%s",
                     order_state_name((enum order_state)s));
}

/* ---- request validation -------------------------------------------------------------------- */

static struct order_request base_request(void)
{
    struct order_request r;
    memset(&r, 0, sizeof r);
    r.account_id = 7;
    r.strategy_id = 3;
    r.mode = TRADE_MODE_PAPER;
    r.instrument_id = 1;
    r.side = ORDER_SIDE_BUY;
    r.type = ORDER_TYPE_LIMIT;
    r.product = ORDER_PRODUCT_MIS;
    r.validity = ORDER_VALIDITY_DAY;
    r.qty = 10;
    r.limit_price = 1000500; /* 100.05 */
    return r;
}

#define P(r, p) ((px_t)(r) * PX_SCALE + (px_t)(p)) /* P(100, 500) = 100.05 */

struct vcase {
    const char *name;
    int64_t account_id;   /* -1: keep base */
    int mode, side, type, product, validity; /* -1: keep base */
    int64_t qty;          /* -1: keep base */
    px_t limit_price;     /* -1: keep base */
    px_t trigger_price;   /* -1: keep base */
    const char *client_key; /* NULL: keep base */
    int want_rc;
    const char *want_field; /* "" when ok */
};

#define K -1

static const struct vcase vcases[] = {
    /* name                        acct mode side type                 prod valid qty  limit        trigger      key    rc          field */
    {"limit ok",                   K, K, K, ORDER_TYPE_LIMIT,          K, K, K, P(100, 500), 0, NULL, ATP_OK, ""},
    {"limit ioc ok",               K, K, K, ORDER_TYPE_LIMIT,          K, ORDER_VALIDITY_IOC, K, K, 0, NULL, ATP_OK, ""},
    {"market ok",                  K, K, K, ORDER_TYPE_MARKET,         K, K, K, 0, 0, NULL, ATP_OK, ""},
    {"market ioc ok",              K, K, K, ORDER_TYPE_MARKET,         K, ORDER_VALIDITY_IOC, K, 0, 0, NULL, ATP_OK, ""},
    {"sl buy ok",                  K, K, ORDER_SIDE_BUY, ORDER_TYPE_SL, K, K, K, P(101, 0), P(100, 0), NULL, ATP_OK, ""},
    {"sl buy trigger == limit",    K, K, ORDER_SIDE_BUY, ORDER_TYPE_SL, K, K, K, P(100, 0), P(100, 0), NULL, ATP_OK, ""},
    {"sl sell ok",                 K, K, ORDER_SIDE_SELL, ORDER_TYPE_SL, K, K, K, P(99, 0), P(100, 0), NULL, ATP_OK, ""},
    {"sl sell trigger == limit",   K, K, ORDER_SIDE_SELL, ORDER_TYPE_SL, K, K, K, P(99, 0), P(99, 0), NULL, ATP_OK, ""},
    {"sl-m ok",                    K, K, K, ORDER_TYPE_SL_M,           K, K, K, 0, P(100, 0), NULL, ATP_OK, ""},
    {"cnc live ok",                K, TRADE_MODE_LIVE, K, K, ORDER_PRODUCT_CNC, K, K, K, K, NULL, ATP_OK, ""},
    {"nrml sell ok",               K, K, ORDER_SIDE_SELL, K, ORDER_PRODUCT_NRML, K, 75, K, K, NULL, ATP_OK, ""},
    {"client key ok",              K, K, K, K, K, K, K, K, K, "strat-7:sig/42", ATP_OK, ""},

    {"no account",                 0, K, K, K, K, K, K, K, K, NULL, ATP_EINVAL, "account_id"},
    {"bad mode",                   K, 2, K, K, K, K, K, K, K, NULL, ATP_EINVAL, "mode"},
    {"bad side",                   K, K, 9, K, K, K, K, K, K, NULL, ATP_EINVAL, "side"},
    {"bad type",                   K, K, K, 4, K, K, K, K, K, NULL, ATP_EINVAL, "type"},
    {"bad product",                K, K, K, K, 3, K, K, K, K, NULL, ATP_EINVAL, "product"},
    {"bad validity",               K, K, K, K, K, 2, K, K, K, NULL, ATP_EINVAL, "validity"},
    {"qty zero",                   K, K, K, K, K, K, 0, K, K, NULL, ATP_EINVAL, "qty"},
    {"qty negative",               K, K, K, K, K, K, -5, K, K, NULL, ATP_EINVAL, "qty"},
    {"limit without price",        K, K, K, ORDER_TYPE_LIMIT,          K, K, K, 0, 0, NULL, ATP_EINVAL, "limit_price"},
    {"limit negative price",       K, K, K, ORDER_TYPE_LIMIT,          K, K, K, -100, 0, NULL, ATP_EINVAL, "limit_price"},
    {"limit with trigger",         K, K, K, ORDER_TYPE_LIMIT,          K, K, K, P(100, 0), P(99, 0), NULL, ATP_EINVAL, "trigger_price"},
    {"market with price",          K, K, K, ORDER_TYPE_MARKET,         K, K, K, P(100, 0), 0, NULL, ATP_EINVAL, "limit_price"},
    {"market with trigger",        K, K, K, ORDER_TYPE_MARKET,         K, K, K, 0, P(100, 0), NULL, ATP_EINVAL, "trigger_price"},
    {"sl without price",           K, K, K, ORDER_TYPE_SL,             K, K, K, 0, P(100, 0), NULL, ATP_EINVAL, "limit_price"},
    {"sl without trigger",         K, K, K, ORDER_TYPE_SL,             K, K, K, P(100, 0), 0, NULL, ATP_EINVAL, "trigger_price"},
    {"sl buy trigger above limit", K, K, ORDER_SIDE_BUY, ORDER_TYPE_SL, K, K, K, P(100, 0), P(100, 500), NULL, ATP_EINVAL, "trigger_price"},
    {"sl sell trigger below limit",K, K, ORDER_SIDE_SELL, ORDER_TYPE_SL, K, K, K, P(100, 0), P(99, 9500), NULL, ATP_EINVAL, "trigger_price"},
    {"sl-m without trigger",       K, K, K, ORDER_TYPE_SL_M,           K, K, K, 0, 0, NULL, ATP_EINVAL, "trigger_price"},
    {"sl-m with price",            K, K, K, ORDER_TYPE_SL_M,           K, K, K, P(100, 0), P(100, 0), NULL, ATP_EINVAL, "limit_price"},
    {"sl ioc",                     K, K, ORDER_SIDE_BUY, ORDER_TYPE_SL, K, ORDER_VALIDITY_IOC, K, P(101, 0), P(100, 0), NULL, ATP_EINVAL, "validity"},
    {"sl-m ioc",                   K, K, K, ORDER_TYPE_SL_M,           K, ORDER_VALIDITY_IOC, K, 0, P(100, 0), NULL, ATP_EINVAL, "validity"},
    {"notional overflow",          K, K, K, ORDER_TYPE_LIMIT,          K, K, INT64_MAX / 1000, P(100, 0), 0, NULL, ATP_EINVAL, "qty"},
    {"client key with space",      K, K, K, K, K, K, K, K, K, "a b", ATP_EINVAL, "client_key"},
    {"client key with control",    K, K, K, K, K, K, K, K, K, "a\tb", ATP_EINVAL, "client_key"},
    {"client key non-ascii",       K, K, K, K, K, K, K, K, K, "r\xe2\x82\xb9", ATP_EINVAL, "client_key"},
};

Test(order_request, validation_table)
{
    for (size_t i = 0; i < sizeof vcases / sizeof vcases[0]; i++) {
        const struct vcase *c = &vcases[i];
        struct order_request r = base_request();
        if (c->account_id != K)
            r.account_id = (uint64_t)c->account_id;
        if (c->mode != K)
            r.mode = (enum trade_mode)c->mode;
        if (c->side != K)
            r.side = (enum order_side)c->side;
        if (c->type != K)
            r.type = (enum order_type)c->type;
        if (c->product != K)
            r.product = (enum order_product)c->product;
        if (c->validity != K)
            r.validity = (enum order_validity)c->validity;
        if (c->qty != K)
            r.qty = c->qty;
        if (c->limit_price != K)
            r.limit_price = c->limit_price;
        if (c->trigger_price != K)
            r.trigger_price = c->trigger_price;
        if (c->client_key)
            snprintf(r.client_key, sizeof r.client_key, "%s", c->client_key);
        struct atp_err err;
        atp_err_clear(&err);
        int rc = order_request_validate(&r, &err);
        cr_expect_eq(rc, c->want_rc, "%s: rc %d, want %d (%s)", c->name, rc, c->want_rc, err.msg);
        cr_expect_str_eq(err.field, c->want_field, "%s: field '%s', want '%s' (%s)", c->name,
                         err.field, c->want_field, err.msg);
        if (c->want_rc != ATP_OK)
            cr_expect_neq(err.msg[0], '\0', "%s: no message", c->name);
    }
}

Test(order_request, messages_give_the_numbers)
{
    struct order_request r = base_request();
    r.type = ORDER_TYPE_SL;
    r.limit_price = P(100, 0);
    r.trigger_price = P(100, 500);
    struct atp_err err;
    cr_assert_eq(order_request_validate(&r, &err), ATP_EINVAL);
    cr_expect_str_eq(err.msg, "a BUY SL order needs trigger_price <= limit_price (100.05 > 100)");
}

Test(order_request, unterminated_client_key)
{
    struct order_request r = base_request();
    memset(r.client_key, 'k', sizeof r.client_key);
    struct atp_err err;
    cr_assert_eq(order_request_validate(&r, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "client_key");
    r.client_key[ORDER_CLIENT_KEY_MAX - 1] = '\0'; /* 63 characters: the longest allowed */
    cr_expect_eq(order_request_validate(&r, &err), ATP_OK);
    cr_expect_eq(order_request_validate(NULL, NULL), ATP_EINVAL);
}

/* ---- fills --------------------------------------------------------------------------------- */

static struct fill base_fill(void)
{
    struct fill f;
    memset(&f, 0, sizeof f);
    f.order_id = 1;
    snprintf(f.fill_id, sizeof f.fill_id, "T1001");
    f.account_id = 7;
    f.side = ORDER_SIDE_SELL;
    f.qty = 5;
    f.price = P(100, 1000);
    f.mode = TRADE_MODE_LIVE;
    return f;
}

Test(fill, validation)
{
    struct atp_err err;
    struct fill f = base_fill();
    cr_expect_eq(fill_validate(&f, &err), ATP_OK);

    static const struct {
        const char *name;
        int what;
        const char *field;
    } cases[] = {
        {"no order id", 0, "order_id"}, {"empty fill id", 1, "fill_id"},
        {"unterminated fill id", 2, "fill_id"}, {"bad side", 3, "side"},
        {"bad mode", 4, "mode"}, {"zero qty", 5, "qty"}, {"zero price", 6, "price"},
        {"overflow", 7, "qty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f = base_fill();
        switch (cases[i].what) {
        case 0: f.order_id = 0; break;
        case 1: f.fill_id[0] = '\0'; break;
        case 2: memset(f.fill_id, 'x', sizeof f.fill_id); break;
        case 3: f.side = (enum order_side)2; break;
        case 4: f.mode = (enum trade_mode)5; break;
        case 5: f.qty = 0; break;
        case 6: f.price = -1; break;
        case 7: f.qty = INT64_MAX / 100; break;
        }
        atp_err_clear(&err);
        cr_expect_eq(fill_validate(&f, &err), ATP_EINVAL, "%s", cases[i].name);
        cr_expect_str_eq(err.field, cases[i].field, "%s", cases[i].name);
    }
}

/* ---- the order value ----------------------------------------------------------------------- */

Test(order, init)
{
    struct order_request r = base_request();
    struct order o;
    struct atp_err err;
    cr_assert_eq(order_init(&o, &r, 42, "A11Z", 1000, &err), ATP_OK, "%s", err.msg);
    cr_expect_eq(o.id, 42);
    cr_expect_str_eq(o.tag, "A11Z");
    cr_expect_eq(o.state, ORDER_STATE_NEW);
    cr_expect_eq(o.qty_filled, 0);
    cr_expect_eq(o.created_ts, 1000);
    cr_expect_eq(o.updated_ts, 1000);
    cr_expect_eq(memcmp(&o.req, &r, sizeof r), 0);
    cr_expect_eq(order_history_len(&o), 1);
    cr_expect_eq(order_history_at(&o, 0)->state, ORDER_STATE_NEW);
    cr_expect_eq(order_history_at(&o, 0)->ts, 1000);
    cr_expect_null(order_history_at(&o, 1));
    cr_expect_eq(order_qty_remaining(&o), 10);
    cr_expect(order_is_consistent(&o));
}

/* A refused init leaves the order exactly as it was. */
Test(order, init_refusals)
{
    struct order_request r = base_request();
    struct order o, before;
    memset(&o, 0x5a, sizeof o);
    before = o;
    struct atp_err err;
    static const struct {
        uint64_t id;
        const char *tag;
        int bad_qty;
        const char *field;
    } cases[] = {
        {0, "A11Z", 0, "id"},
        {1, "", 0, "tag"},
        {1, NULL, 0, "tag"},
        {1, "A1-1", 0, "tag"},
        {1, "ABCDEFGHIJKLMNOPQRSTU", 0, "tag"}, /* 21 characters */
        {1, "A11Z", 1, "qty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct order_request rr = r;
        if (cases[i].bad_qty)
            rr.qty = 0;
        atp_err_clear(&err);
        cr_expect_eq(order_init(&o, &rr, cases[i].id, cases[i].tag, 5, &err), ATP_EINVAL);
        cr_expect_str_eq(err.field, cases[i].field);
        cr_expect_eq(memcmp(&o, &before, sizeof o), 0, "case %zu changed the order", i);
    }
}

Test(order, tag_valid)
{
    static const struct {
        const char *tag;
        int ok;
    } cases[] = {
        {"A", 1}, {"z9", 1}, {"ABCDEFGHIJKLMNOPQRST", 1}, {"ABCDEFGHIJKLMNOPQRSTU", 0},
        {"", 0}, {NULL, 0}, {"A B", 0}, {"A_B", 0}, {"A-B", 0}, {"A@B", 0}, {"\xc3\xa9", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(order_tag_valid(cases[i].tag), cases[i].ok, "case %zu", i);
}

/* The ring keeps the last ORDER_HISTORY_LEN changes, oldest first. */
Test(order, history_ring_wraps)
{
    struct order o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < 3 * ORDER_HISTORY_LEN + 3; i++)
        order_history_push(&o, (enum order_state)(i % ORDER_STATE_COUNT), 100 + i);
    cr_assert_eq(order_history_len(&o), ORDER_HISTORY_LEN);
    int first = 3 * ORDER_HISTORY_LEN + 3 - ORDER_HISTORY_LEN;
    for (uint32_t i = 0; i < ORDER_HISTORY_LEN; i++) {
        const struct order_hist *h = order_history_at(&o, i);
        cr_assert_not_null(h);
        cr_expect_eq(h->ts, 100 + first + (int)i);
        cr_expect_eq(h->state, (enum order_state)((first + (int)i) % ORDER_STATE_COUNT));
    }
    cr_expect_null(order_history_at(&o, ORDER_HISTORY_LEN));
}

Test(order, avg_price)
{
    static const struct {
        px_t notional;
        int64_t qty;
        px_t want;
    } cases[] = {
        {15010000, 15, 1000667},   /* 1501.0000 / 15 = 100.06666.. -> 100.0667 */
        {2000003, 2, 1000002},     /* 200.0003 / 2 = 100.00015 -> 100.0002 (half away) */
        {2000001, 2, 1000001},     /* 100.00005 -> 100.0001 */
        {3000001, 3, 1000000},     /* 100.0000333 -> 100.0000 */
        {3000002, 3, 1000001},     /* 100.0000666 -> 100.0001 */
        {-2000003, 2, -1000002},   /* negative: half away from zero */
        {1000500, 1, 1000500},
        {0, 0, 0},
        {100, -1, 0},
        {INT64_MAX, 1, INT64_MAX},
        {INT64_MAX, INT64_MAX, 1},
        {INT64_MAX / 2, INT64_MAX, 0}, /* just under half a unit (INT64_MAX is odd) */
        {INT64_MAX / 2 + 1, INT64_MAX, 1}, /* just over half */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(order_avg_price(cases[i].notional, cases[i].qty), cases[i].want,
                     "case %zu: %lld / %lld -> %lld", i, (long long)cases[i].notional,
                     (long long)cases[i].qty,
                     (long long)order_avg_price(cases[i].notional, cases[i].qty));
}

Test(order, reason_truncates_at_utf8_boundary)
{
    struct order o;
    memset(&o, 0, sizeof o);
    order_set_reason(&o, "RMS: margin exceeded");
    cr_expect_str_eq(o.reason, "RMS: margin exceeded");
    order_set_reason(&o, NULL);
    cr_expect_str_eq(o.reason, "");

    /* 254 ASCII bytes then a 3-byte rupee sign: byte 255 would cut it, so it is dropped whole */
    char text[300];
    memset(text, 'x', 254);
    memcpy(text + 254, "\xe2\x82\xb9 more", 8);
    text[262] = '\0';
    order_set_reason(&o, text);
    cr_expect_eq(strlen(o.reason), 254);
    cr_expect_eq(memcmp(o.reason, text, 254), 0);

    /* 253 ASCII bytes then the sign: its last byte would be cut, so again it goes whole */
    memset(text, 'y', 253);
    memcpy(text + 253, "\xe2\x82\xb9 more", 8);
    text[261] = '\0';
    order_set_reason(&o, text);
    cr_expect_eq(strlen(o.reason), 253);

    /* 252 ASCII bytes then the sign: it ends exactly at byte 255 and is kept */
    memset(text, 'z', 252);
    memcpy(text + 252, "\xe2\x82\xb9 more", 8);
    text[260] = '\0';
    order_set_reason(&o, text);
    cr_expect_eq(strlen(o.reason), 255);
    cr_expect_eq(memcmp(o.reason + 251, "z\xe2\x82\xb9", 4), 0);
}

Test(order, consistency)
{
    struct order_request r = base_request();
    struct order o;
    cr_assert_eq(order_init(&o, &r, 1, "T1", 0, NULL), ATP_OK);
    cr_expect(order_is_consistent(&o));

    struct order b = o;
    b.state = ORDER_STATE_PARTIALLY_FILLED;
    cr_expect_not(order_is_consistent(&b), "partially filled with nothing filled");
    b.qty_filled = 4;
    b.filled_notional = 4 * P(100, 0);
    b.avg_fill_price = P(100, 0);
    b.fill_count = 1;
    cr_expect(order_is_consistent(&b));
    b.avg_fill_price = P(100, 1);
    cr_expect_not(order_is_consistent(&b), "average does not match the notional");
    b.avg_fill_price = P(100, 0);
    b.state = ORDER_STATE_FILLED;
    cr_expect_not(order_is_consistent(&b), "filled with 4 of 10");
    b.state = ORDER_STATE_CANCELLED;
    cr_expect(order_is_consistent(&b), "cancelled keeps its fills");
    b.state = ORDER_STATE_REJECTED;
    cr_expect_not(order_is_consistent(&b), "rejected with fills");
    b.state = ORDER_STATE_OPEN;
    b.qty_filled = 11;
    cr_expect_not(order_is_consistent(&b), "overfilled");
    b = o;
    b.state = (enum order_state)ORDER_STATE_COUNT;
    cr_expect_not(order_is_consistent(&b));
}
