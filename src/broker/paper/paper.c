/* broker/paper: matching against the last traded price, one instrument at a time.
 *
 * Storage is fixed at paper_new: a table of `capacity` order slots and one state per instrument
 * of the registry. A held order sits on two intrusive lists, both in submission order: its
 * instrument's (walked on every tick of that instrument) and the broker's (walked for the time
 * events and look-ups by id). Free slots form a stack. Nothing on the tick path allocates.
 *
 * Vocabulary used below (docs/paper-broker.md has the rules with their numbers):
 *   arrival  the first time an order is matched: at submission, or at the first tick at or after
 *            submit + latency. A triggered SL / SL-M arrives again at its trigger. An order that
 *            can trade at arrival takes liquidity: it pays slippage (a limit caps it).
 *   resting  after arrival a limit order is passive: it fills at its limit when the last price
 *            trades through it, or at the opening price when the session opens beyond it.
 *   opening  the first in-session tick of a trading day for an instrument. */
#include "broker/paper/paper.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "md/feed/replay.h"

#define NIL (-1)
#define PAPER_MAX_CAPACITY (1u << 24)

struct slot {
    struct order o;    /* the broker's copy, driven only through order_sm_apply */
    ts_ns eligible_ts; /* matched no earlier than this (submit or modify + latency) */
    int32_t inst_next, inst_prev; /* instrument list; inst_next doubles as the free-list link */
    int32_t all_next, all_prev;   /* the broker's list */
    uint8_t in_use;
    uint8_t arrived;   /* matched at least once since submission or the last modify */
    uint8_t triggered; /* SL / SL-M whose trigger was hit: now a LIMIT / MARKET */
    uint8_t dropped;   /* the state machine refused the broker's own event (a bug): let go */
};

struct inst_state {
    px_t tick_size;
    int64_t lot_size;
    px_t ltp;          /* last in-session traded price, valid when px_day >= 0 */
    int64_t px_day;    /* IST day of that price, -1 before the first in-session tick */
    int64_t budget;    /* participation left on the last tick (units); INT64_MAX when off */
    int64_t last_cum;  /* cumulative-volume tracking, as md/engine does it */
    int64_t vol_day;
    int has_cum;
    int32_t head, tail;
};

struct paper_broker {
    struct paper_config cfg;
    const struct instreg *reg;
    const struct cal *cal;
    struct paper_events ev;
    struct slot *slots;
    int32_t free_top;
    int32_t all_head, all_tail;
    size_t held;
    struct inst_state *inst;
    uint32_t n_inst;
    uint64_t order_seq; /* broker order ids "PO<n>" */
    uint64_t fill_seq;  /* fill ids "P<n>" */
    int sched_ready;
    ts_ns next_square_off; /* INT64_MAX: none */
    ts_ns next_close;
    int busy; /* inside a call: callbacks may not re-enter */
    struct order_sm_stats sm_stats;
    struct paper_stats stats;
};

/* ---- configuration and lifecycle ----------------------------------------------------------- */

void paper_config_default(struct paper_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->slippage_ppm = PAPER_DEFAULT_SLIPPAGE_PPM;
    cfg->participation_ppm = 0;
    cfg->latency_ns = 0;
    cfg->wait_for_tick = 0;
    cfg->square_off_tod_ns = PAPER_DEFAULT_SQUARE_OFF_NS;
    cfg->cancel_mis_at_square_off = 1;
    cfg->capacity = PAPER_DEFAULT_CAPACITY;
}

static int check_config(const struct paper_config *c, struct atp_err *err)
{
    if (c->slippage_ppm < 0 || c->slippage_ppm >= PAPER_PPM)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "slippage_ppm",
                           "slippage must be 0..999999 ppm (got %lld)", (long long)c->slippage_ppm);
    if (c->participation_ppm < 0 || c->participation_ppm > PAPER_PPM)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "participation_ppm",
                           "participation must be 0 (off) or 1..1000000 ppm (got %lld)",
                           (long long)c->participation_ppm);
    if (c->latency_ns < 0 || c->latency_ns >= TS_NS_PER_DAY)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "latency_ns",
                           "latency must be >= 0 and under a day");
    if (c->square_off_tod_ns != PAPER_SQUARE_OFF_NONE &&
        (c->square_off_tod_ns <= CAL_OPEN_NS || c->square_off_tod_ns >= CAL_CLOSE_NS))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "square_off_tod_ns",
                           "square-off time must lie strictly inside 09:15-15:30 IST");
    if (c->capacity < 1 || c->capacity > PAPER_MAX_CAPACITY)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "capacity", "capacity must be 1..%u",
                           PAPER_MAX_CAPACITY);
    return ATP_OK;
}

int paper_new(const struct paper_config *cfg, const struct instreg *reg, const struct cal *cal,
              const struct paper_events *events, struct paper_broker **out, struct atp_err *err)
{
    struct paper_config defaults;
    if (!cfg) {
        paper_config_default(&defaults);
        cfg = &defaults;
    }
    if (!reg || !cal || !out)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "paper_new needs a registry, a "
                                                          "calendar and an output pointer");
    int rc = check_config(cfg, err);
    if (rc != ATP_OK)
        return rc;
    size_t n_inst = instreg_count(reg);
    if (n_inst > UINT32_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "too many instruments");

    struct paper_broker *pb = atp_calloc(1, sizeof *pb);
    if (!pb)
        goto nomem;
    pb->slots = atp_calloc(cfg->capacity, sizeof *pb->slots);
    if (!pb->slots)
        goto nomem;
    if (n_inst > 0) {
        pb->inst = atp_calloc(n_inst, sizeof *pb->inst);
        if (!pb->inst)
            goto nomem;
    }
    pb->cfg = *cfg;
    pb->reg = reg;
    pb->cal = cal;
    if (events)
        pb->ev = *events;
    pb->n_inst = (uint32_t)n_inst;
    for (uint32_t i = 0; i < pb->n_inst; i++) {
        const struct instrument *in = instreg_get(reg, i);
        struct inst_state *is = &pb->inst[i];
        is->tick_size = in->tick_size;
        is->lot_size = in->lot_size;
        is->px_day = -1;
        is->budget = cfg->participation_ppm ? 0 : INT64_MAX;
        is->head = is->tail = NIL;
    }
    /* Free stack: slot 0 on top, so a fresh broker fills slots in order (reproducible layouts). */
    for (uint32_t i = 0; i < cfg->capacity; i++)
        pb->slots[i].inst_next = i + 1 < cfg->capacity ? (int32_t)(i + 1) : NIL;
    pb->free_top = 0;
    pb->all_head = pb->all_tail = NIL;
    pb->next_square_off = pb->next_close = INT64_MAX;
    *out = pb;
    return ATP_OK;

nomem:
    paper_free(pb);
    return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory creating the paper broker");
}

void paper_free(struct paper_broker *pb)
{
    if (!pb)
        return;
    atp_free(pb->slots);
    atp_free(pb->inst);
    atp_free(pb);
}

/* ---- small helpers ------------------------------------------------------------------------- */

/* floor(a * b / c) for a, b >= 0, c > 0, saturating at INT64_MAX. */
static int64_t mul_div_floor(int64_t a, int64_t b, int64_t c)
{
    __int128 q = (__int128)a * b / c;
    return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

/* The taker's price: last x (1 + s) for a buy rounded UP to the tick, last x (1 - s) for a sell
 * rounded DOWN to the tick (always against the trader), exact in integers; at least one tick. */
static px_t slip_price(px_t ltp, int buy, int64_t ppm, px_t tick)
{
    __int128 num = (__int128)ltp * (PAPER_PPM + (buy ? ppm : -ppm));
    __int128 den = (__int128)PAPER_PPM * tick;
    __int128 q = num / den;
    if (buy && q * den != num)
        q++;
    __int128 p = q * tick;
    if (p < tick)
        p = tick;
    if (p > PX_MAX)
        p = PX_MAX / tick * tick;
    return (px_t)p;
}

static const char *fmt_px(px_t v, char buf[PX_STR_MAX])
{
    px_format(v, buf, PX_STR_MAX);
    return buf;
}

static int is_buy(const struct order *o) { return o->req.side == ORDER_SIDE_BUY; }

static struct slot *slot_at(struct paper_broker *pb, int32_t i) { return &pb->slots[i]; }

static int32_t slot_index(const struct paper_broker *pb, const struct slot *s)
{
    return (int32_t)(s - pb->slots);
}

static int32_t find_slot(const struct paper_broker *pb, uint64_t order_id)
{
    for (int32_t i = pb->all_head; i != NIL; i = pb->slots[i].all_next)
        if (pb->slots[i].o.id == order_id)
            return i;
    return NIL;
}

/* Takes the top free slot and appends it to both lists (submission order). */
static struct slot *slot_take(struct paper_broker *pb, uint32_t instrument_id)
{
    int32_t i = pb->free_top;
    assert(i != NIL);
    struct slot *s = slot_at(pb, i);
    pb->free_top = s->inst_next;
    memset(s, 0, sizeof *s);
    s->in_use = 1;
    struct inst_state *is = &pb->inst[instrument_id];
    s->inst_prev = is->tail;
    s->inst_next = NIL;
    if (is->tail != NIL)
        pb->slots[is->tail].inst_next = i;
    else
        is->head = i;
    is->tail = i;
    s->all_prev = pb->all_tail;
    s->all_next = NIL;
    if (pb->all_tail != NIL)
        pb->slots[pb->all_tail].all_next = i;
    else
        pb->all_head = i;
    pb->all_tail = i;
    pb->held++;
    return s;
}

static void slot_release(struct paper_broker *pb, struct slot *s)
{
    int32_t i = slot_index(pb, s);
    struct inst_state *is = &pb->inst[s->o.req.instrument_id];
    if (s->inst_prev != NIL)
        pb->slots[s->inst_prev].inst_next = s->inst_next;
    else
        is->head = s->inst_next;
    if (s->inst_next != NIL)
        pb->slots[s->inst_next].inst_prev = s->inst_prev;
    else
        is->tail = s->inst_prev;
    if (s->all_prev != NIL)
        pb->slots[s->all_prev].all_next = s->all_next;
    else
        pb->all_head = s->all_next;
    if (s->all_next != NIL)
        pb->slots[s->all_next].all_prev = s->all_prev;
    else
        pb->all_tail = s->all_prev;
    s->in_use = 0;
    s->inst_next = pb->free_top;
    pb->free_top = i;
    pb->held--;
}

static void release_if_done(struct paper_broker *pb, struct slot *s)
{
    if (s->in_use && (s->dropped || order_state_is_terminal(s->o.state)))
        slot_release(pb, s);
}

/* ---- events -------------------------------------------------------------------------------- */

/* Applies ev to o through the state machine and reports it (fill f first, when given). A refusal
 * is a bug in this file: counted, nothing reported. */
static int apply(struct paper_broker *pb, struct order *o, enum order_event ev,
                 const struct order_sm_args *a, const struct fill *f)
{
    struct atp_err err;
    atp_err_clear(&err);
    int rc = order_sm_apply(o, ev, a, &pb->sm_stats, &err);
    if (rc != ATP_OK) {
        pb->stats.internal_errors++;
        return rc;
    }
    switch (ev) {
    case ORDER_EV_REJECT: pb->stats.rejected++; break;
    case ORDER_EV_CANCEL: pb->stats.cancelled++; break;
    case ORDER_EV_EXPIRE: pb->stats.expired++; break;
    case ORDER_EV_MODIFY: pb->stats.modified++; break;
    default: break;
    }
    if (f) {
        pb->stats.fills++;
        pb->stats.qty_filled += f->qty;
        if (pb->ev.on_fill)
            pb->ev.on_fill(pb->ev.ctx, f);
    }
    if (pb->ev.on_order_update)
        pb->ev.on_order_update(pb->ev.ctx, o, ev);
    return ATP_OK;
}

static int apply_simple(struct paper_broker *pb, struct order *o, enum order_event ev, ts_ns ts,
                        const char *reason)
{
    struct order_sm_args a;
    memset(&a, 0, sizeof a);
    a.ts = ts;
    a.reason = reason;
    return apply(pb, o, ev, &a, NULL);
}

/* Ends an order the broker could not drive (a state-machine refusal, which the tests rule out):
 * cancelled with the reason, so it does not hang; if even that is refused the order is dropped. */
static void fail_order(struct paper_broker *pb, struct slot *s, ts_ns ts, const char *what)
{
    char reason[160];
    snprintf(reason, sizeof reason, "paper broker internal error: %s", what);
    if (apply_simple(pb, &s->o, ORDER_EV_CANCEL, ts, reason) != ATP_OK)
        s->dropped = 1; /* counted in internal_errors */
}

static void do_fill(struct paper_broker *pb, struct slot *s, int64_t qty, px_t price, ts_ns ts)
{
    struct order *o = &s->o;
    struct order_sm_args a;
    memset(&a, 0, sizeof a);
    a.ts = ts;
    a.fill_qty = qty;
    a.fill_price = price;
    struct fill f;
    memset(&f, 0, sizeof f);
    f.order_id = o->id;
    snprintf(f.fill_id, sizeof f.fill_id, "P%llu", (unsigned long long)(pb->fill_seq + 1));
    f.account_id = o->req.account_id;
    f.instrument_id = o->req.instrument_id;
    f.side = o->req.side;
    f.qty = qty;
    f.price = price;
    f.ts = ts;
    f.mode = TRADE_MODE_PAPER;
    if (apply(pb, o, order_sm_fill_event(o, qty), &a, &f) != ATP_OK) {
        fail_order(pb, s, ts, "a fill was refused by the order state machine");
        return;
    }
    pb->fill_seq++;
}

/* ---- matching ------------------------------------------------------------------------------ */

static int64_t lot_floor(int64_t qty, int64_t lot) { return lot > 1 ? qty / lot * lot : qty; }

/* Matches one eligible order against last price ltp at ts. opening: ltp is the session's first
 * in-session price of the instrument. */
static void match(struct paper_broker *pb, struct inst_state *is, struct slot *s, px_t ltp,
                  ts_ns ts, int opening)
{
    struct order *o = &s->o;
    const int buy = is_buy(o);
    const enum order_type type = o->req.type;
    int arrival = !s->arrived;
    s->arrived = 1;

    if ((type == ORDER_TYPE_SL || type == ORDER_TYPE_SL_M) && !s->triggered) {
        int hit = buy ? ltp >= o->req.trigger_price : ltp <= o->req.trigger_price;
        if (!hit)
            return; /* SL / SL-M carry no IOC (order_request_validate), so nothing else to do */
        if (apply_simple(pb, o, ORDER_EV_TRIGGERED, ts, NULL) != ATP_OK) {
            fail_order(pb, s, ts, "TRIGGERED was refused by the order state machine");
            return;
        }
        s->triggered = 1;
        arrival = 1; /* the triggered order enters the market now, as a taker */
    }

    const int market_like = type == ORDER_TYPE_MARKET || type == ORDER_TYPE_SL_M;
    const px_t limit = o->req.limit_price;
    int marketable = market_like || (buy ? ltp <= limit : ltp >= limit);
    px_t price = 0;
    if (marketable) {
        px_t taker = slip_price(ltp, buy, pb->cfg.slippage_ppm, is->tick_size);
        if (market_like)
            price = taker;
        else if (arrival)
            price = buy ? (taker < limit ? taker : limit) : (taker > limit ? taker : limit);
        else
            price = opening ? ltp : limit;
        int64_t qty = order_qty_remaining(o);
        int64_t cap = lot_floor(is->budget, is->lot_size);
        if (qty > cap)
            qty = cap;
        if (qty > 0) {
            if (is->budget != INT64_MAX)
                is->budget -= qty;
            do_fill(pb, s, qty, price, ts);
        }
    }

    if (arrival && o->req.validity == ORDER_VALIDITY_IOC && !s->dropped &&
        !order_state_is_terminal(o->state)) {
        char reason[ORDER_REASON_MAX], a[PX_STR_MAX], b[PX_STR_MAX];
        if (!marketable)
            snprintf(reason, sizeof reason, "IOC: limit %s not marketable at last price %s",
                     fmt_px(limit, a), fmt_px(ltp, b));
        else
            snprintf(reason, sizeof reason,
                     "IOC: %lld of %lld unfilled at arrival (volume participation cap)",
                     (long long)order_qty_remaining(o), (long long)o->req.qty);
        apply_simple(pb, o, ORDER_EV_EXPIRE, ts, reason);
    }
}

/* Arrival at submission or modification (latency 0, not waiting for a tick): against the last
 * in-session price of today, if any. */
static void arrive_now(struct paper_broker *pb, struct slot *s, ts_ns now)
{
    struct inst_state *is = &pb->inst[s->o.req.instrument_id];
    if (is->px_day >= 0 && is->px_day == ts_ist_day(now)) {
        match(pb, is, s, is->ltp, now, 0);
        return;
    }
    /* No trade yet today: the order is in the book; an IOC has nothing to meet. */
    s->arrived = 1;
    if (s->o.req.validity == ORDER_VALIDITY_IOC)
        apply_simple(pb, &s->o, ORDER_EV_EXPIRE, now, "IOC: no trade yet in this session");
}

/* ---- time ---------------------------------------------------------------------------------- */

static ts_ns square_off_at(const struct paper_broker *pb, int64_t day)
{
    if (day < 0 || pb->cfg.square_off_tod_ns == PAPER_SQUARE_OFF_NONE)
        return INT64_MAX;
    return ts_ist_midnight(day) + pb->cfg.square_off_tod_ns;
}

static void end_of_day(struct paper_broker *pb, ts_ns t)
{
    for (int32_t i = pb->all_head, next; i != NIL; i = next) {
        struct slot *s = slot_at(pb, i);
        next = s->all_next;
        apply_simple(pb, &s->o, ORDER_EV_EXPIRE, t, "end of day");
        if (!order_state_is_terminal(s->o.state))
            fail_order(pb, s, t, "EXPIRE was refused by the order state machine");
        release_if_done(pb, s);
    }
}

static void square_off(struct paper_broker *pb, ts_ns t)
{
    if (pb->cfg.cancel_mis_at_square_off) {
        ts_ns tod = pb->cfg.square_off_tod_ns;
        char reason[96];
        snprintf(reason, sizeof reason, "MIS square-off at %02d:%02d: pending intraday order "
                 "cancelled", (int)(tod / TS_NS_PER_HOUR), (int)(tod / TS_NS_PER_MIN % 60));
        for (int32_t i = pb->all_head, next; i != NIL; i = next) {
            struct slot *s = slot_at(pb, i);
            next = s->all_next;
            if (s->o.req.product != ORDER_PRODUCT_MIS)
                continue;
            apply_simple(pb, &s->o, ORDER_EV_CANCEL, t, reason);
            if (!order_state_is_terminal(s->o.state))
                fail_order(pb, s, t, "CANCEL was refused by the order state machine");
            release_if_done(pb, s);
        }
    }
    pb->stats.square_offs++;
    if (pb->ev.on_square_off_due)
        pb->ev.on_square_off_due(pb->ev.ctx, t);
}

/* Fires every square-off and session close at or before now, in time order. The schedule starts
 * at the first time the broker sees: that day's square-off and close if its session has not
 * closed yet (a broker started at 15:25 still reports the 15:20 square-off), else the next
 * trading day's. */
static void advance(struct paper_broker *pb, ts_ns now)
{
    if (!pb->sched_ready) {
        int64_t day = cal_trading_day(pb->cal, now);
        if (day >= 0 && now >= cal_session_close(day))
            day = cal_next_trading_day(pb->cal, day);
        pb->next_close = day < 0 ? INT64_MAX : cal_session_close(day);
        pb->next_square_off = square_off_at(pb, day);
        pb->sched_ready = 1;
    }
    for (;;) {
        int is_sq = pb->next_square_off <= pb->next_close;
        ts_ns t = is_sq ? pb->next_square_off : pb->next_close;
        if (t == INT64_MAX || t > now)
            break;
        int64_t next_day = cal_next_trading_day(pb->cal, ts_ist_day(t));
        if (is_sq) {
            square_off(pb, t);
            pb->next_square_off = square_off_at(pb, next_day);
        } else {
            end_of_day(pb, t);
            pb->next_close = next_day < 0 ? INT64_MAX : cal_session_close(next_day);
        }
    }
}

/* ---- submission ---------------------------------------------------------------------------- */

/* Why the market does not take orders at now, or NULL when it does (continuous session). */
static const char *closed_reason(const struct paper_broker *pb, ts_ns now, char *buf, size_t size)
{
    enum cal_phase phase = cal_phase_at(pb->cal, now);
    struct ts_civil c;
    ts_to_ist(now, &c);
    switch (phase) {
    case CAL_CONTINUOUS:
        return NULL;
    case CAL_PREOPEN:
        snprintf(buf, size, "market closed: %02d:%02d:%02d IST is in the pre-open session "
                 "(09:00-09:08); the paper broker takes orders only in the continuous session "
                 "09:15-15:30", c.hour, c.minute, c.second);
        return buf;
    case CAL_PREOPEN_MATCH:
        snprintf(buf, size, "market closed: %02d:%02d:%02d IST is in the pre-open matching and "
                 "buffer period (09:08-09:15), no order entry", c.hour, c.minute, c.second);
        return buf;
    case CAL_CLOSED:
        break;
    }
    if (!cal_is_trading_day(pb->cal, ts_ist_day(now)))
        snprintf(buf, size, "market closed: %04d-%02d-%02d is not a trading day", c.year,
                 c.month, c.day);
    else
        snprintf(buf, size, "market closed: %02d:%02d:%02d IST is outside the continuous "
                 "session 09:15-15:30", c.hour, c.minute, c.second);
    return buf;
}

/* Why the exchange would refuse the order, or NULL. */
static const char *reject_reason(const struct paper_broker *pb, const struct order *o, ts_ns now,
                                 char *buf, size_t size)
{
    struct atp_err e;
    atp_err_clear(&e);
    if (order_request_validate(&o->req, &e) != ATP_OK) {
        snprintf(buf, size, "invalid order: %.40s: %.190s", e.field, e.msg);
        return buf;
    }
    uint32_t id = o->req.instrument_id;
    if (id >= pb->n_inst) {
        snprintf(buf, size, "unknown instrument %u", id);
        return buf;
    }
    const char *why = closed_reason(pb, now, buf, size);
    if (why)
        return why;
    const struct instrument *in = instreg_get(pb->reg, id);
    if (o->req.limit_price > 0 && instrument_check_price(in, o->req.limit_price, &e) != ATP_OK) {
        snprintf(buf, size, "limit_price: %.230s", e.msg);
        return buf;
    }
    if (o->req.trigger_price > 0 &&
        instrument_check_price(in, o->req.trigger_price, &e) != ATP_OK) {
        snprintf(buf, size, "trigger_price: %.230s", e.msg);
        return buf;
    }
    if (instrument_check_qty(in, o->req.qty, &e) != ATP_OK) {
        snprintf(buf, size, "qty: %.230s", e.msg);
        return buf;
    }
    if (pb->free_top == NIL) {
        snprintf(buf, size, "paper broker full: %u orders held (its capacity)",
                 pb->cfg.capacity);
        return buf;
    }
    const struct inst_state *is = &pb->inst[id];
    int matches_now = pb->cfg.latency_ns == 0 && !pb->cfg.wait_for_tick;
    if (o->req.type == ORDER_TYPE_MARKET && matches_now &&
        (is->px_day < 0 || is->px_day != ts_ist_day(now))) {
        snprintf(buf, size, "no market price: %s has not traded in this session yet",
                 in->symbol);
        return buf;
    }
    return NULL;
}

static int check_caller(const struct paper_broker *pb, struct atp_err *err)
{
    if (!pb)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no paper broker");
    if (pb->busy)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL,
                           "the paper broker was called from one of its callbacks");
    return ATP_OK;
}

int paper_submit(struct paper_broker *pb, const struct order *in, ts_ns now, struct atp_err *err)
{
    int rc = check_caller(pb, err);
    if (rc != ATP_OK)
        return rc;
    if (!in)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no order");
    if (in->req.mode != TRADE_MODE_PAPER)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode",
                           "the paper broker accepts only PAPER orders (order %llu is %s)",
                           (unsigned long long)in->id, trade_mode_name(in->req.mode));
    if (in->state != ORDER_STATE_NEW && in->state != ORDER_STATE_PENDING_SUBMIT)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, "state",
                           "order %llu is %s; only NEW or PENDING_SUBMIT orders are submitted",
                           (unsigned long long)in->id, order_state_name(in->state));
    if (in->id == 0 || !order_tag_valid(in->tag))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, in->id == 0 ? "id" : "tag",
                           "an order needs an id > 0 and a valid tag");
    if (find_slot(pb, in->id) != NIL)
        return atp_err_set(err, ATP_EEXIST, NULL, 0, "id", "order %llu is already held",
                           (unsigned long long)in->id);

    pb->busy = 1;
    advance(pb, now);
    pb->stats.submitted++;
    struct order o = *in;
    char bid[ORDER_BROKER_ID_MAX];
    snprintf(bid, sizeof bid, "PO%llu", (unsigned long long)++pb->order_seq);
    struct order_sm_args a;
    memset(&a, 0, sizeof a);
    a.ts = now;
    if (!o.broker_order_id[0])
        a.broker_order_id = bid;

    if (o.state == ORDER_STATE_NEW && apply(pb, &o, ORDER_EV_SUBMIT, &a, NULL) != ATP_OK) {
        pb->busy = 0;
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "SUBMIT was refused");
    }
    char buf[ORDER_REASON_MAX];
    const char *why = reject_reason(pb, &o, now, buf, sizeof buf);
    if (why) {
        a.reason = why;
        apply(pb, &o, ORDER_EV_REJECT, &a, NULL);
        pb->busy = 0;
        return ATP_OK;
    }

    struct slot *s = slot_take(pb, o.req.instrument_id);
    s->o = o;
    s->eligible_ts = now + pb->cfg.latency_ns;
    int trig = o.req.type == ORDER_TYPE_SL || o.req.type == ORDER_TYPE_SL_M;
    if (apply(pb, &s->o, trig ? ORDER_EV_ACK_TRIGGER_PENDING : ORDER_EV_ACK_OPEN, &a, NULL) !=
        ATP_OK)
        fail_order(pb, s, now, "the acknowledgement was refused by the order state machine");
    else if (pb->cfg.latency_ns == 0 && !pb->cfg.wait_for_tick)
        arrive_now(pb, s, now);
    release_if_done(pb, s);
    pb->busy = 0;
    return ATP_OK;
}

/* ---- market data --------------------------------------------------------------------------- */

/* Volume a tick adds, as md/engine counts it: the delta of the cumulative day volume when the
 * tick carries it (the first figure of a day counts whole), else its traded qty, else 0. */
static int64_t tick_volume(struct inst_state *is, const struct tick *t)
{
    if (t->flags & TICK_HAS_VOLUME) {
        int64_t day = ts_ist_day(t->ts), v;
        if (!is->has_cum || day != is->vol_day)
            v = t->cum_volume;
        else
            v = t->cum_volume >= is->last_cum ? t->cum_volume - is->last_cum : 0;
        is->has_cum = 1;
        is->vol_day = day;
        is->last_cum = t->cum_volume;
        return v < 0 ? 0 : v;
    }
    if (t->flags & TICK_HAS_QTY)
        return t->qty > 0 ? t->qty : 0;
    return 0;
}

static int on_tick(struct paper_broker *pb, const struct tick *t)
{
    if (t->ltp <= 0)
        return ATP_EINVAL;
    if (t->instrument_id >= pb->n_inst)
        return ATP_ENOTFOUND;
    advance(pb, t->ts);
    pb->stats.ticks++;
    struct inst_state *is = &pb->inst[t->instrument_id];
    int64_t volume = tick_volume(is, t);
    if (!cal_is_open(pb->cal, t->ts)) {
        pb->stats.ticks_off_session++;
        return ATP_OK;
    }
    int64_t day = ts_ist_day(t->ts);
    int opening = is->px_day != day;
    is->ltp = t->ltp;
    is->px_day = day;
    is->budget = pb->cfg.participation_ppm
                     ? mul_div_floor(volume, pb->cfg.participation_ppm, PAPER_PPM)
                     : INT64_MAX;
    for (int32_t i = is->head, next; i != NIL; i = next) {
        struct slot *s = slot_at(pb, i);
        next = s->inst_next;
        if (t->ts < s->eligible_ts)
            continue;
        match(pb, is, s, t->ltp, t->ts, opening);
        release_if_done(pb, s);
    }
    return ATP_OK;
}

int paper_on_tick(struct paper_broker *pb, const struct tick *t)
{
    int rc = check_caller(pb, NULL);
    if (rc != ATP_OK)
        return rc;
    if (!t)
        return ATP_EINVAL;
    pb->busy = 1;
    rc = on_tick(pb, t);
    pb->busy = 0;
    return rc;
}

int paper_on_bar(struct paper_broker *pb, uint32_t instrument_id, enum tf tf, const struct bar *b)
{
    int rc = check_caller(pb, NULL);
    if (rc != ATP_OK)
        return rc;
    if (!b || (unsigned)tf >= TF_COUNT || !bar_is_valid(b) || b->low <= 0)
        return ATP_EINVAL;
    if (instrument_id >= pb->n_inst)
        return ATP_ENOTFOUND;
    struct tick path[4];
    replay_expand_bar(b, tf, instrument_id, path);
    pb->busy = 1;
    for (int k = 0; k < 4 && rc == ATP_OK; k++)
        rc = on_tick(pb, &path[k]);
    pb->busy = 0;
    return rc;
}

int paper_on_time(struct paper_broker *pb, ts_ns now)
{
    int rc = check_caller(pb, NULL);
    if (rc != ATP_OK)
        return rc;
    pb->busy = 1;
    advance(pb, now);
    pb->busy = 0;
    return ATP_OK;
}

/* ---- cancel and modify --------------------------------------------------------------------- */

static struct slot *held_slot(struct paper_broker *pb, uint64_t order_id, struct atp_err *err)
{
    int32_t i = find_slot(pb, order_id);
    if (i == NIL) {
        atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "order_id",
                    "the paper broker holds no order %llu (filled, cancelled, expired or "
                    "unknown)", (unsigned long long)order_id);
        return NULL;
    }
    return slot_at(pb, i);
}

int paper_cancel(struct paper_broker *pb, uint64_t order_id, ts_ns now, const char *reason,
                 struct atp_err *err)
{
    int rc = check_caller(pb, err);
    if (rc != ATP_OK)
        return rc;
    pb->busy = 1;
    advance(pb, now);
    struct slot *s = held_slot(pb, order_id, err);
    if (!s) {
        pb->busy = 0;
        return ATP_ENOTFOUND;
    }
    rc = apply_simple(pb, &s->o, ORDER_EV_CANCEL, now, reason ? reason : "cancelled by request");
    if (rc != ATP_OK)
        fail_order(pb, s, now, "CANCEL was refused by the order state machine");
    release_if_done(pb, s);
    pb->busy = 0;
    return ATP_OK;
}

int paper_modify(struct paper_broker *pb, uint64_t order_id, int64_t new_qty, px_t new_limit_price,
                 px_t new_trigger_price, ts_ns now, struct atp_err *err)
{
    int rc = check_caller(pb, err);
    if (rc != ATP_OK)
        return rc;
    pb->busy = 1;
    advance(pb, now);
    struct slot *s = held_slot(pb, order_id, err);
    if (!s) {
        pb->busy = 0;
        return ATP_ENOTFOUND;
    }
    const struct instrument *in = instreg_get(pb->reg, s->o.req.instrument_id);
    rc = ATP_OK;
    if (new_limit_price > 0)
        rc = instrument_check_price(in, new_limit_price, err);
    if (rc == ATP_OK && new_trigger_price > 0)
        rc = instrument_check_price(in, new_trigger_price, err);
    if (rc == ATP_OK && new_qty > 0)
        rc = instrument_check_qty(in, new_qty, err);
    if (rc == ATP_OK) {
        struct order_sm_args a;
        memset(&a, 0, sizeof a);
        a.ts = now;
        a.new_qty = new_qty;
        a.new_limit_price = new_limit_price;
        a.new_trigger_price = new_trigger_price;
        /* Refusals of the modify itself (bad terms) come back to the caller, not as a bug. */
        struct order n = s->o;
        rc = order_sm_apply(&n, ORDER_EV_MODIFY, &a, NULL, err);
        if (rc == ATP_OK) {
            rc = apply(pb, &s->o, ORDER_EV_MODIFY, &a, NULL);
            assert(rc == ATP_OK);
        }
    }
    if (rc != ATP_OK) {
        pb->busy = 0;
        return rc;
    }
    /* The modified order arrives again, like a new one: after the latency, as a taker if it can
     * trade at once. An SL already triggered stays triggered. */
    s->arrived = 0;
    s->eligible_ts = now + pb->cfg.latency_ns;
    if (pb->cfg.latency_ns == 0 && !pb->cfg.wait_for_tick)
        arrive_now(pb, s, now);
    release_if_done(pb, s);
    pb->busy = 0;
    return ATP_OK;
}

/* ---- inspection ---------------------------------------------------------------------------- */

const struct order *paper_order(const struct paper_broker *pb, uint64_t order_id)
{
    if (!pb)
        return NULL;
    int32_t i = find_slot(pb, order_id);
    return i == NIL ? NULL : &pb->slots[i].o;
}

size_t paper_held(const struct paper_broker *pb) { return pb ? pb->held : 0; }

int paper_last_price(const struct paper_broker *pb, uint32_t instrument_id, px_t *out)
{
    if (!pb || instrument_id >= pb->n_inst || pb->inst[instrument_id].px_day < 0)
        return ATP_ENOTFOUND;
    *out = pb->inst[instrument_id].ltp;
    return ATP_OK;
}

void paper_get_stats(const struct paper_broker *pb, struct paper_stats *out)
{
    if (pb)
        *out = pb->stats;
    else
        memset(out, 0, sizeof *out);
}
