/*
 * csql-rows.h - the rows of one SELECT, read as a stream from a SQLite file
 * or an ODBC data source.
 *
 * A contact source reads a whole table once per replication, possibly a
 * million rows, so nothing here holds more than one block of rows: SQLite
 * steps its cursor, and ODBC fetches blocks of rows into column buffers
 * bound once (SQLBindCol with a row array), which is both the driver's
 * fastest path and a fixed amount of memory. Whether the driver itself
 * streams from the server is the driver's choice (README: psqlODBC's
 * UseDeclareFetch, MariaDB's NO_CACHE). Every value is read as text; a
 * value longer than the limit is reported as too long instead of cut.
 * One reader belongs to one thread. Error texts never hold a password.
 */
#ifndef CONTACTS_SQL_ROWS_H
#define CONTACTS_SQL_ROWS_H

#include <glib.h>

typedef enum csql_backend {
    CSQL_BACKEND_SQLITE = 1,
    CSQL_BACKEND_ODBC = 2,
} csql_backend;

/* Where the rows come from: the SQLite file's path (opened read-only), or
 * an ODBC connection string without the password. */
typedef struct csql_source {
    csql_backend backend;
    const char *target;
    const char *password; /* ODBC: appended as PWD; NULL for none */
    int timeout_s;        /* ODBC login timeout, SQLite busy timeout */
    gsize max_value;      /* longest value in bytes; longer ones are "too long" */
} csql_source;

typedef struct csql_rows csql_rows;

/* Connects, prepares and runs `query`. NULL with `*error` set (g_free) when
 * the database cannot be reached or the query fails; the text names the
 * database (the file, or the connection string without its password). */
csql_rows *csql_rows_open(const csql_source *source, const char *query, char **error);

/* The number of columns of the result, and the name of column `col`
 * (0-based) as the database reports it. */
int csql_rows_columns(const csql_rows *rows);
const char *csql_rows_column_name(const csql_rows *rows, int col);

/* Moves to the next row: 1 with a row, 0 after the last, -1 with `*error`
 * set (a connection lost midway, a driver error). */
int csql_rows_next(csql_rows *rows, char **error);

/* Column `col` of the current row: its bytes, NUL-terminated, or NULL for
 * SQL NULL (and for a value too long, with `*too_long` set). `*length` gets
 * the byte count (a value may hold a NUL byte). Valid until the next call
 * of csql_rows_next. */
const char *csql_rows_value(csql_rows *rows, int col, gsize *length, gboolean *too_long);

/* Frees the statement and closes the connection; NULL is ignored. */
void csql_rows_close(csql_rows *rows);

#endif /* CONTACTS_SQL_ROWS_H */
