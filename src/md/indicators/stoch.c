/* stoch: slow stochastic oscillator, as TA-Lib STOCH with fastk_period = k_period,
 * slowk_period = k_smooth (SMA) and slowd_period = d_period (SMA) (ta_STOCH.c):
 *   fast %K = (close - LL) / ((HH - LL) / 100), or 0 when HH == LL
 *             HH/LL = highest high / lowest low of the last k_period bars (this bar included)
 *   k       = SMA(k_smooth) of fast %K
 *   d       = SMA(d_period) of k
 * HH and LL come from monotonic deques (amortised O(1) per bar, no window scan). Both outputs
 * stay NAN until d exists, as TA-Lib emits k and d from the same bar. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "md/indicators/kit.h"

/* A monotonic deque over the last `cap` bars, stored in the state's double array as `cap`
 * (value, bar number) pairs; bar numbers are kept as doubles (exact below 2^53). For the max
 * deque values decrease from front to back, for the min deque they increase, so the front is
 * the window's extreme. */
struct stoch_deque {
    int32_t head; /* pair index of the front */
    int32_t len;
    int32_t off;  /* first double of this deque's pairs in stoch_state.buf */
};

struct stoch_state {
    int32_t k_period, k_smooth, d_period;
    int64_t count;          /* bars seen */
    struct stoch_deque hi;  /* max deque of highs */
    struct stoch_deque lo;  /* min deque of lows */
    struct indk_sma slow_k;
    struct indk_sma slow_d;
    int32_t k_ring_off;     /* k_smooth doubles: ring of slow_k */
    int32_t d_ring_off;     /* d_period doubles: ring of slow_d */
    double buf[];
};

static size_t stoch_buf_len(const double *params)
{
    return 4 * (size_t)indk_int(params[0]) + (size_t)indk_int(params[1]) +
           (size_t)indk_int(params[2]);
}

static size_t stoch_state_size(const double *params)
{
    return sizeof(struct stoch_state) + stoch_buf_len(params) * sizeof(double);
}

static int stoch_init(void *state, const double *params)
{
    struct stoch_state *s = state;
    s->k_period = indk_int(params[0]);
    s->k_smooth = indk_int(params[1]);
    s->d_period = indk_int(params[2]);
    s->hi.off = 0;
    s->lo.off = 2 * s->k_period;
    s->k_ring_off = 4 * s->k_period;
    s->d_ring_off = s->k_ring_off + s->k_smooth;
    indk_sma_init(&s->slow_k, s->k_smooth);
    indk_sma_init(&s->slow_d, s->d_period);
    return 0;
}

/* Folds bar number `bar_no` with value v into deque q (capacity cap) and returns the extreme
 * of the last cap bars. is_max selects the max deque: an older entry survives the new one only
 * when strictly greater (strictly smaller for the min deque). Each bar is pushed and popped at
 * most once, hence amortised O(1). */
static double stoch_deque_push(struct stoch_deque *q, double *buf, int32_t cap, int64_t bar_no,
                               double v, int is_max)
{
    double *pairs = buf + q->off;
    /* Drop the front when it has left the window [bar_no - cap + 1, bar_no]. */
    if (q->len > 0 && (int64_t)pairs[2 * q->head + 1] <= bar_no - cap) {
        q->head = q->head + 1 == cap ? 0 : q->head + 1;
        q->len--;
    }
    /* Drop entries from the back that can never be the extreme again. */
    while (q->len > 0) {
        int32_t back = (q->head + q->len - 1) % cap;
        double bv = pairs[2 * back];
        if (is_max ? bv > v : bv < v)
            break;
        q->len--;
    }
    int32_t slot = (q->head + q->len) % cap;
    pairs[2 * slot] = v;
    pairs[2 * slot + 1] = (double)bar_no;
    q->len++;
    return pairs[2 * q->head];
}

static int stoch_update(void *state, const struct atp_bar_in *bar, double *out)
{
    struct stoch_state *s = state;
    int64_t n = s->count++;
    double highest = stoch_deque_push(&s->hi, s->buf, s->k_period, n, bar->high, 1);
    double lowest = stoch_deque_push(&s->lo, s->buf, s->k_period, n, bar->low, 0);
    double slow_k, slow_d;
    out[0] = out[1] = NAN;
    if (n < s->k_period - 1)
        return 0;
    double diff = (highest - lowest) / 100.0;
    double fast_k = diff != 0.0 ? (bar->close - lowest) / diff : 0.0;
    if (!indk_sma_push(&s->slow_k, s->buf + s->k_ring_off, fast_k, &slow_k))
        return 0;
    if (!indk_sma_push(&s->slow_d, s->buf + s->d_ring_off, slow_k, &slow_d))
        return 0;
    out[0] = slow_k;
    out[1] = slow_d;
    return 1;
}

static int stoch_lookback(const double *params)
{
    return (indk_int(params[0]) - 1) + (indk_int(params[1]) - 1) + (indk_int(params[2]) - 1);
}

const struct atp_indicator_def atp_ind_stoch = {
    .name = "stoch",
    .description = "Slow stochastic %K/%D with SMA smoothing, 0..100 (TA-Lib STOCH)",
    .n_params = 3,
    .params = {
        {"k_period", ATP_PARAM_INT, 14, 1, 1000, "bars in the highest-high/lowest-low window"},
        {"k_smooth", ATP_PARAM_INT, 3, 1, 1000, "SMA period turning fast %K into k"},
        {"d_period", ATP_PARAM_INT, 3, 1, 1000, "SMA period of k giving d"},
    },
    .n_outputs = 2,
    .outputs = {"k", "d"},
    .state_size = stoch_state_size,
    .init = stoch_init,
    .update = stoch_update,
    .lookback = stoch_lookback,
};
