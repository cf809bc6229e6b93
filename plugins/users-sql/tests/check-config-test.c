/*
 * check-config-test.c - the names users-sql writes into SQL (tables, columns)
 * are checked by one rule, UCD_KEY_NAME's: for every name below, the real
 * `ucd --check-config` and the plugin's own init (driven through the fake
 * host, which does not check key flags) give the same verdict, so that
 * check-config never passes a name the start refuses, nor the other way.
 *
 * argv[1]: the ucd binary, argv[2]: users-sql.so.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "fake-host.h"
#include "harness.h"

static const char *ucd_bin;
static const char *plugin_so;
static const ucd_plugin_descriptor *descriptor;
static char *dir;

/* `ucd --check-config` on a section that sets `key` to `value`: TRUE when it
 * passes; `*err` gets what it printed on stderr. */
static gboolean core_accepts(const char *key, const char *value, char **err)
{
    char *plugin_dir = g_path_get_dirname(plugin_so);
    char *text = g_strdup_printf("[core]\nplugin_path = %s\ncontrol_socket = %s/ucd.sock\n"
                                 "[module users-sql]\ndatabase = %s/users.db\n%s = %s\n",
                                 plugin_dir, dir, dir, key, value);
    gboolean ok = harness_check_config(ucd_bin, dir, text, err);
    g_free(text);
    g_free(plugin_dir);
    return ok;
}

/* The plugin's init with the same value: TRUE when it starts. */
static gboolean plugin_accepts(const char *key, const char *value)
{
    fake_module *module = fake_module_new(descriptor, "users-sql");
    char *db = g_build_filename(dir, "users.db", NULL);
    fake_module_set(module, "database", db);
    fake_module_set(module, key, value);
    gboolean ok = fake_module_init(module) == UCD_OK;
    if (ok)
        fake_module_stop(module); /* stop (never started) and fini */
    else
        g_assert_cmpstr(module->config_error_key, ==, key);
    fake_module_free(module);
    g_free(db);
    return ok;
}

static void check_same(const char *key, const char *value, gboolean expected)
{
    char *err = NULL;
    gboolean core = core_accepts(key, value, &err);
    gboolean plugin = plugin_accepts(key, value);
    if (core != plugin || core != expected)
        g_error("%s = '%s': check-config %s, the plugin %s, expected %s\n%s", key, value,
                core ? "accepts" : "refuses", plugin ? "accepts" : "refuses",
                expected ? "accepted" : "refused", err);
    if (!core) {
        char *where = g_strdup_printf("[module users-sql] %s:", key);
        g_assert_nonnull(strstr(err, where));
        g_assert_nonnull(strstr(err, "not a plain name"));
        g_free(where);
    }
    g_free(err);
}

static void test_tables(void)
{
    static const struct {
        const char *value;
        gboolean ok;
    } names[] = {
        {"users", TRUE},
        {"hr.staff", TRUE},
        {"_t1", TRUE},
        {"Staff_2024", TRUE},
        {"users; DROP TABLE users", FALSE}, /* what check-config used to pass */
        {"a.b.c", FALSE},
        {"1users", FALSE},
        {"hr.1x", FALSE},
        {"a.", FALSE},
        {".a", FALSE},
        {"t$", FALSE},
        {"a b", FALSE},
        {"Müller", FALSE},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        check_same("users_table", names[i].value, names[i].ok);
}

/* Every other name key carries the flag too: a sample of each kind. */
static void test_columns_and_lists(void)
{
    check_same("login_column", "account", TRUE);
    check_same("login_column", "login)--", FALSE);
    check_same("members_table", "x;y", FALSE);
    check_same("change_column", "row version", FALSE);
    check_same("number_columns", "phone;mobile", TRUE);
    check_same("number_columns", "mobile;x)--", FALSE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: %s UCD_BIN users-sql.so", argv[0]);
    ucd_bin = argv[1];
    plugin_so = argv[2];
    void *handle = NULL;
    descriptor = fake_load_plugin(plugin_so, "users-sql", &handle);
    dir = g_dir_make_tmp("users-sql-check-XXXXXX", NULL);
    g_test_add_func("/users-sql/check-config/tables", test_tables);
    g_test_add_func("/users-sql/check-config/columns-and-lists", test_columns_and_lists);
    int result = g_test_run();
    char *conf = g_build_filename(dir, "ucd.conf", NULL);
    g_unlink(conf);
    g_rmdir(dir);
    g_free(conf);
    g_free(dir);
    return result;
}
