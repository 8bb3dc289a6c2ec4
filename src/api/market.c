/* api/market: the server's market-data engine and its feed thread. See market.h for the
 * threading contract; docs/api.md "Market data" for what the routes built on it answer. */
#include "api/market.h"

#include "core/alloc.h"
#include "core/cal.h"
#include "core/log.h"
#include "core/paths.h"
#include "broker/paper/adapter.h"
#include "kernel/kernel.h"
#include "md/engine.h"
#include "md/feed.h"
#include "md/feed/player.h"
#include "md/feed/replay.h"
#include "md/feed/sim.h"
#include "portfolio/charges.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* What the simulator plays: the demo's list, NIFTY plus ten large caps. */
static const char *const sim_symbols[] = {"NIFTY", "RELIANCE", "HDFCBANK", "ICICIBANK", "INFY", "TCS",
                                          "SBIN",  "BHARTIARTL", "ITC",   "LT",        "AXISBANK"};
#define N_SIM_SYMBOLS (sizeof sim_symbols / sizeof sim_symbols[0])

struct api_market {
    struct api_market_config cfg;
    struct cal *cal;
    struct instreg *reg;
    struct feed *feed;
    struct player *player;
    struct charges_table *charges; /* data/charges.csv: the kernel's Indian charges model */
    struct charges_model charges_model;
    struct kernel *k;       /* the paper trading kernel, fed by the feed thread */
    struct md_engine *eng;  /* the kernel's (kernel_md) */

    pthread_mutex_t lock; /* guards k (and so eng), player, feed and the fields below */
    pthread_cond_t wake;  /* signalled on stop */
    pthread_t thread;
    int started;
    int stop;             /* under lock */
    int ended;            /* under lock */
    ts_ns live_from;      /* simulator: items before it are warm-up, fed unpaced */
    int stopped;          /* under lock: an admin stopped the feed (ended is set too) */
    int live;             /* under lock: 1 once the warm-up is fed (api_market_status.live) */
    uint64_t items;       /* under lock */
};

static _Atomic(struct api_market *) current;

void api_market_set_current(struct api_market *m) { atomic_store(&current, m); }
struct api_market *api_market_current(void) { return atomic_load(&current); }

void api_market_config_defaults(struct api_market_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->feed, sizeof cfg->feed, "synthetic");
    cfg->speed = 60;
    cfg->seed = 42;
}

int api_market_config_feed(struct api_market_config *cfg, const char *text, const char *field,
                           struct atp_err *err)
{
    int ok = strcmp(text, "synthetic") == 0 || strcmp(text, "none") == 0 ||
             (strncmp(text, "replay:", 7) == 0 && text[7]);
    if (!ok || strlen(text) >= sizeof cfg->feed) {
        atp_err_set(err, ATP_EINVAL, NULL, 0, field, "must be synthetic, replay:FILE (a tick CSV) or none, not '%.200s'",
                    text);
        return ATP_EINVAL;
    }
    snprintf(cfg->feed, sizeof cfg->feed, "%s", text);
    return ATP_OK;
}

static ts_ns mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts_ns)ts.tv_sec * TS_NS_PER_SEC + ts.tv_nsec;
}

static void feed_engine(struct api_market *m, const struct feed_item *item)
{
    m->items++;
    if (item->kind == FEED_TICK)
        kernel_on_tick(m->k, &item->tick);
    else
        kernel_on_bar(m->k, item->instrument_id, item->tf, &item->bar);
}

/* Simulator warm-up: the day before the live one runs unpaced, in batches, so candles and
 * indicators have history as soon as the server is up (as `atp demo` does). Returns 0, 1 when
 * stopped, < 0 on a feed error (logged). */
static int warm_up(struct api_market *m)
{
    struct feed_item item;
    struct atp_err err;
    atp_err_clear(&err);
    for (;;) {
        pthread_mutex_lock(&m->lock);
        int rc = 0, stop = m->stop;
        for (int k = 0; !stop && k < MARKET_BATCH; k++) {
            rc = feed_next(m->feed, &item, &err);
            if (rc != 1)
                break;
            feed_engine(m, &item);
            if (feed_item_time(&item) >= m->live_from) {
                rc = 2; /* the first live item is in; the player paces the rest */
                break;
            }
        }
        if (rc <= 0)
            m->ended = 1; /* the end, or a feed error (logged below): nothing more will come */
        pthread_mutex_unlock(&m->lock);
        if (stop)
            return 1;
        if (rc < 0) {
            char buf[600];
            atp_log(LOG_ERROR, "market", "feed: %s", atp_err_format(&err, buf, sizeof buf));
            return rc;
        }
        if (rc != 1)
            return 0;
    }
}

static void *market_thread(void *arg)
{
    struct api_market *m = arg;
    struct atp_err err;
    atp_err_clear(&err);
    if (m->live_from != FEED_TS_UNKNOWN && warm_up(m) == 1)
        return NULL;
    pthread_mutex_lock(&m->lock);
    m->live = 1;
    while (!m->stop) {
        if (m->ended) { /* nothing to play until an admin starts a feed (api_market_feed_start) */
            pthread_cond_wait(&m->wake, &m->lock);
            continue;
        }
        ts_ns now = mono_now(), wait = 0;
        struct feed_item item;
        int st = PLAYER_ITEM;
        for (int k = 0; k < MARKET_BATCH && st == PLAYER_ITEM; k++) {
            st = player_next_due(m->player, now, &item, &wait, &err);
            if (st == PLAYER_ITEM)
                feed_engine(m, &item);
        }
        if (st < 0) {
            char buf[600];
            atp_log(LOG_ERROR, "market", "feed: %s", atp_err_format(&err, buf, sizeof buf));
            m->ended = 1;
            continue;
        }
        if (st == PLAYER_END) {
            /* The data is over: bars stay as they are (the last one forming), so a replay's
             * answers are exactly predictable. */
            m->ended = 1;
            atp_log(LOG_INFO, "market", "feed ended after %llu items", (unsigned long long)m->items);
            continue;
        }
        /* The engine's timer: quiet instruments' bars complete at their period end. */
        ts_ns market = player_market_time(m->player, now);
        if (market != FEED_TS_UNKNOWN)
            kernel_advance(m->k, market);
        if (st == PLAYER_ITEM) {
            /* A full batch and more is due: give waiting readers a turn before the next one. */
            pthread_mutex_unlock(&m->lock);
            sched_yield();
            pthread_mutex_lock(&m->lock);
            continue;
        }
        ts_ns nap = st == PLAYER_WAIT && wait < 50 * TS_NS_PER_MS ? wait : 50 * TS_NS_PER_MS;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)nap;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&m->wake, &m->lock, &until);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* A feed and its player from a spec: the simulator over spec's symbols (the default list when
 * none) from spec->from_day, or a tick replay file. Nights and weekends pass in a moment rather
 * than at the speed. */
static int open_feed(struct api_market *m, const struct api_market_feed_spec *spec, struct feed **feed,
                     struct player **player, struct atp_err *err)
{
    *feed = NULL;
    *player = NULL;
    int rc;
    if (spec->synthetic) {
        char profiles[PATH_MAX + 64];
        const char *symbols[API_MARKET_SYMBOLS_MAX];
        size_t n = spec->n_symbols;
        for (size_t i = 0; i < n; i++)
            symbols[i] = spec->symbols[i];
        struct sim_params sp = {.seed = spec->seed, .from_day = spec->from_day, .days = spec->days,
                                .symbols = n ? symbols : sim_symbols, .n_symbols = n ? n : N_SIM_SYMBOLS,
                                .profiles_path = paths_resolve("ATP_DATA_DIR", 1, "data/sim_profiles.csv",
                                                               profiles, sizeof profiles)};
        rc = sim_new(&sp, m->reg, m->cal, feed, err);
    } else {
        rc = replay_open_ticks(spec->file, m->reg, feed, err);
    }
    if (rc == ATP_OK)
        rc = player_new(*feed, spec->speed, player, err);
    if (rc != ATP_OK) {
        feed_free(*feed);
        *feed = NULL;
        return rc;
    }
    player_set_max_gap(*player, 5 * TS_NS_PER_SEC);
    return ATP_OK;
}

int api_market_new(const struct api_market_config *cfg, struct api_market **out, struct atp_err *err)
{
    *out = NULL;
    if (strcmp(cfg->feed, "none") == 0)
        return ATP_OK;
    int synthetic = strcmp(cfg->feed, "synthetic") == 0;
    if (synthetic && cfg->speed == 0) {
        atp_err_set(err, ATP_EINVAL, NULL, 0, "speed",
                    "speed max (as fast as possible) is for replays; the simulator never ends: use 0.5..100");
        return ATP_EINVAL;
    }
    struct api_market *m = atp_calloc(1, sizeof *m);
    if (!m)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    m->cfg = *cfg;
    m->live_from = FEED_TS_UNKNOWN;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    char path[PATH_MAX + 64];
    int rc = ATP_ENOMEM;
    m->cal = cal_new();
    m->reg = instreg_new();
    if (!m->cal || !m->reg)
        goto fail;
    rc = cal_load(m->cal, paths_resolve("ATP_DATA_DIR", 1, "data/nse_holidays.csv", path, sizeof path), err);
    if (rc == ATP_OK)
        rc = instreg_load_csv(m->reg, paths_resolve("ATP_DATA_DIR", 1, "data/instruments.csv", path, sizeof path),
                              err);
    if (rc != ATP_OK)
        goto fail;
    if (synthetic) {
        /* The day before today plays unpaced as warm-up (live_from: today's open), so candles
         * and indicators have history as soon as the server is up. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t today = cal_trading_day(m->cal, (ts_ns)now.tv_sec * TS_NS_PER_SEC + now.tv_nsec);
        int64_t warm_day = cal_prev_trading_day(m->cal, today);
        struct api_market_feed_spec spec = {.synthetic = 1, .from_day = warm_day < 0 ? today : warm_day,
                                            .speed = cfg->speed, .seed = cfg->seed};
        rc = open_feed(m, &spec, &m->feed, &m->player, err);
        m->live_from = cal_session_open(today);
    } else {
        struct api_market_feed_spec spec = {.speed = cfg->speed};
        snprintf(spec.file, sizeof spec.file, "%s", cfg->feed + 7);
        rc = open_feed(m, &spec, &m->feed, &m->player, err);
    }
    if (rc != ATP_OK)
        goto fail;
    rc = charges_table_load(paths_resolve("ATP_DATA_DIR", 1, "data/charges.csv", path, sizeof path), &m->charges, err);
    if (rc != ATP_OK)
        goto fail;
    m->charges_model = (struct charges_model){.kind = CHARGES_MODEL_INDIAN, .table = m->charges};
    /* One paper kernel: its md engine is the server's market data, its strategies, risk gate,
     * OMS and paper broker are the server's paper trading (api_market_exec). run_id from the
     * wall clock keeps order tags unique across restarts. */
    struct kernel_config kc = {.cal = m->cal, .reg = m->reg, .mode = TRADE_MODE_PAPER,
                               .run_id = (uint64_t)time(NULL), .charges = &m->charges_model};
    rc = paper_kernel_open(&kc, NULL, &m->k, err);
    if (rc != ATP_OK)
        goto fail;
    m->eng = kernel_md(m->k);
    *out = m;
    return ATP_OK;
fail:
    if (rc == ATP_ENOMEM && !err->msg[0])
        atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    api_market_free(m);
    return rc;
}

int api_market_start(struct api_market *m, struct atp_err *err)
{
    int rc = pthread_create(&m->thread, NULL, market_thread, m);
    if (rc != 0) {
        atp_err_set(err, ATP_EIO, NULL, 0, NULL, "cannot start the market thread: %s", strerror(rc));
        return ATP_EIO;
    }
    m->started = 1;
    return ATP_OK;
}

void api_market_free(struct api_market *m)
{
    if (!m)
        return;
    if (m->started) {
        pthread_mutex_lock(&m->lock);
        m->stop = 1;
        pthread_cond_signal(&m->wake);
        pthread_mutex_unlock(&m->lock);
        pthread_join(m->thread, NULL);
    }
    kernel_free(m->k); /* and its md engine, m->eng */
    player_free(m->player);
    feed_free(m->feed);
    charges_table_free(m->charges);
    instreg_free(m->reg);
    cal_free(m->cal);
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->lock);
    atp_free(m);
}

const struct instreg *api_market_registry(const struct api_market *m) { return m->reg; }

void api_market_candles(struct api_market *m, uint32_t instrument_id, enum tf tf, uint32_t count,
                        struct bar *out, uint32_t *n_out, struct bar *forming, int *has_forming)
{
    *n_out = 0;
    *has_forming = 0;
    pthread_mutex_lock(&m->lock);
    const struct candle_series *s = md_engine_series(m->eng, instrument_id, tf);
    if (s) {
        uint32_t n = count < s->count ? count : s->count;
        for (uint32_t i = 0; i < n; i++)
            out[i] = *candles_get(s, n - 1 - i); /* oldest first */
        *n_out = n;
        if (s->has_forming) {
            *forming = s->forming;
            *has_forming = 1;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

void api_market_quote(struct api_market *m, uint32_t instrument_id, struct api_market_quote *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->lock);
    const struct tick *t = md_engine_last_tick(m->eng, instrument_id);
    const struct candle_series *day = md_engine_series(m->eng, instrument_id, TF_1D);
    if (t && day) {
        const struct bar *b = day->has_forming ? &day->forming : candles_get(day, 0);
        if (b) {
            out->has_data = 1;
            out->last = t->ltp;
            out->ts = t->ts;
            out->day = *b;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

void api_market_status(struct api_market *m, struct api_market_status *out)
{
    struct md_stats st;
    pthread_mutex_lock(&m->lock);
    md_engine_stats(m->eng, &st);
    out->feed = strcmp(m->cfg.feed, "synthetic") == 0 ? "synthetic" : "replay";
    out->speed = player_speed(m->player);
    out->ended = m->ended;
    out->stopped = m->stopped;
    out->market_ts = md_engine_now(m->eng);
    out->items = m->items;
    out->ticks_accepted = st.accepted;
    out->bars_completed = st.bars_completed;
    out->progress = player_progress(m->player, mono_now());
    out->paused = player_is_paused(m->player);
    out->live = m->live;
    pthread_mutex_unlock(&m->lock);
}

void api_market_pause(struct api_market *m)
{
    pthread_mutex_lock(&m->lock);
    player_pause(m->player, mono_now());
    pthread_mutex_unlock(&m->lock);
}

void api_market_resume(struct api_market *m)
{
    pthread_mutex_lock(&m->lock);
    player_resume(m->player, mono_now());
    pthread_cond_signal(&m->wake); /* the feed thread re-plans its nap */
    pthread_mutex_unlock(&m->lock);
}

int api_market_set_speed(struct api_market *m, double speed, struct atp_err *err)
{
    if (speed == 0 && strcmp(m->cfg.feed, "synthetic") == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "speed",
                           "speed 0 (as fast as possible) is for replays; the simulator never ends: use 0.5..100");
    pthread_mutex_lock(&m->lock);
    int rc = player_set_speed(m->player, speed, mono_now(), err);
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int api_market_exec(struct api_market *m, int (*fn)(struct kernel *k, void *arg), void *arg)
{
    pthread_mutex_lock(&m->lock);
    int rc = fn(m->k, arg);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int api_market_feed_start(struct api_market *m, const struct api_market_feed_spec *spec, struct atp_err *err)
{
    if (spec->synthetic && spec->speed == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "speed",
                           "speed max (as fast as possible) is for replays; the simulator never ends: use 0.5..100");
    /* Opened outside the lock (a replay file is read whole) so the market keeps playing meanwhile. */
    struct feed *feed;
    struct player *player;
    int rc = open_feed(m, spec, &feed, &player, err);
    if (rc != ATP_OK)
        return rc;
    pthread_mutex_lock(&m->lock);
    ts_ns now = md_engine_now(m->eng);
    if (spec->synthetic && now != FEED_TS_UNKNOWN && now > 0 && cal_session_open(spec->from_day) <= now &&
        spec->from_day < ts_ist_day(now)) {
        pthread_mutex_unlock(&m->lock);
        player_free(player);
        feed_free(feed);
        char shown[40];
        ts_format_ist(now, shown, sizeof shown);
        return atp_err_set(err, ATP_ESTATE, NULL, 0, "from",
                           "the market is at %s IST: a feed cannot start on an earlier day (paper orders, "
                           "positions and candles live on this clock)", shown);
    }
    /* Items before the market's clock would be late ticks: the new feed starts where the market is. */
    if (now != FEED_TS_UNKNOWN && now > 0)
        player_seek(player, now + 1, mono_now(), NULL);
    player_free(m->player);
    feed_free(m->feed);
    m->player = player;
    m->feed = feed;
    snprintf(m->cfg.feed, sizeof m->cfg.feed, "%s", spec->synthetic ? "synthetic" : "replay:");
    if (!spec->synthetic)
        snprintf(m->cfg.feed + 7, sizeof m->cfg.feed - 7, "%.1000s", spec->file);
    m->ended = 0;
    m->stopped = 0;
    m->live_from = FEED_TS_UNKNOWN;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    return ATP_OK;
}

void api_market_feed_stop(struct api_market *m)
{
    pthread_mutex_lock(&m->lock);
    m->ended = 1;
    m->stopped = 1;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
}

int api_market_seek(struct api_market *m, ts_ns to, struct atp_err *err)
{
    pthread_mutex_lock(&m->lock);
    ts_ns now = md_engine_now(m->eng);
    int rc = ATP_OK;
    if (m->ended) {
        rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "to", "the feed has %s: start one first",
                         m->stopped ? "been stopped" : "ended");
    } else if (now != FEED_TS_UNKNOWN && to > now + 30 * 24 * 3600 * TS_NS_PER_SEC) {
        /* Skipping means generating (the simulator) or reading every item in between, under the
         * lock: a month is a few seconds, years would stall the server. */
        rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "to", "seek at most 30 days ahead at a time");
    } else if (now != FEED_TS_UNKNOWN && to <= now) {
        char shown[40];
        ts_format_ist(now, shown, sizeof shown);
        rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "to",
                         "the market is at %s IST: seek goes forward only (paper orders, positions and candles "
                         "live on this clock)", shown);
    } else {
        rc = player_seek(m->player, to, mono_now(), err);
        pthread_cond_signal(&m->wake);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}
