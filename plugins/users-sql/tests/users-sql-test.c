/*
 * users-sql-test.c - the users-sql plugin against real databases, driven
 * through the fake host (tests/fake-host).
 *
 * argv[1]: users-sql.so, argv[2]: the peer kind (sqlite, sqlite-odbc,
 * postgres, mariadb), argv[3]: tests/peers. One program run tests one kind:
 * it starts the peer with its script (a real PostgreSQL or MariaDB server,
 * or the SQLite ODBC driver), and every test re-creates the tables and rows
 * with the database's own means (the sqlite3 library for a SQLite file, psql
 * and the mariadb client for the servers). The fake host runs work items at
 * once, so a sync has finished when sync() returns; timers are fired by hand.
 * A missing peer skips the tests, or fails them with CI=true (the scripts
 * decide: exit 77 or 1).
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fake-host.h"

/* Hashes made with Python's hashlib (an implementation independent of ours). */
#define HASH_SHA256                                                                                \
    "pbkdf2-sha256$1000$c2FsdHNhbHQxMjM0NTY3OA==$hsH1f3w8qjz4ZqE/AGVUkRu0dBKssCAGxV1QP5PILlw="
#define HASH_SHA512                                                                                \
    "pbkdf2-sha512$2000$MDEyMzQ1Njc4OWFiY2RlZg$btI5pbWZf3X2oIDmNam4SYkx9+"                         \
    "EHmPz9uUy8S2GGz439Qln2tW9"                                                                    \
    "4vOUOSqYIYTng6d7yDNF29I6DNfrqufTejg=="
#define HASH_SCRYPT                                                                                \
    "scrypt$1024$8$1$c2NyeXB0c2FsdHZhbHVlIQ==$kGpCKvt4SAyF9hgbs8PHIiNYneC+VQOYQnsQFjH4nUE="

#define BASE_USERS 20

typedef enum peer_kind { PEER_SQLITE, PEER_SQLITE_ODBC, PEER_POSTGRES, PEER_MARIADB } peer_kind;

static const ucd_plugin_descriptor *descriptor;
static peer_kind kind;
static const char *peers_dir;
static char *skip_reason;
static char *peer_dir;    /* what the peer script made */
static char *sqlite_file; /* the database file for both SQLite kinds */
static char *odbc_string; /* the connection string for the ODBC kinds */
static char *mariadb_port;
static char *state_dir;

/* ---- the peer --------------------------------------------------------------------- */

static const char *peer_script(void)
{
    switch (kind) {
    case PEER_SQLITE_ODBC:
        return "sqlite-odbc.sh";
    case PEER_POSTGRES:
        return "postgres.sh";
    case PEER_MARIADB:
        return "mariadb.sh";
    default:
        return NULL;
    }
}

static int run_script(const char *command, const char *dir, char **out)
{
    char *script = g_build_filename(peers_dir, peer_script(), NULL);
    const char *argv[] = {script, command, dir, NULL};
    char *err = NULL;
    int status = 0;
    GError *error = NULL;
    g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, out, &err, &status, &error);
    g_assert_no_error(error);
    if (status != 0 && err != NULL)
        g_printerr("%s", err);
    g_free(err);
    g_free(script);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Sets the environment from the script's "export NAME='value'" lines. */
static void apply_exports(const char *out)
{
    char **lines = g_strsplit(out, "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        int argc = 0;
        char **argv = NULL;
        if (!g_str_has_prefix(*line, "export ") || !g_shell_parse_argv(*line, &argc, &argv, NULL))
            continue;
        for (int i = 1; i < argc; i++) {
            char *eq = strchr(argv[i], '=');
            if (eq != NULL) {
                *eq = '\0';
                g_setenv(argv[i], eq + 1, TRUE);
            }
        }
        g_strfreev(argv);
    }
    g_strfreev(lines);
}

static void peer_start(void)
{
    if (kind == PEER_SQLITE) {
        peer_dir = g_dir_make_tmp("users-sql-test-XXXXXX", NULL);
        sqlite_file = g_build_filename(peer_dir, "users.db", NULL);
        return;
    }
    char *out = NULL;
    int rc = run_script("start", NULL, &out);
    if (rc == 77) {
        skip_reason = g_strdup_printf("%s: peer missing (see its message)", peer_script());
        g_free(out);
        return;
    }
    if (rc != 0)
        g_error("%s start failed (%d)", peer_script(), rc);
    apply_exports(out);
    g_free(out);
    if (kind == PEER_SQLITE_ODBC) {
        peer_dir = g_strdup(g_getenv("SQLITE_ODBC_DIR"));
        sqlite_file = g_strdup(g_getenv("SQLITE_ODBC_FILE"));
        odbc_string = g_strdup(g_getenv("SQLITE_ODBC"));
    } else if (kind == PEER_POSTGRES) {
        peer_dir = g_strdup(g_getenv("PG_DIR"));
        odbc_string = g_strdup(g_getenv("PG_ODBC"));
    } else {
        peer_dir = g_strdup(g_getenv("MARIADB_DIR"));
        odbc_string = g_strdup(g_getenv("MARIADB_ODBC"));
        mariadb_port = g_strdup(g_getenv("MARIADB_PORT"));
    }
    g_assert_nonnull(peer_dir);
}

static void remove_tree(const char *dir)
{
    const char *argv[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
}

static void peer_stop(void)
{
    if (peer_dir == NULL)
        return;
    if (kind == PEER_SQLITE)
        remove_tree(peer_dir);
    else
        run_script("stop", peer_dir, NULL);
}

/* The database unreachable, and back. */
static void peer_down(void)
{
    if (kind == PEER_SQLITE || kind == PEER_SQLITE_ODBC) {
        char *away = g_strconcat(sqlite_file, ".away", NULL);
        g_assert_cmpint(g_rename(sqlite_file, away), ==, 0);
        g_free(away);
    } else {
        g_assert_cmpint(run_script("halt", peer_dir, NULL), ==, 0);
    }
}

static gboolean client_answers(void);

/* The scripts return once the server says it is ready; the test then waits
 * for what it needs, a query answered over TCP at the address the plugin
 * uses, polled with a deadline that a loaded CI machine (sanitizers, suites
 * in parallel) stays well within, never a fixed sleep. */
static void peer_up(void)
{
    if (kind == PEER_SQLITE || kind == PEER_SQLITE_ODBC) {
        char *away = g_strconcat(sqlite_file, ".away", NULL);
        g_assert_cmpint(g_rename(away, sqlite_file), ==, 0);
        g_free(away);
        return;
    }
    g_assert_cmpint(run_script("resume", peer_dir, NULL), ==, 0);
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (!client_answers()) {
        if (g_get_monotonic_time() > deadline)
            g_error("%s resume: no answer to SELECT 1 within 60 s", peer_script());
        g_usleep(100 * 1000); /* between polls, not instead of them */
    }
}

/* sqlite3_exec's row callback: values joined by '|', one row a line. */
static int collect_row(void *data, int n, char **values, char **names)
{
    GString *out = data;
    for (int i = 0; i < n; i++)
        g_string_append_printf(out, "%s%s", i ? "|" : "", values[i] ? values[i] : "");
    g_string_append_c(out, '\n');
    return 0;
}

static char *sqlite_exec(const char *sql)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(sqlite_file, &db), ==, SQLITE_OK);
    char *error = NULL;
    GString *out = g_string_new(NULL);
    sqlite3_exec(db, sql, collect_row, out, &error);
    if (error != NULL)
        g_error("sqlite: %s in %s", error, sql);
    sqlite3_close(db);
    return g_string_free(out, FALSE);
}

/* Runs SQL with psql or the mariadb client; FALSE (and *err) when it failed. */
static gboolean client_run(const char *sql, char **out, char **err)
{
    const char *pg[] = {"psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql, NULL};
    char *port = g_strdup_printf("-P%s", mariadb_port);
    /* tests/peers/mariadb.sh listens on an address of its own, not 127.0.0.1 */
    char *host = g_strdup_printf("-h%s", g_getenv("MARIADB_HOST"));
    const char *maria[] = {"mariadb", "--no-defaults", host, port, "-utest", "-psecret", "-N",
                           "-B",      "test",          "-e", sql,  NULL};
    int status = 0;
    GError *error = NULL;
    g_spawn_sync(NULL, (char **)(kind == PEER_POSTGRES ? pg : maria), NULL, G_SPAWN_SEARCH_PATH,
                 NULL, NULL, out, err, &status, &error);
    g_assert_no_error(error);
    g_free(port);
    g_free(host);
    return g_spawn_check_wait_status(status, NULL);
}

static char *client_exec(const char *sql)
{
    char *out = NULL, *err = NULL;
    if (!client_run(sql, &out, &err))
        g_error("client failed: %s\nin: %.300s", err, sql);
    g_free(err);
    return out;
}

static gboolean client_answers(void)
{
    char *out = NULL, *err = NULL;
    gboolean ok = client_run("SELECT 1", &out, &err);
    g_free(out);
    g_free(err);
    return ok;
}

/* Runs SQL with the database's own means (the sqlite3 library, psql, the
 * mariadb client); returns the rows as text, "a|b" or "a\tb" a line. */
static char *db_exec(const char *sql)
{
    return kind == PEER_SQLITE || kind == PEER_SQLITE_ODBC ? sqlite_exec(sql) : client_exec(sql);
}

static void db_run(const char *sql)
{
    g_free(db_exec(sql));
}

static int db_count(const char *sql)
{
    char *out = db_exec(sql);
    int count = atoi(g_strstrip(out));
    g_free(out);
    return count;
}

/* ---- the data ----------------------------------------------------------------------- */

static const char *const schema[] = {
    "DROP TABLE IF EXISTS users",
    "DROP TABLE IF EXISTS user_numbers",
    "DROP TABLE IF EXISTS groups",
    "DROP TABLE IF EXISTS group_members",
    "DROP TABLE IF EXISTS user_lines",
    "CREATE TABLE users (id VARCHAR(64) PRIMARY KEY, login TEXT, display_name TEXT, "
    "given_name TEXT, surname TEXT, email TEXT, department TEXT, title TEXT, home_server TEXT, "
    "enabled INTEGER DEFAULT 1, mobile TEXT, password_hash TEXT, stamp BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE user_numbers (user_id VARCHAR(64), number VARCHAR(64))",
    "CREATE TABLE groups (id VARCHAR(64) PRIMARY KEY, name TEXT, description TEXT)",
    "CREATE TABLE group_members (user_id VARCHAR(64), group_id VARCHAR(64))",
    "CREATE TABLE user_lines (user_id VARCHAR(64), address TEXT)",
    NULL,
};

/* Twenty users u01..u20 with stamps 1..20: u01 with numbers, a group, a line
 * and a name with umlauts; u03 disabled; u04 homed in berlin; passwords for
 * u01 (PBKDF2-SHA256), u02 (PBKDF2-SHA512), u05 (scrypt), u06 (clear text). */
static void db_reset(void)
{
    GString *sql = g_string_new(NULL);
    for (int i = 0; schema[i] != NULL; i++)
        db_run(schema[i]);
    g_string_append(sql, "INSERT INTO users (id, login, display_name, given_name, surname, "
                         "email, department, title, home_server, enabled, mobile, password_hash, "
                         "stamp) VALUES ");
    for (int i = 1; i <= BASE_USERS; i++) {
        const char *hash = i == 1   ? HASH_SHA256
                           : i == 2 ? HASH_SHA512
                           : i == 5 ? HASH_SCRYPT
                           : i == 6 ? "plain-pw"
                                    : NULL;
        g_string_append_printf(
            sql,
            "%s('%02d', 'user%02d', 'User %02d', %s, 'Surname%02d', 'user%02d@example.com', "
            "'%s', NULL, %s, %d, %s, %s%s%s, %d)",
            i > 1 ? ", " : "", i, i, i, i == 1 ? "'Jörg'" : "NULL", i, i,
            i <= 10 ? "Sales" : "Support", i == 4 ? "'berlin'" : "NULL", i == 3 ? 0 : 1,
            i == 1 ? "'+49 170 1'" : "NULL", hash ? "'" : "", hash ? hash : "NULL", hash ? "'" : "",
            i);
    }
    db_run(sql->str);
    db_run("INSERT INTO user_numbers VALUES ('01', '+49 89 1001'), ('02', '+49 89 1002'), "
           "('99', '+49 89 9999')");
    db_run("INSERT INTO groups VALUES ('g1', 'Sales team', 'all of sales'), ('g2', 'Night', NULL)");
    db_run("INSERT INTO group_members VALUES ('01', 'g1'), ('02', 'g1'), ('01', 'g2')");
    db_run("INSERT INTO user_lines VALUES ('01', 'sim/201'), ('02', '202')");
    g_string_free(sql, TRUE);
}

/* ---- the plugin ---------------------------------------------------------------------------- */

typedef struct world {
    fake_module *module;
    const ucd_users_v1 *iface;
    void *impl;
    unsigned resynced;
    int last_code;
    char *last_message;
} world;

static world w;

static void record_event(fake_module *module, const ucd_event *event, void *data)
{
    g_assert_cmpuint(event->type, ==, UCD_EVENT_USER_CHANGED);
    const ucd_user_changed_event *changed = event->payload;
    g_assert_cmpuint(changed->change, ==, UCD_CHANGE_RESYNCED);
    g_assert_cmpstr(changed->backend, ==, "users-sql:test");
    w.resynced++;
}

static void module_new(void)
{
    memset(&w, 0, sizeof(w));
    w.module = fake_module_new(descriptor, "users-sql:test");
    w.module->on_publish = record_event;
    fake_module_set_state_dir(w.module, state_dir);
    if (kind == PEER_SQLITE) {
        fake_module_set(w.module, "database", sqlite_file);
    } else {
        fake_module_set(w.module, "backend", "odbc");
        fake_module_set(w.module, "connection_string", odbc_string);
        if (kind != PEER_SQLITE_ODBC)
            fake_module_set(w.module, "password", "secret");
    }
    fake_module_set(w.module, "number_columns", "mobile");
    fake_module_set(w.module, "max_value_length", "64");
}

static void module_start(void)
{
    fake_module_start(w.module);
    w.iface = fake_module_service(w.module, UCD_USERS_SERVICE, UCD_USERS_MAJOR, &w.impl);
    g_assert_nonnull(w.iface);
}

static void module_free(void)
{
    if (w.module->state != NULL)
        fake_module_stop(w.module);
    g_assert_cmpuint(w.module->leftover_timers, ==, 0);
    fake_module_free(w.module);
    g_free(w.last_message);
    memset(&w, 0, sizeof(w));
}

static void on_done(int result, const char *message, void *data)
{
    w.last_code = result;
    g_free(w.last_message);
    w.last_message = g_strdup(message);
}

static int sync_now(uint32_t flags)
{
    w.last_code = 12345;
    g_assert_cmpint(w.iface->sync(w.impl, flags, NULL, on_done, NULL), ==, UCD_OK);
    g_assert_cmpint(w.last_code, !=, 12345); /* the fake host ran it to its end */
    return w.last_code;
}

#define OR_DASH(s) ((s) != NULL ? (s) : "-")

static void strv_append(GString *out, const char *const *values)
{
    g_string_append_c(out, '|');
    for (size_t i = 0; values != NULL && values[i] != NULL; i++)
        g_string_append_printf(out, "%s%s", i ? "," : "", values[i]);
}

typedef struct collected {
    GPtrArray *users; /* summaries */
    GHashTable *by_login;
} collected;

static int collect_user(const ucd_user *user, void *data)
{
    collected *c = data;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", user->id, user->login,
                           user->enabled ? "on" : "off", OR_DASH(user->display_name),
                           OR_DASH(user->given_name), OR_DASH(user->surname), OR_DASH(user->email),
                           OR_DASH(user->department), OR_DASH(user->title),
                           OR_DASH(user->home_server));
    strv_append(s, user->numbers);
    strv_append(s, user->groups);
    strv_append(s, user->lines);
    char *summary = g_string_free(s, FALSE);
    g_ptr_array_add(c->users, summary);
    g_hash_table_insert(c->by_login, g_strdup(user->login), summary);
    return 0;
}

static collected *collect(void)
{
    collected *c = g_new0(collected, 1);
    c->users = g_ptr_array_new_with_free_func(g_free);
    c->by_login = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_assert_cmpint(w.iface->foreach_user(w.impl, collect_user, c), ==, UCD_OK);
    return c;
}

static void collected_free(collected *c)
{
    g_hash_table_unref(c->by_login);
    g_ptr_array_unref(c->users);
    g_free(c);
}

static guint user_count(void)
{
    collected *c = collect();
    guint n = c->users->len;
    collected_free(c);
    return n;
}

/* The summary of the user with `login`, or "(none)". */
static char *user_line(const char *login)
{
    collected *c = collect();
    const char *line = g_hash_table_lookup(c->by_login, login);
    char *copy = g_strdup(line != NULL ? line : "(none)");
    collected_free(c);
    return copy;
}

static int collect_group(const ucd_group *group, void *data)
{
    g_string_append_printf(data, "%s|%s|%s;", group->id, OR_DASH(group->name),
                           OR_DASH(group->description));
    return 0;
}

static gboolean log_has(const char *needle)
{
    return fake_module_log_has(w.module, 0, needle);
}

static gboolean log_mentions_anywhere(const char *needle)
{
    for (guint i = 0; i < w.module->log_lines->len; i++)
        if (strstr(g_ptr_array_index(w.module->log_lines, i), needle) != NULL)
            return TRUE;
    return g_strrstr(w.module->last_error ? w.module->last_error : "", needle) != NULL;
}

static gboolean skipped(void)
{
    if (skip_reason == NULL)
        return FALSE;
    g_test_skip(skip_reason);
    return TRUE;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_load(void)
{
    if (skipped())
        return;
    db_reset();
    module_new();
    module_start();
    g_assert_cmpuint(w.resynced, ==, 1);
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    g_assert_cmpint(db_count("SELECT count(*) FROM users"), ==, BASE_USERS);
    char *u01 = user_line("user01");
    g_assert_cmpstr(u01, ==,
                    "sql:01|user01|on|User 01|Jörg|Surname01|user01@example.com|Sales|-|-"
                    "|+49 170 1,+49 89 1001|sql:g1,sql:g2|sim/201");
    g_free(u01);
    char *u03 = user_line("user03");
    g_assert_true(g_str_has_prefix(u03, "sql:03|user03|off|"));
    g_free(u03);
    char *u04 = user_line("user04");
    g_assert_true(strstr(u04, "|Sales|-|berlin|") != NULL);
    g_free(u04);
    GString *groups = g_string_new(NULL);
    w.iface->foreach_group(w.impl, collect_group, groups);
    g_assert_cmpstr(groups->str, ==, "sql:g1|Sales team|all of sales;sql:g2|Night|-;");
    g_string_free(groups, TRUE);
    g_assert_cmpint(fake_module_counter(w.module, "users"), ==, BASE_USERS);
    g_assert_cmpint(fake_module_counter(w.module, "database_up"), ==, 1);
    /* Nothing changed: a second sync publishes nothing. */
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_OK);
    g_assert_cmpuint(w.resynced, ==, 1);
    g_assert_true(g_str_has_prefix(w.last_message, "unchanged"));
    module_free();
}

static void test_incremental(void)
{
    if (skipped())
        return;
    db_reset();
    module_new();
    fake_module_set(w.module, "change_column", "stamp");
    module_start();
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    db_run("UPDATE users SET display_name = 'Renamed', stamp = 100 WHERE id = '07'");
    db_run("INSERT INTO users (id, login, display_name, stamp) VALUES ('21', 'user21', 'New', "
           "101)");
    db_run("DELETE FROM users WHERE id = '08'");
    g_assert_cmpint(sync_now(0), ==, UCD_OK);
    g_assert_true(g_str_has_prefix(w.last_message, "incremental"));
    g_assert_cmpuint(w.resynced, ==, 2);
    char *u07 = user_line("user07");
    g_assert_true(g_str_has_prefix(u07, "sql:07|user07|on|Renamed|"));
    g_free(u07);
    char *u21 = user_line("user21");
    g_assert_true(g_str_has_prefix(u21, "sql:21|user21|on|New|"));
    g_free(u21);
    /* An incremental sync cannot see a deletion ... */
    g_assert_cmpuint(user_count(), ==, BASE_USERS + 1);
    /* ... the full one does. */
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_OK);
    g_assert_true(g_str_has_prefix(w.last_message, "full"));
    char *u08 = user_line("user08");
    g_assert_cmpstr(u08, ==, "(none)");
    g_free(u08);
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    /* Nothing newer than stamp 101: nothing to apply. */
    g_assert_cmpint(sync_now(0), ==, UCD_OK);
    g_assert_cmpstr(w.last_message, ==, "unchanged: incremental sync: 20 users, 2 groups");
    module_free();
}

static void test_shrink_refused(void)
{
    if (skipped())
        return;
    db_reset();
    module_new();
    fake_module_set(w.module, "max_shrink_rows", "0"); /* the percentage alone */
    module_start();
    db_run("DELETE FROM users WHERE id IN ('11', '12', '13', '14', '15')");
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_E_INVALID);
    g_assert_nonnull(strstr(w.last_message, "not applied"));
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    g_assert_cmpint(fake_module_counter(w.module, "rejected_syncs"), ==, 1);
    g_assert_true(log_has("keeping the last good 20 users"));
    /* Two fewer (10%) is within the rule. */
    db_reset();
    db_run("DELETE FROM users WHERE id IN ('11', '12')");
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_OK);
    g_assert_cmpuint(user_count(), ==, BASE_USERS - 2);
    module_free();
}

/* Two users with one login: the lower id keeps it, whatever order the rows
 * come in, in full and incremental syncs alike, and each is reported. */
static void test_duplicate_logins(void)
{
    if (skipped())
        return;
    db_reset();
    db_run("INSERT INTO users (id, login, display_name, stamp) VALUES "
           "('31', 'user05', 'Second 05', 31)");
    /* Rows in descending id order: the higher id comes first and still loses. */
    module_new();
    fake_module_set_state_dir(w.module, NULL);
    fake_module_set(w.module, "users_query",
                    "SELECT id, login, display_name, NULL, NULL, NULL, NULL, NULL, NULL, "
                    "enabled FROM users ORDER BY id DESC");
    module_start();
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    char *u05 = user_line("user05");
    g_assert_true(g_str_has_prefix(u05, "sql:05|user05|on|User 05|"));
    g_free(u05);
    g_assert_true(
        log_has("login \"user05\" is used by the rows with id \"05\" and id \"31\": the lower "
                "id keeps it, the row with id \"31\" is skipped"));
    g_assert_cmpint(fake_module_counter(w.module, "duplicate_logins"), ==, 1);
    module_free();

    /* Incremental: a changed row may not take the login of a user it did
     * not re-read, and a lower id takes it over from one. */
    db_reset();
    module_new();
    fake_module_set_state_dir(w.module, NULL);
    fake_module_set(w.module, "change_column", "stamp");
    module_start();
    g_assert_cmpint(fake_module_counter(w.module, "duplicate_logins"), ==, 0);
    db_run("INSERT INTO users (id, login, display_name, stamp) VALUES "
           "('40', 'user07', 'Intruder', 100), ('00', 'user08', 'Earlier 08', 101)");
    g_assert_cmpint(sync_now(0), ==, UCD_OK);
    g_assert_true(g_str_has_prefix(w.last_message, "incremental"));
    char *u07 = user_line("user07");
    g_assert_true(g_str_has_prefix(u07, "sql:07|user07|on|User 07|"));
    g_free(u07);
    char *u08 = user_line("user08");
    g_assert_true(g_str_has_prefix(u08, "sql:00|user08|on|Earlier 08|"));
    g_free(u08);
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    g_assert_cmpint(fake_module_counter(w.module, "duplicate_logins"), ==, 2);
    g_assert_true(log_has("login \"user07\" is used by the rows with id \"07\" and id \"40\""));
    g_assert_true(log_has("login \"user08\" is used by the rows with id \"00\" and id \"08\""));
    /* The full sync decides the same. */
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_OK);
    u08 = user_line("user08");
    g_assert_true(g_str_has_prefix(u08, "sql:00|user08|"));
    g_free(u08);
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    g_assert_cmpint(fake_module_counter(w.module, "duplicate_logins"), ==, 2);
    module_free();
}

#define U01_RELATIONS "|+49 170 1,+49 89 1001|sql:g1,sql:g2|sim/201"

/* The shrink guard covers the whole set: emptied relation tables are not
 * applied, by a full sync or an incremental one. */
static void test_shrink_guards_whole_set(void)
{
    if (skipped())
        return;
    db_reset();
    module_new();
    fake_module_set_state_dir(w.module, NULL);
    fake_module_set(w.module, "change_column", "stamp");
    fake_module_set(w.module, "max_shrink_rows", "0"); /* the fixture's parts are small */
    module_start();
    char *u01 = user_line("user01");
    g_assert_true(g_str_has_suffix(u01, U01_RELATIONS));
    g_free(u01);

    /* A replica being refilled: users cut short, relation tables empty. */
    db_run("DELETE FROM users WHERE id IN ('11', '12', '13', '14', '15')");
    db_run("DELETE FROM group_members");
    db_run("DELETE FROM user_numbers");
    db_run("DELETE FROM user_lines");
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_E_INVALID);
    g_assert_cmpint(sync_now(0), ==, UCD_E_INVALID);
    g_assert_nonnull(strstr(w.last_message, "incremental sync returned 0 group memberships"));
    g_assert_nonnull(strstr(w.last_message, "not applied, no part of it"));
    u01 = user_line("user01");
    g_assert_true(g_str_has_suffix(u01, U01_RELATIONS));
    g_free(u01);
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    g_assert_cmpint(fake_module_counter(w.module, "rejected_syncs"), ==, 2);

    /* Every user there, but no groups: refused as well. */
    db_reset();
    db_run("DELETE FROM groups");
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_E_INVALID);
    g_assert_nonnull(strstr(w.last_message, "full sync returned 0 groups"));
    u01 = user_line("user01");
    g_assert_true(g_str_has_suffix(u01, U01_RELATIONS));
    g_free(u01);
    g_assert_cmpint(fake_module_counter(w.module, "rejected_syncs"), ==, 3);

    /* Within the rule (max_shrink_percent 100: never refuse) it applies. */
    module_free();
    module_new();
    fake_module_set_state_dir(w.module, NULL);
    fake_module_set(w.module, "max_shrink_percent", "100");
    db_reset();
    module_start();
    db_run("DELETE FROM group_members");
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_OK);
    u01 = user_line("user01");
    g_assert_true(g_str_has_suffix(u01, "|+49 170 1,+49 89 1001||sim/201"));
    g_free(u01);
    module_free();
}

/* The guard's floor: by default a part may lose max_shrink_rows (10) rows
 * whatever the percentage, so ordinary changes of small parts (one of two
 * groups, every line assignment) are applied, by incremental syncs too. What
 * the guard refuses, `ucctl users sync --full --force` (UCD_SYNC_FORCE)
 * applies once; the next ordinary sync is judged against the forced set. */
static void test_shrink_floor_and_force(void)
{
    if (skipped())
        return;
    db_reset();
    module_new();
    fake_module_set_state_dir(w.module, NULL);
    fake_module_set(w.module, "change_column", "stamp");
    module_start();
    db_run("DELETE FROM group_members WHERE group_id = 'g2'");
    db_run("DELETE FROM groups WHERE id = 'g2'");
    db_run("DELETE FROM user_lines");
    g_assert_cmpint(sync_now(0), ==, UCD_OK);
    g_assert_true(g_str_has_prefix(w.last_message, "incremental"));
    char *u01 = user_line("user01");
    g_assert_true(g_str_has_suffix(u01, "|+49 170 1,+49 89 1001|sql:g1|"));
    g_free(u01);
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_OK);
    g_assert_cmpint(fake_module_counter(w.module, "rejected_syncs"), ==, 0);
    module_free();

    /* Beyond the floor and the percentage: refused, then forced. */
    db_reset();
    module_new();
    fake_module_set_state_dir(w.module, NULL);
    fake_module_set(w.module, "max_shrink_rows", "3");
    module_start();
    db_run("DELETE FROM users WHERE id IN ('11', '12', '13', '14', '15')");
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_E_INVALID);
    g_assert_nonnull(strstr(w.last_message, "returned 15 users, more than 3 and more than 10% "
                                            "fewer than the 20"));
    g_assert_nonnull(strstr(w.last_message, "ucctl users sync --full --force"));
    g_assert_cmpint(sync_now(0), ==, UCD_E_INVALID);
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    g_assert_cmpint(sync_now(UCD_SYNC_FORCE), ==, UCD_OK);
    g_assert_true(g_str_has_prefix(w.last_message, "full sync: 15 users"));
    g_assert_cmpuint(user_count(), ==, BASE_USERS - 5);
    g_assert_cmpint(sync_now(0), ==, UCD_OK);
    g_assert_cmpint(fake_module_counter(w.module, "rejected_syncs"), ==, 2);
    module_free();

    /* A negative floor is refused at init, naming the key. */
    module_new();
    fake_module_set(w.module, "max_shrink_rows", "-1");
    g_assert_cmpint(fake_module_init(w.module), ==, UCD_FAIL);
    g_assert_cmpstr(w.module->config_error_key, ==, "max_shrink_rows");
    module_free();
}

static struct ucd_timer *retry_timer(void)
{
    for (guint i = 0; i < w.module->timers->len; i++) {
        struct ucd_timer *timer = g_ptr_array_index(w.module->timers, i);
        if ((timer->flags & UCD_TIMER_REPEAT) == 0)
            return timer;
    }
    return NULL;
}

static void test_outage_and_cache(void)
{
    if (skipped())
        return;
    db_reset();
    module_new();
    fake_module_set(w.module, "password_column", "password_hash");
    module_start();
    g_assert_cmpuint(user_count(), ==, BASE_USERS);

    /* Stopped mid-run: the users stay, a retry is scheduled. A change
     * committed just before the outage must survive it: postgres.sh once
     * ran with asynchronous commit, its halt (an immediate stop) lost such
     * commits, and the retry below found the tables as they had been. */
    db_run("UPDATE users SET display_name = 'Before the outage' WHERE id = '10'");
    peer_down();
    g_assert_cmpint(sync_now(UCD_SYNC_FULL), ==, UCD_E_UNAVAILABLE);
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    g_assert_cmpint(fake_module_counter(w.module, "database_up"), ==, 0);
    g_assert_cmpint(fake_module_counter(w.module, "sync_failures"), ==, 1);
    g_assert_cmpint(w.iface->authenticate(w.impl, "user01", "Secret-1"), ==, UCD_E_UNAVAILABLE);
    struct ucd_timer *retry = retry_timer();
    g_assert_nonnull(retry);
    g_assert_cmpuint(retry->interval_ms, ==, 1000);
    fake_timer_fire(retry); /* still down: the next delay doubles */
    retry = retry_timer();
    g_assert_nonnull(retry);
    g_assert_cmpuint(retry->interval_ms, ==, 2000);

    /* Back: the retry reconnects and picks up a change. */
    peer_up();
    db_run("UPDATE users SET display_name = 'Back again' WHERE id = '09'");
    fake_timer_fire(retry);
    /* Neither a new retry nor a refused set (the shrink guard, had rows
     * been lost): the database is up and what it holds was applied. */
    g_assert_null(retry_timer());
    g_assert_cmpint(fake_module_counter(w.module, "rejected_syncs"), ==, 0);
    g_assert_cmpint(fake_module_counter(w.module, "database_up"), ==, 1);
    char *u09 = user_line("user09");
    g_assert_true(g_str_has_prefix(u09, "sql:09|user09|on|Back again|"));
    g_free(u09);
    char *u10 = user_line("user10");
    g_assert_true(g_str_has_prefix(u10, "sql:10|user10|on|Before the outage|"));
    g_free(u10);
    g_assert_cmpint(w.iface->authenticate(w.impl, "user01", "Secret-1"), ==, UCD_OK);
    module_free();

    /* Down at start: the cached users load. */
    peer_down();
    module_new();
    module_start();
    g_assert_true(log_has("from the cache"));
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    u09 = user_line("user09");
    g_assert_true(g_str_has_prefix(u09, "sql:09|user09|on|Back again|"));
    g_free(u09);
    g_assert_cmpint(fake_module_counter(w.module, "sync_failures"), ==, 1);
    g_assert_nonnull(retry_timer());
    peer_up();
    module_free();
}

static void test_logins(void)
{
    if (skipped())
        return;
    db_reset();
    module_new();
    fake_module_set(w.module, "password_column", "password_hash");
    module_start();
    const ucd_users_v1 *f = w.iface;
    g_assert_cmpint(f->authenticate(w.impl, "user01", "Secret-1"), ==, UCD_OK);
    g_assert_cmpint(f->authenticate(w.impl, "user01", "secret-1"), ==, UCD_E_DENIED);
    g_assert_cmpint(f->authenticate(w.impl, "user02", "Grau-2"), ==, UCD_OK);
    g_assert_cmpint(f->authenticate(w.impl, "user02", "Grau-3"), ==, UCD_E_DENIED);
    g_assert_cmpint(f->authenticate(w.impl, "user05", "Blau-3"), ==, UCD_OK);
    g_assert_cmpint(f->authenticate(w.impl, "user05", ""), ==, UCD_E_DENIED);
    /* Clear text is refused even with the right password, and never logged. */
    g_assert_cmpint(f->authenticate(w.impl, "user06", "plain-pw"), ==, UCD_E_DENIED);
    g_assert_true(log_has("configuration problem"));
    g_assert_false(log_mentions_anywhere("plain-pw"));
    /* No hash at all: refused. */
    g_assert_cmpint(f->authenticate(w.impl, "user07", ""), ==, UCD_E_DENIED);
    /* SQL injection through the login finds nobody. */
    g_assert_cmpint(f->authenticate(w.impl, "x' OR '1'='1", "Secret-1"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(f->authenticate(w.impl, "user01' --", "Secret-1"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(f->authenticate(w.impl, "nobody", "x"), ==, UCD_E_NOT_FOUND);
    /* A disabled user cannot log in, even with the right password. */
    db_run("UPDATE users SET enabled = 0 WHERE id = '05'");
    g_assert_cmpint(f->authenticate(w.impl, "user05", "Blau-3"), ==, UCD_E_DENIED);
    g_assert_cmpint(db_count("SELECT count(*) FROM users"), ==, BASE_USERS);
    g_assert_false(log_mentions_anywhere("Secret-1"));
    module_free();

    /* Without a password column there are no logins here. */
    module_new();
    module_start();
    g_assert_cmpint(w.iface->authenticate(w.impl, "user01", "Secret-1"), ==, UCD_E_UNSUPPORTED);
    module_free();
}

static void test_bad_values(void)
{
    if (skipped())
        return;
    db_reset();
    char *long_name = g_strnfill(200, 'x');
    char *sql = g_strdup_printf(
        "INSERT INTO users (id, login, display_name, stamp) VALUES ('30', '%s', 'Long', 30), "
        "('31', NULL, 'No login', 31), ('32', 'user01', 'Same login', 32), "
        "('33', 'user33', '%s', 33), ('34', '', 'Empty login', 34)",
        long_name, long_name);
    db_run(sql);
    g_free(sql);
    if (kind == PEER_SQLITE || kind == PEER_SQLITE_ODBC) {
        /* Only SQLite stores bytes that are not UTF-8 in a text column. */
        db_run("INSERT INTO users (id, login, display_name) VALUES "
               "('35', CAST(X'75C328' AS TEXT), 'bad login'), "
               "('36', 'user36', CAST(X'4D61C3' AS TEXT))");
    }
    if (kind == PEER_SQLITE) /* the SQLite ODBC driver cuts a value at a NUL byte */
        db_run("INSERT INTO users (id, login) VALUES ('37', CAST(X'61006200' AS TEXT))");
    db_run("INSERT INTO user_numbers VALUES ('01', NULL), ('02', '"
           "+49 89 1002"
           "')");
    module_new();
    module_start();
    g_assert_cmpuint(user_count(), ==, BASE_USERS);
    g_assert_true(log_has("users row 21 (id \"30\"): login too long, row skipped"));
    g_assert_true(log_has("(id \"31\"): login missing or empty, row skipped"));
    g_assert_true(log_has("login \"user01\" is used by the rows with id \"01\" and id \"32\""));
    g_assert_true(log_has("(id \"33\"): display_name too long, row skipped"));
    g_assert_true(log_has("(id \"34\"): login missing or empty, row skipped"));
    if (kind == PEER_SQLITE || kind == PEER_SQLITE_ODBC) {
        g_assert_true(log_has("(id \"35\"): login not UTF-8 text, row skipped"));
        g_assert_true(log_has("(id \"36\"): display_name not UTF-8 text, row skipped"));
    }
    if (kind == PEER_SQLITE)
        g_assert_true(log_has("(id \"37\"): login not UTF-8 text, row skipped"));
    g_assert_false(log_mentions_anywhere(long_name));
    g_assert_cmpint(fake_module_counter(w.module, "bad_rows"), >=, 5);
    char *u02 = user_line("user02");
    g_assert_true(strstr(u02, "|+49 89 1002|") != NULL); /* the duplicate number once */
    g_free(u02);
    g_free(long_name);
    module_free();
}

static void test_config(void)
{
    if (skipped())
        return;
    db_reset();
    /* A name that would inject SQL is refused before anything runs. */
    module_new();
    fake_module_set(w.module, "users_table", "users; DROP TABLE users");
    g_assert_cmpint(fake_module_init(w.module), ==, UCD_FAIL);
    g_assert_cmpstr(w.module->config_error_key, ==, "users_table");
    fake_module_free(w.module);
    module_new();
    fake_module_set(w.module, "number_columns", "mobile;x)--");
    g_assert_cmpint(fake_module_init(w.module), ==, UCD_FAIL);
    g_assert_cmpstr(w.module->config_error_key, ==, "number_columns");
    fake_module_free(w.module);
    g_assert_cmpint(db_count("SELECT count(*) FROM users"), ==, BASE_USERS);

    /* A connection that fails never shows its password. No cache here. */
    module_new();
    fake_module_set_state_dir(w.module, NULL);
    fake_module_set(w.module, "backend", "odbc");
    fake_module_set(w.module, "connection_string",
                    "Driver=/nonexistent/driver.so;Server=127.0.0.1;PWD=topsecret-1;Uid=x");
    fake_module_set(w.module, "password", "topsecret-2");
    module_start();
    g_assert_cmpuint(user_count(), ==, 0);
    g_assert_true(log_has("sync failed"));
    g_assert_false(log_mentions_anywhere("topsecret"));
    module_free();

    /* Explicit queries instead of the column map; no cache, whose 20 users
     * would make the 10 selected here a set that shrank too much. */
    module_new();
    fake_module_set_state_dir(w.module, NULL);
    fake_module_set(w.module, "users_query",
                    "SELECT id, login, surname, NULL, NULL, email, department, NULL, NULL, "
                    "enabled FROM users WHERE department = 'Support'");
    fake_module_set(w.module, "groups_query", "SELECT id, name FROM groups WHERE id = 'g2'");
    fake_module_set(w.module, "members_query", "SELECT user_id, group_id FROM group_members");
    fake_module_set(w.module, "numbers_table", "");
    fake_module_set(w.module, "lines_table", "");
    fake_module_set(w.module, "number_columns", NULL);
    module_start();
    g_assert_cmpuint(user_count(), ==, 10);
    char *u11 = user_line("user11");
    g_assert_cmpstr(u11, ==, "sql:11|user11|on|Surname11|-|-|user11@example.com|Support|-|-|||");
    g_free(u11);
    GString *groups = g_string_new(NULL);
    w.iface->foreach_group(w.impl, collect_group, groups);
    g_assert_cmpstr(groups->str, ==, "sql:g2|Night|-;");
    g_string_free(groups, TRUE);
    module_free();
}

/* A failed assertion aborts the program: stop the server first, so that no
 * database outlives the test. Only fork, execv and waitpid, which a signal
 * handler may call; the arguments are made beforehand. */
static char *abort_argv[4];

static void stop_peer_on_abort(int signo)
{
    pid_t pid = fork();
    if (pid == 0) {
        execv(abort_argv[0], abort_argv);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
    signal(signo, SIG_DFL);
    raise(signo);
}

static void arm_abort_cleanup(void)
{
    if (kind != PEER_POSTGRES && kind != PEER_MARIADB)
        return;
    abort_argv[0] = g_build_filename(peers_dir, peer_script(), NULL);
    abort_argv[1] = g_strdup("stop");
    abort_argv[2] = g_strdup(peer_dir);
    signal(SIGABRT, stop_peer_on_abort);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 4)
        g_error("usage: %s users-sql.so KIND PEERS_DIR", argv[0]);
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "users-sql", &handle);
    const char *const kinds[] = {"sqlite", "sqlite-odbc", "postgres", "mariadb", NULL};
    for (kind = 0; kinds[kind] != NULL && strcmp(kinds[kind], argv[2]) != 0; kind++)
        ;
    if (kinds[kind] == NULL)
        g_error("unknown kind %s", argv[2]);
    peers_dir = argv[3];
    peer_start();
    if (peer_dir != NULL)
        arm_abort_cleanup();
    state_dir = g_dir_make_tmp("users-sql-state-XXXXXX", NULL);

    g_test_add_func("/users-sql/load", test_load);
    g_test_add_func("/users-sql/incremental", test_incremental);
    g_test_add_func("/users-sql/shrink-refused", test_shrink_refused);
    g_test_add_func("/users-sql/duplicate-logins", test_duplicate_logins);
    g_test_add_func("/users-sql/shrink-guards-whole-set", test_shrink_guards_whole_set);
    g_test_add_func("/users-sql/shrink-floor-and-force", test_shrink_floor_and_force);
    g_test_add_func("/users-sql/outage-and-cache", test_outage_and_cache);
    g_test_add_func("/users-sql/logins", test_logins);
    g_test_add_func("/users-sql/bad-values", test_bad_values);
    g_test_add_func("/users-sql/config", test_config);
    int result = g_test_run();

    peer_stop();
    remove_tree(state_dir);
    g_free(state_dir);
    g_free(peer_dir);
    g_free(sqlite_file);
    g_free(odbc_string);
    g_free(mariadb_port);
    g_free(skip_reason);
    for (int i = 0; i < 3; i++)
        g_free(abort_argv[i]);
    return result;
}
