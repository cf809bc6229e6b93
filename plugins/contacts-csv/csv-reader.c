/*
 * csv-reader.c - the RFC 4180 state machine over a read buffer; see the
 * header for what it accepts and refuses.
 *
 * Invariant: `record` holds the fields read so far, each ended by a NUL,
 * and starts[i] is where field i begins in it; pointers into it are made
 * only when a record is complete, because appending may move it. Lines are
 * counted where they end (LF, or a CR not followed by LF), inside quotes
 * too, so a record's line is the physical line a text editor shows.
 */
#include "csv-reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#define READ_SIZE (256 * 1024)

typedef enum field_state {
    FIELD_START,
    UNQUOTED,
    QUOTED,
    QUOTE_IN_QUOTED, /* a quote inside quotes: a doubled one or the closing one */
} field_state;

struct csv_reader {
    int fd;
    char delimiter, quote;
    size_t max_record;
    int skip_bom;
    int started; /* the BOM check ran */

    unsigned char *buf;
    size_t len, pos;
    int eof, read_errno;
    uint64_t consumed; /* bytes of the file before buf[pos] */
    uint64_t line;     /* the line buf[pos] is on */

    char *record;
    size_t record_len, record_cap;
    int too_long;
    size_t *starts;
    char **fields;
    size_t *lengths;
    size_t n_fields, fields_cap;
};

csv_reader *csv_reader_new(int fd, char delimiter, char quote, size_t max_record, int skip_utf8_bom)
{
    csv_reader *r = g_new0(csv_reader, 1);
    r->fd = fd;
    r->delimiter = delimiter;
    r->quote = quote;
    r->max_record = max_record < 64 ? 64 : max_record;
    r->skip_bom = skip_utf8_bom;
    r->buf = g_malloc(READ_SIZE);
    r->line = 1;
    r->record_cap = 4096;
    r->record = g_malloc(r->record_cap);
    r->fields_cap = 32;
    r->starts = g_new(size_t, r->fields_cap + 1);
    r->fields = g_new(char *, r->fields_cap);
    r->lengths = g_new(size_t, r->fields_cap);
    return r;
}

void csv_reader_free(csv_reader *r)
{
    if (r == NULL)
        return;
    g_free(r->buf);
    g_free(r->record);
    g_free(r->starts);
    g_free(r->fields);
    g_free(r->lengths);
    g_free(r);
}

uint64_t csv_reader_offset(const csv_reader *r)
{
    return r->consumed;
}

/* Reads more of the file when the buffer is used up, keeping the bytes not
 * yet consumed. FALSE at the end of the file or on an error (read_errno). */
static gboolean fill(csv_reader *r, size_t want)
{
    if (r->len - r->pos >= want)
        return TRUE;
    if (r->eof)
        return FALSE;
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
    while (r->len < want) {
        ssize_t n = read(r->fd, r->buf + r->len, READ_SIZE - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->read_errno = errno;
            r->eof = 1;
            return FALSE;
        }
        if (n == 0) {
            r->eof = 1;
            return FALSE;
        }
        r->len += (size_t)n;
    }
    return TRUE;
}

long csv_reader_peek(csv_reader *r, unsigned char *out, size_t size)
{
    if (size > 16)
        size = 16;
    fill(r, size);
    if (r->read_errno != 0) {
        errno = r->read_errno;
        return -1;
    }
    size_t n = r->len - r->pos < size ? r->len - r->pos : size;
    memcpy(out, r->buf + r->pos, n);
    return (long)n;
}

static inline int next_byte(csv_reader *r)
{
    if (r->pos == r->len && !fill(r, 1))
        return -1;
    r->consumed++;
    return r->buf[r->pos++];
}

/* After a CR: a following LF belongs to the same line end. */
static void swallow_lf(csv_reader *r)
{
    if (fill(r, 1) && r->buf[r->pos] == '\n') {
        r->pos++;
        r->consumed++;
    }
}

static inline void append(csv_reader *r, char c)
{
    if (r->too_long)
        return;
    if (r->record_len + 2 > r->max_record) { /* room for this byte and a NUL */
        r->too_long = 1;
        return;
    }
    if (r->record_len + 2 > r->record_cap) {
        r->record_cap *= 2;
        r->record = g_realloc(r->record, r->record_cap);
    }
    r->record[r->record_len++] = c;
}

static void begin_field(csv_reader *r)
{
    if (r->n_fields == r->fields_cap) {
        r->fields_cap *= 2;
        r->starts = g_renew(size_t, r->starts, r->fields_cap + 1);
        r->fields = g_renew(char *, r->fields, r->fields_cap);
        r->lengths = g_renew(size_t, r->lengths, r->fields_cap);
    }
    r->starts[r->n_fields++] = r->record_len;
}

/* Ends the current field with its NUL. A record cut by the limit stores
 * nothing more but keeps counting fields, so memory stays bounded. */
static void end_field(csv_reader *r)
{
    if (r->too_long)
        return;
    if (r->record_len + 1 > r->record_cap) {
        r->record_cap *= 2;
        r->record = g_realloc(r->record, r->record_cap);
    }
    r->record[r->record_len++] = '\0';
}

typedef enum separator_kind {
    SEP_NONE,
    SEP_FIELD,  /* the delimiter: the next field begins */
    SEP_RECORD, /* a line end: the record is complete */
} separator_kind;

/* What `c` ends outside quotes; a line end is counted and its CR LF taken
 * whole. */
static separator_kind separator(csv_reader *r, int c)
{
    if (c == r->delimiter) {
        end_field(r);
        begin_field(r);
        return SEP_FIELD;
    }
    if (c == '\n' || c == '\r') {
        if (c == '\r')
            swallow_lf(r);
        r->line++;
        return SEP_RECORD;
    }
    return SEP_NONE;
}

static csv_result finish(csv_reader *r, csv_record *out, const char *problem)
{
    static char empty[] = "";
    end_field(r);
    r->starts[r->n_fields] = r->record_len;
    for (size_t i = 0; i < r->n_fields; i++) {
        /* A cut record's fields are not worth reading: all empty. */
        r->fields[i] = r->too_long ? empty : r->record + r->starts[i];
        r->lengths[i] = r->too_long ? 0 : r->starts[i + 1] - r->starts[i] - 1;
    }
    out->n_fields = r->n_fields;
    out->fields = r->fields;
    out->lengths = r->lengths;
    if (problem == NULL && r->too_long)
        problem = "is longer than the longest record allowed (a quote not closed where meant?)";
    out->problem = problem;
    return problem != NULL ? CSV_BROKEN : CSV_RECORD;
}

csv_result csv_reader_next(csv_reader *r, csv_record *out)
{
    memset(out, 0, sizeof(*out));
    if (!r->started) {
        r->started = 1;
        if (r->skip_bom && fill(r, 3) && memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0) {
            r->pos += 3;
            r->consumed += 3;
        }
    }
    for (;;) {
        r->record_len = 0;
        r->n_fields = 0;
        r->too_long = 0;
        out->line = r->line;
        const char *problem = NULL;
        field_state state = FIELD_START;
        gboolean any = FALSE; /* a byte of this record was read */
        begin_field(r);
        for (;;) {
            int c = next_byte(r);
            if (c < 0) {
                if (r->read_errno != 0) {
                    out->read_errno = r->read_errno;
                    return CSV_READ_ERROR;
                }
                if (!any)
                    return CSV_END;
                if (state == QUOTED)
                    problem = "has a quote that is not closed by the end of the file";
                return finish(r, out, problem);
            }
            any = TRUE;
            if (c == 0) {
                problem = "contains a NUL byte (is the file UTF-16? set encoding)";
                continue;
            }
            switch (state) {
            case FIELD_START:
                if (r->quote != 0 && c == r->quote) {
                    state = QUOTED;
                    continue;
                }
                state = UNQUOTED;
                /* fall through */
            case UNQUOTED:
                switch (separator(r, c)) {
                case SEP_FIELD:
                    state = FIELD_START;
                    break;
                case SEP_RECORD:
                    /* A blank line is no record: passed over. */
                    if (r->n_fields == 1 && r->record_len == 0 && problem == NULL)
                        goto next_record;
                    return finish(r, out, problem);
                default:
                    append(r, (char)c);
                }
                break;
            case QUOTED:
                if (c == r->quote) {
                    state = QUOTE_IN_QUOTED;
                } else {
                    if (c == '\n')
                        r->line++;
                    append(r, (char)c);
                }
                break;
            case QUOTE_IN_QUOTED:
                if (c == r->quote) {
                    append(r, (char)c);
                    state = QUOTED;
                    break;
                }
                switch (separator(r, c)) {
                case SEP_FIELD:
                    state = FIELD_START;
                    break;
                case SEP_RECORD:
                    return finish(r, out, problem);
                default:
                    if (problem == NULL)
                        problem = "has text after a closing quote";
                    append(r, (char)c);
                    state = UNQUOTED;
                }
                break;
            }
        }
    next_record:;
    }
}
