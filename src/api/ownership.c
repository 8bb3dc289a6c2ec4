/* api/ownership: see ownership.h. */
#include "api/ownership.h"

#include "api/hutil.h"
#include "store/store.h"

#include <string.h>

static const char *param_of(const struct api_param *params, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (params[i].name_len == len && !memcmp(params[i].name, name, len))
            return params[i].value;
    return NULL;
}

/* /accounts/{id}/...: {id} is the account. Whether it exists is api_account_relation's question. */
static int account_in_path(struct store *s, const struct api_param *params, int n_params, const json_t *body,
                           int64_t *account_id)
{
    (void)s;
    (void)body;
    *account_id = hutil_parse_id(param_of(params, n_params, "id"));
    return *account_id ? ATP_OK : ATP_ENOTFOUND;
}

/* A body's "account_id" (an integer, checked by the route's body schema before this runs). */
static int account_in_body(struct store *s, const struct api_param *params, int n_params, const json_t *body,
                           int64_t *account_id)
{
    (void)s;
    (void)params;
    (void)n_params;
    json_int_t v = json_integer_value(json_object_get(body, "account_id"));
    *account_id = v > 0 ? (int64_t)v : 0;
    return *account_id ? ATP_OK : ATP_ENOTFOUND;
}

/* /strategies/{id}/...: the strategy's account. */
static int account_of_strategy(struct store *s, const struct api_param *params, int n_params, const json_t *body,
                               int64_t *account_id)
{
    (void)body;
    int64_t id = hutil_parse_id(param_of(params, n_params, "id"));
    *account_id = 0;
    return id ? store_strategy_account(s, id, account_id, NULL) : ATP_ENOTFOUND;
}

const struct api_account_ref api_account_refs[] = {
    {"/api/v1/accounts/{id}", 0, 0, 0, account_in_path},
    {"/api/v1/strategies/{id}", 0, 0, 0, account_of_strategy},
    {"/api/v1/strategies", API_POST, 1, 1, account_in_body},
};
const size_t api_n_account_refs = sizeof api_account_refs / sizeof api_account_refs[0];

const struct api_account_ref *api_ownership_ref(const struct api_route *route)
{
    for (size_t i = 0; route && i < api_n_account_refs; i++) {
        const struct api_account_ref *r = &api_account_refs[i];
        size_t n = strlen(r->pattern);
        if (strncmp(route->pattern, r->pattern, n) != 0)
            continue;
        const char c = route->pattern[n];
        if (c && (r->exact || c != '/'))
            continue;
        if (r->methods && !(r->methods & route->method))
            continue;
        return r;
    }
    return NULL;
}

int api_account_relation(struct store *s, int64_t account_id, int64_t user_id, enum api_role role,
                         enum api_relation *rel)
{
    *rel = API_REL_STRANGER;
    if (!account_id || !s)
        return 0;
    int access = STORE_ACCESS_NONE;
    int rc = store_access_role(s, account_id, user_id, &access, NULL);
    if (rc == ATP_ENOTFOUND)
        return 0;
    if (rc != ATP_OK)
        return -1;
    if (access == STORE_ACCESS_OWNER)
        *rel = API_REL_OWNER;
    else if (access == STORE_ACCESS_TRADER || access == STORE_ACCESS_INVESTOR)
        *rel = API_REL_INVITED;
    else if (role == API_ROLE_ADMIN)
        *rel = API_REL_VISIBLE;
    return 0;
}

int api_ownership_resolve(struct store *s, const struct api_route *route, const struct api_param *params,
                          int n_params, const json_t *body, int64_t user_id, enum api_role role,
                          enum api_relation *rel)
{
    *rel = API_REL_NONE;
    const struct api_account_ref *ref = api_ownership_ref(route);
    if (!ref || role == API_ROLE_ANONYMOUS || user_id <= 0)
        return 0; /* no account, or the policy answers 401 */
    *rel = API_REL_STRANGER;
    if (!s)
        return 0;
    int64_t account_id = 0;
    int rc = ref->account_of(s, params, n_params, body, &account_id);
    if (rc == ATP_ENOTFOUND)
        return 0;
    if (rc != ATP_OK)
        return -1;
    return api_account_relation(s, account_id, user_id, role, rel);
}
