/* api/h_backtests: backtests through the API (backtests, backtests/{id}, .../trades, .../equity,
 * .../report, .../cancel) on top of the backtest service (api/backtests.h). Route rows in
 * api/routes.c, policy rows in api/policy.c, docs/api.md "Backtests". */
#ifndef ATP_API_H_BACKTESTS_H
#define ATP_API_H_BACKTESTS_H

#include "api/policy.h"
#include "api/router.h"

#define H_BT_CSV_MAX (4u << 20) /* longest uploaded CSV, bytes (the server's body cap applies too) */

struct store;

/* The ownership resolution of /api/v1/backtests/{id}[/...], run by the server before the policy
 * (like h_accounts_relation for accounts): the submitter -> OWNER; a backtest tied to an account:
 * that account's owner -> OWNER, a trader or investor grant on it -> INVITED; an admin -> VISIBLE;
 * anyone else, an absent backtest or a malformed id -> STRANGER (404). Other routes: *rel is
 * left untouched (so it chains after h_accounts_relation).
 * Returns 0, or -1 when the store failed. */
int h_backtests_relation(struct store *s, const struct api_route *route, const struct api_param *params,
                         int n_params, int64_t user_id, enum api_role role, enum api_relation *rel);

extern const struct api_field h_backtests_create_body[];

void h_backtests_create(struct api_request *req, struct api_response *res);
void h_backtests_list(struct api_request *req, struct api_response *res);
void h_backtests_get(struct api_request *req, struct api_response *res);
void h_backtests_trades(struct api_request *req, struct api_response *res);
void h_backtests_equity(struct api_request *req, struct api_response *res);
void h_backtests_report(struct api_request *req, struct api_response *res);
void h_backtests_cancel(struct api_request *req, struct api_response *res);

#endif
