/*
 * sql-db.h - one small database interface over two very different APIs: the
 * SQLite C library (a file) and unixODBC (any database with a driver).
 *
 * The plugin only ever runs prepared SELECT (and, for write-back, UPDATE)
 * statements whose values are bound parameters, and reads every column as
 * bytes, which it checks itself (length, UTF-8). A connection is opened for
 * one operation (a sync, a login check) and closed afterwards: SQLite then
 * follows a replica file that a replicator replaced by renaming, and ODBC
 * needs no liveness checks of an idle connection. Not thread-safe: one
 * connection belongs to one thread at a time. Errors come back as text that
 * never contains a password (see us_db_redact).
 */
#ifndef USERS_SQL_DB_H
#define USERS_SQL_DB_H

#include <glib.h>

typedef enum us_backend {
    US_BACKEND_SQLITE = 1,
    US_BACKEND_ODBC = 2,
} us_backend;

/* Where the data is. `target` is the SQLite file's path or the ODBC
 * connection string ("DSN=name" for a data source name); `password`, when not
 * NULL, is appended to an ODBC connection string as PWD. */
typedef struct us_db_target {
    us_backend backend;
    const char *target;
    const char *password;
    gboolean writable; /* SQLite: open read-write (write-back); else read-only */
    int timeout_s;     /* ODBC login timeout; SQLite busy timeout */
} us_db_target;

typedef struct us_db us_db;
typedef struct us_stmt us_stmt;

/* Opens a connection, or returns NULL with `*error` set (free with g_free). */
us_db *us_db_open(const us_db_target *target, char **error);
void us_db_close(us_db *db);

/* Prepares one statement; NULL with `*error` set on failure. */
us_stmt *us_db_prepare(us_db *db, const char *sql, char **error);

/* Binds parameter `index` (1-based) as text, or as a 64-bit integer. */
gboolean us_stmt_bind_text(us_stmt *stmt, int index, const char *value, char **error);
gboolean us_stmt_bind_int64(us_stmt *stmt, int index, gint64 value, char **error);

/* Runs the statement (first call) and moves to the next row: 1 with a row,
 * 0 at the end, -1 with `*error` set. */
int us_stmt_step(us_stmt *stmt, char **error);

/* Columns of the current row. */
int us_stmt_column_count(us_stmt *stmt);
/* The bytes of column `col` (0-based) of the current row, NUL-terminated, or
 * NULL for SQL NULL; `*length` gets their count (a value may hold NUL bytes).
 * Valid until the next step. Values longer than `max_length` come back cut to
 * max_length + 1 bytes, so that the caller sees that they are too long. */
const char *us_stmt_column(us_stmt *stmt, int col, gsize max_length, gsize *length);

/* Rows changed by an UPDATE that ran to its end. */
gint64 us_stmt_changes(us_stmt *stmt);

void us_stmt_free(us_stmt *stmt);

/* A copy of `text` in which the value of every PWD=, Password= (any case)
 * setting of a connection string, and `secret` itself when not NULL or
 * empty, are replaced by "***". For every message that could quote a
 * connection string. */
char *us_db_redact(const char *text, const char *secret);

#endif /* USERS_SQL_DB_H */
