/* libFuzzer target for the request parsing api/ owns (libwebsockets parses the HTTP framing):
 * input = "METHOD PATH[?QUERY]\n" then the body. Drives the router over the real route table,
 * the policy decision of the matched route for every role, query-parameter decoding, the
 * request-id check and the JSON body schema of the route (or of auth.login). Checks beyond
 * "no crash, no leak":
 *  - a match returns a route of that method (or GET for HEAD) whose params are NUL-terminated;
 *  - BAD_METHOD reports a non-empty Allow mask, NOT_FOUND none;
 *  - a body accepted by the schema is an object holding every required field;
 *  - a refused body names a field, in valid UTF-8 (it goes into a JSON answer). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/policy.h"
#include "api/request.h"
#include "api/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line_len = nl ? (size_t)(nl - data) : size;
    if (line_len > 4096)
        return 0;
    char line[4097];
    memcpy(line, data, line_len);
    line[line_len] = '\0';
    if (strlen(line) != line_len)
        return 0; /* lws never hands us a NUL inside a request line */
    const char *body = nl ? (const char *)nl + 1 : NULL;
    size_t body_len = nl ? size - line_len - 1 : 0;

    char *sp = strchr(line, ' ');
    const char *path = sp ? sp + 1 : line;
    if (sp)
        *sp = '\0';
    unsigned method = sp ? api_method_parse(line) : API_GET;
    char *q = strchr(path, '?');
    const char *query = "";
    if (q) {
        *q = '\0';
        query = q + 1;
    }

    char value[64];
    (void)api_query_get(query, "cursor", value, sizeof value);
    (void)api_query_get(query, "limit", value, sizeof value);
    (void)api_request_id_valid(query);

    const struct api_route *route = NULL;
    struct api_param params[API_MAX_PARAMS];
    int n_params = 0;
    unsigned allowed = 0;
    enum api_match m = api_route_match(api_routes, api_n_routes, method ? method : API_GET, path,
                                       &route, params, &n_params, &allowed);
    if (m == API_MATCH_OK) {
        if (!route || !(route->method == (method ? method : API_GET) ||
                        (method == API_HEAD && route->method == API_GET)))
            abort();
        for (int i = 0; i < n_params; i++)
            if (strnlen(params[i].value, API_PARAM_MAX) >= API_PARAM_MAX)
                abort();
        for (int role = 0; role < API_N_ROLES; role++)
            for (int rel = 0; rel <= API_REL_VISIBLE; rel++)
                (void)api_policy_decide(route->name, (enum api_role)role, (enum api_relation)rel);
    } else if ((m == API_MATCH_BAD_METHOD) != (allowed != 0)) {
        abort();
    }

    const struct api_field *fields = route && route->body ? route->body : NULL;
    for (size_t i = 0; !fields && i < api_n_routes; i++)
        if (api_routes[i].body)
            fields = api_routes[i].body;
    if (!fields)
        return 0;
    json_t *json = NULL;
    struct atp_err err;
    int rc = api_body_parse(body, body_len, fields, &json, &err);
    if (rc == ATP_OK) {
        if (!json_is_object(json))
            abort();
        for (const struct api_field *f = fields; f->name; f++)
            if (f->required && !json_object_get(json, f->name))
                abort();
        json_decref(json);
    } else {
        json_t *field = json_string(err.field); /* NULL for invalid UTF-8 */
        if (json || !err.field[0] || !field)
            abort();
        json_decref(field);
    }
    return 0;
}
