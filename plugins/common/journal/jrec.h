/*
 * jrec.h - what every journal store does to a record before it stores it:
 * an owned copy (store() must return at once and never lose what it
 * accepted), the sanitizer (bad input is cleaned or refused, with a reason,
 * never a crashed batch), the privacy policy for private calls, the integer
 * key numbers are indexed by, and the record's serialized form (GVariant) for
 * spool files.
 *
 * One table, jrec_text_columns[], names every text member of a record with
 * its column name and size; the sanitizer cuts to those sizes and the SQL
 * stores create their columns with them, so the two cannot disagree.
 */
#ifndef JREC_H
#define JREC_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <ucd/journal.h>

/* What happens to the remote party's number of a call flagged private. */
typedef enum jrec_privacy {
    JREC_PRIVATE_KEEP = 0, /* stored as received */
    JREC_PRIVATE_MASK = 1, /* the last JREC_MASKED_DIGITS digits become 'x', name removed */
    JREC_PRIVATE_DROP = 2, /* number and name removed */
} jrec_privacy;

#define JREC_MASKED_DIGITS 4

/* A record whose start lies further ahead of the receiving clock than this
 * is refused (a PBX clock gone wrong), an end that far ahead is cut. */
#define JREC_FUTURE_SLACK_MS (24 * 3600 * 1000LL)

/* Column sizes in characters. A value is cut so that it also fits an SQL
 * Server NVARCHAR(n), which counts UTF-16 units (see jrec_sanitize). */
enum {
    JREC_LEN_UUID = 64,
    JREC_LEN_ID = 128, /* driver instance, user ids, lines */
    JREC_LEN_NUMBER = 64,
    JREC_LEN_NAME = 128,
    JREC_LEN_REASON = 32,
    JREC_LEN_TAGS = 512,
    JREC_LEN_MEMO = 4000,
};

/* One text member of ucd_journal_record or ucd_journal_participant. */
typedef struct jrec_column {
    const char *name;   /* the column name SQL stores use: "source_number" */
    size_t offset;      /* of the `const char *` member in its struct */
    uint32_t max_chars; /* column size, JREC_LEN_* */
    uint32_t multiline; /* newlines and tabs allowed (the memo) */
} jrec_column;

/* The text members of a record, uuid first, in the order of the serialized
 * form; and those of a participant (user_id, line). */
extern const jrec_column jrec_text_columns[];
extern const size_t jrec_text_column_count;
extern const jrec_column jrec_participant_columns[];
extern const size_t jrec_participant_column_count;

/* The value of column `column` of `base` (a record or a participant). */
static inline const char *jrec_text(const void *base, const jrec_column *column)
{
    return *(const char *const *)(const void *)((const char *)base + column->offset);
}

/* An owned record: `rec` and everything it points to live in this one block
 * (one allocation, so that copying and freeing stay cheap at tens of
 * thousands of records per second). */
typedef struct jrec_record {
    ucd_journal_record rec; /* participant_size == sizeof(ucd_journal_participant) */
    int rejected;           /* the sanitizer refused it: keep it aside, do not store it */
} jrec_record;

/* Parses "keep", "mask" or "drop" (NULL = mask); returns -1 for anything else. */
int jrec_privacy_parse(const char *text);

/* Copies `src` (any struct_size and participant_size the ABI allows) into one
 * block, sanitized (see jrec_sanitize) against the clock `now_ms`, with
 * `privacy` applied when the record is flagged private. Returns NULL only
 * when `src` has no uuid. When `problems` is not NULL, what the sanitizer
 * changed or why it refused the record is appended to it ("end_ms before
 * start_ms: set to start_ms; memo: cut to 4000 characters"); a refused copy
 * has `rejected` set and is still complete, valid UTF-8, so it can be kept
 * in a dead-letter file. Free with jrec_free(). */
jrec_record *jrec_copy(const ucd_journal_record *src, jrec_privacy privacy, int64_t now_ms,
                       GString *problems);
void jrec_free(jrec_record *record);

/* The sanitizer's rules, applied by jrec_copy (documented in the journal
 * READMEs, "Bad input"):
 *   - texts: invalid UTF-8 is replaced (U+FFFD), control characters are
 *     removed (the memo keeps newlines and tabs), a value longer than its
 *     column is cut at a character boundary; a uuid that needed any of this
 *     refuses the record (a changed uuid would be another conversation);
 *   - enums: a missing end_cause/forward_reason_code is taken from its word
 *     (and the outcome) and a missing word from its enum
 *     (jrec_reconcile_codes);
 *   - times: a start at or before 1970 or more than JREC_FUTURE_SLACK_MS
 *     ahead refuses the record; an end before the start or too far ahead is
 *     set to the start (or answer); an answer outside [start, end] is moved
 *     to the nearest bound; negative participant times become 0 and a
 *     participant's left before joined becomes joined.
 * Returns TRUE when `rec` (whose strings the caller owns, each at most as
 * long as cleaning needs) may be stored. Exposed for tests. */
gboolean jrec_sanitize_times(ucd_journal_record *rec, ucd_journal_participant *parts,
                             int64_t now_ms, GString *problems);

/* end_reason's word for `cause`, event.h's ucd_call_cause_word() ("busy",
 * "link_lost" ...; "unknown" for a cause newer than this build); NULL for
 * UCD_CAUSE_NONE. The other words are event.h's too (ucd_forward_reason_word
 * ...). */
const char *jrec_end_reason_word(uint32_t cause);

/* The end_cause of a finished record, from what stores keep of it: the
 * cause end_reason names ("busy", "rejected", "link_lost" ...); for
 * "normal" or a word nobody knows, the cause of `outcome`, as records
 * stored before the core wrote the cause's word need: NORMAL for ANSWERED,
 * BUSY, NO_ANSWER, FAILED, VOICEMAIL or BLOCKED for the outcome of that
 * name. UCD_CAUSE_NONE when end_reason is NULL. Exact for every record the
 * core writes now except an unanswered one with end_cause NORMAL (the
 * caller gave up), which comes back NO_ANSWER like the old rows it cannot
 * be told from (jrec-words.c). */
uint32_t jrec_end_cause_of(const char *end_reason, uint32_t outcome);

/* Sets end_cause (jrec_end_cause_of) and forward_reason_code (the reason
 * forward_reason names, 0 for NULL or an unknown word) of `rec`: what a
 * store that keeps only the words calls for each record its query()
 * returns. */
void jrec_codes_from_words(ucd_journal_record *rec);

/* Fills a missing enum from its word (as jrec_codes_from_words) and a
 * missing word from its enum, as jrec_copy does, also for records read back
 * from the serialized form; an enum and a word that are both set stay as
 * given, even when they disagree. The words set are static strings. */
void jrec_reconcile_codes(ucd_journal_record *rec);

/* The key a number is indexed under: its last nine digits as an integer,
 * times ten plus the digit count, so that the raw form a PBX sent
 * ("0891234567") and its E.164 form ("+49891234567") share one key. Returns
 * -1 for a NULL, digit-less or masked number (masked numbers are not
 * searchable on purpose). */
int64_t jrec_number_key(const char *number);

/* Copies the part of `query` its struct_size covers into `*out` (the rest
 * zero: an older reader's query has no journal 1.2 filters) and checks the
 * participant filter: UCD_E_INVALID for more than
 * UCD_JOURNAL_MAX_PARTICIPANT_FILTER entries, a missing array or a NULL
 * entry, else UCD_OK. Every store's query() starts with it. */
int jrec_query_read(const ucd_journal_query *query, ucd_journal_query *out);

/* The record as one GVariant (type JREC_VARIANT_TYPE), floating; and back:
 * NULL when `value` is not of that type. Strings must be valid UTF-8, which
 * every jrec_copy() guarantees. */
#define JREC_VARIANT_TYPE                                                                          \
    "(uuuxxx"                                                                                      \
    "smsmsmsmsmsmsmsmsmsmsmsmsmsmsms"                                                              \
    "a(umsmsxxx))"
GVariant *jrec_to_variant(const ucd_journal_record *record);
jrec_record *jrec_from_variant(GVariant *value);

/* Writes `count` records to the file `path` atomically and durably
 * (temporary file, fsync, rename). Returns 0, or -1 with `*error` set
 * (g_free it). */
int jrec_file_write(const char *path, jrec_record *const *records, unsigned count, char **error);
/* Reads such a file: a g_new array of owned records in `*records` (free
 * each, then the array) and their number, or -1 with `*error` set. A
 * missing file is 0 records. */
int jrec_file_read(const char *path, jrec_record ***records, char **error);

#endif /* JREC_H */
