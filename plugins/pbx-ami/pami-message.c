/*
 * pami-message.c - one AMI message (see pami-message.h).
 *
 * A message is parsed ~200,000 times a second on a busy server, so each
 * header is one allocation holding "name\0value\0" and the headers sit in a
 * plain array; lookups are linear, which beats a hash table for the 10-25
 * headers an AMI event carries.
 */
#include "pami-message.h"

#include <string.h>

typedef struct pami_header {
    char *name;  /* start of the block; freed with it */
    char *value; /* inside the same block, after the name's NUL */
} pami_header;

struct pami_message {
    gint refs;
    GArray *headers; /* of pami_header, in arrival order */
};

static void header_clear(gpointer data)
{
    pami_header *h = data;
    g_free(h->name);
}

pami_message *pami_message_new(void)
{
    pami_message *m = g_new0(pami_message, 1);
    m->refs = 1;
    m->headers = g_array_sized_new(FALSE, FALSE, sizeof(pami_header), 16);
    g_array_set_clear_func(m->headers, header_clear);
    return m;
}

pami_message *pami_message_ref(pami_message *m)
{
    g_return_val_if_fail(m != NULL, NULL);
    g_atomic_int_inc(&m->refs);
    return m;
}

void pami_message_unref(pami_message *m)
{
    if (m == NULL || !g_atomic_int_dec_and_test(&m->refs)) {
        return;
    }
    g_array_unref(m->headers);
    g_free(m);
}

void pami_message_add(pami_message *m, const char *name, const char *value)
{
    g_return_if_fail(m != NULL && name != NULL && value != NULL);
    gsize name_len = strlen(name);
    gsize value_len = strlen(value);
    char *block = g_malloc(name_len + value_len + 2);
    memcpy(block, name, name_len + 1);
    memcpy(block + name_len + 1, value, value_len + 1);
    pami_header h = {.name = block, .value = block + name_len + 1};
    g_array_append_val(m->headers, h);
}

pami_kind pami_message_kind(const pami_message *m)
{
    g_return_val_if_fail(m != NULL, PAMI_KIND_OTHER);
    if (m->headers->len == 0) {
        return PAMI_KIND_OTHER;
    }
    const char *first = g_array_index(m->headers, pami_header, 0).name;
    if (g_ascii_strcasecmp(first, "Response") == 0) {
        return PAMI_KIND_RESPONSE;
    }
    if (g_ascii_strcasecmp(first, "Event") == 0) {
        return PAMI_KIND_EVENT;
    }
    if (g_ascii_strcasecmp(first, "Action") == 0) {
        return PAMI_KIND_ACTION;
    }
    return PAMI_KIND_OTHER;
}

const char *pami_message_get(const pami_message *m, const char *name)
{
    g_return_val_if_fail(m != NULL && name != NULL, NULL);
    for (guint i = 0; i < m->headers->len; i++) {
        const pami_header *h = &g_array_index(m->headers, pami_header, i);
        if (g_ascii_strcasecmp(h->name, name) == 0) {
            return h->value;
        }
    }
    return NULL;
}

const char *pami_message_get_known(const pami_message *m, const char *name)
{
    const char *value = pami_message_get(m, name);
    if (value == NULL || value[0] == '\0' || strcmp(value, "<unknown>") == 0 ||
        strcmp(value, "<none>") == 0) {
        return NULL;
    }
    return value;
}

guint pami_message_count(const pami_message *m)
{
    g_return_val_if_fail(m != NULL, 0);
    return m->headers->len;
}

const char *pami_message_name_at(const pami_message *m, guint i)
{
    g_return_val_if_fail(m != NULL && i < m->headers->len, NULL);
    return g_array_index(m->headers, pami_header, i).name;
}

const char *pami_message_value_at(const pami_message *m, guint i)
{
    g_return_val_if_fail(m != NULL && i < m->headers->len, NULL);
    return g_array_index(m->headers, pami_header, i).value;
}

const char *pami_message_event(const pami_message *m)
{
    return pami_message_get(m, "Event");
}

const char *pami_message_response(const pami_message *m)
{
    return pami_message_get(m, "Response");
}

const char *pami_message_action_id(const pami_message *m)
{
    return pami_message_get(m, "ActionID");
}

/* Appends `text` with every CR and LF turned into a space: what comes from
 * outside (a caller name, a dialled number) must not end a line early. */
static void append_one_line(GString *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        g_string_append_c(out, (*p == '\r' || *p == '\n') ? ' ' : *p);
    }
}

char *pami_message_to_wire(const pami_message *m)
{
    g_return_val_if_fail(m != NULL, NULL);
    GString *out = g_string_sized_new(64 + 32 * m->headers->len);
    for (guint i = 0; i < m->headers->len; i++) {
        const pami_header *h = &g_array_index(m->headers, pami_header, i);
        append_one_line(out, h->name);
        g_string_append(out, ": ");
        append_one_line(out, h->value);
        g_string_append(out, "\r\n");
    }
    g_string_append(out, "\r\n");
    return g_string_free(out, FALSE);
}
