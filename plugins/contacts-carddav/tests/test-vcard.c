/*
 * test-vcard.c - contacts-carddav's readers without a server: vCards of
 * every version mapped to the contact shape (each compared exactly, as
 * plugins/common's recording sink writes a contact), the cards that must be
 * skipped and why, and WebDAV multistatus answers, well-formed and not.
 * What Radicale makes of real uploads is test-contacts-carddav.c's.
 */
#include <string.h>

#include <glib.h>

#include "contact-sink-recorder.h"
#include "dav-multistatus.h"
#include "vcard-contact.h"

/* The card `text` as the recorder writes a contact; fails if it is skipped. */
static char *contact_line(const char *text)
{
    vcard_contact vc;
    char *problem = NULL;
    int rc = vcard_contact_read(text, strlen(text), "/book/x.vcf", &vc, &problem);
    if (rc != UCD_OK)
        g_error("skipped: %s\n%s", problem, text);
    contact_sink_recorder r;
    contact_sink_recorder_init(&r);
    g_assert_cmpint(contact_sink_recorder_iface.add(&r, &vc.contact), ==, UCD_OK);
    char *line = g_strdup(r.contacts->pdata[0]);
    contact_sink_recorder_clear(&r);
    vcard_contact_clear(&vc);
    return line;
}

static void assert_contact(const char *text, const char *expected)
{
    char *line = contact_line(text);
    g_assert_cmpstr(line, ==, expected);
    g_free(line);
}

/* The card is refused with a problem containing `needle`. */
static void assert_skipped(const char *text, gsize len, const char *needle)
{
    vcard_contact vc;
    char *problem = NULL;
    if (len == (gsize)-1)
        len = strlen(text);
    g_assert_cmpint(vcard_contact_read(text, len, "/book/x.vcf", &vc, &problem), ==, UCD_E_INVALID);
    if (problem == NULL || strstr(problem, needle) == NULL)
        g_error("expected '%s' in: %s", needle, problem);
    g_free(problem);
    vcard_contact_clear(&vc);
}

static void test_vcard3(void)
{
    /* CRLF, a line folded with a space and one with a tab, escapes, TYPE
     * lists in both vCard 3 forms, TYPE=pref first, a group prefix. */
    assert_contact("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nN:Müller;Jörg;;Dr.;\r\n"
                   "FN:Dr. Jörg Mül\r\n ler\r\nORG:Müller & Söhne\\, GmbH;Ver\r\n\ttrieb\r\n"
                   "TEL;TYPE=work,voice:+49 89 1234567\r\nTEL;TYPE=CELL:0171 2345678\r\n"
                   "TEL;TYPE=HOME;TYPE=VOICE:089 555\r\nTEL;TYPE=WORK,FAX:089 1234568\r\n"
                   "item1.TEL;TYPE=pref:089 999\r\nTEL;TYPE=pager:0190 1\r\n"
                   "EMAIL;TYPE=INTERNET:jm@example.com\r\n"
                   "EMAIL;TYPE=INTERNET,pref:joerg@example.com\r\n"
                   "ADR;TYPE=WORK:;;Hauptstr. 1;München;;80331;Germany\r\n"
                   "NOTE:line one\\nline two\\; ignored\r\nEND:VCARD\r\n",
                   "c1|Dr. Jörg Müller|Jörg|Müller|Müller & Söhne, GmbH|Vertrieb|joerg@example.com|"
                   "Hauptstr. 1, München, 80331, Germany|-|other:089 999,business:+49 89 1234567,"
                   "mobile:0171 2345678,home:089 555,fax:089 1234568,other:0190 1");
}

static void test_vcard4(void)
{
    /* TYPE="work,voice" quoted, PREF=1, tel: URIs with an escaped ;ext=,
     * a UID URN, LF line ends. */
    assert_contact("BEGIN:VCARD\nVERSION:4.0\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\n"
                   "FN:Ana Lima\nN:Lima;Ana;;;\nORG:Example Ltd.;Sales\n"
                   "TEL;VALUE=uri;TYPE=cell:tel:+1-555-555-0001\n"
                   "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-555-555-5555\\;ext=5555\n"
                   "END:VCARD\n",
                   "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1|Ana Lima|Ana|Lima|Example Ltd.|"
                   "Sales|-|-|-|business:+1-555-555-5555,mobile:+1-555-555-0001");
}

static void test_windows_and_21(void)
{
    /* Outlook's export: vCard 2.1 bare types, CRLF, CHARSET=UTF-8 named. */
    assert_contact("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8:Gates;Bill\r\n"
                   "FN;CHARSET=utf-8:Bill Gates\r\nTEL;WORK;VOICE:+49 (89) 1234-567\r\n"
                   "TEL;CELL;VOICE:0171 1\r\nTEL;WORK;FAX:+49 (89) 1234-568\r\n"
                   "PHOTO;TYPE=JPEG;ENCODING=BASE64:\r\n /9j/4AAQ\r\n\r\nEND:VCARD\r\n",
                   "/book/x.vcf|Bill Gates|Bill|Gates|-|-|-|-|-|business:+49 (89) 1234-567,"
                   "mobile:0171 1,fax:+49 (89) 1234-568");
    /* N alone names the contact; RFC 6868 caret escapes in a parameter. */
    assert_contact("BEGIN:VCARD\nVERSION:3.0\nUID:n1\nN:Nur;Name\n"
                   "ADR;LABEL=\"Street 1^nTown ^'X^'\":;;Street 1;Town\nTEL:030 1\nEND:VCARD\n",
                   "n1|Name Nur|Name|Nur|-|-|-|Street 1, Town|-|other:030 1");
}

static void test_skipped(void)
{
    assert_skipped("BEGIN:VCARD\nVERSION:3.0\nUID:x\nORG:Nobody\nTEL:1\nEND:VCARD\n", -1,
                   "neither FN nor N");
    assert_skipped("BEGIN:VCARD\nVERSION:3.0\nFN:M\xfcller\nEND:VCARD\n", -1,
                   "not UTF-8 (an invalid byte 0xfc at offset 28)");
    assert_skipped("BEGIN:VCARD\nVERSION:2.1\nN:Alt;Otto\nFN;ENCODING=QUOTED-PRINTABLE:Otto=20Alt\n"
                   "END:VCARD\n",
                   -1, "FN is vCard 2.1 QUOTED-PRINTABLE");
    assert_skipped("BEGIN:VCARD\nVERSION:2.1\nFN;QUOTED-PRINTABLE:Otto=20Alt\nEND:VCARD\n", -1,
                   "QUOTED-PRINTABLE");
    assert_skipped("BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=ISO-8859-1:Otto\nEND:VCARD\n", -1,
                   "CHARSET=ISO-8859-1");
    assert_skipped("BEGIN:VCARD\nFN:A\nEND:VCARD\nBEGIN:VCARD\nFN:B\nEND:VCARD\n", -1,
                   "more than one vCard");
    assert_skipped("BEGIN:VCARD\nFN:A\nTEL:1\n", -1, "no END:VCARD");
    assert_skipped("FN:A\nEND:VCARD\n", -1, "no BEGIN:VCARD");
    assert_skipped("BEGIN:VCARD\nFN A\nEND:VCARD\n", -1, "a line without ':'");
    static const char with_nul[] = "BEGIN:VCARD\nFN:A\0B\nEND:VCARD\n";
    assert_skipped(with_nul, sizeof with_nul - 1, "a NUL byte");
}

/* ---- multistatus ------------------------------------------------------------ */

static GPtrArray *parse(const char *body, char **error)
{
    return dav_multistatus_parse(body, strlen(body), "the answer", error);
}

static void test_multistatus(void)
{
    /* Radicale's prefixes (DAV: as the default namespace), a 404 response,
     * a 404 propstat for address-data, CDATA. */
    char *error = NULL;
    GPtrArray *r = parse(
        "<?xml version='1.0' encoding='utf-8'?>\n"
        "<multistatus xmlns=\"DAV:\" xmlns:CR=\"urn:ietf:params:xml:ns:carddav\">"
        "<response><href>/a/</href><propstat><prop><resourcetype><CR:addressbook/><collection/>"
        "</resourcetype><current-user-principal><href>/alice/</href></current-user-principal>"
        "</prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop>"
        "<CR:addressbook-home-set/></prop><status>HTTP/1.1 404 Not Found</status></propstat>"
        "</response>"
        "<response><href>/a/gone.vcf</href><status>HTTP/1.1 404 Not Found</status></response>"
        "<response><href> /a/x.vcf </href><propstat><prop><getcontentlength>12</getcontentlength>"
        "<CR:address-data><![CDATA[BEGIN:VCARD\nFN:<x>\nEND:VCARD\n]]></CR:address-data></prop>"
        "<status>HTTP/1.1 200 OK</status></propstat></response>"
        "<response><href>/a/y.vcf</href><propstat><prop><CR:address-data/></prop>"
        "<status>HTTP/1.1 403 Forbidden</status></propstat></response>"
        "</multistatus>",
        &error);
    g_assert_null(error);
    g_assert_cmpuint(r->len, ==, 4);
    dav_resource *a = r->pdata[0], *gone = r->pdata[1], *x = r->pdata[2], *y = r->pdata[3];
    g_assert_cmpstr(a->href, ==, "/a/");
    g_assert_true(a->is_collection && a->is_addressbook);
    g_assert_cmpstr(a->principal, ==, "/alice/");
    g_assert_null(a->home);
    g_assert_cmpint(gone->status, ==, 404);
    g_assert_cmpstr(gone->status_text, ==, "404 Not Found");
    g_assert_cmpstr(x->href, ==, "/a/x.vcf");
    g_assert_cmpint(x->content_length, ==, 12);
    g_assert_cmpstr(x->address_data, ==, "BEGIN:VCARD\nFN:<x>\nEND:VCARD\n");
    g_assert_false(x->is_collection);
    g_assert_null(y->address_data);
    g_assert_cmpstr(y->address_data_status, ==, "403 Forbidden");
    g_ptr_array_unref(r);

    /* Another server's prefixes: the names count, not the prefixes. */
    r = parse("<d:multistatus xmlns:d=\"DAV:\" xmlns:card=\"urn:ietf:params:xml:ns:carddav\">"
              "<d:response><d:href>/p/</d:href><d:propstat><d:prop><card:addressbook-home-set>"
              "<d:href>/home/p/</d:href></card:addressbook-home-set></d:prop>"
              "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>",
              &error);
    g_assert_nonnull(r);
    g_assert_cmpstr(((dav_resource *)r->pdata[0])->home, ==, "/home/p/");
    g_ptr_array_unref(r);
}

static void assert_refused(const char *body, const char *needle)
{
    char *error = NULL;
    GPtrArray *r = parse(body, &error);
    g_assert_null(r);
    if (error == NULL || strstr(error, needle) == NULL)
        g_error("expected '%s' in: %s", needle, error);
    g_free(error);
}

static void test_multistatus_refused(void)
{
    assert_refused("<html><body>Welcome to nginx!</body></html>",
                   "the answer is not a WebDAV multistatus (its root is <html>)");
    assert_refused("Internal error", "the answer is not XML: ");
    assert_refused("<multistatus xmlns=\"DAV:\"><response>", "the answer is not XML: ");
    /* An entity bomb and an external entity: refused for their DOCTYPE. */
    assert_refused("<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\">"
                   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
                   "<multistatus xmlns=\"DAV:\">&b;</multistatus>",
                   "has a DOCTYPE");
    assert_refused("<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                   "<multistatus xmlns=\"DAV:\"><response><href>&e;</href></response>"
                   "</multistatus>",
                   "has a DOCTYPE");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/contacts-carddav/vcard/3.0", test_vcard3);
    g_test_add_func("/contacts-carddav/vcard/4.0", test_vcard4);
    g_test_add_func("/contacts-carddav/vcard/windows-and-2.1", test_windows_and_21);
    g_test_add_func("/contacts-carddav/vcard/skipped", test_skipped);
    g_test_add_func("/contacts-carddav/multistatus/read", test_multistatus);
    g_test_add_func("/contacts-carddav/multistatus/refused", test_multistatus_refused);
    return g_test_run();
}
