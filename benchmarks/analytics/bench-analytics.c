/*
 * bench-analytics.c - time of a month report by analytics-export over 10
 * million conversations in journal-sqlite (docs/PERFORMANCE.md; target < 5 s).
 *
 *   bench-analytics analytics-export.so journal-sqlite.so DB_PATH [COUNT]
 *
 * The journal: COUNT (default 10,000,000) conversations over 365 days from
 * 2023-01-01 UTC (one every 3.15 s; 70% answered, 20% not, 5% busy, 5%
 * failed; 200 users and lines; every fifth call transferred to a second
 * user; a quarter tagged with one of 12 projects), written with SQL straight
 * into journal-sqlite's schema (created by the plugin itself) in one
 * transaction, and kept at DB_PATH for the next run. The number index is
 * left empty: a report queries by time only.
 *
 * Then both plugins run in the fake host: journal-sqlite on that file, and
 * analytics-export finding it as its journal service. Timed, best of 3:
 *   journal:  journal-sqlite's query() paging through June 2023 and May 2023
 *             (the month and the previous month) in day slices, as the plugin
 *             reads, with a callback that only counts: what the journal costs;
 *             once more as one paged query per month, for comparison;
 *   report:   `analytics export --from 2023-06-01 --to 2023-07-01` in all
 *             five formats, end to end through the command (work item, query
 *             pages, KPIs, files written).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "fake-host.h"

#define BASE_MS INT64_C(1672531200000) /* 2023-01-01T00:00:00Z */
#define YEAR_MS (INT64_C(365) * 86400000)
#define JUNE_MS INT64_C(1685577600000) /* 2023-06-01T00:00:00Z */
#define JULY_MS INT64_C(1688169600000)
#define MAY_MS  INT64_C(1682899200000)

static const char *const fill_sql =
    "INSERT INTO conversation(id, uuid, driver_instance, start_ms, answer_ms, end_ms, direction,"
    " outcome, flags, source_number, destination_number, end_reason, tags)"
    " WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1),"
    " c(i, s) AS (SELECT i, :base + i * :step FROM n)"
    " SELECT i + 1, 'bench-' || i, 'pbx-sim', s,"
    "  CASE WHEN i % 10 < 7 THEN s + (i % 41) * 1000 ELSE 0 END,"
    "  CASE WHEN i % 10 < 7 THEN s + (i % 41) * 1000 + (i * 7 % 900 + 1) * 1000"
    "   ELSE s + 20000 END,"
    "  1 + i % 3,"
    "  CASE WHEN i % 10 < 7 THEN 0 WHEN i % 10 < 9 THEN 1 WHEN i % 20 = 9 THEN 2 ELSE 3 END,"
    "  0, '+4930' || (1000000 + i % 900000), '20' || (i % 200), 'normal',"
    "  CASE WHEN i % 4 = 0 THEN 'project-' || (i % 12) END"
    " FROM c;"
    "INSERT INTO participant(conversation_id, seq, role, user_id, line, joined_ms, answered_ms,"
    " left_ms, start_ms)"
    " SELECT id, 0, CASE direction WHEN 2 THEN 0 ELSE 1 END, 'u' || (id % 200),"
    "  '' || (200 + id % 200), start_ms, answer_ms, end_ms, start_ms FROM conversation;"
    "INSERT INTO participant(conversation_id, seq, role, user_id, line, joined_ms, answered_ms,"
    " left_ms, start_ms)"
    " SELECT id, 1, 2, 'u' || ((id + 7) % 200), '' || (200 + (id + 7) % 200),"
    "  (answer_ms + end_ms) / 2, CASE WHEN answer_ms > 0 THEN (answer_ms + end_ms) / 2 + 3000"
    "  ELSE 0 END, end_ms, start_ms FROM conversation WHERE id % 5 = 0;"
    "CREATE TABLE bench_meta(count INTEGER NOT NULL);"
    "INSERT INTO bench_meta VALUES (:count);";

static const ucd_plugin_descriptor *journal_descriptor, *analytics_descriptor;
static uint32_t page_size = 20000; /* the plugin's default; BENCH_PAGE_SIZE sets both */

static double seconds_since(gint64 start_us)
{
    return (double)(g_get_monotonic_time() - start_us) / 1e6;
}

static void check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        g_error("%s: %s", what, sqlite3_errmsg(db));
}

/* The number of conversations the cached file says it holds; 0 if none. */
static int64_t cached_count(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t count = 0;
    if (g_file_test(path, G_FILE_TEST_EXISTS) &&
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count FROM bench_meta", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        count = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return count;
}

static void bind_named(sqlite3_stmt *st, const char *name, int64_t value)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_int64(st, i, value);
}

/* Runs the ';'-separated statements of `sql` with the fill parameters bound. */
static void run_fill(sqlite3 *db, int64_t count)
{
    const char *tail = fill_sql;
    while (tail != NULL && *tail) {
        sqlite3_stmt *st = NULL;
        check(db, sqlite3_prepare_v2(db, tail, -1, &st, &tail), "preparing the fill");
        if (st == NULL)
            break;
        bind_named(st, ":count", count);
        bind_named(st, ":base", BASE_MS);
        bind_named(st, ":step", YEAR_MS / count);
        check(db, sqlite3_step(st), "filling the journal");
        sqlite3_finalize(st);
    }
}

static fake_module *start_journal(const char *path)
{
    fake_module *journal = fake_module_new(journal_descriptor, "journal-sqlite");
    fake_module_set(journal, "database", path);
    fake_module_set(journal, "cache_size", "256");
    fake_module_start(journal);
    return journal;
}

static void remove_database(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *name = g_strconcat(path, suffixes[i], NULL);
        g_unlink(name);
        g_free(name);
    }
}

/* Creates the schema through the plugin, then fills it with SQL. */
static void build_journal(const char *path, int64_t count)
{
    remove_database(path);
    fake_module *journal = start_journal(path);
    fake_module_stop(journal);
    fake_module_free(journal);

    gint64 start = g_get_monotonic_time();
    sqlite3 *db = NULL;
    check(db, sqlite3_open(path, &db), "opening the journal");
    check(db,
          sqlite3_exec(db,
                       "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                       "PRAGMA cache_size=-524288; BEGIN",
                       NULL, NULL, NULL),
          "setting up");
    run_fill(db, count);
    check(db, sqlite3_exec(db, "COMMIT; PRAGMA journal_mode=WAL; ANALYZE", NULL, NULL, NULL),
          "committing");
    sqlite3_close(db);
    printf("built %" G_GINT64_FORMAT " conversations in %.1f s\n", count, seconds_since(start));
}

typedef struct journal_run {
    const ucd_journal_v1 *iface;
    void *impl;
    uint64_t records;
} journal_run;

static int count_record(const ucd_journal_record *record, void *data)
{
    ((journal_run *)data)->records++;
    return 0;
}

/* Pages through [from, to) as the plugin does, counting only. */
static void page_through(journal_run *run, int64_t from, int64_t to)
{
    char cursor[256] = "", next[256];
    do {
        ucd_journal_query q = {.struct_size = sizeof(q),
                               .from_ms = from,
                               .to_ms = to,
                               .limit = page_size,
                               .after = cursor[0] ? cursor : NULL};
        if (run->iface->query(run->impl, &q, count_record, run, next, sizeof(next)) != UCD_OK)
            g_error("journal query failed");
        memcpy(cursor, next, sizeof(cursor));
    } while (cursor[0]);
}

/* Pages through [from, to) in slices of `slice_ms`, newest first, as the
 * plugin does (a slice as long as the range: one paged query). */
static void page_slices(journal_run *run, int64_t from, int64_t to, int64_t slice_ms)
{
    for (int64_t end = to; end > from; end -= slice_ms)
        page_through(run, MAX(from, end - slice_ms), end);
}

static double time_journal(fake_module *journal, int64_t slice_ms, uint64_t *records)
{
    journal_run run = {0};
    run.iface = fake_module_service(journal, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, &run.impl);
    gint64 start = g_get_monotonic_time();
    page_slices(&run, JUNE_MS, JULY_MS, slice_ms);
    page_slices(&run, MAY_MS, JUNE_MS, slice_ms);
    *records = run.records;
    return seconds_since(start);
}

static double time_report(fake_module *analytics, const char *out, char **reply)
{
    gint64 start = g_get_monotonic_time();
    *reply = fake_module_command(analytics, UCD_OK, "export", "--from", "2023-06-01T00:00Z", "--to",
                                 "2023-07-01T00:00Z", "--format", "csv,xml,json,html,prometheus",
                                 "--output", out, NULL);
    return seconds_since(start);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines as they come */
    if (argc < 4)
        g_error("usage: %s analytics-export.so journal-sqlite.so DB_PATH [COUNT]", argv[0]);
    int64_t count = argc > 4 ? g_ascii_strtoll(argv[4], NULL, 10) : 10000000;
    void *handle;
    analytics_descriptor = fake_load_plugin(argv[1], "analytics-export", &handle);
    journal_descriptor = fake_load_plugin(argv[2], "journal-sqlite", &handle);
    if (cached_count(argv[3]) != count)
        build_journal(argv[3], count);
    else
        printf("reusing %s (%" G_GINT64_FORMAT " conversations)\n", argv[3], count);

    fake_module *journal = start_journal(argv[3]);
    fake_module *analytics = fake_module_new(analytics_descriptor, "analytics-export");
    fake_module_set(analytics, "timezone", "UTC");
    if (g_getenv("BENCH_PAGE_SIZE") != NULL) {
        page_size = (uint32_t)g_ascii_strtoull(g_getenv("BENCH_PAGE_SIZE"), NULL, 10);
        fake_module_set(analytics, "page_size", g_getenv("BENCH_PAGE_SIZE"));
    }
    fake_module_start(analytics);
    char *out = g_dir_make_tmp("bench-analytics-XXXXXX", NULL);

    double best_journal = G_MAXDOUBLE, best_report = G_MAXDOUBLE;
    uint64_t records = 0;
    char *reply = NULL;
    for (int round = 0; round < 3; round++) {
        best_journal = MIN(best_journal, time_journal(journal, 86400000, &records));
        g_free(reply);
        best_report = MIN(best_report, time_report(analytics, out, &reply));
    }
    /* One paged query per month, for the journal's owner: see README. */
    double one_range = time_journal(journal, JULY_MS - MAY_MS, &records);
    printf("month report: %s\n", reply);
    printf("journal query() alone, month + previous month in day slices (as the plugin reads): "
           "%" G_GUINT64_FORMAT " records in %.2f s (%.0f records/s)\n",
           records, best_journal, (double)records / best_journal);
    printf("journal query() alone, one paged query per month: %.2f s\n", one_range);
    printf("analytics month report, end to end (5 formats): %.2f s (target < 5 s): %s\n",
           best_report, best_report < 5.0 ? "met" : "NOT met");
    /* The plugin reads the previous period on a second thread while it reads
     * the current one, so the report can take less than the journal time
     * above, which reads both one after the other. */
    printf("(the plugin reads the month and the previous month at once: on two cores the report "
           "can be shorter than the serial query time above)\n");

    g_free(reply);
    fake_module_stop(analytics);
    fake_module_free(analytics);
    fake_module_stop(journal);
    fake_module_free(journal);
    char *rm[] = {"rm", "-rf", out, NULL};
    g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(out);
    return 0;
}
