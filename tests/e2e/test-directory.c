/*
 * test-directory.c - user directories end to end: the real ucd with
 * users-ldap against a real OpenLDAP slapd (more users than its 1,000-entry
 * cap on plain searches, StartTLS verified against the test CA) and users-sql
 * on an SQLite replica file, side by side. The model pulls both; `ucctl users`
 * lists them; a full sync with progress runs through the real ucctl; the
 * service password never reaches the log or the support bundle.
 */
#include <sqlite3.h>
#include <string.h>

#include "harness.h"

#define LDAP_USERS 1500

static void make_sql_replica(const char *path)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
    const char *sql =
        "CREATE TABLE users (id VARCHAR(64) PRIMARY KEY, login TEXT NOT NULL, display_name TEXT,"
        " given_name TEXT, surname TEXT, email TEXT, department TEXT, title TEXT, home_server TEXT,"
        " enabled INTEGER DEFAULT 1, password_hash TEXT, stamp BIGINT NOT NULL DEFAULT 0);"
        "CREATE TABLE user_numbers (user_id VARCHAR(64), number VARCHAR(64));"
        "CREATE TABLE groups (id VARCHAR(64) PRIMARY KEY, name TEXT, description TEXT);"
        "CREATE TABLE group_members (user_id VARCHAR(64), group_id VARCHAR(64));"
        "CREATE TABLE user_lines (user_id VARCHAR(64), address TEXT);"
        "INSERT INTO users (id, login, display_name) VALUES"
        " ('s1', 'sara', 'Sara Sql'), ('s2', 'sven', 'Sven Sql'), ('s3', 'sina', 'Sina Sql');"
        "INSERT INTO user_numbers VALUES ('s1', '+49 89 4521-301');"
        "INSERT INTO groups VALUES ('ops', 'Operations', NULL);"
        "INSERT INTO group_members VALUES ('s1', 'ops'), ('s2', 'ops');";
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        g_error("replica: %s", err);
    sqlite3_close(db);
}

/* The value of the reply field `name`, or NULL (g_free it). */
static char *reply_field(JsonNode *r, const char *name)
{
    return g_strdup(harness_field(r, name));
}

/* Users in the model: `users list` page by page (1,000 a page), following
 * the reply's "next" as ucctl does. */
static guint user_count(harness *h)
{
    guint n = 0;
    char *next = NULL;
    do {
        const char *argv[] = {"users", "list", next ? "--after" : NULL, next, NULL};
        JsonNode *r = harness_ok(h, argv);
        n += json_array_get_length(json_object_get_array_member(json_node_get_object(r), "rows"));
        g_free(next);
        next = reply_field(r, "next");
        json_node_free(r);
    } while (next);
    return n;
}

static char *show_field(harness *h, const char *who, const char *name)
{
    const char *argv[] = {"users", "show", who, NULL};
    JsonNode *r = harness_ok(h, argv);
    char *value = reply_field(r, name);
    json_node_free(r);
    return value;
}

static void test_ldap_and_sql(void)
{
    char count[16];
    g_snprintf(count, sizeof count, "%d", LDAP_USERS);
    const char *args[] = {count, NULL};
    harness_peer *ldap = harness_peer_start(harness_env("UCD_SLAPD_SCRIPT"), "LDAP_DIR", args);
    if (!ldap)
        return; /* skipped: slapd not installed and not CI */

    harness *h = harness_new(NULL);
    char *replica = g_build_filename(h->dir, "replica.db", NULL);
    make_sql_replica(replica);
    char *body = g_strdup_printf(
        "[module users-ldap]\n"
        "uris = %s\nstarttls = true\nca_file = %s\n"
        "bind_dn = %s\nbind_password = %s\n"
        "base_dn = ou=Users,dc=example,dc=test\ngroup_base_dn = ou=Groups,dc=example,dc=test\n"
        "filter = (objectClass=inetOrgPerson)\ngroup_filter = (objectClass=groupOfNames)\n"
        "attr_change = modifyTimestamp\nhome_server_attribute =\n"
        "write_back = true\nwrite_back_phones = true\n"
        "[module users-sql]\nbackend = sqlite\ndatabase = %s\n",
        harness_peer_get(ldap, "LDAP_URI"), harness_peer_get(ldap, "LDAP_CACERT"),
        harness_peer_get(ldap, "LDAP_ADMIN_DN"), harness_peer_get(ldap, "LDAP_ADMIN_PW"), replica);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "users-ldap", "running"));
    g_assert_true(harness_wait_state(h, "users-sql", "running"));

    /* all of them, past the directory's 1,000-entry cap, plus the SQL ones */
    guint n = 0;
    for (int i = 0; i < 500 && (n = user_count(h)) < LDAP_USERS + 3; i++)
        g_usleep(20000);
    g_assert_cmpuint(n, ==, LDAP_USERS + 3);

    char *name = show_field(h, "user1234", "login");
    g_assert_cmpstr(name, ==, "user1234");
    g_free(name);
    char *backend = show_field(h, "user1234", "backend");
    g_assert_cmpstr(backend, ==, "users-ldap");
    g_free(backend);
    backend = show_field(h, "sara", "backend");
    g_assert_cmpstr(backend, ==, "users-sql");
    g_free(backend);

    const char *sync[] = {harness_env("UCCTL_BIN"), "users", "sync", "--full", "--progress", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(harness_run(h, sync, &out, &err), ==, 0);
    g_assert_nonnull(strstr(err, "users-ldap"));
    g_assert_nonnull(strstr(err, "users-sql"));
    g_assert_null(strstr(err, "failed"));
    g_free(out);
    g_free(err);
    g_assert_cmpuint(user_count(h), ==, LDAP_USERS + 3);

    /* phone numbers written back to the directory, seen by the model */
    const char *set[] = {"users", "set-numbers", "user1234", "+49 89 4521-777", NULL};
    json_node_free(harness_ok(h, set));
    gboolean seen = FALSE;
    for (int i = 0; i < 300 && !seen; i++) {
        const char *show[] = {"users", "show", "user1234", NULL};
        JsonNode *u = harness_ok(h, show);
        char *text = json_to_string(u, FALSE);
        seen = strstr(text, "+49 89 4521-777") != NULL;
        g_free(text);
        json_node_free(u);
        if (!seen)
            g_usleep(20000);
    }
    g_assert_true(seen);
    const char *sql_set[] = {"users", "set-numbers", "sara", "+49 1", NULL};
    JsonNode *refused = harness_request(h, sql_set);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(refused), "ok"));
    json_node_free(refused);

    /* the service password: not in the log, redacted in the support bundle */
    char *bundle_path = g_build_filename(h->dir, "bundle.txt", NULL);
    const char *export[] = {harness_env("UCCTL_BIN"), "log", "export", bundle_path, NULL};
    g_assert_cmpint(harness_run(h, export, NULL, NULL), ==, 0);
    char *bundle = NULL;
    g_assert_true(g_file_get_contents(bundle_path, &bundle, NULL, NULL));
    const char *pw = harness_peer_get(ldap, "LDAP_ADMIN_PW");
    char *pw_line = g_strdup_printf("bind_password=%s", pw);
    g_assert_null(strstr(bundle, pw_line));
    g_assert_nonnull(strstr(bundle, "bind_password=<redacted>"));
    char *log = harness_log(h);
    g_assert_null(strstr(log, pw));
    g_free(log);
    g_free(pw_line);
    g_free(bundle);
    g_free(bundle_path);

    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(body);
    g_free(replica);
    harness_free(h);
    harness_peer_stop(ldap);
}

static void run_ok(harness *h, const char *const *argv)
{
    char *out = NULL, *err = NULL;
    if (harness_run(h, argv, &out, &err) != 0)
        g_error("%s %s: %s%s", argv[1], argv[2], out, err);
    g_free(out);
    g_free(err);
}

static gboolean wait_user_count(harness *h, guint expected)
{
    for (int i = 0; i < 500; i++) {
        if (user_count(h) == expected)
            return TRUE;
        g_usleep(20000);
    }
    return FALSE;
}

/* users-sql's shrink guard refuses a set that lost too many users, by
 * `ucctl users sync --full` as by every later sync; the real ucctl's
 * `users sync --force` reaches the backend as UCD_SYNC_FORCE and the set is
 * applied (issue 12 item 2). */
static void test_sql_forced_sync(void)
{
    harness *h = harness_new(NULL);
    char *replica = g_build_filename(h->dir, "replica.db", NULL);
    make_sql_replica(replica);
    char *body = g_strdup_printf("[module users-sql]\nbackend = sqlite\ndatabase = %s\n"
                                 "max_shrink_rows = 0\nsync_interval = 1h\n",
                                 replica);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "users-sql", "running"));
    g_assert_true(wait_user_count(h, 3));

    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(replica, &db), ==, SQLITE_OK);
    g_assert_cmpint(
        sqlite3_exec(db, "DELETE FROM users WHERE id IN ('s2', 's3')", NULL, NULL, NULL), ==,
        SQLITE_OK);
    sqlite3_close(db);

    const char *full[] = {harness_env("UCCTL_BIN"), "users", "sync", "--full", NULL};
    run_ok(h, full);
    g_assert_true(harness_wait_log(h, "full sync returned 1 users, more than 0 and more than "
                                      "10% fewer than the 3 of the last good set"));
    g_assert_cmpuint(user_count(h), ==, 3);

    const char *force[] = {harness_env("UCCTL_BIN"), "users", "sync", "--force", NULL};
    run_ok(h, force);
    g_assert_true(wait_user_count(h, 1));
    char *name = show_field(h, "sara", "login");
    g_assert_cmpstr(name, ==, "sara");
    g_free(name);

    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(body);
    g_free(replica);
    harness_free(h);
}

/* A users file that does not parse: the first load runs after ucd is ready,
 * so the module stays running without users, and `ucctl modules` says why in
 * its error column until a good load (issue 12 item 4). */
static void test_file_error_in_modules(void)
{
    harness *h = harness_new(NULL);
    char *file = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(
        g_file_set_contents(file, "<users xmlns=\"urn:ucd:users:1\">\n<user>\n", -1, NULL));
    char *body = g_strdup_printf("[module users-file]\nfile = %s\nrequired = true\n", file);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "users-file", "running"));
    g_assert_true(harness_wait_log(h, "rejected; keeping the previous 0 users"));
    const char *modules[] = {"modules", NULL};
    JsonNode *r = harness_ok(h, modules);
    const char *error = harness_cell(r, "users-file", "error");
    g_assert_nonnull(error);
    char *expected = g_strdup_printf("users file rejected, 0 users kept: %s:", file);
    if (!g_str_has_prefix(error, expected))
        g_error("expected \"%s...\", got \"%s\"", expected, error);
    g_free(expected);
    json_node_free(r);
    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(body);
    g_free(file);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/directory/ldap-and-sql", test_ldap_and_sql);
    g_test_add_func("/directory/sql-forced-sync", test_sql_forced_sync);
    g_test_add_func("/directory/file-error-in-modules", test_file_error_in_modules);
    return g_test_run();
}
