/* core/csv: the one CSV reader every parser in ATP uses (tick files, bar files, instrument
 * masters, holiday lists). RFC 4180 fields: comma-separated, optional double quotes with ""
 * escapes, CRLF or LF line ends; a quoted field cannot span lines. Lines are read from a FILE
 * (fmemopen works, which is how fuzz targets feed bytes). A line holds at most CSV_LINE_MAX - 1
 * bytes before its '\n' (a '\r' counts); a longer one is an error, so hostile input cannot grow
 * memory without bound. A UTF-8 byte-order mark at the start of the file is dropped. */
#ifndef ATP_CORE_CSV_H
#define ATP_CORE_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

#define CSV_MAX_FIELDS 64
#define CSV_LINE_MAX 65536

/* One field of the current row: points into the reader's line buffer, valid until the next read.
 * Not NUL-terminated in general; len is exact. */
struct csv_field {
    const char *ptr;
    size_t len;
};

struct csv_reader {
    FILE *f;
    const char *name;   /* file name for messages (not owned) */
    long line;          /* 1-based physical line of the row just read (skipped lines count) */
    char *buf;          /* owned line buffer */
    size_t cap;
    int nfields;
    struct csv_field fields[CSV_MAX_FIELDS];
};

/* Prepares a reader over f (not owned, not closed by cleanup). name is kept by pointer. */
void csv_reader_init(struct csv_reader *r, FILE *f, const char *name);
void csv_reader_cleanup(struct csv_reader *r);

/* Reads the next non-empty row into r->fields. Returns 1 when a row was read, 0 at end of file,
 * or a negative atp_status with err filled (file, line, reason): ATP_EPARSE for a line too long,
 * more than CSV_MAX_FIELDS fields, an unterminated quote or a NUL byte; ATP_ENOMEM; ATP_EIO for a
 * read error (never reported as end of file). After an error the offending line has been consumed
 * and the next call reads the line after it. Blank lines and lines whose first non-blank character
 * is '#' are skipped as comments. */
int csv_read_row(struct csv_reader *r, struct atp_err *err);

/* Reads the header row and maps each of the n names to its column index in col[] (-1 when
 * absent, found like csv_find_column). required(k) says whether names[k] must be present (NULL:
 * none is required). Returns ATP_OK; ATP_EPARSE with file and line for an empty file ("no header
 * row") or a missing required column (err->field = its name); the reader's errors otherwise. */
int csv_read_header(struct csv_reader *r, const char *const *names, int n, int (*required)(int k),
                    int *col, struct atp_err *err);

/* Index of the column whose header (current row) equals name, ASCII case-insensitively and
 * ignoring surrounding spaces; -1 when absent. */
int csv_find_column(const struct csv_reader *r, const char *name);

/* 1 when field i of the current row exists and equals s case-insensitively. */
int csv_field_eq(const struct csv_reader *r, int i, const char *s);

/* Copies field i (trimmed of spaces) into buf as a NUL-terminated string; an absent field gives
 * "". Returns ATP_OK or ATP_ERANGE when it does not fit. */
int csv_field_copy(const struct csv_reader *r, int i, char *buf, size_t size);

/* Field i trimmed of surrounding spaces; {NULL-safe "" , 0} when absent. */
struct csv_field csv_field_get(const struct csv_reader *r, int i);

/* Parses field i (trimmed) as a signed 64-bit decimal integer: optional sign, digits ("" is
 * ATP_EPARSE). Accepts a ".0" suffix written by float-printing tools ("15000.0"), nothing else
 * fractional. Outside INT64_MIN..INT64_MAX is ATP_EOVERFLOW. *out is untouched on failure. */
int csv_field_int(const struct csv_reader *r, int i, long long *out, struct atp_err *err);

#endif
