/*
 * test-auth-store.c - the sessions and API keys store (auth-store.h) and the
 * tokens (auth-tokens.h): what is kept survives a reopen, the file holds
 * hashes and never a token, lookups by either token's hash, rotation,
 * revocation and purging; with the fake host, whose work queue runs each
 * write at once. Then the gate over the store (api_auth_resolve, roles)
 * and `ucctl api` against a small fake directory: what each kind of token
 * resolves to, and what is refused with which code.
 */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "auth-internal.h"
#include "auth-store.h"
#include "auth-tokens.h"
#include "fake-host.h"

static const ucd_plugin_descriptor test_descriptor = {
    .struct_size = sizeof(ucd_plugin_descriptor),
    .abi_major = UCD_ABI_MAJOR,
    .abi_minor = UCD_HOST_MINOR,
    .name = "api-http",
    .version = "0",
    .license = "MIT",
    .description = "the auth store under test",
    .config_key_size = sizeof(ucd_config_key),
    .service_decl_size = sizeof(ucd_service_decl),
};

typedef struct fixture {
    char *dir;
    char *path;
    fake_module *module;
} fixture;

static void setup(fixture *f, gconstpointer data)
{
    (void)data;
    f->dir = g_dir_make_tmp("test-auth-store-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->path = g_build_filename(f->dir, "sessions.db", NULL);
    f->module = fake_module_new(&test_descriptor, "api-http");
    fake_module_set_state_dir(f->module, f->dir);
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
        g_free(path);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

static void teardown(fixture *f, gconstpointer data)
{
    (void)data;
    fake_module_free(f->module);
    remove_dir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

static auth_store *open_store(fixture *f)
{
    GError *error = NULL;
    auth_store *store = auth_store_open(&fake_host, f->module, f->path, &error);
    g_assert_no_error(error);
    g_assert_nonnull(store);
    return store;
}

static auth_session *session_new(const char *id, const char *user, const char *access,
                                 const char *refresh, gint64 created)
{
    auth_session *s = g_new0(auth_session, 1);
    s->id = g_strdup(id);
    s->user_id = g_strdup(user);
    s->access_hash = auth_token_hash(access);
    s->refresh_hash = auth_token_hash(refresh);
    s->created = s->last_used = created;
    s->access_expires = created + 1000;
    s->refresh_expires = created + 100000;
    s->address = g_strdup("127.0.0.1");
    s->user_agent = g_strdup("test/1.0");
    return s;
}

/* TRUE when any file of `dir` (the database, its WAL) contains `needle`. */
static gboolean dir_contains(const char *dir, const char *needle)
{
    gboolean found = FALSE;
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && !found && (name = g_dir_read_name(d))) {
        char *path = g_build_filename(dir, name, NULL);
        char *bytes = NULL;
        gsize length = 0;
        if (g_file_get_contents(path, &bytes, &length, NULL))
            found = memmem(bytes, length, needle, strlen(needle)) != NULL;
        g_free(bytes);
        g_free(path);
    }
    if (d)
        g_dir_close(d);
    return found;
}

static void test_tokens(void)
{
    char *a = auth_token_new(AUTH_PREFIX_ACCESS);
    char *b = auth_token_new(AUTH_PREFIX_ACCESS);
    g_assert_true(g_str_has_prefix(a, "ucda_"));
    g_assert_cmpuint(strlen(a), ==, strlen("ucda_") + 43); /* 32 bytes, base64url, no '=' */
    g_assert_cmpstr(a, !=, b);
    for (const char *p = a + 5; *p; p++)
        g_assert_true(g_ascii_isalnum(*p) || *p == '-' || *p == '_');
    char *hash = auth_token_hash("abc");
    g_assert_cmpstr(hash, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    g_assert_true(
        auth_hash_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    g_assert_false(
        auth_hash_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae"));
    g_assert_false(auth_hash_equal(hash, "ba78"));
    g_assert_false(auth_hash_equal(hash, NULL));
    char *id = auth_session_id_new();
    g_assert_cmpuint(strlen(id), ==, 16);
    g_free(id);
    g_free(hash);
    g_free(a);
    g_free(b);
}

static void test_persist(fixture *f, gconstpointer data)
{
    (void)data;
    char *access = auth_token_new(AUTH_PREFIX_ACCESS);
    char *refresh = auth_token_new(AUTH_PREFIX_REFRESH);
    char *secret = auth_token_new(AUTH_PREFIX_KEY);
    auth_store *store = open_store(f);
    auth_store_add_session(store, session_new("s1", "file:alice", access, refresh, 5000));
    auth_key *k = g_new0(auth_key, 1);
    k->name = g_strdup("crm");
    k->hash = auth_token_hash(secret);
    k->scopes = g_strsplit("journal:read,calls:control", ",", -1);
    k->users = g_strsplit("file:bob,file:carol", ",", -1);
    k->created = 7000;
    k->created_by = g_strdup("ucctl");
    g_assert_true(auth_store_add_key(store, k));
    auth_store_close(store);

    /* the file holds hashes, never the tokens */
    char *access_hash = auth_token_hash(access);
    g_assert_true(dir_contains(f->dir, access_hash));
    g_assert_false(dir_contains(f->dir, access));
    g_assert_false(dir_contains(f->dir, refresh));
    g_assert_false(dir_contains(f->dir, secret));
    g_assert_false(dir_contains(f->dir, access + 5)); /* nor their random part */
    GStatBuf st;
    g_assert_cmpint(g_stat(f->path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);

    store = open_store(f);
    const auth_session *s = auth_store_session_by_access(store, access_hash);
    g_assert_nonnull(s);
    g_assert_cmpstr(s->id, ==, "s1");
    g_assert_cmpstr(s->user_id, ==, "file:alice");
    g_assert_cmpint(s->created, ==, 5000);
    g_assert_cmpint(s->access_expires, ==, 6000);
    g_assert_cmpint(s->refresh_expires, ==, 105000);
    g_assert_cmpstr(s->address, ==, "127.0.0.1");
    g_assert_cmpstr(s->user_agent, ==, "test/1.0");
    char *refresh_hash = auth_token_hash(refresh);
    g_assert_true(auth_store_session_by_refresh(store, refresh_hash) == s);
    g_assert_null(auth_store_session_by_access(store, refresh_hash));
    char *key_hash = auth_token_hash(secret);
    const auth_key *key = auth_store_key_by_hash(store, key_hash);
    g_assert_nonnull(key);
    g_assert_cmpstr(key->name, ==, "crm");
    g_assert_cmpuint(g_strv_length(key->scopes), ==, 2);
    g_assert_cmpstr(key->scopes[1], ==, "calls:control");
    g_assert_cmpuint(g_strv_length(key->users), ==, 2);
    g_assert_cmpstr(key->users[0], ==, "file:bob");
    g_assert_cmpstr(key->created_by, ==, "ucctl");
    auth_store_close(store);
    g_free(access_hash);
    g_free(refresh_hash);
    g_free(key_hash);
    g_free(access);
    g_free(refresh);
    g_free(secret);
}

static void test_rotate_and_remove(fixture *f, gconstpointer data)
{
    (void)data;
    auth_store *store = open_store(f);
    auth_store_add_session(store, session_new("s1", "file:alice", "a1", "r1", 1000));
    auth_store_add_session(store, session_new("s2", "file:alice", "a2", "r2", 2000));
    auth_store_add_session(store, session_new("s3", "file:bob", "a3", "r3", 3000));
    char *old_access = auth_token_hash("a1"), *old_refresh = auth_token_hash("r1");
    char *new_access = auth_token_hash("a1-new"), *new_refresh = auth_token_hash("r1-new");
    g_assert_true(auth_store_rotate(store, "s1", new_access, new_refresh, 50000, 90000));
    g_assert_false(auth_store_rotate(store, "nope", new_access, new_refresh, 1, 2));
    g_assert_null(auth_store_session_by_access(store, old_access));
    g_assert_null(auth_store_session_by_refresh(store, old_refresh));
    g_assert_cmpstr(auth_store_session_by_access(store, new_access)->id, ==, "s1");

    GPtrArray *alice = auth_store_sessions(store, "file:alice");
    g_assert_cmpuint(alice->len, ==, 2);
    g_assert_cmpstr(((auth_session *)alice->pdata[0])->id, ==, "s1"); /* oldest first */
    g_ptr_array_free(alice, TRUE);
    GPtrArray *all = auth_store_sessions(store, NULL);
    g_assert_cmpuint(all->len, ==, 3);
    g_ptr_array_free(all, TRUE);

    g_assert_true(auth_store_remove_session(store, "s2"));
    g_assert_false(auth_store_remove_session(store, "s2"));
    auth_store_close(store);

    store = open_store(f);
    const auth_session *s1 = auth_store_session(store, "s1");
    g_assert_nonnull(s1);
    g_assert_cmpstr(s1->access_hash, ==, new_access);
    g_assert_cmpint(s1->access_expires, ==, 50000);
    g_assert_null(auth_store_session(store, "s2"));
    g_assert_cmpuint(auth_store_remove_user_sessions(store, "file:bob"), ==, 1);
    /* s1's refresh expires at 90000: purged at 90001, not at 90000 */
    g_assert_cmpuint(auth_store_purge(store, 90000), ==, 0);
    g_assert_cmpuint(auth_store_purge(store, 90001), ==, 1);
    g_assert_null(auth_store_session(store, "s1"));
    auth_store_close(store);

    store = open_store(f);
    GPtrArray *left = auth_store_sessions(store, NULL);
    g_assert_cmpuint(left->len, ==, 0);
    g_ptr_array_free(left, TRUE);
    auth_store_close(store);
    g_free(old_access);
    g_free(old_refresh);
    g_free(new_access);
    g_free(new_refresh);
}

static void test_touch(fixture *f, gconstpointer data)
{
    (void)data;
    auth_store *store = open_store(f);
    auth_store_add_session(store, session_new("s1", "file:alice", "a1", "r1", 1000));
    /* used at once: memory knows, the file waits for a minute's worth */
    auth_store_touch_session(store, "s1", 2000);
    g_assert_cmpint(auth_store_session(store, "s1")->last_used, ==, 2000);
    auth_store_close(store);
    store = open_store(f);
    g_assert_cmpint(auth_store_session(store, "s1")->last_used, ==, 1000);
    auth_store_touch_session(store, "s1", 1000 + 60000);
    auth_store_close(store);
    store = open_store(f);
    g_assert_cmpint(auth_store_session(store, "s1")->last_used, ==, 61000);
    auth_store_close(store);
}

static void test_keys(fixture *f, gconstpointer data)
{
    (void)data;
    auth_store *store = open_store(f);
    const char *names[] = {"zeta", "alpha"};
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        auth_key *k = g_new0(auth_key, 1);
        k->name = g_strdup(names[i]);
        k->hash = auth_token_hash(names[i]);
        k->scopes = g_strsplit("journal:read", ",", -1);
        k->users = g_new0(char *, 1);
        g_assert_true(auth_store_add_key(store, k));
    }
    auth_key *dup = g_new0(auth_key, 1);
    dup->name = g_strdup("alpha");
    dup->hash = auth_token_hash("another");
    dup->scopes = g_new0(char *, 1);
    dup->users = g_new0(char *, 1);
    g_assert_false(auth_store_add_key(store, dup)); /* taken name: refused and freed */
    GPtrArray *keys = auth_store_keys(store);
    g_assert_cmpuint(keys->len, ==, 2);
    g_assert_cmpstr(((auth_key *)keys->pdata[0])->name, ==, "alpha");
    g_ptr_array_free(keys, TRUE);
    g_assert_true(auth_store_remove_key(store, "zeta"));
    g_assert_false(auth_store_remove_key(store, "zeta"));
    auth_store_close(store);
    store = open_store(f);
    g_assert_null(auth_store_key(store, "zeta"));
    g_assert_nonnull(auth_store_key(store, "alpha"));
    g_assert_cmpuint(g_strv_length(auth_store_key(store, "alpha")->users), ==, 0);
    auth_store_close(store);
}

static void test_not_a_store(fixture *f, gconstpointer data)
{
    (void)data;
    g_assert_true(g_file_set_contents(f->path,
                                      "this is not an SQLite file, just some text that "
                                      "is long enough to have a header",
                                      -1, NULL));
    GError *error = NULL;
    auth_store *store = auth_store_open(&fake_host, f->module, f->path, &error);
    g_assert_null(store);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, f->path));
    g_error_free(error);
}

/* ---- the gate, over a fake directory ------------------------------------- */

typedef struct dir_entry {
    const char *id, *login;
    gboolean enabled;
    const char *groups[2];
} dir_entry;

static dir_entry directory_users[] = {
    {"file:alice", "alice", TRUE, {"file:admins", NULL}},
    {"file:bob", "bob", TRUE, {"file:sales", NULL}},
    {"file:carol", "carol", TRUE, {"file:sales", NULL}},
    {"file:eve", "eve", FALSE, {NULL}},
};

static int fake_get_user(void *impl, const char *key, ucd_directory_user_cb cb, void *data)
{
    (void)impl;
    for (guint i = 0; i < G_N_ELEMENTS(directory_users); i++) {
        const dir_entry *u = &directory_users[i];
        if (strcmp(u->id, key) != 0 && strcmp(u->login, key) != 0)
            continue;
        static const char *const none[] = {NULL};
        ucd_directory_user du = {.struct_size = sizeof du,
                                 .enabled = u->enabled,
                                 .active_here = u->enabled,
                                 .id = u->id,
                                 .login = u->login,
                                 .display_name = u->login,
                                 .backend = "users-file",
                                 .numbers = none,
                                 .e164 = none,
                                 .groups = u->groups,
                                 .lines = none};
        cb(&du, data);
        return UCD_OK;
    }
    return UCD_E_NOT_FOUND;
}

static int fake_foreach_group(void *impl, ucd_directory_group_cb cb, void *data)
{
    (void)impl;
    static const char *const sales_leaders[] = {"file:bob", NULL};
    static const char *const no_leaders[] = {NULL};
    ucd_directory_group admins = {
        .struct_size = sizeof admins, .id = "file:admins", .name = "admins", .leaders = no_leaders};
    ucd_directory_group sales = {
        .struct_size = sizeof sales, .id = "file:sales", .name = "sales", .leaders = sales_leaders};
    if (cb(&admins, data) == 0)
        cb(&sales, data);
    return UCD_OK;
}

static const ucd_directory_v1 fake_directory = {
    .struct_size = sizeof fake_directory,
    .get_user = fake_get_user,
    .foreach_group = fake_foreach_group,
};

typedef struct gate {
    fixture f;
    api_ctx ctx;
    api_auth *auth;
} gate;

static void gate_setup(gate *g, gconstpointer data)
{
    setup(&g->f, data);
    g->ctx.self = g->f.module;
    g->ctx.host = &fake_host;
    g->ctx.dir = &fake_directory;
    g->ctx.config.admin_group = "file:admins";
    g->ctx.config.session_lifetime_ms = 60000;
    g->ctx.config.refresh_lifetime_ms = 3600000;
    g->ctx.config.login_attempts = 5;
    GError *error = NULL;
    g->auth = api_auth_new(&g->ctx, &error);
    g_assert_no_error(error);
    g_assert_true(auth_commands_register(g->auth, &error));
    g_assert_no_error(error);
}

static void gate_teardown(gate *g, gconstpointer data)
{
    api_auth_free(g->auth);
    teardown(&g->f, data);
}

/* A session of `user_id` whose access token expires `access_in` ms from
 * now; its access token (a new string). */
static char *gate_session(gate *g, const char *id, const char *user_id, gint64 access_in)
{
    char *access = auth_token_new(AUTH_PREFIX_ACCESS);
    char *refresh = auth_token_new(AUTH_PREFIX_REFRESH);
    gint64 now = auth_now_ms();
    auth_session *s = session_new(id, user_id, access, refresh, now);
    s->access_expires = now + access_in;
    auth_store_add_session(g->auth->store, s);
    g_free(refresh);
    return access;
}

/* Resolves `token`: NULL and the principal in `out` when it passes, else
 * the refusal's code (and its message in `message`, freed by the caller). */
static const char *resolve(gate *g, const char *token, api_principal *out, char **message)
{
    const char *code = NULL;
    *message = NULL;
    if (api_auth_resolve(g->auth, token, "192.0.2.1", out, &code, message))
        return NULL;
    g_assert_nonnull(*message);
    return code;
}

static void test_resolve_sessions(gate *g, gconstpointer data)
{
    (void)data;
    struct {
        const char *user;
        guint role;
    } cases[] = {{"file:alice", UCD_HTTP_ROLE_ADMIN},
                 {"file:bob", UCD_HTTP_ROLE_LEADER},
                 {"file:carol", UCD_HTTP_ROLE_USER}};
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        char id[8];
        g_snprintf(id, sizeof id, "s%u", i);
        char *token = gate_session(g, id, cases[i].user, 60000);
        api_principal p;
        char *message = NULL;
        g_assert_null(resolve(g, token, &p, &message));
        g_assert_cmpuint(p.role, ==, cases[i].role);
        g_assert_cmpstr(p.user_id, ==, cases[i].user);
        g_assert_cmpstr(p.session_id, ==, id);
        g_assert_cmpstr(p.address, ==, "192.0.2.1");
        g_assert_null(p.key_name);
        g_assert_null(p.scopes);
        g_assert_cmpint(p.expires_ms, >, auth_now_ms());
        api_principal_clear(&p);
        g_free(token);
    }
    g_assert_cmpuint(api_auth_role_of(g->auth, "file:eve"), ==, UCD_HTTP_ROLE_USER);
}

static void test_resolve_refusals(gate *g, gconstpointer data)
{
    (void)data;
    api_principal p;
    char *message = NULL;
    char *expired = gate_session(g, "old", "file:carol", -1);
    g_assert_cmpstr(resolve(g, expired, &p, &message), ==, API_ERR_TOKEN_EXPIRED);
    g_assert_nonnull(strstr(message, "/auth/refresh"));
    g_free(message);
    char *disabled = gate_session(g, "eve", "file:eve", 60000);
    g_assert_cmpstr(resolve(g, disabled, &p, &message), ==, API_ERR_UNAUTHENTICATED);
    g_assert_cmpstr(message, ==, "user eve is disabled");
    g_free(message);
    char *gone = gate_session(g, "gone", "file:mallory", 60000);
    g_assert_cmpstr(resolve(g, gone, &p, &message), ==, API_ERR_UNAUTHENTICATED);
    g_assert_cmpstr(message, ==, "user file:mallory is no longer in the directory");
    g_free(message);
    char *forged = auth_token_new(AUTH_PREFIX_ACCESS);
    g_assert_cmpstr(resolve(g, forged, &p, &message), ==, API_ERR_UNAUTHENTICATED);
    g_free(message);
    const char *not_tokens[] = {"", "garbage", "ucdr_abc", "Bearer ucda_x", "ucdk_"};
    for (guint i = 0; i < G_N_ELEMENTS(not_tokens); i++) {
        g_assert_cmpstr(resolve(g, not_tokens[i], &p, &message), ==, API_ERR_UNAUTHENTICATED);
        g_free(message);
    }
    g_assert_cmpstr(resolve(g, NULL, &p, &message), ==, API_ERR_UNAUTHENTICATED);
    g_free(message);
    /* revoked: gone at once */
    char *live = gate_session(g, "live", "file:carol", 60000);
    g_assert_null(resolve(g, live, &p, &message));
    api_principal_clear(&p);
    g_assert_true(auth_store_remove_session(g->auth->store, "live"));
    g_assert_cmpstr(resolve(g, live, &p, &message), ==, API_ERR_UNAUTHENTICATED);
    g_free(message);
    g_free(live);
    g_free(forged);
    g_free(gone);
    g_free(disabled);
    g_free(expired);
}

/* The value of "key=" in a fake-host command reply, a new string. */
static char *reply_value(const char *reply, const char *name)
{
    char *prefix = g_strconcat(name, "=", NULL);
    char *value = NULL;
    char **parts = g_strsplit(reply, ", ", -1);
    for (char **p = parts; *p && !value; p++)
        if (g_str_has_prefix(*p, prefix))
            value = g_strdup(*p + strlen(prefix));
    g_strfreev(parts);
    g_free(prefix);
    return value;
}

static void test_keys_command(gate *g, gconstpointer data)
{
    (void)data;
    fake_module *m = g->f.module;
    g_assert_cmpstr(fake_module_command_name(m), ==, "api");
    char *reply = fake_module_command(m, UCD_OK, "keys", "create", "crm", "--scope",
                                      "journal:read,calls:control", "--users", "bob,carol", NULL);
    char *key = reply_value(reply, "key");
    g_assert_nonnull(key);
    g_assert_true(g_str_has_prefix(key, AUTH_PREFIX_KEY));
    g_free(reply);

    api_principal p;
    char *message = NULL;
    g_assert_null(resolve(g, key, &p, &message));
    g_assert_cmpstr(p.key_name, ==, "crm");
    g_assert_null(p.user_id);
    g_assert_null(p.session_id);
    g_assert_cmpuint(p.role, ==, UCD_HTTP_ROLE_USER);
    g_assert_cmpuint(g_strv_length(p.scopes), ==, 2);
    g_assert_true(g_strv_contains((const char *const *)p.scopes, "calls:control"));
    g_assert_false(g_strv_contains((const char *const *)p.scopes, "presence:read"));
    g_assert_cmpuint(g_strv_length(p.users), ==, 2);
    g_assert_cmpstr(p.users[0], ==, "file:bob"); /* logins became ids */
    g_assert_cmpint(p.expires_ms, ==, 0);
    api_principal_clear(&p);

    /* listed, never shown again */
    reply = fake_module_command(m, UCD_OK, "keys", NULL);
    g_assert_nonnull(strstr(reply, "row:crm,journal:read,calls:control,bob,carol,"));
    g_assert_null(strstr(reply, key));
    g_free(reply);
    /* what is wrong is said */
    reply = fake_module_command(m, UCD_E_BUSY, "keys", "create", "crm", "--scope", "journal:read",
                                NULL);
    g_free(reply);
    reply = fake_module_command(m, UCD_E_INVALID, "keys", "create", "x", NULL);
    g_free(reply);
    reply =
        fake_module_command(m, UCD_E_INVALID, "keys", "create", "x", "--scope", "Journal", NULL);
    g_free(reply);
    reply = fake_module_command(m, UCD_E_NOT_FOUND, "keys", "create", "x", "--scope",
                                "journal:read", "--users", "mallory", NULL);
    g_free(reply);
    reply = fake_module_command(m, UCD_E_INVALID, "keys", "create", "bad name", "--scope",
                                "journal:read", NULL);
    g_free(reply);
    reply = fake_module_command(m, UCD_E_INVALID, "frobnicate", NULL);
    g_free(reply);

    reply = fake_module_command(m, UCD_OK, "keys", "revoke", "crm", NULL);
    g_free(reply);
    g_assert_cmpstr(resolve(g, key, &p, &message), ==, API_ERR_UNAUTHENTICATED);
    g_free(message);
    reply = fake_module_command(m, UCD_E_NOT_FOUND, "keys", "revoke", "crm", NULL);
    g_free(reply);
    g_assert_false(fake_module_log_has(m, 0, key));
    g_free(key);
}

static void test_sessions_command(gate *g, gconstpointer data)
{
    (void)data;
    fake_module *m = g->f.module;
    char *a = gate_session(g, "sa", "file:alice", 60000);
    char *b1 = gate_session(g, "sb1", "file:bob", 60000);
    char *b2 = gate_session(g, "sb2", "file:bob", 60000);
    char *reply = fake_module_command(m, UCD_OK, "sessions", "bob", NULL);
    g_assert_nonnull(strstr(reply, "row:sb1,bob,"));
    g_assert_nonnull(strstr(reply, "row:sb2,bob,"));
    g_assert_null(strstr(reply, "row:sa,"));
    g_free(reply);
    reply = fake_module_command(m, UCD_OK, "tokens", NULL);
    g_assert_nonnull(strstr(reply, "row:sa,alice,access,"));
    g_assert_nonnull(strstr(reply, "row:sa,alice,refresh,"));
    g_assert_null(strstr(reply, "ucda_"));
    g_free(reply);
    reply = fake_module_command(m, UCD_OK, "sessions", "revoke", "--user", "bob", NULL);
    g_assert_nonnull(strstr(reply, "revoked=2"));
    g_free(reply);
    reply = fake_module_command(m, UCD_OK, "sessions", "revoke", "sa", NULL);
    g_free(reply);
    reply = fake_module_command(m, UCD_E_NOT_FOUND, "sessions", "revoke", "sa", NULL);
    g_free(reply);
    api_principal p;
    char *message = NULL;
    const char *tokens[] = {a, b1, b2};
    for (guint i = 0; i < G_N_ELEMENTS(tokens); i++) {
        g_assert_cmpstr(resolve(g, tokens[i], &p, &message), ==, API_ERR_UNAUTHENTICATED);
        g_free(message);
    }
    g_free(a);
    g_free(b1);
    g_free(b2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-auth/tokens", test_tokens);
    g_test_add("/api-auth/store/persist", fixture, NULL, setup, test_persist, teardown);
    g_test_add("/api-auth/store/rotate-remove-purge", fixture, NULL, setup, test_rotate_and_remove,
               teardown);
    g_test_add("/api-auth/store/touch", fixture, NULL, setup, test_touch, teardown);
    g_test_add("/api-auth/store/keys", fixture, NULL, setup, test_keys, teardown);
    g_test_add("/api-auth/store/not-a-store", fixture, NULL, setup, test_not_a_store, teardown);
    g_test_add("/api-auth/resolve/sessions", gate, NULL, gate_setup, test_resolve_sessions,
               gate_teardown);
    g_test_add("/api-auth/resolve/refusals", gate, NULL, gate_setup, test_resolve_refusals,
               gate_teardown);
    g_test_add("/api-auth/command/keys", gate, NULL, gate_setup, test_keys_command, gate_teardown);
    g_test_add("/api-auth/command/sessions", gate, NULL, gate_setup, test_sessions_command,
               gate_teardown);
    return g_test_run();
}
