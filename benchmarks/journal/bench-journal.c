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
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <ucd/ucd.h>

#include "jsql-db.h"

struct ucd_plugin {
    const char *id;
};

struct ucd_counter {
    int64_t value;
};

static const char *bench_dir;
static const char *commit_interval = "100"; /* ms */
static GHashTable *bench_config;
static const ucd_plugin_descriptor *descriptor;
static const ucd_journal_v1 *journal_iface;
static void *journal_impl;
static struct ucd_counter sink;

static const char *fake_module_id(ucd_plugin *p)
{
    return p->id;
}

static const char *fake_state_dir(ucd_plugin *p)
{
    return bench_dir;
}

static void fake_log(ucd_plugin *p, int level, const char *fmt, ...)
{
    if (level > UCD_LOG_WARNING)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "journal-sqlite: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void fake_set_error(ucd_plugin *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const ucd_config_key *find_key(const char *name)
{
    for (const ucd_config_key *k = descriptor->config_keys; k->name != NULL; k++) {
        if (strcmp(k->name, name) == 0)
            return k;
    }
    return NULL;
}

static const char *value_of(const char *key)
{
    const char *set = g_hash_table_lookup(bench_config, key);
    const ucd_config_key *decl = find_key(key);
    return set ? set : decl ? decl->default_value : NULL;
}

static int fake_config_string(ucd_plugin *p, const char *key, const char **value)
{
    *value = value_of(key);
    return *value ? UCD_OK : UCD_E_NOT_FOUND;
}

static int fake_config_int(ucd_plugin *p, const char *key, int64_t *value)
{
    const char *text = value_of(key);
    if (text == NULL)
        return UCD_E_NOT_FOUND;
    *value = g_ascii_strtoll(text, NULL, 10); /* durations here are written in ms */
    return UCD_OK;
}

static int fake_config_error(ucd_plugin *p, const char *key, const char *fmt, ...)
{
    fprintf(stderr, "config error on %s\n", key);
    return UCD_FAIL;
}

static int fake_service_register(ucd_plugin *p, const char *name, uint32_t major, const void *iface,
                                 void *impl)
{
    journal_iface = iface;
    journal_impl = impl;
    return UCD_OK;
}

static ucd_counter *fake_counter_new(ucd_plugin *p, const char *name, uint32_t kind,
                                     const char *help)
{
    return &sink;
}

static void fake_counter_add(ucd_counter *c, int64_t delta)
{
}

static void fake_counter_set(ucd_counter *c, int64_t value)
{
}

static const ucd_host fake_host = {
    .struct_size = sizeof(ucd_host),
    .abi_major = UCD_ABI_MAJOR,
    .abi_minor = UCD_ABI_MINOR,
    .core_version = "bench",
    .module_id = fake_module_id,
    .state_dir = fake_state_dir,
    .log = fake_log,
    .set_error = fake_set_error,
    .config_string = fake_config_string,
    .config_int = fake_config_int,
    .config_error = fake_config_error,
    .service_register = fake_service_register,
    .counter_new = fake_counter_new,
    .counter_add = fake_counter_add,
    .counter_set = fake_counter_set,
};

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
    char *error = NULL;
    int64_t t0 = g_get_monotonic_time();
    if (jsql_open(path, &options, &db, &error) != SQLITE_OK || jsql_begin(db, &error) != SQLITE_OK)
        g_error("baseline: %s", error);
    for (unsigned i = 0; i < count; i++) {
        if (jsql_insert(db, &all[i].rec, &error) != SQLITE_OK)
            g_error("baseline: %s", error);
    }
    if (jsql_commit(db, &error) != SQLITE_OK)
        g_error("baseline: %s", error);
    jsql_close(db);
    return (double)(g_get_monotonic_time() - t0) / 1e6;
}

/* Through the plugin: store() every record, then flush(). */
static double run_plugin(const char *path, const bench_record *all, unsigned count,
                         int64_t cache_mb, uint64_t *busy_retries)
{
    remove_database(path);
    g_hash_table_replace(bench_config, "database", g_strdup(path));
    g_hash_table_replace(bench_config, "commit_interval", g_strdup(commit_interval));
    g_hash_table_replace(bench_config, "cache_size", g_strdup_printf("%" PRId64, cache_mb));
    /* Room for the whole run: the figure is the writer's, not the bound's. */
    g_hash_table_replace(bench_config, "max_pending", g_strdup_printf("%u", count + 1));
    ucd_plugin self = {"journal-sqlite"};
    void *state = NULL;
    int64_t t0 = g_get_monotonic_time();
    if (descriptor->init(&self, &fake_host, &state) != UCD_OK || descriptor->start(state) != UCD_OK)
        g_error("plugin did not start");
    for (unsigned i = 0; i < count; i++) {
        while (journal_iface->store(journal_impl, &all[i].rec) == UCD_E_BUSY) {
            (*busy_retries)++;
            g_usleep(1000); /* the queue is full: the writer is the bottleneck */
        }
    }
    if (journal_iface->flush(journal_impl, 600000) != UCD_OK)
        g_error("plugin: flush did not complete");
    double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    ucd_journal_status st = {.struct_size = sizeof(st)};
    journal_iface->status(journal_impl, &st);
    if (st.stored != count)
        g_error("plugin stored %" PRIu64 " of %u", st.stored, count);
    descriptor->stop(state);
    descriptor->fini(state);
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
    void *handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
        g_error("dlopen: %s", dlerror());
    ucd_plugin_entry_fn entry = NULL;
    *(void **)&entry = dlsym(handle, UCD_PLUGIN_ENTRY_SYMBOL);
    descriptor = entry();
    bench_config = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
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
    g_hash_table_unref(bench_config);
    dlclose(handle);
    return 0;
}
