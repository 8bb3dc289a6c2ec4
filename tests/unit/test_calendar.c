/* Tests of core/cal against the shipped data/nse_holidays.csv: sessions and phases, holidays,
 * weekends, next open, trading day, and year boundaries. Times are IST. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/cal.h"
#include "core/ts.h"
#include "testutil.h"

static struct cal *cal;
static long live_at_start;

static void setup(void)
{
    live_at_start = atp_alloc_live();
    cal = cal_new();
    cr_assert_not_null(cal);
    struct atp_err err;
    int rc = cal_load(cal, tu_root_path("data/nse_holidays.csv"), &err);
    cr_assert_eq(rc, ATP_OK, "%s:%ld: %s", err.file, err.line, err.msg);
}

static void teardown(void)
{
    cal_free(cal);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak");
}

TestSuite(calendar, .init = setup, .fini = teardown);

static ts_ns at(int y, int mo, int d, int h, int mi, int s)
{
    return ts_from_ist(y, mo, d, h, mi, s);
}

static int64_t day(int y, int m, int d)
{
    return ts_days_from_civil(y, m, d);
}

static const char *day_str(int64_t ist_day, char *buf, size_t n)
{
    int y, m, d;
    ts_civil_from_days(ist_day, &y, &m, &d);
    snprintf(buf, n, "%04d-%02d-%02d", y, m, d);
    return buf;
}

Test(calendar, shipped_file_has_every_listed_weekday_holiday)
{
    cr_assert_eq(cal_holiday_count(cal), 30, "14 in 2025 + 16 in 2026");
    static const int hol[][3] = {
        {2025, 2, 26}, {2025, 3, 14}, {2025, 3, 31}, {2025, 4, 10}, {2025, 4, 14}, {2025, 4, 18},
        {2025, 5, 1},  {2025, 8, 15}, {2025, 8, 27}, {2025, 10, 2}, {2025, 10, 21}, {2025, 10, 22},
        {2025, 11, 5}, {2025, 12, 25}, {2026, 1, 15}, {2026, 1, 26}, {2026, 3, 3}, {2026, 3, 26},
        {2026, 3, 31}, {2026, 4, 3},  {2026, 4, 14}, {2026, 5, 1},  {2026, 5, 28}, {2026, 6, 26},
        {2026, 9, 14}, {2026, 10, 2}, {2026, 10, 20}, {2026, 11, 10}, {2026, 11, 24}, {2026, 12, 25},
    };
    for (size_t i = 0; i < sizeof hol / sizeof hol[0]; i++) {
        int64_t d = day(hol[i][0], hol[i][1], hol[i][2]);
        int wd = ts_weekday(d);
        cr_assert(wd >= 1 && wd <= 5, "%d-%d-%d is a weekend day", hol[i][0], hol[i][1], hol[i][2]);
        cr_assert_not(cal_is_trading_day(cal, d), "%d-%d-%d should be a holiday", hol[i][0],
                      hol[i][1], hol[i][2]);
    }
    /* 261 weekdays in each year, minus the listed holidays. */
    int n2025 = 0, n2026 = 0;
    for (int64_t d = day(2025, 1, 1); d < day(2026, 1, 1); d++)
        n2025 += cal_is_trading_day(cal, d);
    for (int64_t d = day(2026, 1, 1); d < day(2027, 1, 1); d++)
        n2026 += cal_is_trading_day(cal, d);
    cr_assert_eq(n2025, 261 - 14);
    cr_assert_eq(n2026, 261 - 16);
}

Test(calendar, phases_and_is_open)
{
    static const struct {
        int y, mo, d, h, mi, s;
        enum cal_phase phase;
    } cases[] = {
        {2026, 1, 5, 8, 59, 59, CAL_CLOSED},          /* Monday, before pre-open */
        {2026, 1, 5, 9, 0, 0, CAL_PREOPEN},           /* pre-open starts */
        {2026, 1, 5, 9, 7, 59, CAL_PREOPEN},
        {2026, 1, 5, 9, 8, 0, CAL_PREOPEN_MATCH},     /* matching and buffer */
        {2026, 1, 5, 9, 14, 59, CAL_PREOPEN_MATCH},
        {2026, 1, 5, 9, 15, 0, CAL_CONTINUOUS},       /* open */
        {2026, 1, 5, 12, 0, 0, CAL_CONTINUOUS},
        {2026, 1, 5, 15, 29, 59, CAL_CONTINUOUS},
        {2026, 1, 5, 15, 30, 0, CAL_CLOSED},          /* close is exclusive */
        {2026, 1, 5, 23, 59, 59, CAL_CLOSED},
        {2026, 1, 3, 10, 0, 0, CAL_CLOSED},           /* Saturday */
        {2026, 1, 4, 10, 0, 0, CAL_CLOSED},           /* Sunday */
        {2026, 1, 15, 9, 5, 0, CAL_CLOSED},           /* holiday pre-open (elections) */
        {2026, 1, 15, 10, 0, 0, CAL_CLOSED},          /* holiday */
        {2026, 1, 26, 10, 0, 0, CAL_CLOSED},          /* Republic Day, a Monday */
        {2026, 1, 27, 10, 0, 0, CAL_CONTINUOUS},      /* day after */
        {2026, 11, 8, 18, 15, 0, CAL_CLOSED},         /* Muhurat Sunday: not modelled */
        {2025, 10, 21, 10, 0, 0, CAL_CLOSED},         /* Diwali Laxmi Pujan 2025 */
        {2025, 10, 23, 10, 0, 0, CAL_CONTINUOUS},
        {2026, 12, 31, 15, 29, 0, CAL_CONTINUOUS},    /* last session of 2026 */
        {2027, 1, 1, 9, 15, 0, CAL_CONTINUOUS},       /* 1 Jan 2027 is a Friday, not listed */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ts_ns t = at(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi, cases[i].s);
        cr_assert_eq(cal_phase_at(cal, t), cases[i].phase, "%d-%02d-%02d %02d:%02d:%02d: phase %d",
                     cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi, cases[i].s,
                     cal_phase_at(cal, t));
        cr_assert_eq(cal_is_open(cal, t), cases[i].phase == CAL_CONTINUOUS);
    }
    /* One nanosecond either side of the bell. */
    ts_ns open = at(2026, 1, 5, 9, 15, 0), close = at(2026, 1, 5, 15, 30, 0);
    cr_assert_not(cal_is_open(cal, open - 1));
    cr_assert(cal_is_open(cal, open));
    cr_assert(cal_is_open(cal, close - 1));
    cr_assert_not(cal_is_open(cal, close));
}

Test(calendar, next_open)
{
    static const struct {
        int y, mo, d, h, mi, s;   /* from */
        int ey, emo, ed;          /* expected session day (opens 09:15) */
    } cases[] = {
        {2026, 1, 5, 9, 15, 0, 2026, 1, 5},    /* exactly at the open: now */
        {2026, 1, 5, 8, 0, 0, 2026, 1, 5},     /* before pre-open */
        {2026, 1, 5, 9, 5, 0, 2026, 1, 5},     /* during pre-open */
        {2026, 1, 5, 10, 0, 0, 2026, 1, 6},    /* open now: the next one */
        {2026, 1, 5, 16, 0, 0, 2026, 1, 6},    /* after close */
        {2026, 1, 2, 16, 0, 0, 2026, 1, 5},    /* Friday evening: Monday */
        {2026, 1, 3, 12, 0, 0, 2026, 1, 5},    /* Saturday */
        {2026, 1, 14, 16, 0, 0, 2026, 1, 16},  /* skips the 15 Jan holiday */
        {2026, 1, 23, 16, 0, 0, 2026, 1, 27},  /* Friday before Republic Day Monday */
        {2026, 4, 2, 15, 30, 0, 2026, 4, 6},   /* Good Friday then the weekend */
        {2026, 3, 30, 16, 0, 0, 2026, 4, 1},   /* Mahavir Jayanti Tuesday */
        {2025, 12, 24, 16, 0, 0, 2025, 12, 26}, /* Christmas 2025 */
        {2025, 12, 31, 16, 0, 0, 2026, 1, 1},  /* into the new year */
        {2026, 12, 24, 16, 0, 0, 2026, 12, 28}, /* Christmas Friday, weekend */
        {2026, 12, 31, 16, 0, 0, 2027, 1, 1},  /* beyond the shipped list: weekdays */
        {2027, 1, 1, 16, 0, 0, 2027, 1, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ts_ns t = at(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi, cases[i].s);
        ts_ns want = at(cases[i].ey, cases[i].emo, cases[i].ed, 9, 15, 0);
        ts_ns got = cal_next_open(cal, t);
        char g[TS_STR_MAX];
        ts_format_ist(got, g, sizeof g);
        cr_assert_eq(got, want, "from %d-%02d-%02d %02d:%02d: got %s", cases[i].y, cases[i].mo,
                     cases[i].d, cases[i].h, cases[i].mi, g);
        cr_assert(cal_is_open(cal, got));
        cr_assert_eq(cal_next_open(cal, got), got, "an open is its own next open");
    }
}

Test(calendar, trading_day_next_and_previous)
{
    static const struct {
        int y, mo, d, h, mi;
        int ey, emo, ed;
    } trading[] = {
        {2026, 1, 5, 10, 0, 2026, 1, 5},     /* in session */
        {2026, 1, 5, 7, 0, 2026, 1, 5},      /* before pre-open, same day */
        {2026, 1, 5, 20, 0, 2026, 1, 5},     /* after close: still that trading day */
        {2026, 1, 3, 10, 0, 2026, 1, 5},     /* Saturday -> Monday */
        {2026, 1, 4, 23, 59, 2026, 1, 5},    /* Sunday night -> Monday */
        {2026, 1, 15, 10, 0, 2026, 1, 16},   /* holiday -> next day */
        {2026, 1, 24, 10, 0, 2026, 1, 27},   /* Saturday before Republic Day Monday */
        {2025, 12, 25, 10, 0, 2025, 12, 26}, /* Christmas 2025 */
        {2026, 12, 26, 10, 0, 2026, 12, 28}, /* Saturday after Christmas 2026 */
        {2027, 1, 2, 10, 0, 2027, 1, 4},     /* weekend in the new year */
        {2026, 1, 4, 23, 59, 2026, 1, 5},
    };
    for (size_t i = 0; i < sizeof trading / sizeof trading[0]; i++) {
        ts_ns t = at(trading[i].y, trading[i].mo, trading[i].d, trading[i].h, trading[i].mi, 0);
        char g[16];
        int64_t got = cal_trading_day(cal, t);
        cr_assert_eq(got, day(trading[i].ey, trading[i].emo, trading[i].ed),
                     "%d-%02d-%02d %02d:%02d -> %s", trading[i].y, trading[i].mo, trading[i].d,
                     trading[i].h, trading[i].mi, day_str(got, g, sizeof g));
    }
    /* IST, not UTC: 2026-01-05 00:30 IST is still 2026-01-04 in UTC (a Sunday). */
    cr_assert_eq(cal_trading_day(cal, at(2026, 1, 5, 0, 30, 0)), day(2026, 1, 5));
    /* 2026-01-03 23:00 UTC is Sunday 04:30 IST. */
    cr_assert_eq(ts_ist_day(at(2026, 1, 4, 4, 30, 0)), day(2026, 1, 4));

    static const struct {
        int y, m, d;
        int ny, nm, nd; /* next */
        int py, pm, pd; /* previous */
    } steps[] = {
        {2026, 1, 5, 2026, 1, 6, 2026, 1, 2},
        {2025, 12, 31, 2026, 1, 1, 2025, 12, 30},  /* year boundary forward */
        {2026, 1, 1, 2026, 1, 2, 2025, 12, 31},    /* and back */
        {2025, 12, 26, 2025, 12, 29, 2025, 12, 24}, /* around Christmas 2025 */
        {2026, 1, 14, 2026, 1, 16, 2026, 1, 13},
        {2026, 1, 27, 2026, 1, 28, 2026, 1, 23},   /* back over Republic Day and a weekend */
        {2026, 3, 30, 2026, 4, 1, 2026, 3, 27},    /* 31 Mar holiday; 26 Mar holiday */
        {2026, 4, 2, 2026, 4, 6, 2026, 4, 1},      /* Good Friday */
        {2026, 12, 31, 2027, 1, 1, 2026, 12, 30},
        {2026, 12, 28, 2026, 12, 29, 2026, 12, 24},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int64_t d = day(steps[i].y, steps[i].m, steps[i].d);
        char g[16];
        int64_t n = cal_next_trading_day(cal, d), p = cal_prev_trading_day(cal, d);
        cr_assert_eq(n, day(steps[i].ny, steps[i].nm, steps[i].nd), "next of %d-%d-%d: %s",
                     steps[i].y, steps[i].m, steps[i].d, day_str(n, g, sizeof g));
        cr_assert_eq(p, day(steps[i].py, steps[i].pm, steps[i].pd), "prev of %d-%d-%d: %s",
                     steps[i].y, steps[i].m, steps[i].d, day_str(p, g, sizeof g));
    }
}

/* cal_load's own contract: comments, CRLF, bad dates named by file, line and field. */
static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/atp_cal_test_%d.csv", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

#define TEXT_64 "0123456789012345678901234567890123456789012345678901234567890123"
#define LONG_TEXT TEXT_64 TEXT_64 TEXT_64 TEXT_64 TEXT_64 TEXT_64 TEXT_64 TEXT_64 TEXT_64 TEXT_64

Test(calendar, load_errors_and_formats)
{
    static const struct {
        const char *text;
        int rc;
        long line;
        int count;
    } cases[] = {
        {"# c\r\ndate,description\r\n2026-01-26,Republic Day\r\n", ATP_OK, 0, 1},
        {"date,description\n\n2026-01-26,x\n# 2026-01-27\n2026-03-03\n", ATP_OK, 0, 2},
        {"2026-01-26,no header\n", ATP_OK, 0, 1},
        {"date,description\n2026-01-26,x\n2026-13-01,bad\n", ATP_EPARSE, 3, -1},
        {"date,description\n26/01/2026,x\n", ATP_EPARSE, 2, -1},
        {"date,description\n2026-01-26T10:00,x\n", ATP_EPARSE, 2, -1},
        /* Files as spreadsheets save them: byte-order mark, capitalised header, quotes, blank
         * lines holding spaces, long descriptions. */
        {"\xEF\xBB\xBF" "date,description\n2026-01-26,x\n", ATP_OK, 0, 1},
        {"Date,Description\n2026-01-26,x\n", ATP_OK, 0, 1},
        {"date,description\n\"2026-01-26\",\"Republic Day, national\"\n", ATP_OK, 0, 1},
        {"date,description\n   \n2026-01-26,x\n", ATP_OK, 0, 1},
        {"date,description\n 2026-01-26 ,x\n", ATP_OK, 0, 1},
        {"date,description\n2026-01-26," LONG_TEXT "\n2026-03-03,y\nbad,z\n", ATP_EPARSE, 4, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cal *c = cal_new();
        struct atp_err err;
        atp_err_clear(&err);
        const char *path = write_tmp(cases[i].text);
        int rc = cal_load(c, path, &err);
        cr_assert_eq(rc, cases[i].rc, "case %zu: %s", i, err.msg);
        if (rc == ATP_OK) {
            cr_assert_eq(cal_holiday_count(c), cases[i].count, "case %zu", i);
        } else {
            cr_assert_eq(err.line, cases[i].line, "case %zu", i);
            cr_assert_str_eq(err.file, path);
            cr_assert_str_eq(err.field, "date");
        }
        cal_free(c);
        unlink(path);
    }
    struct cal *c = cal_new();
    struct atp_err err;
    cr_assert_eq(cal_load(c, "/nonexistent/holidays.csv", &err), ATP_EIO);
    /* Loading the same file twice adds nothing new. */
    cr_assert_eq(cal_load(c, tu_root_path("data/nse_holidays.csv"), &err), ATP_OK);
    cr_assert_eq(cal_load(c, tu_root_path("data/nse_holidays.csv"), &err), ATP_OK);
    cr_assert_eq(cal_holiday_count(c), 30);
    cal_free(c);
}
