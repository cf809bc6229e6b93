/*
 * numbers-fixture.c - see numbers-fixture.h.
 */
#include "numbers-fixture.h"

#include <glib/gstdio.h>

void numbers_fixture_open(numbers_fixture *f, const char *conf_text)
{
    GError *err = NULL;
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);

    f->dir = g_dir_make_tmp("ucd-numbers-XXXXXX", &err);
    g_assert_no_error(err);
    f->file = g_build_filename(f->dir, "ucd.conf", NULL);
    g_file_set_contents(f->file, conf_text, -1, &err);
    g_assert_no_error(err);
    f->cfg = core_config_load(f->file, NULL, errors);
    g_assert_nonnull(f->cfg);
    f->numbers = core_numbers_new(f->cfg, errors);
    for (guint i = 0; i < errors->len; i++)
        g_printerr("%s\n", (const char *)errors->pdata[i]);
    g_assert_nonnull(f->numbers);
    g_assert_cmpuint(errors->len, ==, 0);
    g_ptr_array_unref(errors);
}

void numbers_fixture_close(numbers_fixture *f)
{
    core_numbers_free(f->numbers);
    core_config_free(f->cfg);
    g_remove(f->file);
    g_rmdir(f->dir);
    g_free(f->file);
    g_free(f->dir);
}
