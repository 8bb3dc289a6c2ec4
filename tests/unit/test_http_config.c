/* api/http configuration parsing: the CORS allow-list (api_config_cors) and listen addresses,
 * table-driven. Bad input is refused naming the field; good input is normalised. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/http.h"

struct cors_case {
    const char *in;
    int ok;
    const char *want; /* normalised list when ok */
};

Test(http_config, cors_origins)
{
    static const struct cors_case cases[] = {
        {"", 1, ""},
        {"https://app.example", 1, "https://app.example"},
        {" https://a.example , http://localhost:5173 ", 1, "https://a.example,http://localhost:5173"},
        {"http://127.0.0.1:8080,,https://b.example", 1, "http://127.0.0.1:8080,https://b.example"},
        {"http://[::1]:3000", 1, "http://[::1]:3000"},
        {"*", 0, NULL},
        {"https://app.example/", 0, NULL},
        {"https://app.example/path", 0, NULL},
        {"ftp://app.example", 0, NULL},
        {"app.example", 0, NULL},
        {"https://", 0, NULL},
        {"https://app.example:", 0, NULL},
        {"https://app.example:80a", 0, NULL},
        {"https://a b.example", 0, NULL},
        {"https://app.example\"", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct api_config cfg;
        struct atp_err err;
        api_config_defaults(&cfg);
        atp_err_clear(&err);
        int rc = api_config_cors(&cfg, cases[i].in, "cors_origins", &err);
        if (cases[i].ok) {
            cr_assert_eq(rc, ATP_OK, "'%s': %s", cases[i].in, err.msg);
            cr_assert_str_eq(cfg.cors_origins, cases[i].want, "'%s'", cases[i].in);
        } else {
            cr_assert_eq(rc, ATP_EINVAL, "'%s' accepted", cases[i].in);
            cr_assert_str_eq(err.field, "cors_origins", "'%s'", cases[i].in);
            cr_assert_str_eq(cfg.cors_origins, "", "'%s' left a partial list", cases[i].in);
        }
    }
}

Test(http_config, cors_origins_limits)
{
    struct api_config cfg;
    struct atp_err err;
    char list[2048] = "";
    api_config_defaults(&cfg);
    for (int i = 0; i <= API_CORS_ORIGINS_MAX; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%shttps://h%d.example", i ? "," : "", i);
    cr_assert_eq(api_config_cors(&cfg, list, "cors_origins", &err), ATP_EINVAL);
    cr_assert(strstr(err.msg, "more than") != NULL, "%s", err.msg);
}

Test(http_config, defaults)
{
    struct api_config cfg;
    api_config_defaults(&cfg);
    cr_assert_eq(cfg.workers, 2);
    cr_assert_str_eq(cfg.cors_origins, "");
}
