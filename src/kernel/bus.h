/* kernel/bus: the in-process event bus. Named topics (kernel/topics.h), synchronous delivery to
 * subscribers in subscription order, so a run is deterministic. Owned by the kernel thread; a
 * subscriber must not block (the API layer copies what it needs into its own queue). */
#ifndef ATP_KERNEL_BUS_H
#define ATP_KERNEL_BUS_H

#include "kernel/topics.h"

#define BUS_MAX_SUBSCRIBERS 16 /* per topic */

typedef void (*bus_fn)(void *ctx, enum topic topic, const void *payload);

struct bus {
    struct {
        bus_fn fn;
        void *ctx;
    } subs[TOPIC_COUNT][BUS_MAX_SUBSCRIBERS];
    int n[TOPIC_COUNT];
    uint64_t published[TOPIC_COUNT]; /* events published per topic */
};

void bus_init(struct bus *bus);
/* ATP_OK, ATP_EINVAL for a bad topic, ATP_ERANGE when the topic has BUS_MAX_SUBSCRIBERS. */
int bus_subscribe(struct bus *bus, enum topic topic, bus_fn fn, void *ctx);
/* 1 when the topic has a subscriber (lets publishers skip building payloads). */
static inline int bus_wanted(const struct bus *bus, enum topic topic) { return bus->n[topic] > 0; }
void bus_publish(struct bus *bus, enum topic topic, const void *payload);

#endif
