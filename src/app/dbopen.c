#include "app/dbopen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/cli.h"

#define DEFAULT_DB "sqlite:var/atp.db"

const char *cli_store_url(const char *url)
{
    if (!url || !*url)
        url = getenv("ATP_DB");
    return url && *url ? url : DEFAULT_DB;
}

int cli_store_open(const char *cmd, const char *url, struct store **out)
{
    *out = NULL;
    url = cli_store_url(url);
    if (strcmp(url, DEFAULT_DB) == 0) {
        if (mkdir("var", 0700) != 0 && errno != EEXIST)
            return cli_fail(cmd, "cannot create ./var for the embedded database: %s", strerror(errno));
    }
    struct atp_err err;
    atp_err_clear(&err);
    struct store *s;
    /* The database holds password hashes and sealed credentials: owner-only from its creation
     * (SQLite gives its -wal and -shm files the database file's mode). */
    mode_t old = umask(077);
    int rc = store_open(url, &s, &err);
    umask(old);
    if (rc != ATP_OK)
        return cli_fail_err(cmd, &err);
    int applied = 0;
    if (store_migrate(s, &applied, &err) != ATP_OK) {
        store_close(s);
        return cli_fail_err(cmd, &err);
    }
    *out = s;
    return CLI_EXIT_OK;
}
