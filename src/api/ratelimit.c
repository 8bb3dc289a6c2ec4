#include "api/ratelimit.h"

#include "core/alloc.h"

#include <stdio.h>
#include <string.h>

struct bucket {
    char key[64];      /* "" = free slot */
    double tokens;
    int64_t last_ms;   /* last refill */
};

struct ratelimit {
    double rate_per_ms;
    double burst;
    uint32_t capacity;
    struct bucket *buckets;
};

struct ratelimit *ratelimit_new(double rate_per_s, double burst, uint32_t capacity)
{
    if (!(rate_per_s > 0) || !(burst >= 1) || capacity < 1)
        return NULL;
    struct ratelimit *rl = atp_calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->buckets = atp_calloc(capacity, sizeof *rl->buckets);
    if (!rl->buckets) {
        atp_free(rl);
        return NULL;
    }
    rl->rate_per_ms = rate_per_s / 1000.0;
    rl->burst = burst;
    rl->capacity = capacity;
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    atp_free(rl->buckets);
    atp_free(rl);
}

/* FNV-1a: keys are client addresses, which clients choose only within their own network. */
static uint32_t hash_key(const char *key)
{
    uint32_t h = 2166136261u;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h;
}

/* Open addressing with a bounded probe; when the probe window is full the stalest bucket in it
 * is reused (bounded memory; a forgotten client simply starts with a full bucket). */
#define PROBE 8

int ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s)
{
    char k[64];
    snprintf(k, sizeof k, "%s", key ? key : "");
    if (!k[0])
        snprintf(k, sizeof k, "-");
    uint32_t start = hash_key(k) % rl->capacity;
    struct bucket *b = NULL, *stalest = NULL;
    for (uint32_t i = 0; i < PROBE && i < rl->capacity; i++) {
        struct bucket *c = &rl->buckets[(start + i) % rl->capacity];
        if (strcmp(c->key, k) == 0) {
            b = c;
            break;
        }
        if (!c->key[0]) {
            if (!stalest || stalest->key[0])
                stalest = c;
        } else if (!stalest || (stalest->key[0] && c->last_ms < stalest->last_ms)) {
            stalest = c;
        }
    }
    if (!b) {
        b = stalest;
        memcpy(b->key, k, sizeof k);
        b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate_per_ms;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 1;
    }
    if (retry_after_s) {
        double wait_ms = (1.0 - b->tokens) / rl->rate_per_ms;
        int s = (int)((wait_ms + 999.0) / 1000.0);
        *retry_after_s = s < 1 ? 1 : s;
    }
    return 0;
}
