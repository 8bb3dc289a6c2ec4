/* api/h_orders: paper trading routes of an account (docs/api.md "Orders, positions, funds, kill
 * switch"): orders (place, list, get with history, modify, cancel), trades, positions (and close
 * one), funds, and the kill switches (the account's and the global one). Changes go through the
 * trading service (api/trading.h), reads of orders and fills through the worker's store. */
#ifndef ATP_API_H_ORDERS_H
#define ATP_API_H_ORDERS_H

#include "api/router.h"
#include "model/order.h"

#include <jansson.h>

struct api_trading;

/* Shared with the signals route (api/h_signals.c), which places orders the same way. */
/* The trading service, or NULL after a 503 (no market data, so no paper trading). */
struct api_trading *h_orders_need_trading(struct api_response *res);
/* An optional money field (JSON number or decimal string, >= 0, at most 4 decimals): absent or
 * null -> 0 (*present 0). 0, or -1 after a 422 naming the field. */
int h_orders_decimal(json_t *body, const char *name, px_t *out, int *present, struct api_response *res);
/* The Idempotency-Key header into key ("" when absent). 0, or -1 after a 422. */
int h_orders_idem_key(struct api_request *req, char key[ORDER_CLIENT_KEY_MAX], struct api_response *res);
/* 1 when body's optional "mode" is paper; else 0 after a 409 (live: no broker yet) or 422. */
int h_orders_paper_mode(json_t *body, struct api_response *res);

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
