/* backtest/result: the builder, the --json document (parsed back with jansson, every field
 * asserted, key order checked on the text, money exact) and the trades CSV. The sample and its
 * hand-worked values: result_sample.h. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "backtest/result.h"
#include "core/alloc.h"
#include "result_sample.h"

#define TOL 1e-9

static int near(double got, double want)
{
    return fabs(got - want) <= fmax(TOL * fabs(want), 1e-12);
}

#define assert_near(got, want)                                                                   \
    cr_assert(near((got), (want)), "%s: got %.17g, want %.17g", #got, (double)(got),            \
              (double)(want))

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    cr_assert_not_null(root, "JSON does not parse: %s (line %d col %d)\n%s", jerr.text, jerr.line,
                       jerr.column, text);
    return root;
}

/* Keys of obj must be exactly keys[] (n of them), and appear in the text in that order from
 * *pos on (each as "key":); *pos moves past the last one. */
static void assert_keys_in_order(const char *text, const char **pos, json_t *obj,
                                 const char *const *keys, size_t n)
{
    cr_assert(json_is_object(obj));
    cr_assert_eq(json_object_size(obj), n, "object has %zu keys, want %zu",
                 json_object_size(obj), n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_not_null(json_object_get(obj, keys[i]), "missing key %s", keys[i]);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\":", keys[i]);
        const char *at = strstr(*pos, quoted);
        cr_assert_not_null(at, "key %s not found after the previous key (order)\n%s", keys[i],
                           text);
        *pos = at + strlen(quoted);
    }
    (void)text;
}

static const char *const METRIC_KEYS[] = {
    "initial_capital", "final_equity", "total_return_pct", "cagr_pct", "max_drawdown_pct",
    "max_drawdown_abs", "sharpe", "sortino", "calmar", "win_rate_pct", "profit_factor",
    "avg_win", "avg_loss", "expectancy", "trades", "winning_trades", "losing_trades",
    "exposure_pct", "avg_holding_bars", "max_consecutive_wins", "max_consecutive_losses",
    "total_charges"};
static const char *const TRADE_KEYS[] = {"symbol",     "side",      "qty",     "entry_time",
                                         "entry_price", "exit_time", "exit_price", "pnl",
                                         "pnl_pct",    "charges",   "holding_bars"};
static const char *const POINT_KEYS[] = {"time", "equity", "drawdown_pct"};

#define NKEYS(a) (sizeof(a) / sizeof(a)[0])

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

static long long integer(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_integer(v), "%s is not an integer", key);
    return (long long)json_integer_value(v);
}

static const char *str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

static void assert_null(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(v && json_is_null(v), "%s should be null", key);
}

Test(result_json, sample_every_field_in_order_and_exact)
{
    struct backtest_result r;
    sample_build(&r);
    int rc;
    struct atp_err err;
    char *text = sample_render(result_write_json, &r, &rc, &err);
    cr_assert_eq(rc, ATP_OK, "%s", err.msg);
    json_t *root = parse(text);

    /* key order, on the text: top, metrics, each trade, each point */
    cr_assert_eq(json_object_size(root), 3);
    const char *top_m = strstr(text, "{\n  \"metrics\": {\n    \"initial_capital\": ");
    const char *top_t = strstr(text, "\n  },\n  \"trades\": [\n    {");
    const char *top_e = strstr(text, "\n  ],\n  \"equity_curve\": [\n    {");
    int layout_ok = top_m == text && top_t > top_m && top_e > top_t;
    cr_assert(layout_ok, "top level layout:\n%s", text);
    const char *pos = text;
    json_t *m = json_object_get(root, "metrics");
    assert_keys_in_order(text, &pos, m, METRIC_KEYS, NKEYS(METRIC_KEYS));
    json_t *trades = json_object_get(root, "trades");
    cr_assert(json_is_array(trades));
    cr_assert_eq(json_array_size(trades), 3);
    for (size_t i = 0; i < 3; i++)
        assert_keys_in_order(text, &pos, json_array_get(trades, i), TRADE_KEYS,
                             NKEYS(TRADE_KEYS));
    json_t *curve = json_object_get(root, "equity_curve");
    cr_assert(json_is_array(curve));
    cr_assert_eq(json_array_size(curve), 5);
    for (size_t i = 0; i < 5; i++)
        assert_keys_in_order(text, &pos, json_array_get(curve, i), POINT_KEYS,
                             NKEYS(POINT_KEYS));

    /* metrics, hand-worked in result_sample.h */
    assert_near(num(m, "initial_capital"), 100000);
    assert_near(num(m, "final_equity"), 123456.78);
    assert_near(num(m, "total_return_pct"), 23.45678);
    assert_near(num(m, "cagr_pct"), r.metrics.cagr_pct); /* 32 days: annualized, defined */
    assert_near(num(m, "max_drawdown_pct"), -2200.1 / 103200.1 * 100);
    assert_near(num(m, "max_drawdown_abs"), -2200.1);
    assert_near(num(m, "sharpe"), r.metrics.sharpe);
    assert_near(num(m, "sortino"), r.metrics.sortino);
    assert_near(num(m, "calmar"), r.metrics.cagr_pct / (2200.1 / 103200.1 * 100));
    assert_near(num(m, "win_rate_pct"), 50);
    assert_near(num(m, "profit_factor"), 1475 / 511.75);
    assert_near(num(m, "avg_win"), 1475);
    assert_near(num(m, "avg_loss"), -511.75);
    assert_near(num(m, "expectancy"), 481.63);
    cr_assert_eq(integer(m, "trades"), 2);
    cr_assert_eq(integer(m, "winning_trades"), 1);
    cr_assert_eq(integer(m, "losing_trades"), 1);
    assert_near(num(m, "exposure_pct"), 60);
    assert_near(num(m, "avg_holding_bars"), 3);
    cr_assert_eq(integer(m, "max_consecutive_wins"), 1);
    cr_assert_eq(integer(m, "max_consecutive_losses"), 1);
    assert_near(num(m, "total_charges"), 34.5);
    cr_assert(isfinite(r.metrics.sharpe) && isfinite(r.metrics.sortino) &&
              isfinite(r.metrics.cagr_pct));

    /* trades */
    json_t *t = json_array_get(trades, 0);
    cr_assert_str_eq(str(t, "symbol"), "RELIANCE");
    cr_assert_str_eq(str(t, "side"), "long");
    cr_assert_eq(integer(t, "qty"), 10);
    cr_assert_str_eq(str(t, "entry_time"), "2024-01-01T15:30:00+05:30");
    assert_near(num(t, "entry_price"), 2450.5);
    cr_assert_str_eq(str(t, "exit_time"), "2024-01-03T15:30:00+05:30");
    assert_near(num(t, "exit_price"), 2600.05);
    assert_near(num(t, "pnl"), 1475);
    assert_near(num(t, "pnl_pct"), 1475 / 24505.0 * 100);
    assert_near(num(t, "charges"), 20.5);
    cr_assert_eq(integer(t, "holding_bars"), 2);

    t = json_array_get(trades, 1);
    cr_assert_str_eq(str(t, "symbol"), "TCS");
    cr_assert_str_eq(str(t, "side"), "short");
    cr_assert_eq(integer(t, "qty"), 5);
    cr_assert_str_eq(str(t, "entry_time"), "2024-01-02T15:30:00+05:30");
    assert_near(num(t, "entry_price"), 3200.1);
    cr_assert_str_eq(str(t, "exit_time"), "2024-02-01T15:30:00+05:30");
    assert_near(num(t, "exit_price"), 3300);
    assert_near(num(t, "pnl"), -511.75);
    assert_near(num(t, "pnl_pct"), -511.75 / 16000.5 * 100);
    assert_near(num(t, "charges"), 12.25);
    cr_assert_eq(integer(t, "holding_bars"), 4);

    t = json_array_get(trades, 2); /* open at the end */
    cr_assert_str_eq(str(t, "symbol"), "INFY");
    cr_assert_str_eq(str(t, "side"), "long");
    cr_assert_eq(integer(t, "qty"), 3);
    cr_assert_str_eq(str(t, "entry_time"), "2024-02-02T15:30:00+05:30");
    assert_near(num(t, "entry_price"), 1500.0025);
    assert_null(t, "exit_time");
    assert_null(t, "exit_price");
    assert_near(num(t, "pnl"), -3.5);
    assert_near(num(t, "pnl_pct"), -3.5 / 4500.0075 * 100);
    assert_near(num(t, "charges"), 1.75);
    cr_assert_eq(integer(t, "holding_bars"), 0);

    /* equity curve */
    static const char *const times[] = {"2024-01-01T15:30:00+05:30", "2024-01-02T15:30:00+05:30",
                                        "2024-01-03T15:30:00+05:30", "2024-02-01T15:30:00+05:30",
                                        "2024-02-02T15:30:00+05:30"};
    static const double equity[] = {100000, 103200.1, 101000, 124000.5, 123456.78};
    const double dd[] = {0, 0, -2200.1 / 103200.1 * 100, 0, -543.72 / 124000.5 * 100};
    for (size_t i = 0; i < 5; i++) {
        json_t *p = json_array_get(curve, i);
        cr_assert_str_eq(str(p, "time"), times[i]);
        assert_near(num(p, "equity"), equity[i]);
        assert_near(num(p, "drawdown_pct"), dd[i]);
    }

    /* money printed exactly from fixed point, as text */
    static const char *const exact[] = {
        "\"entry_price\": 3200.1,", "\"entry_price\": 1500.0025,", "\"exit_price\": 2600.05,",
        "\"equity\": 103200.1,",    "\"equity\": 123456.78,",      "\"final_equity\": 123456.78,",
        "\"max_drawdown_abs\": -2200.1,", "\"expectancy\": 481.63,", "\"avg_loss\": -511.75,",
        "\"total_charges\": 34.5\n", "\"initial_capital\": 100000,", "\"drawdown_pct\": 0}",
        "\"exit_time\": null, \"exit_price\": null,", "\"win_rate_pct\": 50,"};
    for (size_t i = 0; i < NKEYS(exact); i++)
        cr_assert_not_null(strstr(text, exact[i]), "missing %s in\n%s", exact[i], text);
    cr_assert_null(strstr(text, "99999"), "float noise in\n%s", text);
    cr_assert_null(strstr(text, "00000000"), "float noise in\n%s", text);
    /* one trade / one point per line, document ends with a newline */
    char line[512];
    snprintf(line, sizeof line,
             "\n    {\"symbol\": \"TCS\", \"side\": \"short\", \"qty\": 5, "
             "\"entry_time\": \"2024-01-02T15:30:00+05:30\", \"entry_price\": 3200.1, "
             "\"exit_time\": \"2024-02-01T15:30:00+05:30\", \"exit_price\": 3300, "
             "\"pnl\": -511.75, \"pnl_pct\": %.15g, \"charges\": 12.25, \"holding_bars\": 4},\n",
             -511.75 / 16000.5 * 100);
    cr_assert_not_null(strstr(text, line), "want line %s in\n%s", line, text);
    cr_assert_eq(text[strlen(text) - 1], '\n');

    json_decref(root);
    free(text);
    result_cleanup(&r);
}

/* A price that a double cannot hold: the text stays exact (a reader parsing into double gets
 * the nearest double, which is all JSON promises). */
Test(result_json, money_exact_beyond_double_precision)
{
    struct backtest_result r;
    static const char *const symbols[] = {"X"};
    sample_init_named(&r, "s", symbols, 1);
    cr_assert_eq(result_add_point(&r, sample_close(1, 1), PX("922337203685477.5807"), 0, NULL),
                 ATP_OK);
    cr_assert_eq(result_add_point(&r, sample_close(1, 2), PX("0.0001"), 0, NULL), ATP_OK);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    int rc;
    char *text = sample_render(result_write_json, &r, &rc, NULL);
    cr_assert_eq(rc, ATP_OK);
    cr_assert_not_null(strstr(text, "\"equity\": 922337203685477.5807,"), "%s", text);
    cr_assert_not_null(strstr(text, "\"equity\": 0.0001,"), "%s", text);
    json_decref(parse(text));
    free(text);
    result_cleanup(&r);
}

/* No points, no trades: undefined ratios are null, arrays empty, money from the capital. */
Test(result_json, empty_run_nulls)
{
    struct backtest_result r;
    sample_init_named(&r, "idle", NULL, 0);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    cr_assert_eq(r.has_period, 0);
    int rc;
    char *text = sample_render(result_write_json, &r, &rc, NULL);
    cr_assert_eq(rc, ATP_OK);
    json_t *root = parse(text);
    json_t *m = json_object_get(root, "metrics");
    static const char *const nulls[] = {"cagr_pct", "sharpe", "sortino", "calmar",
                                        "win_rate_pct", "profit_factor", "exposure_pct",
                                        "avg_holding_bars"};
    for (size_t i = 0; i < NKEYS(nulls); i++)
        assert_null(m, nulls[i]);
    assert_near(num(m, "final_equity"), 100000);
    assert_near(num(m, "total_return_pct"), 0);
    assert_near(num(m, "max_drawdown_pct"), 0);
    cr_assert_eq(integer(m, "trades"), 0);
    cr_assert_eq(integer(m, "avg_win"), 0);
    cr_assert_eq(json_array_size(json_object_get(root, "trades")), 0);
    cr_assert_eq(json_array_size(json_object_get(root, "equity_curve")), 0);
    cr_assert_not_null(strstr(text, "\"trades\": [],\n  \"equity_curve\": []\n}\n"), "%s", text);
    cr_assert_null(strstr(text, "nan"));
    cr_assert_null(strstr(text, "inf"));
    json_decref(root);
    free(text);
    result_cleanup(&r);
}

/* Only winning trades: profit_factor is +INFINITY in the struct and null in JSON; losing_trades
 * 0 tells a reader why. */
Test(result_json, profit_factor_infinity_is_null)
{
    struct backtest_result r;
    static const char *const symbols[] = {"SBIN"};
    sample_init_named(&r, "s", symbols, 1);
    struct metrics_trade t = {.symbol = "SBIN", .side = METRICS_LONG, .qty = 1,
                              .entry_ts = sample_close(3, 1), .entry_px = PX("600"),
                              .exit_ts = sample_close(3, 4), .exit_px = PX("610"),
                              .pnl = PX("10"), .holding_bars = 1};
    cr_assert_eq(result_add_trade(&r, &t, NULL), ATP_OK);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    cr_assert(isinf(r.metrics.profit_factor));
    int rc;
    char *text = sample_render(result_write_json, &r, &rc, NULL);
    json_t *root = parse(text);
    json_t *m = json_object_get(root, "metrics");
    assert_null(m, "profit_factor");
    cr_assert_eq(integer(m, "losing_trades"), 0);
    assert_near(num(m, "win_rate_pct"), 100);
    assert_near(num(json_array_get(json_object_get(root, "trades"), 0), "pnl_pct"), 10 / 600.0 * 100);
    json_decref(root);
    free(text);
    result_cleanup(&r);
}

/* Strings are escaped for JSON; the HTML variant also escapes < > & and U+2028/2029 so nothing
 * can close a <script> element, and both parse back to the original text. */
Test(result_json, strings_escaped)
{
    const char *evil = "</script><!--\"\\\n\t\x01&\xE2\x80\xA8\xE2\x82\xB9";
    const char *const symbols[] = {evil};
    struct backtest_result r;
    sample_init_named(&r, evil, symbols, 1);
    struct metrics_trade t = {.symbol = evil, .side = METRICS_SHORT, .qty = 2,
                              .entry_ts = sample_close(3, 1), .entry_px = PX("100"),
                              .exit_ts = sample_close(3, 1), .exit_px = PX("90"),
                              .pnl = PX("20")};
    cr_assert_eq(result_add_trade(&r, &t, NULL), ATP_OK);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    for (int html = 0; html <= 1; html++) {
        int rc;
        char *text = sample_render(html ? result_write_json_html : result_write_json, &r, &rc,
                                   NULL);
        cr_assert_eq(rc, ATP_OK);
        json_t *root = parse(text);
        json_t *tr = json_array_get(json_object_get(root, "trades"), 0);
        cr_assert_str_eq(str(tr, "symbol"), evil);
        if (html) {
            cr_assert_null(strchr(text, '<'), "%s", text);
            cr_assert_null(strchr(text, '>'), "%s", text);
            cr_assert_null(strchr(text, '&'), "%s", text);
            cr_assert_null(strstr(text, "\xE2\x80\xA8"));
            cr_assert_null(strchr(text, '\n'), "one line");
            cr_assert_not_null(strstr(text, "\\u003c/script\\u003e\\u003c!--"));
            cr_assert_not_null(strstr(text, "\xE2\x82\xB9")); /* other UTF-8 as is */
        } else {
            cr_assert_not_null(strstr(text, "\"</script><!--\\\"\\\\\\n\\t\\u0001&"), "%s", text);
        }
        json_decref(root);
        free(text);
    }
    result_cleanup(&r);
}

Test(result_csv, sample)
{
    struct backtest_result r;
    sample_build(&r);
    int rc;
    char *text = sample_render(result_write_trades_csv, &r, &rc, NULL);
    cr_assert_eq(rc, ATP_OK);
    char want[2048];
    snprintf(want, sizeof want,
             "symbol,side,qty,entry_time,entry_price,exit_time,exit_price,pnl,pnl_pct,charges,"
             "holding_bars\n"
             "RELIANCE,long,10,2024-01-01T15:30:00+05:30,2450.5,2024-01-03T15:30:00+05:30,"
             "2600.05,1475,%.15g,20.5,2\n"
             "TCS,short,5,2024-01-02T15:30:00+05:30,3200.1,2024-02-01T15:30:00+05:30,3300,"
             "-511.75,%.15g,12.25,4\n"
             "INFY,long,3,2024-02-02T15:30:00+05:30,1500.0025,,,-3.5,%.15g,1.75,0\n",
             1475 / 24505.0 * 100, -511.75 / 16000.5 * 100, -3.5 / 4500.0075 * 100);
    cr_assert_str_eq(text, want);
    cr_assert_not_null(strstr(text, ",6.01917975923281,"), "hand value of 1475/24505: %s", text);
    free(text);
    result_cleanup(&r);
}

Test(result_csv, quoting_and_empty)
{
    const char *const symbols[] = {"A,\"B\""};
    struct backtest_result r;
    sample_init_named(&r, "s", symbols, 1);
    struct metrics_trade t = {.symbol = "A,\"B\"", .side = METRICS_LONG, .qty = 1,
                              .entry_ts = sample_close(3, 1), .entry_px = 0, .is_open = 1};
    cr_assert_eq(result_add_trade(&r, &t, NULL), ATP_OK);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    int rc;
    char *text = sample_render(result_write_trades_csv, &r, &rc, NULL);
    cr_assert_eq(rc, ATP_OK);
    /* zero notional: pnl_pct undefined, empty */
    cr_assert_str_eq(strchr(text, '\n') + 1,
                     "\"A,\"\"B\"\"\",long,1,2024-03-01T15:30:00+05:30,0,,,0,,0,0\n");
    free(text);
    result_cleanup(&r);
}

/* ---- the builder ---------------------------------------------------------------------- */

Test(result_builder, init_copies_and_validates)
{
    /* inputs on the heap, freed before the result is read: copies, not references (ASan
     * would see a use after free) */
    char *name = strdup("sma_cross"), *sym = strdup("RELIANCE"), *pname = strdup("fast");
    const char *symbols[] = {sym};
    struct ind_param params[] = {{pname, 12.5}};
    struct result_config cfg = {.strategy = name, .params = params, .n_params = 1,
                                .symbols = symbols, .n_symbols = 1, .timeframe = "5m",
                                .initial_capital = PX_RUPEES(500000), .risk_free_annual = 0.065};
    struct backtest_result r;
    struct atp_err err;
    cr_assert_eq(result_init(&r, &cfg, &err), ATP_OK);
    free(name);
    free(sym);
    free(pname);
    cr_assert_str_eq(r.strategy, "sma_cross");
    cr_assert_str_eq(r.symbols[0], "RELIANCE");
    cr_assert_str_eq(r.params[0].name, "fast");
    cr_assert_eq(r.params[0].value, 12.5);
    cr_assert_str_eq(r.timeframe, "5m");
    cr_assert_eq(r.initial_capital, PX_RUPEES(500000));
    result_cleanup(&r);
    result_cleanup(&r); /* twice is fine */
    result_cleanup(NULL);

    static const struct {
        const char *strategy;
        const char *symbol;
        double value;
        px_t capital;
        double rf;
        const char *field;
    } bad[] = {
        {"", "A", 1, 1, 0, "strategy"},
        {NULL, "A", 1, 1, 0, "strategy"},
        {"s\xFF", "A", 1, 1, 0, "strategy"},
        {"s", "\xC0\xAF", 1, 1, 0, "symbols[0]"},     /* overlong '/' */
        {"s", "\xED\xA0\x80", 1, 1, 0, "symbols[0]"}, /* surrogate */
        {"s", "A\xE2\x82", 1, 1, 0, "symbols[0]"},    /* truncated */
        {"s", "", 1, 1, 0, "symbols[0]"},
        {"s", "A", NAN, 1, 0, "params[0].value"},
        {"s", "A", 1, 0, 0, "initial_capital"},
        {"s", "A", 1, 1, -1, "risk_free_annual"},
    };
    for (size_t i = 0; i < NKEYS(bad); i++) {
        const char *syms[] = {bad[i].symbol};
        struct ind_param p[] = {{"fast", bad[i].value}};
        struct result_config c = {.strategy = bad[i].strategy, .params = p, .n_params = 1,
                                  .symbols = syms, .n_symbols = 1,
                                  .initial_capital = bad[i].capital,
                                  .risk_free_annual = bad[i].rf};
        memset(&r, 0x5a, sizeof r);
        cr_assert_eq(result_init(&r, &c, &err), ATP_EINVAL, "case %zu", i);
        cr_assert_str_eq(err.field, bad[i].field, "case %zu", i);
        cr_assert_null(r.strategy, "case %zu: left empty", i);
        result_cleanup(&r);
    }
    /* valid multi-byte UTF-8 passes */
    const char *ok_syms[] = {"NIFTY\xE2\x82\xB9\xF0\x9F\x93\x88"};
    struct result_config c = {.strategy = "s", .symbols = ok_syms, .n_symbols = 1,
                              .initial_capital = 1};
    cr_assert_eq(result_init(&r, &c, &err), ATP_OK);
    result_cleanup(&r);
}

Test(result_builder, states_and_errors)
{
    struct backtest_result r;
    struct atp_err err;
    static const char *const symbols[] = {"A"};
    sample_init_named(&r, "s", symbols, 1);
    /* write before finish */
    int rc;
    char *text = sample_render(result_write_json, &r, &rc, &err);
    cr_assert_eq(rc, ATP_ESTATE);
    cr_assert_str_eq(text, "");
    free(text);
    /* a trade without a symbol */
    struct metrics_trade t = {.symbol = NULL, .side = METRICS_LONG, .qty = 1};
    cr_assert_eq(result_add_trade(&r, &t, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "trades[0].symbol");
    cr_assert_eq(r.n_trades, 0);
    /* points out of order: finish fails, the result stays open and unchanged */
    cr_assert_eq(result_add_point(&r, sample_close(1, 2), PX("100"), 0, NULL), ATP_OK);
    cr_assert_eq(result_add_point(&r, sample_close(1, 1), PX("100"), 0, NULL), ATP_OK);
    cr_assert_eq(result_finish(&r, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "points[1].ts");
    cr_assert_eq(r.finished, 0);
    cr_assert_null(r.drawdown_pct);
    /* a bad trade is caught by finish */
    r.n_points = 0;
    t = (struct metrics_trade){.symbol = "A", .side = 0, .qty = 1};
    cr_assert_eq(result_add_trade(&r, &t, NULL), ATP_OK);
    cr_assert_eq(result_finish(&r, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "trades[0].side");
    r.trades[0].side = METRICS_LONG;
    cr_assert_eq(result_set_period(&r, 10, 5, &err), ATP_EINVAL);
    cr_assert_eq(result_set_period(&r, sample_close(1, 1), sample_close(6, 28), &err), ATP_OK);
    cr_assert_eq(result_finish(&r, &err), ATP_OK, "%s", err.msg);
    /* frozen */
    cr_assert_eq(result_finish(&r, &err), ATP_ESTATE);
    cr_assert_eq(result_add_point(&r, sample_close(1, 3), 1, 0, &err), ATP_ESTATE);
    cr_assert_eq(result_add_trade(&r, &t, &err), ATP_ESTATE);
    cr_assert_eq(result_set_period(&r, 1, 2, &err), ATP_ESTATE);
    cr_assert_eq(r.period_first, sample_close(1, 1)); /* the given period, not the points' */
    cr_assert_eq(r.period_last, sample_close(6, 28));
    result_cleanup(&r);
}

Test(result_builder, period_from_points_and_growth)
{
    struct backtest_result r;
    static const char *const symbols[] = {"A"};
    sample_init_named(&r, "s", symbols, 1);
    ts_ns t0 = ts_from_ist(2024, 1, 1, 9, 15, 0);
    for (int i = 0; i < 1000; i++) /* many doublings */
        cr_assert_eq(result_add_point(&r, t0 + i * TS_NS_PER_MIN, PX_RUPEES(100000 + i), i & 1,
                                      NULL),
                     ATP_OK);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    cr_assert_eq(r.n_points, 1000);
    cr_assert_eq(r.points[999].equity, PX_RUPEES(100999));
    cr_assert_eq(r.points[999].in_market, 1);
    cr_assert_eq(r.period_first, t0);
    cr_assert_eq(r.period_last, t0 + 999 * TS_NS_PER_MIN);
    cr_assert_eq(r.n_months, 1);
    result_cleanup(&r);
}

/* Every allocation of building and finishing the sample fails once in turn: the call reports
 * ATP_ENOMEM, the result stays usable, and nothing leaks. */
Test(result_builder, enomem_everywhere)
{
    long base = atp_alloc_live();
    for (long k = 1; k < 200; k++) {
        struct backtest_result r;
        struct atp_err err;
        static const char *const symbols[] = {"RELIANCE", "TCS", "INFY"};
        static const struct ind_param params[] = {{"fast", 10}, {"slow", 30}};
        struct result_config cfg = {.strategy = "sma_cross", .params = params, .n_params = 2,
                                    .symbols = symbols, .n_symbols = 3, .timeframe = "1d",
                                    .initial_capital = PX_RUPEES(100000)};
        atp_alloc_fail_after(k);
        int rc = result_init(&r, &cfg, &err);
        int failed = rc != ATP_OK;
        if (rc == ATP_OK) {
            for (int i = 0; i < 40 && rc == ATP_OK; i++)
                rc = result_add_point(&r, sample_close(1, 1) + i * TS_NS_PER_DAY,
                                      PX_RUPEES(100000 + i), 0, &err);
            struct metrics_trade t = {.symbol = "TCS", .side = METRICS_LONG, .qty = 1,
                                      .entry_ts = sample_close(1, 1), .entry_px = 1,
                                      .exit_ts = sample_close(1, 2), .exit_px = 2, .pnl = 1};
            for (int i = 0; i < 20 && rc == ATP_OK; i++)
                rc = result_add_trade(&r, &t, &err);
            if (rc == ATP_OK)
                rc = result_finish(&r, &err);
            failed = rc != ATP_OK;
        }
        atp_alloc_fail_after(0);
        if (failed) {
            cr_assert_eq(rc, ATP_ENOMEM, "k=%ld rc=%d %s", k, rc, err.msg);
            cr_assert_eq(r.finished, 0);
        }
        result_cleanup(&r);
        cr_assert_eq(atp_alloc_live(), base, "leak at k=%ld", k);
        if (!failed)
            return; /* every allocation has been failed once */
    }
    cr_assert_fail("never completed");
}

Test(result_write, io_error_reported)
{
    FILE *f = fopen("/dev/full", "w");
    cr_assert_not_null(f, "/dev/full is needed for this test");
    struct backtest_result r;
    sample_build(&r);
    struct atp_err err;
    cr_assert_eq(result_write_json(&r, f, &err), ATP_EIO);
    cr_assert_not_null(strstr(err.msg, "JSON"), "%s", err.msg);
    clearerr(f);
    cr_assert_eq(result_write_trades_csv(&r, f, &err), ATP_EIO);
    fclose(f);
    result_cleanup(&r);
}
