/*
 * test-router.c - the route table and the auth gate (api-router.h) on the
 * real server in this process: matching ({params}, literal beats param,
 * percent-decoding), 404/405, refused paths, the gate's answers for each
 * kind of token, role and scope, ?token= only for downloads, deferred
 * answers, a handler that forgets to answer, and what api_router_add
 * refuses.
 */
#include <string.h>

#include "api-call.h"
#include "server-util.h"

/* Answers {"route": DATA, "id": PARAM id, "who": user or key}. */
static void echo(api_call *call, gpointer data)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "route", data);
    const char *id = api_call_param(call, "id");
    if (id)
        json_object_set_string_member(o, "id", id);
    const api_principal *p = api_call_principal(call);
    json_object_set_string_member(o, "who",
                                  p == NULL    ? "nobody"
                                  : p->user_id ? p->user_id
                                               : p->key_name);
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    api_call_respond(call, 200, n);
}

static void forgets(api_call *call, gpointer data)
{
    (void)call, (void)data;
}

static gboolean answer_later(gpointer data)
{
    api_call *call = data;
    g_assert_false(api_call_answered(call));
    api_call_respond(call, 201, json_from_string("{\"later\":true}", NULL));
    return G_SOURCE_REMOVE;
}

static void deferred(api_call *call, gpointer data)
{
    (void)data;
    api_call_defer(call);
    g_timeout_add(20, answer_later, call);
}

static guint late_answers;

static gboolean answer_into_void(gpointer data)
{
    api_call *call = data;
    api_call_respond(call, 200, json_from_string("{}", NULL));
    late_answers++;
    return G_SOURCE_REMOVE;
}

/* Answers 200 ms later, whoever is still there. */
static void slow(api_call *call, gpointer data)
{
    (void)data;
    api_call_defer(call);
    g_timeout_add(200, answer_into_void, call);
}

static void file(api_call *call, gpointer data)
{
    (void)data;
    api_call_respond_file(call, "text/csv", g_bytes_new_static("a,b\r\n", 5), "x.csv");
}

#define CSV_OPENAPI                                                                                \
    "{\"responses\":{\"200\":{\"description\":\"csv\",\"content\":{\"text/csv\":{}}}}}"

static const api_route_def routes[] = {
    {"GET", "/things/{id}", UCD_HTTP_ROLE_USER, "things:read", NULL, echo},
    {"GET", "/things/search", UCD_HTTP_ROLE_USER, "things:read", NULL, echo},
    {"DELETE", "/things/{id}", UCD_HTTP_ROLE_ADMIN, NULL, NULL, echo},
    {"GET", "/open", UCD_HTTP_ROLE_ANYONE, NULL, NULL, echo},
    {"GET", "/leaders", UCD_HTTP_ROLE_LEADER, NULL, NULL, echo},
    {"GET", "/forgets", UCD_HTTP_ROLE_ANYONE, NULL, NULL, forgets},
    {"POST", "/later", UCD_HTTP_ROLE_ANYONE, NULL, NULL, deferred},
    {"GET", "/a/{x}/c", UCD_HTTP_ROLE_ANYONE, NULL, NULL, echo},
    {"GET", "/a/b/{y}", UCD_HTTP_ROLE_ANYONE, NULL, NULL, echo},
    {"GET", "/export.csv", UCD_HTTP_ROLE_USER, NULL, CSV_OPENAPI, file},
    {"GET", "/slow", UCD_HTTP_ROLE_ANYONE, NULL, NULL, slow},
};

/* The routes' data: which route answered. */
static const char *const names[] = {"param", "search", "delete", "open",   "leaders", "forgets",
                                    "later", "a-x-c",  "a-b-y",  "export", "slow"};

static test_server *start(void)
{
    test_server *t = test_server_new();
    for (gsize i = 0; i < G_N_ELEMENTS(routes); i++)
        g_assert_true(api_router_add(t->ctx.router, &routes[i], 1, (gpointer)names[i], NULL, NULL));
    test_server_listen(t);
    return t;
}

static test_answer get(test_server *t, const char *method, const char *path, const char *token)
{
    char *bearer = token ? g_strconcat("Bearer ", token, NULL) : NULL;
    const char *headers[] = {"Authorization", bearer, NULL};
    test_answer a = test_request(t, method, path, bearer ? headers : NULL, NULL);
    g_free(bearer);
    return a;
}

static const char *member(const test_answer *a, const char *name)
{
    g_assert_nonnull(a->json);
    return json_object_get_string_member(json_node_get_object(a->json), name);
}

static void test_matching(void)
{
    test_server *t = start();
    test_answer a = get(t, "GET", "/api/v1/things/search", "tok-user");
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(member(&a, "route"), ==, "search");
    test_answer_clear(&a);

    /* decoded once (libsoup does it): "%2525" stays "%25" */
    a = get(t, "GET", "/api/v1/things/a%20b%2525", "tok-user");
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(member(&a, "route"), ==, "param");
    g_assert_cmpstr(member(&a, "id"), ==, "a b%25");
    g_assert_cmpstr(member(&a, "who"), ==, "u:carol");
    test_answer_clear(&a);

    /* a literal at the first differing place wins */
    a = get(t, "GET", "/api/v1/a/b/c", NULL);
    g_assert_cmpstr(member(&a, "route"), ==, "a-b-y");
    test_answer_clear(&a);
    a = get(t, "GET", "/api/v1/a/z/c", NULL);
    g_assert_cmpstr(member(&a, "route"), ==, "a-x-c");
    test_answer_clear(&a);

    /* HEAD is GET without the body */
    a = get(t, "HEAD", "/api/v1/open", NULL);
    g_assert_cmpuint(a.status, ==, 200);
    test_answer_clear(&a);
    test_server_free(t);
}

static void test_not_found_and_method(void)
{
    test_server *t = start();
    /* dot segments are gone before the router sees the path: "/api/v1/../"
     * is "/", outside the API */
    const char *missing[] = {"/api/v1/nothing",
                             "/api/v1/things",
                             "/api/v1/things/1/2",
                             "/api/v1",
                             "/elsewhere",
                             "/api/v1/../../etc/passwd",
                             "/api/v1/things/%2e%2e/%2e%2e/%2e%2e/etc"};
    for (gsize i = 0; i < G_N_ELEMENTS(missing); i++) {
        test_answer a = get(t, "GET", missing[i], "tok-user");
        if (a.status != 404)
            g_error("%s: %u %s", missing[i], a.status, a.body);
        g_assert_cmpstr(test_error_code(&a), ==, "not_found");
        test_answer_clear(&a);
    }
    test_answer a = get(t, "PUT", "/api/v1/things/7", "tok-user");
    g_assert_cmpuint(a.status, ==, 405);
    g_assert_cmpstr(test_error_code(&a), ==, "method_not_allowed");
    g_assert_cmpstr(soup_message_headers_get_one(a.headers, "Allow"), ==, "GET, DELETE");
    test_answer_clear(&a);
    test_server_free(t);
}

static void test_refused_paths(void)
{
    test_server *t = start();
    const char *bad[] = {"/api/v1//things", "/api/v1/things/search/", "/api/v1/things/%2e"};
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        test_answer a = get(t, "GET", bad[i], "tok-user");
        if (a.status != 400)
            g_error("%s: %u %s", bad[i], a.status, a.body);
        g_assert_cmpstr(test_error_code(&a), ==, "bad_request");
        test_answer_clear(&a);
    }
    /* libsoup refuses these before any handler (its own 400, no body) */
    const char *undecodable[] = {"/api/v1/things/%00", "/api/v1/things/a%2", "/api/v1/open?x=%zz"};
    for (gsize i = 0; i < G_N_ELEMENTS(undecodable); i++) {
        char *request = g_strdup_printf("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                        "Authorization: Bearer tok-user\r\n\r\n",
                                        undecodable[i]);
        char *answer = test_raw(t, request);
        g_assert_true(g_str_has_prefix(answer, "HTTP/1.1 400 "));
        g_free(answer);
        g_free(request);
    }
    test_server_free(t);
}

static void expect(test_server *t, const char *method, const char *path, const char *token,
                   guint status, const char *code)
{
    test_answer a = get(t, method, path, token);
    if (a.status != status || strcmp(test_error_code(&a), code) != 0)
        g_error("%s %s with %s: %u %s, expected %u %s", method, path, token ? token : "nothing",
                a.status, a.body, status, code);
    test_answer_clear(&a);
}

static void test_gate(void)
{
    test_server *t = start();
    expect(t, "GET", "/api/v1/things/1", NULL, 401, "unauthenticated");
    expect(t, "GET", "/api/v1/things/1", "tok-forged", 401, "unauthenticated");
    expect(t, "GET", "/api/v1/things/1", "tok-expired", 401, "token_expired");
    expect(t, "GET", "/api/v1/things/1", "tok-user", 200, "");
    expect(t, "DELETE", "/api/v1/things/1", "tok-user", 403, "forbidden");
    expect(t, "DELETE", "/api/v1/things/1", "tok-leader", 403, "forbidden");
    expect(t, "DELETE", "/api/v1/things/1", "tok-admin", 200, "");
    expect(t, "GET", "/api/v1/leaders", "tok-user", 403, "forbidden");
    expect(t, "GET", "/api/v1/leaders", "tok-leader", 200, "");
    expect(t, "GET", "/api/v1/leaders", "tok-admin", 200, "");
    /* a key: its scope, not a role */
    expect(t, "GET", "/api/v1/things/1", "tok-key", 200, "");
    expect(t, "DELETE", "/api/v1/things/1", "tok-key", 403, "forbidden");
    expect(t, "GET", "/api/v1/leaders", "tok-key", 403, "forbidden");
    expect(t, "GET", "/api/v1/export.csv", "tok-key", 403, "forbidden");
    /* a stale token keeps nobody from a public route */
    expect(t, "GET", "/api/v1/open", "tok-expired", 200, "");

    /* the 401 says how to authenticate */
    test_answer a = get(t, "GET", "/api/v1/things/1", NULL);
    g_assert_nonnull(soup_message_headers_get_one(a.headers, "WWW-Authenticate"));
    test_answer_clear(&a);
    /* not a bearer */
    const char *basic[] = {"Authorization", "Basic YTpi", NULL};
    a = test_request(t, "GET", "/api/v1/things/1", basic, NULL);
    g_assert_cmpuint(a.status, ==, 401);
    g_assert_cmpstr(test_error_code(&a), ==, "unauthenticated");
    test_answer_clear(&a);
    test_server_free(t);
}

static void test_token_in_query(void)
{
    test_server *t = start();
    /* a download takes ?token= (a browser link) ... */
    test_answer a = get(t, "GET", "/api/v1/export.csv?token=tok-user", NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(a.body, ==, "a,b\r\n");
    g_assert_cmpstr(soup_message_headers_get_one(a.headers, "Content-Disposition"), ==,
                    "attachment; filename=\"x.csv\"");
    test_answer_clear(&a);
    /* ... a JSON route does not: tokens stay out of URLs and logs */
    expect(t, "GET", "/api/v1/things/1?token=tok-user", NULL, 401, "unauthenticated");
    test_server_free(t);
}

static void test_deferred_and_forgotten(void)
{
    test_server *t = start();
    test_answer a = test_request(t, "POST", "/api/v1/later", NULL, "{}");
    g_assert_cmpuint(a.status, ==, 201);
    g_assert_cmpstr(a.body, ==, "{\"later\":true}");
    test_answer_clear(&a);
    a = get(t, "GET", "/api/v1/forgets", NULL);
    g_assert_cmpuint(a.status, ==, 500);
    g_assert_cmpstr(test_error_code(&a), ==, "internal");
    test_answer_clear(&a);
    g_assert_true(fake_module_log_has(t->module, UCD_LOG_ERROR, "gave no answer"));
    test_server_free(t);
}

/* A client that leaves before a deferred answer: the answer goes nowhere,
 * nothing breaks, the next client is served. */
static void test_client_leaves(void)
{
    test_server *t = start();
    late_answers = 0;
    for (int i = 0; i < 3; i++) {
        GSocket *s = test_raw_connect(t);
        test_raw_send(s, "GET /api/v1/slow HTTP/1.1\r\nHost: x\r\n\r\n");
        test_run_loop(50); /* the handler ran and deferred */
        g_socket_close(s, NULL);
        g_object_unref(s);
    }
    while (late_answers < 3)
        test_run_loop(50);
    test_run_loop(50);
    test_answer a = get(t, "GET", "/api/v1/open", NULL);
    g_assert_cmpuint(a.status, ==, 200);
    test_answer_clear(&a);
    a = get(t, "GET", "/api/v1/slow", NULL);
    g_assert_cmpuint(a.status, ==, 200);
    test_answer_clear(&a);
    test_server_free(t);
}

static void refused(api_router *r, const api_route_def *def, GQuark domain, gint code,
                    const char *needle)
{
    GError *error = NULL;
    g_assert_false(api_router_add(r, def, 1, NULL, NULL, &error));
    g_assert_error(error, domain, code);
    if (strstr(error->message, needle) == NULL)
        g_error("\"%s\" does not say \"%s\"", error->message, needle);
    g_error_free(error);
}

static void test_add_refusals(void)
{
    test_server *t = start();
    api_router *r = t->ctx.router;
    const api_route_def bad_method = {"TRACE", "/x", 0, NULL, NULL, echo};
    const api_route_def bad_path = {"GET", "x", 0, NULL, NULL, echo};
    const api_route_def bad_segment = {"GET", "/x/{a b}", 0, NULL, NULL, echo};
    const api_route_def dot = {"GET", "/x/..", 0, NULL, NULL, echo};
    const api_route_def repeated = {"GET", "/x/{a}/{a}", 0, NULL, NULL, echo};
    const api_route_def bad_openapi = {"GET", "/x", 0, NULL, "[1]", echo};
    const api_route_def no_handler = {"GET", "/x", 0, NULL, NULL, NULL};
    const api_route_def taken = {"GET", "/things/{other}", 0, NULL, NULL, echo};
    GQuark io = G_IO_ERROR;
    refused(r, &bad_method, io, G_IO_ERROR_INVALID_ARGUMENT, "TRACE");
    refused(r, &bad_path, io, G_IO_ERROR_INVALID_ARGUMENT, "must start with '/'");
    refused(r, &bad_segment, io, G_IO_ERROR_INVALID_ARGUMENT, "{a b}");
    refused(r, &dot, io, G_IO_ERROR_INVALID_ARGUMENT, "..");
    refused(r, &repeated, io, G_IO_ERROR_INVALID_ARGUMENT, "{a}");
    refused(r, &bad_openapi, io, G_IO_ERROR_INVALID_ARGUMENT, "not a JSON object");
    refused(r, &no_handler, io, G_IO_ERROR_INVALID_ARGUMENT, "no handler");
    refused(r, &taken, io, G_IO_ERROR_EXISTS, "taken");

    /* a table is added whole or not at all */
    const api_route_def pair[] = {{"GET", "/fresh", 0, NULL, NULL, echo},
                                  {"GET", "/things/search", 0, NULL, NULL, echo}};
    g_assert_false(api_router_add(r, pair, 2, NULL, NULL, NULL));
    expect(t, "GET", "/api/v1/fresh", NULL, 404, "not_found");

    /* an owner's routes go with it */
    int owner = 0;
    const api_route_def mine = {"GET", "/mine", 0, NULL, NULL, echo};
    g_assert_true(api_router_add(r, &mine, 1, "mine", &owner, NULL));
    expect(t, "GET", "/api/v1/mine", NULL, 200, "");
    api_router_remove_owner(r, &owner);
    expect(t, "GET", "/api/v1/mine", NULL, 404, "not_found");
    expect(t, "GET", "/api/v1/open", NULL, 200, "");
    test_server_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-http/router/matching", test_matching);
    g_test_add_func("/api-http/router/not-found-and-method", test_not_found_and_method);
    g_test_add_func("/api-http/router/refused-paths", test_refused_paths);
    g_test_add_func("/api-http/router/gate", test_gate);
    g_test_add_func("/api-http/router/token-in-query", test_token_in_query);
    g_test_add_func("/api-http/router/deferred-and-forgotten", test_deferred_and_forgotten);
    g_test_add_func("/api-http/router/add-refusals", test_add_refusals);
    g_test_add_func("/api-http/router/client-leaves", test_client_leaves);
    return g_test_run();
}
