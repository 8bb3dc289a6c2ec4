/* md/feed/sim: the synthetic market, a feed of simulated NSE ticks.
 *
 * Per instrument: a geometric Brownian motion (annualized volatility from data/sim_profiles.csv)
 * whose drift and volatility follow a regime (trend up, trend down, range = mean-reverting,
 * volatile) that switches by a continuous-time Markov chain; a normally distributed gap at each
 * session open; Poisson tick arrivals whose intensity is U-shaped over the day; per-tick
 * quantities from a log-normal distribution in lot multiples with the cumulative day volume; bid
 * and ask around the last price. Prices are always positive multiples of the instrument's tick
 * size (floating point only inside the price step), ticks only inside the continuous session
 * 09:15-15:30 IST of NSE trading days (struct cal), timestamps whole milliseconds.
 * docs/feeds.md gives every formula and constant.
 *
 * Deterministic: the same parameters give byte-identical streams on every run and machine with
 * IEEE-754 doubles. Each instrument draws from its own generator seeded from (seed, symbol), so
 * adding or removing a symbol does not change the others' paths. Instruments are merged in time
 * order through a binary heap; ties go to the earlier symbol in the parameter list. Nothing is
 * allocated after sim_new. Single-threaded. */
#ifndef ATP_MD_FEED_SIM_H
#define ATP_MD_FEED_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/cal.h"
#include "md/feed.h"
#include "model/instrument.h"

#define SIM_DEFAULT_TICKS_PER_MIN 60.0  /* mean ticks per minute per instrument over a session */
#define SIM_DEFAULT_REGIME_MIN 60.0     /* mean regime duration, session minutes */
#define SIM_DEFAULT_REF_PRICE_RUPEES 1000
#define SIM_DEFAULT_ANNUAL_VOL 0.30
#define SIM_DEFAULT_DAILY_VOLUME 1000000

enum sim_regime {
    SIM_RANGE = 0,     /* mean-reverting around the price at the regime's start */
    SIM_TREND_UP,
    SIM_TREND_DOWN,
    SIM_VOLATILE,      /* no drift, volatility x2.2, wider spreads, bigger trades */
    SIM_REGIME_COUNT
};

struct sim_params {
    uint64_t seed;
    int64_t from_day;     /* IST day number (ts_ist_day); starts on the first trading day >= it */
    int days;             /* trading days to simulate, >= 1; 0 = no end */
    const char *const *symbols; /* standard symbols, resolved in the registry */
    size_t n_symbols;
    double ticks_per_min; /* mean tick rate per instrument; 0 = SIM_DEFAULT_TICKS_PER_MIN */
    double regime_min;    /* mean regime duration in session minutes; 0 = SIM_DEFAULT_REGIME_MIN */
    const char *profiles_path; /* data/sim_profiles.csv, or NULL: defaults for every symbol */
};

/* Per-symbol figures (one row of the profiles file). */
struct sim_profile {
    px_t ref_price;       /* starting price */
    double annual_vol;    /* annualized volatility, e.g. 0.25 */
    int64_t daily_volume; /* mean shares per day; 0 = no volume (indices) */
};

/* The profile the simulator uses for an instrument: its row in the file; else, for a future or
 * an option whose underlying has a row, one derived from it (docs/feeds.md); else the defaults
 * above (daily volume 0 for an index). Reads path each call (not for hot paths). ATP_OK, or the file's
 * errors (ATP_EIO, ATP_EPARSE/ATP_EINVAL naming file, line and field). path may be NULL. */
int sim_profile_lookup(const char *path, const struct instrument *in, struct sim_profile *out,
                       struct atp_err *err);
/* The same over an open profiles stream (not closed); name is used in messages. */
int sim_profile_lookup_stream(FILE *f, const char *name, const struct instrument *in,
                              struct sim_profile *out, struct atp_err *err);

/* Creates the simulator feed. reg and cal must outlive the feed; the parameters are copied.
 * Errors: ATP_EINVAL (field named: days < 0, no symbols, a duplicate symbol, a rate out of
 * range, no trading day found), ATP_ENOTFOUND (field symbols) for a symbol not in the registry,
 * the profiles file's errors, ATP_ENOMEM. The caller frees *out with feed_free.
 * feed_rewind restarts the identical stream. The time range is the first session's open and the
 * last session's close (unknown end when days = 0). */
int sim_new(const struct sim_params *params, const struct instreg *reg, const struct cal *cal,
            struct feed **out, struct atp_err *err);

/* U-shaped intraday intensity multiplier at x = fraction of the session elapsed (0..1); its mean
 * over the session is 1. Exposed for tests and docs. */
double sim_intensity(double x);

#endif
