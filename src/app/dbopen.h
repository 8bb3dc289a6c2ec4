/* app/dbopen: opening the platform's store for a command: the URL from --db, else $ATP_DB, else
 * the embedded default sqlite:var/atp.db (var/ is created); migrated to the latest version. */
#ifndef ATP_APP_DBOPEN_H
#define ATP_APP_DBOPEN_H

#include "store/store.h"

/* Opens and migrates. On failure prints "atp CMD: ..." and returns CLI_EXIT_USAGE or
 * CLI_EXIT_FAIL; *out is NULL then. */
int cli_store_open(const char *cmd, const char *url, struct store **out);

/* The URL cli_store_open opens for url (--db, else $ATP_DB, else the default); static or
 * borrowed from the arguments or the environment. Lets a command open more connections to the
 * same store (the server's workers). */
const char *cli_store_url(const char *url);

#endif
