/* api/h_auth: register, login, refresh and logout. Access is decided by api/policy.c before these
 * run; the caller's identity (req->user_id, req->role, req->session_id) was set by api/authn.
 *
 * Login: the credential-attempt limit (per IP, per email: 429) first; argon2id verify; 3
 * consecutive failures (wrong password, or wrong TOTP code when 2FA is on) lock the account for
 * 15 minutes (423), a success resets the count; an unknown email costs the same hash work and
 * answers the same 401. Every success, failure and lock is audited. A login opens a session
 * (store_session_create): its id is the family id of the refresh tokens and the "sid" claim of the
 * access tokens. Refresh tokens are random (auth/token), stored only as their SHA-256 digest, in
 * rotation families: a refresh revokes the presented token and issues its replacement; presenting
 * an already revoked token revokes the whole session (reuse detection). A refresh of an ended
 * session (revoked, idle, user disabled) is refused. Logout revokes the session, so its access
 * tokens stop working on the next request. */
#include "api/h_auth.h"
#include "api/notify.h"

#include "api/authn.h"
#include "api/h_me.h"
#include "api/http.h"
#include "api/json_err.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/log.h"
#include "store/store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000LL

int64_t h_auth_now_ns(void) { return api_authn_now_ns(); }

static const char *role_text(int role)
{
    const char *r = store_user_role_name(role);
    return r ? r : "investor";
}

json_t *h_auth_user_json(const struct store_user *u)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)u->id, "email", u->email, "name",
                     u->name, "role", role_text(u->role), "totp_enabled", u->totp_enabled ? 1 : 0);
}

void h_auth_audit(struct api_request *req, int64_t user_id, const char *action, const char *result,
                  const char *email)
{
    struct store_audit a = {0};
    a.ts_ns = h_auth_now_ns();
    a.user_id = user_id;
    snprintf(a.action, sizeof a.action, "%s", action);
    if (user_id)
        snprintf(a.resource, sizeof a.resource, "user:%lld", (long long)user_id);
    snprintf(a.ip, sizeof a.ip, "%s", req->client_ip ? req->client_ip : "");
    snprintf(a.user_agent, sizeof a.user_agent, "%s", req->user_agent ? req->user_agent : "");
    snprintf(a.result, sizeof a.result, "%s", result);
    json_t *d = json_pack("{s:s, s:s}", "email", email ? email : "", "request_id",
                          req->request_id ? req->request_id : "");
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    snprintf(a.details, sizeof a.details, "%s", text ? text : "{}");
    free(text);
    json_decref(d);
    int64_t id;
    struct atp_err err;
    if (store_audit_append(req->store, &a, &id, &err) != ATP_OK)
        atp_log_kv(LOG_ERROR, "auth", "request_id", req->request_id, "audit %s failed: %s", action, err.msg);
}

const char *h_auth_str(const struct api_request *req, const char *name)
{
    const char *v = json_string_value(json_object_get(req->json, name));
    return v ? v : "";
}

int h_auth_ready(struct api_request *req, struct api_response *res)
{
    if (req->store && api_server_jwt(req->server) && api_authn_global())
        return 1;
    api_error(res, 503, "unavailable", NULL, "the server has no user store");
    return 0;
}

int h_auth_password_acceptable(const char *password, const char *field, struct api_response *res)
{
    if (strlen(password) < H_AUTH_PASSWORD_MIN) {
        api_error(res, 422, "weak_password", field, "the password needs at least %d characters",
                  H_AUTH_PASSWORD_MIN);
        return 0;
    }
    return 1;
}

int h_auth_attempt_allowed(struct api_request *req, struct api_response *res, const char *email)
{
    int retry = 0;
    if (api_authn_attempt(api_authn_global(), req->client_ip, email, &retry))
        return 1;
    api_error(res, 429, "rate_limited", NULL, "too many attempts; retry in %d s", retry);
    res->retry_after_s = retry;
    return 0;
}

void h_auth_count_failure(struct api_request *req, struct store_user *u, const char *action,
                          const char *result)
{
    int64_t now = h_auth_now_ns();
    if (u->locked_until_ns && u->locked_until_ns <= now) { /* the lock ran out: a fresh count */
        u->locked_until_ns = 0;
        u->failed_logins = 0;
    }
    u->failed_logins++;
    int locked = u->failed_logins >= H_AUTH_MAX_FAILURES && !u->locked_until_ns;
    if (locked)
        u->locked_until_ns = now + (int64_t)H_AUTH_LOCK_S * NS_PER_S;
    struct atp_err err;
    if (store_user_update(req->store, u->id, STORE_USER_F_LOCKOUT, u, &err) != ATP_OK)
        atp_log_kv(LOG_ERROR, "auth", "request_id", req->request_id, "failed-login count not saved: %s", err.msg);
    h_auth_audit(req, u->id, action, result, u->email);
    if (locked) {
        h_auth_audit(req, u->id, "auth.lock", "ok", u->email);
        notify_lockout(req->store, u->id, u->locked_until_ns);
    }
}

/* ---- register ---- */

const struct api_field h_auth_register_body[] = {
    {"email", API_FT_STRING, 1, STORE_EMAIL_MAX - 1, "email address (unique, any case)"},
    {"name", API_FT_STRING, 1, STORE_NAME_MAX - 1, "display name"},
    {"password", API_FT_STRING, 1, PASSWORD_MAX_LEN, "password, at least 10 characters"},
    {NULL, 0, 0, 0, NULL},
};

void h_auth_register(struct api_request *req, struct api_response *res)
{
    if (!h_auth_ready(req, res))
        return;
    const char *email = h_auth_str(req, "email"), *name = h_auth_str(req, "name");
    const char *password = h_auth_str(req, "password");
    if (!h_auth_attempt_allowed(req, res, email))
        return;
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@')) {
        api_error(res, 422, "invalid_field", "email", "not an email address");
        return;
    }
    if (!name[0]) {
        api_error(res, 422, "invalid_field", "name", "the name is empty");
        return;
    }
    if (!h_auth_password_acceptable(password, "password", res))
        return;
    struct store_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.email, sizeof u.email, "%s", email);
    snprintf(u.name, sizeof u.name, "%s", name);
    if (password_hash(password, strlen(password), u.password_hash) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot hash the password");
        return;
    }
    u.role = STORE_ROLE_TRADER;
    u.status = STORE_USER_ACTIVE;
    struct atp_err err;
    int rc = store_user_create(req->store, &u, &u.id, &err);
    if (rc == ATP_EEXIST) {
        api_error(res, 409, "conflict", "email", "this email is already registered");
        return;
    }
    if (rc != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot create the user");
        return;
    }
    h_auth_audit(req, u.id, "auth.register", "ok", u.email);
    res->status = 201;
    res->json = h_auth_user_json(&u);
}

/* ---- tokens ---- */

/* Issues an access token and a refresh token of session (a new session, opened here, when
 * session is NULL) and fills res with the login answer. Returns the new refresh token's id, 0 on
 * failure (res set). */
static int64_t issue_tokens(struct api_request *req, struct api_response *res,
                            const struct store_user *u, const char *session)
{
    struct store *s = req->store;
    const struct jwt_config *jc = api_server_jwt(req->server);
    char access[JWT_MAX_LEN + 1], refresh[TOKEN_TEXT_SIZE], fresh[TOKEN_TEXT_SIZE];
    char sub[32];
    snprintf(sub, sizeof sub, "%lld", (long long)u->id);
    if (!session) {
        struct store_session ss = {.user_id = u->id};
        if (token_generate(fresh) != ATP_OK) {
            api_error(res, 500, "internal", NULL, "cannot issue tokens");
            return 0;
        }
        snprintf(ss.id, sizeof ss.id, "%s", fresh);
        snprintf(ss.ip, sizeof ss.ip, "%s", req->client_ip ? req->client_ip : "");
        snprintf(ss.user_agent, sizeof ss.user_agent, "%s", req->user_agent ? req->user_agent : "");
        if (store_session_create(s, &ss, NULL) != ATP_OK) {
            api_error(res, 500, "internal", NULL, "cannot open the session");
            return 0;
        }
        session = fresh;
    }
    struct store_refresh_token t;
    memset(&t, 0, sizeof t);
    if (jwt_issue(jc, sub, role_text(u->role), session, h_auth_now_ns() / NS_PER_S, access, sizeof access,
                  NULL) != ATP_OK ||
        token_generate(refresh) != ATP_OK || token_hash(refresh, t.token_hash) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot issue tokens");
        return 0;
    }
    snprintf(t.family_id, sizeof t.family_id, "%s", session);
    t.user_id = u->id;
    t.expires_ns = h_auth_now_ns() + (int64_t)H_AUTH_REFRESH_TTL_S * NS_PER_S;
    if (store_token_insert(s, &t, &t.id, NULL) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot store the refresh token");
        return 0;
    }
    res->json = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:o}", "access_token", access, "token_type",
                          "Bearer", "refresh_token", refresh, "expires_in", (int)JWT_DEFAULT_TTL_S,
                          "refresh_expires_in", (int)H_AUTH_REFRESH_TTL_S, "session_idle_s",
                          (json_int_t)api_authn_settings(api_authn_global())->session_idle_s, "user",
                          h_auth_user_json(u));
    sodium_memzero(refresh, sizeof refresh);
    return t.id;
}

/* ---- login ---- */

const struct api_field h_auth_login_body[] = {
    {"email", API_FT_STRING, 1, 254, "the account's email address"},
    {"password", API_FT_STRING, 1, 1024, "the password"},
    {"totp", API_FT_STRING, 0, 16, "the current 6-digit TOTP code, required when 2FA is enabled"},
    {NULL, 0, 0, 0, NULL},
};

/* A valid argon2id hash of a random password, verified against when the email is unknown so
 * that the answer takes as long as for a known one. Made once (pthread_once: logins may run on
 * several threads); "" if that failed, and then the unknown email costs no hash. */
static char dummy[PASSWORD_HASH_SIZE];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
    char pw[TOKEN_TEXT_SIZE];
    if (token_generate(pw) != ATP_OK || password_hash(pw, strlen(pw), dummy) != ATP_OK)
        dummy[0] = 0;
    sodium_memzero(pw, sizeof pw);
}

static const char *dummy_hash(void)
{
    pthread_once(&dummy_once, dummy_make);
    return dummy;
}

/* The second factor of u's login: 1 when it passes (or 2FA is off); else 0 with res set. */
static int second_factor(struct api_request *req, struct api_response *res, struct store_user *u)
{
    if (!u->totp_enabled)
        return 1;
    const char *code = h_auth_str(req, "totp");
    if (!code[0]) {
        h_auth_audit(req, u->id, "auth.login", "totp_required", u->email);
        api_error(res, 401, "totp_required", "totp", "this account needs its TOTP code: send it in 'totp'");
        return 0;
    }
    enum totp_reject why = TOTP_VALID;
    enum h_totp_result r = h_me_totp_check(req, res, u, code, &why);
    if (r == H_TOTP_FAILED)
        return 0;
    if (r == H_TOTP_WRONG) {
        h_auth_count_failure(req, u, "auth.login", "invalid_totp");
        api_error(res, 401, "invalid_totp", "totp",
                  why == TOTP_REJECT_REPLAY ? "this TOTP code was already used; wait for the next one"
                                            : "wrong TOTP code");
        return 0;
    }
    return 1;
}

void h_auth_login(struct api_request *req, struct api_response *res)
{
    if (!h_auth_ready(req, res))
        return;
    struct store *s = req->store;
    const char *email = h_auth_str(req, "email"), *password = h_auth_str(req, "password");
    if (!h_auth_attempt_allowed(req, res, email)) {
        h_auth_audit(req, 0, "auth.login", "rate_limited", email);
        return;
    }
    struct store_user u;
    bool match = false;
    if (store_user_get_by_email(s, email, &u, NULL) != ATP_OK) {
        const char *dh = dummy_hash();
        if (dh[0])
            password_verify(dh, password, strlen(password), &match);
        h_auth_audit(req, 0, "auth.login", "denied", email);
        api_error(res, 401, "invalid_credentials", NULL, "wrong email or password");
        return;
    }
    int64_t now = h_auth_now_ns();
    if (u.locked_until_ns > now) {
        h_auth_audit(req, u.id, "auth.login", "locked", u.email);
        int64_t left = (u.locked_until_ns - now) / NS_PER_S + 1;
        res->retry_after_s = (int)left;
        api_error(res, 423, "locked", NULL, "too many failed logins; the account is locked for %lld s",
                  (long long)left);
        return;
    }
    if (password_verify(u.password_hash, password, strlen(password), &match) != ATP_OK)
        match = false;
    if (!match) {
        h_auth_count_failure(req, &u, "auth.login", "denied");
        api_error(res, 401, "invalid_credentials", NULL, "wrong email or password");
        return;
    }
    if (u.status != STORE_USER_ACTIVE) {
        h_auth_audit(req, u.id, "auth.login", "disabled", u.email);
        api_error(res, 403, "account_disabled", NULL, "this account is disabled");
        return;
    }
    if (!second_factor(req, res, &u))
        return;
    if (u.failed_logins || u.locked_until_ns) {
        u.failed_logins = 0;
        u.locked_until_ns = 0;
        store_user_update(s, u.id, STORE_USER_F_LOCKOUT, &u, NULL);
    }
    if (issue_tokens(req, res, &u, NULL))
        h_auth_audit(req, u.id, "auth.login", "ok", u.email);
}

/* ---- refresh and logout ---- */

const struct api_field h_auth_refresh_body[] = {
    {"refresh_token", API_FT_STRING, 1, 256, "the refresh token of the last login or refresh"},
    {NULL, 0, 0, 0, NULL},
};

/* Finds the presented refresh token. 0 with *t filled, else -1 with a 401 in res. */
static int find_refresh(struct api_request *req, struct api_response *res, struct store_refresh_token *t)
{
    char hash[TOKEN_HASH_HEX_SIZE];
    if (token_hash(h_auth_str(req, "refresh_token"), hash) != ATP_OK ||
        store_token_find(req->store, hash, t, NULL) != ATP_OK) {
        api_error(res, 401, "invalid_token", "refresh_token", "unknown refresh token");
        return -1;
    }
    return 0;
}

/* Ends the session of refresh token t (and every token of its family) with reason. */
static void end_session(struct api_request *req, const struct store_refresh_token *t, const char *reason)
{
    struct atp_err err;
    int rc = store_session_revoke(req->store, t->user_id, t->family_id, reason, &err);
    if (rc == ATP_ENOTFOUND) /* a family without a session row: its tokens still go */
        rc = store_token_revoke_family(req->store, t->user_id, t->family_id, NULL, &err);
    if (rc != ATP_OK)
        atp_log_kv(LOG_ERROR, "auth", "request_id", req->request_id, "cannot end the session: %s", err.msg);
}

void h_auth_refresh(struct api_request *req, struct api_response *res)
{
    if (!h_auth_ready(req, res))
        return;
    struct store *s = req->store;
    struct store_refresh_token t;
    if (find_refresh(req, res, &t) != 0)
        return;
    if (t.revoked_ns) {
        /* A revoked token presented again: stolen or replayed. The whole session dies. */
        end_session(req, &t, "refresh_reuse");
        h_auth_audit(req, t.user_id, "auth.refresh_reuse", "denied", NULL);
        api_error(res, 401, "invalid_token", "refresh_token",
                  "this refresh token was already used; the session is revoked");
        return;
    }
    int64_t now = h_auth_now_ns();
    struct store_session ss;
    int user_status = 0;
    struct atp_err err;
    int rc = store_session_get(s, t.family_id, &ss, NULL, &user_status, &err);
    if (rc != ATP_OK && rc != ATP_ENOTFOUND) {
        api_error(res, 500, "internal", NULL, "cannot read the session");
        return;
    }
    const char *gone = rc == ATP_ENOTFOUND ? "unknown" : api_authn_session_ended(api_authn_global(), &ss, user_status, now);
    if (gone) {
        if (rc == ATP_OK && !ss.revoked_ns)
            end_session(req, &t, strcmp(gone, "disabled") == 0 ? "disabled" : "idle");
        h_auth_audit(req, t.user_id, "auth.refresh", "session_ended", NULL);
        api_error(res, 401, "session_expired", "refresh_token", "the session ended (%s); log in again", gone);
        return;
    }
    struct store_user u;
    if (t.expires_ns <= now || store_user_get(s, t.user_id, &u, NULL) != ATP_OK) {
        api_error(res, 401, "invalid_token", "refresh_token", "the refresh token expired");
        return;
    }
    if (store_session_touch(s, ss.id, now, &err) != ATP_OK)
        atp_log_kv(LOG_WARN, "auth", "request_id", req->request_id, "session touch failed: %s", err.msg);
    int64_t new_id = issue_tokens(req, res, &u, t.family_id);
    if (!new_id)
        return;
    if (store_token_revoke(s, t.user_id, t.id, new_id, NULL) != ATP_OK) {
        json_decref(res->json);
        res->json = NULL;
        end_session(req, &t, "revoked");
        api_error(res, 500, "internal", NULL, "cannot rotate the refresh token");
    }
}

void h_auth_logout(struct api_request *req, struct api_response *res)
{
    if (!h_auth_ready(req, res))
        return;
    struct store_refresh_token t;
    if (find_refresh(req, res, &t) != 0)
        return;
    end_session(req, &t, "logout");
    h_auth_audit(req, t.user_id, "auth.logout", "ok", NULL);
    res->json = json_pack("{s:s}", "status", "logged_out");
}
