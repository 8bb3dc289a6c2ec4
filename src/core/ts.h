/* core/ts: time. A timestamp is int64 nanoseconds since the Unix epoch, UTC (ts_ns). India has no
 * daylight saving, so IST is a fixed +05:30 and civil conversion needs no time-zone database.
 * Calendar arithmetic uses Howard Hinnant's days_from_civil / civil_from_days algorithms. */
#ifndef ATP_CORE_TS_H
#define ATP_CORE_TS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef int64_t ts_ns;

#define TS_NS_PER_US 1000LL
#define TS_NS_PER_MS 1000000LL
#define TS_NS_PER_SEC 1000000000LL
#define TS_NS_PER_MIN (60LL * TS_NS_PER_SEC)
#define TS_NS_PER_HOUR (60LL * TS_NS_PER_MIN)
#define TS_NS_PER_DAY (24LL * TS_NS_PER_HOUR)
#define TS_IST_OFFSET_NS (19800LL * TS_NS_PER_SEC) /* +05:30 */

/* A civil date and time in some zone (IST in this project unless a name says otherwise). */
struct ts_civil {
    int year;
    int month;  /* 1..12 */
    int day;    /* 1..31 */
    int hour;   /* 0..23 */
    int minute; /* 0..59 */
    int second; /* 0..59 (leap seconds are not represented) */
    int32_t nsec;
    int wday;   /* 0 = Sunday .. 6 = Saturday (filled by conversions from ts) */
};

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t ts_days_from_civil(int year, int month, int day);
void ts_civil_from_days(int64_t days, int *year, int *month, int *day);

/* 1 when year-month-day names a real date. */
int ts_valid_date(int year, int month, int day);

/* UTC timestamp -> IST civil time (any ts_ns, INT64_MIN..INT64_MAX), and IST civil time -> UTC
 * timestamp (the caller keeps the date inside the ts_ns range, 1677-09-21..2262-04-11). */
void ts_to_ist(ts_ns t, struct ts_civil *out);
ts_ns ts_from_ist(int year, int month, int day, int hour, int minute, int second);

/* IST calendar day of t as days since 1970-01-01 (an "IST day number"). */
int64_t ts_ist_day(ts_ns t);
/* Midnight IST starting the given IST day number, as a UTC timestamp. */
ts_ns ts_ist_midnight(int64_t ist_day);
/* Weekday of an IST day number: 0 = Sunday .. 6 = Saturday. */
int ts_weekday(int64_t ist_day);

/* Parses a timestamp of exactly len bytes (surrounding spaces/tabs and a trailing '\r' ignored).
 * Accepted forms:
 *   - epoch milliseconds: only digits (optionally '-'), at least 9 of them so that "20260105" or
 *     "12345" is never taken for ms, e.g. "1767584700000";
 *   - ISO 8601 "YYYY-MM-DD[(T| )hh:mm[:ss[.fffffffff]]][Z|(+|-)hh[:]mm]"; without an offset the
 *     time is taken as IST (the exchange's zone), and a date alone means 00:00 IST that day.
 *     Fraction digits past nanoseconds are truncated; ',' may stand for '.'.
 * *date_only (may be NULL) is set to 1 when the text was a date without a time.
 * Returns ATP_OK or ATP_EPARSE with err->msg naming what is wrong, also when the instant falls
 * outside the ts_ns range (1677-09-21T00:12:43.145224192Z .. 2262-04-11T23:47:16.854775807Z);
 * *out is untouched on failure. */
int ts_parse(const char *text, size_t len, ts_ns *out, int *date_only, struct atp_err *err);

/* Formats t in IST as "YYYY-MM-DDThh:mm:ss+05:30" (with ".mmm" milliseconds, truncated, when t is
 * not a whole second: 500 ns past a second prints ".000"). Needs TS_STR_MAX bytes. Returns the
 * length. */
#define TS_STR_MAX 40
int ts_format_ist(ts_ns t, char *buf, size_t size);

/* Formats the IST date of t as "YYYY-MM-DD". Returns the length. */
int ts_format_ist_date(ts_ns t, char *buf, size_t size);

#endif
