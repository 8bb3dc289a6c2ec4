/* portfolio/portfolio: positions and ledgers (docs/portfolio.md has every formula).
 *
 * Storage: three growable arrays (ledgers, instruments, positions) addressed by index, each with
 * an open-addressing hash index (linear probing, load <= 1/2). Indices never move, so positions
 * link into two singly linked lists by index: one per instrument (for marking) and one per ledger
 * (for iteration), both in creation order. Positions are never removed: a flat position keeps its
 * realized P&L and charges, and its key stays valid. Arrays grow only when a key appears that was
 * never seen.
 *
 * Arithmetic: values are px_t; intermediate results are computed in __int128 (as charges.c does)
 * and checked to fit px_t before anything is stored, so a failed call changes nothing. */
#include "portfolio/portfolio.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

typedef __int128 wide;

struct pos {
    struct portfolio_key key;
    enum order_product product;
    int64_t qty;
    px_t cost;
    px_t mark_px;
    px_t market_value;
    px_t unrealized;
    px_t realized;
    px_t charges;
    px_t margin;
    int64_t qty_bought;
    int64_t qty_sold;
    px_t buy_value;
    px_t sell_value;
    uint32_t fill_count;
    ts_ns opened_ts;
    ts_ns updated_ts;
    uint32_t acct;         /* ledger index */
    uint32_t inst;         /* instrument index */
    uint32_t next_in_inst; /* 1 + index of the next position in the instrument, 0 = end */
    uint32_t next_in_acct; /* 1 + index of the next position in the ledger, 0 = end */
};

struct inst {
    uint32_t instrument_id;
    px_t mark;             /* last portfolio_mark price, 0 = never marked */
    uint32_t head, tail;   /* 1 + index of first / last position, 0 = none */
};

struct acct {
    uint64_t account_id;
    enum trade_mode mode;
    px_t initial_cash;
    px_t cash;
    px_t realized;
    px_t unrealized;
    px_t charges;
    px_t market_value;
    px_t long_value;
    px_t short_value;
    px_t margin;
    uint32_t positions;
    uint32_t open_positions;
    uint32_t head, tail;   /* 1 + index of first / last position, 0 = none */
    /* portfolio_mark's staging: deltas summed before anything is committed */
    int pending;
    wide pend_unrealized, pend_mv, pend_long, pend_short, pend_margin;
};

/* An index: slots hold 1 + array index, 0 = empty. cap is a power of two or 0. */
struct idx {
    uint32_t *slots;
    uint32_t cap;
};

enum map_kind { MAP_ACCT, MAP_INST, MAP_POS };

struct portfolio {
    struct portfolio_margin margin;
    enum order_product default_product;
    struct acct *accts;
    uint32_t acct_count, acct_cap;
    struct inst *insts;
    uint32_t inst_count, inst_cap;
    struct pos *pos;
    uint32_t pos_count, pos_cap;
    struct idx acct_idx, inst_idx, pos_idx;
};

/* ---- arithmetic ------------------------------------------------------------------------------ */

static int fits(wide v)
{
    return v >= (wide)PX_MIN && v <= (wide)PX_MAX;
}

/* num / den (den > 0) rounded half away from zero. */
static wide div_round(wide num, wide den)
{
    wide q = num / den, r = num % den;
    int neg = r < 0;
    if (neg)
        r = -r;
    if (r >= den - r)
        q += neg ? -1 : 1;
    return q;
}

/* ceil(|mv| x bps / 10000): the margin a market value blocks. Never above |mv| (bps <= 10000). */
static px_t margin_of(px_t mv, uint32_t bps)
{
    wide a = mv < 0 ? -(wide)mv : (wide)mv;
    return (px_t)((a * bps + 9999) / 10000);
}

static int64_t sign64(int64_t v)
{
    return (v > 0) - (v < 0);
}

/* ---- hashing --------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser (Steele, Lea, Flood): a full-avalanche 64-bit mix */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t key_hash(enum map_kind kind, const struct portfolio_key *k)
{
    switch (kind) {
    case MAP_ACCT:
        return mix64(k->account_id * 2 + (uint64_t)k->mode);
    case MAP_INST:
        return mix64(k->instrument_id);
    case MAP_POS:
        return mix64(mix64(k->account_id * 2 + (uint64_t)k->mode) ^
                     mix64(k->strategy_id + 0x9e3779b97f4a7c15ULL) ^
                     ((uint64_t)k->instrument_id << 1));
    }
    return 0;
}

static int key_matches(const struct portfolio *pf, enum map_kind kind, uint32_t i,
                       const struct portfolio_key *k)
{
    switch (kind) {
    case MAP_ACCT:
        return pf->accts[i].account_id == k->account_id && pf->accts[i].mode == k->mode;
    case MAP_INST:
        return pf->insts[i].instrument_id == k->instrument_id;
    case MAP_POS: {
        const struct portfolio_key *p = &pf->pos[i].key;
        return p->account_id == k->account_id && p->mode == k->mode &&
               p->strategy_id == k->strategy_id && p->instrument_id == k->instrument_id;
    }
    }
    return 0;
}

static struct idx *idx_of(struct portfolio *pf, enum map_kind kind)
{
    return kind == MAP_ACCT ? &pf->acct_idx : kind == MAP_INST ? &pf->inst_idx : &pf->pos_idx;
}

static const struct idx *cidx_of(const struct portfolio *pf, enum map_kind kind)
{
    return kind == MAP_ACCT ? &pf->acct_idx : kind == MAP_INST ? &pf->inst_idx : &pf->pos_idx;
}

/* Index of the element with key k, or -1. */
static int64_t map_find(const struct portfolio *pf, enum map_kind kind, const struct portfolio_key *k)
{
    const struct idx *m = cidx_of(pf, kind);
    if (m->cap == 0)
        return -1;
    uint32_t mask = m->cap - 1;
    for (uint32_t s = (uint32_t)key_hash(kind, k) & mask;; s = (s + 1) & mask) {
        uint32_t v = m->slots[s];
        if (v == 0)
            return -1;
        if (key_matches(pf, kind, v - 1, k))
            return v - 1;
    }
}

static void slot_put(struct idx *m, uint64_t h, uint32_t i)
{
    uint32_t mask = m->cap - 1;
    uint32_t s = (uint32_t)h & mask;
    while (m->slots[s] != 0)
        s = (s + 1) & mask;
    m->slots[s] = i + 1;
}

static struct portfolio_key elem_key(const struct portfolio *pf, enum map_kind kind, uint32_t i)
{
    struct portfolio_key k = {0};
    if (kind == MAP_ACCT) {
        k.account_id = pf->accts[i].account_id;
        k.mode = pf->accts[i].mode;
    } else if (kind == MAP_INST) {
        k.instrument_id = pf->insts[i].instrument_id;
    } else {
        k = pf->pos[i].key;
    }
    return k;
}

/* Makes the index of kind hold at least n elements at load <= 1/2 (rebuilding it from the array
 * of count elements). ATP_OK or ATP_ENOMEM with the old index kept. */
static int map_reserve(struct portfolio *pf, enum map_kind kind, size_t n, uint32_t count)
{
    struct idx *m = idx_of(pf, kind);
    if ((size_t)m->cap >= 2 * n && m->cap != 0)
        return ATP_OK;
    size_t cap = m->cap ? m->cap : 16;
    while (cap < 2 * n) {
        if (cap > (UINT32_MAX >> 2))
            return ATP_ENOMEM;
        cap *= 2;
    }
    uint32_t *slots = atp_calloc(cap, sizeof *slots);
    if (!slots)
        return ATP_ENOMEM;
    atp_free(m->slots);
    m->slots = slots;
    m->cap = (uint32_t)cap;
    for (uint32_t i = 0; i < count; i++) {
        struct portfolio_key k = elem_key(pf, kind, i);
        slot_put(m, key_hash(kind, &k), i);
    }
    return ATP_OK;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

void portfolio_config_default(struct portfolio_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->margin.bps[ORDER_PRODUCT_MIS] = PORTFOLIO_MARGIN_MIS_BPS_DEFAULT;
    cfg->margin.bps[ORDER_PRODUCT_CNC] = PORTFOLIO_MARGIN_CNC_BPS_DEFAULT;
    cfg->margin.bps[ORDER_PRODUCT_NRML] = PORTFOLIO_MARGIN_NRML_BPS_DEFAULT;
    cfg->default_product = ORDER_PRODUCT_MIS;
}

static int acct_open(struct portfolio *pf, uint64_t account_id, enum trade_mode mode,
                     px_t initial_cash)
{
    if (account_id == 0 || (unsigned)mode >= TRADE_MODE_COUNT || initial_cash < 0)
        return ATP_EINVAL;
    struct portfolio_key k = {.account_id = account_id, .mode = mode};
    if (map_find(pf, MAP_ACCT, &k) >= 0)
        return ATP_EEXIST;
    if (atp_array_reserve((void **)&pf->accts, &pf->acct_cap, (size_t)pf->acct_count + 1,
                      sizeof *pf->accts) != ATP_OK ||
        map_reserve(pf, MAP_ACCT, (size_t)pf->acct_count + 1, pf->acct_count) != ATP_OK)
        return ATP_ENOMEM;
    struct acct *a = &pf->accts[pf->acct_count];
    memset(a, 0, sizeof *a);
    a->account_id = account_id;
    a->mode = mode;
    a->initial_cash = initial_cash;
    a->cash = initial_cash;
    slot_put(&pf->acct_idx, key_hash(MAP_ACCT, &k), pf->acct_count);
    pf->acct_count++;
    return ATP_OK;
}

int portfolio_new(const struct portfolio_config *cfg, struct portfolio **out, struct atp_err *err)
{
    struct portfolio_config def;
    *out = NULL;
    if (!cfg) {
        portfolio_config_default(&def);
        cfg = &def;
    }
    struct portfolio_margin margin = cfg->margin;
    int all_zero = 1;
    for (int i = 0; i < ORDER_PRODUCT_COUNT; i++)
        all_zero &= margin.bps[i] == 0;
    if (all_zero) {
        portfolio_config_default(&def);
        margin = def.margin;
    }
    for (int i = 0; i < ORDER_PRODUCT_COUNT; i++)
        if (margin.bps[i] > 10000)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "margin.bps",
                               "%s margin %u bps is above 10000 (100 %%)",
                               order_product_name((enum order_product)i), margin.bps[i]);
    if ((unsigned)cfg->default_product >= ORDER_PRODUCT_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "default_product", "unknown product %d",
                           (int)cfg->default_product);
    if (cfg->account_count > 0 && !cfg->accounts)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "accounts", "account_count %zu without accounts",
                           cfg->account_count);

    struct portfolio *pf = atp_calloc(1, sizeof *pf);
    if (!pf)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    pf->margin = margin;
    pf->default_product = cfg->default_product;
    int rc = portfolio_reserve(pf, cfg->initial_positions ? cfg->initial_positions : 16);
    if (rc != ATP_OK) {
        atp_err_set(err, rc, NULL, 0, NULL, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cfg->account_count; i++) {
        const struct portfolio_account_init *ai = &cfg->accounts[i];
        rc = acct_open(pf, ai->account_id, ai->mode, ai->initial_cash);
        if (rc == ATP_OK)
            continue;
        char field[48];
        const char *what = ai->account_id == 0                          ? "account_id"
                           : (unsigned)ai->mode >= TRADE_MODE_COUNT      ? "mode"
                           : ai->initial_cash < 0                        ? "initial_cash"
                                                                         : "account_id";
        snprintf(field, sizeof field, "accounts[%zu].%s", i, what);
        if (rc == ATP_EEXIST)
            atp_err_set(err, rc, NULL, 0, field, "ledger (account %llu, %s) is listed twice",
                        (unsigned long long)ai->account_id, trade_mode_name(ai->mode));
        else if (rc == ATP_EINVAL)
            atp_err_set(err, rc, NULL, 0, field, "account_id must be > 0, mode PAPER or LIVE, "
                                                 "initial_cash >= 0");
        else
            atp_err_set(err, rc, NULL, 0, NULL, "out of memory");
        goto fail;
    }
    *out = pf;
    return ATP_OK;
fail:
    portfolio_free(pf);
    return rc;
}

void portfolio_free(struct portfolio *pf)
{
    if (!pf)
        return;
    atp_free(pf->accts);
    atp_free(pf->insts);
    atp_free(pf->pos);
    atp_free(pf->acct_idx.slots);
    atp_free(pf->inst_idx.slots);
    atp_free(pf->pos_idx.slots);
    atp_free(pf);
}

int portfolio_account_open(struct portfolio *pf, uint64_t account_id, enum trade_mode mode,
                           px_t initial_cash)
{
    return acct_open(pf, account_id, mode, initial_cash);
}

int portfolio_reserve(struct portfolio *pf, size_t positions)
{
    if (atp_array_reserve((void **)&pf->pos, &pf->pos_cap, positions, sizeof *pf->pos) != ATP_OK ||
        map_reserve(pf, MAP_POS, positions, pf->pos_count) != ATP_OK ||
        atp_array_reserve((void **)&pf->insts, &pf->inst_cap, positions, sizeof *pf->insts) != ATP_OK ||
        map_reserve(pf, MAP_INST, positions, pf->inst_count) != ATP_OK)
        return ATP_ENOMEM;
    return ATP_OK;
}

/* ---- valuation ------------------------------------------------------------------------------- */

struct valuation {
    px_t market_value, unrealized, margin;
};

/* A position's market value, unrealized P&L and margin at mark. */
static int value_at(const struct portfolio *pf, int64_t qty, px_t cost, enum order_product product,
                    px_t mark, struct valuation *v)
{
    wide mv = (wide)qty * mark;
    wide un = mv - cost;
    if (!fits(mv) || !fits(un))
        return ATP_EOVERFLOW;
    v->market_value = (px_t)mv;
    v->unrealized = (px_t)un;
    v->margin = margin_of((px_t)mv, pf->margin.bps[product]);
    return ATP_OK;
}

static px_t long_part(px_t mv)
{
    return mv > 0 ? mv : 0;
}

static px_t short_part(px_t mv)
{
    return mv < 0 ? -mv : 0;
}

/* *acc += after - before, checked. */
static int shift(px_t *acc, px_t before, px_t after)
{
    wide v = (wide)*acc - before + after;
    if (!fits(v))
        return ATP_EOVERFLOW;
    *acc = (px_t)v;
    return ATP_OK;
}

/* Moves a ledger's sums from a position's old valuation to its new one. */
static int acct_revalue(struct acct *a, const struct valuation *was, const struct valuation *now)
{
    if (shift(&a->market_value, was->market_value, now->market_value) ||
        shift(&a->unrealized, was->unrealized, now->unrealized) ||
        shift(&a->margin, was->margin, now->margin) ||
        shift(&a->long_value, long_part(was->market_value), long_part(now->market_value)) ||
        shift(&a->short_value, short_part(was->market_value), short_part(now->market_value)))
        return ATP_EOVERFLOW;
    return ATP_OK;
}

/* ---- fills ----------------------------------------------------------------------------------- */

/* Applies fill f to copies *p and *a of a position and its ledger. mark is the instrument's last
 * mark (0 = never marked). Returns ATP_OK or ATP_EOVERFLOW (the copies are then garbage). */
static int fill_into(const struct portfolio *pf, struct pos *p, struct acct *a, const struct fill *f,
                     enum order_product product, px_t charges, px_t mark)
{
    int64_t d = f->side == ORDER_SIDE_BUY ? f->qty : -f->qty; /* signed fill qty */
    wide flow = (wide)d * f->price;                           /* signed qty x price */
    struct valuation was = {p->market_value, p->unrealized, p->margin};
    int was_open = p->qty != 0;
    wide realized_delta = 0;

    if (p->qty == 0 || sign64(p->qty) == sign64(d)) {
        /* increase: weighted average through the exact cost */
        wide q = (wide)p->qty + d, cost = (wide)p->cost + flow;
        if (q > INT64_MAX || q < -INT64_MAX || !fits(cost))
            return ATP_EOVERFLOW;
        if (p->qty == 0) {
            p->product = product;
            p->opened_ts = f->ts;
        }
        p->qty = (int64_t)q;
        p->cost = (px_t)cost;
    } else {
        /* reduction of k units, then possibly a flip opening the rest on the other side */
        int64_t n = p->qty < 0 ? -p->qty : p->qty;
        int64_t k = f->qty < n ? f->qty : n;
        int64_t closed = sign64(p->qty) * k; /* signed qty closed, same sign as the position */
        wide cost_closed = k == n ? (wide)p->cost : div_round((wide)p->cost * k, n);
        realized_delta = (wide)closed * f->price - cost_closed;
        wide realized = (wide)p->realized + realized_delta;
        if (!fits(realized) || !fits(realized_delta))
            return ATP_EOVERFLOW;
        p->realized = (px_t)realized;
        p->qty -= closed;
        p->cost = (px_t)((wide)p->cost - cost_closed);
        int64_t rest = f->qty - k;
        if (rest > 0) {
            int64_t q = sign64(d) * rest;
            p->qty = q;
            p->cost = (px_t)((wide)q * f->price); /* fits: |q| <= f->qty, validated */
            p->product = product;
            p->opened_ts = f->ts;
        } else if (p->qty == 0) {
            p->opened_ts = 0;
        }
    }

    wide traded = (wide)f->qty * f->price;
    if (f->side == ORDER_SIDE_BUY) {
        wide qb = (wide)p->qty_bought + f->qty, bv = (wide)p->buy_value + traded;
        if (qb > INT64_MAX || !fits(bv))
            return ATP_EOVERFLOW;
        p->qty_bought = (int64_t)qb;
        p->buy_value = (px_t)bv;
    } else {
        wide qs = (wide)p->qty_sold + f->qty, sv = (wide)p->sell_value + traded;
        if (qs > INT64_MAX || !fits(sv))
            return ATP_EOVERFLOW;
        p->qty_sold = (int64_t)qs;
        p->sell_value = (px_t)sv;
    }

    wide pos_charges = (wide)p->charges + charges, acct_charges = (wide)a->charges + charges;
    wide cash = (wide)a->cash - flow - charges;
    wide acct_realized = (wide)a->realized + realized_delta;
    if (!fits(pos_charges) || !fits(acct_charges) || !fits(cash) || !fits(acct_realized))
        return ATP_EOVERFLOW;
    p->charges = (px_t)pos_charges;
    a->charges = (px_t)acct_charges;
    a->cash = (px_t)cash;
    a->realized = (px_t)acct_realized;

    p->mark_px = mark > 0 ? mark : f->price;
    struct valuation now = {0};
    if (value_at(pf, p->qty, p->cost, p->product, p->mark_px, &now) != ATP_OK)
        return ATP_EOVERFLOW;
    if (acct_revalue(a, &was, &now) != ATP_OK)
        return ATP_EOVERFLOW;
    p->market_value = now.market_value;
    p->unrealized = now.unrealized;
    p->margin = now.margin;
    if (was_open && p->qty == 0)
        a->open_positions--;
    else if (!was_open && p->qty != 0)
        a->open_positions++;
    p->fill_count++;
    p->updated_ts = f->ts;
    return ATP_OK;
}

int portfolio_apply_fill_product(struct portfolio *pf, const struct fill *f, uint64_t strategy_id,
                                 enum order_product product, px_t charges)
{
    if (fill_validate(f, NULL) != ATP_OK || charges < 0 ||
        (unsigned)product >= ORDER_PRODUCT_COUNT)
        return ATP_EINVAL;
    struct portfolio_key key = {.account_id = f->account_id, .mode = f->mode,
                                .strategy_id = strategy_id, .instrument_id = f->instrument_id};
    int64_t ai = map_find(pf, MAP_ACCT, &key);
    if (ai < 0)
        return ATP_ENOTFOUND;
    int64_t pi = map_find(pf, MAP_POS, &key);
    int64_t ii = map_find(pf, MAP_INST, &key);

    struct acct a = pf->accts[ai];
    struct pos p;
    if (pi >= 0) {
        p = pf->pos[pi];
    } else {
        memset(&p, 0, sizeof p);
        p.key = key;
        p.product = product;
        p.acct = (uint32_t)ai;
    }
    int rc = fill_into(pf, &p, &a, f, product, charges, ii >= 0 ? pf->insts[ii].mark : 0);
    if (rc != ATP_OK)
        return rc;

    if (pi < 0) {
        /* a new key: make room first so that a failure leaves everything as it was */
        size_t need_pos = (size_t)pf->pos_count + 1;
        size_t need_inst = (size_t)pf->inst_count + (ii < 0);
        if (atp_array_reserve((void **)&pf->pos, &pf->pos_cap, need_pos, sizeof *pf->pos) != ATP_OK ||
            map_reserve(pf, MAP_POS, need_pos, pf->pos_count) != ATP_OK ||
            atp_array_reserve((void **)&pf->insts, &pf->inst_cap, need_inst, sizeof *pf->insts) !=
                ATP_OK ||
            map_reserve(pf, MAP_INST, need_inst, pf->inst_count) != ATP_OK)
            return ATP_ENOMEM;
        if (ii < 0) {
            ii = pf->inst_count++;
            struct inst *in = &pf->insts[ii];
            memset(in, 0, sizeof *in);
            in->instrument_id = key.instrument_id;
            slot_put(&pf->inst_idx, key_hash(MAP_INST, &key), (uint32_t)ii);
        }
        pi = pf->pos_count++;
        p.inst = (uint32_t)ii;
        slot_put(&pf->pos_idx, key_hash(MAP_POS, &key), (uint32_t)pi);
        struct inst *in = &pf->insts[ii];
        if (in->tail)
            pf->pos[in->tail - 1].next_in_inst = (uint32_t)pi + 1;
        else
            in->head = (uint32_t)pi + 1;
        in->tail = (uint32_t)pi + 1;
        if (a.tail)
            pf->pos[a.tail - 1].next_in_acct = (uint32_t)pi + 1;
        else
            a.head = (uint32_t)pi + 1;
        a.tail = (uint32_t)pi + 1;
        a.positions++;
    }
    pf->pos[pi] = p;
    pf->accts[ai] = a;
    return ATP_OK;
}

int portfolio_apply_fill(struct portfolio *pf, const struct fill *f, uint64_t strategy_id,
                         px_t charges)
{
    return portfolio_apply_fill_product(pf, f, strategy_id, pf->default_product, charges);
}

/* ---- marks ----------------------------------------------------------------------------------- */

static void mark_abort(struct portfolio *pf, const struct inst *in)
{
    for (uint32_t i = in->head; i; i = pf->pos[i - 1].next_in_inst) {
        struct acct *a = &pf->accts[pf->pos[i - 1].acct];
        a->pending = 0;
        a->pend_unrealized = a->pend_mv = a->pend_long = a->pend_short = a->pend_margin = 0;
    }
}

int portfolio_mark(struct portfolio *pf, uint32_t instrument_id, px_t last)
{
    if (last <= 0)
        return ATP_EINVAL;
    struct portfolio_key key = {.instrument_id = instrument_id};
    int64_t ii = map_find(pf, MAP_INST, &key);
    if (ii < 0)
        return ATP_OK;
    struct inst *in = &pf->insts[ii];

    /* pass 1: value every position at the new mark and stage the ledgers' deltas */
    for (uint32_t i = in->head; i; i = pf->pos[i - 1].next_in_inst) {
        const struct pos *p = &pf->pos[i - 1];
        struct valuation now = {0};
        if (value_at(pf, p->qty, p->cost, p->product, last, &now) != ATP_OK) {
            mark_abort(pf, in);
            return ATP_EOVERFLOW;
        }
        struct acct *a = &pf->accts[p->acct];
        a->pending = 1;
        a->pend_mv += (wide)now.market_value - p->market_value;
        a->pend_unrealized += (wide)now.unrealized - p->unrealized;
        a->pend_margin += (wide)now.margin - p->margin;
        a->pend_long += (wide)long_part(now.market_value) - long_part(p->market_value);
        a->pend_short += (wide)short_part(now.market_value) - short_part(p->market_value);
    }
    /* pass 2: every staged ledger total must fit */
    for (uint32_t i = in->head; i; i = pf->pos[i - 1].next_in_inst) {
        const struct acct *a = &pf->accts[pf->pos[i - 1].acct];
        if (!fits(a->market_value + a->pend_mv) || !fits(a->unrealized + a->pend_unrealized) ||
            !fits(a->margin + a->pend_margin) || !fits(a->long_value + a->pend_long) ||
            !fits(a->short_value + a->pend_short)) {
            mark_abort(pf, in);
            return ATP_EOVERFLOW;
        }
    }
    /* pass 3: commit */
    for (uint32_t i = in->head; i; i = pf->pos[i - 1].next_in_inst) {
        struct pos *p = &pf->pos[i - 1];
        struct valuation now = {0};
        (void)value_at(pf, p->qty, p->cost, p->product, last, &now); /* fitted in pass 1 */
        p->mark_px = last;
        p->market_value = now.market_value;
        p->unrealized = now.unrealized;
        p->margin = now.margin;
        struct acct *a = &pf->accts[p->acct];
        if (a->pending) {
            a->market_value = (px_t)(a->market_value + a->pend_mv);
            a->unrealized = (px_t)(a->unrealized + a->pend_unrealized);
            a->margin = (px_t)(a->margin + a->pend_margin);
            a->long_value = (px_t)(a->long_value + a->pend_long);
            a->short_value = (px_t)(a->short_value + a->pend_short);
            a->pending = 0;
            a->pend_unrealized = a->pend_mv = a->pend_long = a->pend_short = a->pend_margin = 0;
        }
    }
    in->mark = last;
    return ATP_OK;
}

/* ---- queries --------------------------------------------------------------------------------- */

static void pos_export(const struct pos *p, struct portfolio_position *out)
{
    memset(out, 0, sizeof *out);
    out->key = p->key;
    out->product = p->product;
    out->qty = p->qty;
    out->cost = p->cost;
    out->avg_price = order_avg_price(p->cost < 0 ? -p->cost : p->cost, p->qty < 0 ? -p->qty : p->qty);
    out->mark_px = p->mark_px;
    out->market_value = p->market_value;
    out->unrealized = p->unrealized;
    out->realized = p->realized;
    out->charges = p->charges;
    /* gross and net saturate only for absurd totals beyond 9.2e14 rupees */
    wide gross = (wide)p->realized + p->unrealized, net = gross - p->charges;
    out->gross_pnl = fits(gross) ? (px_t)gross : gross < 0 ? PX_MIN : PX_MAX;
    out->net_pnl = fits(net) ? (px_t)net : net < 0 ? PX_MIN : PX_MAX;
    out->margin = p->margin;
    out->qty_bought = p->qty_bought;
    out->qty_sold = p->qty_sold;
    out->buy_value = p->buy_value;
    out->sell_value = p->sell_value;
    out->fill_count = p->fill_count;
    out->opened_ts = p->opened_ts;
    out->updated_ts = p->updated_ts;
}

int portfolio_position_get(const struct portfolio *pf, const struct portfolio_key *key,
                           struct portfolio_position *out)
{
    int64_t pi = map_find(pf, MAP_POS, key);
    if (pi < 0)
        return ATP_ENOTFOUND;
    pos_export(&pf->pos[pi], out);
    return ATP_OK;
}

/* Sums of ledgers (wide, so a mode summary can check the total once). */
struct wide_sum {
    wide initial_cash, cash, realized, unrealized, charges, market_value, long_value, short_value,
        margin;
    uint64_t positions, open_positions, accounts;
};

static void sum_add(struct wide_sum *s, const struct acct *a)
{
    s->initial_cash += a->initial_cash;
    s->cash += a->cash;
    s->realized += a->realized;
    s->unrealized += a->unrealized;
    s->charges += a->charges;
    s->market_value += a->market_value;
    s->long_value += a->long_value;
    s->short_value += a->short_value;
    s->margin += a->margin;
    s->positions += a->positions;
    s->open_positions += a->open_positions;
    s->accounts++;
}

static int sum_export(const struct wide_sum *s, uint64_t account_id, enum trade_mode mode,
                      struct portfolio_summary *out)
{
    wide equity = s->cash + s->market_value;
    wide avail = equity - s->margin;
    wide gross = s->realized + s->unrealized;
    wide net = gross - s->charges;
    const wide all[] = {s->initial_cash, s->cash, s->realized, s->unrealized, s->charges,
                        s->market_value, s->long_value, s->short_value, s->margin,
                        equity, avail, gross, net};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!fits(all[i]))
            return ATP_EOVERFLOW;
    if (s->positions > UINT32_MAX || s->accounts > UINT32_MAX)
        return ATP_EOVERFLOW;
    memset(out, 0, sizeof *out);
    out->account_id = account_id;
    out->mode = mode;
    out->initial_cash = (px_t)s->initial_cash;
    out->cash = (px_t)s->cash;
    out->realized = (px_t)s->realized;
    out->unrealized = (px_t)s->unrealized;
    out->charges = (px_t)s->charges;
    out->market_value = (px_t)s->market_value;
    out->long_value = (px_t)s->long_value;
    out->short_value = (px_t)s->short_value;
    out->equity = (px_t)equity;
    out->margin_used = (px_t)s->margin;
    out->margin_available = (px_t)avail;
    out->gross_pnl = (px_t)gross;
    out->net_pnl = (px_t)net;
    out->positions = (uint32_t)s->positions;
    out->open_positions = (uint32_t)s->open_positions;
    out->accounts = (uint32_t)s->accounts;
    return ATP_OK;
}

int portfolio_account_summary(const struct portfolio *pf, uint64_t account_id,
                              enum trade_mode mode, struct portfolio_summary *out)
{
    struct portfolio_key key = {.account_id = account_id, .mode = mode};
    int64_t ai = map_find(pf, MAP_ACCT, &key);
    if (ai < 0)
        return ATP_ENOTFOUND;
    struct wide_sum s = {0};
    sum_add(&s, &pf->accts[ai]);
    return sum_export(&s, account_id, mode, out);
}

int portfolio_mode_summary(const struct portfolio *pf, enum trade_mode mode,
                           struct portfolio_summary *out)
{
    if ((unsigned)mode >= TRADE_MODE_COUNT)
        return ATP_EINVAL;
    struct wide_sum s = {0};
    for (uint32_t i = 0; i < pf->acct_count; i++)
        if (pf->accts[i].mode == mode)
            sum_add(&s, &pf->accts[i]);
    return sum_export(&s, 0, mode, out);
}

int portfolio_iter_init(const struct portfolio *pf, uint64_t account_id, enum trade_mode mode,
                        struct portfolio_iter *it)
{
    struct portfolio_key key = {.account_id = account_id, .mode = mode};
    int64_t ai = map_find(pf, MAP_ACCT, &key);
    it->next = ai < 0 ? 0 : pf->accts[ai].head;
    return ai < 0 ? ATP_ENOTFOUND : ATP_OK;
}

int portfolio_iter_next(const struct portfolio *pf, struct portfolio_iter *it,
                        struct portfolio_position *out)
{
    if (it->next == 0 || it->next > pf->pos_count)
        return 0;
    const struct pos *p = &pf->pos[it->next - 1];
    pos_export(p, out);
    it->next = p->next_in_acct;
    return 1;
}

size_t portfolio_position_count(const struct portfolio *pf)
{
    return pf->pos_count;
}

int portfolio_check(const struct portfolio *pf)
{
    for (uint32_t ai = 0; ai < pf->acct_count; ai++) {
        const struct acct *a = &pf->accts[ai];
        wide cash = a->initial_cash, realized = 0, unrealized = 0, charges = 0, mv = 0, lv = 0,
             sv = 0, margin = 0;
        uint32_t n = 0, open = 0;
        for (uint32_t i = a->head; i; i = pf->pos[i - 1].next_in_acct) {
            const struct pos *p = &pf->pos[i - 1];
            if (p->acct != ai || ++n > pf->pos_count)
                return 0;
            struct valuation v = {0};
            if (value_at(pf, p->qty, p->cost, p->product, p->mark_px, &v) != ATP_OK ||
                v.market_value != p->market_value || v.unrealized != p->unrealized ||
                v.margin != p->margin)
                return 0;
            /* the open part's cost has the position's sign (and is 0 only when flat) */
            if (sign64(p->cost) != sign64(p->qty))
                return 0;
            /* every signed flow either is still open (cost) or was realized */
            if ((wide)p->sell_value - p->buy_value != (wide)p->realized - p->cost ||
                (wide)p->qty_bought - p->qty_sold != p->qty)
                return 0;
            cash += (wide)p->sell_value - p->buy_value - p->charges;
            realized += p->realized;
            unrealized += p->unrealized;
            charges += p->charges;
            mv += p->market_value;
            lv += long_part(p->market_value);
            sv += short_part(p->market_value);
            margin += p->margin;
            open += p->qty != 0;
        }
        if (n != a->positions || open != a->open_positions || cash != a->cash ||
            realized != a->realized || unrealized != a->unrealized || charges != a->charges ||
            mv != a->market_value || lv != a->long_value || sv != a->short_value ||
            margin != a->margin || a->pending)
            return 0;
        /* the identity the kernel relies on */
        if ((wide)a->cash + a->market_value !=
            (wide)a->initial_cash + a->realized - a->charges + a->unrealized)
            return 0;
    }
    size_t in_insts = 0;
    for (uint32_t ii = 0; ii < pf->inst_count; ii++)
        for (uint32_t i = pf->insts[ii].head; i; i = pf->pos[i - 1].next_in_inst) {
            if (pf->pos[i - 1].inst != ii || pf->pos[i - 1].key.instrument_id !=
                                                 pf->insts[ii].instrument_id)
                return 0;
            if (++in_insts > pf->pos_count)
                return 0;
        }
    return in_insts == pf->pos_count;
}
