/* Indicator library: values against real TA-Lib output, hand-computed vwap/supertrend tables,
 * the registry/parameter contract, peek/reset semantics and leaks.
 *
 * TA-Lib reference data: tests/data/indicators/ (input.csv = the bar series, cases.csv = one
 * row per indicator + parameter set, <case>.csv = TA-Lib's outputs per bar, empty before
 * TA-Lib's first output). Regenerate with tests/tools/talib-ref/gen.js (see its header). */
#include <criterion/criterion.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/csv.h"
#include "md/indicator.h"
#include "testutil.h"

#define MAX_BARS 1000
#define MAX_CASES 128

/* Values must equal TA-Lib's to 1e-9 relative. Values that are zero up to round-off (TA-Lib's
 * own running sums leave e.g. a stochastic of 2.8e-14 over a flat window) are compared with an
 * absolute floor of 1e-12, far below any meaningful indicator resolution. */
#define REL_TOL 1e-9
#define ABS_FLOOR 1e-12

static int close_enough(double got, double want)
{
    double diff = fabs(got - want);
    double scale = fmax(fabs(got), fabs(want));
    return diff <= REL_TOL * scale || diff <= ABS_FLOOR;
}

/* Same double, NaN included (peek must be bit-for-bit what update gives). */
static int same_value(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

/* ------------------------------------------------------------------------ CSV loading */

static void field_str(const struct csv_reader *r, int i, char *buf, size_t size)
{
    cr_assert_eq(csv_field_copy(r, i, buf, size), ATP_OK, "%s:%ld: field %d too long", r->name,
                 r->line, i);
}

/* Number in field i; NAN for an empty field. */
static double field_num(const struct csv_reader *r, int i)
{
    char buf[64], *end;
    field_str(r, i, buf, sizeof buf);
    if (buf[0] == '\0')
        return NAN;
    double v = strtod(buf, &end);
    cr_assert(*end == '\0', "%s:%ld: field %d: '%s' is not a number", r->name, r->line, i, buf);
    return v;
}

static int column(const struct csv_reader *r, const char *name)
{
    int c = csv_find_column(r, name);
    cr_assert(c >= 0, "%s: no column '%s'", r->name, name);
    return c;
}

/* Opens a file of tests/data/indicators and reads its header row. */
static FILE *open_data(struct csv_reader *r, const char *file)
{
    struct atp_err err;
    const char *path = tu_root_path(file);
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s", path);
    csv_reader_init(r, f, file);
    cr_assert_eq(csv_read_row(r, &err), 1, "%s: no header", file);
    return f;
}

static struct atp_bar_in bars[MAX_BARS];
static int n_bars;

static void load_bars(void)
{
    struct csv_reader r;
    struct atp_err err;
    FILE *f = open_data(&r, "tests/data/indicators/input.csv");
    int c_i = column(&r, "i"), c_ts = column(&r, "ts_ns"), c_s = column(&r, "session");
    int c_o = column(&r, "open"), c_h = column(&r, "high"), c_l = column(&r, "low");
    int c_c = column(&r, "close"), c_v = column(&r, "volume");
    long long ts, session, idx;
    n_bars = 0;
    while (csv_read_row(&r, &err) == 1) {
        cr_assert_lt(n_bars, MAX_BARS);
        struct atp_bar_in *b = &bars[n_bars];
        cr_assert_eq(csv_field_int(&r, c_i, &idx, &err), ATP_OK);
        cr_assert_eq(idx, n_bars, "input.csv:%ld: bars out of order", r.line);
        cr_assert_eq(csv_field_int(&r, c_ts, &ts, &err), ATP_OK);
        cr_assert_eq(csv_field_int(&r, c_s, &session, &err), ATP_OK);
        b->ts_ns = ts;
        b->session = session;
        b->open = field_num(&r, c_o);
        b->high = field_num(&r, c_h);
        b->low = field_num(&r, c_l);
        b->close = field_num(&r, c_c);
        b->volume = field_num(&r, c_v);
        n_bars++;
    }
    csv_reader_cleanup(&r);
    fclose(f);
    cr_assert_geq(n_bars, 300, "input.csv too short");
}

struct tcase {
    char id[64];
    char indicator[32];
    char params[128]; /* "name=value;name=value" */
    int lookback;     /* TA-Lib's outBegIdx for the indicator's main function */
    char talib[128];
};

static struct tcase cases[MAX_CASES];
static int n_cases;

static void load_cases(void)
{
    struct csv_reader r;
    struct atp_err err;
    FILE *f = open_data(&r, "tests/data/indicators/cases.csv");
    int c_case = column(&r, "case"), c_ind = column(&r, "indicator");
    int c_par = column(&r, "params"), c_lb = column(&r, "lookback"), c_ta = column(&r, "talib");
    long long lb;
    n_cases = 0;
    while (csv_read_row(&r, &err) == 1) {
        cr_assert_lt(n_cases, MAX_CASES);
        struct tcase *tc = &cases[n_cases++];
        field_str(&r, c_case, tc->id, sizeof tc->id);
        field_str(&r, c_ind, tc->indicator, sizeof tc->indicator);
        field_str(&r, c_par, tc->params, sizeof tc->params);
        field_str(&r, c_ta, tc->talib, sizeof tc->talib);
        cr_assert_eq(csv_field_int(&r, c_lb, &lb, &err), ATP_OK);
        tc->lookback = (int)lb;
    }
    csv_reader_cleanup(&r);
    fclose(f);
    cr_assert_geq(n_cases, 20, "cases.csv too short");
}

/* Splits "a=1;b=2.5" into ind_param (names point into storage, which the caller keeps). */
static int parse_params(char *storage, struct ind_param *out, int max)
{
    int n = 0;
    for (char *tok = strtok(storage, ";"); tok; tok = strtok(NULL, ";")) {
        char *eq = strchr(tok, '=');
        cr_assert(eq && n < max, "bad params '%s'", tok);
        *eq = '\0';
        out[n].name = tok;
        out[n].value = strtod(eq + 1, NULL);
        n++;
    }
    return n;
}

/* Expected outputs of one case: want[bar][output], NAN where TA-Lib gives nothing. */
static double want[MAX_BARS][ATP_IND_MAX_OUTPUTS];

static void load_expected(const struct tcase *tc, const struct atp_indicator_def *def)
{
    struct csv_reader r;
    struct atp_err err;
    char file[160];
    snprintf(file, sizeof file, "tests/data/indicators/%s.csv", tc->id);
    FILE *f = open_data(&r, file);
    int cols[ATP_IND_MAX_OUTPUTS];
    for (int j = 0; j < def->n_outputs; j++)
        cols[j] = column(&r, def->outputs[j]);
    int i = 0;
    while (csv_read_row(&r, &err) == 1) {
        cr_assert_lt(i, n_bars, "%s: more rows than bars", file);
        for (int j = 0; j < def->n_outputs; j++)
            want[i][j] = field_num(&r, cols[j]);
        i++;
    }
    cr_assert_eq(i, n_bars, "%s: %d rows for %d bars", file, i, n_bars);
    csv_reader_cleanup(&r);
    fclose(f);
}

/* ------------------------------------------------------------------------ TA-Lib cases */

/* Runs one case through two instances: `ind` only updates; `twin` peeks (a different bar,
 * then the real one) before each update. Checks values against TA-Lib, the NAN pattern and
 * return code against the lookback, and that peeking neither differs from updating nor
 * disturbs the instance. Returns the number of mismatches (the first few are printed). */
static int run_case(const struct tcase *tc)
{
    struct ind_param given[ATP_IND_MAX_PARAMS];
    char storage[sizeof tc->params];
    struct atp_err err;
    struct ind *ind = NULL, *twin = NULL;
    int bad = 0;

    memcpy(storage, tc->params, sizeof storage);
    int n_given = parse_params(storage, given, ATP_IND_MAX_PARAMS);
    cr_assert_eq(ind_new(tc->indicator, given, n_given, &ind, &err), ATP_OK, "%s: %s", tc->id,
                 err.msg);
    cr_assert_eq(ind_new(tc->indicator, given, n_given, &twin, &err), ATP_OK);
    const struct atp_indicator_def *def = ind_def(ind);
    load_expected(tc, def);

    int lookback = def->lookback(ind_params(ind));
    if (lookback != tc->lookback) {
        fprintf(stderr, "%s: lookback() = %d, TA-Lib %s begins at %d\n", tc->id, lookback,
                tc->talib, tc->lookback);
        bad++;
    }

    for (int i = 0; i < n_bars; i++) {
        double out[ATP_IND_MAX_OUTPUTS], peek_out[ATP_IND_MAX_OUTPUTS];
        double twin_out[ATP_IND_MAX_OUTPUTS];
        struct atp_bar_in other = bars[i];
        other.close *= 1.013;
        other.high = fmax(other.high * 1.02, other.close);
        other.low *= 0.99;
        other.session += 1;
        ind_peek(twin, &other, peek_out);
        int peek_rc = ind_peek(twin, &bars[i], peek_out);
        int twin_rc = ind_update(twin, &bars[i], twin_out);
        int rc = ind_update(ind, &bars[i], out);

        if (rc != (i >= tc->lookback)) {
            if (bad++ < 5)
                fprintf(stderr, "%s bar %d: update returned %d (lookback %d)\n", tc->id, i, rc,
                        tc->lookback);
        }
        if (peek_rc != rc || twin_rc != rc) {
            if (bad++ < 5)
                fprintf(stderr, "%s bar %d: rc update %d, peek %d, twin %d\n", tc->id, i, rc,
                        peek_rc, twin_rc);
        }
        for (int j = 0; j < def->n_outputs; j++) {
            double w = want[i][j];
            int ok = isnan(w) ? isnan(out[j]) : (!isnan(out[j]) && close_enough(out[j], w));
            if (!ok && bad++ < 5)
                fprintf(stderr, "%s bar %d %s: got %.17g, TA-Lib %s gives %.17g\n", tc->id, i,
                        def->outputs[j], out[j], tc->talib, w);
            if ((!same_value(peek_out[j], out[j]) || !same_value(twin_out[j], out[j])) &&
                bad++ < 5)
                fprintf(stderr, "%s bar %d %s: update %.17g, peek %.17g, after peeks %.17g\n",
                        tc->id, i, def->outputs[j], out[j], peek_out[j], twin_out[j]);
        }
    }
    ind_free(ind);
    ind_free(twin);
    return bad;
}

Test(indicators, match_talib)
{
    load_bars();
    load_cases();
    int failed_cases = 0;
    for (int c = 0; c < n_cases; c++) {
        int bad = run_case(&cases[c]);
        if (bad) {
            fprintf(stderr, "case %s: %d mismatches\n", cases[c].id, bad);
            failed_cases++;
        }
    }
    cr_assert_eq(failed_cases, 0, "%d of %d TA-Lib cases differ (details on stderr)",
                 failed_cases, n_cases);
}

/* Every indicator that exists in TA-Lib has reference cases, defaults included. */
Test(indicators, talib_cases_cover_catalog)
{
    load_cases();
    static const char *const in_talib[] = {"sma", "ema", "wma", "rsi", "macd",
                                           "bbands", "atr", "stoch", "adx"};
    for (size_t k = 0; k < sizeof in_talib / sizeof in_talib[0]; k++) {
        const struct atp_indicator_def *def = ind_find(in_talib[k]);
        cr_assert(def, "%s missing from the catalog", in_talib[k]);
        int n = 0, with_defaults = 0;
        for (int c = 0; c < n_cases; c++) {
            if (strcmp(cases[c].indicator, in_talib[k]) != 0)
                continue;
            n++;
            struct ind_param given[ATP_IND_MAX_PARAMS];
            char storage[sizeof cases[c].params];
            memcpy(storage, cases[c].params, sizeof storage);
            int n_given = parse_params(storage, given, ATP_IND_MAX_PARAMS);
            int all_default = 1;
            for (int g = 0; g < n_given; g++)
                for (int p = 0; p < def->n_params; p++)
                    if (strcmp(def->params[p].name, given[g].name) == 0 &&
                        given[g].value != def->params[p].def)
                        all_default = 0;
            with_defaults += all_default;
        }
        cr_expect_geq(n, 2, "%s: %d TA-Lib cases, want defaults + non-defaults", in_talib[k], n);
        cr_expect_eq(with_defaults, 1, "%s: no case with the default parameters", in_talib[k]);
    }
}

/* ------------------------------------------------------------------------ hand tables */

struct hand_row {
    int64_t session;
    double high, low, close, volume;
    int valid;
    double want[2];
};

static void run_hand_table(const char *name, const struct ind_param *given, int n_given,
                           const struct hand_row *rows, int n_rows)
{
    struct ind *ind = NULL;
    struct atp_err err;
    cr_assert_eq(ind_new(name, given, n_given, &ind, &err), ATP_OK, "%s", err.msg);
    const struct atp_indicator_def *def = ind_def(ind);
    for (int i = 0; i < n_rows; i++) {
        const struct hand_row *row = &rows[i];
        struct atp_bar_in bar = {.ts_ns = i, .session = row->session, .open = row->close,
                                 .high = row->high, .low = row->low, .close = row->close,
                                 .volume = row->volume};
        double out[ATP_IND_MAX_OUTPUTS], peek_out[ATP_IND_MAX_OUTPUTS];
        int peek_rc = ind_peek(ind, &bar, peek_out);
        int rc = ind_update(ind, &bar, out);
        cr_assert_eq(rc, row->valid, "%s row %d: rc %d", name, i, rc);
        cr_assert_eq(peek_rc, rc, "%s row %d: peek rc", name, i);
        for (int j = 0; j < def->n_outputs; j++) {
            cr_assert(same_value(out[j], peek_out[j]), "%s row %d: peek differs", name, i);
            if (isnan(row->want[j]))
                cr_assert(isnan(out[j]), "%s row %d %s: want NAN, got %.17g", name, i,
                          def->outputs[j], out[j]);
            else
                cr_assert(fabs(out[j] - row->want[j]) <= 1e-12 * fabs(row->want[j]),
                          "%s row %d %s: got %.17g, want %.17g", name, i, def->outputs[j],
                          out[j], row->want[j]);
        }
    }
    ind_free(ind);
}

/* vwap = sum(tp * v) / sum(v) since the session start, tp = (h + l + c) / 3.
 *  row 0 s1: tp = (102+98+100)/3 = 100;        pv = 10000;          v = 100 -> 100
 *  row 1 s1: tp = (106+100+104)/3 = 310/3;     pv = 10000 + 31000;  v = 400 -> 41000/400 = 102.5
 *  row 2 s1: no volume: sums unchanged                                      -> 102.5
 *  row 3 s2: new session, sums restart; no volume yet                       -> NAN, not valid
 *  row 4 s2: tp = (200+196+198)/3 = 198;       pv = 9900;           v = 50  -> 198
 *  row 5 s2: tp = (203+199+201)/3 = 201;       pv = 9900 + 30150;   v = 200 -> 40050/200 = 200.25
 *  row 6 s1: the session changes again (whatever its number) -> restart: tp = 100 -> 100 */
Test(indicators, vwap_hand_table)
{
    static const struct hand_row rows[] = {
        {1, 102, 98, 100, 100, 1, {100.0}},
        {1, 106, 100, 104, 300, 1, {102.5}},
        {1, 105, 99, 102, 0, 1, {102.5}},
        {2, 201, 195, 198, 0, 0, {NAN}},
        {2, 200, 196, 198, 50, 1, {198.0}},
        {2, 203, 199, 201, 150, 1, {200.25}},
        {1, 101, 99, 100, 10, 1, {100.0}},
    };
    run_hand_table("vwap", NULL, 0, rows, (int)(sizeof rows / sizeof rows[0]));
}

/* supertrend period=3 multiplier=1. TR from bar 1 (needs the previous close); ATR(3) first on
 * bar 3 = mean of TR1..TR3, then atr = (atr*2 + tr)/3. basic bands = hl2 -/+ atr.
 *  bar 0: h10 l9  c9.5                                                        -> NAN
 *  bar 1: h11 l10 c10.5  TR = max(1, |9.5-11|, |9.5-10|) = 1.5                -> NAN
 *  bar 2: h12 l11 c11.5  TR = max(1, 1.5, 0.5) = 1.5                          -> NAN
 *  bar 3: h12 l10 c11    TR = max(2, 0.5, 1.5) = 2; ATR = 5/3; hl2 = 11
 *         first bands: upper = 11 + 5/3, lower = 11 - 5/3; direction -1 -> value = 11 + 5/3
 *  bar 4: h14 l13 c13.5  TR = max(1, 3, 2) = 3; ATR = (10/3 + 3)/3 = 19/9; hl2 = 13.5
 *         basic upper 13.5 + 19/9 is not below 11 + 5/3 and prev close 11 is not above it
 *         -> upper stays 11 + 5/3; basic lower 13.5 - 19/9 > 11 - 5/3 -> lower = 13.5 - 19/9
 *         close 13.5 > upper -> direction +1, value = lower = 13.5 - 19/9
 *  bar 5: h14 l12 c12.5  TR = max(2, 0.5, 1.5) = 2; ATR = (38/9 + 2)/3 = 56/27; hl2 = 13
 *         prev close 13.5 > upper (12.67) -> upper = 13 + 56/27
 *         basic lower 13 - 56/27 = 10.93 is not above 11.39, prev close not below -> kept
 *         close 12.5 not below lower 11.39 -> +1, value = 13.5 - 19/9
 *  bar 6: h12 l10 c10.5  TR = max(2, 0.5, 2.5) = 2.5; ATR = (112/27 + 2.5)/3 = 179.5/81; hl2 11
 *         basic upper 11 + 179.5/81 = 13.22 < 15.07 -> upper = 11 + 179.5/81; lower kept
 *         close 10.5 < lower 11.39 -> direction -1, value = upper = 11 + 179.5/81
 *  bar 7: h11 l9 c9.5    TR = max(2, 0.5, 1.5) = 2; ATR = (359/81 + 2)/3 = 521/243; hl2 = 10
 *         basic upper 10 + 521/243 = 12.14 < 13.22 -> upper = 10 + 521/243
 *         prev close 10.5 < lower 11.39 -> lower = 10 - 521/243
 *         close 9.5 not above upper -> -1, value = 10 + 521/243 */
Test(indicators, supertrend_hand_table)
{
    static const struct ind_param given[] = {{"period", 3}, {"multiplier", 1.0}};
    const struct hand_row rows[] = {
        {1, 10, 9, 9.5, 1, 0, {NAN, NAN}},
        {1, 11, 10, 10.5, 1, 0, {NAN, NAN}},
        {1, 12, 11, 11.5, 1, 0, {NAN, NAN}},
        {1, 12, 10, 11, 1, 1, {11.0 + 5.0 / 3.0, -1}},
        {1, 14, 13, 13.5, 1, 1, {13.5 - 19.0 / 9.0, 1}},
        {1, 14, 12, 12.5, 1, 1, {13.5 - 19.0 / 9.0, 1}},
        {1, 12, 10, 10.5, 1, 1, {11.0 + 179.5 / 81.0, -1}},
        {1, 11, 9, 9.5, 1, 1, {10.0 + 521.0 / 243.0, -1}},
    };
    run_hand_table("supertrend", given, 2, rows, (int)(sizeof rows / sizeof rows[0]));
}

/* ------------------------------------------------------------------------ registry contract */

Test(indicators, catalog_lists_every_indicator)
{
    static const struct {
        const char *name;
        const char *outputs[ATP_IND_MAX_OUTPUTS];
        const char *params[ATP_IND_MAX_PARAMS];
    } spec[] = {
        {"sma", {"value"}, {"period"}},
        {"ema", {"value"}, {"period"}},
        {"wma", {"value"}, {"period"}},
        {"rsi", {"value"}, {"period"}},
        {"macd", {"macd", "signal", "hist"}, {"fast", "slow", "signal"}},
        {"bbands", {"upper", "middle", "lower"}, {"period", "stddev"}},
        {"atr", {"value"}, {"period"}},
        {"stoch", {"k", "d"}, {"k_period", "k_smooth", "d_period"}},
        {"adx", {"value", "plus_di", "minus_di"}, {"period"}},
        {"vwap", {"value"}, {NULL}},
        {"supertrend", {"value", "direction"}, {"period", "multiplier"}},
    };
    size_t n_spec = sizeof spec / sizeof spec[0];
    cr_assert_eq(ind_catalog_count(), n_spec);
    cr_assert_null(ind_catalog_get(n_spec));
    for (size_t i = 0; i < n_spec; i++) {
        const struct atp_indicator_def *def = ind_catalog_get(i);
        cr_assert_not_null(def);
        cr_assert_str_eq(def->name, spec[i].name);
        cr_assert_eq(ind_find(spec[i].name), def);
        cr_assert(def->description && strlen(def->description) > 10, "%s: description",
                  def->name);
        cr_assert(strchr(def->description, '\n') == NULL, "%s: description not one line",
                  def->name);
        int n_out = 0;
        while (n_out < ATP_IND_MAX_OUTPUTS && spec[i].outputs[n_out])
            n_out++;
        cr_assert_eq(def->n_outputs, n_out, "%s: outputs", def->name);
        for (int j = 0; j < n_out; j++)
            cr_assert_str_eq(def->outputs[j], spec[i].outputs[j]);
        int n_par = 0;
        while (n_par < ATP_IND_MAX_PARAMS && spec[i].params[n_par])
            n_par++;
        cr_assert_eq(def->n_params, n_par, "%s: params", def->name);
        for (int p = 0; p < n_par; p++) {
            const struct atp_param_def *pd = &def->params[p];
            cr_assert_str_eq(pd->name, spec[i].params[p]);
            cr_assert(pd->description && pd->description[0], "%s.%s: description", def->name,
                      pd->name);
            cr_assert(pd->min <= pd->def && pd->def <= pd->max, "%s.%s: default out of bounds",
                      def->name, pd->name);
            if (pd->type == ATP_PARAM_INT)
                cr_assert(pd->def == floor(pd->def) && pd->min == floor(pd->min) &&
                              pd->max == floor(pd->max) && pd->min >= 1 && pd->max <= 100000,
                          "%s.%s: int bounds", def->name, pd->name);
        }
        cr_assert_not_null(def->state_size);
        cr_assert_not_null(def->init);
        cr_assert_not_null(def->update);
        cr_assert_not_null(def->lookback);
    }
    /* Double-typed parameters are the ones the spec says. */
    cr_assert_eq(ind_find("bbands")->params[1].type, ATP_PARAM_DOUBLE);
    cr_assert_eq(ind_find("supertrend")->params[1].type, ATP_PARAM_DOUBLE);
    cr_assert_eq(ind_find("macd")->params[0].type, ATP_PARAM_INT);
}

Test(indicators, find_is_case_insensitive)
{
    cr_assert_eq(ind_find("RSI"), ind_find("rsi"));
    cr_assert_eq(ind_find("SuperTrend"), ind_find("supertrend"));
    cr_assert_null(ind_find("rsi2"));
    cr_assert_null(ind_find(""));
    cr_assert_null(ind_find(NULL));
}

Test(indicators, resolve_params_defaults_and_overrides)
{
    const struct atp_indicator_def *def = ind_find("macd");
    double p[ATP_IND_MAX_PARAMS];
    struct atp_err err;
    cr_assert_eq(ind_resolve_params(def, NULL, 0, p, &err), ATP_OK);
    cr_assert(p[0] == 12 && p[1] == 26 && p[2] == 9);
    struct ind_param given[] = {{"SLOW", 30}, {"fast", 5}};
    cr_assert_eq(ind_resolve_params(def, given, 2, p, &err), ATP_OK);
    cr_assert(p[0] == 5 && p[1] == 30 && p[2] == 9);
    struct ind_param dbl[] = {{"stddev", 1.75}};
    cr_assert_eq(ind_resolve_params(ind_find("bbands"), dbl, 1, p, &err), ATP_OK);
    cr_assert(p[0] == 20 && p[1] == 1.75);
}

static void expect_param_error(const char *ind, struct ind_param given, const char *field)
{
    double p[ATP_IND_MAX_PARAMS];
    struct atp_err err;
    atp_err_clear(&err);
    int rc = ind_resolve_params(ind_find(ind), &given, 1, p, &err);
    cr_assert_eq(rc, ATP_EINVAL, "%s %s=%g: rc %d", ind, given.name, given.value, rc);
    cr_assert_eq(err.code, ATP_EINVAL);
    cr_assert_str_eq(err.field, field);
    cr_assert(err.msg[0], "no message");
    /* ind_new reports the same failure. */
    static max_align_t sentinel;
    struct ind *inst = (struct ind *)(void *)&sentinel; /* ind_new must reset it to NULL */
    long live = atp_alloc_live();
    cr_assert_eq(ind_new(ind, &given, 1, &inst, &err), ATP_EINVAL);
    cr_assert_null(inst);
    cr_assert_str_eq(err.field, field);
    cr_assert_eq(atp_alloc_live(), live);
}

Test(indicators, resolve_params_errors)
{
    expect_param_error("rsi", (struct ind_param){"length", 14}, "length");   /* unknown */
    expect_param_error("rsi", (struct ind_param){"period", 14.5}, "period"); /* not integer */
    expect_param_error("rsi", (struct ind_param){"period", 1}, "period");    /* below min */
    expect_param_error("rsi", (struct ind_param){"period", 1001}, "period"); /* above max */
    expect_param_error("rsi", (struct ind_param){"period", NAN}, "period");
    expect_param_error("rsi", (struct ind_param){"period", INFINITY}, "period");
    expect_param_error("bbands", (struct ind_param){"stddev", 0.0}, "stddev");
    expect_param_error("bbands", (struct ind_param){"stddev", 11.0}, "stddev");
    expect_param_error("stoch", (struct ind_param){"k_smooth", 2.5}, "k_smooth");
    expect_param_error("vwap", (struct ind_param){"period", 3}, "period");

    /* A name given twice is ambiguous. */
    double p[ATP_IND_MAX_PARAMS];
    struct atp_err err;
    struct ind_param twice[] = {{"period", 10}, {"period", 12}};
    cr_assert_eq(ind_resolve_params(ind_find("sma"), twice, 2, p, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "period");
}

Test(indicators, unknown_indicator_and_inconsistent_params)
{
    struct ind *inst = NULL;
    struct atp_err err;
    atp_err_clear(&err);
    cr_assert_eq(ind_new("ichimoku", NULL, 0, &inst, &err), ATP_ENOTFOUND);
    cr_assert_null(inst);
    cr_assert_eq(err.code, ATP_ENOTFOUND);
    cr_assert_str_eq(err.field, "name");
    cr_assert(strstr(err.msg, "ichimoku"), "message names the indicator: %s", err.msg);

    long live = atp_alloc_live();
    struct ind_param bad[] = {{"fast", 26}, {"slow", 12}};
    cr_assert_eq(ind_new("macd", bad, 2, &inst, &err), ATP_EINVAL);
    cr_assert_null(inst);
    cr_assert_eq(atp_alloc_live(), live);
}

Test(indicators, alloc_failure_is_clean)
{
    struct ind *inst = NULL;
    struct atp_err err;
    long live = atp_alloc_live();
    atp_alloc_fail_after(1);
    int rc = ind_new("stoch", NULL, 0, &inst, &err);
    atp_alloc_fail_after(0);
    cr_assert_eq(rc, ATP_ENOMEM);
    cr_assert_null(inst);
    cr_assert_eq(atp_alloc_live(), live);
}

/* ------------------------------------------------------------------------ instances */

/* Feeds bars[from..to) and stores the outputs. */
static void feed(struct ind *ind, int from, int to, double (*outs)[ATP_IND_MAX_OUTPUTS], int *rcs)
{
    for (int i = from; i < to; i++)
        rcs[i] = ind_update(ind, &bars[i], outs[i]);
}

static double outs_a[MAX_BARS][ATP_IND_MAX_OUTPUTS], outs_b[MAX_BARS][ATP_IND_MAX_OUTPUTS];
static int rcs_a[MAX_BARS], rcs_b[MAX_BARS];

/* For every indicator (defaults): the first valid bar is lookback(); reset gives a fresh
 * instance; peek never changes what follows; nothing leaks. */
Test(indicators, lifecycle_every_indicator)
{
    load_bars();
    long live = atp_alloc_live();
    for (size_t k = 0; k < ind_catalog_count(); k++) {
        const struct atp_indicator_def *def = ind_catalog_get(k);
        struct ind *a = NULL, *b = NULL;
        struct atp_err err;
        cr_assert_eq(ind_new(def->name, NULL, 0, &a, &err), ATP_OK, "%s: %s", def->name,
                     err.msg);
        cr_assert_eq(ind_new(def->name, NULL, 0, &b, &err), ATP_OK);
        cr_assert_eq(ind_def(a), def);

        feed(a, 0, n_bars, outs_a, rcs_a);
        int lookback = def->lookback(ind_params(a));
        int first_valid = -1;
        for (int i = 0; i < n_bars && first_valid < 0; i++)
            if (rcs_a[i] == 1)
                first_valid = i;
        cr_assert_eq(first_valid, lookback, "%s: first valid bar %d, lookback %d", def->name,
                     first_valid, lookback);
        for (int i = lookback; i < n_bars; i++)
            for (int j = 0; j < def->n_outputs; j++)
                cr_assert(isfinite(outs_a[i][j]), "%s bar %d %s not finite", def->name, i,
                          def->outputs[j]);

        /* b: half the series with peeks of every future bar in between, reset, then the
         * whole series: must give exactly a's outputs. */
        for (int i = 0; i < n_bars / 2; i++) {
            double tmp[ATP_IND_MAX_OUTPUTS];
            ind_peek(b, &bars[n_bars - 1 - i], tmp);
            ind_update(b, &bars[i], tmp);
            ind_peek(b, &bars[i], tmp);
        }
        ind_reset(b);
        feed(b, 0, n_bars, outs_b, rcs_b);
        for (int i = 0; i < n_bars; i++) {
            cr_assert_eq(rcs_a[i], rcs_b[i], "%s bar %d: rc after reset", def->name, i);
            for (int j = 0; j < def->n_outputs; j++)
                cr_assert(same_value(outs_a[i][j], outs_b[i][j]), "%s bar %d %s after reset",
                          def->name, i, def->outputs[j]);
        }
        ind_free(a);
        ind_free(b);
    }
    ind_free(NULL);
    cr_assert_eq(atp_alloc_live(), live, "indicator instances leaked");
}

/* The stochastic's window extremes come from deques, not a scan: check them against a direct
 * computation on long monotonic runs (the deque's worst cases) with a large window. */
Test(indicators, stoch_extremes_on_monotonic_runs)
{
    struct ind_param given[] = {{"k_period", 50}, {"k_smooth", 1}, {"d_period", 1}};
    struct ind *ind = NULL;
    struct atp_err err;
    cr_assert_eq(ind_new("stoch", given, 3, &ind, &err), ATP_OK);
    static double hi[600], lo[600], cl[600];
    for (int i = 0; i < 600; i++) {
        double base = i < 200 ? 1000.0 + i : (i < 400 ? 1400.0 - i : 1000.0 + (i % 7) * 3.0);
        hi[i] = base + 2.0;
        lo[i] = base - 2.0;
        cl[i] = base + ((i % 3) - 1) * 1.5;
        struct atp_bar_in bar = {.session = 1, .open = cl[i], .high = hi[i], .low = lo[i],
                                 .close = cl[i], .volume = 1};
        double out[2];
        int rc = ind_update(ind, &bar, out);
        if (i < 49) {
            cr_assert_eq(rc, 0);
            continue;
        }
        double hh = -INFINITY, ll = INFINITY;
        for (int t = i - 49; t <= i; t++) {
            hh = fmax(hh, hi[t]);
            ll = fmin(ll, lo[t]);
        }
        double want_k = (cl[i] - ll) / ((hh - ll) / 100.0);
        cr_assert_eq(rc, 1);
        cr_assert(fabs(out[0] - want_k) <= 1e-9 * fmax(1.0, fabs(want_k)),
                  "bar %d: k %.17g want %.17g", i, out[0], want_k);
    }
    ind_free(ind);
}
