/* store: the persistence interface of ATP (users, sessions, accounts and their sharing, invitations,
 * broker credentials, audit, notifications). Callers use typed operations, never SQL. One opaque
 * struct store per connection, opened from a URL that picks the backend:
 *
 *   sqlite:PATH         embedded SQLite file (WAL), created if missing (and its parent directory)
 *   sqlite::memory:     private in-memory SQLite database (tests)
 *   postgres://...      PostgreSQL through libpq (postgresql:// too; libpq URI syntax)
 *
 * Thread rule: a store value is one database connection. It may be used by one thread at a time
 * (in the server: the store thread); calls are not internally locked. Open one store per thread
 * that needs its own connection.
 *
 * Tenancy rule: "the store scopes, the policy decides". Every function touching an account's rows
 * takes the account id and constrains every statement with it, so a child row id (invitation,
 * broker connection, grant) that belongs to another account is ATP_ENOTFOUND, exactly like an absent
 * one. Per-user rows (refresh tokens, notifications, prefs) are scoped by the user id the same way.
 * Whether the acting user may do an action is decided by the policy layer, which asks
 * store_access_role(); the store itself takes no acting user except in the one list keyed by a user,
 * store_accounts_list_for_user (owned + shared, nothing else); store_accounts_list_all (every
 * account, for an admin, whom the policy lets see every account) only annotates with a user's access.
 *
 * Values are plain structs with fixed-size, NUL-terminated string buffers (limits below, in bytes
 * including the NUL), int64 ids (> 0; 0 means "none") and int64 times (ns since the Unix epoch,
 * UTC; 0 means "never"). Every function returns ATP_OK or a negative enum atp_status, with err
 * (optional) naming the field at fault: ATP_EINVAL bad argument, ATP_EEXIST duplicate,
 * ATP_ENOTFOUND absent (or outside the scope), ATP_EIO database failure, ATP_ENOMEM. */
#ifndef ATP_STORE_STORE_H
#define ATP_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct store;

/* String limits, bytes including the terminating NUL. */
#define STORE_EMAIL_MAX 256
#define STORE_NAME_MAX 128
#define STORE_PWHASH_MAX 256     /* encoded password hash (argon2id string) */
#define STORE_TOKEN_HASH_MAX 129 /* hash of a token, e.g. 64 hex digits of SHA-256 */
#define STORE_TOTP_MAX 128       /* encrypted TOTP secret, bytes (binary) */
#define STORE_BROKER_MAX 32
#define STORE_KEY_ID_MAX 128
#define STORE_MASKED_MAX 128
#define STORE_CIPHER_MAX 4096    /* broker credential ciphertext, bytes (binary) */
#define STORE_NONCE_MAX 32       /* bytes (binary) */
#define STORE_ACTION_MAX 64
#define STORE_RESOURCE_MAX 128
#define STORE_IP_MAX 64
#define STORE_UA_MAX 256
#define STORE_RESULT_MAX 16
#define STORE_DETAILS_MAX 2048   /* JSON text */
#define STORE_NTYPE_MAX 64
#define STORE_TITLE_MAX 256
#define STORE_BODY_MAX 2048
#define STORE_CHANNEL_MAX 32
#define STORE_MIGRATION_NAME_MAX 64

/* Largest page any list returns. */
#define STORE_PAGE_MAX 500u

enum store_user_role { STORE_ROLE_ADMIN = 0, STORE_ROLE_TRADER, STORE_ROLE_INVESTOR };
enum store_user_status { STORE_USER_ACTIVE = 0, STORE_USER_DISABLED };
/* A user's relation to an account. Grants hold TRADER or INVESTOR; OWNER comes from the account. */
enum store_access { STORE_ACCESS_NONE = 0, STORE_ACCESS_OWNER, STORE_ACCESS_TRADER, STORE_ACCESS_INVESTOR };
enum store_invite_status {
    STORE_INVITE_PENDING = 0,
    STORE_INVITE_ACCEPTED,
    STORE_INVITE_REJECTED,
    STORE_INVITE_EXPIRED,
    STORE_INVITE_REVOKED,
};

/* Text of the enums as stored ("admin", "trader", ...); NULL when out of range. */
const char *store_user_role_name(int role);
const char *store_user_status_name(int status);
const char *store_access_name(int access);
const char *store_invite_status_name(int status);

/* A page request: cursor 0 starts at the beginning; otherwise the next_cursor of the previous page.
 * limit 1..STORE_PAGE_MAX; out arrays must hold limit entries. */
struct store_page {
    int64_t cursor;
    uint32_t limit;
};
/* A page result: count entries were written; next_cursor is 0 when there are no more. */
struct store_page_out {
    uint32_t count;
    int64_t next_cursor;
};

/* ---- users ---- */

struct store_user {
    int64_t id;
    char email[STORE_EMAIL_MAX]; /* as given; unique ASCII-case-insensitively */
    char name[STORE_NAME_MAX];
    char password_hash[STORE_PWHASH_MAX];
    int role;                    /* enum store_user_role */
    int status;                  /* enum store_user_status */
    int32_t failed_logins;       /* >= 0 */
    int64_t locked_until_ns;     /* 0: not locked */
    uint8_t totp_secret[STORE_TOTP_MAX]; /* encrypted by the caller; the store never sees it plain */
    uint32_t totp_secret_len;
    int totp_enabled;            /* 0 or 1 */
    int64_t created_ns;          /* set by the store */
    int64_t updated_ns;          /* set by the store on every change */
};

/* Fields of store_user_update. */
enum store_user_field {
    STORE_USER_F_ROLE = 1u << 0,
    STORE_USER_F_STATUS = 1u << 1,
    STORE_USER_F_PASSWORD = 1u << 2,
    STORE_USER_F_LOCKOUT = 1u << 3, /* failed_logins and locked_until_ns */
    STORE_USER_F_TOTP = 1u << 4,    /* totp_secret(_len) and totp_enabled */
    STORE_USER_F_NAME = 1u << 5,
};

/* Creates a user from u (id, created_ns, updated_ns ignored); *id_out gets the new id.
 * ATP_EEXIST (field "email") when the email is taken in any ASCII case. */
int store_user_create(struct store *s, const struct store_user *u, int64_t *id_out, struct atp_err *err);
int store_user_get(struct store *s, int64_t user_id, struct store_user *out, struct atp_err *err);
/* Looks the email up ASCII-case-insensitively. */
int store_user_get_by_email(struct store *s, const char *email, struct store_user *out,
                            struct atp_err *err);
/* Users in id order. */
int store_user_list(struct store *s, const struct store_page *page, struct store_user *out,
                    struct store_page_out *res, struct atp_err *err);
/* Sets the fields named in `fields` (enum store_user_field bits) from values; updated_ns is set.
 * ATP_ENOTFOUND when user_id is absent. */
int store_user_update(struct store *s, int64_t user_id, unsigned fields, const struct store_user *values,
                      struct atp_err *err);

/* ---- refresh tokens (rotation families) ---- */

struct store_refresh_token {
    int64_t id;
    int64_t user_id;
    char family_id[STORE_TOKEN_HASH_MAX]; /* one login's rotation chain */
    char token_hash[STORE_TOKEN_HASH_MAX]; /* unique */
    int64_t expires_ns;
    int64_t revoked_ns;        /* 0: live */
    int64_t replaced_by;       /* id of the token that rotated this one, 0: none */
    int64_t created_ns;
};

/* ATP_EEXIST (field "token_hash") on a duplicate hash; ATP_ENOTFOUND (field "user_id"). */
int store_token_insert(struct store *s, const struct store_refresh_token *t, int64_t *id_out,
                       struct atp_err *err);
int store_token_find(struct store *s, const char *token_hash, struct store_refresh_token *out,
                     struct atp_err *err);
/* Revokes one token of user_id (scope) at now, recording replaced_by (0: none). Revoking a revoked
 * token keeps its first revocation time. ATP_ENOTFOUND when absent for that user. */
int store_token_revoke(struct store *s, int64_t user_id, int64_t token_id, int64_t replaced_by,
                       struct atp_err *err);
/* Revokes every live token of the family of user_id; *count_out (optional) gets how many. */
int store_token_revoke_family(struct store *s, int64_t user_id, const char *family_id, int *count_out,
                              struct atp_err *err);
/* Revokes every live token of user_id except keep_id (0: all). */
int store_token_revoke_all_except(struct store *s, int64_t user_id, int64_t keep_id, int *count_out,
                                  struct atp_err *err);

/* ==== sessions (owner: the sessions work; docs/security.md "Sessions") ====
 * A login opens one session, which is one refresh-token family: the session id IS the family id
 * of its refresh tokens (store_refresh_token.family_id) and the "sid" claim of its access tokens.
 * The server checks the session on every authenticated request (revoked? idle too long?) and takes
 * the user's current role and status from the same read, so revocation, a role change or a
 * disable act on the next request. Scoped by user id like the refresh tokens. */

#define STORE_SESSION_ID_MAX STORE_TOKEN_HASH_MAX
#define STORE_REASON_MAX 32

struct store_session {
    char id[STORE_SESSION_ID_MAX]; /* the refresh-token family id; unique */
    int64_t user_id;
    int64_t created_ns;            /* set by the store */
    int64_t last_seen_ns;          /* created_ns, then advanced by store_session_touch */
    int64_t revoked_ns;            /* 0: live */
    char revoke_reason[STORE_REASON_MAX]; /* why it was revoked ("logout", ...); "" while live */
    char ip[STORE_IP_MAX];         /* where the login came from (may be empty) */
    char user_agent[STORE_UA_MAX]; /* its User-Agent (may be empty) */
};

/* Opens session ss (created_ns and last_seen_ns are set to now; revoked fields ignored).
 * ATP_EEXIST (field "id") for a taken id; ATP_ENOTFOUND (field "user_id") for an absent user. */
int store_session_create(struct store *s, const struct store_session *ss, struct atp_err *err);
/* Reads session id and, in the same statement, its user's current role and status (user_role and
 * user_status optional: enum store_user_role / store_user_status). ATP_ENOTFOUND when absent. */
int store_session_get(struct store *s, const char *id, struct store_session *out, int *user_role,
                      int *user_status, struct atp_err *err);
/* Advances last_seen_ns of live session id to seen_ns (never backwards; a revoked session is left
 * as it is). ATP_OK also when nothing changed. */
int store_session_touch(struct store *s, const char *id, int64_t seen_ns, struct atp_err *err);
/* Revokes session id of user_id and every live refresh token of its family, in one transaction,
 * recording reason (non-empty). Revoking a revoked session keeps its first time and reason.
 * ATP_ENOTFOUND when the session is not user_id's. */
int store_session_revoke(struct store *s, int64_t user_id, const char *id, const char *reason,
                         struct atp_err *err);
/* Revokes every live session of user_id except keep_id ("" or NULL: all of them) and their refresh
 * tokens, in one transaction; *count_out (optional) gets how many sessions. */
int store_session_revoke_others(struct store *s, int64_t user_id, const char *keep_id, const char *reason,
                                int *count_out, struct atp_err *err);

/* TOTP replay guard: the last time step (RFC 6238) accepted for user_id, -1 before any.
 * store_totp_step_advance records step only when it is later than the stored one, atomically (a
 * concurrent use of the same code loses): ATP_OK when recorded, ATP_ESTATE (field "step") when
 * step is not later (a replay). store_totp_step_reset sets it back to -1 (a new secret).
 * ATP_ENOTFOUND for an absent user. */
int store_totp_step_get(struct store *s, int64_t user_id, int64_t *step_out, struct atp_err *err);
int store_totp_step_advance(struct store *s, int64_t user_id, int64_t step, struct atp_err *err);
int store_totp_step_reset(struct store *s, int64_t user_id, struct atp_err *err);

/* ==== end of sessions ==== */

/* ---- trading accounts and sharing ---- */

struct store_account {
    int64_t id;
    int64_t owner_id;
    char name[STORE_NAME_MAX];
    char broker[STORE_BROKER_MAX]; /* "paper", "kite", ...; may be empty */
    int64_t created_ns;
    int access;                    /* in the account lists: the user's enum store_access */
};

/* ATP_ENOTFOUND (field "owner_id") when the owner does not exist. */
int store_account_create(struct store *s, const struct store_account *a, int64_t *id_out,
                         struct atp_err *err);
int store_account_get(struct store *s, int64_t account_id, struct store_account *out, struct atp_err *err);
/* Accounts user_id owns or was granted, in id order, each with its access. Nothing else. */
int store_accounts_list_for_user(struct store *s, int64_t user_id, const struct store_page *page,
                                 struct store_account *out, struct store_page_out *res,
                                 struct atp_err *err);
/* Every account, in id order, each with user_id's access (NONE where it has none): for an admin,
 * who sees every account. */
int store_accounts_list_all(struct store *s, int64_t user_id, const struct store_page *page,
                            struct store_account *out, struct store_page_out *res, struct atp_err *err);
int store_account_rename(struct store *s, int64_t account_id, const char *name, struct atp_err *err);

struct store_grant {
    int64_t account_id;
    int64_t user_id;
    int role;        /* STORE_ACCESS_TRADER or STORE_ACCESS_INVESTOR */
    int64_t granted_ns;
};

/* Grants (or changes) user_id's role on account_id. ATP_EINVAL (field "user_id") for the owner,
 * who needs no grant; ATP_ENOTFOUND for an absent account or user. */
int store_access_grant(struct store *s, int64_t account_id, int64_t user_id, int role, struct atp_err *err);
/* ATP_ENOTFOUND when there is no such grant. */
int store_access_revoke(struct store *s, int64_t account_id, int64_t user_id, struct atp_err *err);
/* Grants of an account in user id order (cursor: user id). */
int store_access_list(struct store *s, int64_t account_id, const struct store_page *page,
                      struct store_grant *out, struct store_page_out *res, struct atp_err *err);
/* user_id's relation to account_id (enum store_access; NONE when neither owner nor granted).
 * ATP_ENOTFOUND when the account does not exist. */
int store_access_role(struct store *s, int64_t account_id, int64_t user_id, int *access_out,
                      struct atp_err *err);

/* ---- invitations ---- */

struct store_invitation {
    int64_t id;
    int64_t account_id;
    char email[STORE_EMAIL_MAX];
    char token_hash[STORE_TOKEN_HASH_MAX]; /* unique */
    int status;                            /* enum store_invite_status */
    int role;                              /* access granted on acceptance: TRADER or INVESTOR */
    int64_t expires_ns;
    int64_t created_by;                    /* user id */
    int64_t created_ns;
    int64_t updated_ns;
};

/* Creates a pending invitation (status ignored). */
int store_invite_create(struct store *s, const struct store_invitation *inv, int64_t *id_out,
                        struct atp_err *err);
int store_invite_list_for_account(struct store *s, int64_t account_id, const struct store_page *page,
                                  struct store_invitation *out, struct store_page_out *res,
                                  struct atp_err *err);
/* Invitations addressed to email (ASCII-case-insensitively), any account. */
int store_invite_list_for_email(struct store *s, const char *email, const struct store_page *page,
                                struct store_invitation *out, struct store_page_out *res,
                                struct atp_err *err);
int store_invite_find(struct store *s, const char *token_hash, struct store_invitation *out,
                      struct atp_err *err);
/* Sets the status of invitation_id of account_id. Only a pending invitation changes: otherwise
 * ATP_ESTATE (field "status"). */
int store_invite_set_status(struct store *s, int64_t account_id, int64_t invitation_id, int status,
                            struct atp_err *err);
/* Accepts pending invitation_id of account_id for user_id in one transaction: the status becomes
 * accepted and user_id is granted the invitation's role. Nothing changes on failure: ATP_ESTATE
 * (not pending), ATP_ENOTFOUND (invitation, or user "user_id"), ATP_EINVAL ("user_id" is the
 * owner). Whether user_id may accept (its email matches) is the policy layer's check. */
int store_invite_accept(struct store *s, int64_t account_id, int64_t invitation_id, int64_t user_id,
                        struct atp_err *err);
/* Marks every pending invitation with expires_ns <= now_ns expired; *count_out gets how many. */
int store_invite_expire(struct store *s, int64_t now_ns, int *count_out, struct atp_err *err);

/* ---- broker connections ---- */

struct store_broker_conn {
    int64_t id;
    int64_t account_id;
    char broker[STORE_BROKER_MAX];
    char key_id[STORE_KEY_ID_MAX];   /* which vault key encrypted the blob */
    char masked[STORE_MASKED_MAX];   /* safe-to-show summary, e.g. "api key ****7f2a" */
    int64_t created_ns;
};
struct store_broker_secret {
    uint8_t ciphertext[STORE_CIPHER_MAX];
    uint32_t ciphertext_len;         /* >= 1 */
    uint8_t nonce[STORE_NONCE_MAX];
    uint32_t nonce_len;              /* >= 1 */
};

int store_broker_create(struct store *s, const struct store_broker_conn *c,
                        const struct store_broker_secret *secret, int64_t *id_out, struct atp_err *err);
/* Connections of an account without their secrets, in id order. */
int store_broker_list(struct store *s, int64_t account_id, const struct store_page *page,
                      struct store_broker_conn *out, struct store_page_out *res, struct atp_err *err);
int store_broker_delete(struct store *s, int64_t account_id, int64_t conn_id, struct atp_err *err);
/* For the vault only: the encrypted blob of conn_id of account_id (and its metadata if meta). */
int store_broker_secret_get(struct store *s, int64_t account_id, int64_t conn_id,
                            struct store_broker_conn *meta, struct store_broker_secret *out,
                            struct atp_err *err);

/* ---- audit log (append-only) ---- */

struct store_audit {
    int64_t id;
    int64_t ts_ns;
    int64_t user_id;     /* 0: anonymous / system */
    int64_t account_id;  /* 0: not account-scoped */
    char action[STORE_ACTION_MAX];
    char resource[STORE_RESOURCE_MAX];
    char ip[STORE_IP_MAX];
    char user_agent[STORE_UA_MAX];
    char result[STORE_RESULT_MAX]; /* "ok", "denied", "error", ... */
    char details[STORE_DETAILS_MAX]; /* JSON text, stored verbatim; may be empty */
};
/* Filters; zero / empty means "any". */
struct store_audit_filter {
    int64_t user_id;
    int64_t account_id;
    char action[STORE_ACTION_MAX];
    int64_t from_ns;     /* ts_ns >= from_ns */
    int64_t to_ns;       /* ts_ns < to_ns (0: no bound) */
};

int store_audit_append(struct store *s, const struct store_audit *a, int64_t *id_out, struct atp_err *err);
/* Matching entries newest first (by id). f may be NULL. */
int store_audit_query(struct store *s, const struct store_audit_filter *f, const struct store_page *page,
                      struct store_audit *out, struct store_page_out *res, struct atp_err *err);

/* ---- notifications ---- */

struct store_notification {
    int64_t id;
    int64_t user_id;
    char type[STORE_NTYPE_MAX];
    char title[STORE_TITLE_MAX];
    char body[STORE_BODY_MAX];
    int read;            /* 0 or 1 */
    int64_t ts_ns;
};

int store_notif_create(struct store *s, const struct store_notification *n, int64_t *id_out,
                       struct atp_err *err);
/* user_id's notifications newest first; unread_only filters. */
int store_notif_list(struct store *s, int64_t user_id, int unread_only, const struct store_page *page,
                     struct store_notification *out, struct store_page_out *res, struct atp_err *err);
/* ATP_ENOTFOUND when notif_id is not user_id's. */
int store_notif_mark_read(struct store *s, int64_t user_id, int64_t notif_id, struct atp_err *err);

struct store_notif_pref {
    int64_t id;
    int64_t user_id;
    char type[STORE_NTYPE_MAX];
    char channel[STORE_CHANNEL_MAX]; /* "in_app", "email", ... */
    int enabled;
};

/* Inserts or replaces the (user, type, channel) preference. */
int store_pref_set(struct store *s, const struct store_notif_pref *p, struct atp_err *err);
int store_pref_list(struct store *s, int64_t user_id, const struct store_page *page,
                    struct store_notif_pref *out, struct store_page_out *res, struct atp_err *err);

/* ---- administration, vault rotation, notification additions ----
 * (Added with the admin routes, `atp vault rotate|check` and the notification routes.) */

/* A cheap round trip to the database (SELECT 1): for the status route's latency figure. */
int store_ping(struct store *s, struct atp_err *err);

/* Row counts for the status route (one statement; a scan of each table, cheap at platform sizes). */
struct store_stats {
    int64_t users;               /* every user */
    int64_t admins_active;       /* role admin and status active */
    int64_t accounts;            /* trading accounts */
    int64_t broker_connections;
};
int store_stats_get(struct store *s, struct store_stats *out, struct atp_err *err);

/* Sets role and/or status (fields: STORE_USER_F_ROLE | STORE_USER_F_STATUS only, else ATP_EINVAL
 * "fields") of user_id from values, in one transaction that refuses to leave the platform
 * without an active admin: when user_id is an active admin and the change makes it not one, and
 * no other active admin exists, nothing changes and the answer is ATP_ESTATE (field "role" or
 * "status", whichever the change touches; "role" when both). Concurrent calls are serialised
 * (SQLite: BEGIN IMMEDIATE; PostgreSQL: the active admins' rows are locked FOR UPDATE), so two
 * admins demoting each other cannot both succeed. *before (optional) gets the row as it was.
 * ATP_ENOTFOUND (field "user_id") when absent. */
int store_user_admin_update(struct store *s, int64_t user_id, unsigned fields, const struct store_user *values,
                            struct store_user *before, struct atp_err *err);

/* Marks every unread notification of user_id read; *count_out (optional) gets how many. */
int store_notif_mark_all_read(struct store *s, int64_t user_id, int *count_out, struct atp_err *err);

/* Every broker connection of every account, without secrets, in id order: for the vault's
 * rotation and check, which run as the operator, never for a request. */
int store_broker_list_all(struct store *s, const struct store_page *page, struct store_broker_conn *out,
                          struct store_page_out *res, struct atp_err *err);

/* Replaces the sealed blob and key id of conn_id of account_id, only while its key id is still
 * expect_key_id (compare-and-set: a re-run or a concurrent rotation never re-seals twice).
 * ATP_ENOTFOUND (field "conn_id") when absent; ATP_ESTATE (field "key_id") when the stored key
 * id is no longer expect_key_id. */
int store_broker_secret_replace(struct store *s, int64_t account_id, int64_t conn_id, const char *expect_key_id,
                                const char *key_id, const struct store_broker_secret *secret,
                                struct atp_err *err);

/* ---- end of the administration additions ---- */

/* ==== backtests (owner: the backtests API; docs/api.md "Backtests") ====
 * A backtest submitted through the API: who submitted it (user_id), optionally the trading
 * account it is tied to (whose access rules then apply), its request (JSON text, without any
 * uploaded CSV), its state and progress, and once done its metrics (JSON object text), the full
 * result document (JSON of docs/backtest-output.md) and the HTML report. State moves only
 * forward: queued -> running -> done | failed | cancelled (queued -> cancelled | failed too). */

#define STORE_BT_SOURCE_MAX 16
#define STORE_BT_REQUEST_MAX 8192
#define STORE_BT_ERROR_MAX 512
#define STORE_BT_METRICS_MAX 4096
#define STORE_BT_PROGRESS_FULL 1000000 /* progress_ppm of a finished run */

enum store_bt_status {
    STORE_BT_QUEUED = 0,
    STORE_BT_RUNNING,
    STORE_BT_DONE,
    STORE_BT_FAILED,
    STORE_BT_CANCELLED,
};
/* "queued", "running", "done", "failed", "cancelled"; NULL when out of range. */
const char *store_bt_status_name(int status);

struct store_backtest {
    int64_t id;
    int64_t user_id;                      /* who submitted it */
    int64_t account_id;                   /* 0: not tied to an account */
    int status;                           /* enum store_bt_status */
    int32_t progress_ppm;                 /* 0..STORE_BT_PROGRESS_FULL */
    char strategy[STORE_NAME_MAX];        /* strategy type */
    char source[STORE_BT_SOURCE_MAX];     /* "csv", "simulator", "market" */
    char request[STORE_BT_REQUEST_MAX];   /* the request as JSON text (non-empty) */
    char error[STORE_BT_ERROR_MAX];       /* why it failed ("" otherwise) */
    char metrics[STORE_BT_METRICS_MAX];   /* metrics JSON object text once done, else "" */
    int64_t created_ns;                   /* set by the store */
    int64_t started_ns;                   /* 0 until it runs */
    int64_t finished_ns;                  /* 0 until it ends */
};

/* The large documents of a finished backtest (store_backtest_document). */
enum store_bt_doc { STORE_BT_DOC_RESULT = 0, STORE_BT_DOC_REPORT };

/* Creates a queued backtest from b (user_id, account_id, strategy, source, request; the rest is
 * ignored); *id_out gets its id. ATP_ENOTFOUND (field "user_id" or "account_id") for an absent
 * user or account. */
int store_backtest_create(struct store *s, const struct store_backtest *b, int64_t *id_out,
                          struct atp_err *err);
/* ATP_ENOTFOUND (field "backtest_id") when absent. */
int store_backtest_get(struct store *s, int64_t backtest_id, struct store_backtest *out, struct atp_err *err);
/* The backtests user_id may read, newest first (cursor: id): those it submitted and those tied
 * to an account it owns or was granted. The policy decides who calls it; the store scopes. */
int store_backtest_list(struct store *s, int64_t user_id, const struct store_page *page,
                        struct store_backtest *out, struct store_page_out *res, struct atp_err *err);
/* queued -> running (started_ns now). ATP_ESTATE (field "status") when it is not queued (it was
 * cancelled meanwhile), ATP_ENOTFOUND when absent. */
int store_backtest_start(struct store *s, int64_t backtest_id, struct atp_err *err);
/* Sets the progress of a running backtest (0..STORE_BT_PROGRESS_FULL, else ATP_EINVAL); a
 * backtest no longer running is left alone (ATP_OK). */
int store_backtest_progress(struct store *s, int64_t backtest_id, int32_t progress_ppm, struct atp_err *err);
/* Ends a queued or running backtest with status DONE, FAILED or CANCELLED (else ATP_EINVAL),
 * finished_ns now. error (may be NULL: ""), metrics (may be NULL: ""), result_json and
 * report_html (NUL-terminated documents, may be NULL: none) are stored with it; DONE sets the
 * progress to full. ATP_ESTATE (field "status") when it already ended, ATP_ENOTFOUND. */
int store_backtest_finish(struct store *s, int64_t backtest_id, int status, const char *error,
                          const char *metrics, const char *result_json, const char *report_html,
                          struct atp_err *err);
/* One document of a backtest into *out (atp_malloc'd, NUL-terminated, the caller frees) and
 * *len_out (optional). ATP_ENOTFOUND (field "backtest_id" when absent, "document" when the
 * backtest has none: not done, or the report could not be made). */
int store_backtest_document(struct store *s, int64_t backtest_id, int doc, char **out, size_t *len_out,
                            struct atp_err *err);
/* Marks every queued or running backtest failed with reason as its error (at start-up: the
 * process that ran them is gone). *count_out (optional) gets how many. */
int store_backtest_interrupt(struct store *s, const char *reason, int *count_out, struct atp_err *err);

/* ==== end of backtests ==== */

/* ---- lifecycle and migrations ---- */

/* Opens the store named by url (see the top of this file). *out is owned by the caller
 * (store_close). Does not migrate. ATP_EINVAL (field "url") for an unknown or unbuilt backend,
 * ATP_EIO when the database cannot be opened. */
int store_open(const char *url, struct store **out, struct atp_err *err);
/* Closes the connection and frees s. NULL is a no-op. */
void store_close(struct store *s);

/* Clock used for created/updated times (default: CLOCK_REALTIME). Tests set a fixed one. */
void store_set_clock(struct store *s, int64_t (*now_ns)(void *ctx), void *ctx);

/* Applies every pending migration of this backend, each in its own transaction together with its
 * schema_migrations row; *applied_out (optional) gets how many ran. ATP_ESTATE when the database
 * has a version this binary does not know (a newer binary migrated it). */
int store_migrate(struct store *s, int *applied_out, struct atp_err *err);

struct store_migration_status {
    int version;
    char name[STORE_MIGRATION_NAME_MAX];
    int64_t applied_ns;  /* 0: pending */
};
/* Every migration this binary knows, in version order, with when it was applied. out holds cap
 * entries; *count_out gets the number known (which may exceed cap: only cap are written). */
int store_migrate_status(struct store *s, struct store_migration_status *out, int cap, int *count_out,
                         struct atp_err *err);

/* Backend name, "sqlite" or "postgres". */
const char *store_backend(const struct store *s);

#endif
