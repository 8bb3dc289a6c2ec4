#include "api/authn.h"

#include "api/json_err.h"
#include "api/ratelimit.h"
#include "api/router.h"
#include "auth/jwt.h"
#include "core/alloc.h"
#include "core/log.h"
#include "store/store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL
#define USER_TABLE 8192  /* per-user buckets: more users than that share by eviction */
#define ATTEMPT_TABLE 4096

struct api_authn {
    struct api_authn_config cfg;
    int64_t touch_ns;            /* effective touch interval */
    struct ratelimit *per_user;
    struct ratelimit *per_ip;    /* credential attempts */
    struct ratelimit *per_email;
};

void api_authn_config_defaults(struct api_authn_config *cfg)
{
    cfg->session_idle_s = 30 * 60;
    cfg->session_touch_s = 60;
    cfg->user_rate_per_s = 20;
    cfg->user_rate_burst = 40;
    cfg->auth_ip_per_min = 10;
    cfg->auth_ip_burst = 10;
    cfg->auth_email_per_hour = 40;
    cfg->auth_email_burst = 10;
}

struct env_setting {
    const char *name;
    double min, max;
    int is_int; /* a whole number */
};

static const struct env_setting env_settings[] = {
    {"ATP_SESSION_IDLE_S", 1, 30 * 24 * 3600, 1},
    {"ATP_SESSION_TOUCH_S", 1, 3600, 1},
    {"ATP_USER_RATE_PER_S", 0.001, 1e9, 0},
    {"ATP_USER_RATE_BURST", 1, 1e9, 0},
    {"ATP_AUTH_IP_PER_MIN", 0.001, 1e9, 0},
    {"ATP_AUTH_IP_BURST", 1, 1e9, 0},
    {"ATP_AUTH_EMAIL_PER_HOUR", 0.001, 1e9, 0},
    {"ATP_AUTH_EMAIL_BURST", 1, 1e9, 0},
};
#define N_ENV (sizeof env_settings / sizeof env_settings[0])

/* Stores setting i (its row in env_settings) into c. */
static void apply(struct api_authn_config *c, size_t i, double v)
{
    switch (i) {
    case 0: c->session_idle_s = (int64_t)v; break;
    case 1: c->session_touch_s = (int64_t)v; break;
    case 2: c->user_rate_per_s = v; break;
    case 3: c->user_rate_burst = v; break;
    case 4: c->auth_ip_per_min = v; break;
    case 5: c->auth_ip_burst = v; break;
    case 6: c->auth_email_per_hour = v; break;
    case 7: c->auth_email_burst = v; break;
    }
}

int api_authn_config_from_env(struct api_authn_config *cfg, struct atp_err *err)
{
    struct api_authn_config c = *cfg;
    for (size_t i = 0; i < N_ENV; i++) {
        const struct env_setting *e = &env_settings[i];
        const char *text = getenv(e->name);
        if (!text)
            continue;
        char *end;
        double v = strtod(text, &end);
        if (!*text || *end || !(v >= e->min && v <= e->max) || (e->is_int && v != (double)(int64_t)v))
            return atp_err_set(err, ATP_EINVAL, NULL, 0, e->name, "must be a%s number in %g..%g, not '%s'",
                               e->is_int ? " whole" : "", e->min, e->max, text);
        apply(&c, i, v);
    }
    *cfg = c;
    return ATP_OK;
}

struct api_authn *api_authn_new(const struct api_authn_config *cfg)
{
    if (!cfg || cfg->session_idle_s < 1 || cfg->session_touch_s < 1)
        return NULL;
    struct api_authn *an = atp_calloc(1, sizeof *an);
    if (!an)
        return NULL;
    an->cfg = *cfg;
    /* At most a quarter of the timeout, so a session in use never looks idle. */
    int64_t touch_ns = cfg->session_touch_s * NS_PER_S;
    int64_t quarter_ns = cfg->session_idle_s * NS_PER_S / 4;
    an->touch_ns = touch_ns < quarter_ns ? touch_ns : quarter_ns;
    an->per_user = ratelimit_new(cfg->user_rate_per_s, cfg->user_rate_burst, USER_TABLE);
    an->per_ip = ratelimit_new(cfg->auth_ip_per_min / 60.0, cfg->auth_ip_burst, ATTEMPT_TABLE);
    an->per_email = ratelimit_new(cfg->auth_email_per_hour / 3600.0, cfg->auth_email_burst, ATTEMPT_TABLE);
    if (!an->per_user || !an->per_ip || !an->per_email) {
        api_authn_free(an);
        return NULL;
    }
    return an;
}

void api_authn_free(struct api_authn *an)
{
    if (!an)
        return;
    ratelimit_free(an->per_user);
    ratelimit_free(an->per_ip);
    ratelimit_free(an->per_email);
    atp_free(an);
}

const struct api_authn_config *api_authn_settings(const struct api_authn *an) { return &an->cfg; }

/* ---- the process-wide instance ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static struct api_authn *global_authn;
static struct atp_err global_err;
static int global_rc;

static void global_make(void)
{
    struct api_authn_config cfg;
    api_authn_config_defaults(&cfg);
    global_rc = api_authn_config_from_env(&cfg, &global_err);
    if (global_rc != ATP_OK) {
        atp_log(LOG_ERROR, "authn", "%s %s; using the defaults", global_err.field, global_err.msg);
        api_authn_config_defaults(&cfg);
    }
    global_authn = api_authn_new(&cfg);
    if (!global_authn && global_rc == ATP_OK)
        global_rc = atp_err_set(&global_err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
}

int api_authn_global_init(struct atp_err *err)
{
    pthread_once(&global_once, global_make);
    if (global_rc != ATP_OK && err)
        *err = global_err;
    return global_rc;
}

struct api_authn *api_authn_global(void)
{
    pthread_once(&global_once, global_make);
    return global_authn;
}

/* ---- clocks ---- */

int64_t api_authn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- sessions ---- */

static enum api_role role_of_store(int role)
{
    switch (role) {
    case STORE_ROLE_ADMIN: return API_ROLE_ADMIN;
    case STORE_ROLE_TRADER: return API_ROLE_TRADER;
    case STORE_ROLE_INVESTOR: return API_ROLE_INVESTOR;
    default: return API_ROLE_ANONYMOUS;
    }
}

/* The revoke reasons the handlers record, as constant strings (the identity outlives the row). */
static const char *reason_const(const char *reason)
{
    static const char *const known[] = {"logout", "password_change", "refresh_reuse", "idle", "disabled"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(reason, known[i]) == 0)
            return known[i];
    return "revoked";
}

const char *api_authn_session_ended(const struct api_authn *an, const struct store_session *ss,
                                    int user_status, int64_t now_ns)
{
    if (ss->revoked_ns)
        return reason_const(ss->revoke_reason);
    if (user_status != STORE_USER_ACTIVE)
        return "disabled";
    if (now_ns - ss->last_seen_ns > an->cfg.session_idle_s * NS_PER_S)
        return "idle";
    return NULL;
}

static void ended(struct api_identity *out, const char *why, const char *request_id)
{
    out->outcome = API_AUTHN_ENDED;
    out->ended = why;
    atp_log_kv(LOG_INFO, "authn", "request_id", request_id, "session ended: %s", why);
}

int api_authn_resolve(struct api_authn *an, const struct jwt_config *jc, struct store *s, const char *bearer,
                      const char *request_id, struct api_identity *out)
{
    memset(out, 0, sizeof *out);
    out->role = API_ROLE_ANONYMOUS;
    out->outcome = API_AUTHN_PASS;
    if (!an)
        return -1;
    if (!bearer || !bearer[0] || !jc || !s)
        return 0;
    int64_t now = api_authn_now_ns();
    struct jwt_claims claims;
    enum jwt_reject why;
    if (jwt_verify(jc, bearer, now / NS_PER_S, &claims, &why) != ATP_OK) {
        atp_log_kv(LOG_INFO, "authn", "request_id", request_id, "bearer token refused: %s", jwt_reject_name(why));
        return 0;
    }
    char *end;
    long long uid = strtoll(claims.sub, &end, 10);
    if (!claims.sub[0] || *end || uid <= 0) {
        atp_log_kv(LOG_INFO, "authn", "request_id", request_id, "bearer token refused: bad sub");
        return 0;
    }
    if (!claims.sid[0]) { /* issued before sessions existed: it cannot be revoked, so it is refused */
        ended(out, "no_session", request_id);
        return 0;
    }

    struct store_session ss;
    int role = 0, status = 0;
    struct atp_err err;
    int rc = store_session_get(s, claims.sid, &ss, &role, &status, &err);
    if (rc == ATP_ENOTFOUND || (rc == ATP_OK && ss.user_id != uid)) {
        ended(out, "unknown", request_id);
        return 0;
    }
    if (rc != ATP_OK) {
        atp_log_kv(LOG_ERROR, "authn", "request_id", request_id, "session lookup failed: %s", err.msg);
        return -1;
    }
    const char *gone = api_authn_session_ended(an, &ss, status, now);
    if (gone) {
        /* A disabled user's sessions stay ended even if the account is enabled again. */
        if (!ss.revoked_ns && strcmp(gone, "disabled") == 0 &&
            store_session_revoke(s, uid, ss.id, "disabled", &err) != ATP_OK)
            atp_log_kv(LOG_WARN, "authn", "request_id", request_id, "session revoke failed: %s", err.msg);
        ended(out, gone, request_id);
        return 0;
    }
    enum api_role r = role_of_store(role);
    if (r == API_ROLE_ANONYMOUS)
        return 0;
    /* Activity: written at most once per touch interval (not per request). A failed write costs
     * precision, not the request. */
    if (now - ss.last_seen_ns >= an->touch_ns && store_session_touch(s, ss.id, now, &err) != ATP_OK)
        atp_log_kv(LOG_WARN, "authn", "request_id", request_id, "session touch failed: %s", err.msg);

    char key[32];
    snprintf(key, sizeof key, "u:%lld", uid);
    int retry = 0;
    if (!ratelimit_take(an->per_user, key, mono_ms(), &retry)) {
        out->outcome = API_AUTHN_RATE_LIMITED;
        out->retry_after_s = retry;
        return 0;
    }
    out->user_id = uid;
    out->role = r;
    memcpy(out->session_id, claims.sid, sizeof out->session_id); /* == ss.id */
    return 0;
}

int api_authn_refusal(const struct api_identity *who, const struct api_route *route,
                      struct api_response *res)
{
    if (who->outcome == API_AUTHN_RATE_LIMITED) {
        api_error(res, 429, "rate_limited", NULL, "too many requests for this user; retry in %d s",
                  who->retry_after_s);
        res->retry_after_s = who->retry_after_s;
        return 1;
    }
    if (who->outcome != API_AUTHN_ENDED ||
        api_policy_decide(route->name, API_ROLE_ANONYMOUS, API_REL_NONE) == API_POLICY_ALLOW)
        return 0;
    if (who->ended && strcmp(who->ended, "disabled") == 0)
        api_error(res, 401, "account_disabled", NULL, "this account is disabled");
    else if (who->ended && strcmp(who->ended, "idle") == 0)
        api_error(res, 401, "session_expired", NULL, "the session ended after inactivity; log in again");
    else
        api_error(res, 401, "session_expired", NULL, "the session ended (%s); log in again",
                  who->ended ? who->ended : "revoked");
    return 1;
}

/* ---- credential attempts ---- */

int api_authn_attempt(struct api_authn *an, const char *ip, const char *email, int *retry_after_s)
{
    int64_t now = mono_ms();
    int retry = 0;
    if (ip && ip[0] && !ratelimit_take(an->per_ip, ip, now, &retry)) {
        *retry_after_s = retry;
        return 0;
    }
    if (email && email[0]) {
        /* Keyed by a digest of the ASCII-lower-cased email: any length fits the 63-byte keys, and
         * the table never holds an address. */
        char lower[STORE_EMAIL_MAX];
        unsigned char digest[16];
        char key[2 + 2 * sizeof digest + 1] = "e:";
        size_t n = 0;
        for (; n < sizeof lower - 1 && email[n]; n++)
            lower[n] = email[n] >= 'A' && email[n] <= 'Z' ? (char)(email[n] - 'A' + 'a') : email[n];
        lower[n] = '\0';
        crypto_generichash(digest, sizeof digest, (const unsigned char *)lower, strlen(lower), NULL, 0);
        sodium_bin2hex(key + 2, sizeof key - 2, digest, sizeof digest);
        if (!ratelimit_take(an->per_email, key, now, &retry)) {
            *retry_after_s = retry;
            return 0;
        }
    }
    return 1;
}

_Static_assert(sizeof(((struct api_request *)0)->session_id) == API_SESSION_ID_MAX &&
                   sizeof(((struct jwt_claims *)0)->sid) == API_SESSION_ID_MAX,
               "a session id travels claim -> identity -> request unchanged");
