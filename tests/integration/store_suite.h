/* The store integration suite: one set of cases written against store.h only, run unchanged
 * against every backend. A backend's test file provides an env and instantiates every case:
 *
 *   #define CASE(name) Test(store_sqlite, name) { store_suite_##name(&env); }
 *   STORE_SUITE_CASES(CASE)
 *
 * Cases use Criterion asserts, so they run inside a Criterion test. */
#ifndef ATP_TEST_STORE_SUITE_H
#define ATP_TEST_STORE_SUITE_H

#include <stddef.h>

struct store_suite_env {
    const char *backend; /* expected store_backend() */
    /* Writes into buf the URL of a new, empty, persistent database; opening the same URL again
     * reaches the same data. */
    void (*fresh_url)(char *buf, size_t size);
};

#define STORE_SUITE_CASES(X)                                                                       \
    X(migrate_idempotent)                                                                          \
    X(reopen_keeps_data)                                                                           \
    X(users_crud)                                                                                  \
    X(users_validation)                                                                            \
    X(users_pagination)                                                                            \
    X(tokens)                                                                                      \
    X(sessions)                                                                                    \
    X(sessions_revoke_others)                                                                      \
    X(totp_step)                                                                                   \
    X(accounts_and_tenancy)                                                                        \
    X(access_list_pagination)                                                                      \
    X(invitations)                                                                                 \
    X(broker_connections)                                                                          \
    X(audit)                                                                                       \
    X(notifications_and_prefs)                                                                     \
    X(metacharacters_verbatim)                                                                     \
    X(admin_ping_and_stats)                                                                        \
    X(admin_update_keeps_an_admin)                                                                 \
    X(admin_notif_mark_all_read)                                                                   \
    X(admin_broker_rotation)                                                                       \
    X(strategies)                                                                                  \
    X(risk_limits_and_breach)                                                                      \
    X(trading_funds_and_kill_switch)                                                               \
    X(trading_orders_and_fills)                                                                      \
    X(backtests_lifecycle)                                                                         \
    X(backtests_visibility_and_pages)

#define STORE_SUITE_DECLARE(name) void store_suite_##name(const struct store_suite_env *env);
STORE_SUITE_CASES(STORE_SUITE_DECLARE)
#undef STORE_SUITE_DECLARE

#endif
