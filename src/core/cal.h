/* core/cal: the NSE trading calendar. Sessions are fixed IST times (pre-open 09:00-09:08,
 * order matching and buffer to 09:15, continuous 09:15-15:30); trading days are weekdays that are
 * not exchange holidays; holidays come from a data file (data/nse_holidays.csv), never from code.
 * A cal is immutable after loading and may be read from any thread. */
#ifndef ATP_CORE_CAL_H
#define ATP_CORE_CAL_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/ts.h"

/* Session times as offsets from IST midnight. */
#define CAL_PREOPEN_START_NS (9 * TS_NS_PER_HOUR)
#define CAL_PREOPEN_END_NS (9 * TS_NS_PER_HOUR + 8 * TS_NS_PER_MIN)
#define CAL_OPEN_NS (9 * TS_NS_PER_HOUR + 15 * TS_NS_PER_MIN)
#define CAL_CLOSE_NS (15 * TS_NS_PER_HOUR + 30 * TS_NS_PER_MIN)
#define CAL_SESSION_NS (CAL_CLOSE_NS - CAL_OPEN_NS) /* 375 minutes */

enum cal_phase {
    CAL_CLOSED = 0,        /* non-trading day, or outside every session window */
    CAL_PREOPEN = 1,       /* 09:00-09:08 order entry */
    CAL_PREOPEN_MATCH = 2, /* 09:08-09:15 matching and buffer: no order entry */
    CAL_CONTINUOUS = 3,    /* 09:15-15:30 normal market */
};

struct cal;

/* Creates an empty calendar (weekends only). Returns NULL on allocation failure. */
struct cal *cal_new(void);
void cal_free(struct cal *cal);

/* Loads holidays from a CSV file: header "date,description", dates YYYY-MM-DD, '#' comments.
 * Adds to what is already there. ATP_EIO / ATP_EPARSE with file and line in err. */
int cal_load(struct cal *cal, const char *path, struct atp_err *err);
/* The same from an open stream (not closed); path names it in messages. */
int cal_load_stream(struct cal *cal, FILE *f, const char *path, struct atp_err *err);

/* Adds one holiday (an IST day number, see ts_ist_day). ATP_ENOMEM on failure. */
int cal_add_holiday(struct cal *cal, int64_t ist_day);

/* Number of holidays loaded. */
int cal_holiday_count(const struct cal *cal);

/* 1 when the IST day is a trading day (a weekday and not a holiday). */
int cal_is_trading_day(const struct cal *cal, int64_t ist_day);

/* Phase of the market at t. */
enum cal_phase cal_phase_at(const struct cal *cal, ts_ns t);

/* 1 when the continuous session (09:15-15:30 IST on a trading day) is open at t. */
int cal_is_open(const struct cal *cal, ts_ns t);

/* Start of the first continuous session that opens at or after t (so t itself when t is exactly
 * 09:15 on a trading day; tomorrow's open when t is 10:00). Looks at most 3660 days ahead;
 * returns -1 when none is found (an absurd holiday file). */
ts_ns cal_next_open(const struct cal *cal, ts_ns t);

/* The trading day t belongs to, as an IST day number: t's IST date when that is a trading day,
 * else the next trading day (activity on a closed day belongs to the next session). -1 when no
 * trading day is found within 3660 days. */
int64_t cal_trading_day(const struct cal *cal, ts_ns t);

/* The next trading day strictly after ist_day (-1 when none within 3660 days), and the previous. */
int64_t cal_next_trading_day(const struct cal *cal, int64_t ist_day);
int64_t cal_prev_trading_day(const struct cal *cal, int64_t ist_day);

/* Continuous-session bounds of an IST day: [open, close). */
static inline ts_ns cal_session_open(int64_t ist_day) { return ts_ist_midnight(ist_day) + CAL_OPEN_NS; }
static inline ts_ns cal_session_close(int64_t ist_day) { return ts_ist_midnight(ist_day) + CAL_CLOSE_NS; }

#endif
