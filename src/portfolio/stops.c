/* portfolio/stops: the protective-exit book (contract in stops.h, formulas in docs/portfolio.md).
 *
 * Entries live in one growable array addressed by index (never removed, so indices are stable
 * and survive reallocation), found by an open-addressing hash on the position key, and linked
 * per instrument (in creation order) so a tick visits only its instrument's entries. */
#include "portfolio/stops.h"

#include <string.h>

#include "core/alloc.h"

typedef __int128 wide;

struct entry {
    struct portfolio_key key;
    struct stops_params params;
    px_t tick_size;
    enum stops_state state;
    int64_t qty;
    px_t entry_px;
    px_t sl, tp, ts;       /* levels, 0 = off */
    px_t extreme;
    uint32_t next_in_inst; /* 1 + index, 0 = end */
};

struct inst {
    uint32_t instrument_id;
    uint32_t head, tail;   /* 1 + index, 0 = none */
};

struct stops {
    struct entry *entries;
    uint32_t count, cap;
    struct inst *insts;
    uint32_t inst_count, inst_cap;
    uint32_t *key_slots;   /* 1 + entry index, 0 = empty; key_cap a power of two */
    uint32_t key_cap;
    uint32_t *inst_slots;  /* 1 + inst index */
    uint32_t inst_slot_cap;
};

const char *stop_reason_name(enum stop_reason reason)
{
    static const char *const names[STOP_REASON_COUNT] = {"NONE", "STOP_LOSS", "TAKE_PROFIT",
                                                         "TRAILING_STOP"};
    return (unsigned)reason < STOP_REASON_COUNT ? names[reason] : "?";
}

/* ---- levels ---------------------------------------------------------------------------------- */

static wide floor_div(wide a, wide b) /* b > 0 */
{
    wide q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static wide ceil_div(wide a, wide b) /* b > 0 */
{
    wide q = a / b;
    return (a % b != 0 && a > 0) ? q + 1 : q;
}

int stops_level_below(px_t price, uint32_t ppm, px_t tick_size, px_t *out)
{
    if (price <= 0 || tick_size <= 0)
        return ATP_EINVAL;
    wide num = (wide)price * ((wide)STOPS_PPM_ONE - ppm);
    wide level = floor_div(num, (wide)STOPS_PPM_ONE * tick_size) * tick_size;
    *out = level > 0 ? (px_t)level : 0; /* below price, so it fits */
    return ATP_OK;
}

int stops_level_above(px_t price, uint32_t ppm, px_t tick_size, px_t *out)
{
    if (price <= 0 || tick_size <= 0)
        return ATP_EINVAL;
    wide num = (wide)price * ((wide)STOPS_PPM_ONE + ppm);
    wide level = ceil_div(num, (wide)STOPS_PPM_ONE * tick_size) * tick_size;
    if (level > PX_MAX)
        return ATP_EOVERFLOW;
    *out = (px_t)level;
    return ATP_OK;
}

static int params_valid(const struct stops_params *p)
{
    return p->stop_loss_ppm < STOPS_PPM_ONE && p->trailing_ppm < STOPS_PPM_ONE &&
           p->take_profit_ppm <= STOPS_TAKE_PROFIT_PPM_MAX;
}

/* Level of one parameter (0 when off): below or above entry. */
static int level_of(px_t entry_px, uint32_t ppm, px_t tick_size, int below, px_t *out)
{
    *out = 0;
    if (ppm == 0)
        return ATP_OK;
    return below ? stops_level_below(entry_px, ppm, tick_size, out)
                 : stops_level_above(entry_px, ppm, tick_size, out);
}

/* Levels of a position (qty != 0) from entry: a long's stops below and target above, a short's
 * the other way round. Into *e only when all fit; ATP_OK or ATP_EOVERFLOW (inputs are valid). */
static int levels_from_entry(struct entry *e, int64_t qty, px_t entry_px)
{
    const struct stops_params *p = &e->params;
    int is_long = qty > 0;
    px_t sl, tp, ts;
    if (level_of(entry_px, p->stop_loss_ppm, e->tick_size, is_long, &sl) != ATP_OK ||
        level_of(entry_px, p->take_profit_ppm, e->tick_size, !is_long, &tp) != ATP_OK ||
        level_of(entry_px, p->trailing_ppm, e->tick_size, is_long, &ts) != ATP_OK)
        return ATP_EOVERFLOW;
    e->sl = sl;
    e->tp = tp;
    e->ts = ts;
    return ATP_OK;
}

/* The trailing stop of an entry whose extreme moved to x: ratchets toward the price only.
 * A candidate that does not fit (a short's level near PX_MAX) leaves the stop as it is. */
static void trail_to(struct entry *e, px_t x)
{
    if (e->params.trailing_ppm == 0)
        return;
    px_t cand;
    if (e->qty > 0) {
        if (x > e->extreme)
            e->extreme = x;
        if (stops_level_below(e->extreme, e->params.trailing_ppm, e->tick_size, &cand) ==
                ATP_OK &&
            cand > e->ts)
            e->ts = cand;
    } else {
        if (x < e->extreme)
            e->extreme = x;
        if (stops_level_above(e->extreme, e->params.trailing_ppm, e->tick_size, &cand) ==
                ATP_OK &&
            (e->ts == 0 || cand < e->ts))
            e->ts = cand;
    }
}

/* Arms *e for a new position (qty != 0, entry_px > 0). ATP_OK or ATP_EOVERFLOW (*e unchanged). */
static int arm_fresh(struct entry *e, int64_t qty, px_t entry_px)
{
    struct entry t = *e;
    int rc = levels_from_entry(&t, qty, entry_px);
    if (rc != ATP_OK)
        return rc;
    t.qty = qty;
    t.entry_px = entry_px;
    t.extreme = entry_px;
    t.state = STOPS_ARMED;
    *e = t;
    return ATP_OK;
}

/* ---- storage --------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser (Steele, Lea, Flood) */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t key_hash(const struct portfolio_key *k)
{
    return mix64(mix64(k->account_id * 2 + (uint64_t)k->mode) ^
                 mix64(k->strategy_id + 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)k->instrument_id << 1));
}

static int key_eq(const struct portfolio_key *a, const struct portfolio_key *b)
{
    return a->account_id == b->account_id && a->mode == b->mode &&
           a->strategy_id == b->strategy_id && a->instrument_id == b->instrument_id;
}

static int64_t find_entry(const struct stops *st, const struct portfolio_key *k)
{
    if (st->key_cap == 0)
        return -1;
    uint32_t mask = st->key_cap - 1;
    for (uint32_t s = (uint32_t)key_hash(k) & mask;; s = (s + 1) & mask) {
        uint32_t v = st->key_slots[s];
        if (v == 0)
            return -1;
        if (key_eq(&st->entries[v - 1].key, k))
            return v - 1;
    }
}

static int64_t find_inst(const struct stops *st, uint32_t instrument_id)
{
    if (st->inst_slot_cap == 0)
        return -1;
    uint32_t mask = st->inst_slot_cap - 1;
    for (uint32_t s = (uint32_t)mix64(instrument_id) & mask;; s = (s + 1) & mask) {
        uint32_t v = st->inst_slots[s];
        if (v == 0)
            return -1;
        if (st->insts[v - 1].instrument_id == instrument_id)
            return v - 1;
    }
}

static void slot_put(uint32_t *slots, uint32_t cap, uint64_t h, uint32_t i)
{
    uint32_t mask = cap - 1;
    uint32_t s = (uint32_t)h & mask;
    while (slots[s] != 0)
        s = (s + 1) & mask;
    slots[s] = i + 1;
}

/* Index tables at load <= 1/2 for n entries and n instruments. */
static int reserve(struct stops *st, size_t n)
{
    if (atp_array_reserve((void **)&st->entries, &st->cap, n, sizeof *st->entries) != ATP_OK ||
        atp_array_reserve((void **)&st->insts, &st->inst_cap, n, sizeof *st->insts) != ATP_OK)
        return ATP_ENOMEM;
    size_t want = 16;
    while (want < 2 * n)
        want *= 2;
    if (want > UINT32_MAX / 2)
        return ATP_ENOMEM;
    if (st->key_cap < want) {
        uint32_t *slots = atp_calloc(want, sizeof *slots);
        if (!slots)
            return ATP_ENOMEM;
        atp_free(st->key_slots);
        st->key_slots = slots;
        st->key_cap = (uint32_t)want;
        for (uint32_t i = 0; i < st->count; i++)
            slot_put(slots, st->key_cap, key_hash(&st->entries[i].key), i);
    }
    if (st->inst_slot_cap < want) {
        uint32_t *slots = atp_calloc(want, sizeof *slots);
        if (!slots)
            return ATP_ENOMEM;
        atp_free(st->inst_slots);
        st->inst_slots = slots;
        st->inst_slot_cap = (uint32_t)want;
        for (uint32_t i = 0; i < st->inst_count; i++)
            slot_put(slots, st->inst_slot_cap, mix64(st->insts[i].instrument_id), i);
    }
    return ATP_OK;
}

int stops_new(size_t capacity, struct stops **out)
{
    *out = NULL;
    struct stops *st = atp_calloc(1, sizeof *st);
    if (!st)
        return ATP_ENOMEM;
    if (reserve(st, capacity ? capacity : 16) != ATP_OK) {
        stops_free(st);
        return ATP_ENOMEM;
    }
    *out = st;
    return ATP_OK;
}

void stops_free(struct stops *st)
{
    if (!st)
        return;
    atp_free(st->entries);
    atp_free(st->insts);
    atp_free(st->key_slots);
    atp_free(st->inst_slots);
    atp_free(st);
}

/* ---- operations ------------------------------------------------------------------------------ */

int stops_arm(struct stops *st, const struct portfolio_key *key, const struct stops_params *params,
              px_t tick_size, int64_t qty, px_t entry_px)
{
    if (key->account_id == 0 || (unsigned)key->mode >= TRADE_MODE_COUNT || tick_size <= 0 ||
        !params_valid(params) || (qty != 0 && entry_px <= 0))
        return ATP_EINVAL;
    int64_t i = find_entry(st, key);
    struct entry e;
    memset(&e, 0, sizeof e);
    e.key = *key;
    e.params = *params;
    e.tick_size = tick_size;
    e.state = STOPS_IDLE;
    if (qty != 0) {
        int rc = arm_fresh(&e, qty, entry_px);
        if (rc != ATP_OK)
            return rc;
    }
    if (i >= 0) {
        e.next_in_inst = st->entries[i].next_in_inst;
        st->entries[i] = e;
        return ATP_OK;
    }
    int64_t ii = find_inst(st, key->instrument_id);
    if (reserve(st, (size_t)st->count + 1) != ATP_OK)
        return ATP_ENOMEM;
    if (ii < 0) {
        ii = st->inst_count++;
        st->insts[ii] = (struct inst){.instrument_id = key->instrument_id};
        slot_put(st->inst_slots, st->inst_slot_cap, mix64(key->instrument_id), (uint32_t)ii);
    }
    i = st->count++;
    st->entries[i] = e;
    slot_put(st->key_slots, st->key_cap, key_hash(key), (uint32_t)i);
    struct inst *in = &st->insts[ii];
    if (in->tail)
        st->entries[in->tail - 1].next_in_inst = (uint32_t)i + 1;
    else
        in->head = (uint32_t)i + 1;
    in->tail = (uint32_t)i + 1;
    return ATP_OK;
}

int stops_on_position(struct stops *st, const struct portfolio_key *key, int64_t qty,
                      px_t entry_px)
{
    int64_t i = find_entry(st, key);
    if (i < 0)
        return ATP_ENOTFOUND;
    if (qty != 0 && entry_px <= 0)
        return ATP_EINVAL;
    struct entry *e = &st->entries[i];
    if (qty == 0) {
        e->state = STOPS_IDLE;
        e->qty = 0;
        e->entry_px = 0;
        e->sl = e->tp = e->ts = e->extreme = 0;
        return ATP_OK;
    }
    int fresh = e->state == STOPS_IDLE || (e->qty > 0) != (qty > 0);
    if (fresh) {
        int cleared = e->params.stop_loss_ppm == 0 && e->params.take_profit_ppm == 0 &&
                      e->params.trailing_ppm == 0;
        if (cleared) { /* stops_clear'ed: follow the position without protecting it */
            e->qty = qty;
            e->entry_px = entry_px;
            return ATP_OK;
        }
        return arm_fresh(e, qty, entry_px);
    }
    /* same side: new entry for the fixed levels; the trailing stop may only tighten */
    struct entry t = *e;
    px_t ts = t.ts;
    int rc = levels_from_entry(&t, qty, entry_px);
    if (rc != ATP_OK)
        return rc;
    t.ts = ts;
    t.qty = qty;
    t.entry_px = entry_px;
    trail_to(&t, entry_px);
    *e = t;
    return ATP_OK;
}

int stops_rearm(struct stops *st, const struct portfolio_key *key)
{
    int64_t i = find_entry(st, key);
    if (i < 0)
        return ATP_ENOTFOUND;
    struct entry *e = &st->entries[i];
    if (e->state == STOPS_IDLE)
        return ATP_ESTATE;
    e->state = STOPS_ARMED;
    return ATP_OK;
}

int stops_clear(struct stops *st, const struct portfolio_key *key)
{
    int64_t i = find_entry(st, key);
    if (i < 0)
        return ATP_ENOTFOUND;
    struct entry *e = &st->entries[i];
    memset(&e->params, 0, sizeof e->params);
    e->state = STOPS_IDLE;
    e->sl = e->tp = e->ts = e->extreme = 0;
    return ATP_OK;
}

/* The exit an ARMED entry gives at ltp, or STOP_REASON_NONE. */
static enum stop_reason check(const struct entry *e, px_t ltp, px_t *trigger)
{
    if (e->qty > 0) {
        if (e->tp > 0 && ltp >= e->tp) {
            *trigger = e->tp;
            return STOP_REASON_TAKE_PROFIT;
        }
        px_t stop = e->sl > e->ts ? e->sl : e->ts;
        if (stop > 0 && ltp <= stop) {
            *trigger = stop;
            return e->ts > e->sl ? STOP_REASON_TRAILING_STOP : STOP_REASON_STOP_LOSS;
        }
    } else {
        if (e->tp > 0 && ltp <= e->tp) {
            *trigger = e->tp;
            return STOP_REASON_TAKE_PROFIT;
        }
        int ts_binds = e->ts > 0 && (e->sl == 0 || e->ts < e->sl);
        px_t stop = ts_binds ? e->ts : e->sl;
        if (stop > 0 && ltp >= stop) {
            *trigger = stop;
            return ts_binds ? STOP_REASON_TRAILING_STOP : STOP_REASON_STOP_LOSS;
        }
    }
    return STOP_REASON_NONE;
}

size_t stops_on_tick(struct stops *st, const struct tick *t, stops_exit_fn fn, void *ctx)
{
    if (t->ltp <= 0)
        return 0;
    int64_t ii = find_inst(st, t->instrument_id);
    if (ii < 0)
        return 0;
    size_t fired = 0;
    /* by index, re-reading after each callback: fn may arm new keys (the array may move) */
    for (uint32_t i = st->insts[ii].head; i; i = st->entries[i - 1].next_in_inst) {
        struct entry *e = &st->entries[i - 1];
        if (e->state != STOPS_ARMED || e->qty == 0)
            continue;
        trail_to(e, t->ltp);
        px_t trigger = 0;
        enum stop_reason reason = check(e, t->ltp, &trigger);
        if (reason == STOP_REASON_NONE)
            continue;
        e->state = STOPS_FIRED;
        struct stop_exit x = {
            .key = e->key,
            .reason = reason,
            .side = e->qty > 0 ? ORDER_SIDE_SELL : ORDER_SIDE_BUY,
            .qty = e->qty > 0 ? e->qty : -e->qty,
            .trigger_px = trigger,
            .ltp = t->ltp,
            .entry_px = e->entry_px,
            .stop_loss_px = e->sl,
            .take_profit_px = e->tp,
            .trailing_stop_px = e->ts,
            .extreme_px = e->extreme,
            .ts = t->ts,
        };
        fired++;
        if (fn)
            fn(&x, ctx);
    }
    return fired;
}

int stops_get(const struct stops *st, const struct portfolio_key *key, struct stops_view *out)
{
    int64_t i = find_entry(st, key);
    if (i < 0)
        return ATP_ENOTFOUND;
    const struct entry *e = &st->entries[i];
    memset(out, 0, sizeof *out);
    out->key = e->key;
    out->params = e->params;
    out->tick_size = e->tick_size;
    out->state = e->state;
    out->qty = e->qty;
    out->entry_px = e->entry_px;
    out->stop_loss_px = e->sl;
    out->take_profit_px = e->tp;
    out->trailing_stop_px = e->ts;
    out->extreme_px = e->extreme;
    return ATP_OK;
}
