/* api/h_backtests: the backtest routes. Submit validates everything a person can get wrong (the
 * strategy and its parameters against the registry's schema, options, the data: an uploaded CSV
 * is parsed here so its errors name line and field in the answer) and hands a prepared job to the
 * backtest service; the reads come from the store (results survive restarts). Access is decided
 * before these run (h_backtests_relation + api/policy.c), except the one check a body field
 * needs: a backtest tied to account_id needs the caller to own it or trade it. */
#include "api/h_backtests.h"

#include "api/backtests.h"
#include "api/hutil.h"
#include "api/json_err.h"
#include "api/market.h"
#include "api/request.h"
#include "core/alloc.h"
#include "md/candles.h"
#include "md/feed/barcsv.h"
#include "store/store.h"
#include "strategy/registry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_PREFIX "/api/v1/backtests/{id}"
#define BT_DEFAULT_SIM_FROM "2025-01-01"

const struct api_field h_backtests_create_body[] = {
    {"strategy", API_FT_STRING, 1, 63, "strategy type (GET /strategy-types; `atp strategies`)"},
    {"params", API_FT_OBJECT, 0, 0, "strategy parameters by name (numbers), checked against its schema"},
    {"symbols", API_FT_ARRAY, 0, 64, "symbols to trade (simulator and market data: required; csv: a filter, "
                                     "or the one symbol of a file without a symbol column)"},
    {"timeframe", API_FT_STRING, 0, 8, "the strategy's timeframe (default: the data's)"},
    {"capital", API_FT_NUMBER, 0, 0, "initial cash in rupees (default 100000)"},
    {"from", API_FT_STRING, 0, 10, "first IST date YYYY-MM-DD (simulator: its first day, default 2025-01-01)"},
    {"to", API_FT_STRING, 0, 10, "last IST date YYYY-MM-DD"},
    {"risk", API_FT_OBJECT, 0, 0, "qty | sizing_pct, stop_loss_pct, take_profit_pct, trailing_stop_pct (percent), "
                                  "product CNC|MIS|NRML"},
    {"costs", API_FT_OBJECT, 0, 0, "slippage_pct (default 0.05), charges flat|india|none, commission_pct "
                                   "(flat; default 0.03), fill next_open|close"},
    {"data", API_FT_OBJECT, 1, 0, "{\"source\":\"csv\",\"csv\":TEXT} | {\"source\":\"simulator\",\"days\":N,"
                                  "\"seed\":S} | {\"source\":\"market\"}"},
    {"account_id", API_FT_INT, 0, 0, "ties the backtest to a trading account you own or trade"},
    {NULL, 0, 0, 0, NULL},
};

/* ---- ownership ---- */

static const char *param_of(const struct api_param *params, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (params[i].name_len == len && !memcmp(params[i].name, name, len))
            return params[i].value;
    return NULL;
}

int h_backtests_relation(struct store *s, const struct api_route *route, const struct api_param *params,
                         int n_params, int64_t user_id, enum api_role role, enum api_relation *rel)
{
    size_t plen = strlen(BT_PREFIX);
    if (!route || strncmp(route->pattern, BT_PREFIX, plen) != 0 || (route->pattern[plen] && route->pattern[plen] != '/'))
        return 0; /* not ours: *rel stays as the other resolvers left it */
    *rel = API_REL_NONE;
    if (role == API_ROLE_ANONYMOUS || user_id <= 0)
        return 0; /* the policy answers 401 */
    *rel = API_REL_STRANGER;
    int64_t id = hutil_parse_id(param_of(params, n_params, "id"));
    if (!id || !s)
        return 0;
    struct store_backtest *b = atp_malloc(sizeof *b);
    if (!b)
        return -1;
    int rc = store_backtest_get(s, id, b, NULL), out = 0;
    if (rc == ATP_OK) {
        int access = STORE_ACCESS_NONE;
        if (b->user_id == user_id) {
            *rel = API_REL_OWNER;
        } else if (b->account_id > 0 && (rc = store_access_role(s, b->account_id, user_id, &access, NULL)) != ATP_OK &&
                   rc != ATP_ENOTFOUND) {
            out = -1;
        } else if (access == STORE_ACCESS_OWNER) {
            *rel = API_REL_OWNER;
        } else if (access == STORE_ACCESS_TRADER || access == STORE_ACCESS_INVESTOR) {
            *rel = API_REL_INVITED;
        } else if (role == API_ROLE_ADMIN) {
            *rel = API_REL_VISIBLE;
        }
    } else if (rc != ATP_ENOTFOUND) {
        out = -1;
    }
    atp_free(b);
    return out;
}

/* ---- submit ---- */

static int fail(struct api_response *res, int status, const char *code, const char *field, const char *msg)
{
    api_error(res, status, code, field, "%s", msg);
    return -1;
}

/* A number member of obj (absent: *out untouched). -1 with a 422 naming prefix.name otherwise. */
static int opt_number(struct api_response *res, json_t *obj, const char *prefix, const char *name, double lo,
                      double hi, double *out)
{
    json_t *v = obj ? json_object_get(obj, name) : NULL;
    if (!v || json_is_null(v))
        return 0;
    char field[64];
    snprintf(field, sizeof field, "%s%s", prefix, name);
    double x = json_is_number(v) ? json_number_value(v) : NAN;
    if (!json_is_number(v) || !(x >= lo && x <= hi)) {
        api_error(res, 422, "invalid_field", field, "must be a number from %g to %g", lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int opt_string(struct api_response *res, json_t *obj, const char *prefix, const char *name,
                      const char **out)
{
    json_t *v = obj ? json_object_get(obj, name) : NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        char field[64];
        snprintf(field, sizeof field, "%s%s", prefix, name);
        return fail(res, 422, "invalid_field", field, "must be a string");
    }
    *out = json_string_value(v);
    return 0;
}

/* Members of obj other than the allowed ones are a typo, named in a 422. */
static int only_keys(struct api_response *res, json_t *obj, const char *prefix, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, key);
        if (!ok) {
            api_error(res, 422, "invalid_field", prefix, "unknown member '%.40s'", key);
            return -1;
        }
    }
    return 0;
}

/* "YYYY-MM-DD" -> IST day number. */
static int parse_day(struct api_response *res, const char *field, const char *text, int64_t *out)
{
    int y, m, d;
    char tail;
    if (strlen(text) != 10 || sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || !ts_valid_date(y, m, d) ||
        y < 1900 || y > 2199)
        return fail(res, 422, "invalid_field", field, "must be a date YYYY-MM-DD");
    *out = ts_days_from_civil(y, m, d);
    return 0;
}

/* Strategy, parameters (the registry's schema), timeframe, capital, risk and costs into spec. */
static int parse_run(struct api_request *req, struct api_response *res, struct api_bt_spec *sp)
{
    json_t *body = req->json;
    const struct atp_strategy_def *def = strategy_find(json_string_value(json_object_get(body, "strategy")));
    if (!def)
        return fail(res, 422, "invalid_field", "strategy", "unknown strategy type (GET /api/v1/strategy-types)");
    snprintf(sp->strategy, sizeof sp->strategy, "%s", def->name);
    json_t *params = json_object_get(body, "params");
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v) {
        char field[96];
        snprintf(field, sizeof field, "params.%.60s", key);
        if (sp->n_params == ATP_STRAT_MAX_PARAMS || strlen(key) >= API_BT_NAME_MAX)
            return fail(res, 422, "invalid_field", "params", "too many parameters or too long a name");
        if (!json_is_number(v))
            return fail(res, 422, "invalid_field", field, "must be a number");
        snprintf(sp->param_names[sp->n_params], API_BT_NAME_MAX, "%s", key);
        sp->params[sp->n_params] = (struct ind_param){sp->param_names[sp->n_params], json_number_value(v)};
        sp->n_params++;
    }
    double resolved[ATP_STRAT_MAX_PARAMS];
    struct atp_err err;
    atp_err_clear(&err);
    if (strategy_resolve_params(def, sp->params, sp->n_params, resolved, &err) != ATP_OK) {
        char field[96];
        snprintf(field, sizeof field, "params.%.60s", err.field[0] ? err.field : "?");
        return fail(res, 422, "invalid_field", field, err.msg);
    }
    double capital = 100000;
    if (opt_number(res, body, "", "capital", 1, 1e13, &capital))
        return -1;
    sp->capital = px_from_double(capital);

    json_t *risk = json_object_get(body, "risk");
    static const char *const risk_keys[] = {"qty", "sizing_pct", "stop_loss_pct", "take_profit_pct",
                                            "trailing_stop_pct", "product", NULL};
    double qty = 0, sizing = 0, sl = 0, tp = 0, trail = 0;
    const char *product = NULL;
    if ((risk && only_keys(res, risk, "risk", risk_keys)) || opt_number(res, risk, "risk.", "qty", 0, 1e9, &qty) ||
        opt_number(res, risk, "risk.", "sizing_pct", 0, 100, &sizing) ||
        opt_number(res, risk, "risk.", "stop_loss_pct", 0, 99.99, &sl) ||
        opt_number(res, risk, "risk.", "take_profit_pct", 0, 99.99, &tp) ||
        opt_number(res, risk, "risk.", "trailing_stop_pct", 0, 99.99, &trail) ||
        opt_string(res, risk, "risk.", "product", &product))
        return -1;
    if (qty != floor(qty))
        return fail(res, 422, "invalid_field", "risk.qty", "must be a whole number of units");
    enum order_product prod = ORDER_PRODUCT_CNC;
    if (product && order_product_parse(product, &prod) != ATP_OK)
        return fail(res, 422, "invalid_field", "risk.product", "must be CNC, MIS or NRML");
    sp->risk = (struct strat_risk){.qty = (int64_t)qty, .sizing_pct = sizing / 100, .stop_loss_pct = sl / 100,
                                   .take_profit_pct = tp / 100, .trailing_stop_pct = trail / 100, .product = prod};

    json_t *costs = json_object_get(body, "costs");
    static const char *const cost_keys[] = {"slippage_pct", "charges", "commission_pct", "fill", NULL};
    double slippage = 0.05, commission = -1;
    const char *charges = "flat", *fill = "next_open";
    if ((costs && only_keys(res, costs, "costs", cost_keys)) ||
        opt_number(res, costs, "costs.", "slippage_pct", 0, 99.99, &slippage) ||
        opt_number(res, costs, "costs.", "commission_pct", 0, 99.99, &commission) ||
        opt_string(res, costs, "costs.", "charges", &charges) || opt_string(res, costs, "costs.", "fill", &fill))
        return -1;
    if (strcmp(charges, "flat") && strcmp(charges, "india") && strcmp(charges, "none"))
        return fail(res, 422, "invalid_field", "costs.charges", "must be flat, india or none");
    if (commission >= 0 && strcmp(charges, "flat"))
        return fail(res, 422, "invalid_field", "costs.commission_pct", "goes with charges flat only");
    if (strcmp(fill, "next_open") && strcmp(fill, "close"))
        return fail(res, 422, "invalid_field", "costs.fill", "must be next_open or close");
    snprintf(sp->charges, sizeof sp->charges, "%s", charges);
    sp->commission = commission >= 0 ? commission / 100 : -1;
    sp->slippage_ppm = (int64_t)llround(slippage / 100 * 1e6);
    sp->fill_next_open = !strcmp(fill, "next_open");
    return 0;
}

/* The body's symbols (strings) into syms; n_out 0 when absent. */
static int parse_symbols(struct api_request *req, struct api_response *res, char syms[][INST_SYMBOL_MAX], int *n_out)
{
    json_t *arr = json_object_get(req->json, "symbols");
    *n_out = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char field[32];
        snprintf(field, sizeof field, "symbols[%zu]", i);
        if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) >= INST_SYMBOL_MAX)
            return fail(res, 422, "invalid_field", field, "must be a symbol (1..47 characters)");
        for (const unsigned char *c = (const unsigned char *)json_string_value(v); *c; c++)
            if (*c < 0x20 || *c == 0x7f)
                return fail(res, 422, "invalid_field", field, "must not contain control characters");
        for (int k = 0; k < *n_out; k++)
            if (!strcmp(syms[k], json_string_value(v)))
                return fail(res, 422, "invalid_field", field, "is listed twice");
        snprintf(syms[(*n_out)++], INST_SYMBOL_MAX, "%s", json_string_value(v));
    }
    return 0;
}

static int wanted(char syms[][INST_SYMBOL_MAX], int n, const char *symbol)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(syms[i], symbol))
            return 1;
    return n == 0;
}

/* The uploaded CSV: parsed (every error names its line and column) and filtered into job. */
static int load_csv(struct api_response *res, struct api_backtests *svc, json_t *data, struct api_bt_job *job,
                    char syms[][INST_SYMBOL_MAX], int n_syms, int64_t from_day, int64_t to_day)
{
    json_t *csv = json_object_get(data, "csv");
    if (!json_is_string(csv) || !json_string_length(csv))
        return fail(res, 422, "invalid_field", "data.csv", "the bar CSV text is required (header: date or "
                                                            "datetime, open, high, low, close[, volume][, symbol])");
    if (json_string_length(csv) > H_BT_CSV_MAX) {
        api_error(res, 413, "too_large", "data.csv", "the CSV is longer than %u bytes", H_BT_CSV_MAX);
        return -1;
    }
    FILE *f = fmemopen((void *)json_string_value(csv), json_string_length(csv), "r");
    if (!f)
        return fail(res, 500, "internal", NULL, "cannot read the CSV");
    struct barcsv_file file;
    struct atp_err err;
    atp_err_clear(&err);
    const char *one = n_syms == 1 ? syms[0] : NULL;
    int rc = barcsv_load(&file, f, "data.csv", NULL, one ? one : "DATA", &err);
    fclose(f);
    enum tf tf;
    if (rc == ATP_OK)
        rc = barcsv_detect_tf(&file, "data.csv", &tf, &err);
    if (rc != ATP_OK) {
        char msg[400];
        if (err.line > 0)
            snprintf(msg, sizeof msg, "line %ld%s%s: %s", err.line, err.field[0] ? ", column " : "", err.field, err.msg);
        else
            snprintf(msg, sizeof msg, "%s%s%s", err.field[0] ? err.field : "", err.field[0] ? ": " : "", err.msg);
        barcsv_file_cleanup(&file);
        return fail(res, 422, "invalid_csv", "data.csv", msg);
    }
    if (!file.has_symbol_column && n_syms > 1) {
        barcsv_file_cleanup(&file);
        return fail(res, 422, "invalid_field", "symbols",
                    "the CSV has no symbol column: name its one symbol (or add a symbol column)");
    }
    job->spec.source_tf = tf;
    for (size_t i = 0; i < file.n; i++) {
        const struct barcsv_row *row = &file.rows[i];
        int64_t day = ts_ist_day(row->bar.start);
        if (day < from_day || day > to_day || (file.has_symbol_column && !wanted(syms, n_syms, row->symbol)))
            continue;
        if ((rc = bt_data_add(&job->data, api_backtests_master(svc), row->symbol, &row->bar, NULL, &err)) != ATP_OK)
            break;
    }
    barcsv_file_cleanup(&file);
    if (rc != ATP_OK)
        return fail(res, 422, "invalid_csv", "data.csv", err.msg);
    bt_data_sort(&job->data);
    return 0;
}

/* The server's candles (complete bars the market has built so far) of the symbols. */
static int load_market(struct api_response *res, struct api_backtests *svc, struct api_bt_job *job,
                       char syms[][INST_SYMBOL_MAX], int n_syms, int64_t from_day, int64_t to_day)
{
    struct api_market *m = api_market_current();
    if (!m) {
        api_error(res, 503, "unavailable", "data.source", "the server has no market feed (atp serve --feed)");
        return -1;
    }
    if (!n_syms)
        return fail(res, 422, "invalid_field", "symbols", "name the symbols to trade");
    struct bar *bars = atp_calloc(CANDLES_KEEP, sizeof *bars);
    if (!bars)
        return fail(res, 500, "internal", NULL, "out of memory");
    int out = 0;
    for (int i = 0; i < n_syms && !out; i++) {
        const struct instrument *in = instreg_find(api_market_registry(m), syms[i]);
        char field[32];
        snprintf(field, sizeof field, "symbols[%d]", i);
        if (!in) {
            out = fail(res, 422, "invalid_field", field, "unknown symbol");
            break;
        }
        uint32_t n = 0;
        struct bar forming;
        int has_forming = 0;
        api_market_candles(m, in->id, job->spec.source_tf, CANDLES_KEEP, bars, &n, &forming, &has_forming);
        struct atp_err err;
        for (uint32_t k = 0; k < n && !out; k++) {
            int64_t day = ts_ist_day(bars[k].start);
            if (day >= from_day && day <= to_day &&
                bt_data_add(&job->data, api_backtests_master(svc), syms[i], &bars[k], NULL, &err) != ATP_OK)
                out = fail(res, 422, "invalid_field", field, err.msg);
        }
    }
    atp_free(bars);
    if (out)
        return out;
    if (job->data.n == 0)
        return fail(res, 422, "no_data", "data.source",
                    "the market has no complete bars of these symbols and timeframe in the range yet");
    bt_data_sort(&job->data);
    return 0;
}

/* The stored copy of the request: the body without the CSV text (its size instead). */
static char *request_text(json_t *body)
{
    json_t *copy = json_deep_copy(body);
    json_t *data = copy ? json_object_get(copy, "data") : NULL;
    json_t *csv = data ? json_object_get(data, "csv") : NULL;
    if (csv) {
        json_object_set_new(data, "csv_bytes", json_integer((json_int_t)json_string_length(csv)));
        json_object_del(data, "csv");
    }
    char *text = copy ? json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(copy);
    return text;
}

void h_backtests_create(struct api_request *req, struct api_response *res)
{
    struct api_backtests *svc = api_backtests_current();
    if (!hutil_have_store(req, res))
        return;
    if (!svc) {
        api_error(res, 503, "unavailable", NULL, "backtests are not available on this server");
        return;
    }
    struct api_bt_job *job = api_bt_job_new();
    char *request = NULL;
    if (!job) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    struct api_bt_spec *sp = &job->spec;
    char (*symbols)[INST_SYMBOL_MAX] = atp_calloc(STRAT_MAX_INSTRUMENTS, INST_SYMBOL_MAX);
    int n_syms = 0;
    int64_t from_day = INT64_MIN, to_day = INT64_MAX;
    const char *from = json_string_value(json_object_get(req->json, "from"));
    const char *to = json_string_value(json_object_get(req->json, "to"));
    const char *tfname = json_string_value(json_object_get(req->json, "timeframe"));
    json_t *data = json_object_get(req->json, "data");
    json_t *account = json_object_get(req->json, "account_id");
    int64_t account_id = account ? (int64_t)json_integer_value(account) : 0;
    const char *source = NULL;
    if (!symbols) {
        api_error(res, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (parse_run(req, res, sp) || parse_symbols(req, res, symbols, &n_syms) ||
        (from && parse_day(res, "from", from, &from_day)) || (to && parse_day(res, "to", to, &to_day)) ||
        opt_string(res, data, "data.", "source", &source))
        goto out;
    if (from && to && from_day > to_day) {
        fail(res, 422, "invalid_field", "to", "is before from");
        goto out;
    }
    enum tf tf = TF_1M;
    if (tfname && tf_parse(tfname, &tf) != ATP_OK) {
        fail(res, 422, "invalid_field", "timeframe", "unknown timeframe (1m, 3m, 5m, 15m, 30m, 1h, 1d)");
        goto out;
    }
    if (account && (account_id <= 0)) {
        fail(res, 422, "invalid_field", "account_id", "must be a positive id");
        goto out;
    }
    if (account_id) {
        int access = STORE_ACCESS_NONE;
        int rc = store_access_role(req->store, account_id, req->user_id, &access, NULL);
        if (rc != ATP_OK && rc != ATP_ENOTFOUND) {
            api_error(res, 500, "internal", NULL, "cannot check the account");
            goto out;
        }
        if (access != STORE_ACCESS_OWNER && access != STORE_ACCESS_TRADER) {
            /* Not the caller's to use: like an absent account (never reveal another tenant's). */
            fail(res, 404, "not_found", "account_id", "no such account of yours");
            goto out;
        }
    }
    if (!source) {
        fail(res, 422, "invalid_field", "data.source", "is required: csv, simulator or market");
        goto out;
    }
    if (!strcmp(source, "csv")) {
        static const char *const keys[] = {"source", "csv", NULL};
        sp->source = API_BT_SRC_CSV;
        if (only_keys(res, data, "data", keys) || load_csv(res, svc, data, job, symbols, n_syms, from_day, to_day))
            goto out;
        if (job->data.n == 0) {
            fail(res, 422, "no_data", "data.csv", "no bars left to run on (check symbols, from and to)");
            goto out;
        }
        if (!tfname)
            tf = sp->source_tf;
    } else if (!strcmp(source, "simulator")) {
        static const char *const keys[] = {"source", "days", "seed", NULL};
        double days = 0, seed = 42;
        sp->source = API_BT_SRC_SIMULATOR;
        sp->source_tf = TF_1M;
        if (only_keys(res, data, "data", keys) || opt_number(res, data, "data.", "days", 1, API_BT_SIM_DAYS_MAX, &days) ||
            opt_number(res, data, "data.", "seed", 0, 9007199254740991.0, &seed))
            goto out;
        if (days == 0 || days != floor(days) || seed != floor(seed)) {
            fail(res, 422, "invalid_field", days == 0 || days != floor(days) ? "data.days" : "data.seed",
                 "must be a whole number (days: 1..250 trading days)");
            goto out;
        }
        if (!n_syms) {
            fail(res, 422, "invalid_field", "symbols", "name the symbols to simulate");
            goto out;
        }
        for (int i = 0; i < n_syms; i++) {
            char field[32];
            snprintf(field, sizeof field, "symbols[%d]", i);
            if (!instreg_find(api_backtests_master(svc), symbols[i])) {
                fail(res, 422, "invalid_field", field, "not in the instrument master");
                goto out;
            }
            snprintf(sp->sim_symbols[i], INST_SYMBOL_MAX, "%s", symbols[i]);
        }
        sp->n_sim_symbols = n_syms;
        sp->sim_days = (int)days;
        sp->sim_seed = (uint64_t)seed;
        if (from_day == INT64_MIN)
            parse_day(res, "from", BT_DEFAULT_SIM_FROM, &from_day);
        sp->sim_from_day = from_day;
        if (!tfname)
            tf = TF_1M;
    } else if (!strcmp(source, "market")) {
        static const char *const keys[] = {"source", NULL};
        sp->source = API_BT_SRC_MARKET;
        sp->source_tf = tf; /* the candles of the strategy's timeframe */
        if (only_keys(res, data, "data", keys) || load_market(res, svc, job, symbols, n_syms, from_day, to_day))
            goto out;
    } else {
        fail(res, 422, "invalid_field", "data.source", "must be csv, simulator or market");
        goto out;
    }
    sp->tf = tf;
    if (tf < sp->source_tf) {
        api_error(res, 422, "invalid_field", "timeframe", "%s is finer than the data's %s", tf_name(tf),
                  tf_name(sp->source_tf));
        goto out;
    }
    request = request_text(req->json);
    if (!request || strlen(request) >= STORE_BT_REQUEST_MAX) {
        fail(res, 422, "invalid_field", "body", "the request (without the CSV) is too large to keep");
        goto out;
    }
    if (api_backtests_reserve(svc) != ATP_OK) {
        res->retry_after_s = 10;
        api_error(res, 429, "queue_full", NULL, "the backtest queue is full: wait for running backtests to finish "
                                                "(or cancel one) and submit again");
        goto out;
    }
    struct store_backtest *row = atp_calloc(1, sizeof *row);
    int64_t id = 0;
    struct atp_err err;
    atp_err_clear(&err);
    if (row) {
        row->user_id = req->user_id;
        row->account_id = account_id;
        snprintf(row->strategy, sizeof row->strategy, "%s", sp->strategy);
        snprintf(row->source, sizeof row->source, "%s", source);
        snprintf(row->request, sizeof row->request, "%s", request);
    }
    if (!row || store_backtest_create(req->store, row, &id, &err) != ATP_OK) {
        atp_free(row);
        api_backtests_release(svc);
        api_error(res, 500, "internal", NULL, "cannot store the backtest");
        goto out;
    }
    atp_free(row);
    job->id = id;
    api_backtests_push(svc, job);
    job = NULL;
    char resource[64];
    snprintf(resource, sizeof resource, "backtests/%lld", (long long)id);
    struct hutil_actor who = hutil_actor_of(req);
    hutil_audit(req->store, &who, account_id, "backtest.submit", resource, "ok",
                json_pack("{s:s, s:s}", "strategy", sp->strategy, "source", source));
    res->status = 202;
    res->json = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "status", "queued", "url", resource);
out:
    free(request);
    atp_free(symbols);
    api_bt_job_free(job);
}

/* ---- reads ---- */

static json_t *backtest_json(const struct store_backtest *b, int with_request)
{
    char c[HUTIL_ISO_MAX], s[HUTIL_ISO_MAX], f[HUTIL_ISO_MAX];
    json_t *o = json_pack("{s:I, s:I, s:o, s:s, s:f, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)b->id, "user_id",
                          (json_int_t)b->user_id, "account_id",
                          b->account_id ? json_integer((json_int_t)b->account_id) : json_null(), "status",
                          store_bt_status_name(b->status), "progress",
                          (double)b->progress_ppm / STORE_BT_PROGRESS_FULL, "strategy", b->strategy, "source",
                          b->source, "created_at", hutil_iso8601(b->created_ns, c), "started_at",
                          b->started_ns ? json_string(hutil_iso8601(b->started_ns, s)) : json_null(), "finished_at",
                          b->finished_ns ? json_string(hutil_iso8601(b->finished_ns, f)) : json_null());
    if (o && b->error[0])
        json_object_set_new(o, "error", json_string(b->error));
    if (o && with_request)
        json_object_set_new(o, "request", json_loads(b->request, 0, NULL));
    return o;
}

/* Answers obj (stolen) with extra members appended as JSON text verbatim: the stored metrics and
 * result members keep their exact digits (a round trip through doubles would not). */
static void answer_spliced(struct api_response *res, json_t *obj, const char *const *names, const char *const *texts,
                           const size_t *lens, int n)
{
    char *head = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    size_t total = head ? strlen(head) : 0;
    for (int i = 0; i < n; i++)
        total += strlen(names[i]) + lens[i] + 8;
    char *out = head ? atp_malloc(total + 1) : NULL;
    if (!out) {
        free(head);
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    size_t len = strlen(head) - 1; /* without the closing brace */
    memcpy(out, head, len);
    free(head);
    for (int i = 0; i < n; i++)
        len += (size_t)sprintf(out + len, "%s\"%s\":%.*s", len > 1 ? "," : "", names[i], (int)lens[i], texts[i]);
    out[len++] = '}';
    out[len] = '\0';
    res->text = out;
    res->text_len = len;
    res->content_type = "application/json";
}

/* The backtest of the path, read from the store; NULL after answering 404/500. */
static struct store_backtest *load(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return NULL;
    int64_t id = hutil_parse_id(api_param(req, "id"));
    struct store_backtest *b = atp_malloc(sizeof *b);
    int rc = !b ? ATP_ENOMEM : id ? store_backtest_get(req->store, id, b, NULL) : ATP_ENOTFOUND;
    if (rc != ATP_OK) {
        atp_free(b);
        if (rc == ATP_ENOTFOUND)
            api_error(res, 404, "not_found", NULL, "no such resource");
        else
            api_error(res, 500, "internal", NULL, "cannot read the backtest");
        return NULL;
    }
    return b;
}

void h_backtests_get(struct api_request *req, struct api_response *res)
{
    struct store_backtest *b = load(req, res);
    if (!b)
        return;
    const char *names[1] = {"metrics"}, *texts[1] = {b->metrics[0] ? b->metrics : "null"};
    size_t lens[1] = {strlen(texts[0])};
    answer_spliced(res, backtest_json(b, 1), names, texts, lens, 1);
    atp_free(b);
}

void h_backtests_list(struct api_request *req, struct api_response *res)
{
    struct store_page page;
    if (!hutil_have_store(req, res) || hutil_page(req, res, 20, &page) != 0)
        return;
    if (page.limit > 100)
        page.limit = 100;
    struct store_backtest *rows = atp_calloc(page.limit, sizeof *rows);
    struct store_page_out po = {0};
    if (!rows || store_backtest_list(req->store, req->user_id, &page, rows, &po, NULL) != ATP_OK) {
        atp_free(rows);
        api_error(res, 500, "internal", NULL, "cannot list the backtests");
        return;
    }
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        json_array_append_new(items, backtest_json(&rows[i], 0));
    atp_free(rows);
    res->json = hutil_list(items, po.next_cursor);
}

/* A finished backtest's document, or NULL after answering (409 while not done, 404/503). */
static char *document(struct api_request *req, struct api_response *res, int doc, struct store_backtest **bt)
{
    struct store_backtest *b = load(req, res);
    if (!b)
        return NULL;
    if (b->status != STORE_BT_DONE) {
        api_error(res, 409, "not_done", "status", "the backtest is %s%s%s", store_bt_status_name(b->status),
                  b->error[0] ? ": " : "", b->error);
        atp_free(b);
        return NULL;
    }
    char *text = NULL;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = store_backtest_document(req->store, b->id, doc, &text, NULL, &err);
    if (rc != ATP_OK) {
        if (rc == ATP_ENOTFOUND && doc == STORE_BT_DOC_REPORT)
            api_error(res, 503, "report_unavailable", NULL,
                      "no HTML report was made for this backtest (the chart library was missing: scripts/deps.sh)");
        else
            api_error(res, 500, "internal", NULL, "cannot read the backtest's result");
        atp_free(b);
        return NULL;
    }
    if (bt)
        *bt = b;
    else
        atp_free(b);
    return text;
}

void h_backtests_trades(struct api_request *req, struct api_response *res)
{
    struct store_backtest *b = NULL;
    char *doc = document(req, res, STORE_BT_DOC_RESULT, &b);
    if (!doc)
        return;
    size_t off, len;
    if (api_bt_json_member(doc, "trades", &off, &len) != 0) {
        api_error(res, 500, "internal", NULL, "the stored result has no trades");
    } else {
        const char *names[1] = {"trades"}, *texts[1] = {doc + off};
        answer_spliced(res, json_pack("{s:I}", "backtest_id", (json_int_t)b->id), names, texts, &len, 1);
    }
    atp_free(doc);
    atp_free(b);
}

void h_backtests_equity(struct api_request *req, struct api_response *res)
{
    struct store_backtest *b = NULL;
    char *doc = document(req, res, STORE_BT_DOC_RESULT, &b);
    if (!doc)
        return;
    size_t off[4], len[4];
    if (api_bt_json_member(doc, "equity_curve", &off[2], &len[2]) != 0 ||
        api_bt_json_member(b->metrics, "initial_capital", &off[0], &len[0]) != 0 ||
        api_bt_json_member(b->metrics, "final_equity", &off[1], &len[1]) != 0 ||
        api_bt_json_member(b->metrics, "max_drawdown_pct", &off[3], &len[3]) != 0) {
        api_error(res, 500, "internal", NULL, "the stored result has no equity curve");
    } else {
        /* Each point carries its drawdown (% below the running peak): the two series in one. */
        const char *names[4] = {"initial_capital", "final_equity", "max_drawdown_pct", "equity_curve"};
        const char *texts[4] = {b->metrics + off[0], b->metrics + off[1], b->metrics + off[3], doc + off[2]};
        size_t lens[4] = {len[0], len[1], len[3], len[2]};
        answer_spliced(res, json_pack("{s:I}", "backtest_id", (json_int_t)b->id), names, texts, lens, 4);
    }
    atp_free(doc);
    atp_free(b);
}

/* The report's scripts are inline (the chart library and the result data, escaped by
 * backtest/report); the sandbox gives the page an opaque origin, so even they could not read
 * this origin's storage, and nothing may be fetched or posted. */
static const char report_csp[] = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
                                 "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
                                 "frame-ancestors 'none'";

void h_backtests_report(struct api_request *req, struct api_response *res)
{
    char *doc = document(req, res, STORE_BT_DOC_REPORT, NULL);
    if (!doc)
        return;
    res->text = doc;
    res->text_len = strlen(doc);
    res->content_type = "text/html; charset=utf-8";
    res->csp = report_csp;
}

void h_backtests_cancel(struct api_request *req, struct api_response *res)
{
    struct store_backtest *b = load(req, res);
    if (!b)
        return;
    int64_t id = b->id, account_id = b->account_id;
    if (b->status != STORE_BT_QUEUED && b->status != STORE_BT_RUNNING) {
        api_error(res, 409, "already_finished", "status", "the backtest is already %s", store_bt_status_name(b->status));
        atp_free(b);
        return;
    }
    atp_free(b);
    struct api_backtests *svc = api_backtests_current();
    enum api_bt_cancel c = svc ? api_backtests_cancel(svc, id) : API_BT_CANCEL_UNKNOWN;
    const char *status = "cancelling";
    if (c != API_BT_CANCEL_SIGNALLED) {
        /* Dequeued here, or not in this process's hands (about to be pushed, or orphaned): the
         * store decides; a worker that starts it later finds it cancelled and skips it. */
        struct atp_err err;
        int rc = store_backtest_finish(req->store, id, STORE_BT_CANCELLED, "cancelled by the user", NULL, NULL, NULL, &err);
        if (rc == ATP_ESTATE) {
            api_error(res, 409, "already_finished", "status", "the backtest finished meanwhile");
            return;
        }
        if (rc != ATP_OK) {
            api_error(res, 500, "internal", NULL, "cannot cancel the backtest");
            return;
        }
        status = "cancelled";
    }
    char resource[64];
    snprintf(resource, sizeof resource, "backtests/%lld", (long long)id);
    struct hutil_actor who = hutil_actor_of(req);
    hutil_audit(req->store, &who, account_id, "backtest.cancel", resource, "ok", json_pack("{s:s}", "status", status));
    res->status = c == API_BT_CANCEL_SIGNALLED ? 202 : 200;
    res->json = json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", status);
}
