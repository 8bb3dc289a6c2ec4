/* store/sqlite: the store suite (tests/integration/store_suite.c) against SQLite files, plus what
 * only the SQLite backend and the URL dispatch have: sqlite::memory:, WAL, parent directories,
 * and the answer for URLs of unknown backends (PostgreSQL URLs: test_store_postgres.c). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/store.h"
#include "store_suite.h"

static char tmp_root[64];

static void make_root(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/atp-store-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_root));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_root(void)
{
    if (tmp_root[0])
        nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tmp_root[0] = '\0';
}

static void fresh_url(char *buf, size_t size)
{
    static int n;
    snprintf(buf, size, "sqlite:%s/db%d/atp.sqlite", tmp_root, n++);
}

static const struct store_suite_env env = {.backend = "sqlite", .fresh_url = fresh_url};

#define SQLITE_CASE(name)                                                                          \
    Test(store_sqlite, name, .init = make_root, .fini = remove_root) { store_suite_##name(&env); }
STORE_SUITE_CASES(SQLITE_CASE)

Test(store_sqlite, memory_url_and_unknown_backends)
{
    long live0 = atp_alloc_live();
    struct atp_err err;
    struct store *s = NULL;
    cr_assert_eq(store_open("sqlite::memory:", &s, &err), ATP_OK, "%s", err.msg);
    int applied = 0;
    cr_assert_eq(store_migrate(s, &applied, &err), ATP_OK, "%s", err.msg);
    cr_assert_geq(applied, 1);
    store_close(s);
    store_close(NULL);

    s = (struct store *)&err; /* must be reset to NULL on failure */
    cr_assert_eq(store_open("mysql://x", &s, &err), ATP_EINVAL);
    cr_assert_null(s);
    cr_assert_str_eq(err.field, "url");
    cr_assert_eq(store_open("sqlite:", &s, &err), ATP_EINVAL);
    cr_assert_eq(store_open(NULL, &s, &err), ATP_EINVAL);
    cr_assert_eq(store_open("sqlite:/proc/no/such/dir/x.db", &s, &err), ATP_EIO);
    cr_assert_str_eq(err.field, "url");
    cr_assert_eq(atp_alloc_live(), live0);
}

Test(store_sqlite, file_is_wal_with_parent_dirs_created, .init = make_root, .fini = remove_root)
{
    char path[256], url[300];
    snprintf(path, sizeof path, "%s/var/deeper/atp.sqlite", tmp_root);
    snprintf(url, sizeof url, "sqlite:%s", path);
    struct atp_err err;
    struct store *s = NULL;
    cr_assert_eq(store_open(url, &s, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(store_migrate(s, NULL, &err), ATP_OK, "%s", err.msg);
    store_close(s);

    /* Look at the file from outside the store: WAL, schema version row, metacharacter-safe. */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*), min(version) FROM schema_migrations", -1, &st,
                                    NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_geq(sqlite3_column_int(st, 0), 1);
    cr_assert_eq(sqlite3_column_int(st, 1), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

Test(store_sqlite, newer_database_is_refused, .init = make_root, .fini = remove_root)
{
    char path[256], url[300];
    snprintf(path, sizeof path, "%s/atp.sqlite", tmp_root);
    snprintf(url, sizeof url, "sqlite:%s", path);
    struct atp_err err;
    struct store *s = NULL;
    cr_assert_eq(store_open(url, &s, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(store_migrate(s, NULL, &err), ATP_OK, "%s", err.msg);
    store_close(s);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (9999, 'future', 1)", NULL, NULL,
                              NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(store_open(url, &s, &err), ATP_OK, "%s", err.msg);
    cr_assert_eq(store_migrate(s, NULL, &err), ATP_ESTATE);
    cr_assert_str_eq(err.field, "version");
    store_close(s);
}

Test(store_sqlite, open_out_of_memory_leaves_nothing)
{
    long live0 = atp_alloc_live();
    struct atp_err err;
    struct store *s = (struct store *)&err;
    atp_alloc_fail_after(1);
    cr_assert_eq(store_open("sqlite::memory:", &s, &err), ATP_ENOMEM);
    atp_alloc_fail_after(0);
    cr_assert_null(s);
    cr_assert_eq(atp_alloc_live(), live0);
}
