/* api/h_market: the market-data routes over the server's shared engine (api/market.h):
 * instruments (registry search), market/candles, market/quote, indicators (catalog) and
 * indicators/{name}/calculate. Read-only; any logged-in user. Without a market (atp serve
 * --feed none, or the unit tests' bare server) they answer 503 market_unavailable.
 *
 * Prices are JSON numbers printed from the fixed-point value digit by digit (px_format), so
 * 2450.55 is exactly 2450.55, never 2450.5500000000002 (as docs/backtest-output.md does); times
 * are ISO 8601 in IST plus the same instant in ns ("time", "ts_ns"). Indicator values are
 * doubles (JSON numbers, null while warming up). docs/api.md "Market data". */
#ifndef ATP_API_H_MARKET_H
#define ATP_API_H_MARKET_H

#include "api/router.h"

#define H_MARKET_CANDLES_MAX 500   /* most complete bars one candles request returns */
#define H_MARKET_SERIES_MAX 5000   /* most bars a posted series may hold */

extern const struct api_field h_indicators_calculate_body[];

/* A parameter schema as the catalogs show it (indicators, strategy-types): an array of {name,
 * type int|double, default, min, max, description}. New reference; NULL on allocation failure. */
struct atp_param_def;
json_t *h_market_params_json(const struct atp_param_def *defs, int n);

struct bar;
#define H_MARKET_BAR_JSON_MAX 320  /* room for one bar's JSON object */
/* The JSON object of one bar exactly as the candles route writes it ({"time","ts_ns","open","high",
 * "low","close","volume","ticks"}), NUL-terminated into out. Returns its length, or 0 when it did
 * not fit (or no memory). Any thread; for the WebSocket chart channel (api/ws), so both speak one
 * format. */
size_t h_market_bar_json(const struct bar *bar, char *out, size_t size);

void h_instruments_search(struct api_request *req, struct api_response *res);
void h_market_candles(struct api_request *req, struct api_response *res);
void h_market_quote(struct api_request *req, struct api_response *res);
void h_indicators_list(struct api_request *req, struct api_response *res);
void h_indicators_calculate(struct api_request *req, struct api_response *res);
/* Admin: the feed's state (kind, speed, market time, progress, counters). */
void h_admin_market_status(struct api_request *req, struct api_response *res);
/* Admin control of the feed (audited): pause, resume, speed {speed}; each answers the status. */
extern const struct api_field h_admin_market_speed_body[];
void h_admin_market_pause(struct api_request *req, struct api_response *res);
void h_admin_market_resume(struct api_request *req, struct api_response *res);
void h_admin_market_speed(struct api_request *req, struct api_response *res);
/* Admin simulator control (audited): start {mode, file | symbols, from, days, seed, speed}
 * replaces the feed (forward in market time only), stop freezes it, seek {to} jumps forward. */
extern const struct api_field h_admin_market_start_body[];
extern const struct api_field h_admin_market_seek_body[];
void h_admin_market_start(struct api_request *req, struct api_response *res);
void h_admin_market_stop(struct api_request *req, struct api_response *res);
void h_admin_market_seek(struct api_request *req, struct api_response *res);

#endif
