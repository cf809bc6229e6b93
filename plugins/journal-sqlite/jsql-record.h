/*
 * jsql-record.h - owned copies of journal records, the privacy policy applied
 * to them, the integer key numbers are indexed by, and the spool file that keeps
 * waiting records across a restart.
 *
 * store() must return at once and never lose what it accepted, so the plugin
 * keeps its own copy of every record (one allocation each, so that copying and
 * freeing stay cheap at tens of thousands of records per second) until the
 * writer thread has committed it.
 */
#ifndef JSQL_RECORD_H
#define JSQL_RECORD_H

#include <stdint.h>

#include <ucd/journal.h>

/* What happens to the remote party's number of a call flagged private. */
typedef enum jsql_privacy {
    JSQL_PRIVATE_KEEP = 0, /* stored as received */
    JSQL_PRIVATE_MASK = 1, /* the last JSQL_MASKED_DIGITS digits become 'x', name removed */
    JSQL_PRIVATE_DROP = 2, /* number and name removed */
} jsql_privacy;

#define JSQL_MASKED_DIGITS 4

/* An owned record: `rec` and everything it points to live in this one block. */
typedef struct jsql_record {
    ucd_journal_record rec; /* participant_size == sizeof(ucd_journal_participant) */
} jsql_record;

/* Parses "keep", "mask" or "drop"; returns -1 for anything else. */
int jsql_privacy_parse(const char *text);

/* Copies `src` (any struct_size and participant_size the ABI allows) into one
 * block, applying `privacy` to the remote number when the record is flagged
 * private. Returns NULL when `src` lacks a uuid. Free with jsql_record_free(). */
jsql_record *jsql_record_copy(const ucd_journal_record *src, jsql_privacy privacy);
void jsql_record_free(jsql_record *record);

/* The key a number is indexed under: its last nine digits as an integer, so
 * that the raw form a PBX sent ("0891234567") and its E.164 form
 * ("+49891234567") share one key and one index entry. Returns -1 for a NULL,
 * digit-less or masked number (masked numbers are not searchable on purpose). */
int64_t jsql_number_key(const char *number);

/* Writes `count` records to `path` atomically (temporary file, then rename).
 * Returns 0, or -1 with `*error` set (g_free it). */
int jsql_spool_write(const char *path, jsql_record *const *records, unsigned count, char **error);
/* Reads a spool file; returns a GPtrArray-like plain array of owned records in
 * `*records` (free each, then the array with g_free) and their number, or -1
 * with `*error` set. A missing file is 0 records. */
int jsql_spool_read(const char *path, jsql_record ***records, char **error);

#endif /* JSQL_RECORD_H */
