/* risk/risk and risk/ratelimit: every check with its reason code and numbers, the order of the
 * checks, the rate window, the trading states, the loss monitor and the strategy limit.
 *
 * The instrument is a NIFTY future: lot 65, tick 0.10, last price 25000. The base order is
 * BUY 65 LIMIT 25000 for account 42 in PAPER: value 16.25 lakh. Table limits: band 10 %
 * (22500..27500), max order value 25 lakh (default), max position 650 units, 5 open orders,
 * 10 orders/s. */
#include <criterion/criterion.h>

#include <string.h>

#include "core/alloc.h"
#include "risk/ratelimit.h"
#include "risk/risk.h"

#define R(x) PX_RUPEES(x)
#define P(r, frac4) ((px_t)(r) * PX_SCALE + (frac4)) /* rupees and 1/10000ths */
#define SEC TS_NS_PER_SEC
#define MS TS_NS_PER_MS
#define T0 ((ts_ns)1767584700 * SEC) /* 2026-01-05 09:15 IST */

#define ACC 42
#define INST_ID 7

static long live_at_start;

static void leak_setup(void)
{
    live_at_start = atp_alloc_live();
}

static void leak_check(void)
{
    atp_alloc_fail_after(0);
    cr_assert_eq(atp_alloc_live(), live_at_start, "leaked %ld blocks",
                 atp_alloc_live() - live_at_start);
}

TestSuite(risk, .init = leak_setup, .fini = leak_check);
TestSuite(ratelimit, .init = leak_setup, .fini = leak_check);

static struct instrument nifty_fut(void)
{
    struct instrument in;
    memset(&in, 0, sizeof in);
    in.id = INST_ID;
    strcpy(in.symbol, "NIFTY26JANFUT");
    in.exchange = EXCH_NFO;
    in.type = INST_FUT;
    in.lot_size = 65;
    in.tick_size = P(0, 1000);
    in.expiry_day = -1;
    return in;
}

static struct order_request base_req(void)
{
    struct order_request r;
    memset(&r, 0, sizeof r);
    r.account_id = ACC;
    r.mode = TRADE_MODE_PAPER;
    r.instrument_id = INST_ID;
    r.side = ORDER_SIDE_BUY;
    r.type = ORDER_TYPE_LIMIT;
    r.product = ORDER_PRODUCT_NRML;
    r.validity = ORDER_VALIDITY_DAY;
    r.qty = 65;
    r.limit_price = R(25000);
    return r;
}

static struct risk_limits table_limits(void)
{
    struct risk_limits lim;
    risk_limits_default(&lim);
    lim.max_position_qty = 650;
    lim.max_open_orders = 5;
    return lim;
}

static struct risk_gate *gate_with_account(void)
{
    struct risk_gate *g = risk_new();
    cr_assert_not_null(g);
    struct risk_limits lim = table_limits();
    struct atp_err err;
    for (int m = 0; m < TRADE_MODE_COUNT; m++)
        cr_assert_eq(risk_set_limits(g, ACC, (enum trade_mode)m, &lim, &err), ATP_OK, "%s",
                     err.msg);
    return g;
}

/* One action with the base context, as modified by the caller. */
struct order_env {
    struct instrument inst;
    struct order_request req;
    struct risk_order_ctx ctx;
};

static void env_init(struct order_env *e, ts_ns now)
{
    e->inst = nifty_fut();
    e->req = base_req();
    memset(&e->ctx, 0, sizeof e->ctx);
    e->ctx.action = RISK_ACTION_PLACE;
    e->ctx.req = &e->req;
    e->ctx.instrument = &e->inst;
    e->ctx.last_price = R(25000);
    e->ctx.now = now;
}

static enum risk_reason check(struct risk_gate *g, struct order_env *e, struct risk_decision *d)
{
    enum risk_reason r = risk_check_order(g, &e->ctx, d);
    cr_assert_eq(r, d->reason);
    return r;
}

/* Base PLACEs allowed at now before the first rate denial: how many slots were left. */
static int slots_left(struct risk_gate *g, enum trade_mode mode, ts_ns now)
{
    for (int n = 0; n <= RISK_ORDERS_PER_SEC_MAX; n++) {
        struct order_env e;
        struct risk_decision d;
        env_init(&e, now);
        e.req.mode = mode;
        enum risk_reason r = check(g, &e, &d);
        if (r == RISK_DENY_RATE_LIMIT)
            return n;
        cr_assert_eq(r, RISK_ALLOW, "%s", d.msg);
    }
    return -1;
}

/* ---- names and limits ------------------------------------------------------------------------ */

Test(risk, names)
{
    cr_assert_str_eq(risk_reason_name(RISK_ALLOW), "ALLOW");
    cr_assert_str_eq(risk_reason_name(RISK_DENY_QTY_NOT_LOT_MULTIPLE), "QTY_NOT_LOT_MULTIPLE");
    cr_assert_str_eq(risk_reason_name(RISK_DENY_MAX_STRATEGIES), "MAX_STRATEGIES");
    cr_assert_str_eq(risk_reason_name(RISK_REASON_COUNT), "?");
    for (int i = 0; i < RISK_REASON_COUNT; i++)
        cr_assert_str_neq(risk_reason_name((enum risk_reason)i), "?", "reason %d unnamed", i);
    cr_assert_str_eq(risk_state_name(RISK_STATE_REDUCING), "REDUCING");
    cr_assert_str_eq(risk_state_name(RISK_STATE_COUNT), "?");
    cr_assert_str_eq(risk_action_name(RISK_ACTION_CANCEL), "CANCEL");
    cr_assert_str_eq(risk_scope_name(RISK_SCOPE_LOSS), "LOSS");
    enum risk_state s = RISK_STATE_ACTIVE;
    cr_assert_eq(risk_state_parse("halted", &s), ATP_OK);
    cr_assert_eq(s, RISK_STATE_HALTED);
    cr_assert_eq(risk_state_parse("STOPPED", &s), ATP_EINVAL);
    cr_assert_eq(risk_state_parse(NULL, &s), ATP_EINVAL);
    cr_assert_eq(s, RISK_STATE_HALTED);
}

Test(risk, default_limits)
{
    struct risk_limits lim;
    risk_limits_default(&lim);
    cr_assert_eq(lim.orders_per_sec, 10);
    cr_assert_eq(lim.price_band_bps, 1000);
    cr_assert_eq(lim.max_order_value, R(2500000));
    cr_assert_eq(lim.max_position_qty, 0);
    cr_assert_eq(lim.max_open_orders, 100);
    cr_assert_eq(lim.max_strategies, 5);
    cr_assert_eq(lim.max_loss, 0);
    cr_assert_eq(risk_limits_validate(&lim, NULL), ATP_OK);

    struct risk_gate *g = risk_new();
    struct risk_limits got;
    cr_assert_eq(risk_get_default_limits(g, TRADE_MODE_LIVE, &got), ATP_OK);
    cr_assert_eq(memcmp(&got, &lim, sizeof lim), 0);
    cr_assert_eq(risk_get_limits(g, ACC, TRADE_MODE_LIVE, &got), ATP_ENOTFOUND);

    /* New defaults apply to accounts added afterwards only. */
    cr_assert_eq(risk_account_add(g, 1), ATP_OK);
    struct risk_limits live = lim;
    live.max_strategies = 2;
    cr_assert_eq(risk_set_default_limits(g, TRADE_MODE_LIVE, &live, NULL), ATP_OK);
    cr_assert_eq(risk_account_add(g, 2), ATP_OK);
    cr_assert_eq(risk_account_add(g, 2), ATP_OK); /* no-op */
    cr_assert_eq(risk_get_limits(g, 1, TRADE_MODE_LIVE, &got), ATP_OK);
    cr_assert_eq(got.max_strategies, 5);
    cr_assert_eq(risk_get_limits(g, 2, TRADE_MODE_LIVE, &got), ATP_OK);
    cr_assert_eq(got.max_strategies, 2);
    cr_assert_eq(risk_get_limits(g, 2, TRADE_MODE_PAPER, &got), ATP_OK);
    cr_assert_eq(got.max_strategies, 5);
    cr_assert_eq(risk_account_add(g, 0), ATP_EINVAL);
    cr_assert_eq(risk_get_limits(g, 2, TRADE_MODE_COUNT, &got), ATP_EINVAL);
    risk_free(g);
    risk_free(NULL);
}

struct bad_limit {
    const char *field;
    void (*spoil)(struct risk_limits *);
};

static void spoil_band_neg(struct risk_limits *l) { l->price_band_bps = -1; }
static void spoil_band_big(struct risk_limits *l) { l->price_band_bps = RISK_BAND_BPS_MAX + 1; }
static void spoil_value(struct risk_limits *l) { l->max_order_value = -1; }
static void spoil_pos(struct risk_limits *l) { l->max_position_qty = -65; }
static void spoil_open(struct risk_limits *l) { l->max_open_orders = -1; }
static void spoil_rate0(struct risk_limits *l) { l->orders_per_sec = 0; }
static void spoil_rate_big(struct risk_limits *l) { l->orders_per_sec = RISK_ORDERS_PER_SEC_MAX + 1; }
static void spoil_strat(struct risk_limits *l) { l->max_strategies = -1; }
static void spoil_loss(struct risk_limits *l) { l->max_loss = -R(1); }

Test(risk, limits_validation_names_the_field)
{
    static const struct bad_limit cases[] = {
        {"price_band_bps", spoil_band_neg},   {"price_band_bps", spoil_band_big},
        {"max_order_value", spoil_value},     {"max_position_qty", spoil_pos},
        {"max_open_orders", spoil_open},      {"orders_per_sec", spoil_rate0},
        {"orders_per_sec", spoil_rate_big},   {"max_strategies", spoil_strat},
        {"max_loss", spoil_loss},
    };
    struct risk_gate *g = gate_with_account();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct risk_limits lim = table_limits();
        cases[i].spoil(&lim);
        struct atp_err err;
        cr_assert_eq(risk_limits_validate(&lim, &err), ATP_EINVAL, "case %zu", i);
        cr_assert_str_eq(err.field, cases[i].field, "case %zu", i);
        cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_LIVE, &lim, &err), ATP_EINVAL);
        cr_assert_eq(risk_set_default_limits(g, TRADE_MODE_LIVE, &lim, &err), ATP_EINVAL);
    }
    struct risk_limits lim = table_limits();
    cr_assert_eq(risk_set_limits(g, 0, TRADE_MODE_LIVE, &lim, NULL), ATP_EINVAL);
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_COUNT, &lim, NULL), ATP_EINVAL);
    cr_assert_eq(risk_set_default_limits(g, TRADE_MODE_COUNT, &lim, NULL), ATP_EINVAL);
    /* Nothing changed. */
    struct risk_limits got;
    cr_assert_eq(risk_get_limits(g, ACC, TRADE_MODE_LIVE, &got), ATP_OK);
    cr_assert_eq(memcmp(&got, &lim, sizeof lim), 0);
    risk_free(g);
}

/* ---- the checks, one at a time --------------------------------------------------------------- */

struct order_case {
    const char *name;
    enum risk_action action;
    enum order_side side;
    enum order_type type;
    int64_t qty;
    px_t limit_price;
    px_t trigger_price;
    px_t last_price;
    int64_t position;
    int64_t pending_buy;
    int64_t pending_sell;
    int32_t open_orders;
    enum risk_reason want;
    int64_t want_limit;
    int64_t want_actual;
    const char *want_msg; /* a substring of the message, or NULL */
};

#define BUY ORDER_SIDE_BUY
#define SELL ORDER_SIDE_SELL
#define LMT ORDER_TYPE_LIMIT
#define MKT ORDER_TYPE_MARKET
#define SL ORDER_TYPE_SL
#define SLM ORDER_TYPE_SL_M
#define PLACE RISK_ACTION_PLACE
#define MODIFY RISK_ACTION_MODIFY
#define CANCEL RISK_ACTION_CANCEL

/* clang-format off */
static const struct order_case order_cases[] = {
    /* name                    action  side  type qty  limit            trigger       last      pos  pbuy psell open  want                              limit          actual */
    {"baseline",               PLACE,  BUY,  LMT, 65,  R(25000),        0,            R(25000), 0,   0,   0,   0,   RISK_ALLOW,                       0, 0, "allowed"},
    {"qty zero",               PLACE,  BUY,  LMT, 0,   R(25000),        0,            R(25000), 0,   0,   0,   0,   RISK_DENY_QTY_NOT_POSITIVE,       0, 0, "quantity 0 must be positive"},
    {"qty negative",           PLACE,  BUY,  LMT, -65, R(25000),        0,            R(25000), 0,   0,   0,   0,   RISK_DENY_QTY_NOT_POSITIVE,       0, -65, "-65"},
    {"qty off lot",            PLACE,  BUY,  LMT, 70,  R(25000),        0,            R(25000), 0,   0,   0,   0,   RISK_DENY_QTY_NOT_LOT_MULTIPLE,   65, 70, "70 is not a multiple of lot size 65"},
    {"qty off lot modify",     MODIFY, BUY,  LMT, 100, R(25000),        0,            R(25000), 0,   0,   0,   5,   RISK_DENY_QTY_NOT_LOT_MULTIPLE,   65, 100, NULL},
    {"limit missing",          PLACE,  BUY,  LMT, 65,  0,               0,            R(25000), 0,   0,   0,   0,   RISK_DENY_INVALID_REQUEST,        0, 0, "limit_price"},
    {"limit off tick",         PLACE,  BUY,  LMT, 65,  P(25000, 500),   0,            R(25000), 0,   0,   0,   0,   RISK_DENY_PRICE_OFF_TICK,         P(0, 1000), P(25000, 500), "limit price 25000.05 is not a multiple of tick size 0.1"},
    {"trigger off tick",       PLACE,  BUY,  SL,  65,  R(25101),        P(25100, 500),R(25000), 0,   0,   0,   0,   RISK_DENY_PRICE_OFF_TICK,         P(0, 1000), P(25100, 500), "trigger price 25100.05"},
    {"SL-M trigger off tick",  PLACE,  SELL, SLM, 65,  0,               P(24000, 300),R(25000), 0,   0,   0,   0,   RISK_DENY_PRICE_OFF_TICK,         P(0, 1000), P(24000, 300), NULL},
    {"band high edge",         PLACE,  BUY,  LMT, 65,  R(27500),        0,            R(25000), 0,   0,   0,   0,   RISK_ALLOW,                       0, 0, NULL},
    {"band above",             PLACE,  BUY,  LMT, 65,  P(27500, 1000),  0,            R(25000), 0,   0,   0,   0,   RISK_DENY_PRICE_OUTSIDE_BAND,     R(27500), P(27500, 1000), "limit price 27500.1 is outside the band 22500..27500 (10.00% around last price 25000)"},
    {"band low edge",          PLACE,  SELL, LMT, 65,  R(22500),        0,            R(25000), 0,   0,   0,   0,   RISK_ALLOW,                       0, 0, NULL},
    {"band below",             PLACE,  SELL, LMT, 65,  P(22499, 9000),  0,            R(25000), 0,   0,   0,   0,   RISK_DENY_PRICE_OUTSIDE_BAND,     R(22500), P(22499, 9000), NULL},
    {"band no last price",     PLACE,  BUY,  LMT, 65,  R(30000),        0,            0,        0,   0,   0,   0,   RISK_ALLOW,                       0, 0, NULL},
    {"SL band round trigger",  PLACE,  BUY,  SL,  65,  R(27600),        R(25000),     R(20000), 0,   0,   0,   0,   RISK_DENY_PRICE_OUTSIDE_BAND,     R(27500), R(27600), "around trigger price 25000"},
    {"SL far stop ok",         PLACE,  SELL, SL,  65,  R(20000),        R(20100),     R(25000), 0,   0,   0,   0,   RISK_ALLOW,                       0, 0, NULL},
    {"market no last price",   PLACE,  BUY,  MKT, 65,  0,               0,            0,        0,   0,   0,   0,   RISK_DENY_PRICE_UNKNOWN,          R(2500000), 0, "no last price"},
    {"market ok",              PLACE,  BUY,  MKT, 65,  0,               0,            R(25000), 0,   0,   0,   0,   RISK_ALLOW,                       0, 0, NULL},
    {"market too big",         PLACE,  BUY,  MKT, 130, 0,               0,            R(25000), 0,   0,   0,   0,   RISK_DENY_ORDER_VALUE,            R(2500000), R(3250000), "order value 3250000 (qty 130 x last price 25000) exceeds the limit 2500000"},
    {"limit value too big",    PLACE,  BUY,  LMT, 130, R(25000),        0,            R(25000), 0,   0,   0,   0,   RISK_DENY_ORDER_VALUE,            R(2500000), R(3250000), NULL},
    {"SL-M value by trigger",  PLACE,  SELL, SLM, 130, 0,               R(24000),     0,        0,   0,   0,   0,   RISK_DENY_ORDER_VALUE,            R(2500000), R(3120000), "trigger price 24000"},
    {"value just under",       PLACE,  BUY,  LMT, 65,  P(38461, 5000),  0,            P(38461, 5000), 0, 0, 0,   0,   RISK_ALLOW,                       0, 0, NULL},
    {"value just over",        PLACE,  BUY,  LMT, 65,  P(38461, 6000),  0,            P(38461, 5000), 0, 0, 0,   0,   RISK_DENY_ORDER_VALUE,            R(2500000), R(2500004), NULL},
    {"position to edge",       PLACE,  BUY,  LMT, 65,  R(25000),        0,            R(25000), 520, 65,  0,   0,   RISK_ALLOW,                       0, 0, NULL},
    {"position over long",     PLACE,  BUY,  LMT, 65,  R(25000),        0,            R(25000), 520, 130, 0,   0,   RISK_DENY_POSITION_LIMIT,         650, 715, "position would reach 715"},
    {"position over short",    PLACE,  SELL, LMT, 65,  R(25000),        0,            R(25000), 0,   0,   650, 0,   RISK_DENY_POSITION_LIMIT,         650, 715, "position would reach -715"},
    {"pending other side n/a", PLACE,  BUY,  LMT, 65,  R(25000),        0,            R(25000), 585, 0,   650, 0,   RISK_ALLOW,                       0, 0, NULL},
    {"exit at position limit", PLACE,  SELL, LMT, 65,  R(25000),        0,            R(25000), 650, 0,   0,   0,   RISK_ALLOW,                       0, 0, NULL},
    {"over limit, add denied", PLACE,  BUY,  LMT, 65,  R(25000),        0,            R(25000), 975, 0,   0,   0,   RISK_DENY_POSITION_LIMIT,         650, 1040, NULL},
    {"open orders below",      PLACE,  BUY,  LMT, 65,  R(25000),        0,            R(25000), 0,   0,   0,   4,   RISK_ALLOW,                       0, 0, NULL},
    {"open orders at max",     PLACE,  BUY,  LMT, 65,  R(25000),        0,            R(25000), 0,   0,   0,   5,   RISK_DENY_OPEN_ORDERS,            5, 6, "would be open order 6"},
    {"modify at max open",     MODIFY, BUY,  LMT, 65,  R(25000),        0,            R(25000), 0,   0,   0,   5,   RISK_ALLOW,                       0, 0, NULL},
    {"cancel anything",        CANCEL, BUY,  LMT, -1,  P(1, 3),         0,            0,        0,   0,   0,   99,  RISK_ALLOW,                       0, 0, "CANCEL allowed"},
    /* The order of the checks: each row fails several; the first in the documented order wins. */
    {"lot before tick",        PLACE,  BUY,  LMT, 70,  P(99999, 500),   0,            R(25000), 0,   0,   0,   9,   RISK_DENY_QTY_NOT_LOT_MULTIPLE,   65, 70, NULL},
    {"request before tick",    PLACE,  BUY,  SL,  65,  P(24000, 500),   R(25000),     R(25000), 0,   0,   0,   9,   RISK_DENY_INVALID_REQUEST,        0, 0, "trigger"},
    {"tick before band",       PLACE,  BUY,  LMT, 65,  P(99999, 500),   0,            R(25000), 0,   0,   0,   9,   RISK_DENY_PRICE_OFF_TICK,         P(0, 1000), P(99999, 500), NULL},
    {"band before value",      PLACE,  BUY,  LMT, 650, R(40000),        0,            R(25000), 0,   0,   0,   9,   RISK_DENY_PRICE_OUTSIDE_BAND,     R(27500), R(40000), NULL},
    {"value before position",  PLACE,  BUY,  LMT, 650, R(25000),        0,            R(25000), 650, 0,   0,   9,   RISK_DENY_ORDER_VALUE,            R(2500000), R(16250000), NULL},
    {"position before open",   PLACE,  BUY,  LMT, 65,  R(25000),        0,            R(25000), 650, 0,   0,   9,   RISK_DENY_POSITION_LIMIT,         650, 715, NULL},
};
/* clang-format on */

static void apply_case(struct order_env *e, const struct order_case *c)
{
    e->ctx.action = c->action;
    e->req.side = c->side;
    e->req.type = c->type;
    e->req.qty = c->qty;
    e->req.limit_price = c->limit_price;
    e->req.trigger_price = c->trigger_price;
    e->ctx.last_price = c->last_price;
    e->ctx.position_qty = c->position;
    e->ctx.pending_buy_qty = c->pending_buy;
    e->ctx.pending_sell_qty = c->pending_sell;
    e->ctx.open_orders = c->open_orders;
}

Test(risk, order_checks_table)
{
    for (size_t i = 0; i < sizeof order_cases / sizeof order_cases[0]; i++) {
        const struct order_case *c = &order_cases[i];
        struct risk_gate *g = gate_with_account();
        struct order_env e;
        env_init(&e, T0);
        apply_case(&e, c);
        struct risk_decision d;
        memset(&d, 0x5a, sizeof d);
        enum risk_reason got = check(g, &e, &d);
        cr_expect_eq(got, c->want, "%s: got %s (%s), want %s", c->name, risk_reason_name(got),
                     d.msg, risk_reason_name(c->want));
        cr_expect_eq(d.limit, c->want_limit, "%s: limit %lld, want %lld", c->name,
                     (long long)d.limit, (long long)c->want_limit);
        cr_expect_eq(d.actual, c->want_actual, "%s: actual %lld, want %lld", c->name,
                     (long long)d.actual, (long long)c->want_actual);
        cr_expect_eq(d.state, RISK_STATE_ACTIVE, "%s", c->name);
        cr_expect_eq(d.retry_at, 0, "%s", c->name);
        if (c->want_msg)
            cr_expect(strstr(d.msg, c->want_msg) != NULL, "%s: message \"%s\" lacks \"%s\"",
                      c->name, d.msg, c->want_msg);
        /* An allowed action took a rate slot, a denied one did not. */
        cr_expect_eq(slots_left(g, TRADE_MODE_PAPER, T0), c->want == RISK_ALLOW ? 9 : 10, "%s",
                     c->name);
        risk_free(g);
    }
}

Test(risk, band_and_value_reference_recorded)
{
    struct risk_gate *g = gate_with_account();
    struct order_env e;
    env_init(&e, T0);
    struct risk_decision d;
    e.req.type = ORDER_TYPE_MARKET;
    e.req.limit_price = 0;
    e.ctx.last_price = R(24000);
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW);
    cr_assert_eq(d.reference, R(24000));
    cr_assert_eq(d.is_exit, 0);
    risk_free(g);
}

Test(risk, limits_off_when_zero)
{
    struct risk_gate *g = gate_with_account();
    struct risk_limits lim = table_limits();
    lim.price_band_bps = 0;
    lim.max_order_value = 0;
    lim.max_position_qty = 0;
    lim.max_open_orders = 0;
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_PAPER, &lim, NULL), ATP_OK);
    struct order_env e;
    env_init(&e, T0);
    e.req.type = ORDER_TYPE_MARKET; /* no price at all is fine without a value limit */
    e.req.limit_price = 0;
    e.req.qty = 65 * 10000;
    e.ctx.last_price = 0;
    e.ctx.position_qty = 1000000;
    e.ctx.open_orders = 100000;
    struct risk_decision d;
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW, "%s", d.msg);
    e.req.type = ORDER_TYPE_LIMIT;
    e.req.limit_price = R(90000);
    e.ctx.last_price = R(25000);
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW, "%s", d.msg);
    risk_free(g);
}

Test(risk, value_exactly_at_the_limit_is_allowed)
{
    struct risk_gate *g = gate_with_account();
    struct risk_limits lim = table_limits();
    lim.max_order_value = R(1625000); /* 65 x 25000 */
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_PAPER, &lim, NULL), ATP_OK);
    struct order_env e;
    env_init(&e, T0);
    struct risk_decision d;
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW, "%s", d.msg);
    e.req.limit_price = P(25000, 1000);
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ORDER_VALUE);
    cr_assert_eq(d.actual, P(1625006, 5000));
    risk_free(g);
}

Test(risk, value_overflow_is_a_denial)
{
    struct risk_gate *g = gate_with_account();
    struct order_env e;
    env_init(&e, T0);
    e.req.type = ORDER_TYPE_MARKET;
    e.req.limit_price = 0;
    e.req.qty = 65LL * 1000000000000LL;
    e.ctx.last_price = R(25000);
    struct risk_decision d;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ORDER_VALUE, "%s", d.msg);
    cr_assert_eq(d.actual, PX_MAX);
    risk_free(g);
}

Test(risk, malformed_context_fails_closed)
{
    struct risk_gate *g = gate_with_account();
    struct risk_decision d;
    cr_assert_eq(risk_check_order(g, NULL, &d), RISK_DENY_INVALID_REQUEST);

    struct order_env e;
    env_init(&e, T0);
    e.ctx.req = NULL;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_INVALID_REQUEST);

    env_init(&e, T0);
    e.ctx.action = RISK_ACTION_COUNT;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_INVALID_REQUEST);

    env_init(&e, T0);
    e.req.mode = TRADE_MODE_COUNT;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_INVALID_REQUEST);

    env_init(&e, T0);
    e.req.side = ORDER_SIDE_COUNT;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_INVALID_REQUEST);

    env_init(&e, T0);
    e.ctx.instrument = NULL;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_INVALID_REQUEST);

    env_init(&e, T0);
    e.inst.id = INST_ID + 1;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_INVALID_REQUEST);
    cr_assert(strstr(d.msg, "instrument 8 given for an order on instrument 7") != NULL, "%s", d.msg);

    env_init(&e, T0);
    e.inst.lot_size = 0;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_INVALID_REQUEST);

    env_init(&e, T0);
    e.ctx.pending_buy_qty = -1;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_INVALID_REQUEST);

    env_init(&e, T0);
    e.req.account_id = 43;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_UNKNOWN_ACCOUNT);
    cr_assert(strstr(d.msg, "account 43") != NULL, "%s", d.msg);
    e.ctx.action = RISK_ACTION_CANCEL;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_UNKNOWN_ACCOUNT);

    /* None of these took a rate slot. */
    cr_assert_eq(slots_left(g, TRADE_MODE_PAPER, T0), 10);
    risk_free(g);
}

/* ---- exits ----------------------------------------------------------------------------------- */

struct exit_case {
    enum order_side side;
    int64_t qty, position, pending_same;
    int want;
};

Test(risk, exit_definition)
{
    static const struct exit_case cases[] = {
        {SELL, 65, 130, 0, 1},   {SELL, 130, 130, 0, 1}, /* to flat is an exit */
        {SELL, 195, 130, 0, 0},  /* flips */
        {SELL, 65, 130, 65, 1},  {SELL, 65, 130, 130, 0}, /* with working sells it would flip */
        {BUY, 65, 130, 0, 0},    /* adds */
        {BUY, 65, -130, 0, 1},   {BUY, 195, -130, 0, 0},
        {SELL, 65, -130, 0, 0},  {BUY, 65, 0, 0, 0},     {SELL, 65, 0, 0, 0}, /* flat: no exit */
        {SELL, 0, 130, 0, 0},    {SELL, -65, 130, 0, 0}, {SELL, 65, 130, -1, 0},
        {ORDER_SIDE_COUNT, 65, 130, 0, 0},
        {BUY, INT64_MAX, INT64_MIN, 0, 1}, {BUY, 1, INT64_MIN, INT64_MAX, 1}, /* 2^63 exactly */
        {BUY, 2, INT64_MIN, INT64_MAX, 0}, {SELL, INT64_MAX, INT64_MAX, 1, 0},
        {SELL, 1, INT64_MAX, INT64_MAX - 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct exit_case *c = &cases[i];
        cr_expect_eq(risk_order_is_exit(c->side, c->qty, c->position, c->pending_same), c->want,
                     "case %zu", i);
    }
}

/* ---- trading states -------------------------------------------------------------------------- */

Test(risk, reducing_allows_exits_only)
{
    struct risk_gate *g = gate_with_account();
    cr_assert_eq(risk_set_account_state(g, ACC, RISK_STATE_REDUCING, T0), ATP_OK);
    struct order_env e;
    env_init(&e, T0);
    struct risk_decision d;

    e.ctx.position_qty = 130;
    e.req.side = ORDER_SIDE_SELL;
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW, "%s", d.msg);
    cr_assert_eq(d.is_exit, 1);
    cr_assert_eq(d.state, RISK_STATE_REDUCING);

    e.req.side = ORDER_SIDE_BUY; /* adds to the long */
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_REDUCING);
    cr_assert_str_eq(d.msg, "account 42 is REDUCING: exits only; BUY 65 does not reduce position 130");
    cr_assert_eq(d.is_exit, 0);

    e.req.side = ORDER_SIDE_SELL;
    e.req.qty = 195; /* flips to short */
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_REDUCING);

    e.req.qty = 65;
    e.ctx.pending_sell_qty = 130; /* with the working exits it would flip */
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_REDUCING);

    e.ctx.pending_sell_qty = 0;
    e.ctx.action = RISK_ACTION_MODIFY; /* modifying an exit that stays an exit */
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW);
    e.req.qty = 260;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_REDUCING);

    e.ctx.action = RISK_ACTION_CANCEL;
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW);

    /* Flat: nothing is an exit. */
    e.ctx.action = RISK_ACTION_PLACE;
    e.ctx.position_qty = 0;
    e.req.qty = 65;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_REDUCING);

    /* Exits still pass the other checks. */
    e.ctx.position_qty = 130;
    e.req.limit_price = P(25000, 500);
    cr_assert_eq(check(g, &e, &d), RISK_DENY_PRICE_OFF_TICK);
    risk_free(g);
}

Test(risk, halted_allows_cancels_only)
{
    struct risk_gate *g = gate_with_account();
    cr_assert_eq(risk_set_account_state(g, ACC, RISK_STATE_HALTED, T0), ATP_OK);
    struct order_env e;
    env_init(&e, T0);
    struct risk_decision d;
    e.ctx.position_qty = 130;
    e.req.side = ORDER_SIDE_SELL; /* even an exit */
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_HALTED);
    cr_assert_str_eq(d.msg, "account 42 is HALTED: cancels only");
    cr_assert_eq(d.state, RISK_STATE_HALTED);
    e.ctx.action = RISK_ACTION_MODIFY;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_HALTED);
    e.ctx.action = RISK_ACTION_CANCEL;
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW);
    /* State comes before the order's own faults. */
    e.ctx.action = RISK_ACTION_PLACE;
    e.req.qty = 70;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_HALTED);

    /* Another account is not affected; the live mode of this one is. */
    cr_assert_eq(risk_account_add(g, 43), ATP_OK);
    env_init(&e, T0);
    e.req.account_id = 43;
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW);
    env_init(&e, T0);
    e.req.mode = TRADE_MODE_LIVE;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ACCOUNT_HALTED);

    cr_assert_eq(risk_set_account_state(g, ACC, RISK_STATE_ACTIVE, T0), ATP_OK);
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW);
    risk_free(g);
}

struct state_case {
    enum risk_state global, account;
    int breached;
    enum risk_reason want_entry; /* BUY 65 from flat */
    enum risk_reason want_exit;  /* SELL 65 from long 130 */
    enum risk_state want_effective;
};

#define A RISK_STATE_ACTIVE
#define RD RISK_STATE_REDUCING
#define H RISK_STATE_HALTED

Test(risk, global_and_account_precedence)
{
    /* clang-format off */
    static const struct state_case cases[] = {
        {A,  A,  0, RISK_ALLOW,                    RISK_ALLOW,              A},
        {RD, A,  0, RISK_DENY_GLOBAL_REDUCING,     RISK_ALLOW,              RD},
        {A,  RD, 0, RISK_DENY_ACCOUNT_REDUCING,    RISK_ALLOW,              RD},
        {RD, RD, 0, RISK_DENY_GLOBAL_REDUCING,     RISK_ALLOW,              RD},
        {H,  A,  0, RISK_DENY_GLOBAL_HALTED,       RISK_DENY_GLOBAL_HALTED, H},
        {A,  H,  0, RISK_DENY_ACCOUNT_HALTED,      RISK_DENY_ACCOUNT_HALTED,H},
        {RD, H,  0, RISK_DENY_ACCOUNT_HALTED,      RISK_DENY_ACCOUNT_HALTED,H}, /* stricter wins */
        {H,  RD, 0, RISK_DENY_GLOBAL_HALTED,       RISK_DENY_GLOBAL_HALTED, H},
        {H,  H,  0, RISK_DENY_GLOBAL_HALTED,       RISK_DENY_GLOBAL_HALTED, H},
        {A,  A,  1, RISK_DENY_LOSS_LIMIT_BREACHED, RISK_ALLOW,              RD},
        {RD, A,  1, RISK_DENY_GLOBAL_REDUCING,     RISK_ALLOW,              RD},
        {A,  RD, 1, RISK_DENY_ACCOUNT_REDUCING,    RISK_ALLOW,              RD},
        {A,  H,  1, RISK_DENY_ACCOUNT_HALTED,      RISK_DENY_ACCOUNT_HALTED,H},
        {H,  A,  1, RISK_DENY_GLOBAL_HALTED,       RISK_DENY_GLOBAL_HALTED, H},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct state_case *c = &cases[i];
        struct risk_gate *g = gate_with_account();
        if (c->breached) {
            struct risk_limits lim = table_limits();
            lim.max_loss = R(10000);
            cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_PAPER, &lim, NULL), ATP_OK);
            cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_PAPER, -R(10000), T0), ATP_OK);
        }
        cr_assert_eq(risk_set_global_state(g, c->global, T0), ATP_OK);
        cr_assert_eq(risk_set_account_state(g, ACC, c->account, T0), ATP_OK);
        enum risk_state eff;
        cr_assert_eq(risk_effective_state(g, ACC, TRADE_MODE_PAPER, &eff), ATP_OK);
        cr_expect_eq(eff, c->want_effective, "case %zu: effective %s", i, risk_state_name(eff));

        struct order_env e;
        struct risk_decision d;
        env_init(&e, T0);
        enum risk_reason got = check(g, &e, &d);
        cr_expect_eq(got, c->want_entry, "case %zu entry: got %s, want %s", i,
                     risk_reason_name(got), risk_reason_name(c->want_entry));
        cr_expect_eq(d.state, c->want_effective, "case %zu", i);
        env_init(&e, T0);
        e.req.side = ORDER_SIDE_SELL;
        e.ctx.position_qty = 130;
        got = check(g, &e, &d);
        cr_expect_eq(got, c->want_exit, "case %zu exit: got %s, want %s", i, risk_reason_name(got),
                     risk_reason_name(c->want_exit));
        e.ctx.action = RISK_ACTION_CANCEL;
        cr_expect_eq(check(g, &e, &d), RISK_ALLOW, "case %zu cancel", i);
        risk_free(g);
    }
}

struct event_log {
    int breaches;
    uint64_t breach_account;
    enum trade_mode breach_mode;
    px_t breach_limit, breach_pnl;
    ts_ns breach_ts;
    int changes;
    struct risk_state_change last;
};

static void on_breach(void *ctx, uint64_t account_id, enum trade_mode mode, px_t limit, px_t pnl,
                      ts_ns ts)
{
    struct event_log *log = ctx;
    log->breaches++;
    log->breach_account = account_id;
    log->breach_mode = mode;
    log->breach_limit = limit;
    log->breach_pnl = pnl;
    log->breach_ts = ts;
}

static void on_change(void *ctx, const struct risk_state_change *c)
{
    struct event_log *log = ctx;
    log->changes++;
    log->last = *c;
}

Test(risk, state_change_events)
{
    struct risk_gate *g = gate_with_account();
    struct event_log log;
    memset(&log, 0, sizeof log);
    struct risk_events ev = {&log, on_breach, on_change};
    risk_set_events(g, &ev);

    cr_assert_eq(risk_set_global_state(g, RISK_STATE_ACTIVE, T0), ATP_OK);
    cr_assert_eq(log.changes, 0); /* unchanged: no event */
    cr_assert_eq(risk_set_global_state(g, RISK_STATE_HALTED, T0 + 1), ATP_OK);
    cr_assert_eq(log.changes, 1);
    cr_assert_eq(log.last.scope, RISK_SCOPE_GLOBAL);
    cr_assert_eq(log.last.account_id, 0);
    cr_assert_eq(log.last.from, RISK_STATE_ACTIVE);
    cr_assert_eq(log.last.to, RISK_STATE_HALTED);
    cr_assert_eq(log.last.ts, T0 + 1);
    cr_assert_eq(risk_global_state(g), RISK_STATE_HALTED);

    cr_assert_eq(risk_set_account_state(g, ACC, RISK_STATE_REDUCING, T0 + 2), ATP_OK);
    cr_assert_eq(log.changes, 2);
    cr_assert_eq(log.last.scope, RISK_SCOPE_ACCOUNT);
    cr_assert_eq(log.last.account_id, ACC);
    cr_assert_eq(log.last.to, RISK_STATE_REDUCING);
    enum risk_state s;
    cr_assert_eq(risk_account_state(g, ACC, &s), ATP_OK);
    cr_assert_eq(s, RISK_STATE_REDUCING);

    cr_assert_eq(risk_set_account_state(g, 99, RISK_STATE_HALTED, T0), ATP_ENOTFOUND);
    cr_assert_eq(risk_set_account_state(g, ACC, RISK_STATE_COUNT, T0), ATP_EINVAL);
    cr_assert_eq(risk_set_global_state(g, (enum risk_state)-1, T0), ATP_EINVAL);
    cr_assert_eq(risk_account_state(g, 99, &s), ATP_ENOTFOUND);
    cr_assert_eq(risk_effective_state(g, 99, TRADE_MODE_PAPER, &s), ATP_ENOTFOUND);
    cr_assert_eq(risk_effective_state(g, ACC, TRADE_MODE_COUNT, &s), ATP_EINVAL);
    cr_assert_eq(log.changes, 2);

    risk_set_events(g, NULL);
    cr_assert_eq(risk_set_global_state(g, RISK_STATE_ACTIVE, T0), ATP_OK);
    cr_assert_eq(log.changes, 2);
    risk_free(g);
}

/* ---- rate limit ------------------------------------------------------------------------------ */

static enum risk_reason act_at(struct risk_gate *g, enum risk_action action, enum trade_mode mode,
                               uint64_t account, ts_ns now, struct risk_decision *d)
{
    struct order_env e;
    env_init(&e, now);
    e.ctx.action = action;
    e.req.mode = mode;
    e.req.account_id = account;
    return check(g, &e, d);
}

Test(risk, rate_exactly_ten_in_a_second_then_eleventh_denied)
{
    struct risk_gate *g = gate_with_account();
    struct risk_decision d;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + i * 100 * MS, &d), RISK_ALLOW,
                     "order %d: %s", i + 1, d.msg);
    /* 11th, 1 ns before the first leaves the window (T0, T0 + 1 s]. */
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + SEC - 1, &d), RISK_DENY_RATE_LIMIT);
    cr_assert_eq(d.limit, 10);
    cr_assert_eq(d.actual, 11);
    cr_assert_eq(d.retry_at, T0 + SEC);
    cr_assert(strstr(d.msg, "PLACE would be action 11 in 1 s for account 42 (PAPER), limit 10 per "
                            "second; next slot in 1 ns") != NULL,
              "%s", d.msg);
    ts_ns next;
    cr_assert_eq(risk_rate_next_slot(g, ACC, TRADE_MODE_PAPER, T0 + SEC - 1, &next), ATP_OK);
    cr_assert_eq(next, T0 + SEC);
    /* Exactly 1 s after the first: it has left the window. */
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + SEC, &d), RISK_ALLOW, "%s", d.msg);
    /* The window slides: now the oldest is T0 + 100 ms. */
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + SEC + 50 * MS, &d),
                 RISK_DENY_RATE_LIMIT);
    cr_assert_eq(d.retry_at, T0 + SEC + 100 * MS);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + SEC + 100 * MS, &d), RISK_ALLOW);
    /* After a quiet second, a full burst again. */
    for (int i = 0; i < 10; i++)
        cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + 5 * SEC, &d), RISK_ALLOW);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + 5 * SEC, &d), RISK_DENY_RATE_LIMIT);
    risk_free(g);
}

Test(risk, rate_counts_place_modify_cancel_not_denials)
{
    struct risk_gate *g = gate_with_account();
    struct risk_decision d;
    struct order_env e;
    /* Denied orders take no slot. */
    for (int i = 0; i < 20; i++) {
        env_init(&e, T0);
        e.req.qty = 70;
        cr_assert_eq(check(g, &e, &d), RISK_DENY_QTY_NOT_LOT_MULTIPLE);
    }
    for (int i = 0; i < 5; i++)
        cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0, &d), RISK_ALLOW);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(act_at(g, MODIFY, TRADE_MODE_PAPER, ACC, T0, &d), RISK_ALLOW);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(act_at(g, CANCEL, TRADE_MODE_PAPER, ACC, T0, &d), RISK_ALLOW);
    /* The 11th action is denied whatever it is, a cancel too (SEBI counts cancels). */
    cr_assert_eq(act_at(g, CANCEL, TRADE_MODE_PAPER, ACC, T0, &d), RISK_DENY_RATE_LIMIT);
    cr_assert(strstr(d.msg, "CANCEL would be action 11") != NULL, "%s", d.msg);
    cr_assert_eq(act_at(g, MODIFY, TRADE_MODE_PAPER, ACC, T0, &d), RISK_DENY_RATE_LIMIT);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0, &d), RISK_DENY_RATE_LIMIT);
    /* Other checks come first: a faulty order reports its own fault, not the rate. */
    env_init(&e, T0);
    e.req.qty = 70;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_QTY_NOT_LOT_MULTIPLE);
    env_init(&e, T0);
    e.ctx.open_orders = 5;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_OPEN_ORDERS);
    /* A cancel in HALTED still counts and is still limited. */
    cr_assert_eq(risk_set_account_state(g, ACC, RISK_STATE_HALTED, T0), ATP_OK);
    cr_assert_eq(act_at(g, CANCEL, TRADE_MODE_PAPER, ACC, T0, &d), RISK_DENY_RATE_LIMIT);
    cr_assert_eq(act_at(g, CANCEL, TRADE_MODE_PAPER, ACC, T0 + SEC, &d), RISK_ALLOW);
    risk_free(g);
}

Test(risk, rate_window_per_account_and_mode)
{
    struct risk_gate *g = gate_with_account();
    cr_assert_eq(risk_account_add(g, 43), ATP_OK);
    struct risk_decision d;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0, &d), RISK_ALLOW);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0, &d), RISK_DENY_RATE_LIMIT);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_LIVE, ACC, T0, &d), RISK_ALLOW);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, 43, T0, &d), RISK_ALLOW);
    cr_assert_eq(risk_rate_next_slot(g, 99, TRADE_MODE_PAPER, T0, &(ts_ns){0}), ATP_ENOTFOUND);
    cr_assert_eq(risk_rate_next_slot(g, ACC, TRADE_MODE_COUNT, T0, &(ts_ns){0}), ATP_EINVAL);
    risk_free(g);
}

Test(risk, rate_limit_change_takes_effect_at_once)
{
    struct risk_gate *g = gate_with_account();
    struct risk_decision d;
    for (int i = 0; i < 7; i++)
        cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + i * MS, &d), RISK_ALLOW);
    struct risk_limits lim = table_limits();
    lim.orders_per_sec = 5;
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_PAPER, &lim, NULL), ATP_OK);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + 10 * MS, &d), RISK_DENY_RATE_LIMIT);
    cr_assert_eq(d.limit, 5);
    cr_assert_eq(d.actual, 6);
    /* The newest five were kept (T0 + 2..6 ms): the first slot frees at T0 + 1 s + 2 ms. */
    cr_assert_eq(d.retry_at, T0 + SEC + 2 * MS);
    lim.orders_per_sec = 20;
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_PAPER, &lim, NULL), ATP_OK);
    for (int i = 0; i < 15; i++)
        cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + 20 * MS, &d), RISK_ALLOW,
                     "%d: %s", i, d.msg);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0 + 20 * MS, &d), RISK_DENY_RATE_LIMIT);
    risk_free(g);
}

Test(ratelimit, ring)
{
    struct risk_rate r;
    cr_assert_eq(risk_rate_init(&r, 0), ATP_EINVAL);
    risk_rate_record(&r, 100); /* no-op, no crash */
    cr_assert_not(risk_rate_allows(&r, 100, 1000, NULL));
    risk_rate_cleanup(&r);
    cr_assert_eq(risk_rate_init(&r, 3), ATP_OK);
    ts_ns retry;
    for (int i = 0; i < 3; i++) {
        cr_assert(risk_rate_allows(&r, 100 + i, 1000, &retry));
        cr_assert_eq(retry, 100 + i);
        risk_rate_record(&r, 100 + i);
    }
    cr_assert_not(risk_rate_allows(&r, 1099, 1000, &retry));
    cr_assert_eq(retry, 1100);
    cr_assert(risk_rate_allows(&r, 1100, 1000, NULL));
    cr_assert_not(risk_rate_allows(&r, 50, 1000, NULL)); /* clock went back: deny */
    risk_rate_record(&r, 1100);
    /* Recording an earlier time keeps the ring ordered: stored as the newest (1100). */
    risk_rate_record(&r, 1101);
    risk_rate_record(&r, 900);
    cr_assert_eq(r.count, 3);
    cr_assert_not(risk_rate_allows(&r, 2099, 1000, &retry));
    cr_assert_eq(retry, 2100);
    cr_assert(risk_rate_allows(&r, 2100, 1000, NULL)); /* (1100, 2100] holds 1101, 1101 */
    /* Resize down keeps the newest; up keeps all. */
    cr_assert_eq(risk_rate_resize(&r, 0), ATP_EINVAL);
    cr_assert_eq(risk_rate_resize(&r, 1), ATP_OK);
    cr_assert_eq(r.count, 1);
    cr_assert_eq(r.ts[r.head], 1101);
    cr_assert_eq(risk_rate_resize(&r, 4), ATP_OK);
    cr_assert_eq(r.count, 1);
    risk_rate_record(&r, 1200);
    cr_assert_eq(r.count, 2);
    cr_assert_eq(r.ts[r.head], 1101);
    atp_alloc_fail_after(1);
    cr_assert_eq(risk_rate_resize(&r, 8), ATP_ENOMEM);
    cr_assert_eq(r.cap, 4);
    cr_assert_eq(r.count, 2);
    risk_rate_cleanup(&r);
}

Test(ratelimit, window_at_the_end_of_time)
{
    struct risk_rate r;
    cr_assert_eq(risk_rate_init(&r, 1), ATP_OK);
    risk_rate_record(&r, INT64_MAX - 5);
    ts_ns retry;
    cr_assert_not(risk_rate_allows(&r, INT64_MAX - 1, SEC, &retry));
    cr_assert_eq(retry, INT64_MAX);
    risk_rate_cleanup(&r);
}

/* ---- loss limit ------------------------------------------------------------------------------ */

Test(risk, loss_breach_raised_once_then_acknowledged)
{
    struct risk_gate *g = gate_with_account();
    struct event_log log;
    memset(&log, 0, sizeof log);
    struct risk_events ev = {&log, on_breach, on_change};
    risk_set_events(g, &ev);
    struct risk_limits lim = table_limits();
    lim.max_loss = R(10000);
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_LIVE, &lim, NULL), ATP_OK);

    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(9999), T0), ATP_OK);
    cr_assert_eq(log.breaches, 0);
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(10000), T0 + 1), ATP_OK); /* <= -limit */
    cr_assert_eq(log.breaches, 1);
    cr_assert_eq(log.breach_account, ACC);
    cr_assert_eq(log.breach_mode, TRADE_MODE_LIVE);
    cr_assert_eq(log.breach_limit, R(10000));
    cr_assert_eq(log.breach_pnl, -R(10000));
    cr_assert_eq(log.breach_ts, T0 + 1);
    cr_assert_eq(log.changes, 1);
    cr_assert_eq(log.last.scope, RISK_SCOPE_LOSS);
    cr_assert_eq(log.last.mode, TRADE_MODE_LIVE);
    cr_assert_eq(log.last.from, RISK_STATE_ACTIVE);
    cr_assert_eq(log.last.to, RISK_STATE_REDUCING);

    /* Further reports while breached: no new event, P&L recorded. */
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(12000), T0 + 2), ATP_OK);
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(15000), T0 + 3), ATP_OK);
    cr_assert_eq(log.breaches, 1);
    cr_assert_eq(log.changes, 1);
    struct risk_loss_status st;
    cr_assert_eq(risk_loss_status(g, ACC, TRADE_MODE_LIVE, &st), ATP_OK);
    cr_assert_eq(st.breached, 1);
    cr_assert_eq(st.max_loss, R(10000));
    cr_assert_eq(st.last_pnl, -R(15000));
    cr_assert_eq(st.last_pnl_ts, T0 + 3);
    cr_assert_eq(st.breach_pnl, -R(10000));
    cr_assert_eq(st.breached_ts, T0 + 1);
    cr_assert_eq(st.breach_count, 1);

    /* Orders: exits only, in LIVE only. */
    struct order_env e;
    struct risk_decision d;
    env_init(&e, T0 + 4);
    e.req.mode = TRADE_MODE_LIVE;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_LOSS_LIMIT_BREACHED);
    cr_assert_eq(d.limit, R(10000));
    cr_assert_eq(d.actual, -R(10000));
    cr_assert_eq(d.state, RISK_STATE_REDUCING);
    cr_assert(strstr(d.msg, "loss limit 10000 breached (net P&L -10000) in LIVE") != NULL, "%s",
              d.msg);
    e.ctx.position_qty = 65;
    e.req.side = ORDER_SIDE_SELL;
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW, "%s", d.msg);
    env_init(&e, T0 + 4);
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW, "paper is separate: %s", d.msg);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_LIVE, 0, &d),
                 RISK_DENY_LOSS_LIMIT_BREACHED);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_PAPER, 0, &d), RISK_ALLOW);

    /* Acknowledging while still beyond the limit is refused; the breach stays. */
    struct atp_err err;
    cr_assert_eq(risk_acknowledge_breach(g, ACC, TRADE_MODE_LIVE, T0 + 5, &err), ATP_ESTATE);
    cr_assert(strstr(err.msg, "net P&L -15000 is still beyond the loss limit 10000") != NULL, "%s",
              err.msg);
    cr_assert_eq(risk_loss_status(g, ACC, TRADE_MODE_LIVE, &st), ATP_OK);
    cr_assert_eq(st.breached, 1);
    cr_assert_eq(log.changes, 1);

    /* Raise the limit, then acknowledge: ACTIVE again, re-armed at the new limit. */
    lim.max_loss = R(20000);
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_LIVE, &lim, NULL), ATP_OK);
    cr_assert_eq(risk_loss_status(g, ACC, TRADE_MODE_LIVE, &st), ATP_OK);
    cr_assert_eq(st.breached, 1, "a new limit alone does not clear the breach");
    cr_assert_eq(risk_acknowledge_breach(g, ACC, TRADE_MODE_LIVE, T0 + 6, &err), ATP_OK, "%s",
                 err.msg);
    cr_assert_eq(log.changes, 2);
    cr_assert_eq(log.last.scope, RISK_SCOPE_LOSS);
    cr_assert_eq(log.last.from, RISK_STATE_REDUCING);
    cr_assert_eq(log.last.to, RISK_STATE_ACTIVE);
    cr_assert_eq(log.last.ts, T0 + 6);
    enum risk_state s;
    cr_assert_eq(risk_effective_state(g, ACC, TRADE_MODE_LIVE, &s), ATP_OK);
    cr_assert_eq(s, RISK_STATE_ACTIVE);
    env_init(&e, T0 + 7);
    e.req.mode = TRADE_MODE_LIVE;
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW, "%s", d.msg);
    cr_assert_eq(risk_acknowledge_breach(g, ACC, TRADE_MODE_LIVE, T0 + 8, &err), ATP_ESTATE);
    cr_assert(strstr(err.msg, "no loss-limit breach") != NULL, "%s", err.msg);

    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(19999), T0 + 9), ATP_OK);
    cr_assert_eq(log.breaches, 1);
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(20001), T0 + 10), ATP_OK);
    cr_assert_eq(log.breaches, 2);
    cr_assert_eq(risk_loss_status(g, ACC, TRADE_MODE_LIVE, &st), ATP_OK);
    cr_assert_eq(st.breach_count, 2);

    /* Turning the limit off also lets the user acknowledge. */
    lim.max_loss = 0;
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_LIVE, &lim, NULL), ATP_OK);
    cr_assert_eq(risk_acknowledge_breach(g, ACC, TRADE_MODE_LIVE, T0 + 11, NULL), ATP_OK);
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(1000000), T0 + 12), ATP_OK);
    cr_assert_eq(log.breaches, 2);
    risk_free(g);
}

Test(risk, loss_limit_off_and_errors)
{
    struct risk_gate *g = gate_with_account();
    struct event_log log;
    memset(&log, 0, sizeof log);
    struct risk_events ev = {&log, on_breach, on_change};
    risk_set_events(g, &ev);
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_PAPER, PX_MIN, T0), ATP_OK); /* max_loss 0 = off */
    cr_assert_eq(log.breaches, 0);
    cr_assert_eq(risk_on_pnl(g, 99, TRADE_MODE_PAPER, 0, T0), ATP_ENOTFOUND);
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_COUNT, 0, T0), ATP_EINVAL);
    struct atp_err err;
    cr_assert_eq(risk_acknowledge_breach(g, 99, TRADE_MODE_PAPER, T0, &err), ATP_ENOTFOUND);
    cr_assert_eq(risk_acknowledge_breach(g, ACC, TRADE_MODE_COUNT, T0, &err), ATP_EINVAL);
    struct risk_loss_status st;
    cr_assert_eq(risk_loss_status(g, 99, TRADE_MODE_PAPER, &st), ATP_ENOTFOUND);
    cr_assert_eq(risk_loss_status(g, ACC, TRADE_MODE_COUNT, &st), ATP_EINVAL);
    /* A breach in paper leaves live alone, and the other way round. */
    struct risk_limits lim = table_limits();
    lim.max_loss = R(500);
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_PAPER, &lim, NULL), ATP_OK);
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_PAPER, -R(501), T0), ATP_OK);
    cr_assert_eq(log.breaches, 1);
    cr_assert_eq(log.breach_mode, TRADE_MODE_PAPER);
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(501), T0), ATP_OK);
    cr_assert_eq(log.breaches, 1);
    enum risk_state s;
    cr_assert_eq(risk_effective_state(g, ACC, TRADE_MODE_LIVE, &s), ATP_OK);
    cr_assert_eq(s, RISK_STATE_ACTIVE);
    cr_assert_eq(risk_effective_state(g, ACC, TRADE_MODE_PAPER, &s), ATP_OK);
    cr_assert_eq(s, RISK_STATE_REDUCING);
    /* Recovering above the limit before acknowledging: acknowledgement works. */
    cr_assert_eq(risk_on_pnl(g, ACC, TRADE_MODE_PAPER, -R(400), T0 + 1), ATP_OK);
    cr_assert_eq(risk_loss_status(g, ACC, TRADE_MODE_PAPER, &st), ATP_OK);
    cr_assert_eq(st.breached, 1);
    cr_assert_eq(risk_acknowledge_breach(g, ACC, TRADE_MODE_PAPER, T0 + 2, &err), ATP_OK);
    risk_free(g);
}

/* ---- strategies ------------------------------------------------------------------------------ */

Test(risk, max_strategies_per_account_and_mode)
{
    struct risk_gate *g = gate_with_account();
    struct risk_limits lim = table_limits();
    lim.max_strategies = 1;
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_LIVE, &lim, NULL), ATP_OK);
    struct risk_decision d;
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_PAPER, 4, &d), RISK_ALLOW);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_PAPER, 5, &d),
                 RISK_DENY_MAX_STRATEGIES);
    cr_assert_eq(d.reason, RISK_DENY_MAX_STRATEGIES);
    cr_assert_eq(d.limit, 5);
    cr_assert_eq(d.actual, 6);
    cr_assert_str_eq(d.msg, "would be strategy 6 running for account 42 (PAPER), limit 5");
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_LIVE, 0, &d), RISK_ALLOW);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_LIVE, 1, &d),
                 RISK_DENY_MAX_STRATEGIES);
    cr_assert_eq(d.limit, 1);
    cr_assert_eq(d.actual, 2);
    /* 0 = off. */
    lim.max_strategies = 0;
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_LIVE, &lim, NULL), ATP_OK);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_LIVE, 1000, &d), RISK_ALLOW);
    /* Trading states: no strategy starts unless ACTIVE. */
    cr_assert_eq(risk_set_account_state(g, ACC, RISK_STATE_REDUCING, T0), ATP_OK);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_LIVE, 0, &d),
                 RISK_DENY_ACCOUNT_REDUCING);
    cr_assert_str_eq(d.msg, "account 42 is REDUCING: exits only; no strategy may start");
    cr_assert_eq(risk_set_global_state(g, RISK_STATE_HALTED, T0), ATP_OK);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_LIVE, 0, &d),
                 RISK_DENY_GLOBAL_HALTED);
    cr_assert_eq(d.state, RISK_STATE_HALTED);
    /* Bad input. */
    cr_assert_eq(risk_check_strategy_start(g, 99, TRADE_MODE_LIVE, 0, &d),
                 RISK_DENY_UNKNOWN_ACCOUNT);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_COUNT, 0, &d),
                 RISK_DENY_INVALID_REQUEST);
    cr_assert_eq(risk_check_strategy_start(g, ACC, TRADE_MODE_LIVE, -1, &d),
                 RISK_DENY_INVALID_REQUEST);
    risk_free(g);
}

Test(risk, limits_per_mode_are_separate)
{
    struct risk_gate *g = gate_with_account();
    struct risk_limits paper = table_limits(), live = table_limits();
    paper.orders_per_sec = 2;
    paper.max_order_value = R(10000000);
    live.max_order_value = R(100000);
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_PAPER, &paper, NULL), ATP_OK);
    cr_assert_eq(risk_set_limits(g, ACC, TRADE_MODE_LIVE, &live, NULL), ATP_OK);
    struct risk_limits got;
    cr_assert_eq(risk_get_limits(g, ACC, TRADE_MODE_PAPER, &got), ATP_OK);
    cr_assert_eq(memcmp(&got, &paper, sizeof got), 0);
    cr_assert_eq(risk_get_limits(g, ACC, TRADE_MODE_LIVE, &got), ATP_OK);
    cr_assert_eq(memcmp(&got, &live, sizeof got), 0);

    struct risk_decision d;
    struct order_env e;
    env_init(&e, T0);
    cr_assert_eq(check(g, &e, &d), RISK_ALLOW); /* paper: 16.25 lakh < 1 crore */
    e.req.mode = TRADE_MODE_LIVE;
    cr_assert_eq(check(g, &e, &d), RISK_DENY_ORDER_VALUE); /* live: > 1 lakh */
    cr_assert_eq(d.limit, R(100000));
    cr_assert_eq(d.actual, R(1625000));
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0, &d), RISK_ALLOW);
    cr_assert_eq(act_at(g, PLACE, TRADE_MODE_PAPER, ACC, T0, &d), RISK_DENY_RATE_LIMIT);
    cr_assert_eq(d.limit, 2);
    cr_assert_eq(act_at(g, CANCEL, TRADE_MODE_LIVE, ACC, T0, &d), RISK_ALLOW);
    risk_free(g);
}

/* ---- memory ---------------------------------------------------------------------------------- */

Test(risk, many_accounts)
{
    struct risk_gate *g = risk_new();
    for (uint64_t id = 1; id <= 1000; id++)
        cr_assert_eq(risk_account_add(g, id * 7919), ATP_OK);
    for (uint64_t id = 1; id <= 1000; id++) {
        cr_assert(risk_account_known(g, id * 7919));
        cr_assert_not(risk_account_known(g, id * 7919 + 1));
    }
    cr_assert_not(risk_account_known(g, 0));
    cr_assert_eq(risk_set_account_state(g, 500 * 7919, RISK_STATE_HALTED, T0), ATP_OK);
    enum risk_state s;
    cr_assert_eq(risk_account_state(g, 500 * 7919, &s), ATP_OK);
    cr_assert_eq(s, RISK_STATE_HALTED);
    cr_assert_eq(risk_account_state(g, 501 * 7919, &s), ATP_OK);
    cr_assert_eq(s, RISK_STATE_ACTIVE);
    risk_free(g);
}

Test(risk, checks_do_not_allocate)
{
    struct risk_gate *g = gate_with_account();
    struct risk_decision d;
    /* Arm a failure for the next allocation; if no check allocates, it is still pending after. */
    atp_alloc_fail_after(1);
    for (int i = 0; i < 50; i++) {
        act_at(g, (enum risk_action)(i % 3), (enum trade_mode)(i % 2), ACC, T0 + i, &d);
        risk_check_strategy_start(g, ACC, TRADE_MODE_LIVE, i, &d);
        risk_on_pnl(g, ACC, TRADE_MODE_LIVE, -R(i), T0 + i);
    }
    void *p = atp_malloc(1);
    cr_assert_null(p, "a check allocated");
    atp_alloc_fail_after(0);
    risk_free(g);
}

Test(risk, enomem_leaves_the_gate_unchanged)
{
    atp_alloc_fail_after(1);
    cr_assert_null(risk_new());
    struct risk_gate *g = risk_new();
    /* Fill to the point where the next add grows both the account array and the index. */
    for (uint64_t id = 1; id <= 8; id++)
        cr_assert_eq(risk_account_add(g, id), ATP_OK);
    for (long n = 1;; n++) {
        atp_alloc_fail_after(n);
        int rc = risk_account_add(g, 100);
        atp_alloc_fail_after(0);
        if (rc == ATP_OK)
            break;
        cr_assert_eq(rc, ATP_ENOMEM, "n=%ld", n);
        cr_assert_not(risk_account_known(g, 100), "n=%ld", n);
        for (uint64_t id = 1; id <= 8; id++)
            cr_assert(risk_account_known(g, id), "n=%ld id=%llu", n, (unsigned long long)id);
        cr_assert(n < 10, "never succeeded");
    }
    cr_assert(risk_account_known(g, 100));
    /* risk_set_limits on an existing account: only the ring may be reallocated. */
    struct risk_limits lim = table_limits();
    lim.orders_per_sec = 50;
    struct atp_err err;
    atp_alloc_fail_after(1);
    cr_assert_eq(risk_set_limits(g, 100, TRADE_MODE_LIVE, &lim, &err), ATP_ENOMEM);
    atp_alloc_fail_after(0);
    struct risk_limits got;
    cr_assert_eq(risk_get_limits(g, 100, TRADE_MODE_LIVE, &got), ATP_OK);
    cr_assert_eq(got.orders_per_sec, 10);
    risk_free(g);
}
