/* auth/totp: RFC 6238 test vectors (SHA-1 secret "12345678901234567890"; the RFC's 8-digit codes
 * cut to their last 6 digits, which is what 6-digit truncation gives), the +-1 step window and
 * the "a code works once" rule. */
#include <criterion/criterion.h>

#include <string.h>

#include "auth/totp.h"
#include "core/alloc.h"
#include "core/err.h"

/* base32("12345678901234567890"), the RFC 6238 appendix B SHA-1 seed. */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static const struct {
    long long t;
    const char *rfc8; /* RFC 6238 appendix B, SHA1 column */
} VECTORS[] = {
    {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
    {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000LL, "65353130"},
};

Test(totp, rfc6238_vectors)
{
    for (size_t i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
        char code[TOTP_CODE_SIZE];
        cr_assert_eq(totp_code(RFC_SECRET, VECTORS[i].t, code), ATP_OK);
        cr_expect_str_eq(code, VECTORS[i].rfc8 + 2, "T=%lld", VECTORS[i].t);
        int64_t step = 0;
        enum totp_reject why = TOTP_REJECT_FORMAT;
        cr_expect_eq(totp_verify(RFC_SECRET, VECTORS[i].rfc8 + 2, VECTORS[i].t, TOTP_STEP_NONE,
                                 &step, &why), ATP_OK, "T=%lld", VECTORS[i].t);
        cr_expect_eq(why, TOTP_VALID);
        cr_expect_eq(step, VECTORS[i].t / 30);
    }
}

Test(totp, window_and_replay)
{
    const long long now = 1111111111; /* step 37037037 */
    const long long s = now / 30;
    char prev[TOTP_CODE_SIZE], cur[TOTP_CODE_SIZE], next[TOTP_CODE_SIZE], old[TOTP_CODE_SIZE],
        far[TOTP_CODE_SIZE];
    cr_assert_eq(totp_code(RFC_SECRET, (s - 1) * 30, prev), ATP_OK);
    cr_assert_eq(totp_code(RFC_SECRET, s * 30, cur), ATP_OK);
    cr_assert_eq(totp_code(RFC_SECRET, (s + 1) * 30, next), ATP_OK);
    cr_assert_eq(totp_code(RFC_SECRET, (s - 2) * 30, old), ATP_OK);
    cr_assert_eq(totp_code(RFC_SECRET, (s + 2) * 30, far), ATP_OK);

    static const struct {
        int which; /* 0 prev, 1 cur, 2 next, 3 old, 4 far */
        long long last_rel; /* last_step relative to s; -1000 means TOTP_STEP_NONE */
        int want_rc;
        enum totp_reject want_why;
        long long want_step_rel;
    } cases[] = {
        {1, -1000, ATP_OK, TOTP_VALID, 0},              /* first use */
        {0, -1000, ATP_OK, TOTP_VALID, -1},             /* one step of drift behind */
        {2, -1000, ATP_OK, TOTP_VALID, 1},              /* one step ahead */
        {3, -1000, ATP_EINVAL, TOTP_REJECT_WRONG, 0},   /* outside the window */
        {4, -1000, ATP_EINVAL, TOTP_REJECT_WRONG, 0},
        {1, 0, ATP_EINVAL, TOTP_REJECT_REPLAY, 0},      /* the same code again */
        {0, 0, ATP_EINVAL, TOTP_REJECT_REPLAY, 0},      /* an earlier code after a later one */
        {2, 0, ATP_OK, TOTP_VALID, 1},                  /* the next code still works */
        {1, -1, ATP_OK, TOTP_VALID, 0},
        {1, 1, ATP_EINVAL, TOTP_REJECT_REPLAY, 1},      /* a code ahead was already used */
        {2, 1, ATP_EINVAL, TOTP_REJECT_REPLAY, 1},
    };
    const char *codes[] = {prev, cur, next, old, far};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t last = cases[i].last_rel == -1000 ? TOTP_STEP_NONE : s + cases[i].last_rel;
        int64_t got = 12345;
        enum totp_reject why = TOTP_VALID;
        int rc = totp_verify(RFC_SECRET, codes[cases[i].which], now, last, &got, &why);
        cr_expect_eq(rc, cases[i].want_rc, "case %zu: rc %d", i, rc);
        cr_expect_eq(why, cases[i].want_why, "case %zu: %s", i, totp_reject_name(why));
        if (rc == ATP_OK)
            cr_expect_eq(got, s + cases[i].want_step_rel, "case %zu", i);
        else
            cr_expect_eq(got, last, "case %zu: refused verify changed the step", i);
    }
}

Test(totp, refuses_malformed_codes_and_secrets)
{
    const long long now = 1111111111;
    static const char *bad[] = {"", "05047", "0504711", "05047a", " 050471", "050471 ",
                                "-50471", "05 471", "０５０４７１"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t step = 0;
        enum totp_reject why = TOTP_VALID;
        cr_expect_eq(totp_verify(RFC_SECRET, bad[i], now, TOTP_STEP_NONE, &step, &why),
                     ATP_EINVAL, "case %zu", i);
        cr_expect_eq(why, TOTP_REJECT_FORMAT, "case %zu", i);
    }
    int64_t step = 0;
    enum totp_reject why = TOTP_VALID;
    cr_expect_eq(totp_verify(RFC_SECRET, NULL, now, TOTP_STEP_NONE, &step, &why), ATP_EINVAL);
    cr_expect_eq(totp_verify("not base32 !!", "050471", now, TOTP_STEP_NONE, &step, &why),
                 ATP_EPARSE);
    cr_expect_neq(why, TOTP_VALID);
    cr_expect_eq(totp_verify("", "050471", now, TOTP_STEP_NONE, &step, &why), ATP_EPARSE);
    char code[TOTP_CODE_SIZE];
    cr_expect_eq(totp_code("1!", now, code), ATP_EPARSE);
    cr_expect_eq(totp_code(RFC_SECRET, -1, code), ATP_EINVAL);
}

Test(totp, generated_secret_and_uri)
{
    long live = atp_alloc_live();
    char a[TOTP_SECRET_B32_SIZE], b[TOTP_SECRET_B32_SIZE];
    cr_assert_eq(totp_secret_generate(a), ATP_OK);
    cr_assert_eq(totp_secret_generate(b), ATP_OK);
    cr_assert_eq(strlen(a), 32);
    cr_assert_str_neq(a, b);
    for (const char *p = a; *p; p++)
        cr_assert((*p >= 'A' && *p <= 'Z') || (*p >= '2' && *p <= '7'), "%s", a);

    /* A generated secret works end to end: enrol (first code), then that code is spent. */
    const long long now = 1700000000;
    char code[TOTP_CODE_SIZE];
    cr_assert_eq(totp_code(a, now, code), ATP_OK);
    int64_t step = 0;
    cr_assert_eq(totp_verify(a, code, now, TOTP_STEP_NONE, &step, NULL), ATP_OK);
    cr_assert_eq(totp_verify(a, code, now + 5, step, &step, NULL), ATP_EINVAL);
    /* Another (fixed, so deterministic) secret does not accept the RFC secret's code. */
    enum totp_reject why = TOTP_VALID;
    cr_assert_eq(totp_verify("JBSWY3DPEHPK3PXP", "050471", 1111111111, TOTP_STEP_NONE, &step,
                             &why), ATP_EINVAL);
    cr_assert_eq(why, TOTP_REJECT_WRONG);

    char uri[512];
    cr_assert_eq(totp_uri(RFC_SECRET, "ATP Trading", "asha@example.com", uri, sizeof uri), ATP_OK);
    cr_assert_str_eq(uri, "otpauth://totp/ATP%20Trading:asha%40example.com?secret=" RFC_SECRET
                          "&issuer=ATP%20Trading&algorithm=SHA1&digits=6&period=30");
    cr_assert_eq(totp_uri(RFC_SECRET, "ATP", "a", uri, 20), ATP_ERANGE);
    cr_assert_str_empty(uri);
    cr_assert_eq(totp_uri(RFC_SECRET, "", "a", uri, sizeof uri), ATP_EINVAL);
    cr_assert_eq(atp_alloc_live(), live);
}
