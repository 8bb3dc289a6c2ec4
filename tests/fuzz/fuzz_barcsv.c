/* libFuzzer target for md/feed/barcsv: any bytes as a bar CSV (its symbol given for files without
 * a symbol column). Every loaded bar must pass the documented checks, and its expansion into
 * ticks (replay_expand_bar) must keep prices inside the bar, times ordered inside the bar's span,
 * and the volume exactly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md/feed.h"
#include "md/feed/barcsv.h"
#include "md/feed/replay.h"

static struct instreg *registry(void)
{
    static struct instreg *reg;
    if (reg)
        return reg;
    reg = instreg_new();
    static const char *const syms[] = {"RELIANCE", "INFY", "NIFTY", "AAPL"};
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        struct instrument in;
        memset(&in, 0, sizeof in);
        snprintf(in.symbol, sizeof in.symbol, "%s", syms[i]);
        in.lot_size = 1;
        in.tick_size = 500;
        in.expiry_day = -1;
        if (instreg_add(reg, &in, NULL) != ATP_OK)
            abort();
    }
    return reg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    struct barcsv_file bf;
    struct atp_err err;
    int rc = barcsv_load(&bf, f, "fuzz.csv", registry(), "INFY", &err);
    fclose(f);
    if (rc != ATP_OK) {
        if (bf.n != 0 || bf.rows != NULL || err.code != rc || strcmp(err.file, "fuzz.csv") != 0)
            __builtin_trap();
        return 0;
    }
    enum tf tf = TF_1M;
    if (barcsv_detect_tf(&bf, "fuzz.csv", &tf, &err) != ATP_OK)
        tf = TF_1M;
    for (size_t i = 0; i < bf.n; i++) {
        const struct barcsv_row *row = &bf.rows[i];
        const struct bar *b = &row->bar;
        if (!bar_is_valid(b) || b->low <= 0 || row->line < 2 ||
            row->instrument_id >= instreg_count(registry()))
            __builtin_trap();
        if (b->start > INT64_MAX / 2 || b->start < INT64_MIN / 2)
            continue; /* feed_bar_end arithmetic is for real dates (ts_parse limits them) */
        struct tick t[4];
        replay_expand_bar(b, tf, row->instrument_id, t);
        int64_t sum = 0;
        ts_ns end = feed_bar_end(b->start, tf);
        for (int k = 0; k < 4; k++) {
            if (t[k].ltp < b->low || t[k].ltp > b->high || t[k].qty < 0)
                __builtin_trap();
            if (t[k].ts < b->start || t[k].ts >= end || (k && t[k].ts < t[k - 1].ts))
                __builtin_trap();
            sum += t[k].qty;
        }
        if (sum != b->volume || t[0].ltp != b->open || t[3].ltp != b->close)
            __builtin_trap();
    }
    barcsv_file_cleanup(&bf);
    return 0;
}
