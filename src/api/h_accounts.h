/* api/h_accounts: trading accounts, their invitations and their access list (accounts, accounts/{id},
 * accounts/{id}/invitations[/{invitation_id}], accounts/{id}/access[/{user_id}], invitations[/{id}/accept|reject]).
 * Route rows in api/routes.c, policy rows in api/policy.c. */
#ifndef ATP_API_H_ACCOUNTS_H
#define ATP_API_H_ACCOUNTS_H

#include "api/policy.h"
#include "api/router.h"

#define H_ACCOUNTS_INVITE_TTL_S (7 * 24 * 3600) /* an invitation is valid 7 days */

struct store;

/* The ONE ownership resolution of the account routes (every pattern under /api/v1/accounts/{id}),
 * run by the server before the policy decision: the caller's relation to account {id} from
 * store_access_role. owner -> OWNER; a trader or investor grant -> INVITED; no relation -> STRANGER,
 * except for an admin, who sees every account -> VISIBLE. An absent account or a malformed id is a
 * STRANGER (404). Routes outside /api/v1/accounts/{id} are NONE. Returns 0, or -1 when the store
 * failed (the server answers 500). */
int h_accounts_relation(struct store *s, const struct api_route *route, const struct api_param *params,
                        int n_params, int64_t user_id, enum api_role role, enum api_relation *rel);
/* The same resolution for an account id given directly (a WebSocket subscription's account_id):
 * what h_accounts_relation decides for /api/v1/accounts/{account_id}. Anonymous -> NONE; id <= 0
 * or absent -> STRANGER. 0, or -1 when the store failed. */
int h_accounts_relation_of(struct store *s, int64_t account_id, int64_t user_id, enum api_role role,
                           enum api_relation *rel);

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
