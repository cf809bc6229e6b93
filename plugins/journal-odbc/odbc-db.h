/*
 * odbc-db.h - journal-odbc's database side: one ODBC connection, its
 * schema, batched inserts with bound parameters, retention and queries. No
 * threads and no ucd host in here: the plugin's writer thread owns one
 * jodbc_db, each query borrows another from the plugin's pool, and the
 * benchmark drives the same code.
 *
 * Errors come back as text (redacted: never a password) in `*error`, for
 * the caller to log and g_free.
 */
#ifndef ODBC_DB_H
#define ODBC_DB_H

#include <ucd/journal.h>

#include "jrec.h"
#include "odbc-dialect.h"

typedef enum jodbc_result {
    JODBC_OK = 0,
    JODBC_E_CONNECTION = -1, /* the database is unreachable, too slow or failing: retry later */
    JODBC_E_DATA = -2,       /* the database refused a value (SQLSTATE class 22 or 23) */
    JODBC_E_SCHEMA = -3,     /* a schema this code must not touch */
} jodbc_result;

/* How to insert a batch: one statement with many VALUES rows, or one
 * single-row statement executed with an array of parameter sets
 * (SQL_ATTR_PARAMSET_SIZE). README.md says which is faster where. */
typedef enum jodbc_insert_method {
    JODBC_INSERT_VALUES = 0,
    JODBC_INSERT_ARRAY = 1,
    JODBC_INSERT_UNNEST = 2, /* PostgreSQL: one array parameter per column */
    JODBC_INSERT_AUTO = 3,   /* unnest on PostgreSQL, values elsewhere */
} jodbc_insert_method;

typedef struct jodbc_target {
    const char *connection; /* ODBC connection string, without the password */
    const char *password;   /* appended as PWD, may be NULL */
    int timeout_s;          /* login and statement timeout */
    jodbc_dialect dialect;  /* JODBC_AUTO: ask the driver */
    const char *prefix;     /* table prefix, jodbc_prefix_valid */
    jodbc_insert_method insert_method;
    unsigned rows_per_statement; /* VALUES rows or parameter sets per execution */
} jodbc_target;

typedef struct jodbc_db jodbc_db;

/* Connects (with the login timeout) and settles the dialect. NULL with
 * `*error` set when the database cannot be reached or its dialect is not
 * known. */
jodbc_db *jodbc_open(const jodbc_target *target, char **error);
void jodbc_close(jodbc_db *db);
jodbc_dialect jodbc_db_dialect(const jodbc_db *db);

/* Creates the schema when there is none (the version table last written),
 * uses a current one as it is, and returns JODBC_E_SCHEMA for a version
 * newer than JODBC_SCHEMA_VERSION. */
int jodbc_prepare_schema(jodbc_db *db, char **error);

/* Stores `count` records in one transaction: all or nothing. Records stored
 * before are skipped (same uuid), so replaying is harmless. */
int jodbc_write(jodbc_db *db, jrec_record *const *records, unsigned count, char **error);

/* Deletes at most `limit` of the oldest conversations that started before
 * `cutoff_ms`, in one transaction; `*deleted` gets how many. */
int jodbc_expire(jodbc_db *db, int64_t cutoff_ms, unsigned limit, unsigned *deleted, char **error);

/* Runs a journal query (journal.h semantics: newest first, keyset cursor
 * "START_MS:ID", participants included). Returns a UCD_* code; with
 * `*connection_lost` TRUE when the connection should be dropped. */
int jodbc_query(jodbc_db *db, const ucd_journal_query *query, ucd_journal_record_cb cb,
                void *user_data, char *next_cursor, size_t next_cursor_size,
                gboolean *connection_lost, char **error);

/* jodbc_query in two halves, so that the database part can run on a thread
 * with a deadline (odbc-call.h) and the caller's callback on the caller's
 * own thread: an abandoned query must never call back into a caller that
 * has gone. jodbc_query_fetch reads one page into `*page` (self-contained:
 * it owns every string), jodbc_page_deliver hands it to `cb` and writes the
 * next cursor, jodbc_page_free frees it (NULL is fine). */
typedef struct jodbc_page jodbc_page;
int jodbc_query_fetch(jodbc_db *db, const ucd_journal_query *query, jodbc_page **page,
                      gboolean *connection_lost, char **error);
void jodbc_page_deliver(const jodbc_page *page, ucd_journal_record_cb cb, void *user_data,
                        char *next_cursor, size_t next_cursor_size);
void jodbc_page_free(jodbc_page *page);

#endif /* ODBC_DB_H */
