/* core/log: structured logs, one JSON object per line: {"ts":..., "level":"warn",
 * "module":"kernel", "msg":"..."}. Process-wide settings (output, minimum level) are set once at
 * start-up by app/; each line is written with a single stdio call, so lines from several threads
 * never interleave. Secrets must never be passed in (callers mask them). */
#ifndef ATP_CORE_LOG_H
#define ATP_CORE_LOG_H

#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Output stream (default stderr) and minimum level (default LOG_WARN). Not thread-safe: call
 * before other threads log. */
void log_set_output(FILE *f);
void log_set_level(enum log_level level);
/* "debug", "info", "warn", "error", "off" -> level; -1 for unknown text. */
int log_level_parse(const char *text);

/* Logs one line when level >= the minimum. module is a short name ("kernel", "oms"). The message
 * is printf-formatted, JSON-escaped and truncated at 1 KiB. */
void atp_log(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like atp_log, with one more string field in the record, placed before "msg": e.g. key
 * "request_id" ties every line of one HTTP request together. key and value are JSON-escaped;
 * a NULL key or value leaves the field out. */
void atp_log_kv(enum log_level level, const char *module, const char *key, const char *value,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
