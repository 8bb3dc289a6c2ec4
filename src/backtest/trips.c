/* backtest/trips: see trips.h. */
#include "backtest/trips.h"

#include <string.h>

#include "core/alloc.h"

/* The round trip being built for one instrument. */
struct trip {
    int side;              /* METRICS_LONG / METRICS_SHORT; 0 when flat */
    int64_t qty;           /* signed position */
    int64_t entry_qty;     /* units bought (long) or sold (short) to open and add */
    px_t entry_notional;
    int64_t exit_qty;
    px_t exit_notional;
    px_t charges;
    px_t realized_at_open; /* the position's realized P&L when the trip opened */
    ts_ns entry_ts;
    int64_t entry_bar;
};

struct trips {
    size_t n;
    struct trip *by_inst;
};

int trips_new(size_t n_instruments, struct trips **out, struct atp_err *err)
{
    *out = NULL;
    struct trips *t = atp_calloc(1, sizeof *t);
    if (t)
        t->by_inst = atp_calloc(n_instruments ? n_instruments : 1, sizeof *t->by_inst);
    if (!t || !t->by_inst) {
        trips_free(t);
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    }
    t->n = n_instruments;
    *out = t;
    return ATP_OK;
}

void trips_free(struct trips *t)
{
    if (!t)
        return;
    atp_free(t->by_inst);
    atp_free(t);
}

static void open_trip(struct trip *t, int side, int64_t qty, px_t price, ts_ns ts, px_t charges,
                      px_t realized_now, int64_t bar_now)
{
    t->side = side;
    t->qty = side == METRICS_LONG ? qty : -qty;
    t->entry_qty = qty;
    t->entry_notional = price * qty;
    t->exit_qty = 0;
    t->exit_notional = 0;
    t->charges = charges;
    t->realized_at_open = realized_now;
    t->entry_ts = ts;
    t->entry_bar = bar_now;
}

int trips_on_fill(struct trips *tr, const struct fill *f, px_t charges, px_t realized_after,
                  int64_t bar_now, const char *symbol, struct metrics_trade *closed)
{
    if (f->instrument_id >= tr->n)
        return ATP_EINVAL;
    struct trip *t = &tr->by_inst[f->instrument_id];
    int64_t signed_qty = f->side == ORDER_SIDE_BUY ? f->qty : -f->qty;
    if (t->side == 0) {
        open_trip(t, signed_qty > 0 ? METRICS_LONG : METRICS_SHORT, f->qty, f->price, f->ts, charges,
                  realized_after, bar_now);
        return 0;
    }
    if ((t->qty > 0) == (signed_qty > 0)) { /* adding */
        t->qty += signed_qty;
        t->entry_qty += f->qty;
        t->entry_notional += f->price * f->qty;
        t->charges += charges;
        return 0;
    }
    int64_t held = t->qty > 0 ? t->qty : -t->qty;
    int64_t closing = f->qty < held ? f->qty : held;
    px_t closing_charges = f->qty == closing ? charges : charges * closing / f->qty;
    t->exit_qty += closing;
    t->exit_notional += f->price * closing;
    t->charges += closing_charges;
    t->qty += signed_qty;
    int flipped = (t->side == METRICS_LONG && t->qty < 0) || (t->side == METRICS_SHORT && t->qty > 0);
    if (t->qty != 0 && !flipped)
        return 0;
    /* Realized P&L of the closing part: the position's realized after the whole fill; a flip's
     * new leg realizes nothing, so this is exact for both cases. */
    *closed = (struct metrics_trade){
        .symbol = symbol, .side = t->side, .qty = t->entry_qty, .entry_ts = t->entry_ts,
        .entry_px = order_avg_price(t->entry_notional, t->entry_qty), .is_open = 0, .exit_ts = f->ts,
        .exit_px = order_avg_price(t->exit_notional, t->exit_qty),
        .pnl = realized_after - t->realized_at_open - t->charges, .charges = t->charges,
        .holding_bars = bar_now - t->entry_bar,
    };
    int64_t rest = f->qty - closing;
    memset(t, 0, sizeof *t);
    if (rest > 0)
        open_trip(t, signed_qty > 0 ? METRICS_LONG : METRICS_SHORT, rest, f->price, f->ts,
                  charges - closing_charges, realized_after, bar_now);
    return 1;
}

int trips_open_trade(const struct trips *tr, uint32_t instrument_id, px_t realized_now,
                     px_t unrealized_now, int64_t bar_now, const char *symbol,
                     struct metrics_trade *out)
{
    if (instrument_id >= tr->n || !tr->by_inst[instrument_id].side)
        return 0;
    const struct trip *t = &tr->by_inst[instrument_id];
    *out = (struct metrics_trade){
        .symbol = symbol, .side = t->side, .qty = t->qty > 0 ? t->qty : -t->qty,
        .entry_ts = t->entry_ts, .entry_px = order_avg_price(t->entry_notional, t->entry_qty),
        .is_open = 1, .pnl = unrealized_now + (realized_now - t->realized_at_open) - t->charges,
        .charges = t->charges, .holding_bars = bar_now - t->entry_bar,
    };
    return 1;
}
