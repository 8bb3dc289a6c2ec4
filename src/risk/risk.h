/* risk/risk: the one risk gate every order passes (DESIGN principle 6), the loss monitor and the
 * kill switch.
 *
 * The gate is a value: risk_new() / risk_free(), no global state. It is owned by the kernel thread
 * and is not thread-safe. It never reads a clock: time comes in with every call that needs it, so a
 * backtest and live trading run the same code. Checks never allocate; only configuration calls
 * (risk_account_add, risk_set_limits) do.
 *
 * A denial is a domain outcome, not an error (CONVENTIONS "Errors"): risk_check_order returns a
 * reason code and fills a decision with the numbers that caused it. Functions that can fail for
 * programming or configuration reasons return an enum atp_status.
 *
 * docs/risk.md has the checks in order, the reason codes, the trading-state machine and the
 * rate-limit rule with its SEBI source. */
#ifndef ATP_RISK_RISK_H
#define ATP_RISK_RISK_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/px.h"
#include "core/ts.h"
#include "model/instrument.h"
#include "model/order.h"

/* ---- trading states (kill switch) ------------------------------------------------------------ */

/* Ordered from least to most strict; the effective state of an (account, mode) is the strictest of
 * the global state, the account's state and REDUCING while its loss limit is breached. */
enum risk_state {
    RISK_STATE_ACTIVE = 0, /* everything the limits allow */
    RISK_STATE_REDUCING,   /* exits only (and cancels) */
    RISK_STATE_HALTED,     /* cancels only */
    RISK_STATE_COUNT
};

/* "ACTIVE", "REDUCING", "HALTED"; "?" when out of range. The parser is ASCII case-insensitive and
 * returns ATP_OK or ATP_EINVAL (*out untouched). */
const char *risk_state_name(enum risk_state state);
int risk_state_parse(const char *text, enum risk_state *out);

/* ---- limits ---------------------------------------------------------------------------------- */

#define RISK_ORDERS_PER_SEC_MAX 1000 /* upper bound of risk_limits.orders_per_sec */
#define RISK_BAND_BPS_MAX 10000      /* 100 % */

/* Limits of one (account, mode). A zero turns a limit off, except orders_per_sec (always on). */
struct risk_limits {
    int32_t price_band_bps;   /* limit price within +-this many basis points of the reference
                                 price (100 bps = 1 %), 0..RISK_BAND_BPS_MAX; 0 = off */
    px_t max_order_value;     /* qty x reference price of one order, rupees as px_t; 0 = off */
    int64_t max_position_qty; /* |position| per instrument in units if every working order on the
                                 order's side fills; 0 = off */
    int32_t max_open_orders;  /* open (working) orders of the account in this mode; 0 = off */
    int32_t orders_per_sec;   /* place + modify + cancel in any 1 s window, 1..RISK_ORDERS_PER_SEC_MAX */
    int32_t max_strategies;   /* strategies running at once; 0 = off */
    px_t max_loss;            /* breach when net P&L <= -max_loss (> 0 rupees as px_t); 0 = off */
    ts_ns mis_cutoff_tod_ns;  /* intraday (MIS) orders that are not exits are denied from this time
                                 of day (offset from IST midnight) to midnight: after the broker's
                                 square-off no new intraday position may open. 0 = off; default
                                 15:20 (Zerodha equity square-off) */
};

/* Built-in defaults: band 10 % (1000 bps, NSE's dynamic F&O band), max order value Rs 25 lakh
 * (one NIFTY or BANKNIFTY futures lot fits), position limit off, 100 open orders, 10 orders/s
 * (the SEBI/NSE per-client threshold), 5 strategies (the seed's default), loss limit off. */
void risk_limits_default(struct risk_limits *out);

/* ATP_OK, or ATP_EINVAL with err->field naming the field out of range. err may be NULL. */
int risk_limits_validate(const struct risk_limits *lim, struct atp_err *err);

/* ---- the gate -------------------------------------------------------------------------------- */

struct risk_gate;

/* A kill-switch or loss-breach switch changed. scope says which switch. */
enum risk_scope { RISK_SCOPE_GLOBAL = 0, RISK_SCOPE_ACCOUNT, RISK_SCOPE_LOSS, RISK_SCOPE_COUNT };
const char *risk_scope_name(enum risk_scope scope); /* "GLOBAL", "ACCOUNT", "LOSS" */

struct risk_state_change {
    enum risk_scope scope;
    uint64_t account_id;  /* 0 for GLOBAL */
    enum trade_mode mode; /* LOSS only (the breach is per account and mode); PAPER otherwise */
    enum risk_state from;
    enum risk_state to;
    ts_ns ts;
};

/* Event sinks, called synchronously on the kernel thread from inside the call that caused the
 * event. Either may be NULL. A callback may read the gate but must not change it. */
struct risk_events {
    void *ctx;
    /* The loss limit of (account, mode) was breached: pause that account's strategies in that mode
     * and tell the user. Raised once per breach; the breach holds until acknowledged. */
    void (*on_breach)(void *ctx, uint64_t account_id, enum trade_mode mode, px_t limit, px_t pnl,
                      ts_ns ts);
    /* A switch changed (set_global_state, set_account_state, a breach, an acknowledgement). Not
     * called when a state is set to the value it already has. */
    void (*on_state_change)(void *ctx, const struct risk_state_change *change);
};

/* A new gate: global state ACTIVE, no accounts, built-in default limits for both modes, no event
 * sinks. NULL on ENOMEM. risk_free(NULL) is a no-op. */
struct risk_gate *risk_new(void);
void risk_free(struct risk_gate *gate);

/* Replaces the event sinks (copied); NULL removes them. */
void risk_set_events(struct risk_gate *gate, const struct risk_events *events);

/* Limits given to accounts of the mode when they are added (risk_account_add, or risk_set_limits
 * for the other mode). Accounts already present keep theirs. ATP_OK, ATP_EINVAL (bad mode or
 * limits; err names the field). */
int risk_set_default_limits(struct risk_gate *gate, enum trade_mode mode,
                            const struct risk_limits *lim, struct atp_err *err);
int risk_get_default_limits(const struct risk_gate *gate, enum trade_mode mode,
                            struct risk_limits *out);

/* Registers an account (id > 0) with the default limits of each mode and state ACTIVE. Orders of an
 * account the gate does not know are denied (RISK_DENY_UNKNOWN_ACCOUNT). A no-op returning ATP_OK
 * when the account is present. ATP_EINVAL for id 0, ATP_ENOMEM (the gate is unchanged). */
int risk_account_add(struct risk_gate *gate, uint64_t account_id);
int risk_account_known(const struct risk_gate *gate, uint64_t account_id);

/* Sets the limits of (account, mode), adding the account first when absent. The rate window keeps
 * the newest min(recorded, new orders_per_sec) actions, so lowering the rate takes effect at once.
 * A breach in force stays until acknowledged; a new max_loss is evaluated on the next
 * risk_on_pnl. ATP_OK, ATP_EINVAL (err names the field), ATP_ENOMEM (nothing changed). */
int risk_set_limits(struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                    const struct risk_limits *lim, struct atp_err *err);
/* ATP_OK, ATP_EINVAL (bad mode), ATP_ENOTFOUND (unknown account). */
int risk_get_limits(const struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                    struct risk_limits *out);

/* ---- order check ----------------------------------------------------------------------------- */

enum risk_action { RISK_ACTION_PLACE = 0, RISK_ACTION_MODIFY, RISK_ACTION_CANCEL, RISK_ACTION_COUNT };
const char *risk_action_name(enum risk_action action); /* "PLACE", "MODIFY", "CANCEL" */

/* Reason of a decision. RISK_ALLOW is 0, so `if (risk_check_order(...))` means "denied".
 * The meaning of risk_decision.limit / .actual per reason is listed in docs/risk.md. */
enum risk_reason {
    RISK_ALLOW = 0,
    RISK_DENY_INVALID_REQUEST,      /* context malformed or order_request_validate failed */
    RISK_DENY_UNKNOWN_ACCOUNT,      /* account not registered with the gate */
    RISK_DENY_GLOBAL_HALTED,        /* global HALTED: cancels only */
    RISK_DENY_ACCOUNT_HALTED,       /* account HALTED: cancels only */
    RISK_DENY_GLOBAL_REDUCING,      /* global REDUCING and the order is not an exit */
    RISK_DENY_ACCOUNT_REDUCING,     /* account REDUCING and the order is not an exit */
    RISK_DENY_LOSS_LIMIT_BREACHED,  /* (account, mode) breached its loss limit: exits only */
    RISK_DENY_QTY_NOT_POSITIVE,     /* actual = qty */
    RISK_DENY_QTY_NOT_LOT_MULTIPLE, /* limit = lot size, actual = qty */
    RISK_DENY_PRICE_OFF_TICK,       /* limit = tick size, actual = the price (limit or trigger) */
    RISK_DENY_PRICE_OUTSIDE_BAND,   /* limit = the band edge crossed, actual = limit price */
    RISK_DENY_PRICE_UNKNOWN,        /* order value needed but no reference price (MARKET, no LTP) */
    RISK_DENY_ORDER_VALUE,          /* limit = max order value, actual = qty x reference price */
    RISK_DENY_POSITION_LIMIT,       /* limit = max position qty, actual = projected |position| */
    RISK_DENY_OPEN_ORDERS,          /* limit = max open orders, actual = open orders with this one */
    RISK_DENY_RATE_LIMIT,           /* limit = orders/s, actual = actions in the window with this */
    RISK_DENY_MAX_STRATEGIES,       /* limit = max strategies, actual = running with the new one */
    RISK_DENY_MIS_AFTER_CUTOFF,     /* limit = cut-off time of day (ns), actual = order time of day */
    RISK_DENY_INSUFFICIENT_FUNDS,   /* limit = funds available, actual = needed with this order */
    RISK_REASON_COUNT
};

/* "ALLOW", "QTY_NOT_LOT_MULTIPLE", ... (the enum name without RISK_DENY_); "?" when out of range. */
const char *risk_reason_name(enum risk_reason reason);

#define RISK_MSG_MAX 192

/* The outcome of a check: the reason and the numbers that caused it. */
struct risk_decision {
    enum risk_reason reason; /* RISK_ALLOW or the first failing check */
    int64_t limit;           /* the limit crossed (qty, px_t or count; see enum risk_reason) */
    int64_t actual;          /* the value that crossed it, same unit as limit */
    px_t reference;          /* band / value checks: the reference price used, else 0 */
    ts_ns retry_at;          /* RATE_LIMIT: the first instant a slot is free again, else 0 */
    enum risk_state state;   /* effective state of (account, mode) at the check */
    int is_exit;             /* 1 when the gate judged the order an exit (see risk_order_is_exit) */
    char msg[RISK_MSG_MAX];  /* one line for people: "qty 70 is not a multiple of lot size 65" */
};

/* Everything the gate needs to judge one action. The gate keeps no positions or orders: the
 * caller (OMS / portfolio) supplies them. */
struct risk_order_ctx {
    enum risk_action action;
    /* PLACE: the new order. MODIFY: the order with its new terms (qty, prices). CANCEL: only
     * account_id and mode are read. */
    const struct order_request *req;
    const struct instrument *instrument; /* the request's instrument (lot, tick); unread for CANCEL */
    px_t last_price;         /* last traded price, 0 when unknown */
    int64_t position_qty;    /* the account's signed position in the instrument in this mode */
    int64_t pending_buy_qty; /* unfilled qty of the account's working BUY orders in the instrument,
                                excluding the order being modified */
    int64_t pending_sell_qty; /* same for SELL orders */
    int32_t open_orders;     /* the account's working orders in this mode (all instruments),
                                excluding this one */
    ts_ns now;               /* time of the action, for the rate window */
    /* Funds (PLACE of an order that is not an exit, when check_funds is set): the order needs
     * margin_bps of its value (qty x reference price) on top of funds_reserved (what the
     * account's other working entries need) within funds_available (equity - margin used). */
    int check_funds;
    int32_t margin_bps;      /* 10000 = the full value (delivery), 2000 = 20% (intraday) */
    px_t funds_available;
    px_t funds_reserved;
};

/* 1 when an order of side and qty is an exit: qty > 0 and it moves the position toward zero
 * without flipping it, even if every working order on the same side fills as well:
 *   SELL: position > 0 and qty + pending_same_side <= position
 *   BUY:  position < 0 and qty + pending_same_side <= -position
 * Otherwise 0 (a flat position has no exit). */
int risk_order_is_exit(enum order_side side, int64_t qty, int64_t position_qty,
                       int64_t pending_same_side_qty);

/* Runs the checks in their fixed order (docs/risk.md); the first failing check decides. Fills *out
 * and returns out->reason. An allowed action takes a slot in the account's rate window (for its
 * mode); a denied one does not. Never allocates, never fails: a malformed context is a denial
 * (RISK_DENY_INVALID_REQUEST). Kernel thread only. */
enum risk_reason risk_check_order(struct risk_gate *gate, const struct risk_order_ctx *ctx,
                                  struct risk_decision *out);

/* When the account's rate window next has a free slot: now when one is free, else the instant the
 * oldest action leaves the window. ATP_OK, ATP_EINVAL, ATP_ENOTFOUND. Does not take a slot. */
int risk_rate_next_slot(const struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                        ts_ns now, ts_ns *out);

/* Before a strategy of (account, mode) starts: running_count strategies already run. Denied when
 * the effective state is not ACTIVE (HALTED, REDUCING or loss breached: the same reason codes as
 * orders) or running_count >= max_strategies (RISK_DENY_MAX_STRATEGIES, actual = running + 1).
 * Fills *out and returns out->reason. Read-only. */
enum risk_reason risk_check_strategy_start(const struct risk_gate *gate, uint64_t account_id,
                                           enum trade_mode mode, int32_t running_count,
                                           struct risk_decision *out);

/* ---- loss monitor ---------------------------------------------------------------------------- */

/* Reports the net P&L of (account, mode): realized + unrealized - charges, as px_t rupees. When
 * max_loss > 0 and net_pnl <= -max_loss and no breach is in force, the (account, mode) becomes
 * BREACHED (effective state at least REDUCING), on_breach and on_state_change (scope LOSS) are
 * called once, and the breach holds until risk_acknowledge_breach. Later reports while breached
 * only update the recorded P&L. ATP_OK, ATP_EINVAL (bad mode), ATP_ENOTFOUND. */
int risk_on_pnl(struct risk_gate *gate, uint64_t account_id, enum trade_mode mode, px_t net_pnl,
                ts_ns ts);

/* The user acknowledges a breach. Accepted only when the last reported P&L is inside the limit
 * now (the user raised max_loss with risk_set_limits, or turned it off), because acknowledging a
 * loss that is still beyond the limit would breach again on the next report. On success the
 * breach is cleared (on_state_change LOSS REDUCING -> ACTIVE) and the limit is armed again.
 * ATP_OK; ATP_ESTATE (no breach in force, or still beyond the limit: err says which);
 * ATP_EINVAL; ATP_ENOTFOUND. err may be NULL. */
int risk_acknowledge_breach(struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                            ts_ns ts, struct atp_err *err);

struct risk_loss_status {
    px_t max_loss;      /* the limit in force, 0 = off */
    px_t last_pnl;      /* last reported net P&L, 0 before any report */
    ts_ns last_pnl_ts;  /* its time, 0 before any report */
    int breached;       /* 1 while a breach is in force */
    px_t breach_pnl;    /* net P&L that caused the breach in force, else 0 */
    ts_ns breached_ts;  /* when the breach in force was raised, else 0 */
    uint32_t breach_count; /* breaches raised since the account was added */
};

/* ATP_OK, ATP_EINVAL, ATP_ENOTFOUND. */
int risk_loss_status(const struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                     struct risk_loss_status *out);

/* ---- kill switch ----------------------------------------------------------------------------- */

/* Sets the global / an account's state (both modes). on_state_change is called when the state
 * changes. ATP_OK, ATP_EINVAL (state out of range), ATP_ENOTFOUND (unknown account). */
int risk_set_global_state(struct risk_gate *gate, enum risk_state state, ts_ns ts);
int risk_set_account_state(struct risk_gate *gate, uint64_t account_id, enum risk_state state,
                           ts_ns ts);

enum risk_state risk_global_state(const struct risk_gate *gate);
/* The account's own switch. ATP_OK, ATP_ENOTFOUND. */
int risk_account_state(const struct risk_gate *gate, uint64_t account_id, enum risk_state *out);
/* The strictest of global, account and loss breach for (account, mode). ATP_OK, ATP_EINVAL,
 * ATP_ENOTFOUND. */
int risk_effective_state(const struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                         enum risk_state *out);

#endif
