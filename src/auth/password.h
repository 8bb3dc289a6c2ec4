/* auth/password: argon2id password hashing (libsodium crypto_pwhash_str_alg) with OWASP's
 * recommended minimum parameters: m = 19 MiB (19456 KiB), t = 2 iterations, p = 1. libsodium
 * always uses one lane (p = 1), so that parameter is fixed by the library. The stored string is
 * the standard PHC encoding ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash") with a random 16-byte
 * salt, so parameters travel with each hash and password_needs_rehash() finds old ones.
 * Thread-safe; each hash or verify costs ~19 MiB of memory for a few tens of milliseconds, which
 * is why the server must rate-limit login attempts (docs/security.md). Never logs. */
#ifndef ATP_AUTH_PASSWORD_H
#define ATP_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PASSWORD_HASH_SIZE 128             /* crypto_pwhash_STRBYTES: the encoded string + NUL */
#define PASSWORD_MAX_LEN 1024              /* longer inputs are refused (hashing cost cap) */
#define PASSWORD_OPSLIMIT 2ULL             /* OWASP: t = 2 */
#define PASSWORD_MEMLIMIT (19456ULL * 1024) /* OWASP: m = 19 MiB, in bytes for libsodium */

/* Hashes password (len bytes, any bytes allowed) into out as a NUL-terminated PHC string.
 * ATP_OK; ATP_EINVAL when password is NULL, empty or longer than PASSWORD_MAX_LEN; ATP_ENOMEM
 * when argon2id could not get its memory; ATP_ESTATE when libsodium is unavailable. On failure
 * out is the empty string. Password policy (length, breach lists) is the caller's. */
int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_SIZE]);

/* Checks password against stored (a string from password_hash). *match is set to true only
 * when it matches; a wrong password is ATP_OK with *match false (an outcome, not an error).
 * The comparison is constant-time inside libsodium. ATP_EINVAL (and *match false) when stored is
 * not an argon2id PHC string or the password is NULL or too long. */
int password_verify(const char *stored, const char *password, size_t len, bool *match);

/* Sets *needs to true when stored was made with parameters other than the current ones (the
 * caller re-hashes the password it just verified and stores the new string). ATP_EINVAL when
 * stored is not an argon2id PHC string. */
int password_needs_rehash(const char *stored, bool *needs);

#endif
