/* Tests of md/feed/replay: tick files as they are, bar files as bars or expanded to ticks (path,
 * timing, volume conservation), merging of files and symbols in time order with file order for
 * ties, rewind, time range, and errors at open. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/cal.h"
#include "md/feed/replay.h"
#include "testutil.h"

static struct instreg *reg;
static uint32_t id_rel, id_infy, id_nifty;
static long live_at_start;
static char tmp_paths[8][64];
static int n_tmp;

static uint32_t add(const char *sym, enum inst_type type)
{
    struct instrument in;
    memset(&in, 0, sizeof in);
    snprintf(in.symbol, sizeof in.symbol, "%s", sym);
    in.exchange = EXCH_NSE;
    in.type = type;
    in.lot_size = 1;
    in.tick_size = 500;
    in.expiry_day = -1;
    uint32_t id;
    cr_assert_eq(instreg_add(reg, &in, &id), ATP_OK);
    return id;
}

static void setup(void)
{
    live_at_start = atp_alloc_live();
    reg = instreg_new();
    cr_assert_not_null(reg);
    id_rel = add("RELIANCE", INST_EQ);
    id_infy = add("INFY", INST_EQ);
    id_nifty = add("NIFTY", INST_INDEX);
    n_tmp = 0;
}

static void teardown(void)
{
    for (int i = 0; i < n_tmp; i++)
        unlink(tmp_paths[i]);
    instreg_free(reg);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak: %ld live blocks", atp_alloc_live());
}

TestSuite(replay, .init = setup, .fini = teardown);

/* Writes text to a new temporary file; returns its path (removed at teardown). */
static const char *tmp_file(const char *text)
{
    cr_assert(n_tmp < 8);
    char *path = tmp_paths[n_tmp++];
    snprintf(path, sizeof tmp_paths[0], "/tmp/atp_replay_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

#define MAXI 256

/* Drains a feed; asserts feed time never decreases. Returns the number of items. */
static int drain(struct feed *feed, struct feed_item *items, int max)
{
    struct atp_err err;
    struct feed_item it;
    int n = 0, rc;
    ts_ns last = INT64_MIN;
    while ((rc = feed_next(feed, &it, &err)) == 1) {
        ts_ns t = feed_item_time(&it);
        cr_assert_geq(t, last, "item %d goes back in time", n);
        last = t;
        if (n < max)
            items[n] = it;
        n++;
    }
    cr_assert_eq(rc, 0, "feed error: %s", err.msg);
    cr_assert_eq(feed_next(feed, &it, &err), 0, "the end is sticky");
    return n;
}

static ts_ns at(int h, int m, int s)
{
    return ts_from_ist(2026, 1, 5, h, m, s);
}

Test(replay, tick_file_as_is_with_range_and_rewind)
{
    const char *p = tmp_file("timestamp,symbol,ltp,qty\n"
                             "2026-01-05T09:15:00+05:30,RELIANCE,1550,1\n"
                             "2026-01-05T09:15:01+05:30,INFY,1600,2\n"
                             "1767584702000,RELIANCE,1550.05,3\n");
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open_ticks(p, reg, &feed, &err), ATP_OK, "%s", err.msg);
    ts_ns first, last;
    cr_assert(feed_time_range(feed, &first, &last));
    cr_assert_eq(first, at(9, 15, 0));
    cr_assert_eq(last, at(9, 15, 2));
    struct feed_item a[MAXI], b[MAXI];
    cr_assert_eq(drain(feed, a, MAXI), 3);
    cr_assert_eq(a[0].kind, FEED_TICK);
    cr_assert_eq(a[1].instrument_id, id_infy);
    cr_assert_eq(a[1].tick.qty, 2);
    cr_assert_eq(a[2].tick.ltp, 15500500);
    cr_assert_eq(feed_rewind(feed, &err), ATP_OK);
    cr_assert_eq(drain(feed, b, MAXI), 3);
    cr_assert(memcmp(a, b, 3 * sizeof a[0]) == 0, "rewind replays the same items");
    feed_free(feed);
}

Test(replay, time_sorted_multi_symbol_file_keeps_file_order_on_ties)
{
    const char *p = tmp_file("timestamp,symbol,ltp\n"
                             "2026-01-05T09:15:00+05:30,INFY,1600\n"
                             "2026-01-05T09:15:00+05:30,RELIANCE,1550\n"
                             "2026-01-05T09:15:01+05:30,RELIANCE,1551\n"
                             "2026-01-05T09:15:01+05:30,INFY,1601\n"
                             "2026-01-05T09:15:01+05:30,RELIANCE,1552\n");
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open_ticks(p, reg, &feed, &err), ATP_OK, "%s", err.msg);
    struct feed_item it[MAXI];
    cr_assert_eq(drain(feed, it, MAXI), 5);
    const px_t want[] = {PX_RUPEES(1600), PX_RUPEES(1550), PX_RUPEES(1551), PX_RUPEES(1601),
                         PX_RUPEES(1552)};
    for (int i = 0; i < 5; i++)
        cr_expect_eq(it[i].tick.ltp, want[i], "item %d", i);
    feed_free(feed);
}

Test(replay, symbol_blocked_file_is_merged_in_time)
{
    /* INFY's rows, then RELIANCE's: three time-ordered runs (a third one after a comment). */
    const char *p = tmp_file("timestamp,symbol,ltp\n"
                             "2026-01-05T09:15:00+05:30,INFY,1\n"
                             "2026-01-05T09:15:02+05:30,INFY,2\n"
                             "2026-01-05T09:15:04+05:30,INFY,3\n"
                             "2026-01-05T09:15:01+05:30,RELIANCE,10\n"
                             "# a comment inside\n"
                             "2026-01-05T09:15:02+05:30,RELIANCE,20\n"
                             "2026-01-05T09:15:05+05:30,RELIANCE,30\n"
                             "2026-01-05T09:15:00+05:30,NIFTY,100\n"
                             "2026-01-05T09:15:03+05:30,NIFTY,200\n");
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open_ticks(p, reg, &feed, &err), ATP_OK, "%s", err.msg);
    struct feed_item it[MAXI];
    for (int round = 0; round < 2; round++) {
        cr_assert_eq(drain(feed, it, MAXI), 8);
        /* ties in line order: INFY 09:15:00 (line 2) before NIFTY 09:15:00 (line 9) */
        const int want[] = {1, 100, 10, 2, 20, 200, 3, 30};
        for (int i = 0; i < 8; i++)
            cr_expect_eq(it[i].tick.ltp, PX_RUPEES(want[i]), "round %d item %d: %ld", round, i,
                         (long)(it[i].tick.ltp / PX_SCALE));
        cr_assert_eq(feed_rewind(feed, &err), ATP_OK);
    }
    feed_free(feed);
}

Test(replay, files_merged_earlier_file_first_on_ties)
{
    const char *p1 = tmp_file("timestamp,symbol,ltp\n"
                              "2026-01-05T09:15:00+05:30,INFY,1\n"
                              "2026-01-05T09:15:02+05:30,INFY,2\n");
    const char *p2 = tmp_file("date,open,high,low,close,volume\n2026-01-05,10,12,9,11,4\n");
    const char *p3 = tmp_file("timestamp,symbol,ltp\n"
                              "2026-01-05T09:15:00+05:30,RELIANCE,100\n"
                              "2026-01-05T09:15:01+05:30,RELIANCE,200\n");
    struct replay_source src[] = {
        {p1, REPLAY_TICKS, NULL, REPLAY_TF_AUTO},
        {p2, REPLAY_BAR_TICKS, "NIFTY", REPLAY_TF_AUTO},
        {p3, REPLAY_TICKS, NULL, REPLAY_TF_AUTO},
    };
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open(src, 3, reg, &feed, &err), ATP_OK, "%s", err.msg);
    struct feed_item it[MAXI];
    cr_assert_eq(drain(feed, it, MAXI), 8);
    const int want[] = {1, 10, 100, 200, 2, 12, 9, 11};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(it[i].tick.ltp, PX_RUPEES(want[i]), "item %d", i);
    feed_free(feed);
}

/* ---- bar expansion ---- */

Test(replay, expand_up_and_down_bars)
{
    struct bar up = {.start = at(9, 15, 0), .open = 100, .high = 130, .low = 90, .close = 120,
                     .volume = 10, .oi = -1};
    struct bar down = up;
    down.close = 95;
    struct bar flat = up;
    flat.close = flat.open; /* close == open counts as up */
    struct tick t[4];
    const ts_ns q = 75 * TS_NS_PER_SEC; /* a quarter of 5 minutes */

    replay_expand_bar(&up, TF_5M, id_rel, t);
    const px_t up_path[] = {100, 130, 90, 120};
    for (int k = 0; k < 4; k++) {
        cr_expect_eq(t[k].ltp, up_path[k], "up %d", k);
        cr_expect_eq(t[k].ts, up.start + k * q, "up %d", k);
        cr_expect_eq(t[k].instrument_id, id_rel);
        cr_expect_eq(t[k].flags, TICK_HAS_QTY);
    }
    cr_expect_eq(t[0].qty + t[1].qty + t[2].qty + t[3].qty, 10);
    cr_expect_eq(t[3].qty, 4, "remainder on the last tick");

    replay_expand_bar(&down, TF_5M, id_rel, t);
    const px_t down_path[] = {100, 90, 130, 95};
    for (int k = 0; k < 4; k++)
        cr_expect_eq(t[k].ltp, down_path[k], "down %d", k);

    replay_expand_bar(&flat, TF_5M, id_rel, t);
    cr_expect_eq(t[1].ltp, 130, "close == open goes O->H->L->C");
}

Test(replay, expand_conserves_volume)
{
    const int64_t volumes[] = {0, 1, 2, 3, 4, 5, 7, 10, 999, 1000003, INT64_MAX / 2};
    for (size_t i = 0; i < sizeof volumes / sizeof volumes[0]; i++) {
        struct bar b = {.start = at(9, 15, 0), .open = 1, .high = 1, .low = 1, .close = 1,
                        .volume = volumes[i], .oi = 5};
        struct tick t[4];
        replay_expand_bar(&b, TF_1M, 0, t);
        int64_t sum = 0;
        for (int k = 0; k < 4; k++) {
            cr_expect_geq(t[k].qty, 0);
            cr_expect(t[k].flags & TICK_HAS_OI);
            cr_expect_eq(t[k].oi, 5);
            sum += t[k].qty;
        }
        cr_expect_eq(sum, volumes[i], "volume %lld", (long long)volumes[i]);
        cr_expect_eq(t[0].qty, volumes[i] / 4);
        cr_expect_eq(t[1].qty, volumes[i] / 4);
        cr_expect_eq(t[2].qty, volumes[i] / 4);
    }
}

Test(replay, expansion_timing_per_timeframe)
{
    static const struct {
        enum tf tf;
        int h, m;
        ts_ns quarter;
    } cases[] = {
        {TF_1M, 10, 0, 15 * TS_NS_PER_SEC},
        {TF_15M, 10, 0, 225 * TS_NS_PER_SEC},
        {TF_1H, 9, 15, 15 * TS_NS_PER_MIN},
        {TF_1H, 15, 15, 225 * TS_NS_PER_SEC},    /* the last hourly bar is 15:15-15:30 */
        {TF_1D, 9, 15, 5625 * TS_NS_PER_SEC},    /* 375 / 4 minutes of the session */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bar b = {.start = at(cases[i].h, cases[i].m, 0), .open = 1, .high = 1, .low = 1,
                        .close = 1, .oi = -1};
        struct tick t[4];
        replay_expand_bar(&b, cases[i].tf, 0, t);
        for (int k = 0; k < 4; k++)
            cr_expect_eq(t[k].ts - b.start, k * cases[i].quarter, "case %zu tick %d", i, k);
    }
}

Test(replay, yahoo_daily_expanded_to_ticks)
{
    struct feed *feed;
    struct atp_err err;
    const char *path = tu_root_path("tests/data/feeds/RELIANCE_yahoo_1d.csv");
    cr_assert_eq(replay_open_bars(path, "RELIANCE", REPLAY_BAR_TICKS, reg, &feed, &err), ATP_OK,
                 "%s", err.msg);
    struct feed_item it[MAXI];
    int n = drain(feed, it, MAXI);
    cr_assert_eq(n, 40);
    ts_ns first, last;
    cr_assert(feed_time_range(feed, &first, &last));
    cr_assert_eq(first, ts_from_ist(2025, 12, 1, 9, 15, 0));
    cr_assert_eq(last, ts_from_ist(2025, 12, 12, 13, 56, 15));
    /* first day: 1545 -> 1555.30 is an up bar: O H L C at 09:15, 10:48:45, 12:22:30, 13:56:15 */
    cr_assert_eq(it[0].tick.ltp, 15450000);
    cr_assert_eq(it[1].tick.ltp, 15589000);
    cr_assert_eq(it[2].tick.ltp, 15382000);
    cr_assert_eq(it[3].tick.ltp, 15553000);
    cr_assert_eq(it[1].tick.ts, ts_from_ist(2025, 12, 1, 10, 48, 45));
    cr_assert_eq(it[3].tick.ts, ts_from_ist(2025, 12, 1, 13, 56, 15));
    /* second day is down: O L H C */
    cr_assert_eq(it[5].tick.ltp, 15300000);
    cr_assert_eq(it[6].tick.ltp, 15579500);
    /* cumulative volume: within a day it sums the ticks, and each day starts over */
    for (int d = 0; d < 10; d++) {
        int64_t sum = 0;
        for (int k = 0; k < 4; k++) {
            const struct tick *t = &it[4 * d + k].tick;
            cr_assert(t->flags & TICK_HAS_VOLUME);
            sum += t->qty;
            cr_assert_eq(t->cum_volume, sum, "day %d tick %d", d, k);
        }
    }
    cr_assert_eq(it[3].tick.cum_volume, 8123456);
    feed_free(feed);
}

Test(replay, bars_as_bars_ordered_by_their_end)
{
    struct feed *feed;
    struct atp_err err;
    const char *path = tu_root_path("tests/data/feeds/RELIANCE_yahoo_1d.csv");
    cr_assert_eq(replay_open_bars(path, "RELIANCE", REPLAY_BARS, reg, &feed, &err), ATP_OK);
    struct feed_item it[MAXI];
    cr_assert_eq(drain(feed, it, MAXI), 10);
    cr_assert_eq(it[0].kind, FEED_BAR);
    cr_assert_eq(it[0].tf, TF_1D);
    cr_assert_eq(it[0].date_only, 1);
    cr_assert_eq(it[0].instrument_id, id_rel);
    cr_assert_eq(it[0].bar.start, ts_from_ist(2025, 12, 1, 9, 15, 0));
    cr_assert_eq(feed_item_time(&it[0]), ts_from_ist(2025, 12, 1, 15, 30, 0));
    cr_assert_eq(it[9].bar.volume, 11223344);
    ts_ns first, last;
    cr_assert(feed_time_range(feed, &first, &last));
    cr_assert_eq(first, ts_from_ist(2025, 12, 1, 15, 30, 0));
    cr_assert_eq(last, ts_from_ist(2025, 12, 12, 15, 30, 0));
    feed_free(feed);
}

Test(replay, midnight_daily_candles_relabelled)
{
    /* Kite's daily candles carry 00:00 IST. */
    const char *p = tmp_file("date,open,high,low,close,volume\n"
                             "2026-01-05T00:00:00+0530,10,12,9,11,4\n"
                             "2026-01-06T00:00:00+0530,11,12,10,11,4\n");
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open_bars(p, "INFY", REPLAY_BARS, reg, &feed, &err), ATP_OK, "%s", err.msg);
    struct feed_item it[4];
    cr_assert_eq(drain(feed, it, 4), 2);
    cr_assert_eq(it[0].tf, TF_1D);
    cr_assert_eq(it[0].date_only, 1);
    cr_assert_eq(it[1].bar.start, ts_from_ist(2026, 1, 6, 9, 15, 0));
    feed_free(feed);
}

Test(replay, intraday_multi_symbol_bars_merge_and_expand)
{
    const char *p = tmp_file("symbol,datetime,open,high,low,close,volume\n"
                             "RELIANCE,2026-01-05T09:15:00+05:30,100,104,99,103,8\n"
                             "RELIANCE,2026-01-05T09:20:00+05:30,103,103,100,101,8\n"
                             "INFY,2026-01-05T09:15:00+05:30,200,201,198,199,4\n"
                             "INFY,2026-01-05T09:20:00+05:30,199,202,199,202,4\n");
    struct replay_source src = {p, REPLAY_BAR_TICKS, NULL, REPLAY_TF_AUTO};
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open(&src, 1, reg, &feed, &err), ATP_OK, "%s", err.msg);
    struct feed_item it[MAXI];
    cr_assert_eq(drain(feed, it, MAXI), 16);
    /* 09:15:00 RELIANCE (line 2) then INFY (line 4), then 09:16:15 likewise ... */
    cr_assert_eq(it[0].instrument_id, id_rel);
    cr_assert_eq(it[1].instrument_id, id_infy);
    cr_assert_eq(it[2].tick.ts, at(9, 16, 15));
    cr_assert_eq(it[2].instrument_id, id_rel);
    cr_assert_eq(it[8].tick.ts, at(9, 20, 0));
    feed_free(feed);

    /* as bars with an explicit timeframe */
    src.kind = REPLAY_BARS;
    src.tf = TF_5M;
    cr_assert_eq(replay_open(&src, 1, reg, &feed, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(drain(feed, it, MAXI), 4);
    cr_assert_eq(it[0].tf, TF_5M);
    cr_assert_eq(feed_item_time(&it[0]), at(9, 20, 0));
    cr_assert_eq(it[1].instrument_id, id_infy);
    feed_free(feed);
}

Test(replay, empty_files_end_at_once)
{
    const char *p = tmp_file("timestamp,symbol,ltp\n");
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open_ticks(p, reg, &feed, &err), ATP_OK);
    cr_assert_not(feed_time_range(feed, NULL, NULL));
    struct feed_item it;
    cr_assert_eq(feed_next(feed, &it, &err), 0);
    feed_free(feed);
}

struct open_error {
    const char *name;
    const char *text; /* NULL: a path that does not exist */
    enum replay_kind kind;
    const char *symbol;
    int tf;
    int code;
    long line;
    const char *field;
};

static const struct open_error open_errors[] = {
    {"missing file", NULL, REPLAY_TICKS, NULL, REPLAY_TF_AUTO, ATP_EIO, 0, NULL},
    {"missing bar file", NULL, REPLAY_BARS, "INFY", REPLAY_TF_AUTO, ATP_EIO, 0, NULL},
    {"bad tick row deep in the file", "timestamp,symbol,ltp\n1767584700000,INFY,1\n"
     "1767584700001,INFY,1\n1767584700002,INFY,x\n", REPLAY_TICKS, NULL, REPLAY_TF_AUTO,
     ATP_EPARSE, 4, "ltp"},
    {"bad bar row", "date,open,high,low,close\n2026-01-05,1,1,1,1\n2026-01-06,1,0.5,1,1\n",
     REPLAY_BAR_TICKS, "INFY", REPLAY_TF_AUTO, ATP_EINVAL, 3, "high"},
    {"undetectable timeframe", "datetime,open,high,low,close\n2026-01-05T09:15,1,1,1,1\n",
     REPLAY_BARS, "INFY", REPLAY_TF_AUTO, ATP_EINVAL, 0, "tf"},
    {"odd spacing", "datetime,open,high,low,close\n2026-01-05T09:15,1,1,1,1\n"
     "2026-01-05T09:17,1,1,1,1\n", REPLAY_BARS, "INFY", REPLAY_TF_AUTO, ATP_EINVAL, 0, "tf"},
    {"dates are not intraday", "date,open,high,low,close\n2026-01-05,1,1,1,1\n", REPLAY_BARS,
     "INFY", TF_5M, ATP_EINVAL, 0, "tf"},
    {"unknown tf", "date,open,high,low,close\n2026-01-05,1,1,1,1\n", REPLAY_BARS, "INFY", 42,
     ATP_EINVAL, 0, "tf"},
};

Test(replay, errors_at_open)
{
    for (size_t i = 0; i < sizeof open_errors / sizeof open_errors[0]; i++) {
        const struct open_error *c = &open_errors[i];
        const char *path = c->text ? tmp_file(c->text) : "/nonexistent/atp/feed.csv";
        struct replay_source src = {path, c->kind, c->symbol, c->tf};
        struct feed *feed = (struct feed *)1;
        struct atp_err err;
        atp_err_clear(&err);
        int rc = replay_open(&src, 1, reg, &feed, &err);
        cr_expect_eq(rc, c->code, "%s: %d %s", c->name, rc, err.msg);
        cr_expect_null(feed, "%s", c->name);
        cr_expect_str_eq(err.file, path, "%s", c->name);
        cr_expect_eq(err.line, c->line, "%s: line %ld", c->name, err.line);
        if (c->field)
            cr_expect_str_eq(err.field, c->field, "%s", c->name);
        if (c->text)
            n_tmp--, unlink(path); /* keep the slots for later cases */
    }
}

Test(replay, too_many_out_of_order_stretches)
{
    static char text[64 * 1024];
    size_t n = (size_t)snprintf(text, sizeof text, "timestamp,symbol,ltp\n");
    for (int i = 0; i <= REPLAY_MAX_RUNS; i++) /* every row earlier than the one before */
        n += (size_t)snprintf(text + n, sizeof text - n, "%lld,INFY,1\n",
                              1767584700000LL + 1000000 - i);
    const char *p = tmp_file(text);
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open_ticks(p, reg, &feed, &err), ATP_EINVAL);
    cr_assert_eq(err.line, REPLAY_MAX_RUNS + 2);
    cr_assert(strstr(err.msg, "sort") != NULL, "%s", err.msg);
}

Test(replay, many_stretches_within_the_limit)
{
    static char text[64 * 1024];
    size_t n = (size_t)snprintf(text, sizeof text, "timestamp,symbol,ltp\n");
    const int runs = REPLAY_MAX_RUNS;
    for (int i = 0; i < runs; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%lld,INFY,%d\n%lld,RELIANCE,%d\n",
                              1767584700000LL + 1000 * (runs - i), runs - i,
                              1767584700000LL + 1000 * (runs - i) + 500, runs - i);
    const char *p = tmp_file(text);
    struct feed *feed;
    struct atp_err err;
    cr_assert_eq(replay_open_ticks(p, reg, &feed, &err), ATP_OK, "%s", err.msg);
    struct feed_item it[2 * REPLAY_MAX_RUNS];
    cr_assert_eq(drain(feed, it, 2 * REPLAY_MAX_RUNS), 2 * runs);
    for (int i = 0; i < runs; i++) {
        cr_assert_eq(it[2 * i].instrument_id, id_infy);
        cr_assert_eq(it[2 * i].tick.ltp, PX_RUPEES(i + 1));
    }
    feed_free(feed);
}

Test(replay, allocation_failures_are_clean)
{
    const char *p1 = tmp_file("timestamp,symbol,ltp\n1767584700000,INFY,1\n1767584600000,INFY,2\n");
    const char *p2 = tmp_file("symbol,date,open,high,low,close\nINFY,2026-01-05,1,1,1,1\n"
                              "RELIANCE,2026-01-05,1,1,1,1\n");
    struct replay_source src[] = {{p1, REPLAY_TICKS, NULL, REPLAY_TF_AUTO},
                                  {p2, REPLAY_BAR_TICKS, NULL, REPLAY_TF_AUTO}};
    for (long n = 1; n < 100; n++) {
        struct feed *feed;
        struct atp_err err;
        atp_alloc_fail_after(n);
        int rc = replay_open(src, 2, reg, &feed, &err);
        atp_alloc_fail_after(0);
        if (rc == ATP_OK) {
            struct feed_item it[16];
            cr_assert_eq(drain(feed, it, 16), 10);
            feed_free(feed);
            return;
        }
        cr_assert_eq(rc, ATP_ENOMEM, "fail at %ld: %d %s", n, rc, err.msg);
    }
    cr_assert_fail("never succeeded");
}
