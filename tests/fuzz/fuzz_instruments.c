/* libFuzzer target for model/instrument's two loaders: the same bytes go to ATP's master CSV
 * loader and to the Kite instrument CSV loader (on an empty registry and on one that already
 * holds a few instruments, so Kite rows also merge). Beyond "no crash, no leak" it checks the
 * registry's invariants: a failed load leaves the count as it was, and every instrument is found
 * again through each of its keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "model/instrument.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char seed_master[] =
    "symbol,exchange,type,name,underlying,isin,lot_size,tick_size,expiry,strike,kite_symbol,"
    "kite_token,angel_symbol,angel_token,fyers_symbol,fyers_token\n"
    "RELIANCE,NSE,EQ,Reliance,,INE002A01018,1,0.05,,,RELIANCE,738561,RELIANCE-EQ,2885,"
    "NSE:RELIANCE-EQ,10100000002885\n"
    "NIFTY,NSE,INDEX,NIFTY 50,,,1,0.05,,,NIFTY 50,256265,,99926000,NSE:NIFTY50-INDEX,\n"
    "NIFTY26DECFUT,NFO,FUT,NIFTY,NIFTY,,65,0.1,2026-12-29,,NIFTY26DECFUT,,,,,\n";

static void check_invariants(const struct instreg *reg)
{
    for (uint32_t id = 0; id < instreg_count(reg); id++) {
        const struct instrument *p = instreg_get(reg, id);
        if (!p || p->id != id || instreg_find_on(reg, p->exchange, p->symbol) != p)
            abort();
        const struct instrument *pref = instreg_find(reg, p->symbol);
        if (!pref || strcmp(pref->symbol, p->symbol) != 0 || pref->exchange > p->exchange)
            abort();
        if (p->lot_size < 1 || p->tick_size <= 0)
            abort();
        for (int b = 0; b < BROKER_COUNT; b++) {
            if (p->broker[b].token[0] &&
                instreg_find_token(reg, (enum broker_id)b, p->broker[b].token) != p)
                abort();
            if (p->broker[b].symbol[0] &&
                instreg_find_broker_symbol(reg, (enum broker_id)b, p->exchange,
                                           p->broker[b].symbol) != p)
                abort();
        }
    }
}

typedef int (*loader_fn)(struct instreg *, FILE *, const char *, struct atp_err *);

static void load_bytes(struct instreg *reg, loader_fn load, const uint8_t *data, size_t size)
{
    /* fmemopen may refuse a zero-length buffer; the empty file is a unit test anyway. */
    FILE *f = size ? fmemopen((void *)data, size, "r") : NULL;
    if (!f)
        return;
    size_t before = instreg_count(reg);
    struct atp_err err;
    int rc = load(reg, f, "fuzz.csv", &err);
    fclose(f);
    if (rc != ATP_OK && instreg_count(reg) != before)
        abort(); /* all-or-nothing */
    if (rc != ATP_OK && err.code != rc)
        abort();
    check_invariants(reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long live = atp_alloc_live();

    struct instreg *reg = instreg_new();
    if (!reg)
        return 0;
    load_bytes(reg, instreg_load_csv_stream, data, size);
    load_bytes(reg, instreg_load_kite_csv_stream, data, size);
    instreg_free(reg);

    reg = instreg_new();
    if (!reg)
        return 0;
    load_bytes(reg, instreg_load_csv_stream, (const uint8_t *)seed_master, sizeof seed_master - 1);
    if (instreg_count(reg) != 3)
        abort();
    load_bytes(reg, instreg_load_kite_csv_stream, data, size);
    load_bytes(reg, instreg_load_csv_stream, data, size);
    instreg_free(reg);

    if (atp_alloc_live() != live)
        abort(); /* leak through the allocator wrapper */
    return 0;
}
