/*
 * test-contacts-csv-e2e.c - contacts-csv in the real ucd with the real
 * contacts-store, driven with the real ucctl: the nightly export of the
 * README (semicolons, Windows-1252, a quoted line end, a broken row) is
 * replicated at start and answers `directory lookup` for every kind of
 * number; then the export goes wrong three ways (a renamed column, the file
 * missing, an empty file) and each time the replication fails naming the
 * file while the last good copy keeps answering; a good new version is
 * taken. Then the same export beside a contacts-xml source that knows one
 * of its numbers too: priority decides which answers first, and a truncated
 * XML file keeps the XML source's last good copy.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "harness.h"

#define SOURCE "contacts-csv:crm"

/* README.md's example, in Windows-1252 (0xFC ü, 0xF6 ö, 0xE4 ä, 0xDF ß),
 * plus a row with one field too many on line 5. */
static const char EXPORT[] =
    "Kundennr;Vorname;Nachname;Firma;Stra\xDF"
    "e;PLZ;Ort;Telefon;Telefon 2;Mobil\r\n"
    "10017;Jutta;M\xFCller;M\xFCller & S\xF6hne GmbH;Hauptstr. 1;80331;M\xFCnchen;"
    "+49 89 123456-0;089 123456-17;0171 2345678\r\n"
    "10018;;;\"B\xE4"
    "ckerei \"\"Zum Korn\"\"\";\"Am Markt 3\r\nHinterhaus\";86150;Augsburg;0821 55 44 33;;\r\n"
    "10019;Too;Many;;;;;089 7777777;;;extra\r\n"
    "10020;Otto;Normal;;;;;030 9876543;;\r\n";

/* Waits for `needle` in ucd's log; prints the log when it never comes. */
static void wait_log(harness *h, const char *needle)
{
    if (harness_wait_log(h, needle))
        return;
    char *log = harness_log(h);
    g_error("not in ucd's log: '%s'; the log:\n%s", needle, log);
}

static void write_file(const char *path, const char *text, gssize len)
{
    g_assert_true(g_file_set_contents(path, text, len, NULL));
}

/* `ucctl ARGS...` must end with `expect_ok` (exit 0 or not) and print
 * `needle`. */
static void ucctl_expect(harness *h, gboolean expect_ok, const char *needle, const char *a1,
                         const char *a2, const char *a3)
{
    int status = -1;
    char *out = harness_ucctl(h, &status, a1, a2, a3, NULL);
    if ((status == 0) != expect_ok || strstr(out, needle) == NULL)
        g_error("ucctl %s %s %s: status %d, expected %s with '%s' in:\n%s", a1, a2, a3 ? a3 : "",
                status, expect_ok ? "success" : "a failure", needle, out);
    g_free(out);
}

/* ucd.conf's body: the README's section for `csv` (priority 50), a
 * contacts-xml source of `xml` when not NULL (priority 100, the default),
 * the store. */
static char *config_body(const char *csv, const char *xml)
{
    char *xml_section = xml != NULL ? g_strdup_printf("[module contacts-xml:phonebook]\n"
                                                      "file = %s\n"
                                                      "replicate_every = 0s\n",
                                                      xml)
                                    : g_strdup("");
    char *body = g_strdup_printf("[location default]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "[module " SOURCE "]\n"
                                 "file = %s\n"
                                 "delimiter = ;\n"
                                 "encoding = WINDOWS-1252\n"
                                 "map_source_id = Kundennr\n"
                                 "map_given_name = Vorname\n"
                                 "map_surname = Nachname\n"
                                 "map_company = Firma\n"
                                 "map_address = Stra\xC3\x9F"
                                 "e;PLZ;Ort\n"
                                 "map_business = Telefon;Telefon 2\n"
                                 "map_mobile = Mobil\n"
                                 "crm_link = https://crm.example/kunde/{Kundennr}\n"
                                 "priority = 50\n"
                                 "replicate_every = 0s\n"
                                 "switchboard = true\n"
                                 "%s"
                                 "[module contacts-store]\n",
                                 csv, xml_section);
    g_free(xml_section);
    return body;
}

#define LOOKUP_FINDS(h, number, name)                                                              \
    ucctl_expect((h), TRUE, (name), "directory", "lookup", (number))
#define REPLICATE(h, ok, needle) ucctl_expect((h), (ok), (needle), "directory", "replicate", SOURCE)

static void test_nightly_export(void)
{
    harness *h = harness_new(NULL);
    char *file = g_build_filename(h->dir, "kontakte.csv", NULL);
    write_file(file, EXPORT, sizeof(EXPORT) - 1);
    char *body = config_body(file, NULL);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "contacts-store", "running"));
    wait_log(h, "source " SOURCE ": generation 1 in use: 3 contacts, 5 "
                "numbers (0 not understood), 1 skipped");
    wait_log(h, "kontakte.csv line 5: has 11 fields, the header has 10");

    /* Names composed of given name and surname, converted from
     * Windows-1252; a company's name with its doubled quotes. */
    LOOKUP_FINDS(h, "+49 171 2345678", "Jutta M\xC3\xBCller");
    LOOKUP_FINDS(h, "089 123456-17", "Jutta M\xC3\xBCller");
    LOOKUP_FINDS(h, "0821 554433",
                 "B\xC3\xA4"
                 "ckerei \"Zum Korn\"");
    LOOKUP_FINDS(h, "+49 30 9876543", "Otto Normal");
    /* The switchboard: an extension nobody listed. */
    LOOKUP_FINDS(h, "089 123456-55", "prefix +49 89 123456-0");
    ucctl_expect(h, FALSE, "no contact has", "directory", "lookup", "089 7777777");

    /* The export renames a column: the whole file is refused by name. */
    char *renamed = g_strdup(EXPORT);
    memcpy(strstr(renamed, "Telefon 2"), "Telefax 2", 9);
    write_file(file, renamed, sizeof(EXPORT) - 1);
    /* The command succeeds; its result says the replication failed. */
    REPLICATE(h, TRUE,
              "kontakte.csv line 1: the header has no column \"Telefon 2\" (map_business); the "
              "last good copy stays (generation 1, 3 contacts)");
    LOOKUP_FINDS(h, "+49 171 2345678", "Jutta M\xC3\xBCller");
    ucctl_expect(h, TRUE, "kontakte.csv", "directory", "sources", NULL);

    /* The file is missing, then empty. */
    g_assert_cmpint(g_remove(file), ==, 0);
    REPLICATE(h, TRUE,
              "kontakte.csv: cannot open: No such file or directory; the last good copy stays");
    LOOKUP_FINDS(h, "089 123456-17", "Jutta M\xC3\xBCller");
    write_file(file, "", 0);
    REPLICATE(h, TRUE, "kontakte.csv is empty: no header line; the last good copy stays");
    LOOKUP_FINDS(h, "0821 554433", "Zum Korn");

    /* A good new version: Otto leaves, Jutta gets a new mobile. */
    char *next = g_strdup(EXPORT);
    memcpy(strstr(next, "0171 2345678"), "0171 2345679", 12);
    *strstr(next, "10020;") = '\0';
    write_file(file, next, -1);
    REPLICATE(h, TRUE, "generation: 2");
    LOOKUP_FINDS(h, "0171 2345679", "Jutta M\xC3\xBCller");
    ucctl_expect(h, FALSE, "no contact has", "directory", "lookup", "0171 2345678");
    ucctl_expect(h, FALSE, "no contact has", "directory", "lookup", "+49 30 9876543");
    g_assert_cmpint(harness_stop(h), ==, 0);

    g_free(next);
    g_free(renamed);
    g_free(body);
    g_free(file);
    harness_free(h);
}

/* The `source` column of every row `directory lookup NUMBER` answers, in
 * order, joined with ", ". */
static char *lookup_sources(harness *h, const char *number)
{
    const char *argv[] = {"directory", "lookup", number, NULL};
    JsonNode *resp = harness_ok(h, argv);
    JsonObject *o = json_node_get_object(resp);
    JsonArray *columns = json_object_get_array_member(o, "columns");
    guint source = G_MAXUINT;
    for (guint i = 0; i < json_array_get_length(columns); i++) {
        if (strcmp(json_array_get_string_element(columns, i), "source") == 0)
            source = i;
    }
    g_assert_cmpuint(source, !=, G_MAXUINT);
    GString *out = g_string_new(NULL);
    JsonArray *rows = json_object_get_array_member(o, "rows");
    for (guint i = 0; i < json_array_get_length(rows); i++)
        g_string_append_printf(
            out, "%s%s", i ? ", " : "",
            json_array_get_string_element(json_array_get_array_element(rows, i), source));
    json_node_free(resp);
    return g_string_free(out, FALSE);
}

static void test_with_xml_source(void)
{
    harness *h = harness_new(NULL);
    char *csv = g_build_filename(h->dir, "kontakte.csv", NULL);
    char *xml = g_build_filename(h->dir, "phonebook.xml", NULL);
    write_file(csv, EXPORT, sizeof(EXPORT) - 1);
    static const char PHONEBOOK[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<contacts>\n"
        "  <contact id=\"p1\"><display_name>Einkauf M\xC3\xBCller</display_name>\n"
        "    <number kind=\"business\">+49 89 123456-17</number></contact>\n"
        "  <contact id=\"p2\"><company>Taxi &amp; Co</company>\n"
        "    <number>089 444 333</number></contact>\n"
        "</contacts>\n";
    write_file(xml, PHONEBOOK, -1);
    char *body = config_body(csv, xml);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    wait_log(h, "source " SOURCE ": generation 1 in use: 3 contacts");
    wait_log(h, "source contacts-xml:phonebook: generation 1 in use: 2 contacts, 2 numbers");

    /* Both know +49 89 123456-17: the CSV's priority 50 before the XML's
     * default 100. */
    char *order = lookup_sources(h, "089 123456-17");
    g_assert_cmpstr(order, ==, SOURCE ", contacts-xml:phonebook");
    g_free(order);
    LOOKUP_FINDS(h, "+49 89 444333", "Taxi & Co");

    /* The XML export is cut short: refused whole, its copy stays. */
    write_file(xml, PHONEBOOK, 150);
    ucctl_expect(h, TRUE, "not well-formed XML", "directory", "replicate",
                 "contacts-xml:phonebook");
    ucctl_expect(h, TRUE, "the last good copy stays (generation 1, 2 contacts)", "directory",
                 "replicate", "contacts-xml:phonebook");
    LOOKUP_FINDS(h, "+49 89 444333", "Taxi & Co");
    g_assert_cmpint(harness_stop(h), ==, 0);

    g_free(body);
    g_free(xml);
    g_free(csv);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/contacts-csv/e2e/nightly-export", test_nightly_export);
    g_test_add_func("/contacts-csv/e2e/with-xml-source", test_with_xml_source);
    return g_test_run();
}
