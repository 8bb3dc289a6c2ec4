/* api/authn: who is calling. Turns the request's credential (a Bearer access token) into the
 * caller's identity before the policy decides: user id and role, or anonymous. Anything that is
 * not a valid token (absent, forged, expired, wrong audience, unknown role) leaves the caller
 * anonymous, so the policy answers 401 wherever a login is needed; the reason is logged, never
 * the token. Session rules (inactivity, revocation) belong here too, so handlers and the policy
 * never see a caller whose session has ended. */
#ifndef ATP_API_AUTHN_H
#define ATP_API_AUTHN_H

#include <stdint.h>

#include "api/policy.h"

struct jwt_config;
struct store;

struct api_identity {
    int64_t user_id;     /* 0: anonymous */
    enum api_role role;  /* API_ROLE_ANONYMOUS when user_id is 0 */
};

/* Resolves bearer (the token text, "" or NULL when none) at now_s (Unix seconds) against jc (NULL:
 * no token is ever accepted) and the store s (may be NULL). request_id labels the log line of a
 * refusal. Always fills *out; returns 0, or -1 when the store failed (the server answers 500). */
int api_authn_resolve(const struct jwt_config *jc, struct store *s, const char *bearer, int64_t now_s,
                      const char *request_id, struct api_identity *out);

#endif
