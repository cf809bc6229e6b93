/*
 * phonebook-xml.h - contacts as the XML phonebooks IP phones fetch over
 * HTTP: Yealink's remote phone book (YealinkIPPhoneDirectory) and Snom's
 * XML minibrowser directory (SnomIPPhoneDirectory). Both are a list of
 * DirectoryEntry elements, each with a Name and one Telephone per number;
 * the phone shows the name and dials the number as written.
 *
 * Written through libxml2's text writer, so names with <, & or any UTF-8
 * come out escaped and well-formed. No I/O: the caller sends the bytes.
 */
#ifndef CONTACTS_STORE_PHONEBOOK_XML_H
#define CONTACTS_STORE_PHONEBOOK_XML_H

#include <glib.h>

typedef enum phonebook_format {
    PHONEBOOK_YEALINK = 0,
    PHONEBOOK_SNOM = 1,
} phonebook_format;

typedef struct phonebook_xml phonebook_xml;

/* A new phonebook; `title` is the Snom directory's title (Yealink has
 * none). */
phonebook_xml *phonebook_xml_new(phonebook_format format, const char *title);

/* Adds one entry: `name` (a contact without one is skipped) and its
 * `n_numbers` numbers, in the form the phone should dial. An entry without
 * a number is skipped too: a phone cannot dial it. Returns TRUE when added. */
gboolean phonebook_xml_add(phonebook_xml *book, const char *name, const char *const *numbers,
                           guint n_numbers);

/* The document (UTF-8, with its XML declaration), and frees `book`. */
GBytes *phonebook_xml_finish(phonebook_xml *book);

#endif /* CONTACTS_STORE_PHONEBOOK_XML_H */
