/* backtest/trips: round trips (struct metrics_trade) from a stream of fills, for the backtest
 * result and the account analytics. A trip opens when an instrument's position leaves zero and
 * closes when it returns there; adding to a position extends the trip; a fill through zero closes
 * one trip and opens the next, its charges split by quantity (rounded down on the closing part).
 *
 * P&L comes from the caller's portfolio (portfolio/portfolio.h), not from a cost basis computed
 * here, so trips and positions can never disagree: the caller applies each fill to its
 * portfolio first and passes the position's realized P&L after it. A trip's pnl is the realized
 * change over the trip net of the trip's charges.
 *
 * One tracker follows one position per instrument (one account, mode and strategy: the caller
 * keeps one tracker per strategy when it wants a breakdown). Not thread-safe; no I/O. */
#ifndef ATP_BACKTEST_TRIPS_H
#define ATP_BACKTEST_TRIPS_H

#include <stddef.h>
#include <stdint.h>

#include "backtest/metrics.h"
#include "core/err.h"
#include "model/order.h"

struct trips;

/* A tracker for instrument ids 0..n_instruments-1. ATP_OK or ATP_ENOMEM. */
int trips_new(size_t n_instruments, struct trips **out, struct atp_err *err);
void trips_free(struct trips *t);

/* Feeds one fill (f->instrument_id < n_instruments) with its charges and the position's realized
 * P&L after the fill; bar_now is the caller's bar count for holding_bars (0 when it has none).
 * Returns 1 and fills *closed (symbol set to `symbol`, borrowed) when the fill closed a trip,
 * else 0; ATP_EINVAL for an instrument id out of range. */
int trips_on_fill(struct trips *t, const struct fill *f, px_t charges, px_t realized_after,
                  int64_t bar_now, const char *symbol, struct metrics_trade *closed);

/* The open trip of an instrument as an open metrics_trade (is_open 1), valued with the
 * position's realized and unrealized P&L now. Returns 1 when there is one, else 0. */
int trips_open_trade(const struct trips *t, uint32_t instrument_id, px_t realized_now,
                     px_t unrealized_now, int64_t bar_now, const char *symbol,
                     struct metrics_trade *out);

#endif
