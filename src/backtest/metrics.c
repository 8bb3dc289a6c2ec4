/* backtest/metrics: see metrics.h; every formula and its source is in docs/metrics.md. */
#include "backtest/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"

#define PX_PAISA (PX_SCALE / 100) /* one paisa in px_t units */

/* A standard deviation (or downside deviation) of daily returns below this is round-off, not
 * risk: one paisa on 1e10 rupees of equity is already a 1e-12 return. */
#define METRICS_ZERO_DEV 1e-14

/* --- validation ------------------------------------------------------------------------------ */

static int check_points(const struct metrics_input *in, struct atp_err *err)
{
    if (in->initial_capital <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "initial_capital",
                           "initial capital must be positive (got %lld units)",
                           (long long)in->initial_capital);
    if (in->n_points > 0 && in->points == NULL)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "points", "NULL with %zu points",
                           in->n_points);
    for (size_t i = 1; i < in->n_points; i++) {
        if (in->points[i].ts < in->points[i - 1].ts) {
            char field[48];
            snprintf(field, sizeof field, "points[%zu].ts", i);
            return atp_err_set(err, ATP_EINVAL, NULL, 0, field,
                               "equity points out of time order (%lld before %lld)",
                               (long long)in->points[i].ts, (long long)in->points[i - 1].ts);
        }
    }
    return ATP_OK;
}

static int trade_invalid(struct atp_err *err, size_t i, const char *name, const char *why)
{
    char field[48];
    snprintf(field, sizeof field, "trades[%zu].%s", i, name);
    return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "%s", why);
}

static int check_input(const struct metrics_input *in, struct atp_err *err)
{
    int rc = check_points(in, err);
    if (rc != ATP_OK)
        return rc;
    if (!isfinite(in->risk_free_annual) || in->risk_free_annual <= -1.0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "risk_free_annual",
                           "risk-free rate must be a finite annual fraction above -1");
    if (in->n_trades > 0 && in->trades == NULL)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "trades", "NULL with %zu trades",
                           in->n_trades);
    for (size_t i = 0; i < in->n_trades; i++) {
        const struct metrics_trade *t = &in->trades[i];
        if (t->side != METRICS_LONG && t->side != METRICS_SHORT)
            return trade_invalid(err, i, "side", "side must be LONG or SHORT");
        if (t->qty <= 0)
            return trade_invalid(err, i, "qty", "quantity must be positive");
        if (t->charges < 0)
            return trade_invalid(err, i, "charges", "charges must not be negative");
        if (t->holding_bars < 0)
            return trade_invalid(err, i, "holding_bars", "holding bars must not be negative");
        if (!t->is_open && t->exit_ts < t->entry_ts)
            return trade_invalid(err, i, "exit_ts", "exit before entry");
    }
    return ATP_OK;
}

/* --- arithmetic helpers ---------------------------------------------------------------------- */

/* (now - base) / base, base != 0. The difference is taken exactly in int64 when it fits, so small
 * returns keep their digits. */
static double rel_change(px_t now, px_t base)
{
    int64_t diff;
    if (__builtin_sub_overflow(now, base, &diff))
        return ((double)now - (double)base) / (double)base;
    return (double)diff / (double)base;
}

/* sum / n rounded to a whole paisa, half away from zero, exactly (n > 0). */
static px_t avg_to_paisa(px_t sum, int64_t n)
{
    if (n > INT64_MAX / PX_PAISA) /* cannot happen with real trade counts; fall back to units */
        return sum / n;
    int64_t den = n * PX_PAISA;
    int64_t q = sum / den;
    int64_t r = sum % den; /* same sign as sum (C99 truncating division) */
    int64_t ar = r < 0 ? -r : r;
    if (ar >= den - ar) /* 2|r| >= den without overflow: the tie goes away from zero */
        q += sum < 0 ? -1 : 1;
    return q * PX_PAISA; /* |q * PX_PAISA| <= |sum| / n rounded: fits (see docs/metrics.md) */
}

/* --- daily returns --------------------------------------------------------------------------- */

/* Walks the IST trading days of the curve and yields each day's return: the last equity of the
 * day against the last equity of the previous day (the initial capital for the first day). The
 * series ends after the first day whose closing equity is <= 0 (nothing is invested after it). */
struct day_returns {
    const struct metrics_point *points;
    size_t n_points;
    size_t next;   /* index of the first point of the next day */
    px_t base;     /* equity the next return is measured against */
};

static void day_returns_init(struct day_returns *it, const struct metrics_input *in)
{
    it->points = in->points;
    it->n_points = in->n_points;
    it->next = 0;
    it->base = in->initial_capital;
}

static bool day_returns_next(struct day_returns *it, double *ret)
{
    if (it->next >= it->n_points || it->base <= 0)
        return false;
    int64_t day = ts_ist_day(it->points[it->next].ts);
    size_t last = it->next;
    while (last + 1 < it->n_points && ts_ist_day(it->points[last + 1].ts) == day)
        last++;
    px_t close = it->points[last].equity;
    *ret = rel_change(close, it->base);
    it->base = close;
    it->next = last + 1;
    return true;
}

/* Sharpe and Sortino of the daily returns (docs/metrics.md: empyrical's conventions). */
static void risk_ratios(const struct metrics_input *in, double *sharpe, double *sortino)
{
    const double rf_daily = in->risk_free_annual / METRICS_TRADING_DAYS;
    struct day_returns it;
    double r;
    size_t n = 0;
    double sum = 0.0;

    *sharpe = NAN;
    *sortino = NAN;
    day_returns_init(&it, in);
    while (day_returns_next(&it, &r)) {
        sum += r - rf_daily;
        n++;
    }
    if (n < 2)
        return;
    double mean = sum / (double)n;

    /* Second pass over the same days: deviations from the mean (two-pass for accuracy). */
    double ss = 0.0, down = 0.0;
    day_returns_init(&it, in);
    while (day_returns_next(&it, &r)) {
        double x = r - rf_daily;
        ss += (x - mean) * (x - mean);
        if (x < 0.0)
            down += x * x;
    }
    double sd = sqrt(ss / (double)(n - 1));
    double dd = sqrt(down / (double)n);
    double ann = sqrt((double)METRICS_TRADING_DAYS);
    if (sd >= METRICS_ZERO_DEV)
        *sharpe = mean / sd * ann;
    if (dd >= METRICS_ZERO_DEV)
        *sortino = mean / dd * ann;
}

/* --- curve metrics --------------------------------------------------------------------------- */

/* Drawdown of equity below peak in % of peak (peak > 0). */
static double drawdown_pct(px_t equity, px_t peak)
{
    return rel_change(equity, peak) * 100.0;
}

static int curve_metrics(const struct metrics_input *in, struct metrics *m, struct atp_err *err)
{
    px_t peak = in->initial_capital;
    double mdd_pct = 0.0;
    px_t mdd_abs = 0;
    size_t in_market = 0;

    for (size_t i = 0; i < in->n_points; i++) {
        px_t eq = in->points[i].equity;
        if (eq > peak)
            peak = eq;
        int64_t fall;
        if (__builtin_sub_overflow(eq, peak, &fall) || fall < PX_MIN)
            return atp_err_set(err, ATP_EOVERFLOW, NULL, 0, "points",
                               "drawdown at point %zu does not fit in px_t", i);
        if (fall < mdd_abs)
            mdd_abs = fall;
        double dd = drawdown_pct(eq, peak);
        if (dd < mdd_pct)
            mdd_pct = dd;
        if (in->points[i].in_market)
            in_market++;
    }

    m->initial_capital = in->initial_capital;
    m->final_equity = in->n_points ? in->points[in->n_points - 1].equity : in->initial_capital;
    m->total_return_pct = rel_change(m->final_equity, in->initial_capital) * 100.0;
    m->max_drawdown_pct = mdd_pct;
    m->max_drawdown_abs = mdd_abs;
    m->exposure_pct = in->n_points ? (double)in_market / (double)in->n_points * 100.0 : NAN;

    /* CAGR over calendar time first..last point; not annualized under one day. */
    m->cagr_pct = NAN;
    if (in->n_points >= 2) {
        ts_ns span;
        double span_ns = __builtin_sub_overflow(in->points[in->n_points - 1].ts,
                                                in->points[0].ts, &span)
                             ? (double)in->points[in->n_points - 1].ts - (double)in->points[0].ts
                             : (double)span;
        if (span_ns >= (double)TS_NS_PER_DAY) {
            double years = span_ns / (365.25 * (double)TS_NS_PER_DAY);
            if (m->final_equity <= 0) {
                m->cagr_pct = -100.0;
            } else {
                double ratio = (double)m->final_equity / (double)in->initial_capital;
                double c = (pow(ratio, 1.0 / years) - 1.0) * 100.0;
                m->cagr_pct = isfinite(c) ? c : NAN;
            }
        }
    }

    risk_ratios(in, &m->sharpe, &m->sortino);

    m->calmar = NAN;
    if (!isnan(m->cagr_pct) && m->max_drawdown_pct < 0.0)
        m->calmar = m->cagr_pct / fabs(m->max_drawdown_pct);
    return ATP_OK;
}

/* --- trade metrics --------------------------------------------------------------------------- */

struct exit_key {
    ts_ns exit_ts;
    size_t index; /* position in the input: ties in exit time keep input order */
};

static int exit_key_cmp(const void *a, const void *b)
{
    const struct exit_key *x = a, *y = b;
    if (x->exit_ts != y->exit_ts)
        return x->exit_ts < y->exit_ts ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

/* Longest win and loss runs over the closed trades in exit order. */
static int streaks(const struct metrics_input *in, struct metrics *m, struct atp_err *err)
{
    size_t n_closed = 0;
    bool sorted = true;
    ts_ns last_exit = INT64_MIN;
    for (size_t i = 0; i < in->n_trades; i++) {
        const struct metrics_trade *t = &in->trades[i];
        if (t->is_open)
            continue;
        if (t->exit_ts < last_exit)
            sorted = false;
        last_exit = t->exit_ts;
        n_closed++;
    }

    struct exit_key *order = NULL;
    if (!sorted) {
        order = atp_reallocarray(NULL, n_closed, sizeof *order);
        if (order == NULL)
            return atp_err_set(err, ATP_ENOMEM, NULL, 0, "trades",
                               "no memory to order %zu trades by exit", n_closed);
        size_t k = 0;
        for (size_t i = 0; i < in->n_trades; i++) {
            if (!in->trades[i].is_open)
                order[k++] = (struct exit_key){in->trades[i].exit_ts, i};
        }
        qsort(order, n_closed, sizeof *order, exit_key_cmp);
    }

    int64_t wins = 0, losses = 0, best_wins = 0, best_losses = 0;
    size_t scan = 0;
    for (size_t k = 0; k < n_closed; k++) {
        const struct metrics_trade *t;
        if (order) {
            t = &in->trades[order[k].index];
        } else {
            while (in->trades[scan].is_open)
                scan++;
            t = &in->trades[scan++];
        }
        if (t->pnl > 0) {
            wins++;
            losses = 0;
        } else if (t->pnl < 0) {
            losses++;
            wins = 0;
        } else { /* a flat trade is neither and breaks both runs */
            wins = 0;
            losses = 0;
        }
        if (wins > best_wins)
            best_wins = wins;
        if (losses > best_losses)
            best_losses = losses;
    }
    atp_free(order);
    m->max_consecutive_wins = best_wins;
    m->max_consecutive_losses = best_losses;
    return ATP_OK;
}

static int sum_overflow(struct atp_err *err, size_t i, const char *what)
{
    return atp_err_set(err, ATP_EOVERFLOW, NULL, 0, "trades", "%s overflows px_t at trade %zu",
                       what, i);
}

static int trade_metrics(const struct metrics_input *in, struct metrics *m, struct atp_err *err)
{
    px_t gross_profit = 0, gross_loss = 0, net = 0, charges = 0;
    int64_t n_closed = 0, n_win = 0, n_loss = 0;
    double bars = 0.0;

    for (size_t i = 0; i < in->n_trades; i++) {
        const struct metrics_trade *t = &in->trades[i];
        if (px_add(charges, t->charges, &charges) != ATP_OK)
            return sum_overflow(err, i, "total charges");
        if (t->is_open)
            continue;
        n_closed++;
        bars += (double)t->holding_bars;
        if (px_add(net, t->pnl, &net) != ATP_OK)
            return sum_overflow(err, i, "net pnl");
        if (t->pnl > 0) {
            n_win++;
            if (px_add(gross_profit, t->pnl, &gross_profit) != ATP_OK)
                return sum_overflow(err, i, "gross profit");
        } else if (t->pnl < 0) {
            n_loss++;
            if (px_add(gross_loss, t->pnl, &gross_loss) != ATP_OK)
                return sum_overflow(err, i, "gross loss");
        }
    }

    m->trades = n_closed;
    m->winning_trades = n_win;
    m->losing_trades = n_loss;
    m->total_charges = charges;
    m->win_rate_pct = n_closed ? (double)n_win / (double)n_closed * 100.0 : NAN;
    if (gross_loss < 0)
        m->profit_factor = (double)gross_profit / -(double)gross_loss;
    else
        m->profit_factor = gross_profit > 0 ? INFINITY : NAN;
    m->avg_win = n_win ? avg_to_paisa(gross_profit, n_win) : 0;
    m->avg_loss = n_loss ? avg_to_paisa(gross_loss, n_loss) : 0;
    m->expectancy = n_closed ? avg_to_paisa(net, n_closed) : 0;
    m->avg_holding_bars = n_closed ? bars / (double)n_closed : NAN;
    return streaks(in, m, err);
}

/* --- public ---------------------------------------------------------------------------------- */

int metrics_compute(const struct metrics_input *in, struct metrics *out, struct atp_err *err)
{
    atp_err_clear(err);
    if (in == NULL || out == NULL)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, in ? "out" : "in", "NULL argument");
    int rc = check_input(in, err);
    if (rc != ATP_OK)
        return rc;

    struct metrics m = {0};
    rc = curve_metrics(in, &m, err);
    if (rc == ATP_OK)
        rc = trade_metrics(in, &m, err);
    if (rc == ATP_OK)
        *out = m;
    return rc;
}

int metrics_drawdown_series(const struct metrics_input *in, double *drawdown_pct_out,
                            struct atp_err *err)
{
    atp_err_clear(err);
    if (in == NULL)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "in", "NULL argument");
    int rc = check_points(in, err);
    if (rc != ATP_OK)
        return rc;
    if (in->n_points > 0 && drawdown_pct_out == NULL)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "drawdown_pct", "NULL output array");

    px_t peak = in->initial_capital;
    for (size_t i = 0; i < in->n_points; i++) {
        if (in->points[i].equity > peak)
            peak = in->points[i].equity;
        drawdown_pct_out[i] = drawdown_pct(in->points[i].equity, peak);
    }
    return ATP_OK;
}

static void ist_month(ts_ns t, int *year, int *month)
{
    int day;
    ts_civil_from_days(ts_ist_day(t), year, month, &day);
}

int metrics_monthly_returns(const struct metrics_input *in, struct metrics_month **months,
                            size_t *n_months, struct atp_err *err)
{
    atp_err_clear(err);
    if (months == NULL || n_months == NULL)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, months ? "n_months" : "months",
                           "NULL argument");
    *months = NULL;
    *n_months = 0;
    if (in == NULL)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "in", "NULL argument");
    int rc = check_points(in, err);
    if (rc != ATP_OK)
        return rc;
    if (in->n_points == 0)
        return ATP_OK;

    /* Pass 1: count the months that have points (time order makes them contiguous runs). */
    size_t count = 0;
    int prev_y = 0, prev_m = 0;
    for (size_t i = 0; i < in->n_points; i++) {
        int y, mo;
        ist_month(in->points[i].ts, &y, &mo);
        if (i == 0 || y != prev_y || mo != prev_m)
            count++;
        prev_y = y;
        prev_m = mo;
    }

    struct metrics_month *rows = atp_reallocarray(NULL, count, sizeof *rows);
    if (rows == NULL)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, "months",
                           "no memory for %zu monthly rows", count);

    /* Pass 2: the last equity of each month against the one before it. */
    px_t base = in->initial_capital;
    size_t k = 0;
    for (size_t i = 0; i < in->n_points; i++) {
        int y, mo;
        ist_month(in->points[i].ts, &y, &mo);
        bool last_of_month = true;
        if (i + 1 < in->n_points) {
            int ny, nm;
            ist_month(in->points[i + 1].ts, &ny, &nm);
            last_of_month = ny != y || nm != mo;
        }
        if (!last_of_month)
            continue;
        px_t close = in->points[i].equity;
        rows[k].year = y;
        rows[k].month = mo;
        rows[k].return_pct = base > 0 ? rel_change(close, base) * 100.0 : NAN;
        base = close;
        k++;
    }
    *months = rows;
    *n_months = k;
    return ATP_OK;
}
