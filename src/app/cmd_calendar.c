/* atp calendar: the NSE calendar as the engine sees it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/cli.h"

static const char *phase_name(enum cal_phase p)
{
    switch (p) {
    case CAL_PREOPEN: return "pre-open (order entry)";
    case CAL_PREOPEN_MATCH: return "pre-open matching";
    case CAL_CONTINUOUS: return "open (continuous session)";
    case CAL_CLOSED: break;
    }
    return "closed";
}

int cmd_calendar(int argc, char **argv)
{
    static const struct option opts[] = {
        {"at", required_argument, 0, 'a'}, {"days", required_argument, 0, 'd'}, {0, 0, 0, 0}};
    const char *at = NULL;
    long days = 5;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'a') {
            at = optarg;
        } else if (c == 'd') {
            if (cli_opt_long("calendar", "--days", optarg, 0, 3650, &days) != CLI_EXIT_OK)
                return CLI_EXIT_USAGE;
        } else {
            return cli_fail("calendar", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_fail("calendar", "unexpected argument '%s'", argv[optind]);
    struct atp_err err;
    atp_err_clear(&err);
    ts_ns t;
    if (at) {
        if (ts_parse(at, strlen(at), &t, NULL, &err) != ATP_OK) {
            snprintf(err.field, sizeof err.field, "--at");
            return cli_fail_err("calendar", &err);
        }
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        t = (ts_ns)now.tv_sec * TS_NS_PER_SEC + now.tv_nsec;
    }
    struct cal *cal = cal_new();
    if (!cal)
        return CLI_EXIT_FAIL;
    if (cal_load(cal, cli_data_path("nse_holidays.csv"), &err) != ATP_OK) {
        cal_free(cal);
        return cli_fail_err("calendar", &err);
    }
    char buf[TS_STR_MAX];
    ts_format_ist(t, buf, sizeof buf);
    printf("at          %s\nmarket      %s\n", buf, phase_name(cal_phase_at(cal, t)));
    int64_t td = cal_trading_day(cal, t);
    ts_format_ist_date(ts_ist_midnight(td), buf, sizeof buf);
    printf("trading day %s\n", buf);
    ts_format_ist(cal_next_open(cal, t), buf, sizeof buf);
    printf("next open   %s\n", buf);
    int64_t d = ts_ist_day(t);
    for (long i = 0; i < days; i++) {
        d = cal_next_trading_day(cal, d);
        if (d < 0)
            break;
        ts_format_ist_date(ts_ist_midnight(d), buf, sizeof buf);
        printf("%s %s\n", i == 0 ? "next days  " : "           ", buf);
    }
    cal_free(cal);
    return CLI_EXIT_OK;
}
