/* broker/broker: the connector interface the kernel trades through. One vtable for the paper
 * broker now and the real brokers later (Kite, Angel One, Upstox, Fyers, Dhan: the broker issue
 * extends this with auth, books and streams). The kernel never includes a concrete broker: app/
 * (or a test) creates one and hands it over.
 *
 * Contract: a connector reports through struct broker_events, synchronously or later, on the
 * kernel thread; a callback must not call back into the connector (the kernel queues its
 * reactions and acts after the call returns). */
#ifndef ATP_BROKER_BROKER_H
#define ATP_BROKER_BROKER_H

#include "core/err.h"
#include "core/px.h"
#include "model/order.h"
#include "model/tick.h"
#include "oms/order_sm.h"

struct broker_events {
    void *ctx;
    /* The broker's view of an order after event ev (the OMS applies ev to its own copy). */
    void (*on_order_update)(void *ctx, const struct order *o, enum order_event ev);
    /* One execution, reported before the PARTIAL_FILL / FILL update of its order. */
    void (*on_fill)(void *ctx, const struct fill *f);
    /* Intraday (MIS) positions must be closed now (the broker's square-off time). */
    void (*on_square_off_due)(void *ctx, ts_ns ts);
};

struct broker;

struct broker_ops {
    const char *name;
    int (*submit)(struct broker *b, const struct order *o, ts_ns now, struct atp_err *err);
    int (*cancel)(struct broker *b, uint64_t order_id, ts_ns now, const char *reason,
                  struct atp_err *err);
    int (*modify)(struct broker *b, uint64_t order_id, int64_t new_qty, px_t new_limit_price,
                  px_t new_trigger_price, ts_ns now, struct atp_err *err);
    /* Market data and time, for simulated venues; real connectors ignore them (NULL). */
    int (*on_tick)(struct broker *b, const struct tick *t);
    int (*on_time)(struct broker *b, ts_ns now);
    /* Last traded price the venue knows, ATP_ENOTFOUND when none. */
    int (*last_price)(const struct broker *b, uint32_t instrument_id, px_t *out);
    void (*destroy)(struct broker *b);
};

struct broker {
    const struct broker_ops *ops;
};

static inline void broker_free(struct broker *b)
{
    if (b)
        b->ops->destroy(b);
}

#endif
