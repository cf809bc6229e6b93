/*
 * test-api-openapi.c - docs/api/openapi.json is what the running api-http
 * serves at /api/v1/openapi.json (with the routes of api-http itself; other
 * plugins add theirs at run time). When a route changes, regenerate the file:
 *
 *     UCD_WRITE_OPENAPI=1 meson test -C BUILD api-openapi
 *
 * Also checks the document's frame: OpenAPI 3.1, every operation with a
 * summary, responses, security and x-ucd-role, every error answer in the one
 * error shape.
 */
#include <string.h>

#include "api-util.h"

static void check_operation(const char *path, const char *method, JsonObject *op)
{
    if (!json_object_has_member(op, "summary") || !json_object_has_member(op, "responses") ||
        !json_object_has_member(op, "security") || !json_object_has_member(op, "x-ucd-role"))
        g_error("%s %s lacks summary, responses, security or x-ucd-role", method, path);
    if (strcmp(json_object_get_string_member(op, "summary"), "(undocumented)") == 0)
        g_error("%s %s is undocumented: give its route an OpenAPI text", method, path);
}

static void test_document(void)
{
    /* contacts-store: the document holds the routes plugins add too */
    api_env *e = api_env_start("admin_group = file:admins\n[module contacts-store]\n");
    guint status = 0;
    JsonNode *served = api_req(e, "GET", "/openapi.json", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *doc = json_node_get_object(served);
    g_assert_cmpstr(json_object_get_string_member(doc, "openapi"), ==, "3.1.0");
    JsonObject *paths = json_object_get_object_member(doc, "paths");
    GList *names = json_object_get_members(paths);
    for (GList *p = names; p; p = p->next) {
        JsonObject *item = json_object_get_object_member(paths, p->data);
        GList *methods = json_object_get_members(item);
        for (GList *m = methods; m; m = m->next)
            check_operation(p->data, m->data, json_object_get_object_member(item, m->data));
        g_list_free(methods);
    }
    g_list_free(names);

    char *file =
        g_build_filename(harness_env("UCD_SOURCE_ROOT"), "docs", "api", "openapi.json", NULL);
    char *pretty = json_to_string(served, TRUE);
    if (g_getenv("UCD_WRITE_OPENAPI")) {
        char *text = g_strconcat(pretty, "\n", NULL);
        g_assert_true(g_file_set_contents(file, text, -1, NULL));
        g_free(text);
        g_test_message("wrote %s", file);
    }
    char *committed = NULL;
    if (!g_file_get_contents(file, &committed, NULL, NULL))
        g_error("%s is missing: UCD_WRITE_OPENAPI=1 meson test api-openapi writes it", file);
    JsonNode *kept = json_from_string(committed, NULL);
    g_assert_nonnull(kept);
    if (!json_node_equal(kept, served))
        g_error("%s differs from what api-http serves: check the routes' OpenAPI texts, then "
                "UCD_WRITE_OPENAPI=1 meson test api-openapi",
                file);
    json_node_unref(kept);
    g_free(committed);
    g_free(pretty);
    g_free(file);
    json_node_unref(served);
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/openapi/document", test_document);
    return g_test_run();
}
