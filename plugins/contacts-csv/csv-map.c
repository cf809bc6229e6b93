/*
 * csv-map.c - see the header. A row costs no allocation: the contact's
 * strings point into the row, and the few made here (a composed name, a
 * joined address, the CRM link, the id) are written into buffers the map
 * keeps from row to row. The crm_link template is plugins/common's
 * (contact-link.h), as in every source.
 */
#include "csv-map.h"

#include <string.h>

#include <glib.h>

#include "contact-link.h"

const char *const csv_field_keys[CSV_FIELD_COUNT] = {
    "map_source_id", "map_display_name", "map_given_name", "map_surname",
    "map_company",   "map_department",   "map_email",
};
const char *const csv_number_keys[CSV_NUMBER_KINDS] = {
    "map_other", "map_business", "map_mobile", "map_home", "map_fax",
};

typedef struct number_column {
    size_t column;
    uint32_t kind;
} number_column;

struct csv_map {
    size_t n_columns;
    size_t columns[CSV_FIELD_COUNT]; /* SIZE_MAX: not mapped */
    GArray *address;                 /* size_t */
    GArray *numbers;                 /* number_column */
    contact_link *crm;               /* NULL: no link */
    size_t *crm_columns;             /* the column of each of its placeholders */
    ucd_contact_number *contact_numbers;
    GString *display, *joined, *id;
};

static gboolean is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

char *csv_map_spec_check(const csv_map_spec *spec, const char **key)
{
    gboolean any = FALSE;
    for (int f = CSV_FIELD_DISPLAY_NAME; f < CSV_FIELD_COUNT; f++)
        any = any || is_set(spec->columns[f]);
    for (int k = 0; k < CSV_NUMBER_KINDS; k++)
        any = any || (spec->numbers[k] != NULL && spec->numbers[k][0] != NULL);
    if (!any) {
        *key = "map_display_name";
        return g_strdup("no map_* key names a column: map at least a name or a number "
                        "(map_display_name, map_business ...)");
    }
    if (!is_set(spec->crm_link))
        return NULL;
    const char *why = NULL;
    contact_link *link = contact_link_parse(spec->crm_link, &why);
    if (link != NULL) {
        contact_link_free(link);
        return NULL;
    }
    *key = "crm_link";
    return g_strdup(why);
}

/* The header's index of column `name`: exact first, then ignoring ASCII
 * case; SIZE_MAX when it has none. */
static size_t find_column(char *const *header, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(header[i], name) == 0)
            return i;
    }
    for (size_t i = 0; i < n; i++) {
        if (g_ascii_strcasecmp(header[i], name) == 0)
            return i;
    }
    return SIZE_MAX;
}

static gboolean resolve(char *const *header, size_t n, const char *name, const char *key,
                        size_t *column, char **error)
{
    *column = find_column(header, n, name);
    if (*column == SIZE_MAX) {
        *error = g_strdup_printf("the header has no column \"%s\" (%s)", name, key);
        return FALSE;
    }
    return TRUE;
}

csv_map *csv_map_new(const csv_map_spec *spec, char *const *header, size_t n, char **error)
{
    csv_map *m = g_new0(csv_map, 1);
    m->n_columns = n;
    m->address = g_array_new(FALSE, FALSE, sizeof(size_t));
    m->numbers = g_array_new(FALSE, FALSE, sizeof(number_column));
    m->display = g_string_new(NULL);
    m->joined = g_string_new(NULL);
    m->id = g_string_new(NULL);
    for (int f = 0; f < CSV_FIELD_COUNT; f++) {
        m->columns[f] = SIZE_MAX;
        if (is_set(spec->columns[f]) &&
            !resolve(header, n, spec->columns[f], csv_field_keys[f], &m->columns[f], error))
            goto fail;
    }
    for (size_t i = 0; spec->address != NULL && spec->address[i] != NULL; i++) {
        size_t column;
        if (!resolve(header, n, spec->address[i], "map_address", &column, error))
            goto fail;
        g_array_append_val(m->address, column);
    }
    for (uint32_t kind = 0; kind < CSV_NUMBER_KINDS; kind++) {
        for (size_t i = 0; spec->numbers[kind] != NULL && spec->numbers[kind][i] != NULL; i++) {
            number_column nc = {0, kind};
            if (!resolve(header, n, spec->numbers[kind][i], csv_number_keys[kind], &nc.column,
                         error))
                goto fail;
            g_array_append_val(m->numbers, nc);
        }
    }
    m->contact_numbers = g_new0(ucd_contact_number, m->numbers->len + 1);
    if (is_set(spec->crm_link)) {
        const char *why = NULL;
        m->crm = contact_link_parse(spec->crm_link, &why);
        if (m->crm == NULL) { /* csv_map_spec_check let it pass: cannot happen */
            *error = g_strdup_printf("crm_link %s", why);
            goto fail;
        }
        m->crm_columns = g_new0(size_t, contact_link_names(m->crm) + 1);
        for (size_t i = 0; i < contact_link_names(m->crm); i++) {
            if (!resolve(header, n, contact_link_name(m->crm, i), "crm_link", &m->crm_columns[i],
                         error))
                goto fail;
        }
    }
    return m;
fail:
    csv_map_free(m);
    return NULL;
}

void csv_map_free(csv_map *m)
{
    if (m == NULL)
        return;
    g_array_free(m->address, TRUE);
    g_array_free(m->numbers, TRUE);
    if (m->crm != NULL)
        contact_link_free(m->crm);
    g_free(m->crm_columns);
    g_free(m->contact_numbers);
    g_string_free(m->display, TRUE);
    g_string_free(m->joined, TRUE);
    g_string_free(m->id, TRUE);
    g_free(m);
}

size_t csv_map_columns(const csv_map *m)
{
    return m->n_columns;
}

/* The value of `column`, or NULL when unmapped or empty (contacts.h: NULL
 * when the source has no such field). */
static const char *value(char *const *fields, size_t column)
{
    if (column == SIZE_MAX || fields[column][0] == '\0')
        return NULL;
    return fields[column];
}

static const char *compose_name(csv_map *m, const ucd_contact *c)
{
    if (c->given_name == NULL && c->surname == NULL)
        return c->company;
    g_string_truncate(m->display, 0);
    if (c->given_name != NULL)
        g_string_append(m->display, c->given_name);
    if (c->given_name != NULL && c->surname != NULL)
        g_string_append_c(m->display, ' ');
    if (c->surname != NULL)
        g_string_append(m->display, c->surname);
    return m->display->str;
}

static const char *join_address(csv_map *m, char *const *fields)
{
    g_string_truncate(m->joined, 0);
    for (guint i = 0; i < m->address->len; i++) {
        const char *part = value(fields, g_array_index(m->address, size_t, i));
        if (part == NULL)
            continue;
        if (m->joined->len > 0)
            g_string_append(m->joined, ", ");
        g_string_append(m->joined, part);
    }
    return m->joined->len > 0 ? m->joined->str : NULL;
}

typedef struct link_row {
    const csv_map *map;
    char *const *fields;
} link_row;

static const char *link_value(size_t i, size_t *length, void *data)
{
    const link_row *row = data;
    const char *v = value(row->fields, row->map->crm_columns[i]);
    *length = v != NULL ? strlen(v) : 0;
    return v;
}

void csv_map_row(csv_map *m, char *const *fields, uint64_t row, ucd_contact *c)
{
    memset(c, 0, sizeof(*c));
    c->struct_size = sizeof(*c);
    c->source_id = value(fields, m->columns[CSV_FIELD_SOURCE_ID]);
    if (m->columns[CSV_FIELD_SOURCE_ID] == SIZE_MAX) {
        g_string_printf(m->id, "%" G_GUINT64_FORMAT, row);
        c->source_id = m->id->str;
    }
    c->display_name = value(fields, m->columns[CSV_FIELD_DISPLAY_NAME]);
    c->given_name = value(fields, m->columns[CSV_FIELD_GIVEN_NAME]);
    c->surname = value(fields, m->columns[CSV_FIELD_SURNAME]);
    c->company = value(fields, m->columns[CSV_FIELD_COMPANY]);
    c->department = value(fields, m->columns[CSV_FIELD_DEPARTMENT]);
    c->email = value(fields, m->columns[CSV_FIELD_EMAIL]);
    if (c->display_name == NULL)
        c->display_name = compose_name(m, c);
    c->address = join_address(m, fields);
    if (m->crm != NULL) {
        link_row row_data = {m, fields};
        c->crm_link = contact_link_fill(m->crm, link_value, &row_data);
    }
    uint32_t n = 0;
    for (guint i = 0; i < m->numbers->len; i++) {
        const number_column *nc = &g_array_index(m->numbers, number_column, i);
        const char *raw = value(fields, nc->column);
        if (raw == NULL)
            continue;
        m->contact_numbers[n].struct_size = sizeof(ucd_contact_number);
        m->contact_numbers[n].kind = nc->kind;
        m->contact_numbers[n].raw = raw;
        n++;
    }
    c->n_numbers = n;
    c->numbers = m->contact_numbers;
}
