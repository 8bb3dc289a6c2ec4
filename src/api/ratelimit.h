/* api/ratelimit: token buckets keyed by a short string (a client IP, a user id, an email).
 * Each key refills at rate_per_s up to burst tokens; a request takes one. A fixed-size table
 * (capacity keys, set at creation, never grows): when full, the bucket idle the longest in the
 * probe window is reused, so memory is bounded whatever the number of clients (a forgotten key
 * simply starts again with a full bucket).
 *
 * Thread-safe: any thread may call ratelimit_take concurrently. The table is split into shards by
 * key hash, each under its own mutex held only for the probe and refill (no allocation, no
 * system call inside), so threads serving different keys rarely meet on a lock. */
#ifndef ATP_API_RATELIMIT_H
#define ATP_API_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

/* NULL on bad arguments (rate_per_s <= 0, burst < 1, capacity < 1) or no memory. */
struct ratelimit *ratelimit_new(double rate_per_s, double burst, uint32_t capacity);
/* Frees rl (NULL: no-op). No other thread may be using it. */
void ratelimit_free(struct ratelimit *rl);

/* Takes one token from key's bucket at time now_ms (monotonic). 1 when allowed; 0 when the
 * bucket is empty, with *retry_after_s (if non-NULL) the whole seconds until a token is back
 * (>= 1). Keys longer than 63 bytes are truncated; NULL or "" is one shared key. */
int ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);

#endif
