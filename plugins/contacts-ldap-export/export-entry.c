/*
 * export-entry.c - a contact as an inetOrgPerson (export-entry.h).
 *
 * What slapd accepts decides the details: telephone numbers are
 * PrintableString (no '#', '*' or letters with diacritics: such a form is
 * left out, never sent to be refused), mail is IA5String (an address with
 * non-ASCII letters is left out), every other text attribute is a
 * non-empty UTF-8 DirectoryString (surrounding white space trimmed), and a
 * person must have cn and sn (sn falls back to the name shown).
 */
#include "export-entry.h"

#include <stddef.h>
#include <string.h>

#include <ucd/contacts.h>
#include <ucd/ucd.h>

const char *const export_attr_names[EXPORT_ATTR_COUNT + 1] = {
    [EXPORT_CN] = "cn",
    [EXPORT_SN] = "sn",
    [EXPORT_GIVEN_NAME] = "givenName",
    [EXPORT_DISPLAY_NAME] = "displayName",
    [EXPORT_O] = "o",
    [EXPORT_OU] = "ou",
    [EXPORT_MAIL] = "mail",
    [EXPORT_POSTAL_ADDRESS] = "postalAddress",
    [EXPORT_LABELED_URI] = "labeledURI",
    [EXPORT_TELEPHONE] = "telephoneNumber",
    [EXPORT_MOBILE] = "mobile",
    [EXPORT_HOME_PHONE] = "homePhone",
    [EXPORT_FAX] = "facsimileTelephoneNumber",
    [EXPORT_ATTR_COUNT] = NULL,
};

/* An entry while it is built: each attribute's values apart. */
typedef struct entry_builder {
    char *uid;
    GPtrArray *values[EXPORT_ATTR_COUNT]; /* of char * */
} entry_builder;

static void add_value(entry_builder *entry, export_attr attr, const char *value)
{
    if (value == NULL)
        return;
    char *trimmed = g_strstrip(g_strdup(value));
    if (*trimmed == '\0') {
        g_free(trimmed);
        return;
    }
    g_ptr_array_add(entry->values[attr], trimmed);
}

static const char *first_value(const entry_builder *entry, export_attr attr)
{
    return entry->values[attr]->len > 0 ? g_ptr_array_index(entry->values[attr], 0) : NULL;
}

/* The builder as one allocation; frees the builder's parts. */
static export_entry *pack(entry_builder *b)
{
    gsize n_values = 0, bytes = strlen(b->uid) + 1;
    for (int a = 0; a < EXPORT_ATTR_COUNT; a++) {
        n_values += b->values[a]->len;
        for (guint i = 0; i < b->values[a]->len; i++)
            bytes += strlen(g_ptr_array_index(b->values[a], i)) + 1;
    }
    /* at most 32 numbers of three forms and nine text values: fits uint8_t */
    g_assert(n_values <= G_MAXUINT8);
    export_entry *e = g_malloc(sizeof *e + n_values * sizeof(char *) + bytes);
    char *text = (char *)&e->value[n_values];
    gsize at = 0;
    e->uid = text;
    text = g_stpcpy(text, b->uid) + 1;
    for (int a = 0; a < EXPORT_ATTR_COUNT; a++) {
        e->first[a] = (uint8_t)at;
        for (guint i = 0; i < b->values[a]->len; i++) {
            e->value[at++] = text;
            text = g_stpcpy(text, g_ptr_array_index(b->values[a], i)) + 1;
        }
        g_ptr_array_unref(b->values[a]);
    }
    e->first[EXPORT_ATTR_COUNT] = (uint8_t)at;
    g_free(b->uid);
    return e;
}

static gboolean is_ascii(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if (*p >= 0x80 || *p < 0x20)
            return FALSE;
    return TRUE;
}

/* RFC 4517 PrintableCharacter: what a telephoneNumber value may hold. */
static gboolean is_printable_string(const char *text)
{
    if (*text == '\0')
        return FALSE;
    for (const char *p = text; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p) && strchr("'()+,-./:? =", *p) == NULL)
            return FALSE;
    return TRUE;
}

/* What telephoneNumberMatch compares: the value without spaces and '-'. */
static char *match_key(const char *value)
{
    GString *key = g_string_new(NULL);
    for (const char *p = value; *p != '\0'; p++)
        if (*p != ' ' && *p != '-')
            g_string_append_c(key, *p);
    return g_string_free(key, FALSE);
}

static void add_form(GPtrArray *out, const char *form)
{
    if (form == NULL || !is_printable_string(form) || strpbrk(form, "0123456789") == NULL)
        return;
    char *key = match_key(form);
    gboolean known = FALSE;
    for (guint i = 0; i < out->len && !known; i++) {
        char *other = match_key(g_ptr_array_index(out, i));
        known = strcmp(other, key) == 0;
        g_free(other);
    }
    g_free(key);
    if (!known)
        g_ptr_array_add(out, g_strdup(form));
}

void export_number_forms(const export_numbers *numbers, const snapshot_number *number,
                         GPtrArray *out)
{
    if (number->e164 == NULL || number->e164[0] == '\0') {
        if (number->raw != NULL) {
            char *raw = g_strstrip(g_strdup(number->raw));
            add_form(out, raw);
            g_free(raw);
        }
        return;
    }
    add_form(out, number->e164);
    if (numbers == NULL || numbers->iface == NULL)
        return;
    ucd_number_info info = {.struct_size = sizeof info};
    const ucd_numbers_v1 *n = numbers->iface;
    /* normalize_rules: the forms below are the core's; a numbering plan
     * would only split area codes, which the matching rule ignores anyway */
    gboolean has_rules =
        n->struct_size >= offsetof(ucd_numbers_v1, normalize_rules) + sizeof n->normalize_rules &&
        n->normalize_rules != NULL;
    int rc = has_rules ? n->normalize_rules(numbers->impl, numbers->context, number->e164, &info)
                       : n->normalize(numbers->impl, numbers->context, number->e164, &info);
    if (rc != UCD_OK && rc != UCD_E_NOT_FOUND)
        return;
    add_form(out, info.national[0] != '\0' ? info.national : NULL);
    add_form(out, info.dialable[0] != '\0' ? info.dialable : NULL);
}

/* A stable id for a contact whose source gives none: its name and numbers. */
static char *content_id(const snapshot_contact *contact)
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA1);
    const char *fields[] = {contact->display_name, contact->given_name, contact->surname,
                            contact->company, contact->email};
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        const char *f = fields[i] != NULL ? fields[i] : "";
        g_checksum_update(sum, (const guchar *)f, (gssize)strlen(f) + 1);
    }
    for (guint i = 0; i < contact->n_numbers; i++) {
        const char *raw = contact->numbers[i].raw != NULL ? contact->numbers[i].raw : "";
        g_checksum_update(sum, (const guchar *)raw, (gssize)strlen(raw) + 1);
    }
    char *id = g_strndup(g_checksum_get_string(sum), 16);
    g_checksum_free(sum);
    return id;
}

static export_attr number_attr(uint32_t kind)
{
    switch (kind) {
    case UCD_CONTACT_NUMBER_MOBILE:
        return EXPORT_MOBILE;
    case UCD_CONTACT_NUMBER_HOME:
        return EXPORT_HOME_PHONE;
    case UCD_CONTACT_NUMBER_FAX:
        return EXPORT_FAX;
    default: /* business and other: where phones look */
        return EXPORT_TELEPHONE;
    }
}

export_entry *export_entry_new(const snapshot_contact *contact, const export_numbers *numbers)
{
    entry_builder b = {0};
    for (int a = 0; a < EXPORT_ATTR_COUNT; a++)
        b.values[a] = g_ptr_array_new_with_free_func(g_free);
    char *id = contact->source_id != NULL ? g_strdup(contact->source_id) : content_id(contact);
    b.uid = g_strdup_printf("%s-%s", contact->source, id);
    g_free(id);

    for (guint i = 0; i < contact->n_numbers; i++)
        export_number_forms(numbers, &contact->numbers[i],
                            b.values[number_attr(contact->numbers[i].kind)]);

    char *composed = contact->given_name != NULL || contact->surname != NULL
                         ? g_strstrip(g_strjoin(" ", contact->given_name ? contact->given_name : "",
                                                contact->surname ? contact->surname : "", NULL))
                         : NULL;
    const char *names[] = {contact->display_name,
                           composed,
                           contact->company,
                           first_value(&b, EXPORT_TELEPHONE),
                           first_value(&b, EXPORT_MOBILE),
                           b.uid};
    for (size_t i = 0; i < G_N_ELEMENTS(names) && b.values[EXPORT_CN]->len == 0; i++)
        add_value(&b, EXPORT_CN, names[i]);
    g_free(composed);
    add_value(&b, EXPORT_SN, contact->surname);
    if (b.values[EXPORT_SN]->len == 0)
        add_value(&b, EXPORT_SN, first_value(&b, EXPORT_CN));
    add_value(&b, EXPORT_GIVEN_NAME, contact->given_name);
    add_value(&b, EXPORT_DISPLAY_NAME, contact->display_name);
    add_value(&b, EXPORT_O, contact->company);
    add_value(&b, EXPORT_OU, contact->department);
    if (contact->email != NULL && is_ascii(contact->email) && strchr(contact->email, '@') != NULL)
        add_value(&b, EXPORT_MAIL, contact->email);
    char *postal = export_postal_address(contact->address);
    add_value(&b, EXPORT_POSTAL_ADDRESS, postal);
    g_free(postal);
    if (contact->crm_link != NULL && is_ascii(contact->crm_link))
        add_value(&b, EXPORT_LABELED_URI, contact->crm_link);
    return pack(&b);
}

void export_entry_free(export_entry *entry)
{
    g_free(entry);
}

char *export_dn_escape(const char *value)
{
    GString *out = g_string_new(NULL);
    size_t len = strlen(value);
    for (size_t i = 0; i < len; i++) {
        char c = value[i];
        if (strchr("\"+,;<>\\=", c) != NULL || (i == 0 && (c == ' ' || c == '#')) ||
            (i == len - 1 && c == ' '))
            g_string_append_c(out, '\\');
        g_string_append_c(out, c);
    }
    return g_string_free(out, FALSE);
}

char *export_entry_dn(const export_entry *entry, const char *base)
{
    char *value = export_dn_escape(entry->uid);
    char *dn = g_strdup_printf("uid=%s,%s", value, base);
    g_free(value);
    return dn;
}

char *export_postal_address(const char *text)
{
    if (text == NULL)
        return NULL;
    GString *out = g_string_new(NULL);
    char **lines = g_strsplit_set(text, "\r\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        g_strstrip(*line);
        if (**line == '\0')
            continue;
        if (out->len > 0)
            g_string_append_c(out, '$');
        for (const char *p = *line; *p != '\0'; p++) {
            if (*p == '\\')
                g_string_append(out, "\\5C");
            else if (*p == '$')
                g_string_append(out, "\\24");
            else
                g_string_append_c(out, *p);
        }
    }
    g_strfreev(lines);
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}
