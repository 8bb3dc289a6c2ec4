/* api/h_orders: paper trading routes of an account (docs/api.md "Orders, positions, funds, kill
 * switch"): orders (place, list, get with history, modify, cancel), trades, positions (and close
 * one), funds, and the kill switches (the account's and the global one). Changes go through the
 * trading service (api/trading.h), reads of orders and fills through the worker's store. */
#ifndef ATP_API_H_ORDERS_H
#define ATP_API_H_ORDERS_H

#include "api/router.h"

extern const struct api_field h_orders_place_body[];
extern const struct api_field h_orders_modify_body[];
extern const struct api_field h_funds_set_body[];
extern const struct api_field h_kill_switch_body[];

void h_orders_place(struct api_request *req, struct api_response *res);
void h_orders_list(struct api_request *req, struct api_response *res);
void h_orders_get(struct api_request *req, struct api_response *res);
void h_orders_modify(struct api_request *req, struct api_response *res);
void h_orders_cancel(struct api_request *req, struct api_response *res);
void h_trades_list(struct api_request *req, struct api_response *res);
void h_positions_list(struct api_request *req, struct api_response *res);
void h_positions_close(struct api_request *req, struct api_response *res);
void h_funds_get(struct api_request *req, struct api_response *res);
void h_funds_set(struct api_request *req, struct api_response *res);
void h_kill_switch_get(struct api_request *req, struct api_response *res);
void h_kill_switch_set(struct api_request *req, struct api_response *res);
void h_admin_kill_switch_get(struct api_request *req, struct api_response *res);
void h_admin_kill_switch_set(struct api_request *req, struct api_response *res);

#endif
