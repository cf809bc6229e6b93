/*
 * api-http.c - the client API plugin: REST under /api/v1 and the WebSocket
 * event stream, on libsoup-3 and json-glib (README.md).
 *
 * init reads the configuration, checks the certificate and key (a wrong
 * file fails init naming it), opens the sessions store, makes the router and
 * offers the "http" service, so other plugins may add routes from their own
 * init. start finds the core's services, adds the routes, starts the event
 * stream and binds the listeners: requests are only taken once every part
 * is ready. reload (SIGHUP) re-reads the certificate and key.
 */
#include <string.h>

#include "api-auth.h"
#include "api-config.h"
#include "api-http-service.h"
#include "api-parts.h"
#include "api-pending.h"
#include "api-routes.h"
#include "api-server.h"
#include "api-stream.h"

typedef struct api_plugin {
    api_ctx ctx;
    api_http_service *service;
} api_plugin;

static const ucd_service_decl requires[] = {
    UCD_NEED(UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, 0),
    UCD_NEED(UCD_CALLS_SERVICE, UCD_CALLS_MAJOR, 0),
    UCD_NEED(UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR, 0),
    UCD_NEED(UCD_PERMISSIONS_SERVICE, UCD_PERMISSIONS_MAJOR, 0),
    UCD_NEED(UCD_CONTROL_SERVICE, UCD_CONTROL_MAJOR, 0),
    {NULL},
};

/* Login asks the users backends (they start first and stop after us); the
 * journal and exporter routes read those services when they run. */
static const ucd_service_decl uses[] = {
    UCD_NEED(UCD_USERS_SERVICE, UCD_USERS_MAJOR, 0),
    UCD_NEED(UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, 0),
    UCD_NEED(UCD_EXPORTER_SERVICE, UCD_EXPORTER_MAJOR, 0),
    {NULL},
};

static const ucd_service_decl provides[] = {
    UCD_PROVIDE(UCD_HTTP_SERVICE, UCD_HTTP_MAJOR, UCD_HTTP_MINOR, 0),
    {NULL},
};

static void plugin_free(api_plugin *p)
{
    api_http_service_free(p->service);
    api_router_free(p->ctx.router);
#if API_HAVE_AUTH
    api_auth_free(p->ctx.auth);
#endif
    g_free(p);
}

static int fail(api_plugin *p, GError *error)
{
    p->ctx.host->set_error(p->ctx.self, "%s", error->message);
    g_error_free(error);
    return UCD_FAIL;
}

static int api_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    api_plugin *p = g_new0(api_plugin, 1);
    p->ctx.self = self;
    p->ctx.host = host;
    if (api_config_read(&p->ctx) != UCD_OK) {
        g_free(p);
        return UCD_FAIL;
    }
    GError *error = NULL;
    if (!api_server_check_certificate(&p->ctx, &error)) {
        host->config_error(self,
                           strstr(error->message, "private_key") == error->message ? "private_key"
                                                                                   : "certificate",
                           "%s", error->message);
        g_error_free(error);
        g_free(p);
        return UCD_FAIL;
    }
    p->ctx.router = api_router_new(&p->ctx);
    p->service = api_http_service_new(&p->ctx);
    if (host->service_register(self, UCD_HTTP_SERVICE, UCD_HTTP_MAJOR, api_http_service_iface(),
                               p->service) != UCD_OK) {
        host->set_error(self, "cannot offer the \"http\" service");
        plugin_free(p);
        return UCD_FAIL;
    }
    *state = p;
    return UCD_OK;
}

/* A required service (the loader started its provider first). */
static gboolean find(api_plugin *p, const char *name, uint32_t major, const void **iface,
                     void **impl)
{
    ucd_service s = {.struct_size = sizeof s};
    if (p->ctx.host->service_get(p->ctx.self, name, major, NULL, &s) != UCD_OK) {
        p->ctx.host->set_error(p->ctx.self, "the core's \"%s\" service is not running", name);
        return FALSE;
    }
    *iface = s.iface;
    *impl = s.impl;
    return TRUE;
}

static gboolean find_services(api_plugin *p)
{
    api_ctx *c = &p->ctx;
    return find(p, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, (const void **)&c->dir,
                &c->dir_impl) &&
           find(p, UCD_CALLS_SERVICE, UCD_CALLS_MAJOR, (const void **)&c->calls, &c->calls_impl) &&
           find(p, UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR, (const void **)&c->presence,
                &c->presence_impl) &&
           find(p, UCD_PERMISSIONS_SERVICE, UCD_PERMISSIONS_MAJOR, (const void **)&c->perms,
                &c->perms_impl) &&
           find(p, UCD_CONTROL_SERVICE, UCD_CONTROL_MAJOR, (const void **)&c->control,
                &c->control_impl);
}

typedef gboolean (*register_fn)(api_router *r, api_ctx *ctx, GError **error);

static gboolean add_routes(api_plugin *p, GError **error)
{
    static const register_fn parts[] = {
        api_routes_api_register,
#if API_HAVE_ROUTES_ME
        api_routes_me_register,
#endif
#if API_HAVE_ROUTES_DIRECTORY
        api_routes_directory_register,
#endif
#if API_HAVE_ROUTES_PRESENCE
        api_routes_presence_register,
#endif
#if API_HAVE_ROUTES_CALLS
        api_routes_calls_register,
#endif
#if API_HAVE_ROUTES_JOURNAL
        api_routes_journal_register,
#endif
#if API_HAVE_ROUTES_ANALYTICS
        api_routes_analytics_register,
#endif
#if API_HAVE_ROUTES_ADMIN
        api_routes_admin_register,
#endif
    };
    for (gsize i = 0; i < G_N_ELEMENTS(parts); i++)
        if (!parts[i](p->ctx.router, &p->ctx, error))
            return FALSE;
#if API_HAVE_AUTH
    if (!api_auth_register(p->ctx.auth, p->ctx.router, error))
        return FALSE;
#endif
    return TRUE;
}

static void stop_parts(api_plugin *p)
{
    api_ctx *c = &p->ctx;
    /* Requests another module answers later (an export, a reload) let go of
     * their calls before the connections close; their callbacks find them
     * orphaned. */
    api_pending_orphan_all(c);
#if API_HAVE_STREAM
    if (c->stream)
        api_stream_stop(c->stream);
#endif
    api_server_free(c->server);
    c->server = NULL;
#if API_HAVE_STREAM
    api_stream_free(c->stream);
    c->stream = NULL;
#endif
#if API_HAVE_AUTH
    api_auth_free(c->auth);
    c->auth = NULL;
#endif
    /* The route files' tables stay; the SDK routes of other modules too,
     * until they stop. */
    api_router_remove_owner(c->router, NULL);
}

static void log_listeners(api_plugin *p)
{
    const api_config *c = &p->ctx.config;
    GString *s = g_string_new(NULL);
    for (gsize i = 0; c->https_listen[i]; i++)
        g_string_append_printf(s, " https://%s", c->https_listen[i]);
    for (gsize i = 0; c->http_listen[i]; i++)
        g_string_append_printf(s, " http://%s", c->http_listen[i]);
    ucd_notice(p->ctx.host, p->ctx.self, "serving %s on%s", API_PREFIX, s->str);
    g_string_free(s, TRUE);
}

static int api_start(void *state)
{
    api_plugin *p = state;
    api_ctx *c = &p->ctx;
    if (!find_services(p))
        return UCD_FAIL;
    GError *error = NULL;
#if API_HAVE_AUTH
    c->auth = api_auth_new(c, &error);
    if (c->auth == NULL)
        return fail(p, error);
#endif
    if (!add_routes(p, &error)) {
        stop_parts(p);
        return fail(p, error);
    }
#if API_HAVE_STREAM
    c->stream = api_stream_new(c);
    api_stream_start(c->stream);
#endif
    c->server = api_server_new(c, &error);
    if (c->server == NULL) {
        stop_parts(p);
        return fail(p, error);
    }
#if API_HAVE_STREAM
    api_stream_attach(c->stream, api_server_soup(c->server));
#endif
    log_listeners(p);
    return UCD_OK;
}

static void api_stop(void *state)
{
    api_plugin *p = state;
    stop_parts(p);
    api_http_service_stop(p->service);
}

static void api_fini(void *state)
{
    plugin_free(state);
}

static int api_reload(void *state)
{
    api_plugin *p = state;
    if (p->ctx.server == NULL)
        return UCD_OK;
    GError *error = NULL;
    if (!api_server_reload_certificate(p->ctx.server, &error)) {
        p->ctx.host->set_error(p->ctx.self, "keeping the old certificate: %s", error->message);
        g_error_free(error);
        return UCD_FAIL;
    }
    if (p->ctx.config.https_listen[0])
        ucd_notice(p->ctx.host, p->ctx.self, "certificate %s read again",
                   p->ctx.config.certificate);
    return UCD_OK;
}

UCD_PLUGIN_DEFINE(.name = "api-http", .version = "1.0.0", .license = "MIT",
                  .description = "the client API: REST and WebSocket events over HTTPS",
                  .requires = requires, .uses = uses, .provides = provides,
                  .config_keys = api_config_keys, .init = api_init, .start = api_start,
                  .stop = api_stop, .fini = api_fini, .reload = api_reload);
