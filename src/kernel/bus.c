#include "kernel/bus.h"

#include <string.h>

#include "core/err.h"

static const char *const names[TOPIC_COUNT] = {
    [TOPIC_TICK] = "md.tick",
    [TOPIC_BAR_FORMING] = "md.bar.forming",
    [TOPIC_BAR_COMPLETE] = "md.bar.complete",
    [TOPIC_SIGNAL] = "strategy.signal",
    [TOPIC_STRATEGY_STATE] = "strategy.state",
    [TOPIC_ORDER_UPDATE] = "order.update",
    [TOPIC_FILL] = "order.fill",
    [TOPIC_POSITION] = "portfolio.position",
    [TOPIC_RISK_DENIED] = "risk.denied",
    [TOPIC_RISK_BREACH] = "risk.breach",
};

const char *topic_name(enum topic t)
{
    return (unsigned)t < TOPIC_COUNT ? names[t] : "?";
}

void bus_init(struct bus *bus)
{
    memset(bus, 0, sizeof *bus);
}

int bus_subscribe(struct bus *bus, enum topic topic, bus_fn fn, void *ctx)
{
    if ((unsigned)topic >= TOPIC_COUNT || !fn)
        return ATP_EINVAL;
    if (bus->n[topic] == BUS_MAX_SUBSCRIBERS)
        return ATP_ERANGE;
    bus->subs[topic][bus->n[topic]].fn = fn;
    bus->subs[topic][bus->n[topic]].ctx = ctx;
    bus->n[topic]++;
    return ATP_OK;
}

void bus_publish(struct bus *bus, enum topic topic, const void *payload)
{
    bus->published[topic]++;
    for (int i = 0; i < bus->n[topic]; i++)
        bus->subs[topic][i].fn(bus->subs[topic][i].ctx, topic, payload);
}
