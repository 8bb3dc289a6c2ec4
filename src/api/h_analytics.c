/* api/h_analytics: an account's performance per period and mode (issue 5 §7), from its stored
 * fills, computed by analytics/analytics.h (the backtester's trips and metrics). See
 * h_analytics.h and docs/api.md "Analytics".
 *
 * Paper and live are always separate: a request names one mode, and only that mode's fills go
 * in. Periods end at the market's clock (paper fills carry market time: the simulator may run
 * ahead of the wall clock) and start at the IST midnight of the day (day), 7, 30 or 365 days
 * before it (week, month, year), or at the first fill (all). */
#include "api/h_analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "analytics/analytics.h"
#include "api/hutil.h"
#include "api/jbuf.h"
#include "api/json_err.h"
#include "api/market.h"
#include "api/request.h"
#include "api/trading.h"
#include "core/alloc.h"

#define FILLS_PAGE 500u
#define FILLS_MAX 200000u   /* an account's fills read for one answer */
#define BENCHMARK "NIFTY"   /* the index the feed carries */

static const char *const weekday_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

/* Everything one answer needs, loaded and computed. */
struct report {
    const char *mode;            /* "PAPER" | "LIVE" */
    const char *period;          /* day | week | month | year | all */
    ts_ns from, to;
    struct store_fill *fills;
    struct analytics_fill *afills;
    size_t n_fills;
    struct analytics a;
    int computed;
};

static void report_free(struct report *r)
{
    atp_free(r->fills);
    atp_free(r->afills);
    if (r->computed)
        analytics_free(&r->a);
}

static void jnum(struct jbuf *b, double v)
{
    if (isfinite(v))
        jbuf_printf(b, "%.6g", v);
    else
        jbuf_printf(b, "null");
}

static int by_time(const void *x, const void *y)
{
    const struct store_fill *a = x, *b = y;
    if (a->ts_ns != b->ts_ns)
        return a->ts_ns < b->ts_ns ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The period's bounds from ?period= (default all), ending at the market's clock. 0, or -1 after
 * a 422. */
static int period_of(struct api_request *req, struct api_response *res, struct report *r)
{
    char text[16] = "all";
    if (api_query_get(req->query, "period", text, sizeof text) != ATP_OK || !text[0])
        snprintf(text, sizeof text, "all");
    static const char *const names[] = {"day", "week", "month", "year", "all"};
    static const int days[] = {0, 7, 30, 365, -1};
    int k = -1;
    for (int i = 0; i < 5; i++)
        if (strcasecmp(text, names[i]) == 0)
            k = i;
    if (k < 0) {
        api_error(res, 422, "invalid_query", "period", "period must be day, week, month, year or all");
        return -1;
    }
    r->period = names[k];
    struct api_market *m = api_market_current();
    struct api_market_status st = {0};
    if (m)
        api_market_status(m, &st);
    r->to = m && st.market_ts > 0 ? st.market_ts : (ts_ns)time(NULL) * TS_NS_PER_SEC;
    if (days[k] < 0)
        r->from = INT64_MIN;
    else if (days[k] == 0)
        r->from = ts_ist_midnight(ts_ist_day(r->to));
    else
        r->from = r->to - (ts_ns)days[k] * 86400 * TS_NS_PER_SEC;
    return 0;
}

/* Loads the account's fills of the mode, computes the analytics. 0, or -1 after an answer. */
static int load(struct api_request *req, struct api_response *res, struct report *r)
{
    memset(r, 0, sizeof *r);
    struct api_market *m = api_market_current();
    if (!hutil_have_store(req, res))
        return -1;
    if (!m) {
        api_error(res, 503, "market_unavailable", NULL, "this server runs without market data (atp serve --feed none)");
        return -1;
    }
    char mode[16] = "paper";
    if (api_query_get(req->query, "mode", mode, sizeof mode) == ATP_OK && mode[0] &&
        strcasecmp(mode, "paper") != 0 && strcasecmp(mode, "live") != 0) {
        api_error(res, 422, "invalid_query", "mode", "mode must be paper or live (never mixed)");
        return -1;
    }
    r->mode = strcasecmp(mode, "live") == 0 ? "LIVE" : "PAPER";
    if (period_of(req, res, r))
        return -1;
    int64_t account_id = hutil_parse_id(api_param(req, "id"));
    struct store_funds funds;
    struct atp_err err;
    px_t capital = TRADING_DEFAULT_CAPITAL;
    if (store_funds_get(req->store, account_id, &funds, &err) == ATP_OK)
        capital = funds.initial_capital_px;
    /* Every fill of the account (positions opened before the period count), then this mode's. */
    size_t cap = 0;
    struct store_page page = {0, FILLS_PAGE};
    for (;;) {
        if (r->n_fills + FILLS_PAGE > cap) {
            size_t ncap = cap ? 2 * cap : 4 * FILLS_PAGE;
            struct store_fill *f = atp_reallocarray(r->fills, ncap, sizeof *f);
            if (!f) {
                api_error(res, 500, "internal", NULL, "out of memory");
                return -1;
            }
            r->fills = f;
            cap = ncap;
        }
        struct store_page_out out;
        if (store_fill_list(req->store, account_id, &page, r->fills + r->n_fills, &out, &err) != ATP_OK) {
            api_error(res, 500, "store_error", NULL, "cannot read the fills");
            return -1;
        }
        size_t base = r->n_fills; /* the page was read at base; keep this mode's, in place */
        for (uint32_t i = 0; i < out.count; i++)
            if (strcasecmp(r->fills[base + i].mode, r->mode) == 0)
                r->fills[r->n_fills++] = r->fills[base + i];
        if (!out.next_cursor)
            break;
        if (r->n_fills >= FILLS_MAX) {
            api_error(res, 422, "too_many_fills", NULL, "the account has over %u fills: ask for a shorter period",
                      FILLS_MAX);
            return -1;
        }
        page.cursor = out.next_cursor;
    }
    qsort(r->fills, r->n_fills, sizeof *r->fills, by_time);
    const struct instreg *reg = api_market_registry(m);
    r->afills = atp_calloc(r->n_fills ? r->n_fills : 1, sizeof *r->afills);
    struct analytics_mark *marks = atp_calloc(r->n_fills ? r->n_fills : 1, sizeof *marks);
    if (!r->afills || !marks) {
        atp_free(marks);
        api_error(res, 500, "internal", NULL, "out of memory");
        return -1;
    }
    size_t n_marks = 0;
    for (size_t i = 0; i < r->n_fills; i++) {
        const struct store_fill *f = &r->fills[i];
        const struct instrument *in = instreg_find(reg, f->symbol);
        struct analytics_fill *af = &r->afills[i];
        af->fill = (struct fill){.order_id = (uint64_t)f->order_id, .account_id = (uint64_t)account_id,
                                 .instrument_id = in ? in->id : UINT32_MAX, .qty = f->qty, .price = f->price_px,
                                 .ts = f->ts_ns, .mode = TRADE_MODE_PAPER};
        snprintf(af->fill.fill_id, sizeof af->fill.fill_id, "%lld", (long long)f->id);
        order_side_parse(f->side, &af->fill.side);
        if (order_product_parse(f->product, &af->product) != ATP_OK)
            af->product = ORDER_PRODUCT_CNC;
        af->strategy_id = (uint64_t)f->strategy_id;
        af->charges = f->charges_px;
        af->symbol = f->symbol;
        int seen = 0; /* one mark per instrument: the market's last price now */
        for (size_t k = 0; k < n_marks && !seen; k++)
            seen = marks[k].instrument_id == af->fill.instrument_id;
        struct api_market_quote q;
        if (in && !seen) {
            api_market_quote(m, in->id, &q);
            if (q.has_data && q.last > 0)
                marks[n_marks++] = (struct analytics_mark){in->id, q.last};
        }
    }
    struct analytics_input in = {.initial_capital = capital, .fills = r->afills, .n_fills = r->n_fills,
                                 .from = r->from, .to = r->to, .marks = marks, .n_marks = n_marks,
                                 .n_instruments = instreg_count(reg), .risk_free_annual = 0};
    atp_err_clear(&err);
    int rc = analytics_compute(&in, &r->a, &err);
    r->computed = 1;
    atp_free(marks);
    if (rc != ATP_OK) {
        api_error(res, 422, "invalid_data", err.field[0] ? err.field : NULL, "cannot compute: %s", err.msg);
        return -1;
    }
    return 0;
}

/* The benchmark's return over the period from the feed's daily bars (the last close before the
 * period, else the first open in it, to the latest price). NAN when the feed has no such data. */
static double benchmark_return_pct(ts_ns from)
{
    struct api_market *m = api_market_current();
    const struct instrument *in = instreg_find(api_market_registry(m), BENCHMARK);
    if (!in)
        return NAN;
    enum { N = 400 };
    struct bar *bars = atp_calloc(N, sizeof *bars), forming;
    uint32_t n = 0;
    int has_forming = 0;
    if (!bars)
        return NAN;
    api_market_candles(m, in->id, TF_1D, N, bars, &n, &forming, &has_forming);
    px_t base = 0, last = has_forming ? forming.close : n ? bars[n - 1].close : 0;
    for (uint32_t i = 0; i < n; i++)
        if (bars[i].start < from || from == INT64_MIN)
            base = from == INT64_MIN ? (base ? base : bars[i].open) : bars[i].close;
    if (!base)
        base = n ? bars[0].open : has_forming ? forming.open : 0;
    atp_free(bars);
    return base > 0 && last > 0 ? (px_to_double(last) / px_to_double(base) - 1.0) * 100.0 : NAN;
}

static void trade_json(struct jbuf *b, const struct analytics *a, size_t i)
{
    const struct metrics_trade *t = &a->trades[i];
    char when[TS_STR_MAX];
    jbuf_printf(b, "{\"symbol\":");
    jbuf_str(b, t->symbol ? t->symbol : "");
    jbuf_printf(b, ",\"strategy_id\":%llu,\"side\":\"%s\",\"qty\":%lld,\"entry_time\":\"",
                (unsigned long long)a->trade_strategy[i], t->side == METRICS_LONG ? "LONG" : "SHORT",
                (long long)t->qty);
    ts_format_ist(t->entry_ts, when, sizeof when);
    jbuf_printf(b, "%s\",\"entry_price\":", when);
    jbuf_px(b, t->entry_px);
    if (t->is_open) {
        jbuf_printf(b, ",\"exit_time\":null,\"exit_price\":null,\"open\":true");
    } else {
        ts_format_ist(t->exit_ts, when, sizeof when);
        jbuf_printf(b, ",\"exit_time\":\"%s\",\"exit_price\":", when);
        jbuf_px(b, t->exit_px);
        jbuf_printf(b, ",\"holding_s\":%lld,\"open\":false", (long long)((t->exit_ts - t->entry_ts) / TS_NS_PER_SEC));
    }
    jbuf_printf(b, ",\"pnl\":");
    jbuf_px(b, t->pnl);
    jbuf_printf(b, ",\"charges\":");
    jbuf_px(b, t->charges);
    jbuf_printf(b, "}");
}

static void bucket_json(struct jbuf *b, const char *key, const char *label, const struct analytics_bucket *k)
{
    jbuf_printf(b, "{\"%s\":%s,\"trades\":%lld,\"wins\":%lld,\"pnl\":", key, label, (long long)k->trades,
                (long long)k->wins);
    jbuf_px(b, k->pnl);
    jbuf_printf(b, "}");
}

void h_analytics_summary(struct api_request *req, struct api_response *res)
{
    struct report r;
    if (load(req, res, &r)) {
        report_free(&r);
        return;
    }
    const struct metrics *s = &r.a.summary;
    struct jbuf b = {0};
    char when[TS_STR_MAX];
    jbuf_printf(&b, "{\"account_id\":%lld,\"mode\":\"%s\",\"period\":\"%s\",\"from\":",
                (long long)hutil_parse_id(api_param(req, "id")), r.mode, r.period);
    if (r.from == INT64_MIN) {
        jbuf_printf(&b, "null");
    } else {
        ts_format_ist(r.from, when, sizeof when);
        jbuf_printf(&b, "\"%s\"", when);
    }
    ts_format_ist(r.to, when, sizeof when);
    jbuf_printf(&b, ",\"to\":\"%s\",\"equity_start\":", when);
    jbuf_px(&b, r.a.equity_start);
    jbuf_printf(&b, ",\"equity_end\":");
    jbuf_px(&b, s->final_equity);
    jbuf_printf(&b, ",\"return_pct\":");
    jnum(&b, s->total_return_pct);
    jbuf_printf(&b, ",\"max_drawdown_pct\":");
    jnum(&b, s->max_drawdown_pct);
    jbuf_printf(&b, ",\"max_drawdown\":");
    jbuf_px(&b, s->max_drawdown_abs);
    jbuf_printf(&b, ",\"sharpe\":");
    jnum(&b, s->sharpe);
    jbuf_printf(&b, ",\"sortino\":");
    jnum(&b, s->sortino);
    jbuf_printf(&b, ",\"win_rate_pct\":");
    jnum(&b, s->win_rate_pct);
    jbuf_printf(&b, ",\"profit_factor\":");
    jnum(&b, s->profit_factor);
    jbuf_printf(&b, ",\"avg_win\":");
    jbuf_px(&b, s->avg_win);
    jbuf_printf(&b, ",\"avg_loss\":");
    jbuf_px(&b, s->avg_loss);
    jbuf_printf(&b, ",\"trades\":%lld,\"winning_trades\":%lld,\"losing_trades\":%lld,\"realized_pnl\":",
                (long long)s->trades, (long long)s->winning_trades, (long long)s->losing_trades);
    jbuf_px(&b, r.a.realized);
    jbuf_printf(&b, ",\"charges\":");
    jbuf_px(&b, r.a.charges);
    double bench = benchmark_return_pct(r.from);
    jbuf_printf(&b, ",\"benchmark\":{\"symbol\":\"%s\",\"return_pct\":", BENCHMARK);
    jnum(&b, bench);
    jbuf_printf(&b, ",\"excess_return_pct\":");
    jnum(&b, s->total_return_pct - bench);
    jbuf_printf(&b, "},\"trade_stats\":{\"avg_holding_s\":");
    jnum(&b, r.a.avg_holding_s);
    jbuf_printf(&b, ",\"min_holding_s\":%lld,\"max_holding_s\":%lld,\"max_consecutive_wins\":%lld,"
                    "\"max_consecutive_losses\":%lld,\"best\":",
                (long long)r.a.min_holding_s, (long long)r.a.max_holding_s, (long long)s->max_consecutive_wins,
                (long long)s->max_consecutive_losses);
    if (r.a.best_trade >= 0)
        trade_json(&b, &r.a, (size_t)r.a.best_trade);
    else
        jbuf_printf(&b, "null");
    jbuf_printf(&b, ",\"worst\":");
    if (r.a.worst_trade >= 0)
        trade_json(&b, &r.a, (size_t)r.a.worst_trade);
    else
        jbuf_printf(&b, "null");
    jbuf_printf(&b, ",\"by_hour\":[");
    int first = 1;
    for (int h = 0; h < 24; h++)
        if (r.a.by_hour[h].trades) {
            char label[8];
            snprintf(label, sizeof label, "%d", h);
            jbuf_printf(&b, first ? "" : ",");
            bucket_json(&b, "hour", label, &r.a.by_hour[h]);
            first = 0;
        }
    jbuf_printf(&b, "],\"by_weekday\":[");
    first = 1;
    for (int d = 0; d < 7; d++)
        if (r.a.by_weekday[d].trades) {
            char label[8];
            snprintf(label, sizeof label, "\"%s\"", weekday_names[d]);
            jbuf_printf(&b, first ? "" : ",");
            bucket_json(&b, "weekday", label, &r.a.by_weekday[d]);
            first = 0;
        }
    jbuf_printf(&b, "]},\"strategies\":[");
    for (size_t i = 0; i < r.a.n_strategies; i++) {
        const struct analytics_strategy *st = &r.a.strategies[i];
        jbuf_printf(&b, "%s{\"strategy_id\":%llu,\"trades\":%lld,\"wins\":%lld,\"losses\":%lld,\"net_pnl\":",
                    i ? "," : "", (unsigned long long)st->strategy_id, (long long)st->trades, (long long)st->wins,
                    (long long)st->losses);
        jbuf_px(&b, st->net_pnl);
        jbuf_printf(&b, ",\"charges\":");
        jbuf_px(&b, st->charges);
        jbuf_printf(&b, ",\"win_rate_pct\":");
        jnum(&b, st->win_rate_pct);
        jbuf_printf(&b, "}");
    }
    jbuf_printf(&b, "],\"open_trades\":%zu}", r.a.n_trades - (size_t)s->trades);
    report_free(&r);
    jbuf_send(&b, res, 200);
}

void h_analytics_equity(struct api_request *req, struct api_response *res)
{
    struct report r;
    if (load(req, res, &r)) {
        report_free(&r);
        return;
    }
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"mode\":\"%s\",\"period\":\"%s\",\"items\":[", r.mode, r.period);
    for (size_t i = 0; i < r.a.n_points; i++) {
        char when[TS_STR_MAX];
        ts_format_ist(r.a.points[i].ts, when, sizeof when);
        jbuf_printf(&b, "%s{\"time\":\"%s\",\"ts_ns\":%lld,\"equity\":", i ? "," : "", when,
                    (long long)r.a.points[i].ts);
        jbuf_px(&b, r.a.points[i].equity);
        jbuf_printf(&b, ",\"drawdown_pct\":");
        jnum(&b, r.a.drawdown_pct[i]);
        jbuf_printf(&b, "}");
    }
    jbuf_printf(&b, "]}");
    report_free(&r);
    jbuf_send(&b, res, 200);
}

void h_analytics_trades(struct api_request *req, struct api_response *res)
{
    struct report r;
    if (load(req, res, &r)) {
        report_free(&r);
        return;
    }
    char format[8] = "json";
    api_query_get(req->query, "format", format, sizeof format);
    struct jbuf b = {0};
    int csv = strcasecmp(format, "csv") == 0;
    if (!csv && strcasecmp(format, "json") != 0 && format[0]) {
        report_free(&r);
        api_error(res, 422, "invalid_query", "format", "format must be json or csv");
        return;
    }
    if (csv)
        jbuf_printf(&b, "symbol,strategy_id,side,qty,entry_time,entry_price,exit_time,exit_price,pnl,charges,open\n");
    else
        jbuf_printf(&b, "{\"mode\":\"%s\",\"period\":\"%s\",\"items\":[", r.mode, r.period);
    for (size_t i = 0; i < r.a.n_trades; i++) {
        if (!csv) {
            jbuf_printf(&b, i ? "," : "");
            trade_json(&b, &r.a, i);
            continue;
        }
        const struct metrics_trade *t = &r.a.trades[i];
        char entry[TS_STR_MAX], exit_t[TS_STR_MAX] = "", ep[32], xp[32] = "", pnl[32], ch[32];
        ts_format_ist(t->entry_ts, entry, sizeof entry);
        px_format(t->entry_px, ep, sizeof ep);
        if (!t->is_open) {
            ts_format_ist(t->exit_ts, exit_t, sizeof exit_t);
            px_format(t->exit_px, xp, sizeof xp);
        }
        px_format(t->pnl, pnl, sizeof pnl);
        px_format(t->charges, ch, sizeof ch);
        /* Symbols are registry symbols (letters, digits, & and -): no CSV quoting needed. */
        jbuf_printf(&b, "%s,%llu,%s,%lld,%s,%s,%s,%s,%s,%s,%s\n", t->symbol ? t->symbol : "",
                    (unsigned long long)r.a.trade_strategy[i], t->side == METRICS_LONG ? "LONG" : "SHORT",
                    (long long)t->qty, entry, ep, exit_t, xp, pnl, ch, t->is_open ? "true" : "false");
    }
    if (!csv)
        jbuf_printf(&b, "]}");
    report_free(&r);
    if (csv) {
        char *text = jbuf_take(&b);
        if (!text) {
            api_error(res, 500, "internal", NULL, "out of memory");
            return;
        }
        res->status = 200;
        res->text = text;
        res->text_len = strlen(text);
        res->content_type = "text/csv; charset=utf-8";
        return;
    }
    jbuf_send(&b, res, 200);
}
