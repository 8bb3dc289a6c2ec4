/* api/h_auth: register, login, refresh, logout and me. Access is decided by api/policy.c before
 * these run; the caller's identity (req->user_id, req->role) was set by the JWT middleware.
 *
 * Login: argon2id verify; 3 consecutive failures lock the account for 15 minutes (423), a success
 * resets the count; an unknown email costs the same hash work and answers the same 401. Every
 * success, failure and lock is audited. Refresh tokens are random (auth/token), stored only as
 * their SHA-256 digest, in rotation families: a refresh revokes the presented token and issues its
 * replacement; presenting an already revoked token revokes the whole family (reuse detection).
 * The store is called synchronously on the io thread (docs/api.md: known limitation). */
#include "api/h_auth.h"

#include "api/http.h"
#include "api/json_err.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static const char *role_text(int role)
{
    const char *r = store_user_role_name(role);
    return r ? r : "investor";
}

static json_t *user_json(const struct store_user *u)
{
    return json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)u->id, "email", u->email, "name",
                     u->name, "role", role_text(u->role));
}

static void audit(struct api_request *req, int64_t user_id, const char *action, const char *result,
                  const char *email)
{
    struct store_audit a = {0};
    a.ts_ns = now_ns();
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

static const char *str_field(const struct api_request *req, const char *name)
{
    const char *v = json_string_value(json_object_get(req->json, name));
    return v ? v : "";
}

static int have_store(struct api_request *req, struct api_response *res)
{
    if (req->store && api_server_jwt(req->server))
        return 1;
    api_error(res, 503, "unavailable", NULL, "the server has no user store");
    return 0;
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
    if (!have_store(req, res))
        return;
    const char *email = str_field(req, "email"), *name = str_field(req, "name");
    const char *password = str_field(req, "password");
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@')) {
        api_error(res, 422, "invalid_field", "email", "not an email address");
        return;
    }
    if (!name[0]) {
        api_error(res, 422, "invalid_field", "name", "the name is empty");
        return;
    }
    if (strlen(password) < H_AUTH_PASSWORD_MIN) {
        api_error(res, 422, "weak_password", "password", "the password needs at least %d characters",
                  H_AUTH_PASSWORD_MIN);
        return;
    }
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
    audit(req, u.id, "auth.register", "ok", u.email);
    res->status = 201;
    res->json = user_json(&u);
}

/* ---- tokens ---- */

/* Issues an access token and a refresh token of family (a new family when family is NULL) and
 * fills res with the login answer. Returns the new refresh token's id, 0 on failure (res set). */
static int64_t issue_tokens(struct api_request *req, struct api_response *res,
                            const struct store_user *u, const char *family)
{
    struct store *s = req->store;
    const struct jwt_config *jc = api_server_jwt(req->server);
    char access[JWT_MAX_LEN + 1], refresh[TOKEN_TEXT_SIZE], fam[TOKEN_TEXT_SIZE];
    char sub[32];
    snprintf(sub, sizeof sub, "%lld", (long long)u->id);
    struct store_refresh_token t;
    memset(&t, 0, sizeof t);
    if (jwt_issue(jc, sub, role_text(u->role), (int64_t)time(NULL), access, sizeof access, NULL) != ATP_OK ||
        token_generate(refresh) != ATP_OK || token_hash(refresh, t.token_hash) != ATP_OK ||
        (!family && token_generate(fam) != ATP_OK)) {
        api_error(res, 500, "internal", NULL, "cannot issue tokens");
        return 0;
    }
    snprintf(t.family_id, sizeof t.family_id, "%s", family ? family : fam);
    t.user_id = u->id;
    t.expires_ns = now_ns() + (int64_t)H_AUTH_REFRESH_TTL_S * NS_PER_S;
    if (store_token_insert(s, &t, &t.id, NULL) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot store the refresh token");
        return 0;
    }
    res->json = json_pack("{s:s, s:s, s:s, s:i, s:i, s:o}", "access_token", access, "token_type",
                          "Bearer", "refresh_token", refresh, "expires_in", (int)JWT_DEFAULT_TTL_S,
                          "refresh_expires_in", (int)H_AUTH_REFRESH_TTL_S, "user", user_json(u));
    sodium_memzero(refresh, sizeof refresh);
    return t.id;
}

/* ---- login ---- */

const struct api_field h_auth_login_body[] = {
    {"email", API_FT_STRING, 1, 254, "the account's email address"},
    {"password", API_FT_STRING, 1, 1024, "the password"},
    {"totp", API_FT_STRING, 0, 16, "a TOTP code, when 2FA is enabled"},
    {NULL, 0, 0, 0, NULL},
};

/* A valid argon2id hash of a random password, verified against when the email is unknown so
 * that the answer takes as long as for a known one. */
static const char *dummy_hash(void)
{
    static char hash[PASSWORD_HASH_SIZE];
    if (!hash[0]) {
        char pw[TOKEN_TEXT_SIZE];
        if (token_generate(pw) != ATP_OK || password_hash(pw, strlen(pw), hash) != ATP_OK)
            hash[0] = 0;
    }
    return hash;
}

void h_auth_login(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store *s = req->store;
    const char *email = str_field(req, "email"), *password = str_field(req, "password");
    struct store_user u;
    bool match = false;
    if (store_user_get_by_email(s, email, &u, NULL) != ATP_OK) {
        const char *dh = dummy_hash();
        if (dh[0])
            password_verify(dh, password, strlen(password), &match);
        audit(req, 0, "auth.login", "denied", email);
        api_error(res, 401, "invalid_credentials", NULL, "wrong email or password");
        return;
    }
    int64_t now = now_ns();
    if (u.locked_until_ns > now) {
        audit(req, u.id, "auth.login", "locked", u.email);
        int64_t left = (u.locked_until_ns - now) / NS_PER_S + 1;
        res->retry_after_s = (int)left;
        api_error(res, 423, "locked", NULL, "too many failed logins; the account is locked for %lld s",
                  (long long)left);
        return;
    }
    if (u.locked_until_ns) { /* the lock ran out: a fresh count */
        u.locked_until_ns = 0;
        u.failed_logins = 0;
    }
    if (password_verify(u.password_hash, password, strlen(password), &match) != ATP_OK)
        match = false;
    if (!match) {
        u.failed_logins++;
        int locked = u.failed_logins >= H_AUTH_MAX_FAILURES;
        if (locked)
            u.locked_until_ns = now + (int64_t)H_AUTH_LOCK_S * NS_PER_S;
        store_user_update(s, u.id, STORE_USER_F_LOCKOUT, &u, NULL);
        audit(req, u.id, "auth.login", "denied", u.email);
        if (locked)
            audit(req, u.id, "auth.lock", "ok", u.email);
        api_error(res, 401, "invalid_credentials", NULL, "wrong email or password");
        return;
    }
    if (u.status != STORE_USER_ACTIVE) {
        audit(req, u.id, "auth.login", "disabled", u.email);
        api_error(res, 403, "account_disabled", NULL, "this account is disabled");
        return;
    }
    if (u.failed_logins || u.locked_until_ns) {
        u.failed_logins = 0;
        u.locked_until_ns = 0;
        store_user_update(s, u.id, STORE_USER_F_LOCKOUT, &u, NULL);
    }
    if (issue_tokens(req, res, &u, NULL))
        audit(req, u.id, "auth.login", "ok", u.email);
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
    if (token_hash(str_field(req, "refresh_token"), hash) != ATP_OK ||
        store_token_find(req->store, hash, t, NULL) != ATP_OK) {
        api_error(res, 401, "invalid_token", "refresh_token", "unknown refresh token");
        return -1;
    }
    return 0;
}

void h_auth_refresh(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store *s = req->store;
    struct store_refresh_token t;
    if (find_refresh(req, res, &t) != 0)
        return;
    if (t.revoked_ns) {
        /* A revoked token presented again: stolen or replayed. The whole family dies. */
        int n = 0;
        store_token_revoke_family(s, t.user_id, t.family_id, &n, NULL);
        audit(req, t.user_id, "auth.refresh_reuse", "denied", NULL);
        api_error(res, 401, "invalid_token", "refresh_token",
                  "this refresh token was already used; the session is revoked");
        return;
    }
    struct store_user u;
    if (t.expires_ns <= now_ns() || store_user_get(s, t.user_id, &u, NULL) != ATP_OK ||
        u.status != STORE_USER_ACTIVE) {
        api_error(res, 401, "invalid_token", "refresh_token", "the refresh token expired");
        return;
    }
    int64_t new_id = issue_tokens(req, res, &u, t.family_id);
    if (!new_id)
        return;
    if (store_token_revoke(s, t.user_id, t.id, new_id, NULL) != ATP_OK) {
        json_decref(res->json);
        res->json = NULL;
        store_token_revoke_family(s, t.user_id, t.family_id, NULL, NULL);
        api_error(res, 500, "internal", NULL, "cannot rotate the refresh token");
    }
}

void h_auth_logout(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store_refresh_token t;
    if (find_refresh(req, res, &t) != 0)
        return;
    if (!t.revoked_ns)
        store_token_revoke(req->store, t.user_id, t.id, 0, NULL);
    audit(req, t.user_id, "auth.logout", "ok", NULL);
    res->json = json_pack("{s:s}", "status", "logged_out");
}

/* ---- me ---- */

void h_me(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store_user u;
    if (store_user_get(req->store, req->user_id, &u, NULL) != ATP_OK ||
        u.status != STORE_USER_ACTIVE) {
        api_error(res, 401, "unauthenticated", NULL, "log in first");
        return;
    }
    res->json = user_json(&u);
}
