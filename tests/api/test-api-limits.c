/*
 * test-api-limits.c - bad input and hostile clients against the real ucd
 * with api-http: a huge body (413, the connection closed, the daemon still
 * serving), huge headers (431), malformed JSON, wrong types, unknown
 * fields, path traversal, a half-open client that sends nothing, a slow
 * client that sends its headers a byte at a time (both dropped after
 * request_timeout while others are served), and connections per address.
 * The daemon never crashes: every case ends with a request that works and
 * api_env_stop asserts exit status 0.
 */
#include <string.h>

#include "api-util.h"

#define LIMITS "max_body = 2048\nmax_header = 4096\nrequest_timeout = 1s\n"

/* A blocking client socket to api-http, with a receive timeout. */
static GSocket *raw_connect(api_env *e)
{
    GError *error = NULL;
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error(error);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *a = g_inet_socket_address_new(lo, api_env_port(e));
    g_assert_true(g_socket_connect(s, a, NULL, &error));
    g_assert_no_error(error);
    g_socket_set_timeout(s, 10);
    g_object_unref(a);
    g_object_unref(lo);
    return s;
}

/* Sends; FALSE when the server closed meanwhile. */
static gboolean raw_send(GSocket *s, const char *text, gsize length)
{
    while (length > 0) {
        gssize n = g_socket_send(s, text, length, NULL, NULL);
        if (n <= 0)
            return FALSE;
        text += n;
        length -= (gsize)n;
    }
    return TRUE;
}

/* Reads until the server closes (or 10 s without a byte). */
static char *raw_read_all(GSocket *s, gboolean *closed)
{
    GString *out = g_string_new(NULL);
    *closed = FALSE;
    for (;;) {
        char buffer[4096];
        GError *error = NULL;
        gssize n = g_socket_receive(s, buffer, sizeof buffer, NULL, &error);
        if (n > 0) {
            g_string_append_len(out, buffer, n);
            continue;
        }
        *closed = n == 0 || !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
        g_clear_error(&error);
        break;
    }
    return g_string_free(out, FALSE);
}

static void assert_serving(api_env *e)
{
    guint status = 0;
    JsonNode *n = api_req(e, "GET", "/health", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    g_assert_cmpstr(api_str(n, "status"), ==, "ok");
    json_node_unref(n);
}

static void expect(api_env *e, const char *method, const char *path, const char *token,
                   const char *body, guint status, const char *code, const char *needle)
{
    guint got = 0;
    JsonNode *n = api_req(e, method, path, token, body, &got);
    char *text = n ? json_to_string(n, FALSE) : g_strdup("");
    if (got != status || strcmp(api_error_code(n), code) != 0 ||
        (needle && strstr(text, needle) == NULL))
        g_error("%s %s %s: %u %s; expected %u %s with \"%s\"", method, path, body ? body : "", got,
                text, status, code, needle ? needle : "");
    g_free(text);
    if (n)
        json_node_unref(n);
}

static void test_sizes(void)
{
    api_env *e = api_env_start(LIMITS);
    /* a body over max_body: 413 from the headers, the rest never read */
    GSocket *s = raw_connect(e);
    const char *head = "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                       "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n";
    g_assert_true(raw_send(s, head, strlen(head)));
    char *chunk = g_strnfill(65536, ' ');
    raw_send(s, chunk, 65536); /* may fail: the server is closing */
    gboolean closed = FALSE;
    char *answer = raw_read_all(s, &closed);
    g_assert_true(closed);
    g_assert_true(g_str_has_prefix(answer, "HTTP/1.1 413 "));
    g_assert_nonnull(strstr(answer, "\"payload_too_large\""));
    g_free(answer);
    g_object_unref(s);

    /* through a client library too, a body a little over */
    char *big = g_strdup_printf("{\"login\":\"%s\",\"password\":\"x\"}", chunk + 65536 - 3000);
    expect(e, "POST", "/auth/login", NULL, big, 413, "payload_too_large", "max_body");
    g_free(big);

    /* headers over max_header */
    s = raw_connect(e);
    char *padding = g_strnfill(5000, 'a');
    char *request =
        g_strdup_printf("GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", padding);
    g_assert_true(raw_send(s, request, strlen(request)));
    answer = raw_read_all(s, &closed);
    g_assert_true(g_str_has_prefix(answer, "HTTP/1.1 431 "));
    g_free(answer);
    g_free(request);
    g_free(padding);
    g_object_unref(s);
    g_free(chunk);
    assert_serving(e);
    api_env_stop(e);
}

static void test_bad_json(void)
{
    api_env *e = api_env_start(LIMITS);
    expect(e, "POST", "/auth/login", NULL, "{\"login\": \"alice\", ", 400, "invalid_json",
           "not valid JSON");
    expect(e, "POST", "/auth/login", NULL, "[\"alice\"]", 400, "invalid_json", "not an array");
    expect(e, "POST", "/auth/login", NULL,
           "{\"login\":\"alice\",\"password\":\"pw-alice\","
           "\"admin\":true}",
           400, "unknown_field", "admin");
    expect(e, "POST", "/auth/login", NULL, "{\"login\":\"alice\",\"password\":1234}", 400,
           "invalid_argument", "password");
    char *token = api_login(e, "carol", "pw-carol");
    expect(e, "PUT", "/presence/carol", token, "{\"state\":7}", 400, "invalid_argument", "state");
    expect(e, "PUT", "/presence/carol", token, "{\"state\":\"away\",\"mood\":\"x\"}", 400,
           "unknown_field", "mood");
    expect(e, "PUT", "/presence/carol", token, "not json at all", 400, "invalid_json", NULL);
    g_free(token);
    assert_serving(e);
    api_env_stop(e);
}

static void test_paths(void)
{
    api_env *e = api_env_start(LIMITS);
    char *token = api_login(e, "alice", "pw-alice");
    /* dot segments are resolved before routing: nothing climbs out */
    expect(e, "GET", "/../../../etc/passwd", token, NULL, 404, "not_found", NULL);
    expect(e, "GET", "/users/%2e%2e/%2e%2e/etc/passwd", token, NULL, 404, "not_found", NULL);
    expect(e, "GET", "/users//alice", token, NULL, 400, "bad_request", NULL);
    expect(e, "GET", "/no-such-thing", token, NULL, 404, "not_found", NULL);
    expect(e, "DELETE", "/health", token, NULL, 405, "method_not_allowed", NULL);
    /* a raw request with traversal and a NUL */
    const char *raw[] = {"GET /api/v1/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\n\r\n",
                         "GET /api/v1/users/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};
    for (gsize i = 0; i < G_N_ELEMENTS(raw); i++) {
        GSocket *s = raw_connect(e);
        g_assert_true(raw_send(s, raw[i], strlen(raw[i])));
        gboolean closed = FALSE;
        char *answer = raw_read_all(s, &closed);
        g_assert_true(g_str_has_prefix(answer, "HTTP/1.1 404 ") ||
                      g_str_has_prefix(answer, "HTTP/1.1 400 "));
        g_assert_null(strstr(answer, "root:"));
        g_free(answer);
        g_object_unref(s);
    }
    g_free(token);
    assert_serving(e);
    api_env_stop(e);
}

static void test_slow_and_half_open(void)
{
    api_env *e = api_env_start(LIMITS);
    GSocket *idle = raw_connect(e); /* connects, sends nothing */
    GSocket *slow = raw_connect(e);
    const char *request = "GET /api/v1/health HTTP/1.1\r\nHost: example.com\r\n"
                          "User-Agent: a-very-slow-client/1.0\r\n\r\n";
    gsize sent = 0;
    gboolean alive = TRUE;
    /* one byte each 100 ms: the request would take 8 s, the limit is 1 s */
    for (; request[sent] && alive; sent++) {
        alive = raw_send(slow, request + sent, 1);
        g_usleep(100 * 1000);
        if (g_socket_condition_check(slow, G_IO_IN | G_IO_HUP | G_IO_ERR))
            break; /* readable: the server closed (nothing else is sent) */
        /* meanwhile others are served */
        if (sent % 10 == 0)
            assert_serving(e);
    }
    gboolean closed = FALSE;
    char *got = raw_read_all(slow, &closed);
    g_assert_true(closed);
    g_assert_cmpstr(got, ==, "");
    g_assert_cmpuint(sent, <, strlen(request));
    g_free(got);
    got = raw_read_all(idle, &closed);
    g_assert_true(closed);
    g_free(got);
    g_object_unref(idle);
    g_object_unref(slow);
    assert_serving(e);
    g_assert_true(harness_wait_log(api_env_harness(e), "request_timeout"));
    api_env_stop(e);
}

static void test_connections_per_address(void)
{
    api_env *e = api_env_start(LIMITS "max_connections_per_address = 4\n");
    const char *r = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
    GSocket *held[4];
    for (int i = 0; i < 4; i++) {
        held[i] = raw_connect(e);
        g_assert_true(raw_send(held[i], r, strlen(r)));
        char buffer[512];
        g_assert_cmpint(g_socket_receive(held[i], buffer, sizeof buffer, NULL, NULL), >, 0);
    }
    /* the fifth is closed without an answer */
    GSocket *extra = raw_connect(e);
    raw_send(extra, r, strlen(r));
    gboolean closed = FALSE;
    char *got = raw_read_all(extra, &closed);
    g_assert_true(closed);
    g_assert_cmpstr(got, ==, "");
    g_free(got);
    g_object_unref(extra);
    /* the held ones still work */
    for (int i = 0; i < 4; i++) {
        g_assert_true(raw_send(held[i], r, strlen(r)));
        char buffer[512];
        g_assert_cmpint(g_socket_receive(held[i], buffer, sizeof buffer, NULL, NULL), >, 0);
    }
    /* they leave: room again (idle ones end after request_timeout) */
    for (int i = 0; i < 4; i++)
        g_object_unref(held[i]);
    g_usleep(2500 * 1000);
    assert_serving(e);
    g_assert_true(harness_wait_log(api_env_harness(e), "max_connections_per_address"));
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/limits/sizes", test_sizes);
    g_test_add_func("/api/limits/bad-json", test_bad_json);
    g_test_add_func("/api/limits/paths", test_paths);
    g_test_add_func("/api/limits/slow-and-half-open", test_slow_and_half_open);
    g_test_add_func("/api/limits/connections-per-address", test_connections_per_address);
    return g_test_run();
}
