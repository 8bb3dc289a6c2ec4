/* libFuzzer target: the client messages of the WebSocket endpoint (api/ws_msg: ws_msg_parse).
 * Checks beyond "no crash, no leak":
 *  - an accepted message has a known op; subscribe/unsubscribe a known channel with exactly the
 *    fields its scope needs (account_id > 0 for account channels, an upper-case symbol for market
 *    data, a tf for charts) and none of the others;
 *  - a refused one has a wire code from the documented list and names a field in printable ASCII
 *    (the hub writes it into a JSON error message). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/ws_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_msg m;
    const char *code = NULL;
    struct atp_err err;
    int rc = ws_msg_parse((const char *)data, size, &m, &code, &err);
    if (rc != ATP_OK) {
        static const char *const codes[] = {"message_too_large", "malformed_json", "invalid_field", "unknown_op",
                                            "unknown_channel"};
        int known = 0;
        for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
            known |= code && strcmp(code, codes[i]) == 0;
        if (!known || !err.field[0] || !printable(err.field) || !err.msg[0])
            abort();
        return 0;
    }
    if (m.op == WS_OP_PING)
        return m.channel == -1 ? 0 : (abort(), 0);
    if ((m.op != WS_OP_SUBSCRIBE && m.op != WS_OP_UNSUBSCRIBE) || m.channel < 0 || (size_t)m.channel >= ws_n_channels)
        abort();
    enum ws_scope scope = ws_channels[m.channel].scope;
    if ((scope == WS_SCOPE_ACCOUNT) != (m.account_id > 0))
        abort();
    int symbolic = scope == WS_SCOPE_SYMBOL || scope == WS_SCOPE_SYMBOL_TF;
    if (symbolic != (m.symbol[0] != 0) || (scope == WS_SCOPE_SYMBOL_TF) != (m.tf[0] != 0))
        abort();
    for (const char *c = m.symbol; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            abort();
    return 0;
}
