/* api/h_accounts: trading accounts, invitations and access. Access is decided by api/policy.c
 * before these run, from the caller's relation to account {id} resolved ONCE by
 * h_accounts_relation (called by the server before the policy). Handlers never check access; the
 * store scopes every child row (invitation, grant) by the account id, and the caller's own
 * invitations (/invitations) are scoped by the caller's email, so another user's invitation is
 * 404 exactly like an absent one. Invitation tokens: 256 random bits, returned once at creation,
 * stored only as their SHA-256 (auth/token). */
#include "api/h_accounts.h"

#include "api/http.h"
#include "api/json_err.h"
#include "api/notify.h"
#include "auth/token.h"
#include "core/alloc.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL
#define ACCOUNTS_PREFIX "/api/v1/accounts/{id}"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* A positive decimal id of at most 18 digits, else 0. */
static int64_t parse_id(const char *text)
{
    if (!text || !text[0] || strlen(text) > 18)
        return 0;
    int64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static const char *param_of(const struct api_param *params, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (params[i].name_len == len && !memcmp(params[i].name, name, len))
            return params[i].value;
    return NULL;
}

int h_accounts_relation(struct store *s, const struct api_route *route, const struct api_param *params,
                        int n_params, int64_t user_id, enum api_role role, enum api_relation *rel)
{
    *rel = API_REL_NONE;
    if (!route || strncmp(route->pattern, ACCOUNTS_PREFIX, strlen(ACCOUNTS_PREFIX)) != 0)
        return 0;
    const char *c = route->pattern + strlen(ACCOUNTS_PREFIX);
    if (*c && *c != '/')
        return 0;
    return h_accounts_relation_of(s, parse_id(param_of(params, n_params, "id")), user_id, role, rel);
}

int h_accounts_relation_of(struct store *s, int64_t account_id, int64_t user_id, enum api_role role,
                           enum api_relation *rel)
{
    *rel = API_REL_NONE;
    if (role == API_ROLE_ANONYMOUS || user_id <= 0)
        return 0; /* the policy answers 401 */
    *rel = API_REL_STRANGER;
    if (account_id <= 0 || !s)
        return 0;
    int access = STORE_ACCESS_NONE;
    int rc = store_access_role(s, account_id, user_id, &access, NULL);
    if (rc == ATP_ENOTFOUND)
        return 0;
    if (rc != ATP_OK)
        return -1;
    if (access == STORE_ACCESS_OWNER)
        *rel = API_REL_OWNER;
    else if (access == STORE_ACCESS_TRADER || access == STORE_ACCESS_INVESTOR)
        *rel = API_REL_INVITED;
    else if (role == API_ROLE_ADMIN)
        *rel = API_REL_VISIBLE;
    return 0;
}

/* ---- helpers ---- */

static int have_store(struct api_request *req, struct api_response *res)
{
    if (req->store)
        return 1;
    api_error(res, 503, "unavailable", NULL, "the server has no store");
    return 0;
}

static const char *str_field(const struct api_request *req, const char *name)
{
    const char *v = json_string_value(json_object_get(req->json, name));
    return v ? v : "";
}

static void audit(struct api_request *req, int64_t account_id, const char *action, const char *resource,
                  const char *result, json_t *details /* stolen, may be NULL */)
{
    struct store_audit a = {0};
    a.ts_ns = now_ns();
    a.user_id = req->user_id;
    a.account_id = account_id;
    snprintf(a.action, sizeof a.action, "%s", action);
    snprintf(a.resource, sizeof a.resource, "%s", resource);
    snprintf(a.ip, sizeof a.ip, "%s", req->client_ip ? req->client_ip : "");
    snprintf(a.user_agent, sizeof a.user_agent, "%s", req->user_agent ? req->user_agent : "");
    snprintf(a.result, sizeof a.result, "%s", result);
    if (!details)
        details = json_object();
    if (details)
        json_object_set_new(details, "request_id", json_string(req->request_id ? req->request_id : ""));
    char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
    snprintf(a.details, sizeof a.details, "%s", text ? text : "{}");
    free(text);
    json_decref(details);
    int64_t id;
    struct atp_err err;
    if (store_audit_append(req->store, &a, &id, &err) != ATP_OK)
        atp_log_kv(LOG_ERROR, "accounts", "request_id", req->request_id, "audit %s failed: %s", action,
                   err.msg);
}

static json_t *account_json(const struct store_account *a, const char *access)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:I, s:s}", "id", (json_int_t)a->id, "owner_id",
                     (json_int_t)a->owner_id, "name", a->name, "broker", a->broker, "created_ns",
                     (json_int_t)a->created_ns, "access", access);
}

static const char *access_text(int access)
{
    const char *t = store_access_name(access);
    return t ? t : "none";
}

static json_t *invitation_json(const struct store_invitation *inv, int64_t now)
{
    int status = inv->status;
    if (status == STORE_INVITE_PENDING && inv->expires_ns <= now)
        status = STORE_INVITE_EXPIRED;
    const char *st = store_invite_status_name(status), *role = store_access_name(inv->role);
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I}", "id", (json_int_t)inv->id, "account_id",
                     (json_int_t)inv->account_id, "email", inv->email, "role", role ? role : "?",
                     "status", st ? st : "?", "expires_ns", (json_int_t)inv->expires_ns, "created_by",
                     (json_int_t)inv->created_by, "created_ns", (json_int_t)inv->created_ns);
}

/* Account {id} of the request (the policy already let the caller see it). */
static int64_t account_param(struct api_request *req) { return parse_id(api_param(req, "id")); }

static json_t *list_envelope(json_t *items, int64_t next_cursor)
{
    json_t *o = json_pack("{s:o}", "items", items ? items : json_array());
    if (o && next_cursor)
        json_object_set_new(o, "next_cursor", json_integer(next_cursor));
    return o;
}

/* ?cursor=N (optional) of the query string; 0 when absent or malformed. */
static int64_t query_cursor(const struct api_request *req)
{
    const char *q = req->query ? strstr(req->query, "cursor=") : NULL;
    if (!q || (q != req->query && q[-1] != '&'))
        return 0;
    char buf[24];
    size_t n = strcspn(q + 7, "&");
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, q + 7, n);
    buf[n] = 0;
    return parse_id(buf);
}

/* ---- accounts ---- */

const struct api_field h_accounts_create_body[] = {
    {"name", API_FT_STRING, 1, STORE_NAME_MAX - 1, "account name"},
    {"broker", API_FT_STRING, 0, STORE_BROKER_MAX - 1, "broker (\"paper\", \"kite\", ...); default paper"},
    {NULL, 0, 0, 0, NULL},
};

const struct api_field h_accounts_update_body[] = {
    {"name", API_FT_STRING, 1, STORE_NAME_MAX - 1, "new account name"},
    {NULL, 0, 0, 0, NULL},
};

void h_accounts_list(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store_page page = {query_cursor(req), 100};
    struct store_account *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    /* An admin sees every account (with its own access on each, "none" mostly); others theirs. */
    int rc = req->role == API_ROLE_ADMIN
                 ? store_accounts_list_all(req->store, req->user_id, &page, out, &po, NULL)
                 : store_accounts_list_for_user(req->store, req->user_id, &page, out, &po,
                                                NULL);
    if (rc != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot list the accounts");
        return;
    }
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        json_array_append_new(items, account_json(&out[i], access_text(out[i].access)));
    atp_free(out);
    res->json = list_envelope(items, po.next_cursor);
}

void h_accounts_create(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    const char *name = str_field(req, "name"), *broker = str_field(req, "broker");
    if (!name[0]) {
        api_error(res, 422, "invalid_field", "name", "the name is empty");
        return;
    }
    struct store_account a;
    memset(&a, 0, sizeof a);
    a.owner_id = req->user_id;
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.broker, sizeof a.broker, "%s", broker[0] ? broker : "paper");
    struct store *s = req->store;
    if (store_account_create(s, &a, &a.id, NULL) != ATP_OK || store_account_get(s, a.id, &a, NULL) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot create the account");
        return;
    }
    char resource[48];
    snprintf(resource, sizeof resource, "account:%lld", (long long)a.id);
    audit(req, a.id, "account.create", resource, "ok", json_pack("{s:s}", "name", a.name));
    res->status = 201;
    res->json = account_json(&a, "owner");
}

/* The caller's access text on a (for an admin without a grant: "none"). */
static const char *caller_access(struct api_request *req, int64_t account_id)
{
    int access = STORE_ACCESS_NONE;
    store_access_role(req->store, account_id, req->user_id, &access, NULL);
    return access_text(access);
}

void h_accounts_get(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store_account a;
    int64_t id = account_param(req);
    if (!id || store_account_get(req->store, id, &a, NULL) != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such resource");
        return;
    }
    res->json = account_json(&a, caller_access(req, id));
}

void h_accounts_update(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store *s = req->store;
    const char *name = str_field(req, "name");
    int64_t id = account_param(req);
    if (!name[0]) {
        api_error(res, 422, "invalid_field", "name", "the name is empty");
        return;
    }
    struct store_account a;
    if (store_account_rename(s, id, name, NULL) != ATP_OK || store_account_get(s, id, &a, NULL) != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such resource");
        return;
    }
    char resource[48];
    snprintf(resource, sizeof resource, "account:%lld", (long long)id);
    audit(req, id, "account.update", resource, "ok", json_pack("{s:s}", "name", a.name));
    res->json = account_json(&a, caller_access(req, id));
}

/* ---- invitations of an account ---- */

const struct api_field h_invitations_create_body[] = {
    {"email", API_FT_STRING, 1, STORE_EMAIL_MAX - 1, "the invitee's email address"},
    {"role", API_FT_STRING, 1, 16, "\"investor\" (read-only) or \"trader\""},
    {NULL, 0, 0, 0, NULL},
};

void h_account_invitations_create(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store *s = req->store;
    int64_t account_id = account_param(req);
    const char *email = str_field(req, "email"), *role = str_field(req, "role");
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@')) {
        api_error(res, 422, "invalid_field", "email", "not an email address");
        return;
    }
    int access;
    if (!strcmp(role, "investor"))
        access = STORE_ACCESS_INVESTOR;
    else if (!strcmp(role, "trader"))
        access = STORE_ACCESS_TRADER;
    else {
        api_error(res, 422, "invalid_field", "role", "the role is investor or trader");
        return;
    }
    struct store_user me;
    if (store_user_get(s, req->user_id, &me, NULL) == ATP_OK && !strcasecmp(me.email, email)) {
        api_error(res, 422, "invalid_field", "email", "the owner needs no invitation");
        return;
    }
    char token[TOKEN_TEXT_SIZE];
    struct store_invitation inv;
    memset(&inv, 0, sizeof inv);
    inv.account_id = account_id;
    snprintf(inv.email, sizeof inv.email, "%s", email);
    inv.role = access;
    inv.created_by = req->user_id;
    inv.expires_ns = now_ns() + (int64_t)H_ACCOUNTS_INVITE_TTL_S * NS_PER_S;
    if (token_generate(token) != ATP_OK || token_hash(token, inv.token_hash) != ATP_OK ||
        store_invite_create(s, &inv, &inv.id, NULL) != ATP_OK) {
        sodium_memzero(token, sizeof token);
        api_error(res, 500, "internal", NULL, "cannot create the invitation");
        return;
    }
    inv.status = STORE_INVITE_PENDING;
    inv.created_ns = now_ns();
    char resource[48];
    snprintf(resource, sizeof resource, "invitation:%lld", (long long)inv.id);
    audit(req, account_id, "invitation.create", resource, "ok",
          json_pack("{s:s, s:s}", "email", inv.email, "role", role));
    struct store_user invitee;
    struct store_account acct;
    if (store_user_get_by_email(s, inv.email, &invitee, NULL) == ATP_OK &&
        store_account_get(s, account_id, &acct, NULL) == ATP_OK) {
        char title[STORE_TITLE_MAX];
        snprintf(title, sizeof title, "Invitation to the account \"%.100s\" as %s", acct.name, role);
        notify_user(s, invitee.id, NOTIFY_INVITATION_RECEIVED, title,
                    "Accept or reject it under your invitations; it is valid for 7 days.");
    }
    json_t *o = invitation_json(&inv, 0);
    if (o)
        json_object_set_new(o, "token", json_string(token));
    sodium_memzero(token, sizeof token);
    res->status = 201;
    res->json = o;
}

void h_account_invitations_list(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store_page page = {query_cursor(req), 100};
    struct store_invitation *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out || store_invite_list_for_account(req->store, account_param(req), &page, out,
                                              &po, NULL) != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot list the invitations");
        return;
    }
    int64_t now = now_ns();
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        json_array_append_new(items, invitation_json(&out[i], now));
    atp_free(out);
    res->json = list_envelope(items, po.next_cursor);
}

void h_account_invitations_revoke(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    int64_t account_id = account_param(req), inv_id = parse_id(api_param(req, "invitation_id"));
    char resource[48];
    snprintf(resource, sizeof resource, "invitation:%lld", (long long)inv_id);
    int rc = inv_id ? store_invite_set_status(req->store, account_id, inv_id,
                                              STORE_INVITE_REVOKED, NULL)
                    : ATP_ENOTFOUND;
    if (rc == ATP_ESTATE) {
        audit(req, account_id, "invitation.revoke", resource, "denied", NULL);
        api_error(res, 409, "conflict", "status", "the invitation is no longer pending");
        return;
    }
    if (rc != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such invitation");
        return;
    }
    audit(req, account_id, "invitation.revoke", resource, "ok", NULL);
    res->json = json_pack("{s:s}", "status", "revoked");
}

/* ---- access of an account ---- */

void h_account_access_list(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store *s = req->store;
    int64_t account_id = account_param(req);
    struct store_page page = {query_cursor(req), 100};
    struct store_grant *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out || store_access_list(s, account_id, &page, out, &po, NULL) != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot list the access");
        return;
    }
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++) {
        struct store_user u;
        const char *email = store_user_get(s, out[i].user_id, &u, NULL) == ATP_OK ? u.email : "";
        json_array_append_new(items, json_pack("{s:I, s:s, s:s, s:I}", "user_id", (json_int_t)out[i].user_id,
                                               "email", email, "role", access_text(out[i].role),
                                               "granted_ns", (json_int_t)out[i].granted_ns));
    }
    atp_free(out);
    res->json = list_envelope(items, po.next_cursor);
}

void h_account_access_revoke(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    int64_t account_id = account_param(req), user_id = parse_id(api_param(req, "user_id"));
    char resource[48];
    snprintf(resource, sizeof resource, "user:%lld", (long long)user_id);
    if (!user_id || store_access_revoke(req->store, account_id, user_id, NULL) != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such grant");
        return;
    }
    audit(req, account_id, "access.revoke", resource, "ok", NULL);
    res->json = json_pack("{s:s}", "status", "revoked");
}

/* ---- the caller's invitations ---- */

/* Finds invitation id among those addressed to the caller's email. 0, or -1 with res set (404: not
 * the caller's, or absent). */
static int find_mine(struct api_request *req, struct api_response *res, int64_t id,
                     struct store_invitation *found)
{
    struct store *s = req->store;
    struct store_user me;
    if (!id || store_user_get(s, req->user_id, &me, NULL) != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such invitation");
        return -1;
    }
    struct store_page page = {0, 100};
    struct store_invitation *out = atp_calloc(page.limit, sizeof *out);
    if (!out) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return -1;
    }
    int hit = 0;
    for (;;) {
        struct store_page_out po = {0};
        if (store_invite_list_for_email(s, me.email, &page, out, &po, NULL) != ATP_OK)
            break;
        for (uint32_t i = 0; i < po.count && !hit; i++)
            if (out[i].id == id) {
                *found = out[i];
                hit = 1;
            }
        if (hit || !po.next_cursor)
            break;
        page.cursor = po.next_cursor;
    }
    atp_free(out);
    if (!hit) {
        api_error(res, 404, "not_found", NULL, "no such invitation");
        return -1;
    }
    return 0;
}

void h_invitations_mine(struct api_request *req, struct api_response *res)
{
    if (!have_store(req, res))
        return;
    struct store *s = req->store;
    struct store_user me;
    if (store_user_get(s, req->user_id, &me, NULL) != ATP_OK) {
        api_error(res, 401, "unauthenticated", NULL, "log in first");
        return;
    }
    struct store_page page = {query_cursor(req), 100};
    struct store_invitation *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out || store_invite_list_for_email(s, me.email, &page, out, &po, NULL) != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot list the invitations");
        return;
    }
    int64_t now = now_ns();
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        if (out[i].status == STORE_INVITE_PENDING && out[i].expires_ns > now) {
            json_t *o = invitation_json(&out[i], now);
            struct store_account a;
            if (o && store_account_get(s, out[i].account_id, &a, NULL) == ATP_OK)
                json_object_set_new(o, "account_name", json_string(a.name));
            json_array_append_new(items, o);
        }
    atp_free(out);
    res->json = list_envelope(items, po.next_cursor);
}

/* accept != 0: accept, else reject. */
static void answer_invitation(struct api_request *req, struct api_response *res, int accept)
{
    if (!have_store(req, res))
        return;
    struct store *s = req->store;
    struct store_invitation inv;
    if (find_mine(req, res, parse_id(api_param(req, "id")), &inv) != 0)
        return;
    const char *action = accept ? "invitation.accept" : "invitation.reject";
    char resource[48];
    snprintf(resource, sizeof resource, "invitation:%lld", (long long)inv.id);
    if (inv.status != STORE_INVITE_PENDING) {
        const char *st = store_invite_status_name(inv.status);
        audit(req, inv.account_id, action, resource, "denied", json_pack("{s:s}", "status", st ? st : "?"));
        api_error(res, 409, "conflict", "status", "the invitation is %s", st ? st : "not pending");
        return;
    }
    if (inv.expires_ns <= now_ns()) {
        store_invite_set_status(s, inv.account_id, inv.id, STORE_INVITE_EXPIRED, NULL);
        audit(req, inv.account_id, action, resource, "denied", json_pack("{s:s}", "status", "expired"));
        api_error(res, 410, "expired", NULL, "the invitation expired");
        return;
    }
    int rc = accept ? store_invite_accept(s, inv.account_id, inv.id, req->user_id, NULL)
                    : store_invite_set_status(s, inv.account_id, inv.id, STORE_INVITE_REJECTED, NULL);
    if (rc == ATP_ESTATE || rc == ATP_EINVAL) {
        audit(req, inv.account_id, action, resource, "denied", NULL);
        api_error(res, 409, "conflict", "status", "the invitation cannot be answered");
        return;
    }
    if (rc != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot answer the invitation");
        return;
    }
    audit(req, inv.account_id, action, resource, "ok", NULL);
    struct store_user me;
    struct store_account acct;
    if (accept && store_user_get(s, req->user_id, &me, NULL) == ATP_OK &&
        store_account_get(s, inv.account_id, &acct, NULL) == ATP_OK) {
        char title[STORE_TITLE_MAX];
        snprintf(title, sizeof title, "%.100s accepted your invitation to \"%.100s\"", me.email, acct.name);
        notify_user(s, inv.created_by, NOTIFY_INVITATION_ACCEPTED, title, NULL);
    }
    inv.status = accept ? STORE_INVITE_ACCEPTED : STORE_INVITE_REJECTED;
    res->json = invitation_json(&inv, 0);
}

void h_invitations_accept(struct api_request *req, struct api_response *res) { answer_invitation(req, res, 1); }
void h_invitations_reject(struct api_request *req, struct api_response *res) { answer_invitation(req, res, 0); }
