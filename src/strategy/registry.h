/* strategy/registry: the catalog of built-in strategies (one file each in strategy/builtin/). */
#ifndef ATP_STRATEGY_REGISTRY_H
#define ATP_STRATEGY_REGISTRY_H

#include <stddef.h>

#include "atp/strategy.h"
#include "core/err.h"
#include "md/indicator.h"

size_t strategy_catalog_count(void);
const struct atp_strategy_def *strategy_catalog_get(size_t i);
/* By name (case-insensitive); NULL when unknown. */
const struct atp_strategy_def *strategy_find(const char *name);

/* Fills params_out (def->n_params values) from defaults overridden by named values; the same
 * rules as indicator parameters (unknown name, non-integer int, out of bounds: ATP_EINVAL with
 * err->field = the parameter). */
int strategy_resolve_params(const struct atp_strategy_def *def, const struct ind_param *given,
                            int n_given, double *params_out, struct atp_err *err);

#endif
