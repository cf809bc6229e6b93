/*
 * test-api-stop.c - requests another module answers after api-http stopped
 * (api-pending.h), against the real ucd: POST /admin/reload with a changed
 * api-http section restarts api-http itself, so the control service answers
 * the reload after api-http's stop and fini. The reload takes, the old
 * request is dropped (its connection closes, or it reads 503), the new
 * api-http serves the old sessions, and the daemon exits 0 (under
 * UCD_WRAPPER=valgrind or ASan: no use of the freed module, no leak).
 */
#include <string.h>

#include "api-util.h"
#include "harness.h"

#define ADMIN_CONFIG "admin_group = file:admins\n"

/* `method` `path` with `token` on a connection of its own: the status, or
 * 0 when the connection closed without an answer (api_req would fail the
 * test); the answer's JSON into *body when it is not NULL. */
static guint request(api_env *e, const char *method, const char *path, const char *token,
                     JsonNode **body)
{
    char *url = g_strconcat(api_env_base_url(e), path, NULL);
    SoupMessage *msg = soup_message_new(method, url);
    char *bearer = g_strconcat("Bearer ", token, NULL);
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", bearer);
    SoupSession *session = soup_session_new_with_options("timeout", 60, NULL);
    GError *error = NULL;
    GBytes *answer = soup_session_send_and_read(session, msg, NULL, &error);
    guint status = answer ? soup_message_get_status(msg) : 0;
    if (answer == NULL)
        g_test_message("%s %s: %s", method, path, error->message);
    g_clear_error(&error);
    if (body)
        *body = answer && g_bytes_get_size(answer) > 0
                    ? json_from_string(g_bytes_get_data(answer, NULL), NULL)
                    : NULL;
    if (answer)
        g_bytes_unref(answer);
    g_object_unref(session);
    g_object_unref(msg);
    g_free(bearer);
    g_free(url);
    return status;
}

static void test_reload_restarts_api_http(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    harness *h = api_env_harness(e);
    char *alice = api_login(e, "alice", "pw-alice");
    /* api-http's section changes: the reload stops it, and the control
     * service answers the reload after that stop and fini */
    harness_write_dropin(h, "50-api.conf", "[module api-http]\nsession_lifetime = 2h\n");
    guint status = request(e, "POST", "/admin/reload", alice, NULL);
    g_assert_true(status == 0 || status == 503);
    g_assert_true(harness_wait_log(h, "stopping with 1 request waiting for another module"));
    g_assert_true(harness_wait_state(h, "api-http", "running"));
    /* the new api-http serves, the session store kept alice's session */
    JsonNode *me = NULL;
    g_assert_cmpuint(request(e, "GET", "/me", alice, &me), ==, 200);
    g_assert_cmpstr(api_str(me, "login"), ==, "alice");
    json_node_unref(me);
    /* and a reload that leaves api-http running answers as before */
    g_assert_cmpuint(request(e, "POST", "/admin/reload", alice, NULL), ==, 200);
    g_free(alice);
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/stop/reload-restarts-api-http", test_reload_restarts_api_http);
    return g_test_run();
}
