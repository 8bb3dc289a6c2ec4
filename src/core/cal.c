#include "core/cal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/csv.h"

#define CAL_SEARCH_DAYS 3660

struct cal {
    int64_t *holidays; /* sorted IST day numbers, unique */
    int count;
    int cap;
};

struct cal *cal_new(void)
{
    return atp_calloc(1, sizeof(struct cal));
}

void cal_free(struct cal *cal)
{
    if (!cal)
        return;
    atp_free(cal->holidays);
    atp_free(cal);
}

static int find(const struct cal *cal, int64_t day, int *pos)
{
    int lo = 0, hi = cal->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cal->holidays[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return lo < cal->count && cal->holidays[lo] == day;
}

int cal_add_holiday(struct cal *cal, int64_t ist_day)
{
    int pos;
    if (find(cal, ist_day, &pos))
        return ATP_OK;
    if (cal->count == cal->cap) {
        int cap = cal->cap ? cal->cap * 2 : 32;
        int64_t *h = atp_reallocarray(cal->holidays, (size_t)cap, sizeof *h);
        if (!h)
            return ATP_ENOMEM;
        cal->holidays = h;
        cal->cap = cap;
    }
    memmove(cal->holidays + pos + 1, cal->holidays + pos,
            (size_t)(cal->count - pos) * sizeof *cal->holidays);
    cal->holidays[pos] = ist_day;
    cal->count++;
    return ATP_OK;
}

/* Reads through core/csv like every other parser, so a byte-order mark, quoted or padded fields,
 * blank lines and long descriptions are handled the same way everywhere. */
int cal_load(struct cal *cal, const char *path, struct atp_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open holiday file");
    int rc = cal_load_stream(cal, f, path, err);
    fclose(f);
    return rc;
}

int cal_load_stream(struct cal *cal, FILE *f, const char *path, struct atp_err *err)
{
    struct csv_reader r;
    csv_reader_init(&r, f, path);
    int rc, first = 1;
    while ((rc = csv_read_row(&r, err)) == 1) {
        if (first && csv_field_eq(&r, 0, "date")) { /* the header is optional */
            first = 0;
            continue;
        }
        first = 0;
        struct csv_field d = csv_field_get(&r, 0);
        ts_ns t;
        int date_only = 0;
        rc = ts_parse(d.ptr, d.len, &t, &date_only, err);
        if (rc == ATP_OK && !date_only)
            rc = atp_err_set(err, ATP_EPARSE, NULL, 0, NULL, "holiday must be a date, not a time");
        if (rc != ATP_OK) {
            atp_err_locate(err, path, r.line);
            if (err)
                snprintf(err->field, sizeof err->field, "date");
            break;
        }
        rc = cal_add_holiday(cal, ts_ist_day(t));
        if (rc != ATP_OK) {
            atp_err_set(err, rc, path, r.line, NULL, "out of memory");
            break;
        }
    }
    csv_reader_cleanup(&r);
    return rc < 0 ? rc : ATP_OK;
}

int cal_holiday_count(const struct cal *cal)
{
    return cal->count;
}

int cal_is_trading_day(const struct cal *cal, int64_t ist_day)
{
    int wd = ts_weekday(ist_day), pos;
    if (wd == 0 || wd == 6)
        return 0;
    return !find(cal, ist_day, &pos);
}

enum cal_phase cal_phase_at(const struct cal *cal, ts_ns t)
{
    int64_t day = ts_ist_day(t);
    if (!cal_is_trading_day(cal, day))
        return CAL_CLOSED;
    ts_ns tod = t - ts_ist_midnight(day);
    if (tod >= CAL_OPEN_NS && tod < CAL_CLOSE_NS)
        return CAL_CONTINUOUS;
    if (tod >= CAL_PREOPEN_START_NS && tod < CAL_PREOPEN_END_NS)
        return CAL_PREOPEN;
    if (tod >= CAL_PREOPEN_END_NS && tod < CAL_OPEN_NS)
        return CAL_PREOPEN_MATCH;
    return CAL_CLOSED;
}

int cal_is_open(const struct cal *cal, ts_ns t)
{
    return cal_phase_at(cal, t) == CAL_CONTINUOUS;
}

int64_t cal_next_trading_day(const struct cal *cal, int64_t ist_day)
{
    for (int i = 1; i <= CAL_SEARCH_DAYS; i++)
        if (cal_is_trading_day(cal, ist_day + i))
            return ist_day + i;
    return -1;
}

int64_t cal_prev_trading_day(const struct cal *cal, int64_t ist_day)
{
    for (int i = 1; i <= CAL_SEARCH_DAYS; i++)
        if (cal_is_trading_day(cal, ist_day - i))
            return ist_day - i;
    return -1;
}

ts_ns cal_next_open(const struct cal *cal, ts_ns t)
{
    int64_t day = ts_ist_day(t);
    if (cal_is_trading_day(cal, day) && t <= cal_session_open(day))
        return cal_session_open(day);
    day = cal_next_trading_day(cal, day);
    return day < 0 ? -1 : cal_session_open(day);
}

int64_t cal_trading_day(const struct cal *cal, ts_ns t)
{
    int64_t day = ts_ist_day(t);
    if (cal_is_trading_day(cal, day))
        return day;
    return cal_next_trading_day(cal, day);
}
