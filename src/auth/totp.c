#include "auth/totp.h"

#include "auth/auth.h"
#include "core/err.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *totp_reject_name(enum totp_reject why)
{
    switch (why) {
    case TOTP_VALID: return "valid";
    case TOTP_REJECT_FORMAT: return "format";
    case TOTP_REJECT_WRONG: return "wrong";
    case TOTP_REJECT_REPLAY: return "replay";
    }
    return "unknown";
}

/* liboath allocates decoded secrets with malloc; they are wiped before going back. */
static void secret_free(char *secret, size_t len)
{
    if (!secret)
        return;
    sodium_memzero(secret, len);
    free(secret);
}

static int secret_decode(const char *secret_b32, char **secret, size_t *len)
{
    *secret = NULL;
    *len = 0;
    if (!secret_b32 || !secret_b32[0] || strlen(secret_b32) > 128)
        return ATP_EPARSE;
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;
    int rc = oath_base32_decode(secret_b32, strlen(secret_b32), secret, len);
    if (rc == OATH_MALLOC_ERROR)
        return ATP_ENOMEM;
    if (rc != OATH_OK || *len == 0) {
        secret_free(*secret, *len);
        *secret = NULL;
        return ATP_EPARSE;
    }
    return ATP_OK;
}

int totp_secret_generate(char out[TOTP_SECRET_B32_SIZE])
{
    out[0] = '\0';
    if (auth_init() != ATP_OK)
        return ATP_ESTATE;
    char raw[TOTP_SECRET_BYTES];
    randombytes_buf(raw, sizeof raw);
    char *b32 = NULL;
    size_t b32_len = 0;
    int rc = oath_base32_encode(raw, sizeof raw, &b32, &b32_len);
    sodium_memzero(raw, sizeof raw);
    if (rc != OATH_OK)
        return ATP_ENOMEM;
    /* 20 bytes are exactly 32 base32 characters: no '=' padding to strip. */
    int status = b32_len == TOTP_SECRET_B32_SIZE - 1 ? ATP_OK : ATP_ESTATE;
    if (status == ATP_OK)
        memcpy(out, b32, b32_len + 1);
    secret_free(b32, b32_len);
    return status;
}

/* Percent-encodes s (RFC 3986 unreserved characters kept) at out[*pos]. */
static bool pct_append(char *out, size_t size, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        size_t need = plain ? 1 : 3;
        if (*pos + need >= size)
            return false;
        if (plain) {
            out[(*pos)++] = (char)c;
        } else {
            out[(*pos)++] = '%';
            out[(*pos)++] = hex[c >> 4];
            out[(*pos)++] = hex[c & 15];
        }
    }
    out[*pos] = '\0';
    return true;
}

static bool lit_append(char *out, size_t size, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n >= size)
        return false;
    memcpy(out + *pos, s, n + 1);
    *pos += n;
    return true;
}

int totp_uri(const char *secret_b32, const char *issuer, const char *account, char *out,
             size_t out_size)
{
    if (!out || out_size == 0)
        return ATP_ERANGE;
    out[0] = '\0';
    if (!secret_b32 || !secret_b32[0] || !issuer || !issuer[0] || !account || !account[0])
        return ATP_EINVAL;
    size_t pos = 0;
    /* Key URI format (github.com/google/google-authenticator/wiki/Key-Uri-Format): the label is
     * "issuer:account" with the colon literal, and the issuer is repeated as a parameter. */
    bool ok = lit_append(out, out_size, &pos, "otpauth://totp/") &&
              pct_append(out, out_size, &pos, issuer) && lit_append(out, out_size, &pos, ":") &&
              pct_append(out, out_size, &pos, account) &&
              lit_append(out, out_size, &pos, "?secret=") &&
              pct_append(out, out_size, &pos, secret_b32) &&
              lit_append(out, out_size, &pos, "&issuer=") &&
              pct_append(out, out_size, &pos, issuer) &&
              lit_append(out, out_size, &pos, "&algorithm=SHA1&digits=6&period=30");
    if (!ok) {
        out[0] = '\0';
        return ATP_ERANGE;
    }
    return ATP_OK;
}

static int code_at_step(const char *secret, size_t len, int64_t step, char out[TOTP_CODE_SIZE])
{
    int rc = oath_totp_generate(secret, len, (time_t)(step * TOTP_STEP_S), TOTP_STEP_S, 0,
                                TOTP_DIGITS, out);
    return rc == OATH_OK ? ATP_OK : ATP_EINVAL;
}

int totp_code(const char *secret_b32, int64_t now_s, char out[TOTP_CODE_SIZE])
{
    out[0] = '\0';
    if (now_s < 0)
        return ATP_EINVAL;
    char *secret = NULL;
    size_t len = 0;
    int rc = secret_decode(secret_b32, &secret, &len);
    if (rc == ATP_OK)
        rc = code_at_step(secret, len, now_s / TOTP_STEP_S, out);
    secret_free(secret, len);
    return rc;
}

static bool code_format_ok(const char *code)
{
    if (!code)
        return false;
    for (int i = 0; i < TOTP_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    return code[TOTP_DIGITS] == '\0';
}

int totp_verify(const char *secret_b32, const char *code, int64_t now_s, int64_t last_step,
                int64_t *accepted_step, enum totp_reject *why)
{
    *accepted_step = last_step;
    enum totp_reject reason = TOTP_REJECT_FORMAT;
    if (!code_format_ok(code) || now_s < TOTP_STEP_S * TOTP_WINDOW || last_step < TOTP_STEP_NONE) {
        if (why)
            *why = reason;
        return ATP_EINVAL;
    }
    reason = TOTP_REJECT_WRONG; /* also the answer when the secret cannot be used */
    char *secret = NULL;
    size_t len = 0;
    int rc = secret_decode(secret_b32, &secret, &len);
    if (rc != ATP_OK)
        goto cleanup;

    int64_t now_step = now_s / TOTP_STEP_S;
    int64_t best = TOTP_STEP_NONE;
    bool replayed = false;
    /* Every step in the window is computed and compared, matching or not, so the time taken
     * does not tell which step (if any) matched. */
    for (int64_t step = now_step - TOTP_WINDOW; step <= now_step + TOTP_WINDOW; step++) {
        char want[TOTP_CODE_SIZE];
        rc = code_at_step(secret, len, step, want);
        if (rc != ATP_OK)
            goto cleanup;
        bool match = sodium_memcmp(want, code, TOTP_DIGITS) == 0;
        sodium_memzero(want, sizeof want);
        if (match && step > last_step)
            best = step;
        else if (match)
            replayed = true;
    }
    if (best != TOTP_STEP_NONE) {
        *accepted_step = best;
        reason = TOTP_VALID;
    } else {
        reason = replayed ? TOTP_REJECT_REPLAY : TOTP_REJECT_WRONG;
        rc = ATP_EINVAL;
    }

cleanup:
    secret_free(secret, len);
    if (why)
        *why = rc == ATP_OK ? TOTP_VALID : reason;
    return rc;
}
