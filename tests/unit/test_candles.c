/* Candle aggregation: alignment, completion, late data, volume, bar feeding, and property tests
 * over random tick streams (OHLC invariants, volume conserved, every tick in exactly one bar,
 * completion exactly once). */
#include <criterion/criterion.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cal.h"
#include "core/rng.h"
#include "md/candles.h"
#include "md/engine.h"

#define IST(y, mo, d, h, mi, s) ts_from_ist(y, mo, d, h, mi, s)
#define MON IST(2026, 1, 5, 0, 0, 0) /* Monday 5 Jan 2026, a trading day */

/* ---- alignment ---------------------------------------------------------------------------- */

struct period_case {
    enum tf tf;
    int h, m, s;           /* IST time on 2026-01-05 */
    int sh, sm, eh, em;    /* expected period start and end */
};

static const struct period_case periods[] = {
    {TF_1M, 9, 15, 0, 9, 15, 9, 16},   {TF_1M, 9, 15, 59, 9, 15, 9, 16},
    {TF_1M, 15, 29, 59, 15, 29, 15, 30}, {TF_3M, 9, 17, 59, 9, 15, 9, 18},
    {TF_3M, 15, 28, 0, 15, 27, 15, 30}, {TF_5M, 9, 19, 59, 9, 15, 9, 20},
    {TF_5M, 9, 20, 0, 9, 20, 9, 25},   {TF_15M, 9, 59, 59, 9, 45, 10, 0},
    {TF_15M, 10, 0, 1, 10, 0, 10, 15}, {TF_30M, 15, 20, 0, 15, 15, 15, 30},
    {TF_30M, 9, 44, 59, 9, 15, 9, 45}, {TF_1H, 10, 14, 59, 9, 15, 10, 15},
    {TF_1H, 10, 15, 0, 10, 15, 11, 15}, {TF_1H, 15, 15, 0, 15, 15, 15, 30},
    {TF_1H, 15, 29, 0, 15, 15, 15, 30}, {TF_1D, 9, 15, 0, 9, 15, 15, 30},
    {TF_1D, 15, 29, 59, 9, 15, 15, 30},
};

Test(candles, period_alignment_follows_the_nse_session)
{
    for (size_t i = 0; i < sizeof periods / sizeof periods[0]; i++) {
        const struct period_case *c = &periods[i];
        ts_ns start, end;
        candles_period(c->tf, IST(2026, 1, 5, c->h, c->m, c->s), &start, &end);
        cr_assert_eq(start, IST(2026, 1, 5, c->sh, c->sm, 0), "case %zu (%s %02d:%02d:%02d) start", i,
                     tf_name(c->tf), c->h, c->m, c->s);
        cr_assert_eq(end, IST(2026, 1, 5, c->eh, c->em, 0), "case %zu (%s) end", i, tf_name(c->tf));
    }
}

Test(candles, hourly_bars_of_a_day_are_seven_with_a_short_last_one)
{
    ts_ns t = IST(2026, 1, 5, 9, 15, 0), start, end, prev_end = t;
    int n = 0;
    while (t < IST(2026, 1, 5, 15, 30, 0)) {
        candles_period(TF_1H, t, &start, &end);
        cr_assert_eq(start, prev_end);
        prev_end = end;
        t = end;
        n++;
    }
    cr_assert_eq(n, 7);
    cr_assert_eq(prev_end, IST(2026, 1, 5, 15, 30, 0));
}

/* ---- engine scenarios ----------------------------------------------------------------------- */

#define MAX_EVENTS 200000
struct recorded {
    uint32_t inst;
    enum tf tf;
    struct bar bar;
    int complete;
};

struct recorder {
    struct recorded *ev;
    size_t n;
};

static void record(void *ctx, uint32_t inst, enum tf tf, const struct bar *bar, int complete)
{
    struct recorder *r = ctx;
    if (r->n < MAX_EVENTS)
        r->ev[r->n++] = (struct recorded){inst, tf, *bar, complete};
}

static struct cal *cal;
static struct md_engine *eng;
static struct recorder rec;

static void setup(void)
{
    cal = cal_new();
    cr_assert_not_null(cal);
    cr_assert_eq(cal_add_holiday(cal, ts_ist_day(IST(2026, 1, 26, 12, 0, 0))), ATP_OK);
    struct md_config cfg = {.cal = cal, .n_instruments = 8, .tf_mask = 0};
    cr_assert_eq(md_engine_new(&cfg, &eng), ATP_OK);
    rec.ev = atp_calloc(MAX_EVENTS, sizeof *rec.ev);
    rec.n = 0;
    struct md_handlers h = {.ctx = &rec, .on_bar = record};
    md_engine_set_handlers(eng, &h);
}

static void teardown(void)
{
    md_engine_free(eng);
    cal_free(cal);
    atp_free(rec.ev);
}

static struct tick mk(uint32_t inst, ts_ns ts, const char *price, int64_t qty)
{
    struct tick t = {.instrument_id = inst, .ts = ts, .flags = TICK_HAS_QTY, .qty = qty};
    cr_assert_eq(px_parse(price, strlen(price), &t.ltp, NULL), ATP_OK);
    return t;
}

static size_t count_complete(uint32_t inst, enum tf tf)
{
    size_t n = 0;
    for (size_t i = 0; i < rec.n; i++)
        n += rec.ev[i].complete && rec.ev[i].inst == inst && rec.ev[i].tf == tf;
    return n;
}

static const struct recorded *nth_complete(uint32_t inst, enum tf tf, size_t k)
{
    for (size_t i = 0; i < rec.n; i++)
        if (rec.ev[i].complete && rec.ev[i].inst == inst && rec.ev[i].tf == tf && k-- == 0)
            return &rec.ev[i];
    return NULL;
}

Test(engine, ohlcv_of_a_minute_and_completion_on_next_period, .init = setup, .fini = teardown)
{
    struct tick ticks[] = {
        mk(0, IST(2026, 1, 5, 9, 15, 1), "2450.00", 10), mk(0, IST(2026, 1, 5, 9, 15, 20), "2455.50", 5),
        mk(0, IST(2026, 1, 5, 9, 15, 40), "2448.05", 7), mk(0, IST(2026, 1, 5, 9, 15, 59), "2451.00", 3),
    };
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(md_engine_on_tick(eng, &ticks[i]), MD_TICK_ACCEPTED);
    cr_assert_eq(count_complete(0, TF_1M), 0, "no bar completes before its period ends");
    /* Every accepted tick emitted one forming update per timeframe. */
    cr_assert_eq(rec.n, 4 * TF_COUNT);
    struct tick next = mk(0, IST(2026, 1, 5, 9, 16, 0), "2452.00", 1);
    cr_assert_eq(md_engine_on_tick(eng, &next), MD_TICK_ACCEPTED);
    cr_assert_eq(count_complete(0, TF_1M), 1);
    const struct bar *b = &nth_complete(0, TF_1M, 0)->bar;
    cr_assert_eq(b->start, IST(2026, 1, 5, 9, 15, 0));
    cr_assert_eq(b->open, 24500000);
    cr_assert_eq(b->high, 24555000);
    cr_assert_eq(b->low, 24480500);
    cr_assert_eq(b->close, 24510000);
    cr_assert_eq(b->volume, 25);
    cr_assert_eq(b->ticks, 4);
    cr_assert_eq(count_complete(0, TF_5M), 0);
    const struct candle_series *s = md_engine_series(eng, 0, TF_5M);
    cr_assert_eq(s->forming.volume, 26);
    cr_assert_eq(s->forming.high, 24555000);
}

Test(engine, a_quiet_instrument_completes_on_the_timer, .init = setup, .fini = teardown)
{
    struct tick t = mk(1, IST(2026, 1, 5, 9, 17, 30), "100.00", 1);
    md_engine_on_tick(eng, &t);
    md_engine_advance(eng, IST(2026, 1, 5, 9, 17, 59));
    cr_assert_eq(count_complete(1, TF_1M), 0);
    md_engine_advance(eng, IST(2026, 1, 5, 9, 18, 0));
    cr_assert_eq(count_complete(1, TF_1M), 1, "completes exactly at the period end");
    cr_assert_eq(count_complete(1, TF_3M), 1, "09:15-09:18 3m bar also ends at 09:18");
    md_engine_advance(eng, IST(2026, 1, 5, 9, 30, 0));
    cr_assert_eq(count_complete(1, TF_1M), 1, "empty periods produce no bar");
    cr_assert_eq(count_complete(1, TF_5M), 1);
    cr_assert_eq(count_complete(1, TF_15M), 1);
    md_engine_advance(eng, IST(2026, 1, 5, 15, 30, 0));
    cr_assert_eq(count_complete(1, TF_1D), 1);
    cr_assert_eq(nth_complete(1, TF_1D, 0)->bar.start, IST(2026, 1, 5, 9, 15, 0));
    md_engine_advance(eng, IST(2026, 1, 6, 15, 30, 0));
    cr_assert_eq(count_complete(1, TF_1D), 1, "completion exactly once");
}

Test(engine, late_ticks_are_counted_and_never_touch_a_bar, .init = setup, .fini = teardown)
{
    struct tick a = mk(2, IST(2026, 1, 5, 9, 20, 0), "500.00", 1);
    struct tick b = mk(2, IST(2026, 1, 5, 9, 21, 5), "505.00", 1);
    struct tick late = mk(2, IST(2026, 1, 5, 9, 20, 30), "900.00", 100);
    md_engine_on_tick(eng, &a);
    md_engine_on_tick(eng, &b);
    cr_assert_eq(md_engine_on_tick(eng, &late), MD_TICK_LATE);
    struct md_stats st;
    md_engine_stats(eng, &st);
    cr_assert_eq(st.late, 1);
    const struct bar *done = &nth_complete(2, TF_1M, 0)->bar;
    cr_assert_eq(done->high, 5000000);
    cr_assert_eq(done->volume, 1);
    const struct candle_series *s5 = md_engine_series(eng, 2, TF_5M);
    cr_assert_eq(s5->forming.high, 5050000, "the 5m bar did not take the late print either");
    cr_assert_eq(s5->forming.volume, 2);
}

Test(engine, off_session_and_preopen, .init = setup, .fini = teardown)
{
    struct tick sat = mk(0, IST(2026, 1, 3, 10, 0, 0), "10", 1);
    struct tick holiday = mk(0, IST(2026, 1, 26, 10, 0, 0), "10", 1);
    struct tick evening = mk(0, IST(2026, 1, 5, 15, 30, 0), "10", 1);
    struct tick early = mk(0, IST(2026, 1, 5, 8, 59, 59), "10", 1);
    cr_assert_eq(md_engine_on_tick(eng, &sat), MD_TICK_OFF_SESSION);
    cr_assert_eq(md_engine_on_tick(eng, &holiday), MD_TICK_OFF_SESSION);
    cr_assert_eq(md_engine_on_tick(eng, &evening), MD_TICK_OFF_SESSION);
    cr_assert_eq(md_engine_on_tick(eng, &early), MD_TICK_OFF_SESSION);
    struct tick pre = mk(0, IST(2026, 1, 5, 9, 8, 0), "99.50", 40);
    struct tick open = mk(0, IST(2026, 1, 5, 9, 15, 2), "100.00", 2);
    cr_assert_eq(md_engine_on_tick(eng, &pre), MD_TICK_ACCEPTED);
    cr_assert_eq(md_engine_on_tick(eng, &open), MD_TICK_ACCEPTED);
    const struct candle_series *s = md_engine_series(eng, 0, TF_1M);
    cr_assert_eq(s->forming.start, IST(2026, 1, 5, 9, 15, 0));
    cr_assert_eq(s->forming.open, 995000, "the pre-open print opens the first bar");
    cr_assert_eq(s->forming.volume, 42);
    struct tick bad = mk(9 - 1, IST(2026, 1, 5, 9, 20, 0), "1", 1);
    bad.ltp = 0;
    cr_assert_eq(md_engine_on_tick(eng, &bad), MD_TICK_BAD);
}

Test(engine, volume_from_cumulative_day_volume, .init = setup, .fini = teardown)
{
    int64_t cums[] = {1000, 1250, 1250, 1400, 1300 /* goes back: adds 0 */, 1350};
    for (int i = 0; i < 6; i++) {
        struct tick t = mk(3, IST(2026, 1, 5, 9, 15, i), "50", 0);
        t.flags = TICK_HAS_VOLUME | TICK_HAS_QTY;
        t.qty = 999; /* ignored: cumulative volume wins when present */
        t.cum_volume = cums[i];
        md_engine_on_tick(eng, &t);
    }
    cr_assert_eq(md_engine_series(eng, 3, TF_1M)->forming.volume, 1000 + 250 + 0 + 150 + 0 + 50);
    struct tick next_day = mk(3, IST(2026, 1, 6, 9, 15, 0), "50", 0);
    next_day.flags = TICK_HAS_VOLUME;
    next_day.cum_volume = 77; /* a new day: the first figure counts whole */
    md_engine_on_tick(eng, &next_day);
    cr_assert_eq(md_engine_series(eng, 3, TF_1M)->forming.volume, 77);
    cr_assert_eq(nth_complete(3, TF_1D, 0)->bar.volume, 1450);
}

Test(engine, ring_keeps_the_last_500_complete_bars, .init = setup, .fini = teardown)
{
    /* 375 one-minute bars a day: two days give 750 bars; the ring keeps the newest 500. */
    for (int d = 5; d <= 6; d++)
        for (int m = 0; m < 375; m++) {
            struct tick t = mk(4, IST(2026, 1, d, 9, 15, 0) + m * TS_NS_PER_MIN, "10", 1);
            t.ltp += m;
            cr_assert_eq(md_engine_on_tick(eng, &t), MD_TICK_ACCEPTED);
        }
    md_engine_flush(eng);
    const struct candle_series *s = md_engine_series(eng, 4, TF_1M);
    cr_assert_eq(s->count, CANDLES_KEEP);
    cr_assert_eq(s->completed, 750);
    cr_assert_eq(candles_get(s, 0)->start, IST(2026, 1, 6, 15, 29, 0));
    cr_assert_eq(candles_get(s, 499)->start, IST(2026, 1, 5, 13, 25, 0), "bar 250 of 750");
    cr_assert_null(candles_get(s, 500));
    cr_assert_eq(md_engine_series(eng, 4, TF_1D)->count, 2);
}

Test(engine, one_minute_bars_fold_into_coarser_timeframes, .init = setup, .fini = teardown)
{
    /* Ten 1m bars 09:15..09:24: two 5m bars, 09:15 completes when the 09:19 bar arrives. */
    for (int m = 0; m < 10; m++) {
        struct bar b = {.start = IST(2026, 1, 5, 9, 15 + m, 0), .open = PX_RUPEES(100 + m),
                        .high = PX_RUPEES(102 + m), .low = PX_RUPEES(99 + m),
                        .close = PX_RUPEES(101 + m), .volume = 10 + m, .oi = -1, .ticks = 1};
        cr_assert_eq(md_engine_on_bar(eng, 5, TF_1M, &b), 0);
        if (m == 4) {
            cr_assert_eq(count_complete(5, TF_5M), 1, "5m bar completes with its last minute");
            const struct bar *five = &nth_complete(5, TF_5M, 0)->bar;
            cr_assert_eq(five->start, IST(2026, 1, 5, 9, 15, 0));
            cr_assert_eq(five->open, PX_RUPEES(100));
            cr_assert_eq(five->high, PX_RUPEES(106));
            cr_assert_eq(five->low, PX_RUPEES(99));
            cr_assert_eq(five->close, PX_RUPEES(105));
            cr_assert_eq(five->volume, 10 + 11 + 12 + 13 + 14);
            cr_assert_eq(five->ticks, 5);
        }
    }
    cr_assert_eq(count_complete(5, TF_1M), 10, "source bars complete on arrival");
    cr_assert_eq(count_complete(5, TF_5M), 2);
    cr_assert_eq(count_complete(5, TF_3M), 3, "09:15, 09:18, 09:21 complete; 09:24 still forming");
    cr_assert_eq(count_complete(5, TF_15M), 0);
    struct bar old = {.start = IST(2026, 1, 5, 9, 16, 0), .open = 1, .high = 1, .low = 1, .close = 1};
    cr_assert_eq(md_engine_on_bar(eng, 5, TF_1M, &old), 1, "a bar older than the data is late");
    md_engine_flush(eng);
    const struct bar *day = &nth_complete(5, TF_1D, 0)->bar;
    cr_assert_eq(day->volume, 10 * 10 + 45);
    cr_assert_eq(day->high, PX_RUPEES(111));
}

Test(engine, daily_file_bars_of_any_market)
{
    struct cal *c = cal_new();
    struct md_engine *e;
    struct md_config cfg = {.cal = c, .n_instruments = 1, .tf_mask = 1u << TF_1D};
    cr_assert_eq(md_engine_new(&cfg, &e), ATP_OK);
    /* Saturdays and US holidays are fine for bars: they are taken as given. */
    for (int d = 1; d <= 10; d++) {
        struct bar b = {.start = IST(2026, 8, d, 9, 15, 0), .open = PX_RUPEES(10), .high = PX_RUPEES(12),
                        .low = PX_RUPEES(9), .close = PX_RUPEES(11), .volume = d, .oi = -1};
        cr_assert_eq(md_engine_on_bar(e, 0, TF_1D, &b), 0);
    }
    const struct candle_series *s = md_engine_series(e, 0, TF_1D);
    cr_assert_eq(s->count, 10);
    cr_assert_eq(candles_get(s, 0)->volume, 10);
    cr_assert_null(md_engine_series(e, 0, TF_1M), "timeframes outside the mask are not built");
    md_engine_free(e);
    cal_free(c);
}

/* ---- property tests ------------------------------------------------------------------------- */

/* Random streams over three trading days for four instruments: bursts, gaps (some minutes and
 * whole hours empty), late prints, off-session prints, a mix of qty and cumulative volume. */
Test(engine_property, invariants_hold_on_random_streams, .init = setup, .fini = teardown)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        md_engine_free(eng);
        struct md_config cfg = {.cal = cal, .n_instruments = 4};
        cr_assert_eq(md_engine_new(&cfg, &eng), ATP_OK);
        struct md_handlers h = {.ctx = &rec, .on_bar = record};
        md_engine_set_handlers(eng, &h);
        rec.n = 0;

        struct rng r;
        rng_seed(&r, seed);
        int64_t accepted_vol[4] = {0}, accepted_ticks[4] = {0};
        ts_ns t = IST(2026, 1, 7, 8, 55, 0);
        ts_ns last_ts[4] = {0};
        px_t price[4] = {PX_RUPEES(100), PX_RUPEES(2500), PX_RUPEES(45), PX_RUPEES(800)};
        for (int i = 0; i < 20000; i++) {
            uint64_t roll = rng_below(&r, 1000);
            if (roll < 5)
                t += TS_NS_PER_HOUR; /* a quiet hour, sometimes across the close */
            else
                t += (ts_ns)rng_below(&r, 3 * TS_NS_PER_SEC);
            uint32_t inst = (uint32_t)rng_below(&r, 4);
            price[inst] += (px_t)rng_below(&r, 2001) - 1000;
            if (price[inst] < PX_RUPEES(1))
                price[inst] = PX_RUPEES(1);
            struct tick tk = {.instrument_id = inst, .ts = t, .ltp = price[inst],
                              .flags = TICK_HAS_QTY, .qty = 1 + (int64_t)rng_below(&r, 50)};
            if (roll >= 990 && last_ts[inst])
                tk.ts = last_ts[inst] - (ts_ns)rng_below(&r, 5 * TS_NS_PER_MIN) - TS_NS_PER_MIN; /* late */
            size_t before = rec.n;
            int res = md_engine_on_tick(eng, &tk);
            cr_assert_geq(res, 0);
            if (res == MD_TICK_ACCEPTED) {
                accepted_vol[inst] += tk.qty;
                accepted_ticks[inst]++;
                last_ts[inst] = tk.ts;
                size_t forming_now = 0;
                for (size_t k = before; k < rec.n; k++)
                    forming_now += !rec.ev[k].complete;
                cr_assert_eq(forming_now, TF_COUNT, "one forming update per timeframe per tick");
            } else {
                for (size_t k = before; k < rec.n; k++)
                    cr_assert(rec.ev[k].complete, "a dropped tick emits no forming update");
            }
            if (t > IST(2026, 1, 9, 15, 40, 0))
                break;
        }
        md_engine_flush(eng);
        struct md_stats st;
        md_engine_stats(eng, &st);
        cr_assert_eq(st.accepted + st.late + st.off_session + st.bad, st.ticks);
        cr_assert_gt(st.late, 0, "the stream exercised late ticks");
        cr_assert_gt(st.off_session, 0, "the stream exercised off-session ticks");

        for (uint32_t inst = 0; inst < 4; inst++) {
            for (int tf = 0; tf < TF_COUNT; tf++) {
                int64_t vol = 0, ticks = 0;
                ts_ns prev_start = INT64_MIN;
                for (size_t k = 0; k < rec.n; k++) {
                    const struct recorded *ev = &rec.ev[k];
                    if (!ev->complete || ev->inst != inst || ev->tf != (enum tf)tf)
                        continue;
                    cr_assert(bar_is_valid(&ev->bar), "OHLC invariant (seed %llu)",
                              (unsigned long long)seed);
                    cr_assert_gt(ev->bar.start, prev_start, "each bar completes once, in order");
                    ts_ns s, e;
                    candles_period((enum tf)tf, ev->bar.start, &s, &e);
                    cr_assert_eq(s, ev->bar.start, "bars are labelled with their period start");
                    prev_start = ev->bar.start;
                    vol += ev->bar.volume;
                    ticks += ev->bar.ticks;
                }
                cr_assert_eq(vol, accepted_vol[inst], "volume conserved (inst %u tf %s)", inst,
                             tf_name((enum tf)tf));
                cr_assert_eq(ticks, accepted_ticks[inst], "every tick in exactly one bar");
            }
        }
    }
}
