/*
 * bench-csv-store.c - a 1,000,000-row export replicated through the real
 * ucd (contacts-csv into contacts-store) against `sqlite3 .import` of the
 * same file into the same schema (docs/PERFORMANCE.md, "contacts-csv";
 * issue 15's target: at most 2x the import).
 *
 * ucd: replicate_at_start, timed from the daemon's start to the store's
 * "generation 1 in use" line (the store's own seconds printed beside it);
 * then `ucctl directory replicate` of the unchanged file, timed to
 * "generation 2 in use": the nightly case, where the copy before is
 * replaced. ucd's peak RSS (VmHWM) after each.
 *
 * The reference, with the sqlite3 program: the schema the store created
 * (read back from its file with .schema), WAL and synchronous=NORMAL as the
 * store sets them, then `.import --csv` into a staging table and, in one
 * transaction, the rows into contacts (with the number terms the store
 * writes: each number's E.164 digits, national digits and raw parts, those
 * that are a prefix of another left out; the reference derives them with
 * replace() from this file's known shapes, the store normalizes), the
 * three numbers of each into numbers, and the full-text index (external
 * content over contacts) built by FTS5's 'rebuild', as the store builds it
 * for a lone source. Run with sqlite3's default page cache and again with
 * a 256 MiB one (the store's writer uses 64 MiB); the .import alone too.
 * Each run's row counts are checked: a reference that loaded nothing is no limit. The
 * in-memory number index is work ucd does and the reference does not.
 * sqlite3's peak RSS is each run's own (wait4).
 *
 *   bench-csv-store ROWS     (env UCD_BIN, UCCTL_BIN, UCD_TEST_PLUGIN_PATH)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "bench-rows.h"
#include "contact-bench.h"
#include "harness.h"

/* FALSE once ucd has exited (a zombie no child watch reaped yet). */
static gboolean daemon_alive(harness *h)
{
    char *path = g_strdup_printf("/proc/%s/stat", g_subprocess_get_identifier(h->proc));
    char *stat = NULL;
    gboolean alive = g_file_get_contents(path, &stat, NULL, NULL);
    /* "PID (comm) STATE ...": the state follows the last ')'. */
    const char *end = alive ? strrchr(stat, ')') : NULL;
    if (end != NULL && end[1] == ' ' && end[2] == 'Z')
        alive = FALSE;
    g_free(stat);
    g_free(path);
    return alive;
}

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
        if (!daemon_alive(h))
            g_error("ucd is gone, waiting for '%s':\n%s", needle, log ? log : "");
        g_free(log);
        g_usleep(20000);
    }
    g_error("no '%s' in ucd's log after %d s", needle, seconds);
}

/* Runs `sqlite3 DB` with `script` on its standard input; the seconds it
 * took, its output in `*out` (g_free) and its peak RSS in `*peak_kib`
 * (wait4's, this child's alone). */
static double sqlite3_run(const char *db, const char *script, char **out, long *peak_kib)
{
    char *argv[] = {"sqlite3", "-bail", (char *)db, NULL};
    GError *error = NULL;
    GPid pid;
    int in_fd, out_fd;
    gint64 t0 = g_get_monotonic_time();
    if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                  NULL, NULL, &pid, &in_fd, &out_fd, NULL, &error))
        g_error("sqlite3: %s", error->message);
    /* The script is a few KiB and sqlite3 prints a few lines at its end:
     * neither pipe fills while the other waits. */
    size_t left = strlen(script);
    for (const char *p = script; left > 0;) {
        ssize_t n = write(in_fd, p, left);
        if (n < 0)
            g_error("sqlite3's stdin: %s", g_strerror(errno));
        p += n;
        left -= (size_t)n;
    }
    close(in_fd);
    GString *text = g_string_new(NULL);
    char buf[4096];
    ssize_t n;
    while ((n = read(out_fd, buf, sizeof buf)) > 0)
        g_string_append_len(text, buf, n);
    close(out_fd);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        g_error("wait4 sqlite3: %s", g_strerror(errno));
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    g_spawn_close_pid(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        g_error("sqlite3 failed on:\n%s", script);
    *out = g_string_free(text, FALSE);
    *peak_kib = ru.ru_maxrss;
    return secs;
}

/* The sqlite3 reference into `schema` with `cache` ("" or a PRAGMA): its
 * seconds and peak RSS; fails unless every row arrived in contacts, numbers and the
 * full-text index. */
static double reference_run(const char *db, const char *schema, const char *csv, unsigned rows,
                            const char *cache, long *peak_kib)
{
    /* The numbers' E.164 and national digits, as the store has them. This
     * file's numbers are "+49 89 NNNNNNN", "0171 NNNNNNN" and
     * "+49 89 NNNNNNN-9": (pd, md, fd) are the raw forms without '+', ' '
     * and '-'. */
    static const char digits[] =
        "CREATE TEMP VIEW digits AS SELECT rowid AS did,"
        " replace(replace(replace(Phone, '+', ''), ' ', ''), '-', '') AS pd,"
        " replace(Mobile, ' ', '') AS md,"
        " replace(replace(replace(Fax, '+', ''), ' ', ''), '-', '') AS fd FROM temp.staging;\n";
    /* A contact's number terms as the store writes them: of the 16 words
     * (each number's E.164 digits, national digits and raw parts) those
     * that are no prefix of another, fax E.164 and national, mobile E.164
     * and national, NNNNNNN, 89 and 9. */
    static const char terms[] = "'0' || substr(fd, 3) || ' ' || md || ' ' || substr(pd, 5) || ' ' "
                                "|| '49' || substr(md, 2) || ' ' || fd || ' 89 9'";
    char *script = g_strdup_printf(
        "PRAGMA journal_mode = WAL;\n"
        "PRAGMA synchronous = NORMAL;\n"
        "%s\n"
        "%s"
        "CREATE TEMP TABLE staging(Id, Name, Company, Department, Email, Street, ZIP, City, "
        "Phone, Mobile, Fax);\n"
        ".import --csv --skip 1 --schema temp %s staging\n"
        "%s"
        "BEGIN;\n"
        "INSERT INTO contacts(id, source, generation, source_id, display_name, company, "
        "department, email, address, crm_link, number_terms) SELECT s.rowid, "
        "'contacts-csv:bench', 1, Id, Name, Company, Department, Email, "
        "Street || ', ' || ZIP || ', ' || City, 'https://crm.example/c/' || Id, %s"
        " FROM temp.staging s JOIN digits d ON d.did = s.rowid;\n"
        "INSERT INTO numbers(contact, seq, kind, raw, e164, display_digits, switchboard) "
        "SELECT s.rowid, 0, 1, Phone, '+' || pd, '0' || substr(pd, 3), 0"
        " FROM temp.staging s JOIN digits d ON d.did = s.rowid UNION ALL "
        "SELECT s.rowid, 1, 2, Mobile, '+49' || substr(md, 2), md, 0"
        " FROM temp.staging s JOIN digits d ON d.did = s.rowid UNION ALL "
        "SELECT s.rowid, 2, 4, Fax, '+' || fd, '0' || substr(fd, 3), 0"
        " FROM temp.staging s JOIN digits d ON d.did = s.rowid;\n"
        "INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild');\n"
        "COMMIT;\n"
        "SELECT (SELECT count(*) FROM contacts) || ' ' || (SELECT count(*) FROM numbers) || ' ' "
        "|| (SELECT count(*) FROM contacts_fts_docsize);\n",
        cache, schema, csv, digits, terms);
    char *out = NULL;
    double secs = sqlite3_run(db, script, &out, peak_kib);
    char *expect = g_strdup_printf("%u %u %u\n", rows, 3 * rows, rows);
    if (out == NULL || !g_str_has_suffix(out, expect))
        g_error("the sqlite3 reference loaded '%s', expected '%s'", out ? out : "", expect);
    g_free(expect);
    g_free(out);
    g_free(script);
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

/* Starts `ucctl directory replicate SOURCE` and leaves it running: ucctl
 * gives up on a reply after 30 s, a million rows may take longer, and the
 * time is taken from the store's log line anyway. */
static GSubprocess *replicate_async(harness *h, const char *source)
{
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                       G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    g_subprocess_launcher_setenv(l, "UCD_SOCKET", h->sock, TRUE);
    GError *error = NULL;
    GSubprocess *p = g_subprocess_launcher_spawn(l, &error, g_getenv("UCCTL_BIN"), "directory",
                                                 "replicate", source, NULL);
    if (p == NULL)
        g_error("ucctl: %s", error->message);
    g_object_unref(l);
    return p;
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
    char *expect =
        g_strdup_printf("%u contacts, %u numbers (0 not understood), 0 skipped", rows, 3 * rows);
    if (strstr(line, expect) == NULL)
        g_error("expected '%s' in: %s", expect, line);
    const char *pid = g_subprocess_get_identifier(h->proc);
    long hwm1 = bench_proc_kib(pid, "VmHWM");
    /* The nightly case: the same file again replaces generation 1. */
    t0 = g_get_monotonic_time();
    GSubprocess *ucctl = replicate_async(h, "contacts-csv:bench");
    char *line2 = wait_line(h, "source contacts-csv:bench: generation 2 in use", 3600);
    double ucd2_secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (strstr(line2, expect) == NULL)
        g_error("expected '%s' in: %s", expect, line2);
    g_subprocess_wait(ucctl, NULL, NULL);
    g_object_unref(ucctl);
    long hwm = bench_proc_kib(pid, "VmHWM"), rss = bench_proc_kib(pid, "VmRSS");
    g_assert_cmpint(harness_stop(h), ==, 0);

    char *state = g_build_filename(h->dir, "state", NULL);
    char *store_db = find_database(state);
    g_assert_nonnull(store_db);
    GStatBuf db_st;
    g_assert_cmpint(g_stat(store_db, &db_st), ==, 0);
    char *schema = schema_of(store_db);
    char *ref_db = g_build_filename(h->dir, "reference.sqlite", NULL);
    char *cached_db = g_build_filename(h->dir, "reference-cache.sqlite", NULL);
    char *import_db = g_build_filename(h->dir, "import-only.sqlite", NULL);

    /* .import alone, into a table of the CSV's columns. */
    char *import_only = g_strdup_printf("PRAGMA journal_mode = WAL;\n"
                                        "PRAGMA synchronous = NORMAL;\n"
                                        ".import --csv %s staging\n",
                                        csv);
    char *out = NULL;
    long import_peak = 0, ref_peak = 0, cached_peak = 0;
    double import_secs = sqlite3_run(import_db, import_only, &out, &import_peak);
    g_free(out);
    double ref_secs = reference_run(ref_db, schema, csv, rows, "", &ref_peak);
    double cached_secs =
        reference_run(cached_db, schema, csv, rows, "PRAGMA cache_size = -262144;", &cached_peak);
    GStatBuf ref_st;
    g_assert_cmpint(g_stat(ref_db, &ref_st), ==, 0);
    char *load_after = bench_loadavg();

    printf("contacts-csv -> contacts-store, %u rows, %.1f MB (load average before %s)\n", rows,
           (double)st.st_size / 1e6, load_before);
    printf("  ucd start to copy in use: %.2f s (%.0f rows/s); the store's line: %s\n", ucd_secs,
           rows / ucd_secs, strstr(line, "source "));
    printf("  ucd directory replicate, generation 2 replacing 1: %.2f s; the store's line: %s\n",
           ucd2_secs, strstr(line2, "source "));
    printf("  ucd peak RSS (VmHWM) %ld KiB after generation 1, %ld KiB after 2 (the old copy "
           "serves lookups while the new one is written), RSS after %ld KiB; the store's file "
           "%.1f MB\n",
           hwm1, hwm, rss, (double)db_st.st_size / 1e6);
    printf("  sqlite3 .import into the same schema (+ numbers, FTS5 with the store's terms): "
           "%.2f s, peak RSS %ld KiB, file %.1f MB\n",
           ref_secs, ref_peak, (double)ref_st.st_size / 1e6);
    printf("  the same with a 256 MiB page cache: %.2f s, peak RSS %ld KiB\n", cached_secs,
           cached_peak);
    printf("  .import alone: %.2f s, peak RSS %ld KiB\n", import_secs, import_peak);
    printf("  ratio ucd / sqlite3 same schema: %.2f (target <= 2), %.2f against the cached run; "
           "generation 2: %.2f, %.2f; load average after %s\n",
           ucd_secs / ref_secs, ucd_secs / cached_secs, ucd2_secs / ref_secs,
           ucd2_secs / cached_secs, load_after);

    g_free(load_before);
    g_free(load_after);
    g_free(import_only);
    g_free(import_db);
    g_free(cached_db);
    g_free(ref_db);
    g_free(schema);
    g_free(store_db);
    g_free(state);
    g_free(expect);
    g_free(line2);
    g_free(line);
    g_free(body);
    g_free(csv);
    harness_free(h);
    return 0;
}
