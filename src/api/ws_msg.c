/* api/ws_msg: see ws_msg.h. Strict like the REST bodies (api_body_parse): an unknown key is an
 * error naming it, so a client typo ("acount_id") is told, not silently subscribed to nothing. */
#include "api/ws_msg.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct ws_channel_info ws_channels[] = {
    {"market", "ws.market", WS_SCOPE_SYMBOL},
    {"chart", "ws.chart", WS_SCOPE_SYMBOL_TF},
    {"orders", "ws.orders", WS_SCOPE_ACCOUNT},
    {"positions", "ws.positions", WS_SCOPE_ACCOUNT},
    {"trades", "ws.trades", WS_SCOPE_ACCOUNT},
    {"strategies", "ws.strategies", WS_SCOPE_ACCOUNT},
    {"dashboard", "ws.dashboard", WS_SCOPE_ACCOUNT},
    {"notifications", "ws.notifications", WS_SCOPE_USER},
    {"system", "ws.system", WS_SCOPE_GLOBAL},
};
const size_t ws_n_channels = sizeof ws_channels / sizeof ws_channels[0];

int ws_channel_index(const char *name)
{
    for (size_t i = 0; name && i < ws_n_channels; i++)
        if (strcmp(ws_channels[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int fail(const char **code, const char *c, struct atp_err *err, int rc, const char *field, const char *fmt,
                const char *arg)
{
    *code = c;
    atp_err_set(err, rc, NULL, 0, field, fmt, arg ? arg : "");
    return rc;
}

/* Printable ASCII of s for an error message (a client's key may be any UTF-8 or control bytes). */
static const char *shown(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; s[n] && n + 1 < size; n++)
        out[n] = s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' && s[n] != '\\' ? s[n] : '?';
    out[n] = 0;
    return out;
}

/* account_id: a positive integer, or the same as a decimal string (ids are strings to some
 * clients, e.g. JavaScript with 64-bit ids). 0 ok, -1 not an id. */
static int parse_account_id(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return *out > 0 ? 0 : -1;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    if (!*s || strlen(s) != json_string_length(v) || strlen(s) > 19)
        return -1;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    errno = 0;
    long long n = strtoll(s, NULL, 10);
    if (errno || n <= 0)
        return -1;
    *out = n;
    return 0;
}

/* A string field copied into out (size bytes with the NUL), or absent (""). 0 ok, -1 bad. */
static int string_field(json_t *v, char *out, size_t size)
{
    out[0] = 0;
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= size || strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* "indicators":[{"name":"sma","params":{"period":20}}, ...] into out. 0, or -1 with the error set. */
static int parse_indicators(json_t *inds, struct ws_msg *out, const char **code, struct atp_err *err)
{
    char field[48];
    if (!json_is_array(inds) || json_array_size(inds) > WS_INDICATORS_MAX) {
        fail(code, "invalid_field", err, ATP_EINVAL, "indicators",
             "indicators must be an array of at most 4 {\"name\",\"params\"} objects%s", NULL);
        return -1;
    }
    size_t i;
    json_t *ind;
    json_array_foreach(inds, i, ind) {
        struct ws_indicator *wi = &out->indicators[i];
        snprintf(field, sizeof field, "indicators[%zu]", i);
        if (!json_is_object(ind)) {
            fail(code, "invalid_field", err, ATP_EINVAL, field, "an indicator is {\"name\",\"params\"}%s", NULL);
            return -1;
        }
        const char *key;
        json_t *v;
        json_object_foreach(ind, key, v) {
            if (strcmp(key, "name") && strcmp(key, "params")) {
                snprintf(field, sizeof field, "indicators[%zu]", i);
                fail(code, "invalid_field", err, ATP_EINVAL, field, "unknown field (name and params only)%s", NULL);
                return -1;
            }
        }
        if (string_field(json_object_get(ind, "name"), wi->name, sizeof wi->name) != 0 || !wi->name[0]) {
            snprintf(field, sizeof field, "indicators[%zu].name", i);
            fail(code, "invalid_field", err, ATP_EINVAL, field, "the indicator's name is required (GET /api/v1/indicators)%s",
                 NULL);
            return -1;
        }
        json_t *params = json_object_get(ind, "params");
        if (params && !json_is_object(params)) {
            snprintf(field, sizeof field, "indicators[%zu].params", i);
            fail(code, "invalid_field", err, ATP_EINVAL, field, "params must be an object of numbers%s", NULL);
            return -1;
        }
        size_t n = params ? json_dumpb(params, wi->params, sizeof wi->params - 1, JSON_COMPACT) : 0;
        if (n >= sizeof wi->params - 1) {
            snprintf(field, sizeof field, "indicators[%zu].params", i);
            fail(code, "invalid_field", err, ATP_EINVAL, field, "params too long%s", NULL);
            return -1;
        }
        if (n)
            wi->params[n] = 0;
        else
            snprintf(wi->params, sizeof wi->params, "{}");
        out->n_indicators = (int)i + 1;
    }
    return 0;
}

int ws_msg_parse(const char *text, size_t len, struct ws_msg *out, const char **code, struct atp_err *err)
{
    char tmp[64];
    memset(out, 0, sizeof *out);
    out->channel = -1;
    atp_err_clear(err);
    if (len > WS_MSG_MAX) {
        char n[32];
        snprintf(n, sizeof n, "%d", WS_MSG_MAX);
        return fail(code, "message_too_large", err, ATP_ERANGE, "message", "a message holds at most %s bytes", n);
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(code, "malformed_json", err, ATP_EINVAL, "message", "not JSON: %s", shown(jerr.text, tmp, sizeof tmp));
    int rc = ATP_EINVAL;
    if (!json_is_object(root)) {
        fail(code, "malformed_json", err, rc, "message", "a message is a JSON object%s", NULL);
        goto cleanup;
    }
    /* The id first, so even a refusal of the rest can echo it. */
    if (string_field(json_object_get(root, "id"), out->id, sizeof out->id) != 0) {
        fail(code, "invalid_field", err, rc, "id", "id must be a string of at most 64 bytes%s", NULL);
        goto cleanup;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "op") && strcmp(key, "channel") && strcmp(key, "account_id") && strcmp(key, "symbol") &&
            strcmp(key, "tf") && strcmp(key, "id") && strcmp(key, "indicators")) {
            char name[sizeof err->field];
            fail(code, "invalid_field", err, rc, "message", "unknown field '%s'", shown(key, name, sizeof name));
            memcpy(err->field, name, sizeof name);
            goto cleanup;
        }
    }
    json_t *op = json_object_get(root, "op");
    if (!json_is_string(op)) {
        fail(code, "invalid_field", err, rc, "op", "op is required: subscribe, unsubscribe or ping%s", NULL);
        goto cleanup;
    }
    const char *ops = json_string_value(op);
    if (!strcmp(ops, "ping")) {
        out->op = WS_OP_PING;
        rc = ATP_OK;
        goto cleanup;
    }
    if (!strcmp(ops, "subscribe"))
        out->op = WS_OP_SUBSCRIBE;
    else if (!strcmp(ops, "unsubscribe"))
        out->op = WS_OP_UNSUBSCRIBE;
    else {
        fail(code, "unknown_op", err, rc, "op", "unknown op '%s' (subscribe, unsubscribe, ping)",
             shown(ops, tmp, sizeof tmp));
        goto cleanup;
    }
    json_t *ch = json_object_get(root, "channel");
    if (!json_is_string(ch)) {
        fail(code, "invalid_field", err, rc, "channel", "channel is required (a string)%s", NULL);
        goto cleanup;
    }
    out->channel = ws_channel_index(json_string_value(ch));
    if (out->channel < 0) {
        fail(code, "unknown_channel", err, rc, "channel",
             "unknown channel '%s' (market, chart, orders, positions, trades, strategies, dashboard, notifications, "
             "system)", shown(json_string_value(ch), tmp, sizeof tmp));
        goto cleanup;
    }
    enum ws_scope scope = ws_channels[out->channel].scope;
    json_t *acc = json_object_get(root, "account_id");
    if (scope == WS_SCOPE_ACCOUNT) {
        if (!acc || parse_account_id(acc, &out->account_id) != 0) {
            fail(code, "invalid_field", err, rc, "account_id", "account_id is required: a positive integer id%s", NULL);
            goto cleanup;
        }
    } else if (acc) {
        fail(code, "invalid_field", err, rc, "account_id", "this channel takes no account_id%s", NULL);
        goto cleanup;
    }
    json_t *sym = json_object_get(root, "symbol"), *tf = json_object_get(root, "tf");
    if (scope == WS_SCOPE_SYMBOL || scope == WS_SCOPE_SYMBOL_TF) {
        if (!sym || string_field(sym, out->symbol, sizeof out->symbol) != 0 || !out->symbol[0]) {
            fail(code, "invalid_field", err, rc, "symbol", "symbol is required (e.g. \"RELIANCE\")%s", NULL);
            goto cleanup;
        }
        for (char *c = out->symbol; *c; c++)
            *c = (char)toupper((unsigned char)*c);
    } else if (sym) {
        fail(code, "invalid_field", err, rc, "symbol", "this channel takes no symbol%s", NULL);
        goto cleanup;
    }
    if (scope == WS_SCOPE_SYMBOL_TF) {
        if (string_field(tf, out->tf, sizeof out->tf) != 0) {
            fail(code, "invalid_field", err, rc, "tf", "tf must be a timeframe name (1m 3m 5m 15m 30m 1h 1d)%s", NULL);
            goto cleanup;
        }
        if (!out->tf[0])
            snprintf(out->tf, sizeof out->tf, "1m");
    } else if (tf) {
        fail(code, "invalid_field", err, rc, "tf", "this channel takes no tf%s", NULL);
        goto cleanup;
    }
    json_t *inds = json_object_get(root, "indicators");
    if (inds && (scope != WS_SCOPE_SYMBOL_TF || out->op != WS_OP_SUBSCRIBE)) {
        fail(code, "invalid_field", err, rc, "indicators", "indicators go with a chart subscription only%s", NULL);
        goto cleanup;
    }
    if (inds && parse_indicators(inds, out, code, err) != 0)
        goto cleanup;
    rc = ATP_OK;
cleanup:
    json_decref(root);
    return rc;
}
