/* atp candles: replay a tick CSV through the candle engine and print the complete bars of one
 * timeframe. Output is written only after the whole file was read, so a bad row never leaves a
 * partial result behind: the command prints the error (file, line, field) and exits 2. */
#include <getopt.h>
#include <string.h>

#include "app/cli.h"
#include "app/outfmt.h"
#include "core/alloc.h"
#include "md/engine.h"
#include "md/feed.h"
#include "md/feed/replay.h"

struct collected {
    struct bar *bars;
    uint32_t *ids;
    size_t n, cap;
    int64_t only_id; /* -1: every instrument */
    int oom;
};

static void collect(void *ctx, uint32_t id, enum tf tf, const struct bar *bar, int complete)
{
    (void)tf;
    struct collected *c = ctx;
    if (!complete || (c->only_id >= 0 && id != (uint32_t)c->only_id) || c->oom)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct bar *b = atp_reallocarray(c->bars, cap, sizeof *b);
        if (b)
            c->bars = b;
        uint32_t *ids = b ? atp_reallocarray(c->ids, cap, sizeof *ids) : NULL;
        if (ids)
            c->ids = ids;
        if (!b || !ids) {
            c->oom = 1;
            return;
        }
        c->cap = cap;
    }
    c->bars[c->n] = *bar;
    c->ids[c->n++] = id;
}

int cmd_candles(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"tf", required_argument, 0, 't'},
                                         {"symbol", required_argument, 0, 's'},
                                         {"format", required_argument, 0, 'f'},
                                         {"kite-instruments", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    const char *data = NULL, *tfname = NULL, *symbol = NULL, *format = "csv", *kite = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 't': tfname = optarg; break;
        case 's': symbol = optarg; break;
        case 'f': format = optarg; break;
        case 'k': kite = optarg; break;
        default: return cli_fail("candles", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_fail("candles", "unexpected argument '%s'", argv[optind]);
    if (!data)
        return cli_fail("candles", "--data FILE is required (a tick CSV)");
    if (!tfname)
        return cli_fail("candles", "--tf is required (1m 3m 5m 15m 30m 1h 1d)");
    enum tf tf;
    if (tf_parse(tfname, &tf) != ATP_OK)
        return cli_fail("candles", "--tf: unknown timeframe '%s' (1m 3m 5m 15m 30m 1h 1d)", tfname);
    enum outfmt fmt;
    if (outfmt_parse(format, &fmt) != ATP_OK)
        return cli_fail("candles", "--format must be csv or json, not '%s'", format);

    struct cli_refdata rd;
    int rc = cli_refdata_load("candles", &rd, kite);
    if (rc)
        return rc;
    struct collected col = {.only_id = -1};
    struct feed *feed = NULL;
    struct md_engine *eng = NULL;
    struct atp_err err;
    atp_err_clear(&err);
    if (symbol) {
        const struct instrument *in = instreg_find(rd.reg, symbol);
        if (!in) {
            rc = cli_fail("candles", "--symbol: unknown symbol '%s'", symbol);
            goto out;
        }
        col.only_id = in->id;
    }
    if (replay_open_ticks(data, rd.reg, &feed, &err) != ATP_OK) {
        rc = cli_fail_err("candles", &err);
        goto out;
    }
    struct md_config mc = {.cal = rd.cal, .n_instruments = (uint32_t)instreg_count(rd.reg),
                           .tf_mask = 1u << tf};
    if (md_engine_new(&mc, &eng) != ATP_OK) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    struct md_handlers h = {.ctx = &col, .on_bar = collect};
    md_engine_set_handlers(eng, &h);
    struct feed_item item;
    int got;
    while ((got = feed_next(feed, &item, &err)) == 1) {
        if (item.kind != FEED_TICK)
            continue;
        if (md_engine_on_tick(eng, &item.tick) == ATP_ENOMEM)
            col.oom = 1;
    }
    if (got < 0) {
        rc = cli_fail_err("candles", &err);
        goto out;
    }
    md_engine_flush(eng);
    if (col.oom) {
        rc = cli_fail("candles", "out of memory");
        goto out;
    }
    struct md_stats st;
    md_engine_stats(eng, &st);
    if (fmt == OUT_CSV) {
        printf("time,symbol,open,high,low,close,volume\n");
        for (size_t i = 0; i < col.n; i++)
            outfmt_bar_csv(stdout, instreg_get(rd.reg, col.ids[i])->symbol, &col.bars[i]);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < col.n; i++)
            json_array_append_new(arr, outfmt_bar_json(instreg_get(rd.reg, col.ids[i])->symbol,
                                                       &col.bars[i]));
        outfmt_json_dump(arr, stdout);
        json_decref(arr);
    }
    if (st.late || st.off_session)
        fprintf(stderr,
                "atp candles: %s: %llu ticks read, %llu late (older than their bar) and %llu outside "
                "NSE session hours were dropped\n",
                data, (unsigned long long)st.ticks, (unsigned long long)st.late,
                (unsigned long long)st.off_session);
out:
    md_engine_free(eng);
    feed_free(feed);
    atp_free(col.bars);
    atp_free(col.ids);
    cli_refdata_free(&rd);
    return rc;
}
