/* api/ownership: the caller's relation to the trading account a route addresses, resolved by the
 * server before the policy decides (api/policy.h). One table says, per route pattern, how the
 * addressed resource maps to its account: /accounts/{id}/... addresses account {id};
 * /strategies/{id}/... the account of strategy {id}; POST /strategies the body's account_id.
 * A new kind of account-owned resource adds a row here (and its lookup), never an access check in
 * its handler. Read-only table; any thread (each call uses the caller's store connection). */
#ifndef ATP_API_OWNERSHIP_H
#define ATP_API_OWNERSHIP_H

#include <jansson.h>
#include <stdint.h>

#include "api/policy.h"
#include "api/router.h"

struct store;

/* The account of the resource a request addresses: ATP_OK with *account_id set; ATP_ENOTFOUND
 * when there is none (an absent resource, a malformed id: the caller is then a STRANGER, 404);
 * another code when the store failed (500). body is the parsed body, or NULL. */
typedef int (*api_account_of_fn)(struct store *s, const struct api_param *params, int n_params, const json_t *body,
                                 int64_t *account_id);

struct api_account_ref {
    const char *pattern;            /* a route pattern: this one, and (unless exact) every one under it */
    unsigned methods;               /* enum api_method bits; 0: any */
    int exact;
    int needs_body;                 /* 1: account_of reads the body, so the server parses it first */
    api_account_of_fn account_of;
};

/* The table (ownership.c); the first matching row decides. */
extern const struct api_account_ref api_account_refs[];
extern const size_t api_n_account_refs;

/* The row of route, or NULL (the route addresses no account: relation NONE). */
const struct api_account_ref *api_ownership_ref(const struct api_route *route);

/* The caller's relation to account_id, from store_access_role: owner -> OWNER; a trader or
 * investor grant -> INVITED; none -> STRANGER, except for an admin, who sees every account ->
 * VISIBLE. An absent account is a STRANGER. 0, or -1 when the store failed. */
int api_account_relation(struct store *s, int64_t account_id, int64_t user_id, enum api_role role,
                         enum api_relation *rel);

/* The relation for a request to route: NONE for routes without a row and for anonymous callers
 * (the policy answers 401); otherwise the relation to the account the row maps the request to
 * (STRANGER when it maps to none). 0, or -1 when the store failed. */
int api_ownership_resolve(struct store *s, const struct api_route *route, const struct api_param *params,
                          int n_params, const json_t *body, int64_t user_id, enum api_role role,
                          enum api_relation *rel);

#endif
