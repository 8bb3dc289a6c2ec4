#include "backtest/report.h"

#include "core/paths.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"

const char *report_default_lwc_path(void)
{
    static char buf[PATH_MAX + 160];
    return paths_resolve("ATP_LWC_JS", 0, REPORT_LWC_REL, buf, sizeof buf);
}

/* ---- formatting ------------------------------------------------------------------------- */

int report_format_inr(px_t value, char *buf, size_t size)
{
    char text[PX_STR_MAX];
    px_format_fixed(value, 4, text, sizeof text); /* exact: px_t has 4 decimals */
    const char *s = text;
    int negative = *s == '-';
    if (negative)
        s++;
    const char *dot = strchr(s, '.');
    size_t int_len = (size_t)(dot - s), frac_len = strlen(dot + 1);
    while (frac_len > 2 && dot[frac_len] == '0')
        frac_len--;

    char out[REPORT_INR_MAX];
    size_t o = 0;
    if (negative)
        out[o++] = '-';
    memcpy(out + o, "\xE2\x82\xB9", 3); /* U+20B9 INDIAN RUPEE SIGN */
    o += 3;
    for (size_t i = 0; i < int_len; i++) {
        out[o++] = s[i];
        size_t left = int_len - 1 - i; /* digits still to come */
        if (left == 3 || (left > 3 && (left - 3) % 2 == 0))
            out[o++] = ',';
    }
    out[o++] = '.';
    memcpy(out + o, dot + 1, frac_len);
    o += frac_len;
    out[o] = '\0';
    return snprintf(buf, size, "%s", out);
}

#define DASH "\xE2\x80\x94" /* U+2014, shown for an undefined value */

/* "12.34%", or the dash for NaN; never "-0.00%". */
static void fmt_pct(double v, char *buf, size_t size)
{
    if (!isfinite(v)) {
        snprintf(buf, size, DASH);
        return;
    }
    snprintf(buf, size, "%.2f%%", v);
    if (strcmp(buf, "-0.00%") == 0)
        snprintf(buf, size, "0.00%%");
}

/* A ratio with 2 decimals; the dash for NaN; infinity as the sign. */
static void fmt_ratio(double v, char *buf, size_t size)
{
    if (isinf(v))
        snprintf(buf, size, v > 0 ? "\xE2\x88\x9E" : "-\xE2\x88\x9E"); /* U+221E */
    else if (!isfinite(v))
        snprintf(buf, size, DASH);
    else {
        snprintf(buf, size, "%.2f", v);
        if (strcmp(buf, "-0.00") == 0)
            snprintf(buf, size, "0.00");
    }
}

/* "2024-01-05 09:15" IST (":ss" added when not a whole minute). */
static void fmt_time(ts_ns t, char *buf, size_t size)
{
    struct ts_civil c;
    ts_to_ist(t, &c);
    if (c.second || c.nsec)
        snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour,
                 c.minute, c.second);
    else
        snprintf(buf, size, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour,
                 c.minute);
}

static const char *sign_class(double v)
{
    return !isfinite(v) || v == 0.0 ? "" : v > 0 ? "pos" : "neg";
}

/* Text into HTML element content or a quoted attribute value. */
static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* ---- the library ------------------------------------------------------------------------ */

static int contains_ci(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && tolower((unsigned char)hay[i + j]) == needle[j])
            j++;
        if (j == m)
            return 1;
    }
    return 0;
}

/* Reads the whole library file into *text (atp_malloc'd, NUL-terminated, *len bytes). */
static int read_library(const char *path, char **text, size_t *len, struct atp_err *err)
{
    *text = NULL;
    *len = 0;
    if (!path || !*path)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "lwc_js_path",
                           "no lightweight-charts library path given");
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return atp_err_set(err, ATP_ENOTFOUND, path, 0, NULL,
                               "lightweight-charts library not found: run `make` or "
                               "scripts/deps.sh (npm ci in web/vendor) to install it, or set "
                               "ATP_LWC_JS to the standalone production build");
        return atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open the lightweight-charts "
                           "library: %s", strerror(e));
    }
    int rc = ATP_OK;
    size_t cap = (size_t)256 * 1024, n = 0;
    char *buf = atp_malloc(cap + 1);
    if (!buf) {
        rc = atp_err_set(err, ATP_ENOMEM, path, 0, NULL, "out of memory reading the library");
        goto cleanup;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= (size_t)REPORT_LWC_MAX_BYTES) {
                if (fgetc(f) == EOF && !ferror(f))
                    break; /* exactly the maximum */
                rc = atp_err_set(err, ATP_ERANGE, path, 0, NULL,
                                 "the library is larger than %ld bytes", REPORT_LWC_MAX_BYTES);
                goto cleanup;
            }
            size_t new_cap = cap * 2;
            if (new_cap > (size_t)REPORT_LWC_MAX_BYTES)
                new_cap = (size_t)REPORT_LWC_MAX_BYTES;
            char *p = atp_realloc(buf, new_cap + 1);
            if (!p) {
                rc = atp_err_set(err, ATP_ENOMEM, path, 0, NULL,
                                 "out of memory reading the library");
                goto cleanup;
            }
            buf = p;
            cap = new_cap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot read the lightweight-charts "
                         "library: %s", strerror(errno));
        goto cleanup;
    }
    buf[n] = '\0';
    if (!contains_ci(buf, n, "lightweightcharts")) {
        rc = atp_err_set(err, ATP_EINVAL, path, 0, NULL,
                         "not the lightweight-charts standalone build (it defines no "
                         "LightweightCharts global)");
        goto cleanup;
    }
    if (contains_ci(buf, n, "</script") || contains_ci(buf, n, "<!--")) {
        rc = atp_err_set(err, ATP_EINVAL, path, 0, NULL,
                         "the library holds \"</script\" or \"<!--\" and cannot be inlined in "
                         "a <script> element");
        goto cleanup;
    }
    *text = buf;
    *len = n;
    buf = NULL;

cleanup:
    atp_free(buf);
    fclose(f);
    return rc;
}

/* ---- the page --------------------------------------------------------------------------- */

static const char PAGE_CSS[] =
    ":root{color-scheme:light;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#eef1f4;"
    "--pos:#1a7f37;--neg:#cf222e;--bg-pos:#dafbe1;--bg-neg:#ffebe9}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\","
    "sans-serif;color:var(--fg);background:#f6f8fa}\n"
    "header,main,footer{max-width:1180px;margin:0 auto;padding:16px}\n"
    "footer{color:var(--muted);font-size:.85rem;padding-top:0}\n"
    "h1{font-size:1.45rem;margin:0 0 12px;overflow-wrap:anywhere}\n"
    "h2{font-size:1.1rem;margin:0 0 10px}\n"
    "section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px;"
    "margin:0 0 16px}\n"
    "dl.run{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));"
    "gap:10px 24px;margin:0}\n"
    "dl.run dt{color:var(--muted);font-size:.75rem;text-transform:uppercase;"
    "letter-spacing:.04em}\n"
    "dl.run dd{margin:0;overflow-wrap:anywhere}\n"
    ".metric-tables{display:flex;flex-wrap:wrap;gap:8px 32px}\n"
    ".metric-tables table{flex:1 1 320px;width:auto}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:5px 8px;border-bottom:1px solid var(--soft);text-align:right;"
    "white-space:nowrap}\n"
    "thead th{color:var(--muted);font-weight:600;font-size:.8rem;border-bottom:1px solid "
    "var(--line)}\n"
    "th:first-child,th.text,td.text{text-align:left}\n"
    "table.metrics th{font-weight:normal;color:var(--muted)}\n"
    "table.metrics td{font-weight:600}\n"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\n"
    ".pos{color:var(--pos)}.neg{color:var(--neg)}\n"
    "table.monthly td.pos{background:var(--bg-pos)}table.monthly td.neg{background:var(--bg-neg)}"
    "\ntable.monthly td.total{font-weight:600}\n"
    "tr.open td{font-style:italic}\n"
    ".chart{height:340px;width:100%}.chart.small{height:200px}\n"
    ".empty{color:var(--muted);margin:0}\n"
    "@media (max-width:640px){body{font-size:14px}header,main,footer{padding:8px}"
    "section{padding:10px}.chart{height:260px}.chart.small{height:170px}}\n";

/* Reads the result JSON embedded in the page and draws the two charts. lightweight-charts shows
 * times in UTC, so times are shifted by +05:30 for the axis to read IST. Equal times (several
 * points in one second) keep the last point: the library needs strictly increasing times. */
static const char PAGE_JS[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var LWC = window.LightweightCharts;\n"
    "  var el = document.getElementById('atp-result');\n"
    "  if (!LWC || !el) return;\n"
    "  var data = JSON.parse(el.textContent);\n"
    "  var IST = 19800;\n"
    "  function series(key) {\n"
    "    var out = [];\n"
    "    data.equity_curve.forEach(function (p) {\n"
    "      var v = p[key];\n"
    "      if (v === null) return;\n"
    "      var t = Math.floor(Date.parse(p.time) / 1000) + IST;\n"
    "      var last = out[out.length - 1];\n"
    "      if (last && last.time >= t) { last.value = v; return; }\n"
    "      out.push({ time: t, value: v });\n"
    "    });\n"
    "    return out;\n"
    "  }\n"
    "  if (!data.equity_curve.length) return;\n"
    "  var inr = new Intl.NumberFormat('en-IN', { style: 'currency', currency: 'INR',\n"
    "    minimumFractionDigits: 2, maximumFractionDigits: 2 });\n"
    "  function chart(id) {\n"
    "    return LWC.createChart(document.getElementById(id), {\n"
    "      autoSize: true,\n"
    "      layout: { background: { color: '#ffffff' }, textColor: '#1f2328' },\n"
    "      grid: { vertLines: { color: '#eef1f4' }, horzLines: { color: '#eef1f4' } },\n"
    "      rightPriceScale: { borderColor: '#d1d9e0' },\n"
    "      timeScale: { borderColor: '#d1d9e0', timeVisible: true, secondsVisible: false },\n"
    "      handleScroll: { vertTouchDrag: false }\n"
    "    });\n"
    "  }\n"
    "  var eqChart = chart('equity-chart');\n"
    "  var eq = eqChart.addSeries(LWC.AreaSeries, {\n"
    "    lineColor: '#0969da', lineWidth: 2, topColor: 'rgba(9,105,218,0.28)',\n"
    "    bottomColor: 'rgba(9,105,218,0.02)',\n"
    "    priceFormat: { type: 'custom', minMove: 0.01, formatter: function (v) {\n"
    "      return inr.format(v); } }\n"
    "  });\n"
    "  eq.setData(series('equity'));\n"
    "  eq.createPriceLine({ price: data.metrics.initial_capital, color: '#8c959f',\n"
    "    lineWidth: 1, lineStyle: 2, axisLabelVisible: false, title: 'initial capital' });\n"
    "  var ddChart = chart('drawdown-chart');\n"
    "  var dd = ddChart.addSeries(LWC.BaselineSeries, {\n"
    "    baseValue: { type: 'price', price: 0 }, lineWidth: 1,\n"
    "    bottomLineColor: '#cf222e', bottomFillColor1: 'rgba(207,34,46,0.05)',\n"
    "    bottomFillColor2: 'rgba(207,34,46,0.32)', topLineColor: '#cf222e',\n"
    "    topFillColor1: 'rgba(0,0,0,0)', topFillColor2: 'rgba(0,0,0,0)',\n"
    "    priceFormat: { type: 'custom', minMove: 0.01, formatter: function (v) {\n"
    "      return v.toFixed(2) + '%'; } }\n"
    "  });\n"
    "  dd.setData(series('drawdown_pct'));\n"
    "  function follow(from, to) {\n"
    "    from.timeScale().subscribeVisibleLogicalRangeChange(function (range) {\n"
    "      if (range) to.timeScale().setVisibleLogicalRange(range);\n"
    "    });\n"
    "  }\n"
    "  follow(eqChart, ddChart);\n"
    "  follow(ddChart, eqChart);\n"
    "  eqChart.timeScale().fitContent();\n"
    "  ddChart.timeScale().fitContent();\n"
    "})();\n";

static void metric_row(FILE *f, const char *label, const char *value, const char *cls)
{
    fputs("<tr><th>", f);
    html_text(f, label);
    fprintf(f, "</th><td%s%s%s>", *cls ? " class=\"" : "", cls, *cls ? "\"" : "");
    html_text(f, value);
    fputs("</td></tr>\n", f);
}

static void metric_inr(FILE *f, const char *label, px_t v, int colored)
{
    char buf[REPORT_INR_MAX];
    report_format_inr(v, buf, sizeof buf);
    metric_row(f, label, buf, colored ? sign_class((double)v) : "");
}

static void metric_pct(FILE *f, const char *label, double v, int colored)
{
    char buf[32];
    fmt_pct(v, buf, sizeof buf);
    metric_row(f, label, buf, colored ? sign_class(v) : "");
}

static void metric_ratio(FILE *f, const char *label, double v)
{
    char buf[32];
    fmt_ratio(v, buf, sizeof buf);
    metric_row(f, label, buf, "");
}

static void metric_int(FILE *f, const char *label, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    metric_row(f, label, buf, "");
}

static void write_header(FILE *f, const struct backtest_result *r)
{
    char a[64];
    fputs("<header>\n<h1>Backtest report: ", f);
    html_text(f, r->strategy);
    fputs("</h1>\n<dl class=\"run\">\n<div><dt>Strategy</dt><dd id=\"run-strategy\">", f);
    html_text(f, r->strategy);
    fputs("</dd></div>\n<div><dt>Parameters</dt><dd id=\"run-params\">", f);
    if (r->n_params == 0)
        fputs("none", f);
    for (size_t i = 0; i < r->n_params; i++) {
        fputs(i ? ", " : "", f);
        html_text(f, r->params[i].name);
        snprintf(a, sizeof a, " = %.15g", r->params[i].value);
        html_text(f, a);
    }
    fputs("</dd></div>\n<div><dt>Symbols</dt><dd id=\"run-symbols\">", f);
    if (r->n_symbols == 0)
        fputs(DASH, f);
    for (size_t i = 0; i < r->n_symbols; i++) {
        fputs(i ? ", " : "", f);
        html_text(f, r->symbols[i]);
    }
    fputs("</dd></div>\n<div><dt>Timeframe</dt><dd id=\"run-timeframe\">", f);
    html_text(f, r->timeframe ? r->timeframe : DASH);
    fputs("</dd></div>\n<div><dt>Period (IST)</dt><dd id=\"run-period\">", f);
    if (r->has_period) {
        char b[64];
        fmt_time(r->period_first, a, sizeof a);
        fmt_time(r->period_last, b, sizeof b);
        fprintf(f, "%s \xE2\x80\x93 %s", a, b); /* en dash */
    } else {
        fputs(DASH, f);
    }
    report_format_inr(r->initial_capital, a, sizeof a);
    fprintf(f, "</dd></div>\n<div><dt>Initial capital</dt><dd id=\"run-capital\">%s</dd></div>\n"
               "</dl>\n</header>\n",
            a);
}

static void write_metrics(FILE *f, const struct backtest_result *r)
{
    const struct metrics *m = &r->metrics;
    size_t open = 0;
    for (size_t i = 0; i < r->n_trades; i++)
        open += r->trades[i].is_open != 0;
    fputs("<section id=\"metrics\">\n<h2>Metrics</h2>\n<div class=\"metric-tables\">\n"
          "<table class=\"metrics\" id=\"metrics-returns\"><tbody>\n",
          f);
    metric_inr(f, "Initial capital", m->initial_capital, 0);
    metric_inr(f, "Final equity", m->final_equity, 0);
    metric_pct(f, "Total return", m->total_return_pct, 1);
    metric_pct(f, "CAGR", m->cagr_pct, 1);
    metric_pct(f, "Max drawdown", m->max_drawdown_pct, 1);
    metric_inr(f, "Max drawdown (\xE2\x82\xB9)", m->max_drawdown_abs, 1);
    metric_ratio(f, "Sharpe ratio", m->sharpe);
    metric_ratio(f, "Sortino ratio", m->sortino);
    metric_ratio(f, "Calmar ratio", m->calmar);
    metric_pct(f, "Exposure", m->exposure_pct, 0);
    metric_inr(f, "Total charges", m->total_charges, 0);
    fputs("</tbody></table>\n<table class=\"metrics\" id=\"metrics-trades\"><tbody>\n", f);
    metric_int(f, "Closed trades", m->trades);
    metric_int(f, "Open at the end", (int64_t)open);
    metric_int(f, "Winning trades", m->winning_trades);
    metric_int(f, "Losing trades", m->losing_trades);
    metric_pct(f, "Win rate", m->win_rate_pct, 0);
    metric_ratio(f, "Profit factor", m->profit_factor);
    metric_inr(f, "Average win", m->avg_win, 1);
    metric_inr(f, "Average loss", m->avg_loss, 1);
    metric_inr(f, "Expectancy", m->expectancy, 1);
    metric_ratio(f, "Average holding (bars)", m->avg_holding_bars);
    metric_int(f, "Max consecutive wins", m->max_consecutive_wins);
    metric_int(f, "Max consecutive losses", m->max_consecutive_losses);
    fputs("</tbody></table>\n</div>\n</section>\n", f);
}

static void write_charts(FILE *f, const struct backtest_result *r)
{
    fputs("<section id=\"equity\">\n<h2>Equity curve</h2>\n", f);
    if (r->n_points == 0)
        fputs("<p class=\"empty\">No equity points.</p>\n", f);
    else
        fputs("<div class=\"chart\" id=\"equity-chart\"></div>\n", f);
    fputs("</section>\n<section id=\"drawdown\">\n<h2>Drawdown</h2>\n", f);
    if (r->n_points == 0)
        fputs("<p class=\"empty\">No equity points.</p>\n", f);
    else
        fputs("<div class=\"chart small\" id=\"drawdown-chart\"></div>\n", f);
    fputs("</section>\n", f);
}

static void month_cell(FILE *f, double pct, int present, int total)
{
    char buf[32];
    if (!present) {
        fputs("<td></td>", f);
        return;
    }
    fmt_pct(pct, buf, sizeof buf);
    const char *cls = sign_class(pct);
    if (total)
        fprintf(f, "<td class=\"total%s%s\">%s</td>", *cls ? " " : "", cls, buf);
    else
        fprintf(f, "<td%s%s%s>%s</td>", *cls ? " class=\"" : "", cls, *cls ? "\"" : "", buf);
}

/* Years as rows, months as columns; the year's total compounds its months:
 * (prod (1 + r_m / 100) - 1) * 100, which equals the year's last equity against the last equity
 * before the year, months without points having changed nothing. NaN when any month is. */
static void write_monthly(FILE *f, const struct backtest_result *r)
{
    static const char *names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    fputs("<section id=\"monthly\">\n<h2>Monthly returns</h2>\n", f);
    if (r->n_months == 0) {
        fputs("<p class=\"empty\">No equity points.</p>\n</section>\n", f);
        return;
    }
    fputs("<div class=\"scroll\"><table class=\"monthly\">\n<thead><tr><th>Year</th>", f);
    for (int m = 0; m < 12; m++)
        fprintf(f, "<th>%s</th>", names[m]);
    fputs("<th>Year</th></tr></thead>\n<tbody>\n", f);
    size_t i = 0;
    while (i < r->n_months) {
        int year = r->months[i].year;
        double pct[12];
        int present[12] = {0};
        double growth = 1.0;
        for (; i < r->n_months && r->months[i].year == year; i++) {
            int m = r->months[i].month - 1;
            pct[m] = r->months[i].return_pct;
            present[m] = 1;
            growth *= 1.0 + r->months[i].return_pct / 100.0; /* NaN propagates */
        }
        fprintf(f, "<tr><th>%d</th>", year);
        for (int m = 0; m < 12; m++)
            month_cell(f, present[m] ? pct[m] : 0.0, present[m], 0);
        month_cell(f, (growth - 1.0) * 100.0, 1, 1);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n<p class=\"empty\">IST calendar months: the month's last "
          "equity against the previous month's (the initial capital for the first).</p>\n"
          "</section>\n",
          f);
}

static void write_trades(FILE *f, const struct backtest_result *r)
{
    fprintf(f, "<section id=\"trades\">\n<h2>Trades (%zu)</h2>\n", r->n_trades);
    if (r->n_trades == 0) {
        fputs("<p class=\"empty\">No trades.</p>\n</section>\n", f);
        return;
    }
    fputs("<div class=\"scroll\"><table class=\"trades\">\n<thead><tr><th>#</th>"
          "<th class=\"text\">Symbol</th><th class=\"text\">Side</th><th>Qty</th><th>Entry (IST)</th><th>Entry price</th>"
          "<th>Exit (IST)</th><th>Exit price</th><th>P&amp;L</th><th>P&amp;L %</th>"
          "<th>Charges</th><th>Bars</th></tr></thead>\n<tbody>\n",
          f);
    for (size_t i = 0; i < r->n_trades; i++) {
        const struct metrics_trade *t = &r->trades[i];
        char entry_t[64], exit_t[64], entry_px[REPORT_INR_MAX], exit_px[REPORT_INR_MAX],
            pnl[REPORT_INR_MAX], charges[REPORT_INR_MAX], pct[32];
        fmt_time(t->entry_ts, entry_t, sizeof entry_t);
        report_format_inr(t->entry_px, entry_px, sizeof entry_px);
        if (t->is_open) {
            snprintf(exit_t, sizeof exit_t, "open");
            snprintf(exit_px, sizeof exit_px, DASH);
        } else {
            fmt_time(t->exit_ts, exit_t, sizeof exit_t);
            report_format_inr(t->exit_px, exit_px, sizeof exit_px);
        }
        report_format_inr(t->pnl, pnl, sizeof pnl);
        report_format_inr(t->charges, charges, sizeof charges);
        double p = result_trade_pnl_pct(t);
        fmt_pct(p, pct, sizeof pct);
        const char *cls = sign_class((double)t->pnl);
        fprintf(f, "<tr%s><td>%zu</td><td class=\"text\">", t->is_open ? " class=\"open\"" : "",
                i + 1);
        html_text(f, t->symbol);
        fprintf(f, "</td><td class=\"text\">%s</td><td>%lld</td><td>%s</td><td>%s</td>"
                   "<td>%s</td><td>%s</td><td class=\"%s\">%s</td><td class=\"%s\">%s</td>"
                   "<td>%s</td><td>%lld</td></tr>\n",
                t->side == METRICS_SHORT ? "short" : "long", (long long)t->qty, entry_t,
                entry_px, exit_t, exit_px, cls, pnl, cls, pct, charges,
                (long long)t->holding_bars);
    }
    fputs("</tbody></table></div>\n", f);
    fputs("<p class=\"empty\">P&amp;L is net of charges; a trade still open at the end shows its "
          "P&amp;L at the last close.</p>\n</section>\n",
          f);
}

int report_write_html(const struct backtest_result *r, const char *lwc_js_path, FILE *out,
                      struct atp_err *err)
{
    if (!r->finished)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL,
                           "the result is not finished (call result_finish first)");
    char *lib = NULL;
    size_t lib_len = 0;
    int rc = read_library(lwc_js_path, &lib, &lib_len, err);
    if (rc != ATP_OK)
        return rc;

    errno = 0;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"ATP " ATP_VERSION "\">\n<title>Backtest: ",
          out);
    html_text(out, r->strategy);
    for (size_t i = 0; i < r->n_symbols && i < 5; i++) {
        fputs(i ? ", " : " \xC2\xB7 ", out); /* middle dot */
        html_text(out, r->symbols[i]);
    }
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", PAGE_CSS);
    write_header(out, r);
    fputs("<main>\n", out);
    write_metrics(out, r);
    write_charts(out, r);
    write_monthly(out, r);
    write_trades(out, r);
    fputs("</main>\n<footer>Generated by ATP " ATP_VERSION ". All times IST (UTC+05:30). Charts "
          "by TradingView Lightweight Charts\xE2\x84\xA2 (Apache License 2.0), inlined.</footer>\n",
          out);

    fputs("<script type=\"application/json\" id=\"atp-result\">", out);
    rc = result_write_json_html(r, out, err);
    if (rc == ATP_OK) {
        fputs("</script>\n<script>\n", out);
        fwrite(lib, 1, lib_len, out);
        fprintf(out, "\n</script>\n<script>\n%s</script>\n</body>\n</html>\n", PAGE_JS);
        if (fflush(out) != 0 || ferror(out))
            rc = atp_err_set(err, ATP_EIO, NULL, 0, NULL, "writing the HTML report failed: %s",
                             errno ? strerror(errno) : "stream error");
    }
    atp_free(lib);
    return rc;
}
