/*
 * odbc-db.c - journal-odbc's ODBC side.
 *
 * A batch is laid out as a grid of values, column after column (`grid`):
 * texts point into the records themselves, integers and NULL indicators are
 * arrays. The same grid is bound in both insert methods: one parameter per
 * row and column for a statement with many VALUES rows, or one array per
 * column for a single-row statement executed with SQL_ATTR_PARAMSET_SIZE
 * (for which the texts are first copied into fixed-width buffers, as column
 * binding requires).
 */
#include "odbc-db.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "odbc-util.h"

#define TEXT_BUFFER (JREC_LEN_MEMO * 4 + 1) /* the longest value, in UTF-8 bytes */

struct jodbc_db {
    SQLHENV env;
    SQLHDBC dbc;
    jodbc_target target;
    char *prefix;
    char *password;         /* only to redact driver messages */
    GHashTable *statements; /* "c" or "p" and rows -> SQLHSTMT, prepared inserts */
    char *text_buffer;
};

typedef struct grid {
    unsigned rows, cols;
    const char **texts; /* [col * rows + row]; NULL in integer columns */
    SQLBIGINT *ints;
    SQLLEN *ind;
    const uint32_t *widths; /* per column: max_chars of a text column, 0 for an integer */
} grid;

static char *diagnostic(jodbc_db *db, SQLSMALLINT type, SQLHANDLE handle, const char *what,
                        char sqlstate[6])
{
    return odbc_diagnostic(type, handle, what, db->password, sqlstate);
}

/* Data errors (SQLSTATE class 22: a value; 23: a constraint) are the
 * record's fault; everything else is the database's or the network's. */
static int classify(const char *sqlstate)
{
    if (g_str_has_prefix(sqlstate, "22") || g_str_has_prefix(sqlstate, "23"))
        return JODBC_E_DATA;
    return JODBC_E_CONNECTION;
}

static int statement_failed(jodbc_db *db, SQLHSTMT st, const char *what, char **error)
{
    char state[6];
    *error = diagnostic(db, SQL_HANDLE_STMT, st, what, state);
    return classify(state);
}

/* ---- connecting ---- */

static void free_statement(gpointer st)
{
    SQLFreeHandle(SQL_HANDLE_STMT, (SQLHSTMT)st);
}

static int detect_dialect(jodbc_db *db, char **error)
{
    if (db->target.dialect != JODBC_AUTO)
        return JODBC_OK;
    SQLCHAR name[128] = {0};
    SQLSMALLINT length = 0;
    SQLGetInfo(db->dbc, SQL_DBMS_NAME, name, sizeof(name), &length);
    int dialect = jodbc_dialect_from_dbms((const char *)name);
    if (dialect < 0) {
        *error = g_strdup_printf("unknown database '%s' (SQL_DBMS_NAME): set dialect to "
                                 "postgresql, mysql or mssql",
                                 (const char *)name);
        return JODBC_E_SCHEMA;
    }
    db->target.dialect = (jodbc_dialect)dialect;
    return JODBC_OK;
}

static int run_direct(jodbc_db *db, const char *sql, char **error);

static int set_up_session(jodbc_db *db, char **error)
{
    const char *sql = jodbc_sql_session_setup(db->target.dialect);
    if (sql != NULL && run_direct(db, sql, error) != JODBC_OK)
        return JODBC_E_CONNECTION;
    if (db->target.dialect != JODBC_MYSQL)
        return JODBC_OK;
    /* A write abandoned past its deadline (odbc-call.h) may keep its
     * transaction and its row locks open on a slow server, and the retry
     * inserts the same uuids: it must fail within `timeout` (an error, the
     * records stay in the spool) rather than wait InnoDB's default 50 s and
     * be abandoned in its turn, each retry leaving one more thread behind.
     * PostgreSQL's statement_timeout (psqlODBC's query timeout) already
     * covers lock waits. */
    char *lock_wait =
        g_strdup_printf("SET SESSION innodb_lock_wait_timeout = %d", MAX(1, db->target.timeout_s));
    int rc = run_direct(db, lock_wait, error);
    g_free(lock_wait);
    return rc;
}

jodbc_db *jodbc_open(const jodbc_target *target, char **error)
{
    jodbc_db *db = g_new0(jodbc_db, 1);
    db->target = *target;
    db->prefix = g_strdup(target->prefix);
    db->password = g_strdup(target->password);
    db->target.prefix = db->prefix;
    db->target.password = NULL;
    db->target.connection = NULL;
    db->statements = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_statement);
    db->text_buffer = g_malloc(TEXT_BUFFER);
    if (!odbc_connect(target->connection, target->password, target->timeout_s, &db->env, &db->dbc,
                      error) ||
        detect_dialect(db, error) != JODBC_OK || set_up_session(db, error) != JODBC_OK) {
        jodbc_close(db);
        return NULL;
    }
    return db;
}

void jodbc_close(jodbc_db *db)
{
    if (db == NULL)
        return;
    g_hash_table_unref(db->statements); /* before the connection goes */
    odbc_disconnect(db->env, db->dbc);
    if (db->password != NULL)
        memset(db->password, 0, strlen(db->password));
    g_free(db->password);
    g_free(db->prefix);
    g_free(db->text_buffer);
    g_free(db);
}

jodbc_dialect jodbc_db_dialect(const jodbc_db *db)
{
    return db->target.dialect;
}

static SQLHSTMT new_statement(jodbc_db *db, char **error)
{
    SQLHSTMT st = SQL_NULL_HSTMT;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, db->dbc, &st))) {
        *error = diagnostic(db, SQL_HANDLE_DBC, db->dbc, "allocating a statement", NULL);
        return SQL_NULL_HSTMT;
    }
    if (db->target.timeout_s > 0)
        SQLSetStmtAttr(st, SQL_ATTR_QUERY_TIMEOUT, (SQLPOINTER)(intptr_t)db->target.timeout_s, 0);
    return st;
}

/* Runs one statement without parameters or result. */
static int run_direct(jodbc_db *db, const char *sql, char **error)
{
    SQLHSTMT st = new_statement(db, error);
    if (st == SQL_NULL_HSTMT)
        return JODBC_E_CONNECTION;
    SQLRETURN rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
    int result =
        SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA ? JODBC_OK : statement_failed(db, st, sql, error);
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return result;
}

static int set_autocommit(jodbc_db *db, gboolean on, char **error)
{
    SQLRETURN rc =
        SQLSetConnectAttr(db->dbc, SQL_ATTR_AUTOCOMMIT,
                          (SQLPOINTER)(uintptr_t)(on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF), 0);
    if (SQL_SUCCEEDED(rc))
        return JODBC_OK;
    *error = diagnostic(db, SQL_HANDLE_DBC, db->dbc, "setting autocommit", NULL);
    return JODBC_E_CONNECTION;
}

static int end_transaction(jodbc_db *db, gboolean commit, char **error)
{
    SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, db->dbc, commit ? SQL_COMMIT : SQL_ROLLBACK);
    if (SQL_SUCCEEDED(rc))
        return JODBC_OK;
    if (error != NULL) {
        char state[6];
        *error =
            diagnostic(db, SQL_HANDLE_DBC, db->dbc, commit ? "committing" : "rolling back", state);
        return classify(state);
    }
    return JODBC_E_CONNECTION;
}

/* ---- the schema ---- */

/* The version in the version table: -1 when there is no such table. */
static int read_version(jodbc_db *db, int *version, char **error)
{
    char *sql = jodbc_sql_read_version(db->prefix);
    SQLHSTMT st = new_statement(db, error);
    int result = JODBC_OK;
    *version = -1;
    if (st == SQL_NULL_HSTMT) {
        result = JODBC_E_CONNECTION;
    } else if (SQL_SUCCEEDED(SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS))) {
        SQLINTEGER value = 0;
        SQLLEN ind = 0;
        if (SQL_SUCCEEDED(SQLFetch(st)) &&
            SQL_SUCCEEDED(SQLGetData(st, 1, SQL_C_SLONG, &value, 0, &ind)))
            *version = ind == SQL_NULL_DATA ? 0 : (int)value;
    }
    if (st != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, st);
    g_free(sql);
    return result;
}

/* Runs `statements` (taken) in one transaction (MariaDB commits each DDL
 * statement of its own: there the version row, written last, marks a
 * complete schema). */
static int run_schema_statements(jodbc_db *db, char **statements, char **error)
{
    int rc = set_autocommit(db, FALSE, error);
    for (char **s = statements; rc == JODBC_OK && *s != NULL; s++)
        rc = run_direct(db, *s, error);
    if (rc == JODBC_OK)
        rc = end_transaction(db, TRUE, error);
    else
        end_transaction(db, FALSE, NULL);
    g_strfreev(statements);
    return rc == JODBC_OK ? JODBC_OK : JODBC_E_CONNECTION;
}

static int create_schema(jodbc_db *db, char **error)
{
    return run_schema_statements(db, jodbc_sql_create_schema(db->target.dialect, db->prefix),
                                 error);
}

int jodbc_prepare_schema(jodbc_db *db, char **error)
{
    int version = -1;
    int rc = set_autocommit(db, TRUE, error);
    if (rc == JODBC_OK)
        rc = read_version(db, &version, error);
    if (rc != JODBC_OK)
        return rc;
    if (version > JODBC_SCHEMA_VERSION) {
        *error = g_strdup_printf("%sschema_version says %d, newer than this plugin's %d (written "
                                 "by a newer ucd?): refusing to write; use a newer ucd or another "
                                 "table_prefix",
                                 db->prefix, version, JODBC_SCHEMA_VERSION);
        return JODBC_E_SCHEMA;
    }
    if (version < 0 || version == 0)
        rc = create_schema(db, error);
    else if (version < JODBC_SCHEMA_VERSION)
        rc = run_schema_statements(
            db, jodbc_sql_upgrade_schema(db->target.dialect, db->prefix, version), error);
    /* The writer's transactions: one per batch. */
    if (rc == JODBC_OK)
        rc = set_autocommit(db, FALSE, error);
    return rc;
}

/* ---- the grid ---- */

static grid *grid_new(unsigned rows, unsigned cols, const uint32_t *widths)
{
    grid *g = g_new0(grid, 1);
    g->rows = rows;
    g->cols = cols;
    g->texts = g_new0(const char *, (gsize)rows *cols);
    g->ints = g_new0(SQLBIGINT, (gsize)rows * cols);
    g->ind = g_new0(SQLLEN, (gsize)rows * cols);
    g->widths = widths;
    return g;
}

static void grid_free(grid *g)
{
    g_free(g->texts);
    g_free(g->ints);
    g_free(g->ind);
    g_free(g);
}

static void put_text(grid *g, unsigned row, unsigned col, const char *value)
{
    size_t i = (size_t)col * g->rows + row;
    g->texts[i] = value;
    g->ind[i] = value != NULL ? SQL_NTS : SQL_NULL_DATA;
}

static void put_int(grid *g, unsigned row, unsigned col, int64_t value, gboolean is_null)
{
    size_t i = (size_t)col * g->rows + row;
    g->ints[i] = value;
    g->ind[i] = is_null ? SQL_NULL_DATA : 0;
}

static const uint32_t *conversation_widths(void)
{
    static uint32_t widths[16 + JODBC_CONVERSATION_INT_COUNT];
    for (size_t i = 0; i < jrec_text_column_count; i++)
        widths[i] = jrec_text_columns[i].max_chars;
    return widths;
}

/* The number key of the E.164 form, else of the raw number; NULL for none. */
static void put_key(grid *g, unsigned row, unsigned col, const char *e164, const char *raw)
{
    int64_t key = jrec_number_key(e164 != NULL ? e164 : raw);
    put_int(g, row, col, key, key < 0);
}

static grid *conversation_grid(jrec_record *const *records, unsigned count)
{
    unsigned texts = (unsigned)jrec_text_column_count;
    grid *g = grid_new(count, texts + JODBC_CONVERSATION_INT_COUNT, conversation_widths());
    for (unsigned r = 0; r < count; r++) {
        const ucd_journal_record *rec = &records[r]->rec;
        for (unsigned c = 0; c < texts; c++)
            put_text(g, r, c, jrec_text(rec, &jrec_text_columns[c]));
        const int64_t ints[] = {rec->start_ms,  rec->answer_ms, rec->end_ms,
                                rec->direction, rec->outcome,   rec->flags};
        for (unsigned i = 0; i < G_N_ELEMENTS(ints); i++)
            put_int(g, r, texts + i, ints[i], FALSE);
        put_key(g, r, texts + 6, rec->source_e164, rec->source_number);
        put_key(g, r, texts + 7, rec->requested_e164, rec->requested_number);
        put_key(g, r, texts + 8, rec->destination_e164, rec->destination_number);
    }
    return g;
}

static grid *participant_grid(jrec_record *const *records, unsigned count)
{
    static const uint32_t widths[JODBC_PARTICIPANT_COLUMNS] = {JREC_LEN_UUID, 0, 0, JREC_LEN_ID,
                                                               JREC_LEN_ID};
    unsigned rows = 0;
    for (unsigned r = 0; r < count; r++)
        rows += records[r]->rec.participant_count;
    grid *g = grid_new(rows, JODBC_PARTICIPANT_COLUMNS, widths);
    unsigned row = 0;
    for (unsigned r = 0; r < count; r++) {
        const ucd_journal_record *rec = &records[r]->rec;
        for (uint32_t i = 0; i < rec->participant_count; i++, row++) {
            const ucd_journal_participant *p = &rec->participants[i];
            put_text(g, row, 0, rec->uuid);
            put_int(g, row, 1, i, FALSE);
            put_int(g, row, 2, p->role, FALSE);
            put_text(g, row, 3, p->user_id);
            put_text(g, row, 4, p->line);
            put_int(g, row, 5, p->joined_ms, FALSE);
            put_int(g, row, 6, p->answered_ms, FALSE);
            put_int(g, row, 7, p->left_ms, FALSE);
            put_int(g, row, 8, rec->start_ms, FALSE);
        }
    }
    return g;
}

/* ---- inserting ---- */

/* The prepared insert of `table` ('c' or 'p') for `rows` VALUES rows. */
static SQLHSTMT insert_statement(jodbc_db *db, char table, unsigned rows, char **error)
{
    char *key = g_strdup_printf("%c%u", table, rows);
    SQLHSTMT st = g_hash_table_lookup(db->statements, key);
    if (st != NULL) {
        g_free(key);
        return st;
    }
    char *sql = table == 'c' ? jodbc_sql_insert_conversations(db->target.dialect, db->prefix, rows)
                             : jodbc_sql_insert_participants(db->target.dialect, db->prefix, rows);
    st = new_statement(db, error);
    if (st != SQL_NULL_HSTMT && !SQL_SUCCEEDED(SQLPrepare(st, (SQLCHAR *)sql, SQL_NTS))) {
        *error = diagnostic(db, SQL_HANDLE_STMT, st, "preparing an insert", NULL);
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        st = SQL_NULL_HSTMT;
    }
    g_free(sql);
    if (st == SQL_NULL_HSTMT) {
        g_free(key);
        return SQL_NULL_HSTMT;
    }
    g_hash_table_insert(db->statements, key, st);
    return st;
}

static SQLRETURN bind_value(SQLHSTMT st, unsigned param, const grid *g, unsigned col, size_t i,
                            SQLPOINTER text, SQLLEN text_length)
{
    if (g->widths[col] > 0)
        return SQLBindParameter(st, (SQLUSMALLINT)param, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
                                g->widths[col], 0, text, text_length, &g->ind[i]);
    return SQLBindParameter(st, (SQLUSMALLINT)param, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0,
                            0, &g->ints[i], 0, &g->ind[i]);
}

/* Rows [first, first + n) as one statement with n VALUES rows. */
static int insert_values(jodbc_db *db, char table, const grid *g, unsigned first, unsigned n,
                         char **error)
{
    SQLHSTMT st = insert_statement(db, table, n, error);
    if (st == SQL_NULL_HSTMT)
        return JODBC_E_CONNECTION;
    /* Last parameter first: psqlODBC grows its binding array to the number
     * of the parameter bound, so binding in order reallocates (and copies)
     * it once per parameter, thousands of times per statement. MariaDB's
     * driver grows its descriptors by a fixed step whatever the order
     * (measured: no gain, README). */
    for (unsigned r = n; r-- > 0;) {
        for (unsigned c = g->cols; c-- > 0;) {
            size_t i = (size_t)c * g->rows + first + r;
            SQLRETURN rc = bind_value(st, r * g->cols + c + 1, g, c, i, (SQLPOINTER)g->texts[i], 0);
            if (!SQL_SUCCEEDED(rc))
                return statement_failed(db, st, "binding", error);
        }
    }
    SQLRETURN rc = SQLExecute(st);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
        return statement_failed(
            db, st, table == 'c' ? "inserting conversations" : "inserting participants", error);
    return JODBC_OK;
}

/* Rows [first, first + n) as one single-row statement with n parameter
 * sets; texts copied into fixed-width column buffers. */
static int insert_array(jodbc_db *db, char table, const grid *g, unsigned first, unsigned n,
                        char **error)
{
    SQLHSTMT st = insert_statement(db, table, 1, error);
    if (st == SQL_NULL_HSTMT)
        return JODBC_E_CONNECTION;
    GPtrArray *buffers = g_ptr_array_new_with_free_func(g_free);
    SQLSetStmtAttr(st, SQL_ATTR_PARAM_BIND_TYPE, (SQLPOINTER)SQL_PARAM_BIND_BY_COLUMN, 0);
    SQLSetStmtAttr(st, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)n, 0);
    int result = JODBC_OK;
    for (unsigned c = 0; c < g->cols && result == JODBC_OK; c++) {
        size_t base = (size_t)c * g->rows + first;
        SQLLEN width = g->widths[c] * 4 + 1;
        char *texts = NULL;
        if (g->widths[c] > 0) {
            texts = g_malloc0((size_t)width * n);
            for (unsigned r = 0; r < n; r++)
                if (g->texts[base + r] != NULL)
                    g_strlcpy(texts + (size_t)r * width, g->texts[base + r], (gsize)width);
            g_ptr_array_add(buffers, texts);
        }
        if (!SQL_SUCCEEDED(bind_value(st, c + 1, g, c, base, texts, width)))
            result = statement_failed(db, st, "binding", error);
    }
    if (result == JODBC_OK) {
        SQLRETURN rc = SQLExecute(st);
        if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
            result = statement_failed(db, st, "inserting", error);
    }
    SQLSetStmtAttr(st, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)1, 0);
    g_ptr_array_unref(buffers);
    return result;
}

/* Appends one PostgreSQL array element: an integer as digits, a text in
 * double quotes with '\\' and '"' escaped, NULL unquoted (PostgreSQL's
 * "Array Value Input" rules). */
static void append_element(GString *out, const grid *g, size_t i, gboolean text)
{
    if (g->ind[i] == SQL_NULL_DATA) {
        g_string_append(out, "NULL");
    } else if (!text) {
        g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)g->ints[i]);
    } else {
        g_string_append_c(out, '"');
        for (const char *c = g->texts[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                g_string_append_c(out, '\\');
            g_string_append_c(out, *c);
        }
        g_string_append_c(out, '"');
    }
}

/* The insert statement for unnest(), prepared once per connection. */
static SQLHSTMT unnest_statement(jodbc_db *db, char table, const grid *g, char **error)
{
    char key[4] = {table, 'u', 0, 0};
    SQLHSTMT st = g_hash_table_lookup(db->statements, key);
    if (st != NULL)
        return st;
    gboolean *is_text = g_new0(gboolean, g->cols);
    for (unsigned c = 0; c < g->cols; c++)
        is_text[c] = g->widths[c] > 0;
    char *sql = table == 'c' ? jodbc_sql_insert_conversations_unnest(db->prefix, is_text)
                             : jodbc_sql_insert_participants_unnest(db->prefix, is_text);
    g_free(is_text);
    st = new_statement(db, error);
    if (st != SQL_NULL_HSTMT && !SQL_SUCCEEDED(SQLPrepare(st, (SQLCHAR *)sql, SQL_NTS))) {
        *error = diagnostic(db, SQL_HANDLE_STMT, st, "preparing an insert", NULL);
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        st = SQL_NULL_HSTMT;
    }
    g_free(sql);
    if (st != SQL_NULL_HSTMT)
        g_hash_table_insert(db->statements, g_strdup(key), st);
    return st;
}

/* Every row of `g` in one statement: each column one bound array literal. */
static int insert_unnest(jodbc_db *db, char table, const grid *g, char **error)
{
    SQLHSTMT st = unnest_statement(db, table, g, error);
    if (st == SQL_NULL_HSTMT)
        return JODBC_E_CONNECTION;
    GString **arrays = g_new0(GString *, g->cols);
    int result = JODBC_OK;
    for (unsigned c = 0; c < g->cols && result == JODBC_OK; c++) {
        arrays[c] = g_string_sized_new(g->rows * (g->widths[c] > 0 ? 24 : 12) + 2);
        g_string_append_c(arrays[c], '{');
        for (unsigned r = 0; r < g->rows; r++) {
            if (r > 0)
                g_string_append_c(arrays[c], ',');
            append_element(arrays[c], g, (size_t)c * g->rows + r, g->widths[c] > 0);
        }
        g_string_append_c(arrays[c], '}');
        SQLRETURN rc =
            SQLBindParameter(st, (SQLUSMALLINT)(c + 1), SQL_PARAM_INPUT, SQL_C_CHAR,
                             SQL_LONGVARCHAR, arrays[c]->len, 0, arrays[c]->str, 0, NULL);
        if (!SQL_SUCCEEDED(rc))
            result = statement_failed(db, st, "binding", error);
    }
    if (result == JODBC_OK) {
        SQLRETURN rc = SQLExecute(st);
        if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
            result = statement_failed(
                db, st, table == 'c' ? "inserting conversations" : "inserting participants", error);
    }
    for (unsigned c = 0; c < g->cols; c++)
        if (arrays[c] != NULL)
            g_string_free(arrays[c], TRUE);
    g_free(arrays);
    return result;
}

/* The method a batch is written with: auto is unnest on PostgreSQL, which
 * alone understands it, and multi-row VALUES elsewhere. */
static jodbc_insert_method effective_method(const jodbc_db *db)
{
    jodbc_insert_method m = db->target.insert_method;
    if (m == JODBC_INSERT_AUTO || m == JODBC_INSERT_UNNEST)
        return db->target.dialect == JODBC_POSTGRESQL ? JODBC_INSERT_UNNEST : JODBC_INSERT_VALUES;
    return m;
}

static int insert_grid(jodbc_db *db, char table, const grid *g, char **error)
{
    if (g->rows == 0)
        return JODBC_OK;
    if (effective_method(db) == JODBC_INSERT_UNNEST)
        return insert_unnest(db, table, g, error);
    unsigned chunk =
        MIN(db->target.rows_per_statement, jodbc_max_rows(db->target.dialect, g->cols));
    if (chunk == 0)
        chunk = 1;
    int rc = JODBC_OK;
    for (unsigned first = 0; first < g->rows && rc == JODBC_OK; first += chunk) {
        unsigned n = MIN(chunk, g->rows - first);
        rc = db->target.insert_method == JODBC_INSERT_ARRAY
                 ? insert_array(db, table, g, first, n, error)
                 : insert_values(db, table, g, first, n, error);
    }
    return rc;
}

int jodbc_write(jodbc_db *db, jrec_record *const *records, unsigned count, char **error)
{
    grid *conversations = conversation_grid(records, count);
    grid *participants = participant_grid(records, count);
    int rc = insert_grid(db, 'c', conversations, error);
    if (rc == JODBC_OK)
        rc = insert_grid(db, 'p', participants, error);
    if (rc == JODBC_OK)
        rc = end_transaction(db, TRUE, error);
    if (rc != JODBC_OK)
        end_transaction(db, FALSE, NULL);
    grid_free(conversations);
    grid_free(participants);
    return rc;
}

/* ---- retention ---- */

static SQLHSTMT prepared(jodbc_db *db, char *sql, char **error)
{
    SQLHSTMT st = new_statement(db, error);
    if (st != SQL_NULL_HSTMT && !SQL_SUCCEEDED(SQLPrepare(st, (SQLCHAR *)sql, SQL_NTS))) {
        *error = diagnostic(db, SQL_HANDLE_STMT, st, "preparing", NULL);
        SQLFreeHandle(SQL_HANDLE_STMT, st);
        st = SQL_NULL_HSTMT;
    }
    g_free(sql);
    return st;
}

static int execute_with_text(jodbc_db *db, SQLHSTMT st, const char *text, char **error)
{
    SQLLEN ind = SQL_NTS;
    SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, JREC_LEN_UUID, 0,
                     (SQLPOINTER)text, 0, &ind);
    SQLRETURN rc = SQLExecute(st);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
        return statement_failed(db, st, "deleting", error);
    return JODBC_OK;
}

/* Reads column `col` of the fetched row as text into `chunk`; NULL for SQL NULL. */
static const char *column_text(jodbc_db *db, SQLHSTMT st, int col, GStringChunk *chunk)
{
    SQLLEN ind = 0;
    SQLRETURN rc =
        SQLGetData(st, (SQLUSMALLINT)col, SQL_C_CHAR, db->text_buffer, TEXT_BUFFER, &ind);
    if (!SQL_SUCCEEDED(rc) || ind == SQL_NULL_DATA)
        return NULL;
    return g_string_chunk_insert(chunk, db->text_buffer);
}

static int64_t column_int(SQLHSTMT st, int col)
{
    SQLBIGINT value = 0;
    SQLLEN ind = 0;
    SQLGetData(st, (SQLUSMALLINT)col, SQL_C_SBIGINT, &value, 0, &ind);
    return ind == SQL_NULL_DATA ? 0 : (int64_t)value;
}

/* The uuids of up to `limit` expired conversations. */
static int expired_uuids(jodbc_db *db, int64_t cutoff_ms, unsigned limit, GPtrArray *out,
                         GStringChunk *chunk, char **error)
{
    SQLHSTMT st =
        prepared(db, jodbc_sql_select_expired(db->target.dialect, db->prefix, limit), error);
    if (st == SQL_NULL_HSTMT)
        return JODBC_E_CONNECTION;
    SQLBIGINT cutoff = cutoff_ms;
    SQLLEN ind = 0;
    SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &cutoff, 0, &ind);
    int rc = JODBC_OK;
    SQLRETURN r = SQLExecute(st);
    if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
        rc = statement_failed(db, st, "selecting expired conversations", error);
    while (rc == JODBC_OK && SQL_SUCCEEDED(r) && SQL_SUCCEEDED(SQLFetch(st))) {
        const char *uuid = column_text(db, st, 1, chunk);
        if (uuid != NULL)
            g_ptr_array_add(out, (gpointer)uuid);
    }
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

int jodbc_expire(jodbc_db *db, int64_t cutoff_ms, unsigned limit, unsigned *deleted, char **error)
{
    *deleted = 0;
    GPtrArray *uuids = g_ptr_array_new();
    GStringChunk *chunk = g_string_chunk_new(1024);
    int rc = expired_uuids(db, cutoff_ms, limit, uuids, chunk, error);
    SQLHSTMT parts = SQL_NULL_HSTMT, conv = SQL_NULL_HSTMT;
    if (rc == JODBC_OK && uuids->len > 0) {
        parts = prepared(db, jodbc_sql_delete_participants(db->prefix), error);
        conv = parts ? prepared(db, jodbc_sql_delete_conversation(db->prefix), error) : NULL;
        rc = conv != SQL_NULL_HSTMT ? JODBC_OK : JODBC_E_CONNECTION;
    }
    for (guint i = 0; rc == JODBC_OK && i < uuids->len; i++) {
        rc = execute_with_text(db, parts, uuids->pdata[i], error);
        if (rc == JODBC_OK)
            rc = execute_with_text(db, conv, uuids->pdata[i], error);
    }
    if (rc == JODBC_OK)
        rc = end_transaction(db, TRUE, error);
    if (rc != JODBC_OK)
        end_transaction(db, FALSE, NULL);
    else
        *deleted = uuids->len;
    if (parts != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, parts);
    if (conv != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, conv);
    g_ptr_array_unref(uuids);
    g_string_chunk_free(chunk);
    return rc;
}

/* ---- queries ---- */

typedef struct found {
    ucd_journal_record rec;
    int64_t id;
    GArray *participants;
} found;

static gboolean parse_cursor(const char *text, int64_t *start, int64_t *id)
{
    char **parts = g_strsplit(text, ":", 3);
    gboolean ok =
        g_strv_length(parts) == 2 &&
        g_ascii_string_to_signed(parts[0], 10, INT64_MIN, INT64_MAX, (gint64 *)start, NULL) &&
        g_ascii_string_to_signed(parts[1], 10, 0, INT64_MAX, (gint64 *)id, NULL);
    g_strfreev(parts);
    return ok;
}

/* Parameters of the select, in jodbc_sql_select's order: at most 14
 * integers (from, to, three number keys, the participant filter's bounds
 * twice, the cursor three times), each with an indicator, and the texts'
 * indicators (user, number, uuid, the participant filter's names). */
typedef struct query_params {
    SQLBIGINT ints[16];
    SQLLEN ind[16 + 3 + UCD_JOURNAL_MAX_PARTICIPANT_FILTER];
    unsigned count, int_count;
} query_params;

static void bind_int_param(SQLHSTMT st, query_params *p, int64_t value)
{
    unsigned i = p->count++;
    SQLBIGINT *slot = &p->ints[p->int_count++];
    *slot = value;
    p->ind[i] = 0;
    SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
                     slot, 0, &p->ind[i]);
}

static void bind_text_param(SQLHSTMT st, query_params *p, const char *value)
{
    unsigned i = p->count++;
    p->ind[i] = SQL_NTS;
    SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
                     JREC_LEN_MEMO, 0, (SQLPOINTER)value, 0, &p->ind[i]);
}

/* One list of the participant filter and its bounds. */
static void bind_names(SQLHSTMT st, const ucd_journal_query *q, const jodbc_filter *f,
                       const char *const *names, uint32_t count, int64_t cursor_start,
                       query_params *p)
{
    for (uint32_t i = 0; i < count; i++)
        bind_text_param(st, p, names[i]);
    if (f->from)
        bind_int_param(st, p, q->from_ms);
    if (f->to)
        bind_int_param(st, p, q->to_ms);
    if (f->cursor)
        bind_int_param(st, p, cursor_start);
}

static void bind_query(SQLHSTMT st, const ucd_journal_query *q, const jodbc_filter *f,
                       int64_t cursor_start, int64_t cursor_id, query_params *p)
{
    if (f->from)
        bind_int_param(st, p, q->from_ms);
    if (f->to)
        bind_int_param(st, p, q->to_ms);
    if (f->user)
        bind_text_param(st, p, q->user_id);
    if (f->number) {
        int64_t key = jrec_number_key(q->number);
        for (int i = 0; i < 3; i++)
            bind_int_param(st, p, key);
        bind_text_param(st, p, q->number);
    }
    if (f->uuid)
        bind_text_param(st, p, q->uuid);
    if (f->users)
        bind_names(st, q, f, q->participant_users, f->users, cursor_start, p);
    if (f->lines)
        bind_names(st, q, f, q->participant_lines, f->lines, cursor_start, p);
    if (f->cursor) {
        bind_int_param(st, p, cursor_start);
        bind_int_param(st, p, cursor_start);
        bind_int_param(st, p, cursor_id);
    }
}

static void read_conversation(jodbc_db *db, SQLHSTMT st, found *out, GStringChunk *chunk)
{
    ucd_journal_record *r = &out->rec;
    memset(out, 0, sizeof(*out));
    r->struct_size = sizeof(*r);
    out->id = column_int(st, 1);
    for (size_t i = 0; i < jrec_text_column_count; i++)
        *(const char **)(void *)((char *)r + jrec_text_columns[i].offset) =
            column_text(db, st, 2 + (int)i, chunk);
    int base = 2 + (int)jrec_text_column_count;
    r->start_ms = column_int(st, base);
    r->answer_ms = column_int(st, base + 1);
    r->end_ms = column_int(st, base + 2);
    r->direction = (uint32_t)column_int(st, base + 3);
    r->outcome = (uint32_t)column_int(st, base + 4);
    r->flags = (uint32_t)column_int(st, base + 5);
    /* The table keeps the words; journal 1.1 readers get the enums too. */
    jrec_codes_from_words(r);
}

static int load_participants(jodbc_db *db, SQLHSTMT st, found *f, GStringChunk *chunk, char **error)
{
    f->participants = g_array_new(FALSE, TRUE, sizeof(ucd_journal_participant));
    int rc = execute_with_text(db, st, f->rec.uuid, error);
    while (rc == JODBC_OK && SQL_SUCCEEDED(SQLFetch(st))) {
        ucd_journal_participant p = {
            .struct_size = sizeof(p),
            .role = (uint32_t)column_int(st, 1),
            .user_id = column_text(db, st, 2, chunk),
            .line = column_text(db, st, 3, chunk),
            .joined_ms = column_int(st, 4),
            .answered_ms = column_int(st, 5),
            .left_ms = column_int(st, 6),
        };
        g_array_append_val(f->participants, p);
    }
    SQLCloseCursor(st);
    f->rec.participants = (const ucd_journal_participant *)(void *)f->participants->data;
    f->rec.participant_count = f->participants->len;
    f->rec.participant_size = sizeof(ucd_journal_participant);
    return rc;
}

/* Runs the select; the rows go into `rows` (found), at most limit + 1. */
static int select_page(jodbc_db *db, const ucd_journal_query *q, const jodbc_filter *f,
                       int64_t cursor_start, int64_t cursor_id, GArray *rows, GStringChunk *chunk,
                       char **error)
{
    SQLHSTMT st = prepared(db, jodbc_sql_select(db->target.dialect, db->prefix, f), error);
    if (st == SQL_NULL_HSTMT)
        return JODBC_E_CONNECTION;
    query_params params = {.count = 0};
    bind_query(st, q, f, cursor_start, cursor_id, &params);
    int rc = JODBC_OK;
    SQLRETURN r = SQLExecute(st);
    if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
        rc = statement_failed(db, st, "querying the journal", error);
    while (rc == JODBC_OK && SQL_SUCCEEDED(r) && SQL_SUCCEEDED(SQLFetch(st))) {
        found one;
        read_conversation(db, st, &one, chunk);
        g_array_append_val(rows, one);
    }
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    return rc;
}

static void free_found(gpointer data)
{
    found *f = data;
    if (f->participants != NULL)
        g_array_unref(f->participants);
}

struct jodbc_page {
    GArray *rows; /* found, at most limit + 1 */
    GStringChunk *chunk;
    uint32_t limit;
};

void jodbc_page_free(jodbc_page *page)
{
    if (page == NULL)
        return;
    g_array_unref(page->rows);
    g_string_chunk_free(page->chunk);
    g_free(page);
}

int jodbc_query_fetch(jodbc_db *db, const ucd_journal_query *query, jodbc_page **page,
                      gboolean *connection_lost, char **error)
{
    ucd_journal_query q;
    *connection_lost = FALSE;
    *page = NULL;
    if (jrec_query_read(query, &q) != UCD_OK) {
        *error = g_strdup_printf("a participant filter of more than %d names or with a NULL one",
                                 UCD_JOURNAL_MAX_PARTICIPANT_FILTER);
        return UCD_E_INVALID;
    }
    int64_t cursor_start = 0, cursor_id = 0;
    gboolean has_cursor = q.after != NULL && q.after[0] != '\0';
    if (has_cursor && !parse_cursor(q.after, &cursor_start, &cursor_id)) {
        *error = g_strdup("malformed paging cursor");
        return UCD_E_INVALID;
    }
    uint32_t limit = q.limit ? q.limit : 100;
    jodbc_filter f = {.from = q.from_ms != 0,
                      .to = q.to_ms != 0,
                      .user = q.user_id != NULL,
                      .number = q.number != NULL,
                      .cursor = has_cursor,
                      .outcome_mask = q.outcome_mask,
                      .limit = limit + 1,
                      .uuid = q.uuid != NULL,
                      .users = q.participant_user_count,
                      .lines = q.participant_line_count};
    jodbc_page *p = g_new0(jodbc_page, 1);
    p->rows = g_array_new(FALSE, TRUE, sizeof(found));
    g_array_set_clear_func(p->rows, free_found);
    p->chunk = g_string_chunk_new(4096);
    p->limit = limit;
    int rc = select_page(db, &q, &f, cursor_start, cursor_id, p->rows, p->chunk, error);
    SQLHSTMT parts = SQL_NULL_HSTMT;
    if (rc == JODBC_OK && p->rows->len > 0) {
        parts = prepared(db, jodbc_sql_select_participants(db->prefix), error);
        rc = parts != SQL_NULL_HSTMT ? JODBC_OK : JODBC_E_CONNECTION;
    }
    guint deliver = MIN(p->rows->len, limit);
    for (guint i = 0; rc == JODBC_OK && i < deliver; i++)
        rc = load_participants(db, parts, &g_array_index(p->rows, found, i), p->chunk, error);
    if (parts != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, parts);
    if (rc == JODBC_E_CONNECTION)
        *connection_lost = TRUE;
    if (rc != JODBC_OK) {
        jodbc_page_free(p);
        return UCD_E_UNAVAILABLE;
    }
    *page = p;
    return UCD_OK;
}

void jodbc_page_deliver(const jodbc_page *page, ucd_journal_record_cb cb, void *user_data,
                        char *next_cursor, size_t next_cursor_size)
{
    guint deliver = MIN(page->rows->len, page->limit);
    guint delivered = 0;
    gboolean stopped = FALSE;
    for (guint i = 0; i < deliver && !stopped; i++, delivered++)
        stopped = cb(&g_array_index(page->rows, found, i).rec, user_data) != 0;
    gboolean more = page->rows->len > page->limit || stopped;
    if (next_cursor != NULL && next_cursor_size > 0) {
        next_cursor[0] = '\0';
        if (more && delivered > 0) {
            found *last = &g_array_index(page->rows, found, delivered - 1);
            g_snprintf(next_cursor, next_cursor_size, "%" PRId64 ":%" PRId64, last->rec.start_ms,
                       last->id);
        }
    }
}

int jodbc_query(jodbc_db *db, const ucd_journal_query *query, ucd_journal_record_cb cb,
                void *user_data, char *next_cursor, size_t next_cursor_size,
                gboolean *connection_lost, char **error)
{
    jodbc_page *page = NULL;
    int rc = jodbc_query_fetch(db, query, &page, connection_lost, error);
    if (rc == UCD_OK)
        jodbc_page_deliver(page, cb, user_data, next_cursor, next_cursor_size);
    else if (next_cursor != NULL && next_cursor_size > 0)
        next_cursor[0] = '\0';
    jodbc_page_free(page);
    return rc;
}
