/* md/feed: the one interface every market-data source implements (tick CSV replay, bar CSV
 * replay, the synthetic market, later broker feeds). A feed yields items, ticks or whole bars, in
 * nondecreasing feed time (feed_item_time). Consumers (the candle engine, the player, backtests)
 * see only this interface.
 *
 * A feed is single-threaded: one thread calls next/rewind/free. Sources implement struct
 * feed_ops and embed struct feed as their first member; callers use the feed_* wrappers.
 * docs/feeds.md describes every source, its file format and its guarantees. */
#ifndef ATP_MD_FEED_H
#define ATP_MD_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ts.h"
#include "model/bar.h"
#include "model/tick.h"

enum feed_item_kind {
    FEED_TICK = 1, /* item.tick is valid */
    FEED_BAR = 2,  /* item.tf, item.bar, item.date_only are valid (bar replay without expansion) */
};

struct feed_item {
    enum feed_item_kind kind;
    uint32_t instrument_id; /* both kinds (equals tick.instrument_id for ticks) */
    struct tick tick;       /* FEED_TICK */
    enum tf tf;             /* FEED_BAR: the bar's timeframe */
    int date_only;          /* FEED_BAR: the source row had a date and no time (a daily bar) */
    struct bar bar;         /* FEED_BAR: bar.start is the label (period start) */
};

#define FEED_TS_UNKNOWN INT64_MIN

/* Market data is dated 1900-01-01 to 2199-12-31 (IST); the readers refuse times outside, which
 * keeps every later calculation (bar ends, session bounds) far from int64 overflow. */
#define FEED_TS_MIN (-25567LL * TS_NS_PER_DAY - TS_IST_OFFSET_NS) /* 1900-01-01 00:00 IST */
#define FEED_TS_MAX (84006LL * TS_NS_PER_DAY - TS_IST_OFFSET_NS)  /* 2200-01-01 00:00 IST */
static inline int feed_ts_in_range(ts_ns t) { return t >= FEED_TS_MIN && t < FEED_TS_MAX; }

/* End of a bar that starts at `start`: start + the timeframe's period, except that an intraday
 * bar starting inside the 09:15-15:30 IST session is cut at 15:30 that day (the last 1h bar is
 * 15:15-15:30). A daily bar labelled 09:15 ends at 15:30. Pure arithmetic, no calendar. */
ts_ns feed_bar_end(ts_ns start, enum tf tf);

/* The time that orders a feed: a tick's ts, or a bar's end (feed_bar_end), the moment the bar is
 * complete and a live consumer could know it. */
ts_ns feed_item_time(const struct feed_item *item);

struct feed;

/* What a source implements. next returns 1 with *item filled, 0 at the end (and keeps returning
 * 0), or a negative atp_status with err naming file, line and field where there are any. After an
 * error the feed may only be rewound or freed. rewind restarts from the first item (0 or an
 * error). destroy frees the source's storage (called by feed_free). */
struct feed_ops {
    int (*next)(struct feed *feed, struct feed_item *item, struct atp_err *err);
    int (*rewind)(struct feed *feed, struct atp_err *err);
    void (*destroy)(struct feed *feed);
};

/* The common head of every feed. Fields are set by the source at creation. */
struct feed {
    const struct feed_ops *ops;
    ts_ns first_ts; /* feed time of the first item, or a lower bound; FEED_TS_UNKNOWN */
    ts_ns last_ts;  /* feed time of the last item, or an upper bound; FEED_TS_UNKNOWN */
    char name[64];  /* for messages: "replay", "sim" */
};

/* Next item: 1 (item filled), 0 (end), < 0 error (err filled). */
int feed_next(struct feed *feed, struct feed_item *item, struct atp_err *err);

/* Restarts the feed at its first item; the next feed_next returns what the first call did. */
int feed_rewind(struct feed *feed, struct atp_err *err);

/* First and last feed time (bounds for progress displays). Returns 1 when both are known, else 0
 * with the unknown ones set to FEED_TS_UNKNOWN. Either pointer may be NULL. */
int feed_time_range(const struct feed *feed, ts_ns *first, ts_ns *last);

/* Frees the feed and everything it owns. feed_free(NULL) is a no-op. */
void feed_free(struct feed *feed);

/* A small binary min-heap of sources ordered by (ts, seq), used to merge several time-ordered
 * sources into one (replay files and symbols, simulated instruments). Storage is allocated once
 * by feed_heap_init; push/pop never allocate. seq breaks ties and should be unique. */
struct feed_heap_entry {
    ts_ns ts;
    uint64_t seq;
    uint32_t src; /* the caller's source index */
};

struct feed_heap {
    struct feed_heap_entry *v;
    size_t n;
    size_t cap;
};

/* ATP_OK or ATP_ENOMEM; cap may be 0. */
int feed_heap_init(struct feed_heap *h, size_t cap);
void feed_heap_cleanup(struct feed_heap *h);
/* Pushes an entry; ATP_ERANGE when the heap is full (a caller bug). */
int feed_heap_push(struct feed_heap *h, struct feed_heap_entry e);
/* Removes the smallest entry into *out; 0 when empty, 1 otherwise. */
int feed_heap_pop(struct feed_heap *h, struct feed_heap_entry *out);
static inline void feed_heap_clear(struct feed_heap *h) { h->n = 0; }

#endif
