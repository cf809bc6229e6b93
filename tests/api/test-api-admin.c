/*
 * test-api-admin.c - the administrator's routes against the real ucd
 * (api-util.h): each answers what the real ucctl prints for the same
 * command (`ucctl --json modules`, `log level`, `counters`, `log export`),
 * a log level changed through the API is the one `ucctl log level` shows,
 * and every route refuses a leader, a user and an API key. Bad bodies get
 * the error that says what is wrong.
 */
#include <string.h>

#include "api-extra.h"
#include "api-util.h"
#include "harness.h"

#define ADMIN_CONFIG "admin_group = file:admins\n"

/* What `ucctl --json WORDS...` prints, parsed. */
static JsonNode *ucctl_json(api_env *e, const char *const *words)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)harness_env("UCCTL_BIN"));
    g_ptr_array_add(argv, "--json");
    for (const char *const *w = words; *w; w++)
        g_ptr_array_add(argv, (gpointer)*w);
    g_ptr_array_add(argv, NULL);
    char *out = NULL;
    g_assert_cmpint(harness_run(api_env_harness(e), (const char *const *)argv->pdata, &out, NULL),
                    ==, 0);
    JsonParser *parser = json_parser_new();
    GError *error = NULL;
    json_parser_load_from_data(parser, out, -1, &error);
    g_assert_no_error(error);
    JsonNode *node = json_node_copy(json_parser_get_root(parser));
    g_object_unref(parser);
    g_free(out);
    g_ptr_array_free(argv, TRUE);
    return node;
}

static JsonNode *request(api_env *e, const char *method, const char *path, const char *token,
                         const char *body, guint expected)
{
    guint status = 0;
    JsonNode *node = api_req(e, method, path, token, body, &status);
    if (status != expected) {
        char *text = node ? json_to_string(node, FALSE) : g_strdup("(no body)");
        g_error("%s %s: %u (expected %u) %s", method, path, status, expected, text);
    }
    return node;
}

/* An error answer with `code` whose message says `about`. */
static void assert_refused(api_env *e, const char *method, const char *path, const char *token,
                           const char *body, guint expected, const char *code, const char *about)
{
    JsonNode *node = request(e, method, path, token, body, expected);
    JsonObject *error = json_object_get_object_member(json_node_get_object(node), "error");
    const char *message = json_object_get_string_member(error, "message");
    g_test_message("%s %s -> %u %s", method, path, expected, message);
    g_assert_cmpstr(json_object_get_string_member(error, "code"), ==, code);
    if (about && !strstr(message, about))
        g_error("the message '%s' does not say '%s'", message, about);
    json_node_free(node);
}

static JsonArray *items_of(JsonNode *node)
{
    JsonObject *o = json_node_get_object(node);
    g_assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(o, "next")));
    JsonArray *items = json_object_get_array_member(o, "items");
    g_assert_cmpint(json_object_get_int_member(o, "total"), ==, json_array_get_length(items));
    return items;
}

static void assert_items_are(JsonNode *node, JsonNode *printed)
{
    JsonNode *items = json_node_new(JSON_NODE_ARRAY);
    json_node_set_array(items, items_of(node));
    if (!json_node_equal(items, printed)) {
        char *a = json_to_string(items, TRUE), *b = json_to_string(printed, TRUE);
        g_error("the API's items differ from ucctl's:\n%s\n---\n%s", a, b);
    }
    json_node_free(items);
}

static const struct {
    const char *method, *path, *body;
} routes[] = {
    {"GET", "/admin/modules", NULL},
    {"POST", "/admin/reload", NULL},
    {"GET", "/admin/log/levels", NULL},
    {"PUT", "/admin/log/levels", "{\"module\":\"pbx-sim\",\"level\":\"error\"}"},
    {"GET", "/admin/bundle", NULL},
    {"GET", "/admin/counters", NULL},
};

/* A leader, a user and an API key are refused every route, and nothing
 * changed: pbx-sim's level is still what it was. */
static void test_refused(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    char *bob = api_login(e, "bob", "pw-bob");
    char *carol = api_login(e, "carol", "pw-carol");
    char *key = api_new_key(e, "ops", "journal:read,analytics:read");
    const char *levels[] = {"log", "level", NULL};
    JsonNode *r = harness_ok(api_env_harness(e), levels);
    char *before = g_strdup(harness_cell(r, "pbx-sim", "level"));
    json_node_free(r);
    for (guint i = 0; i < G_N_ELEMENTS(routes); i++) {
        const char *who[] = {bob, carol, key};
        for (guint w = 0; w < G_N_ELEMENTS(who); w++)
            assert_refused(e, routes[i].method, routes[i].path, who[w], routes[i].body, 403,
                           "forbidden", NULL);
        assert_refused(e, routes[i].method, routes[i].path, NULL, routes[i].body, 401,
                       "unauthenticated", NULL);
    }
    for (guint i = 0; i < G_N_ELEMENTS(routes); i++) {
        char *method = g_ascii_strdown(routes[i].method, -1);
        api_assert_documented(e, method, routes[i].path, "admin");
        g_free(method);
    }
    r = harness_ok(api_env_harness(e), levels);
    g_assert_cmpstr(harness_cell(r, "pbx-sim", "level"), ==, before);
    g_assert_cmpstr(before, !=, "error");
    json_node_free(r);
    g_free(before);
    g_free(key);
    g_free(bob);
    g_free(carol);
    api_env_stop(e);
}

static void test_modules_counters_levels(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    char *alice = api_login(e, "alice", "pw-alice");

    JsonNode *node = request(e, "GET", "/admin/modules", alice, NULL, 200);
    const char *modules[] = {"modules", NULL};
    JsonNode *printed = ucctl_json(e, modules);
    assert_items_are(node, printed);
    json_node_free(printed);
    json_node_free(node);

    /* counters move while the daemon runs: the same counters, kinds and helps */
    node = request(e, "GET", "/admin/counters", alice, NULL, 200);
    const char *counters[] = {"counters", NULL};
    printed = ucctl_json(e, counters);
    JsonArray *items = items_of(node), *rows = json_node_get_array(printed);
    g_assert_cmpuint(json_array_get_length(items), ==, json_array_get_length(rows));
    g_assert_cmpuint(json_array_get_length(items), >, 0);
    for (guint i = 0; i < json_array_get_length(items); i++) {
        JsonObject *a = json_array_get_object_element(items, i);
        JsonObject *b = json_array_get_object_element(rows, i);
        for (const char *const *m = (const char *const[]){"counter", "kind", "help", NULL}; *m; m++)
            g_assert_cmpstr(json_object_get_string_member(a, *m), ==,
                            json_object_get_string_member(b, *m));
        g_assert_true(json_object_has_member(a, "value"));
    }
    json_node_free(printed);
    json_node_free(node);

    node = request(e, "GET", "/admin/log/levels", alice, NULL, 200);
    const char *levels[] = {"log", "level", NULL};
    printed = ucctl_json(e, levels);
    assert_items_are(node, printed);
    json_node_free(printed);
    json_node_free(node);

    /* a change through the API is what the console shows */
    JsonNode *r = harness_ok(api_env_harness(e), levels);
    g_assert_cmpstr(harness_cell(r, "pbx-sim", "level"), !=, "warning");
    g_assert_cmpstr(harness_cell(r, "(default)", "level"), !=, "notice");
    json_node_free(r);
    node = request(e, "PUT", "/admin/log/levels", alice,
                   "{\"module\":\"pbx-sim\",\"level\":\"warning\"}", 200);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(node), "module"), ==,
                    "pbx-sim");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(node), "level"), ==,
                    "warning");
    json_node_free(node);
    r = harness_ok(api_env_harness(e), levels);
    g_assert_cmpstr(harness_cell(r, "pbx-sim", "level"), ==, "warning");
    json_node_free(r);
    node = request(e, "PUT", "/admin/log/levels", alice, "{\"level\":\"notice\"}", 200);
    json_node_free(node);
    r = harness_ok(api_env_harness(e), levels);
    g_assert_cmpstr(harness_cell(r, "(default)", "level"), ==, "notice");
    g_assert_cmpstr(harness_cell(r, "pbx-sim", "level"), ==, "warning");
    json_node_free(r);
    g_assert_true(harness_wait_log(api_env_harness(e), "api-http: admin alice"));

    /* bad bodies */
    assert_refused(e, "PUT", "/admin/log/levels", alice,
                   "{\"module\":\"pbx-sim\",\"level\":\"loud\"}", 400, "invalid_argument", "level");
    assert_refused(e, "PUT", "/admin/log/levels", alice, "{\"module\":\"pbx-sim\"}", 400,
                   "invalid_argument", "level");
    assert_refused(e, "PUT", "/admin/log/levels", alice,
                   "{\"module\":\"no-such\",\"level\":\"info\"}", 404, "not_found", "no-such");
    assert_refused(e, "PUT", "/admin/log/levels", alice, "{\"module\":7,\"level\":\"info\"}", 400,
                   "invalid_argument", "module");
    assert_refused(e, "PUT", "/admin/log/levels", alice, "{\"level\":\"info\",\"colour\":\"red\"}",
                   400, "unknown_field", "colour");
    assert_refused(e, "PUT", "/admin/log/levels", alice, "level=info", 400, "invalid_json", NULL);
    assert_refused(e, "POST", "/admin/reload", alice, "{\"force\":\"yes\"}", 400,
                   "invalid_argument", "force");

    /* a reload of the unchanged configuration */
    node = request(e, "POST", "/admin/reload", alice, NULL, 200);
    g_assert_true(json_object_has_member(json_node_get_object(node), "text"));
    json_node_free(node);
    node = request(e, "POST", "/admin/reload", alice, "{\"force\":false}", 200);
    json_node_free(node);
    g_assert_true(harness_wait_state(api_env_harness(e), "api-http", "running"));

    g_free(alice);
    api_env_stop(e);
}

/* The text between `from` and `to` (both must be there). */
static char *between(const char *text, const char *from, const char *to)
{
    const char *a = strstr(text, from);
    g_assert_nonnull(a);
    const char *b = strstr(a, to);
    g_assert_nonnull(b);
    return g_strndup(a, (gsize)(b - a));
}

static void test_bundle(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    char *alice = api_login(e, "alice", "pw-alice");
    api_download d = api_download_get(e, "/admin/bundle", alice);
    g_assert_cmpuint(d.status, ==, 200);
    g_assert_true(g_str_has_prefix(d.content_type, "text/plain"));
    g_assert_true(g_str_has_prefix(d.content_disposition, "attachment; filename=\"ucd-support-"));
    char *api = g_strndup(d.text, d.length);
    g_assert_true(g_str_has_prefix(api, "ucd support bundle\nversion: "));

    /* what `ucctl log export FILE` saves: the same modules and configuration
     * (the creation time and the log's tail move on) */
    harness *h = api_env_harness(e);
    char *file = g_build_filename(h->dir, "bundle.txt", NULL);
    const char *argv[] = {harness_env("UCCTL_BIN"), "log", "export", file, NULL};
    g_assert_cmpint(harness_run(h, argv, NULL, NULL), ==, 0);
    char *console = NULL;
    g_assert_true(g_file_get_contents(file, &console, NULL, NULL));
    char *a = between(api, "version: ", "created: "),
         *b = between(console, "version: ", "created: ");
    g_assert_cmpstr(a, ==, b);
    g_free(a);
    g_free(b);
    a = between(api, "\n== modules ==\n", "\n== recent log ==\n");
    b = between(console, "\n== modules ==\n", "\n== recent log ==\n");
    g_assert_cmpstr(a, ==, b);
    g_assert_nonnull(strstr(a, "api-http"));
    /* the token used for the download is in no bundle */
    g_assert_null(strstr(api, alice));
    g_free(a);
    g_free(b);

    g_free(console);
    g_free(file);
    g_free(api);
    api_download_clear(&d);
    g_free(alice);
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/admin/refused", test_refused);
    g_test_add_func("/api/admin/modules-counters-levels", test_modules_counters_levels);
    g_test_add_func("/api/admin/bundle", test_bundle);
    return g_test_run();
}
