/* api/http: the HTTP server of `atp serve`, on libwebsockets driven by a libuv loop the caller
 * owns (the io thread's loop, which later also carries WebSockets, broker HTTPS and timers).
 *
 * Threads. The io thread accepts, reads and writes; per request it does: request id -> draining
 * (503) -> per-IP rate limit (429 + Retry-After) -> CORS preflight -> body cap (413) -> route
 * match (404 / 405 + Allow). A matched request then goes to a pool of worker threads (cfg.workers,
 * each with its own store connection): identity -> ownership -> policy (401 / 403 / 404) -> JSON
 * body schema (400 naming the field) -> handler; the answer comes back to the io thread, which
 * writes it and keeps the metrics. System routes (api_route_on_io_thread: health, metrics, docs) run
 * on the io thread without the hop. Every response carries the security headers and
 * X-Request-Id; every log line of a request carries its request_id. Shutdown is graceful: new
 * requests get 503, those in flight finish (up to drain_timeout_ms), then the server closes, the
 * loop may end, and api_server_free joins the workers and closes their store connections. */
#ifndef ATP_API_HTTP_H
#define ATP_API_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/err.h"

struct api_config {
    char host[64];            /* listen address, IPv4 literal (default 127.0.0.1) */
    int port;                 /* 0: an ephemeral port (api_server_port tells which) */
    size_t body_max;          /* request body cap, bytes (default 1 MiB) */
    double rate_per_s;        /* per-IP token refill (default 50/s) */
    double rate_burst;        /* per-IP bucket size (default 100) */
    int drain_timeout_ms;     /* longest wait for in-flight requests on shutdown (default 5000) */
    int workers;              /* worker threads, each with a store connection (default 2, max
                               * API_WORKERS_MAX); 0 runs every handler on the io thread */
    char cors_origins[1024];  /* comma-separated exact origins allowed cross-origin ("" = CORS off) */
};

#define API_WORKERS_MAX 64
#define API_CORS_ORIGINS_MAX 16
#define API_ORIGIN_MAX 256

/* Checks a comma list of origins ("https://a.example, http://localhost:5173"): each one
 * scheme://host[:port] with scheme http or https, no path, no trailing slash, no "*", at most
 * API_CORS_ORIGINS_MAX, each < API_ORIGIN_MAX bytes. Spaces around commas are ignored. ATP_OK and
 * the normalised list (no spaces) in cfg->cors_origins, or ATP_EINVAL with err naming field. */
int api_config_cors(struct api_config *cfg, const char *list, const char *field, struct atp_err *err);

/* Fills the defaults above. */
void api_config_defaults(struct api_config *cfg);

/* Parses "HOST:PORT" (or ":PORT", or "PORT") into cfg. ATP_EINVAL with err naming "listen". */
int api_config_listen(struct api_config *cfg, const char *text, struct atp_err *err);

struct api_server;

/* Creates the server on loop and binds the listening socket. ATP_OK with *out set, or ATP_EIO
 * (cannot bind/listen) / ATP_ENOMEM with err filled. The loop must outlive the server. */
int api_server_new(const struct api_config *cfg, uv_loop_t *loop, struct api_server **out,
                   struct atp_err *err);

/* The bound TCP port. */
int api_server_port(const struct api_server *srv);

/* Opens cfg.workers store connections from store_url (the URL the main store was opened from, so
 * every worker sees the same database; the schema must already be migrated), checks the store
 * once (the first /health answer) and starts the worker threads. Call once, after
 * api_server_set_store, before the loop runs. ATP_EINVAL for sqlite::memory: with workers (each
 * connection would be its own empty database), ATP_EIO when a connection cannot be opened,
 * ATP_ENOMEM; err filled. Without this call (or with 0 workers) handlers run on the io thread
 * with the main store. */
int api_server_start_workers(struct api_server *srv, const char *store_url, struct atp_err *err);

/* The last store check (a ping every second on a worker's connection; io thread only). */
struct api_store_health {
    const char *backend;      /* "sqlite", "postgres"; NULL: no store */
    int ok;                   /* 1: the last check succeeded and is not overdue */
    double latency_ms;        /* duration of the last check */
    double age_ms;            /* time since the last check completed */
    char error[300];          /* why not ok ("" when ok) */
};
void api_server_store_health(const struct api_server *srv, struct api_store_health *out);
/* Number of worker threads running (0: handlers run on the io thread). */
int api_server_workers(const struct api_server *srv);

/* Starts a graceful shutdown (idempotent): answers new requests 503, waits for in-flight ones
 * (at most drain_timeout_ms), then closes every connection and handle of the server, so the
 * loop's uv_run returns once the caller's own handles are closed too. io thread only. */
void api_server_shutdown(struct api_server *srv);

/* Frees the server. Call after uv_run returned following api_server_shutdown. NULL: no-op. */
void api_server_free(struct api_server *srv);

/* The application state handlers reach. The store set here is the io thread's own connection
 * (io-thread routes and the inline mode); workers have theirs (api_server_start_workers).
 * Both are borrowed and must outlive srv.
 * api_server_set_jwt_secret copies the secret (>= JWT_SECRET_MIN bytes): ATP_EINVAL otherwise.
 * Without a secret no token is ever accepted (every caller is anonymous). */
struct store;
struct jwt_config;
void api_server_set_store(struct api_server *srv, struct store *store);
struct store *api_server_store(const struct api_server *srv);
/* The WebSocket hub of srv (api/ws.h); NULL before it exists. */
struct ws_hub;
struct ws_hub *api_server_ws(const struct api_server *srv);
int api_server_set_jwt_secret(struct api_server *srv, const unsigned char *secret, size_t len);
/* The master-key ring of the credential vault (auth/vault.h), borrowed, read-only after start
 * (safe from any thread); NULL when no master key is configured (ATP_MASTER_KEY or
 * ATP_MASTER_KEY_FILE): routes that need it answer 503 naming the setting. */
struct vault_keyring;
void api_server_set_vault(struct api_server *srv, const struct vault_keyring *kr);
const struct vault_keyring *api_server_vault(const struct api_server *srv);
/* The JWT configuration (issuer "atp", audience "atp-api", 15 min), or NULL without a secret. */
const struct jwt_config *api_server_jwt(const struct api_server *srv);

/* For io-thread handlers (api_route_on_io_thread; io thread only: they read state the io thread owns). */
/* Prometheus text exposition of the server's counters into *out (atp_malloc; caller frees). */
int api_metrics_render(struct api_server *srv, char **out, size_t *len);
/* Seconds since the server started. */
double api_server_uptime_s(const struct api_server *srv);
/* Requests currently being served. */
int api_server_inflight(const struct api_server *srv);

/* The OpenAPI 3.1 document of a route table (new reference, NULL on allocation failure):
 * paths, methods, operationIds (route names), path parameters, request body schemas from the
 * routes' field lists and each route's responses fragment. api/openapi.c. */
#include <jansson.h>
struct api_route;
json_t *api_openapi_build(const struct api_route *routes, size_t n);

#endif
