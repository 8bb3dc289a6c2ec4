/* atp/strategy.h: the strategy plug-in API (stable).
 *
 * A strategy is a set of callbacks over a private state block the host allocates (state_size
 * bytes, zeroed). It sees market data for its instruments and timeframes, its own position and
 * orders, and acts through the atp_* functions below, which the host implements. The same
 * strategy code runs in backtests, paper and live trading: it never reads a clock (atp_now) and
 * never does I/O.
 *
 * Errors: a callback returns 0, or -1 after atp_fail(ctx, "why"); the host then pauses the
 * strategy with its state kept and raises an event. A strategy can never take the kernel down.
 * Threading: all callbacks of one strategy run on the kernel thread, one at a time.
 *
 * Adding a strategy: one file in src/strategy/builtin/ defining a `const struct
 * atp_strategy_def atp_strategy_<name>` and one line in src/strategy/registry.c. */
#ifndef ATP_STRATEGY_H
#define ATP_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "atp/indicator.h" /* struct atp_param_def, struct atp_bar_in */

#define ATP_STRAT_MAX_PARAMS 8

typedef int64_t atp_px; /* price or amount in 1/10000 rupee (ATP's px_t) */
#define ATP_PX_SCALE 10000

/* Timeframes, as ATP numbers them (same values as enum tf). */
enum atp_tf { ATP_TF_1M = 0, ATP_TF_3M, ATP_TF_5M, ATP_TF_15M, ATP_TF_30M, ATP_TF_1H, ATP_TF_1D };

struct atp_bar {
    int64_t start_ns; /* period start, UTC ns */
    atp_px open, high, low, close;
    int64_t volume;
};

struct atp_tick {
    uint32_t instrument; /* instrument id */
    int64_t ts_ns;
    atp_px ltp;
};

/* What a strategy asks for. The host turns an intent into an order (side from the intent, qty
 * from `qty` or the strategy's sizing rule), passes it through the risk gate and the OMS. */
enum atp_intent {
    ATP_ENTRY_LONG = 0,  /* buy to open or add to a long */
    ATP_EXIT_LONG,       /* sell to close the long (qty 0: the whole position) */
    ATP_ENTRY_SHORT,     /* sell to open or add to a short */
    ATP_EXIT_SHORT,      /* buy to cover (qty 0: the whole position) */
};

enum atp_order_kind { ATP_MARKET = 0, ATP_LIMIT, ATP_SL, ATP_SL_M };

struct atp_order_intent {
    uint32_t instrument;
    enum atp_intent intent;
    enum atp_order_kind kind;
    int64_t qty;             /* units; 0: entries use the strategy's sizing rule, exits the position */
    atp_px limit_price;      /* LIMIT, SL */
    atp_px trigger_price;    /* SL, SL-M */
    /* Protective exits for an entry, as fractions (0.01 = 1%); 0 takes the strategy's risk
     * configuration, a negative value disables it for this entry. */
    double stop_loss_pct;
    double take_profit_pct;
    double trailing_stop_pct;
    const char *reason;      /* short text for the signal event ("fast crossed above slow") */
};

/* Order states as the strategy sees them (same values as enum order_state). */
struct atp_order_update {
    uint64_t order_id;
    uint32_t instrument;
    int state;               /* enum order_state */
    int is_buy;
    int64_t qty;
    int64_t qty_filled;
    atp_px avg_price;
    const char *reason;      /* rejection or cancellation reason, "" otherwise */
};

struct atp_fill {
    uint64_t order_id;
    uint32_t instrument;
    int is_buy;
    int64_t qty;
    atp_px price;
    int64_t ts_ns;
};

struct atp_position {
    int64_t qty;             /* signed: long > 0, short < 0 */
    atp_px avg_price;
    atp_px realized_pnl;
    atp_px unrealized_pnl;
};

struct atp_ctx; /* the host's handle, passed to every callback */

struct atp_strategy_def {
    const char *name;        /* registry key: "sma_crossover" */
    const char *description;
    int n_params;
    struct atp_param_def params[ATP_STRAT_MAX_PARAMS];
    size_t state_size;       /* bytes of private state (zeroed before init) */

    /* Called once with validated parameters (in definition order). Requests indicators with
     * atp_indicator. Returns 0, or -1 after atp_fail. */
    int (*init)(void *state, const double *params, struct atp_ctx *ctx);
    /* Each may be NULL. Return 0, or -1 after atp_fail. */
    int (*on_tick)(void *state, struct atp_ctx *ctx, const struct atp_tick *tick);
    int (*on_bar)(void *state, struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf,
                  const struct atp_bar *bar);
    int (*on_order_update)(void *state, struct atp_ctx *ctx, const struct atp_order_update *u);
    int (*on_fill)(void *state, struct atp_ctx *ctx, const struct atp_fill *fill);
    int (*on_timer)(void *state, struct atp_ctx *ctx, int64_t now_ns);
    void (*stop)(void *state, struct atp_ctx *ctx);
};

/* ---- host services (implemented by the strategy host) ------------------------------------ */

/* The strategy's instruments (from its configuration) and timeframes. */
int atp_instrument_count(const struct atp_ctx *ctx);
uint32_t atp_instrument(const struct atp_ctx *ctx, int i);
const char *atp_symbol(const struct atp_ctx *ctx, uint32_t instrument);
int atp_timeframe_count(const struct atp_ctx *ctx);
enum atp_tf atp_timeframe(const struct atp_ctx *ctx, int i);

/* Requests an indicator on (instrument, tf) during init. Returns a handle >= 0, or -1 after
 * recording why (unknown indicator, bad parameter): init should then return -1. */
int atp_indicator(struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf, const char *name,
                  const char *const *param_names, const double *param_values, int n_params);
/* Values of an indicator: at the last complete bar (forming = 0), or as if the forming bar
 * closed now (forming = 1). Returns 1 when valid (warmed up), else 0. */
int atp_indicator_value(struct atp_ctx *ctx, int handle, int forming, double *out);

/* Complete bars, newest first (i = 0 the last complete bar; up to 500 are kept), and the forming
 * bar. Copy into *out and return 1, or return 0 when there is no such bar. */
int atp_bar(struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf, int i, struct atp_bar *out);
int atp_forming(struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf, struct atp_bar *out);

/* The strategy's own position in an instrument (zeros when flat). */
void atp_position(struct atp_ctx *ctx, uint32_t instrument, struct atp_position *out);

/* Emits an order intent. Returns the order id (> 0), or 0 when the risk gate denied it or it
 * was invalid (the denial is an event; the strategy is not paused). */
uint64_t atp_order(struct atp_ctx *ctx, const struct atp_order_intent *intent);
/* Cancels one of the strategy's open orders. Returns 0 when the cancel was sent. */
int atp_cancel(struct atp_ctx *ctx, uint64_t order_id);
/* Number of the strategy's orders not yet in a final state, for an instrument. */
int atp_open_orders(struct atp_ctx *ctx, uint32_t instrument);

/* Market time now (simulated in backtests). */
int64_t atp_now(const struct atp_ctx *ctx);
/* Asks for on_timer at (or after) a market time; one pending timer per strategy. */
void atp_set_timer(struct atp_ctx *ctx, int64_t at_ns);

/* Records why the strategy failed; the host pauses it when the callback returns -1. */
void atp_fail(struct atp_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Price helpers: fixed point to and from double (for sizing and thresholds), and rounding to the
 * instrument's tick size (toward the given direction: -1 down, +1 up, 0 nearest). */
static inline double atp_px_to_double(atp_px v) { return (double)v / ATP_PX_SCALE; }
atp_px atp_round_to_tick(const struct atp_ctx *ctx, uint32_t instrument, double price, int direction);

#endif
