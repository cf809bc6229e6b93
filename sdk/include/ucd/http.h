/*
 * ucd/http.h - the HTTP routes service, "http" major 1, provided by the
 * api-http plugin (the client API).
 *
 * A plugin adds resources to the client API: REST routes under /api/v1, each
 * with the least role it needs, the API-key scope that grants it to an
 * integration, a handler, and its own part of the OpenAPI document. api-http
 * does everything around the handler: TLS, limits, CORS, the caller's token
 * or API key, the role and scope check, the merged OpenAPI document at
 * /api/v1/openapi.json, and one JSON shape for errors. The handler runs on the
 * main loop, reads what it needs through this table and answers with a JSON
 * body, at once or later (defer, then respond from a work item's done
 * callback). Permission levels between users (permissions.h) stay the
 * handler's to check: the caller's user id is in ucd_http_caller.
 *
 *     static void get_contact(ucd_http_call *call, void *data)
 *     {
 *         const char *id = http->path_param(call, "id");
 *         ...
 *         http->respond(call, 200, "{\"id\":\"42\",\"name\":\"ACME\"}");
 *     }
 *     static const ucd_http_route route = {
 *         .struct_size = sizeof route, .role = UCD_HTTP_ROLE_USER,
 *         .method = "GET", .path = "/contacts/{id}", .scope = "contacts:read",
 *         .openapi = "{\"summary\":\"One contact\",\"responses\":{\"200\":{...}}}",
 *         .handler = get_contact};
 *     http->route_add(http_impl, self, &route);
 *
 * Routes of a module are removed when it stops (api-http watches module
 * states); route_remove_all() does it earlier. Main loop only.
 */
#ifndef UCD_HTTP_H
#define UCD_HTTP_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_HTTP_SERVICE "http"
#define UCD_HTTP_MAJOR   1
/* 1: respond_file (answers that are not JSON). */
#define UCD_HTTP_MINOR 1

/* Who may call a route, each role including the ones before it. */
typedef enum ucd_http_role {
    UCD_HTTP_ROLE_ANYONE = 0, /* no token needed (login, the OpenAPI document) */
    UCD_HTTP_ROLE_USER = 1,   /* any logged-in user */
    UCD_HTTP_ROLE_LEADER = 2, /* a leader of at least one group */
    UCD_HTTP_ROLE_ADMIN = 3,  /* a member of api-http's admin group */
} ucd_http_role;

typedef struct ucd_http_call ucd_http_call; /* opaque: one request being answered */

/* Who is calling. Strings are valid until the call is answered. */
typedef struct ucd_http_caller {
    uint32_t struct_size;
    uint32_t role;             /* ucd_http_role; an API key is USER with scopes */
    const char *user_id;       /* the logged-in user's directory id; NULL for an API key */
    const char *key_name;      /* the API key's name; NULL for a user */
    const char *const *scopes; /* an API key's scopes, NULL-terminated; NULL for a user */
    const char *const *users;  /* an API key's listed users (call control); NULL: none */
    const char *address;       /* the client's address (behind a trusted proxy: the
                                  address the proxy names) */
} ucd_http_caller;

typedef void (*ucd_http_handler)(ucd_http_call *call, void *user_data);

typedef struct ucd_http_route {
    uint32_t struct_size;
    uint32_t role;      /* ucd_http_role: the least role of a user */
    const char *method; /* "GET", "POST", "PUT", "PATCH" or "DELETE" */
    /* Under /api/v1, segments in braces are parameters: "/contacts/{id}".
     * A literal segment wins over a parameter ("/contacts/search" before
     * "/contacts/{id}"). */
    const char *path;
    /* The API-key scope that grants this route to a key ("contacts:read");
     * NULL: no API key may call it. */
    const char *scope;
    /* The route's OpenAPI 3.1 Operation Object as JSON text (summary,
     * parameters, requestBody, responses); api-http adds the security and
     * error responses. NULL is allowed and shows as an undocumented route. */
    const char *openapi;
    ucd_http_handler handler;
    void *user_data;
} ucd_http_route;

typedef struct ucd_http_v1 {
    uint32_t struct_size;

    /* Adds a route owned by `owner` (the calling module). UCD_E_INVALID for a
     * bad method, path, role or OpenAPI text (not a JSON object); UCD_E_BUSY
     * when the method and path are taken. */
    int (*route_add)(void *impl, ucd_plugin *owner, const ucd_http_route *route);
    /* Removes every route `owner` added; calls in progress still complete. */
    void (*route_remove_all)(void *impl, ucd_plugin *owner);

    /* ---- within a call, until it is answered ---- */

    /* Fills `out` (its struct_size set by the caller). UCD_OK. */
    int (*caller)(ucd_http_call *call, ucd_http_caller *out);
    /* A path parameter by name ("id" of "/contacts/{id}"), percent-decoded. */
    const char *(*path_param)(ucd_http_call *call, const char *name);
    /* A query parameter, percent-decoded; NULL when absent. */
    const char *(*query_param)(ucd_http_call *call, const char *name);
    /* A request header, NULL when absent. */
    const char *(*header)(ucd_http_call *call, const char *name);
    /* The request body (not NUL-terminated; NULL and 0 when empty). Its size
     * is within api-http's limit already. */
    const char *(*body)(ucd_http_call *call, size_t *length);
    /* Keeps the call open after the handler returns; answer it later with
     * respond() or respond_error() on the main loop. A client that goes away
     * meanwhile is simply not answered; the call stays valid until then. */
    void (*defer)(ucd_http_call *call);
    /* Answers with `status` and a JSON body (NULL: no body). The call is
     * invalid afterwards. */
    void (*respond)(ucd_http_call *call, unsigned status, const char *json);
    /* Answers with the API's error shape:
     *   {"error": {"code": CODE, "message": MESSAGE}}
     * `code` is a stable word a client may branch on ("not_found",
     * "invalid_argument" ...; docs/api/errors.md lists them), `message` says
     * for people what is wrong. The call is invalid afterwards. */
    void (*respond_error)(ucd_http_call *call, unsigned status, const char *code,
                          const char *message);

    /* ---- since http 1.1 (check struct_size, or UCD_NEED the minor) ---- */

    /* Answers 200 with `length` bytes of `body` (copied) as `content_type`
     * ("application/xml; charset=utf-8", "text/csv"), with
     * Content-Disposition: attachment when `filename` is not NULL: for what
     * is not JSON, a phone's XML phonebook, a CSV export. A GET route whose
     * OpenAPI 200 answer names a content type other than JSON is a download, whose
     * token may come as ?token= (a phone or a plain link cannot send a
     * header). Errors still go through respond_error. The call is invalid
     * afterwards. */
    void (*respond_file)(ucd_http_call *call, const char *content_type, const void *body,
                         size_t length, const char *filename);
} ucd_http_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_HTTP_H */
