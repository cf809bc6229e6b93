/*
 * bench-contacts-sql.c - how fast contacts-sql replicates ROWS rows
 * (default 1,000,000), and how much memory it takes while doing it.
 *
 * argv[1]: contacts-sql.so, argv[2]: sqlite, postgres or mariadb,
 * argv[3] (optional): a suffix for the ODBC connection string (the
 * driver's streaming options). The servers come from
 * tests/peers/with-peer.sh. The table is filled by the database itself
 * (a recursive CTE, generate_series, MariaDB's sequence engine), then one
 * replication runs into a sink that only counts. The peak RSS is reset
 * before the replication (plugins/common/contacts' contact-bench), so the
 * peak printed after it, less the RSS before, is what the replication
 * (plugin plus driver) held at its peak.
 */
#include <sqlite3.h>
#include <string.h>

#include <ucd/contacts.h>

#include "contact-bench.h"
#include "fake-host.h"
#include "odbc-util.h"

static void odbc_exec(const char *target, const char *sql)
{
    SQLHENV env;
    SQLHDBC dbc;
    SQLHSTMT stmt;
    char *error = NULL;
    if (!odbc_connect(target, "secret", 30, &env, &dbc, &error))
        g_error("%s", error);
    SQLAllocHandle(SQL_HANDLE_STMT, dbc, &stmt);
    SQLRETURN rc = SQLExecDirect(stmt, (SQLCHAR *)sql, SQL_NTS);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
        g_error("%s", odbc_diagnostic(SQL_HANDLE_STMT, stmt, sql, NULL, NULL));
    SQLFreeHandle(SQL_HANDLE_STMT, stmt);
    odbc_disconnect(env, dbc);
}

#define COLUMNS                                                                                    \
    "pid VARCHAR(20), fullname VARCHAR(60), firm VARCHAR(60), phone VARCHAR(30), "                 \
    "cell VARCHAR(30)"

int main(int argc, char **argv)
{
    if (argc < 3)
        g_error("usage: %s contacts-sql.so sqlite|postgres|mariadb [ODBC-SUFFIX]", argv[0]);
    const char *kind = argv[2];
    const char *rows_env = g_getenv("ROWS");
    long rows = rows_env != NULL ? atol(rows_env) : 1000000;
    void *handle = NULL;
    const ucd_plugin_descriptor *descriptor = fake_load_plugin(argv[1], "contacts-sql", &handle);
    fake_module *module = fake_module_new(descriptor, "contacts-sql:bench");
    char *dir = g_dir_make_tmp("bench-contacts-sql-XXXXXX", NULL);
    char *file = g_build_filename(dir, "contacts.db", NULL);
    char *target = NULL;
    gint64 start = g_get_monotonic_time();
    if (strcmp(kind, "sqlite") == 0) {
        sqlite3 *db = NULL;
        sqlite3_open(file, &db);
        char *sql = g_strdup_printf(
            "CREATE TABLE people (" COLUMNS ");"
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
            "INSERT INTO people SELECT 'c' || i, 'Contact ' || i, 'Firma ' || (i %% 1000), "
            "'+49 89 ' || i, '+49 170 ' || i FROM n",
            rows);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            g_error("sqlite: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        g_free(sql);
        fake_module_set(module, "database", file);
    } else {
        const char *env = strcmp(kind, "postgres") == 0 ? "PG_ODBC" : "MARIADB_ODBC";
        if (g_getenv(env) == NULL)
            g_error("%s not set: run me through tests/peers/with-peer.sh", env);
        target = g_strconcat(g_getenv(env), argc > 3 ? argv[3] : "", NULL);
        odbc_exec(target, "DROP TABLE IF EXISTS people");
        odbc_exec(target, "CREATE TABLE people (" COLUMNS ")");
        char *sql =
            strcmp(kind, "postgres") == 0
                ? g_strdup_printf("INSERT INTO people SELECT 'c' || i, 'Contact ' || i, 'Firma ' "
                                  "|| (i %% 1000), '+49 89 ' || i, '+49 170 ' || i FROM "
                                  "generate_series(1, %ld) AS i",
                                  rows)
                : g_strdup_printf("INSERT INTO people SELECT CONCAT('c', seq), CONCAT('Contact ', "
                                  "seq), CONCAT('Firma ', seq %% 1000), CONCAT('+49 89 ', seq), "
                                  "CONCAT('+49 170 ', seq) FROM seq_1_to_%ld",
                                  rows);
        odbc_exec(target, sql);
        g_free(sql);
        fake_module_set(module, "backend", "odbc");
        fake_module_set(module, "connection_string", target);
        fake_module_set(module, "password", "secret");
    }
    double fill_s = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    const char *const pairs[] = {"query",
                                 "SELECT pid, fullname, firm, phone, cell FROM people",
                                 "map_source_id",
                                 "pid",
                                 "map_display_name",
                                 "fullname",
                                 "map_company",
                                 "firm",
                                 "map_business",
                                 "phone",
                                 "map_mobile",
                                 "cell",
                                 NULL};
    fake_module_set_pairs(module, pairs);
    fake_module_start(module);
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(module, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    bench_reset_peak();
    long rss_before = bench_proc_kib("self", "VmRSS");
    start = g_get_monotonic_time();
    char *error = NULL;
    counting_sink counts = {0};
    int result = iface->replicate(impl, &counting_sink_iface, &counts, &error);
    double seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    if (result != UCD_OK)
        g_error("replicate: %s", error);
    g_assert_cmpuint(counts.added, ==, (guint64)rows);
    long peak = bench_proc_kib("self", "VmHWM");
    char *loadavg = bench_loadavg();
    g_print("contacts-sql %s%s%s: %ld rows in %.2f s (%.0f rows/s; table filled in %.1f s), "
            "RSS %ld KiB before, peak %ld KiB during (+%ld KiB); load %s\n",
            kind, argc > 3 ? " " : "", argc > 3 ? argv[3] : "", rows, seconds, rows / seconds,
            fill_s, rss_before, peak, peak - rss_before, loadavg);
    g_free(loadavg);
    if (target != NULL)
        odbc_exec(target, "DROP TABLE people");
    fake_module_stop(module);
    fake_module_free(module);
    const char *rm[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(file);
    g_free(dir);
    g_free(target);
    return 0;
}
