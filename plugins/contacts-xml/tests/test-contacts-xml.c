/*
 * test-contacts-xml.c - contacts-xml without a daemon: xml_source_replicate
 * into plugins/common's recording sink (every contact and every skipped
 * contact compared exactly), then the plugin on the fake host (its keys,
 * its config errors, its service). The hostile inputs are the classic ones:
 * an entity expansion bomb, an external entity naming /etc/passwd, a
 * truncated file, a wrong encoding.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "contact-sink-recorder.h"
#include "fake-host.h"
#include "xml-source.h"

static char *plugin_path;

typedef struct fixture {
    char *dir, *path;
    contact_sink_recorder sink;
} fixture;

static void set_up(fixture *f, gconstpointer data)
{
    (void)data;
    f->dir = g_dir_make_tmp("contacts-xml-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->path = g_build_filename(f->dir, "contacts.xml", NULL);
    contact_sink_recorder_init(&f->sink);
}

static void tear_down(fixture *f, gconstpointer data)
{
    (void)data;
    contact_sink_recorder_clear(&f->sink);
    g_unlink(f->path);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

static void write_file(fixture *f, const char *text, gssize len)
{
    g_assert_true(g_file_set_contents(f->path, text, len, NULL));
}

/* Replicates `f->path` into a fresh recorder; the error (or NULL) goes to
 * `*error` (free with free()). */
static int run(fixture *f, const char *crm_link, char **error)
{
    contact_sink_recorder_clear(&f->sink);
    contact_sink_recorder_init(&f->sink);
    xml_source_settings s = {.path = f->path, .crm_link = crm_link};
    char *e = NULL;
    int rc = xml_source_replicate(&s, &contact_sink_recorder_iface, &f->sink, &e);
    if (rc == UCD_OK)
        g_assert_null(e);
    else
        g_assert_nonnull(e);
    *error = e;
    return rc;
}

/* Fails unless the replication fails with `rc` and an error that contains
 * the file's path and `needle`. */
static void assert_fails(fixture *f, int rc, const char *needle)
{
    char *error = NULL;
    g_assert_cmpint(run(f, NULL, &error), ==, rc);
    if (strstr(error, f->path) == NULL || strstr(error, needle) == NULL)
        g_error("expected '%s' with the path in: %s", needle, error);
    free(error);
}

static void test_shape(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<contacts>\n"
               "  <!-- the nightly export -->\n"
               "  <contact id=\"10017\">\n"
               "    <given_name>Jutta</given_name><surname>M\xC3\xBCller</surname>\n"
               "    <display_name> Jutta M\xC3\xBCller </display_name>\n"
               "    <company>M\xC3\xBCller &amp; S\xC3\xB6hne &lt;GmbH&gt;</company>\n"
               "    <department>Einkauf</department><email>j@m.example</email>\n"
               "    <address>Hauptstr. 1\n80331 M\xC3\xBCnchen</address>\n"
               "    <number kind=\"business\">+49 89 123456-0</number>\n"
               "    <number kind=\"mobile\">0171 2345678</number>\n"
               "    <number>089 99</number>\n"
               "    <number kind=\"fax\"></number>\n"
               "  </contact>\n"
               "  <contact id=\"10018\"><company><![CDATA[B\xC3\xA4"
               "ckerei \"Zum Korn\" & Co]]></company>"
               "<number kind=\"home\">0821 55</number>"
               "<crm_link>https://other.example/x</crm_link></contact>\n"
               "  <contact><display_name>No Id</display_name></contact>\n"
               "  <contact id=\"A&amp;B&lt;&#67;&amp;#38;\"><surname>Entities</surname></contact>\n"
               "</contacts>\n",
               -1);
    char *error = NULL;
    g_assert_cmpint(run(f, "https://crm.example/k/{id}?c={company}", &error), ==, UCD_OK);
    static const char *const contacts[] = {
        "10017|Jutta M\xC3\xBCller|Jutta|M\xC3\xBCller|M\xC3\xBCller & S\xC3\xB6hne <GmbH>|"
        "Einkauf|j@m.example|Hauptstr. 1\n80331 M\xC3\xBCnchen|"
        "https://crm.example/k/10017?c=M%C3%BCller%20%26%20S%C3%B6hne%20%3CGmbH%3E|"
        "business:+49 89 123456-0,mobile:0171 2345678,other:089 99",
        "10018|-|-|-|B\xC3\xA4"
        "ckerei \"Zum Korn\" & Co|-|-|-|https://other.example/x|home:0821 55",
        /* The third contact's ordinal is its id; no company: no link. */
        "3|No Id|-|-|-|-|-|-|-|",
        /* Entities and character references in an attribute as in text
         * (no company: no link). */
        "A&B<C&#38;|-|-|Entities|-|-|-|-|-|", NULL};
    contact_sink_recorder_assert_lines(f->sink.contacts, contacts);
    g_assert_cmpuint(f->sink.skipped->len, ==, 0);
    /* The last progress is the whole file. */
    g_assert_cmpuint(f->sink.progress->len, >=, 2);
    guint64 done = g_array_index(f->sink.progress, guint64, f->sink.progress->len - 2);
    guint64 total = g_array_index(f->sink.progress, guint64, f->sink.progress->len - 1);
    GStatBuf st;
    g_assert_cmpint(g_stat(f->path, &st), ==, 0);
    g_assert_cmpuint(done, ==, (guint64)st.st_size);
    g_assert_cmpuint(total, ==, (guint64)st.st_size);
}

/* ISO-8859-1 as the declaration says: converted by libxml2. */
static void test_declared_encoding(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f,
               "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
               "<contacts><contact id=\"1\"><surname>M\xFCller</surname></contact></contacts>",
               -1);
    char *error = NULL;
    g_assert_cmpint(run(f, NULL, &error), ==, UCD_OK);
    static const char *const contacts[] = {"1|-|-|M\xC3\xBCller|-|-|-|-|-|", NULL};
    contact_sink_recorder_assert_lines(f->sink.contacts, contacts);

    /* The same byte in a file that says nothing (so UTF-8): refused. */
    write_file(f, "<contacts><contact id=\"1\"><surname>M\xFCller</surname></contact></contacts>",
               -1);
    assert_fails(f, UCD_E_INVALID, "line 1: not well-formed XML");
}

static void test_bad_contacts(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f,
               "<contacts>\n"
               "<contact id=\"1\"><surname>Ok</surname></contact>\n"
               "<contact id=\"2\">\n  <nickname>x</nickname></contact>\n"
               "<contact id=\"3\"><number kind=\"pager\">1</number></contact>\n"
               "<contact id=\"4\"><surname>A</surname><surname>B</surname></contact>\n"
               "<contact id=\"5\"><company><b>bold</b></company></contact>\n"
               "<person id=\"6\"/>\n"
               "<contact id=\" \"><surname>Blank id</surname></contact>\n"
               "<contact id=\"8\"><surname>Ok too</surname></contact>\n"
               "</contacts>\n",
               -1);
    char *error = NULL;
    g_assert_cmpint(run(f, NULL, &error), ==, UCD_OK);
    static const char *const contacts[] = {"1|-|-|Ok|-|-|-|-|-|", "8|-|-|Ok too|-|-|-|-|-|", NULL};
    contact_sink_recorder_assert_lines(f->sink.contacts, contacts);
    static const char *const skipped[] = {
        "contacts.xml line 3: has an unknown element <nickname>",
        "contacts.xml line 5: has a <number> of kind \"pager\" (business, mobile, home, fax or "
        "other)",
        "contacts.xml line 6: has <surname> twice",
        "contacts.xml line 7: has an element <b> inside a field",
        "contacts.xml line 8: is an unknown element <person> (expected <contact>)",
        "contacts.xml line 9: has an empty id attribute",
        NULL};
    contact_sink_recorder_assert_lines(f->sink.skipped, skipped);
}

static void test_long_field(fixture *f, gconstpointer data)
{
    (void)data;
    GString *text = g_string_new("<contacts><contact id=\"1\"><address>");
    for (int i = 0; i < 70000; i++)
        g_string_append_c(text, 'x');
    g_string_append(text, "</address></contact><contact id=\"2\"><surname>S</surname></contact>"
                          "</contacts>");
    write_file(f, text->str, (gssize)text->len);
    g_string_free(text, TRUE);
    char *error = NULL;
    g_assert_cmpint(run(f, NULL, &error), ==, UCD_OK);
    static const char *const contacts[] = {"2|-|-|S|-|-|-|-|-|", NULL};
    contact_sink_recorder_assert_lines(f->sink.contacts, contacts);
    static const char *const skipped[] = {
        "contacts.xml line 1: has a field longer than 65536 bytes", NULL};
    contact_sink_recorder_assert_lines(f->sink.skipped, skipped);
}

/* What makes the whole file unusable: the store keeps its last good copy. */
static void test_whole_file_errors(fixture *f, gconstpointer data)
{
    (void)data;
    assert_fails(f, UCD_E_NOT_FOUND, g_strerror(ENOENT));
    write_file(f, "", 0);
    assert_fails(f, UCD_E_INVALID, "is empty");
    write_file(f, "<people><contact id=\"1\"/></people>", -1);
    assert_fails(f, UCD_E_INVALID, "line 1: the root element is <people>, not <contacts>");
    /* Truncated: the contacts before the cut were handed over, but the
     * replication fails. */
    write_file(
        f, "<contacts>\n<contact id=\"1\"><surname>A</surname></contact>\n<contact id=\"2\">", -1);
    assert_fails(f, UCD_E_INVALID, "not well-formed XML");
    g_assert_cmpuint(f->sink.contacts->len, ==, 1);
    write_file(f, "<contacts><contact id=\"1\"><surname>&nbsp;</surname></contact></contacts>", -1);
    assert_fails(f, UCD_E_INVALID, "line 1: not well-formed XML: Entity 'nbsp' not defined");
    /* No DTD is read at all: the bomb and the external entity are refused
     * at their DOCTYPE, before any declaration. */
    write_file(f,
               "<?xml version=\"1.0\"?>\n"
               "<!DOCTYPE contacts [\n"
               "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
               "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
               "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
               "]>\n"
               "<contacts><contact id=\"1\"><surname>&c;</surname></contact></contacts>\n",
               -1);
    assert_fails(f, UCD_E_INVALID, "a DOCTYPE is not allowed (no DTDs, no entities)");
    g_assert_cmpuint(f->sink.contacts->len, ==, 0);
    write_file(f,
               "<!DOCTYPE contacts [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
               "<contacts><contact id=\"1\"><surname>&x;</surname></contact></contacts>\n",
               -1);
    assert_fails(f, UCD_E_INVALID, "line 1: a DOCTYPE is not allowed");
    g_assert_cmpuint(f->sink.contacts->len, ==, 0);

    /* A root and no contact: a complete copy of 0 contacts (the store's
     * min_ratio decides). */
    write_file(f, "<?xml version=\"1.0\"?>\n<contacts/>\n", -1);
    char *error = NULL;
    g_assert_cmpint(run(f, NULL, &error), ==, UCD_OK);
    g_assert_cmpuint(f->sink.contacts->len, ==, 0);
}

static void test_cancel_and_store_error(fixture *f, gconstpointer data)
{
    (void)data;
    GString *text = g_string_new("<contacts>\n");
    for (int i = 1; i <= 5000; i++)
        g_string_append_printf(text,
                               "<contact id=\"%d\"><surname>Name %d</surname>"
                               "<number kind=\"business\">089 %d</number></contact>\n",
                               i, i, i);
    g_string_append(text, "</contacts>\n");
    write_file(f, text->str, (gssize)text->len);
    g_string_free(text, TRUE);
    char *error = NULL;
    g_assert_cmpint(run(f, NULL, &error), ==, UCD_OK);
    g_assert_cmpuint(f->sink.contacts->len, ==, 5000);

    contact_sink_recorder_clear(&f->sink);
    contact_sink_recorder_init(&f->sink);
    f->sink.cancel_after = 100;
    xml_source_settings s = {.path = f->path};
    g_assert_cmpint(xml_source_replicate(&s, &contact_sink_recorder_iface, &f->sink, &error), ==,
                    UCD_E_BUSY);
    g_assert_nonnull(strstr(error, "cancelled"));
    free(error);
    g_assert_cmpuint(f->sink.contacts->len, <, 5000);

    contact_sink_recorder_clear(&f->sink);
    contact_sink_recorder_init(&f->sink);
    f->sink.fail_after = 10;
    f->sink.fail_code = UCD_E_NOMEM;
    g_assert_cmpint(xml_source_replicate(&s, &contact_sink_recorder_iface, &f->sink, &error), ==,
                    UCD_E_NOMEM);
    char *expected = g_strdup_printf("%s line 12: the store cannot take more: %s", f->path,
                                     ucd_strerror(UCD_E_NOMEM));
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    free(error);
    g_assert_cmpuint(f->sink.contacts->len, ==, 10);
}

static void test_check_link(void)
{
    g_assert_null(xml_source_check_link(NULL));
    g_assert_null(xml_source_check_link("https://crm/{id}/{company}"));
    const char *bad[] = {"https://crm/{id", "https://crm/{phone}", "https://crm/{crm_link}"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *error = xml_source_check_link(bad[i]);
        g_assert_nonnull(error);
        g_free(error);
    }
}

static void test_plugin(fixture *f, gconstpointer data)
{
    (void)data;
    void *handle = NULL;
    const ucd_plugin_descriptor *d = fake_load_plugin(plugin_path, "contacts-xml", &handle);
    write_file(f, "<contacts><contact id=\"a\"><surname>S</surname></contact></contacts>", -1);
    fake_module *m = fake_module_new(d, "contacts-xml:phonebook");
    fake_module_set(m, "file", f->path);
    fake_module_set(m, "crm_link", "https://crm/{id}");
    fake_module_set(m, "priority", "20");
    fake_module_start(m);
    void *impl = NULL;
    const ucd_contact_source_v1 *source =
        fake_module_service(m, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    g_assert_nonnull(source);
    ucd_contact_source_info info = {.struct_size = sizeof(info)};
    source->info(impl, &info);
    g_assert_cmpint(info.priority, ==, 20);
    char *error = NULL;
    g_assert_cmpint(source->replicate(impl, &contact_sink_recorder_iface, &f->sink, &error), ==,
                    UCD_OK);
    static const char *const contacts[] = {"a|-|-|S|-|-|-|-|https://crm/a|", NULL};
    contact_sink_recorder_assert_lines(f->sink.contacts, contacts);
    fake_module_stop(m);
    fake_module_free(m);

    static const struct {
        const char *key, *value;
    } bad[] = {{"file", ""}, {"crm_link", "https://crm/{nope}"}, {"min_ratio", "200"}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        m = fake_module_new(d, "contacts-xml");
        fake_module_set(m, "file", f->path);
        fake_module_set(m, bad[i].key, bad[i].value);
        g_assert_cmpint(fake_module_init(m), ==, UCD_FAIL);
        g_assert_cmpstr(m->config_error_key, ==, bad[i].key);
        fake_module_free(m);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2)
        g_error("usage: %s PLUGIN.so", argv[0]);
    plugin_path = argv[1];
#define ADD(name, fn) g_test_add("/contacts-xml/" name, fixture, NULL, set_up, fn, tear_down)
    ADD("shape", test_shape);
    ADD("declared-encoding", test_declared_encoding);
    ADD("bad-contacts", test_bad_contacts);
    ADD("long-field", test_long_field);
    ADD("whole-file-errors", test_whole_file_errors);
    ADD("cancel-and-store-error", test_cancel_and_store_error);
    ADD("plugin", test_plugin);
    g_test_add_func("/contacts-xml/check-link", test_check_link);
    return g_test_run();
}
