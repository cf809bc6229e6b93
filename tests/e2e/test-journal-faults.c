/*
 * test-journal-faults.c - the journal under faults, end to end (suite
 * 'journal-faults'): the real ucd with pbx-sim generating traffic, the
 * journal-odbc store on a real PostgreSQL or MariaDB (tests/peers/) and
 * journal-sqlite beside it as the reference copy of every conversation.
 *
 * - outage: the database server is stopped for a while under traffic and
 *   started again; afterwards the SQL database holds exactly the
 *   conversations journal-sqlite holds, each once (read with psql / mariadb).
 * - frozen: PostgreSQL's processes are stopped with SIGSTOP under traffic
 *   (connections stay open, nothing answers): journal-odbc must notice by
 *   its own deadline (`journal status` failing), a SIGTERM must end ucd
 *   with everything spooled, and after SIGCONT and a restart the SQL
 *   database holds exactly journal-sqlite's conversations, each once.
 * - sigkill: ucd is killed with SIGKILL at random moments during heavy
 *   journal writing, 100 rounds. A store logs `durable UUID database|spool`
 *   at debug level right after a record became durable (commit or fsync'd
 *   spool), so the log of each round is the list of acknowledged records;
 *   every one of them must be in its database after a final clean start has
 *   replayed the spool, SQLite must pass PRAGMA integrity_check and the SQL
 *   database must hold no duplicate and no orphaned participant.
 *
 * Not under valgrind (suite 'e2e' is): a hundred daemon starts and a
 * minute-long outage would take far too long there. Under ASan+UBSan
 * (UCD_FAULTS_SANITIZED=1 from meson.build) the PostgreSQL outage lasts 20 s
 * and there are 30 SIGKILL rounds (UCD_SIGKILL_ROUNDS overrides either way).
 *
 * No step waits without a deadline: polls end at a monotonic deadline,
 * peer commands and SQL clients run under timeout(1), and a watchdog ends
 * a test that outlives its own deadline, naming the step it was at, after
 * killing ucd and stopping the (thawed) server.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "harness.h"

#define TRAFFIC_LINES 200

/* Every peer command and SQL client gets this long (coreutils timeout):
 * a server that does not stop or answer fails the test with a message
 * instead of hanging it until meson's timeout kills it silently. */
#define PEER_COMMAND_LIMIT "120"

/* Under ASan+UBSan (UCD_FAULTS_SANITIZED, set by meson.build) ucd runs
 * several times slower, so the long phases shrink to keep the suite inside
 * its meson timeout; they still cover the same paths. */
static gboolean sanitized(void)
{
    return g_strcmp0(g_getenv("UCD_FAULTS_SANITIZED"), "1") == 0;
}

/* A deadline `seconds` from now, for loops that poll: each poll is a
 * request to ucd, slow under ASan on a loaded machine, so a loop counting
 * iterations would wait many times longer than it says. */
static gint64 deadline_in(int seconds)
{
    return g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
}

static gboolean before(gint64 deadline)
{
    return g_get_monotonic_time() < deadline;
}

/* ---- the watchdog ------------------------------------------------------------------ */

/* A test that waits on something that never happens must fail saying what
 * it waited for, and must not leave a frozen PostgreSQL or a running ucd
 * behind. harness_request() has no deadline of its own, so a thread checks
 * the test's deadline: past it, it kills ucd, stops the peer (the script's
 * `stop` thaws it first; the harness's guard would too, but only once this
 * process is gone) and aborts with the step the test was at. */
typedef struct watchdog {
    GMutex lock;
    const char *step;
    gint64 deadline;
    harness *h;
    const char *script, *dir;
} watchdog;

static watchdog dog;

static gpointer watchdog_run(gpointer unused)
{
    (void)unused;
    for (;;) {
        g_usleep(G_USEC_PER_SEC);
        g_mutex_lock(&dog.lock);
        gboolean late = dog.deadline > 0 && g_get_monotonic_time() > dog.deadline;
        if (late) {
            g_printerr("journal-faults: no progress by the deadline, at step: %s\n", dog.step);
            if (dog.h != NULL)
                harness_signal(dog.h, SIGKILL);
            if (dog.script != NULL) {
                const char *argv[] = {"timeout", PEER_COMMAND_LIMIT, dog.script, "stop", dog.dir,
                                      NULL};
                g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                             NULL, NULL);
            }
            g_error("journal-faults: gave up at step '%s'", dog.step);
        }
        g_mutex_unlock(&dog.lock);
    }
    return NULL;
}

/* Arms the watchdog: `seconds` from now for the whole test. */
static void watchdog_arm(int seconds)
{
    static GThread *thread;
    g_mutex_lock(&dog.lock);
    dog.deadline = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
    dog.step = "start";
    dog.h = NULL;
    dog.script = dog.dir = NULL;
    g_mutex_unlock(&dog.lock);
    if (thread == NULL)
        thread = g_thread_new("watchdog", watchdog_run, NULL);
}

static void watchdog_step(const char *step)
{
    g_mutex_lock(&dog.lock);
    dog.step = step;
    g_mutex_unlock(&dog.lock);
    g_test_message("step: %s", step);
}

static void watchdog_watch(harness *h)
{
    g_mutex_lock(&dog.lock);
    dog.h = h;
    g_mutex_unlock(&dog.lock);
}

static void watchdog_disarm(void)
{
    g_mutex_lock(&dog.lock);
    dog.deadline = 0;
    dog.h = NULL;
    dog.script = dog.dir = NULL;
    g_mutex_unlock(&dog.lock);
}

/* ---- the SQL server, read with its own client ------------------------------------ */

typedef struct sql_peer {
    gboolean postgres; /* else MariaDB */
    const char *script;
    harness_peer *peer;
} sql_peer;

static gboolean sql_peer_start(sql_peer *db, gboolean postgres)
{
    db->postgres = postgres;
    db->script = harness_env(postgres ? "UCD_POSTGRES_SCRIPT" : "UCD_MARIADB_SCRIPT");
    db->peer = harness_peer_start(db->script, postgres ? "PG_DIR" : "MARIADB_DIR", NULL);
    if (db->peer == NULL)
        return FALSE;
    const char *dir = harness_peer_get(db->peer, postgres ? "PG_DIR" : "MARIADB_DIR");
    g_mutex_lock(&dog.lock);
    dog.script = db->script;
    dog.dir = dir;
    g_mutex_unlock(&dog.lock);
    return TRUE;
}

static const char *sql_dir(sql_peer *db)
{
    return harness_peer_get(db->peer, db->postgres ? "PG_DIR" : "MARIADB_DIR");
}

/* `halt` or `resume` the server, keeping its data (tests/peers/). */
static void sql_control(sql_peer *db, const char *verb)
{
    const char *argv[] = {"timeout", PEER_COMMAND_LIMIT, db->script, verb, sql_dir(db), NULL};
    int status = 0;
    GError *error = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("%s %s failed or took over %s s (status %d)", db->script, verb, PEER_COMMAND_LIMIT,
                status);
}

/* Runs `query` with psql or mariadb; one string per row, tab-separated. */
static char **sql_rows(sql_peer *db, const char *query)
{
    char *port = NULL, *host = NULL;
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup("timeout"));
    g_ptr_array_add(argv, g_strdup(PEER_COMMAND_LIMIT));
    if (db->postgres) {
        const char *words[] = {"psql",
                               "-X",
                               "-A",
                               "-t",
                               "-q",
                               "-F",
                               "\t",
                               "-h",
                               harness_peer_get(db->peer, "PGHOST"),
                               "-p",
                               harness_peer_get(db->peer, "PGPORT"),
                               "-U",
                               harness_peer_get(db->peer, "PGUSER"),
                               "-d",
                               harness_peer_get(db->peer, "PGDATABASE"),
                               "-c",
                               query};
        for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
            g_ptr_array_add(argv, g_strdup(words[i]));
    } else {
        port = g_strdup_printf("-P%s", harness_peer_get(db->peer, "MARIADB_PORT"));
        host = g_strdup_printf("-h%s", harness_peer_get(db->peer, "MARIADB_HOST"));
        const char *words[] = {"mariadb", host, port,   "-utest", "-psecret",
                               "-N",      "-B", "test", "-e",     query};
        for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
            g_ptr_array_add(argv, g_strdup(words[i]));
    }
    g_ptr_array_add(argv, NULL);
    char **env = g_get_environ();
    if (db->postgres)
        env = g_environ_setenv(env, "PGPASSWORD", harness_peer_get(db->peer, "PGPASSWORD"), TRUE);
    char *out = NULL, *err = NULL;
    int status = 0;
    GError *error = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("%s failed or took over %s s: %s", db->postgres ? "psql" : "mariadb",
                PEER_COMMAND_LIMIT, err);
    g_strchomp(out);
    char **rows = *out ? g_strsplit(out, "\n", -1) : g_new0(char *, 1);
    g_free(out);
    g_free(err);
    g_free(port);
    g_free(host);
    g_strfreev(env);
    g_ptr_array_unref(argv);
    return rows;
}

static gint64 sql_count(sql_peer *db, const char *query)
{
    char **rows = sql_rows(db, query);
    g_assert_cmpuint(g_strv_length(rows), ==, 1);
    gint64 n = g_ascii_strtoll(rows[0], NULL, 10);
    g_strfreev(rows);
    return n;
}

/* The conversation uuids stored in the SQL database, as a set. */
static GHashTable *sql_uuids(sql_peer *db)
{
    char **rows = sql_rows(db, "SELECT uuid FROM ucd_conversation");
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (char **r = rows; *r; r++)
        g_hash_table_add(set, g_strdup(*r));
    g_strfreev(rows);
    return set;
}

static void sql_peer_stop(sql_peer *db)
{
    harness_peer_stop(db->peer);
}

/* ---- the reference copy in journal-sqlite ----------------------------------------- */

static GHashTable *sqlite_uuids(harness *h)
{
    char *path = g_build_filename(h->dir, "state", "journal-sqlite", "journal.sqlite", NULL);
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    sqlite3_stmt *st = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT uuid FROM conversation", -1, &st, NULL), ==,
                    SQLITE_OK);
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    while (sqlite3_step(st) == SQLITE_ROW)
        g_hash_table_add(set, g_strdup((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    g_assert_cmpint(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
    g_free(path);
    return set;
}

/* ---- the daemon -------------------------------------------------------------------- */

/* pbx-sim with TRAFFIC_LINES lines generating a few hundred short calls a
 * second (simulated time 50x), journal-sqlite and journal-odbc on `db`. Both
 * journals log their durability trail at debug level. */
static char *faults_config(sql_peer *db, gboolean traffic)
{
    /* Under ASan MariaDB Connector/ODBC takes longer than the 3 s deadline
     * to bind a 500-row statement (12,500 parameters, its cost grows with
     * the square of their number), and journal-odbc does not shrink a batch
     * that passed its deadline (a frozen server is not helped by that), so
     * after an outage the 2,000-record replay batches were abandoned one
     * after the other and the spool never drained. Smaller statements and
     * batches keep every write well inside the deadline there. */
    static const char sanitized_batches[] = "batch_size = 200\nrows_per_statement = 50\n";
    GString *lines = g_string_new(NULL);
    for (int i = 0; i < TRAFFIC_LINES; i++)
        g_string_append_printf(lines, "%s%d", i ? ";" : "", 3000 + i);
    const char *odbc = harness_peer_get(db->peer, db->postgres ? "PG_ODBC" : "MARIADB_ODBC");
    char *body = g_strdup_printf("[module pbx-sim]\n"
                                 "lines = %s\n"
                                 "traffic = %s\n"
                                 "speed = 50\n"
                                 "calls_per_hour = 20000\n"
                                 "seed = %u\n"
                                 "ring_time_min = 1s\nring_time_max = 8s\n"
                                 "talk_time_min = 5s\ntalk_time_max = 40s\n"
                                 "[module journal-sqlite]\n"
                                 "log_level = debug\n"
                                 "[module journal-odbc]\n"
                                 "log_level = debug\n"
                                 "connection_string = %s\n"
                                 "password = secret\n"
                                 "timeout = 2s\n"
                                 "retry_max = 2s\n"
                                 "%s",
                                 lines->str, traffic ? "true" : "false", g_test_rand_int(), odbc,
                                 sanitized() ? sanitized_batches : "");
    g_string_free(lines, TRUE);
    return body;
}

/* A cell of `journal status` for journal-odbc. */
static char *odbc_status(harness *h, const char *column)
{
    const char *argv[] = {"journal", "status", NULL};
    JsonNode *r = harness_ok(h, argv);
    char *v = g_strdup(harness_cell(r, "journal-odbc", column));
    json_node_free(r);
    return v;
}

static gint64 odbc_status_number(harness *h, const char *column)
{
    char *v = odbc_status(h, column);
    gint64 n = v ? g_ascii_strtoll(v, NULL, 10) : -1;
    g_free(v);
    return n;
}

/* Waits (up to `seconds`) until journal-odbc is healthy with nothing pending. */
static void wait_drained(harness *h, int seconds)
{
    for (gint64 end = deadline_in(seconds); before(end);) {
        char *state = odbc_status(h, "state");
        gboolean healthy = g_strcmp0(state, "healthy") == 0;
        g_free(state);
        if (healthy && odbc_status_number(h, "pending") == 0)
            return;
        g_usleep(100 * 1000);
    }
    char *detail = odbc_status(h, "detail");
    char *log = harness_log(h);
    char **lines = g_strsplit(log, "\n", -1);
    for (char **l = lines; *l; l++)
        if (strstr(*l, "journal-odbc") && !strstr(*l, ": durable "))
            g_printerr("%s\n", *l);
    g_strfreev(lines);
    g_free(log);
    g_error("journal-odbc did not drain in %d s: %s", seconds, detail);
}

/* ---- the database down under traffic --------------------------------------------- */

static void run_outage(gboolean postgres, int outage_seconds)
{
    /* the outage, the drain (up to 120 s) and generous room for start-up */
    watchdog_arm(outage_seconds + 400);
    sql_peer db;
    if (!sql_peer_start(&db, postgres))
        return; /* skipped: not installed and not CI */
    harness *h = harness_new(NULL);
    char *body = faults_config(&db, TRUE);
    harness_write_config(h, body);
    g_free(body);
    watchdog_step("ucd start");
    g_assert_true(harness_start(h));
    watchdog_watch(h);
    g_assert_true(harness_wait_state(h, "journal-odbc", "running"));

    /* traffic reaches the database */
    for (gint64 end = deadline_in(60); before(end) && odbc_status_number(h, "stored") < 50;)
        g_usleep(100 * 1000);
    g_assert_cmpint(odbc_status_number(h, "stored"), >=, 50);

    watchdog_step("server halted under traffic");
    sql_control(&db, "halt");
    gint64 stored_at_halt = odbc_status_number(h, "stored");
    /* the outage: records go to the spool and `journal status` says so */
    gboolean seen_failing = FALSE;
    gint64 most_pending = 0;
    for (gint64 end = deadline_in(outage_seconds); before(end);) {
        char *state = odbc_status(h, "state");
        seen_failing |= g_strcmp0(state, "failing") == 0;
        g_free(state);
        most_pending = MAX(most_pending, odbc_status_number(h, "pending"));
        g_usleep(100 * 1000);
    }
    g_assert_true(seen_failing);
    g_assert_cmpint(most_pending, >, 0);
    watchdog_step("server resumed, waiting for the drain");
    sql_control(&db, "resume");
    wait_drained(h, 120);
    g_assert_cmpint(odbc_status_number(h, "stored"), >, stored_at_halt);
    g_test_message("outage of %d s: up to %" G_GINT64_FORMAT " records pending", outage_seconds,
                   most_pending);
    watchdog_step("ucd stop");
    g_assert_cmpint(harness_stop(h), ==, 0);
    watchdog_step("comparing the databases");

    /* exactly the reference's conversations, each once */
    GHashTable *want = sqlite_uuids(h);
    GHashTable *have = sql_uuids(&db);
    g_assert_cmpuint(g_hash_table_size(want), >, 100);
    GHashTableIter it;
    gpointer uuid;
    g_hash_table_iter_init(&it, want);
    while (g_hash_table_iter_next(&it, &uuid, NULL))
        if (!g_hash_table_contains(have, uuid))
            g_error("conversation %s is in journal-sqlite but not in the SQL database",
                    (char *)uuid);
    g_assert_cmpuint(g_hash_table_size(have), ==, g_hash_table_size(want));
    g_assert_cmpint(sql_count(&db, "SELECT count(*) FROM ucd_conversation"), ==,
                    sql_count(&db, "SELECT count(DISTINCT uuid) FROM ucd_conversation"));
    g_test_message("%u conversations, each once", g_hash_table_size(have));
    g_hash_table_unref(want);
    g_hash_table_unref(have);
    watchdog_disarm();
    harness_free(h);
    sql_peer_stop(&db);
}

static void test_postgres_outage(void)
{
    run_outage(TRUE, sanitized() ? 20 : 60);
}

static void test_mariadb_outage(void)
{
    run_outage(FALSE, 15);
}

/* ---- the database frozen under traffic -------------------------------------------- */

/* Exactly the reference's conversations in the SQL database, each once. */
static void assert_same_conversations(harness *h, sql_peer *db)
{
    GHashTable *want = sqlite_uuids(h);
    GHashTable *have = sql_uuids(db);
    g_assert_cmpuint(g_hash_table_size(want), >, 100);
    GHashTableIter it;
    gpointer uuid;
    g_hash_table_iter_init(&it, want);
    while (g_hash_table_iter_next(&it, &uuid, NULL))
        if (!g_hash_table_contains(have, uuid))
            g_error("conversation %s is in journal-sqlite but not in the SQL database",
                    (char *)uuid);
    g_assert_cmpuint(g_hash_table_size(have), ==, g_hash_table_size(want));
    g_assert_cmpint(sql_count(db, "SELECT count(*) FROM ucd_conversation"), ==,
                    sql_count(db, "SELECT count(DISTINCT uuid) FROM ucd_conversation"));
    g_test_message("%u conversations, each once", g_hash_table_size(have));
    g_hash_table_unref(want);
    g_hash_table_unref(have);
}

static void test_postgres_frozen(void)
{
    watchdog_arm(500);
    sql_peer db;
    if (!sql_peer_start(&db, TRUE))
        return;
    harness *h = harness_new(NULL);
    char *body = faults_config(&db, TRUE);
    harness_write_config(h, body);
    g_free(body);
    watchdog_step("ucd start");
    g_assert_true(harness_start(h));
    watchdog_watch(h);
    g_assert_true(harness_wait_state(h, "journal-odbc", "running"));
    for (gint64 end = deadline_in(60); before(end) && odbc_status_number(h, "stored") < 50;)
        g_usleep(100 * 1000);
    g_assert_cmpint(odbc_status_number(h, "stored"), >=, 50);

    watchdog_step("server frozen, waiting for journal-odbc to say failing");
    sql_control(&db, "freeze");
    /* noticed without the server's help (before: healthy for ever) */
    gboolean failing = FALSE;
    for (gint64 end = deadline_in(60); before(end) && !failing;) {
        char *state = odbc_status(h, "state");
        failing = g_strcmp0(state, "failing") == 0;
        g_free(state);
        if (!failing)
            g_usleep(100 * 1000);
    }
    char *detail = odbc_status(h, "detail");
    g_test_message("frozen: %s", detail);
    g_free(detail);
    g_usleep(3 * G_USEC_PER_SEC); /* more traffic, into the spool */
    /* SIGTERM ends ucd while the server is still frozen (before: it waited
     * for the server; harness_wait gives up after 30 s) */
    watchdog_step("SIGTERM with the server frozen");
    harness_signal(h, SIGTERM);
    int rc = harness_wait(h);
    sql_control(&db, "thaw");
    watchdog_step("server thawed");
    if (rc != 0) {
        char *log = harness_log(h);
        g_printerr("ucd's stderr:\n%s\n", log);
        g_free(log);
    }
    g_assert_true(failing);
    g_assert_cmpint(rc, ==, 0);
    char *log = harness_log(h);
    g_assert_null(strstr(log, "LOST"));
    g_free(log);

    body = faults_config(&db, FALSE);
    harness_write_config(h, body);
    g_free(body);
    watchdog_step("restart, waiting for the drain");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "journal-odbc", "running"));
    wait_drained(h, 120);
    watchdog_step("ucd stop");
    g_assert_cmpint(harness_stop(h), ==, 0);
    watchdog_step("comparing the databases");
    assert_same_conversations(h, &db);
    watchdog_disarm();
    harness_free(h);
    sql_peer_stop(&db);
}

/* ---- SIGKILL at random moments ---------------------------------------------------- */

/* Adds the uuids of the "MODULE: durable UUID WHERE" lines in `log` to `set`. */
static guint collect_durable(const char *log, const char *module, GHashTable *set)
{
    char *needle = g_strdup_printf(" %s: durable ", module);
    guint n = 0;
    for (const char *p = strstr(log, needle); p; p = strstr(p, needle)) {
        p += strlen(needle);
        size_t len = strcspn(p, " \n");
        if (p[len] == ' ') { /* a complete line: "UUID database" or "UUID spool" */
            g_hash_table_add(set, g_strndup(p, len));
            n++;
        }
    }
    g_free(needle);
    return n;
}

static void test_sigkill_rounds(void)
{
    sql_peer db;
    if (!sql_peer_start(&db, TRUE))
        return;
    harness *h = harness_new(NULL);
    char *body = faults_config(&db, TRUE);
    harness_write_config(h, body);
    g_free(body);
    GHashTable *acked_sqlite = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTable *acked_odbc = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    /* UCD_SIGKILL_ROUNDS: fewer rounds while working on this test */
    const char *env_rounds = g_getenv("UCD_SIGKILL_ROUNDS");
    const int rounds = env_rounds ? atoi(env_rounds) : sanitized() ? 30 : 100;
    /* a round is a start (seconds under ASan on a loaded machine) and a
     * kill; then the replay */
    watchdog_arm(rounds * 10 + 300);
    g_mutex_lock(&dog.lock);
    dog.script = db.script;
    dog.dir = sql_dir(&db);
    g_mutex_unlock(&dog.lock);
    watchdog_step("SIGKILL rounds");
    watchdog_watch(h);
    for (int round = 0; round < rounds; round++) {
        g_assert_true(harness_start(h));
        /* anywhere from start-up (modules still opening) to well into traffic */
        g_usleep((gulong)g_test_rand_int_range(0, 700) * 1000);
        harness_signal(h, SIGKILL);
        harness_wait(h);
        char *log = harness_log(h);
        collect_durable(log, "journal-sqlite", acked_sqlite);
        collect_durable(log, "journal-odbc", acked_odbc);
        g_free(log);
    }
    g_test_message("%d SIGKILLs: %u conversations acknowledged by journal-sqlite, %u by "
                   "journal-odbc",
                   rounds, g_hash_table_size(acked_sqlite), g_hash_table_size(acked_odbc));
    g_assert_cmpuint(g_hash_table_size(acked_sqlite), >, 0);
    g_assert_cmpuint(g_hash_table_size(acked_odbc), >, 0);

    /* a clean start without traffic replays what the spool holds */
    body = faults_config(&db, FALSE);
    harness_write_config(h, body);
    g_free(body);
    watchdog_step("clean start, waiting for the replay");
    g_assert_true(harness_start(h));
    watchdog_watch(h);
    g_assert_true(harness_wait_state(h, "journal-odbc", "running"));
    wait_drained(h, 120);
    watchdog_step("ucd stop");
    g_assert_cmpint(harness_stop(h), ==, 0);
    watchdog_step("comparing the databases");

    GHashTable *in_sqlite = sqlite_uuids(h); /* also PRAGMA integrity_check */
    GHashTable *in_sql = sql_uuids(&db);
    GHashTableIter it;
    gpointer uuid;
    g_hash_table_iter_init(&it, acked_sqlite);
    while (g_hash_table_iter_next(&it, &uuid, NULL))
        if (!g_hash_table_contains(in_sqlite, uuid))
            g_error("journal-sqlite acknowledged %s, which is not in its file", (char *)uuid);
    g_hash_table_iter_init(&it, acked_odbc);
    while (g_hash_table_iter_next(&it, &uuid, NULL))
        if (!g_hash_table_contains(in_sql, uuid))
            g_error("journal-odbc acknowledged %s, which is not in PostgreSQL", (char *)uuid);
    g_assert_cmpint(sql_count(&db, "SELECT count(*) FROM ucd_conversation"), ==,
                    sql_count(&db, "SELECT count(DISTINCT uuid) FROM ucd_conversation"));
    g_assert_cmpint(sql_count(&db, "SELECT count(*) FROM ucd_participant p WHERE NOT EXISTS "
                                   "(SELECT 1 FROM ucd_conversation c WHERE c.uuid = "
                                   "p.conversation_uuid)"),
                    ==, 0);
    g_test_message("stored after the last restart: %u in SQLite, %u in PostgreSQL",
                   g_hash_table_size(in_sqlite), g_hash_table_size(in_sql));
    g_hash_table_unref(in_sqlite);
    g_hash_table_unref(in_sql);
    g_hash_table_unref(acked_sqlite);
    g_hash_table_unref(acked_odbc);
    watchdog_disarm();
    harness_free(h);
    sql_peer_stop(&db);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/journal-faults/postgres-outage", test_postgres_outage);
    g_test_add_func("/journal-faults/mariadb-outage", test_mariadb_outage);
    g_test_add_func("/journal-faults/postgres-frozen", test_postgres_frozen);
    g_test_add_func("/journal-faults/sigkill", test_sigkill_rounds);
    return g_test_run();
}
