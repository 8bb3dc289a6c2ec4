/* api/h_brokers: broker connections of a trading account (accounts/{id}/broker-connections and
 * .../{conn_id}): credentials sealed by the vault (auth/vault.h) and stored; never returned.
 *
 * Access (api/policy.c): the owner creates and deletes; the owner and admins list; an invited
 * user (investor or trader grant) gets 403 and anyone else 404. Why investors do not see them
 * even masked: the connection is how the account trades, not what it holds; which broker login
 * and key an account uses is operational detail an investor has no need for, and least privilege
 * keeps a leaked investor login from learning anything about the trading keys. Admins list them
 * (masked) to support and audit accounts, but cannot create or delete them on others' accounts,
 * as they cannot trade there. Docs: docs/api.md "Broker connections", docs/security.md "Vault". */
#ifndef ATP_API_H_BROKERS_H
#define ATP_API_H_BROKERS_H

#include "api/router.h"

#define H_BROKERS_MAX_FIELDS 16   /* credential fields per connection */
#define H_BROKERS_VALUE_MAX 1024  /* bytes per credential value */

extern const struct api_field h_brokers_create_body[];

/* 1 when name is a broker ATP knows: kite, angel, upstox, fyers, dhan, paper. */
int h_brokers_known(const char *name);

void h_brokers_create(struct api_request *req, struct api_response *res);
void h_brokers_list(struct api_request *req, struct api_response *res);
void h_brokers_delete(struct api_request *req, struct api_response *res);

#endif
