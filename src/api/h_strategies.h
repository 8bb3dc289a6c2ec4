/* api/h_strategies: strategies per trading account (issue 5 §2) and the risk limits they trade
 * under. strategy-types (the catalog with parameter schemas); strategies (create, list, get with
 * status, update and delete while stopped); strategies/{id}/start|stop|pause|resume (stopped ->
 * running <-> paused -> stopped; a wrong transition is 409 naming the state);
 * accounts/{id}/risk-limits (get, put) and accounts/{id}/risk-limits/acknowledge (after a loss
 * breach); admin/strategy-limits (strategies running at once per account, per mode).
 *
 * Access is the policy table's (api/policy.c) on the relation api/ownership.c resolves: a
 * strategy's account decides. Handlers never check access. The kernel side is api/strategy_rt.h;
 * every action is audited. docs/api.md "Strategies". */
#ifndef ATP_API_H_STRATEGIES_H
#define ATP_API_H_STRATEGIES_H

#include "api/router.h"

extern const struct api_field h_strategies_create_body[];
extern const struct api_field h_strategies_update_body[];
extern const struct api_field h_risk_limits_body[];
extern const struct api_field h_strategy_limits_body[];

void h_strategy_types(struct api_request *req, struct api_response *res);
void h_strategies_list(struct api_request *req, struct api_response *res);
void h_strategies_create(struct api_request *req, struct api_response *res);
void h_strategies_get(struct api_request *req, struct api_response *res);
void h_strategies_update(struct api_request *req, struct api_response *res);
void h_strategies_delete(struct api_request *req, struct api_response *res);
void h_strategies_start(struct api_request *req, struct api_response *res);
void h_strategies_stop(struct api_request *req, struct api_response *res);
void h_strategies_pause(struct api_request *req, struct api_response *res);
void h_strategies_resume(struct api_request *req, struct api_response *res);
void h_risk_limits_get(struct api_request *req, struct api_response *res);
void h_risk_limits_put(struct api_request *req, struct api_response *res);
void h_risk_limits_acknowledge(struct api_request *req, struct api_response *res);
void h_strategy_limits_get(struct api_request *req, struct api_response *res);
void h_strategy_limits_put(struct api_request *req, struct api_response *res);

#endif
