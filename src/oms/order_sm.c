/* oms/order_sm: the transition table and the function that applies it.
 *
 * The table is the policy; code only adds the per-event guards the table cannot express
 * (quantities, modified terms, the broker id). A transition is computed on a copy of the order and
 * committed only when every check passed, so a refusal cannot leave a half-applied order. */
#include "oms/order_sm.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

#define S(x) ORDER_STATE_##x
#define E(x) ORDER_EV_##x

static const char *const event_names[ORDER_EV_COUNT] = {
    [E(SUBMIT)] = "SUBMIT",
    [E(ACK_OPEN)] = "ACK_OPEN",
    [E(ACK_TRIGGER_PENDING)] = "ACK_TRIGGER_PENDING",
    [E(TRIGGERED)] = "TRIGGERED",
    [E(PARTIAL_FILL)] = "PARTIAL_FILL",
    [E(FILL)] = "FILL",
    [E(CANCEL)] = "CANCEL",
    [E(REJECT)] = "REJECT",
    [E(EXPIRE)] = "EXPIRE",
    [E(MODIFY)] = "MODIFY",
};

/* Every legal transition. Nothing leaves a terminal state (FILLED, CANCELLED, REJECTED,
 * EXPIRED). Brokers report snapshots (order book polls, postbacks that can skip statuses), so a
 * fill may be the first news of an ack or of a trigger: fills are accepted from PENDING_SUBMIT
 * and TRIGGER_PENDING and count as the implicit ack / trigger. */
static const struct order_sm_row table[] = {
    {S(NEW), E(SUBMIT), S(PENDING_SUBMIT), "persisted with its tag, handed to the send path"},
    {S(NEW), E(CANCEL), S(CANCELLED), "withdrawn before it was ever sent"},

    {S(PENDING_SUBMIT), E(ACK_OPEN), S(OPEN), "broker accepted; working at the exchange"},
    {S(PENDING_SUBMIT), E(ACK_TRIGGER_PENDING), S(TRIGGER_PENDING),
     "broker accepted an SL / SL-M; waiting for the trigger"},
    {S(PENDING_SUBMIT), E(PARTIAL_FILL), S(PARTIALLY_FILLED), "fill reported before the ack"},
    {S(PENDING_SUBMIT), E(FILL), S(FILLED), "filled before the ack arrived (marketable order)"},
    {S(PENDING_SUBMIT), E(CANCEL), S(CANCELLED),
     "withdrawn before sending, or the broker reports it cancelled (tag look-up)"},
    {S(PENDING_SUBMIT), E(REJECT), S(REJECTED), "refused by adapter, broker RMS or exchange"},
    {S(PENDING_SUBMIT), E(EXPIRE), S(EXPIRED), "IOC with nothing filled, before any ack"},

    {S(OPEN), E(PARTIAL_FILL), S(PARTIALLY_FILLED), "part of the quantity traded"},
    {S(OPEN), E(FILL), S(FILLED), "all of the quantity traded"},
    {S(OPEN), E(CANCEL), S(CANCELLED), "cancelled by the user, the OMS or the broker"},
    {S(OPEN), E(REJECT), S(REJECTED), "exchange rejected after the broker accepted"},
    {S(OPEN), E(EXPIRE), S(EXPIRED), "end of day (DAY) or no match (IOC)"},
    {S(OPEN), E(MODIFY), S(OPEN), "new qty / price confirmed"},

    {S(TRIGGER_PENDING), E(TRIGGERED), S(OPEN), "trigger hit: now a LIMIT (SL) or MARKET (SL-M)"},
    {S(TRIGGER_PENDING), E(PARTIAL_FILL), S(PARTIALLY_FILLED), "triggered and part traded"},
    {S(TRIGGER_PENDING), E(FILL), S(FILLED), "triggered and fully traded"},
    {S(TRIGGER_PENDING), E(CANCEL), S(CANCELLED), "cancelled before the trigger"},
    {S(TRIGGER_PENDING), E(REJECT), S(REJECTED), "rejected (e.g. band check at trigger)"},
    {S(TRIGGER_PENDING), E(EXPIRE), S(EXPIRED), "end of day without a trigger"},
    {S(TRIGGER_PENDING), E(MODIFY), S(TRIGGER_PENDING), "new qty / price / trigger confirmed"},

    {S(PARTIALLY_FILLED), E(PARTIAL_FILL), S(PARTIALLY_FILLED), "another part traded"},
    {S(PARTIALLY_FILLED), E(FILL), S(FILLED), "the rest traded"},
    {S(PARTIALLY_FILLED), E(CANCEL), S(CANCELLED), "rest cancelled; the fills are kept"},
    {S(PARTIALLY_FILLED), E(EXPIRE), S(EXPIRED), "rest expired (IOC, end of day); fills kept"},
    {S(PARTIALLY_FILLED), E(MODIFY), S(PARTIALLY_FILLED),
     "new terms confirmed; new qty stays above qty_filled"},
};

#define TABLE_ROWS (sizeof table / sizeof table[0])

const char *order_event_name(enum order_event ev)
{
    return (unsigned)ev < ORDER_EV_COUNT ? event_names[ev] : "?";
}

int order_event_parse(const char *text, enum order_event *out)
{
    if (!text)
        return ATP_EINVAL;
    for (int i = 0; i < ORDER_EV_COUNT; i++)
        if (strcasecmp(text, event_names[i]) == 0) {
            *out = (enum order_event)i;
            return ATP_OK;
        }
    return ATP_EINVAL;
}

size_t order_sm_table(const struct order_sm_row **rows)
{
    *rows = table;
    return TABLE_ROWS;
}

int order_sm_next(enum order_state from, enum order_event ev, enum order_state *to)
{
    for (size_t i = 0; i < TABLE_ROWS; i++)
        if (table[i].from == from && table[i].event == ev) {
            if (to)
                *to = table[i].to;
            return 1;
        }
    return 0;
}

/* The state an event leads to where it is legal: for the refusal message. */
static enum order_state nominal_target(enum order_state from, enum order_event ev)
{
    switch (ev) {
    case E(SUBMIT): return S(PENDING_SUBMIT);
    case E(ACK_OPEN): return S(OPEN);
    case E(ACK_TRIGGER_PENDING): return S(TRIGGER_PENDING);
    case E(TRIGGERED): return S(OPEN);
    case E(PARTIAL_FILL): return S(PARTIALLY_FILLED);
    case E(FILL): return S(FILLED);
    case E(CANCEL): return S(CANCELLED);
    case E(REJECT): return S(REJECTED);
    case E(EXPIRE): return S(EXPIRED);
    case E(MODIFY):
    case E(COUNT): break;
    }
    return from;
}

enum order_event order_sm_fill_event(const struct order *o, int64_t fill_qty)
{
    return fill_qty == order_qty_remaining(o) ? E(FILL) : E(PARTIAL_FILL);
}

static int has_trigger(const struct order *o)
{
    return o->req.type == ORDER_TYPE_SL || o->req.type == ORDER_TYPE_SL_M;
}

/* Guards of fills, applied to the copy *n. */
static int apply_fill(struct order *n, enum order_event ev, const struct order_sm_args *a,
                      struct atp_err *err)
{
    if (a->fill_qty <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "fill_qty", "fill qty must be > 0 (got %lld)",
                           (long long)a->fill_qty);
    if (a->fill_price <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "fill_price", "fill price must be > 0");
    int64_t remaining = order_qty_remaining(n);
    if (a->fill_qty > remaining)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "fill_qty",
                           "overfill: a fill of %lld with %lld of %lld already filled",
                           (long long)a->fill_qty, (long long)n->qty_filled,
                           (long long)n->req.qty);
    if (ev == E(PARTIAL_FILL) && a->fill_qty == remaining)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "fill_qty",
                           "a fill of %lld completes the order (%lld of %lld): FILL, not "
                           "PARTIAL_FILL",
                           (long long)a->fill_qty, (long long)n->req.qty, (long long)n->req.qty);
    if (ev == E(FILL) && a->fill_qty < remaining)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "fill_qty",
                           "a fill of %lld leaves %lld open: PARTIAL_FILL, not FILL",
                           (long long)a->fill_qty, (long long)(remaining - a->fill_qty));
    px_t amount, notional;
    if (px_mul_qty(a->fill_price, a->fill_qty, &amount) != ATP_OK ||
        px_add(n->filled_notional, amount, &notional) != ATP_OK)
        return atp_err_set(err, ATP_EOVERFLOW, NULL, 0, "fill_price",
                           "the filled notional would overflow");
    n->qty_filled += a->fill_qty;
    n->filled_notional = notional;
    n->avg_fill_price = order_avg_price(notional, n->qty_filled);
    n->fill_count++;
    return ATP_OK;
}

static int apply_modify(struct order *n, const struct order_sm_args *a, struct atp_err *err)
{
    struct order_request terms = n->req;
    terms.qty = a->new_qty;
    terms.limit_price = a->new_limit_price;
    terms.trigger_price = a->new_trigger_price;
    int rc = order_request_validate(&terms, err);
    if (rc != ATP_OK)
        return rc;
    if (terms.qty <= n->qty_filled)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "qty",
                           "new qty %lld must exceed qty_filled %lld (cancel instead)",
                           (long long)terms.qty, (long long)n->qty_filled);
    n->req = terms;
    n->modify_count++;
    return ATP_OK;
}

static int apply_broker_id(struct order *n, const char *id, struct atp_err *err)
{
    if (!id || !id[0])
        return ATP_OK;
    size_t len = strlen(id);
    if (len >= sizeof n->broker_order_id)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "broker_order_id",
                           "broker order id is longer than %d characters",
                           ORDER_BROKER_ID_MAX - 1);
    if (n->broker_order_id[0]) {
        if (strcmp(n->broker_order_id, id) != 0)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "broker_order_id",
                               "broker order id %s differs from the one held (%s)", id,
                               n->broker_order_id);
        return ATP_OK;
    }
    memcpy(n->broker_order_id, id, len + 1);
    return ATP_OK;
}

static int refuse(struct order_sm_stats *stats, const struct order *o, enum order_event ev,
                  int illegal, int rc)
{
    if (stats) {
        stats->refused++;
        if (illegal)
            stats->refused_illegal++;
        else
            stats->refused_guard++;
        stats->refused_by[o->state][ev]++;
    }
    return rc;
}

int order_sm_apply(struct order *o, enum order_event ev, const struct order_sm_args *args,
                   struct order_sm_stats *stats, struct atp_err *err)
{
    if (!o || !args)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "no order or no event arguments");
    if ((unsigned)ev >= ORDER_EV_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "event", "unknown event %d", (int)ev);
    if ((unsigned)o->state >= ORDER_STATE_COUNT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "state", "order %llu is in unknown state %d",
                           (unsigned long long)o->id, (int)o->state);

    enum order_state to;
    if (!order_sm_next(o->state, ev, &to)) {
        atp_err_set(err, ATP_ESTATE, NULL, 0, "event", "%s -> %s via %s is not a legal transition",
                    order_state_name(o->state), order_state_name(nominal_target(o->state, ev)),
                    order_event_name(ev));
        return refuse(stats, o, ev, 1, ATP_ESTATE);
    }

    struct order n = *o;
    int rc = ATP_OK;
    switch (ev) {
    case E(SUBMIT):
        if (!order_tag_valid(n.tag))
            rc = atp_err_set(err, ATP_EINVAL, NULL, 0, "tag",
                             "an order is submitted only with a valid unique tag");
        break;
    case E(ACK_TRIGGER_PENDING):
    case E(TRIGGERED):
        if (!has_trigger(&n))
            rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "type",
                             "a %s order has no trigger: %s refused",
                             order_type_name(n.req.type), order_event_name(ev));
        break;
    case E(PARTIAL_FILL):
    case E(FILL):
        rc = apply_fill(&n, ev, args, err);
        break;
    case E(MODIFY):
        rc = apply_modify(&n, args, err);
        break;
    case E(CANCEL):
    case E(REJECT):
    case E(EXPIRE):
        order_set_reason(&n, args->reason);
        break;
    case E(ACK_OPEN):
    case E(COUNT):
        break;
    }
    if (rc == ATP_OK)
        rc = apply_broker_id(&n, args->broker_order_id, err);
    if (rc != ATP_OK)
        return refuse(stats, o, ev, 0, rc);

    if (to != n.state) {
        n.state = to;
        order_history_push(&n, to, args->ts);
    }
    n.updated_ts = args->ts;
    assert(order_is_consistent(&n));
    *o = n;
    if (stats)
        stats->applied++;
    return ATP_OK;
}

/* ---- documentation output ------------------------------------------------------------------ */

int order_sm_write_markdown(FILE *f)
{
    fprintf(f, "| from \\ event |");
    for (int e = 0; e < ORDER_EV_COUNT; e++)
        fprintf(f, " %s |", event_names[e]);
    fprintf(f, "\n|---|");
    for (int e = 0; e < ORDER_EV_COUNT; e++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    for (int s = 0; s < ORDER_STATE_COUNT; s++) {
        fprintf(f, "| **%s** |", order_state_name((enum order_state)s));
        for (int e = 0; e < ORDER_EV_COUNT; e++) {
            enum order_state to;
            if (order_sm_next((enum order_state)s, (enum order_event)e, &to))
                fprintf(f, " %s |", order_state_name(to));
            else
                fprintf(f, " . |");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\n| from | event | to | why |\n|---|---|---|---|\n");
    for (size_t i = 0; i < TABLE_ROWS; i++)
        fprintf(f, "| %s | %s | %s | %s |\n", order_state_name(table[i].from),
                event_names[table[i].event], order_state_name(table[i].to), table[i].why);
    return ferror(f) ? ATP_EIO : ATP_OK;
}

int order_sm_write_dot(FILE *f)
{
    fprintf(f, "digraph order_sm {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        if (order_state_is_terminal((enum order_state)s))
            fprintf(f, "  %s [peripheries=2];\n", order_state_name((enum order_state)s));
    for (size_t i = 0; i < TABLE_ROWS; i++)
        fprintf(f, "  %s -> %s [label=\"%s\"];\n", order_state_name(table[i].from),
                order_state_name(table[i].to), event_names[table[i].event]);
    fprintf(f, "}\n");
    return ferror(f) ? ATP_EIO : ATP_OK;
}
