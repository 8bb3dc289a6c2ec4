/* auth/vault: broker credentials encrypted at rest. Each credential blob is sealed with
 * XChaCha20-Poly1305-IETF (libsodium) under a 256-bit master key, with a fresh random 192-bit
 * nonce per seal and associated data that binds it to its owner (account id + broker name), so a
 * blob copied to another account, or edited in the store, fails to open.
 *
 * Blob layout (binary; the store keeps it as a BLOB/bytea):
 *   version (1 byte, 1) | key id (4 bytes, big-endian) | nonce (24) | ciphertext + tag (len + 16)
 * The version and key id are authenticated too (they are prepended to the associated data).
 *
 * Master keys live in a keyring keyed by id: blobs open with the key their id names and are
 * sealed with the current key, the one with the highest id. Rotation: add a key with a higher
 * id, re-seal every blob (vault_rotate, what `atp vault rotate` runs), then retire the old key.
 * Keys sit in sodium_malloc'd memory (guard pages, mlock'd where allowed), wiped on free.
 *
 * Key sources (vault_keyring_load): ATP_MASTER_KEY, else the file named by ATP_MASTER_KEY_FILE,
 * which must be a regular file with no group or other permission bits (0600 or 0400). Either holds
 * entries "[ID:]KEY", comma- or newline-separated ('#' starts a comment line in files); KEY is 32
 * bytes as 64 hex digits or base64 (standard or url-safe, padded or not); ID defaults to 1.
 * Thread-safety: a keyring is built on one thread, then read-only; seal/open may run on any
 * thread concurrently. Nothing here logs, and no message ever contains key or plaintext bytes. */
#ifndef ATP_AUTH_VAULT_H
#define ATP_AUTH_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define VAULT_KEY_BYTES 32
#define VAULT_MAX_KEYS 16
#define VAULT_HEADER_BYTES 29              /* version 1 + key id 4 + nonce 24 */
#define VAULT_OVERHEAD (VAULT_HEADER_BYTES + 16)
#define VAULT_PLAIN_MAX (64 * 1024)        /* credential blobs are small; larger input refused */
#define VAULT_MASK_SIZE 16                 /* "abcd…wxyz" + NUL; … is 3 bytes of UTF-8 */
#define VAULT_AD_MAX 512

struct vault_keyring;

/* A decrypted secret. data is NUL-terminated one past len (so JSON credentials can be parsed in
 * place) and must be released with vault_secret_cleanup, which wipes it. */
struct vault_secret {
    unsigned char *data;
    size_t len;
};

/* Empty keyring. ATP_OK or ATP_ENOMEM. vault_keyring_free(NULL) is a no-op; free wipes the keys. */
int vault_keyring_new(struct vault_keyring **out);
void vault_keyring_free(struct vault_keyring *kr);

/* Adds a 32-byte key under key_id (>= 1; copied into protected memory). ATP_EEXIST when the id
 * is taken, ATP_ERANGE past VAULT_MAX_KEYS, ATP_EINVAL for id 0 or an all-zero key. */
int vault_keyring_add(struct vault_keyring *kr, uint32_t key_id,
                      const unsigned char key[VAULT_KEY_BYTES], struct atp_err *err);

/* Adds every "[ID:]KEY" entry of text (see the header comment). origin names the source in
 * messages ("ATP_MASTER_KEY", a path); messages give the entry number, never key material.
 * ATP_EPARSE for a bad entry (nothing is added then), or vault_keyring_add's codes. */
int vault_keyring_add_text(struct vault_keyring *kr, const char *text, const char *origin,
                           struct atp_err *err);

/* Loads keys from a key file: refuses (ATP_EINVAL, naming the file and its mode) a file that is
 * not regular or grants any group/other permission; ATP_EIO when it cannot be read; ATP_ERANGE
 * past 16 KiB; then as vault_keyring_add_text. The file's text is wiped after parsing. */
int vault_keyring_load_file(struct vault_keyring *kr, const char *path, struct atp_err *err);

/* ATP_MASTER_KEY if set and non-empty, else ATP_MASTER_KEY_FILE; ATP_ENOTFOUND when neither is
 * set. The environment is left as it is (app/ may unsetenv ATP_MASTER_KEY after loading). */
int vault_keyring_load(struct vault_keyring *kr, struct atp_err *err);

/* The id new seals use (highest id), or 0 for an empty keyring. */
uint32_t vault_keyring_current(const struct vault_keyring *kr);

/* Associated data for a broker credential: an unambiguous, length-prefixed encoding of the
 * owner ("atp.broker-credential.v1|<len>:<account_id>|<len>:<broker>") into out (NUL-terminated).
 * Returns the length, or 0 when it does not fit or an argument is empty. */
size_t vault_owner_ad(const char *account_id, const char *broker, char *out, size_t out_size);

/* Seals plain (plain_len <= VAULT_PLAIN_MAX bytes) under the current key with ad. On ATP_OK,
 * *blob (atp_malloc'd, caller atp_frees) holds plain_len + VAULT_OVERHEAD bytes. ATP_ESTATE for
 * an empty keyring, ATP_ERANGE for oversized input, ATP_ENOMEM. */
int vault_seal(const struct vault_keyring *kr, const void *plain, size_t plain_len, const void *ad,
               size_t ad_len, unsigned char **blob, size_t *blob_len, struct atp_err *err);

/* Opens a blob with the key its id names and the same ad it was sealed with. ATP_OK fills out;
 * ATP_EPARSE for a truncated blob or unknown version; ATP_ENOTFOUND when its key id is not in the
 * keyring; ATP_EINVAL when authentication fails (tampered blob, wrong key, other owner);
 * ATP_ENOMEM. On failure out is empty. */
int vault_open(const struct vault_keyring *kr, const unsigned char *blob, size_t blob_len,
               const void *ad, size_t ad_len, struct vault_secret *out, struct atp_err *err);

/* Re-seals a blob under the current key (fresh nonce, same ad): what `atp vault rotate` does
 * for each stored credential. *out as in vault_seal; errors as in vault_open and vault_seal. */
int vault_rotate(const struct vault_keyring *kr, const unsigned char *blob, size_t blob_len,
                 const void *ad, size_t ad_len, unsigned char **out, size_t *out_len,
                 struct atp_err *err);

/* Key id recorded in a blob (to find blobs still under an old key). ATP_EPARSE if malformed. */
int vault_blob_key_id(const unsigned char *blob, size_t blob_len, uint32_t *key_id);

/* Wipes and frees out->data; leaves *out empty. NULL or empty is a no-op. */
void vault_secret_cleanup(struct vault_secret *s);

/* Display form of a secret for the API and logs, never the secret: "abcd…wxyz" when len >= 16
 * (at most half shown), "…wxyz" when 8 <= len < 16, "…" when shorter. Non-printable or non-ASCII
 * bytes show as '*'. Writes a NUL-terminated string into out (VAULT_MASK_SIZE bytes). */
void vault_mask(const void *secret, size_t len, char out[VAULT_MASK_SIZE]);

#endif
