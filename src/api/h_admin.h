/* api/h_admin: the admin routes (admin/users[/{id}[/unlock]], admin/audit, admin/status). The
 * policy lets admins only; user changes go through api/useradmin.c, which `atp user` shares.
 * Route rows in api/routes.c, policy rows in api/policy.c, docs/api.md "Administration". */
#ifndef ATP_API_H_ADMIN_H
#define ATP_API_H_ADMIN_H

#include "api/router.h"

extern const struct api_field h_admin_user_update_body[];

void h_admin_users_list(struct api_request *req, struct api_response *res);
void h_admin_users_get(struct api_request *req, struct api_response *res);
void h_admin_users_update(struct api_request *req, struct api_response *res);
void h_admin_users_unlock(struct api_request *req, struct api_response *res);
void h_admin_audit(struct api_request *req, struct api_response *res);
void h_admin_status(struct api_request *req, struct api_response *res);

#endif
