/*
 * csv-read.h - an RFC 4180 reader for the tests of GET /journal.csv (the
 * unit test test-journal-csv.c and the end-to-end tests/api/test-api-journal.c
 * read the files back with it). Strict: a quote inside an unquoted cell, text
 * after a closing quote, a bare CR or LF as a line end, an unterminated
 * quote, or rows of different widths make it fail, so a writer that gets
 * the quoting wrong cannot pass.
 */
#ifndef API_TEST_CSV_READ_H
#define API_TEST_CSV_READ_H

#include <glib.h>
#include <string.h>

/* The rows of `text` (a GPtrArray of NULL-terminated string arrays, the
 * header first), or NULL and *why when it is not well-formed CSV with CRLF
 * line ends and rows of one width. */
static inline GPtrArray *csv_read(const char *text, gsize length, const char **why)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    GPtrArray *row = g_ptr_array_new();
    GString *cell = g_string_new(NULL);
    gsize i = 0;
    *why = NULL;
    while (i < length && *why == NULL) {
        if (text[i] == '"') {
            for (i++;; i++) {
                if (i >= length) {
                    *why = "unterminated quote";
                    break;
                }
                if (text[i] == '"' && i + 1 < length && text[i + 1] == '"') {
                    g_string_append_c(cell, '"');
                    i++;
                } else if (text[i] == '"') {
                    i++;
                    break;
                } else {
                    g_string_append_c(cell, text[i]);
                }
            }
        } else {
            while (i < length && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
                if (text[i] == '"')
                    *why = "a quote inside an unquoted cell";
                g_string_append_c(cell, text[i++]);
            }
        }
        if (*why)
            break;
        g_ptr_array_add(row, g_string_free(cell, FALSE));
        cell = g_string_new(NULL);
        if (i < length && text[i] == ',') {
            i++;
            if (i == length)
                *why = "a comma at the end";
            continue;
        }
        if (i + 1 < length && text[i] == '\r' && text[i + 1] == '\n') {
            i += 2;
        } else {
            *why = "a row does not end with CRLF (or text after a closing quote)";
            break;
        }
        g_ptr_array_add(row, NULL);
        char **cells = (char **)g_ptr_array_free(row, FALSE);
        if (rows->len && g_strv_length(cells) != g_strv_length(rows->pdata[0]))
            *why = "rows of different widths";
        g_ptr_array_add(rows, cells);
        row = g_ptr_array_new();
    }
    if (*why == NULL && row->len)
        *why = "the last row has no CRLF";
    g_ptr_array_add(row, NULL);
    g_strfreev((char **)g_ptr_array_free(row, FALSE));
    g_string_free(cell, TRUE);
    if (*why) {
        g_ptr_array_unref(rows);
        return NULL;
    }
    return rows;
}

/* The index of column `name` in the header row, or -1. */
static inline int csv_column(GPtrArray *rows, const char *name)
{
    char **header = rows->pdata[0];
    for (int c = 0; header[c]; c++) {
        if (strcmp(header[c], name) == 0)
            return c;
    }
    return -1;
}

#endif /* API_TEST_CSV_READ_H */
