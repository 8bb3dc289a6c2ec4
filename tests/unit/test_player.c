/* Tests of md/feed/player with a fake wall clock (explicit wall times, no sleeping): pacing at a
 * speed, pause/resume, seek forward and back, speed changes, as-fast-as-possible, progress, gap
 * skipping, feed errors, and a real replay underneath. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "md/feed/player.h"
#include "md/feed/replay.h"
#include "testutil.h"

/* ---- a fake feed over a list of times ---- */

struct fake_feed {
    struct feed base;
    const ts_ns *times;
    int n, i;
    int fail_at; /* index whose next() fails, -1 never */
    int rewinds;
};

static int fake_next(struct feed *feed, struct feed_item *item, struct atp_err *err)
{
    struct fake_feed *f = (struct fake_feed *)feed;
    if (f->i == f->fail_at)
        return atp_err_set(err, ATP_EPARSE, "fake.csv", f->i + 2, "ltp", "broken");
    if (f->i == f->n)
        return 0;
    memset(item, 0, sizeof *item);
    item->kind = FEED_TICK;
    item->tick.ts = f->times[f->i];
    item->tick.ltp = PX_RUPEES(f->i + 1); /* the item's number, 1-based */
    f->i++;
    return 1;
}

static int fake_rewind(struct feed *feed, struct atp_err *err)
{
    (void)err;
    struct fake_feed *f = (struct fake_feed *)feed;
    f->i = 0;
    f->rewinds++;
    return ATP_OK;
}

static void fake_destroy(struct feed *feed)
{
    (void)feed;
}

static const struct feed_ops fake_ops = {fake_next, fake_rewind, fake_destroy};

static void fake_init(struct fake_feed *f, const ts_ns *times, int n)
{
    memset(f, 0, sizeof *f);
    f->base.ops = &fake_ops;
    f->base.first_ts = n ? times[0] : FEED_TS_UNKNOWN;
    f->base.last_ts = n ? times[n - 1] : FEED_TS_UNKNOWN;
    f->times = times;
    f->n = n;
    f->fail_at = -1;
}

#define T0 ((ts_ns)1767584700 * TS_NS_PER_SEC) /* 2026-01-05 09:15 IST */
#define SEC TS_NS_PER_SEC
#define W0 ((ts_ns)1000 * SEC) /* an arbitrary monotonic wall clock origin */

static long live_at_start;
static void setup(void)
{
    live_at_start = atp_alloc_live();
}
static void teardown(void)
{
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak");
}
TestSuite(player, .init = setup, .fini = teardown);

static struct player *make(struct fake_feed *f, double speed)
{
    struct player *p;
    struct atp_err err;
    cr_assert_eq(player_new(&f->base, speed, &p, &err), ATP_OK, "%s", err.msg);
    return p;
}

/* One step; returns the status, the item's number (ltp in rupees) through *num, wait through *w. */
static int step(struct player *p, ts_ns wall, int *num, ts_ns *w)
{
    struct feed_item it;
    struct atp_err err;
    ts_ns wait = -1;
    int rc = player_next_due(p, wall, &it, &wait, &err);
    if (num)
        *num = rc == PLAYER_ITEM ? (int)(it.tick.ltp / PX_SCALE) : 0;
    if (w)
        *w = wait;
    return rc;
}

static const ts_ns minute_times[] = {T0, T0 + 60 * SEC, T0 + 120 * SEC, T0 + 180 * SEC};

Test(player, t0_is_the_open)
{
    cr_assert_eq(T0, ts_from_ist(2026, 1, 5, 9, 15, 0));
}

Test(player, ten_x_releases_a_minute_after_six_seconds)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    struct player *p = make(&f, 10);
    int num;
    ts_ns w;
    cr_assert_eq(step(p, W0, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 1, "the first item is due at once");
    cr_assert_eq(step(p, W0, &num, &w), PLAYER_WAIT);
    cr_assert_eq(w, 6 * SEC);
    cr_assert_eq(step(p, W0 + 6 * SEC - 1, &num, &w), PLAYER_WAIT);
    cr_assert_eq(w, 1);
    cr_assert_eq(step(p, W0 + 6 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 2);
    cr_assert_eq(player_market_time(p, W0 + 9 * SEC), T0 + 90 * SEC);
    /* a late caller gets every due item at once */
    cr_assert_eq(step(p, W0 + 30 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 3);
    cr_assert_eq(step(p, W0 + 30 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 4);
    cr_assert_eq(step(p, W0 + 30 * SEC, &num, &w), PLAYER_END);
    cr_assert_eq(step(p, W0 + 31 * SEC, &num, &w), PLAYER_END);
    cr_assert_float_eq(player_progress(p, W0 + 31 * SEC), 1.0, 1e-12);
    cr_assert_eq(player_market_time(p, W0 + 99 * SEC), T0 + 180 * SEC);
    player_free(p);
}

Test(player, pacing_table)
{
    /* (speed, market gap) -> expected wall wait */
    static const struct {
        double speed;
        ts_ns gap, wait;
    } cases[] = {
        {1, 60 * SEC, 60 * SEC},   {0.5, 60 * SEC, 120 * SEC}, {2, 1 * SEC, 500000000},
        {100, 60 * SEC, 600000000}, {3, 1 * SEC, 333333334},   {7.5, 15 * SEC, 2 * SEC},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ts_ns times[2] = {T0, T0 + cases[i].gap};
        struct fake_feed f;
        fake_init(&f, times, 2);
        struct player *p = make(&f, cases[i].speed);
        int num;
        ts_ns w;
        cr_assert_eq(step(p, W0, &num, &w), PLAYER_ITEM);
        cr_assert_eq(step(p, W0, &num, &w), PLAYER_WAIT);
        cr_expect_eq(w, cases[i].wait, "case %zu: %lld", i, (long long)w);
        /* waiting exactly as told makes the item due */
        cr_expect_eq(step(p, W0 + w, &num, NULL), PLAYER_ITEM, "case %zu", i);
        player_free(p);
    }
}

Test(player, pause_holds_and_resume_continues)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    struct player *p = make(&f, 10);
    int num;
    ts_ns w;
    cr_assert_eq(step(p, W0, &num, &w), PLAYER_ITEM);
    player_pause(p, W0 + 1 * SEC); /* market T0+10s */
    cr_assert(player_is_paused(p));
    cr_assert_eq(step(p, W0 + 100 * SEC, &num, &w), PLAYER_PAUSED);
    cr_assert_eq(player_market_time(p, W0 + 100 * SEC), T0 + 10 * SEC, "time is frozen");
    player_pause(p, W0 + 150 * SEC); /* idempotent */
    player_resume(p, W0 + 200 * SEC);
    cr_assert_not(player_is_paused(p));
    cr_assert_eq(step(p, W0 + 200 * SEC, &num, &w), PLAYER_WAIT);
    cr_assert_eq(w, 5 * SEC, "the 50 s of market time left, at 10x");
    cr_assert_eq(step(p, W0 + 205 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 2);
    player_free(p);
}

Test(player, pause_before_start)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    struct player *p = make(&f, 1);
    player_pause(p, W0);
    int num;
    cr_assert_eq(step(p, W0 + SEC, &num, NULL), PLAYER_PAUSED);
    player_resume(p, W0 + 2 * SEC);
    cr_assert_eq(step(p, W0 + 2 * SEC, &num, NULL), PLAYER_ITEM);
    cr_assert_eq(num, 1);
    player_free(p);
}

Test(player, seek_forward_and_backward)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    struct player *p = make(&f, 10);
    struct atp_err err;
    int num;
    ts_ns w;
    cr_assert_eq(step(p, W0, &num, &w), PLAYER_ITEM);

    /* forward to T0+100s: item 2 (T0+60s) is skipped, item 3 comes 20 s of market time later */
    cr_assert_eq(player_seek(p, T0 + 100 * SEC, W0 + SEC, &err), ATP_OK);
    cr_assert_eq(player_market_time(p, W0 + SEC), T0 + 100 * SEC);
    cr_assert_eq(step(p, W0 + SEC, &num, &w), PLAYER_WAIT);
    cr_assert_eq(w, 2 * SEC);
    cr_assert_eq(step(p, W0 + 3 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 3);
    cr_assert_eq(f.rewinds, 0, "forward seeks do not rewind");

    /* backward to exactly item 2's time: rewound, item 2 due at once */
    cr_assert_eq(player_seek(p, T0 + 60 * SEC, W0 + 4 * SEC, &err), ATP_OK);
    cr_assert_eq(f.rewinds, 1);
    cr_assert_eq(step(p, W0 + 4 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 2);
    cr_assert_eq(step(p, W0 + 4 * SEC, &num, &w), PLAYER_WAIT);
    cr_assert_eq(w, 6 * SEC);

    /* to the start, and past the end */
    cr_assert_eq(player_seek(p, T0 - 3600 * SEC, W0 + 5 * SEC, &err), ATP_OK);
    cr_assert_eq(step(p, W0 + 5 * SEC, &num, &w), PLAYER_WAIT, "an hour before the first item");
    cr_assert_eq(w, 360 * SEC);
    cr_assert_eq(player_seek(p, T0 + 3600 * SEC, W0 + 6 * SEC, &err), ATP_OK);
    cr_assert_eq(step(p, W0 + 6 * SEC, &num, &w), PLAYER_END);
    /* a seek back from the end replays */
    cr_assert_eq(player_seek(p, T0 + 180 * SEC, W0 + 7 * SEC, &err), ATP_OK);
    cr_assert_eq(step(p, W0 + 7 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 4);
    player_free(p);
}

Test(player, seek_while_paused_stays_paused)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    struct player *p = make(&f, 10);
    struct atp_err err;
    int num;
    cr_assert_eq(step(p, W0, &num, NULL), PLAYER_ITEM);
    player_pause(p, W0);
    cr_assert_eq(player_seek(p, T0 + 120 * SEC, W0 + SEC, &err), ATP_OK);
    cr_assert_eq(step(p, W0 + 50 * SEC, &num, NULL), PLAYER_PAUSED);
    cr_assert_eq(player_market_time(p, W0 + 50 * SEC), T0 + 120 * SEC);
    player_resume(p, W0 + 60 * SEC);
    cr_assert_eq(step(p, W0 + 60 * SEC, &num, NULL), PLAYER_ITEM);
    cr_assert_eq(num, 3);
    player_free(p);
}

Test(player, speed_change_mid_run)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    struct player *p = make(&f, 10);
    struct atp_err err;
    int num;
    ts_ns w;
    cr_assert_eq(step(p, W0, &num, &w), PLAYER_ITEM);
    /* 3 s at 10x = 30 s of market time; the other 30 s at 1x take 30 s */
    cr_assert_eq(player_set_speed(p, 1, W0 + 3 * SEC, &err), ATP_OK);
    cr_assert_float_eq(player_speed(p), 1.0, 0);
    cr_assert_eq(player_market_time(p, W0 + 3 * SEC), T0 + 30 * SEC, "no jump");
    cr_assert_eq(step(p, W0 + 3 * SEC, &num, &w), PLAYER_WAIT);
    cr_assert_eq(w, 30 * SEC);
    /* now 100x: the remaining 20 s take 0.2 s */
    cr_assert_eq(player_set_speed(p, 100, W0 + 13 * SEC, &err), ATP_OK);
    cr_assert_eq(step(p, W0 + 13 * SEC, &num, &w), PLAYER_WAIT);
    cr_assert_eq(w, 200000000);
    cr_assert_eq(step(p, W0 + 13 * SEC + w, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 2);
    /* then as fast as possible */
    cr_assert_eq(player_set_speed(p, 0, W0 + 14 * SEC, &err), ATP_OK);
    cr_assert_eq(step(p, W0 + 14 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(step(p, W0 + 14 * SEC, &num, &w), PLAYER_ITEM);
    cr_assert_eq(num, 4);
    player_free(p);
}

Test(player, bad_speeds_refused)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    const double bad[] = {-1, 0.4, 100.5, 1e9, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct player *p = (struct player *)1;
        struct atp_err err;
        cr_expect_eq(player_new(&f.base, bad[i], &p, &err), ATP_EINVAL, "speed %g", bad[i]);
        cr_expect_null(p);
        cr_expect_str_eq(err.field, "speed");
    }
    struct player *p = make(&f, 1);
    struct atp_err err;
    cr_assert_eq(player_set_speed(p, 0.1, W0, &err), ATP_EINVAL);
    cr_assert_float_eq(player_speed(p), 1.0, 0, "unchanged");
    cr_assert_eq(player_set_speed(p, 0.5, W0, &err), ATP_OK);
    cr_assert_eq(player_set_speed(p, 100, W0, &err), ATP_OK);
    player_free(p);
}

Test(player, as_fast_as_possible)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    struct player *p = make(&f, 0);
    int num;
    for (int i = 1; i <= 4; i++) {
        cr_assert_eq(step(p, W0, &num, NULL), PLAYER_ITEM);
        cr_assert_eq(num, i);
        cr_assert_eq(player_market_time(p, W0), minute_times[i - 1]);
    }
    cr_assert_eq(step(p, W0, &num, NULL), PLAYER_END);
    player_free(p);
}

Test(player, progress_over_the_time_range)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    struct player *p = make(&f, 10);
    int num;
    cr_assert_float_eq(player_progress(p, W0), 0.0, 1e-12);
    cr_assert_eq(player_market_time(p, W0), T0, "before the start: the first item's time");
    cr_assert_eq(step(p, W0, &num, NULL), PLAYER_ITEM);
    cr_assert_float_eq(player_progress(p, W0 + 3 * SEC), 30.0 / 180.0, 1e-12);
    cr_assert_eq(step(p, W0 + 6 * SEC, &num, NULL), PLAYER_ITEM);
    cr_assert_float_eq(player_progress(p, W0 + 9 * SEC), 0.5, 1e-12);
    /* a clock far ahead is capped at the next pending item */
    cr_assert_float_eq(player_progress(p, W0 + 100 * SEC), 120.0 / 180.0, 1e-12);
    player_free(p);

    /* unknown range: 0 until the end */
    struct fake_feed g;
    fake_init(&g, minute_times, 1);
    g.base.last_ts = FEED_TS_UNKNOWN;
    p = make(&g, 1);
    cr_assert_float_eq(player_progress(p, W0), 0.0, 1e-12);
    cr_assert_eq(step(p, W0, &num, NULL), PLAYER_ITEM);
    cr_assert_eq(step(p, W0, &num, NULL), PLAYER_END);
    cr_assert_float_eq(player_progress(p, W0), 1.0, 1e-12);
    player_free(p);
}

Test(player, max_gap_skips_nights)
{
    static const ts_ns times[] = {T0 + 6 * 3600 * SEC, T0 + 24 * 3600 * SEC, T0 + 24 * 3600 * SEC + 10 * SEC};
    struct fake_feed f;
    fake_init(&f, times, 3);
    struct player *p = make(&f, 1);
    player_set_max_gap(p, 3600 * SEC);
    int num;
    ts_ns w;
    cr_assert_eq(step(p, W0, &num, &w), PLAYER_ITEM);
    cr_assert_eq(step(p, W0 + SEC, &num, &w), PLAYER_ITEM, "18 h of night skipped");
    cr_assert_eq(num, 2);
    cr_assert_eq(step(p, W0 + SEC, &num, &w), PLAYER_WAIT, "short gaps are still paced");
    cr_assert_eq(w, 10 * SEC);
    player_free(p);

    fake_init(&f, times, 3);
    p = make(&f, 1); /* without a max gap the night is waited through */
    cr_assert_eq(step(p, W0, &num, &w), PLAYER_ITEM);
    cr_assert_eq(step(p, W0, &num, &w), PLAYER_WAIT);
    cr_assert_eq(w, 18 * 3600 * SEC);
    player_free(p);
}

Test(player, feed_errors_propagate_and_stick)
{
    struct fake_feed f;
    fake_init(&f, minute_times, 4);
    f.fail_at = 1;
    struct player *p = make(&f, 0);
    struct feed_item it;
    struct atp_err err;
    cr_assert_eq(player_next_due(p, W0, &it, NULL, &err), PLAYER_ITEM);
    for (int i = 0; i < 2; i++) {
        atp_err_clear(&err);
        cr_assert_eq(player_next_due(p, W0, &it, NULL, &err), ATP_EPARSE);
        cr_assert_str_eq(err.file, "fake.csv");
        cr_assert_eq(err.line, 3);
    }
    /* a seek back rewinds and clears the failure */
    f.fail_at = -1;
    cr_assert_eq(player_seek(p, T0, W0, &err), ATP_OK);
    cr_assert_eq(player_next_due(p, W0, &it, NULL, &err), PLAYER_ITEM);
    player_free(p);
}

Test(player, drives_a_bar_replay)
{
    struct instreg *reg = instreg_new();
    struct instrument in;
    memset(&in, 0, sizeof in);
    snprintf(in.symbol, sizeof in.symbol, "RELIANCE");
    in.lot_size = 1;
    in.tick_size = 500;
    in.expiry_day = -1;
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_OK);
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open_bars(tu_root_path("tests/data/feeds/RELIANCE_yahoo_1d.csv"), "RELIANCE",
                                  REPLAY_BARS, reg, &feed, &err),
                 ATP_OK, "%s", err.msg);
    struct player *p;
    cr_assert_eq(player_new(feed, 100, &p, &err), ATP_OK);
    player_set_max_gap(p, 3600 * SEC);
    ts_ns wall = W0;
    int items = 0, rc;
    struct feed_item it;
    ts_ns w;
    while ((rc = player_next_due(p, wall, &it, &w, &err)) != PLAYER_END) {
        cr_assert_geq(rc, 0);
        if (rc == PLAYER_ITEM) {
            cr_assert_eq(it.kind, FEED_BAR);
            items++;
        } else {
            wall += w; /* a fake sleep */
        }
    }
    cr_assert_eq(items, 10);
    cr_assert_eq(wall, W0, "with nights skipped, daily bars 1 day apart come at once");
    cr_assert_float_eq(player_progress(p, wall), 1.0, 1e-12);
    player_free(p);
    feed_free(feed);
    instreg_free(reg);
}
