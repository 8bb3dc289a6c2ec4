/* atp indicator: compute one indicator over a bar CSV and print one row per bar (or per
 * aggregated bar with --tf): time, then the indicator's outputs as named in the registry, empty
 * (CSV) or null (JSON) while it warms up. The file is read and validated whole before anything is
 * printed. The bar file needs no instrument master: any market's history works. */
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "app/cli.h"
#include "app/outfmt.h"
#include "core/alloc.h"
#include "md/engine.h"
#include "md/feed/barcsv.h"
#include "md/indicator.h"

#define MAX_PARAMS 8

/* The bars the indicator runs over. */
struct series {
    struct bar *bars;
    size_t n, cap;
    enum tf keep_tf; /* aggregation: the timeframe whose completions are kept */
    int oom;
};

static int series_push(struct series *s, const struct bar *b)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct bar *nb = atp_reallocarray(s->bars, cap, sizeof *nb);
        if (!nb)
            return ATP_ENOMEM;
        s->bars = nb;
        s->cap = cap;
    }
    s->bars[s->n++] = *b;
    return ATP_OK;
}

static void on_bar(void *ctx, uint32_t id, enum tf tf, const struct bar *bar, int complete)
{
    (void)id;
    struct series *s = ctx;
    if (complete && tf == s->keep_tf && series_push(s, bar) != ATP_OK)
        s->oom = 1;
}

/* Folds the selected rows (bars of timeframe src) into timeframe dst with the md engine, the same
 * aggregation live data gets. */
static int aggregate(const struct barcsv_file *file, const char *symbol, enum tf src, enum tf dst,
                     struct series *out)
{
    struct cal *cal = cal_new();
    struct md_engine *eng = NULL;
    struct md_config mc = {.cal = cal, .n_instruments = 1, .tf_mask = (1u << src) | (1u << dst)};
    if (!cal || md_engine_new(&mc, &eng) != ATP_OK) {
        cal_free(cal);
        return ATP_ENOMEM;
    }
    out->keep_tf = dst;
    struct md_handlers h = {.ctx = out, .on_bar = on_bar};
    md_engine_set_handlers(eng, &h);
    for (size_t i = 0; i < file->n; i++)
        if (!symbol || strcmp(file->rows[i].symbol, symbol) == 0)
            md_engine_on_bar(eng, 0, src, &file->rows[i].bar);
    md_engine_flush(eng);
    md_engine_free(eng);
    cal_free(cal);
    return out->oom ? ATP_ENOMEM : ATP_OK;
}

int cmd_indicator(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"name", required_argument, 0, 'n'},
                                         {"param", required_argument, 0, 'p'},
                                         {"tf", required_argument, 0, 't'},
                                         {"symbol", required_argument, 0, 's'},
                                         {"format", required_argument, 0, 'f'},
                                         {0, 0, 0, 0}};
    const char *data = NULL, *name = NULL, *tfname = NULL, *symbol = NULL, *format = "csv";
    char pnames[MAX_PARAMS][48];
    struct ind_param params[MAX_PARAMS];
    int n_params = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'n': name = optarg; break;
        case 't': tfname = optarg; break;
        case 's': symbol = optarg; break;
        case 'f': format = optarg; break;
        case 'p':
            if (n_params == MAX_PARAMS)
                return cli_fail("indicator", "at most %d --param options", MAX_PARAMS);
            if (cli_parse_kv(optarg, pnames[n_params], sizeof pnames[0], &params[n_params].value) !=
                ATP_OK)
                return cli_fail("indicator", "--param must be NAME=NUMBER, not '%s'", optarg);
            params[n_params].name = pnames[n_params];
            n_params++;
            break;
        default: return cli_fail("indicator", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_fail("indicator", "unexpected argument '%s'", argv[optind]);
    if (!data)
        return cli_fail("indicator", "--data FILE is required (a bar CSV)");
    if (!name)
        return cli_fail("indicator", "--name is required (atp indicators lists them)");
    enum outfmt fmt;
    if (outfmt_parse(format, &fmt) != ATP_OK)
        return cli_fail("indicator", "--format must be csv or json, not '%s'", format);
    enum tf want_tf = TF_1D;
    if (tfname && tf_parse(tfname, &want_tf) != ATP_OK)
        return cli_fail("indicator", "--tf: unknown timeframe '%s' (1m 3m 5m 15m 30m 1h 1d)", tfname);

    struct atp_err err;
    atp_err_clear(&err);
    struct ind *ind = NULL;
    if (ind_new(name, params, n_params, &ind, &err) != ATP_OK) {
        if (err.code == ATP_ENOTFOUND)
            return cli_fail("indicator", "unknown indicator '%s' (atp indicators lists them)", name);
        return cli_fail_err("indicator", &err);
    }
    int rc = CLI_EXIT_OK;
    struct barcsv_file file = {0};
    struct series agg = {0};
    FILE *f = fopen(data, "r");
    if (!f) {
        rc = cli_fail("indicator", "%s: cannot open file", data);
        goto out;
    }
    int lrc = barcsv_load(&file, f, data, NULL, symbol, &err);
    fclose(f);
    if (lrc != ATP_OK) {
        rc = cli_fail_err("indicator", &err);
        goto out;
    }
    /* Which rows: a file of several symbols needs --symbol to pick one. */
    const char *only = NULL;
    size_t selected = 0;
    for (size_t i = 0; i < file.n; i++) {
        if (symbol && file.has_symbol_column) {
            if (strcmp(file.rows[i].symbol, symbol) == 0)
                selected++;
        } else if (strcmp(file.rows[i].symbol, file.rows[0].symbol) != 0) {
            rc = cli_fail("indicator", "%s: holds several symbols (%s, %s, ...): choose one with --symbol",
                          data, file.rows[0].symbol, file.rows[i].symbol);
            goto out;
        } else {
            selected++;
        }
    }
    if (symbol && file.has_symbol_column)
        only = symbol;
    if (selected == 0) {
        rc = cli_fail("indicator", "%s: no rows for symbol '%s'", data, symbol ? symbol : "");
        goto out;
    }
    /* The bars to run over: as given, or aggregated to a coarser --tf. */
    const struct bar *bars = NULL;
    size_t n_bars = 0;
    int date_only = file.date_only;
    enum tf src_tf = TF_1D;
    if (tfname) {
        if (barcsv_detect_tf(&file, data, &src_tf, &err) != ATP_OK) {
            rc = cli_fail_err("indicator", &err);
            goto out;
        }
        if (want_tf < src_tf) {
            rc = cli_fail("indicator", "--tf %s is finer than the file's %s bars", tf_name(want_tf),
                          tf_name(src_tf));
            goto out;
        }
    }
    if (tfname && want_tf != src_tf) {
        if (aggregate(&file, only, src_tf, want_tf, &agg) != ATP_OK) {
            rc = cli_fail("indicator", "out of memory");
            goto out;
        }
        bars = agg.bars;
        n_bars = agg.n;
    } else {
        for (size_t i = 0; i < file.n; i++) {
            if (only && strcmp(file.rows[i].symbol, only) != 0)
                continue;
            if (series_push(&agg, &file.rows[i].bar) != ATP_OK) {
                rc = cli_fail("indicator", "out of memory");
                goto out;
            }
        }
        bars = agg.bars;
        n_bars = agg.n;
    }

    const struct atp_indicator_def *def = ind_def(ind);
    json_t *rows = fmt == OUT_JSON ? json_array() : NULL;
    if (fmt == OUT_CSV) {
        printf("time");
        for (int o = 0; o < def->n_outputs; o++)
            printf(",%s", def->outputs[o]);
        printf("\n");
    }
    for (size_t i = 0; i < n_bars; i++) {
        struct atp_bar_in bin;
        double v[ATP_IND_MAX_OUTPUTS];
        md_bar_to_ind(&bars[i], &bin);
        ind_update(ind, &bin, v);
        char t[TS_STR_MAX];
        outfmt_time(bars[i].start, date_only, t, sizeof t);
        if (fmt == OUT_CSV) {
            printf("%s", t);
            for (int o = 0; o < def->n_outputs; o++) {
                if (isfinite(v[o]))
                    printf(",%.15g", v[o]);
                else
                    printf(",");
            }
            printf("\n");
        } else {
            json_t *row = json_pack("{s:s}", "time", t);
            for (int o = 0; o < def->n_outputs; o++)
                json_object_set_new(row, def->outputs[o], isfinite(v[o]) ? json_real(v[o]) : json_null());
            json_array_append_new(rows, row);
        }
    }
    if (rows) {
        outfmt_json_dump(rows, stdout);
        json_decref(rows);
    }
out:
    atp_free(agg.bars);
    barcsv_file_cleanup(&file);
    ind_free(ind);
    return rc;
}
