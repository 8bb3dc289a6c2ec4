#include "strategy/builtin/common.h"

#include <math.h>

#include "strategy/host.h"

_Static_assert(BI_MAX_INST == STRAT_MAX_INSTRUMENTS,
               "built-in per-instrument state must cover every instrument the host allows");

#define IST_OFFSET_NS (330LL * BI_NS_PER_MIN) /* +05:30 */

int bi_inst_index(const struct atp_ctx *ctx, uint32_t instrument)
{
    int n = atp_instrument_count(ctx);
    for (int i = 0; i < n && i < BI_MAX_INST; i++)
        if (atp_instrument(ctx, i) == instrument)
            return i;
    return -1;
}

int bi_primary_tf(const struct atp_ctx *ctx, enum atp_tf tf)
{
    return atp_timeframe_count(ctx) > 0 && atp_timeframe(ctx, 0) == tf;
}

int64_t bi_ist_day(int64_t t)
{
    /* Shift by the offset without overflowing at the edges of the int64 range. */
    int64_t d = t / BI_NS_PER_DAY, r = t % BI_NS_PER_DAY;
    if (r < 0) {
        r += BI_NS_PER_DAY;
        d--;
    }
    if (r >= BI_NS_PER_DAY - IST_OFFSET_NS)
        d++;
    return d;
}

int64_t bi_ist_time_of_day(int64_t t)
{
    int64_t r = t % BI_NS_PER_DAY;
    if (r < 0)
        r += BI_NS_PER_DAY;
    r += IST_OFFSET_NS;
    return r >= BI_NS_PER_DAY ? r - BI_NS_PER_DAY : r;
}

int64_t bi_ist_at(int64_t ist_day, int minute_of_day)
{
    return ist_day * BI_NS_PER_DAY - IST_OFFSET_NS + (int64_t)minute_of_day * BI_NS_PER_MIN;
}

int bi_hhmm_minutes(int hhmm)
{
    if (hhmm < 0 || hhmm / 100 > 23 || hhmm % 100 > 59)
        return -1;
    return hhmm / 100 * 60 + hhmm % 100;
}

int bi_tf_minutes(enum atp_tf tf)
{
    static const int minutes[] = {1, 3, 5, 15, 30, 60, BI_SESSION_CLOSE_MIN - BI_SESSION_OPEN_MIN};
    return (unsigned)tf < sizeof minutes / sizeof minutes[0] ? minutes[tf] : 1;
}

int64_t bi_bar_end(enum atp_tf tf, int64_t start_ns)
{
    int64_t close = bi_ist_at(bi_ist_day(start_ns), BI_SESSION_CLOSE_MIN);
    if (tf == ATP_TF_1D)
        return close;
    int64_t end = start_ns + (int64_t)bi_tf_minutes(tf) * BI_NS_PER_MIN;
    /* Cut at the close like the candle builder; data outside the session is not cut. */
    return start_ns < close && end > close ? close : end;
}

int bi_cross_update(struct bi_cross_state *c, double fast, double slow)
{
    double diff = fast - slow;
    if (fabs(diff) <= BI_CROSS_EQ_REL * fmax(fabs(fast), fabs(slow)))
        return BI_CROSS_NONE; /* equal: no cross, and the last unequal bar stays the reference */
    int side = diff > 0 ? 1 : -1;
    int prev = c->last_side;
    c->last_side = (int8_t)side;
    if (prev == -side)
        return side > 0 ? BI_CROSS_ABOVE : BI_CROSS_BELOW;
    return BI_CROSS_NONE;
}

void bi_follow_signal(struct bi_follow *f, int regime)
{
    if (f->known && f->regime == regime)
        return;
    f->known = 1;
    f->regime = (int8_t)regime;
    f->entry_armed = regime != 0;
}

uint64_t bi_market(struct atp_ctx *ctx, uint32_t instrument, enum atp_intent intent, int64_t qty,
                   const char *reason)
{
    struct atp_order_intent in = {
        .instrument = instrument,
        .intent = intent,
        .kind = ATP_MARKET,
        .qty = qty,
        .reason = reason,
    };
    return atp_order(ctx, &in);
}

void bi_follow_act(struct bi_follow *f, struct atp_ctx *ctx, uint32_t instrument,
                   const struct bi_follow_text *text)
{
    if (!f->known || atp_open_orders(ctx, instrument) > 0)
        return;
    struct atp_position pos;
    atp_position(ctx, instrument, &pos);
    if (pos.qty != 0) {
        int side = pos.qty > 0 ? 1 : -1;
        if (side == f->regime) {
            f->entry_armed = 0; /* already positioned with the signal */
            return;
        }
        bi_market(ctx, instrument, side > 0 ? ATP_EXIT_LONG : ATP_EXIT_SHORT, 0,
                  side > 0 ? text->exit_long : text->exit_short);
        /* Reverse at once only when the exit completed synchronously (a backtest broker may fill
         * a market order inside the call); otherwise the entry waits for a later bar. */
        if (atp_open_orders(ctx, instrument) > 0)
            return;
        atp_position(ctx, instrument, &pos);
        if (pos.qty != 0)
            return;
    }
    if (f->entry_armed && f->regime != 0) {
        f->entry_armed = 0;
        bi_market(ctx, instrument, f->regime > 0 ? ATP_ENTRY_LONG : ATP_ENTRY_SHORT, 0,
                  f->regime > 0 ? text->enter_long : text->enter_short);
    }
}

int bi_xover_init(struct bi_xover_state *s, const double *params, struct atp_ctx *ctx,
                  const char *indicator)
{
    if (params[BI_XOVER_FAST] >= params[BI_XOVER_SLOW]) {
        atp_fail(ctx, "fast (%g) must be below slow (%g)", params[BI_XOVER_FAST],
                 params[BI_XOVER_SLOW]);
        return -1;
    }
    s->allow_short = params[BI_XOVER_SHORT] != 0;
    enum atp_tf tf = atp_timeframe(ctx, 0);
    static const char *const names[] = {"period"};
    for (int i = 0; i < atp_instrument_count(ctx); i++) {
        uint32_t in = atp_instrument(ctx, i);
        s->inst[i].fast = atp_indicator(ctx, in, tf, indicator, names, &params[BI_XOVER_FAST], 1);
        s->inst[i].slow = atp_indicator(ctx, in, tf, indicator, names, &params[BI_XOVER_SLOW], 1);
        if (s->inst[i].fast < 0 || s->inst[i].slow < 0)
            return -1; /* atp_indicator recorded why */
    }
    return 0;
}

int bi_xover_on_bar(struct bi_xover_state *s, struct atp_ctx *ctx, uint32_t instrument,
                    enum atp_tf tf, const struct bi_follow_text *text)
{
    int i = bi_inst_index(ctx, instrument);
    if (i < 0 || !bi_primary_tf(ctx, tf))
        return 0;
    double fast, slow;
    if (!atp_indicator_value(ctx, s->inst[i].fast, 0, &fast) ||
        !atp_indicator_value(ctx, s->inst[i].slow, 0, &slow))
        return 0; /* warming up: not a bar where fast != slow is known */
    switch (bi_cross_update(&s->inst[i].cross, fast, slow)) {
    case BI_CROSS_ABOVE:
        bi_follow_signal(&s->inst[i].follow, 1);
        break;
    case BI_CROSS_BELOW:
        bi_follow_signal(&s->inst[i].follow, s->allow_short ? -1 : 0);
        break;
    default:
        break;
    }
    bi_follow_act(&s->inst[i].follow, ctx, instrument, text);
    return 0;
}
