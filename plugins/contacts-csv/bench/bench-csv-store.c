/*
 * bench-csv-store.c - a 1,000,000-row export replicated through the real
 * ucd (contacts-csv into contacts-store) against `sqlite3 .import` of the
 * same file into the same schema (docs/PERFORMANCE.md, "contacts-csv";
 * issue 15's target: at most 2x the import).
 *
 * ucd: replicate_at_start, timed from the daemon's start to the store's
 * "generation 1 in use" line (the store's own seconds printed beside it),
 * and ucd's peak RSS (VmHWM) after it. The reference, with the sqlite3
 * program: the schema the store created (read back from its file with
 * .schema), WAL and synchronous=NORMAL as the store sets them, then
 * `.import --csv` into a staging table and, in one transaction, the rows
 * into contacts, the three numbers of each into numbers (raw as E.164: the
 * reference normalizes nothing) and the full-text index filled; timed
 * both whole and for the .import alone. The numbers normalization and the
 * in-memory index are work ucd does and the reference does not.
 *
 *   bench-csv-store ROWS     (env UCD_BIN, UCCTL_BIN, UCD_TEST_PLUGIN_PATH)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "bench-rows.h"
#include "contact-bench.h"
#include "harness.h"

/* Waits (up to `seconds`) for `needle` in ucd's log; the line it is on. */
static char *wait_line(harness *h, const char *needle, int seconds)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < deadline) {
        char *log = harness_log(h);
        const char *at = log != NULL ? strstr(log, needle) : NULL;
        if (at != NULL) {
            const char *start = at;
            while (start > log && start[-1] != '\n')
                start--;
            const char *end = strchr(at, '\n');
            char *line = g_strndup(start, end != NULL ? (gsize)(end - start) : strlen(start));
            g_free(log);
            return line;
        }
        if (log != NULL && strstr(log, "replication failed") != NULL)
            g_error("the replication failed:\n%s", log);
        g_free(log);
        g_usleep(20000);
    }
    g_error("no '%s' in ucd's log after %d s", needle, seconds);
}

/* Runs `sqlite3 DB` with `script` on its standard input; the seconds it
 * took. */
static double sqlite3_run(const char *db, const char *script)
{
    const char *argv[] = {"sqlite3", "-bail", db, NULL};
    GError *error = NULL;
    GSubprocess *p = g_subprocess_newv(
        argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
    if (p == NULL)
        g_error("sqlite3: %s", error->message);
    gint64 t0 = g_get_monotonic_time();
    if (!g_subprocess_communicate_utf8(p, script, NULL, NULL, NULL, &error))
        g_error("sqlite3: %s", error->message);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (!g_subprocess_get_successful(p))
        g_error("sqlite3 failed on:\n%s", script);
    g_object_unref(p);
    return secs;
}

static char *find_database(const char *dir)
{
    char *direct = g_build_filename(dir, "contacts.sqlite", NULL);
    if (g_file_test(direct, G_FILE_TEST_EXISTS))
        return direct;
    g_free(direct);
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d == NULL)
        return NULL;
    char *found = NULL;
    for (const char *name; found == NULL && (name = g_dir_read_name(d)) != NULL;) {
        char *sub = g_build_filename(dir, name, NULL);
        if (g_file_test(sub, G_FILE_TEST_IS_DIR))
            found = find_database(sub);
        g_free(sub);
    }
    g_dir_close(d);
    return found;
}

static char *schema_of(const char *db)
{
    const char *argv[] = {"sqlite3", db, ".schema", NULL};
    char *out = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                      &status, NULL) ||
        status != 0)
        g_error("sqlite3 %s .schema failed", db);
    /* FTS5's shadow tables come back as CREATE TABLE lines of their own;
     * the virtual table makes them again. */
    GString *schema = g_string_new(NULL);
    char **lines = g_strsplit(out, ";\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        if (strstr(*l, "contacts_fts_") != NULL || g_strstrip(*l)[0] == '\0')
            continue;
        g_string_append_printf(schema, "%s;\n", *l);
    }
    g_strfreev(lines);
    g_free(out);
    return g_string_free(schema, FALSE);
}

int main(int argc, char **argv)
{
    unsigned rows = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000;
    harness *h = harness_new(NULL);
    char *csv = g_build_filename(h->dir, "export.csv", NULL);
    bench_rows_write(csv, rows, FALSE);
    GStatBuf st;
    g_assert_cmpint(g_stat(csv, &st), ==, 0);
    char *body = g_strdup_printf("[location default]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "[log]\n"
                                 "level = info\n"
                                 "[module contacts-csv:bench]\n"
                                 "file = %s\n"
                                 "map_source_id = Id\n"
                                 "map_display_name = Name\n"
                                 "map_company = Company\n"
                                 "map_department = Department\n"
                                 "map_email = Email\n"
                                 "map_address = Street;ZIP;City\n"
                                 "map_business = Phone\n"
                                 "map_mobile = Mobile\n"
                                 "map_fax = Fax\n"
                                 "crm_link = https://crm.example/c/{Id}\n"
                                 "replicate_every = 0s\n"
                                 "[module contacts-store]\n",
                                 csv);
    harness_write_config(h, body);

    char *load_before = bench_loadavg();
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(harness_start(h));
    char *line = wait_line(h, "source contacts-csv:bench: generation 1 in use", 3600);
    double ucd_secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    const char *pid = g_subprocess_get_identifier(h->proc);
    long hwm = bench_proc_kib(pid, "VmHWM"), rss = bench_proc_kib(pid, "VmRSS");
    char *expect =
        g_strdup_printf("%u contacts, %u numbers (0 not understood), 0 skipped", rows, 3 * rows);
    if (strstr(line, expect) == NULL)
        g_error("expected '%s' in: %s", expect, line);
    g_assert_cmpint(harness_stop(h), ==, 0);

    char *state = g_build_filename(h->dir, "state", NULL);
    char *store_db = find_database(state);
    g_assert_nonnull(store_db);
    char *schema = schema_of(store_db);
    char *ref_db = g_build_filename(h->dir, "reference.sqlite", NULL);
    char *import_db = g_build_filename(h->dir, "import-only.sqlite", NULL);

    /* .import alone, into a table of the CSV's columns. */
    char *import_only = g_strdup_printf("PRAGMA journal_mode = WAL;\n"
                                        "PRAGMA synchronous = NORMAL;\n"
                                        ".import --csv %s staging\n",
                                        csv);
    double import_secs = sqlite3_run(import_db, import_only);
    /* The same file into the store's schema. */
    char *full = g_strdup_printf(
        "PRAGMA journal_mode = WAL;\n"
        "PRAGMA synchronous = NORMAL;\n"
        "%s"
        "CREATE TEMP TABLE staging(Id, Name, Company, Department, Email, Street, ZIP, City, "
        "Phone, Mobile, Fax);\n"
        ".import --csv --skip 1 %s temp.staging\n"
        "BEGIN;\n"
        "INSERT INTO contacts(id, source, generation, source_id, display_name, company, "
        "department, email, address, crm_link) SELECT rowid, 'contacts-csv:bench', 1, Id, Name, "
        "Company, Department, Email, Street || ', ' || ZIP || ', ' || City, "
        "'https://crm.example/c/' || Id FROM temp.staging;\n"
        "INSERT INTO numbers(contact, seq, kind, raw, e164, display_digits, switchboard) "
        "SELECT rowid, 0, 1, Phone, Phone, '', 0 FROM temp.staging UNION ALL "
        "SELECT rowid, 1, 2, Mobile, Mobile, '', 0 FROM temp.staging UNION ALL "
        "SELECT rowid, 2, 4, Fax, Fax, '', 0 FROM temp.staging;\n"
        "INSERT INTO contacts_fts(rowid, display_name, company, department, email, address, "
        "numbers) SELECT rowid, Name, Company, Department, Email, "
        "Street || ', ' || ZIP || ', ' || City, Phone || ' ' || Mobile || ' ' || Fax "
        "FROM temp.staging;\n"
        "COMMIT;\n",
        schema, csv);
    double ref_secs = sqlite3_run(ref_db, full);
    char *load_after = bench_loadavg();

    printf("contacts-csv -> contacts-store, %u rows, %.1f MB (load average before %s)\n", rows,
           (double)st.st_size / 1e6, load_before);
    printf("  ucd start to copy in use: %.2f s (%.0f rows/s); the store's line: %s\n", ucd_secs,
           rows / ucd_secs, strstr(line, "source "));
    printf("  ucd peak RSS (VmHWM) %ld KiB, RSS after %ld KiB\n", hwm, rss);
    printf("  sqlite3 .import into the same schema (+ numbers, FTS5): %.2f s; .import alone "
           "%.2f s\n",
           ref_secs, import_secs);
    printf("  ratio ucd / sqlite3 same schema: %.2f (target <= 2); load average after %s\n",
           ucd_secs / ref_secs, load_after);

    g_free(load_before);
    g_free(load_after);
    g_free(full);
    g_free(import_only);
    g_free(import_db);
    g_free(ref_db);
    g_free(schema);
    g_free(store_db);
    g_free(state);
    g_free(expect);
    g_free(line);
    g_free(body);
    g_free(csv);
    harness_free(h);
    return 0;
}
