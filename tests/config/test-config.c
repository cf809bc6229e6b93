/*
 * test-config.c - core/config.c: drop-in order, section forms, file:line in
 * every message, value types, the core's own checks, comparison and export.
 *
 * Each test writes its files into a fresh g_dir_make_tmp() directory, so the
 * expected line numbers can be read off the text right above the assertions.
 */
#include "config.h"
#include "numbers.h"

#include <ucd/host.h>

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct tmpconf {
    char *dir;       /* the temporary directory */
    char *main_file; /* DIR/ucd.conf */
    char *conf_dir;  /* DIR/conf.d */
    GPtrArray *written;
    GPtrArray *errors;
    core_config *cfg;
} tmpconf;

static void tmpconf_init(tmpconf *t)
{
    GError *err = NULL;

    memset(t, 0, sizeof(*t));
    t->dir = g_dir_make_tmp("ucd-config-XXXXXX", &err);
    g_assert_no_error(err);
    t->main_file = g_build_filename(t->dir, "ucd.conf", NULL);
    t->conf_dir = g_build_filename(t->dir, "conf.d", NULL);
    t->written = g_ptr_array_new_with_free_func(g_free);
    t->errors = g_ptr_array_new_with_free_func(g_free);
}

static void tmpconf_clear(tmpconf *t)
{
    core_config_free(t->cfg);
    for (guint i = t->written->len; i > 0; i--)
        g_remove(g_ptr_array_index(t->written, i - 1));
    g_rmdir(t->conf_dir);
    g_rmdir(t->dir);
    g_ptr_array_unref(t->written);
    g_ptr_array_unref(t->errors);
    g_free(t->main_file);
    g_free(t->conf_dir);
    g_free(t->dir);
}

/* Writes `text` to DIR/name (name may be "conf.d/x.conf"); returns the path,
 * owned by t. */
static const char *tmpconf_write(tmpconf *t, const char *name, const char *text)
{
    char *path = g_build_filename(t->dir, name, NULL);
    char *parent = g_path_get_dirname(path);
    GError *err = NULL;

    g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
    g_file_set_contents(path, text, -1, &err);
    g_assert_no_error(err);
    g_ptr_array_add(t->written, path);
    g_free(parent);
    return path;
}

static core_config *tmpconf_load(tmpconf *t)
{
    t->cfg = core_config_load(t->main_file, t->conf_dir, t->errors);
    return t->cfg;
}

static char *errors_text(GPtrArray *errors)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < errors->len; i++)
        g_string_append_printf(s, "  %s\n", (const char *)g_ptr_array_index(errors, i));
    return g_string_free(s, FALSE);
}

/* Asserts that the errors are exactly `expected` (each "%s" in it replaced by
 * `file`), in order, printing all of them when not. An expected message that
 * ends in '*' only has to start with what comes before it (for text that comes
 * from GLib and may change between versions). */
static void assert_errors(GPtrArray *errors, const char *file, const char *const *expected)
{
    guint n = g_strv_length((char **)expected);
    char *all = errors_text(errors);

    if (errors->len != n)
        g_error("expected %u errors, got %u:\n%s", n, errors->len, all);
    for (guint i = 0; i < n; i++) {
        GString *w = g_string_new(expected[i]);
        char *want = (g_string_replace(w, "%s", file, 1), g_string_free(w, FALSE));
        const char *got = g_ptr_array_index(errors, i);
        gsize len = strlen(want);
        gboolean match = len > 0 && want[len - 1] == '*' ? strncmp(want, got, len - 1) == 0
                                                         : strcmp(want, got) == 0;

        if (!match)
            g_error("error %u:\n  want %s\n  got  %s\nall:\n%s", i, want,
                    (const char *)g_ptr_array_index(errors, i), all);
        g_free(want);
    }
    g_free(all);
}

static void assert_where(core_config *cfg, const char *section, const char *key, const char *file,
                         int line)
{
    char *where = core_config_where(cfg, section, key);
    char *want = g_strdup_printf("%s:%d", file, line);

    g_assert_cmpstr(where, ==, want);
    g_free(want);
    g_free(where);
}

static const ucd_config_key sim_keys[] = {
    {"rate", UCD_CONFIG_INT, 0, "1", "calls per minute"},
    {"seed", UCD_CONFIG_INT, 0, NULL, "random seed"},
    {"lines", UCD_CONFIG_INT, 0, "8", "simulated lines"},
    {NULL, 0, 0, NULL, NULL},
};

static core_section *bind_sim(tmpconf *t, const char *section)
{
    return core_section_bind(t->cfg, section, sim_keys, sizeof(ucd_config_key),
                             core_config_module_keys, t->errors);
}

/* ---- Files and drop-ins ---------------------------------------------------- */

static void test_dropins_in_lexical_order(void)
{
    tmpconf t;
    const char *main_file, *a, *b;
    const char *const *files;
    core_section *sec;
    int64_t v;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "# main\n"               /* 1 */
                              "[core]\n"               /* 2 */
                              "worker_threads = 8\n"   /* 3 */
                              "state_dir = /srv/ucd\n" /* 4 */
                              "\n"                     /* 5 */
                              "[module pbx-sim]\n"     /* 6 */
                              "rate = 5\n"             /* 7 */
                              "seed = 1\n");           /* 8 */
    b = tmpconf_write(&t, "conf.d/20-b.conf",
                      "[module pbx-sim]\n" /* 1 */
                      "rate = 20\n");      /* 2 */
    a = tmpconf_write(&t, "conf.d/10-a.conf",
                      "[module pbx-sim]\n" /* 1 */
                      "rate = 10\n"        /* 2 */
                      "lines = 4\n"        /* 3 */
                      "[core]\n"           /* 4 */
                      "worker_threads = 2\n");
    /* Neither is a drop-in: no .conf suffix, hidden. Both would fail to parse. */
    tmpconf_write(&t, "conf.d/README", "not an ini file\n");
    tmpconf_write(&t, "conf.d/.20-b.conf.swp", "not an ini file\n");

    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpuint(t.errors->len, ==, 0);
    files = core_config_files(t.cfg);
    g_assert_cmpstr(files[0], ==, main_file);
    g_assert_cmpstr(files[1], ==, a);
    g_assert_cmpstr(files[2], ==, b);
    g_assert_null(files[3]);

    /* Key by key: the last file setting a key wins, and says where. */
    g_assert_cmpstr(core_config_raw(t.cfg, "module pbx-sim", "rate"), ==, "20");
    assert_where(t.cfg, "module pbx-sim", "rate", b, 2);
    g_assert_cmpstr(core_config_raw(t.cfg, "module pbx-sim", "lines"), ==, "4");
    assert_where(t.cfg, "module pbx-sim", "lines", a, 3);
    g_assert_cmpstr(core_config_raw(t.cfg, "module pbx-sim", "seed"), ==, "1");
    assert_where(t.cfg, "module pbx-sim", "seed", main_file, 8);
    g_assert_cmpstr(core_config_raw(t.cfg, "core", "worker_threads"), ==, "2");
    assert_where(t.cfg, "core", "worker_threads", a, 5);
    g_assert_cmpstr(core_config_raw(t.cfg, "core", "state_dir"), ==, "/srv/ucd");
    /* A section's place is its first header. */
    assert_where(t.cfg, "module pbx-sim", NULL, main_file, 6);
    assert_where(t.cfg, "core", NULL, main_file, 2);
    g_assert_null(core_config_where(t.cfg, "log", NULL));
    g_assert_null(core_config_where(t.cfg, "core", "user"));
    g_assert_null(core_config_raw(t.cfg, "core", "user"));

    g_assert_cmpint(core_config_check(t.cfg, t.errors), ==, 0);
    sec = bind_sim(&t, "module pbx-sim");
    g_assert_nonnull(sec);
    g_assert_cmpint(core_section_int(sec, "rate", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, 20);
    g_assert_cmpint(core_section_int(sec, "lines", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, 4);
    core_section_free(sec);
    tmpconf_clear(&t);
}

static void test_duplicate_key_later_wins(void)
{
    tmpconf t;
    const char *main_file;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "[module pbx-sim]\n" /* 1 */
                              "rate = 1\n"         /* 2 */
                              "[core]\n"           /* 3 */
                              "[module pbx-sim]\n" /* 4 */
                              "rate = 3\n");       /* 5 */
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpstr(core_config_raw(t.cfg, "module pbx-sim", "rate"), ==, "3");
    assert_where(t.cfg, "module pbx-sim", "rate", main_file, 5);
    assert_where(t.cfg, "module pbx-sim", NULL, main_file, 1);
    tmpconf_clear(&t);
}

static void test_missing_files(void)
{
    tmpconf t;
    char *want;

    tmpconf_init(&t);
    /* No main file: an error naming it. */
    g_assert_null(tmpconf_load(&t));
    g_assert_cmpuint(t.errors->len, ==, 1);
    want = g_strdup_printf("%s: cannot read the file: ", t.main_file);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(t.errors, 0), want));
    g_free(want);

    /* No drop-in directory: fine. */
    g_ptr_array_set_size(t.errors, 0);
    tmpconf_write(&t, "ucd.conf", "[core]\n");
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpuint(t.errors->len, ==, 0);
    g_assert_null(core_config_files(t.cfg)[1]);
    tmpconf_clear(&t);
}

static void test_default_conf_dir_beside_main(void)
{
    tmpconf t;
    const char *drop_in;

    tmpconf_init(&t);
    tmpconf_write(&t, "ucd.conf", "[core]\nworker_threads = 3\n");
    drop_in = tmpconf_write(&t, "conf.d/50-x.conf", "[core]\nworker_threads = 5\n");
    t.cfg = core_config_load(t.main_file, NULL, t.errors);
    g_assert_nonnull(t.cfg);
    g_assert_cmpstr(core_config_files(t.cfg)[1], ==, drop_in);
    g_assert_cmpstr(core_config_raw(t.cfg, "core", "worker_threads"), ==, "5");
    tmpconf_clear(&t);
}

/* ---- What is read as a file (issue 12 items 20, 22, 23) ------------------- */

/* Writes `len` bytes (NULs allowed) to DIR/name. */
static const char *tmpconf_write_bytes(tmpconf *t, const char *name, const char *data, gsize len)
{
    char *path = g_build_filename(t->dir, name, NULL);
    GError *err = NULL;

    g_file_set_contents(path, data, (gssize)len, &err);
    g_assert_no_error(err);
    g_ptr_array_add(t->written, path);
    return path;
}

static void assert_one_error(tmpconf *t, const char *prefix, const char *part)
{
    char *all = errors_text(t->errors);

    if (t->errors->len != 1 || !g_str_has_prefix(g_ptr_array_index(t->errors, 0), prefix) ||
        !strstr(g_ptr_array_index(t->errors, 0), part))
        g_error("expected one error starting \"%s\" and holding \"%s\", got:\n%s", prefix, part,
                all);
    g_free(all);
    g_ptr_array_set_size(t->errors, 0);
}

/* A FIFO or a device as a configuration file blocked the main loop (and
 * --check-config) for good: only regular files are read, drop-ins too, and
 * only up to 4 MiB. */
static void test_only_regular_files(void)
{
    tmpconf t;
    char *fifo, *big, *where;

    tmpconf_init(&t);
    fifo = g_build_filename(t.dir, "fifo.conf", NULL);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    g_ptr_array_add(t.written, fifo);
    t.cfg = core_config_load(fifo, t.conf_dir, t.errors);
    g_assert_null(t.cfg);
    where = g_strdup_printf("%s: ", fifo);
    assert_one_error(&t, where, "not a regular file (a FIFO)");
    g_free(where);

    t.cfg = core_config_load("/dev/zero", t.conf_dir, t.errors);
    g_assert_null(t.cfg);
    assert_one_error(&t, "/dev/zero: ", "not a regular file (a character device)");

    /* the same for drop-ins: a FIFO and a directory named *.conf */
    tmpconf_write(&t, "ucd.conf", "[core]\n");
    tmpconf_write(&t, "conf.d/10-ok.conf", "[log]\n");
    char *dropin_fifo = g_build_filename(t.conf_dir, "20-fifo.conf", NULL);
    g_assert_cmpint(mkfifo(dropin_fifo, 0600), ==, 0);
    g_ptr_array_add(t.written, dropin_fifo);
    g_assert_null(tmpconf_load(&t));
    where = g_strdup_printf("%s: ", dropin_fifo);
    assert_one_error(&t, where, "a FIFO");
    g_free(where);
    g_remove(dropin_fifo);
    char *dropin_dir = g_build_filename(t.conf_dir, "30-dir.conf", NULL);
    g_assert_cmpint(g_mkdir(dropin_dir, 0700), ==, 0);
    g_ptr_array_add(t.written, dropin_dir);
    g_assert_null(tmpconf_load(&t));
    assert_one_error(&t, dropin_dir, "a directory");
    g_rmdir(dropin_dir);

    /* 4 MiB is the most; one byte more is refused before it is read */
    gsize limit = 4 * 1024 * 1024;
    big = g_malloc(limit + 1);
    memset(big, '#', limit + 1);
    memcpy(big, "[core]\n", 7);
    big[limit - 1] = '\n';
    tmpconf_write_bytes(&t, "ucd.conf", big, limit);
    g_assert_nonnull(tmpconf_load(&t));
    core_config_free(t.cfg);
    t.cfg = NULL;
    tmpconf_write_bytes(&t, "ucd.conf", big, limit + 1);
    g_assert_null(tmpconf_load(&t));
    where = g_strdup_printf("%s: ", t.main_file);
    assert_one_error(&t, where, "at most 4194304");
    g_free(where);
    g_free(big);
    tmpconf_clear(&t);
}

/* A NUL byte cut a value silently; a 1 MB value was repeated whole in its
 * error; a UTF-8 byte-order mark was a syntax error. */
static void test_nul_bom_long_values(void)
{
    static const char with_nul[] = "[core]\nstate_dir = /var/lib/ucd\0/etc\n";
    tmpconf t;
    char *where;

    tmpconf_init(&t);
    tmpconf_write_bytes(&t, "ucd.conf", with_nul, sizeof with_nul - 1);
    g_assert_null(tmpconf_load(&t));
    where = g_strdup_printf("%s:2: ", t.main_file);
    assert_one_error(&t, where, "NUL byte");
    g_free(where);

    tmpconf_write(&t, "ucd.conf", "\xEF\xBB\xBF[core]\nworker_threads = 3\n");
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpstr(core_config_raw(t.cfg, "core", "worker_threads"), ==, "3");
    assert_where(t.cfg, "core", "worker_threads", t.main_file, 2);
    core_config_free(t.cfg);
    t.cfg = NULL;

    /* a megabyte in an integer, a log level and a broken line: each message
     * shows the start of the value, not all of it */
    gsize mb = 1024 * 1024;
    GString *text = g_string_new("[core]\nworker_threads = ");
    for (gsize i = 0; i < mb; i++)
        g_string_append_c(text, '9');
    g_string_append(text, "\n[log]\nlevel = ");
    for (gsize i = 0; i < mb; i++)
        g_string_append_c(text, 'x');
    g_string_append_c(text, '\n');
    tmpconf_write(&t, "ucd.conf", text->str);
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpint(core_config_check(t.cfg, t.errors), ==, 2);
    for (guint i = 0; i < t.errors->len; i++) {
        const char *e = g_ptr_array_index(t.errors, i);
        g_assert_cmpuint(strlen(e), <, 400);
        g_assert_nonnull(strstr(e, "... (1048576 bytes)"));
    }
    g_ptr_array_set_size(t.errors, 0);
    core_config_free(t.cfg);
    t.cfg = NULL;
    /* the number service's messages too: a megabyte area code */
    g_string_truncate(text, 0);
    g_string_append(text, "[location x]\ncountry_code = 49\narea_code = ");
    for (gsize i = 0; i < mb; i++)
        g_string_append_c(text, '8');
    g_string_append_c(text, '\n');
    tmpconf_write(&t, "ucd.conf", text->str);
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_null(core_numbers_new(t.cfg, t.errors));
    g_assert_cmpuint(t.errors->len, ==, 1);
    g_assert_cmpuint(strlen(g_ptr_array_index(t.errors, 0)), <, 400);
    g_assert_nonnull(strstr(g_ptr_array_index(t.errors, 0), "area_code: '888"));
    g_ptr_array_set_size(t.errors, 0);
    core_config_free(t.cfg);
    t.cfg = NULL;
    g_string_truncate(text, 0);
    g_string_append(text, "[core]\n");
    for (gsize i = 0; i < mb; i++)
        g_string_append_c(text, 'y');
    g_string_append_c(text, '\n');
    tmpconf_write(&t, "ucd.conf", text->str);
    g_assert_null(tmpconf_load(&t));
    where = g_strdup_printf("%s:2: syntax error", t.main_file);
    assert_one_error(&t, where, "...");
    g_string_free(text, TRUE);
    g_free(where);
    tmpconf_clear(&t);
}

/* An empty configuration said "OK" and ran nothing. A main file without
 * sections is fine when the drop-ins hold the configuration. */
static void test_empty_configuration(void)
{
    tmpconf t;
    char *where;

    tmpconf_init(&t);
    tmpconf_write(&t, "ucd.conf", "");
    g_assert_null(tmpconf_load(&t));
    where = g_strdup_printf("%s: ", t.main_file);
    assert_one_error(&t, where, "the configuration is empty");
    tmpconf_write(&t, "ucd.conf", "# nothing yet\n\n");
    g_assert_null(tmpconf_load(&t));
    assert_one_error(&t, where, "the configuration is empty");
    g_free(where);
    tmpconf_write(&t, "conf.d/10-all.conf", "[module pbx-sim]\n");
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpuint(t.errors->len, ==, 0);
    tmpconf_clear(&t);
}

/* A control_socket longer than sun_path passed --check-config, then the
 * start failed. 107 bytes fit, 108 do not. */
static void test_socket_path_length(void)
{
    tmpconf t;
    char *fits = g_strnfill(107, 'a'), *too_long = g_strnfill(108, 'a'), *text, *where;

    fits[0] = too_long[0] = '/';
    tmpconf_init(&t);
    text = g_strdup_printf("[core]\ncontrol_socket = %s\n", fits);
    tmpconf_write(&t, "ucd.conf", text);
    g_free(text);
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpint(core_config_check(t.cfg, t.errors), ==, 0);
    core_config_free(t.cfg);
    t.cfg = NULL;
    text = g_strdup_printf("[core]\ncontrol_socket = %s\n", too_long);
    tmpconf_write(&t, "ucd.conf", text);
    g_free(text);
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpint(core_config_check(t.cfg, t.errors), ==, 1);
    where = g_strdup_printf("%s:2: [core] control_socket: ", t.main_file);
    assert_one_error(&t, where, "is 108 bytes; a unix socket path may have at most 107");
    g_free(where);
    g_free(fits);
    g_free(too_long);
    tmpconf_clear(&t);
}

/* UCD_KEY_FILE and UCD_KEY_NAME (plugin.h): checked where keys are bound,
 * with file:line; an empty value means "none" and passes. */
static void test_file_and_name_keys(void)
{
    static const ucd_config_key keys[] = {
        {"file", UCD_CONFIG_STRING, UCD_KEY_FILE, "", NULL},
        {"files", UCD_CONFIG_LIST, UCD_KEY_FILE, "", NULL},
        {"table", UCD_CONFIG_STRING, UCD_KEY_NAME, "users", NULL},
        {"plain", UCD_CONFIG_STRING, 0, "", NULL},
        {NULL, 0, 0, NULL, NULL},
    };
    tmpconf t;
    core_section *sec;
    char *text, *where;

    tmpconf_init(&t);
    const char *good = tmpconf_write(&t, "users.xml", "<users/>\n");
    text = g_strdup_printf("[module a]\nfile = %s\nfiles = %s;%s\ntable = hr.staff_2\n"
                           "plain = /nonexistent\n"
                           "[module b]\nfile = %s/missing.xml\nfiles = %s;%s\n"
                           "table = users; DROP TABLE x\n"
                           "[module c]\nfile =\ntable = 2fast\n"
                           "[module d]\ntable = a.b.c\n",
                           good, good, good, t.dir, good, t.dir);
    tmpconf_write(&t, "ucd.conf", text);
    g_free(text);
    g_assert_nonnull(tmpconf_load(&t));

    sec = core_section_bind(t.cfg, "module a", keys, sizeof(ucd_config_key),
                            core_config_module_keys, t.errors);
    g_assert_nonnull(sec);
    core_section_free(sec);
    g_assert_cmpuint(t.errors->len, ==, 0);

    g_assert_null(core_section_bind(t.cfg, "module b", keys, sizeof(ucd_config_key),
                                    core_config_module_keys, t.errors));
    g_assert_cmpuint(t.errors->len, ==, 3);
    where = g_strdup_printf("%s:7: [module b] file: ", t.main_file);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(t.errors, 0), where));
    g_assert_nonnull(strstr(g_ptr_array_index(t.errors, 0), "No such file"));
    g_free(where);
    where = g_strdup_printf("%s:8: [module b] files: ", t.main_file);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(t.errors, 1), where));
    g_assert_nonnull(strstr(g_ptr_array_index(t.errors, 1), "a directory"));
    g_free(where);
    where = g_strdup_printf("%s:9: [module b] table: 'users; DROP TABLE x': not a plain name",
                            t.main_file);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(t.errors, 2), where));
    g_free(where);
    g_ptr_array_set_size(t.errors, 0);

    g_assert_null(core_section_bind(t.cfg, "module c", keys, sizeof(ucd_config_key),
                                    core_config_module_keys, t.errors));
    where = g_strdup_printf("%s:12: [module c] table: '2fast'", t.main_file);
    assert_one_error(&t, where, "not a plain name");
    g_free(where);
    g_assert_null(core_section_bind(t.cfg, "module d", keys, sizeof(ucd_config_key),
                                    core_config_module_keys, t.errors));
    where = g_strdup_printf("%s:14: [module d] table: 'a.b.c'", t.main_file);
    assert_one_error(&t, where, "not a plain name");
    g_free(where);

    if (geteuid() != 0) {
        /* a file ucd may not read */
        g_assert_cmpint(g_chmod(good, 0), ==, 0);
        g_assert_null(core_section_bind(t.cfg, "module a", keys, sizeof(ucd_config_key),
                                        core_config_module_keys, t.errors));
        g_assert_cmpuint(t.errors->len, ==, 3); /* file, and files twice */
        g_assert_nonnull(strstr(g_ptr_array_index(t.errors, 0), "not readable"));
        g_ptr_array_set_size(t.errors, 0);
    }
    tmpconf_clear(&t);
}

/* Started as root with [core] user, ucd reads files only after dropping to
 * that user, so a UCD_KEY_FILE is checked as that user: a file only root may
 * read is refused, by name of the user (review of issue 12, finding 7; the
 * check used to be access() as root, which always passed). Needs root to
 * switch users. */
static void test_file_key_checked_as_user(void)
{
    static const ucd_config_key keys[] = {
        {"file", UCD_CONFIG_STRING, UCD_KEY_FILE, "", NULL},
        {NULL, 0, 0, NULL, NULL},
    };
    if (geteuid() != 0) {
        g_test_skip("switching users needs root");
        return;
    }
    tmpconf t;
    tmpconf_init(&t);
    g_assert_cmpint(g_chmod(t.dir, 0755), ==, 0); /* only the file's own mode counts */
    const char *secret = tmpconf_write(&t, "users.xml", "<users/>\n");
    char *text = g_strdup_printf("[core]\nuser = nobody\n[module a]\nfile = %s\n", secret);
    tmpconf_write(&t, "ucd.conf", text);
    g_free(text);
    g_assert_nonnull(tmpconf_load(&t));

    g_assert_cmpint(g_chmod(secret, 0600), ==, 0);
    g_assert_null(core_section_bind(t.cfg, "module a", keys, sizeof(ucd_config_key),
                                    core_config_module_keys, t.errors));
    char *where = g_strdup_printf("%s:4: [module a] file: ", t.main_file);
    assert_one_error(&t, where,
                     "not readable by [core] user 'nobody', which ucd runs as: "
                     "Permission denied");
    g_free(where);

    g_assert_cmpint(g_chmod(secret, 0644), ==, 0);
    core_section *sec = core_section_bind(t.cfg, "module a", keys, sizeof(ucd_config_key),
                                          core_config_module_keys, t.errors);
    g_assert_nonnull(sec);
    core_section_free(sec);
    g_assert_cmpuint(t.errors->len, ==, 0);
    tmpconf_clear(&t);
}

/* ---- Section forms and module sections ------------------------------------ */

static void test_module_instances(void)
{
    tmpconf t;
    GPtrArray *mods;
    core_module_conf *m;

    tmpconf_init(&t);
    tmpconf_write(&t, "ucd.conf",
                  "[module pbx-sim:office]\n"
                  "rate = 2\n"
                  "[module pbx-sim:Lab_2]\n"
                  "enabled = no\n"
                  "[module journal-sqlite]\n"
                  "required = YES\n"
                  "path = /opt/ucd/journal-sqlite.so\n"
                  "log_level = debug\n");
    tmpconf_write(&t, "conf.d/10.conf", "[module users_ldap]\n");
    g_assert_nonnull(tmpconf_load(&t));
    mods = core_config_modules(t.cfg);
    g_assert_cmpuint(mods->len, ==, 4);

    m = g_ptr_array_index(mods, 0);
    g_assert_cmpstr(m->section, ==, "module pbx-sim:office");
    g_assert_cmpstr(m->id, ==, "pbx-sim:office");
    g_assert_cmpstr(m->name, ==, "pbx-sim");
    g_assert_cmpstr(m->instance, ==, "office");
    g_assert_true(m->enabled);
    g_assert_false(m->required);
    g_assert_null(m->path);
    g_assert_cmpint(m->log_level, ==, -1);

    m = g_ptr_array_index(mods, 1);
    g_assert_cmpstr(m->id, ==, "pbx-sim:Lab_2");
    g_assert_cmpstr(m->instance, ==, "Lab_2");
    g_assert_false(m->enabled);

    m = g_ptr_array_index(mods, 2);
    g_assert_cmpstr(m->id, ==, "journal-sqlite");
    g_assert_null(m->instance);
    g_assert_true(m->required);
    g_assert_cmpstr(m->path, ==, "/opt/ucd/journal-sqlite.so");
    g_assert_cmpint(m->log_level, ==, UCD_LOG_DEBUG);

    /* An empty section in a drop-in is a module too. */
    m = g_ptr_array_index(mods, 3);
    g_assert_cmpstr(m->name, ==, "users_ldap");

    /* Two instances bind separately. */
    {
        core_section *office = bind_sim(&t, "module pbx-sim:office");
        core_section *lab = bind_sim(&t, "module pbx-sim:Lab_2");
        int64_t rate = 0;
        int enabled = -1;

        g_assert_nonnull(office);
        g_assert_nonnull(lab);
        g_assert_cmpint(core_section_int(office, "rate", &rate), ==, UCD_OK);
        g_assert_cmpint(rate, ==, 2);
        g_assert_cmpint(core_section_int(lab, "rate", &rate), ==, UCD_OK);
        g_assert_cmpint(rate, ==, 1);
        g_assert_cmpint(core_section_bool(lab, "enabled", &enabled), ==, UCD_OK);
        g_assert_cmpint(enabled, ==, 0);
        core_section_free(office);
        core_section_free(lab);
    }
    g_assert_cmpint(core_config_check(t.cfg, t.errors), ==, 0);
    tmpconf_clear(&t);
}

static void test_bad_section_forms(void)
{
    tmpconf t;
    static const char *const expected[] = {
        "%s:2: unknown section [Core]: the sections are [core], [log], [permissions], "
        "[location NAME], [module NAME] and [module NAME:INSTANCE]",
        "%s:3: bad module section [modules x]: write [module NAME] or [module NAME:INSTANCE]; "
        "NAME has lowercase letters, digits, '-' and '_' and starts with a letter or digit, "
        "INSTANCE has letters, digits, '-' and '_'",
        "%s:4: bad module section [module Pbx]: write [module NAME] or [module NAME:INSTANCE]; "
        "NAME has lowercase letters, digits, '-' and '_' and starts with a letter or digit, "
        "INSTANCE has letters, digits, '-' and '_'",
        "%s:5: bad module section [module -sim]: write [module NAME] or [module "
        "NAME:INSTANCE]; NAME has lowercase letters, digits, '-' and '_' and starts with a "
        "letter or digit, INSTANCE has letters, digits, '-' and '_'",
        "%s:6: bad module section [module a:b:c]: write [module NAME] or [module "
        "NAME:INSTANCE]; NAME has lowercase letters, digits, '-' and '_' and starts with a "
        "letter or digit, INSTANCE has letters, digits, '-' and '_'",
        "%s:7: bad module section [module sim:]: write [module NAME] or [module "
        "NAME:INSTANCE]; NAME has lowercase letters, digits, '-' and '_' and starts with a "
        "letter or digit, INSTANCE has letters, digits, '-' and '_'",
        "%s:8: bad module section [module]: write [module NAME] or [module NAME:INSTANCE]; "
        "NAME has lowercase letters, digits, '-' and '_' and starts with a letter or digit, "
        "INSTANCE has letters, digits, '-' and '_'",
        "%s:10: unknown section [location a b]: the sections are [core], [log], "
        "[permissions], [location NAME], [module NAME] and [module NAME:INSTANCE]",
        NULL,
    };
    const char *main_file;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "[core]\n"              /* 1 */
                              "[Core]\n"              /* 2 */
                              "[modules x]\n"         /* 3 */
                              "[module Pbx]\n"        /* 4 */
                              "[module -sim]\n"       /* 5 */
                              "[module a:b:c]\n"      /* 6 */
                              "[module sim:]\n"       /* 7 */
                              "[module]\n"            /* 8 */
                              "[module 0k_-:A-z_9]\n" /* 9: valid */
                              "[location a b]\n"      /* 10 */
                              "[location Office-1]\n" /* 11: valid */
                              "[permissions]\n");     /* 12: valid */
    g_assert_null(tmpconf_load(&t));
    assert_errors(t.errors, main_file, expected);
    tmpconf_clear(&t);
}

static void test_syntax_error_line(void)
{
    tmpconf t;
    const char *main_file, *drop_in;
    char *want;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "[core]\n"             /* 1 */
                              "worker_threads = 4\n" /* 2 */
                              "\n"                   /* 3 */
                              "# a comment\n"        /* 4 */
                              "this line is wrong\n" /* 5 */
                              "[log]\n"              /* 6 */
                              "another bad line\n"); /* 7 */
    drop_in = tmpconf_write(&t, "conf.d/10-x.conf",
                            "# keys need a section\n" /* 1 */
                            "level = debug\n");       /* 2 */
    g_assert_null(tmpconf_load(&t));
    /* Every file is reported, each at its first bad line. */
    g_assert_cmpuint(t.errors->len, ==, 2);
    want = g_strdup_printf("%s:5: syntax error: ", main_file);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(t.errors, 0), want));
    g_assert_nonnull(strstr(g_ptr_array_index(t.errors, 0), "this line is wrong"));
    g_free(want);
    want = g_strdup_printf("%s:2: syntax error: ", drop_in);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(t.errors, 1), want));
    g_free(want);
    tmpconf_clear(&t);
}

static void test_syntax_error_last_line_without_newline(void)
{
    tmpconf t;
    const char *main_file;
    char *want;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf", "[core]\nuser = ucd\n[log");
    g_assert_null(tmpconf_load(&t));
    g_assert_cmpuint(t.errors->len, ==, 1);
    want = g_strdup_printf("%s:3: syntax error: ", main_file);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(t.errors, 0), want));
    g_free(want);
    tmpconf_clear(&t);
}

/* ---- Keys: unknown, types, required ---------------------------------------- */

static void test_unknown_key(void)
{
    tmpconf t;
    static const char *const expected[] = {
        "%s:3: [module pbx-sim] unknown key 'rte' (known: rate, seed, lines, enabled, "
        "required, path, log_level, location)",
        NULL,
    };
    static const char *const expected_core[] = {
        "%s:6: [core] unknown key 'workers' (known: plugin_path, state_dir, control_socket, "
        "server_name, user, group, worker_threads, bus_queue_size)",
        "%s:8: [log] unknown key 'file' (known: target, level, recent_lines)",
        NULL,
    };
    const char *main_file;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "[module pbx-sim]\n" /* 1 */
                              "rate = 3\n"         /* 2 */
                              "rte = 5\n"          /* 3 */
                              "enabled = true\n"   /* 4 */
                              "[core]\n"           /* 5 */
                              "workers = 4\n"      /* 6 */
                              "[log]\n"            /* 7 */
                              "file = /tmp/x\n");  /* 8 */
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_null(bind_sim(&t, "module pbx-sim"));
    assert_errors(t.errors, main_file, expected);

    /* The plugin's keys are unknown to the core's check, so not reported. */
    g_ptr_array_set_size(t.errors, 0);
    g_assert_cmpint(core_config_check(t.cfg, t.errors), ==, 2);
    assert_errors(t.errors, main_file, expected_core);
    tmpconf_clear(&t);
}

static const ucd_config_key typed_keys[] = {
    {"count", UCD_CONFIG_INT, 0, NULL, NULL},
    {"big", UCD_CONFIG_INT, 0, NULL, NULL},
    {"flag", UCD_CONFIG_BOOL, 0, NULL, NULL},
    {"ratio", UCD_CONFIG_DOUBLE, 0, NULL, NULL},
    {"timeout", UCD_CONFIG_DURATION, 0, NULL, NULL},
    {"backoff", UCD_CONFIG_DURATION, 0, NULL, NULL},
    {"forever", UCD_CONFIG_DURATION, 0, NULL, NULL},
    {"unit", UCD_CONFIG_DURATION, 0, NULL, NULL},
    {"name", UCD_CONFIG_STRING, 0, NULL, NULL},
    {"hosts", UCD_CONFIG_LIST, 0, NULL, NULL},
    {NULL, 0, 0, NULL, NULL},
};

static void test_wrong_types(void)
{
    tmpconf t;
    static const char *const expected[] = {
        "%s:2: [module typed] count: '12x' is not an integer (write decimal digits, e.g. 42)",
        "%s:3: [module typed] big: '9223372036854775808' is out of range for a 64-bit integer",
        "%s:4: [module typed] flag: 'maybe' is not a boolean (write true/false, yes/no, on/off "
        "or 1/0)",
        "%s:5: [module typed] ratio: '1.5.2' is not a number (e.g. 2, 0.5 or 1e-3)",
        "%s:6: [module typed] timeout: '30' has no unit: write 30ms, 30s, 30m, 30h or 30d",
        "%s:7: [module typed] backoff: '-5s' is negative: a duration is 0 or more",
        "%s:8: [module typed] forever: '9999999999999999d' is out of range for a duration",
        "%s:9: [module typed] unit: '5 weeks' has an unknown unit ' weeks': the units are ms, "
        "s, m, h and d",
        "%s:10: [module typed] name: cannot be read: *",
        NULL,
    };
    const char *main_file;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "[module typed]\n"              /* 1 */
                              "count = 12x\n"                 /* 2 */
                              "big = 9223372036854775808\n"   /* 3 */
                              "flag = maybe\n"                /* 4 */
                              "ratio = 1.5.2\n"               /* 5 */
                              "timeout = 30\n"                /* 6 */
                              "backoff = -5s\n"               /* 7 */
                              "forever = 9999999999999999d\n" /* 8 */
                              "unit = 5 weeks\n"              /* 9 */
                              "name = bad\\qescape\n");       /* 10 */
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_null(core_section_bind(t.cfg, "module typed", typed_keys, sizeof(ucd_config_key), NULL,
                                    t.errors));
    assert_errors(t.errors, main_file, expected);
    tmpconf_clear(&t);
}

static void test_good_values(void)
{
    static const struct {
        const char *text;
        int value;
    } bools[] = {
        {"true", 1},  {"TRUE", 1}, {"Yes", 1}, {"on", 1}, {"1", 1},
        {"false", 0}, {"No", 0},   {"OFF", 0}, {"0", 0},
    };
    static const struct {
        const char *text;
        int64_t ms;
    } durations[] = {
        {"250ms", 250},
        {"30s", 30000},
        {"2m", 120000},
        {"2h", 7200000},
        {"1d", 86400000},
        {"0s", 0},
        {"106751991167d", INT64_C(9223372036828800000)},
    };
    tmpconf t;
    GString *text = g_string_new("[module typed]\n");
    core_section *sec;
    const char *const *items;
    const char *s;
    size_t n;
    int64_t v;
    double d;

    tmpconf_init(&t);
    g_string_append(text, "count = -42\nbig = 9223372036854775807\nratio = 1e-3\n"
                          "hosts = a.example;b.example\\;x;c\nname = two\\swords  \n");
    tmpconf_write(&t, "ucd.conf", text->str);
    g_assert_nonnull(tmpconf_load(&t));
    sec = core_section_bind(t.cfg, "module typed", typed_keys, sizeof(ucd_config_key), NULL,
                            t.errors);
    g_assert_nonnull(sec);
    g_assert_cmpint(core_section_int(sec, "count", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, -42);
    g_assert_cmpint(core_section_int(sec, "big", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, G_MAXINT64);
    g_assert_cmpint(core_section_double(sec, "ratio", &d), ==, UCD_OK);
    g_assert_cmpfloat_with_epsilon(d, 0.001, 1e-12);
    g_assert_cmpint(core_section_list(sec, "hosts", &items, &n), ==, UCD_OK);
    g_assert_cmpuint(n, ==, 3);
    g_assert_cmpstr(items[0], ==, "a.example");
    g_assert_cmpstr(items[1], ==, "b.example;x");
    g_assert_cmpstr(items[2], ==, "c");
    g_assert_null(items[3]);
    g_assert_cmpint(core_section_string(sec, "name", &s), ==, UCD_OK);
    g_assert_cmpstr(s, ==, "two words  ");
    core_section_free(sec);
    core_config_free(t.cfg);
    t.cfg = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(bools); i++) {
        char *conf = g_strdup_printf("[module typed]\nflag = %s\n", bools[i].text);
        int b = -1;

        tmpconf_write(&t, "ucd.conf", conf);
        g_assert_nonnull(tmpconf_load(&t));
        sec = core_section_bind(t.cfg, "module typed", typed_keys, sizeof(ucd_config_key), NULL,
                                t.errors);
        g_assert_nonnull(sec);
        g_assert_cmpint(core_section_bool(sec, "flag", &b), ==, UCD_OK);
        g_assert_cmpint(b, ==, bools[i].value);
        core_section_free(sec);
        core_config_free(t.cfg);
        t.cfg = NULL;
        g_free(conf);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(durations); i++) {
        char *conf = g_strdup_printf("[module typed]\ntimeout = %s\n", durations[i].text);

        tmpconf_write(&t, "ucd.conf", conf);
        g_assert_nonnull(tmpconf_load(&t));
        sec = core_section_bind(t.cfg, "module typed", typed_keys, sizeof(ucd_config_key), NULL,
                                t.errors);
        g_assert_nonnull(sec);
        g_assert_cmpint(core_section_int(sec, "timeout", &v), ==, UCD_OK);
        g_assert_cmpint(v, ==, durations[i].ms);
        core_section_free(sec);
        core_config_free(t.cfg);
        t.cfg = NULL;
        g_free(conf);
    }
    g_assert_cmpuint(t.errors->len, ==, 0);
    g_string_free(text, TRUE);
    tmpconf_clear(&t);
}

static const ucd_config_key pbx_keys[] = {
    {"host", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL, "PBX host"},
    {"password", UCD_CONFIG_STRING, UCD_KEY_REQUIRED | UCD_KEY_SECRET, NULL, "PBX password"},
    {"port", UCD_CONFIG_INT, 0, "5038", "PBX port"},
    {NULL, 0, 0, NULL, NULL},
};

static void test_missing_required(void)
{
    tmpconf t;
    static const char *const expected[] = {
        "%s:2: [module pbx-ami] missing required key 'password' (string)",
        NULL,
    };
    static const char *const expected_absent[] = {
        "%s: [module pbx-other] missing required key 'host' (string)",
        "%s: [module pbx-other] missing required key 'password' (string)",
        NULL,
    };
    const char *main_file;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "[core]\n"           /* 1 */
                              "[module pbx-ami]\n" /* 2 */
                              "host = pbx.lan\n"); /* 3 */
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_null(core_section_bind(t.cfg, "module pbx-ami", pbx_keys, sizeof(ucd_config_key),
                                    core_config_module_keys, t.errors));
    assert_errors(t.errors, main_file, expected);

    /* A section that is not there binds as empty, placed at the main file. */
    g_ptr_array_set_size(t.errors, 0);
    g_assert_null(core_section_bind(t.cfg, "module pbx-other", pbx_keys, sizeof(ucd_config_key),
                                    core_config_module_keys, t.errors));
    assert_errors(t.errors, main_file, expected_absent);
    tmpconf_clear(&t);
}

/* ---- The core's own checks ------------------------------------------------- */

static void test_core_value_checks(void)
{
    tmpconf t;
    static const char *const expected[] = {
        "%s:2: [core] worker_threads: 0 is out of range (1..64)",
        "%s:3: [core] bus_queue_size: 8 is out of range (16..16777216)",
        "%s:5: [log] target: 'syslog' is not one of auto, stderr, journal",
        "%s:6: [log] level: 'verbose' is not one of error, warning, notice, info, debug",
        "%s:7: [log] recent_lines: -1 is out of range (0..1000000)",
        "%s:9: [module pbx-sim] enabled: 'maybe' is not a boolean (write true/false, yes/no, "
        "on/off or 1/0)",
        "%s:10: [module pbx-sim] log_level: 'loud' is not one of error, warning, notice, info, "
        "debug",
        NULL,
    };
    const char *main_file;
    core_module_conf *m;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "[core]\n"             /* 1 */
                              "worker_threads = 0\n" /* 2 */
                              "bus_queue_size = 8\n" /* 3 */
                              "[log]\n"              /* 4 */
                              "target = syslog\n"    /* 5 */
                              "level = verbose\n"    /* 6 */
                              "recent_lines = -1\n"  /* 7 */
                              "[module pbx-sim]\n"   /* 8 */
                              "enabled = maybe\n"    /* 9 */
                              "log_level = loud\n"   /* 10 */
                              "rate = 5\n");         /* 11: the plugin's, not checked */
    /* Loading succeeds: values are the check's business. */
    g_assert_nonnull(tmpconf_load(&t));
    m = g_ptr_array_index(core_config_modules(t.cfg), 0);
    g_assert_true(m->enabled);
    g_assert_cmpint(m->log_level, ==, -1);
    g_assert_cmpint(core_config_check(t.cfg, t.errors), ==, 7);
    assert_errors(t.errors, main_file, expected);
    tmpconf_clear(&t);
}

static void test_core_values_at_limits(void)
{
    tmpconf t;
    core_section *sec;
    const char *const *items;
    const char *s;
    size_t n = 99;
    int64_t v;

    tmpconf_init(&t);
    tmpconf_write(&t, "ucd.conf",
                  "[core]\nworker_threads = 64\nbus_queue_size = 16\n"
                  "[log]\ntarget = journal\nlevel = debug\nrecent_lines = 0\n");
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_cmpint(core_config_check(t.cfg, t.errors), ==, 0);

    /* The core's defaults, through the same getters. */
    sec = core_section_bind(t.cfg, "core", core_config_core_keys, sizeof(ucd_config_key), NULL,
                            t.errors);
    g_assert_nonnull(sec);
    g_assert_cmpint(core_section_list(sec, "plugin_path", &items, &n), ==, UCD_OK);
    g_assert_cmpuint(n, ==, 0);
    g_assert_null(items[0]);
    g_assert_cmpint(core_section_string(sec, "state_dir", &s), ==, UCD_OK);
    g_assert_cmpstr(s, ==, "/var/lib/ucd");
    g_assert_cmpint(core_section_string(sec, "control_socket", &s), ==, UCD_OK);
    g_assert_cmpstr(s, ==, "/run/ucd/ucd.sock");
    g_assert_cmpint(core_section_string(sec, "user", &s), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(core_section_int(sec, "worker_threads", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, 64);
    core_section_free(sec);
    tmpconf_clear(&t);
}

/* ---- Binding: getters, stride, plugin bugs --------------------------------- */

static void test_getters(void)
{
    static const ucd_config_key keys[] = {
        {"host", UCD_CONFIG_STRING, 0, NULL, NULL},
        {"timeout", UCD_CONFIG_DURATION, 0, "2s", NULL},
        {"token", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, NULL},
        {"ratio", UCD_CONFIG_DOUBLE, 0, "0.5", NULL},
        {NULL, 0, 0, NULL, NULL},
    };
    tmpconf t;
    core_section *sec;
    const char *main_file, *s = NULL;
    int64_t v = 0;
    double d = 0;
    int b = -1;
    char *where;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "\n"                /* 1 */
                              "[module x]\n"      /* 2 */
                              "host = pbx\n"      /* 3 */
                              "enabled = off\n"); /* 4 */
    g_assert_nonnull(tmpconf_load(&t));
    sec = core_section_bind(t.cfg, "module x", keys, sizeof(ucd_config_key),
                            core_config_module_keys, t.errors);
    g_assert_nonnull(sec);

    g_assert_cmpint(core_section_string(sec, "host", &s), ==, UCD_OK);
    g_assert_cmpstr(s, ==, "pbx");
    g_assert_cmpint(core_section_int(sec, "timeout", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, 2000);
    g_assert_cmpint(core_section_double(sec, "ratio", &d), ==, UCD_OK);
    g_assert_cmpfloat(d, ==, 0.5);
    g_assert_cmpint(core_section_bool(sec, "enabled", &b), ==, UCD_OK);
    g_assert_cmpint(b, ==, 0);
    /* Not set, no default. */
    g_assert_cmpint(core_section_string(sec, "token", &s), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(core_section_string(sec, "path", &s), ==, UCD_E_NOT_FOUND);
    /* Wrong type or not declared. */
    g_assert_cmpint(core_section_string(sec, "timeout", &s), ==, UCD_E_INVALID);
    g_assert_cmpint(core_section_int(sec, "host", &v), ==, UCD_E_INVALID);
    g_assert_cmpint(core_section_bool(sec, "ratio", &b), ==, UCD_E_INVALID);
    g_assert_cmpint(core_section_double(sec, "timeout", &d), ==, UCD_E_INVALID);
    g_assert_cmpint(core_section_list(sec, "host", NULL, NULL), ==, UCD_E_INVALID);
    g_assert_cmpint(core_section_int(sec, "nonesuch", &v), ==, UCD_E_INVALID);

    where = core_section_where(sec, "host");
    g_assert_true(g_str_has_suffix(where, "ucd.conf:3"));
    g_assert_true(g_str_has_prefix(where, main_file));
    g_free(where);
    /* A default is placed at the section header. */
    where = core_section_where(sec, "timeout");
    g_assert_true(g_str_has_suffix(where, "ucd.conf:2"));
    g_free(where);
    g_assert_true(core_section_is_secret(sec, "token"));
    g_assert_false(core_section_is_secret(sec, "host"));
    g_assert_false(core_section_is_secret(sec, "nonesuch"));
    core_section_free(sec);
    tmpconf_clear(&t);
}

/* A plugin built against a future SDK whose key struct grew, and one built
 * with a struct that ends before `help`. */
typedef struct bigger_key {
    ucd_config_key key;
    const char *future_member;
    uint64_t more;
} bigger_key;

typedef struct smaller_key {
    const char *name;
    uint32_t type;
    uint32_t flags;
    const char *default_value;
} smaller_key;

static void test_key_stride(void)
{
    static const bigger_key big[] = {
        {{"rate", UCD_CONFIG_INT, 0, "7", "help"}, "junk", 1},
        {{"mode", UCD_CONFIG_STRING, 0, "fast", NULL}, (const char *)1, 2},
        {{NULL, 0, 0, NULL, NULL}, NULL, 0},
    };
    static const smaller_key small[] = {
        {"rate", UCD_CONFIG_INT, 0, "9"},
        {"wait", UCD_CONFIG_DURATION, 0, "1m"},
        {NULL, 0, 0, NULL},
    };
    tmpconf t;
    core_section *sec;
    const char *s;
    int64_t v;

    tmpconf_init(&t);
    tmpconf_write(&t, "ucd.conf", "[module s]\nmode = slow\n[module t]\nwait = 5s\n");
    g_assert_nonnull(tmpconf_load(&t));

    sec = core_section_bind(t.cfg, "module s", (const ucd_config_key *)big, sizeof(bigger_key),
                            core_config_module_keys, t.errors);
    g_assert_nonnull(sec);
    g_assert_cmpint(core_section_int(sec, "rate", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, 7);
    g_assert_cmpint(core_section_string(sec, "mode", &s), ==, UCD_OK);
    g_assert_cmpstr(s, ==, "slow");
    core_section_free(sec);

    sec = core_section_bind(t.cfg, "module t", (const ucd_config_key *)small, sizeof(smaller_key),
                            core_config_module_keys, t.errors);
    g_assert_nonnull(sec);
    g_assert_cmpint(core_section_int(sec, "rate", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, 9);
    g_assert_cmpint(core_section_int(sec, "wait", &v), ==, UCD_OK);
    g_assert_cmpint(v, ==, 5000);
    core_section_free(sec);
    g_assert_cmpuint(t.errors->len, ==, 0);
    tmpconf_clear(&t);
}

static void test_plugin_bad_default(void)
{
    static const ucd_config_key bad[] = {
        {"rate", UCD_CONFIG_INT, 0, "ten", NULL},
        {"timeout", UCD_CONFIG_DURATION, 0, "30", NULL},
        {"enabled", UCD_CONFIG_BOOL, 0, "true", NULL},
        {"mode", 99, 0, NULL, NULL},
        {"rate", UCD_CONFIG_INT, 0, "1", NULL},
        {NULL, 0, 0, NULL, NULL},
    };
    static const char *const expected[] = {
        "%s:3: [module pbx-bug] plugin bug: the default of key 'rate' (integer) does not "
        "parse: 'ten' is not an integer (write decimal digits, e.g. 42); report this to the "
        "plugin's author",
        "%s:3: [module pbx-bug] plugin bug: the default of key 'timeout' (duration) does not "
        "parse: '30' has no unit: write 30ms, 30s, 30m, 30h or 30d; report this to the "
        "plugin's author",
        "%s:3: [module pbx-bug] plugin bug: key 'mode' has an unknown type 99; report this to "
        "the plugin's author",
        "%s:3: [module pbx-bug] plugin bug: key 'rate' is declared twice; report this to the "
        "plugin's author",
        "%s:3: [module pbx-bug] plugin bug: key 'enabled' is declared by the plugin but "
        "belongs to the core; report this to the plugin's author",
        NULL,
    };
    tmpconf t;
    const char *main_file;

    tmpconf_init(&t);
    main_file = tmpconf_write(&t, "ucd.conf",
                              "[core]\n"             /* 1 */
                              "\n"                   /* 2 */
                              "[module pbx-bug]\n"); /* 3 */
    g_assert_nonnull(tmpconf_load(&t));
    g_assert_null(core_section_bind(t.cfg, "module pbx-bug", bad, sizeof(ucd_config_key),
                                    core_config_module_keys, t.errors));
    assert_errors(t.errors, main_file, expected);
    tmpconf_clear(&t);
}

/* ---- Comparison and export ------------------------------------------------- */

static core_config *load_text(tmpconf *t, const char *text)
{
    core_config *cfg;

    tmpconf_write(t, "ucd.conf", text);
    cfg = core_config_load(t->main_file, t->conf_dir, t->errors);
    g_assert_nonnull(cfg);
    return cfg;
}

static void test_section_equal(void)
{
    tmpconf t;
    core_config *a, *b, *c;

    tmpconf_init(&t);
    a = load_text(&t, "[module x]\nrate = 1\nseed = 2\n[module y]\n[core]\nuser = ucd\n");
    b = load_text(&t, "# reordered\n[module x]\nseed = 2\nrate = 1\n[core]\nuser = root\n");
    c = load_text(&t, "[module x]\nrate = 1\nseed = 02\n[module z]\nenabled = true\n");

    g_assert_true(core_config_section_equal(a, b, "module x"));
    g_assert_false(core_config_section_equal(a, c, "module x"));
    g_assert_false(core_config_section_equal(a, b, "core"));
    /* Missing on both sides, missing against empty: both mean defaults. */
    g_assert_true(core_config_section_equal(a, b, "log"));
    g_assert_true(core_config_section_equal(a, b, "module y"));
    g_assert_false(core_config_section_equal(a, c, "module z"));
    g_assert_false(core_config_section_equal(c, a, "module z"));
    g_assert_true(core_config_section_equal(c, c, "module z"));
    core_config_free(a);
    core_config_free(b);
    core_config_free(c);
    tmpconf_clear(&t);
}

static gboolean pin_is_secret(const char *section, const char *key, void *ud)
{
    (*(int *)ud)++;
    return strcmp(section, "module pbx-ami") == 0 && strcmp(key, "pin") == 0;
}

static void test_dump_redacted(void)
{
    tmpconf t;
    char *dump, *want;
    int calls = 0;

    tmpconf_init(&t);
    tmpconf_write(&t, "ucd.conf",
                  "[core]\nuser = ucd\n"
                  "[module pbx-ami]\n"
                  "host = pbx.lan\n"
                  "Password = hunter2\n"
                  "api_token = abc123\n"
                  "client_secret_file = /etc/s\n"
                  "pin = 4711\n");
    tmpconf_write(&t, "conf.d/10.conf", "[module pbx-ami]\nhost = pbx2.lan\n");
    g_assert_nonnull(tmpconf_load(&t));
    dump = core_config_dump_redacted(t.cfg, pin_is_secret, &calls);
    g_assert_cmpint(calls, >, 0);

    g_assert_null(strstr(dump, "hunter2"));
    g_assert_null(strstr(dump, "abc123"));
    g_assert_null(strstr(dump, "/etc/s"));
    g_assert_null(strstr(dump, "4711"));
    want = g_strdup_printf("[core]\nuser=ucd\n\n[module pbx-ami]\nhost=pbx2.lan\n"
                           "Password=<redacted>\napi_token=<redacted>\n"
                           "client_secret_file=<redacted>\npin=<redacted>\n");
    g_assert_nonnull(strstr(dump, want));
    g_assert_nonnull(strstr(dump, t.main_file));
    g_free(want);
    g_free(dump);

    /* Without a callback, only the names give secrets away. */
    dump = core_config_dump_redacted(t.cfg, NULL, NULL);
    g_assert_nonnull(strstr(dump, "pin=4711\n"));
    g_assert_null(strstr(dump, "hunter2"));
    g_free(dump);
    tmpconf_clear(&t);
}

/* The example of docs/admin/configuration.md, kept in tests/config/data. */
static void test_documented_example(void)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    char *main_file = g_build_filename(CONFIG_TEST_DATA, "ucd.conf", NULL);
    core_config *cfg = core_config_load(main_file, NULL, errors);
    char *all = errors_text(errors);

    if (!cfg)
        g_error("the documented example does not load:\n%s", all);
    g_assert_cmpint(core_config_check(cfg, errors), ==, 0);
    g_assert_cmpuint(core_config_modules(cfg)->len, >=, 2);
    g_assert_cmpstr(core_config_raw(cfg, "log", "level"), ==, "debug");
    g_free(all);
    core_config_free(cfg);
    g_free(main_file);
    g_ptr_array_unref(errors);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/config/dropins-lexical-order", test_dropins_in_lexical_order);
    g_test_add_func("/config/duplicate-key", test_duplicate_key_later_wins);
    g_test_add_func("/config/missing-files", test_missing_files);
    g_test_add_func("/config/only-regular-files", test_only_regular_files);
    g_test_add_func("/config/nul-bom-long-values", test_nul_bom_long_values);
    g_test_add_func("/config/empty-configuration", test_empty_configuration);
    g_test_add_func("/config/socket-path-length", test_socket_path_length);
    g_test_add_func("/config/file-and-name-keys", test_file_and_name_keys);
    g_test_add_func("/config/file-key-checked-as-user", test_file_key_checked_as_user);
    g_test_add_func("/config/default-conf-dir", test_default_conf_dir_beside_main);
    g_test_add_func("/config/module-instances", test_module_instances);
    g_test_add_func("/config/bad-section-forms", test_bad_section_forms);
    g_test_add_func("/config/syntax-error-line", test_syntax_error_line);
    g_test_add_func("/config/syntax-error-last-line", test_syntax_error_last_line_without_newline);
    g_test_add_func("/config/unknown-key", test_unknown_key);
    g_test_add_func("/config/wrong-types", test_wrong_types);
    g_test_add_func("/config/good-values", test_good_values);
    g_test_add_func("/config/missing-required", test_missing_required);
    g_test_add_func("/config/core-value-checks", test_core_value_checks);
    g_test_add_func("/config/core-values-at-limits", test_core_values_at_limits);
    g_test_add_func("/config/getters", test_getters);
    g_test_add_func("/config/key-stride", test_key_stride);
    g_test_add_func("/config/plugin-bad-default", test_plugin_bad_default);
    g_test_add_func("/config/section-equal", test_section_equal);
    g_test_add_func("/config/dump-redacted", test_dump_redacted);
    g_test_add_func("/config/documented-example", test_documented_example);
    return g_test_run();
}
