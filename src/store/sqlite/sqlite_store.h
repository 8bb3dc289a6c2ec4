/* store/sqlite: the embedded SQLite backend of struct store (see store.h for the contract).
 *
 * One sqlite3 connection per store value, opened with SQLITE_OPEN_NOMUTEX: one thread at a time.
 * WAL journal (file databases), foreign keys on, synchronous=FULL (a commit survives power loss),
 * busy timeout 5 s. Every statement is prepared once (SQLITE_PREPARE_PERSISTENT) on first use,
 * cached per operation, and fed only bound parameters. */
#ifndef ATP_STORE_SQLITE_STORE_H
#define ATP_STORE_SQLITE_STORE_H

#include "store/store.h"

/* Opens (creating if needed, with its parent directory) the SQLite database at path, or a private
 * in-memory one for ":memory:". ATP_EIO (field "url") when it cannot be opened or put in WAL mode. */
int sqlite_store_open(const char *path, struct store **out, struct atp_err *err);

#endif
