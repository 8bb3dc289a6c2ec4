/* store/sqlite: SQLite backend. Validation happened in store.c; here are statements and the
 * mapping of SQLite outcomes to enum atp_status. */
#include "store/sqlite/sqlite_store.h"

#include <errno.h>
#include <stdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "store/migrations/migrations.h"
#include "store/store_backend.h"

#define BUSY_TIMEOUT_MS 5000

/* Every statement of the backend, prepared on first use and kept until close. */
enum st {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_MIG_MAX,
    ST_MIG_HAS,
    ST_MIG_INSERT,
    ST_MIG_LIST,
    ST_USER_INSERT,
    ST_USER_GET,
    ST_USER_GET_EMAIL,
    ST_USER_LIST,
    ST_USER_UPDATE,
    ST_TOKEN_INSERT,
    ST_TOKEN_FIND,
    ST_TOKEN_REVOKE,
    ST_TOKEN_REVOKE_FAMILY,
    ST_TOKEN_REVOKE_ALL,
    /* ==== sessions ==== */
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_TOUCH,
    ST_SESSION_REVOKE,
    ST_SESSION_REVOKE_OTHERS,
    ST_SESSION_TOKENS_REVOKE_OTHERS,
    ST_TOTP_STEP_GET,
    ST_TOTP_STEP_ADVANCE,
    ST_TOTP_STEP_RESET,
    /* ==== end of sessions ==== */
    ST_ACCOUNT_INSERT,
    ST_ACCOUNT_GET,
    ST_ACCOUNT_LIST_USER,
    ST_ACCOUNT_LIST_ALL,
    ST_ACCOUNT_RENAME,
    ST_ACCESS_UPSERT,
    ST_ACCESS_DELETE,
    ST_ACCESS_LIST,
    ST_ACCESS_ROLE,
    ST_INVITE_INSERT,
    ST_INVITE_LIST_ACCOUNT,
    ST_INVITE_LIST_EMAIL,
    ST_INVITE_FIND,
    ST_INVITE_SET_STATUS,
    ST_INVITE_STATUS,
    ST_INVITE_GET,
    ST_INVITE_EXPIRE,
    ST_BROKER_INSERT,
    ST_BROKER_LIST,
    ST_BROKER_DELETE,
    ST_BROKER_SECRET,
    ST_AUDIT_INSERT,
    ST_AUDIT_QUERY,
    ST_NOTIF_INSERT,
    ST_NOTIF_LIST,
    ST_NOTIF_READ,
    ST_PREF_UPSERT,
    ST_PREF_LIST,
    /* ==== paper trading ==== */
    ST_FUNDS_UPSERT,
    ST_FUNDS_GET,
    ST_FUNDS_LIST,
    ST_ORDER_INSERT,
    ST_ORDER_GET,
    ST_ORDER_FIND_KEY,
    ST_ORDER_LIST,
    ST_ORDER_STATE,
    ST_ORDER_UPDATE,
    ST_HIST_INSERT,
    ST_HIST_LIST,
    ST_FILL_INSERT,
    ST_FILL_LIST,
    ST_KILL_UPSERT,
    ST_KILL_GET,
    ST_KILL_LIST,
    /* ==== end of paper trading ==== */
    ST_COUNT
};


static const char *const st_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_MIG_MAX] = "SELECT coalesce(max(version), 0) FROM schema_migrations",
    [ST_MIG_HAS] = "SELECT 1 FROM schema_migrations WHERE version = ?1",
    [ST_MIG_INSERT] = "INSERT INTO schema_migrations (version, name, applied_ns) VALUES (?1, ?2, ?3)",
    [ST_MIG_LIST] = "SELECT version, applied_ns FROM schema_migrations ORDER BY version",
    [ST_USER_INSERT] =
        "INSERT INTO users (email, email_key, name, password_hash, role, status, failed_logins, "
        "locked_until_ns, totp_secret, totp_enabled, created_ns, updated_ns) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
    [ST_USER_GET] = "SELECT " STORE_USER_COLS " FROM users WHERE id = ?1",
    [ST_USER_GET_EMAIL] = "SELECT " STORE_USER_COLS " FROM users WHERE email_key = ?1",
    [ST_USER_LIST] = "SELECT " STORE_USER_COLS " FROM users WHERE id > ?1 ORDER BY id LIMIT ?2",
    [ST_USER_UPDATE] =
        "UPDATE users SET "
        "role = CASE WHEN ?1 & 1 THEN ?2 ELSE role END, "
        "status = CASE WHEN ?1 & 2 THEN ?3 ELSE status END, "
        "password_hash = CASE WHEN ?1 & 4 THEN ?4 ELSE password_hash END, "
        "failed_logins = CASE WHEN ?1 & 8 THEN ?5 ELSE failed_logins END, "
        "locked_until_ns = CASE WHEN ?1 & 8 THEN ?6 ELSE locked_until_ns END, "
        "totp_secret = CASE WHEN ?1 & 16 THEN ?7 ELSE totp_secret END, "
        "totp_enabled = CASE WHEN ?1 & 16 THEN ?8 ELSE totp_enabled END, "
        "name = CASE WHEN ?1 & 32 THEN ?9 ELSE name END, "
        "updated_ns = ?10 WHERE id = ?11",
    [ST_TOKEN_INSERT] =
        "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_ns, created_ns) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_TOKEN_FIND] = "SELECT " STORE_TOKEN_COLS " FROM refresh_tokens WHERE token_hash = ?1",
    [ST_TOKEN_REVOKE] =
        "UPDATE refresh_tokens SET revoked_ns = CASE WHEN revoked_ns = 0 THEN ?1 ELSE revoked_ns END, "
        "replaced_by = coalesce(?2, replaced_by) WHERE id = ?3 AND user_id = ?4",
    [ST_TOKEN_REVOKE_FAMILY] = "UPDATE refresh_tokens SET revoked_ns = ?1 "
                               "WHERE user_id = ?2 AND family_id = ?3 AND revoked_ns = 0",
    [ST_TOKEN_REVOKE_ALL] = "UPDATE refresh_tokens SET revoked_ns = ?1 "
                            "WHERE user_id = ?2 AND id <> ?3 AND revoked_ns = 0",
    /* ==== sessions ==== */
    [ST_SESSION_INSERT] = "INSERT INTO sessions (id, user_id, created_ns, last_seen_ns, ip, user_agent) "
                          "VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
    [ST_SESSION_GET] = "SELECT " STORE_SESSION_COLS ", u.role, u.status FROM sessions s "
                       "JOIN users u ON u.id = s.user_id WHERE s.id = ?1",
    [ST_SESSION_TOUCH] = "UPDATE sessions SET last_seen_ns = ?1 WHERE id = ?2 AND last_seen_ns < ?1 "
                         "AND revoked_ns = 0",
    [ST_SESSION_REVOKE] =
        "UPDATE sessions SET revoke_reason = CASE WHEN revoked_ns = 0 THEN ?2 ELSE revoke_reason END, "
        "revoked_ns = CASE WHEN revoked_ns = 0 THEN ?1 ELSE revoked_ns END WHERE id = ?3 AND user_id = ?4",
    [ST_SESSION_REVOKE_OTHERS] = "UPDATE sessions SET revoked_ns = ?1, revoke_reason = ?2 "
                                 "WHERE user_id = ?3 AND id <> ?4 AND revoked_ns = 0",
    [ST_SESSION_TOKENS_REVOKE_OTHERS] = "UPDATE refresh_tokens SET revoked_ns = ?1 "
                                        "WHERE user_id = ?2 AND family_id <> ?3 AND revoked_ns = 0",
    [ST_TOTP_STEP_GET] = "SELECT totp_last_step FROM users WHERE id = ?1",
    [ST_TOTP_STEP_ADVANCE] = "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND totp_last_step < ?1",
    [ST_TOTP_STEP_RESET] = "UPDATE users SET totp_last_step = -1 WHERE id = ?1",
    /* ==== end of sessions ==== */
    [ST_ACCOUNT_INSERT] =
        "INSERT INTO trading_accounts (owner_id, name, broker, created_ns) VALUES (?1, ?2, ?3, ?4)",
    [ST_ACCOUNT_GET] = "SELECT id, owner_id, name, broker, created_ns, 'owner' FROM trading_accounts "
                       "WHERE id = ?1",
    [ST_ACCOUNT_LIST_USER] =
        "SELECT a.id, a.owner_id, a.name, a.broker, a.created_ns, "
        "CASE WHEN a.owner_id = ?1 THEN 'owner' ELSE g.role END "
        "FROM trading_accounts a LEFT JOIN account_access g ON g.account_id = a.id AND g.user_id = ?1 "
        "WHERE (a.owner_id = ?1 OR g.user_id IS NOT NULL) AND a.id > ?2 ORDER BY a.id LIMIT ?3",
    [ST_ACCOUNT_LIST_ALL] =
        "SELECT a.id, a.owner_id, a.name, a.broker, a.created_ns, "
        "CASE WHEN a.owner_id = ?1 THEN 'owner' ELSE COALESCE(g.role, 'none') END "
        "FROM trading_accounts a LEFT JOIN account_access g ON g.account_id = a.id AND g.user_id = ?1 "
        "WHERE a.id > ?2 ORDER BY a.id LIMIT ?3",
    [ST_ACCOUNT_RENAME] = "UPDATE trading_accounts SET name = ?1 WHERE id = ?2",
    [ST_ACCESS_UPSERT] =
        "INSERT INTO account_access (account_id, user_id, role, granted_ns) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role",
    [ST_ACCESS_DELETE] = "DELETE FROM account_access WHERE account_id = ?1 AND user_id = ?2",
    [ST_ACCESS_LIST] = "SELECT account_id, user_id, role, granted_ns FROM account_access "
                       "WHERE account_id = ?1 AND user_id > ?2 ORDER BY user_id LIMIT ?3",
    [ST_ACCESS_ROLE] =
        "SELECT a.owner_id, g.role FROM trading_accounts a "
        "LEFT JOIN account_access g ON g.account_id = a.id AND g.user_id = ?2 WHERE a.id = ?1",
    [ST_INVITE_INSERT] =
        "INSERT INTO invitations (account_id, email, email_key, token_hash, role, expires_ns, "
        "created_by, created_ns, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    [ST_INVITE_LIST_ACCOUNT] = "SELECT " STORE_INVITE_COLS " FROM invitations WHERE account_id = ?1 "
                               "AND id > ?2 ORDER BY id LIMIT ?3",
    [ST_INVITE_LIST_EMAIL] = "SELECT " STORE_INVITE_COLS " FROM invitations WHERE email_key = ?1 "
                             "AND id > ?2 ORDER BY id LIMIT ?3",
    [ST_INVITE_FIND] = "SELECT " STORE_INVITE_COLS " FROM invitations WHERE token_hash = ?1",
    [ST_INVITE_SET_STATUS] = "UPDATE invitations SET status = ?1, updated_ns = ?2 "
                             "WHERE id = ?3 AND account_id = ?4 AND status = 'pending'",
    [ST_INVITE_STATUS] = "SELECT status FROM invitations WHERE id = ?1 AND account_id = ?2",
    [ST_INVITE_GET] = "SELECT " STORE_INVITE_COLS " FROM invitations WHERE id = ?1 AND account_id = ?2",
    [ST_INVITE_EXPIRE] = "UPDATE invitations SET status = 'expired', updated_ns = ?1 "
                         "WHERE status = 'pending' AND expires_ns <= ?2",
    [ST_BROKER_INSERT] =
        "INSERT INTO broker_connections (account_id, broker, key_id, ciphertext, nonce, masked, "
        "created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_BROKER_LIST] = "SELECT " STORE_BROKER_COLS " FROM broker_connections WHERE account_id = ?1 "
                       "AND id > ?2 ORDER BY id LIMIT ?3",
    [ST_BROKER_DELETE] = "DELETE FROM broker_connections WHERE id = ?1 AND account_id = ?2",
    [ST_BROKER_SECRET] = "SELECT " STORE_BROKER_COLS ", ciphertext, nonce FROM broker_connections "
                         "WHERE id = ?1 AND account_id = ?2",
    [ST_AUDIT_INSERT] =
        "INSERT INTO audit_log (ts_ns, user_id, account_id, action, resource, ip, user_agent, "
        "result, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_AUDIT_QUERY] = "SELECT " STORE_AUDIT_COLS " FROM audit_log WHERE (?1 = 0 OR id < ?1) "
                       "AND (?2 = 0 OR user_id = ?2) AND (?3 = 0 OR account_id = ?3) "
                       "AND (?4 = '' OR action = ?4) AND ts_ns >= ?5 AND (?6 = 0 OR ts_ns < ?6) "
                       "ORDER BY id DESC LIMIT ?7",
    [ST_NOTIF_INSERT] = "INSERT INTO notifications (user_id, type, title, body, read, ts_ns) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_NOTIF_LIST] = "SELECT " STORE_NOTIF_COLS " FROM notifications WHERE user_id = ?1 "
                      "AND (?2 = 0 OR read = 0) AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4",
    [ST_NOTIF_READ] = "UPDATE notifications SET read = 1 WHERE id = ?1 AND user_id = ?2",
    [ST_PREF_UPSERT] =
        "INSERT INTO notification_prefs (user_id, type, channel, enabled) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (user_id, type, channel) DO UPDATE SET enabled = excluded.enabled",
    [ST_PREF_LIST] = "SELECT id, user_id, type, channel, enabled FROM notification_prefs "
                     "WHERE user_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    /* ==== paper trading ==== */
    [ST_FUNDS_UPSERT] = "INSERT INTO paper_funds (account_id, initial_capital_px, updated_ns) VALUES (?1, ?2, ?3) "
                        "ON CONFLICT (account_id) DO UPDATE SET initial_capital_px = excluded.initial_capital_px, "
                        "updated_ns = excluded.updated_ns",
    [ST_FUNDS_GET] = "SELECT account_id, initial_capital_px, updated_ns FROM paper_funds WHERE account_id = ?1",
    [ST_FUNDS_LIST] = "SELECT account_id, initial_capital_px, updated_ns FROM paper_funds WHERE account_id > ?1 "
                      "ORDER BY account_id LIMIT ?2",
    [ST_ORDER_INSERT] =
        "INSERT INTO orders (account_id, mode, strategy_id, client_key, tag, symbol, side, qty, type, price_px, "
        "trigger_px, product, validity, state, created_ns, updated_ns) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)",
    [ST_ORDER_GET] = "SELECT " STORE_ORDER_COLS " FROM orders WHERE id = ?1 AND account_id = ?2",
    [ST_ORDER_FIND_KEY] = "SELECT " STORE_ORDER_COLS " FROM orders WHERE account_id = ?1 AND client_key = ?2",
    [ST_ORDER_LIST] = "SELECT " STORE_ORDER_COLS " FROM orders WHERE (?1 = 0 OR account_id = ?1) "
                      "AND (?2 = '' OR state = ?2 OR (?2 = 'WORKING' AND state IN " STORE_WORKING_STATES "))"
                      " AND id > ?3 ORDER BY id LIMIT ?4",
    [ST_ORDER_STATE] = "SELECT state FROM orders WHERE id = ?1 AND account_id = ?2",
    [ST_ORDER_UPDATE] = "UPDATE orders SET state = ?1, qty = ?2, price_px = ?3, trigger_px = ?4, filled_qty = ?5, "
                        "filled_notional_px = ?6, reason = ?7, updated_ns = ?8 WHERE id = ?9 AND account_id = ?10",
    [ST_HIST_INSERT] = "INSERT INTO order_history (order_id, state, reason, ts_ns) VALUES (?1, ?2, ?3, ?4)",
    [ST_HIST_LIST] = "SELECT id, state, reason, ts_ns FROM order_history WHERE order_id = ?1 ORDER BY id LIMIT ?2",
    [ST_FILL_INSERT] =
        "INSERT INTO fills (order_id, account_id, mode, strategy_id, venue_id, symbol, side, product, qty, "
        "price_px, charges_px, ts_ns, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [ST_FILL_LIST] = "SELECT " STORE_FILL_COLS " FROM fills WHERE (?1 = 0 OR account_id = ?1) AND id > ?2 "
                     "ORDER BY id LIMIT ?3",
    [ST_KILL_UPSERT] = "INSERT INTO kill_switch (account_id, state, set_by, reason, updated_ns) "
                       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, "
                       "set_by = excluded.set_by, reason = excluded.reason, updated_ns = excluded.updated_ns",
    [ST_KILL_GET] = "SELECT account_id, state, set_by, reason, updated_ns FROM kill_switch WHERE account_id = ?1",
    [ST_KILL_LIST] = "SELECT account_id, state, set_by, reason, updated_ns FROM kill_switch WHERE account_id >= ?1 "
                     "ORDER BY account_id LIMIT ?2",
    /* ==== end of paper trading ==== */
};

struct sqlite_store {
    struct store base; /* first: the store.c view */
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
};

static const struct store_ops sqlite_ops;

static struct sqlite_store *sq(struct store *s) { return (struct sqlite_store *)s; }

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != ATP_OK)                                                                         \
            return rc_;                                                                            \
    } while (0)

/* ---- statements and errors ---- */

/* Maps a failed SQLite call to a status. field names the argument a constraint points at. */
static int db_fail(struct sqlite_store *q, int rc, const char *field, struct atp_err *err)
{
    const char *msg = sqlite3_errmsg(q->db);
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return atp_err_set(err, ATP_EEXIST, NULL, 0, field, "already exists");
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, field, "refers to a row that does not exist");
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "rejected by the schema: %s", msg);
    case SQLITE_NOMEM:
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "sqlite: out of memory");
    default:
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "sqlite: %s (%d)", msg, rc);
    }
}

/* The cached statement id, reset and unbound, ready for binding. */
static int stmt(struct sqlite_store *q, enum st id, sqlite3_stmt **out, struct atp_err *err)
{
    if (!q->st[id]) {
        int rc = sqlite3_prepare_v3(q->db, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &q->st[id], NULL);
        if (rc != SQLITE_OK)
            return db_fail(q, rc, NULL, err);
    }
    sqlite3_reset(q->st[id]);
    sqlite3_clear_bindings(q->st[id]);
    *out = q->st[id];
    return ATP_OK;
}

/* Steps a statement that returns no rows; resets it. */
static int exec_done(struct sqlite_store *q, sqlite3_stmt *st, const char *field, struct atp_err *err)
{
    int rc = sqlite3_step(st);
    int status = rc == SQLITE_DONE ? ATP_OK : db_fail(q, rc, field, err);
    sqlite3_reset(st);
    return status;
}

static int run(struct sqlite_store *q, enum st id, struct atp_err *err)
{
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, id, &st, err));
    return exec_done(q, st, NULL, err);
}

static int tx_begin(struct sqlite_store *q, struct atp_err *err) { return run(q, ST_BEGIN, err); }
static int tx_commit(struct sqlite_store *q, struct atp_err *err) { return run(q, ST_COMMIT, err); }
static void tx_rollback(struct sqlite_store *q)
{
    if (!sqlite3_get_autocommit(q->db))
        run(q, ST_ROLLBACK, NULL);
}

/* Ends a transaction: commit when status is ATP_OK, else roll back. Returns the final status. */
static int tx_end(struct sqlite_store *q, int status, struct atp_err *err)
{
    if (status == ATP_OK)
        status = tx_commit(q, err);
    if (status != ATP_OK)
        tx_rollback(q);
    return status;
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

static void bind_id_or_null(sqlite3_stmt *st, int i, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

static int col_text(sqlite3_stmt *st, int i, char *buf, size_t size, const char *field,
                    struct atp_err *err)
{
    const unsigned char *text = sqlite3_column_text(st, i);
    size_t len = (size_t)sqlite3_column_bytes(st, i);
    if (len >= size)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, field, "stored value of %zu bytes exceeds %zu",
                           len, size - 1);
    if (len)
        memcpy(buf, text, len);
    buf[len] = '\0';
    return ATP_OK;
}

static int col_blob(sqlite3_stmt *st, int i, uint8_t *buf, uint32_t cap, uint32_t *len_out,
                    const char *field, struct atp_err *err)
{
    const void *blob = sqlite3_column_blob(st, i);
    size_t len = (size_t)sqlite3_column_bytes(st, i);
    if (len > cap)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, field, "stored value of %zu bytes exceeds %u", len,
                           cap);
    if (len)
        memcpy(buf, blob, len);
    *len_out = (uint32_t)len;
    return ATP_OK;
}

/* A stored enumeration name back to its value via the name function of store.h. */
static int col_enum(sqlite3_stmt *st, int i, const char *(*name)(int), int *out, const char *field,
                    struct atp_err *err)
{
    const char *text = (const char *)sqlite3_column_text(st, i);
    for (int v = 0; text && name(v); v++) {
        if (strcmp(name(v), text) == 0) {
            *out = v;
            return ATP_OK;
        }
    }
    return atp_err_set(err, ATP_EIO, NULL, 0, field, "unknown stored value '%s'", text ? text : "NULL");
}

/* Steps a statement expected to return at most one row, reading it with read. ATP_ENOTFOUND
 * (naming field) when there is none. */
static int get_one(struct sqlite_store *q, sqlite3_stmt *st, int (*read)(sqlite3_stmt *, void *, struct atp_err *),
                   void *out, const char *field, struct atp_err *err)
{
    int rc = sqlite3_step(st);
    int status;
    if (rc == SQLITE_ROW)
        status = read(st, out, err);
    else if (rc == SQLITE_DONE)
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, field, "not found");
    else
        status = db_fail(q, rc, field, err);
    sqlite3_reset(st);
    return status;
}

/* Runs a list statement whose LIMIT parameter is limit_param (bound here to limit + 1, the extra
 * row only telling whether another page exists). Rows go to out (elem bytes each). */
static int get_list(struct sqlite_store *q, sqlite3_stmt *st, int limit_param, const struct store_page *p,
                    int (*read)(sqlite3_stmt *, void *, struct atp_err *), int64_t (*key)(const void *),
                    void *out, size_t elem, struct store_page_out *res, struct atp_err *err)
{
    sqlite3_bind_int64(st, limit_param, (int64_t)p->limit + 1);
    res->count = 0;
    res->next_cursor = 0;
    int status = ATP_OK;
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            status = db_fail(q, rc, NULL, err);
            break;
        }
        if (res->count == p->limit) {
            res->next_cursor = key((char *)out + (size_t)(res->count - 1) * elem);
            break;
        }
        char *row = (char *)out + (size_t)res->count * elem;
        memset(row, 0, elem);
        status = read(st, row, err);
        if (status != ATP_OK)
            break;
        res->count++;
    }
    sqlite3_reset(st);
    if (status != ATP_OK) {
        res->count = 0;
        res->next_cursor = 0;
    }
    return status;
}

static int changes(struct sqlite_store *q) { return sqlite3_changes(q->db); }

/* ---- lifecycle ---- */

static void sq_close(struct store *s)
{
    struct sqlite_store *q = sq(s);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(q->st[i]);
    /* Flush: copy the WAL into the database file and truncate it, so a stopped server leaves one
     * self-contained file (a backup by cp is whole). Best effort: it waits for other connections
     * (busy timeout) and when it cannot finish, the WAL stays and the next open replays it, so
     * nothing is lost either way. */
    sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(q->db);
    atp_free(q);
}

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path, struct atp_err *err)
{
    char dir[4096];
    size_t len = strlen(path);
    if (len >= sizeof dir)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "url", "path longer than %zu bytes", sizeof dir - 1);
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return ATP_OK;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0750) != 0 && errno != EEXIST)
            return atp_err_set(err, ATP_EIO, dir, 0, "url", "cannot create directory: %s", strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return atp_err_set(err, ATP_EIO, dir, 0, "url", "cannot create directory: %s", strerror(errno));
    return ATP_OK;
}

static int pragma_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
    buf[0] = '\0';
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int sqlite_store_open(const char *path, struct store **out, struct atp_err *err)
{
    int memory = strcmp(path, ":memory:") == 0;
    if (!memory)
        TRY(make_parent_dirs(path, err));
    struct sqlite_store *q = atp_calloc(1, sizeof *q);
    if (!q)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    q->base.ops = &sqlite_ops;
    int status = ATP_OK;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int rc = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (rc != SQLITE_OK) {
        status = atp_err_set(err, rc == SQLITE_NOMEM ? ATP_ENOMEM : ATP_EIO, memory ? NULL : path, 0,
                             "url", "cannot open SQLite database: %s",
                             q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
    char mode[32];
    if (pragma_text(q->db, "PRAGMA journal_mode = WAL", mode, sizeof mode) != 0 ||
        (!memory && strcmp(mode, "wal") != 0)) {
        status = atp_err_set(err, ATP_EIO, path, 0, "url", "cannot use WAL journal mode: %s",
                             mode[0] ? mode : sqlite3_errmsg(q->db));
        goto fail;
    }
    char fk[8];
    if (pragma_text(q->db, "PRAGMA foreign_keys = ON", fk, sizeof fk) != 0 ||
        pragma_text(q->db, "PRAGMA synchronous = FULL", fk, sizeof fk) != 0 ||
        pragma_text(q->db, "PRAGMA foreign_keys", fk, sizeof fk) != 0 || strcmp(fk, "1") != 0) {
        status = atp_err_set(err, ATP_EIO, memory ? NULL : path, 0, "url",
                             "cannot enable foreign keys: %s", sqlite3_errmsg(q->db));
        goto fail;
    }
    *out = &q->base;
    return ATP_OK;
fail:
    sqlite3_close(q->db);
    atp_free(q);
    return status;
}

/* ---- migrations ---- */

static int sq_migrate(struct store *s, int *applied, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    char *msg = NULL;
    if (sqlite3_exec(q->db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_ns INTEGER NOT NULL) STRICT",
                     NULL, NULL, &msg) != SQLITE_OK) {
        int status = atp_err_set(err, ATP_EIO, NULL, 0, NULL, "sqlite: schema_migrations: %s",
                                 msg ? msg : "?");
        sqlite3_free(msg);
        return status;
    }
    const struct store_migration *m = store_sqlite_migrations;
    int n = store_sqlite_migrations_count;
    for (int i = 1; i < n; i++)
        if (m[i].version <= m[i - 1].version)
            return atp_err_set(err, ATP_ESTATE, NULL, 0, "version",
                               "migrations out of order: %d after %d", m[i].version, m[i - 1].version);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_MIG_MAX, &st, err));
    int64_t have = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        have = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return db_fail(q, rc, NULL, err);
    if (have > m[n - 1].version)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, "version",
                           "database is at schema version %lld, this binary knows up to %d",
                           (long long)have, m[n - 1].version);
    for (int i = 0; i < n; i++) {
        TRY(tx_begin(q, err));
        /* Checked inside the write transaction, so two processes never apply one version twice. */
        int status = stmt(q, ST_MIG_HAS, &st, err);
        int present = 0;
        if (status == ATP_OK) {
            sqlite3_bind_int(st, 1, m[i].version);
            rc = sqlite3_step(st);
            present = rc == SQLITE_ROW;
            if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                status = db_fail(q, rc, NULL, err);
            sqlite3_reset(st);
        }
        if (status == ATP_OK && !present) {
            if (sqlite3_exec(q->db, m[i].sql, NULL, NULL, &msg) != SQLITE_OK) {
                status = atp_err_set(err, ATP_EIO, NULL, 0, "version", "migration %03d_%s failed: %s",
                                     m[i].version, m[i].name, msg ? msg : "?");
                sqlite3_free(msg);
                msg = NULL;
            }
            if (status == ATP_OK)
                status = stmt(q, ST_MIG_INSERT, &st, err);
            if (status == ATP_OK) {
                sqlite3_bind_int(st, 1, m[i].version);
                bind_text(st, 2, m[i].name);
                sqlite3_bind_int64(st, 3, store_now(s));
                status = exec_done(q, st, "version", err);
            }
            if (status == ATP_OK)
                (*applied)++;
        }
        TRY(tx_end(q, status, err));
    }
    return ATP_OK;
}

static int sq_migrate_status(struct store *s, struct store_migration_status *out, int cap, int *count,
                             struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    const struct store_migration *m = store_sqlite_migrations;
    int n = store_sqlite_migrations_count;
    for (int i = 0; i < n && i < cap; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].version = m[i].version;
        snprintf(out[i].name, sizeof out[i].name, "%s", m[i].name);
    }
    *count = n;
    int exists = 0;
    int rc = sqlite3_table_column_metadata(q->db, NULL, "schema_migrations", "version", NULL, NULL, NULL,
                                           NULL, NULL);
    exists = rc == SQLITE_OK;
    if (!exists)
        return ATP_OK;
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_MIG_LIST, &st, err));
    int status = ATP_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int version = sqlite3_column_int(st, 0);
        for (int i = 0; i < n && i < cap; i++)
            if (out[i].version == version)
                out[i].applied_ns = sqlite3_column_int64(st, 1);
    }
    if (rc != SQLITE_DONE)
        status = db_fail(q, rc, NULL, err);
    sqlite3_reset(st);
    return status;
}

/* ---- users ---- */

static int read_user(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_user *u = row;
    u->id = sqlite3_column_int64(st, 0);
    TRY(col_text(st, 1, u->email, sizeof u->email, "email", err));
    TRY(col_text(st, 2, u->name, sizeof u->name, "name", err));
    TRY(col_text(st, 3, u->password_hash, sizeof u->password_hash, "password_hash", err));
    TRY(col_enum(st, 4, store_user_role_name, &u->role, "role", err));
    TRY(col_enum(st, 5, store_user_status_name, &u->status, "status", err));
    u->failed_logins = sqlite3_column_int(st, 6);
    u->locked_until_ns = sqlite3_column_int64(st, 7);
    TRY(col_blob(st, 8, u->totp_secret, sizeof u->totp_secret, &u->totp_secret_len, "totp_secret", err));
    u->totp_enabled = sqlite3_column_int(st, 9);
    u->created_ns = sqlite3_column_int64(st, 10);
    u->updated_ns = sqlite3_column_int64(st, 11);
    return ATP_OK;
}

static int64_t key_user(const void *row) { return ((const struct store_user *)row)->id; }

static void bind_totp(sqlite3_stmt *st, int i, const struct store_user *u)
{
    if (u->totp_secret_len)
        sqlite3_bind_blob(st, i, u->totp_secret, (int)u->totp_secret_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int sq_user_create(struct store *s, const struct store_user *u, const char *email_key, int64_t *id,
                          struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_USER_INSERT, &st, err));
    bind_text(st, 1, u->email);
    bind_text(st, 2, email_key);
    bind_text(st, 3, u->name);
    bind_text(st, 4, u->password_hash);
    bind_text(st, 5, store_user_role_name(u->role));
    bind_text(st, 6, store_user_status_name(u->status));
    sqlite3_bind_int(st, 7, u->failed_logins);
    sqlite3_bind_int64(st, 8, u->locked_until_ns);
    bind_totp(st, 9, u);
    sqlite3_bind_int(st, 10, u->totp_enabled);
    sqlite3_bind_int64(st, 11, store_now(s));
    TRY(exec_done(q, st, "email", err));
    *id = sqlite3_last_insert_rowid(q->db);
    return ATP_OK;
}

static int sq_user_get(struct store *s, int64_t id, struct store_user *out, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_USER_GET, &st, err));
    sqlite3_bind_int64(st, 1, id);
    memset(out, 0, sizeof *out);
    return get_one(q, st, read_user, out, "user_id", err);
}

static int sq_user_get_by_email(struct store *s, const char *email_key, struct store_user *out,
                                struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_USER_GET_EMAIL, &st, err));
    bind_text(st, 1, email_key);
    memset(out, 0, sizeof *out);
    return get_one(q, st, read_user, out, "email", err);
}

static int sq_user_list(struct store *s, const struct store_page *p, struct store_user *out,
                        struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_USER_LIST, &st, err));
    sqlite3_bind_int64(st, 1, p->cursor);
    return get_list(q, st, 2, p, read_user, key_user, out, sizeof *out, res, err);
}

static int sq_user_update(struct store *s, int64_t id, unsigned fields, const struct store_user *v,
                          struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_USER_UPDATE, &st, err));
    sqlite3_bind_int(st, 1, (int)fields);
    if (fields & STORE_USER_F_ROLE)
        bind_text(st, 2, store_user_role_name(v->role));
    if (fields & STORE_USER_F_STATUS)
        bind_text(st, 3, store_user_status_name(v->status));
    if (fields & STORE_USER_F_PASSWORD)
        bind_text(st, 4, v->password_hash);
    if (fields & STORE_USER_F_LOCKOUT) {
        sqlite3_bind_int(st, 5, v->failed_logins);
        sqlite3_bind_int64(st, 6, v->locked_until_ns);
    }
    if (fields & STORE_USER_F_TOTP) {
        bind_totp(st, 7, v);
        sqlite3_bind_int(st, 8, v->totp_enabled);
    }
    if (fields & STORE_USER_F_NAME)
        bind_text(st, 9, v->name);
    sqlite3_bind_int64(st, 10, store_now(s));
    sqlite3_bind_int64(st, 11, id);
    TRY(exec_done(q, st, NULL, err));
    if (changes(q) == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "user_id", "not found");
    return ATP_OK;
}

/* ---- refresh tokens ---- */

static int read_token(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_refresh_token *t = row;
    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    TRY(col_text(st, 2, t->family_id, sizeof t->family_id, "family_id", err));
    TRY(col_text(st, 3, t->token_hash, sizeof t->token_hash, "token_hash", err));
    t->expires_ns = sqlite3_column_int64(st, 4);
    t->revoked_ns = sqlite3_column_int64(st, 5);
    t->replaced_by = sqlite3_column_int64(st, 6); /* NULL reads as 0 */
    t->created_ns = sqlite3_column_int64(st, 7);
    return ATP_OK;
}

static int sq_token_insert(struct store *s, const struct store_refresh_token *t, int64_t *id,
                           struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_TOKEN_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, t->user_id);
    bind_text(st, 2, t->family_id);
    bind_text(st, 3, t->token_hash);
    sqlite3_bind_int64(st, 4, t->expires_ns);
    sqlite3_bind_int64(st, 5, store_now(s));
    int rc = sqlite3_step(st);
    int status = ATP_OK;
    if (rc != SQLITE_DONE)
        status = db_fail(q, rc, rc == SQLITE_CONSTRAINT_FOREIGNKEY ? "user_id" : "token_hash", err);
    sqlite3_reset(st);
    TRY(status);
    *id = sqlite3_last_insert_rowid(q->db);
    return ATP_OK;
}

static int sq_token_find(struct store *s, const char *hash, struct store_refresh_token *out,
                         struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_TOKEN_FIND, &st, err));
    bind_text(st, 1, hash);
    memset(out, 0, sizeof *out);
    return get_one(q, st, read_token, out, "token_hash", err);
}

static int sq_token_revoke(struct store *s, int64_t user_id, int64_t id, int64_t replaced_by,
                           struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_TOKEN_REVOKE, &st, err));
    sqlite3_bind_int64(st, 1, store_now(s));
    bind_id_or_null(st, 2, replaced_by);
    sqlite3_bind_int64(st, 3, id);
    sqlite3_bind_int64(st, 4, user_id);
    TRY(exec_done(q, st, "replaced_by", err));
    if (changes(q) == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "token_id", "not found for this user");
    return ATP_OK;
}

static int sq_token_revoke_family(struct store *s, int64_t user_id, const char *family, int *count,
                                  struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_TOKEN_REVOKE_FAMILY, &st, err));
    sqlite3_bind_int64(st, 1, store_now(s));
    sqlite3_bind_int64(st, 2, user_id);
    bind_text(st, 3, family);
    TRY(exec_done(q, st, NULL, err));
    *count = changes(q);
    return ATP_OK;
}

static int sq_token_revoke_all_except(struct store *s, int64_t user_id, int64_t keep_id, int *count,
                                      struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_TOKEN_REVOKE_ALL, &st, err));
    sqlite3_bind_int64(st, 1, store_now(s));
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, keep_id);
    TRY(exec_done(q, st, NULL, err));
    *count = changes(q);
    return ATP_OK;
}

/* ==== sessions ==== */

static int read_session(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_session *v = row;
    TRY(col_text(st, 0, v->id, sizeof v->id, "id", err));
    v->user_id = sqlite3_column_int64(st, 1);
    v->created_ns = sqlite3_column_int64(st, 2);
    v->last_seen_ns = sqlite3_column_int64(st, 3);
    v->revoked_ns = sqlite3_column_int64(st, 4);
    TRY(col_text(st, 5, v->revoke_reason, sizeof v->revoke_reason, "revoke_reason", err));
    TRY(col_text(st, 6, v->ip, sizeof v->ip, "ip", err));
    TRY(col_text(st, 7, v->user_agent, sizeof v->user_agent, "user_agent", err));
    return ATP_OK;
}

static int sq_session_create(struct store *s, const struct store_session *ss, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_SESSION_INSERT, &st, err));
    bind_text(st, 1, ss->id);
    sqlite3_bind_int64(st, 2, ss->user_id);
    sqlite3_bind_int64(st, 3, store_now(s));
    bind_text(st, 4, ss->ip);
    bind_text(st, 5, ss->user_agent);
    int rc = sqlite3_step(st);
    int status = ATP_OK;
    if (rc != SQLITE_DONE)
        status = db_fail(q, rc, rc == SQLITE_CONSTRAINT_FOREIGNKEY ? "user_id" : "id", err);
    sqlite3_reset(st);
    return status;
}

/* The session, then its user's role and status (columns 8 and 9). */
struct session_row {
    struct store_session *session;
    int *role, *status;
};

static int read_session_auth(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct session_row *r = row;
    TRY(read_session(st, r->session, err));
    TRY(col_enum(st, 8, store_user_role_name, r->role, "role", err));
    return col_enum(st, 9, store_user_status_name, r->status, "status", err);
}

static int sq_session_get(struct store *s, const char *id, struct store_session *out, int *user_role,
                          int *user_status, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_SESSION_GET, &st, err));
    bind_text(st, 1, id);
    memset(out, 0, sizeof *out);
    struct session_row row = {out, user_role, user_status};
    return get_one(q, st, read_session_auth, &row, "id", err);
}

static int sq_session_touch(struct store *s, const char *id, int64_t seen_ns, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_SESSION_TOUCH, &st, err));
    sqlite3_bind_int64(st, 1, seen_ns);
    bind_text(st, 2, id);
    return exec_done(q, st, NULL, err);
}

static int session_revoke_in_tx(struct sqlite_store *q, int64_t user_id, const char *id, const char *reason,
                                struct atp_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t now = store_now(&q->base);
    TRY(stmt(q, ST_SESSION_REVOKE, &st, err));
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, reason);
    bind_text(st, 3, id);
    sqlite3_bind_int64(st, 4, user_id);
    TRY(exec_done(q, st, NULL, err));
    if (changes(q) == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "id", "no such session for this user");
    TRY(stmt(q, ST_TOKEN_REVOKE_FAMILY, &st, err));
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, user_id);
    bind_text(st, 3, id);
    return exec_done(q, st, NULL, err);
}

static int sq_session_revoke(struct store *s, int64_t user_id, const char *id, const char *reason,
                             struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, session_revoke_in_tx(q, user_id, id, reason, err), err);
}

static int revoke_others_in_tx(struct sqlite_store *q, int64_t user_id, const char *keep_id,
                               const char *reason, int *count, struct atp_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t now = store_now(&q->base);
    TRY(stmt(q, ST_SESSION_REVOKE_OTHERS, &st, err));
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, reason);
    sqlite3_bind_int64(st, 3, user_id);
    bind_text(st, 4, keep_id);
    TRY(exec_done(q, st, NULL, err));
    *count = changes(q);
    TRY(stmt(q, ST_SESSION_TOKENS_REVOKE_OTHERS, &st, err));
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, user_id);
    bind_text(st, 3, keep_id);
    return exec_done(q, st, NULL, err);
}

static int sq_session_revoke_others(struct store *s, int64_t user_id, const char *keep_id,
                                    const char *reason, int *count, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err));
    int status = tx_end(q, revoke_others_in_tx(q, user_id, keep_id, reason, count, err), err);
    if (status != ATP_OK)
        *count = 0;
    return status;
}

static int read_step(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    (void)err;
    *(int64_t *)row = sqlite3_column_int64(st, 0);
    return ATP_OK;
}

static int sq_totp_step_get(struct store *s, int64_t user_id, int64_t *step, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_TOTP_STEP_GET, &st, err));
    sqlite3_bind_int64(st, 1, user_id);
    return get_one(q, st, read_step, step, "user_id", err);
}

static int sq_totp_step_advance(struct store *s, int64_t user_id, int64_t step, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_TOTP_STEP_ADVANCE, &st, err));
    sqlite3_bind_int64(st, 1, step);
    sqlite3_bind_int64(st, 2, user_id);
    TRY(exec_done(q, st, NULL, err));
    if (changes(q) == 1)
        return ATP_OK;
    int64_t stored = 0;
    TRY(sq_totp_step_get(s, user_id, &stored, err)); /* ATP_ENOTFOUND for an absent user */
    return atp_err_set(err, ATP_ESTATE, NULL, 0, "step", "step %lld is not later than %lld (a replay)",
                       (long long)step, (long long)stored);
}

static int sq_totp_step_reset(struct store *s, int64_t user_id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_TOTP_STEP_RESET, &st, err));
    sqlite3_bind_int64(st, 1, user_id);
    TRY(exec_done(q, st, NULL, err));
    if (changes(q) == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "user_id", "not found");
    return ATP_OK;
}

/* ==== end of sessions ==== */

/* ---- accounts and access ---- */

static int read_account(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_account *a = row;
    a->id = sqlite3_column_int64(st, 0);
    a->owner_id = sqlite3_column_int64(st, 1);
    TRY(col_text(st, 2, a->name, sizeof a->name, "name", err));
    TRY(col_text(st, 3, a->broker, sizeof a->broker, "broker", err));
    a->created_ns = sqlite3_column_int64(st, 4);
    return col_enum(st, 5, store_access_name, &a->access, "access", err);
}

static int64_t key_account(const void *row) { return ((const struct store_account *)row)->id; }

static int sq_account_create(struct store *s, const struct store_account *a, int64_t *id,
                             struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCOUNT_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, a->owner_id);
    bind_text(st, 2, a->name);
    bind_text(st, 3, a->broker);
    sqlite3_bind_int64(st, 4, store_now(s));
    TRY(exec_done(q, st, "owner_id", err));
    *id = sqlite3_last_insert_rowid(q->db);
    return ATP_OK;
}

static int sq_account_get(struct store *s, int64_t id, struct store_account *out, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCOUNT_GET, &st, err));
    sqlite3_bind_int64(st, 1, id);
    memset(out, 0, sizeof *out);
    TRY(get_one(q, st, read_account, out, "account_id", err));
    out->access = STORE_ACCESS_NONE; /* get is not relative to a user */
    return ATP_OK;
}

static int sq_accounts_list_for_user(struct store *s, int64_t user_id, const struct store_page *p,
                                     struct store_account *out, struct store_page_out *res,
                                     struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCOUNT_LIST_USER, &st, err));
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, p->cursor);
    return get_list(q, st, 3, p, read_account, key_account, out, sizeof *out, res, err);
}

static int sq_accounts_list_all(struct store *s, int64_t user_id, const struct store_page *p,
                                struct store_account *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCOUNT_LIST_ALL, &st, err));
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, p->cursor);
    return get_list(q, st, 3, p, read_account, key_account, out, sizeof *out, res, err);
}

static int sq_account_rename(struct store *s, int64_t id, const char *name, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCOUNT_RENAME, &st, err));
    bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, id);
    TRY(exec_done(q, st, "name", err));
    if (changes(q) == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "account_id", "not found");
    return ATP_OK;
}

/* The owner and the granted role (NULL -> none) of account_id for user_id. */
static int access_of(struct sqlite_store *q, int64_t account_id, int64_t user_id, int *access,
                     struct atp_err *err)
{
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCESS_ROLE, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sqlite3_step(st);
    int status = ATP_OK;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 0) == user_id)
            *access = STORE_ACCESS_OWNER;
        else if (sqlite3_column_type(st, 1) == SQLITE_NULL)
            *access = STORE_ACCESS_NONE;
        else
            status = col_enum(st, 1, store_access_name, access, "role", err);
    } else if (rc == SQLITE_DONE) {
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "account_id", "not found");
    } else {
        status = db_fail(q, rc, NULL, err);
    }
    sqlite3_reset(st);
    return status;
}

/* Grants inside the caller's transaction. */
static int grant_in_tx(struct sqlite_store *q, int64_t account_id, int64_t user_id, int role,
                       struct atp_err *err)
{
    int access = STORE_ACCESS_NONE;
    TRY(access_of(q, account_id, user_id, &access, err));
    if (access == STORE_ACCESS_OWNER)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "user_id", "is the account's owner");
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCESS_UPSERT, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, user_id);
    bind_text(st, 3, store_access_name(role));
    sqlite3_bind_int64(st, 4, store_now(&q->base));
    return exec_done(q, st, "user_id", err);
}

static int sq_access_grant(struct store *s, int64_t account_id, int64_t user_id, int role,
                           struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, grant_in_tx(q, account_id, user_id, role, err), err);
}

static int sq_access_revoke(struct store *s, int64_t account_id, int64_t user_id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCESS_DELETE, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, user_id);
    TRY(exec_done(q, st, NULL, err));
    if (changes(q) == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "user_id", "has no grant on this account");
    return ATP_OK;
}

static int read_grant(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_grant *g = row;
    g->account_id = sqlite3_column_int64(st, 0);
    g->user_id = sqlite3_column_int64(st, 1);
    TRY(col_enum(st, 2, store_access_name, &g->role, "role", err));
    g->granted_ns = sqlite3_column_int64(st, 3);
    return ATP_OK;
}

static int64_t key_grant(const void *row) { return ((const struct store_grant *)row)->user_id; }

static int sq_access_list(struct store *s, int64_t account_id, const struct store_page *p,
                          struct store_grant *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ACCESS_LIST, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, p->cursor);
    return get_list(q, st, 3, p, read_grant, key_grant, out, sizeof *out, res, err);
}

static int sq_access_role(struct store *s, int64_t account_id, int64_t user_id, int *access,
                          struct atp_err *err)
{
    return access_of(sq(s), account_id, user_id, access, err);
}

/* ---- invitations ---- */

static int read_invite(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_invitation *v = row;
    v->id = sqlite3_column_int64(st, 0);
    v->account_id = sqlite3_column_int64(st, 1);
    TRY(col_text(st, 2, v->email, sizeof v->email, "email", err));
    TRY(col_text(st, 3, v->token_hash, sizeof v->token_hash, "token_hash", err));
    TRY(col_enum(st, 4, store_invite_status_name, &v->status, "status", err));
    TRY(col_enum(st, 5, store_access_name, &v->role, "role", err));
    v->expires_ns = sqlite3_column_int64(st, 6);
    v->created_by = sqlite3_column_int64(st, 7);
    v->created_ns = sqlite3_column_int64(st, 8);
    v->updated_ns = sqlite3_column_int64(st, 9);
    return ATP_OK;
}

static int64_t key_invite(const void *row) { return ((const struct store_invitation *)row)->id; }

static int sq_invite_create(struct store *s, const struct store_invitation *inv, const char *email_key,
                            int64_t *id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_INVITE_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, inv->account_id);
    bind_text(st, 2, inv->email);
    bind_text(st, 3, email_key);
    bind_text(st, 4, inv->token_hash);
    bind_text(st, 5, store_access_name(inv->role));
    sqlite3_bind_int64(st, 6, inv->expires_ns);
    sqlite3_bind_int64(st, 7, inv->created_by);
    sqlite3_bind_int64(st, 8, store_now(s));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        /* Two references: name the one that is missing. */
        struct store_account a;
        int missing = sq_account_get(s, inv->account_id, &a, err);
        if (missing == ATP_OK)
            return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "created_by", "no such user");
        return missing;
    }
    if (rc != SQLITE_DONE)
        return db_fail(q, rc, "token_hash", err);
    *id = sqlite3_last_insert_rowid(q->db);
    return ATP_OK;
}

static int sq_invite_list_for_account(struct store *s, int64_t account_id, const struct store_page *p,
                                      struct store_invitation *out, struct store_page_out *res,
                                      struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_INVITE_LIST_ACCOUNT, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, p->cursor);
    return get_list(q, st, 3, p, read_invite, key_invite, out, sizeof *out, res, err);
}

static int sq_invite_list_for_email(struct store *s, const char *email_key, const struct store_page *p,
                                    struct store_invitation *out, struct store_page_out *res,
                                    struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_INVITE_LIST_EMAIL, &st, err));
    bind_text(st, 1, email_key);
    sqlite3_bind_int64(st, 2, p->cursor);
    return get_list(q, st, 3, p, read_invite, key_invite, out, sizeof *out, res, err);
}

static int sq_invite_find(struct store *s, const char *hash, struct store_invitation *out,
                          struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_INVITE_FIND, &st, err));
    bind_text(st, 1, hash);
    memset(out, 0, sizeof *out);
    return get_one(q, st, read_invite, out, "token_hash", err);
}

/* Moves a pending invitation to status_value inside the caller's transaction. */
static int set_status_in_tx(struct sqlite_store *q, int64_t account_id, int64_t id, int status_value,
                            struct atp_err *err)
{
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_INVITE_SET_STATUS, &st, err));
    bind_text(st, 1, store_invite_status_name(status_value));
    sqlite3_bind_int64(st, 2, store_now(&q->base));
    sqlite3_bind_int64(st, 3, id);
    sqlite3_bind_int64(st, 4, account_id);
    TRY(exec_done(q, st, "status", err));
    if (changes(q) == 1)
        return ATP_OK;
    /* Not pending, or not there: tell which. */
    TRY(stmt(q, ST_INVITE_STATUS, &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = sqlite3_step(st);
    int status;
    if (rc == SQLITE_ROW)
        status = atp_err_set(err, ATP_ESTATE, NULL, 0, "status", "invitation is already %s",
                             (const char *)sqlite3_column_text(st, 0));
    else if (rc == SQLITE_DONE)
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "invitation_id", "not found in this account");
    else
        status = db_fail(q, rc, NULL, err);
    sqlite3_reset(st);
    return status;
}

static int sq_invite_set_status(struct store *s, int64_t account_id, int64_t id, int status_value,
                                struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, set_status_in_tx(q, account_id, id, status_value, err), err);
}

static int sq_invite_accept(struct store *s, int64_t account_id, int64_t id, int64_t user_id,
                            struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err));
    int status = set_status_in_tx(q, account_id, id, STORE_INVITE_ACCEPTED, err);
    struct store_invitation inv;
    memset(&inv, 0, sizeof inv);
    sqlite3_stmt *st = NULL;
    if (status == ATP_OK)
        status = stmt(q, ST_INVITE_GET, &st, err);
    if (status == ATP_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, account_id);
        status = get_one(q, st, read_invite, &inv, "invitation_id", err);
    }
    if (status == ATP_OK)
        status = grant_in_tx(q, account_id, user_id, inv.role, err);
    return tx_end(q, status, err);
}

static int sq_invite_expire(struct store *s, int64_t now_ns, int *count, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_INVITE_EXPIRE, &st, err));
    sqlite3_bind_int64(st, 1, store_now(s));
    sqlite3_bind_int64(st, 2, now_ns);
    TRY(exec_done(q, st, NULL, err));
    *count = changes(q);
    return ATP_OK;
}

/* ---- broker connections ---- */

static int read_broker(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_broker_conn *c = row;
    c->id = sqlite3_column_int64(st, 0);
    c->account_id = sqlite3_column_int64(st, 1);
    TRY(col_text(st, 2, c->broker, sizeof c->broker, "broker", err));
    TRY(col_text(st, 3, c->key_id, sizeof c->key_id, "key_id", err));
    TRY(col_text(st, 4, c->masked, sizeof c->masked, "masked", err));
    c->created_ns = sqlite3_column_int64(st, 5);
    return ATP_OK;
}

static int64_t key_broker(const void *row) { return ((const struct store_broker_conn *)row)->id; }

static int sq_broker_create(struct store *s, const struct store_broker_conn *c,
                            const struct store_broker_secret *sec, int64_t *id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_BROKER_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, c->account_id);
    bind_text(st, 2, c->broker);
    bind_text(st, 3, c->key_id);
    sqlite3_bind_blob(st, 4, sec->ciphertext, (int)sec->ciphertext_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, sec->nonce, (int)sec->nonce_len, SQLITE_STATIC);
    bind_text(st, 6, c->masked);
    sqlite3_bind_int64(st, 7, store_now(s));
    TRY(exec_done(q, st, "account_id", err));
    *id = sqlite3_last_insert_rowid(q->db);
    return ATP_OK;
}

static int sq_broker_list(struct store *s, int64_t account_id, const struct store_page *p,
                          struct store_broker_conn *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_BROKER_LIST, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, p->cursor);
    return get_list(q, st, 3, p, read_broker, key_broker, out, sizeof *out, res, err);
}

static int sq_broker_delete(struct store *s, int64_t account_id, int64_t id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_BROKER_DELETE, &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    TRY(exec_done(q, st, NULL, err));
    if (changes(q) == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "conn_id", "not found in this account");
    return ATP_OK;
}

struct broker_secret_row {
    struct store_broker_conn meta;
    struct store_broker_secret *secret;
};

static int read_broker_secret(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct broker_secret_row *r = row;
    TRY(read_broker(st, &r->meta, err));
    TRY(col_blob(st, 6, r->secret->ciphertext, sizeof r->secret->ciphertext, &r->secret->ciphertext_len,
                 "ciphertext", err));
    return col_blob(st, 7, r->secret->nonce, sizeof r->secret->nonce, &r->secret->nonce_len, "nonce", err);
}

static int sq_broker_secret_get(struct store *s, int64_t account_id, int64_t id,
                                struct store_broker_conn *meta, struct store_broker_secret *out,
                                struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_BROKER_SECRET, &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    struct broker_secret_row row;
    memset(&row, 0, sizeof row);
    memset(out, 0, sizeof *out);
    row.secret = out;
    TRY(get_one(q, st, read_broker_secret, &row, "conn_id", err));
    if (meta)
        *meta = row.meta;
    return ATP_OK;
}

/* ---- audit ---- */

static int read_audit(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_audit *a = row;
    a->id = sqlite3_column_int64(st, 0);
    a->ts_ns = sqlite3_column_int64(st, 1);
    a->user_id = sqlite3_column_int64(st, 2);
    a->account_id = sqlite3_column_int64(st, 3);
    TRY(col_text(st, 4, a->action, sizeof a->action, "action", err));
    TRY(col_text(st, 5, a->resource, sizeof a->resource, "resource", err));
    TRY(col_text(st, 6, a->ip, sizeof a->ip, "ip", err));
    TRY(col_text(st, 7, a->user_agent, sizeof a->user_agent, "user_agent", err));
    TRY(col_text(st, 8, a->result, sizeof a->result, "result", err));
    return col_text(st, 9, a->details, sizeof a->details, "details", err);
}

static int64_t key_audit(const void *row) { return ((const struct store_audit *)row)->id; }

static int sq_audit_append(struct store *s, const struct store_audit *a, int64_t *id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_AUDIT_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, a->ts_ns);
    sqlite3_bind_int64(st, 2, a->user_id);
    sqlite3_bind_int64(st, 3, a->account_id);
    bind_text(st, 4, a->action);
    bind_text(st, 5, a->resource);
    bind_text(st, 6, a->ip);
    bind_text(st, 7, a->user_agent);
    bind_text(st, 8, a->result);
    bind_text(st, 9, a->details);
    TRY(exec_done(q, st, NULL, err));
    *id = sqlite3_last_insert_rowid(q->db);
    return ATP_OK;
}

static int sq_audit_query(struct store *s, const struct store_audit_filter *f, const struct store_page *p,
                          struct store_audit *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_AUDIT_QUERY, &st, err));
    sqlite3_bind_int64(st, 1, p->cursor);
    sqlite3_bind_int64(st, 2, f->user_id);
    sqlite3_bind_int64(st, 3, f->account_id);
    bind_text(st, 4, f->action);
    sqlite3_bind_int64(st, 5, f->from_ns);
    sqlite3_bind_int64(st, 6, f->to_ns);
    return get_list(q, st, 7, p, read_audit, key_audit, out, sizeof *out, res, err);
}

/* ---- notifications ---- */

static int read_notif(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_notification *n = row;
    n->id = sqlite3_column_int64(st, 0);
    n->user_id = sqlite3_column_int64(st, 1);
    TRY(col_text(st, 2, n->type, sizeof n->type, "type", err));
    TRY(col_text(st, 3, n->title, sizeof n->title, "title", err));
    TRY(col_text(st, 4, n->body, sizeof n->body, "body", err));
    n->read = sqlite3_column_int(st, 5);
    n->ts_ns = sqlite3_column_int64(st, 6);
    return ATP_OK;
}

static int64_t key_notif(const void *row) { return ((const struct store_notification *)row)->id; }

static int sq_notif_create(struct store *s, const struct store_notification *n, int64_t *id,
                           struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_NOTIF_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, n->user_id);
    bind_text(st, 2, n->type);
    bind_text(st, 3, n->title);
    bind_text(st, 4, n->body);
    sqlite3_bind_int(st, 5, n->read);
    sqlite3_bind_int64(st, 6, n->ts_ns);
    TRY(exec_done(q, st, "user_id", err));
    *id = sqlite3_last_insert_rowid(q->db);
    return ATP_OK;
}

static int sq_notif_list(struct store *s, int64_t user_id, int unread_only, const struct store_page *p,
                         struct store_notification *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_NOTIF_LIST, &st, err));
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int(st, 2, unread_only);
    sqlite3_bind_int64(st, 3, p->cursor);
    return get_list(q, st, 4, p, read_notif, key_notif, out, sizeof *out, res, err);
}

static int sq_notif_mark_read(struct store *s, int64_t user_id, int64_t id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_NOTIF_READ, &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    TRY(exec_done(q, st, NULL, err));
    if (changes(q) == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "notif_id", "not found for this user");
    return ATP_OK;
}

static int read_pref(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_notif_pref *p = row;
    p->id = sqlite3_column_int64(st, 0);
    p->user_id = sqlite3_column_int64(st, 1);
    TRY(col_text(st, 2, p->type, sizeof p->type, "type", err));
    TRY(col_text(st, 3, p->channel, sizeof p->channel, "channel", err));
    p->enabled = sqlite3_column_int(st, 4);
    return ATP_OK;
}

static int64_t key_pref(const void *row) { return ((const struct store_notif_pref *)row)->id; }

static int sq_pref_set(struct store *s, const struct store_notif_pref *p, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_PREF_UPSERT, &st, err));
    sqlite3_bind_int64(st, 1, p->user_id);
    bind_text(st, 2, p->type);
    bind_text(st, 3, p->channel);
    sqlite3_bind_int(st, 4, p->enabled);
    return exec_done(q, st, "user_id", err);
}

static int sq_pref_list(struct store *s, int64_t user_id, const struct store_page *p,
                        struct store_notif_pref *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_PREF_LIST, &st, err));
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, p->cursor);
    return get_list(q, st, 3, p, read_pref, key_pref, out, sizeof *out, res, err);
}

/* ---- administration additions (store.h) ----
 * Rare operations (status, user administration, vault rotation): their statements are prepared
 * per call and finalized, not cached, so this block stands alone. */

/* Prepares sql into *out (finalize it). */
static int adhoc(struct sqlite_store *q, const char *sql, sqlite3_stmt **out, struct atp_err *err)
{
    *out = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, out, NULL);
    return rc == SQLITE_OK ? ATP_OK : db_fail(q, rc, NULL, err);
}

static int read_i64_row(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    (void)err;
    int64_t *v = row;
    for (int i = 0; i < sqlite3_column_count(st); i++)
        v[i] = sqlite3_column_int64(st, i);
    return ATP_OK;
}

static int sq_ping(struct store *s, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "SELECT 1", &st, err));
    int64_t one = 0;
    int rc = get_one(q, st, read_i64_row, &one, NULL, err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_stats_get(struct store *s, struct store_stats *out, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "SELECT (SELECT count(*) FROM users), "
              "(SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active'), "
              "(SELECT count(*) FROM trading_accounts), (SELECT count(*) FROM broker_connections)",
              &st, err));
    int64_t v[4] = {0};
    int rc = get_one(q, st, read_i64_row, v, NULL, err);
    sqlite3_finalize(st);
    out->users = v[0];
    out->admins_active = v[1];
    out->accounts = v[2];
    out->broker_connections = v[3];
    return rc;
}

/* Active admins other than user_id. */
static int other_active_admins(struct sqlite_store *q, int64_t user_id, int64_t *n, struct atp_err *err)
{
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active' AND id <> ?1", &st,
              err));
    sqlite3_bind_int64(st, 1, user_id);
    int rc = get_one(q, st, read_i64_row, n, NULL, err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_user_admin_update(struct store *s, int64_t user_id, unsigned fields, const struct store_user *v,
                                struct store_user *before, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err)); /* IMMEDIATE: the write lock is held from the first read */
    int status = sq_user_get(s, user_id, before, err);
    if (status == ATP_OK) {
        int role = fields & STORE_USER_F_ROLE ? v->role : before->role;
        int st_after = fields & STORE_USER_F_STATUS ? v->status : before->status;
        int was_admin = before->role == STORE_ROLE_ADMIN && before->status == STORE_USER_ACTIVE;
        int is_admin = role == STORE_ROLE_ADMIN && st_after == STORE_USER_ACTIVE;
        int64_t others = 1;
        if (was_admin && !is_admin)
            status = other_active_admins(q, user_id, &others, err);
        if (status == ATP_OK && others == 0)
            status = atp_err_set(err, ATP_ESTATE, NULL, 0, fields & STORE_USER_F_ROLE ? "role" : "status",
                                 "user %lld is the last active admin", (long long)user_id);
    }
    if (status == ATP_OK)
        status = sq_user_update(s, user_id, fields, v, err);
    return tx_end(q, status, err);
}

static int sq_notif_mark_all_read(struct store *s, int64_t user_id, int *count, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "UPDATE notifications SET read = 1 WHERE user_id = ?1 AND read = 0", &st, err));
    sqlite3_bind_int64(st, 1, user_id);
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    *count = rc == ATP_OK ? changes(q) : 0;
    return rc;
}

static int sq_broker_list_all(struct store *s, const struct store_page *p, struct store_broker_conn *out,
                              struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "SELECT " STORE_BROKER_COLS " FROM broker_connections WHERE id > ?1 ORDER BY id LIMIT ?2",
              &st, err));
    sqlite3_bind_int64(st, 1, p->cursor);
    int rc = get_list(q, st, 2, p, read_broker, key_broker, out, sizeof *out, res, err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_broker_secret_replace(struct store *s, int64_t account_id, int64_t id, const char *expect_key_id,
                                    const char *key_id, const struct store_broker_secret *sec,
                                    struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(tx_begin(q, err));
    int status = adhoc(q,
                       "UPDATE broker_connections SET key_id = ?1, ciphertext = ?2, nonce = ?3 "
                       "WHERE id = ?4 AND account_id = ?5 AND key_id = ?6",
                       &st, err);
    if (status == ATP_OK) {
        bind_text(st, 1, key_id);
        sqlite3_bind_blob(st, 2, sec->ciphertext, (int)sec->ciphertext_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, sec->nonce, (int)sec->nonce_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, id);
        sqlite3_bind_int64(st, 5, account_id);
        bind_text(st, 6, expect_key_id);
        status = exec_done(q, st, NULL, err);
        sqlite3_finalize(st);
    }
    if (status == ATP_OK && changes(q) == 0) {
        /* Tell "gone" from "someone re-sealed it already". */
        status = adhoc(q, "SELECT count(*) FROM broker_connections WHERE id = ?1 AND account_id = ?2", &st, err);
        if (status == ATP_OK) {
            int64_t n = 0;
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, account_id);
            status = get_one(q, st, read_i64_row, &n, NULL, err);
            sqlite3_finalize(st);
            if (status == ATP_OK)
                status = n ? atp_err_set(err, ATP_ESTATE, NULL, 0, "key_id",
                                         "no longer sealed under key %s", expect_key_id)
                           : atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "conn_id", "not found in this account");
        }
    }
    return tx_end(q, status, err);
}

/* ---- end of the administration additions ---- */

/* ==== strategies and account risk limits (store.h) ====
 * Statements prepared per call (adhoc), like the administration block: they stand alone. */

static int read_strategy(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_strategy *v = row;
    v->id = sqlite3_column_int64(st, 0);
    v->account_id = sqlite3_column_int64(st, 1);
    TRY(col_text(st, 2, v->type, sizeof v->type, "type", err));
    TRY(col_text(st, 3, v->name, sizeof v->name, "name", err));
    TRY(col_text(st, 4, v->symbols, sizeof v->symbols, "symbols", err));
    TRY(col_text(st, 5, v->timeframes, sizeof v->timeframes, "timeframes", err));
    TRY(col_text(st, 6, v->params, sizeof v->params, "params", err));
    TRY(col_enum(st, 7, store_trade_mode_name, &v->mode, "mode", err));
    TRY(col_text(st, 8, v->risk, sizeof v->risk, "risk", err));
    TRY(col_enum(st, 9, store_strategy_state_name, &v->state, "state", err));
    TRY(col_text(st, 10, v->state_reason, sizeof v->state_reason, "state_reason", err));
    TRY(col_text(st, 11, v->last_signal, sizeof v->last_signal, "last_signal", err));
    v->last_signal_ns = sqlite3_column_int64(st, 12);
    v->created_ns = sqlite3_column_int64(st, 13);
    v->updated_ns = sqlite3_column_int64(st, 14);
    return ATP_OK;
}

static int64_t key_strategy(const void *row) { return ((const struct store_strategy *)row)->id; }

static int sq_strategy_create(struct store *s, const struct store_strategy *v, int64_t *id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "INSERT INTO strategies (account_id, type, name, symbols, timeframes, params, mode, risk, "
              "created_ns, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
              &st, err));
    sqlite3_bind_int64(st, 1, v->account_id);
    bind_text(st, 2, v->type);
    bind_text(st, 3, v->name);
    bind_text(st, 4, v->symbols);
    bind_text(st, 5, v->timeframes);
    bind_text(st, 6, v->params);
    bind_text(st, 7, store_trade_mode_name(v->mode));
    bind_text(st, 8, v->risk);
    sqlite3_bind_int64(st, 9, store_now(s));
    int rc = exec_done(q, st, "account_id", err);
    sqlite3_finalize(st);
    if (rc == ATP_OK)
        *id = sqlite3_last_insert_rowid(q->db);
    return rc;
}

static int sq_strategy_get(struct store *s, int64_t account_id, int64_t id, struct store_strategy *out,
                           struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "SELECT " STORE_STRATEGY_COLS " FROM strategies WHERE id = ?1 AND account_id = ?2", &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = get_one(q, st, read_strategy, out, "strategy_id", err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_strategy_account(struct store *s, int64_t id, int64_t *account_id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "SELECT account_id FROM strategies WHERE id = ?1", &st, err));
    sqlite3_bind_int64(st, 1, id);
    int rc = get_one(q, st, read_i64_row, account_id, "strategy_id", err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_strategy_list(struct store *s, const struct store_strategy_filter *f, const struct store_page *p,
                            struct store_strategy *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "SELECT " STORE_STRATEGY_COLS " FROM strategies WHERE id > ?1 "
              "AND (?2 = 0 OR account_id = ?2) AND (?3 = 0 OR state <> 'stopped') "
              "AND (?4 = 0 OR account_id IN (SELECT id FROM trading_accounts WHERE owner_id = ?4 "
              "UNION SELECT account_id FROM account_access WHERE user_id = ?4)) ORDER BY id LIMIT ?5",
              &st, err));
    sqlite3_bind_int64(st, 1, p->cursor);
    sqlite3_bind_int64(st, 2, f->account_id);
    sqlite3_bind_int(st, 3, f->active_only);
    sqlite3_bind_int64(st, 4, f->user_id);
    int rc = get_list(q, st, 5, p, read_strategy, key_strategy, out, sizeof *out, res, err);
    sqlite3_finalize(st);
    return rc;
}

/* After a guarded UPDATE/DELETE changed nothing: absent (ATP_ENOTFOUND) or not stopped (ATP_ESTATE). */
static int strategy_not_stopped(struct sqlite_store *q, int64_t account_id, int64_t id, const char *verb,
                                struct atp_err *err)
{
    struct store_strategy cur;
    memset(&cur, 0, sizeof cur);
    TRY(sq_strategy_get(&q->base, account_id, id, &cur, err));
    return atp_err_set(err, ATP_ESTATE, NULL, 0, "state", "strategy %lld is %s: stop it before it can be %s",
                       (long long)id, store_strategy_state_name(cur.state), verb);
}

static int sq_strategy_update(struct store *s, const struct store_strategy *v, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "UPDATE strategies SET name = ?1, symbols = ?2, timeframes = ?3, params = ?4, risk = ?5, "
              "updated_ns = ?6 WHERE id = ?7 AND account_id = ?8 AND state = 'stopped'",
              &st, err));
    bind_text(st, 1, v->name);
    bind_text(st, 2, v->symbols);
    bind_text(st, 3, v->timeframes);
    bind_text(st, 4, v->params);
    bind_text(st, 5, v->risk);
    sqlite3_bind_int64(st, 6, store_now(s));
    sqlite3_bind_int64(st, 7, v->id);
    sqlite3_bind_int64(st, 8, v->account_id);
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    if (rc == ATP_OK && changes(q) == 0)
        rc = strategy_not_stopped(q, v->account_id, v->id, "updated", err);
    return rc;
}

static int sq_strategy_delete(struct store *s, int64_t account_id, int64_t id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "DELETE FROM strategies WHERE id = ?1 AND account_id = ?2 AND state = 'stopped'", &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    if (rc == ATP_OK && changes(q) == 0)
        rc = strategy_not_stopped(q, account_id, id, "deleted", err);
    return rc;
}

/* Steps an UPDATE of one strategy (finalizing st): ATP_ENOTFOUND when it changed no row. */
static int strategy_changed(struct sqlite_store *q, sqlite3_stmt *st, struct atp_err *err)
{
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    if (rc == ATP_OK && changes(q) == 0)
        rc = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "strategy_id", "not found");
    return rc;
}

static int sq_strategy_set_state(struct store *s, int64_t account_id, int64_t id, int state, const char *reason,
                                 struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "UPDATE strategies SET state = ?1, state_reason = ?2, updated_ns = ?3 WHERE id = ?4 AND account_id = ?5",
              &st, err));
    bind_text(st, 1, store_strategy_state_name(state));
    bind_text(st, 2, reason);
    sqlite3_bind_int64(st, 3, store_now(s));
    sqlite3_bind_int64(st, 4, id);
    sqlite3_bind_int64(st, 5, account_id);
    return strategy_changed(q, st, err);
}

static int sq_strategy_set_signal(struct store *s, int64_t account_id, int64_t id, const char *signal_json,
                                  int64_t ts_ns, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "UPDATE strategies SET last_signal = ?1, last_signal_ns = ?2, updated_ns = ?3 "
              "WHERE id = ?4 AND account_id = ?5",
              &st, err));
    bind_text(st, 1, signal_json);
    sqlite3_bind_int64(st, 2, ts_ns);
    sqlite3_bind_int64(st, 3, store_now(s));
    sqlite3_bind_int64(st, 4, id);
    sqlite3_bind_int64(st, 5, account_id);
    return strategy_changed(q, st, err);
}

static int read_risk_limits(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_risk_limits *v = row;
    v->account_id = sqlite3_column_int64(st, 0);
    TRY(col_enum(st, 1, store_trade_mode_name, &v->mode, "mode", err));
    v->max_loss = sqlite3_column_int64(st, 2);
    v->max_position_qty = sqlite3_column_int64(st, 3);
    v->max_order_value = sqlite3_column_int64(st, 4);
    v->max_open_orders = (int32_t)sqlite3_column_int64(st, 5);
    v->breached = sqlite3_column_int(st, 6);
    v->breach_pnl = sqlite3_column_int64(st, 7);
    v->breached_ns = sqlite3_column_int64(st, 8);
    v->acknowledged_ns = sqlite3_column_int64(st, 9);
    v->updated_ns = sqlite3_column_int64(st, 10);
    return ATP_OK;
}

static int sq_risk_limits_get(struct store *s, int64_t account_id, int mode, struct store_risk_limits *out,
                              struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "SELECT " STORE_RISK_LIMITS_COLS " FROM account_risk_limits WHERE account_id = ?1 AND mode = ?2",
              &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    bind_text(st, 2, store_trade_mode_name(mode));
    int rc = get_one(q, st, read_risk_limits, out, "account_id", err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_risk_limits_set(struct store *s, const struct store_risk_limits *v, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "INSERT INTO account_risk_limits (account_id, mode, max_loss, max_position_qty, max_order_value, "
              "max_open_orders, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
              "ON CONFLICT (account_id, mode) DO UPDATE SET max_loss = excluded.max_loss, "
              "max_position_qty = excluded.max_position_qty, max_order_value = excluded.max_order_value, "
              "max_open_orders = excluded.max_open_orders, updated_ns = excluded.updated_ns",
              &st, err));
    sqlite3_bind_int64(st, 1, v->account_id);
    bind_text(st, 2, store_trade_mode_name(v->mode));
    sqlite3_bind_int64(st, 3, v->max_loss);
    sqlite3_bind_int64(st, 4, v->max_position_qty);
    sqlite3_bind_int64(st, 5, v->max_order_value);
    sqlite3_bind_int64(st, 6, v->max_open_orders);
    sqlite3_bind_int64(st, 7, store_now(s));
    int rc = exec_done(q, st, "account_id", err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_risk_breach_record(struct store *s, int64_t account_id, int mode, int64_t pnl, int64_t ts_ns,
                                 struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "INSERT INTO account_risk_limits (account_id, mode, breached, breach_pnl, breached_ns, updated_ns) "
              "VALUES (?1, ?2, 1, ?3, ?4, ?5) ON CONFLICT (account_id, mode) DO UPDATE SET breached = 1, "
              "breach_pnl = excluded.breach_pnl, breached_ns = excluded.breached_ns, updated_ns = excluded.updated_ns",
              &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    bind_text(st, 2, store_trade_mode_name(mode));
    sqlite3_bind_int64(st, 3, pnl);
    sqlite3_bind_int64(st, 4, ts_ns);
    sqlite3_bind_int64(st, 5, store_now(s));
    int rc = exec_done(q, st, "account_id", err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_risk_breach_ack(struct store *s, int64_t account_id, int mode, int64_t ts_ns, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "UPDATE account_risk_limits SET breached = 0, acknowledged_ns = ?1, updated_ns = ?2 "
              "WHERE account_id = ?3 AND mode = ?4 AND breached = 1",
              &st, err));
    sqlite3_bind_int64(st, 1, ts_ns);
    sqlite3_bind_int64(st, 2, store_now(s));
    sqlite3_bind_int64(st, 3, account_id);
    bind_text(st, 4, store_trade_mode_name(mode));
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    if (rc == ATP_OK && changes(q) == 0)
        rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "breached", "no breach to acknowledge");
    return rc;
}

static int sq_strategy_limit_get(struct store *s, int mode, int32_t *max_running, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "SELECT max_running FROM strategy_limits WHERE mode = ?1", &st, err));
    bind_text(st, 1, store_trade_mode_name(mode));
    int64_t v = 0;
    int rc = get_one(q, st, read_i64_row, &v, "mode", err);
    sqlite3_finalize(st);
    *max_running = (int32_t)v;
    return rc;
}

static int sq_strategy_limit_set(struct store *s, int mode, int32_t max_running, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "INSERT INTO strategy_limits (mode, max_running, updated_ns) VALUES (?1, ?2, ?3) "
              "ON CONFLICT (mode) DO UPDATE SET max_running = excluded.max_running, updated_ns = excluded.updated_ns",
              &st, err));
    bind_text(st, 1, store_trade_mode_name(mode));
    sqlite3_bind_int64(st, 2, max_running);
    sqlite3_bind_int64(st, 3, store_now(s));
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    return rc;
}

/* ==== end of strategies ==== */

/* ==== paper trading (store.h) ==== */

static int read_funds(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    (void)err;
    struct store_funds *f = row;
    f->account_id = sqlite3_column_int64(st, 0);
    f->initial_capital_px = sqlite3_column_int64(st, 1);
    f->updated_ns = sqlite3_column_int64(st, 2);
    return ATP_OK;
}

static int64_t key_funds(const void *row) { return ((const struct store_funds *)row)->account_id; }

static int sq_funds_set(struct store *s, int64_t account_id, int64_t capital, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_FUNDS_UPSERT, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, capital);
    sqlite3_bind_int64(st, 3, store_now(s));
    return exec_done(q, st, "account_id", err);
}

static int sq_funds_get(struct store *s, int64_t account_id, struct store_funds *out, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_FUNDS_GET, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    memset(out, 0, sizeof *out);
    return get_one(q, st, read_funds, out, "account_id", err);
}

static int sq_funds_list(struct store *s, const struct store_page *p, struct store_funds *out,
                         struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_FUNDS_LIST, &st, err));
    sqlite3_bind_int64(st, 1, p->cursor);
    return get_list(q, st, 2, p, read_funds, key_funds, out, sizeof *out, res, err);
}

static int read_order(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_order *o = row;
    o->id = sqlite3_column_int64(st, 0);
    o->account_id = sqlite3_column_int64(st, 1);
    TRY(col_text(st, 2, o->mode, sizeof o->mode, "mode", err));
    o->strategy_id = sqlite3_column_int64(st, 3);
    TRY(col_text(st, 4, o->client_key, sizeof o->client_key, "client_key", err));
    TRY(col_text(st, 5, o->tag, sizeof o->tag, "tag", err));
    TRY(col_text(st, 6, o->symbol, sizeof o->symbol, "symbol", err));
    TRY(col_text(st, 7, o->side, sizeof o->side, "side", err));
    o->qty = sqlite3_column_int64(st, 8);
    TRY(col_text(st, 9, o->type, sizeof o->type, "type", err));
    o->price_px = sqlite3_column_int64(st, 10);
    o->trigger_px = sqlite3_column_int64(st, 11);
    TRY(col_text(st, 12, o->product, sizeof o->product, "product", err));
    TRY(col_text(st, 13, o->validity, sizeof o->validity, "validity", err));
    TRY(col_text(st, 14, o->state, sizeof o->state, "state", err));
    o->filled_qty = sqlite3_column_int64(st, 15);
    o->filled_notional_px = sqlite3_column_int64(st, 16);
    TRY(col_text(st, 17, o->reason, sizeof o->reason, "reason", err));
    o->created_ns = sqlite3_column_int64(st, 18);
    o->updated_ns = sqlite3_column_int64(st, 19);
    return ATP_OK;
}

static int64_t key_order(const void *row) { return ((const struct store_order *)row)->id; }

static int hist_append(struct sqlite_store *q, int64_t order_id, const char *state, const char *reason,
                       int64_t ts, struct atp_err *err)
{
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_HIST_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, order_id);
    bind_text(st, 2, state);
    bind_text(st, 3, reason);
    sqlite3_bind_int64(st, 4, ts);
    return exec_done(q, st, "order_id", err);
}

static int order_insert_in_tx(struct sqlite_store *q, const struct store_order *o, int64_t now, int64_t *id,
                              struct atp_err *err)
{
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ORDER_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, o->account_id);
    bind_text(st, 2, o->mode);
    bind_id_or_null(st, 3, o->strategy_id);
    if (o->client_key[0])
        bind_text(st, 4, o->client_key);
    else
        sqlite3_bind_null(st, 4);
    bind_text(st, 5, o->tag);
    bind_text(st, 6, o->symbol);
    bind_text(st, 7, o->side);
    sqlite3_bind_int64(st, 8, o->qty);
    bind_text(st, 9, o->type);
    sqlite3_bind_int64(st, 10, o->price_px);
    sqlite3_bind_int64(st, 11, o->trigger_px);
    bind_text(st, 12, o->product);
    bind_text(st, 13, o->validity);
    bind_text(st, 14, o->state);
    sqlite3_bind_int64(st, 15, now);
    int rc = sqlite3_step(st);
    int status = ATP_OK;
    if (rc != SQLITE_DONE) {
        /* the one UNIQUE constraint is (account_id, client_key); a foreign key is the account */
        status = db_fail(q, rc, rc == SQLITE_CONSTRAINT_UNIQUE ? "client_key" : "account_id", err);
    }
    sqlite3_reset(st);
    TRY(status);
    *id = sqlite3_last_insert_rowid(q->db);
    return hist_append(q, *id, o->state, "", now, err);
}

static int sq_order_insert(struct store *s, const struct store_order *o, int64_t *id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, order_insert_in_tx(q, o, store_now(s), id, err), err);
}

static int sq_order_get(struct store *s, int64_t account_id, int64_t id, struct store_order *out,
                        struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ORDER_GET, &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    return get_one(q, st, read_order, out, "order_id", err);
}

static int sq_order_find_key(struct store *s, int64_t account_id, const char *key, struct store_order *out,
                             struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ORDER_FIND_KEY, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    bind_text(st, 2, key);
    return get_one(q, st, read_order, out, "client_key", err);
}

static int sq_order_list(struct store *s, const struct store_order_filter *f, const struct store_page *p,
                         struct store_order *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ORDER_LIST, &st, err));
    sqlite3_bind_int64(st, 1, f->account_id);
    bind_text(st, 2, f->state);
    sqlite3_bind_int64(st, 3, p->cursor);
    return get_list(q, st, 4, p, read_order, key_order, out, sizeof *out, res, err);
}

static int read_state(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    return col_text(st, 0, row, STORE_ENUM_MAX, "state", err);
}

static int order_update_in_tx(struct sqlite_store *q, const struct store_order_change *c, int64_t now,
                              struct atp_err *err)
{
    char before[STORE_ENUM_MAX];
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ORDER_STATE, &st, err));
    sqlite3_bind_int64(st, 1, c->order_id);
    sqlite3_bind_int64(st, 2, c->account_id);
    TRY(get_one(q, st, read_state, before, "order_id", err));
    TRY(stmt(q, ST_ORDER_UPDATE, &st, err));
    bind_text(st, 1, c->state);
    sqlite3_bind_int64(st, 2, c->qty);
    sqlite3_bind_int64(st, 3, c->price_px);
    sqlite3_bind_int64(st, 4, c->trigger_px);
    sqlite3_bind_int64(st, 5, c->filled_qty);
    sqlite3_bind_int64(st, 6, c->filled_notional_px);
    bind_text(st, 7, c->reason);
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_int64(st, 9, c->order_id);
    sqlite3_bind_int64(st, 10, c->account_id);
    TRY(exec_done(q, st, "order_id", err));
    if (strcmp(before, c->state) != 0)
        TRY(hist_append(q, c->order_id, c->state, c->reason, now, err));
    return ATP_OK;
}

static int sq_order_update(struct store *s, const struct store_order_change *c, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, order_update_in_tx(q, c, store_now(s), err), err);
}

static int read_hist(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_order_hist *h = row;
    h->id = sqlite3_column_int64(st, 0);
    TRY(col_text(st, 1, h->state, sizeof h->state, "state", err));
    TRY(col_text(st, 2, h->reason, sizeof h->reason, "reason", err));
    h->ts_ns = sqlite3_column_int64(st, 3);
    return ATP_OK;
}

static int64_t key_hist(const void *row) { return ((const struct store_order_hist *)row)->id; }

static int sq_order_history(struct store *s, int64_t account_id, int64_t id, struct store_order_hist *out,
                            uint32_t cap, uint32_t *count, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    char state[STORE_ENUM_MAX];
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_ORDER_STATE, &st, err)); /* scopes the order id to the account */
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    TRY(get_one(q, st, read_state, state, "order_id", err));
    if (cap == 0)
        return ATP_OK;
    TRY(stmt(q, ST_HIST_LIST, &st, err));
    sqlite3_bind_int64(st, 1, id);
    struct store_page p = {0, cap > STORE_PAGE_MAX ? STORE_PAGE_MAX : cap};
    struct store_page_out res;
    TRY(get_list(q, st, 2, &p, read_hist, key_hist, out, sizeof *out, &res, err));
    *count = res.count;
    return ATP_OK;
}

static int read_fill(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_fill *f = row;
    f->id = sqlite3_column_int64(st, 0);
    f->order_id = sqlite3_column_int64(st, 1);
    f->account_id = sqlite3_column_int64(st, 2);
    TRY(col_text(st, 3, f->mode, sizeof f->mode, "mode", err));
    f->strategy_id = sqlite3_column_int64(st, 4);
    TRY(col_text(st, 5, f->venue_id, sizeof f->venue_id, "venue_id", err));
    TRY(col_text(st, 6, f->symbol, sizeof f->symbol, "symbol", err));
    TRY(col_text(st, 7, f->side, sizeof f->side, "side", err));
    TRY(col_text(st, 8, f->product, sizeof f->product, "product", err));
    f->qty = sqlite3_column_int64(st, 9);
    f->price_px = sqlite3_column_int64(st, 10);
    f->charges_px = sqlite3_column_int64(st, 11);
    f->ts_ns = sqlite3_column_int64(st, 12);
    f->created_ns = sqlite3_column_int64(st, 13);
    return ATP_OK;
}

static int64_t key_fill(const void *row) { return ((const struct store_fill *)row)->id; }

static int fill_record_in_tx(struct sqlite_store *q, const struct store_fill *f, const struct store_order_change *c,
                             int64_t now, int64_t *id, struct atp_err *err)
{
    TRY(order_update_in_tx(q, c, now, err)); /* first: it checks the order is the account's */
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_FILL_INSERT, &st, err));
    sqlite3_bind_int64(st, 1, f->order_id);
    sqlite3_bind_int64(st, 2, f->account_id);
    bind_text(st, 3, f->mode);
    bind_id_or_null(st, 4, f->strategy_id);
    bind_text(st, 5, f->venue_id);
    bind_text(st, 6, f->symbol);
    bind_text(st, 7, f->side);
    bind_text(st, 8, f->product);
    sqlite3_bind_int64(st, 9, f->qty);
    sqlite3_bind_int64(st, 10, f->price_px);
    sqlite3_bind_int64(st, 11, f->charges_px);
    sqlite3_bind_int64(st, 12, f->ts_ns);
    sqlite3_bind_int64(st, 13, now);
    TRY(exec_done(q, st, "order_id", err));
    *id = sqlite3_last_insert_rowid(q->db);
    return ATP_OK;
}

static int sq_fill_record(struct store *s, const struct store_fill *f, const struct store_order_change *c,
                          int64_t *id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, fill_record_in_tx(q, f, c, store_now(s), id, err), err);
}

static int sq_fill_list(struct store *s, int64_t account_id, const struct store_page *p, struct store_fill *out,
                        struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_FILL_LIST, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, p->cursor);
    return get_list(q, st, 3, p, read_fill, key_fill, out, sizeof *out, res, err);
}

static int read_kill(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_kill_switch *k = row;
    k->account_id = sqlite3_column_int64(st, 0);
    TRY(col_text(st, 1, k->state, sizeof k->state, "state", err));
    k->set_by = sqlite3_column_int64(st, 2);
    TRY(col_text(st, 3, k->reason, sizeof k->reason, "reason", err));
    k->updated_ns = sqlite3_column_int64(st, 4);
    return ATP_OK;
}

/* + 1: the global switch is account 0, and a cursor of 0 means "from the start". */
static int64_t key_kill(const void *row) { return ((const struct store_kill_switch *)row)->account_id + 1; }

static int sq_kill_switch_set(struct store *s, const struct store_kill_switch *k, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_KILL_UPSERT, &st, err));
    sqlite3_bind_int64(st, 1, k->account_id);
    bind_text(st, 2, k->state);
    sqlite3_bind_int64(st, 3, k->set_by);
    bind_text(st, 4, k->reason);
    sqlite3_bind_int64(st, 5, store_now(s));
    return exec_done(q, st, "account_id", err);
}

static int sq_kill_switch_get(struct store *s, int64_t account_id, struct store_kill_switch *out,
                              struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_KILL_GET, &st, err));
    sqlite3_bind_int64(st, 1, account_id);
    memset(out, 0, sizeof *out);
    return get_one(q, st, read_kill, out, "account_id", err);
}

static int sq_kill_switch_list(struct store *s, const struct store_page *p, struct store_kill_switch *out,
                               struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(stmt(q, ST_KILL_LIST, &st, err));
    sqlite3_bind_int64(st, 1, p->cursor);
    return get_list(q, st, 2, p, read_kill, key_kill, out, sizeof *out, res, err);
}

/* ==== end of paper trading ==== */

/* ==== backtests ==== */

static int read_backtest(sqlite3_stmt *st, void *row, struct atp_err *err)
{
    struct store_backtest *b = row;
    b->id = sqlite3_column_int64(st, 0);
    b->user_id = sqlite3_column_int64(st, 1);
    b->account_id = sqlite3_column_int64(st, 2); /* NULL reads 0 */
    TRY(col_enum(st, 3, store_bt_status_name, &b->status, "status", err));
    b->progress_ppm = (int32_t)sqlite3_column_int64(st, 4);
    TRY(col_text(st, 5, b->strategy, sizeof b->strategy, "strategy", err));
    TRY(col_text(st, 6, b->source, sizeof b->source, "source", err));
    TRY(col_text(st, 7, b->request, sizeof b->request, "request", err));
    TRY(col_text(st, 8, b->error, sizeof b->error, "error", err));
    TRY(col_text(st, 9, b->metrics, sizeof b->metrics, "metrics", err));
    b->created_ns = sqlite3_column_int64(st, 10);
    b->started_ns = sqlite3_column_int64(st, 11);
    b->finished_ns = sqlite3_column_int64(st, 12);
    return ATP_OK;
}

static int64_t key_backtest(const void *row) { return ((const struct store_backtest *)row)->id; }

static int sq_backtest_create(struct store *s, const struct store_backtest *b, int64_t *id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "INSERT INTO backtests (user_id, account_id, status, strategy, source, request, created_ns) "
              "VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6)",
              &st, err));
    sqlite3_bind_int64(st, 1, b->user_id);
    bind_id_or_null(st, 2, b->account_id);
    bind_text(st, 3, b->strategy);
    bind_text(st, 4, b->source);
    bind_text(st, 5, b->request);
    sqlite3_bind_int64(st, 6, store_now(s));
    int rc = exec_done(q, st, b->account_id > 0 ? "account_id" : "user_id", err);
    sqlite3_finalize(st);
    if (rc == ATP_OK)
        *id = sqlite3_last_insert_rowid(q->db);
    return rc;
}

static int sq_backtest_get(struct store *s, int64_t id, struct store_backtest *out, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "SELECT " STORE_BACKTEST_COLS " FROM backtests WHERE id = ?1", &st, err));
    sqlite3_bind_int64(st, 1, id);
    int rc = get_one(q, st, read_backtest, out, "backtest_id", err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_backtest_list(struct store *s, int64_t user_id, const struct store_page *p,
                            struct store_backtest *out, struct store_page_out *res, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "SELECT " STORE_BACKTEST_COLS " FROM backtests WHERE (user_id = ?1 "
              "OR account_id IN (SELECT id FROM trading_accounts WHERE owner_id = ?1) "
              "OR account_id IN (SELECT account_id FROM account_access WHERE user_id = ?1)) "
              "AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3",
              &st, err));
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, p->cursor);
    int rc = get_list(q, st, 3, p, read_backtest, key_backtest, out, sizeof *out, res, err);
    sqlite3_finalize(st);
    return rc;
}

/* After an UPDATE guarded by status changed nothing: ATP_ENOTFOUND or ATP_ESTATE. */
static int sq_backtest_why_not(struct store *s, int64_t id, const char *what, struct atp_err *err)
{
    struct store_backtest *b = atp_malloc(sizeof *b);
    if (!b)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    int rc = sq_backtest_get(s, id, b, err);
    if (rc == ATP_OK)
        rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "status", "the backtest is %s, not %s",
                         store_bt_status_name(b->status), what);
    atp_free(b);
    return rc;
}

static int sq_backtest_start(struct store *s, int64_t id, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "UPDATE backtests SET status = 'running', started_ns = ?2 WHERE id = ?1 AND status = 'queued'",
              &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, store_now(s));
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    if (rc == ATP_OK && changes(q) == 0)
        rc = sq_backtest_why_not(s, id, "queued", err);
    return rc;
}

static int sq_backtest_progress(struct store *s, int64_t id, int32_t ppm, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q, "UPDATE backtests SET progress_ppm = ?2 WHERE id = ?1 AND status = 'running'", &st, err));
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, ppm);
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_backtest_finish(struct store *s, int64_t id, int status, const char *error, const char *metrics,
                              const char *result_json, const char *report_html, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "UPDATE backtests SET status = ?2, error = ?3, metrics = ?4, result_json = ?5, report_html = ?6, "
              "finished_ns = ?7, progress_ppm = CASE WHEN ?2 = 'done' THEN 1000000 ELSE progress_ppm END "
              "WHERE id = ?1 AND status IN ('queued', 'running')",
              &st, err));
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, store_bt_status_name(status));
    bind_text(st, 3, error);
    bind_text(st, 4, metrics);
    if (result_json)
        bind_text(st, 5, result_json);
    if (report_html)
        bind_text(st, 6, report_html);
    sqlite3_bind_int64(st, 7, store_now(s));
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    if (rc == ATP_OK && changes(q) == 0)
        rc = sq_backtest_why_not(s, id, "queued or running", err);
    return rc;
}

static int sq_backtest_document(struct store *s, int64_t id, int doc, char **out, size_t *len, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              doc == STORE_BT_DOC_RESULT ? "SELECT result_json FROM backtests WHERE id = ?1"
                                         : "SELECT report_html FROM backtests WHERE id = ?1",
              &st, err));
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st), status = ATP_OK;
    if (rc == SQLITE_DONE) {
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "backtest_id", "not found");
    } else if (rc != SQLITE_ROW) {
        status = db_fail(q, rc, NULL, err);
    } else if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "document", "the backtest has no such document");
    } else {
        const unsigned char *text = sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        char *copy = atp_malloc(n + 1);
        if (!copy) {
            status = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        } else {
            if (n)
                memcpy(copy, text, n);
            copy[n] = '\0';
            *out = copy;
            *len = n;
        }
    }
    sqlite3_finalize(st);
    return status;
}

static int sq_backtest_interrupt(struct store *s, const char *reason, int *count, struct atp_err *err)
{
    struct sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    TRY(adhoc(q,
              "UPDATE backtests SET status = 'failed', error = ?1, finished_ns = ?2 "
              "WHERE status IN ('queued', 'running')",
              &st, err));
    bind_text(st, 1, reason);
    sqlite3_bind_int64(st, 2, store_now(s));
    int rc = exec_done(q, st, NULL, err);
    sqlite3_finalize(st);
    if (rc == ATP_OK)
        *count = changes(q);
    return rc;
}

/* ==== end of backtests ==== */

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .migrate = sq_migrate,
    .migrate_status = sq_migrate_status,
    .user_create = sq_user_create,
    .user_get = sq_user_get,
    .user_get_by_email = sq_user_get_by_email,
    .user_list = sq_user_list,
    .user_update = sq_user_update,
    .token_insert = sq_token_insert,
    .token_find = sq_token_find,
    .token_revoke = sq_token_revoke,
    .token_revoke_family = sq_token_revoke_family,
    .token_revoke_all_except = sq_token_revoke_all_except,
    /* ==== sessions ==== */
    .session_create = sq_session_create,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_revoke = sq_session_revoke,
    .session_revoke_others = sq_session_revoke_others,
    .totp_step_get = sq_totp_step_get,
    .totp_step_advance = sq_totp_step_advance,
    .totp_step_reset = sq_totp_step_reset,
    /* ==== end of sessions ==== */
    .account_create = sq_account_create,
    .account_get = sq_account_get,
    .accounts_list_for_user = sq_accounts_list_for_user,
    .accounts_list_all = sq_accounts_list_all,
    .account_rename = sq_account_rename,
    .access_grant = sq_access_grant,
    .access_revoke = sq_access_revoke,
    .access_list = sq_access_list,
    .access_role = sq_access_role,
    .invite_create = sq_invite_create,
    .invite_list_for_account = sq_invite_list_for_account,
    .invite_list_for_email = sq_invite_list_for_email,
    .invite_find = sq_invite_find,
    .invite_set_status = sq_invite_set_status,
    .invite_accept = sq_invite_accept,
    .invite_expire = sq_invite_expire,
    .broker_create = sq_broker_create,
    .broker_list = sq_broker_list,
    .broker_delete = sq_broker_delete,
    .broker_secret_get = sq_broker_secret_get,
    .audit_append = sq_audit_append,
    .audit_query = sq_audit_query,
    .notif_create = sq_notif_create,
    .notif_list = sq_notif_list,
    .notif_mark_read = sq_notif_mark_read,
    .pref_set = sq_pref_set,
    .pref_list = sq_pref_list,
    /* administration additions */
    .ping = sq_ping,
    .stats_get = sq_stats_get,
    .user_admin_update = sq_user_admin_update,
    .notif_mark_all_read = sq_notif_mark_all_read,
    .broker_list_all = sq_broker_list_all,
    .broker_secret_replace = sq_broker_secret_replace,
    /* strategies */
    .strategy_create = sq_strategy_create,
    .strategy_get = sq_strategy_get,
    .strategy_account = sq_strategy_account,
    .strategy_list = sq_strategy_list,
    .strategy_update = sq_strategy_update,
    .strategy_delete = sq_strategy_delete,
    .strategy_set_state = sq_strategy_set_state,
    .strategy_set_signal = sq_strategy_set_signal,
    .risk_limits_get = sq_risk_limits_get,
    .risk_limits_set = sq_risk_limits_set,
    .risk_breach_record = sq_risk_breach_record,
    .risk_breach_ack = sq_risk_breach_ack,
    .strategy_limit_get = sq_strategy_limit_get,
    .strategy_limit_set = sq_strategy_limit_set,
    /* paper trading */
    .funds_set = sq_funds_set,
    .funds_get = sq_funds_get,
    .funds_list = sq_funds_list,
    .order_insert = sq_order_insert,
    .order_get = sq_order_get,
    .order_find_key = sq_order_find_key,
    .order_list = sq_order_list,
    .order_update = sq_order_update,
    .order_history = sq_order_history,
    .fill_record = sq_fill_record,
    .fill_list = sq_fill_list,
    .kill_switch_set = sq_kill_switch_set,
    .kill_switch_get = sq_kill_switch_get,
    .kill_switch_list = sq_kill_switch_list,
    /* backtests */
    .backtest_create = sq_backtest_create,
    .backtest_get = sq_backtest_get,
    .backtest_list = sq_backtest_list,
    .backtest_start = sq_backtest_start,
    .backtest_progress = sq_backtest_progress,
    .backtest_finish = sq_backtest_finish,
    .backtest_document = sq_backtest_document,
    .backtest_interrupt = sq_backtest_interrupt,
};
