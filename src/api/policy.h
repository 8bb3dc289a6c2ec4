/* api/policy: the ONE access-control table of the API. Every route (and later every WebSocket
 * channel) x role x ownership -> allow or deny, decided before the handler runs; handlers never
 * check access themselves. Immutable, readable from any thread.
 *
 * Ownership is the caller's relation to the resource a route addresses (the trading account of
 * /accounts/{id}/...), resolved by the server from the store before asking the policy: the
 * policy itself is pure (no I/O), so the authorization matrix test can enumerate it. */
#ifndef ATP_API_POLICY_H
#define ATP_API_POLICY_H

#include <stddef.h>

enum api_role { API_ROLE_ANONYMOUS = 0, API_ROLE_INVESTOR, API_ROLE_TRADER, API_ROLE_ADMIN };
#define API_N_ROLES 4

/* The caller's relation to the addressed resource. ROUTE-level (unscoped) routes use NONE. */
enum api_relation {
    API_REL_NONE = 0,  /* the route addresses no owned resource */
    API_REL_OWNER,     /* the caller owns it (the trader of the account; the user of /me) */
    API_REL_INVITED,   /* an investor with accepted access to it */
    API_REL_STRANGER,  /* exists, but not the caller's (or does not exist): 404 */
    API_REL_VISIBLE,   /* not the caller's, but the caller's role sees every one (an admin): 403 on
                        * what the rule does not allow, never 404 */
};

/* What one role may do on one route. */
enum api_rule {
    API_DENY = 0,      /* never */
    API_ALLOW,         /* always (for this role) */
    API_OWNER,         /* when the caller owns the resource */
    API_MEMBER,        /* when the caller owns it or was invited to it (read-only routes) */
};

struct api_policy_row {
    const char *route;                 /* api_route.name */
    enum api_rule rule[API_N_ROLES];   /* indexed by enum api_role */
};

/* The table (api/policy.c). */
extern const struct api_policy_row api_policy[];
extern const size_t api_n_policy;

enum api_decision {
    API_POLICY_ALLOW = 0,
    API_POLICY_UNAUTHENTICATED, /* 401: anonymous caller on a route that needs a login */
    API_POLICY_FORBIDDEN,       /* 403: logged in, may see the resource, may not do this */
    API_POLICY_HIDDEN,          /* 404: another tenant's resource; never reveal it exists */
};

/* Row of route name, or NULL. */
const struct api_policy_row *api_policy_find(const char *route);

/* Decides route x role x relation. A route without a row is denied (fail closed): anonymous ->
 * UNAUTHENTICATED, others -> FORBIDDEN. A STRANGER is HIDDEN whenever the rule depends on
 * ownership. An INVITED investor on an OWNER route is FORBIDDEN (it may see the resource). */
enum api_decision api_policy_decide(const char *route, enum api_role role, enum api_relation rel);

const char *api_role_name(enum api_role role);

#endif
