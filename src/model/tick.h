/* model/tick: one trade print (or quote update) for one instrument. A plain value type. */
#ifndef ATP_MODEL_TICK_H
#define ATP_MODEL_TICK_H

#include <stdint.h>

#include "core/px.h"
#include "core/ts.h"

/* Which optional fields a tick carries. */
enum tick_flag {
    TICK_HAS_QTY = 1u << 0,    /* qty: quantity traded in this tick */
    TICK_HAS_VOLUME = 1u << 1, /* cum_volume: cumulative day volume after this tick */
    TICK_HAS_BID = 1u << 2,
    TICK_HAS_ASK = 1u << 3,
    TICK_HAS_OI = 1u << 4,
};

struct tick {
    uint32_t instrument_id; /* id in the instrument registry */
    uint32_t flags;         /* enum tick_flag bits */
    ts_ns ts;               /* exchange time, UTC ns */
    px_t ltp;               /* last traded price */
    int64_t qty;            /* valid with TICK_HAS_QTY */
    int64_t cum_volume;     /* valid with TICK_HAS_VOLUME */
    px_t bid;               /* valid with TICK_HAS_BID */
    px_t ask;               /* valid with TICK_HAS_ASK */
    int64_t oi;             /* valid with TICK_HAS_OI */
};

#endif
