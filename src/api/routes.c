/* api/routes: the route table and the system handlers. Resource handlers live one file per
 * resource (api/h_<resource>.c) and add their rows here; see docs/api.md "Adding a route". */
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

static const struct api_field login_body[] = {
    {"email", API_FT_STRING, 1, 254, "the account's email address"},
    {"password", API_FT_STRING, 1, 1024, "the password"},
    {"totp", API_FT_STRING, 0, 16, "a TOTP code, when 2FA is enabled"},
    {NULL, 0, 0, 0, NULL},
};

static void h_login(struct api_request *req, struct api_response *res)
{
    /* The body was validated against login_body before we were called; the store (branch
     * `store`) brings users, so until it is merged the route answers 501. */
    (void)req;
    api_error(res, 501, "not_implemented", NULL, "login needs the user store (coming with the store)");
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
    {API_POST, "/api/v1/auth/login", "auth.login", h_login, login_body,
     "log in: access and refresh tokens", "auth",
     "{\"200\":{\"description\":\"tokens\"},\"501\":{\"description\":\"not implemented yet\"}}"},
};
const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];
