/* auth/token: random opaque tokens, their storage digests, constant-time comparison. */
#include <criterion/criterion.h>

#include <sodium.h>
#include <string.h>

#include "auth/token.h"
#include "core/alloc.h"
#include "core/err.h"

static bool is_base64url(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

Test(token, generate_is_43_base64url_chars_and_distinct)
{
    long live = atp_alloc_live();
    char a[TOKEN_TEXT_SIZE], b[TOKEN_TEXT_SIZE];
    cr_assert_eq(token_generate(a), ATP_OK);
    cr_assert_eq(token_generate(b), ATP_OK);
    cr_assert_eq(strlen(a), TOKEN_TEXT_LEN);
    cr_assert(is_base64url(a), "%s", a);
    cr_assert_str_neq(a, b);
    char ha[TOKEN_HASH_HEX_SIZE], hb[TOKEN_HASH_HEX_SIZE];
    cr_assert_eq(token_hash(a, ha), ATP_OK);
    cr_assert_eq(token_hash(b, hb), ATP_OK);
    cr_assert_eq(strlen(ha), 64);
    cr_assert_str_neq(ha, hb);
    cr_assert_eq(atp_alloc_live(), live);
}

Test(token, hash_is_sha256_of_the_decoded_bytes)
{
    /* 32 zero bytes in base64url; SHA-256(32 x 0x00) is a well-known constant. */
    const char *zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char hex[TOKEN_HASH_HEX_SIZE];
    cr_assert_eq(token_hash(zero, hex), ATP_OK);
    cr_assert_str_eq(hex, "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
    char again[TOKEN_HASH_HEX_SIZE];
    cr_assert_eq(token_hash(zero, again), ATP_OK);
    cr_assert(token_equal_str(hex, again));
}

Test(token, hash_refuses_non_canonical_text)
{
    static const char *bad[] = {
        "",
        "short",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 chars */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 chars */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  /* standard alphabet */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA B",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",  /* non-zero trailing bits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char hex[TOKEN_HASH_HEX_SIZE] = "x";
        cr_expect_eq(token_hash(bad[i], hex), ATP_EPARSE, "case %zu '%s'", i, bad[i]);
        cr_expect_str_empty(hex, "case %zu", i);
    }
    char hex[TOKEN_HASH_HEX_SIZE];
    cr_assert_eq(token_hash(NULL, hex), ATP_EPARSE);
}

Test(token, equal_is_exact_and_length_aware)
{
    static const struct {
        const char *a, *b;
        bool want;
    } cases[] = {
        {"abc", "abc", true}, {"abc", "abd", false}, {"abc", "abcd", false},
        {"", "", true},       {"a", "", false},      {"Abc", "abc", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(token_equal_str(cases[i].a, cases[i].b), cases[i].want, "case %zu", i);
    cr_assert_not(token_equal_str(NULL, "a"));
    cr_assert_not(token_equal(NULL, 0, NULL, 0));
}
