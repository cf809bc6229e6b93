/*
 * conf-permissions.c - permissions from a test's ucd.conf (conf-permissions.h).
 */
#include "conf-permissions.h"

core_permissions *conf_permissions_load(const char *dir, const char *text, core_config **cfg)
{
    GError *err = NULL;
    char *conf = g_build_filename(dir, "ucd.conf", NULL);
    g_file_set_contents(conf, text, -1, &err);
    g_assert_no_error(err);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    *cfg = core_config_load(conf, NULL, errors);
    g_assert_nonnull(*cfg);
    core_permissions *perms = core_permissions_new(*cfg, NULL, errors);
    g_assert_nonnull(perms);
    g_assert_cmpuint(errors->len, ==, 0);
    g_ptr_array_free(errors, TRUE);
    g_free(conf);
    return perms;
}
