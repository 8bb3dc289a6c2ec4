/* strategy/builtin/common: helpers shared by the built-in strategies (private to
 * src/strategy/builtin). Everything here works through the plug-in API (include/atp/strategy.h)
 * only, so a built-in stays a plug-in like any other.
 *
 *   - instrument index: a strategy keeps per-instrument state in a fixed array indexed by the
 *     instrument's position in its configuration (0 .. atp_instrument_count - 1);
 *   - time of day in IST: strategies get UTC nanoseconds from bars, ticks and timers; IST is a
 *     fixed +05:30 (no DST), so this is arithmetic;
 *   - the crossover rule (docs/strategies.md), implemented once for every crossover strategy;
 *   - the "regime follower": the order logic shared by the signal strategies (exit a position
 *     that goes against the current signal, enter once per signal when flat). */
#ifndef ATP_STRATEGY_BUILTIN_COMMON_H
#define ATP_STRATEGY_BUILTIN_COMMON_H

#include <stdint.h>

#include "atp/strategy.h"

/* Per-instrument state arrays are this long (static-asserted equal to STRAT_MAX_INSTRUMENTS). */
#define BI_MAX_INST 64

#define BI_NS_PER_MIN (60LL * 1000000000LL)
#define BI_NS_PER_DAY (1440LL * BI_NS_PER_MIN)
#define BI_SESSION_OPEN_MIN (9 * 60 + 15)  /* 09:15 IST */
#define BI_SESSION_CLOSE_MIN (15 * 60 + 30) /* 15:30 IST */

/* Position of instrument in the strategy's configuration, or -1 when it is not one of its own. */
int bi_inst_index(const struct atp_ctx *ctx, uint32_t instrument);

/* 1 when tf is the strategy's first timeframe (the one the built-ins trade on). */
int bi_primary_tf(const struct atp_ctx *ctx, enum atp_tf tf);

/* ---- time of day in IST ------------------------------------------------------------------- */

/* IST calendar day of t (days since 1970-01-01 in IST), floor semantics for any t. */
int64_t bi_ist_day(int64_t t);
/* Nanoseconds since IST midnight of t's IST day (0 .. BI_NS_PER_DAY - 1). */
int64_t bi_ist_time_of_day(int64_t t);
/* UTC timestamp of minute `minute_of_day` (minutes after IST midnight) on IST day ist_day. */
int64_t bi_ist_at(int64_t ist_day, int minute_of_day);
/* An HHMM integer (930 = 09:30) as minutes after midnight, or -1 when it is not a time of day
 * (negative, hour > 23, minute > 59). */
int bi_hhmm_minutes(int hhmm);
/* Length of a timeframe in minutes (1d: the 375-minute session). */
int bi_tf_minutes(enum atp_tf tf);
/* When a bar that started at start_ns ends: start + period, cut at 15:30 IST like the candle
 * builder cuts the day's last bar (1h 15:15-15:30); a daily bar ends at its day's 15:30 IST. This
 * is the market time at which the complete bar is seen. */
int64_t bi_bar_end(enum atp_tf tf, int64_t start_ns);

/* ---- the crossover rule -------------------------------------------------------------------- */

enum bi_cross { BI_CROSS_NONE = 0, BI_CROSS_ABOVE = 1, BI_CROSS_BELOW = -1 };

/* Remembers on which side fast was of slow on the last bar where they differed. */
struct bi_cross_state {
    int8_t last_side; /* +1 fast > slow, -1 fast < slow, 0 no such bar yet */
};

/* Feeds one bar's values (call it once per complete bar where both are valid). Fast crosses
 * above slow on this bar when fast > slow on it and, on the last earlier bar where fast != slow,
 * fast < slow; crossing below mirrors it. Bars where fast == slow neither produce a cross nor
 * change the remembered side, so they can neither fake nor hide one. Equality is taken within
 * 1e-10 relative (BI_CROSS_EQ_REL): the running sums of the moving averages leave round-off of
 * ~1e-14 on values that are equal in exact arithmetic, and 1e-10 of a price is far below any
 * tick. Returns an enum bi_cross. */
#define BI_CROSS_EQ_REL 1e-10
int bi_cross_update(struct bi_cross_state *c, double fast, double slow);

/* ---- the regime follower ------------------------------------------------------------------- */

/* What the signal says the position should be: +1 long, -1 short, 0 flat. */
struct bi_follow {
    int8_t regime;
    uint8_t known;       /* a signal has been seen (before that the follower touches nothing) */
    uint8_t entry_armed; /* the current regime's entry has not been sent yet */
};

/* Reasons carried by the intents (static strings). */
struct bi_follow_text {
    const char *enter_long, *enter_short, *exit_long, *exit_short;
};

/* A signal: the regime becomes `regime`. A change to a non-zero regime arms one entry; the same
 * regime again changes nothing (so a level strategy can call it on every bar above its level). */
void bi_follow_signal(struct bi_follow *f, int regime);

/* Acts on the instrument's position, on every complete bar after the signal update:
 *   - with an order of the strategy still open on the instrument, waits (no duplicates);
 *   - a long when the regime is not +1 is exited (EXIT_LONG, whole position), a short when it is
 *     not -1 likewise; when the exit leaves the strategy flat at once the entry below may follow
 *     in the same call (a stop-and-reverse);
 *   - flat with an armed entry: enters in the regime's direction (qty 0 = the sizing rule, and
 *     protective exits from the risk configuration) and disarms, so one signal gives at most one
 *     entry (a protective stop-out does not re-enter until the next signal);
 *   - already positioned with the regime: disarms.
 * A denied order is not an error (the entry is dropped; an exit is retried on the next bar). */
void bi_follow_act(struct bi_follow *f, struct atp_ctx *ctx, uint32_t instrument,
                   const struct bi_follow_text *text);

/* ---- moving-average crossover (sma_crossover, ema_crossover) ----------------------------- */

/* Parameters, in this order, of both crossover strategies. */
enum { BI_XOVER_FAST = 0, BI_XOVER_SLOW, BI_XOVER_SHORT, BI_XOVER_NPARAMS };

struct bi_xover_state {
    int allow_short;
    struct {
        int fast, slow; /* indicator handles */
        struct bi_cross_state cross;
        struct bi_follow follow;
    } inst[BI_MAX_INST];
};

/* Requests `indicator` (sma or ema) with the fast and slow periods on the first timeframe of every
 * instrument. Fails (atp_fail, -1) when fast >= slow. */
int bi_xover_init(struct bi_xover_state *s, const double *params, struct atp_ctx *ctx,
                  const char *indicator);
/* On a complete bar of the first timeframe: cross above -> regime long; cross below -> regime
 * short (short = 1) or flat; then the follower acts. */
int bi_xover_on_bar(struct bi_xover_state *s, struct atp_ctx *ctx, uint32_t instrument,
                    enum atp_tf tf, const struct bi_follow_text *text);

/* Emits a market intent with protective fractions left to the risk configuration unless given.
 * Returns atp_order's result. */
uint64_t bi_market(struct atp_ctx *ctx, uint32_t instrument, enum atp_intent intent, int64_t qty,
                   const char *reason);

#endif
