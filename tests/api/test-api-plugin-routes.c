/*
 * test-api-plugin-routes.c - another plugin adds resources to the client
 * API through the SDK's http service (route-plugin.c, module route-demo):
 * its routes answer under /api/v1 with api-http's gate (token, role) and
 * error shape, a deferred answer arrives, its OpenAPI part is in
 * /openapi.json, a taken or bad route is refused, and when the module stops
 * (disabled by a reload) its routes and their documentation are gone.
 */
#include <string.h>

#include "api-util.h"

static gboolean has_path(api_env *e, const char *path)
{
    guint status = 0;
    JsonNode *doc = api_req(e, "GET", "/openapi.json", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *paths = json_object_get_object_member(json_node_get_object(doc), "paths");
    gboolean has = json_object_has_member(paths, path);
    json_node_unref(doc);
    return has;
}

static void expect(api_env *e, const char *method, const char *path, const char *token,
                   const char *body, guint status, const char *needle)
{
    guint got = 0;
    JsonNode *n = api_req(e, method, path, token, body, &got);
    char *text = n ? json_to_string(n, FALSE) : g_strdup("");
    if (got != status || (needle && strstr(text, needle) == NULL))
        g_error("%s %s: %u %s; expected %u with %s", method, path, got, text, status,
                needle ? needle : "");
    g_free(text);
    if (n)
        json_node_unref(n);
}

static void test_plugin_routes(void)
{
    api_env *e = api_env_start("admin_group = file:admins\n\n[module route-demo]\n");
    harness *h = api_env_harness(e);
    g_assert_true(harness_wait_state(h, "route-demo", "running"));
    g_assert_true(harness_wait_log(h, "routes added; again: busy, try again later; "
                                      "bad: invalid argument"));
    char *carol = api_login(e, "carol", "pw-carol");
    char *alice = api_login(e, "alice", "pw-alice");

    expect(e, "GET", "/demo/echo/hello%20world", carol, NULL, 200,
           "{\"word\":\"hello world\",\"user\":\"file:carol\",\"key\":\"\",\"role\":1}");
    expect(e, "GET", "/demo/search?q=x%26y", carol, NULL, 200, "{\"q\":\"x&y\"}");
    expect(e, "GET", "/demo/echo/hello", NULL, NULL, 401, "\"unauthenticated\"");
    expect(e, "POST", "/demo/later", NULL, "xyz", 202, "{\"got\":3,\"first\":\"x\"}");
    expect(e, "GET", "/demo/boom", carol, NULL, 403, "\"forbidden\"");
    expect(e, "GET", "/demo/boom", alice, NULL, 409,
           "{\"error\":{\"code\":\"conflict\",\"message\":\"the demo is busy\"}}");
    expect(e, "PUT", "/demo/echo/x", carol, NULL, 405, "\"method_not_allowed\"");

    /* documented in the merged document, with role and scope */
    guint status = 0;
    JsonNode *doc = api_req(e, "GET", "/openapi.json", NULL, NULL, &status);
    JsonObject *paths = json_object_get_object_member(json_node_get_object(doc), "paths");
    JsonObject *get = json_object_get_object_member(
        json_object_get_object_member(paths, "/demo/echo/{word}"), "get");
    g_assert_cmpstr(json_object_get_string_member(get, "summary"), ==, "Echo a word");
    g_assert_cmpstr(json_object_get_string_member(get, "x-ucd-scope"), ==, "demo:read");
    g_assert_cmpstr(json_object_get_string_member(get, "x-ucd-role"), ==, "user");
    g_assert_true(json_object_has_member(paths, "/demo/later"));
    g_assert_true(json_object_has_member(paths, "/health"));
    json_node_unref(doc);

    /* the module stops (disabled at a reload): its routes go */
    char *conf = NULL;
    g_assert_true(g_file_get_contents(h->conf, &conf, NULL, NULL));
    char **parts = g_strsplit(conf, "[module route-demo]\n", 2);
    g_assert_nonnull(parts[1]);
    char *edited = g_strconcat(parts[0], "[module route-demo]\nenabled = false\n", parts[1], NULL);
    g_assert_true(g_file_set_contents(h->conf, edited, -1, NULL));
    harness_signal(h, SIGHUP);
    g_assert_true(harness_wait_log(h, "removed the routes of route-demo"));
    expect(e, "GET", "/demo/echo/hello", carol, NULL, 404, "\"not_found\"");
    g_assert_false(has_path(e, "/demo/echo/{word}"));
    g_assert_true(has_path(e, "/health"));
    /* api-http itself kept running, the sessions too */
    expect(e, "GET", "/health", carol, NULL, 200, NULL);
    g_strfreev(parts);
    g_free(edited);
    g_free(conf);
    g_free(carol);
    g_free(alice);
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/plugin-routes", test_plugin_routes);
    return g_test_run();
}
