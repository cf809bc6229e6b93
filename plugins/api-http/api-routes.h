/*
 * api-routes.h - the route files of api-http, one function each: adds the
 * file's routes (a static table of api_route_def) to the router. api-http.c
 * calls each at start, in this order; a FALSE stops the module's start with
 * `error`.
 *
 * Route owners implement their function in routes-NAME.c; api-parts.h (made
 * by meson) says which files exist, so the plugin links while they are being
 * written.
 */
#ifndef API_ROUTES_H
#define API_ROUTES_H

#include "api-router.h"

/* GET /me: the caller's own user, role and permissions summary. */
gboolean api_routes_me_register(api_router *r, api_ctx *ctx, GError **error);
/* /users, /groups, /lines: the directory as the caller may see it. */
gboolean api_routes_directory_register(api_router *r, api_ctx *ctx, GError **error);
/* /presence: read, set and clear presence. */
gboolean api_routes_presence_register(api_router *r, api_ctx *ctx, GError **error);
/* /calls: live legs and call control. */
gboolean api_routes_calls_register(api_router *r, api_ctx *ctx, GError **error);
/* /journal and /journal.csv: the call journal, paged and exported. */
gboolean api_routes_journal_register(api_router *r, api_ctx *ctx, GError **error);
/* /analytics/kpis: the exporter's KPIs as JSON. */
gboolean api_routes_analytics_register(api_router *r, api_ctx *ctx, GError **error);
/* /admin/...: modules, reload, log levels, support bundle (control service). */
gboolean api_routes_admin_register(api_router *r, api_ctx *ctx, GError **error);

/* GET /health and GET /openapi.json (api-openapi.c). */
gboolean api_routes_api_register(api_router *r, api_ctx *ctx, GError **error);

#endif /* API_ROUTES_H */
