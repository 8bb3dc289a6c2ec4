/* strategy/host: runs strategy instances (include/atp/strategy.h) inside a kernel. It owns each
 * instance's state, parameters and indicators, routes market data to the instances subscribed to
 * it, implements the atp_* host services, and pauses an instance whose callback fails (state
 * kept, event raised) so a strategy never takes the kernel down. Orders, positions and time come
 * from the kernel through struct strat_services. Single-threaded (the kernel's thread). */
#ifndef ATP_STRATEGY_HOST_H
#define ATP_STRATEGY_HOST_H

#include <stdint.h>

#include "atp/strategy.h"
#include "core/err.h"
#include "kernel/topics.h"
#include "md/engine.h"
#include "model/instrument.h"
#include "model/order.h"

#define STRAT_MAX_INSTRUMENTS 64
#define STRAT_MAX_TFS 7
#define STRAT_MAX_INDICATORS 32

/* Risk configuration of an instance: how entries are sized and protected. */
struct strat_risk {
    int64_t qty;              /* fixed entry quantity (units), 0 = use sizing_pct */
    double sizing_pct;        /* fraction of account equity per entry (0.1 = 10%), 0 = none */
    double stop_loss_pct;     /* fractions; 0 = none */
    double take_profit_pct;
    double trailing_stop_pct;
    enum order_product product; /* MIS by default */
};

struct strat_config {
    uint64_t account_id;
    enum trade_mode mode;
    const char *type;                 /* registry name, e.g. "sma_crossover" */
    const char *name;                 /* display name; NULL = type */
    const struct ind_param *params;
    int n_params;
    const uint32_t *instruments;      /* instrument ids, 1..STRAT_MAX_INSTRUMENTS */
    int n_instruments;
    const enum tf *tfs;               /* timeframes, 1..STRAT_MAX_TFS */
    int n_tfs;
    struct strat_risk risk;
};

/* What the host knows of an instance, handed to the kernel's services. */
struct strat_info {
    uint64_t id;
    uint64_t account_id;
    enum trade_mode mode;
    const struct atp_strategy_def *def;
    struct strat_risk risk;
    enum strategy_state state;
    char name[64];
    char last_error[256];   /* why it was paused, "" when never */
    uint64_t orders_sent;
    uint64_t orders_denied;
};

/* The kernel side. Each function gets the services' ctx and the instance. */
struct strat_services {
    void *ctx;
    uint64_t (*submit)(void *ctx, const struct strat_info *s, const struct atp_order_intent *in);
    int (*cancel)(void *ctx, const struct strat_info *s, uint64_t order_id);
    int (*open_orders)(void *ctx, const struct strat_info *s, uint32_t instrument);
    void (*position)(void *ctx, const struct strat_info *s, uint32_t instrument, struct atp_position *out);
    void (*state_changed)(void *ctx, const struct strat_info *s, const char *reason);
    ts_ns (*now)(void *ctx);
};

struct strat_host;

/* eng, reg must outlive the host. */
int strat_host_new(struct md_engine *eng, const struct instreg *reg, const struct strat_services *svc,
                   struct strat_host **out);
void strat_host_free(struct strat_host *h);

/* Creates and initialises an instance. Bad configuration (unknown type, bad parameter, unknown
 * timeframe, too many instruments) is an error (ATP_ENOTFOUND / ATP_EINVAL, err names the field)
 * and creates nothing. A strategy whose init returns -1 is created PAUSED with the reason. */
int strat_host_add(struct strat_host *h, const struct strat_config *cfg, uint64_t *id_out,
                   struct atp_err *err);

/* Market data and order events, routed to the subscribed running instances. */
void strat_host_on_bar(struct strat_host *h, uint32_t instrument, enum tf tf, const struct bar *bar);
void strat_host_on_tick(struct strat_host *h, const struct tick *t);
void strat_host_on_order_update(struct strat_host *h, const struct order *o);
void strat_host_on_fill(struct strat_host *h, uint64_t strategy_id, const struct fill *f);
/* Fires due timers. */
void strat_host_on_time(struct strat_host *h, ts_ns now);

/* Lifecycle. pause keeps the state; resume continues; stop calls the strategy's stop and is
 * final. ATP_ENOTFOUND for an unknown id, ATP_ESTATE for a stopped instance (and, for resume, an
 * instance whose init failed: it never got a valid state). */
int strat_host_pause(struct strat_host *h, uint64_t id, const char *reason);
int strat_host_resume(struct strat_host *h, uint64_t id);
int strat_host_stop(struct strat_host *h, uint64_t id);

const struct strat_info *strat_host_info(const struct strat_host *h, uint64_t id);
size_t strat_host_count(const struct strat_host *h);
/* Running instances of an account in a mode. */
int strat_host_running(const struct strat_host *h, uint64_t account_id, enum trade_mode mode);
/* Pauses every running instance of an account in a mode (risk breach). Returns how many. */
int strat_host_pause_account(struct strat_host *h, uint64_t account_id, enum trade_mode mode,
                             const char *reason);

#endif
