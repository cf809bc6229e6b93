/*
 * test-journal-odbc.c - journal-odbc against real PostgreSQL and MariaDB
 * servers (tests/peers/postgres.sh, mariadb.sh), driven through the fake
 * host, with rows checked by the databases' own clients (psql, mariadb);
 * and the SQL text of every dialect, SQL Server's included, which no server
 * here runs.
 *
 * argv[1]: journal-odbc.so, argv[2]: postgres, mariadb or dialect,
 * argv[3]: tests/peers. Each test uses its own table prefix.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "fake-host.h"
#include "harness.h"
#include "jodbc-dialect.h"

#define WAIT_MS 60000

static const ucd_plugin_descriptor *descriptor;
static const char *kind, *peers_dir;
static harness_peer *peer;
static char *state_dir;

/* ---- the database, through its own client ---- */

static gboolean is_postgres(void)
{
    return strcmp(kind, "postgres") == 0;
}

static char *client(const char *sql)
{
    char *port = g_strdup_printf("-P%s", harness_peer_get(peer, "MARIADB_PORT"));
    const char *pg[] = {"psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql, NULL};
    const char *maria[] = {
        "mariadb", "--no-defaults", "-h127.0.0.1", port, "-utest", "-psecret", "-N",
        "-B",      "test",          "-e",          sql,  NULL};
    char *out = NULL, *err = NULL;
    int status = 0;
    GError *error = NULL;
    g_spawn_sync(NULL, (char **)(is_postgres() ? pg : maria), NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                 &out, &err, &status, &error);
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("client failed: %s\nin: %s", err, sql);
    g_free(err);
    g_free(port);
    return g_strstrip(out);
}

static int client_int(const char *sql)
{
    char *out = client(sql);
    int n = atoi(out);
    g_free(out);
    return n;
}

static void peer_script(const char *command)
{
    char *script = g_build_filename(peers_dir, is_postgres() ? "postgres.sh" : "mariadb.sh", NULL);
    const char *dir = harness_peer_get(peer, is_postgres() ? "PG_DIR" : "MARIADB_DIR");
    const char *argv[] = {"bash", script, command, dir, NULL};
    int status = 0;
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                 NULL);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_free(script);
}

/* ---- the module ---- */

static fake_module *module_new(const char *prefix, const char *const *extra)
{
    fake_module *m = fake_module_new(descriptor, "journal-odbc");
    char *dir = g_build_filename(state_dir, prefix, NULL);
    g_mkdir_with_parents(dir, 0700);
    fake_module_set_state_dir(m, dir);
    g_free(dir);
    const char *connection = harness_peer_get(peer, is_postgres() ? "PG_ODBC" : "MARIADB_ODBC");
    const char *const pairs[] = {"connection_string",
                                 connection,
                                 "password",
                                 "secret",
                                 "table_prefix",
                                 prefix,
                                 "retry_min",
                                 "100ms",
                                 "retry_max",
                                 "1s",
                                 "timeout",
                                 "3s",
                                 NULL};
    fake_module_set_pairs(m, pairs);
    fake_module_set_pairs(m, extra);
    fake_module_start(m);
    return m;
}

static const ucd_journal_v1 *iface(fake_module *m, void **impl)
{
    const ucd_journal_v1 *j = fake_module_service(m, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, impl);
    g_assert_nonnull(j);
    return j;
}

static void module_free(fake_module *m)
{
    fake_module_stop(m);
    g_assert_false(fake_module_log_has(m, 0, "secret"));
    fake_module_free(m);
}

typedef struct test_record {
    ucd_journal_record rec;
    ucd_journal_participant parts[2];
    char uuid[64], number[32], raw[32], memo[96];
} test_record;

static void make_record(test_record *t, const char *prefix, int n, int64_t start_ms)
{
    memset(t, 0, sizeof(*t));
    g_snprintf(t->uuid, sizeof(t->uuid), "%s-%04d", prefix, n);
    g_snprintf(t->number, sizeof(t->number), "+4989%07d", n);
    g_snprintf(t->raw, sizeof(t->raw), "089%07d", n);
    g_snprintf(t->memo, sizeof(t->memo),
               "memo %d with 'quotes', \"double\" {a,b} \\ NULL and ümlauts", n);
    t->parts[0] = (ucd_journal_participant){.struct_size = sizeof(t->parts[0]),
                                            .role = 1,
                                            .user_id = n % 2 ? "u1" : "u2",
                                            .line = "201",
                                            .joined_ms = start_ms,
                                            .answered_ms = start_ms + 2000,
                                            .left_ms = start_ms + 60000};
    t->parts[1] = (ucd_journal_participant){.struct_size = sizeof(t->parts[1]),
                                            .role = 2,
                                            .line = "202",
                                            .joined_ms = start_ms + 30000,
                                            .left_ms = start_ms + 60000};
    t->rec = (ucd_journal_record){.struct_size = sizeof(t->rec),
                                  .direction = 1,
                                  .outcome = n % 3 == 0 ? 1 : 0,
                                  .uuid = t->uuid,
                                  .driver_instance = "pbx-sim:office",
                                  .start_ms = start_ms,
                                  .answer_ms = start_ms + 2000,
                                  .end_ms = start_ms + 60000,
                                  .source_number = t->raw,
                                  .source_e164 = t->number,
                                  .source_name = "Anna Müller",
                                  .requested_number = "201",
                                  .destination_number = "201",
                                  .destination_name = "Desk",
                                  .end_reason = "normal",
                                  .tags = "p1;p2",
                                  .memo = t->memo,
                                  .participants = t->parts,
                                  .participant_count = 2,
                                  .participant_size = sizeof(ucd_journal_participant)};
}

static int64_t base_ms(void)
{
    return g_get_real_time() / 1000 - 3600000;
}

static void store_many(fake_module *m, const char *prefix, int first, int count)
{
    void *impl = NULL;
    const ucd_journal_v1 *j = iface(m, &impl);
    test_record t;
    for (int i = first; i < first + count; i++) {
        make_record(&t, prefix, i, base_ms() + i * 1000);
        g_assert_cmpint(j->store(impl, &t.rec), ==, UCD_OK);
    }
}

static void flush_ok(fake_module *m)
{
    void *impl = NULL;
    g_assert_cmpint(iface(m, &impl)->flush(impl, WAIT_MS), ==, UCD_OK);
}

static ucd_journal_status status_of(fake_module *m)
{
    void *impl = NULL;
    ucd_journal_status s = {.struct_size = sizeof(s)};
    g_assert_cmpint(iface(m, &impl)->status(impl, &s), ==, UCD_OK);
    return s;
}

/* Polls until nothing is pending (the spool replayed). */
static void wait_drained(fake_module *m)
{
    int64_t deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    while (status_of(m).pending > 0 && g_get_monotonic_time() < deadline)
        g_usleep(50000);
    g_assert_cmpuint(status_of(m).pending, ==, 0);
}

static int count_rows(const char *prefix, const char *table, const char *where)
{
    char *sql = g_strdup_printf("SELECT count(*) FROM %s%s %s", prefix, table, where ? where : "");
    int n = client_int(sql);
    g_free(sql);
    return n;
}

/* ---- query helpers ---- */

typedef struct collected {
    GPtrArray *uuids;
    GString *first; /* every field of the first record */
} collected;

static int collect(const ucd_journal_record *r, void *data)
{
    collected *c = data;
    if (c->uuids->len == 0)
        g_string_printf(c->first,
                        "%s|%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                        "|%u|%u|%s|%s|%s|%s|%s|%s|%s|%s|%u:%s/%s/%" G_GINT64_FORMAT
                        "/%" G_GINT64_FORMAT ",%s/%s",
                        r->uuid, r->driver_instance, r->start_ms, r->answer_ms, r->end_ms,
                        r->direction, r->outcome, r->source_number, r->source_e164, r->source_name,
                        r->requested_number, r->destination_name, r->end_reason, r->tags, r->memo,
                        r->participant_count, r->participants[0].user_id, r->participants[0].line,
                        r->participants[0].answered_ms, r->participants[0].left_ms,
                        r->participants[1].user_id ? "?" : "-", r->participants[1].line);
    g_ptr_array_add(c->uuids, g_strdup(r->uuid));
    return 0;
}

static collected *run_query(fake_module *m, const ucd_journal_query *q, char *cursor)
{
    void *impl = NULL;
    collected *c = g_new0(collected, 1);
    c->uuids = g_ptr_array_new_with_free_func(g_free);
    c->first = g_string_new(NULL);
    g_assert_cmpint(iface(m, &impl)->query(impl, q, collect, c, cursor, 64), ==, UCD_OK);
    return c;
}

static void collected_free(collected *c)
{
    g_ptr_array_unref(c->uuids);
    g_string_free(c->first, TRUE);
    g_free(c);
}

/* ---- tests ---- */

static void test_round_trip(void)
{
    fake_module *m = module_new("rt_", NULL);
    store_many(m, "rt", 1, 5);
    flush_ok(m);
    g_assert_cmpint(count_rows("rt_", "conversation", NULL), ==, 5);
    g_assert_cmpint(count_rows("rt_", "participant", NULL), ==, 10);
    g_assert_cmpint(count_rows("rt_", "conversation", "WHERE memo LIKE '%ümlauts'"), ==, 5);
    g_assert_cmpint(fake_module_counter(m, "stored"), ==, 5);

    ucd_journal_query q = {.struct_size = sizeof(q)};
    char cursor[64];
    collected *c = run_query(m, &q, cursor);
    g_assert_cmpuint(c->uuids->len, ==, 5);
    g_assert_cmpstr(c->uuids->pdata[0], ==, "rt-0005"); /* newest first */
    g_assert_true(g_str_has_prefix(c->first->str, "rt-0005|pbx-sim:office|"));
    g_assert_nonnull(strstr(c->first->str,
                            "|1|0|0890000005|+49890000005|Anna Müller|201|Desk|normal|p1;p2|memo "
                            "5 with 'quotes', \"double\" {a,b} \\ NULL and ümlauts|2:u1/201/"));
    g_assert_true(g_str_has_suffix(c->first->str, ",-/202"));
    collected_free(c);

    /* Filters and paging. */
    q.user_id = "u2";
    c = run_query(m, &q, cursor);
    g_assert_cmpuint(c->uuids->len, ==, 2);
    collected_free(c);
    q.user_id = NULL;
    q.number = "0890000003";
    c = run_query(m, &q, cursor); /* raw form finds the E.164 one */
    g_assert_cmpuint(c->uuids->len, ==, 1);
    g_assert_cmpstr(c->uuids->pdata[0], ==, "rt-0003");
    collected_free(c);
    q.number = NULL;
    q.outcome_mask = 1u << UCD_OUTCOME_NO_ANSWER;
    c = run_query(m, &q, cursor);
    g_assert_cmpuint(c->uuids->len, ==, 1);
    collected_free(c);
    q.outcome_mask = 0;
    q.limit = 2;
    GPtrArray *all = g_ptr_array_new_with_free_func(g_free);
    do {
        c = run_query(m, &q, cursor);
        for (guint i = 0; i < c->uuids->len; i++)
            g_ptr_array_add(all, g_strdup(c->uuids->pdata[i]));
        collected_free(c);
        q.after = cursor;
    } while (cursor[0] != '\0' && all->len < 10);
    g_assert_cmpuint(all->len, ==, 5);
    g_assert_cmpstr(all->pdata[4], ==, "rt-0001");
    g_ptr_array_unref(all);
    module_free(m);
}

static void test_idempotent_and_reopen(void)
{
    fake_module *m = module_new("idem_", NULL);
    store_many(m, "idem", 1, 3);
    store_many(m, "idem", 1, 3); /* the same three again */
    flush_ok(m);
    module_free(m);
    m = module_new("idem_", NULL); /* the schema is reopened as it is */
    store_many(m, "idem", 2, 3);
    flush_ok(m);
    g_assert_cmpint(count_rows("idem_", "conversation", NULL), ==, 4);
    g_assert_cmpint(count_rows("idem_", "participant", NULL), ==, 8);
    g_assert_cmpint(count_rows("idem_", "schema_version", NULL), ==, 1);
    module_free(m);
}

static void test_newer_schema_refused(void)
{
    g_free(client("CREATE TABLE new_schema_version (version INTEGER NOT NULL)"));
    g_free(client("INSERT INTO new_schema_version VALUES (99)"));
    fake_module *m = module_new("new_", NULL);
    store_many(m, "new", 1, 2);
    flush_ok(m); /* durable in the spool */
    int64_t deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    while (!fake_module_log_has(m, UCD_LOG_ERROR, "newer than this plugin's 1") &&
           g_get_monotonic_time() < deadline)
        g_usleep(50000);
    g_assert_true(fake_module_log_has(m, UCD_LOG_ERROR, "new_schema_version says 99"));
    ucd_journal_status s = status_of(m);
    g_assert_false(s.healthy);
    g_assert_cmpuint(s.pending, ==, 2);
    g_assert_true(g_str_has_prefix(s.detail, "spooling: 2 in the spool; database "));
    g_assert_nonnull(strstr(s.detail, "newer than this plugin's 1"));
    module_free(m);
}

/* Down at start, then halted in the middle of traffic: every record
 * arrives exactly once. */
static void test_outage(void)
{
    peer_script("halt");
    fake_module *m = module_new("out_", (const char *const[]){"spool_warn", "30", NULL});
    fake_module_log_clear(m);
    store_many(m, "out", 1, 50);
    flush_ok(m);
    ucd_journal_status s = status_of(m);
    g_assert_false(s.healthy);
    g_assert_cmpuint(s.pending, ==, 50);
    /* The oldest spooled record is the first stored (start about base + 1 s). */
    g_assert_cmpint(s.oldest_pending_ms, >, 0);
    g_assert_cmpint(s.oldest_pending_ms, <=, base_ms() + 1000);
    g_assert_cmpint(fake_module_counter(m, "spool_depth"), ==, 50);
    g_assert_cmpint(fake_module_counter(m, "spool_warnings"), ==, 1);
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "more than spool_warn"));
    peer_script("resume");
    wait_drained(m);
    g_assert_true(fake_module_log_has(m, UCD_LOG_NOTICE, "spool drained"));
    g_assert_cmpint(count_rows("out_", "conversation", NULL), ==, 50);

    store_many(m, "out", 51, 50);
    peer_script("halt");
    store_many(m, "out", 101, 50);
    flush_ok(m);
    peer_script("resume");
    store_many(m, "out", 151, 10);
    flush_ok(m);
    wait_drained(m);
    g_assert_cmpint(count_rows("out_", "conversation", NULL), ==, 160);
    g_assert_cmpint(count_rows("out_", "participant", NULL), ==, 320);
    g_assert_cmpint(fake_module_counter(m, "stored") + fake_module_counter(m, "replayed"), >=, 160);
    g_assert_true(status_of(m).healthy);
    module_free(m);
}

/* Batches of several statements (rows_per_statement), parameter arrays, and
 * one array per column (unnest: PostgreSQL; values elsewhere, as auto). */
static void test_bulk(void)
{
    const char *const methods[] = {"values", "array", "unnest", "auto"};
    for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
        char *prefix = g_strdup_printf("bulk%zu_", i);
        fake_module *m = module_new(prefix, (const char *const[]){"insert_method", methods[i],
                                                                  "rows_per_statement", "37",
                                                                  "batch_size", "150", NULL});
        store_many(m, prefix, 1, 400);
        flush_ok(m);
        g_assert_cmpint(count_rows(prefix, "conversation", NULL), ==, 400);
        g_assert_cmpint(count_rows(prefix, "participant", NULL), ==, 800);
        module_free(m);
        g_free(prefix);
    }
}

static void test_refused_row(void)
{
    fake_module *m = module_new("ref_", NULL);
    store_many(m, "ref", 1, 1);
    flush_ok(m); /* the schema exists now */
    g_free(
        client("ALTER TABLE ref_conversation ADD CONSTRAINT no_bad CHECK (memo <> 'refuse me')"));
    void *impl = NULL;
    const ucd_journal_v1 *j = iface(m, &impl);
    test_record t[6];
    for (int i = 0; i < 6; i++) {
        make_record(&t[i], "ref", 10 + i, base_ms() + i);
        if (i == 3)
            t[i].rec.memo = "refuse me";
        g_assert_cmpint(j->store(impl, &t[i].rec), ==, UCD_OK);
    }
    flush_ok(m);
    g_assert_cmpint(count_rows("ref_", "conversation", NULL), ==, 6);
    g_assert_cmpint(count_rows("ref_", "conversation", "WHERE uuid = 'ref-0013'"), ==, 0);
    g_assert_true(fake_module_log_has(m, UCD_LOG_ERROR, "conversation ref-0013 refused"));
    g_assert_cmpint(fake_module_counter(m, "rejected"), ==, 1);
    module_free(m);
}

static void test_bad_input(void)
{
    fake_module *m = module_new("bad_", NULL);
    void *impl = NULL;
    const ucd_journal_v1 *j = iface(m, &impl);
    test_record t;
    make_record(&t, "bad", 1, base_ms());
    t.rec.end_ms = t.rec.start_ms - 1000;
    t.rec.source_number = "+49\x01"
                          "891\n234";
    char *long_name = g_strnfill(500, 'x');
    t.rec.destination_name = long_name;
    g_assert_cmpint(j->store(impl, &t.rec), ==, UCD_OK);
    make_record(&t, "bad", 2, g_get_real_time() / 1000 + 400LL * 86400000);
    g_assert_cmpint(j->store(impl, &t.rec), ==, UCD_E_INVALID);
    make_record(&t, "bad", 3, base_ms());
    g_assert_cmpint(j->store(impl, &t.rec), ==, UCD_OK);
    flush_ok(m);
    g_assert_cmpint(count_rows("bad_", "conversation", NULL), ==, 2);
    char *row = client("SELECT source_number, length(destination_name), end_ms - start_ms FROM "
                       "bad_conversation WHERE uuid = 'bad-0001'");
    g_strdelimit(row, "\t", '|');
    g_assert_cmpstr(row, ==, "+49891234|128|2000");
    g_free(row);
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "bad-0002 refused"));
    g_assert_cmpint(fake_module_counter(m, "rejected"), ==, 1);
    g_free(long_name);
    module_free(m);
}

static void test_privacy_and_retention(void)
{
    fake_module *m = module_new("priv_", (const char *const[]){"retention_days", "2", NULL});
    void *impl = NULL;
    const ucd_journal_v1 *j = iface(m, &impl);
    test_record t;
    make_record(&t, "priv", 1, base_ms());
    t.rec.flags = UCD_JOURNAL_FLAG_PRIVATE;
    g_assert_cmpint(j->store(impl, &t.rec), ==, UCD_OK);
    make_record(&t, "priv", 2, base_ms() - 5LL * 86400000); /* past retention */
    g_assert_cmpint(j->store(impl, &t.rec), ==, UCD_OK);
    flush_ok(m);
    char *number = client("SELECT source_e164 FROM priv_conversation WHERE uuid = 'priv-0001'");
    g_assert_cmpstr(number, ==, "+4989000xxxx");
    g_free(number);
    /* Retention runs when the writer is idle; poke it with a later store. */
    int64_t deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    int n = 2;
    while ((n = count_rows("priv_", "conversation", NULL)) != 1 &&
           g_get_monotonic_time() < deadline) {
        g_usleep(100000);
        make_record(&t, "priv", 3, base_ms());
        j->store(impl, &t.rec);
    }
    g_assert_cmpint(count_rows("priv_", "conversation", "WHERE uuid = 'priv-0002'"), ==, 0);
    g_assert_cmpint(count_rows("priv_", "participant", "WHERE conversation_uuid = 'priv-0002'"), ==,
                    0);
    module_free(m);
}

static void test_config_refused(void)
{
    fake_module *m = fake_module_new(descriptor, "journal-odbc");
    fake_module_set(m, "dsn", "x");
    fake_module_set(m, "table_prefix", "bad-prefix;");
    g_assert_cmpint(fake_module_init(m), ==, UCD_FAIL);
    g_assert_cmpstr(m->config_error_key, ==, "table_prefix");
    fake_module_free(m);
}

/* ---- dialects, as text ---- */

static void test_dialect_texts(void)
{
    char *sql = jodbc_sql_insert_conversations(JODBC_MSSQL, "ucd_", 2);
    g_assert_true(g_str_has_prefix(sql, "INSERT INTO ucd_conversation (uuid, driver_instance, "));
    g_assert_nonnull(strstr(sql, " SELECT v.uuid, v.driver_instance, "));
    g_assert_nonnull(strstr(sql, " FROM (VALUES (?, ?, "));
    g_assert_nonnull(strstr(sql, "), (?, "));
    g_assert_true(g_str_has_suffix(sql, ") WHERE NOT EXISTS (SELECT 1 FROM ucd_conversation t "
                                        "WHERE t.uuid = v.uuid)"));
    g_free(sql);
    sql = jodbc_sql_insert_participants(JODBC_MSSQL, "ucd_", 1);
    g_assert_true(g_str_has_suffix(sql, "WHERE t.conversation_uuid = v.conversation_uuid AND "
                                        "t.seq = v.seq)"));
    g_free(sql);
    sql = jodbc_sql_insert_participants(JODBC_POSTGRESQL, "p_", 1);
    g_assert_cmpstr(sql, ==,
                    "INSERT INTO p_participant (conversation_uuid, seq, role, user_id, "
                    "line, joined_ms, answered_ms, left_ms, start_ms) VALUES (?, ?, ?, "
                    "?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    g_free(sql);
    /* PostgreSQL's one-array-per-column form */
    const gboolean part_texts[JODBC_PARTICIPANT_COLUMNS] = {TRUE, FALSE, FALSE, TRUE, TRUE};
    sql = jodbc_sql_insert_participants_unnest("p_", part_texts);
    g_assert_cmpstr(sql, ==,
                    "INSERT INTO p_participant (conversation_uuid, seq, role, user_id, "
                    "line, joined_ms, answered_ms, left_ms, start_ms) SELECT * FROM "
                    "unnest(?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], "
                    "?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) ON CONFLICT DO NOTHING");
    g_free(sql);
    sql = jodbc_sql_insert_participants(JODBC_MYSQL, "p_", 1);
    g_assert_true(
        g_str_has_suffix(sql, " ON DUPLICATE KEY UPDATE conversation_uuid = conversation_uuid"));
    g_free(sql);
    /* SQL Server: at most 2100 parameters, 1000 rows. */
    g_assert_cmpuint(jodbc_max_rows(JODBC_MSSQL, 25) * 25, <=, 2100);
    g_assert_cmpuint(jodbc_max_rows(JODBC_MSSQL, 1), ==, 1000);

    char **ddl = jodbc_sql_create_schema(JODBC_MSSQL, "ucd_");
    g_assert_nonnull(strstr(ddl[1], "id BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY"));
    g_assert_nonnull(strstr(ddl[1], "uuid NVARCHAR(64) NOT NULL UNIQUE"));
    g_assert_nonnull(strstr(ddl[1], "memo NVARCHAR(4000)"));
    g_assert_true(
        g_str_has_suffix(ddl[g_strv_length(ddl) - 1], "ucd_schema_version (version) VALUES (1)"));
    g_strfreev(ddl);
    ddl = jodbc_sql_create_schema(JODBC_MYSQL, "ucd_");
    g_assert_nonnull(strstr(ddl[1], "AUTO_INCREMENT PRIMARY KEY"));
    g_assert_true(
        g_str_has_suffix(ddl[1], "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"));
    g_strfreev(ddl);
    ddl = jodbc_sql_create_schema(JODBC_POSTGRESQL, "ucd_");
    g_assert_nonnull(strstr(ddl[1], "GENERATED BY DEFAULT AS IDENTITY"));
    g_strfreev(ddl);

    jodbc_filter f = {.user = TRUE, .cursor = TRUE, .limit = 11, .outcome_mask = 5};
    sql = jodbc_sql_select(JODBC_MSSQL, "ucd_", &f);
    g_assert_true(g_str_has_prefix(sql, "SELECT TOP (11) id, uuid, "));
    g_assert_nonnull(strstr(sql, " AND outcome IN (-1, 0, 2)"));
    g_assert_nonnull(strstr(sql, " AND (start_ms < ? OR (start_ms = ? AND id < ?))"));
    g_assert_true(g_str_has_suffix(sql, " ORDER BY start_ms DESC, id DESC"));
    g_free(sql);
    sql = jodbc_sql_select(JODBC_POSTGRESQL, "ucd_", &f);
    g_assert_true(g_str_has_suffix(sql, " ORDER BY start_ms DESC, id DESC LIMIT 11"));
    g_free(sql);
    sql = jodbc_sql_select_expired(JODBC_MSSQL, "ucd_", 500);
    g_assert_cmpstr(sql, ==,
                    "SELECT TOP (500) uuid FROM ucd_conversation WHERE start_ms < ? "
                    "ORDER BY start_ms");
    g_free(sql);

    g_assert_cmpint(jodbc_dialect_from_dbms("Microsoft SQL Server"), ==, JODBC_MSSQL);
    g_assert_cmpint(jodbc_dialect_from_dbms("MariaDB"), ==, JODBC_MYSQL);
    g_assert_cmpint(jodbc_dialect_from_dbms("PostgreSQL"), ==, JODBC_POSTGRESQL);
    g_assert_cmpint(jodbc_dialect_from_dbms("Oracle"), ==, -1);
    g_assert_true(jodbc_prefix_valid("ucd_"));
    g_assert_true(jodbc_prefix_valid(""));
    g_assert_false(jodbc_prefix_valid("x; DROP TABLE y"));
    g_assert_false(jodbc_prefix_valid("1x"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 4)
        g_error("usage: %s journal-odbc.so postgres|mariadb|dialect PEERS_DIR", argv[0]);
    kind = argv[2];
    peers_dir = argv[3];
    if (strcmp(kind, "dialect") == 0) {
        g_test_add_func("/journal-odbc/dialect-texts", test_dialect_texts);
        return g_test_run();
    }
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "journal-odbc", &handle);
    char *script = g_build_filename(peers_dir, is_postgres() ? "postgres.sh" : "mariadb.sh", NULL);
    peer = harness_peer_start(script, is_postgres() ? "PG_DIR" : "MARIADB_DIR", NULL);
    g_free(script);
    if (peer == NULL)
        return 77;
    if (is_postgres()) {
        const char *vars[] = {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"};
        for (size_t i = 0; i < G_N_ELEMENTS(vars); i++)
            g_setenv(vars[i], harness_peer_get(peer, vars[i]), TRUE);
    }
    state_dir = g_dir_make_tmp("journal-odbc-XXXXXX", NULL);
    g_test_add_func("/journal-odbc/round-trip", test_round_trip);
    g_test_add_func("/journal-odbc/idempotent-and-reopen", test_idempotent_and_reopen);
    g_test_add_func("/journal-odbc/newer-schema-refused", test_newer_schema_refused);
    g_test_add_func("/journal-odbc/outage", test_outage);
    g_test_add_func("/journal-odbc/bulk", test_bulk);
    g_test_add_func("/journal-odbc/refused-row", test_refused_row);
    g_test_add_func("/journal-odbc/bad-input", test_bad_input);
    g_test_add_func("/journal-odbc/privacy-and-retention", test_privacy_and_retention);
    g_test_add_func("/journal-odbc/config-refused", test_config_refused);
    int rc = g_test_run();
    harness_peer_stop(peer);
    const char *argv_rm[] = {"rm", "-rf", state_dir, NULL};
    g_spawn_sync(NULL, (char **)argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
    g_free(state_dir);
    return rc;
}
