/* kernel/kernel: the trading kernel. One value owns a market-data engine, a strategy host, a risk
 * gate, an order manager, a portfolio with protective stops, and one broker connector, and runs
 * on whatever clock its caller drives: a backtest feeds it bars as fast as it can, paper and live
 * trading feed it ticks as they come (DESIGN.md: "One kernel, three clocks"). Events go out on
 * the kernel's bus (kernel/topics.h). Same input and seed give byte-identical events.
 *
 * Order path: strategy intent (or a manual request) -> sizing -> risk gate (a denial is a
 * TOPIC_RISK_DENIED event) -> OMS (NEW, unique tag) -> broker. Broker reports come back as events
 * the OMS applies through the state machine; fills update the portfolio (with charges), arm the
 * protective stops and reach the strategy.
 *
 * Re-entrancy: broker callbacks must not call the broker, so every order action a callback (or a
 * strategy inside one) causes is queued and sent when the outer call returns.
 *
 * Threading: one kernel belongs to one thread; nothing here locks or blocks. A process may run
 * many kernels (backtests) on different threads: there is no global state. */
#ifndef ATP_KERNEL_KERNEL_H
#define ATP_KERNEL_KERNEL_H

#include <stdint.h>

#include "broker/broker.h"
#include "core/cal.h"
#include "core/err.h"
#include "kernel/bus.h"
#include "md/engine.h"
#include "model/instrument.h"
#include "oms/oms.h"
#include "portfolio/charges.h"
#include "portfolio/portfolio.h"
#include "portfolio/stops.h"
#include "risk/risk.h"
#include "strategy/host.h"

struct kernel_config {
    const struct cal *cal;          /* NSE calendar (borrowed) */
    const struct instreg *reg;      /* instruments (borrowed) */
    enum trade_mode mode;           /* the one mode this kernel trades */
    uint64_t run_id;                /* makes order tags unique across runs */
    uint32_t tf_mask;               /* timeframes the md engine builds; 0 = all */
    const struct charges_model *charges; /* per-fill charges; NULL = none (borrowed) */
    /* Orders decided at a bar's close wait for the next price (next bar's open) instead of
     * filling at the last price: the backtester's --fill next_open. */
    int fill_next_open;
};

struct kernel;

/* Opens the kernel's broker connector, reporting to `events` (which point into the kernel). */
typedef int (*kernel_broker_open_fn)(void *arg, const struct broker_events *events,
                                     struct broker **out, struct atp_err *err);

/* Creates a kernel and its broker (through open_broker, which the kernel then owns). ATP_EINVAL
 * (err names the config field), ATP_ENOMEM, or the connector's error. */
int kernel_new(const struct kernel_config *cfg, kernel_broker_open_fn open_broker, void *arg,
               struct kernel **out, struct atp_err *err);
void kernel_free(struct kernel *k);

struct bus *kernel_bus(struct kernel *k);
struct md_engine *kernel_md(struct kernel *k);
struct strat_host *kernel_strategies(struct kernel *k);
struct risk_gate *kernel_risk(struct kernel *k);
struct oms *kernel_oms(struct kernel *k);
struct portfolio *kernel_portfolio(struct kernel *k);
struct broker *kernel_broker(struct kernel *k);
ts_ns kernel_now(const struct kernel *k);

/* Opens a trading account in the kernel's mode with its starting cash (portfolio ledger and risk
 * gate entry). ATP_EEXIST when open, ATP_EINVAL, ATP_ENOMEM. */
int kernel_account_open(struct kernel *k, uint64_t account_id, px_t initial_cash,
                        struct atp_err *err);

/* Adds a strategy instance (its mode must be the kernel's). The risk gate's strategy limit is
 * checked first: a denial is ATP_ERANGE with the reason in err. Otherwise as strat_host_add. */
int kernel_strategy_add(struct kernel *k, const struct strat_config *cfg, uint64_t *id_out,
                        struct atp_err *err);

/* Market data and time. */
void kernel_on_tick(struct kernel *k, const struct tick *t);
/* A complete bar of timeframe tf (bar backtests): its four path ticks (open, then high/low, then
 * close) go to the broker, portfolio and stops, then the bar itself to the md engine. */
void kernel_on_bar(struct kernel *k, uint32_t instrument_id, enum tf tf, const struct bar *bar);
/* The timer: completes due bars, fires broker session events and strategy timers. */
void kernel_advance(struct kernel *k, ts_ns now);

/* A manual order (strategy_id 0) through the same risk gate and OMS. Returns ATP_OK with the order
 * id in *id_out; 1 when the client key was seen before (*id_out = that order); ATP_EINVAL for an
 * invalid request (err names the field); ATP_ERANGE when the risk gate denied it (err->msg has the
 * reason and the numbers; the denial is also an event). */
int kernel_place(struct kernel *k, const struct order_request *req, uint64_t *id_out,
                 struct atp_err *err);
/* kernel_place with protective exits (portfolio/stops.h) armed when the order fills, as a
 * strategy's risk settings arm them: the kernel places the exit when a level is hit. stops NULL
 * or all zero: none. ATP_EINVAL (field stop_loss_pct, take_profit_pct or trailing_stop_pct) for
 * a level out of range. Used by the one-signal-many-accounts route. */
int kernel_place_protected(struct kernel *k, const struct order_request *req, const struct stops_params *stops,
                           uint64_t *id_out, struct atp_err *err);
int kernel_cancel(struct kernel *k, uint64_t account_id, uint64_t order_id, struct atp_err *err);
/* Modifies a working order (new total qty, limit and trigger prices) after the risk gate checks
 * the new terms (MODIFY counts toward the rate limit). ATP_ENOTFOUND, ATP_ESTATE for a final
 * order, ATP_ERANGE for a denial, or the broker's refusal (err names the field). */
int kernel_modify(struct kernel *k, uint64_t account_id, uint64_t order_id, int64_t new_qty,
                  px_t new_limit_price, px_t new_trigger_price, struct atp_err *err);

/* Durability (docs/orders.md "Persistence and recovery"). The hook is called with every new
 * order after the OMS created it (state NEW) and before it is queued for the broker, so a caller
 * that stores orders has the order on disk before the broker sees it. ATP_OK lets the order go
 * on; any other return rejects it locally (REJECTED with err's message, an ORDER_UPDATE event)
 * and the placing call returns that status. The kernel stays storage-agnostic: it only asks.
 * One hook per kernel; fn NULL removes it. */
typedef int (*kernel_order_hook_fn)(void *ctx, const struct order *o, struct atp_err *err);
void kernel_set_order_hook(struct kernel *k, kernel_order_hook_fn fn, void *ctx);

/* Recovery after a restart: applies a fill that happened before it to the portfolio (with its
 * charges) and the account's net position, as on_fill would, but without the broker, events,
 * stops or strategies. The account must be open. ATP_EINVAL (err names the field),
 * ATP_ENOTFOUND (account not open), or the portfolio's error. */
int kernel_restore_fill(struct kernel *k, const struct fill *f, uint64_t strategy_id,
                        enum order_product product, px_t charges, struct atp_err *err);

/* Recovery: re-places a working order of before the restart (the caller passes its unfilled
 * rest) through the OMS, the order hook and the broker, without the risk gate: it passed the gate
 * when first placed, and a restart must not turn a working order into a denial (the rate limit
 * alone would refuse a book of more than 10 orders). As kernel_place otherwise. */
int kernel_restore_order(struct kernel *k, const struct order_request *req, uint64_t *id_out,
                         struct atp_err *err);

/* A counter of orders refused by the gate and of internal inconsistencies (a broker event the OMS
 * refused): for tests and the status page. */
struct kernel_stats {
    uint64_t ticks;
    uint64_t bars;
    uint64_t intents;
    uint64_t orders;
    uint64_t denied;
    uint64_t fills;
    uint64_t stop_exits;
    uint64_t square_offs;
    uint64_t oms_refusals;
};
void kernel_stats(const struct kernel *k, struct kernel_stats *out);

#endif
