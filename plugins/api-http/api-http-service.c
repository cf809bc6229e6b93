/*
 * api-http-service.c - see api-http-service.h.
 *
 * A route added through the service is a copy (the caller's strings may go)
 * with an api_route_def the router points to. Removed routes are kept until
 * the service is freed: a deferred call of a stopped module still reads its
 * route when it is answered.
 */
#include "api-http-service.h"

#include <string.h>

#include "api-call-internal.h"
#include "api-router.h"

typedef struct sdk_route {
    api_route_def def;
    char *method, *path, *scope, *openapi;
    ucd_http_handler handler;
    void *user_data;
    ucd_plugin *owner;
    char *owner_id;
} sdk_route;

struct api_http_service {
    api_ctx *ctx;
    GPtrArray *routes;  /* sdk_route* in the router */
    GPtrArray *retired; /* sdk_route* removed, freed with the service */
    ucd_subscription *subscription;
};

static void sdk_route_free(gpointer p)
{
    sdk_route *r = p;
    g_free(r->method);
    g_free(r->path);
    g_free(r->scope);
    g_free(r->openapi);
    g_free(r->owner_id);
    g_free(r);
}

static void run_sdk_route(api_call *call, gpointer data)
{
    sdk_route *r = data;
    r->handler((ucd_http_call *)call, r->user_data);
}

static void remove_owner(api_http_service *s, ucd_plugin *owner, const char *owner_id)
{
    gboolean any = FALSE;
    for (guint i = s->routes->len; i-- > 0;) {
        sdk_route *r = s->routes->pdata[i];
        if (owner ? r->owner != owner : strcmp(r->owner_id, owner_id) != 0)
            continue;
        if (!any)
            api_router_remove_owner(s->ctx->router, r->owner);
        any = TRUE;
        g_ptr_array_add(s->retired, g_ptr_array_steal_index(s->routes, i));
    }
    if (any)
        ucd_info(s->ctx->host, s->ctx->self, "removed the routes of %s",
                 owner_id ? owner_id : s->ctx->host->module_id(owner));
}

static int route_add(void *impl, ucd_plugin *owner, const ucd_http_route *route)
{
    api_http_service *s = impl;
    if (s == NULL || owner == NULL || route == NULL ||
        route->struct_size < offsetof(ucd_http_route, user_data) + sizeof(void *) ||
        route->handler == NULL)
        return UCD_E_INVALID;
    sdk_route *r = g_new0(sdk_route, 1);
    r->method = g_strdup(route->method);
    r->path = g_strdup(route->path);
    r->scope = g_strdup(route->scope);
    r->openapi = g_strdup(route->openapi);
    r->handler = route->handler;
    r->user_data = route->user_data;
    r->owner = owner;
    r->owner_id = g_strdup(s->ctx->host->module_id(owner));
    r->def = (api_route_def){r->method, r->path, route->role, r->scope, r->openapi, run_sdk_route};
    GError *error = NULL;
    if (!api_router_add(s->ctx->router, &r->def, 1, r, owner, &error)) {
        int rc = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_EXISTS) ? UCD_E_BUSY : UCD_E_INVALID;
        ucd_warning(s->ctx->host, s->ctx->self, "%s: %s", r->owner_id, error->message);
        g_error_free(error);
        sdk_route_free(r);
        return rc;
    }
    g_ptr_array_add(s->routes, r);
    ucd_debug(s->ctx->host, s->ctx->self, "%s added %s %s%s", r->owner_id, r->method, API_PREFIX,
              r->path);
    return UCD_OK;
}

static void route_remove_all(void *impl, ucd_plugin *owner)
{
    if (impl && owner)
        remove_owner(impl, owner, NULL);
}

static int caller(ucd_http_call *c, ucd_http_caller *out)
{
    api_call *call = (api_call *)c;
    if (out == NULL || out->struct_size < offsetof(ucd_http_caller, address) + sizeof(char *))
        return UCD_E_INVALID;
    uint32_t size = out->struct_size;
    memset(out, 0, size);
    out->struct_size = size;
    const api_principal *p = api_call_principal(call);
    out->address = api_call_address(call);
    if (p == NULL)
        return UCD_OK;
    out->role = p->user_id ? p->role : UCD_HTTP_ROLE_USER;
    out->user_id = p->user_id;
    out->key_name = p->key_name;
    out->scopes = (const char *const *)p->scopes;
    out->users = (const char *const *)p->users;
    return UCD_OK;
}

static const char *path_param(ucd_http_call *c, const char *name)
{
    return api_call_param((api_call *)c, name);
}

static const char *query_param(ucd_http_call *c, const char *name)
{
    return api_call_query((api_call *)c, name);
}

static const char *header(ucd_http_call *c, const char *name)
{
    return api_call_header((api_call *)c, name);
}

static const char *body(ucd_http_call *c, size_t *length)
{
    gsize n = 0;
    const char *data = api_call_body_data((api_call *)c, &n);
    if (length)
        *length = n;
    return data;
}

static void defer(ucd_http_call *c)
{
    api_call_defer((api_call *)c);
}

static void respond(ucd_http_call *c, unsigned status, const char *json)
{
    api_call_respond_text((api_call *)c, status, json);
}

static void respond_error(ucd_http_call *c, unsigned status, const char *code, const char *message)
{
    api_call_error((api_call *)c, status, code ? code : API_ERR_INTERNAL, "%s",
                   message ? message : "");
}

static void respond_file(ucd_http_call *c, const char *content_type, const void *body,
                         size_t length, const char *filename)
{
    api_call_respond_file((api_call *)c,
                          content_type && *content_type ? content_type : "application/octet-stream",
                          g_bytes_new(body, body ? length : 0), filename);
}

static const ucd_http_v1 iface = {
    .struct_size = sizeof(ucd_http_v1),
    .route_add = route_add,
    .route_remove_all = route_remove_all,
    .caller = caller,
    .path_param = path_param,
    .query_param = query_param,
    .header = header,
    .body = body,
    .defer = defer,
    .respond = respond,
    .respond_error = respond_error,
    .respond_file = respond_file,
};

const ucd_http_v1 *api_http_service_iface(void)
{
    return &iface;
}

static void on_module_state(const ucd_event *event, void *data)
{
    const ucd_module_state_event *m = event->payload;
    if (m == NULL || m->module == NULL)
        return;
    if (m->state == UCD_MODULE_STOPPED || m->state == UCD_MODULE_FAILED ||
        m->state == UCD_MODULE_DISABLED)
        remove_owner(data, NULL, m->module);
}

api_http_service *api_http_service_new(api_ctx *ctx)
{
    api_http_service *s = g_new0(api_http_service, 1);
    s->ctx = ctx;
    s->routes = g_ptr_array_new_with_free_func(sdk_route_free);
    s->retired = g_ptr_array_new_with_free_func(sdk_route_free);
    ucd_event_filter filter = {.struct_size = sizeof filter,
                               .type_mask = UCD_EVENT_MASK(UCD_EVENT_MODULE_STATE)};
    ctx->host->subscribe(ctx->self, &filter, on_module_state, s, &s->subscription);
    return s;
}

void api_http_service_stop(api_http_service *s)
{
    if (s && s->subscription) {
        s->ctx->host->unsubscribe(s->ctx->self, s->subscription);
        s->subscription = NULL;
    }
}

void api_http_service_free(api_http_service *s)
{
    if (s == NULL)
        return;
    api_http_service_stop(s);
    for (guint i = 0; i < s->routes->len; i++)
        api_router_remove_owner(s->ctx->router, ((sdk_route *)s->routes->pdata[i])->owner);
    g_ptr_array_unref(s->routes);
    g_ptr_array_unref(s->retired);
    g_free(s);
}

guint api_http_service_route_count(api_http_service *s)
{
    return s->routes->len;
}
