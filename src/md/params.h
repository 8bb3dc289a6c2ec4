/* md/params: named numeric parameters checked against a schema (struct atp_param_def): the one
 * place the rules live for indicator and strategy parameters alike. */
#ifndef ATP_MD_PARAMS_H
#define ATP_MD_PARAMS_H

#include "atp/indicator.h"
#include "core/err.h"

#define PARAMS_MAX 16 /* largest schema accepted */

/* A named parameter value, as given on a command line or in an API body. */
struct ind_param {
    const char *name;
    double value;
};

/* Fills params_out (n_defs values) with the defaults, overridden by the given named values.
 * Names compare case-insensitively. ATP_EINVAL with err->field = the parameter name for an
 * unknown name (the message names owner), a name given twice, a non-finite value, a non-integer
 * for an int parameter, or a value outside [min, max]. */
int params_resolve(const char *owner, const struct atp_param_def *defs, int n_defs,
                   const struct ind_param *given, int n_given, double *params_out,
                   struct atp_err *err);

#endif
