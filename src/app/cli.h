/* app/cli: the command table of the atp binary and what subcommands share: exit statuses, option
 * parsing helpers, and the data files every command may need (calendar, instruments). app/ is the
 * only layer that knows every module; it wires them and owns all process-level I/O. */
#ifndef ATP_APP_CLI_H
#define ATP_APP_CLI_H

#include <stdio.h>

#include "core/cal.h"
#include "core/err.h"
#include "model/instrument.h"

/* Exit statuses: 0 success, 1 runtime failure, 2 bad usage or bad input (named on stderr). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

struct cli_command {
    const char *name;
    const char *summary; /* one line for `atp --help` */
    const char *usage;   /* full text for `atp <command> --help` */
    int (*run)(int argc, char **argv);
};

int cli_main(int argc, char **argv);

/* Prints "atp <cmd>: <formatted err>" on stderr and returns CLI_EXIT_USAGE. */
int cli_fail_err(const char *cmd, const struct atp_err *err);
/* Prints "atp <cmd>: <message>" on stderr and returns CLI_EXIT_USAGE. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when argv holds -h or --help (checked before option parsing so help always works). */
int cli_wants_help(int argc, char **argv);

/* Path of a shipped data file: $ATP_DATA_DIR/<name>, else <dir of the atp binary>/../data/<name>,
 * else ./data/<name>. The returned pointer is to a static buffer (one per call slot, 4 slots). */
const char *cli_data_path(const char *name);

/* The shared reference data of a command: the NSE calendar and the instrument registry, loaded
 * from data/nse_holidays.csv and data/instruments.csv (plus a Kite instrument CSV when the
 * command is given --kite-instruments FILE). */
struct cli_refdata {
    struct cal *cal;
    struct instreg *reg;
};

/* Loads reference data; on failure prints the error naming the file and returns non-zero. */
int cli_refdata_load(const char *cmd, struct cli_refdata *rd, const char *kite_csv);
void cli_refdata_free(struct cli_refdata *rd);

/* Parses "name=value" into a name buffer and a double (for --param). ATP_EINVAL when malformed. */
int cli_parse_kv(const char *text, char *name, size_t name_size, double *value);

/* Option values. Each returns CLI_EXIT_OK with *out set, or prints "atp CMD: OPT must be ..., not
 * 'TEXT'" and returns CLI_EXIT_USAGE. */
int cli_opt_long(const char *cmd, const char *opt, const char *text, long min, long max, long *out);
int cli_opt_u64(const char *cmd, const char *opt, const char *text, unsigned long long *out);
int cli_opt_double(const char *cmd, const char *opt, const char *text, double min, double max,
                   double *out);
/* A date YYYY-MM-DD, as an IST day number. */
int cli_opt_date(const char *cmd, const char *opt, const char *text, int64_t *ist_day);

/* The trading day of the wall clock's now (today's session, or the next one). */
int64_t cli_today_trading_day(const struct cal *cal);

/* Commands (one file each in src/app/). */
int cmd_demo(int argc, char **argv);
int cmd_candles(int argc, char **argv);
int cmd_indicator(int argc, char **argv);
int cmd_indicators(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_calendar(int argc, char **argv);
int cmd_instruments(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_backtest(int argc, char **argv);
int cmd_strategies(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_vault(int argc, char **argv);

#endif
