/*
 * routes-journal-csv.h - the journal as CSV (GET /journal.csv): RFC 4180
 * text, CRLF line ends, a header row, one row per conversation.
 *
 * A cell is quoted when it holds a comma, a quote, CR or LF (quotes
 * doubled). A cell a spreadsheet would take as a formula (its first
 * character one of = + - @, or a TAB or CR that some spreadsheets skip
 * before one) is written with a leading single quote, so opening the file
 * never runs what a caller put into a name or a memo (CSV injection). A
 * negative number the API itself wrote would trip the same rule: there is
 * none, times and durations are never negative here.
 */
#ifndef ROUTES_JOURNAL_CSV_H
#define ROUTES_JOURNAL_CSV_H

#include <glib.h>
#include <ucd/journal.h>

/* Rows a download holds at most; a client wants more: a narrower ?from/?to
 * per file. Not configurable: 100,000 rows are about 40 MB of CSV, built
 * in memory before it is sent. */
#define JOURNAL_CSV_MAX_ROWS 100000

/* Appends one cell (NULL: empty) as described above, without separator. */
void journal_csv_cell(GString *out, const char *text);
/* Appends the header row (with its CRLF). */
void journal_csv_header(GString *out);
/* Appends the row of `record` (with its CRLF); `masked`: its private number
 * shows as "anonymous", as in the JSON. */
void journal_csv_row(GString *out, const ucd_journal_record *record, gboolean masked);

#endif /* ROUTES_JOURNAL_CSV_H */
