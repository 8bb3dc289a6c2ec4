/* atp/indicator.h: the indicator plug-in API (stable).
 *
 * An indicator is a streaming calculation over complete bars: O(1) work per bar, a fixed-size
 * state the host allocates (state_size bytes) and never moves except by copying. Because the
 * state is plain bytes, the host can compute the value a forming bar would give by copying the
 * state and updating the copy ("peek"), without a second code path in the indicator.
 *
 * Adding an indicator is one file defining a `const struct atp_indicator_def` plus one line in
 * the registry (src/md/indicators/registry.c). Values must match TA-Lib's for the same input once
 * past TA-Lib's lookback (1e-9 relative), following its conventions; indicators TA-Lib lacks
 * document their formula in docs/indicators.md.
 *
 * Floating point is allowed here (and only in indicators and statistics): prices arrive as
 * doubles converted from exact fixed point. */
#ifndef ATP_INDICATOR_H
#define ATP_INDICATOR_H

#include <stddef.h>
#include <stdint.h>

#define ATP_IND_MAX_PARAMS 4
#define ATP_IND_MAX_OUTPUTS 4

/* One complete bar as an indicator sees it. */
struct atp_bar_in {
    int64_t ts_ns;   /* bar start, UTC ns */
    int64_t session; /* trading-day number of the bar (changes when a new session starts) */
    double open, high, low, close, volume;
};

enum atp_param_type { ATP_PARAM_INT = 0, ATP_PARAM_DOUBLE = 1 };

struct atp_param_def {
    const char *name;        /* "period" */
    enum atp_param_type type;
    double def;              /* default value */
    double min, max;         /* inclusive bounds */
    const char *description;
};

struct atp_indicator_def {
    const char *name;        /* registry key, lower case: "rsi" */
    const char *description; /* one line for the catalog */
    int n_params;
    struct atp_param_def params[ATP_IND_MAX_PARAMS];
    int n_outputs;
    const char *outputs[ATP_IND_MAX_OUTPUTS]; /* column names: "value" or "macd","signal","hist" */

    /* Bytes of state for these (validated) parameters. */
    size_t (*state_size)(const double *params);
    /* Initialises zeroed state of state_size(params) bytes. Returns 0, or -1 if the parameters
     * are inconsistent in a way bounds cannot express (e.g. macd fast >= slow). */
    int (*init)(void *state, const double *params);
    /* Folds in one complete bar and writes n_outputs values to out (NAN for an output not yet
     * warmed up). Returns 1 when every output is valid, 0 while warming up. Must not allocate. */
    int (*update)(void *state, const struct atp_bar_in *bar, double *out);
    /* Bars consumed before the first valid output (TA-Lib's lookback for the same parameters). */
    int (*lookback)(const double *params);
};

#endif
