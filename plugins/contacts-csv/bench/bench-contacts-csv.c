/*
 * bench-contacts-csv.c - how fast contacts-csv reads a large export
 * (docs/PERFORMANCE.md, "contacts-csv"; issue 15): ROWS generated rows
 * (default 1,000,000, in the shape of a CRM export: quoted names with
 * commas, umlauts, three numbers) parsed, converted and mapped into a sink
 * that only counts, as UTF-8 and as Windows-1252. Prints the median and
 * the spread of BENCH_ROUNDS runs (default 3), rows/s, MB/s, and the peak
 * RSS during the parse (VmHWM, reset before each run through
 * /proc/self/clear_refs): it must not grow with the file.
 *
 *   bench-contacts-csv [ROWS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "bench-rows.h"
#include "contact-bench.h"
#include "csv-source.h"

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run(const char *label, const char *path, const char *encoding, unsigned rows,
                unsigned rounds)
{
    static const char *const business[] = {"Phone", NULL};
    static const char *const mobile[] = {"Mobile", NULL};
    static const char *const fax[] = {"Fax", NULL};
    static const char *const address[] = {"Street", "ZIP", "City", NULL};
    csv_source_settings s = {.path = path, .delimiter = ',', .quote = '"', .encoding = encoding};
    s.spec.columns[CSV_FIELD_SOURCE_ID] = "Id";
    s.spec.columns[CSV_FIELD_DISPLAY_NAME] = "Name";
    s.spec.columns[CSV_FIELD_COMPANY] = "Company";
    s.spec.columns[CSV_FIELD_DEPARTMENT] = "Department";
    s.spec.columns[CSV_FIELD_EMAIL] = "Email";
    s.spec.address = address;
    s.spec.numbers[UCD_CONTACT_NUMBER_BUSINESS] = business;
    s.spec.numbers[UCD_CONTACT_NUMBER_MOBILE] = mobile;
    s.spec.numbers[UCD_CONTACT_NUMBER_FAX] = fax;
    s.spec.crm_link = "https://crm.example/c/{Id}";

    GStatBuf st;
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    double *secs = g_new(double, rounds);
    long peak = 0, before = bench_proc_kib("self", "VmRSS");
    for (unsigned r = 0; r < rounds; r++) {
        counting_sink sink = {0};
        char *error = NULL;
        bench_reset_peak();
        gint64 t0 = g_get_monotonic_time();
        int rc = csv_source_replicate(&s, &counting_sink_iface, &sink, &error);
        secs[r] = (double)(g_get_monotonic_time() - t0) / 1e6;
        long hwm = bench_proc_kib("self", "VmHWM");
        peak = hwm > peak ? hwm : peak;
        if (rc != UCD_OK || sink.added != rows || sink.skipped != 0 || sink.numbers != 3ull * rows)
            g_error("%s: rc %d (%s), %" G_GUINT64_FORMAT " added, %" G_GUINT64_FORMAT
                    " skipped, %" G_GUINT64_FORMAT " numbers",
                    label, rc, error ? error : "-", sink.added, sink.skipped, sink.numbers);
    }
    qsort(secs, rounds, sizeof(double), compare_double);
    double median = secs[rounds / 2];
    printf("%-12s %u rows, %.1f MB: median %.2f s (min %.2f, max %.2f) = %.0f rows/s, %.0f MB/s; "
           "peak RSS %ld KiB (RSS before %ld KiB)\n",
           label, rows, (double)st.st_size / 1e6, median, secs[0], secs[rounds - 1], rows / median,
           (double)st.st_size / 1e6 / median, peak, before);
    g_free(secs);
}

int main(int argc, char **argv)
{
    unsigned rows = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000;
    const char *rounds_env = g_getenv("BENCH_ROUNDS");
    unsigned rounds = rounds_env != NULL ? (unsigned)strtoul(rounds_env, NULL, 10) : 3;
    if (rounds == 0)
        rounds = 1;
    char *dir = g_dir_make_tmp("bench-contacts-csv-XXXXXX", NULL);
    g_assert_nonnull(dir);
    char *utf8 = g_build_filename(dir, "contacts-utf8.csv", NULL);
    char *cp1252 = g_build_filename(dir, "contacts-cp1252.csv", NULL);
    bench_rows_write(utf8, rows, FALSE);
    bench_rows_write(cp1252, rows, TRUE);
    char *load = bench_loadavg();
    printf("contacts-csv parse into a counting sink, %u rounds; load average before: %s\n", rounds,
           load);
    g_free(load);
    run("UTF-8", utf8, NULL, rows, rounds);
    run("Windows-1252", cp1252, "WINDOWS-1252", rows, rounds);
    load = bench_loadavg();
    printf("load average after: %s\n", load);
    g_free(load);
    g_unlink(utf8);
    g_unlink(cp1252);
    g_rmdir(dir);
    g_free(utf8);
    g_free(cp1252);
    g_free(dir);
    return 0;
}
