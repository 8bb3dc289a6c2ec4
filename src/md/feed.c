#include "md/feed.h"

#include "core/alloc.h"
#include "core/cal.h"

ts_ns feed_bar_end(ts_ns start, enum tf tf)
{
    ts_ns end;
    if (__builtin_add_overflow(start, tf_period_ns(tf), &end))
        end = INT64_MAX; /* only for absurd dates; keeps the arithmetic defined */
    int64_t day = ts_ist_day(start);
    ts_ns open = cal_session_open(day), close = cal_session_close(day);
    if (start >= open && start < close && end > close)
        end = close;
    return end;
}

ts_ns feed_item_time(const struct feed_item *item)
{
    return item->kind == FEED_BAR ? feed_bar_end(item->bar.start, item->tf) : item->tick.ts;
}

int feed_next(struct feed *feed, struct feed_item *item, struct atp_err *err)
{
    return feed->ops->next(feed, item, err);
}

int feed_rewind(struct feed *feed, struct atp_err *err)
{
    return feed->ops->rewind(feed, err);
}

int feed_time_range(const struct feed *feed, ts_ns *first, ts_ns *last)
{
    if (first)
        *first = feed->first_ts;
    if (last)
        *last = feed->last_ts;
    return feed->first_ts != FEED_TS_UNKNOWN && feed->last_ts != FEED_TS_UNKNOWN;
}

void feed_free(struct feed *feed)
{
    if (feed)
        feed->ops->destroy(feed);
}

/* ---- heap ---- */

static int entry_less(const struct feed_heap_entry *a, const struct feed_heap_entry *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

int feed_heap_init(struct feed_heap *h, size_t cap)
{
    h->n = 0;
    h->cap = cap;
    h->v = NULL;
    if (cap == 0)
        return ATP_OK;
    h->v = atp_reallocarray(NULL, cap, sizeof *h->v);
    if (!h->v) {
        h->cap = 0;
        return ATP_ENOMEM;
    }
    return ATP_OK;
}

void feed_heap_cleanup(struct feed_heap *h)
{
    atp_free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

int feed_heap_push(struct feed_heap *h, struct feed_heap_entry e)
{
    if (h->n == h->cap)
        return ATP_ERANGE;
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!entry_less(&e, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = e;
    return ATP_OK;
}

int feed_heap_pop(struct feed_heap *h, struct feed_heap_entry *out)
{
    if (h->n == 0)
        return 0;
    *out = h->v[0];
    struct feed_heap_entry last = h->v[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && entry_less(&h->v[child + 1], &h->v[child]))
            child++;
        if (!entry_less(&h->v[child], &last))
            break;
        h->v[i] = h->v[child];
        i = child;
    }
    if (n > 0)
        h->v[i] = last;
    return 1;
}
