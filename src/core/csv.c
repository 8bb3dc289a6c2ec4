#include "core/csv.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"

void csv_reader_init(struct csv_reader *r, FILE *f, const char *name)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->name = name ? name : "<input>";
}

void csv_reader_cleanup(struct csv_reader *r)
{
    atp_free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

/* Reads one physical line (without its terminator) into r->buf. Returns length, -1 at EOF,
 * -2 when too long, -3 on a NUL byte, -4 when out of memory. On every error the rest of the line
 * is consumed, so the next call starts on the next line. */
static long read_line(struct csv_reader *r)
{
    size_t n = 0;
    int c, too_long = 0, nul = 0, oom = 0;
    while ((c = fgetc(r->f)) != EOF && c != '\n') {
        if (c == '\0')
            nul = 1;
        if (too_long || oom)
            continue;
        if (n + 1 >= CSV_LINE_MAX) {
            too_long = 1;
            continue;
        }
        if (n + 1 >= r->cap) {
            size_t cap = r->cap * 2;
            char *b = atp_realloc(r->buf, cap);
            if (!b) {
                oom = 1;
                continue;
            }
            r->buf = b;
            r->cap = cap;
        }
        r->buf[n++] = (char)c;
    }
    if (c == EOF && n == 0 && !too_long && !oom)
        return -1;
    if (n > 0 && r->buf[n - 1] == '\r')
        n--;
    r->buf[n] = '\0';
    if (oom)
        return -4;
    if (too_long)
        return -2;
    if (nul)
        return -3;
    return (long)n;
}

/* Splits r->buf[0..len) in place into fields, unescaping quoted ones. */
static int split(struct csv_reader *r, size_t len, struct atp_err *err)
{
    char *s = r->buf, *end = r->buf + len;
    r->nfields = 0;
    for (;;) {
        if (r->nfields == CSV_MAX_FIELDS)
            return atp_err_set(err, ATP_EPARSE, r->name, r->line, NULL,
                               "more than %d fields in a row", CSV_MAX_FIELDS);
        struct csv_field *fd = &r->fields[r->nfields++];
        char *p = s;
        while (p < end && *p == ' ')
            p++;
        if (p < end && *p == '"') {
            char *w = p, *q = p + 1;
            fd->ptr = w;
            for (;;) {
                if (q >= end)
                    return atp_err_set(err, ATP_EPARSE, r->name, r->line, NULL,
                                       "unterminated quoted field %d", r->nfields);
                if (*q == '"') {
                    if (q + 1 < end && q[1] == '"') {
                        *w++ = '"';
                        q += 2;
                        continue;
                    }
                    q++;
                    break;
                }
                *w++ = *q++;
            }
            fd->len = (size_t)(w - fd->ptr);
            while (q < end && *q == ' ')
                q++;
            if (q < end && *q != ',')
                return atp_err_set(err, ATP_EPARSE, r->name, r->line, NULL,
                                   "characters after closing quote in field %d", r->nfields);
            s = q;
        } else {
            fd->ptr = s;
            char *c = memchr(s, ',', (size_t)(end - s));
            s = c ? c : end;
            fd->len = (size_t)(s - fd->ptr);
        }
        if (s >= end)
            break;
        s++; /* past the comma */
    }
    return ATP_OK;
}

int csv_read_row(struct csv_reader *r, struct atp_err *err)
{
    for (;;) {
        if (ferror(r->f))
            return atp_err_set(err, ATP_EIO, r->name, r->line, NULL, "read error");
        if (!r->buf) { /* before reading, so a retry after ENOMEM starts on the same line */
            r->buf = atp_malloc(256);
            if (!r->buf)
                return atp_err_set(err, ATP_ENOMEM, r->name, r->line + 1, NULL, "out of memory");
            r->cap = 256;
        }
        long n = read_line(r);
        if (ferror(r->f)) /* fgetc's EOF also means a failed read: never report that as the end */
            return atp_err_set(err, ATP_EIO, r->name, r->line + 1, NULL, "read error");
        if (n == -1)
            return 0;
        r->line++;
        if (n == -4)
            return atp_err_set(err, ATP_ENOMEM, r->name, r->line, NULL, "out of memory");
        if (n == -2)
            return atp_err_set(err, ATP_EPARSE, r->name, r->line, NULL,
                               "line longer than %d bytes", CSV_LINE_MAX);
        if (n == -3)
            return atp_err_set(err, ATP_EPARSE, r->name, r->line, NULL, "NUL byte in line");
        size_t len = (size_t)n;
        /* UTF-8 byte-order mark, before the blank/comment test so "BOM# ..." is a comment. */
        if (r->line == 1 && len >= 3 && (unsigned char)r->buf[0] == 0xEF &&
            (unsigned char)r->buf[1] == 0xBB && (unsigned char)r->buf[2] == 0xBF) {
            memmove(r->buf, r->buf + 3, len - 3 + 1);
            len -= 3;
        }
        size_t i = 0;
        while (i < len && (r->buf[i] == ' ' || r->buf[i] == '\t'))
            i++;
        if (i == len || r->buf[i] == '#')
            continue;
        int rc = split(r, len, err);
        return rc == ATP_OK ? 1 : rc;
    }
}

struct csv_field csv_field_get(const struct csv_reader *r, int i)
{
    struct csv_field f = {"", 0};
    if (i < 0 || i >= r->nfields)
        return f;
    f = r->fields[i];
    while (f.len && (f.ptr[0] == ' ' || f.ptr[0] == '\t')) {
        f.ptr++;
        f.len--;
    }
    while (f.len && (f.ptr[f.len - 1] == ' ' || f.ptr[f.len - 1] == '\t'))
        f.len--;
    return f;
}

int csv_field_eq(const struct csv_reader *r, int i, const char *s)
{
    struct csv_field f = csv_field_get(r, i);
    size_t n = strlen(s);
    return i >= 0 && i < r->nfields && f.len == n && strncasecmp(f.ptr, s, n) == 0;
}

int csv_find_column(const struct csv_reader *r, const char *name)
{
    for (int i = 0; i < r->nfields; i++)
        if (csv_field_eq(r, i, name))
            return i;
    return -1;
}

int csv_field_copy(const struct csv_reader *r, int i, char *buf, size_t size)
{
    struct csv_field f = csv_field_get(r, i);
    if (f.len + 1 > size) {
        if (size)
            buf[0] = '\0';
        return ATP_ERANGE;
    }
    memcpy(buf, f.ptr, f.len);
    buf[f.len] = '\0';
    return ATP_OK;
}

int csv_field_int(const struct csv_reader *r, int i, long long *out, struct atp_err *err)
{
    struct csv_field f = csv_field_get(r, i);
    size_t k = 0;
    int neg = 0, overflow = 0;
    unsigned long long v = 0;
    if (k < f.len && (f.ptr[k] == '-' || f.ptr[k] == '+'))
        neg = f.ptr[k++] == '-';
    /* Magnitude limit: INT64_MAX, or 2^63 for INT64_MIN. */
    const unsigned long long limit = (unsigned long long)INT64_MAX + (unsigned long long)neg;
    size_t start = k;
    for (; k < f.len && isdigit((unsigned char)f.ptr[k]); k++) {
        unsigned d = (unsigned)(f.ptr[k] - '0');
        if (overflow || v > (limit - d) / 10)
            overflow = 1;
        else
            v = v * 10 + d;
    }
    int digits = k > start;
    if (k < f.len && f.ptr[k] == '.') { /* "15000.0": only zeros may follow */
        k++;
        while (k < f.len && f.ptr[k] == '0')
            k++;
    }
    if (!digits || k != f.len)
        return atp_err_set(err, ATP_EPARSE, r->name, r->line, NULL, "'%.*s' is not an integer",
                           (int)(f.len > 40 ? 40 : f.len), f.ptr);
    if (overflow)
        return atp_err_set(err, ATP_EOVERFLOW, r->name, r->line, NULL,
                           "integer '%.*s' does not fit in 64 bits", (int)(f.len > 40 ? 40 : f.len),
                           f.ptr);
    *out = neg ? (v ? -(long long)(v - 1) - 1 : 0) : (long long)v; /* no overflow at 2^63 */
    return ATP_OK;
}

int csv_read_header(struct csv_reader *r, const char *const *names, int n, int (*required)(int k),
                    int *col, struct atp_err *err)
{
    int rc = csv_read_row(r, err);
    if (rc == 0)
        return atp_err_set(err, ATP_EPARSE, r->name, 0, NULL, "empty file: no header row");
    if (rc < 0)
        return rc;
    for (int k = 0; k < n; k++) {
        col[k] = csv_find_column(r, names[k]);
        if (col[k] < 0 && required && required(k))
            return atp_err_set(err, ATP_EPARSE, r->name, r->line, names[k],
                               "required column '%s' is missing", names[k]);
    }
    return ATP_OK;
}
