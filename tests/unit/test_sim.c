/* Tests of md/feed/sim: determinism (same seed => byte-identical output; another seed => another
 * stream; a symbol's path independent of the others), invariants over several trading days
 * (session hours, trading days only, tick-size prices > 0, bid/ask, volumes), the U-shaped
 * intensity, parameter errors. Uses the shipped instrument master, holidays and profiles. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "md/feed/sim.h"
#include "md/feed/tickcsv.h"
#include "testutil.h"

static struct instreg *reg;
static struct cal *cal;
static long live_at_start;

static void setup(void)
{
    live_at_start = atp_alloc_live();
    struct atp_err err;
    reg = instreg_new();
    cal = cal_new();
    cr_assert(reg && cal);
    cr_assert_eq(instreg_load_csv(reg, tu_root_path("data/instruments.csv"), &err), ATP_OK, "%s",
                 err.msg);
    cr_assert_eq(cal_load(cal, tu_root_path("data/nse_holidays.csv"), &err), ATP_OK, "%s", err.msg);
}

static void teardown(void)
{
    instreg_free(reg);
    cal_free(cal);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak: %ld live blocks", atp_alloc_live());
}

TestSuite(sim, .init = setup, .fini = teardown, .timeout = 120);

static int64_t day_of(int y, int m, int d)
{
    return ts_days_from_civil(y, m, d);
}

static struct sim_params params(uint64_t seed, int64_t from_day, int days, const char *const *syms,
                                size_t n, double rate)
{
    struct sim_params p;
    memset(&p, 0, sizeof p);
    p.seed = seed;
    p.from_day = from_day;
    p.days = days;
    p.symbols = syms;
    p.n_symbols = n;
    p.ticks_per_min = rate;
    p.profiles_path = tu_root_path("data/sim_profiles.csv");
    return p;
}

static struct feed *make(const struct sim_params *p)
{
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(sim_new(p, reg, cal, &feed, &err), ATP_OK, "%s", err.msg);
    return feed;
}

/* The whole stream as tick CSV text (the caller frees). */
static char *as_csv(struct feed *feed, size_t *count)
{
    char *buf = NULL;
    size_t len = 0, n = 0;
    FILE *w = open_memstream(&buf, &len);
    struct atp_err err;
    struct feed_item it;
    int rc;
    cr_assert_eq(tickcsv_write_header(w, "mem", &err), ATP_OK);
    while ((rc = feed_next(feed, &it, &err)) == 1) {
        cr_assert_eq(tickcsv_write_tick(w, "mem", reg, &it.tick, &err), ATP_OK);
        n++;
    }
    cr_assert_eq(rc, 0);
    fclose(w);
    if (count)
        *count = n;
    return buf;
}

static const char *const syms4[] = {"RELIANCE", "INFY", "NIFTY", "NIFTY26DECFUT"};

Test(sim, same_seed_byte_identical_other_seed_differs)
{
    struct sim_params p = params(42, day_of(2026, 1, 5), 2, syms4, 4, 20);
    struct feed *a = make(&p), *b = make(&p);
    size_t na, nb;
    char *ta = as_csv(a, &na), *tb = as_csv(b, &nb);
    cr_assert_gt(na, 4 * 2 * 375 * 20 / 2, "too few ticks: %zu", na);
    cr_assert_eq(na, nb);
    cr_assert_str_eq(ta, tb);

    /* rewind restarts the identical stream */
    struct atp_err err;
    cr_assert_eq(feed_rewind(a, &err), ATP_OK);
    char *tc = as_csv(a, NULL);
    cr_assert_str_eq(ta, tc);

    struct sim_params q = p;
    q.seed = 43;
    struct feed *c = make(&q);
    char *td = as_csv(c, NULL);
    cr_assert_str_neq(ta, td);
    free(ta);
    free(tb);
    free(tc);
    free(td);
    feed_free(a);
    feed_free(b);
    feed_free(c);
}

Test(sim, adding_a_symbol_keeps_the_others_paths)
{
    static const char *const two[] = {"RELIANCE", "INFY"};
    static const char *const three[] = {"TCS", "INFY", "RELIANCE"};
    struct sim_params p2 = params(7, day_of(2026, 1, 5), 1, two, 2, 10);
    struct sim_params p3 = params(7, day_of(2026, 1, 5), 1, three, 3, 10);
    struct feed *a = make(&p2), *b = make(&p3);
    const struct instrument *rel = instreg_find(reg, "RELIANCE");
    struct atp_err err;
    struct feed_item x, y;
    size_t n = 0;
    for (;;) {
        int ra, rb;
        while ((ra = feed_next(a, &x, &err)) == 1 && x.instrument_id != rel->id) {
        }
        while ((rb = feed_next(b, &y, &err)) == 1 && y.instrument_id != rel->id) {
        }
        cr_assert_eq(ra, rb);
        if (ra == 0)
            break;
        cr_assert(memcmp(&x.tick, &y.tick, sizeof x.tick) == 0, "RELIANCE tick %zu differs", n);
        n++;
    }
    cr_assert_gt(n, 1000);
    feed_free(a);
    feed_free(b);
}

struct window_counts {
    long first30, mid30, last30;
};

Test(sim, invariants_over_trading_days)
{
    /* 12-19 Jan 2026: Thu 15 Jan is a holiday, 17-18 a weekend: 5 trading days. */
    static const char *const syms[] = {"RELIANCE", "TATASTEEL", "MARUTI", "NIFTY",
                                       "BANKNIFTY26DECFUT"};
    const size_t n_syms = sizeof syms / sizeof syms[0];
    struct sim_params p = params(2026, day_of(2026, 1, 12), 5, syms, n_syms, 30);
    struct feed *feed = make(&p);
    ts_ns first, last;
    cr_assert(feed_time_range(feed, &first, &last));
    cr_assert_eq(first, ts_from_ist(2026, 1, 12, 9, 15, 0));
    cr_assert_eq(last, ts_from_ist(2026, 1, 19, 15, 30, 0));

    int64_t cum[8], day[8];
    for (size_t i = 0; i < 8; i++)
        day[i] = -1, cum[i] = 0;
    int64_t days_seen[16];
    int n_days = 0;
    struct window_counts w = {0, 0, 0};
    ts_ns prev = INT64_MIN;
    long n = 0;
    struct feed_item it;
    struct atp_err err;
    atp_alloc_fail_after(1); /* the stream allocates nothing: any allocation would fail */
    int rc;
    while ((rc = feed_next(feed, &it, &err)) == 1) {
        const struct tick *t = &it.tick;
        const struct instrument *in = instreg_get(reg, t->instrument_id);
        cr_assert_not_null(in);
        size_t k = 0;
        while (k < n_syms && strcmp(syms[k], in->symbol) != 0)
            k++;
        cr_assert_lt(k, n_syms);
        cr_assert_eq(it.kind, FEED_TICK);
        cr_assert_geq(t->ts, prev, "time goes back at tick %ld", n);
        prev = t->ts;
        cr_assert(cal_is_open(cal, t->ts), "tick %ld outside the session", n);
        cr_assert_eq(t->ts % TS_NS_PER_MS, 0);
        cr_assert_gt(t->ltp, 0);
        cr_assert(px_is_multiple(t->ltp, in->tick_size), "%s ltp off tick", in->symbol);
        int64_t d = ts_ist_day(t->ts);
        if (n_days == 0 || days_seen[n_days - 1] != d) {
            cr_assert_lt(n_days, 16);
            days_seen[n_days++] = d;
        }
        if (in->type == INST_INDEX) {
            cr_assert_eq(t->flags, 0u, "an index has no volume or quotes");
        } else {
            cr_assert_eq(t->flags, TICK_HAS_QTY | TICK_HAS_VOLUME | TICK_HAS_BID | TICK_HAS_ASK);
            cr_assert_gt(t->qty, 0);
            cr_assert_eq(t->qty % in->lot_size, 0, "%s qty %lld not in lots", in->symbol,
                         (long long)t->qty);
            if (day[k] != d) { /* a new day starts the cumulative volume over */
                day[k] = d;
                cum[k] = 0;
            }
            cum[k] += t->qty;
            cr_assert_eq(t->cum_volume, cum[k]);
            cr_assert_gt(t->bid, 0);
            cr_assert_lt(t->bid, t->ask);
            cr_assert(px_is_multiple(t->bid, in->tick_size) && px_is_multiple(t->ask, in->tick_size));
            cr_assert(t->ltp == t->bid || t->ltp == t->ask);
            cr_assert_leq((t->ask - t->bid) / in->tick_size, 4);
        }
        ts_ns tod = t->ts - ts_ist_midnight(d);
        if (tod < CAL_OPEN_NS + 30 * TS_NS_PER_MIN)
            w.first30++;
        else if (tod >= CAL_CLOSE_NS - 30 * TS_NS_PER_MIN)
            w.last30++;
        else if (tod >= 12 * TS_NS_PER_HOUR && tod < 12 * TS_NS_PER_HOUR + 30 * TS_NS_PER_MIN)
            w.mid30++;
        n++;
    }
    atp_alloc_fail_after(0);
    cr_assert_eq(rc, 0, "%s", err.msg);
    const int64_t want_days[] = {day_of(2026, 1, 12), day_of(2026, 1, 13), day_of(2026, 1, 14),
                                 day_of(2026, 1, 16), day_of(2026, 1, 19)};
    cr_assert_eq(n_days, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(days_seen[i], want_days[i], "day %d", i);
    /* 5 symbols x 5 days x 375 min x 30/min = 281250 expected */
    cr_assert(n > 250000 && n < 310000, "%ld ticks", n);
    /* U shape: open and close windows are busier than midday (expected 1.9x and 0.41x of the mean) */
    cr_assert_gt(w.first30, 2 * w.mid30, "first %ld mid %ld", w.first30, w.mid30);
    cr_assert_gt(w.last30, 2 * w.mid30, "last %ld mid %ld", w.last30, w.mid30);
    feed_free(feed);
}

Test(sim, intensity_is_u_shaped_with_mean_one)
{
    double sum = 0;
    const int steps = 100000;
    for (int i = 0; i < steps; i++)
        sum += sim_intensity((i + 0.5) / steps);
    cr_assert_float_eq(sum / steps, 1.0, 1e-6);
    cr_assert_float_eq(sim_intensity(0.0), 2.2, 1e-9);
    cr_assert_float_eq(sim_intensity(1.0), 2.2, 1e-9);
    cr_assert_float_eq(sim_intensity(0.5), 0.4, 1e-9);
    cr_assert_gt(sim_intensity(0.1), sim_intensity(0.3));
}

Test(sim, volatility_and_volume_roughly_as_profiled)
{
    /* 60 sessions of RELIANCE (22% a year): the sd of daily close-to-close log returns and the
     * mean day volume land in broad bands around the profile (regimes and gaps widen them). */
    static const char *const one[] = {"RELIANCE"};
    struct sim_params p = params(11, day_of(2026, 2, 2), 60, one, 1, 4);
    struct feed *feed = make(&p);
    struct feed_item it;
    struct atp_err err;
    double closes[64];
    int64_t volumes[64];
    int nd = -1;
    int64_t cur_day = -1;
    while (feed_next(feed, &it, &err) == 1) {
        int64_t d = ts_ist_day(it.tick.ts);
        if (d != cur_day) {
            cur_day = d;
            nd++;
            cr_assert_lt(nd, 64);
        }
        closes[nd] = px_to_double(it.tick.ltp);
        volumes[nd] = it.tick.cum_volume;
    }
    nd++;
    cr_assert_eq(nd, 60);
    double s = 0, s2 = 0, vol = 0;
    for (int i = 1; i < nd; i++) {
        double r = log(closes[i] / closes[i - 1]);
        s += r;
        s2 += r * r;
    }
    for (int i = 0; i < nd; i++)
        vol += (double)volumes[i];
    double m = s / (nd - 1), sd = sqrt(s2 / (nd - 1) - m * m);
    double sd_profile = 0.22 / sqrt(252.0);
    cr_assert(sd > 0.5 * sd_profile && sd < 3.0 * sd_profile, "daily sd %g vs %g", sd, sd_profile);
    double mean_vol = vol / nd;
    cr_assert(mean_vol > 0.7e7 && mean_vol < 1.5e7, "mean day volume %g (profile 1e7)", mean_vol);
    cr_assert(fabs(closes[0] / 1550.0 - 1.0) < 0.2, "first close %g far from 1550", closes[0]);
    feed_free(feed);
}

Test(sim, starts_on_the_next_trading_day)
{
    /* Sat 24 Jan 2026 -> Mon 26 Jan is Republic Day -> Tue 27 Jan. */
    static const char *const one[] = {"NIFTY27JAN26000CE"};
    struct sim_params p = params(1, day_of(2026, 1, 24), 1, one, 1, 60);
    struct feed *feed = make(&p);
    ts_ns first;
    feed_time_range(feed, &first, NULL);
    cr_assert_eq(first, ts_from_ist(2026, 1, 27, 9, 15, 0));
    struct feed_item it;
    struct atp_err err;
    cr_assert_eq(feed_next(feed, &it, &err), 1);
    cr_assert_eq(ts_ist_day(it.tick.ts), day_of(2026, 1, 27));
    cr_assert_eq(it.tick.qty % 65, 0, "option lots of 65");
    /* an at-the-money option starts near 1% of its underlying (NIFTY 26000) */
    cr_assert(llabs(it.tick.ltp - PX_RUPEES(260)) < PX_RUPEES(30), "%lld", (long long)it.tick.ltp);
    feed_free(feed);
}

Test(sim, profiles_listed_derived_and_default)
{
    const char *path = tu_root_path("data/sim_profiles.csv");
    struct sim_profile prof;
    struct atp_err err;
    static const struct {
        const char *symbol;
        px_t ref;
        double vol;
        int64_t volume;
    } cases[] = {
        {"NIFTY", PX_RUPEES(26000), 0.13, 0},
        {"RELIANCE", PX_RUPEES(1550), 0.22, 10000000},
        {"NIFTY26DECFUT", PX_RUPEES(26000), 0.13, SIM_DEFAULT_DAILY_VOLUME},
        {"NIFTY27JAN26000CE", PX_RUPEES(260), 0.52, SIM_DEFAULT_DAILY_VOLUME},
        {"NIFTY27JAN25000CE", PX_RUPEES(1260), 0.52, SIM_DEFAULT_DAILY_VOLUME},
        {"NIFTY27JAN25000PE", PX_RUPEES(260), 0.52, SIM_DEFAULT_DAILY_VOLUME},
        {"BANKNIFTY26DEC56000PE", PX_RUPEES(590), 0.64, SIM_DEFAULT_DAILY_VOLUME},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct instrument *in = instreg_find(reg, cases[i].symbol);
        cr_assert_not_null(in, "%s", cases[i].symbol);
        cr_assert_eq(sim_profile_lookup(path, in, &prof, &err), ATP_OK, "%s", err.msg);
        cr_expect_eq(prof.ref_price, cases[i].ref, "%s: %lld", cases[i].symbol,
                     (long long)prof.ref_price);
        cr_expect_float_eq(prof.annual_vol, cases[i].vol, 1e-12, "%s", cases[i].symbol);
        cr_expect_eq(prof.daily_volume, cases[i].volume, "%s", cases[i].symbol);
    }
    /* not listed and no listed underlying: the defaults */
    struct instrument x;
    memset(&x, 0, sizeof x);
    snprintf(x.symbol, sizeof x.symbol, "ZZSIMTEST");
    x.lot_size = 1;
    x.tick_size = 500;
    x.expiry_day = -1;
    uint32_t id;
    cr_assert_eq(instreg_add(reg, &x, &id), ATP_OK);
    cr_assert_eq(sim_profile_lookup(path, instreg_get(reg, id), &prof, &err), ATP_OK);
    cr_assert_eq(prof.ref_price, PX_RUPEES(SIM_DEFAULT_REF_PRICE_RUPEES));
    cr_assert_float_eq(prof.annual_vol, SIM_DEFAULT_ANNUAL_VOL, 1e-12);
    cr_assert_eq(prof.daily_volume, SIM_DEFAULT_DAILY_VOLUME);
    cr_assert_eq(sim_profile_lookup(NULL, instreg_find(reg, "RELIANCE"), &prof, &err), ATP_OK);
    cr_assert_eq(prof.ref_price, PX_RUPEES(SIM_DEFAULT_REF_PRICE_RUPEES));
}

Test(sim, no_end_when_days_is_zero)
{
    static const char *const one[] = {"INFY"};
    struct sim_params p = params(1, day_of(2026, 12, 24), 0, one, 1, 600);
    struct feed *feed = make(&p);
    cr_assert_not(feed_time_range(feed, NULL, NULL));
    struct feed_item it;
    struct atp_err err;
    /* runs past the Christmas holiday and the year end */
    int64_t last_day = -1;
    for (long i = 0; i < 3 * 375 * 600; i++) {
        cr_assert_eq(feed_next(feed, &it, &err), 1);
        last_day = ts_ist_day(it.tick.ts);
        cr_assert_neq(last_day, day_of(2026, 12, 25));
    }
    cr_assert_geq(last_day, day_of(2026, 12, 28));
    feed_free(feed);
}

Test(sim, parameter_errors)
{
    static const char *const ok[] = {"INFY"};
    static const char *const unknown[] = {"INFY", "NOSUCH"};
    static const char *const dup[] = {"INFY", "RELIANCE", "INFY"};
    static const struct {
        const char *name;
        const char *const *syms;
        size_t n;
        int days;
        double rate;
        double regime;
        const char *profiles;
        int code;
        const char *field;
    } cases[] = {
        {"unknown symbol", unknown, 2, 1, 0, 0, NULL, ATP_ENOTFOUND, "symbols"},
        {"duplicate symbol", dup, 3, 1, 0, 0, NULL, ATP_EINVAL, "symbols"},
        {"no symbols", ok, 0, 1, 0, 0, NULL, ATP_EINVAL, "symbols"},
        {"negative days", ok, 1, -1, 0, 0, NULL, ATP_EINVAL, "days"},
        {"negative rate", ok, 1, 1, -5, 0, NULL, ATP_EINVAL, "ticks_per_min"},
        {"absurd rate", ok, 1, 1, 1e9, 0, NULL, ATP_EINVAL, "ticks_per_min"},
        {"nan rate", ok, 1, 1, NAN, 0, NULL, ATP_EINVAL, "ticks_per_min"},
        {"negative regime", ok, 1, 1, 0, -1, NULL, ATP_EINVAL, "regime_min"},
        {"start before 1900", ok, 1, 1, 0, 0, NULL, ATP_EINVAL, "from_day"},
        {"missing profiles", ok, 1, 1, 0, 0, "/nonexistent/profiles.csv", ATP_EIO, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t from = strstr(cases[i].name, "1900") ? day_of(1850, 1, 1) : day_of(2026, 1, 5);
        struct sim_params p = params(1, from, cases[i].days, cases[i].syms, cases[i].n,
                                     cases[i].rate);
        p.regime_min = cases[i].regime;
        p.profiles_path = cases[i].profiles;
        struct feed *feed = (struct feed *)1;
        struct atp_err err;
        atp_err_clear(&err);
        int rc = sim_new(&p, reg, cal, &feed, &err);
        cr_expect_eq(rc, cases[i].code, "%s: %d %s", cases[i].name, rc, err.msg);
        cr_expect_null(feed, "%s", cases[i].name);
        if (cases[i].field)
            cr_expect_str_eq(err.field, cases[i].field, "%s", cases[i].name);
    }
}

Test(sim, bad_profiles_file_names_line_and_field)
{
    static const struct {
        const char *text;
        long line;
        const char *field;
    } cases[] = {
        {"symbol,ref_price,annual_vol\nINFY,1,0.2\n", 1, "daily_volume"},
        {"symbol,ref_price,annual_vol,daily_volume\nINFY,0,0.2,1\n", 2, "ref_price"},
        {"symbol,ref_price,annual_vol,daily_volume\nINFY,1,abc,1\n", 2, "annual_vol"},
        {"symbol,ref_price,annual_vol,daily_volume\nINFY,1,0.2,1\nTCS,1,4,1\n", 3, "annual_vol"},
        {"symbol,ref_price,annual_vol,daily_volume\nINFY,1,0.2,-1\n", 2, "daily_volume"},
        {"symbol,ref_price,annual_vol,daily_volume\n,1,0.2,1\n", 2, "symbol"},
    };
    static const char *const ok[] = {"INFY"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[] = "/tmp/atp_prof_XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fputs(cases[i].text, f);
        fclose(f);
        struct sim_params p = params(1, day_of(2026, 1, 5), 1, ok, 1, 0);
        p.profiles_path = path;
        struct feed *feed;
        struct atp_err err;
        int rc = sim_new(&p, reg, cal, &feed, &err);
        unlink(path);
        cr_expect_lt(rc, 0, "case %zu", i);
        cr_expect_str_eq(err.file, path, "case %zu", i);
        cr_expect_eq(err.line, cases[i].line, "case %zu: %ld", i, err.line);
        cr_expect_str_eq(err.field, cases[i].field, "case %zu: %s", i, err.msg);
    }
}
