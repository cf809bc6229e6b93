/*
 * bench-phonenumber.c - what attaching libphonenumber's plan costs
 * normalize(): numbers/s over a mixed set of raw numbers at a Munich
 * location, the core's rules alone, then with the plan (with and without
 * places), one thread and two (the geocoder's mutex is shared). Best of 3
 * runs of about a second (docs/PERFORMANCE.md, "numbers-phonenumber").
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "numbers.h"
#include "phonenumber-shim.h"

#define RUNS        3
#define RUN_SECONDS 1.0

static const char conf_text[] = "[location munich]\ncountry_code = 49\narea_code = 89\n"
                                "outside_line_prefix = 0\n";

static const char *const raw_numbers[] = {
    "0891234567",      "+49 89 1234567",    "0049891234567", "01711234567",
    "000442071234567", "1234567",           "201",           "110",
    "+1 212 736 5000", "0301234567",        "0221 123456",   "+39 02 12345678",
    "0 040 123 45 67", "+33 1 23 45 67 89", "08001234567",   "+41 44 668 18 00",
};

static const ucd_numbers_plan_v1 plan = {
    .struct_size = sizeof(ucd_numbers_plan_v1),
    .describe = phonenumber_shim_describe,
};

typedef struct job {
    core_numbers *numbers;
    double seconds;
    guint64 done;
} job;

static gpointer run(gpointer data)
{
    job *j = data;
    GTimer *timer = g_timer_new();
    guint64 n = 0;

    while (g_timer_elapsed(timer, NULL) < RUN_SECONDS) {
        for (size_t i = 0; i < G_N_ELEMENTS(raw_numbers); i++, n++) {
            ucd_number_info info = {.struct_size = sizeof info};
            core_numbers_normalize_in(j->numbers, "munich", raw_numbers[i], &info, NULL);
        }
    }
    j->seconds = g_timer_elapsed(timer, NULL);
    j->done = n;
    g_timer_destroy(timer);
    return NULL;
}

/* Best of RUNS: numbers/s summed over `threads` threads. */
static double measure(core_numbers *numbers, int threads)
{
    double best = 0;

    for (int r = 0; r < RUNS; r++) {
        job jobs[2];
        GThread *t[2];
        double rate = 0;

        for (int i = 0; i < threads; i++) {
            jobs[i] = (job){.numbers = numbers};
            t[i] = g_thread_new("bench", run, &jobs[i]);
        }
        for (int i = 0; i < threads; i++) {
            g_thread_join(t[i]);
            rate += (double)jobs[i].done / jobs[i].seconds;
        }
        if (rate > best)
            best = rate;
    }
    return best;
}

int main(void)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    char *dir = g_dir_make_tmp("ucd-bench-phonenumber-XXXXXX", NULL);
    char *file = g_build_filename(dir, "ucd.conf", NULL);

    g_file_set_contents(file, conf_text, -1, NULL);
    core_config *cfg = core_config_load(file, NULL, errors);
    core_numbers *numbers = cfg ? core_numbers_new(cfg, errors) : NULL;
    if (!numbers) {
        fprintf(stderr, "bench-phonenumber: configuration refused\n");
        return 1;
    }
    printf("core rules alone, 1 thread: %.0f numbers/s\n", measure(numbers, 1));
    const char *languages[] = {NULL, "en"};
    for (size_t l = 0; l < G_N_ELEMENTS(languages); l++) {
        phonenumber_shim *shim = phonenumber_shim_new(languages[l]);
        core_numbers_attach_plan(&plan, shim);
        for (int threads = 1; threads <= 2; threads++)
            printf("with libphonenumber (%s), %d thread%s: %.0f numbers/s\n",
                   languages[l] ? "places" : "no places", threads, threads > 1 ? "s" : "",
                   measure(numbers, threads));
        core_numbers_detach_plan(shim);
        phonenumber_shim_free(shim);
    }
    printf("load average: ");
    fflush(stdout);
    char *load = NULL;
    if (g_file_get_contents("/proc/loadavg", &load, NULL, NULL))
        printf("%s", load);
    g_free(load);
    core_numbers_free(numbers);
    core_config_free(cfg);
    g_remove(file);
    g_rmdir(dir);
    g_free(file);
    g_free(dir);
    g_ptr_array_unref(errors);
    return 0;
}
