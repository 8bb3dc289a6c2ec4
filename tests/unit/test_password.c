/* auth/password: argon2id with OWASP parameters; verify, wrong password, rehash, input limits. */
#include <criterion/criterion.h>

#include <sodium.h>
#include <string.h>

#include "auth/password.h"
#include "core/alloc.h"
#include "core/err.h"

Test(password, hash_then_verify_right_and_wrong)
{
    long live = atp_alloc_live();
    static const struct {
        const char *pw;
        size_t len;
    } inputs[] = {
        {"correct horse battery staple", 28},
        {"p", 1},
        {"pässwörd-ünïcode", sizeof "pässwörd-ünïcode" - 1},
        {"nul\0inside", 10}, /* any bytes: the length, not a NUL, ends the password */
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char stored[PASSWORD_HASH_SIZE];
        cr_assert_eq(password_hash(inputs[i].pw, inputs[i].len, stored), ATP_OK, "case %zu", i);
        cr_assert(strncmp(stored, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0, "%s", stored);
        bool match = false;
        cr_assert_eq(password_verify(stored, inputs[i].pw, inputs[i].len, &match), ATP_OK);
        cr_expect(match, "case %zu: right password refused", i);
        /* One byte off, one byte short, one byte long: all refused. */
        char wrong[64];
        memcpy(wrong, inputs[i].pw, inputs[i].len);
        wrong[0] ^= 1;
        cr_assert_eq(password_verify(stored, wrong, inputs[i].len, &match), ATP_OK);
        cr_expect_not(match, "case %zu: flipped byte accepted", i);
        cr_assert_eq(password_verify(stored, inputs[i].pw, inputs[i].len - 1, &match), ATP_OK);
        cr_expect_not(match, "case %zu: prefix accepted", i);
        memcpy(wrong, inputs[i].pw, inputs[i].len);
        wrong[inputs[i].len] = 'x';
        cr_assert_eq(password_verify(stored, wrong, inputs[i].len + 1, &match), ATP_OK);
        cr_expect_not(match, "case %zu: extension accepted", i);
    }
    cr_assert_eq(atp_alloc_live(), live);
}

Test(password, same_password_gets_a_fresh_salt)
{
    char a[PASSWORD_HASH_SIZE], b[PASSWORD_HASH_SIZE];
    cr_assert_eq(password_hash("hunter2", 7, a), ATP_OK);
    cr_assert_eq(password_hash("hunter2", 7, b), ATP_OK);
    cr_assert_str_neq(a, b);
}

Test(password, needs_rehash_only_for_other_parameters)
{
    char current[PASSWORD_HASH_SIZE];
    cr_assert_eq(password_hash("hunter2", 7, current), ATP_OK);
    bool needs = true;
    cr_assert_eq(password_needs_rehash(current, &needs), ATP_OK);
    cr_assert_not(needs);

    /* A hash made with weaker (older) parameters still verifies but asks to be re-hashed. */
    char weak[PASSWORD_HASH_SIZE];
    cr_assert_eq(crypto_pwhash_str_alg(weak, "hunter2", 7, 1, 8192 * 1024,
                                       crypto_pwhash_ALG_ARGON2ID13), 0);
    bool match = false;
    cr_assert_eq(password_verify(weak, "hunter2", 7, &match), ATP_OK);
    cr_assert(match);
    cr_assert_eq(password_needs_rehash(weak, &needs), ATP_OK);
    cr_assert(needs);
}

Test(password, refuses_bad_inputs_and_foreign_hashes)
{
    char out[PASSWORD_HASH_SIZE] = "x";
    cr_assert_eq(password_hash("", 0, out), ATP_EINVAL);
    cr_assert_str_empty(out);
    cr_assert_eq(password_hash(NULL, 3, out), ATP_EINVAL);
    static char huge[PASSWORD_MAX_LEN + 1];
    memset(huge, 'a', sizeof huge);
    cr_assert_eq(password_hash(huge, sizeof huge, out), ATP_EINVAL);
    cr_assert_eq(password_hash(huge, PASSWORD_MAX_LEN, out), ATP_OK);

    /* argon2i (not id), garbage, empty: EINVAL and never a match. */
    char argon2i[PASSWORD_HASH_SIZE];
    cr_assert_eq(crypto_pwhash_str_alg(argon2i, "hunter2", 7, 3, 8192 * 1024,
                                       crypto_pwhash_ALG_ARGON2I13), 0);
    const char *foreign[] = {argon2i, "", "$argon2id$", "plaintext-password", "$2b$12$abcdefg"};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        bool match = true;
        int rc = password_verify(foreign[i], "hunter2", 7, &match);
        cr_expect_not(match, "case %zu", i);
        if (i != 2)
            cr_expect_eq(rc, ATP_EINVAL, "case %zu", i);
    }
    bool match = true, needs = true;
    cr_assert_eq(password_verify(NULL, "x", 1, &match), ATP_EINVAL);
    cr_assert_not(match);
    cr_assert_eq(password_needs_rehash("garbage", &needs), ATP_EINVAL);
}
