/* md/feed/barcsv: bar (OHLCV candle) CSV files.
 *
 * Format (docs/feeds.md): a header row, then one bar per row. Columns are found by name, ASCII
 * case-insensitively: the time from `datetime`, `timestamp`, `date` or `time` (first present in
 * that order; a `date` column plus a `time` column are joined), `open`, `high`, `low`, `close`,
 * and optionally `volume` (absent: 0), `oi` and `symbol`. Other columns are ignored, so Yahoo's
 * `Date,Open,High,Low,Close,Adj Close,Volume` works (Adj Close ignored). Prices are rounded to 4
 * decimals (px_parse_round: Yahoo prints floats like 2450.550049).
 *
 * A date without a time is a trading day: the bar is labelled 09:15 IST that date (date_only).
 * Dates are not checked against the NSE calendar, so any market's daily history loads. Each row
 * is checked: prices > 0, high >= max(open, close), low <= min(open, close), volume >= 0, and
 * bar starts strictly increasing per symbol; every rejection names file, line and field. Yahoo's
 * "null" rows (no data that day) are rejected with a message saying so.
 *
 * Without a symbol column the caller names the one symbol of the file. Single-threaded. */
#ifndef ATP_MD_FEED_BARCSV_H
#define ATP_MD_FEED_BARCSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/csv.h"
#include "core/err.h"
#include "model/bar.h"
#include "model/instrument.h"

#define BARCSV_NO_INSTRUMENT UINT32_MAX /* instrument_id when loading without a registry */

/* One bar of a file. */
struct barcsv_row {
    uint32_t instrument_id;       /* in the registry, or BARCSV_NO_INSTRUMENT without one */
    int date_only;                /* the row had a date and no time (labelled 09:15 IST) */
    long line;                    /* 1-based line in the file */
    char symbol[INST_SYMBOL_MAX]; /* the row's symbol, or the one given ("" when none) */
    struct bar bar;               /* ticks = 1; oi = -1 without an oi column */
};

/* Last bar start per symbol (an open-addressing hash table), for the order check. */
struct barcsv_seen {
    char symbol[INST_SYMBOL_MAX];
    ts_ns last_start;
};

struct barcsv_reader {
    struct csv_reader csv;
    const struct instreg *reg; /* not owned; NULL: symbols are not resolved */
    int col_ts, col_time;      /* col_time >= 0 only when a separate time column is joined */
    int col_open, col_high, col_low, col_close; /* required */
    int col_volume, col_oi, col_symbol;         /* optional, -1 when absent */
    const char *ts_name;       /* header name of the time column, for messages */
    char default_symbol[INST_SYMBOL_MAX]; /* the symbol of a file without a symbol column */
    uint32_t default_id;
    int date_only_mode;        /* -1 before the first row, then 0 (times) or 1 (dates) */
    struct barcsv_seen *seen;  /* symbols seen so far */
    uint32_t *slots;           /* hash slots: index into seen + 1, 0 = empty */
    size_t n_seen, cap_seen, n_slots;
    ts_ns min_gap_ns;          /* smallest positive gap between consecutive bars of a symbol */
    char last_symbol[INST_SYMBOL_MAX]; /* one-entry look-up cache */
    uint32_t last_id;
    int has_last;
};

/* Prepares a reader over f (not owned) and reads the header. reg resolves symbols to instrument
 * ids; with reg NULL nothing is resolved (any market's history loads; ids are
 * BARCSV_NO_INSTRUMENT). symbol names the file's instrument when there is no symbol column
 * (ignored when there is one; may be NULL then). Errors: ATP_EPARSE with err->field naming a
 * missing required column, or for an empty file; ATP_EINVAL (field symbol) when there is a
 * registry, no symbol column and no symbol given, or the symbol is too long; ATP_ENOTFOUND (field
 * symbol) for a symbol not in the registry; ATP_ENOMEM. barcsv_reader_cleanup must be called
 * after init, failed or not. */
int barcsv_reader_init(struct barcsv_reader *r, FILE *f, const char *name,
                       const struct instreg *reg, const char *symbol, struct atp_err *err);
void barcsv_reader_cleanup(struct barcsv_reader *r);

/* Reads and validates the next bar: 1, 0 at the end, or < 0 with err naming file, line, field:
 * ATP_EPARSE (malformed or empty cell, Yahoo null row, a symbol too long), ATP_ERANGE/
 * ATP_EOVERFLOW (from the number parsers), ATP_ENOTFOUND (symbol not in the registry), ATP_EINVAL
 * (a price <= 0, high or low inconsistent, negative volume, a bar start not after the previous
 * bar of its symbol, a mix of date-only and timed rows), ATP_ENOMEM. */
int barcsv_read(struct barcsv_reader *r, struct barcsv_row *out, struct atp_err *err);

/* A whole bar file in memory, rows in file order. */
struct barcsv_file {
    struct barcsv_row *rows;
    size_t n;
    int has_symbol_column; /* rows' symbols come from the file (else all are the given one) */
    int date_only;     /* every row was a date without a time */
    ts_ns min_gap_ns;  /* smallest positive gap between consecutive bars of one symbol; 0: none */
};

#define BARCSV_MAX_ROWS 20000000 /* a bigger file is refused (ATP_ERANGE) rather than exhausting memory */

/* Reads and validates a whole file (see barcsv_reader_init and barcsv_read for errors). On
 * failure *out is empty. The caller owns out (barcsv_file_cleanup). */
int barcsv_load(struct barcsv_file *out, FILE *f, const char *name, const struct instreg *reg,
                const char *symbol, struct atp_err *err);
void barcsv_file_cleanup(struct barcsv_file *file);

/* Timeframe of bars from their spacing: date-only bars are 1d; otherwise min_gap_ns (the smallest
 * positive gap between consecutive bars of one symbol) must equal a timeframe's period (1m, 3m,
 * 5m, 15m, 30m, 1h) or be a whole number of days (daily bars with a time, e.g. Kite's midnight
 * candles: 1d). ATP_EINVAL with a message otherwise, and when min_gap_ns is 0 (no symbol has two
 * bars). */
int barcsv_tf_from_gap(int date_only, ts_ns min_gap_ns, enum tf *out, struct atp_err *err);

/* barcsv_tf_from_gap over a loaded file; err names the file. */
int barcsv_detect_tf(const struct barcsv_file *file, const char *name, enum tf *out,
                     struct atp_err *err);

#endif
