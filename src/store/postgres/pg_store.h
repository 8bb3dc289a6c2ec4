/* store/postgres: the PostgreSQL backend of struct store (see store.h for the contract), through
 * libpq.
 *
 * One PGconn per store value: one thread at a time, as with SQLite. Every statement is prepared
 * once per connection (PQprepare) on first use and run with PQexecPrepared; every value travels as
 * a parameter (text for numbers and strings, binary for bytea), results come back in binary
 * format. Operations that read then write run in one transaction (READ COMMITTED is enough: the
 * statements re-check their own conditions). client_encoding is UTF8. */
#ifndef ATP_STORE_PG_STORE_H
#define ATP_STORE_PG_STORE_H

#include "store/store.h"

/* Connects to the database named by url (postgres://... or postgresql://..., libpq's URI syntax:
 * postgresql://user:password@host:port/dbname?param=value). Tables live in the first schema of
 * the search_path (options=-csearch_path%3D... selects another). ATP_EINVAL (field "url") when
 * libpq cannot parse the URL, ATP_EIO when the connection fails: the message names host, port,
 * database and user, never the password. */
int pg_store_open(const char *url, struct store **out, struct atp_err *err);

#endif
