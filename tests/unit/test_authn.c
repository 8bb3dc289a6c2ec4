/* api/authn and api/ratelimit: identity resolution against a real (in-memory SQLite) store:
 * the session rules (revoked, idle, user disabled, no sid, another user's sid), the current role
 * from the store, the touch interval, the per-user limit and how each outcome maps to a response;
 * the settings from the environment; and the token buckets under concurrent threads. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/authn.h"
#include "api/json_err.h"
#include "api/ratelimit.h"
#include "api/router.h"
#include "auth/jwt.h"
#include "core/alloc.h"
#include "store/store.h"

#define NS_PER_S 1000000000LL

/* ---- ratelimit under threads ---- */

#define THREADS 8
#define TRIES 2000

struct taker {
    struct ratelimit *rl;
    char key[32];
    int allowed;
};

static void *take_many(void *p)
{
    struct taker *t = p;
    for (int i = 0; i < TRIES; i++)
        t->allowed += ratelimit_take(t->rl, t->key, 5000, NULL);
    return NULL;
}

/* At a frozen clock a bucket gives exactly burst tokens, however many threads ask at once: no
 * token is lost or given twice (the race a lock-free read-modify-write would have). */
Test(ratelimit_threads, one_key_gives_exactly_the_burst)
{
    struct ratelimit *rl = ratelimit_new(1.0, 500, 4096);
    cr_assert_not_null(rl);
    struct taker t[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        t[i] = (struct taker){rl, "u:42", 0};
        cr_assert_eq(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += t[i].allowed;
    }
    cr_assert_eq(total, 500);
    ratelimit_free(rl);
}

Test(ratelimit_threads, keys_are_independent_across_threads)
{
    struct ratelimit *rl = ratelimit_new(1.0, 300, 4096);
    struct taker t[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        t[i] = (struct taker){rl, "", 0};
        snprintf(t[i].key, sizeof t[i].key, "10.0.0.%d", i);
        cr_assert_eq(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(t[i].allowed, 300, "key %s", t[i].key);
    }
    ratelimit_free(rl);
}

/* ---- authn ---- */

static const unsigned char KEY[] = "0123456789abcdef0123456789abcdef";
static const struct jwt_config JC = {KEY, 32, "atp", "atp-api", 0};

struct fixture {
    struct store *s;
    struct api_authn *an;
    int64_t uid;
    int64_t clock_ns; /* the store's clock: when sessions are created */
};

static int64_t fixed_clock(void *ctx) { return *(int64_t *)ctx; }

static void setup(struct fixture *f, int64_t idle_s, int64_t touch_s, double user_burst)
{
    struct atp_err err;
    memset(f, 0, sizeof *f);
    cr_assert_eq(store_open("sqlite::memory:", &f->s, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(store_migrate(f->s, NULL, &err), ATP_OK, "%s", err.msg);
    f->clock_ns = api_authn_now_ns();
    store_set_clock(f->s, fixed_clock, &f->clock_ns);
    struct store_user u = {.role = STORE_ROLE_TRADER, .status = STORE_USER_ACTIVE};
    snprintf(u.email, sizeof u.email, "a@example.com");
    snprintf(u.name, sizeof u.name, "A");
    snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$x");
    cr_assert_eq(store_user_create(f->s, &u, &f->uid, &err), ATP_OK, "%s", err.msg);
    struct api_authn_config cfg;
    api_authn_config_defaults(&cfg);
    cfg.session_idle_s = idle_s;
    cfg.session_touch_s = touch_s;
    cfg.user_rate_burst = user_burst;
    cfg.user_rate_per_s = 0.001;
    f->an = api_authn_new(&cfg);
    cr_assert_not_null(f->an);
}

static void teardown(struct fixture *f)
{
    api_authn_free(f->an);
    store_close(f->s);
}

/* A session sid of user uid opened age_s seconds ago, and an access token for it. */
static void open_session(struct fixture *f, const char *sid, int64_t uid, int64_t age_s, char *tok, size_t size)
{
    struct atp_err err;
    int64_t now = api_authn_now_ns();
    f->clock_ns = now - age_s * NS_PER_S;
    struct store_session ss = {.user_id = uid};
    snprintf(ss.id, sizeof ss.id, "%s", sid);
    cr_assert_eq(store_session_create(f->s, &ss, &err), ATP_OK, "%s", err.msg);
    char sub[32];
    snprintf(sub, sizeof sub, "%lld", (long long)uid);
    cr_assert_eq(jwt_issue(&JC, sub, "admin", sid, now / NS_PER_S, tok, size, NULL), ATP_OK);
    f->clock_ns = now;
}

static const struct api_route *route_named(const char *name)
{
    for (size_t i = 0; i < api_n_routes; i++)
        if (strcmp(api_routes[i].name, name) == 0)
            return &api_routes[i];
    cr_assert_fail("no route %s", name);
    return NULL;
}

/* What the server would answer for who on route: 0 (carry on) or the status. */
static int answer(const struct api_identity *who, const char *route, char *code, size_t size)
{
    struct api_response res = {0};
    int refused = api_authn_refusal(who, route_named(route), &res);
    int status = refused ? res.status : 0;
    code[0] = 0;
    if (res.json) {
        const char *c = json_string_value(json_object_get(json_object_get(res.json, "error"), "code"));
        snprintf(code, size, "%s", c ? c : "");
        json_decref(res.json);
    }
    return status;
}

Test(authn, a_live_session_gives_the_current_role_from_the_store)
{
    struct fixture f;
    setup(&f, 1800, 60, 100);
    char tok[JWT_MAX_LEN + 1], code[64];
    open_session(&f, "sess-1", f.uid, 0, tok, sizeof tok);
    struct api_identity who;
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_PASS);
    cr_assert_eq(who.user_id, f.uid);
    cr_assert_eq(who.role, API_ROLE_TRADER, "the token says admin; the store says trader");
    cr_assert_str_eq(who.session_id, "sess-1");
    cr_assert_eq(answer(&who, "me", code, sizeof code), 0);

    struct store_user u = {.role = STORE_ROLE_INVESTOR};
    struct atp_err err;
    cr_assert_eq(store_user_update(f.s, f.uid, STORE_USER_F_ROLE, &u, &err), ATP_OK);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(who.role, API_ROLE_INVESTOR, "a role change acts on the next request");

    /* No token, a forged one, no store: anonymous and carry on. */
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, "", "t", &who), 0);
    cr_assert_eq(who.user_id, 0);
    cr_assert_eq(who.outcome, API_AUTHN_PASS);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, "a.b.c", "t", &who), 0);
    cr_assert_eq(who.user_id, 0);
    cr_assert_eq(api_authn_resolve(f.an, &JC, NULL, tok, "t", &who), 0);
    cr_assert_eq(who.user_id, 0);
    cr_assert_eq(api_authn_resolve(NULL, &JC, f.s, tok, "t", &who), -1, "no authn: the server fails");
    teardown(&f);
}

Test(authn, ended_sessions)
{
    struct fixture f;
    setup(&f, 10, 60, 100);
    char tok[JWT_MAX_LEN + 1], code[64];
    struct api_identity who;
    struct atp_err err;

    /* Revoked (logout): ended; 401 session_expired on a route that needs a login, carry on as
     * anonymous on one that does not. */
    open_session(&f, "s-logout", f.uid, 0, tok, sizeof tok);
    cr_assert_eq(store_session_revoke(f.s, f.uid, "s-logout", "logout", &err), ATP_OK);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_ENDED);
    cr_assert_str_eq(who.ended, "logout");
    cr_assert_eq(who.user_id, 0);
    cr_assert_eq(who.role, API_ROLE_ANONYMOUS);
    cr_assert_eq(answer(&who, "me", code, sizeof code), 401);
    cr_assert_str_eq(code, "session_expired");
    cr_assert_eq(answer(&who, "auth.login", code, sizeof code), 0);
    cr_assert_eq(answer(&who, "health", code, sizeof code), 0);

    /* Idle longer than the timeout. */
    open_session(&f, "s-idle", f.uid, 11, tok, sizeof tok);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_ENDED);
    cr_assert_str_eq(who.ended, "idle");
    cr_assert_eq(answer(&who, "accounts.list", code, sizeof code), 401);
    cr_assert_str_eq(code, "session_expired");
    open_session(&f, "s-fresh", f.uid, 9, tok, sizeof tok);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_PASS, "9 s idle of 10 is still alive");

    /* A session of another user named in a token: refused. */
    struct store_user u2 = {.role = STORE_ROLE_ADMIN, .status = STORE_USER_ACTIVE};
    snprintf(u2.email, sizeof u2.email, "b@example.com");
    snprintf(u2.name, sizeof u2.name, "B");
    snprintf(u2.password_hash, sizeof u2.password_hash, "$argon2id$x");
    int64_t uid2;
    cr_assert_eq(store_user_create(f.s, &u2, &uid2, &err), ATP_OK);
    char sub[32], forged[JWT_MAX_LEN + 1];
    snprintf(sub, sizeof sub, "%lld", (long long)uid2);
    cr_assert_eq(jwt_issue(&JC, sub, "admin", "s-fresh", api_authn_now_ns() / NS_PER_S, forged, sizeof forged,
                           NULL), ATP_OK);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, forged, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_ENDED);
    cr_assert_eq(who.user_id, 0);

    /* No sid (a token from before sessions), an unknown sid. */
    char nosid[JWT_MAX_LEN + 1];
    cr_assert_eq(jwt_issue(&JC, "1", "trader", NULL, api_authn_now_ns() / NS_PER_S, nosid, sizeof nosid, NULL),
                 ATP_OK);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, nosid, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_ENDED);
    cr_assert_eq(jwt_issue(&JC, "1", "trader", "nope", api_authn_now_ns() / NS_PER_S, nosid, sizeof nosid, NULL),
                 ATP_OK);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, nosid, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_ENDED);

    /* A disabled user: ended with its own code, and the session revoked for good. */
    open_session(&f, "s-dis", f.uid, 0, tok, sizeof tok);
    struct store_user d = {.status = STORE_USER_DISABLED};
    cr_assert_eq(store_user_update(f.s, f.uid, STORE_USER_F_STATUS, &d, &err), ATP_OK);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_ENDED);
    cr_assert_eq(answer(&who, "me", code, sizeof code), 401);
    cr_assert_str_eq(code, "account_disabled");
    struct store_session ss;
    cr_assert_eq(store_session_get(f.s, "s-dis", &ss, NULL, NULL, &err), ATP_OK);
    cr_assert_str_eq(ss.revoke_reason, "disabled");
    d.status = STORE_USER_ACTIVE;
    cr_assert_eq(store_user_update(f.s, f.uid, STORE_USER_F_STATUS, &d, &err), ATP_OK);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_ENDED, "enabling the user again does not revive the session");
    teardown(&f);
}

/* last_seen is written only when older than the touch interval: not per request. */
Test(authn, touch_interval)
{
    struct fixture f;
    setup(&f, 3600, 60, 100);
    char tok[JWT_MAX_LEN + 1];
    struct api_identity who;
    struct store_session ss;
    struct atp_err err;
    open_session(&f, "s-recent", f.uid, 30, tok, sizeof tok);
    int64_t before = api_authn_now_ns();
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(store_session_get(f.s, "s-recent", &ss, NULL, NULL, &err), ATP_OK);
    cr_assert_lt(ss.last_seen_ns, before - 29 * NS_PER_S, "seen 30 s ago, interval 60 s: not written");
    open_session(&f, "s-old", f.uid, 120, tok, sizeof tok);
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(store_session_get(f.s, "s-old", &ss, NULL, NULL, &err), ATP_OK);
    cr_assert_geq(ss.last_seen_ns, before, "seen 120 s ago: written now");
    teardown(&f);

    /* The interval is capped at a quarter of the timeout, so a short timeout still works. */
    setup(&f, 8, 60, 100);
    open_session(&f, "s-short", f.uid, 3, tok, sizeof tok);
    before = api_authn_now_ns();
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(store_session_get(f.s, "s-short", &ss, NULL, NULL, &err), ATP_OK);
    cr_assert_geq(ss.last_seen_ns, before, "3 s > 8 s / 4: written");
    teardown(&f);
}

Test(authn, per_user_rate_limit)
{
    struct fixture f;
    setup(&f, 1800, 60, 3);
    char tok[JWT_MAX_LEN + 1], code[64];
    struct api_identity who;
    open_session(&f, "s-rl", f.uid, 0, tok, sizeof tok);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
        cr_assert_eq(who.outcome, API_AUTHN_PASS, "request %d", i);
    }
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, tok, "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_RATE_LIMITED);
    cr_assert_gt(who.retry_after_s, 0);
    struct api_response res = {0};
    cr_assert_eq(api_authn_refusal(&who, route_named("health"), &res), 1, "429 on any route");
    cr_assert_eq(res.status, 429);
    cr_assert_eq(res.retry_after_s, who.retry_after_s);
    json_decref(res.json);
    cr_assert_eq(answer(&who, "me", code, sizeof code), 429);
    cr_assert_str_eq(code, "rate_limited");
    /* Anonymous callers are not counted against the user. */
    cr_assert_eq(api_authn_resolve(f.an, &JC, f.s, "", "t", &who), 0);
    cr_assert_eq(who.outcome, API_AUTHN_PASS);
    teardown(&f);
}

Test(authn, credential_attempts_per_ip_and_email)
{
    struct api_authn_config cfg;
    api_authn_config_defaults(&cfg);
    cfg.auth_ip_burst = 3;
    cfg.auth_email_burst = 2;
    struct api_authn *an = api_authn_new(&cfg);
    int retry = 0;
    cr_assert(api_authn_attempt(an, "10.0.0.1", "A@x.com", &retry));
    cr_assert(api_authn_attempt(an, "10.0.0.2", "a@X.com", &retry), "another IP, the same email (any case)");
    cr_assert(!api_authn_attempt(an, "10.0.0.3", "a@x.com", &retry), "the email's bucket is empty");
    cr_assert_geq(retry, 80);
    cr_assert_leq(retry, 90, "40/hour: 90 s per attempt");
    cr_assert(api_authn_attempt(an, "10.0.0.1", "b@x.com", &retry));
    cr_assert(api_authn_attempt(an, "10.0.0.1", NULL, &retry));
    cr_assert(!api_authn_attempt(an, "10.0.0.1", "c@x.com", &retry), "the IP's bucket is empty");
    cr_assert_geq(retry, 5);
    cr_assert_leq(retry, 6, "10/min: a token every 6 s");
    api_authn_free(an);
}

Test(authn, settings_from_the_environment)
{
    struct api_authn_config cfg;
    struct atp_err err;
    api_authn_config_defaults(&cfg);
    cr_assert_eq(cfg.session_idle_s, 1800);
    cr_assert_eq(cfg.user_rate_per_s, 20);
    setenv("ATP_SESSION_IDLE_S", "2", 1);
    setenv("ATP_USER_RATE_BURST", "7.5", 1);
    cr_assert_eq(api_authn_config_from_env(&cfg, &err), ATP_OK);
    cr_assert_eq(cfg.session_idle_s, 2);
    cr_assert_eq(cfg.user_rate_burst, 7.5);
    static const char *const bad[][2] = {{"ATP_SESSION_IDLE_S", "0"},   {"ATP_SESSION_IDLE_S", "1.5"},
                                          {"ATP_SESSION_IDLE_S", "abc"}, {"ATP_USER_RATE_PER_S", "0"},
                                          {"ATP_AUTH_IP_BURST", "0.5"},  {"ATP_SESSION_TOUCH_S", ""}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct api_authn_config c = cfg;
        setenv(bad[i][0], bad[i][1], 1);
        cr_assert_eq(api_authn_config_from_env(&c, &err), ATP_EINVAL, "%s=%s", bad[i][0], bad[i][1]);
        cr_assert_str_eq(err.field, bad[i][0]);
        cr_assert_eq(c.session_idle_s, cfg.session_idle_s, "unchanged on error");
        unsetenv(bad[i][0]);
    }
    unsetenv("ATP_SESSION_IDLE_S");
    unsetenv("ATP_USER_RATE_BURST");
    cfg.session_idle_s = 0;
    cr_assert_null(api_authn_new(&cfg));
}
