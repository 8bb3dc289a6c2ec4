/* api/h_admin: see h_admin.h. Users are shown without their password hash or TOTP secret, ever. */
#include "api/h_admin.h"

#include "api/http.h"
#include "api/hutil.h"
#include "api/json_err.h"
#include "api/request.h"
#include "api/useradmin.h"
#include "auth/vault.h"
#include "core/alloc.h"
#include "core/ts.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static const char *text_or(const char *t) { return t ? t : "?"; }

static json_t *user_json(const struct store_user *u, int64_t now)
{
    char created[HUTIL_ISO_MAX], updated[HUTIL_ISO_MAX], until[HUTIL_ISO_MAX];
    int locked = u->locked_until_ns > now;
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:b, s:s?, s:b, s:s, s:I, s:s, s:I}", "id",
                     (json_int_t)u->id, "email", u->email, "name", u->name, "role",
                     text_or(store_user_role_name(u->role)), "status", text_or(store_user_status_name(u->status)),
                     "failed_logins", (int)u->failed_logins, "locked", locked, "locked_until",
                     locked ? hutil_iso8601(u->locked_until_ns, until) : NULL, "totp_enabled", u->totp_enabled,
                     "created", hutil_iso8601(u->created_ns, created), "created_ns", (json_int_t)u->created_ns,
                     "updated", hutil_iso8601(u->updated_ns, updated), "updated_ns",
                     (json_int_t)u->updated_ns);
}

/* ---- users ---- */

void h_admin_users_list(struct api_request *req, struct api_response *res)
{
    struct store_page page;
    if (!hutil_have_store(req, res) || hutil_page(req, res, HUTIL_PAGE_DEFAULT, &page) != 0)
        return;
    struct store_user *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out || store_user_list(req->store, &page, out, &po, NULL) != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot list the users");
        return;
    }
    int64_t now = now_ns();
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        json_array_append_new(items, user_json(&out[i], now));
    atp_free(out);
    res->json = hutil_list(items, po.next_cursor);
}

/* User {id} of the path into *u; 0, or -1 with a 404 in res. */
static int path_user(struct api_request *req, struct api_response *res, struct store_user *u)
{
    int64_t id = hutil_parse_id(api_param(req, "id"));
    if (!id || store_user_get(req->store, id, u, NULL) != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such user");
        return -1;
    }
    return 0;
}

void h_admin_users_get(struct api_request *req, struct api_response *res)
{
    struct store_user u;
    if (!hutil_have_store(req, res) || path_user(req, res, &u) != 0)
        return;
    res->json = user_json(&u, now_ns());
}

const struct api_field h_admin_user_update_body[] = {
    {"role", API_FT_STRING, 0, 16, "new role: admin, trader or investor"},
    {"status", API_FT_STRING, 0, 16, "new status: active or disabled"},
    {NULL, 0, 0, 0, NULL},
};

/* Index of text among the names of name(0), name(1), ...; -1 when none. */
static int enum_of(const char *text, const char *(*name)(int))
{
    for (int v = 0; name(v); v++)
        if (!strcmp(name(v), text))
            return v;
    return -1;
}

/* The API answer of a useradmin failure. */
static void useradmin_error(struct api_response *res, int rc, const struct atp_err *err)
{
    if (rc == ATP_ENOTFOUND)
        api_error(res, 404, "not_found", NULL, "no such user");
    else if (rc == ATP_ESTATE)
        api_error(res, 409, "conflict", err->field, "%s", err->msg);
    else
        api_error(res, 500, "internal", NULL, "cannot change the user");
}

void h_admin_users_update(struct api_request *req, struct api_response *res)
{
    struct store_user u;
    if (!hutil_have_store(req, res) || path_user(req, res, &u) != 0)
        return;
    const char *role = json_string_value(json_object_get(req->json, "role"));
    const char *status = json_string_value(json_object_get(req->json, "status"));
    unsigned fields = 0;
    int role_v = u.role, status_v = u.status;
    if (role) {
        if ((role_v = enum_of(role, store_user_role_name)) < 0) {
            api_error(res, 422, "invalid_field", "role", "role must be admin, trader or investor");
            return;
        }
        fields |= STORE_USER_F_ROLE;
    }
    if (status) {
        if ((status_v = enum_of(status, store_user_status_name)) < 0) {
            api_error(res, 422, "invalid_field", "status", "status must be active or disabled");
            return;
        }
        fields |= STORE_USER_F_STATUS;
    }
    if (!fields) {
        api_error(res, 422, "invalid_field", "body", "give role and/or status");
        return;
    }
    struct hutil_actor who = hutil_actor_of(req);
    struct atp_err err;
    atp_err_clear(&err);
    int rc = useradmin_update(req->store, &who, u.id, fields, role_v, status_v, &u, &err);
    if (rc != ATP_OK) {
        useradmin_error(res, rc, &err);
        return;
    }
    res->json = user_json(&u, now_ns());
}

void h_admin_users_unlock(struct api_request *req, struct api_response *res)
{
    struct store_user u;
    if (!hutil_have_store(req, res) || path_user(req, res, &u) != 0)
        return;
    struct hutil_actor who = hutil_actor_of(req);
    struct atp_err err;
    atp_err_clear(&err);
    int rc = useradmin_unlock(req->store, &who, u.id, &u, &err);
    if (rc != ATP_OK) {
        useradmin_error(res, rc, &err);
        return;
    }
    res->json = user_json(&u, now_ns());
}

/* ---- audit ---- */

/* Optional time query parameter (ISO 8601 or epoch ms, core/ts ts_parse) into *out (absent: 0).
 * 0, or -1 with a 422 naming it. */
static int query_time(struct api_request *req, struct api_response *res, const char *name, int64_t *out)
{
    char buf[64];
    *out = 0;
    int rc = api_query_get(req->query ? req->query : "", name, buf, sizeof buf);
    if (rc == ATP_ENOTFOUND || (rc == ATP_OK && !buf[0]))
        return 0;
    struct atp_err err;
    atp_err_clear(&err);
    ts_ns t = 0;
    if (rc != ATP_OK || ts_parse(buf, strlen(buf), &t, NULL, &err) != ATP_OK) {
        api_error(res, 422, "invalid_query", name,
                  "%s must be an ISO 8601 time (e.g. 2026-01-05T09:15:00Z) or epoch milliseconds", name);
        return -1;
    }
    *out = t;
    return 0;
}

static json_t *audit_json(const struct store_audit *a)
{
    char ts[HUTIL_ISO_MAX];
    /* details is JSON text written by the server; shown as an object when it parses. */
    json_t *details = a->details[0] ? json_loads(a->details, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!details)
        details = json_string(a->details);
    return json_pack("{s:I, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)a->id, "ts",
                     hutil_iso8601(a->ts_ns, ts), "ts_ns", (json_int_t)a->ts_ns, "user_id", (json_int_t)a->user_id,
                     "account_id", (json_int_t)a->account_id, "action", a->action, "resource", a->resource, "ip",
                     a->ip, "user_agent", a->user_agent, "result", a->result, "details", details);
}

void h_admin_audit(struct api_request *req, struct api_response *res)
{
    struct store_page page;
    struct store_audit_filter f;
    memset(&f, 0, sizeof f);
    if (!hutil_have_store(req, res) || hutil_page(req, res, HUTIL_PAGE_DEFAULT, &page) != 0 ||
        hutil_query_id(req, res, "user_id", &f.user_id) != 0 ||
        hutil_query_id(req, res, "account_id", &f.account_id) != 0 || query_time(req, res, "from", &f.from_ns) != 0 ||
        query_time(req, res, "to", &f.to_ns) != 0)
        return;
    int rc = api_query_get(req->query ? req->query : "", "action", f.action, sizeof f.action);
    if (rc != ATP_OK && rc != ATP_ENOTFOUND) {
        api_error(res, 422, "invalid_query", "action", "action is malformed or longer than %d bytes",
                  STORE_ACTION_MAX - 1);
        return;
    }
    if (f.to_ns && f.from_ns >= f.to_ns) {
        api_error(res, 422, "invalid_query", "to", "to must be after from");
        return;
    }
    struct store_audit *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out || store_audit_query(req->store, &f, &page, out, &po, NULL) != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot query the audit log");
        return;
    }
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        json_array_append_new(items, audit_json(&out[i]));
    atp_free(out);
    res->json = hutil_list(items, po.next_cursor);
}

/* ---- status ---- */

void h_admin_status(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    struct store *s = req->store;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ping = store_ping(s, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double latency_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    struct store_migration_status mig[32];
    int known = 0, version = 0;
    if (store_migrate_status(s, mig, 32, &known, NULL) == ATP_OK)
        for (int i = 0; i < known && i < 32; i++)
            if (mig[i].applied_ns && mig[i].version > version)
                version = mig[i].version;
    struct store_stats st;
    int stats = store_stats_get(s, &st, NULL);
    const struct vault_keyring *kr = api_server_vault(req->server);
    json_t *o = json_pack("{s:s, s:f, s:i, s:{s:s, s:b, s:f, s:i, s:i}, s:{s:b, s:i}}", "version", ATP_VERSION,
                          "uptime_s", api_server_uptime_s(req->server), "inflight", api_server_inflight(req->server),
                          "store", "backend", store_backend(s), "ok", ping == ATP_OK, "latency_ms", latency_ms,
                          "migration_version", version, "migrations_known", known, "vault", "configured",
                          kr != NULL, "current_key_id", (int)vault_keyring_current(kr));
    if (o && stats == ATP_OK)
        json_object_set_new(o, "counts",
                            json_pack("{s:I, s:I, s:I, s:I}", "users", (json_int_t)st.users, "active_admins",
                                      (json_int_t)st.admins_active, "accounts", (json_int_t)st.accounts,
                                      "broker_connections", (json_int_t)st.broker_connections));
    if (!o) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    res->json = o;
}
