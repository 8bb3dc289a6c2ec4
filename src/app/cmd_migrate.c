/* atp migrate: create or upgrade the platform database and list the applied migrations. */
#include <getopt.h>

#include "app/cli.h"
#include "app/dbopen.h"

int cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, 0, 'd'}, {0, 0, 0, 0}};
    const char *url = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            url = optarg;
        else
            return cli_fail("migrate", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_fail("migrate", "unexpected argument '%s'", argv[optind]);
    struct store *s;
    int rc = cli_store_open("migrate", url, &s);
    if (rc)
        return rc;
    struct store_migration_status st[64];
    int n = 0;
    struct atp_err err;
    if (store_migrate_status(s, st, 64, &n, &err) != ATP_OK) {
        store_close(s);
        return cli_fail_err("migrate", &err);
    }
    printf("backend %s\n", store_backend(s));
    for (int i = 0; i < n && i < 64; i++)
        printf("%3d %-32s %s\n", st[i].version, st[i].name, st[i].applied_ns ? "applied" : "pending");
    store_close(s);
    return CLI_EXIT_OK;
}
