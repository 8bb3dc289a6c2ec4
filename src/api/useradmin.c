#include "api/useradmin.h"

#include <stdio.h>
#include <string.h>

static const char *text_or(const char *t) { return t ? t : "?"; }

static void resource_of(int64_t user_id, char *buf, size_t size)
{
    snprintf(buf, size, "user:%lld", (long long)user_id);
}

int useradmin_update(struct store *s, const struct hutil_actor *who, int64_t user_id, unsigned fields, int role,
                     int status, struct store_user *after, struct atp_err *err)
{
    char resource[48];
    resource_of(user_id, resource, sizeof resource);
    struct store_user v, before;
    memset(&v, 0, sizeof v);
    v.role = role;
    v.status = status;
    /* Self-demotion first: an admin locking itself out is refused whatever else holds. */
    int demotes = (fields & STORE_USER_F_ROLE && role != STORE_ROLE_ADMIN) ||
                  (fields & STORE_USER_F_STATUS && status != STORE_USER_ACTIVE);
    if (who->user_id && who->user_id == user_id && demotes) {
        const char *field = fields & STORE_USER_F_ROLE && role != STORE_ROLE_ADMIN ? "role" : "status";
        hutil_audit(s, who, 0, field[0] == 'r' ? "role.change" : "user.disable", resource, "denied",
                    json_pack("{s:s}", "reason", "self"));
        return atp_err_set(err, ATP_ESTATE, NULL, 0, field, "an admin cannot demote or disable itself");
    }
    int rc = store_user_admin_update(s, user_id, fields, &v, &before, err);
    if (rc == ATP_ESTATE) {
        const char *field = err ? err->field : "role";
        hutil_audit(s, who, 0, !strcmp(field, "role") ? "role.change" : "user.disable", resource, "denied",
                    json_pack("{s:s}", "reason", "last_active_admin"));
        return atp_err_set(err, ATP_ESTATE, NULL, 0, field,
                           "this is the last active admin; promote another user first");
    }
    if (rc != ATP_OK)
        return rc;
    if (fields & STORE_USER_F_ROLE && before.role != role)
        hutil_audit(s, who, 0, "role.change", resource, "ok",
                    json_pack("{s:s, s:s, s:s}", "email", before.email, "old",
                              text_or(store_user_role_name(before.role)), "new",
                              text_or(store_user_role_name(role))));
    if (fields & STORE_USER_F_STATUS && before.status != status) {
        int revoked = 0;
        /* A disabled user keeps no session: its refresh tokens die now. */
        if (status == STORE_USER_DISABLED)
            store_token_revoke_all_except(s, user_id, 0, &revoked, NULL);
        hutil_audit(s, who, 0, status == STORE_USER_DISABLED ? "user.disable" : "user.enable", resource, "ok",
                    json_pack("{s:s, s:s, s:s, s:i}", "email", before.email, "old",
                              text_or(store_user_status_name(before.status)), "new",
                              text_or(store_user_status_name(status)), "sessions_revoked", revoked));
    }
    return after ? store_user_get(s, user_id, after, err) : ATP_OK;
}

int useradmin_unlock(struct store *s, const struct hutil_actor *who, int64_t user_id, struct store_user *after,
                     struct atp_err *err)
{
    struct store_user u;
    int rc = store_user_get(s, user_id, &u, err);
    if (rc != ATP_OK)
        return rc;
    int32_t old_failed = u.failed_logins;
    int64_t old_until = u.locked_until_ns;
    u.failed_logins = 0;
    u.locked_until_ns = 0;
    rc = store_user_update(s, user_id, STORE_USER_F_LOCKOUT, &u, err);
    if (rc != ATP_OK)
        return rc;
    char resource[48], until[HUTIL_ISO_MAX];
    resource_of(user_id, resource, sizeof resource);
    hutil_audit(s, who, 0, "user.unlock", resource, "ok",
                json_pack("{s:s, s:{s:i, s:s}, s:{s:i, s:s}}", "email", u.email, "old", "failed_logins",
                          (int)old_failed, "locked_until", hutil_iso8601(old_until, until), "new",
                          "failed_logins", 0, "locked_until", ""));
    return after ? store_user_get(s, user_id, after, err) : ATP_OK;
}
