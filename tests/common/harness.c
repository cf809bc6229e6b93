/*
 * harness.c - see harness.h.
 */
#include <fcntl.h>
#include <sys/prctl.h>
#include <gio/gunixsocketaddress.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "harness.h"

const char *harness_env(const char *name)
{
    const char *v = g_getenv(name);
    if (!v || !*v)
        g_error("environment variable %s is not set: run this test through meson test", name);
    return v;
}

/* GLib reaps the child on its worker thread; the identifier turns NULL then,
 * and only after that may the exit status be asked for. */
static gboolean proc_exited(harness *h)
{
    return g_subprocess_get_identifier(h->proc) == NULL;
}

static void print_log_tail(harness *h, int status);

static char *preamble(harness *h)
{
    return g_strdup_printf("[core]\n"
                           "state_dir = %s/state\n"
                           "control_socket = %s\n"
                           "worker_threads = 2\n"
                           "\n[log]\n"
                           "target = stderr\n"
                           "level = debug\n\n",
                           h->dir, h->sock);
}

void harness_write_config(harness *h, const char *body)
{
    char *pre = preamble(h);
    char *all = g_strconcat(pre, body ? body : "", NULL);
    GError *err = NULL;
    if (!g_file_set_contents(h->conf, all, -1, &err))
        g_error("writing %s: %s", h->conf, err->message);
    g_free(pre);
    g_free(all);
}

void harness_write_dropin(harness *h, const char *name, const char *body)
{
    char *dir = g_build_filename(h->dir, "conf.d", NULL);
    g_mkdir_with_parents(dir, 0755);
    char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, body, -1, NULL));
    g_free(path);
    g_free(dir);
}

harness *harness_new(const char *body)
{
    harness *h = g_new0(harness, 1);
    GError *err = NULL;
    h->dir = g_dir_make_tmp("ucd-test-XXXXXX", &err);
    g_assert_no_error(err);
    g_chmod(h->dir, 0755); /* a dropped-privileges daemon must reach its files */
    h->conf = g_build_filename(h->dir, "ucd.conf", NULL);
    h->sock = g_build_filename(h->dir, "ucd.sock", NULL);
    h->log_path = g_build_filename(h->dir, "ucd.log", NULL);
    harness_write_config(h, body);
    return h;
}

/* The daemon dies with the test: an aborted test must not leave ucd (or
 * valgrind around it) running. */
static void die_with_parent(gpointer unused)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

gboolean harness_start(harness *h)
{
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
    g_subprocess_launcher_set_child_setup(l, die_with_parent, NULL, NULL);
    g_subprocess_launcher_set_stderr_file_path(l, h->log_path);
    g_subprocess_launcher_set_stdout_file_path(l, h->log_path);
    g_subprocess_launcher_setenv(l, "UCD_PLUGIN_PATH", harness_env("UCD_TEST_PLUGIN_PATH"), TRUE);
    g_subprocess_launcher_unsetenv(l, "NOTIFY_SOCKET");
    /* UCD_WRAPPER runs the daemon under a tool, e.g. valgrind with
     * --error-exitcode: every test that expects a clean exit then also
     * asserts a clean valgrind run. */
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    const char *wrapper = g_getenv("UCD_WRAPPER");
    GError *err = NULL;
    if (wrapper && *wrapper) {
        char **words = NULL;
        if (!g_shell_parse_argv(wrapper, NULL, &words, &err))
            g_error("UCD_WRAPPER: %s", err->message);
        for (char **w = words; *w; w++)
            g_ptr_array_add(argv, g_strdup(*w));
        g_strfreev(words);
    }
    g_ptr_array_add(argv, g_strdup(harness_env("UCD_BIN")));
    g_ptr_array_add(argv, g_strdup("-c"));
    g_ptr_array_add(argv, g_strdup(h->conf));
    g_ptr_array_add(argv, NULL);
    h->proc = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &err);
    g_ptr_array_free(argv, TRUE);
    g_object_unref(l);
    g_assert_no_error(err);

    const char *status[] = {"status", NULL};
    for (int i = 0; i < 600; i++) {
        if (g_file_test(h->sock, G_FILE_TEST_EXISTS)) {
            JsonNode *r = harness_request(h, status);
            if (r) {
                json_node_free(r);
                return TRUE;
            }
        }
        if (proc_exited(h))
            return FALSE;
        g_usleep(50 * 1000);
    }
    return FALSE;
}

static GSocketConnection *connect_socket(harness *h)
{
    GSocketClient *c = g_socket_client_new();
    GSocketAddress *addr = g_unix_socket_address_new(h->sock);
    GSocketConnection *conn = g_socket_client_connect(c, G_SOCKET_CONNECTABLE(addr), NULL, NULL);
    g_object_unref(addr);
    g_object_unref(c);
    return conn;
}

JsonNode *harness_request(harness *h, const char *const *argv)
{
    GSocketConnection *conn = connect_socket(h);
    if (!conn)
        return NULL;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "argv");
    json_builder_begin_array(b);
    for (const char *const *a = argv; *a; a++)
        json_builder_add_string_value(b, *a);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "json");
    json_builder_add_boolean_value(b, TRUE);
    json_builder_end_object(b);
    JsonNode *req = json_builder_get_root(b);
    char *text = json_to_string(req, FALSE);
    char *line = g_strconcat(text, "\n", NULL);
    json_node_free(req);
    g_object_unref(b);
    g_free(text);

    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    GDataInputStream *in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
    JsonNode *resp = NULL;
    if (g_output_stream_write_all(out, line, strlen(line), NULL, NULL, NULL)) {
        char *reply = g_data_input_stream_read_line_utf8(in, NULL, NULL, NULL);
        if (reply)
            resp = json_from_string(reply, NULL);
        g_free(reply);
    }
    g_free(line);
    g_object_unref(in);
    g_object_unref(conn);
    return resp;
}

JsonNode *harness_ok(harness *h, const char *const *argv)
{
    JsonNode *r = harness_request(h, argv);
    if (!r) {
        /* No answer usually means ucd died (a sanitizer report) or hung;
         * its stderr says which, and the test's abort would lose it. */
        g_usleep(500 * 1000);
        int status = h->proc && proc_exited(h) ? harness_wait(h) : -1;
        g_printerr("ucctl %s: no answer from ucd\n", argv[0]);
        print_log_tail(h, status);
    }
    g_assert_nonnull(r);
    JsonObject *o = json_node_get_object(r);
    if (!json_object_get_boolean_member_with_default(o, "ok", FALSE))
        g_error("ucctl %s failed: %s", argv[0],
                json_object_get_string_member_with_default(o, "error", "(no error text)"));
    return r;
}

const char *harness_field(JsonNode *resp, const char *name)
{
    JsonObject *o = json_node_get_object(resp);
    JsonArray *fields =
        json_object_has_member(o, "fields") ? json_object_get_array_member(o, "fields") : NULL;
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            return json_object_get_string_member(f, "value");
    }
    return NULL;
}

const char *harness_cell(JsonNode *resp, const char *key, const char *column)
{
    JsonObject *o = json_node_get_object(resp);
    if (!json_object_has_member(o, "columns") || !json_object_has_member(o, "rows"))
        return NULL;
    JsonArray *cols = json_object_get_array_member(o, "columns");
    int idx = -1;
    for (guint i = 0; i < json_array_get_length(cols); i++)
        if (strcmp(json_array_get_string_element(cols, i), column) == 0)
            idx = (int)i;
    if (idx < 0)
        return NULL;
    JsonArray *rows = json_object_get_array_member(o, "rows");
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonArray *row = json_array_get_array_element(rows, i);
        if (strcmp(json_array_get_string_element(row, 0), key) == 0)
            return json_array_get_string_element(row, (guint)idx);
    }
    return NULL;
}

gboolean harness_wait_state(harness *h, const char *module, const char *state)
{
    const char *argv[] = {"modules", NULL};
    for (int i = 0; i < 400; i++) {
        JsonNode *r = harness_request(h, argv);
        gboolean hit = r && g_strcmp0(harness_cell(r, module, "state"), state) == 0;
        if (r)
            json_node_free(r);
        if (hit)
            return TRUE;
        g_usleep(50 * 1000);
    }
    return FALSE;
}

char *harness_log(harness *h)
{
    char *text = NULL;
    if (!g_file_get_contents(h->log_path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

gboolean harness_wait_log(harness *h, const char *needle)
{
    return harness_wait_log_count(h, needle, 1);
}

gboolean harness_wait_log_count(harness *h, const char *needle, guint count)
{
    for (int i = 0; i < 400; i++) {
        char *log = harness_log(h);
        guint seen = 0;
        for (const char *at = strstr(log, needle); at; at = strstr(at + 1, needle))
            seen++;
        g_free(log);
        if (seen >= count)
            return TRUE;
        g_usleep(50 * 1000);
    }
    return FALSE;
}

void harness_signal(harness *h, int sig)
{
    g_subprocess_send_signal(h->proc, sig);
}

int harness_wait(harness *h)
{
    if (!h->proc)
        return -1;
    for (int i = 0; i < 600 && !proc_exited(h); i++)
        g_usleep(50 * 1000);
    if (!proc_exited(h))
        return -1;
    if (g_subprocess_get_if_exited(h->proc))
        return g_subprocess_get_exit_status(h->proc);
    return 128 + g_subprocess_get_term_sig(h->proc);
}

/* The test's own log shows only the exit status; a sanitizer report (ASan,
 * UBSan, LeakSanitizer with abort_on_error gives 134) or a crash message is in
 * the daemon's stderr file, which the temporary folder removal deletes. So
 * the last 8 KiB of it go to the test's stderr, which meson keeps. */
static void print_log_tail(harness *h, int status)
{
    char *log = harness_log(h);
    size_t len = strlen(log);
    const char *tail = len > 8192 ? log + len - 8192 : log;
    if (status < 0)
        g_printerr("ucd is still running; the end of its stderr (%s):\n%s\n", h->log_path, tail);
    else
        g_printerr("ucd exited with %d; the end of its stderr (%s):\n%s\n", status, h->log_path,
                   tail);
    g_free(log);
}

int harness_stop(harness *h)
{
    harness_signal(h, SIGTERM);
    int status = harness_wait(h);
    if (status != 0)
        print_log_tail(h, status);
    return status;
}

static void remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *child = g_build_filename(path, name, NULL);
            if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
                !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
                remove_tree(child);
            else
                g_unlink(child);
            g_free(child);
        }
        g_dir_close(d);
    }
    g_rmdir(path);
}

void harness_free(harness *h)
{
    if (h->proc) {
        if (!proc_exited(h)) {
            g_subprocess_force_exit(h->proc);
            g_subprocess_wait(h->proc, NULL, NULL);
        }
        g_object_unref(h->proc);
    }
    if (!g_getenv("UCD_TEST_KEEP"))
        remove_tree(h->dir);
    g_free(h->dir);
    g_free(h->conf);
    g_free(h->sock);
    g_free(h->log_path);
    g_free(h);
}

gboolean harness_check_config(const char *ucd_bin, const char *dir, const char *config, char **err)
{
    char *conf = g_build_filename(dir, "ucd.conf", NULL);
    g_assert_true(g_file_set_contents(conf, config, -1, NULL));
    const char *argv[] = {ucd_bin, "-c", conf, "--check-config", NULL};
    int status = 0;
    GError *error = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, err, &status, &error));
    g_assert_no_error(error);
    g_unlink(conf);
    g_free(conf);
    return g_spawn_check_wait_status(status, NULL);
}

int harness_run(harness *h, const char *const *argv, char **out, char **err)
{
    GSubprocessLauncher *l =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_subprocess_launcher_setenv(l, "UCD_SOCKET", h->sock, TRUE);
    g_subprocess_launcher_setenv(l, "UCD_PLUGIN_PATH", harness_env("UCD_TEST_PLUGIN_PATH"), TRUE);
    GError *e = NULL;
    GSubprocess *p = g_subprocess_launcher_spawnv(l, argv, &e);
    g_object_unref(l);
    g_assert_no_error(e);
    char *o = NULL, *r = NULL;
    g_subprocess_communicate_utf8(p, NULL, NULL, &o, &r, &e);
    g_assert_no_error(e);
    int status = g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1;
    g_object_unref(p);
    if (out)
        *out = o;
    else
        g_free(o);
    if (err)
        *err = r;
    else
        g_free(r);
    return status;
}

char *harness_ucctl(harness *h, int *status, ...)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)harness_env("UCCTL_BIN"));
    va_list ap;
    va_start(ap, status);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
        g_ptr_array_add(argv, (char *)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *err = NULL;
    *status = harness_run(h, (const char *const *)argv->pdata, &out, &err);
    char *both = g_strconcat(out ? out : "", err ? err : "", NULL);
    g_free(out);
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    return both;
}

/* ---- real peer servers ---------------------------------------------------------- */

struct harness_peer {
    char *script;
    char *dir;
    GHashTable *env;
    int guard_fd; /* closing it makes the guard stop the peer */
};

/* The guard waits for the end of a pipe only this process holds, so the peer
 * is stopped however the test ends. */
static int peer_guard(const char *script, const char *dir)
{
    int fds[2];
    g_assert_cmpint(pipe(fds), ==, 0);
    pid_t pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        close(fds[1]);
        char byte;
        while (read(fds[0], &byte, 1) > 0) {
        }
        execlp("bash", "bash", script, "stop", dir, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return fds[1];
}

harness_peer *harness_peer_start(const char *script, const char *dir_var, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)"bash");
    g_ptr_array_add(argv, (char *)script);
    g_ptr_array_add(argv, (char *)"start");
    for (const char *const *a = args; a && *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *err = NULL;
    int status = 0;
    GError *e = NULL;
    gboolean ran = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                &out, &err, &status, &e);
    g_ptr_array_free(argv, TRUE);
    g_assert_no_error(e);
    g_assert_true(ran);
    if (g_spawn_check_wait_status(status, NULL) == FALSE) {
        /* "a program is missing": 3 (slapd.sh, kamailio.sh) or 77, the exit
         * code meson itself reads as a skip (postgres.sh, mariadb.sh, ...) */
        gboolean missing =
            WIFEXITED(status) && (WEXITSTATUS(status) == 3 || WEXITSTATUS(status) == 77);
        if (missing && g_strcmp0(g_getenv("CI"), "true") != 0) {
            g_test_skip_printf("%s: %s", script, err);
            g_free(out);
            g_free(err);
            return NULL;
        }
        g_error("%s start failed (%s): %s%s", script,
                missing ? "a program is missing, and CI=true makes that a failure" : "error", out,
                err);
    }
    harness_peer *peer = g_new0(harness_peer, 1);
    peer->script = g_strdup(script);
    peer->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    char **lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!g_str_has_prefix(*l, "export "))
            continue;
        int n = 0;
        char **words = NULL;
        if (!g_shell_parse_argv(*l + strlen("export "), &n, &words, NULL))
            continue;
        for (int i = 0; i < n; i++) {
            char *eq = strchr(words[i], '=');
            if (eq)
                g_hash_table_insert(peer->env, g_strndup(words[i], eq - words[i]),
                                    g_strdup(eq + 1));
        }
        g_strfreev(words);
    }
    g_strfreev(lines);
    g_free(out);
    g_free(err);
    peer->dir = g_strdup(harness_peer_get(peer, dir_var));
    g_assert_nonnull(peer->dir);
    peer->guard_fd = peer_guard(script, peer->dir);
    return peer;
}

const char *harness_peer_get(harness_peer *peer, const char *name)
{
    return g_hash_table_lookup(peer->env, name);
}

void harness_peer_stop(harness_peer *peer)
{
    if (!peer)
        return;
    const char *argv[] = {"bash", peer->script, "stop", peer->dir, NULL};
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
    close(peer->guard_fd); /* the guard's own stop then finds nothing left */
    g_hash_table_unref(peer->env);
    g_free(peer->script);
    g_free(peer->dir);
    g_free(peer);
}
