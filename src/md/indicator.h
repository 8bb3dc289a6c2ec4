/* md/indicator: the indicator registry and instances. Wraps the plug-in definitions of
 * include/atp/indicator.h with parameter validation (by name, type and bounds) and a state the
 * instance owns. An instance is single-threaded; definitions are immutable and shared. */
#ifndef ATP_MD_INDICATOR_H
#define ATP_MD_INDICATOR_H

#include <stddef.h>

#include "atp/indicator.h"
#include "core/err.h"
#include "md/params.h"


/* The catalog, in registry order. */
size_t ind_catalog_count(void);
const struct atp_indicator_def *ind_catalog_get(size_t i);
/* Definition by name (case-insensitive); NULL when unknown. */
const struct atp_indicator_def *ind_find(const char *name);

/* Fills params_out (def->n_params values) from defaults overridden by the given named values.
 * ATP_EINVAL with err->field = parameter name for an unknown name, a non-integer for an int
 * parameter, or a value outside [min, max]. */
int ind_resolve_params(const struct atp_indicator_def *def, const struct ind_param *given,
                       int n_given, double *params_out, struct atp_err *err);

struct ind;

/* Creates an instance of the named indicator. ATP_ENOTFOUND (field "name") for an unknown
 * indicator, ATP_EINVAL for bad parameters, ATP_ENOMEM. The caller owns *out (ind_free). */
int ind_new(const char *name, const struct ind_param *given, int n_given, struct ind **out,
            struct atp_err *err);
void ind_free(struct ind *ind);

const struct atp_indicator_def *ind_def(const struct ind *ind);
const double *ind_params(const struct ind *ind);

/* Folds in a complete bar; out receives ind_def(ind)->n_outputs values. Returns 1 when valid. */
int ind_update(struct ind *ind, const struct atp_bar_in *bar, double *out);

/* Value the indicator would have if `bar` (typically the forming bar) were folded in next,
 * without changing the instance. Uses the instance's own scratch state; not reentrant. */
int ind_peek(struct ind *ind, const struct atp_bar_in *bar, double *out);

/* Back to the freshly-created state. */
void ind_reset(struct ind *ind);

#endif
