/* api/router: the one route table of the HTTP API and the matcher over it.
 *
 * A route is a row: method + path pattern ("/api/v1/accounts/{id}") -> handler, with the name
 * that keys its policy row (api/policy.c), its metrics label and its OpenAPI operationId, the
 * schema of its JSON body (validated before the handler runs) and its OpenAPI fragment. Adding a
 * route = adding a row to api_routes[] (api/routes.c) and a row to the policy table; a unit test
 * fails when either is missing (docs/api.md). The table is immutable after start-up, so any
 * thread may read it. Matching never allocates. */
#ifndef ATP_API_ROUTER_H
#define ATP_API_ROUTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Methods are bits so a path's allowed methods fit one mask (the Allow header of a 405). */
enum api_method {
    API_GET = 1u << 0,
    API_HEAD = 1u << 1,
    API_POST = 1u << 2,
    API_PUT = 1u << 3,
    API_PATCH = 1u << 4,
    API_DELETE = 1u << 5,
    API_OPTIONS = 1u << 6,
};

/* "GET" for API_GET; "?" for anything that is not exactly one method bit. */
const char *api_method_name(unsigned method);
/* "GET" -> API_GET; 0 for an unknown or unsupported method. Case-sensitive (RFC 9110). */
unsigned api_method_parse(const char *text);
/* Writes "GET, POST" for a mask into buf (NUL-terminated, truncated to size). Returns buf. */
char *api_method_list(unsigned mask, char *buf, size_t size);

/* One field of a JSON request body. The body must be a JSON object; fields not listed are
 * rejected (a typo is an error, not a silently ignored value). */
/* API_FT_DECIMAL: a money amount, a JSON number or a decimal string ("2500.05"); handlers parse
 * it exactly (h_orders_decimal, api/h_orders.h). API_FT_NUMBER: any JSON number, integer or not
 * (amounts, percentages where a double is fine). */
enum api_ftype { API_FT_STRING, API_FT_INT, API_FT_BOOL, API_FT_OBJECT, API_FT_ARRAY, API_FT_DECIMAL, API_FT_NUMBER };
struct api_field {
    const char *name;     /* NULL ends a field list */
    enum api_ftype type;
    int required;         /* 1: missing is a 400 naming the field */
    size_t max_len;       /* strings: max bytes (0: 4096); arrays: max elements (0: 1000) */
    const char *desc;     /* OpenAPI description */
};

#define API_IDEM_KEY_MAX 128 /* bytes kept of an Idempotency-Key header, with the NUL */
#define API_MAX_PARAMS 4
#define API_PARAM_MAX 128 /* longest path parameter value, bytes */
struct api_param {
    const char *name;           /* points into the route pattern, not NUL-terminated at '}' */
    size_t name_len;
    char value[API_PARAM_MAX];  /* percent-decoded */
};

struct api_server; /* api/http.h */
struct store;      /* store/store.h */
struct api_route;

/* One request as handlers see it. Everything is borrowed from the server for the duration of
 * the handler call; handlers must copy what they keep. */
struct api_request {
    unsigned method;                 /* one enum api_method bit */
    const char *path;                /* decoded path, e.g. "/api/v1/accounts/7" */
    const char *query;               /* raw query string without '?', "" when none */
    const char *request_id;          /* X-Request-Id (echoed or generated) */
    const char *client_ip;           /* peer address text */
    const char *body;                /* raw body bytes (may be NULL when empty) */
    size_t body_len;
    json_t *json;                    /* parsed body (borrowed) when the route declares a body */
    const struct api_route *route;
    struct api_param params[API_MAX_PARAMS];
    int n_params;
    struct api_server *server;
    struct store *store;             /* the store connection of the thread running the handler;
                                      * NULL when the server has no store */
    /* Identity, set by the JWT middleware before the policy decision (api/http.c): the user id of
     * a valid Bearer access token (0: anonymous) and its role (enum api_role). */
    int64_t user_id;
    int role;
    char session_id[64];             /* the caller's login session (api/authn.h), "" when anonymous */
    const char *user_agent;          /* User-Agent header, "" when none */
    const char *idempotency_key;     /* Idempotency-Key header (at most API_IDEM_KEY_MAX - 1
                                      * bytes kept), "" when none */
    int idempotency_key_len;         /* the header's full length: > API_IDEM_KEY_MAX - 1 means
                                      * it was cut, which handlers refuse */
};

/* What a handler fills. Exactly one of json and text is used: json (owned: the server
 * serializes and decrefs it) or text (owned, from atp_malloc) with content_type. */
struct api_response {
    int status;                 /* HTTP status; 0 means 200 */
    json_t *json;
    char *text;
    size_t text_len;
    const char *content_type;   /* static string, for text */
    int retry_after_s;          /* > 0: a Retry-After header */
    char allow[64];             /* non-empty: an Allow header (405) */
    const char *csp;            /* static string; non-NULL replaces the default (API-only)
                                 * Content-Security-Policy, e.g. for the /docs page */
};

/* Handlers run on a worker thread of the server (api/http.h), with req->store that worker's own
 * store connection; the routes api_route_on_io_thread names run on the io thread instead. Either way they
 * never check access (api/policy.c decided before). */
typedef void (*api_handler_fn)(struct api_request *req, struct api_response *res);

struct api_route {
    unsigned method;                  /* one enum api_method bit */
    const char *pattern;              /* "/api/v1/accounts/{id}": literal segments and {name} */
    const char *name;                 /* "accounts.get": policy key, metrics label, operationId */
    api_handler_fn handler;
    const struct api_field *body;     /* JSON body schema, NULL: the route takes no body */
    const char *summary;              /* OpenAPI summary */
    const char *tag;                  /* OpenAPI tag ("system", "auth", ...) */
    const char *responses;            /* OpenAPI responses object as JSON text; NULL: generic */
};

/* 1 when route's handler runs on the io thread rather than a worker: the system routes of
 * api/routes.c (health, metrics, the OpenAPI document, /docs), cheap answers that read the
 * server's own state and never call the store. */
int api_route_on_io_thread(const struct api_route *route);

/* The table (api/routes.c). */
extern const struct api_route api_routes[];
extern const size_t api_n_routes;

enum api_match { API_MATCH_OK = 0, API_MATCH_NOT_FOUND, API_MATCH_BAD_METHOD };

/* Finds the route of method + path in routes[0..n). path is the decoded path without the query.
 * OK: *out is the route, params/n_params hold the {name} values. BAD_METHOD: the path exists
 * for other methods, *allowed is their mask (HEAD is allowed wherever GET is). NOT_FOUND also
 * for a parameter value longer than API_PARAM_MAX - 1 or more than API_MAX_PARAMS of them.
 * Literal segments win over {param} segments at the same position. Never allocates. */
enum api_match api_route_match(const struct api_route *routes, size_t n, unsigned method,
                               const char *path, const struct api_route **out,
                               struct api_param *params, int *n_params, unsigned *allowed);

/* Value of path parameter name ("id") of req, or NULL. */
const char *api_param(const struct api_request *req, const char *name);

/* Checks a pattern: starts with '/', segments non-empty, {name} segments well-formed
 * ([a-z_]+), at most API_MAX_PARAMS of them. 1 when valid. */
int api_pattern_valid(const char *pattern);

#endif
