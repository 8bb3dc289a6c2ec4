/* Tests of md/feed/tickcsv: the tick CSV reader (happy paths, timestamp forms, every error path
 * with file, line and field in the message) and the writer (round trip). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "md/feed/tickcsv.h"
#include "testutil.h"

static struct instreg *reg;
static uint32_t id_reliance, id_infy, id_fut;
static long live_at_start;

static uint32_t add(const char *sym, enum inst_type type, int64_t lot, px_t tick)
{
    struct instrument in;
    memset(&in, 0, sizeof in);
    snprintf(in.symbol, sizeof in.symbol, "%s", sym);
    in.exchange = type == INST_FUT ? EXCH_NFO : EXCH_NSE;
    in.type = type;
    in.lot_size = lot;
    in.tick_size = tick;
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
    id_reliance = add("RELIANCE", INST_EQ, 1, 500);
    id_infy = add("INFY", INST_EQ, 1, 500);
    id_fut = add("NIFTY26DECFUT", INST_FUT, 65, 1000);
}

static void teardown(void)
{
    instreg_free(reg);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak: %ld live blocks", atp_alloc_live());
}

TestSuite(tickcsv, .init = setup, .fini = teardown);

/* Reads every tick of text (up to max) into out; returns the count, or the error code. */
static int read_all(const char *text, struct tick *out, int max, struct atp_err *err)
{
    FILE *f = tu_mem_file(text);
    cr_assert_not_null(f);
    struct tickcsv_reader r;
    int rc = tickcsv_reader_init(&r, f, "ticks.csv", reg, err);
    int n = 0;
    if (rc == ATP_OK) {
        struct tick t;
        while ((rc = tickcsv_read(&r, &t, err)) == 1) {
            if (n < max)
                out[n] = t;
            n++;
        }
    }
    tickcsv_reader_cleanup(&r);
    fclose(f);
    return rc < 0 ? rc : n;
}

Test(tickcsv, full_row)
{
    struct tick t[4];
    struct atp_err err;
    int n = read_all("timestamp,symbol,ltp,qty,volume,bid,ask,oi,exchange\n"
                     "2026-01-05T09:15:00.250+05:30,RELIANCE,1550.05,10,1000,1550,1550.1,0,NSE\n"
                     "2026-01-05T09:15:01+05:30,NIFTY26DECFUT,26010.3,65,130,26010.2,26010.4,"
                     "1200000,NFO\n",
                     t, 4, &err);
    cr_assert_eq(n, 2, "%d: %s", n, err.msg);
    cr_assert_eq(t[0].instrument_id, id_reliance);
    cr_assert_eq(t[0].ts, ts_from_ist(2026, 1, 5, 9, 15, 0) + 250 * TS_NS_PER_MS);
    cr_assert_eq(t[0].ltp, 15500500);
    cr_assert_eq(t[0].qty, 10);
    cr_assert_eq(t[0].cum_volume, 1000);
    cr_assert_eq(t[0].bid, 15500000);
    cr_assert_eq(t[0].ask, 15501000);
    cr_assert_eq(t[0].oi, 0);
    cr_assert_eq(t[0].flags, TICK_HAS_QTY | TICK_HAS_VOLUME | TICK_HAS_BID | TICK_HAS_ASK | TICK_HAS_OI);
    cr_assert_eq(t[1].instrument_id, id_fut);
    cr_assert_eq(t[1].oi, 1200000);
    cr_assert_eq(t[1].ltp, 260103000);
}

Test(tickcsv, columns_by_name_any_order_and_case_minimal)
{
    struct tick t[2];
    struct atp_err err;
    int n = read_all("LTP,Ignored,Symbol,TimeStamp\n1600,x,INFY,2026-01-05T09:20:00+05:30\n", t, 2,
                     &err);
    cr_assert_eq(n, 1, "%s", err.msg);
    cr_assert_eq(t[0].instrument_id, id_infy);
    cr_assert_eq(t[0].ltp, PX_RUPEES(1600));
    cr_assert_eq(t[0].flags, 0u);
}

Test(tickcsv, empty_optional_cells_leave_flags_unset)
{
    struct tick t[2];
    struct atp_err err;
    int n = read_all("timestamp,symbol,ltp,qty,volume,bid,ask,oi\n"
                     "2026-01-05T09:15:00+05:30,INFY,1600,,500,,1600.05,\n",
                     t, 2, &err);
    cr_assert_eq(n, 1, "%s", err.msg);
    cr_assert_eq(t[0].flags, TICK_HAS_VOLUME | TICK_HAS_ASK);
    cr_assert_eq(t[0].cum_volume, 500);
}

/* The same instant written four ways. */
Test(tickcsv, timestamp_forms_agree)
{
    static const char *const forms[] = {
        "2026-01-05T09:15:00+05:30", "1767584700000", "2026-01-05T03:45:00Z",
        "2026-01-05 09:15:00",       "2026-01-05T09:15:00.000+0530",
    };
    ts_ns want = ts_from_ist(2026, 1, 5, 9, 15, 0);
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "timestamp,symbol,ltp\n%s,INFY,1600\n", forms[i]);
        struct tick t;
        struct atp_err err;
        cr_assert_eq(read_all(text, &t, 1, &err), 1, "%s: %s", forms[i], err.msg);
        cr_assert_eq(t.ts, want, "%s", forms[i]);
    }
}

Test(tickcsv, comments_blank_lines_and_repeated_header_skipped)
{
    struct tick t[4];
    struct atp_err err;
    int n = read_all("# recorded 2026-01-05\n"
                     "timestamp,symbol,ltp\n"
                     "2026-01-05T09:15:00+05:30,INFY,1600\n"
                     "\n"
                     "timestamp,symbol,ltp\n"
                     "# second file\n"
                     "2026-01-05T09:15:01+05:30,RELIANCE,1550\n",
                     t, 4, &err);
    cr_assert_eq(n, 2, "%s", err.msg);
    cr_assert_eq(t[1].instrument_id, id_reliance);
}

Test(tickcsv, crlf_and_quoted_cells)
{
    struct tick t[2];
    struct atp_err err;
    int n = read_all("timestamp,symbol,ltp\r\n\"2026-01-05T09:15:00+05:30\",\"INFY\",\"1600.5\"\r\n",
                     t, 2, &err);
    cr_assert_eq(n, 1, "%s", err.msg);
    cr_assert_eq(t[0].ltp, 16005000);
}

struct error_case {
    const char *name;
    const char *text;
    int code;
    long line;
    const char *field; /* NULL: no field expected */
};

#define H "timestamp,symbol,ltp,qty,volume,bid,ask,oi\n"
#define OK_ROW "2026-01-05T09:15:00+05:30,INFY,1600,1,1,1599.95,1600,5\n"

static const struct error_case error_cases[] = {
    {"empty file", "", ATP_EPARSE, 0, NULL},
    {"missing timestamp column", "symbol,ltp\nINFY,1\n", ATP_EPARSE, 1, "timestamp"},
    {"missing symbol column", "timestamp,ltp\n1767584700000,1\n", ATP_EPARSE, 1, "symbol"},
    {"missing ltp column", "timestamp,symbol,price\n1767584700000,INFY,1\n", ATP_EPARSE, 1, "ltp"},
    {"unknown symbol", H OK_ROW "2026-01-05T09:15:01+05:30,TATAMOTORS,700,,,,,\n", ATP_ENOTFOUND,
     3, "symbol"},
    {"symbol too long", H "2026-01-05T09:15:01+05:30,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,1,,,,,\n",
     ATP_ENOTFOUND, 2, "symbol"},
    {"empty symbol", H "2026-01-05T09:15:01+05:30,,1,,,,,\n", ATP_EPARSE, 2, "symbol"},
    {"bad timestamp", H OK_ROW "2026-13-05T09:15:01+05:30,INFY,1600,,,,,\n", ATP_EPARSE, 3,
     "timestamp"},
    {"garbage timestamp", H "yesterday,INFY,1600,,,,,\n", ATP_EPARSE, 2, "timestamp"},
    {"date without time", H "2026-01-05,INFY,1600,,,,,\n", ATP_EPARSE, 2, "timestamp"},
    {"empty timestamp", H ",INFY,1600,,,,,\n", ATP_EPARSE, 2, "timestamp"},
    {"year 1899", H "1899-12-31T09:15:00+05:30,INFY,1600,,,,,\n", ATP_EPARSE, 2, "timestamp"},
    {"year 2200", H "2200-01-01T09:15:00+05:30,INFY,1600,,,,,\n", ATP_EPARSE, 2, "timestamp"},
    {"epoch ms far ahead", H "9000000000000,INFY,1600,,,,,\n", ATP_EPARSE, 2, "timestamp"},
    {"ltp not a number", H "2026-01-05T09:15:00+05:30,INFY,16OO,,,,,\n", ATP_EPARSE, 2, "ltp"},
    {"ltp five decimals", H "2026-01-05T09:15:00+05:30,INFY,1600.00001,,,,,\n", ATP_ERANGE, 2,
     "ltp"},
    {"ltp empty", H "2026-01-05T09:15:00+05:30,INFY,,,,,,\n", ATP_EPARSE, 2, "ltp"},
    {"ltp zero", H "2026-01-05T09:15:00+05:30,INFY,0,,,,,\n", ATP_EINVAL, 2, "ltp"},
    {"ltp negative", H "2026-01-05T09:15:00+05:30,INFY,-1600,,,,,\n", ATP_EINVAL, 2, "ltp"},
    {"ltp exponent", H "2026-01-05T09:15:00+05:30,INFY,1.6e3,,,,,\n", ATP_EPARSE, 2, "ltp"},
    {"qty negative", H "2026-01-05T09:15:00+05:30,INFY,1600,-5,,,,\n", ATP_EINVAL, 2, "qty"},
    {"qty fractional", H "2026-01-05T09:15:00+05:30,INFY,1600,1.5,,,,\n", ATP_EPARSE, 2, "qty"},
    {"volume negative", H "2026-01-05T09:15:00+05:30,INFY,1600,1,-1,,,\n", ATP_EINVAL, 2,
     "volume"},
    {"volume garbage", H "2026-01-05T09:15:00+05:30,INFY,1600,1,lots,,,\n", ATP_EPARSE, 2,
     "volume"},
    {"volume overflow", H "2026-01-05T09:15:00+05:30,INFY,1600,1,99999999999999999999,,,\n",
     ATP_EOVERFLOW, 2, "volume"},
    {"bid garbage", H "2026-01-05T09:15:00+05:30,INFY,1600,1,1,x,,\n", ATP_EPARSE, 2, "bid"},
    {"ask negative", H "2026-01-05T09:15:00+05:30,INFY,1600,1,1,,-1,\n", ATP_EINVAL, 2, "ask"},
    {"oi garbage", H "2026-01-05T09:15:00+05:30,INFY,1600,1,1,,,many\n", ATP_EPARSE, 2, "oi"},
    {"oi negative", H "2026-01-05T09:15:00+05:30,INFY,1600,1,1,,,-3\n", ATP_EINVAL, 2, "oi"},
    {"unterminated quote", H "2026-01-05T09:15:00+05:30,\"INFY,1600\n", ATP_EPARSE, 2, NULL},
};

Test(tickcsv, error_paths_name_file_line_field)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        struct tick t[4];
        struct atp_err err;
        atp_err_clear(&err);
        int rc = read_all(c->text, t, 4, &err);
        cr_expect_eq(rc, c->code, "%s: rc %d (%s), want %d", c->name, rc, err.msg, c->code);
        cr_expect_eq(err.line, c->line, "%s: line %ld want %ld", c->name, err.line, c->line);
        char buf[512], want[64];
        atp_err_format(&err, buf, sizeof buf);
        cr_expect(strstr(buf, "ticks.csv") != NULL, "%s: '%s' lacks the file", c->name, buf);
        if (c->line > 0) {
            snprintf(want, sizeof want, "ticks.csv:%ld:", c->line);
            cr_expect(strstr(buf, want) != NULL, "%s: '%s' lacks '%s'", c->name, buf, want);
        }
        if (c->field) {
            snprintf(want, sizeof want, "field '%s'", c->field);
            cr_expect(strstr(buf, want) != NULL, "%s: '%s' lacks '%s'", c->name, buf, want);
        }
    }
}

Test(tickcsv, null_registry_knows_no_symbol)
{
    FILE *f = tu_mem_file("timestamp,symbol,ltp\n1767584700000,INFY,1\n");
    struct tickcsv_reader r;
    struct atp_err err;
    cr_assert_eq(tickcsv_reader_init(&r, f, "t.csv", NULL, &err), ATP_OK);
    struct tick t;
    cr_assert_eq(tickcsv_read(&r, &t, &err), ATP_ENOTFOUND);
    tickcsv_reader_cleanup(&r);
    fclose(f);
}

Test(tickcsv, writer_round_trip)
{
    struct tick in[3];
    memset(in, 0, sizeof in);
    in[0] = (struct tick){.instrument_id = id_reliance, .ts = ts_from_ist(2026, 1, 5, 9, 15, 0),
                          .ltp = 15500500, .qty = 7, .cum_volume = 7, .bid = 15500000,
                          .ask = 15500500,
                          .flags = TICK_HAS_QTY | TICK_HAS_VOLUME | TICK_HAS_BID | TICK_HAS_ASK};
    in[1] = (struct tick){.instrument_id = id_infy,
                          .ts = ts_from_ist(2026, 1, 5, 9, 15, 0) + 123 * TS_NS_PER_MS,
                          .ltp = 16000000};
    in[2] = (struct tick){.instrument_id = id_fut, .ts = ts_from_ist(2026, 1, 5, 15, 29, 59),
                          .ltp = 260001000, .qty = 130, .flags = TICK_HAS_QTY};
    char *buf = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&buf, &len);
    struct atp_err err;
    cr_assert_eq(tickcsv_write_header(w, "out.csv", &err), ATP_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tickcsv_write_tick(w, "out.csv", reg, &in[i], &err), ATP_OK);
    fclose(w);
    cr_assert_str_eq(buf, "timestamp,symbol,ltp,qty,volume,bid,ask\n"
                          "2026-01-05T09:15:00+05:30,RELIANCE,1550.05,7,7,1550,1550.05\n"
                          "2026-01-05T09:15:00.123+05:30,INFY,1600,,,,\n"
                          "2026-01-05T15:29:59+05:30,NIFTY26DECFUT,26000.1,130,,,\n");
    struct tick out[3];
    cr_assert_eq(read_all(buf, out, 3, &err), 3, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        cr_assert(memcmp(&in[i], &out[i], sizeof in[i]) == 0, "tick %d differs", i);
    free(buf);

    struct tick bad = in[0];
    bad.instrument_id = 999;
    cr_assert_eq(tickcsv_write_tick(stderr, "x", reg, &bad, &err), ATP_ENOTFOUND);
}

Test(tickcsv, writer_quotes_odd_symbols)
{
    uint32_t id = add("A,\"B\"", INST_EQ, 1, 500);
    struct tick t = {.instrument_id = id, .ts = ts_from_ist(2026, 1, 5, 9, 15, 0), .ltp = 10000};
    char *buf = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&buf, &len);
    struct atp_err err;
    cr_assert_eq(tickcsv_write_header(w, "out.csv", &err), ATP_OK);
    cr_assert_eq(tickcsv_write_tick(w, "out.csv", reg, &t, &err), ATP_OK);
    fclose(w);
    cr_assert(strstr(buf, ",\"A,\"\"B\"\"\",1,") != NULL, "%s", buf);
    struct tick back;
    cr_assert_eq(read_all(buf, &back, 1, &err), 1, "%s", err.msg);
    cr_assert_eq(back.instrument_id, id);
    free(buf);
}
