/*
 * test-limits.c - what keeps one client from holding the server
 * (api-limits.h): the per-address table; on the real server in this
 * process: headers over max_header (431), a body over max_body (413, and
 * the connection closed without reading it), a chunked body (411), a
 * client that trickles its request one byte at a time and one that sends
 * nothing are cut off after request_timeout while another client is
 * served, and connections beyond max_connections_per_address are closed
 * at once while those within it still work.
 */
#include <string.h>

#include "api-call.h"
#include "api-limits.h"
#include "server-util.h"

static void hello(api_call *call, gpointer data)
{
    (void)data;
    api_call_respond(call, 200, json_from_string("{\"hello\":true}", NULL));
}

static void body_size(api_call *call, gpointer data)
{
    (void)data;
    GBytes *b = api_call_body(call);
    char *text = g_strdup_printf("{\"size\":%zu}", g_bytes_get_size(b));
    g_bytes_unref(b);
    api_call_respond(call, 200, json_from_string(text, NULL));
    g_free(text);
}

static const api_route_def routes[] = {
    {"GET", "/hello", UCD_HTTP_ROLE_ANYONE, NULL, NULL, hello},
    {"POST", "/body", UCD_HTTP_ROLE_ANYONE, NULL, NULL, body_size},
};

static test_server *start(gint64 timeout_ms, gint64 per_address)
{
    test_server *t = test_server_new();
    t->ctx.config.max_body = 4096;
    t->ctx.config.max_header = 2048;
    t->ctx.config.request_timeout_ms = timeout_ms;
    t->ctx.config.max_connections_per_address = per_address;
    g_assert_true(api_router_add(t->ctx.router, routes, G_N_ELEMENTS(routes), NULL, NULL, NULL));
    test_server_listen(t);
    return t;
}

static void test_table(void)
{
    api_conn_table *table = api_conn_table_new(2);
    g_assert_true(api_conn_table_acquire(table, "10.0.0.1"));
    g_assert_true(api_conn_table_acquire(table, "10.0.0.1"));
    g_assert_false(api_conn_table_acquire(table, "10.0.0.1"));
    g_assert_true(api_conn_table_acquire(table, "10.0.0.2"));
    g_assert_cmpuint(api_conn_table_count(table, "10.0.0.1"), ==, 2);
    api_conn_table_release(table, "10.0.0.1");
    g_assert_true(api_conn_table_acquire(table, "10.0.0.1"));
    api_conn_table_release(table, "10.0.0.1");
    api_conn_table_release(table, "10.0.0.1");
    g_assert_cmpuint(api_conn_table_count(table, "10.0.0.1"), ==, 0);
    api_conn_table_free(table);
}

static void test_sizes(void)
{
    test_server *t = start(30000, 256);
    /* headers */
    char *big = g_strnfill(3000, 'x');
    const char *headers[] = {"X-Big", big, NULL};
    test_answer a = test_request(t, "GET", "/api/v1/hello", headers, NULL);
    g_assert_cmpuint(a.status, ==, 431);
    g_assert_cmpstr(test_error_code(&a), ==, "payload_too_large");
    test_answer_clear(&a);
    g_free(big);

    /* a body just within and one over */
    char *fits = g_strnfill(4096, ' ');
    a = test_request(t, "POST", "/api/v1/body", NULL, fits);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(a.body, ==, "{\"size\":4096}");
    test_answer_clear(&a);
    g_free(fits);

    /* over: answered from the headers, the body never read, the
     * connection closed (the client is still sending) */
    char *answer = test_raw(t, "POST /api/v1/body HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: 100000000\r\n\r\n{\"a\":");
    g_assert_true(g_str_has_prefix(answer, "HTTP/1.1 413 "));
    g_assert_nonnull(strstr(answer, "\"payload_too_large\""));
    g_assert_nonnull(strstr(answer, "max_body"));
    g_free(answer);

    answer = test_raw(t, "POST /api/v1/body HTTP/1.1\r\nHost: x\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    g_assert_true(g_str_has_prefix(answer, "HTTP/1.1 411 "));
    g_assert_nonnull(strstr(answer, "Content-Length"));
    g_free(answer);

    /* the server still serves */
    a = test_request(t, "GET", "/api/v1/hello", NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    test_answer_clear(&a);
    test_server_free(t);
}

/* Sends one byte of `text` per `step_ms` until the server closes; the bytes
 * it took. */
static gsize trickle(GSocket *s, const char *text, guint step_ms, gboolean *closed)
{
    gsize sent = 0;
    *closed = FALSE;
    for (; text[sent] && !*closed; sent++) {
        GError *error = NULL;
        if (g_socket_send(s, text + sent, 1, NULL, &error) != 1) {
            g_clear_error(&error);
            *closed = TRUE;
            break;
        }
        char *got = test_raw_read(s, step_ms, closed);
        g_free(got);
    }
    return sent;
}

static void test_slow_clients(void)
{
    test_server *t = start(400, 256);
    /* one that sends nothing */
    GSocket *idle = test_raw_connect(t);
    /* one that sends its headers a byte at a time */
    GSocket *slow = test_raw_connect(t);
    const char *request = "GET /api/v1/hello HTTP/1.1\r\nHost: example\r\n"
                          "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    gboolean closed = FALSE;
    gsize sent = trickle(slow, request, 20, &closed);
    /* cut off long before the request was whole (it takes > 2 s) */
    g_assert_true(closed);
    g_assert_cmpuint(sent, <, strlen(request));
    /* the idle one is gone too */
    char *got = test_raw_read(idle, 2000, &closed);
    g_assert_true(closed);
    g_assert_cmpstr(got, ==, "");
    g_free(got);
    /* and a normal client is served meanwhile and after */
    test_answer a = test_request(t, "GET", "/api/v1/hello", NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    test_answer_clear(&a);
    g_assert_cmpint(fake_module_counter(t->module, "request_timeouts"), >=, 2);
    g_assert_true(fake_module_log_has(t->module, UCD_LOG_INFO, "request_timeout"));
    g_object_unref(idle);
    g_object_unref(slow);
    test_server_free(t);
}

/* A request that is whole in time is not cut however long its handler
 * takes, and a kept-alive connection gets a fresh timer per request. */
static void test_keepalive_gets_new_timer(void)
{
    test_server *t = start(300, 256);
    GSocket *s = test_raw_connect(t);
    for (int i = 0; i < 3; i++) {
        test_raw_send(s, "GET /api/v1/hello HTTP/1.1\r\nHost: x\r\n\r\n");
        gboolean closed = FALSE;
        char *got = test_raw_read(s, 150, &closed);
        g_assert_false(closed);
        g_assert_true(g_str_has_prefix(got, "HTTP/1.1 200 "));
        g_free(got);
    }
    /* then idle: closed after the timeout */
    gboolean closed = FALSE;
    char *got = test_raw_read(s, 3000, &closed);
    g_assert_true(closed);
    g_free(got);
    g_object_unref(s);
    test_server_free(t);
}

/* Answers keep the connection: a client library sends GETs one after
 * another on one. (libsoup opens a new connection for each POST itself,
 * which it could not retry on a kept-alive one.) */
static void test_client_reuses(void)
{
    test_server *t = start(30000, 256);
    for (int i = 0; i < 4; i++) {
        test_answer a = test_request(t, "GET", "/api/v1/hello", NULL, NULL);
        g_assert_cmpuint(a.status, ==, 200);
        test_answer_clear(&a);
    }
    g_assert_cmpuint(api_server_connections(t->ctx.server, "127.0.0.1"), ==, 1);
    test_server_free(t);
}

static void test_connections_per_address(void)
{
    /* idle connections end after 1 s: a client that left is noticed then
     * (libsoup does not watch an idle connection) */
    test_server *t = start(1000, 2);
    GSocket *one = test_raw_connect(t);
    GSocket *two = test_raw_connect(t);
    test_raw_send(one, "GET /api/v1/hello HTTP/1.1\r\nHost: x\r\n\r\n");
    test_raw_send(two, "GET /api/v1/hello HTTP/1.1\r\nHost: x\r\n\r\n");
    gboolean closed = FALSE;
    char *got = test_raw_read(one, 300, &closed);
    g_assert_true(g_str_has_prefix(got, "HTTP/1.1 200 "));
    g_free(got);
    got = test_raw_read(two, 300, &closed);
    g_assert_true(g_str_has_prefix(got, "HTTP/1.1 200 "));
    g_free(got);
    g_assert_cmpuint(api_server_connections(t->ctx.server, "127.0.0.1"), ==, 2);

    /* the third is closed without an answer */
    GSocket *three = test_raw_connect(t);
    test_raw_send(three, "GET /api/v1/hello HTTP/1.1\r\nHost: x\r\n\r\n");
    got = test_raw_read(three, 3000, &closed);
    g_assert_true(closed);
    g_assert_cmpstr(got, ==, "");
    g_free(got);
    g_assert_cmpint(fake_module_counter(t->module, "connections_refused"), ==, 1);

    /* one leaves: once the server noticed, a new one is taken */
    g_socket_close(one, NULL);
    for (int i = 0; i < 500 && api_server_connections(t->ctx.server, "127.0.0.1") > 1; i++)
        test_run_loop(10);
    g_assert_cmpuint(api_server_connections(t->ctx.server, "127.0.0.1"), <=, 1);
    test_answer a = test_request(t, "GET", "/api/v1/hello", NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    test_answer_clear(&a);
    g_object_unref(one);
    g_object_unref(two);
    g_object_unref(three);
    test_server_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-http/limits/table", test_table);
    g_test_add_func("/api-http/limits/sizes", test_sizes);
    g_test_add_func("/api-http/limits/slow-clients", test_slow_clients);
    g_test_add_func("/api-http/limits/keepalive-timer", test_keepalive_gets_new_timer);
    g_test_add_func("/api-http/limits/connections-per-address", test_connections_per_address);
    g_test_add_func("/api-http/limits/client-reuses", test_client_reuses);
    return g_test_run();
}
