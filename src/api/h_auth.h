/* api/h_auth: the identity routes (auth/register, auth/login, auth/refresh, auth/logout) and the
 * helpers the caller's own routes (api/h_me) share with them. Their route rows are in
 * api/routes.c, their policy rows in api/policy.c. */
#ifndef ATP_API_H_AUTH_H
#define ATP_API_H_AUTH_H

#include <jansson.h>
#include <stdint.h>

#include "api/router.h"

#define H_AUTH_PASSWORD_MIN 10            /* characters (bytes) of a new password */
#define H_AUTH_MAX_FAILURES 3             /* consecutive failed logins that lock an account */
#define H_AUTH_LOCK_S (15 * 60)           /* how long the lock lasts */
#define H_AUTH_REFRESH_TTL_S (7 * 24 * 3600) /* refresh token lifetime */

extern const struct api_field h_auth_register_body[];
extern const struct api_field h_auth_login_body[];
extern const struct api_field h_auth_refresh_body[];

void h_auth_register(struct api_request *req, struct api_response *res);
void h_auth_login(struct api_request *req, struct api_response *res);
void h_auth_refresh(struct api_request *req, struct api_response *res);
void h_auth_logout(struct api_request *req, struct api_response *res);

/* ---- shared with api/h_me ---- */

struct store_user;

/* ns since the Unix epoch. */
int64_t h_auth_now_ns(void);
/* The public view of a user: id, email, name, role, totp_enabled (new reference or NULL). */
json_t *h_auth_user_json(const struct store_user *u);
/* The string field name of the request body, "" when absent. */
const char *h_auth_str(const struct api_request *req, const char *name);
/* 1 when the server has a store and a JWT key; else 0 with a 503 in res. */
int h_auth_ready(struct api_request *req, struct api_response *res);
/* Appends an audit entry for user_id (0: unknown) with the request's IP, user agent and id;
 * email (may be NULL) goes into the details. A failure is logged, never fatal. */
void h_auth_audit(struct api_request *req, int64_t user_id, const char *action, const char *result,
                  const char *email);
/* The rules of a new password (register, password change): 1 when acceptable, else 0 with a 422
 * naming field in res. */
int h_auth_password_acceptable(const char *password, const char *field, struct api_response *res);
/* The credential-attempt limit (per client IP, per email): 1 when allowed, else 0 with a 429 and
 * Retry-After in res. email may be NULL. */
int h_auth_attempt_allowed(struct api_request *req, struct api_response *res, const char *email);
/* A failed credential check of user u (wrong password or TOTP code): counts toward the lockout
 * (H_AUTH_MAX_FAILURES -> locked H_AUTH_LOCK_S for login), audited as action with result (and
 * auth.lock when it locks). u is updated in place. */
void h_auth_count_failure(struct api_request *req, struct store_user *u, const char *action,
                          const char *result);

#endif
