/*
 * sip-bench-util.c - helpers shared by bench-sip-latency and bench-sip-lines
 * (sip-bench-util.h).
 */
#include "sip-bench-util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

gint64 bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void tap_record_free(gpointer data)
{
    tap_record *r = data;
    g_free(r->name);
    g_free(r);
}

/* "T start", "T call NAME STATE" or "T line NAME STATE"; NULL for anything else. */
static tap_record *tap_parse_line(const char *text)
{
    char **f = g_strsplit(text, " ", 4);
    tap_record *r = NULL;
    guint n = g_strv_length(f);
    if (n == 2 && strcmp(f[1], "start") == 0) {
        r = g_new0(tap_record, 1);
        r->kind = TAP_START;
    } else if (n == 4 && (strcmp(f[1], "call") == 0 || strcmp(f[1], "line") == 0)) {
        r = g_new0(tap_record, 1);
        r->kind = f[1][0] == 'c' ? TAP_CALL : TAP_LINE;
        r->name = g_strdup(f[2]);
        r->state = (guint)g_ascii_strtoull(f[3], NULL, 10);
    }
    if (r != NULL)
        r->t_ns = g_ascii_strtoll(f[0], NULL, 10);
    g_strfreev(f);
    return r;
}

GPtrArray *tap_read(const char *path)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    GPtrArray *records = g_ptr_array_new_with_free_func(tap_record_free);
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        tap_record *r = tap_parse_line(*l);
        if (r != NULL)
            g_ptr_array_add(records, r);
    }
    g_strfreev(lines);
    g_free(text);
    return records;
}

char *bench_line_list(const char *prefix, int count)
{
    GString *s = g_string_new(NULL);
    for (int i = 1; i <= count; i++)
        g_string_append_printf(s, "%s%s%04d", i > 1 ? ";" : "", prefix, i);
    return g_string_free(s, FALSE);
}

char *bench_tap_section(harness *h, char **path)
{
    *path = g_build_filename(h->dir, "tap.txt", NULL);
    return g_strdup_printf("[module latency-tap]\nfile = %s\n", *path);
}

static void on_exited(GObject *proc, GAsyncResult *res, gpointer user_data)
{
    g_subprocess_wait_finish(G_SUBPROCESS(proc), res, NULL);
    *(gboolean *)user_data = TRUE;
}

int bench_stop_ucd(harness *h)
{
    gboolean exited = FALSE;
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    g_subprocess_wait_async(h->proc, NULL, on_exited, &exited);
    harness_signal(h, SIGTERM);
    while (!exited && g_get_monotonic_time() < deadline)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    if (!exited) {
        g_subprocess_force_exit(h->proc);
        while (!exited)
            g_main_context_iteration(NULL, TRUE);
        return -1;
    }
    return harness_wait(h);
}

long bench_proc_kib(harness *h, const char *field)
{
    const char *pid = g_subprocess_get_identifier(h->proc);
    if (pid == NULL)
        return -1;
    char *path = g_strdup_printf("/proc/%s/status", pid);
    char *text = NULL;
    long kib = -1;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        char *key = g_strconcat("\n", field, ":", NULL);
        const char *at = strstr(text, key);
        if (at != NULL)
            kib = strtol(at + strlen(key), NULL, 10);
        g_free(key);
    }
    g_free(text);
    g_free(path);
    return kib;
}
