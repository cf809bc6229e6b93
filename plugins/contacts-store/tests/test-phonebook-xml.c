/*
 * test-phonebook-xml.c - the phones' XML phonebooks as bytes: both roots,
 * Snom's title, text that needs escaping, and what a phone could not use
 * (no name, no number, bytes that are not UTF-8) left out rather than
 * breaking the document.
 */
#include <string.h>

#include "phonebook-xml.h"

static char *finish(phonebook_xml *book)
{
    GBytes *bytes = phonebook_xml_finish(book);
    gsize n = 0;
    const char *data = g_bytes_get_data(bytes, &n);
    char *text = g_strndup(data, n);
    g_bytes_unref(bytes);
    return text;
}

static void test_yealink(void)
{
    phonebook_xml *book = phonebook_xml_new(PHONEBOOK_YEALINK, "ignored");
    const char *const hans[] = {"+49301234567", "+491712345678"};
    const char *const none[] = {NULL};
    const char *const bad[] = {"+49\xff"};
    g_assert_true(phonebook_xml_add(book, "M\xc3\xbcller & <S\xc3\xb6hne>", hans, 2));
    g_assert_false(phonebook_xml_add(book, "No Number", none, 1));
    g_assert_false(phonebook_xml_add(book, "No Number", hans, 0));
    g_assert_false(phonebook_xml_add(book, NULL, hans, 2));
    g_assert_false(phonebook_xml_add(book, "Bad \xfe", hans, 2));
    g_assert_false(phonebook_xml_add(book, "Bad Number", bad, 1));
    char *text = finish(book);
    g_assert_cmpstr(text, ==,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<YealinkIPPhoneDirectory>\n"
                    " <DirectoryEntry>\n"
                    "  <Name>M\xc3\xbcller &amp; &lt;S\xc3\xb6hne&gt;</Name>\n"
                    "  <Telephone>+49301234567</Telephone>\n"
                    "  <Telephone>+491712345678</Telephone>\n"
                    " </DirectoryEntry>\n"
                    "</YealinkIPPhoneDirectory>\n");
    g_free(text);
}

static void test_snom_empty(void)
{
    char *text = finish(phonebook_xml_new(PHONEBOOK_SNOM, "Directory"));
    g_assert_cmpstr(text, ==,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<SnomIPPhoneDirectory>\n"
                    " <Title>Directory</Title>\n"
                    "</SnomIPPhoneDirectory>\n");
    g_free(text);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/phonebook-xml/yealink", test_yealink);
    g_test_add_func("/phonebook-xml/snom-empty", test_snom_empty);
    return g_test_run();
}
