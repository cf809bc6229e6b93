/*
 * contact-link.c - parsing and filling crm_link templates.
 */
#include <string.h>

#include <glib.h>

#include "contact-link.h"

/* A literal run of text, or (name set) a placeholder. */
typedef struct link_piece {
    char *text;
    gboolean is_name;
    size_t index; /* of the name, among the names */
} link_piece;

struct contact_link {
    GArray *pieces; /* link_piece */
    GPtrArray *names;
    GString *out;
};

static void link_piece_clear(gpointer data)
{
    g_free(((link_piece *)data)->text);
}

static void link_add(contact_link *link, GString *literal, const char *name, size_t length)
{
    if (literal->len > 0) {
        link_piece piece = {g_strndup(literal->str, literal->len), FALSE, 0};
        g_array_append_val(link->pieces, piece);
        g_string_truncate(literal, 0);
    }
    if (name != NULL) {
        link_piece piece = {g_strndup(name, length), TRUE, link->names->len};
        g_array_append_val(link->pieces, piece);
        g_ptr_array_add(link->names, piece.text);
    }
}

contact_link *contact_link_parse(const char *template, const char **why)
{
    contact_link *link = g_new0(contact_link, 1);
    link->pieces = g_array_new(FALSE, FALSE, sizeof(link_piece));
    g_array_set_clear_func(link->pieces, link_piece_clear);
    link->names = g_ptr_array_new();
    link->out = g_string_new(NULL);
    GString *literal = g_string_new(NULL);
    *why = NULL;
    for (const char *p = template; *p != '\0' && *why == NULL; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            g_string_append_c(literal, *p++);
        } else if (*p == '}') {
            *why = "a } without its {: write }} for a literal brace";
        } else if (*p == '{') {
            const char *end = strchr(p + 1, '}');
            const char *nested = strchr(p + 1, '{');
            if (end == NULL)
                *why = "a { without its }: write {{ for a literal brace";
            else if (end == p + 1)
                *why = "an empty {}: name a field in it";
            else if (nested != NULL && nested < end)
                *why = "a { inside {...}";
            else
                link_add(link, literal, p + 1, (size_t)(end - p - 1));
            p = end != NULL ? end : p;
        } else {
            g_string_append_c(literal, *p);
        }
    }
    link_add(link, literal, NULL, 0);
    g_string_free(literal, TRUE);
    if (*why != NULL) {
        contact_link_free(link);
        return NULL;
    }
    return link;
}

size_t contact_link_names(const contact_link *link)
{
    return link->names->len;
}

const char *contact_link_name(const contact_link *link, size_t i)
{
    return i < link->names->len ? link->names->pdata[i] : NULL;
}

const char *contact_link_fill(contact_link *link, contact_link_value_fn value, void *data)
{
    g_string_truncate(link->out, 0);
    for (guint i = 0; i < link->pieces->len; i++) {
        const link_piece *piece = &g_array_index(link->pieces, link_piece, i);
        if (!piece->is_name) {
            g_string_append(link->out, piece->text);
            continue;
        }
        size_t length = 0;
        const char *text = value(piece->index, &length, data);
        if (text == NULL || length == 0)
            return NULL;
        char *copy = g_strndup(text, length);
        g_string_append_uri_escaped(link->out, copy, NULL, FALSE);
        g_free(copy);
    }
    return link->out->str;
}

void contact_link_free(contact_link *link)
{
    if (link == NULL)
        return;
    g_array_unref(link->pieces);
    g_ptr_array_unref(link->names);
    g_string_free(link->out, TRUE);
    g_free(link);
}
