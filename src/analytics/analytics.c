/* analytics/analytics: see analytics.h. */
#include "analytics/analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backtest/trips.h"
#include "core/alloc.h"
#include "portfolio/portfolio.h"

#define LEDGER 1 /* the one account of the private portfolio */

struct tracker {
    uint64_t strategy_id;
    struct trips *trips;
};

struct run {
    const struct analytics_input *in;
    struct analytics *out;
    struct portfolio *pf;
    struct tracker *trackers;
    size_t n_trackers, cap_trackers;
    size_t cap_points, cap_trades;
};

static int oom(struct atp_err *err) { return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory"); }

static struct tracker *tracker_for(struct run *r, uint64_t strategy_id, struct atp_err *err)
{
    for (size_t i = 0; i < r->n_trackers; i++)
        if (r->trackers[i].strategy_id == strategy_id)
            return &r->trackers[i];
    if (r->n_trackers == r->cap_trackers) {
        size_t cap = r->cap_trackers ? 2 * r->cap_trackers : 8;
        struct tracker *t = atp_reallocarray(r->trackers, cap, sizeof *t);
        if (!t)
            return oom(err), NULL;
        r->trackers = t;
        r->cap_trackers = cap;
    }
    struct tracker *t = &r->trackers[r->n_trackers];
    t->strategy_id = strategy_id;
    if (trips_new(r->in->n_instruments, &t->trips, err) != ATP_OK)
        return NULL;
    r->n_trackers++;
    return t;
}

static int add_point(struct run *r, ts_ns ts, struct atp_err *err)
{
    struct portfolio_summary s;
    if (portfolio_account_summary(r->pf, LEDGER, TRADE_MODE_PAPER, &s) != ATP_OK)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no ledger");
    struct analytics *a = r->out;
    if (a->n_points == r->cap_points) {
        size_t cap = r->cap_points ? 2 * r->cap_points : 64;
        struct metrics_point *p = atp_reallocarray(a->points, cap, sizeof *p);
        if (!p)
            return oom(err);
        a->points = p;
        r->cap_points = cap;
    }
    a->points[a->n_points++] = (struct metrics_point){ts, s.equity, s.open_positions > 0};
    return ATP_OK;
}

static int add_trade(struct run *r, const struct metrics_trade *t, uint64_t strategy_id, struct atp_err *err)
{
    struct analytics *a = r->out;
    if (a->n_trades == r->cap_trades) {
        size_t cap = r->cap_trades ? 2 * r->cap_trades : 64;
        struct metrics_trade *tr = atp_reallocarray(a->trades, cap, sizeof *tr);
        if (!tr)
            return oom(err);
        a->trades = tr;
        uint64_t *ts = atp_reallocarray(a->trade_strategy, cap, sizeof *ts);
        if (!ts)
            return oom(err);
        a->trade_strategy = ts;
        r->cap_trades = cap;
    }
    a->trades[a->n_trades] = *t;
    a->trade_strategy[a->n_trades++] = strategy_id;
    return ATP_OK;
}

static int check_fill(const struct analytics_input *in, size_t i, struct atp_err *err)
{
    const struct analytics_fill *f = &in->fills[i];
    char field[48];
    if (f->fill.instrument_id >= in->n_instruments) {
        snprintf(field, sizeof field, "fills[%zu].instrument_id", i);
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "instrument id %u is out of range", f->fill.instrument_id);
    }
    if (f->charges < 0) {
        snprintf(field, sizeof field, "fills[%zu].charges", i);
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "charges must not be negative");
    }
    if (i > 0 && f->fill.ts < in->fills[i - 1].fill.ts) {
        snprintf(field, sizeof field, "fills[%zu].ts", i);
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "fills must be in time order");
    }
    return ATP_OK;
}

/* One fill through the ledger and its strategy's trip tracker; a trip closing inside the period
 * becomes a trade. */
static int apply(struct run *r, size_t i, struct atp_err *err)
{
    const struct analytics_fill *af = &r->in->fills[i];
    struct fill f = af->fill;
    f.account_id = LEDGER;
    f.mode = TRADE_MODE_PAPER;
    int rc = portfolio_apply_fill_product(r->pf, &f, af->strategy_id, af->product, af->charges);
    if (rc != ATP_OK) {
        char field[48];
        snprintf(field, sizeof field, "fills[%zu]", i);
        return atp_err_set(err, rc, NULL, 0, field, "the fill cannot be applied (%s)", atp_status_name(rc));
    }
    portfolio_mark(r->pf, f.instrument_id, f.price);
    struct tracker *t = tracker_for(r, af->strategy_id, err);
    if (!t)
        return ATP_ENOMEM; /* the only way tracker_for fails */
    struct portfolio_key key = {LEDGER, TRADE_MODE_PAPER, af->strategy_id, f.instrument_id};
    struct portfolio_position pos;
    portfolio_position_get(r->pf, &key, &pos);
    struct metrics_trade mt;
    if (trips_on_fill(t->trips, &f, af->charges, pos.realized, 0, af->symbol, &mt) == 1 &&
        mt.exit_ts >= r->in->from && mt.exit_ts <= r->in->to)
        return add_trade(r, &mt, af->strategy_id, err);
    return ATP_OK;
}

static int cmp_strategy(const void *a, const void *b)
{
    uint64_t x = ((const struct analytics_strategy *)a)->strategy_id;
    uint64_t y = ((const struct analytics_strategy *)b)->strategy_id;
    return x < y ? -1 : x > y;
}

/* Per-strategy totals, buckets, holding times, best and worst: over closed trades. */
static int breakdowns(struct run *r, struct atp_err *err)
{
    struct analytics *a = r->out;
    a->strategies = atp_calloc(r->n_trackers ? r->n_trackers : 1, sizeof *a->strategies);
    if (!a->strategies)
        return oom(err);
    a->n_strategies = r->n_trackers;
    for (size_t i = 0; i < r->n_trackers; i++)
        a->strategies[i].strategy_id = r->trackers[i].strategy_id;
    qsort(a->strategies, a->n_strategies, sizeof *a->strategies, cmp_strategy);
    a->best_trade = a->worst_trade = -1;
    double holding_sum = 0;
    int64_t closed = 0;
    for (size_t i = 0; i < a->n_trades; i++) {
        const struct metrics_trade *t = &a->trades[i];
        if (t->is_open)
            continue;
        struct analytics_strategy key = {.strategy_id = a->trade_strategy[i]};
        struct analytics_strategy *s = bsearch(&key, a->strategies, a->n_strategies, sizeof key, cmp_strategy);
        int win = t->pnl > 0, loss = t->pnl < 0;
        s->trades++;
        s->wins += win;
        s->losses += loss;
        s->net_pnl += t->pnl;
        s->charges += t->charges;
        struct ts_civil c;
        ts_to_ist(t->exit_ts, &c);
        struct analytics_bucket *buckets[2] = {&a->by_hour[c.hour], &a->by_weekday[c.wday]};
        for (int b = 0; b < 2; b++) {
            buckets[b]->trades++;
            buckets[b]->wins += win;
            buckets[b]->pnl += t->pnl;
        }
        int64_t held = (t->exit_ts - t->entry_ts) / TS_NS_PER_SEC;
        if (closed == 0 || held < a->min_holding_s)
            a->min_holding_s = held;
        if (closed == 0 || held > a->max_holding_s)
            a->max_holding_s = held;
        holding_sum += (double)held;
        closed++;
        if (a->best_trade < 0 || t->pnl > a->trades[a->best_trade].pnl)
            a->best_trade = (int64_t)i;
        if (a->worst_trade < 0 || t->pnl < a->trades[a->worst_trade].pnl)
            a->worst_trade = (int64_t)i;
    }
    a->avg_holding_s = closed ? holding_sum / (double)closed : NAN;
    for (size_t i = 0; i < a->n_strategies; i++) {
        struct analytics_strategy *s = &a->strategies[i];
        s->win_rate_pct = s->trades ? 100.0 * (double)s->wins / (double)s->trades : NAN;
    }
    return ATP_OK;
}

static int run_all(struct run *r, struct atp_err *err)
{
    const struct analytics_input *in = r->in;
    struct analytics *a = r->out;
    if (in->initial_capital <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "initial_capital", "must be positive");
    if (in->from > in->to)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "from", "the period starts after it ends");
    for (size_t i = 0; i < in->n_marks; i++)
        if (in->marks[i].price <= 0 || in->marks[i].instrument_id >= in->n_instruments) {
            char field[48];
            snprintf(field, sizeof field, "marks[%zu]", i);
            return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "a mark needs a known instrument and a positive price");
        }
    struct portfolio_config pc;
    portfolio_config_default(&pc);
    struct portfolio_account_init acct = {LEDGER, TRADE_MODE_PAPER, in->initial_capital};
    pc.accounts = &acct;
    pc.account_count = 1;
    int rc = portfolio_new(&pc, &r->pf, err);
    if (rc != ATP_OK)
        return rc;
    struct portfolio_summary before;
    portfolio_account_summary(r->pf, LEDGER, TRADE_MODE_PAPER, &before);
    int started = 0;
    size_t i = 0;
    for (; i < in->n_fills; i++) {
        if ((rc = check_fill(in, i, err)) != ATP_OK)
            return rc;
        ts_ns ts = in->fills[i].fill.ts;
        if (ts > in->to)
            break;
        if (!started && ts >= in->from) {
            portfolio_account_summary(r->pf, LEDGER, TRADE_MODE_PAPER, &before);
            if ((rc = add_point(r, in->from == INT64_MIN ? ts : in->from, err)) != ATP_OK)
                return rc;
            started = 1;
        }
        if ((rc = apply(r, i, err)) != ATP_OK)
            return rc;
        if (started && (rc = add_point(r, ts, err)) != ATP_OK)
            return rc;
    }
    if (!started) /* no fill in the period: the equity at its start is where it ends */
        portfolio_account_summary(r->pf, LEDGER, TRADE_MODE_PAPER, &before);
    for (size_t m = 0; m < in->n_marks; m++)
        portfolio_mark(r->pf, in->marks[m].instrument_id, in->marks[m].price);
    ts_ns end = in->to != INT64_MAX ? in->to : (i > 0 ? in->fills[i - 1].fill.ts : 0);
    if ((in->n_marks > 0 || !started) && (rc = add_point(r, end, err)) != ATP_OK)
        return rc;
    if (!started && a->n_points == 1) { /* the curve of an idle period: flat from start to end */
        a->points[0].ts = in->from == INT64_MIN ? end : in->from;
        if ((rc = add_point(r, end, err)) != ATP_OK)
            return rc;
    }
    /* Trips still open at the end. */
    for (size_t t = 0; t < r->n_trackers; t++)
        for (uint32_t inst = 0; inst < in->n_instruments; inst++) {
            struct portfolio_key key = {LEDGER, TRADE_MODE_PAPER, r->trackers[t].strategy_id, inst};
            struct portfolio_position pos;
            struct metrics_trade mt;
            const char *symbol = NULL;
            for (size_t k = 0; k < i && !symbol; k++)
                if (in->fills[k].fill.instrument_id == inst)
                    symbol = in->fills[k].symbol;
            if (portfolio_position_get(r->pf, &key, &pos) == ATP_OK &&
                trips_open_trade(r->trackers[t].trips, inst, pos.realized, pos.unrealized, 0, symbol, &mt) &&
                (rc = add_trade(r, &mt, r->trackers[t].strategy_id, err)) != ATP_OK)
                return rc;
        }
    struct portfolio_summary after;
    portfolio_account_summary(r->pf, LEDGER, TRADE_MODE_PAPER, &after);
    a->equity_start = before.equity;
    a->realized = after.realized - before.realized;
    a->charges = after.charges - before.charges;
    if (before.equity <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "from", "the equity at the period's start is not positive");
    a->drawdown_pct = atp_calloc(a->n_points ? a->n_points : 1, sizeof *a->drawdown_pct);
    if (!a->drawdown_pct)
        return oom(err);
    struct metrics_input mi = {.initial_capital = before.equity, .points = a->points, .n_points = a->n_points,
                               .trades = a->trades, .n_trades = a->n_trades,
                               .risk_free_annual = in->risk_free_annual};
    if ((rc = metrics_compute(&mi, &a->summary, err)) != ATP_OK ||
        (rc = metrics_drawdown_series(&mi, a->drawdown_pct, err)) != ATP_OK)
        return rc;
    return breakdowns(r, err);
}

int analytics_compute(const struct analytics_input *in, struct analytics *out, struct atp_err *err)
{
    memset(out, 0, sizeof *out);
    out->best_trade = out->worst_trade = -1;
    struct run r = {.in = in, .out = out};
    int rc = run_all(&r, err);
    for (size_t i = 0; i < r.n_trackers; i++)
        trips_free(r.trackers[i].trips);
    atp_free(r.trackers);
    portfolio_free(r.pf);
    return rc;
}

void analytics_free(struct analytics *a)
{
    if (!a)
        return;
    atp_free(a->points);
    atp_free(a->drawdown_pct);
    atp_free(a->trades);
    atp_free(a->trade_strategy);
    atp_free(a->strategies);
    memset(a, 0, sizeof *a);
}
