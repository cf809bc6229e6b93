/*
 * test-contacts-csv.c - contacts-csv without a daemon: the reader, the
 * encodings and the mapping through csv_source_replicate into
 * plugins/common's recording sink, then the plugin itself on the fake host
 * (its keys, its config errors, its service). Every expectation is exact:
 * which rows arrived with which values, which lines were skipped and why.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "contact-sink-recorder.h"
#include "csv-source.h"
#include "fake-host.h"

static char *plugin_path;

/* ---- the sink ---------------------------------------------------------------- */

/* plugins/common's recording sink (contact-sink-recorder.h), on the heap so
 * a test can start over with a fresh one. */
typedef contact_sink_recorder fake_sink;

static fake_sink *sink_new(void)
{
    fake_sink *s = g_new(fake_sink, 1);
    contact_sink_recorder_init(s);
    return s;
}

static void sink_free(fake_sink *s)
{
    contact_sink_recorder_clear(s);
    g_free(s);
}

/* The recorder's line ("ID|NAME|GIVEN|SURNAME|COMPANY|DEPARTMENT|EMAIL|
 * ADDRESS|CRM|kind:raw,...", "-" for none) as "id=1|name=...|business=..."
 * with only the fields the contact has: shorter expectations. */
static char *describe(const char *line)
{
    static const char *const names[] = {"id",         "name",  "given",   "surname", "company",
                                        "department", "email", "address", "crm"};
    char **parts = g_strsplit(line, "|", G_N_ELEMENTS(names) + 1);
    g_assert_cmpuint(g_strv_length(parts), ==, G_N_ELEMENTS(names) + 1);
    GString *out = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(parts[i], "-") != 0)
            g_string_append_printf(out, "%s%s=%s", out->len ? "|" : "", names[i], parts[i]);
    }
    char **numbers = g_strsplit(parts[G_N_ELEMENTS(names)], ",", -1);
    for (char **n = numbers; *n != NULL && **n != '\0'; n++) {
        char *colon = strchr(*n, ':');
        g_assert_nonnull(colon);
        *colon = '=';
        g_string_append_printf(out, "%s%s", out->len ? "|" : "", *n);
    }
    g_strfreev(numbers);
    g_strfreev(parts);
    return g_string_free(out, FALSE);
}

/* The last progress the source reported; every report's `done` at least
 * the one before. */
static void last_progress(const fake_sink *sink, uint64_t *done, uint64_t *total)
{
    const GArray *pairs = sink->progress;
    g_assert_cmpuint(pairs->len, >=, 2);
    for (guint i = 2; i < pairs->len; i += 2)
        g_assert_cmpuint(g_array_index(pairs, guint64, i), >=,
                         g_array_index(pairs, guint64, i - 2));
    *done = g_array_index(pairs, guint64, pairs->len - 2);
    *total = g_array_index(pairs, guint64, pairs->len - 1);
}

/* ---- files ------------------------------------------------------------------------ */

typedef struct fixture {
    char *dir;
    char *path; /* DIR/contacts.csv */
} fixture;

static void fixture_set_up(fixture *f, gconstpointer data)
{
    (void)data;
    f->dir = g_dir_make_tmp("contacts-csv-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->path = g_build_filename(f->dir, "contacts.csv", NULL);
}

static void fixture_tear_down(fixture *f, gconstpointer data)
{
    (void)data;
    g_unlink(f->path);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

static void write_file(fixture *f, const char *bytes, gssize len)
{
    /* No fsync: the random-input test writes thousands of files. */
    g_assert_true(
        g_file_set_contents_full(f->path, bytes, len, G_FILE_SET_CONTENTS_NONE, 0644, NULL));
}

/* Settings for the usual test header Id,Name,Company,Phone,Mobile. */
static csv_source_settings settings_for(fixture *f)
{
    static const char *const business[] = {"Phone", NULL};
    static const char *const mobile[] = {"Mobile", NULL};
    csv_source_settings s = {.path = f->path, .delimiter = ',', .quote = '"'};
    s.spec.columns[CSV_FIELD_SOURCE_ID] = "Id";
    s.spec.columns[CSV_FIELD_DISPLAY_NAME] = "Name";
    s.spec.columns[CSV_FIELD_COMPANY] = "Company";
    s.spec.numbers[UCD_CONTACT_NUMBER_BUSINESS] = business;
    s.spec.numbers[UCD_CONTACT_NUMBER_MOBILE] = mobile;
    return s;
}

static int run(const csv_source_settings *s, fake_sink *sink, char **error)
{
    char *e = NULL;
    int rc = csv_source_replicate(s, &contact_sink_recorder_iface, sink, &e);
    if (rc == UCD_OK)
        g_assert_null(e);
    else
        g_assert_nonnull(e);
    *error = e;
    return rc;
}

static void assert_rows(fake_sink *sink, const char *const *expected)
{
    guint n = g_strv_length((char **)expected);
    for (guint i = 0; i < sink->contacts->len && i < n; i++) {
        char *got = describe(g_ptr_array_index(sink->contacts, i));
        g_assert_cmpstr(got, ==, expected[i]);
        g_free(got);
    }
    g_assert_cmpuint(sink->contacts->len, ==, n);
}

static void assert_skipped(fake_sink *sink, const char *const *expected)
{
    contact_sink_recorder_assert_lines(sink->skipped, expected);
}

/* ---- the reader and the mapping ------------------------------------------------------ */

static void test_plain(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f,
               "Id,Name,Company,Phone,Mobile\n"
               "1,Anna Berg,Berg GmbH,+49 89 1234567,0171 1234567\n"
               "2,  Carl Dorn , ,089 7654321,\n",
               -1);
    csv_source_settings s = settings_for(f);
    fake_sink *sink = sink_new();
    char *error = NULL;
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const rows[] = {
        "id=1|name=Anna Berg|company=Berg GmbH|business=+49 89 1234567|mobile=0171 1234567",
        "id=2|name=Carl Dorn|business=089 7654321", NULL};
    assert_rows(sink, rows);
    g_assert_cmpuint(sink->skipped->len, ==, 0);
    /* The last progress says the whole file. */
    uint64_t done = 0, total = 0;
    last_progress(sink, &done, &total);
    g_assert_cmpuint(done, ==,
                     strlen("Id,Name,Company,Phone,Mobile\n"
                            "1,Anna Berg,Berg GmbH,+49 89 1234567,0171 1234567\n"
                            "2,  Carl Dorn , ,089 7654321,\n"));
    g_assert_cmpuint(total, ==, done);
    sink_free(sink);
}

/* Quoted fields: the delimiter, doubled quotes and line ends inside; the
 * line numbers of later rows count the physical lines. */
static void test_quoting(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f,
               "Id,Name,Company,Phone,Mobile\r\n"
               "1,\"Berg, Anna\",\"The \"\"Best\"\" GmbH\",\"+49 89 1\",\r\n"
               "2,\"Dorn\r\nCarl\",\"Line one\nline two\",089 2,\r\n"
               "\r\n"
               "3,Eck,,089 3\r\n"
               "4,\"\",\"\",\"089 4\",\"\"",
               -1);
    csv_source_settings s = settings_for(f);
    fake_sink *sink = sink_new();
    char *error = NULL;
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const rows[] = {
        "id=1|name=Berg, Anna|company=The \"Best\" GmbH|business=+49 89 1",
        "id=2|name=Dorn\r\nCarl|company=Line one\nline two|business=089 2", "id=4|business=089 4",
        NULL};
    assert_rows(sink, rows);
    /* Row 3 is on line 7: lines 3-5 are row 2 (two line ends in its
     * quotes), line 6 is blank. */
    static const char *const skipped[] = {"contacts.csv line 7: has 4 fields, the header has 5",
                                          NULL};
    assert_skipped(sink, skipped);
    sink_free(sink);
}

static void test_semicolons_and_tabs(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f, "Id;Name;Company;Phone;Mobile\n7;Fritz;A,B;089 1;\n", -1);
    csv_source_settings s = settings_for(f);
    s.delimiter = ';';
    fake_sink *sink = sink_new();
    char *error = NULL;
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const rows[] = {"id=7|name=Fritz|company=A,B|business=089 1", NULL};
    assert_rows(sink, rows);
    sink_free(sink);

    write_file(f, "Id\tName\tCompany\tPhone\tMobile\n8\tGerd\tX; Y\t089 2\t0172 2\n", -1);
    s.delimiter = '\t';
    sink = sink_new();
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const tabbed[] = {"id=8|name=Gerd|company=X; Y|business=089 2|mobile=0172 2",
                                         NULL};
    assert_rows(sink, tabbed);
    sink_free(sink);
}

/* Windows-1252: umlauts, sharp s and the euro sign (0x80, which ISO-8859-1
 * does not have), in the header too. */
static void test_windows_1252(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f,
               "Id;Name;Firma;Telefon;Mobil;Stra\xDF"
               "e\n"
               "1;J\xFCrgen M\xFCller;M\xFCller & S\xF6hne \x80;089 1;;Gro\xDF"
               "e Stra\xDF"
               "e 1\n"
               "2;Bad \x81 byte;;089 2;;\n",
               -1);
    static const char *const business[] = {"Telefon", NULL};
    static const char *const address[] = {"Stra\xC3\x9F"
                                          "e",
                                          NULL};
    csv_source_settings s = {
        .path = f->path, .delimiter = ';', .quote = '"', .encoding = "WINDOWS-1252"};
    s.spec.columns[CSV_FIELD_SOURCE_ID] = "Id";
    s.spec.columns[CSV_FIELD_DISPLAY_NAME] = "Name";
    s.spec.columns[CSV_FIELD_COMPANY] = "Firma";
    s.spec.numbers[UCD_CONTACT_NUMBER_BUSINESS] = business;
    s.spec.address = address;
    fake_sink *sink = sink_new();
    char *error = NULL;
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const rows[] = {
        "id=1|name=J\xC3\xBCrgen M\xC3\xBCller|company=M\xC3\xBCller & S\xC3\xB6hne "
        "\xE2\x82\xAC|address=Gro\xC3\x9F"
        "e Stra\xC3\x9F"
        "e 1|business=089 1",
        NULL};
    assert_rows(sink, rows);
    /* 0x81 is not a character of Windows-1252. */
    static const char *const skipped[] = {
        "contacts.csv line 3: column \"Name\" has a byte that is not a character of the file's "
        "encoding",
        NULL};
    assert_skipped(sink, skipped);
    sink_free(sink);

    /* The same bytes read as ISO-8859-1 are all valid (0x80 and 0x81 are
     * control characters there). */
    s.encoding = "ISO-8859-1";
    sink = sink_new();
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    g_assert_cmpuint(sink->contacts->len, ==, 2);
    g_assert_cmpuint(sink->skipped->len, ==, 0);
    sink_free(sink);
}

static void test_bom(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f, "\xEF\xBB\xBFId,Name,Company,Phone,Mobile\n1,Zo\xC3\xAB,,089 1,\n", -1);
    csv_source_settings s = settings_for(f);
    fake_sink *sink = sink_new();
    char *error = NULL;
    /* Without the BOM skipped, the header's first column would not be "Id". */
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const rows[] = {"id=1|name=Zo\xC3\xAB|business=089 1", NULL};
    assert_rows(sink, rows);
    sink_free(sink);

    /* A UTF-16 export (Excel's "Unicode text") is refused by name. */
    write_file(f, "\xFF\xFEI\0d\0\n\0", 8);
    sink = sink_new();
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_E_INVALID);
    g_assert_nonnull(strstr(error, "is UTF-16"));
    g_assert_nonnull(strstr(error, f->path));
    free(error);
    sink_free(sink);
}

static void test_bad_rows(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f,
               "Id,Name,Company,Phone,Mobile\n"
               "1,Ok One,,089 1,\n"
               "2,Too,Many,089 2,,extra\n"
               "3,Bad \xC3(,,089 3,\n"
               "4,\"Quoted\"trailing,,089 4,\n"
               "5,Ok Five,,089 5,\n"
               "6,No quote end,\"Open,089 6,\n"
               "7,Swallowed,,089 7,\n",
               -1);
    csv_source_settings s = settings_for(f);
    fake_sink *sink = sink_new();
    char *error = NULL;
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const rows[] = {"id=1|name=Ok One|business=089 1",
                                       "id=5|name=Ok Five|business=089 5", NULL};
    assert_rows(sink, rows);
    static const char *const skipped[] = {
        "contacts.csv line 3: has 6 fields, the header has 5",
        "contacts.csv line 4: column \"Name\" is not valid UTF-8",
        "contacts.csv line 5: has text after a closing quote",
        "contacts.csv line 7: has a quote that is not closed by the end of the file", NULL};
    assert_skipped(sink, skipped);
    sink_free(sink);
}

/* A stray quote would make the rest of the file one field: the record
 * limit keeps the memory bounded and the rows after it are read. */
static void test_record_limit(fixture *f, gconstpointer data)
{
    (void)data;
    GString *text = g_string_new("Id,Name,Company,Phone,Mobile\n1,\"");
    for (int i = 0; i < 200; i++)
        g_string_append(text, "a long quoted text,\n");
    g_string_append(text, "\",,089 1,\n2,Next,,089 2,\n");
    write_file(f, text->str, (gssize)text->len);
    g_string_free(text, TRUE);
    csv_source_settings s = settings_for(f);
    s.max_record = 1000;
    fake_sink *sink = sink_new();
    char *error = NULL;
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const rows[] = {"id=2|name=Next|business=089 2", NULL};
    assert_rows(sink, rows);
    static const char *const skipped[] = {
        "contacts.csv line 2: is longer than the longest record allowed (a quote not closed "
        "where meant?)",
        NULL};
    assert_skipped(sink, skipped);
    sink_free(sink);
}

static void test_empty_and_header_only(fixture *f, gconstpointer data)
{
    (void)data;
    csv_source_settings s = settings_for(f);
    char *error = NULL;

    write_file(f, "", 0);
    fake_sink *sink = sink_new();
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_E_INVALID);
    char *expected = g_strdup_printf("%s is empty: no header line", f->path);
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    free(error);
    sink_free(sink);

    /* A header and no rows is a file of 0 contacts: read completely, so
     * UCD_OK; the store's min_ratio decides whether to take it. */
    const char *headers[] = {"Id,Name,Company,Phone,Mobile", "Id,Name,Company,Phone,Mobile\n",
                             "Id,Name,Company,Phone,Mobile\r\n\r\n\n"};
    for (size_t i = 0; i < G_N_ELEMENTS(headers); i++) {
        write_file(f, headers[i], -1);
        sink = sink_new();
        g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
        g_assert_cmpuint(sink->contacts->len, ==, 0);
        g_assert_cmpuint(sink->skipped->len, ==, 0);
        uint64_t done = 0, total = 0;
        last_progress(sink, &done, &total);
        g_assert_cmpuint(done, ==, strlen(headers[i]));
        sink_free(sink);
    }
}

static void test_missing(fixture *f, gconstpointer data)
{
    (void)data;
    csv_source_settings s = settings_for(f);
    char *error = NULL;
    fake_sink *sink = sink_new();
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_E_NOT_FOUND);
    char *expected = g_strdup_printf("%s: cannot open: %s", f->path, g_strerror(ENOENT));
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    free(error);

    write_file(f, "Id,Name,Company,Telephone,Mobile\n1,A,,089 1,\n", -1);
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_E_INVALID);
    expected =
        g_strdup_printf("%s line 1: the header has no column \"Phone\" (map_business)", f->path);
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    free(error);

    /* crm_link's columns are checked the same way. */
    write_file(f, "Id,Name,Company,Phone,Mobile\n1,A,,089 1,\n", -1);
    s.spec.crm_link = "https://crm.example/c/{Key}";
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_E_INVALID);
    g_assert_nonnull(strstr(error, "the header has no column \"Key\" (crm_link)"));
    free(error);
    g_assert_cmpuint(sink->contacts->len, ==, 0);
    sink_free(sink);
}

/* Names made of parts, an address of several columns, the CRM link
 * filled and percent-encoded, an id column left empty. */
static void test_mapping(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f,
               "Kundennr,Vorname,Nachname,Firma,Abteilung,E-Mail,Strasse,PLZ,Ort,Tel,Tel2,Fax\n"
               "K-1,Anna,Berg,Berg GmbH,Einkauf,anna@berg.example,Hauptstr. 1,80331,M\xC3\xBCnchen,"
               "089 1,089 11,089 19\n"
               "K 2,,,Dorn AG,,,,,Berlin,030 2,,\n"
               ",Ohne,Id,,,,,,,089 3,,\n",
               -1);
    static const char *const business[] = {"Tel", "Tel2", NULL};
    static const char *const fax[] = {"Fax", NULL};
    static const char *const address[] = {"Strasse", "PLZ", "Ort", NULL};
    csv_source_settings s = {.path = f->path, .delimiter = ',', .quote = '"'};
    s.spec.columns[CSV_FIELD_SOURCE_ID] = "kundennr"; /* any ASCII case */
    s.spec.columns[CSV_FIELD_GIVEN_NAME] = "Vorname";
    s.spec.columns[CSV_FIELD_SURNAME] = "Nachname";
    s.spec.columns[CSV_FIELD_COMPANY] = "Firma";
    s.spec.columns[CSV_FIELD_DEPARTMENT] = "Abteilung";
    s.spec.columns[CSV_FIELD_EMAIL] = "E-Mail";
    s.spec.address = address;
    s.spec.numbers[UCD_CONTACT_NUMBER_BUSINESS] = business;
    s.spec.numbers[UCD_CONTACT_NUMBER_FAX] = fax;
    s.spec.crm_link = "https://crm.example/c/{Kundennr}?o=1";
    fake_sink *sink = sink_new();
    char *error = NULL;
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    static const char *const rows[] = {
        "id=K-1|name=Anna Berg|given=Anna|surname=Berg|company=Berg GmbH|department=Einkauf|"
        "email=anna@berg.example|address=Hauptstr. 1, 80331, M\xC3\xBCnchen|"
        "crm=https://crm.example/c/K-1?o=1|business=089 1|business=089 11|fax=089 19",
        "id=K 2|name=Dorn AG|company=Dorn AG|address=Berlin|crm=https://crm.example/c/K%202?o=1|"
        "business=030 2",
        NULL};
    assert_rows(sink, rows);
    static const char *const skipped[] = {
        "contacts.csv line 4: has no id in column \"kundennr\" (map_source_id)", NULL};
    assert_skipped(sink, skipped);
    sink_free(sink);

    /* Without map_source_id the row number is the id. */
    s.spec.columns[CSV_FIELD_SOURCE_ID] = NULL;
    s.spec.crm_link = NULL;
    sink = sink_new();
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    g_assert_cmpuint(sink->contacts->len, ==, 3);
    char *third = describe(g_ptr_array_index(sink->contacts, 2));
    g_assert_true(g_str_has_prefix(third, "id=3|name=Ohne Id|"));
    g_free(third);
    sink_free(sink);
}

static void test_spec_check(void)
{
    static const char *const business[] = {"Phone", NULL};
    const char *key = NULL;
    csv_map_spec spec = {0};
    char *error = csv_map_spec_check(&spec, &key);
    g_assert_nonnull(error);
    g_assert_cmpstr(key, ==, "map_display_name");
    g_free(error);
    spec.numbers[UCD_CONTACT_NUMBER_BUSINESS] = business;
    g_assert_null(csv_map_spec_check(&spec, &key));
    const char *bad[] = {"https://x/{id", "https://x/id}", "https://x/{}", "https://x/{a{b}}"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        spec.crm_link = bad[i];
        key = NULL;
        error = csv_map_spec_check(&spec, &key);
        g_assert_nonnull(error);
        g_assert_cmpstr(key, ==, "crm_link");
        g_free(error);
    }
}

/* The store stops a replication (cancelled) and the store refuses more
 * (add fails): both end replicate() with an error, not UCD_OK. */
static void test_cancel_and_store_error(fixture *f, gconstpointer data)
{
    (void)data;
    GString *text = g_string_new("Id,Name,Company,Phone,Mobile\n");
    for (int i = 1; i <= 10000; i++)
        g_string_append_printf(text, "%d,Name %d,,089 %d,\n", i, i, i);
    write_file(f, text->str, (gssize)text->len);
    g_string_free(text, TRUE);
    csv_source_settings s = settings_for(f);
    char *error = NULL;

    fake_sink *sink = sink_new();
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_OK);
    g_assert_cmpuint(sink->contacts->len, ==, 10000);
    sink_free(sink);

    sink = sink_new();
    sink->cancel_after = 5000; /* asked at 4,096 rows (no), then at 8,192 */
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_E_BUSY);
    g_assert_nonnull(strstr(error, "cancelled"));
    free(error);
    g_assert_cmpuint(sink->contacts->len, ==, 8192);
    sink_free(sink);

    sink = sink_new();
    sink->fail_after = 4; /* the 5th contact, on line 6, is refused */
    sink->fail_code = UCD_E_UNAVAILABLE;
    g_assert_cmpint(run(&s, sink, &error), ==, UCD_E_UNAVAILABLE);
    char *expected = g_strdup_printf("%s line 6: the store cannot take more: %s", f->path,
                                     ucd_strerror(UCD_E_UNAVAILABLE));
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    free(error);
    g_assert_cmpuint(sink->contacts->len, ==, 4);
    sink_free(sink);
}

/* Random files over an alphabet of the bytes that matter (delimiters,
 * quotes, line ends, NUL, UTF-8 lead and continuation bytes, Windows-1252
 * holes), with a fixed seed so a failure repeats: whatever comes in, what
 * goes out is UTF-8, every row is a contact or a skipped line, never both,
 * and the replication ends with UCD_OK. */
static void test_random_input(fixture *f, gconstpointer data)
{
    (void)data;
    static const char alphabet[] = {',',    ';',    '"',    '"', '\r', '\n',   '\n',
                                    '\0',   'a',    'b',    ' ', '\t', '\xC3', '\xBC',
                                    '\x80', '\x81', '\xFF', '{', '1'};
    GRand *rand = g_rand_new_with_seed(15);
    guint contacts = 0, skipped = 0;
    for (int round = 0; round < 3000; round++) {
        GString *text = g_string_new("Id,Name,Company,Phone,Mobile\n");
        /* Rows of five fields of random bytes: the bytes break some. */
        for (int row = g_rand_int_range(rand, 0, 20); row > 0; row--) {
            for (int field = 0; field < 5; field++) {
                if (field > 0)
                    g_string_append_c(text, ',');
                for (int i = g_rand_int_range(rand, 0, 6); i > 0; i--)
                    g_string_append_c(text, alphabet[g_rand_int_range(rand, 0, sizeof(alphabet))]);
            }
            g_string_append(text, g_rand_boolean(rand) ? "\n" : "\r\n");
        }
        write_file(f, text->str, (gssize)text->len);
        g_string_free(text, TRUE);
        csv_source_settings s = settings_for(f);
        s.encoding = round % 2 ? "WINDOWS-1252" : NULL;
        s.quote = round % 3 == 0 ? 0 : '"';
        s.max_record = 128;
        fake_sink *sink = sink_new();
        char *error = NULL;
        int rc = run(&s, sink, &error);
        if (rc != UCD_OK)
            g_error("round %d: %s", round, error);
        contacts += sink->contacts->len;
        skipped += sink->skipped->len;
        for (guint i = 0; i < sink->contacts->len; i++)
            g_assert_true(g_utf8_validate(g_ptr_array_index(sink->contacts, i), -1, NULL));
        for (guint i = 0; i < sink->skipped->len; i++)
            g_assert_true(
                g_str_has_prefix(g_ptr_array_index(sink->skipped, i), "contacts.csv line "));
        sink_free(sink);
    }
    g_rand_free(rand);
    /* The alphabet must reach every outcome, or the test tests little. */
    g_test_message("%u contacts, %u skipped rows", contacts, skipped);
    g_assert_cmpuint(contacts, >, 100);
    g_assert_cmpuint(skipped, >, 100);
}

/* ---- the plugin on the fake host ------------------------------------------------------ */

static const ucd_plugin_descriptor *load(void)
{
    static const ucd_plugin_descriptor *descriptor;
    static void *handle;
    if (descriptor == NULL)
        descriptor = fake_load_plugin(plugin_path, "contacts-csv", &handle);
    return descriptor;
}

static void test_plugin(fixture *f, gconstpointer data)
{
    (void)data;
    write_file(f, "Nr;Name;Telefon\n1;Anna;089 1\n", -1);
    fake_module *m = fake_module_new(load(), "contacts-csv:crm");
    const char *const pairs[] = {"file",
                                 f->path,
                                 "delimiter",
                                 ";",
                                 "map_source_id",
                                 "Nr",
                                 "map_display_name",
                                 "Name",
                                 "map_business",
                                 "Telefon",
                                 "priority",
                                 "10",
                                 "replicate_every",
                                 "0",
                                 NULL};
    fake_module_set_pairs(m, pairs);
    fake_module_start(m);
    void *impl = NULL;
    const ucd_contact_source_v1 *source =
        fake_module_service(m, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    g_assert_nonnull(source);
    ucd_contact_source_info info = {.struct_size = sizeof(info)};
    source->info(impl, &info);
    g_assert_cmpint(info.priority, ==, 10);
    g_assert_cmpuint(info.replicate_every, ==, 0);
    g_assert_cmpuint(info.min_ratio, ==, 50);
    fake_sink *sink = sink_new();
    char *error = NULL;
    g_assert_cmpint(source->replicate(impl, &contact_sink_recorder_iface, sink, &error), ==,
                    UCD_OK);
    static const char *const rows[] = {"id=1|name=Anna|business=089 1", NULL};
    assert_rows(sink, rows);
    sink_free(sink);
    fake_module_stop(m);
    fake_module_free(m);
}

/* Each wrong value fails init with a config error on its key. */
static void test_plugin_config_errors(fixture *f, gconstpointer data)
{
    (void)data;
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"delimiter", ";;"},
        {"delimiter", "\xC2\xA7"},
        {"quote", "''"},
        {"quote", ","},
        {"encoding", "NO-SUCH-ENCODING"},
        {"encoding", "UTF-16"},
        {"crm_link", "https://x/{id"},
        {"min_ratio", "101"},
        {"file", ""},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        fake_module *m = fake_module_new(load(), "contacts-csv");
        fake_module_set(m, "file", f->path);
        fake_module_set(m, "map_business", "Phone");
        fake_module_set(m, bad[i].key, bad[i].value);
        g_assert_cmpint(fake_module_init(m), ==, UCD_FAIL);
        g_assert_cmpstr(m->config_error_key, ==, bad[i].key);
        fake_module_free(m);
    }
    /* Nothing mapped at all. */
    fake_module *m = fake_module_new(load(), "contacts-csv");
    fake_module_set(m, "file", f->path);
    g_assert_cmpint(fake_module_init(m), ==, UCD_FAIL);
    g_assert_cmpstr(m->config_error_key, ==, "map_display_name");
    fake_module_free(m);
    /* "tab" and an empty quote are accepted; the file need not exist yet. */
    m = fake_module_new(load(), "contacts-csv");
    fake_module_set(m, "file", "/nonexistent/contacts.csv");
    fake_module_set(m, "map_business", "Phone");
    fake_module_set(m, "delimiter", "tab");
    fake_module_set(m, "quote", "");
    fake_module_set(m, "encoding", "windows-1252");
    g_assert_cmpint(fake_module_init(m), ==, UCD_OK);
    fake_module_stop(m);
    fake_module_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2)
        g_error("usage: %s PLUGIN.so", argv[0]);
    plugin_path = argv[1];
#define ADD(name, fn)                                                                              \
    g_test_add("/contacts-csv/" name, fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("plain", test_plain);
    ADD("quoting", test_quoting);
    ADD("semicolons-and-tabs", test_semicolons_and_tabs);
    ADD("windows-1252", test_windows_1252);
    ADD("bom", test_bom);
    ADD("bad-rows", test_bad_rows);
    ADD("record-limit", test_record_limit);
    ADD("empty-and-header-only", test_empty_and_header_only);
    ADD("missing", test_missing);
    ADD("mapping", test_mapping);
    ADD("cancel-and-store-error", test_cancel_and_store_error);
    ADD("plugin", test_plugin);
    ADD("plugin-config-errors", test_plugin_config_errors);
    ADD("random-input", test_random_input);
    g_test_add_func("/contacts-csv/spec-check", test_spec_check);
    return g_test_run();
}
