#include "app/cli.h"

#include "core/log.h"
#include "core/paths.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct cli_command commands[] = {
    {"demo", "live market demo: synthetic NSE ticks -> candles -> indicators (Ctrl-C to stop)",
     "usage: atp demo [--symbols S1,S2,...] [--speed X] [--seed N] [--from YYYY-MM-DD] [--tf 1m]\n"
     "  Streams the market simulator through the candle engine and redraws a table of last price,\n"
     "  change, forming candle and indicators every second until Ctrl-C.\n"
     "  --symbols   instruments to simulate (default: 10 NIFTY 50 stocks and NIFTY)\n"
     "  --speed     market seconds per wall second, 0.5..100 (default 60)\n"
     "  --seed      random seed (default 42)\n"
     "  --from      first simulated trading day (default: the next trading day)\n"
     "  --tf        timeframe of the table's candle and indicators (default 1m)\n",
     cmd_demo},
    {"candles", "build candles from a tick CSV",
     "usage: atp candles --data FILE --tf TF [--symbol S] [--format csv|json]\n"
     "  Prints the complete bars of a tick file (columns timestamp,symbol,ltp[,qty,volume,bid,ask,oi])\n"
     "  as CSV `time,symbol,open,high,low,close,volume` (time ISO 8601 in IST) or a JSON array.\n"
     "  TF: 1m 3m 5m 15m 30m 1h 1d. At the end of the file every forming bar is completed.\n"
     "  --symbol    only this symbol's bars\n",
     cmd_candles},
    {"indicator", "compute an indicator over a bar CSV",
     "usage: atp indicator --data FILE --name NAME [--param k=v ...] [--tf TF] [--symbol S]\n"
     "                     [--format csv|json]\n"
     "  Reads a bar file (columns date|datetime|timestamp,open,high,low,close,volume[,symbol]) and\n"
     "  prints one row per bar: time, then the indicator's outputs (empty until warmed up).\n"
     "  --tf        aggregate the file's bars to this coarser timeframe first (default: as given)\n"
     "  --symbol    symbol of the rows (files without a symbol column), or the one to select\n"
     "  `atp indicators` lists names, outputs and parameters.\n",
     cmd_indicator},
    {"indicators", "list the indicator catalog (names, outputs, parameters)",
     "usage: atp indicators [--format text|json]\n", cmd_indicators},
    {"simulate", "generate synthetic NSE ticks to a CSV file",
     "usage: atp simulate --symbols S1,S2 [--seed N] [--from YYYY-MM-DD] [--days N] [--out FILE]\n"
     "  Writes ticks (timestamp,symbol,ltp,qty,volume,bid,ask) of N trading days from the date\n"
     "  (default: the next trading day, 1 day) to FILE (default: standard output).\n",
     cmd_simulate},
    {"calendar", "NSE trading calendar: is the market open, next open, trading days",
     "usage: atp calendar [--at TIMESTAMP] [--days N]\n"
     "  Shows the market phase at TIMESTAMP (default: now), the next open, and the next N trading\n"
     "  days (default 5).\n",
     cmd_calendar},
    {"instruments", "look up instruments by symbol or broker token",
     "usage: atp instruments [--search TEXT] [--broker B --token T] [--kite-instruments FILE]\n"
     "                       [--format text|json]\n",
     cmd_instruments},
    {"backtest", "run a strategy over bar files: metrics, JSON, trades CSV, HTML report, sweeps",
     "usage: atp backtest --data FILE [--data FILE ...] --strategy NAME [--param k=v ...]\n"
     "                    [--symbol S] [--tf 1d] [--capital 100000] [--qty N | --sizing pct:10]\n"
     "                    [--slippage 0.05%] [--commission 0.03% | --charges india|none]\n"
     "                    [--fill next_open|close] [--from DATE] [--to DATE] [--product CNC|MIS|NRML]\n"
     "                    [--stop-loss 1%] [--take-profit 2%] [--trailing-stop 0.5%]\n"
     "                    [--json OUT.json] [--trades OUT.csv] [--report OUT.html]\n"
     "                    [--sort sharpe] [--jobs N]\n"
     "  Runs the strategy through the trading kernel on a simulated clock. --fill next_open (default):\n"
     "  an order decided at a bar's close fills at the next bar's open; close: at that close.\n"
     "  --param NAME=FROM:TO:STEP makes a grid: all runs in parallel, a table sorted by --sort;\n"
     "  --json/--trades/--report then describe the best run. Strategies: atp strategies.\n",
     cmd_backtest},
    {"strategies", "list the built-in strategies and their parameters",
     "usage: atp strategies\n", cmd_strategies},
    {"migrate", "create or upgrade the platform database and list its migrations",
     "usage: atp migrate [--db URL]\n"
     "  URL: sqlite:PATH (default: $ATP_DB, else sqlite:var/atp.db, created on first use).\n",
     cmd_migrate},
    {"user", "operator commands on users: add, list, set-role, unlock, disable, enable",
     "usage: atp user add --email E [--name N] [--role admin|trader|investor] [--db URL]\n"
     "       atp user list [--db URL]\n"
     "       atp user set-role --email E --role R | unlock --email E | disable --email E |\n"
     "                enable --email E\n"
     "  set-role, disable, enable and unlock are what the admin routes do (audited the same way);\n"
     "  the last active admin cannot be demoted or disabled.\n"
     "  add: the password comes from $ATP_USER_PASSWORD (at least 10 characters), or one is\n"
     "  generated and printed once. New users are traders unless --role says otherwise.\n",
     cmd_user},
    {"serve", "run the platform server: REST API, health, metrics",
     "usage: atp serve [--listen 127.0.0.1:8080] [--config FILE] [--db URL]\n"
     "                 [--feed synthetic|replay:FILE|none] [--speed X|max] [--seed N]\n"
     "  Serves the HTTP API (docs/api.md) and prints its URL. --listen HOST:0 picks a free port.\n"
     "  --config    JSON file: {\"listen\", \"body_max\", \"rate_per_s\", \"rate_burst\",\n"
     "              \"drain_timeout_ms\", \"workers\", \"cors_origins\"} (also ATP_CONFIG)\n"
     "  --db        store URL (else ATP_DB, else sqlite:var/atp.db)\n"
     "  --feed      market data for the market routes: synthetic (the simulator, default; the\n"
     "              previous trading day is played at once as history), replay:FILE (a tick CSV)\n"
     "              or none (also key feed, ATP_FEED)\n"
     "  --speed     market time per wall time, 0.5..100 (default 60), or max for a replay as fast\n"
     "              as possible (key feed_speed, ATP_FEED_SPEED)\n"
     "  --seed      simulator seed (default 42; key feed_seed, ATP_FEED_SEED)\n"
     "  Environment (over the file, under options): ATP_LISTEN, ATP_BODY_MAX, ATP_RATE_PER_S,\n"
     "  ATP_RATE_BURST, ATP_DRAIN_TIMEOUT_MS, ATP_WORKERS (worker threads, default 2),\n"
     "  ATP_CORS_ORIGINS (comma list of exact origins; CORS is off without it), ATP_JWT_SECRET or\n"
     "  ATP_JWT_SECRET_FILE, ATP_MASTER_KEY or ATP_MASTER_KEY_FILE, ATP_LOG_LEVEL (info logs\n"
     "  every request). SIGTERM/SIGINT: requests in flight finish, the store is flushed, exit 0.\n",
     cmd_serve},
    {"vault", "broker credential vault: re-seal under the newest master key, or check every blob",
     "usage: atp vault rotate [--db URL]\n"
     "       atp vault check [--db URL]\n"
     "  Keys come from ATP_MASTER_KEY (or the file named by ATP_MASTER_KEY_FILE, mode 0600):\n"
     "  \"ID:KEY,ID:KEY\", KEY 32 bytes as 64 hex digits or base64; the highest ID is current.\n"
     "  rotate: re-seals every stored credential still under an older key with the current one,\n"
     "  one transaction per connection; re-running it changes nothing more. Then drop the old key.\n"
     "  check: opens every credential and prints counts (never a secret); exit 1 when one fails.\n"
     "  docs/security.md \"Vault\".\n",
     cmd_vault},
    {"bench", "benchmarks: md (candles + indicators), backtest (kernel); JSON figures",
     "usage: atp bench md [--instruments N] [--ticks N] [--seed N]\n"
     "       atp bench backtest [--bars N] [--ticks N] [--strategies N]\n"
     "  md: JSON of ticks/s through 7 timeframes x 5 indicators and p50/p99 per-tick latency.\n"
     "  backtest: sma_crossover bars/s, tick-to-fill latency, ticks/s with 5,000 strategies.\n",
     cmd_bench},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
    fprintf(out,
            "atp %s: algorithmic trading platform for Indian markets (NSE/BSE cash and F&O)\n\n"
            "usage: atp <command> [options]   (atp <command> --help for its options)\n\n"
            "commands:\n",
            ATP_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n  --help       this text\n  --version    print the version\n");
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int cli_main(int argc, char **argv)
{
    const char *level = getenv("ATP_LOG_LEVEL"); /* debug, info, warn (default), error, off */
    if (level && log_level_parse(level) >= 0)
        log_set_level((enum log_level)log_level_parse(level));
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("atp %s\n", ATP_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(commands[i].usage, stdout);
            return CLI_EXIT_OK;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "atp: unknown command '%s' (atp --help lists them)\n", argv[1]);
    return CLI_EXIT_USAGE;
}

int cli_fail_err(const char *cmd, const struct atp_err *err)
{
    char buf[600];
    fprintf(stderr, "atp %s: %s\n", cmd, atp_err_format(err, buf, sizeof buf));
    return CLI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "atp %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

const char *cli_data_path(const char *name)
{
    static char slots[4][PATH_MAX + 64];
    static int next;
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "data/%s", name);
    return paths_resolve("ATP_DATA_DIR", 1, rel, slots[next++ % 4], sizeof slots[0]);
}

int cli_refdata_load(const char *cmd, struct cli_refdata *rd, const char *kite_csv)
{
    struct atp_err err;
    atp_err_clear(&err);
    rd->cal = cal_new();
    rd->reg = instreg_new();
    if (!rd->cal || !rd->reg) {
        cli_refdata_free(rd);
        fprintf(stderr, "atp %s: out of memory\n", cmd);
        return CLI_EXIT_FAIL;
    }
    int rc = cal_load(rd->cal, cli_data_path("nse_holidays.csv"), &err);
    if (rc == ATP_OK)
        rc = instreg_load_csv(rd->reg, cli_data_path("instruments.csv"), &err);
    if (rc == ATP_OK && kite_csv)
        rc = instreg_load_kite_csv(rd->reg, kite_csv, &err);
    if (rc != ATP_OK) {
        cli_refdata_free(rd);
        return cli_fail_err(cmd, &err);
    }
    return CLI_EXIT_OK;
}

void cli_refdata_free(struct cli_refdata *rd)
{
    cal_free(rd->cal);
    instreg_free(rd->reg);
    rd->cal = NULL;
    rd->reg = NULL;
}

int cli_parse_kv(const char *text, char *name, size_t name_size, double *value)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || (size_t)(eq - text) >= name_size || !eq[1])
        return ATP_EINVAL;
    memcpy(name, text, (size_t)(eq - text));
    name[eq - text] = '\0';
    char *end;
    errno = 0;
    *value = strtod(eq + 1, &end);
    if (errno || *end != '\0' || end == eq + 1)
        return ATP_EINVAL;
    return ATP_OK;
}

int cli_opt_long(const char *cmd, const char *opt, const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return cli_fail(cmd, "%s must be an integer %ld..%ld, not '%s'", opt, min, max, text);
    *out = v;
    return CLI_EXIT_OK;
}

int cli_opt_u64(const char *cmd, const char *opt, const char *text, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || *text == '-' || *text == '+')
        return cli_fail(cmd, "%s must be a non-negative integer, not '%s'", opt, text);
    *out = v;
    return CLI_EXIT_OK;
}

int cli_opt_double(const char *cmd, const char *opt, const char *text, double min, double max,
                   double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= min && v <= max))
        return cli_fail(cmd, "%s must be a number from %g to %g, not '%s'", opt, min, max, text);
    *out = v;
    return CLI_EXIT_OK;
}

int cli_opt_date(const char *cmd, const char *opt, const char *text, int64_t *ist_day)
{
    ts_ns t;
    int date_only = 0;
    if (ts_parse(text, strlen(text), &t, &date_only, NULL) != ATP_OK || !date_only)
        return cli_fail(cmd, "%s must be a date YYYY-MM-DD, not '%s'", opt, text);
    *ist_day = ts_ist_day(t);
    return CLI_EXIT_OK;
}

int64_t cli_today_trading_day(const struct cal *cal)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return cal_trading_day(cal, (ts_ns)now.tv_sec * TS_NS_PER_SEC + now.tv_nsec);
}
