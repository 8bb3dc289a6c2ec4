/* store/postgres: PostgreSQL backend. Validation happened in store.c; here are statements and the
 * mapping of PostgreSQL outcomes (SQLSTATEs) to enum atp_status. Mirrors sqlite/sqlite_store.c
 * operation for operation, so both backends answer the store suite identically. */
#include "store/postgres/pg_store.h"

#include <assert.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/migrations/migrations.h"
#include "store/store_backend.h"

#define CONNECT_TIMEOUT_S "10"
#define PARAMS_MAX 16
/* Key of the advisory lock that serialises migrations of one database ("ATP" in ASCII). */
#define MIGRATE_LOCK_KEY "4281424"

/* Every statement of the backend, prepared on first use and kept until close. */
enum st {
    ST_MIG_LOCK,
    ST_MIG_EXISTS,
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


/* Every parameter carries an explicit cast: its type never depends on the server's inference. A
 * list statement's LIMIT is always its last parameter (get_list appends it). */
static const char *const st_sql[ST_COUNT] = {
    [ST_MIG_LOCK] = "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")",
    [ST_MIG_EXISTS] = "SELECT (to_regclass('schema_migrations') IS NOT NULL)::int",
    [ST_MIG_MAX] = "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations",
    [ST_MIG_HAS] = "SELECT 1 FROM schema_migrations WHERE version = $1::int",
    [ST_MIG_INSERT] =
        "INSERT INTO schema_migrations (version, name, applied_ns) VALUES ($1::int, $2::text, $3::bigint)",
    [ST_MIG_LIST] = "SELECT version, applied_ns FROM schema_migrations ORDER BY version",
    [ST_USER_INSERT] =
        "INSERT INTO users (email, email_key, name, password_hash, role, status, failed_logins, "
        "locked_until_ns, totp_secret, totp_enabled, created_ns, updated_ns) "
        "VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::int, $8::bigint, "
        "$9::bytea, $10::int, $11::bigint, $11::bigint) RETURNING id",
    [ST_USER_GET] = "SELECT " STORE_USER_COLS " FROM users WHERE id = $1::bigint",
    [ST_USER_GET_EMAIL] = "SELECT " STORE_USER_COLS " FROM users WHERE email_key = $1::text",
    [ST_USER_LIST] = "SELECT " STORE_USER_COLS " FROM users WHERE id > $1::bigint ORDER BY id LIMIT $2::bigint",
    [ST_USER_UPDATE] =
        "UPDATE users SET "
        "role = CASE WHEN ($1::int & 1) <> 0 THEN $2::text ELSE role END, "
        "status = CASE WHEN ($1::int & 2) <> 0 THEN $3::text ELSE status END, "
        "password_hash = CASE WHEN ($1::int & 4) <> 0 THEN $4::text ELSE password_hash END, "
        "failed_logins = CASE WHEN ($1::int & 8) <> 0 THEN $5::int ELSE failed_logins END, "
        "locked_until_ns = CASE WHEN ($1::int & 8) <> 0 THEN $6::bigint ELSE locked_until_ns END, "
        "totp_secret = CASE WHEN ($1::int & 16) <> 0 THEN $7::bytea ELSE totp_secret END, "
        "totp_enabled = CASE WHEN ($1::int & 16) <> 0 THEN $8::int ELSE totp_enabled END, "
        "name = CASE WHEN ($1::int & 32) <> 0 THEN $9::text ELSE name END, "
        "updated_ns = $10::bigint WHERE id = $11::bigint",
    [ST_TOKEN_INSERT] =
        "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_ns, created_ns) "
        "VALUES ($1::bigint, $2::text, $3::text, $4::bigint, $5::bigint) RETURNING id",
    [ST_TOKEN_FIND] = "SELECT " STORE_TOKEN_COLS " FROM refresh_tokens WHERE token_hash = $1::text",
    [ST_TOKEN_REVOKE] =
        "UPDATE refresh_tokens SET revoked_ns = CASE WHEN revoked_ns = 0 THEN $1::bigint "
        "ELSE revoked_ns END, replaced_by = coalesce($2::bigint, replaced_by) "
        "WHERE id = $3::bigint AND user_id = $4::bigint",
    [ST_TOKEN_REVOKE_FAMILY] = "UPDATE refresh_tokens SET revoked_ns = $1::bigint "
                               "WHERE user_id = $2::bigint AND family_id = $3::text AND revoked_ns = 0",
    [ST_TOKEN_REVOKE_ALL] = "UPDATE refresh_tokens SET revoked_ns = $1::bigint "
                            "WHERE user_id = $2::bigint AND id <> $3::bigint AND revoked_ns = 0",
    /* ==== sessions ==== */
    [ST_SESSION_INSERT] = "INSERT INTO sessions (id, user_id, created_ns, last_seen_ns, ip, user_agent) "
                          "VALUES ($1::text, $2::bigint, $3::bigint, $3::bigint, $4::text, $5::text)",
    [ST_SESSION_GET] = "SELECT " STORE_SESSION_COLS ", u.role, u.status FROM sessions s "
                       "JOIN users u ON u.id = s.user_id WHERE s.id = $1::text",
    [ST_SESSION_TOUCH] = "UPDATE sessions SET last_seen_ns = $1::bigint WHERE id = $2::text "
                         "AND last_seen_ns < $1::bigint AND revoked_ns = 0",
    [ST_SESSION_REVOKE] =
        "UPDATE sessions SET revoke_reason = CASE WHEN revoked_ns = 0 THEN $2::text ELSE revoke_reason END, "
        "revoked_ns = CASE WHEN revoked_ns = 0 THEN $1::bigint ELSE revoked_ns END "
        "WHERE id = $3::text AND user_id = $4::bigint",
    [ST_SESSION_REVOKE_OTHERS] = "UPDATE sessions SET revoked_ns = $1::bigint, revoke_reason = $2::text "
                                 "WHERE user_id = $3::bigint AND id <> $4::text AND revoked_ns = 0",
    [ST_SESSION_TOKENS_REVOKE_OTHERS] = "UPDATE refresh_tokens SET revoked_ns = $1::bigint "
                                        "WHERE user_id = $2::bigint AND family_id <> $3::text AND revoked_ns = 0",
    [ST_TOTP_STEP_GET] = "SELECT totp_last_step FROM users WHERE id = $1::bigint",
    [ST_TOTP_STEP_ADVANCE] = "UPDATE users SET totp_last_step = $1::bigint WHERE id = $2::bigint "
                             "AND totp_last_step < $1::bigint",
    [ST_TOTP_STEP_RESET] = "UPDATE users SET totp_last_step = -1 WHERE id = $1::bigint",
    /* ==== end of sessions ==== */
    [ST_ACCOUNT_INSERT] = "INSERT INTO trading_accounts (owner_id, name, broker, created_ns) "
                          "VALUES ($1::bigint, $2::text, $3::text, $4::bigint) RETURNING id",
    [ST_ACCOUNT_GET] = "SELECT id, owner_id, name, broker, created_ns, 'owner'::text "
                       "FROM trading_accounts WHERE id = $1::bigint",
    [ST_ACCOUNT_LIST_USER] =
        "SELECT a.id, a.owner_id, a.name, a.broker, a.created_ns, "
        "CASE WHEN a.owner_id = $1::bigint THEN 'owner' ELSE g.role END "
        "FROM trading_accounts a LEFT JOIN account_access g "
        "ON g.account_id = a.id AND g.user_id = $1::bigint "
        "WHERE (a.owner_id = $1::bigint OR g.user_id IS NOT NULL) AND a.id > $2::bigint "
        "ORDER BY a.id LIMIT $3::bigint",
    [ST_ACCOUNT_LIST_ALL] =
        "SELECT a.id, a.owner_id, a.name, a.broker, a.created_ns, "
        "CASE WHEN a.owner_id = $1::bigint THEN 'owner' ELSE COALESCE(g.role, 'none') END "
        "FROM trading_accounts a LEFT JOIN account_access g "
        "ON g.account_id = a.id AND g.user_id = $1::bigint "
        "WHERE a.id > $2::bigint ORDER BY a.id LIMIT $3::bigint",
    [ST_ACCOUNT_RENAME] = "UPDATE trading_accounts SET name = $1::text WHERE id = $2::bigint",
    [ST_ACCESS_UPSERT] =
        "INSERT INTO account_access (account_id, user_id, role, granted_ns) "
        "VALUES ($1::bigint, $2::bigint, $3::text, $4::bigint) "
        "ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role",
    [ST_ACCESS_DELETE] = "DELETE FROM account_access WHERE account_id = $1::bigint AND user_id = $2::bigint",
    [ST_ACCESS_LIST] = "SELECT account_id, user_id, role, granted_ns FROM account_access "
                       "WHERE account_id = $1::bigint AND user_id > $2::bigint ORDER BY user_id "
                       "LIMIT $3::bigint",
    [ST_ACCESS_ROLE] = "SELECT a.owner_id, g.role FROM trading_accounts a LEFT JOIN account_access g "
                       "ON g.account_id = a.id AND g.user_id = $2::bigint WHERE a.id = $1::bigint",
    [ST_INVITE_INSERT] =
        "INSERT INTO invitations (account_id, email, email_key, token_hash, role, expires_ns, "
        "created_by, created_ns, updated_ns) VALUES ($1::bigint, $2::text, $3::text, $4::text, "
        "$5::text, $6::bigint, $7::bigint, $8::bigint, $8::bigint) RETURNING id",
    [ST_INVITE_LIST_ACCOUNT] = "SELECT " STORE_INVITE_COLS " FROM invitations WHERE account_id = $1::bigint "
                               "AND id > $2::bigint ORDER BY id LIMIT $3::bigint",
    [ST_INVITE_LIST_EMAIL] = "SELECT " STORE_INVITE_COLS " FROM invitations WHERE email_key = $1::text "
                             "AND id > $2::bigint ORDER BY id LIMIT $3::bigint",
    [ST_INVITE_FIND] = "SELECT " STORE_INVITE_COLS " FROM invitations WHERE token_hash = $1::text",
    [ST_INVITE_SET_STATUS] = "UPDATE invitations SET status = $1::text, updated_ns = $2::bigint "
                             "WHERE id = $3::bigint AND account_id = $4::bigint AND status = 'pending'",
    [ST_INVITE_STATUS] = "SELECT status FROM invitations WHERE id = $1::bigint AND account_id = $2::bigint",
    [ST_INVITE_GET] =
        "SELECT " STORE_INVITE_COLS " FROM invitations WHERE id = $1::bigint AND account_id = $2::bigint",
    [ST_INVITE_EXPIRE] = "UPDATE invitations SET status = 'expired', updated_ns = $1::bigint "
                         "WHERE status = 'pending' AND expires_ns <= $2::bigint",
    [ST_BROKER_INSERT] =
        "INSERT INTO broker_connections (account_id, broker, key_id, ciphertext, nonce, masked, "
        "created_ns) VALUES ($1::bigint, $2::text, $3::text, $4::bytea, $5::bytea, $6::text, "
        "$7::bigint) RETURNING id",
    [ST_BROKER_LIST] = "SELECT " STORE_BROKER_COLS " FROM broker_connections WHERE account_id = $1::bigint "
                       "AND id > $2::bigint ORDER BY id LIMIT $3::bigint",
    [ST_BROKER_DELETE] =
        "DELETE FROM broker_connections WHERE id = $1::bigint AND account_id = $2::bigint",
    [ST_BROKER_SECRET] = "SELECT " STORE_BROKER_COLS ", ciphertext, nonce FROM broker_connections "
                         "WHERE id = $1::bigint AND account_id = $2::bigint",
    [ST_AUDIT_INSERT] =
        "INSERT INTO audit_log (ts_ns, user_id, account_id, action, resource, ip, user_agent, "
        "result, details) VALUES ($1::bigint, $2::bigint, $3::bigint, $4::text, $5::text, $6::text, "
        "$7::text, $8::text, $9::text) RETURNING id",
    [ST_AUDIT_QUERY] = "SELECT " STORE_AUDIT_COLS " FROM audit_log "
                       "WHERE ($1::bigint = 0 OR id < $1::bigint) "
                       "AND ($2::bigint = 0 OR user_id = $2::bigint) "
                       "AND ($3::bigint = 0 OR account_id = $3::bigint) "
                       "AND ($4::text = '' OR action = $4::text) AND ts_ns >= $5::bigint "
                       "AND ($6::bigint = 0 OR ts_ns < $6::bigint) ORDER BY id DESC LIMIT $7::bigint",
    [ST_NOTIF_INSERT] = "INSERT INTO notifications (user_id, type, title, body, read, ts_ns) "
                        "VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::int, $6::bigint) "
                        "RETURNING id",
    [ST_NOTIF_LIST] = "SELECT " STORE_NOTIF_COLS " FROM notifications WHERE user_id = $1::bigint "
                      "AND ($2::int = 0 OR read = 0) AND ($3::bigint = 0 OR id < $3::bigint) "
                      "ORDER BY id DESC LIMIT $4::bigint",
    [ST_NOTIF_READ] = "UPDATE notifications SET read = 1 WHERE id = $1::bigint AND user_id = $2::bigint",
    [ST_PREF_UPSERT] =
        "INSERT INTO notification_prefs (user_id, type, channel, enabled) "
        "VALUES ($1::bigint, $2::text, $3::text, $4::int) "
        "ON CONFLICT (user_id, type, channel) DO UPDATE SET enabled = excluded.enabled",
    [ST_PREF_LIST] = "SELECT id, user_id, type, channel, enabled FROM notification_prefs "
                     "WHERE user_id = $1::bigint AND id > $2::bigint ORDER BY id LIMIT $3::bigint",
    /* ==== paper trading ==== */
    [ST_FUNDS_UPSERT] = "INSERT INTO paper_funds (account_id, initial_capital_px, updated_ns) "
                        "VALUES ($1::bigint, $2::bigint, $3::bigint) ON CONFLICT (account_id) DO UPDATE SET "
                        "initial_capital_px = excluded.initial_capital_px, updated_ns = excluded.updated_ns",
    [ST_FUNDS_GET] = "SELECT account_id, initial_capital_px, updated_ns FROM paper_funds WHERE account_id = $1::bigint",
    [ST_FUNDS_LIST] = "SELECT account_id, initial_capital_px, updated_ns FROM paper_funds "
                      "WHERE account_id > $1::bigint ORDER BY account_id LIMIT $2::bigint",
    [ST_ORDER_INSERT] =
        "INSERT INTO orders (account_id, mode, strategy_id, client_key, tag, symbol, side, qty, type, price_px, "
        "trigger_px, product, validity, state, created_ns, updated_ns) VALUES ($1::bigint, $2::text, $3::bigint, "
        "$4::text, $5::text, $6::text, $7::text, $8::bigint, $9::text, $10::bigint, $11::bigint, $12::text, "
        "$13::text, $14::text, $15::bigint, $15::bigint) RETURNING id",
    [ST_ORDER_GET] = "SELECT " STORE_ORDER_COLS " FROM orders WHERE id = $1::bigint AND account_id = $2::bigint",
    [ST_ORDER_FIND_KEY] = "SELECT " STORE_ORDER_COLS " FROM orders WHERE account_id = $1::bigint "
                          "AND client_key = $2::text",
    [ST_ORDER_LIST] = "SELECT " STORE_ORDER_COLS " FROM orders WHERE ($1::bigint = 0 OR account_id = $1::bigint) "
                      "AND ($2::text = '' OR state = $2::text OR ($2::text = 'WORKING' AND state IN "
                      STORE_WORKING_STATES ")) AND id > $3::bigint ORDER BY id LIMIT $4::bigint",
    [ST_ORDER_STATE] = "SELECT state FROM orders WHERE id = $1::bigint AND account_id = $2::bigint FOR UPDATE",
    [ST_ORDER_UPDATE] = "UPDATE orders SET state = $1::text, qty = $2::bigint, price_px = $3::bigint, "
                        "trigger_px = $4::bigint, filled_qty = $5::bigint, filled_notional_px = $6::bigint, "
                        "reason = $7::text, updated_ns = $8::bigint WHERE id = $9::bigint AND account_id = $10::bigint",
    [ST_HIST_INSERT] = "INSERT INTO order_history (order_id, state, reason, ts_ns) "
                       "VALUES ($1::bigint, $2::text, $3::text, $4::bigint)",
    [ST_HIST_LIST] = "SELECT id, state, reason, ts_ns FROM order_history WHERE order_id = $1::bigint "
                     "ORDER BY id LIMIT $2::bigint",
    [ST_FILL_INSERT] =
        "INSERT INTO fills (order_id, account_id, mode, strategy_id, venue_id, symbol, side, product, qty, "
        "price_px, charges_px, ts_ns, created_ns) VALUES ($1::bigint, $2::bigint, $3::text, $4::bigint, $5::text, "
        "$6::text, $7::text, $8::text, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint) RETURNING id",
    [ST_FILL_LIST] = "SELECT " STORE_FILL_COLS " FROM fills WHERE ($1::bigint = 0 OR account_id = $1::bigint) "
                     "AND id > $2::bigint ORDER BY id LIMIT $3::bigint",
    [ST_KILL_UPSERT] = "INSERT INTO kill_switch (account_id, state, set_by, reason, updated_ns) "
                       "VALUES ($1::bigint, $2::text, $3::bigint, $4::text, $5::bigint) ON CONFLICT (account_id) "
                       "DO UPDATE SET state = excluded.state, set_by = excluded.set_by, reason = excluded.reason, "
                       "updated_ns = excluded.updated_ns",
    [ST_KILL_GET] = "SELECT account_id, state, set_by, reason, updated_ns FROM kill_switch "
                    "WHERE account_id = $1::bigint",
    [ST_KILL_LIST] = "SELECT account_id, state, set_by, reason, updated_ns FROM kill_switch "
                     "WHERE account_id >= $1::bigint ORDER BY account_id LIMIT $2::bigint",
    /* ==== end of paper trading ==== */
};

struct pg_store {
    struct store base; /* first: the store.c view */
    PGconn *conn;
    unsigned char prepared[ST_COUNT]; /* 1 once PQprepare'd on this connection */
};

static const struct store_ops pg_ops;

static struct pg_store *pq(struct store *s) { return (struct pg_store *)s; }

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != ATP_OK)                                                                         \
            return rc_;                                                                            \
    } while (0)

/* ---- parameters ---- */

/* The parameters of one statement, in $n order. Numbers are formatted into num (text format);
 * strings point at the caller's buffers (text); blobs are sent in binary format. */
struct params {
    int n;
    const char *val[PARAMS_MAX];
    int len[PARAMS_MAX];
    int fmt[PARAMS_MAX];
    char num[PARAMS_MAX][24];
};

static void p_i64(struct params *p, int64_t v)
{
    assert(p->n < PARAMS_MAX);
    snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
    p->val[p->n] = p->num[p->n];
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_text(struct params *p, const char *text)
{
    assert(p->n < PARAMS_MAX);
    p->val[p->n] = text;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_null(struct params *p) { p_text(p, NULL); }

static void p_blob(struct params *p, const uint8_t *data, uint32_t len)
{
    assert(p->n < PARAMS_MAX);
    p->val[p->n] = (const char *)data;
    p->len[p->n] = (int)len;
    p->fmt[p->n] = 1;
    p->n++;
}

static void p_id_or_null(struct params *p, int64_t id)
{
    if (id > 0)
        p_i64(p, id);
    else
        p_null(p);
}

/* ---- statements and errors ---- */

/* Copies libpq's message into buf without its trailing newline(s). */
static void one_line(const char *msg, char *buf, size_t size)
{
    snprintf(buf, size, "%s", msg && *msg ? msg : "unknown error");
    size_t len = strlen(buf);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == '\n')
            *c = ' ';
}

/* Maps a failed result (r may be NULL: out of memory or connection lost) to a status. field names
 * the argument a constraint points at. */
static int db_fail(struct pg_store *q, const PGresult *r, const char *field, struct atp_err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[200];
    one_line(primary ? primary : PQerrorMessage(q->conn), msg, sizeof msg);
    if (state && strcmp(state, "23505") == 0) /* unique_violation */
        return atp_err_set(err, ATP_EEXIST, NULL, 0, field, "already exists");
    if (state && strcmp(state, "23503") == 0) /* foreign_key_violation */
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, field, "refers to a row that does not exist");
    if (state && (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0)) /* check, not null */
        return atp_err_set(err, ATP_EINVAL, NULL, 0, field, "rejected by the schema: %s", msg);
    if (PQstatus(q->conn) == CONNECTION_BAD)
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "postgres: connection lost: %s", msg);
    return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "postgres: %s (SQLSTATE %s)", msg,
                       state ? state : "none");
}

/* Runs statement id (prepared on first use) with p. On success *out (optional) gets the result,
 * owned by the caller (PQclear), and *changed (optional) the number of rows affected. */
static int run(struct pg_store *q, enum st id, const struct params *p, const char *field,
               PGresult **out, int *changed, struct atp_err *err)
{
    char name[16];
    snprintf(name, sizeof name, "atp_%d", (int)id);
    if (!q->prepared[id]) {
        PGresult *r = PQprepare(q->conn, name, st_sql[id], 0, NULL);
        int status = PQresultStatus(r) == PGRES_COMMAND_OK ? ATP_OK : db_fail(q, r, NULL, err);
        PQclear(r);
        TRY(status);
        q->prepared[id] = 1;
    }
    PGresult *r = PQexecPrepared(q->conn, name, p ? p->n : 0, p ? p->val : NULL, p ? p->len : NULL,
                                 p ? p->fmt : NULL, 1);
    ExecStatusType rs = PQresultStatus(r);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        int status = db_fail(q, r, field, err);
        PQclear(r);
        return status;
    }
    if (changed) {
        const char *n = PQcmdTuples(r);
        *changed = n && *n ? (int)strtol(n, NULL, 10) : 0;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return ATP_OK;
}

/* Runs a statement given as text, without parameters (transaction control, migration files). */
static int exec_sql(struct pg_store *q, const char *sql, struct atp_err *err)
{
    PGresult *r = PQexec(q->conn, sql);
    int status = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                     ? ATP_OK
                     : db_fail(q, r, NULL, err);
    PQclear(r);
    return status;
}

static int tx_begin(struct pg_store *q, struct atp_err *err) { return exec_sql(q, "BEGIN", err); }

static void tx_rollback(struct pg_store *q)
{
    PGTransactionStatusType t = PQtransactionStatus(q->conn);
    if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
        PQclear(PQexec(q->conn, "ROLLBACK"));
}

/* Ends a transaction: commit when status is ATP_OK, else roll back. Returns the final status. */
static int tx_end(struct pg_store *q, int status, struct atp_err *err)
{
    if (status == ATP_OK)
        status = exec_sql(q, "COMMIT", err);
    if (status != ATP_OK)
        tx_rollback(q);
    return status;
}

/* Results are binary: integers are big-endian two's complement of 2, 4 or 8 bytes. NULL reads 0. */
static int64_t col_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    if (len < 1 || len > 8)
        return 0;
    uint64_t x = 0;
    for (int i = 0; i < len; i++)
        x = x << 8 | v[i];
    if (len < 8 && (v[0] & 0x80))
        x |= ~UINT64_C(0) << (8 * len);
    return (int64_t)x;
}

static int col_int(const PGresult *r, int row, int col) { return (int)col_i64(r, row, col); }

static int col_text(const PGresult *r, int row, int col, char *buf, size_t size, const char *field,
                    struct atp_err *err)
{
    size_t len = (size_t)PQgetlength(r, row, col);
    if (len >= size)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, field, "stored value of %zu bytes exceeds %zu",
                           len, size - 1);
    if (len)
        memcpy(buf, PQgetvalue(r, row, col), len);
    buf[len] = '\0';
    return ATP_OK;
}

static int col_blob(const PGresult *r, int row, int col, uint8_t *buf, uint32_t cap, uint32_t *len_out,
                    const char *field, struct atp_err *err)
{
    size_t len = (size_t)PQgetlength(r, row, col); /* 0 for NULL */
    if (len > cap)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, field, "stored value of %zu bytes exceeds %u", len,
                           cap);
    if (len)
        memcpy(buf, PQgetvalue(r, row, col), len);
    *len_out = (uint32_t)len;
    return ATP_OK;
}

/* A stored enumeration name back to its value via the name function of store.h. */
static int col_enum(const PGresult *r, int row, int col, const char *(*name)(int), int *out,
                    const char *field, struct atp_err *err)
{
    const char *text = PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
    for (int v = 0; text && name(v); v++) {
        if (strcmp(name(v), text) == 0) {
            *out = v;
            return ATP_OK;
        }
    }
    return atp_err_set(err, ATP_EIO, NULL, 0, field, "unknown stored value '%s'", text ? text : "NULL");
}

typedef int (*row_reader)(const PGresult *r, int row, void *out, struct atp_err *err);

/* Runs a statement expected to return at most one row, reading it with read. ATP_ENOTFOUND
 * (naming field) when there is none. */
static int get_one(struct pg_store *q, enum st id, const struct params *p, row_reader read, void *out,
                   const char *field, struct atp_err *err)
{
    PGresult *r = NULL;
    TRY(run(q, id, p, field, &r, NULL, err));
    int status = PQntuples(r) > 0 ? read(r, 0, out, err)
                                  : atp_err_set(err, ATP_ENOTFOUND, NULL, 0, field, "not found");
    PQclear(r);
    return status;
}

/* Runs an INSERT ... RETURNING id; *id gets the new id. */
static int insert_id(struct pg_store *q, enum st id, const struct params *p, const char *field,
                     int64_t *new_id, struct atp_err *err)
{
    PGresult *r = NULL;
    TRY(run(q, id, p, field, &r, NULL, err));
    int status = ATP_OK;
    if (PQntuples(r) == 1)
        *new_id = col_i64(r, 0, 0);
    else
        status = atp_err_set(err, ATP_EIO, NULL, 0, NULL, "postgres: INSERT returned no id");
    PQclear(r);
    return status;
}

/* Reads a list result of up to limit + 1 rows into out (elem bytes each): the extra row only
 * tells whether another page exists. Clears r. */
static int read_page(PGresult *r, const struct store_page *p, row_reader read, int64_t (*key)(const void *),
                     void *out, size_t elem, struct store_page_out *res, struct atp_err *err)
{
    res->count = 0;
    res->next_cursor = 0;
    int status = ATP_OK;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        if (res->count == p->limit) {
            res->next_cursor = key((char *)out + (size_t)(res->count - 1) * elem);
            break;
        }
        char *row = (char *)out + (size_t)res->count * elem;
        memset(row, 0, elem);
        status = read(r, i, row, err);
        if (status != ATP_OK)
            break;
        res->count++;
    }
    PQclear(r);
    if (status != ATP_OK) {
        res->count = 0;
        res->next_cursor = 0;
    }
    return status;
}

/* Runs a list statement; its last parameter, LIMIT, is appended here as limit + 1 (see read_page). */
static int get_list(struct pg_store *q, enum st id, struct params *prm, const struct store_page *p,
                    row_reader read, int64_t (*key)(const void *), void *out, size_t elem,
                    struct store_page_out *res, struct atp_err *err)
{
    p_i64(prm, (int64_t)p->limit + 1);
    res->count = 0;
    res->next_cursor = 0;
    PGresult *r = NULL;
    TRY(run(q, id, prm, NULL, &r, NULL, err));
    return read_page(r, p, read, key, out, elem, res, err);
}

/* ---- lifecycle ---- */

static void pg_close(struct store *s)
{
    struct pg_store *q = pq(s);
    PQfinish(q->conn);
    atp_free(q);
}

/* The server's notices (e.g. "relation already exists, skipping") are not the store's output. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* True when secret (non-empty) occurs in text: such a message is not shown. */
static int contains(const char *text, const char *secret)
{
    return secret && *secret && text && strstr(text, secret);
}

int pg_store_open(const char *url, struct store **out, struct atp_err *err)
{
    char *parse_err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &parse_err);
    if (!opts) {
        /* libpq's parse message may quote the URL; show it only when the URL carries no
         * credentials. */
        int secretive = strchr(url, '@') || strstr(url, "password");
        char msg[160];
        one_line(parse_err, msg, sizeof msg);
        int status = parse_err ? atp_err_set(err, ATP_EINVAL, NULL, 0, "url", "invalid PostgreSQL URL%s%s",
                                             secretive ? "" : ": ", secretive ? "" : msg)
                               : atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        PQfreemem(parse_err);
        return status;
    }
    char password[256] = "";
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val)
            snprintf(password, sizeof password, "%s", o->val);
    PQconninfoFree(opts);

    struct pg_store *q = atp_calloc(1, sizeof *q);
    if (!q)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    q->base.ops = &pg_ops;
    /* Keywords after dbname override the URL's: the store always talks UTF-8. */
    const char *const keys[] = {"connect_timeout", "dbname", "client_encoding", NULL};
    const char *const vals[] = {CONNECT_TIMEOUT_S, url, "UTF8", NULL};
    q->conn = PQconnectdbParams(keys, vals, 1);
    int status = ATP_OK;
    if (!q->conn) {
        status = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    } else if (PQstatus(q->conn) != CONNECTION_OK) {
        char msg[200];
        one_line(PQerrorMessage(q->conn), msg, sizeof msg);
        const char *host = PQhost(q->conn), *port = PQport(q->conn);
        const char *db = PQdb(q->conn), *user = PQuser(q->conn);
        status = atp_err_set(err, ATP_EIO, NULL, 0, "url",
                             "cannot connect to PostgreSQL at %s port %s (database %s, user %s): %s",
                             host && *host ? host : "(default socket)", port && *port ? port : "5432",
                             db ? db : "?", user ? user : "?",
                             contains(msg, password) ? "(message withheld: it quotes the password)" : msg);
    }
    if (status != ATP_OK) {
        PQfinish(q->conn);
        atp_free(q);
        return status;
    }
    PQsetNoticeProcessor(q->conn, ignore_notice, NULL);
    *out = &q->base;
    return ATP_OK;
}

/* ---- migrations ---- */

static int read_i64_0(const PGresult *r, int row, void *out, struct atp_err *err)
{
    (void)err;
    *(int64_t *)out = col_i64(r, row, 0);
    return ATP_OK;
}

static int pg_migrate(struct store *s, int *applied, struct atp_err *err)
{
    struct pg_store *q = pq(s);
    const struct store_migration *m = store_postgres_migrations;
    int n = store_postgres_migrations_count;
    for (int i = 1; i < n; i++)
        if (m[i].version <= m[i - 1].version)
            return atp_err_set(err, ATP_ESTATE, NULL, 0, "version",
                               "migrations out of order: %d after %d", m[i].version, m[i - 1].version);
    /* Concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL: take the lock first. */
    TRY(tx_begin(q, err));
    int status = run(q, ST_MIG_LOCK, NULL, NULL, NULL, NULL, err);
    if (status == ATP_OK)
        status = exec_sql(q,
                          "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                          "name text NOT NULL, applied_ns bigint NOT NULL)",
                          err);
    TRY(tx_end(q, status, err));
    int64_t have = 0;
    TRY(get_one(q, ST_MIG_MAX, NULL, read_i64_0, &have, "version", err));
    if (have > m[n - 1].version)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, "version",
                           "database is at schema version %lld, this binary knows up to %d",
                           (long long)have, m[n - 1].version);
    for (int i = 0; i < n; i++) {
        TRY(tx_begin(q, err));
        /* Checked under the lock inside the transaction, so two processes never apply one
         * version twice. */
        status = run(q, ST_MIG_LOCK, NULL, NULL, NULL, NULL, err);
        PGresult *r = NULL;
        int present = 0;
        if (status == ATP_OK) {
            struct params p = {0};
            p_i64(&p, m[i].version);
            status = run(q, ST_MIG_HAS, &p, NULL, &r, NULL, err);
        }
        if (status == ATP_OK) {
            present = PQntuples(r) > 0;
            PQclear(r);
        }
        if (status == ATP_OK && !present) {
            PGresult *mr = PQexec(q->conn, m[i].sql);
            if (PQresultStatus(mr) != PGRES_COMMAND_OK && PQresultStatus(mr) != PGRES_TUPLES_OK) {
                char msg[180];
                one_line(mr ? PQresultErrorMessage(mr) : PQerrorMessage(q->conn), msg, sizeof msg);
                status = atp_err_set(err, ATP_EIO, NULL, 0, "version", "migration %03d_%s failed: %s",
                                     m[i].version, m[i].name, msg);
            }
            PQclear(mr);
            if (status == ATP_OK) {
                struct params p = {0};
                p_i64(&p, m[i].version);
                p_text(&p, m[i].name);
                p_i64(&p, store_now(s));
                status = run(q, ST_MIG_INSERT, &p, "version", NULL, NULL, err);
            }
            if (status == ATP_OK)
                (*applied)++;
        }
        TRY(tx_end(q, status, err));
    }
    return ATP_OK;
}

static int pg_migrate_status(struct store *s, struct store_migration_status *out, int cap, int *count,
                             struct atp_err *err)
{
    struct pg_store *q = pq(s);
    const struct store_migration *m = store_postgres_migrations;
    int n = store_postgres_migrations_count;
    for (int i = 0; i < n && i < cap; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].version = m[i].version;
        snprintf(out[i].name, sizeof out[i].name, "%s", m[i].name);
    }
    *count = n;
    int64_t exists = 0;
    TRY(get_one(q, ST_MIG_EXISTS, NULL, read_i64_0, &exists, NULL, err));
    if (!exists)
        return ATP_OK;
    PGresult *r = NULL;
    TRY(run(q, ST_MIG_LIST, NULL, NULL, &r, NULL, err));
    for (int row = 0; row < PQntuples(r); row++) {
        int version = col_int(r, row, 0);
        for (int i = 0; i < n && i < cap; i++)
            if (out[i].version == version)
                out[i].applied_ns = col_i64(r, row, 1);
    }
    PQclear(r);
    return ATP_OK;
}

/* ---- users ---- */

static int read_user(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_user *u = out;
    u->id = col_i64(r, row, 0);
    TRY(col_text(r, row, 1, u->email, sizeof u->email, "email", err));
    TRY(col_text(r, row, 2, u->name, sizeof u->name, "name", err));
    TRY(col_text(r, row, 3, u->password_hash, sizeof u->password_hash, "password_hash", err));
    TRY(col_enum(r, row, 4, store_user_role_name, &u->role, "role", err));
    TRY(col_enum(r, row, 5, store_user_status_name, &u->status, "status", err));
    u->failed_logins = col_int(r, row, 6);
    u->locked_until_ns = col_i64(r, row, 7);
    TRY(col_blob(r, row, 8, u->totp_secret, sizeof u->totp_secret, &u->totp_secret_len, "totp_secret",
                 err));
    u->totp_enabled = col_int(r, row, 9);
    u->created_ns = col_i64(r, row, 10);
    u->updated_ns = col_i64(r, row, 11);
    return ATP_OK;
}

static int64_t key_user(const void *row) { return ((const struct store_user *)row)->id; }

static void p_totp(struct params *p, const struct store_user *u)
{
    if (u->totp_secret_len)
        p_blob(p, u->totp_secret, u->totp_secret_len);
    else
        p_null(p);
}

static int pg_user_create(struct store *s, const struct store_user *u, const char *email_key, int64_t *id,
                          struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, u->email);
    p_text(&p, email_key);
    p_text(&p, u->name);
    p_text(&p, u->password_hash);
    p_text(&p, store_user_role_name(u->role));
    p_text(&p, store_user_status_name(u->status));
    p_i64(&p, u->failed_logins);
    p_i64(&p, u->locked_until_ns);
    p_totp(&p, u);
    p_i64(&p, u->totp_enabled);
    p_i64(&p, store_now(s));
    return insert_id(pq(s), ST_USER_INSERT, &p, "email", id, err);
}

static int pg_user_get(struct store *s, int64_t id, struct store_user *out, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    memset(out, 0, sizeof *out);
    return get_one(pq(s), ST_USER_GET, &p, read_user, out, "user_id", err);
}

static int pg_user_get_by_email(struct store *s, const char *email_key, struct store_user *out,
                                struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, email_key);
    memset(out, 0, sizeof *out);
    return get_one(pq(s), ST_USER_GET_EMAIL, &p, read_user, out, "email", err);
}

static int pg_user_list(struct store *s, const struct store_page *pg, struct store_user *out,
                        struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_USER_LIST, &p, pg, read_user, key_user, out, sizeof *out, res, err);
}

static int pg_user_update(struct store *s, int64_t id, unsigned fields, const struct store_user *v,
                          struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, (int64_t)fields);
    if (fields & STORE_USER_F_ROLE)
        p_text(&p, store_user_role_name(v->role));
    else
        p_null(&p);
    if (fields & STORE_USER_F_STATUS)
        p_text(&p, store_user_status_name(v->status));
    else
        p_null(&p);
    if (fields & STORE_USER_F_PASSWORD)
        p_text(&p, v->password_hash);
    else
        p_null(&p);
    if (fields & STORE_USER_F_LOCKOUT) {
        p_i64(&p, v->failed_logins);
        p_i64(&p, v->locked_until_ns);
    } else {
        p_null(&p);
        p_null(&p);
    }
    if (fields & STORE_USER_F_TOTP) {
        p_totp(&p, v);
        p_i64(&p, v->totp_enabled);
    } else {
        p_null(&p);
        p_null(&p);
    }
    if (fields & STORE_USER_F_NAME)
        p_text(&p, v->name);
    else
        p_null(&p);
    p_i64(&p, store_now(s));
    p_i64(&p, id);
    int changed = 0;
    TRY(run(pq(s), ST_USER_UPDATE, &p, NULL, NULL, &changed, err));
    if (changed == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "user_id", "not found");
    return ATP_OK;
}

/* ---- refresh tokens ---- */

static int read_token(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_refresh_token *t = out;
    t->id = col_i64(r, row, 0);
    t->user_id = col_i64(r, row, 1);
    TRY(col_text(r, row, 2, t->family_id, sizeof t->family_id, "family_id", err));
    TRY(col_text(r, row, 3, t->token_hash, sizeof t->token_hash, "token_hash", err));
    t->expires_ns = col_i64(r, row, 4);
    t->revoked_ns = col_i64(r, row, 5);
    t->replaced_by = col_i64(r, row, 6); /* NULL reads as 0 */
    t->created_ns = col_i64(r, row, 7);
    return ATP_OK;
}

static int pg_token_insert(struct store *s, const struct store_refresh_token *t, int64_t *id,
                           struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, t->user_id);
    p_text(&p, t->family_id);
    p_text(&p, t->token_hash);
    p_i64(&p, t->expires_ns);
    p_i64(&p, store_now(s));
    int status = insert_id(pq(s), ST_TOKEN_INSERT, &p, "token_hash", id, err);
    if (status == ATP_ENOTFOUND) /* the one foreign key */
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "user_id", "refers to a row that does not exist");
    return status;
}

static int pg_token_find(struct store *s, const char *hash, struct store_refresh_token *out,
                         struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, hash);
    memset(out, 0, sizeof *out);
    return get_one(pq(s), ST_TOKEN_FIND, &p, read_token, out, "token_hash", err);
}

static int pg_token_revoke(struct store *s, int64_t user_id, int64_t id, int64_t replaced_by,
                           struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, store_now(s));
    p_id_or_null(&p, replaced_by);
    p_i64(&p, id);
    p_i64(&p, user_id);
    int changed = 0;
    TRY(run(pq(s), ST_TOKEN_REVOKE, &p, "replaced_by", NULL, &changed, err));
    if (changed == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "token_id", "not found for this user");
    return ATP_OK;
}

static int pg_token_revoke_family(struct store *s, int64_t user_id, const char *family, int *count,
                                  struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, store_now(s));
    p_i64(&p, user_id);
    p_text(&p, family);
    return run(pq(s), ST_TOKEN_REVOKE_FAMILY, &p, NULL, NULL, count, err);
}

static int pg_token_revoke_all_except(struct store *s, int64_t user_id, int64_t keep_id, int *count,
                                      struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, store_now(s));
    p_i64(&p, user_id);
    p_i64(&p, keep_id);
    return run(pq(s), ST_TOKEN_REVOKE_ALL, &p, NULL, NULL, count, err);
}

/* ==== sessions ==== */

static int read_session(const PGresult *r, int row, struct store_session *v, struct atp_err *err)
{
    TRY(col_text(r, row, 0, v->id, sizeof v->id, "id", err));
    v->user_id = col_i64(r, row, 1);
    v->created_ns = col_i64(r, row, 2);
    v->last_seen_ns = col_i64(r, row, 3);
    v->revoked_ns = col_i64(r, row, 4);
    TRY(col_text(r, row, 5, v->revoke_reason, sizeof v->revoke_reason, "revoke_reason", err));
    TRY(col_text(r, row, 6, v->ip, sizeof v->ip, "ip", err));
    return col_text(r, row, 7, v->user_agent, sizeof v->user_agent, "user_agent", err);
}

static int pg_session_create(struct store *s, const struct store_session *ss, struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, ss->id);
    p_i64(&p, ss->user_id);
    p_i64(&p, store_now(s));
    p_text(&p, ss->ip);
    p_text(&p, ss->user_agent);
    int status = run(pq(s), ST_SESSION_INSERT, &p, "id", NULL, NULL, err);
    if (status == ATP_ENOTFOUND) /* the one foreign key */
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "user_id", "refers to a row that does not exist");
    return status;
}

/* The session, then its user's role and status (columns 8 and 9). */
struct session_row {
    struct store_session *session;
    int *role, *status;
};

static int read_session_auth(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct session_row *v = out;
    TRY(read_session(r, row, v->session, err));
    TRY(col_enum(r, row, 8, store_user_role_name, v->role, "role", err));
    return col_enum(r, row, 9, store_user_status_name, v->status, "status", err);
}

static int pg_session_get(struct store *s, const char *id, struct store_session *out, int *user_role,
                          int *user_status, struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, id);
    memset(out, 0, sizeof *out);
    struct session_row row = {out, user_role, user_status};
    return get_one(pq(s), ST_SESSION_GET, &p, read_session_auth, &row, "id", err);
}

static int pg_session_touch(struct store *s, const char *id, int64_t seen_ns, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, seen_ns);
    p_text(&p, id);
    return run(pq(s), ST_SESSION_TOUCH, &p, NULL, NULL, NULL, err);
}

static int session_revoke_in_tx(struct pg_store *q, int64_t user_id, const char *id, const char *reason,
                                struct atp_err *err)
{
    struct params p = {0};
    int64_t now = store_now(&q->base);
    p_i64(&p, now);
    p_text(&p, reason);
    p_text(&p, id);
    p_i64(&p, user_id);
    int changed = 0;
    TRY(run(q, ST_SESSION_REVOKE, &p, NULL, NULL, &changed, err));
    if (changed == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "id", "no such session for this user");
    struct params t = {0};
    p_i64(&t, now);
    p_i64(&t, user_id);
    p_text(&t, id);
    return run(q, ST_TOKEN_REVOKE_FAMILY, &t, NULL, NULL, NULL, err);
}

static int pg_session_revoke(struct store *s, int64_t user_id, const char *id, const char *reason,
                             struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, session_revoke_in_tx(q, user_id, id, reason, err), err);
}

static int revoke_others_in_tx(struct pg_store *q, int64_t user_id, const char *keep_id, const char *reason,
                               int *count, struct atp_err *err)
{
    struct params p = {0};
    int64_t now = store_now(&q->base);
    p_i64(&p, now);
    p_text(&p, reason);
    p_i64(&p, user_id);
    p_text(&p, keep_id);
    TRY(run(q, ST_SESSION_REVOKE_OTHERS, &p, NULL, NULL, count, err));
    struct params t = {0};
    p_i64(&t, now);
    p_i64(&t, user_id);
    p_text(&t, keep_id);
    return run(q, ST_SESSION_TOKENS_REVOKE_OTHERS, &t, NULL, NULL, NULL, err);
}

static int pg_session_revoke_others(struct store *s, int64_t user_id, const char *keep_id,
                                    const char *reason, int *count, struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    int status = tx_end(q, revoke_others_in_tx(q, user_id, keep_id, reason, count, err), err);
    if (status != ATP_OK)
        *count = 0;
    return status;
}

static int read_step(const PGresult *r, int row, void *out, struct atp_err *err)
{
    (void)err;
    *(int64_t *)out = col_i64(r, row, 0);
    return ATP_OK;
}

static int pg_totp_step_get(struct store *s, int64_t user_id, int64_t *step, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, user_id);
    return get_one(pq(s), ST_TOTP_STEP_GET, &p, read_step, step, "user_id", err);
}

static int pg_totp_step_advance(struct store *s, int64_t user_id, int64_t step, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, step);
    p_i64(&p, user_id);
    int changed = 0;
    TRY(run(pq(s), ST_TOTP_STEP_ADVANCE, &p, NULL, NULL, &changed, err));
    if (changed == 1)
        return ATP_OK;
    int64_t stored = 0;
    TRY(pg_totp_step_get(s, user_id, &stored, err)); /* ATP_ENOTFOUND for an absent user */
    return atp_err_set(err, ATP_ESTATE, NULL, 0, "step", "step %lld is not later than %lld (a replay)",
                       (long long)step, (long long)stored);
}

static int pg_totp_step_reset(struct store *s, int64_t user_id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, user_id);
    int changed = 0;
    TRY(run(pq(s), ST_TOTP_STEP_RESET, &p, NULL, NULL, &changed, err));
    if (changed == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "user_id", "not found");
    return ATP_OK;
}

/* ==== end of sessions ==== */

/* ---- accounts and access ---- */

static int read_account(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_account *a = out;
    a->id = col_i64(r, row, 0);
    a->owner_id = col_i64(r, row, 1);
    TRY(col_text(r, row, 2, a->name, sizeof a->name, "name", err));
    TRY(col_text(r, row, 3, a->broker, sizeof a->broker, "broker", err));
    a->created_ns = col_i64(r, row, 4);
    return col_enum(r, row, 5, store_access_name, &a->access, "access", err);
}

static int64_t key_account(const void *row) { return ((const struct store_account *)row)->id; }

static int pg_account_create(struct store *s, const struct store_account *a, int64_t *id,
                             struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, a->owner_id);
    p_text(&p, a->name);
    p_text(&p, a->broker);
    p_i64(&p, store_now(s));
    return insert_id(pq(s), ST_ACCOUNT_INSERT, &p, "owner_id", id, err);
}

static int pg_account_get(struct store *s, int64_t id, struct store_account *out, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    memset(out, 0, sizeof *out);
    TRY(get_one(pq(s), ST_ACCOUNT_GET, &p, read_account, out, "account_id", err));
    out->access = STORE_ACCESS_NONE; /* get is not relative to a user */
    return ATP_OK;
}

static int pg_accounts_list_for_user(struct store *s, int64_t user_id, const struct store_page *pg,
                                     struct store_account *out, struct store_page_out *res,
                                     struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, user_id);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_ACCOUNT_LIST_USER, &p, pg, read_account, key_account, out, sizeof *out, res,
                    err);
}

static int pg_accounts_list_all(struct store *s, int64_t user_id, const struct store_page *pg,
                                struct store_account *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, user_id);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_ACCOUNT_LIST_ALL, &p, pg, read_account, key_account, out, sizeof *out, res,
                    err);
}

static int pg_account_rename(struct store *s, int64_t id, const char *name, struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, name);
    p_i64(&p, id);
    int changed = 0;
    TRY(run(pq(s), ST_ACCOUNT_RENAME, &p, "name", NULL, &changed, err));
    if (changed == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "account_id", "not found");
    return ATP_OK;
}

/* The owner and the granted role (NULL -> none) of account_id for user_id. */
static int access_of(struct pg_store *q, int64_t account_id, int64_t user_id, int *access,
                     struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_i64(&p, user_id);
    PGresult *r = NULL;
    TRY(run(q, ST_ACCESS_ROLE, &p, NULL, &r, NULL, err));
    int status = ATP_OK;
    if (PQntuples(r) == 0)
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "account_id", "not found");
    else if (col_i64(r, 0, 0) == user_id)
        *access = STORE_ACCESS_OWNER;
    else if (PQgetisnull(r, 0, 1))
        *access = STORE_ACCESS_NONE;
    else
        status = col_enum(r, 0, 1, store_access_name, access, "role", err);
    PQclear(r);
    return status;
}

/* Grants inside the caller's transaction. */
static int grant_in_tx(struct pg_store *q, int64_t account_id, int64_t user_id, int role,
                       struct atp_err *err)
{
    int access = STORE_ACCESS_NONE;
    TRY(access_of(q, account_id, user_id, &access, err));
    if (access == STORE_ACCESS_OWNER)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "user_id", "is the account's owner");
    struct params p = {0};
    p_i64(&p, account_id);
    p_i64(&p, user_id);
    p_text(&p, store_access_name(role));
    p_i64(&p, store_now(&q->base));
    return run(q, ST_ACCESS_UPSERT, &p, "user_id", NULL, NULL, err);
}

static int pg_access_grant(struct store *s, int64_t account_id, int64_t user_id, int role,
                           struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, grant_in_tx(q, account_id, user_id, role, err), err);
}

static int pg_access_revoke(struct store *s, int64_t account_id, int64_t user_id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_i64(&p, user_id);
    int changed = 0;
    TRY(run(pq(s), ST_ACCESS_DELETE, &p, NULL, NULL, &changed, err));
    if (changed == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "user_id", "has no grant on this account");
    return ATP_OK;
}

static int read_grant(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_grant *g = out;
    g->account_id = col_i64(r, row, 0);
    g->user_id = col_i64(r, row, 1);
    TRY(col_enum(r, row, 2, store_access_name, &g->role, "role", err));
    g->granted_ns = col_i64(r, row, 3);
    return ATP_OK;
}

static int64_t key_grant(const void *row) { return ((const struct store_grant *)row)->user_id; }

static int pg_access_list(struct store *s, int64_t account_id, const struct store_page *pg,
                          struct store_grant *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_ACCESS_LIST, &p, pg, read_grant, key_grant, out, sizeof *out, res, err);
}

static int pg_access_role(struct store *s, int64_t account_id, int64_t user_id, int *access,
                          struct atp_err *err)
{
    return access_of(pq(s), account_id, user_id, access, err);
}

/* ---- invitations ---- */

static int read_invite(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_invitation *v = out;
    v->id = col_i64(r, row, 0);
    v->account_id = col_i64(r, row, 1);
    TRY(col_text(r, row, 2, v->email, sizeof v->email, "email", err));
    TRY(col_text(r, row, 3, v->token_hash, sizeof v->token_hash, "token_hash", err));
    TRY(col_enum(r, row, 4, store_invite_status_name, &v->status, "status", err));
    TRY(col_enum(r, row, 5, store_access_name, &v->role, "role", err));
    v->expires_ns = col_i64(r, row, 6);
    v->created_by = col_i64(r, row, 7);
    v->created_ns = col_i64(r, row, 8);
    v->updated_ns = col_i64(r, row, 9);
    return ATP_OK;
}

static int64_t key_invite(const void *row) { return ((const struct store_invitation *)row)->id; }

static int pg_invite_create(struct store *s, const struct store_invitation *inv, const char *email_key,
                            int64_t *id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, inv->account_id);
    p_text(&p, inv->email);
    p_text(&p, email_key);
    p_text(&p, inv->token_hash);
    p_text(&p, store_access_name(inv->role));
    p_i64(&p, inv->expires_ns);
    p_i64(&p, inv->created_by);
    p_i64(&p, store_now(s));
    int status = insert_id(pq(s), ST_INVITE_INSERT, &p, "token_hash", id, err);
    if (status == ATP_ENOTFOUND) {
        /* Two references: name the one that is missing. Outside a transaction, so the failed
         * INSERT left nothing to roll back. */
        struct store_account a;
        int missing = pg_account_get(s, inv->account_id, &a, err);
        if (missing == ATP_OK)
            return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "created_by", "no such user");
        return missing;
    }
    return status;
}

static int pg_invite_list_for_account(struct store *s, int64_t account_id, const struct store_page *pg,
                                      struct store_invitation *out, struct store_page_out *res,
                                      struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_INVITE_LIST_ACCOUNT, &p, pg, read_invite, key_invite, out, sizeof *out, res,
                    err);
}

static int pg_invite_list_for_email(struct store *s, const char *email_key, const struct store_page *pg,
                                    struct store_invitation *out, struct store_page_out *res,
                                    struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, email_key);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_INVITE_LIST_EMAIL, &p, pg, read_invite, key_invite, out, sizeof *out, res,
                    err);
}

static int pg_invite_find(struct store *s, const char *hash, struct store_invitation *out,
                          struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, hash);
    memset(out, 0, sizeof *out);
    return get_one(pq(s), ST_INVITE_FIND, &p, read_invite, out, "token_hash", err);
}

/* Moves a pending invitation to status_value inside the caller's transaction. */
static int set_status_in_tx(struct pg_store *q, int64_t account_id, int64_t id, int status_value,
                            struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, store_invite_status_name(status_value));
    p_i64(&p, store_now(&q->base));
    p_i64(&p, id);
    p_i64(&p, account_id);
    int changed = 0;
    TRY(run(q, ST_INVITE_SET_STATUS, &p, "status", NULL, &changed, err));
    if (changed == 1)
        return ATP_OK;
    /* Not pending, or not there: tell which. */
    struct params k = {0};
    p_i64(&k, id);
    p_i64(&k, account_id);
    PGresult *r = NULL;
    TRY(run(q, ST_INVITE_STATUS, &k, NULL, &r, NULL, err));
    int status = PQntuples(r) > 0
                     ? atp_err_set(err, ATP_ESTATE, NULL, 0, "status", "invitation is already %s",
                                   PQgetvalue(r, 0, 0))
                     : atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "invitation_id", "not found in this account");
    PQclear(r);
    return status;
}

static int pg_invite_set_status(struct store *s, int64_t account_id, int64_t id, int status_value,
                                struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, set_status_in_tx(q, account_id, id, status_value, err), err);
}

static int pg_invite_accept(struct store *s, int64_t account_id, int64_t id, int64_t user_id,
                            struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    int status = set_status_in_tx(q, account_id, id, STORE_INVITE_ACCEPTED, err);
    struct store_invitation inv;
    memset(&inv, 0, sizeof inv);
    if (status == ATP_OK) {
        struct params p = {0};
        p_i64(&p, id);
        p_i64(&p, account_id);
        status = get_one(q, ST_INVITE_GET, &p, read_invite, &inv, "invitation_id", err);
    }
    if (status == ATP_OK)
        status = grant_in_tx(q, account_id, user_id, inv.role, err);
    return tx_end(q, status, err);
}

static int pg_invite_expire(struct store *s, int64_t now_ns, int *count, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, store_now(s));
    p_i64(&p, now_ns);
    return run(pq(s), ST_INVITE_EXPIRE, &p, NULL, NULL, count, err);
}

/* ---- broker connections ---- */

static int read_broker(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_broker_conn *c = out;
    c->id = col_i64(r, row, 0);
    c->account_id = col_i64(r, row, 1);
    TRY(col_text(r, row, 2, c->broker, sizeof c->broker, "broker", err));
    TRY(col_text(r, row, 3, c->key_id, sizeof c->key_id, "key_id", err));
    TRY(col_text(r, row, 4, c->masked, sizeof c->masked, "masked", err));
    c->created_ns = col_i64(r, row, 5);
    return ATP_OK;
}

static int64_t key_broker(const void *row) { return ((const struct store_broker_conn *)row)->id; }

static int pg_broker_create(struct store *s, const struct store_broker_conn *c,
                            const struct store_broker_secret *sec, int64_t *id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, c->account_id);
    p_text(&p, c->broker);
    p_text(&p, c->key_id);
    p_blob(&p, sec->ciphertext, sec->ciphertext_len);
    p_blob(&p, sec->nonce, sec->nonce_len);
    p_text(&p, c->masked);
    p_i64(&p, store_now(s));
    return insert_id(pq(s), ST_BROKER_INSERT, &p, "account_id", id, err);
}

static int pg_broker_list(struct store *s, int64_t account_id, const struct store_page *pg,
                          struct store_broker_conn *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_BROKER_LIST, &p, pg, read_broker, key_broker, out, sizeof *out, res, err);
}

static int pg_broker_delete(struct store *s, int64_t account_id, int64_t id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_i64(&p, account_id);
    int changed = 0;
    TRY(run(pq(s), ST_BROKER_DELETE, &p, NULL, NULL, &changed, err));
    if (changed == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "conn_id", "not found in this account");
    return ATP_OK;
}

struct broker_secret_row {
    struct store_broker_conn meta;
    struct store_broker_secret *secret;
};

static int read_broker_secret(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct broker_secret_row *b = out;
    TRY(read_broker(r, row, &b->meta, err));
    TRY(col_blob(r, row, 6, b->secret->ciphertext, sizeof b->secret->ciphertext,
                 &b->secret->ciphertext_len, "ciphertext", err));
    return col_blob(r, row, 7, b->secret->nonce, sizeof b->secret->nonce, &b->secret->nonce_len, "nonce",
                    err);
}

static int pg_broker_secret_get(struct store *s, int64_t account_id, int64_t id,
                                struct store_broker_conn *meta, struct store_broker_secret *out,
                                struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_i64(&p, account_id);
    struct broker_secret_row row;
    memset(&row, 0, sizeof row);
    memset(out, 0, sizeof *out);
    row.secret = out;
    TRY(get_one(pq(s), ST_BROKER_SECRET, &p, read_broker_secret, &row, "conn_id", err));
    if (meta)
        *meta = row.meta;
    return ATP_OK;
}

/* ---- audit ---- */

static int read_audit(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_audit *a = out;
    a->id = col_i64(r, row, 0);
    a->ts_ns = col_i64(r, row, 1);
    a->user_id = col_i64(r, row, 2);
    a->account_id = col_i64(r, row, 3);
    TRY(col_text(r, row, 4, a->action, sizeof a->action, "action", err));
    TRY(col_text(r, row, 5, a->resource, sizeof a->resource, "resource", err));
    TRY(col_text(r, row, 6, a->ip, sizeof a->ip, "ip", err));
    TRY(col_text(r, row, 7, a->user_agent, sizeof a->user_agent, "user_agent", err));
    TRY(col_text(r, row, 8, a->result, sizeof a->result, "result", err));
    return col_text(r, row, 9, a->details, sizeof a->details, "details", err);
}

static int64_t key_audit(const void *row) { return ((const struct store_audit *)row)->id; }

static int pg_audit_append(struct store *s, const struct store_audit *a, int64_t *id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, a->ts_ns);
    p_i64(&p, a->user_id);
    p_i64(&p, a->account_id);
    p_text(&p, a->action);
    p_text(&p, a->resource);
    p_text(&p, a->ip);
    p_text(&p, a->user_agent);
    p_text(&p, a->result);
    p_text(&p, a->details);
    return insert_id(pq(s), ST_AUDIT_INSERT, &p, NULL, id, err);
}

static int pg_audit_query(struct store *s, const struct store_audit_filter *f, const struct store_page *pg,
                          struct store_audit *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, pg->cursor);
    p_i64(&p, f->user_id);
    p_i64(&p, f->account_id);
    p_text(&p, f->action);
    p_i64(&p, f->from_ns);
    p_i64(&p, f->to_ns);
    return get_list(pq(s), ST_AUDIT_QUERY, &p, pg, read_audit, key_audit, out, sizeof *out, res, err);
}

/* ---- notifications ---- */

static int read_notif(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_notification *n = out;
    n->id = col_i64(r, row, 0);
    n->user_id = col_i64(r, row, 1);
    TRY(col_text(r, row, 2, n->type, sizeof n->type, "type", err));
    TRY(col_text(r, row, 3, n->title, sizeof n->title, "title", err));
    TRY(col_text(r, row, 4, n->body, sizeof n->body, "body", err));
    n->read = col_int(r, row, 5);
    n->ts_ns = col_i64(r, row, 6);
    return ATP_OK;
}

static int64_t key_notif(const void *row) { return ((const struct store_notification *)row)->id; }

static int pg_notif_create(struct store *s, const struct store_notification *n, int64_t *id,
                           struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, n->user_id);
    p_text(&p, n->type);
    p_text(&p, n->title);
    p_text(&p, n->body);
    p_i64(&p, n->read);
    p_i64(&p, n->ts_ns);
    return insert_id(pq(s), ST_NOTIF_INSERT, &p, "user_id", id, err);
}

static int pg_notif_list(struct store *s, int64_t user_id, int unread_only, const struct store_page *pg,
                         struct store_notification *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, user_id);
    p_i64(&p, unread_only);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_NOTIF_LIST, &p, pg, read_notif, key_notif, out, sizeof *out, res, err);
}

static int pg_notif_mark_read(struct store *s, int64_t user_id, int64_t id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_i64(&p, user_id);
    int changed = 0;
    TRY(run(pq(s), ST_NOTIF_READ, &p, NULL, NULL, &changed, err));
    if (changed == 0)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "notif_id", "not found for this user");
    return ATP_OK;
}

static int read_pref(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_notif_pref *p = out;
    p->id = col_i64(r, row, 0);
    p->user_id = col_i64(r, row, 1);
    TRY(col_text(r, row, 2, p->type, sizeof p->type, "type", err));
    TRY(col_text(r, row, 3, p->channel, sizeof p->channel, "channel", err));
    p->enabled = col_int(r, row, 4);
    return ATP_OK;
}

static int64_t key_pref(const void *row) { return ((const struct store_notif_pref *)row)->id; }

static int pg_pref_set(struct store *s, const struct store_notif_pref *pref, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, pref->user_id);
    p_text(&p, pref->type);
    p_text(&p, pref->channel);
    p_i64(&p, pref->enabled);
    return run(pq(s), ST_PREF_UPSERT, &p, "user_id", NULL, NULL, err);
}

static int pg_pref_list(struct store *s, int64_t user_id, const struct store_page *pg,
                        struct store_notif_pref *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, user_id);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_PREF_LIST, &p, pg, read_pref, key_pref, out, sizeof *out, res, err);
}

/* ---- administration additions (store.h) ----
 * Rare operations (status, user administration, vault rotation): sent as unnamed statements
 * (PQexecParams), not prepared and cached, so this block stands alone. */

/* Runs sql with p; results in binary format like run(). *out (optional) as in run(). */
static int run_text(struct pg_store *q, const char *sql, const struct params *p, const char *field,
                    PGresult **out, int *changed, struct atp_err *err)
{
    PGresult *r = PQexecParams(q->conn, sql, p ? p->n : 0, NULL, p ? p->val : NULL, p ? p->len : NULL,
                               p ? p->fmt : NULL, 1);
    ExecStatusType rs = PQresultStatus(r);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        int status = db_fail(q, r, field, err);
        PQclear(r);
        return status;
    }
    if (changed) {
        const char *n = PQcmdTuples(r);
        *changed = n && *n ? (int)strtol(n, NULL, 10) : 0;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return ATP_OK;
}

/* The first row's integer columns into v[0..ncol), or ATP_ENOTFOUND. */
static int one_row_i64(struct pg_store *q, const char *sql, const struct params *p, int64_t *v, int ncol,
                       struct atp_err *err)
{
    PGresult *r = NULL;
    TRY(run_text(q, sql, p, NULL, &r, NULL, err));
    int status = ATP_OK;
    if (PQntuples(r) < 1 || PQnfields(r) < ncol)
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, NULL, "not found");
    for (int i = 0; status == ATP_OK && i < ncol; i++)
        v[i] = col_i64(r, 0, i);
    PQclear(r);
    return status;
}

static int pg_ping(struct store *s, struct atp_err *err)
{
    int64_t one = 0;
    return one_row_i64(pq(s), "SELECT 1::bigint", NULL, &one, 1, err);
}

static int pg_stats_get(struct store *s, struct store_stats *out, struct atp_err *err)
{
    int64_t v[4] = {0};
    TRY(one_row_i64(pq(s),
                    "SELECT (SELECT count(*) FROM users), "
                    "(SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active'), "
                    "(SELECT count(*) FROM trading_accounts), (SELECT count(*) FROM broker_connections)",
                    NULL, v, 4, err));
    out->users = v[0];
    out->admins_active = v[1];
    out->accounts = v[2];
    out->broker_connections = v[3];
    return ATP_OK;
}

static int pg_user_admin_update(struct store *s, int64_t user_id, unsigned fields, const struct store_user *v,
                                struct store_user *before, struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    /* Lock every active admin's row first: a concurrent demotion waits here, then sees this one's
     * outcome (READ COMMITTED re-reads each statement), so the last admin cannot go twice. */
    int status = run_text(q, "SELECT id FROM users WHERE role = 'admin' AND status = 'active' FOR UPDATE", NULL,
                          NULL, NULL, NULL, err);
    if (status == ATP_OK)
        status = pg_user_get(s, user_id, before, err);
    if (status == ATP_OK) {
        int role = fields & STORE_USER_F_ROLE ? v->role : before->role;
        int st_after = fields & STORE_USER_F_STATUS ? v->status : before->status;
        int was_admin = before->role == STORE_ROLE_ADMIN && before->status == STORE_USER_ACTIVE;
        int is_admin = role == STORE_ROLE_ADMIN && st_after == STORE_USER_ACTIVE;
        int64_t others = 1;
        if (was_admin && !is_admin) {
            struct params p = {0};
            p_i64(&p, user_id);
            status = one_row_i64(q,
                                 "SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active' "
                                 "AND id <> $1::bigint",
                                 &p, &others, 1, err);
        }
        if (status == ATP_OK && others == 0)
            status = atp_err_set(err, ATP_ESTATE, NULL, 0, fields & STORE_USER_F_ROLE ? "role" : "status",
                                 "user %lld is the last active admin", (long long)user_id);
    }
    if (status == ATP_OK)
        status = pg_user_update(s, user_id, fields, v, err);
    return tx_end(q, status, err);
}

static int pg_notif_mark_all_read(struct store *s, int64_t user_id, int *count, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, user_id);
    return run_text(pq(s), "UPDATE notifications SET read = 1 WHERE user_id = $1::bigint AND read = 0", &p, NULL,
                    NULL, count, err);
}

static int pg_broker_list_all(struct store *s, const struct store_page *pg, struct store_broker_conn *out,
                              struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, pg->cursor);
    p_i64(&p, (int64_t)pg->limit + 1);
    res->count = 0;
    res->next_cursor = 0;
    PGresult *r = NULL;
    TRY(run_text(pq(s),
                 "SELECT " STORE_BROKER_COLS " FROM broker_connections WHERE id > $1::bigint ORDER BY id "
                 "LIMIT $2::bigint",
                 &p, NULL, &r, NULL, err));
    int status = ATP_OK;
    for (int i = 0; i < PQntuples(r) && status == ATP_OK; i++) {
        if (res->count == pg->limit) {
            res->next_cursor = out[res->count - 1].id;
            break;
        }
        memset(&out[res->count], 0, sizeof out[0]);
        status = read_broker(r, i, &out[res->count], err);
        if (status == ATP_OK)
            res->count++;
    }
    PQclear(r);
    if (status != ATP_OK) {
        res->count = 0;
        res->next_cursor = 0;
    }
    return status;
}

static int pg_broker_secret_replace(struct store *s, int64_t account_id, int64_t id, const char *expect_key_id,
                                    const char *key_id, const struct store_broker_secret *sec,
                                    struct atp_err *err)
{
    struct pg_store *q = pq(s);
    struct params p = {0};
    p_text(&p, key_id);
    p_blob(&p, sec->ciphertext, sec->ciphertext_len);
    p_blob(&p, sec->nonce, sec->nonce_len);
    p_i64(&p, id);
    p_i64(&p, account_id);
    p_text(&p, expect_key_id);
    int changed = 0;
    /* One statement: atomic on its own (the compare and the set are the same UPDATE). */
    TRY(run_text(q,
                 "UPDATE broker_connections SET key_id = $1::text, ciphertext = $2::bytea, nonce = $3::bytea "
                 "WHERE id = $4::bigint AND account_id = $5::bigint AND key_id = $6::text",
                 &p, NULL, NULL, &changed, err));
    if (changed)
        return ATP_OK;
    struct params k = {0};
    p_i64(&k, id);
    p_i64(&k, account_id);
    int64_t n = 0;
    TRY(one_row_i64(q, "SELECT count(*) FROM broker_connections WHERE id = $1::bigint AND account_id = $2::bigint",
                    &k, &n, 1, err));
    return n ? atp_err_set(err, ATP_ESTATE, NULL, 0, "key_id", "no longer sealed under key %s", expect_key_id)
             : atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "conn_id", "not found in this account");
}

/* ---- end of the administration additions ---- */

/* ==== strategies and account risk limits (store.h) ====
 * Unnamed statements (run_text), like the administration block: they stand alone. */

static int read_strategy(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_strategy *v = out;
    v->id = col_i64(r, row, 0);
    v->account_id = col_i64(r, row, 1);
    TRY(col_text(r, row, 2, v->type, sizeof v->type, "type", err));
    TRY(col_text(r, row, 3, v->name, sizeof v->name, "name", err));
    TRY(col_text(r, row, 4, v->symbols, sizeof v->symbols, "symbols", err));
    TRY(col_text(r, row, 5, v->timeframes, sizeof v->timeframes, "timeframes", err));
    TRY(col_text(r, row, 6, v->params, sizeof v->params, "params", err));
    TRY(col_enum(r, row, 7, store_trade_mode_name, &v->mode, "mode", err));
    TRY(col_text(r, row, 8, v->risk, sizeof v->risk, "risk", err));
    TRY(col_enum(r, row, 9, store_strategy_state_name, &v->state, "state", err));
    TRY(col_text(r, row, 10, v->state_reason, sizeof v->state_reason, "state_reason", err));
    TRY(col_text(r, row, 11, v->last_signal, sizeof v->last_signal, "last_signal", err));
    v->last_signal_ns = col_i64(r, row, 12);
    v->created_ns = col_i64(r, row, 13);
    v->updated_ns = col_i64(r, row, 14);
    return ATP_OK;
}

static int64_t key_strategy(const void *row) { return ((const struct store_strategy *)row)->id; }

/* One row of sql read with read, or ATP_ENOTFOUND naming field. */
static int one_row(struct pg_store *q, const char *sql, const struct params *p, row_reader read, void *out,
                   const char *field, struct atp_err *err)
{
    PGresult *r = NULL;
    TRY(run_text(q, sql, p, field, &r, NULL, err));
    int status = PQntuples(r) > 0 ? read(r, 0, out, err)
                                  : atp_err_set(err, ATP_ENOTFOUND, NULL, 0, field, "not found");
    PQclear(r);
    return status;
}

static int pg_strategy_create(struct store *s, const struct store_strategy *v, int64_t *id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, v->account_id);
    p_text(&p, v->type);
    p_text(&p, v->name);
    p_text(&p, v->symbols);
    p_text(&p, v->timeframes);
    p_text(&p, v->params);
    p_text(&p, store_trade_mode_name(v->mode));
    p_text(&p, v->risk);
    p_i64(&p, store_now(s));
    PGresult *r = NULL;
    TRY(run_text(pq(s),
                 "INSERT INTO strategies (account_id, type, name, symbols, timeframes, params, mode, risk, "
                 "created_ns, updated_ns) VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text, "
                 "$7::text, $8::text, $9::bigint, $9::bigint) RETURNING id",
                 &p, "account_id", &r, NULL, err));
    int status = PQntuples(r) == 1 ? ATP_OK : atp_err_set(err, ATP_EIO, NULL, 0, NULL, "postgres: INSERT returned no id");
    if (status == ATP_OK)
        *id = col_i64(r, 0, 0);
    PQclear(r);
    return status;
}

static int pg_strategy_get(struct store *s, int64_t account_id, int64_t id, struct store_strategy *out,
                           struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_i64(&p, account_id);
    return one_row(pq(s), "SELECT " STORE_STRATEGY_COLS " FROM strategies WHERE id = $1::bigint AND account_id = $2::bigint",
                   &p, read_strategy, out, "strategy_id", err);
}

static int pg_strategy_account(struct store *s, int64_t id, int64_t *account_id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    int rc = one_row_i64(pq(s), "SELECT account_id FROM strategies WHERE id = $1::bigint", &p, account_id, 1, err);
    if (rc == ATP_ENOTFOUND && err)
        snprintf(err->field, sizeof err->field, "strategy_id");
    return rc;
}

static int pg_strategy_list(struct store *s, const struct store_strategy_filter *f, const struct store_page *pg,
                            struct store_strategy *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, pg->cursor);
    p_i64(&p, f->account_id);
    p_i64(&p, f->active_only);
    p_i64(&p, f->user_id);
    p_i64(&p, (int64_t)pg->limit + 1);
    PGresult *r = NULL;
    res->count = 0;
    res->next_cursor = 0;
    TRY(run_text(pq(s),
                 "SELECT " STORE_STRATEGY_COLS " FROM strategies WHERE id > $1::bigint "
                 "AND ($2::bigint = 0 OR account_id = $2::bigint) AND ($3::int = 0 OR state <> 'stopped') "
                 "AND ($4::bigint = 0 OR account_id IN (SELECT id FROM trading_accounts WHERE owner_id = $4::bigint "
                 "UNION SELECT account_id FROM account_access WHERE user_id = $4::bigint)) ORDER BY id LIMIT $5::bigint",
                 &p, NULL, &r, NULL, err));
    return read_page(r, pg, read_strategy, key_strategy, out, sizeof *out, res, err);
}

/* After a guarded UPDATE/DELETE changed nothing: absent (ATP_ENOTFOUND) or not stopped (ATP_ESTATE). */
static int strategy_not_stopped(struct store *s, int64_t account_id, int64_t id, const char *verb,
                                struct atp_err *err)
{
    struct store_strategy cur;
    memset(&cur, 0, sizeof cur);
    TRY(pg_strategy_get(s, account_id, id, &cur, err));
    return atp_err_set(err, ATP_ESTATE, NULL, 0, "state", "strategy %lld is %s: stop it before it can be %s",
                       (long long)id, store_strategy_state_name(cur.state), verb);
}

static int pg_strategy_update(struct store *s, const struct store_strategy *v, struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, v->name);
    p_text(&p, v->symbols);
    p_text(&p, v->timeframes);
    p_text(&p, v->params);
    p_text(&p, v->risk);
    p_i64(&p, store_now(s));
    p_i64(&p, v->id);
    p_i64(&p, v->account_id);
    int changed = 0;
    TRY(run_text(pq(s),
                 "UPDATE strategies SET name = $1::text, symbols = $2::text, timeframes = $3::text, params = $4::text, "
                 "risk = $5::text, updated_ns = $6::bigint WHERE id = $7::bigint AND account_id = $8::bigint "
                 "AND state = 'stopped'",
                 &p, NULL, NULL, &changed, err));
    return changed ? ATP_OK : strategy_not_stopped(s, v->account_id, v->id, "updated", err);
}

static int pg_strategy_delete(struct store *s, int64_t account_id, int64_t id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_i64(&p, account_id);
    int changed = 0;
    TRY(run_text(pq(s),
                 "DELETE FROM strategies WHERE id = $1::bigint AND account_id = $2::bigint AND state = 'stopped'", &p,
                 NULL, NULL, &changed, err));
    return changed ? ATP_OK : strategy_not_stopped(s, account_id, id, "deleted", err);
}

/* Runs an UPDATE of one strategy: ATP_ENOTFOUND when it changed no row. */
static int strategy_changed(struct store *s, const char *sql, const struct params *p, struct atp_err *err)
{
    int changed = 0;
    TRY(run_text(pq(s), sql, p, NULL, NULL, &changed, err));
    return changed ? ATP_OK : atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "strategy_id", "not found");
}

static int pg_strategy_set_state(struct store *s, int64_t account_id, int64_t id, int state, const char *reason,
                                 struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, store_strategy_state_name(state));
    p_text(&p, reason);
    p_i64(&p, store_now(s));
    p_i64(&p, id);
    p_i64(&p, account_id);
    return strategy_changed(s,
                            "UPDATE strategies SET state = $1::text, state_reason = $2::text, updated_ns = $3::bigint "
                            "WHERE id = $4::bigint AND account_id = $5::bigint",
                            &p, err);
}

static int pg_strategy_set_signal(struct store *s, int64_t account_id, int64_t id, const char *signal_json,
                                  int64_t ts_ns, struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, signal_json);
    p_i64(&p, ts_ns);
    p_i64(&p, store_now(s));
    p_i64(&p, id);
    p_i64(&p, account_id);
    return strategy_changed(s,
                            "UPDATE strategies SET last_signal = $1::text, last_signal_ns = $2::bigint, "
                            "updated_ns = $3::bigint WHERE id = $4::bigint AND account_id = $5::bigint",
                            &p, err);
}

static int read_risk_limits(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_risk_limits *v = out;
    v->account_id = col_i64(r, row, 0);
    TRY(col_enum(r, row, 1, store_trade_mode_name, &v->mode, "mode", err));
    v->max_loss = col_i64(r, row, 2);
    v->max_position_qty = col_i64(r, row, 3);
    v->max_order_value = col_i64(r, row, 4);
    v->max_open_orders = (int32_t)col_i64(r, row, 5);
    v->breached = col_int(r, row, 6);
    v->breach_pnl = col_i64(r, row, 7);
    v->breached_ns = col_i64(r, row, 8);
    v->acknowledged_ns = col_i64(r, row, 9);
    v->updated_ns = col_i64(r, row, 10);
    return ATP_OK;
}

static int pg_risk_limits_get(struct store *s, int64_t account_id, int mode, struct store_risk_limits *out,
                              struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_text(&p, store_trade_mode_name(mode));
    return one_row(pq(s),
                   "SELECT " STORE_RISK_LIMITS_COLS " FROM account_risk_limits WHERE account_id = $1::bigint "
                   "AND mode = $2::text",
                   &p, read_risk_limits, out, "account_id", err);
}

static int pg_risk_limits_set(struct store *s, const struct store_risk_limits *v, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, v->account_id);
    p_text(&p, store_trade_mode_name(v->mode));
    p_i64(&p, v->max_loss);
    p_i64(&p, v->max_position_qty);
    p_i64(&p, v->max_order_value);
    p_i64(&p, v->max_open_orders);
    p_i64(&p, store_now(s));
    return run_text(pq(s),
                    "INSERT INTO account_risk_limits (account_id, mode, max_loss, max_position_qty, max_order_value, "
                    "max_open_orders, updated_ns) VALUES ($1::bigint, $2::text, $3::bigint, $4::bigint, $5::bigint, "
                    "$6::bigint, $7::bigint) ON CONFLICT (account_id, mode) DO UPDATE SET max_loss = excluded.max_loss, "
                    "max_position_qty = excluded.max_position_qty, max_order_value = excluded.max_order_value, "
                    "max_open_orders = excluded.max_open_orders, updated_ns = excluded.updated_ns",
                    &p, "account_id", NULL, NULL, err);
}

static int pg_risk_breach_record(struct store *s, int64_t account_id, int mode, int64_t pnl, int64_t ts_ns,
                                 struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_text(&p, store_trade_mode_name(mode));
    p_i64(&p, pnl);
    p_i64(&p, ts_ns);
    p_i64(&p, store_now(s));
    return run_text(pq(s),
                    "INSERT INTO account_risk_limits (account_id, mode, breached, breach_pnl, breached_ns, updated_ns) "
                    "VALUES ($1::bigint, $2::text, 1, $3::bigint, $4::bigint, $5::bigint) ON CONFLICT (account_id, mode) "
                    "DO UPDATE SET breached = 1, breach_pnl = excluded.breach_pnl, breached_ns = excluded.breached_ns, "
                    "updated_ns = excluded.updated_ns",
                    &p, "account_id", NULL, NULL, err);
}

static int pg_risk_breach_ack(struct store *s, int64_t account_id, int mode, int64_t ts_ns, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, ts_ns);
    p_i64(&p, store_now(s));
    p_i64(&p, account_id);
    p_text(&p, store_trade_mode_name(mode));
    int changed = 0;
    TRY(run_text(pq(s),
                 "UPDATE account_risk_limits SET breached = 0, acknowledged_ns = $1::bigint, updated_ns = $2::bigint "
                 "WHERE account_id = $3::bigint AND mode = $4::text AND breached = 1",
                 &p, NULL, NULL, &changed, err));
    return changed ? ATP_OK : atp_err_set(err, ATP_ESTATE, NULL, 0, "breached", "no breach to acknowledge");
}

static int pg_strategy_limit_get(struct store *s, int mode, int32_t *max_running, struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, store_trade_mode_name(mode));
    int64_t v = 0;
    int rc = one_row_i64(pq(s), "SELECT max_running FROM strategy_limits WHERE mode = $1::text", &p, &v, 1, err);
    if (rc == ATP_ENOTFOUND && err)
        snprintf(err->field, sizeof err->field, "mode");
    *max_running = (int32_t)v;
    return rc;
}

static int pg_strategy_limit_set(struct store *s, int mode, int32_t max_running, struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, store_trade_mode_name(mode));
    p_i64(&p, max_running);
    p_i64(&p, store_now(s));
    return run_text(pq(s),
                    "INSERT INTO strategy_limits (mode, max_running, updated_ns) VALUES ($1::text, $2::bigint, $3::bigint) "
                    "ON CONFLICT (mode) DO UPDATE SET max_running = excluded.max_running, updated_ns = excluded.updated_ns",
                    &p, NULL, NULL, NULL, err);
}

/* ==== end of strategies ==== */

/* ==== paper trading (store.h) ==== */

static int read_funds(const PGresult *r, int row, void *out, struct atp_err *err)
{
    (void)err;
    struct store_funds *f = out;
    f->account_id = col_i64(r, row, 0);
    f->initial_capital_px = col_i64(r, row, 1);
    f->updated_ns = col_i64(r, row, 2);
    return ATP_OK;
}

static int64_t key_funds(const void *row) { return ((const struct store_funds *)row)->account_id; }

static int pg_funds_set(struct store *s, int64_t account_id, int64_t capital, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_i64(&p, capital);
    p_i64(&p, store_now(s));
    return run(pq(s), ST_FUNDS_UPSERT, &p, "account_id", NULL, NULL, err);
}

static int pg_funds_get(struct store *s, int64_t account_id, struct store_funds *out, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    memset(out, 0, sizeof *out);
    return get_one(pq(s), ST_FUNDS_GET, &p, read_funds, out, "account_id", err);
}

static int pg_funds_list(struct store *s, const struct store_page *pg, struct store_funds *out,
                         struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_FUNDS_LIST, &p, pg, read_funds, key_funds, out, sizeof *out, res, err);
}

static int read_order(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_order *o = out;
    o->id = col_i64(r, row, 0);
    o->account_id = col_i64(r, row, 1);
    TRY(col_text(r, row, 2, o->mode, sizeof o->mode, "mode", err));
    o->strategy_id = col_i64(r, row, 3);
    TRY(col_text(r, row, 4, o->client_key, sizeof o->client_key, "client_key", err));
    TRY(col_text(r, row, 5, o->tag, sizeof o->tag, "tag", err));
    TRY(col_text(r, row, 6, o->symbol, sizeof o->symbol, "symbol", err));
    TRY(col_text(r, row, 7, o->side, sizeof o->side, "side", err));
    o->qty = col_i64(r, row, 8);
    TRY(col_text(r, row, 9, o->type, sizeof o->type, "type", err));
    o->price_px = col_i64(r, row, 10);
    o->trigger_px = col_i64(r, row, 11);
    TRY(col_text(r, row, 12, o->product, sizeof o->product, "product", err));
    TRY(col_text(r, row, 13, o->validity, sizeof o->validity, "validity", err));
    TRY(col_text(r, row, 14, o->state, sizeof o->state, "state", err));
    o->filled_qty = col_i64(r, row, 15);
    o->filled_notional_px = col_i64(r, row, 16);
    TRY(col_text(r, row, 17, o->reason, sizeof o->reason, "reason", err));
    o->created_ns = col_i64(r, row, 18);
    o->updated_ns = col_i64(r, row, 19);
    return ATP_OK;
}

static int64_t key_order(const void *row) { return ((const struct store_order *)row)->id; }

static int hist_append(struct pg_store *q, int64_t order_id, const char *state, const char *reason, int64_t ts,
                       struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, order_id);
    p_text(&p, state);
    p_text(&p, reason);
    p_i64(&p, ts);
    return run(q, ST_HIST_INSERT, &p, "order_id", NULL, NULL, err);
}

static int order_insert_in_tx(struct pg_store *q, const struct store_order *o, int64_t now, int64_t *id,
                              struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, o->account_id);
    p_text(&p, o->mode);
    p_id_or_null(&p, o->strategy_id);
    p_text(&p, o->client_key[0] ? o->client_key : NULL);
    p_text(&p, o->tag);
    p_text(&p, o->symbol);
    p_text(&p, o->side);
    p_i64(&p, o->qty);
    p_text(&p, o->type);
    p_i64(&p, o->price_px);
    p_i64(&p, o->trigger_px);
    p_text(&p, o->product);
    p_text(&p, o->validity);
    p_text(&p, o->state);
    p_i64(&p, now);
    int status = insert_id(q, ST_ORDER_INSERT, &p, "client_key", id, err);
    if (status == ATP_ENOTFOUND && err)
        snprintf(err->field, sizeof err->field, "account_id"); /* the one foreign key */
    TRY(status);
    return hist_append(q, *id, o->state, "", now, err);
}

static int pg_order_insert(struct store *s, const struct store_order *o, int64_t *id, struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, order_insert_in_tx(q, o, store_now(s), id, err), err);
}

static int pg_order_get(struct store *s, int64_t account_id, int64_t id, struct store_order *out,
                        struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_i64(&p, account_id);
    return get_one(pq(s), ST_ORDER_GET, &p, read_order, out, "order_id", err);
}

static int pg_order_find_key(struct store *s, int64_t account_id, const char *key, struct store_order *out,
                             struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_text(&p, key);
    return get_one(pq(s), ST_ORDER_FIND_KEY, &p, read_order, out, "client_key", err);
}

static int pg_order_list(struct store *s, const struct store_order_filter *f, const struct store_page *pg,
                         struct store_order *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, f->account_id);
    p_text(&p, f->state);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_ORDER_LIST, &p, pg, read_order, key_order, out, sizeof *out, res, err);
}

static int read_state(const PGresult *r, int row, void *out, struct atp_err *err)
{
    return col_text(r, row, 0, out, STORE_ENUM_MAX, "state", err);
}

static int order_update_in_tx(struct pg_store *q, const struct store_order_change *c, int64_t now,
                              struct atp_err *err)
{
    char before[STORE_ENUM_MAX];
    struct params k = {0};
    p_i64(&k, c->order_id);
    p_i64(&k, c->account_id);
    TRY(get_one(q, ST_ORDER_STATE, &k, read_state, before, "order_id", err));
    struct params p = {0};
    p_text(&p, c->state);
    p_i64(&p, c->qty);
    p_i64(&p, c->price_px);
    p_i64(&p, c->trigger_px);
    p_i64(&p, c->filled_qty);
    p_i64(&p, c->filled_notional_px);
    p_text(&p, c->reason);
    p_i64(&p, now);
    p_i64(&p, c->order_id);
    p_i64(&p, c->account_id);
    TRY(run(q, ST_ORDER_UPDATE, &p, "order_id", NULL, NULL, err));
    if (strcmp(before, c->state) != 0)
        TRY(hist_append(q, c->order_id, c->state, c->reason, now, err));
    return ATP_OK;
}

static int pg_order_update(struct store *s, const struct store_order_change *c, struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, order_update_in_tx(q, c, store_now(s), err), err);
}

static int read_hist(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_order_hist *h = out;
    h->id = col_i64(r, row, 0);
    TRY(col_text(r, row, 1, h->state, sizeof h->state, "state", err));
    TRY(col_text(r, row, 2, h->reason, sizeof h->reason, "reason", err));
    h->ts_ns = col_i64(r, row, 3);
    return ATP_OK;
}

static int64_t key_hist(const void *row) { return ((const struct store_order_hist *)row)->id; }

static int pg_order_history(struct store *s, int64_t account_id, int64_t id, struct store_order_hist *out,
                            uint32_t cap, uint32_t *count, struct atp_err *err)
{
    struct pg_store *q = pq(s);
    char state[STORE_ENUM_MAX];
    struct params k = {0};
    p_i64(&k, id);
    p_i64(&k, account_id);
    TRY(get_one(q, ST_ORDER_STATE, &k, read_state, state, "order_id", err)); /* scopes the id */
    if (cap == 0)
        return ATP_OK;
    struct params p = {0};
    p_i64(&p, id);
    struct store_page pg = {0, cap > STORE_PAGE_MAX ? STORE_PAGE_MAX : cap};
    struct store_page_out res;
    TRY(get_list(q, ST_HIST_LIST, &p, &pg, read_hist, key_hist, out, sizeof *out, &res, err));
    *count = res.count;
    return ATP_OK;
}

static int read_fill(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_fill *f = out;
    f->id = col_i64(r, row, 0);
    f->order_id = col_i64(r, row, 1);
    f->account_id = col_i64(r, row, 2);
    TRY(col_text(r, row, 3, f->mode, sizeof f->mode, "mode", err));
    f->strategy_id = col_i64(r, row, 4);
    TRY(col_text(r, row, 5, f->venue_id, sizeof f->venue_id, "venue_id", err));
    TRY(col_text(r, row, 6, f->symbol, sizeof f->symbol, "symbol", err));
    TRY(col_text(r, row, 7, f->side, sizeof f->side, "side", err));
    TRY(col_text(r, row, 8, f->product, sizeof f->product, "product", err));
    f->qty = col_i64(r, row, 9);
    f->price_px = col_i64(r, row, 10);
    f->charges_px = col_i64(r, row, 11);
    f->ts_ns = col_i64(r, row, 12);
    f->created_ns = col_i64(r, row, 13);
    return ATP_OK;
}

static int64_t key_fill(const void *row) { return ((const struct store_fill *)row)->id; }

static int fill_record_in_tx(struct pg_store *q, const struct store_fill *f, const struct store_order_change *c,
                             int64_t now, int64_t *id, struct atp_err *err)
{
    TRY(order_update_in_tx(q, c, now, err)); /* first: it checks the order is the account's */
    struct params p = {0};
    p_i64(&p, f->order_id);
    p_i64(&p, f->account_id);
    p_text(&p, f->mode);
    p_id_or_null(&p, f->strategy_id);
    p_text(&p, f->venue_id);
    p_text(&p, f->symbol);
    p_text(&p, f->side);
    p_text(&p, f->product);
    p_i64(&p, f->qty);
    p_i64(&p, f->price_px);
    p_i64(&p, f->charges_px);
    p_i64(&p, f->ts_ns);
    p_i64(&p, now);
    return insert_id(q, ST_FILL_INSERT, &p, "order_id", id, err);
}

static int pg_fill_record(struct store *s, const struct store_fill *f, const struct store_order_change *c,
                          int64_t *id, struct atp_err *err)
{
    struct pg_store *q = pq(s);
    TRY(tx_begin(q, err));
    return tx_end(q, fill_record_in_tx(q, f, c, store_now(s), id, err), err);
}

static int pg_fill_list(struct store *s, int64_t account_id, const struct store_page *pg, struct store_fill *out,
                        struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_FILL_LIST, &p, pg, read_fill, key_fill, out, sizeof *out, res, err);
}

static int read_kill(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_kill_switch *k = out;
    k->account_id = col_i64(r, row, 0);
    TRY(col_text(r, row, 1, k->state, sizeof k->state, "state", err));
    k->set_by = col_i64(r, row, 2);
    TRY(col_text(r, row, 3, k->reason, sizeof k->reason, "reason", err));
    k->updated_ns = col_i64(r, row, 4);
    return ATP_OK;
}

/* + 1: the global switch is account 0, and a cursor of 0 means "from the start". */
static int64_t key_kill(const void *row) { return ((const struct store_kill_switch *)row)->account_id + 1; }

static int pg_kill_switch_set(struct store *s, const struct store_kill_switch *k, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, k->account_id);
    p_text(&p, k->state);
    p_i64(&p, k->set_by);
    p_text(&p, k->reason);
    p_i64(&p, store_now(s));
    return run(pq(s), ST_KILL_UPSERT, &p, "account_id", NULL, NULL, err);
}

static int pg_kill_switch_get(struct store *s, int64_t account_id, struct store_kill_switch *out,
                              struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, account_id);
    memset(out, 0, sizeof *out);
    return get_one(pq(s), ST_KILL_GET, &p, read_kill, out, "account_id", err);
}

static int pg_kill_switch_list(struct store *s, const struct store_page *pg, struct store_kill_switch *out,
                               struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, pg->cursor);
    return get_list(pq(s), ST_KILL_LIST, &p, pg, read_kill, key_kill, out, sizeof *out, res, err);
}

/* ==== end of paper trading ==== */

/* ==== backtests ==== */

static int read_backtest(const PGresult *r, int row, void *out, struct atp_err *err)
{
    struct store_backtest *b = out;
    b->id = col_i64(r, row, 0);
    b->user_id = col_i64(r, row, 1);
    b->account_id = col_i64(r, row, 2); /* NULL reads 0 */
    TRY(col_enum(r, row, 3, store_bt_status_name, &b->status, "status", err));
    b->progress_ppm = (int32_t)col_i64(r, row, 4);
    TRY(col_text(r, row, 5, b->strategy, sizeof b->strategy, "strategy", err));
    TRY(col_text(r, row, 6, b->source, sizeof b->source, "source", err));
    TRY(col_text(r, row, 7, b->request, sizeof b->request, "request", err));
    TRY(col_text(r, row, 8, b->error, sizeof b->error, "error", err));
    TRY(col_text(r, row, 9, b->metrics, sizeof b->metrics, "metrics", err));
    b->created_ns = col_i64(r, row, 10);
    b->started_ns = col_i64(r, row, 11);
    b->finished_ns = col_i64(r, row, 12);
    return ATP_OK;
}

static int64_t key_backtest(const void *row) { return ((const struct store_backtest *)row)->id; }

static int pg_backtest_create(struct store *s, const struct store_backtest *b, int64_t *id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, b->user_id);
    p_id_or_null(&p, b->account_id);
    p_text(&p, b->strategy);
    p_text(&p, b->source);
    p_text(&p, b->request);
    p_i64(&p, store_now(s));
    PGresult *r = NULL;
    TRY(run_text(pq(s),
                 "INSERT INTO backtests (user_id, account_id, status, strategy, source, request, created_ns) "
                 "VALUES ($1, $2, 'queued', $3, $4, $5, $6) RETURNING id",
                 &p, b->account_id > 0 ? "account_id" : "user_id", &r, NULL, err));
    int status = PQntuples(r) == 1 ? ATP_OK : atp_err_set(err, ATP_EIO, NULL, 0, NULL, "postgres: INSERT returned no id");
    if (status == ATP_OK)
        *id = col_i64(r, 0, 0);
    PQclear(r);
    return status;
}

/* One row of sql (parameters p) read by read into out; ATP_ENOTFOUND naming field when none. */
static int pg_backtest_get(struct store *s, int64_t id, struct store_backtest *out, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    return one_row(pq(s), "SELECT " STORE_BACKTEST_COLS " FROM backtests WHERE id = $1", &p, read_backtest, out,
                   "backtest_id", err);
}

static int pg_backtest_list(struct store *s, int64_t user_id, const struct store_page *pg,
                            struct store_backtest *out, struct store_page_out *res, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, user_id);
    p_i64(&p, pg->cursor);
    p_i64(&p, (int64_t)pg->limit + 1);
    res->count = 0;
    res->next_cursor = 0;
    PGresult *r = NULL;
    TRY(run_text(pq(s),
                 "SELECT " STORE_BACKTEST_COLS " FROM backtests WHERE (user_id = $1 "
                 "OR account_id IN (SELECT id FROM trading_accounts WHERE owner_id = $1) "
                 "OR account_id IN (SELECT account_id FROM account_access WHERE user_id = $1)) "
                 "AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3",
                 &p, NULL, &r, NULL, err));
    int status = ATP_OK, n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        if (res->count == pg->limit) {
            res->next_cursor = key_backtest(&out[res->count - 1]);
            break;
        }
        memset(&out[res->count], 0, sizeof *out);
        if ((status = read_backtest(r, i, &out[res->count], err)) != ATP_OK)
            break;
        res->count++;
    }
    PQclear(r);
    if (status != ATP_OK) {
        res->count = 0;
        res->next_cursor = 0;
    }
    return status;
}

/* After an UPDATE guarded by status changed nothing: ATP_ENOTFOUND or ATP_ESTATE. */
static int pg_backtest_why_not(struct store *s, int64_t id, const char *what, struct atp_err *err)
{
    struct store_backtest *b = atp_malloc(sizeof *b);
    if (!b)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    int rc = pg_backtest_get(s, id, b, err);
    if (rc == ATP_OK)
        rc = atp_err_set(err, ATP_ESTATE, NULL, 0, "status", "the backtest is %s, not %s",
                         store_bt_status_name(b->status), what);
    atp_free(b);
    return rc;
}

static int pg_backtest_start(struct store *s, int64_t id, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_i64(&p, store_now(s));
    int changed = 0;
    TRY(run_text(pq(s), "UPDATE backtests SET status = 'running', started_ns = $2 WHERE id = $1 AND status = 'queued'",
                 &p, NULL, NULL, &changed, err));
    return changed ? ATP_OK : pg_backtest_why_not(s, id, "queued", err);
}

static int pg_backtest_progress(struct store *s, int64_t id, int32_t ppm, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_i64(&p, ppm);
    return run_text(pq(s), "UPDATE backtests SET progress_ppm = $2 WHERE id = $1 AND status = 'running'", &p, NULL,
                    NULL, NULL, err);
}

static int pg_backtest_finish(struct store *s, int64_t id, int status, const char *error, const char *metrics,
                              const char *result_json, const char *report_html, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    p_text(&p, store_bt_status_name(status));
    p_text(&p, error);
    p_text(&p, metrics);
    p_text(&p, result_json);
    p_text(&p, report_html);
    p_i64(&p, store_now(s));
    int changed = 0;
    TRY(run_text(pq(s),
                 "UPDATE backtests SET status = $2, error = $3, metrics = $4, result_json = $5, report_html = $6, "
                 "finished_ns = $7, progress_ppm = CASE WHEN $2 = 'done' THEN 1000000 ELSE progress_ppm END "
                 "WHERE id = $1 AND status IN ('queued', 'running')",
                 &p, NULL, NULL, &changed, err));
    return changed ? ATP_OK : pg_backtest_why_not(s, id, "queued or running", err);
}

static int pg_backtest_document(struct store *s, int64_t id, int doc, char **out, size_t *len, struct atp_err *err)
{
    struct params p = {0};
    p_i64(&p, id);
    PGresult *r = NULL;
    TRY(run_text(pq(s),
                 doc == STORE_BT_DOC_RESULT ? "SELECT result_json FROM backtests WHERE id = $1"
                                            : "SELECT report_html FROM backtests WHERE id = $1",
                 &p, NULL, &r, NULL, err));
    int status = ATP_OK;
    if (PQntuples(r) < 1) {
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "backtest_id", "not found");
    } else if (PQgetisnull(r, 0, 0)) {
        status = atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "document", "the backtest has no such document");
    } else {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        char *copy = atp_malloc(n + 1);
        if (!copy) {
            status = atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
        } else {
            if (n)
                memcpy(copy, PQgetvalue(r, 0, 0), n);
            copy[n] = '\0';
            *out = copy;
            *len = n;
        }
    }
    PQclear(r);
    return status;
}

static int pg_backtest_interrupt(struct store *s, const char *reason, int *count, struct atp_err *err)
{
    struct params p = {0};
    p_text(&p, reason);
    p_i64(&p, store_now(s));
    return run_text(pq(s),
                    "UPDATE backtests SET status = 'failed', error = $1, finished_ns = $2 "
                    "WHERE status IN ('queued', 'running')",
                    &p, NULL, NULL, count, err);
}

/* ==== end of backtests ==== */

static const struct store_ops pg_ops = {
    .name = "postgres",
    .close = pg_close,
    .migrate = pg_migrate,
    .migrate_status = pg_migrate_status,
    .user_create = pg_user_create,
    .user_get = pg_user_get,
    .user_get_by_email = pg_user_get_by_email,
    .user_list = pg_user_list,
    .user_update = pg_user_update,
    .token_insert = pg_token_insert,
    .token_find = pg_token_find,
    .token_revoke = pg_token_revoke,
    .token_revoke_family = pg_token_revoke_family,
    .token_revoke_all_except = pg_token_revoke_all_except,
    /* ==== sessions ==== */
    .session_create = pg_session_create,
    .session_get = pg_session_get,
    .session_touch = pg_session_touch,
    .session_revoke = pg_session_revoke,
    .session_revoke_others = pg_session_revoke_others,
    .totp_step_get = pg_totp_step_get,
    .totp_step_advance = pg_totp_step_advance,
    .totp_step_reset = pg_totp_step_reset,
    /* ==== end of sessions ==== */
    .account_create = pg_account_create,
    .account_get = pg_account_get,
    .accounts_list_for_user = pg_accounts_list_for_user,
    .accounts_list_all = pg_accounts_list_all,
    .account_rename = pg_account_rename,
    .access_grant = pg_access_grant,
    .access_revoke = pg_access_revoke,
    .access_list = pg_access_list,
    .access_role = pg_access_role,
    .invite_create = pg_invite_create,
    .invite_list_for_account = pg_invite_list_for_account,
    .invite_list_for_email = pg_invite_list_for_email,
    .invite_find = pg_invite_find,
    .invite_set_status = pg_invite_set_status,
    .invite_accept = pg_invite_accept,
    .invite_expire = pg_invite_expire,
    .broker_create = pg_broker_create,
    .broker_list = pg_broker_list,
    .broker_delete = pg_broker_delete,
    .broker_secret_get = pg_broker_secret_get,
    .audit_append = pg_audit_append,
    .audit_query = pg_audit_query,
    .notif_create = pg_notif_create,
    .notif_list = pg_notif_list,
    .notif_mark_read = pg_notif_mark_read,
    .pref_set = pg_pref_set,
    .pref_list = pg_pref_list,
    /* administration additions */
    .ping = pg_ping,
    .stats_get = pg_stats_get,
    .user_admin_update = pg_user_admin_update,
    .notif_mark_all_read = pg_notif_mark_all_read,
    .broker_list_all = pg_broker_list_all,
    .broker_secret_replace = pg_broker_secret_replace,
    /* strategies */
    .strategy_create = pg_strategy_create,
    .strategy_get = pg_strategy_get,
    .strategy_account = pg_strategy_account,
    .strategy_list = pg_strategy_list,
    .strategy_update = pg_strategy_update,
    .strategy_delete = pg_strategy_delete,
    .strategy_set_state = pg_strategy_set_state,
    .strategy_set_signal = pg_strategy_set_signal,
    .risk_limits_get = pg_risk_limits_get,
    .risk_limits_set = pg_risk_limits_set,
    .risk_breach_record = pg_risk_breach_record,
    .risk_breach_ack = pg_risk_breach_ack,
    .strategy_limit_get = pg_strategy_limit_get,
    .strategy_limit_set = pg_strategy_limit_set,
    /* paper trading */
    .funds_set = pg_funds_set,
    .funds_get = pg_funds_get,
    .funds_list = pg_funds_list,
    .order_insert = pg_order_insert,
    .order_get = pg_order_get,
    .order_find_key = pg_order_find_key,
    .order_list = pg_order_list,
    .order_update = pg_order_update,
    .order_history = pg_order_history,
    .fill_record = pg_fill_record,
    .fill_list = pg_fill_list,
    .kill_switch_set = pg_kill_switch_set,
    .kill_switch_get = pg_kill_switch_get,
    .kill_switch_list = pg_kill_switch_list,
    /* backtests */
    .backtest_create = pg_backtest_create,
    .backtest_get = pg_backtest_get,
    .backtest_list = pg_backtest_list,
    .backtest_start = pg_backtest_start,
    .backtest_progress = pg_backtest_progress,
    .backtest_finish = pg_backtest_finish,
    .backtest_document = pg_backtest_document,
    .backtest_interrupt = pg_backtest_interrupt,
};
