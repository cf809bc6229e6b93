/*
 * module-fixture.c - see module-fixture.h.
 */
#include "module-fixture.h"

#include <glib/gstdio.h>
#include <string.h>

void module_fixture_set_up(module_fixture *f, int threads)
{
    GError *err = NULL;
    memset(f, 0, sizeof(*f));
    f->dir = g_dir_make_tmp("ucd-modules-XXXXXX", &err);
    g_assert_no_error(err);
    f->ctx = g_main_context_new();
    f->rt.ctx = f->ctx;
    f->rt.bus = core_bus_new(f->ctx, 1024);
    f->rt.workers = core_workers_new(f->ctx, threads);
    f->rt.state_dir = g_build_filename(f->dir, "state", NULL);
    f->rt.plugin_path = g_new0(char *, 2);
    f->rt.plugin_path[0] = g_strdup(TEST_PLUGIN_DIR);
    f->mods = core_modules_new(&f->rt);
    f->errors = g_ptr_array_new_with_free_func(g_free);
}

/* The fixtures that make a state directory leave it empty. */
static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *child = g_build_filename(dir, name, NULL);
        if (g_file_test(child, G_FILE_TEST_IS_DIR))
            remove_dir(child);
        else
            g_remove(child);
    }
    if (d != NULL)
        g_dir_close(d);
    g_rmdir(dir);
}

void module_fixture_tear_down(module_fixture *f)
{
    core_modules_free(f->mods);
    if (f->cfg)
        core_config_free(f->cfg);
    core_workers_free(f->rt.workers);
    core_bus_free(f->rt.bus);
    while (g_main_context_iteration(f->ctx, FALSE))
        ;
    g_main_context_unref(f->ctx);
    g_ptr_array_free(f->errors, TRUE);
    remove_dir(f->dir);
    g_free(f->dir);
    g_free(f->rt.state_dir);
    g_strfreev(f->rt.plugin_path);
}

int module_fixture_start(module_fixture *f, const char *body)
{
    g_autofree char *conf = g_build_filename(f->dir, "ucd.conf", NULL);
    g_autofree char *conf_d = g_build_filename(f->dir, "ucd.conf.d", NULL);
    g_autofree char *text = g_strdup_printf("[core]\nstate_dir = %s\n%s", f->rt.state_dir, body);
    g_assert_true(g_file_set_contents(conf, text, -1, NULL));
    f->cfg = core_config_load(conf, conf_d, f->errors);
    g_assert_nonnull(f->cfg);
    g_assert_cmpuint(f->errors->len, ==, 0);
    int n = core_modules_check(f->mods, f->cfg, f->errors);
    for (guint i = 0; i < f->errors->len; i++)
        g_test_message("%s", (const char *)f->errors->pdata[i]);
    char *error = NULL;
    g_assert_true(core_modules_start(f->mods, &error));
    g_assert_null(error);
    return n;
}

typedef struct lookup {
    const char *id;
    core_module_info info;
    char *error;
    gboolean found;
} lookup;

static void find_module(const core_module_info *m, void *ud)
{
    lookup *l = ud;
    if (l->found || strcmp(m->id, l->id) != 0)
        return;
    l->info = *m;
    l->error = g_strdup(m->last_error);
    l->found = TRUE;
}

core_module_info module_fixture_info(module_fixture *f, const char *id, char **error)
{
    lookup l = {.id = id};
    core_modules_foreach(f->mods, find_module, &l);
    if (!l.found)
        g_error("no module %s", id);
    if (error != NULL)
        *error = l.error;
    else
        g_free(l.error);
    return l.info;
}

const char *module_fixture_state(module_fixture *f, const char *id)
{
    static const char *const words[] = {"loaded",   "initialized", "running", "stopped",
                                        "declined", "failed",      "disabled"};
    core_module_info info = module_fixture_info(f, id, NULL);
    return (unsigned)info.state < G_N_ELEMENTS(words) ? words[info.state] : "unknown";
}

typedef struct counter_lookup {
    const char *name;
    int64_t value;
    gboolean found;
} counter_lookup;

static void find_counter(const char *name, ucd_counter_kind kind, int64_t value, const char *help,
                         void *ud)
{
    counter_lookup *c = ud;
    if (strcmp(name, c->name) == 0) {
        c->value = value;
        c->found = TRUE;
    }
}

int64_t module_fixture_counter(module_fixture *f, const char *module, const char *name)
{
    g_autofree char *full = g_strdup_printf("%s.%s", module, name);
    counter_lookup c = {.name = full};
    core_modules_foreach_counter(f->mods, find_counter, &c);
    if (!c.found)
        g_error("no counter %s", full);
    return c.value;
}
