/*
 * api-call.h - one REST request as the route handlers inside api-http see
 * it: who calls, the parameters, the body parsed as JSON, and the answers
 * (a JSON object, a list, an error, a file). The SDK's ucd_http_v1 (http.h)
 * is a thin C wrapper over the same calls for other plugins' routes.
 *
 * Every answer goes through here, so every error has the one shape
 *   {"error": {"code": "not_found", "message": "no user 'bob'"}}
 * and every list the shape {"items": [...], "total": N, "next": CURSOR|null}.
 * Error codes are the words below; docs/api/errors.md lists them.
 */
#ifndef API_CALL_H
#define API_CALL_H

#include <json-glib/json-glib.h>

#include "api-http.h"

/* Stable error codes (the "code" of the error shape). */
#define API_ERR_BAD_REQUEST      "bad_request"        /* 400: malformed request */
#define API_ERR_INVALID_JSON     "invalid_json"       /* 400: the body is not JSON */
#define API_ERR_INVALID_ARGUMENT "invalid_argument"   /* 400/422: a field is wrong */
#define API_ERR_UNKNOWN_FIELD    "unknown_field"      /* 400: a field the route does not take */
#define API_ERR_UNAUTHENTICATED  "unauthenticated"    /* 401: no or bad token */
#define API_ERR_TOKEN_EXPIRED    "token_expired"      /* 401 */
#define API_ERR_FORBIDDEN        "forbidden"          /* 403: role, scope or permission level */
#define API_ERR_NOT_FOUND        "not_found"          /* 404 */
#define API_ERR_METHOD           "method_not_allowed" /* 405 */
#define API_ERR_CONFLICT         "conflict"           /* 409 */
#define API_ERR_TOO_LARGE        "payload_too_large"  /* 413 */
#define API_ERR_UNSUPPORTED      "unsupported"  /* 422/501: e.g. a line without the capability */
#define API_ERR_RATE_LIMITED     "rate_limited" /* 429 */
#define API_ERR_UNAVAILABLE      "unavailable"  /* 503: a driver, a backend or the PBX down */
#define API_ERR_INTERNAL         "internal"     /* 500 */

typedef struct api_call api_call;

/* Who is calling, as the auth gate found it. */
typedef struct api_principal {
    guint role;        /* ucd_http_role */
    char *user_id;     /* directory id of a user; NULL for an API key */
    char *login;       /* a user's login, for logs; NULL for a key */
    char *key_name;    /* an API key's name; NULL for a user */
    char **scopes;     /* an API key's scopes; NULL for a user */
    char **users;      /* an API key's listed users (ids); NULL: none */
    char *session_id;  /* the session the token belongs to; NULL for a key */
    char *address;     /* the client's address */
    gint64 expires_ms; /* when the token stops working (UTC ms); 0: never (an API key).
                          The event stream closes the socket then (4001) and
                          answers a renewal with the new token's expires_in */
} api_principal;

/* Frees what `principal` holds and zeroes it. */
void api_principal_clear(api_principal *principal);

typedef void (*api_handler)(api_call *call, gpointer data);

/* One route, as the route files declare them in static tables. */
typedef struct api_route_def {
    const char *method;  /* "GET" ... */
    const char *path;    /* under API_PREFIX, "{name}" segments are parameters */
    guint role;          /* ucd_http_role */
    const char *scope;   /* API-key scope, NULL: no key */
    const char *openapi; /* the Operation Object as JSON text */
    api_handler handler;
} api_route_def;

/* The principal, never NULL for a route of role USER or more. */
const api_principal *api_call_principal(api_call *call);
api_ctx *api_call_ctx(api_call *call);
/* A path parameter, percent-decoded; NULL for an unknown name. */
const char *api_call_param(api_call *call, const char *name);
/* A query parameter, NULL when absent. */
const char *api_call_query(api_call *call, const char *name);
/* The request's path as the client sent it (not decoded). */
const char *api_call_path(api_call *call);
/* The query as the client sent it (not decoded), NULL when none. */
const char *api_call_query_string(api_call *call);
const char *api_call_header(api_call *call, const char *name);
const char *api_call_method(api_call *call);
/* The client's address (api_client_address: behind a trusted proxy
 * the address it names), for every call, also one without a principal
 * (the login route limits failed logins per address). */
const char *api_call_address(api_call *call);
/* Adds a header to the answer (Retry-After of a 429); call it before
 * answering. */
void api_call_set_header(api_call *call, const char *name, const char *value);
/* The raw body (size already within the limit), a new reference: unref it. */
GBytes *api_call_body(api_call *call);
/* The body as a JSON object. When it is not one (no body, not JSON, not an
 * object, a member not in `allowed`, a NULL-terminated list; NULL allows
 * any), answers 400 with the right code and returns NULL: the handler just
 * returns. The object belongs to the call. */
JsonObject *api_call_json_object(api_call *call, const char *const *allowed);

/* Readers of one member of api_call_json_object's object. A member that is
 * absent or null leaves *out as it was and returns TRUE, unless `required`;
 * a missing required member or one of another JSON type answers 400
 * invalid_argument naming the field and the type it needs, and returns
 * FALSE: the handler just returns. Strings belong to the object. */
gboolean api_json_string(api_call *call, JsonObject *object, const char *name, gboolean required,
                         const char **out);
gboolean api_json_int(api_call *call, JsonObject *object, const char *name, gboolean required,
                      gint64 *out);
gboolean api_json_bool(api_call *call, JsonObject *object, const char *name, gboolean required,
                       gboolean *out);

/* Keeps the call open after the handler returns (work in a pool thread,
 * a service answering later). Answer later on the main loop. */
void api_call_defer(api_call *call);
/* Answers with a JSON node (taken). 200 unless `status` says otherwise. */
void api_call_respond(api_call *call, guint status, JsonNode *node);
/* Like api_call_respond, with an ETag of the body: when the request's
 * If-None-Match matches, answers 304 without the body. */
void api_call_respond_etag(api_call *call, JsonNode *node);
/* Answers 200 with `body` (a JSON text, shared: the bytes are sent as they
 * are, a reference taken) and `etag` (a quoted entity tag), or 304 without
 * a body when If-None-Match names it. */
void api_call_respond_bytes(api_call *call, GBytes *body, const char *etag);
/* A strong ETag of `length` bytes at `data` (SHA-256), quoted. */
char *api_etag_of(const char *data, gsize length);
/* {"items": items, "total": total, "next": next} (items taken; next NULL: null). */
void api_call_respond_list(api_call *call, JsonArray *items, gint64 total, const char *next);
/* The error shape. `fmt` says what is wrong, for people. */
void api_call_error(api_call *call, guint status, const char *code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
/* The error for a UCD_E_* result of a service, with the service's message
 * (NULL: ucd_strerror's): NOT_FOUND 404, INVALID 400, DENIED 403,
 * UNSUPPORTED 422, UNAVAILABLE 503, BUSY 409, else 500. */
void api_call_error_ucd(api_call *call, int result, const char *message);
/* A download: `content_type`, the bytes (taken), and a file name for
 * Content-Disposition (NULL: none). */
void api_call_respond_file(api_call *call, const char *content_type, GBytes *bytes,
                           const char *filename);
/* TRUE once answered (or the client is gone): a deferred handler checks it. */
gboolean api_call_answered(api_call *call);

/* Permission helpers over the permissions service, for the route files. */
/* The level (ucd_perm_level) at which the caller sees `subject` (a user id):
 * PERSONAL for the caller's own user and for admins, the permissions
 * service's answer for other users; an API key: PUBLIC, or PERSONAL for a
 * user its `users` lists. */
guint api_call_level(api_call *call, const char *subject);

#endif /* API_CALL_H */
