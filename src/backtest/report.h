/* backtest/report: the self-contained HTML report of a finished backtest (`atp backtest
 * --report OUT.html`): the run (strategy, parameters, symbols, timeframe, period), a metrics
 * table, equity and drawdown charts drawn by TradingView lightweight-charts (its standalone build
 * inlined into the page), the monthly returns table and the trade list. One file, no network at
 * view time. Sections and formats: docs/backtest-output.md.
 *
 * Everything that comes from the run (strategy and symbol names, parameter names) is escaped for
 * HTML; the data the charts read is the result JSON (backtest/result) in a
 * <script type="application/json"> element with '<', '>' and '&' escaped, so no value can close
 * the element or inject markup. */
#ifndef ATP_BACKTEST_REPORT_H
#define ATP_BACKTEST_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "backtest/result.h"
#include "core/err.h"
#include "core/px.h"

/* Where scripts/deps.sh (npm ci in web/vendor) installs the library, relative to the repository
 * root. */
#define REPORT_LWC_REL \
    "web/vendor/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js"

/* Largest library file the report inlines (the 5.x standalone build is about 200 KB). */
#define REPORT_LWC_MAX_BYTES (16L * 1024 * 1024)

/* The library path to use when the caller has none: $ATP_LWC_JS when set and non-empty; else
 * <directory of the running binary>/../REPORT_LWC_REL when that file is readable (build/atp in a
 * checkout finds the repository's web/vendor); else REPORT_LWC_REL relative to the working
 * directory. Returns a static buffer that the next call overwrites: call it from one thread (the
 * CLI does, before handing the path on). */
const char *report_default_lwc_path(void);

/* Writes the HTML report of r (finished) to out, inlining the JavaScript file at lwc_js_path
 * (the lightweight-charts standalone production build). The library is read whole before
 * anything is written, so a failure there leaves out untouched:
 *   - missing file: ATP_ENOTFOUND, err->file = the path, err->msg saying to run `make` or
 *     scripts/deps.sh, which install it with npm;
 *   - unreadable: ATP_EIO; larger than REPORT_LWC_MAX_BYTES: ATP_ERANGE;
 *   - not the standalone build (no "LightweightCharts" global in it) or text that cannot sit
 *     inside a <script> element ("</script", "<!--"): ATP_EINVAL.
 * ATP_ESTATE when r is not finished, ATP_ENOMEM, ATP_EIO when writing fails (a partial page may
 * then have been written). err may be NULL. Any thread may call it on a finished result. */
int report_write_html(const struct backtest_result *r, const char *lwc_js_path, FILE *out,
                      struct atp_err *err);

/* Rupees in the Indian number format, exact: "₹1,23,456.78", "-₹1,234.50", "₹0.0025" (at least
 * 2 decimals, the 3rd and 4th only when not zero; grouping 3 digits, then 2 by 2). Needs
 * REPORT_INR_MAX bytes; returns the length of the full text like snprintf. */
#define REPORT_INR_MAX 48
int report_format_inr(px_t value, char *buf, size_t size);

#endif
