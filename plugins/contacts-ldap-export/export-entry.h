/*
 * export-entry.h - one contact of the store as the LDAP entry phones and
 * mail clients read: an inetOrgPerson named uid=SOURCE-SOURCEID under the
 * exporter's base, each number in every form a phone searches by.
 *
 * A phone asks (telephoneNumber=WHAT THE CALLER ID SAID), and the server
 * compares with telephoneNumberMatch, which ignores spaces and hyphens and
 * nothing else: "+49891234567" does not match "089 1234567". So a number is
 * written in each form a phone may have: E.164 (+49891234567), national
 * (089 1234567, which also matches 0891234567 and 089-1234567) and as
 * dialled from the PBX (00891234567 with outside line 0), each once by the
 * matching rule's idea of equal (two values it thinks equal are refused).
 */
#ifndef CONTACTS_LDAP_EXPORT_EXPORT_ENTRY_H
#define CONTACTS_LDAP_EXPORT_EXPORT_ENTRY_H

#include <glib.h>
#include <stdint.h>
#include <ucd/numbers.h>

#include "store-snapshot.h"

/* The attributes the exporter owns in its entries, in this order. */
typedef enum export_attr {
    EXPORT_CN,
    EXPORT_SN,
    EXPORT_GIVEN_NAME,
    EXPORT_DISPLAY_NAME,
    EXPORT_O,
    EXPORT_OU,
    EXPORT_MAIL,
    EXPORT_POSTAL_ADDRESS,
    EXPORT_LABELED_URI,
    EXPORT_TELEPHONE,
    EXPORT_MOBILE,
    EXPORT_HOME_PHONE,
    EXPORT_FAX,
    EXPORT_ATTR_COUNT
} export_attr;

/* LDAP names of the attributes, by export_attr; NULL-terminated. */
extern const char *const export_attr_names[EXPORT_ATTR_COUNT + 1];

/* The entry: `uid` (also the RDN's value) and each attribute's values,
 * distinct, in one allocation (a sync holds one per contact: about 300
 * bytes each instead of a kilobyte as separate strings). Read it with
 * export_entry_count() and export_entry_value(). */
typedef struct export_entry {
    const char *uid;
    /* attribute a's values are value[first[a]] .. value[first[a + 1] - 1] */
    uint8_t first[EXPORT_ATTR_COUNT + 1];
    const char *value[]; /* the strings follow the pointers */
} export_entry;

static inline guint export_entry_count(const export_entry *entry, export_attr attr)
{
    return (guint)(entry->first[attr + 1] - entry->first[attr]);
}

static inline const char *export_entry_value(const export_entry *entry, export_attr attr, guint i)
{
    return entry->value[entry->first[attr] + i];
}

/* How numbers are written: the number service (normalize_rules when it has
 * it), asked with `context` (the exporter's module id, so its section's
 * `location` key says where the phones are: the national form and the
 * outside line follow it). */
typedef struct export_numbers {
    const ucd_numbers_v1 *iface;
    void *impl;
    const char *context;
} export_numbers;

/* The entry for `contact`. Never NULL. */
export_entry *export_entry_new(const snapshot_contact *contact, const export_numbers *numbers);
void export_entry_free(export_entry *entry);

/* The forms of one number written to LDAP, in order (E.164, national,
 * dialable; or the raw form for a number the store could not place, when
 * it is a valid telephone number string), appended to `out` when not there
 * by telephoneNumberMatch. */
void export_number_forms(const export_numbers *numbers, const snapshot_number *number,
                         GPtrArray *out);

/* `value` escaped as an attribute value of a DN (RFC 4514): g_free it. */
char *export_dn_escape(const char *value);

/* The entry's DN under `base`: uid=ESCAPED-UID,BASE. g_free it. */
char *export_entry_dn(const export_entry *entry, const char *base);

/* `text` as an RFC 4517 PostalAddress: lines joined by '$', '\' and '$'
 * escaped, empty lines dropped. NULL when nothing is left. g_free it. */
char *export_postal_address(const char *text);

#endif /* CONTACTS_LDAP_EXPORT_EXPORT_ENTRY_H */
