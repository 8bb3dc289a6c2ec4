/* core/ts: civil calendar arithmetic, IST conversions, ISO 8601 / epoch-ms parsing, formatting. */
#include <criterion/criterion.h>

#include <string.h>

#include "core/ts.h"

/* 2026-01-05T09:15:00+05:30 == 2026-01-05T03:45:00Z == epoch 1767584700 s (a Monday). */
#define T0 (1767584700LL * TS_NS_PER_SEC)

Test(ts_days, known_anchors)
{
    static const struct {
        int y, m, d;
        int64_t days;
        int wday;
    } cases[] = {
        {1970, 1, 1, 0, 4},        {1969, 12, 31, -1, 3},   {2000, 3, 1, 11017, 3},
        {2000, 1, 1, 10957, 6},    {2026, 1, 5, 20458, 1},  {1900, 1, 1, -25567, 1},
        {2100, 12, 31, 47846, 5},  {1, 1, 1, -719162, 1},   {9999, 12, 31, 2932896, 5},
        {2024, 2, 29, 19782, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int y, m, d;
        int64_t days = ts_days_from_civil(cases[i].y, cases[i].m, cases[i].d);
        cr_expect_eq(days, cases[i].days, "days_from_civil(%04d-%02d-%02d) = %lld", cases[i].y,
                     cases[i].m, cases[i].d, (long long)days);
        ts_civil_from_days(cases[i].days, &y, &m, &d);
        cr_expect(y == cases[i].y && m == cases[i].m && d == cases[i].d,
                  "civil_from_days(%lld) = %04d-%02d-%02d", (long long)cases[i].days, y, m, d);
        cr_expect_eq(ts_weekday(cases[i].days), cases[i].wday, "weekday of %04d-%02d-%02d",
                     cases[i].y, cases[i].m, cases[i].d);
    }
}

Test(ts_days, every_day_1900_to_2100_round_trips)
{
    int64_t expect = ts_days_from_civil(1900, 1, 1);
    int wday = ts_weekday(expect);
    long count = 0;
    for (int y = 1900; y <= 2100; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= 31; d++) {
                if (!ts_valid_date(y, m, d))
                    continue;
                int64_t days = ts_days_from_civil(y, m, d);
                cr_assert_eq(days, expect, "%04d-%02d-%02d: %lld, want %lld", y, m, d,
                             (long long)days, (long long)expect);
                int yy, mm, dd;
                ts_civil_from_days(days, &yy, &mm, &dd);
                cr_assert(yy == y && mm == m && dd == d, "%lld -> %04d-%02d-%02d, want %04d-%02d-%02d",
                          (long long)days, yy, mm, dd, y, m, d);
                cr_assert_eq(ts_weekday(days), wday, "weekday of %04d-%02d-%02d", y, m, d);
                wday = (wday + 1) % 7;
                expect++;
                count++;
            }
        }
    }
    /* 201 years, 49 of them leap (2000 is, 1900 and 2100 are not). */
    cr_assert_eq(count, 201L * 365 + 49);
}

Test(ts_days, wide_range_days_round_trip)
{
    /* Year 1 to 9999, the range ts_valid_date accepts. */
    for (int64_t days = -719162; days <= 2932896; days += 7) {
        int y, m, d;
        ts_civil_from_days(days, &y, &m, &d);
        cr_assert(ts_valid_date(y, m, d), "%lld -> %d-%d-%d invalid", (long long)days, y, m, d);
        cr_assert_eq(ts_days_from_civil(y, m, d), days, "%lld -> %d-%d-%d", (long long)days, y,
                     m, d);
    }
}

Test(ts_valid_date, table)
{
    static const struct {
        int y, m, d, want;
    } cases[] = {
        {1900, 2, 29, 0}, {2000, 2, 29, 1}, {2024, 2, 29, 1}, {2023, 2, 29, 0}, {2100, 2, 29, 0},
        {2024, 2, 30, 0}, {2026, 2, 28, 1}, {2026, 4, 30, 1}, {2026, 4, 31, 0}, {2026, 12, 31, 1},
        {2026, 1, 31, 1}, {2026, 1, 32, 0}, {2026, 13, 1, 0}, {2026, 0, 1, 0},  {2026, 1, 0, 0},
        {2026, -1, 1, 0}, {2026, 1, -1, 0}, {0, 1, 1, 0},     {1, 1, 1, 1},     {9999, 12, 31, 1},
        {10000, 1, 1, 0}, {-5, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(ts_valid_date(cases[i].y, cases[i].m, cases[i].d), cases[i].want,
                     "ts_valid_date(%d, %d, %d)", cases[i].y, cases[i].m, cases[i].d);
}

Test(ts_ist, conversions)
{
    cr_assert_eq(ts_from_ist(2026, 1, 5, 9, 15, 0), T0);
    cr_assert_eq(ts_from_ist(1970, 1, 1, 5, 30, 0), 0);
    cr_assert_eq(ts_from_ist(1970, 1, 1, 0, 0, 0), -TS_IST_OFFSET_NS);

    struct ts_civil c;
    ts_to_ist(T0, &c); /* UTC 03:45 = IST 09:15 */
    cr_assert(c.year == 2026 && c.month == 1 && c.day == 5 && c.hour == 9 && c.minute == 15 &&
              c.second == 0 && c.nsec == 0 && c.wday == 1);

    ts_to_ist(T0 + 123456789, &c);
    cr_assert_eq(c.nsec, 123456789);

    /* UTC 18:30 is IST midnight: the IST day changes there, not at UTC midnight. */
    ts_to_ist(T0 + 14 * TS_NS_PER_HOUR + 45 * TS_NS_PER_MIN - 1, &c); /* 2026-01-05 18:29:59.999Z */
    cr_assert(c.day == 5 && c.hour == 23 && c.minute == 59 && c.second == 59 &&
              c.nsec == 999999999 && c.wday == 1);
    ts_to_ist(T0 + 14 * TS_NS_PER_HOUR + 45 * TS_NS_PER_MIN, &c);
    cr_assert(c.day == 6 && c.hour == 0 && c.minute == 0 && c.wday == 2);

    /* Before 1970: floor semantics, never a negative hour or nsec. */
    ts_to_ist(-1, &c);
    cr_assert(c.year == 1970 && c.month == 1 && c.day == 1 && c.hour == 5 && c.minute == 29 &&
              c.second == 59 && c.nsec == 999999999 && c.wday == 4);
    ts_to_ist(-TS_IST_OFFSET_NS - 1, &c);
    cr_assert(c.year == 1969 && c.month == 12 && c.day == 31 && c.hour == 23 && c.wday == 3);
    ts_to_ist(ts_from_ist(1900, 1, 1, 0, 0, 0), &c);
    cr_assert(c.year == 1900 && c.month == 1 && c.day == 1 && c.hour == 0 && c.wday == 1);
}

Test(ts_ist, day_numbers_and_midnight)
{
    int64_t day = ts_days_from_civil(2026, 1, 5);
    cr_assert_eq(ts_ist_day(T0), day);
    cr_assert_eq(ts_ist_midnight(day), T0 - 9 * TS_NS_PER_HOUR - 15 * TS_NS_PER_MIN);
    cr_assert_eq(ts_ist_day(ts_ist_midnight(day)), day);
    cr_assert_eq(ts_ist_day(ts_ist_midnight(day) - 1), day - 1);
    cr_assert_eq(ts_ist_day(0), 0);
    cr_assert_eq(ts_ist_day(-TS_IST_OFFSET_NS), 0);
    cr_assert_eq(ts_ist_day(-TS_IST_OFFSET_NS - 1), -1);
    cr_assert_eq(ts_weekday(day), 1);
    cr_assert_eq(ts_weekday(day + 5), 6);
    cr_assert_eq(ts_weekday(day + 6), 0);
    cr_assert_eq(ts_weekday(-7), 4);
    cr_assert_eq(ts_weekday(-8), 3);
    for (int64_t d = -800; d <= 800; d++) {
        ts_ns m = ts_ist_midnight(d);
        cr_assert_eq(ts_ist_day(m), d);
        cr_assert_eq(ts_ist_day(m + TS_NS_PER_DAY - 1), d);
        cr_assert_eq(ts_weekday(d + 1), (ts_weekday(d) + 1) % 7);
    }
}

Test(ts_ist, extreme_timestamps_do_not_overflow)
{
    struct ts_civil c;
    ts_to_ist(INT64_MAX, &c); /* 2262-04-11T23:47:16.854775807Z */
    cr_assert(c.year == 2262 && c.month == 4 && c.day == 12 && c.hour == 5 && c.minute == 17 &&
              c.second == 16 && c.nsec == 854775807);
    ts_to_ist(INT64_MIN, &c); /* 1677-09-21T00:12:43.145224192Z */
    cr_assert(c.year == 1677 && c.month == 9 && c.day == 21 && c.hour == 5 && c.minute == 42 &&
              c.second == 43 && c.nsec == 145224192);
    cr_assert_eq(ts_ist_day(INT64_MAX), ts_days_from_civil(2262, 4, 12));
    cr_assert_eq(ts_ist_day(INT64_MIN), ts_days_from_civil(1677, 9, 21));
    char buf[TS_STR_MAX];
    ts_format_ist(INT64_MAX, buf, sizeof buf);
    cr_assert_str_eq(buf, "2262-04-12T05:17:16.854+05:30");
}

struct parse_case {
    const char *text;
    ts_ns want;
    int date_only;
};

static const struct parse_case good_cases[] = {
    {"2026-01-05T09:15:00+05:30", T0, 0},
    {"2026-01-05 09:15:00", T0, 0},             /* no offset: IST */
    {"2026-01-05T09:15:00", T0, 0},
    {"2026-01-05T09:15", T0, 0},                /* seconds optional */
    {"2026-01-05T03:45:00Z", T0, 0},
    {"2026-01-05T03:45Z", T0, 0},
    {"2026-01-05T09:15:00+0530", T0, 0},        /* offset without colon */
    {"2026-01-05T09:15+05:30", T0, 0},
    {"2026-01-04T22:15:00-05:30", T0, 0},
    {"2026-01-05T03:45:00+00:00", T0, 0},
    {"2026-01-05T03:45:00-00:00", T0, 0},
    {"2026-01-05T09:15:00.123456789+05:30", T0 + 123456789, 0},
    {"2026-01-05T09:15:00.5", T0 + 500000000, 0},
    {"2026-01-05T09:15:00,25", T0 + 250000000, 0},
    {"2026-01-05T09:15:00.000001", T0 + 1000, 0},
    {"2026-01-05T03:45:00.123Z", T0 + 123000000, 0},
    {"2026-01-05T09:15:00.1234567891", T0 + 123456789, 0}, /* past ns: truncated */
    {"2026-01-05", T0 - 9 * TS_NS_PER_HOUR - 15 * TS_NS_PER_MIN, 1}, /* 00:00 IST */
    {"  2026-01-05T09:15:00+05:30 \r", T0, 0},
    {"\t2026-01-05\t", T0 - 9 * TS_NS_PER_HOUR - 15 * TS_NS_PER_MIN, 1},
    {"1767584700000", T0, 0},                   /* epoch milliseconds */
    {"1767584700123", T0 + 123000000, 0},
    {"000000000", 0, 0},
    {"-1000000000", -1000000000LL * TS_NS_PER_MS, 0},
    {"1969-12-31T23:59:59Z", -TS_NS_PER_SEC, 0},
    {"1970-01-01T00:00:00Z", 0, 0},
    {"1900-01-01", -2209008600LL * TS_NS_PER_SEC, 1},
    {"2024-02-29T23:59:59.999999999+05:30",
     (19782LL * 86400 + 86399 - 19800) * TS_NS_PER_SEC + 999999999, 0},
    /* The ends of the int64 ns range. */
    {"2262-04-11T23:47:16.854775807Z", INT64_MAX, 0},
    {"1677-09-21T00:12:43.145224192Z", INT64_MIN, 0},
    {"9223372036854", 9223372036854LL * TS_NS_PER_MS, 0},
    {"-9223372036854", -9223372036854LL * TS_NS_PER_MS, 0},
};

Test(ts_parse, accepted_forms)
{
    for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++) {
        const struct parse_case *c = &good_cases[i];
        ts_ns t = 42;
        int date_only = -1;
        struct atp_err err;
        atp_err_clear(&err);
        int rc = ts_parse(c->text, strlen(c->text), &t, &date_only, &err);
        cr_expect_eq(rc, ATP_OK, "ts_parse(\"%s\") = %s: %s", c->text, atp_status_name(rc),
                     err.msg);
        if (rc != ATP_OK)
            continue;
        cr_expect_eq(t, c->want, "ts_parse(\"%s\") = %lld, want %lld", c->text, (long long)t,
                     (long long)c->want);
        cr_expect_eq(date_only, c->date_only, "ts_parse(\"%s\") date_only", c->text);
        /* date_only may be NULL */
        ts_ns t2 = 0;
        cr_expect_eq(ts_parse(c->text, strlen(c->text), &t2, NULL, NULL), ATP_OK);
        cr_expect_eq(t2, t);
    }
}

static const char *const bad_cases[] = {
    "2026-13-01",
    "2026-00-10",
    "2026-02-30",
    "2025-02-29",
    "2026-01-32",
    "2026-01-05T25:00",
    "2026-01-05T24:00:00",
    "2026-01-05T09:60",
    "2026-01-05T09:15:60",
    "2026-01-05T09:15:00+05:30x",
    "2026-01-05T09:15:00Zx",
    "2026-01-05T09:15:00+5:30",
    "2026-01-05T09:15:00+05",
    "2026-01-05T09:15:00+15:00",
    "2026-01-05T09:15:00+05:60",
    "2026-01-05T09:15:00.",
    "2026-01-05T09:15.5",
    "2026-01-05T09:15:0",
    "2026-01-05T9:15",
    "2026-01-05T09",
    "2026-01-05T",
    "2026-01-05Z",
    "2026-01-05+05:30",
    "2026-01-05x",
    "2026-1-05",
    "2026/01/05",
    "26-01-05",
    "0000-01-01",
    "",
    "   ",
    "abc",
    "-",
    "12345",       /* short digit strings are neither dates nor epoch ms */
    "-12345",
    "20260105",    /* a compact date is not 8-digit epoch ms */
    "1767584700000x",
    "17675847000.5",
    /* Outside the int64 ns range (1677-09-21 .. 2262-04-11). */
    "9223372036855",
    "-9223372036855",
    "99999999999999",
    "999999999999999",
    "9223372036854775",
    "2262-04-11T23:47:16.854775808Z",
    "1677-09-21T00:12:43.145224191Z",
    "9999-12-31",
    "0001-01-01",
    "2263-01-01",
    "1600-01-01",
};

Test(ts_parse, rejected_forms)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const char *s = bad_cases[i];
        ts_ns t = 42;
        struct atp_err err;
        atp_err_clear(&err);
        int rc = ts_parse(s, strlen(s), &t, NULL, &err);
        cr_expect_eq(rc, ATP_EPARSE, "ts_parse(\"%s\") = %s (t=%lld)", s, atp_status_name(rc),
                     (long long)t);
        cr_expect_eq(err.code, ATP_EPARSE, "\"%s\": err.code", s);
        cr_expect_neq(err.msg[0], '\0', "\"%s\": err.msg empty", s);
        cr_expect_eq(t, 42, "\"%s\": output written on failure", s);
    }
}

Test(ts_parse, reads_exactly_len_bytes_and_names_the_text)
{
    ts_ns t = 0;
    int date_only = 0;
    cr_assert_eq(ts_parse("2026-01-05T09:15:00+05:30garbage", 25, &t, &date_only, NULL), ATP_OK);
    cr_assert_eq(t, T0);
    cr_assert_eq(ts_parse("2026-01-05T09:15:00", 10, &t, &date_only, NULL), ATP_OK);
    cr_assert_eq(date_only, 1);

    struct atp_err err;
    atp_err_clear(&err);
    cr_assert_eq(ts_parse("  2026-13-01", 12, &t, NULL, &err), ATP_EPARSE);
    cr_assert(strstr(err.msg, "'2026-13-01'") != NULL, "message: %s", err.msg);
}

Test(ts_format, ist)
{
    static const struct {
        ts_ns t;
        const char *text;
    } cases[] = {
        {T0, "2026-01-05T09:15:00+05:30"},
        {T0 + 1, "2026-01-05T09:15:00.000+05:30"},   /* not a whole second: ms shown */
        {T0 + TS_NS_PER_MS, "2026-01-05T09:15:00.001+05:30"},
        {T0 + 123456789, "2026-01-05T09:15:00.123+05:30"},
        {T0 + 999999999, "2026-01-05T09:15:00.999+05:30"}, /* truncated, never rounded up */
        {0, "1970-01-01T05:30:00+05:30"},
        {-1, "1970-01-01T05:29:59.999+05:30"},
        {-TS_IST_OFFSET_NS, "1970-01-01T00:00:00+05:30"},
        {-TS_IST_OFFSET_NS - TS_NS_PER_SEC, "1969-12-31T23:59:59+05:30"},
        {-2209008600LL * TS_NS_PER_SEC, "1900-01-01T00:00:00+05:30"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[TS_STR_MAX];
        int n = ts_format_ist(cases[i].t, buf, sizeof buf);
        cr_expect_str_eq(buf, cases[i].text, "ts_format_ist(%lld)", (long long)cases[i].t);
        cr_expect_eq(n, (int)strlen(cases[i].text));
        /* Whatever we print parses back to the same instant, to the millisecond. */
        ts_ns back = 0;
        cr_expect_eq(ts_parse(buf, strlen(buf), &back, NULL, NULL), ATP_OK, "%s", buf);
        cr_expect_eq(back, cases[i].t - ((cases[i].t % TS_NS_PER_MS) + TS_NS_PER_MS) % TS_NS_PER_MS,
                     "%s parses back to %lld", buf, (long long)back);
    }
}

Test(ts_format, ist_date)
{
    char buf[TS_STR_MAX];
    cr_assert_eq(ts_format_ist_date(T0, buf, sizeof buf), 10);
    cr_assert_str_eq(buf, "2026-01-05");
    /* 20:00 UTC on the 5th is already the 6th in India. */
    ts_format_ist_date(T0 + 16 * TS_NS_PER_HOUR, buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-01-06");
    ts_format_ist_date(-TS_IST_OFFSET_NS - 1, buf, sizeof buf);
    cr_assert_str_eq(buf, "1969-12-31");
}
