/* backtest/report: the HTML report of the sample result (result_sample.h, values worked out by
 * hand there). The tests that inline the real lightweight-charts need the file scripts/deps.sh
 * installs (npm ci in web/vendor; `make test` runs it first): when it is missing they FAIL with
 * a message saying so, they are not skipped. */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backtest/report.h"
#include "result_sample.h"
#include "testutil.h"

/* The real library, read whole; fails the test when it is not installed. */
static const char *lib_path(void)
{
    const char *path = tu_root_path(REPORT_LWC_REL);
    cr_assert_eq(access(path, R_OK), 0,
                 "%s is missing: run scripts/deps.sh (or `make test`, which runs it) to install "
                 "lightweight-charts with npm ci",
                 path);
    return path;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *g_lib; /* the path report_html() passes */

static int write_report(const struct backtest_result *r, FILE *f, struct atp_err *err)
{
    return report_write_html(r, g_lib, f, err);
}

static char *report_html(const struct backtest_result *r, const char *lib, int *rc,
                         struct atp_err *err)
{
    g_lib = lib;
    return sample_render(write_report, r, rc, err);
}

static size_t count_ci(const char *hay, const char *needle)
{
    size_t n = 0, m = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, m) == 0)
            n++;
    return n;
}

static void assert_has(const char *html, const char *want)
{
    cr_assert_not_null(strstr(html, want), "the report lacks: %s", want);
}

Test(report, sample_page)
{
    struct backtest_result r;
    sample_build(&r);
    const char *path = lib_path();
    struct atp_err err;
    int rc;
    char *html = report_html(&r, path, &rc, &err);
    cr_assert_eq(rc, ATP_OK, "%s", err.msg);

    /* a whole page, self-contained */
    cr_assert_eq(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 32), 0);
    assert_has(html, "<meta charset=\"utf-8\">");
    assert_has(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    assert_has(html, "</html>\n");
    cr_assert_null(strstr(html, "<script src"), "no external script");
    cr_assert_null(strstr(html, "<link"), "no external stylesheet");
    cr_assert_null(strstr(html, "src=\"http"), "nothing fetched over the network");
    cr_assert_null(strstr(html, "href=\"http"), "nothing fetched over the network");
    cr_assert_null(strstr(html, "@import"), "nothing fetched over the network");

    /* the library inlined, byte for byte, in its own <script> element */
    char *lib = read_all(path);
    cr_assert_not_null(strstr(lib, "TradingView Lightweight Charts"), "marker in the library");
    char *inlined = strstr(html, lib);
    cr_assert_not_null(inlined, "the library is not inlined whole");
    cr_assert_eq(strncmp(inlined - 9, "<script>\n", 9), 0);
    cr_assert_eq(strncmp(inlined + strlen(lib), "\n</script>", 10), 0);
    free(lib);
    cr_assert_eq(count_ci(html, "</script"), 3, "JSON data, library, chart code");

    /* the data: the result JSON (compact, html-safe) and the chart code reading it */
    assert_has(html, "<script type=\"application/json\" id=\"atp-result\">{\"metrics\":{"
                     "\"initial_capital\":100000,\"final_equity\":123456.78,");
    assert_has(html, "{\"time\":\"2024-01-02T15:30:00+05:30\",\"equity\":103200.1,"
                     "\"drawdown_pct\":0}");
    assert_has(html, "\"entry_price\":3200.1,");
    assert_has(html, "<div class=\"chart\" id=\"equity-chart\"></div>");
    assert_has(html, "<div class=\"chart small\" id=\"drawdown-chart\"></div>");
    assert_has(html, "JSON.parse(el.textContent)");
    assert_has(html, "LWC.createChart(");

    /* the header */
    assert_has(html, "<title>Backtest: sma_cross \xC2\xB7 RELIANCE, TCS, INFY</title>");
    assert_has(html, "<dd id=\"run-strategy\">sma_cross</dd>");
    assert_has(html, "<dd id=\"run-params\">fast = 10, slow = 30</dd>");
    assert_has(html, "<dd id=\"run-symbols\">RELIANCE, TCS, INFY</dd>");
    assert_has(html, "<dd id=\"run-timeframe\">1d</dd>");
    assert_has(html, "<dd id=\"run-period\">2024-01-01 15:30 \xE2\x80\x93 2024-02-02 15:30</dd>");
    assert_has(html, "<dd id=\"run-capital\">\xE2\x82\xB9" "1,00,000.00</dd>");

    /* the metrics, formatted */
    static const char *const metrics[] = {
        "<tr><th>Initial capital</th><td>\xE2\x82\xB9" "1,00,000.00</td></tr>",
        "<tr><th>Final equity</th><td>\xE2\x82\xB9" "1,23,456.78</td></tr>",
        "<tr><th>Total return</th><td class=\"pos\">23.46%</td></tr>",
        "<tr><th>Max drawdown</th><td class=\"neg\">-2.13%</td></tr>",
        "<tr><th>Max drawdown (\xE2\x82\xB9)</th><td class=\"neg\">-\xE2\x82\xB9" "2,200.10</td></tr>",
        "<tr><th>Exposure</th><td>60.00%</td></tr>",
        "<tr><th>Total charges</th><td>\xE2\x82\xB9" "34.50</td></tr>",
        "<tr><th>Closed trades</th><td>2</td></tr>",
        "<tr><th>Open at the end</th><td>1</td></tr>",
        "<tr><th>Winning trades</th><td>1</td></tr>",
        "<tr><th>Losing trades</th><td>1</td></tr>",
        "<tr><th>Win rate</th><td>50.00%</td></tr>",
        "<tr><th>Profit factor</th><td>2.88</td></tr>",
        "<tr><th>Average win</th><td class=\"pos\">\xE2\x82\xB9" "1,475.00</td></tr>",
        "<tr><th>Average loss</th><td class=\"neg\">-\xE2\x82\xB9" "511.75</td></tr>",
        "<tr><th>Expectancy</th><td class=\"pos\">\xE2\x82\xB9" "481.63</td></tr>",
        "<tr><th>Average holding (bars)</th><td>3.00</td></tr>",
        "<tr><th>Max consecutive wins</th><td>1</td></tr>",
        "<tr><th>Max consecutive losses</th><td>1</td></tr>",
    };
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
        assert_has(html, metrics[i]);
    char buf[128];
    snprintf(buf, sizeof buf, "<tr><th>Sharpe ratio</th><td>%.2f</td></tr>", r.metrics.sharpe);
    assert_has(html, buf);
    snprintf(buf, sizeof buf, "<tr><th>CAGR</th><td class=\"pos\">%.2f%%</td></tr>",
             r.metrics.cagr_pct);
    assert_has(html, buf);

    /* monthly returns: Jan 1.00 %, Feb 22.23 %, 2024 compounded 23.46 % */
    assert_has(html, "<thead><tr><th>Year</th><th>Jan</th><th>Feb</th><th>Mar</th>");
    assert_has(html, "<th>Dec</th><th>Year</th></tr></thead>");
    assert_has(html, "<tr><th>2024</th><td class=\"pos\">1.00%</td><td class=\"pos\">22.23%</td>"
                     "<td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td>"
                     "<td></td><td></td><td class=\"total pos\">23.46%</td></tr>");

    /* the trade list */
    assert_has(html, "<h2>Trades (3)</h2>");
    assert_has(html, "<tr><td>2</td><td class=\"text\">TCS</td><td class=\"text\">short</td>"
                     "<td>5</td><td>2024-01-02 15:30</td><td>\xE2\x82\xB9" "3,200.10</td>"
                     "<td>2024-02-01 15:30</td><td>\xE2\x82\xB9" "3,300.00</td>"
                     "<td class=\"neg\">-\xE2\x82\xB9" "511.75</td><td class=\"neg\">-3.20%</td>"
                     "<td>\xE2\x82\xB9" "12.25</td><td>4</td></tr>");
    assert_has(html, "<tr class=\"open\"><td>3</td><td class=\"text\">INFY</td>"
                     "<td class=\"text\">long</td><td>3</td><td>2024-02-02 15:30</td>"
                     "<td>\xE2\x82\xB9" "1,500.0025</td><td>open</td><td>\xE2\x80\x94</td>");
    free(html);
    result_cleanup(&r);
}

/* Several years: each row compounds its own months; months without points are blank. */
Test(report, monthly_table_years)
{
    /* capital 100000; 2023-12 110000 (+10 %); 2024-01 99000 (-10 %); 2024-03 108900 (+10 %):
     * 2023 total 10.00 %, 2024 total 0.9 * 1.1 - 1 = -1.00 % */
    static const char *const symbols[] = {"A"};
    struct backtest_result r;
    sample_init_named(&r, "s", symbols, 1);
    cr_assert_eq(result_add_point(&r, ts_from_ist(2023, 12, 29, 15, 30, 0), PX("110000"), 0,
                                  NULL), ATP_OK);
    cr_assert_eq(result_add_point(&r, ts_from_ist(2024, 1, 31, 15, 30, 0), PX("99000"), 0, NULL),
                 ATP_OK);
    cr_assert_eq(result_add_point(&r, ts_from_ist(2024, 3, 28, 15, 30, 0), PX("108900"), 0,
                                  NULL), ATP_OK);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    int rc;
    char *html = report_html(&r, lib_path(), &rc, NULL);
    cr_assert_eq(rc, ATP_OK);
    assert_has(html, "<tr><th>2023</th><td></td><td></td><td></td><td></td><td></td><td></td>"
                     "<td></td><td></td><td></td><td></td><td></td><td class=\"pos\">10.00%</td>"
                     "<td class=\"total pos\">10.00%</td></tr>\n"
                     "<tr><th>2024</th><td class=\"neg\">-10.00%</td><td></td>"
                     "<td class=\"pos\">10.00%</td><td></td><td></td><td></td><td></td><td></td>"
                     "<td></td><td></td><td></td><td></td><td class=\"total neg\">-1.00%</td>"
                     "</tr>");
    free(html);
    result_cleanup(&r);
}

/* Nothing happened: the page still renders, with empty states and dashes. */
Test(report, empty_run)
{
    struct backtest_result r;
    sample_init_named(&r, "idle", NULL, 0);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    int rc;
    char *html = report_html(&r, lib_path(), &rc, NULL);
    cr_assert_eq(rc, ATP_OK);
    assert_has(html, "<dd id=\"run-period\">\xE2\x80\x94</dd>");
    assert_has(html, "<dd id=\"run-symbols\">\xE2\x80\x94</dd>");
    assert_has(html, "<tr><th>Sharpe ratio</th><td>\xE2\x80\x94</td></tr>");
    assert_has(html, "<tr><th>Profit factor</th><td>\xE2\x80\x94</td></tr>");
    assert_has(html, "<h2>Trades (0)</h2>\n<p class=\"empty\">No trades.</p>");
    assert_has(html, "<h2>Monthly returns</h2>\n<p class=\"empty\">No equity points.</p>");
    cr_assert_null(strstr(html, "id=\"equity-chart\""));
    free(html);
    result_cleanup(&r);
}

/* Hostile names cannot close a script element or inject markup anywhere. */
Test(report, hostile_names_escaped)
{
    const char *evil_strategy = "x</script><script>alert(1)</script>";
    const char *evil_symbol = "</SCRIPT ><img src=x onerror=alert(2)><!--&amp;\"'";
    const char *const symbols[] = {evil_symbol};
    struct backtest_result r;
    static const struct ind_param params[] = {{"<b>p</b>", 1}};
    struct result_config cfg = {.strategy = evil_strategy, .params = params, .n_params = 1,
                                .symbols = symbols, .n_symbols = 1,
                                .timeframe = "</script>",
                                .initial_capital = PX_RUPEES(1000)};
    cr_assert_eq(result_init(&r, &cfg, NULL), ATP_OK);
    struct metrics_trade t = {.symbol = evil_symbol, .side = METRICS_LONG, .qty = 1,
                              .entry_ts = sample_close(1, 1), .entry_px = PX("10"),
                              .exit_ts = sample_close(1, 2), .exit_px = PX("11"), .pnl = PX("1")};
    cr_assert_eq(result_add_trade(&r, &t, NULL), ATP_OK);
    cr_assert_eq(result_add_point(&r, sample_close(1, 2), PX("1001"), 0, NULL), ATP_OK);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);
    int rc;
    char *html = report_html(&r, lib_path(), &rc, NULL);
    cr_assert_eq(rc, ATP_OK);

    /* exactly the three script elements of the page open and close */
    cr_assert_eq(count_ci(html, "<script"), 3);
    cr_assert_eq(count_ci(html, "</script"), 3);
    cr_assert_eq(count_ci(html, "<img"), 0);
    cr_assert_eq(count_ci(html, "<b>"), 0);
    cr_assert_eq(count_ci(html, "<!--"), 0);
    /* escaped as text where shown */
    assert_has(html, "<h1>Backtest report: x&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
                     "</h1>");
    assert_has(html, "<dd id=\"run-symbols\">&lt;/SCRIPT &gt;&lt;img src=x onerror=alert(2)&gt;"
                     "&lt;!--&amp;amp;&quot;&#39;</dd>");
    assert_has(html, "<dd id=\"run-params\">&lt;b&gt;p&lt;/b&gt; = 1</dd>");
    assert_has(html, "<dd id=\"run-timeframe\">&lt;/script&gt;</dd>");
    /* and as \u escapes inside the JSON data */
    assert_has(html, "\"symbol\":\"\\u003c/SCRIPT \\u003e\\u003cimg src=x onerror=alert(2)"
                     "\\u003e\\u003c!--\\u0026amp;\\\"'\"");
    /* the data element holds no '<' at all */
    const char *data = strstr(html, "id=\"atp-result\">");
    cr_assert_not_null(data);
    data += strlen("id=\"atp-result\">");
    const char *end = strstr(data, "</script>");
    cr_assert_not_null(end);
    cr_assert_null(memchr(data, '<', (size_t)(end - data)));
    free(html);
    result_cleanup(&r);
}

Test(report, missing_library_is_a_clear_error)
{
    struct backtest_result r;
    sample_build(&r);
    struct atp_err err;
    int rc;
    const char *path = "/nonexistent/web/vendor/lightweight-charts.standalone.production.js";
    char *html = report_html(&r, path, &rc, &err);
    cr_assert_eq(rc, ATP_ENOTFOUND);
    cr_assert_str_eq(err.file, path);
    cr_assert_not_null(strstr(err.msg, "lightweight-charts library not found"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "make"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "scripts/deps.sh"), "%s", err.msg);
    cr_assert_str_eq(html, "", "nothing written");
    char line[512];
    atp_err_format(&err, line, sizeof line);
    cr_assert_not_null(strstr(line, path), "%s", line);
    free(html);

    html = report_html(&r, NULL, &rc, &err);
    cr_assert_eq(rc, ATP_EINVAL);
    free(html);
    result_cleanup(&r);
}

static const char *temp_file(const char *content)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/atp_test_report_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

/* A file that is not the library, or that could break out of <script>, is refused. */
Test(report, unsafe_or_wrong_library_refused)
{
    static const struct {
        const char *content;
        int rc;
        const char *msg;
    } cases[] = {
        {"window.LightweightCharts = {}; var s = '</ScRiPt>';", ATP_EINVAL, "cannot be inlined"},
        {"window.LightweightCharts = {}; // <!-- x", ATP_EINVAL, "cannot be inlined"},
        {"console.log('hello');", ATP_EINVAL, "not the lightweight-charts standalone build"},
        {"window.LightweightCharts = {};", ATP_OK, ""},
    };
    struct backtest_result r;
    sample_build(&r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = temp_file(cases[i].content);
        struct atp_err err;
        int rc;
        char *html = report_html(&r, path, &rc, &err);
        unlink(path);
        cr_assert_eq(rc, cases[i].rc, "case %zu: %d %s", i, rc, err.msg);
        if (rc != ATP_OK) {
            cr_assert_not_null(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
            cr_assert_str_eq(html, "");
        } else {
            cr_assert_not_null(strstr(html, "<script>\nwindow.LightweightCharts = {};\n</script>"));
        }
        free(html);
    }
    result_cleanup(&r);
}

Test(report, not_finished_enomem_and_io)
{
    static const char *const symbols[] = {"A"};
    struct backtest_result r;
    sample_init_named(&r, "s", symbols, 1);
    struct atp_err err;
    int rc;
    char *html = report_html(&r, lib_path(), &rc, &err);
    cr_assert_eq(rc, ATP_ESTATE);
    free(html);
    cr_assert_eq(result_finish(&r, NULL), ATP_OK);

    long base = atp_alloc_live();
    atp_alloc_fail_after(1);
    html = report_html(&r, lib_path(), &rc, &err);
    atp_alloc_fail_after(0);
    cr_assert_eq(rc, ATP_ENOMEM);
    cr_assert_str_eq(html, "");
    cr_assert_eq(atp_alloc_live(), base);
    free(html);

    FILE *full = fopen("/dev/full", "w");
    cr_assert_not_null(full);
    cr_assert_eq(report_write_html(&r, lib_path(), full, &err), ATP_EIO);
    fclose(full);
    cr_assert_eq(atp_alloc_live(), base);
    result_cleanup(&r);
}

Test(report, default_library_path)
{
    setenv("ATP_LWC_JS", "/opt/lwc/custom.js", 1);
    cr_assert_str_eq(report_default_lwc_path(), "/opt/lwc/custom.js");
    setenv("ATP_LWC_JS", "", 1);
    const char *p = report_default_lwc_path();
    size_t n = strlen(p), m = strlen(REPORT_LWC_REL);
    cr_assert(n >= m && strcmp(p + n - m, REPORT_LWC_REL) == 0, "%s", p);
    unsetenv("ATP_LWC_JS");
    p = report_default_lwc_path();
    n = strlen(p);
    cr_assert(n >= m && strcmp(p + n - m, REPORT_LWC_REL) == 0, "%s", p);
}

Test(report, indian_rupee_format)
{
    static const struct {
        const char *px;
        const char *want;
    } cases[] = {
        {"0", "\xE2\x82\xB9" "0.00"},
        {"5", "\xE2\x82\xB9" "5.00"},
        {"100", "\xE2\x82\xB9" "100.00"},
        {"999.99", "\xE2\x82\xB9" "999.99"},
        {"1000", "\xE2\x82\xB9" "1,000.00"},
        {"12345.6", "\xE2\x82\xB9" "12,345.60"},
        {"123456.78", "\xE2\x82\xB9" "1,23,456.78"},
        {"1234567", "\xE2\x82\xB9" "12,34,567.00"},
        {"12345678.9", "\xE2\x82\xB9" "1,23,45,678.90"},
        {"-1234.5", "-\xE2\x82\xB9" "1,234.50"},
        {"-0.05", "-\xE2\x82\xB9" "0.05"},
        {"0.0025", "\xE2\x82\xB9" "0.0025"},
        {"2450.555", "\xE2\x82\xB9" "2,450.555"},
        {"922337203685477.5807", "\xE2\x82\xB9" "92,23,37,20,36,85,477.5807"},
        {"-922337203685477.5807", "-\xE2\x82\xB9" "92,23,37,20,36,85,477.5807"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[REPORT_INR_MAX];
        int n = report_format_inr(PX(cases[i].px), buf, sizeof buf);
        cr_assert_str_eq(buf, cases[i].want, "%s", cases[i].px);
        cr_assert_eq(n, (int)strlen(cases[i].want));
    }
    char small[6];
    cr_assert_eq(report_format_inr(PX_RUPEES(1000), small, sizeof small), 11);
    cr_assert_str_eq(small, "\xE2\x82\xB9" "1,");
}
