/*
 * routes-check.h - what the tests of the me, directory, presence, calls and
 * permission routes share on top of api-util.h: reading answers, asserting
 * the error shape, ucctl in one line, and requests with headers (ETag).
 * Static functions in a header because tests/api/meson.build links each
 * test with api-util.c only.
 */
#ifndef ROUTES_CHECK_H
#define ROUTES_CHECK_H

#include <stdarg.h>
#include <string.h>

#include <libsoup/soup.h>

#include "api-util.h"
#include "harness.h"

/* api-http's configuration in these tests: alice (file:admins) is an
 * admin. */
#define ADMIN_CONFIG "admin_group = file:admins\n"

/* The tokens of the test users, logged in once per daemon. */
typedef struct tokens {
    char *alice; /* admin, line 201 */
    char *bob;   /* sales leader, line 202 */
    char *carol; /* sales (business on bob), line 203 */
    char *dave;  /* support (public on the others), line 204 */
} tokens;

static G_GNUC_UNUSED void tokens_login(api_env *e, tokens *t)
{
    t->alice = api_login(e, "alice", "pw-alice");
    t->bob = api_login(e, "bob", "pw-bob");
    t->carol = api_login(e, "carol", "pw-carol");
    t->dave = api_login(e, "dave", "pw-dave");
}

static G_GNUC_UNUSED void tokens_free(tokens *t)
{
    g_free(t->alice);
    g_free(t->bob);
    g_free(t->carol);
    g_free(t->dave);
}

static G_GNUC_UNUSED JsonObject *obj(JsonNode *node)
{
    g_assert_nonnull(node);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
    return json_node_get_object(node);
}

/* A string member, NULL when absent or not a string. */
static G_GNUC_UNUSED const char *str(JsonObject *o, const char *name)
{
    JsonNode *m = o ? json_object_get_member(o, name) : NULL;
    return m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_STRING
               ? json_node_get_string(m)
               : NULL;
}

static G_GNUC_UNUSED JsonArray *items_of(JsonNode *node)
{
    return json_object_get_array_member(obj(node), "items");
}

/* The element of `items` whose `member` is `value`, or NULL. */
static G_GNUC_UNUSED JsonObject *item_by(JsonArray *items, const char *member, const char *value)
{
    for (guint i = 0; items && i < json_array_get_length(items); i++) {
        JsonObject *o = json_array_get_object_element(items, i);
        if (g_strcmp0(str(o, member), value) == 0)
            return o;
    }
    return NULL;
}

/* A request that must answer `want`; the body (free it). */
static G_GNUC_UNUSED JsonNode *req_ok(api_env *e, const char *method, const char *path,
                                      const char *token, const char *body, guint want)
{
    guint status = 0;
    JsonNode *node = api_req(e, method, path, token, body, &status);
    /* api_req may take JSON for text when the body's bytes are not
     * NUL-terminated (json_from_string on GBytes): parse it again */
    if (node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING) {
        JsonNode *parsed = json_from_string(json_node_get_string(node), NULL);
        if (parsed) {
            json_node_free(node);
            node = parsed;
        }
    }
    if (status != want) {
        char *text = node ? json_to_string(node, FALSE) : g_strdup("(no body)");
        g_error("%s %s: %u, wanted %u: %s", method, path, status, want, text);
    }
    return node;
}

/* The error shape with `want` and `code` (NULL: any); `needle` (NULL: any) in the
 * message. Frees the node. */
static G_GNUC_UNUSED void expect_error(api_env *e, const char *method, const char *path,
                                       const char *token, const char *body, guint want,
                                       const char *code, const char *needle)
{
    JsonNode *node = req_ok(e, method, path, token, body, want);
    JsonObject *err = node && JSON_NODE_HOLDS_OBJECT(node) &&
                              json_object_has_member(json_node_get_object(node), "error")
                          ? json_object_get_object_member(json_node_get_object(node), "error")
                          : NULL;
    if (err == NULL) {
        char *text = node ? json_to_string(node, FALSE) : g_strdup("(no body)");
        g_error("%s %s: %u without the error shape: %s", method, path, want, text);
    }
    if ((code && g_strcmp0(str(err, "code"), code) != 0) ||
        (needle && !strstr(str(err, "message") ? str(err, "message") : "", needle)))
        g_error("%s %s %s: code %s, message '%s'; wanted %s with '%s'", method, path,
                body ? body : "", str(err, "code"), str(err, "message"), code,
                needle ? needle : "");
    json_node_free(node);
}

/* ucctl ARGS... (NULL-terminated) that must succeed; the reply. */
static G_GNUC_UNUSED JsonNode *ctl(api_env *e, const char *first, ...)
{
    GPtrArray *argv = g_ptr_array_new();
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    JsonNode *r = harness_ok(api_env_harness(e), (const char *const *)argv->pdata);
    g_ptr_array_free(argv, TRUE);
    return r;
}

/* A named field of a ucctl reply ("fields": [{name, value}]), or NULL. */
static G_GNUC_UNUSED char *ctl_field(JsonNode *r, const char *name)
{
    JsonObject *o = json_node_get_object(r);
    JsonArray *fields =
        json_object_has_member(o, "fields") ? json_object_get_array_member(o, "fields") : NULL;
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (g_strcmp0(str(f, "name"), name) == 0)
            return g_strdup(str(f, "value"));
    }
    return NULL;
}

/* Whether any row of a ucctl table reply has `value` in some cell. */
static G_GNUC_UNUSED gboolean ctl_rows_have(JsonNode *r, const char *value)
{
    JsonObject *o = json_node_get_object(r);
    JsonArray *rows =
        json_object_has_member(o, "rows") ? json_object_get_array_member(o, "rows") : NULL;
    for (guint i = 0; rows && i < json_array_get_length(rows); i++) {
        JsonArray *row = json_array_get_array_element(rows, i);
        for (guint j = 0; j < json_array_get_length(row); j++)
            if (g_strcmp0(json_array_get_string_element(row, j), value) == 0)
                return TRUE;
    }
    return FALSE;
}

/* An API key made with ucctl: `scopes` comma-separated, `users` NULL for
 * none. The key (g_free). */
static G_GNUC_UNUSED char *make_key(api_env *e, const char *name, const char *scopes,
                                    const char *users)
{
    JsonNode *r =
        users ? ctl(e, "api", "keys", "create", name, "--scope", scopes, "--users", users, NULL)
              : ctl(e, "api", "keys", "create", name, "--scope", scopes, NULL);
    char *key = ctl_field(r, "key");
    g_assert_nonnull(key);
    json_node_free(r);
    return key;
}

/* GET `path` with If-None-Match `etag` (NULL: none) on a raw libsoup
 * session: the status, and the answer's ETag into *etag_out (g_free). */
static G_GNUC_UNUSED guint get_etag(api_env *e, const char *path, const char *token,
                                    const char *etag, char **etag_out)
{
    SoupSession *session = soup_session_new();
    char *url = g_strconcat(api_env_base_url(e), path, NULL);
    SoupMessage *msg = soup_message_new("GET", url);
    char *auth = g_strconcat("Bearer ", token, NULL);
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", auth);
    if (etag)
        soup_message_headers_replace(soup_message_get_request_headers(msg), "If-None-Match", etag);
    GBytes *body = soup_session_send_and_read(session, msg, NULL, NULL);
    guint status = soup_message_get_status(msg);
    if (etag_out)
        *etag_out =
            g_strdup(soup_message_headers_get_one(soup_message_get_response_headers(msg), "ETag"));
    if (body)
        g_bytes_unref(body);
    g_free(auth);
    g_free(url);
    g_object_unref(msg);
    g_object_unref(session);
    return status;
}

/* Waits (up to 10 s) until GET `path` as `token` holds an item whose
 * `member` is `value` (`present`) or none (!present); the last answer. */
static G_GNUC_UNUSED JsonNode *wait_item(api_env *e, const char *path, const char *token,
                                         const char *member, const char *value, gboolean present)
{
    for (int i = 0; i < 500; i++) {
        JsonNode *node = req_ok(e, "GET", path, token, NULL, 200);
        if ((item_by(items_of(node), member, value) != NULL) == present)
            return node;
        json_node_free(node);
        g_usleep(20000);
    }
    g_error("GET %s never %s %s=%s", path, present ? "held" : "lost", member, value);
    return NULL;
}

#endif /* ROUTES_CHECK_H */
