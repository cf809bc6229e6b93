/*
 * test-ldap-export.c - contacts-ldap-export's parts without a daemon or a
 * server: the store's file as contacts-store itself writes it (its own
 * store_db code, so a change of the store's schema fails here first), and
 * the entries built from contacts with the core's real number service: the
 * forms of each number, what slapd's syntaxes would refuse, DN and postal
 * address escaping, names for contacts that lack some.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "config.h"
#include "contact-copy.h"
#include "export-entry.h"
#include "fake-host.h"
#include "numbers.h"
#include "store-db.h"
#include "store-snapshot.h"

static core_config *cfg;
static core_numbers *numbers;
static export_numbers forms;

static void setup_numbers(const char *dir)
{
    char *conf = g_build_filename(dir, "ucd.conf", NULL);
    g_assert_true(g_file_set_contents(conf,
                                      "[location default]\ncountry_code = 49\narea_code = 89\n"
                                      "[location office]\ncountry_code = 49\narea_code = 89\n"
                                      "outside_line_prefix = 0\n"
                                      "[module contacts-ldap-export]\nlocation = office\n",
                                      -1, NULL));
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    cfg = core_config_load(conf, NULL, errors);
    g_assert_nonnull(cfg);
    numbers = core_numbers_new(cfg, errors);
    g_assert_nonnull(numbers);
    g_assert_cmpuint(errors->len, ==, 0);
    forms = (export_numbers){core_numbers_iface(), numbers, "contacts-ldap-export"};
    g_ptr_array_unref(errors);
    g_remove(conf);
    g_free(conf);
}

/* The forms of one stored number, joined by '|'. */
static char *forms_of(const char *raw, const char *e164)
{
    snapshot_number n = {UCD_CONTACT_NUMBER_BUSINESS, raw, e164};
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    export_number_forms(&forms, &n, out);
    g_ptr_array_add(out, NULL);
    char *joined = g_strjoinv("|", (char **)out->pdata);
    g_ptr_array_unref(out);
    return joined;
}

#define FORMS_ARE(raw, e164, expected)                                                             \
    do {                                                                                           \
        char *f_ = forms_of((raw), (e164));                                                        \
        g_assert_cmpstr(f_, ==, (expected));                                                       \
        g_free(f_);                                                                                \
    } while (0)

static void test_number_forms(void)
{
    /* E.164, national (the rule ignores its space), dialled with outside line 0 */
    FORMS_ARE("089 1234567", "+49891234567", "+49891234567|089 1234567|00891234567");
    /* another area: the core's rules do not know where its code ends, and
     * need not: the rule ignores spaces */
    FORMS_ARE("+49 30 9876543", "+49309876543", "+49309876543|0309876543|00309876543");
    /* abroad: no national form of ours; outside line 0, 00, 1 212 ... */
    FORMS_ARE("+1 212 555 0100", "+12125550100", "+12125550100|00012125550100");
    /* the store could not place it: the raw form when it is a telephone
     * number string, nothing for what slapd's PrintableString refuses */
    FORMS_ARE("201", "", "201");
    FORMS_ARE(" 201 ", "", "201");
    FORMS_ARE("*31#", "", "");
    FORMS_ARE("call me", "", "");
    FORMS_ARE("Zentrale M\xC3\xBCnchen 0", "", "");
    FORMS_ARE(NULL, "", "");
}

static const snapshot_number jutta_numbers[] = {
    {UCD_CONTACT_NUMBER_BUSINESS, "089 1234567", "+49891234567"},
    {UCD_CONTACT_NUMBER_BUSINESS, "089/123 45 67", "+49891234567"}, /* the same, again */
    {UCD_CONTACT_NUMBER_MOBILE, "0171 2345678", "+491712345678"},
    {UCD_CONTACT_NUMBER_FAX, "089 1234568", "+49891234568"},
    {UCD_CONTACT_NUMBER_HOME, "089 555", "+4989555"},
    {UCD_CONTACT_NUMBER_OTHER, "201", ""},
};

static const char *values(const export_entry *e, export_attr a, guint i)
{
    return i < export_entry_count(e, a) ? export_entry_value(e, a, i) : NULL;
}

static void test_entry(void)
{
    snapshot_contact c = {
        .source = "contacts-csv:crm",
        .source_id = "10017",
        .display_name = "Jutta M\xC3\xBCller",
        .given_name = "Jutta",
        .surname = "M\xC3\xBCller",
        .company = "  M\xC3\xBCller & S\xC3\xB6hne GmbH ",
        .department = "Sales",
        .email = "jutta@example.com",
        .address = "Hauptstr. 1\r\n\r\n80331 M\xC3\xBCnchen\nPostfach $5 \\ 7",
        .crm_link = "https://crm.example/kunde/10017",
        .n_numbers = G_N_ELEMENTS(jutta_numbers),
        .numbers = jutta_numbers,
    };
    export_entry *e = export_entry_new(&c, &forms);
    g_assert_cmpstr(e->uid, ==, "contacts-csv:crm-10017");
    g_assert_cmpstr(values(e, EXPORT_CN, 0), ==, "Jutta M\xC3\xBCller");
    g_assert_cmpstr(values(e, EXPORT_SN, 0), ==, "M\xC3\xBCller");
    g_assert_cmpstr(values(e, EXPORT_O, 0), ==, "M\xC3\xBCller & S\xC3\xB6hne GmbH");
    g_assert_cmpstr(values(e, EXPORT_MAIL, 0), ==, "jutta@example.com");
    g_assert_cmpstr(values(e, EXPORT_POSTAL_ADDRESS, 0), ==,
                    "Hauptstr. 1$80331 M\xC3\xBCnchen$Postfach \\245 \\5C 7");
    g_assert_cmpstr(values(e, EXPORT_LABELED_URI, 0), ==, "https://crm.example/kunde/10017");
    /* two business numbers that are one: its forms once; the "other"
     * extension goes with them */
    g_assert_cmpuint(export_entry_count(e, EXPORT_TELEPHONE), ==, 4);
    g_assert_cmpstr(values(e, EXPORT_TELEPHONE, 0), ==, "+49891234567");
    g_assert_cmpstr(values(e, EXPORT_TELEPHONE, 3), ==, "201");
    g_assert_cmpstr(values(e, EXPORT_MOBILE, 1), ==, "01712345678");
    g_assert_cmpstr(values(e, EXPORT_HOME_PHONE, 0), ==, "+4989555");
    g_assert_cmpstr(values(e, EXPORT_FAX, 0), ==, "+49891234568");
    char *dn = export_entry_dn(e, "ou=contacts,dc=example,dc=com");
    g_assert_cmpstr(dn, ==, "uid=contacts-csv:crm-10017,ou=contacts,dc=example,dc=com");
    g_free(dn);
    export_entry_free(e);
}

static void test_entry_fallbacks(void)
{
    static const snapshot_number only[] = {{UCD_CONTACT_NUMBER_MOBILE, "0171 1", "+491711"}};
    /* a company only, no source id, a mail slapd's IA5String refuses */
    snapshot_contact c = {.source = "contacts-xml:book",
                          .company = "B\xC3\xA4"
                                     "ckerei",
                          .email = "b\xC3\xA4"
                                   "cker@example.com",
                          .n_numbers = 1,
                          .numbers = only};
    export_entry *e = export_entry_new(&c, &forms);
    g_assert_cmpstr(values(e, EXPORT_CN, 0), ==,
                    "B\xC3\xA4"
                    "ckerei");
    g_assert_cmpstr(values(e, EXPORT_SN, 0), ==,
                    "B\xC3\xA4"
                    "ckerei");
    g_assert_cmpuint(export_entry_count(e, EXPORT_MAIL), ==, 0);
    g_assert_cmpuint(export_entry_count(e, EXPORT_DISPLAY_NAME), ==, 0);
    g_assert_cmpuint(export_entry_count(e, EXPORT_TELEPHONE), ==, 0);
    /* the id from its content: stable, and another for other content */
    g_assert_true(g_str_has_prefix(e->uid, "contacts-xml:book-"));
    g_assert_cmpuint(strlen(e->uid), ==, strlen("contacts-xml:book-") + 16);
    export_entry *again = export_entry_new(&c, &forms);
    g_assert_cmpstr(again->uid, ==, e->uid);
    c.company = "Konditorei";
    export_entry *other = export_entry_new(&c, &forms);
    g_assert_cmpstr(other->uid, !=, e->uid);
    export_entry_free(other);
    export_entry_free(again);
    export_entry_free(e);

    /* given name and surname only; then nothing but a number */
    snapshot_contact d = {
        .source = "s", .source_id = "1", .given_name = "Otto", .surname = "Normal"};
    e = export_entry_new(&d, &forms);
    g_assert_cmpstr(values(e, EXPORT_CN, 0), ==, "Otto Normal");
    g_assert_cmpstr(values(e, EXPORT_GIVEN_NAME, 0), ==, "Otto");
    export_entry_free(e);
    static const snapshot_number biz[] = {{UCD_CONTACT_NUMBER_BUSINESS, "089 1", "+49891"}};
    snapshot_contact n = {.source = "s", .source_id = "2", .n_numbers = 1, .numbers = biz};
    e = export_entry_new(&n, &forms);
    g_assert_cmpstr(values(e, EXPORT_CN, 0), ==, "+49891");
    g_assert_cmpstr(values(e, EXPORT_SN, 0), ==, "+49891");
    export_entry_free(e);
}

static void test_escaping(void)
{
    static const char *const cases[][2] = {
        {"plain", "plain"},
        {"K,7+8", "K\\,7\\+8"},
        {" lead", "\\ lead"},
        {"#hash", "\\#hash"},
        {"mid#dle", "mid#dle"},
        {"trail ", "trail\\ "},
        {"a=b;c<d>e\"f\\g", "a\\=b\\;c\\<d\\>e\\\"f\\\\g"},
        {"M\xC3\xBCller", "M\xC3\xBCller"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *escaped = export_dn_escape(cases[i][0]);
        g_assert_cmpstr(escaped, ==, cases[i][1]);
        g_free(escaped);
    }
    g_assert_null(export_postal_address(NULL));
    g_assert_null(export_postal_address(" \r\n \n"));
}

/* ---- the store's file ---- */

static void write_generation(store_db *db, const char *source, const char *name, const char *number)
{
    contact_copy *copy = contact_copy_new(source, 100);
    const char *fields[CONTACT_FIELDS] = {
        [CONTACT_FIELD_SOURCE_ID] = "1", [CONTACT_FIELD_DISPLAY_NAME] = name};
    contact_copy_add(copy, fields);
    contact_copy_add_number(copy, number, UCD_CONTACT_NUMBER_BUSINESS, 49891234567u, "0891234567",
                            FALSE);
    contact_copy_add_number(copy, "call me", UCD_CONTACT_NUMBER_OTHER, 0, NULL, FALSE);
    const char *second[CONTACT_FIELDS] = {
        [CONTACT_FIELD_SOURCE_ID] = "2", [CONTACT_FIELD_COMPANY] = "Firma"};
    contact_copy_add(copy, second);
    char *error = NULL;
    g_assert_cmpint(store_db_write_copy(db, copy, 1, &error), ==, 0);
    g_assert_null(error);
    contact_copy_unref(copy);
}

typedef struct seen {
    GString *text;
} seen;

static gboolean note(const snapshot_contact *c, void *data)
{
    GString *text = data;
    g_string_append_printf(text, "%s/%s/%s/%s:", c->source, c->source_id,
                           c->display_name ? c->display_name : "-", c->company ? c->company : "-");
    for (guint i = 0; i < c->n_numbers; i++)
        g_string_append_printf(text, " %u %s %s", c->numbers[i].kind, c->numbers[i].raw,
                               c->numbers[i].e164[0] ? c->numbers[i].e164 : "-");
    g_string_append(text, "\n");
    return TRUE;
}

static char *read_all(const char *path, const char *const *sources, char **fingerprint)
{
    char *error = NULL;
    store_snapshot *snap = store_snapshot_open(path, NULL, &error);
    if (snap == NULL)
        g_error("%s", error);
    g_assert_nonnull(snap);
    *fingerprint = store_snapshot_fingerprint(snap, sources, &error);
    g_assert_nonnull(*fingerprint);
    GString *text = g_string_new(NULL);
    g_assert_true(store_snapshot_foreach(snap, sources, note, text, &error));
    store_snapshot_close(snap);
    return g_string_free(text, FALSE);
}

static void test_store_file(void)
{
    char *dir = g_dir_make_tmp("ldap-export-XXXXXX", NULL);
    char *path = g_build_filename(dir, "contacts.sqlite", NULL);
    char *error = NULL;
    gboolean missing = FALSE;
    g_assert_null(store_snapshot_open(path, &missing, &error));
    g_assert_true(missing);
    g_assert_nonnull(strstr(error, "no such file"));
    g_clear_pointer(&error, g_free);

    store_db *db = store_db_open(path, &error);
    g_assert_nonnull(db);
    write_generation(db, "contacts-csv:a", "Jutta", "089 1234567");
    write_generation(db, "contacts-csv:b", "Otto", "+49 89 1234567");
    char *fp = NULL;
    char *text = read_all(path, NULL, &fp);
    g_assert_cmpstr(fp, ==, "contacts-csv:a=1;contacts-csv:b=1");
    g_assert_cmpstr(text, ==,
                    "contacts-csv:a/1/Jutta/-: 1 089 1234567 +49891234567 0 call me -\n"
                    "contacts-csv:a/2/-/Firma:\n"
                    "contacts-csv:b/1/Otto/-: 1 +49 89 1234567 +49891234567 0 call me -\n"
                    "contacts-csv:b/2/-/Firma:\n");
    g_free(text);
    g_free(fp);

    /* a new generation of b: only b's part of the fingerprint moves, and a
     * source filter leaves a out */
    write_generation(db, "contacts-csv:b", "Otto Neu", "+49 89 1234567");
    const char *const only_b[] = {"contacts-csv:b", NULL};
    text = read_all(path, only_b, &fp);
    g_assert_cmpstr(fp, ==, "contacts-csv:b=2");
    g_assert_nonnull(strstr(text, "contacts-csv:b/1/Otto Neu/-"));
    g_assert_null(strstr(text, "contacts-csv:a"));
    g_free(text);
    g_free(fp);
    store_db_close(db);

    /* a file that is not the store's */
    char *other = g_build_filename(dir, "other.sqlite", NULL);
    g_assert_true(g_file_set_contents(other, "not a database at all, not at all", -1, NULL));
    g_assert_null(store_snapshot_open(other, &missing, &error));
    g_assert_false(missing);
    g_assert_nonnull(strstr(error, "other.sqlite"));
    g_free(error);

    const char *leftovers[] = {"contacts.sqlite-wal", "contacts.sqlite-shm"};
    for (size_t i = 0; i < G_N_ELEMENTS(leftovers); i++) {
        char *p = g_build_filename(dir, leftovers[i], NULL);
        g_remove(p);
        g_free(p);
    }
    g_remove(other);
    g_remove(path);
    g_rmdir(dir);
    g_free(other);
    g_free(path);
    g_free(dir);
}

/* ---- the plugin's keys ---- */

static const char *plugin_path;

/* init with `pairs` over a good section; the key the error names, or NULL
 * when init succeeded (the module is then stopped and freed). */
static char *init_with(const char *const *pairs)
{
    void *handle = NULL;
    const ucd_plugin_descriptor *d = fake_load_plugin(plugin_path, "contacts-ldap-export", &handle);
    fake_module *m = fake_module_new(d, "contacts-ldap-export");
    fake_module_set_state_dir(m, g_get_tmp_dir());
    const char *const good[] = {
        "uris", "ldaps://ldap.example.com",      "bind_dn",       "cn=ucd,dc=example,dc=com",
        "base", "ou=contacts,dc=example,dc=com", "bind_password", "secret",
        NULL};
    fake_module_set_pairs(m, good);
    fake_module_set_pairs(m, pairs);
    int rc = fake_module_init(m);
    char *key = rc == UCD_OK ? NULL : g_strdup(m->config_error_key ? m->config_error_key : "?");
    if (rc == UCD_OK) {
        g_assert_cmpstr(fake_module_command_name(m), ==, "directory-export");
        fake_module_stop(m); /* stop and fini */
    }
    fake_module_free(m);
    return key;
}

#define INIT_FAILS_ON(key, ...)                                                                    \
    do {                                                                                           \
        const char *const p_[] = {__VA_ARGS__, NULL};                                              \
        char *k_ = init_with(p_);                                                                  \
        g_assert_cmpstr(k_, ==, (key));                                                            \
        g_free(k_);                                                                                \
    } while (0)

static void test_keys(void)
{
    const char *const none[] = {NULL};
    char *key = init_with(none);
    g_assert_null(key);
    char *dir = g_dir_make_tmp("ldap-export-pw-XXXXXX", NULL);
    char *file = g_build_filename(dir, "pw", NULL);
    g_assert_true(g_file_set_contents(file, "secret\n", -1, NULL));
    INIT_FAILS_ON("password_file", "password_file", file);
    INIT_FAILS_ON("bind_password", "bind_password", "");
    INIT_FAILS_ON("base", "base", "contacts at example");
    INIT_FAILS_ON("uris", "uris", "https://ldap.example.com");
    INIT_FAILS_ON("sync_every", "sync_every", "500ms");
    INIT_FAILS_ON("page_size", "page_size", "0");
    INIT_FAILS_ON("timeout", "timeout", "10ms");
    g_remove(file);
    g_rmdir(dir);
    g_free(file);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    plugin_path = argc > 1 ? argv[1] : NULL;
    char *dir = g_dir_make_tmp("ldap-export-conf-XXXXXX", NULL);
    setup_numbers(dir);
    g_test_add_func("/contacts-ldap-export/number-forms", test_number_forms);
    g_test_add_func("/contacts-ldap-export/entry", test_entry);
    g_test_add_func("/contacts-ldap-export/entry-fallbacks", test_entry_fallbacks);
    g_test_add_func("/contacts-ldap-export/escaping", test_escaping);
    g_test_add_func("/contacts-ldap-export/store-file", test_store_file);
    if (plugin_path != NULL)
        g_test_add_func("/contacts-ldap-export/keys", test_keys);
    int rc = g_test_run();
    core_numbers_free(numbers);
    core_config_free(cfg);
    g_rmdir(dir);
    g_free(dir);
    return rc;
}
