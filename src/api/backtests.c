/* api/backtests: the backtest service (queue, workers, running and storing a backtest). See
 * backtests.h for the threading contract; docs/api.md "Backtests" for the routes on top. */
#include "api/backtests.h"

#include "backtest/report.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/paths.h"
#include "md/candles.h"
#include "md/feed.h"
#include "md/feed/sim.h"
#include "store/store.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct worker {
    struct api_backtests *svc;
    pthread_t thread;
    int started;
    struct store *store;        /* the worker's own connection */
    struct api_bt_job *running; /* under svc->mu */
};

struct api_backtests {
    struct api_backtests_config cfg;
    struct instreg *master;     /* the instrument master (immutable after new) */
    struct cal *nse_cal;        /* NSE holidays: the simulator trades real sessions */
    struct cal *bt_cal;         /* weekends only: what `atp backtest` runs with, so results match */
    char charges_path[PATH_MAX];
    char profiles_path[PATH_MAX];
    char lwc_path[PATH_MAX];    /* the chart library the HTML report inlines */

    pthread_mutex_t mu;         /* guards the queue, the counts, stopping and workers' running */
    pthread_cond_t cv;
    struct api_bt_job *head, *tail;
    int queued;                 /* jobs in the queue plus reserved slots */
    atomic_int stopping;
    struct worker workers[API_BT_WORKERS_MAX];
};

static _Atomic(struct api_backtests *) current;

void api_backtests_set_current(struct api_backtests *svc) { atomic_store(&current, svc); }
struct api_backtests *api_backtests_current(void) { return atomic_load(&current); }
const struct instreg *api_backtests_master(const struct api_backtests *svc) { return svc->master; }
const struct cal *api_backtests_calendar(const struct api_backtests *svc) { return svc->nse_cal; }

void api_backtests_config_defaults(struct api_backtests_config *cfg)
{
    cfg->workers = 1;
    cfg->queue_max = API_BT_QUEUE_DEFAULT;
    cfg->nice = 19;
}

struct api_bt_job *api_bt_job_new(void)
{
    struct api_bt_job *job = atp_calloc(1, sizeof *job);
    if (job && bt_data_init(&job->data, NULL) != ATP_OK) {
        atp_free(job);
        return NULL;
    }
    return job;
}

void api_bt_job_free(struct api_bt_job *job)
{
    if (!job)
        return;
    bt_data_cleanup(&job->data);
    atp_free(job);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- queue ---- */

int api_backtests_reserve(struct api_backtests *svc)
{
    pthread_mutex_lock(&svc->mu);
    int ok = svc->queued < svc->cfg.queue_max && !atomic_load(&svc->stopping);
    if (ok)
        svc->queued++;
    pthread_mutex_unlock(&svc->mu);
    return ok ? ATP_OK : ATP_ERANGE;
}

void api_backtests_release(struct api_backtests *svc)
{
    pthread_mutex_lock(&svc->mu);
    svc->queued--;
    pthread_mutex_unlock(&svc->mu);
}

void api_backtests_push(struct api_backtests *svc, struct api_bt_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&svc->mu);
    if (svc->tail)
        svc->tail->next = job;
    else
        svc->head = job;
    svc->tail = job;
    pthread_cond_signal(&svc->cv);
    pthread_mutex_unlock(&svc->mu);
}

enum api_bt_cancel api_backtests_cancel(struct api_backtests *svc, int64_t id)
{
    enum api_bt_cancel out = API_BT_CANCEL_UNKNOWN;
    struct api_bt_job *removed = NULL;
    pthread_mutex_lock(&svc->mu);
    for (struct api_bt_job **p = &svc->head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
        if ((*p)->id != id)
            continue;
        removed = *p;
        *p = removed->next;
        if (svc->tail == removed)
            svc->tail = prev;
        svc->queued--;
        out = API_BT_CANCEL_DEQUEUED;
        break;
    }
    for (int i = 0; out == API_BT_CANCEL_UNKNOWN && i < svc->cfg.workers; i++) {
        if (svc->workers[i].running && svc->workers[i].running->id == id) {
            atomic_store(&svc->workers[i].running->cancel, 1);
            out = API_BT_CANCEL_SIGNALLED;
        }
    }
    pthread_mutex_unlock(&svc->mu);
    api_bt_job_free(removed);
    return out;
}

void api_backtests_counts(struct api_backtests *svc, int *queued, int *running)
{
    pthread_mutex_lock(&svc->mu);
    int q = 0, r = 0;
    for (struct api_bt_job *j = svc->head; j; j = j->next)
        q++;
    for (int i = 0; i < svc->cfg.workers; i++)
        r += svc->workers[i].running != NULL;
    pthread_mutex_unlock(&svc->mu);
    if (queued)
        *queued = q;
    if (running)
        *running = r;
}

/* ---- running one backtest ---- */

struct progress {
    struct worker *w;
    struct api_bt_job *job;
    double base, span;   /* this phase covers [base, base + span] of the whole run */
    int64_t last_ms;
    int32_t last_ppm;
};

static int should_stop(void *ctx)
{
    struct progress *p = ctx;
    return atomic_load(&p->job->cancel) || atomic_load(&p->w->svc->stopping);
}

static void on_progress(void *ctx, size_t done, size_t total)
{
    struct progress *p = ctx;
    int64_t now = mono_ms();
    if (now - p->last_ms < API_BT_PROGRESS_EVERY_MS)
        return;
    double f = p->base + p->span * (total ? (double)done / (double)total : 1.0);
    int32_t ppm = (int32_t)(f * STORE_BT_PROGRESS_FULL);
    if (ppm >= STORE_BT_PROGRESS_FULL)
        ppm = STORE_BT_PROGRESS_FULL - 1; /* full only once done and stored */
    if (ppm <= p->last_ppm)
        return;
    p->last_ms = now;
    p->last_ppm = ppm;
    struct atp_err err;
    if (store_backtest_progress(p->w->store, p->job->id, ppm, &err) != ATP_OK)
        atp_log(LOG_WARN, "backtests", "backtest %lld: progress not stored: %s", (long long)p->job->id, err.msg);
}

/* The simulator's ticks of the job's symbols, folded into 1m bars (md/candles, the candle code
 * of live data) and added to the job's data. */
static int build_sim_bars(struct api_backtests *svc, struct api_bt_job *job, struct progress *p, struct atp_err *err)
{
    const struct api_bt_spec *sp = &job->spec;
    const char *syms[STRAT_MAX_INSTRUMENTS];
    struct candle_series series[STRAT_MAX_INSTRUMENTS];
    uint32_t ids[STRAT_MAX_INSTRUMENTS];
    memset(series, 0, sizeof series);
    int n = sp->n_sim_symbols, rc = ATP_OK;
    struct feed *feed = NULL;
    for (int i = 0; i < n; i++) {
        syms[i] = sp->sim_symbols[i];
        const struct instrument *in = instreg_find(svc->master, syms[i]);
        ids[i] = in ? in->id : UINT32_MAX;
        if (candles_init(&series[i], TF_1M) != ATP_OK) {
            rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
            goto done;
        }
    }
    struct sim_params params = {.seed = sp->sim_seed, .from_day = sp->sim_from_day, .days = sp->sim_days,
                                .symbols = syms, .n_symbols = (size_t)n,
                                .profiles_path = svc->profiles_path};
    if ((rc = sim_new(&params, svc->master, svc->nse_cal, &feed, err)) != ATP_OK)
        goto done;
    ts_ns first = 0, last = 0;
    feed_time_range(feed, &first, &last);
    struct feed_item item;
    struct bar bar;
    for (uint64_t k = 0;; k++) {
        int fr = feed_next(feed, &item, err);
        if (fr < 0) {
            rc = fr;
            goto done;
        }
        if (fr == 0)
            break;
        if ((k & 0xFFFF) == 0) {
            if (last > first)
                on_progress(p, (size_t)(item.tick.ts - first), (size_t)(last - first));
            if (should_stop(p)) {
                rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "cancelled", "the backtest was cancelled");
                goto done;
            }
        }
        if (item.kind != FEED_TICK)
            continue;
        int i = 0;
        while (i < n && ids[i] != item.instrument_id)
            i++;
        if (i == n)
            continue;
        ts_ns start, end;
        candles_period(TF_1M, item.tick.ts, &start, &end);
        int64_t qty = (item.tick.flags & TICK_HAS_QTY) ? item.tick.qty : 0;
        if (candles_add_trade(&series[i], start, end, item.tick.ltp, qty, -1, &bar) &&
            (rc = bt_data_add(&job->data, svc->master, syms[i], &bar, NULL, err)) != ATP_OK)
            goto done;
    }
    for (int i = 0; i < n; i++)
        if (candles_flush(&series[i], &bar) && (rc = bt_data_add(&job->data, svc->master, syms[i], &bar, NULL, err)) != ATP_OK)
            goto done;
    bt_data_sort(&job->data);
done:
    feed_free(feed);
    for (int i = 0; i < n; i++)
        candles_cleanup(&series[i]);
    return rc;
}

/* The span of the value of top-level member key in a JSON object text written by
 * result_write_json (so well-formed): *off and *len. 0, or -1 when absent. */
int api_bt_json_member(const char *doc, const char *key, size_t *off, size_t *len)
{
    size_t klen = strlen(key);
    int depth = 0;
    for (const char *c = doc; *c; c++) {
        if (*c == '"') {
            const char *s = ++c;
            while (*c && *c != '"')
                c += *c == '\\' && c[1] ? 2 : 1;
            if (!*c)
                return -1;
            if (depth != 1 || (size_t)(c - s) != klen || memcmp(s, key, klen) != 0)
                continue;
            const char *v = c + 1;
            while (*v == ' ' || *v == '\n' || *v == ':' || *v == '\t' || *v == '\r')
                v++;
            const char *e = v;
            int d = 0;
            for (; *e; e++) {
                if (*e == '"') {
                    for (e++; *e && *e != '"'; e += *e == '\\' && e[1] ? 2 : 1)
                        ;
                    if (!*e)
                        return -1;
                } else if (*e == '{' || *e == '[') {
                    d++;
                } else if (*e == '}' || *e == ']') {
                    if (d == 0)
                        break;
                    if (--d == 0) {
                        e++;
                        break;
                    }
                } else if (*e == ',' && d == 0) {
                    break;
                }
            }
            while (e > v && (e[-1] == ' ' || e[-1] == '\n'))
                e--;
            *off = (size_t)(v - doc);
            *len = (size_t)(e - v);
            return 0;
        }
        if (*c == '{' || *c == '[')
            depth++;
        else if (*c == '}' || *c == ']')
            depth--;
    }
    return -1;
}

/* The stored documents of a finished result: the JSON document, its metrics object and the
 * HTML report (NULL when it cannot be made: logged; the rest of the result stands). */
static int make_documents(struct api_backtests *svc, int64_t id, const struct backtest_result *res, char **json,
                          char **metrics, char **html, struct atp_err *err)
{
    *json = *metrics = *html = NULL;
    size_t len = 0;
    FILE *f = open_memstream(json, &len);
    if (!f)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    int rc = result_write_json(res, f, err);
    if (fclose(f) != 0 && rc == ATP_OK)
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    size_t off, mlen;
    if (rc == ATP_OK && api_bt_json_member(*json, "metrics", &off, &mlen) != 0)
        rc = atp_err_set(err, ATP_EINVAL, NULL, 0, "metrics", "the result document has no metrics");
    if (rc == ATP_OK && mlen >= STORE_BT_METRICS_MAX)
        rc = atp_err_set(err, ATP_ERANGE, NULL, 0, "metrics", "the metrics do not fit the store");
    if (rc == ATP_OK && !(*metrics = atp_malloc(mlen + 1)))
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    if (rc != ATP_OK) {
        free(*json); /* open_memstream's buffer comes from malloc */
        *json = NULL;
        return rc;
    }
    memcpy(*metrics, *json + off, mlen);
    (*metrics)[mlen] = '\0';
    size_t hlen = 0;
    struct atp_err herr;
    atp_err_clear(&herr);
    f = open_memstream(html, &hlen);
    int hrc = f ? report_write_html(res, svc->lwc_path, f, &herr) : ATP_ENOMEM;
    if (f && fclose(f) != 0 && hrc == ATP_OK)
        hrc = ATP_ENOMEM;
    if (hrc != ATP_OK) {
        char buf[600];
        atp_log(LOG_WARN, "backtests", "backtest %lld: no HTML report: %s", (long long)id,
                atp_err_format(&herr, buf, sizeof buf));
        free(*html);
        *html = NULL;
    }
    return ATP_OK;
}

static void run_job(struct worker *w, struct api_bt_job *job)
{
    struct api_backtests *svc = w->svc;
    struct atp_err err;
    atp_err_clear(&err);
    if (store_backtest_start(w->store, job->id, &err) != ATP_OK) {
        /* Cancelled between the queue and here (or the store failed): nothing to run. */
        atp_log(LOG_INFO, "backtests", "backtest %lld not started: %s", (long long)job->id, err.msg);
        return;
    }
    atp_log(LOG_INFO, "backtests", "backtest %lld running (%s)", (long long)job->id, job->spec.strategy);
    struct progress p = {.w = w, .job = job, .base = 0, .span = 1, .last_ms = mono_ms()};
    int rc = ATP_OK;
    if (job->spec.source == API_BT_SRC_SIMULATOR) {
        p.span = 0.5;
        rc = build_sim_bars(svc, job, &p, &err);
        p.base = 0.5;
        if (rc == ATP_OK && job->data.n == 0)
            rc = atp_err_set(&err, ATP_EINVAL, NULL, 0, "data", "the simulator produced no bars");
    }
    struct bt_costs costs = {0};
    struct backtest_result res;
    memset(&res, 0, sizeof res);
    if (rc == ATP_OK)
        rc = bt_costs_init(&costs, job->spec.charges, job->spec.commission, svc->charges_path, &err);
    if (rc == ATP_OK) {
        const struct api_bt_spec *sp = &job->spec;
        struct bt_config cfg = {.cal = svc->bt_cal, .reg = job->data.reg, .strategy = sp->strategy,
                                .params = sp->params, .n_params = sp->n_params,
                                .instruments = job->data.instruments, .n_instruments = job->data.n_instruments,
                                .source_tf = sp->source_tf, .tf = sp->tf, .capital = sp->capital, .risk = sp->risk,
                                .slippage_ppm = sp->slippage_ppm, .charges = costs.use,
                                .fill_next_open = sp->fill_next_open, .progress = on_progress,
                                .should_stop = should_stop, .progress_ctx = &p};
        rc = bt_run(&cfg, job->data.bars, job->data.n, &res, &err);
    }
    bt_costs_cleanup(&costs);
    char *json = NULL, *metrics = NULL, *html = NULL;
    int status = STORE_BT_DONE;
    char reason[STORE_BT_ERROR_MAX] = "";
    if (rc == ATP_OK && make_documents(svc, job->id, &res, &json, &metrics, &html, &err) != ATP_OK)
        rc = err.code ? err.code : ATP_ENOMEM;
    if (rc != ATP_OK) {
        int stopped = rc == ATP_ESTATE && !strcmp(err.field, "cancelled");
        status = stopped && atomic_load(&job->cancel) ? STORE_BT_CANCELLED : STORE_BT_FAILED;
        if (stopped)
            snprintf(reason, sizeof reason, "%s", status == STORE_BT_CANCELLED ? "cancelled by the user" : API_BT_INTERRUPTED);
        else
            atp_err_format(&err, reason, sizeof reason);
    }
    result_cleanup(&res);
    struct atp_err serr;
    if (store_backtest_finish(w->store, job->id, status, reason, metrics, json, html, &serr) != ATP_OK)
        atp_log(LOG_ERROR, "backtests", "backtest %lld: outcome not stored: %s", (long long)job->id, serr.msg);
    atp_log(LOG_INFO, "backtests", "backtest %lld %s%s%s", (long long)job->id, store_bt_status_name(status),
            reason[0] ? ": " : "", reason);
    free(json);
    free(html);
    atp_free(metrics);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct api_backtests *svc = w->svc;
    /* The lowest CPU priority for this thread only (Linux: a thread is a task with its own nice
     * value): live trading's feed thread and the HTTP workers win every contended core. */
    if (svc->cfg.nice > 0 && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), svc->cfg.nice) != 0)
        atp_log(LOG_WARN, "backtests", "cannot lower the worker's priority (nice %d)", svc->cfg.nice);
    for (;;) {
        pthread_mutex_lock(&svc->mu);
        while (!svc->head && !atomic_load(&svc->stopping))
            pthread_cond_wait(&svc->cv, &svc->mu);
        if (atomic_load(&svc->stopping)) {
            pthread_mutex_unlock(&svc->mu);
            return NULL;
        }
        struct api_bt_job *job = svc->head;
        svc->head = job->next;
        if (!svc->head)
            svc->tail = NULL;
        svc->queued--;
        w->running = job;
        pthread_mutex_unlock(&svc->mu);

        run_job(w, job);

        pthread_mutex_lock(&svc->mu);
        w->running = NULL;
        pthread_mutex_unlock(&svc->mu);
        api_bt_job_free(job);
    }
}

/* ---- life cycle ---- */

int api_backtests_new(const struct api_backtests_config *cfg, const char *store_url, struct api_backtests **out,
                      struct atp_err *err)
{
    *out = NULL;
    if (!store_url || strstr(store_url, ":memory:"))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "db",
                           "backtests need a database file or server (each connection to a memory store is "
                           "another, empty database)");
    if (cfg->workers < 1 || cfg->workers > API_BT_WORKERS_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "ATP_BACKTEST_WORKERS", "must be 1..%d", API_BT_WORKERS_MAX);
    if (cfg->queue_max < 1 || cfg->queue_max > API_BT_QUEUE_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "ATP_BACKTEST_QUEUE", "must be 1..%d", API_BT_QUEUE_MAX);
    if (cfg->nice < 0 || cfg->nice > 19)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "ATP_BACKTEST_NICE", "must be 0..19");
    struct api_backtests *svc = atp_calloc(1, sizeof *svc);
    if (!svc)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    svc->cfg = *cfg;
    pthread_mutex_init(&svc->mu, NULL);
    pthread_cond_init(&svc->cv, NULL);
    int rc = ATP_OK;
    char path[PATH_MAX];
    svc->master = instreg_new();
    svc->nse_cal = cal_new();
    svc->bt_cal = cal_new();
    if (!svc->master || !svc->nse_cal || !svc->bt_cal) {
        rc = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        goto fail;
    }
    if ((rc = cal_load(svc->nse_cal, paths_resolve("ATP_DATA_DIR", 1, "data/nse_holidays.csv", path, sizeof path),
                       err)) != ATP_OK ||
        (rc = instreg_load_csv(svc->master, paths_resolve("ATP_DATA_DIR", 1, "data/instruments.csv", path, sizeof path),
                               err)) != ATP_OK)
        goto fail;
    paths_resolve("ATP_DATA_DIR", 1, "data/charges.csv", svc->charges_path, sizeof svc->charges_path);
    paths_resolve("ATP_DATA_DIR", 1, "data/sim_profiles.csv", svc->profiles_path, sizeof svc->profiles_path);
    snprintf(svc->lwc_path, sizeof svc->lwc_path, "%s", report_default_lwc_path());

    for (int i = 0; i < cfg->workers; i++) {
        struct worker *w = &svc->workers[i];
        w->svc = svc;
        if ((rc = store_open(store_url, &w->store, err)) != ATP_OK)
            goto fail;
    }
    int n = 0;
    if ((rc = store_backtest_interrupt(svc->workers[0].store, API_BT_INTERRUPTED, &n, err)) != ATP_OK)
        goto fail;
    if (n)
        atp_log(LOG_WARN, "backtests", "%d backtest(s) left queued or running by the previous process marked failed", n);
    for (int i = 0; i < cfg->workers; i++) {
        struct worker *w = &svc->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            rc = atp_err_set(err, ATP_EIO, NULL, 0, NULL, "cannot start a backtest worker thread");
            goto fail;
        }
        w->started = 1;
    }
    *out = svc;
    return ATP_OK;
fail:
    api_backtests_free(svc);
    return rc;
}

void api_backtests_free(struct api_backtests *svc)
{
    if (!svc)
        return;
    pthread_mutex_lock(&svc->mu);
    atomic_store(&svc->stopping, 1);
    pthread_cond_broadcast(&svc->cv);
    pthread_mutex_unlock(&svc->mu);
    for (int i = 0; i < svc->cfg.workers; i++)
        if (svc->workers[i].started)
            pthread_join(svc->workers[i].thread, NULL);
    /* What never ran is stored as interrupted now (the next start would do it anyway). */
    struct store *st = svc->workers[0].store;
    while (svc->head) {
        struct api_bt_job *job = svc->head;
        svc->head = job->next;
        if (st)
            store_backtest_finish(st, job->id, STORE_BT_FAILED, API_BT_INTERRUPTED, NULL, NULL, NULL, NULL);
        api_bt_job_free(job);
    }
    for (int i = 0; i < svc->cfg.workers; i++)
        store_close(svc->workers[i].store);
    instreg_free(svc->master);
    cal_free(svc->nse_cal);
    cal_free(svc->bt_cal);
    pthread_cond_destroy(&svc->cv);
    pthread_mutex_destroy(&svc->mu);
    atp_free(svc);
}
