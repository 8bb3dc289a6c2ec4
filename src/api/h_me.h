/* api/h_me: the caller's own account: GET /me, POST /me/password, and TOTP two-factor
 * authentication (POST /me/totp/enrol, /me/totp/verify, /me/totp/disable). The caller is
 * req->user_id in session req->session_id (api/authn); the policy lets any logged-in role in.
 * TOTP secrets are sealed with the credential vault (auth/vault) under associated data naming the
 * user, so a sealed secret copied to another user's row does not open; without a master key the
 * TOTP routes (and the login of a user with TOTP enabled) answer 503 naming ATP_MASTER_KEY. */
#ifndef ATP_API_H_ME_H
#define ATP_API_H_ME_H

#include "api/router.h"
#include "auth/totp.h"

struct store_user;

extern const struct api_field h_me_password_body[];
extern const struct api_field h_me_totp_enrol_body[];
extern const struct api_field h_me_totp_verify_body[];
extern const struct api_field h_me_totp_disable_body[];

void h_me(struct api_request *req, struct api_response *res);
void h_me_password(struct api_request *req, struct api_response *res);
void h_me_totp_enrol(struct api_request *req, struct api_response *res);
void h_me_totp_verify(struct api_request *req, struct api_response *res);
void h_me_totp_disable(struct api_request *req, struct api_response *res);

enum h_totp_result {
    H_TOTP_OK = 0, /* the code is right and its step is now used up */
    H_TOTP_WRONG,  /* wrong, malformed or replayed (*why says which) */
    H_TOTP_FAILED, /* no vault, unreadable secret, store failure: res holds the answer (503/500) */
};

/* Checks code against u's sealed secret at the real-time clock and, when right, records its time
 * step (store_totp_step_advance), so the same code never works twice, even concurrently. */
enum h_totp_result h_me_totp_check(struct api_request *req, struct api_response *res, const struct store_user *u,
                                   const char *code, enum totp_reject *why);

#endif
