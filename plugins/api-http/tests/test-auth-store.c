/*
 * test-auth-store.c - the sessions and API keys store (auth-store.h) and the
 * tokens (auth-tokens.h): what is kept survives a reopen, the file holds
 * hashes and never a token, lookups by either token's hash, rotation,
 * revocation and purging; with the fake host, whose work queue runs each
 * write at once.
 */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

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
    return g_test_run();
}
