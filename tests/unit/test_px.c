/* core/px: exact fixed-point money. Table-driven: each row is (input, expected). */
#include <criterion/criterion.h>

#include <string.h>

#include "core/px.h"

static int parse_str(const char *s, px_t *out, struct atp_err *err)
{
    return px_parse(s, strlen(s), out, err);
}

static int parse_round_str(const char *s, px_t *out, struct atp_err *err)
{
    return px_parse_round(s, strlen(s), out, err);
}

struct parse_case {
    const char *text;
    int rc;
    px_t value; /* meaningful only when rc == ATP_OK */
};

static const struct parse_case strict_cases[] = {
    {"0", ATP_OK, 0},
    {"-0", ATP_OK, 0},
    {"0.0", ATP_OK, 0},
    {"1", ATP_OK, 10000},
    {"-0.05", ATP_OK, -500},
    {"2450.55", ATP_OK, 24505500},
    {"2450.5", ATP_OK, 24505000},
    {"0.0001", ATP_OK, 1},
    {"-0.0001", ATP_OK, -1},
    {".5", ATP_OK, 5000},
    {"-.5", ATP_OK, -5000},
    {"5.", ATP_OK, 50000},
    {"+7", ATP_OK, 70000},
    {" 12 ", ATP_OK, 120000},     /* surrounding blanks are tolerated (padded CSV fields) */
    {"\t12\r", ATP_OK, 120000},
    {"007.50", ATP_OK, 75000},
    {"12.34560", ATP_OK, 123456},  /* extra digits that are zero are fine */
    {"12.345600000", ATP_OK, 123456},
    {"12.34567", ATP_ERANGE, 0},   /* strict: a fifth non-zero decimal */
    {"0.00001", ATP_ERANGE, 0},
    {"2450.550049", ATP_ERANGE, 0},
    {"1e5", ATP_EPARSE, 0},
    {"+1e0", ATP_EPARSE, 0},
    {"", ATP_EPARSE, 0},
    {" ", ATP_EPARSE, 0},
    {"-", ATP_EPARSE, 0},
    {"+", ATP_EPARSE, 0},
    {".", ATP_EPARSE, 0},
    {"-.", ATP_EPARSE, 0},
    {"1.2.3", ATP_EPARSE, 0},
    {"--1", ATP_EPARSE, 0},
    {"+-1", ATP_EPARSE, 0},
    {"1 2", ATP_EPARSE, 0},
    {"1,5", ATP_EPARSE, 0},
    {"0x10", ATP_EPARSE, 0},
    {"abc", ATP_EPARSE, 0},
    {"12a", ATP_EPARSE, 0},
    {"NaN", ATP_EPARSE, 0},
    /* The int64 limit: 922337203685477.5807 is INT64_MAX units. */
    {"922337203685477.5807", ATP_OK, INT64_MAX},
    {"922337203685477.5808", ATP_EOVERFLOW, 0},
    {"922337203685477.58070", ATP_OK, INT64_MAX},
    {"922337203685478", ATP_EOVERFLOW, 0},
    {"922337203685477", ATP_OK, 922337203685477LL * 10000},
    {"-922337203685477.5807", ATP_OK, PX_MIN},
    {"-922337203685477.5808", ATP_EOVERFLOW, 0}, /* INT64_MIN is outside the px range */
    {"99999999999999999999999", ATP_EOVERFLOW, 0},
    {"00000000000000000000000001", ATP_OK, 10000},
};

Test(px_parse, table)
{
    for (size_t i = 0; i < sizeof strict_cases / sizeof strict_cases[0]; i++) {
        const struct parse_case *c = &strict_cases[i];
        px_t v = 12345;
        struct atp_err err;
        atp_err_clear(&err);
        int rc = parse_str(c->text, &v, &err);
        cr_expect_eq(rc, c->rc, "px_parse(\"%s\") = %s, want %s", c->text, atp_status_name(rc),
                     atp_status_name(c->rc));
        if (rc == ATP_OK && c->rc == ATP_OK) {
            cr_expect_eq(v, c->value, "px_parse(\"%s\") value %lld, want %lld", c->text,
                         (long long)v, (long long)c->value);
        } else if (rc != ATP_OK) {
            cr_expect_eq(err.code, rc, "\"%s\": err.code not filled", c->text);
            cr_expect_neq(err.msg[0], '\0', "\"%s\": err.msg empty", c->text);
            cr_expect_eq(v, 12345, "\"%s\": output written on failure", c->text);
        }
    }
}

Test(px_parse, reads_exactly_len_bytes)
{
    px_t v = 0;
    cr_assert_eq(px_parse("2450.55xyz", 7, &v, NULL), ATP_OK);
    cr_assert_eq(v, 24505500);
    cr_assert_eq(px_parse("12345", 2, &v, NULL), ATP_OK);
    cr_assert_eq(v, 120000);
    cr_assert_eq(px_parse("7", 0, &v, NULL), ATP_EPARSE);
    /* err may be NULL on failure too */
    cr_assert_eq(px_parse("x", 1, &v, NULL), ATP_EPARSE);
}

static const struct parse_case round_cases[] = {
    {"2450.550049", ATP_OK, 24505500},
    {"2450.55005", ATP_OK, 24505501},
    {"2450.549951", ATP_OK, 24505500},
    {"0.00005", ATP_OK, 1},          /* half away from zero */
    {"-0.00005", ATP_OK, -1},
    {"0.000049999", ATP_OK, 0},
    {"-0.000049999", ATP_OK, 0},
    {"0.00015", ATP_OK, 2},
    {"9.99995", ATP_OK, 100000},     /* carries into the whole part */
    {"-9.99995", ATP_OK, -100000},
    {"12.3456", ATP_OK, 123456},
    {"12.34567", ATP_OK, 123457},
    {"922337203685477.58074", ATP_OK, INT64_MAX},
    {"922337203685477.58075", ATP_EOVERFLOW, 0}, /* rounds past INT64_MAX */
    {"-922337203685477.58074", ATP_OK, PX_MIN},
    {"-922337203685477.58075", ATP_EOVERFLOW, 0},
    {"1e5", ATP_EPARSE, 0},
    {"", ATP_EPARSE, 0},
    {"1.2.3", ATP_EPARSE, 0},
    {".", ATP_EPARSE, 0},
};

Test(px_parse_round, table)
{
    for (size_t i = 0; i < sizeof round_cases / sizeof round_cases[0]; i++) {
        const struct parse_case *c = &round_cases[i];
        px_t v = 12345;
        int rc = parse_round_str(c->text, &v, NULL);
        cr_expect_eq(rc, c->rc, "px_parse_round(\"%s\") = %s, want %s", c->text,
                     atp_status_name(rc), atp_status_name(c->rc));
        if (rc == ATP_OK && c->rc == ATP_OK)
            cr_expect_eq(v, c->value, "px_parse_round(\"%s\") value %lld, want %lld", c->text,
                         (long long)v, (long long)c->value);
    }
}

struct fmt_case {
    px_t value;
    const char *text;
};

static const struct fmt_case format_cases[] = {
    {0, "0"},
    {1, "0.0001"},
    {-1, "-0.0001"},
    {10, "0.001"},
    {500, "0.05"},
    {-500, "-0.05"},
    {5000, "0.5"},
    {10000, "1"},
    {-10000, "-1"},
    {24505500, "2450.55"},
    {24505000, "2450.5"},
    {24505501, "2450.5501"},
    {1000000, "100"},
    {123456, "12.3456"},
    {100010, "10.001"},
    {INT64_MAX, "922337203685477.5807"},
    {PX_MIN, "-922337203685477.5807"},
    {INT64_MIN, "-922337203685477.5808"},
};

Test(px_format, shortest_form)
{
    for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
        const struct fmt_case *c = &format_cases[i];
        char buf[PX_STR_MAX];
        int n = px_format(c->value, buf, sizeof buf);
        cr_expect_str_eq(buf, c->text, "px_format(%lld)", (long long)c->value);
        cr_expect_eq(n, (int)strlen(c->text), "px_format(%lld) length", (long long)c->value);
    }
}

Test(px_format, round_trips_through_parse)
{
    /* Every table value and a deterministic sweep of magnitudes and signs. */
    for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
        px_t v = format_cases[i].value;
        if (v == INT64_MIN)
            continue; /* outside the parseable px range by design */
        char buf[PX_STR_MAX];
        px_t back = 0;
        px_format(v, buf, sizeof buf);
        cr_expect_eq(parse_str(buf, &back, NULL), ATP_OK, "parse(\"%s\")", buf);
        cr_expect_eq(back, v, "round trip of %lld via \"%s\"", (long long)v, buf);
    }
    px_t v = 1;
    for (int i = 0; i < 60; i++, v = v * 2 + (i % 3)) {
        for (int sign = -1; sign <= 1; sign += 2) {
            char buf[PX_STR_MAX];
            px_t back = 0;
            px_t x = sign * v;
            px_format(x, buf, sizeof buf);
            cr_expect_eq(parse_str(buf, &back, NULL), ATP_OK, "parse(\"%s\")", buf);
            cr_expect_eq(back, x, "round trip of %lld via \"%s\"", (long long)x, buf);
        }
    }
}

Test(px_format, truncates_and_reports_full_length)
{
    char buf[5];
    int n = px_format(24505500, buf, sizeof buf);
    cr_assert_eq(n, 7);
    cr_assert_str_eq(buf, "2450");
}

struct fixed_case {
    px_t value;
    int decimals;
    const char *text;
};

static const struct fixed_case fixed_cases[] = {
    {24505500, 2, "2450.55"},
    {24505500, 4, "2450.5500"},
    {24505500, 3, "2450.550"},
    {24505500, 1, "2450.6"},     /* .55 -> .6, half away from zero */
    {24505500, 0, "2451"},
    {-24505500, 1, "-2450.6"},
    {-24505500, 0, "-2451"},
    {24505000, 0, "2451"},       /* exact tie */
    {-24505000, 0, "-2451"},
    {24504999, 0, "2450"},
    {-24504999, 0, "-2450"},
    {12350, 2, "1.24"},
    {-12350, 2, "-1.24"},
    {12349, 2, "1.23"},
    {-12349, 2, "-1.23"},
    {0, 4, "0.0000"},
    {0, 0, "0"},
    {-1, 4, "-0.0001"},
    {-1, 3, "0.000"},            /* rounds to zero: no "-0.000" */
    {-5, 3, "-0.001"},
    {-4, 3, "0.000"},
    {-5000, 0, "-1"},
    {-4999, 0, "0"},
    {99995, 2, "10.00"},         /* carry into the whole part */
    {-99995, 2, "-10.00"},
    {5, -3, "0"},                /* decimals clamped to 0..4 */
    {5, 9, "0.0005"},
    {INT64_MAX, 4, "922337203685477.5807"},
    {INT64_MAX, 0, "922337203685478"},
    {INT64_MIN, 4, "-922337203685477.5808"},
    {INT64_MIN, 2, "-922337203685477.58"},
    {INT64_MIN, 0, "-922337203685478"},
};

Test(px_format_fixed, table)
{
    for (size_t i = 0; i < sizeof fixed_cases / sizeof fixed_cases[0]; i++) {
        const struct fixed_case *c = &fixed_cases[i];
        char buf[PX_STR_MAX];
        int n = px_format_fixed(c->value, c->decimals, buf, sizeof buf);
        cr_expect_str_eq(buf, c->text, "px_format_fixed(%lld, %d)", (long long)c->value,
                         c->decimals);
        cr_expect_eq(n, (int)strlen(c->text), "px_format_fixed(%lld, %d) length",
                     (long long)c->value, c->decimals);
    }
}

struct arith_case {
    px_t a;
    int64_t b;
    int rc;
    px_t result;
};

static const struct arith_case mul_cases[] = {
    {24505500, 75, ATP_OK, 1837912500},
    {-100, 3, ATP_OK, -300},
    {-100, -3, ATP_OK, 300},
    {0, INT64_MAX, ATP_OK, 0},
    {INT64_MAX, 1, ATP_OK, INT64_MAX},
    {INT64_MAX, -1, ATP_OK, PX_MIN},
    {PX_MIN, -1, ATP_OK, INT64_MAX},
    {INT64_MAX, 2, ATP_EOVERFLOW, 0},
    {PX_MIN, 2, ATP_EOVERFLOW, 0},
    {(px_t)1 << 62, 2, ATP_EOVERFLOW, 0},
    {-((px_t)1 << 62), 2, ATP_EOVERFLOW, 0},  /* exactly INT64_MIN: excluded */
    {(px_t)1 << 62, -2, ATP_EOVERFLOW, 0},    /* same, other sign */
    {INT64_MIN / 4, 4, ATP_EOVERFLOW, 0},
    {3037000500LL, 3037000500LL, ATP_EOVERFLOW, 0},
    {3037000499LL, 3037000499LL, ATP_OK, 9223372030926249001LL},
};

Test(px_mul_qty, table)
{
    for (size_t i = 0; i < sizeof mul_cases / sizeof mul_cases[0]; i++) {
        const struct arith_case *c = &mul_cases[i];
        px_t out = 777;
        int rc = px_mul_qty(c->a, c->b, &out);
        cr_expect_eq(rc, c->rc, "px_mul_qty(%lld, %lld) = %s", (long long)c->a, (long long)c->b,
                     atp_status_name(rc));
        cr_expect_eq(out, c->rc == ATP_OK ? c->result : 777, "px_mul_qty(%lld, %lld) -> %lld",
                     (long long)c->a, (long long)c->b, (long long)out);
    }
}

static const struct arith_case add_cases[] = {
    {1, 2, ATP_OK, 3},
    {-500, 500, ATP_OK, 0},
    {INT64_MAX, PX_MIN, ATP_OK, 0},
    {INT64_MAX - 1, 1, ATP_OK, INT64_MAX},
    {INT64_MAX, 1, ATP_EOVERFLOW, 0},
    {PX_MIN, -1, ATP_EOVERFLOW, 0}, /* would be INT64_MIN */
    {PX_MIN + 1, -1, ATP_OK, PX_MIN},
    {PX_MIN, PX_MIN, ATP_EOVERFLOW, 0},
};

Test(px_add, table)
{
    for (size_t i = 0; i < sizeof add_cases / sizeof add_cases[0]; i++) {
        const struct arith_case *c = &add_cases[i];
        px_t out = 777;
        int rc = px_add(c->a, c->b, &out);
        cr_expect_eq(rc, c->rc, "px_add(%lld, %lld) = %s", (long long)c->a, (long long)c->b,
                     atp_status_name(rc));
        cr_expect_eq(out, c->rc == ATP_OK ? c->result : 777, "px_add(%lld, %lld) -> %lld",
                     (long long)c->a, (long long)c->b, (long long)out);
    }
}

struct round_case {
    px_t value;
    px_t step;
    px_t result;
};

static const struct round_case round_to_cases[] = {
    {24505500, 500, 24505500},   /* already on the 0.05 tick */
    {24505250, 500, 24505500},   /* tie: away from zero */
    {-24505250, 500, -24505500},
    {24505249, 500, 24505000},
    {-24505249, 500, -24505000},
    {24505251, 500, 24505500},
    {-24505251, 500, -24505500},
    {249, 500, 0},
    {-249, 500, 0},
    {250, 500, 500},
    {-250, 500, -500},
    {0, 500, 0},
    {7, 1, 7},
    {12345, 25, 12350},          /* currency derivatives tick at 0.0025 */
    {12337, 25, 12325},
    {12338, 25, 12350},          /* 12337.5 is the midpoint */
    {7, 0, 7},                   /* step <= 0: unchanged */
    {7, -5, 7},
    /* Near the limits: the multiple away from zero does not fit, the one toward zero does. */
    {INT64_MAX, 10, INT64_MAX - 7},
    {PX_MIN, 10, PX_MIN + 7},
    {INT64_MAX - 1, INT64_MAX, INT64_MAX},
    {INT64_MAX / 2 + 1, INT64_MAX, INT64_MAX},
    {INT64_MAX / 2, INT64_MAX, 0},
    {PX_MIN + 1, INT64_MAX, PX_MIN},
};

Test(px_round_to, table)
{
    for (size_t i = 0; i < sizeof round_to_cases / sizeof round_to_cases[0]; i++) {
        const struct round_case *c = &round_to_cases[i];
        px_t got = px_round_to(c->value, c->step);
        cr_expect_eq(got, c->result, "px_round_to(%lld, %lld) = %lld, want %lld",
                     (long long)c->value, (long long)c->step, (long long)got,
                     (long long)c->result);
    }
}

Test(px_is_multiple, table)
{
    static const struct {
        px_t value, step;
        int want;
    } cases[] = {
        {24505500, 500, 1}, {24505250, 500, 0}, {-24505500, 500, 1}, {-24505250, 500, 0},
        {0, 500, 1},        {12375, 25, 1},     {12376, 25, 0},      {5, 0, 0},
        {5, -1, 0},         {0, 0, 0},          {INT64_MAX, INT64_MAX, 1}, {INT64_MIN, 1, 1},
        {INT64_MIN, 2, 1},  {PX_MIN, 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(px_is_multiple(cases[i].value, cases[i].step), cases[i].want,
                     "px_is_multiple(%lld, %lld)", (long long)cases[i].value,
                     (long long)cases[i].step);
}

Test(px_from_double, rounds_to_nearest)
{
    static const struct {
        double v;
        px_t want;
    } cases[] = {
        {0.0, 0},         {2450.55, 24505500}, {-0.05, -500},   {0.0001, 1},
        {-0.0001, -1},    {0.00005, 1},        {-0.00005, -1},  {0.00004, 0},
        {-0.00004, 0},    {1e-9, 0},           {100.0, 1000000}, {123.45678, 1234568},
        {-123.45678, -1234568},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(px_from_double(cases[i].v), cases[i].want, "px_from_double(%.10g) = %lld",
                     cases[i].v, (long long)px_from_double(cases[i].v));
    cr_expect_float_eq(px_to_double(24505500), 2450.55, 1e-9);
    cr_expect_float_eq(px_to_double(-1), -0.0001, 1e-12);
}

Test(px, rupees_macro)
{
    cr_assert_eq(PX_RUPEES(2450), 24500000);
    cr_assert_eq(PX_RUPEES(-3), -30000);
}
