/*
 * contacts-ldap-test.c - the contacts-ldap plugin against a real slapd,
 * with a fake sink in place of the store (no daemon).
 *
 * argv[1]: contacts-ldap.so. tests/peers/with-peer.sh has started
 * tests/peers/slapd.sh with 1,200 users (more than the 1,000 that slapd,
 * like AD, returns to a search without paging) and put where it is into
 * the environment. The test adds ou=Contacts with the entries that need
 * care (UTF-8 sent as base64, a postal address, binary data in a mapped
 * attribute, an entry without a name) with ldapadd, then checks exactly
 * what reaches the sink.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <ucd/contacts.h>

#include "contact-sink-recorder.h"
#include "fake-host.h"

#define USERS 1200

static const ucd_plugin_descriptor *descriptor;
static char *temp_dir;

static const char *env(const char *name)
{
    const char *value = g_getenv(name);
    if (value == NULL)
        g_error("%s not set: run me through tests/peers/with-peer.sh slapd", name);
    return value;
}

static char *b64(const char *text)
{
    return g_base64_encode((const guchar *)text, strlen(text));
}

/* ou=Contacts and its entries, added as the admin with ldapadd. */
static void add_contacts(void)
{
    char *sn = b64("Müller"), *given = b64("Jörg"), *display = b64("Jörg Müller");
    char *company = b64("Müller & Söhne GmbH"), *postal = b64("Hauptstr. 1$80331 München");
    char *ldif = g_strdup_printf(
        "dn: ou=Contacts,%1$s\nobjectClass: organizationalUnit\nou: Contacts\n\n"
        "dn: cn=Joerg Mueller,ou=Contacts,%1$s\nobjectClass: inetOrgPerson\n"
        "objectClass: adUser\ncn: Joerg Mueller\nsn:: %2$s\ngivenName:: %3$s\n"
        "displayName:: %4$s\no:: %5$s\ndepartment: Vertrieb\nmail: jm@example.com\n"
        "postalAddress:: %6$s\ntelephoneNumber: +49 89 1234567\ntelephoneNumber: 089 7654321\n"
        "mobile: +49 170 1\nhomePhone: +49 89 555\nfacsimileTelephoneNumber: +49 89 123456-99\n"
        "ipPhone: 4711\nuid: jm\n\n"
        "dn: cn=Only Cn,ou=Contacts,%1$s\nobjectClass: person\ncn: Only Cn\nsn: Cn\n"
        "telephoneNumber: 030 1\n\n"
        "dn: cn=Binary,ou=Contacts,%1$s\nobjectClass: inetOrgPerson\nobjectClass: adUser\n"
        "cn: Binary\nsn: Binary\nblob:: //4=\n\n",
        env("LDAP_BASE"), sn, given, display, company, postal);
    char *path = g_build_filename(temp_dir, "contacts.ldif", NULL);
    g_assert_true(g_file_set_contents(path, ldif, -1, NULL));
    const char *argv[] = {"ldapadd", "-x",
                          "-H",      env("LDAP_URI"),
                          "-D",      env("LDAP_ADMIN_DN"),
                          "-w",      env("LDAP_ADMIN_PW"),
                          "-f",      path,
                          NULL};
    int status = 0;
    char *err = NULL;
    GError *error = NULL;
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                 NULL, NULL, &err, &status, &error);
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("ldapadd failed: %s", err);
    g_free(err);
    g_free(path);
    g_free(ldif);
    g_free(sn);
    g_free(given);
    g_free(display);
    g_free(company);
    g_free(postal);
}

/* ---- the plugin ------------------------------------------------------------------ */

/* A module on ldaps:// with the right CA, bound as the admin. */
static fake_module *module_new(const char *base)
{
    fake_module *module = fake_module_new(descriptor, "contacts-ldap:test");
    char *base_dn = g_strdup_printf("%s,%s", base, env("LDAP_BASE"));
    const char *const pairs[] = {"uris",
                                 env("LDAPS_URI"),
                                 "ca_file",
                                 env("LDAP_CACERT"),
                                 "bind_dn",
                                 env("LDAP_ADMIN_DN"),
                                 "bind_password",
                                 env("LDAP_ADMIN_PW"),
                                 "base_dn",
                                 base_dn,
                                 NULL};
    fake_module_set_pairs(module, pairs);
    g_free(base_dn);
    return module;
}

static int replicate(fake_module *module, contact_sink_recorder *s, char **error)
{
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(module, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    g_assert_nonnull(iface);
    return contact_sink_recorder_run(s, iface, impl, error);
}

static void module_done(fake_module *module)
{
    fake_module_stop(module);
    for (guint i = 0; i < module->log_lines->len; i++)
        g_assert_null(strstr(module->log_lines->pdata[i], env("LDAP_ADMIN_PW")));
    fake_module_free(module);
}

/* ---- tests ------------------------------------------------------------------------ */

/* 1,200 users in pages of 50: more than a search without paging gets. */
static void test_paged(void)
{
    fake_module *module = module_new("ou=Users");
    const char *const pairs[] = {
        "filter", "(objectClass=inetOrgPerson)", "page_size", "50", "map_source_id", "objectGUID",
        NULL};
    fake_module_set_pairs(module, pairs);
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_OK);
    g_assert_cmpuint(s.contacts->len, ==, USERS);
    g_assert_cmpuint(s.skipped->len, ==, 0);
    /* objectGUID is binary: the id is its base64, as in the LDIF slapd.sh loaded. */
    g_assert_cmpstr(contact_sink_recorder_find(s.contacts, "q1OssqC1kUCrtq3HusAAHA==|"), ==,
                    "q1OssqC1kUCrtq3HusAAHA==|Test User7|Test|User7|-|Sales|user7@example.test|-|-|"
                    "business:+1 555 0000007");
    /* A progress report per page, then the end. */
    guint64 *p = (guint64 *)(void *)s.progress->data;
    g_assert_cmpuint(s.progress->len, ==, 2 * (USERS / 50 + 1));
    g_assert_cmpuint(p[0], ==, 50);
    g_assert_cmpuint(p[2], ==, 100);
    g_assert_cmpuint(p[s.progress->len - 2], ==, USERS);
    g_assert_cmpuint(p[s.progress->len - 1], ==, USERS);
    contact_sink_recorder_clear(&s);
    module_done(module);
}

static void test_entries(void)
{
    fake_module *module = module_new("ou=Contacts");
    const char *const pairs[] = {"filter",    "(objectClass=*)",
                                 "map_other", "ipPhone;blob",
                                 "crm_link",  "https://crm.example.com/{uid}?dn={dn}",
                                 NULL};
    fake_module_set_pairs(module, pairs);
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_OK);
    char *base = g_strdup_printf("ou=Contacts,%s", env("LDAP_BASE"));
    char *joerg = g_strdup_printf("cn=Joerg Mueller,%s|", base);
    char *want = g_strdup_printf(
        "%sJörg Müller|Jörg|Müller|Müller & Söhne GmbH|Vertrieb|jm@example.com|"
        "Hauptstr. 1\n80331 München|https://crm.example.com/jm?dn=cn%%3DJoerg%%20Mueller%%2Cou%%"
        "3DContacts%%2Cdc%%3Dexample%%2Cdc%%3Dtest|business:+49 89 1234567,business:089 7654321,"
        "mobile:+49 170 1,home:+49 89 555,fax:+49 89 123456-99,other:4711",
        joerg);
    g_assert_cmpstr(contact_sink_recorder_find(s.contacts, joerg), ==, want);
    char *only = g_strdup_printf("cn=Only Cn,%s|Only Cn|-|Cn|-|-|-|-|-|business:030 1", base);
    g_assert_cmpstr(contact_sink_recorder_find(s.contacts, "cn=Only Cn,"), ==, only);
    g_assert_cmpuint(s.contacts->len, ==, 2);
    char *no_name = g_strdup_printf(
        "%s: no name: none of the attributes of map_display_name, map_given_name, map_surname "
        "and map_company is set",
        base);
    char *binary =
        g_strdup_printf("cn=Binary,%s: attribute blob: value is not UTF-8 (binary)", base);
    g_assert_cmpstr(contact_sink_recorder_find(s.skipped, base), ==, no_name);
    g_assert_cmpstr(contact_sink_recorder_find(s.skipped, "cn=Binary,"), ==, binary);
    g_assert_cmpuint(s.skipped->len, ==, 2);
    g_free(base);
    g_free(joerg);
    g_free(want);
    g_free(only);
    g_free(no_name);
    g_free(binary);
    contact_sink_recorder_clear(&s);
    module_done(module);
}

static void expect_failure(fake_module *module, const char *needle)
{
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), !=, UCD_OK);
    g_assert_nonnull(error);
    if (strstr(error, needle) == NULL)
        g_error("error \"%s\" lacks \"%s\"", error, needle);
    g_assert_null(strstr(error, "wrong-pw"));
    g_assert_null(strstr(error, env("LDAP_ADMIN_PW")));
    g_assert_cmpuint(s.contacts->len, ==, 0);
    g_free(error);
    contact_sink_recorder_clear(&s);
    module_done(module);
}

static void test_tls_and_bind(void)
{
    /* StartTLS with the right CA works. */
    fake_module *module = module_new("ou=Contacts");
    const char *const starttls[] = {"uris", env("LDAP_URI"), "starttls", "true", NULL};
    fake_module_set_pairs(module, starttls);
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_OK);
    /* The default filter: inetOrgPerson, AD's users and contacts; so not
     * "Only Cn" (a plain person). "Binary" is read: the default map does
     * not read its binary attribute. */
    g_assert_cmpuint(s.contacts->len, ==, 2);
    g_assert_null(contact_sink_recorder_find(s.contacts, "cn=Only Cn,"));
    g_assert_cmpuint(s.skipped->len, ==, 0);
    contact_sink_recorder_clear(&s);
    module_done(module);

    /* Another CA: refused, on ldaps:// and StartTLS alike. */
    module = module_new("ou=Contacts");
    fake_module_set(module, "ca_file", env("LDAP_OTHER_CACERT"));
    expect_failure(module, "certificate");
    module = module_new("ou=Contacts");
    fake_module_set_pairs(module, starttls);
    fake_module_set(module, "ca_file", env("LDAP_OTHER_CACERT"));
    expect_failure(module, "certificate");

    /* A wrong password, from a file. */
    module = module_new("ou=Contacts");
    char *path = g_build_filename(temp_dir, "password", NULL);
    g_assert_true(g_file_set_contents(path, "wrong-pw\n", -1, NULL));
    fake_module_set(module, "bind_password", NULL);
    fake_module_set(module, "bind_password_file", path);
    expect_failure(module, "Invalid credentials");

    /* The right one, from a file. */
    char *right = g_strconcat(env("LDAP_ADMIN_PW"), "\n", NULL);
    g_assert_true(g_file_set_contents(path, right, -1, NULL));
    module = module_new("ou=Contacts");
    fake_module_set(module, "bind_password", NULL);
    fake_module_set(module, "bind_password_file", path);
    fake_module_start(module);
    contact_sink_recorder_init(&s);
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_OK);
    g_assert_cmpuint(s.contacts->len, ==, 2);
    contact_sink_recorder_clear(&s);
    module_done(module);
    g_free(right);
    g_free(path);

    /* A base that does not exist: the search fails, naming it. */
    module = module_new("ou=Nowhere");
    expect_failure(module, "search of \"ou=Nowhere,");
}

static void test_cancel(void)
{
    fake_module *module = module_new("ou=Users");
    fake_module_set(module, "page_size", "50");
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    s.cancel_after = 100;
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_E_BUSY);
    g_assert_cmpstr(error, ==, "cancelled at entry 128");
    g_assert_cmpuint(s.contacts->len, ==, 127);
    g_free(error);
    contact_sink_recorder_clear(&s);
    module_done(module);
}

static void expect_config_error(const char *const *pairs, const char *key)
{
    fake_module *module = module_new("ou=Contacts");
    fake_module_set_pairs(module, pairs);
    g_assert_cmpint(fake_module_init(module), !=, UCD_OK);
    g_assert_cmpstr(module->config_error_key, ==, key);
    fake_module_free(module);
}

static void test_config(void)
{
    const char *const uris[] = {"uris", "http://example.com", NULL};
    expect_config_error(uris, "uris");
    const char *const scope[] = {"scope", "deep", NULL};
    expect_config_error(scope, "scope");
    const char *const page[] = {"page_size", "0", NULL};
    expect_config_error(page, "page_size");
    const char *const both[] = {"bind_password_file", "/etc/hostname", NULL};
    expect_config_error(both, "bind_password_file");
    const char *const missing[] = {"bind_password", NULL, "bind_password_file",
                                   "/nonexistent/password", NULL};
    expect_config_error(missing, "bind_password_file");
    const char *const link[] = {"crm_link", "https://crm/{uid", NULL};
    expect_config_error(link, "crm_link");
    const char *const length[] = {"max_value_length", "1", NULL};
    expect_config_error(length, "max_value_length");
    fake_module *module = module_new("ou=Contacts");
    const char *const info_pairs[] = {"priority", "7", "min_ratio", "90", NULL};
    fake_module_set_pairs(module, info_pairs);
    fake_module_start(module);
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(module, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    ucd_contact_source_info info = {.struct_size = sizeof(info)};
    iface->info(impl, &info);
    g_assert_cmpint(info.priority, ==, 7);
    g_assert_cmpuint(info.min_ratio, ==, 90);
    g_assert_cmpuint(info.replicate_every, ==, 3600);
    module_done(module);
}

/* The server stops answering in the middle of the paged search (SIGSTOP,
 * timeout 2s): the replication fails, naming the base and how far it got;
 * the server is woken again afterwards. */
static gboolean frozen;

static int freezing_add(void *impl, const ucd_contact *contact)
{
    contact_sink_recorder *s = impl;
    if (s->contacts->len == 100 && !frozen) {
        g_assert_cmpint(kill(atoi(env("LDAP_PID")), SIGSTOP), ==, 0);
        frozen = TRUE;
    }
    return contact_sink_recorder_iface.add(impl, contact);
}

static void test_server_gone_midway(void)
{
    fake_module *module = module_new("ou=Users");
    const char *const pairs[] = {"page_size", "50", "timeout", "2s", NULL};
    fake_module_set_pairs(module, pairs);
    fake_module_start(module);
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(module, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    ucd_contact_sink freezing = contact_sink_recorder_iface;
    freezing.add = freezing_add;
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    int result = iface->replicate(impl, &freezing, &s, &error);
    g_assert_cmpint(kill(atoi(env("LDAP_PID")), SIGCONT), ==, 0);
    g_assert_true(frozen);
    g_assert_cmpint(result, !=, UCD_OK);
    g_assert_nonnull(error);
    g_test_message("%s", error);
    if (strstr(error, "search of \"ou=Users,") == NULL || strstr(error, "failed after 1") == NULL)
        g_error("error \"%s\" lacks the base or how far it got", error);
    g_assert_cmpuint(s.contacts->len, <, USERS);
    free(error);
    contact_sink_recorder_clear(&s);
    module_done(module);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2)
        g_error("usage: %s contacts-ldap.so", argv[0]);
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "contacts-ldap", &handle);
    temp_dir = g_dir_make_tmp("contacts-ldap-test-XXXXXX", NULL);
    add_contacts();

    g_test_add_func("/contacts-ldap/paged", test_paged);
    g_test_add_func("/contacts-ldap/entries", test_entries);
    g_test_add_func("/contacts-ldap/tls-and-bind", test_tls_and_bind);
    g_test_add_func("/contacts-ldap/cancel", test_cancel);
    g_test_add_func("/contacts-ldap/config", test_config);
    g_test_add_func("/contacts-ldap/server-gone-midway", test_server_gone_midway);
    int result = g_test_run();

    const char *argv_rm[] = {"rm", "-rf", temp_dir, NULL};
    g_spawn_sync(NULL, (char **)argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
    g_free(temp_dir);
    return result;
}
