/*
 * api-http-service.h - the SDK's "http" service (ucd/http.h) over the
 * router: other plugins add routes with their OpenAPI part; a module's routes
 * go when it stops.
 */
#ifndef API_HTTP_SERVICE_H
#define API_HTTP_SERVICE_H

#include "api-http.h"

typedef struct api_http_service api_http_service;

/* The service over ctx->router; watches module states from here on. */
api_http_service *api_http_service_new(api_ctx *ctx);
/* Stops watching module states (the stop hook: the core drops a module's
 * subscriptions after it). */
void api_http_service_stop(api_http_service *service);
/* Removes every route added through it. */
void api_http_service_free(api_http_service *service);
/* The table to register as "http" 1 with `service` as impl. */
const ucd_http_v1 *api_http_service_iface(void);
/* Routes added through the service now (all owners). */
guint api_http_service_route_count(api_http_service *service);

#endif /* API_HTTP_SERVICE_H */
