#include "api/policy.h"

#include <string.h>

/* The policy table. One row per route name of api/routes.c (a unit test checks both ways).
 * Columns: anonymous, investor, trader, admin. Rows for the next routes go here as the
 * routes land, e.g.
 *   {"auth.register", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
 *   {"accounts.get", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
 *   {"accounts.update", {API_DENY, API_DENY, API_OWNER, API_DENY}},
 *   {"admin.users.list", {API_DENY, API_DENY, API_DENY, API_ALLOW}}, */
const struct api_policy_row api_policy[] = {
    /*                             anonymous   investor   trader     admin */
    {"health", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"metrics", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"openapi", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"docs", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"auth.register", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"auth.login", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
    /* The refresh token is the credential of these two; the access token may have expired. */
    {"auth.refresh", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"auth.logout", {API_ALLOW, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"me", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    /* The caller's own password and second factor: any logged-in role, on itself only. */
    {"me.password", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"me.totp.enrol", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"me.totp.verify", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"me.totp.disable", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    /* Accounts (docs/api.md "Accounts"). The relation to account {id} is resolved once by
     * api_ownership_resolve (api/ownership.c): owner, INVITED (a trader or investor grant), STRANGER (404), or VISIBLE
     * (an admin on an account that is not theirs: reads yes, writes 403). Investors never write. */
    {"accounts.list", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"accounts.create", {API_DENY, API_DENY, API_ALLOW, API_ALLOW}},
    {"accounts.get", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"accounts.update", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"accounts.invitations.create", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"accounts.invitations.list", {API_DENY, API_DENY, API_OWNER, API_ALLOW}},
    {"accounts.invitations.revoke", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"accounts.access.list", {API_DENY, API_DENY, API_OWNER, API_ALLOW}},
    {"accounts.access.revoke", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    /* The caller's own invitations, scoped by the caller's email in the handler (another user's
     * invitation is 404 like an absent one). */
    {"invitations.mine", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"invitations.accept", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"invitations.reject", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    /* Administration: admins only, whatever the relation (these routes address no account). */
    {"admin.users.list", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.users.get", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.users.update", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.users.unlock", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.audit", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.status", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.market.status", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.market.pause", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.market.resume", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.market.speed", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.market.start", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.market.stop", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.market.seek", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    /* Market data: shared by everyone logged in, nothing per account. */
    {"instruments.search", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"market.candles", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"market.quote", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"indicators.list", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"indicators.calculate", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    /* The caller's own notifications: any logged-in user; the store scopes rows by user id. */
    {"notifications.list", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"notifications.read", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"notifications.read_all", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"notifications.prefs.get", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"notifications.prefs.set", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    /* Broker connections: the owner creates and deletes; owner and admin list (masked). An invited
     * user (investor or trader grant) is 403, anyone else 404: see api/h_brokers.h for why
     * investors do not see them at all, and why an admin lists but never writes others'. */
    /* Paper trading: the owner acts; invited users (investors and traders) and admins read. */
    {"orders.place", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    /* A signal acts only on the caller's own accounts (each checked in the handler through the
     * ownership table, api_account_relation: others are "not_found" results); investors trade nothing. */
    {"signals.execute", {API_DENY, API_DENY, API_ALLOW, API_ALLOW}},
    {"analytics.summary", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"analytics.equity", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"analytics.trades", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"orders.list", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"orders.get", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"orders.modify", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"orders.cancel", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"trades.list", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"positions.list", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"positions.close", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"funds.get", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"funds.set", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"kill_switch.get", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"kill_switch.set", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"admin.kill_switch.get", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.kill_switch.set", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"accounts.brokers.create", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"accounts.brokers.list", {API_DENY, API_DENY, API_OWNER, API_ALLOW}},
    {"accounts.brokers.delete", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    /* Strategies (docs/api.md "Strategies"): the relation is to the strategy's account
     * (api/ownership.c). The owner acts; invited users (investor or trader grants) read; an admin
     * reads every account's but acts only on its own; another tenant gets 404. */
    {"strategy_types", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"strategies.list", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"strategies.create", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"strategies.get", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"strategies.update", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"strategies.delete", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"strategies.start", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"strategies.stop", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"strategies.pause", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"strategies.resume", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"accounts.risk_limits.get", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"accounts.risk_limits.set", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"accounts.risk_limits.acknowledge", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
    {"admin.strategy_limits.get", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    {"admin.strategy_limits.set", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    /* WebSocket channels (api/ws, docs/api.md "WebSocket /ws"): one row per channel of
     * api/ws_msg.c, decided at subscribe like a route. Account channels resolve the caller's relation
     * to the subscribed account_id exactly as /accounts/{id} routes do (api_account_relation): the
     * owner and invited users hear it, an admin hears any account (as accounts.get reads any), and
     * another tenant's account is refused like an absent one. Notifications are the caller's own
     * (scoped by user id in the hub); the system channel is for admins. Anonymous never reaches a
     * channel (the upgrade needs a token), but the column is kept honest. */
    {"ws.market", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"ws.chart", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"ws.orders", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"ws.positions", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"ws.trades", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"ws.strategies", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"ws.dashboard", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"ws.notifications", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"ws.system", {API_DENY, API_DENY, API_DENY, API_ALLOW}},
    /* Backtests: traders and admins submit; everyone logged in lists what they may read (the
     * store scopes). One backtest: the relation comes from h_backtests_relation (the submitter or
     * the tied account's owner: OWNER; a grant on the tied account: INVITED; an admin: VISIBLE).
     * Members read, the owner cancels, an admin reads every one but cancels only its own. */
    {"backtests.create", {API_DENY, API_DENY, API_ALLOW, API_ALLOW}},
    {"backtests.list", {API_DENY, API_ALLOW, API_ALLOW, API_ALLOW}},
    {"backtests.get", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"backtests.trades", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"backtests.equity", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"backtests.report", {API_DENY, API_MEMBER, API_MEMBER, API_ALLOW}},
    {"backtests.cancel", {API_DENY, API_DENY, API_OWNER, API_OWNER}},
};
const size_t api_n_policy = sizeof api_policy / sizeof api_policy[0];

const struct api_policy_row *api_policy_find(const char *route)
{
    for (size_t i = 0; route && i < api_n_policy; i++)
        if (strcmp(api_policy[i].route, route) == 0)
            return &api_policy[i];
    return NULL;
}

enum api_decision api_policy_decide(const char *route, enum api_role role, enum api_relation rel)
{
    const struct api_policy_row *row = api_policy_find(route);
    enum api_decision deny =
        role == API_ROLE_ANONYMOUS ? API_POLICY_UNAUTHENTICATED : API_POLICY_FORBIDDEN;
    if (!row || (unsigned)role >= API_N_ROLES)
        return deny;
    switch (row->rule[role]) {
    case API_ALLOW:
        return API_POLICY_ALLOW;
    case API_OWNER:
        if (rel == API_REL_OWNER)
            return API_POLICY_ALLOW;
        if (rel == API_REL_STRANGER)
            return API_POLICY_HIDDEN;
        return deny;
    case API_MEMBER:
        if (rel == API_REL_OWNER || rel == API_REL_INVITED)
            return API_POLICY_ALLOW;
        if (rel == API_REL_STRANGER)
            return API_POLICY_HIDDEN;
        return deny;
    case API_DENY:
    default:
        /* Someone who cannot see the resource at all must not learn it exists. */
        if (rel == API_REL_STRANGER && role != API_ROLE_ANONYMOUS)
            return API_POLICY_HIDDEN;
        return deny;
    }
}

const char *api_role_name(enum api_role role)
{
    static const char *const names[] = {"anonymous", "investor", "trader", "admin"};
    return (unsigned)role < API_N_ROLES ? names[role] : "?";
}
