#include "md/engine.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

#define IND_NAME_MAX 32
#define PARAM_NAME_MAX 32

/* An indicator configured for one timeframe of every instrument. */
struct ind_slot {
    char name[IND_NAME_MAX];
    int n_params;
    char param_names[ATP_IND_MAX_PARAMS][PARAM_NAME_MAX];
    struct ind_param params[ATP_IND_MAX_PARAMS]; /* names point into param_names */
    const struct atp_indicator_def *def;
};

struct md_series {
    struct candle_series candles;
    struct ind *ind[MD_MAX_INDICATORS];
    double last[MD_MAX_INDICATORS][ATP_IND_MAX_OUTPUTS]; /* values at the last complete bar */
    uint8_t valid[MD_MAX_INDICATORS];
};

struct md_inst {
    uint32_t id;
    struct md_series series[TF_COUNT];
    struct tick last_tick;
    int has_tick;
    int has_cum;          /* a cumulative volume was seen on vol_day */
    int64_t vol_day;      /* IST day of last_cum */
    int64_t last_cum;     /* last cumulative day volume */
};

struct md_engine {
    struct md_config cfg;
    struct md_handlers h;
    struct md_inst **inst;   /* n_instruments slots, NULL until first data */
    uint32_t *active;        /* ids with state, in order of first data */
    uint32_t n_active;
    struct ind_slot slots[TF_COUNT][MD_MAX_INDICATORS];
    int n_slots[TF_COUNT];
    ts_ns next_deadline;     /* earliest forming_end of any series */
    ts_ns now;
    struct md_stats stats;
    int started;             /* data has arrived: no more indicator changes */
};

int md_engine_new(const struct md_config *cfg, struct md_engine **out)
{
    *out = NULL;
    if (!cfg || !cfg->cal || cfg->n_instruments == 0)
        return ATP_EINVAL;
    struct md_engine *e = atp_calloc(1, sizeof *e);
    if (!e)
        return ATP_ENOMEM;
    e->cfg = *cfg;
    if (e->cfg.tf_mask == 0)
        e->cfg.tf_mask = (1u << TF_COUNT) - 1;
    e->inst = atp_calloc(cfg->n_instruments, sizeof *e->inst);
    e->active = atp_calloc(cfg->n_instruments, sizeof *e->active);
    if (!e->inst || !e->active) {
        md_engine_free(e);
        return ATP_ENOMEM;
    }
    e->next_deadline = INT64_MAX;
    e->now = INT64_MIN;
    *out = e;
    return ATP_OK;
}

static void inst_free(struct md_inst *in)
{
    if (!in)
        return;
    for (int tf = 0; tf < TF_COUNT; tf++) {
        candles_cleanup(&in->series[tf].candles);
        for (int s = 0; s < MD_MAX_INDICATORS; s++)
            ind_free(in->series[tf].ind[s]);
    }
    atp_free(in);
}

void md_engine_free(struct md_engine *e)
{
    if (!e)
        return;
    for (uint32_t i = 0; i < e->n_active; i++)
        inst_free(e->inst[e->active[i]]);
    atp_free(e->inst);
    atp_free(e->active);
    atp_free(e);
}

void md_engine_set_handlers(struct md_engine *e, const struct md_handlers *h)
{
    if (h)
        e->h = *h;
    else
        memset(&e->h, 0, sizeof e->h);
}

static int tf_built(const struct md_engine *e, int tf)
{
    return (e->cfg.tf_mask >> tf) & 1u;
}

int md_engine_add_indicator(struct md_engine *e, enum tf tf, const char *name,
                            const struct ind_param *params, int n_params, int *slot_out,
                            struct atp_err *err)
{
    if ((unsigned)tf >= TF_COUNT || !tf_built(e, tf))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "tf", "timeframe is not built by this engine");
    if (e->started)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL,
                           "indicators must be added before market data arrives");
    if (e->n_slots[tf] == MD_MAX_INDICATORS)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "name", "at most %d indicators per timeframe",
                           MD_MAX_INDICATORS);
    if (n_params > ATP_IND_MAX_PARAMS)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "params", "too many parameters");
    /* Validate now, by building (and dropping) one instance, so errors surface at configuration. */
    struct ind *probe = NULL;
    int rc = ind_new(name, params, n_params, &probe, err);
    if (rc != ATP_OK)
        return rc;
    struct ind_slot *slot = &e->slots[tf][e->n_slots[tf]];
    memset(slot, 0, sizeof *slot);
    slot->def = ind_def(probe);
    ind_free(probe);
    snprintf(slot->name, sizeof slot->name, "%s", slot->def->name);
    slot->n_params = n_params;
    for (int i = 0; i < n_params; i++) {
        snprintf(slot->param_names[i], PARAM_NAME_MAX, "%s", params[i].name);
        slot->params[i].name = slot->param_names[i];
        slot->params[i].value = params[i].value;
    }
    if (slot_out)
        *slot_out = e->n_slots[tf];
    e->n_slots[tf]++;
    return ATP_OK;
}

/* Creates the state of an instrument on its first data. */
static struct md_inst *inst_get(struct md_engine *e, uint32_t id)
{
    if (e->inst[id])
        return e->inst[id];
    struct md_inst *in = atp_calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->id = id;
    for (int tf = 0; tf < TF_COUNT; tf++) {
        if (!tf_built(e, tf))
            continue;
        if (candles_init(&in->series[tf].candles, (enum tf)tf) != ATP_OK)
            goto fail;
        for (int s = 0; s < e->n_slots[tf]; s++) {
            struct ind_slot *slot = &e->slots[tf][s];
            if (ind_new(slot->name, slot->params, slot->n_params, &in->series[tf].ind[s], NULL) !=
                ATP_OK)
                goto fail;
            for (int o = 0; o < ATP_IND_MAX_OUTPUTS; o++)
                in->series[tf].last[s][o] = NAN;
        }
    }
    e->inst[id] = in;
    e->active[e->n_active++] = id;
    e->started = 1;
    return in;
fail:
    inst_free(in);
    return NULL;
}

void md_bar_to_ind(const struct bar *b, struct atp_bar_in *out)
{
    out->ts_ns = b->start;
    out->session = ts_ist_day(b->start);
    out->open = px_to_double(b->open);
    out->high = px_to_double(b->high);
    out->low = px_to_double(b->low);
    out->close = px_to_double(b->close);
    out->volume = (double)b->volume;
}

/* A bar of (in, tf) completed: update its indicators, then tell the handler. */
static void on_complete(struct md_engine *e, struct md_inst *in, int tf, const struct bar *bar)
{
    struct md_series *s = &in->series[tf];
    if (e->n_slots[tf] > 0) {
        struct atp_bar_in bin;
        md_bar_to_ind(bar, &bin);
        for (int i = 0; i < e->n_slots[tf]; i++)
            s->valid[i] = ind_update(s->ind[i], &bin, s->last[i]) == 1;
    }
    e->stats.bars_completed++;
    if (e->h.on_bar)
        e->h.on_bar(e->h.ctx, in->id, (enum tf)tf, bar, 1);
}

static void note_deadline(struct md_engine *e, ts_ns end)
{
    if (end < e->next_deadline)
        e->next_deadline = end;
}

/* Completes, in time order, every forming bar of any instrument whose period ended by now. */
void md_engine_advance(struct md_engine *e, ts_ns now)
{
    if (now > e->now)
        e->now = now;
    while (e->next_deadline <= now) {
        ts_ns due = e->next_deadline, next = INT64_MAX;
        for (uint32_t i = 0; i < e->n_active; i++) {
            struct md_inst *in = e->inst[e->active[i]];
            for (int tf = 0; tf < TF_COUNT; tf++) {
                struct candle_series *c = &in->series[tf].candles;
                if (!c->has_forming)
                    continue;
                struct bar done;
                if (c->forming_end <= due && candles_complete_due(c, due, &done))
                    on_complete(e, in, tf, &done);
                else if (c->forming_end < next)
                    next = c->forming_end;
            }
        }
        e->next_deadline = next;
    }
}

void md_engine_flush(struct md_engine *e)
{
    /* Complete in time order too: advance to the latest deadline there is. */
    ts_ns last = INT64_MIN;
    for (uint32_t i = 0; i < e->n_active; i++) {
        struct md_inst *in = e->inst[e->active[i]];
        for (int tf = 0; tf < TF_COUNT; tf++) {
            const struct candle_series *c = &in->series[tf].candles;
            if (c->has_forming && c->forming_end > last)
                last = c->forming_end;
        }
    }
    if (last != INT64_MIN)
        md_engine_advance(e, last);
}

/* Volume a tick adds: the delta of cumulative day volume when the tick carries it (robust to
 * sampled feeds that skip trades), else its own traded quantity, else 0. The first cumulative
 * figure of a day counts whole (it includes the pre-open); a cumulative figure that goes back
 * adds nothing and becomes the new base. */
static int64_t tick_volume(struct md_inst *in, const struct tick *t)
{
    if (t->flags & TICK_HAS_VOLUME) {
        int64_t day = ts_ist_day(t->ts), v;
        if (!in->has_cum || day != in->vol_day)
            v = t->cum_volume;
        else
            v = t->cum_volume >= in->last_cum ? t->cum_volume - in->last_cum : 0;
        in->has_cum = 1;
        in->vol_day = day;
        in->last_cum = t->cum_volume;
        return v < 0 ? 0 : v;
    }
    if (t->flags & TICK_HAS_QTY)
        return t->qty > 0 ? t->qty : 0;
    return 0;
}

int md_engine_on_tick(struct md_engine *e, const struct tick *t)
{
    e->stats.ticks++;
    if (t->instrument_id >= e->cfg.n_instruments || t->ltp <= 0) {
        e->stats.bad++;
        return MD_TICK_BAD;
    }
    int64_t day = ts_ist_day(t->ts);
    ts_ns midnight = ts_ist_midnight(day), tod = t->ts - midnight;
    if (tod < CAL_PREOPEN_START_NS || tod >= CAL_CLOSE_NS ||
        !cal_is_trading_day(e->cfg.cal, day)) {
        e->stats.off_session++;
        return MD_TICK_OFF_SESSION;
    }
    /* Pre-open trades (the 09:08 equilibrium print) belong to the first bar, as on broker charts. */
    ts_ns open = midnight + CAL_OPEN_NS, close = midnight + CAL_CLOSE_NS;
    ts_ns teff = tod < CAL_OPEN_NS ? open : t->ts;
    md_engine_advance(e, t->ts);
    struct md_inst *in = inst_get(e, t->instrument_id);
    if (!in)
        return ATP_ENOMEM;
    for (int tf = 0; tf < TF_COUNT; tf++) {
        const struct candle_series *c = &in->series[tf].candles;
        if (tf_built(e, tf) &&
            (teff < c->completed_end || (c->has_forming && teff < c->forming.start))) {
            e->stats.late++;
            return MD_TICK_LATE;
        }
    }
    int64_t qty = tick_volume(in, t);
    int64_t oi = (t->flags & TICK_HAS_OI) ? t->oi : -1;
    for (int tf = 0; tf < TF_COUNT; tf++) {
        if (!tf_built(e, tf))
            continue;
        struct candle_series *c = &in->series[tf].candles;
        ts_ns start, end;
        struct bar done;
        candles_period_in_day((enum tf)tf, teff, open, close, &start, &end);
        if (candles_add_trade(c, start, end, t->ltp, qty, oi, &done))
            on_complete(e, in, tf, &done);
        note_deadline(e, c->forming_end);
        if (e->h.on_bar)
            e->h.on_bar(e->h.ctx, in->id, (enum tf)tf, &c->forming, 0);
    }
    in->last_tick = *t;
    in->has_tick = 1;
    e->stats.accepted++;
    return MD_TICK_ACCEPTED;
}

/* 1 when bars of timeframe `from` fold exactly into timeframe `to`. */
static int folds_into(int from, int to)
{
    if (to == from || to == TF_1D)
        return 1;
    if (to < from || from == TF_1D)
        return 0;
    return tf_period_ns((enum tf)to) % tf_period_ns((enum tf)from) == 0;
}

int md_engine_on_bar(struct md_engine *e, uint32_t id, enum tf src_tf, const struct bar *bar)
{
    e->stats.bars_in++;
    if (id >= e->cfg.n_instruments || (unsigned)src_tf >= TF_COUNT || !bar_is_valid(bar) ||
        bar->open <= 0)
        return ATP_EINVAL;
    md_engine_advance(e, bar->start);
    struct md_inst *in = inst_get(e, id);
    if (!in)
        return ATP_ENOMEM;
    int64_t day = ts_ist_day(bar->start);
    ts_ns tod = bar->start - ts_ist_midnight(day);
    /* Daily bars are built from in-session data only: foreign intraday data (say a US stock's
     * minutes) still builds every intraday timeframe, but not an NSE session bar. */
    int in_session = tod >= CAL_OPEN_NS && tod < CAL_CLOSE_NS;
    for (int tf = (int)src_tf; tf < TF_COUNT; tf++) {
        if (!tf_built(e, tf) || !folds_into(src_tf, tf) || (tf == TF_1D && src_tf != TF_1D && !in_session))
            continue;
        const struct candle_series *c = &in->series[tf].candles;
        if (bar->start < c->completed_end || (c->has_forming && bar->start < c->forming.start)) {
            e->stats.bars_late++;
            return 1;
        }
    }
    ts_ns src_start, src_end;
    candles_period(src_tf, bar->start, &src_start, &src_end);
    for (int tf = (int)src_tf; tf < TF_COUNT; tf++) {
        if (!tf_built(e, tf) || !folds_into(src_tf, tf) || (tf == TF_1D && src_tf != TF_1D && !in_session))
            continue;
        struct candle_series *c = &in->series[tf].candles;
        ts_ns start, end;
        struct bar done;
        candles_period((enum tf)tf, bar->start, &start, &end);
        if (candles_add_bar(c, start, end, bar, &done))
            on_complete(e, in, tf, &done);
        if (e->h.on_bar)
            e->h.on_bar(e->h.ctx, id, (enum tf)tf, &c->forming, 0);
        /* The source bar is complete on arrival; a coarser bar completes when this instrument's
         * data reaches its end (other instruments' bars of the same minute may still come). */
        if (tf == (int)src_tf || c->forming_end <= src_end) {
            if (candles_flush(c, &done))
                on_complete(e, in, tf, &done);
        } else {
            note_deadline(e, c->forming_end);
        }
    }
    if (bar->start > e->now)
        e->now = bar->start;
    return 0;
}

const struct candle_series *md_engine_series(const struct md_engine *e, uint32_t id, enum tf tf)
{
    if (id >= e->cfg.n_instruments || (unsigned)tf >= TF_COUNT || !tf_built(e, tf) || !e->inst[id])
        return NULL;
    return &e->inst[id]->series[tf].candles;
}

int md_engine_indicator(struct md_engine *e, uint32_t id, enum tf tf, int slot, int forming,
                        double *out)
{
    if ((unsigned)tf >= TF_COUNT || slot < 0 || slot >= e->n_slots[tf])
        return ATP_EINVAL;
    int n = e->slots[tf][slot].def->n_outputs;
    if (id >= e->cfg.n_instruments || !e->inst[id]) {
        for (int o = 0; o < n; o++)
            out[o] = NAN;
        return 0;
    }
    struct md_series *s = &e->inst[id]->series[tf];
    if (forming && s->candles.has_forming) {
        struct atp_bar_in bin;
        md_bar_to_ind(&s->candles.forming, &bin);
        return ind_peek(s->ind[slot], &bin, out) == 1;
    }
    memcpy(out, s->last[slot], (size_t)n * sizeof *out);
    return s->valid[slot];
}

const struct atp_indicator_def *md_engine_indicator_def(const struct md_engine *e, enum tf tf,
                                                        int slot)
{
    if ((unsigned)tf >= TF_COUNT || slot < 0 || slot >= e->n_slots[tf])
        return NULL;
    return e->slots[tf][slot].def;
}

int md_engine_indicator_count(const struct md_engine *e, enum tf tf)
{
    return (unsigned)tf < TF_COUNT ? e->n_slots[tf] : 0;
}

const struct tick *md_engine_last_tick(const struct md_engine *e, uint32_t id)
{
    if (id >= e->cfg.n_instruments || !e->inst[id] || !e->inst[id]->has_tick)
        return NULL;
    return &e->inst[id]->last_tick;
}

void md_engine_stats(const struct md_engine *e, struct md_stats *out)
{
    *out = e->stats;
}

ts_ns md_engine_now(const struct md_engine *e)
{
    return e->now;
}
