/* api/http: libwebsockets on a foreign libuv loop (LWS_SERVER_OPTION_LIBUV + foreign_loops), so
 * the io thread has one loop for HTTP, WebSockets and, later, curl and timers. */
#include "api/http.h"

#include "api/authn.h"
#include "api/h_accounts.h"
#include "api/ownership.h"
#include "api/h_backtests.h"
#include "api/json_err.h"
#include "api/policy.h"
#include "api/ratelimit.h"
#include "api/request.h"
#include "api/router.h"
#include "api/ws.h"
#include "auth/jwt.h"
#include "core/alloc.h"
#include "core/log.h"

#include "store/store.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Latency buckets of the duration histograms, seconds. */
static const double lat_bounds[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0};
#define N_LAT (sizeof lat_bounds / sizeof lat_bounds[0])
#define N_STATUS_SLOTS 16
#define JOB_POOL_MAX 256              /* finished jobs kept for reuse (io thread) */
#define PING_INTERVAL_MS 1000         /* store check period */
#define PING_OVERDUE_MS 5000          /* a check pending longer than this makes /health degraded */

struct histogram {
    uint64_t bucket[N_LAT + 1];            /* last = +Inf */
    double sum_s;
    uint64_t count;
};

struct route_stats {
    int status[N_STATUS_SLOTS];            /* 0 = free slot */
    uint64_t count[N_STATUS_SLOTS];
    struct histogram lat;
};

enum job_kind { JOB_REQUEST, JOB_PING };

struct pss;

/* One request from its headers to its answer. Filled on the io thread; while on_worker it belongs
 * to the worker running it (the io thread touches only pss, which only it reads); back on the io
 * thread it is answered and recycled. pss is the ticket of the connection waiting for it: a
 * connection that closes meanwhile clears it, so the answer of an orphaned job is dropped
 * instead of being written to freed memory. */
struct job {
    struct job *next;                      /* queue link */
    enum job_kind kind;
    struct pss *pss;                       /* io thread: the waiting connection; NULL: orphaned */
    struct lws *wsi;
    int on_worker;                         /* queued or running on a worker (io thread's view) */
    /* the request */
    unsigned method;
    char path[1024];
    char query[1024];
    char request_id[API_REQUEST_ID_MAX + 1];
    char ip[64];
    char bearer[JWT_MAX_LEN + 1];          /* Authorization: Bearer token, "" when none */
    char user_agent[256];
    char idem_key[API_IDEM_KEY_MAX];       /* Idempotency-Key, "" when none */
    int idem_key_len;
    int64_t t0_ns;
    char *body;                            /* kept across reuse (body_cap) */
    size_t body_len, body_cap;
    const struct api_route *route;
    struct api_param params[API_MAX_PARAMS];
    int n_params;
    /* the answer */
    struct api_response res;
    int64_t t_queued_ns, t_started_ns, t_done_ns;
    int ping_rc;                           /* JOB_PING: ATP_OK or the store's error */
    char ping_error[300];
};

struct worker {
    pthread_t tid;
    int started;
    struct api_server *srv;
    struct store *store;                   /* this thread's own connection */
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
    struct store *store;                   /* borrowed; the io thread's; NULL: no store */
    const struct vault_keyring *vault;     /* borrowed; NULL: no master key */
    unsigned char jwt_secret[256];
    struct jwt_config jwt;                 /* secret_len 0: no tokens accepted */
    /* CORS: the allowed origins, parsed from cfg.cors_origins */
    char origins[API_CORS_ORIGINS_MAX][API_ORIGIN_MAX];
    int n_origins;
    /* worker pool */
    struct worker *workers;
    int n_workers;
    pthread_mutex_t q_mu;                  /* guards q_head/q_tail/stopping */
    pthread_cond_t q_cv;
    struct job *q_head, *q_tail;
    int stopping;
    pthread_mutex_t done_mu;               /* guards done_head/done_tail/async_open */
    struct job *done_head, *done_tail;
    uv_async_t done_async;
    int async_open;
    int pool_ready;                        /* mutexes, cond and async initialised */
    int queued;                            /* io thread: jobs handed out, not yet back */
    struct job *free_jobs;                 /* io thread: recycled jobs */
    int n_free_jobs;
    struct histogram worker_wait;          /* queue wait of a job (io thread) */
    struct histogram worker_run;           /* time a job spends on a worker (io thread) */
    /* store check (io thread) */
    uv_timer_t ping_timer;
    int ping_timer_open;
    struct job *ping_job;                  /* the one ping, reused */
    int ping_pending;
    int64_t ping_sent_ns, ping_done_ns;
    int ping_ok;
    double ping_latency_s;
    char ping_error[300];
    const char *backend;
    /* WebSocket /ws (api/ws): the hub, and the protocol table it adds to the vhost */
    struct ws_hub *ws;
    struct lws_protocols protocols[3];
};

/* Per connection (kept across keep-alive requests; reset per request). */
struct pss {
    struct api_server *srv;
    struct job *job;                       /* the request in progress, NULL between requests */
    int active;                            /* a request is in flight */
    unsigned method;                       /* of the request in progress (HEAD: no body) */
    char origin[API_ORIGIN_MAX];           /* an allowed Origin to echo, "" otherwise */
    int body_expected;                     /* waiting for HTTP_BODY_COMPLETION */
    int job_ready;                         /* the worker's answer is back, to be written */
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
    cfg->workers = 2;
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

/* 1 when origin[0..len) is scheme://host[:port] as a browser sends it in Origin: http or https,
 * a host of letters, digits, '.' and '-' or a bracketed IPv6 literal, an optional numeric port. */
static int origin_valid(const char *o, size_t len)
{
    size_t i = len >= 7 && strncmp(o, "http://", 7) == 0 ? 7 : len >= 8 && strncmp(o, "https://", 8) == 0 ? 8 : 0;
    if (!i || len >= API_ORIGIN_MAX)
        return 0;
    size_t host = i;
    if (i < len && o[i] == '[') {
        for (i++; i < len && o[i] != ']'; i++)
            if (!((o[i] >= '0' && o[i] <= '9') || (o[i] >= 'a' && o[i] <= 'f') || (o[i] >= 'A' && o[i] <= 'F') ||
                  o[i] == ':' || o[i] == '.'))
                return 0;
        if (i == len || i == host + 1)
            return 0;
        i++; /* past ']' */
    } else {
        for (; i < len && o[i] != ':'; i++)
            if (!((o[i] >= 'a' && o[i] <= 'z') || (o[i] >= 'A' && o[i] <= 'Z') || (o[i] >= '0' && o[i] <= '9') ||
                  o[i] == '.' || o[i] == '-'))
                return 0;
        if (i == host)
            return 0;
    }
    if (i == len)
        return 1;
    if (o[i] != ':' || i + 1 == len)
        return 0;
    for (i++; i < len; i++)
        if (o[i] < '0' || o[i] > '9')
            return 0;
    return 1;
}

int api_config_cors(struct api_config *cfg, const char *list, const char *field, struct atp_err *err)
{
    char out[sizeof cfg->cors_origins];
    size_t n = 0;
    int count = 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        size_t len = (size_t)(t - p);
        if (len > 0) {
            if (!origin_valid(p, len))
                return atp_err_set(err, ATP_EINVAL, NULL, 0, field,
                                   "'%.*s' is not an origin: want http(s)://host[:port], exact (no path, no "
                                   "trailing slash, no wildcard)", (int)(len > 300 ? 300 : len), p);
            if (++count > API_CORS_ORIGINS_MAX)
                return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "more than %d origins", API_CORS_ORIGINS_MAX);
            if (n + len + 2 > sizeof out)
                return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "longer than %zu bytes", sizeof out - 1);
            if (n)
                out[n++] = ',';
            memcpy(out + n, p, len);
            n += len;
        }
        p = *e ? e + 1 : e;
    }
    out[n] = '\0';
    memcpy(cfg->cors_origins, out, n + 1);
    return ATP_OK;
}

/* ---- metrics ---- */

static void hist_observe(struct histogram *h, double secs)
{
    size_t b = 0;
    while (b < N_LAT && secs > lat_bounds[b])
        b++;
    h->bucket[b]++;
    h->sum_s += secs;
    h->count++;
}

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
    hist_observe(&st->lat, secs);
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

/* The series of one histogram; label is `route="x"` or "" (no labels). */
static void hist_render(struct textbuf *tb, const char *name, const char *label, const struct histogram *h)
{
    uint64_t cum = 0;
    const char *sep = *label ? "," : "";
    for (size_t b = 0; b <= N_LAT; b++) {
        cum += h->bucket[b];
        if (b < N_LAT)
            tb_printf(tb, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, label, sep, lat_bounds[b],
                      (unsigned long long)cum);
        else
            tb_printf(tb, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, label, sep, (unsigned long long)cum);
    }
    tb_printf(tb, "%s_sum%s%s%s %.6f\n", name, *label ? "{" : "", label, *label ? "}" : "", h->sum_s);
    tb_printf(tb, "%s_count%s%s%s %llu\n", name, *label ? "{" : "", label, *label ? "}" : "",
              (unsigned long long)h->count);
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
        char label[160];
        if (!srv->stats[r].lat.count)
            continue;
        snprintf(label, sizeof label, "route=\"%s\"", r < api_n_routes ? api_routes[r].name : "unmatched");
        hist_render(&tb, "atp_http_request_duration_seconds", label, &srv->stats[r].lat);
    }
    tb_printf(&tb, "# HELP atp_worker_duration_seconds Time a request spends on a worker thread: identity, "
                   "ownership, policy, body schema and handler, i.e. the store calls (and password hashing) "
                   "of the request.\n# TYPE atp_worker_duration_seconds histogram\n");
    hist_render(&tb, "atp_worker_duration_seconds", "", &srv->worker_run);
    tb_printf(&tb, "# HELP atp_worker_queue_wait_seconds Time a request waits for a free worker.\n"
                   "# TYPE atp_worker_queue_wait_seconds histogram\n");
    hist_render(&tb, "atp_worker_queue_wait_seconds", "", &srv->worker_wait);
    struct api_store_health h;
    api_server_store_health(srv, &h);
    struct ws_counters wsc;
    ws_hub_counters(srv->ws, &wsc);
    tb_printf(&tb, "# HELP atp_store_up 1 when the last store check (every second) succeeded.\n"
                   "# TYPE atp_store_up gauge\natp_store_up %d\n"
                   "# HELP atp_store_ping_seconds Duration of the last store check (a round trip to the database).\n"
                   "# TYPE atp_store_ping_seconds gauge\natp_store_ping_seconds %.6f\n",
              h.ok, h.latency_ms / 1e3);
    tb_printf(&tb, "# HELP atp_http_rate_limited_total Requests refused by the per-IP rate limit.\n"
                   "# TYPE atp_http_rate_limited_total counter\natp_http_rate_limited_total %llu\n"
                   "# HELP atp_http_inflight_requests Requests being served.\n"
                   "# TYPE atp_http_inflight_requests gauge\natp_http_inflight_requests %d\n"
                   "# HELP atp_worker_queue_depth Requests handed to the workers and not answered yet.\n"
                   "# TYPE atp_worker_queue_depth gauge\natp_worker_queue_depth %d\n"
                   "# HELP atp_workers Worker threads.\n"
                   "# TYPE atp_workers gauge\natp_workers %d\n"
                   "# HELP atp_websockets_open Open WebSocket connections (/ws).\n"
                   "# TYPE atp_websockets_open gauge\natp_websockets_open %d\n"
                   "# HELP atp_ws_subscriptions WebSocket subscriptions.\n"
                   "# TYPE atp_ws_subscriptions gauge\natp_ws_subscriptions %llu\n"
                   "# HELP atp_ws_messages_sent_total WebSocket messages written.\n"
                   "# TYPE atp_ws_messages_sent_total counter\natp_ws_messages_sent_total %llu\n"
                   "# HELP atp_ws_upgrades_refused_total WebSocket upgrades refused (401, 429, 503, 404).\n"
                   "# TYPE atp_ws_upgrades_refused_total counter\natp_ws_upgrades_refused_total %llu\n"
                   "# HELP atp_ws_dropped_slow_total WebSockets closed because their queue overflowed.\n"
                   "# TYPE atp_ws_dropped_slow_total counter\natp_ws_dropped_slow_total %llu\n"
                   "# HELP atp_ws_events_dropped_total Published events dropped: the hub's inbox was full.\n"
                   "# TYPE atp_ws_events_dropped_total counter\natp_ws_events_dropped_total %llu\n"
                   "# HELP atp_uptime_seconds Seconds since the server started.\n"
                   "# TYPE atp_uptime_seconds gauge\natp_uptime_seconds %.3f\n",
              (unsigned long long)srv->rate_limited, srv->inflight, srv->queued, srv->n_workers, wsc.open,
              (unsigned long long)wsc.subscriptions, (unsigned long long)wsc.sent, (unsigned long long)wsc.refused,
              (unsigned long long)wsc.dropped_slow, (unsigned long long)wsc.inbox_dropped, api_server_uptime_s(srv));
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
struct ws_hub *api_server_ws(const struct api_server *srv) { return srv->ws; }
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

/* ---- jobs (io thread) ---- */

static struct job *job_get(struct api_server *srv)
{
    struct job *job = srv->free_jobs;
    if (job) {
        srv->free_jobs = job->next;
        srv->n_free_jobs--;
    } else {
        job = atp_calloc(1, sizeof *job);
        if (!job)
            return NULL;
    }
    char *body = job->body;
    size_t cap = job->body_cap;
    /* Only the small fields: the strings are written before they are read. */
    job->next = NULL;
    job->kind = JOB_REQUEST;
    job->pss = NULL;
    job->wsi = NULL;
    job->on_worker = 0;
    job->route = NULL;
    job->n_params = 0;
    job->body = body;
    job->body_cap = cap;
    job->body_len = 0;
    memset(&job->res, 0, sizeof job->res);
    return job;
}

static void job_put(struct api_server *srv, struct job *job)
{
    if (!job)
        return;
    json_decref(job->res.json);
    atp_free(job->res.text);
    job->res.json = NULL;
    job->res.text = NULL;
    sodium_memzero(job->bearer, strnlen(job->bearer, sizeof job->bearer));
    if (job->body_len)
        sodium_memzero(job->body, job->body_len); /* a login's password */
    if (srv->n_free_jobs < JOB_POOL_MAX && job->body_cap <= 65536) {
        job->next = srv->free_jobs;
        srv->free_jobs = job;
        srv->n_free_jobs++;
        return;
    }
    atp_free(job->body);
    atp_free(job);
}

/* Frees a list of jobs, except keep (the ping job, freed on its own). */
static void job_free_list(struct job *job, const struct job *keep)
{
    while (job) {
        struct job *next = job->next;
        if (job == keep) {
            job = next;
            continue;
        }
        json_decref(job->res.json);
        atp_free(job->res.text);
        atp_free(job->body);
        atp_free(job);
        job = next;
    }
}

/* ---- request lifecycle ---- */

static void pss_reset(struct pss *pss)
{
    struct api_server *srv = pss->srv;
    if (pss->job) {
        if (pss->job->on_worker)
            pss->job->pss = NULL; /* orphaned: dropped when the worker hands it back */
        else if (srv)
            job_put(srv, pss->job);
    }
    atp_free(pss->out);
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

/* Writes the next piece of the body; at its end completes the transaction (or closes). The
 * return value is the lws callback's. */
static int write_body(struct lws *wsi, struct pss *pss)
{
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

/* Serializes res (taking its contents), writes the status line and headers, then the body (or
 * its first piece). io thread, inside an lws callback of wsi. */
static int respond(struct lws *wsi, struct pss *pss, struct api_response *res, const struct api_route *route)
{
    struct api_server *srv = pss->srv;
    int status = res->status ? res->status : 200;
    const char *ctype = "application/json";
    /* A JSON body is serialized onto the stack when it fits (the common case), so it goes out
     * with the headers without a heap copy; a larger one into pss->out for write_body. */
    static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    char small[8192];
    const char *body = NULL;
    size_t body_len = 0;
    if (res->text) {
        pss->out = res->text;
        res->text = NULL;
        body = pss->out;
        body_len = res->text_len;
        if (res->content_type)
            ctype = res->content_type;
    } else if (res->json) {
        size_t n = json_dumpb(res->json, small, sizeof small, JSON_COMPACT);
        if (n > 0 && n <= sizeof small) {
            body = small;
            body_len = n;
        } else if (n > 0 && (pss->out = atp_malloc(n)) && json_dumpb(res->json, pss->out, n, JSON_COMPACT) == n) {
            body = pss->out;
            body_len = n;
        }
    }
    if (!body && res->json) {
        status = 500;
        body = oom;
        body_len = sizeof oom - 1;
    }
    json_decref(res->json);
    res->json = NULL;
    if (pss->method == API_HEAD)
        body_len = 0;
    pss->out_len = body_len;
    pss->responded = 1;

    struct job *job = pss->job;
    const char *request_id = job ? job->request_id : "-";
    double secs = job ? (double)(mono_ns() - job->t0_ns) / 1e9 : 0;
    stats_record(srv, route, status, secs);
    atp_log_kv(status == 500 ? LOG_ERROR : LOG_INFO, "http", "request_id", request_id,
               "%s %s %d %.3fms ip=%s route=%s", api_method_name(pss->method), job ? job->path : "-",
               status, secs * 1e3, job ? job->ip : "-", route ? route->name : "-");

    unsigned char buf[LWS_PRE + 16384], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    char num[32];
    if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, (lws_filepos_t)pss->out_len, &p, end) ||
        add_header(wsi, "x-request-id:", request_id, &p, end) ||
        add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_header(wsi, "x-frame-options:", "DENY", &p, end) ||
        add_header(wsi, "content-security-policy:",
                   res->csp ? res->csp : "default-src 'none'; frame-ancestors 'none'", &p, end) ||
        add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end))
        return -1;
    if (srv->n_origins > 0) {
        /* The answer depends on Origin whenever CORS is on: caches must key on it. */
        if (add_header(wsi, "vary:", "Origin", &p, end))
            return -1;
        if (pss->origin[0] && (add_header(wsi, "access-control-allow-origin:", pss->origin, &p, end) ||
                               add_header(wsi, "access-control-expose-headers:", "X-Request-Id, Retry-After",
                                          &p, end)))
            return -1;
    }
    if (res->retry_after_s > 0) {
        snprintf(num, sizeof num, "%d", res->retry_after_s);
        if (add_header(wsi, "retry-after:", num, &p, end))
            return -1;
    }
    if (res->allow[0] && add_header(wsi, "allow:", res->allow, &p, end))
        return -1;
    if (res->status == 204 && res->allow[0] &&
        (add_header(wsi, "access-control-allow-methods:", res->allow, &p, end) ||
         add_header(wsi, "access-control-allow-headers:", "Authorization, Content-Type, X-Request-Id, Idempotency-Key",
                    &p, end) ||
         add_header(wsi, "access-control-max-age:", "600", &p, end)))
        return -1;
    if ((pss->close_after || srv->draining) && add_header(wsi, "connection:", "close", &p, end))
        return -1;
    if (srv->draining)
        pss->close_after = 1;
    if (lws_finalize_http_header(wsi, &p, end))
        return -1;
    /* A body that fits goes out with the headers in one send: half the syscalls and TCP segments
     * of two writes (the larger part of the cost of a small answer, perf on /health). lws does
     * not count bytes written as headers against Content-Length, so the body is then done. */
    if (body_len <= (size_t)(end - p)) {
        memcpy(p, body, body_len);
        p += body_len;
        pss->out_sent = body_len;
    } else if (body != pss->out) { /* cannot happen: small fits after any header block */
        return -1;
    }
    if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) != (int)(p - start))
        return -1;
    return write_body(wsi, pss);
}

static int respond_error(struct lws *wsi, struct pss *pss, int status, const char *code,
                         const char *field, const char *msg, const struct api_route *route)
{
    struct api_response res = {0};
    api_error(&res, status, code, field, "%s", msg);
    return respond(wsi, pss, &res, route);
}

/* The request body against the route's schema into *out: 1, or 0 with a 400 naming the field. */
static int parse_body(const struct job *job, const struct api_route *route, json_t **out, struct api_response *res)
{
    struct atp_err err;
    if (api_body_parse(job->body, job->body_len, route->body, out, &err) == ATP_OK)
        return 1;
    api_error(res, 400, err.field[0] && strcmp(err.field, "body") == 0 ? "malformed_body" : "invalid_field", err.field,
              "%s", err.msg);
    return 0;
}

/* Identity -> ownership -> policy -> body schema -> handler for a matched request, on the thread
 * that owns store (a worker, or the io thread for io-thread routes and the inline mode).
 * Fills job->res; reads only job, store and the server's immutable settings. */
static void run_pipeline(struct api_server *srv, struct job *job, struct store *store)
{
    struct api_request req = {0};
    struct api_response *res = &job->res;
    const struct api_route *route = job->route;
    memcpy(req.params, job->params, sizeof req.params);
    req.n_params = job->n_params;
    /* Identity (api/authn.c): the caller, its session and its per-user rate limit; an ended
     * session or a rate-limited user is answered here. Then ownership, then the policy. */
    struct api_identity who;
    if (api_authn_resolve(api_authn_global(), srv->jwt.secret_len ? &srv->jwt : NULL, store, job->bearer,
                          job->request_id, &who) != 0) {
        api_error(res, 500, "internal", NULL, "cannot resolve the caller");
        return;
    }
    if (api_authn_refusal(&who, route, res))
        return;
    enum api_role role = who.role;
    memcpy(req.session_id, who.session_id, sizeof req.session_id);
    req.user_id = who.user_id;
    req.role = (int)role;
    /* Ownership: the caller's relation to the addressed account, resolved once, before the policy
     * (api/ownership.h). A route whose account is named in its body (POST /strategies) has the
     * body checked first, so a missing or malformed account_id is a 400 naming it; an anonymous
     * caller is answered 401 by the policy before its body is looked at. */
    const struct api_account_ref *ref = api_ownership_ref(route);
    if (ref && ref->needs_body && route->body && role != API_ROLE_ANONYMOUS && !parse_body(job, route, &req.json, res))
        return;
    enum api_relation rel = API_REL_NONE;
    if (api_ownership_resolve(store, route, req.params, req.n_params, req.json, req.user_id, role, &rel) != 0 ||
        h_backtests_relation(store, route, req.params, req.n_params, req.user_id, role, &rel) != 0) {
        json_decref(req.json);
        api_error(res, 500, "internal", NULL, "cannot resolve access");
        return;
    }
    enum api_decision d = api_policy_decide(route->name, role, rel);
    if (d != API_POLICY_ALLOW)
        json_decref(req.json);
    if (d == API_POLICY_UNAUTHENTICATED) {
        api_error(res, 401, "unauthenticated", NULL, "log in first");
        return;
    }
    if (d == API_POLICY_FORBIDDEN) {
        api_error(res, 403, "forbidden", NULL, "not allowed for your role");
        return;
    }
    if (d == API_POLICY_HIDDEN) {
        api_error(res, 404, "not_found", NULL, "no such resource");
        return;
    }

    req.method = job->method;
    req.path = job->path;
    req.query = job->query;
    req.request_id = job->request_id;
    req.client_ip = job->ip;
    req.user_agent = job->user_agent;
    req.idempotency_key = job->idem_key;
    req.idempotency_key_len = job->idem_key_len;
    req.body = job->body;
    req.body_len = job->body_len;
    req.route = route;
    req.server = srv;
    req.store = store;
    if (route->body) {
        if (!req.json && !parse_body(job, route, &req.json, res))
            return;
    } else if (job->body_len > 0) {
        api_error(res, 400, "unexpected_body", "body", "this route takes no body");
        return;
    }
    route->handler(&req, res);
    json_decref(req.json);
}

/* ---- worker pool ---- */

/* The store check: one cheap read on the connection (the migration table). */
static void run_ping(struct job *job, struct store *store)
{
    struct atp_err err;
    atp_err_clear(&err);
    int count = 0;
    job->ping_rc = store ? store_migrate_status(store, NULL, 0, &count, &err) : ATP_OK;
    snprintf(job->ping_error, sizeof job->ping_error, "%s", job->ping_rc == ATP_OK ? "" : err.msg);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct api_server *srv = w->srv;
    for (;;) {
        pthread_mutex_lock(&srv->q_mu);
        while (!srv->q_head && !srv->stopping)
            pthread_cond_wait(&srv->q_cv, &srv->q_mu);
        struct job *job = srv->q_head;
        if (!job) { /* stopping, and nothing left to do */
            pthread_mutex_unlock(&srv->q_mu);
            break;
        }
        srv->q_head = job->next;
        if (!srv->q_head)
            srv->q_tail = NULL;
        pthread_mutex_unlock(&srv->q_mu);

        job->next = NULL;
        job->t_started_ns = mono_ns();
        if (job->kind == JOB_PING)
            run_ping(job, w->store);
        else
            run_pipeline(srv, job, w->store);
        job->t_done_ns = mono_ns();

        pthread_mutex_lock(&srv->done_mu);
        if (srv->done_tail)
            srv->done_tail->next = job;
        else
            srv->done_head = job;
        srv->done_tail = job;
        /* Under done_mu: the io thread closes the handle only after clearing async_open under it. */
        if (srv->async_open)
            uv_async_send(&srv->done_async);
        pthread_mutex_unlock(&srv->done_mu);
    }
    return NULL;
}

static void submit(struct api_server *srv, struct job *job)
{
    job->on_worker = 1;
    job->next = NULL;
    job->t_queued_ns = mono_ns();
    srv->queued++;
    pthread_mutex_lock(&srv->q_mu);
    if (srv->q_tail)
        srv->q_tail->next = job;
    else
        srv->q_head = job;
    srv->q_tail = job;
    pthread_cond_signal(&srv->q_cv);
    pthread_mutex_unlock(&srv->q_mu);
}

static void ping_apply(struct api_server *srv, const struct job *job)
{
    srv->ping_pending = 0;
    srv->ping_ok = job->ping_rc == ATP_OK;
    srv->ping_latency_s = (double)(job->t_done_ns - job->t_started_ns) / 1e9;
    srv->ping_done_ns = job->t_done_ns;
    snprintf(srv->ping_error, sizeof srv->ping_error, "%s", job->ping_error);
    if (!srv->ping_ok)
        atp_log(LOG_ERROR, "http", "store check failed: %s", job->ping_error);
}

/* Answers that came back from the workers (io thread, woken by uv_async_send). */
static void on_done(uv_async_t *a)
{
    struct api_server *srv = a->data;
    pthread_mutex_lock(&srv->done_mu);
    struct job *job = srv->done_head;
    srv->done_head = srv->done_tail = NULL;
    pthread_mutex_unlock(&srv->done_mu);
    while (job) {
        struct job *next = job->next;
        job->next = NULL;
        job->on_worker = 0;
        srv->queued--;
        if (job->kind == JOB_PING) {
            ping_apply(srv, job);
        } else {
            hist_observe(&srv->worker_wait, (double)(job->t_started_ns - job->t_queued_ns) / 1e9);
            hist_observe(&srv->worker_run, (double)(job->t_done_ns - job->t_started_ns) / 1e9);
            if (!job->pss) {
                job_put(srv, job); /* its connection closed meanwhile */
            } else {
                job->pss->job_ready = 1;
                lws_callback_on_writable(job->wsi);
            }
        }
        job = next;
    }
}

static void on_ping_timer(uv_timer_t *t)
{
    struct api_server *srv = t->data;
    if (srv->ping_pending || srv->draining)
        return;
    srv->ping_pending = 1;
    srv->ping_sent_ns = mono_ns();
    if (srv->n_workers > 0) {
        submit(srv, srv->ping_job);
    } else {
        srv->ping_job->t_started_ns = mono_ns();
        run_ping(srv->ping_job, srv->store);
        srv->ping_job->t_done_ns = mono_ns();
        ping_apply(srv, srv->ping_job);
    }
}

void api_server_store_health(const struct api_server *srv, struct api_store_health *out)
{
    memset(out, 0, sizeof *out);
    out->backend = srv->backend;
    if (!srv->backend) {
        out->ok = 1;
        return;
    }
    int64_t now = mono_ns();
    out->ok = srv->ping_ok;
    out->latency_ms = srv->ping_latency_s * 1e3;
    out->age_ms = (double)(now - srv->ping_done_ns) / 1e6;
    snprintf(out->error, sizeof out->error, "%s", srv->ping_ok ? "" : srv->ping_error);
    if (srv->ping_pending && now - srv->ping_sent_ns > (int64_t)PING_OVERDUE_MS * 1000000) {
        out->ok = 0;
        snprintf(out->error, sizeof out->error, "the store check has been pending for %.0f ms",
                 (double)(now - srv->ping_sent_ns) / 1e6);
    }
}

int api_server_workers(const struct api_server *srv)
{
    return srv->n_workers;
}

int api_server_start_workers(struct api_server *srv, const char *store_url, struct atp_err *err)
{
    int n = srv->cfg.workers;
    if (srv->workers || srv->ping_job)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL, "workers already started");
    if (n < 0 || n > API_WORKERS_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "workers", "must be 0..%d, not %d", API_WORKERS_MAX, n);
    if (n > 0 && store_url && strcmp(store_url, "sqlite::memory:") == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "db",
                           "sqlite::memory: is private to one connection, so the %d workers would each see an "
                           "empty database: use sqlite:PATH, PostgreSQL, or workers 0", n);
    srv->ping_job = atp_calloc(1, sizeof *srv->ping_job);
    if (!srv->ping_job)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    srv->ping_job->kind = JOB_PING;
    if (n > 0 && store_url) {
        srv->workers = atp_calloc((size_t)n, sizeof *srv->workers);
        if (!srv->workers)
            return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        for (int i = 0; i < n; i++) {
            srv->workers[i].srv = srv;
            int rc = store_open(store_url, &srv->workers[i].store, err);
            if (rc != ATP_OK)
                return rc;
        }
    } else {
        n = 0;
    }
    struct store *check = n > 0 ? srv->workers[0].store : srv->store;
    srv->backend = check ? store_backend(check) : NULL;
    /* The first check, synchronous, so /health is true from the first request. */
    srv->ping_job->t_started_ns = mono_ns();
    run_ping(srv->ping_job, check);
    srv->ping_job->t_done_ns = mono_ns();
    ping_apply(srv, srv->ping_job);
    if (uv_timer_init(srv->loop, &srv->ping_timer) != 0)
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "cannot create the store check timer");
    srv->ping_timer.data = srv;
    srv->ping_timer_open = 1;
    uv_timer_start(&srv->ping_timer, on_ping_timer, PING_INTERVAL_MS, PING_INTERVAL_MS);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&srv->workers[i].tid, NULL, worker_main, &srv->workers[i]) != 0)
            return atp_err_set(err, ATP_EIO, NULL, 0, "workers", "cannot start worker thread %d", i + 1);
        srv->workers[i].started = 1;
        srv->n_workers++;
    }
    atp_log(LOG_INFO, "http", "%d worker thread(s), store %s", srv->n_workers, srv->backend ? srv->backend : "none");
    return ATP_OK;
}

/* Joins the workers (after they finished what was queued) and closes their store connections:
 * for SQLite that checkpoints the WAL into the database file (store/sqlite: close). */
static void workers_stop(struct api_server *srv)
{
    if (!srv->pool_ready)
        return;
    pthread_mutex_lock(&srv->q_mu);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->q_cv);
    pthread_mutex_unlock(&srv->q_mu);
    int closed = 0;
    for (int i = 0; srv->workers && i < srv->cfg.workers; i++) {
        if (srv->workers[i].started)
            pthread_join(srv->workers[i].tid, NULL);
        if (srv->workers[i].store) {
            store_close(srv->workers[i].store);
            closed++;
        }
    }
    if (closed)
        atp_log(LOG_INFO, "http", "workers stopped; %d store connection(s) flushed and closed", closed);
    atp_free(srv->workers);
    srv->workers = NULL;
    srv->n_workers = 0;
}

/* ---- requests (io thread) ---- */

/* Runs what follows the route match once the whole request (headers and body) is in: on a
 * worker, or right here for io-thread routes (and without workers). */
static int dispatch(struct lws *wsi, struct pss *pss)
{
    struct api_server *srv = pss->srv;
    struct job *job = pss->job;
    const struct api_route *route = NULL;
    unsigned allowed = 0;
    char allow[64];

    enum api_match m = api_route_match(api_routes, api_n_routes, job->method, job->path, &route,
                                       job->params, &job->n_params, &allowed);
    if (m == API_MATCH_NOT_FOUND)
        return respond_error(wsi, pss, 404, "not_found", NULL, "no such route", NULL);
    if (m == API_MATCH_BAD_METHOD) {
        struct api_response res = {0};
        api_error(&res, 405, "method_not_allowed", NULL, "%s is not allowed here; allowed: %s",
                  api_method_name(job->method), api_method_list(allowed, allow, sizeof allow));
        snprintf(res.allow, sizeof res.allow, "%s", allow);
        return respond(wsi, pss, &res, NULL);
    }
    job->route = route;
    if (api_route_on_io_thread(route) || srv->n_workers == 0) {
        run_pipeline(srv, job, srv->store);
        return respond(wsi, pss, &job->res, route);
    }
    job->pss = pss;
    job->wsi = wsi;
    submit(srv, job);
    return 0;
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

/* 24 hex digits: 6 random bytes drawn once per io thread, then a 48-bit counter. Request ids
 * must be unique, not secret, and a getrandom system call per request showed in the profile. */
static void make_request_id(char *out, size_t size)
{
    static unsigned char prefix[6];
    static uint64_t counter;
    if (counter == 0)
        randombytes_buf(prefix, sizeof prefix);
    counter++;
    unsigned char raw[12];
    memcpy(raw, prefix, sizeof prefix);
    for (int i = 0; i < 6; i++)
        raw[6 + i] = (unsigned char)(counter >> (8 * (5 - i)));
    sodium_bin2hex(out, size, raw, size / 2 > sizeof raw ? sizeof raw : (size - 1) / 2);
}

/* CORS: remembers an allowed Origin (echoed in the answer). A preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered here: 204 with the path's methods for an allowed
 * origin, 403 without any CORS header otherwise. Returns 1 when it answered (*rc set). */
static int cors(struct lws *wsi, struct pss *pss, int *rc)
{
    struct api_server *srv = pss->srv;
    struct job *job = pss->job;
    char origin[API_ORIGIN_MAX] = "";
    int olen = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (olen > 0 && olen < (int)sizeof origin && lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) > 0)
        for (int i = 0; i < srv->n_origins; i++)
            if (strcmp(origin, srv->origins[i]) == 0) {
                memcpy(pss->origin, origin, strlen(origin) + 1);
                break;
            }
    if (job->method != API_OPTIONS || olen <= 0 ||
        lws_hdr_custom_length(wsi, "access-control-request-method:", 30) <= 0)
        return 0;
    if (!pss->origin[0]) {
        *rc = respond_error(wsi, pss, 403, "cors_forbidden", NULL, "this origin is not allowed", NULL);
        return 1;
    }
    const struct api_route *route = NULL;
    unsigned allowed = 0;
    struct api_param params[API_MAX_PARAMS];
    int n_params = 0;
    if (api_route_match(api_routes, api_n_routes, job->method, job->path, &route, params, &n_params, &allowed) ==
        API_MATCH_NOT_FOUND) {
        *rc = respond_error(wsi, pss, 404, "not_found", NULL, "no such route", NULL);
        return 1;
    }
    struct api_response res = {0};
    res.status = 204;
    api_method_list(allowed | API_OPTIONS, res.allow, sizeof res.allow);
    res.text = atp_strdup("");
    res.content_type = "text/plain";
    *rc = res.text ? respond(wsi, pss, &res, NULL) : -1;
    return 1;
}

static int on_request(struct lws *wsi, struct pss *pss, const char *uri)
{
    struct api_server *srv = pss->srv;
    pss_reset(pss);
    struct job *job = job_get(srv);
    if (!job)
        return -1; /* out of memory: drop the connection */
    pss->job = job;
    pss->active = 1;
    srv->inflight++;
    job->t0_ns = mono_ns();
    job->method = pss->method = method_of(wsi);
    snprintf(job->path, sizeof job->path, "%s", uri ? uri : "/");
    job->query[0] = '\0';
    job->ip[0] = '\0';
    lws_get_peer_simple(wsi, job->ip, sizeof job->ip);
    job->bearer[0] = job->user_agent[0] = 0;
    {
        char auth[JWT_MAX_LEN + 16];
        int alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
        if (alen > 7 && alen < (int)sizeof auth &&
            lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
            strncasecmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) <= JWT_MAX_LEN)
            memcpy(job->bearer, auth + 7, strlen(auth + 7) + 1);
        int ulen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_USER_AGENT);
        if (ulen <= 0 || lws_hdr_copy(wsi, job->user_agent, sizeof job->user_agent, WSI_TOKEN_HTTP_USER_AGENT) < 0)
            job->user_agent[0] = 0;
        /* Idempotency-Key (order placement): a longer value is kept cut, with its length, so the
         * handler can refuse it by name rather than act on a different key. */
        job->idem_key[0] = 0;
        job->idem_key_len = lws_hdr_custom_length(wsi, "idempotency-key:", 16);
        if (job->idem_key_len <= 0)
            job->idem_key_len = 0;
        else if (job->idem_key_len < (int)sizeof job->idem_key)
            lws_hdr_custom_copy(wsi, job->idem_key, sizeof job->idem_key, "idempotency-key:", 16);
        else
            snprintf(job->idem_key, sizeof job->idem_key, "?");
    }

    /* Query: lws hands out the '&'-separated fragments already percent-decoded. They are joined
     * back for handlers re-encoded ('%', '&', '+' and a value's own '='), so api_query_get's one
     * decoding gives back exactly what the client sent and a decoded '&' cannot split a value. */
    size_t qn = 0;
    char frag[512];
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        char enc[sizeof job->query];
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
        int w = snprintf(job->query + qn, sizeof job->query - qn, "%s%s", qn ? "&" : "", enc);
        if (w < 0 || (size_t)w >= sizeof job->query - qn)
            break;
        qn += (size_t)w;
    }

    char rid[API_REQUEST_ID_MAX + 2] = "";
    int rlen = lws_hdr_custom_length(wsi, "x-request-id:", 13);
    if (rlen > 0 && rlen <= API_REQUEST_ID_MAX &&
        lws_hdr_custom_copy(wsi, rid, sizeof rid, "x-request-id:", 13) > 0 && api_request_id_valid(rid))
        memcpy(job->request_id, rid, strlen(rid) + 1); /* valid: at most API_REQUEST_ID_MAX */
    else
        make_request_id(job->request_id, sizeof job->request_id);

    /* Requests that arrive while draining are refused; those already started finish. */
    if (srv->draining) {
        pss->close_after = 1;
        return respond_error(wsi, pss, 503, "shutting_down", NULL, "the server is shutting down", NULL);
    }
    if (!job->method)
        return respond_error(wsi, pss, 405, "method_not_allowed", NULL, "unsupported method", NULL);

    int retry = 0;
    if (!ratelimit_take(srv->rl, job->ip, job->t0_ns / 1000000, &retry)) {
        struct api_response res = {0};
        srv->rate_limited++;
        api_error(&res, 429, "rate_limited", NULL, "too many requests; retry in %d s", retry);
        res.retry_after_s = retry;
        return respond(wsi, pss, &res, NULL);
    }
    int rc = 0;
    if (cors(wsi, pss, &rc))
        return rc;

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
    struct job *job = pss->job;
    if (pss->responded || !pss->body_expected || !job)
        return 0;
    if (job->body_len + len > srv->cfg.body_max) {
        pss->close_after = 1;
        pss->body_expected = 0;
        char msg[96];
        snprintf(msg, sizeof msg, "the body exceeds %zu bytes", srv->cfg.body_max);
        return respond_error(wsi, pss, 413, "body_too_large", "body", msg, NULL);
    }
    if (job->body_len + len + 1 > job->body_cap) {
        size_t cap = job->body_cap ? job->body_cap : 1024;
        while (cap < job->body_len + len + 1)
            cap *= 2;
        char *b = atp_realloc(job->body, cap);
        if (!b)
            return respond_error(wsi, pss, 500, "internal", NULL, "out of memory", NULL);
        job->body = b;
        job->body_cap = cap;
    }
    memcpy(job->body + job->body_len, in, len);
    job->body_len += len;
    job->body[job->body_len] = '\0';
    return 0;
}

static int on_writeable(struct lws *wsi, struct pss *pss)
{
    if (pss->closing)
        return lws_partial_buffered(wsi) ? (lws_callback_on_writable(wsi), 0) : -1;
    if (pss->job_ready && !pss->responded) {
        pss->job_ready = 0;
        return respond(wsi, pss, &pss->job->res, pss->job->route);
    }
    if (!pss->responded)
        return 0;
    return write_body(wsi, pss);
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
        if (pss->responded || !pss->body_expected || !pss->job)
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

/* /ws is the vhost's default protocol for upgrades, so clients need not name a subprotocol. */
static const struct lws_protocol_vhost_options ws_default = {NULL, NULL, "default", ""};
static const struct lws_protocol_vhost_options ws_pvo = {NULL, &ws_default, WS_PROTOCOL_NAME, ""};
/* WebSocket heartbeats: lws pings a socket silent for WS_PING_S and hangs up one silent (no pong)
 * for WS_HANGUP_S. */
static const lws_retry_bo_t ws_retry = {.secs_since_valid_ping = WS_PING_S, .secs_since_valid_hangup = WS_HANGUP_S};

static void lws_log_emit(int level, const char *line)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", line);
    size_t n = strlen(copy);
    while (n && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
        copy[--n] = '\0';
    atp_log(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "lws", "%s", copy);
}

static void close_handles(struct api_server *srv);

int api_server_new(const struct api_config *cfg, uv_loop_t *loop, struct api_server **out,
                   struct atp_err *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "libsodium failed to initialise");
    struct api_config checked = *cfg;
    if (cfg->workers < 0 || cfg->workers > API_WORKERS_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "workers", "must be 0..%d", API_WORKERS_MAX);
    int rc = api_config_cors(&checked, cfg->cors_origins, "cors_origins", err);
    if (rc != ATP_OK)
        return rc;
    struct api_server *srv = atp_calloc(1, sizeof *srv);
    if (!srv)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    srv->cfg = checked;
    srv->loop = loop;
    clock_gettime(CLOCK_MONOTONIC, &srv->started);
    for (const char *p = checked.cors_origins; *p && srv->n_origins < API_CORS_ORIGINS_MAX;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        memcpy(srv->origins[srv->n_origins], p, len);
        srv->origins[srv->n_origins++][len] = '\0';
        p += len + (e ? 1 : 0);
    }
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
    srv->protocols[0] = (struct lws_protocols){"http", callback_http, sizeof(struct pss), 0, 0, NULL, 0};
    srv->protocols[1] = (struct lws_protocols){WS_PROTOCOL_NAME, ws_callback, ws_session_size(), 0, 0, NULL, 0};
    info.protocols = srv->protocols;
    info.pvo = &ws_pvo;
    info.retry_and_idle_policy = &ws_retry;
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
    /* Last, so a failure above leaves no libuv handle behind in the freed srv. */
    if (pthread_mutex_init(&srv->q_mu, NULL) != 0 || pthread_cond_init(&srv->q_cv, NULL) != 0 ||
        pthread_mutex_init(&srv->done_mu, NULL) != 0 || uv_async_init(loop, &srv->done_async, on_done) != 0) {
        api_server_free(srv);
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "cannot create the worker queues");
    }
    srv->done_async.data = srv;
    srv->async_open = 1;
    srv->pool_ready = 1;
    if (ws_hub_new(srv, loop, &srv->ws, err) != ATP_OK) {
        /* ws_hub_new leaves no handle of its own behind; close the done handle and let it go. */
        int rc2 = err->code;
        close_handles(srv);
        uv_run(loop, UV_RUN_NOWAIT);
        api_server_free(srv);
        return rc2;
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

/* Closes the server's own libuv handles so the loop can end. Answers still on a worker then stay
 * in the done list; api_server_free drops them after joining the workers. */
static void close_handles(struct api_server *srv)
{
    ws_hub_close_handles(srv->ws);
    if (srv->ping_timer_open) {
        srv->ping_timer_open = 0;
        uv_timer_stop(&srv->ping_timer);
        uv_close((uv_handle_t *)&srv->ping_timer, NULL);
    }
    if (srv->pool_ready) {
        pthread_mutex_lock(&srv->done_mu);
        int was_open = srv->async_open;
        srv->async_open = 0;
        pthread_mutex_unlock(&srv->done_mu);
        if (was_open)
            uv_close((uv_handle_t *)&srv->done_async, NULL);
    }
}

static void drain_tick(uv_timer_t *t)
{
    struct api_server *srv = t->data;
    int64_t now_ms = mono_ns() / 1000000;
    struct ws_counters wsc;
    ws_hub_counters(srv->ws, &wsc);
    if ((srv->inflight > 0 || wsc.open > 0) && now_ms < srv->drain_deadline_ms)
        return;
    if (srv->inflight > 0)
        atp_log(LOG_WARN, "http", "drain timeout: closing %d request(s) in flight", srv->inflight);
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
    close_lws(srv);
    close_handles(srv);
}

void api_server_shutdown(struct api_server *srv)
{
    if (!srv || srv->draining)
        return;
    srv->draining = 1;
    atp_log(LOG_INFO, "http", "shutting down: %d request(s) in flight", srv->inflight);
    srv->drain_deadline_ms = mono_ns() / 1000000 + srv->cfg.drain_timeout_ms;
    ws_hub_shutdown(srv->ws);
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
    workers_stop(srv);
    ws_hub_free(srv->ws); /* after the context: every socket is closed */
    srv->ws = NULL;
    if (srv->pool_ready) {
        job_free_list(srv->q_head, srv->ping_job);
        job_free_list(srv->done_head, srv->ping_job);
        pthread_mutex_destroy(&srv->q_mu);
        pthread_cond_destroy(&srv->q_cv);
        pthread_mutex_destroy(&srv->done_mu);
    }
    atp_free(srv->ping_job); /* never recycled into free_jobs */
    job_free_list(srv->free_jobs, NULL);
    ratelimit_free(srv->rl);
    atp_free(srv->stats);
    sodium_memzero(srv->jwt_secret, sizeof srv->jwt_secret);
    atp_free(srv);
}
