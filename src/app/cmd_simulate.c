/* atp simulate: write synthetic NSE ticks (the market simulator) to a tick CSV. */
#include <getopt.h>
#include <string.h>

#include "app/cli.h"
#include "app/symlist.h"
#include "md/feed.h"
#include "md/feed/sim.h"
#include "md/feed/tickcsv.h"

int cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {{"symbols", required_argument, 0, 's'},
                                         {"seed", required_argument, 0, 'r'},
                                         {"from", required_argument, 0, 'f'},
                                         {"days", required_argument, 0, 'd'},
                                         {"out", required_argument, 0, 'o'},
                                         {"ticks-per-min", required_argument, 0, 'n'},
                                         {0, 0, 0, 0}};
    const char *symbols = NULL, *from = NULL, *out_path = NULL;
    unsigned long long seed = 42;
    long days = 1;
    double rate = 0;
    int c, rc = CLI_EXIT_OK;
    opterr = 0;
    optind = 1;
    while (rc == CLI_EXIT_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': symbols = optarg; break;
        case 'f': from = optarg; break;
        case 'o': out_path = optarg; break;
        case 'r': rc = cli_opt_u64("simulate", "--seed", optarg, &seed); break;
        case 'd': rc = cli_opt_long("simulate", "--days", optarg, 1, 3650, &days); break;
        case 'n': rc = cli_opt_double("simulate", "--ticks-per-min", optarg, 0.001, 6000, &rate); break;
        default: return cli_fail("simulate", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (rc != CLI_EXIT_OK)
        return rc;
    if (optind < argc)
        return cli_fail("simulate", "unexpected argument '%s'", argv[optind]);
    if (!symbols)
        return cli_fail("simulate", "--symbols S1,S2 is required");
    int64_t from_day = 0;
    if (from && (rc = cli_opt_date("simulate", "--from", from, &from_day)) != CLI_EXIT_OK)
        return rc;
    struct cli_refdata rd;
    rc = cli_refdata_load("simulate", &rd, NULL);
    if (rc)
        return rc;
    struct atp_err err;
    atp_err_clear(&err);
    struct symlist syms = {0};
    struct feed *feed = NULL;
    FILE *out = NULL;
    if (!from)
        from_day = cli_today_trading_day(rd.cal);
    if (symlist_parse(&syms, symbols, rd.reg, "--symbols", &err) != ATP_OK) {
        rc = cli_fail_err("simulate", &err);
        goto done;
    }
    struct sim_params sp = {.seed = seed, .from_day = from_day, .days = (int)days,
                            .symbols = syms.names, .n_symbols = syms.n, .ticks_per_min = rate,
                            .profiles_path = cli_data_path("sim_profiles.csv")};
    if (sim_new(&sp, rd.reg, rd.cal, &feed, &err) != ATP_OK) {
        rc = cli_fail_err("simulate", &err);
        goto done;
    }
    const char *out_name = out_path ? out_path : "<stdout>";
    out = out_path ? fopen(out_path, "w") : stdout;
    if (!out) {
        rc = cli_fail("simulate", "%s: cannot open for writing", out_path);
        goto done;
    }
    struct feed_item item;
    int got;
    unsigned long long n = 0;
    if (tickcsv_write_header(out, out_name, &err) != ATP_OK) {
        rc = cli_fail_err("simulate", &err);
        goto done;
    }
    while ((got = feed_next(feed, &item, &err)) == 1) {
        if (tickcsv_write_tick(out, out_name, rd.reg, &item.tick, &err) != ATP_OK) {
            rc = cli_fail_err("simulate", &err);
            goto done;
        }
        n++;
    }
    if (got < 0) {
        rc = cli_fail_err("simulate", &err);
        goto done;
    }
    if (out_path)
        fprintf(stderr, "atp simulate: wrote %llu ticks of %zu symbols to %s\n", n, syms.n, out_path);
done:
    if (out && out != stdout && fclose(out) != 0 && rc == CLI_EXIT_OK)
        rc = cli_fail("simulate", "%s: write failed", out_path);
    feed_free(feed);
    symlist_cleanup(&syms);
    cli_refdata_free(&rd);
    return rc;
}
