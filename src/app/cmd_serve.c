/* atp serve: the platform server. Configuration, lowest to highest precedence: defaults, the
 * --config JSON file, ATP_* environment variables, command-line options. Signals (SIGTERM,
 * SIGINT) start a graceful shutdown; the exit status is 0 when it completes. */
#include "app/cli.h"

#include "api/authn.h"
#include "api/http.h"
#include "api/backtests.h"
#include "api/market.h"
#include "api/strategy_rt.h"
#include "api/trading.h"
#include "app/dbopen.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/token.h"
#include "auth/vault.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

struct serve {
    struct api_server *srv;
    uv_signal_t sigterm, sigint;
};

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    atp_log(LOG_INFO, "serve", "signal %d: shutting down", signum);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    api_server_shutdown(s->srv);
}

/* One numeric setting from text; source names where it came from (file, env var, option). */
static int set_num(const char *source, const char *text, double min, double max, int integer, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (!*text || *end || !(v >= min && v <= max) || (integer && v != (double)(long long)v))
        return cli_fail("serve", "%s must be %s in %g..%g, not '%s'", source, integer ? "an integer" : "a number",
                        min, max, text);
    *out = v;
    return CLI_EXIT_OK;
}

struct setting {
    const char *key;   /* config file key */
    const char *env;   /* environment variable */
    double min, max;
    int integer;       /* 1: a fraction is an error */
};
static const struct setting settings[] = {
    {"body_max", "ATP_BODY_MAX", 1, 1 << 30, 1},
    {"rate_per_s", "ATP_RATE_PER_S", 0.001, 1e9, 0},
    {"rate_burst", "ATP_RATE_BURST", 1, 1e9, 0},
    {"drain_timeout_ms", "ATP_DRAIN_TIMEOUT_MS", 0, 600000, 1},
    {"workers", "ATP_WORKERS", 0, API_WORKERS_MAX, 1},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

static void apply(struct api_config *cfg, size_t i, double v)
{
    switch (i) {
    case 0: cfg->body_max = (size_t)v; break;
    case 1: cfg->rate_per_s = v; break;
    case 2: cfg->rate_burst = v; break;
    case 3: cfg->drain_timeout_ms = (int)v; break;
    case 4: cfg->workers = (int)v; break;
    }
}

/* ---- market data (--feed, --speed, --seed; keys feed, feed_speed, feed_seed; ATP_FEED,
 * ATP_FEED_SPEED, ATP_FEED_SEED) ---------------------------------------------------------- */

/* "max" (as fast as possible: replays) or a number in the player's range. */
static int market_speed(const char *source, const char *text, struct api_market_config *mc)
{
    if (strcmp(text, "max") == 0) {
        mc->speed = 0;
        return CLI_EXIT_OK;
    }
    return set_num(source, text, 0.5, 100, 0, &mc->speed);
}

static int market_seed(const char *source, const char *text, struct api_market_config *mc)
{
    double v = 0;
    if (set_num(source, text, 0, 9007199254740992.0, 1, &v) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    mc->seed = (uint64_t)v;
    return CLI_EXIT_OK;
}

static int market_feed(const char *source, const char *text, struct api_market_config *mc)
{
    struct atp_err err;
    if (api_market_config_feed(mc, text, source, &err) != ATP_OK)
        return cli_fail("serve", "%s %s", source, err.msg);
    return CLI_EXIT_OK;
}

/* A market key of the config file: 1 when key is one (*rc set), 0 when not. */
static int market_config_key(const char *source, const char *key, json_t *v, struct api_market_config *mc, int *rc)
{
    char num[64];
    if (strcmp(key, "feed") == 0) {
        *rc = json_is_string(v) ? market_feed(source, json_string_value(v), mc)
                                : cli_fail("serve", "%s must be a string", source);
        return 1;
    }
    if (strcmp(key, "feed_speed") != 0 && strcmp(key, "feed_seed") != 0)
        return 0;
    if (json_is_string(v))
        snprintf(num, sizeof num, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
    else
        num[0] = 0;
    *rc = key[5] == 's' && key[6] == 'p' ? market_speed(source, num, mc) : market_seed(source, num, mc);
    return 1;
}

static int load_config_file(const char *path, struct api_config *cfg, struct api_market_config *mc)
{
    json_error_t jerr;
    struct atp_err err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return cli_fail("serve", "%s:%d: %s", path, jerr.line, jerr.text);
    int rc = CLI_EXIT_OK;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        char source[300];
        snprintf(source, sizeof source, "%s: field '%s'", path, key);
        if (strcmp(key, "listen") == 0) {
            if (!json_is_string(v) || api_config_listen(cfg, json_string_value(v), &err) != ATP_OK) {
                rc = cli_fail("serve", "%s must be a string HOST:PORT", source);
                break;
            }
            continue;
        }
        if (strcmp(key, "cors_origins") == 0) {
            /* A comma list in one string, or an array of origins. */
            char list[sizeof cfg->cors_origins] = "";
            size_t n = 0;
            size_t idx = 0;
            json_t *o;
            if (json_is_string(v)) {
                snprintf(list, sizeof list, "%s", json_string_value(v));
            } else if (json_is_array(v)) {
                json_array_foreach(v, idx, o) {
                    if (!json_is_string(o))
                        break;
                    n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0, "%s%s", n ? "," : "",
                                          json_string_value(o));
                    if (n >= sizeof list)
                        break;
                }
            }
            if ((!json_is_string(v) && !json_is_array(v)) || (json_is_array(v) && idx < json_array_size(v)) ||
                n >= sizeof list) {
                rc = cli_fail("serve", "%s must be a string (comma-separated origins) or an array of origin "
                                       "strings, at most %zu bytes", source, sizeof list - 1);
                break;
            }
            if (api_config_cors(cfg, list, key, &err) != ATP_OK) {
                rc = cli_fail("serve", "%s: %s", source, err.msg);
                break;
            }
            continue;
        }
        if (market_config_key(source, key, v, mc, &rc)) {
            if (rc != CLI_EXIT_OK)
                break;
            continue;
        }
        size_t i = 0;
        while (i < N_SETTINGS && strcmp(settings[i].key, key) != 0)
            i++;
        if (i == N_SETTINGS) {
            rc = cli_fail("serve", "%s: unknown setting", source);
            break;
        }
        double d = json_number_value(v);
        if (!json_is_number(v) || !(d >= settings[i].min && d <= settings[i].max) ||
            (settings[i].integer && d != (double)(long long)d)) {
            rc = cli_fail("serve", "%s must be %s in %g..%g", source, settings[i].integer ? "an integer" : "a number",
                          settings[i].min, settings[i].max);
            break;
        }
        apply(cfg, i, d);
    }
    json_decref(root);
    return rc;
}

/* The JWT signing key from a file (ATP_JWT_SECRET_FILE): owner-only like the vault's key file,
 * its content (trailing whitespace trimmed) JWT_SECRET_MIN..cap bytes. Prints the error. */
static int read_secret_file(const char *path, unsigned char *out, size_t cap, size_t *len)
{
    char buf[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_fail("serve", "ATP_JWT_SECRET_FILE %s: %s", path, strerror(errno));
    struct stat st;
    ssize_t n = -1;
    int rc = CLI_EXIT_FAIL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        cli_fail("serve", "ATP_JWT_SECRET_FILE %s: not a regular file", path);
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        cli_fail("serve", "ATP_JWT_SECRET_FILE %s has mode %04o; it must not be accessible by group or others "
                          "(chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
    else if ((n = read(fd, buf, sizeof buf)) < 0)
        cli_fail("serve", "ATP_JWT_SECRET_FILE %s: %s", path, strerror(errno));
    else
        rc = CLI_EXIT_OK;
    close(fd);
    while (rc == CLI_EXIT_OK && n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (rc == CLI_EXIT_OK && (n < JWT_SECRET_MIN || (size_t)n > cap))
        rc = cli_fail("serve", "ATP_JWT_SECRET_FILE %s must hold %d..%zu bytes", path, JWT_SECRET_MIN, cap);
    if (rc == CLI_EXIT_OK) {
        memcpy(out, buf, (size_t)n);
        *len = (size_t)n;
    }
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* First start: when no admin exists, creates one from ATP_ADMIN_EMAIL / ATP_ADMIN_PASSWORD (the
 * password then generated when unset; it is shown once, in *shown). */
static int ensure_admin(struct store *st, char *shown, size_t shown_size)
{
    struct store_user page[64];
    struct store_page p = {0, 64};
    struct store_page_out po;
    struct atp_err err;
    shown[0] = 0;
    do {
        if (store_user_list(st, &p, page, &po, &err) != ATP_OK)
            return cli_fail_err("serve", &err);
        for (uint32_t i = 0; i < po.count; i++)
            if (page[i].role == STORE_ROLE_ADMIN) {
                /* Later starts: say who, and the way back in when its password is lost (there is
                 * no password reset command: a new admin, then the old one is managed from it). */
                snprintf(shown, shown_size,
                         "atp serve: admin %s exists (its password was printed on the first start); "
                         "lost it? `atp user add --db URL --email NEW --role admin` prints a new admin's password",
                         page[i].email);
                return CLI_EXIT_OK;
            }
        p.cursor = po.next_cursor;
    } while (po.next_cursor);
    const char *email = getenv("ATP_ADMIN_EMAIL");
    const char *password = getenv("ATP_ADMIN_PASSWORD");
    char generated[TOKEN_TEXT_SIZE] = "";
    if (!email || !*email)
        email = "admin@localhost";
    if (!password || !*password) {
        if (token_generate(generated) != ATP_OK)
            return cli_fail("serve", "cannot generate the admin password");
        password = generated;
    } else if (strlen(password) < 10) {
        return cli_fail("serve", "ATP_ADMIN_PASSWORD needs at least 10 characters");
    }
    struct store_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.email, sizeof u.email, "%s", email);
    snprintf(u.name, sizeof u.name, "Administrator");
    u.role = STORE_ROLE_ADMIN;
    u.status = STORE_USER_ACTIVE;
    if (password_hash(password, strlen(password), u.password_hash) != ATP_OK)
        return cli_fail("serve", "cannot hash the admin password");
    if (store_user_create(st, &u, &u.id, &err) != ATP_OK)
        return cli_fail("serve", "cannot create the admin %s: %s", email, err.msg);
    struct store_audit a = {0};
    snprintf(a.action, sizeof a.action, "user.bootstrap_admin");
    snprintf(a.resource, sizeof a.resource, "user:%lld", (long long)u.id);
    snprintf(a.ip, sizeof a.ip, "serve");
    snprintf(a.result, sizeof a.result, "ok");
    snprintf(a.details, sizeof a.details, "{}");
    a.ts_ns = (int64_t)time(NULL) * 1000000000LL;
    int64_t aid;
    if (store_audit_append(st, &a, &aid, &err) != ATP_OK)
        atp_log(LOG_ERROR, "serve", "audit of the admin's creation failed: %s", err.msg);
    if (generated[0])
        snprintf(shown, shown_size, "atp serve: created admin %s with password %s (shown once)", email,
                 generated);
    else
        snprintf(shown, shown_size, "atp serve: created admin %s (password from ATP_ADMIN_PASSWORD)", email);
    sodium_memzero(generated, sizeof generated);
    return CLI_EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    struct api_config cfg;
    struct atp_err err;
    const char *config = NULL, *listen = NULL, *db = NULL;
    const char *opt_feed = NULL, *opt_speed = NULL, *opt_seed = NULL;
    struct api_market_config mcfg;
    api_config_defaults(&cfg);
    api_market_config_defaults(&mcfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen = argv[++i];
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--feed") == 0 && i + 1 < argc)
            opt_feed = argv[++i];
        else if (strcmp(argv[i], "--speed") == 0 && i + 1 < argc)
            opt_speed = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            opt_seed = argv[++i];
        else
            return cli_fail("serve", "unknown or incomplete option '%s' (atp serve --help)", argv[i]);
    }
    if (!config)
        config = getenv("ATP_CONFIG");
    if (config && load_config_file(config, &cfg, &mcfg) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *text = getenv(settings[i].env);
        double v = 0;
        if (!text)
            continue;
        if (set_num(settings[i].env, text, settings[i].min, settings[i].max, settings[i].integer, &v) !=
            CLI_EXIT_OK)
            return CLI_EXIT_USAGE;
        apply(&cfg, i, v);
    }
    /* The backtest service's pool (api/backtests.h): environment only. */
    struct api_backtests_config btcfg;
    api_backtests_config_defaults(&btcfg);
    {
        static const struct {
            const char *env;
            double min, max;
        } bt_env[] = {{"ATP_BACKTEST_WORKERS", 1, API_BT_WORKERS_MAX},
                      {"ATP_BACKTEST_QUEUE", 1, API_BT_QUEUE_MAX},
                      {"ATP_BACKTEST_NICE", 0, 19}};
        int *bt_dst[] = {&btcfg.workers, &btcfg.queue_max, &btcfg.nice};
        for (size_t i = 0; i < sizeof bt_env / sizeof bt_env[0]; i++) {
            const char *text = getenv(bt_env[i].env);
            double v = 0;
            if (!text)
                continue;
            if (set_num(bt_env[i].env, text, bt_env[i].min, bt_env[i].max, 1, &v) != CLI_EXIT_OK)
                return CLI_EXIT_USAGE;
            *bt_dst[i] = (int)v;
        }
    }
    /* Market data: environment over the file, options over both. */
    {
        const char *e_feed = getenv("ATP_FEED"), *e_speed = getenv("ATP_FEED_SPEED"), *e_seed = getenv("ATP_FEED_SEED");
        if ((e_feed && market_feed("ATP_FEED", e_feed, &mcfg)) || (e_speed && market_speed("ATP_FEED_SPEED", e_speed, &mcfg)) ||
            (e_seed && market_seed("ATP_FEED_SEED", e_seed, &mcfg)) || (opt_feed && market_feed("--feed", opt_feed, &mcfg)) ||
            (opt_speed && market_speed("--speed", opt_speed, &mcfg)) || (opt_seed && market_seed("--seed", opt_seed, &mcfg)))
            return CLI_EXIT_USAGE;
    }
    /* Sessions and the per-user / credential-attempt limits (ATP_SESSION_*, ATP_USER_RATE_*,
     * ATP_AUTH_*): a bad value stops the start, naming the variable. */
    if (api_authn_global_init(&err) != ATP_OK)
        return cli_fail("serve", "%s %s", err.field, err.msg);
    const char *env_cors = getenv("ATP_CORS_ORIGINS");
    if (env_cors && api_config_cors(&cfg, env_cors, "ATP_CORS_ORIGINS", &err) != ATP_OK)
        return cli_fail("serve", "ATP_CORS_ORIGINS: %s", err.msg);
    const char *env_listen = getenv("ATP_LISTEN");
    if (env_listen && api_config_listen(&cfg, env_listen, &err) != ATP_OK)
        return cli_fail("serve", "ATP_LISTEN %s", err.msg);
    if (listen && api_config_listen(&cfg, listen, &err) != ATP_OK)
        return cli_fail("serve", "--listen %s", err.msg);

    unsigned char secret[64];
    size_t secret_len = 32;
    const char *env_secret = getenv("ATP_JWT_SECRET");
    const char *secret_file = getenv("ATP_JWT_SECRET_FILE");
    if ((!env_secret || !*env_secret) && secret_file && *secret_file) {
        if (read_secret_file(secret_file, secret, sizeof secret, &secret_len) != CLI_EXIT_OK)
            return CLI_EXIT_USAGE;
    } else if (env_secret && *env_secret) {
        secret_len = strlen(env_secret);
        if (secret_len < JWT_SECRET_MIN || secret_len > sizeof secret)
            return cli_fail("serve", "ATP_JWT_SECRET must be %d..%zu bytes", JWT_SECRET_MIN, sizeof secret);
        memcpy(secret, env_secret, secret_len);
    } else {
        if (sodium_init() < 0)
            return cli_fail("serve", "libsodium failed to initialise");
        randombytes_buf(secret, secret_len); /* tokens die with the process */
    }

    /* The vault's master keys: optional (routes that need them answer 503 without), but a key
     * that is configured and unreadable is an error, never silently ignored. */
    struct vault_keyring *kr = NULL;
    if (vault_keyring_new(&kr) != ATP_OK)
        return cli_fail("serve", "out of memory");
    int vrc = vault_keyring_load(kr, &err);
    if (vrc == ATP_ENOTFOUND) {
        vault_keyring_free(kr);
        kr = NULL;
    } else if (vrc != ATP_OK) {
        char buf[600];
        vault_keyring_free(kr);
        return cli_fail("serve", "master key: %s", atp_err_format(&err, buf, sizeof buf));
    }
    unsetenv("ATP_MASTER_KEY");

    struct store *st = NULL;
    int orc = cli_store_open("serve", db, &st);
    if (orc) {
        vault_keyring_free(kr);
        return orc;
    }
    char admin_line[400];
    if ((orc = ensure_admin(st, admin_line, sizeof admin_line)) != CLI_EXIT_OK) {
        store_close(st);
        vault_keyring_free(kr);
        return orc;
    }

    /* A client that goes away mid-response must not kill the server. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    struct serve s = {0};
    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "atp serve: cannot create the event loop\n");
        store_close(st);
        vault_keyring_free(kr);
        return CLI_EXIT_FAIL;
    }
    if (api_server_new(&cfg, &loop, &s.srv, &err) != ATP_OK) {
        char buf[600];
        fprintf(stderr, "atp serve: %s\n", atp_err_format(&err, buf, sizeof buf));
        uv_loop_close(&loop);
        store_close(st);
        vault_keyring_free(kr);
        return CLI_EXIT_FAIL;
    }
    api_server_set_store(s.srv, st);
    api_server_set_vault(s.srv, kr);
    api_server_set_jwt_secret(s.srv, secret, secret_len);
    sodium_memzero(secret, sizeof secret);
    /* The shared market-data engine and its feed thread (api/market.h), published to the
     * handlers before any worker runs one. */
    struct api_market *market = NULL;
    struct api_trading *trading = NULL;
    int mrc = api_market_new(&mcfg, &market, &err);
    int wrc = mrc == ATP_OK ? api_server_start_workers(s.srv, cli_store_url(db), &err) : ATP_OK;
    /* Paper trading rebuilds its book from the store before the feed moves any price; after the
     * workers, whose start refuses a store URL that other connections cannot share. */
    if (mrc == ATP_OK && wrc == ATP_OK && market)
        mrc = api_trading_new(market, cli_store_url(db), &trading, &err);
    if (mrc == ATP_OK && wrc == ATP_OK && market)
        mrc = api_market_start(market, &err);
    if (mrc == ATP_OK && wrc == ATP_OK) {
        api_market_set_current(market);
        api_trading_set_current(trading);
    }
    /* The strategies' runtime (api/strategy_rt.h): subscribes once to the kernel's strategy, signal
     * and risk-breach events and, once the market is live, restarts the stored running ones (after
     * paper trading has rebuilt the accounts' books). It needs its own connection to the same
     * database, so not with a private in-memory one. */
    struct strategy_rt *strategies = NULL;
    const char *url = cli_store_url(db);
    if (mrc == ATP_OK && wrc == ATP_OK && market && strcmp(url, "sqlite::memory:") != 0) {
        mrc = strategy_rt_new(url, market, &strategies, &err);
        if (mrc == ATP_OK)
            strategy_rt_set_current(strategies);
    }
    /* The backtest service: its own workers and store connections, never the HTTP workers nor
     * the feed thread. A memory store cannot be shared between connections: no backtests then
     * (the routes answer 503), the rest of the server works. */
    struct api_backtests *backtests = NULL;
    int brc = mrc == ATP_OK && wrc == ATP_OK ? api_backtests_new(&btcfg, url, &backtests, &err) : ATP_OK;
    if (brc == ATP_EINVAL && !strcmp(err.field, "db")) {
        atp_log(LOG_WARN, "serve", "no backtests: %s", err.msg);
        brc = ATP_OK;
    }
    if (brc == ATP_OK)
        api_backtests_set_current(backtests);
    if (mrc != ATP_OK || wrc != ATP_OK || brc != ATP_OK) {
        char buf[600];
        fprintf(stderr, "atp serve: %s%s\n", mrc != ATP_OK ? "market data: " : brc != ATP_OK ? "backtests: " : "",
                atp_err_format(&err, buf, sizeof buf));
        strategy_rt_set_current(NULL);
        strategy_rt_stop(strategies);
        api_trading_set_current(NULL);
        api_backtests_set_current(NULL);
        api_backtests_free(backtests);
        api_market_set_current(NULL);
        api_market_free(market);
        strategy_rt_free(strategies);
        api_trading_free(trading);
        api_server_shutdown(s.srv); /* nothing in flight: closes the server's handles at once */
        uv_run(&loop, UV_RUN_DEFAULT);
        api_server_free(s.srv); /* joins any worker started */
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
        store_close(st);
        vault_keyring_free(kr);
        return CLI_EXIT_FAIL;
    }
    uv_signal_init(&loop, &s.sigterm);
    uv_signal_init(&loop, &s.sigint);
    s.sigterm.data = s.sigint.data = &s;
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sigint, on_signal, SIGINT);

    printf("atp serve: listening on http://%s:%d/ (health: /health, API: /api/v1/openapi.json)\n",
           cfg.host, api_server_port(s.srv));
    if (admin_line[0])
        printf("%s\n", admin_line);
    sodium_memzero(admin_line, sizeof admin_line);
    fflush(stdout);
    atp_log(LOG_INFO, "serve", "listening on %s:%d", cfg.host, api_server_port(s.srv));

    uv_run(&loop, UV_RUN_DEFAULT);
    api_server_free(s.srv);
    /* The strategies' thread ends before the market (it calls into it); the memory of both
     * services after the market (the kernel's bus points at them until the market is freed, which
     * joins the feed thread). Stored states are left as they are, so the next start resumes the
     * running strategies. */
    strategy_rt_set_current(NULL);
    strategy_rt_stop(strategies);
    api_trading_set_current(NULL);
    /* After the HTTP workers (no submit can race the stop): running backtests stop within
     * milliseconds and are stored as interrupted. */
    api_backtests_set_current(NULL);
    api_backtests_free(backtests);
    api_market_set_current(NULL);
    api_market_free(market);
    strategy_rt_free(strategies);
    api_trading_free(trading);
    store_close(st);
    vault_keyring_free(kr);
    /* Handles lws closed late get their close callbacks here. */
    uv_run(&loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(&loop);
    if (rc != 0)
        atp_log(LOG_WARN, "serve", "event loop closed with handles open: %s", uv_strerror(rc));
    atp_log(LOG_INFO, "serve", "stopped");
    return CLI_EXIT_OK;
}
