/*
 * cldap-map.h - the attribute map of contacts-ldap: which attributes of an
 * entry fill which part of a contact, and how one entry becomes a contact
 * or a skipped entry.
 *
 * Every map key is a list of attributes. For a text field the first one
 * the entry has wins (displayName, else cn); for a number kind every value
 * of every listed attribute is a number (telephoneNumber and AD's
 * otherTelephone). libldap hands over values as bytes, already decoded
 * from whatever the server sent (an LDIF's base64 is only how it was
 * written), so the checks are ours: UTF-8, no NUL byte, the length limit.
 */
#ifndef CONTACTS_LDAP_MAP_H
#define CONTACTS_LDAP_MAP_H

#include <glib.h>
#include <ldap.h>
#include <ucd/contacts.h>

typedef enum cldap_text_field {
    CLDAP_F_SOURCE_ID,
    CLDAP_F_DISPLAY_NAME,
    CLDAP_F_GIVEN_NAME,
    CLDAP_F_SURNAME,
    CLDAP_F_COMPANY,
    CLDAP_F_DEPARTMENT,
    CLDAP_F_EMAIL,
    CLDAP_F_ADDRESS,
    CLDAP_F_TEXT_COUNT
} cldap_text_field;

#define CLDAP_NUMBER_KINDS 5 /* business, mobile, home, fax, other */

/* The map's configuration keys, for the plugin's key table.
 * (Formatted by hand: clang-format cannot lay out a table in a macro.) */
// clang-format off
#define CLDAP_MAP_KEYS                                                                             \
    {"map_source_id", UCD_CONFIG_LIST, 0, "",                                                      \
     "attribute with the entry's stable key (objectGUID, entryUUID); empty: the DN"},              \
    {"map_display_name", UCD_CONFIG_LIST, 0, "displayName;cn", "attributes: display name"},        \
    {"map_given_name", UCD_CONFIG_LIST, 0, "givenName", "attributes: given name"},                 \
    {"map_surname", UCD_CONFIG_LIST, 0, "sn", "attributes: surname"},                              \
    {"map_company", UCD_CONFIG_LIST, 0, "company;o", "attributes: company"},                       \
    {"map_department", UCD_CONFIG_LIST, 0, "department", "attributes: department"},                \
    {"map_email", UCD_CONFIG_LIST, 0, "mail", "attributes: e-mail address"},                       \
    {"map_address", UCD_CONFIG_LIST, 0, "postalAddress;streetAddress",                             \
     "attributes: postal address ('$' of postalAddress becomes a line break)"},                    \
    {"map_business", UCD_CONFIG_LIST, 0, "telephoneNumber;otherTelephone",                         \
     "attributes: business numbers (every value)"},                                                \
    {"map_mobile", UCD_CONFIG_LIST, 0, "mobile;otherMobile", "attributes: mobile numbers"},        \
    {"map_home", UCD_CONFIG_LIST, 0, "homePhone;otherHomePhone", "attributes: home numbers"},      \
    {"map_fax", UCD_CONFIG_LIST, 0, "facsimileTelephoneNumber;otherFacsimileTelephoneNumber",      \
     "attributes: fax numbers"},                                                                   \
    {"map_other", UCD_CONFIG_LIST, 0, "ipPhone;pager", "attributes: other numbers"},               \
    {"crm_link", UCD_CONFIG_STRING, 0, "",                                                         \
     "URL template: {attribute} is the entry's value, {dn} its DN, URL-escaped"}
// clang-format on

extern const char *const cldap_map_text_keys[CLDAP_F_TEXT_COUNT];
extern const char *const cldap_map_number_keys[CLDAP_NUMBER_KINDS];

typedef struct cldap_map cldap_map;

/* A map from the attribute lists (NULL-terminated, each may be NULL: none)
 * and the crm_link template (NULL: none; already checked). */
cldap_map *cldap_map_new(char **text[CLDAP_F_TEXT_COUNT], char **numbers[CLDAP_NUMBER_KINDS],
                         const char *crm_link, gsize max_value);
void cldap_map_free(cldap_map *map);

/* Every attribute the map reads, NULL-terminated, for the search request
 * (the map owns it). */
char **cldap_map_attributes(cldap_map *map);

/* Turns `entry` into `*contact`, valid until the next call. FALSE when the
 * entry is skipped: `*problem` (owned by the map) says why, naming the
 * attribute, never quoting the value: a value that is not UTF-8 (binary),
 * holds a NUL byte or is too long; no name at all; no source id. `*dn`
 * gets the entry's DN either way (owned by the map). One entry at a time. */
gboolean cldap_map_read(cldap_map *map, LDAP *ld, LDAPMessage *entry, ucd_contact *contact,
                        const char **dn, const char **problem);

#endif /* CONTACTS_LDAP_MAP_H */
