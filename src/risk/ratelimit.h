/* risk/ratelimit: an exact sliding-window rate limiter, "at most cap actions in any window of
 * window_ns", kept as a ring of the timestamps of the last cap actions. Used by risk/risk for
 * SEBI's orders-per-second rule (docs/risk.md). Memory is allocated once (init/resize); checking
 * and recording never allocate. Not thread-safe; the owner's thread only. */
#ifndef ATP_RISK_RATELIMIT_H
#define ATP_RISK_RATELIMIT_H

#include <stdint.h>

#include "core/ts.h"

struct risk_rate {
    ts_ns *ts;      /* ring of the last `count` recorded times, oldest at head */
    uint32_t cap;   /* actions allowed per window, >= 1 */
    uint32_t head;  /* index of the oldest entry */
    uint32_t count; /* entries held, <= cap */
};

/* Empty limiter of cap (>= 1) actions per window. ATP_OK, ATP_EINVAL (cap 0), ATP_ENOMEM (*r is
 * left empty so risk_rate_cleanup is safe). */
int risk_rate_init(struct risk_rate *r, uint32_t cap);
void risk_rate_cleanup(struct risk_rate *r);

/* Changes cap, keeping the newest min(count, cap) entries, which is all an exact window of the new
 * cap needs. ATP_OK, ATP_EINVAL, ATP_ENOMEM (r unchanged). */
int risk_rate_resize(struct risk_rate *r, uint32_t cap);

/* Whether an action at now fits: fewer than cap recorded actions in the half-open window
 * (now - window_ns, now]. When it does not, *retry_at (may be NULL) is the first instant it would
 * (the oldest entry + window_ns); when it does, *retry_at = now. A now earlier than the oldest entry
 * (a clock going backwards) counts that entry as inside the window. A ring with cap 0 (its init
 * failed) allows nothing. Never changes r. */
int risk_rate_allows(const struct risk_rate *r, ts_ns now, ts_ns window_ns, ts_ns *retry_at);

/* Records an action at now, dropping the oldest entry when full. A now earlier than the newest entry
 * is recorded as the newest entry's time, which keeps the ring ordered and errs toward denying.
 * A no-op on a ring with cap 0. */
void risk_rate_record(struct risk_rate *r, ts_ns now);

#endif
