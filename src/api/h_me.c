/* api/h_me: the caller's own account (see h_me.h). Access was decided by the policy; the caller
 * is req->user_id, read fresh from the store here (a disabled user never gets this far: authn
 * ended its session). Password and TOTP checks go through the credential-attempt limit (per IP,
 * per email) like a login, so a stolen access token cannot be used to guess the password or the
 * second factor; they are audited but not counted toward the login lockout. */
#include "api/h_me.h"
#include "api/notify.h"

#include "api/h_auth.h"
#include "api/http.h"
#include "api/json_err.h"
#include "auth/password.h"
#include "auth/totp.h"
#include "auth/vault.h"
#include "core/alloc.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define TOTP_ISSUER "ATP"

/* The caller's row: 1, else 0 with res set (401 when the user is gone or disabled). */
static int load_me(struct api_request *req, struct api_response *res, struct store_user *u)
{
    if (!h_auth_ready(req, res))
        return 0;
    if (store_user_get(req->store, req->user_id, u, NULL) != ATP_OK || u->status != STORE_USER_ACTIVE) {
        api_error(res, 401, "unauthenticated", NULL, "log in first");
        return 0;
    }
    return 1;
}

void h_me(struct api_request *req, struct api_response *res)
{
    struct store_user u;
    if (!load_me(req, res, &u))
        return;
    res->json = h_auth_user_json(&u);
    if (res->json)
        json_object_set_new(res->json, "session_id", json_string(req->session_id));
}

/* Checks password against u's hash, through the attempt limit (which bounds guessing; the
 * lockout counts failed logins only, so a stolen access token cannot lock its user out). 1 when
 * right; else 0 with res set (429, or 403 naming field), audited. */
static int password_right(struct api_request *req, struct api_response *res, struct store_user *u,
                          const char *password, const char *field, const char *action)
{
    if (!h_auth_attempt_allowed(req, res, u->email))
        return 0;
    bool match = false;
    if (password_verify(u->password_hash, password, strlen(password), &match) != ATP_OK || !match) {
        h_auth_audit(req, u->id, action, "denied", u->email);
        api_error(res, 403, "invalid_credentials", field, "wrong password");
        return 0;
    }
    return 1;
}

/* ---- password ---- */

const struct api_field h_me_password_body[] = {
    {"current_password", API_FT_STRING, 1, PASSWORD_MAX_LEN, "the password in use"},
    {"new_password", API_FT_STRING, 1, PASSWORD_MAX_LEN, "the new password, at least 10 characters"},
    {NULL, 0, 0, 0, NULL},
};

void h_me_password(struct api_request *req, struct api_response *res)
{
    struct store_user u;
    if (!load_me(req, res, &u))
        return;
    const char *current = h_auth_str(req, "current_password"), *fresh = h_auth_str(req, "new_password");
    if (!password_right(req, res, &u, current, "current_password", "password.change"))
        return;
    if (!h_auth_password_acceptable(fresh, "new_password", res))
        return;
    if (strcmp(fresh, current) == 0) { /* a "change" that keeps a possibly leaked password */
        api_error(res, 422, "invalid_field", "new_password", "the new password must differ from the current one");
        return;
    }
    if (password_hash(fresh, strlen(fresh), u.password_hash) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot hash the password");
        return;
    }
    struct atp_err err;
    if (store_user_update(req->store, u.id, STORE_USER_F_PASSWORD, &u, &err) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot store the password");
        return;
    }
    /* Whoever else holds a session (a stolen token, another device) is out; the caller stays. */
    int n = 0;
    if (store_session_revoke_others(req->store, u.id, req->session_id, "password_change", &n, &err) != ATP_OK) {
        h_auth_audit(req, u.id, "password.change", "error", u.email);
        api_error(res, 500, "internal", NULL, "the password changed but other sessions could not be ended");
        return;
    }
    h_auth_audit(req, u.id, "password.change", "ok", u.email);
    notify_password_changed(req->store, u.id);
    res->json = json_pack("{s:s, s:i}", "status", "password_changed", "sessions_revoked", n);
}

/* ---- TOTP ---- */

/* Associated data of a sealed TOTP secret: binds it to its user. */
static size_t totp_ad(int64_t user_id, char *out, size_t size)
{
    int n = snprintf(out, size, "atp.totp-secret.v1|%lld", (long long)user_id);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static const struct vault_keyring *need_vault(struct api_request *req, struct api_response *res)
{
    const struct vault_keyring *kr = api_server_vault(req->server);
    if (!kr)
        api_error(res, 503, "vault_unavailable", NULL,
                  "two-factor secrets need the vault's master key: set ATP_MASTER_KEY or ATP_MASTER_KEY_FILE");
    return kr;
}

/* Opens u's sealed secret into b32 (TOTP_SECRET_B32_SIZE). 1, else 0 with res set. */
static int open_secret(struct api_request *req, struct api_response *res, const struct store_user *u,
                       char b32[TOTP_SECRET_B32_SIZE])
{
    const struct vault_keyring *kr = need_vault(req, res);
    if (!kr)
        return 0;
    char ad[64];
    size_t ad_len = totp_ad(u->id, ad, sizeof ad);
    struct vault_secret sec = {0};
    struct atp_err err;
    if (vault_open(kr, u->totp_secret, u->totp_secret_len, ad, ad_len, &sec, &err) != ATP_OK ||
        sec.len >= TOTP_SECRET_B32_SIZE) {
        vault_secret_cleanup(&sec);
        atp_log_kv(LOG_ERROR, "auth", "request_id", req->request_id, "TOTP secret of user %lld does not open: %s",
                   (long long)u->id, err.msg);
        api_error(res, 500, "internal", NULL, "the stored TOTP secret cannot be read (wrong master key?)");
        return 0;
    }
    memcpy(b32, sec.data, sec.len);
    b32[sec.len] = '\0';
    vault_secret_cleanup(&sec);
    return 1;
}

enum h_totp_result h_me_totp_check(struct api_request *req, struct api_response *res, const struct store_user *u,
                                   const char *code, enum totp_reject *why)
{
    char b32[TOTP_SECRET_B32_SIZE];
    int64_t last = 0, step = 0;
    struct atp_err err;
    *why = TOTP_VALID;
    if (!u->totp_secret_len) {
        *why = TOTP_REJECT_WRONG;
        return H_TOTP_WRONG;
    }
    if (store_totp_step_get(req->store, u->id, &last, &err) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot read the TOTP state");
        return H_TOTP_FAILED;
    }
    if (!open_secret(req, res, u, b32))
        return H_TOTP_FAILED;
    int rc = totp_verify(b32, code, h_auth_now_ns() / 1000000000LL, last, &step, why);
    sodium_memzero(b32, sizeof b32);
    if (rc == ATP_EINVAL)
        return H_TOTP_WRONG;
    if (rc != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot check the TOTP code");
        return H_TOTP_FAILED;
    }
    /* Recorded atomically: of two requests with the same code, one wins. */
    rc = store_totp_step_advance(req->store, u->id, step, &err);
    if (rc == ATP_ESTATE) {
        *why = TOTP_REJECT_REPLAY;
        return H_TOTP_WRONG;
    }
    if (rc != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot record the TOTP code");
        return H_TOTP_FAILED;
    }
    return H_TOTP_OK;
}

/* Enrolment asks for the password: a stolen access token alone must not be able to put its
 * holder's authenticator on the account (the real user's next login would need the thief's code). */
const struct api_field h_me_totp_enrol_body[] = {
    {"password", API_FT_STRING, 1, PASSWORD_MAX_LEN, "the account's password"},
    {NULL, 0, 0, 0, NULL},
};

void h_me_totp_enrol(struct api_request *req, struct api_response *res)
{
    struct store_user u;
    if (!load_me(req, res, &u))
        return;
    if (!password_right(req, res, &u, h_auth_str(req, "password"), "password", "totp.enrol"))
        return;
    if (u.totp_enabled) {
        api_error(res, 409, "totp_enabled", NULL, "two-factor authentication is already on; disable it first");
        return;
    }
    const struct vault_keyring *kr = need_vault(req, res);
    if (!kr)
        return;
    char b32[TOTP_SECRET_B32_SIZE], uri[512], ad[64];
    unsigned char *blob = NULL;
    size_t blob_len = 0;
    size_t ad_len = totp_ad(u.id, ad, sizeof ad);
    struct atp_err err;
    if (totp_secret_generate(b32) != ATP_OK || totp_uri(b32, TOTP_ISSUER, u.email, uri, sizeof uri) != ATP_OK ||
        vault_seal(kr, b32, strlen(b32), ad, ad_len, &blob, &blob_len, &err) != ATP_OK ||
        blob_len > sizeof u.totp_secret) {
        atp_free(blob);
        sodium_memzero(b32, sizeof b32);
        api_error(res, 500, "internal", NULL, "cannot make a TOTP secret");
        return;
    }
    memcpy(u.totp_secret, blob, blob_len);
    u.totp_secret_len = (uint32_t)blob_len;
    u.totp_enabled = 0;
    atp_free(blob);
    /* A new secret starts a new step history (the last one belonged to the old secret). */
    if (store_user_update(req->store, u.id, STORE_USER_F_TOTP, &u, &err) != ATP_OK ||
        store_totp_step_reset(req->store, u.id, &err) != ATP_OK) {
        sodium_memzero(b32, sizeof b32);
        sodium_memzero(uri, sizeof uri);
        api_error(res, 500, "internal", NULL, "cannot store the TOTP secret");
        return;
    }
    h_auth_audit(req, u.id, "totp.enrol", "ok", u.email);
    res->json = json_pack("{s:s, s:s, s:i, s:i, s:s}", "secret", b32, "otpauth_uri", uri, "digits", TOTP_DIGITS,
                          "period", TOTP_STEP_S, "status", "pending_verification");
    sodium_memzero(b32, sizeof b32);
    sodium_memzero(uri, sizeof uri);
}

const struct api_field h_me_totp_verify_body[] = {
    {"code", API_FT_STRING, 1, 16, "the current 6-digit code of the authenticator app"},
    {NULL, 0, 0, 0, NULL},
};

/* The code check of verify and disable, through the attempt limit (as password_right). 1 when
 * right; else 0 with res set, audited. */
static int code_right(struct api_request *req, struct api_response *res, struct store_user *u, const char *action)
{
    if (!h_auth_attempt_allowed(req, res, u->email))
        return 0;
    enum totp_reject why = TOTP_VALID;
    enum h_totp_result r = h_me_totp_check(req, res, u, h_auth_str(req, "code"), &why);
    if (r == H_TOTP_FAILED)
        return 0;
    if (r == H_TOTP_WRONG) {
        h_auth_audit(req, u->id, action, "invalid_totp", u->email);
        api_error(res, 422, "invalid_totp", "code",
                  why == TOTP_REJECT_REPLAY ? "this code was already used; wait for the next one"
                  : why == TOTP_REJECT_FORMAT ? "the code is 6 digits"
                                               : "wrong code");
        return 0;
    }
    return 1;
}

void h_me_totp_verify(struct api_request *req, struct api_response *res)
{
    struct store_user u;
    if (!load_me(req, res, &u))
        return;
    if (u.totp_enabled) {
        api_error(res, 409, "totp_enabled", NULL, "two-factor authentication is already on");
        return;
    }
    if (!u.totp_secret_len) {
        api_error(res, 409, "totp_not_enrolled", NULL, "enrol first: POST /api/v1/me/totp/enrol");
        return;
    }
    if (!code_right(req, res, &u, "totp.verify"))
        return;
    u.totp_enabled = 1;
    struct atp_err err;
    if (store_user_update(req->store, u.id, STORE_USER_F_TOTP, &u, &err) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot enable two-factor authentication");
        return;
    }
    h_auth_audit(req, u.id, "totp.enable", "ok", u.email);
    res->json = json_pack("{s:s}", "status", "totp_enabled");
}

const struct api_field h_me_totp_disable_body[] = {
    {"code", API_FT_STRING, 0, 16, "the current 6-digit code (or the password)"},
    {"password", API_FT_STRING, 0, PASSWORD_MAX_LEN, "the password (or the code)"},
    {NULL, 0, 0, 0, NULL},
};

void h_me_totp_disable(struct api_request *req, struct api_response *res)
{
    struct store_user u;
    if (!load_me(req, res, &u))
        return;
    const char *code = h_auth_str(req, "code"), *password = h_auth_str(req, "password");
    if (!code[0] && !password[0]) {
        api_error(res, 400, "invalid_field", "code", "send the current code, or the password");
        return;
    }
    if (!u.totp_secret_len) {
        api_error(res, 409, "totp_not_enrolled", NULL, "two-factor authentication is not on");
        return;
    }
    int right = code[0] ? code_right(req, res, &u, "totp.disable")
                        : password_right(req, res, &u, password, "password", "totp.disable");
    if (!right)
        return;
    sodium_memzero(u.totp_secret, sizeof u.totp_secret);
    u.totp_secret_len = 0;
    u.totp_enabled = 0;
    struct atp_err err;
    if (store_user_update(req->store, u.id, STORE_USER_F_TOTP, &u, &err) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot disable two-factor authentication");
        return;
    }
    h_auth_audit(req, u.id, "totp.disable", "ok", u.email);
    res->json = json_pack("{s:s}", "status", "totp_disabled");
}
