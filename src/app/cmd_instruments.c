#define _GNU_SOURCE /* strcasestr */
/* atp instruments: look up the instrument registry by symbol text or by broker token. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "app/cli.h"
#include "app/outfmt.h"

static json_t *instrument_json(const struct instrument *in)
{
    char tick[PX_STR_MAX], strike[PX_STR_MAX], expiry[16] = "";
    px_format(in->tick_size, tick, sizeof tick);
    px_format(in->strike, strike, sizeof strike);
    if (in->expiry_day >= 0)
        ts_format_ist_date(ts_ist_midnight(in->expiry_day), expiry, sizeof expiry);
    json_t *brokers = json_object();
    for (int b = 0; b < BROKER_COUNT; b++) {
        if (!in->broker[b].symbol[0] && !in->broker[b].token[0])
            continue;
        json_object_set_new(brokers, broker_name((enum broker_id)b),
                            json_pack("{s:s, s:s}", "symbol", in->broker[b].symbol, "token",
                                      in->broker[b].token));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s*, s:s*, s:s, s:o}", "symbol", in->symbol,
                     "exchange", exchange_name(in->exchange), "type", inst_type_name(in->type), "name",
                     in->name, "underlying", in->underlying, "lot_size", (json_int_t)in->lot_size,
                     "tick_size", tick, "expiry", expiry[0] ? expiry : NULL, "strike",
                     in->strike ? strike : NULL, "isin", in->isin, "brokers", brokers);
}

int cmd_instruments(int argc, char **argv)
{
    static const struct option opts[] = {{"search", required_argument, 0, 's'},
                                         {"broker", required_argument, 0, 'b'},
                                         {"token", required_argument, 0, 't'},
                                         {"kite-instruments", required_argument, 0, 'k'},
                                         {"format", required_argument, 0, 'f'},
                                         {0, 0, 0, 0}};
    const char *search = NULL, *broker = NULL, *token = NULL, *kite = NULL, *format = "text";
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': search = optarg; break;
        case 'b': broker = optarg; break;
        case 't': token = optarg; break;
        case 'k': kite = optarg; break;
        case 'f': format = optarg; break;
        default: return cli_fail("instruments", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_fail("instruments", "unexpected argument '%s'", argv[optind]);
    if (strcmp(format, "text") && strcmp(format, "json"))
        return cli_fail("instruments", "--format must be text or json, not '%s'", format);
    if ((broker == NULL) != (token == NULL))
        return cli_fail("instruments", "--broker and --token go together");
    enum broker_id b = BROKER_KITE;
    if (broker && broker_parse(broker, &b) != ATP_OK)
        return cli_fail("instruments", "unknown broker '%s' (kite, angel, upstox, fyers, dhan)", broker);
    struct cli_refdata rd;
    int rc = cli_refdata_load("instruments", &rd, kite);
    if (rc)
        return rc;
    json_t *found = json_array();
    if (token) {
        const struct instrument *in = instreg_find_token(rd.reg, b, token);
        if (!in) {
            json_decref(found);
            cli_refdata_free(&rd);
            return cli_fail("instruments", "no instrument has %s token '%s'", broker_name(b), token);
        }
        json_array_append_new(found, instrument_json(in));
    } else {
        for (uint32_t i = 0; i < instreg_count(rd.reg); i++) {
            const struct instrument *in = instreg_get(rd.reg, i);
            if (!search || strcasestr(in->symbol, search) || strcasestr(in->name, search))
                json_array_append_new(found, instrument_json(in));
        }
    }
    if (strcmp(format, "json") == 0) {
        outfmt_json_dump(found, stdout);
    } else {
        size_t i;
        json_t *v;
        printf("%-22s %-4s %-5s %6s %8s %-10s %s\n", "symbol", "exch", "type", "lot", "tick", "expiry",
               "name");
        json_array_foreach(found, i, v) {
            const char *exp = json_string_value(json_object_get(v, "expiry"));
            printf("%-22s %-4s %-5s %6lld %8s %-10s %s\n",
                   json_string_value(json_object_get(v, "symbol")),
                   json_string_value(json_object_get(v, "exchange")),
                   json_string_value(json_object_get(v, "type")),
                   (long long)json_integer_value(json_object_get(v, "lot_size")),
                   json_string_value(json_object_get(v, "tick_size")), exp ? exp : "-",
                   json_string_value(json_object_get(v, "name")));
        }
    }
    json_decref(found);
    cli_refdata_free(&rd);
    return CLI_EXIT_OK;
}
