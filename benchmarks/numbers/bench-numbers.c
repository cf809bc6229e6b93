/*
 * bench-numbers.c - numbers normalized per second on one thread.
 *
 * A mixed set of raw numbers as PBXes send them (national, international,
 * local, with outside-line prefixes, mobile, extensions, special numbers,
 * garbage) goes through core_numbers_normalize() again and again for about a
 * second, once for locations without rewrite rules and once for a location
 * with two rules. Prints "numbers (...): X numbers/s" lines, the best of a
 * few runs.
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numbers.h"

#define RUNS        3
#define RUN_SECONDS 1.0
#define CHECK_EVERY 4096

static const char bench_conf[] = "[location munich]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "outside_line_prefix = 0\n"
                                 "[location nyc]\n"
                                 "country_code = 1\n"
                                 "area_code = 212\n"
                                 "outside_line_prefix = 9\n"
                                 "[location rome]\n"
                                 "country_code = 39\n"
                                 "area_code = 06\n"
                                 "[location hamburg]\n"
                                 "country_code = 49\n"
                                 "area_code = 40\n"
                                 "outside_line_prefix = 0\n"
                                 "rewrite = ^L\\\\d#(\\\\d+)$ => \\\\1;^\\\\*31#(.*) => \\\\1\n"
                                 "[module pbx:munich]\nlocation = munich\n"
                                 "[module pbx:nyc]\nlocation = nyc\n"
                                 "[module pbx:rome]\nlocation = rome\n"
                                 "[module pbx:hamburg]\nlocation = hamburg\n";

/* Raw numbers as they arrive; the context is chosen per set. */
static const char *const raw_numbers[] = {
    "0891234567",
    "+49 89 1234567",
    "00891234567",
    "0049891234567",
    "01711234567",
    "000442071234567",
    "1234567",
    "201",
    "110",
    "anonymous",
    "+1 212 555 0100",
    "0301234567",
    "+44 20 7123 4567",
    "4711",
    "0 040 123 45 67",
    "+33 1 23 45 67 89",
};

typedef struct bench_set {
    const char *label;
    const char *const *contexts; /* cycled through, NULL-terminated */
} bench_set;

static const char *const contexts_plain[] = {"pbx:munich", "pbx:nyc", "pbx:rome", NULL};
static const char *const contexts_rules[] = {"pbx:hamburg", NULL};

static const bench_set sets[] = {
    {"numbers (no rewrite rules)", contexts_plain},
    {"numbers (2 rewrite rules)", contexts_rules},
};

static core_numbers *load(char **dir_out, char **file_out)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    char *dir = g_dir_make_tmp("ucd-bench-numbers-XXXXXX", NULL);
    char *file = g_build_filename(dir, "ucd.conf", NULL);
    core_config *cfg;
    core_numbers *numbers;

    if (!g_file_set_contents(file, bench_conf, -1, NULL))
        abort();
    cfg = core_config_load(file, NULL, errors);
    numbers = cfg ? core_numbers_new(cfg, errors) : NULL;
    for (guint i = 0; i < errors->len; i++)
        fprintf(stderr, "%s\n", (const char *)g_ptr_array_index(errors, i));
    if (!numbers)
        exit(1);
    core_config_free(cfg);
    g_ptr_array_unref(errors);
    *dir_out = dir;
    *file_out = file;
    return numbers;
}

/* Numbers per second for one set, one run. */
static double run(core_numbers *numbers, const bench_set *set, uint64_t *checksum)
{
    size_t n_contexts = g_strv_length((char **)set->contexts);
    size_t n_raw = G_N_ELEMENTS(raw_numbers);
    gint64 start = g_get_monotonic_time(), elapsed = 0;
    uint64_t done = 0;

    while (elapsed < (gint64)(RUN_SECONDS * G_USEC_PER_SEC)) {
        for (int i = 0; i < CHECK_EVERY; i++, done++) {
            ucd_number_info info = {.struct_size = sizeof info};
            const char *context = set->contexts[(done / n_raw) % n_contexts];

            core_numbers_normalize(numbers, context, raw_numbers[done % n_raw], &info);
            *checksum += info.kind + (unsigned char)info.e164[3] + (unsigned char)info.display[1];
        }
        elapsed = g_get_monotonic_time() - start;
    }
    return (double)done * G_USEC_PER_SEC / (double)elapsed;
}

int main(void)
{
    char *dir, *file;
    core_numbers *numbers = load(&dir, &file);
    uint64_t checksum = 0;

    for (size_t s = 0; s < G_N_ELEMENTS(sets); s++) {
        double best = 0;

        for (int r = 0; r < RUNS; r++) {
            double rate = run(numbers, &sets[s], &checksum);

            best = rate > best ? rate : best;
        }
        printf("%s: %.0f numbers/s\n", sets[s].label, best);
    }
    printf("(checksum %llu)\n", (unsigned long long)checksum);
    core_numbers_free(numbers);
    g_remove(file);
    g_rmdir(dir);
    g_free(file);
    g_free(dir);
    return 0;
}
