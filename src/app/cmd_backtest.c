/* atp backtest: a strategy over bar files through the trading kernel (backtest/runner), with the
 * metrics printed and optionally written as JSON, a trade CSV and an HTML report. A parameter
 * given as a range (--param fast=5:20:5) makes a grid: every combination runs in parallel on all
 * cores and a table sorted by a metric is printed. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/outfmt.h"
#include "backtest/data.h"
#include "backtest/report.h"
#include "backtest/runner.h"
#include "core/alloc.h"
#include "md/feed/barcsv.h"
#include "strategy/registry.h"

#define MAX_FILES 64
#define MAX_PARAMS 8
#define MAX_GRID 4096

struct param_range {
    char name[48];
    double from, to, step; /* a single value has from == to, step 0 */
};

struct bt_job {
    struct bt_config cfg;
    struct ind_param params[MAX_PARAMS];
    struct backtest_result res;
    struct atp_err err;
    int rc;
};

struct job_pool {
    struct bt_job *jobs;
    size_t n;
    size_t next;
    pthread_mutex_t lock;
    const struct bt_bar *bars;
    size_t n_bars;
};

static void *worker(void *arg)
{
    struct job_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->n)
            return NULL;
        struct bt_job *j = &p->jobs[i];
        atp_err_clear(&j->err);
        j->rc = bt_run(&j->cfg, p->bars, p->n_bars, &j->res, &j->err);
    }
}

static void progress_bar(void *ctx, size_t done, size_t total)
{
    (void)ctx;
    int width = 40, filled = total ? (int)((double)done / (double)total * width) : width;
    fprintf(stderr, "\r[%.*s%*s] %3d%%", filled, "########################################",
            width - filled, "", total ? (int)(100.0 * (double)done / (double)total) : 100);
    if (done == total)
        fputc('\n', stderr);
}

/* "5:20:5" or "5" -> range. */
static int parse_range(const char *text, struct param_range *r)
{
    char *end;
    r->from = strtod(text, &end);
    if (end == text)
        return ATP_EINVAL;
    r->to = r->from;
    r->step = 0;
    if (*end == '\0')
        return ATP_OK;
    if (*end != ':')
        return ATP_EINVAL;
    const char *p = end + 1;
    r->to = strtod(p, &end);
    if (end == p || *end != ':')
        return ATP_EINVAL;
    p = end + 1;
    r->step = strtod(p, &end);
    if (end == p || *end || !(r->step > 0) || r->to < r->from || !isfinite(r->to))
        return ATP_EINVAL;
    return ATP_OK;
}

static int parse_pct(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || (*end && strcmp(end, "%") != 0) || !(v >= 0 && v < 100))
        return ATP_EINVAL;
    *out = v / 100.0;
    return ATP_OK;
}

static double metric_value(const struct metrics *m, const char *name, int *ok)
{
    *ok = 1;
    if (!strcmp(name, "sharpe")) return m->sharpe;
    if (!strcmp(name, "sortino")) return m->sortino;
    if (!strcmp(name, "total_return_pct") || !strcmp(name, "return")) return m->total_return_pct;
    if (!strcmp(name, "cagr_pct")) return m->cagr_pct;
    if (!strcmp(name, "calmar")) return m->calmar;
    if (!strcmp(name, "max_drawdown_pct")) return m->max_drawdown_pct;
    if (!strcmp(name, "win_rate_pct")) return m->win_rate_pct;
    if (!strcmp(name, "profit_factor")) return m->profit_factor;
    *ok = 0;
    return NAN;
}

static void print_metrics(const struct backtest_result *r)
{
    const struct metrics *m = &r->metrics;
    char a[32], b[32], c[32];
    px_format_fixed(m->initial_capital, 2, a, sizeof a);
    px_format_fixed(m->final_equity, 2, b, sizeof b);
    px_format_fixed(m->total_charges, 2, c, sizeof c);
    printf("strategy        %s\n", r->strategy);
    printf("initial capital %s\nfinal equity    %s\n", a, b);
    printf("total return    %.2f%%\ncagr            %.2f%%\nmax drawdown    %.2f%%\n",
           m->total_return_pct, m->cagr_pct, m->max_drawdown_pct);
    printf("sharpe          %.3f\nsortino         %.3f\ncalmar          %.3f\n", m->sharpe, m->sortino,
           m->calmar);
    printf("trades          %lld (won %lld, lost %lld, win rate %.1f%%)\n", (long long)m->trades,
           (long long)m->winning_trades, (long long)m->losing_trades, m->win_rate_pct);
    printf("profit factor   %.3f\nexposure        %.1f%%\ncharges         %s\n", m->profit_factor,
           m->exposure_pct, c);
}

static int write_file(const char *cmd, const char *path, const struct backtest_result *r, int kind)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_fail(cmd, "%s: cannot open for writing", path);
    struct atp_err err;
    atp_err_clear(&err);
    int rc = kind == 0   ? result_write_json(r, f, &err)
             : kind == 1 ? result_write_trades_csv(r, f, &err)
                         : report_write_html(r, report_default_lwc_path(), f, &err);
    if (fclose(f) != 0 && rc == ATP_OK)
        rc = atp_err_set(&err, ATP_EIO, path, 0, NULL, "write failed");
    if (rc != ATP_OK)
        return cli_fail_err(cmd, &err);
    return CLI_EXIT_OK;
}

int cmd_backtest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},        {"strategy", required_argument, 0, 'S'},
        {"param", required_argument, 0, 'p'},       {"symbol", required_argument, 0, 's'},
        {"tf", required_argument, 0, 't'},          {"capital", required_argument, 0, 'c'},
        {"qty", required_argument, 0, 'q'},         {"sizing", required_argument, 0, 'z'},
        {"slippage", required_argument, 0, 'l'},    {"commission", required_argument, 0, 'm'},
        {"charges", required_argument, 0, 'C'},     {"fill", required_argument, 0, 'F'},
        {"from", required_argument, 0, 'a'},        {"to", required_argument, 0, 'b'},
        {"json", required_argument, 0, 'J'},        {"trades", required_argument, 0, 'T'},
        {"report", required_argument, 0, 'R'},      {"product", required_argument, 0, 'P'},
        {"stop-loss", required_argument, 0, '1'},   {"take-profit", required_argument, 0, '2'},
        {"trailing-stop", required_argument, 0, '3'}, {"sort", required_argument, 0, 'o'},
        {"jobs", required_argument, 0, 'j'},        {0, 0, 0, 0}};
    const char *files[MAX_FILES], *strategy = NULL, *symbol = NULL, *tfname = NULL;
    const char *json_path = NULL, *trades_path = NULL, *report_path = NULL, *sort = "sharpe";
    const char *from = NULL, *to = NULL, *charges_kind = NULL, *product = NULL;
    struct param_range ranges[MAX_PARAMS];
    int n_files = 0, n_ranges = 0, c, rc = CLI_EXIT_OK, fill_next_open = 1;
    double capital = 100000, sizing = 0, slippage = 0.0005, commission = -1, sl = 0, tp = 0, trail = 0;
    long qty = 0, jobs = sysconf(_SC_NPROCESSORS_ONLN);
    opterr = 0;
    optind = 1;
    while (rc == CLI_EXIT_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (n_files == MAX_FILES)
                return cli_fail("backtest", "at most %d --data files", MAX_FILES);
            files[n_files++] = optarg;
            break;
        case 'S': strategy = optarg; break;
        case 's': symbol = optarg; break;
        case 't': tfname = optarg; break;
        case 'J': json_path = optarg; break;
        case 'T': trades_path = optarg; break;
        case 'R': report_path = optarg; break;
        case 'a': from = optarg; break;
        case 'b': to = optarg; break;
        case 'C': charges_kind = optarg; break;
        case 'P': product = optarg; break;
        case 'o': sort = optarg; break;
        case 'p': {
            if (n_ranges == MAX_PARAMS)
                return cli_fail("backtest", "at most %d --param options", MAX_PARAMS);
            const char *eq = strchr(optarg, '=');
            struct param_range *r = &ranges[n_ranges];
            if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof r->name ||
                parse_range(eq + 1, r) != ATP_OK)
                return cli_fail("backtest", "--param must be NAME=VALUE or NAME=FROM:TO:STEP, not '%s'",
                                optarg);
            memcpy(r->name, optarg, (size_t)(eq - optarg));
            r->name[eq - optarg] = '\0';
            n_ranges++;
            break;
        }
        case 'c': rc = cli_opt_double("backtest", "--capital", optarg, 1, 1e13, &capital); break;
        case 'q': rc = cli_opt_long("backtest", "--qty", optarg, 1, 1000000000, &qty); break;
        case 'j': rc = cli_opt_long("backtest", "--jobs", optarg, 1, 256, &jobs); break;
        case 'z':
            if (strncmp(optarg, "pct:", 4) != 0 || parse_pct(optarg + 4, &sizing) != ATP_OK || sizing <= 0)
                return cli_fail("backtest", "--sizing must be pct:P with 0 < P <= 100, not '%s'", optarg);
            break;
        case 'l':
            if (parse_pct(optarg, &slippage) != ATP_OK)
                return cli_fail("backtest", "--slippage must be a percentage like 0.05%%, not '%s'", optarg);
            break;
        case 'm':
            if (parse_pct(optarg, &commission) != ATP_OK)
                return cli_fail("backtest", "--commission must be a percentage like 0.03%%, not '%s'",
                                optarg);
            break;
        case '1':
            if (parse_pct(optarg, &sl) != ATP_OK)
                return cli_fail("backtest", "--stop-loss must be a percentage, not '%s'", optarg);
            break;
        case '2':
            if (parse_pct(optarg, &tp) != ATP_OK)
                return cli_fail("backtest", "--take-profit must be a percentage, not '%s'", optarg);
            break;
        case '3':
            if (parse_pct(optarg, &trail) != ATP_OK)
                return cli_fail("backtest", "--trailing-stop must be a percentage, not '%s'", optarg);
            break;
        case 'F':
            if (!strcmp(optarg, "next_open"))
                fill_next_open = 1;
            else if (!strcmp(optarg, "close"))
                fill_next_open = 0;
            else
                return cli_fail("backtest", "--fill must be next_open or close, not '%s'", optarg);
            break;
        default: return cli_fail("backtest", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (optind < argc)
        return cli_fail("backtest", "unexpected argument '%s'", argv[optind]);
    if (!n_files)
        return cli_fail("backtest", "--data FILE is required (a bar CSV; repeat for more symbols)");
    if (!strategy)
        return cli_fail("backtest", "--strategy is required (%s, ...)", strategy_catalog_get(0)->name);
    const struct atp_strategy_def *def = strategy_find(strategy);
    if (!def)
        return cli_fail("backtest", "unknown strategy '%s'", strategy);
    if (commission >= 0 && charges_kind)
        return cli_fail("backtest", "--commission and --charges exclude each other");
    if (charges_kind && strcmp(charges_kind, "india") && strcmp(charges_kind, "none"))
        return cli_fail("backtest", "--charges must be india or none, not '%s'", charges_kind);
    enum tf tf = TF_1D;
    if (tfname && tf_parse(tfname, &tf) != ATP_OK)
        return cli_fail("backtest", "--tf: unknown timeframe '%s'", tfname);
    enum order_product prod = ORDER_PRODUCT_CNC;
    int64_t from_day = INT64_MIN, to_day = INT64_MAX;
    if (product && order_product_parse(product, &prod) != ATP_OK)
        return cli_fail("backtest", "--product must be CNC, MIS or NRML, not '%s'", product);
    if (from && (rc = cli_opt_date("backtest", "--from", from, &from_day)) != CLI_EXIT_OK)
        return rc;
    if (to && (rc = cli_opt_date("backtest", "--to", to, &to_day)) != CLI_EXIT_OK)
        return rc;

    /* Reference data: instruments (symbols not in the master are added as plain equities) and a
     * weekends-only calendar, so any market's history trades on the days it has data. */
    struct cli_refdata rd;
    if ((rc = cli_refdata_load("backtest", &rd, NULL)) != CLI_EXIT_OK)
        return rc;
    struct cal *bt_cal = cal_new();
    struct bt_costs costs = {0};
    struct barcsv_file loaded[MAX_FILES];
    memset(loaded, 0, sizeof loaded);
    struct bt_data data;
    struct bt_job *jobs_v = NULL;
    size_t n_jobs = 0;
    enum tf source_tf = TF_1D;
    struct atp_err err;
    atp_err_clear(&err);
    if (bt_data_init(&data, &err) != ATP_OK || !bt_cal) {
        rc = cli_fail("backtest", "out of memory");
        goto out;
    }
    for (int i = 0; i < n_files; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) {
            rc = cli_fail("backtest", "%s: cannot open file", files[i]);
            goto out;
        }
        int lrc = barcsv_load(&loaded[i], f, files[i], NULL, symbol, &err);
        fclose(f);
        if (lrc != ATP_OK) {
            rc = cli_fail_err("backtest", &err);
            goto out;
        }
        enum tf ftf;
        if (barcsv_detect_tf(&loaded[i], files[i], &ftf, &err) != ATP_OK) {
            rc = cli_fail_err("backtest", &err);
            goto out;
        }
        if (i > 0 && ftf != source_tf) {
            rc = cli_fail("backtest", "%s holds %s bars but %s holds %s bars", files[i], tf_name(ftf),
                          files[0], tf_name(source_tf));
            goto out;
        }
        source_tf = ftf;
    }
    if (!tfname)
        tf = source_tf;
    for (int i = 0; i < n_files; i++) {
        for (size_t j = 0; j < loaded[i].n; j++) {
            const struct barcsv_row *row = &loaded[i].rows[j];
            if (symbol && loaded[i].has_symbol_column && strcmp(row->symbol, symbol) != 0)
                continue;
            int64_t day = ts_ist_day(row->bar.start);
            if (day < from_day || day > to_day)
                continue;
            const char *sym = row->symbol[0] ? row->symbol : (symbol ? symbol : "DATA");
            int unknown = 0;
            if (bt_data_add(&data, rd.reg, sym, &row->bar, &unknown, &err) != ATP_OK) {
                rc = cli_fail("backtest", "%s: %s", files[i], err.msg);
                goto out;
            }
            if (unknown)
                fprintf(stderr, "atp backtest: note: %s is not in the instrument master; trading it "
                                "as an equity with tick 0.01 and lot 1\n", sym);
        }
    }
    if (data.n == 0) {
        rc = cli_fail("backtest", "no bars to run on (check --symbol, --from and --to)");
        goto out;
    }
    bt_data_sort(&data);
    if (bt_costs_init(&costs, charges_kind, commission, cli_data_path("charges.csv"), &err) != ATP_OK) {
        rc = cli_fail_err("backtest", &err);
        goto out;
    }

    /* The grid: every combination of the parameter ranges. */
    n_jobs = 1;
    for (int i = 0; i < n_ranges; i++) {
        size_t steps = ranges[i].step > 0 ? (size_t)floor((ranges[i].to - ranges[i].from) / ranges[i].step + 1e-9) + 1 : 1;
        if (steps > MAX_GRID || n_jobs * steps > MAX_GRID) {
            rc = cli_fail("backtest", "the parameter grid has more than %d runs", MAX_GRID);
            goto out;
        }
        n_jobs *= steps;
    }
    jobs_v = atp_calloc(n_jobs, sizeof *jobs_v);
    if (!jobs_v) {
        rc = cli_fail("backtest", "out of memory");
        goto out;
    }
    for (size_t j = 0; j < n_jobs; j++) {
        struct bt_job *job = &jobs_v[j];
        size_t rest = j;
        for (int i = 0; i < n_ranges; i++) {
            size_t steps = ranges[i].step > 0 ? (size_t)floor((ranges[i].to - ranges[i].from) / ranges[i].step + 1e-9) + 1 : 1;
            job->params[i] = (struct ind_param){ranges[i].name, ranges[i].from + (double)(rest % steps) * ranges[i].step};
            rest /= steps;
        }
        job->cfg = (struct bt_config){
            .cal = bt_cal, .reg = data.reg, .strategy = def->name, .params = job->params,
            .n_params = n_ranges, .instruments = data.instruments, .n_instruments = data.n_instruments,
            .source_tf = source_tf, .tf = tf, .capital = px_from_double(capital),
            .risk = {.qty = qty, .sizing_pct = sizing, .stop_loss_pct = sl, .take_profit_pct = tp,
                     .trailing_stop_pct = trail, .product = prod},
            .slippage_ppm = (int64_t)llround(slippage * 1e6), .charges = costs.use,
            .fill_next_open = fill_next_open,
        };
        if (n_jobs == 1 && isatty(STDERR_FILENO))
            job->cfg.progress = progress_bar;
    }
    struct job_pool pool = {.jobs = jobs_v, .n = n_jobs, .bars = data.bars, .n_bars = data.n};
    pthread_mutex_init(&pool.lock, NULL);
    size_t n_threads = (size_t)jobs < n_jobs ? (size_t)jobs : n_jobs;
    pthread_t th[256];
    for (size_t t = 1; t < n_threads; t++)
        if (pthread_create(&th[t], NULL, worker, &pool) != 0)
            n_threads = t;
    worker(&pool);
    for (size_t t = 1; t < n_threads; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&pool.lock);
    for (size_t j = 0; j < n_jobs; j++) {
        if (jobs_v[j].rc != ATP_OK) {
            rc = cli_fail_err("backtest", &jobs_v[j].err);
            goto out;
        }
    }
    size_t best = 0;
    if (n_jobs > 1) {
        int ok;
        metric_value(&jobs_v[0].res.metrics, sort, &ok);
        if (!ok) {
            rc = cli_fail("backtest", "--sort: unknown metric '%s' (sharpe, sortino, total_return_pct, "
                          "cagr_pct, calmar, max_drawdown_pct, win_rate_pct, profit_factor)", sort);
            goto out;
        }
        /* Sort indices by the metric, best first (NaN last). */
        size_t *order = atp_calloc(n_jobs, sizeof *order);
        for (size_t j = 0; order && j < n_jobs; j++)
            order[j] = j;
        for (size_t i = 1; order && i < n_jobs; i++) {
            size_t x = order[i], j = i;
            double vx = metric_value(&jobs_v[x].res.metrics, sort, &ok);
            while (j > 0) {
                double vp = metric_value(&jobs_v[order[j - 1]].res.metrics, sort, &ok);
                if (!(isnan(vp) && !isnan(vx)) && !(vx > vp))
                    break;
                order[j] = order[j - 1];
                j--;
            }
            order[j] = x;
        }
        for (int i = 0; i < n_ranges; i++)
            printf("%-10s ", ranges[i].name);
        printf("%10s %10s %10s %8s %8s %9s\n", "return%", "sharpe", "maxdd%", "trades", "win%", sort);
        for (size_t r = 0; order && r < n_jobs; r++) {
            const struct bt_job *j = &jobs_v[order[r]];
            for (int i = 0; i < n_ranges; i++)
                printf("%-10g ", j->params[i].value);
            printf("%10.2f %10.3f %10.2f %8lld %8.1f %9.3f\n", j->res.metrics.total_return_pct,
                   j->res.metrics.sharpe, j->res.metrics.max_drawdown_pct,
                   (long long)j->res.metrics.trades, j->res.metrics.win_rate_pct,
                   metric_value(&j->res.metrics, sort, &ok));
        }
        best = order ? order[0] : 0;
        atp_free(order);
    } else {
        print_metrics(&jobs_v[0].res);
    }
    if (json_path && (rc = write_file("backtest", json_path, &jobs_v[best].res, 0)) != CLI_EXIT_OK)
        goto out;
    if (trades_path && (rc = write_file("backtest", trades_path, &jobs_v[best].res, 1)) != CLI_EXIT_OK)
        goto out;
    if (report_path && (rc = write_file("backtest", report_path, &jobs_v[best].res, 2)) != CLI_EXIT_OK)
        goto out;
out:
    for (size_t j = 0; jobs_v && j < n_jobs; j++)
        result_cleanup(&jobs_v[j].res);
    atp_free(jobs_v);
    bt_data_cleanup(&data);
    for (int i = 0; i < n_files; i++)
        barcsv_file_cleanup(&loaded[i]);
    bt_costs_cleanup(&costs);
    cal_free(bt_cal);
    cli_refdata_free(&rd);
    return rc;
}
