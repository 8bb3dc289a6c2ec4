#include "strategy/host.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "strategy/registry.h"

struct strat_ind {
    uint32_t instrument;
    enum tf tf;
    struct ind *ind;
    double last[ATP_IND_MAX_OUTPUTS]; /* values at the last complete bar */
    int valid;
};

struct atp_ctx {
    struct strat_host *host;
    struct strat *s;
};

struct strat {
    struct strat_info info;
    struct atp_ctx ctx;
    double params[ATP_STRAT_MAX_PARAMS];
    uint32_t instruments[STRAT_MAX_INSTRUMENTS];
    int n_instruments;
    enum tf tfs[STRAT_MAX_TFS];
    int n_tfs;
    struct strat_ind inds[STRAT_MAX_INDICATORS];
    int n_inds;
    ts_ns timer_at;  /* INT64_MAX: none */
    int in_init;
    int init_failed; /* init returned -1: the state was never set up, so it can never run */
    void *state;
};

/* Instances subscribed to one key (an instrument, or an instrument x timeframe). */
struct sublist {
    uint32_t *idx;
    uint32_t n, cap;
};

struct strat_host {
    struct md_engine *eng;
    const struct instreg *reg;
    struct strat_services svc;
    struct strat **all;
    size_t n, cap;
    uint32_t n_instruments;
    struct sublist *bar_subs;  /* [instrument * TF_COUNT + tf] */
    struct sublist *tick_subs; /* [instrument] */
    ts_ns next_timer;
};

int strat_host_new(struct md_engine *eng, const struct instreg *reg, const struct strat_services *svc,
                   struct strat_host **out)
{
    *out = NULL;
    struct strat_host *h = atp_calloc(1, sizeof *h);
    if (!h)
        return ATP_ENOMEM;
    h->eng = eng;
    h->reg = reg;
    h->svc = *svc;
    h->n_instruments = (uint32_t)instreg_count(reg);
    h->bar_subs = atp_calloc((size_t)h->n_instruments * TF_COUNT, sizeof *h->bar_subs);
    h->tick_subs = atp_calloc(h->n_instruments, sizeof *h->tick_subs);
    h->next_timer = INT64_MAX;
    if (!h->bar_subs || !h->tick_subs) {
        strat_host_free(h);
        return ATP_ENOMEM;
    }
    *out = h;
    return ATP_OK;
}

static void strat_free(struct strat *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_inds; i++)
        ind_free(s->inds[i].ind);
    atp_free(s->state);
    atp_free(s);
}

void strat_host_free(struct strat_host *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        strat_free(h->all[i]);
    atp_free(h->all);
    if (h->bar_subs)
        for (size_t i = 0; i < (size_t)h->n_instruments * TF_COUNT; i++)
            atp_free(h->bar_subs[i].idx);
    if (h->tick_subs)
        for (size_t i = 0; i < h->n_instruments; i++)
            atp_free(h->tick_subs[i].idx);
    atp_free(h->bar_subs);
    atp_free(h->tick_subs);
    atp_free(h);
}

static int sub_add(struct sublist *l, uint32_t idx)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        uint32_t *v = atp_reallocarray(l->idx, cap, sizeof *v);
        if (!v)
            return ATP_ENOMEM;
        l->idx = v;
        l->cap = cap;
    }
    l->idx[l->n++] = idx;
    return ATP_OK;
}

static void set_state(struct strat_host *h, struct strat *s, enum strategy_state st, const char *reason)
{
    if (s->info.state == st)
        return;
    s->info.state = st;
    if (reason && reason != s->info.last_error)
        snprintf(s->info.last_error, sizeof s->info.last_error, "%s", reason);
    if (h->svc.state_changed)
        h->svc.state_changed(h->svc.ctx, &s->info, reason ? reason : "");
}

/* A callback's result: -1 pauses the instance, keeping its state. */
static void after_call(struct strat_host *h, struct strat *s, int rc)
{
    if (rc == 0 || s->info.state != STRATEGY_RUNNING)
        return;
    if (!s->info.last_error[0])
        snprintf(s->info.last_error, sizeof s->info.last_error, "%s returned an error",
                 s->info.def->name);
    set_state(h, s, STRATEGY_PAUSED, s->info.last_error);
}

int strat_host_add(struct strat_host *h, const struct strat_config *cfg, uint64_t *id_out,
                   struct atp_err *err)
{
    const struct atp_strategy_def *def = strategy_find(cfg->type ? cfg->type : "");
    if (!def)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "type", "unknown strategy type '%s'",
                           cfg->type ? cfg->type : "");
    if (cfg->n_instruments < 1 || cfg->n_instruments > STRAT_MAX_INSTRUMENTS)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "symbols", "a strategy needs 1..%d symbols",
                           STRAT_MAX_INSTRUMENTS);
    if (cfg->n_tfs < 1 || cfg->n_tfs > STRAT_MAX_TFS)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "timeframes", "a strategy needs 1..%d timeframes",
                           STRAT_MAX_TFS);
    for (int i = 0; i < cfg->n_instruments; i++)
        if (cfg->instruments[i] >= h->n_instruments)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "symbols", "unknown instrument id %u",
                               cfg->instruments[i]);
    for (int i = 0; i < cfg->n_tfs; i++)
        if ((unsigned)cfg->tfs[i] >= TF_COUNT)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "timeframes", "unknown timeframe");
    if (cfg->risk.qty < 0 || !(cfg->risk.sizing_pct >= 0 && cfg->risk.sizing_pct <= 1) ||
        !(cfg->risk.stop_loss_pct >= 0 && cfg->risk.stop_loss_pct < 1) ||
        !(cfg->risk.take_profit_pct >= 0 && cfg->risk.take_profit_pct <= 10) ||
        !(cfg->risk.trailing_stop_pct >= 0 && cfg->risk.trailing_stop_pct < 1))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "risk",
                           "risk: qty >= 0, sizing and stop fractions in [0, 1)");
    struct strat *s = atp_calloc(1, sizeof *s);
    if (!s)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    int rc = strategy_resolve_params(def, cfg->params, cfg->n_params, s->params, err);
    if (rc != ATP_OK) {
        atp_free(s);
        return rc;
    }
    s->state = atp_calloc(1, def->state_size ? def->state_size : 1);
    if (s->state && h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        struct strat **all = atp_reallocarray(h->all, cap, sizeof *all);
        if (all) {
            h->all = all;
            h->cap = cap;
        }
    }
    if (!s->state || h->n == h->cap) {
        strat_free(s);
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    }
    uint32_t idx = (uint32_t)h->n;
    s->info.id = idx + 1;
    s->info.account_id = cfg->account_id;
    s->info.mode = cfg->mode;
    s->info.def = def;
    s->info.risk = cfg->risk;
    s->info.state = STRATEGY_RUNNING;
    snprintf(s->info.name, sizeof s->info.name, "%s", cfg->name ? cfg->name : def->name);
    memcpy(s->instruments, cfg->instruments, (size_t)cfg->n_instruments * sizeof *s->instruments);
    s->n_instruments = cfg->n_instruments;
    memcpy(s->tfs, cfg->tfs, (size_t)cfg->n_tfs * sizeof *s->tfs);
    s->n_tfs = cfg->n_tfs;
    s->timer_at = INT64_MAX;
    s->ctx.host = h;
    s->ctx.s = s;
    for (int i = 0; i < s->n_instruments; i++) {
        uint32_t in = s->instruments[i];
        rc = def->on_tick ? sub_add(&h->tick_subs[in], idx) : ATP_OK;
        for (int t = 0; t < s->n_tfs && rc == ATP_OK; t++)
            rc = sub_add(&h->bar_subs[(size_t)in * TF_COUNT + s->tfs[t]], idx);
        if (rc != ATP_OK) {
            /* Subscriptions already made point at idx; keep the instance, stopped, so they stay valid. */
            s->info.state = STRATEGY_STOPPED;
            h->all[h->n++] = s;
            return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        }
    }
    h->all[h->n++] = s;
    s->in_init = 1;
    rc = def->init ? def->init(s->state, s->params, &s->ctx) : 0;
    s->in_init = 0;
    if (rc != 0) {
        s->init_failed = 1;
        if (!s->info.last_error[0])
            snprintf(s->info.last_error, sizeof s->info.last_error, "init failed");
        set_state(h, s, STRATEGY_PAUSED, s->info.last_error);
    }
    if (id_out)
        *id_out = s->info.id;
    return ATP_OK;
}

static struct strat *get(const struct strat_host *h, uint64_t id)
{
    return id >= 1 && id <= h->n ? h->all[id - 1] : NULL;
}

void strat_host_on_bar(struct strat_host *h, uint32_t instrument, enum tf tf, const struct bar *bar)
{
    if (instrument >= h->n_instruments)
        return;
    struct sublist *l = &h->bar_subs[(size_t)instrument * TF_COUNT + tf];
    if (!l->n)
        return;
    struct atp_bar_in bin;
    md_bar_to_ind(bar, &bin);
    struct atp_bar ab = {bar->start, bar->open, bar->high, bar->low, bar->close, bar->volume};
    for (uint32_t k = 0; k < l->n; k++) {
        struct strat *s = h->all[l->idx[k]];
        /* Indicators follow the data even while paused, so a resumed strategy is warm. */
        for (int i = 0; i < s->n_inds; i++)
            if (s->inds[i].instrument == instrument && s->inds[i].tf == tf)
                s->inds[i].valid = ind_update(s->inds[i].ind, &bin, s->inds[i].last) == 1;
        if (s->info.state == STRATEGY_RUNNING && s->info.def->on_bar)
            after_call(h, s, s->info.def->on_bar(s->state, &s->ctx, instrument, (enum atp_tf)tf, &ab));
    }
}

void strat_host_on_tick(struct strat_host *h, const struct tick *t)
{
    if (t->instrument_id >= h->n_instruments)
        return;
    struct sublist *l = &h->tick_subs[t->instrument_id];
    struct atp_tick at = {t->instrument_id, t->ts, t->ltp};
    for (uint32_t k = 0; k < l->n; k++) {
        struct strat *s = h->all[l->idx[k]];
        if (s->info.state == STRATEGY_RUNNING)
            after_call(h, s, s->info.def->on_tick(s->state, &s->ctx, &at));
    }
}

void strat_host_on_order_update(struct strat_host *h, const struct order *o)
{
    struct strat *s = get(h, o->req.strategy_id);
    if (!s || s->info.state != STRATEGY_RUNNING || !s->info.def->on_order_update)
        return;
    struct atp_order_update u = {o->id,          o->req.instrument_id, (int)o->state,
                                 o->req.side == ORDER_SIDE_BUY, o->req.qty, o->qty_filled,
                                 o->avg_fill_price, o->reason};
    after_call(h, s, s->info.def->on_order_update(s->state, &s->ctx, &u));
}

void strat_host_on_fill(struct strat_host *h, uint64_t strategy_id, const struct fill *f)
{
    struct strat *s = get(h, strategy_id);
    if (!s || s->info.state != STRATEGY_RUNNING || !s->info.def->on_fill)
        return;
    struct atp_fill af = {f->order_id, f->instrument_id, f->side == ORDER_SIDE_BUY, f->qty, f->price,
                          f->ts};
    after_call(h, s, s->info.def->on_fill(s->state, &s->ctx, &af));
}

void strat_host_on_time(struct strat_host *h, ts_ns now)
{
    if (now < h->next_timer)
        return;
    ts_ns next = INT64_MAX;
    for (size_t i = 0; i < h->n; i++) {
        struct strat *s = h->all[i];
        if (s->timer_at <= now) {
            s->timer_at = INT64_MAX;
            if (s->info.state == STRATEGY_RUNNING && s->info.def->on_timer)
                after_call(h, s, s->info.def->on_timer(s->state, &s->ctx, now));
        }
        if (s->timer_at < next) /* the callback may have set a new one */
            next = s->timer_at;
    }
    h->next_timer = next;
}

int strat_host_pause(struct strat_host *h, uint64_t id, const char *reason)
{
    struct strat *s = get(h, id);
    if (!s)
        return ATP_ENOTFOUND;
    if (s->info.state == STRATEGY_STOPPED)
        return ATP_ESTATE;
    set_state(h, s, STRATEGY_PAUSED, reason ? reason : "paused");
    return ATP_OK;
}

int strat_host_resume(struct strat_host *h, uint64_t id)
{
    struct strat *s = get(h, id);
    if (!s)
        return ATP_ENOTFOUND;
    /* Resuming an instance whose init failed would run callbacks on a state init never set up
     * (its parameters cannot change either); it stays paused with its reason. */
    if (s->info.state == STRATEGY_STOPPED || s->init_failed)
        return ATP_ESTATE;
    s->info.last_error[0] = '\0';
    set_state(h, s, STRATEGY_RUNNING, "");
    return ATP_OK;
}

int strat_host_stop(struct strat_host *h, uint64_t id)
{
    struct strat *s = get(h, id);
    if (!s)
        return ATP_ENOTFOUND;
    if (s->info.state == STRATEGY_STOPPED)
        return ATP_ESTATE;
    if (s->info.def->stop)
        s->info.def->stop(s->state, &s->ctx);
    set_state(h, s, STRATEGY_STOPPED, "stopped");
    return ATP_OK;
}

const struct strat_info *strat_host_info(const struct strat_host *h, uint64_t id)
{
    struct strat *s = get(h, id);
    return s ? &s->info : NULL;
}

size_t strat_host_count(const struct strat_host *h)
{
    return h->n;
}

int strat_host_running(const struct strat_host *h, uint64_t account_id, enum trade_mode mode)
{
    int n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += h->all[i]->info.account_id == account_id && h->all[i]->info.mode == mode &&
             h->all[i]->info.state == STRATEGY_RUNNING;
    return n;
}

int strat_host_pause_account(struct strat_host *h, uint64_t account_id, enum trade_mode mode,
                             const char *reason)
{
    int n = 0;
    for (size_t i = 0; i < h->n; i++) {
        struct strat *s = h->all[i];
        if (s->info.account_id == account_id && s->info.mode == mode &&
            s->info.state == STRATEGY_RUNNING) {
            set_state(h, s, STRATEGY_PAUSED, reason);
            n++;
        }
    }
    return n;
}

/* ---- host services: the atp_* functions of include/atp/strategy.h ---------------------------- */

int atp_instrument_count(const struct atp_ctx *ctx)
{
    return ctx->s->n_instruments;
}

uint32_t atp_instrument(const struct atp_ctx *ctx, int i)
{
    return i >= 0 && i < ctx->s->n_instruments ? ctx->s->instruments[i] : UINT32_MAX;
}

const char *atp_symbol(const struct atp_ctx *ctx, uint32_t instrument)
{
    const struct instrument *in = instreg_get(ctx->host->reg, instrument);
    return in ? in->symbol : "";
}

int atp_timeframe_count(const struct atp_ctx *ctx)
{
    return ctx->s->n_tfs;
}

enum atp_tf atp_timeframe(const struct atp_ctx *ctx, int i)
{
    return i >= 0 && i < ctx->s->n_tfs ? (enum atp_tf)ctx->s->tfs[i] : ATP_TF_1M;
}

void atp_fail(struct atp_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->s->info.last_error, sizeof ctx->s->info.last_error, fmt, ap);
    va_end(ap);
}

static int subscribed(const struct strat *s, uint32_t instrument, enum tf tf)
{
    int in = 0, t = 0;
    for (int i = 0; i < s->n_instruments; i++)
        in |= s->instruments[i] == instrument;
    for (int i = 0; i < s->n_tfs; i++)
        t |= s->tfs[i] == tf;
    return in && t;
}

int atp_indicator(struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf, const char *name,
                  const char *const *param_names, const double *param_values, int n_params)
{
    struct strat *s = ctx->s;
    if (!s->in_init) {
        atp_fail(ctx, "indicators can only be requested in init");
        return -1;
    }
    if (!subscribed(s, instrument, (enum tf)tf)) {
        atp_fail(ctx, "indicator %s on %s %s: the strategy does not subscribe to it", name,
                 atp_symbol(ctx, instrument), tf_name((enum tf)tf));
        return -1;
    }
    if (s->n_inds == STRAT_MAX_INDICATORS || n_params > PARAMS_MAX || n_params < 0) {
        atp_fail(ctx, "too many indicators or parameters");
        return -1;
    }
    struct ind_param p[PARAMS_MAX];
    for (int i = 0; i < n_params; i++)
        p[i] = (struct ind_param){param_names[i], param_values[i]};
    struct atp_err err;
    atp_err_clear(&err);
    struct strat_ind *si = &s->inds[s->n_inds];
    if (ind_new(name, p, n_params, &si->ind, &err) != ATP_OK) {
        char buf[300];
        atp_fail(ctx, "indicator %s: %s", name, atp_err_format(&err, buf, sizeof buf));
        return -1;
    }
    si->instrument = instrument;
    si->tf = (enum tf)tf;
    si->valid = 0;
    for (int o = 0; o < ATP_IND_MAX_OUTPUTS; o++)
        si->last[o] = NAN;
    /* Warm-up: a strategy added to a running market (the server's paper kernel, or its restart)
     * starts with the bars the engine already holds, oldest first, so it trades at once as if
     * it had seen them live. In a backtest the engine is empty here and this does nothing. */
    const struct candle_series *hist = md_engine_series(ctx->host->eng, instrument, (enum tf)tf);
    for (uint32_t i = hist ? hist->count : 0; i-- > 0;) {
        struct atp_bar_in bin;
        md_bar_to_ind(candles_get(hist, i), &bin);
        si->valid = ind_update(si->ind, &bin, si->last) == 1;
    }
    return s->n_inds++;
}

int atp_indicator_value(struct atp_ctx *ctx, int handle, int forming, double *out)
{
    struct strat *s = ctx->s;
    if (handle < 0 || handle >= s->n_inds)
        return 0;
    struct strat_ind *si = &s->inds[handle];
    int n = ind_def(si->ind)->n_outputs;
    if (forming) {
        const struct candle_series *c = md_engine_series(ctx->host->eng, si->instrument, si->tf);
        if (c && c->has_forming) {
            struct atp_bar_in bin;
            md_bar_to_ind(&c->forming, &bin);
            return ind_peek(si->ind, &bin, out) == 1;
        }
    }
    memcpy(out, si->last, (size_t)n * sizeof *out);
    return si->valid;
}

static void to_atp_bar(const struct bar *b, struct atp_bar *out)
{
    out->start_ns = b->start;
    out->open = b->open;
    out->high = b->high;
    out->low = b->low;
    out->close = b->close;
    out->volume = b->volume;
}

int atp_bar(struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf, int i, struct atp_bar *out)
{
    const struct candle_series *c = md_engine_series(ctx->host->eng, instrument, (enum tf)tf);
    const struct bar *b = c && i >= 0 ? candles_get(c, (uint32_t)i) : NULL;
    if (!b)
        return 0;
    to_atp_bar(b, out);
    return 1;
}

int atp_forming(struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf, struct atp_bar *out)
{
    const struct candle_series *c = md_engine_series(ctx->host->eng, instrument, (enum tf)tf);
    if (!c || !c->has_forming)
        return 0;
    to_atp_bar(&c->forming, out);
    return 1;
}

void atp_position(struct atp_ctx *ctx, uint32_t instrument, struct atp_position *out)
{
    memset(out, 0, sizeof *out);
    if (ctx->host->svc.position)
        ctx->host->svc.position(ctx->host->svc.ctx, &ctx->s->info, instrument, out);
}

uint64_t atp_order(struct atp_ctx *ctx, const struct atp_order_intent *intent)
{
    struct strat *s = ctx->s;
    if (s->info.state != STRATEGY_RUNNING || !ctx->host->svc.submit)
        return 0;
    uint64_t id = ctx->host->svc.submit(ctx->host->svc.ctx, &s->info, intent);
    if (id)
        s->info.orders_sent++;
    else
        s->info.orders_denied++;
    return id;
}

int atp_cancel(struct atp_ctx *ctx, uint64_t order_id)
{
    if (!ctx->host->svc.cancel)
        return -1;
    return ctx->host->svc.cancel(ctx->host->svc.ctx, &ctx->s->info, order_id);
}

int atp_open_orders(struct atp_ctx *ctx, uint32_t instrument)
{
    if (!ctx->host->svc.open_orders)
        return 0;
    return ctx->host->svc.open_orders(ctx->host->svc.ctx, &ctx->s->info, instrument);
}

int64_t atp_now(const struct atp_ctx *ctx)
{
    return ctx->host->svc.now ? ctx->host->svc.now(ctx->host->svc.ctx) : 0;
}

void atp_set_timer(struct atp_ctx *ctx, int64_t at_ns)
{
    ctx->s->timer_at = at_ns;
    if (at_ns < ctx->host->next_timer)
        ctx->host->next_timer = at_ns;
}

atp_px atp_round_to_tick(const struct atp_ctx *ctx, uint32_t instrument, double price, int direction)
{
    const struct instrument *in = instreg_get(ctx->host->reg, instrument);
    px_t tick = in ? in->tick_size : 1;
    double ticks = price * (double)PX_SCALE / (double)tick;
    double r = direction < 0 ? floor(ticks + 1e-9) : direction > 0 ? ceil(ticks - 1e-9) : nearbyint(ticks);
    return (atp_px)r * tick;
}
