/* kernel/topics: every topic of the in-process event bus, with the payload each carries. This is
 * the one list; the API layer will fan these out to WebSocket channels under the same names.
 * Payloads are only valid during the publish call. */
#ifndef ATP_KERNEL_TOPICS_H
#define ATP_KERNEL_TOPICS_H

#include <stdint.h>

#include "model/bar.h"
#include "model/order.h"
#include "model/tick.h"

enum topic {
    TOPIC_TICK = 0,          /* "md.tick"            struct tick */
    TOPIC_BAR_FORMING,       /* "md.bar.forming"     struct ev_bar */
    TOPIC_BAR_COMPLETE,      /* "md.bar.complete"    struct ev_bar */
    TOPIC_SIGNAL,            /* "strategy.signal"    struct ev_signal */
    TOPIC_STRATEGY_STATE,    /* "strategy.state"     struct ev_strategy_state */
    TOPIC_ORDER_UPDATE,      /* "order.update"       struct order */
    TOPIC_FILL,              /* "order.fill"         struct ev_fill */
    TOPIC_POSITION,          /* "portfolio.position" struct ev_position */
    TOPIC_RISK_DENIED,       /* "risk.denied"        struct ev_risk_denied */
    TOPIC_RISK_BREACH,       /* "risk.breach"        struct ev_risk_breach */
    TOPIC_COUNT
};

/* "md.tick", ... (the names above). */
const char *topic_name(enum topic t);

struct ev_bar {
    uint32_t instrument_id;
    enum tf tf;
    const struct bar *bar;
};

struct ev_signal {
    uint64_t strategy_id;
    uint64_t account_id;
    uint32_t instrument_id;
    int intent;             /* enum atp_intent */
    int64_t qty;
    ts_ns ts;
    const char *reason;
};

enum strategy_state { STRATEGY_RUNNING = 0, STRATEGY_PAUSED, STRATEGY_STOPPED };

struct ev_strategy_state {
    uint64_t strategy_id;
    uint64_t account_id;
    enum strategy_state state;
    ts_ns ts;
    const char *reason;     /* why (a failure message, a risk breach), "" otherwise */
};

struct ev_fill {
    const struct fill *fill;
    uint64_t strategy_id;
    px_t charges;
};

struct ev_position {
    uint64_t account_id;
    uint64_t strategy_id;
    uint32_t instrument_id;
    enum trade_mode mode;
    int64_t qty;
    px_t avg_price;
    px_t realized_pnl;
    px_t unrealized_pnl;
    ts_ns ts;
};

struct ev_risk_denied {
    uint64_t account_id;
    uint64_t strategy_id;
    const struct order_request *request;
    int reason;             /* enum risk_reason */
    const char *message;    /* with the numbers */
    ts_ns ts;
};

struct ev_risk_breach {
    uint64_t account_id;
    enum trade_mode mode;
    px_t limit;
    px_t pnl;
    ts_ns ts;
};

#endif
