#include "core/err.h"

#include <stdio.h>
#include <string.h>

void atp_err_clear(struct atp_err *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
}

int atp_err_set(struct atp_err *err, int code, const char *file, long line, const char *field,
                const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    err->line = line;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int atp_err_locate(struct atp_err *err, const char *file, long line)
{
    if (!err)
        return ATP_EINVAL;
    if (file)
        snprintf(err->file, sizeof err->file, "%s", file);
    err->line = line;
    return err->code;
}

const char *atp_err_format(const struct atp_err *err, char *buf, unsigned long size)
{
    size_t n = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (err->file[0]) {
        if (err->line > 0)
            n += (size_t)snprintf(buf + n, size - n, "%s:%ld: ", err->file, err->line);
        else
            n += (size_t)snprintf(buf + n, size - n, "%s: ", err->file);
    } else if (err->line > 0) {
        n += (size_t)snprintf(buf + n, size - n, "line %ld: ", err->line);
    }
    if (n < size && err->field[0])
        n += (size_t)snprintf(buf + n, size - n, "field '%s': ", err->field);
    if (n < size)
        snprintf(buf + n, size - n, "%s", err->msg[0] ? err->msg : atp_status_name(err->code));
    return buf;
}

const char *atp_status_name(int code)
{
    switch (code) {
    case ATP_OK: return "OK";
    case ATP_EINVAL: return "EINVAL";
    case ATP_EPARSE: return "EPARSE";
    case ATP_ENOMEM: return "ENOMEM";
    case ATP_EIO: return "EIO";
    case ATP_ENOTFOUND: return "ENOTFOUND";
    case ATP_EOVERFLOW: return "EOVERFLOW";
    case ATP_ERANGE: return "ERANGE";
    case ATP_ESTATE: return "ESTATE";
    case ATP_EEXIST: return "EEXIST";
    }
    return "EUNKNOWN";
}
