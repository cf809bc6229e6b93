/*
 * csv-text.c - see the header. Most values of a contact export are ASCII
 * (numbers, most names): those are neither converted nor copied, only the
 * fields with a byte above 0x7F go through iconv.
 */
#include "csv-text.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

struct csv_text {
    int utf8;
    GIConv iconv;
    char *out;
    size_t out_cap;
    size_t *offsets; /* where each converted field starts in `out`, or SIZE_MAX */
    size_t offsets_cap;
};

static gboolean is_utf8_name(const char *encoding)
{
    return encoding == NULL || encoding[0] == '\0' || g_ascii_strcasecmp(encoding, "UTF-8") == 0 ||
           g_ascii_strcasecmp(encoding, "UTF8") == 0;
}

csv_text *csv_text_new(const char *encoding, char **error)
{
    csv_text *t = g_new0(csv_text, 1);
    t->utf8 = is_utf8_name(encoding);
    if (t->utf8)
        return t;
    t->iconv = g_iconv_open("UTF-8", encoding);
    if (t->iconv == (GIConv)-1) {
        *error = g_strdup_printf("\"%s\" is not an encoding iconv knows (UTF-8, WINDOWS-1252, "
                                 "ISO-8859-1, ISO-8859-15 ...)",
                                 encoding);
        g_free(t);
        return NULL;
    }
    /* The reader finds delimiters, quotes and line ends as ASCII bytes: an
     * encoding that writes them otherwise would be split wrongly. */
    static const char ascii[] = "\"';,|\t\r\n AZaz09";
    gsize written = 0;
    char *there = g_convert(ascii, -1, encoding, "UTF-8", NULL, &written, NULL);
    gboolean same = there != NULL && written == strlen(ascii) && memcmp(there, ascii, written) == 0;
    g_free(there);
    if (!same) {
        *error = g_strdup_printf("\"%s\" does not write ASCII as ASCII (UTF-16?): save the file as "
                                 "UTF-8 or WINDOWS-1252",
                                 encoding);
        csv_text_free(t);
        return NULL;
    }
    return t;
}

void csv_text_free(csv_text *t)
{
    if (t == NULL)
        return;
    if (!t->utf8 && t->iconv != (GIConv)-1 && t->iconv != NULL)
        g_iconv_close(t->iconv);
    g_free(t->out);
    g_free(t->offsets);
    g_free(t);
}

int csv_text_is_utf8(const csv_text *t)
{
    return t->utf8;
}

static gboolean is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] & 0x80)
            return FALSE;
    }
    return TRUE;
}

/* Appends `len` bytes of `in` converted to UTF-8 and a NUL to t->out.
 * FALSE when a byte is not valid in the encoding. */
static gboolean convert_field(csv_text *t, const char *in, size_t len, size_t *at)
{
    /* A single-byte encoding's character is at most 3 bytes of UTF-8 (the
     * euro sign); a multi-byte one's fewer per byte, so 4 per byte is room
     * for any encoding that passed the ASCII check. */
    size_t need = *at + len * 4 + 1;
    if (need > t->out_cap) {
        t->out_cap = need * 2;
        t->out = g_realloc(t->out, t->out_cap);
    }
    g_iconv(t->iconv, NULL, NULL, NULL, NULL); /* a fresh shift state per field */
    char *inp = (char *)in;
    gsize in_left = len;
    char *outp = t->out + *at;
    gsize out_left = t->out_cap - *at - 1;
    if (g_iconv(t->iconv, &inp, &in_left, &outp, &out_left) == (gsize)-1)
        return FALSE;
    /* An encoding with shift states ends in its initial state. */
    if (g_iconv(t->iconv, NULL, NULL, &outp, &out_left) == (gsize)-1)
        return FALSE;
    *outp++ = '\0';
    *at = (size_t)(outp - t->out);
    return TRUE;
}

static void trim(char **field, size_t *len)
{
    char *s = *field;
    size_t n = *len;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    s[n] = '\0';
    *field = s;
    *len = n;
}

int csv_text_convert(csv_text *t, csv_record *rec, size_t *bad_field, const char **problem)
{
    if (t->utf8) {
        for (size_t i = 0; i < rec->n_fields; i++) {
            if (!g_utf8_validate_len(rec->fields[i], rec->lengths[i], NULL)) {
                *bad_field = i;
                *problem = "is not valid UTF-8";
                return -1;
            }
            trim(&rec->fields[i], &rec->lengths[i]);
        }
        return 0;
    }
    if (rec->n_fields > t->offsets_cap) {
        t->offsets_cap = rec->n_fields * 2;
        t->offsets = g_renew(size_t, t->offsets, t->offsets_cap);
    }
    size_t at = 0;
    for (size_t i = 0; i < rec->n_fields; i++) {
        t->offsets[i] = SIZE_MAX;
        if (is_ascii(rec->fields[i], rec->lengths[i]))
            continue;
        t->offsets[i] = at;
        if (!convert_field(t, rec->fields[i], rec->lengths[i], &at)) {
            *bad_field = i;
            *problem = "has a byte that is not a character of the file's encoding";
            return -1;
        }
    }
    /* Pointers only now: t->out may have moved while it grew. */
    for (size_t i = 0; i < rec->n_fields; i++) {
        if (t->offsets[i] != SIZE_MAX) {
            rec->fields[i] = t->out + t->offsets[i];
            rec->lengths[i] = strlen(rec->fields[i]);
        }
        trim(&rec->fields[i], &rec->lengths[i]);
    }
    return 0;
}
