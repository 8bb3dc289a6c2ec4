/* api/authn: who is calling. Turns the request's credential (a Bearer access token) into the
 * caller's identity before the policy decides: user id, CURRENT role (from the store, not the
 * token) and session, or anonymous. Anything that is not a valid token (absent, forged, expired,
 * wrong audience) leaves the caller anonymous, so the policy answers 401 wherever a login is
 * needed; the reason is logged, never the token.
 *
 * Sessions (docs/security.md "Sessions"): every access token names its login session ("sid" =
 * the refresh-token family id). One store read per request (session joined with its user) refuses
 * a token whose session was revoked (logout, password change, refresh-token reuse), whose user is
 * disabled, or that was idle longer than the inactivity timeout: this is the access-token
 * deny-list, effective on the next request. last_seen is written at most once per touch interval
 * (min(session_touch_s, session_idle_s / 4)), never per request, so a session may end up to one
 * touch interval earlier than the timeout after its last request (never later).
 *
 * Rate limits decided here: per authenticated user (after identity), and the credential-attempt
 * limit of login, register and the other routes that check a password or a TOTP code (per client
 * IP and per email), both token buckets (api/ratelimit, thread-safe).
 *
 * Settings come from ATP_* environment variables (api_authn_config_from_env). The server uses one
 * process-wide instance, api_authn_global(); tests may make their own. Every function here may be
 * called from any thread; the store passed must be the calling thread's connection. */
#ifndef ATP_API_AUTHN_H
#define ATP_API_AUTHN_H

#include <stdint.h>

#include "api/policy.h"
#include "core/err.h"

struct jwt_config;
struct store;
struct store_session;
struct api_route;
struct api_response;

struct api_authn_config {
    int64_t session_idle_s;     /* ATP_SESSION_IDLE_S: inactivity timeout (default 1800) */
    int64_t session_touch_s;    /* ATP_SESSION_TOUCH_S: most frequent last_seen write (default 60;
                                 * capped at session_idle_s / 4) */
    double user_rate_per_s;     /* ATP_USER_RATE_PER_S: authenticated requests per user (20) */
    double user_rate_burst;     /* ATP_USER_RATE_BURST (40) */
    double auth_ip_per_min;     /* ATP_AUTH_IP_PER_MIN: credential attempts per client IP (10) */
    double auth_ip_burst;       /* ATP_AUTH_IP_BURST (10) */
    double auth_email_per_hour; /* ATP_AUTH_EMAIL_PER_HOUR: attempts per email (40, i.e. 10 per
                                 * 15 min) */
    double auth_email_burst;    /* ATP_AUTH_EMAIL_BURST (10) */
};

/* The defaults above. */
void api_authn_config_defaults(struct api_authn_config *cfg);
/* Overlays the ATP_* variables that are set onto cfg. ATP_EINVAL naming the variable (err->field)
 * for a value that is not a number in range (idle 1..2592000 s, touch 1..3600 s, rates > 0,
 * bursts >= 1); cfg is then unchanged. */
int api_authn_config_from_env(struct api_authn_config *cfg, struct atp_err *err);

struct api_authn;

/* NULL for an invalid cfg or no memory. api_authn_free(NULL) is a no-op. */
struct api_authn *api_authn_new(const struct api_authn_config *cfg);
void api_authn_free(struct api_authn *an);
const struct api_authn_config *api_authn_settings(const struct api_authn *an);

/* The process-wide instance, made once from the environment. api_authn_global_init makes it and
 * reports a bad setting (ATP_EINVAL naming the variable: `atp serve` refuses to start);
 * api_authn_global makes it on first use if nobody did (a bad setting is then logged and the
 * defaults used) and returns NULL only when out of memory. */
int api_authn_global_init(struct atp_err *err);
struct api_authn *api_authn_global(void);

enum api_authn_outcome {
    API_AUTHN_PASS = 0,     /* carry on: a user, or anonymous */
    API_AUTHN_ENDED,        /* a valid token of an ended session: anonymous; 401 where a login is
                             * needed, with code session_expired (account_disabled) */
    API_AUTHN_RATE_LIMITED, /* a user over the per-user limit: 429 + Retry-After */
};

#define API_SESSION_ID_MAX 64

struct api_identity {
    int64_t user_id;                        /* 0: anonymous */
    enum api_role role;                     /* API_ROLE_ANONYMOUS when user_id is 0 */
    char session_id[API_SESSION_ID_MAX];    /* the caller's session, "" when anonymous */
    enum api_authn_outcome outcome;
    const char *ended;                      /* ENDED: why ("logout", "idle", "disabled", ...) */
    int retry_after_s;                      /* RATE_LIMITED: seconds */
};

/* Resolves bearer (the token text, "" or NULL when none) against jc (NULL: no token is ever
 * accepted) and the store s (the calling thread's connection; NULL: no token is accepted) at the
 * real-time clock. request_id labels the log line of a refusal. Always fills *out; returns 0, or
 * -1 when the store failed or an is NULL (the server answers 500). */
int api_authn_resolve(struct api_authn *an, const struct jwt_config *jc, struct store *s, const char *bearer,
                      const char *request_id, struct api_identity *out);

/* Maps an outcome to the response for route: 1 when res was filled (429, or 401 on a route that
 * needs a login) and must be sent instead of running the route; 0 to carry on (PASS, or an ended
 * session on a route anonymous callers may use: the caller simply is anonymous). */
int api_authn_refusal(const struct api_identity *who, const struct api_route *route,
                      struct api_response *res);

/* Why session ss (of a user whose status is user_status) cannot be used at now_ns: NULL when it
 * can; else "revoked reason" text ("logout", "password_change", ...), "disabled" or "idle". The one
 * rule shared by every request and by refresh. */
const char *api_authn_session_ended(const struct api_authn *an, const struct store_session *ss,
                                    int user_status, int64_t now_ns);

/* Takes one credential attempt for client ip and email (either may be NULL or "": not limited by
 * it). 1 when allowed; 0 with *retry_after_s set when either bucket is empty. */
int api_authn_attempt(struct api_authn *an, const char *ip, const char *email, int *retry_after_s);

/* Real-time clock, ns since the Unix epoch (what session times are measured in). */
int64_t api_authn_now_ns(void);

#endif
