/* model/instrument: the instrument registry and its loaders.
 *
 * Storage: instruments live in fixed-size chunks reached through an array of chunk pointers, so an
 * instrument never moves once added (pointers handed out stay valid until instreg_free) while ids
 * stay dense. Look-ups go through open-addressing hash tables (linear probing) that store ids only;
 * keys are read back from the instruments themselves, so a table costs 4 bytes a slot.
 *
 * Loading is all-or-nothing: a loader remembers the count it started from and an undo log of the
 * broker references it overwrote; on failure it truncates, restores, and rebuilds the tables in
 * place (no allocation, so the rollback itself cannot fail). */
#include "model/instrument.h"

#include "core/names.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/csv.h"
#include "core/ts.h"

#define CHUNK_SHIFT 8
#define CHUNK_SIZE (1u << CHUNK_SHIFT) /* instruments per chunk */
#define MAP_EMPTY 0u                  /* slots hold id + 1; 0 is a free slot */

/* What a hash table is keyed on. */
enum map_kind {
    MAP_EXCH_SYMBOL, /* (exchange, standard symbol), unique */
    MAP_SYMBOL,      /* standard symbol -> preferred listing */
    MAP_TOKEN,       /* (broker, token), unique per broker */
    MAP_BSYMBOL,     /* (broker, exchange, broker symbol), unique per broker */
};

struct idmap {
    uint32_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t used;
};

struct instreg {
    struct instrument **chunks;
    size_t nchunks;
    size_t chunks_cap;
    uint32_t count;
    struct idmap by_exch_symbol;
    struct idmap by_symbol;
    struct idmap by_token[BROKER_COUNT];
    struct idmap by_bsymbol[BROKER_COUNT];
};

/* ---- enum names ---------------------------------------------------------------------------- */

static const char *const exchange_names[EXCH_COUNT] = {"NSE", "BSE", "NFO", "BFO", "CDS", "MCX"};
static const char *const type_names[INST_TYPE_COUNT] = {"EQ", "INDEX", "FUT", "CE", "PE"};
static const char *const broker_names[BROKER_COUNT] = {"kite", "angel", "upstox", "fyers", "dhan"};

const char *exchange_name(enum exchange e)
{
    return (unsigned)e < EXCH_COUNT ? exchange_names[e] : "?";
}

int exchange_parse(const char *text, enum exchange *out)
{
    int i = names_index(exchange_names, EXCH_COUNT, text);
    if (i < 0)
        return ATP_EINVAL;
    *out = (enum exchange)i;
    return ATP_OK;
}

const char *inst_type_name(enum inst_type t)
{
    return (unsigned)t < INST_TYPE_COUNT ? type_names[t] : "?";
}

int inst_type_parse(const char *text, enum inst_type *out)
{
    int i = names_index(type_names, INST_TYPE_COUNT, text);
    if (i < 0)
        return ATP_EINVAL;
    *out = (enum inst_type)i;
    return ATP_OK;
}

const char *broker_name(enum broker_id b)
{
    return (unsigned)b < BROKER_COUNT ? broker_names[b] : "?";
}

int broker_parse(const char *text, enum broker_id *out)
{
    static const struct {
        const char *name;
        enum broker_id id;
    } aliases[] = {{"zerodha", BROKER_KITE}, {"angelone", BROKER_ANGEL}, {"angel_one", BROKER_ANGEL}};
    if (!text)
        return ATP_EINVAL;
    for (int i = 0; i < BROKER_COUNT; i++)
        if (strcasecmp(text, broker_names[i]) == 0) {
            *out = (enum broker_id)i;
            return ATP_OK;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(text, aliases[i].name) == 0) {
            *out = aliases[i].id;
            return ATP_OK;
        }
    return ATP_EINVAL;
}

/* ---- validation ---------------------------------------------------------------------------- */

int instrument_check_price(const struct instrument *in, px_t price, struct atp_err *err)
{
    char p[PX_STR_MAX], t[PX_STR_MAX];
    if (in->tick_size <= 0) {
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "tick_size", "%s has no valid tick size",
                           in->symbol);
    }
    if (price <= 0) {
        px_format(price, p, sizeof p);
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "price", "price %s must be positive", p);
    }
    if (!px_is_multiple(price, in->tick_size)) {
        px_format(price, p, sizeof p);
        px_format(in->tick_size, t, sizeof t);
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "price",
                           "price %s is not a multiple of tick size %s", p, t);
    }
    return ATP_OK;
}

int instrument_check_qty(const struct instrument *in, int64_t qty, struct atp_err *err)
{
    if (in->lot_size < 1)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "lot_size", "%s has no valid lot size",
                           in->symbol);
    if (qty <= 0)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "quantity",
                           "quantity %lld must be positive", (long long)qty);
    if (qty % in->lot_size != 0)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "quantity",
                           "quantity %lld is not a multiple of lot size %lld", (long long)qty,
                           (long long)in->lot_size);
    return ATP_OK;
}

/* ---- storage ------------------------------------------------------------------------------- */

static struct instrument *inst_at(const struct instreg *reg, uint32_t id)
{
    return &reg->chunks[id >> CHUNK_SHIFT][id & (CHUNK_SIZE - 1)];
}

struct instreg *instreg_new(void)
{
    return atp_calloc(1, sizeof(struct instreg));
}

static void map_free(struct idmap *m)
{
    atp_free(m->slots);
    memset(m, 0, sizeof *m);
}

void instreg_free(struct instreg *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->nchunks; i++)
        atp_free(reg->chunks[i]);
    atp_free(reg->chunks);
    map_free(&reg->by_exch_symbol);
    map_free(&reg->by_symbol);
    for (int b = 0; b < BROKER_COUNT; b++) {
        map_free(&reg->by_token[b]);
        map_free(&reg->by_bsymbol[b]);
    }
    atp_free(reg);
}

size_t instreg_count(const struct instreg *reg)
{
    return reg ? reg->count : 0;
}

const struct instrument *instreg_get(const struct instreg *reg, uint32_t id)
{
    if (!reg || id >= reg->count)
        return NULL;
    return inst_at(reg, id);
}

/* ---- hash tables --------------------------------------------------------------------------- */

/* FNV-1a over the string, mixed with a small tag (exchange) so equal symbols on different
 * exchanges spread out. */
static uint32_t hash_str(const char *s, uint32_t tag)
{
    uint32_t h = 2166136261u ^ (tag * 0x9e3779b9u);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

/* The key a table holds for instrument in: its string and tag. Returns NULL when the instrument
 * has no key in that table (no token for that broker). */
static const char *key_of(const struct instrument *in, enum map_kind kind, int broker,
                          uint32_t *tag)
{
    switch (kind) {
    case MAP_EXCH_SYMBOL:
        *tag = (uint32_t)in->exchange + 1;
        return in->symbol;
    case MAP_SYMBOL:
        *tag = 0;
        return in->symbol;
    case MAP_TOKEN:
        *tag = 0;
        return in->broker[broker].token[0] ? in->broker[broker].token : NULL;
    case MAP_BSYMBOL:
        *tag = (uint32_t)in->exchange + 1;
        return in->broker[broker].symbol[0] ? in->broker[broker].symbol : NULL;
    }
    return NULL;
}

/* Slot index holding the key (str, tag), or of the free slot where it would go. */
static size_t map_probe(const struct instreg *reg, const struct idmap *m, enum map_kind kind,
                        int broker, const char *str, uint32_t tag)
{
    size_t mask = m->cap - 1;
    size_t i = hash_str(str, tag) & mask;
    for (;;) {
        uint32_t v = m->slots[i];
        if (v == MAP_EMPTY)
            return i;
        uint32_t t2;
        const char *k = key_of(inst_at(reg, v - 1), kind, broker, &t2);
        if (k && t2 == tag && strcmp(k, str) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

static uint32_t map_lookup(const struct instreg *reg, const struct idmap *m, enum map_kind kind,
                           int broker, const char *str, uint32_t tag)
{
    if (!m->cap || !str)
        return MAP_EMPTY;
    return m->slots[map_probe(reg, m, kind, broker, str, tag)];
}

/* Makes room for one more key (load factor <= 1/2). ATP_ENOMEM leaves the table as it was. */
static int map_reserve(const struct instreg *reg, struct idmap *m, enum map_kind kind, int broker,
                       size_t extra)
{
    if ((m->used + extra) * 2 <= m->cap)
        return ATP_OK;
    size_t cap = m->cap ? m->cap : 64;
    while ((m->used + extra) * 2 > cap)
        cap *= 2;
    uint32_t *slots = atp_calloc(cap, sizeof *slots);
    if (!slots)
        return ATP_ENOMEM;
    struct idmap grown = {slots, cap, 0};
    for (size_t i = 0; i < m->cap; i++) {
        uint32_t v = m->slots[i];
        if (v == MAP_EMPTY)
            continue;
        uint32_t tag;
        const char *k = key_of(inst_at(reg, v - 1), kind, broker, &tag);
        grown.slots[map_probe(reg, &grown, kind, broker, k, tag)] = v;
        grown.used++;
    }
    atp_free(m->slots);
    *m = grown;
    return ATP_OK;
}

/* Removes the entry at slot i, shifting later entries of its probe run back (no tombstones). */
static void map_delete_at(const struct instreg *reg, struct idmap *m, enum map_kind kind,
                          int broker, size_t i)
{
    size_t mask = m->cap - 1, j = i;
    m->slots[i] = MAP_EMPTY;
    m->used--;
    for (;;) {
        j = (j + 1) & mask;
        uint32_t v = m->slots[j];
        if (v == MAP_EMPTY)
            return;
        uint32_t tag;
        const char *k = key_of(inst_at(reg, v - 1), kind, broker, &tag);
        size_t home = hash_str(k, tag) & mask;
        /* v may move to the hole at i unless its home lies cyclically in (i, j]. */
        int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = v;
            m->slots[j] = MAP_EMPTY;
            i = j;
        }
    }
}

/* Exchange preference for a bare symbol: NSE first, then BSE, then the rest in enum order. */
static int prefers(enum exchange a, enum exchange b)
{
    return a < b;
}

/* Inserts instrument id into the table of the given kind. The table must have room (reserved). */
static void map_insert(struct instreg *reg, struct idmap *m, enum map_kind kind, int broker,
                       uint32_t id)
{
    uint32_t tag;
    const char *k = key_of(inst_at(reg, id), kind, broker, &tag);
    if (!k)
        return;
    size_t i = map_probe(reg, m, kind, broker, k, tag);
    if (m->slots[i] == MAP_EMPTY) {
        m->slots[i] = id + 1;
        m->used++;
    } else if (kind == MAP_SYMBOL &&
               prefers(inst_at(reg, id)->exchange, inst_at(reg, m->slots[i] - 1)->exchange)) {
        m->slots[i] = id + 1;
    }
}

static void map_remove(struct instreg *reg, struct idmap *m, enum map_kind kind, int broker,
                       uint32_t id)
{
    uint32_t tag;
    const char *k = key_of(inst_at(reg, id), kind, broker, &tag);
    if (!k || !m->cap)
        return;
    size_t i = map_probe(reg, m, kind, broker, k, tag);
    if (m->slots[i] == id + 1)
        map_delete_at(reg, m, kind, broker, i);
}

/* Empties every table and re-inserts instruments 0..count-1, without allocating. */
static void maps_rebuild(struct instreg *reg)
{
    struct idmap *all[2 + 2 * BROKER_COUNT];
    int n = 0;
    all[n++] = &reg->by_exch_symbol;
    all[n++] = &reg->by_symbol;
    for (int b = 0; b < BROKER_COUNT; b++) {
        all[n++] = &reg->by_token[b];
        all[n++] = &reg->by_bsymbol[b];
    }
    for (int k = 0; k < n; k++) {
        if (all[k]->cap)
            memset(all[k]->slots, 0, all[k]->cap * sizeof(uint32_t));
        all[k]->used = 0;
    }
    for (uint32_t id = 0; id < reg->count; id++) {
        map_insert(reg, &reg->by_exch_symbol, MAP_EXCH_SYMBOL, 0, id);
        map_insert(reg, &reg->by_symbol, MAP_SYMBOL, 0, id);
        for (int b = 0; b < BROKER_COUNT; b++) {
            map_insert(reg, &reg->by_token[b], MAP_TOKEN, b, id);
            map_insert(reg, &reg->by_bsymbol[b], MAP_BSYMBOL, b, id);
        }
    }
}

/* ---- look-ups ------------------------------------------------------------------------------ */

static const struct instrument *by_slot(const struct instreg *reg, uint32_t v)
{
    return v == MAP_EMPTY ? NULL : inst_at(reg, v - 1);
}

const struct instrument *instreg_find(const struct instreg *reg, const char *symbol)
{
    if (!reg || !symbol)
        return NULL;
    return by_slot(reg, map_lookup(reg, &reg->by_symbol, MAP_SYMBOL, 0, symbol, 0));
}

const struct instrument *instreg_find_on(const struct instreg *reg, enum exchange ex,
                                         const char *symbol)
{
    if (!reg || !symbol || (unsigned)ex >= EXCH_COUNT)
        return NULL;
    return by_slot(reg, map_lookup(reg, &reg->by_exch_symbol, MAP_EXCH_SYMBOL, 0, symbol,
                                   (uint32_t)ex + 1));
}

const struct instrument *instreg_find_token(const struct instreg *reg, enum broker_id b,
                                            const char *token)
{
    if (!reg || !token || !token[0] || (unsigned)b >= BROKER_COUNT)
        return NULL;
    return by_slot(reg, map_lookup(reg, &reg->by_token[b], MAP_TOKEN, b, token, 0));
}

const struct instrument *instreg_find_broker_symbol(const struct instreg *reg, enum broker_id b,
                                                    enum exchange ex, const char *symbol)
{
    if (!reg || !symbol || !symbol[0] || (unsigned)b >= BROKER_COUNT ||
        (unsigned)ex >= EXCH_COUNT)
        return NULL;
    return by_slot(reg, map_lookup(reg, &reg->by_bsymbol[b], MAP_BSYMBOL, b, symbol,
                                   (uint32_t)ex + 1));
}

/* ---- adding -------------------------------------------------------------------------------- */

/* 1 when s is a NUL-terminated string shorter than size with no control characters. */
static int text_ok(const char *s, size_t size)
{
    size_t n = strnlen(s, size);
    if (n == size)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

static int validate(const struct instrument *in, struct atp_err *err)
{
    if (!text_ok(in->symbol, sizeof in->symbol) || !in->symbol[0])
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "symbol", "symbol is empty or invalid");
    if ((unsigned)in->exchange >= EXCH_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "exchange", "invalid exchange");
    if ((unsigned)in->type >= INST_TYPE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "type", "invalid instrument type");
    if (in->lot_size < 1)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "lot_size", "lot size %lld is not >= 1",
                           (long long)in->lot_size);
    if (in->tick_size <= 0) {
        char t[PX_STR_MAX];
        px_format(in->tick_size, t, sizeof t);
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "tick_size", "tick size %s is not > 0", t);
    }
    if (!text_ok(in->name, sizeof in->name) || !text_ok(in->underlying, sizeof in->underlying) ||
        !text_ok(in->isin, sizeof in->isin))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL,
                           "name, underlying or isin is not terminated text");
    for (int b = 0; b < BROKER_COUNT; b++)
        if (!text_ok(in->broker[b].symbol, sizeof in->broker[b].symbol) ||
            !text_ok(in->broker[b].token, sizeof in->broker[b].token))
            return atp_err_set(err, ATP_EINVAL, NULL, 0, broker_name((enum broker_id)b),
                               "broker symbol or token is not terminated text");
    return ATP_OK;
}

/* Checks that in's unique keys are free. ATP_EEXIST names the clash. */
static int check_unique(const struct instreg *reg, const struct instrument *in,
                        struct atp_err *err)
{
    const struct instrument *o = instreg_find_on(reg, in->exchange, in->symbol);
    if (o)
        return atp_err_set(err, ATP_EEXIST, NULL, 0, "symbol", "%s:%s is already registered",
                           exchange_name(in->exchange), in->symbol);
    for (int b = 0; b < BROKER_COUNT; b++) {
        static const char *const token_cols[BROKER_COUNT] = {
            "kite_token", "angel_token", "upstox_token", "fyers_token", "dhan_token"};
        static const char *const symbol_cols[BROKER_COUNT] = {
            "kite_symbol", "angel_symbol", "upstox_symbol", "fyers_symbol", "dhan_symbol"};
        o = instreg_find_token(reg, (enum broker_id)b, in->broker[b].token);
        if (o)
            return atp_err_set(err, ATP_EEXIST, NULL, 0, token_cols[b],
                               "%s token %s already belongs to %s:%s", broker_name((enum broker_id)b),
                               in->broker[b].token, exchange_name(o->exchange), o->symbol);
        o = instreg_find_broker_symbol(reg, (enum broker_id)b, in->exchange, in->broker[b].symbol);
        if (o)
            return atp_err_set(err, ATP_EEXIST, NULL, 0, symbol_cols[b],
                               "%s symbol %s on %s already belongs to %s",
                               broker_name((enum broker_id)b), in->broker[b].symbol,
                               exchange_name(in->exchange), o->symbol);
    }
    return ATP_OK;
}

/* Reserves table room for one more instrument in every table. */
static int maps_reserve_one(struct instreg *reg)
{
    int rc = map_reserve(reg, &reg->by_exch_symbol, MAP_EXCH_SYMBOL, 0, 1);
    if (rc == ATP_OK)
        rc = map_reserve(reg, &reg->by_symbol, MAP_SYMBOL, 0, 1);
    for (int b = 0; b < BROKER_COUNT && rc == ATP_OK; b++) {
        rc = map_reserve(reg, &reg->by_token[b], MAP_TOKEN, b, 1);
        if (rc == ATP_OK)
            rc = map_reserve(reg, &reg->by_bsymbol[b], MAP_BSYMBOL, b, 1);
    }
    return rc;
}

static int add_checked(struct instreg *reg, const struct instrument *in, uint32_t *id_out,
                       struct atp_err *err)
{
    int rc = validate(in, err);
    if (rc == ATP_OK)
        rc = check_unique(reg, in, err);
    if (rc != ATP_OK)
        return rc;
    if (reg->count == UINT32_MAX - 1)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "registry is full");
    uint32_t id = reg->count;
    if ((id >> CHUNK_SHIFT) >= reg->nchunks) {
        if (reg->nchunks == reg->chunks_cap) {
            size_t cap = reg->chunks_cap ? reg->chunks_cap * 2 : 8;
            struct instrument **c = atp_reallocarray(reg->chunks, cap, sizeof *c);
            if (!c)
                return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
            reg->chunks = c;
            reg->chunks_cap = cap;
        }
        struct instrument *chunk = atp_calloc(CHUNK_SIZE, sizeof *chunk);
        if (!chunk)
            return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        reg->chunks[reg->nchunks++] = chunk;
    }
    if (maps_reserve_one(reg) != ATP_OK)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    struct instrument *slot = inst_at(reg, id);
    *slot = *in;
    slot->id = id;
    reg->count++;
    map_insert(reg, &reg->by_exch_symbol, MAP_EXCH_SYMBOL, 0, id);
    map_insert(reg, &reg->by_symbol, MAP_SYMBOL, 0, id);
    for (int b = 0; b < BROKER_COUNT; b++) {
        map_insert(reg, &reg->by_token[b], MAP_TOKEN, b, id);
        map_insert(reg, &reg->by_bsymbol[b], MAP_BSYMBOL, b, id);
    }
    if (id_out)
        *id_out = id;
    return ATP_OK;
}

int instreg_add(struct instreg *reg, const struct instrument *in, uint32_t *id_out)
{
    if (!reg || !in)
        return ATP_EINVAL;
    return add_checked(reg, in, id_out, NULL);
}

/* ---- loading: shared machinery ------------------------------------------------------------- */

/* One overwritten broker reference, kept so a failed load can put it back. */
struct undo_entry {
    uint32_t id;
    enum broker_id broker;
    struct instrument_broker_ref old;
};

struct load_tx {
    struct instreg *reg;
    uint32_t start_count;
    struct undo_entry *undo;
    size_t nundo, undo_cap;
};

static void tx_begin(struct load_tx *tx, struct instreg *reg)
{
    memset(tx, 0, sizeof *tx);
    tx->reg = reg;
    tx->start_count = reg->count;
}

/* Undoes everything the load did. Frees chunks that became empty; never allocates. */
static void tx_rollback(struct load_tx *tx)
{
    struct instreg *reg = tx->reg;
    for (size_t i = tx->nundo; i-- > 0;)
        inst_at(reg, tx->undo[i].id)->broker[tx->undo[i].broker] = tx->undo[i].old;
    for (uint32_t id = tx->start_count; id < reg->count; id++)
        memset(inst_at(reg, id), 0, sizeof(struct instrument));
    reg->count = tx->start_count;
    size_t keep = (reg->count + CHUNK_SIZE - 1) >> CHUNK_SHIFT;
    while (reg->nchunks > keep)
        atp_free(reg->chunks[--reg->nchunks]);
    maps_rebuild(reg);
}

static void tx_end(struct load_tx *tx)
{
    atp_free(tx->undo);
    tx->undo = NULL;
}

/* Replaces broker reference b of instrument id, re-indexing it and logging the old value. */
static int tx_set_broker_ref(struct load_tx *tx, uint32_t id, enum broker_id b,
                             const struct instrument_broker_ref *ref)
{
    struct instreg *reg = tx->reg;
    struct instrument *in = inst_at(reg, id);
    if (strcmp(in->broker[b].symbol, ref->symbol) == 0 &&
        strcmp(in->broker[b].token, ref->token) == 0)
        return ATP_OK;
    if (tx->nundo == tx->undo_cap) {
        size_t cap = tx->undo_cap ? tx->undo_cap * 2 : 64;
        struct undo_entry *u = atp_reallocarray(tx->undo, cap, sizeof *u);
        if (!u)
            return ATP_ENOMEM;
        tx->undo = u;
        tx->undo_cap = cap;
    }
    if (map_reserve(reg, &reg->by_token[b], MAP_TOKEN, b, 1) != ATP_OK ||
        map_reserve(reg, &reg->by_bsymbol[b], MAP_BSYMBOL, b, 1) != ATP_OK)
        return ATP_ENOMEM;
    tx->undo[tx->nundo].id = id;
    tx->undo[tx->nundo].broker = b;
    tx->undo[tx->nundo].old = in->broker[b];
    tx->nundo++;
    map_remove(reg, &reg->by_token[b], MAP_TOKEN, b, id);
    map_remove(reg, &reg->by_bsymbol[b], MAP_BSYMBOL, b, id);
    in->broker[b] = *ref;
    map_insert(reg, &reg->by_token[b], MAP_TOKEN, b, id);
    map_insert(reg, &reg->by_bsymbol[b], MAP_BSYMBOL, b, id);
    return ATP_OK;
}

/* Shows a field's text in a message: at most 40 bytes, non-printable bytes as '?'. */
static const char *shown(struct csv_field f, char *buf, size_t size)
{
    size_t n = f.len < 40 ? f.len : 40;
    if (n + 1 > size)
        n = size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)f.ptr[i];
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    buf[n] = '\0';
    if (f.len > n && n >= 3)
        memcpy(buf + n - 3, "...", 3);
    return buf;
}

struct row_ctx {
    const struct csv_reader *r;
    struct atp_err *err;
};

static int bad(const struct row_ctx *c, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills err with the reader's file and line and the column name. */
static int bad(const struct row_ctx *c, int code, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return atp_err_set(c->err, code, c->r->name, c->r->line, field, "%s", msg);
}

/* Copies column col (may be -1: "") into buf, ATP_EINVAL naming the column when too long. */
static int get_text(const struct row_ctx *c, int col, const char *field, char *buf, size_t size)
{
    if (csv_field_copy(c->r, col, buf, size) != ATP_OK) {
        char s[48];
        return bad(c, ATP_EINVAL, field, "'%s' is longer than %zu characters",
                   shown(csv_field_get(c->r, col), s, sizeof s), size - 1);
    }
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            return bad(c, ATP_EINVAL, field, "control character in text");
    return ATP_OK;
}

static int get_px(const struct row_ctx *c, int col, const char *field, px_t *out)
{
    struct csv_field f = csv_field_get(c->r, col);
    char s[48];
    int rc = px_parse(f.ptr, f.len, out, NULL);
    if (rc == ATP_ERANGE)
        return bad(c, ATP_EPARSE, field, "'%s' has more than %d decimals", shown(f, s, sizeof s),
                   PX_DECIMALS);
    if (rc != ATP_OK)
        return bad(c, ATP_EPARSE, field, "'%s' is not a decimal number", shown(f, s, sizeof s));
    return ATP_OK;
}

static int get_int(const struct row_ctx *c, int col, const char *field, int64_t *out)
{
    long long v;
    struct csv_field f = csv_field_get(c->r, col);
    char s[48];
    if (csv_field_int(c->r, col, &v, NULL) != ATP_OK)
        return bad(c, ATP_EPARSE, field, "'%s' is not an integer", shown(f, s, sizeof s));
    *out = v;
    return ATP_OK;
}

/* Parses a date column "YYYY-MM-DD" into an IST day number. Only that form, years 1970-2200, is
 * handed to ts_parse: its nanosecond result overflows past 2262 (and for long epoch-ms digit
 * strings), which hostile input must not reach. */
static int get_day(const struct row_ctx *c, int col, const char *field, int64_t *out)
{
    struct csv_field f = csv_field_get(c->r, col);
    char s[48];
    ts_ns t;
    int date_only = 0, form = f.len == 10 && f.ptr[4] == '-' && f.ptr[7] == '-';
    for (size_t i = 0; form && i < 10; i++)
        form = (i == 4 || i == 7) || isdigit((unsigned char)f.ptr[i]);
    int year = form ? (f.ptr[0] - '0') * 1000 + (f.ptr[1] - '0') * 100 + (f.ptr[2] - '0') * 10 +
                          (f.ptr[3] - '0')
                    : 0;
    if (!form || year < 1970 || year > 2200 ||
        ts_parse(f.ptr, f.len, &t, &date_only, NULL) != ATP_OK || !date_only)
        return bad(c, ATP_EPARSE, field, "'%s' is not a date (YYYY-MM-DD, 1970-2200)",
                   shown(f, s, sizeof s));
    *out = ts_ist_day(t);
    return ATP_OK;
}

static int is_empty(const struct row_ctx *c, int col)
{
    return csv_field_get(c->r, col).len == 0;
}

/* Adds in, turning a validation or uniqueness failure into a located error. */
static int add_located(const struct row_ctx *c, struct instreg *reg, const struct instrument *in,
                       uint32_t *id_out)
{
    int rc = add_checked(reg, in, id_out, c->err);
    if (rc != ATP_OK)
        atp_err_locate(c->err, c->r->name, c->r->line);
    return rc;
}

static int open_file(const char *path, FILE **f, struct atp_err *err)
{
    *f = path ? fopen(path, "r") : NULL;
    if (!*f)
        return atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open file");
    return ATP_OK;
}

/* ---- ATP master CSV ------------------------------------------------------------------------ */

enum master_col {
    COL_SYMBOL, COL_EXCHANGE, COL_TYPE, COL_NAME, COL_UNDERLYING, COL_ISIN, COL_LOT, COL_TICK,
    COL_EXPIRY, COL_STRIKE,
    COL_BROKER0, /* then symbol, token per broker */
    COL_COUNT = COL_BROKER0 + 2 * BROKER_COUNT
};

static const char *const master_cols[COL_COUNT] = {
    "symbol", "exchange", "type", "name", "underlying", "isin", "lot_size", "tick_size", "expiry",
    "strike", "kite_symbol", "kite_token", "angel_symbol", "angel_token", "upstox_symbol",
    "upstox_token", "fyers_symbol", "fyers_token", "dhan_symbol", "dhan_token"};

static int is_required(int col)
{
    return col == COL_SYMBOL || col == COL_EXCHANGE || col == COL_TYPE || col == COL_LOT ||
           col == COL_TICK;
}

/* ISIN: 2 letters, 9 alphanumerics, a check digit (Luhn over the letters expanded to 10..35). */
static int isin_ok(const char *s)
{
    if (strlen(s) != 12 || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[11]))
        return 0;
    int digits[24], n = 0;
    for (int i = 0; i < 11; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isdigit(ch)) {
            digits[n++] = ch - '0';
        } else if (isupper(ch)) {
            int v = ch - 'A' + 10;
            digits[n++] = v / 10;
            digits[n++] = v % 10;
        } else {
            return 0;
        }
    }
    int sum = 0;
    for (int i = n - 1, dbl = 1; i >= 0; i--, dbl = !dbl) {
        int d = digits[i] * (dbl ? 2 : 1);
        sum += d / 10 + d % 10;
    }
    return (10 - sum % 10) % 10 == s[11] - '0';
}

/* Standard symbols: upper-case letters, digits and & - _ . (NSE's own alphabet). */
static int symbol_chars_ok(const char *s)
{
    for (; *s; s++)
        if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("&-_.", *s))
            return 0;
    return 1;
}

static int is_derivative(enum inst_type t)
{
    return t == INST_FUT || t == INST_CE || t == INST_PE;
}

static int is_derivative_exchange(enum exchange e)
{
    return e == EXCH_NFO || e == EXCH_BFO || e == EXCH_CDS || e == EXCH_MCX;
}

static int master_row(const struct row_ctx *c, const int *col, struct instrument *in)
{
    char s[48], text[INST_SYMBOL_MAX];
    int rc;
    memset(in, 0, sizeof *in);
    in->expiry_day = -1;

    if ((rc = get_text(c, col[COL_SYMBOL], "symbol", in->symbol, sizeof in->symbol)))
        return rc;
    if (!in->symbol[0])
        return bad(c, ATP_EINVAL, "symbol", "symbol is empty");
    if (!symbol_chars_ok(in->symbol))
        return bad(c, ATP_EINVAL, "symbol",
                   "'%s' has characters other than A-Z 0-9 & - _ .", in->symbol);

    if ((rc = get_text(c, col[COL_EXCHANGE], "exchange", text, sizeof text)))
        return rc;
    if (exchange_parse(text, &in->exchange) != ATP_OK)
        return bad(c, ATP_EINVAL, "exchange", "'%s' is not an exchange (NSE BSE NFO BFO CDS MCX)",
                   text);
    if ((rc = get_text(c, col[COL_TYPE], "type", text, sizeof text)))
        return rc;
    if (inst_type_parse(text, &in->type) != ATP_OK)
        return bad(c, ATP_EINVAL, "type", "'%s' is not a type (EQ INDEX FUT CE PE)", text);
    if (is_derivative(in->type) != is_derivative_exchange(in->exchange))
        return bad(c, ATP_EINVAL, "type", "type %s is not traded on %s", inst_type_name(in->type),
                   exchange_name(in->exchange));

    if ((rc = get_text(c, col[COL_NAME], "name", in->name, sizeof in->name)))
        return rc;
    if ((rc = get_text(c, col[COL_UNDERLYING], "underlying", in->underlying,
                       sizeof in->underlying)))
        return rc;
    if (is_derivative(in->type) && !in->underlying[0])
        return bad(c, ATP_EINVAL, "underlying", "a %s needs an underlying",
                   inst_type_name(in->type));
    if ((rc = get_text(c, col[COL_ISIN], "isin", in->isin, sizeof in->isin)))
        return rc;
    if (in->isin[0] && !isin_ok(in->isin))
        return bad(c, ATP_EINVAL, "isin", "'%s' is not a valid ISIN (format or check digit)",
                   in->isin);

    if ((rc = get_int(c, col[COL_LOT], "lot_size", &in->lot_size)))
        return rc;
    if (in->lot_size < 1)
        return bad(c, ATP_EINVAL, "lot_size", "lot size %lld is not >= 1",
                   (long long)in->lot_size);
    if ((rc = get_px(c, col[COL_TICK], "tick_size", &in->tick_size)))
        return rc;
    if (in->tick_size <= 0)
        return bad(c, ATP_EINVAL, "tick_size", "tick size '%s' is not > 0",
                   shown(csv_field_get(c->r, col[COL_TICK]), s, sizeof s));

    if (!is_empty(c, col[COL_EXPIRY])) {
        if ((rc = get_day(c, col[COL_EXPIRY], "expiry", &in->expiry_day)))
            return rc;
        if (!is_derivative(in->type))
            return bad(c, ATP_EINVAL, "expiry", "a %s has no expiry", inst_type_name(in->type));
    } else if (is_derivative(in->type)) {
        return bad(c, ATP_EINVAL, "expiry", "a %s needs an expiry", inst_type_name(in->type));
    }
    if (!is_empty(c, col[COL_STRIKE]) && (rc = get_px(c, col[COL_STRIKE], "strike", &in->strike)))
        return rc;
    if (in->type == INST_CE || in->type == INST_PE) {
        if (in->strike <= 0)
            return bad(c, ATP_EINVAL, "strike", "an option needs a strike > 0");
    } else if (in->strike != 0) {
        return bad(c, ATP_EINVAL, "strike", "a %s has no strike", inst_type_name(in->type));
    }

    for (int b = 0; b < BROKER_COUNT; b++) {
        int k = COL_BROKER0 + 2 * b;
        if ((rc = get_text(c, col[k], master_cols[k], in->broker[b].symbol,
                           sizeof in->broker[b].symbol)))
            return rc;
        if ((rc = get_text(c, col[k + 1], master_cols[k + 1], in->broker[b].token,
                           sizeof in->broker[b].token)))
            return rc;
    }
    return ATP_OK;
}

int instreg_load_csv_stream(struct instreg *reg, FILE *f, const char *name, struct atp_err *err)
{
    struct csv_reader r;
    struct load_tx tx;
    struct row_ctx c = {&r, err};
    int col[COL_COUNT];
    int rc;

    atp_err_clear(err);
    if (!reg || !f)
        return atp_err_set(err, ATP_EINVAL, name, 0, NULL, "no registry or no file");
    csv_reader_init(&r, f, name);
    tx_begin(&tx, reg);

    rc = csv_read_header(&r, master_cols, COL_COUNT, is_required, col, err);
    if (rc != ATP_OK)
        goto cleanup;
    while ((rc = csv_read_row(&r, err)) == 1) {
        struct instrument in;
        if ((rc = master_row(&c, col, &in)) != ATP_OK)
            goto cleanup;
        if ((rc = add_located(&c, reg, &in, NULL)) != ATP_OK)
            goto cleanup;
    }
cleanup:
    if (rc < 0)
        tx_rollback(&tx);
    tx_end(&tx);
    csv_reader_cleanup(&r);
    return rc < 0 ? rc : ATP_OK;
}

int instreg_load_csv(struct instreg *reg, const char *path, struct atp_err *err)
{
    FILE *f;
    int rc = open_file(path, &f, err);
    if (rc != ATP_OK)
        return rc;
    rc = instreg_load_csv_stream(reg, f, path, err);
    fclose(f);
    return rc;
}

/* ---- Kite Connect instrument CSV ----------------------------------------------------------- */

enum kite_col {
    KC_TOKEN, KC_EXCH_TOKEN, KC_SYMBOL, KC_NAME, KC_EXPIRY, KC_STRIKE, KC_TICK, KC_LOT, KC_TYPE,
    KC_SEGMENT, KC_EXCHANGE, KC_COUNT
};

static const char *const kite_cols[KC_COUNT] = {
    "instrument_token", "exchange_token", "tradingsymbol", "name", "expiry", "strike",
    "tick_size", "lot_size", "instrument_type", "segment", "exchange"};

/* Columns a Kite row cannot do without (exchange_token and name may be absent). */
static int kite_required(int k)
{
    return k != KC_EXCH_TOKEN && k != KC_NAME && k != KC_EXPIRY && k != KC_STRIKE;
}

/* Handles one Kite row: merges into an existing instrument or adds a new one. Sets *skipped
 * for rows on exchanges ATP does not model (BCD, NCO, NSEIX, GLOBAL, ...). */
static int kite_row(const struct row_ctx *c, struct load_tx *tx, const int *col, int *skipped)
{
    struct instreg *reg = tx->reg;
    struct instrument in;
    struct instrument_broker_ref ref;
    char text[INST_SYMBOL_MAX], s[48];
    int rc;

    *skipped = 0;
    memset(&in, 0, sizeof in);
    memset(&ref, 0, sizeof ref);
    in.expiry_day = -1;

    if ((rc = get_text(c, col[KC_EXCHANGE], "exchange", text, sizeof text)))
        return rc;
    if (exchange_parse(text, &in.exchange) != ATP_OK) {
        *skipped = 1;
        return ATP_OK;
    }
    if ((rc = get_text(c, col[KC_SYMBOL], "tradingsymbol", ref.symbol, sizeof ref.symbol)))
        return rc;
    if (!ref.symbol[0])
        return bad(c, ATP_EINVAL, "tradingsymbol", "tradingsymbol is empty");
    if ((rc = get_text(c, col[KC_TOKEN], "instrument_token", ref.token, sizeof ref.token)))
        return rc;
    int64_t token;
    if ((rc = get_int(c, col[KC_TOKEN], "instrument_token", &token)))
        return rc;
    if (token <= 0 || token > UINT32_MAX)
        return bad(c, ATP_EINVAL, "instrument_token", "token %lld is out of range",
                   (long long)token);
    snprintf(ref.token, sizeof ref.token, "%lld", (long long)token); /* canonical, no ".0" */

    /* Merge: the instrument Kite calls this, else the one with this standard symbol. */
    const struct instrument *have =
        instreg_find_broker_symbol(reg, BROKER_KITE, in.exchange, ref.symbol);
    if (!have) {
        have = instreg_find_on(reg, in.exchange, ref.symbol);
        if (have && have->broker[BROKER_KITE].symbol[0])
            return bad(c, ATP_EEXIST, "tradingsymbol",
                       "%s:%s is already registered with Kite symbol %s",
                       exchange_name(in.exchange), ref.symbol, have->broker[BROKER_KITE].symbol);
    }
    if (have) {
        const struct instrument *owner = instreg_find_token(reg, BROKER_KITE, ref.token);
        if (owner && owner != have)
            return bad(c, ATP_EEXIST, "instrument_token", "kite token %s already belongs to %s:%s",
                       ref.token, exchange_name(owner->exchange), owner->symbol);
        if (tx_set_broker_ref(tx, have->id, BROKER_KITE, &ref) != ATP_OK)
            return bad(c, ATP_ENOMEM, NULL, "out of memory");
        return ATP_OK;
    }

    /* A new instrument. Its Kite token must be free (named by Kite's column, not ATP's). */
    const struct instrument *owner = instreg_find_token(reg, BROKER_KITE, ref.token);
    if (owner)
        return bad(c, ATP_EEXIST, "instrument_token", "kite token %s already belongs to %s:%s",
                   ref.token, exchange_name(owner->exchange), owner->symbol);
    memcpy(in.symbol, ref.symbol, sizeof in.symbol);
    in.broker[BROKER_KITE] = ref;
    if ((rc = get_text(c, col[KC_TYPE], "instrument_type", text, sizeof text)))
        return rc;
    if (inst_type_parse(text, &in.type) != ATP_OK || in.type == INST_INDEX)
        return bad(c, ATP_EINVAL, "instrument_type", "'%s' is not EQ, FUT, CE or PE", text);
    int index = csv_field_eq(c->r, col[KC_SEGMENT], "INDICES");
    if (index)
        in.type = INST_INDEX;
    if (is_derivative(in.type) != is_derivative_exchange(in.exchange))
        return bad(c, ATP_EINVAL, "instrument_type", "type %s is not traded on %s",
                   inst_type_name(in.type), exchange_name(in.exchange));

    /* Names are descriptive only: a long one is cut, not rejected. */
    struct csv_field nf = csv_field_get(c->r, col[KC_NAME]);
    size_t nlen = nf.len < sizeof in.name - 1 ? nf.len : sizeof in.name - 1;
    for (size_t i = 0; i < nlen; i++) {
        unsigned char ch = (unsigned char)nf.ptr[i];
        in.name[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    in.name[nlen] = '\0';
    if (is_derivative(in.type)) {
        if ((rc = get_text(c, col[KC_NAME], "name", in.underlying, sizeof in.underlying)))
            return rc;
    }

    if ((rc = get_int(c, col[KC_LOT], "lot_size", &in.lot_size)))
        return rc;
    if ((rc = get_px(c, col[KC_TICK], "tick_size", &in.tick_size)))
        return rc;
    if (index) { /* Kite lists indices with lot 0 and tick 0: they are not tradable */
        if (in.lot_size == 0)
            in.lot_size = 1;
        if (in.tick_size == 0)
            in.tick_size = PX_SCALE / 20; /* 0.05, the index quote step */
    }
    if (in.lot_size < 1)
        return bad(c, ATP_EINVAL, "lot_size", "lot size %lld is not >= 1", (long long)in.lot_size);
    if (in.tick_size <= 0)
        return bad(c, ATP_EINVAL, "tick_size", "tick size '%s' is not > 0",
                   shown(csv_field_get(c->r, col[KC_TICK]), s, sizeof s));

    if (!is_empty(c, col[KC_EXPIRY]) &&
        (rc = get_day(c, col[KC_EXPIRY], "expiry", &in.expiry_day)))
        return rc;
    if (is_derivative(in.type) && in.expiry_day < 0)
        return bad(c, ATP_EINVAL, "expiry", "a %s needs an expiry", inst_type_name(in.type));
    if (!is_derivative(in.type))
        in.expiry_day = -1;
    if (in.type == INST_CE || in.type == INST_PE) {
        if (is_empty(c, col[KC_STRIKE]) || (rc = get_px(c, col[KC_STRIKE], "strike", &in.strike)))
            return rc ? rc : bad(c, ATP_EINVAL, "strike", "an option needs a strike");
        if (in.strike <= 0)
            return bad(c, ATP_EINVAL, "strike", "an option needs a strike > 0");
    }
    return add_located(c, reg, &in, NULL);
}

int instreg_load_kite_csv_stream(struct instreg *reg, FILE *f, const char *name,
                                 struct atp_err *err)
{
    struct csv_reader r;
    struct load_tx tx;
    struct row_ctx c = {&r, err};
    int col[KC_COUNT];
    int rc;

    atp_err_clear(err);
    if (!reg || !f)
        return atp_err_set(err, ATP_EINVAL, name, 0, NULL, "no registry or no file");
    csv_reader_init(&r, f, name);
    tx_begin(&tx, reg);

    rc = csv_read_header(&r, kite_cols, KC_COUNT, kite_required, col, err);
    if (rc != ATP_OK)
        goto cleanup;
    while ((rc = csv_read_row(&r, err)) == 1) {
        int skipped;
        if ((rc = kite_row(&c, &tx, col, &skipped)) != ATP_OK)
            goto cleanup;
    }
cleanup:
    if (rc < 0)
        tx_rollback(&tx);
    tx_end(&tx);
    csv_reader_cleanup(&r);
    return rc < 0 ? rc : ATP_OK;
}

int instreg_load_kite_csv(struct instreg *reg, const char *path, struct atp_err *err)
{
    FILE *f;
    int rc = open_file(path, &f, err);
    if (rc != ATP_OK)
        return rc;
    rc = instreg_load_kite_csv_stream(reg, f, path, err);
    fclose(f);
    return rc;
}
