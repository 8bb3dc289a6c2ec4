/* risk/ratelimit: see ratelimit.h. */
#include "risk/ratelimit.h"

#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

int risk_rate_init(struct risk_rate *r, uint32_t cap)
{
    memset(r, 0, sizeof *r);
    if (cap == 0)
        return ATP_EINVAL;
    r->ts = atp_calloc(cap, sizeof *r->ts);
    if (!r->ts)
        return ATP_ENOMEM;
    r->cap = cap;
    return ATP_OK;
}

void risk_rate_cleanup(struct risk_rate *r)
{
    atp_free(r->ts);
    memset(r, 0, sizeof *r);
}

int risk_rate_resize(struct risk_rate *r, uint32_t cap)
{
    if (cap == 0)
        return ATP_EINVAL;
    if (cap == r->cap)
        return ATP_OK;
    ts_ns *ring = atp_calloc(cap, sizeof *ring);
    if (!ring)
        return ATP_ENOMEM;
    uint32_t keep = r->count < cap ? r->count : cap;
    uint32_t skip = r->count - keep; /* the oldest entries the new ring has no room for */
    for (uint32_t i = 0; i < keep; i++)
        ring[i] = r->ts[(r->head + skip + i) % r->cap];
    atp_free(r->ts);
    r->ts = ring;
    r->cap = cap;
    r->head = 0;
    r->count = keep;
    return ATP_OK;
}

int risk_rate_allows(const struct risk_rate *r, ts_ns now, ts_ns window_ns, ts_ns *retry_at)
{
    if (r->cap == 0) { /* a ring whose init failed allows nothing */
        if (retry_at)
            *retry_at = INT64_MAX;
        return 0;
    }
    /* Fewer than cap actions ever recorded, or the cap-th newest (the oldest held) has left the
     * window: then at most cap - 1 of the held actions are inside it. */
    if (r->count < r->cap) {
        if (retry_at)
            *retry_at = now;
        return 1;
    }
    ts_ns oldest = r->ts[r->head];
    ts_ns until;
    if (__builtin_add_overflow(oldest, window_ns, &until))
        until = INT64_MAX;
    if (now >= until) {
        if (retry_at)
            *retry_at = now;
        return 1;
    }
    if (retry_at)
        *retry_at = until;
    return 0;
}

void risk_rate_record(struct risk_rate *r, ts_ns now)
{
    if (r->cap == 0)
        return; /* a ring whose init failed holds nothing */
    if (r->count > 0) {
        ts_ns newest = r->ts[(r->head + r->count - 1) % r->cap];
        if (now < newest)
            now = newest;
    }
    if (r->count < r->cap) {
        r->ts[(r->head + r->count) % r->cap] = now;
        r->count++;
    } else {
        r->ts[r->head] = now;
        r->head = (r->head + 1) % r->cap;
    }
}
