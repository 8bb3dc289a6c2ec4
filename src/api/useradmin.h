/* api/useradmin: the user administration both the admin routes (api/h_admin.c) and the
 * operator's `atp user set-role|disable|enable|unlock` (app/cmd_user.c) run: one implementation,
 * so the rules and the audit trail cannot differ between the two doors.
 *
 * Rules: the platform always keeps an active admin (the store refuses, atomically, a change that
 * would leave none); an admin cannot demote or disable itself (who->user_id == the target); a
 * disabled user's refresh tokens are revoked at once (its access tokens live out their 15 min:
 * docs/security.md). Each change is audited with its old and new values: role.change,
 * user.disable, user.enable, user.unlock; a refused one is audited with result "denied". */
#ifndef ATP_API_USERADMIN_H
#define ATP_API_USERADMIN_H

#include "api/hutil.h"
#include "store/store.h"

/* Role and/or status of user_id (fields: STORE_USER_F_ROLE | STORE_USER_F_STATUS; role and
 * status as in store.h). *after (optional) gets the user as it is now. ATP_ENOTFOUND (field
 * "user_id") when absent; ATP_ESTATE (field "role" or "status") for the self-demotion or the
 * last active admin; ATP_EINVAL for bad arguments; ATP_EIO. err names the reason. */
int useradmin_update(struct store *s, const struct hutil_actor *who, int64_t user_id, unsigned fields, int role,
                     int status, struct store_user *after, struct atp_err *err);

/* Clears user_id's failed-login count and lock. Errors as useradmin_update. */
int useradmin_unlock(struct store *s, const struct hutil_actor *who, int64_t user_id, struct store_user *after,
                     struct atp_err *err);

#endif
