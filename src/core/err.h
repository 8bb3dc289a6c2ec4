/* core/err: the one error enum of ATP and the detail a user reads.
 *
 * Functions that can fail return an enum atp_status (ATP_OK = 0, failures negative) and, where a
 * person will read the failure, fill a struct atp_err naming the file, line and field at fault.
 * Domain outcomes (a risk denial, a rejected order) are not errors and never use this enum. */
#ifndef ATP_CORE_ERR_H
#define ATP_CORE_ERR_H

#include <stdarg.h>

enum atp_status {
    ATP_OK = 0,
    ATP_EINVAL = -1,   /* bad argument or bad value (a field out of range, an unknown name) */
    ATP_EPARSE = -2,   /* malformed text: CSV row, number, timestamp */
    ATP_ENOMEM = -3,   /* allocation failed (or was injected to fail) */
    ATP_EIO = -4,      /* file could not be opened, read or written */
    ATP_ENOTFOUND = -5,/* look-up found nothing (symbol, token, indicator) */
    ATP_EOVERFLOW = -6,/* fixed-point arithmetic would overflow int64 */
    ATP_ERANGE = -7,   /* value outside a documented range (price off tick, qty off lot) */
    ATP_ESTATE = -8,   /* call not valid in the object's current state */
    ATP_EEXIST = -9,   /* duplicate where a unique key was required */
};

/* Detail for a failure a person will read. All fields are optional; an empty string means
 * "not applicable". Kept on the stack by callers; never allocates. */
struct atp_err {
    int code;           /* enum atp_status of the failure */
    char file[128];     /* input file name, if any */
    long line;          /* 1-based input line, 0 when not applicable */
    char field[48];     /* column, parameter or JSON field at fault */
    char msg[256];      /* human-readable reason, without file/line/field */
};

/* Resets err to "no error". err may be NULL. */
void atp_err_clear(struct atp_err *err);

/* Fills err (if non-NULL) and returns code, so callers can write `return atp_err_set(...)`.
 * file and field may be NULL. The message is printf-formatted and truncated to fit. */
int atp_err_set(struct atp_err *err, int code, const char *file, long line, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Sets only the location (file, line) of an error already filled by a lower layer that did not
 * know it, leaving code, field and msg alone. Returns err->code. */
int atp_err_locate(struct atp_err *err, const char *file, long line);

/* Formats err as one line into buf: "FILE:LINE: field 'F': MSG". Absent parts are left out
 * ("FILE: MSG" without a line, "line 3: MSG" without a file); an empty MSG prints the status
 * name. Truncated to fit size (always NUL-terminated when size > 0). Returns buf. */
const char *atp_err_format(const struct atp_err *err, char *buf, unsigned long size);

/* Short constant name of a status code, e.g. "EPARSE". */
const char *atp_status_name(int code);

#endif
