/* api/routes: the route table and the system handlers. Resource handlers live one file per
 * resource (api/h_<resource>.c) and add their rows here; see docs/api.md "Adding a route". */
#include "api/h_accounts.h"
#include "api/h_admin.h"
#include "api/h_auth.h"
#include "api/h_backtests.h"
#include "api/h_brokers.h"
#include "api/h_market.h"
#include "api/h_notifications.h"
#include "api/h_strategies.h"
#include "api/h_orders.h"
#include "api/h_signals.h"
#include "api/h_analytics.h"
#include "api/h_me.h"
#include "api/http.h"
#include "api/json_err.h"
#include "api/router.h"
#include "core/alloc.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* web/docs/index.html, embedded at build time (cmake/embed_file.cmake). */
extern const char api_docs_page[];
extern const size_t api_docs_page_len;

static double round3(double x)
{
    return (double)(long long)(x * 1000) / 1000;
}

/* Liveness plus the store check. The store part is the last result of the server's periodic
 * check (every second, on a worker's connection), so /health costs no store round trip and no
 * worker hop; it can be up to about a second old (checked_ms_ago says how old), and a check
 * overdue by 5 s counts as a failure. */
static void h_health(struct api_request *req, struct api_response *res)
{
    struct api_store_health h;
    api_server_store_health(req->server, &h);
    double uptime_s = round3(api_server_uptime_s(req->server));
    int inflight = api_server_inflight(req->server), workers = api_server_workers(req->server);
    res->status = h.ok ? 200 : 503;
    if (h.ok && h.backend) {
        /* The common answer, printed directly: building it through jansson was an eighth of the
         * CPU time of a /health request (perf). Every value here is a number or one of our own
         * identifiers, so nothing needs escaping; the degraded answer, which carries an error
         * text, goes through jansson below. */
        char buf[320];
        int n = snprintf(buf, sizeof buf,
                         "{\"status\":\"ok\",\"store\":{\"backend\":\"%s\",\"ok\":true,\"latency_ms\":%.3f,"
                         "\"checked_ms_ago\":%.3f},\"version\":\"%s\",\"uptime_s\":%.3f,\"inflight\":%d,"
                         "\"workers\":%d}",
                         h.backend, round3(h.latency_ms), round3(h.age_ms), ATP_VERSION, uptime_s, inflight, workers);
        if (n > 0 && (size_t)n < sizeof buf && (res->text = atp_malloc((size_t)n + 1))) {
            memcpy(res->text, buf, (size_t)n + 1);
            res->text_len = (size_t)n;
            res->content_type = "application/json";
            return;
        }
    }
    json_t *store = json_null();
    if (h.backend) {
        store = json_pack("{s:s, s:b, s:f, s:f}", "backend", h.backend, "ok", h.ok, "latency_ms",
                          round3(h.latency_ms), "checked_ms_ago", round3(h.age_ms));
        if (store && !h.ok)
            json_object_set_new(store, "error", json_string(h.error));
    }
    res->json = json_pack("{s:s, s:o, s:s, s:f, s:i, s:i}", "status", h.ok ? "ok" : "degraded", "store", store,
                          "version", ATP_VERSION, "uptime_s", uptime_s, "inflight", inflight, "workers", workers);
    if (!res->json)
        api_error(res, 500, "internal", NULL, "out of memory");
}

static void h_metrics(struct api_request *req, struct api_response *res)
{
    if (api_metrics_render(req->server, &res->text, &res->text_len) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void h_openapi(struct api_request *req, struct api_response *res)
{
    (void)req;
    res->json = api_openapi_build(api_routes, api_n_routes);
    if (!res->json)
        api_error(res, 500, "internal", NULL, "out of memory");
}

/* The body of /health (200 and 503), for the OpenAPI document. */
#define HEALTH_CONTENT                                                                                     \
    "\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\",\"required\":[\"status\",\"store\"],"      \
    "\"properties\":{\"status\":{\"type\":\"string\",\"enum\":[\"ok\",\"degraded\"]},\"store\":{\"type\":"      \
    "[\"object\",\"null\"],\"properties\":{\"backend\":{\"type\":\"string\"},\"ok\":{\"type\":\"boolean\"},"    \
    "\"latency_ms\":{\"type\":\"number\"},\"checked_ms_ago\":{\"type\":\"number\"},\"error\":{\"type\":"         \
    "\"string\"}}},\"version\":{\"type\":\"string\"},\"uptime_s\":{\"type\":\"number\"},\"inflight\":"          \
    "{\"type\":\"integer\"},\"workers\":{\"type\":\"integer\"}}}}}"

/* The page's own CSP: its one inline style and one inline script are allowed by their SHA-256
 * (CSP level 2 hash sources), so nothing injected could run, and it may fetch only from this
 * origin. Computed once from the embedded page, so editing the page never breaks the header. */
static char docs_csp[400];

/* "'sha256-BASE64'" of the text between open and close in the page, "" when absent. */
static void inline_hash(const char *open, const char *close, char *out, size_t size)
{
    out[0] = '\0';
    const char *a = strstr(api_docs_page, open);
    const char *b = a ? strstr(a + strlen(open), close) : NULL;
    if (!b)
        return;
    a += strlen(open);
    unsigned char digest[crypto_hash_sha256_BYTES];
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    crypto_hash_sha256(digest, (const unsigned char *)a, (unsigned long long)(b - a));
    sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, size, "'sha256-%s'", b64);
}

static void docs_csp_init(void)
{
    char style[80], script[80];
    inline_hash("<style>", "</style>", style, sizeof style);
    inline_hash("<script>", "</script>", script, sizeof script);
    snprintf(docs_csp, sizeof docs_csp,
             "default-src 'none'; style-src %s; script-src %s; connect-src 'self'; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'none'",
             style[0] ? style : "'none'", script[0] ? script : "'none'");
}

static void h_docs(struct api_request *req, struct api_response *res)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)req;
    pthread_once(&once, docs_csp_init);
    res->text = atp_malloc(api_docs_page_len + 1);
    if (!res->text) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    memcpy(res->text, api_docs_page, api_docs_page_len + 1);
    res->text_len = api_docs_page_len;
    res->content_type = "text/html; charset=utf-8";
    res->csp = docs_csp;
}

int api_route_on_io_thread(const struct api_route *route)
{
    return route->handler == h_health || route->handler == h_metrics || route->handler == h_openapi ||
           route->handler == h_docs;
}

const struct api_route api_routes[] = {
    {API_GET, "/health", "health", h_health, NULL, "liveness and store check", "system",
     "{\"200\":{\"description\":\"alive, store ok\"," HEALTH_CONTENT "},\"503\":{\"description\":"
     "\"degraded: the last store check failed or is overdue\"," HEALTH_CONTENT "}}"},
    {API_GET, "/metrics", "metrics", h_metrics, NULL, "Prometheus metrics", "system",
     "{\"200\":{\"description\":\"Prometheus text exposition\",\"content\":{\"text/plain\":"
     "{\"schema\":{\"type\":\"string\"}}}}}"},
    {API_GET, "/api/v1/openapi.json", "openapi", h_openapi, NULL, "this document", "system", NULL},
    {API_GET, "/docs", "docs", h_docs, NULL, "the API documentation page (HTML, from this document)", "system",
     "{\"200\":{\"description\":\"an HTML page listing the routes by tag\",\"content\":{\"text/html\":"
     "{\"schema\":{\"type\":\"string\"}}}}}"},
    {API_POST, "/api/v1/auth/register", "auth.register", h_auth_register, h_auth_register_body,
     "register a new user (a trader)", "auth",
     "{\"201\":{\"description\":\"the new user: id, email, name, role\"},\"409\":{\"description\":"
     "\"the email is taken\"},\"422\":{\"description\":\"weak password or invalid field\"}}"},
    {API_POST, "/api/v1/auth/login", "auth.login", h_auth_login, h_auth_login_body,
     "log in (opens a session): access and refresh tokens", "auth",
     "{\"200\":{\"description\":\"access_token, refresh_token, expires_in (s), refresh_expires_in (s), "
     "session_idle_s, user\"},\"401\":{\"description\":\"wrong email or password (invalid_credentials), "
     "TOTP code missing (totp_required) or wrong (invalid_totp)\"},\"403\":{\"description\":\"account "
     "disabled\"},\"423\":{\"description\":\"locked after 3 failed logins (15 min)\"},\"429\":"
     "{\"description\":\"too many attempts from this IP or for this email (Retry-After)\"}}"},
    {API_POST, "/api/v1/auth/refresh", "auth.refresh", h_auth_refresh, h_auth_refresh_body,
     "rotate a refresh token: new access and refresh tokens of the same session", "auth",
     "{\"200\":{\"description\":\"access_token, refresh_token, expires_in (s), refresh_expires_in (s), "
     "session_idle_s, user\"},\"401\":{\"description\":\"unknown, expired or reused refresh token "
     "(invalid_token), or the session ended: revoked, idle or user disabled (session_expired)\"}}"},
    {API_POST, "/api/v1/auth/logout", "auth.logout", h_auth_logout, h_auth_refresh_body,
     "end the session of a refresh token: its access tokens stop working at once", "auth",
     "{\"200\":{\"description\":\"logged out\"},\"401\":{\"description\":\"unknown refresh token\"}}"},
    {API_GET, "/api/v1/me", "me", h_me, NULL, "the caller's user", "auth",
     "{\"200\":{\"description\":\"id, email, name, role, totp_enabled, session_id\"},\"401\":"
     "{\"description\":\"no valid access token, or its session ended (session_expired)\"}}"},
    {API_POST, "/api/v1/me/password", "me.password", h_me_password, h_me_password_body,
     "change the password: every other session of the user ends", "auth",
     "{\"200\":{\"description\":\"status, sessions_revoked\"},\"403\":{\"description\":"
     "\"wrong current_password\"},\"422\":{\"description\":\"weak new_password\"},\"429\":"
     "{\"description\":\"too many attempts\"}}"},
    {API_POST, "/api/v1/me/totp/enrol", "me.totp.enrol", h_me_totp_enrol, h_me_totp_enrol_body,
     "start TOTP 2FA with the password: a new secret and otpauth URI (shown once; on after verify)", "auth",
     "{\"200\":{\"description\":\"secret (base32), otpauth_uri, digits, period\"},\"403\":"
     "{\"description\":\"wrong password\"},\"409\":"
     "{\"description\":\"already enabled\"},\"503\":{\"description\":\"no vault master key "
     "(ATP_MASTER_KEY)\"}}"},
    {API_POST, "/api/v1/me/totp/verify", "me.totp.verify", h_me_totp_verify, h_me_totp_verify_body,
     "turn TOTP 2FA on with a first code", "auth",
     "{\"200\":{\"description\":\"enabled\"},\"409\":{\"description\":\"not enrolled, or "
     "already on\"},\"422\":{\"description\":\"wrong or reused code\"},\"429\":{\"description\":"
     "\"too many attempts\"},\"503\":{\"description\":\"no vault master key\"}}"},
    {API_POST, "/api/v1/me/totp/disable", "me.totp.disable", h_me_totp_disable, h_me_totp_disable_body,
     "turn TOTP 2FA off, with a current code or the password", "auth",
     "{\"200\":{\"description\":\"disabled\"},\"403\":{\"description\":\"wrong password\"},"
     "\"409\":{\"description\":\"not enrolled\"},\"422\":{\"description\":\"wrong or reused "
     "code\"},\"429\":{\"description\":\"too many attempts\"}}"},
    {API_GET, "/api/v1/accounts", "accounts.list", h_accounts_list, NULL,
     "the accounts the caller owns or was granted (?cursor=)", "accounts",
     "{\"200\":{\"description\":\"items: id, owner_id, name, broker, created_ns, access; next_cursor\"}}"},
    {API_POST, "/api/v1/accounts", "accounts.create", h_accounts_create, h_accounts_create_body,
     "create a trading account owned by the caller", "accounts",
     "{\"201\":{\"description\":\"the account\"},\"422\":{\"description\":\"invalid field\"}}"},
    {API_GET, "/api/v1/accounts/{id}", "accounts.get", h_accounts_get, NULL, "get an account", "accounts",
     "{\"200\":{\"description\":\"the account, with the caller's access\"},\"404\":{\"description\":"
     "\"absent or another tenant's\"}}"},
    {API_PATCH, "/api/v1/accounts/{id}", "accounts.update", h_accounts_update, h_accounts_update_body,
     "rename an account (owner)", "accounts",
     "{\"200\":{\"description\":\"the account\"},\"403\":{\"description\":\"read-only access\"},"
     "\"404\":{\"description\":\"absent or another tenant's\"}}"},
    {API_POST, "/api/v1/accounts/{id}/invitations", "accounts.invitations.create", h_account_invitations_create,
     h_invitations_create_body, "invite an email to the account (owner); valid 7 days", "accounts",
     "{\"201\":{\"description\":\"the invitation with its token (shown once)\"},\"422\":{\"description\":"
     "\"invalid email or role\"}}"},
    {API_GET, "/api/v1/accounts/{id}/invitations", "accounts.invitations.list", h_account_invitations_list, NULL,
     "the account's invitations (owner)", "accounts",
     "{\"200\":{\"description\":\"items: id, account_id, email, role, status, expires_ns, created_by\"}}"},
    {API_DELETE, "/api/v1/accounts/{id}/invitations/{invitation_id}", "accounts.invitations.revoke",
     h_account_invitations_revoke, NULL, "revoke a pending invitation (owner)", "accounts",
     "{\"200\":{\"description\":\"revoked\"},\"404\":{\"description\":\"no such invitation\"},"
     "\"409\":{\"description\":\"not pending\"}}"},
    {API_GET, "/api/v1/accounts/{id}/access", "accounts.access.list", h_account_access_list, NULL,
     "who was granted access to the account (owner)", "accounts",
     "{\"200\":{\"description\":\"items: user_id, email, role, granted_ns\"}}"},
    {API_DELETE, "/api/v1/accounts/{id}/access/{user_id}", "accounts.access.revoke", h_account_access_revoke,
     NULL, "revoke a user's access (owner)", "accounts",
     "{\"200\":{\"description\":\"revoked\"},\"404\":{\"description\":\"no such grant\"}}"},
    {API_GET, "/api/v1/invitations", "invitations.mine", h_invitations_mine, NULL,
     "the caller's pending invitations (by email)", "invitations",
     "{\"200\":{\"description\":\"items: invitations with account_name\"}}"},
    {API_POST, "/api/v1/invitations/{id}/accept", "invitations.accept", h_invitations_accept, NULL,
     "accept an invitation addressed to the caller's email", "invitations",
     "{\"200\":{\"description\":\"accepted: access granted\"},\"404\":{\"description\":\"not the caller's\"},"
     "\"409\":{\"description\":\"not pending\"},\"410\":{\"description\":\"expired\"}}"},
    {API_POST, "/api/v1/invitations/{id}/reject", "invitations.reject", h_invitations_reject, NULL,
     "reject an invitation addressed to the caller's email", "invitations",
     "{\"200\":{\"description\":\"rejected\"},\"404\":{\"description\":\"not the caller's\"},"
     "\"409\":{\"description\":\"not pending\"},\"410\":{\"description\":\"expired\"}}"},
    /* Administration (docs/api.md "Administration"): admins only. */
    {API_GET, "/api/v1/admin/users", "admin.users.list", h_admin_users_list, NULL,
     "every user, in id order (?cursor=&limit=)", "admin",
     "{\"200\":{\"description\":\"items: id, email, name, role, status, failed_logins, locked, locked_until, "
     "totp_enabled, created, created_ns, updated, updated_ns; next_cursor\"},\"422\":{\"description\":"
     "\"bad cursor or limit\"}}"},
    {API_GET, "/api/v1/admin/users/{id}", "admin.users.get", h_admin_users_get, NULL, "one user", "admin",
     "{\"200\":{\"description\":\"the user\"},\"404\":{\"description\":\"no such user\"}}"},
    {API_PATCH, "/api/v1/admin/users/{id}", "admin.users.update", h_admin_users_update, h_admin_user_update_body,
     "change a user's role and/or status (audited)", "admin",
     "{\"200\":{\"description\":\"the user\"},\"404\":{\"description\":\"no such user\"},\"409\":"
     "{\"description\":\"an admin demoting or disabling itself, or the last active admin\"},\"422\":"
     "{\"description\":\"unknown role or status\"}}"},
    {API_POST, "/api/v1/admin/users/{id}/unlock", "admin.users.unlock", h_admin_users_unlock, NULL,
     "clear a user's failed logins and lock (audited)", "admin",
     "{\"200\":{\"description\":\"the user\"},\"404\":{\"description\":\"no such user\"}}"},
    {API_GET, "/api/v1/admin/audit", "admin.audit", h_admin_audit, NULL,
     "the audit log, newest first (?user_id=&account_id=&action=&from=&to=&cursor=&limit=)", "admin",
     "{\"200\":{\"description\":\"items: id, ts (ISO 8601), ts_ns, user_id, account_id, action, resource, ip, "
     "user_agent, result, details; next_cursor\"},\"422\":{\"description\":\"a malformed filter\"}}"},
    {API_GET, "/api/v1/admin/status", "admin.status", h_admin_status, NULL,
     "version, uptime, store backend and latency, migration version, counts, in-flight requests", "admin",
     "{\"200\":{\"description\":\"version, uptime_s, inflight, store {backend, ok, latency_ms, "
     "migration_version, migrations_known}, vault {configured, current_key_id}, counts {users, "
     "active_admins, accounts, broker_connections}\"}}"},
    {API_GET, "/api/v1/admin/market/status", "admin.market.status", h_admin_market_status, NULL,
     "the market feed: kind, speed, state, market time, progress, counters", "admin",
     "{\"200\":{\"description\":\"feed, speed, state (running, paused, ended), time, ts_ns, progress, items, "
     "ticks_accepted, bars_completed\"},\"503\":{\"description\":\"market_unavailable\"}}"},
    {API_POST, "/api/v1/admin/market/pause", "admin.market.pause", h_admin_market_pause, NULL,
     "pause the market feed: market time freezes (idempotent, audited)", "admin",
     "{\"200\":{\"description\":\"the status\"},\"503\":{\"description\":\"market_unavailable\"}}"},
    {API_POST, "/api/v1/admin/market/resume", "admin.market.resume", h_admin_market_resume, NULL,
     "resume the market feed where it froze (idempotent, audited)", "admin",
     "{\"200\":{\"description\":\"the status\"},\"503\":{\"description\":\"market_unavailable\"}}"},
    {API_POST, "/api/v1/admin/market/speed", "admin.market.speed", h_admin_market_speed, h_admin_market_speed_body,
     "change the feed's speed from now on, without a jump in market time (audited)", "admin",
     "{\"200\":{\"description\":\"the status\"},\"422\":{\"description\":\"speed out of range, or max for the "
     "simulator\"},\"503\":{\"description\":\"market_unavailable\"}}"},
    {API_POST, "/api/v1/admin/market/start", "admin.market.start", h_admin_market_start, h_admin_market_start_body,
     "replace the feed: the simulator (symbols, from, days, seed) or a tick replay file, at a speed; market time "
     "only goes forward (audited)", "admin",
     "{\"200\":{\"description\":\"the status\"},\"400\":{\"description\":\"a field is missing\"},"
     "\"409\":{\"description\":\"conflict: the feed would start before the market's clock\"},"
     "\"422\":{\"description\":\"a field is invalid (named), or the replay file is (line and field)\"},"
     "\"503\":{\"description\":\"market_unavailable\"}}"},
    {API_POST, "/api/v1/admin/market/stop", "admin.market.stop", h_admin_market_stop, NULL,
     "stop the feed: market time freezes until a start (idempotent, audited)", "admin",
     "{\"200\":{\"description\":\"the status\"},\"503\":{\"description\":\"market_unavailable\"}}"},
    {API_POST, "/api/v1/admin/market/seek", "admin.market.seek", h_admin_market_seek, h_admin_market_seek_body,
     "jump the feed forward to a market time; the items in between are skipped (audited)", "admin",
     "{\"200\":{\"description\":\"the status\"},\"409\":{\"description\":\"conflict: backwards, or no feed "
     "playing\"},\"422\":{\"description\":\"to is not a time\"},\"503\":{\"description\":\"market_unavailable\"}}"},
    /* Notifications (docs/api.md "Notifications"): the caller's own. */
    {API_GET, "/api/v1/notifications", "notifications.list", h_notifications_list, NULL,
     "the caller's notifications, newest first (?unread=1&cursor=&limit=)", "notifications",
     "{\"200\":{\"description\":\"items: id, type, title, body, read, ts (ISO 8601), ts_ns; next_cursor\"}}"},
    {API_POST, "/api/v1/notifications/{id}/read", "notifications.read", h_notifications_read, NULL,
     "mark one of the caller's notifications read", "notifications",
     "{\"200\":{\"description\":\"id, read\"},\"404\":{\"description\":\"not the caller's, or absent\"}}"},
    {API_POST, "/api/v1/notifications/read-all", "notifications.read_all", h_notifications_read_all, NULL,
     "mark every notification of the caller read", "notifications",
     "{\"200\":{\"description\":\"marked: how many were unread\"}}"},
    {API_GET, "/api/v1/notifications/preferences", "notifications.prefs.get", h_notifications_prefs_get, NULL,
     "every notification type x channel with enabled (defaults filled in)", "notifications",
     "{\"200\":{\"description\":\"items: type, channel, enabled, delivered, summary\"}}"},
    {API_PUT, "/api/v1/notifications/preferences", "notifications.prefs.set", h_notifications_prefs_put,
     h_notifications_prefs_body, "set some preferences (all or nothing)", "notifications",
     "{\"200\":{\"description\":\"every preference, as GET answers\"},\"422\":{\"description\":"
     "\"an unknown type or channel, named by its item\"}}"},
    /* Broker connections (docs/api.md "Broker connections"): credentials sealed by the vault. */
    {API_POST, "/api/v1/accounts/{id}/broker-connections", "accounts.brokers.create", h_brokers_create,
     h_brokers_create_body, "store a broker login for the account, sealed (owner)", "accounts",
     "{\"201\":{\"description\":\"id, account_id, broker, masked, key_id, created, created_ns: never the "
     "credentials\"},\"403\":{\"description\":\"an invited user\"},\"404\":{\"description\":\"absent or "
     "another tenant's account\"},\"422\":{\"description\":\"unknown broker or a bad credential field, named\"},"
     "\"503\":{\"description\":\"vault_unavailable: no master key (ATP_MASTER_KEY)\"}}"},
    {API_GET, "/api/v1/accounts/{id}/broker-connections", "accounts.brokers.list", h_brokers_list, NULL,
     "the account's broker connections, masked (owner, admin; ?cursor=&limit=)", "accounts",
     "{\"200\":{\"description\":\"items: id, account_id, broker, masked, key_id, created, created_ns; "
     "next_cursor\"},\"403\":{\"description\":\"an invited user\"},\"404\":{\"description\":\"absent or "
     "another tenant's account\"}}"},
    {API_DELETE, "/api/v1/accounts/{id}/broker-connections/{conn_id}", "accounts.brokers.delete",
     h_brokers_delete, NULL, "delete a broker connection and its sealed credentials (owner)", "accounts",
     "{\"200\":{\"description\":\"deleted\"},\"404\":{\"description\":\"no such connection in this account\"}}"},
    /* Analytics (docs/api.md "Analytics"): whoever reads the account; paper and live never mixed. */
    {API_GET, "/api/v1/accounts/{id}/analytics", "analytics.summary", h_analytics_summary, NULL,
     "performance over a period (?period=day|week|month|year|all&mode=paper|live): return, drawdown, Sharpe, "
     "Sortino, win rate, profit factor, trades, per strategy, by hour and weekday, vs NIFTY", "analytics",
     "{\"200\":{\"description\":\"the summary\"},\"422\":{\"description\":\"bad period or mode\"}}"},
    {API_GET, "/api/v1/accounts/{id}/analytics/equity", "analytics.equity", h_analytics_equity, NULL,
     "the equity curve and drawdown series of a period (?period=&mode=)", "analytics",
     "{\"200\":{\"description\":\"items: time, ts_ns, equity, drawdown_pct\"},\"422\":{\"description\":"
     "\"bad period or mode\"}}"},
    {API_GET, "/api/v1/accounts/{id}/analytics/trades", "analytics.trades", h_analytics_trades, NULL,
     "the round trips of a period, closed then open (?period=&mode=&format=json|csv: CSV export)", "analytics",
     "{\"200\":{\"description\":\"items (JSON) or text/csv\"},\"422\":{\"description\":\"bad period, "
     "mode or format\"}}"},
    /* One signal, many accounts (docs/api.md "Signals"): the caller's own accounts only. */
    {API_POST, "/api/v1/signals", "signals.execute", h_signals_execute, h_signals_body,
     "execute one signal on many of the caller's accounts, each through its own risk gate "
     "(Idempotency-Key header: per account, a retry never places twice)", "trading",
     "{\"200\":{\"description\":\"executed_count, failed_count, execution_time_ms, results: per account "
     "{account_id, status executed|failed, order | error}\"},\"400\":{\"description\":\"a field is missing\"},"
     "\"409\":{\"description\":\"live_unavailable, or no account to trade\"},\"422\":{\"description\":"
     "\"invalid_field (named)\"},\"503\":{\"description\":\"no market data, so no paper trading\"}}"},
    /* Paper trading (docs/api.md "Orders, positions, funds, kill switch"): the owner trades; invited
     * users and admins read; orders and fills are stored before they are acknowledged. */
    {API_POST, "/api/v1/accounts/{id}/orders", "orders.place", h_orders_place, h_orders_place_body,
     "place a paper order (owner); Idempotency-Key header: the same key returns the same order", "trading",
     "{\"201\":{\"description\":\"the order as stored (a MARKET order may be FILLED already)\"},\"200\":"
     "{\"description\":\"the order placed earlier with this Idempotency-Key\"},\"409\":{\"description\":"
     "\"live_unavailable: live trading needs a broker connection\"},\"422\":{\"description\":\"invalid_field "
     "(named) or risk_denied (reason code and numbers)\"},\"503\":{\"description\":\"no market data, or the "
     "store did not take the order (nothing placed)\"}}"},
    {API_GET, "/api/v1/accounts/{id}/orders", "orders.list", h_orders_list, NULL,
     "the order book (?state=WORKING|OPEN|FILLED|...&cursor=&limit=), oldest first", "trading",
     "{\"200\":{\"description\":\"items: orders; next_cursor\"},\"422\":{\"description\":\"bad state\"}}"},
    {API_GET, "/api/v1/accounts/{id}/orders/{order_id}", "orders.get", h_orders_get, NULL,
     "an order with its state history", "trading",
     "{\"200\":{\"description\":\"the order with history\"},\"404\":{\"description\":\"no such order\"}}"},
    {API_PATCH, "/api/v1/accounts/{id}/orders/{order_id}", "orders.modify", h_orders_modify, h_orders_modify_body,
     "modify a working order's qty, price or trigger (owner)", "trading",
     "{\"200\":{\"description\":\"the order\"},\"409\":{\"description\":\"not working\"},\"422\":"
     "{\"description\":\"invalid field or risk_denied\"}}"},
    {API_DELETE, "/api/v1/accounts/{id}/orders/{order_id}", "orders.cancel", h_orders_cancel, NULL,
     "cancel a working order (owner)", "trading",
     "{\"200\":{\"description\":\"the order, CANCELLED\"},\"409\":{\"description\":\"not working\"}}"},
    {API_GET, "/api/v1/accounts/{id}/trades", "trades.list", h_trades_list, NULL,
     "the account's fills, oldest first (?cursor=&limit=)", "trading",
     "{\"200\":{\"description\":\"items: fills (qty, price, charges); next_cursor\"}}"},
    {API_GET, "/api/v1/accounts/{id}/positions", "positions.list", h_positions_list, NULL,
     "open and closed positions with average price, realized and unrealized P&L and charges", "trading",
     "{\"200\":{\"description\":\"items: positions\"}}"},
    {API_POST, "/api/v1/accounts/{id}/positions/{symbol}/close", "positions.close", h_positions_close, NULL,
     "close a manual position with a MARKET order (owner; Idempotency-Key honoured)", "trading",
     "{\"201\":{\"description\":\"the closing order\"},\"404\":{\"description\":\"no open position\"}}"},
    {API_GET, "/api/v1/accounts/{id}/funds", "funds.get", h_funds_get, NULL,
     "paper funds: initial capital, cash, margin, realized, unrealized, charges, equity", "trading",
     "{\"200\":{\"description\":\"the funds, exact decimals\"}}"},
    {API_PUT, "/api/v1/accounts/{id}/funds", "funds.set", h_funds_set, h_funds_set_body,
     "set the paper starting capital, before the account's first order (owner)", "trading",
     "{\"200\":{\"description\":\"the funds\"},\"409\":{\"description\":\"the account has orders\"}}"},
    {API_GET, "/api/v1/accounts/{id}/kill-switch", "kill_switch.get", h_kill_switch_get, NULL,
     "the account's kill switch and its effective state", "trading",
     "{\"200\":{\"description\":\"state, effective_state, reason, set_by, updated\"}}"},
    {API_PUT, "/api/v1/accounts/{id}/kill-switch", "kill_switch.set", h_kill_switch_set, h_kill_switch_body,
     "set the account's kill switch: ACTIVE, REDUCING (exits only), HALTED (cancels working orders) (owner)",
     "trading", "{\"200\":{\"description\":\"the switch, with cancelled_orders\"},\"422\":"
     "{\"description\":\"bad state\"}}"},
    {API_GET, "/api/v1/admin/kill-switch", "admin.kill_switch.get", h_admin_kill_switch_get, NULL,
     "the global kill switch (admin)", "admin", "{\"200\":{\"description\":\"the switch\"}}"},
    {API_PUT, "/api/v1/admin/kill-switch", "admin.kill_switch.set", h_admin_kill_switch_set, h_kill_switch_body,
     "set the global kill switch for every account (admin)", "admin",
     "{\"200\":{\"description\":\"the switch, with cancelled_orders\"}}"},
    /* Market data (docs/api.md "Market data"): the server's shared engine, any logged-in user. */
    {API_GET, "/api/v1/instruments", "instruments.search", h_instruments_search, NULL,
     "search the instrument registry by symbol or name (?q=&limit=, limit 1..100, default 20)", "market",
     "{\"200\":{\"description\":\"items: id, symbol, exchange, type, name, lot_size, tick_size (exact decimal), "
     "underlying, expiry, strike; count\"},\"422\":{\"description\":\"bad limit\"},\"503\":{\"description\":"
     "\"market_unavailable: no feed (--feed none)\"}}"},
    {API_GET, "/api/v1/market/candles", "market.candles", h_market_candles, NULL,
     "the last complete bars of a symbol and timeframe plus the forming one (?symbol=&tf=1m&count=100, count "
     "1..500)", "market",
     "{\"200\":{\"description\":\"symbol, tf, count, items (oldest first: time, ts_ns, open, high, low, close, "
     "volume, ticks), forming (a bar or null)\"},\"400\":{\"description\":\"symbol missing\"},\"422\":"
     "{\"description\":\"unknown symbol or tf, count out of range (field named)\"},\"503\":{\"description\":"
     "\"market_unavailable\"}}"},
    {API_GET, "/api/v1/market/quote", "market.quote", h_market_quote, NULL,
     "last price, time and the day's open, high, low, close and volume of a symbol (?symbol=)", "market",
     "{\"200\":{\"description\":\"symbol, last, time, ts_ns, day {date, open, high, low, close, volume}; "
     "nulls before the first tick\"},\"400\":{\"description\":\"symbol missing\"},\"422\":{\"description\":"
     "\"unknown symbol\"},\"503\":{\"description\":\"market_unavailable\"}}"},
    {API_GET, "/api/v1/indicators", "indicators.list", h_indicators_list, NULL,
     "the indicator catalog with each one's parameters (type, default, bounds) and outputs", "market",
     "{\"200\":{\"description\":\"items: name, description, params [name, type, default, min, max, "
     "description], outputs\"}}"},
    {API_POST, "/api/v1/indicators/{name}/calculate", "indicators.calculate", h_indicators_calculate,
     h_indicators_calculate_body, "compute an indicator over a symbol's stored candles or over a posted series",
     "market",
     "{\"200\":{\"description\":\"name, params (resolved), outputs, lookback, bars, items [time, ts_ns | index, "
     "values (null while warming up)], symbol, tf\"},\"400\":{\"description\":\"neither or both of symbol "
     "and series\"},\"404\":{\"description\":\"unknown indicator\"},\"422\":{\"description\":\"a bad "
     "parameter (field params.NAME), symbol, tf, count or series element\"},\"503\":{\"description\":"
     "\"market_unavailable\"}}"},
    /* Strategies per trading account (docs/api.md "Strategies"): the strategy's account decides
     * (api/ownership.c maps /strategies/{id} and POST /strategies to it). */
    {API_GET, "/api/v1/strategy-types", "strategy_types", h_strategy_types, NULL,
     "the strategy catalog: each type's parameter schema, and the risk and sizing fields", "strategies",
     "{\"200\":{\"description\":\"items: name, description, params [name, type, default, min, max, description]; "
     "risk [name, type, description]; modes; timeframes\"}}"},
    {API_GET, "/api/v1/strategies", "strategies.list", h_strategies_list, NULL,
     "strategies of the accounts the caller owns or was granted (admin: all) (?account_id=&cursor=&limit=)",
     "strategies",
     "{\"200\":{\"description\":\"items: id, account_id, type, name, symbols, timeframes, params, mode, risk, state, "
     "state_reason, last_signal, created, updated; next_cursor\"},\"422\":{\"description\":\"bad query\"}}"},
    {API_POST, "/api/v1/strategies", "strategies.create", h_strategies_create, h_strategies_create_body,
     "create a strategy on an account the caller owns (stopped; paper mode)", "strategies",
     "{\"201\":{\"description\":\"the strategy\"},\"400\":{\"description\":\"a missing or mistyped field\"},"
     "\"403\":{\"description\":\"read-only access to the account\"},\"404\":{\"description\":\"absent or another "
     "tenant's account\"},\"422\":{\"description\":\"an invalid field, named (params.fast, symbols[0], risk.qty, "
     "mode: live_unavailable)\"},\"503\":{\"description\":\"market_unavailable\"}}"},
    {API_GET, "/api/v1/strategies/{id}", "strategies.get", h_strategies_get, NULL,
     "a strategy with its status (state, positions, last signal, P&L, orders count)", "strategies",
     "{\"200\":{\"description\":\"the strategy and status {state, in_kernel, orders_count, orders_denied, positions, "
     "pnl {realized, unrealized}, last_signal, last_error}\"},\"404\":{\"description\":\"absent or another tenant's\"}}"},
    {API_PATCH, "/api/v1/strategies/{id}", "strategies.update", h_strategies_update, h_strategies_update_body,
     "change a stopped strategy (owner)", "strategies",
     "{\"200\":{\"description\":\"the strategy\"},\"409\":{\"description\":\"not stopped (the state is named)\"},"
     "\"422\":{\"description\":\"an invalid field, named\"}}"},
    {API_DELETE, "/api/v1/strategies/{id}", "strategies.delete", h_strategies_delete, NULL,
     "delete a stopped strategy (owner)", "strategies",
     "{\"200\":{\"description\":\"id, deleted\"},\"409\":{\"description\":\"not stopped\"}}"},
    {API_POST, "/api/v1/strategies/{id}/start", "strategies.start", h_strategies_start, NULL,
     "start a stopped strategy in the server's paper kernel (owner)", "strategies",
     "{\"200\":{\"description\":\"the strategy, running\"},\"409\":{\"description\":\"not stopped (invalid_state), "
     "refused by the risk gate: concurrent-strategy limit or trading state (risk_denied), or a max-loss breach not "
     "acknowledged (risk_breach)\"},\"422\":{\"description\":\"the strategy refused its params\"},\"503\":"
     "{\"description\":\"market_unavailable\"}}"},
    {API_POST, "/api/v1/strategies/{id}/stop", "strategies.stop", h_strategies_stop, NULL,
     "stop a running or paused strategy (owner)", "strategies",
     "{\"200\":{\"description\":\"the strategy, stopped\"},\"409\":{\"description\":\"already stopped\"}}"},
    {API_POST, "/api/v1/strategies/{id}/pause", "strategies.pause", h_strategies_pause, NULL,
     "pause a running strategy: its indicators keep following the market (owner)", "strategies",
     "{\"200\":{\"description\":\"the strategy, paused\"},\"409\":{\"description\":\"not running\"}}"},
    {API_POST, "/api/v1/strategies/{id}/resume", "strategies.resume", h_strategies_resume, NULL,
     "resume a paused strategy (owner)", "strategies",
     "{\"200\":{\"description\":\"the strategy, running\"},\"409\":{\"description\":\"not paused, or a max-loss "
     "breach not acknowledged (risk_breach)\"}}"},
    {API_GET, "/api/v1/accounts/{id}/risk-limits", "accounts.risk_limits.get", h_risk_limits_get, NULL,
     "the account's risk limits (paper) and its max-loss breach, if any", "accounts",
     "{\"200\":{\"description\":\"account_id, mode, max_loss, max_position_qty, max_order_value, max_open_orders, "
     "max_strategies (the admin's), stored, breached, breach_pnl, breached_at, acknowledged_at\"}}"},
    {API_PUT, "/api/v1/accounts/{id}/risk-limits", "accounts.risk_limits.set", h_risk_limits_put, h_risk_limits_body,
     "set the account's risk limits (owner); the kernel's risk gate applies them at once", "accounts",
     "{\"200\":{\"description\":\"the limits\"},\"422\":{\"description\":\"a limit out of range, named\"}}"},
    {API_POST, "/api/v1/accounts/{id}/risk-limits/acknowledge", "accounts.risk_limits.acknowledge",
     h_risk_limits_acknowledge, NULL, "acknowledge a max-loss breach (owner): strategies may resume", "accounts",
     "{\"200\":{\"description\":\"the limits, breach cleared\"},\"409\":{\"description\":\"no breach "
     "(invalid_state), or the loss is still beyond max_loss (loss_beyond_limit)\"}}"},
    {API_GET, "/api/v1/admin/strategy-limits", "admin.strategy_limits.get", h_strategy_limits_get, NULL,
     "strategies running at once per account, per mode", "admin", "{\"200\":{\"description\":\"paper, live\"}}"},
    {API_PUT, "/api/v1/admin/strategy-limits", "admin.strategy_limits.set", h_strategy_limits_put,
     h_strategy_limits_body, "set the running-strategy limits (audited; applies to the next start)", "admin",
     "{\"200\":{\"description\":\"paper, live\"},\"422\":{\"description\":\"a limit out of 1..1000\"}}"},
    /* Backtests (docs/api.md "Backtests"): run by the backtest service's own workers. */
    {API_POST, "/api/v1/backtests", "backtests.create", h_backtests_create, h_backtests_create_body,
     "submit a backtest: strategy and params (checked against its schema), data (an uploaded bar CSV, "
     "simulator bars or the server's candles), capital, dates, risk and costs (audited)", "backtests",
     "{\"202\":{\"description\":\"id, status queued, url\"},\"404\":{\"description\":\"account_id: not an "
     "account you own or trade\"},\"413\":{\"description\":\"data.csv too large\"},\"422\":{\"description\":"
     "\"a bad field, named (params.NAME, data.csv with line and column, symbols[i], ...)\"},\"429\":"
     "{\"description\":\"queue_full (Retry-After)\"},\"503\":{\"description\":\"no backtest service or no "
     "market feed (source market)\"}}"},
    {API_GET, "/api/v1/backtests", "backtests.list", h_backtests_list, NULL,
     "the backtests the caller submitted or may read through an account, newest first (?cursor=&limit=, "
     "limit 1..100, default 20)", "backtests",
     "{\"200\":{\"description\":\"items: id, user_id, account_id, status, progress, strategy, source, "
     "created_at, started_at, finished_at, error; next_cursor\"}}"},
    {API_GET, "/api/v1/backtests/{id}", "backtests.get", h_backtests_get, NULL,
     "a backtest: status queued|running|done|failed|cancelled, progress 0..1, the request, metrics when done",
     "backtests",
     "{\"200\":{\"description\":\"as in the list, plus request and metrics (null until done)\"},\"404\":"
     "{\"description\":\"absent or not yours\"}}"},
    {API_GET, "/api/v1/backtests/{id}/trades", "backtests.trades", h_backtests_trades, NULL,
     "the trades of a finished backtest (docs/backtest-output.md)", "backtests",
     "{\"200\":{\"description\":\"backtest_id, trades\"},\"404\":{\"description\":\"absent or not "
     "yours\"},\"409\":{\"description\":\"not_done\"}}"},
    {API_GET, "/api/v1/backtests/{id}/equity", "backtests.equity", h_backtests_equity, NULL,
     "the equity curve of a finished backtest, each point with its drawdown", "backtests",
     "{\"200\":{\"description\":\"backtest_id, initial_capital, final_equity, max_drawdown_pct, equity_curve "
     "[time, equity, drawdown_pct]\"},\"404\":{\"description\":\"absent or not yours\"},\"409\":"
     "{\"description\":\"not_done\"}}"},
    {API_GET, "/api/v1/backtests/{id}/report", "backtests.report", h_backtests_report, NULL,
     "the HTML report of a finished backtest (text/html, self-contained)", "backtests",
     "{\"200\":{\"description\":\"the report\",\"content\":{\"text/html\":{}}},\"404\":{\"description\":"
     "\"absent or not yours\"},\"409\":{\"description\":\"not_done\"},\"503\":{\"description\":"
     "\"report_unavailable\"}}"},
    {API_POST, "/api/v1/backtests/{id}/cancel", "backtests.cancel", h_backtests_cancel, NULL,
     "cancel a queued or running backtest (the submitter or the account's owner; audited)", "backtests",
     "{\"200\":{\"description\":\"id, status cancelled (it was queued)\"},\"202\":{\"description\":"
     "\"id, status cancelling (it is running and stops within milliseconds)\"},\"404\":{\"description\":"
     "\"absent or not yours\"},\"409\":{\"description\":\"already_finished\"}}"},
};
const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];
