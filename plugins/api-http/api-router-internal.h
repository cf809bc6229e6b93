/*
 * api-router-internal.h - what the OpenAPI document needs of the router.
 */
#ifndef API_ROUTER_INTERNAL_H
#define API_ROUTER_INTERNAL_H

#include "api-router.h"

/* Each route, in the order added. `owner` is the module that added it (NULL:
 * api-http itself). */
typedef void (*api_route_cb)(const api_route_def *def, gpointer owner, gpointer data);
void api_router_foreach(api_router *router, api_route_cb cb, gpointer data);

/* TRUE when a token may come as ?token= for this route: a GET whose OpenAPI
 * 200 answer is a file (a content type other than JSON: a CSV download, a
 * support bundle), which a browser fetches by a plain link. */
gboolean api_route_is_download(const api_route_def *def);

#endif /* API_ROUTER_INTERNAL_H */
