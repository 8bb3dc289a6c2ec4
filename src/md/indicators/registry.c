/* md/indicators/registry: the list of built-in indicators, in catalog order.
 * Adding an indicator = its file in this folder + one X(name) line below. */
#include "md/indicators/registry.h"

#define ATP_INDICATORS(X)                                                                         \
    X(sma)                                                                                        \
    X(ema)                                                                                        \
    X(wma)                                                                                        \
    X(rsi)                                                                                        \
    X(macd)                                                                                       \
    X(bbands)                                                                                     \
    X(atr)                                                                                        \
    X(stoch)                                                                                      \
    X(adx)                                                                                        \
    X(vwap)                                                                                       \
    X(supertrend)

#define IND_DECLARE(n) extern const struct atp_indicator_def atp_ind_##n;
ATP_INDICATORS(IND_DECLARE)
#undef IND_DECLARE

#define IND_ENTRY(n) &atp_ind_##n,
const struct atp_indicator_def *const ind_registry[] = {ATP_INDICATORS(IND_ENTRY)};
#undef IND_ENTRY

const size_t ind_registry_count = sizeof ind_registry / sizeof ind_registry[0];
