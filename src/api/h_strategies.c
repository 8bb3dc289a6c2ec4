/* api/h_strategies: the strategy, risk-limit and strategy-limit routes. See h_strategies.h. */
#include "api/h_strategies.h"

#include "api/h_market.h"
#include "api/hutil.h"
#include "api/json_err.h"
#include "api/market.h"
#include "api/policy.h"
#include "api/strategy_rt.h"
#include "core/alloc.h"
#include "core/px.h"
#include "risk/risk.h"
#include "store/store.h"
#include "strategy/registry.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define RUPEES_MAX 1000000000000LL /* Rs 1 lakh crore: any larger limit is a typo */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static json_t *px_json(px_t v) { return json_real(px_to_double(v)); }

/* ---- the catalog ------------------------------------------------------------------------------- */

void h_strategy_types(struct api_request *req, struct api_response *res)
{
    (void)req;
    json_t *items = json_array();
    for (size_t i = 0; items && i < strategy_catalog_count(); i++) {
        const struct atp_strategy_def *d = strategy_catalog_get(i);
        json_array_append_new(items, json_pack("{s:s, s:s, s:o}", "name", d->name, "description",
                                               d->description ? d->description : "", "params",
                                               h_market_params_json(d->params, d->n_params)));
    }
    /* The risk and sizing fields every type accepts (strategy_rt.c parse_risk checks them). */
    json_t *risk = json_pack(
        "[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]",
        "name", "qty", "type", "int", "description", "units per entry (1..10000000); this or sizing_pct is required",
        "name", "sizing_pct", "type", "double", "description", "percent of the account's equity per entry (0..100)",
        "name", "stop_loss_pct", "type", "double", "description", "stop-loss, percent below (long) the entry (0..100)",
        "name", "take_profit_pct", "type", "double", "description", "take-profit, percent from the entry (0..1000)",
        "name", "trailing_stop_pct", "type", "double", "description", "trailing stop, percent from the best price",
        "name", "product", "type", "string", "description", "MIS (intraday, default) or CNC (delivery)");
    res->json = json_pack("{s:o, s:o, s:[s], s:[s,s,s,s,s,s,s]}", "items", items ? items : json_array(), "risk",
                          risk ? risk : json_array(), "modes", "paper", "timeframes", "1m", "3m", "5m", "15m", "30m",
                          "1h", "1d");
    if (!res->json)
        api_error(res, 500, "internal", NULL, "out of memory");
}

/* ---- shared -------------------------------------------------------------------------------- */

static json_t *loads_or(const char *text, json_t *fallback)
{
    json_t *v = text && text[0] ? json_loads(text, 0, NULL) : NULL;
    if (v) {
        json_decref(fallback);
        return v;
    }
    return fallback;
}

static json_t *strategy_json(const struct store_strategy *st)
{
    char created[HUTIL_ISO_MAX], updated[HUTIL_ISO_MAX];
    return json_pack("{s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:s, s:s, s:o, s:s, s:I, s:s, s:I}", "id",
                     (json_int_t)st->id, "account_id", (json_int_t)st->account_id, "type", st->type, "name", st->name,
                     "symbols", loads_or(st->symbols, json_array()), "timeframes",
                     loads_or(st->timeframes, json_array()), "params", loads_or(st->params, json_object()), "mode",
                     store_trade_mode_name(st->mode), "risk", loads_or(st->risk, json_object()), "state",
                     store_strategy_state_name(st->state), "state_reason", st->state_reason, "last_signal",
                     loads_or(st->last_signal, json_null()), "created", hutil_iso8601(st->created_ns, created),
                     "created_ns", (json_int_t)st->created_ns, "updated", hutil_iso8601(st->updated_ns, updated),
                     "updated_ns", (json_int_t)st->updated_ns);
}

/* The strategy {id} of the request with its account (the policy let the caller see it). 0, or -1
 * answered (404 when it vanished in between, 503 without a store). */
static int load(struct api_request *req, struct api_response *res, struct store_strategy *out)
{
    if (!hutil_have_store(req, res))
        return -1;
    int64_t id = hutil_parse_id(api_param(req, "id")), account = 0;
    if (!id || store_strategy_account(req->store, id, &account, NULL) != ATP_OK ||
        store_strategy_get(req->store, account, id, out, NULL) != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such resource");
        return -1;
    }
    return 0;
}

static void audit(struct api_request *req, const struct store_strategy *st, const char *action, json_t *details)
{
    struct hutil_actor who = hutil_actor_of(req);
    char resource[48];
    snprintf(resource, sizeof resource, "strategy:%lld", (long long)st->id);
    hutil_audit(req->store, &who, st->account_id, action, resource, "ok", details);
}

static struct api_market *need_market(struct api_response *res)
{
    struct api_market *m = api_market_current();
    if (!m || !strategy_rt_current())
        api_error(res, 503, "market_unavailable", NULL,
                  "this server runs without market data (atp serve --feed none): strategies cannot run");
    return m;
}

/* Answers an error of strategy_spec_parse: 422 naming the field. */
static void spec_error(struct api_response *res, const struct atp_err *err)
{
    api_error(res, 422, "invalid_field", err->field[0] ? err->field : NULL, "%s", err->msg);
}

/* Serialises a JSON value into buf (size bytes); 0, or -1 with a 422 naming field when too long. */
static int dump_to(const json_t *v, char *buf, size_t size, const char *field, struct api_response *res)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text || strlen(text) >= size) {
        free(text);
        api_error(res, 422, "invalid_field", field, "%s is too long (at most %zu bytes as JSON)", field, size - 1);
        return -1;
    }
    snprintf(buf, size, "%s", text);
    free(text);
    return 0;
}

/* Checks body (type, symbols, timeframes, params, risk, merged over st's stored values when a
 * field is absent) and writes the canonical JSON of each into st. 0, or -1 answered (422). */
static int check_and_fill(struct api_request *req, struct api_response *res, const json_t *body,
                          struct store_strategy *st, struct api_market *m)
{
    json_t *stored_sym = loads_or(st->symbols, NULL), *stored_tfs = loads_or(st->timeframes, NULL);
    json_t *stored_params = loads_or(st->params, NULL), *stored_risk = loads_or(st->risk, NULL);
    json_t *default_tfs = json_pack("[s]", "1m");
    const json_t *sym = json_object_get(body, "symbols"), *tfs = json_object_get(body, "timeframes");
    const json_t *params = json_object_get(body, "params"), *risk = json_object_get(body, "risk");
    sym = sym ? sym : stored_sym;
    tfs = tfs ? tfs : stored_tfs ? stored_tfs : default_tfs;
    params = params ? params : stored_params;
    risk = risk ? risk : stored_risk;
    struct strategy_spec spec;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = -1;
    (void)req;
    if (strategy_spec_parse(st->type, sym, tfs, params, risk, api_market_registry(m), &spec, &err) != ATP_OK) {
        spec_error(res, &err);
    } else {
        /* Stored as given, upper-cased symbols and the type's canonical name. */
        json_t *syms = json_array();
        for (int i = 0; syms && i < spec.n_instruments; i++)
            json_array_append_new(syms, json_string(instreg_get(api_market_registry(m), spec.instruments[i])->symbol));
        json_t *tf_names = json_array();
        for (int i = 0; tf_names && i < spec.n_tfs; i++)
            json_array_append_new(tf_names, json_string(tf_name(spec.tfs[i])));
        json_t *empty = json_object();
        snprintf(st->type, sizeof st->type, "%s", spec.def->name);
        if (dump_to(syms, st->symbols, sizeof st->symbols, "symbols", res) == 0 &&
            dump_to(tf_names, st->timeframes, sizeof st->timeframes, "timeframes", res) == 0 &&
            dump_to(params ? params : empty, st->params, sizeof st->params, "params", res) == 0 &&
            dump_to(risk, st->risk, sizeof st->risk, "risk", res) == 0)
            rc = 0;
        json_decref(syms);
        json_decref(tf_names);
        json_decref(empty);
    }
    json_decref(stored_sym);
    json_decref(stored_tfs);
    json_decref(stored_params);
    json_decref(stored_risk);
    json_decref(default_tfs);
    return rc;
}

/* ---- CRUD ---------------------------------------------------------------------------------- */

const struct api_field h_strategies_create_body[] = {
    {"account_id", API_FT_INT, 1, 0, "the trading account the strategy trades (its owner acts on it)"},
    {"type", API_FT_STRING, 1, STORE_STRAT_TYPE_MAX - 1, "a strategy type of GET /api/v1/strategy-types"},
    {"name", API_FT_STRING, 0, STORE_NAME_MAX - 1, "display name (default: the type)"},
    {"symbols", API_FT_ARRAY, 1, STRAT_MAX_INSTRUMENTS, "instruments traded, e.g. [\"RELIANCE\"]"},
    {"timeframes", API_FT_ARRAY, 0, STRAT_MAX_TFS, "bar timeframes, the first one trades (default [\"1m\"])"},
    {"params", API_FT_OBJECT, 0, 0, "parameter values by name (the type's schema); defaults for the rest"},
    {"mode", API_FT_STRING, 0, 8, "paper (live needs a broker connection: not available yet)"},
    {"risk", API_FT_OBJECT, 0, 0, "qty or sizing_pct (one is required), stop_loss_pct, take_profit_pct, "
                                  "trailing_stop_pct (percent), product MIS|CNC"},
    {NULL, 0, 0, 0, NULL},
};

/* mode of a body: paper, or 0 after a 422 (live is refused with why). */
static int mode_ok(const json_t *body, struct api_response *res)
{
    const char *mode = json_string_value(json_object_get(body, "mode"));
    if (!mode || !strcmp(mode, "paper"))
        return 1;
    if (!strcmp(mode, "live"))
        api_error(res, 422, "live_unavailable", "mode",
                  "live trading needs a broker connection, which arrives with the broker issue: use mode paper");
    else
        api_error(res, 422, "invalid_field", "mode", "mode must be paper or live");
    return 0;
}

void h_strategies_create(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res) || !mode_ok(req->json, res))
        return;
    struct api_market *m = need_market(res);
    if (!m)
        return;
    struct store_strategy *st = atp_calloc(1, sizeof *st);
    if (!st) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    st->account_id = (int64_t)json_integer_value(json_object_get(req->json, "account_id"));
    st->mode = STORE_MODE_PAPER;
    const char *type = json_string_value(json_object_get(req->json, "type"));
    const char *name = json_string_value(json_object_get(req->json, "name"));
    snprintf(st->type, sizeof st->type, "%s", type ? type : "");
    if (name && !name[0]) {
        api_error(res, 422, "invalid_field", "name", "the name is empty");
    } else if (check_and_fill(req, res, req->json, st, m) == 0) {
        snprintf(st->name, sizeof st->name, "%s", name ? name : st->type);
        struct atp_err err;
        atp_err_clear(&err);
        if (store_strategy_create(req->store, st, &st->id, &err) != ATP_OK ||
            store_strategy_get(req->store, st->account_id, st->id, st, &err) != ATP_OK) {
            api_error(res, 500, "internal", NULL, "cannot create the strategy");
        } else {
            audit(req, st, "strategy.create", json_pack("{s:s, s:s}", "type", st->type, "name", st->name));
            res->status = 201;
            res->json = strategy_json(st);
        }
    }
    atp_free(st);
}

void h_strategies_list(struct api_request *req, struct api_response *res)
{
    struct store_page page;
    struct store_strategy_filter f = {0};
    if (!hutil_have_store(req, res) || hutil_page(req, res, HUTIL_PAGE_DEFAULT, &page) != 0 ||
        hutil_query_id(req, res, "account_id", &f.account_id) != 0)
        return;
    /* The store scopes: the caller's owned and granted accounts; an admin sees every account. */
    f.user_id = req->role == API_ROLE_ADMIN ? 0 : req->user_id;
    struct store_strategy *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out || store_strategy_list(req->store, &f, &page, out, &po, NULL) != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot list the strategies");
        return;
    }
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        json_array_append_new(items, strategy_json(&out[i]));
    atp_free(out);
    res->json = hutil_list(items, po.next_cursor);
}

void h_strategies_get(struct api_request *req, struct api_response *res)
{
    struct store_strategy *st = atp_calloc(1, sizeof *st);
    if (!st || load(req, res, st) != 0) {
        if (!st)
            api_error(res, 500, "internal", NULL, "out of memory");
        atp_free(st);
        return;
    }
    struct strategy_rt_status rs;
    strategy_rt_status(strategy_rt_current(), st->id, &rs);
    json_t *positions = json_array();
    struct api_market *m = api_market_current();
    for (int i = 0; positions && m && i < rs.n_positions; i++) {
        const struct instrument *in = instreg_get(api_market_registry(m), rs.positions[i].instrument_id);
        json_array_append_new(positions, json_pack("{s:s, s:I, s:o}", "symbol", in ? in->symbol : "?", "qty",
                                                   (json_int_t)rs.positions[i].qty, "avg_price",
                                                   px_json(rs.positions[i].avg_price)));
    }
    json_t *o = strategy_json(st);
    json_t *status = json_pack("{s:s, s:b, s:I, s:I, s:o, s:{s:o, s:o}, s:o, s:s}", "state",
                               store_strategy_state_name(rs.in_kernel ? rs.state : st->state), "in_kernel",
                               rs.in_kernel, "orders_count", (json_int_t)rs.orders_sent, "orders_denied",
                               (json_int_t)rs.orders_denied, "positions", positions ? positions : json_array(), "pnl",
                               "realized", px_json(rs.realized_pnl), "unrealized", px_json(rs.unrealized_pnl),
                               "last_signal", loads_or(st->last_signal, json_null()), "last_error", rs.last_error);
    if (o && status)
        json_object_set_new(o, "status", status);
    else
        json_decref(status);
    res->json = o;
    if (!o)
        api_error(res, 500, "internal", NULL, "out of memory");
    atp_free(st);
}

const struct api_field h_strategies_update_body[] = {
    {"name", API_FT_STRING, 0, STORE_NAME_MAX - 1, "display name"},
    {"symbols", API_FT_ARRAY, 0, STRAT_MAX_INSTRUMENTS, "instruments traded"},
    {"timeframes", API_FT_ARRAY, 0, STRAT_MAX_TFS, "bar timeframes, the first one trades"},
    {"params", API_FT_OBJECT, 0, 0, "parameter values by name (replaces the stored ones)"},
    {"risk", API_FT_OBJECT, 0, 0, "sizing and protection (replaces the stored one)"},
    {NULL, 0, 0, 0, NULL},
};

/* 409 naming the state a request found: "strategy 5 is running: stop it first". */
static void wrong_state(struct api_response *res, const struct store_strategy *st, const char *what)
{
    api_error(res, 409, "invalid_state", "state", "strategy %lld is %s: %s", (long long)st->id,
              store_strategy_state_name(st->state), what);
}

/* A store ESTATE (the state changed under the request) or another failure, answered. */
static void store_refused(struct api_response *res, int rc, const struct atp_err *err, const char *what)
{
    if (rc == ATP_ESTATE)
        api_error(res, 409, "invalid_state", "state", "%s", err->msg);
    else if (rc == ATP_ENOTFOUND)
        api_error(res, 404, "not_found", NULL, "no such resource");
    else
        api_error(res, 500, "internal", NULL, "cannot %s the strategy", what);
}

void h_strategies_update(struct api_request *req, struct api_response *res)
{
    struct store_strategy *st = atp_calloc(1, sizeof *st);
    if (!st || load(req, res, st) != 0) {
        if (!st)
            api_error(res, 500, "internal", NULL, "out of memory");
        atp_free(st);
        return;
    }
    struct api_market *m = NULL;
    const char *name = json_string_value(json_object_get(req->json, "name"));
    if (st->state != STORE_STRAT_STOPPED) {
        wrong_state(res, st, "stop it before changing it");
    } else if (name && !name[0]) {
        api_error(res, 422, "invalid_field", "name", "the name is empty");
    } else if ((m = need_market(res)) && check_and_fill(req, res, req->json, st, m) == 0) {
        if (name)
            snprintf(st->name, sizeof st->name, "%s", name);
        struct atp_err err;
        atp_err_clear(&err);
        int rc = store_strategy_update(req->store, st, &err);
        if (rc == ATP_OK)
            rc = store_strategy_get(req->store, st->account_id, st->id, st, &err);
        if (rc != ATP_OK) {
            store_refused(res, rc, &err, "update");
        } else {
            json_t *fields = json_array();
            const char *key;
            json_t *v;
            json_object_foreach(req->json, key, v) json_array_append_new(fields, json_string(key));
            audit(req, st, "strategy.update", json_pack("{s:o}", "fields", fields ? fields : json_array()));
            res->json = strategy_json(st);
        }
    }
    atp_free(st);
}

void h_strategies_delete(struct api_request *req, struct api_response *res)
{
    struct store_strategy *st = atp_calloc(1, sizeof *st);
    if (!st || load(req, res, st) != 0) {
        if (!st)
            api_error(res, 500, "internal", NULL, "out of memory");
        atp_free(st);
        return;
    }
    struct atp_err err;
    atp_err_clear(&err);
    int rc;
    if (st->state != STORE_STRAT_STOPPED) {
        wrong_state(res, st, "stop it before deleting it");
    } else if ((rc = store_strategy_delete(req->store, st->account_id, st->id, &err)) != ATP_OK) {
        store_refused(res, rc, &err, "delete");
    } else {
        audit(req, st, "strategy.delete", json_pack("{s:s}", "name", st->name));
        res->json = json_pack("{s:I, s:b}", "id", (json_int_t)st->id, "deleted", 1);
    }
    atp_free(st);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* The limits the gate applies to account_id: its stored ones (into *stored) and the admin's. */
static struct strategy_rt_limits limits_of(struct store *s, int64_t account_id, struct store_risk_limits *stored)
{
    int have = store_risk_limits_get(s, account_id, STORE_MODE_PAPER, stored, NULL) == ATP_OK;
    return (struct strategy_rt_limits){have ? stored : NULL, strategy_rt_max_running(s, STORE_MODE_PAPER)};
}

/* 1 when the account's loss breach waits for the owner's acknowledgement (answered 409). */
static int breach_pending(struct api_request *req, struct api_response *res, int64_t account_id)
{
    struct store_risk_limits lim;
    if (store_risk_limits_get(req->store, account_id, STORE_MODE_PAPER, &lim, NULL) != ATP_OK || !lim.breached)
        return 0;
    api_error(res, 409, "risk_breach", "state",
              "the account's max loss was breached: acknowledge it (POST /api/v1/accounts/%lld/risk-limits/"
              "acknowledge) before its strategies run again",
              (long long)account_id);
    return 1;
}

/* Records the new state, audits and answers the strategy. */
static void moved(struct api_request *req, struct api_response *res, struct store_strategy *st, int state,
                  const char *reason, const char *action)
{
    struct atp_err err;
    atp_err_clear(&err);
    int rc = store_strategy_set_state(req->store, st->account_id, st->id, state, reason, &err);
    if (rc == ATP_OK)
        rc = store_strategy_get(req->store, st->account_id, st->id, st, &err);
    if (rc != ATP_OK) {
        store_refused(res, rc, &err, "record the state of");
        return;
    }
    audit(req, st, action, json_pack("{s:s}", "state", store_strategy_state_name(state)));
    res->json = strategy_json(st);
}

/* The kernel's refusal of a lifecycle call, answered. */
static void kernel_refused(struct api_response *res, int rc, const struct atp_err *err)
{
    if (rc == ATP_ERANGE)
        api_error(res, 409, "risk_denied", "state", "the risk gate refused: %s", err->msg);
    else if (rc == ATP_EINVAL)
        api_error(res, 422, "invalid_field", err->field[0] ? err->field : "params", "%s", err->msg);
    else if (rc == ATP_ESTATE || rc == ATP_EEXIST || rc == ATP_ENOTFOUND)
        api_error(res, 409, "invalid_state", "state", "%s", err->msg);
    else
        api_error(res, 500, "internal", NULL, "the kernel failed: %s", err->msg);
}

void h_strategies_start(struct api_request *req, struct api_response *res)
{
    struct store_strategy *st = atp_calloc(1, sizeof *st);
    if (!st || load(req, res, st) != 0) {
        if (!st)
            api_error(res, 500, "internal", NULL, "out of memory");
        atp_free(st);
        return;
    }
    struct api_market *m = NULL;
    struct strategy_spec spec;
    struct atp_err err;
    atp_err_clear(&err);
    if (st->state != STORE_STRAT_STOPPED) {
        wrong_state(res, st, st->state == STORE_STRAT_PAUSED ? "resume it instead" : "it already runs");
    } else if (!breach_pending(req, res, st->account_id) && (m = need_market(res))) {
        if (strategy_spec_from_store(st, api_market_registry(m), &spec, &err) != ATP_OK) {
            spec_error(res, &err);
        } else {
            struct store_risk_limits stored;
            struct strategy_rt_limits lim = limits_of(req->store, st->account_id, &stored);
            int rc = strategy_rt_start(strategy_rt_current(), st->id, st->account_id, &spec, st->name, &lim, 0, &err);
            if (rc != ATP_OK)
                kernel_refused(res, rc, &err);
            else
                moved(req, res, st, STORE_STRAT_RUNNING, "", "strategy.start");
        }
    }
    atp_free(st);
}

/* pause, resume and stop: the transitions from (mask of states) through the runtime. */
static void transition(struct api_request *req, struct api_response *res, unsigned from_mask, enum strategy_rt_op op,
                       int to, const char *wrong, const char *action)
{
    struct store_strategy *st = atp_calloc(1, sizeof *st);
    if (!st || load(req, res, st) != 0) {
        if (!st)
            api_error(res, 500, "internal", NULL, "out of memory");
        atp_free(st);
        return;
    }
    struct atp_err err;
    atp_err_clear(&err);
    if (!(from_mask & (1u << st->state))) {
        wrong_state(res, st, wrong);
    } else if (op == STRATEGY_RT_RESUME && breach_pending(req, res, st->account_id)) {
        /* answered */
    } else if (op != STRATEGY_RT_STOP && !need_market(res)) {
        /* answered */
    } else {
        int rc = strategy_rt_control(strategy_rt_current(), st->id, op, &err);
        if (rc != ATP_OK)
            kernel_refused(res, rc, &err);
        else
            moved(req, res, st, to, op == STRATEGY_RT_STOP ? "stopped" : op == STRATEGY_RT_PAUSE ? "paused" : "",
                  action);
    }
    atp_free(st);
}

#define FROM(s) (1u << (s))

void h_strategies_stop(struct api_request *req, struct api_response *res)
{
    transition(req, res, FROM(STORE_STRAT_RUNNING) | FROM(STORE_STRAT_PAUSED), STRATEGY_RT_STOP, STORE_STRAT_STOPPED,
               "it does not run", "strategy.stop");
}

void h_strategies_pause(struct api_request *req, struct api_response *res)
{
    transition(req, res, FROM(STORE_STRAT_RUNNING), STRATEGY_RT_PAUSE, STORE_STRAT_PAUSED, "only a running strategy pauses",
               "strategy.pause");
}

void h_strategies_resume(struct api_request *req, struct api_response *res)
{
    transition(req, res, FROM(STORE_STRAT_PAUSED), STRATEGY_RT_RESUME, STORE_STRAT_RUNNING,
               "only a paused strategy resumes", "strategy.resume");
}

/* ---- risk limits of an account ------------------------------------------------------------- */

/* The account's stored limits, or the gate's defaults when none were set. */
static void effective_limits(struct store *s, int64_t account_id, struct store_risk_limits *out, int *stored)
{
    *stored = store_risk_limits_get(s, account_id, STORE_MODE_PAPER, out, NULL) == ATP_OK;
    if (*stored)
        return;
    struct risk_limits d;
    risk_limits_default(&d);
    memset(out, 0, sizeof *out);
    out->account_id = account_id;
    out->mode = STORE_MODE_PAPER;
    out->max_loss = d.max_loss;
    out->max_position_qty = d.max_position_qty;
    out->max_order_value = d.max_order_value;
    out->max_open_orders = d.max_open_orders;
}

static json_t *limits_json(struct store *s, const struct store_risk_limits *l, int stored)
{
    char b[HUTIL_ISO_MAX], a[HUTIL_ISO_MAX];
    return json_pack("{s:I, s:s, s:o, s:I, s:o, s:i, s:i, s:b, s:b, s:o, s:s, s:s}", "account_id",
                     (json_int_t)l->account_id, "mode", "paper", "max_loss", px_json(l->max_loss), "max_position_qty",
                     (json_int_t)l->max_position_qty, "max_order_value", px_json(l->max_order_value),
                     "max_open_orders", (int)l->max_open_orders, "max_strategies",
                     (int)strategy_rt_max_running(s, STORE_MODE_PAPER), "stored", stored, "breached", l->breached,
                     "breach_pnl", l->breached ? px_json(l->breach_pnl) : json_null(), "breached_at",
                     hutil_iso8601(l->breached_ns, b), "acknowledged_at", hutil_iso8601(l->acknowledged_ns, a));
}

void h_risk_limits_get(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    struct store_risk_limits l;
    int stored;
    effective_limits(req->store, hutil_parse_id(api_param(req, "id")), &l, &stored);
    res->json = limits_json(req->store, &l, stored);
}

const struct api_field h_risk_limits_body[] = {
    {"max_loss", API_FT_INT, 0, 0, "rupees: the account's net P&L at or below -max_loss pauses its strategies "
                                   "and allows exits only until acknowledged (0: off)"},
    {"max_position_qty", API_FT_INT, 0, 0, "units per instrument (0: off)"},
    {"max_order_value", API_FT_INT, 0, 0, "rupees per order (0: off)"},
    {"max_open_orders", API_FT_INT, 0, 0, "working orders at once (0: off)"},
    {NULL, 0, 0, 0, NULL},
};

/* An optional non-negative integer field up to max into *out (unchanged when absent). 0, or -1
 * answered (422 naming it). */
static int limit_field(struct api_request *req, struct api_response *res, const char *name, int64_t max, int64_t scale,
                       int64_t *out)
{
    const json_t *v = json_object_get(req->json, name);
    if (!v)
        return 0;
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > max) {
        api_error(res, 422, "invalid_field", name, "%s must be in 0..%lld (0: off)", name, (long long)max);
        return -1;
    }
    *out = (int64_t)x * scale;
    return 0;
}

void h_risk_limits_put(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    int64_t account_id = hutil_parse_id(api_param(req, "id"));
    struct store_risk_limits l;
    int stored;
    effective_limits(req->store, account_id, &l, &stored);
    int64_t open_orders = l.max_open_orders;
    if (limit_field(req, res, "max_loss", RUPEES_MAX, PX_SCALE, &l.max_loss) != 0 ||
        limit_field(req, res, "max_position_qty", 1000000000LL, 1, &l.max_position_qty) != 0 ||
        limit_field(req, res, "max_order_value", RUPEES_MAX, PX_SCALE, &l.max_order_value) != 0 ||
        limit_field(req, res, "max_open_orders", 100000, 1, &open_orders) != 0)
        return;
    l.max_open_orders = (int32_t)open_orders;
    struct atp_err err;
    atp_err_clear(&err);
    /* The gate first: limits it refuses are never stored. */
    struct strategy_rt_limits lim = {&l, strategy_rt_max_running(req->store, STORE_MODE_PAPER)};
    if (strategy_rt_apply_limits(strategy_rt_current(), account_id, &lim, &err) != ATP_OK) {
        api_error(res, 422, "invalid_field", err.field[0] ? err.field : NULL, "%s", err.msg);
        return;
    }
    if (store_risk_limits_set(req->store, &l, &err) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot store the limits");
        return;
    }
    effective_limits(req->store, account_id, &l, &stored);
    struct hutil_actor who = hutil_actor_of(req);
    char resource[48];
    snprintf(resource, sizeof resource, "account:%lld", (long long)account_id);
    hutil_audit(req->store, &who, account_id, "risk_limits.update", resource, "ok",
                json_pack("{s:I, s:I, s:I, s:i}", "max_loss", (json_int_t)(l.max_loss / PX_SCALE), "max_position_qty",
                          (json_int_t)l.max_position_qty, "max_order_value", (json_int_t)(l.max_order_value / PX_SCALE),
                          "max_open_orders", (int)l.max_open_orders));
    res->json = limits_json(req->store, &l, stored);
}

void h_risk_limits_acknowledge(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    int64_t account_id = hutil_parse_id(api_param(req, "id"));
    struct store_risk_limits l;
    int stored;
    effective_limits(req->store, account_id, &l, &stored);
    if (!l.breached) {
        api_error(res, 409, "invalid_state", "breached", "no breach of the max loss waits for acknowledgement");
        return;
    }
    struct atp_err err;
    atp_err_clear(&err);
    int rc = strategy_rt_acknowledge(strategy_rt_current(), account_id, &err);
    if (rc == ATP_ESTATE) {
        api_error(res, 409, "loss_beyond_limit", "max_loss",
                  "%s: raise max_loss or turn it off (PUT risk-limits) before acknowledging", err.msg);
        return;
    }
    if (rc != ATP_OK) {
        api_error(res, 500, "internal", NULL, "the kernel failed: %s", err.msg);
        return;
    }
    rc = store_risk_breach_ack(req->store, account_id, STORE_MODE_PAPER, now_ns(), &err);
    if (rc != ATP_OK && rc != ATP_ESTATE) {
        api_error(res, 500, "internal", NULL, "cannot record the acknowledgement");
        return;
    }
    struct hutil_actor who = hutil_actor_of(req);
    char resource[48];
    snprintf(resource, sizeof resource, "account:%lld", (long long)account_id);
    hutil_audit(req->store, &who, account_id, "risk_limits.acknowledge", resource, "ok",
                json_pack("{s:f}", "breach_pnl", px_to_double(l.breach_pnl)));
    effective_limits(req->store, account_id, &l, &stored);
    res->json = limits_json(req->store, &l, stored);
}

/* ---- the admin's strategy limits ----------------------------------------------------------- */

static json_t *strategy_limits_json(struct store *s)
{
    return json_pack("{s:i, s:i}", "paper", (int)strategy_rt_max_running(s, STORE_MODE_PAPER), "live",
                     (int)strategy_rt_max_running(s, STORE_MODE_LIVE));
}

void h_strategy_limits_get(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    res->json = strategy_limits_json(req->store);
}

const struct api_field h_strategy_limits_body[] = {
    {"paper", API_FT_INT, 0, 0, "strategies running at once per account in paper mode (1..1000)"},
    {"live", API_FT_INT, 0, 0, "the same in live mode (1..1000)"},
    {NULL, 0, 0, 0, NULL},
};

void h_strategy_limits_put(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    static const char *const modes[] = {"paper", "live"};
    for (int mode = 0; mode < 2; mode++) {
        const json_t *v = json_object_get(req->json, modes[mode]);
        if (v && (json_integer_value(v) < 1 || json_integer_value(v) > 1000)) {
            api_error(res, 422, "invalid_field", modes[mode], "%s must be in 1..1000", modes[mode]);
            return;
        }
    }
    for (int mode = 0; mode < 2; mode++) {
        const json_t *v = json_object_get(req->json, modes[mode]);
        if (v && store_strategy_limit_set(req->store, mode, (int32_t)json_integer_value(v), NULL) != ATP_OK) {
            api_error(res, 500, "internal", NULL, "cannot store the limit");
            return;
        }
    }
    struct hutil_actor who = hutil_actor_of(req);
    json_t *now = strategy_limits_json(req->store);
    hutil_audit(req->store, &who, 0, "strategy_limits.update", "strategy_limits", "ok", json_deep_copy(now));
    res->json = now;
}
