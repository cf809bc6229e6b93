/*
 * test-call.c - one request as a handler sees it (api-call.h), on the real
 * server in this process: the JSON body (missing, malformed, not an object,
 * unknown fields, wrong types), query and path parameters, ETag and
 * If-None-Match, lists, the errors of UCD_E_* results, file downloads and
 * their file name, extra headers, and the permission level a caller sees a
 * user at (api_call_level) for a user, an admin and an API key.
 */
#include <string.h>

#include "api-call.h"
#include "server-util.h"

static const char *const take[] = {"name", "count", "on", NULL};

/* Takes {name: string (required), count: int, on: bool}. */
static void post_json(api_call *call, gpointer data)
{
    (void)data;
    JsonObject *o = api_call_json_object(call, take);
    if (o == NULL)
        return;
    const char *name = NULL;
    gint64 count = -1;
    gboolean on = FALSE;
    if (!api_json_string(call, o, "name", TRUE, &name) ||
        !api_json_int(call, o, "count", FALSE, &count) || !api_json_bool(call, o, "on", FALSE, &on))
        return;
    char *text = g_strdup_printf("{\"name\":\"%s\",\"count\":%" G_GINT64_FORMAT ",\"on\":%s}", name,
                                 count, on ? "true" : "false");
    api_call_respond(call, 200, json_from_string(text, NULL));
    g_free(text);
}

static void list(api_call *call, gpointer data)
{
    (void)data;
    JsonArray *items = json_array_new();
    json_array_add_string_element(items,
                                  api_call_query(call, "q") ? api_call_query(call, "q") : "all");
    api_call_respond_list(call, items, 1, NULL);
}

/* GET /errors/{code}: the answer of api_call_error_ucd for that code. */
static void error_of(api_call *call, gpointer data)
{
    (void)data;
    int code = atoi(api_call_param(call, "code"));
    api_call_error_ucd(call, -code, code == 3 ? "no user 'bob'" : NULL);
}

static void download(api_call *call, gpointer data)
{
    (void)data;
    api_call_set_header(call, "X-Extra", "1");
    api_call_respond_file(call, "application/zip", g_bytes_new_static("PK", 2),
                          "evil\"name\r\n/../x.zip");
}

/* GET /level/{user}: {"level": N} */
static void level(api_call *call, gpointer data)
{
    (void)data;
    char *text =
        g_strdup_printf("{\"level\":%u}", api_call_level(call, api_call_param(call, "user")));
    api_call_respond(call, 200, json_from_string(text, NULL));
    g_free(text);
}

static void whoami(api_call *call, gpointer data)
{
    (void)data;
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "address", api_call_address(call));
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    api_call_respond(call, 200, n);
}

#define ZIP_OPENAPI                                                                                \
    "{\"responses\":{\"200\":{\"description\":\"zip\",\"content\":{\"application/zip\":{}}}}}"

static const api_route_def routes[] = {
    {"POST", "/json", UCD_HTTP_ROLE_ANYONE, NULL, NULL, post_json},
    {"GET", "/list", UCD_HTTP_ROLE_ANYONE, NULL, NULL, list},
    {"GET", "/errors/{code}", UCD_HTTP_ROLE_ANYONE, NULL, NULL, error_of},
    {"GET", "/download", UCD_HTTP_ROLE_ANYONE, NULL, ZIP_OPENAPI, download},
    {"GET", "/level/{user}", UCD_HTTP_ROLE_USER, "things:read", NULL, level},
    {"GET", "/whoami", UCD_HTTP_ROLE_ANYONE, NULL, NULL, whoami},
};

/* Carol sees bob at business, nobody else above public; "u:ghost" is
 * blocked (unknown). */
static int perm_level(void *impl, const char *viewer, const char *subject, uint32_t *out)
{
    (void)impl;
    *out = strcmp(subject, "u:ghost") == 0                                   ? UCD_PERM_BLOCKED
           : strcmp(viewer, "u:carol") == 0 && strcmp(subject, "u:bob") == 0 ? UCD_PERM_BUSINESS
                                                                             : UCD_PERM_PUBLIC;
    return UCD_OK;
}

static const ucd_permissions_v1 perms = {.struct_size = sizeof perms, .level = perm_level};

static test_server *start(void)
{
    test_server *t = test_server_new();
    t->ctx.perms = &perms;
    g_assert_true(api_router_add(t->ctx.router, routes, G_N_ELEMENTS(routes), NULL, NULL, NULL));
    test_server_listen(t);
    return t;
}

static void expect_json(test_server *t, const char *body, guint status, const char *code,
                        const char *needle)
{
    test_answer a = test_request(t, "POST", "/api/v1/json", NULL, body);
    if (a.status != status || strcmp(test_error_code(&a), code) != 0 ||
        (needle && strstr(a.body, needle) == NULL))
        g_error("body %s: %u %s; expected %u %s with \"%s\"", body ? body : "(none)", a.status,
                a.body, status, code, needle ? needle : "");
    test_answer_clear(&a);
}

static void test_json_body(void)
{
    test_server *t = start();
    expect_json(t, "{\"name\":\"x\",\"count\":3,\"on\":true}", 200, "", "\"count\":3");
    expect_json(t, "{\"name\":\"x\",\"count\":null}", 200, "", "\"count\":-1");
    expect_json(t, NULL, 400, "invalid_json", "needs a JSON object");
    expect_json(t, "{\"name\":", 400, "invalid_json", "not valid JSON");
    expect_json(t, "[1,2]", 400, "invalid_json", "not an array");
    expect_json(t, "\"text\"", 400, "invalid_json", "must be a JSON object");
    expect_json(t, "{\"name\":\"x\",\"admin\":true}", 400, "unknown_field",
                "unknown field \\\"admin\\\" (this request takes: name, count, on)");
    expect_json(t, "{\"count\":1}", 400, "invalid_argument", "\\\"name\\\" is missing");
    expect_json(t, "{\"name\":7}", 400, "invalid_argument", "\\\"name\\\" must be a string");
    expect_json(t, "{\"name\":\"x\",\"count\":\"3\"}", 400, "invalid_argument",
                "\\\"count\\\" must be an integer");
    expect_json(t, "{\"name\":\"x\",\"count\":1.5}", 400, "invalid_argument", "an integer");
    expect_json(t, "{\"name\":\"x\",\"on\":1}", 400, "invalid_argument", "true or false");
    expect_json(t, "{\"name\":{\"a\":1}}", 400, "invalid_argument",
                "must be a string, not an object");
    expect_json(t, "\xff\xfe{}", 400, "invalid_json", NULL);
    test_server_free(t);
}

static void test_etag(void)
{
    test_server *t = start();
    test_answer a = test_request(t, "GET", "/api/v1/list?q=a%20b", NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(a.body, ==, "{\"items\":[\"a b\"],\"total\":1,\"next\":null}");
    const char *tag = soup_message_headers_get_one(a.headers, "ETag");
    g_assert_nonnull(tag);
    g_assert_cmpstr(soup_message_headers_get_one(a.headers, "Cache-Control"), ==,
                    "private, no-cache");
    char *etag = g_strdup(tag);
    test_answer_clear(&a);

    const char *same[] = {"If-None-Match", etag, NULL};
    a = test_request(t, "GET", "/api/v1/list?q=a%20b", same, NULL);
    g_assert_cmpuint(a.status, ==, 304);
    g_assert_cmpstr(a.body, ==, "");
    g_assert_cmpstr(soup_message_headers_get_one(a.headers, "ETag"), ==, etag);
    test_answer_clear(&a);

    char *listed = g_strdup_printf("\"other\", W/%s", etag);
    const char *weak[] = {"If-None-Match", listed, NULL};
    a = test_request(t, "GET", "/api/v1/list?q=a%20b", weak, NULL);
    g_assert_cmpuint(a.status, ==, 304);
    test_answer_clear(&a);
    g_free(listed);

    /* another answer, another tag */
    a = test_request(t, "GET", "/api/v1/list?q=c", same, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(soup_message_headers_get_one(a.headers, "ETag"), !=, etag);
    test_answer_clear(&a);
    g_free(etag);
    test_server_free(t);
}

static void test_errors_of_results(void)
{
    test_server *t = start();
    static const struct {
        int code;
        guint status;
        const char *error;
    } map[] = {
        {3, 404, "not_found"},   {2, 400, "invalid_argument"}, {6, 403, "forbidden"},
        {4, 422, "unsupported"}, {7, 503, "unavailable"},      {5, 409, "conflict"},
        {1, 500, "internal"},    {8, 500, "internal"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(map); i++) {
        char *path = g_strdup_printf("/api/v1/errors/%d", map[i].code);
        test_answer a = test_request(t, "GET", path, NULL, NULL);
        g_assert_cmpuint(a.status, ==, map[i].status);
        g_assert_cmpstr(test_error_code(&a), ==, map[i].error);
        /* the service's message, or ucd_strerror's */
        g_assert_nonnull(
            strstr(a.body, map[i].code == 3 ? "no user 'bob'" : ucd_strerror(-map[i].code)));
        g_assert_cmpstr(soup_message_headers_get_content_type(a.headers, NULL), ==,
                        "application/json");
        g_assert_cmpstr(soup_message_headers_get_one(a.headers, "X-Content-Type-Options"), ==,
                        "nosniff");
        test_answer_clear(&a);
        g_free(path);
    }
    test_server_free(t);
}

static void test_download(void)
{
    test_server *t = start();
    test_answer a = test_request(t, "GET", "/api/v1/download", NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(a.body, ==, "PK");
    g_assert_cmpstr(soup_message_headers_get_content_type(a.headers, NULL), ==, "application/zip");
    /* quotes, line breaks and slashes never reach the header */
    g_assert_cmpstr(soup_message_headers_get_one(a.headers, "Content-Disposition"), ==,
                    "attachment; filename=\"evil_name___.._x.zip\"");
    g_assert_cmpstr(soup_message_headers_get_one(a.headers, "X-Extra"), ==, "1");
    test_answer_clear(&a);
    test_server_free(t);
}

static guint level_of(test_server *t, const char *token, const char *user)
{
    char *bearer = g_strconcat("Bearer ", token, NULL);
    const char *headers[] = {"Authorization", bearer, NULL};
    char *path = g_strconcat("/api/v1/level/", user, NULL);
    test_answer a = test_request(t, "GET", path, headers, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    guint level = (guint)json_object_get_int_member(json_node_get_object(a.json), "level");
    test_answer_clear(&a);
    g_free(path);
    g_free(bearer);
    return level;
}

static void test_levels(void)
{
    test_server *t = start();
    /* a user: herself (by id or login) personal, the service for others */
    g_assert_cmpuint(level_of(t, "tok-user", "u:carol"), ==, UCD_PERM_PERSONAL);
    g_assert_cmpuint(level_of(t, "tok-user", "carol"), ==, UCD_PERM_PERSONAL);
    g_assert_cmpuint(level_of(t, "tok-user", "u:bob"), ==, UCD_PERM_BUSINESS);
    g_assert_cmpuint(level_of(t, "tok-user", "u:dave"), ==, UCD_PERM_PUBLIC);
    g_assert_cmpuint(level_of(t, "tok-user", "u:ghost"), ==, UCD_PERM_BLOCKED);
    /* an admin sees everyone at personal */
    g_assert_cmpuint(level_of(t, "tok-admin", "u:dave"), ==, UCD_PERM_PERSONAL);
    /* a key: personal on its listed users, public on the others */
    g_assert_cmpuint(level_of(t, "tok-key", "u:dave"), ==, UCD_PERM_PERSONAL);
    g_assert_cmpuint(level_of(t, "tok-key", "u:bob"), ==, UCD_PERM_PUBLIC);
    test_server_free(t);
}

static const char *address_seen(test_server *t, const char *forwarded)
{
    static char seen[64];
    const char *headers[] = {"X-Forwarded-For", forwarded, NULL};
    test_answer a = test_request(t, "GET", "/api/v1/whoami", forwarded ? headers : NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_strlcpy(seen, json_object_get_string_member(json_node_get_object(a.json), "address"),
              sizeof seen);
    test_answer_clear(&a);
    return seen;
}

/* The client's address: the peer's, or behind a trusted proxy the last
 * address of X-Forwarded-For that is not one (what each proxy appended). */
static void test_client_address(void)
{
    test_server *t = start();
    /* 127.0.0.1 is no proxy here: X-Forwarded-For is anybody's word */
    g_assert_cmpstr(address_seen(t, "203.0.113.9"), ==, "127.0.0.1");
    test_server_free(t);

    static const char *const proxies[] = {"127.0.0.1", "10.0.0.2", NULL};
    t = test_server_new();
    t->ctx.config.trusted_proxies = proxies;
    g_assert_true(api_router_add(t->ctx.router, routes, G_N_ELEMENTS(routes), NULL, NULL, NULL));
    test_server_listen(t);
    g_assert_cmpstr(address_seen(t, NULL), ==, "127.0.0.1");
    g_assert_cmpstr(address_seen(t, "203.0.113.9"), ==, "203.0.113.9");
    /* a client's own (forged) entry comes first: the proxies' last word wins */
    g_assert_cmpstr(address_seen(t, "6.6.6.6, 203.0.113.9"), ==, "203.0.113.9");
    /* through two proxies of ours */
    g_assert_cmpstr(address_seen(t, "203.0.113.9, 10.0.0.2"), ==, "203.0.113.9");
    /* garbage stops the walk: nothing behind it is believed */
    g_assert_cmpstr(address_seen(t, "203.0.113.9, not-an-ip"), ==, "127.0.0.1");
    /* only proxies of ours: the first */
    g_assert_cmpstr(address_seen(t, "10.0.0.2"), ==, "10.0.0.2");
    test_server_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-http/call/json-body", test_json_body);
    g_test_add_func("/api-http/call/etag", test_etag);
    g_test_add_func("/api-http/call/errors-of-results", test_errors_of_results);
    g_test_add_func("/api-http/call/download", test_download);
    g_test_add_func("/api-http/call/levels", test_levels);
    g_test_add_func("/api-http/call/client-address", test_client_address);
    return g_test_run();
}
