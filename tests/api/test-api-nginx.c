/*
 * test-api-nginx.c - the client API through a real nginx running the admin
 * recipe config/nginx/ucd-api.conf (tests/peers/nginx.sh): TLS terminated
 * by nginx with a certificate of a test CA (verified: a client without the
 * CA is refused), REST (login, /me), the WebSocket event stream (subscribe
 * to presence, set presence over REST, the event arrives), the body limit,
 * and the client address ucd sees: nginx's unless trusted_proxies names
 * it, then the client's, never what a client wrote into its own
 * X-Forwarded-For.
 *
 * nginx connects to ucd from its own 127.x address (proxy_bind), the test's
 * clients from 127.0.0.1, so the two are told apart. Users:
 * tests/api/users.xml (alice admin, password pw-alice).
 */
#include <string.h>

#include <libsoup/soup.h>

#include "api-util.h"
#include "harness.h"

#define WAIT_S 20
/* api-http's default max_body. */
#define DEFAULT_MAX_BODY 1048576
/* What a client claims to be; must never be taken for its address. */
#define FORGED "203.0.113.7"

/* ucd with api-http, and nginx in front of it. */
typedef struct fixture {
    api_env *env;
    harness_peer *nginx;
    char *nginx_addr; /* 127.A.B.C, chosen before ucd starts */
    char *api;        /* "https://ADDR:PORT/api/v1" */
} fixture;

/* 127.A.B.C, A >= 1 (never 127.0.0.1, which the clients use): nginx's
 * address, known before ucd starts so that trusted_proxies can name it. */
static char *own_address(void)
{
    return g_strdup_printf("127.%d.%d.%d", g_random_int_range(1, 255), g_random_int_range(0, 256),
                           g_random_int_range(1, 255));
}

/* A session that trusts nginx's certificate through the test CA only. */
static SoupSession *tls_session(const char *cacert)
{
    GError *error = NULL;
    GTlsDatabase *ca = cacert ? g_tls_file_database_new(cacert, &error) : NULL;
    g_assert_no_error(error);
    SoupSession *session =
        soup_session_new_with_options("timeout", WAIT_S, "idle-timeout", WAIT_S, NULL);
    if (ca) {
        soup_session_set_tls_database(session, ca);
        g_object_unref(ca);
    }
    return session;
}

/* `trusted` TRUE: ucd's trusted_proxies names nginx's address. `max_body`
 * goes to api-http and to nginx's client_max_body_size alike, as
 * config/nginx/README.md asks. Every request of the fixture's env
 * (api_req, api_login, api_ws_connect) then goes through nginx. NULL when
 * nginx is missing (the test is skipped). */
static fixture *fixture_start(gboolean trusted, guint max_body)
{
    fixture *f = g_new0(fixture, 1);
    f->nginx_addr = own_address();
    char *extra =
        g_strdup_printf("max_body = %u\n%s%s%s", max_body, trusted ? "trusted_proxies = " : "",
                        trusted ? f->nginx_addr : "", trusted ? "\n" : "");
    f->env = api_env_start(extra);
    g_free(extra);

    char *upstream = g_strdup_printf("127.0.0.1:%u", api_env_port(f->env));
    char *limit = g_strdup_printf("%u", max_body);
    const char *args[] = {upstream, limit, f->nginx_addr, NULL};
    f->nginx = harness_peer_start(harness_env("UCD_NGINX_SCRIPT"), "NGINX_DIR", args);
    g_free(limit);
    g_free(upstream);
    if (f->nginx == NULL) {
        api_env_stop(f->env);
        g_free(f->nginx_addr);
        g_free(f);
        return NULL;
    }
    g_assert_cmpstr(harness_peer_get(f->nginx, "NGINX_ADDR"), ==, f->nginx_addr);
    f->api = g_strdup_printf("%s/api/v1", harness_peer_get(f->nginx, "NGINX_URL"));
    SoupSession *session = tls_session(harness_peer_get(f->nginx, "NGINX_CACERT"));
    api_env_route_via(f->env, f->api, session);
    g_object_unref(session);
    return f;
}

static void fixture_stop(fixture *f)
{
    harness_peer_stop(f->nginx);
    api_env_stop(f->env);
    g_free(f->api);
    g_free(f->nginx_addr);
    g_free(f);
}

/* alice's access token, logged in through nginx; `forwarded_for`: an
 * X-Forwarded-For the client sends itself (NULL: none). */
static char *login_alice(fixture *f, const char *forwarded_for)
{
    const char *headers[] = {"X-Forwarded-For", forwarded_for, NULL};
    guint status = 0;
    JsonNode *r = api_req_full(f->env, "POST", "/auth/login", NULL,
                               "{\"login\":\"alice\",\"password\":\"pw-alice\"}",
                               forwarded_for ? headers : NULL, &status, NULL);
    g_assert_cmpuint(status, ==, 200);
    char *token = g_strdup(api_str(r, "access_token"));
    g_assert_cmpstr(token, !=, "");
    json_node_unref(r);
    return token;
}

/* The address of the caller's own session, as GET /auth/sessions lists it. */
static char *session_address(fixture *f, const char *token)
{
    guint status = 0;
    JsonNode *r = api_req(f->env, "GET", "/auth/sessions", token, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonArray *items = json_object_get_array_member(json_node_get_object(r), "items");
    char *address = NULL;
    for (guint i = 0; i < json_array_get_length(items); i++) {
        JsonObject *s = json_array_get_object_element(items, i);
        if (json_object_get_boolean_member_with_default(s, "current", FALSE))
            address = g_strdup(json_object_get_string_member(s, "address"));
    }
    json_node_unref(r);
    g_assert_nonnull(address);
    return address;
}

/* Login and /me through nginx, TLS verified; without the CA the client
 * refuses nginx's certificate, so verification is really on. */
static void test_rest(void)
{
    fixture *f = fixture_start(FALSE, DEFAULT_MAX_BODY);
    if (f == NULL)
        return;
    guint status = 0;
    JsonNode *health = api_req(f->env, "GET", "/health", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    g_assert_cmpstr(api_str(health, "status"), ==, "ok");
    json_node_unref(health);

    char *token = login_alice(f, NULL);
    JsonNode *me = api_req(f->env, "GET", "/me", token, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    g_assert_cmpstr(api_str(me, "login"), ==, "alice");
    g_assert_cmpstr(api_str(me, "id"), ==, "file:alice");
    json_node_unref(me);
    JsonNode *denied = api_req(f->env, "GET", "/me", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 401);
    g_assert_cmpstr(api_error_code(denied), !=, "");
    json_node_unref(denied);

    /* A client that does not know the test CA. */
    SoupSession *plain = tls_session(NULL);
    char *url = g_strconcat(f->api, "/health", NULL);
    SoupMessage *msg = soup_message_new("GET", url);
    GError *error = NULL;
    GBytes *none = soup_session_send_and_read(plain, msg, NULL, &error);
    g_assert_error(error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
    g_assert_null(none);
    g_clear_error(&error);
    g_object_unref(msg);
    g_object_unref(plain);
    g_free(url);
    g_free(token);
    fixture_stop(f);
}

/* A body larger than client_max_body_size (= api-http's max_body, here
 * smaller than both defaults) is refused by nginx itself (its own page, not
 * ucd's JSON error); one just under it passes to ucd. */
static void test_body_limit(void)
{
    fixture *f = fixture_start(FALSE, 65536);
    if (f == NULL)
        return;
    GString *big = g_string_new("{\"login\":\"alice\",\"password\":\"");
    while (big->len < 65536 + 16)
        g_string_append(big, "xxxxxxxxxxxxxxxx");
    g_string_append(big, "\"}");
    guint status = 0;
    JsonNode *r = api_req(f->env, "POST", "/auth/login", NULL, big->str, &status);
    g_assert_cmpuint(status, ==, 413);
    g_assert_nonnull(r);
    g_assert_true(JSON_NODE_HOLDS_VALUE(r)); /* nginx's HTML, not ucd's error object */
    json_node_unref(r);

    g_string_truncate(big, 65536 - 1024);
    g_string_append(big, "\"}");
    r = api_req(f->env, "POST", "/auth/login", NULL, big->str, &status);
    /* ucd's own answer (a password that long is refused), a JSON error. */
    g_assert_cmpuint(status, >=, 400);
    g_assert_cmpuint(status, !=, 413);
    g_assert_cmpstr(api_error_code(r), !=, "");
    json_node_unref(r);
    g_string_free(big, TRUE);
    char *token = login_alice(f, NULL);
    g_free(token);
    fixture_stop(f);
}

/* Connected through nginx: subscribed to presence, alice sets her own
 * presence over REST (through nginx too), and the event arrives. */
static void test_event_stream(void)
{
    fixture *f = fixture_start(FALSE, DEFAULT_MAX_BODY);
    if (f == NULL)
        return;
    char *token = login_alice(f, NULL);
    GError *error = NULL;
    SoupWebsocketConnection *ws = api_ws_connect(f->env, token, &error); /* wss:// via nginx */
    g_assert_no_error(error);
    g_assert_nonnull(ws);

    soup_websocket_connection_send_text(ws, "{\"op\":\"subscribe\",\"kinds\":[\"presence\"]}");
    JsonNode *subscribed = api_ws_next(ws, WAIT_S);
    g_assert_nonnull(subscribed);
    g_assert_cmpstr(api_str(subscribed, "op"), ==, "subscribed");
    json_node_unref(subscribed);

    guint status = 0;
    JsonNode *r = api_req(f->env, "PUT", "/presence/file:alice", token,
                          "{\"state\":\"away\",\"note\":\"through nginx\"}", &status);
    g_assert_cmpuint(status, ==, 200);
    if (r != NULL)
        json_node_unref(r);

    gboolean seen = FALSE;
    for (int i = 0; i < 20 && !seen; i++) {
        JsonNode *event = api_ws_next(ws, WAIT_S);
        g_assert_nonnull(event); /* the stream stays up and the event comes */
        JsonObject *o = json_node_get_object(event);
        if (json_object_has_member(o, "kind") &&
            strcmp(json_object_get_string_member(o, "kind"), "presence") == 0) {
            JsonObject *data = json_object_get_object_member(o, "data");
            const char *user = json_object_get_string_member_with_default(data, "user_id", "");
            const char *state = json_object_get_string_member_with_default(data, "state", "");
            g_assert_cmpint(json_object_get_int_member(o, "seq"), >, 0);
            seen = strcmp(user, "file:alice") == 0 && strcmp(state, "away") == 0;
        }
        json_node_unref(event);
    }
    g_assert_true(seen);
    soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_object_unref(ws);
    g_free(token);
    fixture_stop(f);
}

/* The address ucd records for a session (and rate-limits by): nginx's
 * without trusted_proxies; with it, the client's as nginx appended it, and
 * never the forged one the client sent. */
static void test_forwarded_for(void)
{
    fixture *f = fixture_start(FALSE, DEFAULT_MAX_BODY);
    if (f == NULL)
        return;
    char *token = login_alice(f, FORGED);
    char *address = session_address(f, token);
    g_assert_cmpstr(address, ==, f->nginx_addr);
    g_free(address);
    g_free(token);
    fixture_stop(f);

    f = fixture_start(TRUE, DEFAULT_MAX_BODY);
    g_assert_nonnull(f);
    token = login_alice(f, FORGED);
    address = session_address(f, token);
    g_assert_cmpstr(address, ==, "127.0.0.1");
    g_free(address);
    g_free(token);
    token = login_alice(f, NULL);
    address = session_address(f, token);
    g_assert_cmpstr(address, ==, "127.0.0.1");
    g_free(address);
    g_free(token);
    fixture_stop(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/nginx/rest", test_rest);
    g_test_add_func("/api/nginx/body-limit", test_body_limit);
    g_test_add_func("/api/nginx/event-stream", test_event_stream);
    g_test_add_func("/api/nginx/forwarded-for", test_forwarded_for);
    return g_test_run();
}
