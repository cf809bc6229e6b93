/*
 * test-caller-id.c - "who is calling?" end to end (issue 15): the real ucd
 * with pbx-sim, users-file, journal-sqlite, contacts-store and contacts-csv
 * reading a CRM export in Windows-1252. A call from a number in the export
 * names the contact in `ucctl calls` while it rings, a call from an
 * extension behind a switchboard names the company, a colleague's number
 * names the colleague, and the journal row keeps the name after the contact
 * left the export and the store dropped it. The journal is read with SQLite
 * itself.
 */
#include <string.h>

#include "e2e-util.h"
#include "harness.h"

static const char *const USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:u201'><login>anna</login><displayName>Anna Eins</displayName>"
    "<phone type='mobile'>+49 170 5550201</phone><line>201</line></user>\n"
    "  <user id='file:u202'><login>bert</login><displayName>Bert Zwei</displayName>"
    "<line>202</line></user>\n"
    "</users>\n";

/* The CRM's nightly export: ';', Windows-1252, the switchboard row last. */
static const char *const EXPORT_UTF8 =
    "Kundennr;Vorname;Nachname;Firma;Telefon;Mobil\r\n"
    "K-1;Hans;M\xc3\xbcller;M\xc3\xbcller & S\xc3\xb6hne GmbH;+49 30 1234567;\r\n"
    "K-2;;;Zentrale Gr\xc3\xbc\xc3\x9f"
    "e AG;+49 89 123456-0;\r\n";
static const char *const EXPORT_WITHOUT_HANS_UTF8 =
    "Kundennr;Vorname;Nachname;Firma;Telefon;Mobil\r\n"
    "K-2;;;Zentrale Gr\xc3\xbc\xc3\x9f"
    "e AG;+49 89 123456-0;\r\n";

static void write_export(const char *path, const char *utf8)
{
    gsize len = 0;
    GError *err = NULL;
    char *cp1252 = g_convert(utf8, -1, "WINDOWS-1252", "UTF-8", NULL, &len, &err);
    g_assert_no_error(err);
    g_assert_true(g_file_set_contents(path, cp1252, (gssize)len, NULL));
    g_free(cp1252);
}

static harness *start(char **export_path)
{
    harness *h = harness_new(NULL);
    char *users = g_build_filename(h->dir, "users.xml", NULL);
    *export_path = g_build_filename(h->dir, "kontakte.csv", NULL);
    g_assert_true(g_file_set_contents(users, USERS_XML, -1, NULL));
    write_export(*export_path, EXPORT_UTF8);
    char *body = g_strdup_printf("[location default]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "outside_line_prefix = 0\n"
                                 "extension_lengths = 3\n"
                                 "[module pbx-sim:office]\n"
                                 "lines = 201;202\n"
                                 "ring_timeout = 30s\n"
                                 "speed = 20\n"
                                 "[module users-file]\n"
                                 "file = %s\n"
                                 "[module journal-sqlite]\n"
                                 "[module contacts-store]\n"
                                 "[module contacts-csv:crm]\n"
                                 "file = %s\n"
                                 "delimiter = ;\n"
                                 "encoding = WINDOWS-1252\n"
                                 "map_source_id = Kundennr\n"
                                 "map_given_name = Vorname\n"
                                 "map_surname = Nachname\n"
                                 "map_company = Firma\n"
                                 "map_business = Telefon\n"
                                 "map_mobile = Mobil\n"
                                 "switchboard = true\n"
                                 "replicate_every = 0s\n",
                                 users, *export_path);
    harness_write_config(h, body);
    g_free(body);
    g_free(users);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "contacts-store", "running"));
    g_assert_true(harness_wait_state(h, "pbx-sim:office", "running"));
    e2e_wait_users(h, USERS_XML);
    return h;
}

/* The value of `column` in the first row of a table reply (g_free it). */
static char *cell(JsonNode *r, const char *column, guint row)
{
    JsonObject *o = json_node_get_object(r);
    JsonArray *rows = json_object_get_array_member(o, "rows");
    if (row >= json_array_get_length(rows))
        return NULL;
    return g_strdup(json_array_get_string_element(json_array_get_array_element(rows, row),
                                                  (guint)e2e_column(o, column)));
}

/* Polls `ucctl directory sources` until the source holds `contacts`. */
static void wait_contacts(harness *h, const char *contacts)
{
    char *got = NULL;
    for (int i = 0; i < 400; i++) {
        g_free(got);
        JsonNode *r = e2e_ctl(h, "directory", "sources", NULL, NULL);
        got = cell(r, "contacts", 0);
        json_node_free(r);
        if (g_strcmp0(got, contacts) == 0)
            break;
        g_usleep(50 * 1000);
    }
    g_assert_cmpstr(got, ==, contacts);
    g_free(got);
}

/* The party column of the leg on `line` (g_free it). */
static char *party_on(harness *h, const char *line)
{
    JsonNode *r = e2e_ctl(h, "calls", NULL, NULL, NULL);
    JsonObject *o = json_node_get_object(r);
    JsonArray *rows = json_object_get_array_member(o, "rows");
    int line_col = e2e_column(o, "line"), party_col = e2e_column(o, "party");
    char *party = NULL;
    for (guint i = 0; i < json_array_get_length(rows) && !party; i++) {
        JsonArray *row = json_array_get_array_element(rows, i);
        if (strcmp(json_array_get_string_element(row, (guint)line_col), line) == 0)
            party = g_strdup(json_array_get_string_element(row, (guint)party_col));
    }
    json_node_free(r);
    return party;
}

static char *ring(harness *h, const char *from, const char *line)
{
    json_node_free(e2e_ctl(h, "sim-office", "call", from, line));
    return e2e_leg_on(h, line, "offering");
}

static void hang_up(harness *h, const char *line, const char *call)
{
    json_node_free(e2e_ctl(h, "answer", line, call, NULL));
    json_node_free(e2e_ctl(h, "hangup", line, call, NULL));
}

/* The journal's callers and their names, oldest first, once all three
 * calls are in it. */
static char *journal_names(harness *h)
{
    char *rows = NULL;
    for (int i = 0; i < 400; i++) {
        g_free(rows);
        rows = e2e_journal_sql(h, "SELECT source_number, source_name FROM conversation "
                                  "ORDER BY start_ms");
        guint lines = 0;
        for (const char *p = rows ? rows : ""; *p; p++)
            lines += *p == '\n';
        if (lines >= 3)
            break;
        g_usleep(50 * 1000);
    }
    return rows;
}

static void test_caller_identified(void)
{
    char *export_path = NULL;
    harness *h = start(&export_path);
    wait_contacts(h, "2");

    /* The PBX sends the national form; the export holds "+49 30 1234567". */
    char *c1 = ring(h, "0301234567", "201");
    char *party = party_on(h, "201");
    g_assert_cmpstr(party, ==,
                    "Hans M\xc3\xbcller, M\xc3\xbcller & S\xc3\xb6hne GmbH (contacts-csv:crm)");
    g_free(party);
    hang_up(h, "201", c1);

    /* Extension 77 behind the company's switchboard number ...-0. */
    char *c2 = ring(h, "08912345677", "202");
    party = party_on(h, "202");
    g_assert_cmpstr(party, ==,
                    "Zentrale Gr\xc3\xbc\xc3\x9f"
                    "e AG (contacts-csv:crm)");
    g_free(party);
    hang_up(h, "202", c2);

    /* A colleague's mobile: the directory comes before the contacts. */
    char *c3 = ring(h, "01705550201", "202");
    party = party_on(h, "202");
    g_assert_cmpstr(party, ==, "Anna Eins (directory)");
    g_free(party);
    hang_up(h, "202", c3);

    /* Hans leaves the export; the store drops him, the journal keeps him. */
    write_export(export_path, EXPORT_WITHOUT_HANS_UTF8);
    json_node_free(e2e_ctl(h, "directory", "replicate", "contacts-csv:crm", NULL));
    wait_contacts(h, "1");
    const char *lookup[] = {"directory", "lookup", "0301234567", NULL};
    JsonNode *r = harness_request(h, lookup);
    g_assert_nonnull(r);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "ok"));
    json_node_free(r);
    char *rows = journal_names(h);
    g_assert_cmpstr(rows, ==,
                    "0301234567|Hans M\xc3\xbcller\n"
                    "08912345677|Zentrale Gr\xc3\xbc\xc3\x9f"
                    "e AG\n"
                    "01705550201|Anna Eins\n");
    g_free(rows);

    g_free(c1);
    g_free(c2);
    g_free(c3);
    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(export_path);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/caller-id/identified", test_caller_identified);
    return g_test_run();
}
