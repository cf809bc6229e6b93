/*
 * api-util.c - see api-util.h.
 */
#include "api-util.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#define WS_QUEUE "api-util-queue"

struct api_env {
    harness *h;
    guint16 port;
    guint users; /* users in users.xml */
    char *base_url;
    SoupSession *session;
};

/* The kernel's choice of a free port. */
guint16 api_free_port(void)
{
    GError *error = NULL;
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error(error);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *any = g_inet_socket_address_new(lo, 0);
    g_assert_true(g_socket_bind(s, any, FALSE, &error));
    g_assert_no_error(error);
    GSocketAddress *bound = g_socket_get_local_address(s, &error);
    g_assert_no_error(error);
    guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(lo);
    g_socket_close(s, NULL);
    g_object_unref(s);
    return port;
}

/* users.xml copied next to the configuration, readable by its owner only
 * (users-file warns about hashes others may read). */
static char *copy_users(harness *h, guint *count)
{
    char *src = g_build_filename(harness_env("UCD_SOURCE_ROOT"), "tests", "api", "users.xml", NULL);
    char *text = NULL;
    gsize length = 0;
    g_assert_true(g_file_get_contents(src, &text, &length, NULL));
    *count = 0;
    for (const char *p = text; (p = strstr(p, "<user ")) != NULL; p++)
        (*count)++;
    char *dst = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(
        g_file_set_contents_full(dst, text, (gssize)length, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
    g_free(text);
    g_free(src);
    return dst;
}

static void fail_with_log(harness *h, const char *what)
{
    char *log = harness_log(h);
    g_printerr("---- ucd log ----\n%s\n----\n", log);
    g_free(log);
    g_error("%s", what);
}

api_env *api_env_new(const char *extra_config)
{
    api_env *e = g_new0(api_env, 1);
    e->h = harness_new(NULL);
    e->port = api_free_port();
    char *users_path = copy_users(e->h, &e->users);
    const char *extra = extra_config ? extra_config : "";
    if (g_str_has_prefix(extra, "[module api-http]\n"))
        extra += strlen("[module api-http]\n");
    char *body = g_strdup_printf(
        "[permissions]\n"
        "default = public\n"
        "groups = file:sales=business\n"
        "\n[module pbx-sim]\n"
        "lines = 201;202;203;204;205;206;207;208;209;210\n"
        "traffic = false\n"
        "\n[module users-file]\n"
        "file = %s\n"
        "\n[module journal-sqlite]\n"
        "\n[module api-http]\n"
        "%s"
        "http_listen = 127.0.0.1:%u\n"
        "%s\n",
        users_path, strstr(extra, "https_listen") ? "" : "https_listen =\n", e->port, extra);
    harness_write_config(e->h, body);
    g_free(body);
    g_free(users_path);
    if (!harness_start(e->h))
        fail_with_log(e->h, "ucd did not start");
    e->base_url = g_strdup_printf("http://127.0.0.1:%u/api/v1", e->port);
    e->session = soup_session_new_with_options("timeout", 60, "idle-timeout", 60, NULL);
    return e;
}

api_env *api_env_start(const char *extra_config)
{
    api_env *e = api_env_new(extra_config);
    if (!harness_wait_state(e->h, "api-http", "running"))
        fail_with_log(e->h, "api-http is not running");
    char *needle = g_strdup_printf("model: %u users", e->users);
    if (!harness_wait_log(e->h, needle))
        fail_with_log(e->h, "the users never reached the model");
    g_free(needle);
    return e;
}

void api_env_stop(api_env *e)
{
    if (e == NULL)
        return;
    g_object_unref(e->session);
    g_assert_cmpint(harness_stop(e->h), ==, 0);
    harness_free(e->h);
    g_free(e->base_url);
    g_free(e);
}

harness *api_env_harness(api_env *e)
{
    return e->h;
}

const char *api_env_base_url(api_env *e)
{
    return e->base_url;
}

guint16 api_env_port(api_env *e)
{
    return e->port;
}

void api_env_route_via(api_env *e, const char *base_url, SoupSession *session)
{
    g_free(e->base_url);
    e->base_url = g_strdup(base_url);
    g_object_unref(e->session);
    e->session = g_object_ref(session);
}

static JsonNode *parse_answer(GBytes *bytes)
{
    gsize length = 0;
    const char *data = bytes ? g_bytes_get_data(bytes, &length) : NULL;
    if (length == 0)
        return NULL;
    /* The body is not NUL-terminated: parse a terminated copy. */
    char *text = g_strndup(data, length);
    JsonNode *node = json_from_string(text, NULL);
    if (node == NULL) {
        node = json_node_new(JSON_NODE_VALUE);
        json_node_set_string(node, text);
    }
    g_free(text);
    return node;
}

JsonNode *api_req_full(api_env *e, const char *method, const char *path, const char *token,
                       const char *json_body, const char *const *headers, guint *status,
                       SoupMessageHeaders **response_headers)
{
    char *url = g_strconcat(e->base_url, path, NULL);
    SoupMessage *msg = soup_message_new(method, url);
    if (msg == NULL)
        g_error("not a URL: %s", url);
    SoupMessageHeaders *h = soup_message_get_request_headers(msg);
    if (token) {
        char *bearer = g_strconcat("Bearer ", token, NULL);
        soup_message_headers_replace(h, "Authorization", bearer);
        g_free(bearer);
    }
    for (gsize i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        soup_message_headers_replace(h, headers[i], headers[i + 1]);
    if (json_body) {
        GBytes *b = g_bytes_new(json_body, strlen(json_body));
        soup_message_set_request_body_from_bytes(msg, "application/json", b);
        g_bytes_unref(b);
    }
    GError *error = NULL;
    GBytes *answer = soup_session_send_and_read(e->session, msg, NULL, &error);
    if (answer == NULL)
        g_error("%s %s: %s", method, url, error->message);
    if (status)
        *status = soup_message_get_status(msg);
    if (response_headers)
        *response_headers = soup_message_headers_ref(soup_message_get_response_headers(msg));
    JsonNode *node = parse_answer(answer);
    g_bytes_unref(answer);
    g_object_unref(msg);
    g_free(url);
    return node;
}

JsonNode *api_req(api_env *e, const char *method, const char *path, const char *token,
                  const char *json_body, guint *status)
{
    return api_req_full(e, method, path, token, json_body, NULL, status, NULL);
}

char *api_login_body(const char *login, const char *password)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "login");
    json_builder_add_string_value(b, login);
    json_builder_set_member_name(b, "password");
    json_builder_add_string_value(b, password);
    json_builder_end_object(b);
    JsonNode *request = json_builder_get_root(b);
    char *body = json_to_string(request, FALSE);
    json_node_unref(request);
    g_object_unref(b);
    return body;
}

char *api_login(api_env *e, const char *login, const char *password)
{
    char *body = api_login_body(login, password);
    guint status = 0;
    JsonNode *node = api_req(e, "POST", "/auth/login", NULL, body, &status);
    g_free(body);
    if (status != 200) {
        char *text = node ? json_to_string(node, FALSE) : g_strdup("(no body)");
        g_error("login %s: status %u: %s", login, status, text);
    }
    char *token = g_strdup(api_str(node, "access_token"));
    g_assert_cmpstr(token, !=, "");
    json_node_unref(node);
    return token;
}

/* ---- WebSocket ---- */

static void on_ws_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
    (void)ws;
    if (type != SOUP_WEBSOCKET_DATA_TEXT)
        return;
    g_queue_push_tail(data, g_bytes_ref(message));
}

static void queue_free(gpointer p)
{
    g_queue_free_full(p, (GDestroyNotify)g_bytes_unref);
}

static void on_ws_connected(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    GError *error = NULL;
    SoupWebsocketConnection *ws =
        soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
    if (ws)
        g_task_return_pointer(task, ws, g_object_unref);
    else
        g_task_return_error(task, error);
    g_object_unref(task);
}

static gboolean wake(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

SoupWebsocketConnection *api_ws_connect(api_env *e, const char *token, GError **error)
{
    char *url = g_strconcat(e->base_url, "/events", NULL);
    SoupMessage *msg = soup_message_new("GET", url);
    g_free(url);
    if (token) {
        char *bearer = g_strconcat("Bearer ", token, NULL);
        soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                                     bearer);
        g_free(bearer);
    }
    GTask *task = g_task_new(NULL, NULL, NULL, NULL);
    g_object_ref(task);
    soup_session_websocket_connect_async(e->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                         on_ws_connected, task);
    gboolean timed_out = FALSE;
    guint timer = g_timeout_add_seconds(30, wake, &timed_out);
    while (!g_task_get_completed(task) && !timed_out)
        g_main_context_iteration(NULL, TRUE);
    if (!timed_out)
        g_source_remove(timer);
    SoupWebsocketConnection *ws = NULL;
    if (g_task_get_completed(task))
        ws = g_task_propagate_pointer(task, error);
    else
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no WebSocket within 30 s");
    g_object_unref(task);
    g_object_unref(msg);
    if (ws) {
        GQueue *q = g_queue_new();
        g_object_set_data_full(G_OBJECT(ws), WS_QUEUE, q, queue_free);
        g_signal_connect(ws, "message", G_CALLBACK(on_ws_message), q);
    }
    return ws;
}

JsonNode *api_ws_next(SoupWebsocketConnection *ws, guint timeout_s)
{
    GQueue *q = g_object_get_data(G_OBJECT(ws), WS_QUEUE);
    g_assert_nonnull(q);
    gboolean timed_out = FALSE;
    guint timer = g_timeout_add_seconds(timeout_s, wake, &timed_out);
    while (g_queue_is_empty(q) && !timed_out &&
           soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN)
        g_main_context_iteration(NULL, TRUE);
    /* Messages that came with the close are still read. */
    while (g_main_context_iteration(NULL, FALSE) && g_queue_is_empty(q))
        ;
    if (!timed_out)
        g_source_remove(timer);
    GBytes *message = g_queue_pop_head(q);
    if (message == NULL)
        return NULL;
    JsonNode *node = parse_answer(message);
    g_bytes_unref(message);
    return node;
}

const char *api_str(JsonNode *node, const char *member)
{
    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
        return "";
    JsonNode *m = json_object_get_member(json_node_get_object(node), member);
    if (m == NULL || !JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_STRING)
        return "";
    return json_node_get_string(m);
}

const char *api_error_code(JsonNode *node)
{
    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
        return "";
    JsonObject *o = json_node_get_object(node);
    JsonNode *err = json_object_get_member(o, "error");
    if (err == NULL || !JSON_NODE_HOLDS_OBJECT(err))
        return "";
    JsonNode *code = json_object_get_member(json_node_get_object(err), "code");
    return code && JSON_NODE_HOLDS_VALUE(code) ? json_node_get_string(code) : "";
}
