#include "md/params.h"

#include <ctype.h>
#include <math.h>

/* Parameter names compare ASCII case-insensitively. */
static int name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

int params_resolve(const char *owner, const struct atp_param_def *defs, int n_defs,
                   const struct ind_param *given, int n_given, double *params_out,
                   struct atp_err *err)
{
    int seen[PARAMS_MAX] = {0};

    if (!defs || n_defs < 0 || n_defs > PARAMS_MAX || !params_out || n_given < 0 ||
        (n_given > 0 && !given))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "bad arguments to params_resolve");
    for (int i = 0; i < n_defs; i++)
        params_out[i] = defs[i].def;

    for (int g = 0; g < n_given; g++) {
        const char *name = given[g].name;
        double v = given[g].value;
        int j = -1;
        if (!name)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "parameter without a name");
        for (int i = 0; i < n_defs; i++) {
            if (name_eq(defs[i].name, name)) {
                j = i;
                break;
            }
        }
        if (j < 0)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, name, "unknown parameter for %s",
                               owner);
        const struct atp_param_def *pd = &defs[j];
        if (seen[j])
            return atp_err_set(err, ATP_EINVAL, NULL, 0, pd->name, "given more than once");
        seen[j] = 1;
        if (!isfinite(v))
            return atp_err_set(err, ATP_EINVAL, NULL, 0, pd->name, "not a finite number");
        if (pd->type == ATP_PARAM_INT && v != floor(v))
            return atp_err_set(err, ATP_EINVAL, NULL, 0, pd->name, "must be an integer, got %.17g",
                               v);
        if (v < pd->min || v > pd->max)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, pd->name,
                               "%.17g is outside [%.17g, %.17g]", v, pd->min, pd->max);
        params_out[j] = v;
    }
    return ATP_OK;
}

