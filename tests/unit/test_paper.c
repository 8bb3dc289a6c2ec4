/* Tests of broker/paper. Most are scenarios in one table: a script of calls (ticks, bars, time,
 * submit, cancel, modify) and the exact event log the broker must produce, prices to the paisa
 * and states as the state machine names them. Every expected price is worked out by hand in the
 * comment beside it. Then: determinism (two runs of a long generated script give byte-identical
 * logs), bars against the same bars replayed as ticks, the LIVE refusal, argument errors,
 * re-entrancy, configuration checks, allocation failures and the allocation-free tick path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/paper/paper.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "md/feed/replay.h"
#include "oms/order_sm.h"

/* ---- fixtures ------------------------------------------------------------------------------ */

#define P(r, p) ((px_t)(r) * PX_SCALE + (px_t)(p)) /* P(2450, 5500) = 2450.55 */
#define R(r) PX_RUPEES(r)

/* IST time on a day of January 2026 (2026-01-01 is day 20454 since the epoch): a constant
 * expression, so it can sit in the static tables. Checked against ts_from_ist below. */
#define JAN(d, h, m, s) \
    (((20453LL + (d)) * 86400LL - 19800LL + (h) * 3600LL + (m) * 60LL + (s)) * TS_NS_PER_SEC)
#define D1(h, m, s) JAN(5, h, m, s) /* Monday 5 Jan 2026 */
#define D2(h, m, s) JAN(6, h, m, s) /* Tuesday */
#define MS(x) ((ts_ns)(x) * TS_NS_PER_MS)

enum { REL = 0, NIF = 1, IDEA = 2 }; /* instrument ids in the test registry */

static struct instreg *reg;
static struct cal *cal;

static void add_inst(const char *sym, enum exchange ex, enum inst_type type, px_t tick,
                     int64_t lot)
{
    struct instrument in;
    memset(&in, 0, sizeof in);
    snprintf(in.symbol, sizeof in.symbol, "%s", sym);
    in.exchange = ex;
    in.type = type;
    in.tick_size = tick;
    in.lot_size = lot;
    in.expiry_day = -1;
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_OK);
}

static void setup(void)
{
    reg = instreg_new();
    cr_assert_not_null(reg);
    add_inst("RELIANCE", EXCH_NSE, INST_EQ, P(0, 500), 1);       /* tick 0.05 */
    add_inst("NIFTY26JANFUT", EXCH_NFO, INST_FUT, P(0, 1000), 65); /* tick 0.10, lot 65 */
    add_inst("IDEA", EXCH_NSE, INST_EQ, P(0, 100), 1);            /* tick 0.01 */
    cal = cal_new();
    cr_assert_not_null(cal);
    cr_assert_eq(cal_add_holiday(cal, ts_ist_day(JAN(26, 12, 0, 0))), ATP_OK); /* Republic Day */
}

static void teardown(void)
{
    cal_free(cal);
    instreg_free(reg);
}

/* ---- the event log ------------------------------------------------------------------------- */

struct elog {
    char text[1 << 21];
    size_t len;
    int reenter; /* test of re-entrancy: call the broker from the callback */
    struct paper_broker *pb;
    int reenter_rc;
};

static void logf_(struct elog *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct elog *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->text + l->len, sizeof l->text - l->len, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof l->text - l->len, "event log overflow");
    l->len += (size_t)n;
}

/* "01-05 09:20:01" or "01-05 09:20:01.300" (IST). */
static const char *tstr(ts_ns t, char *buf, size_t size)
{
    struct ts_civil c;
    ts_to_ist(t, &c);
    if (c.nsec)
        snprintf(buf, size, "%02d-%02d %02d:%02d:%02d.%03d", c.month, c.day, c.hour, c.minute,
                 c.second, (int)(c.nsec / 1000000));
    else
        snprintf(buf, size, "%02d-%02d %02d:%02d:%02d", c.month, c.day, c.hour, c.minute,
                 c.second);
    return buf;
}

static void ev_update(void *ctx, const struct order *o, enum order_event ev)
{
    struct elog *l = ctx;
    char t[32];
    logf_(l, "U%llu %s %s %lld/%lld %s", (unsigned long long)o->id, order_event_name(ev),
          order_state_name(o->state), (long long)o->qty_filled, (long long)o->req.qty,
          tstr(o->updated_ts, t, sizeof t));
    if (o->reason[0])
        logf_(l, " \"%s\"", o->reason);
    logf_(l, "\n");
    cr_assert(order_is_consistent(o));
    if (l->reenter)
        l->reenter_rc = paper_cancel(l->pb, o->id, o->updated_ts, NULL, NULL);
}

static void ev_fill(void *ctx, const struct fill *f)
{
    struct elog *l = ctx;
    char t[32], p[PX_STR_MAX];
    px_format(f->price, p, sizeof p);
    logf_(l, "F %s o%llu %s %lld @ %s %s\n", f->fill_id, (unsigned long long)f->order_id,
          order_side_name(f->side), (long long)f->qty, p, tstr(f->ts, t, sizeof t));
    cr_assert_eq(fill_validate(f, NULL), ATP_OK);
    cr_assert_eq(f->mode, TRADE_MODE_PAPER);
    cr_assert_eq(f->account_id, 7);
}

static void ev_square_off(void *ctx, ts_ns ts)
{
    struct elog *l = ctx;
    char t[32];
    logf_(l, "S %s\n", tstr(ts, t, sizeof t));
}

static struct paper_events events_for(struct elog *l)
{
    struct paper_events ev = {.ctx = l,
                              .on_order_update = ev_update,
                              .on_fill = ev_fill,
                              .on_square_off_due = ev_square_off};
    return ev;
}

/* ---- orders -------------------------------------------------------------------------------- */

static struct order make_order(uint64_t id, uint32_t inst, enum order_side side,
                               enum order_type type, enum order_validity validity,
                               enum order_product product, int64_t qty, px_t limit, px_t trigger,
                               ts_ns now, int as_new)
{
    struct order_request r;
    memset(&r, 0, sizeof r);
    r.account_id = 7;
    r.strategy_id = 1;
    r.mode = TRADE_MODE_PAPER;
    r.instrument_id = inst;
    r.side = side;
    r.type = type;
    r.product = product;
    r.validity = validity;
    r.qty = qty;
    r.limit_price = limit;
    r.trigger_price = trigger;
    struct order o;
    char tag[ORDER_TAG_MAX + 1];
    snprintf(tag, sizeof tag, "T%llu", (unsigned long long)id);
    struct atp_err err;
    cr_assert_eq(order_init(&o, &r, id, tag, now, &err), ATP_OK, "order_init: %s", err.msg);
    if (!as_new) { /* the OMS's step: persisted with its tag, handed over */
        struct order_sm_args a = {.ts = now};
        cr_assert_eq(order_sm_apply(&o, ORDER_EV_SUBMIT, &a, NULL, NULL), ATP_OK);
    }
    return o;
}

/* ---- scenario scripts ---------------------------------------------------------------------- */

enum op { OP_END = 0, OP_SUB, OP_TICK, OP_TICKV, OP_TIME, OP_CANCEL, OP_MODIFY, OP_BAR };

struct step {
    enum op op;
    ts_ns ts;
    uint64_t id;
    uint32_t inst;
    enum order_side side;
    enum order_type type;
    enum order_validity validity;
    enum order_product product;
    int64_t qty;
    px_t limit, trigger;
    px_t px, high, low, close; /* TICK: px = ltp; BAR: px = open */
    int64_t vol;               /* TICK: qty (0: no volume fields); TICKV: cum volume; BAR */
    enum tf tf;
    int as_new;                /* SUB: hand the order over NEW rather than PENDING_SUBMIT */
};

#define SUBX(t, i, in, sd, ty, q, lim, trg, val, prod)                                           \
    {.op = OP_SUB, .ts = (t), .id = (i), .inst = (in), .side = ORDER_SIDE_##sd,                  \
     .type = ORDER_TYPE_##ty, .validity = ORDER_VALIDITY_##val, .product = ORDER_PRODUCT_##prod, \
     .qty = (q), .limit = (lim), .trigger = (trg)}
#define SUB(t, i, in, sd, ty, q, lim, trg) SUBX(t, i, in, sd, ty, q, lim, trg, DAY, MIS)
#define SUB_NEW(t, i, in, sd, ty, q, lim, trg)                                                  \
    {.op = OP_SUB, .ts = (t), .id = (i), .inst = (in), .side = ORDER_SIDE_##sd,                  \
     .type = ORDER_TYPE_##ty, .validity = ORDER_VALIDITY_DAY, .product = ORDER_PRODUCT_MIS,      \
     .qty = (q), .limit = (lim), .trigger = (trg), .as_new = 1}
#define TICK(t, in, p, q) {.op = OP_TICK, .ts = (t), .inst = (in), .px = (p), .vol = (q)}
#define TICKV(t, in, p, cum) {.op = OP_TICKV, .ts = (t), .inst = (in), .px = (p), .vol = (cum)}
#define TIME(t) {.op = OP_TIME, .ts = (t)}
#define CANCEL(t, i) {.op = OP_CANCEL, .ts = (t), .id = (i)}
#define MODIFY(t, i, q, lim, trg)                                                               \
    {.op = OP_MODIFY, .ts = (t), .id = (i), .qty = (q), .limit = (lim), .trigger = (trg)}
#define BAR(in, tfv, t, o, h, l, c, v)                                                          \
    {.op = OP_BAR, .inst = (in), .tf = (tfv), .ts = (t), .px = (o), .high = (h), .low = (l),     \
     .close = (c), .vol = (v)}

static void run_step(struct paper_broker *pb, struct elog *l, const struct step *s)
{
    int rc = ATP_OK;
    const char *what = "?";
    struct atp_err err;
    atp_err_clear(&err);
    switch (s->op) {
    case OP_SUB: {
        struct order o = make_order(s->id, s->inst, s->side, s->type, s->validity, s->product,
                                    s->qty, s->limit, s->trigger, s->ts, s->as_new);
        what = "submit";
        rc = paper_submit(pb, &o, s->ts, &err);
        break;
    }
    case OP_TICK:
    case OP_TICKV: {
        struct tick t;
        memset(&t, 0, sizeof t);
        t.instrument_id = s->inst;
        t.ts = s->ts;
        t.ltp = s->px;
        if (s->op == OP_TICK && s->vol > 0) {
            t.flags = TICK_HAS_QTY;
            t.qty = s->vol;
        } else if (s->op == OP_TICKV) {
            t.flags = TICK_HAS_VOLUME;
            t.cum_volume = s->vol;
        }
        what = "tick";
        rc = paper_on_tick(pb, &t);
        break;
    }
    case OP_TIME:
        what = "time";
        rc = paper_on_time(pb, s->ts);
        break;
    case OP_CANCEL:
        what = "cancel";
        rc = paper_cancel(pb, s->id, s->ts, NULL, &err);
        break;
    case OP_MODIFY:
        what = "modify";
        rc = paper_modify(pb, s->id, s->qty, s->limit, s->trigger, s->ts, &err);
        break;
    case OP_BAR: {
        struct bar b = {.start = s->ts, .open = s->px, .high = s->high, .low = s->low,
                        .close = s->close, .volume = s->vol, .oi = -1, .ticks = 1};
        what = "bar";
        rc = paper_on_bar(pb, s->inst, s->tf, &b);
        break;
    }
    case OP_END:
        break;
    }
    if (rc != ATP_OK)
        logf_(l, "! %s %llu -> %s\n", what, (unsigned long long)s->id, atp_status_name(rc));
}

/* Configurations the scenarios use. */
static struct paper_config cfg_with(int64_t participation_ppm, ts_ns latency_ns, int wait,
                                    int square_off, uint32_t capacity, int64_t slippage_ppm)
{
    struct paper_config c;
    paper_config_default(&c);
    c.participation_ppm = participation_ppm;
    c.latency_ns = latency_ns;
    c.wait_for_tick = wait;
    if (!square_off)
        c.square_off_tod_ns = PAPER_SQUARE_OFF_NONE;
    if (capacity)
        c.capacity = capacity;
    if (slippage_ppm >= 0)
        c.slippage_ppm = slippage_ppm;
    return c;
}

enum cfg_kind { C_DEFAULT = 0, C_NOSQ, C_SLIP0, C_PART10, C_LAT250, C_WAIT, C_CAP2, C_WAIT_NOSQ };

static struct paper_config cfg_of(enum cfg_kind k)
{
    switch (k) {
    case C_NOSQ: return cfg_with(0, 0, 0, 0, 0, -1);
    case C_SLIP0: return cfg_with(0, 0, 0, 1, 0, 0);
    case C_PART10: return cfg_with(100000, 0, 0, 1, 0, -1); /* 10% */
    case C_LAT250: return cfg_with(0, MS(250), 0, 1, 0, -1);
    case C_WAIT: return cfg_with(0, 0, 1, 1, 0, -1);
    case C_CAP2: return cfg_with(0, 0, 0, 1, 2, -1);
    case C_WAIT_NOSQ: return cfg_with(0, 0, 1, 0, 0, -1);
    case C_DEFAULT: break;
    }
    return cfg_with(0, 0, 0, 1, 0, -1);
}

struct scenario {
    const char *name;
    enum cfg_kind cfg;
    struct step steps[24];
    const char *expect;
};

/* Runs a script on a fresh broker; the log goes to *l. */
static void run_script(enum cfg_kind k, const struct step *steps, size_t n, struct elog *l)
{
    memset(l, 0, sizeof *l);
    struct paper_config c = cfg_of(k);
    struct paper_events ev = events_for(l);
    struct paper_broker *pb = NULL;
    struct atp_err err;
    cr_assert_eq(paper_new(&c, reg, cal, &ev, &pb, &err), ATP_OK, "paper_new: %s", err.msg);
    l->pb = pb;
    for (size_t i = 0; i < n && steps[i].op != OP_END; i++)
        run_step(pb, l, &steps[i]);
    struct paper_stats st;
    paper_get_stats(pb, &st);
    cr_assert_eq(st.internal_errors, 0, "the state machine refused one of the broker's events");
    paper_free(pb);
}

/* clang-format off */
static const struct scenario scenarios[] = {
{"market buy and sell: last price x (1 +/- 0.05%), rounded to the tick against the trader",
 C_DEFAULT, {
    TICK(D1(9, 20, 0), REL, P(2450, 5500), 100),
    SUB(D1(9, 20, 1), 1, REL, BUY, MARKET, 10, 0, 0),   /* 2450.55 x 1.0005 = 2451.775275 -> up   2451.80 */
    SUB(D1(9, 20, 2), 2, REL, SELL, MARKET, 10, 0, 0),  /* 2450.55 x 0.9995 = 2449.324725 -> down 2449.30 */
    TICK(D1(9, 21, 0), IDEA, P(10, 3700), 100),
    SUB(D1(9, 21, 1), 3, IDEA, BUY, MARKET, 1000, 0, 0),  /* 10.37 x 1.0005 = 10.375185 -> up to 0.01: 10.38 */
    SUB(D1(9, 21, 2), 4, IDEA, SELL, MARKET, 1000, 0, 0), /* 10.37 x 0.9995 = 10.364815 -> down: 10.36 */
    TICK(D1(9, 22, 0), REL, R(2000), 100),
    SUB(D1(9, 22, 1), 5, REL, BUY, MARKET, 1, 0, 0),    /* 2000 x 1.0005 = 2001.00 exactly: no extra tick */
    SUB(D1(9, 22, 2), 6, REL, SELL, MARKET, 1, 0, 0),   /* 2000 x 0.9995 = 1999.00 exactly */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "F P1 o1 BUY 10 @ 2451.8 01-05 09:20:01\n"
 "U1 FILL FILLED 10/10 01-05 09:20:01\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 09:20:02\n"
 "F P2 o2 SELL 10 @ 2449.3 01-05 09:20:02\n"
 "U2 FILL FILLED 10/10 01-05 09:20:02\n"
 "U3 ACK_OPEN OPEN 0/1000 01-05 09:21:01\n"
 "F P3 o3 BUY 1000 @ 10.38 01-05 09:21:01\n"
 "U3 FILL FILLED 1000/1000 01-05 09:21:01\n"
 "U4 ACK_OPEN OPEN 0/1000 01-05 09:21:02\n"
 "F P4 o4 SELL 1000 @ 10.36 01-05 09:21:02\n"
 "U4 FILL FILLED 1000/1000 01-05 09:21:02\n"
 "U5 ACK_OPEN OPEN 0/1 01-05 09:22:01\n"
 "F P5 o5 BUY 1 @ 2001 01-05 09:22:01\n"
 "U5 FILL FILLED 1/1 01-05 09:22:01\n"
 "U6 ACK_OPEN OPEN 0/1 01-05 09:22:02\n"
 "F P6 o6 SELL 1 @ 1999 01-05 09:22:02\n"
 "U6 FILL FILLED 1/1 01-05 09:22:02\n"},

{"market with slippage 0: the last price itself", C_SLIP0, {
    TICK(D1(9, 20, 0), REL, P(2450, 5500), 100),
    SUB(D1(9, 20, 1), 1, REL, BUY, MARKET, 10, 0, 0),
    SUB(D1(9, 20, 2), 2, REL, SELL, MARKET, 10, 0, 0),
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "F P1 o1 BUY 10 @ 2450.55 01-05 09:20:01\n"
 "U1 FILL FILLED 10/10 01-05 09:20:01\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 09:20:02\n"
 "F P2 o2 SELL 10 @ 2450.55 01-05 09:20:02\n"
 "U2 FILL FILLED 10/10 01-05 09:20:02\n"},

{"NEW order: the broker applies SUBMIT first", C_DEFAULT, {
    TICK(D1(9, 20, 0), REL, R(2450), 100),
    SUB_NEW(D1(9, 20, 1), 1, REL, BUY, MARKET, 10, 0, 0), /* 2450 x 1.0005 = 2451.225 -> 2451.25 */
 },
 "U1 SUBMIT PENDING_SUBMIT 0/10 01-05 09:20:01\n"
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "F P1 o1 BUY 10 @ 2451.25 01-05 09:20:01\n"
 "U1 FILL FILLED 10/10 01-05 09:20:01\n"},

{"limit rests, fills at its limit when the market trades through or touches it", C_DEFAULT, {
    TICK(D1(9, 20, 0), REL, P(2450, 5500), 100),
    SUB(D1(9, 21, 0), 1, REL, BUY, LIMIT, 10, R(2440), 0),
    SUB(D1(9, 21, 1), 2, REL, SELL, LIMIT, 10, R(2460), 0),
    TICK(D1(9, 22, 0), REL, R(2445), 100),
    TICK(D1(9, 23, 0), REL, P(2438, 5000), 100), /* through 2440: at the limit, not 2438.50 */
    TICK(D1(9, 24, 0), REL, R(2460), 100),       /* touches 2460 */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:21:00\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 09:21:01\n"
 "F P1 o1 BUY 10 @ 2440 01-05 09:23:00\n"
 "U1 FILL FILLED 10/10 01-05 09:23:00\n"
 "F P2 o2 SELL 10 @ 2460 01-05 09:24:00\n"
 "U2 FILL FILLED 10/10 01-05 09:24:00\n"},

{"marketable limit at arrival: taker price (last with slippage), capped at the limit", C_DEFAULT, {
    TICK(D1(9, 20, 0), REL, P(2450, 5500), 100),
    SUB(D1(9, 20, 1), 1, REL, BUY, LIMIT, 10, R(2460), 0),  /* 2451.80 < 2460 */
    SUB(D1(9, 20, 2), 2, REL, BUY, LIMIT, 10, R(2451), 0),  /* 2451.80 capped at 2451 */
    SUB(D1(9, 20, 3), 3, REL, SELL, LIMIT, 10, R(2440), 0), /* 2449.30 > 2440 */
    SUB(D1(9, 20, 4), 4, REL, SELL, LIMIT, 10, R(2450), 0), /* 2449.30 capped at 2450 */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "F P1 o1 BUY 10 @ 2451.8 01-05 09:20:01\n"
 "U1 FILL FILLED 10/10 01-05 09:20:01\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 09:20:02\n"
 "F P2 o2 BUY 10 @ 2451 01-05 09:20:02\n"
 "U2 FILL FILLED 10/10 01-05 09:20:02\n"
 "U3 ACK_OPEN OPEN 0/10 01-05 09:20:03\n"
 "F P3 o3 SELL 10 @ 2449.3 01-05 09:20:03\n"
 "U3 FILL FILLED 10/10 01-05 09:20:03\n"
 "U4 ACK_OPEN OPEN 0/10 01-05 09:20:04\n"
 "F P4 o4 SELL 10 @ 2450 01-05 09:20:04\n"
 "U4 FILL FILLED 10/10 01-05 09:20:04\n"},

{"gap open: a resting limit fills at the better opening price; later ticks at the limit", C_NOSQ, {
    TICK(D1(15, 29, 0), REL, R(2450), 100),
    SUB(D2(9, 15, 0), 1, REL, BUY, LIMIT, 10, R(2440), 0),      /* no trade today yet: rests */
    SUB(D2(9, 15, 0), 2, REL, BUY, LIMIT, 10, R(2420), 0),
    SUB(D2(9, 15, 0), 3, IDEA, SELL, LIMIT, 1000, P(10, 4000), 0),
    TICK(D2(9, 15, 1), REL, P(2431, 2000), 100),  /* opens 2431.20 below 2440: at 2431.20 */
    TICK(D2(9, 15, 2), IDEA, P(10, 5200), 100),   /* opens 10.52 above 10.40: at 10.52 */
    TICK(D2(9, 16, 0), REL, R(2415), 100),        /* not the opening: at the limit 2420 */
 },
 "U1 ACK_OPEN OPEN 0/10 01-06 09:15:00\n"
 "U2 ACK_OPEN OPEN 0/10 01-06 09:15:00\n"
 "U3 ACK_OPEN OPEN 0/1000 01-06 09:15:00\n"
 "F P1 o1 BUY 10 @ 2431.2 01-06 09:15:01\n"
 "U1 FILL FILLED 10/10 01-06 09:15:01\n"
 "F P2 o3 SELL 1000 @ 10.52 01-06 09:15:02\n"
 "U3 FILL FILLED 1000/1000 01-06 09:15:02\n"
 "F P3 o2 BUY 10 @ 2420 01-06 09:16:00\n"
 "U2 FILL FILLED 10/10 01-06 09:16:00\n"},

{"SL: triggers, rests as a limit, fills; or fills at once when marketable", C_DEFAULT, {
    TICK(D1(9, 20, 0), REL, R(2450), 100),
    SUB(D1(9, 20, 1), 1, REL, BUY, SL, 10, R(2462), R(2460)),
    TICK(D1(9, 21, 0), REL, R(2455), 100),   /* below the trigger */
    TICK(D1(9, 22, 0), REL, R(2465), 100),   /* >= 2460: triggered; 2465 > 2462: rests */
    TICK(D1(9, 23, 0), REL, R(2461), 100),   /* <= 2462: at the limit */
    SUB(D1(9, 24, 0), 2, REL, SELL, SL, 10, R(2438), R(2440)),
    TICK(D1(9, 25, 0), REL, P(2439, 5000), 100), /* triggered and marketable: 2439.50 x 0.9995
                                                    = 2438.28025 -> down 2438.25 >= 2438 */
 },
 "U1 ACK_TRIGGER_PENDING TRIGGER_PENDING 0/10 01-05 09:20:01\n"
 "U1 TRIGGERED OPEN 0/10 01-05 09:22:00\n"
 "F P1 o1 BUY 10 @ 2462 01-05 09:23:00\n"
 "U1 FILL FILLED 10/10 01-05 09:23:00\n"
 "U2 ACK_TRIGGER_PENDING TRIGGER_PENDING 0/10 01-05 09:24:00\n"
 "U2 TRIGGERED OPEN 0/10 01-05 09:25:00\n"
 "F P2 o2 SELL 10 @ 2438.25 01-05 09:25:00\n"
 "U2 FILL FILLED 10/10 01-05 09:25:00\n"},

{"SL-M: triggers, then fills as market with slippage", C_DEFAULT, {
    TICK(D1(9, 20, 0), REL, R(2450), 100),
    SUB(D1(9, 20, 1), 1, REL, SELL, SL_M, 10, 0, R(2440)),
    SUB(D1(9, 20, 2), 2, REL, BUY, SL_M, 10, 0, R(2460)),
    TICK(D1(9, 21, 0), REL, R(2441), 100),
    TICK(D1(9, 22, 0), REL, P(2439, 9500), 100), /* 2439.95 x 0.9995 = 2438.730025 -> 2438.70 */
    TICK(D1(9, 23, 0), REL, R(2460), 100),       /* 2460 x 1.0005 = 2461.23 -> up 2461.25 */
 },
 "U1 ACK_TRIGGER_PENDING TRIGGER_PENDING 0/10 01-05 09:20:01\n"
 "U2 ACK_TRIGGER_PENDING TRIGGER_PENDING 0/10 01-05 09:20:02\n"
 "U1 TRIGGERED OPEN 0/10 01-05 09:22:00\n"
 "F P1 o1 SELL 10 @ 2438.7 01-05 09:22:00\n"
 "U1 FILL FILLED 10/10 01-05 09:22:00\n"
 "U2 TRIGGERED OPEN 0/10 01-05 09:23:00\n"
 "F P2 o2 BUY 10 @ 2461.25 01-05 09:23:00\n"
 "U2 FILL FILLED 10/10 01-05 09:23:00\n"},

{"IOC: what cannot fill at arrival expires (all of it, or the part beyond the volume)", C_PART10, {
    TICK(D1(9, 20, 0), REL, P(2450, 5500), 500),           /* 10% of 500: 50 for this tick */
    SUBX(D1(9, 20, 1), 1, REL, BUY, LIMIT, 10, R(2440), 0, IOC, MIS),
    SUBX(D1(9, 20, 2), 2, REL, BUY, LIMIT, 80, R(2460), 0, IOC, MIS), /* 50 @ 2451.80 */
    SUBX(D1(9, 20, 3), 3, REL, SELL, MARKET, 10, 0, 0, IOC, MIS),     /* the 50 are used up */
    TICK(D1(9, 21, 0), REL, R(2450), 300),                 /* 30 */
    SUBX(D1(9, 21, 1), 4, REL, SELL, MARKET, 20, 0, 0, IOC, MIS),     /* 2450 x 0.9995 =
                                                                         2448.775 -> 2448.75 */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "U1 EXPIRE EXPIRED 0/10 01-05 09:20:01 \"IOC: limit 2440 not marketable at last price 2450.55\"\n"
 "U2 ACK_OPEN OPEN 0/80 01-05 09:20:02\n"
 "F P1 o2 BUY 50 @ 2451.8 01-05 09:20:02\n"
 "U2 PARTIAL_FILL PARTIALLY_FILLED 50/80 01-05 09:20:02\n"
 "U2 EXPIRE EXPIRED 50/80 01-05 09:20:02 \"IOC: 30 of 80 unfilled at arrival (volume participation cap)\"\n"
 "U3 ACK_OPEN OPEN 0/10 01-05 09:20:03\n"
 "U3 EXPIRE EXPIRED 0/10 01-05 09:20:03 \"IOC: 10 of 10 unfilled at arrival (volume participation cap)\"\n"
 "U4 ACK_OPEN OPEN 0/20 01-05 09:21:01\n"
 "F P2 o4 SELL 20 @ 2448.75 01-05 09:21:01\n"
 "U4 FILL FILLED 20/20 01-05 09:21:01\n"},

{"participation 10%: partial fills sum to the qty; one budget per tick, in submission order",
 C_PART10, {
    TICK(D1(9, 20, 0), REL, R(2450), 300),
    SUB(D1(9, 20, 1), 1, REL, BUY, LIMIT, 100, R(2440), 0),
    SUB(D1(9, 20, 2), 2, REL, BUY, LIMIT, 20, R(2440), 0),
    TICK(D1(9, 21, 0), REL, R(2439), 400),  /* 40: all to o1 */
    TICK(D1(9, 22, 0), REL, R(2438), 250),  /* 25 */
    TICK(D1(9, 23, 0), REL, R(2440), 1000), /* 100: o1's last 35, then o2's 20 */
    TICK(D1(9, 24, 0), REL, R(2430), 5),
 },
 "U1 ACK_OPEN OPEN 0/100 01-05 09:20:01\n"
 "U2 ACK_OPEN OPEN 0/20 01-05 09:20:02\n"
 "F P1 o1 BUY 40 @ 2440 01-05 09:21:00\n"
 "U1 PARTIAL_FILL PARTIALLY_FILLED 40/100 01-05 09:21:00\n"
 "F P2 o1 BUY 25 @ 2440 01-05 09:22:00\n"
 "U1 PARTIAL_FILL PARTIALLY_FILLED 65/100 01-05 09:22:00\n"
 "F P3 o1 BUY 35 @ 2440 01-05 09:23:00\n"
 "U1 FILL FILLED 100/100 01-05 09:23:00\n"
 "F P4 o2 BUY 20 @ 2440 01-05 09:23:00\n"
 "U2 FILL FILLED 20/20 01-05 09:23:00\n"},

{"participation by cumulative-volume delta, and in whole lots for F&O", C_PART10, {
    TICKV(D1(9, 20, 0), REL, R(2450), 5000),
    SUB(D1(9, 20, 1), 1, REL, BUY, LIMIT, 100, R(2440), 0),
    TICKV(D1(9, 21, 0), REL, R(2439), 5300), /* delta 300: 30 */
    TICKV(D1(9, 22, 0), REL, R(2438), 5300), /* delta 0 */
    TICKV(D1(9, 23, 0), REL, R(2437), 6000), /* delta 700: 70 */
    TICK(D1(9, 24, 0), NIF, R(26000), 100),
    SUB(D1(9, 24, 1), 2, NIF, BUY, LIMIT, 130, R(25990), 0), /* two lots of 65 */
    TICK(D1(9, 25, 0), NIF, R(25985), 500),   /* 50 < one lot: nothing */
    TICK(D1(9, 26, 0), NIF, R(25980), 1000),  /* 100: one lot */
    TICK(D1(9, 27, 0), NIF, R(25990), 1300),  /* 130: the last lot */
 },
 "U1 ACK_OPEN OPEN 0/100 01-05 09:20:01\n"
 "F P1 o1 BUY 30 @ 2440 01-05 09:21:00\n"
 "U1 PARTIAL_FILL PARTIALLY_FILLED 30/100 01-05 09:21:00\n"
 "F P2 o1 BUY 70 @ 2440 01-05 09:23:00\n"
 "U1 FILL FILLED 100/100 01-05 09:23:00\n"
 "U2 ACK_OPEN OPEN 0/130 01-05 09:24:01\n"
 "F P3 o2 BUY 65 @ 25990 01-05 09:26:00\n"
 "U2 PARTIAL_FILL PARTIALLY_FILLED 65/130 01-05 09:26:00\n"
 "F P4 o2 BUY 65 @ 25990 01-05 09:27:00\n"
 "U2 FILL FILLED 130/130 01-05 09:27:00\n"},

{"latency 250 ms: matched from submit + 250 ms, market at that tick's price", C_LAT250, {
    TICK(D1(9, 20, 0), REL, P(2450, 5500), 100),
    SUB(D1(9, 20, 1), 1, REL, BUY, MARKET, 10, 0, 0),
    SUBX(D1(9, 20, 1), 2, REL, BUY, LIMIT, 10, R(2460), 0, IOC, MIS),
    TICK(D1(9, 20, 1) + MS(100), REL, R(2451), 100), /* too early for both */
    TICK(D1(9, 20, 1) + MS(300), REL, P(2452, 3500), 100), /* 2452.35 x 1.0005 = 2453.576175
                                                              -> 2453.60 */
    SUBX(D1(9, 20, 2), 3, REL, SELL, LIMIT, 10, R(2460), 0, IOC, MIS),
    TICK(D1(9, 20, 2) + MS(250), REL, R(2452), 100), /* exactly at submit + latency */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "F P1 o1 BUY 10 @ 2453.6 01-05 09:20:01.300\n"
 "U1 FILL FILLED 10/10 01-05 09:20:01.300\n"
 "F P2 o2 BUY 10 @ 2453.6 01-05 09:20:01.300\n"
 "U2 FILL FILLED 10/10 01-05 09:20:01.300\n"
 "U3 ACK_OPEN OPEN 0/10 01-05 09:20:02\n"
 "U3 EXPIRE EXPIRED 0/10 01-05 09:20:02.250 \"IOC: limit 2460 not marketable at last price 2452\"\n"},

{"wait_for_tick: nothing matches at submission; the next tick fills (no price needed before)",
 C_WAIT, {
    TICK(D1(9, 20, 0), REL, R(2450), 100),
    SUB(D1(9, 20, 5), 1, REL, BUY, MARKET, 10, 0, 0),
    SUB(D1(9, 20, 5), 2, IDEA, BUY, MARKET, 1000, 0, 0), /* IDEA has not traded: accepted */
    TICK(D1(9, 20, 5), REL, R(2451), 100),  /* 2451 x 1.0005 = 2452.2255 -> 2452.25 */
    TICK(D1(9, 20, 6), IDEA, P(10, 3700), 100), /* 10.38 */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:05\n"
 "U2 ACK_OPEN OPEN 0/1000 01-05 09:20:05\n"
 "F P1 o1 BUY 10 @ 2452.25 01-05 09:20:05\n"
 "U1 FILL FILLED 10/10 01-05 09:20:05\n"
 "F P2 o2 BUY 1000 @ 10.38 01-05 09:20:06\n"
 "U2 FILL FILLED 1000/1000 01-05 09:20:06\n"},

{"outside the continuous session: rejected with the reason", C_NOSQ, {
    SUB(D1(9, 5, 0), 1, REL, BUY, LIMIT, 10, R(2440), 0),
    SUB(D1(9, 10, 0), 2, REL, BUY, LIMIT, 10, R(2440), 0),
    SUB(D1(15, 30, 0), 3, REL, BUY, LIMIT, 10, R(2440), 0),
    SUB_NEW(D1(15, 45, 0), 4, REL, BUY, LIMIT, 10, R(2440), 0),
    SUB(JAN(10, 10, 0, 0), 5, REL, BUY, LIMIT, 10, R(2440), 0), /* Saturday */
    SUB(JAN(26, 10, 0, 0), 6, REL, BUY, LIMIT, 10, R(2440), 0), /* holiday */
 },
 "U1 REJECT REJECTED 0/10 01-05 09:05:00 \"market closed: 09:05:00 IST is in the pre-open session (09:00-09:08); the paper broker takes orders only in the continuous session 09:15-15:30\"\n"
 "U2 REJECT REJECTED 0/10 01-05 09:10:00 \"market closed: 09:10:00 IST is in the pre-open matching and buffer period (09:08-09:15), no order entry\"\n"
 "U3 REJECT REJECTED 0/10 01-05 15:30:00 \"market closed: 15:30:00 IST is outside the continuous session 09:15-15:30\"\n"
 "U4 SUBMIT PENDING_SUBMIT 0/10 01-05 15:45:00\n"
 "U4 REJECT REJECTED 0/10 01-05 15:45:00 \"market closed: 15:45:00 IST is outside the continuous session 09:15-15:30\"\n"
 "U5 REJECT REJECTED 0/10 01-10 10:00:00 \"market closed: 2026-01-10 is not a trading day\"\n"
 "U6 REJECT REJECTED 0/10 01-26 10:00:00 \"market closed: 2026-01-26 is not a trading day\"\n"},

{"other rejections: no market price (none today), off tick, off lot, unknown instrument; IOC "
 "with no trade today",
 C_NOSQ, {
    TICK(D1(15, 0, 0), REL, R(2450), 100),
    SUB(D2(9, 20, 0), 1, REL, BUY, MARKET, 10, 0, 0),       /* yesterday's price does not count */
    SUB(D2(9, 20, 1), 2, REL, BUY, LIMIT, 10, P(2440, 300), 0),
    SUB(D2(9, 20, 2), 3, NIF, BUY, LIMIT, 100, R(25990), 0),
    SUB(D2(9, 20, 3), 4, 99, BUY, LIMIT, 10, R(2440), 0),
    SUB(D2(9, 20, 4), 5, REL, BUY, SL_M, 10, 0, P(2460, 200)),
    SUBX(D2(9, 20, 5), 6, REL, BUY, LIMIT, 10, R(2440), 0, IOC, MIS), /* accepted; nothing to meet */
 },
 "U1 REJECT REJECTED 0/10 01-06 09:20:00 \"no market price: RELIANCE has not traded in this session yet\"\n"
 "U2 REJECT REJECTED 0/10 01-06 09:20:01 \"limit_price: price 2440.03 is not a multiple of tick size 0.05\"\n"
 "U3 REJECT REJECTED 0/100 01-06 09:20:02 \"qty: quantity 100 is not a multiple of lot size 65\"\n"
 "U4 REJECT REJECTED 0/10 01-06 09:20:03 \"unknown instrument 99\"\n"
 "U5 REJECT REJECTED 0/10 01-06 09:20:04 \"trigger_price: price 2460.02 is not a multiple of tick size 0.05\"\n"
 "U6 ACK_OPEN OPEN 0/10 01-06 09:20:05\n"
 "U6 EXPIRE EXPIRED 0/10 01-06 09:20:05 \"IOC: no trade yet in this session\"\n"},

{"end of day: resting orders expire at 15:30 keeping their fills; MIS cancelled at 15:20",
 C_PART10, {
    TICK(D1(10, 0, 0), REL, R(2450), 100),
    SUBX(D1(10, 0, 1), 1, REL, BUY, LIMIT, 10, R(2440), 0, DAY, CNC),
    SUBX(D1(10, 0, 2), 2, REL, BUY, LIMIT, 10, R(2440), 0, DAY, MIS),
    SUBX(D1(10, 0, 3), 3, REL, SELL, SL, 10, R(2400), R(2410), DAY, NRML),
    SUBX(D1(10, 0, 4), 4, REL, SELL, LIMIT, 100, R(2460), 0, DAY, CNC),
    TICK(D1(11, 0, 0), REL, R(2461), 400), /* 40 of o4 at 2460 */
    TIME(D1(15, 25, 0)),
    TIME(D1(15, 30, 0)),
    TICK(D2(9, 15, 1), REL, R(2300), 100), /* nothing left to match */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 10:00:01\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 10:00:02\n"
 "U3 ACK_TRIGGER_PENDING TRIGGER_PENDING 0/10 01-05 10:00:03\n"
 "U4 ACK_OPEN OPEN 0/100 01-05 10:00:04\n"
 "F P1 o4 SELL 40 @ 2460 01-05 11:00:00\n"
 "U4 PARTIAL_FILL PARTIALLY_FILLED 40/100 01-05 11:00:00\n"
 "U2 CANCEL CANCELLED 0/10 01-05 15:20:00 \"MIS square-off at 15:20: pending intraday order cancelled\"\n"
 "S 01-05 15:20:00\n"
 "U1 EXPIRE EXPIRED 0/10 01-05 15:30:00 \"end of day\"\n"
 "U3 EXPIRE EXPIRED 0/10 01-05 15:30:00 \"end of day\"\n"
 "U4 EXPIRE EXPIRED 40/100 01-05 15:30:00 \"end of day\"\n"},

{"square-off due at 15:20 of every trading day, once, in time order with the closes", C_DEFAULT, {
    TIME(D1(15, 19, 59)),
    TIME(D1(15, 20, 0)),
    TIME(D1(15, 21, 0)),
    TIME(D1(15, 0, 0)),                     /* time does not go back: nothing */
    TICK(D2(15, 20, 5), REL, R(2450), 100), /* fires first, then matches */
    SUBX(D2(15, 20, 10), 1, REL, BUY, LIMIT, 10, R(2440), 0, DAY, CNC),
    TIME(JAN(8, 10, 0, 0)),  /* Thursday: Tuesday's close, Wednesday's square-off */
    TIME(JAN(12, 15, 20, 0)), /* Monday: Thu, Fri, (weekend), Mon */
 },
 "S 01-05 15:20:00\n"
 "S 01-06 15:20:00\n"
 "U1 ACK_OPEN OPEN 0/10 01-06 15:20:10\n"
 "U1 EXPIRE EXPIRED 0/10 01-06 15:30:00 \"end of day\"\n"
 "S 01-07 15:20:00\n"
 "S 01-08 15:20:00\n"
 "S 01-09 15:20:00\n"
 "S 01-12 15:20:00\n"},

{"cancel and modify", C_DEFAULT, {
    TICK(D1(9, 20, 0), REL, P(2450, 5500), 100),
    SUB(D1(9, 20, 1), 1, REL, BUY, LIMIT, 10, R(2440), 0),
    CANCEL(D1(9, 21, 0), 1),
    CANCEL(D1(9, 21, 1), 1),                        /* no longer held */
    SUB(D1(9, 22, 0), 2, REL, BUY, LIMIT, 10, R(2440), 0),
    MODIFY(D1(9, 23, 0), 2, 20, R(2445), 0),
    MODIFY(D1(9, 24, 0), 2, 20, P(2440, 200), 0),   /* off tick: refused, nothing changes */
    MODIFY(D1(9, 25, 0), 2, 20, R(2455), 0),        /* now marketable: taker 2451.80 */
    SUB(D1(9, 26, 0), 3, REL, SELL, SL, 10, R(2430), R(2435)),
    MODIFY(D1(9, 27, 0), 3, 10, R(2450), R(2455)),  /* trigger 2455 >= last 2450.55: triggers;
                                                       taker 2449.30 capped at the limit 2450 */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "U1 CANCEL CANCELLED 0/10 01-05 09:21:00 \"cancelled by request\"\n"
 "! cancel 1 -> ENOTFOUND\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 09:22:00\n"
 "U2 MODIFY OPEN 0/20 01-05 09:23:00\n"
 "! modify 2 -> ERANGE\n"
 "U2 MODIFY OPEN 0/20 01-05 09:25:00\n"
 "F P1 o2 BUY 20 @ 2451.8 01-05 09:25:00\n"
 "U2 FILL FILLED 20/20 01-05 09:25:00\n"
 "U3 ACK_TRIGGER_PENDING TRIGGER_PENDING 0/10 01-05 09:26:00\n"
 "U3 MODIFY TRIGGER_PENDING 0/10 01-05 09:27:00\n"
 "U3 TRIGGERED OPEN 0/10 01-05 09:27:00\n"
 "F P2 o3 SELL 10 @ 2450 01-05 09:27:00\n"
 "U3 FILL FILLED 10/10 01-05 09:27:00\n"},

{"a partially filled order: modify above the filled qty only; cancel keeps the fills", C_PART10, {
    TICK(D1(9, 20, 0), REL, R(2450), 300),
    SUB(D1(9, 20, 1), 1, REL, BUY, LIMIT, 100, R(2440), 0),
    TICK(D1(9, 21, 0), REL, R(2439), 300),          /* 30 */
    MODIFY(D1(9, 21, 30), 1, 30, R(2440), 0),       /* == filled: refused */
    MODIFY(D1(9, 21, 40), 1, 50, R(2440), 0),       /* marketable again, but the tick's 30 are
                                                       used: no fill */
    CANCEL(D1(9, 22, 0), 1),
    MODIFY(D1(9, 22, 1), 1, 60, R(2440), 0),
 },
 "U1 ACK_OPEN OPEN 0/100 01-05 09:20:01\n"
 "F P1 o1 BUY 30 @ 2440 01-05 09:21:00\n"
 "U1 PARTIAL_FILL PARTIALLY_FILLED 30/100 01-05 09:21:00\n"
 "! modify 1 -> EINVAL\n"
 "U1 MODIFY PARTIALLY_FILLED 30/50 01-05 09:21:40\n"
 "U1 CANCEL CANCELLED 30/50 01-05 09:22:00 \"cancelled by request\"\n"
 "! modify 1 -> ENOTFOUND\n"},

{"capacity 2: a third order is rejected; a freed slot is reused", C_CAP2, {
    TICK(D1(9, 20, 0), REL, R(2450), 100),
    SUB(D1(9, 20, 1), 1, REL, BUY, LIMIT, 10, R(2440), 0),
    SUB(D1(9, 20, 2), 2, REL, BUY, LIMIT, 10, R(2440), 0),
    SUB(D1(9, 20, 3), 3, REL, BUY, MARKET, 10, 0, 0),
    CANCEL(D1(9, 20, 4), 1),
    SUB(D1(9, 20, 5), 4, REL, BUY, MARKET, 10, 0, 0),      /* 2451.25 */
    SUB(D1(9, 20, 6), 5, REL, BUY, LIMIT, 10, R(2440), 0), /* the market order's slot is free */
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:20:01\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 09:20:02\n"
 "U3 REJECT REJECTED 0/10 01-05 09:20:03 \"paper broker full: 2 orders held (its capacity)\"\n"
 "U1 CANCEL CANCELLED 0/10 01-05 09:20:04 \"cancelled by request\"\n"
 "U4 ACK_OPEN OPEN 0/10 01-05 09:20:05\n"
 "F P1 o4 BUY 10 @ 2451.25 01-05 09:20:05\n"
 "U4 FILL FILLED 10/10 01-05 09:20:05\n"
 "U5 ACK_OPEN OPEN 0/10 01-05 09:20:06\n"},

{"bars: the open is a tick (next-open fills), then O-L-H-C for a down bar", C_WAIT, {
    BAR(REL, TF_1M, D1(9, 15, 0), R(2450), R(2460), R(2440), R(2455), 400),
    SUB(D1(9, 16, 0), 1, REL, BUY, MARKET, 10, 0, 0),
    SUB(D1(9, 16, 0), 2, REL, BUY, LIMIT, 10, R(2451), 0),
    SUB(D1(9, 16, 0), 3, REL, SELL, SL_M, 10, 0, R(2449)),
    /* down bar: 09:16:00 open 2456, 09:16:15 low 2448, 09:16:30 high 2458, 09:16:45 close 2452 */
    BAR(REL, TF_1M, D1(9, 16, 0), R(2456), R(2458), R(2448), R(2452), 400),
 },
 "U1 ACK_OPEN OPEN 0/10 01-05 09:16:00\n"
 "U2 ACK_OPEN OPEN 0/10 01-05 09:16:00\n"
 "U3 ACK_TRIGGER_PENDING TRIGGER_PENDING 0/10 01-05 09:16:00\n"
 "F P1 o1 BUY 10 @ 2457.25 01-05 09:16:00\n"      /* 2456 x 1.0005 = 2457.228 -> 2457.25 */
 "U1 FILL FILLED 10/10 01-05 09:16:00\n"
 "F P2 o2 BUY 10 @ 2451 01-05 09:16:15\n"         /* rested at the open, low 2448 <= 2451 */
 "U2 FILL FILLED 10/10 01-05 09:16:15\n"
 "U3 TRIGGERED OPEN 0/10 01-05 09:16:15\n"
 "F P3 o3 SELL 10 @ 2446.75 01-05 09:16:15\n"     /* 2448 x 0.9995 = 2446.776 -> 2446.75 */
 "U3 FILL FILLED 10/10 01-05 09:16:15\n"},

{"bars: the session's first bar opens with a gap, a resting limit fills at the open", C_NOSQ, {
    BAR(REL, TF_1M, D1(15, 29, 0), R(2450), R(2451), R(2449), R(2450), 100),
    SUB(D2(9, 15, 0), 1, REL, BUY, LIMIT, 10, R(2440), 0),
    BAR(REL, TF_1M, D2(9, 15, 0), P(2431, 2000), R(2436), R(2430), R(2435), 400),
 },
 "U1 ACK_OPEN OPEN 0/10 01-06 09:15:00\n"
 "F P1 o1 BUY 10 @ 2431.2 01-06 09:15:00\n"
 "U1 FILL FILLED 10/10 01-06 09:15:00\n"},
};
/* clang-format on */

TestSuite(paper, .init = setup, .fini = teardown);

Test(paper, time_macro_matches_ts_from_ist)
{
    cr_assert_eq(D1(9, 20, 1), ts_from_ist(2026, 1, 5, 9, 20, 1));
    cr_assert_eq(JAN(26, 10, 0, 0), ts_from_ist(2026, 1, 26, 10, 0, 0));
    cr_assert_eq(ts_weekday(ts_ist_day(D1(12, 0, 0))), 1, "5 Jan 2026 is a Monday");
}

Test(paper, scenarios)
{
    size_t n = sizeof scenarios / sizeof scenarios[0];
    for (size_t i = 0; i < n; i++) {
        const struct scenario *sc = &scenarios[i];
        struct elog *l = calloc(1, sizeof *l);
        run_script(sc->cfg, sc->steps, sizeof sc->steps / sizeof sc->steps[0], l);
        cr_expect_str_eq(l->text, sc->expect, "scenario \"%s\"\n--- got:\n%s--- expected:\n%s",
                         sc->name, l->text, sc->expect);
        free(l);
    }
}

/* ---- determinism --------------------------------------------------------------------------- */

/* A long mixed script from a seed: two days of ticks on three instruments with random orders,
 * cancels and modifies in between. */
static size_t gen_script(uint64_t seed, struct step *out, size_t cap)
{
    struct rng r;
    rng_seed(&r, seed);
    size_t n = 0;
    px_t last[3] = {R(2450), R(26000), P(10, 3700)};
    const px_t tick[3] = {P(0, 500), P(0, 1000), P(0, 100)};
    const int64_t lot[3] = {1, 65, 1};
    uint64_t next_id = 1;
    for (int day = 0; day < 2; day++) {
        ts_ns t = JAN(5 + day, 9, 15, 0);
        for (int k = 0; k < 1500 && n + 3 < cap; k++) {
            t += (ts_ns)(rng_below(&r, 20000) + 1) * TS_NS_PER_MS;
            uint32_t in = (uint32_t)rng_below(&r, 3);
            int64_t move = (int64_t)rng_below(&r, 9) - 4;
            last[in] += move * tick[in];
            struct step s = {.op = OP_TICK, .ts = t, .inst = in, .px = last[in],
                             .vol = (int64_t)rng_below(&r, 2000) * lot[in]};
            out[n++] = s;
            uint64_t u = rng_below(&r, 100);
            if (u < 12) {
                struct step o;
                memset(&o, 0, sizeof o);
                o.op = OP_SUB;
                o.ts = t + 1;
                o.id = next_id++;
                o.inst = in;
                o.side = rng_below(&r, 2) ? ORDER_SIDE_BUY : ORDER_SIDE_SELL;
                o.type = (enum order_type)rng_below(&r, 4);
                o.product = rng_below(&r, 2) ? ORDER_PRODUCT_MIS : ORDER_PRODUCT_CNC;
                o.validity = ORDER_VALIDITY_DAY;
                if ((o.type == ORDER_TYPE_MARKET || o.type == ORDER_TYPE_LIMIT) &&
                    rng_below(&r, 4) == 0)
                    o.validity = ORDER_VALIDITY_IOC;
                o.qty = (int64_t)(rng_below(&r, 5) + 1) * 10 * lot[in];
                int buy = o.side == ORDER_SIDE_BUY;
                px_t off = (px_t)rng_below(&r, 20) * tick[in];
                if (o.type == ORDER_TYPE_LIMIT)
                    o.limit = buy ? last[in] - off : last[in] + off;
                if (o.type == ORDER_TYPE_SL) {
                    o.trigger = buy ? last[in] + off + tick[in] : last[in] - off - tick[in];
                    o.limit = buy ? o.trigger + 2 * tick[in] : o.trigger - 2 * tick[in];
                }
                if (o.type == ORDER_TYPE_SL_M)
                    o.trigger = buy ? last[in] + off + tick[in] : last[in] - off - tick[in];
                out[n++] = o;
            } else if (u < 15 && next_id > 1) {
                struct step c = {.op = OP_CANCEL, .ts = t + 2,
                                 .id = rng_below(&r, next_id - 1) + 1};
                out[n++] = c;
            } else if (u < 17 && next_id > 1) {
                /* Modify terms that may not fit the order: refusals are part of the log. */
                struct step m = {.op = OP_MODIFY, .ts = t + 2,
                                 .id = rng_below(&r, next_id - 1) + 1,
                                 .qty = (int64_t)(rng_below(&r, 5) + 1) * 10 * lot[in],
                                 .limit = last[in]};
                out[n++] = m;
            }
        }
        struct step eod = {.op = OP_TIME, .ts = JAN(5 + day, 15, 30, 0)};
        out[n++] = eod;
    }
    return n;
}

static void run_generated(enum cfg_kind k, uint64_t seed, struct elog *l)
{
    size_t cap = 8000;
    struct step *steps = calloc(cap, sizeof *steps);
    size_t n = gen_script(seed, steps, cap);
    run_script(k, steps, n, l);
    free(steps);
}

Test(paper, same_input_and_seed_give_byte_identical_logs)
{
    const enum cfg_kind kinds[] = {C_DEFAULT, C_PART10, C_LAT250};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct elog *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *c = calloc(1, sizeof *c);
        run_generated(kinds[i], 42, a);
        run_generated(kinds[i], 42, b);
        run_generated(kinds[i], 43, c);
        cr_assert_gt(a->len, 1000, "the script should produce plenty of events");
        cr_assert(strstr(a->text, "F P1 ") != NULL, "the script should fill orders");
        cr_assert(strstr(a->text, "S 01-05 15:20:00") != NULL);
        cr_assert_eq(a->len, b->len);
        cr_assert_eq(memcmp(a->text, b->text, a->len), 0, "two runs differ (config %d)",
                     (int)kinds[i]);
        cr_assert(a->len != c->len || memcmp(a->text, c->text, a->len) != 0,
                  "another seed should give another log");
        free(a);
        free(b);
        free(c);
    }
}

/* ---- bars against the same bars as ticks --------------------------------------------------- */

Test(paper, bars_match_the_same_bars_replayed_as_ticks)
{
    struct rng r;
    rng_seed(&r, 7);
    size_t cap = 2000, n_bar = 0, n_tick = 0;
    struct step *as_bars = calloc(cap, sizeof *as_bars);
    struct step *as_ticks = calloc(cap * 4, sizeof *as_ticks);
    px_t close = R(2450);
    uint64_t id = 1;
    for (int k = 0; k < 300; k++) {
        ts_ns start = D1(9, 15, 0) + (ts_ns)k * TS_NS_PER_MIN;
        px_t open = close + ((px_t)rng_below(&r, 5) - 2) * P(0, 500);
        close = open + ((px_t)rng_below(&r, 21) - 10) * P(0, 500);
        px_t hi = (open > close ? open : close) + (px_t)rng_below(&r, 6) * P(0, 500);
        px_t lo = (open < close ? open : close) - (px_t)rng_below(&r, 6) * P(0, 500);
        struct step b = BAR(REL, TF_1M, start, open, hi, lo, close, 1000);
        as_bars[n_bar++] = b;
        struct bar bb = {.start = start, .open = open, .high = hi, .low = lo, .close = close,
                         .volume = 1000, .oi = -1};
        struct tick path[4];
        replay_expand_bar(&bb, TF_1M, REL, path);
        for (int j = 0; j < 4; j++) {
            struct step t = TICK(path[j].ts, REL, path[j].ltp, path[j].qty);
            as_ticks[n_tick++] = t;
        }
        /* An order after every few bars, at the bar's end. */
        if (k % 3 == 0) {
            ts_ns end = start + TS_NS_PER_MIN;
            int buy = rng_below(&r, 2) == 0;
            enum order_type ty = (enum order_type)rng_below(&r, 4);
            px_t off = (px_t)rng_below(&r, 8) * P(0, 500);
            struct step o;
            memset(&o, 0, sizeof o);
            o.op = OP_SUB;
            o.ts = end;
            o.id = id++;
            o.inst = REL;
            o.side = buy ? ORDER_SIDE_BUY : ORDER_SIDE_SELL;
            o.type = ty;
            o.product = ORDER_PRODUCT_CNC;
            o.qty = 10;
            if (ty == ORDER_TYPE_LIMIT)
                o.limit = buy ? close - off : close + off;
            if (ty == ORDER_TYPE_SL || ty == ORDER_TYPE_SL_M)
                o.trigger = buy ? close + off + P(0, 500) : close - off - P(0, 500);
            if (ty == ORDER_TYPE_SL)
                o.limit = buy ? o.trigger + P(0, 1000) : o.trigger - P(0, 1000);
            as_bars[n_bar++] = o;
            as_ticks[n_tick++] = o;
        }
    }
    const enum cfg_kind kinds[] = {C_WAIT_NOSQ, C_PART10};
    for (size_t i = 0; i < 2; i++) {
        struct elog *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
        run_script(kinds[i], as_bars, n_bar, a);
        run_script(kinds[i], as_ticks, n_tick, b);
        cr_assert(strstr(a->text, "F P1 ") != NULL);
        cr_assert_str_eq(a->text, b->text);
        free(a);
        free(b);
    }
    free(as_bars);
    free(as_ticks);
}

/* ---- refusals and errors ------------------------------------------------------------------- */

struct fixture {
    struct elog *log;
    struct paper_broker *pb;
};

static struct fixture open_broker(enum cfg_kind k)
{
    struct fixture f;
    f.log = calloc(1, sizeof *f.log);
    struct paper_config c = cfg_of(k);
    struct paper_events ev = events_for(f.log);
    cr_assert_eq(paper_new(&c, reg, cal, &ev, &f.pb, NULL), ATP_OK);
    f.log->pb = f.pb;
    return f;
}

static void close_broker(struct fixture *f)
{
    paper_free(f->pb);
    free(f->log);
}

static struct order limit_buy(uint64_t id, ts_ns now)
{
    return make_order(id, REL, ORDER_SIDE_BUY, ORDER_TYPE_LIMIT, ORDER_VALIDITY_DAY,
                      ORDER_PRODUCT_MIS, 10, R(2440), 0, now, 0);
}

Test(paper, live_order_is_refused_without_any_event)
{
    struct fixture f = open_broker(C_DEFAULT);
    struct tick t = {.instrument_id = REL, .ts = D1(9, 20, 0), .ltp = R(2450)};
    cr_assert_eq(paper_on_tick(f.pb, &t), ATP_OK);
    struct order o = limit_buy(1, D1(9, 20, 1));
    o.req.mode = TRADE_MODE_LIVE;
    struct order before = o;
    struct atp_err err;
    cr_assert_eq(paper_submit(f.pb, &o, D1(9, 20, 1), &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "mode");
    cr_assert(strstr(err.msg, "only PAPER") != NULL, "%s", err.msg);
    cr_assert_eq(memcmp(&o, &before, sizeof o), 0, "the caller's order is not touched");
    cr_assert_eq(f.log->len, 0);
    cr_assert_eq(paper_held(f.pb), 0);
    struct paper_stats st;
    paper_get_stats(f.pb, &st);
    cr_assert_eq(st.submitted, 0);
    close_broker(&f);
}

Test(paper, submit_argument_errors)
{
    struct fixture f = open_broker(C_DEFAULT);
    ts_ns now = D1(9, 20, 0);
    struct atp_err err;
    cr_assert_eq(paper_submit(NULL, NULL, now, &err), ATP_EINVAL);
    cr_assert_eq(paper_submit(f.pb, NULL, now, &err), ATP_EINVAL);

    struct order o = limit_buy(1, now);
    o.state = ORDER_STATE_OPEN;
    cr_assert_eq(paper_submit(f.pb, &o, now, &err), ATP_ESTATE);
    cr_assert_str_eq(err.field, "state");

    o = limit_buy(1, now);
    o.id = 0;
    cr_assert_eq(paper_submit(f.pb, &o, now, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "id");

    o = limit_buy(1, now);
    cr_assert_eq(paper_submit(f.pb, &o, now, &err), ATP_OK);
    cr_assert_eq(paper_submit(f.pb, &o, now, &err), ATP_EEXIST, "an id is held once");
    cr_assert_eq(paper_held(f.pb), 1);
    const struct order *held = paper_order(f.pb, 1);
    cr_assert_not_null(held);
    cr_assert_eq(held->state, ORDER_STATE_OPEN);
    cr_assert_str_eq(held->broker_order_id, "PO1");
    cr_assert_null(paper_order(f.pb, 2));

    /* Terms the OMS should have refused are rejected as a state, with the field named. */
    o = limit_buy(2, now);
    o.req.limit_price = 0;
    f.log->len = 0;
    f.log->text[0] = '\0';
    cr_assert_eq(paper_submit(f.pb, &o, now, &err), ATP_OK);
    cr_assert(strstr(f.log->text, "U2 REJECT REJECTED 0/10 01-05 09:20:00 \"invalid order: "
                                  "limit_price: ") != NULL,
              "%s", f.log->text);

    struct tick bad = {.instrument_id = REL, .ts = now, .ltp = 0};
    cr_assert_eq(paper_on_tick(f.pb, &bad), ATP_EINVAL);
    bad.ltp = R(1);
    bad.instrument_id = 77;
    cr_assert_eq(paper_on_tick(f.pb, &bad), ATP_ENOTFOUND);
    cr_assert_eq(paper_on_tick(f.pb, NULL), ATP_EINVAL);
    struct bar b = {.start = now, .open = R(10), .high = R(9), .low = R(8), .close = R(9)};
    cr_assert_eq(paper_on_bar(f.pb, REL, TF_1M, &b), ATP_EINVAL, "high below open");
    b.high = R(11);
    cr_assert_eq(paper_on_bar(f.pb, REL, TF_COUNT, &b), ATP_EINVAL);
    cr_assert_eq(paper_on_bar(f.pb, 77, TF_1M, &b), ATP_ENOTFOUND);
    px_t px;
    cr_assert_eq(paper_last_price(f.pb, REL, &px), ATP_ENOTFOUND, "no valid tick yet");
    cr_assert_eq(paper_cancel(f.pb, 99, now, NULL, &err), ATP_ENOTFOUND);
    cr_assert_str_eq(err.field, "order_id");
    close_broker(&f);
}

Test(paper, callbacks_cannot_reenter)
{
    struct fixture f = open_broker(C_DEFAULT);
    f.log->reenter = 1;
    f.log->reenter_rc = 12345;
    struct order o = limit_buy(1, D1(9, 20, 0));
    cr_assert_eq(paper_submit(f.pb, &o, D1(9, 20, 0), NULL), ATP_OK);
    cr_assert_eq(f.log->reenter_rc, ATP_ESTATE);
    cr_assert_eq(paper_held(f.pb), 1, "the order was not cancelled from inside the callback");
    f.log->reenter = 0;
    cr_assert_eq(paper_cancel(f.pb, 1, D1(9, 20, 1), "strategy stopped", NULL), ATP_OK);
    cr_assert(strstr(f.log->text, "\"strategy stopped\"") != NULL);
    cr_assert_eq(paper_held(f.pb), 0);
    close_broker(&f);
}

Test(paper, last_price_and_stats)
{
    struct fixture f = open_broker(C_DEFAULT);
    struct tick t = {.instrument_id = REL, .ts = D1(9, 0, 0), .ltp = R(2400)}; /* pre-open */
    cr_assert_eq(paper_on_tick(f.pb, &t), ATP_OK);
    px_t px = 0;
    cr_assert_eq(paper_last_price(f.pb, REL, &px), ATP_ENOTFOUND, "pre-open prints do not count");
    t.ts = D1(9, 15, 0);
    t.ltp = R(2450);
    cr_assert_eq(paper_on_tick(f.pb, &t), ATP_OK);
    cr_assert_eq(paper_last_price(f.pb, REL, &px), ATP_OK);
    cr_assert_eq(px, R(2450));
    struct order o = make_order(1, REL, ORDER_SIDE_BUY, ORDER_TYPE_MARKET, ORDER_VALIDITY_DAY,
                                ORDER_PRODUCT_MIS, 10, 0, 0, D1(9, 15, 1), 0);
    cr_assert_eq(paper_submit(f.pb, &o, D1(9, 15, 1), NULL), ATP_OK);
    struct paper_stats st;
    paper_get_stats(f.pb, &st);
    cr_assert_eq(st.ticks, 2);
    cr_assert_eq(st.ticks_off_session, 1);
    cr_assert_eq(st.submitted, 1);
    cr_assert_eq(st.fills, 1);
    cr_assert_eq(st.qty_filled, 10);
    cr_assert_eq(st.internal_errors, 0);
    close_broker(&f);
}

Test(paper, config_is_checked)
{
    struct paper_broker *pb = NULL;
    struct atp_err err;
    struct paper_config c;
#define BAD(stmt, fld)                                                                          \
    do {                                                                                       \
        paper_config_default(&c);                                                              \
        stmt;                                                                                  \
        cr_assert_eq(paper_new(&c, reg, cal, NULL, &pb, &err), ATP_EINVAL, #stmt);              \
        cr_assert_str_eq(err.field, fld, #stmt);                                               \
    } while (0)
    BAD(c.slippage_ppm = -1, "slippage_ppm");
    BAD(c.slippage_ppm = PAPER_PPM, "slippage_ppm");
    BAD(c.participation_ppm = -1, "participation_ppm");
    BAD(c.participation_ppm = PAPER_PPM + 1, "participation_ppm");
    BAD(c.latency_ns = -1, "latency_ns");
    BAD(c.latency_ns = TS_NS_PER_DAY, "latency_ns");
    BAD(c.square_off_tod_ns = CAL_CLOSE_NS, "square_off_tod_ns");
    BAD(c.square_off_tod_ns = CAL_OPEN_NS, "square_off_tod_ns");
    BAD(c.capacity = 0, "capacity");
#undef BAD
    cr_assert_eq(paper_new(NULL, NULL, cal, NULL, &pb, &err), ATP_EINVAL);
    cr_assert_eq(paper_new(NULL, reg, cal, NULL, &pb, &err), ATP_OK, "defaults, no callbacks");
    paper_free(pb);
    paper_free(NULL);
    paper_config_default(&c);
    cr_assert_eq(c.slippage_ppm, 500);
    cr_assert_eq(c.square_off_tod_ns, 15 * TS_NS_PER_HOUR + 20 * TS_NS_PER_MIN);
    cr_assert_eq(c.participation_ppm, 0);
    cr_assert_eq(c.latency_ns, 0);
    cr_assert_eq(c.capacity, 1024);
}

Test(paper, allocation_failures_leave_nothing_behind)
{
    long live = atp_alloc_live();
    for (long k = 1; k <= 3; k++) {
        struct paper_broker *pb = NULL;
        struct atp_err err;
        atp_alloc_fail_after(k);
        cr_assert_eq(paper_new(NULL, reg, cal, NULL, &pb, &err), ATP_ENOMEM, "failure #%ld", k);
        atp_alloc_fail_after(0);
        cr_assert_eq(atp_alloc_live(), live);
    }
}

/* After paper_new nothing allocates: with a failure armed for the next allocation, a whole
 * generated script runs, and the armed failure is still there to hit our own malloc after it. */
Test(paper, no_allocation_after_creation)
{
    struct step *steps = calloc(8000, sizeof *steps);
    size_t n = gen_script(5, steps, 8000);
    struct elog *l = calloc(1, sizeof *l);
    struct paper_config c = cfg_of(C_PART10);
    struct paper_events ev = events_for(l);
    struct paper_broker *pb = NULL;
    cr_assert_eq(paper_new(&c, reg, cal, &ev, &pb, NULL), ATP_OK);
    atp_alloc_fail_after(1);
    for (size_t i = 0; i < n; i++)
        run_step(pb, l, &steps[i]);
    void *p = atp_malloc(16);
    atp_alloc_fail_after(0);
    cr_assert_null(p, "the broker allocated on its hot path");
    cr_assert(strstr(l->text, "F P1 ") != NULL);
    paper_free(pb);
    free(l);
    free(steps);
}
