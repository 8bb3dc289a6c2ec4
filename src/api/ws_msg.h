/* api/ws_msg: the client messages of the WebSocket endpoint /ws (docs/api.md "WebSocket /ws")
 * and the table of channels. Pure: no I/O, no server, so the parser has a libFuzzer target
 * (tests/fuzz/fuzz_ws_msg.c) and the policy test can walk the channels. Any thread. */
#ifndef ATP_API_WS_MSG_H
#define ATP_API_WS_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/instrument.h"

#define WS_MSG_MAX 4096        /* largest client message, bytes (larger: message_too_large) */
#define WS_REQ_ID_MAX 64       /* longest client "id" echoed in answers */

enum ws_op { WS_OP_SUBSCRIBE = 1, WS_OP_UNSUBSCRIBE, WS_OP_PING };

/* What a subscription is keyed by, hence which fields subscribe/unsubscribe need. */
enum ws_scope {
    WS_SCOPE_SYMBOL = 1,   /* market: symbol */
    WS_SCOPE_SYMBOL_TF,    /* chart: symbol + tf */
    WS_SCOPE_ACCOUNT,      /* orders, positions, trades, strategies, dashboard: account_id */
    WS_SCOPE_USER,         /* notifications: the caller's own */
    WS_SCOPE_GLOBAL,       /* system */
};

struct ws_channel_info {
    const char *name;      /* on the wire: "orders" */
    const char *policy;    /* row of api/policy.c: "ws.orders" */
    enum ws_scope scope;
};

/* Every channel, in a fixed order (index = channel number). */
extern const struct ws_channel_info ws_channels[];
extern const size_t ws_n_channels;

/* Index of channel name, -1 when unknown. */
int ws_channel_index(const char *name);

#define WS_INDICATORS_MAX 4          /* chart: indicators per subscription */
#define WS_INDICATOR_NAME_MAX 32
#define WS_INDICATOR_PARAMS_MAX 256  /* the params object as compact JSON text */

struct ws_indicator {
    char name[WS_INDICATOR_NAME_MAX];          /* as sent; the hub checks it against the catalog */
    char params[WS_INDICATOR_PARAMS_MAX];      /* JSON object text, "{}" when none */
};

struct ws_msg {
    enum ws_op op;
    int channel;                   /* index of ws_channels; -1 for ping */
    int64_t account_id;            /* ACCOUNT scope: > 0 */
    char symbol[INST_SYMBOL_MAX];  /* SYMBOL scopes: upper-cased, not yet checked against the registry */
    char tf[8];                    /* SYMBOL_TF: as sent ("1m"), default "1m"; checked by the hub */
    char id[WS_REQ_ID_MAX + 1];    /* the client's optional "id", echoed in the ack or error; "" */
    struct ws_indicator indicators[WS_INDICATORS_MAX]; /* chart: "indicators":[{"name","params"}] */
    int n_indicators;
};

/* Parses one client message (text of len bytes, not NUL-terminated). ATP_OK with *out filled; else
 * ATP_EINVAL (ATP_ERANGE for an oversized message) with *code set to the wire error code
 * ("message_too_large", "malformed_json", "invalid_field", "unknown_op", "unknown_channel") and
 * err naming the field and why. Never allocates beyond jansson's parse. Any thread. */
int ws_msg_parse(const char *text, size_t len, struct ws_msg *out, const char **code, struct atp_err *err);

#endif
