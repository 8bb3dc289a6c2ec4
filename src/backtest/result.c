#include "backtest/result.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        int extra;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0; /* also stops at the NUL */
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += extra + 1;
    }
    return 1;
}

static int check_text(const char *s, int allow_empty, const char *field, struct atp_err *err)
{
    if (!s || (!allow_empty && !*s))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "%s", s ? "must not be empty"
                                                                     : "missing (NULL)");
    if (!utf8_valid(s))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "is not valid UTF-8");
    return ATP_OK;
}

int result_init(struct backtest_result *r, const struct result_config *cfg, struct atp_err *err)
{
    char field[48];
    int rc;
    memset(r, 0, sizeof *r);
    if ((rc = check_text(cfg->strategy, 0, "strategy", err)) != ATP_OK)
        return rc;
    if (cfg->n_params < 0 || (cfg->n_params > 0 && !cfg->params))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "params", "NULL array or negative count");
    for (int i = 0; i < cfg->n_params; i++) {
        snprintf(field, sizeof field, "params[%d].name", i);
        if ((rc = check_text(cfg->params[i].name, 0, field, err)) != ATP_OK)
            return rc;
        if (!isfinite(cfg->params[i].value)) {
            snprintf(field, sizeof field, "params[%d].value", i);
            return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "must be finite");
        }
    }
    if (cfg->n_symbols > 0 && !cfg->symbols)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "symbols", "NULL array with a count");
    for (size_t i = 0; i < cfg->n_symbols; i++) {
        snprintf(field, sizeof field, "symbols[%zu]", i);
        if ((rc = check_text(cfg->symbols[i], 0, field, err)) != ATP_OK)
            return rc;
    }
    if (cfg->timeframe && (rc = check_text(cfg->timeframe, 0, "timeframe", err)) != ATP_OK)
        return rc;
    if (cfg->initial_capital <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "initial_capital", "must be > 0");
    if (!isfinite(cfg->risk_free_annual) || cfg->risk_free_annual <= -1.0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "risk_free_annual",
                           "must be finite and > -1");

    r->initial_capital = cfg->initial_capital;
    r->risk_free_annual = cfg->risk_free_annual;
    r->strategy = atp_strdup(cfg->strategy);
    if (!r->strategy)
        goto nomem;
    if (cfg->timeframe && !(r->timeframe = atp_strdup(cfg->timeframe)))
        goto nomem;
    if (cfg->n_params > 0) {
        r->params = atp_calloc((size_t)cfg->n_params, sizeof *r->params);
        if (!r->params)
            goto nomem;
        for (int i = 0; i < cfg->n_params; i++) {
            r->params[i].value = cfg->params[i].value;
            if (!(r->params[i].name = atp_strdup(cfg->params[i].name)))
                goto nomem;
            r->n_params++;
        }
    }
    if (cfg->n_symbols > 0) {
        r->symbols = atp_calloc(cfg->n_symbols, sizeof *r->symbols);
        if (!r->symbols)
            goto nomem;
        for (size_t i = 0; i < cfg->n_symbols; i++) {
            if (!(r->symbols[i] = atp_strdup(cfg->symbols[i])))
                goto nomem;
            r->n_symbols++;
        }
    }
    return ATP_OK;

nomem:
    result_cleanup(r);
    return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory copying the run description");
}

void result_cleanup(struct backtest_result *r)
{
    if (!r)
        return;
    atp_free(r->strategy);
    for (size_t i = 0; i < r->n_params; i++)
        atp_free(r->params[i].name);
    atp_free(r->params);
    for (size_t i = 0; i < r->n_symbols; i++)
        atp_free(r->symbols[i]);
    atp_free(r->symbols);
    atp_free(r->timeframe);
    atp_free(r->points);
    for (size_t i = 0; i < r->n_trades; i++)
        atp_free((char *)r->trades[i].symbol);
    atp_free(r->trades);
    atp_free(r->drawdown_pct);
    atp_free(r->months);
    memset(r, 0, sizeof *r);
}

static int check_open(const struct backtest_result *r, struct atp_err *err)
{
    if (r->finished)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL, "the result is already finished");
    return ATP_OK;
}

int result_set_period(struct backtest_result *r, ts_ns first, ts_ns last, struct atp_err *err)
{
    int rc = check_open(r, err);
    if (rc != ATP_OK)
        return rc;
    if (first > last)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "period", "first bar time after the last");
    r->period_first = first;
    r->period_last = last;
    r->has_period = 1;
    return ATP_OK;
}

/* Makes room for one more element of an array that doubles (16 first): returns the array (moved
 * or not) or NULL when it cannot grow, the old array then untouched. */
static void *grow(void *array, size_t *cap, size_t n, size_t elem_size)
{
    if (n < *cap)
        return array;
    size_t new_cap = *cap ? *cap * 2 : 16;
    void *p = new_cap > *cap ? atp_reallocarray(array, new_cap, elem_size) : NULL;
    if (p)
        *cap = new_cap;
    return p;
}

int result_add_point(struct backtest_result *r, ts_ns ts, px_t equity, int in_market,
                     struct atp_err *err)
{
    int rc = check_open(r, err);
    if (rc != ATP_OK)
        return rc;
    struct metrics_point *points = grow(r->points, &r->cap_points, r->n_points, sizeof *points);
    if (!points)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, "points", "out of memory");
    r->points = points;
    r->points[r->n_points++] = (struct metrics_point){ts, equity, in_market ? 1 : 0};
    return ATP_OK;
}

int result_add_trade(struct backtest_result *r, const struct metrics_trade *trade,
                     struct atp_err *err)
{
    int rc = check_open(r, err);
    if (rc != ATP_OK)
        return rc;
    char field[48];
    snprintf(field, sizeof field, "trades[%zu].symbol", r->n_trades);
    if ((rc = check_text(trade->symbol, 0, field, err)) != ATP_OK)
        return rc;
    struct metrics_trade *trades = grow(r->trades, &r->cap_trades, r->n_trades, sizeof *trades);
    if (!trades)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, "trades", "out of memory");
    r->trades = trades;
    char *symbol = atp_strdup(trade->symbol);
    if (!symbol)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, "trades", "out of memory");
    struct metrics_trade *t = &r->trades[r->n_trades++];
    *t = *trade;
    t->symbol = symbol;
    return ATP_OK;
}

int result_finish(struct backtest_result *r, struct atp_err *err)
{
    int rc = check_open(r, err);
    if (rc != ATP_OK)
        return rc;
    struct metrics_input in = {
        .initial_capital = r->initial_capital,
        .points = r->points,
        .n_points = r->n_points,
        .trades = r->trades,
        .n_trades = r->n_trades,
        .risk_free_annual = r->risk_free_annual,
    };
    struct metrics m;
    double *dd = NULL;
    struct metrics_month *months = NULL;
    size_t n_months = 0;
    if ((rc = metrics_compute(&in, &m, err)) != ATP_OK)
        return rc;
    if (r->n_points > 0) {
        dd = atp_calloc(r->n_points, sizeof *dd);
        if (!dd)
            return atp_err_set(err, ATP_ENOMEM, NULL, 0, "points", "out of memory");
        if ((rc = metrics_drawdown_series(&in, dd, err)) != ATP_OK)
            goto fail;
    }
    if ((rc = metrics_monthly_returns(&in, &months, &n_months, err)) != ATP_OK)
        goto fail;

    r->metrics = m;
    r->drawdown_pct = dd;
    r->months = months;
    r->n_months = n_months;
    if (!r->has_period && r->n_points > 0) {
        r->period_first = r->points[0].ts;
        r->period_last = r->points[r->n_points - 1].ts;
        r->has_period = 1;
    }
    r->finished = 1;
    return ATP_OK;

fail:
    atp_free(dd);
    return rc;
}

double result_trade_pnl_pct(const struct metrics_trade *t)
{
    /* In double: entry_px * qty may not fit in px_t, and this is a ratio anyway. */
    double notional = px_to_double(t->entry_px) * (double)t->qty;
    if (notional == 0.0)
        return NAN;
    return px_to_double(t->pnl) / fabs(notional) * 100.0;
}

/* ---- writers ---------------------------------------------------------------------------- */

struct jw {
    FILE *f;
    int html;        /* escape '<', '>', '&', U+2028, U+2029 inside strings */
    const char *kv;    /* between a key and its value: ": " or ":" */
    const char *space; /* after the comma between members on one line: " " or "" */
};

static void jw_str(const struct jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', w->f);
    for (; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', w->f);
            fputc(c, w->f);
        } else if (c == '\n') {
            fputs("\\n", w->f);
        } else if (c == '\r') {
            fputs("\\r", w->f);
        } else if (c == '\t') {
            fputs("\\t", w->f);
        } else if (c < 0x20 || c == 0x7F || (w->html && (c == '<' || c == '>' || c == '&'))) {
            fprintf(w->f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        } else if (w->html && c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
            /* U+2028/U+2029 end a line in older JavaScript parsers */
            fputs(p[2] == 0xA8 ? "\\u2028" : "\\u2029", w->f);
            p += 2;
        } else {
            fputc(c, w->f);
        }
    }
    fputc('"', w->f);
}

static void jw_key(const struct jw *w, const char *key)
{
    jw_str(w, key);
    fputs(w->kv, w->f);
}

/* Money: the exact decimal text of the fixed-point value, a valid JSON number. */
static void jw_px(const struct jw *w, px_t v)
{
    char buf[PX_STR_MAX];
    px_format(v, buf, sizeof buf);
    fputs(buf, w->f);
}

/* A ratio: 15 significant digits (what a double holds reliably, so 3.2 prints as 3.2), null for
 * NaN and infinities, and no "-0". */
static void jw_num(const struct jw *w, double v)
{
    if (!isfinite(v)) {
        fputs("null", w->f);
        return;
    }
    if (v == 0.0)
        v = fabs(v); /* -0.0 prints as "-0" */
    fprintf(w->f, "%.15g", v);
}

static void jw_time(const struct jw *w, ts_ns t)
{
    char buf[TS_STR_MAX];
    ts_format_ist(t, buf, sizeof buf);
    jw_str(w, buf);
}

static const char *side_name(int side)
{
    return side == METRICS_SHORT ? "short" : "long";
}

/* Starts a member of an object: a comma after the previous one, the lead text (newline and
 * indent, or a space), then the key. */
static void jw_member(const struct jw *w, int *n, const char *lead, const char *key)
{
    if ((*n)++ > 0)
        fputc(',', w->f);
    fputs(lead, w->f);
    jw_key(w, key);
}

static void jw_int(const struct jw *w, int64_t v)
{
    fprintf(w->f, "%lld", (long long)v);
}

static void jw_metrics(const struct jw *w, const struct metrics *m, const char *lead)
{
    int n = 0;
    jw_member(w, &n, lead, "initial_capital"), jw_px(w, m->initial_capital);
    jw_member(w, &n, lead, "final_equity"), jw_px(w, m->final_equity);
    jw_member(w, &n, lead, "total_return_pct"), jw_num(w, m->total_return_pct);
    jw_member(w, &n, lead, "cagr_pct"), jw_num(w, m->cagr_pct);
    jw_member(w, &n, lead, "max_drawdown_pct"), jw_num(w, m->max_drawdown_pct);
    jw_member(w, &n, lead, "max_drawdown_abs"), jw_px(w, m->max_drawdown_abs);
    jw_member(w, &n, lead, "sharpe"), jw_num(w, m->sharpe);
    jw_member(w, &n, lead, "sortino"), jw_num(w, m->sortino);
    jw_member(w, &n, lead, "calmar"), jw_num(w, m->calmar);
    jw_member(w, &n, lead, "win_rate_pct"), jw_num(w, m->win_rate_pct);
    jw_member(w, &n, lead, "profit_factor"), jw_num(w, m->profit_factor);
    jw_member(w, &n, lead, "avg_win"), jw_px(w, m->avg_win);
    jw_member(w, &n, lead, "avg_loss"), jw_px(w, m->avg_loss);
    jw_member(w, &n, lead, "expectancy"), jw_px(w, m->expectancy);
    jw_member(w, &n, lead, "trades"), jw_int(w, m->trades);
    jw_member(w, &n, lead, "winning_trades"), jw_int(w, m->winning_trades);
    jw_member(w, &n, lead, "losing_trades"), jw_int(w, m->losing_trades);
    jw_member(w, &n, lead, "exposure_pct"), jw_num(w, m->exposure_pct);
    jw_member(w, &n, lead, "avg_holding_bars"), jw_num(w, m->avg_holding_bars);
    jw_member(w, &n, lead, "max_consecutive_wins"), jw_int(w, m->max_consecutive_wins);
    jw_member(w, &n, lead, "max_consecutive_losses"), jw_int(w, m->max_consecutive_losses);
    jw_member(w, &n, lead, "total_charges"), jw_px(w, m->total_charges);
}

static void jw_trade(const struct jw *w, const struct metrics_trade *t)
{
    const char *lead = w->space;
    int n = 0;
    fputc('{', w->f);
    jw_member(w, &n, "", "symbol"), jw_str(w, t->symbol);
    jw_member(w, &n, lead, "side"), jw_str(w, side_name(t->side));
    jw_member(w, &n, lead, "qty"), jw_int(w, t->qty);
    jw_member(w, &n, lead, "entry_time"), jw_time(w, t->entry_ts);
    jw_member(w, &n, lead, "entry_price"), jw_px(w, t->entry_px);
    jw_member(w, &n, lead, "exit_time");
    if (t->is_open)
        fputs("null", w->f);
    else
        jw_time(w, t->exit_ts);
    jw_member(w, &n, lead, "exit_price");
    if (t->is_open)
        fputs("null", w->f);
    else
        jw_px(w, t->exit_px);
    jw_member(w, &n, lead, "pnl"), jw_px(w, t->pnl);
    jw_member(w, &n, lead, "pnl_pct"), jw_num(w, result_trade_pnl_pct(t));
    jw_member(w, &n, lead, "charges"), jw_px(w, t->charges);
    jw_member(w, &n, lead, "holding_bars"), jw_int(w, t->holding_bars);
    fputc('}', w->f);
}

static void jw_point(const struct jw *w, const struct metrics_point *p, double drawdown_pct)
{
    int n = 0;
    fputc('{', w->f);
    jw_member(w, &n, "", "time"), jw_time(w, p->ts);
    jw_member(w, &n, w->space, "equity"), jw_px(w, p->equity);
    jw_member(w, &n, w->space, "drawdown_pct"), jw_num(w, drawdown_pct);
    fputc('}', w->f);
}

/* Checks the stream after writing: ATP_EIO with errno's text when anything failed. */
static int finish_stream(FILE *out, const char *what, struct atp_err *err)
{
    int failed = fflush(out) != 0 || ferror(out);
    if (failed)
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "writing the %s failed: %s", what,
                           errno ? strerror(errno) : "stream error");
    return ATP_OK;
}

static int write_json(const struct backtest_result *r, FILE *out, int html, struct atp_err *err)
{
    if (!r->finished)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL,
                           "the result is not finished (call result_finish first)");
    /* Pretty: top level and metrics one member per line, a trade or a point per line. Compact
     * (html): one line. */
    struct jw w = {out, html, html ? ":" : ": ", html ? "" : " "};
    const char *lead1 = html ? "" : "\n  ", *lead2 = html ? "" : "\n    ";
    int n = 0;
    errno = 0;

    fputc('{', out);
    jw_member(&w, &n, lead1, "metrics");
    fputc('{', out);
    jw_metrics(&w, &r->metrics, lead2);
    fputs(lead1, out);
    fputc('}', out);

    jw_member(&w, &n, lead1, "trades");
    fputc('[', out);
    for (size_t i = 0; i < r->n_trades; i++) {
        fputs(i > 0 ? "," : "", out);
        fputs(lead2, out);
        jw_trade(&w, &r->trades[i]);
    }
    fputs(r->n_trades > 0 ? lead1 : "", out);
    fputc(']', out);

    jw_member(&w, &n, lead1, "equity_curve");
    fputc('[', out);
    for (size_t i = 0; i < r->n_points; i++) {
        fputs(i > 0 ? "," : "", out);
        fputs(lead2, out);
        jw_point(&w, &r->points[i], r->drawdown_pct[i]);
    }
    fputs(r->n_points > 0 ? lead1 : "", out);
    fputc(']', out);
    fputs(html ? "}" : "\n}\n", out);
    return finish_stream(out, "JSON", err);
}

int result_write_json(const struct backtest_result *r, FILE *out, struct atp_err *err)
{
    return write_json(r, out, 0, err);
}

int result_write_json_html(const struct backtest_result *r, FILE *out, struct atp_err *err)
{
    return write_json(r, out, 1, err);
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int result_write_trades_csv(const struct backtest_result *r, FILE *out, struct atp_err *err)
{
    if (!r->finished)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL,
                           "the result is not finished (call result_finish first)");
    errno = 0;
    fputs("symbol,side,qty,entry_time,entry_price,exit_time,exit_price,pnl,pnl_pct,charges,"
          "holding_bars\n",
          out);
    for (size_t i = 0; i < r->n_trades; i++) {
        const struct metrics_trade *t = &r->trades[i];
        char entry_time[TS_STR_MAX], exit_time[TS_STR_MAX] = "", entry_px[PX_STR_MAX],
            exit_px[PX_STR_MAX] = "", pnl[PX_STR_MAX], charges[PX_STR_MAX], pct[32] = "";
        ts_format_ist(t->entry_ts, entry_time, sizeof entry_time);
        px_format(t->entry_px, entry_px, sizeof entry_px);
        if (!t->is_open) {
            ts_format_ist(t->exit_ts, exit_time, sizeof exit_time);
            px_format(t->exit_px, exit_px, sizeof exit_px);
        }
        px_format(t->pnl, pnl, sizeof pnl);
        px_format(t->charges, charges, sizeof charges);
        double p = result_trade_pnl_pct(t);
        if (isfinite(p))
            snprintf(pct, sizeof pct, "%.15g", p == 0.0 ? 0.0 : p);
        csv_field(out, t->symbol);
        fprintf(out, ",%s,%lld,%s,%s,%s,%s,%s,%s,%s,%lld\n", side_name(t->side),
                (long long)t->qty, entry_time, entry_px, exit_time, exit_px, pnl, pct, charges,
                (long long)t->holding_bars);
    }
    return finish_stream(out, "trades CSV", err);
}
