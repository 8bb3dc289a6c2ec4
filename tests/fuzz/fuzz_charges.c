/* libFuzzer target for portfolio/charges: the bytes go to the rate-table loader (through fmemopen,
 * as a file would) and, as text, to charges_rate_parse. Beyond "no crash, no leak" it checks:
 *  - all or nothing: a failed load returns no table, and err carries the same code;
 *  - a loaded table prices a grid of requests (every segment, side, exchange, several days,
 *    small and huge quantities) with each component >= 0 and a whole number of paise, the total
 *    their sum, and days before the first date refused with ATP_ERANGE;
 *  - a parsed rate formats back to text that parses to the same value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "portfolio/charges.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_breakdown(const struct charges_breakdown *b)
{
    const px_t part[7] = {b->brokerage, b->stt, b->exchange_txn, b->ipft,
                          b->sebi,      b->stamp, b->gst};
    __int128 sum = 0;
    for (int i = 0; i < 7; i++) {
        if (part[i] < 0 || part[i] % 100 != 0)
            abort();
        sum += part[i];
    }
    if (sum != b->total)
        abort();
}

static void price_grid(const struct charges_table *t)
{
    static const enum exchange exchanges[] = {EXCH_NSE, EXCH_BSE, EXCH_NFO, EXCH_BFO, EXCH_MCX};
    static const struct {
        px_t price;
        int64_t qty;
    } sizes[] = {{500, 1}, {15000000, 100}, {253105000, 65}, {1, INT64_MAX - 1}, {PX_MAX, 2}};
    int64_t first = charges_table_first_day(t);
    const int64_t days[] = {first, first + 1, first + 400, first + 1200, first + 40000};
    for (int seg = 0; seg < CHARGES_SEGMENT_COUNT; seg++)
        for (int side = 0; side < CHARGES_SIDE_COUNT; side++)
            for (size_t x = 0; x < sizeof exchanges / sizeof exchanges[0]; x++)
                for (size_t d = 0; d < sizeof days / sizeof days[0]; d++)
                    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
                        struct charges_req req = {(enum charges_segment)seg, exchanges[x],
                                                  (enum charges_side)side, sizes[z].price,
                                                  sizes[z].qty, days[d]};
                        struct charges_breakdown out;
                        int rc = charges_indian(t, &req, &out, NULL);
                        if (rc == ATP_OK)
                            check_breakdown(&out);
                        else if (rc != ATP_EINVAL && rc != ATP_EOVERFLOW)
                            abort();
                    }
    struct charges_req early = {CHARGES_INTRADAY, EXCH_NSE, CHARGES_BUY, 10000, 1, first - 1};
    struct charges_breakdown out;
    if (charges_indian(t, &early, &out, NULL) != ATP_ERANGE)
        abort();
}

static void fuzz_rate_text(const uint8_t *data, size_t size)
{
    charges_rate_t rate;
    if (charges_rate_parse((const char *)data, size, &rate, NULL) != ATP_OK)
        return;
    if (rate < 0 || rate > CHARGES_RATE_MAX)
        abort();
    char buf[CHARGES_RATE_STR_MAX];
    int n = charges_rate_format(rate, buf, sizeof buf);
    charges_rate_t again;
    if (n <= 0 || (size_t)n >= sizeof buf ||
        charges_rate_parse(buf, (size_t)n, &again, NULL) != ATP_OK || again != rate)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long live = atp_alloc_live();
    fuzz_rate_text(data, size);

    /* fmemopen may refuse a zero-length buffer; the empty file is a unit test anyway. */
    FILE *f = size ? fmemopen((void *)data, size, "r") : NULL;
    if (f) {
        struct charges_table *t = (struct charges_table *)&f; /* must come back NULL on failure */
        struct atp_err err;
        int rc = charges_table_load_stream(f, "fuzz.csv", &t, &err);
        fclose(f);
        if (rc == ATP_OK) {
            if (!t)
                abort();
            price_grid(t);
            charges_table_free(t);
        } else if (t != NULL || err.code != rc) {
            abort();
        }
    }
    if (atp_alloc_live() != live)
        abort(); /* leak */
    return 0;
}
