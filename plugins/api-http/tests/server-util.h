/*
 * server-util.h - api-http's server in the test's own process, for the unit
 * tests of the router, the calls, CORS, limits and the OpenAPI document:
 * the fake host, a router, the real api_server on a free port of
 * 127.0.0.1 (plain HTTP), and a libsoup client whose requests run the main
 * loop until answered (client and server share this thread).
 *
 * The tests define api_auth_resolve themselves (tokens from a small
 * table), so auth-resolve.o is not linked in.
 */
#ifndef API_TEST_SERVER_UTIL_H
#define API_TEST_SERVER_UTIL_H

#include <libsoup/soup.h>

#include "api-router.h"
#include "api-server.h"
#include "fake-host.h"

typedef struct test_server {
    fake_module *module;
    api_ctx ctx;
    guint16 port;
    char *base; /* "http://127.0.0.1:PORT" */
    SoupSession *session;
} test_server;

/* The fake module and the context with the defaults of api-config.c, not
 * yet listening: change ctx.config, add routes, then test_server_listen. */
test_server *test_server_new(void);
void test_server_listen(test_server *t);
void test_server_free(test_server *t);

typedef struct test_answer {
    guint status;
    SoupMessageHeaders *headers; /* the response's */
    char *body;                  /* NUL-terminated */
    JsonNode *json;              /* the body parsed, or NULL */
} test_answer;

/* Sends `method` `path` (from the server's root: "/api/v1/...") with
 * headers (name, value, ..., NULL) and `body` (NULL: none) as JSON. */
test_answer test_request(test_server *t, const char *method, const char *path,
                         const char *const *headers, const char *body);
void test_answer_clear(test_answer *a);
/* The error code of an error answer ("" when none). */
const char *test_error_code(const test_answer *a);

/* Connects to the server: a blocking socket client (the server runs while
 * test_raw_read waits). */
GSocket *test_raw_connect(test_server *t);
/* Sends `text` whole. */
void test_raw_send(GSocket *s, const char *text);
/* Reads until the server closes (or `max_ms` pass with the main loop
 * running): what came. *closed tells whether the server closed. */
char *test_raw_read(GSocket *s, guint max_ms, gboolean *closed);
/* One request as raw text ("GET / HTTP/1.1\r\n..." whole), the answer's
 * status line and headers and body as text; the connection closed. */
char *test_raw(test_server *t, const char *request);

/* A free port of 127.0.0.1 now. */
guint16 test_free_port(void);
/* Runs the main loop for `ms` milliseconds. */
void test_run_loop(guint ms);

#endif /* API_TEST_SERVER_UTIL_H */
