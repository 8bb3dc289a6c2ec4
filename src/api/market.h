/* api/market: the server's one shared market-data engine (md/engine) and the feed that drives it
 * (the simulator by default, or a replay file), for `atp serve --feed synthetic|replay:FILE`.
 * The engine is the md engine of the server's paper trading kernel (kernel/kernel.h): the feed
 * drives the kernel (kernel_on_tick, kernel_advance), so paper strategies, the risk gate, the OMS
 * and the paper broker see exactly the market the routes show. api_market_exec runs code
 * against that kernel.
 *
 * Threads. The market owns a thread of its own (not the io loop: a warm-up of a whole simulated
 * day must not stall HTTP) that pulls due items from the player (md/feed/player) and feeds the
 * engine, and advances the engine's clock so quiet instruments' bars complete. The engine is
 * single-threaded by design (md/engine.h), so every engine call, the feed thread's and the
 * readers', happens under one mutex; the feed thread holds it for a batch of at most
 * MARKET_BATCH items at a time, so a reader waits at most one batch. Readers (HTTP handlers on
 * worker threads) never see engine internals: the api_market_* read functions copy what they
 * need out under the lock and return plain values. The instrument registry and the calendar are
 * immutable after api_market_new, so any thread reads them unlocked.
 *
 * There is one market per process (the server has one io loop and one engine): cmd_serve
 * creates it, api_market_set_current() publishes it to the handlers (api/h_market.c), and it is
 * freed after the server is. docs/api.md "Market data" describes the routes. */
#ifndef ATP_API_MARKET_H
#define ATP_API_MARKET_H

#include <stdint.h>

#include "core/err.h"
#include "kernel/kernel.h"
#include "model/bar.h"
#include "model/instrument.h"

#define MARKET_BATCH 1024           /* feed items per hold of the engine lock */
#define MARKET_FEED_MAX 1024        /* longest --feed text */

struct api_market_config {
    char feed[MARKET_FEED_MAX]; /* "synthetic", "replay:PATH" or "none" */
    double speed;               /* market time / wall time, 0.5..100; 0 = as fast as possible
                                 * (replay only: an endless simulator would burn a core) */
    uint64_t seed;              /* simulator seed */
};

/* Defaults: synthetic, speed 60, seed 42. */
void api_market_config_defaults(struct api_market_config *cfg);

/* Checks and sets the feed text ("synthetic", "replay:FILE", "none"). ATP_EINVAL with err naming
 * field (the option, variable or key the text came from). */
int api_market_config_feed(struct api_market_config *cfg, const char *text, const char *field,
                           struct atp_err *err);

struct api_market;

/* Loads the reference data (instruments, calendar, simulator profiles from the data directory),
 * opens the feed (a replay file is read and validated here: its errors name file, line and
 * field) and the engine. Does not start the feed thread. ATP_EINVAL (speed 0 with the simulator),
 * the loaders' and feeds' errors, ATP_ENOMEM. With feed "none" *out is NULL and ATP_OK. */
int api_market_new(const struct api_market_config *cfg, struct api_market **out, struct atp_err *err);

/* Starts the feed thread. ATP_OK or ATP_EIO. */
int api_market_start(struct api_market *m, struct atp_err *err);

/* Stops and joins the feed thread, frees everything. NULL: no-op. */
void api_market_free(struct api_market *m);

/* The market the HTTP handlers read (NULL: none, they answer 503). Set before the server's
 * workers start and cleared after they stopped. */
void api_market_set_current(struct api_market *m);
struct api_market *api_market_current(void);

/* Immutable after api_market_new: safe from any thread without the lock. */
const struct instreg *api_market_registry(const struct api_market *m);

/* The last `count` complete bars of (instrument, tf), oldest first, into out (room for count),
 * and the forming bar. *n_out = bars written; *has_forming = 1 with *forming filled when a bar is
 * forming. Nothing (n_out 0, no forming bar) when the instrument has had no data. Locks. */
void api_market_candles(struct api_market *m, uint32_t instrument_id, enum tf tf, uint32_t count,
                        struct bar *out, uint32_t *n_out, struct bar *forming, int *has_forming);

struct api_market_quote {
    int has_data;      /* 0: no tick yet (the rest is zero) */
    px_t last;         /* last traded price */
    ts_ns ts;          /* time of the last tick */
    struct bar day;    /* the day's bar so far (the forming 1d bar, else the last complete one) */
};
/* The quote of an instrument. Locks. */
void api_market_quote(struct api_market *m, uint32_t instrument_id, struct api_market_quote *out);

struct api_market_status {
    const char *feed;  /* "synthetic" or "replay" */
    double speed;
    int ended;         /* 1 when the feed is exhausted (a replay played to its end) */
    ts_ns market_ts;   /* the engine's clock (FEED_TS_UNKNOWN before any data) */
    uint64_t items;    /* feed items delivered to the engine */
    uint64_t ticks_accepted;
    uint64_t bars_completed;
    double progress;   /* fraction of the feed's time range played, 0..1 (0 when unknown: the
                        * endless simulator) */
    int paused;
    int stopped;       /* an admin stopped the feed (api_market_feed_stop) */
    int live;          /* 1 once the feed thread plays live data (the simulator: after its warm-up
                        * day; a replay: at once): what the strategies' restart waits for */
};
void api_market_status(struct api_market *m, struct api_market_status *out);

/* Control (admin routes), each under the lock, effective from now: pause freezes market time,
 * resume continues where it froze (both idempotent); set_speed changes the pace without a jump
 * in market time (0.5..100, or 0 = as fast as possible for a replay; ATP_EINVAL with err naming
 * "speed" otherwise). */
void api_market_pause(struct api_market *m);
void api_market_resume(struct api_market *m);
int api_market_set_speed(struct api_market *m, double speed, struct atp_err *err);

#define API_MARKET_SYMBOLS_MAX 64
#define API_MARKET_SYMBOL_LEN 48 /* INST_SYMBOL_MAX */

/* What an admin's "start" plays (and what the server starts with). */
struct api_market_feed_spec {
    int synthetic;               /* 1: the simulator; 0: a tick replay file */
    char file[1000];             /* replay: the tick CSV */
    char symbols[API_MARKET_SYMBOLS_MAX][API_MARKET_SYMBOL_LEN]; /* simulator; none = the default list */
    size_t n_symbols;
    int64_t from_day;            /* simulator: IST day number of the first day */
    int days;                    /* simulator: trading days, 0 = no end */
    double speed;                /* as api_market_config */
    uint64_t seed;
};

/* Replaces the feed (admin "start"): the market's candles, paper orders and positions stay, so
 * the market's clock never goes back: a simulator starting on a day before the market's current
 * one is ATP_ESTATE (field "from"), and a new feed's items before the market's clock are
 * skipped. The file is read and the simulator checked before anything changes: their errors
 * (field, line) leave the running feed as it was. */
int api_market_feed_start(struct api_market *m, const struct api_market_feed_spec *spec, struct atp_err *err);

/* Stops the feed (admin "stop"): market time freezes where it is until a start. Idempotent. */
void api_market_feed_stop(struct api_market *m);

/* Moves market time forward to `to` (admin "seek"); the items in between are skipped (not
 * played: no ticks, so no fills, in the gap). ATP_ESTATE (field "to") backwards, more than 30
 * days ahead, or with no feed playing. */
int api_market_seek(struct api_market *m, ts_ns to, struct atp_err *err);

/* Runs fn(kernel, arg) under the market lock, so on no other thread at the same time as the feed
 * (the kernel is single-threaded: kernel/kernel.h) and returns what fn returns. For the trading
 * routes and services: place an order, add a strategy, subscribe to the kernel's bus (bus
 * callbacks then run on the feed thread, under this lock: they must not call api_market_exec or
 * block). fn must be quick: the feed waits for it. */
int api_market_exec(struct api_market *m, int (*fn)(struct kernel *k, void *arg), void *arg);

#endif
