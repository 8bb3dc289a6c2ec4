/* auth/auth: one-time start-up of the crypto libraries behind the auth modules (libsodium and
 * liboath). Every auth_* / password_* / jwt_* / totp_* / vault_* / token_* entry point that needs
 * them calls auth_init() itself, so callers never have to; app/ may call it early to fail fast.
 * docs/security.md describes the primitives. */
#ifndef ATP_AUTH_AUTH_H
#define ATP_AUTH_AUTH_H

/* Initialises libsodium (sodium_init) and liboath (oath_init) exactly once per process
 * (pthread_once), from any thread. Returns ATP_OK, or ATP_ESTATE when either library failed to
 * initialise (then every auth primitive refuses to run: failing closed). */
int auth_init(void);

#endif
