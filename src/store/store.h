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

/* ==== strategies and account risk limits (issue 5 §2; docs/strategies.md "In the server") ====
 * Strategy instances belong to a trading account and are scoped by it like every child row: a
 * strategy id of another account is ATP_ENOTFOUND. The server keeps the runtime (the paper
 * kernel) and the store in step: the stored state is what a restart resumes. */

#define STORE_STRAT_TYPE_MAX 64
#define STORE_STRAT_JSON_MAX 2048   /* symbols, params, risk: JSON text */
#define STORE_STRAT_TFS_MAX 128     /* timeframes: JSON text */
#define STORE_STRAT_REASON_MAX 256
#define STORE_STRAT_SIGNAL_MAX 512  /* the last signal: JSON text */

enum store_trade_mode { STORE_MODE_PAPER = 0, STORE_MODE_LIVE };
enum store_strategy_state { STORE_STRAT_STOPPED = 0, STORE_STRAT_RUNNING, STORE_STRAT_PAUSED };
/* "paper", "live" / "stopped", "running", "paused"; NULL when out of range. */
const char *store_trade_mode_name(int mode);
const char *store_strategy_state_name(int state);

struct store_strategy {
    int64_t id;
    int64_t account_id;
    char type[STORE_STRAT_TYPE_MAX];          /* registry name, non-empty */
    char name[STORE_NAME_MAX];                /* non-empty */
    char symbols[STORE_STRAT_JSON_MAX];       /* JSON array, non-empty text */
    char timeframes[STORE_STRAT_TFS_MAX];     /* JSON array, non-empty text */
    char params[STORE_STRAT_JSON_MAX];        /* JSON object ("{}" when none) */
    char risk[STORE_STRAT_JSON_MAX];          /* JSON object */
    int mode;                                 /* enum store_trade_mode */
    int state;                                /* enum store_strategy_state */
    char state_reason[STORE_STRAT_REASON_MAX];
    char last_signal[STORE_STRAT_SIGNAL_MAX]; /* JSON object, "" before any signal */
    int64_t last_signal_ns;
    int64_t created_ns;                       /* set by the store */
    int64_t updated_ns;                       /* set by the store on every change */
};

/* Creates a strategy from st (id, state, reason, signal and times ignored: it starts stopped).
 * ATP_ENOTFOUND (field "account_id") for an absent account. */
int store_strategy_create(struct store *s, const struct store_strategy *st, int64_t *id_out, struct atp_err *err);
/* Strategy id of account_id. ATP_ENOTFOUND (field "strategy_id"). */
int store_strategy_get(struct store *s, int64_t account_id, int64_t id, struct store_strategy *out,
                       struct atp_err *err);
/* The account a strategy belongs to: for the server's ownership resolution only (the policy then
 * decides on that account). ATP_ENOTFOUND (field "strategy_id"). */
int store_strategy_account(struct store *s, int64_t id, int64_t *account_id_out, struct atp_err *err);

struct store_strategy_filter {
    int64_t user_id;    /* > 0: only accounts the user owns or was granted; 0: every account */
    int64_t account_id; /* > 0: only this account */
    int active_only;    /* 1: only running and paused ones (the server's restart) */
};
/* Strategies in id order (cursor: id). f may be NULL (everything). */
int store_strategy_list(struct store *s, const struct store_strategy_filter *f, const struct store_page *page,
                        struct store_strategy *out, struct store_page_out *res, struct atp_err *err);
/* Replaces name, symbols, timeframes, params and risk of (v->account_id, v->id), only while it is
 * stopped: ATP_ESTATE (field "state") otherwise; ATP_ENOTFOUND (field "strategy_id"). */
int store_strategy_update(struct store *s, const struct store_strategy *v, struct atp_err *err);
/* Deletes a stopped strategy: ATP_ESTATE (field "state") when it is not; ATP_ENOTFOUND. */
int store_strategy_delete(struct store *s, int64_t account_id, int64_t id, struct atp_err *err);
/* Records a state (enum store_strategy_state) and why (reason may be NULL or ""). ATP_ENOTFOUND. */
int store_strategy_set_state(struct store *s, int64_t account_id, int64_t id, int state, const char *reason,
                             struct atp_err *err);
/* Records the last signal (JSON text, non-empty) at ts_ns. ATP_ENOTFOUND. */
int store_strategy_set_signal(struct store *s, int64_t account_id, int64_t id, const char *signal_json,
                              int64_t ts_ns, struct atp_err *err);

/* Risk limits of (account, mode), set by the owner, and the loss-limit breach in force. A limit
 * of 0 is off. Amounts are px (1/10000 rupee, core/px.h). */
struct store_risk_limits {
    int64_t account_id;
    int mode;                 /* enum store_trade_mode */
    int64_t max_loss;         /* breach when the day's net P&L <= -max_loss */
    int64_t max_position_qty; /* |position| per instrument, units */
    int64_t max_order_value;  /* one order's qty x price */
    int32_t max_open_orders;
    int breached;             /* 1 from a breach until the owner acknowledges it */
    int64_t breach_pnl;       /* net P&L that breached */
    int64_t breached_ns;
    int64_t acknowledged_ns;  /* the last acknowledgement, 0: never */
    int64_t updated_ns;       /* set by the store */
};
/* ATP_ENOTFOUND (field "account_id") when none were ever set for (account, mode). */
int store_risk_limits_get(struct store *s, int64_t account_id, int mode, struct store_risk_limits *out,
                          struct atp_err *err);
/* Inserts or replaces the four limits of (lim->account_id, lim->mode); the breach fields are kept
 * (a new row starts unbreached). Negative limits: ATP_EINVAL naming the field. ATP_ENOTFOUND
 * (field "account_id") for an absent account. */
int store_risk_limits_set(struct store *s, const struct store_risk_limits *lim, struct atp_err *err);
/* Records a breach of (account, mode) at ts_ns with the net P&L that caused it (a row with the
 * limits off is created when none exists). */
int store_risk_breach_record(struct store *s, int64_t account_id, int mode, int64_t pnl, int64_t ts_ns,
                             struct atp_err *err);
/* Clears the breach at ts_ns. ATP_ESTATE (field "breached") when none is in force. */
int store_risk_breach_ack(struct store *s, int64_t account_id, int mode, int64_t ts_ns, struct atp_err *err);

/* The admin's limit of strategies running at once per account in a mode. ATP_ENOTFOUND (field
 * "mode") when never set (the server's default applies). */
int store_strategy_limit_get(struct store *s, int mode, int32_t *max_running_out, struct atp_err *err);
/* max_running >= 0 (0: no strategy may start). */
int store_strategy_limit_set(struct store *s, int mode, int32_t max_running, struct atp_err *err);

/* ==== end of strategies ==== */

/* ---- paper trading: funds, orders, fills, kill switches (migration 003) ----
 * The trading service (api/trading.h) is the writer; handlers read. Money is px_t (1/10000 rupee,
 * core/px.h) in int64 *_px fields, exact. Enumerations are their model names as text ("BUY",
 * "SL-M", "PARTIALLY_FILLED", ...): the store keeps them verbatim and knows only which states are
 * working (NEW, PENDING_SUBMIT, OPEN, TRIGGER_PENDING, PARTIALLY_FILLED). */

#define STORE_ENUM_MAX 24        /* "PARTIALLY_FILLED" and the like */
#define STORE_SYMBOL_MAX 48
#define STORE_CLIENT_KEY_MAX 64  /* Idempotency-Key, at most 63 characters */
#define STORE_TAG_MAX 24
#define STORE_ORDER_REASON_MAX 256
#define STORE_VENUE_ID_MAX 48

struct store_funds {
    int64_t account_id;
    int64_t initial_capital_px;  /* >= 0 */
    int64_t updated_ns;
};

/* Sets (inserts or replaces) an account's paper starting capital. ATP_ENOTFOUND (field
 * "account_id") for an absent account. */
int store_funds_set(struct store *s, int64_t account_id, int64_t initial_capital_px, struct atp_err *err);
/* ATP_ENOTFOUND when the account has no funds row (it trades with the default). */
int store_funds_get(struct store *s, int64_t account_id, struct store_funds *out, struct atp_err *err);
/* Every funds row in account id order (cursor: account id): the accounts to open at start-up. */
int store_funds_list(struct store *s, const struct store_page *page, struct store_funds *out,
                     struct store_page_out *res, struct atp_err *err);

struct store_order {
    int64_t id;
    int64_t account_id;
    char mode[STORE_ENUM_MAX];
    int64_t strategy_id;                      /* 0: manual */
    char client_key[STORE_CLIENT_KEY_MAX];    /* "" when none */
    char tag[STORE_TAG_MAX];
    char symbol[STORE_SYMBOL_MAX];
    char side[STORE_ENUM_MAX];
    int64_t qty;                              /* > 0, the current total (a modify changes it) */
    char type[STORE_ENUM_MAX];
    int64_t price_px;                         /* limit price, 0 when none */
    int64_t trigger_px;                       /* 0 when none */
    char product[STORE_ENUM_MAX];
    char validity[STORE_ENUM_MAX];
    char state[STORE_ENUM_MAX];
    int64_t filled_qty;
    int64_t filled_notional_px;               /* exact sum of fill qty x price */
    char reason[STORE_ORDER_REASON_MAX];
    int64_t created_ns;
    int64_t updated_ns;
};

/* Inserts an order (id, filled, reason and times are set here: created = updated = now) and its
 * first history row, in one transaction. ATP_EEXIST (field "client_key") when the account already
 * has an order with this client key; ATP_ENOTFOUND (field "account_id"). */
int store_order_insert(struct store *s, const struct store_order *o, int64_t *id_out, struct atp_err *err);
int store_order_get(struct store *s, int64_t account_id, int64_t order_id, struct store_order *out,
                    struct atp_err *err);
/* The account's order with this client key; ATP_ENOTFOUND when none. */
int store_order_find_key(struct store *s, int64_t account_id, const char *client_key,
                         struct store_order *out, struct atp_err *err);

struct store_order_filter {
    int64_t account_id;          /* 0: every account (start-up recovery) */
    char state[STORE_ENUM_MAX];  /* "" any, "WORKING" the working states, else one state */
};
/* Orders matching f in id order (cursor: order id). */
int store_order_list(struct store *s, const struct store_order_filter *f, const struct store_page *page,
                     struct store_order *out, struct store_page_out *res, struct atp_err *err);

/* A change of an order: new state, terms and fill totals. */
struct store_order_change {
    int64_t account_id;
    int64_t order_id;
    char state[STORE_ENUM_MAX];
    int64_t qty;
    int64_t price_px;
    int64_t trigger_px;
    int64_t filled_qty;
    int64_t filled_notional_px;
    char reason[STORE_ORDER_REASON_MAX];
};
/* Applies c to its order (updated = now) and, when the state changes, appends a history row, in
 * one transaction. ATP_ENOTFOUND (field "order_id") outside the account. */
int store_order_update(struct store *s, const struct store_order_change *c, struct atp_err *err);

struct store_order_hist {
    int64_t id;
    char state[STORE_ENUM_MAX];
    char reason[STORE_ORDER_REASON_MAX];
    int64_t ts_ns;
};
/* An order's state history, oldest first, at most cap rows. ATP_ENOTFOUND outside the account. */
int store_order_history(struct store *s, int64_t account_id, int64_t order_id, struct store_order_hist *out,
                        uint32_t cap, uint32_t *count_out, struct atp_err *err);

struct store_fill {
    int64_t id;
    int64_t order_id;
    int64_t account_id;
    char mode[STORE_ENUM_MAX];
    int64_t strategy_id;                  /* 0: manual */
    char venue_id[STORE_VENUE_ID_MAX];    /* the broker's trade id */
    char symbol[STORE_SYMBOL_MAX];
    char side[STORE_ENUM_MAX];
    char product[STORE_ENUM_MAX];
    int64_t qty;                          /* > 0 */
    int64_t price_px;                     /* > 0 */
    int64_t charges_px;
    int64_t ts_ns;                        /* market time of the trade */
    int64_t created_ns;
};
/* Records a fill and the change it makes to its order (c: the order's new state and totals) in
 * one transaction, so the fills' quantity always equals the order's filled quantity, whatever
 * moment the process dies at. ATP_ENOTFOUND (field "order_id") outside the account. */
int store_fill_record(struct store *s, const struct store_fill *f, const struct store_order_change *c,
                      int64_t *id_out, struct atp_err *err);
/* Fills of an account (account_id 0: every account), in id order (cursor: fill id). */
int store_fill_list(struct store *s, int64_t account_id, const struct store_page *page, struct store_fill *out,
                    struct store_page_out *res, struct atp_err *err);

struct store_kill_switch {
    int64_t account_id;          /* 0: the global switch */
    char state[STORE_ENUM_MAX];  /* ACTIVE | REDUCING | HALTED */
    int64_t set_by;              /* user id, 0: system */
    char reason[STORE_ORDER_REASON_MAX];
    int64_t updated_ns;
};
/* Sets a switch (updated = now). */
int store_kill_switch_set(struct store *s, const struct store_kill_switch *k, struct atp_err *err);
/* ATP_ENOTFOUND when the switch was never set (it is ACTIVE). */
int store_kill_switch_get(struct store *s, int64_t account_id, struct store_kill_switch *out, struct atp_err *err);
/* Every switch ever set, in account id order (the global one first; cursor: account id + 1). */
int store_kill_switch_list(struct store *s, const struct store_page *page, struct store_kill_switch *out,
                           struct store_page_out *res, struct atp_err *err);

/* ---- end of paper trading ---- */

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
