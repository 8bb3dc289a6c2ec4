/* Tests of model/instrument: the registry, validation, ATP's master CSV loader (every error path),
 * the shipped data/instruments.csv, and Kite's instrument CSV against the shared fixtures. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cal.h"
#include "core/ts.h"
#include "model/instrument.h"
#include "testutil.h"

static long live_at_start;

static void setup(void)
{
    live_at_start = atp_alloc_live();
}

/* Every test frees what it made: the allocator's live count is back where it started. */
static void teardown(void)
{
    atp_alloc_fail_after(0);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak: %ld live blocks, %ld at start",
                 atp_alloc_live(), live_at_start);
}

TestSuite(instrument, .init = setup, .fini = teardown);

#define HDR "symbol,exchange,type,name,underlying,isin,lot_size,tick_size,expiry,strike," \
            "kite_symbol,kite_token,angel_symbol,angel_token,upstox_symbol,upstox_token," \
            "fyers_symbol,fyers_token,dhan_symbol,dhan_token\n"

static int load_text(struct instreg *reg, const char *text, struct atp_err *err)
{
    FILE *f = tu_mem_file(text);
    cr_assert_not_null(f);
    int rc = instreg_load_csv_stream(reg, f, "mem.csv", err);
    fclose(f);
    return rc;
}

static int load_kite_text(struct instreg *reg, const char *text, struct atp_err *err)
{
    FILE *f = tu_mem_file(text);
    cr_assert_not_null(f);
    int rc = instreg_load_kite_csv_stream(reg, f, "kite.csv", err);
    fclose(f);
    return rc;
}

static struct instrument make(const char *symbol, enum exchange ex, enum inst_type type)
{
    struct instrument in;
    memset(&in, 0, sizeof in);
    snprintf(in.symbol, sizeof in.symbol, "%s", symbol);
    in.exchange = ex;
    in.type = type;
    in.lot_size = 1;
    in.tick_size = PX_SCALE / 20;
    in.expiry_day = -1;
    return in;
}

static int64_t day_of(int y, int m, int d)
{
    return ts_days_from_civil(y, m, d);
}

/* ---- enums --------------------------------------------------------------------------------- */

Test(instrument, enum_names_and_parsers)
{
    static const struct {
        const char *text;
        int ok;
        enum broker_id id;
    } brokers[] = {
        {"kite", 1, BROKER_KITE},     {"KITE", 1, BROKER_KITE},    {"zerodha", 1, BROKER_KITE},
        {"Zerodha", 1, BROKER_KITE},  {"angel", 1, BROKER_ANGEL},  {"angelone", 1, BROKER_ANGEL},
        {"upstox", 1, BROKER_UPSTOX}, {"fyers", 1, BROKER_FYERS},  {"dhan", 1, BROKER_DHAN},
        {"DHAN", 1, BROKER_DHAN},     {"groww", 0, BROKER_KITE},   {"", 0, BROKER_KITE},
        {"kite ", 0, BROKER_KITE},
    };
    for (size_t i = 0; i < sizeof brokers / sizeof brokers[0]; i++) {
        enum broker_id b = BROKER_COUNT;
        int rc = broker_parse(brokers[i].text, &b);
        cr_assert_eq(rc, brokers[i].ok ? ATP_OK : ATP_EINVAL, "broker '%s'", brokers[i].text);
        if (brokers[i].ok)
            cr_assert_eq(b, brokers[i].id, "broker '%s'", brokers[i].text);
    }
    for (int b = 0; b < BROKER_COUNT; b++) {
        enum broker_id back;
        cr_assert_eq(broker_parse(broker_name((enum broker_id)b), &back), ATP_OK);
        cr_assert_eq((int)back, b);
    }
    for (int e = 0; e < EXCH_COUNT; e++) {
        enum exchange back;
        cr_assert_eq(exchange_parse(exchange_name((enum exchange)e), &back), ATP_OK);
        cr_assert_eq((int)back, e);
    }
    for (int t = 0; t < INST_TYPE_COUNT; t++) {
        enum inst_type back;
        cr_assert_eq(inst_type_parse(inst_type_name((enum inst_type)t), &back), ATP_OK);
        cr_assert_eq((int)back, t);
    }
    enum exchange ex;
    enum inst_type ty;
    cr_assert_eq(exchange_parse("nfo", &ex), ATP_OK);
    cr_assert_eq(ex, EXCH_NFO);
    cr_assert_eq(exchange_parse("NSEIX", &ex), ATP_EINVAL);
    cr_assert_eq(inst_type_parse("index", &ty), ATP_OK);
    cr_assert_eq(ty, INST_INDEX);
    cr_assert_eq(inst_type_parse("OPT", &ty), ATP_EINVAL);
    cr_assert_str_eq(exchange_name(EXCH_MCX), "MCX");
    cr_assert_str_eq(inst_type_name(INST_PE), "PE");
    cr_assert_str_eq(broker_name(BROKER_FYERS), "fyers");
    cr_assert_str_eq(exchange_name((enum exchange)99), "?");
}

/* ---- registry ------------------------------------------------------------------------------ */

Test(instrument, add_get_find_and_dense_ids)
{
    struct instreg *reg = instreg_new();
    cr_assert_not_null(reg);
    cr_assert_eq(instreg_count(reg), 0);
    cr_assert_null(instreg_get(reg, 0));
    cr_assert_null(instreg_find(reg, "RELIANCE"));

    struct instrument a = make("RELIANCE", EXCH_NSE, INST_EQ);
    snprintf(a.broker[BROKER_KITE].token, INST_TOKEN_MAX, "738561");
    snprintf(a.broker[BROKER_KITE].symbol, INST_SYMBOL_MAX, "RELIANCE");
    uint32_t id = 99;
    cr_assert_eq(instreg_add(reg, &a, &id), ATP_OK);
    cr_assert_eq(id, 0);
    struct instrument b = make("TCS", EXCH_NSE, INST_EQ);
    cr_assert_eq(instreg_add(reg, &b, &id), ATP_OK);
    cr_assert_eq(id, 1);
    cr_assert_eq(instreg_add(reg, &b, NULL), ATP_EEXIST);
    cr_assert_eq(instreg_count(reg), 2);

    const struct instrument *r = instreg_get(reg, 0);
    cr_assert_str_eq(r->symbol, "RELIANCE");
    cr_assert_eq(r->id, 0);
    cr_assert_eq(instreg_find(reg, "RELIANCE"), r);
    cr_assert_eq(instreg_find_on(reg, EXCH_NSE, "RELIANCE"), r);
    cr_assert_null(instreg_find_on(reg, EXCH_BSE, "RELIANCE"));
    cr_assert_null(instreg_find(reg, "reliance"), "symbols are case-sensitive");
    cr_assert_eq(instreg_find_token(reg, BROKER_KITE, "738561"), r);
    cr_assert_null(instreg_find_token(reg, BROKER_ANGEL, "738561"));
    cr_assert_null(instreg_find_token(reg, BROKER_KITE, ""));
    cr_assert_eq(instreg_find_broker_symbol(reg, BROKER_KITE, EXCH_NSE, "RELIANCE"), r);
    cr_assert_null(instreg_find_broker_symbol(reg, BROKER_KITE, EXCH_BSE, "RELIANCE"));
    cr_assert_null(instreg_get(reg, 2));
    instreg_free(reg);
    instreg_free(NULL);
}

Test(instrument, add_rejects_invalid_and_duplicates)
{
    struct instreg *reg = instreg_new();
    struct instrument in = make("", EXCH_NSE, INST_EQ);
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_EINVAL, "empty symbol");
    in = make("X", EXCH_NSE, INST_EQ);
    in.lot_size = 0;
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_EINVAL, "lot 0");
    in = make("X", EXCH_NSE, INST_EQ);
    in.tick_size = 0;
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_EINVAL, "tick 0");
    in = make("X", EXCH_NSE, INST_EQ);
    in.tick_size = -500;
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_EINVAL, "tick < 0");
    in = make("X", (enum exchange)EXCH_COUNT, INST_EQ);
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_EINVAL, "bad exchange");
    in = make("X", EXCH_NSE, INST_EQ);
    memset(in.name, 'A', sizeof in.name); /* not terminated */
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_EINVAL, "unterminated name");
    cr_assert_eq(instreg_add(reg, NULL, NULL), ATP_EINVAL);
    cr_assert_eq(instreg_count(reg), 0);

    /* One token per broker: a second instrument may not claim it. */
    in = make("A", EXCH_NSE, INST_EQ);
    snprintf(in.broker[BROKER_DHAN].token, INST_TOKEN_MAX, "25");
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_OK);
    in = make("B", EXCH_NSE, INST_EQ);
    snprintf(in.broker[BROKER_DHAN].token, INST_TOKEN_MAX, "25");
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_EEXIST);
    snprintf(in.broker[BROKER_DHAN].token, INST_TOKEN_MAX, "26");
    snprintf(in.broker[BROKER_ANGEL].token, INST_TOKEN_MAX, "25"); /* other broker: fine */
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_OK);
    /* The same standard symbol on another exchange is a different instrument. */
    in = make("A", EXCH_BSE, INST_EQ);
    cr_assert_eq(instreg_add(reg, &in, NULL), ATP_OK);
    cr_assert_eq(instreg_count(reg), 3);
    instreg_free(reg);
}

Test(instrument, preferred_exchange_is_nse_whatever_the_order)
{
    static const struct {
        enum exchange order[3];
        int n;
        enum exchange expect;
    } cases[] = {
        {{EXCH_BSE, EXCH_NSE}, 2, EXCH_NSE},
        {{EXCH_NSE, EXCH_BSE}, 2, EXCH_NSE},
        {{EXCH_BSE}, 1, EXCH_BSE},
        {{EXCH_MCX, EXCH_BSE}, 2, EXCH_BSE},
        {{EXCH_NFO, EXCH_MCX, EXCH_NSE}, 3, EXCH_NSE},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct instreg *reg = instreg_new();
        for (int i = 0; i < cases[c].n; i++) {
            struct instrument in = make("SYM", cases[c].order[i], INST_EQ);
            cr_assert_eq(instreg_add(reg, &in, NULL), ATP_OK);
        }
        const struct instrument *p = instreg_find(reg, "SYM");
        cr_assert_not_null(p);
        cr_assert_eq(p->exchange, cases[c].expect, "case %zu: got %s", c, exchange_name(p->exchange));
        for (int i = 0; i < cases[c].n; i++)
            cr_assert_eq(instreg_find_on(reg, cases[c].order[i], "SYM")->exchange, cases[c].order[i]);
        instreg_free(reg);
    }
}

Test(instrument, pointers_stay_put_while_the_registry_grows)
{
    struct instreg *reg = instreg_new();
    const struct instrument *first = NULL;
    char sym[32], tok[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        struct instrument in = make(sym, (enum exchange)(i % 2 ? EXCH_BSE : EXCH_NSE), INST_EQ);
        snprintf(tok, sizeof tok, "%d", 100000 + i);
        snprintf(in.broker[BROKER_ANGEL].token, INST_TOKEN_MAX, "%s", tok);
        snprintf(in.broker[BROKER_FYERS].symbol, INST_SYMBOL_MAX, "F:%s", sym);
        uint32_t id;
        cr_assert_eq(instreg_add(reg, &in, &id), ATP_OK);
        cr_assert_eq(id, (uint32_t)i);
        if (i == 0)
            first = instreg_get(reg, 0);
    }
    cr_assert_eq(instreg_get(reg, 0), first, "instrument 0 moved");
    cr_assert_str_eq(first->symbol, "S0");
    for (int i = 0; i < 5000; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        snprintf(tok, sizeof tok, "%d", 100000 + i);
        const struct instrument *p = instreg_find(reg, sym);
        cr_assert_not_null(p, "%s", sym);
        cr_assert_eq(p->id, (uint32_t)i);
        cr_assert_eq(instreg_find_token(reg, BROKER_ANGEL, tok), p);
        char fs[40];
        snprintf(fs, sizeof fs, "F:%s", sym);
        cr_assert_eq(instreg_find_broker_symbol(reg, BROKER_FYERS, p->exchange, fs), p);
    }
    cr_assert_null(instreg_find(reg, "S5000"));
    instreg_free(reg);
}

/* ---- price and quantity checks -------------------------------------------------------------- */

Test(instrument, check_price_and_qty_give_the_numbers)
{
    static const struct {
        const char *tick;
        const char *price;
        int rc;
        const char *msg;
    } prices[] = {
        {"0.05", "100.05", ATP_OK, ""},
        {"0.05", "100", ATP_OK, ""},
        {"0.05", "100.03", ATP_ERANGE, "price 100.03 is not a multiple of tick size 0.05"},
        {"0.01", "249.99", ATP_OK, ""},
        {"0.01", "249.995", ATP_ERANGE, "price 249.995 is not a multiple of tick size 0.01"},
        {"0.1", "2450.55", ATP_ERANGE, "price 2450.55 is not a multiple of tick size 0.1"},
        {"5", "20005", ATP_OK, ""},
        {"0.05", "0", ATP_ERANGE, "price 0 must be positive"},
        {"0.05", "-1.05", ATP_ERANGE, "price -1.05 must be positive"},
    };
    for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
        struct instrument in = make("X", EXCH_NSE, INST_EQ);
        px_t price;
        cr_assert_eq(px_parse(prices[i].tick, strlen(prices[i].tick), &in.tick_size, NULL), ATP_OK);
        cr_assert_eq(px_parse(prices[i].price, strlen(prices[i].price), &price, NULL), ATP_OK);
        struct atp_err err;
        atp_err_clear(&err);
        cr_assert_eq(instrument_check_price(&in, price, &err), prices[i].rc, "price %s",
                     prices[i].price);
        if (prices[i].rc != ATP_OK) {
            cr_assert_str_eq(err.msg, prices[i].msg);
            cr_assert_str_eq(err.field, "price");
        }
    }
    static const struct {
        int64_t lot, qty;
        int rc;
        const char *msg;
    } qtys[] = {
        {65, 65, ATP_OK, ""},
        {65, 1755, ATP_OK, ""},
        {65, 70, ATP_ERANGE, "quantity 70 is not a multiple of lot size 65"},
        {30, 45, ATP_ERANGE, "quantity 45 is not a multiple of lot size 30"},
        {1, 1, ATP_OK, ""},
        {1, 0, ATP_ERANGE, "quantity 0 must be positive"},
        {65, -65, ATP_ERANGE, "quantity -65 must be positive"},
    };
    for (size_t i = 0; i < sizeof qtys / sizeof qtys[0]; i++) {
        struct instrument in = make("X", EXCH_NFO, INST_FUT);
        in.lot_size = qtys[i].lot;
        struct atp_err err;
        atp_err_clear(&err);
        cr_assert_eq(instrument_check_qty(&in, qtys[i].qty, &err), qtys[i].rc, "qty %lld",
                     (long long)qtys[i].qty);
        if (qtys[i].rc != ATP_OK) {
            cr_assert_str_eq(err.msg, qtys[i].msg);
            cr_assert_str_eq(err.field, "quantity");
        }
    }
    /* err may be NULL. */
    struct instrument in = make("X", EXCH_NSE, INST_EQ);
    cr_assert_eq(instrument_check_price(&in, 1000300, NULL), ATP_ERANGE);
    cr_assert_eq(instrument_check_qty(&in, 0, NULL), ATP_ERANGE);
}

/* ---- ATP master CSV: happy paths ------------------------------------------------------------ */

Test(instrument, master_columns_by_name_any_order_unknown_ignored)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    const char *text =
        "# a comment line\r\n"
        "Tick_Size , LOT_SIZE,Exchange,comment,Symbol,TYPE,kite_token,name,isin\r\n"
        "0.05,1,NSE,whatever,RELIANCE,EQ,738561,\"Reliance Industries, Ltd.\",INE002A01018\r\n"
        "\r\n"
        "0.10,65,NFO,,NIFTY26DECFUT,FUT,,,\r\n";
    /* A FUT needs expiry and underlying: this file has neither column, so it must fail ... */
    cr_assert_eq(load_text(reg, text, &err), ATP_EINVAL);
    cr_assert_eq(err.line, 5);
    cr_assert_eq(instreg_count(reg), 0);
    /* ... and the same layout with only equities loads. */
    const char *eq =
        "Tick_Size , LOT_SIZE,Exchange,comment,Symbol,TYPE,kite_token,name,isin\n"
        "0.05,1,NSE,whatever,RELIANCE,EQ,738561,\"Reliance Industries, Ltd.\",INE002A01018\n"
        "0.01,1,BSE,,RELIANCE,eq,,,\n";
    cr_assert_eq(load_text(reg, eq, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(instreg_count(reg), 2);
    const struct instrument *r = instreg_find(reg, "RELIANCE");
    cr_assert_eq(r->exchange, EXCH_NSE);
    cr_assert_str_eq(r->name, "Reliance Industries, Ltd.");
    cr_assert_str_eq(r->isin, "INE002A01018");
    cr_assert_eq(r->tick_size, 500);
    cr_assert_eq(r->expiry_day, -1);
    cr_assert_eq(r->strike, 0);
    cr_assert_eq(instreg_find_token(reg, BROKER_KITE, "738561"), r);
    cr_assert_eq(instreg_find_on(reg, EXCH_BSE, "RELIANCE")->tick_size, 100);
    instreg_free(reg);
}

Test(instrument, master_derivative_row)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    const char *text = HDR
        "NIFTY26DEC26000CE,NFO,CE,NIFTY,NIFTY,,65,0.05,2026-12-29,26000,NIFTY26DEC26000CE,,,,,,"
        "NSE:NIFTY26DEC26000CE,,NIFTY-Dec2026-26000-CE,\n";
    cr_assert_eq(load_text(reg, text, &err), ATP_OK, "%s", err.msg);
    const struct instrument *o = instreg_find(reg, "NIFTY26DEC26000CE");
    cr_assert_not_null(o);
    cr_assert_eq(o->type, INST_CE);
    cr_assert_eq(o->exchange, EXCH_NFO);
    cr_assert_str_eq(o->underlying, "NIFTY");
    cr_assert_eq(o->lot_size, 65);
    cr_assert_eq(o->strike, PX_RUPEES(26000));
    cr_assert_eq(o->expiry_day, day_of(2026, 12, 29));
    cr_assert_eq(instreg_find_broker_symbol(reg, BROKER_FYERS, EXCH_NFO, "NSE:NIFTY26DEC26000CE"), o);
    cr_assert_eq(instreg_find_broker_symbol(reg, BROKER_DHAN, EXCH_NFO, "NIFTY-Dec2026-26000-CE"), o);
    instreg_free(reg);
}

/* ---- ATP master CSV: every error path -------------------------------------------------------- */

#define EQROW(sym) sym ",NSE,EQ,,,,1,0.05,,,,,,,,,,,,\n"

Test(instrument, master_error_paths_name_file_line_and_field)
{
    static const struct {
        const char *what;
        const char *text;
        int rc;
        long line;
        const char *field;
        const char *msg; /* substring of err.msg */
    } cases[] = {
        {"empty file", "", ATP_EPARSE, 0, "", "no header"},
        {"only comments", "# nothing\n# here\n", ATP_EPARSE, 0, "", "no header"},
        {"no symbol column", "exchange,type,lot_size,tick_size\nNSE,EQ,1,0.05\n", ATP_EPARSE, 1,
         "symbol", "required column 'symbol' is missing"},
        {"no exchange column", "symbol,type,lot_size,tick_size\nA,EQ,1,0.05\n", ATP_EPARSE, 1,
         "exchange", "missing"},
        {"no type column", "symbol,exchange,lot_size,tick_size\nA,NSE,1,0.05\n", ATP_EPARSE, 1,
         "type", "missing"},
        {"no lot_size column", "symbol,exchange,type,tick_size\nA,NSE,EQ,0.05\n", ATP_EPARSE, 1,
         "lot_size", "missing"},
        {"no tick_size column", "symbol,exchange,type,lot_size\nA,NSE,EQ,1\n", ATP_EPARSE, 1,
         "tick_size", "missing"},
        {"tick not a number", HDR EQROW("A") "B,NSE,EQ,,,,1,0.0x,,,,,,,,,,,,\n", ATP_EPARSE, 3,
         "tick_size", "'0.0x' is not a decimal number"},
        {"tick empty", HDR "B,NSE,EQ,,,,1,,,,,,,,,,,,,\n", ATP_EPARSE, 2, "tick_size",
         "is not a decimal number"},
        {"tick zero", HDR "B,NSE,EQ,,,,1,0.00,,,,,,,,,,,,\n", ATP_EINVAL, 2, "tick_size",
         "tick size '0.00' is not > 0"},
        {"tick negative", HDR "B,NSE,EQ,,,,1,-0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "tick_size",
         "is not > 0"},
        {"tick 5 decimals", HDR "B,NSE,EQ,,,,1,0.00001,,,,,,,,,,,,\n", ATP_EPARSE, 2, "tick_size",
         "more than 4 decimals"},
        {"lot not integer", HDR "B,NSE,EQ,,,,1.5,0.05,,,,,,,,,,,,\n", ATP_EPARSE, 2, "lot_size",
         "'1.5' is not an integer"},
        {"lot zero", HDR "B,NSE,EQ,,,,0,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "lot_size",
         "lot size 0 is not >= 1"},
        {"lot negative", HDR "B,NSE,EQ,,,,-65,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "lot_size",
         "lot size -65"},
        {"lot overflow", HDR "B,NSE,EQ,,,,99999999999999999999,0.05,,,,,,,,,,,,\n", ATP_EPARSE, 2,
         "lot_size", "is not an integer"},
        {"unknown exchange", HDR "B,NYSE,EQ,,,,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "exchange",
         "'NYSE' is not an exchange"},
        {"empty exchange", HDR "B,,EQ,,,,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "exchange",
         "is not an exchange"},
        {"unknown type", HDR "B,NSE,BOND,,,,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "type",
         "'BOND' is not a type"},
        {"FUT on NSE", HDR "B,NSE,FUT,,B,,1,0.05,2026-12-29,,,,,,,,,,,\n", ATP_EINVAL, 2, "type",
         "type FUT is not traded on NSE"},
        {"EQ on NFO", HDR "B,NFO,EQ,,,,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "type",
         "type EQ is not traded on NFO"},
        {"empty symbol", HDR ",NSE,EQ,,,,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "symbol",
         "symbol is empty"},
        {"lower-case symbol", HDR "reliance,NSE,EQ,,,,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2,
         "symbol", "has characters other than"},
        {"symbol with space", HDR "NIFTY 50,NSE,INDEX,,,,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2,
         "symbol", "has characters other than"},
        {"symbol too long", HDR "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ,NSE,EQ,,,,1,0.05,,,,,,,,,,,,\n",
         ATP_EINVAL, 2, "symbol", "longer than 47 characters"},
        {"name too long",
         HDR "B,NSE,EQ,A name that goes on and on and on well past the sixty-three characters allowed,"
             ",,1,0.05,,,,,,,,,,,,\n",
         ATP_EINVAL, 2, "name", "longer than 63 characters"},
        {"bad isin check digit", HDR "B,NSE,EQ,,,INE002A01019,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2,
         "isin", "'INE002A01019' is not a valid ISIN"},
        {"short isin", HDR "B,NSE,EQ,,,INE002A,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "isin",
         "not a valid ISIN"},
        {"isin too long", HDR "B,NSE,EQ,,,INE002A01018INE002A01018,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL,
         2, "isin", "longer than 15 characters"},
        {"bad expiry", HDR "X,NFO,FUT,,NIFTY,,65,0.1,2026-13-01,,,,,,,,,,,\n", ATP_EPARSE, 2,
         "expiry", "'2026-13-01' is not a date"},
        {"expiry with time", HDR "X,NFO,FUT,,NIFTY,,65,0.1,2026-12-29T15:30,,,,,,,,,,,\n",
         ATP_EPARSE, 2, "expiry", "is not a date"},
        {"expiry past int64 ns", HDR "X,NFO,FUT,,NIFTY,,65,0.1,2300-01-01,,,,,,,,,,,\n",
         ATP_EPARSE, 2, "expiry", "'2300-01-01' is not a date"},
        {"expiry as epoch ms", HDR "X,NFO,FUT,,NIFTY,,65,0.1,999999999999999,,,,,,,,,,,\n",
         ATP_EPARSE, 2, "expiry", "is not a date"},
        {"expiry short form", HDR "X,NFO,FUT,,NIFTY,,65,0.1,2026-1-5,,,,,,,,,,,\n", ATP_EPARSE, 2,
         "expiry", "is not a date"},
        {"future without expiry", HDR "X,NFO,FUT,,NIFTY,,65,0.1,,,,,,,,,,,,\n", ATP_EINVAL, 2,
         "expiry", "a FUT needs an expiry"},
        {"equity with expiry", HDR "X,NSE,EQ,,,,1,0.05,2026-12-29,,,,,,,,,,,\n", ATP_EINVAL, 2,
         "expiry", "a EQ has no expiry"},
        {"future without underlying", HDR "X,NFO,FUT,,,,65,0.1,2026-12-29,,,,,,,,,,,\n", ATP_EINVAL,
         2, "underlying", "a FUT needs an underlying"},
        {"option without strike", HDR "X,NFO,CE,,NIFTY,,65,0.05,2026-12-29,,,,,,,,,,,\n", ATP_EINVAL,
         2, "strike", "an option needs a strike > 0"},
        {"option bad strike", HDR "X,NFO,PE,,NIFTY,,65,0.05,2026-12-29,26k,,,,,,,,,,\n", ATP_EPARSE,
         2, "strike", "'26k' is not a decimal number"},
        {"option zero strike", HDR "X,NFO,PE,,NIFTY,,65,0.05,2026-12-29,0,,,,,,,,,,\n", ATP_EINVAL, 2,
         "strike", "strike > 0"},
        {"equity with strike", HDR "X,NSE,EQ,,,,1,0.05,,100,,,,,,,,,,\n", ATP_EINVAL, 2, "strike",
         "a EQ has no strike"},
        {"token too long",
         HDR "X,NSE,EQ,,,,1,0.05,,,,12345678901234567890123456789012345678901,,,,,,,,\n", ATP_EINVAL,
         2, "kite_token", "longer than 39 characters"},
        {"broker symbol too long",
         HDR "X,NSE,EQ,,,,1,0.05,,,,,,,,,NSE:ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ,,,\n",
         ATP_EINVAL, 2, "fyers_symbol", "longer than 47"},
        {"duplicate exchange+symbol", HDR EQROW("A") EQROW("B") EQROW("A"), ATP_EEXIST, 4, "symbol",
         "NSE:A is already registered"},
        {"duplicate kite token", HDR "A,NSE,EQ,,,,1,0.05,,,,738561,,,,,,,,\n"
                                     "B,NSE,EQ,,,,1,0.05,,,,738561,,,,,,,,\n",
         ATP_EEXIST, 3, "kite_token", "kite token 738561 already belongs to NSE:A"},
        {"duplicate angel token", HDR "A,NSE,EQ,,,,1,0.05,,,,,,2885,,,,,,\n"
                                      "B,NSE,EQ,,,,1,0.05,,,,,,2885,,,,,,\n",
         ATP_EEXIST, 3, "angel_token", "angel token 2885"},
        {"duplicate upstox token", HDR "A,NSE,EQ,,,,1,0.05,,,,,,,,NSE_EQ|X,,,,\n"
                                       "B,NSE,EQ,,,,1,0.05,,,,,,,,NSE_EQ|X,,,,\n",
         ATP_EEXIST, 3, "upstox_token", "upstox token"},
        {"duplicate fyers token", HDR "A,NSE,EQ,,,,1,0.05,,,,,,,,,,1010,,\n"
                                      "B,NSE,EQ,,,,1,0.05,,,,,,,,,,1010,,\n",
         ATP_EEXIST, 3, "fyers_token", "fyers token"},
        {"duplicate dhan token", HDR "A,NSE,EQ,,,,1,0.05,,,,,,,,,,,,13\n"
                                     "B,NSE,EQ,,,,1,0.05,,,,,,,,,,,,13\n",
         ATP_EEXIST, 3, "dhan_token", "dhan token 13"},
        {"duplicate broker symbol", HDR "A,NSE,EQ,,,,1,0.05,,,,,A-EQ,,,,,,,\n"
                                        "B,NSE,EQ,,,,1,0.05,,,,,A-EQ,,,,,,,\n",
         ATP_EEXIST, 3, "angel_symbol", "angel symbol A-EQ on NSE already belongs to A"},
        {"unterminated quote", HDR EQROW("A") "\"B,NSE,EQ,,,,1,0.05,,,,,,,,,,,,\n", ATP_EPARSE, 3, "",
         "unterminated"},
        {"control character", HDR "B,NSE,EQ,na\001me,,,1,0.05,,,,,,,,,,,,\n", ATP_EINVAL, 2, "name",
         "control character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct instreg *reg = instreg_new();
        struct atp_err err;
        int rc = load_text(reg, cases[i].text, &err);
        char buf[512];
        cr_assert_eq(rc, cases[i].rc, "%s: rc %s, want %s (%s)", cases[i].what,
                     atp_status_name(rc), atp_status_name(cases[i].rc),
                     atp_err_format(&err, buf, sizeof buf));
        cr_assert_eq(err.code, cases[i].rc, "%s", cases[i].what);
        cr_assert_str_eq(err.file, "mem.csv", "%s", cases[i].what);
        cr_assert_eq(err.line, cases[i].line, "%s: line %ld", cases[i].what, err.line);
        cr_assert_str_eq(err.field, cases[i].field, "%s: field '%s'", cases[i].what, err.field);
        cr_assert(strstr(err.msg, cases[i].msg), "%s: msg '%s' lacks '%s'", cases[i].what, err.msg,
                  cases[i].msg);
        cr_assert_eq(instreg_count(reg), 0, "%s: load was not all-or-nothing", cases[i].what);
        cr_assert_null(instreg_find(reg, "A"), "%s", cases[i].what);
        instreg_free(reg);
    }
}

Test(instrument, formatted_error_reads_like_the_convention)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    char buf[512];
    FILE *f = tu_mem_file(HDR EQROW("A") "B,NSE,EQ,,,,1,0.0x,,,,,,,,,,,,\n");
    cr_assert_eq(instreg_load_csv_stream(reg, f, "data/instruments.csv", &err), ATP_EPARSE);
    fclose(f);
    cr_assert_str_eq(atp_err_format(&err, buf, sizeof buf),
                     "data/instruments.csv:3: field 'tick_size': '0.0x' is not a decimal number");
    instreg_free(reg);
}

Test(instrument, failed_load_keeps_earlier_files_and_drops_its_own_rows)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    cr_assert_eq(load_text(reg, HDR "A,NSE,EQ,,,,1,0.05,,,,256,,,,,,,,\n", &err), ATP_OK);
    const struct instrument *a = instreg_find(reg, "A");
    /* 300 good rows then a clash with the first file: nothing of the second file stays. */
    char *text = malloc(64 * 1024);
    size_t n = (size_t)snprintf(text, 64 * 1024, "%s", HDR);
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(text + n, 64 * 1024 - n, "S%d,NSE,EQ,,,,1,0.05,,,,%d,,,,,,,,\n", i,
                              1000 + i);
    snprintf(text + n, 64 * 1024 - n, "Z,NSE,EQ,,,,1,0.05,,,,256,,,,,,,,\n");
    cr_assert_eq(load_text(reg, text, &err), ATP_EEXIST);
    cr_assert_eq(err.line, 302);
    cr_assert_str_eq(err.field, "kite_token");
    free(text);
    cr_assert_eq(instreg_count(reg), 1);
    cr_assert_eq(instreg_find(reg, "A"), a);
    cr_assert_null(instreg_find(reg, "S0"));
    cr_assert_null(instreg_find(reg, "S299"));
    cr_assert_null(instreg_find_token(reg, BROKER_KITE, "1000"));
    cr_assert_eq(instreg_find_token(reg, BROKER_KITE, "256"), a);
    /* The registry is still usable after the rollback. */
    cr_assert_eq(load_text(reg, HDR EQROW("S0"), &err), ATP_OK);
    cr_assert_eq(instreg_find(reg, "S0")->id, 1);
    instreg_free(reg);
}

Test(instrument, io_errors)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    cr_assert_eq(instreg_load_csv(reg, "/nonexistent/instruments.csv", &err), ATP_EIO);
    cr_assert_str_eq(err.file, "/nonexistent/instruments.csv");
    cr_assert_eq(instreg_load_kite_csv(reg, "/nonexistent/kite.csv", &err), ATP_EIO);
    cr_assert_eq(instreg_load_csv(reg, NULL, &err), ATP_EIO);
    cr_assert_eq(instreg_load_csv_stream(NULL, stdin, "x", &err), ATP_EINVAL);
    cr_assert_eq(instreg_load_csv_stream(reg, NULL, "x", &err), ATP_EINVAL);
    cr_assert_eq(instreg_count(reg), 0);
    instreg_free(reg);
}

/* ---- the shipped data/instruments.csv ------------------------------------------------------- */

static const char *const nifty50[] = {
    "ADANIENT",   "ADANIPORTS", "APOLLOHOSP", "ASIANPAINT", "AXISBANK",   "BAJAJ-AUTO",
    "BAJFINANCE", "BAJAJFINSV", "BEL",        "BHARTIARTL", "CIPLA",      "COALINDIA",
    "DRREDDY",    "EICHERMOT",  "ETERNAL",    "GRASIM",     "HCLTECH",    "HDFCBANK",
    "HDFCLIFE",   "HINDALCO",   "HINDUNILVR", "ICICIBANK",  "ITC",        "INFY",
    "INDIGO",     "JSWSTEEL",   "JIOFIN",     "KOTAKBANK",  "LT",         "M&M",
    "MARUTI",     "MAXHEALTH",  "NTPC",       "NESTLEIND",  "ONGC",       "POWERGRID",
    "RELIANCE",   "SBILIFE",    "SHRIRAMFIN", "SBIN",       "SUNPHARMA",  "TCS",
    "TATACONSUM", "TMPV",       "TATASTEEL",  "TECHM",      "TITAN",      "TRENT",
    "ULTRACEMCO", "WIPRO",
};

static struct instreg *load_shipped(void)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    char buf[512];
    int rc = instreg_load_csv(reg, tu_root_path("data/instruments.csv"), &err);
    cr_assert_eq(rc, ATP_OK, "%s", atp_err_format(&err, buf, sizeof buf));
    return reg;
}

Test(instrument, shipped_master_has_the_nifty50_indices_futures_and_options)
{
    struct instreg *reg = load_shipped();
    cr_assert_eq(sizeof nifty50 / sizeof nifty50[0], 50);
    int by_type[INST_TYPE_COUNT] = {0};
    for (uint32_t id = 0; id < instreg_count(reg); id++)
        by_type[instreg_get(reg, id)->type]++;
    cr_assert_eq(by_type[INST_EQ], 50);
    cr_assert_eq(by_type[INST_INDEX], 2);
    cr_assert_eq(by_type[INST_FUT], 6);
    cr_assert_geq(by_type[INST_CE], 4);
    cr_assert_eq(by_type[INST_CE], by_type[INST_PE]);

    for (size_t i = 0; i < 50; i++) {
        const struct instrument *s = instreg_find(reg, nifty50[i]);
        cr_assert_not_null(s, "%s missing", nifty50[i]);
        cr_assert_eq(s->exchange, EXCH_NSE);
        cr_assert_eq(s->type, INST_EQ);
        cr_assert_eq(s->lot_size, 1);
        cr_assert(s->tick_size == 100 || s->tick_size == 500, "%s tick", s->symbol);
        cr_assert_eq(strlen(s->isin), 12, "%s isin", s->symbol);
        cr_assert(s->name[0], "%s name", s->symbol);
        /* Broker columns derive from the NSE token and ISIN as docs/instruments.md says. */
        const char *tok = s->broker[BROKER_ANGEL].token;
        cr_assert(tok[0], "%s has no token", s->symbol);
        char want[64];
        cr_assert_str_eq(s->broker[BROKER_DHAN].token, tok);
        snprintf(want, sizeof want, "%lld", atoll(tok) * 256 + 1);
        cr_assert_str_eq(s->broker[BROKER_KITE].token, want, "%s kite token", s->symbol);
        snprintf(want, sizeof want, "1010%010lld", atoll(tok));
        cr_assert_str_eq(s->broker[BROKER_FYERS].token, want, "%s fytoken", s->symbol);
        snprintf(want, sizeof want, "NSE_EQ|%s", s->isin);
        cr_assert_str_eq(s->broker[BROKER_UPSTOX].token, want);
        snprintf(want, sizeof want, "%s-EQ", s->symbol);
        cr_assert_str_eq(s->broker[BROKER_ANGEL].symbol, want);
        snprintf(want, sizeof want, "NSE:%s-EQ", s->symbol);
        cr_assert_str_eq(s->broker[BROKER_FYERS].symbol, want);
        cr_assert_str_eq(s->broker[BROKER_KITE].symbol, s->symbol);
        cr_assert_str_eq(s->broker[BROKER_DHAN].symbol, s->symbol);
        cr_assert_str_eq(s->broker[BROKER_UPSTOX].symbol, s->symbol);
    }
    instreg_free(reg);
}

Test(instrument, shipped_master_specific_rows)
{
    struct instreg *reg = load_shipped();
    static const struct {
        enum broker_id b;
        const char *token;
        const char *symbol;
    } tokens[] = {
        {BROKER_KITE, "738561", "RELIANCE"},
        {BROKER_ANGEL, "2885", "RELIANCE"},
        {BROKER_DHAN, "2885", "RELIANCE"},
        {BROKER_FYERS, "10100000002885", "RELIANCE"},
        {BROKER_UPSTOX, "NSE_EQ|INE002A01018", "RELIANCE"},
        {BROKER_KITE, "2953217", "TCS"},
        {BROKER_ANGEL, "11536", "TCS"},
        {BROKER_KITE, "408065", "INFY"},
        {BROKER_ANGEL, "3045", "SBIN"},
        {BROKER_FYERS, "10100000003045", "SBIN"},
        {BROKER_ANGEL, "1333", "HDFCBANK"},
        {BROKER_KITE, "256265", "NIFTY"},
        {BROKER_KITE, "260105", "BANKNIFTY"},
        {BROKER_ANGEL, "99926000", "NIFTY"},
        {BROKER_ANGEL, "99926009", "BANKNIFTY"},
        {BROKER_UPSTOX, "NSE_INDEX|Nifty 50", "NIFTY"},
        {BROKER_UPSTOX, "NSE_INDEX|Nifty Bank", "BANKNIFTY"},
        {BROKER_FYERS, "101000000026000", "NIFTY"},
        {BROKER_FYERS, "101000000026009", "BANKNIFTY"},
    };
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        const struct instrument *p = instreg_find_token(reg, tokens[i].b, tokens[i].token);
        cr_assert_not_null(p, "%s %s", broker_name(tokens[i].b), tokens[i].token);
        cr_assert_str_eq(p->symbol, tokens[i].symbol);
    }
    const struct instrument *nifty = instreg_find(reg, "NIFTY");
    cr_assert_eq(nifty->type, INST_INDEX);
    cr_assert_str_eq(nifty->name, "NIFTY 50");
    cr_assert_eq(instreg_find_broker_symbol(reg, BROKER_KITE, EXCH_NSE, "NIFTY 50"), nifty);
    cr_assert_eq(instreg_find_broker_symbol(reg, BROKER_FYERS, EXCH_NSE, "NSE:NIFTY50-INDEX"), nifty);
    cr_assert_str_eq(instreg_find(reg, "BANKNIFTY")->name, "NIFTY BANK");
    cr_assert_eq(instreg_find_broker_symbol(reg, BROKER_ANGEL, EXCH_NSE, "M&M-EQ"),
                 instreg_find(reg, "M&M"));
    cr_assert_eq(instreg_find(reg, "TATASTEEL")->tick_size, 100);
    cr_assert_eq(instreg_find(reg, "RELIANCE")->tick_size, 500);

    static const struct {
        const char *symbol, *underlying;
        int y, m, d;
        int64_t lot;
    } futs[] = {
        {"NIFTY26DECFUT", "NIFTY", 2026, 12, 29, 65},
        {"NIFTY27JANFUT", "NIFTY", 2027, 1, 25, 65},
        {"NIFTY27FEBFUT", "NIFTY", 2027, 2, 23, 65},
        {"BANKNIFTY26DECFUT", "BANKNIFTY", 2026, 12, 29, 30},
        {"BANKNIFTY27JANFUT", "BANKNIFTY", 2027, 1, 25, 30},
        {"BANKNIFTY27FEBFUT", "BANKNIFTY", 2027, 2, 23, 30},
    };
    for (size_t i = 0; i < sizeof futs / sizeof futs[0]; i++) {
        const struct instrument *f = instreg_find(reg, futs[i].symbol);
        cr_assert_not_null(f, "%s", futs[i].symbol);
        cr_assert_eq(f->exchange, EXCH_NFO);
        cr_assert_eq(f->type, INST_FUT);
        cr_assert_str_eq(f->underlying, futs[i].underlying);
        cr_assert_eq(f->lot_size, futs[i].lot, "%s lot", f->symbol);
        cr_assert_eq(f->expiry_day, day_of(futs[i].y, futs[i].m, futs[i].d), "%s expiry", f->symbol);
        cr_assert_not_null(instreg_find(reg, f->underlying));
        cr_assert_str_eq(f->broker[BROKER_KITE].symbol, f->symbol);
        char fy[64];
        snprintf(fy, sizeof fy, "NSE:%s", f->symbol);
        cr_assert_str_eq(f->broker[BROKER_FYERS].symbol, fy);
        for (int b = 0; b < BROKER_COUNT; b++)
            cr_assert_str_empty(f->broker[b].token, "%s: tokens come from brokers at run time",
                                f->symbol);
    }
    /* Every option: tick 0.05, lot of its underlying, an expiry that is one of the futures'. */
    for (uint32_t id = 0; id < instreg_count(reg); id++) {
        const struct instrument *o = instreg_get(reg, id);
        if (o->type != INST_CE && o->type != INST_PE)
            continue;
        cr_assert_eq(o->tick_size, 500, "%s", o->symbol);
        cr_assert_gt(o->strike, 0);
        cr_assert_eq(o->lot_size, strcmp(o->underlying, "NIFTY") == 0 ? 65 : 30, "%s", o->symbol);
        cr_assert(o->expiry_day == day_of(2026, 12, 29) || o->expiry_day == day_of(2027, 1, 25),
                  "%s", o->symbol);
    }
    instreg_free(reg);
}

/* Expiries are the last Tuesday of the month, or the trading day before it when that Tuesday is a
 * holiday; checked against the shipped holiday calendar where it covers the year. */
Test(instrument, shipped_expiries_follow_the_tuesday_rule)
{
    struct instreg *reg = load_shipped();
    struct cal *cal = cal_new();
    struct atp_err err;
    cr_assert_eq(cal_load(cal, tu_root_path("data/nse_holidays.csv"), &err), ATP_OK, "%s", err.msg);
    cal_add_holiday(cal, day_of(2027, 1, 26)); /* Republic Day 2027 (no 2027 list shipped yet) */
    for (uint32_t id = 0; id < instreg_count(reg); id++) {
        const struct instrument *f = instreg_get(reg, id);
        if (f->type != INST_FUT)
            continue;
        int y, m, d;
        ts_civil_from_days(f->expiry_day, &y, &m, &d);
        int64_t last_tue = day_of(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
        while (ts_weekday(last_tue) != 2)
            last_tue--;
        int64_t want = cal_is_trading_day(cal, last_tue) ? last_tue
                                                          : cal_prev_trading_day(cal, last_tue);
        cr_assert_eq(f->expiry_day, want, "%s", f->symbol);
    }
    cal_free(cal);
    instreg_free(reg);
}

/* Round trip for every broker column: each token and each broker symbol leads back to its row. */
Test(instrument, shipped_every_broker_column_round_trips)
{
    struct instreg *reg = load_shipped();
    int tokens[BROKER_COUNT] = {0}, symbols[BROKER_COUNT] = {0};
    for (uint32_t id = 0; id < instreg_count(reg); id++) {
        const struct instrument *p = instreg_get(reg, id);
        for (int b = 0; b < BROKER_COUNT; b++) {
            if (p->broker[b].token[0]) {
                cr_assert_eq(instreg_find_token(reg, (enum broker_id)b, p->broker[b].token), p);
                tokens[b]++;
            }
            if (p->broker[b].symbol[0]) {
                cr_assert_eq(instreg_find_broker_symbol(reg, (enum broker_id)b, p->exchange,
                                                        p->broker[b].symbol),
                             p);
                symbols[b]++;
            }
        }
        cr_assert_eq(instreg_find_on(reg, p->exchange, p->symbol), p);
    }
    for (int b = 0; b < BROKER_COUNT; b++) {
        cr_assert_geq(tokens[b], 50, "%s tokens", broker_name((enum broker_id)b));
        cr_assert_geq(symbols[b], 50, "%s symbols", broker_name((enum broker_id)b));
    }
    instreg_free(reg);
}

/* Allocation failure anywhere in a load: a clean error, the registry as it was, no leak. */
Test(instrument, allocation_failures_during_load_roll_back)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    cr_assert_eq(load_text(reg, HDR "PRE,NSE,EQ,,,,1,0.05,,,,1,,,,,,,,\n", &err), ATP_OK);
    int failures = 0;
    for (long n = 1; n < 400; n++) {
        atp_alloc_fail_after(n);
        int rc = instreg_load_csv(reg, tu_root_path("data/instruments.csv"), &err);
        atp_alloc_fail_after(0);
        if (rc == ATP_OK) {
            cr_assert_eq(instreg_count(reg), 83);
            break;
        }
        failures++;
        cr_assert_eq(rc, ATP_ENOMEM, "n=%ld: %s", n, err.msg);
        cr_assert_eq(instreg_count(reg), 1, "n=%ld", n);
        cr_assert_not_null(instreg_find_token(reg, BROKER_KITE, "1"));
        cr_assert_null(instreg_find(reg, "RELIANCE"));
    }
    cr_assert_gt(failures, 5);
    cr_assert_eq(instreg_count(reg), 83);
    instreg_free(reg);
}

/* ---- Kite's instrument CSV ------------------------------------------------------------------ */

Test(instrument, kite_fixture_all_loads_with_exact_rows)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    char buf[512];
    int rc = instreg_load_kite_csv(reg, tu_fixture_path("kite/instruments_all.csv"), &err);
    cr_assert_eq(rc, ATP_OK, "%s", atp_err_format(&err, buf, sizeof buf));
    cr_assert_eq(instreg_count(reg), 99);

    const struct instrument *o = instreg_find(reg, "BANKNIFTY18JAN23500CE");
    cr_assert_not_null(o);
    cr_assert_str_eq(o->broker[BROKER_KITE].token, "12073986");
    cr_assert_str_eq(o->broker[BROKER_KITE].symbol, "BANKNIFTY18JAN23500CE");
    cr_assert_eq(o->lot_size, 40);
    cr_assert_eq(o->strike, PX_RUPEES(23500));
    cr_assert_eq(o->expiry_day, day_of(2018, 1, 25));
    cr_assert_eq(o->type, INST_CE);
    cr_assert_eq(o->exchange, EXCH_NFO);
    cr_assert_eq(o->tick_size, 500);
    cr_assert_eq(instreg_find_token(reg, BROKER_KITE, "12073986"), o);

    static const struct {
        const char *symbol;
        enum exchange ex;
        enum inst_type type;
        const char *token;
        int64_t lot;
        const char *tick;
        const char *name;
    } rows[] = {
        {"ADANIPORTS", EXCH_NSE, INST_EQ, "3861249", 1, "0.05", "ADANI PORT & SEZ"},
        {"ADANIPORTS17DEC490PE", EXCH_NFO, INST_PE, "13693186", 2500, "0.05", ""},
        {"FFTF16BGR", EXCH_BSE, INST_EQ, "136483588", 1, "0.01", "FORTIS FIXED TERM FUND - SERIE"},
        {"828GOI27-ML", EXCH_BSE, INST_EQ, "112655620", 500000, "0.25", "828GOI2027"},
        {"COX&KINGS", EXCH_BSE, INST_EQ, "136484868", 1, "0.05", "COX & KINGS"},
        {"HUDCO-N8", EXCH_NSE, INST_EQ, "5101569", 1, "0.01", "7.64% TAX FREETRI SR2B"},
        {"INDIACEM17DEC220PE", EXCH_NFO, INST_PE, "21227266", 3500, "0.05", ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct instrument *p = instreg_find_on(reg, rows[i].ex, rows[i].symbol);
        cr_assert_not_null(p, "%s", rows[i].symbol);
        cr_assert_eq(p->type, rows[i].type, "%s", rows[i].symbol);
        cr_assert_str_eq(p->broker[BROKER_KITE].token, rows[i].token);
        cr_assert_eq(p->lot_size, rows[i].lot, "%s", rows[i].symbol);
        px_t tick;
        px_parse(rows[i].tick, strlen(rows[i].tick), &tick, NULL);
        cr_assert_eq(p->tick_size, tick, "%s", rows[i].symbol);
        cr_assert_str_eq(p->name, rows[i].name);
        cr_assert_eq(p->expiry_day < 0, rows[i].type == INST_EQ, "%s", rows[i].symbol);
        cr_assert_eq(instreg_find_token(reg, BROKER_KITE, rows[i].token), p);
    }
    cr_assert_eq(instreg_find(reg, "INDIACEM17DEC220PE")->expiry_day, day_of(2017, 12, 28));
    instreg_free(reg);
}

Test(instrument, kite_fixture_nse_merges_after_all)
{
    struct instreg *reg = instreg_new();
    struct atp_err err;
    cr_assert_eq(instreg_load_kite_csv(reg, tu_fixture_path("kite/instruments_all.csv"), &err),
                 ATP_OK);
    size_t after_all = instreg_count(reg);
    cr_assert_eq(instreg_load_kite_csv(reg, tu_fixture_path("kite/instruments_nse.csv"), &err),
                 ATP_OK, "%s", err.msg);
    cr_assert_gt(instreg_count(reg), after_all);
    cr_assert_eq(instreg_load_kite_csv(reg, tu_fixture_path("kite/instruments_nse.csv"), &err),
                 ATP_OK, "loading the same master twice is a no-op");
    size_t n = instreg_count(reg);
    cr_assert_eq(instreg_load_kite_csv(reg, tu_fixture_path("kite/instruments_all.csv"), &err),
                 ATP_OK);
    cr_assert_eq(instreg_count(reg), n);
    const struct instrument *c = instreg_find(reg, "CDSL");
    cr_assert_not_null(c);
    cr_assert_str_eq(c->broker[BROKER_KITE].token, "5420545");
    instreg_free(reg);
}

Test(instrument, kite_rows_fill_broker_refs_of_the_master)
{
    struct instreg *reg = load_shipped();
    size_t n = instreg_count(reg);
    struct atp_err err;
    const char *kite =
        "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,"
        "lot_size,instrument_type,segment,exchange\n"
        /* matches NIFTY through its kite_symbol "NIFTY 50" */
        "256265,1001,NIFTY 50,NIFTY 50,0,,0,0,0,EQ,INDICES,NSE\n"
        /* matches RELIANCE by kite symbol, token unchanged */
        "738561,2885,RELIANCE,RELIANCE INDUSTRIES,0,,0,0.05,1,EQ,NSE,NSE\n"
        /* fills the Kite token of a listed future (tokens are assigned at listing) */
        "9876543,38580,NIFTY26DECFUT,NIFTY,0,2026-12-29,0,0.1,65,FUT,NFO-FUT,NFO\n"
        /* a new index and a new BSE listing */
        "264969,1035,INDIA VIX,INDIA VIX,0,,0,0,0,EQ,INDICES,NSE\n"
        "128083204,500325,RELIANCE,RELIANCE INDUSTRIES,0,,0,0.05,1,EQ,BSE,BSE\n"
        /* exchanges ATP does not model are skipped */
        "1,1,USDINR26DECFUT,USDINR,0,2026-12-29,0,0.0025,1,FUT,BCD-FUT,BCD\n";
    cr_assert_eq(load_kite_text(reg, kite, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(instreg_count(reg), n + 2);
    const struct instrument *fut = instreg_find(reg, "NIFTY26DECFUT");
    cr_assert_str_eq(fut->broker[BROKER_KITE].token, "9876543");
    cr_assert_eq(instreg_find_token(reg, BROKER_KITE, "9876543"), fut);
    const struct instrument *vix = instreg_find(reg, "INDIA VIX");
    cr_assert_not_null(vix);
    cr_assert_eq(vix->type, INST_INDEX);
    cr_assert_eq(vix->lot_size, 1);
    cr_assert_eq(vix->tick_size, 500);
    cr_assert_eq(instreg_find(reg, "RELIANCE")->exchange, EXCH_NSE, "NSE stays preferred");
    cr_assert_str_eq(instreg_find_on(reg, EXCH_BSE, "RELIANCE")->broker[BROKER_KITE].token,
                     "128083204");
    cr_assert_null(instreg_find(reg, "USDINR26DECFUT"));
    cr_assert_null(instreg_find_token(reg, BROKER_KITE, "1"));
    instreg_free(reg);
}

Test(instrument, kite_new_token_replaces_old_and_failure_restores_it)
{
    struct instreg *reg = load_shipped();
    struct atp_err err;
    const char *head = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
                       "tick_size,lot_size,instrument_type,segment,exchange\n";
    char text[1024];
    /* A re-issued token moves the index; then a bad row fails the file and puts it back. */
    snprintf(text, sizeof text,
             "%s111,2885,RELIANCE,R,0,,0,0.05,1,EQ,NSE,NSE\n"
             "NEWX,1,NEWX,N,0,,0,0.05,1,EQ,NSE,NSE\n",
             head);
    cr_assert_eq(load_kite_text(reg, text, &err), ATP_EPARSE);
    cr_assert_eq(err.line, 3);
    cr_assert_str_eq(err.field, "instrument_token");
    cr_assert_str_eq(instreg_find(reg, "RELIANCE")->broker[BROKER_KITE].token, "738561");
    cr_assert_not_null(instreg_find_token(reg, BROKER_KITE, "738561"));
    cr_assert_null(instreg_find_token(reg, BROKER_KITE, "111"));

    snprintf(text, sizeof text, "%s111,2885,RELIANCE,R,0,,0,0.05,1,EQ,NSE,NSE\n", head);
    cr_assert_eq(load_kite_text(reg, text, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(instreg_find_token(reg, BROKER_KITE, "111"), instreg_find(reg, "RELIANCE"));
    cr_assert_null(instreg_find_token(reg, BROKER_KITE, "738561"));
    instreg_free(reg);
}

Test(instrument, kite_error_paths)
{
    static const char *const head =
        "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,"
        "lot_size,instrument_type,segment,exchange\n";
    static const struct {
        const char *what;
        const char *rows;
        int rc;
        long line;
        const char *field;
        const char *msg;
    } cases[] = {
        {"bad token", "12x,1,A,A,0,,0,0.05,1,EQ,NSE,NSE\n", ATP_EPARSE, 2, "instrument_token",
         "'12x' is not an integer"},
        {"zero token", "0,1,A,A,0,,0,0.05,1,EQ,NSE,NSE\n", ATP_EINVAL, 2, "instrument_token",
         "out of range"},
        {"empty symbol", "5,1,,A,0,,0,0.05,1,EQ,NSE,NSE\n", ATP_EINVAL, 2, "tradingsymbol", "empty"},
        {"bad type", "5,1,A,A,0,,0,0.05,1,BOND,NSE,NSE\n", ATP_EINVAL, 2, "instrument_type",
         "'BOND' is not EQ, FUT, CE or PE"},
        {"bad expiry", "5,1,A,A,0,2018-02-30,0,0.05,1,FUT,NFO-FUT,NFO\n", ATP_EPARSE, 2, "expiry",
         "'2018-02-30' is not a date"},
        {"future without expiry", "5,1,A,A,0,,0,0.05,1,FUT,NFO-FUT,NFO\n", ATP_EINVAL, 2, "expiry",
         "needs an expiry"},
        {"option bad strike", "5,1,A,A,0,2018-01-25,x,0.05,40,CE,NFO-OPT,NFO\n", ATP_EPARSE, 2,
         "strike", "'x' is not a decimal number"},
        {"option zero strike", "5,1,A,A,0,2018-01-25,0.0,0.05,40,CE,NFO-OPT,NFO\n", ATP_EINVAL, 2,
         "strike", "strike > 0"},
        {"bad tick", "5,1,A,A,0,,0,five,1,EQ,NSE,NSE\n", ATP_EPARSE, 2, "tick_size",
         "'five' is not a decimal number"},
        {"zero tick", "5,1,A,A,0,,0,0.0,1,EQ,NSE,NSE\n", ATP_EINVAL, 2, "tick_size", "not > 0"},
        {"zero lot", "5,1,A,A,0,,0,0.05,0,EQ,NSE,NSE\n", ATP_EINVAL, 2, "lot_size", "not >= 1"},
        {"EQ on NFO", "5,1,A,A,0,,0,0.05,1,EQ,NFO-FUT,NFO\n", ATP_EINVAL, 2, "instrument_type",
         "not traded on NFO"},
        {"duplicate token", "5,1,A,A,0,,0,0.05,1,EQ,NSE,NSE\n6,1,B,B,0,,0,0.05,1,EQ,NSE,NSE\n"
                            "5,1,C,C,0,,0,0.05,1,EQ,NSE,NSE\n",
         ATP_EEXIST, 4, "instrument_token", "kite token 5 already belongs to NSE:A"},
        {"token of another row", "5,1,A,A,0,,0,0.05,1,EQ,NSE,NSE\n6,1,B,B,0,,0,0.05,1,EQ,NSE,NSE\n"
                                 "5,1,B,B,0,,0,0.05,1,EQ,NSE,NSE\n",
         ATP_EEXIST, 4, "instrument_token", "kite token 5 already belongs to NSE:A"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct instreg *reg = instreg_new();
        struct atp_err err;
        char text[1024];
        snprintf(text, sizeof text, "%s%s", head, cases[i].rows);
        int rc = load_kite_text(reg, text, &err);
        cr_assert_eq(rc, cases[i].rc, "%s: %s (%s)", cases[i].what, atp_status_name(rc), err.msg);
        cr_assert_str_eq(err.file, "kite.csv");
        cr_assert_eq(err.line, cases[i].line, "%s: line %ld", cases[i].what, err.line);
        cr_assert_str_eq(err.field, cases[i].field, "%s: field %s", cases[i].what, err.field);
        cr_assert(strstr(err.msg, cases[i].msg), "%s: '%s'", cases[i].what, err.msg);
        cr_assert_eq(instreg_count(reg), 0, "%s", cases[i].what);
        instreg_free(reg);
    }
    /* A missing required column is named. */
    struct instreg *reg = instreg_new();
    struct atp_err err;
    cr_assert_eq(load_kite_text(reg, "instrument_token,tradingsymbol,exchange\n1,A,NSE\n", &err),
                 ATP_EPARSE);
    cr_assert_eq(err.line, 1);
    cr_assert_str_eq(err.field, "tick_size");
    cr_assert_eq(load_kite_text(reg, "", &err), ATP_EPARSE);
    /* A master symbol already bound to another Kite symbol is a conflict, not a guess. */
    cr_assert_eq(load_text(reg, HDR "A,NSE,EQ,,,,1,0.05,,,A-KITE,,,,,,,,,\n", &err), ATP_OK);
    cr_assert_eq(load_kite_text(reg,
                                "instrument_token,tradingsymbol,exchange,tick_size,lot_size,"
                                "instrument_type,segment\n7,A,NSE,0.05,1,EQ,NSE\n",
                                &err),
                 ATP_EEXIST);
    cr_assert(strstr(err.msg, "already registered with Kite symbol A-KITE"), "%s", err.msg);
    instreg_free(reg);
}
