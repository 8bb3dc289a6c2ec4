/* atp bench <name>: the benchmarks of bench/, each printing JSON. */
#include <string.h>

#include "app/cli.h"
#include "bench.h"

int cmd_bench(int argc, char **argv)
{
    if (argc < 2)
        return cli_fail("bench", "which benchmark? (md, backtest)");
    if (strcmp(argv[1], "md") == 0)
        return bench_md(argc - 1, argv + 1);
    if (strcmp(argv[1], "backtest") == 0)
        return bench_backtest(argc - 1, argv + 1);
    return cli_fail("bench", "unknown benchmark '%s' (md, backtest)", argv[1]);
}
