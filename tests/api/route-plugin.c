/*
 * route-plugin.c - a plugin that adds resources to the client API through
 * the SDK's http service (ucd/http.h), for test-api-plugin-routes: what any
 * plugin of a later issue (directory, calendar, analytics) does.
 *
 *   GET  /demo/echo/{word}  role USER, scope demo:read: the word, the caller
 *   GET  /demo/search       literal next to {word}'s sibling path
 *   POST /demo/later        answers from a timer (a deferred call)
 *   GET  /demo/boom         answers an error in the API's shape
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucd/ucd.h>

typedef struct demo {
    ucd_plugin *self;
    const ucd_host *host;
    const ucd_http_v1 *http;
    void *http_impl;
} demo;

static demo the_demo;

static void echo(ucd_http_call *call, void *data)
{
    demo *d = data;
    ucd_http_caller who = {.struct_size = sizeof who};
    d->http->caller(call, &who);
    char body[512];
    snprintf(body, sizeof body, "{\"word\":\"%s\",\"user\":\"%s\",\"key\":\"%s\",\"role\":%u}",
             d->http->path_param(call, "word"), who.user_id ? who.user_id : "",
             who.key_name ? who.key_name : "", who.role);
    d->http->respond(call, 200, body);
}

static void search(ucd_http_call *call, void *data)
{
    demo *d = data;
    const char *q = d->http->query_param(call, "q");
    char body[256];
    snprintf(body, sizeof body, "{\"q\":\"%s\"}", q ? q : "");
    d->http->respond(call, 200, body);
}

typedef struct later {
    demo *d;
    ucd_http_call *call;
    char body[256];
} later;

static void answer_later(void *data)
{
    later *l = data;
    l->d->http->respond(l->call, 202, l->body);
    free(l);
}

static void post_later(ucd_http_call *call, void *data)
{
    demo *d = data;
    size_t n = 0;
    const char *body = d->http->body(call, &n);
    later *l = calloc(1, sizeof *l);
    l->d = d;
    l->call = call;
    snprintf(l->body, sizeof l->body, "{\"got\":%zu,\"first\":\"%c\"}", n, n ? body[0] : '-');
    d->http->defer(call);
    d->host->timer_add(d->self, 50, 0, answer_later, l);
}

static void boom(ucd_http_call *call, void *data)
{
    demo *d = data;
    d->http->respond_error(call, 409, "conflict", "the demo is busy");
}

static const ucd_http_route routes[] = {
    {.struct_size = sizeof(ucd_http_route),
     .role = UCD_HTTP_ROLE_USER,
     .method = "GET",
     .path = "/demo/echo/{word}",
     .scope = "demo:read",
     .openapi = "{\"summary\":\"Echo a word\",\"responses\":{\"200\":{\"description\":\"the "
                "word and who asked\"}}}",
     .handler = echo,
     .user_data = &the_demo},
    {.struct_size = sizeof(ucd_http_route),
     .role = UCD_HTTP_ROLE_USER,
     .method = "GET",
     .path = "/demo/search",
     .scope = "demo:read",
     .openapi = NULL,
     .handler = search,
     .user_data = &the_demo},
    {.struct_size = sizeof(ucd_http_route),
     .role = UCD_HTTP_ROLE_ANYONE,
     .method = "POST",
     .path = "/demo/later",
     .openapi = "{\"summary\":\"Answered later\",\"responses\":{\"202\":{\"description\":"
                "\"accepted\"}}}",
     .handler = post_later,
     .user_data = &the_demo},
    {.struct_size = sizeof(ucd_http_route),
     .role = UCD_HTTP_ROLE_ADMIN,
     .method = "GET",
     .path = "/demo/boom",
     .handler = boom,
     .user_data = &the_demo},
};

static int demo_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    the_demo.self = self;
    the_demo.host = host;
    *state = &the_demo;
    return UCD_OK;
}

static int demo_start(void *state)
{
    demo *d = state;
    ucd_service s = {.struct_size = sizeof s};
    if (d->host->service_get(d->self, UCD_HTTP_SERVICE, UCD_HTTP_MAJOR, NULL, &s) != UCD_OK) {
        d->host->set_error(d->self, "no http service");
        return UCD_FAIL;
    }
    d->http = s.iface;
    d->http_impl = s.impl;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = d->http->route_add(d->http_impl, d->self, &routes[i]);
        if (rc != UCD_OK) {
            d->host->set_error(d->self, "route %s: %s", routes[i].path, ucd_strerror(rc));
            return UCD_FAIL;
        }
    }
    /* the same route twice is refused as busy, a bad one as invalid */
    int again = d->http->route_add(d->http_impl, d->self, &routes[0]);
    ucd_http_route bad = routes[1];
    bad.path = "no-slash";
    int invalid = d->http->route_add(d->http_impl, d->self, &bad);
    ucd_info(d->host, d->self, "routes added; again: %s; bad: %s", ucd_strerror(again),
             ucd_strerror(invalid));
    return UCD_OK;
}

static const ucd_service_decl requires[] = {UCD_NEED(UCD_HTTP_SERVICE, UCD_HTTP_MAJOR, 0), {NULL}};

UCD_PLUGIN_DEFINE(.name = "route-demo", .version = "1.0.0", .license = "MIT",
                  .description = "adds demo routes to the client API (tests)", .requires = requires,
                  .init = demo_init, .start = demo_start);
