/*
 * test-api-auth.c - logins, sessions and API keys of the client API against
 * the real ucd (api-util.h): users-file passwords (tests/api/users.xml,
 * "pw-LOGIN") and an LDAP bind on a real slapd; wrong, unknown and disabled
 * logins; the failed-login limit and its Retry-After; refresh rotating both
 * tokens; logout, expiry, forgery and `ucctl api sessions revoke`; API keys
 * made with ucctl and held to their scopes. Every test ends by searching the
 * daemon's log and the module's state files for each password and token it
 * used: none may be there.
 */
#include <string.h>

#include <libsoup/soup.h>

#include "api-util.h"
#include "harness.h"

/* Every secret a test handled, searched for at its end. */
typedef struct secrets {
    GPtrArray *items;
} secrets;

static void secrets_add(secrets *s, const char *secret)
{
    if (s->items == NULL)
        s->items = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(s->items, g_strdup(secret));
}

static gboolean file_contains(const char *path, const char *needle)
{
    char *bytes = NULL;
    gsize length = 0;
    gboolean found = FALSE;
    if (g_file_get_contents(path, &bytes, &length, NULL))
        found = memmem(bytes, length, needle, strlen(needle)) != NULL;
    g_free(bytes);
    return found;
}

/* Searches every file under `dir` (recursively) for `needle`; the first
 * that has it, or NULL. */
static char *tree_find(const char *dir, const char *needle)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    char *hit = NULL;
    while (d && !hit && (name = g_dir_read_name(d))) {
        char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            hit = tree_find(path, needle);
        else if (g_file_test(path, G_FILE_TEST_IS_REGULAR) && file_contains(path, needle))
            hit = g_strdup(path);
        g_free(path);
    }
    if (d)
        g_dir_close(d);
    return hit;
}

/* No secret in the log or the state files (the sessions database and its
 * WAL among them), and the database is there. */
static void assert_no_secrets(api_env *e, secrets *s)
{
    harness *h = api_env_harness(e);
    char *state = g_build_filename(h->dir, "state", NULL);
    char *db = g_build_filename(state, "api-http", "sessions.db", NULL);
    g_assert_true(g_file_test(db, G_FILE_TEST_IS_REGULAR));
    for (guint i = 0; s->items && i < s->items->len; i++) {
        const char *secret = s->items->pdata[i];
        g_assert_false(file_contains(h->log_path, secret));
        char *hit = tree_find(state, secret);
        if (hit)
            g_error("%s holds a secret it must not: %.9s...", hit, secret);
    }
    g_free(db);
    g_free(state);
    if (s->items)
        g_ptr_array_free(s->items, TRUE);
    s->items = NULL;
}

static const char *error_message(JsonNode *node)
{
    JsonObject *o = node ? json_node_get_object(node) : NULL;
    if (o == NULL || !json_object_has_member(o, "error"))
        return NULL;
    return json_object_get_string_member(json_object_get_object_member(o, "error"), "message");
}

/* POST /auth/login; the answer and its status. */
static JsonNode *try_login(api_env *e, const char *login, const char *password, guint *status)
{
    char *body = api_login_body(login, password);
    JsonNode *node = api_req(e, "POST", "/auth/login", NULL, body, status);
    g_free(body);
    return node;
}

/* Asserts an error answer: `status` and `code`, and a message that
 * contains `says` (NULL: any). */
static void assert_error(JsonNode *node, guint status, guint expected_status, const char *code,
                         const char *says)
{
    g_assert_cmpuint(status, ==, expected_status);
    g_assert_cmpstr(api_error_code(node), ==, code);
    if (says && !strstr(error_message(node), says))
        g_error("the message '%s' does not say '%s'", error_message(node), says);
    json_node_free(node);
}

/* GET /auth/sessions with `token`: its status (the answer dropped). */
static guint sessions_status(api_env *e, const char *token, const char **code_out)
{
    guint status = 0;
    JsonNode *node = api_req(e, "GET", "/auth/sessions", token, NULL, &status);
    static char code[64];
    g_strlcpy(code, api_error_code(node), sizeof code);
    if (code_out)
        *code_out = code;
    json_node_free(node);
    return status;
}

static JsonNode *ucctl(api_env *e, const char *const *argv)
{
    return harness_ok(api_env_harness(e), argv);
}

/* The value of the reply field `name`, or NULL (g_free it). */
static char *reply_field(JsonNode *r, const char *name)
{
    return g_strdup(harness_field(r, name));
}

static guint reply_rows(JsonNode *r)
{
    JsonObject *o = json_node_get_object(r);
    return json_object_has_member(o, "rows")
               ? json_array_get_length(json_object_get_array_member(o, "rows"))
               : 0;
}

/* ---- logins -------------------------------------------------------------- */

static void test_login(void)
{
    api_env *e = api_env_start(NULL);
    secrets s = {0};
    secrets_add(&s, "pw-alice");
    secrets_add(&s, "wrong-password");
    secrets_add(&s, "pw-eve");

    guint status = 0;
    JsonNode *node = try_login(e, "alice", "pw-alice", &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *o = json_node_get_object(node);
    const char *access = json_object_get_string_member(o, "access_token");
    const char *refresh = json_object_get_string_member(o, "refresh_token");
    g_assert_true(g_str_has_prefix(access, "ucda_"));
    g_assert_true(g_str_has_prefix(refresh, "ucdr_"));
    g_assert_cmpint(json_object_get_int_member(o, "expires_in"), >, 0);
    g_assert_cmpstr(json_object_get_string_member(o, "token_type"), ==, "Bearer");
    char *session = g_strdup(json_object_get_string_member(o, "session_id"));
    JsonObject *user = json_object_get_object_member(o, "user");
    g_assert_cmpstr(json_object_get_string_member(user, "login"), ==, "alice");
    char *token = g_strdup(access);
    char *refresh_token = g_strdup(refresh);
    secrets_add(&s, access);
    secrets_add(&s, refresh);
    json_node_free(node);

    /* her sessions: this one, marked current; no token in the list */
    node = api_req(e, "GET", "/auth/sessions", token, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonArray *items = json_object_get_array_member(json_node_get_object(node), "items");
    g_assert_cmpuint(json_array_get_length(items), ==, 1);
    JsonObject *item = json_array_get_object_element(items, 0);
    g_assert_cmpstr(json_object_get_string_member(item, "id"), ==, session);
    g_assert_true(json_object_get_boolean_member(item, "current"));
    g_assert_cmpstr(json_object_get_string_member(item, "address"), ==, "127.0.0.1");
    char *text = json_to_string(node, FALSE);
    g_assert_null(strstr(text, "ucda_"));
    g_free(text);
    json_node_free(node);

    /* a wrong password and an unknown login get the same answer */
    node = try_login(e, "alice", "wrong-password", &status);
    assert_error(node, status, 401, "unauthenticated", "wrong login or password");
    node = try_login(e, "nobody-at-all", "wrong-password", &status);
    assert_error(node, status, 401, "unauthenticated", "wrong login or password");
    /* eve is disabled: a wrong password gets the answer of an unknown
     * login, so nobody learns that eve exists; users-file refuses her right
     * password too (a backend that takes it: test_ldap_bind) */
    node = try_login(e, "eve", "wrong-password", &status);
    assert_error(node, status, 401, "unauthenticated", "wrong login or password");
    node = try_login(e, "eve", "pw-eve", &status);
    assert_error(node, status, 401, "unauthenticated", "wrong login or password");
    /* bad bodies */
    node = api_req(e, "POST", "/auth/login", NULL, "{\"login\":\"alice\"}", &status);
    assert_error(node, status, 400, "invalid_argument", "\"password\" is missing");
    node = api_req(e, "POST", "/auth/login", NULL, "{\"login\":\"\",\"password\":\"x\"}", &status);
    assert_error(node, status, 400, "invalid_argument", "\"login\" is empty");
    node = api_req(e, "POST", "/auth/login", NULL, "{\"login\":\"alice\",\"password\":7}", &status);
    assert_error(node, status, 400, "invalid_argument", "\"password\" must be a string");
    node = api_req(e, "POST", "/auth/login", NULL,
                   "{\"login\":\"alice\",\"password\":\"x\",\"otp\":\"1\"}", &status);
    g_assert_cmpuint(status, ==, 400);
    json_node_free(node);

    /* the log says who failed from where, without the password */
    harness *h = api_env_harness(e);
    g_assert_true(harness_wait_log(h, "failed login for 'alice' from 127.0.0.1: wrong password"));
    g_assert_true(harness_wait_log(h, "failed login for 'nobody-at-all' from 127.0.0.1"));

    /* a forged token, a token of another kind, no token */
    const char *code = NULL;
    g_assert_cmpuint(sessions_status(e, "ucda_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &code),
                     ==, 401);
    g_assert_cmpstr(code, ==, "unauthenticated");
    g_assert_cmpuint(sessions_status(e, "not-even-a-token", &code), ==, 401);
    g_assert_cmpuint(sessions_status(e, refresh_token, &code), ==, 401);
    g_assert_cmpuint(sessions_status(e, NULL, &code), ==, 401);
    g_assert_cmpuint(sessions_status(e, token, &code), ==, 200);

    /* logout: the token is refused afterwards */
    node = api_req(e, "POST", "/auth/logout", token, NULL, &status);
    g_assert_cmpuint(status, ==, 204);
    if (node)
        json_node_free(node);
    g_assert_cmpuint(sessions_status(e, token, &code), ==, 401);
    g_assert_cmpstr(code, ==, "unauthenticated");

    assert_no_secrets(e, &s);
    api_env_stop(e);
    g_free(token);
    g_free(refresh_token);
    g_free(session);
}

/* ---- refresh --------------------------------------------------------------- */

static void test_refresh(void)
{
    api_env *e = api_env_start(NULL);
    secrets s = {0};
    guint status = 0;
    JsonNode *first = try_login(e, "bob", "pw-bob", &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *o = json_node_get_object(first);
    const char *access = json_object_get_string_member(o, "access_token");
    const char *refresh = json_object_get_string_member(o, "refresh_token");
    const char *session = json_object_get_string_member(o, "session_id");
    secrets_add(&s, "pw-bob");
    secrets_add(&s, access);
    secrets_add(&s, refresh);

    char *body = g_strdup_printf("{\"refresh_token\":\"%s\"}", refresh);
    JsonNode *second = api_req(e, "POST", "/auth/refresh", NULL, body, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *n = json_node_get_object(second);
    const char *access2 = json_object_get_string_member(n, "access_token");
    const char *refresh2 = json_object_get_string_member(n, "refresh_token");
    secrets_add(&s, access2);
    secrets_add(&s, refresh2);
    g_assert_cmpstr(access2, !=, access);
    g_assert_cmpstr(refresh2, !=, refresh);
    g_assert_cmpstr(json_object_get_string_member(n, "session_id"), ==, session);

    /* both old tokens are dead, the new access token works */
    const char *code = NULL;
    g_assert_cmpuint(sessions_status(e, access, &code), ==, 401);
    g_assert_cmpuint(sessions_status(e, access2, &code), ==, 200);
    JsonNode *again = api_req(e, "POST", "/auth/refresh", NULL, body, &status);
    assert_error(again, status, 401, "unauthenticated", NULL);
    JsonNode *bad =
        api_req(e, "POST", "/auth/refresh", NULL, "{\"refresh_token\":\"ucda_x\"}", &status);
    assert_error(bad, status, 401, "unauthenticated", NULL);

    assert_no_secrets(e, &s);
    json_node_free(first);
    json_node_free(second);
    g_free(body);
    api_env_stop(e);
}

/* ---- expiry ------------------------------------------------------------------ */

static void test_expired(void)
{
    api_env *e = api_env_start("session_lifetime = 1s\n");
    guint status = 0;
    JsonNode *node = try_login(e, "carol", "pw-carol", &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *o = json_node_get_object(node);
    g_assert_cmpint(json_object_get_int_member(o, "expires_in"), ==, 1);
    const char *access = json_object_get_string_member(o, "access_token");
    /* expiry is a wall-clock time in the past after 1 s: wait past it */
    const char *code = NULL;
    guint seen = 200;
    for (int i = 0; i < 40 && seen == 200; i++) {
        g_usleep(100 * 1000);
        seen = sessions_status(e, access, &code);
    }
    g_assert_cmpuint(seen, ==, 401);
    g_assert_cmpstr(code, ==, "token_expired");
    /* the refresh token lives on: new tokens, which work */
    char *body = g_strdup_printf("{\"refresh_token\":\"%s\"}",
                                 json_object_get_string_member(o, "refresh_token"));
    JsonNode *renewed = api_req(e, "POST", "/auth/refresh", NULL, body, &status);
    g_assert_cmpuint(status, ==, 200);
    const char *fresh =
        json_object_get_string_member(json_node_get_object(renewed), "access_token");
    g_assert_cmpuint(sessions_status(e, fresh, &code), ==, 200);
    json_node_free(renewed);
    json_node_free(node);
    g_free(body);
    api_env_stop(e);
}

/* ---- the failed-login limit ------------------------------------------------- */

/* A login; its status and its Retry-After header (NULL: none). */
static guint raw_login(api_env *e, const char *login, const char *password, char **retry_after)
{
    char *body = api_login_body(login, password);
    guint status = 0;
    SoupMessageHeaders *headers = NULL;
    JsonNode *node = api_req_full(e, "POST", "/auth/login", NULL, body, NULL, &status, &headers);
    *retry_after = g_strdup(soup_message_headers_get_one(headers, "Retry-After"));
    soup_message_headers_unref(headers);
    if (node)
        json_node_unref(node);
    g_free(body);
    return status;
}

static void test_rate_limit(void)
{
    api_env *e = api_env_start("login_attempts = 3\n");
    secrets s = {0};
    secrets_add(&s, "guess-1");
    secrets_add(&s, "guess-2");
    secrets_add(&s, "guess-3");
    secrets_add(&s, "pw-dave");
    char *retry = NULL;
    for (int i = 1; i <= 3; i++) {
        char guess[16];
        g_snprintf(guess, sizeof guess, "guess-%d", i);
        g_assert_cmpuint(raw_login(e, "dave", guess, &retry), ==, 401);
        g_assert_null(retry);
    }
    /* over the limit: refused, even with the right password, and told when */
    g_assert_cmpuint(raw_login(e, "dave", "pw-dave", &retry), ==, 429);
    g_assert_nonnull(retry);
    guint64 seconds = g_ascii_strtoull(retry, NULL, 10);
    g_assert_cmpuint(seconds, >=, 1);
    g_assert_cmpuint(seconds, <=, 60);
    g_free(retry);
    guint status = 0;
    JsonNode *node = try_login(e, "dave", "pw-dave", &status);
    assert_error(node, status, 429, "rate_limited", "too many failed logins");
    /* the address is over its limit too: another login from it waits */
    g_assert_cmpuint(raw_login(e, "alice", "pw-alice", &retry), ==, 429);
    g_free(retry);
    g_assert_true(harness_wait_log(api_env_harness(e), "failed login for 'dave' from 127.0.0.1"));
    assert_no_secrets(e, &s);
    api_env_stop(e);
}

/* ---- revocation with ucctl ---------------------------------------------------- */

static void test_revoke(void)
{
    api_env *e = api_env_start(NULL);
    secrets s = {0};
    char *alice = api_login(e, "alice", "pw-alice");
    char *bob1 = api_login(e, "bob", "pw-bob");
    char *bob2 = api_login(e, "bob", "pw-bob");
    secrets_add(&s, alice);
    secrets_add(&s, bob1);
    secrets_add(&s, bob2);

    const char *tokens[] = {"api", "tokens", NULL};
    JsonNode *r = ucctl(e, tokens);
    g_assert_cmpuint(reply_rows(r), ==, 6); /* three sessions, two tokens each */
    char *text = json_to_string(r, FALSE);
    g_assert_null(strstr(text, "ucda_"));
    g_assert_null(strstr(text, "ucdr_"));
    g_free(text);
    json_node_free(r);

    const char *of_alice[] = {"api", "sessions", "alice", NULL};
    r = ucctl(e, of_alice);
    g_assert_cmpuint(reply_rows(r), ==, 1);
    JsonArray *row = json_array_get_array_element(
        json_object_get_array_member(json_node_get_object(r), "rows"), 0);
    char *id = g_strdup(json_array_get_string_element(row, 0));
    g_assert_cmpstr(json_array_get_string_element(row, 1), ==, "alice");
    json_node_free(r);

    const char *code = NULL;
    g_assert_cmpuint(sessions_status(e, alice, &code), ==, 200);
    const char *revoke[] = {"api", "sessions", "revoke", id, NULL};
    json_node_free(ucctl(e, revoke));
    g_assert_cmpuint(sessions_status(e, alice, &code), ==, 401);
    g_assert_cmpstr(code, ==, "unauthenticated");
    g_assert_cmpuint(sessions_status(e, bob1, &code), ==, 200);

    const char *revoke_bob[] = {"api", "sessions", "revoke", "--user", "bob", NULL};
    r = ucctl(e, revoke_bob);
    char *count = reply_field(r, "revoked");
    g_assert_cmpstr(count, ==, "2");
    g_free(count);
    json_node_free(r);
    g_assert_cmpuint(sessions_status(e, bob1, &code), ==, 401);
    g_assert_cmpuint(sessions_status(e, bob2, &code), ==, 401);

    const char *unknown[] = {"api", "sessions", "revoke", "no-such-session", NULL};
    r = harness_request(api_env_harness(e), unknown);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "ok"));
    json_node_free(r);

    assert_no_secrets(e, &s);
    g_free(id);
    g_free(alice);
    g_free(bob1);
    g_free(bob2);
    api_env_stop(e);
}

/* ---- sessions of others --------------------------------------------------- */

static void test_sessions_of_others(void)
{
    /* alice is in file:admins, the admin group here */
    api_env *e = api_env_start("admin_group = file:admins\n");
    char *alice = api_login(e, "alice", "pw-alice");
    char *carol = api_login(e, "carol", "pw-carol");
    guint status = 0;
    JsonNode *node = api_req(e, "GET", "/auth/sessions?user=carol", carol, NULL, &status);
    g_assert_cmpuint(status, ==, 200); /* her own, by name */
    json_node_free(node);
    node = api_req(e, "GET", "/auth/sessions?user=alice", carol, NULL, &status);
    assert_error(node, status, 403, "forbidden", "admin");
    node = api_req(e, "GET", "/auth/sessions?user=carol", alice, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonArray *items = json_object_get_array_member(json_node_get_object(node), "items");
    g_assert_cmpuint(json_array_get_length(items), ==, 1);
    char *carol_session =
        g_strdup(json_object_get_string_member(json_array_get_object_element(items, 0), "id"));
    g_assert_false(
        json_object_get_boolean_member(json_array_get_object_element(items, 0), "current"));
    json_node_free(node);

    /* carol cannot end alice's session (it does not exist for her) */
    node = api_req(e, "GET", "/auth/sessions", alice, NULL, &status);
    items = json_object_get_array_member(json_node_get_object(node), "items");
    char *path = g_strdup_printf(
        "/auth/sessions/%s",
        json_object_get_string_member(json_array_get_object_element(items, 0), "id"));
    json_node_free(node);
    node = api_req(e, "DELETE", path, carol, NULL, &status);
    assert_error(node, status, 404, "not_found", NULL);
    g_free(path);
    /* the admin ends carol's */
    path = g_strdup_printf("/auth/sessions/%s", carol_session);
    node = api_req(e, "DELETE", path, alice, NULL, &status);
    g_assert_cmpuint(status, ==, 204);
    if (node)
        json_node_free(node);
    const char *code = NULL;
    g_assert_cmpuint(sessions_status(e, carol, &code), ==, 401);
    g_assert_cmpuint(sessions_status(e, alice, &code), ==, 200);
    g_free(path);
    g_free(carol_session);
    g_free(alice);
    g_free(carol);
    api_env_stop(e);
}

/* ---- API keys ------------------------------------------------------------------ */

static void test_api_keys(void)
{
    api_env *e = api_env_start(NULL);
    secrets s = {0};
    const char *create[] = {"api",           "keys",    "create", "crm", "--scope",
                            "presence:read", "--users", "bob",    NULL};
    JsonNode *r = ucctl(e, create);
    char *key = reply_field(r, "key");
    g_assert_true(g_str_has_prefix(key, "ucdk_"));
    secrets_add(&s, key);
    char *users = reply_field(r, "users");
    g_assert_cmpstr(users, ==, "file:bob");
    g_free(users);
    json_node_free(r);

    /* listed without the key */
    const char *list[] = {"api", "keys", NULL};
    r = ucctl(e, list);
    g_assert_cmpstr(harness_cell(r, "crm", "scopes"), ==, "presence:read");
    g_assert_cmpstr(harness_cell(r, "crm", "users"), ==, "bob");
    char *text = json_to_string(r, FALSE);
    g_assert_null(strstr(text, key));
    g_free(text);
    json_node_free(r);

    /* bad requests say what is wrong */
    const char *taken[] = {"api", "keys", "create", "crm", "--scope", "presence:read", NULL};
    r = harness_request(api_env_harness(e), taken);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "ok"));
    json_node_free(r);
    const char *no_scope[] = {"api", "keys", "create", "other", NULL};
    r = harness_request(api_env_harness(e), no_scope);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "ok"));
    json_node_free(r);
    const char *bad_user[] = {"api",          "keys",    "create",        "other", "--scope",
                              "journal:read", "--users", "nobody-at-all", NULL};
    r = harness_request(api_env_harness(e), bad_user);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "ok"));
    json_node_free(r);

    /* in its scope: yes; a route without its scope, or for users only: no */
    guint status = 0;
    JsonNode *node = api_req(e, "GET", "/presence", key, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    json_node_free(node);
    node = api_req(e, "GET", "/journal", key, NULL, &status);
    assert_error(node, status, 403, "forbidden", NULL);
    node = api_req(e, "GET", "/auth/sessions", key, NULL, &status);
    assert_error(node, status, 403, "forbidden", NULL);

    const char *revoke[] = {"api", "keys", "revoke", "crm", NULL};
    json_node_free(ucctl(e, revoke));
    node = api_req(e, "GET", "/presence", key, NULL, &status);
    assert_error(node, status, 401, "unauthenticated", NULL);

    assert_no_secrets(e, &s);
    g_free(key);
    api_env_stop(e);
}

/* ---- LDAP: the password is checked by a bind on a real slapd ---------------- */

/* The directory fills from the sync: waits for `login` there (a login
 * before would fail, and count against the limit). */
static void wait_for_user(harness *h, const char *login)
{
    gboolean known = FALSE;
    for (int i = 0; i < 400 && !known; i++) {
        const char *show[] = {"users", "show", login, NULL};
        JsonNode *r = harness_request(h, show);
        known = r && json_object_get_boolean_member(json_node_get_object(r), "ok");
        if (r)
            json_node_free(r);
        if (!known)
            g_usleep(50 * 1000);
    }
    g_assert_true(known);
}

static void test_ldap_bind(void)
{
    const char *args[] = {"20", NULL};
    harness_peer *ldap = harness_peer_start(harness_env("UCD_SLAPD_SCRIPT"), "LDAP_DIR", args);
    if (ldap == NULL)
        return; /* skipped: slapd not installed and not CI */
    /* users-ldap's section without the home server keys */
    char *common = g_strdup_printf(
        "\n[module users-ldap]\n"
        "uris = %s\nstarttls = true\nca_file = %s\n"
        "bind_dn = %s\nbind_password = %s\n"
        "base_dn = ou=Users,dc=example,dc=test\ngroup_base_dn = ou=Groups,dc=example,dc=test\n"
        "filter = (objectClass=inetOrgPerson)\ngroup_filter = (objectClass=groupOfNames)\n",
        harness_peer_get(ldap, "LDAP_URI"), harness_peer_get(ldap, "LDAP_CACERT"),
        harness_peer_get(ldap, "LDAP_ADMIN_DN"), harness_peer_get(ldap, "LDAP_ADMIN_PW"));
    char *extra = g_strconcat(common, "home_server_attribute =\n", NULL);
    api_env *e = api_env_start(extra);
    harness *h = api_env_harness(e);
    g_assert_true(harness_wait_state(h, "users-ldap", "running"));
    secrets s = {0};
    secrets_add(&s, "Passw0rd");
    secrets_add(&s, "NotThePassword");

    wait_for_user(h, "user7");
    guint status = 0;
    JsonNode *node = try_login(e, "user7", "Passw0rd", &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *o = json_node_get_object(node);
    secrets_add(&s, json_object_get_string_member(o, "access_token"));
    secrets_add(&s, json_object_get_string_member(o, "refresh_token"));
    g_assert_cmpstr(
        json_object_get_string_member(json_object_get_object_member(o, "user"), "login"), ==,
        "user7");
    const char *code = NULL;
    g_assert_cmpuint(sessions_status(e, json_object_get_string_member(o, "access_token"), &code),
                     ==, 200);
    json_node_free(node);

    node = try_login(e, "user8", "NotThePassword", &status);
    assert_error(node, status, 401, "unauthenticated", "wrong login or password");
    g_assert_true(harness_wait_log(h, "failed login for 'user8' from 127.0.0.1: wrong password"));

    assert_no_secrets(e, &s);
    api_env_stop(e);

    /* every user disabled (no home server value, unhomed users not
     * enabled), the bind still taking their passwords: only the right
     * password hears that the account is disabled */
    char *disabled = g_strconcat(common,
                                 "home_server_attribute = roomNumber\n"
                                 "unhomed_users_enabled = false\n",
                                 NULL);
    e = api_env_start(disabled);
    h = api_env_harness(e);
    g_assert_true(harness_wait_state(h, "users-ldap", "running"));
    wait_for_user(h, "user7");
    node = try_login(e, "user7", "NotThePassword", &status);
    assert_error(node, status, 401, "unauthenticated", "wrong login or password");
    node = try_login(e, "user7", "Passw0rd", &status);
    assert_error(node, status, 403, "forbidden", "user7 is disabled");
    api_env_stop(e);
    g_free(disabled);
    harness_peer_stop(ldap);
    g_free(extra);
    g_free(common);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/auth/login", test_login);
    g_test_add_func("/api/auth/refresh", test_refresh);
    g_test_add_func("/api/auth/expired", test_expired);
    g_test_add_func("/api/auth/rate-limit", test_rate_limit);
    g_test_add_func("/api/auth/revoke", test_revoke);
    g_test_add_func("/api/auth/sessions-of-others", test_sessions_of_others);
    g_test_add_func("/api/auth/api-keys", test_api_keys);
    g_test_add_func("/api/auth/ldap-bind", test_ldap_bind);
    return g_test_run();
}
