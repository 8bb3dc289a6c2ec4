#include "auth/vault.h"

#include "auth/auth.h"
#include "core/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VAULT_VERSION 1
#define VAULT_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define VAULT_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define VAULT_AUTH_HDR 5             /* version + key id: prepended to the associated data */
#define VAULT_FILE_MAX (16 * 1024)
#define VAULT_ENTRY_MAX 128          /* "ID:" + 64 hex digits or 44 base64 characters, trimmed */

_Static_assert(VAULT_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(VAULT_HEADER_BYTES == VAULT_AUTH_HDR + VAULT_NONCE_BYTES, "header layout");
_Static_assert(VAULT_OVERHEAD == VAULT_HEADER_BYTES + VAULT_TAG_BYTES, "overhead");

struct vault_keyring {
    uint32_t ids[VAULT_MAX_KEYS]; /* key id of each slot; 0 = empty */
    unsigned char *keys;          /* VAULT_MAX_KEYS * VAULT_KEY_BYTES, sodium_malloc'd */
    size_t count;                 /* slots in use, filled from 0 */
};

int vault_keyring_new(struct vault_keyring **out)
{
    *out = NULL;
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;
    struct vault_keyring *kr = atp_calloc(1, sizeof *kr);
    if (!kr)
        return ATP_ENOMEM;
    kr->keys = sodium_malloc(VAULT_MAX_KEYS * VAULT_KEY_BYTES);
    if (!kr->keys) {
        atp_free(kr);
        return ATP_ENOMEM;
    }
    sodium_memzero(kr->keys, VAULT_MAX_KEYS * VAULT_KEY_BYTES);
    *out = kr;
    return ATP_OK;
}

void vault_keyring_free(struct vault_keyring *kr)
{
    if (!kr)
        return;
    sodium_free(kr->keys); /* zeroes the memory before unmapping it */
    atp_free(kr);
}

static const unsigned char *key_for(const struct vault_keyring *kr, uint32_t key_id)
{
    for (size_t i = 0; i < kr->count; i++)
        if (kr->ids[i] == key_id)
            return kr->keys + i * VAULT_KEY_BYTES;
    return NULL;
}

uint32_t vault_keyring_current(const struct vault_keyring *kr)
{
    uint32_t best = 0;
    for (size_t i = 0; kr && i < kr->count; i++)
        if (kr->ids[i] > best)
            best = kr->ids[i];
    return best;
}

int vault_keyring_add(struct vault_keyring *kr, uint32_t key_id,
                      const unsigned char key[VAULT_KEY_BYTES], struct atp_err *err)
{
    if (key_id == 0)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "key_id", "key id must be 1 or more");
    if (sodium_is_zero(key, VAULT_KEY_BYTES))
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "key", "key %u is all zero bytes",
                           (unsigned)key_id);
    if (key_for(kr, key_id))
        return atp_err_set(err, ATP_EEXIST, NULL, 0, "key_id", "key id %u given twice",
                           (unsigned)key_id);
    if (kr->count == VAULT_MAX_KEYS)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "key_id", "more than %d master keys",
                           VAULT_MAX_KEYS);
    memcpy(kr->keys + kr->count * VAULT_KEY_BYTES, key, VAULT_KEY_BYTES);
    kr->ids[kr->count++] = key_id;
    return ATP_OK;
}

/* 64 hex digits, or base64 in any of libsodium's four variants, decoding to exactly 32 bytes. */
static bool decode_key(const char *s, size_t n, unsigned char key[VAULT_KEY_BYTES])
{
    size_t len = 0;
    const char *end = NULL;
    if (n == 2 * VAULT_KEY_BYTES &&
        sodium_hex2bin(key, VAULT_KEY_BYTES, s, n, NULL, &len, &end) == 0 && len == VAULT_KEY_BYTES &&
        end == s + n)
        return true;
    static const int variants[] = {sodium_base64_VARIANT_ORIGINAL,
                                   sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                                   sodium_base64_VARIANT_URLSAFE,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        if (sodium_base642bin(key, VAULT_KEY_BYTES, s, n, NULL, &len, &end, variants[i]) == 0 &&
            len == VAULT_KEY_BYTES && end == s + n)
            return true;
    }
    sodium_memzero(key, VAULT_KEY_BYTES);
    return false;
}

/* Parses one trimmed "[ID:]KEY" entry. */
static bool parse_entry(const char *s, size_t n, uint32_t *id, unsigned char key[VAULT_KEY_BYTES])
{
    *id = 1;
    const char *colon = memchr(s, ':', n);
    if (colon) {
        size_t digits = (size_t)(colon - s);
        if (digits == 0 || digits > 10)
            return false;
        uint64_t v = 0;
        for (size_t i = 0; i < digits; i++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v == 0 || v > UINT32_MAX)
            return false;
        *id = (uint32_t)v;
        n -= digits + 1;
        s = colon + 1;
    }
    return decode_key(s, n, key);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int vault_keyring_add_text(struct vault_keyring *kr, const char *text, const char *origin,
                           struct atp_err *err)
{
    uint32_t ids[VAULT_MAX_KEYS];
    unsigned char (*keys)[VAULT_KEY_BYTES] = sodium_malloc(VAULT_MAX_KEYS * VAULT_KEY_BYTES);
    if (!keys)
        return atp_err_set(err, ATP_ENOMEM, origin, 0, NULL, "out of memory for master keys");
    size_t n = 0, entry = 0;
    long line = 1;
    int rc = ATP_OK;
    const char *p = text ? text : "";
    while (*p) {
        /* One line; '#' lines are comments; entries on a line are comma-separated. */
        size_t line_len = strcspn(p, "\n");
        const char *q = p, *line_end = p + line_len;
        while (q < line_end && is_space(*q))
            q++;
        if (q < line_end && *q != '#') {
            while (q <= line_end) {
                const char *e = memchr(q, ',', (size_t)(line_end - q));
                if (!e)
                    e = line_end;
                const char *a = q, *b = e;
                while (a < b && is_space(*a))
                    a++;
                while (b > a && is_space(b[-1]))
                    b--;
                if (a < b) {
                    entry++;
                    if (n == VAULT_MAX_KEYS) {
                        rc = atp_err_set(err, ATP_ERANGE, origin, line, NULL,
                                         "more than %d master keys", VAULT_MAX_KEYS);
                        goto cleanup;
                    }
                    if ((size_t)(b - a) > VAULT_ENTRY_MAX ||
                        !parse_entry(a, (size_t)(b - a), &ids[n], keys[n])) {
                        /* The message never quotes the entry: it may be a key with a typo. */
                        rc = atp_err_set(err, ATP_EPARSE, origin, line, NULL,
                                         "master key entry %zu is not [ID:]KEY with KEY 32 bytes "
                                         "as 64 hex digits or base64", entry);
                        goto cleanup;
                    }
                    n++;
                }
                q = e + 1;
            }
        }
        p = *line_end ? line_end + 1 : line_end;
        line++;
    }
    if (n == 0) {
        rc = atp_err_set(err, ATP_EPARSE, origin, 0, NULL, "no master key found");
        goto cleanup;
    }
    /* All or nothing: check every entry before adding any. */
    for (size_t i = 0; i < n; i++) {
        bool dup = key_for(kr, ids[i]) != NULL;
        for (size_t j = 0; j < i; j++)
            dup = dup || ids[j] == ids[i];
        if (dup) {
            rc = atp_err_set(err, ATP_EEXIST, origin, 0, "key_id", "key id %u given twice",
                             (unsigned)ids[i]);
            goto cleanup;
        }
        if (sodium_is_zero(keys[i], VAULT_KEY_BYTES)) {
            rc = atp_err_set(err, ATP_EINVAL, origin, 0, "key", "key %u is all zero bytes",
                             (unsigned)ids[i]);
            goto cleanup;
        }
    }
    if (kr->count + n > VAULT_MAX_KEYS) {
        rc = atp_err_set(err, ATP_ERANGE, origin, 0, NULL, "more than %d master keys",
                         VAULT_MAX_KEYS);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        rc = vault_keyring_add(kr, ids[i], keys[i], err);
        if (rc != ATP_OK)
            goto cleanup;
    }

cleanup:
    sodium_free(keys);
    return rc;
}

int vault_keyring_load_file(struct vault_keyring *kr, const char *path, struct atp_err *err)
{
    int rc = ATP_OK;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot open master key file: %s",
                           strerror(errno));
    /* fstat on the open descriptor: the file checked is the file read. */
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot stat master key file: %s",
                         strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = atp_err_set(err, ATP_EINVAL, path, 0, NULL, "master key file is not a regular file");
        goto cleanup;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        rc = atp_err_set(err, ATP_EINVAL, path, 0, NULL,
                         "master key file has mode %04o; it must not be accessible by group or "
                         "others (chmod 600 %s)", (unsigned)(st.st_mode & 07777), path);
        goto cleanup;
    }
    buf = sodium_malloc(VAULT_FILE_MAX + 2);
    if (!buf) {
        rc = atp_err_set(err, ATP_ENOMEM, path, 0, NULL, "out of memory reading master key file");
        goto cleanup;
    }
    size_t total = 0;
    for (;;) {
        ssize_t got = read(fd, buf + total, VAULT_FILE_MAX + 1 - total);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = atp_err_set(err, ATP_EIO, path, 0, NULL, "cannot read master key file: %s",
                             strerror(errno));
            goto cleanup;
        }
        if (got == 0)
            break;
        total += (size_t)got;
        if (total > VAULT_FILE_MAX) {
            rc = atp_err_set(err, ATP_ERANGE, path, 0, NULL,
                             "master key file is larger than %d bytes", VAULT_FILE_MAX);
            goto cleanup;
        }
    }
    buf[total] = '\0';
    if (memchr(buf, '\0', total)) {
        rc = atp_err_set(err, ATP_EPARSE, path, 0, NULL, "master key file contains a NUL byte");
        goto cleanup;
    }
    rc = vault_keyring_add_text(kr, buf, path, err);

cleanup:
    sodium_free(buf); /* wipes the file's text */
    close(fd);
    return rc;
}

int vault_keyring_load(struct vault_keyring *kr, struct atp_err *err)
{
    const char *text = getenv("ATP_MASTER_KEY");
    if (text && text[0])
        return vault_keyring_add_text(kr, text, "ATP_MASTER_KEY", err);
    const char *path = getenv("ATP_MASTER_KEY_FILE");
    if (path && path[0])
        return vault_keyring_load_file(kr, path, err);
    return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "ATP_MASTER_KEY",
                       "no master key: set ATP_MASTER_KEY or ATP_MASTER_KEY_FILE");
}

size_t vault_owner_ad(const char *account_id, const char *broker, char *out, size_t out_size)
{
    if (!out || out_size == 0)
        return 0;
    out[0] = '\0';
    if (!account_id || !account_id[0] || !broker || !broker[0])
        return 0;
    int n = snprintf(out, out_size, "atp.broker-credential.v1|%zu:%s|%zu:%s", strlen(account_id),
                     account_id, strlen(broker), broker);
    if (n < 0 || (size_t)n >= out_size) {
        out[0] = '\0';
        return 0;
    }
    return (size_t)n;
}

/* version || key id, then the caller's associated data. */
static bool full_ad(unsigned char *dst, const unsigned char hdr[VAULT_AUTH_HDR], const void *ad,
                    size_t ad_len)
{
    if (ad_len > VAULT_AD_MAX || (ad_len && !ad))
        return false;
    memcpy(dst, hdr, VAULT_AUTH_HDR);
    if (ad_len)
        memcpy(dst + VAULT_AUTH_HDR, ad, ad_len);
    return true;
}

int vault_seal(const struct vault_keyring *kr, const void *plain, size_t plain_len, const void *ad,
               size_t ad_len, unsigned char **blob, size_t *blob_len, struct atp_err *err)
{
    *blob = NULL;
    *blob_len = 0;
    uint32_t key_id = vault_keyring_current(kr);
    if (key_id == 0)
        return atp_err_set(err, ATP_ESTATE, NULL, 0, NULL, "no master key loaded");
    if (plain_len && !plain)
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "credential", "no credential bytes given");
    if (plain_len > VAULT_PLAIN_MAX)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "credential",
                           "credential is larger than %d bytes", VAULT_PLAIN_MAX);
    unsigned char hdr[VAULT_AUTH_HDR] = {VAULT_VERSION, (unsigned char)(key_id >> 24),
                                         (unsigned char)(key_id >> 16),
                                         (unsigned char)(key_id >> 8), (unsigned char)key_id};
    unsigned char adbuf[VAULT_AUTH_HDR + VAULT_AD_MAX];
    if (!full_ad(adbuf, hdr, ad, ad_len))
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "ad",
                           "associated data is larger than %d bytes", VAULT_AD_MAX);
    size_t len = plain_len + VAULT_OVERHEAD;
    unsigned char *out = atp_malloc(len);
    if (!out)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory sealing a credential");
    memcpy(out, hdr, VAULT_AUTH_HDR);
    unsigned char *nonce = out + VAULT_AUTH_HDR;
    randombytes_buf(nonce, VAULT_NONCE_BYTES); /* 192 bits: random nonces never collide */
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + VAULT_HEADER_BYTES, &clen, plain, plain_len,
                                               adbuf, VAULT_AUTH_HDR + ad_len, NULL, nonce,
                                               key_for(kr, key_id));
    *blob = out;
    *blob_len = len;
    return ATP_OK;
}

int vault_blob_key_id(const unsigned char *blob, size_t blob_len, uint32_t *key_id)
{
    *key_id = 0;
    if (!blob || blob_len < VAULT_OVERHEAD || blob[0] != VAULT_VERSION)
        return ATP_EPARSE;
    *key_id = (uint32_t)blob[1] << 24 | (uint32_t)blob[2] << 16 | (uint32_t)blob[3] << 8 | blob[4];
    return ATP_OK;
}

int vault_open(const struct vault_keyring *kr, const unsigned char *blob, size_t blob_len,
               const void *ad, size_t ad_len, struct vault_secret *out, struct atp_err *err)
{
    out->data = NULL;
    out->len = 0;
    uint32_t key_id = 0;
    if (vault_blob_key_id(blob, blob_len, &key_id) != ATP_OK)
        return atp_err_set(err, ATP_EPARSE, NULL, 0, "credential",
                           "sealed credential is truncated or of an unknown version");
    const unsigned char *key = kr ? key_for(kr, key_id) : NULL;
    if (!key)
        return atp_err_set(err, ATP_ENOTFOUND, NULL, 0, "key_id",
                           "sealed credential uses master key id %u, which is not loaded",
                           (unsigned)key_id);
    unsigned char adbuf[VAULT_AUTH_HDR + VAULT_AD_MAX];
    if (!full_ad(adbuf, blob, ad, ad_len))
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "ad",
                           "associated data is larger than %d bytes", VAULT_AD_MAX);
    size_t plain_len = blob_len - VAULT_OVERHEAD;
    unsigned char *plain = atp_malloc(plain_len + 1);
    if (!plain)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory opening a credential");
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain, &mlen, NULL, blob + VAULT_HEADER_BYTES, blob_len - VAULT_HEADER_BYTES, adbuf,
            VAULT_AUTH_HDR + ad_len, blob + VAULT_AUTH_HDR, key) != 0) {
        sodium_memzero(plain, plain_len + 1);
        atp_free(plain);
        return atp_err_set(err, ATP_EINVAL, NULL, 0, "credential",
                           "sealed credential failed authentication (tampered, sealed for "
                           "another owner, or master key %u is not the key it was sealed with)",
                           (unsigned)key_id);
    }
    plain[plain_len] = '\0';
    out->data = plain;
    out->len = plain_len;
    return ATP_OK;
}

int vault_rotate(const struct vault_keyring *kr, const unsigned char *blob, size_t blob_len,
                 const void *ad, size_t ad_len, unsigned char **out, size_t *out_len,
                 struct atp_err *err)
{
    *out = NULL;
    *out_len = 0;
    struct vault_secret s;
    int rc = vault_open(kr, blob, blob_len, ad, ad_len, &s, err);
    if (rc != ATP_OK)
        return rc;
    rc = vault_seal(kr, s.data, s.len, ad, ad_len, out, out_len, err);
    vault_secret_cleanup(&s);
    return rc;
}

void vault_secret_cleanup(struct vault_secret *s)
{
    if (!s || !s->data)
        return;
    sodium_memzero(s->data, s->len + 1);
    atp_free(s->data);
    s->data = NULL;
    s->len = 0;
}

void vault_mask(const void *secret, size_t len, char out[VAULT_MASK_SIZE])
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    const unsigned char *s = secret;
    size_t head = 0, tail = 0, pos = 0;
    if (s && len >= 16) {
        head = 4;
        tail = 4;
    } else if (s && len >= 8) {
        tail = 4;
    }
    for (size_t i = 0; i < head; i++)
        out[pos++] = (s[i] >= 0x21 && s[i] <= 0x7e) ? (char)s[i] : '*';
    memcpy(out + pos, ellipsis, 3);
    pos += 3;
    for (size_t i = len - tail; i < len && tail; i++)
        out[pos++] = (s[i] >= 0x21 && s[i] <= 0x7e) ? (char)s[i] : '*';
    out[pos] = '\0';
}
