/* api/h_auth: the identity routes (auth/register, auth/login, auth/refresh, auth/logout, me).
 * Their route rows are in api/routes.c, their policy rows in api/policy.c. */
#ifndef ATP_API_H_AUTH_H
#define ATP_API_H_AUTH_H

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
void h_me(struct api_request *req, struct api_response *res);

#endif
