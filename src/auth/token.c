#include "auth/token.h"

#include "auth/auth.h"
#include "core/err.h"

#include <sodium.h>
#include <string.h>

int token_generate(char out[TOKEN_TEXT_SIZE])
{
    out[0] = '\0';
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;
    unsigned char raw[TOKEN_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, TOKEN_TEXT_SIZE, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    return ATP_OK;
}

int token_hash(const char *token, char out_hex[TOKEN_HASH_HEX_SIZE])
{
    out_hex[0] = '\0';
    if (!token || strnlen(token, TOKEN_TEXT_LEN + 1) != TOKEN_TEXT_LEN)
        return ATP_EPARSE;
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;
    unsigned char raw[TOKEN_BYTES];
    size_t raw_len = 0;
    const char *end = NULL;
    /* libsodium rejects characters outside the alphabet and non-zero trailing bits, so each token
     * has exactly one text form and therefore exactly one digest. */
    if (sodium_base642bin(raw, sizeof raw, token, TOKEN_TEXT_LEN, NULL, &raw_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        raw_len != TOKEN_BYTES || end != token + TOKEN_TEXT_LEN) {
        sodium_memzero(raw, sizeof raw);
        return ATP_EPARSE;
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, raw, sizeof raw);
    sodium_bin2hex(out_hex, TOKEN_HASH_HEX_SIZE, digest, sizeof digest);
    sodium_memzero(raw, sizeof raw);
    return ATP_OK;
}

bool token_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (!a || !b || a_len != b_len)
        return false;
    if (a_len == 0)
        return true;
    return sodium_memcmp(a, b, a_len) == 0;
}

bool token_equal_str(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    return token_equal(a, strlen(a), b, strlen(b));
}
