/*
 * bench-journal-odbc.c - journal-odbc.so into PostgreSQL, against the limit.
 *
 *   bench-journal-odbc PATH/journal-odbc.so PEERS_DIR [COUNT] [REPLAY_COUNT]
 *
 * Starts a PostgreSQL with tests/peers/postgres.sh and prints:
 *   1. limit:  psql's \copy of COUNT (default 50000) generated conversations
 *              and their participants, from CSV files made beforehand, into
 *              the plugin's own tables (created by the plugin);
 *      plugin: the same conversations through store() until flush() says
 *              they are committed, once per insert method (multi-row VALUES,
 *              and parameter arrays); conversations/s and the ratio to the
 *              limit (target >= 0.50).
 *   2. replay: REPLAY_COUNT (default 100000) conversations stored while the
 *              server is halted (spooled, fdatasync'd), then the server
 *              resumed: records/s from the resume until the spool is empty.
 * BENCH_BATCH and BENCH_ROWS set batch_size and rows_per_statement (default
 * 2000 and 500, the plugin's defaults). Every measurement is bounded: one
 * that has not finished after BENCH_LIMIT_S seconds (default 300) is
 * reported as not finished, with the plugin's status, and the program exits
 * with 1 after the others ran. The plugin runs in the fake host; its
 * warnings and errors go to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fake-host.h"
#include "harness.h"
#include "odbc-dialect.h"
#include "jrec.h"

static const ucd_plugin_descriptor *descriptor;
static harness_peer *peer;
static const char *peers_dir;
static char *work_dir;
static const char *bench_batch = "2000", *bench_rows = "500";
static int64_t limit_us = 300 * G_USEC_PER_SEC;
static gboolean unfinished; /* a measurement passed BENCH_LIMIT_S */

/* ---- the workload ---- */

/* Inbound calls from random outside numbers to 50 users, a third of them
 * transferred (two participants), one every ~250 ms. */
static jrec_record **make_workload(const char *tag, unsigned count)
{
    GRand *rand = g_rand_new_with_seed(42);
    jrec_record **all = g_new(jrec_record *, count);
    int64_t t = g_get_real_time() / 1000 - (int64_t)count * 500;
    for (unsigned i = 0; i < count; i++) {
        int user = g_rand_int_range(rand, 0, 50), other = (user + 1) % 50;
        uint32_t outside = (uint32_t)g_rand_int_range(rand, 1000000, 9999999);
        t += g_rand_int_range(rand, 0, 500);
        gboolean answered = g_rand_int_range(rand, 0, 4) != 0;
        char uuid[64], raw[24], e164[24], ext[8], ext_e164[24], name[16], u[8], u2[8], ext2[8];
        g_snprintf(uuid, sizeof(uuid), "%s-%08x-%08x-%06u", tag, g_rand_int(rand), g_rand_int(rand),
                   i);
        g_snprintf(raw, sizeof(raw), "030%07u", outside);
        g_snprintf(e164, sizeof(e164), "+4930%07u", outside);
        g_snprintf(ext, sizeof(ext), "2%02d", user);
        g_snprintf(ext_e164, sizeof(ext_e164), "+49891234%03d", 200 + user);
        g_snprintf(name, sizeof(name), "User %d", user);
        g_snprintf(u, sizeof(u), "u%d", user);
        g_snprintf(u2, sizeof(u2), "u%d", other);
        g_snprintf(ext2, sizeof(ext2), "2%02d", other);
        ucd_journal_participant parts[2] = {{sizeof(ucd_journal_participant), UCD_ROLE_CALLEE, u,
                                             ext, t, answered ? t + 3000 : 0, t + 90000},
                                            {sizeof(ucd_journal_participant),
                                             UCD_ROLE_TRANSFER_TARGET, u2, ext2, t + 30000, 0,
                                             t + 90000}};
        ucd_journal_record r = {.struct_size = sizeof(r),
                                .direction = UCD_DIR_INBOUND,
                                .outcome = answered ? UCD_OUTCOME_ANSWERED : UCD_OUTCOME_NO_ANSWER,
                                .uuid = uuid,
                                .driver_instance = "pbx-sim:office",
                                .start_ms = t,
                                .answer_ms = answered ? t + 3000 : 0,
                                .end_ms = t + 90000,
                                .source_number = raw,
                                .source_e164 = e164,
                                .requested_number = ext,
                                .requested_e164 = ext_e164,
                                .destination_number = ext,
                                .destination_e164 = ext_e164,
                                .destination_name = name,
                                .end_reason = "normal",
                                .participants = parts,
                                .participant_count = i % 3 == 0 ? 2 : 1,
                                .participant_size = sizeof(ucd_journal_participant)};
        all[i] = jrec_copy(&r, JREC_PRIVATE_KEEP, g_get_real_time() / 1000, NULL);
    }
    g_rand_free(rand);
    return all;
}

static void free_workload(jrec_record **all, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        jrec_free(all[i]);
    g_free(all);
}

/* ---- the limit: psql \copy ---- */

static void csv_text(GString *out, const char *text)
{
    if (text == NULL)
        return; /* an unquoted empty field is NULL in CSV mode */
    g_string_append_c(out, '"');
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *p);
    }
    g_string_append_c(out, '"');
}

static void csv_key(GString *out, const char *e164, const char *raw)
{
    int64_t key = jrec_number_key(e164 != NULL ? e164 : raw);
    if (key >= 0)
        g_string_append_printf(out, "%" PRId64, key);
}

/* The same rows the plugin writes: conversations and participants. */
static void write_csv(jrec_record **all, unsigned count, const char *conv_path,
                      const char *part_path)
{
    GString *conv = g_string_new(NULL), *part = g_string_new(NULL);
    for (unsigned i = 0; i < count; i++) {
        const ucd_journal_record *r = &all[i]->rec;
        for (size_t c = 0; c < jrec_text_column_count; c++) {
            csv_text(conv, jrec_text(r, &jrec_text_columns[c]));
            g_string_append_c(conv, ',');
        }
        g_string_append_printf(conv, "%" PRId64 ",%" PRId64 ",%" PRId64 ",%u,%u,%u,", r->start_ms,
                               r->answer_ms, r->end_ms, r->direction, r->outcome, r->flags);
        csv_key(conv, r->source_e164, r->source_number);
        g_string_append_c(conv, ',');
        csv_key(conv, r->requested_e164, r->requested_number);
        g_string_append_c(conv, ',');
        csv_key(conv, r->destination_e164, r->destination_number);
        g_string_append_c(conv, '\n');
        for (uint32_t p = 0; p < r->participant_count; p++) {
            const ucd_journal_participant *x = &r->participants[p];
            csv_text(part, r->uuid);
            g_string_append_printf(part, ",%u,%u,", p, x->role);
            csv_text(part, x->user_id);
            g_string_append_c(part, ',');
            csv_text(part, x->line);
            g_string_append_printf(part, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\n",
                                   x->joined_ms, x->answered_ms, x->left_ms, r->start_ms);
        }
    }
    g_assert_true(g_file_set_contents(conv_path, conv->str, (gssize)conv->len, NULL));
    g_assert_true(g_file_set_contents(part_path, part->str, (gssize)part->len, NULL));
    g_string_free(conv, TRUE);
    g_string_free(part, TRUE);
}

static void psql(const char *sql)
{
    const char *argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, NULL};
    int status = 0;
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                 NULL);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("psql failed: %s", sql);
}

static char *column_list(void)
{
    GString *s = g_string_new(NULL);
    for (size_t c = 0; c < jrec_text_column_count; c++)
        g_string_append_printf(s, "%s,", jrec_text_columns[c].name);
    g_string_append(s, "start_ms,answer_ms,end_ms,direction,outcome,flags,source_key,"
                       "requested_key,destination_key");
    return g_string_free(s, FALSE);
}

/* ---- the plugin ---- */

static fake_module *module_new(const char *prefix, const char *method)
{
    fake_module *m = fake_module_new(descriptor, "journal-odbc");
    char *dir = g_build_filename(work_dir, prefix, NULL);
    g_mkdir_with_parents(dir, 0700);
    fake_module_set_state_dir(m, dir);
    g_free(dir);
    const char *const pairs[] = {"connection_string",
                                 harness_peer_get(peer, "PG_ODBC"),
                                 "password",
                                 "secret",
                                 "table_prefix",
                                 prefix,
                                 "insert_method",
                                 method,
                                 "retry_min",
                                 "100ms",
                                 "retry_max",
                                 "500ms",
                                 "max_pending",
                                 "1000000",
                                 "batch_size",
                                 bench_batch,
                                 "rows_per_statement",
                                 bench_rows,
                                 NULL};
    fake_module_set_pairs(m, pairs);
    fake_module_start(m);
    return m;
}

static const ucd_journal_v1 *iface(fake_module *m, void **impl)
{
    return fake_module_service(m, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, impl);
}

static uint64_t pending(fake_module *m)
{
    void *impl = NULL;
    ucd_journal_status s = {.struct_size = sizeof(s)};
    iface(m, &impl)->status(impl, &s);
    return s.pending;
}

/* Says that `what` did not finish within BENCH_LIMIT_S, with the plugin's
 * status, and remembers it for the exit code. */
static void give_up(fake_module *m, const char *what)
{
    void *impl = NULL;
    ucd_journal_status s = {.struct_size = sizeof(s)};
    iface(m, &impl)->status(impl, &s);
    printf("%s: NOT FINISHED within %" G_GINT64_FORMAT " s: %" G_GUINT64_FORMAT " pending, %s\n",
           what, limit_us / G_USEC_PER_SEC, (guint64)s.pending, s.detail);
    fflush(stdout);
    unfinished = TRUE;
}

static void store_all(fake_module *m, jrec_record **all, unsigned count)
{
    void *impl = NULL;
    const ucd_journal_v1 *j = iface(m, &impl);
    for (unsigned i = 0; i < count; i++)
        if (j->store(impl, &all[i]->rec) != UCD_OK)
            g_error("store refused %s", all[i]->rec.uuid);
}

/* Waits until everything is in the database; FALSE (said) after
 * BENCH_LIMIT_S. */
static gboolean wait_empty(fake_module *m, const char *what)
{
    void *impl = NULL;
    int64_t deadline = g_get_monotonic_time() + limit_us;
    while (iface(m, &impl)->flush(impl, 1000) != UCD_OK || pending(m) > 0) {
        if (g_get_monotonic_time() >= deadline) {
            give_up(m, what);
            return FALSE;
        }
        g_usleep(2000);
    }
    return TRUE;
}

/* Conversations/s through store() until everything is committed. */
static double plugin_rate(const char *prefix, const char *method, unsigned count)
{
    jrec_record **all = make_workload(prefix, count);
    fake_module *m = module_new(prefix, method);
    store_all(m, all, 1); /* the schema is there before the clock starts */
    gboolean finished = wait_empty(m, method);
    int64_t t0 = g_get_monotonic_time();
    if (finished) {
        store_all(m, all + 1, count - 1);
        finished = wait_empty(m, method);
    }
    double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    fake_module_stop(m);
    fake_module_free(m);
    free_workload(all, count);
    return finished ? (count - 1) / seconds : 0;
}

static double copy_rate(unsigned count)
{
    jrec_record **all = make_workload("lim", count);
    /* The plugin makes the tables (and its indexes, which COPY maintains too). */
    fake_module *m = module_new("lim_", "values");
    store_all(m, all, 1);
    if (!wait_empty(m, "creating the tables"))
        g_error("the plugin did not create its tables");
    fake_module_stop(m);
    fake_module_free(m);
    char *conv = g_build_filename(work_dir, "conversation.csv", NULL);
    char *part = g_build_filename(work_dir, "participant.csv", NULL);
    write_csv(all + 1, count - 1, conv, part);
    char *columns = column_list();
    char *c1 = g_strdup_printf("\\copy lim_conversation(%s) FROM '%s' CSV", columns, conv);
    char *c2 = g_strdup_printf("\\copy lim_participant(conversation_uuid,seq,role,user_id,line,"
                               "joined_ms,answered_ms,left_ms,start_ms) FROM '%s' CSV",
                               part);
    int64_t t0 = g_get_monotonic_time();
    psql(c1);
    psql(c2);
    double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    g_free(c1);
    g_free(c2);
    g_free(columns);
    g_free(conv);
    g_free(part);
    free_workload(all, count);
    return (count - 1) / seconds;
}

static void peer_script(const char *command)
{
    char *script = g_build_filename(peers_dir, "postgres.sh", NULL);
    const char *argv[] = {"bash", script, command, harness_peer_get(peer, "PG_DIR"), NULL};
    int status = 0;
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                 NULL);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_free(script);
}

/* Spooled while the server is down, then replayed: records/s of the replay. */
static void replay_rate(unsigned count)
{
    jrec_record **all = make_workload("rep", count);
    fake_module *m = module_new("rep_", "auto");
    store_all(m, all, 1);
    if (!wait_empty(m, "replay: creating the tables")) {
        fake_module_stop(m);
        fake_module_free(m);
        free_workload(all, count);
        return;
    }
    peer_script("halt");
    int64_t t0 = g_get_monotonic_time();
    store_all(m, all + 1, count - 1);
    void *impl = NULL;
    if (iface(m, &impl)->flush(impl, (uint32_t)(limit_us / 1000)) != UCD_OK)
        give_up(m, "spool");
    double spool_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    uint64_t spooled = pending(m);
    peer_script("resume");
    t0 = g_get_monotonic_time();
    gboolean finished = wait_empty(m, "replay");
    double replay_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    printf("spool:   %" PRIu64 " conversations spooled (fdatasync'd) in %.2f s = %.0f/s\n", spooled,
           spool_s, spooled / spool_s);
    if (finished)
        printf("replay:  %" PRIu64 " conversations replayed in %.2f s = %.0f records/s (from "
               "the resume, reconnect included)\n",
               spooled, replay_s, spooled / replay_s);
    fake_module_stop(m);
    fake_module_free(m);
    free_workload(all, count);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        g_error("usage: %s journal-odbc.so PEERS_DIR [COUNT] [REPLAY_COUNT]", argv[0]);
    unsigned count = argc > 3 ? (unsigned)atoi(argv[3]) : 50000;
    unsigned replay = argc > 4 ? (unsigned)atoi(argv[4]) : 100000;
    peers_dir = argv[2];
    if (g_getenv("BENCH_BATCH") != NULL)
        bench_batch = g_getenv("BENCH_BATCH");
    if (g_getenv("BENCH_ROWS") != NULL)
        bench_rows = g_getenv("BENCH_ROWS");
    if (g_getenv("BENCH_LIMIT_S") != NULL)
        limit_us = MAX(1, atoi(g_getenv("BENCH_LIMIT_S"))) * G_USEC_PER_SEC;
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "journal-odbc", &handle);
    char *script = g_build_filename(peers_dir, "postgres.sh", NULL);
    peer = harness_peer_start(script, "PG_DIR", NULL);
    g_free(script);
    if (peer == NULL)
        return 77;
    const char *vars[] = {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"};
    for (size_t i = 0; i < G_N_ELEMENTS(vars); i++)
        g_setenv(vars[i], harness_peer_get(peer, vars[i]), TRUE);
    work_dir = g_dir_make_tmp("bench-journal-odbc-XXXXXX", NULL);

    printf("journal-odbc into PostgreSQL 15 (psqlODBC), %u conversations, 1/3 with 2 "
           "participants, batch_size %s, rows_per_statement %s\n",
           count, bench_batch, bench_rows);
    fflush(stdout);
    double limit = copy_rate(count);
    printf("limit:   psql \\copy                 %8.0f conversations/s\n", limit);
    fflush(stdout);
    double values = plugin_rate("val_", "values", count);
    printf("plugin:  insert_method=values       %8.0f conversations/s  ratio %.2f\n", values,
           values / limit);
    fflush(stdout);
    double array = plugin_rate("arr_", "array", count);
    printf("plugin:  insert_method=array        %8.0f conversations/s  ratio %.2f\n", array,
           array / limit);
    fflush(stdout);
    double unnest = plugin_rate("unn_", "unnest", count);
    printf("plugin:  insert_method=unnest       %8.0f conversations/s  ratio %.2f (the default "
           "on PostgreSQL)\n",
           unnest, unnest / limit);
    printf("target:  ratio >= 0.50\n");
    fflush(stdout);
    replay_rate(replay);

    harness_peer_stop(peer);
    const char *rm[] = {"rm", "-rf", work_dir, NULL};
    g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(work_dir);
    return unfinished ? 1 : 0;
}
