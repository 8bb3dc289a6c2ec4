/* The store integration suite (see store_suite.h): every operation's happy path and errors,
 * pagination boundaries, tenancy, migrations, persistence across reopen, SQL metacharacters,
 * and no leaked allocations. Written against store.h only. */
#include "store_suite.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "store/store.h"

#define T0 1700000000000000000LL

struct ctx {
    const struct store_suite_env *env;
    struct store *s;
    long live0;
    int64_t clock;
    char url[512];
};

/* A deterministic clock: each read moves 1 us forward. */
static int64_t step_clock(void *p)
{
    int64_t *t = p;
    return *t += 1000;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        atp_err_clear(&err);                                                                       \
        int rc_ = (call);                                                                          \
        cr_assert_eq(rc_, ATP_OK, "%s: %s (field '%s': %s)", #call, atp_status_name(rc_), err.field, \
                     err.msg);                                                                     \
    } while (0)

#define FAILS(call, want_code, fieldname)                                                               \
    do {                                                                                           \
        atp_err_clear(&err);                                                                       \
        int rc_ = (call);                                                                          \
        cr_assert_eq(rc_, (want_code), "%s: got %s, want %s (%s)", #call, atp_status_name(rc_),         \
                     atp_status_name(want_code), err.msg);                                              \
        cr_assert_eq(err.code, (want_code), "%s: err.code", #call);                                     \
        cr_assert_str_eq(err.field, (fieldname), "%s: field", #call);                              \
    } while (0)

static void open_store(struct ctx *c)
{
    struct atp_err err;
    OK(store_open(c->url, &c->s, &err));
    cr_assert_str_eq(store_backend(c->s), c->env->backend);
    store_set_clock(c->s, step_clock, &c->clock);
}

static void begin(struct ctx *c, const struct store_suite_env *env)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->live0 = atp_alloc_live();
    c->clock = T0;
    env->fresh_url(c->url, sizeof c->url);
    open_store(c);
    struct atp_err err;
    OK(store_migrate(c->s, NULL, &err));
}

static void reopen(struct ctx *c)
{
    store_close(c->s);
    c->s = NULL;
    open_store(c);
}

static void end(struct ctx *c)
{
    store_close(c->s);
    c->s = NULL;
    cr_assert_eq(atp_alloc_live(), c->live0, "leaked %ld allocations", atp_alloc_live() - c->live0);
}

static void fill_user(struct store_user *u, const char *email, const char *name, int role)
{
    memset(u, 0, sizeof *u);
    snprintf(u->email, sizeof u->email, "%s", email);
    snprintf(u->name, sizeof u->name, "%s", name);
    snprintf(u->password_hash, sizeof u->password_hash, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA");
    u->role = role;
    u->status = STORE_USER_ACTIVE;
}

static int64_t add_user(struct ctx *c, const char *email, int role)
{
    struct atp_err err;
    struct store_user u;
    fill_user(&u, email, "Some One", role);
    int64_t id = 0;
    OK(store_user_create(c->s, &u, &id, &err));
    cr_assert_gt(id, 0);
    return id;
}

static int64_t add_account(struct ctx *c, int64_t owner, const char *name)
{
    struct atp_err err;
    struct store_account a = {.owner_id = owner};
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.broker, sizeof a.broker, "paper");
    int64_t id = 0;
    OK(store_account_create(c->s, &a, &id, &err));
    cr_assert_gt(id, 0);
    return id;
}

/* ---- migrations and persistence ---- */

void store_suite_migrate_idempotent(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    memset(&c, 0, sizeof c);
    c.env = env;
    c.live0 = atp_alloc_live();
    c.clock = T0;
    env->fresh_url(c.url, sizeof c.url);
    open_store(&c);

    struct store_migration_status st[16];
    int known = 0;
    OK(store_migrate_status(c.s, st, 16, &known, &err));
    cr_assert_geq(known, 1);
    cr_assert_leq(known, 16);
    for (int i = 0; i < known; i++)
        cr_assert_eq(st[i].applied_ns, 0, "version %d pending before migrate", st[i].version);
    cr_assert_eq(st[0].version, 1);
    cr_assert_str_eq(st[0].name, "initial");

    int applied = -1;
    OK(store_migrate(c.s, &applied, &err));
    cr_assert_eq(applied, known);
    OK(store_migrate(c.s, &applied, &err));
    cr_assert_eq(applied, 0, "second migrate applies nothing");

    reopen(&c);
    OK(store_migrate(c.s, &applied, &err));
    cr_assert_eq(applied, 0, "migrate after reopen applies nothing");
    int known2 = 0;
    OK(store_migrate_status(c.s, st, 16, &known2, &err));
    cr_assert_eq(known2, known);
    for (int i = 0; i < known; i++) {
        cr_assert_gt(st[i].applied_ns, T0, "version %d applied once, at its first migrate", st[i].version);
        cr_assert_lt(st[i].applied_ns, T0 + 1000000, "applied time is the first run's");
        if (i)
            cr_assert_gt(st[i].version, st[i - 1].version);
    }
    /* A short out array: only cap entries are written, the count is still the total. */
    OK(store_migrate_status(c.s, st, 0, &known2, &err));
    cr_assert_eq(known2, known);
    end(&c);
}

void store_suite_reopen_keeps_data(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t uid = add_user(&c, "Persist@Example.com", STORE_ROLE_TRADER);
    int64_t acc = add_account(&c, uid, "Main");
    reopen(&c);
    struct store_user u;
    OK(store_user_get_by_email(c.s, "persist@example.com", &u, &err));
    cr_assert_eq(u.id, uid);
    cr_assert_str_eq(u.email, "Persist@Example.com");
    struct store_account a;
    OK(store_account_get(c.s, acc, &a, &err));
    cr_assert_str_eq(a.name, "Main");
    cr_assert_eq(a.owner_id, uid);
    /* New ids continue after the old ones. */
    int64_t uid2 = add_user(&c, "second@example.com", STORE_ROLE_INVESTOR);
    cr_assert_gt(uid2, uid);
    end(&c);
}

/* ---- users ---- */

void store_suite_users_crud(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    struct store_user u;
    fill_user(&u, "Asha.Rao@Example.IN", "Asha Rao", STORE_ROLE_TRADER);
    int64_t id = 0;
    OK(store_user_create(c.s, &u, &id, &err));

    struct store_user dup;
    fill_user(&dup, "asha.rao@example.in", "Other", STORE_ROLE_INVESTOR);
    int64_t id2 = 0;
    FAILS(store_user_create(c.s, &dup, &id2, &err), ATP_EEXIST, "email");
    fill_user(&dup, "ASHA.RAO@EXAMPLE.IN", "Other", STORE_ROLE_INVESTOR);
    FAILS(store_user_create(c.s, &dup, &id2, &err), ATP_EEXIST, "email");

    struct store_user got;
    OK(store_user_get(c.s, id, &got, &err));
    cr_assert_eq(got.id, id);
    cr_assert_str_eq(got.email, "Asha.Rao@Example.IN");
    cr_assert_str_eq(got.name, "Asha Rao");
    cr_assert_str_eq(got.password_hash, u.password_hash);
    cr_assert_eq(got.role, STORE_ROLE_TRADER);
    cr_assert_eq(got.status, STORE_USER_ACTIVE);
    cr_assert_eq(got.failed_logins, 0);
    cr_assert_eq(got.locked_until_ns, 0);
    cr_assert_eq(got.totp_secret_len, 0);
    cr_assert_eq(got.totp_enabled, 0);
    cr_assert_gt(got.created_ns, T0);
    cr_assert_eq(got.updated_ns, got.created_ns);

    OK(store_user_get_by_email(c.s, "aSHA.rao@example.in", &got, &err));
    cr_assert_eq(got.id, id);
    FAILS(store_user_get(c.s, id + 100, &got, &err), ATP_ENOTFOUND, "user_id");
    FAILS(store_user_get_by_email(c.s, "nobody@example.in", &got, &err), ATP_ENOTFOUND, "email");

    /* Each field group alone leaves the others. */
    struct store_user v;
    memset(&v, 0, sizeof v);
    v.role = STORE_ROLE_ADMIN;
    OK(store_user_update(c.s, id, STORE_USER_F_ROLE, &v, &err));
    v.status = STORE_USER_DISABLED;
    OK(store_user_update(c.s, id, STORE_USER_F_STATUS, &v, &err));
    v.failed_logins = 5;
    v.locked_until_ns = T0 + 900000000000LL;
    OK(store_user_update(c.s, id, STORE_USER_F_LOCKOUT, &v, &err));
    const uint8_t secret[] = {0x00, 0xff, 0x27, 0x3b, 0x00, 0x10};
    memcpy(v.totp_secret, secret, sizeof secret);
    v.totp_secret_len = sizeof secret;
    v.totp_enabled = 1;
    OK(store_user_update(c.s, id, STORE_USER_F_TOTP, &v, &err));
    OK(store_user_get(c.s, id, &got, &err));
    cr_assert_eq(got.role, STORE_ROLE_ADMIN);
    cr_assert_eq(got.status, STORE_USER_DISABLED);
    cr_assert_eq(got.failed_logins, 5);
    cr_assert_eq(got.locked_until_ns, T0 + 900000000000LL);
    cr_assert_eq(got.totp_secret_len, sizeof secret);
    cr_assert_arr_eq(got.totp_secret, secret, sizeof secret);
    cr_assert_eq(got.totp_enabled, 1);
    cr_assert_str_eq(got.name, "Asha Rao", "name untouched");
    cr_assert_str_eq(got.password_hash, u.password_hash, "password untouched");
    cr_assert_gt(got.updated_ns, got.created_ns);

    snprintf(v.password_hash, sizeof v.password_hash, "$argon2id$new");
    snprintf(v.name, sizeof v.name, "Asha R.");
    v.totp_secret_len = 0;
    v.totp_enabled = 0;
    OK(store_user_update(c.s, id, STORE_USER_F_PASSWORD | STORE_USER_F_NAME | STORE_USER_F_TOTP, &v, &err));
    OK(store_user_get(c.s, id, &got, &err));
    cr_assert_str_eq(got.password_hash, "$argon2id$new");
    cr_assert_str_eq(got.name, "Asha R.");
    cr_assert_eq(got.totp_secret_len, 0);
    cr_assert_eq(got.totp_enabled, 0);
    cr_assert_eq(got.role, STORE_ROLE_ADMIN, "role untouched");

    FAILS(store_user_update(c.s, id + 100, STORE_USER_F_ROLE, &v, &err), ATP_ENOTFOUND, "user_id");
    end(&c);
}

void store_suite_users_validation(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    struct store_user u;
    int64_t id = 0;
    fill_user(&u, "no-at-sign", "X", STORE_ROLE_TRADER);
    FAILS(store_user_create(c.s, &u, &id, &err), ATP_EINVAL, "email");
    fill_user(&u, "a@b.c", "", STORE_ROLE_TRADER);
    FAILS(store_user_create(c.s, &u, &id, &err), ATP_EINVAL, "name");
    fill_user(&u, "a@b.c", "X", STORE_ROLE_TRADER);
    memset(u.name, 'n', sizeof u.name); /* not terminated inside its buffer */
    FAILS(store_user_create(c.s, &u, &id, &err), ATP_EINVAL, "name");
    fill_user(&u, "a@b.c", "X", 7);
    FAILS(store_user_create(c.s, &u, &id, &err), ATP_EINVAL, "role");
    fill_user(&u, "a@b.c", "X", STORE_ROLE_TRADER);
    u.password_hash[0] = '\0';
    FAILS(store_user_create(c.s, &u, &id, &err), ATP_EINVAL, "password_hash");
    fill_user(&u, "a@b.c", "X", STORE_ROLE_TRADER);
    u.totp_enabled = 1;
    FAILS(store_user_create(c.s, &u, &id, &err), ATP_EINVAL, "totp_secret");
    fill_user(&u, "a@b.c", "X", STORE_ROLE_TRADER);
    u.totp_secret_len = STORE_TOTP_MAX + 1;
    FAILS(store_user_create(c.s, &u, &id, &err), ATP_EINVAL, "totp_secret");
    fill_user(&u, "a@b.c", "X", STORE_ROLE_TRADER);
    u.failed_logins = -1;
    FAILS(store_user_create(c.s, &u, &id, &err), ATP_EINVAL, "failed_logins");
    FAILS(store_user_create(c.s, NULL, &id, &err), ATP_EINVAL, "user");
    FAILS(store_user_get(c.s, 0, &u, &err), ATP_EINVAL, "user_id");
    FAILS(store_user_update(c.s, 1, 0, &u, &err), ATP_EINVAL, "fields");
    FAILS(store_user_update(c.s, 1, 1u << 20, &u, &err), ATP_EINVAL, "fields");
    /* Nothing was stored by the refused calls. */
    struct store_user page_out[2];
    struct store_page_out res;
    OK(store_user_list(c.s, &(struct store_page){0, 2}, page_out, &res, &err));
    cr_assert_eq(res.count, 0);
    end(&c);
}

void store_suite_users_pagination(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    struct store_user out[4];
    struct store_page_out res;
    OK(store_user_list(c.s, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(res.count, 0, "empty table");
    cr_assert_eq(res.next_cursor, 0);

    int64_t ids[7];
    for (int i = 0; i < 7; i++) {
        char email[64];
        snprintf(email, sizeof email, "user%d@example.com", i);
        ids[i] = add_user(&c, email, STORE_ROLE_INVESTOR);
    }
    /* 7 users in pages of 3: 3, 3, 1. */
    struct store_page p = {0, 3};
    int seen = 0;
    for (int page = 0; page < 3; page++) {
        OK(store_user_list(c.s, &p, out, &res, &err));
        cr_assert_eq(res.count, page < 2 ? 3u : 1u, "page %d", page);
        for (uint32_t i = 0; i < res.count; i++)
            cr_assert_eq(out[i].id, ids[seen++]);
        if (page < 2)
            cr_assert_eq(res.next_cursor, out[res.count - 1].id);
        else
            cr_assert_eq(res.next_cursor, 0, "last page has no next");
        p.cursor = res.next_cursor;
    }
    cr_assert_eq(seen, 7);
    /* A page that ends exactly at the last row says there is no more. */
    OK(store_user_list(c.s, &(struct store_page){ids[3], 3}, out, &res, &err));
    cr_assert_eq(res.count, 3);
    cr_assert_eq(res.next_cursor, 0);
    /* Limit 1 walks one at a time; a cursor past the end is an empty page. */
    OK(store_user_list(c.s, &(struct store_page){ids[5], 1}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, ids[6]);
    cr_assert_eq(res.next_cursor, 0);
    OK(store_user_list(c.s, &(struct store_page){ids[6], 1}, out, &res, &err));
    cr_assert_eq(res.count, 0);

    FAILS(store_user_list(c.s, &(struct store_page){0, 0}, out, &res, &err), ATP_EINVAL, "limit");
    FAILS(store_user_list(c.s, &(struct store_page){0, STORE_PAGE_MAX + 1}, out, &res, &err), ATP_EINVAL,
          "limit");
    FAILS(store_user_list(c.s, &(struct store_page){-1, 3}, out, &res, &err), ATP_EINVAL, "cursor");
    end(&c);
}

/* ---- refresh tokens ---- */

static int64_t add_token(struct ctx *c, int64_t user, const char *family, const char *hash)
{
    struct atp_err err;
    struct store_refresh_token t = {.user_id = user, .expires_ns = T0 + 86400000000000LL};
    snprintf(t.family_id, sizeof t.family_id, "%s", family);
    snprintf(t.token_hash, sizeof t.token_hash, "%s", hash);
    int64_t id = 0;
    OK(store_token_insert(c->s, &t, &id, &err));
    return id;
}

void store_suite_tokens(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t u1 = add_user(&c, "t1@example.com", STORE_ROLE_TRADER);
    int64_t u2 = add_user(&c, "t2@example.com", STORE_ROLE_TRADER);
    int64_t a = add_token(&c, u1, "famA", "hashA1");
    int64_t a2 = add_token(&c, u1, "famA", "hashA2");
    int64_t b = add_token(&c, u1, "famB", "hashB1");
    int64_t other = add_token(&c, u2, "famA", "hashO1");

    struct store_refresh_token t = {.user_id = u1, .expires_ns = T0 + 1};
    snprintf(t.family_id, sizeof t.family_id, "famC");
    snprintf(t.token_hash, sizeof t.token_hash, "hashA1");
    int64_t id = 0;
    FAILS(store_token_insert(c.s, &t, &id, &err), ATP_EEXIST, "token_hash");
    snprintf(t.token_hash, sizeof t.token_hash, "fresh");
    t.user_id = u2 + 100;
    FAILS(store_token_insert(c.s, &t, &id, &err), ATP_ENOTFOUND, "user_id");
    t.user_id = u1;
    t.expires_ns = 0;
    FAILS(store_token_insert(c.s, &t, &id, &err), ATP_EINVAL, "expires_ns");

    struct store_refresh_token got;
    OK(store_token_find(c.s, "hashA1", &got, &err));
    cr_assert_eq(got.id, a);
    cr_assert_eq(got.user_id, u1);
    cr_assert_str_eq(got.family_id, "famA");
    cr_assert_eq(got.expires_ns, T0 + 86400000000000LL);
    cr_assert_eq(got.revoked_ns, 0);
    cr_assert_eq(got.replaced_by, 0);
    FAILS(store_token_find(c.s, "HASHA1", &got, &err), ATP_ENOTFOUND, "token_hash");

    /* Rotation: a replaced by a2. */
    OK(store_token_revoke(c.s, u1, a, a2, &err));
    OK(store_token_find(c.s, "hashA1", &got, &err));
    cr_assert_gt(got.revoked_ns, 0);
    cr_assert_eq(got.replaced_by, a2);
    int64_t first_revoked = got.revoked_ns;
    OK(store_token_revoke(c.s, u1, a, 0, &err));
    OK(store_token_find(c.s, "hashA1", &got, &err));
    cr_assert_eq(got.revoked_ns, first_revoked, "first revocation time kept");
    cr_assert_eq(got.replaced_by, a2, "replaced_by kept");
    FAILS(store_token_revoke(c.s, u2, a2, 0, &err), ATP_ENOTFOUND, "token_id"); /* not u2's */
    FAILS(store_token_revoke(c.s, u1, other + 100, 0, &err), ATP_ENOTFOUND, "token_id");
    FAILS(store_token_revoke(c.s, u1, a2, other + 100, &err), ATP_ENOTFOUND, "replaced_by");

    /* Reuse detected: the family goes; u2's token of a same-named family stays. */
    int n = -1;
    OK(store_token_revoke_family(c.s, u1, "famA", &n, &err));
    cr_assert_eq(n, 1, "only a2 was still live");
    OK(store_token_find(c.s, "hashO1", &got, &err));
    cr_assert_eq(got.revoked_ns, 0);
    OK(store_token_find(c.s, "hashB1", &got, &err));
    cr_assert_eq(got.revoked_ns, 0);

    int64_t b2 = add_token(&c, u1, "famB", "hashB2");
    int64_t d = add_token(&c, u1, "famD", "hashD1");
    OK(store_token_revoke_all_except(c.s, u1, d, &n, &err));
    cr_assert_eq(n, 2, "b and b2");
    OK(store_token_find(c.s, "hashD1", &got, &err));
    cr_assert_eq(got.revoked_ns, 0);
    OK(store_token_find(c.s, "hashB2", &got, &err));
    cr_assert_eq(got.id, b2);
    cr_assert_gt(got.revoked_ns, 0);
    OK(store_token_revoke_all_except(c.s, u1, 0, &n, &err));
    cr_assert_eq(n, 1, "d");
    OK(store_token_revoke_all_except(c.s, u1, 0, &n, &err));
    cr_assert_eq(n, 0);
    OK(store_token_find(c.s, "hashO1", &got, &err));
    cr_assert_eq(got.revoked_ns, 0, "other user untouched");
    (void)b;
    end(&c);
}

/* ==== sessions ==== */

static void add_session(struct ctx *c, int64_t user, const char *id)
{
    struct atp_err err;
    struct store_session ss = {.user_id = user};
    snprintf(ss.id, sizeof ss.id, "%s", id);
    snprintf(ss.ip, sizeof ss.ip, "10.0.0.1");
    snprintf(ss.user_agent, sizeof ss.user_agent, "curl/8 'quoted'");
    OK(store_session_create(c->s, &ss, &err));
}

void store_suite_sessions(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t u1 = add_user(&c, "s1@example.com", STORE_ROLE_TRADER);
    int64_t u2 = add_user(&c, "s2@example.com", STORE_ROLE_INVESTOR);
    add_session(&c, u1, "famA");
    add_session(&c, u2, "famO");
    int64_t tok_a = add_token(&c, u1, "famA", "hashA1");
    add_token(&c, u2, "famO", "hashO1");

    /* Duplicate id, absent user, bad arguments. */
    struct store_session ss = {.user_id = u1};
    snprintf(ss.id, sizeof ss.id, "famA");
    FAILS(store_session_create(c.s, &ss, &err), ATP_EEXIST, "id");
    snprintf(ss.id, sizeof ss.id, "famZ");
    ss.user_id = u2 + 100;
    FAILS(store_session_create(c.s, &ss, &err), ATP_ENOTFOUND, "user_id");
    ss.id[0] = 0;
    ss.user_id = u1;
    FAILS(store_session_create(c.s, &ss, &err), ATP_EINVAL, "id");

    /* Read back, with the user's current role and status from the same read. */
    struct store_session got;
    int role = -1, status = -1;
    OK(store_session_get(c.s, "famA", &got, &role, &status, &err));
    cr_assert_str_eq(got.id, "famA");
    cr_assert_eq(got.user_id, u1);
    cr_assert_gt(got.created_ns, T0);
    cr_assert_eq(got.last_seen_ns, got.created_ns);
    cr_assert_eq(got.revoked_ns, 0);
    cr_assert_str_eq(got.revoke_reason, "");
    cr_assert_str_eq(got.ip, "10.0.0.1");
    cr_assert_str_eq(got.user_agent, "curl/8 'quoted'");
    cr_assert_eq(role, STORE_ROLE_TRADER);
    cr_assert_eq(status, STORE_USER_ACTIVE);
    FAILS(store_session_get(c.s, "FAMA", &got, NULL, NULL, &err), ATP_ENOTFOUND, "id");

    /* A role change and a disable show on the next read. */
    struct store_user uv = {.role = STORE_ROLE_ADMIN, .status = STORE_USER_DISABLED};
    OK(store_user_update(c.s, u1, STORE_USER_F_ROLE | STORE_USER_F_STATUS, &uv, &err));
    OK(store_session_get(c.s, "famA", &got, &role, &status, &err));
    cr_assert_eq(role, STORE_ROLE_ADMIN);
    cr_assert_eq(status, STORE_USER_DISABLED);

    /* Touch moves last_seen forward only. */
    int64_t seen = got.created_ns + 5000000000LL;
    OK(store_session_touch(c.s, "famA", seen, &err));
    OK(store_session_get(c.s, "famA", &got, NULL, NULL, &err));
    cr_assert_eq(got.last_seen_ns, seen);
    OK(store_session_touch(c.s, "famA", seen - 1, &err));
    OK(store_session_get(c.s, "famA", &got, NULL, NULL, &err));
    cr_assert_eq(got.last_seen_ns, seen, "never backwards");
    OK(store_session_touch(c.s, "nope", seen, &err)); /* nothing to do is not an error */
    FAILS(store_session_touch(c.s, "famA", 0, &err), ATP_EINVAL, "seen_ns");

    /* Revoke: scoped by user; the family's refresh tokens go with it; the first reason stays. */
    FAILS(store_session_revoke(c.s, u2, "famA", "logout", &err), ATP_ENOTFOUND, "id");
    FAILS(store_session_revoke(c.s, u1, "famA", "", &err), ATP_EINVAL, "reason");
    OK(store_session_revoke(c.s, u1, "famA", "logout", &err));
    OK(store_session_get(c.s, "famA", &got, NULL, NULL, &err));
    cr_assert_gt(got.revoked_ns, 0);
    cr_assert_str_eq(got.revoke_reason, "logout");
    int64_t first = got.revoked_ns;
    struct store_refresh_token t;
    OK(store_token_find(c.s, "hashA1", &t, &err));
    cr_assert_eq(t.id, tok_a);
    cr_assert_gt(t.revoked_ns, 0, "the family's refresh token is revoked with the session");
    OK(store_session_revoke(c.s, u1, "famA", "refresh_reuse", &err));
    OK(store_session_get(c.s, "famA", &got, NULL, NULL, &err));
    cr_assert_eq(got.revoked_ns, first);
    cr_assert_str_eq(got.revoke_reason, "logout");
    /* A revoked session is not touched. */
    OK(store_session_touch(c.s, "famA", seen + 1000, &err));
    OK(store_session_get(c.s, "famA", &got, NULL, NULL, &err));
    cr_assert_eq(got.last_seen_ns, seen);
    /* The other user's session and token are untouched. */
    OK(store_session_get(c.s, "famO", &got, NULL, NULL, &err));
    cr_assert_eq(got.revoked_ns, 0);
    OK(store_token_find(c.s, "hashO1", &t, &err));
    cr_assert_eq(t.revoked_ns, 0);

    /* SQL metacharacters in an id are data. */
    add_session(&c, u2, "x'); DROP TABLE sessions; --");
    OK(store_session_get(c.s, "x'); DROP TABLE sessions; --", &got, NULL, NULL, &err));
    cr_assert_eq(got.user_id, u2);
    reopen(&c);
    OK(store_session_get(c.s, "famO", &got, NULL, NULL, &err));
    end(&c);
}

void store_suite_sessions_revoke_others(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t u1 = add_user(&c, "r1@example.com", STORE_ROLE_TRADER);
    int64_t u2 = add_user(&c, "r2@example.com", STORE_ROLE_TRADER);
    const char *mine[] = {"keep", "other1", "other2"};
    for (int i = 0; i < 3; i++) {
        add_session(&c, u1, mine[i]);
        char hash[32];
        snprintf(hash, sizeof hash, "h-%s", mine[i]);
        add_token(&c, u1, mine[i], hash);
    }
    add_session(&c, u2, "theirs");
    add_token(&c, u2, "theirs", "h-theirs");
    OK(store_session_revoke(c.s, u1, "other2", "logout", &err));

    int n = -1;
    FAILS(store_session_revoke_others(c.s, u1, "keep", "", &n, &err), ATP_EINVAL, "reason");
    OK(store_session_revoke_others(c.s, u1, "keep", "password_change", &n, &err));
    cr_assert_eq(n, 1, "only the live other session counts");
    struct store_session got;
    struct store_refresh_token t;
    OK(store_session_get(c.s, "keep", &got, NULL, NULL, &err));
    cr_assert_eq(got.revoked_ns, 0, "the kept session lives");
    OK(store_token_find(c.s, "h-keep", &t, &err));
    cr_assert_eq(t.revoked_ns, 0, "and its refresh token");
    OK(store_session_get(c.s, "other1", &got, NULL, NULL, &err));
    cr_assert_gt(got.revoked_ns, 0);
    cr_assert_str_eq(got.revoke_reason, "password_change");
    OK(store_token_find(c.s, "h-other1", &t, &err));
    cr_assert_gt(t.revoked_ns, 0);
    OK(store_session_get(c.s, "other2", &got, NULL, NULL, &err));
    cr_assert_str_eq(got.revoke_reason, "logout", "an already revoked session keeps its reason");
    OK(store_session_get(c.s, "theirs", &got, NULL, NULL, &err));
    cr_assert_eq(got.revoked_ns, 0, "another user's session is untouched");
    OK(store_token_find(c.s, "h-theirs", &t, &err));
    cr_assert_eq(t.revoked_ns, 0);

    /* No session kept: all of them. */
    OK(store_session_revoke_others(c.s, u1, NULL, "disabled", &n, &err));
    cr_assert_eq(n, 1);
    OK(store_session_get(c.s, "keep", &got, NULL, NULL, &err));
    cr_assert_str_eq(got.revoke_reason, "disabled");
    OK(store_token_find(c.s, "h-keep", &t, &err));
    cr_assert_gt(t.revoked_ns, 0);
    OK(store_session_revoke_others(c.s, u1, "", "disabled", &n, &err));
    cr_assert_eq(n, 0);
    end(&c);
}

void store_suite_totp_step(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t u1 = add_user(&c, "t1@example.com", STORE_ROLE_TRADER);
    int64_t u2 = add_user(&c, "t2@example.com", STORE_ROLE_TRADER);
    int64_t step = 0;
    OK(store_totp_step_get(c.s, u1, &step, &err));
    cr_assert_eq(step, -1, "no code accepted yet");
    OK(store_totp_step_advance(c.s, u1, 56666666, &err));
    OK(store_totp_step_get(c.s, u1, &step, &err));
    cr_assert_eq(step, 56666666);
    FAILS(store_totp_step_advance(c.s, u1, 56666666, &err), ATP_ESTATE, "step"); /* the same code */
    FAILS(store_totp_step_advance(c.s, u1, 56666665, &err), ATP_ESTATE, "step"); /* an older one */
    OK(store_totp_step_advance(c.s, u1, 56666667, &err));
    OK(store_totp_step_get(c.s, u2, &step, &err));
    cr_assert_eq(step, -1, "per user");
    FAILS(store_totp_step_advance(c.s, u2 + 100, 1, &err), ATP_ENOTFOUND, "user_id");
    FAILS(store_totp_step_get(c.s, u2 + 100, &step, &err), ATP_ENOTFOUND, "user_id");
    FAILS(store_totp_step_advance(c.s, u1, -1, &err), ATP_EINVAL, "step");
    OK(store_totp_step_reset(c.s, u1, &err));
    OK(store_totp_step_get(c.s, u1, &step, &err));
    cr_assert_eq(step, -1);
    OK(store_totp_step_advance(c.s, u1, 0, &err));
    FAILS(store_totp_step_reset(c.s, u2 + 100, &err), ATP_ENOTFOUND, "user_id");
    end(&c);
}

/* ==== end of sessions ==== */

/* ---- accounts and tenancy ---- */

void store_suite_accounts_and_tenancy(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t owner = add_user(&c, "owner@example.com", STORE_ROLE_TRADER);
    int64_t trader = add_user(&c, "trader@example.com", STORE_ROLE_TRADER);
    int64_t investor = add_user(&c, "investor@example.com", STORE_ROLE_INVESTOR);
    int64_t stranger = add_user(&c, "stranger@example.com", STORE_ROLE_TRADER);
    int64_t acc = add_account(&c, owner, "Alpha");
    int64_t acc2 = add_account(&c, owner, "Beta");
    int64_t own_of_stranger = add_account(&c, stranger, "Stranger's");

    struct store_account a;
    OK(store_account_get(c.s, acc, &a, &err));
    cr_assert_eq(a.id, acc);
    cr_assert_eq(a.owner_id, owner);
    cr_assert_str_eq(a.name, "Alpha");
    cr_assert_str_eq(a.broker, "paper");
    cr_assert_gt(a.created_ns, T0);
    FAILS(store_account_get(c.s, own_of_stranger + 50, &a, &err), ATP_ENOTFOUND, "account_id");
    struct store_account bad = {.owner_id = stranger + 50};
    snprintf(bad.name, sizeof bad.name, "x");
    int64_t id = 0;
    FAILS(store_account_create(c.s, &bad, &id, &err), ATP_ENOTFOUND, "owner_id");
    bad.owner_id = owner;
    bad.name[0] = '\0';
    FAILS(store_account_create(c.s, &bad, &id, &err), ATP_EINVAL, "name");

    OK(store_access_grant(c.s, acc, trader, STORE_ACCESS_TRADER, &err));
    OK(store_access_grant(c.s, acc, investor, STORE_ACCESS_TRADER, &err));
    OK(store_access_grant(c.s, acc, investor, STORE_ACCESS_INVESTOR, &err)); /* changes the role */
    FAILS(store_access_grant(c.s, acc, owner, STORE_ACCESS_TRADER, &err), ATP_EINVAL, "user_id");
    FAILS(store_access_grant(c.s, acc, stranger + 50, STORE_ACCESS_TRADER, &err), ATP_ENOTFOUND, "user_id");
    FAILS(store_access_grant(c.s, own_of_stranger + 50, trader, STORE_ACCESS_TRADER, &err), ATP_ENOTFOUND,
          "account_id");
    FAILS(store_access_grant(c.s, acc, trader, STORE_ACCESS_OWNER, &err), ATP_EINVAL, "role");

    int role = -1;
    OK(store_access_role(c.s, acc, owner, &role, &err));
    cr_assert_eq(role, STORE_ACCESS_OWNER);
    OK(store_access_role(c.s, acc, trader, &role, &err));
    cr_assert_eq(role, STORE_ACCESS_TRADER);
    OK(store_access_role(c.s, acc, investor, &role, &err));
    cr_assert_eq(role, STORE_ACCESS_INVESTOR);
    OK(store_access_role(c.s, acc, stranger, &role, &err));
    cr_assert_eq(role, STORE_ACCESS_NONE);
    OK(store_access_role(c.s, acc2, trader, &role, &err));
    cr_assert_eq(role, STORE_ACCESS_NONE, "a grant on one account is not a grant on another");
    FAILS(store_access_role(c.s, own_of_stranger + 50, owner, &role, &err), ATP_ENOTFOUND, "account_id");

    struct store_account out[5];
    struct store_page_out res;
    struct store_page p = {0, 5};
    OK(store_accounts_list_for_user(c.s, owner, &p, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, acc);
    cr_assert_eq(out[1].id, acc2);
    cr_assert_eq(out[0].access, STORE_ACCESS_OWNER);
    OK(store_accounts_list_for_user(c.s, trader, &p, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, acc);
    cr_assert_eq(out[0].access, STORE_ACCESS_TRADER);
    OK(store_accounts_list_for_user(c.s, investor, &p, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].access, STORE_ACCESS_INVESTOR);
    OK(store_accounts_list_for_user(c.s, stranger, &p, out, &res, &err));
    cr_assert_eq(res.count, 1, "the stranger sees only their own account");
    cr_assert_eq(out[0].id, own_of_stranger);
    /* Pagination over owned accounts. */
    OK(store_accounts_list_for_user(c.s, owner, &(struct store_page){0, 1}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(res.next_cursor, acc);
    OK(store_accounts_list_for_user(c.s, owner, &(struct store_page){res.next_cursor, 1}, out, &res, &err));
    cr_assert_eq(out[0].id, acc2);
    cr_assert_eq(res.next_cursor, 0);

    /* Every account (an admin's view), each with the asking user's access. */
    {
        static struct store_account all[50];
        int64_t lo = acc < acc2 ? acc : acc2;
        lo = lo < own_of_stranger ? lo : own_of_stranger;
        int seen = 0;
        OK(store_accounts_list_all(c.s, trader, &(struct store_page){lo - 1, 50}, all, &res, &err));
        for (uint32_t i = 0; i < res.count; i++) {
            if (i)
                cr_assert_gt(all[i].id, all[i - 1].id, "id order");
            if (all[i].id == acc) {
                seen++;
                cr_assert_eq(all[i].access, STORE_ACCESS_TRADER);
            }
            if (all[i].id == acc2 || all[i].id == own_of_stranger) {
                seen++;
                cr_assert_eq(all[i].access, STORE_ACCESS_NONE);
            }
        }
        cr_assert_eq(seen, 3, "every account is listed");
        OK(store_accounts_list_all(c.s, owner, &(struct store_page){acc - 1, 1}, all, &res, &err));
        cr_assert_eq(all[0].id, acc);
        cr_assert_eq(all[0].access, STORE_ACCESS_OWNER);
        FAILS(store_accounts_list_all(c.s, 0, &p, out, &res, &err), ATP_EINVAL, "user_id");
    }

    OK(store_account_rename(c.s, acc, "Alpha Prime", &err));
    OK(store_account_get(c.s, acc, &a, &err));
    cr_assert_str_eq(a.name, "Alpha Prime");
    FAILS(store_account_rename(c.s, own_of_stranger + 50, "x", &err), ATP_ENOTFOUND, "account_id");
    FAILS(store_account_rename(c.s, acc, "", &err), ATP_EINVAL, "name");

    OK(store_access_revoke(c.s, acc, trader, &err));
    OK(store_accounts_list_for_user(c.s, trader, &p, out, &res, &err));
    cr_assert_eq(res.count, 0, "revoked: no longer listed");
    OK(store_access_role(c.s, acc, trader, &role, &err));
    cr_assert_eq(role, STORE_ACCESS_NONE);
    FAILS(store_access_revoke(c.s, acc, trader, &err), ATP_ENOTFOUND, "user_id");
    FAILS(store_access_revoke(c.s, acc2, investor, &err), ATP_ENOTFOUND, "user_id");
    end(&c);
}

void store_suite_access_list_pagination(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t owner = add_user(&c, "owner@example.com", STORE_ROLE_TRADER);
    int64_t acc = add_account(&c, owner, "A");
    int64_t other = add_account(&c, owner, "B");
    int64_t users[5];
    for (int i = 0; i < 5; i++) {
        char email[64];
        snprintf(email, sizeof email, "inv%d@example.com", i);
        users[i] = add_user(&c, email, STORE_ROLE_INVESTOR);
        OK(store_access_grant(c.s, acc, users[i], i % 2 ? STORE_ACCESS_TRADER : STORE_ACCESS_INVESTOR, &err));
    }
    OK(store_access_grant(c.s, other, users[0], STORE_ACCESS_TRADER, &err));
    struct store_grant out[3];
    struct store_page_out res;
    OK(store_access_list(c.s, acc, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(res.count, 3);
    cr_assert_eq(out[0].user_id, users[0]);
    cr_assert_eq(out[0].account_id, acc);
    cr_assert_eq(out[0].role, STORE_ACCESS_INVESTOR);
    cr_assert_eq(out[1].role, STORE_ACCESS_TRADER);
    cr_assert_gt(out[0].granted_ns, T0);
    cr_assert_eq(res.next_cursor, users[2]);
    OK(store_access_list(c.s, acc, &(struct store_page){res.next_cursor, 3}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[1].user_id, users[4]);
    cr_assert_eq(res.next_cursor, 0);
    OK(store_access_list(c.s, other, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(res.count, 1, "grants are per account");
    end(&c);
}

/* ---- invitations ---- */

static int64_t add_invite(struct ctx *c, int64_t acc, int64_t by, const char *email, const char *hash,
                          int64_t expires)
{
    struct atp_err err;
    struct store_invitation inv = {.account_id = acc, .created_by = by, .role = STORE_ACCESS_INVESTOR,
                                   .expires_ns = expires, .status = STORE_INVITE_ACCEPTED};
    snprintf(inv.email, sizeof inv.email, "%s", email);
    snprintf(inv.token_hash, sizeof inv.token_hash, "%s", hash);
    int64_t id = 0;
    OK(store_invite_create(c->s, &inv, &id, &err));
    return id;
}

void store_suite_invitations(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t owner = add_user(&c, "owner@example.com", STORE_ROLE_TRADER);
    int64_t acc = add_account(&c, owner, "A");
    int64_t acc2 = add_account(&c, owner, "B");
    int64_t i1 = add_invite(&c, acc, owner, "Guest@Example.com", "inv-h1", T0 + 100);
    int64_t i2 = add_invite(&c, acc, owner, "other@example.com", "inv-h2", T0 + 10000000);
    int64_t i3 = add_invite(&c, acc2, owner, "guest@EXAMPLE.com", "inv-h3", T0 + 200);

    struct store_invitation inv = {.account_id = acc, .created_by = owner, .role = STORE_ACCESS_INVESTOR,
                                   .expires_ns = T0 + 1};
    snprintf(inv.email, sizeof inv.email, "x@example.com");
    snprintf(inv.token_hash, sizeof inv.token_hash, "inv-h1");
    int64_t id = 0;
    FAILS(store_invite_create(c.s, &inv, &id, &err), ATP_EEXIST, "token_hash");
    snprintf(inv.token_hash, sizeof inv.token_hash, "inv-new");
    inv.account_id = acc2 + 50;
    FAILS(store_invite_create(c.s, &inv, &id, &err), ATP_ENOTFOUND, "account_id");
    inv.account_id = acc;
    inv.created_by = owner + 50;
    FAILS(store_invite_create(c.s, &inv, &id, &err), ATP_ENOTFOUND, "created_by");
    inv.created_by = owner;
    inv.role = STORE_ACCESS_OWNER;
    FAILS(store_invite_create(c.s, &inv, &id, &err), ATP_EINVAL, "role");

    struct store_invitation out[4];
    struct store_page_out res;
    OK(store_invite_list_for_account(c.s, acc, &(struct store_page){0, 4}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, i1);
    cr_assert_eq(out[0].status, STORE_INVITE_PENDING, "created pending whatever the caller set");
    cr_assert_eq(out[0].role, STORE_ACCESS_INVESTOR);
    cr_assert_str_eq(out[0].email, "Guest@Example.com");
    cr_assert_eq(out[0].created_by, owner);
    cr_assert_eq(out[0].expires_ns, T0 + 100);
    cr_assert_eq(out[1].id, i2);
    OK(store_invite_list_for_account(c.s, acc, &(struct store_page){0, 1}, out, &res, &err));
    cr_assert_eq(res.next_cursor, i1);

    OK(store_invite_list_for_email(c.s, "GUEST@example.COM", &(struct store_page){0, 4}, out, &res, &err));
    cr_assert_eq(res.count, 2, "both accounts' invitations to that address");
    cr_assert_eq(out[0].id, i1);
    cr_assert_eq(out[1].id, i3);

    OK(store_invite_find(c.s, "inv-h2", &out[0], &err));
    cr_assert_eq(out[0].id, i2);
    FAILS(store_invite_find(c.s, "nope", &out[0], &err), ATP_ENOTFOUND, "token_hash");

    OK(store_invite_set_status(c.s, acc, i2, STORE_INVITE_ACCEPTED, &err));
    OK(store_invite_find(c.s, "inv-h2", &out[0], &err));
    cr_assert_eq(out[0].status, STORE_INVITE_ACCEPTED);
    cr_assert_gt(out[0].updated_ns, out[0].created_ns);
    FAILS(store_invite_set_status(c.s, acc, i2, STORE_INVITE_REVOKED, &err), ATP_ESTATE, "status");
    FAILS(store_invite_set_status(c.s, acc2, i1, STORE_INVITE_REVOKED, &err), ATP_ENOTFOUND,
          "invitation_id"); /* i1 is acc's */
    FAILS(store_invite_set_status(c.s, acc, i1, STORE_INVITE_PENDING, &err), ATP_EINVAL, "status");
    FAILS(store_invite_set_status(c.s, acc, i1, 99, &err), ATP_EINVAL, "status");

    /* Expiry at T0 + 150: i1 (T0+100) expires; i3 (T0+200) stays; i2 is no longer pending. */
    int n = -1;
    OK(store_invite_expire(c.s, T0 + 150, &n, &err));
    cr_assert_eq(n, 1);
    OK(store_invite_find(c.s, "inv-h1", &out[0], &err));
    cr_assert_eq(out[0].status, STORE_INVITE_EXPIRED);
    OK(store_invite_find(c.s, "inv-h3", &out[0], &err));
    cr_assert_eq(out[0].status, STORE_INVITE_PENDING);
    OK(store_invite_expire(c.s, T0 + 200, &n, &err));
    cr_assert_eq(n, 1, "expires_ns <= now expires");
    OK(store_invite_expire(c.s, T0 + 100000000, &n, &err));
    cr_assert_eq(n, 0);
    OK(store_invite_find(c.s, "inv-h2", &out[0], &err));
    cr_assert_eq(out[0].status, STORE_INVITE_ACCEPTED, "accepted is never expired");

    /* Accepting: status and grant together, or neither. */
    int64_t guest = add_user(&c, "guest@example.com", STORE_ROLE_INVESTOR);
    int64_t i4 = add_invite(&c, acc, owner, "guest@example.com", "inv-h4", T0 + 100000000000LL);
    int64_t i5 = add_invite(&c, acc, owner, "owner@example.com", "inv-h5", T0 + 100000000000LL);
    int role = -1;
    FAILS(store_invite_accept(c.s, acc, i4, guest + 50, &err), ATP_ENOTFOUND, "user_id");
    OK(store_invite_find(c.s, "inv-h4", &out[0], &err));
    cr_assert_eq(out[0].status, STORE_INVITE_PENDING, "rolled back with the failed grant");
    FAILS(store_invite_accept(c.s, acc, i5, owner, &err), ATP_EINVAL, "user_id");
    OK(store_invite_find(c.s, "inv-h5", &out[0], &err));
    cr_assert_eq(out[0].status, STORE_INVITE_PENDING);
    FAILS(store_invite_accept(c.s, acc2, i4, guest, &err), ATP_ENOTFOUND, "invitation_id");
    OK(store_invite_accept(c.s, acc, i4, guest, &err));
    OK(store_access_role(c.s, acc, guest, &role, &err));
    cr_assert_eq(role, STORE_ACCESS_INVESTOR);
    OK(store_invite_find(c.s, "inv-h4", &out[0], &err));
    cr_assert_eq(out[0].status, STORE_INVITE_ACCEPTED);
    FAILS(store_invite_accept(c.s, acc, i4, guest, &err), ATP_ESTATE, "status");
    FAILS(store_invite_accept(c.s, acc, i1, guest, &err), ATP_ESTATE, "status"); /* expired */
    end(&c);
}

/* ---- broker connections ---- */

void store_suite_broker_connections(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t owner = add_user(&c, "owner@example.com", STORE_ROLE_TRADER);
    int64_t acc = add_account(&c, owner, "A");
    int64_t acc2 = add_account(&c, owner, "B");

    struct store_broker_conn conn = {.account_id = acc};
    snprintf(conn.broker, sizeof conn.broker, "kite");
    snprintf(conn.key_id, sizeof conn.key_id, "vault-key-1");
    snprintf(conn.masked, sizeof conn.masked, "api key ****7f2a");
    static struct store_broker_secret sec; /* 4 KiB: not on the stack */
    memset(&sec, 0, sizeof sec);
    for (uint32_t i = 0; i < 300; i++)
        sec.ciphertext[i] = (uint8_t)(i * 7); /* includes zero bytes */
    sec.ciphertext_len = 300;
    for (uint32_t i = 0; i < 24; i++)
        sec.nonce[i] = (uint8_t)(255 - i);
    sec.nonce_len = 24;
    int64_t c1 = 0, c2 = 0, c3 = 0;
    OK(store_broker_create(c.s, &conn, &sec, &c1, &err));
    snprintf(conn.broker, sizeof conn.broker, "angel");
    OK(store_broker_create(c.s, &conn, &sec, &c2, &err));
    conn.account_id = acc2;
    OK(store_broker_create(c.s, &conn, &sec, &c3, &err));
    conn.account_id = acc2 + 50;
    int64_t id = 0;
    FAILS(store_broker_create(c.s, &conn, &sec, &id, &err), ATP_ENOTFOUND, "account_id");
    conn.account_id = acc;
    sec.nonce_len = 0;
    FAILS(store_broker_create(c.s, &conn, &sec, &id, &err), ATP_EINVAL, "nonce");
    sec.nonce_len = 24;
    sec.ciphertext_len = STORE_CIPHER_MAX + 1;
    FAILS(store_broker_create(c.s, &conn, &sec, &id, &err), ATP_EINVAL, "ciphertext");
    sec.ciphertext_len = 300;

    struct store_broker_conn out[3];
    struct store_page_out res;
    OK(store_broker_list(c.s, acc, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, c1);
    cr_assert_str_eq(out[0].broker, "kite");
    cr_assert_str_eq(out[0].key_id, "vault-key-1");
    cr_assert_str_eq(out[0].masked, "api key ****7f2a");
    cr_assert_eq(out[0].account_id, acc);
    cr_assert_eq(out[1].id, c2);

    static struct store_broker_secret got;
    struct store_broker_conn meta;
    OK(store_broker_secret_get(c.s, acc, c1, &meta, &got, &err));
    cr_assert_eq(got.ciphertext_len, 300);
    cr_assert_arr_eq(got.ciphertext, sec.ciphertext, 300);
    cr_assert_eq(got.nonce_len, 24);
    cr_assert_arr_eq(got.nonce, sec.nonce, 24);
    cr_assert_eq(meta.id, c1);
    cr_assert_str_eq(meta.broker, "kite");
    OK(store_broker_secret_get(c.s, acc, c2, NULL, &got, &err));
    FAILS(store_broker_secret_get(c.s, acc2, c1, NULL, &got, &err), ATP_ENOTFOUND, "conn_id");
    FAILS(store_broker_delete(c.s, acc2, c1, &err), ATP_ENOTFOUND, "conn_id");

    OK(store_broker_delete(c.s, acc, c1, &err));
    FAILS(store_broker_delete(c.s, acc, c1, &err), ATP_ENOTFOUND, "conn_id");
    FAILS(store_broker_secret_get(c.s, acc, c1, NULL, &got, &err), ATP_ENOTFOUND, "conn_id");
    OK(store_broker_list(c.s, acc, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, c2);
    OK(store_broker_list(c.s, acc2, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, c3);
    end(&c);
}

/* ---- audit ---- */

static int64_t add_audit(struct ctx *c, int64_t ts, int64_t user, int64_t account, const char *action,
                         const char *result)
{
    struct atp_err err;
    static struct store_audit a;
    memset(&a, 0, sizeof a);
    a.ts_ns = ts;
    a.user_id = user;
    a.account_id = account;
    snprintf(a.action, sizeof a.action, "%s", action);
    snprintf(a.resource, sizeof a.resource, "/api/v1/accounts/%lld", (long long)account);
    snprintf(a.ip, sizeof a.ip, "2001:db8::1");
    snprintf(a.user_agent, sizeof a.user_agent, "Mozilla/5.0");
    snprintf(a.result, sizeof a.result, "%s", result);
    snprintf(a.details, sizeof a.details, "{\"n\":%lld}", (long long)ts);
    int64_t id = 0;
    OK(store_audit_append(c->s, &a, &id, &err));
    return id;
}

void store_suite_audit(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t ids[6];
    ids[0] = add_audit(&c, T0 + 1, 1, 10, "login", "ok");
    ids[1] = add_audit(&c, T0 + 2, 2, 0, "login", "denied");
    ids[2] = add_audit(&c, T0 + 3, 1, 10, "order.place", "ok");
    ids[3] = add_audit(&c, T0 + 4, 0, 0, "system.start", "ok");
    ids[4] = add_audit(&c, T0 + 5, 1, 11, "login", "ok");
    ids[5] = add_audit(&c, T0 + 6, 2, 10, "order.place", "error");

    static struct store_audit out[6];
    struct store_page_out res;
    OK(store_audit_query(c.s, NULL, &(struct store_page){0, 6}, out, &res, &err));
    cr_assert_eq(res.count, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(out[i].id, ids[5 - i], "newest first");
    cr_assert_eq(res.next_cursor, 0);
    cr_assert_eq(out[0].ts_ns, T0 + 6);
    cr_assert_eq(out[0].user_id, 2);
    cr_assert_eq(out[0].account_id, 10);
    cr_assert_str_eq(out[0].action, "order.place");
    cr_assert_str_eq(out[0].resource, "/api/v1/accounts/10");
    cr_assert_str_eq(out[0].ip, "2001:db8::1");
    cr_assert_str_eq(out[0].user_agent, "Mozilla/5.0");
    cr_assert_str_eq(out[0].result, "error");
    char want[64];
    snprintf(want, sizeof want, "{\"n\":%lld}", (long long)(T0 + 6));
    cr_assert_str_eq(out[0].details, want);

    /* Pages of 4 then 2. */
    OK(store_audit_query(c.s, NULL, &(struct store_page){0, 4}, out, &res, &err));
    cr_assert_eq(res.count, 4);
    cr_assert_eq(res.next_cursor, ids[2]);
    OK(store_audit_query(c.s, NULL, &(struct store_page){res.next_cursor, 4}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, ids[1]);
    cr_assert_eq(out[1].id, ids[0]);
    cr_assert_eq(res.next_cursor, 0);

    struct store_audit_filter f = {.user_id = 1};
    OK(store_audit_query(c.s, &f, &(struct store_page){0, 6}, out, &res, &err));
    cr_assert_eq(res.count, 3);
    cr_assert_eq(out[0].id, ids[4]);
    cr_assert_eq(out[2].id, ids[0]);
    f = (struct store_audit_filter){.account_id = 10};
    OK(store_audit_query(c.s, &f, &(struct store_page){0, 6}, out, &res, &err));
    cr_assert_eq(res.count, 3);
    f = (struct store_audit_filter){.user_id = 1, .account_id = 10};
    snprintf(f.action, sizeof f.action, "login");
    OK(store_audit_query(c.s, &f, &(struct store_page){0, 6}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, ids[0]);
    f = (struct store_audit_filter){.from_ns = T0 + 2, .to_ns = T0 + 5};
    OK(store_audit_query(c.s, &f, &(struct store_page){0, 6}, out, &res, &err));
    cr_assert_eq(res.count, 3, "from inclusive, to exclusive");
    cr_assert_eq(out[0].id, ids[3]);
    cr_assert_eq(out[2].id, ids[1]);
    f = (struct store_audit_filter){.user_id = 99};
    OK(store_audit_query(c.s, &f, &(struct store_page){0, 6}, out, &res, &err));
    cr_assert_eq(res.count, 0);

    static struct store_audit a;
    memset(&a, 0, sizeof a);
    a.ts_ns = T0;
    snprintf(a.result, sizeof a.result, "ok");
    int64_t id = 0;
    FAILS(store_audit_append(c.s, &a, &id, &err), ATP_EINVAL, "action");
    snprintf(a.action, sizeof a.action, "x");
    a.ts_ns = 0;
    FAILS(store_audit_append(c.s, &a, &id, &err), ATP_EINVAL, "ts_ns");
    end(&c);
}

/* ---- notifications and preferences ---- */

void store_suite_notifications_and_prefs(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t u1 = add_user(&c, "n1@example.com", STORE_ROLE_TRADER);
    int64_t u2 = add_user(&c, "n2@example.com", STORE_ROLE_TRADER);
    int64_t ids[3];
    static struct store_notification n;
    for (int i = 0; i < 3; i++) {
        memset(&n, 0, sizeof n);
        n.user_id = u1;
        n.ts_ns = T0 + i;
        snprintf(n.type, sizeof n.type, "order.filled");
        snprintf(n.title, sizeof n.title, "Filled %d", i);
        snprintf(n.body, sizeof n.body, "RELIANCE x %d", 10 * (i + 1));
        OK(store_notif_create(c.s, &n, &ids[i], &err));
    }
    n.user_id = u2;
    int64_t other = 0;
    OK(store_notif_create(c.s, &n, &other, &err));
    n.user_id = u2 + 50;
    int64_t id = 0;
    FAILS(store_notif_create(c.s, &n, &id, &err), ATP_ENOTFOUND, "user_id");
    n.user_id = u1;
    n.title[0] = '\0';
    FAILS(store_notif_create(c.s, &n, &id, &err), ATP_EINVAL, "title");

    static struct store_notification out[3];
    struct store_page_out res;
    OK(store_notif_list(c.s, u1, 0, &(struct store_page){0, 2}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, ids[2], "newest first");
    cr_assert_str_eq(out[0].title, "Filled 2");
    cr_assert_str_eq(out[0].body, "RELIANCE x 30");
    cr_assert_str_eq(out[0].type, "order.filled");
    cr_assert_eq(out[0].read, 0);
    cr_assert_eq(out[0].ts_ns, T0 + 2);
    cr_assert_eq(res.next_cursor, ids[1]);
    OK(store_notif_list(c.s, u1, 0, &(struct store_page){res.next_cursor, 2}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, ids[0]);
    cr_assert_eq(res.next_cursor, 0);

    OK(store_notif_mark_read(c.s, u1, ids[1], &err));
    OK(store_notif_mark_read(c.s, u1, ids[1], &err)); /* idempotent */
    FAILS(store_notif_mark_read(c.s, u2, ids[0], &err), ATP_ENOTFOUND, "notif_id");
    FAILS(store_notif_mark_read(c.s, u1, other, &err), ATP_ENOTFOUND, "notif_id");
    OK(store_notif_list(c.s, u1, 1, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(res.count, 2, "unread only");
    cr_assert_eq(out[0].id, ids[2]);
    cr_assert_eq(out[1].id, ids[0]);
    OK(store_notif_list(c.s, u1, 0, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(out[1].read, 1);
    OK(store_notif_list(c.s, u2, 0, &(struct store_page){0, 3}, out, &res, &err));
    cr_assert_eq(res.count, 1, "per user");

    struct store_notif_pref p = {.user_id = u1, .enabled = 1};
    snprintf(p.type, sizeof p.type, "order.filled");
    snprintf(p.channel, sizeof p.channel, "email");
    OK(store_pref_set(c.s, &p, &err));
    snprintf(p.channel, sizeof p.channel, "in_app");
    OK(store_pref_set(c.s, &p, &err));
    snprintf(p.channel, sizeof p.channel, "email");
    p.enabled = 0;
    OK(store_pref_set(c.s, &p, &err)); /* replaces */
    p.user_id = u2 + 50;
    FAILS(store_pref_set(c.s, &p, &err), ATP_ENOTFOUND, "user_id");
    p.user_id = u1;
    p.enabled = 2;
    FAILS(store_pref_set(c.s, &p, &err), ATP_EINVAL, "enabled");

    struct store_notif_pref prefs[3];
    OK(store_pref_list(c.s, u1, &(struct store_page){0, 3}, prefs, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_str_eq(prefs[0].channel, "email");
    cr_assert_eq(prefs[0].enabled, 0);
    cr_assert_str_eq(prefs[0].type, "order.filled");
    cr_assert_eq(prefs[0].user_id, u1);
    cr_assert_str_eq(prefs[1].channel, "in_app");
    cr_assert_eq(prefs[1].enabled, 1);
    OK(store_pref_list(c.s, u2, &(struct store_page){0, 3}, prefs, &res, &err));
    cr_assert_eq(res.count, 0);
    end(&c);
}

/* ---- SQL metacharacters in every text field ---- */

static const char *const nasty[] = {
    "'; DROP TABLE users; --",
    "\"double\" 'single' `back` \\ %s %n ?1 :name @p $1 ; -- /* */",
    "रुपया ₹ — 日本語 — émoji 🚀 — ℕ",
};

void store_suite_metacharacters_verbatim(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    for (int k = 0; k < 3; k++) {
        const char *t = nasty[k];
        char email[STORE_EMAIL_MAX];
        snprintf(email, sizeof email, "%s@x%d.example", t, k);
        struct store_user u;
        fill_user(&u, email, t, STORE_ROLE_TRADER);
        snprintf(u.password_hash, sizeof u.password_hash, "%s", t);
        int64_t uid = 0;
        OK(store_user_create(c.s, &u, &uid, &err));
        struct store_user got;
        OK(store_user_get_by_email(c.s, email, &got, &err));
        cr_assert_eq(got.id, uid);
        cr_assert_str_eq(got.email, email);
        cr_assert_str_eq(got.name, t);
        cr_assert_str_eq(got.password_hash, t);

        struct store_refresh_token tok = {.user_id = uid, .expires_ns = T0 + 5};
        snprintf(tok.family_id, sizeof tok.family_id, "%s", t);
        snprintf(tok.token_hash, sizeof tok.token_hash, "%s", t);
        int64_t tid = 0;
        OK(store_token_insert(c.s, &tok, &tid, &err));
        struct store_refresh_token tgot;
        OK(store_token_find(c.s, t, &tgot, &err));
        cr_assert_str_eq(tgot.family_id, t);
        int n = 0;
        OK(store_token_revoke_family(c.s, uid, t, &n, &err));
        cr_assert_eq(n, 1);

        struct store_account a = {.owner_id = uid};
        snprintf(a.name, sizeof a.name, "%s", t);
        snprintf(a.broker, sizeof a.broker, "%.*s", (int)sizeof a.broker - 1, t);
        /* Do not cut a UTF-8 sequence: the broker field is short; use a short ASCII-only prefix. */
        if (k == 2)
            snprintf(a.broker, sizeof a.broker, "₹'\"");
        int64_t acc = 0;
        OK(store_account_create(c.s, &a, &acc, &err));
        struct store_account agot;
        OK(store_account_get(c.s, acc, &agot, &err));
        cr_assert_str_eq(agot.name, t);
        cr_assert_str_eq(agot.broker, a.broker);
        OK(store_account_rename(c.s, acc, t, &err));

        struct store_invitation inv = {.account_id = acc, .created_by = uid, .role = STORE_ACCESS_TRADER,
                                       .expires_ns = T0 + 5};
        snprintf(inv.email, sizeof inv.email, "%s", email);
        snprintf(inv.token_hash, sizeof inv.token_hash, "inv%s", t);
        int64_t iid = 0;
        OK(store_invite_create(c.s, &inv, &iid, &err));
        struct store_invitation igot;
        OK(store_invite_find(c.s, inv.token_hash, &igot, &err));
        cr_assert_str_eq(igot.email, email);
        struct store_page_out res;
        OK(store_invite_list_for_email(c.s, email, &(struct store_page){0, 1}, &igot, &res, &err));
        cr_assert_eq(res.count, 1);
        cr_assert_eq(igot.id, iid);

        struct store_broker_conn bc = {.account_id = acc};
        snprintf(bc.broker, sizeof bc.broker, "%s", a.broker);
        snprintf(bc.key_id, sizeof bc.key_id, "%s", t);
        snprintf(bc.masked, sizeof bc.masked, "%s", t);
        static struct store_broker_secret sec;
        memcpy(sec.ciphertext, t, strlen(t));
        sec.ciphertext_len = (uint32_t)strlen(t);
        memcpy(sec.nonce, "'\0;", 3);
        sec.nonce_len = 3;
        int64_t bid = 0;
        OK(store_broker_create(c.s, &bc, &sec, &bid, &err));
        struct store_broker_conn bgot;
        OK(store_broker_list(c.s, acc, &(struct store_page){0, 1}, &bgot, &res, &err));
        cr_assert_str_eq(bgot.key_id, t);
        cr_assert_str_eq(bgot.masked, t);
        cr_assert_str_eq(bgot.broker, a.broker);

        static struct store_audit au;
        memset(&au, 0, sizeof au);
        au.ts_ns = T0 + k + 1;
        au.user_id = uid;
        snprintf(au.action, sizeof au.action, "%s", t);
        snprintf(au.resource, sizeof au.resource, "%s", t);
        snprintf(au.ip, sizeof au.ip, "%s", t);
        snprintf(au.user_agent, sizeof au.user_agent, "%s", t);
        snprintf(au.result, sizeof au.result, "'--");
        snprintf(au.details, sizeof au.details, "{\"q\":\"%s\"}", k == 1 ? "\\\"x\\\"" : t);
        int64_t aid = 0;
        OK(store_audit_append(c.s, &au, &aid, &err));
        static struct store_audit augot;
        struct store_audit_filter f = {.user_id = uid};
        snprintf(f.action, sizeof f.action, "%s", t);
        OK(store_audit_query(c.s, &f, &(struct store_page){0, 1}, &augot, &res, &err));
        cr_assert_eq(res.count, 1);
        cr_assert_str_eq(augot.action, t);
        cr_assert_str_eq(augot.resource, t);
        cr_assert_str_eq(augot.ip, t);
        cr_assert_str_eq(augot.user_agent, t);
        cr_assert_str_eq(augot.result, "'--");
        cr_assert_str_eq(augot.details, au.details);

        static struct store_notification no;
        memset(&no, 0, sizeof no);
        no.user_id = uid;
        no.ts_ns = T0;
        snprintf(no.type, sizeof no.type, "%s", t);
        snprintf(no.title, sizeof no.title, "%s", t);
        snprintf(no.body, sizeof no.body, "%s", t);
        int64_t nid = 0;
        OK(store_notif_create(c.s, &no, &nid, &err));
        static struct store_notification nogot;
        OK(store_notif_list(c.s, uid, 0, &(struct store_page){0, 1}, &nogot, &res, &err));
        cr_assert_str_eq(nogot.type, t);
        cr_assert_str_eq(nogot.title, t);
        cr_assert_str_eq(nogot.body, t);

        struct store_notif_pref p = {.user_id = uid, .enabled = 1};
        snprintf(p.type, sizeof p.type, "%s", t);
        snprintf(p.channel, sizeof p.channel, "%s", k == 0 ? "';--" : "\"x\"");
        OK(store_pref_set(c.s, &p, &err));
        struct store_notif_pref pgot;
        OK(store_pref_list(c.s, uid, &(struct store_page){0, 1}, &pgot, &res, &err));
        cr_assert_str_eq(pgot.type, t);
        cr_assert_str_eq(pgot.channel, p.channel);
    }
    /* Every table is still there and holds exactly what was put in. */
    struct store_user users[4];
    struct store_page_out res;
    OK(store_user_list(c.s, &(struct store_page){0, 4}, users, &res, &err));
    cr_assert_eq(res.count, 3);
    end(&c);
}

/* ---- administration additions ---- */

void store_suite_admin_ping_and_stats(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    OK(store_ping(c.s, &err));
    struct store_stats st;
    OK(store_stats_get(c.s, &st, &err));
    cr_assert_eq(st.users + st.admins_active + st.accounts + st.broker_connections, 0);
    int64_t a = add_user(&c, "a@example.com", STORE_ROLE_ADMIN);
    int64_t t = add_user(&c, "t@example.com", STORE_ROLE_TRADER);
    add_user(&c, "a2@example.com", STORE_ROLE_ADMIN);
    add_account(&c, t, "T1");
    add_account(&c, a, "A1");
    struct store_user v = {.status = STORE_USER_DISABLED};
    OK(store_user_update(c.s, a, STORE_USER_F_STATUS, &v, &err));
    OK(store_stats_get(c.s, &st, &err));
    cr_assert_eq(st.users, 3);
    cr_assert_eq(st.admins_active, 1, "a disabled admin does not count");
    cr_assert_eq(st.accounts, 2);
    cr_assert_eq(st.broker_connections, 0);
    FAILS(store_stats_get(c.s, NULL, &err), ATP_EINVAL, "out");
    end(&c);
}

void store_suite_admin_update_keeps_an_admin(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t a1 = add_user(&c, "a1@example.com", STORE_ROLE_ADMIN);
    int64_t a2 = add_user(&c, "a2@example.com", STORE_ROLE_ADMIN);
    int64_t t = add_user(&c, "t@example.com", STORE_ROLE_TRADER);
    struct store_user v = {.role = STORE_ROLE_TRADER, .status = STORE_USER_DISABLED}, before, got;

    /* Two admins: one may go; then the other is the last and stays, by role or by status. */
    OK(store_user_admin_update(c.s, a1, STORE_USER_F_ROLE, &v, &before, &err));
    cr_assert_eq(before.role, STORE_ROLE_ADMIN, "before is the old row");
    cr_assert_str_eq(before.email, "a1@example.com");
    OK(store_user_get(c.s, a1, &got, &err));
    cr_assert_eq(got.role, STORE_ROLE_TRADER);
    FAILS(store_user_admin_update(c.s, a2, STORE_USER_F_ROLE, &v, NULL, &err), ATP_ESTATE, "role");
    FAILS(store_user_admin_update(c.s, a2, STORE_USER_F_STATUS, &v, NULL, &err), ATP_ESTATE, "status");
    FAILS(store_user_admin_update(c.s, a2, STORE_USER_F_ROLE | STORE_USER_F_STATUS, &v, NULL, &err), ATP_ESTATE,
          "role");
    OK(store_user_get(c.s, a2, &got, &err));
    cr_assert_eq(got.role, STORE_ROLE_ADMIN, "nothing changed");
    cr_assert_eq(got.status, STORE_USER_ACTIVE);

    /* Others change freely; a disabled admin is not an active one. */
    OK(store_user_admin_update(c.s, t, STORE_USER_F_STATUS, &v, &before, &err));
    cr_assert_eq(before.status, STORE_USER_ACTIVE);
    v.role = STORE_ROLE_ADMIN;
    OK(store_user_admin_update(c.s, t, STORE_USER_F_ROLE, &v, NULL, &err)); /* a disabled admin */
    FAILS(store_user_admin_update(c.s, a2, STORE_USER_F_STATUS, &v, NULL, &err), ATP_ESTATE, "status");
    v.status = STORE_USER_ACTIVE;
    OK(store_user_admin_update(c.s, t, STORE_USER_F_STATUS, &v, NULL, &err));
    v.status = STORE_USER_DISABLED;
    OK(store_user_admin_update(c.s, a2, STORE_USER_F_STATUS, &v, NULL, &err)); /* t is an admin now */

    FAILS(store_user_admin_update(c.s, t + 50, STORE_USER_F_ROLE, &v, NULL, &err), ATP_ENOTFOUND, "user_id");
    FAILS(store_user_admin_update(c.s, t, STORE_USER_F_PASSWORD, &v, NULL, &err), ATP_EINVAL, "fields");
    FAILS(store_user_admin_update(c.s, t, 0, &v, NULL, &err), ATP_EINVAL, "fields");
    v.role = 7;
    FAILS(store_user_admin_update(c.s, t, STORE_USER_F_ROLE, &v, NULL, &err), ATP_EINVAL, "role");
    end(&c);
}

void store_suite_admin_notif_mark_all_read(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t u1 = add_user(&c, "n1@example.com", STORE_ROLE_TRADER);
    int64_t u2 = add_user(&c, "n2@example.com", STORE_ROLE_TRADER);
    static struct store_notification n;
    memset(&n, 0, sizeof n);
    snprintf(n.type, sizeof n.type, "system");
    snprintf(n.title, sizeof n.title, "hello");
    n.ts_ns = T0;
    int64_t id = 0, first = 0;
    for (int i = 0; i < 4; i++) {
        n.user_id = i < 3 ? u1 : u2;
        OK(store_notif_create(c.s, &n, &id, &err));
        if (i == 0)
            first = id;
    }
    OK(store_notif_mark_read(c.s, u1, first, &err));
    int count = -1;
    OK(store_notif_mark_all_read(c.s, u1, &count, &err));
    cr_assert_eq(count, 2, "only the unread ones");
    OK(store_notif_mark_all_read(c.s, u1, &count, &err));
    cr_assert_eq(count, 0, "idempotent");
    static struct store_notification out[4];
    struct store_page_out res;
    OK(store_notif_list(c.s, u1, 1, &(struct store_page){0, 4}, out, &res, &err));
    cr_assert_eq(res.count, 0);
    OK(store_notif_list(c.s, u2, 1, &(struct store_page){0, 4}, out, &res, &err));
    cr_assert_eq(res.count, 1, "another user's stay unread");
    FAILS(store_notif_mark_all_read(c.s, 0, &count, &err), ATP_EINVAL, "user_id");
    end(&c);
}

void store_suite_admin_broker_rotation(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t owner = add_user(&c, "owner@example.com", STORE_ROLE_TRADER);
    int64_t acc = add_account(&c, owner, "A"), acc2 = add_account(&c, owner, "B");
    struct store_broker_conn conn = {.account_id = acc};
    snprintf(conn.broker, sizeof conn.broker, "kite");
    snprintf(conn.key_id, sizeof conn.key_id, "1");
    static struct store_broker_secret sec, got;
    memset(&sec, 0, sizeof sec);
    memset(sec.ciphertext, 0xA5, 100);
    sec.ciphertext_len = 100;
    memset(sec.nonce, 0x5A, 24);
    sec.nonce_len = 24;
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        conn.account_id = i == 2 ? acc2 : acc;
        OK(store_broker_create(c.s, &conn, &sec, &ids[i], &err));
    }
    /* Every account's connections, paged. */
    struct store_broker_conn out[2];
    struct store_page_out res;
    OK(store_broker_list_all(c.s, &(struct store_page){0, 2}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, ids[0]);
    cr_assert_eq(out[1].id, ids[1]);
    cr_assert_eq(res.next_cursor, ids[1]);
    OK(store_broker_list_all(c.s, &(struct store_page){res.next_cursor, 2}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, ids[2]);
    cr_assert_eq(out[0].account_id, acc2);
    cr_assert_eq(res.next_cursor, 0);

    /* Compare-and-set on the key id. */
    static struct store_broker_secret next;
    memset(&next, 0, sizeof next);
    memset(next.ciphertext, 0x3C, 120);
    next.ciphertext_len = 120;
    memset(next.nonce, 0xC3, 24);
    next.nonce_len = 24;
    OK(store_broker_secret_replace(c.s, acc, ids[0], "1", "2", &next, &err));
    struct store_broker_conn meta;
    OK(store_broker_secret_get(c.s, acc, ids[0], &meta, &got, &err));
    cr_assert_str_eq(meta.key_id, "2");
    cr_assert_eq(got.ciphertext_len, 120);
    cr_assert_arr_eq(got.ciphertext, next.ciphertext, 120);
    cr_assert_arr_eq(got.nonce, next.nonce, 24);
    FAILS(store_broker_secret_replace(c.s, acc, ids[0], "1", "2", &next, &err), ATP_ESTATE, "key_id");
    FAILS(store_broker_secret_replace(c.s, acc2, ids[0], "2", "3", &next, &err), ATP_ENOTFOUND, "conn_id");
    FAILS(store_broker_secret_replace(c.s, acc, ids[2], "1", "2", &next, &err), ATP_ENOTFOUND, "conn_id");
    FAILS(store_broker_secret_replace(c.s, acc, ids[1], "", "2", &next, &err), ATP_EINVAL, "expect_key_id");
    next.nonce_len = 0;
    FAILS(store_broker_secret_replace(c.s, acc, ids[1], "1", "2", &next, &err), ATP_EINVAL, "nonce");
    OK(store_broker_secret_get(c.s, acc, ids[1], &meta, &got, &err));
    cr_assert_str_eq(meta.key_id, "1", "the others untouched");
    cr_assert_arr_eq(got.ciphertext, sec.ciphertext, 100);
    end(&c);
}

/* ---- strategies and account risk limits ---- */

static void fill_strategy(struct store_strategy *st, int64_t account, const char *name)
{
    memset(st, 0, sizeof *st);
    st->account_id = account;
    snprintf(st->type, sizeof st->type, "sma_crossover");
    snprintf(st->name, sizeof st->name, "%s", name);
    snprintf(st->symbols, sizeof st->symbols, "[\"RELIANCE\"]");
    snprintf(st->timeframes, sizeof st->timeframes, "[\"1m\"]");
    snprintf(st->params, sizeof st->params, "{\"fast\":5,\"slow\":20}");
    snprintf(st->risk, sizeof st->risk, "{\"qty\":1}");
    st->mode = STORE_MODE_PAPER;
}

/* Create, get (scoped by account), state and signal, update and delete only while stopped,
 * lists filtered by user, account and activity, with pagination. */
void store_suite_strategies(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t alice = add_user(&c, "sa@example.com", STORE_ROLE_TRADER);
    int64_t bob = add_user(&c, "sb@example.com", STORE_ROLE_TRADER);
    int64_t ivan = add_user(&c, "si@example.com", STORE_ROLE_INVESTOR);
    int64_t a1 = add_account(&c, alice, "A1"), a2 = add_account(&c, alice, "A2");
    int64_t b1 = add_account(&c, bob, "B1");
    OK(store_access_grant(c.s, a2, ivan, STORE_ACCESS_INVESTOR, &err));

    static struct store_strategy st, got;
    int64_t ids[5] = {0};
    const int64_t owners[5] = {a1, a1, a2, b1, a1};
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "s%d 'quoted'", i);
        fill_strategy(&st, owners[i], name);
        OK(store_strategy_create(c.s, &st, &ids[i], &err));
        cr_assert_gt(ids[i], i ? ids[i - 1] : 0);
    }
    OK(store_strategy_get(c.s, a1, ids[0], &got, &err));
    cr_assert_str_eq(got.name, "s0 'quoted'");
    cr_assert_str_eq(got.params, "{\"fast\":5,\"slow\":20}");
    cr_assert_eq(got.state, STORE_STRAT_STOPPED);
    cr_assert_eq(got.mode, STORE_MODE_PAPER);
    cr_assert_str_eq(got.last_signal, "");
    cr_assert_gt(got.created_ns, T0);
    /* Tenancy: another account's strategy id is absent. */
    FAILS(store_strategy_get(c.s, b1, ids[0], &got, &err), ATP_ENOTFOUND, "strategy_id");
    int64_t acct = 0;
    OK(store_strategy_account(c.s, ids[3], &acct, &err));
    cr_assert_eq(acct, b1);
    FAILS(store_strategy_account(c.s, 999999, &acct, &err), ATP_ENOTFOUND, "strategy_id");
    fill_strategy(&st, 999999, "ghost");
    FAILS(store_strategy_create(c.s, &st, &ids[4], &err), ATP_ENOTFOUND, "account_id");
    fill_strategy(&st, a1, "");
    FAILS(store_strategy_create(c.s, &st, &ids[4], &err), ATP_EINVAL, "name");
    fill_strategy(&st, a1, "x");
    st.mode = 7;
    FAILS(store_strategy_create(c.s, &st, &ids[4], &err), ATP_EINVAL, "mode");

    /* Running: update and delete refused with the state named. */
    OK(store_strategy_set_state(c.s, a1, ids[0], STORE_STRAT_RUNNING, "", &err));
    fill_strategy(&st, a1, "renamed");
    st.id = ids[0];
    FAILS(store_strategy_update(c.s, &st, &err), ATP_ESTATE, "state");
    cr_assert(strstr(err.msg, "running"), "%s", err.msg);
    FAILS(store_strategy_delete(c.s, a1, ids[0], &err), ATP_ESTATE, "state");
    FAILS(store_strategy_set_state(c.s, b1, ids[0], STORE_STRAT_PAUSED, "x", &err), ATP_ENOTFOUND, "strategy_id");
    FAILS(store_strategy_set_state(c.s, a1, ids[0], 9, "x", &err), ATP_EINVAL, "state");
    OK(store_strategy_set_signal(c.s, a1, ids[0], "{\"intent\":\"ENTRY_LONG\"}", T0 + 5, &err));
    OK(store_strategy_set_state(c.s, a1, ids[0], STORE_STRAT_PAUSED, "max loss breached", &err));
    OK(store_strategy_get(c.s, a1, ids[0], &got, &err));
    cr_assert_eq(got.state, STORE_STRAT_PAUSED);
    cr_assert_str_eq(got.state_reason, "max loss breached");
    cr_assert_str_eq(got.last_signal, "{\"intent\":\"ENTRY_LONG\"}");
    cr_assert_eq(got.last_signal_ns, T0 + 5);

    /* Lists: by user (owned + granted), by account, active only, paginated. */
    static struct store_strategy out[8];
    struct store_page_out res;
    struct store_strategy_filter f = {.user_id = alice};
    OK(store_strategy_list(c.s, &f, &(struct store_page){0, 2}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, ids[0]);
    cr_assert_eq(res.next_cursor, ids[1]);
    OK(store_strategy_list(c.s, &f, &(struct store_page){res.next_cursor, 2}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, ids[2]);
    cr_assert_eq(out[1].id, ids[4], "bob's strategy is not alice's");
    cr_assert_eq(res.next_cursor, 0);
    f = (struct store_strategy_filter){.user_id = ivan};
    OK(store_strategy_list(c.s, &f, &(struct store_page){0, 8}, out, &res, &err));
    cr_assert_eq(res.count, 1, "the investor sees the account it was granted");
    cr_assert_eq(out[0].id, ids[2]);
    f = (struct store_strategy_filter){.account_id = a1};
    OK(store_strategy_list(c.s, &f, &(struct store_page){0, 8}, out, &res, &err));
    cr_assert_eq(res.count, 3);
    f = (struct store_strategy_filter){.active_only = 1};
    OK(store_strategy_list(c.s, &f, &(struct store_page){0, 8}, out, &res, &err));
    cr_assert_eq(res.count, 1, "only the paused one is active");
    cr_assert_eq(out[0].id, ids[0]);
    OK(store_strategy_list(c.s, NULL, &(struct store_page){0, 8}, out, &res, &err));
    cr_assert_eq(res.count, 5);

    /* Stopped again: update and delete go through. */
    OK(store_strategy_set_state(c.s, a1, ids[0], STORE_STRAT_STOPPED, NULL, &err));
    OK(store_strategy_update(c.s, &st, &err));
    OK(store_strategy_get(c.s, a1, ids[0], &got, &err));
    cr_assert_str_eq(got.name, "renamed");
    cr_assert_str_eq(got.last_signal, "{\"intent\":\"ENTRY_LONG\"}", "the signal stays");
    OK(store_strategy_delete(c.s, a1, ids[0], &err));
    FAILS(store_strategy_get(c.s, a1, ids[0], &got, &err), ATP_ENOTFOUND, "strategy_id");
    FAILS(store_strategy_delete(c.s, a1, ids[0], &err), ATP_ENOTFOUND, "strategy_id");
    end(&c);
}

void store_suite_risk_limits_and_breach(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t alice = add_user(&c, "ra@example.com", STORE_ROLE_TRADER);
    int64_t a1 = add_account(&c, alice, "A1");
    struct store_risk_limits lim, got;
    FAILS(store_risk_limits_get(c.s, a1, STORE_MODE_PAPER, &got, &err), ATP_ENOTFOUND, "account_id");
    memset(&lim, 0, sizeof lim);
    lim.account_id = a1;
    lim.mode = STORE_MODE_PAPER;
    lim.max_loss = 5000 * 10000LL;
    lim.max_position_qty = 100;
    lim.max_order_value = 250000 * 10000LL;
    lim.max_open_orders = 20;
    OK(store_risk_limits_set(c.s, &lim, &err));
    OK(store_risk_limits_get(c.s, a1, STORE_MODE_PAPER, &got, &err));
    cr_assert_eq(got.max_loss, lim.max_loss);
    cr_assert_eq(got.max_position_qty, 100);
    cr_assert_eq(got.max_order_value, lim.max_order_value);
    cr_assert_eq(got.max_open_orders, 20);
    cr_assert_eq(got.breached, 0);
    FAILS(store_risk_limits_get(c.s, a1, STORE_MODE_LIVE, &got, &err), ATP_ENOTFOUND, "account_id");
    lim.max_loss = -1;
    FAILS(store_risk_limits_set(c.s, &lim, &err), ATP_EINVAL, "max_loss");
    lim.max_loss = 1;
    lim.account_id = 999999;
    FAILS(store_risk_limits_set(c.s, &lim, &err), ATP_ENOTFOUND, "account_id");

    FAILS(store_risk_breach_ack(c.s, a1, STORE_MODE_PAPER, T0, &err), ATP_ESTATE, "breached");
    OK(store_risk_breach_record(c.s, a1, STORE_MODE_PAPER, -6000 * 10000LL, T0 + 7, &err));
    /* A new limit keeps the breach: only the acknowledgement clears it. */
    lim.account_id = a1;
    lim.max_loss = 8000 * 10000LL;
    OK(store_risk_limits_set(c.s, &lim, &err));
    OK(store_risk_limits_get(c.s, a1, STORE_MODE_PAPER, &got, &err));
    cr_assert_eq(got.breached, 1);
    cr_assert_eq(got.breach_pnl, -6000 * 10000LL);
    cr_assert_eq(got.breached_ns, T0 + 7);
    cr_assert_eq(got.max_loss, 8000 * 10000LL);
    OK(store_risk_breach_ack(c.s, a1, STORE_MODE_PAPER, T0 + 9, &err));
    OK(store_risk_limits_get(c.s, a1, STORE_MODE_PAPER, &got, &err));
    cr_assert_eq(got.breached, 0);
    cr_assert_eq(got.acknowledged_ns, T0 + 9);
    FAILS(store_risk_breach_ack(c.s, a1, STORE_MODE_PAPER, T0, &err), ATP_ESTATE, "breached");
    /* A breach of a mode with no limits row creates one, limits off. */
    OK(store_risk_breach_record(c.s, a1, STORE_MODE_LIVE, -1, T0 + 11, &err));
    OK(store_risk_limits_get(c.s, a1, STORE_MODE_LIVE, &got, &err));
    cr_assert_eq(got.breached, 1);
    cr_assert_eq(got.max_loss, 0);

    int32_t max = -1;
    FAILS(store_strategy_limit_get(c.s, STORE_MODE_PAPER, &max, &err), ATP_ENOTFOUND, "mode");
    OK(store_strategy_limit_set(c.s, STORE_MODE_PAPER, 3, &err));
    OK(store_strategy_limit_set(c.s, STORE_MODE_PAPER, 2, &err));
    OK(store_strategy_limit_get(c.s, STORE_MODE_PAPER, &max, &err));
    cr_assert_eq(max, 2);
    FAILS(store_strategy_limit_set(c.s, STORE_MODE_LIVE, -1, &err), ATP_EINVAL, "max_running");
    FAILS(store_strategy_limit_set(c.s, 5, 1, &err), ATP_EINVAL, "mode");
    end(&c);
}

/* ---- paper trading (migration 003) ---- */

void store_suite_trading_funds_and_kill_switch(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t owner = add_user(&c, "trader@example.com", STORE_ROLE_TRADER);
    int64_t a1 = add_account(&c, owner, "one"), a2 = add_account(&c, owner, "two");
    struct store_funds f;
    FAILS(store_funds_get(c.s, a1, &f, &err), ATP_ENOTFOUND, "account_id");
    OK(store_funds_set(c.s, a1, 10000000000LL, &err)); /* Rs 10,00,000 as px_t */
    OK(store_funds_set(c.s, a2, 1, &err));
    OK(store_funds_set(c.s, a2, 25000000000LL, &err)); /* replaces */
    FAILS(store_funds_set(c.s, 999, 1, &err), ATP_ENOTFOUND, "account_id");
    FAILS(store_funds_set(c.s, a1, -1, &err), ATP_EINVAL, "initial_capital");
    OK(store_funds_get(c.s, a2, &f, &err));
    cr_assert_eq(f.initial_capital_px, 25000000000LL);
    struct store_funds list[2];
    struct store_page_out res;
    OK(store_funds_list(c.s, &(struct store_page){0, 1}, list, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(list[0].account_id, a1);
    cr_assert_eq(list[0].initial_capital_px, 10000000000LL);
    OK(store_funds_list(c.s, &(struct store_page){res.next_cursor, 2}, list, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(list[0].account_id, a2);
    cr_assert_eq(res.next_cursor, 0);

    struct store_kill_switch k = {.account_id = 0, .state = "HALTED", .set_by = owner, .reason = "fat finger"};
    struct store_kill_switch got;
    FAILS(store_kill_switch_get(c.s, 0, &got, &err), ATP_ENOTFOUND, "account_id");
    OK(store_kill_switch_set(c.s, &k, &err));
    k.account_id = a2;
    snprintf(k.state, sizeof k.state, "REDUCING");
    OK(store_kill_switch_set(c.s, &k, &err));
    snprintf(k.state, sizeof k.state, "ACTIVE");
    snprintf(k.reason, sizeof k.reason, "it's 'fine'; --");
    OK(store_kill_switch_set(c.s, &k, &err));
    reopen(&c); /* survives a restart */
    OK(store_kill_switch_get(c.s, a2, &got, &err));
    cr_assert_str_eq(got.state, "ACTIVE");
    cr_assert_str_eq(got.reason, "it's 'fine'; --");
    cr_assert_eq(got.set_by, owner);
    cr_assert_gt(got.updated_ns, T0);
    struct store_kill_switch all[3];
    OK(store_kill_switch_list(c.s, &(struct store_page){0, 1}, all, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(all[0].account_id, 0, "the global switch first");
    cr_assert_str_eq(all[0].state, "HALTED");
    OK(store_kill_switch_list(c.s, &(struct store_page){res.next_cursor, 3}, all, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(all[0].account_id, a2);
    FAILS(store_kill_switch_set(c.s, &(struct store_kill_switch){.account_id = -1, .state = "HALTED"}, &err),
          ATP_EINVAL, "account_id");
    end(&c);
}

static struct store_order sample_order(int64_t account, const char *key, const char *side, int64_t qty)
{
    struct store_order o = {.account_id = account, .qty = qty, .price_px = 25005000, .trigger_px = 0};
    snprintf(o.mode, sizeof o.mode, "PAPER");
    snprintf(o.client_key, sizeof o.client_key, "%s", key);
    snprintf(o.tag, sizeof o.tag, "T1x");
    snprintf(o.symbol, sizeof o.symbol, "RELIANCE");
    snprintf(o.side, sizeof o.side, "%s", side);
    snprintf(o.type, sizeof o.type, "LIMIT");
    snprintf(o.product, sizeof o.product, "CNC");
    snprintf(o.validity, sizeof o.validity, "DAY");
    snprintf(o.state, sizeof o.state, "NEW");
    return o;
}

void store_suite_trading_orders_and_fills(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t owner = add_user(&c, "trader@example.com", STORE_ROLE_TRADER);
    int64_t a1 = add_account(&c, owner, "one"), a2 = add_account(&c, owner, "two");
    struct store_order o = sample_order(a1, "key-1", "BUY", 10), got;
    int64_t id1 = 0, id2 = 0, id3 = 0;
    OK(store_order_insert(c.s, &o, &id1, &err));
    /* the same key on the same account: refused; on another account: fine; no key: any number */
    FAILS(store_order_insert(c.s, &o, &id2, &err), ATP_EEXIST, "client_key");
    o.account_id = a2;
    OK(store_order_insert(c.s, &o, &id2, &err));
    o = sample_order(a1, "", "SELL", 5);
    OK(store_order_insert(c.s, &o, &id3, &err));
    int64_t id4 = 0;
    OK(store_order_insert(c.s, &o, &id4, &err));
    FAILS(store_order_insert(c.s, &(struct store_order){0}, &id4, &err), ATP_EINVAL, "account_id");
    o.account_id = 9999;
    FAILS(store_order_insert(c.s, &o, &id4, &err), ATP_ENOTFOUND, "account_id");

    OK(store_order_find_key(c.s, a1, "key-1", &got, &err));
    cr_assert_eq(got.id, id1);
    cr_assert_str_eq(got.state, "NEW");
    cr_assert_eq(got.price_px, 25005000);
    cr_assert_eq(got.strategy_id, 0);
    FAILS(store_order_find_key(c.s, a1, "key-2", &got, &err), ATP_ENOTFOUND, "client_key");
    FAILS(store_order_get(c.s, a2, id1, &got, &err), ATP_ENOTFOUND, "order_id"); /* tenancy */

    /* NEW -> OPEN, then a partial fill and a fill, each written with its order in one go */
    struct store_order_change ch = {.account_id = a1, .order_id = id1, .state = "OPEN", .qty = 10,
                                    .price_px = 25005000};
    OK(store_order_update(c.s, &ch, &err));
    OK(store_order_update(c.s, &ch, &err)); /* the same state again: no second history row */
    struct store_fill f = {.order_id = id1, .account_id = a1, .mode = "PAPER", .venue_id = "P1",
                           .symbol = "RELIANCE", .side = "BUY", .product = "CNC", .qty = 4,
                           .price_px = 25000000, .charges_px = 1234, .ts_ns = T0 + 5};
    ch = (struct store_order_change){.account_id = a1, .order_id = id1, .state = "PARTIALLY_FILLED", .qty = 10,
                                     .price_px = 25005000, .filled_qty = 4, .filled_notional_px = 100000000};
    int64_t fid = 0;
    OK(store_fill_record(c.s, &f, &ch, &fid, &err));
    f.qty = 6;
    snprintf(f.venue_id, sizeof f.venue_id, "P2");
    ch.filled_qty = 10;
    ch.filled_notional_px = 100000000 + 6 * 25000000LL;
    snprintf(ch.state, sizeof ch.state, "FILLED");
    OK(store_fill_record(c.s, &f, &ch, &fid, &err));
    /* another account's order id is not found, and nothing is written */
    struct store_order_change other = ch;
    other.account_id = a2;
    struct store_fill fo = f;
    fo.account_id = a2;
    FAILS(store_fill_record(c.s, &fo, &other, &fid, &err), ATP_ENOTFOUND, "order_id");
    ch.filled_qty = 11;
    FAILS(store_order_update(c.s, &ch, &err), ATP_EINVAL, "filled_qty");

    reopen(&c);
    OK(store_order_get(c.s, a1, id1, &got, &err));
    cr_assert_str_eq(got.state, "FILLED");
    cr_assert_eq(got.filled_qty, 10);
    cr_assert_eq(got.filled_notional_px, 250000000);
    struct store_order_hist h[8];
    uint32_t n = 0;
    OK(store_order_history(c.s, a1, id1, h, 8, &n, &err));
    cr_assert_eq(n, 4, "NEW, OPEN, PARTIALLY_FILLED, FILLED");
    cr_assert_str_eq(h[0].state, "NEW");
    cr_assert_str_eq(h[1].state, "OPEN");
    cr_assert_str_eq(h[2].state, "PARTIALLY_FILLED");
    cr_assert_str_eq(h[3].state, "FILLED");
    FAILS(store_order_history(c.s, a2, id1, h, 8, &n, &err), ATP_ENOTFOUND, "order_id");

    struct store_fill fl[4];
    struct store_page_out res;
    OK(store_fill_list(c.s, a1, &(struct store_page){0, 4}, fl, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_str_eq(fl[0].venue_id, "P1");
    cr_assert_eq(fl[0].qty + fl[1].qty, got.filled_qty, "fills' qty equals the order's filled qty");
    cr_assert_eq(fl[0].charges_px, 1234);
    cr_assert_eq(fl[1].price_px, 25000000);
    OK(store_fill_list(c.s, a2, &(struct store_page){0, 4}, fl, &res, &err));
    cr_assert_eq(res.count, 0);

    struct store_order list[4];
    struct store_order_filter flt = {.account_id = a1};
    OK(store_order_list(c.s, &flt, &(struct store_page){0, 2}, list, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(list[0].id, id1);
    cr_assert_eq(list[1].id, id3);
    OK(store_order_list(c.s, &flt, &(struct store_page){res.next_cursor, 2}, list, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(list[0].id, id4);
    snprintf(flt.state, sizeof flt.state, "WORKING");
    OK(store_order_list(c.s, &flt, &(struct store_page){0, 4}, list, &res, &err));
    cr_assert_eq(res.count, 2, "the two NEW orders, not the FILLED one");
    flt.account_id = 0; /* every account: start-up recovery */
    OK(store_order_list(c.s, &flt, &(struct store_page){0, 4}, list, &res, &err));
    cr_assert_eq(res.count, 3);
    snprintf(flt.state, sizeof flt.state, "FILLED");
    OK(store_order_list(c.s, &flt, &(struct store_page){0, 4}, list, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(list[0].id, id1);
    end(&c);
}

/* ==== backtests ==== */

static int64_t add_backtest(struct ctx *c, int64_t user, int64_t account, const char *strategy)
{
    struct atp_err err;
    static struct store_backtest b;
    memset(&b, 0, sizeof b);
    b.user_id = user;
    b.account_id = account;
    snprintf(b.strategy, sizeof b.strategy, "%s", strategy);
    snprintf(b.source, sizeof b.source, "csv");
    snprintf(b.request, sizeof b.request, "{\"strategy\":\"%s\"}", strategy);
    int64_t id = 0;
    OK(store_backtest_create(c->s, &b, &id, &err));
    cr_assert_gt(id, 0);
    return id;
}

/* queued -> running -> done with documents; the guards on state; interrupt at start-up. */
void store_suite_backtests_lifecycle(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t u = add_user(&c, "bt@example.com", STORE_ROLE_TRADER);
    int64_t id = add_backtest(&c, u, 0, "sma_crossover");
    static struct store_backtest b;
    OK(store_backtest_get(c.s, id, &b, &err));
    cr_assert_eq(b.status, STORE_BT_QUEUED);
    cr_assert_eq(b.user_id, u);
    cr_assert_eq(b.account_id, 0);
    cr_assert_eq(b.progress_ppm, 0);
    cr_assert_str_eq(b.strategy, "sma_crossover");
    cr_assert_str_eq(b.source, "csv");
    cr_assert_str_eq(b.request, "{\"strategy\":\"sma_crossover\"}");
    cr_assert_gt(b.created_ns, T0);
    cr_assert_eq(b.started_ns, 0);
    char *doc = NULL;
    FAILS(store_backtest_document(c.s, id, STORE_BT_DOC_RESULT, &doc, NULL, &err), ATP_ENOTFOUND, "document");
    cr_assert_null(doc);
    OK(store_backtest_progress(c.s, id, 500000, &err)); /* not running: left alone */
    OK(store_backtest_get(c.s, id, &b, &err));
    cr_assert_eq(b.progress_ppm, 0);

    OK(store_backtest_start(c.s, id, &err));
    FAILS(store_backtest_start(c.s, id, &err), ATP_ESTATE, "status");
    OK(store_backtest_progress(c.s, id, 250000, &err));
    FAILS(store_backtest_progress(c.s, id, 1000001, &err), ATP_EINVAL, "progress_ppm");
    OK(store_backtest_get(c.s, id, &b, &err));
    cr_assert_eq(b.status, STORE_BT_RUNNING);
    cr_assert_eq(b.progress_ppm, 250000);
    cr_assert_gt(b.started_ns, b.created_ns);

    const char *html = "<html>it's \"quoted\" & ₹1,00,000</html>";
    OK(store_backtest_finish(c.s, id, STORE_BT_DONE, NULL, "{\"trades\":1}", "{\"metrics\":{}}", html, &err));
    FAILS(store_backtest_finish(c.s, id, STORE_BT_CANCELLED, NULL, NULL, NULL, NULL, &err), ATP_ESTATE, "status");
    FAILS(store_backtest_finish(c.s, id, STORE_BT_RUNNING, NULL, NULL, NULL, NULL, &err), ATP_EINVAL, "status");
    OK(store_backtest_get(c.s, id, &b, &err));
    cr_assert_eq(b.status, STORE_BT_DONE);
    cr_assert_eq(b.progress_ppm, STORE_BT_PROGRESS_FULL);
    cr_assert_str_eq(b.metrics, "{\"trades\":1}");
    cr_assert_gt(b.finished_ns, b.started_ns);
    size_t len = 0;
    OK(store_backtest_document(c.s, id, STORE_BT_DOC_REPORT, &doc, &len, &err));
    cr_assert_str_eq(doc, html);
    cr_assert_eq(len, strlen(html));
    atp_free(doc);
    OK(store_backtest_document(c.s, id, STORE_BT_DOC_RESULT, &doc, &len, &err));
    cr_assert_str_eq(doc, "{\"metrics\":{}}");
    atp_free(doc);
    FAILS(store_backtest_get(c.s, id + 100, &b, &err), ATP_ENOTFOUND, "backtest_id");
    FAILS(store_backtest_start(c.s, id + 100, &err), ATP_ENOTFOUND, "backtest_id");
    FAILS(store_backtest_document(c.s, id + 100, STORE_BT_DOC_RESULT, &doc, NULL, &err), ATP_ENOTFOUND,
          "backtest_id");

    /* A queued one cancelled never starts; a running and a queued one are interrupted. */
    int64_t cancelled = add_backtest(&c, u, 0, "ema_crossover");
    OK(store_backtest_finish(c.s, cancelled, STORE_BT_CANCELLED, "cancelled by the user", NULL, NULL, NULL, &err));
    FAILS(store_backtest_start(c.s, cancelled, &err), ATP_ESTATE, "status");
    int64_t running = add_backtest(&c, u, 0, "rsi"), queued = add_backtest(&c, u, 0, "rsi");
    OK(store_backtest_start(c.s, running, &err));
    reopen(&c);
    int n = -1;
    OK(store_backtest_interrupt(c.s, "interrupted by shutdown", &n, &err));
    cr_assert_eq(n, 2);
    OK(store_backtest_get(c.s, running, &b, &err));
    cr_assert_eq(b.status, STORE_BT_FAILED);
    cr_assert_str_eq(b.error, "interrupted by shutdown");
    OK(store_backtest_get(c.s, queued, &b, &err));
    cr_assert_eq(b.status, STORE_BT_FAILED);
    OK(store_backtest_get(c.s, id, &b, &err));
    cr_assert_eq(b.status, STORE_BT_DONE, "a finished one is untouched");
    OK(store_backtest_get(c.s, cancelled, &b, &err));
    cr_assert_eq(b.status, STORE_BT_CANCELLED);
    cr_assert_str_eq(b.error, "cancelled by the user");
    OK(store_backtest_interrupt(c.s, "again", &n, &err));
    cr_assert_eq(n, 0);

    /* Validation. */
    static struct store_backtest bad;
    memset(&bad, 0, sizeof bad);
    bad.user_id = u;
    snprintf(bad.source, sizeof bad.source, "csv");
    snprintf(bad.request, sizeof bad.request, "{}");
    int64_t nid = 0;
    FAILS(store_backtest_create(c.s, &bad, &nid, &err), ATP_EINVAL, "strategy");
    snprintf(bad.strategy, sizeof bad.strategy, "x");
    bad.user_id = u + 1000;
    FAILS(store_backtest_create(c.s, &bad, &nid, &err), ATP_ENOTFOUND, "user_id");
    bad.user_id = u;
    bad.account_id = 999;
    FAILS(store_backtest_create(c.s, &bad, &nid, &err), ATP_ENOTFOUND, "account_id");
    FAILS(store_backtest_interrupt(c.s, "", &n, &err), ATP_EINVAL, "reason");
    end(&c);
}

/* The list: what a user submitted plus what is tied to accounts it owns or was granted; newest
 * first, paged by cursor. */
void store_suite_backtests_visibility_and_pages(const struct store_suite_env *env)
{
    struct ctx c;
    struct atp_err err;
    begin(&c, env);
    int64_t owner = add_user(&c, "o@example.com", STORE_ROLE_TRADER);
    int64_t other = add_user(&c, "x@example.com", STORE_ROLE_TRADER);
    int64_t inv = add_user(&c, "i@example.com", STORE_ROLE_INVESTOR);
    int64_t acc = add_account(&c, owner, "A");
    OK(store_access_grant(c.s, acc, inv, STORE_ACCESS_INVESTOR, &err));
    int64_t own1 = add_backtest(&c, owner, 0, "a");
    int64_t tied = add_backtest(&c, owner, acc, "b");
    int64_t theirs = add_backtest(&c, other, 0, "c");
    int64_t own2 = add_backtest(&c, owner, 0, "d");
    static struct store_backtest out[4];
    struct store_page_out res;
    OK(store_backtest_list(c.s, owner, &(struct store_page){0, 2}, out, &res, &err));
    cr_assert_eq(res.count, 2);
    cr_assert_eq(out[0].id, own2, "newest first");
    cr_assert_eq(out[1].id, tied);
    cr_assert_eq(res.next_cursor, tied);
    OK(store_backtest_list(c.s, owner, &(struct store_page){res.next_cursor, 2}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, own1);
    cr_assert_eq(res.next_cursor, 0);
    OK(store_backtest_list(c.s, inv, &(struct store_page){0, 4}, out, &res, &err));
    cr_assert_eq(res.count, 1, "the investor sees the tied one only");
    cr_assert_eq(out[0].id, tied);
    cr_assert_eq(out[0].account_id, acc);
    OK(store_backtest_list(c.s, other, &(struct store_page){0, 4}, out, &res, &err));
    cr_assert_eq(res.count, 1);
    cr_assert_eq(out[0].id, theirs);
    FAILS(store_backtest_list(c.s, 0, &(struct store_page){0, 4}, out, &res, &err), ATP_EINVAL, "user_id");
    end(&c);
}
