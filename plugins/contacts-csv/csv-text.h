/*
 * csv-text.h - a record's fields as UTF-8: validated when the file is
 * UTF-8, converted with GLib's iconv (g_iconv) otherwise, and trimmed of
 * the spaces and tabs around each value (exports pad columns; a number or
 * a name never means them).
 */
#ifndef UCD_CSV_TEXT_H
#define UCD_CSV_TEXT_H

#include <stddef.h>

#include "csv-reader.h"

typedef struct csv_text csv_text;

/* A converter from `encoding` (NULL or "UTF-8": validation only). NULL
 * with `*error` set (free with g_free) when iconv does not know the
 * encoding or it is not a superset of ASCII (UTF-16, UTF-32, EBCDIC: the
 * reader splits records on ASCII bytes). */
csv_text *csv_text_new(const char *encoding, char **error);

void csv_text_free(csv_text *text);

/* TRUE when the file is read as UTF-8 (a BOM may then be skipped). */
int csv_text_is_utf8(const csv_text *text);

/* Makes every field of `record` UTF-8 and trimmed; the field pointers then
 * point into the record or into `text`, valid until the next call with
 * either. 0, or -1 with `*bad_field` the index of the first field that is
 * not valid in the encoding and `*problem` a static text saying so. */
int csv_text_convert(csv_text *text, csv_record *record, size_t *bad_field, const char **problem);

#endif /* UCD_CSV_TEXT_H */
