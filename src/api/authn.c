#include "api/authn.h"

#include "auth/jwt.h"
#include "core/err.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

static enum api_role role_of(const char *name)
{
    if (!strcmp(name, "admin"))
        return API_ROLE_ADMIN;
    if (!strcmp(name, "trader"))
        return API_ROLE_TRADER;
    if (!strcmp(name, "investor"))
        return API_ROLE_INVESTOR;
    return API_ROLE_ANONYMOUS;
}

int api_authn_resolve(const struct jwt_config *jc, struct store *s, const char *bearer, int64_t now_s,
                      const char *request_id, struct api_identity *out)
{
    (void)s;
    out->user_id = 0;
    out->role = API_ROLE_ANONYMOUS;
    if (!bearer || !bearer[0] || !jc)
        return 0;
    struct jwt_claims claims;
    enum jwt_reject why;
    if (jwt_verify(jc, bearer, now_s, &claims, &why) != ATP_OK) {
        atp_log_kv(LOG_INFO, "http", "request_id", request_id, "bearer token refused: %s", jwt_reject_name(why));
        return 0;
    }
    char *end;
    long long uid = strtoll(claims.sub, &end, 10);
    enum api_role r = role_of(claims.role);
    if (claims.sub[0] && !*end && uid > 0 && r != API_ROLE_ANONYMOUS) {
        out->user_id = uid;
        out->role = r;
    }
    return 0;
}
