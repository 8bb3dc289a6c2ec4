/* api/h_analytics: an account's analytics per period and mode (docs/api.md "Analytics"):
 * summary (return, drawdown, Sharpe, Sortino, win rate, profit factor, average win and loss,
 * trades, per-strategy breakdown, trade statistics, P&L by hour and weekday, the NIFTY 50
 * comparison), the equity curve with drawdown, and the round trips (JSON or CSV export). */
#ifndef ATP_API_H_ANALYTICS_H
#define ATP_API_H_ANALYTICS_H

#include "api/router.h"

void h_analytics_summary(struct api_request *req, struct api_response *res);
void h_analytics_equity(struct api_request *req, struct api_response *res);
void h_analytics_trades(struct api_request *req, struct api_response *res);

#endif
