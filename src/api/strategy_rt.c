/* api/strategy_rt: see strategy_rt.h for the contract and the threads. */
#include "api/strategy_rt.h"
#include "api/trading.h"

#include "api/events.h"
#include "api/hutil.h"
#include "api/notify.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/px.h"
#include "kernel/kernel.h"
#include "strategy/registry.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RT_QUEUE_CAP 4096        /* events waiting for the store; more are dropped (counted) */
#define RT_RESTORE_PAGE 100u

/* ---- the spec ------------------------------------------------------------------------------- */

/* Returns the code after filling err: the parse errors below name their field. */
#define fail(err, code, field, ...) atp_err_set(err, code, NULL, 0, field, __VA_ARGS__)

/* A percentage field of risk into *fraction: absent 0; a number in [0, max) (max_inclusive: [0,
 * max]). */
static int risk_pct(const json_t *risk, const char *key, double max, int max_inclusive, double *fraction,
                    struct atp_err *err)
{
    char field[48];
    snprintf(field, sizeof field, "risk.%s", key);
    const json_t *v = json_object_get(risk, key);
    *fraction = 0;
    if (!v)
        return ATP_OK;
    double x = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(x >= 0 && (max_inclusive ? x <= max : x < max)))
        return fail(err, ATP_EINVAL, field, "%s must be a percentage in 0..%g", field, max);
    *fraction = x / 100.0;
    return ATP_OK;
}

static int parse_risk(const json_t *risk, struct strat_risk *out, struct atp_err *err)
{
    memset(out, 0, sizeof *out);
    out->product = ORDER_PRODUCT_MIS;
    if (risk && !json_is_object(risk))
        return fail(err, ATP_EINVAL, "risk", "risk must be an object");
    static const char *const known[] = {"qty", "sizing_pct", "stop_loss_pct", "take_profit_pct",
                                        "trailing_stop_pct", "product"};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)risk, key, v) {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(known[k], key) != 0)
            k++;
        if (k == sizeof known / sizeof known[0]) {
            char field[64];
            snprintf(field, sizeof field, "risk.%.40s", key);
            return fail(err, ATP_EINVAL, field, "unknown risk field '%s' (qty, sizing_pct, stop_loss_pct, "
                        "take_profit_pct, trailing_stop_pct, product)", key);
        }
    }
    const json_t *q = json_object_get(risk, "qty");
    if (q && (!json_is_integer(q) || json_integer_value(q) < 1 || json_integer_value(q) > 10000000))
        return fail(err, ATP_EINVAL, "risk.qty", "risk.qty must be a whole number of units in 1..10000000");
    out->qty = q ? (int64_t)json_integer_value(q) : 0;
    int rc;
    if ((rc = risk_pct(risk, "sizing_pct", 100, 1, &out->sizing_pct, err)) != ATP_OK ||
        (rc = risk_pct(risk, "stop_loss_pct", 100, 0, &out->stop_loss_pct, err)) != ATP_OK ||
        (rc = risk_pct(risk, "take_profit_pct", 1000, 1, &out->take_profit_pct, err)) != ATP_OK ||
        (rc = risk_pct(risk, "trailing_stop_pct", 100, 0, &out->trailing_stop_pct, err)) != ATP_OK)
        return rc;
    if (out->qty == 0 && out->sizing_pct <= 0)
        return fail(err, ATP_EINVAL, "risk.qty",
                    "a sizing rule is required: risk.qty (units per entry) or risk.sizing_pct (%% of equity)");
    const json_t *p = json_object_get(risk, "product");
    if (p) {
        const char *t = json_string_value(p);
        if (t && !strcmp(t, "MIS"))
            out->product = ORDER_PRODUCT_MIS;
        else if (t && !strcmp(t, "CNC"))
            out->product = ORDER_PRODUCT_CNC;
        else
            return fail(err, ATP_EINVAL, "risk.product", "risk.product must be MIS or CNC");
    }
    return ATP_OK;
}

int strategy_spec_parse(const char *type, const json_t *symbols, const json_t *timeframes, const json_t *params,
                        const json_t *risk, const struct instreg *reg, struct strategy_spec *out,
                        struct atp_err *err)
{
    memset(out, 0, sizeof *out);
    out->def = strategy_find(type ? type : "");
    if (!out->def)
        return fail(err, ATP_EINVAL, "type", "unknown strategy type '%.60s' (GET /api/v1/strategy-types lists them)",
                    type ? type : "");
    char field[64];
    size_t n = json_array_size(symbols);
    if (!json_is_array(symbols) || n < 1 || n > STRAT_MAX_INSTRUMENTS)
        return fail(err, ATP_EINVAL, "symbols", "symbols must be an array of 1..%d symbols", STRAT_MAX_INSTRUMENTS);
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(symbols, i));
        snprintf(field, sizeof field, "symbols[%zu]", i);
        char upper[INST_SYMBOL_MAX];
        size_t k = 0;
        for (; text && text[k] && k < sizeof upper - 1; k++)
            upper[k] = (char)toupper((unsigned char)text[k]);
        upper[k] = 0;
        const struct instrument *in = text && !text[k] && k ? instreg_find(reg, upper) : NULL;
        if (!in)
            return fail(err, ATP_EINVAL, field, "%s: unknown symbol (GET /api/v1/instruments?q= searches)", field);
        for (int j = 0; j < out->n_instruments; j++)
            if (out->instruments[j] == in->id)
                return fail(err, ATP_EINVAL, field, "%s repeats a symbol", field);
        out->instruments[out->n_instruments++] = in->id;
    }
    n = json_array_size(timeframes);
    if (!json_is_array(timeframes) || n < 1 || n > STRAT_MAX_TFS)
        return fail(err, ATP_EINVAL, "timeframes", "timeframes must be an array of 1..%d timeframes (1m, 5m, ...)",
                    STRAT_MAX_TFS);
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(timeframes, i));
        snprintf(field, sizeof field, "timeframes[%zu]", i);
        enum tf tf;
        if (!text || tf_parse(text, &tf) != ATP_OK)
            return fail(err, ATP_EINVAL, field, "%s: not a timeframe (1m, 3m, 5m, 15m, 30m, 1h, 1d)", field);
        out->tfs[out->n_tfs++] = tf;
    }
    if (params && !json_is_object(params))
        return fail(err, ATP_EINVAL, "params", "params must be an object of numbers");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v) {
        snprintf(field, sizeof field, "params.%.40s", key);
        if (out->n_params == ATP_STRAT_MAX_PARAMS)
            return fail(err, ATP_EINVAL, "params", "at most %d params", ATP_STRAT_MAX_PARAMS);
        if (!json_is_number(v))
            return fail(err, ATP_EINVAL, field, "%s must be a number", field);
        if (strlen(key) >= STRATEGY_RT_PARAM_NAME_MAX)
            return fail(err, ATP_EINVAL, field, "%s: unknown parameter", field);
        snprintf(out->param_names[out->n_params], STRATEGY_RT_PARAM_NAME_MAX, "%s", key);
        out->params[out->n_params] = (struct ind_param){out->param_names[out->n_params], json_number_value(v)};
        out->n_params++;
    }
    /* The schema: names, integer-ness and bounds, as the kernel will check them at start. */
    double resolved[ATP_STRAT_MAX_PARAMS];
    struct atp_err perr;
    atp_err_clear(&perr);
    if (strategy_resolve_params(out->def, out->params, out->n_params, resolved, &perr) != ATP_OK) {
        snprintf(field, sizeof field, "params%s%.40s", perr.field[0] ? "." : "", perr.field);
        return fail(err, ATP_EINVAL, field, "%s", perr.msg);
    }
    return parse_risk(risk, &out->risk, err);
}

int strategy_spec_from_store(const struct store_strategy *st, const struct instreg *reg, struct strategy_spec *out,
                             struct atp_err *err)
{
    json_t *sym = json_loads(st->symbols, 0, NULL), *tfs = json_loads(st->timeframes, 0, NULL);
    json_t *params = json_loads(st->params, 0, NULL), *risk = json_loads(st->risk, 0, NULL);
    int rc = strategy_spec_parse(st->type, sym, tfs, params, risk, reg, out, err);
    json_decref(sym);
    json_decref(tfs);
    json_decref(params);
    json_decref(risk);
    return rc;
}

/* ---- the runtime ---------------------------------------------------------------------------- */

/* A stored strategy running in the kernel. */
struct rt_entry {
    int64_t id;          /* store id */
    int64_t account_id;
    uint64_t kid;        /* the kernel's instance id */
    uint32_t instruments[STRAT_MAX_INSTRUMENTS];
    int n_instruments;
};

enum rt_kind { RT_EV_STATE, RT_EV_SIGNAL, RT_EV_BREACH };

struct rt_event {
    enum rt_kind kind;
    int64_t id;
    int64_t account_id;
    int state;           /* STATE: enum store_strategy_state */
    int by_api;          /* STATE: caused by a request, which stores it itself */
    char reason[STORE_STRAT_REASON_MAX];
    uint32_t instrument; /* SIGNAL */
    int intent;
    int64_t qty;
    ts_ns ts;
    px_t limit, pnl;     /* BREACH */
};

struct strategy_rt {
    struct api_market *m;
    struct store *store;           /* the thread's own connection */
    pthread_t thread;
    int started;
    pthread_mutex_t qmu;           /* guards the queue and stop */
    pthread_cond_t qcv;
    struct rt_event *q;            /* ring of RT_QUEUE_CAP */
    size_t q_head, q_len;
    uint64_t dropped;
    int stop;
    /* Under the market lock (api_market_exec and the bus callbacks). */
    struct rt_entry *map;
    size_t n_map, cap_map;
    int by_api;                    /* a request's control call is in progress */
    atomic_int restored;
};

static _Atomic(struct strategy_rt *) current_rt;

void strategy_rt_set_current(struct strategy_rt *rt) { atomic_store(&current_rt, rt); }
struct strategy_rt *strategy_rt_current(void) { return atomic_load(&current_rt); }
int strategy_rt_restored(struct strategy_rt *rt) { return rt ? atomic_load(&rt->restored) : 0; }

static struct rt_entry *by_kid(struct strategy_rt *rt, uint64_t kid)
{
    for (size_t i = 0; i < rt->n_map; i++)
        if (rt->map[i].kid == kid)
            return &rt->map[i];
    return NULL;
}

static struct rt_entry *by_id(struct strategy_rt *rt, int64_t id)
{
    for (size_t i = 0; i < rt->n_map; i++)
        if (rt->map[i].id == id)
            return &rt->map[i];
    return NULL;
}

static int store_state_of(enum strategy_state s)
{
    return s == STRATEGY_RUNNING ? STORE_STRAT_RUNNING : s == STRATEGY_PAUSED ? STORE_STRAT_PAUSED : STORE_STRAT_STOPPED;
}

static void push(struct strategy_rt *rt, const struct rt_event *ev)
{
    pthread_mutex_lock(&rt->qmu);
    if (rt->q_len == RT_QUEUE_CAP) {
        rt->dropped++;
    } else {
        rt->q[(rt->q_head + rt->q_len) % RT_QUEUE_CAP] = *ev;
        rt->q_len++;
        pthread_cond_signal(&rt->qcv);
    }
    pthread_mutex_unlock(&rt->qmu);
}

/* Bus callback: feed thread (or a request's api_market_exec), market lock held. Copies only. */
static void on_bus(void *ctx, enum topic topic, const void *payload)
{
    struct strategy_rt *rt = ctx;
    struct rt_event ev;
    memset(&ev, 0, sizeof ev);
    if (topic == TOPIC_STRATEGY_STATE) {
        const struct ev_strategy_state *s = payload;
        const struct rt_entry *e = by_kid(rt, s->strategy_id);
        if (!e)
            return; /* not (yet) one of ours: a start still adding it, or a stopped one */
        ev = (struct rt_event){.kind = RT_EV_STATE, .id = e->id, .account_id = e->account_id,
                               .state = store_state_of(s->state), .by_api = rt->by_api, .ts = s->ts};
        snprintf(ev.reason, sizeof ev.reason, "%s", s->reason ? s->reason : "");
    } else if (topic == TOPIC_SIGNAL) {
        const struct ev_signal *s = payload;
        const struct rt_entry *e = by_kid(rt, s->strategy_id);
        if (!e)
            return;
        ev = (struct rt_event){.kind = RT_EV_SIGNAL, .id = e->id, .account_id = e->account_id,
                               .instrument = s->instrument_id, .intent = s->intent, .qty = s->qty, .ts = s->ts};
        snprintf(ev.reason, sizeof ev.reason, "%s", s->reason ? s->reason : "");
    } else if (topic == TOPIC_RISK_BREACH) {
        const struct ev_risk_breach *b = payload;
        if (b->mode != TRADE_MODE_PAPER)
            return;
        ev = (struct rt_event){.kind = RT_EV_BREACH, .account_id = (int64_t)b->account_id, .limit = b->limit,
                               .pnl = b->pnl, .ts = b->ts};
    } else {
        return;
    }
    push(rt, &ev);
}

static const char *intent_name(int intent)
{
    static const char *const names[] = {"ENTRY_LONG", "EXIT_LONG", "ENTRY_SHORT", "EXIT_SHORT"};
    return intent >= 0 && intent < 4 ? names[intent] : "?";
}

static void publish(const char *event, int64_t account_id, json_t *data /* stolen */)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    if (text) {
        struct api_event ev = {"strategies", event, account_id, 0, text};
        api_events_publish(&ev);
    }
    free(text);
    json_decref(data);
}

static double px_num(px_t v) { return px_to_double(v); }

/* The kernel's current state of stored strategy id (for an event the kernel caused). */
struct state_query {
    struct strategy_rt *rt;
    int64_t id;
    int state;           /* -1: not in the kernel */
};

static int query_state(struct kernel *k, void *arg)
{
    struct state_query *q = arg;
    const struct rt_entry *e = by_id(q->rt, q->id);
    const struct strat_info *info = e ? strat_host_info(kernel_strategies(k), e->kid) : NULL;
    q->state = info ? store_state_of(info->state) : -1;
    return 0;
}

static void log_store(const char *what, int64_t id, const struct atp_err *err)
{
    atp_log(LOG_ERROR, "strategies", "%s of strategy %lld not stored: %s", what, (long long)id, err->msg);
}

static void handle(struct strategy_rt *rt, const struct rt_event *ev)
{
    struct atp_err err;
    atp_err_clear(&err);
    char iso[HUTIL_ISO_MAX];
    if (ev->kind == RT_EV_STATE) {
        int state = ev->state;
        if (!ev->by_api) {
            /* The kernel changed it (a failure, a breach): store what holds now, so an event that
             * waited in the queue cannot undo a later change a request made. */
            struct state_query q = {rt, ev->id, -1};
            api_market_exec(rt->m, query_state, &q);
            if (q.state >= 0)
                state = q.state;
            if (store_strategy_set_state(rt->store, ev->account_id, ev->id, state, ev->reason, &err) != ATP_OK &&
                err.code != ATP_ENOTFOUND)
                log_store("state", ev->id, &err);
        }
        publish("strategy_state", ev->account_id,
                json_pack("{s:I, s:I, s:s, s:s, s:s, s:I}", "strategy_id", (json_int_t)ev->id, "account_id",
                          (json_int_t)ev->account_id, "state", store_strategy_state_name(state), "reason", ev->reason,
                          "time", hutil_iso8601(ev->ts > 0 ? ev->ts : 0, iso), "ts_ns", (json_int_t)ev->ts));
        return;
    }
    if (ev->kind == RT_EV_SIGNAL) {
        const struct instrument *in = instreg_get(api_market_registry(rt->m), ev->instrument);
        json_t *sig = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I}", "symbol", in ? in->symbol : "?", "intent",
                                intent_name(ev->intent), "qty", (json_int_t)ev->qty, "reason", ev->reason, "time",
                                hutil_iso8601(ev->ts > 0 ? ev->ts : 0, iso), "ts_ns", (json_int_t)ev->ts);
        char *text = sig ? json_dumps(sig, JSON_COMPACT) : NULL;
        if (text && store_strategy_set_signal(rt->store, ev->account_id, ev->id, text, ev->ts, &err) != ATP_OK &&
            err.code != ATP_ENOTFOUND)
            log_store("signal", ev->id, &err);
        free(text);
        if (sig)
            json_object_set_new(sig, "strategy_id", json_integer(ev->id));
        publish("signal", ev->account_id, sig);
        return;
    }
    /* A loss breach: remembered until the owner acknowledges it (a restart included). */
    if (store_risk_breach_record(rt->store, ev->account_id, STORE_MODE_PAPER, ev->pnl, ev->ts, &err) != ATP_OK)
        atp_log(LOG_ERROR, "strategies", "breach of account %lld not stored: %s", (long long)ev->account_id,
                err.msg);
    char lim[PX_STR_MAX], pnl[PX_STR_MAX], body[STORE_BODY_MAX];
    px_format_fixed(ev->limit, 2, lim, sizeof lim);
    px_format_fixed(ev->pnl, 2, pnl, sizeof pnl);
    struct store_account acct;
    if (store_account_get(rt->store, ev->account_id, &acct, &err) == ATP_OK) {
        snprintf(body, sizeof body,
                 "Account %s (paper): net P&L %s is beyond the max loss of %s. Its strategies are paused and only "
                 "exits are allowed until you acknowledge the breach (POST /api/v1/accounts/%lld/risk-limits/"
                 "acknowledge, after raising or turning off max_loss).",
                 acct.name, pnl, lim, (long long)ev->account_id);
        notify_user(rt->store, acct.owner_id, NOTIFY_RISK, "Max loss breached: strategies paused", body);
    }
    publish("risk_breach", ev->account_id,
            json_pack("{s:I, s:s, s:f, s:f, s:s, s:I}", "account_id", (json_int_t)ev->account_id, "mode", "paper",
                      "max_loss", px_num(ev->limit), "pnl", px_num(ev->pnl), "time",
                      hutil_iso8601(ev->ts > 0 ? ev->ts : 0, iso), "ts_ns", (json_int_t)ev->ts));
}

/* ---- kernel side ---------------------------------------------------------------------------- */

int strategy_rt_account_open(struct kernel *k, uint64_t account_id, struct atp_err *err)
{
    struct api_trading *t = api_trading_current();
    if (t)
        return api_trading_account_ensure(t, k, (int64_t)account_id, err);
    int rc = kernel_account_open(k, account_id, TRADING_DEFAULT_CAPITAL, err);
    if (rc == ATP_EEXIST) {
        atp_err_clear(err);
        return ATP_OK;
    }
    return rc;
}

/* The gate's limits of an account: its current ones (the defaults at first) overlaid with the
 * stored ones and the admin's running limit. */
static int apply_limits(struct kernel *k, int64_t account_id, const struct strategy_rt_limits *lim,
                        struct atp_err *err)
{
    int rc = strategy_rt_account_open(k, (uint64_t)account_id, err);
    if (rc != ATP_OK)
        return rc;
    struct risk_gate *gate = kernel_risk(k);
    struct risk_limits l;
    if (risk_get_limits(gate, (uint64_t)account_id, TRADE_MODE_PAPER, &l) != ATP_OK)
        risk_limits_default(&l);
    if (lim->account) {
        l.max_loss = lim->account->max_loss;
        l.max_position_qty = lim->account->max_position_qty;
        l.max_order_value = lim->account->max_order_value;
        l.max_open_orders = lim->account->max_open_orders;
    }
    l.max_strategies = lim->max_running;
    return risk_set_limits(gate, (uint64_t)account_id, TRADE_MODE_PAPER, &l, err);
}

struct start_call {
    struct strategy_rt *rt;
    int64_t id, account_id;
    const struct strategy_spec *spec;
    const char *name;
    const struct strategy_rt_limits *lim;
    int paused;
    struct atp_err *err;
};

static int start_in_kernel(struct kernel *k, void *arg)
{
    struct start_call *c = arg;
    struct strategy_rt *rt = c->rt;
    if (by_id(rt, c->id))
        return atp_err_set(c->err, ATP_EEXIST, NULL, 0, "state", "strategy %lld already runs", (long long)c->id);
    if (rt->n_map == rt->cap_map) {
        size_t cap = rt->cap_map ? rt->cap_map * 2 : 16;
        struct rt_entry *v = atp_reallocarray(rt->map, cap, sizeof *v);
        if (!v)
            return atp_err_set(c->err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        rt->map = v;
        rt->cap_map = cap;
    }
    int rc = apply_limits(k, c->account_id, c->lim, c->err);
    if (rc != ATP_OK)
        return rc;
    const struct strategy_spec *sp = c->spec;
    struct strat_config cfg = {.account_id = (uint64_t)c->account_id, .mode = TRADE_MODE_PAPER,
                               .type = sp->def->name, .name = c->name, .params = sp->params,
                               .n_params = sp->n_params, .instruments = sp->instruments,
                               .n_instruments = sp->n_instruments, .tfs = sp->tfs, .n_tfs = sp->n_tfs,
                               .risk = sp->risk};
    uint64_t kid = 0;
    rc = kernel_strategy_add(k, &cfg, &kid, c->err);
    if (rc != ATP_OK)
        return rc;
    struct strat_host *h = kernel_strategies(k);
    const struct strat_info *info = strat_host_info(h, kid);
    if (info && info->state == STRATEGY_PAUSED) {
        /* Its init refused the parameters (fast >= slow, ...): it can never run. */
        char why[sizeof info->last_error];
        snprintf(why, sizeof why, "%s", info->last_error);
        strat_host_stop(h, kid);
        return atp_err_set(c->err, ATP_EINVAL, NULL, 0, "params", "%s", why);
    }
    struct rt_entry *e = &rt->map[rt->n_map++];
    memset(e, 0, sizeof *e);
    e->id = c->id;
    e->account_id = c->account_id;
    e->kid = kid;
    memcpy(e->instruments, sp->instruments, (size_t)sp->n_instruments * sizeof sp->instruments[0]);
    e->n_instruments = sp->n_instruments;
    if (c->paused) {
        rt->by_api = 1;
        strat_host_pause(h, kid, "paused");
        rt->by_api = 0;
    }
    return ATP_OK;
}

int strategy_rt_start(struct strategy_rt *rt, int64_t id, int64_t account_id, const struct strategy_spec *spec,
                      const char *name, const struct strategy_rt_limits *lim, int paused, struct atp_err *err)
{
    if (!rt)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, NULL, "this server runs without market data");
    struct start_call c = {rt, id, account_id, spec, name, lim, paused, err};
    return api_market_exec(rt->m, start_in_kernel, &c);
}

struct control_call {
    struct strategy_rt *rt;
    int64_t id;
    enum strategy_rt_op op;
    struct atp_err *err;
};

static int control_in_kernel(struct kernel *k, void *arg)
{
    struct control_call *c = arg;
    struct strategy_rt *rt = c->rt;
    struct rt_entry *e = by_id(rt, c->id);
    if (!e)
        return c->op == STRATEGY_RT_STOP ? ATP_OK
                                         : atp_err_set(c->err, ATP_ENOTFOUND, NULL, 0, "state", "not running in this server");
    struct strat_host *h = kernel_strategies(k);
    if (c->op == STRATEGY_RT_RESUME) {
        struct risk_loss_status ls;
        if (risk_loss_status(kernel_risk(k), (uint64_t)e->account_id, TRADE_MODE_PAPER, &ls) == ATP_OK && ls.breached)
            return atp_err_set(c->err, ATP_ERANGE, NULL, 0, "state",
                               "the account's max loss is breached: acknowledge it first");
    }
    rt->by_api = 1;
    int rc = c->op == STRATEGY_RT_PAUSE    ? strat_host_pause(h, e->kid, "paused")
             : c->op == STRATEGY_RT_RESUME ? strat_host_resume(h, e->kid)
                                           : strat_host_stop(h, e->kid);
    rt->by_api = 0;
    if (rc == ATP_ESTATE) {
        const struct strat_info *info = strat_host_info(h, e->kid);
        return atp_err_set(c->err, ATP_ESTATE, NULL, 0, "state", "the kernel refused: %s",
                           info && info->last_error[0] ? info->last_error : "the strategy is stopped");
    }
    if (rc == ATP_OK && c->op == STRATEGY_RT_STOP)
        *e = rt->map[--rt->n_map]; /* stopped is final in the kernel: a start adds a new instance */
    return rc;
}

int strategy_rt_control(struct strategy_rt *rt, int64_t id, enum strategy_rt_op op, struct atp_err *err)
{
    if (!rt)
        return op == STRATEGY_RT_STOP ? ATP_OK
                                      : atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "state", "this server runs without market data");
    struct control_call c = {rt, id, op, err};
    return api_market_exec(rt->m, control_in_kernel, &c);
}

struct status_call {
    struct strategy_rt *rt;
    int64_t id;
    struct strategy_rt_status *out;
};

static int status_in_kernel(struct kernel *k, void *arg)
{
    struct status_call *c = arg;
    const struct rt_entry *e = by_id(c->rt, c->id);
    const struct strat_info *info = e ? strat_host_info(kernel_strategies(k), e->kid) : NULL;
    if (!info)
        return 0;
    struct strategy_rt_status *o = c->out;
    o->in_kernel = 1;
    o->state = store_state_of(info->state);
    o->orders_sent = info->orders_sent;
    o->orders_denied = info->orders_denied;
    snprintf(o->last_error, sizeof o->last_error, "%s", info->last_error);
    for (int i = 0; i < e->n_instruments; i++) {
        struct portfolio_key key = {(uint64_t)e->account_id, TRADE_MODE_PAPER, e->kid, e->instruments[i]};
        struct portfolio_position p;
        if (portfolio_position_get(kernel_portfolio(k), &key, &p) != ATP_OK)
            continue;
        o->realized_pnl += p.realized;
        o->unrealized_pnl += p.unrealized;
        if (p.qty != 0)
            o->positions[o->n_positions++] = (struct strategy_rt_position){e->instruments[i], p.qty, p.avg_price};
    }
    return 0;
}

void strategy_rt_status(struct strategy_rt *rt, int64_t id, struct strategy_rt_status *out)
{
    memset(out, 0, sizeof *out);
    if (!rt)
        return;
    struct status_call c = {rt, id, out};
    api_market_exec(rt->m, status_in_kernel, &c);
}

struct limits_call {
    int64_t account_id;
    const struct strategy_rt_limits *lim;
    struct atp_err *err;
};

static int limits_in_kernel(struct kernel *k, void *arg)
{
    struct limits_call *c = arg;
    return apply_limits(k, c->account_id, c->lim, c->err);
}

int strategy_rt_apply_limits(struct strategy_rt *rt, int64_t account_id, const struct strategy_rt_limits *lim,
                             struct atp_err *err)
{
    if (!rt)
        return ATP_OK; /* no kernel: the stored limits apply when one runs */
    struct limits_call c = {account_id, lim, err};
    return api_market_exec(rt->m, limits_in_kernel, &c);
}

struct ack_call {
    int64_t account_id;
    struct atp_err *err;
};

static int ack_in_kernel(struct kernel *k, void *arg)
{
    struct ack_call *c = arg;
    struct risk_gate *gate = kernel_risk(k);
    struct risk_loss_status ls;
    if (risk_loss_status(gate, (uint64_t)c->account_id, TRADE_MODE_PAPER, &ls) != ATP_OK || !ls.breached)
        return ATP_OK;
    return risk_acknowledge_breach(gate, (uint64_t)c->account_id, TRADE_MODE_PAPER, kernel_now(k), c->err);
}

int strategy_rt_acknowledge(struct strategy_rt *rt, int64_t account_id, struct atp_err *err)
{
    if (!rt)
        return ATP_OK;
    struct ack_call c = {account_id, err};
    return api_market_exec(rt->m, ack_in_kernel, &c);
}

/* ---- limits --------------------------------------------------------------------------------- */

int32_t strategy_rt_max_running(struct store *s, int mode)
{
    int32_t v = 0;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = store_strategy_limit_get(s, mode, &v, &err);
    if (rc == ATP_OK)
        return v;
    if (rc != ATP_ENOTFOUND)
        atp_log(LOG_ERROR, "strategies", "strategy limit not read, using the default: %s", err.msg);
    const char *env = getenv(mode == STORE_MODE_LIVE ? "ATP_MAX_STRATEGIES_LIVE" : "ATP_MAX_STRATEGIES_PAPER");
    char *end;
    long n = env ? strtol(env, &end, 10) : 0;
    if (env && *env && !*end && n >= 1 && n <= 1000)
        return (int32_t)n;
    return STRATEGY_RT_DEFAULT_MAX_RUNNING;
}

/* ---- the thread: restore, then events ------------------------------------------------------- */

static int stopping(struct strategy_rt *rt)
{
    pthread_mutex_lock(&rt->qmu);
    int s = rt->stop;
    pthread_mutex_unlock(&rt->qmu);
    return s;
}

/* Adds one stored running or paused strategy back; one that cannot come back is stored stopped
 * with the reason (a symbol gone from the registry, the limit lowered, ...). */
static void restore_one(struct strategy_rt *rt, const struct store_strategy *st)
{
    struct atp_err err;
    atp_err_clear(&err);
    struct strategy_spec spec;
    int rc = strategy_spec_from_store(st, api_market_registry(rt->m), &spec, &err);
    if (rc == ATP_OK) {
        struct store_risk_limits stored;
        struct atp_err lerr;
        int have = store_risk_limits_get(rt->store, st->account_id, STORE_MODE_PAPER, &stored, &lerr) == ATP_OK;
        struct strategy_rt_limits lim = {have ? &stored : NULL, strategy_rt_max_running(rt->store, STORE_MODE_PAPER)};
        rc = strategy_rt_start(rt, st->id, st->account_id, &spec, st->name, &lim, st->state == STORE_STRAT_PAUSED,
                               &err);
    }
    if (rc == ATP_OK || rc == ATP_EEXIST) {
        atp_log(LOG_INFO, "strategies", "strategy %lld (%s) restored %s", (long long)st->id, st->type,
                store_strategy_state_name(st->state));
        return;
    }
    char why[STORE_STRAT_REASON_MAX];
    snprintf(why, sizeof why, "not restored after a restart: %.200s", err.msg);
    atp_log(LOG_WARN, "strategies", "strategy %lld: %s", (long long)st->id, why);
    struct atp_err serr;
    store_strategy_set_state(rt->store, st->account_id, st->id, STORE_STRAT_STOPPED, why, &serr);
    push(rt, &(struct rt_event){.kind = RT_EV_STATE, .id = st->id, .account_id = st->account_id,
                                .state = STORE_STRAT_STOPPED, .by_api = 1});
}

static void restore(struct strategy_rt *rt)
{
    /* After the warm-up: strategies must not trade the simulator's yesterday at full speed. */
    for (;;) {
        if (stopping(rt))
            return;
        struct api_market_status ms;
        api_market_status(rt->m, &ms);
        if (ms.live || ms.ended)
            break;
        struct timespec nap = {0, 50 * 1000000L};
        nanosleep(&nap, NULL);
    }
    struct store_strategy *page = atp_calloc(RT_RESTORE_PAGE, sizeof *page);
    struct store_page p = {0, RT_RESTORE_PAGE};
    struct store_page_out po = {0};
    struct store_strategy_filter f = {.active_only = 1};
    struct atp_err err;
    atp_err_clear(&err);
    while (page && !stopping(rt)) {
        if (store_strategy_list(rt->store, &f, &p, page, &po, &err) != ATP_OK) {
            atp_log(LOG_ERROR, "strategies", "cannot list the strategies to restore: %s", err.msg);
            break;
        }
        for (uint32_t i = 0; i < po.count; i++)
            restore_one(rt, &page[i]);
        if (!po.next_cursor)
            break;
        p.cursor = po.next_cursor;
    }
    atp_free(page);
}

static void *rt_thread(void *arg)
{
    struct strategy_rt *rt = arg;
    restore(rt);
    atomic_store(&rt->restored, 1);
    for (;;) {
        pthread_mutex_lock(&rt->qmu);
        while (!rt->q_len && !rt->stop)
            pthread_cond_wait(&rt->qcv, &rt->qmu);
        if (!rt->q_len) {
            pthread_mutex_unlock(&rt->qmu);
            break;
        }
        struct rt_event ev = rt->q[rt->q_head];
        rt->q_head = (rt->q_head + 1) % RT_QUEUE_CAP;
        rt->q_len--;
        pthread_mutex_unlock(&rt->qmu);
        handle(rt, &ev);
    }
    if (rt->dropped)
        atp_log(LOG_WARN, "strategies", "%llu strategy events dropped (queue full)", (unsigned long long)rt->dropped);
    return NULL;
}

static int subscribe(struct kernel *k, void *arg)
{
    struct bus *bus = kernel_bus(k);
    int rc = bus_subscribe(bus, TOPIC_STRATEGY_STATE, on_bus, arg);
    if (rc == ATP_OK)
        rc = bus_subscribe(bus, TOPIC_SIGNAL, on_bus, arg);
    if (rc == ATP_OK)
        rc = bus_subscribe(bus, TOPIC_RISK_BREACH, on_bus, arg);
    return rc;
}

int strategy_rt_new(const char *store_url, struct api_market *m, struct strategy_rt **out, struct atp_err *err)
{
    *out = NULL;
    struct strategy_rt *rt = atp_calloc(1, sizeof *rt);
    if (!rt || !(rt->q = atp_calloc(RT_QUEUE_CAP, sizeof *rt->q))) {
        atp_free(rt);
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    }
    rt->m = m;
    pthread_mutex_init(&rt->qmu, NULL);
    pthread_cond_init(&rt->qcv, NULL);
    int rc = store_open(store_url, &rt->store, err);
    if (rc == ATP_OK) {
        int prc = pthread_create(&rt->thread, NULL, rt_thread, rt);
        if (prc != 0)
            rc = atp_err_set(err, ATP_EIO, NULL, 0, NULL, "cannot start the strategies thread: %s", strerror(prc));
        else
            rt->started = 1;
    }
    /* Subscribed last: until then nothing on the feed thread points at rt. */
    if (rc == ATP_OK && api_market_exec(m, subscribe, rt) != ATP_OK) {
        /* Only a bus with every subscriber slot taken refuses. A topic may already point at rt,
         * so rt is kept (stopped) rather than freed under the feed thread. */
        strategy_rt_stop(rt);
        return atp_err_set(err, ATP_ERANGE, NULL, 0, NULL, "the kernel's bus has no room for the strategies");
    }
    if (rc != ATP_OK) {
        strategy_rt_free(rt);
        return rc;
    }
    *out = rt;
    return ATP_OK;
}

void strategy_rt_stop(struct strategy_rt *rt)
{
    if (!rt || !rt->started)
        return;
    pthread_mutex_lock(&rt->qmu);
    rt->stop = 1;
    pthread_cond_signal(&rt->qcv);
    pthread_mutex_unlock(&rt->qmu);
    pthread_join(rt->thread, NULL);
    rt->started = 0;
}

void strategy_rt_free(struct strategy_rt *rt)
{
    if (!rt)
        return;
    strategy_rt_stop(rt);
    store_close(rt->store);
    pthread_cond_destroy(&rt->qcv);
    pthread_mutex_destroy(&rt->qmu);
    atp_free(rt->map);
    atp_free(rt->q);
    atp_free(rt);
}
