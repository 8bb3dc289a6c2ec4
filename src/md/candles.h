/* md/candles: one candle series, the bars of one (instrument, timeframe).
 *
 * Holds the forming bar and a ring of the last CANDLES_KEEP complete bars. Alignment follows broker
 * charts on NSE: intraday periods start at 09:15 IST and repeat every period; a period that would
 * run past 15:30 is cut there (1h: ..., 14:15-15:15, 15:15-15:30); the daily bar is the session
 * 09:15-15:30. Bars are labelled with their start time. The series does no I/O, never allocates
 * after candles_init, and is owned by one thread (the md engine's). */
#ifndef ATP_MD_CANDLES_H
#define ATP_MD_CANDLES_H

#include <stdint.h>

#include "core/err.h"
#include "core/ts.h"
#include "model/bar.h"

#define CANDLES_KEEP 500

struct candle_series {
    enum tf tf;
    int has_forming;     /* 1 while a bar is forming */
    struct bar forming;  /* valid when has_forming */
    ts_ns forming_end;   /* exclusive end of the forming bar's period */
    ts_ns completed_end; /* end of the last completed period (ticks before it are late) */
    struct bar *ring;    /* CANDLES_KEEP complete bars, oldest overwritten first */
    uint32_t head;       /* index of the next write */
    uint32_t count;      /* complete bars held (<= CANDLES_KEEP) */
    uint64_t completed;  /* complete bars ever produced */
};

/* The period containing t for timeframe tf: [*start, *end). For intraday timeframes the anchor is
 * 09:15 IST of t's IST day (floor division, so times before 09:15 fall in earlier periods); for
 * 1d the period is the IST day's session [09:15, 15:30). Periods never cross 15:30 when they
 * start before it. */
void candles_period(enum tf tf, ts_ns t, ts_ns *start, ts_ns *end);

/* candles_period for a t whose IST day's session open and close the caller already knows (the
 * tick path computes them once for all timeframes). */
void candles_period_in_day(enum tf tf, ts_ns t, ts_ns open, ts_ns close, ts_ns *start, ts_ns *end);

/* Allocates the ring. ATP_ENOMEM on failure (the series is then zeroed and unusable). */
int candles_init(struct candle_series *s, enum tf tf);
void candles_cleanup(struct candle_series *s);

/* Folds a trade into the bar of period [start, end): completes the forming bar first when start
 * is past it (copying the completed bar to *completed_out and returning 1), else returns 0.
 * The caller guarantees start >= the forming bar's start (late data is filtered by the engine). */
int candles_add_trade(struct candle_series *s, ts_ns start, ts_ns end, px_t price, int64_t qty,
                      int64_t oi, struct bar *completed_out);

/* Folds a whole source bar (e.g. a 1m bar into 5m) into period [start, end); same return
 * convention as candles_add_trade. */
int candles_add_bar(struct candle_series *s, ts_ns start, ts_ns end, const struct bar *src,
                    struct bar *completed_out);

/* Completes the forming bar if its period has ended by now (forming_end <= now). Returns 1 and
 * copies it to *completed_out when it did. */
int candles_complete_due(struct candle_series *s, ts_ns now, struct bar *completed_out);

/* Completes the forming bar regardless of time (end of data). Returns 1 when there was one. */
int candles_flush(struct candle_series *s, struct bar *completed_out);

/* i-th most recent complete bar (0 = newest); NULL when i >= count. */
const struct bar *candles_get(const struct candle_series *s, uint32_t i);

#endif
