/* broker/paper/adapter: the paper broker behind the connector interface (broker/broker.h). */
#ifndef ATP_BROKER_PAPER_ADAPTER_H
#define ATP_BROKER_PAPER_ADAPTER_H

#include "broker/broker.h"
#include "broker/paper/paper.h"

/* Creates a paper broker (cfg NULL: defaults) wrapped as a struct broker. reg and cal are
 * borrowed. ATP_OK, or paper_new's errors. Free with broker_free. */
int paper_broker_open(const struct paper_config *cfg, const struct instreg *reg,
                      const struct cal *cal, const struct broker_events *events,
                      struct broker **out, struct atp_err *err);

/* The paper broker inside (for its counters and order view), NULL for another connector. */
struct paper_broker *paper_broker_of(struct broker *b);

#endif
