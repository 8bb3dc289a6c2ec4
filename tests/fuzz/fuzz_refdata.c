/* Fuzz target: the small reference-data parsers and the number/time parsers everything else is
 * built on: the NSE holiday file (cal_load_stream), the simulator profiles (a lookup over the
 * whole file), px_parse / px_parse_round and ts_parse on the raw bytes. Each must either succeed
 * with a consistent result or fail with an error; never crash, never read out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/cal.h"
#include "core/px.h"
#include "core/ts.h"
#include "md/feed/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct atp_err err;
    px_t px;
    ts_ns ts;
    int date_only;
    if (px_parse((const char *)data, size, &px, &err) == ATP_OK) {
        char buf[PX_STR_MAX];
        px_t back;
        int n = px_format(px, buf, sizeof buf);
        if (px_parse(buf, (size_t)n, &back, NULL) != ATP_OK || back != px)
            __builtin_trap(); /* printing and parsing must round-trip */
    }
    (void)px_parse_round((const char *)data, size, &px, &err);
    if (ts_parse((const char *)data, size, &ts, &date_only, &err) == ATP_OK) {
        char buf[TS_STR_MAX];
        ts_format_ist(ts, buf, sizeof buf);
    }
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (f) {
        struct cal *cal = cal_new();
        if (cal)
            (void)cal_load_stream(cal, f, "fuzz", &err);
        cal_free(cal);
        fclose(f);
    }
    f = fmemopen((void *)data, size, "r");
    if (f) {
        struct instrument in;
        memset(&in, 0, sizeof in);
        strcpy(in.symbol, "RELIANCE");
        in.lot_size = 1;
        in.tick_size = 500;
        struct sim_profile prof;
        (void)sim_profile_lookup_stream(f, "fuzz", &in, &prof, &err);
        fclose(f);
    }
    return 0;
}
