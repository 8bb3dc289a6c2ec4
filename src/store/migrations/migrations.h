/* store/migrations: the versioned SQL migrations of a backend, embedded at build time from
 * src/store/migrations/<backend>/NNN_name.sql (cmake/embed_sql.cmake generates the arrays). */
#ifndef ATP_STORE_MIGRATIONS_H
#define ATP_STORE_MIGRATIONS_H

struct store_migration {
    int version;      /* NNN of the file name; strictly increasing in the array */
    const char *name; /* the rest of the file name, without .sql */
    const char *sql;  /* the file's text, NUL-terminated */
};

extern const struct store_migration store_sqlite_migrations[];
extern const int store_sqlite_migrations_count;
extern const struct store_migration store_postgres_migrations[];
extern const int store_postgres_migrations_count;

#endif
