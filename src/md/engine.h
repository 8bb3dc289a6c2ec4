/* md/engine: the market-data engine. Turns ticks (or bars) of many instruments into candles of
 * every timeframe and keeps indicators on them up to date.
 *
 * Per (instrument, timeframe) it keeps the forming bar and the last 500 complete bars
 * (md/candles), and per configured indicator a streaming instance updated when a bar completes;
 * the value for the forming bar is computed on request (ind_peek), so the tick path never pays
 * for indicators nobody reads. Events go to caller-supplied handlers: a "forming" update for each
 * timeframe on every accepted tick, and a "complete" event exactly once per bar when its period
 * ends: on the first data of a later period or when md_engine_advance() passes the period's end,
 * so a quiet instrument's bar still completes. Periods without data produce no bar.
 *
 * Ticks are checked against the NSE calendar: ticks on non-trading days or outside 09:00-15:30
 * IST are counted and dropped (pre-open 09:00-09:15 trades fold into the 09:15 bar, like broker
 * charts). A tick older than the forming bar (or than a bar already completed) is counted as late
 * and dropped: it never changes a bar. Bars fed with md_engine_on_bar are taken as given (no
 * calendar check), so any market's data can be replayed.
 *
 * Threading: an engine is owned by one thread; nothing here locks. No allocation on the tick path
 * except the first data of an instrument (its series and indicators are created lazily). */
#ifndef ATP_MD_ENGINE_H
#define ATP_MD_ENGINE_H

#include <stdint.h>

#include "core/cal.h"
#include "core/err.h"
#include "md/candles.h"
#include "md/indicator.h"
#include "model/bar.h"
#include "model/tick.h"

#define MD_MAX_INDICATORS 16 /* indicator slots per timeframe */

struct md_engine;

/* Event handlers; any may be NULL. Called on the engine's thread, synchronously. `bar` is only
 * valid during the call. */
struct md_handlers {
    void *ctx;
    /* A bar changed: complete = 0 for a forming update, 1 exactly once when it completes. */
    void (*on_bar)(void *ctx, uint32_t instrument_id, enum tf tf, const struct bar *bar,
                   int complete);
};

struct md_config {
    const struct cal *cal;   /* NSE calendar (required, not owned, must outlive the engine) */
    uint32_t n_instruments;  /* instrument ids must be < n_instruments */
    uint32_t tf_mask;        /* bit (1u << tf) for each timeframe to build; 0 means all */
};

/* What happened to a tick. */
enum md_tick_result {
    MD_TICK_ACCEPTED = 0,
    MD_TICK_LATE = 1,        /* older than the forming bar: counted and dropped */
    MD_TICK_OFF_SESSION = 2, /* non-trading day or outside 09:00-15:30 IST: counted and dropped */
    MD_TICK_BAD = 3,         /* unknown instrument id or non-positive price: counted and dropped */
};

struct md_stats {
    uint64_t ticks;          /* every tick offered */
    uint64_t accepted;
    uint64_t late;
    uint64_t off_session;
    uint64_t bad;
    uint64_t bars_in;        /* bars offered through md_engine_on_bar */
    uint64_t bars_late;
    uint64_t bars_completed; /* complete events emitted, all timeframes */
};

/* Creates an engine. ATP_EINVAL for a missing calendar or zero instruments, ATP_ENOMEM. */
int md_engine_new(const struct md_config *cfg, struct md_engine **out);
void md_engine_free(struct md_engine *e);

void md_engine_set_handlers(struct md_engine *e, const struct md_handlers *h);

/* Adds an indicator to timeframe tf of every instrument (before any data). Returns its slot index
 * through slot_out. ATP_ENOTFOUND / ATP_EINVAL from the indicator registry (err names the
 * parameter), ATP_ERANGE when MD_MAX_INDICATORS slots are used, ATP_ESTATE after data arrived. */
int md_engine_add_indicator(struct md_engine *e, enum tf tf, const char *name,
                            const struct ind_param *params, int n_params, int *slot_out,
                            struct atp_err *err);

/* Feeds one tick. Returns an enum md_tick_result (>= 0), or ATP_ENOMEM when the first tick of
 * an instrument cannot get its series. Completes every bar (of any instrument) whose period ended
 * at or before tick->ts first, so events stay in time order. */
int md_engine_on_tick(struct md_engine *e, const struct tick *tick);

/* Feeds one complete bar of timeframe src_tf (e.g. 1m bars from a file). It completes at once in
 * its own timeframe and folds into the coarser timeframes that are multiples of it (1m -> 3m, 5m,
 * 15m, 30m, 1h, 1d; 5m -> 15m, 30m, 1h, 1d; 1d -> 1d only); a coarser bar completes when this
 * instrument's data reaches its end. Returns 0, 1 when the bar was late (dropped), ATP_EINVAL for
 * an unknown instrument or an invalid bar, ATP_ENOMEM. */
int md_engine_on_bar(struct md_engine *e, uint32_t instrument_id, enum tf src_tf,
                     const struct bar *bar);

/* Timer: completes every forming bar whose period ended at or before now. Cheap when nothing is
 * due (one comparison). */
void md_engine_advance(struct md_engine *e, ts_ns now);

/* End of data: completes every forming bar. */
void md_engine_flush(struct md_engine *e);

/* The series of (instrument, tf), NULL when that instrument has had no data or tf is not built. */
const struct candle_series *md_engine_series(const struct md_engine *e, uint32_t instrument_id,
                                             enum tf tf);

/* Indicator values for (instrument, tf, slot): of the last complete bar (forming = 0), or as if
 * the forming bar completed now (forming = 1; falls back to the last complete values when no bar
 * is forming). out receives the indicator's n_outputs values. Returns 1 when valid, 0 while
 * warming up or when there is no data, ATP_EINVAL for a bad slot. */
int md_engine_indicator(struct md_engine *e, uint32_t instrument_id, enum tf tf, int slot,
                        int forming, double *out);

/* Definition of the indicator in (tf, slot), NULL when none. */
const struct atp_indicator_def *md_engine_indicator_def(const struct md_engine *e, enum tf tf,
                                                        int slot);
int md_engine_indicator_count(const struct md_engine *e, enum tf tf);

/* The last accepted tick of an instrument; NULL before any. */
const struct tick *md_engine_last_tick(const struct md_engine *e, uint32_t instrument_id);

void md_engine_stats(const struct md_engine *e, struct md_stats *out);

/* The engine's clock: the latest time it has seen (tick, bar end or advance). */
ts_ns md_engine_now(const struct md_engine *e);

/* Converts a bar to what indicators read (doubles; session = IST day of the bar's start). */
void md_bar_to_ind(const struct bar *b, struct atp_bar_in *out);

#endif
