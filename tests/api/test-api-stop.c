/*
 * test-api-stop.c - requests another module answers after api-http stopped
 * (api-pending.h), against the real ucd. POST /admin/reload with a changed
 * api-http section restarts api-http itself, so the control service answers
 * the reload after api-http's stop and fini: the reload takes, the old
 * request is dropped (its connection closes, or it reads 503), the new
 * api-http serves the old sessions. GET /analytics/kpis waiting on an
 * export (exporter-stub.c holds it until it stops) when ucd stops: the
 * export ends after api-http's stop and fini, and its directory is removed.
 * The daemon exits 0 (under UCD_WRAPPER=valgrind or ASan: no use of the
 * freed module, no leak).
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
    /* the state reads "running" before the old api-http stopped too: the
     * second "serving" line is the new one's */
    g_assert_true(harness_wait_log_count(h, "serving /api/v1 on", 2));
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

/* Reads the answer of `msg` once it came (it does not: ucd stops first). */
static void kpis_answered(GObject *source, GAsyncResult *result, gpointer data)
{
    GBytes *answer = soup_session_send_and_read_finish(SOUP_SESSION(source), result, NULL);
    if (answer)
        g_bytes_unref(answer);
    *(gboolean *)data = TRUE;
}

/* The kpis-* directories api-http made under its state directory. */
static guint export_dirs(harness *h)
{
    char *dir = g_build_filename(h->dir, "state", "api-http", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    guint n = 0;
    const char *name;
    while (d && (name = g_dir_read_name(d)))
        n += g_str_has_prefix(name, "kpis-");
    if (d)
        g_dir_close(d);
    g_free(dir);
    return n;
}

static void test_export_at_shutdown(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG "\n[module exporter-stub]\n");
    harness *h = api_env_harness(e);
    g_assert_true(harness_wait_state(h, "exporter-stub", "running"));
    char *alice = api_login(e, "alice", "pw-alice");
    char *url =
        g_strconcat(api_env_base_url(e), "/analytics/kpis?from=2026-01-01&to=2026-01-02", NULL);
    SoupMessage *msg = soup_message_new("GET", url);
    char *bearer = g_strconcat("Bearer ", alice, NULL);
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", bearer);
    SoupSession *session = soup_session_new_with_options("timeout", 60, NULL);
    gboolean answered = FALSE;
    soup_session_send_and_read_async(session, msg, G_PRIORITY_DEFAULT, NULL, kpis_answered,
                                     &answered);
    /* the request reached the exporter (this loop sends it): its
     * directory is there */
    gboolean held = FALSE;
    for (int i = 0; i < 2000 && !held; i++) {
        while (g_main_context_iteration(NULL, FALSE))
            ;
        char *log = harness_log(h);
        held = strstr(log, "exporter-stub: export held (1 waiting)") != NULL;
        g_free(log);
        if (!held)
            g_usleep(10 * 1000);
    }
    g_assert_true(held);
    g_assert_cmpuint(export_dirs(h), ==, 1);
    g_assert_false(answered);
    /* ucd stops: api-http first (the request is orphaned), then the stub,
     * whose callback finds api-http gone and only removes the directory */
    g_assert_cmpint(harness_stop(h), ==, 0);
    char *log = harness_log(h);
    g_assert_nonnull(strstr(log, "stopping with 1 request waiting for another module"));
    g_assert_nonnull(strstr(log, "exporter-stub: 1 held exports ended"));
    g_free(log);
    g_assert_cmpuint(export_dirs(h), ==, 0);
    while (!answered)
        g_main_context_iteration(NULL, TRUE);
    api_env_stop(e);
    g_object_unref(session);
    g_object_unref(msg);
    g_free(bearer);
    g_free(url);
    g_free(alice);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/stop/reload-restarts-api-http", test_reload_restarts_api_http);
    g_test_add_func("/api/stop/export-at-shutdown", test_export_at_shutdown);
    return g_test_run();
}
