/* model/bar: candles (OHLCV bars) and the timeframes ATP aggregates. Plain value types. */
#ifndef ATP_MODEL_BAR_H
#define ATP_MODEL_BAR_H

#include <stddef.h>
#include <stdint.h>

#include "core/px.h"
#include "core/ts.h"

enum tf {
    TF_1M = 0,
    TF_3M,
    TF_5M,
    TF_15M,
    TF_30M,
    TF_1H,
    TF_1D,
    TF_COUNT
};

/* A bar is labelled with its start time. Intraday bars are aligned to the 09:15 IST session
 * open; the last bar of a day is cut at 15:30 (1h: 15:15-15:30). The daily bar is the session. */
struct bar {
    ts_ns start;    /* period start (label) */
    px_t open;
    px_t high;
    px_t low;
    px_t close;
    int64_t volume; /* shares/contracts traded in the period */
    int64_t oi;     /* open interest at the last tick, -1 when unknown */
    uint32_t ticks; /* number of ticks (or source bars) folded in */
};

/* "1m", "3m", "5m", "15m", "30m", "1h", "1d". */
const char *tf_name(enum tf tf);

/* Parses a timeframe name, ASCII case-insensitively: the tf_name forms plus the aliases "60m",
 * "1day", "day" and "d". ATP_EINVAL (and *out untouched) when unknown; no spaces allowed. */
int tf_parse(const char *name, enum tf *out);

/* Nominal period length; the daily bar's is the session length (375 minutes). */
int64_t tf_period_ns(enum tf tf);

/* 1 when the OHLC fields are consistent: low <= open, close <= high, low <= high, volume >= 0. */
int bar_is_valid(const struct bar *b);

#endif
