/*
 * bench-journal.c - conversations stored per second by journal-sqlite.so,
 * against the limit of the disk.
 *
 *   bench-journal PATH/journal-sqlite.so [COUNT] [CACHE_MB] [COMMIT_INTERVAL_MS]
 *
 * Both runs write the same COUNT (default 200000) generated conversations
 * (random uuids, random outside numbers, 50 users, 2-3 participants) into a
 * fresh file with the same schema, pragmas (WAL, synchronous=NORMAL) and
 * cache size:
 *   limit:  a plain loop over the very same prepared inserts in ONE
 *           transaction (no queue, no thread, one commit);
 *   plugin: store() through the journal interface from this thread (retrying
 *           when the bounded queue is full), with commit_interval = 100ms,
 *           until flush() reports everything durable.
 * Prints both rates and their ratio; the target is a ratio of at least 0.70.
 * The plugin runs in the fake host (tests/fake-host); its warnings and errors
 * go to stderr.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "fake-host.h"
#include "sqlite-db.h"

static const char *bench_dir;
static const char *commit_interval = "100"; /* ms */
static const ucd_plugin_descriptor *descriptor;

/* ---- the workload ---- */

typedef struct bench_record {
    ucd_journal_record rec;
    ucd_journal_participant parts[3];
} bench_record;

static GStringChunk *strings;

static const char *keep(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static const char *keep(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    const char *kept = g_string_chunk_insert(strings, text);
    g_free(text);
    return kept;
}

/* Inbound calls from random outside numbers to 50 users, over about a day. */
static bench_record *make_workload(unsigned count)
{
    GRand *rand = g_rand_new_with_seed(42);
    bench_record *all = g_new0(bench_record, count);
    int64_t t = 1700000000000;
    for (unsigned i = 0; i < count; i++) {
        bench_record *b = &all[i];
        ucd_journal_record *r = &b->rec;
        int user = g_rand_int_range(rand, 0, 50), other = (user + 1) % 50;
        uint32_t outside = g_rand_int_range(rand, 1000000, 9999999);
        t += g_rand_int_range(rand, 0, 500);
        r->struct_size = sizeof(*r);
        r->direction = UCD_DIR_INBOUND;
        r->outcome = g_rand_int_range(rand, 0, 4) ? UCD_OUTCOME_ANSWERED : UCD_OUTCOME_NO_ANSWER;
        r->uuid = keep("%08x-%04x-4%03x-a%03x-%08x%04x", g_rand_int(rand),
                       g_rand_int(rand) & 0xffff, g_rand_int(rand) & 0xfff,
                       g_rand_int(rand) & 0xfff, g_rand_int(rand), g_rand_int(rand) & 0xffff);
        r->driver_instance = "pbx-sim:office";
        r->start_ms = t;
        r->answer_ms = r->outcome == UCD_OUTCOME_ANSWERED ? t + 3000 : 0;
        r->end_ms = t + 90000;
        r->source_number = keep("030%07u", outside);
        r->source_e164 = keep("+4930%07u", outside);
        r->source_name = "";
        r->requested_number = keep("2%02d", user);
        r->requested_e164 = keep("+49891234%03d", 200 + user);
        r->destination_number = r->requested_number;
        r->destination_e164 = r->requested_e164;
        r->destination_name = keep("User %d", user);
        r->end_reason = "normal";
        b->parts[0] = (ucd_journal_participant){sizeof(ucd_journal_participant),
                                                UCD_ROLE_CALLEE,
                                                keep("u%d", user),
                                                r->requested_number,
                                                t,
                                                r->answer_ms,
                                                t + 90000};
        b->parts[1] = (ucd_journal_participant){sizeof(ucd_journal_participant),
                                                UCD_ROLE_TRANSFER_TARGET,
                                                keep("u%d", other),
                                                keep("2%02d", other),
                                                t + 30000,
                                                0,
                                                t + 90000};
        r->participants = b->parts;
        r->participant_count = i % 3 == 0 ? 2 : 1;
        r->participant_size = sizeof(ucd_journal_participant);
    }
    g_rand_free(rand);
    return all;
}

static void remove_database(const char *path)
{
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *name = g_strconcat(path, suffixes[i], NULL);
        g_unlink(name);
        g_free(name);
    }
}

/* The limit: the same inserts, one transaction, one commit. */
static double run_limit(const char *path, const bench_record *all, unsigned count, int64_t cache_mb)
{
    remove_database(path);
    jsql_options options = {.cache_mb = cache_mb, .max_size_mb = 0};
    jsql_db *db = NULL;
    char *error = NULL, *report = NULL; /* a fresh file: nothing to report */
    int64_t t0 = g_get_monotonic_time();
    if (jsql_open(path, &options, &db, &report, &error) != SQLITE_OK ||
        jsql_begin(db, &error) != SQLITE_OK)
        g_error("baseline: %s", error);
    for (unsigned i = 0; i < count; i++) {
        if (jsql_insert(db, &all[i].rec, &error) != SQLITE_OK)
            g_error("baseline: %s", error);
    }
    if (jsql_commit(db, &error) != SQLITE_OK)
        g_error("baseline: %s", error);
    jsql_close(db);
    g_free(report);
    return (double)(g_get_monotonic_time() - t0) / 1e6;
}

/* Through the plugin: store() every record, then flush(). */
static double run_plugin(const char *path, const bench_record *all, unsigned count,
                         int64_t cache_mb, uint64_t *busy_retries)
{
    remove_database(path);
    fake_module *module = fake_module_new(descriptor, "journal-sqlite");
    module->log_echo_level = UCD_LOG_WARNING;
    fake_module_set_state_dir(module, bench_dir);
    fake_module_set(module, "database", path);
    fake_module_set(module, "commit_interval", commit_interval);
    char *text = g_strdup_printf("%" PRId64, cache_mb);
    fake_module_set(module, "cache_size", text);
    g_free(text);
    /* Room for the whole run: the figure is the writer's, not the bound's. */
    text = g_strdup_printf("%u", count + 1);
    fake_module_set(module, "max_pending", text);
    g_free(text);
    int64_t t0 = g_get_monotonic_time();
    fake_module_start(module);
    void *impl = NULL;
    const ucd_journal_v1 *journal =
        fake_module_service(module, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, &impl);
    for (unsigned i = 0; i < count; i++) {
        while (journal->store(impl, &all[i].rec) == UCD_E_BUSY) {
            (*busy_retries)++;
            g_usleep(1000); /* the queue is full: the writer is the bottleneck */
        }
    }
    if (journal->flush(impl, 600000) != UCD_OK)
        g_error("plugin: flush did not complete");
    double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    ucd_journal_status st = {.struct_size = sizeof(st)};
    journal->status(impl, &st);
    if (st.stored != count)
        g_error("plugin stored %" PRIu64 " of %u", st.stored, count);
    fake_module_stop(module);
    fake_module_free(module);
    return seconds;
}

#define ROUNDS 3

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double runs[ROUNDS])
{
    qsort(runs, ROUNDS, sizeof(double), compare_double);
    return runs[ROUNDS / 2];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s PATH/journal-sqlite.so [COUNT] [CACHE_MB] [COMMIT_INTERVAL_MS]\n",
                argv[0]);
        return 2;
    }
    unsigned count = argc > 2 ? (unsigned)g_ascii_strtoull(argv[2], NULL, 10) : 200000;
    int64_t cache_mb = argc > 3 ? g_ascii_strtoll(argv[3], NULL, 10) : 64;
    if (argc > 4)
        commit_interval = argv[4];
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "journal-sqlite", &handle);
    char *dir = g_dir_make_tmp("bench-journal-XXXXXX", NULL);
    bench_dir = dir;
    char *path = g_build_filename(dir, "journal.sqlite", NULL);
    strings = g_string_chunk_new(1 << 20);
    bench_record *all = make_workload(count);

    /* Alternating rounds, median of each: the disk is shared and noisy. */
    double limit_runs[ROUNDS], plugin_runs[ROUNDS];
    uint64_t busy = 0;
    for (int r = 0; r < ROUNDS; r++) {
        limit_runs[r] = run_limit(path, all, count, cache_mb);
        plugin_runs[r] = run_plugin(path, all, count, cache_mb, &busy);
    }
    double limit_s = median(limit_runs), plugin_s = median(plugin_runs);
    double limit_rate = count / limit_s, plugin_rate = count / plugin_s;
    printf("journal-sqlite: %u conversations, cache_size %" PRId64 " MiB, median of %d rounds\n",
           count, cache_mb, ROUNDS);
    printf("  limit  (one transaction):           %9.0f conversations/s (%.2f s)\n", limit_rate,
           limit_s);
    printf("  plugin (store, commit every %sms): %9.0f conversations/s (%.2f s, %" PRIu64
           " waits on a full queue)\n",
           commit_interval, plugin_rate, plugin_s, busy);
    printf("  ratio: %.2f (target >= 0.70: %s)\n", plugin_rate / limit_rate,
           plugin_rate / limit_rate >= 0.70 ? "met" : "NOT met");

    remove_database(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
    g_free(all);
    g_string_chunk_free(strings);
    dlclose(handle);
    return 0;
}
