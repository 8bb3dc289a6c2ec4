#include "core/log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static FILE *log_out;
static enum log_level log_min = LOG_WARN;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_set_output(FILE *f)
{
    log_out = f;
}

void log_set_level(enum log_level level)
{
    log_min = level;
}

int log_level_parse(const char *text)
{
    for (int i = 0; i <= LOG_OFF; i++)
        if (strcasecmp(text, level_names[i]) == 0)
            return i;
    return -1;
}

/* Appends s JSON-escaped to buf[*n..size). */
static void escape(char *buf, size_t size, size_t *n, const char *s)
{
    for (; *s && *n + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*n)++] = '\\';
            buf[(*n)++] = (char)c;
        } else if (c < 0x20) {
            *n += (size_t)snprintf(buf + *n, size - *n, "\\u%04x", c);
        } else {
            buf[(*n)++] = (char)c;
        }
    }
}

static void vlog(enum log_level level, const char *module, const char *key, const char *value,
                 const char *fmt, va_list ap)
{
    char msg[1024], line[2800];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    size_t n = (size_t)snprintf(line, sizeof line, "{\"ts\":%lld.%03ld,\"level\":\"%s\",\"module\":\"",
                                (long long)now.tv_sec, now.tv_nsec / 1000000, level_names[level]);
    escape(line, sizeof line, &n, module ? module : "");
    if (key && value) {
        n += (size_t)snprintf(line + n, sizeof line - n, "\",\"");
        escape(line, sizeof line, &n, key);
        n += (size_t)snprintf(line + n, sizeof line - n, "\":\"");
        escape(line, sizeof line, &n, value);
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "\",\"msg\":\"");
    escape(line, sizeof line, &n, msg);
    snprintf(line + n, sizeof line - n, "\"}\n");
    fputs(line, log_out ? log_out : stderr);
}

void atp_log(enum log_level level, const char *module, const char *fmt, ...)
{
    if (level < log_min || level >= LOG_OFF)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, module, NULL, NULL, fmt, ap);
    va_end(ap);
}

void atp_log_kv(enum log_level level, const char *module, const char *key, const char *value,
                const char *fmt, ...)
{
    if (level < log_min || level >= LOG_OFF)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, module, key, value, fmt, ap);
    va_end(ap);
}
