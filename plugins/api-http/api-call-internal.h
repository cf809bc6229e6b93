/*
 * api-call-internal.h - how the router makes and runs an api_call (the
 * route files see only api-call.h).
 */
#ifndef API_CALL_INTERNAL_H
#define API_CALL_INTERNAL_H

#include <libsoup/soup.h>

#include "api-call.h"

/* A call of `def` for `msg`, with the decoded path parameters (`params`
 * taken; NULL: none). Holds one reference, the router's. */
api_call *api_call_new(api_ctx *ctx, SoupServerMessage *msg, const api_route_def *def,
                       gpointer data, GHashTable *params);
/* Moves `principal` into the call (zeroes it). */
void api_call_take_principal(api_call *call, api_principal *principal);
/* Runs the handler and drops the router's reference: a handler that neither
 * answered nor deferred gets a 500 answered for it. */
void api_call_run(api_call *call);
/* Drops a reference: the router's, for a call refused before its handler
 * (the gate answered it). */
void api_call_unref(api_call *call);
/* The body's bytes, valid while the call is (NULL and 0 when empty). */
const char *api_call_body_data(api_call *call, gsize *length);
/* Answers with JSON text as it is (NULL: no body). */
void api_call_respond_text(api_call *call, guint status, const char *json);
/* The route being called. */
const api_route_def *api_call_route(api_call *call);
/* The error shape as a node: {"error": {"code": code, "message": message}}. */
JsonNode *api_error_node(const char *code, const char *message);
/* Answers `msg` (not yet a call: a request the router refuses before any
 * route runs) with the error shape. */
void api_message_error(SoupServerMessage *msg, guint status, const char *code, const char *message);
/* Headers every API answer carries (no caching of personal data, no MIME
 * sniffing). */
void api_message_common_headers(SoupServerMessage *msg);

/* The member `name` of `object` when it is an object (an array), else NULL:
 * json-glib 1.6 has no _or_null getters. */
static inline JsonObject *api_json_object_member(JsonObject *object, const char *name)
{
    JsonNode *node = object ? json_object_get_member(object, name) : NULL;
    return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}
static inline JsonArray *api_json_array_member(JsonObject *object, const char *name)
{
    JsonNode *node = object ? json_object_get_member(object, name) : NULL;
    return node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

#endif /* API_CALL_INTERNAL_H */
