/*
 * test-api-presence.c - GET/PUT/DELETE /presence of the client API against
 * the real ucd (api-util.h): who sees which part of whose presence, who may
 * set whose (the presence service decides, with the caller as actor), every
 * wrong input answered 400 with the field named, the list's ETag, and API
 * keys held to their scopes.
 */
#include "routes-check.h"

/* The presence members a viewer below BUSINESS must not get. */
static const char *const BUSINESS_PARTS[] = {"note",         "until",      "until_ms",
                                             "manual_state", "line_state", "calendar_state",
                                             "on_call_with", NULL};

static void assert_parts(JsonObject *p, gboolean business)
{
    for (const char *const *n = BUSINESS_PARTS; *n; n++)
        g_assert_true(json_object_has_member(p, *n) == business);
    g_assert_cmpuint(json_object_get_size(p), ==, business ? 9 : 2);
}

/* An ISO 8601 time `seconds` from now, UTC, whole seconds; the same in
 * milliseconds into *ms. */
static char *iso_in(gint64 seconds, gint64 *ms)
{
    GDateTime *now = g_date_time_new_now_utc();
    GDateTime *then = g_date_time_add_seconds(now, (gdouble)seconds);
    char *text = g_date_time_format(then, "%Y-%m-%dT%H:%M:%SZ");
    *ms = g_date_time_to_unix(then) * 1000;
    g_date_time_unref(then);
    g_date_time_unref(now);
    return text;
}

static void test_levels(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    tokens t = {0};
    tokens_login(e, &t);
    gint64 until_ms = 0;
    char *until = iso_in(3600, &until_ms);
    char *body =
        g_strdup_printf("{\"state\":\"away\",\"note\":\"at the dentist\",\"until\":\"%s\"}", until);

    /* bob sets his own: the answer is his presence, every part */
    JsonNode *p = req_ok(e, "PUT", "/presence/bob", t.bob, body, 200);
    JsonObject *o = obj(p);
    g_assert_cmpstr(str(o, "user_id"), ==, "file:bob");
    g_assert_cmpstr(str(o, "state"), ==, "away");
    g_assert_cmpstr(str(o, "manual_state"), ==, "away");
    g_assert_cmpstr(str(o, "note"), ==, "at the dentist");
    g_assert_cmpint(json_object_get_int_member(o, "until_ms"), ==, until_ms);
    g_assert_true(g_str_has_prefix(str(o, "until"), until_ms ? "20" : ""));
    assert_parts(o, TRUE);
    json_node_free(p);

    /* carol (business) sees the note, dave (public) only the state */
    p = req_ok(e, "GET", "/presence/bob", t.carol, NULL, 200);
    assert_parts(obj(p), TRUE);
    g_assert_cmpstr(str(obj(p), "note"), ==, "at the dentist");
    json_node_free(p);
    p = req_ok(e, "GET", "/presence/file:bob", t.dave, NULL, 200);
    g_assert_cmpstr(str(obj(p), "state"), ==, "away");
    assert_parts(obj(p), FALSE);
    json_node_free(p);

    /* the list: everyone active here the caller may see (not eve) */
    JsonNode *list = req_ok(e, "GET", "/presence", t.dave, NULL, 200);
    g_assert_cmpint(json_object_get_int_member(obj(list), "total"), ==, 4);
    assert_parts(item_by(items_of(list), "user_id", "file:bob"), FALSE);
    assert_parts(item_by(items_of(list), "user_id", "file:dave"), TRUE);
    g_assert_null(item_by(items_of(list), "user_id", "file:eve"));
    char *text = json_to_string(list, FALSE);
    g_assert_null(strstr(text, "dentist"));
    g_free(text);
    json_node_free(list);
    list = req_ok(e, "GET", "/presence", t.alice, NULL, 200);
    assert_parts(item_by(items_of(list), "user_id", "file:bob"), TRUE);
    json_node_free(list);
    /* bob's presence is part of his user object, cut the same way */
    p = req_ok(e, "GET", "/users/bob", t.dave, NULL, 200);
    assert_parts(json_object_get_object_member(obj(p), "presence"), FALSE);
    json_node_free(p);

    /* set another's: personal needed, the service's rule */
    expect_error(e, "PUT", "/presence/bob", t.carol, "{\"state\":\"busy\"}", 403, "forbidden",
                 "personal");
    expect_error(e, "DELETE", "/presence/bob", t.dave, NULL, 403, "forbidden", NULL);
    json_node_free(
        ctl(e, "permissions", "grant", "file:bob", "file:carol", "personal", "--as", "user", NULL));
    p = req_ok(e, "PUT", "/presence/bob", t.carol, "{\"state\":\"busy\",\"note\":null}", 200);
    g_assert_cmpstr(str(obj(p), "state"), ==, "busy");
    g_assert_true(json_object_get_null_member(obj(p), "note"));
    g_assert_true(json_object_get_null_member(obj(p), "until"));
    json_node_free(p);

    /* DELETE clears the manual part */
    p = req_ok(e, "DELETE", "/presence/bob", t.bob, NULL, 200);
    g_assert_cmpstr(str(obj(p), "manual_state"), ==, "unknown");
    g_assert_cmpstr(str(obj(p), "state"), !=, "busy");
    json_node_free(p);

    /* until as milliseconds */
    gint64 ms = g_get_real_time() / 1000 + 600000;
    char *ms_body = g_strdup_printf("{\"state\":\"dnd\",\"until\":%" G_GINT64_FORMAT "}", ms);
    p = req_ok(e, "PUT", "/presence/dave", t.dave, ms_body, 200);
    g_assert_cmpint(json_object_get_int_member(obj(p), "until_ms"), ==, ms);
    g_assert_cmpstr(str(obj(p), "state"), ==, "dnd");
    json_node_free(p);

    g_free(ms_body);
    g_free(body);
    g_free(until);
    tokens_free(&t);
    api_env_stop(e);
}

static void test_bad_input(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    char *dave = api_login(e, "dave", "pw-dave");
    const char *path = "/presence/dave";
    expect_error(e, "PUT", path, dave, "{\"state\":\"sleeping\"}", 400, "invalid_argument",
                 "state: 'sleeping'");
    expect_error(e, "PUT", path, dave, "{\"state\":\"on_phone\"}", 400, "invalid_argument",
                 "state");
    expect_error(e, "PUT", path, dave, "{\"state\":3}", 400, "invalid_argument", "state");
    expect_error(e, "PUT", path, dave, "{\"note\":\"no state\"}", 400, "invalid_argument",
                 "state: missing");
    expect_error(e, "PUT", path, dave, "{\"state\":\"away\",\"note\":42}", 400, "invalid_argument",
                 "note");
    char *long_note = g_strnfill(257, 'n');
    char *body = g_strdup_printf("{\"state\":\"away\",\"note\":\"%s\"}", long_note);
    expect_error(e, "PUT", path, dave, body, 400, "invalid_argument", "note");
    g_free(body);
    g_free(long_note);
    expect_error(e, "PUT", path, dave, "{\"state\":\"away\",\"until\":\"tomorrow\"}", 400,
                 "invalid_argument", "until");
    expect_error(e, "PUT", path, dave, "{\"state\":\"away\",\"until\":\"2001-01-01T00:00:00Z\"}",
                 400, "invalid_argument", "until: must be in the future");
    expect_error(e, "PUT", path, dave, "{\"state\":\"away\",\"until\":1000}", 400,
                 "invalid_argument", "until: must be in the future");
    expect_error(e, "PUT", path, dave, "{\"state\":\"away\",\"until\":1.5e13}", 400,
                 "invalid_argument", "until");
    expect_error(e, "PUT", path, dave, "{\"state\":\"away\",\"until\":true}", 400,
                 "invalid_argument", "until");
    expect_error(e, "PUT", path, dave, "{\"state\":\"away\",\"mood\":\"great\"}", 400,
                 "unknown_field", "mood");
    expect_error(e, "PUT", path, dave, "{\"state\":", 400, "invalid_json", NULL);
    expect_error(e, "PUT", path, dave, "[\"away\"]", 400, NULL, NULL);
    expect_error(e, "PUT", "/presence/nobody", dave, "{\"state\":\"away\"}", 404, "not_found",
                 "nobody");
    expect_error(e, "GET", "/presence/nobody", dave, NULL, 404, "not_found", "nobody");
    expect_error(e, "DELETE", "/presence/nobody", dave, NULL, 404, "not_found", NULL);
    /* nothing of it changed dave's presence */
    JsonNode *p = req_ok(e, "GET", path, dave, NULL, 200);
    g_assert_cmpstr(str(obj(p), "manual_state"), ==, "unknown");
    json_node_free(p);
    g_free(dave);
    api_env_stop(e);
}

static void test_etag_and_keys(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    char *carol = api_login(e, "carol", "pw-carol");
    char *etag = NULL, *etag2 = NULL;
    g_assert_cmpuint(get_etag(e, "/presence", carol, NULL, &etag), ==, 200);
    g_assert_nonnull(etag);
    g_assert_cmpuint(get_etag(e, "/presence", carol, etag, NULL), ==, 304);
    json_node_free(req_ok(e, "PUT", "/presence/carol", carol, "{\"state\":\"busy\"}", 200));
    g_assert_cmpuint(get_etag(e, "/presence", carol, etag, &etag2), ==, 200);
    g_assert_cmpstr(etag, !=, etag2);
    g_assert_cmpuint(get_etag(e, "/presence", carol, etag2, NULL), ==, 304);

    /* a key with presence:read sees as the system; writing needs
     * presence:write, with which it acts as the system */
    char *reader = make_key(e, "reader", "presence:read", NULL);
    char *writer = make_key(e, "writer", "presence:read,presence:write", NULL);
    json_node_free(
        req_ok(e, "PUT", "/presence/carol", carol, "{\"state\":\"away\",\"note\":\"n1\"}", 200));
    JsonNode *list = req_ok(e, "GET", "/presence", reader, NULL, 200);
    g_assert_cmpstr(str(item_by(items_of(list), "user_id", "file:carol"), "note"), ==, "n1");
    json_node_free(list);
    expect_error(e, "PUT", "/presence/carol", reader, "{\"state\":\"busy\"}", 403, "forbidden",
                 NULL);
    JsonNode *p = req_ok(e, "PUT", "/presence/dave", writer, "{\"state\":\"out_of_office\"}", 200);
    g_assert_cmpstr(str(obj(p), "state"), ==, "out_of_office");
    json_node_free(p);
    json_node_free(req_ok(e, "DELETE", "/presence/dave", writer, NULL, 200));
    g_free(reader);
    g_free(writer);
    g_free(etag);
    g_free(etag2);
    g_free(carol);
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/presence/levels", test_levels);
    g_test_add_func("/api/presence/bad-input", test_bad_input);
    g_test_add_func("/api/presence/etag-and-keys", test_etag_and_keys);
    return g_test_run();
}
