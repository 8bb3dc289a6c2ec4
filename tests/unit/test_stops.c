/* Tests of portfolio/stops: the tick-rounded level helpers (a table, every value worked out
 * exactly), stop-loss and take-profit for longs and shorts, gaps, trailing stops that ratchet one
 * way only and fire once (tables of ticks with the expected level and exit after each), the
 * reason when levels coincide, the life cycle with positions (add, partial exit, flat, flip,
 * re-arm, clear), several positions on one instrument, a callback that arms new keys, a random
 * walk property test, errors, ENOMEM and leaks. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/alloc.h"
#include "core/px.h"
#include "core/rng.h"
#include "portfolio/stops.h"

static long live_at_start;

static void setup(void)
{
    live_at_start = atp_alloc_live();
}

static void teardown(void)
{
    atp_alloc_fail_after(0);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak: %ld live blocks, %ld at start",
                 atp_alloc_live(), live_at_start);
}

TestSuite(stops, .init = setup, .fini = teardown);

static px_t X(const char *s)
{
    if (!s || !*s)
        return 0;
    px_t v = 0;
    cr_assert_eq(px_parse(s, strlen(s), &v, NULL), ATP_OK, "bad test amount '%s'", s);
    return v;
}

#define PCT(p) ((uint32_t)((p) * STOPS_PPM_PER_PCT))
#define INST 42u

static struct portfolio_key K(uint64_t strategy, uint32_t inst)
{
    struct portfolio_key k = {.account_id = 3, .mode = TRADE_MODE_PAPER, .strategy_id = strategy,
                              .instrument_id = inst};
    return k;
}

/* Collects exits. */
struct sink {
    struct stop_exit exits[64];
    size_t n;
};

static void collect(const struct stop_exit *x, void *ctx)
{
    struct sink *s = ctx;
    cr_assert(s->n < 64);
    s->exits[s->n++] = *x;
}

static size_t tick(struct stops *st, uint32_t inst, px_t ltp, struct sink *sink)
{
    static ts_ns now;
    struct tick t = {.instrument_id = inst, .ts = ++now * TS_NS_PER_SEC, .ltp = ltp};
    size_t before = sink->n;
    size_t n = stops_on_tick(st, &t, collect, sink);
    cr_assert_eq(n, sink->n - before);
    return n;
}

static struct stops *new_book(void)
{
    struct stops *st = NULL;
    cr_assert_eq(stops_new(0, &st), ATP_OK);
    return st;
}

/* ---- levels ----------------------------------------------------------------------------------- */

/* price x (1 -/+ ppm / 1e6), floored / ceiled to the tick, exactly:
 * 100.03 x 0.98 = 98.0294 -> 98.00, x 1.02 = 102.0306 -> 102.05; 1234.5678 x 0.985 = 1216.049283
 * -> 1216.00, x 1.015 = 1253.086317 -> 1253.10; 82.1234 x 0.995 = 81.712783 -> 81.7125 (tick
 * 0.0025), x 1.005 = 82.533917 -> 82.5350; 2450.55 x 0.9925 = 2432.170875 -> 2432.1 (tick 0.1),
 * x 1.0075 = 2468.929125 -> 2469.0; ppm 0 just aligns to the tick, away from the price. */
Test(stops, level_table)
{
    static const struct {
        const char *price;
        uint32_t ppm;
        const char *tick, *below, *above;
    } cases[] = {
        {"100", 20000, "0.05", "98", "102"},
        {"100.03", 20000, "0.05", "98", "102.05"},
        {"1234.5678", 15000, "0.05", "1216", "1253.1"},
        {"82.1234", 5000, "0.0025", "81.7125", "82.535"},
        {"2450.55", 7500, "0.1", "2432.1", "2469"},
        {"19999.95", 123, "0.05", "19997.45", "20002.45"},
        {"100.03", 0, "0.05", "100", "100.05"},
        {"100", 0, "0.05", "100", "100"},
        {"100", 999999, "0.05", "0", "200"}, /* 0.0001 floors to 0: off */
        {"0.05", 1, "0.05", "0", "0.1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        px_t below = -1, above = -1, tick = X(cases[i].tick);
        cr_assert_eq(stops_level_below(X(cases[i].price), cases[i].ppm, tick, &below), ATP_OK);
        cr_assert_eq(stops_level_above(X(cases[i].price), cases[i].ppm, tick, &above), ATP_OK);
        cr_assert_eq(below, X(cases[i].below), "case %zu: below %lld", i, (long long)below);
        cr_assert_eq(above, X(cases[i].above), "case %zu: above %lld", i, (long long)above);
        cr_assert(px_is_multiple(below, tick) && px_is_multiple(above, tick));
    }
    px_t out = 7;
    cr_assert_eq(stops_level_below(0, 1, 5, &out), ATP_EINVAL);
    cr_assert_eq(stops_level_above(100, 1, 0, &out), ATP_EINVAL);
    cr_assert_eq(stops_level_above(PX_MAX - 100, 10000, 1, &out), ATP_EOVERFLOW);
    cr_assert_eq(out, 7);
    cr_assert_eq(stop_reason_name(STOP_REASON_TRAILING_STOP)[0], 'T');
    cr_assert_str_eq(stop_reason_name(STOP_REASON_STOP_LOSS), "STOP_LOSS");
    cr_assert_str_eq(stop_reason_name(STOP_REASON_TAKE_PROFIT), "TAKE_PROFIT");
    cr_assert_str_eq(stop_reason_name(STOP_REASON_COUNT), "?");
}

/* ---- tick tables ------------------------------------------------------------------------------ */

/* A position armed with params, then ticks; after each tick the trailing level and the exit (if
 * any) are as listed. */
struct tick_step {
    const char *ltp;
    const char *want_trailing; /* "" = 0 */
    enum stop_reason want;     /* STOP_REASON_NONE = no exit on this tick */
    const char *want_trigger;
};

static void run_ticks(const char *name, struct stops_params params, const char *tick_size,
                      int64_t qty, const char *entry, const char *want_sl, const char *want_tp,
                      const struct tick_step *steps, size_t n)
{
    struct stops *st = new_book();
    struct portfolio_key k = K(1, INST);
    cr_assert_eq(stops_arm(st, &k, &params, X(tick_size), qty, X(entry)), ATP_OK, "%s", name);
    struct stops_view v;
    cr_assert_eq(stops_get(st, &k, &v), ATP_OK);
    cr_assert_eq(v.state, STOPS_ARMED);
    cr_assert_eq(v.stop_loss_px, X(want_sl), "%s: stop-loss %lld", name, (long long)v.stop_loss_px);
    cr_assert_eq(v.take_profit_px, X(want_tp), "%s: take-profit %lld", name,
                 (long long)v.take_profit_px);
    struct sink sink = {0};
    size_t fired = 0;
    for (size_t i = 0; i < n; i++) {
        size_t got = tick(st, INST, X(steps[i].ltp), &sink);
        cr_assert_eq(stops_get(st, &k, &v), ATP_OK);
        cr_assert_eq(v.trailing_stop_px, X(steps[i].want_trailing), "%s tick %zu (%s): trailing %lld",
                     name, i, steps[i].ltp, (long long)v.trailing_stop_px);
        if (steps[i].want == STOP_REASON_NONE) {
            cr_assert_eq(got, 0, "%s tick %zu (%s): unexpected exit %s", name, i, steps[i].ltp,
                         got ? stop_reason_name(sink.exits[sink.n - 1].reason) : "");
            continue;
        }
        cr_assert_eq(got, 1, "%s tick %zu (%s): no exit", name, i, steps[i].ltp);
        const struct stop_exit *x = &sink.exits[sink.n - 1];
        cr_assert_eq(x->reason, steps[i].want, "%s tick %zu: reason %s", name, i,
                     stop_reason_name(x->reason));
        cr_assert_eq(x->trigger_px, X(steps[i].want_trigger), "%s tick %zu: trigger %lld", name, i,
                     (long long)x->trigger_px);
        cr_assert_eq(x->ltp, X(steps[i].ltp));
        cr_assert_eq(x->qty, qty > 0 ? qty : -qty);
        cr_assert_eq(x->side, qty > 0 ? ORDER_SIDE_SELL : ORDER_SIDE_BUY);
        cr_assert_eq(x->entry_px, X(entry));
        cr_assert_eq(x->trailing_stop_px, v.trailing_stop_px);
        cr_assert_eq(x->stop_loss_px, v.stop_loss_px);
        cr_assert_eq(x->take_profit_px, v.take_profit_px);
        cr_assert_eq(x->extreme_px, v.extreme_px);
        cr_assert_eq(memcmp(&x->key, &k, sizeof k), 0);
        cr_assert_eq(v.state, STOPS_FIRED);
        fired++;
    }
    cr_assert(fired <= 1, "%s: fired %zu times", name, fired);
    stops_free(st);
}

#define RUN_TICKS(params, tick_size, qty, entry, sl, tp, steps)                                   \
    run_ticks(#steps, params, tick_size, qty, entry, sl, tp, steps, sizeof steps / sizeof steps[0])

/* Long 10 @ 100: stop-loss 2 % (98.00) fires at 98.00 exactly, once; nothing after. */
Test(stops, long_stop_loss)
{
    static const struct tick_step s[] = {
        {"99", "", 0, ""},     {"102.95", "", 0, ""}, {"98.05", "", 0, ""},
        {"98", "", STOP_REASON_STOP_LOSS, "98"},      {"97", "", 0, ""},
        {"98", "", 0, ""},     {"50", "", 0, ""},
    };
    RUN_TICKS(((struct stops_params){.stop_loss_ppm = PCT(2), .take_profit_ppm = PCT(3)}), "0.05",
              10, "100", "98", "103", s);
}

/* Long take-profit 3 % (103.00); a gap through it fires with the level as trigger. */
Test(stops, long_take_profit_and_gap)
{
    static const struct tick_step s[] = {
        {"102.95", "", 0, ""},
        {"110", "", STOP_REASON_TAKE_PROFIT, "103"},
        {"120", "", 0, ""},
    };
    RUN_TICKS(((struct stops_params){.stop_loss_ppm = PCT(2), .take_profit_ppm = PCT(3)}), "0.05",
              10, "100", "98", "103", s);
    static const struct tick_step gap[] = {
        {"90", "", STOP_REASON_STOP_LOSS, "98"},
    };
    RUN_TICKS(((struct stops_params){.stop_loss_ppm = PCT(2), .take_profit_ppm = PCT(3)}), "0.05",
              10, "100", "98", "103", gap);
}

/* Short 5 @ 200: stop-loss 1 % above (202.00), take-profit 2 % below (196.00). */
Test(stops, short_stop_loss_and_take_profit)
{
    static const struct stops_params p = {.stop_loss_ppm = PCT(1), .take_profit_ppm = PCT(2)};
    static const struct tick_step sl[] = {
        {"201.95", "", 0, ""},
        {"196.05", "", 0, ""},
        {"202", "", STOP_REASON_STOP_LOSS, "202"},
        {"203", "", 0, ""},
    };
    RUN_TICKS(p, "0.05", -5, "200", "202", "196", sl);
    static const struct tick_step tp[] = {
        {"196.05", "", 0, ""},
        {"150", "", STOP_REASON_TAKE_PROFIT, "196"},
        {"100", "", 0, ""},
    };
    RUN_TICKS(p, "0.05", -5, "200", "202", "196", tp);
}

/* An entry off the tick: 100.03 long with 2 %: stop 98.0294 -> 98.00, target 102.0306 ->
 * 102.05 (both away from the entry, so the percentages are at least met). Short: stop 102.05,
 * target 98.00. */
Test(stops, levels_round_away_from_entry)
{
    static const struct stops_params p = {.stop_loss_ppm = PCT(2), .take_profit_ppm = PCT(2)};
    static const struct tick_step lng[] = {
        {"102", "", 0, ""},
        {"98.05", "", 0, ""},
        {"102.05", "", STOP_REASON_TAKE_PROFIT, "102.05"},
    };
    RUN_TICKS(p, "0.05", 1, "100.03", "98", "102.05", lng);
    static const struct tick_step sht[] = {
        {"102", "", 0, ""},
        {"98.05", "", 0, ""},
        {"102.05", "", STOP_REASON_STOP_LOSS, "102.05"},
    };
    RUN_TICKS(p, "0.05", -1, "100.03", "102.05", "98", sht);
}

/* Long trailing 5 % with a 2 % stop-loss: the trailing level starts at 95.00, follows the
 * highest price (102 -> 96.90, 106 -> 100.70, 110 -> 104.50), never comes down on the dips
 * (101, 103, 104.55), fires once at 104.50 as TRAILING_STOP (it is above the stop-loss at 98),
 * and stays frozen afterwards (120 does not move it). */
Test(stops, long_trailing_ratchets_up_and_fires_once)
{
    static const struct tick_step s[] = {
        {"102", "96.9", 0, ""},     {"101", "96.9", 0, ""},
        {"106", "100.7", 0, ""},    {"103", "100.7", 0, ""},
        {"110", "104.5", 0, ""},    {"104.55", "104.5", 0, ""},
        {"104.5", "104.5", STOP_REASON_TRAILING_STOP, "104.5"},
        {"90", "104.5", 0, ""},     {"120", "104.5", 0, ""},
        {"104", "104.5", 0, ""},
    };
    RUN_TICKS(((struct stops_params){.stop_loss_ppm = PCT(2), .trailing_ppm = PCT(5)}), "0.05",
              10, "100", "98", "", s);
}

/* While the trailing level is below the stop-loss, the stop-loss binds (reason STOP_LOSS). */
Test(stops, long_trailing_below_stop_loss)
{
    static const struct tick_step s[] = {
        {"101", "95.95", 0, ""},
        {"98", "95.95", STOP_REASON_STOP_LOSS, "98"},
    };
    RUN_TICKS(((struct stops_params){.stop_loss_ppm = PCT(2), .trailing_ppm = PCT(5)}), "0.05",
              10, "100", "98", "", s);
}

/* Equal stop-loss and trailing levels: the reason is STOP_LOSS (the trailing stop has not moved
 * the stop); one tick above them the trailing stop is the tighter one. */
Test(stops, equal_levels_reason)
{
    static const struct stops_params p = {.stop_loss_ppm = PCT(5), .trailing_ppm = PCT(5)};
    static const struct tick_step eq[] = {
        {"95", "95", STOP_REASON_STOP_LOSS, "95"},
    };
    RUN_TICKS(p, "0.05", 10, "100", "95", "", eq);
    static const struct tick_step moved[] = {
        {"100.1", "95.05", 0, ""}, /* 95.095 floored */
        {"95.05", "95.05", STOP_REASON_TRAILING_STOP, "95.05"},
    };
    RUN_TICKS(p, "0.05", 10, "100", "95", "", moved);
    static const struct tick_step short_eq[] = {
        {"105", "105", STOP_REASON_STOP_LOSS, "105"},
    };
    RUN_TICKS(p, "0.05", -10, "100", "105", "", short_eq);
}

/* Short trailing 2 % from 200: 204.00, then 199 -> 202.98 -> 203.00 (ceiled), 201 leaves it,
 * 190 -> 193.80, 193.75 does not fire, 193.80 fires (BUY); 180 afterwards moves nothing. */
Test(stops, short_trailing_ratchets_down_and_fires_once)
{
    static const struct tick_step s[] = {
        {"199", "203", 0, ""},        {"201", "203", 0, ""},
        {"190", "193.8", 0, ""},      {"193.75", "193.8", 0, ""},
        {"193.8", "193.8", STOP_REASON_TRAILING_STOP, "193.8"},
        {"180", "193.8", 0, ""},      {"200", "193.8", 0, ""},
    };
    RUN_TICKS(((struct stops_params){.trailing_ppm = PCT(2)}), "0.05", -4, "200", "", "", s);
}

/* ---- life cycle ------------------------------------------------------------------------------- */

static struct stops_view view(const struct stops *st, const struct portfolio_key *k)
{
    struct stops_view v;
    cr_assert_eq(stops_get(st, k, &v), ATP_OK);
    return v;
}

Test(stops, follows_the_position)
{
    struct stops *st = new_book();
    struct portfolio_key k = K(1, INST);
    struct stops_params p = {.stop_loss_ppm = PCT(2), .take_profit_ppm = PCT(3),
                             .trailing_ppm = PCT(5)};
    struct sink sink = {0};

    /* configured before any position: idle, ticks do nothing */
    cr_assert_eq(stops_arm(st, &k, &p, X("0.05"), 0, 0), ATP_OK);
    cr_assert_eq(view(st, &k).state, STOPS_IDLE);
    cr_assert_eq(tick(st, INST, X("1"), &sink), 0);

    /* opened: armed from the entry */
    cr_assert_eq(stops_on_position(st, &k, 10, X("100")), ATP_OK);
    struct stops_view v = view(st, &k);
    cr_assert_eq(v.state, STOPS_ARMED);
    cr_assert_eq(v.stop_loss_px, X("98"));
    cr_assert_eq(v.take_profit_px, X("103"));
    cr_assert_eq(v.trailing_stop_px, X("95"));
    cr_assert_eq(v.extreme_px, X("100"));

    /* added at 110: average 105; stop-loss and target from 105 (102.90, 108.15); the trailing
     * stop from the new extreme 105 (99.75) */
    cr_assert_eq(stops_on_position(st, &k, 20, X("105")), ATP_OK);
    v = view(st, &k);
    cr_assert_eq(v.qty, 20);
    cr_assert_eq(v.entry_px, X("105"));
    cr_assert_eq(v.stop_loss_px, X("102.9"));
    cr_assert_eq(v.take_profit_px, X("108.15"));
    cr_assert_eq(v.trailing_stop_px, X("99.75"));

    /* a tick to 107 raises the trailing stop to 101.65; an add at a lower average never lowers
     * it (the stop-loss does follow the average down: floor(101 x 0.98) = 98.95) */
    cr_assert_eq(tick(st, INST, X("107"), &sink), 0);
    cr_assert_eq(view(st, &k).trailing_stop_px, X("101.65"));
    cr_assert_eq(stops_on_position(st, &k, 40, X("101")), ATP_OK);
    v = view(st, &k);
    cr_assert_eq(v.trailing_stop_px, X("101.65"));
    cr_assert_eq(v.stop_loss_px, X("98.95"));
    cr_assert_eq(v.extreme_px, X("107"));

    /* fires once; a partial exit keeps it FIRED; flat makes it IDLE */
    cr_assert_eq(tick(st, INST, X("101.6"), &sink), 1);
    cr_assert_eq(sink.exits[0].reason, STOP_REASON_TRAILING_STOP);
    cr_assert_eq(sink.exits[0].qty, 40);
    cr_assert_eq(stops_on_position(st, &k, 15, X("101")), ATP_OK);
    cr_assert_eq(view(st, &k).state, STOPS_FIRED);
    cr_assert_eq(view(st, &k).qty, 15);
    cr_assert_eq(tick(st, INST, X("50"), &sink), 0);
    cr_assert_eq(stops_rearm(st, &k), ATP_OK); /* the exit order failed: watch again */
    cr_assert_eq(view(st, &k).trailing_stop_px, X("101.65"));
    cr_assert_eq(tick(st, INST, X("101.7"), &sink), 0);
    cr_assert_eq(tick(st, INST, X("101"), &sink), 1);
    cr_assert_eq(sink.exits[1].qty, 15);
    cr_assert_eq(sink.exits[1].trigger_px, X("101.65"));
    cr_assert_eq(stops_on_position(st, &k, 0, 0), ATP_OK);
    cr_assert_eq(view(st, &k).state, STOPS_IDLE);
    cr_assert_eq(stops_rearm(st, &k), ATP_ESTATE);
    cr_assert_eq(tick(st, INST, X("1"), &sink), 0);

    /* a new short is armed afresh from its entry */
    cr_assert_eq(stops_on_position(st, &k, -3, X("99")), ATP_OK);
    v = view(st, &k);
    cr_assert_eq(v.state, STOPS_ARMED);
    cr_assert_eq(v.stop_loss_px, X("101"));      /* 100.98 ceiled */
    cr_assert_eq(v.take_profit_px, X("96"));     /* 96.03 floored */
    cr_assert_eq(v.trailing_stop_px, X("103.95"));
    cr_assert_eq(v.extreme_px, X("99"));

    /* a flip while armed starts afresh on the new side */
    cr_assert_eq(stops_on_position(st, &k, 2, X("98")), ATP_OK);
    v = view(st, &k);
    cr_assert_eq(v.state, STOPS_ARMED);
    cr_assert_eq(v.stop_loss_px, X("96"));       /* 96.04 floored */
    cr_assert_eq(v.take_profit_px, X("100.95")); /* 100.94 ceiled */
    cr_assert_eq(v.trailing_stop_px, X("93.1"));
    cr_assert_eq(stops_rearm(st, &k), ATP_OK);   /* already armed: no change */

    /* cleared: no exits, and later positions are not armed */
    cr_assert_eq(stops_clear(st, &k), ATP_OK);
    cr_assert_eq(tick(st, INST, X("1"), &sink), 0);
    cr_assert_eq(stops_on_position(st, &k, 0, 0), ATP_OK);
    cr_assert_eq(stops_on_position(st, &k, 5, X("100")), ATP_OK);
    cr_assert_eq(view(st, &k).state, STOPS_IDLE);
    cr_assert_eq(tick(st, INST, X("1"), &sink), 0);
    /* arming again with qty re-arms it */
    cr_assert_eq(stops_arm(st, &k, &p, X("0.05"), 5, X("100")), ATP_OK);
    cr_assert_eq(tick(st, INST, X("1"), &sink), 1);
    cr_assert_eq(sink.exits[2].reason, STOP_REASON_STOP_LOSS);
    stops_free(st);
}

/* Several positions in one instrument fire on one tick, in the order they were armed; another
 * instrument's tick touches none of them; paper and live entries are separate keys. */
Test(stops, several_positions_one_tick)
{
    struct stops *st = new_book();
    struct stops_params p = {.stop_loss_ppm = PCT(1)};
    struct portfolio_key a = K(1, INST), b = K(2, INST), c = K(1, INST + 1), live = K(1, INST);
    live.mode = TRADE_MODE_LIVE;
    cr_assert_eq(stops_arm(st, &b, &p, X("0.05"), 1, X("100")), ATP_OK);
    cr_assert_eq(stops_arm(st, &a, &p, X("0.05"), 2, X("100")), ATP_OK);
    cr_assert_eq(stops_arm(st, &c, &p, X("0.05"), 3, X("100")), ATP_OK);
    cr_assert_eq(stops_arm(st, &live, &p, X("0.05"), -4, X("90")), ATP_OK);
    struct sink sink = {0};
    cr_assert_eq(tick(st, INST + 2, X("1"), &sink), 0);
    cr_assert_eq(tick(st, INST, X("0"), &sink), 0); /* ltp <= 0 ignored */
    cr_assert_eq(tick(st, INST, X("99"), &sink), 3);
    cr_assert_eq(sink.exits[0].key.strategy_id, 2);
    cr_assert_eq(sink.exits[0].qty, 1);
    cr_assert_eq(sink.exits[1].key.strategy_id, 1);
    cr_assert_eq(sink.exits[1].qty, 2);
    cr_assert_eq(sink.exits[1].key.mode, TRADE_MODE_PAPER);
    cr_assert_eq(sink.exits[2].key.mode, TRADE_MODE_LIVE); /* the short's stop is 90.90 */
    cr_assert_eq(sink.exits[2].side, ORDER_SIDE_BUY);
    cr_assert_eq(sink.exits[2].qty, 4);
    cr_assert_eq(sink.exits[2].trigger_px, X("90.9"));
    cr_assert_eq(view(st, &c).state, STOPS_ARMED);
    cr_assert_eq(view(st, &live).state, STOPS_FIRED);
    /* a NULL callback still counts and fires */
    struct tick t = {.instrument_id = INST + 1, .ltp = X("98")};
    cr_assert_eq(stops_on_tick(st, &t, NULL, NULL), 1);
    cr_assert_eq(view(st, &c).state, STOPS_FIRED);
    stops_free(st);
}

/* The callback may arm new keys (the book grows and moves during the walk). */
struct rearm_ctx {
    struct stops *st;
    int calls;
};

static void arm_more(const struct stop_exit *x, void *ctx)
{
    struct rearm_ctx *c = ctx;
    if (++c->calls > 2)
        return;
    struct stops_params p = {.stop_loss_ppm = PCT(1)};
    for (uint64_t s = 100; s < 140; s++) {
        struct portfolio_key k = x->key;
        k.strategy_id = s + (uint64_t)c->calls * 100;
        cr_assert_eq(stops_arm(c->st, &k, &p, X("0.05"), 1, X("200")), ATP_OK);
    }
}

Test(stops, callback_may_arm)
{
    struct stops *st = NULL;
    cr_assert_eq(stops_new(1, &st), ATP_OK);
    struct stops_params p = {.stop_loss_ppm = PCT(1)};
    struct portfolio_key a = K(1, INST), b = K(2, INST);
    cr_assert_eq(stops_arm(st, &a, &p, X("0.05"), 1, X("100")), ATP_OK);
    cr_assert_eq(stops_arm(st, &b, &p, X("0.05"), 1, X("100")), ATP_OK);
    struct rearm_ctx c = {st, 0};
    struct tick t = {.instrument_id = INST, .ltp = X("99")};
    /* a and b fire; the 80 keys armed meanwhile (entry 200, stop 198) fire on the same walk */
    cr_assert_eq(stops_on_tick(st, &t, arm_more, &c), 82);
    cr_assert_eq(c.calls, 82);
    stops_free(st);
}

/* ---- property: random walks ------------------------------------------------------------------- */

/* Random walks on a 0.05 tick: while armed, a long's trailing stop never falls and a short's
 * never rises, every level is on the tick, an exit comes exactly when the tick crosses a level
 * (checked against the levels after the tick's ratchet), at most once per arming. */
Test(stops, property_random_walk)
{
    struct rng r;
    rng_seed(&r, 7);
    const px_t tick_size = X("0.05");
    for (int run = 0; run < 200; run++) {
        struct stops *st = new_book();
        struct portfolio_key k = K(1, INST);
        struct stops_params p = {
            .stop_loss_ppm = rng_below(&r, 2) ? (uint32_t)rng_below(&r, 50000) : 0,
            .take_profit_ppm = rng_below(&r, 2) ? (uint32_t)rng_below(&r, 80000) : 0,
            .trailing_ppm = (uint32_t)(1 + rng_below(&r, 40000)),
        };
        int64_t qty = rng_below(&r, 2) ? 10 : -10;
        px_t entry = X("100") + (px_t)rng_below(&r, 10000); /* any 1/10000 */
        cr_assert_eq(stops_arm(st, &k, &p, tick_size, qty, entry), ATP_OK);
        px_t ltp = X("100");
        struct sink sink = {0};
        int fired = 0;
        for (int i = 0; i < 300; i++) {
            struct stops_view before = view(st, &k);
            ltp += ((px_t)rng_below(&r, 21) - 10) * tick_size;
            if (ltp <= 0)
                ltp = tick_size;
            size_t n = tick(st, INST, ltp, &sink);
            struct stops_view v = view(st, &k);
            cr_assert(px_is_multiple(v.stop_loss_px, tick_size));
            cr_assert(px_is_multiple(v.take_profit_px, tick_size));
            cr_assert(px_is_multiple(v.trailing_stop_px, tick_size));
            if (before.state != STOPS_ARMED) {
                cr_assert_eq(n, 0);
                cr_assert_eq(memcmp(&v, &before, sizeof v), 0, "a fired entry moved");
                continue;
            }
            /* trailing: one way only, and never on the price that set it */
            if (qty > 0) {
                cr_assert_geq(v.trailing_stop_px, before.trailing_stop_px);
                cr_assert_lt(v.trailing_stop_px, v.extreme_px);
            } else {
                cr_assert_leq(v.trailing_stop_px, before.trailing_stop_px);
                cr_assert_gt(v.trailing_stop_px, v.extreme_px);
            }
            px_t stop;
            int hit;
            if (qty > 0) {
                stop = v.stop_loss_px > v.trailing_stop_px ? v.stop_loss_px : v.trailing_stop_px;
                hit = (v.take_profit_px && ltp >= v.take_profit_px) || ltp <= stop;
            } else {
                stop = v.trailing_stop_px < v.stop_loss_px || !v.stop_loss_px ? v.trailing_stop_px
                                                                              : v.stop_loss_px;
                hit = (v.take_profit_px && ltp <= v.take_profit_px) || ltp >= stop;
            }
            cr_assert_eq(n, (size_t)hit, "run %d tick %d: ltp %lld stop %lld", run, i,
                         (long long)ltp, (long long)stop);
            if (hit) {
                fired++;
                cr_assert_eq(v.state, STOPS_FIRED);
                const struct stop_exit *x = &sink.exits[sink.n - 1];
                if (x->reason == STOP_REASON_TAKE_PROFIT)
                    cr_assert(qty > 0 ? ltp >= x->trigger_px : ltp <= x->trigger_px);
                else
                    cr_assert(qty > 0 ? ltp <= x->trigger_px : ltp >= x->trigger_px);
                if (fired < 3 && rng_below(&r, 2)) {
                    cr_assert_eq(stops_rearm(st, &k), ATP_OK);
                    sink.n = 0;
                }
            }
        }
        cr_assert(sink.n <= 1);
        stops_free(st);
    }
}

/* ---- errors ----------------------------------------------------------------------------------- */

Test(stops, errors)
{
    struct stops *st = new_book();
    struct portfolio_key k = K(1, INST);
    struct stops_params ok = {.stop_loss_ppm = PCT(2)};
    static const struct {
        struct stops_params p;
        const char *tick;
        int64_t qty;
        const char *entry;
        uint64_t account;
    } bad[] = {
        {{.stop_loss_ppm = STOPS_PPM_ONE}, "0.05", 1, "100", 3},
        {{.trailing_ppm = STOPS_PPM_ONE}, "0.05", 1, "100", 3},
        {{.take_profit_ppm = STOPS_TAKE_PROFIT_PPM_MAX + 1}, "0.05", 1, "100", 3},
        {{.stop_loss_ppm = 1}, "0", 1, "100", 3},
        {{.stop_loss_ppm = 1}, "-0.05", 1, "100", 3},
        {{.stop_loss_ppm = 1}, "0.05", 1, "0", 3},
        {{.stop_loss_ppm = 1}, "0.05", -1, "-5", 3},
        {{.stop_loss_ppm = 1}, "0.05", 1, "100", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct portfolio_key kk = k;
        kk.account_id = bad[i].account;
        cr_assert_eq(stops_arm(st, &kk, &bad[i].p, X(bad[i].tick), bad[i].qty, X(bad[i].entry)),
                     ATP_EINVAL, "case %zu", i);
    }
    struct portfolio_key km = k;
    km.mode = TRADE_MODE_COUNT;
    cr_assert_eq(stops_arm(st, &km, &ok, X("0.05"), 1, X("100")), ATP_EINVAL);
    struct stops_view v;
    cr_assert_eq(stops_get(st, &k, &v), ATP_ENOTFOUND);
    cr_assert_eq(stops_on_position(st, &k, 1, X("100")), ATP_ENOTFOUND);
    cr_assert_eq(stops_rearm(st, &k), ATP_ENOTFOUND);
    cr_assert_eq(stops_clear(st, &k), ATP_ENOTFOUND);

    /* a short's stop above PX_MAX: refused, nothing stored; then an update that would overflow
     * leaves the entry as it was */
    struct stops_params big = {.stop_loss_ppm = 600000}; /* 1.6 x 2/3 PX_MAX */
    cr_assert_eq(stops_arm(st, &k, &big, 1, -1, PX_MAX / 3 * 2), ATP_EOVERFLOW);
    cr_assert_eq(stops_get(st, &k, &v), ATP_ENOTFOUND);
    cr_assert_eq(stops_arm(st, &k, &big, 1, -1, X("100")), ATP_OK);
    struct stops_view before = view(st, &k);
    cr_assert_eq(stops_on_position(st, &k, -2, PX_MAX / 3 * 2), ATP_EOVERFLOW);
    cr_assert_eq(stops_on_position(st, &k, 2, PX_MAX / 3 * 2), ATP_OK); /* long: stop below */
    cr_assert_eq(stops_arm(st, &k, &big, 1, -1, X("100")), ATP_OK);
    cr_assert_eq(stops_on_position(st, &k, 2, 0), ATP_EINVAL);
    v = view(st, &k);
    cr_assert_eq(memcmp(&v, &before, sizeof v), 0);
    stops_free(st);
    stops_free(NULL);
}

Test(stops, enomem)
{
    struct stops *st = NULL;
    int failures = 0;
    for (long n = 1;; n++) {
        atp_alloc_fail_after(n);
        int rc = stops_new(1, &st);
        atp_alloc_fail_after(0);
        if (rc == ATP_OK)
            break;
        cr_assert_eq(rc, ATP_ENOMEM);
        cr_assert_null(st);
        cr_assert_eq(atp_alloc_live(), live_at_start);
        failures++;
    }
    cr_assert_eq(failures, 5);
    struct stops_params p = {.stop_loss_ppm = PCT(1)};
    for (uint32_t i = 0; i < 40; i++) {
        struct portfolio_key k = K(1, i);
        for (long n = 1;; n++) {
            atp_alloc_fail_after(n);
            int rc = stops_arm(st, &k, &p, X("0.05"), 1, X("100"));
            atp_alloc_fail_after(0);
            if (rc == ATP_OK)
                break;
            cr_assert_eq(rc, ATP_ENOMEM);
            struct stops_view v;
            cr_assert_eq(stops_get(st, &k, &v), ATP_ENOTFOUND);
        }
    }
    /* ticks, updates and re-arms on known keys never allocate */
    atp_alloc_fail_after(1);
    struct sink sink = {0};
    for (uint32_t i = 0; i < 40; i++)
        cr_assert_eq(tick(st, i, X("99"), &sink), 1);
    struct portfolio_key k0 = K(1, 0);
    cr_assert_eq(stops_on_position(st, &k0, 3, X("100")), ATP_OK);
    cr_assert_eq(stops_rearm(st, &k0), ATP_OK);
    atp_alloc_fail_after(0);
    stops_free(st);
}
