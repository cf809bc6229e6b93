/*
 * api-http.h - what every part of the api-http plugin shares: the module's
 * context (host, configuration, the core's services) and the parts' handles.
 *
 * Data flows one way: api-http.c owns the context and starts the parts;
 * server (TLS, listeners, limits) -> router (routes, auth gate, errors) ->
 * route files (routes-*.c) -> the core's services. The event stream hangs
 * off the server (its WebSocket upgrade) and reads the bus. No part includes
 * api-http.c's internals; each gets the context.
 */
#ifndef API_HTTP_H
#define API_HTTP_H

#include <glib.h>
#include <ucd/ucd.h>
#include <ucd/control.h>
#include <ucd/http.h>

typedef struct api_router api_router; /* api-router.h */
typedef struct api_auth api_auth;     /* api-auth.h */
typedef struct api_stream api_stream; /* api-stream.h */
typedef struct api_server api_server; /* api-server.h */

/* The configuration, read once at init (api-config.c). Strings owned by the
 * core (valid until fini). Durations in milliseconds. */
typedef struct api_config {
    const char *const *https_listen;    /* "ADDRESS:PORT" each; empty: no HTTPS */
    const char *const *http_listen;     /* plain HTTP; empty (the default): off */
    const char *certificate;            /* PEM file, needed with https_listen */
    const char *private_key;            /* PEM file */
    const char *client_ca;              /* PEM file: ask for client certificates, NULL: don't */
    const char *const *allowed_origins; /* CORS; empty: no cross-origin browser access */
    const char *const *trusted_proxies; /* addresses whose X-Forwarded-For is believed */
    const char *admin_group;            /* directory group id of admins; NULL: none */
    gint64 session_lifetime_ms;         /* an access token's life */
    gint64 refresh_lifetime_ms;         /* a refresh token's life */
    gint64 max_body;                    /* bytes */
    gint64 max_header;                  /* bytes, all headers of a request */
    gint64 max_ws_message;              /* bytes, one incoming WebSocket message */
    gint64 max_connections_per_address;
    gint64 request_timeout_ms; /* idle/slow request (slowloris) */
    gint64 ws_queue_limit;     /* bytes queued to one WebSocket before it is dropped */
    gint64 ws_ping_interval_ms;
    gint64 replay_window;  /* events kept for reconnecting clients */
    gint64 login_attempts; /* failed logins per login, and per address, per minute */
} api_config;

/* One running api-http module. */
typedef struct api_ctx {
    ucd_plugin *self;
    const ucd_host *host;
    api_config config;

    /* The core's services, found at start (required). */
    const ucd_directory_v1 *dir;
    void *dir_impl;
    const ucd_calls_v1 *calls;
    void *calls_impl;
    const ucd_presence_v1 *presence;
    void *presence_impl;
    const ucd_permissions_v1 *perms;
    void *perms_impl;
    const ucd_control_v1 *control;
    void *control_impl;

    api_router *router;
    api_auth *auth;
    api_stream *stream;
    api_server *server;
    /* The routes' kept JSON (api-answer-cache.h), made and freed with the
     * server; NULL without one. */
    struct api_answer_cache *answers;
} api_ctx;

#define API_PREFIX "/api/v1"

#endif /* API_HTTP_H */
