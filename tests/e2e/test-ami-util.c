/*
 * test-ami-util.c - see test-ami-util.h.
 */
#include "test-ami-util.h"

#include "ami-script.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#define POLLS   1500 /* x 20 ms: 30 s */
#define POLL_US 20000

/* ---- the replay peer ---------------------------------------------------------------- */

/* The peer dies with the test: an aborted test leaves no ami-replay behind
 * (SIGKILL: a peer stopped by a test dies too). */
static void die_with_parent(gpointer unused)
{
    (void)unused;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* The port the peer wrote once it listens, NULL while it has not. */
static char *read_port(const char *port_file)
{
    char *text = NULL;
    if (g_file_get_contents(port_file, &text, NULL, NULL) && *g_strstrip(text) != '\0')
        return text;
    g_free(text);
    return NULL;
}

ami_peer *ami_peer_start(const char *script, const char *const *extra)
{
    ami_peer *p = g_new0(ami_peer, 1);
    p->dir = g_dir_make_tmp("ucd-ami-XXXXXX", NULL);
    g_assert_nonnull(p->dir);
    char *script_path = g_build_filename(p->dir, "script.txt", NULL);
    char *port_file = g_build_filename(p->dir, "port", NULL);
    p->actions = g_build_filename(p->dir, "actions.txt", NULL);
    g_assert_true(g_file_set_contents(script_path, script, -1, NULL));

    GPtrArray *argv = g_ptr_array_new();
    const char *const base[] = {harness_env("AMI_REPLAY_BIN"),
                                "--script",
                                script_path,
                                "--port-file",
                                port_file,
                                "--secret",
                                "e2e-secret",
                                "--log-actions",
                                p->actions};
    for (guint i = 0; i < G_N_ELEMENTS(base); i++)
        g_ptr_array_add(argv, (gpointer)base[i]);
    for (const char *const *a = extra; a != NULL && *a != NULL; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_subprocess_launcher_set_child_setup(l, die_with_parent, NULL, NULL);
    GError *error = NULL;
    p->proc = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &error);
    g_assert_no_error(error);
    g_object_unref(l);
    g_ptr_array_free(argv, TRUE);

    for (int i = 0; i < POLLS && p->port == NULL; i++) {
        p->port = read_port(port_file);
        if (p->port == NULL) {
            /* GLib reaps it on its worker thread: no identifier once it exited */
            if (g_subprocess_get_identifier(p->proc) == NULL)
                g_error("ami-replay exited: it could not start");
            g_usleep(POLL_US);
        }
    }
    g_assert_nonnull(p->port);
    g_free(port_file);
    g_free(script_path);
    return p;
}

void ami_remove_dir(const char *dir)
{
    char *argv[] = {"rm", "-rf", (char *)dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

void ami_peer_stop(ami_peer *p)
{
    if (p == NULL)
        return;
    g_subprocess_send_signal(p->proc, SIGTERM);
    g_subprocess_wait(p->proc, NULL, NULL);
    g_object_unref(p->proc);
    ami_remove_dir(p->dir);
    g_free(p->dir);
    g_free(p->port);
    g_free(p->actions);
    g_free(p);
}

gboolean ami_peer_received(const ami_peer *p, const char *needle)
{
    char *text = NULL;
    gboolean found = g_file_get_contents(p->actions, &text, NULL, NULL) && strstr(text, needle);
    g_free(text);
    return found;
}

/* ---- scripts -------------------------------------------------------------------------- */

char *ami_script_head(const char *const *lines, const char *channels)
{
    return g_string_free(ami_script_login_resync(lines, channels), FALSE);
}

char *ami_driver_data(const char *name)
{
    char *path = g_build_filename(harness_env("AMI_DRIVER_DATA"), name, NULL);
    char *text = NULL;
    GError *error = NULL;
    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    g_free(path);
    return text;
}

char *ami_replace(const char *text, const char *from, const char *to)
{
    char **parts = g_strsplit(text, from, -1);
    char *joined = g_strjoinv(to, parts);
    g_strfreev(parts);
    return joined;
}

/* ---- the daemon ------------------------------------------------------------------------ */

harness *ami_ucd_start(const char *users_xml, const char *modules)
{
    return e2e_ucd_start(users_xml, modules);
}

void ami_ucd_stop(harness *h)
{
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* ---- polls ----------------------------------------------------------------------------- */

void ami_wait_journal(harness *h, const char *sql, const char *expected)
{
    char *got = NULL;
    for (int i = 0; i < POLLS; i++) {
        g_free(got);
        got = e2e_journal_sql(h, sql);
        if (g_strcmp0(got, expected) == 0)
            break;
        g_usleep(POLL_US);
    }
    if (g_strcmp0(got, expected) != 0)
        g_printerr("journal query: %s\n", sql);
    g_assert_cmpstr(got, ==, expected);
    g_free(got);
}

char *ami_line_cell(harness *h, const char *driver, const char *line, const char *column)
{
    JsonNode *r = e2e_ctl(h, "lines", NULL, NULL, NULL);
    JsonObject *o = json_node_get_object(r);
    int cd = e2e_column(o, "driver"), cl = e2e_column(o, "line"), cc = e2e_column(o, column);
    JsonArray *rows = json_object_get_array_member(o, "rows");
    char *found = NULL;
    for (guint j = 0; j < json_array_get_length(rows) && found == NULL; j++) {
        JsonArray *row = json_array_get_array_element(rows, j);
        if (strcmp(json_array_get_string_element(row, cd), driver) == 0 &&
            strcmp(json_array_get_string_element(row, cl), line) == 0)
            found = g_strdup(json_array_get_string_element(row, cc));
    }
    json_node_free(r);
    return found;
}

void ami_wait_line_state(harness *h, const char *driver, const char *line, const char *state)
{
    char *got = NULL;
    for (int i = 0; i < POLLS; i++) {
        g_free(got);
        got = ami_line_cell(h, driver, line, "state");
        if (g_strcmp0(got, state) == 0)
            break;
        g_usleep(POLL_US);
    }
    if (g_strcmp0(got, state) != 0)
        g_printerr("line %s/%s\n", driver, line);
    g_assert_cmpstr(got, ==, state);
    g_free(got);
}

char *ami_field(JsonNode *resp, const char *name)
{
    JsonObject *o = json_node_get_object(resp);
    if (!json_object_has_member(o, "fields"))
        return NULL;
    JsonArray *fields = json_object_get_array_member(o, "fields");
    for (guint i = 0; i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            return g_strdup(json_object_get_string_member(f, "value"));
    }
    return NULL;
}

void ami_wait_status_field(harness *h, const char *command, const char *field, const char *value)
{
    char *got = NULL;
    for (int i = 0; i < POLLS; i++) {
        g_free(got);
        JsonNode *r = e2e_ctl(h, command, "status", NULL, NULL);
        got = ami_field(r, field);
        json_node_free(r);
        if (g_strcmp0(got, value) == 0)
            break;
        g_usleep(POLL_US);
    }
    if (g_strcmp0(got, value) != 0)
        g_printerr("%s status\n", command);
    g_assert_cmpstr(got, ==, value);
    g_free(got);
}

/* Runs ucctl with `args` (NULL-terminated) and asserts `secret` is not in
 * what it printed. */
static void assert_ucctl_hides(harness *h, const char *secret, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)harness_env("UCCTL_BIN"));
    for (const char *const *a = args; *a != NULL; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *err = NULL;
    harness_run(h, (const char *const *)argv->pdata, &out, &err);
    if (out == NULL || *out == '\0')
        g_printerr("ucctl %s printed nothing (%s)\n", args[0], err ? err : "");
    g_assert_true(out != NULL && *out != '\0');
    g_assert_null(strstr(out, secret));
    g_assert_true(err == NULL || strstr(err, secret) == NULL);
    g_free(out);
    g_free(err);
    g_ptr_array_free(argv, TRUE);
}

void ami_assert_secret_hidden(harness *h, const char *secret, const char *ami_command)
{
    const char *const commands[][4] = {
        {"status", NULL},       {"modules", NULL},
        {"lines", NULL},        {"calls", NULL},
        {"counters", NULL},     {"log", "export", NULL},
        {"check-config", NULL}, {ami_command, "status", NULL},
    };
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
        if (commands[i][0] != NULL)
            assert_ucctl_hides(h, secret, commands[i]);
    char *log = harness_log(h);
    g_assert_null(strstr(log, secret));
    g_free(log);
}
