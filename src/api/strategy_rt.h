/* api/strategy_rt: the server's strategies at run time. Stored strategies (store.h "strategies")
 * run in the server's one paper kernel (api/market.h); this module keeps the two in step.
 *
 * - strategy_spec_parse turns a strategy's JSON (a request body or the stored text) into what the
 *   kernel takes, naming the field at fault ("params.fast", "symbols[1]", "risk.qty").
 * - start / pause / resume / stop / status run against the kernel through api_market_exec. A
 *   start first opens the account in the kernel (strategy_rt_account_open) and gives the risk gate
 *   the account's limits and the admin's limit of running strategies, so the gate decides.
 * - Events: one subscription to the kernel's bus (strategy.state, strategy.signal, risk.breach).
 *   Bus callbacks run on the feed thread under the market lock and must not block, so they copy
 *   the event into a queue; the module's own thread, with its own store connection, persists
 *   state changes and the last signal, records a breach and notifies the account's owner, and
 *   publishes "strategy_state" / "signal" / "risk_breach" on channel "strategies"
 *   (api/events.h, account scope).
 * - Restart: once the market is live (the simulator's warm-up day fed), the thread adds every
 *   stored running or paused strategy back to the kernel; a strategy's indicators warm up from
 *   the engine's bars (strategy/host.c), so it trades as if it had never stopped.
 *
 * One runtime per process, like the market: cmd_serve creates it after the market and publishes
 * it (strategy_rt_set_current); handlers reach it through strategy_rt_current(). Functions taking
 * rt may be called from any thread except a bus callback. docs/strategies.md "In the server". */
#ifndef ATP_API_STRATEGY_RT_H
#define ATP_API_STRATEGY_RT_H

#include <jansson.h>
#include <stdint.h>

#include "api/market.h"
#include "core/err.h"
#include "md/indicator.h"
#include "store/store.h"
#include "strategy/host.h"

/* The admin's default limit of strategies running at once per account (per mode), when none is
 * stored (admin/strategy-limits) and ATP_MAX_STRATEGIES_PAPER / _LIVE are unset. */
#define STRATEGY_RT_DEFAULT_MAX_RUNNING 5
#define STRATEGY_RT_PARAM_NAME_MAX 32

/* A strategy as the kernel takes it. */
struct strategy_spec {
    const struct atp_strategy_def *def;
    uint32_t instruments[STRAT_MAX_INSTRUMENTS];
    int n_instruments;
    enum tf tfs[STRAT_MAX_TFS];
    int n_tfs;
    char param_names[ATP_STRAT_MAX_PARAMS][STRATEGY_RT_PARAM_NAME_MAX];
    struct ind_param params[ATP_STRAT_MAX_PARAMS];
    int n_params;
    struct strat_risk risk;
};

/* Parses and checks a strategy: type (a registry name), symbols (array of known symbols, upper
 * case), timeframes (array of tf names, the first one trades), params (object of numbers, checked
 * against the type's schema: names, integer-ness, bounds), risk (object: qty or sizing_pct
 * required; stop_loss_pct, take_profit_pct, trailing_stop_pct in percent; product MIS|CNC). params
 * and risk may be NULL (then risk fails: a sizing rule is required). ATP_OK, or ATP_EINVAL /
 * ATP_ENOTFOUND with err->field naming the JSON field. Pure; any thread. */
int strategy_spec_parse(const char *type, const json_t *symbols, const json_t *timeframes, const json_t *params,
                        const json_t *risk, const struct instreg *reg, struct strategy_spec *out,
                        struct atp_err *err);
/* The same from a stored strategy's JSON text. */
int strategy_spec_from_store(const struct store_strategy *st, const struct instreg *reg, struct strategy_spec *out,
                             struct atp_err *err);

struct strategy_rt;

/* Opens the runtime's store connection (store_url, already migrated), subscribes to the market's
 * kernel and starts the thread (which restores the stored running and paused strategies once the
 * market is live). ATP_OK, ATP_EIO, ATP_ENOMEM; err filled. */
int strategy_rt_new(const char *store_url, struct api_market *m, struct strategy_rt **out, struct atp_err *err);
/* Stops and joins the thread (events still queued are written first). Call before
 * api_market_free; strategy_rt_free after it (the bus still points at rt until the market is
 * gone). NULL: no-op. */
void strategy_rt_stop(struct strategy_rt *rt);
void strategy_rt_free(struct strategy_rt *rt);

void strategy_rt_set_current(struct strategy_rt *rt);
struct strategy_rt *strategy_rt_current(void);

/* 1 once the restore at start-up is done (tests and the status page). */
int strategy_rt_restored(struct strategy_rt *rt);

/* Opens account_id in kernel k as paper trading does (api_trading_account_ensure: the stored
 * funds and kill switch); an account already open is fine. Without a trading service (a unit
 * test) the account opens with TRADING_DEFAULT_CAPITAL. Kernel thread (inside api_market_exec). */
int strategy_rt_account_open(struct kernel *k, uint64_t account_id, struct atp_err *err);

/* The limits the gate enforces for an account: its stored limits (NULL: none set) and the
 * admin's running limit. */
struct strategy_rt_limits {
    const struct store_risk_limits *account; /* may be NULL */
    int32_t max_running;
};

/* Adds stored strategy id (of account_id) to the kernel, running, with the limits applied first.
 * paused = 1 adds it paused (a restart of a paused strategy). ATP_ERANGE when the risk gate
 * refuses (err->msg: MAX_STRATEGIES or the account's trading state, with the numbers);
 * ATP_EINVAL when the strategy's init refused its parameters (err names "params", the strategy's
 * reason in msg); ATP_EEXIST when it already runs; ATP_ENOTFOUND without a market. */
int strategy_rt_start(struct strategy_rt *rt, int64_t id, int64_t account_id, const struct strategy_spec *spec,
                      const char *name, const struct strategy_rt_limits *lim, int paused, struct atp_err *err);

enum strategy_rt_op { STRATEGY_RT_PAUSE = 0, STRATEGY_RT_RESUME, STRATEGY_RT_STOP };
/* Pauses, resumes or stops stored strategy id in the kernel. ATP_ENOTFOUND when it is not in the
 * kernel (STOP then is a no-op success: nothing runs); ATP_ESTATE when the kernel refuses (a
 * strategy whose init failed cannot resume). Resume is also refused (ATP_ERANGE) while the
 * account's loss breach is in force. */
int strategy_rt_control(struct strategy_rt *rt, int64_t id, enum strategy_rt_op op, struct atp_err *err);

struct strategy_rt_position {
    uint32_t instrument_id;
    int64_t qty;           /* signed */
    px_t avg_price;
};
struct strategy_rt_status {
    int in_kernel;         /* 0: not running in this server (stopped, or no market) */
    int state;             /* enum store_strategy_state, from the kernel */
    uint64_t orders_sent;  /* since it was (re)started in this server */
    uint64_t orders_denied;
    px_t realized_pnl;
    px_t unrealized_pnl;
    char last_error[256];
    struct strategy_rt_position positions[STRAT_MAX_INSTRUMENTS]; /* non-flat ones */
    int n_positions;
};
/* The kernel's view of stored strategy id. Without a runtime or market: in_kernel 0. */
void strategy_rt_status(struct strategy_rt *rt, int64_t id, struct strategy_rt_status *out);

/* Gives the kernel's risk gate an account's limits now (PUT risk-limits), opening the account
 * first. ATP_EINVAL (err names the field) when the gate refuses them. */
int strategy_rt_apply_limits(struct strategy_rt *rt, int64_t account_id, const struct strategy_rt_limits *lim,
                             struct atp_err *err);
/* The owner acknowledges the account's loss breach in the kernel. ATP_OK also when the kernel
 * has none in force (after a restart only the store remembers it); ATP_ESTATE when the loss is
 * still beyond the limit (err->msg says so: raise or turn off max_loss first). */
int strategy_rt_acknowledge(struct strategy_rt *rt, int64_t account_id, struct atp_err *err);

/* The admin's running limit of a mode: the stored one, else ATP_MAX_STRATEGIES_PAPER / _LIVE,
 * else STRATEGY_RT_DEFAULT_MAX_RUNNING. Store errors fall back to the default (logged). */
int32_t strategy_rt_max_running(struct store *s, int mode);

#endif
