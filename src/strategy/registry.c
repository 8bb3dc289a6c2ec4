#include "strategy/registry.h"

#include <strings.h>

/* One line per strategy. */
#define STRATEGIES(X)                                                                              \
    X(sma_crossover)                                                                               \
    X(ema_crossover)                                                                               \
    X(rsi_reversion)                                                                               \
    X(bollinger_breakout)                                                                          \
    X(supertrend_follow)                                                                           \
    X(time_window)                                                                                 \
    X(opening_range_breakout)                                                                      \
    X(grid)                                                                                        \
    X(dca)

#define DECLARE(name) extern const struct atp_strategy_def atp_strategy_##name;
STRATEGIES(DECLARE)
#define ENTRY(name) &atp_strategy_##name,
static const struct atp_strategy_def *const catalog[] = {STRATEGIES(ENTRY)};

size_t strategy_catalog_count(void)
{
    return sizeof catalog / sizeof catalog[0];
}

const struct atp_strategy_def *strategy_catalog_get(size_t i)
{
    return i < strategy_catalog_count() ? catalog[i] : NULL;
}

const struct atp_strategy_def *strategy_find(const char *name)
{
    for (size_t i = 0; i < strategy_catalog_count(); i++)
        if (strcasecmp(catalog[i]->name, name) == 0)
            return catalog[i];
    return NULL;
}

int strategy_resolve_params(const struct atp_strategy_def *def, const struct ind_param *given,
                            int n_given, double *params_out, struct atp_err *err)
{
    return params_resolve(def->name, def->params, def->n_params, given, n_given, params_out, err);
}
