/*
 * csql-map.h - the field map: which result column of the query fills which
 * part of a contact, and how one row becomes a contact or a skipped row.
 *
 * The map is configured by column names (map_display_name = "fullname");
 * only the query's result says which columns exist, so a map is bound to a
 * result once per replication (csql_map_bind), which is where a named
 * column that the query does not return is found. A key left at its
 * default (the field's own name: "business", "email") maps the column
 * when the result has it and nothing when it does not, so a query that
 * names its columns after the contact shape needs no map at all.
 */
#ifndef CONTACTS_SQL_MAP_H
#define CONTACTS_SQL_MAP_H

#include <glib.h>
#include <ucd/contacts.h>

#include "csql-rows.h"

/* The single-value fields of a contact, in the order of csql_map_text_keys. */
typedef enum csql_text_field {
    CSQL_F_SOURCE_ID,
    CSQL_F_DISPLAY_NAME,
    CSQL_F_GIVEN_NAME,
    CSQL_F_SURNAME,
    CSQL_F_COMPANY,
    CSQL_F_DEPARTMENT,
    CSQL_F_EMAIL,
    CSQL_F_ADDRESS,
    CSQL_F_TEXT_COUNT
} csql_text_field;

#define CSQL_NUMBER_KINDS 5 /* business, mobile, home, fax, other */

/* The configuration keys of the map, for the plugin's key table.
 * (Formatted by hand: clang-format cannot lay out a table in a macro.) */
// clang-format off
#define CSQL_MAP_KEYS                                                                              \
    {"map_source_id", UCD_CONFIG_STRING, 0, "id", "column with the row's stable key (required)"}, \
    {"map_display_name", UCD_CONFIG_STRING, 0, "display_name", "column: display name"},          \
    {"map_given_name", UCD_CONFIG_STRING, 0, "given_name", "column: given name"},                \
    {"map_surname", UCD_CONFIG_STRING, 0, "surname", "column: surname"},                         \
    {"map_company", UCD_CONFIG_STRING, 0, "company", "column: company"},                         \
    {"map_department", UCD_CONFIG_STRING, 0, "department", "column: department"},                \
    {"map_email", UCD_CONFIG_STRING, 0, "email", "column: e-mail address"},                      \
    {"map_address", UCD_CONFIG_STRING, 0, "address", "column: postal address"},                  \
    {"map_business", UCD_CONFIG_LIST, 0, "business", "columns: business numbers"},               \
    {"map_mobile", UCD_CONFIG_LIST, 0, "mobile", "columns: mobile numbers"},                     \
    {"map_home", UCD_CONFIG_LIST, 0, "home", "columns: home numbers"},                           \
    {"map_fax", UCD_CONFIG_LIST, 0, "fax", "columns: fax numbers"},                              \
    {"map_other", UCD_CONFIG_LIST, 0, "other", "columns: other numbers"},                        \
    {"crm_link", UCD_CONFIG_STRING, 0, "", "URL template, {column} is the row's value, URL-escaped"}
// clang-format on

/* The map keys of the text fields, in csql_text_field order, and of the
 * number kinds, in csql_map_number_kinds order. */
extern const char *const csql_map_text_keys[CSQL_F_TEXT_COUNT];
extern const char *const csql_map_number_keys[CSQL_NUMBER_KINDS];
extern const ucd_contact_number_kind csql_map_number_kinds[CSQL_NUMBER_KINDS];

/* The map as configured. A column name of NULL maps nothing; `explicit_*`
 * is TRUE when the administrator named the column (it must then exist). */
typedef struct csql_map {
    char *text[CSQL_F_TEXT_COUNT];
    gboolean text_explicit[CSQL_F_TEXT_COUNT];
    char **numbers[CSQL_NUMBER_KINDS]; /* NULL-terminated column names */
    gboolean numbers_explicit[CSQL_NUMBER_KINDS];
    char *crm_link; /* NULL: none */
} csql_map;

void csql_map_clear(csql_map *map);

/* A map bound to one result. */
typedef struct csql_bound csql_bound;

/* Finds the map's columns in `rows` (names compared without case: databases
 * fold unquoted names differently). NULL with `*error` when a named column
 * (or one the crm_link template names, or the source id) is missing. */
csql_bound *csql_map_bind(const csql_map *map, csql_rows *rows, char **error);

/* What csql_bound_read made of the current row. */
typedef enum csql_row_result {
    CSQL_ROW_OK,      /* `contact` is filled, valid until the next call */
    CSQL_ROW_SKIPPED, /* `*problem` says why (a static or bound-owned text) */
} csql_row_result;

/* Turns the current row of the bound result into `*contact`. A row with no
 * source id, a value that is not UTF-8 or holds a NUL byte, or one longer
 * than the limit is skipped with a problem naming the column, never quoting
 * the value. */
csql_row_result csql_bound_read(csql_bound *bound, ucd_contact *contact, const char **problem);

void csql_bound_free(csql_bound *bound);

#endif /* CONTACTS_SQL_MAP_H */
