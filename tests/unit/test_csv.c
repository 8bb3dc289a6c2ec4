/* core/csv: the line-based RFC 4180 reader and its field helpers. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/csv.h"
#include "testutil.h"

/* A reader over an in-memory buffer of exactly len bytes (may contain NUL). */
struct mem_csv {
    FILE *f;
    struct csv_reader r;
    struct atp_err err;
};

static void mem_open_n(struct mem_csv *m, const char *data, size_t len)
{
    m->f = fmemopen((void *)data, len, "r");
    cr_assert_not_null(m->f);
    csv_reader_init(&m->r, m->f, "t.csv");
    atp_err_clear(&m->err);
}

static void mem_open(struct mem_csv *m, const char *text)
{
    m->f = tu_mem_file(text);
    cr_assert_not_null(m->f);
    csv_reader_init(&m->r, m->f, "t.csv");
    atp_err_clear(&m->err);
}

static void mem_close(struct mem_csv *m)
{
    csv_reader_cleanup(&m->r);
    fclose(m->f);
}

static int next(struct mem_csv *m)
{
    atp_err_clear(&m->err);
    return csv_read_row(&m->r, &m->err);
}

/* Asserts the current row has exactly the given fields (NULL-terminated list), raw, untrimmed. */
static void expect_fields(const struct csv_reader *r, const char *const *want)
{
    int n = 0;
    while (want[n])
        n++;
    cr_assert_eq(r->nfields, n, "line %ld: %d fields, want %d", r->line, r->nfields, n);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(want[i]);
        cr_expect(r->fields[i].len == len && memcmp(r->fields[i].ptr, want[i], len) == 0,
                  "line %ld field %d: '%.*s', want '%s'", r->line, i, (int)r->fields[i].len,
                  r->fields[i].ptr, want[i]);
    }
}

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(csv_read, plain_rows_and_quotes)
{
    struct mem_csv m;
    mem_open(&m, "a,b,c\n"
                 "\"x,y\",\"say \"\"hi\"\"\",z\n"
                 "\"\",,\"\"\"\"\n"
                 "1,2,\n"
                 " \"q\" , r \n"
                 "single\n");
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("a", "b", "c"));
    cr_assert_eq(m.r.line, 1);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("x,y", "say \"hi\"", "z"));
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("", "", "\""));
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("1", "2", "")); /* a trailing comma is an empty last field */
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("q", " r "));  /* spaces around quotes are dropped */
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("single"));
    cr_assert_eq(m.r.line, 6);
    cr_assert_eq(next(&m), 0);
    cr_assert_eq(next(&m), 0); /* EOF is sticky */
    mem_close(&m);
}

Test(csv_read, crlf_and_missing_final_newline)
{
    struct mem_csv m;
    mem_open(&m, "a,b\r\n\"c\",\"d\"\r\n\r\ne,f");
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("a", "b"));
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("c", "d"));
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("e", "f"));
    cr_assert_eq(m.r.line, 4);
    cr_assert_eq(next(&m), 0);
    mem_close(&m);
}

Test(csv_read, bom_is_stripped_on_the_first_line_only)
{
    struct mem_csv m;
    mem_open(&m, "\xEF\xBB\xBF" "date,close\n2026-01-05,2450.55\n");
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("date", "close"));
    cr_assert_eq(csv_find_column(&m.r, "date"), 0);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("2026-01-05", "2450.55"));
    mem_close(&m);

    /* A BOM before a comment or a blank first line does not turn it into a row. */
    mem_open(&m, "\xEF\xBB\xBF# exported by a spreadsheet\ndate\n");
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("date"));
    cr_assert_eq(m.r.line, 2);
    mem_close(&m);
    mem_open(&m, "\xEF\xBB\xBF\r\ndate\n");
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("date"));
    cr_assert_eq(m.r.line, 2);
    mem_close(&m);
}

Test(csv_read, comments_and_blank_lines_skipped_but_counted)
{
    struct mem_csv m;
    mem_open(&m, "# header comment\n"
                 "\n"
                 "h1,h2\n"
                 "   \n"
                 "\t# indented comment\n"
                 "\r\n"
                 "1,2\n"
                 "x,# not a comment\n"
                 "\n"
                 "\n");
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("h1", "h2"));
    cr_assert_eq(m.r.line, 3);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("1", "2"));
    cr_assert_eq(m.r.line, 7);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("x", "# not a comment"));
    cr_assert_eq(m.r.line, 8);
    cr_assert_eq(next(&m), 0);
    mem_close(&m);
}

Test(csv_read, field_count_limit)
{
    char line64[CSV_MAX_FIELDS * 3 + 8], line65[sizeof line64 + 8];
    char text[sizeof line64 + sizeof line65 + 16];
    size_t n = 0;
    for (int i = 0; i < CSV_MAX_FIELDS; i++)
        n += (size_t)snprintf(line64 + n, sizeof line64 - n, "%s%d", i ? "," : "", i % 10);
    snprintf(line65, sizeof line65, "%s,x", line64);
    snprintf(text, sizeof text, "%s\n%s\nok\n", line64, line65);

    struct mem_csv m;
    mem_open(&m, text);
    cr_assert_eq(next(&m), 1);
    cr_assert_eq(m.r.nfields, CSV_MAX_FIELDS);
    cr_assert_eq(next(&m), ATP_EPARSE);
    cr_assert_eq(m.err.line, 2);
    cr_assert_str_eq(m.err.file, "t.csv");
    cr_assert(strstr(m.err.msg, "fields") != NULL, "%s", m.err.msg);
    cr_assert_eq(next(&m), 1); /* the reader carries on after a bad row */
    expect_fields(&m.r, FIELDS("ok"));
    cr_assert_eq(m.r.line, 3);
    mem_close(&m);
}

Test(csv_read, malformed_quotes)
{
    static const char *const bad[] = {
        "\"abc\n",        /* unterminated */
        "a,\"b\n",
        "\"ab\"c,d\n",    /* text after the closing quote */
        "\"a\nb\"\n",     /* quoted newlines are not supported: unterminated on line 1 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mem_csv m;
        mem_open(&m, bad[i]);
        cr_expect_eq(next(&m), ATP_EPARSE, "case %zu", i);
        cr_expect_eq(m.err.code, ATP_EPARSE);
        cr_expect_eq(m.err.line, 1, "case %zu: line %ld", i, m.err.line);
        cr_expect_str_eq(m.err.file, "t.csv");
        mem_close(&m);
    }
}

static char *repeat(char c, size_t n, const char *before, const char *after)
{
    size_t lb = strlen(before), la = strlen(after);
    char *s = malloc(lb + n + la + 1);
    cr_assert_not_null(s);
    memcpy(s, before, lb);
    memset(s + lb, c, n);
    memcpy(s + lb + n, after, la + 1);
    return s;
}

Test(csv_read, overlong_line_is_an_error_and_the_next_line_reads)
{
    char *text = repeat('x', CSV_LINE_MAX + 5000, "# c\nh1,h2\n", "\r\nnext,row\n");
    struct mem_csv m;
    mem_open(&m, text);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("h1", "h2"));
    cr_assert_eq(m.r.line, 2);
    cr_assert_eq(next(&m), ATP_EPARSE);
    cr_assert_eq(m.err.line, 3);
    cr_assert(strstr(m.err.msg, "longer") != NULL, "%s", m.err.msg);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("next", "row"));
    cr_assert_eq(m.r.line, 4);
    cr_assert_eq(next(&m), 0);
    mem_close(&m);
    free(text);

    /* Overlong last line without a newline: an error, then EOF. */
    text = repeat('y', CSV_LINE_MAX * 2, "", "");
    mem_open(&m, text);
    cr_assert_eq(next(&m), ATP_EPARSE);
    cr_assert_eq(m.err.line, 1);
    cr_assert_eq(next(&m), 0);
    mem_close(&m);
    free(text);
}

Test(csv_read, line_length_boundary)
{
    /* CSV_LINE_MAX - 1 bytes of content is the longest line; one more is an error. */
    char *ok = repeat('a', CSV_LINE_MAX - 1, "", "\n");
    struct mem_csv m;
    mem_open(&m, ok);
    cr_assert_eq(next(&m), 1);
    cr_assert_eq(m.r.fields[0].len, (size_t)CSV_LINE_MAX - 1);
    mem_close(&m);
    free(ok);

    char *bad = repeat('a', CSV_LINE_MAX, "", "\nb\n");
    mem_open(&m, bad);
    cr_assert_eq(next(&m), ATP_EPARSE);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("b"));
    cr_assert_eq(m.r.line, 2);
    mem_close(&m);
    free(bad);
}

Test(csv_read, long_lines_grow_the_buffer)
{
    char *text = repeat('z', 3000, "a,", ",b\nc\n");
    struct mem_csv m;
    mem_open(&m, text);
    cr_assert_eq(next(&m), 1);
    cr_assert_eq(m.r.nfields, 3);
    cr_assert_eq(m.r.fields[1].len, 3000u);
    cr_assert_eq(m.r.fields[2].len, 1u);
    cr_assert_eq(m.r.fields[2].ptr[0], 'b');
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("c"));
    mem_close(&m);
    free(text);
}

Test(csv_read, nul_byte_is_an_error)
{
    static const char data[] = "a,b\nc,\0d\ne,f\n";
    struct mem_csv m;
    mem_open_n(&m, data, sizeof data - 1);
    cr_assert_eq(next(&m), 1);
    cr_assert_eq(next(&m), ATP_EPARSE);
    cr_assert_eq(m.err.line, 2);
    cr_assert(strstr(m.err.msg, "NUL") != NULL, "%s", m.err.msg);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("e", "f"));
    cr_assert_eq(m.r.line, 3);
    mem_close(&m);
}

Test(csv_read, empty_input)
{
    FILE *f = fopen("/dev/null", "r");
    cr_assert_not_null(f);
    struct csv_reader r;
    struct atp_err err;
    csv_reader_init(&r, f, NULL);
    cr_assert_eq(csv_read_row(&r, &err), 0);
    cr_assert_eq(r.line, 0);
    csv_reader_cleanup(&r);
    fclose(f);

    struct mem_csv m;
    mem_open(&m, "\n\n# only comments\n  \n");
    cr_assert_eq(next(&m), 0);
    cr_assert_eq(m.r.line, 4);
    mem_close(&m);
}

Test(csv_read, read_error_is_not_eof)
{
    FILE *f = fopen("/dev/null", "w"); /* reading a write-only stream fails */
    cr_assert_not_null(f);
    struct csv_reader r;
    struct atp_err err;
    atp_err_clear(&err);
    csv_reader_init(&r, f, "out.csv");
    cr_assert_eq(csv_read_row(&r, &err), ATP_EIO);
    cr_assert_eq(err.code, ATP_EIO);
    cr_assert_str_eq(err.file, "out.csv");
    csv_reader_cleanup(&r);
    fclose(f);
}

Test(csv_read, allocation_failure_leaves_reader_usable)
{
    long live = atp_alloc_live();
    char *text = repeat('z', 1000, "", "\nnext\n");
    struct mem_csv m;
    mem_open(&m, text);
    atp_alloc_fail_after(2); /* the 256-byte buffer succeeds, growing it fails */
    cr_assert_eq(next(&m), ATP_ENOMEM);
    cr_assert_eq(m.err.line, 1);
    atp_alloc_fail_after(0);
    cr_assert_eq(next(&m), 1); /* the rest of the failed line was consumed */
    expect_fields(&m.r, FIELDS("next"));
    cr_assert_eq(m.r.line, 2);
    mem_close(&m);
    free(text);
    cr_assert_eq(atp_alloc_live(), live, "csv reader leaked");

    mem_open(&m, "a\nb\n");
    atp_alloc_fail_after(1); /* the first buffer: nothing is consumed, a retry reads line 1 */
    cr_assert_eq(next(&m), ATP_ENOMEM);
    cr_assert_eq(m.err.line, 1);
    cr_assert_eq(next(&m), 1);
    expect_fields(&m.r, FIELDS("a"));
    cr_assert_eq(m.r.line, 1);
    mem_close(&m);
    cr_assert_eq(atp_alloc_live(), live);
}

Test(csv_fields, find_column_get_eq)
{
    struct mem_csv m;
    mem_open(&m, "Date, Close ,VOLUME,\"Open Interest\",\t tab \n");
    cr_assert_eq(next(&m), 1);
    cr_expect_eq(csv_find_column(&m.r, "date"), 0);
    cr_expect_eq(csv_find_column(&m.r, "DATE"), 0);
    cr_expect_eq(csv_find_column(&m.r, "close"), 1);
    cr_expect_eq(csv_find_column(&m.r, "Volume"), 2);
    cr_expect_eq(csv_find_column(&m.r, "open interest"), 3);
    cr_expect_eq(csv_find_column(&m.r, "tab"), 4);
    cr_expect_eq(csv_find_column(&m.r, "open"), -1);
    cr_expect_eq(csv_find_column(&m.r, "clos"), -1);
    cr_expect_eq(csv_find_column(&m.r, "closer"), -1);
    cr_expect_eq(csv_find_column(&m.r, ""), -1);

    cr_expect(csv_field_eq(&m.r, 1, "CLOSE"));
    cr_expect(!csv_field_eq(&m.r, 5, ""));
    cr_expect(!csv_field_eq(&m.r, -1, ""));

    struct csv_field f = csv_field_get(&m.r, 1);
    cr_expect(f.len == 5 && memcmp(f.ptr, "Close", 5) == 0);
    f = csv_field_get(&m.r, 99);
    cr_expect(f.ptr != NULL && f.len == 0);
    f = csv_field_get(&m.r, -1);
    cr_expect(f.ptr != NULL && f.len == 0);
    mem_close(&m);
}

Test(csv_fields, copy)
{
    struct mem_csv m;
    mem_open(&m, " NIFTY , RELIANCE,\"  x  \"\n");
    cr_assert_eq(next(&m), 1);
    char buf[16];
    cr_expect_eq(csv_field_copy(&m.r, 0, buf, sizeof buf), ATP_OK);
    cr_expect_str_eq(buf, "NIFTY");
    cr_expect_eq(csv_field_copy(&m.r, 2, buf, sizeof buf), ATP_OK);
    cr_expect_str_eq(buf, "x");
    cr_expect_eq(csv_field_copy(&m.r, 1, buf, 9), ATP_OK); /* exactly fits: 8 + NUL */
    cr_expect_str_eq(buf, "RELIANCE");
    memset(buf, 'Q', sizeof buf);
    cr_expect_eq(csv_field_copy(&m.r, 1, buf, 8), ATP_ERANGE); /* one byte short */
    cr_expect_eq(buf[0], '\0');
    cr_expect_eq(buf[1], 'Q', "wrote past the empty string");
    buf[0] = 'Q';
    cr_expect_eq(csv_field_copy(&m.r, 1, buf, 0), ATP_ERANGE);
    cr_expect_eq(buf[0], 'Q', "size 0 must not write");
    cr_expect_eq(csv_field_copy(&m.r, 7, buf, sizeof buf), ATP_OK); /* absent: "" */
    cr_expect_str_eq(buf, "");
    mem_close(&m);
}

Test(csv_fields, integers)
{
    static const struct {
        const char *text;
        int rc;
        long long value;
    } cases[] = {
        {"15000", ATP_OK, 15000},
        {"15000.0", ATP_OK, 15000},
        {"15000.000", ATP_OK, 15000},
        {"15000.", ATP_OK, 15000},
        {" 42 ", ATP_OK, 42},
        {"+42", ATP_OK, 42},
        {"-42", ATP_OK, -42},
        {"0", ATP_OK, 0},
        {"-0", ATP_OK, 0},
        {"007", ATP_OK, 7},
        {"9223372036854775807", ATP_OK, INT64_MAX},
        {"-9223372036854775807", ATP_OK, -INT64_MAX},
        {"-9223372036854775808", ATP_OK, INT64_MIN},
        {"9223372036854775808", ATP_EOVERFLOW, 0},
        {"-9223372036854775809", ATP_EOVERFLOW, 0},
        {"9223372036854775810", ATP_EOVERFLOW, 0},
        {"99999999999999999999", ATP_EOVERFLOW, 0},
        {"1.5", ATP_EPARSE, 0},
        {"1.50", ATP_EPARSE, 0},
        {"1.05", ATP_EPARSE, 0},
        {".0", ATP_EPARSE, 0},
        {"", ATP_EPARSE, 0},
        {"-", ATP_EPARSE, 0},
        {"+", ATP_EPARSE, 0},
        {"4 2", ATP_EPARSE, 0},
        {"1e3", ATP_EPARSE, 0},
        {"0x10", ATP_EPARSE, 0},
        {"abc", ATP_EPARSE, 0},
        {"12abc", ATP_EPARSE, 0},
        {"--1", ATP_EPARSE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "sym,\"%s\"\n", cases[i].text);
        struct mem_csv m;
        mem_open(&m, line);
        cr_assert_eq(next(&m), 1, "%s", line);
        long long v = 777;
        atp_err_clear(&m.err);
        int rc = csv_field_int(&m.r, 1, &v, &m.err);
        cr_expect_eq(rc, cases[i].rc, "csv_field_int(\"%s\") = %s, want %s", cases[i].text,
                     atp_status_name(rc), atp_status_name(cases[i].rc));
        if (cases[i].rc == ATP_OK) {
            cr_expect_eq(v, cases[i].value, "csv_field_int(\"%s\") = %lld", cases[i].text, v);
        } else {
            cr_expect_eq(v, 777, "\"%s\": output written on failure", cases[i].text);
            cr_expect_eq(m.err.code, rc, "\"%s\": err.code", cases[i].text);
            cr_expect_eq(m.err.line, 1, "\"%s\": err.line", cases[i].text);
            cr_expect_str_eq(m.err.file, "t.csv");
        }
        mem_close(&m);
    }
    /* An absent column is not an integer. */
    struct mem_csv m;
    mem_open(&m, "1\n");
    cr_assert_eq(next(&m), 1);
    long long v = 0;
    cr_assert_eq(csv_field_int(&m.r, 3, &v, NULL), ATP_EPARSE);
    cr_assert_eq(csv_field_int(&m.r, 0, &v, NULL), ATP_OK);
    cr_assert_eq(v, 1);
    mem_close(&m);
}

Test(csv_reader, cleanup_frees_and_is_repeatable)
{
    long live = atp_alloc_live();
    struct mem_csv m;
    mem_open(&m, "a,b\n");
    cr_assert_eq(next(&m), 1);
    cr_assert_gt(atp_alloc_live(), live);
    csv_reader_cleanup(&m.r);
    cr_assert_eq(atp_alloc_live(), live);
    csv_reader_cleanup(&m.r); /* twice is harmless */
    cr_assert_eq(m.r.buf, NULL);
    fclose(m.f);
    cr_assert_eq(atp_alloc_live(), live);
}
