/* libFuzzer target for md/feed/tickcsv: any bytes as a tick CSV. Every tick read must satisfy
 * the reader's contract (positive ltp, non-negative optional fields), and must survive a round
 * trip through the writer unchanged (when its time is a whole millisecond). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md/feed/tickcsv.h"

static struct instreg *registry(void)
{
    static struct instreg *reg;
    if (reg)
        return reg;
    reg = instreg_new();
    static const char *const syms[] = {"RELIANCE", "INFY", "NIFTY", "M&M", "BAJAJ-AUTO"};
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

static void check_round_trip(const struct tick *t)
{
    if (t->ts % TS_NS_PER_MS != 0) /* the writer prints milliseconds */
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&buf, &len);
    if (!w)
        return;
    struct atp_err err;
    if (tickcsv_write_header(w, "w", &err) != ATP_OK ||
        tickcsv_write_tick(w, "w", registry(), t, &err) != ATP_OK)
        __builtin_trap();
    fclose(w);
    FILE *f = fmemopen(buf, len, "r");
    struct tickcsv_reader r;
    struct tick back;
    if (!f || tickcsv_reader_init(&r, f, "w", registry(), &err) != ATP_OK ||
        tickcsv_read(&r, &back, &err) != 1)
        __builtin_trap();
    /* oi is not written */
    struct tick want = *t;
    want.flags &= ~(uint32_t)TICK_HAS_OI;
    want.oi = 0;
    if (memcmp(&want, &back, sizeof back) != 0)
        __builtin_trap();
    tickcsv_reader_cleanup(&r);
    fclose(f);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    struct tickcsv_reader r;
    struct atp_err err;
    if (tickcsv_reader_init(&r, f, "fuzz.csv", registry(), &err) == ATP_OK) {
        struct tick t;
        int rc;
        while ((rc = tickcsv_read(&r, &t, &err)) == 1) {
            if (t.ltp <= 0 || t.instrument_id >= instreg_count(registry()))
                __builtin_trap();
            if (((t.flags & TICK_HAS_QTY) && t.qty < 0) ||
                ((t.flags & TICK_HAS_VOLUME) && t.cum_volume < 0) ||
                ((t.flags & TICK_HAS_BID) && t.bid < 0) || ((t.flags & TICK_HAS_ASK) && t.ask < 0) ||
                ((t.flags & TICK_HAS_OI) && t.oi < 0))
                __builtin_trap();
            check_round_trip(&t);
        }
        if (rc < 0 && (err.code != rc || err.line < 1 || strcmp(err.file, "fuzz.csv") != 0))
            __builtin_trap(); /* every row error names the file and a line */
    }
    tickcsv_reader_cleanup(&r);
    fclose(f);
    return 0;
}
