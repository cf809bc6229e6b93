/*
 * cldap-map.c - reading entries with the attribute map.
 *
 * The values of one entry are copied into a string chunk that is emptied
 * at the next entry: the contact handed to the sink points into it.
 */
#include <string.h>

#include "cldap-map.h"
#include "contact-link.h"

const char *const cldap_map_text_keys[CLDAP_F_TEXT_COUNT] = {
    "map_source_id", "map_display_name", "map_given_name", "map_surname",
    "map_company",   "map_department",   "map_email",      "map_address",
};

const char *const cldap_map_number_keys[CLDAP_NUMBER_KINDS] = {
    "map_business", "map_mobile", "map_home", "map_fax", "map_other",
};

static const ucd_contact_number_kind cldap_number_kinds[CLDAP_NUMBER_KINDS] = {
    UCD_CONTACT_NUMBER_BUSINESS, UCD_CONTACT_NUMBER_MOBILE, UCD_CONTACT_NUMBER_HOME,
    UCD_CONTACT_NUMBER_FAX,      UCD_CONTACT_NUMBER_OTHER,
};

struct cldap_map {
    char **text[CLDAP_F_TEXT_COUNT];
    char **numbers[CLDAP_NUMBER_KINDS];
    contact_link *link;
    gsize max_value;
    char **attributes; /* what the search asks for */
    /* The current entry. */
    GStringChunk *values;
    GArray *out_numbers; /* ucd_contact_number */
    char *dn;
    char *problem;
    const char *link_values[64]; /* of the link's names, for contact_link_fill */
};

static void cldap_add_attribute(GPtrArray *all, const char *name)
{
    for (guint i = 0; i < all->len; i++)
        if (g_ascii_strcasecmp(all->pdata[i], name) == 0)
            return;
    g_ptr_array_add(all, g_strdup(name));
}

cldap_map *cldap_map_new(char **text[CLDAP_F_TEXT_COUNT], char **numbers[CLDAP_NUMBER_KINDS],
                         const char *crm_link, gsize max_value)
{
    cldap_map *map = g_new0(cldap_map, 1);
    GPtrArray *all = g_ptr_array_new();
    for (int i = 0; i < CLDAP_F_TEXT_COUNT; i++) {
        map->text[i] = g_strdupv(text[i]);
        for (char **name = map->text[i]; name != NULL && *name != NULL; name++)
            cldap_add_attribute(all, *name);
    }
    for (int k = 0; k < CLDAP_NUMBER_KINDS; k++) {
        map->numbers[k] = g_strdupv(numbers[k]);
        for (char **name = map->numbers[k]; name != NULL && *name != NULL; name++)
            cldap_add_attribute(all, *name);
    }
    if (crm_link != NULL) {
        const char *why = NULL;
        map->link = contact_link_parse(crm_link, &why);
        for (size_t i = 0; map->link != NULL && i < contact_link_names(map->link); i++)
            if (g_ascii_strcasecmp(contact_link_name(map->link, i), "dn") != 0)
                cldap_add_attribute(all, contact_link_name(map->link, i));
    }
    g_ptr_array_add(all, NULL);
    map->attributes = (char **)g_ptr_array_free(all, FALSE);
    map->max_value = max_value;
    map->values = g_string_chunk_new(4096);
    map->out_numbers = g_array_new(FALSE, TRUE, sizeof(ucd_contact_number));
    return map;
}

void cldap_map_free(cldap_map *map)
{
    if (map == NULL)
        return;
    for (int i = 0; i < CLDAP_F_TEXT_COUNT; i++)
        g_strfreev(map->text[i]);
    for (int k = 0; k < CLDAP_NUMBER_KINDS; k++)
        g_strfreev(map->numbers[k]);
    contact_link_free(map->link);
    g_strfreev(map->attributes);
    g_string_chunk_free(map->values);
    g_array_unref(map->out_numbers);
    g_free(map->dn);
    g_free(map->problem);
    g_free(map);
}

char **cldap_map_attributes(cldap_map *map)
{
    return map->attributes;
}

/* ---- one entry ------------------------------------------------------------------ */

/* Sets the entry's problem (takes `problem`); FALSE for the caller to return. */
static gboolean cldap_fail(cldap_map *map, char *problem)
{
    g_free(map->problem);
    map->problem = problem;
    return FALSE;
}

/* RFC 4517's postal address: lines separated by '$', "\24" for a '$' and
 * "\5C" for a '\' in a line. */
static gboolean cldap_is_postal(const char *attribute)
{
    return g_ascii_strcasecmp(attribute, "postalAddress") == 0 ||
           g_ascii_strcasecmp(attribute, "homePostalAddress") == 0 ||
           g_ascii_strcasecmp(attribute, "registeredAddress") == 0;
}

static const char *cldap_postal_lines(cldap_map *map, const char *value)
{
    GString *out = g_string_new(NULL);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '$')
            g_string_append_c(out, '\n');
        else if (g_ascii_strncasecmp(p, "\\24", 3) == 0 && (p += 2))
            g_string_append_c(out, '$');
        else if (g_ascii_strncasecmp(p, "\\5C", 3) == 0 && (p += 2))
            g_string_append_c(out, '\\');
        else
            g_string_append_c(out, *p);
    }
    const char *lines = g_string_chunk_insert(map->values, out->str);
    g_string_free(out, TRUE);
    return lines;
}

/* Checks one value and copies it into the entry's chunk: `*out` NULL for
 * an empty value. FALSE (the problem set) when it is unusable. */
static gboolean cldap_value(cldap_map *map, const char *attribute, const struct berval *value,
                            const char **out)
{
    *out = NULL;
    if (value->bv_len > map->max_value)
        return cldap_fail(map, g_strdup_printf("attribute %s: value too long", attribute));
    if (memchr(value->bv_val, '\0', value->bv_len) != NULL)
        return cldap_fail(map, g_strdup_printf("attribute %s: value holds a NUL byte", attribute));
    if (!g_utf8_validate_len(value->bv_val, value->bv_len, NULL))
        return cldap_fail(map,
                          g_strdup_printf("attribute %s: value is not UTF-8 (binary)", attribute));
    if (value->bv_len > 0)
        *out = g_string_chunk_insert_len(map->values, value->bv_val, (gssize)value->bv_len);
    return TRUE;
}

/* The first value of the first of `attributes` the entry has (`*out` NULL
 * when none has one). */
static gboolean cldap_first(cldap_map *map, LDAP *ld, LDAPMessage *entry, char **attributes,
                            const char **out)
{
    *out = NULL;
    for (char **name = attributes; name != NULL && *name != NULL && *out == NULL; name++) {
        struct berval **values = ldap_get_values_len(ld, entry, *name);
        gboolean ok =
            values == NULL || values[0] == NULL || cldap_value(map, *name, values[0], out);
        ldap_value_free_len(values);
        if (!ok)
            return FALSE;
        if (*out != NULL && cldap_is_postal(*name))
            *out = cldap_postal_lines(map, *out);
    }
    return TRUE;
}

/* The source id: the DN, or the first value of the configured attribute;
 * a binary one (objectGUID) in base64, as LDIF writes it. */
static gboolean cldap_source_id(cldap_map *map, LDAP *ld, LDAPMessage *entry, const char **out)
{
    *out = map->dn;
    char **names = map->text[CLDAP_F_SOURCE_ID];
    if (names == NULL || names[0] == NULL)
        return TRUE;
    *out = NULL;
    for (char **name = names; *name != NULL && *out == NULL; name++) {
        struct berval **values = ldap_get_values_len(ld, entry, *name);
        if (values != NULL && values[0] != NULL && values[0]->bv_len > 0) {
            const struct berval *v = values[0];
            if (g_utf8_validate_len(v->bv_val, v->bv_len, NULL) &&
                !memchr(v->bv_val, 0, v->bv_len)) {
                *out = g_string_chunk_insert_len(map->values, v->bv_val, (gssize)v->bv_len);
            } else {
                char *encoded = g_base64_encode((const guchar *)v->bv_val, v->bv_len);
                *out = g_string_chunk_insert(map->values, encoded);
                g_free(encoded);
            }
        }
        ldap_value_free_len(values);
    }
    if (*out == NULL)
        return cldap_fail(map, g_strdup_printf("no id: attribute %s missing", names[0]));
    return TRUE;
}

static gboolean cldap_numbers(cldap_map *map, LDAP *ld, LDAPMessage *entry)
{
    g_array_set_size(map->out_numbers, 0);
    for (int k = 0; k < CLDAP_NUMBER_KINDS; k++) {
        for (char **name = map->numbers[k]; name != NULL && *name != NULL; name++) {
            struct berval **values = ldap_get_values_len(ld, entry, *name);
            gboolean ok = TRUE;
            for (int i = 0; ok && values != NULL && values[i] != NULL; i++) {
                const char *raw = NULL;
                ok = cldap_value(map, *name, values[i], &raw);
                if (!ok || raw == NULL || strspn(raw, " \t") == strlen(raw))
                    continue;
                ucd_contact_number number = {sizeof(ucd_contact_number), cldap_number_kinds[k],
                                             raw};
                g_array_append_val(map->out_numbers, number);
            }
            ldap_value_free_len(values);
            if (!ok)
                return FALSE;
        }
    }
    return TRUE;
}

static const char *cldap_link_value(size_t i, size_t *length, void *data)
{
    cldap_map *map = data;
    const char *value = i < G_N_ELEMENTS(map->link_values) ? map->link_values[i] : NULL;
    *length = value != NULL ? strlen(value) : 0;
    return value;
}

static gboolean cldap_link(cldap_map *map, LDAP *ld, LDAPMessage *entry, const char **out)
{
    *out = NULL;
    if (map->link == NULL)
        return TRUE;
    for (size_t i = 0; i < contact_link_names(map->link) && i < G_N_ELEMENTS(map->link_values);
         i++) {
        const char *name = contact_link_name(map->link, i);
        char *one[] = {(char *)name, NULL};
        if (g_ascii_strcasecmp(name, "dn") == 0)
            map->link_values[i] = map->dn;
        else if (!cldap_first(map, ld, entry, one, &map->link_values[i]))
            return FALSE;
    }
    *out = contact_link_fill(map->link, cldap_link_value, map);
    return TRUE;
}

gboolean cldap_map_read(cldap_map *map, LDAP *ld, LDAPMessage *entry, ucd_contact *contact,
                        const char **dn, const char **problem)
{
    g_string_chunk_clear(map->values);
    g_free(map->dn);
    char *ldap_dn = ldap_get_dn(ld, entry);
    map->dn = g_strdup(ldap_dn != NULL ? ldap_dn : "(no DN)");
    ldap_memfree(ldap_dn);
    *dn = map->dn;
    *problem = NULL;
    const char *text[CLDAP_F_TEXT_COUNT] = {NULL};
    gboolean ok = cldap_source_id(map, ld, entry, &text[CLDAP_F_SOURCE_ID]);
    for (int i = CLDAP_F_DISPLAY_NAME; ok && i < CLDAP_F_TEXT_COUNT; i++)
        ok = cldap_first(map, ld, entry, map->text[i], &text[i]);
    if (ok && text[CLDAP_F_DISPLAY_NAME] == NULL && text[CLDAP_F_GIVEN_NAME] == NULL &&
        text[CLDAP_F_SURNAME] == NULL && text[CLDAP_F_COMPANY] == NULL)
        ok = cldap_fail(map, g_strdup("no name: none of the attributes of map_display_name, "
                                      "map_given_name, map_surname and map_company is set"));
    ok = ok && cldap_numbers(map, ld, entry);
    const char *link = NULL;
    ok = ok && cldap_link(map, ld, entry, &link);
    if (!ok) {
        *problem = map->problem;
        return FALSE;
    }
    *contact = (ucd_contact){
        .struct_size = sizeof(ucd_contact),
        .n_numbers = map->out_numbers->len,
        .source_id = text[CLDAP_F_SOURCE_ID],
        .display_name = text[CLDAP_F_DISPLAY_NAME],
        .given_name = text[CLDAP_F_GIVEN_NAME],
        .surname = text[CLDAP_F_SURNAME],
        .company = text[CLDAP_F_COMPANY],
        .department = text[CLDAP_F_DEPARTMENT],
        .email = text[CLDAP_F_EMAIL],
        .address = text[CLDAP_F_ADDRESS],
        .crm_link = link,
        .numbers =
            map->out_numbers->len > 0 ? (ucd_contact_number *)(void *)map->out_numbers->data : NULL,
    };
    return TRUE;
}
