#include "api/h_brokers.h"

#include "api/http.h"
#include "api/hutil.h"
#include "api/json_err.h"
#include "auth/vault.h"
#include "core/alloc.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The nonce's place in a sealed blob: after the version byte and the 4-byte key id (vault.h). */
#define BLOB_NONCE_OFFSET 5

static const char *const brokers[] = {"kite", "angel", "upstox", "fyers", "dhan", "paper"};

/* Credential fields that identify rather than authenticate: their masked value may be shown.
 * Every other field (secrets, tokens, PINs, TOTP seeds) shows only that it is set, because even
 * a few characters of a short secret (a PIN, a TOTP seed) would cut its strength. */
static const char *const identifying[] = {"api_key", "client_id", "user_id", "app_id", "username"};

int h_brokers_known(const char *name)
{
    for (size_t i = 0; name && i < sizeof brokers / sizeof brokers[0]; i++)
        if (!strcmp(brokers[i], name))
            return 1;
    return 0;
}

static int is_identifying(const char *key)
{
    for (size_t i = 0; i < sizeof identifying / sizeof identifying[0]; i++)
        if (!strcmp(identifying[i], key))
            return 1;
    return 0;
}

static json_t *conn_json(const struct store_broker_conn *c)
{
    char created[HUTIL_ISO_MAX];
    return json_pack("{s:I, s:I, s:s, s:s, s:I, s:s, s:I}", "id", (json_int_t)c->id, "account_id",
                     (json_int_t)c->account_id, "broker", c->broker, "masked", c->masked, "key_id",
                     (json_int_t)strtoll(c->key_id, NULL, 10), "created", hutil_iso8601(c->created_ns, created),
                     "created_ns", (json_int_t)c->created_ns);
}

static int64_t account_param(struct api_request *req) { return hutil_parse_id(api_param(req, "id")); }

const struct api_field h_brokers_create_body[] = {
    {"broker", API_FT_STRING, 1, STORE_BROKER_MAX - 1, "kite, angel, upstox, fyers, dhan or paper"},
    {"credentials", API_FT_OBJECT, 1, 0,
     "the broker login as an object of strings, e.g. api_key, api_secret, access_token, client_id, pin, "
     "totp_secret; sealed at once, never returned"},
    {NULL, 0, 0, 0, NULL},
};

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Checks the credentials object; 0, or -1 with a 422 naming the field in res. Fills keys (sorted). */
static int check_credentials(json_t *cred, const char **keys, size_t *n_keys, struct api_response *res)
{
    size_t n = json_object_size(cred);
    if (n == 0 || n > H_BROKERS_MAX_FIELDS) {
        api_error(res, 422, "invalid_field", "credentials", "credentials hold 1 to %d fields",
                  H_BROKERS_MAX_FIELDS);
        return -1;
    }
    const char *key;
    json_t *v;
    size_t i = 0;
    char field[96];
    json_object_foreach(cred, key, v) {
        size_t klen = strlen(key);
        int ok = klen >= 1 && klen <= 32;
        for (size_t j = 0; ok && j < klen; j++)
            ok = (key[j] >= 'a' && key[j] <= 'z') || (key[j] >= '0' && key[j] <= '9') || key[j] == '_';
        if (!ok) {
            api_error(res, 422, "invalid_field", "credentials",
                      "credential field names are 1 to 32 of [a-z0-9_]");
            return -1;
        }
        snprintf(field, sizeof field, "credentials.%s", key);
        size_t vlen = json_string_length(v);
        if (!json_is_string(v) || vlen == 0 || vlen > H_BROKERS_VALUE_MAX || memchr(json_string_value(v), 0, vlen)) {
            /* The message never echoes the value: it is a secret. */
            api_error(res, 422, "invalid_field", field, "%s must be a non-empty string of at most %d bytes",
                      field, H_BROKERS_VALUE_MAX);
            return -1;
        }
        keys[i++] = key;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    *n_keys = n;
    return 0;
}

/* "api_key=abcd…7f2a client_id=…AB12 access_token=set", cut at a whole entry to fit. */
static void mask_summary(json_t *cred, const char **keys, size_t n, char out[STORE_MASKED_MAX])
{
    size_t pos = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char entry[STORE_MASKED_MAX], mask[VAULT_MASK_SIZE];
        const char *value = json_string_value(json_object_get(cred, keys[i]));
        if (is_identifying(keys[i]))
            vault_mask(value, strlen(value), mask);
        else
            snprintf(mask, sizeof mask, "set");
        int len = snprintf(entry, sizeof entry, "%s%s=%s", pos ? " " : "", keys[i], mask);
        const char *more = " …"; /* room kept for it */
        if (len < 0 || pos + (size_t)len + strlen(more) >= STORE_MASKED_MAX) {
            snprintf(out + pos, STORE_MASKED_MAX - pos, "%s", more);
            return;
        }
        memcpy(out + pos, entry, (size_t)len + 1);
        pos += (size_t)len;
    }
}

/* Overwrites the credential strings of the parsed body once sealed, so the plaintext does not
 * linger in this request's JSON (the raw body buffer belongs to the server). */
static void wipe_credentials(json_t *cred)
{
    const char *key;
    json_t *v;
    json_object_foreach(cred, key, v)
        if (json_is_string(v))
            sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

void h_brokers_create(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    const struct vault_keyring *kr = api_server_vault(req->server);
    if (!kr || vault_keyring_current(kr) == 0) {
        api_error(res, 503, "vault_unavailable", NULL,
                  "the credential vault has no master key: set ATP_MASTER_KEY (or ATP_MASTER_KEY_FILE) "
                  "and restart the server");
        return;
    }
    int64_t account_id = account_param(req);
    const char *broker = json_string_value(json_object_get(req->json, "broker"));
    json_t *cred = json_object_get(req->json, "credentials");
    if (!h_brokers_known(broker)) {
        api_error(res, 422, "invalid_field", "broker", "broker must be kite, angel, upstox, fyers, dhan or paper");
        return;
    }
    const char *keys[H_BROKERS_MAX_FIELDS];
    size_t n_keys = 0;
    if (check_credentials(cred, keys, &n_keys, res) != 0)
        return;
    struct store_broker_conn c;
    memset(&c, 0, sizeof c);
    c.account_id = account_id;
    snprintf(c.broker, sizeof c.broker, "%s", broker);
    mask_summary(cred, keys, n_keys, c.masked);

    char account_text[24], ad[VAULT_AD_MAX];
    snprintf(account_text, sizeof account_text, "%lld", (long long)account_id);
    size_t ad_len = vault_owner_ad(account_text, broker, ad, sizeof ad);
    char *plain = json_dumps(cred, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char *blob = NULL;
    size_t blob_len = 0;
    struct atp_err err;
    atp_err_clear(&err);
    int rc = plain && ad_len ? vault_seal(kr, plain, strlen(plain), ad, ad_len, &blob, &blob_len, &err) : ATP_ENOMEM;
    if (plain) {
        sodium_memzero(plain, strlen(plain));
        free(plain);
    }
    wipe_credentials(cred);
    struct store_broker_secret *sec = atp_calloc(1, sizeof *sec); /* 4 KiB: off the worker's stack */
    if (rc == ATP_OK && (!sec || blob_len > STORE_CIPHER_MAX))
        rc = sec ? ATP_ERANGE : ATP_ENOMEM;
    if (rc != ATP_OK) {
        atp_free(blob);
        atp_free(sec);
        if (rc == ATP_ERANGE)
            api_error(res, 422, "invalid_field", "credentials", "the credentials are too large to store");
        else
            api_error(res, 500, "internal", NULL, "cannot seal the credentials");
        return;
    }
    /* The blob carries its own nonce (auth/vault.h layout); the nonce column keeps a copy. */
    memcpy(sec->ciphertext, blob, blob_len);
    sec->ciphertext_len = (uint32_t)blob_len;
    memcpy(sec->nonce, blob + BLOB_NONCE_OFFSET, VAULT_HEADER_BYTES - BLOB_NONCE_OFFSET);
    sec->nonce_len = VAULT_HEADER_BYTES - BLOB_NONCE_OFFSET;
    uint32_t key_id = 0;
    vault_blob_key_id(blob, blob_len, &key_id);
    snprintf(c.key_id, sizeof c.key_id, "%u", (unsigned)key_id);
    atp_free(blob);
    struct store *s = req->store;
    rc = store_broker_create(s, &c, sec, &c.id, NULL);
    atp_free(sec);
    struct store_broker_conn saved; /* read back (the store's created time): the page after id - 1 */
    if (rc != ATP_OK || store_broker_list(s, account_id, &(struct store_page){c.id - 1, 1}, &saved,
                                          &(struct store_page_out){0}, NULL) != ATP_OK) {
        api_error(res, 500, "internal", NULL, "cannot store the connection");
        return;
    }
    char resource[48];
    snprintf(resource, sizeof resource, "broker_connection:%lld", (long long)c.id);
    json_t *fields = json_array();
    for (size_t i = 0; fields && i < n_keys; i++)
        json_array_append_new(fields, json_string(keys[i]));
    struct hutil_actor who = hutil_actor_of(req);
    /* Names of the fields, never their values. */
    hutil_audit(s, &who, account_id, "broker.credentials.create", resource, "ok",
                json_pack("{s:s, s:s, s:o}", "broker", c.broker, "key_id", c.key_id, "fields",
                          fields ? fields : json_array()));
    res->status = 201;
    res->json = conn_json(&saved);
}

void h_brokers_list(struct api_request *req, struct api_response *res)
{
    struct store_page page;
    if (!hutil_have_store(req, res) || hutil_page(req, res, HUTIL_PAGE_DEFAULT, &page) != 0)
        return;
    struct store_broker_conn *out = atp_calloc(page.limit, sizeof *out);
    struct store_page_out po = {0};
    if (!out || store_broker_list(req->store, account_param(req), &page, out, &po, NULL) != ATP_OK) {
        atp_free(out);
        api_error(res, 500, "internal", NULL, "cannot list the broker connections");
        return;
    }
    json_t *items = json_array();
    for (uint32_t i = 0; items && i < po.count; i++)
        json_array_append_new(items, conn_json(&out[i]));
    atp_free(out);
    res->json = hutil_list(items, po.next_cursor);
}

void h_brokers_delete(struct api_request *req, struct api_response *res)
{
    if (!hutil_have_store(req, res))
        return;
    int64_t account_id = account_param(req), id = hutil_parse_id(api_param(req, "conn_id"));
    /* Read first, for the audit's broker name; scoped by the account like the delete. */
    struct store_broker_conn c;
    memset(&c, 0, sizeof c);
    struct store_broker_secret *sec = atp_calloc(1, sizeof *sec);
    int found = sec && id && store_broker_secret_get(req->store, account_id, id, &c, sec, NULL) == ATP_OK;
    if (sec)
        sodium_memzero(sec, sizeof *sec);
    atp_free(sec);
    if (!found || store_broker_delete(req->store, account_id, id, NULL) != ATP_OK) {
        api_error(res, 404, "not_found", NULL, "no such broker connection");
        return;
    }
    char resource[48];
    snprintf(resource, sizeof resource, "broker_connection:%lld", (long long)id);
    struct hutil_actor who = hutil_actor_of(req);
    hutil_audit(req->store, &who, account_id, "broker.credentials.delete", resource, "ok",
                json_pack("{s:s, s:s}", "broker", c.broker, "key_id", c.key_id));
    res->json = json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "deleted");
}
