/* auth/jwt: HS256 access tokens (RFC 7519 / RFC 7515 compact form), issued and verified here
 * with libsodium's HMAC-SHA-256 and jansson, not libjwt (docs/security.md says why).
 *
 * A token carries sub (user id), role, iat, exp, iss, aud and jti, and sid (the login session it
 * belongs to) when issued with one; the server's session checks live in api/authn. Verification pins the
 * algorithm: the header must be a JSON object whose "alg" is exactly "HS256" (so "none" in any
 * spelling, HS512, RS256 and friends are refused before any signature work), with no "crit".
 * Then the signature is compared in constant time; only then is the payload parsed and its claims
 * checked against the configuration and the clock. Every refusal names a reason.
 * Thread-safe: no shared state; the caller owns the configuration and its secret. Never logs. */
#ifndef ATP_AUTH_JWT_H
#define ATP_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_MAX_LEN 4096        /* longer tokens are refused unread (and never issued) */
#define JWT_SECRET_MIN 32       /* HS256 key: at least 256 bits (RFC 7518 section 3.2) */
#define JWT_DEFAULT_TTL_S 900   /* 15 minutes */
#define JWT_LEEWAY_S 30         /* clock skew tolerated on exp, nbf and iat */

/* What issuing and verifying agree on. Borrowed: the strings and secret must outlive the calls. */
struct jwt_config {
    const unsigned char *secret; /* HMAC key, secret_len >= JWT_SECRET_MIN random bytes */
    size_t secret_len;
    const char *issuer;          /* "iss", e.g. "atp"; non-empty */
    const char *audience;        /* "aud", e.g. "atp-api"; non-empty */
    int64_t ttl_s;               /* lifetime of issued tokens; 0 means JWT_DEFAULT_TTL_S */
};

/* The claims of an accepted (or just issued) token. iss and aud equal the configuration's. */
struct jwt_claims {
    char sub[64];    /* user id */
    char role[32];   /* "admin", "trader", "investor", ... (policy is the api layer's) */
    char jti[48];    /* unique token id: 128 random bits, base64url */
    char sid[64];    /* session id (refresh-token family); "" when the token has none */
    int64_t iat;     /* issued at, Unix seconds */
    int64_t exp;     /* expires at, Unix seconds */
};

/* Why a token was refused. JWT_VALID is 0. */
enum jwt_reject {
    JWT_VALID = 0,
    JWT_REJECT_CONFIG,        /* the configuration is unusable (short secret, no iss/aud) */
    JWT_REJECT_TOO_LONG,      /* longer than JWT_MAX_LEN */
    JWT_REJECT_MALFORMED,     /* not three base64url parts, bad base64, bad JSON, not objects */
    JWT_REJECT_ALG,           /* header alg is not exactly "HS256", or a "crit" header */
    JWT_REJECT_SIGNATURE,     /* signature does not match (tampering, wrong key) */
    JWT_REJECT_CLAIMS,        /* a required claim is missing, of the wrong type or too long */
    JWT_REJECT_ISSUER,        /* iss differs from the configuration */
    JWT_REJECT_AUDIENCE,      /* aud (string or array) does not contain the configured one */
    JWT_REJECT_EXPIRED,       /* now >= exp + leeway */
    JWT_REJECT_NOT_YET_VALID, /* nbf or iat later than now + leeway */
};

/* Short constant name of a reason, e.g. "expired", for logs and metrics (never the token). */
const char *jwt_reject_name(enum jwt_reject why);

/* Issues a token for sub/role of session sid (NULL or "": no sid claim) at now_s (Unix seconds)
 * into out (NUL-terminated). claims, when non-NULL, receives what was signed (exp for the client).
 * ATP_OK; ATP_EINVAL for an unusable config (secret shorter than JWT_SECRET_MIN, empty iss/aud,
 * ttl < 0), empty/too long sub or role, or a sid longer than 63 bytes; ATP_ERANGE when out_size is too small (JWT_MAX_LEN + 1 is always
 * enough); ATP_ENOMEM; ATP_ESTATE when libsodium is unavailable. On failure out is "". */
int jwt_issue(const struct jwt_config *cfg, const char *sub, const char *role, const char *sid,
              int64_t now_s, char *out, size_t out_size, struct jwt_claims *claims);

/* Verifies token at now_s. Fails closed: ATP_OK only when every check passed, and then *claims
 * holds the claims (sid "" when absent; present, it must be a non-empty string that fits); otherwise ATP_EINVAL (ATP_ENOMEM when JSON parsing ran out of memory) with
 * *claims zeroed and, when why is non-NULL, *why set to the reason. */
int jwt_verify(const struct jwt_config *cfg, const char *token, int64_t now_s,
               struct jwt_claims *claims, enum jwt_reject *why);

#endif
