/*
 * check-config-test.c - `ucd --check-config` refuses a users-file section
 * whose `file` is missing, a directory or unreadable, with file:line, as the
 * start does (the key is UCD_KEY_FILE), and passes an existing file without
 * parsing it (the parse is the first load's job, after the start).
 *
 * argv[1]: the ucd binary, argv[2]: users-file.so.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "harness.h"

static const char *ucd_bin;
static const char *plugin_so;
static char *dir;

/* Runs check-config on a section with `file = value`; returns its exit code
 * and what it printed on stderr in `*err`. */
static int check_config(const char *value, char **err)
{
    char *plugin_dir = g_path_get_dirname(plugin_so);
    char *text = g_strdup_printf("[core]\nplugin_path = %s\ncontrol_socket = %s/ucd.sock\n"
                                 "[module users-file]\nfile = %s\n",
                                 plugin_dir, dir, value);
    gboolean ok = harness_check_config(ucd_bin, dir, text, err);
    g_free(text);
    g_free(plugin_dir);
    return ok ? 0 : 1;
}

static void test_missing_file(void)
{
    char *missing = g_build_filename(dir, "no-such-users.xml", NULL);
    char *err = NULL;
    g_assert_cmpint(check_config(missing, &err), ==, 1);
    char *where = g_strdup_printf("ucd.conf:5: [module users-file] file: '%s'", missing);
    if (strstr(err, where) == NULL || strstr(err, "No such file") == NULL)
        g_error("expected \"%s\" and \"No such file\" in: %s", where, err);
    g_free(where);
    g_free(err);

    /* A directory is no users file either. */
    g_assert_cmpint(check_config(dir, &err), ==, 1);
    g_assert_nonnull(strstr(err, "a directory, not a file"));
    g_free(err);
    g_free(missing);
}

static void test_existing_file(void)
{
    /* Not even XML: check-config does not parse, the first load will. */
    char *path = g_build_filename(dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(path, "not parsed here", -1, NULL));
    char *err = NULL;
    if (check_config(path, &err) != 0)
        g_error("check-config refused an existing file: %s", err);
    g_unlink(path);
    g_free(err);
    g_free(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: %s UCD_BIN users-file.so", argv[0]);
    ucd_bin = argv[1];
    plugin_so = argv[2];
    dir = g_dir_make_tmp("users-file-check-XXXXXX", NULL);
    g_test_add_func("/users-file/check-config/missing-file", test_missing_file);
    g_test_add_func("/users-file/check-config/existing-file", test_existing_file);
    int result = g_test_run();
    char *conf = g_build_filename(dir, "ucd.conf", NULL);
    g_unlink(conf);
    g_rmdir(dir);
    g_free(conf);
    g_free(dir);
    return result;
}
