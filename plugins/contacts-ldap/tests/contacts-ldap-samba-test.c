/*
 * contacts-ldap-samba-test.c - contacts-ldap against a real Active
 * Directory: a Samba AD DC that tests/peers/with-peer.sh started with
 * tests/peers/samba-ad.sh (60 users in OU=Staff), with a fake sink.
 *
 * AD's own parts: the default filter (users by objectCategory, contacts),
 * a contact object beside the users, a user's further numbers in
 * otherTelephone, objectGUID as the key, StartTLS as AD wants it for a
 * simple bind, the service account's rights, paging in pages of 10.
 */
#include <string.h>

#include <ucd/contacts.h>

#include "contact-sink-recorder.h"
#include "fake-host.h"

static const ucd_plugin_descriptor *descriptor;

static const char *env(const char *name)
{
    const char *value = g_getenv(name);
    if (value == NULL)
        g_error("%s not set: run me through tests/peers/with-peer.sh samba-ad", name);
    return value;
}

static char *b64(const char *text)
{
    return g_base64_encode((const guchar *)text, strlen(text));
}

/* Adds the contact and user5's further numbers as the domain's admin. */
static void modify_directory(const char *dir)
{
    char *name = b64("Zulieferer Müller"), *company = b64("Müller AG");
    char *ldif =
        g_strdup_printf("dn: CN=Zulieferer Mueller,%1$s\nchangetype: add\nobjectClass: contact\n"
                        "displayName:: %2$s\ncompany:: %3$s\ntelephoneNumber: +49 89 7000\n"
                        "facsimileTelephoneNumber: +49 89 7001\n\n"
                        "dn: CN=user5,%1$s\nchangetype: modify\nadd: otherTelephone\n"
                        "otherTelephone: +1 555 0999\notherTelephone: +1 555 0998\n-\nadd: mobile\n"
                        "mobile: +49 170 5\n-\n",
                        env("SAMBA_USERS_DN"), name, company);
    char *path = g_build_filename(dir, "modify.ldif", NULL);
    g_assert_true(g_file_set_contents(path, ldif, -1, NULL));
    const char *argv[] = {"ldapmodify",
                          "-x",
                          "-ZZ",
                          "-H",
                          env("SAMBA_URI"),
                          "-D",
                          env("SAMBA_ADMIN_DN"),
                          "-w",
                          env("SAMBA_ADMIN_PW"),
                          "-f",
                          path,
                          NULL};
    char **envp = g_environ_setenv(g_get_environ(), "LDAPTLS_CACERT", env("SAMBA_CACERT"), TRUE);
    int status = 0;
    char *err = NULL;
    GError *error = NULL;
    g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                 NULL, NULL, &err, &status, &error);
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("ldapmodify failed: %s", err);
    g_strfreev(envp);
    g_free(err);
    g_free(path);
    g_free(ldif);
    g_free(name);
    g_free(company);
}

static void test_active_directory(void)
{
    fake_module *module = fake_module_new(descriptor, "contacts-ldap:ad");
    const char *const pairs[] = {"uris",
                                 env("SAMBA_URI"),
                                 "starttls",
                                 "true",
                                 "ca_file",
                                 env("SAMBA_CACERT"),
                                 "bind_dn",
                                 env("SAMBA_BIND_DN"),
                                 "bind_password",
                                 env("SAMBA_BIND_PW"),
                                 "base_dn",
                                 env("SAMBA_USERS_DN"),
                                 "page_size",
                                 "10",
                                 "map_source_id",
                                 "objectGUID",
                                 NULL};
    fake_module_set_pairs(module, pairs);
    fake_module_start(module);
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(module, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    g_assert_cmpint(contact_sink_recorder_run(&s, iface, impl, &error), ==, UCD_OK);
    guint users = (guint)atoi(env("SAMBA_USERS"));
    g_assert_cmpuint(s.contacts->len, ==, users + 1);
    g_assert_cmpuint(s.skipped->len, ==, 0);
    /* Pages of 10: a report after each, then the end. */
    g_assert_cmpuint(s.progress->len, ==, 2 * ((users + 1 + 9) / 10 + 1));

    const char *user5 = NULL, *contact = NULL;
    for (guint i = 0; i < s.contacts->len; i++) {
        const char *line = s.contacts->pdata[i];
        if (strstr(line, "|Test User5|") != NULL)
            user5 = line;
        if (strstr(line, "|Zulieferer Müller|") != NULL)
            contact = line;
    }
    g_assert_nonnull(user5);
    g_assert_nonnull(contact);
    /* The key: objectGUID's 16 bytes in base64. */
    char *id = g_strndup(user5, strcspn(user5, "|"));
    gsize length = 0;
    g_free(g_base64_decode(id, &length));
    g_assert_cmpuint(length, ==, 16);
    g_assert_true(g_str_has_suffix(user5, "|Test User5|Test|User5|-|Sales|user5@example.test|-|-|"
                                          "business:+1 555 015,business:+1 555 0999,"
                                          "business:+1 555 0998,mobile:+49 170 5") ||
                  g_str_has_suffix(user5, "|Test User5|Test|User5|-|Sales|user5@example.test|-|-|"
                                          "business:+1 555 015,business:+1 555 0998,"
                                          "business:+1 555 0999,mobile:+49 170 5"));
    g_assert_true(g_str_has_suffix(contact,
                                   "|Zulieferer Müller|-|-|Müller AG|-|-|-|-|business:+49 89 7000,"
                                   "fax:+49 89 7001"));
    g_free(id);
    contact_sink_recorder_clear(&s);
    fake_module_stop(module);
    for (guint i = 0; i < module->log_lines->len; i++)
        g_assert_null(strstr(module->log_lines->pdata[i], env("SAMBA_BIND_PW")));
    fake_module_free(module);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2)
        g_error("usage: %s contacts-ldap.so", argv[0]);
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "contacts-ldap", &handle);
    char *dir = g_dir_make_tmp("contacts-ldap-samba-XXXXXX", NULL);
    modify_directory(dir);
    g_test_add_func("/contacts-ldap/samba-ad", test_active_directory);
    int result = g_test_run();
    const char *rm[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(dir);
    return result;
}
