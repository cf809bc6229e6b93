/*
 * vcard-contact.c - see the header. The kind of a number follows what
 * phones show first: a fax is a fax even when it is at work, a mobile is a
 * mobile even when the company pays for it.
 */
#include "vcard-contact.h"

#include <stdlib.h>
#include <string.h>

#include <ucd/plugin.h>

#include "vcard.h"

/* Keeps `text` (trimmed; NULL when empty) in `out`. */
static const char *keep(vcard_contact *out, char *text)
{
    if (text == NULL)
        return NULL;
    g_strstrip(text);
    if (text[0] == '\0') {
        g_free(text);
        return NULL;
    }
    g_ptr_array_add(out->strings, text);
    return text;
}

/* Lower comes first: TYPE=pref (vCard 3) is 1, PREF=N (vCard 4) is N,
 * neither 101 (RFC 6350's PREF goes from 1 to 100). */
static int pref_rank(const vcard_property *p)
{
    const char *pref = vcard_param(p, "PREF");
    if (pref != NULL) {
        int n = atoi(pref);
        return n >= 1 && n <= 100 ? n : 100;
    }
    return vcard_has_param(p, "TYPE", "pref") ? 1 : 101;
}

static uint32_t number_kind(const vcard_property *p)
{
    if (vcard_has_param(p, "TYPE", "fax"))
        return UCD_CONTACT_NUMBER_FAX;
    if (vcard_has_param(p, "TYPE", "cell") || vcard_has_param(p, "TYPE", "mobile") ||
        vcard_has_param(p, "TYPE", "iphone"))
        return UCD_CONTACT_NUMBER_MOBILE;
    if (vcard_has_param(p, "TYPE", "work"))
        return UCD_CONTACT_NUMBER_BUSINESS;
    if (vcard_has_param(p, "TYPE", "home"))
        return UCD_CONTACT_NUMBER_HOME;
    return UCD_CONTACT_NUMBER_OTHER;
}

/* A TEL's number as text: vCard 4's VALUE=uri form "tel:+49-89-1234;ext=5"
 * loses its scheme and parameters. */
static char *tel_text(const vcard_property *p)
{
    char *text = vcard_unescape(p->value);
    g_strstrip(text);
    if (g_ascii_strncasecmp(text, "tel:", 4) == 0) {
        char *semicolon = strchr(text, ';');
        if (semicolon != NULL)
            *semicolon = '\0';
        memmove(text, text + 4, strlen(text + 4) + 1);
    }
    return text;
}

typedef struct ranked_number {
    int rank;
    guint order;
    ucd_contact_number number;
} ranked_number;

static int by_rank(const void *a, const void *b)
{
    const ranked_number *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The component `i` of a structured value, or NULL. */
static char *component(const vcard_property *p, guint i)
{
    if (p == NULL)
        return NULL;
    char **parts = vcard_split(p->value, ';');
    char *part = i < g_strv_length(parts) ? g_strdup(parts[i]) : NULL;
    g_strfreev(parts);
    return part;
}

/* ADR's seven components (post office box, extended, street, locality,
 * region, postal code, country), the non-empty ones joined. */
static char *address_text(const vcard_property *p)
{
    char **parts = vcard_split(p->value, ';');
    GString *s = g_string_new(NULL);
    for (char **part = parts; *part != NULL; part++) {
        g_strstrip(*part);
        if ((*part)[0] == '\0')
            continue;
        if (s->len > 0)
            g_string_append(s, ", ");
        g_string_append(s, *part);
    }
    g_strfreev(parts);
    return g_string_free(s, FALSE);
}

/* The preferred property called `name`, else the first; NULL if none. */
static const vcard_property *best(const vcard *card, const char *name)
{
    const vcard_property *found = NULL;
    int found_rank = 1000;
    for (guint i = 0; i < card->properties->len; i++) {
        const vcard_property *p = card->properties->pdata[i];
        if (strcmp(p->name, name) == 0 && pref_rank(p) < found_rank) {
            found = p;
            found_rank = pref_rank(p);
        }
    }
    return found;
}

int vcard_contact_read(const char *text, gsize len, const char *href, vcard_contact *out,
                       char **problem)
{
    memset(out, 0, sizeof *out);
    out->strings = g_ptr_array_new_with_free_func(g_free);
    out->numbers = g_array_new(FALSE, FALSE, sizeof(ucd_contact_number));
    out->contact.struct_size = sizeof out->contact;
    vcard *card = vcard_parse(text, len, problem);
    if (card == NULL)
        return UCD_E_INVALID;

    ucd_contact *c = &out->contact;
    const vcard_property *fn = best(card, "FN"), *n = best(card, "N"), *org = best(card, "ORG");
    const vcard_property *uid = best(card, "UID"), *email = best(card, "EMAIL");
    const vcard_property *adr = best(card, "ADR");
    c->surname = keep(out, component(n, 0));
    c->given_name = keep(out, component(n, 1));
    c->display_name = fn != NULL ? keep(out, vcard_unescape(fn->value)) : NULL;
    if (c->display_name == NULL && (c->given_name != NULL || c->surname != NULL))
        c->display_name = keep(out, g_strjoin(" ", c->given_name ? c->given_name : "",
                                              c->surname ? c->surname : "", NULL));
    c->company = keep(out, component(org, 0));
    c->department = keep(out, component(org, 1));
    c->email = email != NULL ? keep(out, vcard_unescape(email->value)) : NULL;
    c->address = adr != NULL ? keep(out, address_text(adr)) : NULL;
    c->source_id = uid != NULL ? keep(out, vcard_unescape(uid->value)) : NULL;
    if (c->source_id == NULL)
        c->source_id = keep(out, g_strdup(href));

    GArray *ranked = g_array_new(FALSE, FALSE, sizeof(ranked_number));
    for (guint i = 0; i < card->properties->len; i++) {
        const vcard_property *p = card->properties->pdata[i];
        if (strcmp(p->name, "TEL") != 0)
            continue;
        const char *raw = keep(out, tel_text(p));
        if (raw == NULL)
            continue;
        ranked_number r = {
            pref_rank(p),
            i,
            {.struct_size = sizeof(ucd_contact_number), .kind = number_kind(p), .raw = raw}};
        g_array_append_val(ranked, r);
    }
    g_array_sort(ranked, by_rank);
    for (guint i = 0; i < ranked->len; i++)
        g_array_append_val(out->numbers, g_array_index(ranked, ranked_number, i).number);
    g_array_free(ranked, TRUE);
    c->numbers = (const ucd_contact_number *)(void *)out->numbers->data;
    c->n_numbers = out->numbers->len;
    vcard_free(card);

    if (c->display_name == NULL) {
        *problem = g_strdup("neither FN nor N names the contact");
        return UCD_E_INVALID;
    }
    return UCD_OK;
}

void vcard_contact_clear(vcard_contact *out)
{
    if (out->strings != NULL)
        g_ptr_array_free(out->strings, TRUE);
    if (out->numbers != NULL)
        g_array_free(out->numbers, TRUE);
    memset(out, 0, sizeof *out);
}
