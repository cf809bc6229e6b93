/*
 * sql-db.c - sql-db.h over SQLite and unixODBC.
 *
 * ODBC reads every column with SQLGetData into a buffer of the statement,
 * column after column as the row arrives (many drivers allow SQLGetData only
 * in increasing column order), so the caller may then ask for columns in any
 * order, as it can with SQLite.
 */
#include <sql.h>
#include <sqlext.h>
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "odbc-util.h"
#include "sql-db.h"

/* The longest value read from ODBC; a longer one is cut to this plus one byte,
 * which is too long for any field anyway. */
#define US_ODBC_MAX_VALUE (64 * 1024)

struct us_db {
    us_backend backend;
    sqlite3 *sqlite;
    SQLHENV env;
    SQLHDBC dbc;
    char *secret; /* only to redact driver messages */
};

typedef struct us_odbc_value {
    GByteArray *bytes;
    gboolean is_null;
} us_odbc_value;

struct us_stmt {
    us_db *db;
    gboolean executed;
    sqlite3_stmt *sqlite;
    SQLHSTMT odbc;
    /* ODBC parameters must stay in place until execution. */
    GPtrArray *params; /* char * or gint64 * */
    SQLLEN indicators[32];
    us_odbc_value *row; /* ODBC: the current row */
    int columns;
    gint64 changes;
};

/* ---- redaction and diagnostics (plugins/common/odbc/odbc-util.c) ---------------- */

char *us_db_redact(const char *text, const char *secret)
{
    return odbc_redact(text, secret);
}

static char *us_odbc_error(us_db *db, SQLSMALLINT type, SQLHANDLE handle, const char *what)
{
    return odbc_diagnostic(type, handle, what, db != NULL ? db->secret : NULL, NULL);
}

/* ---- connections --------------------------------------------------------------- */

static gboolean us_odbc_open(us_db *db, const us_db_target *target, char **error)
{
    return odbc_connect(target->target, target->password, target->timeout_s, &db->env, &db->dbc,
                        error);
}

static gboolean us_sqlite_open(us_db *db, const us_db_target *target, char **error)
{
    int flags =
        (target->writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(target->target, &db->sqlite, flags, NULL);
    if (rc != SQLITE_OK) {
        *error =
            g_strdup_printf("SQLite: cannot open %s: %s", target->target,
                            db->sqlite != NULL ? sqlite3_errmsg(db->sqlite) : sqlite3_errstr(rc));
        return FALSE;
    }
    sqlite3_busy_timeout(db->sqlite, target->timeout_s > 0 ? target->timeout_s * 1000 : 5000);
    return TRUE;
}

us_db *us_db_open(const us_db_target *target, char **error)
{
    us_db *db = g_new0(us_db, 1);
    db->backend = target->backend;
    db->secret = g_strdup(target->password);
    gboolean ok = target->backend == US_BACKEND_SQLITE ? us_sqlite_open(db, target, error)
                                                       : us_odbc_open(db, target, error);
    if (!ok) {
        us_db_close(db);
        return NULL;
    }
    return db;
}

void us_db_close(us_db *db)
{
    if (db == NULL)
        return;
    if (db->sqlite != NULL)
        sqlite3_close_v2(db->sqlite);
    if (db->dbc != SQL_NULL_HDBC) {
        SQLDisconnect(db->dbc);
        SQLFreeHandle(SQL_HANDLE_DBC, db->dbc);
    }
    if (db->env != SQL_NULL_HENV)
        SQLFreeHandle(SQL_HANDLE_ENV, db->env);
    if (db->secret != NULL)
        memset(db->secret, 0, strlen(db->secret));
    g_free(db->secret);
    g_free(db);
}

/* ---- statements ---------------------------------------------------------------- */

us_stmt *us_db_prepare(us_db *db, const char *sql, char **error)
{
    us_stmt *stmt = g_new0(us_stmt, 1);
    stmt->db = db;
    stmt->params = g_ptr_array_new_with_free_func(g_free);
    if (db->backend == US_BACKEND_SQLITE) {
        if (sqlite3_prepare_v2(db->sqlite, sql, -1, &stmt->sqlite, NULL) != SQLITE_OK) {
            *error = g_strdup_printf("SQLite: %s", sqlite3_errmsg(db->sqlite));
            us_stmt_free(stmt);
            return NULL;
        }
        return stmt;
    }
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, db->dbc, &stmt->odbc))) {
        *error = us_odbc_error(db, SQL_HANDLE_DBC, db->dbc, "ODBC: cannot allocate a statement");
        stmt->odbc = SQL_NULL_HSTMT;
        us_stmt_free(stmt);
        return NULL;
    }
    if (!SQL_SUCCEEDED(SQLPrepare(stmt->odbc, (SQLCHAR *)sql, SQL_NTS))) {
        *error = us_odbc_error(db, SQL_HANDLE_STMT, stmt->odbc, "ODBC prepare failed");
        us_stmt_free(stmt);
        return NULL;
    }
    return stmt;
}

static gboolean us_check_index(us_stmt *stmt, int index, char **error)
{
    if (index < 1 || index >= (int)G_N_ELEMENTS(stmt->indicators)) {
        *error = g_strdup_printf("parameter %d out of range", index);
        return FALSE;
    }
    return TRUE;
}

gboolean us_stmt_bind_text(us_stmt *stmt, int index, const char *value, char **error)
{
    if (!us_check_index(stmt, index, error))
        return FALSE;
    if (stmt->sqlite != NULL) {
        if (sqlite3_bind_text(stmt->sqlite, index, value, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
            *error = g_strdup_printf("SQLite: %s", sqlite3_errmsg(stmt->db->sqlite));
            return FALSE;
        }
        return TRUE;
    }
    char *copy = g_strdup(value != NULL ? value : "");
    g_ptr_array_add(stmt->params, copy);
    SQLLEN length = (SQLLEN)strlen(copy);
    stmt->indicators[index] = value != NULL ? length : SQL_NULL_DATA;
    SQLRETURN rc = SQLBindParameter(stmt->odbc, (SQLUSMALLINT)index, SQL_PARAM_INPUT, SQL_C_CHAR,
                                    SQL_VARCHAR, length > 0 ? (SQLULEN)length : 1, 0, copy,
                                    length + 1, &stmt->indicators[index]);
    if (!SQL_SUCCEEDED(rc)) {
        *error = us_odbc_error(stmt->db, SQL_HANDLE_STMT, stmt->odbc, "ODBC bind failed");
        return FALSE;
    }
    return TRUE;
}

gboolean us_stmt_bind_int64(us_stmt *stmt, int index, gint64 value, char **error)
{
    if (!us_check_index(stmt, index, error))
        return FALSE;
    if (stmt->sqlite != NULL) {
        if (sqlite3_bind_int64(stmt->sqlite, index, value) != SQLITE_OK) {
            *error = g_strdup_printf("SQLite: %s", sqlite3_errmsg(stmt->db->sqlite));
            return FALSE;
        }
        return TRUE;
    }
    gint64 *copy = g_new(gint64, 1);
    *copy = value;
    g_ptr_array_add(stmt->params, copy);
    stmt->indicators[index] = 0;
    SQLRETURN rc = SQLBindParameter(stmt->odbc, (SQLUSMALLINT)index, SQL_PARAM_INPUT, SQL_C_SBIGINT,
                                    SQL_BIGINT, 0, 0, copy, 0, &stmt->indicators[index]);
    if (!SQL_SUCCEEDED(rc)) {
        *error = us_odbc_error(stmt->db, SQL_HANDLE_STMT, stmt->odbc, "ODBC bind failed");
        return FALSE;
    }
    return TRUE;
}

static int us_sqlite_step(us_stmt *stmt, char **error)
{
    int rc = sqlite3_step(stmt->sqlite);
    stmt->executed = TRUE;
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        stmt->changes = sqlite3_changes(stmt->db->sqlite);
        return 0;
    }
    *error = g_strdup_printf("SQLite: %s", sqlite3_errmsg(stmt->db->sqlite));
    return -1;
}

/* Reads one column of the fetched row, in pieces when it is long. */
static gboolean us_odbc_read_column(us_stmt *stmt, int col, char **error)
{
    us_odbc_value *value = &stmt->row[col];
    g_byte_array_set_size(value->bytes, 0);
    value->is_null = FALSE;
    char chunk[4096];
    for (;;) {
        SQLLEN indicator = 0;
        SQLRETURN rc = SQLGetData(stmt->odbc, (SQLUSMALLINT)(col + 1), SQL_C_CHAR, chunk,
                                  sizeof(chunk), &indicator);
        if (rc == SQL_NO_DATA)
            return TRUE;
        if (!SQL_SUCCEEDED(rc)) {
            *error = us_odbc_error(stmt->db, SQL_HANDLE_STMT, stmt->odbc, "ODBC read failed");
            return FALSE;
        }
        if (indicator == SQL_NULL_DATA) {
            value->is_null = TRUE;
            return TRUE;
        }
        /* A piece fills the buffer but for its NUL when more follows. */
        gboolean more = rc == SQL_SUCCESS_WITH_INFO &&
                        (indicator == SQL_NO_TOTAL || indicator >= (SQLLEN)sizeof(chunk));
        gsize piece = more ? sizeof(chunk) - 1 : (gsize)indicator;
        if (value->bytes->len <= US_ODBC_MAX_VALUE)
            g_byte_array_append(value->bytes, (const guint8 *)chunk, (guint)piece);
        if (!more)
            return TRUE;
    }
}

static int us_odbc_step(us_stmt *stmt, char **error)
{
    if (!stmt->executed) {
        stmt->executed = TRUE;
        SQLRETURN rc = SQLExecute(stmt->odbc);
        if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
            *error = us_odbc_error(stmt->db, SQL_HANDLE_STMT, stmt->odbc, "ODBC query failed");
            return -1;
        }
        SQLSMALLINT columns = 0;
        SQLNumResultCols(stmt->odbc, &columns);
        stmt->columns = columns;
        if (columns == 0) {
            SQLLEN rows = 0;
            SQLRowCount(stmt->odbc, &rows);
            stmt->changes = rows;
            return 0;
        }
        stmt->row = g_new0(us_odbc_value, columns);
        for (int i = 0; i < columns; i++)
            stmt->row[i].bytes = g_byte_array_new();
    }
    if (stmt->columns == 0)
        return 0;
    SQLRETURN rc = SQLFetch(stmt->odbc);
    if (rc == SQL_NO_DATA)
        return 0;
    if (!SQL_SUCCEEDED(rc)) {
        *error = us_odbc_error(stmt->db, SQL_HANDLE_STMT, stmt->odbc, "ODBC fetch failed");
        return -1;
    }
    for (int i = 0; i < stmt->columns; i++)
        if (!us_odbc_read_column(stmt, i, error))
            return -1;
    return 1;
}

int us_stmt_step(us_stmt *stmt, char **error)
{
    return stmt->sqlite != NULL ? us_sqlite_step(stmt, error) : us_odbc_step(stmt, error);
}

int us_stmt_column_count(us_stmt *stmt)
{
    if (stmt->sqlite != NULL)
        return sqlite3_column_count(stmt->sqlite);
    return stmt->columns;
}

const char *us_stmt_column(us_stmt *stmt, int col, gsize max_length, gsize *length)
{
    *length = 0;
    if (col < 0 || col >= us_stmt_column_count(stmt))
        return NULL;
    if (stmt->sqlite != NULL) {
        if (sqlite3_column_type(stmt->sqlite, col) == SQLITE_NULL)
            return NULL;
        /* Text as stored (a blob too): SQLite adds the NUL. */
        const char *text = (const char *)sqlite3_column_text(stmt->sqlite, col);
        *length = (gsize)sqlite3_column_bytes(stmt->sqlite, col);
        return text != NULL ? text : "";
    }
    us_odbc_value *value = &stmt->row[col];
    if (value->is_null)
        return NULL;
    *length = MIN(value->bytes->len, max_length + 1);
    /* The array keeps room for our NUL: it was appended to, never shrunk. */
    guint8 nul = 0;
    g_byte_array_append(value->bytes, &nul, 1);
    g_byte_array_set_size(value->bytes, value->bytes->len - 1);
    return (const char *)value->bytes->data;
}

gint64 us_stmt_changes(us_stmt *stmt)
{
    return stmt->changes;
}

void us_stmt_free(us_stmt *stmt)
{
    if (stmt == NULL)
        return;
    if (stmt->sqlite != NULL)
        sqlite3_finalize(stmt->sqlite);
    if (stmt->odbc != SQL_NULL_HSTMT) {
        SQLFreeHandle(SQL_HANDLE_STMT, stmt->odbc);
    }
    for (int i = 0; stmt->row != NULL && i < stmt->columns; i++)
        g_byte_array_unref(stmt->row[i].bytes);
    g_free(stmt->row);
    g_ptr_array_unref(stmt->params);
    g_free(stmt);
}
