/* md/indicator: see indicator.h. The definitions live in src/md/indicators/ (one file each,
 * listed in registry.c); this file validates parameters and owns instance state. */
#include "md/indicator.h"

#include <assert.h>
#include <math.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "md/indicators/registry.h"

/* One heap block: the struct, then the state, then peek's scratch copy of the state, each
 * aligned for any type. */
struct ind {
    const struct atp_indicator_def *def;
    double params[ATP_IND_MAX_PARAMS];
    size_t state_size;
    unsigned char *state;   /* state_size bytes, inside this block */
    unsigned char *scratch; /* state_size bytes, inside this block */
};

size_t ind_catalog_count(void)
{
    return ind_registry_count;
}

const struct atp_indicator_def *ind_catalog_get(size_t i)
{
    return i < ind_registry_count ? ind_registry[i] : NULL;
}

/* ASCII case-insensitive equality (locale-independent, unlike strcasecmp). */
static int name_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb - 'A' + 'a');
        if (ca != cb)
            return 0;
        if (ca == '\0')
            return 1;
    }
}

const struct atp_indicator_def *ind_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ind_registry_count; i++)
        if (name_eq(ind_registry[i]->name, name))
            return ind_registry[i];
    return NULL;
}

int ind_resolve_params(const struct atp_indicator_def *def, const struct ind_param *given,
                       int n_given, double *params_out, struct atp_err *err)
{
    if (!def)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "bad arguments to ind_resolve_params");
    return params_resolve(def->name, def->params, def->n_params, given, n_given, params_out, err);
}

static size_t round_up(size_t n)
{
    size_t a = alignof(max_align_t);
    return (n + a - 1) / a * a;
}

int ind_new(const char *name, const struct ind_param *given, int n_given, struct ind **out,
            struct atp_err *err)
{
    double params[ATP_IND_MAX_PARAMS] = {0};
    const struct atp_indicator_def *def;
    int rc;

    if (!out)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL, "bad arguments to ind_new");
    *out = NULL;
    def = ind_find(name);
    if (!def)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "name", "unknown indicator '%s'",
                           name ? name : "(null)");
    rc = ind_resolve_params(def, given, n_given, params, err);
    if (rc != ATP_OK)
        return rc;

    size_t state_size = def->state_size(params);
    size_t hdr = round_up(sizeof(struct ind));
    size_t st = round_up(state_size ? state_size : 1);
    if (st > (SIZE_MAX - hdr) / 2)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "state of %s too large", def->name);
    unsigned char *block = atp_malloc(hdr + 2 * st);
    if (!block)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory for %s", def->name);

    struct ind *ind = (struct ind *)(void *)block;
    ind->def = def;
    memcpy(ind->params, params, sizeof params);
    ind->state_size = state_size;
    ind->state = block + hdr;
    ind->scratch = block + hdr + st;
    memset(ind->state, 0, state_size);
    if (def->init(ind->state, ind->params) != 0) {
        atp_free(block);
        return atp_err_set(err, ATP_EINVAL, NULL, 0, NULL,
                           "inconsistent parameters for %s (see its parameter descriptions)",
                           def->name);
    }
    *out = ind;
    return ATP_OK;
}

void ind_free(struct ind *ind)
{
    atp_free(ind);
}

const struct atp_indicator_def *ind_def(const struct ind *ind)
{
    return ind->def;
}

const double *ind_params(const struct ind *ind)
{
    return ind->params;
}

int ind_update(struct ind *ind, const struct atp_bar_in *bar, double *out)
{
    return ind->def->update(ind->state, bar, out);
}

int ind_peek(struct ind *ind, const struct atp_bar_in *bar, double *out)
{
    memcpy(ind->scratch, ind->state, ind->state_size);
    return ind->def->update(ind->scratch, bar, out);
}

void ind_reset(struct ind *ind)
{
    memset(ind->state, 0, ind->state_size);
    int rc = ind->def->init(ind->state, ind->params);
    assert(rc == 0); /* the same parameters were accepted by ind_new */
    (void)rc;
}
