/* libFuzzer target: the same bytes as the JSON body of EVERY route of the route table that takes
 * one (api_body_parse with that route's field list), as a query string (api_query_get,
 * api_percent_decode) and as a decoded path (api_route_match). fuzz_http_request decodes one
 * request line and checks one route; this one makes sure no route's schema is left out. Checks
 * beyond "no crash, no leak":
 *  - an accepted body is an object with only declared fields, every required one present and not
 *    null, each present one of its declared type and within its length (strings: bytes, no NUL);
 *  - a refused body has no JSON and names a field ("body" or a declared or the unknown one) in
 *    valid UTF-8 (the error answer is JSON text: an unknown key cut mid-character was a 500);
 *  - a query value found in a small buffer is found, equal, in a large one; a decoded value never
 *    holds a NUL and is never longer than its source;
 *  - a matched path is exactly its route's pattern with the parameters put back. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/request.h"
#include "api/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int field_ok(const struct api_field *f, json_t *v)
{
    switch (f->type) {
    case API_FT_STRING:
        return json_is_string(v) && json_string_length(v) <= (f->max_len ? f->max_len : 4096) &&
               strlen(json_string_value(v)) == json_string_length(v);
    case API_FT_INT: return json_is_integer(v);
    case API_FT_BOOL: return json_is_boolean(v);
    case API_FT_OBJECT: return json_is_object(v);
    case API_FT_ARRAY: return json_is_array(v) && json_array_size(v) <= (f->max_len ? f->max_len : 1000);
    case API_FT_DECIMAL: return json_is_number(v) || json_is_string(v);
    case API_FT_NUMBER: return json_is_number(v);
    }
    return 0;
}

static void check_body(const char *body, size_t len, const struct api_field *fields)
{
    json_t *json = (json_t *)1;
    struct atp_err err;
    int rc = api_body_parse(body, len, fields, &json, &err);
    if (rc != ATP_OK) {
        json_t *field = json_string(err.field); /* NULL for invalid UTF-8 */
        if (json || !err.field[0] || !field)
            abort();
        json_decref(field);
        return;
    }
    if (!json_is_object(json))
        abort();
    size_t declared = 0;
    for (const struct api_field *f = fields; f->name; f++) {
        json_t *v = json_object_get(json, f->name);
        if (v) {
            declared++;
            if (!json_is_null(v) && !field_ok(f, v))
                abort();
        }
        if (f->required && (!v || json_is_null(v)))
            abort();
    }
    if (declared != json_object_size(json)) /* an undeclared field got through */
        abort();
    json_decref(json);
}

static void check_query(const char *query, size_t len)
{
    static const char *const names[] = {"cursor", "limit", "a", "", "x y", "%"};
    char small[8], big[4096];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int rs = api_query_get(query, names[i], small, sizeof small);
        int rb = api_query_get(query, names[i], big, sizeof big);
        if (strnlen(small, sizeof small) >= sizeof small || strnlen(big, sizeof big) >= sizeof big)
            abort();
        if (rs == ATP_OK && (rb != ATP_OK || strcmp(small, big) != 0))
            abort();
        if (rb == ATP_OK && strlen(big) > len)
            abort();
    }
    for (int plus = 0; plus <= 1; plus++) {
        if (api_percent_decode(query, len, big, sizeof big, plus) == ATP_OK) {
            if (strlen(big) > len || (!plus && !memchr(query, '%', len) && strcmp(big, query) != 0))
                abort();
        }
    }
}

static void check_path(const char *path)
{
    const struct api_route *route = NULL;
    struct api_param params[API_MAX_PARAMS];
    int n = 0;
    unsigned allowed = 0;
    static const unsigned methods[] = {API_GET, API_HEAD, API_POST, API_PATCH, API_DELETE, API_PUT};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        enum api_match r = api_route_match(api_routes, api_n_routes, methods[m], path, &route, params,
                                           &n, &allowed);
        if (r != API_MATCH_OK) {
            if ((r == API_MATCH_BAD_METHOD) != (allowed != 0) || route || n)
                abort();
            continue;
        }
        /* The pattern with each {param} replaced by its value gives back the path. */
        char rebuilt[8192];
        size_t o = 0;
        int k = 0;
        for (const char *p = route->pattern; *p;) {
            if (*p == '{') {
                if (k >= n)
                    abort();
                size_t vl = strnlen(params[k].value, API_PARAM_MAX);
                if (vl == 0 || vl >= API_PARAM_MAX || memchr(params[k].value, '/', vl) ||
                    strncmp(p + 1, params[k].name, params[k].name_len) != 0 ||
                    p[1 + params[k].name_len] != '}' || o + vl >= sizeof rebuilt)
                    abort();
                memcpy(rebuilt + o, params[k].value, vl);
                o += vl;
                p += params[k].name_len + 2;
                k++;
            } else {
                if (o + 1 >= sizeof rebuilt)
                    abort();
                rebuilt[o++] = *p++;
            }
        }
        rebuilt[o] = '\0';
        if (k != n || strcmp(rebuilt, path) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The body as the server would hand it: bytes with an exact length, no terminator. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    for (size_t i = 0; i < api_n_routes; i++)
        if (api_routes[i].body)
            check_body(body, size, api_routes[i].body);
    free(body);

    /* Query string and path: text up to the first NUL (lws never hands us one). */
    if (size > 4096)
        return 0;
    char text[4097];
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);
    check_query(text, len);
    check_path(text);
    return 0;
}
