/* api/h_accounts: trading accounts, their invitations and their access list (accounts, accounts/{id},
 * accounts/{id}/invitations[/{invitation_id}], accounts/{id}/access[/{user_id}], invitations[/{id}/accept|reject]).
 * Route rows in api/routes.c, policy rows in api/policy.c. */
#ifndef ATP_API_H_ACCOUNTS_H
#define ATP_API_H_ACCOUNTS_H

#include "api/policy.h"
#include "api/router.h"

#define H_ACCOUNTS_INVITE_TTL_S (7 * 24 * 3600) /* an invitation is valid 7 days */

struct store;

/* The caller's relation to account {id} is resolved by the server before the policy decides
 * (api/ownership.h), for every route under /api/v1/accounts/{id}. */

extern const struct api_field h_accounts_create_body[];
extern const struct api_field h_accounts_update_body[];
extern const struct api_field h_invitations_create_body[];

void h_accounts_list(struct api_request *req, struct api_response *res);
void h_accounts_create(struct api_request *req, struct api_response *res);
void h_accounts_get(struct api_request *req, struct api_response *res);
void h_accounts_update(struct api_request *req, struct api_response *res);
void h_account_invitations_create(struct api_request *req, struct api_response *res);
void h_account_invitations_list(struct api_request *req, struct api_response *res);
void h_account_invitations_revoke(struct api_request *req, struct api_response *res);
void h_account_access_list(struct api_request *req, struct api_response *res);
void h_account_access_revoke(struct api_request *req, struct api_response *res);
void h_invitations_mine(struct api_request *req, struct api_response *res);
void h_invitations_accept(struct api_request *req, struct api_response *res);
void h_invitations_reject(struct api_request *req, struct api_response *res);

#endif
