#include "md/feed/sim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/csv.h"
#include "core/rng.h"

/* Model constants; docs/feeds.md explains each. */
#define SESSIONS_PER_YEAR 252.0
#define U_SHAPE_C 1.5              /* sim_intensity: open/close 2.2x the mean, midday 0.4x */
#define U_SHAPE_MAX ((1.0 + 3.0 * U_SHAPE_C) / (1.0 + U_SHAPE_C))
#define RANGE_HALF_LIFE_MIN 20.0   /* range regime: half-life of a deviation from the anchor */
#define RANGE_VOL_MULT 0.8
#define VOLATILE_VOL_MULT 2.2
#define VOLATILE_QTY_MULT 1.5
#define GAP_SIGMA_DAILY 0.5        /* overnight gap sd, in daily standard deviations */
#define QTY_LOGNORMAL_SIGMA 0.9    /* per-tick quantity: mean_lots * LogNormal(-s^2/2, s) */
#define PRICE_MIN_RUPEES 0.0001
#define PRICE_MAX_RUPEES 1e9

static const double regime_weight[SIM_REGIME_COUNT] = {
    [SIM_RANGE] = 0.4, [SIM_TREND_UP] = 0.2, [SIM_TREND_DOWN] = 0.2, [SIM_VOLATILE] = 0.2};

struct sim_inst {
    const struct instrument *in;
    px_t tick_size;
    int64_t lot;
    int has_volume;       /* profile daily volume > 0: qty, volume, bid, ask */
    struct sim_profile prof;
    uint64_t seed;        /* of this instrument's generator */
    double mean_lots;     /* mean lots per tick */
    /* state, reset by rewind */
    struct rng rng;
    int64_t day;          /* current IST trading day, -1 before the first session */
    int sessions;         /* sessions started */
    ts_ns t;              /* time of the last arrival candidate (whole ms) */
    ts_ns t_price;        /* time the price was last advanced to */
    double s;             /* continuous price in rupees */
    double anchor;        /* log price the range regime reverts to */
    int regime;
    int64_t cum;
    struct tick pending;
};

struct sim {
    struct feed base;
    const struct cal *cal;
    struct sim_params p;    /* symbols pointer not kept */
    int64_t first_day;
    struct sim_inst *insts;
    size_t n;
    struct feed_heap heap;
};

double sim_intensity(double x)
{
    double d = 2.0 * x - 1.0;
    return (1.0 + 3.0 * U_SHAPE_C * d * d) / (1.0 + U_SHAPE_C);
}

/* ---- profiles ---- */

static void profile_default(const struct instrument *in, struct sim_profile *out)
{
    out->ref_price = PX_RUPEES(SIM_DEFAULT_REF_PRICE_RUPEES);
    out->annual_vol = SIM_DEFAULT_ANNUAL_VOL;
    out->daily_volume = in->type == INST_INDEX ? 0 : SIM_DEFAULT_DAILY_VOLUME;
}

/* A derivative without its own row follows its underlying's row: a future starts at the
 * underlying's price with its volatility; an option at its intrinsic value plus 1% of the
 * underlying's price, with four times the underlying's volatility (at most 300%). Both get the
 * default daily volume. A crude stand-in: the simulator does not price derivatives off their
 * underlying's path (docs/feeds.md). */
static void profile_derive(const struct instrument *in, const struct sim_profile *under,
                           struct sim_profile *out)
{
    out->daily_volume = SIM_DEFAULT_DAILY_VOLUME;
    if (in->type == INST_FUT) {
        out->ref_price = under->ref_price;
        out->annual_vol = under->annual_vol;
        return;
    }
    px_t intrinsic = in->type == INST_CE ? under->ref_price - in->strike
                                         : in->strike - under->ref_price;
    out->ref_price = (intrinsic > 0 ? intrinsic : 0) + under->ref_price / 100;
    out->annual_vol = under->annual_vol * 4 > 3.0 ? 3.0 : under->annual_vol * 4;
}

/* Reads the profiles file once, validating every row, and fills profs[i] for each instrument
 * listed, or derived from its listed underlying (the others keep what they had). */
static int load_profiles_stream(FILE *f, const char *path, const struct instrument *const *ins,
                                struct sim_profile *profs, size_t n, struct atp_err *err);

static int load_profiles(const char *path, const struct instrument *const *ins,
                         struct sim_profile *profs, size_t n, struct atp_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open simulator profiles");
    int rc = load_profiles_stream(f, path, ins, profs, n, err);
    fclose(f);
    return rc;
}

static int load_profiles_stream(FILE *f, const char *path, const struct instrument *const *ins,
                                struct sim_profile *profs, size_t n, struct atp_err *err)
{
    struct csv_reader r;
    csv_reader_init(&r, f, path);
    unsigned char *direct = atp_calloc(n ? n : 1, 1);
    int rc = direct ? csv_read_row(&r, err) : atp_err_set(err, ATP_ENOMEM, path, 0, NULL, "out of memory");
    if (rc <= 0) {
        if (rc == 0)
            rc = atp_err_set(err, ATP_EPARSE, path, 0, NULL, "empty file: expected a header row");
        goto cleanup;
    }
    static const char *const names[] = {"symbol", "ref_price", "annual_vol", "daily_volume"};
    int col[4];
    for (int i = 0; i < 4; i++) {
        if ((col[i] = csv_find_column(&r, names[i])) < 0) {
            rc = atp_err_set(err, ATP_EPARSE, path, r.line, names[i], "missing column '%s'",
                             names[i]);
            goto cleanup;
        }
    }
    while ((rc = csv_read_row(&r, err)) == 1) {
        char sym[INST_SYMBOL_MAX];
        struct sim_profile pr;
        px_t vol;
        long long dv;
        struct csv_field c;
        if (csv_field_copy(&r, col[0], sym, sizeof sym) != ATP_OK || !sym[0]) {
            rc = atp_err_set(err, ATP_EPARSE, path, r.line, "symbol", "empty or too long symbol");
            goto cleanup;
        }
        c = csv_field_get(&r, col[1]);
        if (px_parse(c.ptr, c.len, &pr.ref_price, err) != ATP_OK || pr.ref_price <= 0) {
            rc = atp_err_set(err, ATP_EINVAL, path, r.line, "ref_price",
                             "ref_price must be a positive price");
            goto cleanup;
        }
        c = csv_field_get(&r, col[2]);
        if (px_parse(c.ptr, c.len, &vol, err) != ATP_OK || vol <= 0 || vol > PX_RUPEES(3)) {
            rc = atp_err_set(err, ATP_EINVAL, path, r.line, "annual_vol",
                             "annual_vol must be a fraction in (0, 3], e.g. 0.25");
            goto cleanup;
        }
        pr.annual_vol = px_to_double(vol);
        if (csv_field_int(&r, col[3], &dv, err) != ATP_OK || dv < 0) {
            rc = atp_err_set(err, ATP_EINVAL, path, r.line, "daily_volume",
                             "daily_volume must be a whole number >= 0");
            goto cleanup;
        }
        pr.daily_volume = dv;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(ins[i]->symbol, sym) == 0) {
                profs[i] = pr;
                direct[i] = 1;
            } else if (!direct[i] && ins[i]->underlying[0] && strcmp(ins[i]->underlying, sym) == 0 &&
                       (ins[i]->type == INST_FUT || ins[i]->type == INST_CE ||
                        ins[i]->type == INST_PE)) {
                profile_derive(ins[i], &pr, &profs[i]);
            }
        }
    }
cleanup:
    atp_free(direct);
    csv_reader_cleanup(&r);
    return rc < 0 ? rc : ATP_OK;
}

int sim_profile_lookup_stream(FILE *f, const char *name, const struct instrument *in,
                              struct sim_profile *out, struct atp_err *err)
{
    profile_default(in, out);
    return load_profiles_stream(f, name, &in, out, 1, err);
}

int sim_profile_lookup(const char *path, const struct instrument *in, struct sim_profile *out,
                       struct atp_err *err)
{
    profile_default(in, out);
    return path ? load_profiles(path, &in, out, 1, err) : ATP_OK;
}

/* ---- the model ---- */

static uint64_t symbol_seed(uint64_t seed, const char *symbol)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)symbol; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h ^ (seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL);
}

static int draw_regime(struct rng *rng, int exclude)
{
    double total = 0;
    for (int i = 0; i < SIM_REGIME_COUNT; i++)
        total += i == exclude ? 0 : regime_weight[i];
    double u = rng_uniform(rng) * total;
    int last = 0;
    for (int i = 0; i < SIM_REGIME_COUNT; i++) {
        if (i == exclude)
            continue;
        last = i;
        if (u < regime_weight[i])
            return i;
        u -= regime_weight[i];
    }
    return last;
}

static double clamp_price(double s)
{
    return s < PRICE_MIN_RUPEES ? PRICE_MIN_RUPEES : s > PRICE_MAX_RUPEES ? PRICE_MAX_RUPEES : s;
}

/* Moves the continuous price over dt_ns of session time under the current regime, after a
 * possible regime switch (continuous-time Markov chain at rate 1/regime_min). */
static void advance_price(const struct sim *sim, struct sim_inst *x, ts_ns dt_ns)
{
    double dt_min = (double)dt_ns / (double)TS_NS_PER_MIN;
    if (rng_uniform(&x->rng) < -expm1(-dt_min / sim->p.regime_min)) {
        x->regime = draw_regime(&x->rng, x->regime);
        x->anchor = log(x->s);
    }
    double dt = (double)dt_ns / ((double)CAL_SESSION_NS * SESSIONS_PER_YEAR); /* years */
    double sigma = x->prof.annual_vol, z = rng_normal(&x->rng);
    if (x->regime == SIM_RANGE) {
        double k = log(2.0) / (RANGE_HALF_LIFE_MIN / (375.0 * SESSIONS_PER_YEAR));
        double sd = sigma * RANGE_VOL_MULT * sqrt(-expm1(-2.0 * k * dt) / (2.0 * k));
        double lx = log(x->s);
        x->s = clamp_price(exp(x->anchor + (lx - x->anchor) * exp(-k * dt) + sd * z));
        return;
    }
    double mu = 0.0;
    if (x->regime == SIM_TREND_UP)
        mu = sigma * sqrt(SESSIONS_PER_YEAR); /* one daily sd per session */
    else if (x->regime == SIM_TREND_DOWN)
        mu = -sigma * sqrt(SESSIONS_PER_YEAR);
    else if (x->regime == SIM_VOLATILE)
        sigma *= VOLATILE_VOL_MULT;
    x->s = clamp_price(x->s * exp((mu - 0.5 * sigma * sigma) * dt + sigma * sqrt(dt) * z));
}

static void make_tick(struct sim_inst *x, ts_ns t, struct tick *out)
{
    memset(out, 0, sizeof *out);
    out->instrument_id = x->in->id;
    out->ts = t;
    px_t step = x->tick_size;
    px_t ltp = px_round_to(px_from_double(x->s), step);
    if (ltp < step)
        ltp = step;
    out->ltp = ltp;
    if (!x->has_volume)
        return;
    double z = rng_normal(&x->rng);
    double lots = x->mean_lots * exp(QTY_LOGNORMAL_SIGMA * z - 0.5 * QTY_LOGNORMAL_SIGMA * QTY_LOGNORMAL_SIGMA);
    if (x->regime == SIM_VOLATILE)
        lots *= VOLATILE_QTY_MULT;
    if (lots > 1e9)
        lots = 1e9;
    int64_t n_lots = llround(lots);
    if (n_lots < 1)
        n_lots = 1;
    out->qty = n_lots * x->lot;
    x->cum += out->qty;
    out->cum_volume = x->cum;
    double u = rng_uniform(&x->rng);
    int64_t spread = u < 0.7 ? 1 : u < 0.9 ? 2 : 3;
    if (x->regime == SIM_VOLATILE)
        spread++;
    int buy = rng_uniform(&x->rng) < 0.5;
    if (buy && ltp - spread * step >= step) { /* bought at the ask */
        out->ask = ltp;
        out->bid = ltp - spread * step;
    } else { /* sold at the bid */
        out->bid = ltp;
        out->ask = ltp + spread * step;
    }
    out->flags = TICK_HAS_QTY | TICK_HAS_VOLUME | TICK_HAS_BID | TICK_HAS_ASK;
}

/* Generates the instrument's next tick into x->pending: 1, or 0 when its last session is over. */
static int inst_next(struct sim *sim, struct sim_inst *x)
{
    double rate_max = sim->p.ticks_per_min / 60.0 * U_SHAPE_MAX; /* per second */
    for (;;) {
        if (x->day < 0 || x->t >= cal_session_close(x->day)) {
            if (sim->p.days > 0 && x->sessions == sim->p.days)
                return 0;
            int64_t day = x->day < 0 ? sim->first_day : cal_next_trading_day(sim->cal, x->day);
            if (day < 0 || cal_session_close(day) >= FEED_TS_MAX)
                return 0; /* no end given: stop at the end of the feed time range */
            if (x->day >= 0) { /* overnight gap */
                double sd = GAP_SIGMA_DAILY * x->prof.annual_vol / sqrt(SESSIONS_PER_YEAR);
                x->s = clamp_price(x->s * exp(sd * rng_normal(&x->rng)));
            }
            x->day = day;
            x->sessions++;
            x->t = x->t_price = cal_session_open(day);
            x->cum = 0;
            x->regime = draw_regime(&x->rng, -1);
            x->anchor = log(x->s);
        }
        ts_ns open = cal_session_open(x->day), close = cal_session_close(x->day);
        double gap_s = rng_exponential(&x->rng, rate_max);
        if (gap_s > (double)CAL_SESSION_NS / TS_NS_PER_SEC)
            gap_s = (double)CAL_SESSION_NS / TS_NS_PER_SEC;
        x->t += llround(gap_s * 1000.0) * TS_NS_PER_MS;
        if (x->t >= close) {
            x->t = close;
            continue;
        }
        double frac = (double)(x->t - open) / (double)CAL_SESSION_NS;
        if (rng_uniform(&x->rng) * U_SHAPE_MAX >= sim_intensity(frac))
            continue; /* thinning (Lewis-Shedler): accept with intensity / max */
        advance_price(sim, x, x->t - x->t_price);
        x->t_price = x->t;
        make_tick(x, x->t, &x->pending);
        return 1;
    }
}

static void inst_reset(struct sim_inst *x)
{
    rng_seed(&x->rng, x->seed);
    x->day = -1;
    x->sessions = 0;
    x->t = x->t_price = 0;
    x->s = px_to_double(x->prof.ref_price);
    x->anchor = log(x->s);
    x->regime = SIM_RANGE;
    x->cum = 0;
}

static void prime(struct sim *sim)
{
    feed_heap_clear(&sim->heap);
    for (size_t i = 0; i < sim->n; i++) {
        inst_reset(&sim->insts[i]);
        if (inst_next(sim, &sim->insts[i])) {
            struct feed_heap_entry e = {sim->insts[i].pending.ts, i, (uint32_t)i};
            feed_heap_push(&sim->heap, e);
        }
    }
}

/* ---- feed ops ---- */

static int sim_next(struct feed *feed, struct feed_item *item, struct atp_err *err)
{
    (void)err;
    struct sim *sim = (struct sim *)feed;
    struct feed_heap_entry e;
    if (!feed_heap_pop(&sim->heap, &e))
        return 0;
    struct sim_inst *x = &sim->insts[e.src];
    memset(item, 0, sizeof *item);
    item->kind = FEED_TICK;
    item->instrument_id = x->pending.instrument_id;
    item->tick = x->pending;
    if (inst_next(sim, x)) {
        e.ts = x->pending.ts;
        feed_heap_push(&sim->heap, e);
    }
    return 1;
}

static int sim_rewind(struct feed *feed, struct atp_err *err)
{
    (void)err;
    prime((struct sim *)feed);
    return ATP_OK;
}

static void sim_destroy(struct feed *feed)
{
    struct sim *sim = (struct sim *)feed;
    atp_free(sim->insts);
    feed_heap_cleanup(&sim->heap);
    atp_free(sim);
}

static const struct feed_ops sim_ops = {sim_next, sim_rewind, sim_destroy};

int sim_new(const struct sim_params *params, const struct instreg *reg, const struct cal *cal,
            struct feed **out, struct atp_err *err)
{
    int rc;
    const struct instrument **ins = NULL;
    struct sim_profile *profs = NULL;
    *out = NULL;
    struct sim_params p = *params;
    if (p.ticks_per_min == 0)
        p.ticks_per_min = SIM_DEFAULT_TICKS_PER_MIN;
    if (p.regime_min == 0)
        p.regime_min = SIM_DEFAULT_REGIME_MIN;
    if (!reg || !cal)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "the simulator needs a registry and a calendar");
    if (p.days < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "days", "days must be >= 0 (0: no end)");
    if (p.n_symbols == 0 || !p.symbols)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "symbols", "no symbols to simulate");
    if (!(p.ticks_per_min > 0 && p.ticks_per_min <= 6000))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "ticks_per_min",
                           "tick rate must be in (0, 6000] per minute");
    if (!(p.regime_min > 0 && p.regime_min <= 100000))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "regime_min",
                           "mean regime duration must be in (0, 100000] minutes");
    if (p.from_day < ts_ist_day(FEED_TS_MIN) || p.from_day >= ts_ist_day(FEED_TS_MAX) - 3660)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "from_day",
                           "the start day must be in the years 1900-2189");
    int64_t first_day = cal_is_trading_day(cal, p.from_day) ? p.from_day
                                                            : cal_next_trading_day(cal, p.from_day);
    if (first_day < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "from_day", "no trading day found");

    struct sim *sim = atp_calloc(1, sizeof *sim);
    ins = atp_calloc(p.n_symbols, sizeof *ins);
    profs = atp_calloc(p.n_symbols, sizeof *profs);
    if (!sim || !ins || !profs) {
        atp_free(sim);
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        sim = NULL;
        goto cleanup;
    }
    sim->base.ops = &sim_ops;
    snprintf(sim->base.name, sizeof sim->base.name, "sim");
    sim->cal = cal;
    sim->p = p;
    sim->p.symbols = NULL;
    sim->first_day = first_day;
    sim->n = p.n_symbols;

    for (size_t i = 0; i < p.n_symbols; i++) {
        const char *sym = p.symbols[i] ? p.symbols[i] : "";
        if (!(ins[i] = instreg_find(reg, sym))) {
            rc = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "symbols",
                             "unknown symbol '%.48s' (not in the instrument registry)", sym);
            goto fail;
        }
        for (size_t j = 0; j < i; j++) {
            if (ins[j] == ins[i]) {
                rc = atp_err_set(err, ATP_EINVAL, NULL, 0, "symbols", "symbol '%.48s' given twice",
                                 sym);
                goto fail;
            }
        }
        profile_default(ins[i], &profs[i]);
    }
    if (p.profiles_path && (rc = load_profiles(p.profiles_path, ins, profs, p.n_symbols, err)) != ATP_OK)
        goto fail;

    sim->insts = atp_calloc(p.n_symbols, sizeof *sim->insts);
    if (!sim->insts || feed_heap_init(&sim->heap, p.n_symbols) != ATP_OK) {
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        goto fail;
    }
    double ticks_per_day = p.ticks_per_min * (double)(CAL_SESSION_NS / TS_NS_PER_MIN);
    for (size_t i = 0; i < p.n_symbols; i++) {
        struct sim_inst *x = &sim->insts[i];
        x->in = ins[i];
        x->tick_size = ins[i]->tick_size > 0 ? ins[i]->tick_size : 500; /* 0.05 */
        x->lot = ins[i]->lot_size > 0 ? ins[i]->lot_size : 1;
        x->prof = profs[i];
        x->prof.ref_price = px_round_to(x->prof.ref_price, x->tick_size);
        if (x->prof.ref_price < x->tick_size)
            x->prof.ref_price = x->tick_size;
        x->has_volume = x->prof.daily_volume > 0;
        x->mean_lots = (double)x->prof.daily_volume / ticks_per_day / (double)x->lot;
        x->seed = symbol_seed(p.seed, ins[i]->symbol);
    }

    /* Time range: first open to last close (open-ended when days = 0). */
    sim->base.first_ts = cal_session_open(first_day);
    sim->base.last_ts = FEED_TS_UNKNOWN;
    if (p.days > 0) {
        int64_t day = first_day;
        for (int d = 1; d < p.days && day >= 0; d++)
            day = cal_next_trading_day(cal, day);
        if (day >= 0)
            sim->base.last_ts = cal_session_close(day);
    }
    prime(sim);
    *out = &sim->base;
    rc = ATP_OK;
    goto cleanup;
fail:
    sim_destroy(&sim->base);
cleanup:
    atp_free(ins);
    atp_free(profs);
    return rc;
}
