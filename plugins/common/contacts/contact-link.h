/*
 * contact-link.h - the crm_link template of a contact source: a URL with
 * {name} placeholders, filled per record with the record's values, each
 * percent-encoded ("https://crm.example.com/c/{id}?n={name}" ->
 * ".../c/4711?n=J%C3%B6rg%20M%C3%BCller"). The names are whatever the
 * source calls its fields (result columns, LDAP attributes); "{{" and "}}"
 * are literal braces. A record in which a named value is missing or empty
 * gets no link: a link to nothing is no link.
 */
#ifndef UCD_CONTACT_LINK_H
#define UCD_CONTACT_LINK_H

#include <stddef.h>

typedef struct contact_link contact_link;

/* Parses `template`. NULL with `*why` set to a static text when it is
 * malformed: a { without its }, a } without its {, an empty {}, a { inside
 * {...}. */
contact_link *contact_link_parse(const char *template, const char **why);

/* The number of {name} placeholders, and the name of the `i`-th (0-based,
 * in the order they appear). For a source to resolve names once (a column
 * index) or to check them against what the source has. */
size_t contact_link_names(const contact_link *link);
const char *contact_link_name(const contact_link *link, size_t i);

/* The value of placeholder `i` for the current record, or NULL when the
 * record has none; `length` gets its byte count. */
typedef const char *(*contact_link_value_fn)(size_t i, size_t *length, void *data);

/* Fills the template for one record. Returns the link (owned by `link`,
 * valid until the next call), or NULL when a value is missing or empty.
 * Not thread-safe: one record at a time per parsed template. */
const char *contact_link_fill(contact_link *link, contact_link_value_fn value, void *data);

void contact_link_free(contact_link *link);

#endif /* UCD_CONTACT_LINK_H */
