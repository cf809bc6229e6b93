/*
 * csv-source.c - see the header. Progress is reported by bytes of the file
 * (the only total known before the end), at most once per MiB; the sink is
 * asked whether to stop every 4,096 rows, so a cancel takes effect within
 * milliseconds without a call per row.
 */
#include "csv-source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "csv-reader.h"
#include "csv-text.h"

#define DEFAULT_MAX_RECORD (1024 * 1024)
#define PROGRESS_BYTES     (1024 * 1024)
#define CANCEL_ROWS        4096

typedef struct run {
    const csv_source_settings *settings;
    const ucd_contact_sink *sink;
    void *sink_impl;
    char *name; /* the file's base name, for "FILE line N" */
    char **header;
    size_t n_header;
    uint64_t header_line;
} run;

/* The error for the store, allocated with malloc: contacts.h frees it with
 * free(), which need not be GLib's allocator. */
static int fail(char **error, int rc, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int fail(char **error, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    *error = strdup(text);
    g_free(text);
    return rc;
}

static void skip(run *r, uint64_t line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void skip(run *r, uint64_t line, const char *fmt, ...)
{
    char where[256];
    g_snprintf(where, sizeof(where), "%s line %" G_GUINT64_FORMAT, r->name, line);
    va_list ap;
    va_start(ap, fmt);
    char *problem = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    r->sink->skipped(r->sink_impl, where, problem);
    g_free(problem);
}

/* A header name for messages; a row may be longer than its header. */
static const char *column_name(const run *r, size_t i)
{
    return i < r->n_header ? r->header[i] : "?";
}

/* Reads the header line into r->header. UCD_OK or an error for the whole
 * file: nothing can be mapped without it. */
static int read_header(run *r, csv_reader *reader, csv_text *text, char **error)
{
    const char *path = r->settings->path;
    unsigned char head[4];
    long n = csv_reader_peek(reader, head, sizeof(head));
    if (n < 0)
        return fail(error, UCD_FAIL, "%s: cannot read: %s", path, g_strerror(errno));
    if (n >= 2 && ((head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF)))
        return fail(error, UCD_E_INVALID,
                    "%s is UTF-16 (it starts with its byte order mark): export it as UTF-8 or "
                    "Windows-1252 CSV",
                    path);
    csv_record rec;
    switch (csv_reader_next(reader, &rec)) {
    case CSV_END:
        return fail(error, UCD_E_INVALID, "%s is empty: no header line", path);
    case CSV_READ_ERROR:
        return fail(error, UCD_FAIL, "%s: cannot read: %s", path, g_strerror(rec.read_errno));
    case CSV_BROKEN:
        return fail(error, UCD_E_INVALID, "%s line %" G_GUINT64_FORMAT ": the header %s", path,
                    rec.line, rec.problem);
    case CSV_RECORD:
        break;
    }
    size_t bad = 0;
    const char *problem = NULL;
    if (csv_text_convert(text, &rec, &bad, &problem) != 0)
        return fail(error, UCD_E_INVALID,
                    "%s line %" G_GUINT64_FORMAT ": the header's column %zu %s", path, rec.line,
                    bad + 1, problem);
    r->n_header = rec.n_fields;
    r->header_line = rec.line;
    r->header = g_new0(char *, rec.n_fields + 1);
    for (size_t i = 0; i < rec.n_fields; i++)
        r->header[i] = g_strdup(rec.fields[i]);
    return UCD_OK;
}

/* One data row: checked, mapped, added. UCD_OK (added or skipped) or the
 * error of sink->add that stops the replication. */
static int one_row(run *r, csv_map *map, csv_text *text, csv_record *rec, uint64_t row,
                   char **error)
{
    size_t bad = 0;
    const char *problem = NULL;
    if (rec->n_fields != r->n_header) {
        skip(r, rec->line, "has %zu fields, the header has %zu", rec->n_fields, r->n_header);
        return UCD_OK;
    }
    if (csv_text_convert(text, rec, &bad, &problem) != 0) {
        skip(r, rec->line, "column \"%s\" %s", column_name(r, bad), problem);
        return UCD_OK;
    }
    ucd_contact contact;
    csv_map_row(map, rec->fields, row, &contact);
    if (contact.source_id == NULL) {
        skip(r, rec->line, "has no id in column \"%s\" (map_source_id)",
             r->settings->spec.columns[CSV_FIELD_SOURCE_ID]);
        return UCD_OK;
    }
    int rc = r->sink->add(r->sink_impl, &contact);
    if (rc == UCD_OK || rc == UCD_E_INVALID) /* the store counted an unusable one */
        return UCD_OK;
    return fail(error, rc, "%s line %" G_GUINT64_FORMAT ": the store cannot take more: %s",
                r->settings->path, rec->line, ucd_strerror(rc));
}

static int rows(run *r, csv_reader *reader, csv_text *text, csv_map *map, uint64_t total,
                char **error)
{
    uint64_t row = 0, reported = 0;
    for (;;) {
        csv_record rec;
        csv_result res = csv_reader_next(reader, &rec);
        if (res == CSV_END)
            break;
        if (res == CSV_READ_ERROR)
            return fail(error, UCD_FAIL, "%s line %" G_GUINT64_FORMAT ": cannot read: %s",
                        r->settings->path, rec.line, g_strerror(rec.read_errno));
        row++;
        if (res == CSV_BROKEN) {
            skip(r, rec.line, "%s", rec.problem);
        } else {
            int rc = one_row(r, map, text, &rec, row, error);
            if (rc != UCD_OK)
                return rc;
        }
        if (row % CANCEL_ROWS == 0 && r->sink->cancelled(r->sink_impl))
            return fail(error, UCD_E_BUSY, "%s: stopped at line %" G_GUINT64_FORMAT ": cancelled",
                        r->settings->path, rec.line);
        uint64_t done = csv_reader_offset(reader);
        if (done - reported >= PROGRESS_BYTES) {
            r->sink->progress(r->sink_impl, done, total);
            reported = done;
        }
    }
    uint64_t done = csv_reader_offset(reader);
    r->sink->progress(r->sink_impl, done, total > done ? total : done);
    return UCD_OK;
}

int csv_source_replicate(const csv_source_settings *s, const ucd_contact_sink *sink,
                         void *sink_impl, char **error)
{
    *error = NULL;
    char *text_error = NULL;
    csv_text *text = csv_text_new(s->encoding, &text_error);
    if (text == NULL) {
        int rc = fail(error, UCD_E_INVALID, "%s: encoding %s", s->path, text_error);
        g_free(text_error);
        return rc;
    }
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = fail(error, errno == ENOENT ? UCD_E_NOT_FOUND : UCD_FAIL, "%s: cannot open: %s",
                      s->path, g_strerror(errno));
        csv_text_free(text);
        return rc;
    }
    struct stat st;
    uint64_t total = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    run r = {.settings = s, .sink = sink, .sink_impl = sink_impl};
    r.name = g_path_get_basename(s->path);
    csv_reader *reader = csv_reader_new(fd, s->delimiter, s->quote,
                                        s->max_record > 0 ? s->max_record : DEFAULT_MAX_RECORD,
                                        csv_text_is_utf8(text));
    csv_map *map = NULL;
    int rc = read_header(&r, reader, text, error);
    if (rc == UCD_OK) {
        char *map_error = NULL;
        map = csv_map_new(&s->spec, r.header, r.n_header, &map_error);
        if (map == NULL) {
            rc = fail(error, UCD_E_INVALID, "%s line %" G_GUINT64_FORMAT ": %s", s->path,
                      r.header_line, map_error);
            g_free(map_error);
        }
    }
    if (rc == UCD_OK)
        rc = rows(&r, reader, text, map, total, error);

    csv_map_free(map);
    csv_reader_free(reader);
    close(fd);
    csv_text_free(text);
    g_strfreev(r.header);
    g_free(r.name);
    return rc;
}
