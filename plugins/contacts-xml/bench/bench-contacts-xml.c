/*
 * bench-contacts-xml.c - how fast contacts-xml reads a large file, and that
 * it streams (docs/PERFORMANCE.md, "contacts-csv", the XML line): ROWS
 * generated contacts (default 1,000,000: a name and an address with an
 * umlaut, a company with an entity, two numbers) parsed into a sink that
 * only counts. Prints the time, contacts/s, MB/s, the peak RSS (VmHWM) and
 * the load average.
 *
 *   bench-contacts-xml [ROWS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "contact-bench.h"
#include "xml-source.h"

int main(int argc, char **argv)
{
    unsigned rows = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000;
    char *dir = g_dir_make_tmp("bench-contacts-xml-XXXXXX", NULL);
    g_assert_nonnull(dir);
    char *path = g_build_filename(dir, "contacts.xml", NULL);
    FILE *f = fopen(path, "w");
    g_assert_nonnull(f);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<contacts>\n", f);
    for (unsigned i = 1; i <= rows; i++)
        fprintf(f,
                "<contact id=\"C%u\"><display_name>Anna M\xC3\xBCller %u</display_name>"
                "<company>Example &amp; Co</company><email>c%u@example.com</email>"
                "<address>Hauptstr. %u, M\xC3\xBCnchen</address>"
                "<number kind=\"business\">+49 89 %07u</number>"
                "<number kind=\"mobile\">0171 %07u</number></contact>\n",
                i, i, i, i % 300, i, i);
    fputs("</contacts>\n", f);
    g_assert_cmpint(fclose(f), ==, 0);
    GStatBuf st;
    g_assert_cmpint(g_stat(path, &st), ==, 0);

    char *load_before = bench_loadavg();
    long rss_before = bench_proc_kib("self", "VmRSS");
    xml_source_settings settings = {.path = path, .crm_link = "https://crm.example/c/{id}"};
    counting_sink sink = {0};
    char *error = NULL;
    gint64 t0 = g_get_monotonic_time();
    int rc = xml_source_replicate(&settings, &counting_sink_iface, &sink, &error);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (rc != UCD_OK || sink.added != rows || sink.skipped != 0 || sink.numbers != 2ull * rows)
        g_error("rc %d (%s), %" G_GUINT64_FORMAT " added, %" G_GUINT64_FORMAT " skipped", rc,
                error != NULL ? error : "-", sink.added, sink.skipped);
    char *load_after = bench_loadavg();
    printf("contacts-xml parse into a counting sink: %u contacts, %.1f MB in %.2f s = %.0f "
           "contacts/s, %.0f MB/s; peak RSS %ld KiB (RSS before %ld KiB); load average before "
           "%s, after %s\n",
           rows, (double)st.st_size / 1e6, secs, rows / secs, (double)st.st_size / 1e6 / secs,
           bench_proc_kib("self", "VmHWM"), rss_before, load_before, load_after);
    g_free(load_before);
    g_free(load_after);
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
    return 0;
}
