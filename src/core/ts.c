#include "core/ts.h"

#include <stdio.h>

int64_t ts_days_from_civil(int year, int month, int day)
{
    /* Hinnant, "chrono-Compatible Low-Level Date Algorithms". */
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ts_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(y + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

int ts_valid_date(int year, int month, int day)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int max = mdays[month - 1] + (month == 2 && leap);
    return day <= max;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Splits t into an IST day number and the ns since IST midnight, without computing
 * t + TS_IST_OFFSET_NS (which overflows for t near INT64_MAX, a common "never" sentinel). */
static int64_t ist_split(ts_ns t, int64_t *ns_of_day)
{
    int64_t days = floor_div(t, TS_NS_PER_DAY);
    int64_t rem = t % TS_NS_PER_DAY;
    if (rem < 0)
        rem += TS_NS_PER_DAY;
    rem += TS_IST_OFFSET_NS;
    if (rem >= TS_NS_PER_DAY) {
        days++;
        rem -= TS_NS_PER_DAY;
    }
    *ns_of_day = rem;
    return days;
}

int64_t ts_ist_day(ts_ns t)
{
    int64_t rem;
    return ist_split(t, &rem);
}

ts_ns ts_ist_midnight(int64_t ist_day)
{
    return ist_day * TS_NS_PER_DAY - TS_IST_OFFSET_NS;
}

int ts_weekday(int64_t ist_day)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t w = (ist_day + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

void ts_to_ist(ts_ns t, struct ts_civil *out)
{
    int64_t rem;
    int64_t days = ist_split(t, &rem);
    ts_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(rem / TS_NS_PER_HOUR);
    rem %= TS_NS_PER_HOUR;
    out->minute = (int)(rem / TS_NS_PER_MIN);
    rem %= TS_NS_PER_MIN;
    out->second = (int)(rem / TS_NS_PER_SEC);
    out->nsec = (int32_t)(rem % TS_NS_PER_SEC);
    out->wday = ts_weekday(days);
}

ts_ns ts_from_ist(int year, int month, int day, int hour, int minute, int second)
{
    return ts_days_from_civil(year, month, day) * TS_NS_PER_DAY + hour * TS_NS_PER_HOUR +
           minute * TS_NS_PER_MIN + second * TS_NS_PER_SEC - TS_IST_OFFSET_NS;
}

/* Reads exactly n digits at *p into *v; 0 when they are not all digits or run past end. */
static int digits(const char **p, const char *end, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return 0;
        x = x * 10 + (**p - '0');
        (*p)++;
    }
    *v = x;
    return 1;
}

#define BAD(...) atp_err_set(err, ATP_EPARSE, NULL, 0, NULL, __VA_ARGS__)

int ts_parse(const char *text, size_t len, ts_ns *out, int *date_only, struct atp_err *err)
{
    const char *p = text, *end = text + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    const char *start = p; /* the trimmed text, for messages */
    int shown = (int)(end - p > 40 ? 40 : end - p);
    if (p == end)
        return BAD("empty timestamp");

    /* Epoch milliseconds: all digits, at least 9 of them so "20260105" is not taken as ms. */
    const char *q = p + (*p == '-');
    int all_digits = q < end;
    for (const char *r = q; r < end; r++)
        all_digits &= *r >= '0' && *r <= '9';
    if (all_digits && end - q >= 9) {
        int64_t ms = 0;
        for (const char *r = q; r < end && ms <= INT64_MAX / TS_NS_PER_MS; r++)
            ms = ms * 10 + (*r - '0');
        if (ms > INT64_MAX / TS_NS_PER_MS) /* symmetric: -ms fits as well */
            return BAD("epoch milliseconds '%.*s' out of range", shown, start);
        *out = (*p == '-' ? -ms : ms) * TS_NS_PER_MS;
        if (date_only)
            *date_only = 0;
        return ATP_OK;
    }

    int year, month, day, hour = 0, minute = 0, second = 0;
    int64_t nsec = 0;
    int64_t offset_ns = TS_IST_OFFSET_NS;
    if (!digits(&p, end, 4, &year) || p >= end || *p++ != '-' || !digits(&p, end, 2, &month) ||
        p >= end || *p++ != '-' || !digits(&p, end, 2, &day))
        return BAD("timestamp '%.*s' is not ISO 8601 (YYYY-MM-DD[Thh:mm:ss][+05:30]) or epoch ms",
                   shown, start);
    if (!ts_valid_date(year, month, day))
        return BAD("'%.*s' is not a real date", shown, start);
    int has_time = 0;
    if (p < end && (*p == 'T' || *p == ' ')) {
        p++;
        has_time = 1;
        if (!digits(&p, end, 2, &hour) || p >= end || *p++ != ':' || !digits(&p, end, 2, &minute))
            return BAD("timestamp '%.*s' has a malformed time (hh:mm[:ss])", shown, start);
        if (p < end && *p == ':') {
            p++;
            if (!digits(&p, end, 2, &second))
                return BAD("timestamp '%.*s' has malformed seconds", shown, start);
            if (p < end && (*p == '.' || *p == ',')) {
                p++;
                int n = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                    if (n < 9)
                        nsec = nsec * 10 + (*p - '0');
                    n++;
                    p++;
                }
                if (n == 0)
                    return BAD("timestamp '%.*s' has an empty fraction", shown, start);
                for (; n < 9; n++)
                    nsec *= 10;
            }
        }
        if (hour > 23 || minute > 59 || second > 59)
            return BAD("timestamp '%.*s' has an out-of-range time", shown, start);
        if (p < end) {
            if (*p == 'Z') {
                offset_ns = 0;
                p++;
            } else if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1, oh, om;
                if (!digits(&p, end, 2, &oh))
                    return BAD("timestamp '%.*s' has a malformed offset", shown, start);
                if (p < end && *p == ':')
                    p++;
                if (!digits(&p, end, 2, &om) || oh > 14 || om > 59)
                    return BAD("timestamp '%.*s' has a malformed offset", shown, start);
                offset_ns = sign * (oh * TS_NS_PER_HOUR + om * TS_NS_PER_MIN);
            }
        }
    }
    if (p != end)
        return BAD("timestamp '%.*s' has trailing characters", shown, start);
    /* Whole seconds cannot overflow (|year| <= 9999); the ns value may, outside 1677..2262. A
     * negative second count borrows one second so that secs * 1e9 stays inside the result. */
    int64_t secs = ts_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                   second - offset_ns / TS_NS_PER_SEC;
    if (secs < 0 && nsec > 0) {
        secs++;
        nsec -= TS_NS_PER_SEC;
    }
    ts_ns t;
    if (__builtin_mul_overflow(secs, TS_NS_PER_SEC, &t) || __builtin_add_overflow(t, nsec, &t))
        return BAD("timestamp '%.*s' is outside 1677-09-21..2262-04-11", shown, start);
    *out = t;
    if (date_only)
        *date_only = !has_time;
    return ATP_OK;
}

int ts_format_ist(ts_ns t, char *buf, size_t size)
{
    struct ts_civil c;
    ts_to_ist(t, &c);
    if (c.nsec == 0)
        return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d+05:30", c.year, c.month, c.day,
                        c.hour, c.minute, c.second);
    return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+05:30", c.year, c.month, c.day,
                    c.hour, c.minute, c.second, (int)(c.nsec / 1000000));
}

int ts_format_ist_date(ts_ns t, char *buf, size_t size)
{
    struct ts_civil c;
    ts_to_ist(t, &c);
    return snprintf(buf, size, "%04d-%02d-%02d", c.year, c.month, c.day);
}
