/*
 * contacts-sql-test.c - the contacts-sql plugin against real databases,
 * with a fake sink in place of the store (no daemon).
 *
 * argv[1]: contacts-sql.so, argv[2]: the database kind (sqlite,
 * sqlite-odbc, postgres, mariadb). tests/peers/with-peer.sh has started the
 * peer and put where it is into the environment; the test fills a table of
 * PEOPLE good rows and a few bad ones with the database's own SQL (the
 * sqlite3 library for the SQLite kinds, ODBC's wide-character calls for the
 * servers, so the UTF-8 in the rows reaches them unconverted) and checks
 * exactly what reaches the sink.
 */
#include <sqlite3.h>
#include <string.h>

#include <glib/gstdio.h>
#include <ucd/contacts.h>

#include "contact-sink-recorder.h"
#include "fake-host.h"
#include "odbc-util.h"

#define PEOPLE 2500
#define QUERY                                                                                      \
    "SELECT pid, fullname, first_name, last_name, firm, dept, mail, street, phone, phone2, "       \
    "cell, homephone, faxno, misc FROM people ORDER BY pos"

typedef enum db_kind { KIND_SQLITE, KIND_SQLITE_ODBC, KIND_POSTGRES, KIND_MARIADB } db_kind;

static const ucd_plugin_descriptor *descriptor;
static db_kind kind;
static char *sqlite_file;           /* both SQLite kinds */
static char *odbc_string;           /* the ODBC kinds, without the password */
static const char *server_password; /* the servers' */
static char *temp_dir;

/* ---- the database ---------------------------------------------------------------- */

static void sqlite_run(const char *sql)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(sqlite_file, &db), ==, SQLITE_OK);
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK)
        g_error("sqlite: %s in %.200s", error, sql);
    sqlite3_close(db);
}

static void odbc_run(const char *sql)
{
    SQLHENV env;
    SQLHDBC dbc;
    char *error = NULL;
    if (!odbc_connect(odbc_string, server_password, 30, &env, &dbc, &error))
        g_error("%s", error);
    SQLHSTMT stmt;
    g_assert_true(SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &stmt)));
    gunichar2 *wide = g_utf8_to_utf16(sql, -1, NULL, NULL, NULL);
    g_assert_nonnull(wide);
    SQLRETURN rc = SQLExecDirectW(stmt, (SQLWCHAR *)wide, SQL_NTS);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
        g_error("%s", odbc_diagnostic(SQL_HANDLE_STMT, stmt, "exec", NULL, NULL));
    g_free(wide);
    SQLFreeHandle(SQL_HANDLE_STMT, stmt);
    odbc_disconnect(env, dbc);
}

static void db_run(const char *sql)
{
    if (kind == KIND_SQLITE || kind == KIND_SQLITE_ODBC)
        sqlite_run(sql);
    else
        odbc_run(sql);
}

/* PEOPLE good rows, then (from PEOPLE + 1 on) a NULL id, an empty id, a
 * value longer than the test's max_value_length of 256, and on SQLite a
 * value that is not UTF-8 and one with a NUL byte. */
static void db_fill(void)
{
    db_run("DROP TABLE IF EXISTS people");
    db_run("CREATE TABLE people (pos INTEGER, pid VARCHAR(40), fullname VARCHAR(400), "
           "first_name VARCHAR(100), last_name VARCHAR(100), firm VARCHAR(100), dept VARCHAR(100), "
           "mail VARCHAR(100), street VARCHAR(200), phone VARCHAR(40), phone2 VARCHAR(40), "
           "cell VARCHAR(40), homephone VARCHAR(40), faxno VARCHAR(40), misc VARCHAR(40))");
    GString *sql = g_string_new("INSERT INTO people VALUES (1, 'c0001', 'Jörg Müller', 'Jörg', "
                                "'Müller', 'Müller & Söhne GmbH', 'Vertrieb', 'jm@example.com', "
                                "'Hauptstr. 1, 80331 München', '+49 89 1234567', '089 7654321', "
                                "'+49 170 1', NULL, '+49 89 123456-99', '')");
    for (int i = 2; i <= PEOPLE; i++)
        g_string_append_printf(sql,
                               ", (%d, 'c%04d', 'Contact %d', NULL, NULL, 'Firma %d', NULL, NULL, "
                               "NULL, '+49 30 %07d', NULL, NULL, NULL, NULL, NULL)",
                               i, i, i, i, i);
    char *long_name = g_strnfill(300, 'x');
    g_string_append_printf(sql,
                           ", (%d, NULL, 'No id', NULL, NULL, NULL, NULL, NULL, NULL, "
                           "'+49 30 1', NULL, NULL, NULL, NULL, NULL)"
                           ", (%d, '', 'Empty id', NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                           "NULL, NULL, NULL, NULL, NULL)"
                           ", (%d, 'long', '%s', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                           "NULL, NULL, NULL, NULL)",
                           PEOPLE + 1, PEOPLE + 2, PEOPLE + 3, long_name);
    g_free(long_name);
    db_run(sql->str);
    g_string_free(sql, TRUE);
    if (kind == KIND_SQLITE || kind == KIND_SQLITE_ODBC)
        db_run("INSERT INTO people (pos, pid, fullname) VALUES (2504, 'bad-utf8', "
               "CAST(X'4D61C3' AS TEXT))");
    if (kind == KIND_SQLITE) /* the SQLite ODBC driver cuts a value at a NUL byte */
        db_run("INSERT INTO people (pos, pid, firm) VALUES (2505, 'nul', "
               "CAST(X'61006200' AS TEXT))");
}

/* ---- the plugin ------------------------------------------------------------------ */

static fake_module *module_new(void)
{
    fake_module *module = fake_module_new(descriptor, "contacts-sql:test");
    if (kind == KIND_SQLITE) {
        fake_module_set(module, "database", sqlite_file);
    } else {
        fake_module_set(module, "backend", "odbc");
        fake_module_set(module, "connection_string", odbc_string);
        fake_module_set(module, "password", server_password);
    }
    fake_module_set(module, "max_value_length", "256");
    return module;
}

static void module_set_map(fake_module *module)
{
    const char *const pairs[] = {"query",
                                 QUERY,
                                 "map_source_id",
                                 "pid",
                                 "map_display_name",
                                 "fullname",
                                 "map_given_name",
                                 "first_name",
                                 "map_surname",
                                 "last_name",
                                 "map_company",
                                 "firm",
                                 "map_department",
                                 "dept",
                                 "map_email",
                                 "mail",
                                 "map_address",
                                 "street",
                                 "map_business",
                                 "phone;phone2",
                                 "map_mobile",
                                 "cell",
                                 "map_home",
                                 "homephone",
                                 "map_fax",
                                 "faxno",
                                 "map_other",
                                 "misc",
                                 "crm_link",
                                 "https://crm.example.com/c/{pid}?n={FULLNAME}&x={{1}}",
                                 NULL};
    fake_module_set_pairs(module, pairs);
}

/* Runs one replication into `s`; returns its result, the error in `*error`. */
static int replicate(fake_module *module, contact_sink_recorder *s, char **error)
{
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(module, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    g_assert_nonnull(iface);
    return contact_sink_recorder_run(s, iface, impl, error);
}

static void module_done(fake_module *module)
{
    fake_module_stop(module);
    /* Nothing the plugin logged may hold a password. */
    for (guint i = 0; i < module->log_lines->len; i++)
        g_assert_null(strstr(module->log_lines->pdata[i], "secret"));
    fake_module_free(module);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_replicate(void)
{
    fake_module *module = module_new();
    module_set_map(module);
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_OK);
    g_assert_cmpuint(s.contacts->len, ==, PEOPLE);
    g_assert_cmpstr(contact_sink_recorder_find(s.contacts, "c0001|"), ==,
                    "c0001|Jörg Müller|Jörg|Müller|Müller & Söhne GmbH|Vertrieb|jm@example.com|"
                    "Hauptstr. 1, 80331 München|"
                    "https://crm.example.com/c/c0001?n=J%C3%B6rg%20M%C3%BCller&x={1}|"
                    "business:+49 89 1234567,business:089 7654321,mobile:+49 170 1,"
                    "fax:+49 89 123456-99");
    g_assert_cmpstr(contact_sink_recorder_find(s.contacts, "c2500|"), ==,
                    "c2500|Contact 2500|-|-|Firma 2500|-|-|-|"
                    "https://crm.example.com/c/c2500?n=Contact%202500&x={1}|"
                    "business:+49 30 0002500");
    GPtrArray *want = g_ptr_array_new();
    g_ptr_array_add(want, "query row 2501: no id: column pid is NULL or empty");
    g_ptr_array_add(want, "query row 2502: no id: column pid is NULL or empty");
    g_ptr_array_add(want, "query row 2503: column fullname: value too long");
    if (kind == KIND_SQLITE || kind == KIND_SQLITE_ODBC)
        g_ptr_array_add(want, "query row 2504: column fullname: value is not UTF-8");
    if (kind == KIND_SQLITE)
        g_ptr_array_add(want, "query row 2505: column firm: value holds a NUL byte");
    g_assert_cmpuint(s.skipped->len, ==, want->len);
    for (guint i = 0; i < want->len; i++)
        g_assert_cmpstr(s.skipped->pdata[i], ==, want->pdata[i]);
    /* The skipped rows are never quoted. */
    for (guint i = 0; i < s.skipped->len; i++)
        g_assert_null(strstr(s.skipped->pdata[i], "xxxx"));
    /* Progress every 1,000 rows without a total, then the end with it. */
    guint64 rows = PEOPLE + want->len;
    g_assert_cmpuint(s.progress->len, ==, 2 * 3);
    guint64 *p = (guint64 *)(void *)s.progress->data;
    g_assert_cmpuint(p[0], ==, 1000);
    g_assert_cmpuint(p[1], ==, 0);
    g_assert_cmpuint(p[2], ==, 2000);
    g_assert_cmpuint(p[4], ==, rows);
    g_assert_cmpuint(p[5], ==, rows);
    g_assert_cmpuint(s.checks, ==, rows / 64);
    /* A second run gives the same; on PostgreSQL through a server-side
     * cursor (README: psqlODBC's UseDeclareFetch), so rows arrive in
     * blocks while the plugin fetches them. */
    fake_module *streaming = module_new();
    module_set_map(streaming);
    const char *option = kind == KIND_POSTGRES ? ";UseDeclareFetch=1;Fetch=100" : "";
    char *connection = g_strconcat(odbc_string != NULL ? odbc_string : "", option, NULL);
    if (odbc_string != NULL)
        fake_module_set(streaming, "connection_string", connection);
    fake_module_start(streaming);
    contact_sink_recorder again;
    contact_sink_recorder_init(&again);
    g_assert_cmpint(replicate(streaming, &again, &error), ==, UCD_OK);
    g_assert_cmpuint(again.contacts->len, ==, PEOPLE);
    g_assert_cmpuint(again.skipped->len, ==, want->len);
    for (guint i = 0; i < PEOPLE; i++)
        g_assert_cmpstr(again.contacts->pdata[i], ==, s.contacts->pdata[i]);
    contact_sink_recorder_clear(&again);
    module_done(streaming);
    g_free(connection);
    g_ptr_array_unref(want);
    contact_sink_recorder_clear(&s);
    module_done(module);
}

/* Columns named after the contact shape need no map; a default-named
 * column the query lacks maps nothing. */
static void test_default_map(void)
{
    fake_module *module = module_new();
    fake_module_set(module, "query",
                    "SELECT pid AS id, fullname AS display_name, phone AS business, cell AS mobile "
                    "FROM people WHERE pos <= 3 ORDER BY pos");
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_OK);
    g_assert_cmpuint(s.contacts->len, ==, 3);
    g_assert_cmpstr(s.contacts->pdata[0], ==,
                    "c0001|Jörg Müller|-|-|-|-|-|-|-|business:+49 89 1234567,mobile:+49 170 1");
    g_assert_cmpstr(s.contacts->pdata[2], ==,
                    "c0003|Contact 3|-|-|-|-|-|-|-|business:+49 30 0000003");
    contact_sink_recorder_clear(&s);
    module_done(module);
}

static void expect_failure(fake_module *module, int code, const char *const *needles)
{
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), ==, code);
    g_assert_nonnull(error);
    for (int i = 0; needles[i] != NULL; i++)
        if (strstr(error, needles[i]) == NULL)
            g_error("error \"%s\" lacks \"%s\"", error, needles[i]);
    g_assert_null(strstr(error, "secret"));
    g_assert_null(strstr(error, "wrong-pw"));
    g_free(error);
    contact_sink_recorder_clear(&s);
    module_done(module);
}

static void test_missing_columns(void)
{
    fake_module *module = module_new();
    module_set_map(module);
    fake_module_set(module, "map_mobile", "cell;nosuch");
    const char *const mobile[] = {
        "map_mobile names the column \"nosuch\", which the query does not return", NULL};
    expect_failure(module, UCD_FAIL, mobile);

    module = module_new();
    module_set_map(module);
    fake_module_set(module, "crm_link", "https://crm/{pid}/{nope}");
    const char *const link[] = {"crm_link names the column \"nope\"", NULL};
    expect_failure(module, UCD_FAIL, link);

    module = module_new();
    fake_module_set(module, "query", "SELECT pid, fullname FROM people");
    const char *const id[] = {"map_source_id names the column \"id\"", NULL};
    expect_failure(module, UCD_FAIL, id);
}

/* Where the failure was (the file, or the server of the connection
 * string), and the driver's own words. */
static const char *server_word(void)
{
    switch (kind) {
    case KIND_SQLITE:
        return sqlite_file;
    case KIND_POSTGRES:
        return "Servername=";
    case KIND_MARIADB:
        return "Server=";
    default:
        return "Database=";
    }
}

static void test_sql_error(void)
{
    fake_module *module = module_new();
    fake_module_set(module, "query", "SELECT pid FROM no_such_table");
    const char *const needles[] = {server_word(), "no_such_table", NULL};
    expect_failure(module, UCD_FAIL, needles);
}

static void test_unreachable(void)
{
    fake_module *module = module_new();
    fake_module_set(module, "query", QUERY);
    fake_module_set(module, "map_source_id", "pid");
    if (kind == KIND_SQLITE) {
        char *missing = g_build_filename(temp_dir, "gone", "contacts.db", NULL);
        fake_module_set(module, "database", missing);
        const char *const needles[] = {missing, "unable to open", NULL};
        expect_failure(module, UCD_FAIL, needles);
        g_free(missing);
        return;
    }
    fake_module_set(module, "connection_string", "Driver={no such driver};Server=db.example");
    fake_module_set(module, "password", "wrong-pw");
    const char *const driver[] = {"ODBC Driver={no such driver};Server=db.example",
                                  "ODBC connect failed", NULL};
    expect_failure(module, UCD_FAIL, driver);
    if (kind == KIND_SQLITE_ODBC)
        return; /* a file has no password */
    module = module_new();
    fake_module_set(module, "query", QUERY);
    fake_module_set(module, "map_source_id", "pid");
    fake_module_set(module, "password", "wrong-pw");
    const char *const password[] = {server_word(), "ODBC connect failed", NULL};
    expect_failure(module, UCD_FAIL, password);
}

static void test_cancel_and_store_errors(void)
{
    fake_module *module = module_new();
    module_set_map(module);
    fake_module_start(module);
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    s.cancel_after = 100;
    char *error = NULL;
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_E_BUSY);
    g_assert_cmpstr(error, ==, "cancelled at query row 128");
    g_assert_cmpuint(s.contacts->len, ==, 127);
    g_free(error);
    contact_sink_recorder_clear(&s);

    contact_sink_recorder_init(&s);
    s.fail_after = 10;
    s.fail_code = UCD_E_NOMEM;
    g_assert_cmpint(replicate(module, &s, &error), ==, UCD_E_NOMEM);
    g_assert_cmpstr(error, ==, "the store refused query row 11: out of memory");
    g_free(error);
    contact_sink_recorder_clear(&s);
    module_done(module);
}

static void test_read_only(void)
{
    fake_module *module = module_new();
    fake_module_set(module, "query", "DELETE FROM people");
    const char *const needles[] = {"the query must be one SELECT", NULL};
    expect_failure(module, UCD_FAIL, needles);
    module = module_new();
    fake_module_set(module, "query", "SELECT pid AS id FROM people; DELETE FROM people");
    expect_failure(module, UCD_FAIL, needles);
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(sqlite_file, &db), ==, SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM people", -1, &stmt, NULL);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpint(sqlite3_column_int(stmt, 0), >=, PEOPLE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void expect_config_error(const char *const *pairs, const char *key)
{
    fake_module *module = module_new();
    fake_module_set(module, "query", QUERY);
    fake_module_set_pairs(module, pairs);
    g_assert_cmpint(fake_module_init(module), !=, UCD_OK);
    g_assert_cmpstr(module->config_error_key, ==, key);
    fake_module_free(module);
}

static void test_config(void)
{
    const char *const no_query[] = {"query", NULL, NULL};
    expect_config_error(no_query, "query");
    const char *const backend[] = {"backend", "oracle", NULL};
    expect_config_error(backend, "backend");
    const char *const brace[] = {"crm_link", "https://crm/{pid", NULL};
    expect_config_error(brace, "crm_link");
    const char *const empty[] = {"crm_link", "https://crm/{}", NULL};
    expect_config_error(empty, "crm_link");
    const char *const no_id[] = {"map_source_id", "", NULL};
    expect_config_error(no_id, "map_source_id");
    const char *const length[] = {"max_value_length", "8", NULL};
    expect_config_error(length, "max_value_length");
    const char *const ratio[] = {"min_ratio", "101", NULL};
    expect_config_error(ratio, "min_ratio");
    const char *const odbc[] = {"backend", "odbc", "connection_string", NULL, "dsn", NULL, NULL};
    expect_config_error(odbc, "connection_string");

    fake_module *module = module_new();
    const char *const info_pairs[] = {"query",           QUERY,  "priority",  "5",
                                      "replicate_every", "0",    "min_ratio", "80",
                                      "switchboard",     "true", NULL};
    fake_module_set_pairs(module, info_pairs);
    fake_module_start(module);
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(module, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    ucd_contact_source_info info = {.struct_size = sizeof(info)};
    iface->info(impl, &info);
    g_assert_cmpint(info.priority, ==, 5);
    g_assert_cmpuint(info.replicate_every, ==, 0);
    g_assert_cmpuint(info.min_ratio, ==, 80);
    g_assert_cmpuint(info.switchboard, ==, 1);
    module_done(module);
}

/* The server goes away in the middle of a replication (PostgreSQL read
 * through a cursor, so rows are still to come from it): the replication
 * fails, naming the server and how far it got. Runs last: the server stays
 * down. */
static gboolean halted;

static int halting_add(void *impl, const ucd_contact *contact)
{
    contact_sink_recorder *s = impl;
    if (s->contacts->len == 500 && !halted) {
        const char *argv[] = {g_getenv("WITH_PEER_SCRIPT"), "halt", g_getenv("PG_DIR"), NULL};
        int status = 0;
        g_assert_true(
            g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, NULL, NULL, &status, NULL));
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        halted = TRUE;
    }
    return contact_sink_recorder_iface.add(impl, contact);
}

static void test_server_gone_midway(void)
{
    fake_module *module = module_new();
    module_set_map(module);
    char *connection = g_strconcat(odbc_string, ";UseDeclareFetch=1;Fetch=100", NULL);
    fake_module_set(module, "connection_string", connection);
    fake_module_start(module);
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(module, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    ucd_contact_sink halting = contact_sink_recorder_iface;
    halting.add = halting_add;
    contact_sink_recorder s;
    contact_sink_recorder_init(&s);
    char *error = NULL;
    int result = iface->replicate(impl, &halting, &s, &error);
    g_assert_true(halted);
    g_assert_cmpint(result, ==, UCD_FAIL);
    g_assert_nonnull(error);
    if (strstr(error, "Servername=") == NULL || strstr(error, "after ") == NULL)
        g_error("error \"%s\" lacks the server or how far it got", error);
    g_test_message("%s", error);
    g_assert_null(strstr(error, "secret"));
    g_assert_cmpuint(s.contacts->len, <, PEOPLE);
    free(error);
    contact_sink_recorder_clear(&s);
    module_done(module);
    g_free(connection);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: %s contacts-sql.so KIND", argv[0]);
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "contacts-sql", &handle);
    const char *const kinds[] = {"sqlite", "sqlite-odbc", "postgres", "mariadb", NULL};
    for (kind = 0; kinds[kind] != NULL && strcmp(kinds[kind], argv[2]) != 0; kind++)
        ;
    if (kinds[kind] == NULL)
        g_error("unknown kind %s", argv[2]);
    temp_dir = g_dir_make_tmp("contacts-sql-test-XXXXXX", NULL);
    const char *env = NULL;
    switch (kind) {
    case KIND_SQLITE:
        sqlite_file = g_build_filename(temp_dir, "contacts.db", NULL);
        break;
    case KIND_SQLITE_ODBC:
        sqlite_file = g_strdup(g_getenv("SQLITE_ODBC_FILE"));
        env = "SQLITE_ODBC";
        break;
    case KIND_POSTGRES:
        env = "PG_ODBC";
        server_password = "secret";
        break;
    case KIND_MARIADB:
        env = "MARIADB_ODBC";
        server_password = "secret";
        break;
    }
    if (env != NULL) {
        if (g_getenv(env) == NULL)
            g_error("%s not set: run me through tests/peers/with-peer.sh", env);
        odbc_string = g_strdup(g_getenv(env));
    }
    db_fill();

    g_test_add_func("/contacts-sql/replicate", test_replicate);
    g_test_add_func("/contacts-sql/default-map", test_default_map);
    g_test_add_func("/contacts-sql/missing-columns", test_missing_columns);
    g_test_add_func("/contacts-sql/sql-error", test_sql_error);
    g_test_add_func("/contacts-sql/unreachable", test_unreachable);
    g_test_add_func("/contacts-sql/cancel-and-store-errors", test_cancel_and_store_errors);
    if (kind == KIND_SQLITE) /* the file is opened read-only */
        g_test_add_func("/contacts-sql/read-only", test_read_only);
    g_test_add_func("/contacts-sql/config", test_config);
    if (kind == KIND_POSTGRES) /* last: the server stays down */
        g_test_add_func("/contacts-sql/server-gone-midway", test_server_gone_midway);
    int result = g_test_run();

    const char *argv_rm[] = {"rm", "-rf", temp_dir, NULL};
    g_spawn_sync(NULL, (char **)argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
    g_free(temp_dir);
    g_free(sqlite_file);
    g_free(odbc_string);
    return result;
}
