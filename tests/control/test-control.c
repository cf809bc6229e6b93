/*
 * test-control.c - the control socket (core/control.c) and the ucctl tool.
 *
 * The server runs on its own GMainContext on a thread, as the daemon runs it
 * on its main loop; the tests talk to it over plain blocking sockets, the way
 * any client would, so that nothing in the client hides server mistakes.
 * SIGPIPE is left at its default on purpose: if the server ever wrote to a
 * closed peer without MSG_NOSIGNAL, this program would die.
 */
#include "control.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/* ---- a server on a thread ----------------------------------------------- */

typedef struct server {
    char *dir;
    char *path;
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    core_control *ctl;
} server;

/* Written by commands on the server thread, read by the test thread. */
static GMutex last_argv_lock;
static char *last_argv; /* argv of the last "log" command, joined by '|' */

static int cmd_table(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    static const char *const columns[] = {"name", "state"};
    static const char *const row1[] = {"pbx-sim", "running"};
    static const char *const row2[] = {"名前", "stopped"};

    core_reply_columns(reply, 2, columns);
    core_reply_row(reply, row1);
    core_reply_row(reply, row2);
    return UCD_OK;
}

static int cmd_echo(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    char *joined = g_strjoinv(" ", (char **)argv + 1);

    core_reply_text(reply, "%s", joined);
    g_free(joined);
    return UCD_OK;
}

static int cmd_fail(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    core_reply_error(reply, "boom");
    return UCD_FAIL;
}

static int cmd_fields(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    core_reply_field(reply, "version", "1.2.3");
    core_reply_field(reply, "uptime", "5s");
    return UCD_OK;
}

/* "big N": N bytes of text, to make the server write in many pieces. */
static int cmd_big(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    size_t n = argc > 1 ? (size_t)g_ascii_strtoull(argv[1], NULL, 10) : 0;
    char *text = g_malloc(n + 1);

    memset(text, 'x', n);
    text[n] = '\0';
    core_reply_text(reply, "%s", text);
    g_free(text);
    return UCD_OK;
}

static int cmd_log(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    g_mutex_lock(&last_argv_lock);
    g_free(last_argv);
    last_argv = g_strjoinv("|", (char **)argv);
    g_mutex_unlock(&last_argv_lock);
    core_reply_field(reply, "lines", "2");
    core_reply_field(reply, "bundle", "BUNDLE line 1\nBUNDLE line 2\n");
    return UCD_OK;
}

/* "later MS WORD": a deferred reply, completed from a timeout on the server's
 * context: the way a core command answers after blocking work on a worker. */
static gboolean complete_later(gpointer data)
{
    ucd_reply *reply = data;
    core_reply_text(reply, "later");
    core_reply_complete(reply);
    return G_SOURCE_REMOVE;
}

static int cmd_later(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    core_reply_defer(reply);
    GSource *t = g_timeout_source_new(argc > 1 ? (guint)atoi(argv[1]) : 20);
    g_source_set_callback(t, complete_later, reply, NULL);
    g_source_attach(t, g_main_context_get_thread_default());
    g_source_unref(t);
    return UCD_OK;
}

/* "now": deferred, then completed before the handler returns (what a
 * command does when its work cannot even be submitted). */
static int cmd_now(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    core_reply_defer(reply);
    core_reply_text(reply, "now");
    core_reply_complete(reply);
    return UCD_E_BUSY; /* ignored: the reply was deferred */
}

/* "pages TOTAL [--limit N] [--after LAST]": a listing paged the way the
 * model's listings page (issue 12 item 28): rows LAST+1.., at most N (default
 * 2) per reply, and a field "next" when more remain. "pages stuck" always
 * answers the same cursor. Counts its calls for the tests. */
static int pages_calls;

static int cmd_pages(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    static const char *const columns[] = {"id", "name"};
    int total = argc > 1 ? atoi(argv[1]) : 0, limit = 2, after = 0;
    gboolean stuck = argc > 1 && strcmp(argv[1], "stuck") == 0;

    g_atomic_int_inc(&pages_calls);
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--limit") == 0)
            limit = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--after") == 0)
            after = atoi(argv[i + 1]);
        else {
            core_reply_error(reply, "unexpected argument %s", argv[i]);
            return UCD_E_INVALID;
        }
    }
    core_reply_columns(reply, 2, columns);
    if (stuck) {
        core_reply_row(reply, (const char *const[]){"1", "again", NULL});
        core_reply_field(reply, "next", "1");
        return UCD_OK;
    }
    int last = MIN(total, after + limit);
    for (int n = after + 1; n <= last; n++) {
        char id[16], name[32];

        g_snprintf(id, sizeof id, "%d", n);
        g_snprintf(name, sizeof name, n == 3 ? "row three, longer" : "row %d", n);
        core_reply_row(reply, (const char *const[]){id, name, NULL});
    }
    if (last < total) {
        char next[16];

        g_snprintf(next, sizeof next, "%d", last);
        core_reply_field(reply, "next", next);
    }
    return UCD_OK;
}

static void register_test_commands(core_control *ctl)
{
    g_assert_cmpint(
        core_control_register(ctl, "test", "pages", "TOTAL", "a paged listing", cmd_pages, NULL),
        ==, UCD_OK);
    g_assert_cmpint(core_control_register(ctl, "test", "table", "", "a table", cmd_table, NULL), ==,
                    UCD_OK);
    g_assert_cmpint(core_control_register(ctl, "test", "echo", "WORDS...", "echo", cmd_echo, NULL),
                    ==, UCD_OK);
    g_assert_cmpint(core_control_register(ctl, "test", "fail", "", "fails", cmd_fail, NULL), ==,
                    UCD_OK);
    g_assert_cmpint(core_control_register(ctl, "test", "fields", "", "fields", cmd_fields, NULL),
                    ==, UCD_OK);
    g_assert_cmpint(core_control_register(ctl, "test", "big", "N", "N bytes", cmd_big, NULL), ==,
                    UCD_OK);
    g_assert_cmpint(core_control_register(ctl, "core", "log", "export", "logs", cmd_log, NULL), ==,
                    UCD_OK);
    g_assert_cmpint(
        core_control_register(ctl, "test", "later", "MS", "answers after MS ms", cmd_later, NULL),
        ==, UCD_OK);
    g_assert_cmpint(
        core_control_register(ctl, "test", "now", "", "deferred, completed at once", cmd_now, NULL),
        ==, UCD_OK);
}

static gpointer server_thread(gpointer data)
{
    server *s = data;

    g_main_context_push_thread_default(s->ctx);
    g_main_loop_run(s->loop);
    g_main_context_pop_thread_default(s->ctx);
    return NULL;
}

static char *make_temp_dir(void)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp("ucd-control-XXXXXX", &error);

    g_assert_no_error(error);
    return dir;
}

/* A server with the given idle timeout and connection cap (0: default). */
static server *server_start_with(guint idle_ms, guint max_clients)
{
    server *s = g_new0(server, 1);
    GError *error = NULL;

    s->dir = make_temp_dir();
    s->path = g_build_filename(s->dir, "ucd.sock", NULL);
    s->ctx = g_main_context_new();
    s->ctl = core_control_new(s->ctx, s->path, &error);
    g_assert_no_error(error);
    g_assert_nonnull(s->ctl);
    core_control_set_limits(s->ctl, idle_ms, max_clients);
    register_test_commands(s->ctl);
    s->loop = g_main_loop_new(s->ctx, FALSE);
    s->thread = g_thread_new("control", server_thread, s);
    return s;
}

static server *server_start(void)
{
    return server_start_with(0, 0);
}

/* Lets cancelled I/O callbacks run so that their memory is released. */
static void drain_context(GMainContext *ctx)
{
    for (int i = 0; i < 100; i++)
        g_main_context_iteration(ctx, FALSE);
}

static gboolean quit_loop(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

static void server_stop(server *s)
{
    /* Quit from inside the loop: a quit before g_main_loop_run started
     * would be forgotten by it. */
    GSource *quit = g_idle_source_new();

    g_source_set_callback(quit, quit_loop, s->loop, NULL);
    g_source_attach(quit, s->ctx);
    g_source_unref(quit);
    g_thread_join(s->thread);
    core_control_free(s->ctl);
    g_assert_false(g_file_test(s->path, G_FILE_TEST_EXISTS));
    drain_context(s->ctx);
    g_main_loop_unref(s->loop);
    g_main_context_unref(s->ctx);
    g_rmdir(s->dir);
    g_free(s->path);
    g_free(s->dir);
    g_free(s);
}

/* ---- a raw client ------------------------------------------------------- */

typedef struct client {
    int fd;
    GString *pending; /* received, not yet returned as a line */
} client;

static int connect_fd(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    /* Long enough for a slow sanitizer build, short enough to fail a hang. */
    struct timeval timeout = {.tv_sec = 30};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    return fd;
}

static client *client_new(const char *path)
{
    client *c = g_new0(client, 1);

    c->fd = connect_fd(path);
    c->pending = g_string_new(NULL);
    return c;
}

static void client_free(client *c)
{
    close(c->fd);
    g_string_free(c->pending, TRUE);
    g_free(c);
}

/* Sends everything, or stops quietly when the server has hung up (an
 * oversized request is answered and closed before all of it arrived). */
static gboolean client_send_bytes(client *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_assert_true(errno == EPIPE || errno == ECONNRESET);
            return FALSE;
        }
        data += n;
        len -= (size_t)n;
    }
    return TRUE;
}

static void client_send(client *c, const char *text)
{
    g_assert_true(client_send_bytes(c, text, strlen(text)));
}

/* Reads more bytes; 0 at end of stream (a reset counts as the end). */
static ssize_t client_fill(client *c)
{
    char buf[65536];
    ssize_t n;

    do {
        n = recv(c->fd, buf, sizeof(buf), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == ECONNRESET)
        return 0;
    if (n < 0)
        g_error("recv: %s", g_strerror(errno)); /* a timeout: the server hangs */
    g_string_append_len(c->pending, buf, n);
    return n;
}

/* The next response line (without newline), or NULL at end of stream. */
static char *client_read_line(client *c)
{
    for (;;) {
        char *newline = memchr(c->pending->str, '\n', c->pending->len);

        if (newline) {
            char *line = g_strndup(c->pending->str, (gsize)(newline - c->pending->str));

            g_string_erase(c->pending, 0, newline - c->pending->str + 1);
            return line;
        }
        if (client_fill(c) == 0)
            return NULL;
    }
}

static gboolean client_at_eof(client *c)
{
    return c->pending->len == 0 && client_fill(c) == 0;
}

/* ---- response checks ---------------------------------------------------- */

static JsonParser *parse_response(const char *line, JsonObject **object)
{
    JsonParser *parser = json_parser_new();
    GError *error = NULL;

    g_assert_nonnull(line);
    json_parser_load_from_data(parser, line, -1, &error);
    g_assert_no_error(error);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
    *object = json_node_get_object(json_parser_get_root(parser));
    return parser;
}

static void assert_error_response(char *line, const char *expected)
{
    JsonObject *object;
    JsonParser *parser = parse_response(line, &object);

    g_assert_false(json_object_get_boolean_member(object, "ok"));
    g_assert_true(json_object_has_member(object, "error"));
    if (!strstr(json_object_get_string_member(object, "error"), expected))
        g_error("error \"%s\" does not mention \"%s\"",
                json_object_get_string_member(object, "error"), expected);
    g_object_unref(parser);
    g_free(line);
}

/* Checks that `line` is ok:true with text `expected`. */
static void assert_text_response(char *line, const char *expected)
{
    JsonObject *object;
    JsonParser *parser = parse_response(line, &object);

    g_assert_true(json_object_get_boolean_member(object, "ok"));
    g_assert_cmpstr(json_object_get_string_member(object, "text"), ==, expected);
    g_assert_false(json_object_has_member(object, "error"));
    g_object_unref(parser);
    g_free(line);
}

/* A fresh client still gets served: the server survived what came before. */
static void assert_server_alive(server *s)
{
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": [\"echo\", \"alive\"]}\n");
    assert_text_response(client_read_line(c), "alive");
    client_free(c);
}

/* ---- running ucctl ----------------------------------------------------- */

typedef struct run_result {
    int status;
    char *out;
    char *err;
} run_result;

static const char *ucctl_path(void)
{
    return g_getenv("UCCTL");
}

/* Runs ucctl with `args` (NULL-terminated); `socket_env` sets UCD_SOCKET. */
static run_result run_ucctl(const char *socket_env, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    char **envp = g_get_environ();
    GError *error = NULL;
    run_result r = {0};
    int wait_status = 0;

    g_ptr_array_add(argv, (char *)ucctl_path());
    for (int i = 0; args[i]; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);
    envp = socket_env ? g_environ_setenv(envp, "UCD_SOCKET", socket_env, TRUE)
                      : g_environ_unsetenv(envp, "UCD_SOCKET");
    g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                 &wait_status, &error);
    g_assert_no_error(error);
    g_assert_true(WIFEXITED(wait_status));
    r.status = WEXITSTATUS(wait_status);
    g_strfreev(envp);
    g_ptr_array_unref(argv);
    return r;
}

static void run_result_clear(run_result *r)
{
    g_free(r->out);
    g_free(r->err);
}

/* ---- protocol over the socket ------------------------------------------- */

static void test_table_reply(void)
{
    server *s = server_start();
    client *c = client_new(s->path);
    JsonObject *object;
    JsonParser *parser;
    JsonArray *columns, *rows;
    char *line;

    client_send(c, "{\"argv\": [\"table\"], \"json\": true}\n");
    line = client_read_line(c);
    parser = parse_response(line, &object);
    g_free(line);
    g_assert_true(json_object_get_boolean_member(object, "ok"));
    columns = json_object_get_array_member(object, "columns");
    rows = json_object_get_array_member(object, "rows");
    g_assert_cmpuint(json_array_get_length(columns), ==, 2);
    g_assert_cmpstr(json_array_get_string_element(columns, 1), ==, "state");
    g_assert_cmpuint(json_array_get_length(rows), ==, 2);
    g_assert_cmpstr(json_array_get_string_element(json_array_get_array_element(rows, 1), 0), ==,
                    "名前");
    /* Unfilled parts are absent, not empty. */
    g_assert_false(json_object_has_member(object, "fields"));
    g_assert_false(json_object_has_member(object, "text"));
    g_assert_false(json_object_has_member(object, "error"));
    g_object_unref(parser);
    client_free(c);
    server_stop(s);
}

static void test_unknown_command(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": [\"no-such-thing\"]}\n");
    assert_error_response(client_read_line(c), "unknown command \"no-such-thing\"");
    /* The connection stays usable after a well-formed but unknown command. */
    client_send(c, "{\"argv\": [\"echo\", \"again\"]}\n");
    assert_text_response(client_read_line(c), "again");
    client_free(c);
    server_stop(s);
}

static void test_garbage_bytes(void)
{
    static const char garbage[] = "\xff\xfe\x00\x01garbage\x80\n";
    server *s = server_start();
    client *c = client_new(s->path);

    g_assert_true(client_send_bytes(c, garbage, sizeof(garbage) - 1));
    assert_error_response(client_read_line(c), "not valid UTF-8");
    g_assert_true(client_at_eof(c));
    client_free(c);
    assert_server_alive(s);
    server_stop(s);
}

static void test_invalid_json(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": [\"echo\"\n");
    assert_error_response(client_read_line(c), "not valid JSON");
    g_assert_true(client_at_eof(c));
    client_free(c);
    assert_server_alive(s);
    server_stop(s);
}

static void test_not_an_object(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "[\"echo\", \"hi\"]\n");
    assert_error_response(client_read_line(c), "must be a JSON object");
    client_send(c, "\"echo\"\n");
    assert_error_response(client_read_line(c), "must be a JSON object");
    /* Valid JSON of the wrong shape leaves the connection open. */
    client_send(c, "{\"argv\": [\"echo\", \"still here\"]}\n");
    assert_text_response(client_read_line(c), "still here");
    client_free(c);
    server_stop(s);
}

static void test_argv_problems(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": [\"echo\", 1]}\n");
    assert_error_response(client_read_line(c), "\"argv\" item 1 is not a string");
    client_send(c, "{\"argv\": [null]}\n");
    assert_error_response(client_read_line(c), "\"argv\" item 0 is not a string");
    client_send(c, "{\"argv\": [[\"nested\"]]}\n");
    assert_error_response(client_read_line(c), "\"argv\" item 0 is not a string");
    client_send(c, "{\"argv\": \"echo\"}\n");
    assert_error_response(client_read_line(c), "must be an array of strings");
    client_send(c, "{\"json\": true}\n");
    assert_error_response(client_read_line(c), "no \"argv\" member");
    client_free(c);
    server_stop(s);
}

static void test_empty_argv(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": []}\n");
    assert_error_response(client_read_line(c), "\"argv\" is empty");
    client_send(c, "{\"argv\": [\"echo\", \"ok\"]}\n");
    assert_text_response(client_read_line(c), "ok");
    client_free(c);
    server_stop(s);
}

/* More than CORE_CONTROL_MAX_REQUEST bytes without a newline. */
static void test_oversized_request(void)
{
    size_t size = CORE_CONTROL_MAX_REQUEST + 6 * 1024;
    char *flood = g_malloc(size);
    server *s = server_start();
    client *c = client_new(s->path);

    memset(flood, 'a', size);
    client_send_bytes(c, flood, size);
    assert_error_response(client_read_line(c), "request longer than 65536 bytes");
    g_assert_true(client_at_eof(c));
    client_free(c);
    assert_server_alive(s);
    server_stop(s);
    g_free(flood);
}

/* An oversized line that arrives complete, newline included, in one go. */
static void test_oversized_line(void)
{
    GString *request = g_string_new("{\"argv\": [\"echo\", \"");
    server *s = server_start();
    client *c = client_new(s->path);

    while (request->len <= CORE_CONTROL_MAX_REQUEST)
        g_string_append(request, "bbbbbbbbbbbbbbbb");
    g_string_append(request, "\"]}\n");
    client_send_bytes(c, request->str, request->len);
    assert_error_response(client_read_line(c), "request longer than");
    g_assert_true(client_at_eof(c));
    client_free(c);
    assert_server_alive(s);
    server_stop(s);
    g_string_free(request, TRUE);
}

/* A request just under the limit is served. */
static void test_large_request_accepted(void)
{
    GString *request = g_string_new("{\"argv\": [\"echo\", \"");
    GString *word = g_string_new(NULL);
    server *s = server_start();
    client *c = client_new(s->path);

    while (request->len + word->len + 8 < CORE_CONTROL_MAX_REQUEST)
        g_string_append_c(word, 'w');
    g_string_append(request, word->str);
    g_string_append(request, "\"]}\n");
    g_assert_cmpuint(request->len - 1, <=, CORE_CONTROL_MAX_REQUEST);
    client_send(c, request->str);
    assert_text_response(client_read_line(c), word->str);
    client_free(c);
    server_stop(s);
    g_string_free(request, TRUE);
    g_string_free(word, TRUE);
}

/* Pipelined requests, all sent before reading: one response each, in order. */
static void test_many_requests_one_connection(void)
{
    enum { COUNT = 300 };
    GString *batch = g_string_new(NULL);
    server *s = server_start();
    client *c = client_new(s->path);

    for (int i = 0; i < COUNT; i++)
        g_string_append_printf(batch, "{\"argv\": [\"echo\", \"%d\"]}\r\n", i);
    client_send(c, batch->str);
    for (int i = 0; i < COUNT; i++) {
        char *expected = g_strdup_printf("%d", i);

        assert_text_response(client_read_line(c), expected);
        g_free(expected);
    }
    client_free(c);
    server_stop(s);
    g_string_free(batch, TRUE);
}

/* A deferred reply arrives later, and the request after it on the same
 * connection is answered after it, in order; a client that leaves before
 * the deferred answer does not disturb the server. */
static void test_deferred_reply(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": [\"later\", \"50\"]}\n{\"argv\": [\"echo\", \"after\"]}\n");
    assert_text_response(client_read_line(c), "later");
    assert_text_response(client_read_line(c), "after");
    client_free(c);

    c = client_new(s->path);
    client_send(c, "{\"argv\": [\"later\", \"30\"]}\n");
    client_free(c);
    g_usleep(60 * 1000);
    assert_server_alive(s);
    server_stop(s);
}

/* A reply far larger than a socket buffer arrives whole. */
static void test_large_reply(void)
{
    server *s = server_start();
    client *c = client_new(s->path);
    JsonObject *object;
    JsonParser *parser;
    char *line;

    client_send(c, "{\"argv\": [\"big\", \"3000000\"]}\n");
    line = client_read_line(c);
    parser = parse_response(line, &object);
    g_free(line);
    g_assert_cmpuint(strlen(json_object_get_string_member(object, "text")), ==, 3000000);
    g_object_unref(parser);
    client_free(c);
    server_stop(s);
}

static void test_disconnect_mid_line(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": [\"ec");
    client_free(c);
    assert_server_alive(s);

    /* Gone before a large reply is written: the write fails with EPIPE,
     * which must neither raise SIGPIPE nor disturb anybody else. */
    c = client_new(s->path);
    client_send(c, "{\"argv\": [\"big\", \"4000000\"]}\n");
    client_free(c);
    assert_server_alive(s);

    /* Same, after reading only part of the reply. */
    c = client_new(s->path);
    client_send(c, "{\"argv\": [\"big\", \"4000000\"]}\n");
    g_assert_cmpint(client_fill(c), >, 0);
    client_free(c);
    assert_server_alive(s);
    server_stop(s);
}

/* Full of idle connections (issue 12 item 24: one local client holding 64
 * of them locked ucctl out): a newcomer is served, and the connection that
 * waited longest for a request is the one closed to make room. */
static void test_too_many_clients(void)
{
    server *s = server_start();
    client *clients[CORE_CONTROL_MAX_CLIENTS];
    client *extra;

    /* A request each makes sure the server has accepted and counted them. */
    for (int i = 0; i < CORE_CONTROL_MAX_CLIENTS; i++) {
        clients[i] = client_new(s->path);
        client_send(clients[i], "{\"argv\": [\"echo\", \"in\"]}\n");
        assert_text_response(client_read_line(clients[i]), "in");
    }
    extra = client_new(s->path);
    client_send(extra, "{\"argv\": [\"echo\", \"newcomer\"]}\n");
    assert_text_response(client_read_line(extra), "newcomer");
    /* the oldest idle one went; the others are still served */
    g_assert_true(client_at_eof(clients[0]));
    client_send(clients[1], "{\"argv\": [\"echo\", \"second\"]}\n");
    assert_text_response(client_read_line(clients[1]), "second");
    if (ucctl_path()) {
        run_result r = run_ucctl(s->path, (const char *const[]){"echo", "x", NULL});

        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpstr(r.out, ==, "x\n");
        run_result_clear(&r);
    }
    client_free(extra);
    for (int i = 0; i < CORE_CONTROL_MAX_CLIENTS; i++)
        client_free(clients[i]);
    server_stop(s);
}

/* Only when every connection is busy with a command is a newcomer refused,
 * with a reason; ucctl passes it on. */
static void test_all_clients_busy(void)
{
    server *s = server_start_with(0, 3);
    client *busy[3];

    for (int i = 0; i < 3; i++) {
        busy[i] = client_new(s->path);
        client_send(busy[i], "{\"argv\": [\"later\", \"3000\"]}\n");
    }
    /* the server has them all once each is busy: poll until refused */
    gboolean refused = FALSE;
    for (int attempt = 0; attempt < 500 && !refused; attempt++) {
        client *c = client_new(s->path);
        char *line = client_read_line(c);

        refused = line && strstr(line, "all busy") != NULL;
        g_free(line);
        client_free(c);
        if (!refused)
            g_usleep(10000);
    }
    g_assert_true(refused);
    if (ucctl_path()) {
        run_result r = run_ucctl(s->path, (const char *const[]){"echo", "x", NULL});

        g_assert_cmpint(r.status, ==, 1);
        g_assert_nonnull(strstr(r.err, "ucctl: too many control connections"));
        run_result_clear(&r);
    }
    /* the busy ones still get their answers */
    for (int i = 0; i < 3; i++) {
        assert_text_response(client_read_line(busy[i]), "later");
        client_free(busy[i]);
    }
    server_stop(s);
}

/* A connection that sends nothing (or half a request) is closed after the
 * idle timeout; one that talks is not. No wall-clock assertion: the test only
 * waits (bounded by the socket timeout) for the end of the idle stream. */
static void test_idle_timeout(void)
{
    server *s = server_start_with(200, 0);
    client *silent = client_new(s->path);
    client *half = client_new(s->path);

    client_send(half, "{\"argv\": [\"ec");
    g_assert_null(client_read_line(silent));
    g_assert_null(client_read_line(half));
    client_free(silent);
    client_free(half);
    assert_server_alive(s);
    if (ucctl_path()) {
        run_result r = run_ucctl(s->path, (const char *const[]){"echo", "still", NULL});

        g_assert_cmpint(r.status, ==, 0);
        run_result_clear(&r);
    }
    server_stop(s);
}

/* A client that asks for a big answer and never reads it is closed after
 * the timeout too, instead of holding its place for ever. Seen from the
 * client: once the server shut the connection, a send fails. */
static void test_unread_answer_times_out(void)
{
    server *s = server_start_with(200, 0);
    client *c = client_new(s->path);
    gboolean closed = FALSE;

    client_send(c, "{\"argv\": [\"big\", \"8000000\"]}\n");
    /* bounded by the attempts, not by a clock the assertion depends on */
    for (int attempt = 0; attempt < 3000 && !closed; attempt++) {
        closed = send(c->fd, " ", 1, MSG_NOSIGNAL) < 0;
        if (!closed)
            g_usleep(10000);
    }
    g_assert_true(closed);
    g_assert_true(errno == EPIPE || errno == ECONNRESET);
    client_free(c);
    assert_server_alive(s);
    server_stop(s);
}

/* A client that takes a big answer slowly but steadily keeps its connection
 * (review of issue 12, finding 13: the idle clock started once, with the
 * write, and cut such a client after the timeout). It reads 16 KiB every
 * 10 ms, so the answer takes several timeouts to arrive; the assertion is
 * only that all of it does. */
static void test_slow_reader_kept(void)
{
    server *s = server_start_with(500, 0);
    client *c = client_new(s->path);
    GString *got = g_string_new(NULL);
    char buf[16384];
    ssize_t n = 1;

    client_send(c, "{\"argv\": [\"big\", \"3000000\"]}\n");
    while (n > 0 && !memchr(got->str, '\n', got->len)) {
        g_usleep(10000);
        n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0)
            g_string_append_len(got, buf, n);
    }
    g_assert_nonnull(memchr(got->str, '\n', got->len));
    JsonObject *object;
    JsonParser *parser = parse_response(got->str, &object);
    g_assert_cmpuint(strlen(json_object_get_string_member(object, "text")), ==, 3000000);
    g_object_unref(parser);
    g_string_free(got, TRUE);
    client_free(c);
    server_stop(s);
}

/* "st\u0000atus" would run "st": a NUL inside a string is refused, while a
 * backslash followed by the text u0000 is just text. */
static void test_nul_in_request(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": [\"ec\\u0000ho\", \"x\"]}\n");
    assert_error_response(client_read_line(c), "NUL");
    client_send(c, "{\"argv\": [\"echo\", \"a\\u0000b\"]}\n");
    assert_error_response(client_read_line(c), "NUL");
    client_send(c, "{\"argv\": [\"echo\", \"a\\\\u0000b\"]}\n");
    assert_text_response(client_read_line(c), "a\\u0000b");
    /* Only argv is checked, as ucctl.md says: a NUL in another member of the
     * request cuts nothing the daemon uses (review of issue 12, finding 18). */
    client_send(c, "{\"argv\": [\"echo\", \"x\"], \"note\": \"a\\u0000b\"}\n");
    assert_text_response(client_read_line(c), "x");
    client_send(c, "{\"argv\": [\"echo\", \"x\\u0000\"], \"note\": \"a\\u0000b\"}\n");
    assert_error_response(client_read_line(c), "NUL");
    client_free(c);
    server_stop(s);
}

/* ---- the socket file ---------------------------------------------------- */

static void test_socket_mode(void)
{
    server *s = server_start();
    struct stat st;

    g_assert_cmpint(lstat(s->path, &st), ==, 0);
    g_assert_true(S_ISSOCK(st.st_mode));
    g_assert_cmpint(st.st_mode & 07777, ==, 0660);
    g_assert_cmpstr(core_control_path(s->ctl), ==, s->path);
    server_stop(s);
}

/* The daemon prepares the socket's directory for the admin group while still
 * root; the socket must carry that group, not root's. */
static void test_socket_group(void)
{
    char *dir, *path;
    GMainContext *ctx;
    GError *error = NULL;
    core_control *ctl;
    struct stat st;
    const gid_t admin_gid = 4242;

    if (geteuid() != 0) {
        g_test_skip("needs root to give a directory another group");
        return;
    }
    dir = make_temp_dir();
    path = g_build_filename(dir, "ucd.sock", NULL);
    ctx = g_main_context_new();
    g_assert_cmpint(chown(dir, (uid_t)-1, admin_gid), ==, 0);
    ctl = core_control_new(ctx, path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(lstat(path, &st), ==, 0);
    g_assert_cmpuint(st.st_gid, ==, admin_gid);
    g_assert_cmpint(st.st_mode & 07777, ==, 0660);
    core_control_free(ctl);
    drain_context(ctx);
    g_main_context_unref(ctx);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

/* Leaves a socket file nobody listens on, as a crashed daemon would. */
static void make_stale_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    close(fd);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
}

static void test_stale_socket_replaced(void)
{
    char *dir = make_temp_dir();
    char *path = g_build_filename(dir, "ucd.sock", NULL);
    GMainContext *ctx = g_main_context_new();
    GError *error = NULL;
    core_control *ctl;
    struct stat before, after;
    int fd;

    make_stale_socket(path);
    g_assert_cmpint(lstat(path, &before), ==, 0);
    ctl = core_control_new(ctx, path, &error);
    g_assert_no_error(error);
    g_assert_nonnull(ctl);
    g_assert_cmpint(lstat(path, &after), ==, 0);
    g_assert_true(S_ISSOCK(after.st_mode));
    g_assert_cmpint(after.st_mode & 07777, ==, 0660);
    /* Somebody listens there now (the kernel queues the connection). */
    fd = connect_fd(path);
    close(fd);
    core_control_free(ctl);
    drain_context(ctx);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_main_context_unref(ctx);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

static void test_regular_file_refused(void)
{
    char *dir = make_temp_dir();
    char *path = g_build_filename(dir, "ucd.sock", NULL);
    GMainContext *ctx = g_main_context_new();
    GError *error = NULL;
    char *contents = NULL;

    g_assert_true(g_file_set_contents(path, "precious", -1, NULL));
    g_assert_null(core_control_new(ctx, path, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_assert_nonnull(strstr(error->message, path));
    g_assert_nonnull(strstr(error->message, "not a socket"));
    g_clear_error(&error);
    /* Untouched. */
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "precious");
    g_free(contents);
    g_unlink(path);
    g_main_context_unref(ctx);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

static void test_live_socket_refused(void)
{
    server *s = server_start();
    GMainContext *ctx = g_main_context_new();
    GError *error = NULL;

    g_assert_null(core_control_new(ctx, s->path, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
    g_clear_error(&error);
    /* The running server kept its socket. */
    assert_server_alive(s);
    g_main_context_unref(ctx);
    server_stop(s);
}

/* free removes only the file it created, not one put there since. */
static void test_free_keeps_foreign_file(void)
{
    char *dir = make_temp_dir();
    char *path = g_build_filename(dir, "ucd.sock", NULL);
    GMainContext *ctx = g_main_context_new();
    GError *error = NULL;
    core_control *ctl = core_control_new(ctx, path, &error);

    g_assert_no_error(error);
    g_assert_cmpint(g_unlink(path), ==, 0);
    g_assert_true(g_file_set_contents(path, "other", -1, NULL));
    core_control_free(ctl);
    drain_context(ctx);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_unlink(path);
    g_main_context_unref(ctx);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

/* ---- registry and replies, in-process ----------------------------------- */

typedef struct local {
    char *dir;
    char *path;
    GMainContext *ctx;
    core_control *ctl;
} local;

static void local_open(local *l)
{
    GError *error = NULL;

    l->dir = make_temp_dir();
    l->path = g_build_filename(l->dir, "ucd.sock", NULL);
    l->ctx = g_main_context_new();
    l->ctl = core_control_new(l->ctx, l->path, &error);
    g_assert_no_error(error);
}

static void local_close(local *l)
{
    core_control_free(l->ctl);
    drain_context(l->ctx);
    g_main_context_unref(l->ctx);
    g_rmdir(l->dir);
    g_free(l->path);
    g_free(l->dir);
}

/* A reply deferred and completed before its handler returned is answered
 * once, like an immediate one, on the socket and in-process; the connection
 * goes on (a use after free under ASan before the fix). */
static void test_deferred_completed_at_once(void)
{
    server *s = server_start();
    client *c = client_new(s->path);

    client_send(c, "{\"argv\": [\"now\"]}\n{\"argv\": [\"echo\", \"after\"]}\n");
    assert_text_response(client_read_line(c), "now");
    assert_text_response(client_read_line(c), "after");
    client_free(c);
    assert_server_alive(s);
    server_stop(s);

    local l;
    local_open(&l);
    register_test_commands(l.ctl);
    char *out = core_control_execute(l.ctl, 1, (const char *const[]){"now", NULL});
    g_assert_cmpstr(out, ==, "{\"ok\":true,\"text\":\"now\"}");
    g_free(out);
    local_close(&l);
}

/* ---- core_control_run(), under the control service ----------------------- */

/* What the control service (ucd/control.h) runs on: the socket's reply JSON
 * handed to a callback with the command's result, always after run()
 * returned, for replies given at once and deferred ones, errors, and the
 * refusals that call nothing. /daemon/control-service runs the real core
 * commands through the service itself. */

typedef struct answer {
    int calls;
    int result;
    char *json;
} answer;

static void on_answer(int result, const char *json, void *user_data)
{
    answer *a = user_data;

    a->calls++;
    a->result = result;
    g_free(a->json);
    a->json = g_strdup(json);
}

static int cmd_silent_fail(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    return UCD_E_DENIED;
}

static gboolean fail_later(gpointer data)
{
    ucd_reply *reply = data;

    core_reply_error(reply, "failed later");
    core_reply_complete(reply);
    return G_SOURCE_REMOVE;
}

static int cmd_later_fail(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    GSource *idle = g_idle_source_new();

    core_reply_defer(reply);
    g_source_set_callback(idle, fail_later, reply, NULL);
    g_source_attach(idle, g_main_context_get_thread_default());
    g_source_unref(idle);
    return UCD_OK;
}

/* A local server with the test commands, its context the thread default
 * (where "later" completes). */
static void run_open(local *l, answer *a)
{
    local_open(l);
    g_main_context_push_thread_default(l->ctx);
    register_test_commands(l->ctl);
    core_control_register(l->ctl, "test", "silent-fail", "", "", cmd_silent_fail, NULL);
    core_control_register(l->ctl, "test", "later-fail", "", "", cmd_later_fail, NULL);
    memset(a, 0, sizeof *a);
}

static void run_close(local *l, answer *a)
{
    g_main_context_pop_thread_default(l->ctx);
    local_close(l);
    g_free(a->json);
}

/* Runs argv (NULL-terminated, as handlers read it), asserting run() took it
 * and did not answer inside, then waits for the one answer. */
static void run_and_wait(local *l, answer *a, const char *const *argv)
{
    a->calls = 0;
    g_assert_cmpint(core_control_run(l->ctl, (int)g_strv_length((char **)argv), argv, on_answer, a),
                    ==, UCD_OK);
    g_assert_cmpint(a->calls, ==, 0);
    for (int i = 0; i < 100000 && a->calls == 0; i++)
        g_main_context_iteration(l->ctx, TRUE);
    g_assert_cmpint(a->calls, ==, 1);
}

/* The JSON is the socket's, byte for byte. */
static void test_run_same_json(void)
{
    local l;
    answer a;
    const char *echo[] = {"echo", "a", "b", NULL};
    const char *table[] = {"table", NULL};

    run_open(&l, &a);
    run_and_wait(&l, &a, echo);
    g_assert_cmpint(a.result, ==, UCD_OK);
    g_assert_cmpstr(a.json, ==, "{\"ok\":true,\"text\":\"a b\"}");
    run_and_wait(&l, &a, table);
    g_assert_cmpint(a.result, ==, UCD_OK);
    char *direct = core_control_execute(l.ctl, 1, table);
    g_assert_cmpstr(a.json, ==, direct);
    g_free(direct);
    run_close(&l, &a);
}

/* A failing command: its code and message; one failing silently gets the
 * socket's generic reason; deferred replies, ok or failed (UCD_FAIL: the
 * handler's return value means nothing once it deferred). */
static void test_run_errors_and_deferred(void)
{
    local l;
    answer a;
    const char *fail[] = {"fail", NULL};
    const char *silent[] = {"silent-fail", NULL};
    const char *later[] = {"later", "10", NULL};
    const char *later_fail[] = {"later-fail", NULL};

    run_open(&l, &a);
    run_and_wait(&l, &a, fail);
    g_assert_cmpint(a.result, ==, UCD_FAIL);
    g_assert_cmpstr(a.json, ==, "{\"ok\":false,\"error\":\"boom\"}");
    run_and_wait(&l, &a, silent);
    g_assert_cmpint(a.result, ==, UCD_E_DENIED);
    g_assert_nonnull(strstr(a.json, "silent-fail failed: permission denied"));
    run_and_wait(&l, &a, later);
    g_assert_cmpint(a.result, ==, UCD_OK);
    g_assert_cmpstr(a.json, ==, "{\"ok\":true,\"text\":\"later\"}");
    const char *now[] = {"now", NULL};
    run_and_wait(&l, &a, now);
    g_assert_cmpint(a.result, ==, UCD_OK);
    g_assert_cmpstr(a.json, ==, "{\"ok\":true,\"text\":\"now\"}");
    run_and_wait(&l, &a, later_fail);
    g_assert_cmpint(a.result, ==, UCD_FAIL);
    g_assert_cmpstr(a.json, ==, "{\"ok\":false,\"error\":\"failed later\"}");
    run_close(&l, &a);
}

/* Refused at once, the callback never called: an unknown command, an empty
 * argv, a NULL word, bytes that are not UTF-8, no callback. */
static void test_run_refusals(void)
{
    local l;
    answer a;
    const char *unknown[] = {"no-such-command", NULL};
    const char *null_word[] = {"echo", NULL};
    const char *not_utf8[] = {"echo", "\xff\xfe", NULL};

    run_open(&l, &a);
    g_assert_cmpint(core_control_run(l.ctl, 1, unknown, on_answer, &a), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(core_control_run(l.ctl, 0, unknown, on_answer, &a), ==, UCD_E_INVALID);
    g_assert_cmpint(core_control_run(l.ctl, 1, NULL, on_answer, &a), ==, UCD_E_INVALID);
    g_assert_cmpint(core_control_run(l.ctl, 2, null_word, on_answer, &a), ==, UCD_E_INVALID);
    g_assert_cmpint(core_control_run(l.ctl, 2, not_utf8, on_answer, &a), ==, UCD_E_INVALID);
    g_assert_cmpint(core_control_run(l.ctl, 1, unknown, NULL, NULL), ==, UCD_E_INVALID);
    drain_context(l.ctx);
    g_assert_cmpint(a.calls, ==, 0);
    run_close(&l, &a);
}

/* The command's owner stops between run() and its turn: the unknown-command
 * answer. The server freed before the turn: no answer, nothing leaks. */
static void test_run_command_gone(void)
{
    local l;
    answer a;
    const char *echo[] = {"echo", "x", NULL};

    run_open(&l, &a);
    g_assert_cmpint(core_control_run(l.ctl, 2, echo, on_answer, &a), ==, UCD_OK);
    core_control_unregister_owner(l.ctl, "test");
    for (int i = 0; i < 100 && a.calls == 0; i++)
        g_main_context_iteration(l.ctx, TRUE);
    g_assert_cmpint(a.calls, ==, 1);
    g_assert_cmpint(a.result, ==, UCD_E_NOT_FOUND);
    g_assert_nonnull(strstr(a.json, "unknown command \\\"echo\\\""));
    run_close(&l, &a);

    run_open(&l, &a);
    g_assert_cmpint(core_control_run(l.ctl, 2, echo, on_answer, &a), ==, UCD_OK);
    g_assert_cmpint(core_control_run(l.ctl, 2, echo, on_answer, &a), ==, UCD_OK);
    run_close(&l, &a);
    g_assert_cmpint(a.calls, ==, 0);
}

static char *execute1(core_control *ctl, const char *a0, const char *a1)
{
    const char *argv[] = {a0, a1, NULL};

    return core_control_execute(ctl, a1 ? 2 : 1, argv);
}

static int cmd_ragged(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    static const char *const columns[] = {"a", "b", "c"};
    static const char *const short_row[] = {"1", NULL};
    /* No terminator needed: only three values are ever read. */
    static const char *const long_row[] = {"x", "y", "z", "extra"};
    static const char *const other_columns[] = {"changed"};

    core_reply_row(reply, short_row); /* before columns: ignored */
    core_reply_columns(reply, 3, columns);
    core_reply_row(reply, short_row);
    core_reply_row(reply, long_row);
    core_reply_columns(reply, 1, other_columns); /* after rows: ignored */
    core_reply_field(reply, "empty", NULL);
    core_reply_text(reply, "one ");
    core_reply_text(reply, "%s", "two");
    return UCD_OK;
}

static void test_reply_shapes(void)
{
    local l;
    JsonObject *object;
    JsonParser *parser;
    JsonArray *rows, *row, *fields;
    char *out;

    local_open(&l);
    g_assert_cmpint(core_control_register(l.ctl, "test", "ragged", "", "", cmd_ragged, NULL), ==,
                    UCD_OK);
    out = execute1(l.ctl, "ragged", NULL);
    g_assert_null(strchr(out, '\n'));
    parser = parse_response(out, &object);
    g_assert_true(json_object_get_boolean_member(object, "ok"));
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(object, "columns")), ==, 3);
    rows = json_object_get_array_member(object, "rows");
    g_assert_cmpuint(json_array_get_length(rows), ==, 2);
    row = json_array_get_array_element(rows, 0);
    g_assert_cmpuint(json_array_get_length(row), ==, 3);
    g_assert_cmpstr(json_array_get_string_element(row, 0), ==, "1");
    g_assert_cmpstr(json_array_get_string_element(row, 2), ==, "");
    row = json_array_get_array_element(rows, 1);
    g_assert_cmpuint(json_array_get_length(row), ==, 3);
    g_assert_cmpstr(json_array_get_string_element(row, 2), ==, "z");
    fields = json_object_get_array_member(object, "fields");
    g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(fields, 0), "name"),
                    ==, "empty");
    g_assert_cmpstr(
        json_object_get_string_member(json_array_get_object_element(fields, 0), "value"), ==, "");
    g_assert_cmpstr(json_object_get_string_member(object, "text"), ==, "one two");
    g_object_unref(parser);
    g_free(out);
    local_close(&l);
}

static int cmd_silent_failure(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    return UCD_E_NOT_FOUND;
}

static int cmd_two_errors(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    core_reply_text(reply, "partial");
    core_reply_error(reply, "first %d", 1);
    core_reply_error(reply, "second");
    return UCD_OK; /* an error reply is a failure whatever the return code */
}

static int cmd_bad_utf8(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    core_reply_text(reply, "bad \xff\xfe end");
    return UCD_OK;
}

static int cmd_flood(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    static const char *const columns[] = {"data"};
    char *chunk = g_malloc(1024 * 1024 + 1);
    const char *row[] = {chunk};

    memset(chunk, 'q', 1024 * 1024);
    chunk[1024 * 1024] = '\0';
    core_reply_columns(reply, 1, columns);
    for (int i = 0; i < 20; i++)
        core_reply_row(reply, row);
    g_free(chunk);
    return UCD_OK;
}

static void test_reply_errors(void)
{
    local l;
    char *out;

    local_open(&l);
    core_control_register(l.ctl, "test", "silent", "", "", cmd_silent_failure, NULL);
    core_control_register(l.ctl, "test", "two", "", "", cmd_two_errors, NULL);
    core_control_register(l.ctl, "test", "utf8", "", "", cmd_bad_utf8, NULL);
    core_control_register(l.ctl, "test", "flood", "", "", cmd_flood, NULL);

    assert_error_response(execute1(l.ctl, "silent", NULL), "silent failed: not found");
    assert_error_response(execute1(l.ctl, "two", NULL), "first 1; second");
    assert_error_response(execute1(l.ctl, "flood", NULL), "reply larger than 16 MiB");
    assert_error_response(execute1(l.ctl, "nope", NULL), "unknown command");
    assert_error_response(core_control_execute(l.ctl, 0, NULL), "\"argv\" is empty");

    out = execute1(l.ctl, "utf8", NULL);
    g_assert_true(g_utf8_validate(out, -1, NULL));
    g_assert_nonnull(strstr(out, "bad "));
    g_assert_nonnull(strstr(out, " end"));
    g_free(out);
    local_close(&l);
}

static int cmd_noop(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    return UCD_OK;
}

/* Finds the help table row of `name`; NULL when absent. */
static JsonArray *help_row(JsonObject *object, const char *name)
{
    JsonArray *rows = json_object_get_array_member(object, "rows");

    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonArray *row = json_array_get_array_element(rows, i);

        if (strcmp(json_array_get_string_element(row, 0), name) == 0)
            return row;
    }
    return NULL;
}

static void test_register_and_help(void)
{
    local l;
    JsonObject *object;
    JsonParser *parser;
    JsonArray *row;
    char *out;

    local_open(&l);
    g_assert_cmpint(core_control_register(l.ctl, "pbx-sim:office", "lines", "[--all]", "list lines",
                                          cmd_noop, NULL),
                    ==, UCD_OK);
    g_assert_cmpint(core_control_register(l.ctl, "other", "lines", "", "", cmd_noop, NULL), ==,
                    UCD_E_BUSY);
    g_assert_cmpint(core_control_register(l.ctl, "other", "help", "", "", cmd_noop, NULL), ==,
                    UCD_E_BUSY);
    g_assert_cmpint(core_control_register(l.ctl, "other", "", "", "", cmd_noop, NULL), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(core_control_register(l.ctl, "other", "Lines", "", "", cmd_noop, NULL), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(core_control_register(l.ctl, "other", "a b", "", "", cmd_noop, NULL), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(core_control_register(l.ctl, "other", "x_y", "", "", cmd_noop, NULL), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(core_control_register(l.ctl, "other", "x-y-2", NULL, NULL, cmd_noop, NULL), ==,
                    UCD_OK);

    out = execute1(l.ctl, "help", NULL);
    parser = parse_response(out, &object);
    g_assert_cmpstr(
        json_array_get_string_element(json_object_get_array_member(object, "columns"), 3), ==,
        "owner");
    row = help_row(object, "lines");
    g_assert_nonnull(row);
    g_assert_cmpstr(json_array_get_string_element(row, 1), ==, "[--all]");
    g_assert_cmpstr(json_array_get_string_element(row, 2), ==, "list lines");
    g_assert_cmpstr(json_array_get_string_element(row, 3), ==, "pbx-sim:office");
    g_assert_nonnull(help_row(object, "help"));
    /* Sorted by name. */
    g_assert_cmpstr(
        json_array_get_string_element(
            json_array_get_array_element(json_object_get_array_member(object, "rows"), 0), 0),
        ==, "help");
    g_object_unref(parser);
    g_free(out);

    out = execute1(l.ctl, "help", "lines");
    g_assert_nonnull(strstr(out, "\"value\":\"list lines\""));
    g_free(out);
    assert_error_response(execute1(l.ctl, "help", "nope"), "unknown command");

    /* A module's stop removes its commands, not anyone else's, nor help. */
    core_control_unregister_owner(l.ctl, "pbx-sim:office");
    core_control_unregister_owner(l.ctl, "core");
    assert_error_response(execute1(l.ctl, "lines", NULL), "unknown command");
    out = execute1(l.ctl, "x-y-2", NULL);
    g_assert_cmpstr(out, ==, "{\"ok\":true}");
    g_free(out);
    out = execute1(l.ctl, "help", NULL);
    g_assert_nonnull(strstr(out, "\"ok\":true"));
    g_free(out);
    /* The name is free again. */
    g_assert_cmpint(core_control_register(l.ctl, "other", "lines", "", "", cmd_noop, NULL), ==,
                    UCD_OK);
    local_close(&l);
}

/* ---- ucctl ------------------------------------------------------------- */

static gboolean have_ucctl(void)
{
    if (ucctl_path())
        return TRUE;
    g_error("UCCTL is not set: run this test through meson test, which passes the ucctl it built");
}

static void test_ucctl_table(void)
{
    server *s;
    run_result r;

    if (!have_ucctl())
        return;
    s = server_start();
    r = run_ucctl(NULL, (const char *const[]){"--socket", s->path, "table", NULL});
    g_assert_cmpstr(r.err, ==, "");
    g_assert_cmpint(r.status, ==, 0);
    /* Aligned by display width: "名前" takes four columns, like "name". */
    g_assert_cmpstr(r.out, ==,
                    "name     state\n"
                    "pbx-sim  running\n"
                    "名前     stopped\n");
    run_result_clear(&r);

    /* UCD_SOCKET is the default path. */
    r = run_ucctl(s->path, (const char *const[]){"fields", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "version: 1.2.3\nuptime: 5s\n");
    run_result_clear(&r);

    r = run_ucctl(s->path, (const char *const[]){"echo", "--raw", "words", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "--raw words\n");
    run_result_clear(&r);

    r = run_ucctl(s->path, (const char *const[]){"help", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_true(g_str_has_prefix(r.out, "command"));
    g_assert_nonnull(strstr(r.out, "\ntable "));
    run_result_clear(&r);
    server_stop(s);
}

/* parses `out` as JSON, asserting it is exactly one JSON value */
static JsonNode *parse_json(const char *out)
{
    JsonParser *parser = json_parser_new();
    GError *error = NULL;
    JsonNode *root;

    json_parser_load_from_data(parser, out, -1, &error);
    g_assert_no_error(error);
    root = json_node_copy(json_parser_get_root(parser));
    g_object_unref(parser);
    return root;
}

/* --json: a table is an array of objects keyed by column, fields are an
 * object, an error is {"ok": false, "error": ...}; and ucctl's options go
 * anywhere on the line (issue 12 item 3). */
static void test_ucctl_json(void)
{
    server *s;
    run_result r;
    JsonNode *root;
    JsonArray *array;
    JsonObject *object;

    if (!have_ucctl())
        return;
    s = server_start();
    r = run_ucctl(NULL, (const char *const[]){"--json", "--socket", s->path, "table", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_true(g_str_has_suffix(r.out, "\n"));
    root = parse_json(r.out);
    g_assert_true(JSON_NODE_HOLDS_ARRAY(root));
    array = json_node_get_array(root);
    g_assert_cmpuint(json_array_get_length(array), ==, 2);
    object = json_array_get_object_element(array, 1);
    g_assert_cmpstr(json_object_get_string_member(object, "name"), ==, "名前");
    g_assert_cmpstr(json_object_get_string_member(object, "state"), ==, "stopped");
    json_node_unref(root);
    run_result_clear(&r);

    /* options after the command, in both spellings */
    const char *const *lines[] = {
        (const char *const[]){"table", "--json", "--socket", s->path, NULL},
        (const char *const[]){"table", "-j", "-s", s->path, NULL},
        (const char *const[]){"table", "--socket=x", "--json", "--socket", s->path, NULL},
    };
    for (guint i = 0; i < G_N_ELEMENTS(lines); i++) {
        r = run_ucctl(NULL, lines[i]);
        g_assert_cmpint(r.status, ==, 0);
        root = parse_json(r.out);
        g_assert_cmpuint(json_array_get_length(json_node_get_array(root)), ==, 2);
        json_node_unref(root);
        run_result_clear(&r);
    }

    r = run_ucctl(s->path, (const char *const[]){"fields", "--json", NULL});
    g_assert_cmpint(r.status, ==, 0);
    root = parse_json(r.out);
    object = json_node_get_object(root);
    g_assert_cmpstr(json_object_get_string_member(object, "version"), ==, "1.2.3");
    g_assert_cmpstr(json_object_get_string_member(object, "uptime"), ==, "5s");
    json_node_unref(root);
    run_result_clear(&r);

    r = run_ucctl(s->path, (const char *const[]){"fail", "--json", NULL});
    g_assert_cmpint(r.status, ==, 1);
    root = parse_json(r.out);
    object = json_node_get_object(root);
    g_assert_false(json_object_get_boolean_member(object, "ok"));
    g_assert_cmpstr(json_object_get_string_member(object, "error"), ==, "boom");
    json_node_unref(root);
    run_result_clear(&r);

    /* after "--" everything is the command's */
    r = run_ucctl(s->path, (const char *const[]){"echo", "--", "--json", "-s", "x", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "--json -s x\n");
    run_result_clear(&r);
    server_stop(s);
}

/* A paged listing is followed to its end, rows streamed page by page: the
 * header once for people, one array across pages for --json; --limit turns
 * paging off; a cursor that does not move is an error, not a loop
 * (issue 12 item 28, against the contract: field "next", --after). */
static void test_ucctl_pages(void)
{
    server *s;
    run_result r;
    JsonNode *root;
    JsonArray *array;

    if (!have_ucctl())
        return;
    s = server_start();
    g_atomic_int_set(&pages_calls, 0);
    r = run_ucctl(s->path, (const char *const[]){"pages", "5", NULL});
    g_assert_cmpstr(r.err, ==, "");
    g_assert_cmpint(r.status, ==, 0);
    /* aligned by the widest cell seen so far: page 2 widens "name" */
    g_assert_cmpstr(r.out, ==,
                    "id  name\n"
                    "1   row 1\n"
                    "2   row 2\n"
                    "3   row three, longer\n"
                    "4   row 4\n"
                    "5   row 5\n");
    g_assert_cmpint(g_atomic_int_get(&pages_calls), ==, 3);
    run_result_clear(&r);

    r = run_ucctl(s->path, (const char *const[]){"pages", "5", "--json", NULL});
    g_assert_cmpint(r.status, ==, 0);
    root = parse_json(r.out);
    array = json_node_get_array(root);
    g_assert_cmpuint(json_array_get_length(array), ==, 5);
    for (guint i = 0; i < 5; i++) {
        char id[8];
        g_snprintf(id, sizeof id, "%u", i + 1);
        g_assert_cmpstr(
            json_object_get_string_member(json_array_get_object_element(array, i), "id"), ==, id);
    }
    json_node_unref(root);
    run_result_clear(&r);

    /* empty listing: an empty array */
    r = run_ucctl(s->path, (const char *const[]){"--json", "pages", "0", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "[]\n");
    run_result_clear(&r);

    /* the user's --limit: one page only, as asked */
    g_atomic_int_set(&pages_calls, 0);
    r = run_ucctl(s->path, (const char *const[]){"pages", "5", "--limit", "3", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpint(g_atomic_int_get(&pages_calls), ==, 1);
    /* the cursor is shown, for the next page by hand */
    g_assert_cmpstr(r.out, ==, "next: 3\nid  name\n1   row 1\n2   row 2\n3   row three, longer\n");
    run_result_clear(&r);
    r = run_ucctl(s->path, (const char *const[]){"pages", "5", "--limit", "3", "--json", NULL});
    g_assert_cmpint(r.status, ==, 0);
    root = parse_json(r.out);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(root), "next"), ==, "3");
    g_assert_cmpuint(
        json_array_get_length(json_object_get_array_member(json_node_get_object(root), "rows")), ==,
        3);
    json_node_unref(root);
    run_result_clear(&r);

    /* the user's --after is where the listing starts */
    r = run_ucctl(s->path, (const char *const[]){"pages", "5", "--after", "3", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "id  name\n4   row 4\n5   row 5\n");
    run_result_clear(&r);

    r = run_ucctl(s->path, (const char *const[]){"pages", "stuck", NULL});
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.err, "same page cursor twice"));
    run_result_clear(&r);
    server_stop(s);
}

static void test_ucctl_errors(void)
{
    server *s;
    run_result r;
    char *dir, *missing;

    if (!have_ucctl())
        return;
    s = server_start();
    r = run_ucctl(s->path, (const char *const[]){"fail", NULL});
    g_assert_cmpint(r.status, ==, 1);
    g_assert_cmpstr(r.err, ==, "ucctl: boom\n");
    run_result_clear(&r);

    r = run_ucctl(s->path, (const char *const[]){"no-such", NULL});
    g_assert_cmpint(r.status, ==, 1);
    g_assert_true(g_str_has_prefix(r.err, "ucctl: unknown command"));
    run_result_clear(&r);
    server_stop(s);

    dir = make_temp_dir();
    missing = g_build_filename(dir, "missing.sock", NULL);
    r = run_ucctl(missing, (const char *const[]){"status", NULL});
    g_assert_cmpint(r.status, ==, 2);
    g_assert_cmpstr(r.out, ==, "");
    g_assert_nonnull(strstr(r.err, missing));
    g_assert_nonnull(strstr(r.err, "is ucd running? see --socket"));
    run_result_clear(&r);
    g_rmdir(dir);
    g_free(missing);
    g_free(dir);
}

static void test_ucctl_local_help(void)
{
    run_result r;

    if (!have_ucctl())
        return;
    /* Local: works with no daemon at all. */
    r = run_ucctl("/nonexistent/ucd.sock", (const char *const[]){"--help", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "--socket"));
    g_assert_nonnull(strstr(r.out, "ucctl help"));
    run_result_clear(&r);

    r = run_ucctl("/nonexistent/ucd.sock", (const char *const[]){NULL});
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.err, "ucctl help"));
    run_result_clear(&r);
}

static void test_ucctl_log_export(void)
{
    server *s;
    run_result r;
    char *file, *contents = NULL;
    struct stat st;

    if (!have_ucctl())
        return;
    s = server_start();
    file = g_build_filename(s->dir, "bundle.txt", NULL);
    r = run_ucctl(s->path, (const char *const[]){"log", "export", file, NULL});
    g_assert_cmpstr(r.err, ==, "");
    g_assert_cmpint(r.status, ==, 0);
    /* Other fields are shown, the bundle is not: it went to the file. */
    g_assert_nonnull(strstr(r.out, "lines: 2\n"));
    g_assert_null(strstr(r.out, "BUNDLE"));
    g_assert_nonnull(strstr(r.out, file));
    g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "BUNDLE line 1\nBUNDLE line 2\n");
    g_assert_cmpint(stat(file, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 07777, ==, 0600);
    /* The file name stays with ucctl; the daemon gets only "log export". */
    g_mutex_lock(&last_argv_lock);
    g_assert_cmpstr(last_argv, ==, "log|export");
    g_mutex_unlock(&last_argv_lock);
    run_result_clear(&r);

    r = run_ucctl(s->path, (const char *const[]){"log", "export", "a", "b", NULL});
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.err, "usage: ucctl log export [FILE]"));
    run_result_clear(&r);

    g_free(contents);
    g_unlink(file);
    g_free(file);
    server_stop(s);
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/control/socket/table", test_table_reply);
    g_test_add_func("/control/socket/deferred-reply", test_deferred_reply);
    g_test_add_func("/control/socket/deferred-completed-at-once", test_deferred_completed_at_once);
    g_test_add_func("/control/socket/unknown-command", test_unknown_command);
    g_test_add_func("/control/socket/garbage", test_garbage_bytes);
    g_test_add_func("/control/socket/invalid-json", test_invalid_json);
    g_test_add_func("/control/socket/not-an-object", test_not_an_object);
    g_test_add_func("/control/socket/argv-problems", test_argv_problems);
    g_test_add_func("/control/socket/empty-argv", test_empty_argv);
    g_test_add_func("/control/socket/oversized", test_oversized_request);
    g_test_add_func("/control/socket/oversized-line", test_oversized_line);
    g_test_add_func("/control/socket/large-request", test_large_request_accepted);
    g_test_add_func("/control/socket/many-requests", test_many_requests_one_connection);
    g_test_add_func("/control/socket/large-reply", test_large_reply);
    g_test_add_func("/control/socket/disconnect", test_disconnect_mid_line);
    g_test_add_func("/control/socket/too-many-clients", test_too_many_clients);
    g_test_add_func("/control/socket/all-clients-busy", test_all_clients_busy);
    g_test_add_func("/control/socket/idle-timeout", test_idle_timeout);
    g_test_add_func("/control/socket/unread-answer", test_unread_answer_times_out);
    g_test_add_func("/control/socket/slow-reader", test_slow_reader_kept);
    g_test_add_func("/control/socket/nul-in-request", test_nul_in_request);
    g_test_add_func("/control/file/mode", test_socket_mode);
    g_test_add_func("/control/file/group", test_socket_group);
    g_test_add_func("/control/file/stale", test_stale_socket_replaced);
    g_test_add_func("/control/file/regular-file", test_regular_file_refused);
    g_test_add_func("/control/file/live-socket", test_live_socket_refused);
    g_test_add_func("/control/file/foreign-file", test_free_keeps_foreign_file);
    g_test_add_func("/control/reply/shapes", test_reply_shapes);
    g_test_add_func("/control/reply/errors", test_reply_errors);
    g_test_add_func("/control/registry/help", test_register_and_help);
    g_test_add_func("/control/run/same-json-as-socket", test_run_same_json);
    g_test_add_func("/control/run/errors-and-deferred", test_run_errors_and_deferred);
    g_test_add_func("/control/run/refusals", test_run_refusals);
    g_test_add_func("/control/run/command-gone", test_run_command_gone);
    g_test_add_func("/control/ucctl/table", test_ucctl_table);
    g_test_add_func("/control/ucctl/json", test_ucctl_json);
    g_test_add_func("/control/ucctl/pages", test_ucctl_pages);
    g_test_add_func("/control/ucctl/errors", test_ucctl_errors);
    g_test_add_func("/control/ucctl/local-help", test_ucctl_local_help);
    g_test_add_func("/control/ucctl/log-export", test_ucctl_log_export);
    rc = g_test_run();
    g_free(last_argv);
    return rc;
}
