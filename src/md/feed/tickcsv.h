/* md/feed/tickcsv: tick CSV files, read and written.
 *
 * Format (docs/feeds.md): a header row, then one tick per row. Columns are found by name, ASCII
 * case-insensitively, in any order: `timestamp` (ISO 8601 with or without an offset, no offset
 * meaning IST, or epoch milliseconds), `symbol` (the standard symbol in the instrument registry),
 * `ltp`, and optionally `qty` (traded in this tick), `volume` (cumulative day volume), `bid`,
 * `ask`, `oi`. Other columns are ignored. Empty optional cells leave the tick's flag unset.
 * '#' lines and blank lines are skipped, and so is a repeat of the header row (files joined with
 * cat). Prices are exact decimals (at most 4 decimals; never parsed through double).
 *
 * The reader parses only: it does not check time order (the replay feed does). It never allocates
 * per row. Single-threaded. */
#ifndef ATP_MD_FEED_TICKCSV_H
#define ATP_MD_FEED_TICKCSV_H

#include <stdint.h>
#include <stdio.h>

#include "core/csv.h"
#include "core/err.h"
#include "model/instrument.h"
#include "model/tick.h"

struct tickcsv_reader {
    struct csv_reader csv;     /* the one CSV reader (csv.line = last row read) */
    const struct instreg *reg; /* symbol -> instrument id (not owned) */
    int col_ts, col_symbol, col_ltp; /* required columns */
    int col_qty, col_volume, col_bid, col_ask, col_oi; /* optional, -1 when absent */
    char last_symbol[INST_SYMBOL_MAX]; /* one-entry look-up cache */
    uint32_t last_id;
    int has_last;
};

/* Prepares a reader over f (not owned, not closed) and reads the header row. name is used in
 * messages and kept by pointer. Fails with ATP_EPARSE and err->field naming the column when a
 * required column (timestamp, symbol, ltp) is missing, or when the file is empty; with the CSV
 * reader's errors otherwise. tickcsv_reader_cleanup must be called after init, failed or not. */
int tickcsv_reader_init(struct tickcsv_reader *r, FILE *f, const char *name,
                        const struct instreg *reg, struct atp_err *err);
void tickcsv_reader_cleanup(struct tickcsv_reader *r);

/* Reads the next tick into *out: 1 when read, 0 at the end of the file, or < 0 with err naming
 * file, line and field:
 *   ATP_ENOTFOUND (field symbol) for a symbol the registry does not know;
 *   ATP_EPARSE for a malformed or empty required cell, a malformed optional cell, or a timestamp
 *   that is a date without a time; ATP_ERANGE for a price with more than 4 decimals;
 *   ATP_EOVERFLOW for a number too large; ATP_EINVAL for ltp <= 0 or a negative qty, volume,
 *   bid, ask or oi. */
int tickcsv_read(struct tickcsv_reader *r, struct tick *out, struct atp_err *err);

/* Byte offset of the next row to read, and repositioning to a (offset, line) pair taken earlier
 * (line = the value of r->csv.line when the offset was taken). Used by the replay feed to read
 * several stretches of one file. ATP_EIO on failure. */
long tickcsv_reader_tell(const struct tickcsv_reader *r);
int tickcsv_reader_seek(struct tickcsv_reader *r, long offset, long line);

/* Writer: the header "timestamp,symbol,ltp,qty,volume,bid,ask" and one row per tick, the
 * timestamp in IST with milliseconds (ts_format_ist), prices exact (px_format), cells of
 * unflagged optional fields empty. The symbol comes from reg. ATP_ENOTFOUND for an instrument id
 * the registry does not know, ATP_EIO when writing fails (err names `name`). */
int tickcsv_write_header(FILE *f, const char *name, struct atp_err *err);
int tickcsv_write_tick(FILE *f, const char *name, const struct instreg *reg, const struct tick *t,
                       struct atp_err *err);

#endif
