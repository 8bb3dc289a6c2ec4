/* atp indicators: the indicator catalog, as text or as the JSON the API will serve. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "app/cli.h"
#include "app/outfmt.h"
#include "md/indicator.h"

static json_t *catalog_json(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ind_catalog_count(); i++) {
        const struct atp_indicator_def *d = ind_catalog_get(i);
        json_t *outs = json_array(), *params = json_array();
        for (int o = 0; o < d->n_outputs; o++)
            json_array_append_new(outs, json_string(d->outputs[o]));
        for (int p = 0; p < d->n_params; p++) {
            const struct atp_param_def *pd = &d->params[p];
            int is_int = pd->type == ATP_PARAM_INT;
            json_array_append_new(
                params, json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "name", pd->name, "type",
                                  is_int ? "int" : "double", "default",
                                  is_int ? json_integer((json_int_t)pd->def) : json_real(pd->def),
                                  "min", is_int ? json_integer((json_int_t)pd->min) : json_real(pd->min),
                                  "max", is_int ? json_integer((json_int_t)pd->max) : json_real(pd->max),
                                  "description", pd->description ? pd->description : ""));
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o}", "name", d->name, "description",
                                             d->description, "outputs", outs, "params", params));
    }
    return arr;
}

int cmd_indicators(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {0, 0, 0, 0}};
    const char *format = "text";
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'f')
            format = optarg;
        else
            return cli_fail("indicators", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_fail("indicators", "unexpected argument '%s'", argv[optind]);
    if (strcmp(format, "json") == 0) {
        json_t *cat = catalog_json();
        outfmt_json_dump(cat, stdout);
        json_decref(cat);
        return CLI_EXIT_OK;
    }
    if (strcmp(format, "text") != 0)
        return cli_fail("indicators", "--format must be text or json, not '%s'", format);
    for (size_t i = 0; i < ind_catalog_count(); i++) {
        const struct atp_indicator_def *d = ind_catalog_get(i);
        printf("%-11s %s\n            outputs:", d->name, d->description);
        for (int o = 0; o < d->n_outputs; o++)
            printf(" %s", d->outputs[o]);
        printf("\n");
        for (int p = 0; p < d->n_params; p++) {
            const struct atp_param_def *pd = &d->params[p];
            printf("            --param %s=%g  (%s, %g..%g) %s\n", pd->name, pd->def,
                   pd->type == ATP_PARAM_INT ? "int" : "double", pd->min, pd->max,
                   pd->description ? pd->description : "");
        }
    }
    return CLI_EXIT_OK;
}
