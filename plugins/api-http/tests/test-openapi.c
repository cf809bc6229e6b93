/*
 * test-openapi.c - the merged OpenAPI document (api_router_openapi) and
 * GET /openapi.json and /health: every route under its path and method,
 * paths sorted, path parameters added where a route did not declare them,
 * the security requirement by role, role and scope as x-ucd-*, the error
 * answers referring to the one error schema, an undocumented route marked,
 * and the served document equal to the merged one (with an ETag).
 */
#include <string.h>

#include "api-call.h"
#include "api-routes.h"
#include "server-util.h"

static void nothing(api_call *call, gpointer data)
{
    (void)data;
    api_call_respond(call, 204, NULL);
}

static const api_route_def routes[] = {
    {"GET", "/zebras/{id}", UCD_HTTP_ROLE_USER, "zebras:read",
     "{\"summary\":\"One zebra\",\"responses\":{\"200\":{\"description\":\"the zebra\"}}}",
     nothing},
    {"DELETE", "/zebras/{id}", UCD_HTTP_ROLE_ADMIN, NULL,
     "{\"summary\":\"Remove\",\"parameters\":[{\"name\":\"id\",\"in\":\"path\",\"required\":true,"
     "\"description\":\"mine\",\"schema\":{\"type\":\"string\"}}],"
     "\"responses\":{\"204\":{\"description\":\"gone\"}}}",
     nothing},
    {"GET", "/apples", UCD_HTTP_ROLE_ANYONE, NULL, NULL, nothing},
};

static JsonObject *path_of(JsonObject *doc, const char *path)
{
    JsonObject *paths = json_object_get_object_member(doc, "paths");
    g_assert_true(json_object_has_member(paths, path));
    return json_object_get_object_member(paths, path);
}

static void test_merge(void)
{
    test_server *t = test_server_new();
    g_assert_true(api_routes_api_register(t->ctx.router, &t->ctx, NULL));
    g_assert_true(api_router_add(t->ctx.router, routes, G_N_ELEMENTS(routes), NULL, NULL, NULL));
    JsonNode *node = api_router_openapi(t->ctx.router);
    JsonObject *doc = json_node_get_object(node);
    g_assert_cmpstr(json_object_get_string_member(doc, "openapi"), ==, "3.1.0");
    g_assert_cmpstr(
        json_object_get_string_member(
            json_array_get_object_element(json_object_get_array_member(doc, "servers"), 0), "url"),
        ==, "/api/v1");

    /* sorted paths */
    GList *names = json_object_get_members(json_object_get_object_member(doc, "paths"));
    const char *expected[] = {"/apples", "/events", "/health", "/openapi.json", "/zebras/{id}"};
    g_assert_cmpuint(g_list_length(names), ==, G_N_ELEMENTS(expected));
    GList *n = names;
    for (gsize i = 0; i < G_N_ELEMENTS(expected); i++, n = n->next)
        g_assert_cmpstr(n->data, ==, expected[i]);
    g_list_free(names);

    JsonObject *get = json_object_get_object_member(path_of(doc, "/zebras/{id}"), "get");
    g_assert_cmpstr(json_object_get_string_member(get, "summary"), ==, "One zebra");
    g_assert_cmpstr(json_object_get_string_member(get, "x-ucd-role"), ==, "user");
    g_assert_cmpstr(json_object_get_string_member(get, "x-ucd-scope"), ==, "zebras:read");
    JsonArray *security = json_object_get_array_member(get, "security");
    g_assert_cmpuint(json_array_get_length(security), ==, 1);
    g_assert_true(json_object_has_member(json_array_get_object_element(security, 0), "bearer"));
    JsonArray *params = json_object_get_array_member(get, "parameters");
    g_assert_cmpuint(json_array_get_length(params), ==, 1);
    JsonObject *p = json_array_get_object_element(params, 0);
    g_assert_cmpstr(json_object_get_string_member(p, "name"), ==, "id");
    g_assert_cmpstr(json_object_get_string_member(p, "in"), ==, "path");
    g_assert_true(json_object_get_boolean_member(p, "required"));
    JsonObject *responses = json_object_get_object_member(get, "responses");
    g_assert_true(json_object_has_member(responses, "200"));
    char *text = json_to_string(json_object_get_member(responses, "401"), FALSE);
    g_assert_nonnull(strstr(text, "#/components/schemas/Error"));
    g_free(text);
    g_assert_true(json_object_has_member(responses, "403"));
    g_assert_true(json_object_has_member(responses, "default"));

    /* a declared path parameter is kept, not doubled */
    JsonObject *del = json_object_get_object_member(path_of(doc, "/zebras/{id}"), "delete");
    params = json_object_get_array_member(del, "parameters");
    g_assert_cmpuint(json_array_get_length(params), ==, 1);
    g_assert_cmpstr(
        json_object_get_string_member(json_array_get_object_element(params, 0), "description"), ==,
        "mine");
    g_assert_cmpstr(json_object_get_string_member(del, "x-ucd-role"), ==, "admin");
    g_assert_false(json_object_has_member(del, "x-ucd-scope"));

    /* ANYONE: no security, no 401; undocumented marked */
    JsonObject *apples = json_object_get_object_member(path_of(doc, "/apples"), "get");
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(apples, "security")), ==,
                     0);
    g_assert_false(
        json_object_has_member(json_object_get_object_member(apples, "responses"), "401"));
    g_assert_cmpstr(json_object_get_string_member(apples, "summary"), ==, "(undocumented)");

    JsonObject *components = json_object_get_object_member(doc, "components");
    JsonObject *bearer = json_object_get_object_member(
        json_object_get_object_member(components, "securitySchemes"), "bearer");
    g_assert_cmpstr(json_object_get_string_member(bearer, "scheme"), ==, "bearer");
    g_assert_true(
        json_object_has_member(json_object_get_object_member(components, "schemas"), "Error"));
    json_node_unref(node);
    test_server_free(t);
}

static void test_served(void)
{
    test_server *t = test_server_new();
    g_assert_true(api_routes_api_register(t->ctx.router, &t->ctx, NULL));
    g_assert_true(api_router_add(t->ctx.router, routes, G_N_ELEMENTS(routes), NULL, NULL, NULL));
    test_server_listen(t);
    test_answer a = test_request(t, "GET", "/api/v1/openapi.json", NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_nonnull(soup_message_headers_get_one(a.headers, "ETag"));
    JsonNode *merged = api_router_openapi(t->ctx.router);
    g_assert_true(json_node_equal(a.json, merged));
    json_node_unref(merged);
    test_answer_clear(&a);

    a = test_request(t, "GET", "/api/v1/health", NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(a.body, ==, "{\"status\":\"ok\"}");
    test_answer_clear(&a);
    test_server_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-http/openapi/merge", test_merge);
    g_test_add_func("/api-http/openapi/served", test_served);
    return g_test_run();
}
