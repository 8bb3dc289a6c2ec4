/* api/ws: the WebSocket endpoint /ws, a protocol on the HTTP server's vhost and port (api/http.c
 * registers it as the vhost's default protocol, so a plain upgrade of /ws lands here). The hub
 * owns every socket, the subscriptions and the fan-out. docs/api.md "WebSocket /ws" is the
 * protocol; this comment is the machinery.
 *
 * Threads. Everything here runs on the io thread (the libuv loop lws services) except the events
 * sink (api/events.h), which any thread calls: it copies the event into a bounded inbox under a
 * mutex and wakes the loop (uv_async_send); the loop fans it out. A producer never waits for a
 * socket. Market and chart updates are not pushed by the feed thread at all: a 20 ms timer on the
 * loop polls the market snapshots (api_market_quote, api_market_candles) of the symbols someone
 * subscribed to, so the feed never blocks on a client.
 *
 * Authentication happens at the upgrade, with the access token of the Authorization header or the
 * ?token= query parameter, through api_authn_resolve (the same session checks as REST: revoked,
 * idle, disabled) on the io thread's store connection; a refused upgrade gets an HTTP status
 * (401, 429, 503) and a JSON error body. Every open socket is re-checked every WS_RECHECK_S: an
 * ended session closes it (1008), a subscription to an account the caller lost access to is
 * dropped with an error message. Every subscription is decided by the policy table (api/policy.c,
 * rows "ws.<channel>") with the relation to the account resolved as for /accounts/{id}.
 *
 * Backpressure. Each socket has a bounded queue of whole messages (WS_QUEUE_MAX_MSGS,
 * WS_QUEUE_MAX_BYTES) for acks, errors, snapshots and account events, in order; a socket whose
 * queue overflows is closed (1008 "slow consumer"). Market quotes and forming chart bars are not
 * queued: each subscription remembers the sequence number it last sent and the stream keeps only
 * its latest message, so a slow reader gets the newest value (conflation), at most every
 * WS_CONFLATE_MS per subscription. lws pings every socket WS_PING_S after it last proved alive and
 * hangs up WS_HANGUP_S after, so dead peers go away. */
#ifndef ATP_API_WS_H
#define ATP_API_WS_H

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

#include "core/err.h"

#define WS_PATH "/ws"
#define WS_PROTOCOL_NAME "atp-ws"
#define WS_QUEUE_MAX_MSGS 4096          /* queued messages per socket before it is dropped */
#define WS_QUEUE_MAX_BYTES (8u << 20)   /* queued bytes per socket (a chart snapshot is ~60 KB) */
#define WS_SUBS_MAX 128                 /* subscriptions per socket */
#define WS_CONFLATE_MS 100              /* market/chart: at most 10 updates/s per subscription */
#define WS_POLL_MS 20                   /* market snapshot poll period */
#define WS_INBOX_MAX 65536              /* published events waiting for the loop; more are dropped */
#define WS_PING_S 20                    /* lws pings a socket idle this long */
#define WS_HANGUP_S 35                  /* and hangs up one silent this long (no pong) */
#define WS_RECHECK_S 30                 /* sessions and account access re-checked this often
                                         * (ATP_WS_RECHECK_S overrides it, 1..3600: tests) */
#define WS_CHART_SNAPSHOT_BARS 500      /* complete bars sent on a chart subscription */

struct api_server;
struct ws_hub;

/* Creates the hub of srv on loop (its wake-up handle and timers) and installs the events sink.
 * ATP_ENOMEM / ATP_EIO. io thread, after the lws context exists. */
int ws_hub_new(struct api_server *srv, uv_loop_t *loop, struct ws_hub **out, struct atp_err *err);

/* Graceful shutdown: refuses new upgrades and closes every socket with 1001 (going away). */
void ws_hub_shutdown(struct ws_hub *hub);

/* Removes the sink and closes the hub's libuv handles (the loop must run once more to finish);
 * events published afterwards go nowhere. Idempotent. */
void ws_hub_close_handles(struct ws_hub *hub);

/* Frees what is left; after the lws context is gone (every socket closed). NULL: no-op. */
void ws_hub_free(struct ws_hub *hub);

struct ws_counters {
    int open;                   /* open sockets */
    uint64_t accepted;          /* upgrades accepted */
    uint64_t refused;           /* upgrades refused (401, 429, 503, 404) */
    uint64_t sent;              /* messages written */
    uint64_t dropped_slow;      /* sockets closed as slow consumers */
    uint64_t inbox_dropped;     /* published events dropped: inbox full */
    uint64_t subscriptions;     /* current subscriptions */
};
void ws_hub_counters(const struct ws_hub *hub, struct ws_counters *out);

/* The lws protocol callback of WS_PROTOCOL_NAME (api/http.c's protocol table) and the size of its
 * per-socket data. */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
size_t ws_session_size(void);

#endif
