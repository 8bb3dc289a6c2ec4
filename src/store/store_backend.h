/* store/store_backend: what a backend implements. Only store.c and the backends include this.
 *
 * store.c validates every argument (ids > 0, strings NUL-terminated within their buffers and
 * non-empty where required, enums in range, page limits) before calling a backend, so a backend
 * only runs statements and maps database errors. Each backend allocates its own struct whose first
 * member is struct store. */
#ifndef ATP_STORE_BACKEND_H
#define ATP_STORE_BACKEND_H

#include "store/store.h"

struct store_ops {
    const char *name;
    void (*close)(struct store *s);
    int (*migrate)(struct store *s, int *applied, struct atp_err *err);
    int (*migrate_status)(struct store *s, struct store_migration_status *out, int cap, int *count,
                          struct atp_err *err);

    int (*user_create)(struct store *s, const struct store_user *u, const char *email_key, int64_t *id,
                       struct atp_err *err);
    int (*user_get)(struct store *s, int64_t id, struct store_user *out, struct atp_err *err);
    int (*user_get_by_email)(struct store *s, const char *email_key, struct store_user *out,
                             struct atp_err *err);
    int (*user_list)(struct store *s, const struct store_page *p, struct store_user *out,
                     struct store_page_out *res, struct atp_err *err);
    int (*user_update)(struct store *s, int64_t id, unsigned fields, const struct store_user *v,
                       struct atp_err *err);

    int (*token_insert)(struct store *s, const struct store_refresh_token *t, int64_t *id,
                        struct atp_err *err);
    int (*token_find)(struct store *s, const char *hash, struct store_refresh_token *out,
                      struct atp_err *err);
    int (*token_revoke)(struct store *s, int64_t user_id, int64_t id, int64_t replaced_by,
                        struct atp_err *err);
    int (*token_revoke_family)(struct store *s, int64_t user_id, const char *family, int *count,
                               struct atp_err *err);
    int (*token_revoke_all_except)(struct store *s, int64_t user_id, int64_t keep_id, int *count,
                                   struct atp_err *err);

    /* ==== sessions ==== */
    int (*session_create)(struct store *s, const struct store_session *ss, struct atp_err *err);
    int (*session_get)(struct store *s, const char *id, struct store_session *out, int *user_role,
                       int *user_status, struct atp_err *err);
    int (*session_touch)(struct store *s, const char *id, int64_t seen_ns, struct atp_err *err);
    int (*session_revoke)(struct store *s, int64_t user_id, const char *id, const char *reason,
                          struct atp_err *err);
    int (*session_revoke_others)(struct store *s, int64_t user_id, const char *keep_id,
                                 const char *reason, int *count, struct atp_err *err);
    int (*totp_step_get)(struct store *s, int64_t user_id, int64_t *step, struct atp_err *err);
    int (*totp_step_advance)(struct store *s, int64_t user_id, int64_t step, struct atp_err *err);
    int (*totp_step_reset)(struct store *s, int64_t user_id, struct atp_err *err);
    /* ==== end of sessions ==== */

    int (*account_create)(struct store *s, const struct store_account *a, int64_t *id,
                          struct atp_err *err);
    int (*account_get)(struct store *s, int64_t id, struct store_account *out, struct atp_err *err);
    int (*accounts_list_for_user)(struct store *s, int64_t user_id, const struct store_page *p,
                                  struct store_account *out, struct store_page_out *res,
                                  struct atp_err *err);
    int (*accounts_list_all)(struct store *s, int64_t user_id, const struct store_page *p,
                             struct store_account *out, struct store_page_out *res, struct atp_err *err);
    int (*account_rename)(struct store *s, int64_t id, const char *name, struct atp_err *err);

    int (*access_grant)(struct store *s, int64_t account_id, int64_t user_id, int role,
                        struct atp_err *err);
    int (*access_revoke)(struct store *s, int64_t account_id, int64_t user_id, struct atp_err *err);
    int (*access_list)(struct store *s, int64_t account_id, const struct store_page *p,
                       struct store_grant *out, struct store_page_out *res, struct atp_err *err);
    int (*access_role)(struct store *s, int64_t account_id, int64_t user_id, int *access,
                       struct atp_err *err);

    int (*invite_create)(struct store *s, const struct store_invitation *inv, const char *email_key,
                         int64_t *id, struct atp_err *err);
    int (*invite_list_for_account)(struct store *s, int64_t account_id, const struct store_page *p,
                                   struct store_invitation *out, struct store_page_out *res,
                                   struct atp_err *err);
    int (*invite_list_for_email)(struct store *s, const char *email_key, const struct store_page *p,
                                 struct store_invitation *out, struct store_page_out *res,
                                 struct atp_err *err);
    int (*invite_find)(struct store *s, const char *hash, struct store_invitation *out,
                       struct atp_err *err);
    int (*invite_set_status)(struct store *s, int64_t account_id, int64_t id, int status,
                             struct atp_err *err);
    int (*invite_accept)(struct store *s, int64_t account_id, int64_t id, int64_t user_id,
                         struct atp_err *err);
    int (*invite_expire)(struct store *s, int64_t now_ns, int *count, struct atp_err *err);

    int (*broker_create)(struct store *s, const struct store_broker_conn *c,
                         const struct store_broker_secret *sec, int64_t *id, struct atp_err *err);
    int (*broker_list)(struct store *s, int64_t account_id, const struct store_page *p,
                       struct store_broker_conn *out, struct store_page_out *res, struct atp_err *err);
    int (*broker_delete)(struct store *s, int64_t account_id, int64_t id, struct atp_err *err);
    int (*broker_secret_get)(struct store *s, int64_t account_id, int64_t id,
                             struct store_broker_conn *meta, struct store_broker_secret *out,
                             struct atp_err *err);

    int (*audit_append)(struct store *s, const struct store_audit *a, int64_t *id, struct atp_err *err);
    int (*audit_query)(struct store *s, const struct store_audit_filter *f, const struct store_page *p,
                       struct store_audit *out, struct store_page_out *res, struct atp_err *err);

    int (*notif_create)(struct store *s, const struct store_notification *n, int64_t *id,
                        struct atp_err *err);
    int (*notif_list)(struct store *s, int64_t user_id, int unread_only, const struct store_page *p,
                      struct store_notification *out, struct store_page_out *res, struct atp_err *err);
    int (*notif_mark_read)(struct store *s, int64_t user_id, int64_t id, struct atp_err *err);
    int (*pref_set)(struct store *s, const struct store_notif_pref *p, struct atp_err *err);
    int (*pref_list)(struct store *s, int64_t user_id, const struct store_page *p,
                     struct store_notif_pref *out, struct store_page_out *res, struct atp_err *err);

    /* administration additions (store.h) */
    int (*ping)(struct store *s, struct atp_err *err);
    int (*stats_get)(struct store *s, struct store_stats *out, struct atp_err *err);
    int (*user_admin_update)(struct store *s, int64_t user_id, unsigned fields, const struct store_user *v,
                             struct store_user *before, struct atp_err *err);
    int (*notif_mark_all_read)(struct store *s, int64_t user_id, int *count, struct atp_err *err);
    int (*broker_list_all)(struct store *s, const struct store_page *p, struct store_broker_conn *out,
                           struct store_page_out *res, struct atp_err *err);
    int (*broker_secret_replace)(struct store *s, int64_t account_id, int64_t id, const char *expect_key_id,
                                 const char *key_id, const struct store_broker_secret *sec,
                                 struct atp_err *err);
    /* ==== strategies (store.h) ==== */
    int (*strategy_create)(struct store *s, const struct store_strategy *st, int64_t *id, struct atp_err *err);
    int (*strategy_get)(struct store *s, int64_t account_id, int64_t id, struct store_strategy *out,
                        struct atp_err *err);
    int (*strategy_account)(struct store *s, int64_t id, int64_t *account_id, struct atp_err *err);
    int (*strategy_list)(struct store *s, const struct store_strategy_filter *f, const struct store_page *p,
                         struct store_strategy *out, struct store_page_out *res, struct atp_err *err);
    int (*strategy_update)(struct store *s, const struct store_strategy *v, struct atp_err *err);
    int (*strategy_delete)(struct store *s, int64_t account_id, int64_t id, struct atp_err *err);
    int (*strategy_set_state)(struct store *s, int64_t account_id, int64_t id, int state, const char *reason,
                              struct atp_err *err);
    int (*strategy_set_signal)(struct store *s, int64_t account_id, int64_t id, const char *signal_json,
                               int64_t ts_ns, struct atp_err *err);
    int (*risk_limits_get)(struct store *s, int64_t account_id, int mode, struct store_risk_limits *out,
                           struct atp_err *err);
    int (*risk_limits_set)(struct store *s, const struct store_risk_limits *lim, struct atp_err *err);
    int (*risk_breach_record)(struct store *s, int64_t account_id, int mode, int64_t pnl, int64_t ts_ns,
                              struct atp_err *err);
    int (*risk_breach_ack)(struct store *s, int64_t account_id, int mode, int64_t ts_ns, struct atp_err *err);
    int (*strategy_limit_get)(struct store *s, int mode, int32_t *max_running, struct atp_err *err);
    int (*strategy_limit_set)(struct store *s, int mode, int32_t max_running, struct atp_err *err);
    /* ==== end of strategies ==== */

    /* ==== paper trading (store.h) ==== */
    int (*funds_set)(struct store *s, int64_t account_id, int64_t capital, struct atp_err *err);
    int (*funds_get)(struct store *s, int64_t account_id, struct store_funds *out, struct atp_err *err);
    int (*funds_list)(struct store *s, const struct store_page *p, struct store_funds *out,
                      struct store_page_out *res, struct atp_err *err);
    int (*order_insert)(struct store *s, const struct store_order *o, int64_t *id, struct atp_err *err);
    int (*order_get)(struct store *s, int64_t account_id, int64_t id, struct store_order *out,
                     struct atp_err *err);
    int (*order_find_key)(struct store *s, int64_t account_id, const char *key, struct store_order *out,
                          struct atp_err *err);
    int (*order_list)(struct store *s, const struct store_order_filter *f, const struct store_page *p,
                      struct store_order *out, struct store_page_out *res, struct atp_err *err);
    int (*order_update)(struct store *s, const struct store_order_change *c, struct atp_err *err);
    int (*order_history)(struct store *s, int64_t account_id, int64_t id, struct store_order_hist *out,
                         uint32_t cap, uint32_t *count, struct atp_err *err);
    int (*fill_record)(struct store *s, const struct store_fill *f, const struct store_order_change *c,
                       int64_t *id, struct atp_err *err);
    int (*fill_list)(struct store *s, int64_t account_id, const struct store_page *p, struct store_fill *out,
                     struct store_page_out *res, struct atp_err *err);
    int (*kill_switch_set)(struct store *s, const struct store_kill_switch *k, struct atp_err *err);
    int (*kill_switch_get)(struct store *s, int64_t account_id, struct store_kill_switch *out,
                           struct atp_err *err);
    int (*kill_switch_list)(struct store *s, const struct store_page *p, struct store_kill_switch *out,
                            struct store_page_out *res, struct atp_err *err);
    /* ==== end of paper trading ==== */
    /* ==== backtests ==== */
    int (*backtest_create)(struct store *s, const struct store_backtest *b, int64_t *id, struct atp_err *err);
    int (*backtest_get)(struct store *s, int64_t id, struct store_backtest *out, struct atp_err *err);
    int (*backtest_list)(struct store *s, int64_t user_id, const struct store_page *p, struct store_backtest *out,
                         struct store_page_out *res, struct atp_err *err);
    int (*backtest_start)(struct store *s, int64_t id, struct atp_err *err);
    int (*backtest_progress)(struct store *s, int64_t id, int32_t ppm, struct atp_err *err);
    int (*backtest_finish)(struct store *s, int64_t id, int status, const char *error, const char *metrics,
                           const char *result_json, const char *report_html, struct atp_err *err);
    int (*backtest_document)(struct store *s, int64_t id, int doc, char **out, size_t *len, struct atp_err *err);
    int (*backtest_interrupt)(struct store *s, const char *reason, int *count, struct atp_err *err);
    /* ==== end of backtests ==== */
};

struct store {
    const struct store_ops *ops;
    int64_t (*now_ns)(void *ctx);
    void *clock_ctx;
};

/* The store's clock (store_set_clock). */
int64_t store_now(struct store *s);

/* ASCII-lowercases email into key (size >= STORE_EMAIL_MAX): the uniqueness key of emails. */
void store_email_key(const char *email, char *key);

/* The columns every backend selects for each value type, in the order the row readers expect:
 * one list, so the two backends cannot drift apart. */
#define STORE_USER_COLS                                                                                  \
    "id, email, name, password_hash, role, status, failed_logins, locked_until_ns, totp_secret, "  \
    "totp_enabled, created_ns, updated_ns"
#define STORE_TOKEN_COLS "id, user_id, family_id, token_hash, expires_ns, revoked_ns, replaced_by, created_ns"
/* Sessions are read joined with their user (alias s for sessions, u for users). */
#define STORE_SESSION_COLS                                                                               \
    "s.id, s.user_id, s.created_ns, s.last_seen_ns, s.revoked_ns, s.revoke_reason, s.ip, s.user_agent"
#define STORE_INVITE_COLS                                                                                \
    "id, account_id, email, token_hash, status, role, expires_ns, created_by, created_ns, updated_ns"
#define STORE_BROKER_COLS "id, account_id, broker, key_id, masked, created_ns"
#define STORE_AUDIT_COLS "id, ts_ns, user_id, account_id, action, resource, ip, user_agent, result, details"
#define STORE_ORDER_COLS                                                                                 \
    "id, account_id, mode, coalesce(strategy_id, 0), coalesce(client_key, ''), tag, symbol, side, qty, " \
    "type, price_px, trigger_px, product, validity, state, filled_qty, filled_notional_px, reason, "    \
    "created_ns, updated_ns"
#define STORE_FILL_COLS                                                                                  \
    "id, order_id, account_id, mode, coalesce(strategy_id, 0), venue_id, symbol, side, product, qty, "  \
    "price_px, charges_px, ts_ns, created_ns"
#define STORE_WORKING_STATES "('NEW', 'PENDING_SUBMIT', 'OPEN', 'TRIGGER_PENDING', 'PARTIALLY_FILLED')"
#define STORE_NOTIF_COLS "id, user_id, type, title, body, read, ts_ns"
#define STORE_STRATEGY_COLS                                                                              \
    "id, account_id, type, name, symbols, timeframes, params, mode, risk, state, state_reason, "   \
    "last_signal, last_signal_ns, created_ns, updated_ns"
#define STORE_RISK_LIMITS_COLS                                                                           \
    "account_id, mode, max_loss, max_position_qty, max_order_value, max_open_orders, breached, "   \
    "breach_pnl, breached_ns, acknowledged_ns, updated_ns"
#define STORE_BACKTEST_COLS                                                                              \
    "id, user_id, account_id, status, progress_ppm, strategy, source, request, error, metrics, "   \
    "created_ns, started_ns, finished_ns"

#endif
