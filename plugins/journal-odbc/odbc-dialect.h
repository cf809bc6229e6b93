/*
 * odbc-dialect.h - the SQL text journal-odbc sends, for each database it
 * speaks: PostgreSQL, MariaDB/MySQL and Microsoft SQL Server. They differ in
 * type names (VARCHAR or NVARCHAR), identity columns (GENERATED AS IDENTITY,
 * AUTO_INCREMENT, IDENTITY), insert-if-absent (ON CONFLICT DO NOTHING,
 * ON DUPLICATE KEY UPDATE, INSERT ... SELECT ... WHERE NOT EXISTS) and
 * paging (LIMIT or TOP). Nothing here talks to a database, so the SQL
 * Server statements, which no server here runs, are tested as text.
 *
 * Every value is a bound parameter ('?'); only the table prefix (validated
 * by jodbc_prefix_valid), column names from jrec.h and integers the code
 * computes are ever written into the text.
 */
#ifndef ODBC_DIALECT_H
#define ODBC_DIALECT_H

#include <stdint.h>

#include <glib.h>

/* The schema this code writes into PREFIXschema_version. 2: the index of
 * participants by line (journal 1.2's participant filter). */
#define JODBC_SCHEMA_VERSION 2

typedef enum jodbc_dialect {
    JODBC_AUTO = 0, /* ask the driver (SQL_DBMS_NAME) */
    JODBC_POSTGRESQL = 1,
    JODBC_MYSQL = 2,
    JODBC_MSSQL = 3,
} jodbc_dialect;

/* "auto", "postgresql", "mysql" (also "mariadb") or "mssql"; -1 otherwise. */
int jodbc_dialect_parse(const char *text);
/* The dialect of a driver's SQL_DBMS_NAME ("PostgreSQL", "MariaDB",
 * "MySQL", "Microsoft SQL Server"), or -1. */
int jodbc_dialect_from_dbms(const char *dbms_name);
const char *jodbc_dialect_name(jodbc_dialect dialect);

/* A statement to run on every new connection, or NULL. PostgreSQL: a
 * commit must be on disk before it is acknowledged, whatever the server's
 * synchronous_commit default ("off" acknowledges commits a crash of the
 * server can still lose, and the journal drops what it acknowledged). */
const char *jodbc_sql_session_setup(jodbc_dialect dialect);

/* TRUE for a usable table prefix: at most 32 of [A-Za-z0-9_], not starting
 * with a digit (it is written into the SQL text unquoted). */
gboolean jodbc_prefix_valid(const char *prefix);

/* Conversation columns in insert order: the 16 texts of jrec_text_columns,
 * then these integers. */
#define JODBC_CONVERSATION_INTS                                                                    \
    "start_ms", "answer_ms", "end_ms", "direction", "outcome", "flags", "source_key",              \
        "requested_key", "destination_key"
enum { JODBC_CONVERSATION_INT_COUNT = 9, JODBC_PARTICIPANT_COLUMNS = 9 };

/* The statements that create the schema of version JODBC_SCHEMA_VERSION,
 * the version row last. NULL-terminated; g_strfreev. */
char **jodbc_sql_create_schema(jodbc_dialect dialect, const char *prefix);
/* The statements that bring a schema of version `from` (1 up to
 * JODBC_SCHEMA_VERSION - 1) to JODBC_SCHEMA_VERSION, the version row last.
 * Only ever adds (an index), so an older ucd's rows stay readable. An index
 * that is there already is no error: MariaDB commits each DDL statement, so
 * a crash may leave the index without the version row (MySQL before 8.0
 * and 8.0 itself lack CREATE INDEX IF NOT EXISTS; MariaDB has it).
 * NULL-terminated; g_strfreev. */
char **jodbc_sql_upgrade_schema(jodbc_dialect dialect, const char *prefix, int from);
/* SELECT MAX(version) FROM PREFIXschema_version */
char *jodbc_sql_read_version(const char *prefix);

/* The most parameters one statement may have through psqlODBC (libpq's
 * 30000-byte limit on the server's parameter description; see
 * jodbc_max_rows). */
#define JODBC_PSQLODBC_MAX_PARAMS 7498u

/* The most rows one insert statement may carry with `columns` parameters
 * each: SQL Server takes at most 2100 parameters and 1000 VALUES rows,
 * psqlODBC JODBC_PSQLODBC_MAX_PARAMS parameters, MariaDB 65535 (capped at
 * 30000 here). At least 1. */
unsigned jodbc_max_rows(jodbc_dialect dialect, unsigned columns);
/* Inserts `rows` conversations (or participants), skipping those already
 * stored (same uuid; same uuid and position), so that replaying a batch is
 * harmless. */
char *jodbc_sql_insert_conversations(jodbc_dialect dialect, const char *prefix, unsigned rows);
char *jodbc_sql_insert_participants(jodbc_dialect dialect, const char *prefix, unsigned rows);

/* PostgreSQL only: the same inserts with ONE parameter per column, a
 * PostgreSQL array literal of all the rows' values (`text[]`, or `bigint[]`
 * for the columns whose `is_text` is FALSE), turned into rows by unnest().
 * Why: the statement stays the same size whatever the batch, so the server
 * neither parses nor compiles a thousand VALUES rows of expressions per
 * batch, which made multi-row VALUES cost more than twice COPY. `is_text`
 * has one entry per column in insert order. */
char *jodbc_sql_insert_conversations_unnest(const char *prefix, const gboolean *is_text);
char *jodbc_sql_insert_participants_unnest(const char *prefix, const gboolean *is_text);

/* Which filters a query statement has, in the order of its parameters. */
typedef struct jodbc_filter {
    gboolean from, to, user, number, cursor;
    uint32_t outcome_mask; /* written as integers into the text */
    uint32_t limit;        /* rows to return; written into the text */
    gboolean uuid;
    uint32_t users, lines; /* names in the participant filter (journal 1.2) */
} jodbc_filter;

/* Parameters, in order: from_ms; to_ms; user_id; number key three times and
 * the number; uuid; the participant filter's user ids, then from_ms, to_ms
 * and cursor start_ms as far as the filter has them, then its lines and the
 * same bounds again; cursor start_ms twice and id. Columns: id, the 16
 * texts, the first six integers; newest first (start_ms, id descending). */
char *jodbc_sql_select(jodbc_dialect dialect, const char *prefix, const jodbc_filter *filter);
/* The participants of the conversation with uuid ?, by position. */
char *jodbc_sql_select_participants(const char *prefix);
/* At most `limit` uuids of conversations that started before ?, oldest
 * first; then the deletes by uuid. */
char *jodbc_sql_select_expired(jodbc_dialect dialect, const char *prefix, unsigned limit);
char *jodbc_sql_delete_participants(const char *prefix);
char *jodbc_sql_delete_conversation(const char *prefix);

#endif /* ODBC_DIALECT_H */
