/* api/ratelimit: token buckets keyed by a short string (a client IP now, a user id later).
 * Each key refills at rate_per_s up to burst tokens; a request takes one. A fixed-size table
 * (capacity keys, set at creation, never grows): when full, the bucket idle the longest is
 * reused, so memory is bounded whatever the number of clients. Not thread-safe: one owner
 * thread (the io thread). */
#ifndef ATP_API_RATELIMIT_H
#define ATP_API_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

/* NULL on bad arguments (rate_per_s <= 0, burst < 1, capacity < 1) or no memory. */
struct ratelimit *ratelimit_new(double rate_per_s, double burst, uint32_t capacity);
void ratelimit_free(struct ratelimit *rl);

/* Takes one token from key's bucket at time now_ms (monotonic). 1 when allowed; 0 when the
 * bucket is empty, with *retry_after_s (if non-NULL) the whole seconds until a token is back
 * (>= 1). Keys longer than 63 bytes are truncated. */
int ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);

#endif
