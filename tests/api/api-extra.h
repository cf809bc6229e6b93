/*
 * api-extra.h - what test-api-journal.c and test-api-admin.c share beside
 * api-util.h: a GET whose answer is a file, not JSON (GET /journal.csv, GET
 * /admin/bundle) with the status, the headers a download is judged by and
 * the text; and a field of a ucctl reply (the call id of `sim call`, the
 * key `api keys create` shows once).
 */
#ifndef API_EXTRA_H
#define API_EXTRA_H

#include <string.h>

#include "api-util.h"

typedef struct api_download {
    guint status;
    char *content_type;        /* the Content-Type header, NULL when none */
    char *content_disposition; /* the Content-Disposition header, NULL when none */
    char *text;                /* the body ("" when empty) */
    gsize length;
} api_download;

/* GET `path` (under /api/v1) with `token` as bearer (NULL: none). */
static inline api_download api_download_get(api_env *e, const char *path, const char *token)
{
    api_download d = {0};
    SoupMessageHeaders *headers = NULL;
    JsonNode *node = api_req_full(e, "GET", path, token, NULL, NULL, &d.status, &headers);
    d.content_type = g_strdup(soup_message_headers_get_one(headers, "Content-Type"));
    d.content_disposition = g_strdup(soup_message_headers_get_one(headers, "Content-Disposition"));
    if (node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING)
        d.text = g_strdup(json_node_get_string(node));
    else
        d.text = node ? json_to_string(node, FALSE) : g_strdup("");
    d.length = strlen(d.text);
    if (node)
        json_node_unref(node);
    soup_message_headers_unref(headers);
    return d;
}

static inline void api_download_clear(api_download *d)
{
    g_free(d->content_type);
    g_free(d->content_disposition);
    g_free(d->text);
    memset(d, 0, sizeof *d);
}

/* The value of field `name` of a control reply (harness_request's node),
 * NULL when it has none. Owned by the node. */
static inline const char *api_reply_field(JsonNode *reply, const char *name)
{
    JsonObject *o = json_node_get_object(reply);
    JsonArray *fields =
        json_object_has_member(o, "fields") ? json_object_get_array_member(o, "fields") : NULL;
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (g_strcmp0(json_object_get_string_member(f, "name"), name) == 0)
            return json_object_get_string_member(f, "value");
    }
    return NULL;
}

/* A new API key NAME with `scopes` ("journal:read,analytics:read") made
 * with `ucctl api keys create`: the key (g_free). */
static inline char *api_new_key(api_env *e, const char *name, const char *scopes)
{
    const char *argv[] = {"api", "keys", "create", name, "--scope", scopes, NULL};
    JsonNode *r = harness_ok(api_env_harness(e), argv);
    char *key = g_strdup(api_reply_field(r, "key"));
    json_node_free(r);
    g_assert_nonnull(key);
    return key;
}

/* The route METHOD PATH ("get", "/journal/{uuid}") is in GET /openapi.json
 * with its own Operation Object (the text its file gives parsed: not the
 * "(undocumented)" stand-in) and its role. */
static inline void api_assert_documented(api_env *e, const char *method, const char *path,
                                         const char *role)
{
    guint status = 0;
    JsonNode *doc = api_req(e, "GET", "/openapi.json", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *paths = json_object_get_object_member(json_node_get_object(doc), "paths");
    if (!json_object_has_member(paths, path))
        g_error("%s is not in the OpenAPI document", path);
    JsonObject *op =
        json_object_get_object_member(json_object_get_object_member(paths, path), method);
    g_assert_nonnull(op);
    g_assert_cmpstr(json_object_get_string_member(op, "summary"), !=, "(undocumented)");
    g_assert_cmpstr(json_object_get_string_member(op, "x-ucd-role"), ==, role);
    g_assert_true(json_object_has_member(json_object_get_object_member(op, "responses"), "200"));
    json_node_unref(doc);
}

#endif /* API_EXTRA_H */
