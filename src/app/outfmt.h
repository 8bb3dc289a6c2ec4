/* app/outfmt: how commands print bars and timestamps (CSV or JSON), so every command formats
 * prices and times the same way: prices exact and shortest (px_format), times ISO 8601 in IST. */
#ifndef ATP_APP_OUTFMT_H
#define ATP_APP_OUTFMT_H

#include <jansson.h>
#include <stdio.h>

#include "model/bar.h"

enum outfmt { OUT_CSV = 0, OUT_JSON = 1 };

/* "csv" or "json" -> enum; ATP_EINVAL otherwise. */
int outfmt_parse(const char *text, enum outfmt *out);

/* Bar time as printed: the date alone for date-only inputs, else ISO 8601 IST. */
void outfmt_time(ts_ns t, int date_only, char *buf, size_t size);

/* One bar as a CSV row `time,symbol,open,high,low,close,volume` (no newline handling needed). */
void outfmt_bar_csv(FILE *f, const char *symbol, const struct bar *b);
/* One bar as a JSON object with the same fields (prices as strings of exact decimals would be
 * awkward for charts, so they are JSON numbers printed from exact text). */
json_t *outfmt_bar_json(const char *symbol, const struct bar *b);

/* Writes a JSON value to f, indented, with a newline. Reals print with 15 significant digits, so
 * a fixed-point price (at most 15 digits) prints exactly as it reads ("3200.1", not
 * "3200.0999999999999"). */
void outfmt_json_dump(json_t *value, FILE *f);

/* A number printed exactly from fixed point into JSON (e.g. 2450.55, not 2450.5500000000002). */
json_t *outfmt_px_json(px_t v);

#endif
