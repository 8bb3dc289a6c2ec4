/* broker/paper/adapter: the paper broker behind the connector interface (broker/broker.h). */
#ifndef ATP_BROKER_PAPER_ADAPTER_H
#define ATP_BROKER_PAPER_ADAPTER_H

#include "broker/broker.h"
#include "broker/paper/paper.h"
#include "kernel/kernel.h"

/* Creates a paper broker (cfg NULL: defaults) wrapped as a struct broker. reg and cal are
 * borrowed. ATP_OK, or paper_new's errors. Free with broker_free. */
int paper_broker_open(const struct paper_config *cfg, const struct instreg *reg,
                      const struct cal *cal, const struct broker_events *events,
                      struct broker **out, struct atp_err *err);

/* A kernel trading through a new paper broker (paper NULL: its defaults): kernel_new with this
 * connector. Wiring, so it lives with the connector: the kernel itself includes no concrete
 * broker. */
int paper_kernel_open(const struct kernel_config *cfg, const struct paper_config *paper,
                      struct kernel **out, struct atp_err *err);

/* The paper broker inside (for its counters and order view), NULL for another connector. */
struct paper_broker *paper_broker_of(struct broker *b);

#endif
