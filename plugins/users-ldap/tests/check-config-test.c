/*
 * check-config-test.c - `ucd --check-config` on users-ldap sections: a
 * ca_file that does not exist is an error with the file and line of the key
 * before anything runs (issue 12 item 10), an existing one passes.
 *
 * argv[1]: the ucd binary, argv[2]: the directory holding users-ldap.so.
 * The key carries UCD_KEY_FILE (sdk/include/ucd/plugin.h); the core checks
 * it (core/config.c). No directory is contacted.
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "harness.h"

static const char *ucd_binary;
static const char *plugin_dir;

/* Runs --check-config on a users-ldap section with `ca_file`; returns the
 * exit status, the error output in `*err`. */
static int check_config(const char *dir, const char *ca_file, char **err)
{
    char *body = g_strdup_printf("[core]\nplugin_path = %s\nstate_dir = %s\n"
                                 "control_socket = %s/ucd.sock\n"
                                 "[module users-ldap:ad]\n"
                                 "uris = ldaps://127.0.0.1:1\n"
                                 "base_dn = DC=example,DC=test\n"
                                 "ca_file = %s\n",
                                 plugin_dir, dir, dir, ca_file);
    gboolean ok = harness_check_config(ucd_binary, dir, body, err);
    g_free(body);
    return ok ? 0 : 1;
}

static void test_missing_ca_file(void)
{
    char *dir = g_dir_make_tmp("users-ldap-check-XXXXXX", NULL);
    char *err = NULL;
    g_assert_cmpint(check_config(dir, "/nonexistent/ca.pem", &err), !=, 0);
    g_assert_nonnull(strstr(err, "ucd.conf:8: [module users-ldap:ad] ca_file"));
    g_assert_nonnull(strstr(err, "/nonexistent/ca.pem"));
    g_free(err);

    char *ca = g_build_filename(dir, "ca.pem", NULL);
    g_assert_true(g_file_set_contents(ca, "not checked here: only that it exists\n", -1, NULL));
    g_assert_cmpint(check_config(dir, ca, &err), ==, 0);
    g_free(err);
    g_unlink(ca);
    g_free(ca);
    g_rmdir(dir);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: check-config-test ucd PLUGIN_DIR");
    ucd_binary = argv[1];
    plugin_dir = argv[2];
    g_test_add_func("/users-ldap/check-config/ca-file", test_missing_ca_file);
    return g_test_run();
}
