/* broker/paper: the paper broker, a deterministic single-threaded matching simulator.
 *
 * The kernel drives it with market data (paper_on_tick, paper_on_bar) and time (paper_on_time,
 * and the `now` of every call); it never reads a clock, never blocks, never allocates after
 * paper_new, and keeps no global state. It matches PAPER orders against the last traded price of
 * their instrument (no order book): market orders at the last price with slippage, limit orders
 * when the market trades through them, SL / SL-M when the last price crosses the trigger. IOC,
 * fill latency, partial fills by volume participation, the MIS square-off time and the end of
 * the session are modelled. docs/paper-broker.md states every rule with its numbers.
 *
 * Orders: paper_submit copies the caller's order; the broker keeps its own copy (its "exchange
 * view") in a fixed-capacity table and drives that copy only through oms/order_sm. Everything
 * that happens comes out through the callbacks of struct paper_events, synchronously, in a
 * deterministic order: the same calls with the same data give the same events, byte for byte.
 * Callbacks must not call back into the broker (such calls return ATP_ESTATE); queue the work and
 * do it after the call returns.
 *
 * Not thread-safe: one broker belongs to one kernel thread. */
#ifndef ATP_BROKER_PAPER_H
#define ATP_BROKER_PAPER_H

#include <stddef.h>
#include <stdint.h>

#include "core/cal.h"
#include "core/err.h"
#include "core/px.h"
#include "core/ts.h"
#include "model/bar.h"
#include "model/instrument.h"
#include "model/order.h"
#include "model/tick.h"
#include "oms/order_sm.h"

#define PAPER_PPM 1000000LL /* rates are in parts per million: 500 = 0.05% */

#define PAPER_DEFAULT_SLIPPAGE_PPM 500                                  /* 0.05% */
#define PAPER_DEFAULT_SQUARE_OFF_NS (15 * TS_NS_PER_HOUR + 20 * TS_NS_PER_MIN) /* 15:20 IST */
#define PAPER_DEFAULT_CAPACITY 1024
#define PAPER_SQUARE_OFF_NONE (-1) /* square_off_tod_ns: no square-off event */

struct paper_config {
    int64_t slippage_ppm;      /* taker slippage, 0 <= s < PAPER_PPM; default 500 (0.05%) */
    int64_t participation_ppm; /* 0: fills are complete; else 1..PAPER_PPM, the share of each
                                  tick's volume our orders of that instrument may take together
                                  (100000 = 10%); default 0 */
    ts_ns latency_ns;          /* 0 <= L < 1 day: an order is matched no earlier than
                                  submit + L; default 0 */
    int wait_for_tick;         /* 1: never match at submission, even with latency 0: the order
                                  waits for the first tick at or after submit + latency ("next
                                  open" fills in bar backtests); default 0 */
    ts_ns square_off_tod_ns;   /* MIS square-off time as an offset from IST midnight, strictly
                                  inside 09:15-15:30; default 15:20 (Zerodha equity);
                                  PAPER_SQUARE_OFF_NONE disables it */
    int cancel_mis_at_square_off; /* 1: resting MIS orders are cancelled at the square-off time,
                                     as brokers do; default 1 */
    uint32_t capacity;         /* orders held at once (resting or waiting), >= 1; default 1024 */
};

/* The defaults listed above. */
void paper_config_default(struct paper_config *cfg);

/* Where the broker reports. Every callback may be NULL. Pointers are valid only during the call.
 *   on_order_update: the broker's copy of the order after an applied state-machine event ev
 *     (SUBMIT for an order handed over NEW, ACK_OPEN, ACK_TRIGGER_PENDING, TRIGGERED,
 *     PARTIAL_FILL, FILL, CANCEL, REJECT, EXPIRE, MODIFY). The OMS applies the same event to its
 *     own copy with order_sm_apply: the reason and new terms are in the snapshot; for fill events
 *     the fill itself came just before through on_fill.
 *   on_fill: one execution; always followed by the on_order_update of its PARTIAL_FILL / FILL.
 *   on_square_off_due: at the square-off time ts of each trading day: MIS positions of PAPER
 *     accounts must be closed now. The broker knows no positions; the kernel sends the exits. */
struct paper_events {
    void *ctx;
    void (*on_order_update)(void *ctx, const struct order *o, enum order_event ev);
    void (*on_fill)(void *ctx, const struct fill *f);
    void (*on_square_off_due)(void *ctx, ts_ns ts);
};

/* Counters, for logs and tests. */
struct paper_stats {
    uint64_t submitted;         /* paper_submit calls that reached the broker (accepted or not) */
    uint64_t rejected;          /* of those, REJECTED */
    uint64_t fills;             /* fills emitted */
    int64_t qty_filled;         /* their total quantity */
    uint64_t cancelled;         /* CANCEL applied (requests and the MIS square-off) */
    uint64_t expired;           /* EXPIRE applied (IOC rests and end of day) */
    uint64_t modified;          /* MODIFY applied */
    uint64_t ticks;             /* ticks seen, pseudo-ticks of bars included */
    uint64_t ticks_off_session; /* of those, outside the continuous session: no matching */
    uint64_t square_offs;       /* square-off events emitted */
    uint64_t internal_errors;   /* state-machine refusals of the broker's own events (a bug) */
};

struct paper_broker;

/* Creates a broker. cfg may be NULL for the defaults. reg (instruments: tick and lot sizes) and
 * cal (sessions, holidays) are borrowed, must outlive the broker and must not change (both are
 * immutable after loading); the broker sizes its per-instrument table from instreg_count(reg).
 * events is copied (NULL: no callbacks). Returns ATP_OK and *out, ATP_EINVAL (err names the
 * config field) or ATP_ENOMEM. All memory is taken here. */
int paper_new(const struct paper_config *cfg, const struct instreg *reg, const struct cal *cal,
              const struct paper_events *events, struct paper_broker **out, struct atp_err *err);

/* Frees the broker and the orders it holds (without events). NULL is a no-op. */
void paper_free(struct paper_broker *pb);

/* Hands an order to the broker at time now. o must be a PAPER order in state NEW or
 * PENDING_SUBMIT with an id > 0 and a valid tag; the broker copies it (o is not modified).
 * Domain outcomes come out as events and return ATP_OK: [SUBMIT for a NEW order], then REJECT
 * with a reason (invalid terms, unknown instrument, "market closed: ..." outside the continuous
 * session, price off tick / qty off lot, broker full, MARKET with "no market price") or
 * ACK_OPEN / ACK_TRIGGER_PENDING followed by whatever matches at once (market fills, marketable
 * limits, crossed triggers, IOC expiry). Errors (no event, nothing kept): ATP_EINVAL for NULL,
 * a LIVE order (field "mode"), id 0 or a bad tag; ATP_ESTATE for any other state or a call from
 * a callback; ATP_EEXIST when an order with this id is held. */
int paper_submit(struct paper_broker *pb, const struct order *o, ts_ns now, struct atp_err *err);

/* One tick: advances time to t->ts (square-off, end of day), and if t->ts is in the continuous
 * session updates the instrument's last price and matches its orders in submission order.
 * Returns ATP_OK (also for ticks outside the session, which match nothing), ATP_EINVAL for
 * NULL or ltp <= 0, ATP_ENOTFOUND for an instrument outside the registry, ATP_ESTATE from a
 * callback. */
int paper_on_tick(struct paper_broker *pb, const struct tick *t);

/* One bar of timeframe tf for a bar backtest: the bar becomes the four ticks of
 * replay_expand_bar (open first, then O->H->L->C when close >= open, else O->L->H->C, at start +
 * 0, 1/4, 1/2, 3/4 of the period, volume split in four) and each goes through paper_on_tick, so
 * a bar run and the same bars replayed as ticks give the same fills. ATP_EINVAL for an invalid
 * bar (bar_is_valid) or tf; otherwise as paper_on_tick. */
int paper_on_bar(struct paper_broker *pb, uint32_t instrument_id, enum tf tf, const struct bar *b);

/* Advances time to now: fires, in time order, every square-off (cancels resting MIS orders when
 * configured, then on_square_off_due) and every session close (all resting orders EXPIRE,
 * reason "end of day") that falls at or before now. Time never goes back: an earlier now does
 * nothing. ATP_OK, or ATP_EINVAL / ATP_ESTATE as above. */
int paper_on_time(struct paper_broker *pb, ts_ns now);

/* Cancels a held order at now (after advancing time to now): CANCEL with reason (NULL: "cancelled
 * by request"); fills before it are kept. ATP_ENOTFOUND (err filled) when the broker holds no
 * such order (already filled, expired, unknown); ATP_ESTATE from a callback. */
int paper_cancel(struct paper_broker *pb, uint64_t order_id, ts_ns now, const char *reason,
                 struct atp_err *err);

/* Modifies a held order at now: new total qty (> qty filled, a lot multiple), limit and trigger
 * prices (on the tick; validated like a request of the order's type). Applied as MODIFY, after
 * which the order arrives again (after the latency, like a new order) and may match at once
 * against the last price; submission priority is kept. Refusals change nothing and emit nothing:
 * ATP_ENOTFOUND, ATP_ERANGE (off tick / lot), the state machine's ATP_EINVAL; ATP_ESTATE from a
 * callback. */
int paper_modify(struct paper_broker *pb, uint64_t order_id, int64_t new_qty, px_t new_limit_price,
                 px_t new_trigger_price, ts_ns now, struct atp_err *err);

/* The broker's copy of a held order, NULL when not held. Valid until the next call that may
 * change the broker. */
const struct order *paper_order(const struct paper_broker *pb, uint64_t order_id);

/* Orders held (resting, trigger pending or waiting for their latency). */
size_t paper_held(const struct paper_broker *pb);

/* The last in-session traded price of an instrument: ATP_OK and *out, or ATP_ENOTFOUND. */
int paper_last_price(const struct paper_broker *pb, uint32_t instrument_id, px_t *out);

/* Counters so far. */
void paper_get_stats(const struct paper_broker *pb, struct paper_stats *out);

#endif
