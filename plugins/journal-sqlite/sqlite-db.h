/*
 * sqlite-db.h - the journal's SQLite file: schema, migrations, batched inserts,
 * retention and queries. No threads and no ucd host in here: the plugin's
 * writer thread drives a jsql_db, the benchmark's baseline drives the same
 * statements in one transaction, and query() opens its own read connection.
 *
 * Functions return an SQLite result code (SQLITE_OK on success) and, on
 * failure, a message in `*error` for the caller to log and g_free.
 */
#ifndef SQLITE_DB_H
#define SQLITE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <ucd/journal.h>

/* The schema this code writes. Version 1 was the single-table preview layout
 * (see README.md); a version 1 file is migrated into a new file on open. */
#define JSQL_SCHEMA_VERSION 2

typedef struct jsql_options {
    int64_t cache_mb;    /* page cache per connection, MiB */
    int64_t max_size_mb; /* cap on the database file, MiB; 0 = none */
} jsql_options;

typedef struct jsql_db jsql_db;

/* Reads the schema version of the file at `path` without writing to it or
 * creating anything beside it (no -wal, no -shm):
 * 0 when the file does not exist or is an empty database. Returns SQLITE_OK,
 * or an error (not a database, not a journal, unreadable). */
int jsql_file_version(const char *path, int *version, char **error);

/* Opens `path` for writing, creating it, or migrating an older schema into a
 * new file first (the old file is renamed PATH.vN-backup, never modified).
 * Refuses a file whose schema is newer than JSQL_SCHEMA_VERSION, without
 * creating anything beside it. On success `*db` is set. `*report` gets a line
 * for the log when a migration ran or one a crash interrupted was finished
 * (what, and where the old file is kept), else NULL; the caller frees it, on
 * failure too. Blocking (a migration copies the whole journal). */
int jsql_open(const char *path, const jsql_options *options, jsql_db **db, char **report,
              char **error);
void jsql_close(jsql_db *db);

int jsql_begin(jsql_db *db, char **error);
/* Inserts one record inside the open transaction. A record whose uuid and
 * start time are already stored is skipped (re-storing is harmless). */
int jsql_insert(jsql_db *db, const ucd_journal_record *record, char **error);
int jsql_commit(jsql_db *db, char **error);
void jsql_rollback(jsql_db *db);

/* Rows waiting in number_recent for the next merge into the number index. */
int64_t jsql_recent_numbers(const jsql_db *db);
/* Moves number_recent into the number index, in key order, in one
 * transaction. */
int jsql_merge_numbers(jsql_db *db, char **error);

/* Deletes at most `limit` of the oldest conversations that started before
 * `cutoff_ms`, in its own transaction; `*deleted` gets how many. */
int jsql_expire(jsql_db *db, int64_t cutoff_ms, int limit, int *deleted, char **error);

/* Runs `query` on a read-only connection of its own (so it never waits for
 * the writer in WAL mode) and calls `cb` per record, newest first. Returns a
 * UCD_* code: UCD_E_INVALID for a malformed cursor, UCD_E_UNAVAILABLE when the
 * file cannot be read. */
int jsql_query(const char *path, const ucd_journal_query *query, ucd_journal_record_cb cb,
               void *user_data, char *next_cursor, size_t next_cursor_size, char **error);

/* A read connection of its own for jsql_reader_query, kept between queries
 * with its prepared statements (opening and preparing cost more than a
 * page), opened at the first query and again whenever the file at `path`
 * is another one (device and inode) or a query failed. One thread at a
 * time; jsql_query is one query on a new reader. */
typedef struct jsql_reader jsql_reader;
jsql_reader *jsql_reader_new(const char *path);
int jsql_reader_query(jsql_reader *reader, const ucd_journal_query *query, ucd_journal_record_cb cb,
                      void *user_data, char *next_cursor, size_t next_cursor_size, char **error);
void jsql_reader_free(jsql_reader *reader);

#endif /* SQLITE_DB_H */
