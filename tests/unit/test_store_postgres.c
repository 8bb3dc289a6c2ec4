/* store/postgres: the store suite (tests/integration/store_suite.c) against a real PostgreSQL, plus
 * what only this backend has: the column types of the schema, refusing a newer database, and a
 * connection failure that names the server but never the password.
 *
 * The server comes from ATP_TEST_PG_URL, which ctest sets (scripts/pg.sh starts a private server;
 * `make test` and the ctest fixture run it). Without it every test here FAILS: CI never skips the
 * PostgreSQL backend. Each case gets a fresh schema (search_path set in the URL), dropped after. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "store/store.h"
#include "store_suite.h"

#define MAX_SCHEMAS 8

static char schemas[MAX_SCHEMAS][64];
static int schema_count;

static const char *base_url(void)
{
    const char *url = getenv("ATP_TEST_PG_URL");
    cr_assert(url && *url,
              "ATP_TEST_PG_URL is not set: the PostgreSQL store tests need a server. Run `make test` "
              "(it starts one with scripts/pg.sh), or ctest from a CMake build tree (its fixture runs "
              "scripts/pg.sh), or set ATP_TEST_PG_URL=postgresql://... yourself.");
    return url;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs sql on the test database as the test role; fails the test on error. */
static void admin_exec(const char *sql)
{
    PGconn *c = PQconnectdb(base_url());
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "cannot connect to ATP_TEST_PG_URL: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL); /* "drop cascades to ..." */
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* Writes into buf the store URL of a new, empty schema. */
static void schema_url(char *buf, size_t size, char *name_out, size_t name_size)
{
    static int n;
    const char *url = base_url();
    cr_assert_lt(schema_count, MAX_SCHEMAS);
    char *name = schemas[schema_count++];
    snprintf(name, sizeof schemas[0], "t_%ld_%d", (long)getpid(), n++);
    char sql[640];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", name, name);
    admin_exec(sql);
    snprintf(buf, size, "%s%coptions=-csearch_path%%3D%s", url, strchr(url, '?') ? '&' : '?', name);
    if (name_out)
        snprintf(name_out, name_size, "%s", name);
}

static void fresh_url(char *buf, size_t size) { schema_url(buf, size, NULL, 0); }

static void drop_schemas(void)
{
    for (int i = 0; i < schema_count; i++) {
        char sql[640];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schemas[i]);
        admin_exec(sql);
    }
    schema_count = 0;
}

static const struct store_suite_env env = {.backend = "postgres", .fresh_url = fresh_url};

#define PG_CASE(name)                                                                              \
    Test(store_postgres, name, .fini = drop_schemas) { store_suite_##name(&env); }
STORE_SUITE_CASES(PG_CASE)

Test(store_postgres, url_is_provided) { cr_assert_not_null(strstr(base_url(), "://")); }

/* The schema as the server sees it: bigint identity ids, bytea secrets, ns times as bigint. */
Test(store_postgres, schema_types, .fini = drop_schemas)
{
    char url[512], name[64];
    schema_url(url, sizeof url, name, sizeof name);
    struct atp_err err;
    struct store *s = NULL;
    cr_assert_eq(store_open(url, &s, &err), ATP_OK, "%s", err.msg);
    cr_assert_str_eq(store_backend(s), "postgres");
    cr_assert_eq(store_migrate(s, NULL, &err), ATP_OK, "%s", err.msg);
    store_close(s);

    static const struct {
        const char *table, *column, *type, *identity;
    } want[] = {
        {"users", "id", "bigint", "ALWAYS"},
        {"users", "totp_secret", "bytea", NULL},
        {"users", "created_ns", "bigint", NULL},
        {"users", "email_key", "text", NULL},
        {"broker_connections", "ciphertext", "bytea", NULL},
        {"broker_connections", "nonce", "bytea", NULL},
        {"audit_log", "id", "bigint", "ALWAYS"},
        {"notification_prefs", "enabled", "integer", NULL},
        {"schema_migrations", "applied_ns", "bigint", NULL},
    };
    PGconn *c = PQconnectdb(base_url());
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *params[] = {name, want[i].table, want[i].column};
        PGresult *r = PQexecParams(c,
                                   "SELECT data_type, coalesce(identity_generation, '') FROM "
                                   "information_schema.columns WHERE table_schema = $1 AND "
                                   "table_name = $2 AND column_name = $3",
                                   3, NULL, params, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
        cr_assert_eq(PQntuples(r), 1, "%s.%s exists", want[i].table, want[i].column);
        cr_assert_str_eq(PQgetvalue(r, 0, 0), want[i].type, "%s.%s", want[i].table, want[i].column);
        cr_assert_str_eq(PQgetvalue(r, 0, 1), want[i].identity ? want[i].identity : "", "%s.%s identity",
                         want[i].table, want[i].column);
        PQclear(r);
    }
    PQfinish(c);
}

Test(store_postgres, newer_database_is_refused, .fini = drop_schemas)
{
    char url[512], name[64];
    schema_url(url, sizeof url, name, sizeof name);
    struct atp_err err;
    struct store *s = NULL;
    cr_assert_eq(store_open(url, &s, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(store_migrate(s, NULL, &err), ATP_OK, "%s", err.msg);
    store_close(s);
    char sql[640];
    snprintf(sql, sizeof sql, "INSERT INTO %s.schema_migrations VALUES (9999, 'future', 1)", name);
    admin_exec(sql);
    cr_assert_eq(store_open(url, &s, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(store_migrate(s, NULL, &err), ATP_ESTATE);
    cr_assert_str_eq(err.field, "version");
    store_close(s);
}

Test(store_postgres, connection_failure_names_server_not_password)
{
    long live0 = atp_alloc_live();
    struct atp_err err;
    struct store *s = (struct store *)&err; /* must be reset to NULL on failure */
    /* Port 1 on loopback: nothing listens there. */
    int rc = store_open("postgresql://someone:s3cret-pw@127.0.0.1:1/atpdb?connect_timeout=5", &s, &err);
    cr_assert_eq(rc, ATP_EIO, "%s", err.msg);
    cr_assert_null(s);
    cr_assert_str_eq(err.field, "url");
    cr_assert_not_null(strstr(err.msg, "127.0.0.1"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "port 1 "), "%s", err.msg);
    cr_assert_null(strstr(err.msg, "s3cret"), "%s", err.msg);
    cr_assert_null(strstr(err.file, "s3cret"));

    /* A URL libpq cannot parse is EINVAL, and its credentials are not echoed either. */
    rc = store_open("postgresql://someone:s3cret-pw@127.0.0.1:1/atpdb?no_such_option=1", &s, &err);
    cr_assert_eq(rc, ATP_EINVAL, "%s", err.msg);
    cr_assert_str_eq(err.field, "url");
    cr_assert_null(strstr(err.msg, "s3cret"), "%s", err.msg);
    cr_assert_eq(atp_alloc_live(), live0);
}

Test(store_postgres, wrong_password_is_eio_without_the_password)
{
    /* The real server, the real role, a wrong password. */
    char url[512];
    snprintf(url, sizeof url, "%s", base_url());
    char *at = strchr(url, '@');
    char *colon = NULL;
    for (char *p = strstr(url, "://") + 3; p < at; p++)
        if (*p == ':')
            colon = p;
    cr_assert(at && colon, "ATP_TEST_PG_URL has user:password@ (scripts/pg.sh's does)");
    char bad[600];
    snprintf(bad, sizeof bad, "%.*s:Wr0ngPassw0rd%s", (int)(colon - url), url, at);
    struct atp_err err;
    struct store *s = NULL;
    cr_assert_eq(store_open(bad, &s, &err), ATP_EIO, "%s", err.msg);
    cr_assert_null(strstr(err.msg, "Wr0ngPassw0rd"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "password"), "libpq says why: %s", err.msg);
}
