/*
 * phonebook-xml.c - contacts as Yealink's and Snom's XML phonebooks
 * (phonebook-xml.h).
 *
 * The two formats differ only in the root element and Snom's Title; a
 * Telephone element per number keeps every number of a contact dialable
 * from one entry on both (Yealink shows them as the entry's numbers, Snom
 * one line per number).
 */
#include <libxml/xmlwriter.h>
#include <string.h>

#include "phonebook-xml.h"

struct phonebook_xml {
    xmlBufferPtr buffer;
    xmlTextWriterPtr writer;
};

static const char *const ROOTS[] = {"YealinkIPPhoneDirectory", "SnomIPPhoneDirectory"};

static const xmlChar *x(const char *s)
{
    return (const xmlChar *)s;
}

phonebook_xml *phonebook_xml_new(phonebook_format format, const char *title)
{
    phonebook_xml *book = g_new0(phonebook_xml, 1);
    book->buffer = xmlBufferCreate();
    book->writer = xmlNewTextWriterMemory(book->buffer, 0);
    xmlTextWriterSetIndent(book->writer, 1);
    xmlTextWriterSetIndentString(book->writer, x(" "));
    xmlTextWriterStartDocument(book->writer, NULL, "UTF-8", NULL);
    xmlTextWriterStartElement(book->writer, x(ROOTS[format == PHONEBOOK_SNOM]));
    if (format == PHONEBOOK_SNOM && title)
        xmlTextWriterWriteElement(book->writer, x("Title"), x(title));
    return book;
}

/* libxml2 writes what it is given: text that is not UTF-8 would make the
 * document one a phone's parser refuses. */
static gboolean is_text(const char *s)
{
    return s && *s && g_utf8_validate(s, -1, NULL);
}

gboolean phonebook_xml_add(phonebook_xml *book, const char *name, const char *const *numbers,
                           guint n_numbers)
{
    guint dialable = 0;
    for (guint i = 0; i < n_numbers; i++)
        dialable += is_text(numbers[i]);
    if (!is_text(name) || dialable == 0)
        return FALSE;
    xmlTextWriterStartElement(book->writer, x("DirectoryEntry"));
    xmlTextWriterWriteElement(book->writer, x("Name"), x(name));
    for (guint i = 0; i < n_numbers; i++)
        if (is_text(numbers[i]))
            xmlTextWriterWriteElement(book->writer, x("Telephone"), x(numbers[i]));
    xmlTextWriterEndElement(book->writer);
    return TRUE;
}

GBytes *phonebook_xml_finish(phonebook_xml *book)
{
    xmlTextWriterEndDocument(book->writer); /* closes every open element */
    xmlFreeTextWriter(book->writer);
    GBytes *bytes =
        g_bytes_new(xmlBufferContent(book->buffer), (gsize)xmlBufferLength(book->buffer));
    xmlBufferFree(book->buffer);
    g_free(book);
    return bytes;
}
