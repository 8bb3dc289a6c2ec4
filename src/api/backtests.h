/* api/backtests: the server's backtest service behind /api/v1/backtests (api/h_backtests.c):
 * a bounded queue of submitted backtests and a pool of worker threads of its own that run them
 * through backtest/runner (the same runner, data and result code as `atp backtest`), report
 * progress, honour cancellation and store every outcome (store.h "backtests").
 *
 * Threads. Backtests never run on the HTTP workers, the io thread or the feed thread: a submit
 * handler validates and prepares the job (an uploaded CSV is parsed there, so its errors answer
 * the request), reserves a queue slot, stores the row and pushes the job; the service's workers
 * (cfg.workers, default 1) each own a store connection and run one job at a time at the lowest
 * CPU priority (nice 19 on the thread, so live paper trading keeps its share of the cores:
 * docs/PERFORMANCE.md "Backtests beside live trading"). The simulator source's bars are
 * generated on the worker too. Progress goes to the store at most every
 * API_BT_PROGRESS_EVERY_MS; a cancel is seen within BT_POLL_BARS bars.
 *
 * Restart. Results are in the store, so they outlive the process. At start every backtest still
 * queued or running (a previous process died with it) is marked failed "interrupted by
 * shutdown"; a graceful shutdown stops the running ones and marks them the same way. */
#ifndef ATP_API_BACKTESTS_H
#define ATP_API_BACKTESTS_H

#include <stdatomic.h>
#include <stdint.h>

#include "backtest/data.h"
#include "backtest/runner.h"
#include "core/cal.h"
#include "core/err.h"
#include "md/params.h"

#define API_BT_WORKERS_MAX 16
#define API_BT_QUEUE_DEFAULT 16        /* queued (not yet running) backtests before 429 */
#define API_BT_QUEUE_MAX 10000
#define API_BT_PROGRESS_EVERY_MS 200
#define API_BT_INTERRUPTED "interrupted by shutdown"
#define API_BT_SIM_DAYS_MAX 250        /* simulator source: trading days */
#define API_BT_NAME_MAX 64

struct api_backtests_config {
    int workers;      /* worker threads, 1..API_BT_WORKERS_MAX (ATP_BACKTEST_WORKERS) */
    int queue_max;    /* queued jobs, 1..API_BT_QUEUE_MAX (ATP_BACKTEST_QUEUE) */
    int nice;         /* nice value of the worker threads, 0..19 (ATP_BACKTEST_NICE, default 19) */
};
void api_backtests_config_defaults(struct api_backtests_config *cfg);

enum api_bt_source { API_BT_SRC_CSV = 0, API_BT_SRC_SIMULATOR, API_BT_SRC_MARKET };

/* What to run: everything `atp backtest` takes, validated by the submit handler. */
struct api_bt_spec {
    char strategy[API_BT_NAME_MAX];               /* registry name, as the registry spells it */
    char param_names[ATP_STRAT_MAX_PARAMS][API_BT_NAME_MAX];
    struct ind_param params[ATP_STRAT_MAX_PARAMS]; /* names point into param_names */
    int n_params;
    enum tf tf;                                    /* the strategy's timeframe */
    px_t capital;
    struct strat_risk risk;
    int64_t slippage_ppm;
    char charges[8];                               /* "flat", "india", "none" */
    double commission;                             /* fraction; < 0: the default */
    int fill_next_open;
    enum api_bt_source source;
    enum tf source_tf;                             /* the bars' timeframe */
    /* simulator source */
    int sim_days;
    uint64_t sim_seed;
    int64_t sim_from_day;                          /* IST day number */
    char sim_symbols[STRAT_MAX_INSTRUMENTS][INST_SYMBOL_MAX];
    int n_sim_symbols;
};

/* One queued or running backtest. The submit handler fills spec and, for the csv and market
 * sources, data; the service owns the job once pushed. */
struct api_bt_job {
    int64_t id;
    struct api_bt_spec spec;
    struct bt_data data;
    atomic_int cancel;          /* set by api_backtests_cancel */
    struct api_bt_job *next;    /* queue link (service-internal) */
};

/* A new job (zeroed, its data initialised) or NULL (out of memory). Freed by the service once
 * pushed; before that, by api_bt_job_free. */
struct api_bt_job *api_bt_job_new(void);
void api_bt_job_free(struct api_bt_job *job);

struct api_backtests;

/* Loads the reference data (the instrument master, the NSE calendar), marks interrupted
 * backtests failed (through a connection of its own to store_url) and starts the workers, each
 * with its own store connection. ATP_EINVAL (a memory store: each connection would be another
 * database), ATP_EIO (store), the loaders' errors, ATP_ENOMEM. */
int api_backtests_new(const struct api_backtests_config *cfg, const char *store_url, struct api_backtests **out,
                      struct atp_err *err);
/* Stops the workers (a running backtest stops at its next poll and is stored as failed
 * API_BT_INTERRUPTED; queued ones the same), joins them and frees everything. NULL: no-op. */
void api_backtests_free(struct api_backtests *svc);

/* The service the handlers use (NULL: none, they answer 503). */
void api_backtests_set_current(struct api_backtests *svc);
struct api_backtests *api_backtests_current(void);

/* Immutable after api_backtests_new: the instrument master and the NSE calendar. */
const struct instreg *api_backtests_master(const struct api_backtests *svc);
const struct cal *api_backtests_calendar(const struct api_backtests *svc);

/* Takes a queue slot for a job about to be stored and pushed: ATP_OK, or ATP_ERANGE when
 * queue_max jobs are waiting (the caller answers 429). Any thread. */
int api_backtests_reserve(struct api_backtests *svc);
/* Gives a reserved slot back (storing the job failed). */
void api_backtests_release(struct api_backtests *svc);
/* Pushes job (job->id set) into a reserved slot; the service owns it from now on. */
void api_backtests_push(struct api_backtests *svc, struct api_bt_job *job);

enum api_bt_cancel {
    API_BT_CANCEL_UNKNOWN = 0, /* not queued nor running here */
    API_BT_CANCEL_DEQUEUED,    /* it was queued: removed and freed; the caller stores it cancelled */
    API_BT_CANCEL_SIGNALLED,   /* it is running: it stops at its next poll and stores itself cancelled */
};
enum api_bt_cancel api_backtests_cancel(struct api_backtests *svc, int64_t id);

/* The span of the value of top-level member key in a JSON object text as result_write_json
 * writes it (well-formed): *off and *len into doc. 0, or -1 when absent. */
int api_bt_json_member(const char *doc, const char *key, size_t *off, size_t *len);

/* Jobs waiting and running now (for tests and the status route). */
void api_backtests_counts(struct api_backtests *svc, int *queued, int *running);

#endif
