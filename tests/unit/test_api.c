/* api: the route table and the policy table agree; router matching, policy decisions, request
 * parsing (query, request id, JSON body schema), the token-bucket rate limit, OpenAPI output. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "api/h_accounts.h"
#include "api/http.h"
#include "api/json_err.h"
#include "api/ownership.h"
#include "api/policy.h"
#include "api/ws_msg.h"
#include "api/ratelimit.h"
#include "api/request.h"
#include "api/router.h"
#include "core/alloc.h"

/* The start of the authorization matrix: every route has exactly one policy row, every
 * policy row names a route, patterns are well-formed and no (method, pattern) appears twice. */
Test(api_tables, every_route_has_one_policy_row_and_back)
{
    cr_assert_gt(api_n_routes, 0);
    for (size_t i = 0; i < api_n_routes; i++) {
        const struct api_route *r = &api_routes[i];
        cr_assert(api_policy_find(r->name), "route %s %s (%s) has no policy row",
                  api_method_name(r->method), r->pattern, r->name);
        cr_assert(api_pattern_valid(r->pattern), "bad pattern %s", r->pattern);
        cr_assert(r->handler, "%s has no handler", r->name);
        cr_assert_str_neq(api_method_name(r->method), "?", "%s: one method bit", r->name);
        for (size_t j = i + 1; j < api_n_routes; j++) {
            cr_assert(!(r->method == api_routes[j].method && strcmp(r->pattern, api_routes[j].pattern) == 0),
                      "duplicate route %s", r->pattern);
            cr_assert_str_neq(r->name, api_routes[j].name, "duplicate route name");
        }
    }
    for (size_t p = 0; p < api_n_policy; p++) {
        int found = 0, dup = 0;
        for (size_t i = 0; i < api_n_routes; i++)
            found |= strcmp(api_policy[p].route, api_routes[i].name) == 0;
        /* WebSocket channels have rows too ("ws.<channel>"), checked both ways below. */
        for (size_t c = 0; c < ws_n_channels; c++)
            found |= strcmp(api_policy[p].route, ws_channels[c].policy) == 0;
        for (size_t q = p + 1; q < api_n_policy; q++)
            dup |= strcmp(api_policy[p].route, api_policy[q].route) == 0;
        cr_assert(found, "policy row %s names no route", api_policy[p].route);
        cr_assert(!dup, "policy row %s appears twice", api_policy[p].route);
    }
}

/* The matrix for today's routes: route x role x relation -> decision. */
Test(api_tables, authorization_matrix_of_system_routes)
{
    static const char *const public_routes[] = {"health",       "metrics",      "openapi",    "docs",
                                                 "auth.register", "auth.login",  "auth.refresh", "auth.logout"};
    for (size_t i = 0; i < sizeof public_routes / sizeof public_routes[0]; i++)
        for (int role = 0; role < API_N_ROLES; role++)
            cr_assert_eq(api_policy_decide(public_routes[i], (enum api_role)role, API_REL_NONE),
                         API_POLICY_ALLOW, "%s as %s", public_routes[i], api_role_name((enum api_role)role));
}

/* /me: any logged-in role, never anonymous. */
/* /me and the caller's own password and second factor: any logged-in role, never anonymous. The
 * handlers act on req->user_id only, so there is no other user's resource to address. */
Test(api_tables, authorization_matrix_of_me)
{
    static const char *const own[] = {"me", "me.password", "me.totp.enrol", "me.totp.verify", "me.totp.disable"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        cr_assert_eq(api_policy_decide(own[i], API_ROLE_ANONYMOUS, API_REL_NONE), API_POLICY_UNAUTHENTICATED,
                     "%s as anonymous", own[i]);
        for (int role = API_ROLE_INVESTOR; role < API_N_ROLES; role++)
            cr_assert_eq(api_policy_decide(own[i], (enum api_role)role, API_REL_NONE), API_POLICY_ALLOW, "%s as %s",
                         own[i], api_role_name((enum api_role)role));
    }
}

/* Accounts: route x role x relation. A = allow, U = 401, F = 403, H = 404 (hidden). Relations in
 * order NONE, OWNER, INVITED, STRANGER, VISIBLE; columns anonymous, investor, trader, admin. The
 * server never hands an account route NONE for a logged-in caller (api_ownership_resolve), but the
 * rows are still total. */
struct matrix_row {
    const char *route;
    const char *want[5]; /* per relation: 4 letters, one per role */
};

Test(api_tables, authorization_matrix_of_accounts)
{
    static const struct matrix_row rows[] = {
        /*                                NONE    OWNER   INVITED STRANGER VISIBLE */
        {"accounts.list", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"accounts.create", {"UFAA", "UFAA", "UFAA", "UHAA", "UFAA"}},
        {"accounts.get", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"accounts.update", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"accounts.invitations.create", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"accounts.invitations.list", {"UFFA", "UFAA", "UFFA", "UHHA", "UFFA"}},
        {"accounts.invitations.revoke", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"accounts.access.list", {"UFFA", "UFAA", "UFFA", "UHHA", "UFFA"}},
        {"accounts.access.revoke", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"accounts.brokers.create", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"accounts.brokers.list", {"UFFA", "UFAA", "UFFA", "UHHA", "UFFA"}},
        {"accounts.brokers.delete", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"invitations.mine", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"invitations.accept", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"invitations.reject", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
    };
    static const enum api_relation rels[] = {API_REL_NONE, API_REL_OWNER, API_REL_INVITED, API_REL_STRANGER,
                                             API_REL_VISIBLE};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cr_assert_not_null(api_policy_find(rows[i].route), "%s has a policy row", rows[i].route);
        for (size_t r = 0; r < 5; r++)
            for (int role = 0; role < API_N_ROLES; role++) {
                enum api_decision d = api_policy_decide(rows[i].route, (enum api_role)role, rels[r]);
                char got = d == API_POLICY_ALLOW ? 'A' : d == API_POLICY_UNAUTHENTICATED ? 'U'
                           : d == API_POLICY_FORBIDDEN ? 'F' : 'H';
                cr_assert_eq(got, rows[i].want[r][role], "%s as %s, relation %zu: got %c want %c",
                             rows[i].route, api_role_name((enum api_role)role), r, got, rows[i].want[r][role]);
            }
    }
}

/* Checks rows (route x role x relation, as in the accounts matrix) against api_policy_decide. */
static void check_matrix(const struct matrix_row *rows, size_t n)
{
    static const enum api_relation rels[] = {API_REL_NONE, API_REL_OWNER, API_REL_INVITED, API_REL_STRANGER,
                                             API_REL_VISIBLE};
    for (size_t i = 0; i < n; i++) {
        cr_assert_not_null(api_policy_find(rows[i].route), "%s has a policy row", rows[i].route);
        for (size_t r = 0; r < 5; r++)
            for (int role = 0; role < API_N_ROLES; role++) {
                enum api_decision d = api_policy_decide(rows[i].route, (enum api_role)role, rels[r]);
                char got = d == API_POLICY_ALLOW ? 'A' : d == API_POLICY_UNAUTHENTICATED ? 'U'
                           : d == API_POLICY_FORBIDDEN ? 'F' : 'H';
                cr_assert_eq(got, rows[i].want[r][role], "%s as %s, relation %zu: got %c want %c",
                             rows[i].route, api_role_name((enum api_role)role), r, got, rows[i].want[r][role]);
            }
    }
}

/* Administration: admins only; a trader or investor gets 403, anonymous 401. These routes address
 * no account, so the server hands them NONE; the other relations are listed for totality. */
Test(api_tables, authorization_matrix_of_admin)
{
    static const struct matrix_row rows[] = {
        /*                       NONE    OWNER   INVITED STRANGER VISIBLE */
        {"admin.users.list", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.users.get", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.users.update", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.users.unlock", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.audit", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.status", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.market.status", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.market.pause", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.market.resume", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.market.speed", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.market.start", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.market.stop", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.market.seek", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
    };
    check_matrix(rows, sizeof rows / sizeof rows[0]);
    /* And the server resolves no ownership for them. */
    for (size_t i = 0; i < api_n_routes; i++)
        if (!strncmp(api_routes[i].name, "admin.", 6))
            cr_assert(strncmp(api_routes[i].pattern, "/api/v1/admin/", 14) == 0, "%s", api_routes[i].name);
}

/* WebSocket channels (decided at subscribe with the relation to the subscribed account_id, as
 * the /accounts/{id} routes are): every channel has its row, named ws.<channel>; account channels
 * are read like accounts.get (owner and invited hear, another tenant's account is hidden, an admin
 * hears any), notifications and market data any logged-in role, system admins only. */
Test(api_tables, authorization_matrix_of_websocket_channels)
{
    for (size_t c = 0; c < ws_n_channels; c++) {
        char want[48];
        snprintf(want, sizeof want, "ws.%s", ws_channels[c].name);
        cr_assert_str_eq(ws_channels[c].policy, want);
        cr_assert_not_null(api_policy_find(ws_channels[c].policy), "channel %s has no policy row", ws_channels[c].name);
    }
    static const struct matrix_row rows[] = {
        /*                      NONE    OWNER   INVITED STRANGER VISIBLE */
        {"ws.market", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"ws.chart", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"ws.orders", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"ws.positions", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"ws.trades", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"ws.strategies", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"ws.dashboard", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"ws.notifications", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"ws.system", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
    };
    check_matrix(rows, sizeof rows / sizeof rows[0]);
}

/* Notifications: the caller's own, any logged-in role; anonymous 401. */
Test(api_tables, authorization_matrix_of_notifications)
{
    static const struct matrix_row rows[] = {
        /*                            NONE    OWNER   INVITED STRANGER VISIBLE */
        {"notifications.list", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"notifications.read", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"notifications.read_all", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"notifications.prefs.get", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"notifications.prefs.set", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
    };
    check_matrix(rows, sizeof rows / sizeof rows[0]);
}

/* Market data: shared by every logged-in role, whatever the relation; anonymous 401. */
Test(api_tables, authorization_matrix_of_market_data)
{
    static const struct matrix_row rows[] = {
        /*                           NONE    OWNER   INVITED STRANGER VISIBLE */
        {"instruments.search", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"market.candles", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"market.quote", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"indicators.list", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"indicators.calculate", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
    };
    check_matrix(rows, sizeof rows / sizeof rows[0]);
    /* And the server resolves no ownership for them. */
    for (size_t i = 0; i < api_n_routes; i++)
        if (!strcmp(api_routes[i].tag, "market"))
            cr_assert(strncmp(api_routes[i].pattern, "/api/v1/accounts/", 17) != 0, "%s", api_routes[i].name);
}

/* The ownership resolution applies to every /api/v1/accounts/{id} route, every
 * /api/v1/strategies/{id} route and POST /api/v1/strategies, and to nothing else; an anonymous
 * caller gets NONE (401 from the policy), a logged-in one STRANGER without a store. */
Test(api_tables, ownership_resolution_covers_account_routes)
{
    struct api_param params[1];
    memset(params, 0, sizeof params);
    params[0].name = "id";
    params[0].name_len = 2;
    snprintf(params[0].value, sizeof params[0].value, "7");
    json_t *body = json_pack("{s:i}", "account_id", 7);
    int n_scoped = 0;
    for (size_t i = 0; i < api_n_routes; i++) {
        const struct api_route *r = &api_routes[i];
        enum api_relation rel = API_REL_OWNER;
        cr_assert_eq(api_ownership_resolve(NULL, r, params, 1, body, 5, API_ROLE_TRADER, &rel), 0);
        int scoped = strncmp(r->pattern, "/api/v1/accounts/{id}", 21) == 0 ||
                     strncmp(r->pattern, "/api/v1/strategies/{id}", 23) == 0 ||
                     (r->method == API_POST && strcmp(r->pattern, "/api/v1/strategies") == 0);
        n_scoped += scoped;
        cr_assert_eq(rel, scoped ? API_REL_STRANGER : API_REL_NONE, "%s", r->name);
        cr_assert_eq(api_ownership_resolve(NULL, r, params, 1, body, 0, API_ROLE_ANONYMOUS, &rel), 0);
        cr_assert_eq(rel, API_REL_NONE, "%s anonymous", r->name);
        /* A route whose account is in its body declares that body. */
        const struct api_account_ref *ref = api_ownership_ref(r);
        if (ref && ref->needs_body)
            cr_assert_not_null(r->body, "%s", r->name);
    }
    cr_assert_geq(n_scoped, 10 + 7, "the account and strategy routes");
    /* Without an id: a stranger (404), never the caller's. */
    params[0].value[0] = 'x';
    enum api_relation rel = API_REL_OWNER;
    for (size_t i = 0; i < api_n_routes; i++)
        if (!strcmp(api_routes[i].name, "strategies.get")) {
            cr_assert_eq(api_ownership_resolve(NULL, &api_routes[i], params, 1, NULL, 5, API_ROLE_TRADER, &rel), 0);
            cr_assert_eq(rel, API_REL_STRANGER);
        }
    json_decref(body);
}

/* Paper trading and signals: as strategies, the owner acts, invited users and admins read, a
 * stranger gets 404; a signal is any trader's or admin's (each account in it is checked against
 * the ownership table by the handler: only the caller's own are traded). */
Test(api_tables, authorization_matrix_of_trading)
{
    static const struct matrix_row rows[] = {
        /*                                    NONE    OWNER   INVITED STRANGER VISIBLE */
        {"orders.place", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"orders.list", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"orders.cancel", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"positions.close", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"funds.get", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"kill_switch.set", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"admin.kill_switch.set", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"signals.execute", {"UFAA", "UFAA", "UFAA", "UHAA", "UFAA"}},
        {"analytics.summary", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"analytics.equity", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"analytics.trades", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
    };
    check_matrix(rows, sizeof rows / sizeof rows[0]);
}

/* Strategies and risk limits: the owner acts; invited users read; an admin reads every account's
 * and acts on its own only (VISIBLE: 403 on writes); a stranger gets 404; anonymous 401. */
Test(api_tables, authorization_matrix_of_strategies)
{
    static const struct matrix_row rows[] = {
        /*                                    NONE    OWNER   INVITED STRANGER VISIBLE */
        {"strategy_types", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"strategies.list", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"strategies.create", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"strategies.get", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"strategies.update", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"strategies.delete", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"strategies.start", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"strategies.stop", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"strategies.pause", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"strategies.resume", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"accounts.risk_limits.get", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"accounts.risk_limits.set", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"accounts.risk_limits.acknowledge", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
        {"admin.strategy_limits.get", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
        {"admin.strategy_limits.set", {"UFFA", "UFFA", "UFFA", "UHHA", "UFFA"}},
    };
    check_matrix(rows, sizeof rows / sizeof rows[0]);
}

Test(api_policy, rules_fail_closed_and_hide_other_tenants)
{
    cr_assert_eq(api_policy_decide("no.such.route", API_ROLE_ANONYMOUS, API_REL_NONE),
                 API_POLICY_UNAUTHENTICATED);
    cr_assert_eq(api_policy_decide("no.such.route", API_ROLE_ADMIN, API_REL_NONE), API_POLICY_FORBIDDEN);
    cr_assert_eq(api_policy_decide("health", (enum api_role)9, API_REL_NONE), API_POLICY_FORBIDDEN);
}

struct match_case {
    const char *method, *path;
    enum api_match want;
    const char *route;     /* expected route name on OK */
    const char *allow;     /* expected Allow on BAD_METHOD */
};

Test(api_router, table_driven_matching)
{
    static const struct api_route routes[] = {
        {API_GET, "/health", "health", NULL, NULL, NULL, NULL, NULL},
        {API_GET, "/api/v1/accounts", "accounts.list", NULL, NULL, NULL, NULL, NULL},
        {API_POST, "/api/v1/accounts", "accounts.create", NULL, NULL, NULL, NULL, NULL},
        {API_GET, "/api/v1/accounts/{id}", "accounts.get", NULL, NULL, NULL, NULL, NULL},
        {API_PATCH, "/api/v1/accounts/{id}", "accounts.update", NULL, NULL, NULL, NULL, NULL},
        {API_GET, "/api/v1/accounts/mine", "accounts.mine", NULL, NULL, NULL, NULL, NULL},
        {API_DELETE, "/api/v1/accounts/{id}/access/{user_id}", "access.revoke", NULL, NULL, NULL, NULL, NULL},
    };
    static const struct match_case cases[] = {
        {"GET", "/health", API_MATCH_OK, "health", NULL},
        {"HEAD", "/health", API_MATCH_OK, "health", NULL},
        {"POST", "/health", API_MATCH_BAD_METHOD, NULL, "GET, HEAD"},
        {"GET", "/health/", API_MATCH_NOT_FOUND, NULL, NULL},
        {"GET", "/healthz", API_MATCH_NOT_FOUND, NULL, NULL},
        {"GET", "/", API_MATCH_NOT_FOUND, NULL, NULL},
        {"GET", "", API_MATCH_NOT_FOUND, NULL, NULL},
        {"POST", "/api/v1/accounts", API_MATCH_OK, "accounts.create", NULL},
        {"DELETE", "/api/v1/accounts", API_MATCH_BAD_METHOD, NULL, "GET, HEAD, POST"},
        {"GET", "/api/v1/accounts/7", API_MATCH_OK, "accounts.get", NULL},
        {"GET", "/api/v1/accounts/mine", API_MATCH_OK, "accounts.mine", NULL},
        {"PATCH", "/api/v1/accounts/mine", API_MATCH_OK, "accounts.update", NULL},
        {"GET", "/api/v1/accounts//", API_MATCH_NOT_FOUND, NULL, NULL},
        {"DELETE", "/api/v1/accounts/7/access/9", API_MATCH_OK, "access.revoke", NULL},
        {"GET", "/api/v1/accounts/7/access/9", API_MATCH_BAD_METHOD, NULL, "DELETE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct match_case *c = &cases[i];
        const struct api_route *r;
        struct api_param params[API_MAX_PARAMS];
        int n = 0;
        unsigned allowed;
        enum api_match m = api_route_match(routes, sizeof routes / sizeof routes[0],
                                           api_method_parse(c->method), c->path, &r, params, &n, &allowed);
        cr_assert_eq(m, c->want, "%s %s: got %d", c->method, c->path, m);
        if (c->route)
            cr_assert_str_eq(r->name, c->route, "%s %s", c->method, c->path);
        if (c->allow) {
            char buf[64];
            cr_assert_str_eq(api_method_list(allowed, buf, sizeof buf), c->allow, "%s %s", c->method, c->path);
        }
    }
    /* Parameters by name. */
    const struct api_route *r;
    struct api_request req = {0};
    unsigned allowed;
    cr_assert_eq(api_route_match(routes, 7, API_DELETE, "/api/v1/accounts/a%20b/access/42", &r, req.params,
                                 &req.n_params, &allowed), API_MATCH_OK);
    cr_assert_str_eq(api_param(&req, "id"), "a%20b");
    cr_assert_str_eq(api_param(&req, "user_id"), "42");
    cr_assert_null(api_param(&req, "nope"));
    /* An over-long parameter value is not found, never truncated. */
    char path[400] = "/api/v1/accounts/";
    memset(path + strlen(path), '9', 200);
    cr_assert_eq(api_route_match(routes, 7, API_GET, path, &r, req.params, &req.n_params, &allowed),
                 API_MATCH_NOT_FOUND);
}

Test(api_router, patterns)
{
    cr_assert(api_pattern_valid("/"));
    cr_assert(api_pattern_valid("/api/v1/accounts/{id}/access/{user_id}"));
    cr_assert(!api_pattern_valid("api"));
    cr_assert(!api_pattern_valid("/a//b"));
    cr_assert(!api_pattern_valid("/a/{}"));
    cr_assert(!api_pattern_valid("/a/{Id}"));
    cr_assert(!api_pattern_valid("/a/x{id}"));
    cr_assert(!api_pattern_valid("/{a}/{b}/{c}/{d}/{e}"));
}

static const struct api_field login_fields[] = {
    {"email", API_FT_STRING, 1, 10, NULL},
    {"remember", API_FT_BOOL, 0, 0, NULL},
    {"n", API_FT_INT, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

struct body_case {
    const char *body;
    int want;          /* ATP_OK or an error code */
    const char *field; /* expected err.field */
};

Test(api_request, body_schema_names_the_field)
{
    static const struct body_case cases[] = {
        {"{\"email\":\"a@b\"}", ATP_OK, ""},
        {"{\"email\":\"a@b\",\"remember\":true,\"n\":3}", ATP_OK, ""},
        {"{\"email\":\"a@b\",\"remember\":null}", ATP_OK, ""},
        {"", ATP_EPARSE, "body"},
        {"{", ATP_EPARSE, "body"},
        {"[1]", ATP_EPARSE, "body"},
        {"\"x\"", ATP_EPARSE, "body"},
        {"{\"email\":\"a@b\"} trailing", ATP_EPARSE, "body"},
        {"{\"email\":\"a\",\"email\":\"b\"}", ATP_EPARSE, "body"},
        {"{}", ATP_EINVAL, "email"},
        {"{\"email\":1}", ATP_EINVAL, "email"},
        {"{\"email\":\"0123456789x\"}", ATP_ERANGE, "email"},
        {"{\"email\":\"a\\u0000b\"}", ATP_EPARSE, "body"}, /* jansson refuses NUL */
        {"{\"email\":\"a\",\"remember\":\"yes\"}", ATP_EINVAL, "remember"},
        {"{\"email\":\"a\",\"n\":1.5}", ATP_EINVAL, "n"},
        {"{\"email\":\"a\",\"role\":\"admin\"}", ATP_EINVAL, "role"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *out = NULL;
        struct atp_err err;
        int rc = api_body_parse(cases[i].body, strlen(cases[i].body), login_fields, &out, &err);
        cr_assert_eq(rc, cases[i].want, "case %zu (%s): rc %d: %s", i, cases[i].body, rc, err.msg);
        cr_assert_str_eq(err.field, cases[i].field, "case %zu", i);
        cr_assert_eq(out != NULL, rc == ATP_OK);
        json_decref(out);
    }
}

Test(api_request, query_and_request_id)
{
    char v[16];
    cr_assert_eq(api_query_get("a=1&b=x%20y+z&c", "b", v, sizeof v), ATP_OK);
    cr_assert_str_eq(v, "x y z");
    cr_assert_eq(api_query_get("a=1&b=2&c", "c", v, sizeof v), ATP_OK);
    cr_assert_str_eq(v, "");
    cr_assert_eq(api_query_get("a=1", "b", v, sizeof v), ATP_ENOTFOUND);
    cr_assert_eq(api_query_get("a=%zz", "a", v, sizeof v), ATP_EPARSE);
    cr_assert_eq(api_query_get("a=%00", "a", v, sizeof v), ATP_EPARSE);
    cr_assert_eq(api_query_get("a=%4", "a", v, sizeof v), ATP_EPARSE);
    cr_assert_eq(api_query_get("a=0123456789abcdefXYZ", "a", v, sizeof v), ATP_ERANGE);
    cr_assert_eq(api_query_get("%61=ok", "a", v, sizeof v), ATP_OK);
    cr_assert_str_eq(v, "ok");

    cr_assert(api_request_id_valid("abc-123_x.y:z"));
    cr_assert(!api_request_id_valid(""));
    cr_assert(!api_request_id_valid("has space"));
    cr_assert(!api_request_id_valid("quote\""));
    char longid[80];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    cr_assert(!api_request_id_valid(longid));
    longid[64] = '\0';
    cr_assert(api_request_id_valid(longid));
}

Test(api_ratelimit, token_bucket)
{
    struct ratelimit *rl = ratelimit_new(2.0, 3.0, 16);
    int retry = 0;
    cr_assert_not_null(rl);
    for (int i = 0; i < 3; i++)
        cr_assert(ratelimit_take(rl, "10.0.0.1", 1000, &retry));
    cr_assert(!ratelimit_take(rl, "10.0.0.1", 1000, &retry));
    cr_assert_eq(retry, 1);
    cr_assert(ratelimit_take(rl, "10.0.0.2", 1000, &retry), "buckets are per key");
    cr_assert(ratelimit_take(rl, "10.0.0.1", 1500, &retry), "refilled one token in 500 ms at 2/s");
    cr_assert(!ratelimit_take(rl, "10.0.0.1", 1500, &retry));
    /* Many more keys than capacity: memory stays bounded, nothing crashes. */
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        cr_assert(ratelimit_take(rl, key, 2000 + i, NULL));
    }
    ratelimit_free(rl);
    cr_assert_null(ratelimit_new(0, 1, 1));
    cr_assert_null(ratelimit_new(1, 0.5, 1));
    ratelimit_free(NULL);
}

Test(api_openapi, covers_every_route)
{
    json_t *doc = api_openapi_build(api_routes, api_n_routes);
    cr_assert_not_null(doc);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < api_n_routes; i++) {
        char method[16];
        snprintf(method, sizeof method, "%s", api_method_name(api_routes[i].method));
        for (char *c = method; *c; c++)
            *c = (char)(*c - 'A' + 'a');
        json_t *op = json_object_get(json_object_get(paths, api_routes[i].pattern), method);
        cr_assert_not_null(op, "%s missing from the OpenAPI document", api_routes[i].name);
        cr_assert_str_eq(json_string_value(json_object_get(op, "operationId")), api_routes[i].name);
        cr_assert_not_null(json_object_get(json_object_get(op, "responses"), "default"));
        cr_assert_eq(json_object_get(op, "requestBody") != NULL, api_routes[i].body != NULL);
    }
    json_decref(doc);
}

Test(api_json_err, shape)
{
    struct api_response res = {0};
    api_error(&res, 400, "invalid_field", "email", "must be %s", "a string");
    cr_assert_eq(res.status, 400);
    char *text = json_dumps(res.json, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(text, "{\"error\":{\"code\":\"invalid_field\",\"field\":\"email\",\"message\":\"must be a string\"}}");
    free(text);
    api_error(&res, 404, "not_found", NULL, "gone");
    text = json_dumps(res.json, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(text, "{\"error\":{\"code\":\"not_found\",\"message\":\"gone\"}}");
    free(text);
    json_decref(res.json);
}

/* Backtests: traders and admins submit, every logged-in role lists (the store scopes the list).
 * One backtest (h_backtests_relation): the submitter or the tied account's owner is OWNER, a
 * grant on the tied account INVITED (reads), an admin VISIBLE (reads, never cancels another's),
 * anyone else STRANGER (404). Columns anonymous, investor, trader, admin. */
Test(api_tables, authorization_matrix_of_backtests)
{
    static const struct matrix_row rows[] = {
        /*                        NONE    OWNER   INVITED STRANGER VISIBLE */
        {"backtests.create", {"UFAA", "UFAA", "UFAA", "UHAA", "UFAA"}},
        {"backtests.list", {"UAAA", "UAAA", "UAAA", "UAAA", "UAAA"}},
        {"backtests.get", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"backtests.trades", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"backtests.equity", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"backtests.report", {"UFFA", "UAAA", "UAAA", "UHHA", "UFFA"}},
        {"backtests.cancel", {"UFFF", "UFAA", "UFFF", "UHHH", "UFFF"}},
    };
    check_matrix(rows, sizeof rows / sizeof rows[0]);
}
