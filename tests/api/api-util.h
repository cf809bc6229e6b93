/*
 * api-util.h - the client API end to end: a real ucd with api-http on plain
 * HTTP at 127.0.0.1 and a free port, pbx-sim (lines 201..210, no traffic),
 * users-file with tests/api/users.xml (alice admin, bob leader and carol in
 * sales, dave in support, eve disabled; passwords "pw-LOGIN"),
 * journal-sqlite and [permissions] default public, sales business among
 * itself. Requests with libsoup's own client, WebSocket too.
 */
#ifndef API_UTIL_H
#define API_UTIL_H

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "harness.h"

typedef struct api_env api_env;

/* Starts ucd and waits until api-http runs and the users are in the model.
 * `extra_config` (NULL: none) is appended to the file right after api-http's
 * section: bare keys are api-http's ("session_lifetime = 1s\n"), further
 * sections may follow ("[module analytics-export]\n..."). A leading
 * "[module api-http]" line is allowed and dropped. */
api_env *api_env_start(const char *extra_config);
/* Like api_env_start without waiting for api-http or the users: for a test
 * of an api-http that must fail (wait for it with harness_wait_state). An
 * extra_config that sets https_listen replaces the default (empty). */
api_env *api_env_new(const char *extra_config);
/* Stops ucd and asserts it exited with 0; frees `e`. */
void api_env_stop(api_env *e);
/* The harness, for ucctl (harness_request) and the daemon's log. */
harness *api_env_harness(api_env *e);
/* "http://127.0.0.1:PORT/api/v1". */
const char *api_env_base_url(api_env *e);
/* The port api-http listens on. */
guint16 api_env_port(api_env *e);
/* A port of 127.0.0.1 nothing listens on now. */
guint16 api_free_port(void);
/* From now on sends the requests and WebSocket connections of `e` (api_req*,
 * api_login, api_ws_connect) to `base_url` (".../api/v1") with `session`: a
 * proxy in front of ucd (test-api-nginx: nginx with TLS, a session that
 * trusts the test CA). NULL, NULL: straight to ucd again. */
void api_env_route_via(api_env *e, const char *base_url, SoupSession *session);

/* `method` on `path` (under /api/v1, query included) with `token` as bearer
 * (NULL: none) and `json_body` (NULL: none) sent as application/json. The
 * answer's JSON (NULL when the body is empty; a string node holding the text
 * when it is not JSON); the status into *status (may be NULL). Free with
 * json_node_unref. */
JsonNode *api_req(api_env *e, const char *method, const char *path, const char *token,
                  const char *json_body, guint *status);
/* Like api_req, with extra request headers (`headers`: name, value, ...,
 * NULL) and the response headers into *response_headers (unref; may be
 * NULL). */
JsonNode *api_req_full(api_env *e, const char *method, const char *path, const char *token,
                       const char *json_body, const char *const *headers, guint *status,
                       SoupMessageHeaders **response_headers);
/* The body of POST /auth/login: {"login": ..., "password": ...} (g_free),
 * JSON-escaped. */
char *api_login_body(const char *login, const char *password);
/* Logs in; the access token (g_free). Asserts 200. */
char *api_login(api_env *e, const char *login, const char *password);

/* Opens the event stream with `token` in the Authorization header (NULL:
 * none): the connection, or NULL and `error`. */
SoupWebsocketConnection *api_ws_connect(api_env *e, const char *token, GError **error);
/* The next text message parsed as JSON, waiting up to `timeout_s` seconds
 * on the default main context; NULL when none came or the socket closed. */
JsonNode *api_ws_next(SoupWebsocketConnection *ws, guint timeout_s);

/* A member of an object node as a string ("" when absent): for asserts. */
const char *api_str(JsonNode *node, const char *member);
/* The error code of an error answer ("" when it is not one). */
const char *api_error_code(JsonNode *node);

#endif /* API_UTIL_H */
