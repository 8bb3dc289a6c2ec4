/* md/feed/replay: a feed that replays recorded market data from CSV files.
 *
 * Sources: a tick CSV (md/feed/tickcsv: ticks as they are), or a bar CSV (md/feed/barcsv) either
 * as bars (one FEED_BAR item per bar) or expanded into four ticks per bar along the path
 * O->H->L->C when close >= open, else O->L->H->C, at the bar start + 0, 1/4, 1/2, 3/4 of its
 * period (feed_bar_end; daily bars span the 09:15-15:30 session), the bar's volume split over
 * the four ticks (volume / 4 each, the remainder on the last) and summed into a cumulative day
 * volume per symbol.
 *
 * Several files, and several symbols in one file, are merged into one stream in feed time
 * (feed_item_time); items at the same time come in file order (earlier file first, then earlier
 * line). A tick file is scanned and validated once when opened (errors come out of replay_open,
 * and the scan gives the time range); a file whose rows go back in time (say one symbol's day
 * after another's) is read as up to REPLAY_MAX_RUNS time-ordered stretches merged on the fly. A
 * bar file is loaded into memory. Apart from opening, replay never allocates.
 *
 * Single-threaded. Errors name file, line and field. docs/feeds.md has the details. */
#ifndef ATP_MD_FEED_REPLAY_H
#define ATP_MD_FEED_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "md/feed.h"
#include "model/instrument.h"

enum replay_kind {
    REPLAY_TICKS = 0,  /* tick CSV: ticks as they are */
    REPLAY_BARS,       /* bar CSV: FEED_BAR items */
    REPLAY_BAR_TICKS,  /* bar CSV: four FEED_TICK items per bar */
};

#define REPLAY_TF_AUTO (-1)
#define REPLAY_MAX_RUNS 256 /* time-ordered stretches per tick file */

struct replay_source {
    const char *path;
    enum replay_kind kind;
    const char *symbol; /* bar files without a symbol column: their instrument; else NULL */
    int tf;             /* bar files: an enum tf, or REPLAY_TF_AUTO to detect it from the file
                           (barcsv_detect_tf). Daily (1d) bars labelled at midnight IST are
                           relabelled 09:15 as if they had no time. Ignored for tick files. */
};

/* Opens a replay of n sources (copied; paths need not outlive the call). reg resolves symbols and
 * must outlive the feed. On success *out is a feed the caller frees with feed_free. Errors:
 * ATP_EIO (cannot open), the tick and bar readers' errors (file, line, field), ATP_EINVAL for an
 * undetectable timeframe or a tick file with more than REPLAY_MAX_RUNS out-of-order stretches,
 * ATP_ENOMEM. */
int replay_open(const struct replay_source *sources, size_t n, const struct instreg *reg,
                struct feed **out, struct atp_err *err);

/* Shorthands for one file. */
int replay_open_ticks(const char *path, const struct instreg *reg, struct feed **out,
                      struct atp_err *err);
/* kind is REPLAY_BARS or REPLAY_BAR_TICKS; symbol as in struct replay_source; tf detected. */
int replay_open_bars(const char *path, const char *symbol, enum replay_kind kind,
                     const struct instreg *reg, struct feed **out, struct atp_err *err);

/* The four ticks a bar expands into (see above), with TICK_HAS_QTY set (qty summing exactly to
 * bar->volume) and TICK_HAS_OI when bar->oi >= 0; cum_volume is left 0 and unflagged (the feed
 * fills it). Pure; used by the feed and exposed for tests. */
void replay_expand_bar(const struct bar *bar, enum tf tf, uint32_t instrument_id,
                       struct tick out[4]);

#endif
