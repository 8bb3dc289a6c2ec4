/* api/http: libwebsockets on a foreign libuv loop (LWS_SERVER_OPTION_LIBUV + foreign_loops), so
 * the io thread has one loop for HTTP, WebSockets and, later, curl and timers. */
#include "api/http.h"

#include "api/authn.h"
#include "api/h_accounts.h"
#include "api/json_err.h"
#include "api/policy.h"
#include "api/ratelimit.h"
#include "api/request.h"
#include "api/router.h"
#include "auth/jwt.h"
#include "core/alloc.h"
#include "core/log.h"

#include <libwebsockets.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Latency buckets of the duration histogram, seconds. */
static const double lat_bounds[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0};
#define N_LAT (sizeof lat_bounds / sizeof lat_bounds[0])
#define N_STATUS_SLOTS 16

struct route_stats {
    int status[N_STATUS_SLOTS];            /* 0 = free slot */
    uint64_t count[N_STATUS_SLOTS];
    uint64_t lat_bucket[N_LAT + 1];        /* last = +Inf */
    double lat_sum_s;
    uint64_t lat_count;
};

struct api_server {
    struct api_config cfg;
    uv_loop_t *loop;
    struct lws_context *lws;
    int lws_destroying;                    /* lws_context_destroy was called once */
    int port;
    struct ratelimit *rl;
    struct route_stats *stats;             /* api_n_routes + 1 (the last: unmatched) */
    uint64_t rate_limited;
    int inflight;
    int draining;
    uv_timer_t drain_timer;
    int drain_timer_open;
    int64_t drain_deadline_ms;
    struct timespec started;
    struct store *store;                   /* borrowed; NULL: no store */
    const struct vault_keyring *vault;     /* borrowed; NULL: no master key */
    unsigned char jwt_secret[256];
    struct jwt_config jwt;                 /* secret_len 0: no tokens accepted */
};

/* Per connection (kept across keep-alive requests; reset per request). */
struct pss {
    struct api_server *srv;
    int active;                            /* a request is in flight */
    unsigned method;
    char path[1024];
    char query[1024];
    char request_id[API_REQUEST_ID_MAX + 1];
    char ip[64];
    char bearer[JWT_MAX_LEN + 1];          /* Authorization: Bearer token, "" when none */
    char user_agent[256];
    int64_t t0_ns;
    char *body;
    size_t body_len, body_cap;
    int body_expected;                     /* waiting for HTTP_BODY_COMPLETION */
    int responded;
    int close_after;                       /* Connection: close after the response */
    int closing;                           /* response written, close once flushed */
    /* response */
    char *out;
    size_t out_len, out_sent;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void api_config_defaults(struct api_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    cfg->port = 8080;
    cfg->body_max = 1u << 20;
    cfg->rate_per_s = 50;
    cfg->rate_burst = 100;
    cfg->drain_timeout_ms = 5000;
}

int api_config_listen(struct api_config *cfg, const char *text, struct atp_err *err)
{
    const char *colon = strrchr(text, ':');
    const char *port_text = colon ? colon + 1 : text;
    char *end;
    long port = strtol(port_text, &end, 10);
    if (!*port_text || *end || port < 0 || port > 65535)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "listen",
                           "must be HOST:PORT with PORT 0..65535, not '%s'", text);
    if (colon) {
        size_t hl = (size_t)(colon - text);
        if (hl >= sizeof cfg->host)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "listen", "host too long in '%s'", text);
        if (hl > 0) {
            memcpy(cfg->host, text, hl);
            cfg->host[hl] = '\0';
        }
    }
    cfg->port = (int)port;
    return ATP_OK;
}

/* ---- metrics ---- */

static void stats_record(struct api_server *srv, const struct api_route *route, int status, double secs)
{
    size_t idx = route ? (size_t)(route - api_routes) : api_n_routes;
    struct route_stats *st = &srv->stats[idx];
    for (int i = 0; i < N_STATUS_SLOTS; i++) {
        if (st->status[i] == status || st->status[i] == 0 || i == N_STATUS_SLOTS - 1) {
            if (st->status[i] == 0)
                st->status[i] = status;
            st->count[i]++;
            break;
        }
    }
    size_t b = 0;
    while (b < N_LAT && secs > lat_bounds[b])
        b++;
    st->lat_bucket[b]++;
    st->lat_sum_s += secs;
    st->lat_count++;
}

struct textbuf {
    char *p;
    size_t len, cap;
    int failed;
};

static void tb_printf(struct textbuf *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct textbuf *tb, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !tb->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(tb->p ? tb->p + tb->len : NULL, tb->p ? tb->cap - tb->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            tb->failed = 1;
            return;
        }
        if (tb->p && tb->len + (size_t)n < tb->cap) {
            tb->len += (size_t)n;
            return;
        }
        size_t cap = tb->cap ? tb->cap : 4096;
        while (cap <= tb->len + (size_t)n)
            cap *= 2;
        char *p = atp_realloc(tb->p, cap);
        if (!p) {
            tb->failed = 1;
            return;
        }
        tb->p = p;
        tb->cap = cap;
    }
}

int api_metrics_render(struct api_server *srv, char **out, size_t *len)
{
    struct textbuf tb = {0};
    tb_printf(&tb, "# HELP atp_http_requests_total HTTP requests by route and status.\n"
                   "# TYPE atp_http_requests_total counter\n");
    for (size_t r = 0; r <= api_n_routes; r++) {
        const char *name = r < api_n_routes ? api_routes[r].name : "unmatched";
        const char *method = r < api_n_routes ? api_method_name(api_routes[r].method) : "";
        for (int i = 0; i < N_STATUS_SLOTS && srv->stats[r].status[i]; i++)
            tb_printf(&tb, "atp_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                      name, method, srv->stats[r].status[i],
                      (unsigned long long)srv->stats[r].count[i]);
    }
    tb_printf(&tb, "# HELP atp_http_request_duration_seconds Time from request to response.\n"
                   "# TYPE atp_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= api_n_routes; r++) {
        const struct route_stats *st = &srv->stats[r];
        const char *name = r < api_n_routes ? api_routes[r].name : "unmatched";
        if (!st->lat_count)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b <= N_LAT; b++) {
            cum += st->lat_bucket[b];
            if (b < N_LAT)
                tb_printf(&tb, "atp_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                          name, lat_bounds[b], (unsigned long long)cum);
            else
                tb_printf(&tb, "atp_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                          name, (unsigned long long)cum);
        }
        tb_printf(&tb, "atp_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name, st->lat_sum_s);
        tb_printf(&tb, "atp_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                  (unsigned long long)st->lat_count);
    }
    tb_printf(&tb, "# HELP atp_http_rate_limited_total Requests refused by the per-IP rate limit.\n"
                   "# TYPE atp_http_rate_limited_total counter\natp_http_rate_limited_total %llu\n"
                   "# HELP atp_http_inflight_requests Requests being served.\n"
                   "# TYPE atp_http_inflight_requests gauge\natp_http_inflight_requests %d\n"
                   "# HELP atp_uptime_seconds Seconds since the server started.\n"
                   "# TYPE atp_uptime_seconds gauge\natp_uptime_seconds %.3f\n",
              (unsigned long long)srv->rate_limited, srv->inflight, api_server_uptime_s(srv));
    if (tb.failed) {
        atp_free(tb.p);
        return ATP_ENOMEM;
    }
    *out = tb.p;
    *len = tb.len;
    return ATP_OK;
}

void api_server_set_store(struct api_server *srv, struct store *store) { srv->store = store; }
struct store *api_server_store(const struct api_server *srv) { return srv->store; }
void api_server_set_vault(struct api_server *srv, const struct vault_keyring *kr) { srv->vault = kr; }
const struct vault_keyring *api_server_vault(const struct api_server *srv) { return srv->vault; }

int api_server_set_jwt_secret(struct api_server *srv, const unsigned char *secret, size_t len)
{
    if (!secret || len < JWT_SECRET_MIN || len > sizeof srv->jwt_secret)
        return ATP_EINVAL;
    memcpy(srv->jwt_secret, secret, len);
    srv->jwt.secret = srv->jwt_secret;
    srv->jwt.secret_len = len;
    srv->jwt.issuer = "atp";
    srv->jwt.audience = "atp-api";
    srv->jwt.ttl_s = JWT_DEFAULT_TTL_S;
    return ATP_OK;
}

const struct jwt_config *api_server_jwt(const struct api_server *srv)
{
    return srv->jwt.secret_len ? &srv->jwt : NULL;
}

double api_server_uptime_s(const struct api_server *srv)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - srv->started.tv_sec) + (double)(now.tv_nsec - srv->started.tv_nsec) / 1e9;
}

int api_server_inflight(const struct api_server *srv)
{
    return srv->inflight;
}

int api_server_port(const struct api_server *srv)
{
    return srv->port;
}

/* ---- request lifecycle ---- */

static void pss_reset(struct pss *pss)
{
    atp_free(pss->body);
    atp_free(pss->out);
    struct api_server *srv = pss->srv;
    if (pss->active && srv)
        srv->inflight--;
    memset(pss, 0, sizeof *pss);
    pss->srv = srv;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
                                       (int)strlen(value), p, end);
}

/* Serializes res, writes the status line and headers now and queues the body for WRITEABLE. */
static int respond(struct lws *wsi, struct pss *pss, struct api_response *res, const struct api_route *route)
{
    struct api_server *srv = pss->srv;
    int status = res->status ? res->status : 200;
    const char *ctype = "application/json";
    if (res->text) {
        pss->out = res->text;
        pss->out_len = res->text_len;
        res->text = NULL;
        if (res->content_type)
            ctype = res->content_type;
    } else {
        pss->out = res->json ? json_dumps(res->json, JSON_COMPACT) : NULL;
        if (pss->out) {
            /* json_dumps uses malloc; take a copy through our allocator so atp_free applies. */
            char *copy = atp_strdup(pss->out);
            free(pss->out);
            pss->out = copy;
        }
        if (!pss->out) {
            status = 500;
            pss->out = atp_strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
        }
        pss->out_len = pss->out ? strlen(pss->out) : 0;
    }
    json_decref(res->json);
    res->json = NULL;
    if (pss->method == API_HEAD)
        pss->out_len = 0;
    pss->responded = 1;

    double secs = (double)(mono_ns() - pss->t0_ns) / 1e9;
    stats_record(srv, route, status, secs);
    atp_log_kv(status == 500 ? LOG_ERROR : LOG_INFO, "http", "request_id", pss->request_id,
               "%s %s %d %.3fms ip=%s route=%s", api_method_name(pss->method), pss->path, status,
               secs * 1e3, pss->ip, route ? route->name : "-");

    unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    char num[32];
    if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, (lws_filepos_t)pss->out_len, &p, end) ||
        add_header(wsi, "x-request-id:", pss->request_id, &p, end) ||
        add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_header(wsi, "x-frame-options:", "DENY", &p, end) ||
        add_header(wsi, "content-security-policy:", "default-src 'none'; frame-ancestors 'none'", &p, end) ||
        add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end))
        return -1;
    if (res->retry_after_s > 0) {
        snprintf(num, sizeof num, "%d", res->retry_after_s);
        if (add_header(wsi, "retry-after:", num, &p, end))
            return -1;
    }
    if (res->allow[0] && add_header(wsi, "allow:", res->allow, &p, end))
        return -1;
    if ((pss->close_after || srv->draining) && add_header(wsi, "connection:", "close", &p, end))
        return -1;
    if (srv->draining)
        pss->close_after = 1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_error(struct lws *wsi, struct pss *pss, int status, const char *code,
                         const char *field, const char *msg, const struct api_route *route)
{
    struct api_response res = {0};
    api_error(&res, status, code, field, "%s", msg);
    return respond(wsi, pss, &res, route);
}

/* Runs the pipeline once the whole request (headers and body) is in. */
static int dispatch(struct lws *wsi, struct pss *pss)
{
    struct api_server *srv = pss->srv;
    struct api_request req = {0};
    struct api_response res = {0};
    const struct api_route *route = NULL;
    unsigned allowed = 0;
    char allow[64];

    enum api_match m = api_route_match(api_routes, api_n_routes, pss->method, pss->path, &route,
                                       req.params, &req.n_params, &allowed);
    if (m == API_MATCH_NOT_FOUND)
        return respond_error(wsi, pss, 404, "not_found", NULL, "no such route", NULL);
    if (m == API_MATCH_BAD_METHOD) {
        api_error(&res, 405, "method_not_allowed", NULL, "%s is not allowed here; allowed: %s",
                  api_method_name(pss->method), api_method_list(allowed, allow, sizeof allow));
        snprintf(res.allow, sizeof res.allow, "%s", allow);
        return respond(wsi, pss, &res, NULL);
    }
    /* Identity (api/authn.c): the caller, its session and its per-user rate limit; an ended
     * session or a rate-limited user is answered here. Then ownership, then the policy. */
    struct api_identity who;
    if (api_authn_resolve(api_authn_global(), srv->jwt.secret_len ? &srv->jwt : NULL, srv->store, pss->bearer,
                          pss->request_id, &who) != 0)
        return respond_error(wsi, pss, 500, "internal", NULL, "cannot resolve the caller", route);
    if (api_authn_refusal(&who, route, &res))
        return respond(wsi, pss, &res, route);
    enum api_role role = who.role;
    memcpy(req.session_id, who.session_id, sizeof req.session_id);
    req.user_id = who.user_id;
    req.role = (int)role;
    /* Ownership: the caller's relation to the addressed account, resolved once, before the policy. */
    enum api_relation rel = API_REL_NONE;
    if (h_accounts_relation(srv->store, route, req.params, req.n_params, req.user_id, role, &rel) != 0)
        return respond_error(wsi, pss, 500, "internal", NULL, "cannot resolve access", route);
    enum api_decision d = api_policy_decide(route->name, role, rel);
    if (d == API_POLICY_UNAUTHENTICATED)
        return respond_error(wsi, pss, 401, "unauthenticated", NULL, "log in first", route);
    if (d == API_POLICY_FORBIDDEN)
        return respond_error(wsi, pss, 403, "forbidden", NULL, "not allowed for your role", route);
    if (d == API_POLICY_HIDDEN)
        return respond_error(wsi, pss, 404, "not_found", NULL, "no such resource", route);

    req.method = pss->method;
    req.path = pss->path;
    req.query = pss->query;
    req.request_id = pss->request_id;
    req.client_ip = pss->ip;
    req.user_agent = pss->user_agent;
    req.body = pss->body;
    req.body_len = pss->body_len;
    req.route = route;
    req.server = srv;
    req.store = srv->store;
    if (route->body) {
        struct atp_err err;
        if (api_body_parse(pss->body, pss->body_len, route->body, &req.json, &err) != ATP_OK)
            return respond_error(wsi, pss, 400, err.field[0] && strcmp(err.field, "body") == 0
                                                    ? "malformed_body" : "invalid_field",
                                 err.field, err.msg, route);
    } else if (pss->body_len > 0) {
        return respond_error(wsi, pss, 400, "unexpected_body", "body", "this route takes no body", route);
    }
    route->handler(&req, &res);
    json_decref(req.json);
    return respond(wsi, pss, &res, route);
}

static unsigned method_of(struct lws *wsi)
{
    char *uri;
    int len;
    switch (lws_http_get_uri_and_method(wsi, &uri, &len)) {
    case LWSHUMETH_GET: return API_GET;
    case LWSHUMETH_POST: return API_POST;
    case LWSHUMETH_OPTIONS: return API_OPTIONS;
    case LWSHUMETH_PUT: return API_PUT;
    case LWSHUMETH_PATCH: return API_PATCH;
    case LWSHUMETH_DELETE: return API_DELETE;
    case LWSHUMETH_HEAD: return API_HEAD;
    default: return 0;
    }
}

static void make_request_id(char *out, size_t size)
{
    unsigned char raw[12];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, size, raw, size / 2 > sizeof raw ? sizeof raw : (size - 1) / 2);
}

static int on_request(struct lws *wsi, struct pss *pss, const char *uri)
{
    struct api_server *srv = pss->srv;
    pss_reset(pss);
    pss->active = 1;
    srv->inflight++;
    pss->t0_ns = mono_ns();
    pss->method = method_of(wsi);
    snprintf(pss->path, sizeof pss->path, "%s", uri ? uri : "/");
    lws_get_peer_simple(wsi, pss->ip, sizeof pss->ip);
    pss->bearer[0] = pss->user_agent[0] = 0;
    {
        char auth[JWT_MAX_LEN + 16];
        int alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
        if (alen > 7 && alen < (int)sizeof auth &&
            lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
            strncasecmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) <= JWT_MAX_LEN)
            memcpy(pss->bearer, auth + 7, strlen(auth + 7) + 1);
        int ulen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_USER_AGENT);
        if (ulen <= 0 || lws_hdr_copy(wsi, pss->user_agent, sizeof pss->user_agent, WSI_TOKEN_HTTP_USER_AGENT) < 0)
            pss->user_agent[0] = 0;
    }

    /* Query: lws hands out the '&'-separated fragments already percent-decoded. They are joined
     * back for handlers re-encoded ('%', '&', '+' and a value's own '='), so api_query_get's one
     * decoding gives back exactly what the client sent and a decoded '&' cannot split a value. */
    size_t qn = 0;
    char frag[512];
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        char enc[sizeof pss->query];
        size_t e = 0;
        int seen_eq = 0;
        for (const char *c = frag; *c && e + 4 < sizeof enc; c++) {
            int keep = *c != '%' && *c != '&' && *c != '+' && !(*c == '=' && seen_eq);
            seen_eq |= *c == '=';
            if (keep)
                enc[e++] = *c;
            else
                e += (size_t)snprintf(enc + e, sizeof enc - e, "%%%02X", (unsigned char)*c);
        }
        enc[e] = '\0';
        int w = snprintf(pss->query + qn, sizeof pss->query - qn, "%s%s", qn ? "&" : "", enc);
        if (w < 0 || (size_t)w >= sizeof pss->query - qn)
            break;
        qn += (size_t)w;
    }

    char rid[API_REQUEST_ID_MAX + 2] = "";
    int rlen = lws_hdr_custom_length(wsi, "x-request-id:", 13);
    if (rlen > 0 && rlen <= API_REQUEST_ID_MAX &&
        lws_hdr_custom_copy(wsi, rid, sizeof rid, "x-request-id:", 13) > 0 && api_request_id_valid(rid))
        memcpy(pss->request_id, rid, strlen(rid) + 1); /* valid: at most API_REQUEST_ID_MAX */
    else
        make_request_id(pss->request_id, sizeof pss->request_id);

    /* Requests that arrive while draining are refused; those already started finish. */
    if (srv->draining) {
        pss->close_after = 1;
        return respond_error(wsi, pss, 503, "shutting_down", NULL, "the server is shutting down", NULL);
    }
    if (!pss->method)
        return respond_error(wsi, pss, 405, "method_not_allowed", NULL, "unsupported method", NULL);

    int retry = 0;
    if (!ratelimit_take(srv->rl, pss->ip, mono_ns() / 1000000, &retry)) {
        struct api_response res = {0};
        srv->rate_limited++;
        api_error(&res, 429, "rate_limited", NULL, "too many requests; retry in %d s", retry);
        res.retry_after_s = retry;
        return respond(wsi, pss, &res, NULL);
    }

    char cl[32] = "";
    long long content_length = -1;
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        content_length = strtoll(cl, NULL, 10);
    int chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    if (content_length > 0 && (unsigned long long)content_length > srv->cfg.body_max) {
        pss->close_after = 1; /* the body will not be read */
        char msg[96];
        snprintf(msg, sizeof msg, "the body exceeds %zu bytes", srv->cfg.body_max);
        return respond_error(wsi, pss, 413, "body_too_large", "body", msg, NULL);
    }
    if (content_length > 0 || chunked) {
        pss->body_expected = 1;
        return 0;
    }
    return dispatch(wsi, pss);
}

static int on_body(struct lws *wsi, struct pss *pss, const void *in, size_t len)
{
    struct api_server *srv = pss->srv;
    if (pss->responded || !pss->body_expected)
        return 0;
    if (pss->body_len + len > srv->cfg.body_max) {
        pss->close_after = 1;
        pss->body_expected = 0;
        char msg[96];
        snprintf(msg, sizeof msg, "the body exceeds %zu bytes", srv->cfg.body_max);
        return respond_error(wsi, pss, 413, "body_too_large", "body", msg, NULL);
    }
    if (pss->body_len + len + 1 > pss->body_cap) {
        size_t cap = pss->body_cap ? pss->body_cap : 1024;
        while (cap < pss->body_len + len + 1)
            cap *= 2;
        char *b = atp_realloc(pss->body, cap);
        if (!b)
            return respond_error(wsi, pss, 500, "internal", NULL, "out of memory", NULL);
        pss->body = b;
        pss->body_cap = cap;
    }
    memcpy(pss->body + pss->body_len, in, len);
    pss->body_len += len;
    pss->body[pss->body_len] = '\0';
    return 0;
}

static int on_writeable(struct lws *wsi, struct pss *pss)
{
    if (pss->closing)
        return lws_partial_buffered(wsi) ? (lws_callback_on_writable(wsi), 0) : -1;
    if (!pss->responded)
        return 0;
    unsigned char buf[LWS_PRE + 16384];
    size_t left = pss->out_len - pss->out_sent;
    size_t n = left < sizeof buf - LWS_PRE ? left : sizeof buf - LWS_PRE;
    if (n > 0) {
        memcpy(buf + LWS_PRE, pss->out + pss->out_sent, n);
        int final = n == left;
        if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
            return -1;
        pss->out_sent += n;
        if (!final) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    int close_after = pss->close_after || pss->body_expected;
    pss_reset(pss);
    if (close_after) {
        /* The body may still be unread: closing is the only way back to a clean stream. */
        if (!lws_partial_buffered(wsi))
            return -1;
        pss->closing = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct pss *pss = user;
    struct api_server *srv = lws_context_user(lws_get_context(wsi));
    if (pss && !pss->srv)
        pss->srv = srv;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_request(wsi, pss, in);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(wsi, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss->responded || !pss->body_expected)
            return 0;
        pss->body_expected = 0;
        return dispatch(wsi, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss)
            pss_reset(pss);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"http", callback_http, sizeof(struct pss), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_emit(int level, const char *line)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", line);
    size_t n = strlen(copy);
    while (n && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
        copy[--n] = '\0';
    atp_log(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "lws", "%s", copy);
}

int api_server_new(const struct api_config *cfg, uv_loop_t *loop, struct api_server **out,
                   struct atp_err *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "libsodium failed to initialise");
    struct api_server *srv = atp_calloc(1, sizeof *srv);
    if (!srv)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    srv->cfg = *cfg;
    srv->loop = loop;
    clock_gettime(CLOCK_MONOTONIC, &srv->started);
    srv->stats = atp_calloc(api_n_routes + 1, sizeof *srv->stats);
    srv->rl = ratelimit_new(cfg->rate_per_s, cfg->rate_burst, 4096);
    if (!srv->stats || !srv->rl) {
        api_server_free(srv);
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory (or a bad rate limit)");
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *foreign_loops[1] = {loop};
    info.port = cfg->port;
    info.iface = cfg->host;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = foreign_loops;
    info.user = srv;
    /* lws clears srv->lws itself once an asynchronous destroy on the foreign loop completes. */
    info.pcontext = &srv->lws;
    info.max_http_header_data = 4096;
    info.keepalive_timeout = 5;
    info.timeout_secs = 30;
    srv->lws = lws_create_context(&info);
    if (!srv->lws) {
        api_server_free(srv);
        return atp_err_set(err, ATP_EIO, NULL, 0, "listen", "cannot listen on %s:%d", cfg->host, cfg->port);
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(srv->lws, "default");
    srv->port = vh ? lws_get_vhost_listen_port(vh) : cfg->port;
    *out = srv;
    return ATP_OK;
}

/* With a foreign loop, lws_context_destroy starts closing lws's handles; the loop finishes the
 * job, and a second call after the loop ended frees what is left (lws's foreign-loop example
 * does the same). srv->lws is cleared by lws through info.pcontext once it is all gone. */
static void close_lws(struct api_server *srv)
{
    if (srv->lws && !srv->lws_destroying) {
        srv->lws_destroying = 1;
        lws_context_destroy(srv->lws);
    }
}

static void drain_tick(uv_timer_t *t)
{
    struct api_server *srv = t->data;
    int64_t now_ms = mono_ns() / 1000000;
    if (srv->inflight > 0 && now_ms < srv->drain_deadline_ms)
        return;
    if (srv->inflight > 0)
        atp_log(LOG_WARN, "http", "drain timeout: closing %d request(s) in flight", srv->inflight);
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
    close_lws(srv);
}

void api_server_shutdown(struct api_server *srv)
{
    if (!srv || srv->draining)
        return;
    srv->draining = 1;
    atp_log(LOG_INFO, "http", "shutting down: %d request(s) in flight", srv->inflight);
    srv->drain_deadline_ms = mono_ns() / 1000000 + srv->cfg.drain_timeout_ms;
    uv_timer_init(srv->loop, &srv->drain_timer);
    srv->drain_timer.data = srv;
    srv->drain_timer_open = 1;
    uv_timer_start(&srv->drain_timer, drain_tick, 0, 20);
}

void api_server_free(struct api_server *srv)
{
    if (!srv)
        return;
    close_lws(srv);
    if (srv->lws) /* the second, final call */
        lws_context_destroy(srv->lws);
    ratelimit_free(srv->rl);
    atp_free(srv->stats);
    sodium_memzero(srv->jwt_secret, sizeof srv->jwt_secret);
    atp_free(srv);
}
