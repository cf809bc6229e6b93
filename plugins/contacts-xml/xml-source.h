/*
 * xml-source.h - one replication of a contacts XML file into a contact
 * sink: the whole of contacts-xml's replicate() apart from reading its
 * configuration, so tests run it without a daemon.
 *
 * The shape (README.md has it in full):
 *
 *     <contacts>
 *       <contact id="10017">
 *         <display_name>Jutta Müller</display_name>   (also given_name,
 *         <company>Müller &amp; Söhne</company>         surname, department,
 *         <number kind="business">+49 89 1234-0</number> email, address,
 *         <number kind="mobile">0171 2345678</number>    crm_link)
 *       </contact>
 *     </contacts>
 *
 * The file is parsed with libxml2's SAX push parser, fed 64 KiB at a time:
 * one contact in memory at once, whatever the file's size. No DTD is ever
 * read (a DOCTYPE stops the parser before its internal subset), no entity
 * but XML's five, no network.
 *
 * A contact that is wrong (an unknown element or kind, an element inside a
 * field, a field twice, a field longer than 64 KiB) goes to sink->skipped
 * as "FILE line N" and the replication goes on. A file that is not
 * well-formed XML (truncated, not in its declared encoding, an undefined
 * entity), has a DOCTYPE, another root than <contacts>, cannot be opened
 * or is empty is an error naming the file and line: nothing after the
 * fault can be trusted, so the store keeps its last good copy.
 */
#ifndef UCD_XML_SOURCE_H
#define UCD_XML_SOURCE_H

#include <ucd/contacts.h>

typedef struct xml_source_settings {
    const char *path;
    /* {id}, {display_name}, {company} ... filled from the contact's fields;
     * used when a contact has no <crm_link> of its own. NULL: none. */
    const char *crm_link;
} xml_source_settings;

/* The field names a crm_link template may use. NULL when `template` is
 * well-formed and names only known fields, else a message (free with
 * g_free). */
char *xml_source_check_link(const char *crm_link);

/* Reads `settings->path` into `sink` (contacts.h's replicate()): UCD_OK
 * when the whole file was read (skipped contacts count as read), else
 * UCD_E_NOT_FOUND (no such file), UCD_E_INVALID (not well-formed, a
 * DOCTYPE, a wrong root, empty), UCD_E_BUSY (cancelled), UCD_FAIL (a read
 * error), or what sink->add returned, with `*error` (free with free())
 * naming the file. */
int xml_source_replicate(const xml_source_settings *settings, const ucd_contact_sink *sink,
                         void *sink_impl, char **error);

#endif /* UCD_XML_SOURCE_H */
