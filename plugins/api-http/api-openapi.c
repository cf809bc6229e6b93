/*
 * api-openapi.c - the merged OpenAPI 3.1 document (api_router_openapi) and
 * api-http's own routes: GET /openapi.json and GET /health.
 *
 * Each route brings its Operation Object; the merge adds what api-http does
 * around every handler, so the route files need not repeat it: the path
 * parameters the path names, the security requirement (none for ANYONE,
 * the bearer token else), the role and API-key scope (x-ucd-role,
 * x-ucd-scope), and the error answers in the one error shape. Paths are
 * sorted, so the document does not depend on the order modules started.
 */
#include <string.h>

#include "api-call-internal.h"
#include "api-router-internal.h"
#include "api-routes.h"

#define OPENAPI_VERSION "3.1.0"
#define API_VERSION     "1.0.0"

static const char *const role_names[] = {"anyone", "user", "leader", "admin"};

static JsonNode *parse_object(const char *text)
{
    JsonNode *node = text ? json_from_string(text, NULL) : NULL;
    if (node && JSON_NODE_HOLDS_OBJECT(node))
        return node;
    if (node)
        json_node_unref(node);
    return NULL;
}

static JsonObject *error_ref(const char *description)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "description", description);
    JsonObject *content = json_object_new();
    JsonObject *json = json_object_new();
    JsonObject *schema = json_object_new();
    json_object_set_string_member(schema, "$ref", "#/components/schemas/Error");
    json_object_set_object_member(json, "schema", schema);
    json_object_set_object_member(content, "application/json", json);
    json_object_set_object_member(o, "content", content);
    return o;
}

static void add_error(JsonObject *responses, const char *status, const char *description)
{
    if (!json_object_has_member(responses, status))
        json_object_set_object_member(responses, status, error_ref(description));
}

/* The parameters the path names and the operation does not declare. */
static void add_path_params(JsonObject *op, const char *path)
{
    JsonArray *params = api_json_array_member(op, "parameters");
    if (params == NULL) {
        params = json_array_new();
        json_object_set_array_member(op, "parameters", params);
    }
    char **segments = g_strsplit(path, "/", -1);
    for (char **s = segments; *s; s++) {
        gsize n = strlen(*s);
        if (n < 3 || (*s)[0] != '{')
            continue;
        char *name = g_strndup(*s + 1, n - 2);
        gboolean declared = FALSE;
        for (guint i = 0; i < json_array_get_length(params) && !declared; i++) {
            JsonObject *p = json_array_get_object_element(params, i);
            declared =
                p &&
                g_strcmp0(json_object_get_string_member_with_default(p, "name", ""), name) == 0 &&
                g_strcmp0(json_object_get_string_member_with_default(p, "in", ""), "path") == 0;
        }
        if (!declared) {
            JsonObject *p = json_object_new();
            json_object_set_string_member(p, "name", name);
            json_object_set_string_member(p, "in", "path");
            json_object_set_boolean_member(p, "required", TRUE);
            JsonObject *schema = json_object_new();
            json_object_set_string_member(schema, "type", "string");
            json_object_set_object_member(p, "schema", schema);
            json_array_add_object_element(params, p);
        }
        g_free(name);
    }
    g_strfreev(segments);
    if (json_array_get_length(params) == 0)
        json_object_remove_member(op, "parameters");
}

static JsonObject *operation_of(const api_route_def *def)
{
    JsonNode *node = parse_object(def->openapi);
    JsonObject *op;
    if (node) {
        op = json_object_ref(json_node_get_object(node));
        json_node_unref(node);
    } else {
        op = json_object_new();
        json_object_set_string_member(op, "summary", "(undocumented)");
    }
    add_path_params(op, def->path);
    JsonArray *security = json_array_new();
    if (def->role > UCD_HTTP_ROLE_ANYONE) {
        JsonObject *bearer = json_object_new();
        json_object_set_array_member(bearer, "bearer", json_array_new());
        json_array_add_object_element(security, bearer);
    }
    json_object_set_array_member(op, "security", security);
    json_object_set_string_member(op, "x-ucd-role",
                                  role_names[MIN(def->role, G_N_ELEMENTS(role_names) - 1)]);
    if (def->scope)
        json_object_set_string_member(op, "x-ucd-scope", def->scope);
    JsonObject *responses = api_json_object_member(op, "responses");
    if (responses == NULL) {
        responses = json_object_new();
        JsonObject *ok = json_object_new();
        json_object_set_string_member(ok, "description", "success");
        json_object_set_object_member(responses, "200", ok);
        json_object_set_object_member(op, "responses", responses);
    }
    if (def->role > UCD_HTTP_ROLE_ANYONE) {
        add_error(responses, "401", "no token, or one that is expired, revoked or forged");
        add_error(responses, "403", "the caller's role, scope or permission level is too low");
    }
    add_error(responses, "default", "an error, in the API's one error shape");
    return op;
}

typedef struct merge {
    GTree *paths; /* path -> JsonObject (method -> operation) */
} merge;

static void add_route(const api_route_def *def, gpointer owner, gpointer data)
{
    (void)owner;
    merge *m = data;
    JsonObject *item = g_tree_lookup(m->paths, def->path);
    if (item == NULL) {
        item = json_object_new();
        g_tree_insert(m->paths, g_strdup(def->path), item);
    }
    char *method = g_ascii_strdown(def->method, -1);
    json_object_set_object_member(item, method, operation_of(def));
    g_free(method);
}

static gboolean put_path(gpointer key, gpointer value, gpointer data)
{
    json_object_set_object_member(data, key, json_object_ref(value));
    return FALSE;
}

static JsonObject *components(void)
{
    JsonNode *node = json_from_string(
        "{\"securitySchemes\":{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\","
        "\"description\":\"An access token from POST /auth/login, or an API key made with "
        "`ucctl api keys create`. Downloads (a 200 answer that is a file) and the WebSocket "
        "at /events also take it as ?token=.\"}},"
        "\"schemas\":{\"Error\":{\"type\":\"object\",\"required\":[\"error\"],"
        "\"properties\":{\"error\":{\"type\":\"object\",\"required\":[\"code\",\"message\"],"
        "\"properties\":{\"code\":{\"type\":\"string\",\"description\":\"a stable word a client "
        "may branch on; docs/api/errors.md lists them\",\"enum\":[\"bad_request\","
        "\"invalid_json\",\"invalid_argument\",\"unknown_field\",\"unauthenticated\","
        "\"token_expired\",\"forbidden\",\"not_found\",\"method_not_allowed\",\"conflict\","
        "\"payload_too_large\",\"unsupported\",\"rate_limited\",\"unavailable\",\"internal\"]},"
        "\"message\":{\"type\":\"string\",\"description\":\"what is wrong, for people\"}}}}},"
        "\"List\":{\"type\":\"object\",\"required\":[\"items\",\"total\",\"next\"],"
        "\"properties\":{\"items\":{\"type\":\"array\"},\"total\":{\"type\":\"integer\"},"
        "\"next\":{\"type\":[\"string\",\"null\"],\"description\":\"pass as ?after= for the "
        "next page; null on the last\"}}}}}",
        NULL);
    JsonObject *o = json_object_ref(json_node_get_object(node));
    json_node_unref(node);
    return o;
}

/* The WebSocket is no route of the router: the stream owns it. */
static JsonObject *events_item(void)
{
    JsonNode *node = json_from_string(
        "{\"get\":{\"summary\":\"The event stream (WebSocket)\",\"description\":\"Upgrade to a "
        "WebSocket; JSON text messages both ways: subscribe by kind, events with sequence "
        "numbers, resume after a reconnect. The protocol is in docs/api/events.md.\","
        "\"parameters\":[{\"name\":\"token\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
        "\"description\":\"the token, for clients that cannot set Authorization\"}],"
        "\"security\":[{\"bearer\":[]}],\"x-ucd-role\":\"user\",\"x-ucd-scope\":\"events:read\","
        "\"responses\":{\"101\":{\"description\":\"switching to the WebSocket protocol\"},"
        "\"401\":{\"description\":\"no valid token\",\"content\":{\"application/json\":"
        "{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}}}}}",
        NULL);
    JsonObject *o = json_object_ref(json_node_get_object(node));
    json_node_unref(node);
    return o;
}

static gint compare_paths(gconstpointer a, gconstpointer b, gpointer data)
{
    (void)data;
    return strcmp(a, b);
}

JsonNode *api_router_openapi(api_router *router)
{
    merge m = {g_tree_new_full(compare_paths, NULL, g_free, (GDestroyNotify)json_object_unref)};
    api_router_foreach(router, add_route, &m);
    g_tree_insert(m.paths, g_strdup("/events"), events_item());

    JsonObject *doc = json_object_new();
    json_object_set_string_member(doc, "openapi", OPENAPI_VERSION);
    JsonObject *info = json_object_new();
    json_object_set_string_member(info, "title", "ucd client API");
    json_object_set_string_member(info, "version", API_VERSION);
    json_object_set_string_member(
        info, "description",
        "REST and WebSocket API of ucd (plugin api-http): presence, calls, the journal and the "
        "directory, as each caller may see them. Errors: {\"error\":{\"code\",\"message\"}}; "
        "lists: {\"items\",\"total\",\"next\"}.");
    json_object_set_object_member(doc, "info", info);
    JsonArray *servers = json_array_new();
    JsonObject *server = json_object_new();
    json_object_set_string_member(server, "url", API_PREFIX);
    json_array_add_object_element(servers, server);
    json_object_set_array_member(doc, "servers", servers);
    JsonObject *paths = json_object_new();
    g_tree_foreach(m.paths, put_path, paths);
    g_tree_destroy(m.paths);
    json_object_set_object_member(doc, "paths", paths);
    json_object_set_object_member(doc, "components", components());
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, doc);
    return node;
}

/* ---- GET /openapi.json, GET /health ---- */

static void get_openapi(api_call *call, gpointer data)
{
    api_call_respond_etag(call, api_router_openapi(data));
}

static void get_health(api_call *call, gpointer data)
{
    (void)data;
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "status", "ok");
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    api_call_respond(call, SOUP_STATUS_OK, node);
}

static const api_route_def api_routes[] = {
    {"GET", "/openapi.json", UCD_HTTP_ROLE_ANYONE, NULL,
     "{\"summary\":\"This document\",\"description\":\"The OpenAPI 3.1 document of every route "
     "api-http and other plugins serve now.\",\"responses\":{\"200\":{\"description\":\"the "
     "document\",\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\"}}}},"
     "\"304\":{\"description\":\"unchanged (If-None-Match)\"}}}",
     get_openapi},
    {"GET", "/health", UCD_HTTP_ROLE_ANYONE, NULL,
     "{\"summary\":\"Liveness\",\"description\":\"200 while api-http runs; for load "
     "balancers and monitoring, no token needed.\",\"responses\":{\"200\":{\"description\":"
     "\"running\",\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\","
     "\"properties\":{\"status\":{\"const\":\"ok\"}}}}}}}}",
     get_health},
};

gboolean api_routes_api_register(api_router *r, api_ctx *ctx, GError **error)
{
    (void)ctx;
    return api_router_add(r, api_routes, G_N_ELEMENTS(api_routes), r, NULL, error);
}
