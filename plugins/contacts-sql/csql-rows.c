/*
 * csql-rows.c - csql-rows.h over SQLite and unixODBC.
 *
 * ODBC binds every column once to a buffer of CSQL_BLOCK_ROWS slots of
 * max_value + 1 bytes (column-wise binding) and fetches a block at a time;
 * csql_rows_next then walks the block. A driver that refuses row arrays
 * reports the size it will use (SQLSTATE 01S02), read back before binding,
 * so one row per fetch works too.
 */
#include <sql.h>
#include <sqlext.h>
#include <sqlite3.h>
#include <string.h>

#include "csql-rows.h"
#include "odbc-util.h"

#define CSQL_BLOCK_ROWS 64

typedef struct csql_column {
    char *name;
    char *buffer;       /* ODBC: block_rows slots of slot_size bytes */
    SQLLEN *indicators; /* ODBC: one per slot */
} csql_column;

struct csql_rows {
    csql_backend backend;
    int n_columns;
    csql_column *columns;
    /* SQLite */
    sqlite3 *db;
    sqlite3_stmt *stmt;
    gboolean first_stepped; /* the first step ran in open (to report errors there) */
    int first_result;
    /* ODBC */
    SQLHENV env;
    SQLHDBC dbc;
    SQLHSTMT hstmt;
    char *secret; /* only to redact driver messages */
    char *where;  /* the connection string without the password, for messages */
    gsize slot_size;
    SQLULEN block_rows;
    SQLULEN fetched; /* rows in the current block */
    SQLULEN current; /* index of the current row in the block */
    SQLUSMALLINT *status;
    gboolean started;
};

/* ---- SQLite --------------------------------------------------------------------- */

static gboolean csql_sqlite_open(csql_rows *rows, const csql_source *source, const char *query,
                                 char **error)
{
    const char *tail = "";
    int rc = sqlite3_open_v2(source->target, &rows->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(rows->db, MAX(1, source->timeout_s) * 1000);
        rc = sqlite3_prepare_v2(rows->db, query, -1, &rows->stmt, &tail);
    }
    /* sqlite3_prepare compiles only the first statement; one more after it
     * would be silently ignored, so it is refused like a write. */
    if (rc == SQLITE_OK && (rows->stmt == NULL || sqlite3_stmt_readonly(rows->stmt) == 0 ||
                            tail[strspn(tail, " \t\r\n;")] != '\0')) {
        *error = g_strdup_printf("SQLite %s: the query must be one SELECT", source->target);
        return FALSE;
    }
    if (rc == SQLITE_OK) {
        /* The first step opens the file's tables: a file that is not a
         * database fails here, and should fail as the connection does. */
        rows->first_result = sqlite3_step(rows->stmt);
        rows->first_stepped = TRUE;
        if (rows->first_result != SQLITE_ROW && rows->first_result != SQLITE_DONE)
            rc = rows->first_result;
    }
    if (rc != SQLITE_OK) {
        *error = g_strdup_printf("SQLite %s: %s", source->target,
                                 rows->db != NULL ? sqlite3_errmsg(rows->db) : sqlite3_errstr(rc));
        return FALSE;
    }
    rows->n_columns = sqlite3_column_count(rows->stmt);
    rows->columns = g_new0(csql_column, rows->n_columns);
    for (int i = 0; i < rows->n_columns; i++)
        rows->columns[i].name = g_strdup(sqlite3_column_name(rows->stmt, i));
    return TRUE;
}

static int csql_sqlite_next(csql_rows *rows, char **error)
{
    int rc;
    if (rows->first_stepped) {
        rows->first_stepped = FALSE;
        rc = rows->first_result;
    } else {
        rc = sqlite3_step(rows->stmt);
    }
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    *error = g_strdup_printf("SQLite %s: %s", sqlite3_db_filename(rows->db, "main"),
                             sqlite3_errmsg(rows->db));
    return -1;
}

/* ---- ODBC ----------------------------------------------------------------------- */

static char *csql_odbc_error(csql_rows *rows, SQLSMALLINT type, SQLHANDLE handle, const char *what)
{
    char *prefix = g_strdup_printf("ODBC %s: %s", rows->where, what);
    char *message = odbc_diagnostic(type, handle, prefix, rows->secret, NULL);
    g_free(prefix);
    return message;
}

static gboolean csql_odbc_bind(csql_rows *rows, gsize max_value, char **error)
{
    SQLSMALLINT n = 0;
    if (!SQL_SUCCEEDED(SQLNumResultCols(rows->hstmt, &n)) || n <= 0) {
        *error = g_strdup_printf("ODBC %s: the query returns no columns", rows->where);
        return FALSE;
    }
    SQLGetStmtAttr(rows->hstmt, SQL_ATTR_ROW_ARRAY_SIZE, &rows->block_rows, 0, NULL);
    rows->block_rows = MAX(rows->block_rows, 1);
    rows->status = g_new0(SQLUSMALLINT, rows->block_rows);
    SQLSetStmtAttr(rows->hstmt, SQL_ATTR_ROW_STATUS_PTR, rows->status, 0);
    SQLSetStmtAttr(rows->hstmt, SQL_ATTR_ROWS_FETCHED_PTR, &rows->fetched, 0);
    rows->n_columns = n;
    rows->columns = g_new0(csql_column, n);
    rows->slot_size = max_value + 2; /* one byte over the limit shows "too long", one NUL */
    for (SQLSMALLINT i = 0; i < n; i++) {
        csql_column *column = &rows->columns[i];
        SQLCHAR name[256] = {0};
        SQLSMALLINT name_length = 0, type = 0, digits = 0, nullable = 0;
        SQLULEN size = 0;
        SQLDescribeCol(rows->hstmt, (SQLUSMALLINT)(i + 1), name, sizeof(name), &name_length, &type,
                       &size, &digits, &nullable);
        column->name = g_strdup((const char *)name);
        column->buffer = g_malloc(rows->slot_size * rows->block_rows);
        column->indicators = g_new0(SQLLEN, rows->block_rows);
        if (!SQL_SUCCEEDED(SQLBindCol(rows->hstmt, (SQLUSMALLINT)(i + 1), SQL_C_CHAR,
                                      column->buffer, (SQLLEN)rows->slot_size,
                                      column->indicators))) {
            *error = csql_odbc_error(rows, SQL_HANDLE_STMT, rows->hstmt, "cannot bind a column");
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean csql_odbc_open(csql_rows *rows, const csql_source *source, const char *query,
                               char **error)
{
    rows->secret = g_strdup(source->password);
    rows->where = odbc_redact(source->target, source->password);
    char *message = NULL;
    if (!odbc_connect(source->target, source->password, source->timeout_s, &rows->env, &rows->dbc,
                      &message)) {
        *error = g_strdup_printf("ODBC %s: %s", rows->where, message);
        g_free(message);
        return FALSE;
    }
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, rows->dbc, &rows->hstmt))) {
        rows->hstmt = SQL_NULL_HSTMT;
        *error = csql_odbc_error(rows, SQL_HANDLE_DBC, rows->dbc, "cannot allocate a statement");
        return FALSE;
    }
    /* Read-only and forward-only: what lets a driver stream. */
    SQLSetConnectAttr(rows->dbc, SQL_ATTR_ACCESS_MODE, (SQLPOINTER)SQL_MODE_READ_ONLY, 0);
    SQLSetStmtAttr(rows->hstmt, SQL_ATTR_CURSOR_TYPE, (SQLPOINTER)SQL_CURSOR_FORWARD_ONLY, 0);
    SQLSetStmtAttr(rows->hstmt, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER)SQL_BIND_BY_COLUMN, 0);
    SQLSetStmtAttr(rows->hstmt, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)(SQLULEN)CSQL_BLOCK_ROWS, 0);
    SQLRETURN rc = SQLExecDirect(rows->hstmt, (SQLCHAR *)query, SQL_NTS);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
        *error = csql_odbc_error(rows, SQL_HANDLE_STMT, rows->hstmt, "query failed");
        return FALSE;
    }
    return csql_odbc_bind(rows, source->max_value, error);
}

static int csql_odbc_next(csql_rows *rows, char **error)
{
    for (;;) {
        if (rows->started && rows->current + 1 < rows->fetched) {
            rows->current++;
        } else {
            rows->fetched = 0;
            rows->current = 0;
            rows->started = TRUE;
            SQLRETURN rc = SQLFetch(rows->hstmt);
            if (rc == SQL_NO_DATA)
                return 0;
            if (!SQL_SUCCEEDED(rc)) {
                *error = csql_odbc_error(rows, SQL_HANDLE_STMT, rows->hstmt, "fetch failed");
                return -1;
            }
            if (rows->fetched == 0)
                return 0;
        }
        SQLUSMALLINT status = rows->status[rows->current];
        if (status == SQL_ROW_SUCCESS || status == SQL_ROW_SUCCESS_WITH_INFO)
            return 1;
        if (status == SQL_ROW_ERROR) {
            *error = csql_odbc_error(rows, SQL_HANDLE_STMT, rows->hstmt, "a row failed");
            return -1;
        }
        /* SQL_ROW_NOROW and the like: no row in this slot. */
    }
}

/* ---- both ----------------------------------------------------------------------- */

static gsize csql_max_value(const csql_rows *rows)
{
    return rows->slot_size > 2 ? rows->slot_size - 2 : G_MAXSIZE;
}

csql_rows *csql_rows_open(const csql_source *source, const char *query, char **error)
{
    csql_rows *rows = g_new0(csql_rows, 1);
    rows->backend = source->backend;
    gboolean ok;
    if (source->backend == CSQL_BACKEND_SQLITE) {
        rows->slot_size = source->max_value + 2;
        ok = csql_sqlite_open(rows, source, query, error);
    } else {
        ok = csql_odbc_open(rows, source, query, error);
    }
    if (!ok) {
        csql_rows_close(rows);
        return NULL;
    }
    return rows;
}

int csql_rows_columns(const csql_rows *rows)
{
    return rows->n_columns;
}

const char *csql_rows_column_name(const csql_rows *rows, int col)
{
    return col >= 0 && col < rows->n_columns ? rows->columns[col].name : NULL;
}

int csql_rows_next(csql_rows *rows, char **error)
{
    if (rows->backend == CSQL_BACKEND_SQLITE)
        return csql_sqlite_next(rows, error);
    return csql_odbc_next(rows, error);
}

const char *csql_rows_value(csql_rows *rows, int col, gsize *length, gboolean *too_long)
{
    *length = 0;
    *too_long = FALSE;
    if (col < 0 || col >= rows->n_columns)
        return NULL;
    gsize max_value = csql_max_value(rows);
    if (rows->backend == CSQL_BACKEND_SQLITE) {
        if (sqlite3_column_type(rows->stmt, col) == SQLITE_NULL)
            return NULL;
        const char *text = (const char *)sqlite3_column_text(rows->stmt, col);
        *length = (gsize)sqlite3_column_bytes(rows->stmt, col);
        if (*length > max_value) {
            *too_long = TRUE;
            return NULL;
        }
        return text != NULL ? text : "";
    }
    csql_column *column = &rows->columns[col];
    SQLLEN indicator = column->indicators[rows->current];
    if (indicator == SQL_NULL_DATA)
        return NULL;
    if (indicator == SQL_NO_TOTAL || indicator < 0 || (gsize)indicator > max_value) {
        *too_long = TRUE;
        return NULL;
    }
    char *value = column->buffer + rows->current * rows->slot_size;
    value[indicator] = '\0';
    *length = (gsize)indicator;
    return value;
}

void csql_rows_close(csql_rows *rows)
{
    if (rows == NULL)
        return;
    if (rows->stmt != NULL)
        sqlite3_finalize(rows->stmt);
    if (rows->db != NULL)
        sqlite3_close_v2(rows->db);
    if (rows->hstmt != SQL_NULL_HSTMT) {
        /* Closing the cursor tells a streaming driver to stop sending rows
         * it has not been asked for (a cancelled replication). */
        SQLCloseCursor(rows->hstmt);
        SQLFreeHandle(SQL_HANDLE_STMT, rows->hstmt);
    }
    odbc_disconnect(rows->env, rows->dbc);
    for (int i = 0; i < rows->n_columns; i++) {
        g_free(rows->columns[i].name);
        g_free(rows->columns[i].buffer);
        g_free(rows->columns[i].indicators);
    }
    g_free(rows->columns);
    g_free(rows->status);
    g_free(rows->where);
    if (rows->secret != NULL)
        memset(rows->secret, 0, strlen(rows->secret));
    g_free(rows->secret);
    g_free(rows);
}
