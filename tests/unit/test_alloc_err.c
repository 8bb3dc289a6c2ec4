/* core/alloc (accounting, failure injection) and core/err (detail, formatting, names). */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

/* Every test leaves injection disabled whatever happens. */
static void reset_injection(void)
{
    atp_alloc_fail_after(0);
}

TestSuite(alloc, .init = reset_injection, .fini = reset_injection);

Test(alloc, live_accounting)
{
    long base = atp_alloc_live();
    void *a = atp_malloc(10);
    cr_assert_not_null(a);
    cr_assert_eq(atp_alloc_live(), base + 1);
    int *b = atp_calloc(4, sizeof *b);
    cr_assert_not_null(b);
    cr_assert(b[0] == 0 && b[3] == 0);
    cr_assert_eq(atp_alloc_live(), base + 2);
    char *c = atp_realloc(NULL, 3); /* realloc(NULL) is a new block */
    cr_assert_not_null(c);
    cr_assert_eq(atp_alloc_live(), base + 3);
    memcpy(c, "ab", 3);
    c = atp_realloc(c, 4096); /* growing an existing block is not a new one */
    cr_assert_not_null(c);
    cr_assert_str_eq(c, "ab");
    cr_assert_eq(atp_alloc_live(), base + 3);
    char *d = atp_strdup("NIFTY 50");
    cr_assert_str_eq(d, "NIFTY 50");
    cr_assert_eq(atp_alloc_live(), base + 4);
    void *e = atp_reallocarray(NULL, 8, 16);
    cr_assert_not_null(e);
    cr_assert_eq(atp_alloc_live(), base + 5);
    void *z = atp_malloc(0); /* size 0 still gives a freeable block */
    cr_assert_not_null(z);
    cr_assert_eq(atp_alloc_live(), base + 6);

    atp_free(NULL);
    cr_assert_eq(atp_alloc_live(), base + 6);
    atp_free(a);
    atp_free(b);
    atp_free(c);
    atp_free(d);
    atp_free(e);
    atp_free(z);
    cr_assert_eq(atp_alloc_live(), base);
}

Test(alloc, fail_after_injects_exactly_the_nth)
{
    for (long n = 1; n <= 5; n++) {
        long base = atp_alloc_live();
        void *blocks[8];
        atp_alloc_fail_after(n);
        for (long i = 1; i <= 8; i++) {
            blocks[i - 1] = atp_malloc(16);
            if (i == n)
                cr_assert_null(blocks[i - 1], "n=%ld: allocation %ld should fail", n, i);
            else
                cr_assert_not_null(blocks[i - 1], "n=%ld: allocation %ld should succeed", n, i);
        }
        cr_assert_eq(atp_alloc_live(), base + 7, "a failed allocation is not counted");
        for (int i = 0; i < 8; i++)
            atp_free(blocks[i]);
        cr_assert_eq(atp_alloc_live(), base);
    }
}

Test(alloc, fail_after_counts_every_entry_point)
{
    long base = atp_alloc_live();
    void *a = atp_malloc(8);
    atp_alloc_fail_after(5);
    void *b = atp_calloc(1, 8);        /* 1 */
    a = atp_realloc(a, 64);            /* 2 */
    char *s = atp_strdup("x");         /* 3 */
    void *c = atp_reallocarray(NULL, 2, 8); /* 4 */
    cr_assert(b && a && s && c);
    char *t = atp_strdup("fails");     /* 5 */
    cr_assert_null(t);
    char *u = atp_strdup("ok again");  /* one-shot: later ones succeed */
    cr_assert_not_null(u);
    atp_free(a);
    atp_free(b);
    atp_free(s);
    atp_free(c);
    atp_free(u);
    cr_assert_eq(atp_alloc_live(), base);
}

Test(alloc, injected_realloc_failure_keeps_the_block)
{
    long base = atp_alloc_live();
    char *p = atp_strdup("keep me");
    atp_alloc_fail_after(1);
    char *q = atp_realloc(p, 1 << 20);
    cr_assert_null(q);
    cr_assert_str_eq(p, "keep me");
    cr_assert_eq(atp_alloc_live(), base + 1);
    atp_free(p);
    cr_assert_eq(atp_alloc_live(), base);
}

Test(alloc, zero_disables_and_overflow_is_refused)
{
    long base = atp_alloc_live();
    atp_alloc_fail_after(2);
    atp_alloc_fail_after(0);
    void *a = atp_malloc(1), *b = atp_malloc(1), *c = atp_malloc(1);
    cr_assert(a && b && c);
    atp_free(a);
    atp_free(b);
    atp_free(c);

    /* count * size overflowing size_t is refused, not wrapped into a small block. */
    cr_assert_null(atp_calloc(SIZE_MAX / 2 + 2, 2));
    cr_assert_null(atp_reallocarray(NULL, SIZE_MAX / 4 + 1, 8));
    void *p = atp_malloc(8);
    cr_assert_null(atp_reallocarray(p, SIZE_MAX, SIZE_MAX));
    atp_free(p); /* the original block is still ours */
    cr_assert_eq(atp_alloc_live(), base);
}

Test(err, set_clear_locate)
{
    struct atp_err err;
    memset(&err, 0x5a, sizeof err);
    atp_err_clear(&err);
    cr_assert(err.code == 0 && err.file[0] == 0 && err.line == 0 && err.field[0] == 0 &&
              err.msg[0] == 0);
    atp_err_clear(NULL);

    cr_assert_eq(atp_err_set(&err, ATP_EPARSE, "f.csv", 3, "ltp", "bad %s %d", "value", 7),
                 ATP_EPARSE);
    cr_assert_eq(err.code, ATP_EPARSE);
    cr_assert_str_eq(err.file, "f.csv");
    cr_assert_eq(err.line, 3);
    cr_assert_str_eq(err.field, "ltp");
    cr_assert_str_eq(err.msg, "bad value 7");
    cr_assert_eq(atp_err_set(NULL, ATP_EIO, NULL, 0, NULL, "x"), ATP_EIO);

    /* NULL file and field mean "not applicable" */
    atp_err_set(&err, ATP_EINVAL, NULL, 0, NULL, "m");
    cr_assert(err.file[0] == 0 && err.field[0] == 0);

    /* locate fills the place, keeps code, field and message */
    atp_err_set(&err, ATP_ERANGE, NULL, 0, "qty", "off lot");
    cr_assert_eq(atp_err_locate(&err, "orders.csv", 12), ATP_ERANGE);
    cr_assert_str_eq(err.file, "orders.csv");
    cr_assert_eq(err.line, 12);
    cr_assert_str_eq(err.field, "qty");
    cr_assert_str_eq(err.msg, "off lot");
    cr_assert_eq(atp_err_locate(&err, NULL, 13), ATP_ERANGE);
    cr_assert_str_eq(err.file, "orders.csv");
    cr_assert_eq(err.line, 13);
    cr_assert_eq(atp_err_locate(NULL, "x", 1), ATP_EINVAL);
}

Test(err, set_truncates_long_parts)
{
    char longs[600];
    memset(longs, 'a', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    struct atp_err err;
    atp_err_set(&err, ATP_EPARSE, longs, 1, longs, "%s", longs);
    cr_assert_eq(strlen(err.file), sizeof err.file - 1);
    cr_assert_eq(strlen(err.field), sizeof err.field - 1);
    cr_assert_eq(strlen(err.msg), sizeof err.msg - 1);
}

Test(err, format_forms)
{
    static const struct {
        int code;
        const char *file;
        long line;
        const char *field;
        const char *msg;
        const char *want;
    } cases[] = {
        {ATP_EPARSE, "f.csv", 3, "ltp", "msg", "f.csv:3: field 'ltp': msg"},
        {ATP_EPARSE, "f.csv", 0, "ltp", "msg", "f.csv: field 'ltp': msg"},
        {ATP_EPARSE, NULL, 3, "ltp", "msg", "line 3: field 'ltp': msg"},
        {ATP_EPARSE, NULL, 0, "ltp", "msg", "field 'ltp': msg"},
        {ATP_EPARSE, "f.csv", 3, NULL, "msg", "f.csv:3: msg"},
        {ATP_EPARSE, NULL, 0, NULL, "msg", "msg"},
        {ATP_EPARSE, "f.csv", 3, "ltp", "", "f.csv:3: field 'ltp': EPARSE"},
        {ATP_ENOMEM, NULL, 0, NULL, "", "ENOMEM"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct atp_err err;
        char buf[256];
        atp_err_set(&err, cases[i].code, cases[i].file, cases[i].line, cases[i].field, "%s",
                    cases[i].msg);
        const char *got = atp_err_format(&err, buf, sizeof buf);
        cr_expect_eq(got, buf);
        cr_expect_str_eq(buf, cases[i].want, "case %zu", i);
    }
}

Test(err, format_truncates_safely)
{
    struct atp_err err;
    atp_err_set(&err, ATP_EPARSE, "prices.csv", 123, "close", "not a number");
    const char *full = "prices.csv:123: field 'close': not a number";
    for (size_t size = 1; size <= strlen(full) + 1; size++) {
        char buf[64];
        memset(buf, 'Z', sizeof buf);
        atp_err_format(&err, buf, size);
        cr_assert_eq(strlen(buf), size - 1, "size %zu: '%s'", size, buf);
        cr_assert(strncmp(buf, full, size - 1) == 0, "size %zu: '%s'", size, buf);
        cr_assert_eq(buf[size], 'Z', "size %zu: wrote past the buffer", size);
    }
    char one = 'Q';
    atp_err_format(&err, &one, 0);
    cr_assert_eq(one, 'Q');
}

Test(err, status_names)
{
    static const struct {
        int code;
        const char *name;
    } cases[] = {
        {ATP_OK, "OK"},           {ATP_EINVAL, "EINVAL"},     {ATP_EPARSE, "EPARSE"},
        {ATP_ENOMEM, "ENOMEM"},   {ATP_EIO, "EIO"},           {ATP_ENOTFOUND, "ENOTFOUND"},
        {ATP_EOVERFLOW, "EOVERFLOW"}, {ATP_ERANGE, "ERANGE"}, {ATP_ESTATE, "ESTATE"},
        {ATP_EEXIST, "EEXIST"},   {1, "EUNKNOWN"},            {-10, "EUNKNOWN"},
        {-1000, "EUNKNOWN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_str_eq(atp_status_name(cases[i].code), cases[i].name, "code %d",
                         cases[i].code);
}
