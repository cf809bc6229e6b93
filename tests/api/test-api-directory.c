/*
 * test-api-directory.c - GET /me, /users, /groups and /lines of the client
 * API against the real ucd (api-util.h: users-file with tests/api/users.xml,
 * pbx-sim lines 201..210, [permissions] default public, sales business among
 * itself). Each user object is checked member by member against the level
 * the caller sees it at; searches, keyset pages, ETags, and bad input.
 */
#include "routes-check.h"

/* Members of a user object at each level (routes-model.h). */
static const char *const ALWAYS[] = {"id", "login", "display_name", "level", NULL};
static const char *const PUBLIC[] = {"given_name", "surname", "email",    "department", "title",
                                     "numbers",    "groups",  "presence", NULL};
static const char *const BUSINESS[] = {"lines", "calls", NULL};
static const char *const PERSONAL[] = {"enabled", "active_here", "home_server",
                                       "backend", "e164",        NULL};

static gboolean has_all(JsonObject *o, const char *const *names)
{
    for (const char *const *n = names; *n; n++)
        if (!json_object_has_member(o, *n))
            return FALSE;
    return TRUE;
}

static gboolean has_any(JsonObject *o, const char *const *names)
{
    for (const char *const *n = names; *n; n++)
        if (json_object_has_member(o, *n))
            return TRUE;
    return FALSE;
}

/* The user object holds exactly what `level` allows. */
static void assert_user_level(JsonObject *u, const char *level)
{
    g_assert_cmpstr(str(u, "level"), ==, level);
    g_assert_true(has_all(u, ALWAYS));
    gboolean pub = TRUE, business = strcmp(level, "public") != 0,
             personal = strcmp(level, "personal") == 0;
    g_assert_true(has_all(u, PUBLIC) == pub);
    g_assert_true(business ? has_all(u, BUSINESS) : !has_any(u, BUSINESS));
    g_assert_true(personal ? has_all(u, PERSONAL) : !has_any(u, PERSONAL));
    guint members = json_object_get_size(u);
    g_assert_cmpuint(members, ==,
                     4 + 8 + (business ? 2 : 0) + (personal ? 5 : 0)); /* nothing else */
    JsonNode *presence = json_object_get_member(u, "presence");
    if (JSON_NODE_HOLDS_OBJECT(presence))
        g_assert_true(json_object_has_member(json_node_get_object(presence), "note") == business);
}

static JsonObject *user_in(JsonNode *list, const char *login)
{
    return item_by(items_of(list), "login", login);
}

/* ---- /me ---- */

static void test_me(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    tokens t = {0};
    tokens_login(e, &t);

    JsonNode *me = req_ok(e, "GET", "/me", t.alice, NULL, 200);
    JsonObject *o = obj(me);
    g_assert_cmpstr(str(o, "id"), ==, "file:alice");
    g_assert_cmpstr(str(o, "role"), ==, "admin");
    g_assert_cmpstr(str(o, "level"), ==, "personal");
    g_assert_true(has_all(o, PERSONAL));
    g_assert_true(json_object_get_boolean_member(o, "enabled"));
    g_assert_cmpstr(str(o, "backend"), ==, "users-file");
    JsonObject *levels = json_object_get_object_member(
        json_object_get_object_member(o, "permissions"), "users_by_level");
    /* an admin sees the four others at personal, eve (disabled) too */
    g_assert_cmpint(json_object_get_int_member(levels, "personal"), ==, 4);
    g_assert_cmpint(json_object_get_int_member(levels, "public"), ==, 0);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o, "leads")), ==, 0);
    JsonArray *lines = json_object_get_array_member(o, "lines");
    g_assert_cmpuint(json_array_get_length(lines), ==, 1);
    g_assert_cmpstr(str(json_array_get_object_element(lines, 0), "address"), ==, "201");
    json_node_free(me);

    me = req_ok(e, "GET", "/me", t.bob, NULL, 200);
    o = obj(me);
    g_assert_cmpstr(str(o, "role"), ==, "leader");
    g_assert_cmpstr(json_array_get_string_element(json_object_get_array_member(o, "leads"), 0), ==,
                    "file:sales");
    levels = json_object_get_object_member(json_object_get_object_member(o, "permissions"),
                                           "users_by_level");
    g_assert_cmpint(json_object_get_int_member(levels, "business"), ==, 1); /* carol */
    g_assert_cmpint(json_object_get_int_member(levels, "public"), ==, 2);   /* alice, dave */
    g_assert_cmpint(json_object_get_int_member(levels, "blocked"), ==, 1);  /* eve, disabled */
    json_node_free(me);

    me = req_ok(e, "GET", "/me", t.dave, NULL, 200);
    g_assert_cmpstr(str(obj(me), "role"), ==, "user");
    json_node_free(me);

    /* an API key has no user; no token at all is no caller */
    char *key = make_key(e, "dir", "directory:read", NULL);
    expect_error(e, "GET", "/me", key, NULL, 403, "forbidden", NULL);
    expect_error(e, "GET", "/me", NULL, NULL, 401, "unauthenticated", NULL);
    g_free(key);
    tokens_free(&t);
    api_env_stop(e);
}

/* ---- /users ---- */

static void test_users_levels(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    tokens t = {0};
    tokens_login(e, &t);

    /* dave (support) sees everyone at public, himself at personal, eve not */
    JsonNode *list = req_ok(e, "GET", "/users", t.dave, NULL, 200);
    JsonObject *o = obj(list);
    g_assert_cmpint(json_object_get_int_member(o, "total"), ==, 4);
    g_assert_true(json_object_get_null_member(o, "next"));
    assert_user_level(user_in(list, "alice"), "public");
    assert_user_level(user_in(list, "bob"), "public");
    assert_user_level(user_in(list, "carol"), "public");
    assert_user_level(user_in(list, "dave"), "personal");
    g_assert_null(user_in(list, "eve"));
    /* by login */
    g_assert_cmpstr(str(json_array_get_object_element(items_of(list), 0), "login"), ==, "alice");
    g_assert_cmpstr(str(json_array_get_object_element(items_of(list), 3), "login"), ==, "dave");
    JsonObject *bob = user_in(list, "bob");
    g_assert_cmpstr(str(bob, "email"), ==, "bob@example.com");
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(bob, "numbers")), ==, 2);
    json_node_free(list);

    /* carol (sales) sees bob at business: his lines with their state, his calls */
    JsonNode *u = req_ok(e, "GET", "/users/bob", t.carol, NULL, 200);
    assert_user_level(obj(u), "business");
    JsonArray *lines = json_object_get_array_member(obj(u), "lines");
    g_assert_cmpuint(json_array_get_length(lines), ==, 1);
    JsonObject *line = json_array_get_object_element(lines, 0);
    g_assert_cmpstr(str(line, "address"), ==, "202");
    g_assert_cmpstr(str(line, "state"), ==, "idle");
    g_assert_false(json_object_has_member(line, "forward_to")); /* personal only */
    json_node_free(u);

    /* by id as well as by login; the admin sees eve, disabled */
    u = req_ok(e, "GET", "/users/file:bob", t.dave, NULL, 200);
    assert_user_level(obj(u), "public");
    json_node_free(u);
    u = req_ok(e, "GET", "/users/eve", t.alice, NULL, 200);
    assert_user_level(obj(u), "personal");
    g_assert_false(json_object_get_boolean_member(obj(u), "enabled"));
    json_node_free(u);

    /* unknown and hidden answer alike */
    expect_error(e, "GET", "/users/nobody", t.dave, NULL, 404, "not_found", "nobody");
    expect_error(e, "GET", "/users/eve", t.dave, NULL, 404, "not_found", "eve");

    /* an admin rule blocking dave from carol hides her from him entirely */
    json_node_free(ctl(e, "permissions", "grant", "file:carol", "file:dave", "blocked", NULL));
    expect_error(e, "GET", "/users/carol", t.dave, NULL, 404, "not_found", NULL);
    list = req_ok(e, "GET", "/users", t.dave, NULL, 200);
    g_assert_null(user_in(list, "carol"));
    g_assert_cmpint(json_object_get_int_member(obj(list), "total"), ==, 3);
    json_node_free(list);
    /* and a personal grant shows everything */
    json_node_free(ctl(e, "permissions", "grant", "file:bob", "file:dave", "personal", NULL));
    u = req_ok(e, "GET", "/users/bob", t.dave, NULL, 200);
    assert_user_level(obj(u), "personal");
    json_node_free(u);

    /* an API key sees as the system */
    char *key = make_key(e, "dir", "directory:read", NULL);
    list = req_ok(e, "GET", "/users", key, NULL, 200);
    g_assert_cmpint(json_object_get_int_member(obj(list), "total"), ==, 5);
    assert_user_level(user_in(list, "eve"), "personal");
    json_node_free(list);
    char *presence_key = make_key(e, "pres", "presence:read", NULL);
    expect_error(e, "GET", "/users", presence_key, NULL, 403, "forbidden", NULL);
    g_free(presence_key);
    g_free(key);
    tokens_free(&t);
    api_env_stop(e);
}

static char *logins_of(JsonNode *list)
{
    GString *s = g_string_new(NULL);
    JsonArray *items = items_of(list);
    for (guint i = 0; i < json_array_get_length(items); i++)
        g_string_append_printf(s, "%s%s", i ? "," : "",
                               str(json_array_get_object_element(items, i), "login"));
    return g_string_free(s, FALSE);
}

/* GET `path` as `token`: the logins it lists, "," between, and next. */
static void expect_logins(api_env *e, const char *path, const char *token, const char *logins,
                          gint64 total, const char *next)
{
    JsonNode *list = req_ok(e, "GET", path, token, NULL, 200);
    char *got = logins_of(list);
    g_assert_cmpstr(got, ==, logins);
    g_assert_cmpint(json_object_get_int_member(obj(list), "total"), ==, total);
    g_assert_cmpstr(str(obj(list), "next"), ==, next);
    g_free(got);
    json_node_free(list);
}

static void test_users_search_pages(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    char *alice = api_login(e, "alice", "pw-alice");

    /* keyset pages by login: total counts every match */
    expect_logins(e, "/users?limit=2", alice, "alice,bob", 5, "bob");
    expect_logins(e, "/users?limit=2&after=bob", alice, "carol,dave", 5, "dave");
    expect_logins(e, "/users?limit=2&after=dave", alice, "eve", 5, NULL);
    expect_logins(e, "/users?after=zzz", alice, "", 5, NULL);

    /* search: names, login, e-mail (any case), digits of a number */
    expect_logins(e, "/users?q=CLERK", alice, "carol", 1, NULL);
    expect_logins(e, "/users?q=bo", alice, "bob", 1, NULL);
    expect_logins(e, "/users?q=example.com&limit=1", alice, "alice", 4, "alice");
    expect_logins(e, "/users?q=452133-204", alice, "dave", 1, NULL);
    expect_logins(e, "/users?q=%2B49%20151%205550202", alice, "bob", 1, NULL);
    expect_logins(e, "/users?q=nothing-like-this", alice, "", 0, NULL);
    expect_logins(e, "/users?group=file:sales", alice, "bob,carol", 2, NULL);
    expect_logins(e, "/users?group=file:sales&q=carol", alice, "carol", 1, NULL);
    expect_logins(e, "/groups/file:sales/members", alice, "bob,carol", 2, NULL);
    expect_logins(e, "/groups/file:sales/members?limit=1", alice, "bob", 2, "bob");

    /* bad input names the parameter */
    expect_error(e, "GET", "/users?limit=0", alice, NULL, 400, "invalid_argument", "limit");
    expect_error(e, "GET", "/users?limit=501", alice, NULL, 400, "invalid_argument", "limit");
    expect_error(e, "GET", "/users?limit=ten", alice, NULL, 400, "invalid_argument", "limit");
    expect_error(e, "GET", "/users?after=", alice, NULL, 400, "invalid_argument", "after");
    char *long_q = g_strnfill(300, 'x');
    char *path = g_strconcat("/users?q=", long_q, NULL);
    expect_error(e, "GET", path, alice, NULL, 400, "invalid_argument", "q");
    g_free(path);
    g_free(long_q);

    /* ETag: the same list answers 304, a changed one a new tag */
    char *etag = NULL, *etag2 = NULL;
    g_assert_cmpuint(get_etag(e, "/users", alice, NULL, &etag), ==, 200);
    g_assert_nonnull(etag);
    g_assert_cmpuint(get_etag(e, "/users", alice, etag, NULL), ==, 304);
    JsonNode *p = req_ok(e, "PUT", "/presence/alice", alice, "{\"state\":\"away\"}", 200);
    json_node_free(p);
    g_assert_cmpuint(get_etag(e, "/users", alice, etag, &etag2), ==, 200);
    g_assert_cmpstr(etag, !=, etag2);
    g_free(etag);
    g_free(etag2);
    g_free(alice);
    api_env_stop(e);
}

/* ---- /groups ---- */

static void test_groups(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    char *dave = api_login(e, "dave", "pw-dave");
    JsonNode *list = req_ok(e, "GET", "/groups", dave, NULL, 200);
    g_assert_cmpint(json_object_get_int_member(obj(list), "total"), ==, 3);
    JsonObject *sales = item_by(items_of(list), "id", "file:sales");
    g_assert_cmpstr(str(sales, "name"), ==, "Sales");
    g_assert_cmpstr(
        json_array_get_string_element(json_object_get_array_member(sales, "leaders"), 0), ==,
        "file:bob");
    json_node_free(list);
    char *etag = NULL;
    g_assert_cmpuint(get_etag(e, "/groups", dave, NULL, &etag), ==, 200);
    g_assert_cmpuint(get_etag(e, "/groups", dave, etag, NULL), ==, 304);
    g_free(etag);

    JsonNode *g = req_ok(e, "GET", "/groups/file:support", dave, NULL, 200);
    g_assert_cmpstr(str(obj(g), "name"), ==, "Support");
    json_node_free(g);
    expect_error(e, "GET", "/groups/file:nope", dave, NULL, 404, "not_found", "file:nope");
    expect_error(e, "GET", "/groups/file:nope/members", dave, NULL, 404, "not_found", NULL);

    /* a leader dave may not see is left out of the group's leaders */
    json_node_free(ctl(e, "permissions", "grant", "file:bob", "file:dave", "blocked", NULL));
    g = req_ok(e, "GET", "/groups/file:sales", dave, NULL, 200);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(obj(g), "leaders")), ==, 0);
    json_node_free(g);
    g_free(dave);
    api_env_stop(e);
}

/* ---- /lines ---- */

static char *addresses_of(JsonNode *list)
{
    GString *s = g_string_new(NULL);
    JsonArray *items = items_of(list);
    for (guint i = 0; i < json_array_get_length(items); i++)
        g_string_append_printf(s, "%s%s", i ? "," : "",
                               str(json_array_get_object_element(items, i), "address"));
    return g_string_free(s, FALSE);
}

static void expect_lines(api_env *e, const char *path, const char *token, const char *addresses)
{
    JsonNode *list = req_ok(e, "GET", path, token, NULL, 200);
    char *got = addresses_of(list);
    g_assert_cmpstr(got, ==, addresses);
    g_free(got);
    json_node_free(list);
}

static void test_lines(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    tokens t = {0};
    tokens_login(e, &t);

    /* carol: her own and bob's (business); dave only his own; the admin
     * also the lines without a user */
    expect_lines(e, "/lines", t.carol, "202,203");
    expect_lines(e, "/lines", t.dave, "204");
    JsonNode *all = req_ok(e, "GET", "/lines", t.alice, NULL, 200);
    JsonArray *items = items_of(all);
    g_assert_cmpuint(json_array_get_length(items), >=, 10);
    JsonObject *l210 = item_by(items, "address", "210");
    g_assert_nonnull(l210);
    g_assert_true(json_object_get_null_member(l210, "user_id"));
    JsonObject *l202 = item_by(items, "address", "202");
    g_assert_cmpstr(str(l202, "user_id"), ==, "file:bob");
    char *driver = g_strdup(str(l202, "driver"));
    char *id = g_strdup_printf("%s/202", driver);
    g_assert_cmpstr(str(l202, "id"), ==, id);
    g_free(id);
    json_node_free(all);
    expect_lines(e, "/lines?user=bob", t.carol, "202");
    expect_lines(e, "/lines?user=file:dave", t.dave, "204");
    expect_error(e, "GET", "/lines?user=bob", t.dave, NULL, 403, "forbidden", "business");
    expect_error(e, "GET", "/lines?user=nobody", t.dave, NULL, 404, "not_found", NULL);

    /* one line: personal members for its user, 404 for one hidden */
    char *enc = g_uri_escape_string(driver, NULL, TRUE);
    char *path = g_strdup_printf("/lines/%s/204", enc);
    JsonNode *line = req_ok(e, "GET", path, t.dave, NULL, 200);
    JsonObject *o = obj(line);
    g_assert_cmpstr(str(o, "number"), ==, "204");
    g_assert_false(json_object_get_boolean_member(o, "dnd"));
    g_assert_true(json_object_get_null_member(o, "forward_to"));
    JsonArray *caps = json_object_get_array_member(o, "capabilities");
    g_assert_cmpstr(json_array_get_string_element(caps, 0), ==, "monitor");
    json_node_free(line);
    expect_error(e, "GET", path, t.carol, NULL, 404, "not_found", NULL);
    g_free(path);
    path = g_strdup_printf("/lines/%s/202", enc);
    line = req_ok(e, "GET", path, t.carol, NULL, 200);
    g_assert_false(json_object_has_member(obj(line), "dnd"));
    json_node_free(line);
    g_free(path);
    path = g_strdup_printf("/lines/%s/299", enc);
    expect_error(e, "GET", path, t.alice, NULL, 404, "not_found", "299");
    g_free(path);
    expect_error(e, "GET", "/lines/no-such-driver/201", t.alice, NULL, 404, "not_found", NULL);

    char *etag = NULL;
    g_assert_cmpuint(get_etag(e, "/lines", t.alice, NULL, &etag), ==, 200);
    g_assert_cmpuint(get_etag(e, "/lines", t.alice, etag, NULL), ==, 304);
    g_free(etag);
    g_free(enc);
    g_free(driver);
    tokens_free(&t);
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/directory/me", test_me);
    g_test_add_func("/api/directory/users-levels", test_users_levels);
    g_test_add_func("/api/directory/users-search-pages", test_users_search_pages);
    g_test_add_func("/api/directory/groups", test_groups);
    g_test_add_func("/api/directory/lines", test_lines);
    return g_test_run();
}
