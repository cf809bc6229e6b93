/*
 * ami-parse.c - the incremental AMI reader (see ami-parse.h).
 *
 * Bytes are collected into the current line (never more than max_line of
 * them, so a peer cannot make us buffer without bound); each complete line is
 * cleaned (NUL bytes, non-UTF-8) and then is either a banner, a header, the
 * empty line that ends a message, or a bad line that is counted and skipped.
 *
 * Speed: nearly every line Asterisk sends is plain ASCII, so one pass over
 * the line (eight bytes at a time) decides that it needs no cleaning at all;
 * only a line with a NUL, a stray CR or a byte >= 0x80 takes the slow path.
 *
 * The legacy Command answer. Before Asterisk 14, "Action: Command" was
 * answered with
 *
 *     Response: Follows
 *     Privilege: Command
 *     ActionID: 5
 *     <the CLI output, raw lines, colons and empty lines included>
 *     --END COMMAND--
 *     <empty line>
 *
 * (the marker is sometimes glued to the last output line). Asterisk 14 and
 * later send "Output: line" headers instead. The reader makes both look the
 * same: in a "Response: Follows" message, after its Privilege:/ActionID:
 * headers, every line up to the marker - with or without a colon, empty or
 * not - becomes one "Output" header holding the line as it was, and the
 * marker itself is dropped. So the consumer reads Output: headers only.
 */
#include "ami-parse.h"

#include <string.h>

#define LEGACY_END_MARKER "--END COMMAND--"

struct pami_parser {
    pami_parse_callbacks callbacks;
    gboolean expect_banner;
    gsize max_line;
    guint max_headers;
    char *line; /* the line being collected, without its end; max_line + 2 */
    gsize line_len;
    gboolean line_cut;     /* the line went past max_line: the rest is dropped */
    pami_message *message; /* the message being read; NULL between messages */
    gboolean legacy;       /* inside a pre-14 "Response: Follows" command answer */
    gboolean legacy_body;  /* ... and past its headers, in the raw output */
    pami_parse_stats stats;
};

pami_parser *pami_parser_new(const pami_parse_callbacks *callbacks, gboolean expect_banner,
                             gsize max_line, guint max_headers)
{
    g_return_val_if_fail(callbacks != NULL, NULL);
    pami_parser *p = g_new0(pami_parser, 1);
    p->callbacks = *callbacks;
    p->expect_banner = expect_banner;
    p->max_line = max_line != 0 ? max_line : PAMI_PARSE_MAX_LINE_DEFAULT;
    p->max_headers = max_headers != 0 ? max_headers : PAMI_PARSE_MAX_HEADERS_DEFAULT;
    p->line = g_malloc(p->max_line + 2);
    return p;
}

void pami_parser_free(pami_parser *p)
{
    if (p == NULL) {
        return;
    }
    pami_message_unref(p->message);
    g_free(p->line);
    g_free(p);
}

const pami_parse_stats *pami_parser_stats(const pami_parser *p)
{
    return &p->stats;
}

gboolean pami_parser_pending(const pami_parser *p)
{
    return p->message != NULL || p->line_len > 0 || p->line_cut;
}

/* Hands the finished message to the callback and starts afresh. */
static void end_message(pami_parser *p)
{
    pami_message *m = p->message;
    p->message = NULL;
    p->legacy = FALSE;
    p->legacy_body = FALSE;
    if (m == NULL) {
        return; /* empty lines between messages are harmless */
    }
    p->stats.messages++;
    if (p->callbacks.message != NULL) {
        p->callbacks.message(m, p->callbacks.user_data);
    }
    pami_message_unref(m);
}

/* Adds a header to the current message (opening one if needed), unless the
 * message is full. */
static void add_header(pami_parser *p, const char *name, const char *value)
{
    if (p->message == NULL) {
        p->message = pami_message_new();
        p->legacy =
            g_ascii_strcasecmp(name, "Response") == 0 && g_ascii_strcasecmp(value, "Follows") == 0;
    }
    if (pami_message_count(p->message) >= p->max_headers) {
        p->stats.headers_dropped++;
        return;
    }
    pami_message_add(p->message, name, value);
}

/* Splits "Name: value" and adds it; FALSE when the line has no colon or an
 * empty name. Asterisk writes one space after the colon; any leading blanks
 * of the value are skipped, as Asterisk's own header lookup does. */
static gboolean add_header_line(pami_parser *p, char *line)
{
    char *colon = strchr(line, ':');
    if (colon == NULL) {
        return FALSE;
    }
    /* The name loses trailing blanks (as g_strchomp() would). */
    char *name = line;
    char *name_end = colon;
    while (name_end > name && g_ascii_isspace(name_end[-1])) {
        name_end--;
    }
    *name_end = '\0';
    if (name[0] == '\0') {
        return FALSE;
    }
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    add_header(p, name, value);
    return TRUE;
}

/* TRUE when `line` is one of the headers Asterisk writes before the raw
 * output of a legacy command answer. */
static gboolean is_legacy_header(const char *line)
{
    return g_ascii_strncasecmp(line, "Privilege:", 10) == 0 ||
           g_ascii_strncasecmp(line, "ActionID:", 9) == 0;
}

/* One line of a legacy command answer (see the top of the file). */
static void legacy_line(pami_parser *p, char *line)
{
    if (!p->legacy_body && line[0] != '\0' && is_legacy_header(line)) {
        add_header_line(p, line);
        return;
    }
    p->legacy_body = TRUE;
    gsize len = strlen(line);
    gsize marker_len = strlen(LEGACY_END_MARKER);
    if (len >= marker_len && strcmp(line + len - marker_len, LEGACY_END_MARKER) == 0) {
        line[len - marker_len] = '\0';
        if (line[0] != '\0') {
            add_header(p, "Output", line);
        }
        p->legacy = FALSE; /* the empty line that follows ends the message */
        return;
    }
    add_header(p, "Output", line);
}

/* Drops the bytes of a UTF-8 sequence that a cut at max_line split, so a cut
 * line of valid UTF-8 stays valid (and is not mistaken for Latin-1). */
static void trim_split_utf8(pami_parser *p)
{
    gsize len = p->line_len;
    for (gsize back = 1; back <= 3 && back <= len; back++) {
        guchar c = (guchar)p->line[len - back];
        if ((c & 0xC0) == 0x80) {
            continue; /* a continuation byte: look further back */
        }
        gsize need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (need > back) {
            p->line_len = len - back;
        }
        return;
    }
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Sets the high bit of each byte of `v` that is zero (and maybe of bytes
 * above a zero one: only "none at all" is exact, which is all we ask). */
static guint64 zero_bytes(guint64 v)
{
    return (v - ONES) & ~v;
}

/* TRUE when none of the eight bytes at `at` is NUL, CR or >= 0x80. */
static gboolean plain_word(const char *at)
{
    guint64 v;
    memcpy(&v, at, 8);
    return ((v | zero_bytes(v) | zero_bytes(v ^ (ONES * '\r'))) & HIGHS) == 0;
}

/* TRUE when `text` is plain ASCII without NUL or CR: valid UTF-8 as it is
 * and nothing to clean. Eight bytes at a time (the last word overlapping the
 * one before): this runs on every line. */
static gboolean plain_ascii(const char *text, gsize len)
{
    gsize i = 0;
    if (len >= 8) {
        for (; i + 8 <= len; i += 8) {
            if (!plain_word(text + i)) {
                return FALSE;
            }
        }
        return plain_word(text + len - 8);
    }
    for (; i < len; i++) {
        guchar c = (guchar)text[i];
        if (c == '\0' || c == '\r' || c >= 0x80) {
            return FALSE;
        }
    }
    return TRUE;
}

/* Makes the collected line a clean UTF-8 C string: NUL bytes become spaces
 * (they would end the string early; counted as a conversion), so do stray CRs
 * inside the line (a lone CR is no line end in AMI, and a name or value must
 * be safe to log), and bytes that are not UTF-8 are taken as Latin-1.
 * Returns the line itself or a new string (*converted then TRUE). */
static char *line_to_utf8(pami_parser *p, gboolean *converted)
{
    char *text = p->line;
    gsize len = p->line_len;
    *converted = FALSE;
    text[len] = '\0';
    if (plain_ascii(text, len)) {
        return text;
    }
    gboolean has_nul = memchr(text, '\0', len) != NULL;
    if (has_nul || memchr(text, '\r', len) != NULL) {
        for (gsize i = 0; i < len; i++) {
            text[i] = (text[i] == '\0' || text[i] == '\r') ? ' ' : text[i];
        }
        p->stats.values_converted += has_nul;
    }
    if (g_utf8_validate_len(text, len, NULL)) {
        return text;
    }
    p->stats.values_converted++;
    char *utf8 = g_convert(text, (gssize)len, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
    *converted = TRUE;
    return utf8 != NULL ? utf8 : g_utf8_make_valid(text, (gssize)len);
}

/* One complete line, its CR/LF already removed. */
static void handle_line(pami_parser *p)
{
    gboolean converted;
    char *line = line_to_utf8(p, &converted);
    if (p->expect_banner) {
        p->expect_banner = FALSE;
        if (p->callbacks.banner != NULL) {
            p->callbacks.banner(line, p->callbacks.user_data);
        }
    } else if (p->legacy) {
        legacy_line(p, line);
    } else if (line[0] == '\0') {
        end_message(p);
    } else if (!add_header_line(p, line)) {
        p->stats.lines_without_colon++;
    }
    if (converted) {
        g_free(line);
    }
}

/* The line end was seen: strips the CR, applies the cut, handles the line. */
static void finish_line(pami_parser *p)
{
    if (p->line_len > 0 && p->line[p->line_len - 1] == '\r') {
        p->line_len--;
    }
    if (p->line_len > p->max_line) {
        p->line_len = p->max_line;
        p->line_cut = TRUE;
    }
    if (p->line_cut) {
        p->stats.lines_cut++;
        trim_split_utf8(p);
    }
    handle_line(p);
    p->line_len = 0;
    p->line_cut = FALSE;
}

/* Adds bytes of the current line, keeping at most max_line + 1 of them (one
 * more for the CR that may precede the LF). */
static void collect(pami_parser *p, const char *data, gsize len)
{
    if (p->line_cut) {
        return;
    }
    gsize room = p->max_line + 1 - p->line_len;
    if (len > room) {
        len = room;
        p->line_cut = TRUE;
    }
    memcpy(p->line + p->line_len, data, len);
    p->line_len += len;
}

void pami_parser_feed(pami_parser *p, const char *data, gsize len)
{
    g_return_if_fail(p != NULL && (data != NULL || len == 0));
    while (len > 0) {
        const char *lf = memchr(data, '\n', len);
        gsize chunk = lf != NULL ? (gsize)(lf - data) : len;
        collect(p, data, chunk);
        if (lf == NULL) {
            return;
        }
        finish_line(p);
        data += chunk + 1;
        len -= chunk + 1;
    }
}
