/*
 * csql-map.c - binding the field map to a result and reading rows with it.
 *
 * Reading a row allocates nothing but the crm link: the contact's strings
 * point into the reader's row, which stays valid while the sink copies
 * the contact.
 */
#include <string.h>

#include "contact-link.h"
#include "csql-map.h"

const char *const csql_map_text_keys[CSQL_F_TEXT_COUNT] = {
    "map_source_id", "map_display_name", "map_given_name", "map_surname",
    "map_company",   "map_department",   "map_email",      "map_address",
};

const char *const csql_map_number_keys[CSQL_NUMBER_KINDS] = {
    "map_business", "map_mobile", "map_home", "map_fax", "map_other",
};

const ucd_contact_number_kind csql_map_number_kinds[CSQL_NUMBER_KINDS] = {
    UCD_CONTACT_NUMBER_BUSINESS, UCD_CONTACT_NUMBER_MOBILE, UCD_CONTACT_NUMBER_HOME,
    UCD_CONTACT_NUMBER_FAX,      UCD_CONTACT_NUMBER_OTHER,
};

typedef struct csql_number_column {
    int column;
    ucd_contact_number_kind kind;
    const char *name;
} csql_number_column;

struct csql_bound {
    csql_rows *rows;
    int text[CSQL_F_TEXT_COUNT]; /* column index, -1: not mapped */
    GArray *numbers;             /* csql_number_column */
    contact_link *link;          /* NULL: no crm link */
    int *link_columns;           /* the column of each of its names */
    ucd_contact_number *out_numbers;
    char *problem; /* the last row's problem */
};

void csql_map_clear(csql_map *map)
{
    for (int i = 0; i < CSQL_F_TEXT_COUNT; i++)
        g_clear_pointer(&map->text[i], g_free);
    for (int i = 0; i < CSQL_NUMBER_KINDS; i++)
        g_clear_pointer(&map->numbers[i], g_strfreev);
    g_clear_pointer(&map->crm_link, g_free);
}

/* ---- binding -------------------------------------------------------------------- */

static int csql_find_column(csql_rows *rows, const char *name, gsize length)
{
    for (int i = 0; i < csql_rows_columns(rows); i++) {
        const char *column = csql_rows_column_name(rows, i);
        if (column != NULL && strlen(column) == length &&
            g_ascii_strncasecmp(column, name, length) == 0)
            return i;
    }
    return -1;
}

static char *csql_missing(const char *key, const char *column)
{
    return g_strdup_printf("%s names the column \"%s\", which the query does not return", key,
                           column);
}

static gboolean csql_bind_numbers(const csql_map *map, csql_bound *bound, char **error)
{
    for (int kind = 0; kind < CSQL_NUMBER_KINDS; kind++) {
        for (char **name = map->numbers[kind]; name != NULL && *name != NULL; name++) {
            int col = csql_find_column(bound->rows, *name, strlen(*name));
            if (col < 0 && map->numbers_explicit[kind]) {
                *error = csql_missing(csql_map_number_keys[kind], *name);
                return FALSE;
            }
            if (col < 0)
                continue;
            csql_number_column number = {col, csql_map_number_kinds[kind], *name};
            g_array_append_val(bound->numbers, number);
        }
    }
    return TRUE;
}

csql_bound *csql_map_bind(const csql_map *map, csql_rows *rows, char **error)
{
    csql_bound *bound = g_new0(csql_bound, 1);
    bound->rows = rows;
    bound->numbers = g_array_new(FALSE, FALSE, sizeof(csql_number_column));
    for (int i = 0; i < CSQL_F_TEXT_COUNT; i++) {
        const char *name = map->text[i];
        bound->text[i] = name != NULL ? csql_find_column(rows, name, strlen(name)) : -1;
        if (bound->text[i] < 0 && name != NULL &&
            (map->text_explicit[i] || i == CSQL_F_SOURCE_ID)) {
            *error = csql_missing(csql_map_text_keys[i], name);
            csql_bound_free(bound);
            return NULL;
        }
    }
    if (!csql_bind_numbers(map, bound, error)) {
        csql_bound_free(bound);
        return NULL;
    }
    bound->out_numbers = g_new0(ucd_contact_number, MAX(bound->numbers->len, 1));
    if (map->crm_link != NULL) {
        const char *why = NULL;
        bound->link = contact_link_parse(map->crm_link, &why); /* checked at init */
        size_t n = contact_link_names(bound->link);
        bound->link_columns = g_new0(int, MAX(n, 1));
        for (size_t i = 0; i < n; i++) {
            const char *name = contact_link_name(bound->link, i);
            bound->link_columns[i] = csql_find_column(rows, name, strlen(name));
            if (bound->link_columns[i] < 0) {
                *error = csql_missing("crm_link", name);
                csql_bound_free(bound);
                return NULL;
            }
        }
    }
    return bound;
}

void csql_bound_free(csql_bound *bound)
{
    if (bound == NULL)
        return;
    g_array_unref(bound->numbers);
    contact_link_free(bound->link);
    g_free(bound->link_columns);
    g_free(bound->out_numbers);
    g_free(bound->problem);
    g_free(bound);
}

/* ---- reading a row -------------------------------------------------------------- */

/* The value of `col` as contact text: NULL for SQL NULL or an empty value;
 * FALSE (with bound->problem naming the column) when it is unusable. */
static gboolean csql_text(csql_bound *bound, int col, const char **out)
{
    *out = NULL;
    if (col < 0)
        return TRUE;
    gsize length = 0;
    gboolean too_long = FALSE;
    const char *value = csql_rows_value(bound->rows, col, &length, &too_long);
    const char *name = csql_rows_column_name(bound->rows, col);
    g_clear_pointer(&bound->problem, g_free);
    if (too_long)
        bound->problem = g_strdup_printf("column %s: value too long", name);
    else if (value != NULL && memchr(value, '\0', length) != NULL)
        bound->problem = g_strdup_printf("column %s: value holds a NUL byte", name);
    else if (value != NULL && !g_utf8_validate_len(value, length, NULL))
        bound->problem = g_strdup_printf("column %s: value is not UTF-8", name);
    if (bound->problem != NULL)
        return FALSE;
    *out = value != NULL && *value != '\0' ? value : NULL;
    return TRUE;
}

/* A link value: the text of its column, already checked by csql_text. */
static const char *csql_link_value(size_t i, size_t *length, void *data)
{
    csql_bound *bound = data;
    gboolean too_long = FALSE;
    return csql_rows_value(bound->rows, bound->link_columns[i], length, &too_long);
}

/* Every column the link names must be usable text, as every mapped one. */
static gboolean csql_fill_link(csql_bound *bound, const char **out)
{
    *out = NULL;
    if (bound->link == NULL)
        return TRUE;
    for (size_t i = 0; i < contact_link_names(bound->link); i++) {
        const char *value = NULL;
        if (!csql_text(bound, bound->link_columns[i], &value))
            return FALSE;
    }
    *out = contact_link_fill(bound->link, csql_link_value, bound);
    return TRUE;
}

csql_row_result csql_bound_read(csql_bound *bound, ucd_contact *contact, const char **problem)
{
    const char *text[CSQL_F_TEXT_COUNT] = {NULL};
    *problem = NULL;
    for (int i = 0; i < CSQL_F_TEXT_COUNT; i++) {
        if (!csql_text(bound, bound->text[i], &text[i])) {
            *problem = bound->problem;
            return CSQL_ROW_SKIPPED;
        }
    }
    if (text[CSQL_F_SOURCE_ID] == NULL) {
        g_free(bound->problem);
        bound->problem =
            g_strdup_printf("no id: column %s is NULL or empty",
                            csql_rows_column_name(bound->rows, bound->text[CSQL_F_SOURCE_ID]));
        *problem = bound->problem;
        return CSQL_ROW_SKIPPED;
    }
    uint32_t n = 0;
    for (guint i = 0; i < bound->numbers->len; i++) {
        const csql_number_column *column = &g_array_index(bound->numbers, csql_number_column, i);
        const char *raw = NULL;
        if (!csql_text(bound, column->column, &raw)) {
            *problem = bound->problem;
            return CSQL_ROW_SKIPPED;
        }
        if (raw == NULL || strspn(raw, " \t") == strlen(raw))
            continue;
        bound->out_numbers[n].struct_size = sizeof(ucd_contact_number);
        bound->out_numbers[n].kind = column->kind;
        bound->out_numbers[n].raw = raw;
        n++;
    }
    const char *link = NULL;
    if (!csql_fill_link(bound, &link)) {
        *problem = bound->problem;
        return CSQL_ROW_SKIPPED;
    }
    *contact = (ucd_contact){
        .struct_size = sizeof(ucd_contact),
        .n_numbers = n,
        .source_id = text[CSQL_F_SOURCE_ID],
        .display_name = text[CSQL_F_DISPLAY_NAME],
        .given_name = text[CSQL_F_GIVEN_NAME],
        .surname = text[CSQL_F_SURNAME],
        .company = text[CSQL_F_COMPANY],
        .department = text[CSQL_F_DEPARTMENT],
        .email = text[CSQL_F_EMAIL],
        .address = text[CSQL_F_ADDRESS],
        .crm_link = link,
        .numbers = n > 0 ? bound->out_numbers : NULL,
    };
    return CSQL_ROW_OK;
}
