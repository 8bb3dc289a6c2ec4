/* auth/totp: time-based one-time passwords, RFC 6238 with the parameters every authenticator app
 * assumes: HMAC-SHA-1, 30-second steps from the Unix epoch, 6 digits. Codes are computed by
 * liboath; comparison is constant-time here.
 *
 * "A code works once": totp_verify takes the last time step the user got accepted (stored by the
 * caller, TOTP_STEP_NONE at enrolment) and returns the step it accepts now, which the caller
 * stores in the same transaction as the login. A code for that step or an earlier one is refused
 * as a replay, so an observed code cannot be reused, even inside its validity window.
 * The secret is a credential: the server keeps it sealed with auth/vault, never in clear.
 * Thread-safe; never logs. */
#ifndef ATP_AUTH_TOTP_H
#define ATP_AUTH_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_BYTES 20      /* 160-bit secret, as RFC 4226 section 4 recommends */
#define TOTP_SECRET_B32_SIZE 33   /* 32 base32 characters + NUL */
#define TOTP_DIGITS 6
#define TOTP_CODE_SIZE 7          /* 6 digits + NUL */
#define TOTP_STEP_S 30
#define TOTP_WINDOW 1             /* steps accepted either side of now (clock drift) */
#define TOTP_STEP_NONE (-1)       /* last_step before any code was accepted */

enum totp_reject {
    TOTP_VALID = 0,
    TOTP_REJECT_FORMAT, /* the code is not exactly TOTP_DIGITS ASCII digits */
    TOTP_REJECT_WRONG,  /* no step in now +- TOTP_WINDOW gives this code */
    TOTP_REJECT_REPLAY, /* the code is right, but for a step at or before last_step */
};

/* Short constant name of a reason ("replay"), for logs and metrics. */
const char *totp_reject_name(enum totp_reject why);

/* Writes a fresh random secret as unpadded upper-case base32 (what authenticator apps take)
 * into out. ATP_OK; ATP_ENOMEM; ATP_ESTATE when the crypto libraries are unavailable. */
int totp_secret_generate(char out[TOTP_SECRET_B32_SIZE]);

/* Writes the otpauth:// enrolment URI (for a QR code) into out:
 * otpauth://totp/ISSUER:ACCOUNT?secret=S&issuer=ISSUER&algorithm=SHA1&digits=6&period=30,
 * issuer and account percent-encoded. ATP_OK; ATP_EINVAL for empty arguments; ATP_ERANGE when
 * out_size is too small (512 is enough for a 64-byte issuer and account). */
int totp_uri(const char *secret_b32, const char *issuer, const char *account, char *out,
             size_t out_size);

/* The code for the step containing now_s (for tests and operator tools; a server never needs
 * to show a code). ATP_OK; ATP_EPARSE when the secret is not base32; ATP_EINVAL for now_s < 0. */
int totp_code(const char *secret_b32, int64_t now_s, char out[TOTP_CODE_SIZE]);

/* Checks code against the steps floor(now_s / 30) - 1 .. + 1. Fails closed: ATP_OK only when the
 * code matches a step later than last_step, and then *accepted_step is that step (the caller
 * stores it). Otherwise ATP_EINVAL with *why (when non-NULL) saying why and *accepted_step left
 * as last_step; ATP_EPARSE when the stored secret is not base32; ATP_ENOMEM. */
int totp_verify(const char *secret_b32, const char *code, int64_t now_s, int64_t last_step,
                int64_t *accepted_step, enum totp_reject *why);

#endif
