#include "md/candles.h"

#include <string.h>

#include "core/alloc.h"
#include "core/cal.h"

static ts_ns floor_div(ts_ns a, ts_ns b)
{
    ts_ns q = a / b;
    if (a % b != 0 && (a < 0) != (b < 0))
        q--;
    return q;
}

void candles_period_in_day(enum tf tf, ts_ns t, ts_ns open, ts_ns close, ts_ns *start, ts_ns *end)
{
    if (tf == TF_1D) {
        *start = open;
        *end = close;
        return;
    }
    ts_ns period = tf_period_ns(tf);
    *start = open + floor_div(t - open, period) * period;
    *end = *start + period;
    if (*start < close && *end > close)
        *end = close;
}

void candles_period(enum tf tf, ts_ns t, ts_ns *start, ts_ns *end)
{
    int64_t day = ts_ist_day(t);
    candles_period_in_day(tf, t, cal_session_open(day), cal_session_close(day), start, end);
}

int candles_init(struct candle_series *s, enum tf tf)
{
    memset(s, 0, sizeof *s);
    s->tf = tf;
    s->completed_end = INT64_MIN;
    s->ring = atp_calloc(CANDLES_KEEP, sizeof *s->ring);
    return s->ring ? ATP_OK : ATP_ENOMEM;
}

void candles_cleanup(struct candle_series *s)
{
    atp_free(s->ring);
    memset(s, 0, sizeof *s);
}

static void complete(struct candle_series *s, struct bar *out)
{
    s->ring[s->head] = s->forming;
    s->head = (s->head + 1) % CANDLES_KEEP;
    if (s->count < CANDLES_KEEP)
        s->count++;
    s->completed++;
    s->completed_end = s->forming_end;
    s->has_forming = 0;
    if (out)
        *out = s->forming;
}

static int roll(struct candle_series *s, ts_ns start, ts_ns end, struct bar *completed_out)
{
    int done = 0;
    if (s->has_forming && start >= s->forming_end) {
        complete(s, completed_out);
        done = 1;
    }
    if (!s->has_forming) {
        s->has_forming = 1;
        s->forming_end = end;
        s->forming.start = start;
        s->forming.volume = 0;
        s->forming.oi = -1;
        s->forming.ticks = 0;
    }
    return done;
}

int candles_add_trade(struct candle_series *s, ts_ns start, ts_ns end, px_t price, int64_t qty,
                      int64_t oi, struct bar *completed_out)
{
    int done = roll(s, start, end, completed_out);
    struct bar *b = &s->forming;
    if (b->ticks == 0) {
        b->open = b->high = b->low = price;
    } else {
        if (price > b->high)
            b->high = price;
        if (price < b->low)
            b->low = price;
    }
    b->close = price;
    b->volume += qty;
    if (oi >= 0)
        b->oi = oi;
    b->ticks++;
    return done;
}

int candles_add_bar(struct candle_series *s, ts_ns start, ts_ns end, const struct bar *src,
                    struct bar *completed_out)
{
    int done = roll(s, start, end, completed_out);
    struct bar *b = &s->forming;
    if (b->ticks == 0) {
        b->open = src->open;
        b->high = src->high;
        b->low = src->low;
    } else {
        if (src->high > b->high)
            b->high = src->high;
        if (src->low < b->low)
            b->low = src->low;
    }
    b->close = src->close;
    b->volume += src->volume;
    if (src->oi >= 0)
        b->oi = src->oi;
    b->ticks++; /* source bars folded in */
    return done;
}

int candles_complete_due(struct candle_series *s, ts_ns now, struct bar *completed_out)
{
    if (!s->has_forming || s->forming_end > now)
        return 0;
    complete(s, completed_out);
    return 1;
}

int candles_flush(struct candle_series *s, struct bar *completed_out)
{
    if (!s->has_forming)
        return 0;
    complete(s, completed_out);
    return 1;
}

const struct bar *candles_get(const struct candle_series *s, uint32_t i)
{
    if (i >= s->count)
        return NULL;
    uint32_t idx = (s->head + CANDLES_KEEP - 1 - i) % CANDLES_KEEP;
    return &s->ring[idx];
}
