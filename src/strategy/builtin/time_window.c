/* time_window: the seeds' intraday strategy. Every trading day, per instrument: buy at the entry
 * time, sell at the exit time; a stop-loss is mandatory.
 *
 * Times are HHMM integers in IST (930 = 09:30). The strategy acts on the first event at or after
 * a time: a complete bar of the first timeframe (seen at its end: the 09:29-09:30 minute bar is
 * the 09:30 event), a tick, or its timer (set, once data showed the day is a trading day, at the
 * day's next entry or exit time, so a quiet instrument still enters and squares off on time).
 *   - entry: at or after entry_time and before exit_time, flat, no order open, not yet entered
 *     today -> ENTRY_LONG (short = 1: ENTRY_SHORT), sized by the risk configuration, with the
 *     protective stop at stop_loss_pct (and take_profit_pct when > 0); one entry per day, so a
 *     stop-out is not re-entered;
 *   - exit: at or after exit_time, or on a later day for a position still open (a missed
 *     square-off), the whole position is closed.
 * init fails ("stop-loss is mandatory") when stop_loss_pct is 0, and for times that are not
 * HHMM, an exit not after the entry, or a daily first timeframe. */
#include "strategy/builtin/common.h"

enum { P_ENTRY = 0, P_EXIT, P_STOP, P_TARGET, P_SHORT, P_COUNT };

struct time_window_state {
    int64_t entry_ns, exit_ns; /* since IST midnight */
    double stop_loss_pct, take_profit_pct;
    int allow_short;
    int64_t entered_day[BI_MAX_INST]; /* IST day of the last entry + 1; 0 = never */
};

static int check_hhmm(struct atp_ctx *ctx, const char *name, double v, int *minutes)
{
    *minutes = bi_hhmm_minutes((int)v);
    if (*minutes < 0) {
        atp_fail(ctx, "%s %d is not an HHMM time of day", name, (int)v);
        return -1;
    }
    return 0;
}

static int time_window_init(void *state, const double *params, struct atp_ctx *ctx)
{
    struct time_window_state *s = state;
    int entry, exit_;
    if (params[P_STOP] <= 0) {
        atp_fail(ctx, "stop-loss is mandatory: set stop_loss_pct > 0 (a fraction, 0.01 = 1%%)");
        return -1;
    }
    if (check_hhmm(ctx, "entry_time", params[P_ENTRY], &entry) ||
        check_hhmm(ctx, "exit_time", params[P_EXIT], &exit_))
        return -1;
    if (exit_ <= entry) {
        atp_fail(ctx, "exit_time %d must be after entry_time %d", (int)params[P_EXIT],
                 (int)params[P_ENTRY]);
        return -1;
    }
    if (atp_timeframe(ctx, 0) == ATP_TF_1D) {
        atp_fail(ctx, "time_window needs an intraday first timeframe (1m recommended), not 1d");
        return -1;
    }
    s->entry_ns = entry * BI_NS_PER_MIN;
    s->exit_ns = exit_ * BI_NS_PER_MIN;
    s->stop_loss_pct = params[P_STOP];
    s->take_profit_pct = params[P_TARGET];
    s->allow_short = params[P_SHORT] != 0;
    return 0;
}

/* Market time t for instrument index i. */
static void act(struct time_window_state *s, struct atp_ctx *ctx, int i, int64_t t)
{
    uint32_t in = atp_instrument(ctx, i);
    int64_t day = bi_ist_day(t), tod = bi_ist_time_of_day(t);
    if (atp_open_orders(ctx, in) > 0)
        return;
    struct atp_position pos;
    atp_position(ctx, in, &pos);
    if (pos.qty != 0) {
        if (tod >= s->exit_ns || s->entered_day[i] != day + 1)
            bi_market(ctx, in, pos.qty > 0 ? ATP_EXIT_LONG : ATP_EXIT_SHORT, 0,
                      tod >= s->exit_ns ? "time window: exit time"
                                        : "time window: position left from an earlier day");
        return;
    }
    if (tod >= s->entry_ns && tod < s->exit_ns && s->entered_day[i] != day + 1) {
        s->entered_day[i] = day + 1; /* also when denied: one attempt per day */
        struct atp_order_intent oi = {
            .instrument = in,
            .intent = s->allow_short ? ATP_ENTRY_SHORT : ATP_ENTRY_LONG,
            .kind = ATP_MARKET,
            .stop_loss_pct = s->stop_loss_pct,
            .take_profit_pct = s->take_profit_pct,
            .reason = "time window: entry time",
        };
        atp_order(ctx, &oi);
    }
}

/* After an event at t (a trading day, since data or a timer of that day arrived): the timer goes
 * to the day's next entry or exit time. */
static void schedule(struct time_window_state *s, struct atp_ctx *ctx, int64_t t)
{
    int64_t tod = bi_ist_time_of_day(t), midnight = t - tod;
    if (tod < s->entry_ns)
        atp_set_timer(ctx, midnight + s->entry_ns);
    else if (tod < s->exit_ns)
        atp_set_timer(ctx, midnight + s->exit_ns);
}

static int time_window_on_bar(void *state, struct atp_ctx *ctx, uint32_t instrument,
                              enum atp_tf tf, const struct atp_bar *bar)
{
    int i = bi_inst_index(ctx, instrument);
    if (i < 0 || !bi_primary_tf(ctx, tf))
        return 0;
    int64_t t = bi_bar_end(tf, bar->start_ns);
    act(state, ctx, i, t);
    schedule(state, ctx, t);
    return 0;
}

static int time_window_on_tick(void *state, struct atp_ctx *ctx, const struct atp_tick *tick)
{
    int i = bi_inst_index(ctx, tick->instrument);
    if (i < 0)
        return 0;
    act(state, ctx, i, tick->ts_ns);
    schedule(state, ctx, tick->ts_ns);
    return 0;
}

static int time_window_on_timer(void *state, struct atp_ctx *ctx, int64_t now_ns)
{
    for (int i = 0; i < atp_instrument_count(ctx); i++)
        act(state, ctx, i, now_ns);
    schedule(state, ctx, now_ns);
    return 0;
}

const struct atp_strategy_def atp_strategy_time_window = {
    .name = "time_window",
    .description = "Buy at a time of day, sell at a later time (IST), with a mandatory stop-loss",
    .n_params = P_COUNT,
    .params = {
        [P_ENTRY] = {"entry_time", ATP_PARAM_INT, 930, 915, 1529, "entry time, HHMM IST"},
        [P_EXIT] = {"exit_time", ATP_PARAM_INT, 1515, 916, 1530, "exit (square-off) time, HHMM IST"},
        [P_STOP] = {"stop_loss_pct", ATP_PARAM_DOUBLE, 0, 0, 0.5,
                    "protective stop as a fraction of the entry (0.01 = 1%); required > 0"},
        [P_TARGET] = {"take_profit_pct", ATP_PARAM_DOUBLE, 0, 0, 10,
                      "protective target as a fraction; 0 = the risk configuration's"},
        [P_SHORT] = {"short", ATP_PARAM_INT, 0, 0, 1, "1: sell short at the entry time instead"},
    },
    .state_size = sizeof(struct time_window_state),
    .init = time_window_init,
    .on_tick = time_window_on_tick,
    .on_bar = time_window_on_bar,
    .on_timer = time_window_on_timer,
};
