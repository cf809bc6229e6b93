/*
 * store-db.h - the contact store's SQLite file: every source's last good
 * copy, its numbers, and the full-text index search uses.
 *
 * Schema (version 1, search index layout 2):
 *   sources(name, generation, first_id, contacts, numbers, priority, good_at)
 *       one row per source with a good copy: the copy's generation and where
 *       its rows are (ids first_id .. first_id + contacts - 1);
 *   contacts(id, source, generation, source_id, display_name, ...,
 *       number_terms) the rows; number_terms is the words of the contact's
 *       numbers the full-text index is given;
 *   numbers(contact, seq, kind, raw, e164) each number as the source has it
 *       and in E.164 ("" when the number service did not understand it);
 *   contacts_fts(...) FTS5 over the text fields and number_terms, external
 *       content: its text is contacts' (rowid = contacts.id).
 * A file of search index layout 1 (contacts_fts with its own copy of the
 * text, no number_terms) is migrated by store_db_migrate.
 * A copy is written in one transaction that also deletes the source's
 * previous generation, so a reader (WAL: readers never wait for the writer)
 * sees either the old copy or the new one, never half of one.
 *
 * One store_db is the writer connection: one thread at a time. Searches use
 * store_reader connections, one per thread at a time.
 */
#ifndef CONTACTS_STORE_STORE_DB_H
#define CONTACTS_STORE_STORE_DB_H

#include <glib.h>
#include <stdint.h>

#include "contact-copy.h"

#define STORE_DB_SCHEMA_VERSION 1
/* The full-text index's layout (store-db.c); 1 had no meta row. */
#define STORE_DB_SEARCH_INDEX 2

typedef struct store_db store_db;
typedef struct store_reader store_reader;

/* What the database knows of one source's last good copy. */
typedef struct store_source_row {
    const char *name;
    int64_t generation;
    int64_t first_id;
    int64_t contacts;
    int64_t numbers;
    int32_t priority;
    int64_t good_at; /* unix seconds */
} store_source_row;

/* Opens (creating or checking the schema of) the database at `path`. NULL
 * with `*error` set ("contacts.sqlite: file is not a database"). */
store_db *store_db_open(const char *path, char **error);
void store_db_close(store_db *db);

/* TRUE when the file's search index is of an older layout: searches work,
 * and store_db_migrate (or the next store_db_write_copy) migrates it. */
gboolean store_db_migration_pending(const store_db *db);

/* Migrates the search index to this layout (a rebuild: seconds for a
 * million contacts, so on a worker, not in init). One transaction: a failed
 * one leaves the file as it was. SQLITE_OK when there is nothing to do. */
int store_db_migrate(store_db *db, char **error);

/* Calls `cb` for every source with a copy in the database. */
int store_db_foreach_source(store_db *db, void (*cb)(const store_source_row *row, void *data),
                            void *data, char **error);

/* Reads a source's copy back into memory (numbers' e164 as stored). NULL
 * with `*error` set. */
contact_copy *store_db_load_copy(store_db *db, const store_source_row *row, char **error);

/* Writes `copy` as `copy->source`'s new generation and deletes its previous
 * one, in one transaction; sets copy->generation and copy->first_id. The
 * previous copy stays when it fails (`*error` set). The search index is
 * rebuilt from contacts when the previous copy is at least as big as every
 * other source's together (always with one source), else its entries are
 * deleted and the new ones written row by row: whichever tokenizes fewer
 * rows. */
int store_db_write_copy(store_db *db, contact_copy *copy, int64_t good_at, char **error);

/* Deletes a source's copy (no longer wanted). */
int store_db_forget_source(store_db *db, const char *source, char **error);

/* A read connection on the same file. */
store_reader *store_reader_open(const char *path, char **error);
void store_reader_close(store_reader *reader);

/* Words shorter than this (in characters) are not given to the full-text
 * index when a longer word is there: a prefix of one or two letters reads
 * the doclist of a good part of the directory ("müller a" spent 40 ms on the
 * "a"). They are checked on the hits instead. */
#define STORE_SHORT_WORD 3

/* The FTS5 query for `words` (what a person typed): every word a prefix of
 * a word of any field, a word of digits and number punctuation compressed to
 * its digits. NULL when no word is left (only punctuation). The short words
 * left out go to `*short_words` (NULL: none; may be NULL), for the caller to
 * check on each hit with g_str_match_string. g_free both. */
char *store_fts_query(const char *words, char **short_words);

/* Runs a full-text query and calls `cb` with each contact id until it
 * returns non-zero: best first, unless the query matches so many contacts
 * that ranking them all would take long (more than 2,000: then in the
 * index's order). */
int store_reader_search(store_reader *reader, const char *fts_query,
                        int (*cb)(int64_t id, void *data), void *data, char **error);

#endif /* CONTACTS_STORE_STORE_DB_H */
