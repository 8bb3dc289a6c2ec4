/* atp vault rotate|check: the broker credential vault's operator commands, straight on the store
 * (docs/security.md "Vault"). rotate re-seals every credential still under an older master key
 * with the current (highest-id) one: each connection is its own transaction, a compare-and-set
 * on its key id (store_broker_secret_replace), so a crash midway loses nothing and a re-run only
 * finishes the rest. check opens every blob. Neither prints a secret: only ids, brokers, key ids
 * and counts; vault.h messages never contain key or plaintext bytes. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "app/dbopen.h"
#include "auth/vault.h"
#include "core/alloc.h"
#include "store/store.h"

#define PAGE 100
#define BLOB_NONCE_OFFSET 5 /* after the version byte and the 4-byte key id (auth/vault.h) */

struct tally {
    long total;
    long done;      /* rotate: re-sealed; check: opened */
    long current;   /* rotate: already under the current key */
    long gone;      /* deleted while we ran */
    long failed;
    long per_key[VAULT_MAX_KEYS + 1]; /* check: opened per key slot (by order of appearance) */
    uint32_t key_ids[VAULT_MAX_KEYS + 1];
};

static void count_key(struct tally *t, uint32_t key_id)
{
    for (int i = 0; i <= VAULT_MAX_KEYS; i++) {
        if (t->key_ids[i] == key_id || t->key_ids[i] == 0) {
            t->key_ids[i] = key_id;
            t->per_key[i]++;
            return;
        }
    }
}

static void report_failure(const struct store_broker_conn *c, const struct atp_err *err)
{
    fprintf(stderr, "atp vault: connection %lld (account %lld, %s, key %s): %s\n", (long long)c->id,
            (long long)c->account_id, c->broker, c->key_id, err->msg);
}

/* One connection: check opens it; rotate re-seals it when it is not under the current key. */
static void one(struct store *s, const struct vault_keyring *kr, int rotate, const struct store_broker_conn *c,
                struct store_broker_secret *sec, struct tally *t)
{
    struct atp_err err;
    atp_err_clear(&err);
    struct store_broker_conn meta;
    t->total++;
    int rc = store_broker_secret_get(s, c->account_id, c->id, &meta, sec, &err);
    if (rc == ATP_ENOTFOUND) {
        t->gone++;
        return;
    }
    if (rc != ATP_OK) {
        report_failure(c, &err);
        t->failed++;
        return;
    }
    char account[24], ad[VAULT_AD_MAX];
    snprintf(account, sizeof account, "%lld", (long long)meta.account_id);
    size_t ad_len = vault_owner_ad(account, meta.broker, ad, sizeof ad);
    uint32_t blob_key = 0;
    if (vault_blob_key_id(sec->ciphertext, sec->ciphertext_len, &blob_key) != ATP_OK || !ad_len) {
        atp_err_set(&err, ATP_EPARSE, NULL, 0, NULL, "the stored blob is not a sealed credential");
        report_failure(&meta, &err);
        t->failed++;
        return;
    }
    if (!rotate) {
        struct vault_secret plain;
        rc = vault_open(kr, sec->ciphertext, sec->ciphertext_len, ad, ad_len, &plain, &err);
        if (rc == ATP_OK) {
            /* Authenticated, so intact; a shape check without parsing (a parser's copies of the
             * secrets would outlive the wipe below). */
            if (plain.len < 2 || plain.data[0] != '{' || plain.data[plain.len - 1] != '}')
                rc = atp_err_set(&err, ATP_EPARSE, NULL, 0, NULL, "opens, but is not a JSON object of credentials");
            vault_secret_cleanup(&plain);
        }
        if (rc != ATP_OK) {
            report_failure(&meta, &err);
            t->failed++;
            return;
        }
        t->done++;
        count_key(t, blob_key);
        return;
    }
    uint32_t current = vault_keyring_current(kr);
    if (blob_key == current) {
        t->current++;
        return;
    }
    unsigned char *blob = NULL;
    size_t blob_len = 0;
    rc = vault_rotate(kr, sec->ciphertext, sec->ciphertext_len, ad, ad_len, &blob, &blob_len, &err);
    if (rc == ATP_OK && blob_len > STORE_CIPHER_MAX)
        rc = atp_err_set(&err, ATP_ERANGE, NULL, 0, NULL, "re-sealed blob exceeds the store's limit");
    if (rc != ATP_OK) {
        atp_free(blob);
        report_failure(&meta, &err);
        t->failed++;
        return;
    }
    memcpy(sec->ciphertext, blob, blob_len);
    sec->ciphertext_len = (uint32_t)blob_len;
    memcpy(sec->nonce, blob + BLOB_NONCE_OFFSET, VAULT_HEADER_BYTES - BLOB_NONCE_OFFSET);
    sec->nonce_len = VAULT_HEADER_BYTES - BLOB_NONCE_OFFSET;
    atp_free(blob);
    char key_text[16];
    snprintf(key_text, sizeof key_text, "%u", (unsigned)current);
    rc = store_broker_secret_replace(s, meta.account_id, meta.id, meta.key_id, key_text, sec, &err);
    if (rc == ATP_OK)
        t->done++;
    else if (rc == ATP_ENOTFOUND)
        t->gone++;
    else if (rc == ATP_ESTATE)
        t->current++; /* another run re-sealed it meanwhile */
    else {
        report_failure(&meta, &err);
        t->failed++;
    }
}

int cmd_vault(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "rotate") && strcmp(argv[1], "check")))
        return cli_fail("vault", "which action? (rotate, check)");
    int rotate = !strcmp(argv[1], "rotate");
    static const struct option opts[] = {{"db", required_argument, 0, 'd'}, {0, 0, 0, 0}};
    const char *url = NULL;
    int c;
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            url = optarg;
        else
            return cli_fail("vault", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_fail("vault", "unexpected argument '%s'", argv[optind]);

    struct atp_err err;
    atp_err_clear(&err);
    struct vault_keyring *kr = NULL;
    if (vault_keyring_new(&kr) != ATP_OK)
        return cli_fail("vault", "cannot initialise the vault");
    int rc = vault_keyring_load(kr, &err);
    unsetenv("ATP_MASTER_KEY"); /* no child or crash dump inherits it */
    if (rc != ATP_OK) {
        vault_keyring_free(kr);
        return cli_fail_err("vault", &err);
    }
    struct store *s = NULL;
    rc = cli_store_open("vault", url, &s);
    struct store_broker_conn *page = atp_calloc(PAGE, sizeof *page);
    struct store_broker_secret *sec = atp_calloc(1, sizeof *sec);
    if (rc != CLI_EXIT_OK || !page || !sec) {
        if (rc == CLI_EXIT_OK)
            rc = cli_fail("vault", "out of memory");
        goto cleanup;
    }
    struct tally t;
    memset(&t, 0, sizeof t);
    struct store_page p = {0, PAGE};
    struct store_page_out po;
    do {
        if (store_broker_list_all(s, &p, page, &po, &err) != ATP_OK) {
            rc = cli_fail_err("vault", &err);
            goto cleanup;
        }
        for (uint32_t i = 0; i < po.count; i++)
            one(s, kr, rotate, &page[i], sec, &t);
        p.cursor = po.next_cursor;
    } while (po.next_cursor);

    unsigned current = vault_keyring_current(kr);
    if (rotate) {
        printf("atp vault rotate: current key %u; %ld connections: %ld re-sealed, %ld already under key %u, "
               "%ld deleted meanwhile, %ld failed\n",
               current, t.total, t.done, t.current, current, t.gone, t.failed);
    } else {
        printf("atp vault check: %ld connections: %ld open, %ld failed", t.total, t.done, t.failed);
        for (int i = 0; i <= VAULT_MAX_KEYS && t.key_ids[i]; i++)
            printf("%s key %u: %ld", i ? "," : ";", (unsigned)t.key_ids[i], t.per_key[i]);
        printf("\n");
    }
    rc = t.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;

cleanup:
    if (sec)
        sodium_memzero(sec, sizeof *sec);
    atp_free(sec);
    atp_free(page);
    store_close(s);
    vault_keyring_free(kr);
    return rc;
}
