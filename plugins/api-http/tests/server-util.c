/*
 * server-util.c - see server-util.h.
 */
#include "server-util.h"

#include <string.h>

static const ucd_plugin_descriptor test_descriptor = {
    .struct_size = sizeof(ucd_plugin_descriptor),
    .abi_major = UCD_ABI_MAJOR,
    .abi_minor = UCD_HOST_MINOR,
    .name = "api-http",
    .version = "0",
    .license = "MIT",
    .description = "api-http's server under test",
    .config_key_size = sizeof(ucd_config_key),
    .service_decl_size = sizeof(ucd_service_decl),
};

static const char *const none[] = {NULL};

guint16 test_free_port(void)
{
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *any = g_inet_socket_address_new(lo, 0);
    g_assert_true(g_socket_bind(s, any, FALSE, NULL));
    GSocketAddress *bound = g_socket_get_local_address(s, NULL);
    guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(lo);
    g_object_unref(s);
    return port;
}

test_server *test_server_new(void)
{
    test_server *t = g_new0(test_server, 1);
    t->module = fake_module_new(&test_descriptor, "api-http");
    t->ctx.self = t->module;
    t->ctx.host = &fake_host;
    api_config *c = &t->ctx.config;
    c->https_listen = none;
    c->allowed_origins = none;
    c->trusted_proxies = none;
    c->session_lifetime_ms = 8 * 3600 * 1000;
    c->refresh_lifetime_ms = G_GINT64_CONSTANT(30) * 86400 * 1000;
    c->max_body = 1048576;
    c->max_header = 16384;
    c->max_ws_message = 65536;
    c->max_connections_per_address = 256;
    c->request_timeout_ms = 30000;
    c->ws_queue_limit = 1048576;
    c->ws_ping_interval_ms = 30000;
    c->replay_window = 100;
    c->login_attempts = 5;
    t->ctx.router = api_router_new(&t->ctx);
    t->ctx.auth = (api_auth *)t; /* never read: auth-stub.c resolves */
    t->port = test_free_port();
    t->base = g_strdup_printf("http://127.0.0.1:%u", t->port);
    t->session = soup_session_new_with_options("timeout", 20, NULL);
    return t;
}

void test_server_listen(test_server *t)
{
    char *listen = g_strdup_printf("127.0.0.1:%u", t->port);
    const char *http[] = {listen, NULL};
    t->ctx.config.http_listen = http;
    GError *error = NULL;
    t->ctx.server = api_server_new(&t->ctx, &error);
    g_assert_no_error(error);
    g_assert_nonnull(t->ctx.server);
    /* api_server_new read the list; the strings need not stay */
    t->ctx.config.http_listen = none;
    g_free(listen);
}

void test_server_free(test_server *t)
{
    g_object_unref(t->session);
    api_server_free(t->ctx.server);
    api_router_free(t->ctx.router);
    fake_module_free(t->module);
    g_free(t->base);
    g_free(t);
}

static void on_sent(GObject *source, GAsyncResult *result, gpointer data)
{
    GError *error = NULL;
    GBytes **out = data;
    *out = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
    g_assert_no_error(error);
}

test_answer test_request(test_server *t, const char *method, const char *path,
                         const char *const *headers, const char *body)
{
    char *url = g_strconcat(t->base, path, NULL);
    SoupMessage *msg = soup_message_new(method, url);
    g_assert_nonnull(msg);
    g_free(url);
    for (gsize i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        soup_message_headers_replace(soup_message_get_request_headers(msg), headers[i],
                                     headers[i + 1]);
    if (body) {
        GBytes *b = g_bytes_new(body, strlen(body));
        soup_message_set_request_body_from_bytes(msg, "application/json", b);
        g_bytes_unref(b);
    }
    GBytes *bytes = NULL;
    soup_session_send_and_read_async(t->session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, &bytes);
    while (bytes == NULL)
        g_main_context_iteration(NULL, TRUE);
    test_answer a = {0};
    a.status = soup_message_get_status(msg);
    a.headers = soup_message_headers_ref(soup_message_get_response_headers(msg));
    gsize length = 0;
    const char *data = g_bytes_get_data(bytes, &length);
    a.body = g_strndup(data ? data : "", length);
    a.json = length ? json_from_string(a.body, NULL) : NULL;
    g_bytes_unref(bytes);
    g_object_unref(msg);
    return a;
}

void test_answer_clear(test_answer *a)
{
    soup_message_headers_unref(a->headers);
    g_free(a->body);
    if (a->json)
        json_node_unref(a->json);
    memset(a, 0, sizeof *a);
}

const char *test_error_code(const test_answer *a)
{
    if (a->json == NULL || !JSON_NODE_HOLDS_OBJECT(a->json))
        return "";
    JsonObject *o = json_node_get_object(a->json);
    if (!json_object_has_member(o, "error"))
        return "";
    return json_object_get_string_member(json_object_get_object_member(o, "error"), "code");
}

static gboolean quit(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

void test_run_loop(guint ms)
{
    gboolean done = FALSE;
    g_timeout_add(ms, quit, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
}

GSocket *test_raw_connect(test_server *t)
{
    GError *error = NULL;
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error(error);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *a = g_inet_socket_address_new(lo, t->port);
    /* non-blocking, so the main loop (the server) runs while we wait */
    g_socket_set_blocking(s, FALSE);
    if (!g_socket_connect(s, a, NULL, &error)) {
        g_assert_error(error, G_IO_ERROR, G_IO_ERROR_PENDING);
        g_clear_error(&error);
        while (g_socket_condition_check(s, G_IO_OUT) == 0)
            g_main_context_iteration(NULL, FALSE);
        g_assert_true(g_socket_check_connect_result(s, &error));
    }
    g_object_unref(a);
    g_object_unref(lo);
    return s;
}

void test_raw_send(GSocket *s, const char *text)
{
    gsize left = strlen(text);
    while (left > 0) {
        GError *error = NULL;
        gssize n = g_socket_send(s, text, left, NULL, &error);
        if (n < 0) {
            g_assert_error(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
            g_clear_error(&error);
            g_main_context_iteration(NULL, FALSE);
            continue;
        }
        text += n;
        left -= (gsize)n;
    }
}

char *test_raw_read(GSocket *s, guint max_ms, gboolean *closed)
{
    GString *out = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + (gint64)max_ms * 1000;
    *closed = FALSE;
    while (g_get_monotonic_time() < end) {
        char buffer[4096];
        GError *error = NULL;
        gssize n = g_socket_receive(s, buffer, sizeof buffer, NULL, &error);
        if (n > 0) {
            g_string_append_len(out, buffer, n);
            continue;
        }
        if (n == 0 || (error && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))) {
            *closed = TRUE; /* EOF, or a reset */
            g_clear_error(&error);
            break;
        }
        g_clear_error(&error);
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    return g_string_free(out, FALSE);
}

char *test_raw(test_server *t, const char *request)
{
    GSocket *s = test_raw_connect(t);
    test_raw_send(s, request);
    gboolean closed = FALSE;
    char *answer = test_raw_read(s, 10000, &closed);
    if (!closed)
        g_error("the server kept the connection open after: %s", answer);
    g_socket_close(s, NULL);
    g_object_unref(s);
    return answer;
}
