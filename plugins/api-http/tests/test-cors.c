/*
 * test-cors.c - cross-origin requests (api-cors.h): the origin list, a
 * preflight from an allowed origin and from another, the headers on an
 * actual request, and no CORS headers at all for a request without Origin
 * or from an origin not listed.
 */
#include <string.h>

#include "api-call.h"
#include "api-cors.h"
#include "server-util.h"

static void hello(api_call *call, gpointer data)
{
    (void)data;
    api_call_respond(call, 200, json_from_string("{}", NULL));
}

static const api_route_def route = {"GET", "/hello", UCD_HTTP_ROLE_ANYONE, NULL, NULL, hello};
static const char *const origins[] = {"https://crm.example.com", "http://localhost:8080", NULL};

static test_server *start(void)
{
    test_server *t = test_server_new();
    t->ctx.config.allowed_origins = origins;
    g_assert_true(api_router_add(t->ctx.router, &route, 1, NULL, NULL, NULL));
    test_server_listen(t);
    return t;
}

static const char *header(const test_answer *a, const char *name)
{
    return soup_message_headers_get_one(a->headers, name);
}

static void test_origin_list(void)
{
    const char *const star[] = {"*", NULL};
    g_assert_true(api_cors_origin_allowed(origins, "https://crm.example.com"));
    g_assert_true(api_cors_origin_allowed(origins, "HTTPS://CRM.example.com"));
    g_assert_false(api_cors_origin_allowed(origins, "https://crm.example.com.evil.net"));
    g_assert_false(api_cors_origin_allowed(origins, "http://crm.example.com"));
    g_assert_false(api_cors_origin_allowed(origins, "null"));
    g_assert_false(api_cors_origin_allowed(origins, NULL));
    g_assert_true(api_cors_origin_allowed(star, "https://any.example"));
}

static void test_preflight(void)
{
    test_server *t = start();
    const char *allowed[] = {
        "Origin", "https://crm.example.com",        "Access-Control-Request-Method",
        "POST",   "Access-Control-Request-Headers", "authorization,content-type",
        NULL};
    test_answer a = test_request(t, "OPTIONS", "/api/v1/hello", allowed, NULL);
    g_assert_cmpuint(a.status, ==, 204);
    g_assert_cmpstr(header(&a, "Access-Control-Allow-Origin"), ==, "https://crm.example.com");
    g_assert_nonnull(strstr(header(&a, "Access-Control-Allow-Methods"), "POST"));
    g_assert_nonnull(strstr(header(&a, "Access-Control-Allow-Headers"), "Authorization"));
    g_assert_nonnull(strstr(header(&a, "Vary"), "Origin"));
    test_answer_clear(&a);

    const char *other[] = {"Origin", "https://evil.example", "Access-Control-Request-Method", "GET",
                           NULL};
    a = test_request(t, "OPTIONS", "/api/v1/hello", other, NULL);
    g_assert_cmpuint(a.status, ==, 403);
    g_assert_cmpstr(test_error_code(&a), ==, "forbidden");
    g_assert_nonnull(strstr(a.body, "https://evil.example"));
    g_assert_null(header(&a, "Access-Control-Allow-Origin"));
    test_answer_clear(&a);
    test_server_free(t);
}

static void test_actual_requests(void)
{
    test_server *t = start();
    const char *allowed[] = {"Origin", "http://localhost:8080", NULL};
    test_answer a = test_request(t, "GET", "/api/v1/hello", allowed, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(header(&a, "Access-Control-Allow-Origin"), ==, "http://localhost:8080");
    g_assert_nonnull(strstr(header(&a, "Access-Control-Expose-Headers"), "ETag"));
    test_answer_clear(&a);

    /* another origin: answered (the browser withholds it), no CORS header */
    const char *other[] = {"Origin", "https://evil.example", NULL};
    a = test_request(t, "GET", "/api/v1/hello", other, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_null(header(&a, "Access-Control-Allow-Origin"));
    test_answer_clear(&a);

    a = test_request(t, "GET", "/api/v1/hello", NULL, NULL);
    g_assert_null(header(&a, "Access-Control-Allow-Origin"));
    g_assert_null(header(&a, "Vary"));
    test_answer_clear(&a);
    test_server_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-http/cors/origin-list", test_origin_list);
    g_test_add_func("/api-http/cors/preflight", test_preflight);
    g_test_add_func("/api-http/cors/actual-requests", test_actual_requests);
    return g_test_run();
}
