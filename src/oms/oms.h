/* oms/oms: the order manager of one kernel. Creates orders (unique id and broker tag, state NEW),
 * keeps every order of the run, applies broker events through the state machine (oms/order_sm),
 * counts refused transitions, and answers "which orders are open" for the risk gate and
 * strategies. One OMS serves one trading mode: a paper OMS refuses a live request and the other
 * way round, so paper and live orders never mix.
 *
 * Idempotency: a request with a client key that was seen before returns the existing order
 * instead of creating a second one. Orders never move in memory once created (pointers stay
 * valid until oms_free). Single-threaded (the kernel's). */
#ifndef ATP_OMS_OMS_H
#define ATP_OMS_OMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/order.h"
#include "oms/order_sm.h"

struct oms;

/* run_id makes tags unique across runs (oms/tag); mode is the only mode this OMS accepts. */
int oms_new(enum trade_mode mode, uint64_t run_id, struct oms **out, struct atp_err *err);
void oms_free(struct oms *oms);

/* Validates the request (order_request_validate) and creates a NEW order. Returns ATP_OK with
 * *out the new order; 1 with *out the existing order when req->client_key was used before (no
 * second order); ATP_EINVAL for an invalid request or a request of the other mode (err names the
 * field); ATP_ENOMEM. */
int oms_create(struct oms *oms, const struct order_request *req, ts_ns now, struct order **out,
               struct atp_err *err);

/* The order created with this client key, NULL when none (O(1)). */
struct order *oms_find_key(const struct oms *oms, const char *client_key);

/* The order with this id, NULL when unknown. */
struct order *oms_get(struct oms *oms, uint64_t id);

/* Applies an event to an order through the state machine. A refused transition leaves the order
 * unchanged, is counted in oms_stats()->sm and returns the state machine's error. */
int oms_apply(struct oms *oms, struct order *o, enum order_event ev, const struct order_sm_args *args,
              struct atp_err *err);

/* Orders not in a final state: of an account (instrument_id UINT32_MAX = any) and of a strategy
 * (strategy_id 0 = any). O(open orders). */
int oms_open_count(const struct oms *oms, uint64_t account_id, uint64_t strategy_id,
                   uint32_t instrument_id);

/* Iterates open orders (any account): pass NULL to start; returns NULL after the last. The set
 * must not change during the iteration. */
struct order *oms_next_open(const struct oms *oms, const struct order *prev);

size_t oms_count(const struct oms *oms);
/* i-th order in creation order (0-based), NULL past the end. */
struct order *oms_at(const struct oms *oms, size_t i);

struct oms_stats {
    uint64_t created;
    uint64_t idempotent_hits;
    struct order_sm_stats sm; /* applied and refused transitions */
};
const struct oms_stats *oms_stats(const struct oms *oms);

#endif
