#include "auth/jwt.h"

#include "auth/auth.h"
#include "core/err.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* The one header this module issues: {"alg":"HS256","typ":"JWT"}, base64url-encoded. */
static const char HEADER_B64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

#define JWT_CFG_STR_MAX 256         /* iss and aud length cap */
#define JWT_TTL_MAX_S (24 * 3600)   /* access tokens are short-lived; a day is already generous */
#define JWT_NOW_MAX (INT64_MAX / 4) /* keeps now +- leeway and now + ttl far from overflow */
#define JWT_SIG_BYTES crypto_auth_hmacsha256_BYTES
#define JWT_JTI_BYTES 16

const char *jwt_reject_name(enum jwt_reject why)
{
    switch (why) {
    case JWT_VALID: return "valid";
    case JWT_REJECT_CONFIG: return "config";
    case JWT_REJECT_TOO_LONG: return "too_long";
    case JWT_REJECT_MALFORMED: return "malformed";
    case JWT_REJECT_ALG: return "alg";
    case JWT_REJECT_SIGNATURE: return "signature";
    case JWT_REJECT_CLAIMS: return "claims";
    case JWT_REJECT_ISSUER: return "issuer";
    case JWT_REJECT_AUDIENCE: return "audience";
    case JWT_REJECT_EXPIRED: return "expired";
    case JWT_REJECT_NOT_YET_VALID: return "not_yet_valid";
    }
    return "unknown";
}

static bool str_ok(const char *s, size_t max)
{
    if (!s)
        return false;
    size_t n = strnlen(s, max + 1);
    return n > 0 && n <= max;
}

static bool config_ok(const struct jwt_config *cfg)
{
    return cfg && cfg->secret && cfg->secret_len >= JWT_SECRET_MIN &&
           str_ok(cfg->issuer, JWT_CFG_STR_MAX) && str_ok(cfg->audience, JWT_CFG_STR_MAX) &&
           cfg->ttl_s >= 0 && cfg->ttl_s <= JWT_TTL_MAX_S;
}

static void hmac(const struct jwt_config *cfg, const char *input, size_t len,
                 unsigned char mac[JWT_SIG_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, cfg->secret, cfg->secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)input, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

/* Strict base64url without padding: every character consumed, canonical trailing bits. */
static bool b64url_decode(const char *s, size_t len, unsigned char *out, size_t cap,
                          size_t *out_len)
{
    const char *end = NULL;
    *out_len = 0;
    if (sodium_base642bin(out, cap, s, len, NULL, out_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    return end == s + len;
}

/* Appends base64url(bin) at buf[*pos], keeping room for the NUL. */
static bool b64url_append(char *buf, size_t size, size_t *pos, const void *bin, size_t len)
{
    size_t need = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (*pos + need > size)
        return false;
    sodium_bin2base64(buf + *pos, size - *pos, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *pos += strlen(buf + *pos);
    return true;
}

int jwt_issue(const struct jwt_config *cfg, const char *sub, const char *role, const char *sid,
              int64_t now_s, char *out, size_t out_size, struct jwt_claims *claims)
{
    struct jwt_claims c;
    memset(&c, 0, sizeof c);
    if (out && out_size)
        out[0] = '\0';
    if (claims)
        memset(claims, 0, sizeof *claims);
    if (!config_ok(cfg) || !out || !str_ok(sub, sizeof c.sub - 1) ||
        !str_ok(role, sizeof c.role - 1) || (sid && sid[0] && !str_ok(sid, sizeof c.sid - 1)) ||
        now_s < 0 || now_s > JWT_NOW_MAX)
        return ATP_EINVAL;
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;

    unsigned char jti_raw[JWT_JTI_BYTES];
    randombytes_buf(jti_raw, sizeof jti_raw);
    sodium_bin2base64(c.jti, sizeof c.jti, jti_raw, sizeof jti_raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(c.sub, sizeof c.sub, "%s", sub);
    snprintf(c.role, sizeof c.role, "%s", role);
    snprintf(c.sid, sizeof c.sid, "%s", sid ? sid : "");
    c.iat = now_s;
    c.exp = now_s + (cfg->ttl_s ? cfg->ttl_s : JWT_DEFAULT_TTL_S);

    /* json_pack refuses strings that are not valid UTF-8: that is bad input, not OOM. */
    json_t *payload = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss", cfg->issuer, "sub",
                                c.sub, "aud", cfg->audience, "role", c.role, "jti", c.jti, "iat",
                                (json_int_t)c.iat, "exp", (json_int_t)c.exp);
    if (!payload || (c.sid[0] && json_object_set_new(payload, "sid", json_string(c.sid)) != 0)) {
        json_decref(payload);
        return ATP_EINVAL;
    }
    char json[JWT_MAX_LEN];
    size_t json_len = json_dumpb(payload, json, sizeof json, JSON_COMPACT);
    json_decref(payload);
    if (json_len == 0 || json_len > sizeof json)
        return ATP_ERANGE;

    char buf[JWT_MAX_LEN + 1];
    size_t pos = sizeof HEADER_B64 - 1;
    memcpy(buf, HEADER_B64, pos);
    buf[pos++] = '.';
    if (!b64url_append(buf, sizeof buf, &pos, json, json_len) || pos + 1 >= sizeof buf)
        return ATP_ERANGE;
    unsigned char mac[JWT_SIG_BYTES];
    hmac(cfg, buf, pos, mac);
    buf[pos++] = '.';
    if (!b64url_append(buf, sizeof buf, &pos, mac, sizeof mac))
        return ATP_ERANGE;
    if (pos + 1 > out_size)
        return ATP_ERANGE;
    memcpy(out, buf, pos + 1);
    if (claims)
        *claims = c;
    return ATP_OK;
}

/* Copies a JSON string member into dst (size bytes) when it is a non-empty string without
 * embedded NULs that fits. */
static bool get_str(json_t *obj, const char *key, char *dst, size_t size)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 || n >= size || strlen(s) != n)
        return false;
    memcpy(dst, s, n + 1);
    return true;
}

/* True when the JSON string v equals want exactly (length included, so no NUL tricks). */
static bool json_str_is(json_t *v, const char *want)
{
    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           memcmp(json_string_value(v), want, strlen(want)) == 0;
}

static bool get_int(json_t *obj, const char *key, int64_t *dst)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return false;
    *dst = (int64_t)json_integer_value(v);
    return true;
}

/* Parses len bytes of base64url JSON into an object; NULL when any step fails. */
static json_t *decode_object(const char *b64, size_t len, bool *oom)
{
    unsigned char raw[JWT_MAX_LEN];
    size_t raw_len = 0;
    *oom = false;
    if (len == 0 || !b64url_decode(b64, len, raw, sizeof raw, &raw_len))
        return NULL;
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        *oom = json_error_code(&jerr) == json_error_out_of_memory;
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static enum jwt_reject check_header(json_t *header)
{
    if (!json_str_is(json_object_get(header, "alg"), "HS256"))
        return JWT_REJECT_ALG;
    /* RFC 7515 4.1.11: a recipient that does not understand a "crit" extension must refuse. */
    if (json_object_get(header, "crit"))
        return JWT_REJECT_ALG;
    json_t *typ = json_object_get(header, "typ");
    if (typ && !(json_is_string(typ) && strcasecmp(json_string_value(typ), "JWT") == 0))
        return JWT_REJECT_MALFORMED;
    return JWT_VALID;
}

static enum jwt_reject check_claims(const struct jwt_config *cfg, json_t *p, int64_t now_s,
                                    struct jwt_claims *c)
{
    if (!get_str(p, "sub", c->sub, sizeof c->sub) ||
        !get_str(p, "role", c->role, sizeof c->role) ||
        !get_str(p, "jti", c->jti, sizeof c->jti) || !get_int(p, "iat", &c->iat) ||
        !get_int(p, "exp", &c->exp) || c->exp < c->iat)
        return JWT_REJECT_CLAIMS;
    /* sid is optional; present, it is a usable string (authn decides whether it must be there). */
    if (json_object_get(p, "sid") && !get_str(p, "sid", c->sid, sizeof c->sid))
        return JWT_REJECT_CLAIMS;
    json_t *iss = json_object_get(p, "iss");
    json_t *aud = json_object_get(p, "aud");
    json_t *nbf = json_object_get(p, "nbf");
    if (!json_is_string(iss) || !(json_is_string(aud) || json_is_array(aud)) ||
        (nbf && !json_is_integer(nbf)))
        return JWT_REJECT_CLAIMS;
    if (!json_str_is(iss, cfg->issuer))
        return JWT_REJECT_ISSUER;
    /* RFC 7519 4.1.3: aud is one string or an array of strings; ours must be among them. */
    bool aud_ok = json_str_is(aud, cfg->audience);
    if (json_is_array(aud)) {
        size_t i;
        json_t *item;
        json_array_foreach(aud, i, item) aud_ok = aud_ok || json_str_is(item, cfg->audience);
    }
    if (!aud_ok)
        return JWT_REJECT_AUDIENCE;
    if (now_s - JWT_LEEWAY_S >= c->exp)
        return JWT_REJECT_EXPIRED;
    if (c->iat > now_s + JWT_LEEWAY_S ||
        (nbf && (int64_t)json_integer_value(nbf) > now_s + JWT_LEEWAY_S))
        return JWT_REJECT_NOT_YET_VALID;
    return JWT_VALID;
}

int jwt_verify(const struct jwt_config *cfg, const char *token, int64_t now_s,
               struct jwt_claims *claims, enum jwt_reject *why)
{
    enum jwt_reject reason = JWT_REJECT_MALFORMED;
    int rc = ATP_EINVAL;
    json_t *header = NULL, *payload = NULL;
    struct jwt_claims c;
    memset(&c, 0, sizeof c);
    bool oom = false;

    if (!config_ok(cfg) || now_s < 0 || now_s > JWT_NOW_MAX || auth_init() != ATP_OK) {
        reason = JWT_REJECT_CONFIG;
        goto cleanup;
    }
    if (!token)
        goto cleanup;
    size_t len = strnlen(token, JWT_MAX_LEN + 1);
    if (len > JWT_MAX_LEN) {
        reason = JWT_REJECT_TOO_LONG;
        goto cleanup;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        goto cleanup;
    const char *sig_b64 = dot2 + 1;
    size_t sig_b64_len = len - (size_t)(sig_b64 - token);

    /* 1. The header, and the algorithm pinned, before anything else is believed. */
    header = decode_object(token, (size_t)(dot1 - token), &oom);
    if (!header)
        goto cleanup;
    reason = check_header(header);
    if (reason != JWT_VALID)
        goto cleanup;

    /* 2. The signature over "header.payload", compared in constant time. */
    unsigned char sig[2 * JWT_SIG_BYTES], mac[JWT_SIG_BYTES];
    size_t sig_len = 0;
    if (!b64url_decode(sig_b64, sig_b64_len, sig, sizeof sig, &sig_len)) {
        reason = JWT_REJECT_MALFORMED;
        goto cleanup;
    }
    hmac(cfg, token, (size_t)(dot2 - token), mac);
    if (sig_len != JWT_SIG_BYTES || crypto_verify_32(sig, mac) != 0) {
        reason = JWT_REJECT_SIGNATURE;
        goto cleanup;
    }

    /* 3. Only a signed payload is parsed, then its claims checked. */
    reason = JWT_REJECT_MALFORMED;
    payload = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), &oom);
    if (!payload)
        goto cleanup;
    reason = check_claims(cfg, payload, now_s, &c);
    if (reason == JWT_VALID)
        rc = ATP_OK;

cleanup:
    json_decref(header);
    json_decref(payload);
    if (rc != ATP_OK) {
        memset(&c, 0, sizeof c);
        if (oom)
            rc = ATP_ENOMEM;
    }
    if (claims)
        *claims = c;
    if (why)
        *why = rc == ATP_OK ? JWT_VALID : reason;
    return rc;
}
