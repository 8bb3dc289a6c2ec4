/* atp strategies: the strategy catalog with parameter schemas. */
#include "app/cli.h"
#include "strategy/registry.h"

int cmd_strategies(int argc, char **argv)
{
    if (argc > 1)
        return cli_fail("strategies", "unexpected argument '%s'", argv[1]);
    for (size_t i = 0; i < strategy_catalog_count(); i++) {
        const struct atp_strategy_def *d = strategy_catalog_get(i);
        printf("%-24s %s\n", d->name, d->description);
        for (int p = 0; p < d->n_params; p++) {
            const struct atp_param_def *pd = &d->params[p];
            printf("    --param %s=%g  (%s, %g..%g) %s\n", pd->name, pd->def,
                   pd->type == ATP_PARAM_INT ? "int" : "double", pd->min, pd->max,
                   pd->description ? pd->description : "");
        }
    }
    return CLI_EXIT_OK;
}
