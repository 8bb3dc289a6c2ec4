/* store: URL dispatch, argument validation shared by every backend, enum names. */
#include "store/store_backend.h"

#include <string.h>
#include <time.h>

#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

static const char *const user_role_names[] = {"admin", "trader", "investor"};
static const char *const user_status_names[] = {"active", "disabled"};
static const char *const access_names[] = {"none", "owner", "trader", "investor"};
static const char *const invite_status_names[] = {"pending", "accepted", "rejected", "expired", "revoked"};

#define NAME_OF(table, v) ((v) >= 0 && (size_t)(v) < sizeof table / sizeof table[0] ? table[v] : NULL)

const char *store_user_role_name(int role) { return NAME_OF(user_role_names, role); }
const char *store_user_status_name(int status) { return NAME_OF(user_status_names, status); }
const char *store_access_name(int access) { return NAME_OF(access_names, access); }
const char *store_invite_status_name(int status) { return NAME_OF(invite_status_names, status); }

static int64_t clock_realtime(void *ctx)
{
    (void)ctx;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int64_t store_now(struct store *s) { return s->now_ns(s->clock_ctx); }

void store_set_clock(struct store *s, int64_t (*now_ns)(void *ctx), void *ctx)
{
    s->now_ns = now_ns ? now_ns : clock_realtime;
    s->clock_ctx = now_ns ? ctx : NULL;
}

void store_email_key(const char *email, char *key)
{
    size_t i = 0;
    for (; i < STORE_EMAIL_MAX - 1 && email[i]; i++) {
        char c = email[i];
        key[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    key[i] = '\0';
}

const char *store_backend(const struct store *s) { return s->ops->name; }

/* ---- validation ---- */

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != ATP_OK)                                                                         \
            return rc_;                                                                            \
    } while (0)

static int need_store(const struct store *s, struct atp_err *err)
{
    if (!s)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "store", "store is NULL");
    return ATP_OK;
}

static int need_ptr(const void *p, const char *field, struct atp_err *err)
{
    if (!p)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "is NULL");
    return ATP_OK;
}

static int need_id(int64_t id, const char *field, struct atp_err *err)
{
    if (id <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "must be a positive id, got %lld",
                           (long long)id);
    return ATP_OK;
}

/* A string held in a buffer of size bytes: NUL-terminated inside it, non-empty when required. */
static int need_str(const char *text, size_t size, int required, const char *field, struct atp_err *err)
{
    if (!text)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "is NULL");
    size_t len = strnlen(text, size);
    if (len == size)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "longer than %zu bytes", size - 1);
    if (required && len == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "is required");
    return ATP_OK;
}

static int need_enum(int v, const char *(*name)(int), const char *field, struct atp_err *err)
{
    if (!name(v))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "unknown value %d", v);
    return ATP_OK;
}

static int need_grant_role(int role, const char *field, struct atp_err *err)
{
    if (role != STORE_ACCESS_TRADER && role != STORE_ACCESS_INVESTOR)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "must be trader or investor, got %d", role);
    return ATP_OK;
}

static int need_blob(uint32_t len, uint32_t cap, int required, const char *field, struct atp_err *err)
{
    if (len > cap)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "longer than %u bytes", cap);
    if (required && len == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "is required");
    return ATP_OK;
}

static int need_bool(int v, const char *field, struct atp_err *err)
{
    if (v != 0 && v != 1)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "must be 0 or 1, got %d", v);
    return ATP_OK;
}

static int need_page(const struct store_page *p, const void *out, const struct store_page_out *res,
                     struct atp_err *err)
{
    TRY(need_ptr(p, "page", err));
    TRY(need_ptr(out, "out", err));
    TRY(need_ptr(res, "res", err));
    if (p->limit < 1 || p->limit > STORE_PAGE_MAX)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "limit", "must be 1..%u, got %u", STORE_PAGE_MAX,
                           p->limit);
    if (p->cursor < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "cursor", "must be >= 0");
    return ATP_OK;
}

static int need_email(const char *email, const char *field, struct atp_err *err)
{
    TRY(need_str(email, STORE_EMAIL_MAX, 1, field, err));
    if (!strchr(email, '@'))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "is not an email address");
    return ATP_OK;
}

/* ---- lifecycle ---- */

int store_open(const char *url, struct store **out, struct atp_err *err)
{
    TRY(need_ptr(url, "url", err));
    TRY(need_ptr(out, "out", err));
    *out = NULL;
    int rc;
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (!*path)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "url", "sqlite: needs a path or :memory:");
        rc = sqlite_store_open(path, out, err);
    } else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        rc = pg_store_open(url, out, err);
    } else {
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "url",
                           "unknown store URL (want sqlite:PATH, sqlite::memory: or postgres://...)");
    }
    if (rc == ATP_OK)
        store_set_clock(*out, NULL, NULL);
    return rc;
}

void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

int store_migrate(struct store *s, int *applied_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    int applied = 0;
    int rc = s->ops->migrate(s, &applied, err);
    if (applied_out)
        *applied_out = applied;
    return rc;
}

int store_migrate_status(struct store *s, struct store_migration_status *out, int cap, int *count_out,
                         struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(count_out, "count", err));
    if (cap < 0 || (cap > 0 && !out))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "cap", "needs an out array of cap >= 0 entries");
    return s->ops->migrate_status(s, out, cap, count_out, err);
}

/* ---- users ---- */

static int check_user_fields(const struct store_user *u, unsigned fields, struct atp_err *err)
{
    if (fields & STORE_USER_F_NAME)
        TRY(need_str(u->name, sizeof u->name, 1, "name", err));
    if (fields & STORE_USER_F_PASSWORD)
        TRY(need_str(u->password_hash, sizeof u->password_hash, 1, "password_hash", err));
    if (fields & STORE_USER_F_ROLE)
        TRY(need_enum(u->role, store_user_role_name, "role", err));
    if (fields & STORE_USER_F_STATUS)
        TRY(need_enum(u->status, store_user_status_name, "status", err));
    if (fields & STORE_USER_F_LOCKOUT) {
        if (u->failed_logins < 0)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "failed_logins", "must be >= 0");
        if (u->locked_until_ns < 0)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "locked_until_ns", "must be >= 0");
    }
    if (fields & STORE_USER_F_TOTP) {
        TRY(need_blob(u->totp_secret_len, STORE_TOTP_MAX, 0, "totp_secret", err));
        TRY(need_bool(u->totp_enabled, "totp_enabled", err));
        if (u->totp_enabled && u->totp_secret_len == 0)
            return atp_err_set(err, ATP_EINVAL, NULL, 0, "totp_secret", "is required when enabled");
    }
    return ATP_OK;
}

#define USER_ALL_FIELDS                                                                            \
    (STORE_USER_F_ROLE | STORE_USER_F_STATUS | STORE_USER_F_PASSWORD | STORE_USER_F_LOCKOUT |      \
     STORE_USER_F_TOTP | STORE_USER_F_NAME)

int store_user_create(struct store *s, const struct store_user *u, int64_t *id_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(u, "user", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_email(u->email, "email", err));
    TRY(check_user_fields(u, USER_ALL_FIELDS, err));
    char key[STORE_EMAIL_MAX];
    store_email_key(u->email, key);
    return s->ops->user_create(s, u, key, id_out, err);
}

int store_user_get(struct store *s, int64_t user_id, struct store_user *out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_ptr(out, "out", err));
    return s->ops->user_get(s, user_id, out, err);
}

int store_user_get_by_email(struct store *s, const char *email, struct store_user *out,
                            struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_str(email, STORE_EMAIL_MAX, 1, "email", err));
    TRY(need_ptr(out, "out", err));
    char key[STORE_EMAIL_MAX];
    store_email_key(email, key);
    return s->ops->user_get_by_email(s, key, out, err);
}

int store_user_list(struct store *s, const struct store_page *page, struct store_user *out,
                    struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_page(page, out, res, err));
    return s->ops->user_list(s, page, out, res, err);
}

int store_user_update(struct store *s, int64_t user_id, unsigned fields, const struct store_user *values,
                      struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_ptr(values, "values", err));
    if (fields == 0 || (fields & ~(unsigned)USER_ALL_FIELDS))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "fields", "unknown or empty field set 0x%x", fields);
    TRY(check_user_fields(values, fields, err));
    return s->ops->user_update(s, user_id, fields, values, err);
}

/* ---- refresh tokens ---- */

int store_token_insert(struct store *s, const struct store_refresh_token *t, int64_t *id_out,
                       struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(t, "token", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_id(t->user_id, "user_id", err));
    TRY(need_str(t->family_id, sizeof t->family_id, 1, "family_id", err));
    TRY(need_str(t->token_hash, sizeof t->token_hash, 1, "token_hash", err));
    if (t->expires_ns <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "expires_ns", "is required");
    return s->ops->token_insert(s, t, id_out, err);
}

int store_token_find(struct store *s, const char *token_hash, struct store_refresh_token *out,
                     struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_str(token_hash, STORE_TOKEN_HASH_MAX, 1, "token_hash", err));
    TRY(need_ptr(out, "out", err));
    return s->ops->token_find(s, token_hash, out, err);
}

int store_token_revoke(struct store *s, int64_t user_id, int64_t token_id, int64_t replaced_by,
                       struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_id(token_id, "token_id", err));
    if (replaced_by < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "replaced_by", "must be >= 0");
    return s->ops->token_revoke(s, user_id, token_id, replaced_by, err);
}

int store_token_revoke_family(struct store *s, int64_t user_id, const char *family_id, int *count_out,
                              struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_str(family_id, STORE_TOKEN_HASH_MAX, 1, "family_id", err));
    int n = 0;
    int rc = s->ops->token_revoke_family(s, user_id, family_id, &n, err);
    if (count_out)
        *count_out = n;
    return rc;
}

int store_token_revoke_all_except(struct store *s, int64_t user_id, int64_t keep_id, int *count_out,
                                  struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    if (keep_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "keep_id", "must be >= 0");
    int n = 0;
    int rc = s->ops->token_revoke_all_except(s, user_id, keep_id, &n, err);
    if (count_out)
        *count_out = n;
    return rc;
}

/* ==== sessions ==== */

int store_session_create(struct store *s, const struct store_session *ss, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(ss, "session", err));
    TRY(need_str(ss->id, sizeof ss->id, 1, "id", err));
    TRY(need_id(ss->user_id, "user_id", err));
    TRY(need_str(ss->ip, sizeof ss->ip, 0, "ip", err));
    TRY(need_str(ss->user_agent, sizeof ss->user_agent, 0, "user_agent", err));
    return s->ops->session_create(s, ss, err);
}

int store_session_get(struct store *s, const char *id, struct store_session *out, int *user_role,
                      int *user_status, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_str(id, STORE_SESSION_ID_MAX, 1, "id", err));
    TRY(need_ptr(out, "out", err));
    int role = 0, status = 0;
    int rc = s->ops->session_get(s, id, out, &role, &status, err);
    if (user_role)
        *user_role = role;
    if (user_status)
        *user_status = status;
    return rc;
}

int store_session_touch(struct store *s, const char *id, int64_t seen_ns, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_str(id, STORE_SESSION_ID_MAX, 1, "id", err));
    if (seen_ns <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "seen_ns", "must be > 0");
    return s->ops->session_touch(s, id, seen_ns, err);
}

int store_session_revoke(struct store *s, int64_t user_id, const char *id, const char *reason,
                         struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_str(id, STORE_SESSION_ID_MAX, 1, "id", err));
    TRY(need_str(reason, STORE_REASON_MAX, 1, "reason", err));
    return s->ops->session_revoke(s, user_id, id, reason, err);
}

int store_session_revoke_others(struct store *s, int64_t user_id, const char *keep_id, const char *reason,
                                int *count_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    if (!keep_id)
        keep_id = "";
    TRY(need_str(keep_id, STORE_SESSION_ID_MAX, 0, "keep_id", err));
    TRY(need_str(reason, STORE_REASON_MAX, 1, "reason", err));
    int n = 0;
    int rc = s->ops->session_revoke_others(s, user_id, keep_id, reason, &n, err);
    if (count_out)
        *count_out = n;
    return rc;
}

int store_totp_step_get(struct store *s, int64_t user_id, int64_t *step_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_ptr(step_out, "step_out", err));
    return s->ops->totp_step_get(s, user_id, step_out, err);
}

int store_totp_step_advance(struct store *s, int64_t user_id, int64_t step, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    if (step < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "step", "must be >= 0");
    return s->ops->totp_step_advance(s, user_id, step, err);
}

int store_totp_step_reset(struct store *s, int64_t user_id, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    return s->ops->totp_step_reset(s, user_id, err);
}

/* ==== end of sessions ==== */

/* ---- accounts and access ---- */

int store_account_create(struct store *s, const struct store_account *a, int64_t *id_out,
                         struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(a, "account", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_id(a->owner_id, "owner_id", err));
    TRY(need_str(a->name, sizeof a->name, 1, "name", err));
    TRY(need_str(a->broker, sizeof a->broker, 0, "broker", err));
    return s->ops->account_create(s, a, id_out, err);
}

int store_account_get(struct store *s, int64_t account_id, struct store_account *out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_ptr(out, "out", err));
    return s->ops->account_get(s, account_id, out, err);
}

int store_accounts_list_for_user(struct store *s, int64_t user_id, const struct store_page *page,
                                 struct store_account *out, struct store_page_out *res,
                                 struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_page(page, out, res, err));
    return s->ops->accounts_list_for_user(s, user_id, page, out, res, err);
}

int store_accounts_list_all(struct store *s, int64_t user_id, const struct store_page *page,
                            struct store_account *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_page(page, out, res, err));
    return s->ops->accounts_list_all(s, user_id, page, out, res, err);
}

int store_account_rename(struct store *s, int64_t account_id, const char *name, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_str(name, STORE_NAME_MAX, 1, "name", err));
    return s->ops->account_rename(s, account_id, name, err);
}

int store_access_grant(struct store *s, int64_t account_id, int64_t user_id, int role, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_grant_role(role, "role", err));
    return s->ops->access_grant(s, account_id, user_id, role, err);
}

int store_access_revoke(struct store *s, int64_t account_id, int64_t user_id, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(user_id, "user_id", err));
    return s->ops->access_revoke(s, account_id, user_id, err);
}

int store_access_list(struct store *s, int64_t account_id, const struct store_page *page,
                      struct store_grant *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_page(page, out, res, err));
    return s->ops->access_list(s, account_id, page, out, res, err);
}

int store_access_role(struct store *s, int64_t account_id, int64_t user_id, int *access_out,
                      struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_ptr(access_out, "access_out", err));
    return s->ops->access_role(s, account_id, user_id, access_out, err);
}

/* ---- invitations ---- */

int store_invite_create(struct store *s, const struct store_invitation *inv, int64_t *id_out,
                        struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(inv, "invitation", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_id(inv->account_id, "account_id", err));
    TRY(need_id(inv->created_by, "created_by", err));
    TRY(need_email(inv->email, "email", err));
    TRY(need_str(inv->token_hash, sizeof inv->token_hash, 1, "token_hash", err));
    TRY(need_grant_role(inv->role, "role", err));
    if (inv->expires_ns <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "expires_ns", "is required");
    char key[STORE_EMAIL_MAX];
    store_email_key(inv->email, key);
    return s->ops->invite_create(s, inv, key, id_out, err);
}

int store_invite_list_for_account(struct store *s, int64_t account_id, const struct store_page *page,
                                  struct store_invitation *out, struct store_page_out *res,
                                  struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_page(page, out, res, err));
    return s->ops->invite_list_for_account(s, account_id, page, out, res, err);
}

int store_invite_list_for_email(struct store *s, const char *email, const struct store_page *page,
                                struct store_invitation *out, struct store_page_out *res,
                                struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_str(email, STORE_EMAIL_MAX, 1, "email", err));
    TRY(need_page(page, out, res, err));
    char key[STORE_EMAIL_MAX];
    store_email_key(email, key);
    return s->ops->invite_list_for_email(s, key, page, out, res, err);
}

int store_invite_find(struct store *s, const char *token_hash, struct store_invitation *out,
                      struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_str(token_hash, STORE_TOKEN_HASH_MAX, 1, "token_hash", err));
    TRY(need_ptr(out, "out", err));
    return s->ops->invite_find(s, token_hash, out, err);
}

int store_invite_set_status(struct store *s, int64_t account_id, int64_t invitation_id, int status,
                            struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(invitation_id, "invitation_id", err));
    TRY(need_enum(status, store_invite_status_name, "status", err));
    if (status == STORE_INVITE_PENDING)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "status", "cannot be set back to pending");
    return s->ops->invite_set_status(s, account_id, invitation_id, status, err);
}

int store_invite_accept(struct store *s, int64_t account_id, int64_t invitation_id, int64_t user_id,
                        struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(invitation_id, "invitation_id", err));
    TRY(need_id(user_id, "user_id", err));
    return s->ops->invite_accept(s, account_id, invitation_id, user_id, err);
}

int store_invite_expire(struct store *s, int64_t now_ns, int *count_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    int n = 0;
    int rc = s->ops->invite_expire(s, now_ns, &n, err);
    if (count_out)
        *count_out = n;
    return rc;
}

/* ---- broker connections ---- */

int store_broker_create(struct store *s, const struct store_broker_conn *c,
                        const struct store_broker_secret *secret, int64_t *id_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(c, "conn", err));
    TRY(need_ptr(secret, "secret", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_id(c->account_id, "account_id", err));
    TRY(need_str(c->broker, sizeof c->broker, 1, "broker", err));
    TRY(need_str(c->key_id, sizeof c->key_id, 1, "key_id", err));
    TRY(need_str(c->masked, sizeof c->masked, 0, "masked", err));
    TRY(need_blob(secret->ciphertext_len, STORE_CIPHER_MAX, 1, "ciphertext", err));
    TRY(need_blob(secret->nonce_len, STORE_NONCE_MAX, 1, "nonce", err));
    return s->ops->broker_create(s, c, secret, id_out, err);
}

int store_broker_list(struct store *s, int64_t account_id, const struct store_page *page,
                      struct store_broker_conn *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_page(page, out, res, err));
    return s->ops->broker_list(s, account_id, page, out, res, err);
}

int store_broker_delete(struct store *s, int64_t account_id, int64_t conn_id, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(conn_id, "conn_id", err));
    return s->ops->broker_delete(s, account_id, conn_id, err);
}

int store_broker_secret_get(struct store *s, int64_t account_id, int64_t conn_id,
                            struct store_broker_conn *meta, struct store_broker_secret *out,
                            struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(conn_id, "conn_id", err));
    TRY(need_ptr(out, "out", err));
    return s->ops->broker_secret_get(s, account_id, conn_id, meta, out, err);
}

/* ---- audit ---- */

int store_audit_append(struct store *s, const struct store_audit *a, int64_t *id_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(a, "audit", err));
    TRY(need_ptr(id_out, "id_out", err));
    if (a->ts_ns <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "ts_ns", "is required");
    if (a->user_id < 0 || a->account_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, a->user_id < 0 ? "user_id" : "account_id",
                           "must be >= 0");
    TRY(need_str(a->action, sizeof a->action, 1, "action", err));
    TRY(need_str(a->resource, sizeof a->resource, 0, "resource", err));
    TRY(need_str(a->ip, sizeof a->ip, 0, "ip", err));
    TRY(need_str(a->user_agent, sizeof a->user_agent, 0, "user_agent", err));
    TRY(need_str(a->result, sizeof a->result, 1, "result", err));
    TRY(need_str(a->details, sizeof a->details, 0, "details", err));
    return s->ops->audit_append(s, a, id_out, err);
}

int store_audit_query(struct store *s, const struct store_audit_filter *f, const struct store_page *page,
                      struct store_audit *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_page(page, out, res, err));
    static const struct store_audit_filter any;
    if (!f)
        f = &any;
    if (f->user_id < 0 || f->account_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, f->user_id < 0 ? "user_id" : "account_id",
                           "must be >= 0");
    TRY(need_str(f->action, sizeof f->action, 0, "action", err));
    return s->ops->audit_query(s, f, page, out, res, err);
}

/* ---- notifications ---- */

int store_notif_create(struct store *s, const struct store_notification *n, int64_t *id_out,
                       struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(n, "notification", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_id(n->user_id, "user_id", err));
    TRY(need_str(n->type, sizeof n->type, 1, "type", err));
    TRY(need_str(n->title, sizeof n->title, 1, "title", err));
    TRY(need_str(n->body, sizeof n->body, 0, "body", err));
    TRY(need_bool(n->read, "read", err));
    if (n->ts_ns <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "ts_ns", "is required");
    return s->ops->notif_create(s, n, id_out, err);
}

int store_notif_list(struct store *s, int64_t user_id, int unread_only, const struct store_page *page,
                     struct store_notification *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_bool(unread_only, "unread_only", err));
    TRY(need_page(page, out, res, err));
    return s->ops->notif_list(s, user_id, unread_only, page, out, res, err);
}

int store_notif_mark_read(struct store *s, int64_t user_id, int64_t notif_id, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_id(notif_id, "notif_id", err));
    return s->ops->notif_mark_read(s, user_id, notif_id, err);
}

int store_pref_set(struct store *s, const struct store_notif_pref *p, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(p, "pref", err));
    TRY(need_id(p->user_id, "user_id", err));
    TRY(need_str(p->type, sizeof p->type, 1, "type", err));
    TRY(need_str(p->channel, sizeof p->channel, 1, "channel", err));
    TRY(need_bool(p->enabled, "enabled", err));
    return s->ops->pref_set(s, p, err);
}

int store_pref_list(struct store *s, int64_t user_id, const struct store_page *page,
                    struct store_notif_pref *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_page(page, out, res, err));
    return s->ops->pref_list(s, user_id, page, out, res, err);
}

/* ---- administration additions (store.h) ---- */

int store_ping(struct store *s, struct atp_err *err)
{
    TRY(need_store(s, err));
    return s->ops->ping(s, err);
}

int store_stats_get(struct store *s, struct store_stats *out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(out, "out", err));
    memset(out, 0, sizeof *out);
    return s->ops->stats_get(s, out, err);
}

int store_user_admin_update(struct store *s, int64_t user_id, unsigned fields, const struct store_user *values,
                            struct store_user *before, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_ptr(values, "values", err));
    if (fields == 0 || (fields & ~(unsigned)(STORE_USER_F_ROLE | STORE_USER_F_STATUS)))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "fields", "only role and status change here, got 0x%x",
                           fields);
    if (fields & STORE_USER_F_ROLE)
        TRY(need_enum(values->role, store_user_role_name, "role", err));
    if (fields & STORE_USER_F_STATUS)
        TRY(need_enum(values->status, store_user_status_name, "status", err));
    struct store_user ignored;
    return s->ops->user_admin_update(s, user_id, fields, values, before ? before : &ignored, err);
}

int store_notif_mark_all_read(struct store *s, int64_t user_id, int *count_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    int n = 0;
    int rc = s->ops->notif_mark_all_read(s, user_id, &n, err);
    if (count_out)
        *count_out = n;
    return rc;
}

int store_broker_list_all(struct store *s, const struct store_page *page, struct store_broker_conn *out,
                          struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_page(page, out, res, err));
    return s->ops->broker_list_all(s, page, out, res, err);
}

int store_broker_secret_replace(struct store *s, int64_t account_id, int64_t conn_id, const char *expect_key_id,
                                const char *key_id, const struct store_broker_secret *secret,
                                struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(conn_id, "conn_id", err));
    TRY(need_str(expect_key_id, STORE_KEY_ID_MAX, 1, "expect_key_id", err));
    TRY(need_str(key_id, STORE_KEY_ID_MAX, 1, "key_id", err));
    TRY(need_ptr(secret, "secret", err));
    TRY(need_blob(secret->ciphertext_len, STORE_CIPHER_MAX, 1, "ciphertext", err));
    TRY(need_blob(secret->nonce_len, STORE_NONCE_MAX, 1, "nonce", err));
    return s->ops->broker_secret_replace(s, account_id, conn_id, expect_key_id, key_id, secret, err);
}

/* ==== strategies and account risk limits (store.h) ==== */

static const char *const trade_mode_names[] = {"paper", "live"};
static const char *const strategy_state_names[] = {"stopped", "running", "paused"};

const char *store_trade_mode_name(int mode) { return NAME_OF(trade_mode_names, mode); }
const char *store_strategy_state_name(int state) { return NAME_OF(strategy_state_names, state); }

/* The fields a caller writes on create and update. */
static int need_strategy_body(const struct store_strategy *st, struct atp_err *err)
{
    TRY(need_ptr(st, "strategy", err));
    TRY(need_id(st->account_id, "account_id", err));
    TRY(need_str(st->type, sizeof st->type, 1, "type", err));
    TRY(need_str(st->name, sizeof st->name, 1, "name", err));
    TRY(need_str(st->symbols, sizeof st->symbols, 1, "symbols", err));
    TRY(need_str(st->timeframes, sizeof st->timeframes, 1, "timeframes", err));
    TRY(need_str(st->params, sizeof st->params, 1, "params", err));
    TRY(need_str(st->risk, sizeof st->risk, 1, "risk", err));
    return need_enum(st->mode, store_trade_mode_name, "mode", err);
}

int store_strategy_create(struct store *s, const struct store_strategy *st, int64_t *id_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_strategy_body(st, err));
    TRY(need_ptr(id_out, "id_out", err));
    return s->ops->strategy_create(s, st, id_out, err);
}

int store_strategy_get(struct store *s, int64_t account_id, int64_t id, struct store_strategy *out,
                       struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(id, "strategy_id", err));
    TRY(need_ptr(out, "out", err));
    memset(out, 0, sizeof *out);
    return s->ops->strategy_get(s, account_id, id, out, err);
}

int store_strategy_account(struct store *s, int64_t id, int64_t *account_id_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(id, "strategy_id", err));
    TRY(need_ptr(account_id_out, "account_id_out", err));
    *account_id_out = 0;
    return s->ops->strategy_account(s, id, account_id_out, err);
}

int store_strategy_list(struct store *s, const struct store_strategy_filter *f, const struct store_page *page,
                        struct store_strategy *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_page(page, out, res, err));
    struct store_strategy_filter all = {0};
    if (!f)
        f = &all;
    if (f->user_id < 0 || f->account_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, f->user_id < 0 ? "user_id" : "account_id", "must be >= 0");
    TRY(need_bool(f->active_only, "active_only", err));
    return s->ops->strategy_list(s, f, page, out, res, err);
}

int store_strategy_update(struct store *s, const struct store_strategy *v, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_strategy_body(v, err));
    TRY(need_id(v->id, "strategy_id", err));
    return s->ops->strategy_update(s, v, err);
}

int store_strategy_delete(struct store *s, int64_t account_id, int64_t id, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(id, "strategy_id", err));
    return s->ops->strategy_delete(s, account_id, id, err);
}

int store_strategy_set_state(struct store *s, int64_t account_id, int64_t id, int state, const char *reason,
                             struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(id, "strategy_id", err));
    TRY(need_enum(state, store_strategy_state_name, "state", err));
    /* A reason is for people: a long one is cut rather than refused (a strategy's failure text). */
    char cut[STORE_STRAT_REASON_MAX];
    size_t n = reason ? strnlen(reason, sizeof cut - 1) : 0;
    memcpy(cut, reason ? reason : "", n);
    cut[n] = '\0';
    return s->ops->strategy_set_state(s, account_id, id, state, cut, err);
}

int store_strategy_set_signal(struct store *s, int64_t account_id, int64_t id, const char *signal_json,
                              int64_t ts_ns, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(id, "strategy_id", err));
    TRY(need_str(signal_json, STORE_STRAT_SIGNAL_MAX, 1, "signal", err));
    return s->ops->strategy_set_signal(s, account_id, id, signal_json, ts_ns, err);
}

static int need_mode(int mode, struct atp_err *err) { return need_enum(mode, store_trade_mode_name, "mode", err); }

int store_risk_limits_get(struct store *s, int64_t account_id, int mode, struct store_risk_limits *out,
                          struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_mode(mode, err));
    TRY(need_ptr(out, "out", err));
    memset(out, 0, sizeof *out);
    return s->ops->risk_limits_get(s, account_id, mode, out, err);
}

int store_risk_limits_set(struct store *s, const struct store_risk_limits *lim, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(lim, "limits", err));
    TRY(need_id(lim->account_id, "account_id", err));
    TRY(need_mode(lim->mode, err));
    const char *neg = lim->max_loss < 0             ? "max_loss"
                      : lim->max_position_qty < 0   ? "max_position_qty"
                      : lim->max_order_value < 0    ? "max_order_value"
                      : lim->max_open_orders < 0    ? "max_open_orders"
                                                    : NULL;
    if (neg)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, neg, "must be >= 0 (0: off)");
    return s->ops->risk_limits_set(s, lim, err);
}

int store_risk_breach_record(struct store *s, int64_t account_id, int mode, int64_t pnl, int64_t ts_ns,
                             struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_mode(mode, err));
    return s->ops->risk_breach_record(s, account_id, mode, pnl, ts_ns, err);
}

int store_risk_breach_ack(struct store *s, int64_t account_id, int mode, int64_t ts_ns, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_mode(mode, err));
    return s->ops->risk_breach_ack(s, account_id, mode, ts_ns, err);
}

int store_strategy_limit_get(struct store *s, int mode, int32_t *max_running_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_mode(mode, err));
    TRY(need_ptr(max_running_out, "max_running_out", err));
    return s->ops->strategy_limit_get(s, mode, max_running_out, err);
}

int store_strategy_limit_set(struct store *s, int mode, int32_t max_running, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_mode(mode, err));
    if (max_running < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "max_running", "must be >= 0");
    return s->ops->strategy_limit_set(s, mode, max_running, err);
}

/* ==== paper trading (store.h) ==== */

int store_funds_set(struct store *s, int64_t account_id, int64_t initial_capital_px, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    if (initial_capital_px < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "initial_capital", "must be >= 0");
    return s->ops->funds_set(s, account_id, initial_capital_px, err);
}

int store_funds_get(struct store *s, int64_t account_id, struct store_funds *out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_ptr(out, "out", err));
    return s->ops->funds_get(s, account_id, out, err);
}

int store_funds_list(struct store *s, const struct store_page *page, struct store_funds *out,
                     struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_page(page, out, res, err));
    return s->ops->funds_list(s, page, out, res, err);
}

/* The text fields every order row needs, checked in one place for insert and update. */
static int need_order_change(const struct store_order_change *c, struct atp_err *err)
{
    TRY(need_ptr(c, "change", err));
    TRY(need_id(c->account_id, "account_id", err));
    TRY(need_id(c->order_id, "order_id", err));
    TRY(need_str(c->state, sizeof c->state, 1, "state", err));
    TRY(need_str(c->reason, sizeof c->reason, 0, "reason", err));
    if (c->qty <= 0 || c->filled_qty < 0 || c->filled_qty > c->qty)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, c->qty <= 0 ? "qty" : "filled_qty",
                           "needs 0 <= filled_qty <= qty and qty > 0");
    if (c->price_px < 0 || c->trigger_px < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, c->price_px < 0 ? "price" : "trigger_price",
                           "must be >= 0");
    return ATP_OK;
}

int store_order_insert(struct store *s, const struct store_order *o, int64_t *id_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(o, "order", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_id(o->account_id, "account_id", err));
    if (o->strategy_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "strategy_id", "must be >= 0");
    if (o->qty <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "qty", "must be > 0");
    if (o->price_px < 0 || o->trigger_px < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, o->price_px < 0 ? "price" : "trigger_price",
                           "must be >= 0");
    TRY(need_str(o->mode, sizeof o->mode, 1, "mode", err));
    TRY(need_str(o->client_key, sizeof o->client_key, 0, "client_key", err));
    TRY(need_str(o->tag, sizeof o->tag, 0, "tag", err));
    TRY(need_str(o->symbol, sizeof o->symbol, 1, "symbol", err));
    TRY(need_str(o->side, sizeof o->side, 1, "side", err));
    TRY(need_str(o->type, sizeof o->type, 1, "type", err));
    TRY(need_str(o->product, sizeof o->product, 1, "product", err));
    TRY(need_str(o->validity, sizeof o->validity, 1, "validity", err));
    TRY(need_str(o->state, sizeof o->state, 1, "state", err));
    return s->ops->order_insert(s, o, id_out, err);
}

int store_order_get(struct store *s, int64_t account_id, int64_t order_id, struct store_order *out,
                    struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(order_id, "order_id", err));
    TRY(need_ptr(out, "out", err));
    return s->ops->order_get(s, account_id, order_id, out, err);
}

int store_order_find_key(struct store *s, int64_t account_id, const char *client_key,
                         struct store_order *out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_str(client_key, STORE_CLIENT_KEY_MAX, 1, "client_key", err));
    TRY(need_ptr(out, "out", err));
    return s->ops->order_find_key(s, account_id, client_key, out, err);
}

int store_order_list(struct store *s, const struct store_order_filter *f, const struct store_page *page,
                     struct store_order *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(f, "filter", err));
    TRY(need_page(page, out, res, err));
    if (f->account_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "account_id", "must be >= 0");
    TRY(need_str(f->state, sizeof f->state, 0, "state", err));
    return s->ops->order_list(s, f, page, out, res, err);
}

int store_order_update(struct store *s, const struct store_order_change *c, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_order_change(c, err));
    return s->ops->order_update(s, c, err);
}

int store_order_history(struct store *s, int64_t account_id, int64_t order_id, struct store_order_hist *out,
                        uint32_t cap, uint32_t *count_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(account_id, "account_id", err));
    TRY(need_id(order_id, "order_id", err));
    TRY(need_ptr(out, "out", err));
    TRY(need_ptr(count_out, "count_out", err));
    *count_out = 0;
    return s->ops->order_history(s, account_id, order_id, out, cap, count_out, err);
}

int store_fill_record(struct store *s, const struct store_fill *f, const struct store_order_change *c,
                      int64_t *id_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(f, "fill", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_order_change(c, err));
    if (f->order_id != c->order_id || f->account_id != c->account_id)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "order_id", "the fill and the change name different orders");
    if (f->qty <= 0 || f->price_px <= 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, f->qty <= 0 ? "qty" : "price", "must be > 0");
    if (f->strategy_id < 0 || f->charges_px < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, f->strategy_id < 0 ? "strategy_id" : "charges",
                           "must be >= 0");
    TRY(need_str(f->mode, sizeof f->mode, 1, "mode", err));
    TRY(need_str(f->venue_id, sizeof f->venue_id, 1, "venue_id", err));
    TRY(need_str(f->symbol, sizeof f->symbol, 1, "symbol", err));
    TRY(need_str(f->side, sizeof f->side, 1, "side", err));
    TRY(need_str(f->product, sizeof f->product, 1, "product", err));
    return s->ops->fill_record(s, f, c, id_out, err);
}

int store_fill_list(struct store *s, int64_t account_id, const struct store_page *page, struct store_fill *out,
                    struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_page(page, out, res, err));
    if (account_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "account_id", "must be >= 0");
    return s->ops->fill_list(s, account_id, page, out, res, err);
}

int store_kill_switch_set(struct store *s, const struct store_kill_switch *k, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(k, "kill_switch", err));
    if (k->account_id < 0 || k->set_by < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, k->account_id < 0 ? "account_id" : "set_by",
                           "must be >= 0");
    TRY(need_str(k->state, sizeof k->state, 1, "state", err));
    TRY(need_str(k->reason, sizeof k->reason, 0, "reason", err));
    return s->ops->kill_switch_set(s, k, err);
}

int store_kill_switch_get(struct store *s, int64_t account_id, struct store_kill_switch *out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(out, "out", err));
    if (account_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "account_id", "must be >= 0");
    return s->ops->kill_switch_get(s, account_id, out, err);
}

int store_kill_switch_list(struct store *s, const struct store_page *page, struct store_kill_switch *out,
                           struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_page(page, out, res, err));
    return s->ops->kill_switch_list(s, page, out, res, err);
}

/* ==== backtests ==== */

static const char *const bt_status_names[] = {"queued", "running", "done", "failed", "cancelled"};

const char *store_bt_status_name(int status) { return NAME_OF(bt_status_names, status); }

int store_backtest_create(struct store *s, const struct store_backtest *b, int64_t *id_out,
                          struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(b, "backtest", err));
    TRY(need_ptr(id_out, "id_out", err));
    TRY(need_id(b->user_id, "user_id", err));
    if (b->account_id < 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "account_id", "must be 0 (none) or a positive id");
    TRY(need_str(b->strategy, sizeof b->strategy, 1, "strategy", err));
    TRY(need_str(b->source, sizeof b->source, 1, "source", err));
    TRY(need_str(b->request, sizeof b->request, 1, "request", err));
    return s->ops->backtest_create(s, b, id_out, err);
}

int store_backtest_get(struct store *s, int64_t backtest_id, struct store_backtest *out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(backtest_id, "backtest_id", err));
    TRY(need_ptr(out, "out", err));
    memset(out, 0, sizeof *out);
    return s->ops->backtest_get(s, backtest_id, out, err);
}

int store_backtest_list(struct store *s, int64_t user_id, const struct store_page *page,
                        struct store_backtest *out, struct store_page_out *res, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(user_id, "user_id", err));
    TRY(need_page(page, out, res, err));
    return s->ops->backtest_list(s, user_id, page, out, res, err);
}

int store_backtest_start(struct store *s, int64_t backtest_id, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(backtest_id, "backtest_id", err));
    return s->ops->backtest_start(s, backtest_id, err);
}

int store_backtest_progress(struct store *s, int64_t backtest_id, int32_t progress_ppm, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(backtest_id, "backtest_id", err));
    if (progress_ppm < 0 || progress_ppm > STORE_BT_PROGRESS_FULL)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "progress_ppm", "must be 0..%d, got %d",
                           STORE_BT_PROGRESS_FULL, (int)progress_ppm);
    return s->ops->backtest_progress(s, backtest_id, progress_ppm, err);
}

int store_backtest_finish(struct store *s, int64_t backtest_id, int status, const char *error,
                          const char *metrics, const char *result_json, const char *report_html,
                          struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_id(backtest_id, "backtest_id", err));
    if (status != STORE_BT_DONE && status != STORE_BT_FAILED && status != STORE_BT_CANCELLED)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "status", "must be done, failed or cancelled");
    if (error)
        TRY(need_str(error, STORE_BT_ERROR_MAX, 0, "error", err));
    if (metrics)
        TRY(need_str(metrics, STORE_BT_METRICS_MAX, 0, "metrics", err));
    return s->ops->backtest_finish(s, backtest_id, status, error ? error : "", metrics ? metrics : "",
                                   result_json, report_html, err);
}

int store_backtest_document(struct store *s, int64_t backtest_id, int doc, char **out, size_t *len_out,
                            struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_ptr(out, "out", err));
    *out = NULL;
    if (len_out)
        *len_out = 0;
    TRY(need_id(backtest_id, "backtest_id", err));
    if (doc != STORE_BT_DOC_RESULT && doc != STORE_BT_DOC_REPORT)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "document", "unknown document %d", doc);
    size_t len = 0;
    int rc = s->ops->backtest_document(s, backtest_id, doc, out, &len, err);
    if (rc == ATP_OK && len_out)
        *len_out = len;
    return rc;
}

int store_backtest_interrupt(struct store *s, const char *reason, int *count_out, struct atp_err *err)
{
    TRY(need_store(s, err));
    TRY(need_str(reason, STORE_BT_ERROR_MAX, 1, "reason", err));
    int n = 0;
    int rc = s->ops->backtest_interrupt(s, reason, &n, err);
    if (count_out)
        *count_out = rc == ATP_OK ? n : 0;
    return rc;
}
