/*
 * csv-reader.h - RFC 4180 records read from a file descriptor one at a
 * time, in the file's own bytes.
 *
 * The reader never holds more than one record and one read buffer, so a
 * file of a million rows costs what its longest record costs. It splits on
 * bytes: the delimiter, the quote and the line ends are ASCII, which is why
 * the plugin accepts only encodings that keep ASCII as ASCII (UTF-8,
 * Windows-1252, ISO-8859-*) and converts the fields afterwards
 * (csv-text.h).
 *
 * What it accepts: fields in quotes may hold the delimiter, line ends and
 * doubled quotes; CRLF, LF and a lone CR end a record; blank lines are
 * passed over; a quote inside an unquoted field is taken as a character.
 * What makes a record broken (returned as CSV_BROKEN with `problem`, the
 * next record read normally): text after a closing quote, a NUL byte, a
 * record longer than the limit (the rest of it is read and dropped, so
 * memory stays bounded even when a stray quote swallows the file), and a
 * quote still open at the end of the file.
 */
#ifndef UCD_CSV_READER_H
#define UCD_CSV_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct csv_reader csv_reader;

typedef enum csv_result {
    CSV_RECORD,     /* a record; fields valid until the next call */
    CSV_BROKEN,     /* a record that is not valid CSV: `problem` says why */
    CSV_END,        /* end of the file, nothing more */
    CSV_READ_ERROR, /* read() failed: errno in csv_record.read_errno */
} csv_result;

typedef struct csv_record {
    size_t n_fields;
    char **fields;       /* n_fields, each NUL-terminated (a field holds no NUL) */
    size_t *lengths;     /* bytes of each field */
    uint64_t line;       /* physical line the record starts on, from 1 */
    const char *problem; /* CSV_BROKEN: a static text */
    int read_errno;      /* CSV_READ_ERROR */
} csv_record;

/* A reader of `fd` (not closed by the reader) with one-byte `delimiter`
 * and `quote` (0: no quoting), a record at most `max_record` bytes long.
 * With `skip_utf8_bom`, a UTF-8 byte order mark at the start is passed
 * over. */
csv_reader *csv_reader_new(int fd, char delimiter, char quote, size_t max_record,
                           int skip_utf8_bom);

void csv_reader_free(csv_reader *reader);

/* Reads the next record into `*record`. */
csv_result csv_reader_next(csv_reader *reader, csv_record *record);

/* Bytes of the file read so far (for progress). */
uint64_t csv_reader_offset(const csv_reader *reader);

/* The first bytes of the file, before any record is read, so the caller can
 * recognize a file it cannot read (a UTF-16 byte order mark): up to `size`
 * bytes are copied to `out`; returns how many, or -1 with errno set. */
long csv_reader_peek(csv_reader *reader, unsigned char *out, size_t size);

#endif /* UCD_CSV_READER_H */
