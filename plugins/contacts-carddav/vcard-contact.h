/*
 * vcard-contact.h - a vCard mapped to the contact shape of contacts.h, as
 * contacts-carddav hands it to the store:
 *
 *   FN                  display_name (else "given surname" from N)
 *   N                   surname (1st component), given_name (2nd)
 *   ORG                 company (1st component), department (2nd)
 *   TEL                 numbers; the kind from TYPE (vCard 2.1 bare
 *                       types, 3.0 TYPE=work,voice, 4.0 TYPE="work,voice"):
 *                       fax, else cell/mobile, else work, else home, else
 *                       other; preferred ones (TYPE=pref, PREF=1) first;
 *                       a vCard 4 tel: URI without "tel:" and its ;ext=
 *   EMAIL               email (the preferred one, else the first)
 *   ADR                 address (the preferred one, else the first): its
 *                       non-empty components joined with ", "
 *   UID                 source_id (else the resource's href)
 *
 * Everything else (NOTE, PHOTO, BDAY, X-...) is read past.
 */
#ifndef UCD_VCARD_CONTACT_H
#define UCD_VCARD_CONTACT_H

#include <glib.h>
#include <ucd/contacts.h>

/* A contact and the memory its strings live in. */
typedef struct vcard_contact {
    ucd_contact contact;
    GPtrArray *strings; /* every string the contact points to */
    GArray *numbers;    /* ucd_contact_number */
} vcard_contact;

/* Maps the vCard `text` (`len` bytes) into `out` (cleared first, then
 * vcard_contact_clear it). UCD_OK, or UCD_E_INVALID with `*problem` (g_free)
 * saying why the card cannot be a contact: what vcard_parse refuses, or a
 * card with neither FN nor N. `href` is the source id of a card without
 * UID. */
int vcard_contact_read(const char *text, gsize len, const char *href, vcard_contact *out,
                       char **problem);

void vcard_contact_clear(vcard_contact *out);

#endif /* UCD_VCARD_CONTACT_H */
