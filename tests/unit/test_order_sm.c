/* Tests of oms/order_sm (the full state x event matrix against a table written out here, fills
 * and exact average prices, overfill, modify rules, guards, counters, properties of the table,
 * the docs staying in step with it) and of oms/tag (format, parse, limits, 1,000,000 unique
 * tags, determinism). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/order.h"
#include "oms/order_sm.h"
#include "oms/tag.h"
#include "testutil.h"

#define P(r, p) ((px_t)(r) * PX_SCALE + (px_t)(p)) /* P(100, 500) = 100.05 */

/* ---- the expected matrix ------------------------------------------------------------------- */

#define X (-1) /* refused */
#define NEW_ ORDER_STATE_NEW
#define PSUB ORDER_STATE_PENDING_SUBMIT
#define OPEN ORDER_STATE_OPEN
#define TRGP ORDER_STATE_TRIGGER_PENDING
#define PART ORDER_STATE_PARTIALLY_FILLED
#define FILD ORDER_STATE_FILLED
#define CANC ORDER_STATE_CANCELLED
#define REJD ORDER_STATE_REJECTED
#define EXPD ORDER_STATE_EXPIRED

/* Written out by hand from the design (docs/orders.md), not derived from the code. */
static const int expected[ORDER_STATE_COUNT][ORDER_EV_COUNT] = {
    /*           SUBMIT ACK_OPEN ACK_TRG TRIGGERED PART_FILL FILL  CANCEL REJECT EXPIRE MODIFY */
    [NEW_] = {   PSUB,  X,       X,      X,        X,        X,    CANC,  X,     X,     X},
    [PSUB] = {   X,     OPEN,    TRGP,   X,        PART,     FILD, CANC,  REJD,  EXPD,  X},
    [OPEN] = {   X,     X,       X,      X,        PART,     FILD, CANC,  REJD,  EXPD,  OPEN},
    [TRGP] = {   X,     X,       X,      OPEN,     PART,     FILD, CANC,  REJD,  EXPD,  TRGP},
    [PART] = {   X,     X,       X,      X,        PART,     FILD, CANC,  X,     EXPD,  PART},
    [FILD] = {   X,     X,       X,      X,        X,        X,    X,     X,     X,     X},
    [CANC] = {   X,     X,       X,      X,        X,        X,    X,     X,     X,     X},
    [REJD] = {   X,     X,       X,      X,        X,        X,    X,     X,     X,     X},
    [EXPD] = {   X,     X,       X,      X,        X,        X,    X,     X,     X,     X},
};

static struct order_request sl_buy_request(void)
{
    struct order_request r;
    memset(&r, 0, sizeof r);
    r.account_id = 7;
    r.mode = TRADE_MODE_PAPER;
    r.instrument_id = 3;
    r.side = ORDER_SIDE_BUY;
    r.type = ORDER_TYPE_SL;
    r.product = ORDER_PRODUCT_MIS;
    r.validity = ORDER_VALIDITY_DAY;
    r.qty = 10;
    r.limit_price = P(101, 0);
    r.trigger_price = P(100, 0);
    return r;
}

static struct order_request limit_request(int64_t qty, px_t price)
{
    struct order_request r = sl_buy_request();
    r.type = ORDER_TYPE_LIMIT;
    r.qty = qty;
    r.limit_price = price;
    r.trigger_price = 0;
    return r;
}

/* A consistent order sitting in state s, built directly (not through the machine under test):
 * 4 of 10 filled at 100 for PARTIALLY_FILLED, CANCELLED and EXPIRED, all 10 for FILLED. */
static struct order order_in(enum order_state s, const struct order_request *r)
{
    struct order o;
    cr_assert_eq(order_init(&o, r, 99, "A1100", 1000, NULL), ATP_OK);
    o.state = s;
    int64_t filled = 0;
    if (s == PART || s == CANC || s == EXPD)
        filled = 4;
    else if (s == FILD)
        filled = r->qty;
    if (filled) {
        o.qty_filled = filled;
        o.filled_notional = filled * P(100, 0);
        o.avg_fill_price = P(100, 0);
        o.fill_count = 1;
    }
    cr_assert(order_is_consistent(&o), "fixture for %s", order_state_name(s));
    return o;
}

/* Arguments that satisfy every guard of ev on o, so only the table decides. */
static struct order_sm_args args_for(const struct order *o, enum order_event ev)
{
    struct order_sm_args a;
    memset(&a, 0, sizeof a);
    a.ts = 5000;
    int64_t remaining = order_qty_remaining(o);
    if (ev == ORDER_EV_PARTIAL_FILL) {
        a.fill_qty = 1;
        a.fill_price = P(100, 500);
    } else if (ev == ORDER_EV_FILL) {
        a.fill_qty = remaining > 0 ? remaining : 1;
        a.fill_price = P(100, 500);
    } else if (ev == ORDER_EV_MODIFY) {
        a.new_qty = 12;
        a.new_limit_price = o->req.limit_price;
        a.new_trigger_price = o->req.trigger_price;
    } else if (ev == ORDER_EV_CANCEL || ev == ORDER_EV_REJECT || ev == ORDER_EV_EXPIRE) {
        a.reason = "because";
    }
    return a;
}

/* The table itself, pair by pair. */
Test(order_sm, table_matches_expected_matrix)
{
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        for (int e = 0; e < ORDER_EV_COUNT; e++) {
            enum order_state to = (enum order_state)77;
            int ok = order_sm_next((enum order_state)s, (enum order_event)e, &to);
            cr_expect_eq(ok, expected[s][e] != X, "%s x %s: allowed=%d",
                         order_state_name((enum order_state)s),
                         order_event_name((enum order_event)e), ok);
            if (ok)
                cr_expect_eq((int)to, expected[s][e], "%s x %s -> %s",
                             order_state_name((enum order_state)s),
                             order_event_name((enum order_event)e), order_state_name(to));
            else
                cr_expect_eq((int)to, 77, "*to written on a refusal");
        }
}

/* Every state x every event through order_sm_apply: allowed ones land in the expected state,
 * refused ones return ATP_ESTATE, leave the order byte-identical and are counted. */
Test(order_sm, apply_full_matrix)
{
    struct order_request r = sl_buy_request();
    struct order_sm_stats stats;
    memset(&stats, 0, sizeof stats);
    uint64_t want_applied = 0, want_refused = 0;
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        for (int e = 0; e < ORDER_EV_COUNT; e++) {
            enum order_state st = (enum order_state)s;
            enum order_event ev = (enum order_event)e;
            struct order o = order_in(st, &r);
            struct order before = o;
            struct order_sm_args a = args_for(&o, ev);
            struct atp_err err;
            atp_err_clear(&err);
            int rc = order_sm_apply(&o, ev, &a, &stats, &err);
            if (expected[s][e] == X) {
                want_refused++;
                cr_expect_eq(rc, ATP_ESTATE, "%s x %s: rc %d (%s)", order_state_name(st),
                             order_event_name(ev), rc, err.msg);
                cr_expect_eq(memcmp(&o, &before, sizeof o), 0, "%s x %s changed the order",
                             order_state_name(st), order_event_name(ev));
                cr_expect_eq(stats.refused_by[s][e], 1);
                cr_expect_str_eq(err.field, "event");
                cr_expect_neq(strstr(err.msg, "is not a legal transition"), NULL, "%s", err.msg);
            } else {
                want_applied++;
                cr_expect_eq(rc, ATP_OK, "%s x %s: rc %d (%s)", order_state_name(st),
                             order_event_name(ev), rc, err.msg);
                cr_expect_eq((int)o.state, expected[s][e], "%s x %s -> %s",
                             order_state_name(st), order_event_name(ev),
                             order_state_name(o.state));
                cr_expect_eq(o.updated_ts, 5000);
                cr_expect(order_is_consistent(&o));
                cr_expect_eq(stats.refused_by[s][e], 0);
                /* a state change adds one history entry, a self-transition none */
                uint32_t added = o.history_count - before.history_count;
                cr_expect_eq(added, o.state != st ? 1u : 0u);
                if (added)
                    cr_expect_eq(order_history_at(&o, order_history_len(&o) - 1)->state, o.state);
            }
        }
    cr_expect_eq(stats.applied, want_applied);
    cr_expect_eq(stats.refused, want_refused);
    cr_expect_eq(stats.refused_illegal, want_refused);
    cr_expect_eq(stats.refused_guard, 0);
    cr_expect_eq(want_applied, 27, "the table has 27 rows");
}

Test(order_sm, refusal_message)
{
    struct order_request r = limit_request(10, P(100, 0));
    struct order o = order_in(FILD, &r);
    struct order_sm_args a = {.ts = 1};
    struct atp_err err;
    cr_assert_eq(order_sm_apply(&o, ORDER_EV_ACK_OPEN, &a, NULL, &err), ATP_ESTATE);
    cr_expect_str_eq(err.msg, "FILLED -> OPEN via ACK_OPEN is not a legal transition");
    cr_expect_eq(err.code, ATP_ESTATE);

    o = order_in(CANC, &r);
    cr_assert_eq(order_sm_apply(&o, ORDER_EV_MODIFY, &a, NULL, &err), ATP_ESTATE);
    cr_expect_str_eq(err.msg, "CANCELLED -> CANCELLED via MODIFY is not a legal transition");
    o = order_in(NEW_, &r);
    cr_assert_eq(order_sm_apply(&o, ORDER_EV_TRIGGERED, &a, NULL, &err), ATP_ESTATE);
    cr_expect_str_eq(err.msg, "NEW -> OPEN via TRIGGERED is not a legal transition");
}

/* ---- a life, fills, exact money ------------------------------------------------------------ */

static void apply_ok(struct order *o, enum order_event ev, struct order_sm_args a,
                     struct order_sm_stats *stats)
{
    struct atp_err err;
    atp_err_clear(&err);
    int rc = order_sm_apply(o, ev, &a, stats, &err);
    cr_assert_eq(rc, ATP_OK, "%s in %s: %s", order_event_name(ev), order_state_name(o->state),
                 err.msg);
}

/* 10 @ 100.05 then 5 @ 100.10: notional 1000.50 + 500.50 = 1501.00 exactly; average
 * 1501 / 15 = 100.0666.. -> 100.0667. */
Test(order_sm, partial_fills_then_fill_exact_money)
{
    struct order_request r = limit_request(15, P(100, 1000));
    struct order o;
    cr_assert_eq(order_init(&o, &r, 1, "A1100", 100, NULL), ATP_OK);
    struct order_sm_stats stats = {0};
    apply_ok(&o, ORDER_EV_SUBMIT, (struct order_sm_args){.ts = 200}, &stats);
    apply_ok(&o, ORDER_EV_ACK_OPEN,
             (struct order_sm_args){.ts = 300, .broker_order_id = "250101000000001"}, &stats);
    cr_expect_str_eq(o.broker_order_id, "250101000000001");

    cr_assert_eq(order_sm_fill_event(&o, 10), ORDER_EV_PARTIAL_FILL);
    apply_ok(&o, ORDER_EV_PARTIAL_FILL,
             (struct order_sm_args){.ts = 400, .fill_qty = 10, .fill_price = P(100, 500)}, &stats);
    cr_expect_eq(o.state, PART);
    cr_expect_eq(o.qty_filled, 10);
    cr_expect_eq(o.filled_notional, P(1000, 5000));
    cr_expect_eq(o.avg_fill_price, P(100, 500));
    cr_expect_eq(order_qty_remaining(&o), 5);

    cr_assert_eq(order_sm_fill_event(&o, 5), ORDER_EV_FILL);
    apply_ok(&o, ORDER_EV_FILL,
             (struct order_sm_args){.ts = 500, .fill_qty = 5, .fill_price = P(100, 1000)}, &stats);
    cr_expect_eq(o.state, FILD);
    cr_expect_eq(o.qty_filled, 15);
    cr_expect_eq(o.filled_notional, 15010000, "1501.0000 exactly");
    cr_expect_eq(o.avg_fill_price, 1000667, "100.0667");
    cr_expect_eq(o.fill_count, 2);
    cr_expect_eq(o.updated_ts, 500);
    cr_expect_eq(o.created_ts, 100);
    cr_expect_eq(stats.applied, 4);
    cr_expect_eq(stats.refused, 0);

    static const struct order_hist want[] = {
        {NEW_, 100}, {PSUB, 200}, {OPEN, 300}, {PART, 400}, {FILD, 500},
    };
    cr_assert_eq(order_history_len(&o), 5);
    for (uint32_t i = 0; i < 5; i++) {
        cr_expect_eq(order_history_at(&o, i)->state, want[i].state, "history %u", i);
        cr_expect_eq(order_history_at(&o, i)->ts, want[i].ts, "history %u", i);
    }
}

/* Many odd-priced partial fills: the notional is the exact sum, the average its rounding. */
Test(order_sm, many_fills_exact_sum)
{
    struct order_request r = limit_request(1000, P(250, 0));
    struct order o;
    cr_assert_eq(order_init(&o, &r, 1, "A1100", 0, NULL), ATP_OK);
    apply_ok(&o, ORDER_EV_SUBMIT, (struct order_sm_args){.ts = 1}, NULL);
    apply_ok(&o, ORDER_EV_ACK_OPEN, (struct order_sm_args){.ts = 2}, NULL);
    px_t want = 0;
    int64_t filled = 0;
    for (int i = 1; filled < 1000; i++) {
        int64_t q = i % 7 + 1;
        if (filled + q > 1000)
            q = 1000 - filled;
        px_t price = P(249, 0) + (px_t)(i * 37 % 20000); /* 249.0000 .. 250.9999 */
        want += q * price;
        filled += q;
        apply_ok(&o, order_sm_fill_event(&o, q),
                 (struct order_sm_args){.ts = 2 + i, .fill_qty = q, .fill_price = price}, NULL);
        cr_assert_eq(o.filled_notional, want);
        cr_assert_eq(o.avg_fill_price, order_avg_price(want, filled));
    }
    cr_expect_eq(o.state, FILD);
}

Test(order_sm, overfill_refused)
{
    struct order_request r = limit_request(10, P(100, 0));
    struct order o = order_in(OPEN, &r);
    struct order_sm_stats stats = {0};
    apply_ok(&o, ORDER_EV_PARTIAL_FILL,
             (struct order_sm_args){.ts = 1, .fill_qty = 8, .fill_price = P(100, 0)}, &stats);
    struct order before = o;
    struct atp_err err;
    for (int e = ORDER_EV_PARTIAL_FILL; e <= ORDER_EV_FILL; e++) {
        struct order_sm_args a = {.ts = 2, .fill_qty = 3, .fill_price = P(100, 0)};
        cr_expect_eq(order_sm_apply(&o, (enum order_event)e, &a, &stats, &err), ATP_ERANGE);
        cr_expect_str_eq(err.field, "fill_qty");
        cr_expect_str_eq(err.msg, "overfill: a fill of 3 with 8 of 10 already filled");
        cr_expect_eq(memcmp(&o, &before, sizeof o), 0);
    }
    cr_expect_eq(order_sm_fill_event(&o, 3), ORDER_EV_PARTIAL_FILL);
    cr_expect_eq(stats.refused, 2);
    cr_expect_eq(stats.refused_guard, 2);
    cr_expect_eq(stats.refused_illegal, 0);
    cr_expect_eq(stats.refused_by[PART][ORDER_EV_FILL], 1);
    cr_expect_eq(stats.refused_by[PART][ORDER_EV_PARTIAL_FILL], 1);

    /* the exact rest is still accepted */
    apply_ok(&o, ORDER_EV_FILL, (struct order_sm_args){.ts = 3, .fill_qty = 2, .fill_price = 1},
             &stats);
    cr_expect_eq(o.state, FILD);
    /* and nothing more after that */
    struct order_sm_args more = {.ts = 4, .fill_qty = 1, .fill_price = 1};
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_PARTIAL_FILL, &more, &stats, &err), ATP_ESTATE);
    cr_expect_eq(stats.refused_illegal, 1);
}

/* The fill event must say what the quantity does; bad quantities and prices are refused. */
Test(order_sm, fill_guards)
{
    struct order_request r = limit_request(10, P(100, 0));
    static const struct {
        enum order_event ev;
        int64_t qty;
        px_t price;
        int rc;
        const char *field;
    } cases[] = {
        {ORDER_EV_PARTIAL_FILL, 10, P(100, 0), ATP_EINVAL, "fill_qty"}, /* completes: FILL */
        {ORDER_EV_FILL, 9, P(100, 0), ATP_EINVAL, "fill_qty"},          /* leaves 1: PARTIAL */
        {ORDER_EV_PARTIAL_FILL, 0, P(100, 0), ATP_EINVAL, "fill_qty"},
        {ORDER_EV_PARTIAL_FILL, -2, P(100, 0), ATP_EINVAL, "fill_qty"},
        {ORDER_EV_FILL, 10, 0, ATP_EINVAL, "fill_price"},
        {ORDER_EV_FILL, 10, -5, ATP_EINVAL, "fill_price"},
        {ORDER_EV_FILL, 11, P(100, 0), ATP_ERANGE, "fill_qty"},
        {ORDER_EV_PARTIAL_FILL, 9, P(100, 0), ATP_OK, ""},
        {ORDER_EV_FILL, 10, P(100, 0), ATP_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct order o = order_in(OPEN, &r);
        struct order before = o;
        struct order_sm_args a = {.ts = 9, .fill_qty = cases[i].qty, .fill_price = cases[i].price};
        struct atp_err err;
        atp_err_clear(&err);
        int rc = order_sm_apply(&o, cases[i].ev, &a, NULL, &err);
        cr_expect_eq(rc, cases[i].rc, "case %zu: rc %d (%s)", i, rc, err.msg);
        cr_expect_str_eq(err.field, cases[i].field, "case %zu", i);
        if (rc != ATP_OK)
            cr_expect_eq(memcmp(&o, &before, sizeof o), 0, "case %zu changed the order", i);
    }
}

Test(order_sm, notional_overflow_refused)
{
    struct order_request r = sl_buy_request();
    r.type = ORDER_TYPE_MARKET;
    r.limit_price = r.trigger_price = 0;
    r.qty = 1000000000000LL; /* 10^12 units: no price on a MARKET request to overflow with */
    struct order o = order_in(OPEN, &r);
    struct order before = o;
    struct order_sm_args a = {.ts = 1, .fill_qty = 1000000000LL, .fill_price = P(10000000, 0)};
    struct atp_err err;
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_PARTIAL_FILL, &a, NULL, &err), ATP_EOVERFLOW);
    cr_expect_str_eq(err.field, "fill_price");
    cr_expect_eq(memcmp(&o, &before, sizeof o), 0);
}

/* ---- modify -------------------------------------------------------------------------------- */

Test(order_sm, modify_rules)
{
    struct order_request lim = limit_request(10, P(100, 0));
    struct order_request sl = sl_buy_request();
    static const struct {
        const char *name;
        int use_sl;
        enum order_state state;
        int64_t qty;
        px_t limit, trigger;
        int rc;
        const char *field;
    } cases[] = {
        {"open: new qty and price", 0, OPEN, 20, P(99, 5000), 0, ATP_OK, ""},
        {"open: same terms", 0, OPEN, 10, P(100, 0), 0, ATP_OK, ""},
        {"open: qty down", 0, OPEN, 1, P(100, 0), 0, ATP_OK, ""},
        {"open: qty zero", 0, OPEN, 0, P(100, 0), 0, ATP_EINVAL, "qty"},
        {"open: price zero", 0, OPEN, 10, 0, 0, ATP_EINVAL, "limit_price"},
        {"open: limit gains a trigger", 0, OPEN, 10, P(100, 0), P(99, 0), ATP_EINVAL,
         "trigger_price"},
        {"partial: qty above filled", 0, PART, 5, P(100, 0), 0, ATP_OK, ""},
        {"partial: qty == filled", 0, PART, 4, P(100, 0), 0, ATP_EINVAL, "qty"},
        {"partial: qty below filled", 0, PART, 3, P(100, 0), 0, ATP_EINVAL, "qty"},
        {"trigger pending: new trigger", 1, TRGP, 10, P(102, 0), P(101, 5000), ATP_OK, ""},
        {"trigger pending: buy trigger above limit", 1, TRGP, 10, P(101, 0), P(101, 500),
         ATP_EINVAL, "trigger_price"},
        {"trigger pending: trigger removed", 1, TRGP, 10, P(101, 0), 0, ATP_EINVAL,
         "trigger_price"},
        {"pending submit", 0, PSUB, 20, P(100, 0), 0, ATP_ESTATE, "event"},
        {"new", 0, NEW_, 20, P(100, 0), 0, ATP_ESTATE, "event"},
        {"filled", 0, FILD, 20, P(100, 0), 0, ATP_ESTATE, "event"},
        {"cancelled", 0, CANC, 20, P(100, 0), 0, ATP_ESTATE, "event"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct order o = order_in(cases[i].state, cases[i].use_sl ? &sl : &lim);
        struct order before = o;
        struct order_sm_args a = {.ts = 77, .new_qty = cases[i].qty,
                                  .new_limit_price = cases[i].limit,
                                  .new_trigger_price = cases[i].trigger};
        struct atp_err err;
        atp_err_clear(&err);
        int rc = order_sm_apply(&o, ORDER_EV_MODIFY, &a, NULL, &err);
        cr_expect_eq(rc, cases[i].rc, "%s: rc %d (%s)", cases[i].name, rc, err.msg);
        cr_expect_str_eq(err.field, cases[i].field, "%s", cases[i].name);
        if (rc == ATP_OK) {
            cr_expect_eq(o.state, cases[i].state, "%s: state moved", cases[i].name);
            cr_expect_eq(o.req.qty, cases[i].qty);
            cr_expect_eq(o.req.limit_price, cases[i].limit);
            cr_expect_eq(o.req.trigger_price, cases[i].trigger);
            cr_expect_eq(o.modify_count, 1);
            cr_expect_eq(o.qty_filled, before.qty_filled, "fills untouched");
            cr_expect_eq(o.history_count, before.history_count, "no history entry");
            cr_expect_eq(o.updated_ts, 77);
        } else {
            cr_expect_eq(memcmp(&o, &before, sizeof o), 0, "%s changed the order",
                         cases[i].name);
        }
    }
}

/* ---- cancel, reject, expire, guards -------------------------------------------------------- */

Test(order_sm, cancel_partially_filled_keeps_fills)
{
    struct order_request r = limit_request(10, P(100, 0));
    struct order o = order_in(OPEN, &r);
    apply_ok(&o, ORDER_EV_PARTIAL_FILL,
             (struct order_sm_args){.ts = 10, .fill_qty = 6, .fill_price = P(99, 9500)}, NULL);
    apply_ok(&o, ORDER_EV_CANCEL, (struct order_sm_args){.ts = 20, .reason = "user cancelled"},
             NULL);
    cr_expect_eq(o.state, CANC);
    cr_expect_eq(o.qty_filled, 6);
    cr_expect_eq(o.filled_notional, 6 * P(99, 9500));
    cr_expect_eq(o.avg_fill_price, P(99, 9500));
    cr_expect_str_eq(o.reason, "user cancelled");
    cr_expect(order_is_consistent(&o));

    /* IOC remainder: partially filled then expired, fills kept */
    o = order_in(OPEN, &r);
    apply_ok(&o, ORDER_EV_PARTIAL_FILL,
             (struct order_sm_args){.ts = 10, .fill_qty = 3, .fill_price = P(100, 0)}, NULL);
    apply_ok(&o, ORDER_EV_EXPIRE, (struct order_sm_args){.ts = 11, .reason = "IOC remainder"},
             NULL);
    cr_expect_eq(o.state, EXPD);
    cr_expect_eq(o.qty_filled, 3);

    o = order_in(PSUB, &r);
    apply_ok(&o, ORDER_EV_REJECT,
             (struct order_sm_args){.ts = 12, .reason = "RMS: insufficient margin"}, NULL);
    cr_expect_eq(o.state, REJD);
    cr_expect_str_eq(o.reason, "RMS: insufficient margin");
}

/* Only an order with a trigger can be trigger pending or triggered. */
Test(order_sm, trigger_events_need_a_trigger)
{
    struct order_request lim = limit_request(10, P(100, 0));
    struct order_sm_stats stats = {0};
    struct order o = order_in(PSUB, &lim);
    struct order before = o;
    struct order_sm_args a = {.ts = 1};
    struct atp_err err;
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_ACK_TRIGGER_PENDING, &a, &stats, &err), ATP_ESTATE);
    cr_expect_str_eq(err.field, "type");
    cr_expect_str_eq(err.msg, "a LIMIT order has no trigger: ACK_TRIGGER_PENDING refused");
    cr_expect_eq(memcmp(&o, &before, sizeof o), 0);
    cr_expect_eq(stats.refused_guard, 1);

    struct order_request slm = sl_buy_request();
    slm.type = ORDER_TYPE_SL_M;
    slm.limit_price = 0;
    o = order_in(PSUB, &slm);
    apply_ok(&o, ORDER_EV_ACK_TRIGGER_PENDING, a, &stats);
    apply_ok(&o, ORDER_EV_TRIGGERED, (struct order_sm_args){.ts = 2}, &stats);
    cr_expect_eq(o.state, OPEN);
}

Test(order_sm, submit_needs_a_tag)
{
    struct order_request r = limit_request(10, P(100, 0));
    struct order o = order_in(NEW_, &r);
    o.tag[0] = '\0';
    struct order before = o;
    struct atp_err err;
    struct order_sm_args a = {.ts = 1};
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_SUBMIT, &a, NULL, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "tag");
    cr_expect_eq(memcmp(&o, &before, sizeof o), 0);
}

Test(order_sm, broker_order_id)
{
    struct order_request r = limit_request(10, P(100, 0));
    struct order o = order_in(PSUB, &r);
    struct atp_err err;
    /* first news is a fill carrying the id: implicit ack, id recorded */
    apply_ok(&o, ORDER_EV_PARTIAL_FILL,
             (struct order_sm_args){.ts = 1, .fill_qty = 2, .fill_price = 1,
                                    .broker_order_id = "B1"},
             NULL);
    cr_expect_str_eq(o.broker_order_id, "B1");
    /* the same id again is fine, none is fine */
    apply_ok(&o, ORDER_EV_PARTIAL_FILL,
             (struct order_sm_args){.ts = 2, .fill_qty = 2, .fill_price = 1,
                                    .broker_order_id = "B1"},
             NULL);
    apply_ok(&o, ORDER_EV_MODIFY,
             (struct order_sm_args){.ts = 3, .new_qty = 12, .new_limit_price = P(100, 0)}, NULL);
    /* another id for the same order would be two broker orders for one: refused */
    struct order before = o;
    struct order_sm_args a = {.ts = 4, .fill_qty = 1, .fill_price = 1, .broker_order_id = "B2"};
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_PARTIAL_FILL, &a, NULL, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "broker_order_id");
    cr_expect_eq(memcmp(&o, &before, sizeof o), 0);

    char longid[ORDER_BROKER_ID_MAX + 1];
    memset(longid, '7', ORDER_BROKER_ID_MAX);
    longid[ORDER_BROKER_ID_MAX] = '\0';
    o = order_in(PSUB, &r);
    before = o;
    struct order_sm_args b = {.ts = 5, .broker_order_id = longid};
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_ACK_OPEN, &b, NULL, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "broker_order_id");
    cr_expect_eq(memcmp(&o, &before, sizeof o), 0);
}

Test(order_sm, bad_arguments_not_counted)
{
    struct order_request r = limit_request(10, P(100, 0));
    struct order o = order_in(OPEN, &r);
    struct order_sm_stats stats = {0};
    struct order_sm_args a = {.ts = 1};
    cr_expect_eq(order_sm_apply(NULL, ORDER_EV_CANCEL, &a, &stats, NULL), ATP_EINVAL);
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_CANCEL, NULL, &stats, NULL), ATP_EINVAL);
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_COUNT, &a, &stats, NULL), ATP_EINVAL);
    cr_expect_eq(order_sm_apply(&o, (enum order_event)-1, &a, &stats, NULL), ATP_EINVAL);
    o.state = (enum order_state)ORDER_STATE_COUNT;
    cr_expect_eq(order_sm_apply(&o, ORDER_EV_CANCEL, &a, &stats, NULL), ATP_EINVAL);
    cr_expect_eq(stats.refused + stats.applied, 0);
}

Test(order_sm, event_names)
{
    for (int e = 0; e < ORDER_EV_COUNT; e++) {
        enum order_event out = ORDER_EV_COUNT;
        cr_assert_eq(order_event_parse(order_event_name((enum order_event)e), &out), ATP_OK);
        cr_assert_eq((int)out, e);
    }
    enum order_event out = ORDER_EV_SUBMIT;
    cr_expect_eq(order_event_parse("partial_fill", &out), ATP_OK);
    cr_expect_eq(out, ORDER_EV_PARTIAL_FILL);
    cr_expect_eq(order_event_parse("FILLED", &out), ATP_EINVAL);
    cr_expect_eq(order_event_parse(NULL, &out), ATP_EINVAL);
    cr_expect_str_eq(order_event_name(ORDER_EV_COUNT), "?");
}

/* ---- properties of the table --------------------------------------------------------------- */

Test(order_sm, table_properties)
{
    const struct order_sm_row *rows;
    size_t n = order_sm_table(&rows);
    cr_assert_gt(n, 0);
    int target_of[ORDER_EV_COUNT];
    for (int e = 0; e < ORDER_EV_COUNT; e++)
        target_of[e] = -1;
    for (size_t i = 0; i < n; i++) {
        cr_expect_not(order_state_is_terminal(rows[i].from), "row %zu leaves a terminal state", i);
        cr_expect_neq(rows[i].why[0], '\0', "row %zu has no reason", i);
        for (size_t j = i + 1; j < n; j++)
            cr_expect(rows[i].from != rows[j].from || rows[i].event != rows[j].event,
                      "rows %zu and %zu duplicate a pair", i, j);
        /* an event means one thing: every row of it leads to the same state (MODIFY: stays) */
        if (rows[i].event == ORDER_EV_MODIFY) {
            cr_expect_eq(rows[i].to, rows[i].from);
        } else {
            if (target_of[rows[i].event] < 0)
                target_of[rows[i].event] = rows[i].to;
            cr_expect_eq((int)rows[i].to, target_of[rows[i].event], "row %zu", i);
            cr_expect_neq(rows[i].to, rows[i].from == PART ? ORDER_STATE_COUNT : rows[i].from,
                          "row %zu: only PARTIALLY_FILLED and MODIFY loop", i);
        }
    }

    /* Without self-loops the graph is acyclic, so the longest chain of state changes bounds the
     * history an order can make: it must fit the ring (NEW counts as the first entry). Longest
     * path by relaxation over at most ORDER_STATE_COUNT rounds; a change in the last round would
     * mean a cycle. */
    int longest[ORDER_STATE_COUNT] = {0}; /* edges on the longest path from NEW */
    int reach[ORDER_STATE_COUNT] = {[ORDER_STATE_NEW] = 1};
    int changed = 1;
    for (int round = 0; round <= ORDER_STATE_COUNT && changed; round++) {
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            if (rows[i].to == rows[i].from || !reach[rows[i].from])
                continue;
            if (!reach[rows[i].to] || longest[rows[i].to] < longest[rows[i].from] + 1) {
                reach[rows[i].to] = 1;
                longest[rows[i].to] = longest[rows[i].from] + 1;
                changed = 1;
            }
        }
        cr_assert(round < ORDER_STATE_COUNT, "the table has a cycle");
    }
    int max_len = 0;
    for (int s = 0; s < ORDER_STATE_COUNT; s++) {
        cr_expect(reach[s], "%s is unreachable from NEW", order_state_name((enum order_state)s));
        if (longest[s] > max_len)
            max_len = longest[s];
    }
    cr_expect_eq(max_len + 1, 6, "NEW PENDING_SUBMIT TRIGGER_PENDING OPEN PARTIALLY_FILLED end");
    cr_expect_leq(max_len + 1, ORDER_HISTORY_LEN, "an order's life must fit the history ring");

    /* every non-terminal state can still end */
    for (int s = 0; s < ORDER_STATE_COUNT; s++) {
        if (order_state_is_terminal((enum order_state)s))
            continue;
        int ends = 0;
        for (size_t i = 0; i < n; i++)
            if ((int)rows[i].from == s && order_state_is_terminal(rows[i].to))
                ends = 1;
        cr_expect(ends, "%s has no way to a terminal state",
                  order_state_name((enum order_state)s));
    }
}

/* ---- docs ---------------------------------------------------------------------------------- */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, got, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* docs/orders.md carries the generated table verbatim, so the docs cannot drift from the code. */
Test(order_sm, docs_hold_the_generated_table)
{
    char *gen = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&gen, &len);
    cr_assert_eq(order_sm_write_markdown(m), ATP_OK);
    fclose(m);
    char *doc = read_all(tu_root_path("docs/orders.md"));
    cr_expect_neq(strstr(doc, gen), NULL,
                  "docs/orders.md does not contain the current table; regenerate it:\n%s", gen);
    free(doc);
    free(gen);
}

Test(order_sm, dot_output)
{
    char *gen = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&gen, &len);
    cr_assert_eq(order_sm_write_dot(m), ATP_OK);
    fclose(m);
    cr_expect_eq(strncmp(gen, "digraph order_sm {", 18), 0);
    cr_expect_neq(strstr(gen, "  NEW -> PENDING_SUBMIT [label=\"SUBMIT\"];\n"), NULL);
    cr_expect_neq(strstr(gen, "  FILLED [peripheries=2];\n"), NULL);
    const struct order_sm_row *rows;
    size_t n = order_sm_table(&rows), edges = 0;
    for (const char *p = gen; (p = strstr(p, " -> ")); p++)
        edges++;
    cr_expect_eq(edges, n);
    free(gen);
}

/* ---- tags ---------------------------------------------------------------------------------- */

Test(tag, format_examples)
{
    static const struct {
        uint64_t run, seq;
        const char *want;
    } cases[] = {
        {0, 0, "A100"},
        {1, 7, "A117"},
        {35, 35, "A1ZZ"},
        {36, 36, "A21010"},
        {123456, 42, "A42N9C16"},
        {TAG_RUN_ID_LIMIT - 1, 0, "A8ZZZZZZZZ0"},
        {0, TAG_SEQ_LIMIT - 1, "A10ZZZZZZZZZZ"},
        {TAG_RUN_ID_LIMIT - 1, TAG_SEQ_LIMIT - 1, "A8ZZZZZZZZZZZZZZZZZZ"}, /* 20: the longest */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tag[TAG_BUF];
        cr_assert_eq(tag_format(cases[i].run, cases[i].seq, tag), ATP_OK);
        cr_expect_str_eq(tag, cases[i].want);
        cr_expect(order_tag_valid(tag));
        uint64_t run = 1234, seq = 5678;
        cr_expect_eq(tag_parse(tag, &run, &seq), ATP_OK, "%s", tag);
        cr_expect_eq(run, cases[i].run);
        cr_expect_eq(seq, cases[i].seq);
    }
    cr_expect_eq(strlen(cases[7].want), ORDER_TAG_MAX);
}

Test(tag, limits)
{
    char tag[TAG_BUF] = "untouched";
    cr_expect_eq(tag_format(TAG_RUN_ID_LIMIT, 0, tag), ATP_ERANGE);
    cr_expect_eq(tag_format(0, TAG_SEQ_LIMIT, tag), ATP_ERANGE);
    cr_expect_eq(tag_format(UINT64_MAX, UINT64_MAX, tag), ATP_ERANGE);
    cr_expect_str_eq(tag, "untouched");

    struct tag_gen g = {5, 6};
    struct atp_err err;
    cr_expect_eq(tag_gen_init(&g, TAG_RUN_ID_LIMIT, 0, &err), ATP_ERANGE);
    cr_expect_str_eq(err.field, "run_id");
    cr_expect_eq(tag_gen_init(&g, 0, TAG_SEQ_LIMIT, &err), ATP_ERANGE);
    cr_expect_str_eq(err.field, "first_seq");
    cr_expect_eq(g.run_id, 5);
    cr_expect_eq(g.next_seq, 6);

    /* the last sequence of a run is handed out, then the generator refuses and stays put */
    cr_assert_eq(tag_gen_init(&g, 9, TAG_SEQ_LIMIT - 1, &err), ATP_OK);
    uint64_t seq = 0;
    cr_expect_eq(tag_gen_next(&g, tag, &seq), ATP_OK);
    cr_expect_eq(seq, TAG_SEQ_LIMIT - 1);
    cr_expect_str_eq(tag, "A19ZZZZZZZZZZ");
    cr_expect_eq(tag_gen_next(&g, tag, &seq), ATP_ERANGE);
    cr_expect_str_eq(tag, "A19ZZZZZZZZZZ");
    cr_expect_eq(g.next_seq, TAG_SEQ_LIMIT);
}

Test(tag, parse_rejects)
{
    static const char *const bad[] = {
        "", "A", "A1", "A10", "B100", "a100", "A0100", "A9123456789", "A1z0", "A11a",
        "A2010",                 /* run "01": leading zero */
        "A1100",                 /* seq "00": leading zero */
        "A11 1", "A1-1",
        "A8ZZZZZZZZZZZZZZZZZZZ",  /* 21 characters */
        "A10ZZZZZZZZZZZ",        /* seq 36^11 - 1: over the limit */
        "A9ZZZZZZZZZ1",          /* length digit 9 */
        "A3ZZ",                  /* run longer than the tag */
        "A2ZZ",                  /* no seq digits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t run = 11, seq = 22;
        cr_expect_eq(tag_parse(bad[i], &run, &seq), ATP_EINVAL, "\"%s\" parsed", bad[i]);
        cr_expect_eq(run, 11);
        cr_expect_eq(seq, 22);
    }
    cr_expect_eq(tag_parse(NULL, NULL, NULL), ATP_EINVAL);
}

/* Same run id and first sequence: the same tags (backtests stay byte-identical). */
Test(tag, deterministic)
{
    struct tag_gen a, b;
    cr_assert_eq(tag_gen_init(&a, 424242, 1, NULL), ATP_OK);
    cr_assert_eq(tag_gen_init(&b, 424242, 1, NULL), ATP_OK);
    for (int i = 0; i < 1000; i++) {
        char ta[TAG_BUF], tb[TAG_BUF];
        uint64_t sa, sb;
        cr_assert_eq(tag_gen_next(&a, ta, &sa), ATP_OK);
        cr_assert_eq(tag_gen_next(&b, tb, &sb), ATP_OK);
        cr_assert_str_eq(ta, tb);
        cr_assert_eq(sa, (uint64_t)i + 1);
    }
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static uint64_t pow36(int k)
{
    uint64_t v = 1;
    while (k-- > 0)
        v *= 36;
    return v;
}

/* 1,000,000 tags from 100 runs (run ids at every base-36 digit boundary, where a careless format
 * would let "run 1, seq 23" and "run 12, seq 3" meet) x 10,000 sequences each (half starting at 0,
 * half straddling a digit boundary of the sequence): all distinct, all 4..20 characters of
 * [0-9A-Z], all parsing back to their (run, seq). */
Test(tag, million_unique)
{
    enum { RUNS = 100, PER_RUN = 10000, TOTAL = RUNS * PER_RUN };
    uint64_t runs[RUNS];
    int nr = 0;
    for (int k = 0; k <= 8 && nr < RUNS; k++) { /* around 36^k */
        uint64_t b = pow36(k);
        uint64_t cand[] = {b - 1, b, b + 1, 2 * b};
        for (size_t c = 0; c < 4; c++)
            if (cand[c] < TAG_RUN_ID_LIMIT && (nr == 0 || cand[c] != runs[nr - 1]))
                runs[nr++] = cand[c];
    }
    uint64_t x = 88172645463325252ULL; /* xorshift64: fill up with spread-out run ids */
    while (nr < RUNS) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        runs[nr++] = x % TAG_RUN_ID_LIMIT;
    }

    char (*tags)[TAG_BUF] = malloc((size_t)TOTAL * TAG_BUF);
    cr_assert_not_null(tags);
    size_t t = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t first = 0;
        if (r % 2) { /* straddle 36^k for k = 1..9 in turn */
            uint64_t b = pow36(1 + (r / 2) % 9);
            first = b > PER_RUN / 2 ? b - PER_RUN / 2 : 0;
        }
        struct tag_gen g;
        cr_assert_eq(tag_gen_init(&g, runs[r], first, NULL), ATP_OK);
        for (int i = 0; i < PER_RUN; i++, t++) {
            uint64_t seq;
            cr_assert_eq(tag_gen_next(&g, tags[t], &seq), ATP_OK);
            size_t len = strlen(tags[t]);
            cr_assert(len >= 4 && len <= ORDER_TAG_MAX, "length %zu: %s", len, tags[t]);
            for (size_t k = 0; k < len; k++)
                cr_assert((tags[t][k] >= '0' && tags[t][k] <= '9') ||
                              (tags[t][k] >= 'A' && tags[t][k] <= 'Z'),
                          "bad character in %s", tags[t]);
            uint64_t pr, ps;
            cr_assert_eq(tag_parse(tags[t], &pr, &ps), ATP_OK, "%s", tags[t]);
            cr_assert(pr == runs[r] && ps == seq, "%s does not parse back", tags[t]);
        }
    }
    cr_assert_eq(t, (size_t)TOTAL);
    /* a duplicated run id would make the test say nothing: check the runs are distinct first */
    for (int i = 0; i < RUNS; i++)
        for (int j = i + 1; j < RUNS; j++)
            cr_assert_neq(runs[i], runs[j], "run ids %d and %d repeat", i, j);
    qsort(tags, TOTAL, TAG_BUF, cmp_tag);
    for (size_t i = 1; i < TOTAL; i++)
        cr_assert_neq(strcmp(tags[i - 1], tags[i]), 0, "duplicate tag %s", tags[i]);
    free(tags);
}
