/* auth/vault: sealing, opening, tamper detection (every byte of a blob, the associated data),
 * wrong master key, rotation, key text and key file loading (mode check), masking, no leaks. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/vault.h"
#include "core/alloc.h"
#include "core/err.h"

/* Two distinct 32-byte keys, as hex and as base64 of the same bytes. */
#define K1_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define K1_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2_HEX "f0e0d0c0b0a09080706050403020100ff0e0d0c0b0a09080706050403020100f"

static const char CRED[] = "{\"api_key\":\"kite_abcdefgh12345678\",\"api_secret\":\"s3cr3t-value-xyz\"}";

static bool contains(const unsigned char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

static struct vault_keyring *ring(const char *text)
{
    struct vault_keyring *kr = NULL;
    cr_assert_eq(vault_keyring_new(&kr), ATP_OK);
    if (text) {
        struct atp_err err;
        atp_err_clear(&err);
        cr_assert_eq(vault_keyring_add_text(kr, text, "test", &err), ATP_OK, "%s", err.msg);
    }
    return kr;
}

static size_t owner(char *ad, size_t size, const char *account, const char *broker)
{
    size_t n = vault_owner_ad(account, broker, ad, size);
    cr_assert_gt(n, 0);
    return n;
}

Test(vault, seal_open_round_trip)
{
    long live = atp_alloc_live();
    struct vault_keyring *kr = ring("1:" K1_HEX);
    char ad[VAULT_AD_MAX];
    size_t ad_len = owner(ad, sizeof ad, "acct-17", "zerodha");
    unsigned char *blob = NULL, *blob2 = NULL;
    size_t blob_len = 0, blob2_len = 0;
    struct atp_err err;
    cr_assert_eq(vault_seal(kr, CRED, strlen(CRED), ad, ad_len, &blob, &blob_len, &err), ATP_OK);
    cr_assert_eq(blob_len, strlen(CRED) + VAULT_OVERHEAD);
    cr_assert_not(contains(blob, blob_len, "s3cr3t"), "plaintext visible in the blob");
    uint32_t kid = 0;
    cr_assert_eq(vault_blob_key_id(blob, blob_len, &kid), ATP_OK);
    cr_assert_eq(kid, 1);

    /* Same input twice: different nonces, different blobs. */
    cr_assert_eq(vault_seal(kr, CRED, strlen(CRED), ad, ad_len, &blob2, &blob2_len, &err), ATP_OK);
    cr_assert_neq(memcmp(blob, blob2, blob_len), 0);

    struct vault_secret s;
    cr_assert_eq(vault_open(kr, blob, blob_len, ad, ad_len, &s, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(s.len, strlen(CRED));
    cr_assert_str_eq((const char *)s.data, CRED);
    vault_secret_cleanup(&s);
    cr_assert_null(s.data);
    vault_secret_cleanup(&s); /* idempotent */

    /* Empty credential and no associated data are allowed. */
    unsigned char *empty = NULL;
    size_t empty_len = 0;
    cr_assert_eq(vault_seal(kr, "", 0, NULL, 0, &empty, &empty_len, &err), ATP_OK);
    cr_assert_eq(vault_open(kr, empty, empty_len, NULL, 0, &s, &err), ATP_OK);
    cr_assert_eq(s.len, 0);
    vault_secret_cleanup(&s);

    atp_free(empty);
    atp_free(blob);
    atp_free(blob2);
    vault_keyring_free(kr);
    vault_keyring_free(NULL);
    cr_assert_eq(atp_alloc_live(), live);
}

Test(vault, every_flipped_byte_fails_to_open)
{
    long live = atp_alloc_live();
    struct vault_keyring *kr = ring("1:" K1_HEX ", 2:" K2_HEX);
    char ad[VAULT_AD_MAX];
    size_t ad_len = owner(ad, sizeof ad, "acct-17", "zerodha");
    unsigned char *blob = NULL;
    size_t len = 0;
    cr_assert_eq(vault_seal(kr, CRED, strlen(CRED), ad, ad_len, &blob, &len, NULL), ATP_OK);
    /* Version byte, key id bytes, nonce, ciphertext, tag: each bit position class. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            blob[i] ^= (unsigned char)(1u << bit);
            struct vault_secret s;
            struct atp_err err;
            atp_err_clear(&err);
            int rc = vault_open(kr, blob, len, ad, ad_len, &s, &err);
            int want = i == 0 ? ATP_EPARSE /* unknown version */ : ATP_EINVAL;
            if (i >= 1 && i <= 4) /* another key id: unknown (ENOTFOUND) or the other key */
                cr_expect(rc == ATP_ENOTFOUND || rc == ATP_EINVAL, "byte %zu bit %d: rc %d", i,
                          bit, rc);
            else
                cr_expect_eq(rc, want, "byte %zu bit %d: rc %d", i, bit, rc);
            cr_expect_null(s.data);
            cr_expect_null(strstr(err.msg, "s3cr3t"));
            blob[i] ^= (unsigned char)(1u << bit);
        }
    }
    /* Key id rewritten to the other key that is loaded: still refused (the id is authenticated
     * and the key differs). The blob was sealed under key 2, the current one. */
    cr_assert_eq(blob[4], 2);
    blob[4] = 1;
    struct vault_secret s;
    cr_expect_eq(vault_open(kr, blob, len, ad, ad_len, &s, NULL), ATP_EINVAL);
    blob[4] = 2;
    /* Truncated, extended, empty. */
    cr_expect_eq(vault_open(kr, blob, len - 1, ad, ad_len, &s, NULL), ATP_EINVAL);
    cr_expect_eq(vault_open(kr, blob, VAULT_OVERHEAD - 1, ad, ad_len, &s, NULL), ATP_EPARSE);
    cr_expect_eq(vault_open(kr, blob, 0, ad, ad_len, &s, NULL), ATP_EPARSE);
    cr_expect_eq(vault_open(kr, NULL, 0, ad, ad_len, &s, NULL), ATP_EPARSE);
    /* Untouched it still opens: the loop restored every byte. */
    cr_assert_eq(vault_open(kr, blob, len, ad, ad_len, &s, NULL), ATP_OK);
    vault_secret_cleanup(&s);
    atp_free(blob);
    vault_keyring_free(kr);
    cr_assert_eq(atp_alloc_live(), live);
}

Test(vault, associated_data_binds_the_owner)
{
    struct vault_keyring *kr = ring(K1_HEX);
    char ad[VAULT_AD_MAX];
    size_t ad_len = owner(ad, sizeof ad, "acct-17", "zerodha");
    unsigned char *blob = NULL;
    size_t len = 0;
    cr_assert_eq(vault_seal(kr, CRED, strlen(CRED), ad, ad_len, &blob, &len, NULL), ATP_OK);
    static const struct {
        const char *account, *broker;
    } others[] = {{"acct-18", "zerodha"}, {"acct-17", "upstox"}, {"acct-1", "7zerodha"},
                  {"ACCT-17", "zerodha"}, {"acct-17", "zerodha "}};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char other[VAULT_AD_MAX];
        size_t other_len = owner(other, sizeof other, others[i].account, others[i].broker);
        struct vault_secret s;
        struct atp_err err;
        cr_expect_eq(vault_open(kr, blob, len, other, other_len, &s, &err), ATP_EINVAL, "case %zu", i);
        cr_expect_null(s.data);
    }
    /* A flipped AD byte, a dropped last byte, no AD at all. */
    struct vault_secret s;
    ad[ad_len - 1] ^= 1;
    cr_expect_eq(vault_open(kr, blob, len, ad, ad_len, &s, NULL), ATP_EINVAL);
    ad[ad_len - 1] ^= 1;
    cr_expect_eq(vault_open(kr, blob, len, ad, ad_len - 1, &s, NULL), ATP_EINVAL);
    cr_expect_eq(vault_open(kr, blob, len, NULL, 0, &s, NULL), ATP_EINVAL);
    cr_assert_eq(vault_open(kr, blob, len, ad, ad_len, &s, NULL), ATP_OK);
    vault_secret_cleanup(&s);

    /* The encoding is unambiguous: moving a separator changes it. */
    char a[VAULT_AD_MAX], b[VAULT_AD_MAX];
    owner(a, sizeof a, "1", "2|3");
    owner(b, sizeof b, "1|2", "3");
    cr_assert_str_neq(a, b);
    cr_assert_str_eq(a, "atp.broker-credential.v1|1:1|3:2|3");
    cr_assert_eq(vault_owner_ad("", "x", a, sizeof a), 0);
    cr_assert_eq(vault_owner_ad("1", "x", a, 10), 0);
    atp_free(blob);
    vault_keyring_free(kr);
}

Test(vault, wrong_master_key_and_unknown_key_id)
{
    struct vault_keyring *kr1 = ring("1:" K1_HEX), *kr2 = ring("1:" K2_HEX), *kr3 = ring("3:" K1_HEX);
    unsigned char *blob = NULL;
    size_t len = 0;
    cr_assert_eq(vault_seal(kr1, CRED, strlen(CRED), "ad", 2, &blob, &len, NULL), ATP_OK);
    struct vault_secret s;
    struct atp_err err;
    atp_err_clear(&err);
    cr_expect_eq(vault_open(kr2, blob, len, "ad", 2, &s, &err), ATP_EINVAL);
    cr_expect(strstr(err.msg, "failed authentication") != NULL, "%s", err.msg);
    atp_err_clear(&err);
    cr_expect_eq(vault_open(kr3, blob, len, "ad", 2, &s, &err), ATP_ENOTFOUND);
    cr_expect(strstr(err.msg, "master key id 1") != NULL, "%s", err.msg);

    struct vault_keyring *empty = ring(NULL);
    cr_expect_eq(vault_keyring_current(empty), 0);
    unsigned char *b2 = NULL;
    size_t l2 = 0;
    cr_expect_eq(vault_seal(empty, CRED, 3, NULL, 0, &b2, &l2, NULL), ATP_ESTATE);
    cr_expect_null(b2);
    static char huge[VAULT_PLAIN_MAX + 1];
    cr_expect_eq(vault_seal(kr1, huge, sizeof huge, NULL, 0, &b2, &l2, NULL), ATP_ERANGE);
    static char big_ad[VAULT_AD_MAX + 1];
    cr_expect_eq(vault_seal(kr1, CRED, 3, big_ad, sizeof big_ad, &b2, &l2, NULL), ATP_ERANGE);
    atp_free(blob);
    vault_keyring_free(kr1);
    vault_keyring_free(kr2);
    vault_keyring_free(kr3);
    vault_keyring_free(empty);
}

Test(vault, rotation_reseals_under_the_current_key)
{
    long live = atp_alloc_live();
    struct vault_keyring *old_ring = ring("1:" K1_HEX);
    char ad[VAULT_AD_MAX];
    size_t ad_len = owner(ad, sizeof ad, "acct-9", "angel");
    unsigned char *old_blob = NULL;
    size_t old_len = 0;
    cr_assert_eq(vault_seal(old_ring, CRED, strlen(CRED), ad, ad_len, &old_blob, &old_len, NULL),
                 ATP_OK);

    /* Operator adds key 2: it becomes current; old blobs still open with key 1. */
    struct vault_keyring *both = ring("1:" K1_HEX "\n2:" K2_HEX);
    cr_assert_eq(vault_keyring_current(both), 2);
    struct vault_secret s;
    cr_assert_eq(vault_open(both, old_blob, old_len, ad, ad_len, &s, NULL), ATP_OK);
    vault_secret_cleanup(&s);

    unsigned char *new_blob = NULL;
    size_t new_len = 0;
    cr_assert_eq(vault_rotate(both, old_blob, old_len, ad, ad_len, &new_blob, &new_len, NULL),
                 ATP_OK);
    uint32_t kid = 0;
    cr_assert_eq(vault_blob_key_id(new_blob, new_len, &kid), ATP_OK);
    cr_assert_eq(kid, 2);

    /* Key 1 retired: the rotated blob opens, the old one no longer does. */
    struct vault_keyring *new_ring = ring("2:" K2_HEX);
    cr_assert_eq(vault_open(new_ring, new_blob, new_len, ad, ad_len, &s, NULL), ATP_OK);
    cr_assert_str_eq((const char *)s.data, CRED);
    vault_secret_cleanup(&s);
    cr_assert_eq(vault_open(new_ring, old_blob, old_len, ad, ad_len, &s, NULL), ATP_ENOTFOUND);

    /* Rotating with the wrong owner fails and produces nothing. */
    unsigned char *bad = NULL;
    size_t bad_len = 0;
    cr_assert_eq(vault_rotate(both, old_blob, old_len, "x", 1, &bad, &bad_len, NULL), ATP_EINVAL);
    cr_assert_null(bad);

    atp_free(old_blob);
    atp_free(new_blob);
    vault_keyring_free(old_ring);
    vault_keyring_free(both);
    vault_keyring_free(new_ring);
    cr_assert_eq(atp_alloc_live(), live);
}

Test(vault, key_text_formats)
{
    /* The same key in every accepted spelling opens the same blob. */
    struct vault_keyring *ref = ring(K1_HEX);
    unsigned char *blob = NULL;
    size_t len = 0;
    cr_assert_eq(vault_seal(ref, CRED, strlen(CRED), NULL, 0, &blob, &len, NULL), ATP_OK);
    static const char *same[] = {
        K1_HEX, "1:" K1_HEX, "  1:" K1_HEX "  ", K1_B64, "1:" K1_B64,
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", /* no padding */
        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
        "# comment, with a comma\n\n1:" K1_HEX "\n",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        struct vault_keyring *kr = ring(same[i]);
        struct vault_secret s;
        cr_expect_eq(vault_open(kr, blob, len, NULL, 0, &s, NULL), ATP_OK, "case %zu", i);
        vault_secret_cleanup(&s);
        vault_keyring_free(kr);
    }
    /* url-safe alphabet: a key whose base64 has '+' and '/'. */
    struct vault_keyring *kr = ring("+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/8=");
    vault_keyring_free(kr);
    kr = ring("-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8");
    vault_keyring_free(kr);

    static const struct {
        const char *text;
        int want;
    } bad[] = {
        {"", ATP_EPARSE},
        {"# only a comment\n", ATP_EPARSE},
        {"0001020304", ATP_EPARSE},                 /* short */
        {K1_HEX "00", ATP_EPARSE},                  /* 33 bytes */
        {"zz" K1_HEX, ATP_EPARSE},
        {"0:" K1_HEX, ATP_EPARSE},                  /* id 0 */
        {"x:" K1_HEX, ATP_EPARSE},
        {"4294967296:" K1_HEX, ATP_EPARSE},         /* id past uint32 */
        {":" K1_HEX, ATP_EPARSE},
        {"1:" K1_HEX ",1:" K2_HEX, ATP_EEXIST},     /* duplicate id */
        {"0000000000000000000000000000000000000000000000000000000000000000", ATP_EINVAL},
        {"1:" K1_HEX ",2:nonsense", ATP_EPARSE},    /* all or nothing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kr = ring(NULL);
        struct atp_err err;
        atp_err_clear(&err);
        cr_expect_eq(vault_keyring_add_text(kr, bad[i].text, "ATP_MASTER_KEY", &err), bad[i].want,
                     "case %zu: %s", i, err.msg);
        cr_expect_eq(vault_keyring_current(kr), 0, "case %zu added keys", i);
        cr_expect_str_eq(err.file, "ATP_MASTER_KEY");
        cr_expect_null(strstr(err.msg, "0102030405"), "case %zu leaks key text: %s", i, err.msg);
        vault_keyring_free(kr);
    }
    /* Adding a second batch with an id already loaded. */
    kr = ring("1:" K1_HEX);
    cr_expect_eq(vault_keyring_add_text(kr, "1:" K2_HEX, "t", NULL), ATP_EEXIST);
    vault_keyring_free(kr);
    atp_free(blob);
    vault_keyring_free(ref);
}

static char tmpdir[64];

static const char *write_key_file(const char *name, const char *text, mode_t mode)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/atp-vault-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
    }
    static char path[160];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_assert_eq(chmod(path, mode), 0);
    return path;
}

Test(vault, key_file_mode_is_checked)
{
    static const struct {
        mode_t mode;
        int want;
    } cases[] = {
        {0600, ATP_OK}, {0400, ATP_OK}, {0640, ATP_EINVAL}, {0604, ATP_EINVAL},
        {0644, ATP_EINVAL}, {0660, ATP_EINVAL}, {0610, ATP_EINVAL}, {0601, ATP_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_key_file("master.key", "# ATP master keys\n1:" K1_HEX "\n2:" K2_HEX "\n",
                                          cases[i].mode);
        struct vault_keyring *kr = ring(NULL);
        struct atp_err err;
        atp_err_clear(&err);
        int rc = vault_keyring_load_file(kr, path, &err);
        cr_expect_eq(rc, cases[i].want, "mode %04o: %s", (unsigned)cases[i].mode, err.msg);
        if (rc == ATP_OK) {
            cr_expect_eq(vault_keyring_current(kr), 2);
        } else {
            char mode[8];
            snprintf(mode, sizeof mode, "%04o", (unsigned)cases[i].mode);
            cr_expect_str_eq(err.file, path, "message names the file");
            cr_expect(strstr(err.msg, mode) != NULL, "message names the mode: %s", err.msg);
            cr_expect_eq(vault_keyring_current(kr), 0);
        }
        vault_keyring_free(kr);
        unlink(path);
    }
    struct vault_keyring *kr = ring(NULL);
    struct atp_err err;
    cr_expect_eq(vault_keyring_load_file(kr, "/nonexistent/atp.key", &err), ATP_EIO);
    cr_expect_eq(vault_keyring_load_file(kr, "/tmp", &err), ATP_EINVAL); /* a directory */
    const char *path = write_key_file("bad.key", "1:not-a-key\n", 0600);
    atp_err_clear(&err);
    cr_expect_eq(vault_keyring_load_file(kr, path, &err), ATP_EPARSE);
    cr_expect_eq(err.line, 1);
    cr_expect_null(strstr(err.msg, "not-a-key"), "%s", err.msg);
    unlink(path);
    static char big[20000];
    memset(big, '#', sizeof big - 1);
    path = write_key_file("big.key", big, 0600);
    cr_expect_eq(vault_keyring_load_file(kr, path, &err), ATP_ERANGE);
    unlink(path);
    vault_keyring_free(kr);
    rmdir(tmpdir);
}

Test(vault, load_from_environment)
{
    struct vault_keyring *kr = ring(NULL);
    struct atp_err err;
    unsetenv("ATP_MASTER_KEY");
    unsetenv("ATP_MASTER_KEY_FILE");
    cr_expect_eq(vault_keyring_load(kr, &err), ATP_ENOTFOUND);
    cr_expect(strstr(err.msg, "ATP_MASTER_KEY") != NULL);

    const char *path = write_key_file("env.key", "7:" K2_HEX "\n", 0600);
    setenv("ATP_MASTER_KEY_FILE", path, 1);
    cr_expect_eq(vault_keyring_load(kr, &err), ATP_OK, "%s", err.msg);
    cr_expect_eq(vault_keyring_current(kr), 7);
    vault_keyring_free(kr);

    /* ATP_MASTER_KEY wins over the file. */
    kr = ring(NULL);
    setenv("ATP_MASTER_KEY", K1_B64, 1);
    cr_expect_eq(vault_keyring_load(kr, &err), ATP_OK, "%s", err.msg);
    cr_expect_eq(vault_keyring_current(kr), 1);
    vault_keyring_free(kr);

    kr = ring(NULL);
    chmod(path, 0644);
    unsetenv("ATP_MASTER_KEY");
    cr_expect_eq(vault_keyring_load(kr, &err), ATP_EINVAL);
    vault_keyring_free(kr);
    unlink(path);
    rmdir(tmpdir);
}

Test(vault, mask_never_shows_the_secret)
{
    static const struct {
        const char *secret;
        const char *want;
    } cases[] = {
        {"abcdefghijklmnopqrstuvwxyz", "abcd\xe2\x80\xa6wxyz"},
        {"0123456789abcdef", "0123\xe2\x80\xa6" "cdef"},     /* 16: half shown */
        {"0123456789abcde", "\xe2\x80\xa6" "bcde"},          /* 15: only the tail */
        {"01234567", "\xe2\x80\xa6" "4567"},
        {"0123456", "\xe2\x80\xa6"},                         /* short: nothing */
        {"", "\xe2\x80\xa6"},
        {"ab\ncdefghijklm\x01\xffz", "ab*c\xe2\x80\xa6m**z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[VAULT_MASK_SIZE];
        vault_mask(cases[i].secret, strlen(cases[i].secret), out);
        cr_expect_str_eq(out, cases[i].want, "case %zu", i);
        if (strlen(cases[i].secret) > 0)
            cr_expect_null(strstr(out, cases[i].secret), "case %zu shows the secret", i);
    }
    char out[VAULT_MASK_SIZE];
    vault_mask(NULL, 40, out);
    cr_expect_str_eq(out, "\xe2\x80\xa6");
}
