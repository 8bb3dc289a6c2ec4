#include "api/ratelimit.h"

#include "core/alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define KEY_MAX 64
#define PROBE 8         /* buckets looked at per key: bounded work under the lock */
#define SHARDS_MAX 16   /* enough for the worker threads of one server */

struct bucket {
    char key[KEY_MAX]; /* "" = free slot */
    double tokens;
    int64_t last_ms;   /* last refill */
};

struct shard {
    pthread_mutex_t mu;
    struct bucket *buckets;
    uint32_t capacity;
};

struct ratelimit {
    double rate_per_ms;
    double burst;
    uint32_t n_shards;
    struct shard *shards;
};

struct ratelimit *ratelimit_new(double rate_per_s, double burst, uint32_t capacity)
{
    if (!(rate_per_s > 0) || !(burst >= 1) || capacity < 1)
        return NULL;
    struct ratelimit *rl = atp_calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    /* Each shard keeps at least a probe window's worth of buckets. */
    uint32_t n = capacity / PROBE;
    rl->n_shards = n < 1 ? 1 : n > SHARDS_MAX ? SHARDS_MAX : n;
    rl->rate_per_ms = rate_per_s / 1000.0;
    rl->burst = burst;
    rl->shards = atp_calloc(rl->n_shards, sizeof *rl->shards);
    if (!rl->shards) {
        atp_free(rl);
        return NULL;
    }
    for (uint32_t i = 0; i < rl->n_shards; i++) {
        struct shard *sh = &rl->shards[i];
        sh->capacity = (capacity + rl->n_shards - 1) / rl->n_shards;
        sh->buckets = atp_calloc(sh->capacity, sizeof *sh->buckets);
        if (!sh->buckets || pthread_mutex_init(&sh->mu, NULL) != 0) {
            atp_free(sh->buckets);
            sh->buckets = NULL;
            rl->n_shards = i; /* free what was made */
            ratelimit_free(rl);
            return NULL;
        }
    }
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    for (uint32_t i = 0; i < rl->n_shards; i++) {
        pthread_mutex_destroy(&rl->shards[i].mu);
        atp_free(rl->shards[i].buckets);
    }
    atp_free(rl->shards);
    atp_free(rl);
}

/* FNV-1a: keys are client addresses and ids, which a client cannot choose freely. */
static uint32_t hash_key(const char *key)
{
    uint32_t h = 2166136261u;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h;
}

/* The bucket of k in sh (sh->mu held): its own, else a free one, else the stalest of the probe
 * window, reset to a full bucket. */
static struct bucket *find_bucket(struct shard *sh, const char *k, uint32_t h, double burst,
                                  int64_t now_ms)
{
    uint32_t start = h % sh->capacity;
    struct bucket *stalest = &sh->buckets[start];
    for (uint32_t i = 0; i < PROBE && i < sh->capacity; i++) {
        struct bucket *c = &sh->buckets[(start + i) % sh->capacity];
        if (strcmp(c->key, k) == 0)
            return c;
        if (!stalest->key[0])
            continue; /* the first free slot is the one to take; keep looking for k only */
        if (!c->key[0] || c->last_ms < stalest->last_ms)
            stalest = c;
    }
    memcpy(stalest->key, k, KEY_MAX);
    stalest->tokens = burst;
    stalest->last_ms = now_ms;
    return stalest;
}

int ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s)
{
    char k[KEY_MAX];
    snprintf(k, sizeof k, "%s", key && key[0] ? key : "-");
    uint32_t h = hash_key(k);
    /* The shard from the high bits, the slot from the low ones: independent choices. */
    struct shard *sh = &rl->shards[(h >> 16) % rl->n_shards];
    int allowed;
    double wait_ms = 0;
    pthread_mutex_lock(&sh->mu);
    struct bucket *b = find_bucket(sh, k, h, rl->burst, now_ms);
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate_per_ms;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    allowed = b->tokens >= 1.0;
    if (allowed)
        b->tokens -= 1.0;
    else
        wait_ms = (1.0 - b->tokens) / rl->rate_per_ms;
    pthread_mutex_unlock(&sh->mu);
    if (!allowed && retry_after_s) {
        double s = (wait_ms + 999.0) / 1000.0;
        *retry_after_s = s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
    }
    return allowed;
}
