/* risk/risk: the risk gate, loss monitor and kill switch. See risk.h and docs/risk.md.
 *
 * Accounts live in a dense array found through an open-addressing index (linear probing, load
 * <= 1/2). Both grow only in risk_account_add; checks read them and write the rate ring in place. */
#include "risk/risk.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "risk/ratelimit.h"

#define RATE_WINDOW_NS TS_NS_PER_SEC

struct mode_state {
    struct risk_limits lim;
    struct risk_rate rate;  /* place + modify + cancel allowed in this mode */
    px_t last_pnl;
    ts_ns last_pnl_ts;
    int breached;
    px_t breach_pnl;
    ts_ns breached_ts;
    uint32_t breach_count;
};

struct acct {
    uint64_t id;
    enum risk_state state; /* the account's own kill switch, both modes */
    struct mode_state mode[TRADE_MODE_COUNT];
};

struct risk_gate {
    enum risk_state global;
    struct risk_limits defaults[TRADE_MODE_COUNT];
    struct risk_events ev;
    struct acct *accts; /* dense, n used of cap */
    uint32_t n, cap;
    uint32_t *slots;    /* index into accts + 1; 0 = empty */
    uint32_t nslots;    /* power of two, or 0 before the first account */
};

/* ---- names ----------------------------------------------------------------------------------- */

static const char *const state_names[RISK_STATE_COUNT] = {"ACTIVE", "REDUCING", "HALTED"};

const char *risk_state_name(enum risk_state state)
{
    return (unsigned)state < RISK_STATE_COUNT ? state_names[state] : "?";
}

int risk_state_parse(const char *text, enum risk_state *out)
{
    if (!text)
        return ATP_EINVAL;
    for (int i = 0; i < RISK_STATE_COUNT; i++) {
        if (strcasecmp(text, state_names[i]) == 0) {
            *out = (enum risk_state)i;
            return ATP_OK;
        }
    }
    return ATP_EINVAL;
}

const char *risk_scope_name(enum risk_scope scope)
{
    static const char *const names[RISK_SCOPE_COUNT] = {"GLOBAL", "ACCOUNT", "LOSS"};
    return (unsigned)scope < RISK_SCOPE_COUNT ? names[scope] : "?";
}

const char *risk_action_name(enum risk_action action)
{
    static const char *const names[RISK_ACTION_COUNT] = {"PLACE", "MODIFY", "CANCEL"};
    return (unsigned)action < RISK_ACTION_COUNT ? names[action] : "?";
}

const char *risk_reason_name(enum risk_reason reason)
{
    static const char *const names[RISK_REASON_COUNT] = {
        [RISK_ALLOW] = "ALLOW",
        [RISK_DENY_INVALID_REQUEST] = "INVALID_REQUEST",
        [RISK_DENY_UNKNOWN_ACCOUNT] = "UNKNOWN_ACCOUNT",
        [RISK_DENY_GLOBAL_HALTED] = "GLOBAL_HALTED",
        [RISK_DENY_ACCOUNT_HALTED] = "ACCOUNT_HALTED",
        [RISK_DENY_GLOBAL_REDUCING] = "GLOBAL_REDUCING",
        [RISK_DENY_ACCOUNT_REDUCING] = "ACCOUNT_REDUCING",
        [RISK_DENY_LOSS_LIMIT_BREACHED] = "LOSS_LIMIT_BREACHED",
        [RISK_DENY_QTY_NOT_POSITIVE] = "QTY_NOT_POSITIVE",
        [RISK_DENY_QTY_NOT_LOT_MULTIPLE] = "QTY_NOT_LOT_MULTIPLE",
        [RISK_DENY_PRICE_OFF_TICK] = "PRICE_OFF_TICK",
        [RISK_DENY_PRICE_OUTSIDE_BAND] = "PRICE_OUTSIDE_BAND",
        [RISK_DENY_PRICE_UNKNOWN] = "PRICE_UNKNOWN",
        [RISK_DENY_ORDER_VALUE] = "ORDER_VALUE",
        [RISK_DENY_POSITION_LIMIT] = "POSITION_LIMIT",
        [RISK_DENY_OPEN_ORDERS] = "OPEN_ORDERS",
        [RISK_DENY_RATE_LIMIT] = "RATE_LIMIT",
        [RISK_DENY_MAX_STRATEGIES] = "MAX_STRATEGIES",
        [RISK_DENY_MIS_AFTER_CUTOFF] = "MIS_AFTER_CUTOFF",
        [RISK_DENY_INSUFFICIENT_FUNDS] = "INSUFFICIENT_FUNDS",
    };
    return (unsigned)reason < RISK_REASON_COUNT ? names[reason] : "?";
}

/* ---- limits ---------------------------------------------------------------------------------- */

void risk_limits_default(struct risk_limits *out)
{
    memset(out, 0, sizeof *out);
    out->price_band_bps = 1000;
    out->max_order_value = PX_RUPEES(2500000);
    out->max_position_qty = 0;
    out->max_open_orders = 100;
    out->orders_per_sec = 10;
    out->max_strategies = 5;
    out->max_loss = 0;
    out->mis_cutoff_tod_ns = 15 * TS_NS_PER_HOUR + 20 * TS_NS_PER_MIN;
}

int risk_limits_validate(const struct risk_limits *lim, struct atp_err *err)
{
    if (!lim)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "limits", "no limits given");
    if (lim->price_band_bps < 0 || lim->price_band_bps > RISK_BAND_BPS_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "price_band_bps",
                           "price band %d bps is outside 0..%d", (int)lim->price_band_bps,
                           RISK_BAND_BPS_MAX);
    if (lim->max_order_value < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "max_order_value",
                           "max order value must be >= 0 (0 = off)");
    if (lim->max_position_qty < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "max_position_qty",
                           "max position qty must be >= 0 (0 = off)");
    if (lim->max_open_orders < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "max_open_orders",
                           "max open orders must be >= 0 (0 = off)");
    if (lim->orders_per_sec < 1 || lim->orders_per_sec > RISK_ORDERS_PER_SEC_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "orders_per_sec",
                           "orders per second %d is outside 1..%d", (int)lim->orders_per_sec,
                           RISK_ORDERS_PER_SEC_MAX);
    if (lim->max_strategies < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "max_strategies",
                           "max strategies must be >= 0 (0 = off)");
    if (lim->max_loss < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "max_loss",
                           "max loss must be >= 0 rupees (0 = off)");
    if (lim->mis_cutoff_tod_ns < 0 || lim->mis_cutoff_tod_ns >= TS_NS_PER_DAY)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mis_cutoff_tod_ns",
                           "the intraday cut-off is a time of day (0 = off)");
    return ATP_OK;
}

/* ---- gate and accounts ----------------------------------------------------------------------- */

struct risk_gate *risk_new(void)
{
    struct risk_gate *gate = atp_calloc(1, sizeof *gate);
    if (!gate)
        return NULL;
    gate->global = RISK_STATE_ACTIVE;
    for (int m = 0; m < TRADE_MODE_COUNT; m++)
        risk_limits_default(&gate->defaults[m]);
    return gate;
}

void risk_free(struct risk_gate *gate)
{
    if (!gate)
        return;
    for (uint32_t i = 0; i < gate->n; i++)
        for (int m = 0; m < TRADE_MODE_COUNT; m++)
            risk_rate_cleanup(&gate->accts[i].mode[m].rate);
    atp_free(gate->accts);
    atp_free(gate->slots);
    atp_free(gate);
}

void risk_set_events(struct risk_gate *gate, const struct risk_events *events)
{
    if (events)
        gate->ev = *events;
    else
        memset(&gate->ev, 0, sizeof gate->ev);
}

static int mode_ok(enum trade_mode mode)
{
    return (unsigned)mode < TRADE_MODE_COUNT;
}

int risk_set_default_limits(struct risk_gate *gate, enum trade_mode mode,
                            const struct risk_limits *lim, struct atp_err *err)
{
    if (!mode_ok(mode))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode", "unknown trading mode %d", (int)mode);
    int rc = risk_limits_validate(lim, err);
    if (rc != ATP_OK)
        return rc;
    gate->defaults[mode] = *lim;
    return ATP_OK;
}

int risk_get_default_limits(const struct risk_gate *gate, enum trade_mode mode,
                            struct risk_limits *out)
{
    if (!mode_ok(mode))
        return ATP_EINVAL;
    *out = gate->defaults[mode];
    return ATP_OK;
}

/* SplitMix64's finalizer: account ids are often small and sequential. */
static uint32_t slot_of(uint64_t id, uint32_t nslots)
{
    id ^= id >> 30;
    id *= 0xbf58476d1ce4e5b9ULL;
    id ^= id >> 27;
    id *= 0x94d049bb133111ebULL;
    id ^= id >> 31;
    return (uint32_t)id & (nslots - 1);
}

static struct acct *find(const struct risk_gate *gate, uint64_t id)
{
    if (id == 0 || gate->nslots == 0)
        return NULL;
    for (uint32_t s = slot_of(id, gate->nslots);; s = (s + 1) & (gate->nslots - 1)) {
        uint32_t v = gate->slots[s];
        if (v == 0)
            return NULL;
        if (gate->accts[v - 1].id == id)
            return &gate->accts[v - 1];
    }
}

static void slots_put(uint32_t *slots, uint32_t nslots, uint64_t id, uint32_t index)
{
    uint32_t s = slot_of(id, nslots);
    while (slots[s] != 0)
        s = (s + 1) & (nslots - 1);
    slots[s] = index + 1;
}

/* Makes room for one more account. Leaves the gate valid on failure (only capacities grow). */
static int reserve_one(struct risk_gate *gate)
{
    if (gate->n == UINT32_MAX / 4)
        return ATP_ENOMEM;
    if (gate->n == gate->cap) {
        uint32_t cap = gate->cap ? gate->cap * 2 : 8;
        struct acct *a = atp_reallocarray(gate->accts, cap, sizeof *a);
        if (!a)
            return ATP_ENOMEM;
        gate->accts = a;
        gate->cap = cap;
    }
    if ((gate->n + 1) * 2 > gate->nslots) {
        uint32_t nslots = gate->nslots ? gate->nslots * 2 : 16;
        uint32_t *slots = atp_calloc(nslots, sizeof *slots);
        if (!slots)
            return ATP_ENOMEM;
        for (uint32_t i = 0; i < gate->n; i++)
            slots_put(slots, nslots, gate->accts[i].id, i);
        atp_free(gate->slots);
        gate->slots = slots;
        gate->nslots = nslots;
    }
    return ATP_OK;
}

static int add_account(struct risk_gate *gate, uint64_t id, struct acct **out)
{
    struct acct *a = find(gate, id);
    if (a) {
        *out = a;
        return ATP_OK;
    }
    int rc = reserve_one(gate);
    if (rc != ATP_OK)
        return rc;
    a = &gate->accts[gate->n];
    memset(a, 0, sizeof *a);
    a->id = id;
    a->state = RISK_STATE_ACTIVE;
    for (int m = 0; m < TRADE_MODE_COUNT; m++) {
        a->mode[m].lim = gate->defaults[m];
        rc = risk_rate_init(&a->mode[m].rate, (uint32_t)gate->defaults[m].orders_per_sec);
        if (rc != ATP_OK) {
            for (int k = 0; k < m; k++)
                risk_rate_cleanup(&a->mode[k].rate);
            return rc;
        }
    }
    slots_put(gate->slots, gate->nslots, id, gate->n);
    gate->n++;
    *out = a;
    return ATP_OK;
}

int risk_account_add(struct risk_gate *gate, uint64_t account_id)
{
    if (account_id == 0)
        return ATP_EINVAL;
    struct acct *a;
    return add_account(gate, account_id, &a);
}

int risk_account_known(const struct risk_gate *gate, uint64_t account_id)
{
    return find(gate, account_id) != NULL;
}

int risk_set_limits(struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                    const struct risk_limits *lim, struct atp_err *err)
{
    if (account_id == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "account_id", "account id must be > 0");
    if (!mode_ok(mode))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode", "unknown trading mode %d", (int)mode);
    int rc = risk_limits_validate(lim, err);
    if (rc != ATP_OK)
        return rc;
    struct acct *a;
    rc = add_account(gate, account_id, &a);
    if (rc == ATP_OK)
        rc = risk_rate_resize(&a->mode[mode].rate, (uint32_t)lim->orders_per_sec);
    if (rc != ATP_OK)
        return atp_err_set(err, rc, NULL, 0, NULL, "out of memory");
    a->mode[mode].lim = *lim;
    return ATP_OK;
}

int risk_get_limits(const struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                    struct risk_limits *out)
{
    if (!mode_ok(mode))
        return ATP_EINVAL;
    const struct acct *a = find(gate, account_id);
    if (!a)
        return ATP_ENOTFOUND;
    *out = a->mode[mode].lim;
    return ATP_OK;
}

/* ---- order check ----------------------------------------------------------------------------- */

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t sat_abs(int64_t v)
{
    return v == INT64_MIN ? INT64_MAX : (v < 0 ? -v : v);
}

int risk_order_is_exit(enum order_side side, int64_t qty, int64_t position_qty,
                       int64_t pending_same_side_qty)
{
    if (qty <= 0 || pending_same_side_qty < 0)
        return 0;
    /* |position| as unsigned so that INT64_MIN is exact; then pending + qty <= |position|
     * without forming the sum. */
    uint64_t size;
    if (side == ORDER_SIDE_SELL && position_qty > 0)
        size = (uint64_t)position_qty;
    else if (side == ORDER_SIDE_BUY && position_qty < 0)
        size = (uint64_t)0 - (uint64_t)position_qty;
    else
        return 0;
    uint64_t pending = (uint64_t)pending_same_side_qty;
    return pending <= size && (uint64_t)qty <= size - pending;
}

static void decision_reset(struct risk_decision *out)
{
    memset(out, 0, sizeof *out);
    out->reason = RISK_ALLOW;
}

static enum risk_reason deny(struct risk_decision *out, enum risk_reason reason, int64_t limit,
                             int64_t actual, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum risk_reason deny(struct risk_decision *out, enum risk_reason reason, int64_t limit,
                             int64_t actual, const char *fmt, ...)
{
    out->reason = reason;
    out->limit = limit;
    out->actual = actual;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->msg, sizeof out->msg, fmt, ap);
    va_end(ap);
    return reason;
}

static enum risk_state strictest(enum risk_state a, enum risk_state b)
{
    return a > b ? a : b;
}

static enum risk_state effective(const struct risk_gate *gate, const struct acct *a,
                                 enum trade_mode mode)
{
    enum risk_state s = strictest(gate->global, a->state);
    if (a->mode[mode].breached)
        s = strictest(s, RISK_STATE_REDUCING);
    return s;
}

/* The kill-switch and breach checks shared by orders and strategy starts. may_pass_reducing: the
 * action is an exit (or a cancel), which REDUCING and a breach let through. */
static enum risk_reason check_state(const struct risk_gate *gate, const struct acct *a,
                                    enum trade_mode mode, int may_pass_reducing,
                                    const struct order_request *req, int64_t position_qty,
                                    struct risk_decision *out)
{
    const struct mode_state *ms = &a->mode[mode];
    char what[96]; /* req NULL: a strategy start */
    if (gate->global == RISK_STATE_HALTED)
        return deny(out, RISK_DENY_GLOBAL_HALTED, 0, 0, "trading is HALTED globally: cancels only");
    if (a->state == RISK_STATE_HALTED)
        return deny(out, RISK_DENY_ACCOUNT_HALTED, 0, 0,
                    "account %llu is HALTED: cancels only", (unsigned long long)a->id);
    if (may_pass_reducing)
        return RISK_ALLOW;
    if (req)
        snprintf(what, sizeof what, "%s %lld does not reduce position %lld",
                 order_side_name(req->side), (long long)req->qty, (long long)position_qty);
    else
        snprintf(what, sizeof what, "no strategy may start");
    if (gate->global == RISK_STATE_REDUCING)
        return deny(out, RISK_DENY_GLOBAL_REDUCING, 0, 0,
                    "trading is REDUCING globally: exits only; %s", what);
    if (a->state == RISK_STATE_REDUCING)
        return deny(out, RISK_DENY_ACCOUNT_REDUCING, 0, 0,
                    "account %llu is REDUCING: exits only; %s", (unsigned long long)a->id, what);
    if (ms->breached) {
        char lim[PX_STR_MAX], pnl[PX_STR_MAX];
        px_format(ms->lim.max_loss, lim, sizeof lim);
        px_format(ms->breach_pnl, pnl, sizeof pnl);
        return deny(out, RISK_DENY_LOSS_LIMIT_BREACHED, ms->lim.max_loss, ms->breach_pnl,
                    "loss limit %s breached (net P&L %s) in %s, not yet acknowledged: exits "
                    "only; %s",
                    lim, pnl, trade_mode_name(mode), what);
    }
    return RISK_ALLOW;
}

static int type_has_limit(enum order_type t)
{
    return t == ORDER_TYPE_LIMIT || t == ORDER_TYPE_SL;
}

static int type_has_trigger(enum order_type t)
{
    return t == ORDER_TYPE_SL || t == ORDER_TYPE_SL_M;
}

/* Floor of ref * bps / 10000 without overflow: ref >= 0, 0 <= bps <= 10000. */
static int64_t band_width(px_t ref, int32_t bps)
{
    return (ref / 10000) * bps + (ref % 10000) * bps / 10000;
}

static enum risk_reason check_band(const struct risk_order_ctx *ctx, const struct mode_state *ms,
                                   struct risk_decision *out)
{
    const struct order_request *req = ctx->req;
    if (ms->lim.price_band_bps == 0 || !type_has_limit(req->type))
        return RISK_ALLOW;
    /* LIMIT: around the last price. SL: around the trigger, the price at which it becomes a LIMIT
     * (a stop far from the LTP is the point of a stop; its limit far from its trigger is not). */
    px_t ref = req->type == ORDER_TYPE_SL ? req->trigger_price : ctx->last_price;
    if (ref <= 0)
        return RISK_ALLOW; /* no reference: the value check still bounds the order */
    int64_t width = band_width(ref, ms->lim.price_band_bps);
    px_t low = ref - width, high = sat_add(ref, width);
    out->reference = ref;
    if (req->limit_price >= low && req->limit_price <= high)
        return RISK_ALLOW;
    char p[PX_STR_MAX], l[PX_STR_MAX], h[PX_STR_MAX], r[PX_STR_MAX];
    px_format(req->limit_price, p, sizeof p);
    px_format(low, l, sizeof l);
    px_format(high, h, sizeof h);
    px_format(ref, r, sizeof r);
    return deny(out, RISK_DENY_PRICE_OUTSIDE_BAND, req->limit_price < low ? low : high,
                req->limit_price, "limit price %s is outside the band %s..%s (%d.%02d%% around %s %s)",
                p, l, h, (int)(ms->lim.price_band_bps / 100), (int)(ms->lim.price_band_bps % 100),
                req->type == ORDER_TYPE_SL ? "trigger price" : "last price", r);
}

/* The price an order's value is measured at: its limit, its trigger, or the last trade. */
static px_t reference_price(const struct risk_order_ctx *ctx, const char **name)
{
    switch (ctx->req->type) {
    case ORDER_TYPE_LIMIT:
    case ORDER_TYPE_SL:
        *name = "limit price";
        return ctx->req->limit_price;
    case ORDER_TYPE_SL_M:
        *name = "trigger price";
        return ctx->req->trigger_price;
    default:
        *name = "last price";
        return ctx->last_price;
    }
}

/* An entry must fit in the account's funds: it is rejected with the numbers, never shrunk. */
static enum risk_reason check_funds(const struct risk_order_ctx *ctx, struct risk_decision *out)
{
    if (!ctx->check_funds || ctx->action != RISK_ACTION_PLACE || out->is_exit)
        return RISK_ALLOW;
    const char *ref_name;
    px_t ref = reference_price(ctx, &ref_name), value;
    if (ref <= 0)
        return RISK_ALLOW; /* no price: the broker refuses a market order it cannot price */
    if (px_mul_qty(ref, ctx->req->qty, &value) != ATP_OK)
        value = PX_MAX / 2;
    __int128 need = ((__int128)value * ctx->margin_bps + 9999) / 10000 + ctx->funds_reserved;
    if (need <= ctx->funds_available)
        return RISK_ALLOW;
    px_t needed = need > PX_MAX ? PX_MAX : (px_t)need;
    char a[PX_STR_MAX], n[PX_STR_MAX];
    px_format_fixed(ctx->funds_available, 2, a, sizeof a);
    px_format_fixed(needed, 2, n, sizeof n);
    return deny(out, RISK_DENY_INSUFFICIENT_FUNDS, ctx->funds_available, needed,
                "insufficient funds: the order needs %s (with working orders), %s available", n, a);
}

static enum risk_reason check_value(const struct risk_order_ctx *ctx, const struct mode_state *ms,
                                    struct risk_decision *out)
{
    const struct order_request *req = ctx->req;
    if (ms->lim.max_order_value == 0)
        return RISK_ALLOW;
    const char *ref_name;
    px_t ref = reference_price(ctx, &ref_name);
    if (ref <= 0)
        return deny(out, RISK_DENY_PRICE_UNKNOWN, ms->lim.max_order_value, 0,
                    "order value unknown: %s order and no last price", order_type_name(req->type));
    out->reference = ref;
    px_t value;
    if (px_mul_qty(ref, req->qty, &value) != ATP_OK)
        value = PX_MAX;
    if (value <= ms->lim.max_order_value)
        return RISK_ALLOW;
    char v[PX_STR_MAX], m[PX_STR_MAX], r[PX_STR_MAX];
    px_format(value, v, sizeof v);
    px_format(ms->lim.max_order_value, m, sizeof m);
    px_format(ref, r, sizeof r);
    return deny(out, RISK_DENY_ORDER_VALUE, ms->lim.max_order_value, value,
                "order value %s (qty %lld x %s %s) exceeds the limit %s", v, (long long)req->qty,
                ref_name, r, m);
}

static enum risk_reason check_position(const struct risk_order_ctx *ctx,
                                       const struct mode_state *ms, struct risk_decision *out)
{
    const struct order_request *req = ctx->req;
    int64_t max = ms->lim.max_position_qty;
    if (max == 0)
        return RISK_ALLOW;
    /* The worst case on the order's side: every working order on that side fills, and this one. */
    int64_t projected;
    if (req->side == ORDER_SIDE_BUY)
        projected = sat_add(sat_add(ctx->position_qty, ctx->pending_buy_qty), req->qty);
    else
        projected = sat_add(sat_add(ctx->position_qty, -ctx->pending_sell_qty), -req->qty);
    int64_t size = sat_abs(projected);
    if ((req->side == ORDER_SIDE_BUY && projected <= max) ||
        (req->side == ORDER_SIDE_SELL && projected >= -max))
        return RISK_ALLOW;
    return deny(out, RISK_DENY_POSITION_LIMIT, max, size,
                "position would reach %lld (position %lld, working %s %lld, this %s %lld), limit "
                "%lld",
                (long long)projected, (long long)ctx->position_qty, order_side_name(req->side),
                (long long)(req->side == ORDER_SIDE_BUY ? ctx->pending_buy_qty
                                                        : ctx->pending_sell_qty),
                order_side_name(req->side), (long long)req->qty, (long long)max);
}

/* Everything that is a fault of the caller rather than of the order: fail closed. */
static enum risk_reason check_ctx(const struct risk_order_ctx *ctx, struct risk_decision *out)
{
    if (!ctx || !ctx->req)
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0, "no order context");
    if ((unsigned)ctx->action >= RISK_ACTION_COUNT)
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0, "unknown action %d", (int)ctx->action);
    if (!mode_ok(ctx->req->mode))
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0, "unknown trading mode %d",
                    (int)ctx->req->mode);
    if (ctx->action == RISK_ACTION_CANCEL)
        return RISK_ALLOW;
    if ((unsigned)ctx->req->side >= ORDER_SIDE_COUNT)
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0, "unknown side %d", (int)ctx->req->side);
    if (!ctx->instrument)
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0, "no instrument");
    if (ctx->instrument->id != ctx->req->instrument_id)
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0,
                    "instrument %u given for an order on instrument %u",
                    (unsigned)ctx->instrument->id, (unsigned)ctx->req->instrument_id);
    if (ctx->instrument->lot_size < 1 || ctx->instrument->tick_size <= 0)
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0, "instrument %s has no valid lot or tick",
                    ctx->instrument->symbol);
    if (ctx->pending_buy_qty < 0 || ctx->pending_sell_qty < 0 || ctx->open_orders < 0 ||
        ctx->last_price < 0)
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0,
                    "negative pending qty, open orders or last price in the context");
    return RISK_ALLOW;
}

static enum risk_reason check_rate(struct mode_state *ms, const struct risk_order_ctx *ctx,
                                   struct risk_decision *out)
{
    ts_ns retry_at;
    if (risk_rate_allows(&ms->rate, ctx->now, RATE_WINDOW_NS, &retry_at))
        return RISK_ALLOW;
    out->retry_at = retry_at;
    return deny(out, RISK_DENY_RATE_LIMIT, ms->lim.orders_per_sec,
                (int64_t)ms->lim.orders_per_sec + 1,
                "%s would be action %d in 1 s for account %llu (%s), limit %d per second; next "
                "slot in %lld ns",
                risk_action_name(ctx->action), (int)ms->lim.orders_per_sec + 1,
                (unsigned long long)ctx->req->account_id, trade_mode_name(ctx->req->mode),
                (int)ms->lim.orders_per_sec, (long long)(retry_at - ctx->now));
}

enum risk_reason risk_check_order(struct risk_gate *gate, const struct risk_order_ctx *ctx,
                                  struct risk_decision *out)
{
    decision_reset(out);
    enum risk_reason r = check_ctx(ctx, out);
    if (r != RISK_ALLOW)
        return r;
    const struct order_request *req = ctx->req;
    struct acct *a = find(gate, req->account_id);
    if (!a)
        return deny(out, RISK_DENY_UNKNOWN_ACCOUNT, 0, 0, "account %llu is not known to the risk gate",
                    (unsigned long long)req->account_id);
    struct mode_state *ms = &a->mode[req->mode];
    out->state = effective(gate, a, req->mode);

    if (ctx->action != RISK_ACTION_CANCEL) {
        /* 1. Trading state. */
        int64_t pending_same =
            req->side == ORDER_SIDE_BUY ? ctx->pending_buy_qty : ctx->pending_sell_qty;
        out->is_exit = risk_order_is_exit(req->side, req->qty, ctx->position_qty, pending_same);
        if ((r = check_state(gate, a, req->mode, out->is_exit, req, ctx->position_qty, out)) !=
            RISK_ALLOW)
            return r;

        /* 1b. Intraday cut-off: no new MIS exposure after the square-off time. */
        if (req->product == ORDER_PRODUCT_MIS && !out->is_exit && ms->lim.mis_cutoff_tod_ns > 0) {
            ts_ns tod = ctx->now - ts_ist_midnight(ts_ist_day(ctx->now));
            if (tod >= ms->lim.mis_cutoff_tod_ns)
                return deny(out, RISK_DENY_MIS_AFTER_CUTOFF, ms->lim.mis_cutoff_tod_ns, tod,
                            "intraday (MIS) entries are closed after %02d:%02d IST (square-off)",
                            (int)(ms->lim.mis_cutoff_tod_ns / TS_NS_PER_HOUR),
                            (int)(ms->lim.mis_cutoff_tod_ns / TS_NS_PER_MIN % 60));
        }

        /* 2. Quantity: positive, whole lots. */
        struct atp_err err;
        if (instrument_check_qty(ctx->instrument, req->qty, &err) != ATP_OK) {
            if (req->qty <= 0)
                return deny(out, RISK_DENY_QTY_NOT_POSITIVE, 0, req->qty, "%s", err.msg);
            return deny(out, RISK_DENY_QTY_NOT_LOT_MULTIPLE, ctx->instrument->lot_size, req->qty,
                        "%s", err.msg);
        }

        /* 3. The request's own rules (prices present per type, SL trigger side, ...). */
        if (order_request_validate(req, &err) != ATP_OK)
            return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0, "%s: %s", err.field, err.msg);

        /* 4. Prices on the tick. */
        if (type_has_limit(req->type) &&
            instrument_check_price(ctx->instrument, req->limit_price, &err) != ATP_OK)
            return deny(out, RISK_DENY_PRICE_OFF_TICK, ctx->instrument->tick_size,
                        req->limit_price, "limit %s", err.msg);
        if (type_has_trigger(req->type) &&
            instrument_check_price(ctx->instrument, req->trigger_price, &err) != ATP_OK)
            return deny(out, RISK_DENY_PRICE_OFF_TICK, ctx->instrument->tick_size,
                        req->trigger_price, "trigger %s", err.msg);

        /* 5-8. Band, order value, position, open orders. */
        if ((r = check_band(ctx, ms, out)) != RISK_ALLOW)
            return r;
        if ((r = check_value(ctx, ms, out)) != RISK_ALLOW)
            return r;
        if ((r = check_funds(ctx, out)) != RISK_ALLOW)
            return r;
        if ((r = check_position(ctx, ms, out)) != RISK_ALLOW)
            return r;
        if (ctx->action == RISK_ACTION_PLACE && ms->lim.max_open_orders > 0 &&
            ctx->open_orders >= ms->lim.max_open_orders)
            return deny(out, RISK_DENY_OPEN_ORDERS, ms->lim.max_open_orders,
                        (int64_t)ctx->open_orders + 1,
                        "would be open order %lld of account %llu (%s), limit %d",
                        (long long)ctx->open_orders + 1, (unsigned long long)a->id,
                        trade_mode_name(req->mode), (int)ms->lim.max_open_orders);
    }

    /* 9. Orders per second, last: only an otherwise allowed action takes a slot. */
    if ((r = check_rate(ms, ctx, out)) != RISK_ALLOW)
        return r;
    risk_rate_record(&ms->rate, ctx->now);
    snprintf(out->msg, sizeof out->msg, "%s allowed", risk_action_name(ctx->action));
    return RISK_ALLOW;
}

int risk_rate_next_slot(const struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                        ts_ns now, ts_ns *out)
{
    if (!mode_ok(mode))
        return ATP_EINVAL;
    const struct acct *a = find(gate, account_id);
    if (!a)
        return ATP_ENOTFOUND;
    risk_rate_allows(&a->mode[mode].rate, now, RATE_WINDOW_NS, out);
    return ATP_OK;
}

enum risk_reason risk_check_strategy_start(const struct risk_gate *gate, uint64_t account_id,
                                           enum trade_mode mode, int32_t running_count,
                                           struct risk_decision *out)
{
    decision_reset(out);
    if (!mode_ok(mode))
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, 0, "unknown trading mode %d", (int)mode);
    if (running_count < 0)
        return deny(out, RISK_DENY_INVALID_REQUEST, 0, running_count,
                    "running strategy count %d is negative", (int)running_count);
    const struct acct *a = find(gate, account_id);
    if (!a)
        return deny(out, RISK_DENY_UNKNOWN_ACCOUNT, 0, 0, "account %llu is not known to the risk gate",
                    (unsigned long long)account_id);
    out->state = effective(gate, a, mode);
    enum risk_reason r = check_state(gate, a, mode, 0, NULL, 0, out);
    if (r != RISK_ALLOW)
        return r;
    int32_t max = a->mode[mode].lim.max_strategies;
    if (max > 0 && running_count >= max)
        return deny(out, RISK_DENY_MAX_STRATEGIES, max, (int64_t)running_count + 1,
                    "would be strategy %lld running for account %llu (%s), limit %d",
                    (long long)running_count + 1, (unsigned long long)account_id,
                    trade_mode_name(mode), (int)max);
    snprintf(out->msg, sizeof out->msg, "strategy start allowed");
    return RISK_ALLOW;
}

/* ---- loss monitor and kill switch ------------------------------------------------------------ */

static void emit_change(const struct risk_gate *gate, enum risk_scope scope, uint64_t account_id,
                        enum trade_mode mode, enum risk_state from, enum risk_state to, ts_ns ts)
{
    if (!gate->ev.on_state_change || from == to)
        return;
    struct risk_state_change c = {scope, account_id, mode, from, to, ts};
    gate->ev.on_state_change(gate->ev.ctx, &c);
}

int risk_on_pnl(struct risk_gate *gate, uint64_t account_id, enum trade_mode mode, px_t net_pnl,
                ts_ns ts)
{
    if (!mode_ok(mode))
        return ATP_EINVAL;
    struct acct *a = find(gate, account_id);
    if (!a)
        return ATP_ENOTFOUND;
    struct mode_state *ms = &a->mode[mode];
    ms->last_pnl = net_pnl;
    ms->last_pnl_ts = ts;
    if (ms->breached || ms->lim.max_loss == 0 || net_pnl > -ms->lim.max_loss)
        return ATP_OK;
    ms->breached = 1;
    ms->breach_pnl = net_pnl;
    ms->breached_ts = ts;
    ms->breach_count++;
    if (gate->ev.on_breach)
        gate->ev.on_breach(gate->ev.ctx, account_id, mode, ms->lim.max_loss, net_pnl, ts);
    emit_change(gate, RISK_SCOPE_LOSS, account_id, mode, RISK_STATE_ACTIVE, RISK_STATE_REDUCING, ts);
    return ATP_OK;
}

int risk_acknowledge_breach(struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                            ts_ns ts, struct atp_err *err)
{
    if (!mode_ok(mode))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "mode", "unknown trading mode %d", (int)mode);
    struct acct *a = find(gate, account_id);
    if (!a)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "account_id", "account %llu is not known",
                           (unsigned long long)account_id);
    struct mode_state *ms = &a->mode[mode];
    if (!ms->breached)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL,
                           "no loss-limit breach in force for account %llu (%s)",
                           (unsigned long long)account_id, trade_mode_name(mode));
    if (ms->lim.max_loss > 0 && ms->last_pnl <= -ms->lim.max_loss) {
        char pnl[PX_STR_MAX], lim[PX_STR_MAX];
        px_format(ms->last_pnl, pnl, sizeof pnl);
        px_format(ms->lim.max_loss, lim, sizeof lim);
        return atp_err_set(err, ATP_ESTATE, NULL, 0, "max_loss",
                           "net P&L %s is still beyond the loss limit %s: raise the limit first",
                           pnl, lim);
    }
    ms->breached = 0;
    ms->breach_pnl = 0;
    ms->breached_ts = 0;
    emit_change(gate, RISK_SCOPE_LOSS, account_id, mode, RISK_STATE_REDUCING, RISK_STATE_ACTIVE, ts);
    return ATP_OK;
}

int risk_loss_status(const struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                     struct risk_loss_status *out)
{
    if (!mode_ok(mode))
        return ATP_EINVAL;
    const struct acct *a = find(gate, account_id);
    if (!a)
        return ATP_ENOTFOUND;
    const struct mode_state *ms = &a->mode[mode];
    out->max_loss = ms->lim.max_loss;
    out->last_pnl = ms->last_pnl;
    out->last_pnl_ts = ms->last_pnl_ts;
    out->breached = ms->breached;
    out->breach_pnl = ms->breach_pnl;
    out->breached_ts = ms->breached_ts;
    out->breach_count = ms->breach_count;
    return ATP_OK;
}

int risk_set_global_state(struct risk_gate *gate, enum risk_state state, ts_ns ts)
{
    if ((unsigned)state >= RISK_STATE_COUNT)
        return ATP_EINVAL;
    enum risk_state from = gate->global;
    gate->global = state;
    emit_change(gate, RISK_SCOPE_GLOBAL, 0, TRADE_MODE_PAPER, from, state, ts);
    return ATP_OK;
}

int risk_set_account_state(struct risk_gate *gate, uint64_t account_id, enum risk_state state,
                           ts_ns ts)
{
    if ((unsigned)state >= RISK_STATE_COUNT)
        return ATP_EINVAL;
    struct acct *a = find(gate, account_id);
    if (!a)
        return ATP_ENOTFOUND;
    enum risk_state from = a->state;
    a->state = state;
    emit_change(gate, RISK_SCOPE_ACCOUNT, account_id, TRADE_MODE_PAPER, from, state, ts);
    return ATP_OK;
}

enum risk_state risk_global_state(const struct risk_gate *gate)
{
    return gate->global;
}

int risk_account_state(const struct risk_gate *gate, uint64_t account_id, enum risk_state *out)
{
    const struct acct *a = find(gate, account_id);
    if (!a)
        return ATP_ENOTFOUND;
    *out = a->state;
    return ATP_OK;
}

int risk_effective_state(const struct risk_gate *gate, uint64_t account_id, enum trade_mode mode,
                         enum risk_state *out)
{
    if (!mode_ok(mode))
        return ATP_EINVAL;
    const struct acct *a = find(gate, account_id);
    if (!a)
        return ATP_ENOTFOUND;
    *out = effective(gate, a, mode);
    return ATP_OK;
}
