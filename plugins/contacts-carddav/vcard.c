/*
 * vcard.c - see the header. The card is unfolded into logical lines first
 * (one copy of the text), then each line is cut into name, parameters and
 * value; values keep their escapes until the caller asks for a component,
 * because where ';' separates depends on the property (N, ORG and ADR are
 * structured, FN and NOTE are not).
 */
#include "vcard.h"

#include <string.h>

static void property_free(gpointer data)
{
    vcard_property *p = data;
    g_free(p->name);
    g_strfreev(p->params);
    g_free(p->value);
    g_free(p);
}

void vcard_free(vcard *card)
{
    if (card == NULL)
        return;
    g_ptr_array_free(card->properties, TRUE);
    g_free(card);
}

/* RFC 6868: ^n is a line end, ^' a DQUOTE, ^^ a caret; any other ^ stays. */
static char *param_value(const char *start, gsize len)
{
    GString *s = g_string_sized_new(len);
    for (gsize i = 0; i < len; i++) {
        if (start[i] == '^' && i + 1 < len &&
            (start[i + 1] == 'n' || start[i + 1] == '\'' || start[i + 1] == '^')) {
            i++;
            g_string_append_c(s, start[i] == 'n' ? '\n' : start[i] == '\'' ? '"' : '^');
        } else
            g_string_append_c(s, start[i]);
    }
    return g_string_free(s, FALSE);
}

/* vCard 2.1 writes parameter values without their names: TEL;WORK;VOICE
 * and PHOTO;BASE64. */
static const char *bare_param_name(const char *value)
{
    static const char *const encodings[] = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"};
    for (gsize i = 0; i < G_N_ELEMENTS(encodings); i++)
        if (g_ascii_strcasecmp(value, encodings[i]) == 0)
            return "ENCODING";
    return "TYPE";
}

/* One logical line into `out`; FALSE with `*problem` when it has no ':'. */
static gboolean parse_line(const char *line, vcard_property *out, char **problem)
{
    const char *p = line;
    while (*p != '\0' && *p != ';' && *p != ':')
        p++;
    if (*p == '\0') {
        *problem = g_strdup_printf("a line without ':' (\"%.40s\")", line);
        return FALSE;
    }
    char *name = g_ascii_strup(line, p - line);
    char *dot = strrchr(name, '.');
    out->name = g_strdup(dot != NULL ? dot + 1 : name);
    g_free(name);
    GPtrArray *params = g_ptr_array_new();
    while (*p == ';') {
        p++;
        const char *pname = p;
        while (*p != '\0' && *p != '=' && *p != ';' && *p != ':')
            p++;
        char *upper = g_ascii_strup(pname, p - pname);
        if (*p != '=') {
            if (upper[0] != '\0') {
                g_ptr_array_add(params, g_strdup(bare_param_name(upper)));
                g_ptr_array_add(params, upper);
            } else
                g_free(upper);
            continue;
        }
        p++; /* '=' */
        for (;;) {
            const char *start = p;
            gsize len;
            if (*p == '"') {
                start = ++p;
                while (*p != '\0' && *p != '"')
                    p++;
                len = p - start;
                if (*p == '"')
                    p++;
            } else {
                while (*p != '\0' && *p != ',' && *p != ';' && *p != ':')
                    p++;
                len = p - start;
            }
            g_ptr_array_add(params, g_strdup(upper));
            g_ptr_array_add(params, param_value(start, len));
            if (*p != ',')
                break;
            p++;
        }
        g_free(upper);
    }
    g_ptr_array_add(params, NULL);
    out->params = (char **)g_ptr_array_free(params, FALSE);
    if (*p != ':') {
        *problem = g_strdup_printf("%s: a line without ':' after its parameters", out->name);
        return FALSE;
    }
    out->value = g_strdup(p + 1);
    return TRUE;
}

/* The logical lines of `text`: folded lines joined, blank lines left out. */
static GPtrArray *unfold(const char *text, gsize len)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    GString *line = NULL;
    gsize i = 0;
    while (i < len) {
        gsize end = i;
        while (end < len && text[end] != '\n')
            end++;
        gsize stop = end > i && text[end - 1] == '\r' ? end - 1 : end;
        if ((text[i] == ' ' || text[i] == '\t') && line != NULL)
            g_string_append_len(line, text + i + 1, stop - i - 1);
        else if (stop > i) {
            if (line != NULL)
                g_ptr_array_add(lines, g_string_free(line, FALSE));
            line = g_string_new_len(text + i, stop - i);
        }
        i = end + 1;
    }
    if (line != NULL)
        g_ptr_array_add(lines, g_string_free(line, FALSE));
    return lines;
}

/* `line` is `what` (case-insensitive), give or take trailing blanks. */
static gboolean is_line(const char *line, const char *what)
{
    gsize n = strlen(what);
    if (g_ascii_strncasecmp(line, what, n) != 0)
        return FALSE;
    for (line += n; *line == ' ' || *line == '\t'; line++) {
    }
    return *line == '\0';
}

/* vCard 2.1's encodings change what the value's bytes mean; RFC 6350 has
 * neither (UTF-8 only, base64 only as ENCODING=b for binary values). */
static char *unsupported(const vcard_property *p)
{
    const char *charset = vcard_param(p, "CHARSET");
    if (vcard_has_param(p, "ENCODING", "QUOTED-PRINTABLE"))
        return g_strdup_printf("%s is vCard 2.1 QUOTED-PRINTABLE, which is not supported "
                               "(export the card as vCard 3.0 or 4.0)",
                               p->name);
    if (charset != NULL && g_ascii_strcasecmp(charset, "UTF-8") != 0)
        return g_strdup_printf("%s is in CHARSET=%s; only UTF-8 is supported", p->name, charset);
    return NULL;
}

vcard *vcard_parse(const char *text, gsize len, char **problem)
{
    *problem = NULL;
    const char *bad = NULL;
    if (memchr(text, '\0', len) != NULL) {
        *problem = g_strdup("a NUL byte in the card");
        return NULL;
    }
    if (!g_utf8_validate_len(text, len, &bad)) {
        *problem = g_strdup_printf("not UTF-8 (an invalid byte 0x%02x at offset %zu)",
                                   (unsigned char)*bad, (size_t)(bad - text));
        return NULL;
    }
    GPtrArray *lines = unfold(text, len);
    vcard *card = g_new0(vcard, 1);
    card->properties = g_ptr_array_new_with_free_func(property_free);
    guint n = lines->len;
    if (n < 2 || !is_line(lines->pdata[0], "BEGIN:VCARD"))
        *problem = g_strdup("no BEGIN:VCARD at the start");
    else if (n > VCARD_MAX_PROPERTIES)
        *problem = g_strdup_printf("more than %d lines", VCARD_MAX_PROPERTIES);
    for (guint i = 1; i < n && *problem == NULL; i++) {
        const char *line = lines->pdata[i];
        if (is_line(line, "END:VCARD")) {
            if (i + 1 < n)
                *problem = g_strdup(is_line(lines->pdata[i + 1], "BEGIN:VCARD")
                                        ? "more than one vCard in one resource"
                                        : "text after END:VCARD");
            break;
        }
        if (is_line(line, "BEGIN:VCARD")) {
            *problem = g_strdup("a vCard inside a vCard");
            break;
        }
        if (i + 1 == n) {
            *problem = g_strdup("no END:VCARD (the card is cut off)");
            break;
        }
        vcard_property *p = g_new0(vcard_property, 1);
        g_ptr_array_add(card->properties, p);
        if (parse_line(line, p, problem))
            *problem = unsupported(p);
    }
    g_ptr_array_free(lines, TRUE);
    if (*problem != NULL) {
        vcard_free(card);
        return NULL;
    }
    return card;
}

const char *vcard_param(const vcard_property *property, const char *name)
{
    for (char **p = property->params; p != NULL && p[0] != NULL; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

int vcard_has_param(const vcard_property *property, const char *name, const char *value)
{
    for (char **p = property->params; p != NULL && p[0] != NULL; p += 2) {
        if (strcmp(p[0], name) != 0)
            continue;
        /* TYPE="work,voice" (vCard 4 quotes the list) */
        char **items = g_strsplit(p[1], ",", -1);
        gboolean found = FALSE;
        for (char **item = items; *item != NULL && !found; item++)
            found = g_ascii_strcasecmp(g_strstrip(*item), value) == 0;
        g_strfreev(items);
        if (found)
            return 1;
    }
    return 0;
}

char **vcard_split(const char *value, char separator)
{
    GPtrArray *parts = g_ptr_array_new();
    GString *part = g_string_new(NULL);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            g_string_append_c(part, *p == 'n' || *p == 'N' ? '\n' : *p);
        } else if (separator != 0 && *p == separator) {
            g_ptr_array_add(parts, g_string_free(part, FALSE));
            part = g_string_new(NULL);
        } else
            g_string_append_c(part, *p);
    }
    g_ptr_array_add(parts, g_string_free(part, FALSE));
    g_ptr_array_add(parts, NULL);
    return (char **)g_ptr_array_free(parts, FALSE);
}

char *vcard_unescape(const char *value)
{
    char **parts = vcard_split(value, 0);
    char *text = parts[0];
    parts[0] = NULL;
    g_strfreev(parts);
    return text;
}
