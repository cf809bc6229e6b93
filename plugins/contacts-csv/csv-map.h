/*
 * csv-map.h - from a CSV row to contacts.h's one contact shape.
 *
 * The admin names columns by their header text (map_display_name = Name,
 * map_business = Phone;Phone 2). A spec is checked once at init (the
 * crm_link template's braces); a map is made per replication from the
 * file's header line, so a renamed or missing column is an error that names
 * it, and the store keeps its last good copy.
 */
#ifndef UCD_CSV_MAP_H
#define UCD_CSV_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <ucd/contacts.h>

/* The fields of the contact shape a single column fills. */
typedef enum csv_field {
    CSV_FIELD_SOURCE_ID,
    CSV_FIELD_DISPLAY_NAME,
    CSV_FIELD_GIVEN_NAME,
    CSV_FIELD_SURNAME,
    CSV_FIELD_COMPANY,
    CSV_FIELD_DEPARTMENT,
    CSV_FIELD_EMAIL,
    CSV_FIELD_COUNT,
} csv_field;

#define CSV_NUMBER_KINDS 5 /* ucd_contact_number_kind: other, business, mobile, home, fax */

/* What the configuration says; strings and lists are the caller's and must
 * outlive the spec's maps. NULL or "" for a field means not mapped. */
typedef struct csv_map_spec {
    const char *columns[CSV_FIELD_COUNT];
    const char *const *address;                   /* columns joined with ", "; may be NULL */
    const char *const *numbers[CSV_NUMBER_KINDS]; /* by ucd_contact_number_kind; may be NULL */
    const char *crm_link;                         /* "https://crm/c/{Id}"; may be NULL */
} csv_map_spec;

/* The config key that names each field, for messages: "map_display_name". */
extern const char *const csv_field_keys[CSV_FIELD_COUNT];
extern const char *const csv_number_keys[CSV_NUMBER_KINDS];

/* Checks `spec` without a file: NULL, or a message (free with g_free) and
 * `*key` the configuration key at fault (an unbalanced brace in crm_link,
 * nothing mapped at all). */
char *csv_map_spec_check(const csv_map_spec *spec, const char **key);

typedef struct csv_map csv_map;

/* The map of `spec` onto a header of `n` UTF-8 column names (matched
 * exactly, else ignoring ASCII case). NULL with `*error` (free with g_free)
 * naming the first column the header lacks and its key. */
csv_map *csv_map_new(const csv_map_spec *spec, char *const *header, size_t n, char **error);

void csv_map_free(csv_map *map);

/* The number of columns of the header (a row must have as many). */
size_t csv_map_columns(const csv_map *map);

/* Fills `*contact` from one row of csv_map_columns() UTF-8 fields. A row
 * without a source_id column gets `row` as its id; an empty display name
 * is made of the given name and surname, else the company. The contact's
 * strings point into `fields` and into `map`, valid until the next call. */
void csv_map_row(csv_map *map, char *const *fields, uint64_t row, ucd_contact *contact);

#endif /* UCD_CSV_MAP_H */
