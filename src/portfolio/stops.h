/* portfolio/stops: protective exits per position: stop-loss, take-profit and trailing stop,
 * checked on every tick, giving at most one exit signal per position until it is re-armed.
 *
 * A stops book holds one entry per position key (struct portfolio_key): the parameters
 * (percentages), the instrument's tick size, the position it protects (signed qty and entry =
 * average price) and the levels. The kernel drives it from its one thread:
 *   stops_arm          configure a key (and arm it when a position is given)
 *   stops_on_position  after every fill of that key: the position's new qty and average price
 *   stops_on_tick      on every tick: ratchet the trailing stops, emit exits that are hit
 *   stops_rearm        when an exit order failed (rejected, cancelled) and the position remains
 *
 * Levels (docs/portfolio.md, "Stops"), entry E, percentage p, instrument tick T:
 *   long:  stop-loss   = floor_T(E x (1 - p_sl))      take-profit = ceil_T(E x (1 + p_tp))
 *          trailing    = max(trailing, floor_T(highest x (1 - p_tr)))
 *   short: stop-loss   = ceil_T(E x (1 + p_sl))       take-profit = floor_T(E x (1 - p_tp))
 *          trailing    = min(trailing, ceil_T(lowest x (1 + p_tr)))
 * computed exactly in integers and rounded once, to a multiple of the tick, AWAY from the price
 * the level is measured from: a trigger is always a valid price, a stop never sits on the price
 * that set it (so it cannot fire on the tick that moved it), and the loss or profit at the
 * trigger is never less than the percentage asks (at most one tick more). A level of 0 is off.
 *
 * Percentages are in parts per million of the price (1 % = 10000 ppm), exact integers. */
#ifndef ATP_PORTFOLIO_STOPS_H
#define ATP_PORTFOLIO_STOPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/px.h"
#include "core/ts.h"
#include "model/order.h"
#include "model/tick.h"
#include "portfolio/portfolio.h"

#define STOPS_PPM_PER_PCT 10000u        /* 1 % */
#define STOPS_PPM_ONE 1000000u          /* 100 % */
#define STOPS_TAKE_PROFIT_PPM_MAX 100000000u /* 10000 %: long take-profits on options */

enum stop_reason {
    STOP_REASON_NONE = 0,
    STOP_REASON_STOP_LOSS,
    STOP_REASON_TAKE_PROFIT,
    STOP_REASON_TRAILING_STOP,
    STOP_REASON_COUNT
};

/* "NONE", "STOP_LOSS", "TAKE_PROFIT", "TRAILING_STOP"; "?" out of range. */
const char *stop_reason_name(enum stop_reason reason);

/* Each 0 = off. stop_loss_ppm and trailing_ppm < STOPS_PPM_ONE; take_profit_ppm <=
 * STOPS_TAKE_PROFIT_PPM_MAX (a short's take-profit of 100 % or more is level 0: never). */
struct stops_params {
    uint32_t stop_loss_ppm;
    uint32_t take_profit_ppm;
    uint32_t trailing_ppm;
};

enum stops_state {
    STOPS_IDLE = 0, /* no position (flat), or configured only */
    STOPS_ARMED,    /* watching ticks */
    STOPS_FIRED,    /* an exit was emitted; silent until re-armed or the position goes flat */
};

/* An entry as a value. */
struct stops_view {
    struct portfolio_key key;
    struct stops_params params;
    px_t tick_size;
    enum stops_state state;
    int64_t qty;             /* signed position qty protected */
    px_t entry_px;           /* the position's average price the levels derive from */
    px_t stop_loss_px;       /* 0 = off */
    px_t take_profit_px;     /* 0 = off */
    px_t trailing_stop_px;   /* 0 = off; only ever moves toward the price */
    px_t extreme_px;         /* highest (long) / lowest (short) of entry and ticks since armed */
};

/* One exit signal: close qty units with side (the kernel places the order). */
struct stop_exit {
    struct portfolio_key key;
    enum stop_reason reason;
    enum order_side side;    /* SELL closes a long, BUY covers a short */
    int64_t qty;             /* > 0: the whole position protected */
    px_t trigger_px;         /* the level crossed */
    px_t ltp;                /* the tick price that crossed it */
    px_t entry_px;
    px_t stop_loss_px;       /* the levels at the time, 0 = off */
    px_t take_profit_px;
    px_t trailing_stop_px;
    px_t extreme_px;
    ts_ns ts;                /* the tick's time */
};

/* Called once per exit from stops_on_tick. *exit is valid during the call only. fn may call any
 * stops function on the book except stops_free. */
typedef void (*stops_exit_fn)(const struct stop_exit *exit, void *ctx);

struct stops;

/* A new, empty book with room for `capacity` keys (0 = a small default). ATP_OK or ATP_ENOMEM
 * (*out NULL). The caller frees with stops_free. */
int stops_new(size_t capacity, struct stops **out);

/* NULL is a no-op. */
void stops_free(struct stops *st);

/* Sets key's parameters and tick size and, when qty != 0, arms it for that position (entry_px =
 * its average price): levels from entry, extreme = entry, state ARMED. qty == 0 configures only
 * (state IDLE: the next stops_on_position that opens a position arms it). Re-arming a key starts
 * afresh (levels from entry, the old trailing level dropped). Returns ATP_OK; ATP_EINVAL
 * (tick_size <= 0, a percentage out of range, qty != 0 with entry_px <= 0, mode out of range,
 * account_id 0); ATP_EOVERFLOW (a level does not fit in px_t: nothing changed); ATP_ENOMEM.
 * Allocates only for a new key. */
int stops_arm(struct stops *st, const struct portfolio_key *key, const struct stops_params *params,
              px_t tick_size, int64_t qty, px_t entry_px);

/* Tells the book key's position after a fill (qty signed, entry_px its average price):
 *   qty == 0                          -> IDLE (an open exit is done);
 *   IDLE, or the side flipped         -> ARMED afresh from entry_px (a new position);
 *   same side (ARMED or FIRED)        -> qty and entry updated, stop-loss and take-profit
 *                                        recomputed from the new entry, the trailing stop
 *                                        only tightened (extreme includes the new entry); the
 *                                        state is kept (a partly filled exit stays FIRED).
 * Returns ATP_OK; ATP_ENOTFOUND (key never armed or configured: not protected); ATP_EINVAL
 * (qty != 0 with entry_px <= 0); ATP_EOVERFLOW (nothing changed). Never allocates. */
int stops_on_position(struct stops *st, const struct portfolio_key *key, int64_t qty,
                      px_t entry_px);

/* FIRED -> ARMED keeping the levels (the trailing stop does not loosen), for an exit order that
 * failed while the position remains: the next tick beyond a level fires again. ATP_OK (also
 * when already ARMED); ATP_ENOTFOUND; ATP_ESTATE when IDLE. */
int stops_rearm(struct stops *st, const struct portfolio_key *key);

/* Removes key's protection (parameters cleared, IDLE: no later position is armed). ATP_OK or
 * ATP_ENOTFOUND. The entry's memory is kept for reuse. */
int stops_clear(struct stops *st, const struct portfolio_key *key);

/* Checks every ARMED entry of t->instrument_id against t->ltp, in the order entries were
 * created. Per entry: the extreme and the trailing stop ratchet first, then
 *   long:  ltp >= take-profit -> TAKE_PROFIT; else ltp <= max(stop-loss, trailing) -> STOP_LOSS,
 *          or TRAILING_STOP when the trailing level is strictly the higher;
 *   short: ltp <= take-profit -> TAKE_PROFIT; else ltp >= min(stop-loss, trailing) -> STOP_LOSS,
 *          or TRAILING_STOP when the trailing level is strictly the lower;
 * and a hit entry becomes FIRED and fn gets its one exit. A tick with ltp <= 0 is ignored.
 * Returns the number of exits emitted. O(entries of the instrument); never allocates. */
size_t stops_on_tick(struct stops *st, const struct tick *t, stops_exit_fn fn, void *ctx);

/* key's entry into *out. ATP_OK or ATP_ENOTFOUND. */
int stops_get(const struct stops *st, const struct portfolio_key *key, struct stops_view *out);

/* The level helpers stops uses, exported for tests and for the risk module's previews:
 * floor_T / ceil_T of price x (1e6 - ppm) / 1e6 or price x (1e6 + ppm) / 1e6, exactly. Return
 * ATP_OK with *out set (0 when the level is <= 0), ATP_EINVAL (price <= 0, tick <= 0) or
 * ATP_EOVERFLOW. */
int stops_level_below(px_t price, uint32_t ppm, px_t tick_size, px_t *out);
int stops_level_above(px_t price, uint32_t ppm, px_t tick_size, px_t *out);

#endif
