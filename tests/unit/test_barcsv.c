/* Tests of md/feed/barcsv: Yahoo-style and intraday bar files, column variants, timeframe
 * detection, and every validation error with file, line and field in the message. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cal.h"
#include "md/feed/barcsv.h"
#include "testutil.h"

static struct instreg *reg;
static uint32_t id_reliance, id_infy;
static long live_at_start;

static uint32_t add(const char *sym)
{
    struct instrument in;
    memset(&in, 0, sizeof in);
    snprintf(in.symbol, sizeof in.symbol, "%s", sym);
    in.exchange = EXCH_NSE;
    in.type = INST_EQ;
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
    id_reliance = add("RELIANCE");
    id_infy = add("INFY");
    add("AAPL"); /* a US stock's history loads too: bars are not checked against the calendar */
}

static void teardown(void)
{
    instreg_free(reg);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak: %ld live blocks", atp_alloc_live());
}

TestSuite(barcsv, .init = setup, .fini = teardown);

static int load(const char *text, const char *symbol, struct barcsv_file *out, struct atp_err *err)
{
    FILE *f = tu_mem_file(text);
    cr_assert_not_null(f);
    int rc = barcsv_load(out, f, "bars.csv", reg, symbol, err);
    fclose(f);
    return rc;
}

Test(barcsv, yahoo_daily_with_adj_close)
{
    struct barcsv_file bf;
    struct atp_err err;
    int rc = load("Date,Open,High,Low,Close,Adj Close,Volume\n"
                  "2025-12-01,1550.550049,1560.000000,1540.099976,1555.300049,1549.123456,8123456\n"
                  "2025-12-02,1555.000000,1557.949951,1530.000000,1532.050049,1532.050049,9000000\n",
                  "RELIANCE", &bf, &err);
    cr_assert_eq(rc, ATP_OK, "%s", err.msg);
    cr_assert_eq(bf.n, 2);
    cr_assert(bf.date_only);
    const struct barcsv_row *r = &bf.rows[0];
    cr_assert_eq(r->instrument_id, id_reliance);
    cr_assert_eq(r->date_only, 1);
    cr_assert_eq(r->line, 2);
    cr_assert_eq(r->bar.start, ts_from_ist(2025, 12, 1, 9, 15, 0));
    cr_assert_eq(r->bar.open, 15505500);  /* 1550.550049 rounded to 4 decimals */
    cr_assert_eq(r->bar.high, 15600000);
    cr_assert_eq(r->bar.low, 15401000);   /* 1540.099976 */
    cr_assert_eq(r->bar.close, 15553000); /* Close, not Adj Close */
    cr_assert_eq(r->bar.volume, 8123456);
    cr_assert_eq(r->bar.oi, -1);
    cr_assert_eq(r->bar.ticks, 1u);
    cr_assert_eq(bf.rows[1].bar.close, 15320500);
    enum tf tf;
    cr_assert_eq(barcsv_detect_tf(&bf, "bars.csv", &tf, &err), ATP_OK);
    cr_assert_eq(tf, TF_1D);
    barcsv_file_cleanup(&bf);
}

Test(barcsv, shipped_yahoo_file)
{
    FILE *f = fopen(tu_root_path("tests/data/feeds/RELIANCE_yahoo_1d.csv"), "r");
    cr_assert_not_null(f);
    struct barcsv_file bf;
    struct atp_err err;
    cr_assert_eq(barcsv_load(&bf, f, "RELIANCE_yahoo_1d.csv", reg, "RELIANCE", &err), ATP_OK,
                 "%s", err.msg);
    fclose(f);
    cr_assert_eq(bf.n, 10);
    for (size_t i = 0; i < bf.n; i++)
        cr_assert(bar_is_valid(&bf.rows[i].bar));
    barcsv_file_cleanup(&bf);
}

Test(barcsv, holidays_and_weekends_load_unchecked)
{
    struct barcsv_file bf;
    struct atp_err err;
    /* 2026-01-26 is an NSE holiday, 2026-01-31 a Saturday: taken as given. */
    int rc = load("date,open,high,low,close,volume\n"
                  "2026-01-26,200,210,190,205,100\n2026-01-31,205,206,204,205,0\n",
                  "AAPL", &bf, &err);
    cr_assert_eq(rc, ATP_OK, "%s", err.msg);
    cr_assert_eq(bf.n, 2);
    barcsv_file_cleanup(&bf);
}

Test(barcsv, intraday_multi_symbol_with_symbol_column)
{
    struct barcsv_file bf;
    struct atp_err err;
    int rc = load("symbol,datetime,open,high,low,close,volume,oi\n"
                  "RELIANCE,2026-01-05 09:15:00+05:30,1550,1552,1549,1551,1000,\n"
                  "INFY,2026-01-05 09:15:00+05:30,1600,1601,1599,1600.5,500,\n"
                  "RELIANCE,2026-01-05 09:20:00+05:30,1551,1553,1550,1550.5,800,\n"
                  "INFY,2026-01-05 09:25:00+05:30,1600.5,1602,1600,1601,400,7\n",
                  "IGNORED-WITH-A-COLUMN", &bf, &err);
    cr_assert_eq(rc, ATP_OK, "%s", err.msg);
    cr_assert_eq(bf.n, 4);
    cr_assert_not(bf.date_only);
    cr_assert_eq(bf.rows[1].instrument_id, id_infy);
    cr_assert_eq(bf.rows[3].bar.oi, 7);
    cr_assert_eq(bf.min_gap_ns, 5 * TS_NS_PER_MIN);
    enum tf tf;
    cr_assert_eq(barcsv_detect_tf(&bf, "bars.csv", &tf, &err), ATP_OK);
    cr_assert_eq(tf, TF_5M);
    barcsv_file_cleanup(&bf);
}

Test(barcsv, time_column_variants)
{
    static const struct {
        const char *text;
        ts_ns start;
    } cases[] = {
        {"Date,Time,Open,High,Low,Close,Volume\n2026-01-05,09:16,1,1,1,1,1\n",
         0 * TS_NS_PER_MIN + TS_NS_PER_MIN},
        {"timestamp,open,high,low,close\n1767584760000,1,1,1,1\n", TS_NS_PER_MIN},
        {"time,open,high,low,close,volume\n2026-01-05T03:46:00Z,1,1,1,1,0\n", TS_NS_PER_MIN},
        {"DateTime,Open,High,Low,Close\n2026-01-05T09:16:00+0530,1,1,1,1\n", TS_NS_PER_MIN},
    };
    ts_ns base = ts_from_ist(2026, 1, 5, 9, 15, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct barcsv_file bf;
        struct atp_err err;
        cr_assert_eq(load(cases[i].text, "INFY", &bf, &err), ATP_OK, "case %zu: %s", i, err.msg);
        cr_assert_eq(bf.n, 1, "case %zu", i);
        cr_assert_eq(bf.rows[0].bar.start, base + cases[i].start, "case %zu", i);
        cr_assert_eq(bf.rows[0].date_only, 0);
        barcsv_file_cleanup(&bf);
    }
}

Test(barcsv, no_volume_column_means_zero)
{
    struct barcsv_file bf;
    struct atp_err err;
    cr_assert_eq(load("date,open,high,low,close\n2026-01-05,1,2,1,2\n", "INFY", &bf, &err), ATP_OK);
    cr_assert_eq(bf.rows[0].bar.volume, 0);
    barcsv_file_cleanup(&bf);
}

Test(barcsv, repeated_header_and_comments_skipped)
{
    struct barcsv_file bf;
    struct atp_err err;
    cr_assert_eq(load("# a\ndate,open,high,low,close\n2026-01-05,1,2,1,2\ndate,open,high,low,close\n"
                      "2026-01-06,1,2,1,2\n",
                      "INFY", &bf, &err),
                 ATP_OK, "%s", err.msg);
    cr_assert_eq(bf.n, 2);
    barcsv_file_cleanup(&bf);
}

Test(barcsv, tf_from_gap_table)
{
    static const struct {
        int date_only;
        ts_ns gap;
        int rc;
        enum tf tf;
    } cases[] = {
        {1, 0, ATP_OK, TF_1D},
        {0, TS_NS_PER_MIN, ATP_OK, TF_1M},
        {0, 3 * TS_NS_PER_MIN, ATP_OK, TF_3M},
        {0, 5 * TS_NS_PER_MIN, ATP_OK, TF_5M},
        {0, 15 * TS_NS_PER_MIN, ATP_OK, TF_15M},
        {0, 30 * TS_NS_PER_MIN, ATP_OK, TF_30M},
        {0, TS_NS_PER_HOUR, ATP_OK, TF_1H},
        {0, TS_NS_PER_DAY, ATP_OK, TF_1D},
        {0, 3 * TS_NS_PER_DAY, ATP_OK, TF_1D},
        {0, 150 * TS_NS_PER_SEC, ATP_EINVAL, TF_1M},
        {0, 2 * TS_NS_PER_HOUR, ATP_EINVAL, TF_1M},
        {0, CAL_SESSION_NS, ATP_EINVAL, TF_1M},
        {0, 0, ATP_EINVAL, TF_1M},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum tf tf = TF_COUNT;
        struct atp_err err;
        int rc = barcsv_tf_from_gap(cases[i].date_only, cases[i].gap, &tf, &err);
        cr_expect_eq(rc, cases[i].rc, "case %zu", i);
        if (rc == ATP_OK)
            cr_expect_eq(tf, cases[i].tf, "case %zu: %s", i, tf_name(tf));
        else
            cr_expect_str_eq(err.field, "tf", "case %zu", i);
    }
}

struct error_case {
    const char *name;
    const char *text;
    const char *symbol;
    int code;
    long line;
    const char *field;
    const char *msg_part; /* NULL: not checked */
};

#define YH "Date,Open,High,Low,Close,Adj Close,Volume\n"
#define YROW "2025-12-01,100,110,90,105,105,1000\n"

static const struct error_case error_cases[] = {
    {"empty file", "", "INFY", ATP_EPARSE, 0, NULL, "empty"},
    {"no time column", "day,open,high,low,close\n", "INFY", ATP_EPARSE, 1, "date", NULL},
    {"no open", "date,high,low,close\n", "INFY", ATP_EPARSE, 1, "open", NULL},
    {"no high", "date,open,low,close\n", "INFY", ATP_EPARSE, 1, "high", NULL},
    {"no low", "date,open,high,close\n", "INFY", ATP_EPARSE, 1, "low", NULL},
    {"no close", "date,open,high,low,adj close\n", "INFY", ATP_EPARSE, 1, "close", NULL},
    {"no symbol anywhere", YH YROW, NULL, ATP_EINVAL, 1, "symbol", "no symbol column"},
    {"unknown given symbol", YH YROW, "NOPE", ATP_ENOTFOUND, 0, "symbol", "NOPE"},
    {"unknown row symbol", "symbol,date,open,high,low,close\nINFY,2025-12-01,1,1,1,1\n"
     "NOPE,2025-12-01,1,1,1,1\n", NULL, ATP_ENOTFOUND, 3, "symbol", "NOPE"},
    {"yahoo null row", YH YROW "2025-12-02,null,null,null,null,null,null\n", "INFY", ATP_EPARSE, 3,
     "open", "null"},
    {"null volume only", YH YROW "2025-12-02,100,110,90,105,105,null\n", "INFY", ATP_EPARSE, 3,
     "volume", "null"},
    {"high below open", YH "2025-12-01,100,99,90,95,95,1\n", "INFY", ATP_EINVAL, 2, "high", "open"},
    {"high below close", YH "2025-12-01,100,101,90,102,102,1\n", "INFY", ATP_EINVAL, 2, "high",
     "close"},
    {"low above open", YH "2025-12-01,100,110,101,105,105,1\n", "INFY", ATP_EINVAL, 2, "low", "open"},
    {"low above close", YH "2025-12-01,100,110,99,98,98,1\n", "INFY", ATP_EINVAL, 2, "low", "close"},
    {"negative volume", YH "2025-12-01,100,110,90,105,105,-1\n", "INFY", ATP_EINVAL, 2, "volume",
     NULL},
    {"fractional volume", YH "2025-12-01,100,110,90,105,105,1.5\n", "INFY", ATP_EPARSE, 2, "volume",
     NULL},
    {"empty volume", YH "2025-12-01,100,110,90,105,105,\n", "INFY", ATP_EPARSE, 2, "volume", NULL},
    {"zero price", YH "2025-12-01,0,110,0,105,105,1\n", "INFY", ATP_EINVAL, 2, "open", NULL},
    {"garbage price", YH "2025-12-01,100,1l0,90,105,105,1\n", "INFY", ATP_EPARSE, 2, "high", NULL},
    {"empty close", YH "2025-12-01,100,110,90,,105,1\n", "INFY", ATP_EPARSE, 2, "close", NULL},
    {"bad date", YH "2025-02-30,100,110,90,105,105,1\n", "INFY", ATP_EPARSE, 2, "date", NULL},
    {"year 1769", YH "1769-01-05,100,110,90,105,105,1\n", "INFY", ATP_EPARSE, 2, "date",
     "1900-2199"},
    {"year 2262", YH "2262-04-10,100,110,90,105,105,1\n", "INFY", ATP_EPARSE, 2, "date",
     "1900-2199"},
    {"empty date", YH ",100,110,90,105,105,1\n", "INFY", ATP_EPARSE, 2, "date", NULL},
    {"same date twice", YH YROW YROW, "INFY", ATP_EINVAL, 3, "date", "not after"},
    {"dates going back", YH YROW "2025-11-30,100,110,90,105,105,1\n", "INFY", ATP_EINVAL, 3, "date",
     "not after"},
    {"per symbol order", "symbol,datetime,open,high,low,close\n"
     "INFY,2026-01-05T09:20:00,1,1,1,1\nRELIANCE,2026-01-05T09:15:00,1,1,1,1\n"
     "INFY,2026-01-05T09:15:00,1,1,1,1\n", NULL, ATP_EINVAL, 4, "datetime", "not after"},
    {"date then time", "date,open,high,low,close\n2026-01-05,1,1,1,1\n2026-01-06 09:15,1,1,1,1\n",
     "INFY", ATP_EINVAL, 3, "date", "earlier rows"},
    {"negative oi", "date,open,high,low,close,oi\n2026-01-05,1,1,1,1,-2\n", "INFY", ATP_EINVAL, 2,
     "oi", NULL},
    {"price overflow", YH "2025-12-01,99999999999999999,110,90,105,105,1\n", "INFY", ATP_EOVERFLOW,
     2, "open", NULL},
};

Test(barcsv, error_paths_name_file_line_field)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        struct barcsv_file bf;
        struct atp_err err;
        atp_err_clear(&err);
        int rc = load(c->text, c->symbol, &bf, &err);
        cr_expect_eq(rc, c->code, "%s: rc %d (%s), want %d", c->name, rc, err.msg, c->code);
        cr_expect_eq(bf.n, 0, "%s: rows kept after an error", c->name);
        cr_expect_eq(err.line, c->line, "%s: line %ld want %ld", c->name, err.line, c->line);
        char buf[512], want[64];
        atp_err_format(&err, buf, sizeof buf);
        cr_expect(strstr(buf, "bars.csv") != NULL, "%s: '%s' lacks the file", c->name, buf);
        if (c->line > 0) {
            snprintf(want, sizeof want, "bars.csv:%ld:", c->line);
            cr_expect(strstr(buf, want) != NULL, "%s: '%s' lacks '%s'", c->name, buf, want);
        }
        if (c->field) {
            snprintf(want, sizeof want, "field '%s'", c->field);
            cr_expect(strstr(buf, want) != NULL, "%s: '%s' lacks '%s'", c->name, buf, want);
        }
        if (c->msg_part)
            cr_expect(strstr(buf, c->msg_part) != NULL, "%s: '%s' lacks '%s'", c->name, buf,
                      c->msg_part);
    }
}

Test(barcsv, detect_tf_error_names_file)
{
    struct barcsv_file bf;
    struct atp_err err;
    cr_assert_eq(load("datetime,open,high,low,close\n2026-01-05T09:15,1,1,1,1\n", "INFY", &bf, &err),
                 ATP_OK);
    enum tf tf;
    cr_assert_eq(barcsv_detect_tf(&bf, "bars.csv", &tf, &err), ATP_EINVAL);
    cr_assert_str_eq(err.file, "bars.csv");
    barcsv_file_cleanup(&bf);
}

Test(barcsv, allocation_failures_are_clean)
{
    /* Every allocation of a load, failed in turn: ENOMEM, nothing leaked, nothing kept. */
    const char *text = YH YROW "2025-12-02,100,110,90,105,105,1000\n";
    for (long n = 1; n < 20; n++) {
        struct barcsv_file bf;
        struct atp_err err;
        atp_alloc_fail_after(n);
        int rc = load(text, "INFY", &bf, &err);
        atp_alloc_fail_after(0);
        if (rc == ATP_OK) {
            cr_assert_eq(bf.n, 2);
            barcsv_file_cleanup(&bf);
            break;
        }
        cr_assert_eq(rc, ATP_ENOMEM, "fail at %ld: %d %s", n, rc, err.msg);
        cr_assert_eq(bf.n, 0);
    }
}

static int load_noreg(const char *text, const char *symbol, struct barcsv_file *out,
                      struct atp_err *err)
{
    FILE *f = tu_mem_file(text);
    cr_assert_not_null(f);
    int rc = barcsv_load(out, f, "bars.csv", NULL, symbol, err);
    fclose(f);
    return rc;
}

Test(barcsv, without_a_registry_any_symbols_load)
{
    struct barcsv_file bf;
    struct atp_err err;
    /* symbols unknown to any registry, order checked per symbol string */
    int rc = load_noreg("symbol,datetime,open,high,low,close\n"
                        "MSFT,2026-01-05T20:00:00Z,1,1,1,1\nGOOG,2026-01-05T20:00:00Z,1,1,1,1\n"
                        "MSFT,2026-01-05T20:01:00Z,1,1,1,1\n",
                        NULL, &bf, &err);
    cr_assert_eq(rc, ATP_OK, "%s", err.msg);
    cr_assert(bf.has_symbol_column);
    cr_assert_eq(bf.n, 3);
    cr_assert_str_eq(bf.rows[1].symbol, "GOOG");
    cr_assert_eq(bf.rows[1].instrument_id, BARCSV_NO_INSTRUMENT);
    cr_assert_eq(bf.min_gap_ns, TS_NS_PER_MIN);
    barcsv_file_cleanup(&bf);

    /* no symbol column and none given: fine without a registry */
    cr_assert_eq(load_noreg(YH YROW, NULL, &bf, &err), ATP_OK, "%s", err.msg);
    cr_assert_not(bf.has_symbol_column);
    cr_assert_str_eq(bf.rows[0].symbol, "");
    barcsv_file_cleanup(&bf);
    cr_assert_eq(load_noreg(YH YROW, "SPY", &bf, &err), ATP_OK);
    cr_assert_str_eq(bf.rows[0].symbol, "SPY");
    barcsv_file_cleanup(&bf);

    /* the given symbol is copied into rows with a registry too */
    cr_assert_eq(load(YH YROW, "INFY", &bf, &err), ATP_OK);
    cr_assert_str_eq(bf.rows[0].symbol, "INFY");
    cr_assert_eq(bf.rows[0].instrument_id, id_infy);
    barcsv_file_cleanup(&bf);

    rc = load_noreg("symbol,datetime,open,high,low,close\n"
                    "MSFT,2026-01-05T20:01:00Z,1,1,1,1\nGOOG,2026-01-05T20:00:00Z,1,1,1,1\n"
                    "MSFT,2026-01-05T20:00:00Z,1,1,1,1\n",
                    NULL, &bf, &err);
    cr_assert_eq(rc, ATP_EINVAL);
    cr_assert_eq(err.line, 4);
    rc = load_noreg("symbol,date,open,high,low,close\n"
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,2026-01-05,1,1,1,1\n",
                    NULL, &bf, &err);
    cr_assert_eq(rc, ATP_EPARSE);
    cr_assert_str_eq(err.field, "symbol");
}

Test(barcsv, many_symbols_order_checked_each)
{
    /* 3000 symbols, two bars each: the per-symbol table grows and keeps every symbol apart */
    size_t cap = 3000 * 2 * 48 + 64, n = 0;
    char *text = malloc(cap);
    n += (size_t)snprintf(text + n, cap - n, "symbol,date,open,high,low,close\n");
    for (int day = 5; day <= 6; day++)
        for (int i = 0; i < 3000; i++)
            n += (size_t)snprintf(text + n, cap - n, "S%d,2026-01-0%d,1,1,1,1\n", i, day);
    struct barcsv_file bf;
    struct atp_err err;
    cr_assert_eq(load_noreg(text, NULL, &bf, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(bf.n, 6000);
    barcsv_file_cleanup(&bf);
    /* a repeat of one symbol's first day is caught */
    n += (size_t)snprintf(text + n, cap - n, "S1234,2026-01-05,1,1,1,1\n");
    cr_assert_eq(load_noreg(text, NULL, &bf, &err), ATP_EINVAL);
    cr_assert_eq(err.line, 6002);
    free(text);
}
