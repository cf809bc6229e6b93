/*
 * test-contacts-store.c - contacts-store through the fake host, with the
 * core's real number service and fake contact sources: replication and the
 * swap, the last good copy on a failed and on a too-small copy, every raw
 * form of the issue, switchboard prefixes, priorities and the sources
 * filter, search, readers during replications, and the copies read back
 * from the database after a restart.
 *
 * The expected hits are written out by hand; the database is checked with
 * SQLite itself (only the current generation's rows are left).
 */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "config.h"
#include "fake-host.h"
#include "numbers.h"
#include <ucd/contacts.h>

static const char *plugin_path;
static const ucd_plugin_descriptor *descriptor;

/* ---- the core's number service: Munich, and a Munich PBX whose outside
 * line is 0 ---- */

static const char numbers_conf[] = "[location default]\n"
                                   "country_code = 49\n"
                                   "area_code = 89\n"
                                   "[location munich]\n"
                                   "country_code = 49\n"
                                   "area_code = 89\n"
                                   "outside_line_prefix = 0\n"
                                   "[module pbx-sim:munich]\n"
                                   "location = munich\n";

typedef struct numbers_fixture {
    char *dir, *file;
    core_config *cfg;
    core_numbers *numbers;
} numbers_fixture;

static numbers_fixture *numbers_up(void)
{
    numbers_fixture *n = g_new0(numbers_fixture, 1);
    GError *err = NULL;
    n->dir = g_dir_make_tmp("ucd-contacts-num-XXXXXX", &err);
    g_assert_no_error(err);
    n->file = g_build_filename(n->dir, "ucd.conf", NULL);
    g_file_set_contents(n->file, numbers_conf, -1, &err);
    g_assert_no_error(err);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    n->cfg = core_config_load(n->file, NULL, errors);
    g_assert_nonnull(n->cfg);
    n->numbers = core_numbers_new(n->cfg, errors);
    g_assert_nonnull(n->numbers);
    g_assert_cmpuint(errors->len, ==, 0);
    g_ptr_array_unref(errors);
    return n;
}

static void numbers_down(numbers_fixture *n)
{
    core_numbers_free(n->numbers);
    core_config_free(n->cfg);
    g_remove(n->file);
    g_rmdir(n->dir);
    g_free(n->file);
    g_free(n->dir);
    g_free(n);
}

/* ---- a fake contact source ----
 * Its contacts are lines "ID|NAME|COMPANY|RAW:KIND,RAW:KIND"; `fail` makes
 * replicate() fail after reading half of them. */

typedef struct fake_source {
    ucd_contact_source_info info;
    GPtrArray *lines;
    const char *fail;
    int skip_one; /* reports one record as skipped */
    int replications;
    /* Called in the middle of replicate(), on its thread. */
    void (*midway)(void *data);
    void *midway_data;
} fake_source;

static void fake_info(void *impl, ucd_contact_source_info *out)
{
    fake_source *s = impl;
    *out = s->info;
}

static int push_line(const ucd_contact_sink *sink, void *sink_impl, const char *line)
{
    char **f = g_strsplit(line, "|", 4);
    char **nums = g_strsplit(f[3] ? f[3] : "", ",", -1);
    ucd_contact_number numbers[8];
    uint32_t n = 0;
    for (char **p = nums; *p && n < 8; p++) {
        if (**p == '\0')
            continue;
        char *colon = strrchr(*p, ':');
        *colon = '\0';
        numbers[n++] = (ucd_contact_number){sizeof numbers[0], (uint32_t)atoi(colon + 1), *p};
    }
    ucd_contact c = {.struct_size = sizeof c,
                     .source_id = f[0],
                     .display_name = f[1][0] ? f[1] : NULL,
                     .company = f[2][0] ? f[2] : NULL,
                     .n_numbers = n,
                     .numbers = numbers};
    int rc = sink->add(sink_impl, &c);
    g_strfreev(nums);
    g_strfreev(f);
    return rc;
}

static int fake_replicate(void *impl, const ucd_contact_sink *sink, void *sink_impl, char **error)
{
    fake_source *s = impl;
    s->replications++;
    for (guint i = 0; i < s->lines->len; i++) {
        if (s->fail != NULL && i == s->lines->len / 2) {
            *error = strdup(s->fail);
            return UCD_E_UNAVAILABLE;
        }
        if (s->midway != NULL && i == s->lines->len / 2)
            s->midway(s->midway_data);
        int rc = push_line(sink, sink_impl, g_ptr_array_index(s->lines, i));
        if (rc != UCD_OK && rc != UCD_E_INVALID)
            return rc;
        sink->progress(sink_impl, i + 1, s->lines->len);
    }
    if (s->skip_one)
        sink->skipped(sink_impl, "fake.csv line 7", "wrong column count (3, expected 4)");
    return UCD_OK;
}

static const ucd_contact_source_v1 fake_source_iface = {
    .struct_size = sizeof fake_source_iface,
    .info = fake_info,
    .replicate = fake_replicate,
};

static fake_source *fake_source_new(int32_t priority, uint32_t switchboard,
                                    const char *const *lines)
{
    fake_source *s = g_new0(fake_source, 1);
    s->info = (ucd_contact_source_info){sizeof s->info, priority, 0, 50, switchboard};
    s->lines = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *l = lines; *l; l++)
        g_ptr_array_add(s->lines, g_strdup(*l));
    return s;
}

static void fake_source_set(fake_source *s, const char *const *lines)
{
    g_ptr_array_set_size(s->lines, 0);
    for (const char *const *l = lines; *l; l++)
        g_ptr_array_add(s->lines, g_strdup(*l));
}

static void fake_source_free(fake_source *s)
{
    g_ptr_array_unref(s->lines);
    g_free(s);
}

/* ---- the store under test ---- */

typedef struct fixture {
    numbers_fixture *numbers;
    char *state_dir;
    fake_module *module;
    const ucd_contacts_v1 *contacts;
    void *impl;
    GPtrArray *sources; /* fake_source *, freed with the fixture */
} fixture;

static void store_up(fixture *fx, gboolean at_start)
{
    fx->module = fake_module_new(descriptor, "contacts-store");
    fake_module_set_state_dir(fx->module, fx->state_dir);
    fake_module_set(fx->module, "replicate_at_start", at_start ? "true" : "false");
    fake_module_start(fx->module);
    fx->contacts =
        fake_module_service(fx->module, UCD_CONTACTS_SERVICE, UCD_CONTACTS_MAJOR, &fx->impl);
    g_assert_nonnull(fx->contacts);
}

static void store_down(fixture *fx)
{
    fake_module_stop(fx->module);
    fake_module_free(fx->module);
    fx->module = NULL;
}

static void fixture_up(fixture *fx)
{
    GError *err = NULL;
    memset(fx, 0, sizeof *fx);
    fx->numbers = numbers_up();
    fake_provide_service("core", UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, core_numbers_iface(),
                         fx->numbers->numbers);
    fx->state_dir = g_dir_make_tmp("ucd-contacts-store-XXXXXX", &err);
    g_assert_no_error(err);
    fx->sources = g_ptr_array_new_with_free_func((GDestroyNotify)fake_source_free);
}

/* A fake source running as module `name`. */
static fake_source *add_source(fixture *fx, const char *name, int32_t priority,
                               uint32_t switchboard, const char *const *lines)
{
    fake_source *s = fake_source_new(priority, switchboard, lines);
    fake_provide_service(name, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                         &fake_source_iface, s);
    g_ptr_array_add(fx->sources, s);
    return s;
}

static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        char *path = g_build_filename(dir, name, NULL);
        g_remove(path);
        g_free(path);
    }
    if (d != NULL)
        g_dir_close(d);
    g_rmdir(dir);
}

static void fixture_down(fixture *fx)
{
    if (fx->module != NULL)
        store_down(fx);
    fake_withdraw_services();
    numbers_down(fx->numbers);
    remove_tree(fx->state_dir);
    g_free(fx->state_dir);
    g_ptr_array_unref(fx->sources);
}

/* Every hit of a lookup as "NAME@SOURCE/exact|prefix", joined by "; ". */
static int collect(const ucd_contact_hit *hit, void *data)
{
    GString *out = data;
    g_string_append_printf(out, "%s%s@%s/%s", out->len ? "; " : "",
                           hit->contact->display_name ? hit->contact->display_name : "?",
                           hit->source, hit->prefix_match ? "prefix" : "exact");
    return 0;
}

static char *lookup(fixture *fx, const char *context, const char *number,
                    const char *const *sources, int expect_rc)
{
    GString *out = g_string_new(NULL);
    int rc = fx->contacts->lookup(fx->impl, context, number, sources, collect, out);
    if (rc != expect_rc)
        g_error("lookup %s (context %s): rc %d, expected %d; hits: %s", number,
                context ? context : "-", rc, expect_rc, out->str);
    return g_string_free(out, FALSE);
}

static void lookup_is(fixture *fx, const char *context, const char *number, const char *expected)
{
    char *got = lookup(fx, context, number, NULL, expected ? UCD_OK : UCD_E_NOT_FOUND);
    g_assert_cmpstr(got, ==, expected ? expected : "");
    g_free(got);
}

static char *search(fixture *fx, const char *query, const char *const *sources)
{
    GString *out = g_string_new(NULL);
    g_assert_cmpint(fx->contacts->search(fx->impl, query, sources, 0, collect, out), ==, UCD_OK);
    return g_string_free(out, FALSE);
}

static char *replicate(fixture *fx, const char *name)
{
    return fake_module_command(fx->module, UCD_OK, "replicate", name, NULL);
}

/* The row of `source` in `directory sources`. */
static char *sources_row(fixture *fx, const char *source)
{
    int rc = 0;
    static const char *const args[] = {"sources", NULL};
    char **lines = fake_module_run_command(fx->module, &rc, args);
    g_assert_cmpint(rc, ==, UCD_OK);
    char *prefix = g_strdup_printf("row:%s,", source);
    char *row = NULL;
    for (char **l = lines; *l; l++)
        if (g_str_has_prefix(*l, prefix))
            row = g_strdup(*l);
    g_free(prefix);
    g_strfreev(lines);
    g_assert_nonnull(row);
    return row;
}

static int64_t db_count(fixture *fx, const char *sql)
{
    char *path = g_build_filename(fx->state_dir, "contacts.sqlite", NULL);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    g_free(path);
    return n;
}

/* ---- the tests ---- */

static const char *const crm_lines[] = {
    "c1|Anna Müller|Müller GmbH|089 1234567:1,+49 171 5550001:2",
    "c2|Bernd Schmidt|Schmidt & Co|+49 (30) 9876543:1",
    "c3|Carla Rossi||0039 06 5551234:2",
    "c4|Internal Only||201:1",
    "c5|Not A Number||call me:1",
    NULL,
};

static void test_raw_forms(void)
{
    fixture fx;
    fixture_up(&fx);
    fake_source *crm = add_source(&fx, "contacts-fake:crm", 100, 0, crm_lines);
    store_up(&fx, TRUE);
    g_assert_cmpint(crm->replications, ==, 1);

    const char *anna = "Anna Müller@contacts-fake:crm/exact";
    /* Every form of the issue, at the default location (Munich). */
    lookup_is(&fx, NULL, "0891234567", anna);
    lookup_is(&fx, NULL, "+49 89 1234567", anna);
    lookup_is(&fx, NULL, "0049891234567", anna);
    lookup_is(&fx, NULL, "+49891234567", anna);
    lookup_is(&fx, NULL, "1234567", anna); /* a local number without its area code */
    /* An outside-line prefix, as a Munich PBX driver sends it. */
    lookup_is(&fx, "pbx-sim:munich", "00891234567", anna);
    lookup_is(&fx, "pbx-sim:munich", "0 0049 89 1234567", anna);
    lookup_is(&fx, NULL, "01715550001", anna);
    lookup_is(&fx, NULL, "030 9876543", "Bernd Schmidt@contacts-fake:crm/exact");
    lookup_is(&fx, NULL, "+39 06 5551234", "Carla Rossi@contacts-fake:crm/exact");
    lookup_is(&fx, NULL, "0891234568", NULL);
    /* An extension is no E.164 number: never looked up; garbage is invalid. */
    lookup_is(&fx, NULL, "201", NULL);
    g_free(lookup(&fx, NULL, "hello", NULL, UCD_E_INVALID));

    /* The command shows the same, with the matched number and the E.164 form. */
    char *out = fake_module_command(fx.module, UCD_OK, "lookup", "00891234567", "--context",
                                    "pbx-sim:munich", NULL);
    g_assert_nonnull(strstr(out, "e164=+49891234567"));
    g_assert_nonnull(strstr(out, "row:Anna Müller,Müller GmbH,,exact 089 1234567 (business)"));
    g_free(out);
    out = fake_module_command(fx.module, UCD_E_NOT_FOUND, "lookup", "+4940111", NULL);
    g_assert_cmpstr(out, ==, "error"); /* its text: the e2e test */
    g_free(out);

    /* The number that is none is kept (shown) but not indexed, and logged. */
    g_assert_true(fake_module_log_has(fx.module, UCD_LOG_WARNING,
                                      "contact c5: 'call me' is not a phone number"));
    fixture_down(&fx);
}

static void test_switchboard(void)
{
    static const char *const lines[] = {
        "s1|Acme Switchboard|Acme|+49 89 123456-0:1",
        "s2|Bob Acme|Acme|+49 89 123456-77:1",
        "s3|Acme Sales|Acme|+49 89 1234-0:1",
        NULL,
    };
    fixture fx;
    fixture_up(&fx);
    fake_source *src = add_source(&fx, "contacts-fake:acme", 100, 1, lines);
    store_up(&fx, TRUE);
    /* An extension behind the switchboard: the longest prefix first. */
    lookup_is(&fx, NULL, "+49 89 123456-12",
              "Acme Switchboard@contacts-fake:acme/prefix; Acme Sales@contacts-fake:acme/prefix");
    /* A known extension: exact first, then the switchboards. */
    lookup_is(&fx, NULL, "089 12345677",
              "Bob Acme@contacts-fake:acme/exact; Acme Switchboard@contacts-fake:acme/prefix; "
              "Acme Sales@contacts-fake:acme/prefix");
    /* The switchboard itself: once, exact. */
    lookup_is(&fx, NULL, "0891234560",
              "Acme Switchboard@contacts-fake:acme/exact; Acme Sales@contacts-fake:acme/prefix");
    lookup_is(&fx, NULL, "089 1299", NULL);
    store_down(&fx);

    /* Without `switchboard` the same numbers are only themselves. */
    src->info.switchboard = 0;
    store_up(&fx, TRUE);
    lookup_is(&fx, NULL, "+49 89 123456-12", NULL);
    lookup_is(&fx, NULL, "0891234560", "Acme Switchboard@contacts-fake:acme/exact");
    fixture_down(&fx);
}

static void test_priority_and_filter(void)
{
    static const char *const a_lines[] = {"a1|Anna from CRM|CRM AG|089 1234567:1", NULL};
    static const char *const b_lines[] = {"b1|Anna from LDAP|LDAP AG|+49891234567:1", NULL};
    fixture fx;
    fixture_up(&fx);
    add_source(&fx, "contacts-fake:crm", 200, 0, a_lines);
    add_source(&fx, "contacts-fake:ldap", 10, 0, b_lines);
    store_up(&fx, TRUE);
    lookup_is(&fx, NULL, "0891234567",
              "Anna from LDAP@contacts-fake:ldap/exact; Anna from CRM@contacts-fake:crm/exact");
    static const char *const only_crm[] = {"contacts-fake:crm", NULL};
    char *got = lookup(&fx, NULL, "0891234567", only_crm, UCD_OK);
    g_assert_cmpstr(got, ==, "Anna from CRM@contacts-fake:crm/exact");
    g_free(got);
    static const char *const none[] = {"contacts-fake:other", NULL};
    g_free(lookup(&fx, NULL, "0891234567", none, UCD_E_NOT_FOUND));
    got = search(&fx, "anna", only_crm);
    g_assert_cmpstr(got, ==, "Anna from CRM@contacts-fake:crm/exact");
    g_free(got);
    got = search(&fx, "anna ldap", NULL);
    g_assert_cmpstr(got, ==, "Anna from LDAP@contacts-fake:ldap/exact");
    g_free(got);
    fixture_down(&fx);
}

static void test_search(void)
{
    fixture fx;
    fixture_up(&fx);
    add_source(&fx, "contacts-fake:crm", 100, 0, crm_lines);
    store_up(&fx, TRUE);
    const char *anna = "Anna Müller@contacts-fake:crm/exact";
    static const struct {
        const char *query, *expected;
    } cases[] = {
        {"mül gmb", "Anna Müller@contacts-fake:crm/exact"},
        {"MUELLER", ""}, /* no transliteration, only diacritics folded */
        {"muller", "Anna Müller@contacts-fake:crm/exact"},
        {"an mü", "Anna Müller@contacts-fake:crm/exact"},
        {"schmidt &", "Bernd Schmidt@contacts-fake:crm/exact"},
        {"0891234", "Anna Müller@contacts-fake:crm/exact"},       /* national digits */
        {"49891", "Anna Müller@contacts-fake:crm/exact"},         /* E.164 digits */
        {"089-123", "Anna Müller@contacts-fake:crm/exact"},       /* typed with punctuation */
        {"9876", "Bernd Schmidt@contacts-fake:crm/exact"},        /* the raw form's last part */
        {"rossi \"carla", "Carla Rossi@contacts-fake:crm/exact"}, /* a quote is a character */
        {"nobody", ""},
        /* A short word beside a longer one is checked on the hits. */
        {"mül g", "Anna Müller@contacts-fake:crm/exact"},
        {"muller a", "Anna Müller@contacts-fake:crm/exact"},
        {"müller x", ""},
        {"rossi C", "Carla Rossi@contacts-fake:crm/exact"},
        {"müller 08", "Anna Müller@contacts-fake:crm/exact"},
        {"müller 03", ""},
        {"b schmi", "Bernd Schmidt@contacts-fake:crm/exact"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *got = search(&fx, cases[i].query, NULL);
        if (strcmp(got, cases[i].expected) != 0)
            g_error("search '%s': got '%s', expected '%s'", cases[i].query, got, cases[i].expected);
        g_free(got);
    }
    (void)anna;
    g_assert_cmpint(fx.contacts->search(fx.impl, " - ", NULL, 0, collect, NULL), ==, UCD_E_INVALID);
    char *out = fake_module_command(fx.module, UCD_OK, "search", "bernd", NULL);
    g_assert_nonnull(strstr(out, "row:Bernd Schmidt,Schmidt & Co,,search,+49 (30) 9876543 "
                                 "(business),,contacts-fake:crm,100,c2"));
    g_free(out);
    fixture_down(&fx);
}

static void test_last_good_copy(void)
{
    static const char *const ten[] = {"p0|Person 0||+49 89 1000:1",
                                      "p1|Person 1||+49 89 1001:1",
                                      "p2|Person 2||+49 89 1002:1",
                                      "p3|Person 3||+49 89 1003:1",
                                      "p4|Person 4||+49 89 1004:1",
                                      "p5|Person 5||+49 89 1005:1",
                                      "p6|Person 6||+49 89 1006:1",
                                      "p7|Person 7||+49 89 1007:1",
                                      "p8|Person 8||+49 89 1008:1",
                                      "p9|Person 9||+49 89 1009:1",
                                      NULL};
    static const char *const two[] = {"p0|Person Zero||+49 89 1000:1", "p1|Person 1||+49 89 1001:1",
                                      NULL};
    fixture fx;
    fixture_up(&fx);
    fake_source *src = add_source(&fx, "contacts-fake:crm", 100, 0, ten);
    store_up(&fx, TRUE);
    lookup_is(&fx, NULL, "0891009", "Person 9@contacts-fake:crm/exact");
    char *row = sources_row(&fx, "contacts-fake:crm");
    g_assert_nonnull(strstr(row, ",running,100,10,10,1,"));
    g_assert_true(g_str_has_suffix(row, ",ok,0"));
    g_free(row);

    /* The source fails halfway: nothing changes but the attempt's result. */
    src->fail = "crm.example: connection reset after 5 rows";
    char *out = replicate(&fx, "contacts-fake:crm");
    g_assert_nonnull(strstr(out, "result=failed: crm.example: connection reset after 5 rows; the "
                                 "last good copy stays (generation 1, 10 contacts)"));
    g_free(out);
    lookup_is(&fx, NULL, "0891009", "Person 9@contacts-fake:crm/exact");
    row = sources_row(&fx, "contacts-fake:crm");
    g_assert_nonnull(strstr(row, ",running,100,10,10,1,"));
    g_assert_nonnull(strstr(row, "failed: crm.example: connection reset"));
    g_free(row);
    g_assert_true(fake_module_log_has(fx.module, UCD_LOG_WARNING,
                                      "source contacts-fake:crm: replication failed: crm.example"));
    g_assert_cmpint(fake_module_counter(fx.module, "replications_failed"), ==, 1);

    /* Two of ten: below min_ratio 50 %, refused. */
    src->fail = NULL;
    fake_source_set(src, two);
    out = replicate(&fx, "contacts-fake:crm");
    g_assert_nonnull(strstr(out, "result=refused: 2 contacts is below min_ratio 50 % of the last "
                                 "good copy; the last good copy stays (generation 1, 10 "
                                 "contacts)"));
    g_free(out);
    lookup_is(&fx, NULL, "0891009", "Person 9@contacts-fake:crm/exact");
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM contacts"), ==, 10);

    /* With min_ratio 0 the small copy is taken, and only it is left. */
    src->info.min_ratio = 0;
    store_down(&fx);
    store_up(&fx, FALSE);
    src->skip_one = 1;
    out = replicate(&fx, "contacts-fake:crm");
    g_assert_nonnull(strstr(out, "result=ok, generation=2, contacts=2, numbers=2, skipped=1"));
    g_free(out);
    lookup_is(&fx, NULL, "0891009", NULL);
    lookup_is(&fx, NULL, "0891000", "Person Zero@contacts-fake:crm/exact");
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM contacts"), ==, 2);
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM numbers"), ==, 2);
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM contacts_fts"), ==, 2);
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM contacts WHERE generation != 2"), ==, 0);
    g_assert_true(fake_module_log_has(fx.module, UCD_LOG_WARNING,
                                      "fake.csv line 7: wrong column count (3, expected 4)"));
    row = sources_row(&fx, "contacts-fake:crm");
    g_assert_true(g_str_has_suffix(row, ",ok,1"));
    g_free(row);
    char *search_out = search(&fx, "zero", NULL);
    g_assert_cmpstr(search_out, ==, "Person Zero@contacts-fake:crm/exact");
    g_free(search_out);
    fixture_down(&fx);
}

/* The copies in the database serve lookups and search at the next start,
 * before (and without) any replication; a source that is gone is shown as
 * not running with its copy. */
static void test_restart(void)
{
    fixture fx;
    fixture_up(&fx);
    fake_source *crm = add_source(&fx, "contacts-fake:crm", 100, 0, crm_lines);
    store_up(&fx, TRUE);
    store_down(&fx);
    fake_withdraw_services();
    fake_provide_service("core", UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, core_numbers_iface(),
                         fx.numbers->numbers);
    store_up(&fx, TRUE);
    g_assert_cmpint(crm->replications, ==, 1);
    lookup_is(&fx, NULL, "+49 89 1234567", "Anna Müller@contacts-fake:crm/exact");
    char *got = search(&fx, "rossi", NULL);
    g_assert_cmpstr(got, ==, "Carla Rossi@contacts-fake:crm/exact");
    g_free(got);
    char *row = sources_row(&fx, "contacts-fake:crm");
    g_assert_nonnull(strstr(row, ",not running,100,5,6,1,"));
    g_free(row);
    char *out =
        fake_module_command(fx.module, UCD_E_NOT_FOUND, "replicate", "contacts-fake:crm", NULL);
    g_assert_cmpstr(out, ==, "error"); /* its text: the e2e test */
    g_free(out);
    fixture_down(&fx);
}

/* Runs `sql` on the store's file (no store running). */
static void db_exec(fixture *fx, const char *sql)
{
    char *path = g_build_filename(fx->state_dir, "contacts.sqlite", NULL);
    sqlite3 *db = NULL;
    char *msg = NULL;
    g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        g_error("%s: %s", sql, msg);
    sqlite3_close(db);
    g_free(path);
}

/* FTS5's own check of the index against contacts, the content it indexes:
 * an entry left behind or missing fails it. */
static void index_is_sound(fixture *fx)
{
    db_exec(fx, "INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('integrity-check', 1)");
}

/* Search answers the same through every way the index is written: a file
 * of search index layout 1 (the full-text table held its own copy of the
 * text) is migrated at start (on the load worker, not in init) and answers
 * before any replication; a source
 * replaced while a bigger one is there gets its entries deleted and written
 * row by row; the bigger one replaced, the index is rebuilt. A number's
 * digits that are a prefix of another's are left out of the index, and
 * still find the contact. */
static void test_search_index(void)
{
    static const char *const small_lines[] = {"s1|Sven Small||+49 89 4440000:1", NULL};
    static const char *const small_new[] = {"s1|Susi Small||+49 89 4440000:1,089 444000012:4",
                                            NULL};
    fixture fx;
    fixture_up(&fx);
    fake_source *crm = add_source(&fx, "contacts-fake:crm", 100, 0, crm_lines);
    fake_source *small = add_source(&fx, "contacts-fake:small", 100, 0, small_lines);
    small->info.min_ratio = 0;
    store_up(&fx, TRUE);
    store_down(&fx);

    /* The file as the layout 1 store wrote it. */
    db_exec(&fx, "DROP TABLE contacts_fts;"
                 "ALTER TABLE contacts DROP COLUMN number_terms;"
                 "DELETE FROM meta WHERE key = 'search_index';"
                 "CREATE VIRTUAL TABLE contacts_fts USING fts5("
                 "  display_name, given_name, surname, company, department, email, address,"
                 "  numbers, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3');"
                 "INSERT INTO contacts_fts(rowid, display_name, given_name, surname, company,"
                 "  department, email, address, numbers)"
                 " SELECT id, display_name, given_name, surname, company, department, email,"
                 "  address, (SELECT group_concat(substr(e164, 2) || ' ' ||"
                 "  coalesce(display_digits, '') || ' ' || coalesce(raw, ''), ' ')"
                 "  FROM numbers WHERE contact = id) FROM contacts;");
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM contacts_fts_content"), ==, 6);

    store_up(&fx, FALSE);
    g_assert_cmpint(crm->replications, ==, 1);
    g_assert_true(fake_module_log_has(fx.module, UCD_LOG_NOTICE, "search index migrated in"));
    g_assert_cmpint(db_count(&fx, "SELECT value FROM meta WHERE key = 'search_index'"), ==, 2);
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM sqlite_master"
                                  " WHERE name = 'contacts_fts_content'"),
                    ==, 0);
    index_is_sound(&fx);
    static const struct {
        const char *query, *expected;
    } cases[] = {
        {"mül gmb", "Anna Müller@contacts-fake:crm/exact"},
        {"0891234", "Anna Müller@contacts-fake:crm/exact"},
        {"49171555", "Anna Müller@contacts-fake:crm/exact"},
        {"9876", "Bernd Schmidt@contacts-fake:crm/exact"},
        {"rossi", "Carla Rossi@contacts-fake:crm/exact"},
        {"sven", "Sven Small@contacts-fake:small/exact"},
        {"susi", ""},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *got = search(&fx, cases[i].query, NULL);
        if (strcmp(got, cases[i].expected) != 0)
            g_error("after migration, search '%s': got '%s', expected '%s'", cases[i].query, got,
                    cases[i].expected);
        g_free(got);
    }
    lookup_is(&fx, NULL, "+49 89 1234567", "Anna Müller@contacts-fake:crm/exact");

    /* The small source replaced row by row beside the crm's five. */
    fake_source_set(small, small_new);
    g_free(replicate(&fx, "contacts-fake:small"));
    index_is_sound(&fx);
    /* The business number's E.164 and national digits and its last part
     * (4440000) are prefixes of the fax's (089 444000012): only the fax's
     * are in the index, "49" of the E.164 digits too. */
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM contacts WHERE number_terms ="
                                  " '89 4440000 0894440000 4989444000012 089444000012'"),
                    ==, 0);
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM contacts WHERE number_terms ="
                                  " '089444000012 444000012 4989444000012 89'"),
                    ==, 1);
    static const char *const small_queries[] = {"susi",    "08944400", "498944400",
                                                "4440000", "89",       NULL};
    for (const char *const *q = small_queries; *q != NULL; q++) {
        char *got = search(&fx, *q, NULL);
        if (strstr(got, "Susi Small@contacts-fake:small/exact") == NULL)
            g_error("search '%s': got '%s', expected Susi Small", *q, got);
        g_free(got);
    }
    char *got = search(&fx, "sven", NULL);
    g_assert_cmpstr(got, ==, "");
    g_free(got);

    /* The crm replaced: the index is rebuilt, the small source's stays. */
    g_free(replicate(&fx, "contacts-fake:crm"));
    index_is_sound(&fx);
    got = search(&fx, "susi", NULL);
    g_assert_cmpstr(got, ==, "Susi Small@contacts-fake:small/exact");
    g_free(got);
    got = search(&fx, "bernd", NULL);
    g_assert_cmpstr(got, ==, "Bernd Schmidt@contacts-fake:crm/exact");
    g_free(got);
    g_assert_cmpint(db_count(&fx, "SELECT count(*) FROM contacts_fts"), ==, 6);
    fixture_down(&fx);
}

/* Readers on other threads look up all through replications that swap the
 * copy back and forth: each lookup finds exactly one of the two names,
 * never none and never both. */
typedef struct reader_ctx {
    fixture *fx;
    gint stop;
    guint64 lookups, bad;
    char *first_bad;
} reader_ctx;

static gpointer reader_main(gpointer data)
{
    reader_ctx *r = data;
    while (!g_atomic_int_get(&r->stop)) {
        GString *out = g_string_new(NULL);
        int rc = r->fx->contacts->lookup(r->fx->impl, NULL, "+49 89 5550042", NULL, collect, out);
        gboolean good =
            rc == UCD_OK && (strcmp(out->str, "Old Name@contacts-fake:crm/exact") == 0 ||
                             strcmp(out->str, "New Name@contacts-fake:crm/exact") == 0);
        if (!good && r->bad++ == 0)
            r->first_bad = g_strdup_printf("rc %d: %s", rc, out->str);
        r->lookups++;
        g_string_free(out, TRUE);
    }
    return NULL;
}

static void midway_lookups(void *data)
{
    reader_ctx *r = data;
    /* The replication is half done: readers still see the last good copy. */
    guint64 before = r->lookups;
    for (int i = 0; i < 1000 && r->lookups < before + 10; i++)
        g_usleep(100);
}

static void test_readers_during_replication(void)
{
    static const char *const old_lines[] = {"x|Old Name||+49 89 5550042:1", "y|Other||+4989555:1",
                                            NULL};
    static const char *const new_lines[] = {"x|New Name||+49 89 5550042:1", "y|Other||+4989555:1",
                                            NULL};
    fixture fx;
    fixture_up(&fx);
    fake_source *src = add_source(&fx, "contacts-fake:crm", 100, 0, old_lines);
    src->info.min_ratio = 0;
    store_up(&fx, TRUE);
    reader_ctx r = {.fx = &fx};
    src->midway = midway_lookups;
    src->midway_data = &r;
    GThread *threads[3];
    for (int i = 0; i < 3; i++)
        threads[i] = g_thread_new("reader", reader_main, &r);
    for (int i = 0; i < 40; i++) {
        fake_source_set(src, i % 2 ? old_lines : new_lines);
        g_free(replicate(&fx, "contacts-fake:crm"));
    }
    g_atomic_int_set(&r.stop, 1);
    for (int i = 0; i < 3; i++)
        g_thread_join(threads[i]);
    if (r.bad != 0)
        g_error("%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " lookups went wrong, first: %s",
                r.bad, r.lookups, r.first_bad);
    g_assert_cmpuint(r.lookups, >, 0);
    char *row = sources_row(&fx, "contacts-fake:crm");
    g_assert_nonnull(strstr(row, ",running,100,2,2,41,"));
    g_free(row);
    lookup_is(&fx, NULL, "+49 89 5550042", "Old Name@contacts-fake:crm/exact");
    fixture_down(&fx);
}

/* Contacts without name and number are left out and counted; a broken
 * database file is an init error naming it. */
static void test_bad_input(void)
{
    static const char *const lines[] = {"e1|||", "e2|||:1", "ok|Fine||+49 89 7777:1", NULL};
    fixture fx;
    fixture_up(&fx);
    add_source(&fx, "contacts-fake:crm", 100, 0, lines);
    store_up(&fx, FALSE);
    char *out = replicate(&fx, "contacts-fake:crm");
    g_assert_nonnull(strstr(out, "result=ok, generation=1, contacts=1, numbers=1, skipped=2"));
    g_free(out);
    g_assert_true(fake_module_log_has(fx.module, UCD_LOG_WARNING,
                                      "contact e1 has no name and no number: left out"));
    out = fake_module_command(fx.module, UCD_E_INVALID, "replicate", NULL);
    g_assert_cmpstr(out, ==, "error"); /* its text: the e2e test */
    g_free(out);
    out = fake_module_command(fx.module, UCD_E_INVALID, "frobnicate", NULL);
    g_assert_cmpstr(out, ==, "error"); /* its text: the e2e test */
    g_free(out);
    store_down(&fx);

    char *path = g_build_filename(fx.state_dir, "contacts.sqlite", NULL);
    g_assert_true(g_file_set_contents(path,
                                      "this is no database, it is a text file of some "
                                      "length so that SQLite reads its header",
                                      -1, NULL));
    fake_module *m = fake_module_new(descriptor, "contacts-store");
    fake_module_set_state_dir(m, fx.state_dir);
    g_assert_cmpint(fake_module_init(m), ==, UCD_FAIL);
    g_assert_nonnull(strstr(m->last_error, "contacts.sqlite"));
    g_assert_nonnull(strstr(m->last_error, "not a database"));
    fake_module_free(m); /* init failed: no stop, no fini */
    g_free(path);
    fixture_down(&fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(argc, >=, 2);
    plugin_path = argv[1];
    void *handle = NULL;
    descriptor = fake_load_plugin(plugin_path, "contacts-store", &handle);
    g_test_add_func("/contacts-store/raw-forms", test_raw_forms);
    g_test_add_func("/contacts-store/switchboard", test_switchboard);
    g_test_add_func("/contacts-store/priority-and-filter", test_priority_and_filter);
    g_test_add_func("/contacts-store/search", test_search);
    g_test_add_func("/contacts-store/last-good-copy", test_last_good_copy);
    g_test_add_func("/contacts-store/restart", test_restart);
    g_test_add_func("/contacts-store/search-index", test_search_index);
    g_test_add_func("/contacts-store/readers-during-replication", test_readers_during_replication);
    g_test_add_func("/contacts-store/bad-input", test_bad_input);
    return g_test_run();
}
