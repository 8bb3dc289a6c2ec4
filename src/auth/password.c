#include "auth/password.h"

#include "auth/auth.h"
#include "core/err.h"

#include <sodium.h>
#include <string.h>

_Static_assert(PASSWORD_HASH_SIZE == crypto_pwhash_STRBYTES, "PHC string buffer size");

/* Only argon2id strings are accepted: libsodium would also verify argon2i ones, which a
 * downgrade in the store must not make acceptable. */
static bool is_argon2id(const char *stored)
{
    static const char prefix[] = crypto_pwhash_argon2id_STRPREFIX;
    return stored && strnlen(stored, PASSWORD_HASH_SIZE) < PASSWORD_HASH_SIZE &&
           strncmp(stored, prefix, sizeof prefix - 1) == 0;
}

int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_SIZE])
{
    out[0] = '\0';
    if (!password || len == 0 || len > PASSWORD_MAX_LEN)
        return ATP_EINVAL;
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;
    if (crypto_pwhash_str_alg(out, password, len, PASSWORD_OPSLIMIT, (size_t)PASSWORD_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        out[0] = '\0';
        return ATP_ENOMEM; /* the only runtime failure: the memory limit could not be allocated */
    }
    return ATP_OK;
}

int password_verify(const char *stored, const char *password, size_t len, bool *match)
{
    *match = false;
    if (!password || len > PASSWORD_MAX_LEN || !is_argon2id(stored))
        return ATP_EINVAL;
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;
    *match = crypto_pwhash_str_verify(stored, password, len) == 0;
    return ATP_OK;
}

int password_needs_rehash(const char *stored, bool *needs)
{
    *needs = false;
    if (!is_argon2id(stored))
        return ATP_EINVAL;
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;
    int rc = crypto_pwhash_str_needs_rehash(stored, PASSWORD_OPSLIMIT, (size_t)PASSWORD_MEMLIMIT);
    if (rc < 0)
        return ATP_EINVAL;
    *needs = rc == 1;
    return ATP_OK;
}
