/* auth/token: random opaque tokens (refresh tokens, invitations, password-reset links) and the
 * SHA-256 digests under which the store keeps them. The server hands the text to the client once
 * and stores only the digest, so a leaked database does not yield usable tokens; a presented token
 * is hashed and looked up by digest. Rotation and family revocation of refresh tokens are the
 * store's job (docs/security.md says how). Thread-safe; never logs. */
#ifndef ATP_AUTH_TOKEN_H
#define ATP_AUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_BYTES 32          /* 256 bits of entropy from the OS CSPRNG (randombytes_buf) */
#define TOKEN_TEXT_LEN 43       /* base64url without padding of TOKEN_BYTES */
#define TOKEN_TEXT_SIZE 44      /* TOKEN_TEXT_LEN + NUL */
#define TOKEN_HASH_HEX_SIZE 65  /* SHA-256 as 64 lowercase hex digits + NUL */

/* Writes a fresh random token as base64url text (no padding, NUL-terminated) into out.
 * ATP_OK, or ATP_ESTATE when libsodium could not be initialised. */
int token_generate(char out[TOKEN_TEXT_SIZE]);

/* Digest for storage: lowercase hex SHA-256 of the token's 32 decoded bytes. The text must be a
 * canonical token (exactly TOKEN_TEXT_LEN base64url characters decoding to TOKEN_BYTES), else
 * ATP_EPARSE and out is the empty string; nothing longer than TOKEN_TEXT_LEN is read. */
int token_hash(const char *token, char out_hex[TOKEN_HASH_HEX_SIZE]);

/* Constant-time equality of two byte strings (sodium_memcmp): the time depends only on the
 * lengths, which are not secret. Different lengths compare unequal; NULL never equals anything. */
bool token_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* token_equal over two NUL-terminated strings (e.g. two stored digests). */
bool token_equal_str(const char *a, const char *b);

#endif
