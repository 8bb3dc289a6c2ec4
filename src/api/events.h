/* api/events: the one outlet for live events to clients. Producers (paper trading: orders, fills,
 * positions, strategies; notifications; the system) call api_events_publish from any thread;
 * the WebSocket hub (api/ws) installs the sink that fans each event out to the sockets subscribed
 * to its channel, after the same policy check REST routes get. With no sink installed (no
 * server, a unit test) events go nowhere.
 *
 * Scope: account_id > 0 makes an event visible to whoever may read that account (owner, invited
 * investors, admins); user_id > 0 (and account_id 0) to that user only (notifications); both 0
 * to admins only (system). The wire form is {"channel":C,"event":E,"data":DATA}. */
#ifndef ATP_API_EVENTS_H
#define ATP_API_EVENTS_H

#include <stdint.h>

struct api_event {
    const char *channel;   /* "orders", "positions", "trades", "strategies", "notifications", ... */
    const char *event;     /* "order_update", "fill", ... */
    int64_t account_id;    /* see Scope above */
    int64_t user_id;
    const char *data_json; /* a JSON value (object), valid only during the call: sinks copy */
};

typedef void (*api_events_sink_fn)(void *arg, const struct api_event *ev);

/* Installs (fn non-NULL) or removes (NULL) the sink. Publishing during the swap is safe. */
void api_events_set_sink(api_events_sink_fn fn, void *arg);

/* Hands ev to the sink, if any. Never blocks for long: a sink only queues. */
void api_events_publish(const struct api_event *ev);

#endif
