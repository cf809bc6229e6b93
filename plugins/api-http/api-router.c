/*
 * api-router.c - the route table and the auth gate (api-router.h).
 *
 * A route is a method and a path of segments, each a literal or a {param}.
 * A request is matched segment by segment; of the routes that match, the one
 * with a literal at the first place where they differ wins ("/users/search"
 * over "/users/{id}"). A path that some route matches with another method is
 * 405 with Allow, else 404. Before the handler the gate turns the bearer
 * token into a principal (api_auth_resolve) and checks the route's role, or
 * for an API key its scope.
 */
#include "api-router-internal.h"

#include <string.h>

#include "api-auth.h"
#include "api-call-internal.h"

typedef struct route {
    const api_route_def *def;
    gpointer data;
    gpointer owner;
    char **segments; /* NULL-terminated; "{name}" for a parameter */
    guint count;
    gboolean download;
} route;

struct api_router {
    api_ctx *ctx;
    GPtrArray *routes; /* route*, in the order added */
};

static void route_free(gpointer p)
{
    route *r = p;
    g_strfreev(r->segments);
    g_free(r);
}

api_router *api_router_new(api_ctx *ctx)
{
    api_router *router = g_new0(api_router, 1);
    router->ctx = ctx;
    router->routes = g_ptr_array_new_with_free_func(route_free);
    return router;
}

void api_router_free(api_router *router)
{
    if (router == NULL)
        return;
    g_ptr_array_unref(router->routes);
    g_free(router);
}

static gboolean is_param(const char *segment)
{
    return segment[0] == '{';
}

static gboolean valid_param(const char *segment)
{
    gsize n = strlen(segment);
    if (n < 3 || segment[n - 1] != '}')
        return FALSE;
    for (gsize i = 1; i + 1 < n; i++)
        if (!g_ascii_isalnum(segment[i]) && segment[i] != '_')
            return FALSE;
    return TRUE;
}

static gboolean valid_literal(const char *segment)
{
    if (segment[0] == '\0' || strcmp(segment, ".") == 0 || strcmp(segment, "..") == 0)
        return FALSE;
    for (const char *p = segment; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("-._~", *p))
            return FALSE;
    return TRUE;
}

static gboolean valid_method(const char *method)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
    return method && g_strv_contains(methods, method);
}

/* Splits "/a/{b}" into {"a", "{b}"}: NULL when it is not a route path. */
static char **split_route(const char *path, GError **error)
{
    if (path == NULL || path[0] != '/' || path[1] == '\0') {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "route path \"%s\" must start with '/' and name a resource",
                    path ? path : "(null)");
        return NULL;
    }
    char **segments = g_strsplit(path + 1, "/", -1);
    for (guint i = 0; segments[i]; i++) {
        const char *s = segments[i];
        gboolean ok = is_param(s) ? valid_param(s) : valid_literal(s);
        for (guint j = 0; ok && j < i; j++)
            ok = !(is_param(s) && strcmp(segments[j], s) == 0);
        if (!ok) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "route path \"%s\": segment \"%s\" is neither a plain word nor a "
                        "{parameter} (letters, digits, '_'), or repeats a parameter",
                        path, s);
            g_strfreev(segments);
            return NULL;
        }
    }
    return segments;
}

/* Same method and the same literals at the same places: the same route,
 * whatever its parameters are called. */
static gboolean same_shape(const route *a, const char *method, char **segments, guint count)
{
    if (a->count != count || strcmp(a->def->method, method) != 0)
        return FALSE;
    for (guint i = 0; i < count; i++) {
        gboolean pa = is_param(a->segments[i]), pb = is_param(segments[i]);
        if (pa != pb || (!pa && strcmp(a->segments[i], segments[i]) != 0))
            return FALSE;
    }
    return TRUE;
}

/* The 200 answer's content types name something other than JSON. */
gboolean api_route_is_download(const api_route_def *def)
{
    if (def->openapi == NULL || strcmp(def->method, "GET") != 0)
        return FALSE;
    JsonNode *root = json_from_string(def->openapi, NULL);
    gboolean file = FALSE;
    if (root && JSON_NODE_HOLDS_OBJECT(root)) {
        JsonObject *op = json_node_get_object(root);
        JsonObject *responses = api_json_object_member(op, "responses");
        JsonObject *ok = responses ? api_json_object_member(responses, "200") : NULL;
        JsonObject *content = ok ? api_json_object_member(ok, "content") : NULL;
        GList *types = content ? json_object_get_members(content) : NULL;
        for (GList *t = types; t; t = t->next)
            if (!g_str_has_prefix(t->data, "application/json"))
                file = TRUE;
        g_list_free(types);
    }
    if (root)
        json_node_unref(root);
    return file;
}

static gboolean check_def(const api_route_def *def, GError **error)
{
    if (!valid_method(def->method)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "route %s: method \"%s\" is not GET, POST, PUT, PATCH or DELETE",
                    def->path ? def->path : "(null)", def->method ? def->method : "(null)");
        return FALSE;
    }
    if (def->handler == NULL || def->role > UCD_HTTP_ROLE_ADMIN) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "route %s %s: %s", def->method,
                    def->path ? def->path : "(null)", def->handler ? "unknown role" : "no handler");
        return FALSE;
    }
    if (def->openapi) {
        GError *json_error = NULL;
        JsonNode *node = json_from_string(def->openapi, &json_error);
        gboolean object = node && JSON_NODE_HOLDS_OBJECT(node);
        if (!object)
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "route %s %s: the OpenAPI text is not a JSON object%s%s", def->method,
                        def->path, json_error ? ": " : "", json_error ? json_error->message : "");
        g_clear_error(&json_error);
        if (node)
            json_node_unref(node);
        if (!object)
            return FALSE;
    }
    return TRUE;
}

gboolean api_router_add(api_router *router, const api_route_def *defs, gsize count, gpointer data,
                        gpointer owner, GError **error)
{
    guint first = router->routes->len;
    for (gsize i = 0; i < count; i++) {
        const api_route_def *def = &defs[i];
        char **segments = check_def(def, error) ? split_route(def->path, error) : NULL;
        if (segments == NULL)
            goto undo;
        guint n = g_strv_length(segments);
        for (guint j = 0; j < router->routes->len; j++) {
            if (same_shape(router->routes->pdata[j], def->method, segments, n)) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "route %s %s is taken",
                            def->method, def->path);
                g_strfreev(segments);
                goto undo;
            }
        }
        route *r = g_new0(route, 1);
        r->def = def;
        r->data = data;
        r->owner = owner;
        r->segments = segments;
        r->count = n;
        r->download = api_route_is_download(def);
        g_ptr_array_add(router->routes, r);
    }
    return TRUE;
undo:
    g_ptr_array_remove_range(router->routes, first, router->routes->len - first);
    return FALSE;
}

void api_router_remove_owner(api_router *router, gpointer owner)
{
    for (guint i = router->routes->len; i-- > 0;)
        if (((route *)router->routes->pdata[i])->owner == owner)
            g_ptr_array_remove_index(router->routes, i);
}

void api_router_foreach(api_router *router, api_route_cb cb, gpointer data)
{
    for (guint i = 0; i < router->routes->len; i++) {
        route *r = router->routes->pdata[i];
        cb(r->def, r->owner, data);
    }
}

/* ---- matching ---- */

/* TRUE when `r` matches the decoded segments. */
static gboolean matches(const route *r, char **segments, guint count)
{
    if (r->count != count)
        return FALSE;
    for (guint i = 0; i < count; i++)
        if (!is_param(r->segments[i]) && strcmp(r->segments[i], segments[i]) != 0)
            return FALSE;
    return TRUE;
}

/* TRUE when `a` is more specific than `b` (a literal first where they
 * differ). */
static gboolean more_specific(const route *a, const route *b)
{
    for (guint i = 0; i < a->count; i++) {
        gboolean pa = is_param(a->segments[i]), pb = is_param(b->segments[i]);
        if (pa != pb)
            return !pa;
    }
    return FALSE;
}

/* The request path after API_PREFIX as segments. libsoup hands the path
 * over percent-decoded already (and answers 400 itself for an escape that
 * does not decode or decodes to NUL), and GUri removed "." and ".."
 * segments: what is left to refuse here is an empty segment ("//", a
 * trailing '/') and a dot segment that came in some other way. NULL and
 * the reason in *why. */
static char **split_request(const char *path, char **why)
{
    if (path[0] != '/') {
        *why = g_strdup("the path must start with /api/v1/");
        return NULL;
    }
    char **out = g_strsplit(path + 1, "/", -1);
    for (guint i = 0; out[i]; i++) {
        if (out[i][0] == '\0' || strcmp(out[i], ".") == 0 || strcmp(out[i], "..") == 0) {
            *why = g_strdup_printf("empty, \".\" or \"..\" path segments are not allowed: %s%s",
                                   API_PREFIX, path);
            g_strfreev(out);
            return NULL;
        }
    }
    return out;
}

static const char *role_name(guint role)
{
    static const char *const names[] = {"anyone", "user", "leader", "admin"};
    return role < G_N_ELEMENTS(names) ? names[role] : "unknown";
}

/* The bearer token: the Authorization header, or ?token= where the route
 * allows it (the WebSocket handles its own). */
static const char *find_token(SoupServerMessage *msg, const route *r, gboolean *malformed)
{
    *malformed = FALSE;
    const char *auth =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
    if (auth) {
        if (g_ascii_strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
            *malformed = TRUE;
            return NULL;
        }
        const char *t = auth + 7;
        while (*t == ' ')
            t++;
        return t;
    }
    if (r->download) {
        const char *q = g_uri_get_query(soup_server_message_get_uri(msg));
        GHashTable *params = q ? g_uri_parse_params(q, -1, "&", G_URI_PARAMS_WWW_FORM, NULL) : NULL;
        const char *t = params ? g_hash_table_lookup(params, "token") : NULL;
        if (t) {
            /* Kept with the message, so it lives as long as the request. */
            char *copy = g_strdup(t);
            g_object_set_data_full(G_OBJECT(msg), "api-token", copy, g_free);
            t = copy;
        }
        if (params)
            g_hash_table_unref(params);
        return t;
    }
    return NULL;
}

/* Resolves the token and checks role or scope. FALSE after answering. */
static gboolean gate(api_router *router, SoupServerMessage *msg, const route *r, api_call *call)
{
    gboolean malformed = FALSE;
    const char *token = find_token(msg, r, &malformed);
    const api_route_def *def = r->def;
    if (malformed && def->role > UCD_HTTP_ROLE_ANYONE) {
        api_call_error(call, SOUP_STATUS_UNAUTHORIZED, API_ERR_UNAUTHENTICATED,
                       "the Authorization header must be \"Bearer TOKEN\"");
        return FALSE;
    }
    if (token == NULL) {
        if (def->role == UCD_HTTP_ROLE_ANYONE)
            return TRUE;
        api_call_error(call, SOUP_STATUS_UNAUTHORIZED, API_ERR_UNAUTHENTICATED,
                       "%s %s needs a token: send \"Authorization: Bearer TOKEN\"", def->method,
                       API_PREFIX);
        return FALSE;
    }
    api_principal principal = {0};
    const char *code = API_ERR_UNAUTHENTICATED;
    char *message = NULL;
    gboolean ok = router->ctx->auth != NULL &&
                  api_auth_resolve(router->ctx->auth, token, api_call_address(call), &principal,
                                   &code, &message);
    if (!ok) {
        if (def->role == UCD_HTTP_ROLE_ANYONE) {
            g_free(message);
            return TRUE; /* a stale token does not keep anyone from logging in */
        }
        api_call_error(call, SOUP_STATUS_UNAUTHORIZED, code ? code : API_ERR_UNAUTHENTICATED, "%s",
                       message ? message : "the token is not valid");
        g_free(message);
        return FALSE;
    }
    g_free(message);
    api_call_take_principal(call, &principal);
    const api_principal *p = api_call_principal(call);
    if (p->user_id == NULL) { /* an API key: its scopes decide */
        if (def->role == UCD_HTTP_ROLE_ANYONE)
            return TRUE;
        if (def->scope == NULL) {
            api_call_error(call, SOUP_STATUS_FORBIDDEN, API_ERR_FORBIDDEN,
                           "API keys may not call %s %s%s", def->method, API_PREFIX, def->path);
            return FALSE;
        }
        if (p->scopes == NULL || !g_strv_contains((const char *const *)p->scopes, def->scope)) {
            api_call_error(call, SOUP_STATUS_FORBIDDEN, API_ERR_FORBIDDEN,
                           "API key \"%s\" lacks the scope \"%s\" for %s %s%s",
                           p->key_name ? p->key_name : "?", def->scope, def->method, API_PREFIX,
                           def->path);
            return FALSE;
        }
        return TRUE;
    }
    if (p->role < def->role) {
        api_call_error(call, SOUP_STATUS_FORBIDDEN, API_ERR_FORBIDDEN,
                       "%s %s%s needs the role %s; %s has the role %s", def->method, API_PREFIX,
                       def->path, role_name(def->role), p->login ? p->login : p->user_id,
                       role_name(p->role));
        return FALSE;
    }
    return TRUE;
}

static void answer_405(SoupServerMessage *msg, GPtrArray *methods)
{
    GString *allow = g_string_new(NULL);
    for (guint i = 0; i < methods->len; i++)
        g_string_append_printf(allow, "%s%s", i ? ", " : "", (char *)methods->pdata[i]);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                 allow->str);
    char *text = g_strdup_printf("%s is not allowed here; allowed: %s",
                                 soup_server_message_get_method(msg), allow->str);
    api_message_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, API_ERR_METHOD, text);
    g_free(text);
    g_string_free(allow, TRUE);
}

void api_router_dispatch(api_router *router, SoupServerMessage *msg, const char *path)
{
    char *why = NULL;
    char **segments = split_request(path, &why);
    if (segments == NULL) {
        api_message_error(msg, SOUP_STATUS_BAD_REQUEST, API_ERR_BAD_REQUEST, why);
        g_free(why);
        return;
    }
    const char *q = g_uri_get_query(soup_server_message_get_uri(msg));
    if (q && *q) {
        GHashTable *params = g_uri_parse_params(q, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
        if (params == NULL) {
            api_message_error(msg, SOUP_STATUS_BAD_REQUEST, API_ERR_BAD_REQUEST,
                              "the query string does not decode");
            g_strfreev(segments);
            return;
        }
        g_hash_table_unref(params);
    }
    guint count = g_strv_length(segments);
    const char *method = soup_server_message_get_method(msg);
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    route *best = NULL;
    GPtrArray *methods = g_ptr_array_new();
    for (guint i = 0; i < router->routes->len; i++) {
        route *r = router->routes->pdata[i];
        if (!matches(r, segments, count))
            continue;
        if (strcmp(r->def->method, method) != 0) {
            if (!g_ptr_array_find_with_equal_func(methods, r->def->method, g_str_equal, NULL))
                g_ptr_array_add(methods, (gpointer)r->def->method);
            continue;
        }
        if (best == NULL || more_specific(r, best))
            best = r;
    }
    if (best == NULL) {
        if (methods->len)
            answer_405(msg, methods);
        else {
            char *text = g_strdup_printf("no resource %s%s", API_PREFIX, path);
            api_message_error(msg, SOUP_STATUS_NOT_FOUND, API_ERR_NOT_FOUND, text);
            g_free(text);
        }
        g_ptr_array_unref(methods);
        g_strfreev(segments);
        return;
    }
    g_ptr_array_unref(methods);

    GHashTable *params = NULL;
    for (guint i = 0; i < count; i++) {
        const char *s = best->segments[i];
        if (!is_param(s))
            continue;
        if (params == NULL)
            params = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_hash_table_insert(params, g_strndup(s + 1, strlen(s) - 2), g_strdup(segments[i]));
    }
    g_strfreev(segments);
    api_call *call = api_call_new(router->ctx, msg, best->def, best->data, params);
    if (gate(router, msg, best, call))
        api_call_run(call);
    else
        api_call_unref(call);
}
