/* model/bar: timeframe names, periods and bar consistency. */
#include <criterion/criterion.h>

#include "model/bar.h"

Test(tf, parse_names_and_aliases)
{
    static const struct {
        const char *name;
        enum tf want;
    } cases[] = {
        {"1m", TF_1M},   {"3m", TF_3M},     {"5m", TF_5M},   {"15m", TF_15M},
        {"30m", TF_30M}, {"1h", TF_1H},     {"1d", TF_1D},   {"1H", TF_1H},
        {"1D", TF_1D},   {"15M", TF_15M},   {"60m", TF_1H},  {"60M", TF_1H},
        {"day", TF_1D},  {"DAY", TF_1D},    {"1day", TF_1D}, {"1Day", TF_1D},
        {"d", TF_1D},    {"D", TF_1D},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum tf tf = TF_COUNT;
        cr_expect_eq(tf_parse(cases[i].name, &tf), ATP_OK, "tf_parse(\"%s\")", cases[i].name);
        cr_expect_eq(tf, cases[i].want, "tf_parse(\"%s\") = %d", cases[i].name, (int)tf);
    }
}

Test(tf, parse_rejects_unknown)
{
    static const char *const bad[] = {"",    "2m",  "10m", "1w", "1M ", " 1m", "1 m", "m1",
                                      "1mm", "1",   "m",   "h",  "4h", "days", "1dd", "60",
                                      "1min", "0m", "-1m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum tf tf = TF_5M;
        cr_expect_eq(tf_parse(bad[i], &tf), ATP_EINVAL, "tf_parse(\"%s\")", bad[i]);
        cr_expect_eq(tf, TF_5M, "\"%s\": output written on failure", bad[i]);
    }
}

Test(tf, names_round_trip)
{
    static const char *const names[TF_COUNT] = {"1m", "3m", "5m", "15m", "30m", "1h", "1d"};
    for (int i = 0; i < TF_COUNT; i++) {
        cr_expect_str_eq(tf_name((enum tf)i), names[i]);
        enum tf back = TF_COUNT;
        cr_expect_eq(tf_parse(tf_name((enum tf)i), &back), ATP_OK);
        cr_expect_eq(back, (enum tf)i);
    }
    cr_expect_str_eq(tf_name(TF_COUNT), "?");
    cr_expect_str_eq(tf_name((enum tf)-1), "?");
}

Test(tf, periods)
{
    static const struct {
        enum tf tf;
        int64_t minutes;
    } cases[] = {
        {TF_1M, 1}, {TF_3M, 3}, {TF_5M, 5}, {TF_15M, 15}, {TF_30M, 30}, {TF_1H, 60},
        {TF_1D, 375}, /* the 09:15-15:30 session */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tf_period_ns(cases[i].tf), cases[i].minutes * TS_NS_PER_MIN, "%s",
                     tf_name(cases[i].tf));
    cr_expect_eq(tf_period_ns(TF_1D), 22500LL * TS_NS_PER_SEC);
    cr_expect_eq(tf_period_ns(TF_COUNT), 0);
    cr_expect_eq(tf_period_ns((enum tf)-1), 0);
}

Test(bar, is_valid)
{
    const px_t p100 = PX_RUPEES(100), p101 = PX_RUPEES(101), p99 = PX_RUPEES(99);
    /* {start, open, high, low, close, volume, oi, ticks} */
    const struct {
        struct bar b;
        int want;
        const char *what;
    } cases[] = {
        {{0, p100, p101, p99, p100, 10, -1, 1}, 1, "ordinary"},
        {{0, p100, p100, p100, p100, 0, -1, 1}, 1, "flat, zero volume"},
        {{0, p99, p101, p99, p101, 5, 7, 2}, 1, "open at low, close at high"},
        {{0, p101, p101, p99, p99, 5, 7, 2}, 1, "open at high, close at low"},
        {{0, p100, p99, p101, p100, 10, -1, 1}, 0, "low above high"},
        {{0, p101 + 1, p101, p99, p100, 10, -1, 1}, 0, "open above high"},
        {{0, p99 - 1, p101, p99, p100, 10, -1, 1}, 0, "open below low"},
        {{0, p100, p101, p99, p101 + 1, 10, -1, 1}, 0, "close above high"},
        {{0, p100, p101, p99, p99 - 1, 10, -1, 1}, 0, "close below low"},
        {{0, p100, p101, p99, p100, -1, -1, 1}, 0, "negative volume"},
        {{0, p100, p101, p99, p100, INT64_MIN, -1, 1}, 0, "INT64_MIN volume"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(bar_is_valid(&cases[i].b), cases[i].want, "%s", cases[i].what);
}
