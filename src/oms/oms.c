#include "oms/oms.h"

#include <string.h>

#include "core/alloc.h"
#include "oms/tag.h"

#define CHUNK_ORDERS 1024

struct oms {
    enum trade_mode mode;
    struct tag_gen tags;
    struct order **chunks; /* orders live in fixed chunks so pointers stay valid */
    size_t n_chunks, cap_chunks;
    size_t count;
    /* Open orders: a doubly linked list through side arrays indexed by order index. */
    uint32_t *open_next, *open_prev; /* UINT32_MAX = none */
    uint32_t open_head;
    size_t open_cap;
    uint8_t *is_open;
    /* Client keys: open addressing over order indices (0 = empty, else index + 1). */
    uint32_t *keys;
    size_t keys_cap;
    struct oms_stats stats;
};

#define NONE UINT32_MAX

int oms_new(enum trade_mode mode, uint64_t run_id, struct oms **out, struct atp_err *err)
{
    *out = NULL;
    struct oms *o = atp_calloc(1, sizeof *o);
    if (!o)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    o->mode = mode;
    o->open_head = NONE;
    int rc = tag_gen_init(&o->tags, run_id, 1, err);
    if (rc != ATP_OK) {
        atp_free(o);
        return rc;
    }
    *out = o;
    return ATP_OK;
}

void oms_free(struct oms *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_chunks; i++)
        atp_free(o->chunks[i]);
    atp_free(o->chunks);
    atp_free(o->open_next);
    atp_free(o->open_prev);
    atp_free(o->is_open);
    atp_free(o->keys);
    atp_free(o);
}

struct order *oms_at(const struct oms *o, size_t i)
{
    if (i >= o->count)
        return NULL;
    return &o->chunks[i / CHUNK_ORDERS][i % CHUNK_ORDERS];
}

struct order *oms_get(struct oms *o, uint64_t id)
{
    return id == 0 ? NULL : oms_at(o, (size_t)(id - 1)); /* ids are index + 1 */
}

size_t oms_count(const struct oms *o)
{
    return o->count;
}

const struct oms_stats *oms_stats(const struct oms *o)
{
    return &o->stats;
}

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct order *find_key(const struct oms *o, const char *key)
{
    if (!o->keys_cap)
        return NULL;
    for (size_t i = hash_key(key) & (o->keys_cap - 1);; i = (i + 1) & (o->keys_cap - 1)) {
        if (!o->keys[i])
            return NULL;
        struct order *ord = oms_at(o, o->keys[i] - 1);
        if (strcmp(ord->req.client_key, key) == 0)
            return ord;
    }
}

struct order *oms_find_key(const struct oms *o, const char *client_key)
{
    return client_key && client_key[0] ? find_key(o, client_key) : NULL;
}

static int insert_key(struct oms *o, uint32_t index)
{
    if ((o->count + 1) * 2 > o->keys_cap) { /* grow to keep the load under 1/2 */
        size_t cap = o->keys_cap ? o->keys_cap * 2 : 1024;
        uint32_t *keys = atp_calloc(cap, sizeof *keys);
        if (!keys)
            return ATP_ENOMEM;
        for (size_t i = 0; i < o->keys_cap; i++) {
            if (!o->keys[i])
                continue;
            const char *k = oms_at(o, o->keys[i] - 1)->req.client_key;
            size_t j = hash_key(k) & (cap - 1);
            while (keys[j])
                j = (j + 1) & (cap - 1);
            keys[j] = o->keys[i];
        }
        atp_free(o->keys);
        o->keys = keys;
        o->keys_cap = cap;
    }
    const char *k = oms_at(o, index)->req.client_key;
    size_t j = hash_key(k) & (o->keys_cap - 1);
    while (o->keys[j])
        j = (j + 1) & (o->keys_cap - 1);
    o->keys[j] = index + 1;
    return ATP_OK;
}

/* Makes room for one more order: a new chunk and bigger open-list arrays when needed. */
static int reserve(struct oms *o)
{
    if (o->count == o->n_chunks * CHUNK_ORDERS) {
        if (o->n_chunks == o->cap_chunks) {
            size_t cap = o->cap_chunks ? o->cap_chunks * 2 : 8;
            struct order **c = atp_reallocarray(o->chunks, cap, sizeof *c);
            if (!c)
                return ATP_ENOMEM;
            o->chunks = c;
            o->cap_chunks = cap;
        }
        struct order *chunk = atp_calloc(CHUNK_ORDERS, sizeof *chunk);
        if (!chunk)
            return ATP_ENOMEM;
        o->chunks[o->n_chunks++] = chunk;
    }
    if (o->count == o->open_cap) {
        size_t cap = o->open_cap ? o->open_cap * 2 : CHUNK_ORDERS;
        uint32_t *nx = atp_reallocarray(o->open_next, cap, sizeof *nx);
        if (!nx)
            return ATP_ENOMEM;
        o->open_next = nx;
        uint32_t *pv = atp_reallocarray(o->open_prev, cap, sizeof *pv);
        if (!pv)
            return ATP_ENOMEM;
        o->open_prev = pv;
        uint8_t *io = atp_reallocarray(o->is_open, cap, sizeof *io);
        if (!io)
            return ATP_ENOMEM;
        o->is_open = io;
        o->open_cap = cap;
    }
    return ATP_OK;
}

static void open_link(struct oms *o, uint32_t i)
{
    o->is_open[i] = 1;
    o->open_prev[i] = NONE;
    o->open_next[i] = o->open_head;
    if (o->open_head != NONE)
        o->open_prev[o->open_head] = i;
    o->open_head = i;
}

static void open_unlink(struct oms *o, uint32_t i)
{
    if (!o->is_open[i])
        return;
    o->is_open[i] = 0;
    if (o->open_prev[i] != NONE)
        o->open_next[o->open_prev[i]] = o->open_next[i];
    else
        o->open_head = o->open_next[i];
    if (o->open_next[i] != NONE)
        o->open_prev[o->open_next[i]] = o->open_prev[i];
}

int oms_create(struct oms *o, const struct order_request *req, ts_ns now, struct order **out,
               struct atp_err *err)
{
    *out = NULL;
    if (req->mode != o->mode)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode",
                           "a %s order cannot go through the %s order manager",
                           trade_mode_name(req->mode), trade_mode_name(o->mode));
    int rc = order_request_validate(req, err);
    if (rc != ATP_OK)
        return rc;
    if (req->client_key[0]) {
        struct order *prev = find_key(o, req->client_key);
        if (prev) {
            o->stats.idempotent_hits++;
            *out = prev;
            return 1;
        }
    }
    if (reserve(o) != ATP_OK)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    uint32_t index = (uint32_t)o->count;
    char tag[TAG_BUF];
    if (tag_gen_next(&o->tags, tag, NULL) != ATP_OK)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "tag", "order tags exhausted for this run");
    struct order *ord = &o->chunks[index / CHUNK_ORDERS][index % CHUNK_ORDERS];
    rc = order_init(ord, req, (uint64_t)index + 1, tag, now, err);
    if (rc != ATP_OK)
        return rc;
    o->count++;
    if (req->client_key[0] && insert_key(o, index) != ATP_OK) {
        o->count--;
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    }
    open_link(o, index);
    o->stats.created++;
    *out = ord;
    return ATP_OK;
}

int oms_apply(struct oms *o, struct order *ord, enum order_event ev, const struct order_sm_args *args,
              struct atp_err *err)
{
    int rc = order_sm_apply(ord, ev, args, &o->stats.sm, err);
    if (rc == ATP_OK && order_state_is_terminal(ord->state))
        open_unlink(o, (uint32_t)(ord->id - 1));
    return rc;
}

int oms_open_count(const struct oms *o, uint64_t account_id, uint64_t strategy_id,
                   uint32_t instrument_id)
{
    int n = 0;
    for (uint32_t i = o->open_head; i != NONE; i = o->open_next[i]) {
        const struct order *ord = oms_at(o, i);
        if (ord->req.account_id == account_id &&
            (strategy_id == 0 || ord->req.strategy_id == strategy_id) &&
            (instrument_id == UINT32_MAX || ord->req.instrument_id == instrument_id))
            n++;
    }
    return n;
}

struct order *oms_next_open(const struct oms *o, const struct order *prev)
{
    uint32_t i = prev ? o->open_next[prev->id - 1] : o->open_head;
    return i == NONE ? NULL : oms_at(o, i);
}
