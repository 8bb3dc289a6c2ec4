/* api/routes: the route table and the system handlers. Resource handlers live one file per
 * resource (api/h_<resource>.c) and add their rows here; see docs/api.md "Adding a route". */
#include "api/h_auth.h"
#include "api/http.h"
#include "api/json_err.h"
#include "api/router.h"
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

static void h_health(struct api_request *req, struct api_response *res)
{
    /* "store" joins when the store lands: liveness plus a store round trip. */
    res->json = json_pack("{s:s, s:s, s:f, s:i}", "status", "ok", "version", ATP_VERSION,
                          "uptime_s", (double)(long long)(api_server_uptime_s(req->server) * 1000) / 1000, "inflight",
                          api_server_inflight(req->server));
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

const struct api_route api_routes[] = {
    {API_GET, "/health", "health", h_health, NULL, "liveness and store check", "system",
     "{\"200\":{\"description\":\"alive\",\"content\":{\"application/json\":{\"schema\":{\"type\":"
     "\"object\",\"required\":[\"status\"],\"properties\":{\"status\":{\"type\":\"string\"},"
     "\"version\":{\"type\":\"string\"},\"uptime_s\":{\"type\":\"number\"},\"inflight\":{\"type\":"
     "\"integer\"}}}}}}}"},
    {API_GET, "/metrics", "metrics", h_metrics, NULL, "Prometheus metrics", "system",
     "{\"200\":{\"description\":\"Prometheus text exposition\",\"content\":{\"text/plain\":"
     "{\"schema\":{\"type\":\"string\"}}}}}"},
    {API_GET, "/api/v1/openapi.json", "openapi", h_openapi, NULL, "this document", "system", NULL},
    {API_POST, "/api/v1/auth/register", "auth.register", h_auth_register, h_auth_register_body,
     "register a new user (a trader)", "auth",
     "{\"201\":{\"description\":\"the new user: id, email, name, role\"},\"409\":{\"description\":"
     "\"the email is taken\"},\"422\":{\"description\":\"weak password or invalid field\"}}"},
    {API_POST, "/api/v1/auth/login", "auth.login", h_auth_login, h_auth_login_body,
     "log in: access and refresh tokens", "auth",
     "{\"200\":{\"description\":\"access_token, refresh_token, expires_in (s), refresh_expires_in (s), user\"},\"401\":{\"description\":\"wrong email or password\"},\"423\":{\"description\":\"locked after 3 failed logins (15 min)\"}}"},
    {API_POST, "/api/v1/auth/refresh", "auth.refresh", h_auth_refresh, h_auth_refresh_body,
     "rotate a refresh token: new access and refresh tokens", "auth",
     "{\"200\":{\"description\":\"access_token, refresh_token, expires_in (s), refresh_expires_in (s), user\"},\"401\":{\"description\":\"unknown, expired or reused refresh token\"}}"},
    {API_POST, "/api/v1/auth/logout", "auth.logout", h_auth_logout, h_auth_refresh_body,
     "revoke a refresh token", "auth",
     "{\"200\":{\"description\":\"revoked\"},\"401\":{\"description\":\"unknown refresh token\"}}"},
    {API_GET, "/api/v1/me", "me", h_me, NULL, "the caller's user", "auth",
     "{\"200\":{\"description\":\"id, email, name, role\"},\"401\":{\"description\":"
     "\"no valid access token\"}}"},
};
const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];
