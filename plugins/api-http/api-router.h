/*
 * api-router.h - the route table of the client API: matches a request to a
 * route, runs the auth gate (token or API key -> principal, role, scope),
 * and dispatches to the handler. Routes come from api-http's own route
 * files and, through the SDK's http service, from other plugins.
 */
#ifndef API_ROUTER_H
#define API_ROUTER_H

#include <libsoup/soup.h>

#include "api-call.h"

api_router *api_router_new(api_ctx *ctx);
void api_router_free(api_router *router);

/* Adds `count` routes of a table, owned by `owner` (NULL: api-http itself),
 * with `data` for their handlers. FALSE and `error` for a bad or taken
 * route. */
gboolean api_router_add(api_router *router, const api_route_def *defs, gsize count, gpointer data,
                        gpointer owner, GError **error);
/* Removes every route of `owner`. */
void api_router_remove_owner(api_router *router, gpointer owner);

/* Handles one request under API_PREFIX (the server calls it from its
 * SoupServer handler, the message paused as needed). */
void api_router_dispatch(api_router *router, SoupServerMessage *msg, const char *path);

/* The merged OpenAPI document (every route's Operation Object under its
 * path and method, security and error responses added): a new node. */
JsonNode *api_router_openapi(api_router *router);

#endif /* API_ROUTER_H */
