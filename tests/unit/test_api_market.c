/* api/market: the server's engine on its feed thread, read from other threads through the locked
 * snapshot API (run under ASan/UBSan too); feed settings; the market routes without a market. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/h_market.h"
#include "api/market.h"
#include "md/feed.h"
#include "testutil.h"

static void data_dir(void)
{
    setenv("ATP_DATA_DIR", tu_root_path("data"), 1);
}

/* A tick CSV of TCS on 2024-01-02 from 09:15: per minute k, `per_min` ticks; the last tick of
 * minute k is at 100 + k % 50 rupees, the others 0.5 above. Returns the path (static buffer). */
static const char *write_ticks(int minutes, int per_min)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/atp_test_market_%d.csv", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "timestamp,symbol,ltp,qty\n");
    for (int k = 0; k < minutes; k++)
        for (int j = 0; j < per_min; j++) {
            int ms = 59000 * (j + 1) / per_min; /* inside the minute, the last at :59 */
            int last = j == per_min - 1;
            fprintf(f, "2024-01-02T%02d:%02d:%02d.%03d,TCS,%d%s,1\n", 9 + (15 + k) / 60, (15 + k) % 60,
                    ms / 1000, ms % 1000, 100 + k % 50, last ? "" : ".5");
        }
    fclose(f);
    return path;
}

static struct api_market *open_replay(const char *path)
{
    struct api_market_config cfg;
    struct atp_err err;
    struct api_market *m = NULL;
    api_market_config_defaults(&cfg);
    char feed[300];
    snprintf(feed, sizeof feed, "replay:%s", path);
    cr_assert_eq(api_market_config_feed(&cfg, feed, "--feed", &err), ATP_OK);
    cfg.speed = 0;
    cr_assert_eq(api_market_new(&cfg, &m, &err), ATP_OK, "%s", err.msg);
    cr_assert_not_null(m);
    return m;
}

static void wait_ended(struct api_market *m)
{
    struct api_market_status st;
    for (int i = 0; i < 1000; i++) {
        api_market_status(m, &st);
        if (st.ended)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_fail("the replay did not end within 10 s");
}

Test(api_market, replay_gives_exact_bars_and_quote)
{
    data_dir();
    const char *path = write_ticks(10, 2);
    struct api_market *m = open_replay(path);
    struct atp_err err;
    cr_assert_eq(api_market_start(m, &err), ATP_OK);
    wait_ended(m);
    uint32_t tcs = instreg_find(api_market_registry(m), "TCS")->id;
    struct bar bars[500], forming;
    uint32_t n;
    int has_forming;
    api_market_candles(m, tcs, TF_1M, 500, bars, &n, &forming, &has_forming);
    cr_assert_eq(n, 9);
    cr_assert(has_forming);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(bars[i].close, (100 + (px_t)i) * PX_SCALE, "bar %u", i);
        cr_assert_eq(bars[i].high, (100 + (px_t)i) * PX_SCALE + PX_SCALE / 2);
        cr_assert_eq(bars[i].volume, 2);
    }
    cr_assert_eq(forming.close, 109 * PX_SCALE);
    api_market_candles(m, tcs, TF_1M, 3, bars, &n, &forming, &has_forming);
    cr_assert_eq(n, 3);
    cr_assert_eq(bars[0].close, 106 * PX_SCALE, "oldest of the newest three first");
    struct api_market_quote q;
    api_market_quote(m, tcs, &q);
    cr_assert(q.has_data);
    cr_assert_eq(q.last, 109 * PX_SCALE);
    cr_assert_eq(q.day.open, 100 * PX_SCALE + PX_SCALE / 2);
    cr_assert_eq(q.day.low, 100 * PX_SCALE);
    cr_assert_eq(q.day.volume, 20);
    api_market_quote(m, instreg_find(api_market_registry(m), "INFY")->id, &q);
    cr_assert_not(q.has_data);
    struct api_market_status st;
    api_market_status(m, &st);
    cr_assert_eq(st.items, 20);
    cr_assert_str_eq(st.feed, "replay");
    api_market_free(m);
    unlink(path);
}

struct reader {
    struct api_market *m;
    uint32_t id;
    int reads, bad;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    static __thread struct bar bars[500];
    struct bar forming;
    struct api_market_status st;
    do {
        uint32_t n;
        int has_forming;
        api_market_status(r->m, &st);
        api_market_candles(r->m, r->id, TF_1M, 500, bars, &n, &forming, &has_forming);
        for (uint32_t i = 0; i < n; i++)
            if (!bar_is_valid(&bars[i]) || (i && bars[i].start <= bars[i - 1].start) ||
                (has_forming && forming.start <= bars[i].start))
                r->bad++;
        r->reads++;
    } while (!st.ended);
    return NULL;
}

/* Readers on two threads while the feed thread writes: every snapshot is consistent (no torn
 * bars, times increasing) and the feed still reaches its end. */
Test(api_market, readers_see_consistent_snapshots_while_the_feed_runs)
{
    data_dir();
    const char *path = write_ticks(360, 60); /* 21,600 ticks, 359 bars */
    struct api_market *m = open_replay(path);
    struct reader r[2] = {{m, instreg_find(api_market_registry(m), "TCS")->id, 0, 0},
                          {m, instreg_find(api_market_registry(m), "TCS")->id, 0, 0}};
    pthread_t t[2];
    struct atp_err err;
    cr_assert_eq(api_market_start(m, &err), ATP_OK);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, read_loop, &r[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(r[i].bad, 0);
        cr_assert_gt(r[i].reads, 0);
    }
    struct bar bars[500], forming;
    uint32_t n;
    int has_forming;
    api_market_candles(m, r[0].id, TF_1M, 500, bars, &n, &forming, &has_forming);
    cr_assert_eq(n, 359);
    api_market_free(m);
    unlink(path);
}

Test(api_market, feed_settings_are_checked)
{
    struct api_market_config cfg;
    struct atp_err err;
    struct api_market *m = (struct api_market *)&cfg;
    api_market_config_defaults(&cfg);
    cr_assert_str_eq(cfg.feed, "synthetic");
    cr_assert_eq(api_market_config_feed(&cfg, "bogus", "ATP_FEED", &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "ATP_FEED");
    cr_assert_eq(api_market_config_feed(&cfg, "replay:", "--feed", &err), ATP_EINVAL);
    cr_assert_str_eq(cfg.feed, "synthetic", "a refused value changes nothing");
    cfg.speed = 0;
    data_dir();
    cr_assert_eq(api_market_new(&cfg, &m, &err), ATP_EINVAL, "the endless simulator at max speed");
    cr_assert_str_eq(err.field, "speed");
    cr_assert_null(m);
    cr_assert_eq(api_market_config_feed(&cfg, "none", "--feed", &err), ATP_OK);
    cr_assert_eq(api_market_new(&cfg, &m, &err), ATP_OK);
    cr_assert_null(m, "no market for --feed none");
    cr_assert_eq(api_market_config_feed(&cfg, "replay:/nonexistent/ticks.csv", "--feed", &err), ATP_OK);
    cfg.speed = 1;
    cr_assert_neq(api_market_new(&cfg, &m, &err), ATP_OK);
    cr_assert(strstr(err.msg, "nonexistent") || strstr(err.file, "nonexistent"), "names the file: %s", err.msg);
    cr_assert_null(m);
    api_market_free(NULL);
}

Test(api_market, routes_without_a_market_answer_503)
{
    api_market_set_current(NULL);
    struct api_request req;
    memset(&req, 0, sizeof req);
    req.query = "symbol=TCS";
    void (*handlers[])(struct api_request *, struct api_response *) = {h_market_candles, h_market_quote,
                                                                       h_instruments_search};
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        struct api_response res;
        memset(&res, 0, sizeof res);
        handlers[i](&req, &res);
        cr_assert_eq(res.status, 503);
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(res.json, "error"), "code")),
                         "market_unavailable");
        json_decref(res.json);
    }
    /* The catalog needs no market. */
    struct api_response res;
    memset(&res, 0, sizeof res);
    h_indicators_list(&req, &res);
    cr_assert_gt(json_array_size(json_object_get(res.json, "items")), 5);
    json_decref(res.json);
}
