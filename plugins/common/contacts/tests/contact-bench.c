/*
 * contact-bench.c - see the header.
 */
#include "contact-bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

static int count_add(void *impl, const ucd_contact *c)
{
    counting_sink *s = impl;
    s->added++;
    s->numbers += c->n_numbers;
    return UCD_OK;
}

static void count_skipped(void *impl, const char *where, const char *problem)
{
    (void)where;
    (void)problem;
    ((counting_sink *)impl)->skipped++;
}

static void no_progress(void *impl, uint64_t done, uint64_t total)
{
    (void)impl;
    (void)done;
    (void)total;
}

static int never_cancelled(void *impl)
{
    (void)impl;
    return 0;
}

const ucd_contact_sink counting_sink_iface = {
    .struct_size = sizeof(ucd_contact_sink),
    .add = count_add,
    .skipped = count_skipped,
    .progress = no_progress,
    .cancelled = never_cancelled,
};

long bench_proc_kib(const char *pid, const char *field)
{
    char *path = g_strdup_printf("/proc/%s/status", pid);
    char *text = NULL;
    long kib = -1;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        const char *at = strstr(text, field);
        if (at != NULL)
            kib = strtol(at + strlen(field) + 1, NULL, 10);
    }
    g_free(text);
    g_free(path);
    return kib;
}

void bench_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f != NULL) {
        fputs("5", f);
        fclose(f);
    }
}

char *bench_loadavg(void)
{
    char *text = NULL;
    g_file_get_contents("/proc/loadavg", &text, NULL, NULL);
    if (text != NULL)
        g_strchomp(text);
    return text != NULL ? text : g_strdup("?");
}
