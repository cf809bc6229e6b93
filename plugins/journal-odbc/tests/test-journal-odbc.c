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
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <gio/gio.h>

#include <glib/gstdio.h>

#include "fake-host.h"
#include "harness.h"
#include "odbc-batch.h"
#include "odbc-call.h"
#include "odbc-dialect.h"

#define WAIT_MS 120000

static const ucd_plugin_descriptor *descriptor;
static const char *kind, *peers_dir, *program, *plugin_path;
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
    char *host = g_strdup_printf("-h%s", harness_peer_get(peer, "MARIADB_HOST"));
    const char *pg[] = {"psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql, NULL};
    const char *maria[] = {"mariadb", "--no-defaults", host, port, "-utest", "-psecret", "-N",
                           "-B",      "test",          "-e", sql,  NULL};
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
    g_free(host);
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
                                  .outcome = n % 3 == 0   ? UCD_OUTCOME_NO_ANSWER
                                             : n % 4 == 0 ? UCD_OUTCOME_BUSY
                                                          : UCD_OUTCOME_ANSWERED,
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
                                  /* the core's cause for the outcome, and its word */
                                  .end_reason = n % 3 == 0   ? "no_answer"
                                                : n % 4 == 0 ? "rejected"
                                                             : "normal",
                                  .end_cause = n % 3 == 0   ? UCD_CAUSE_NO_ANSWER
                                               : n % 4 == 0 ? UCD_CAUSE_REJECTED
                                                            : UCD_CAUSE_NORMAL,
                                  .tags = "p1;p2",
                                  .memo = t->memo,
                                  .participants = t->parts,
                                  .participant_count = 2,
                                  .participant_size = sizeof(ucd_journal_participant)};
    if (n % 5 == 0) {
        /* Journal 1.1: the enums alone; the table keeps their words and
         * query() gives both back. */
        t->rec.end_reason = NULL;
        t->rec.end_cause = UCD_CAUSE_LINK_LOST;
        t->rec.forward_reason_code = UCD_FORWARD_REASON_BUSY;
    }
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

/* Polls until nothing is pending (the spool replayed) and the database is
 * written to (healthy: also after a start, before which the spool is not
 * even counted yet). */
static void wait_drained(fake_module *m)
{
    int64_t deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    while ((status_of(m).pending > 0 || !status_of(m).healthy) && g_get_monotonic_time() < deadline)
        g_usleep(50000);
    g_assert_cmpuint(status_of(m).pending, ==, 0);
    g_assert_true(status_of(m).healthy);
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
    uint32_t first_end_cause, first_forward_code;
    char *first_forward_reason;
    GArray *end_causes; /* of every record, in order */
} collected;

static int collect(const ucd_journal_record *r, void *data)
{
    collected *c = data;
    if (c->uuids->len == 0) {
        c->first_end_cause = r->end_cause;
        c->first_forward_code = r->forward_reason_code;
        c->first_forward_reason = g_strdup(r->forward_reason);
    }
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
    g_array_append_val(c->end_causes, r->end_cause);
    return 0;
}

static collected *collected_new(void)
{
    collected *c = g_new0(collected, 1);
    c->uuids = g_ptr_array_new_with_free_func(g_free);
    c->first = g_string_new(NULL);
    c->end_causes = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    return c;
}

static collected *run_query(fake_module *m, const ucd_journal_query *q, char *cursor)
{
    void *impl = NULL;
    collected *c = collected_new();
    g_assert_cmpint(iface(m, &impl)->query(impl, q, collect, c, cursor, 64), ==, UCD_OK);
    return c;
}

static void collected_free(collected *c)
{
    g_ptr_array_unref(c->uuids);
    g_string_free(c->first, TRUE);
    g_array_unref(c->end_causes);
    g_free(c->first_forward_reason);
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
    g_assert_cmpint(
        count_rows("rt_", "conversation", "WHERE end_reason = 'rejected' AND outcome = 2"), ==, 1);
    g_assert_cmpint(fake_module_counter(m, "stored"), ==, 5);

    ucd_journal_query q = {.struct_size = sizeof(q)};
    char cursor[64];
    collected *c = run_query(m, &q, cursor);
    g_assert_cmpuint(c->uuids->len, ==, 5);
    g_assert_cmpstr(c->uuids->pdata[0], ==, "rt-0005"); /* newest first */
    g_assert_true(g_str_has_prefix(c->first->str, "rt-0005|pbx-sim:office|"));
    g_assert_nonnull(strstr(
        c->first->str, "|1|0|0890000005|+49890000005|Anna Müller|201|Desk|link_lost|p1;p2|memo "
                       "5 with 'quotes', \"double\" {a,b} \\ NULL and ümlauts|2:u1/201/"));
    g_assert_true(g_str_has_suffix(c->first->str, ",-/202"));
    g_assert_cmpuint(c->first_end_cause, ==, UCD_CAUSE_LINK_LOST);
    g_assert_cmpuint(c->first_forward_code, ==, UCD_FORWARD_REASON_BUSY);
    g_assert_cmpstr(c->first_forward_reason, ==, "busy");
    /* The table keeps end_reason, the word of end_cause; end_cause comes
     * back as the core gave it, REJECTED too (jrec_end_cause_of). */
    static const uint32_t causes[] = {UCD_CAUSE_LINK_LOST, UCD_CAUSE_REJECTED, UCD_CAUSE_NO_ANSWER,
                                      UCD_CAUSE_NORMAL, UCD_CAUSE_NORMAL}; /* rt-0005 .. rt-0001 */
    for (guint i = 0; i < G_N_ELEMENTS(causes); i++)
        g_assert_cmpuint(g_array_index(c->end_causes, uint32_t, i), ==, causes[i]);
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
    while (!fake_module_log_has(m, UCD_LOG_ERROR, "newer than this plugin's 2") &&
           g_get_monotonic_time() < deadline)
        g_usleep(50000);
    g_assert_true(fake_module_log_has(m, UCD_LOG_ERROR, "new_schema_version says 99"));
    ucd_journal_status s = status_of(m);
    g_assert_false(s.healthy);
    g_assert_cmpuint(s.pending, ==, 2);
    g_assert_true(g_str_has_prefix(s.detail, "spooling: 2 in the spool; database "));
    g_assert_nonnull(strstr(s.detail, "newer than this plugin's 2"));
    module_free(m);
}

/* The uuids a query finds, page by page (`limit` each; every page but the
 * last full), in order, joined by ','. */
static char *walk(fake_module *m, ucd_journal_query *q, uint32_t limit)
{
    char cursor[64] = "";
    GString *all = g_string_new(NULL);
    q->limit = limit;
    q->after = NULL;
    do {
        collected *c = run_query(m, q, cursor);
        if (cursor[0] != '\0')
            g_assert_cmpuint(c->uuids->len, ==, limit);
        for (guint i = 0; i < c->uuids->len; i++)
            g_string_append_printf(all, "%s%s", all->len ? "," : "", (char *)c->uuids->pdata[i]);
        collected_free(c);
        q->after = cursor;
    } while (cursor[0] != '\0');
    q->after = NULL;
    return g_string_free(all, FALSE);
}

/* journal 1.2: one conversation by uuid; the conversations of any of a set
 * of users or lines, in full pages. make_record(n): user u1 (odd n) or u2
 * (even n) on line 201, and line 202 without a user. */
static void test_filters_1_2(void)
{
    fake_module *m = module_new("flt_", NULL);
    void *impl = NULL;
    const ucd_journal_v1 *j = iface(m, &impl);
    int64_t base = base_ms();
    test_record t;
    for (int n = 1; n <= 10; n++) {
        make_record(&t, "flt", n, base + n * 1000);
        if (n == 10) {
            t.parts[0].user_id = "u3";
            t.parts[0].line = "203";
            t.parts[1].line = "204"; /* u3 on 203, 204 without a user */
        }
        g_assert_cmpint(j->store(impl, &t.rec), ==, UCD_OK);
    }
    flush_ok(m);

    ucd_journal_query q = {.struct_size = sizeof(q), .uuid = "flt-0004"};
    char *found = walk(m, &q, 10);
    g_assert_cmpstr(found, ==, "flt-0004");
    g_free(found);
    q.user_id = "u1"; /* 4 is even: u2's */
    found = walk(m, &q, 10);
    g_assert_cmpstr(found, ==, "");
    g_free(found);

    const char *u1_u3[] = {"u1", "u3", "nobody"}, *l202[] = {"202"}, *l203[] = {"203"};
    ucd_journal_query p = {
        .struct_size = sizeof(p), .participant_users = u1_u3, .participant_user_count = 3};
    found = walk(m, &p, 2);
    g_assert_cmpstr(found, ==, "flt-0010,flt-0009,flt-0007,flt-0005,flt-0003,flt-0001");
    g_free(found);
    /* every conversation has 202 once, none twice */
    p.participant_user_count = 0;
    p.participant_lines = l202;
    p.participant_line_count = 1;
    found = walk(m, &p, 4);
    g_assert_cmpstr(found, ==,
                    "flt-0009,flt-0008,flt-0007,flt-0006,flt-0005,flt-0004,flt-0003,flt-0002,"
                    "flt-0001");
    g_free(found);
    /* users or lines, with a period: u1's and 203's from n = 3 to 9 */
    p.participant_user_count = 1;
    p.participant_lines = l203;
    p.from_ms = base + 3 * 1000;
    p.to_ms = base + 10 * 1000 + 1;
    found = walk(m, &p, 3);
    g_assert_cmpstr(found, ==, "flt-0010,flt-0009,flt-0007,flt-0005,flt-0003");
    g_free(found);

    /* more names than UCD_JOURNAL_MAX_PARTICIPANT_FILTER, or a NULL one */
    const char **many = g_new0(const char *, UCD_JOURNAL_MAX_PARTICIPANT_FILTER);
    for (guint i = 0; i < UCD_JOURNAL_MAX_PARTICIPANT_FILTER; i++)
        many[i] = i % 2 ? "u3" : "nobody";
    ucd_journal_query big = {.struct_size = sizeof(big),
                             .participant_users = many,
                             .participant_user_count = UCD_JOURNAL_MAX_PARTICIPANT_FILTER};
    found = walk(m, &big, 10); /* a thousand bound parameters */
    g_assert_cmpstr(found, ==, "flt-0010");
    g_free(found);
    big.participant_lines = l202;
    big.participant_line_count = 1;
    char cursor[64] = "x";
    g_assert_cmpint(iface(m, &impl)->query(impl, &big, collect, NULL, cursor, sizeof cursor), ==,
                    UCD_E_INVALID);
    g_assert_cmpstr(cursor, ==, "");
    big.participant_line_count = 0;
    many[7] = NULL;
    g_assert_cmpint(iface(m, &impl)->query(impl, &big, collect, NULL, NULL, 0), ==, UCD_E_INVALID);
    g_free(many);
    /* a journal 1.1 reader's query ends before uuid: the rest is not read */
    q.user_id = NULL;
    q.struct_size = offsetof(ucd_journal_query, uuid);
    found = walk(m, &q, 100);
    g_assert_cmpuint(strlen(found), ==, 10 * 8 + 9);
    g_free(found);
    module_free(m);
}

/* A schema of version 1 (an older ucd's) gets the line index and says 2;
 * its rows stay. */
static void test_schema_1_upgraded(void)
{
    fake_module *m = module_new("old_", NULL);
    store_many(m, "old", 1, 3);
    flush_ok(m);
    module_free(m);
    g_free(client("DELETE FROM old_schema_version"));
    g_free(client("INSERT INTO old_schema_version VALUES (1)"));
    /* first as a crash between the index and the version row leaves it
     * (MariaDB commits DDL at once): the index is there already */
    m = module_new("old_", NULL);
    store_many(m, "old", 4, 1);
    flush_ok(m);
    g_assert_cmpint(count_rows("old_", "schema_version", "WHERE version = 2"), ==, 1);
    module_free(m);
    /* then a schema of version 1 as an older ucd made it, without the index */
    g_free(client(is_postgres() ? "DROP INDEX old_participant_line"
                                : "DROP INDEX old_participant_line ON old_participant"));
    g_free(client("DELETE FROM old_schema_version"));
    g_free(client("INSERT INTO old_schema_version VALUES (1)"));
    m = module_new("old_", NULL);
    store_many(m, "old", 4, 1); /* the same again: stored once */
    flush_ok(m);
    g_assert_cmpint(count_rows("old_", "schema_version", "WHERE version = 2"), ==, 1);
    g_assert_cmpint(count_rows("old_", "conversation", NULL), ==, 4);
    const char *lines[] = {"201"};
    ucd_journal_query q = {
        .struct_size = sizeof(q), .participant_lines = lines, .participant_line_count = 1};
    char *found = walk(m, &q, 3);
    g_assert_cmpstr(found, ==, "old-0004,old-0003,old-0002,old-0001");
    g_free(found);
    module_free(m);
    char *index = client(is_postgres() ? "SELECT count(*) FROM pg_indexes WHERE indexname = "
                                         "'old_participant_line'"
                                       : "SELECT count(*) FROM information_schema.statistics "
                                         "WHERE index_name = 'old_participant_line'");
    g_assert_cmpint(atoi(index), >=, 1);
    g_free(index);
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

static int query_status(fake_module *m);

/* ---- a frozen server (issue 12 item 18) ---- */

/* fake_module_stop in a thread of its own: a stop that hangs on a frozen
 * server fails the test (after a watchdog of 120 s, which only tells a hang
 * from a stop; no time is asserted) instead of hanging it. */
typedef struct stopper {
    fake_module *m;
    GMutex lock;
    GCond cond;
    gboolean done;
} stopper;

static gpointer stop_thread(gpointer data)
{
    stopper *s = data;
    fake_module_stop(s->m);
    g_mutex_lock(&s->lock);
    s->done = TRUE;
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);
    return NULL;
}

static void stop_or_fail(fake_module *m)
{
    stopper s = {.m = m};
    g_mutex_init(&s.lock);
    g_cond_init(&s.cond);
    GThread *thread = g_thread_new("stopper", stop_thread, &s);
    int64_t watchdog = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    g_mutex_lock(&s.lock);
    while (!s.done && g_cond_wait_until(&s.cond, &s.lock, watchdog))
        ;
    gboolean done = s.done;
    g_mutex_unlock(&s.lock);
    if (!done) {
        peer_script("thaw");
        g_error("the module's stop hangs while the database is frozen");
    }
    g_thread_join(thread);
    g_mutex_clear(&s.lock);
    g_cond_clear(&s.cond);
    g_assert_false(fake_module_log_has(m, 0, "LOST"));
    g_assert_false(fake_module_log_has(m, 0, "secret"));
    fake_module_free(m);
}

/* The server's processes stopped (SIGSTOP): connections stay open and
 * nothing answers, so only the plugin's own deadline notices. Records go to
 * the spool, status says failing, a stop ends with everything spooled; after
 * SIGCONT every record is in the database exactly once (the abandoned calls
 * return then, after their module was freed). */
static void test_frozen(void)
{
    const char *const extra[] = {"timeout", "2s", NULL};
    fake_module *m = module_new("frz_", extra);
    store_many(m, "frz", 1, 20);
    flush_ok(m);
    g_assert_cmpint(count_rows("frz_", "conversation", NULL), ==, 20);
    /* The pool now has an open query connection. */
    g_assert_cmpint(query_status(m), ==, UCD_OK);

    peer_script("freeze");
    /* A query on that connection gets no answer: it fails past its deadline
     * and frees the caller (before issue 12 item 10 it waited in the driver
     * for as long as the server was frozen: the test hung here). */
    g_assert_cmpint(query_status(m), ==, UCD_E_UNAVAILABLE);
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "query abandoned"));
    store_many(m, "frz", 21, 30);
    flush_ok(m); /* durable: in the spool, since the database never answers */
    ucd_journal_status s = status_of(m);
    g_assert_false(s.healthy);
    g_assert_cmpuint(s.pending, ==, 30);
    g_assert_true(g_str_has_prefix(s.detail, "spooling: 30 in the spool; database "));
    g_assert_cmpint(fake_module_counter(m, "spool_depth"), ==, 30);
    g_assert_true(fake_module_log_has(m, UCD_LOG_ERROR, "no answer from the database within"));
    peer_script("thaw");
    wait_drained(m);
    g_assert_cmpint(count_rows("frz_", "conversation", NULL), ==, 50);

    /* frozen again, and stopped while a batch waits for the server */
    peer_script("freeze");
    store_many(m, "frz", 51, 30);
    stop_or_fail(m);
    peer_script("thaw");

    m = module_new("frz_", extra); /* replays what the stop spooled */
    wait_drained(m);
    g_assert_cmpint(count_rows("frz_", "conversation", NULL), ==, 80);
    g_assert_cmpint(count_rows("frz_", "participant", NULL), ==, 160);
    module_free(m);
}

/* ---- queries against a frozen server (issue 12 item 10) ---- */

static int query_status(fake_module *m)
{
    void *impl = NULL;
    collected *c = collected_new();
    ucd_journal_query q = {.struct_size = sizeof(q), .limit = 5};
    char cursor[64];
    int rc = iface(m, &impl)->query(impl, &q, collect, c, cursor, sizeof(cursor));
    collected_free(c);
    return rc;
}

/* ---- a child process to kill (issue 12 item 19) ---- */

/* The test program itself in "child" mode (child_main): the module in the
 * fake host, driven by lines on stdin, answering one line each. */
typedef struct child {
    GSubprocess *process;
    GOutputStream *in;
    GDataInputStream *out;
} child;

static child *child_start(const char *prefix, const char *const *extra)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)program);
    g_ptr_array_add(argv, (gpointer)plugin_path);
    g_ptr_array_add(argv, "child");
    g_ptr_array_add(argv, (gpointer)prefix);
    for (const char *const *p = extra; p != NULL && *p != NULL; p++)
        g_ptr_array_add(argv, (gpointer)*p);
    g_ptr_array_add(argv, NULL);
    child *c = g_new0(child, 1);
    GError *error = NULL;
    c->process =
        g_subprocess_newv((const char *const *)argv->pdata,
                          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
    g_assert_no_error(error);
    g_ptr_array_unref(argv);
    c->in = g_subprocess_get_stdin_pipe(c->process);
    c->out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(c->process));
    char *line = g_data_input_stream_read_line(c->out, NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(line, ==, "ready");
    g_free(line);
    return c;
}

/* Sends one command, returns its answer line. */
static char *child_say(child *c, const char *command)
{
    GError *error = NULL;
    char *text = g_strconcat(command, "\n", NULL);
    g_output_stream_write_all(c->in, text, strlen(text), NULL, NULL, &error);
    g_assert_no_error(error);
    g_free(text);
    char *line = g_data_input_stream_read_line(c->out, NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_nonnull(line);
    return line;
}

static void child_kill(child *c)
{
    g_subprocess_send_signal(c->process, SIGKILL);
    g_subprocess_wait(c->process, NULL, NULL);
    g_object_unref(c->out);
    g_object_unref(c->process);
    g_free(c);
}

/* The child: argv PLUGIN child PREFIX [KEY VALUE]...; the connection from
 * UCD_TEST_ODBC, the state directory UCD_TEST_STATE. Commands: "store
 * FIRST COUNT" (answer "stored N", N stored), "flush MS" ("flush RC"),
 * "status" ("status HEALTHY PENDING DETAIL"). */
static int child_main(int argc, char **argv)
{
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "journal-odbc", &handle);
    const char *prefix = argv[3];
    fake_module *m = fake_module_new(descriptor, "journal-odbc");
    fake_module_set_state_dir(m, g_getenv("UCD_TEST_STATE"));
    const char *const pairs[] = {"connection_string",
                                 g_getenv("UCD_TEST_ODBC"),
                                 "password",
                                 "secret",
                                 "table_prefix",
                                 prefix,
                                 NULL};
    fake_module_set_pairs(m, pairs);
    for (int i = 4; i + 1 < argc; i += 2)
        fake_module_set(m, argv[i], argv[i + 1]);
    fake_module_start(m);
    void *impl = NULL;
    const ucd_journal_v1 *j = iface(m, &impl);
    char *uuid_prefix = g_strndup(prefix, strlen(prefix) - 1);
    printf("ready\n");
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        int first = 0, count = 0;
        unsigned ms = 0;
        if (sscanf(line, "store %d %d", &first, &count) == 2) {
            int stored = 0;
            test_record t;
            for (int i = first; i < first + count; i++) {
                make_record(&t, uuid_prefix, i, base_ms() + i);
                stored += j->store(impl, &t.rec) == UCD_OK;
            }
            printf("stored %d\n", stored);
        } else if (sscanf(line, "flush %u", &ms) == 1) {
            printf("flush %d\n", j->flush(impl, ms));
        } else {
            ucd_journal_status s = {.struct_size = sizeof(s)};
            j->status(impl, &s);
            printf("status %d %" G_GUINT64_FORMAT " %s\n", s.healthy, (guint64)s.pending, s.detail);
        }
        fflush(stdout);
    }
    fake_module_stop(m);
    fake_module_free(m);
    g_free(uuid_prefix);
    return 0;
}

/* A psql session holding `table` locked (ACCESS EXCLUSIVE) until
 * unlock(): every insert into it waits meanwhile. */
static GSubprocess *lock_table(const char *table)
{
    GError *error = NULL;
    GSubprocess *p =
        g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                         "psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", NULL);
    g_assert_no_error(error);
    char *sql = g_strdup_printf("BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE; "
                                "SELECT 'locked';\n",
                                table);
    g_output_stream_write_all(g_subprocess_get_stdin_pipe(p), sql, strlen(sql), NULL, NULL, &error);
    g_assert_no_error(error);
    g_free(sql);
    GDataInputStream *out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(p));
    char *line = g_data_input_stream_read_line(out, NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(line, ==, "locked");
    g_free(line);
    g_object_unref(out);
    return p;
}

static void unlock_table(GSubprocess *p)
{
    g_subprocess_force_exit(p); /* its transaction ends with its connection */
    g_subprocess_wait(p, NULL, NULL);
    g_object_unref(p);
}

/* A large spool replays into a table someone holds locked, so the replay's
 * first insert waits; records stored meanwhile must reach the spool at
 * once, not wait in memory for the replay: flush() says they are durable,
 * and after a SIGKILL and a restart every record is in the database. */
static void test_arrivals_during_replay(void)
{
    fake_module *m = module_new("rpl_", NULL);
    store_many(m, "rpl", 1, 1);
    flush_ok(m);
    module_free(m);
    /* a schema version this plugin must not write to: the child spools */
    g_free(client("UPDATE rpl_schema_version SET version = 99"));
    char *dir = g_build_filename(state_dir, "rpl_", NULL);
    g_setenv("UCD_TEST_STATE", dir, TRUE);
    g_free(dir);
    const char *const extra[] = {"timeout",   "60s",   "retry_min", "100ms",
                                 "retry_max", "200ms", NULL};
    child *c = child_start("rpl_", extra);
    char *answer = child_say(c, "store 2 20000");
    g_assert_cmpstr(answer, ==, "stored 20000");
    g_free(answer);
    answer = child_say(c, "flush 60000");
    g_assert_cmpstr(answer, ==, "flush 0");
    g_free(answer);

    GSubprocess *locker = lock_table("rpl_conversation");
    char *current =
        g_strdup_printf("UPDATE rpl_schema_version SET version = %d", JODBC_SCHEMA_VERSION);
    g_free(client(current));
    g_free(current);
    int64_t deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    gboolean replaying = FALSE;
    while (!replaying && g_get_monotonic_time() < deadline) {
        answer = child_say(c, "status");
        replaying = strstr(answer, " replaying spool: ") != NULL;
        g_free(answer);
        if (!replaying)
            g_usleep(50000);
    }
    g_assert_true(replaying);
    answer = child_say(c, "store 30000 300");
    g_assert_cmpstr(answer, ==, "stored 300");
    g_free(answer);
    /* durable although the replay is stuck (before: they waited in memory
     * until the spool was empty, and a SIGKILL lost them) */
    answer = child_say(c, "flush 30000");
    g_assert_cmpstr(answer, ==, "flush 0");
    g_free(answer);
    answer = child_say(c, "status");
    g_assert_true(g_str_has_prefix(answer, "status 0 20300 replaying spool: "));
    g_free(answer);
    child_kill(c);
    unlock_table(locker);

    m = module_new("rpl_", NULL); /* replays the spool the child left */
    wait_drained(m);
    g_assert_cmpint(count_rows("rpl_", "conversation", NULL), ==, 20301);
    g_assert_cmpint(count_rows("rpl_", "conversation", "WHERE uuid LIKE 'rpl-3%'"), >=, 300);
    g_assert_cmpint(count_rows("rpl_", "participant", NULL), ==, 2 * 20301);
    module_free(m);
}

/* ---- batches a driver cannot take (issue 12 item 26) ---- */

/* 500-row VALUES statements of 25 columns: 12,500 parameters, more than
 * psqlODBC takes (jodbc_max_rows); capped, they commit at the first try. */
static void test_values_500(void)
{
    fake_module *m =
        module_new("v500_", (const char *const[]){"insert_method", "values", "batch_size", "500",
                                                  "rows_per_statement", "500", NULL});
    store_many(m, "v500", 1, 1500);
    flush_ok(m);
    wait_drained(m);
    g_assert_cmpint(count_rows("v500_", "conversation", NULL), ==, 1500);
    g_assert_cmpint(count_rows("v500_", "participant", NULL), ==, 3000);
    g_assert_cmpint(fake_module_counter(m, "failed_batches"), ==, 0);
    module_free(m);
}

/* A batch that fails the same way twice is halved, with a warning: MariaDB
 * refuses statements beyond max_allowed_packet (and drops the connection),
 * which no dialect cap knows. */
/* A global setting of MariaDB, as root through the server's socket. */
static void mariadb_set_global(const char *setting)
{
    char *socket = g_strdup_printf("-S%s", harness_peer_get(peer, "MARIADB_SOCKET"));
    char *sql = g_strdup_printf("SET GLOBAL %s", setting);
    const char *argv[] = {"mariadb", "--no-defaults", socket, "-uroot", "-e", sql, NULL};
    int status = 0;
    GError *error = NULL;
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                 &error);
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_free(sql);
    g_free(socket);
}

/* The server's default back, also when the test fails (issue 12 item 15):
 * later tests of the suite must not inherit a 16 KiB packet limit. */
static void restore_packet_size(gpointer unused)
{
    (void)unused;
    mariadb_set_global("max_allowed_packet = 16777216");
}

/* ... and grown back after JODBC_BATCH_REGROW_AFTER successes once the
 * server takes big packets again (issue 12 item 9). `timeout` is generous:
 * under ASan on a loaded machine a write of 200 rows can take longer than
 * the usual 3 s, and a write past its deadline is abandoned, which never
 * counts towards halving (a frozen server is not helped by smaller
 * batches), so the batch would never reach 100 and the test would wait for
 * nothing. What is tested is the size failure, not the deadline. */
static void test_batch_halved(void)
{
    mariadb_set_global("max_allowed_packet = 16384");
    g_test_queue_destroy(restore_packet_size, NULL);
    fake_module *m = module_new(
        "half_", (const char *const[]){"insert_method", "values", "batch_size", "400",
                                       "rows_per_statement", "400", "timeout", "30s", NULL});
    store_many(m, "half", 1, 400);
    flush_ok(m);
    wait_drained(m);
    g_assert_cmpint(count_rows("half_", "conversation", NULL), ==, 400);
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "failed the same way again"));

    restore_packet_size(NULL);
    store_many(m, "half", 401, 4000);
    flush_ok(m);
    wait_drained(m);
    g_assert_cmpint(count_rows("half_", "conversation", NULL), ==, 4400);
    g_assert_true(fake_module_log_has(m, UCD_LOG_NOTICE, "per transaction again"));
    module_free(m);
}

/* ---- records per transaction (issue 12 item 9) ---- */

static void test_batch_limit(void)
{
    const char *lost = "writing: [08S01] server closed the connection";
    const char *big = "writing: [HY000] statement too big";
    jodbc_batch_limit l;
    jodbc_batch_limit_init(&l, 400);
    /* A flapping link: the connection drops twice at the same size, not on
     * the first write after a connect. */
    g_assert_false(jodbc_batch_limit_failed(&l, 400, lost, FALSE, FALSE));
    g_assert_false(jodbc_batch_limit_failed(&l, 400, lost, FALSE, FALSE));
    g_assert_cmpuint(l.limit, ==, 400);
    /* The same connection-class failure right after a connect that worked. */
    g_assert_true(jodbc_batch_limit_failed(&l, 400, lost, TRUE, FALSE));
    g_assert_cmpuint(l.limit, ==, 200);
    /* Past the deadline, not fresh: never the size, nor the first of two. */
    g_assert_false(jodbc_batch_limit_failed(&l, 200, big, FALSE, TRUE));
    g_assert_false(jodbc_batch_limit_failed(&l, 200, big, FALSE, FALSE));
    /* Not connection-class: repeating is enough. */
    g_assert_true(jodbc_batch_limit_failed(&l, 200, big, FALSE, FALSE));
    g_assert_cmpuint(l.limit, ==, 100);
    /* Grows back, one doubling per JODBC_BATCH_REGROW_AFTER successes. */
    for (int i = 1; i < JODBC_BATCH_REGROW_AFTER; i++)
        g_assert_false(jodbc_batch_limit_succeeded(&l));
    g_assert_true(jodbc_batch_limit_succeeded(&l));
    g_assert_cmpuint(l.limit, ==, 200);
    g_assert_false(jodbc_batch_limit_failed(&l, 200, lost, FALSE, FALSE)); /* resets the run */
    for (int i = 1; i < JODBC_BATCH_REGROW_AFTER; i++)
        g_assert_false(jodbc_batch_limit_succeeded(&l));
    g_assert_true(jodbc_batch_limit_succeeded(&l));
    g_assert_cmpuint(l.limit, ==, 400);
    for (int i = 0; i < 3 * JODBC_BATCH_REGROW_AFTER; i++)
        g_assert_false(jodbc_batch_limit_succeeded(&l));
    g_assert_cmpuint(l.limit, ==, 400);
    /* A slow answer on a connection that had written a batch is not a size
     * failure, however often it repeats: the statement or lock wait timed
     * out (ODBC, PostgreSQL, MariaDB's max_statement_time and its lock wait,
     * which MariaDB reports as HY000), or the write was abandoned. */
    const char *slow[] = {
        "writing: [HYT00] Timeout expired",
        "writing: [57014] ERROR: canceling statement due to statement timeout",
        "writing: [70100] Query execution was interrupted (max_statement_time exceeded)",
        "writing: [HY000] [ma-3.1.20][11.8.3-MariaDB]Lock wait timeout exceeded; try restarting "
        "transaction",
        "writing: [55P03] ERROR: canceling statement due to lock timeout",
    };
    const char *gone = "no answer from the database within 4000 ms (timeout + 1000 ms): call "
                       "abandoned, 1 still stuck";
    for (guint i = 0; i < G_N_ELEMENTS(slow); i++)
        for (int k = 0; k < 3; k++)
            g_assert_false(jodbc_batch_limit_failed(&l, 400, slow[i], FALSE, FALSE));
    for (int k = 0; k < 3; k++)
        g_assert_false(jodbc_batch_limit_failed(&l, 400, gone, FALSE, TRUE));
    g_assert_cmpuint(l.limit, ==, 400);
    /* ... and is not the first of two size failures either. */
    g_assert_false(jodbc_batch_limit_failed(&l, 400, slow[0], FALSE, FALSE));
    g_assert_false(jodbc_batch_limit_failed(&l, 400, big, TRUE, FALSE));
    g_assert_true(jodbc_batch_limit_failed(&l, 400, big, TRUE, FALSE));
    g_assert_cmpuint(l.limit, ==, 200);
    for (int i = 0; i < JODBC_BATCH_REGROW_AFTER; i++)
        jodbc_batch_limit_succeeded(&l);
    g_assert_cmpuint(l.limit, ==, 400);
    /* Slow but alive: the connect answered, then the first batch over it got
     * no answer in time, twice at the same size (a driver binding 12,500
     * parameters for longer than the timeout). Replay never drained before:
     * this halves, and so on until a batch fits. An abandoned write and a
     * timed-out answer are the same failure. */
    g_assert_cmpint(jodbc_batch_limit_failed(&l, 400, gone, TRUE, TRUE), ==, JODBC_BATCH_KEPT);
    g_assert_cmpint(jodbc_batch_limit_failed(&l, 400, gone, TRUE, TRUE), ==,
                    JODBC_BATCH_HALVED_SLOW);
    g_assert_cmpuint(l.limit, ==, 200);
    g_assert_cmpint(jodbc_batch_limit_failed(&l, 200, gone, TRUE, TRUE), ==, JODBC_BATCH_KEPT);
    g_assert_cmpint(jodbc_batch_limit_failed(&l, 200, slow[1], TRUE, FALSE), ==,
                    JODBC_BATCH_HALVED_SLOW);
    g_assert_cmpuint(l.limit, ==, 100);
    /* Grows back after successes, as for any halving. */
    for (int i = 0; i < 2 * JODBC_BATCH_REGROW_AFTER; i++)
        jodbc_batch_limit_succeeded(&l);
    g_assert_cmpuint(l.limit, ==, 400);
    /* A frozen server: a write abandoned, then the connect abandoned too,
     * then (thawed for a moment) the next write abandoned: not twice in a
     * row, never halves. */
    for (int k = 0; k < 3; k++) {
        g_assert_false(jodbc_batch_limit_failed(&l, 400, gone, TRUE, TRUE));
        jodbc_batch_limit_connect_unanswered(&l);
    }
    g_assert_cmpuint(l.limit, ==, 400);
    /* A connect that went unanswered does not forget a real size failure. */
    g_assert_false(jodbc_batch_limit_failed(&l, 400, big, TRUE, FALSE));
    jodbc_batch_limit_connect_unanswered(&l);
    g_assert_true(jodbc_batch_limit_failed(&l, 400, big, TRUE, FALSE));
    g_assert_cmpuint(l.limit, ==, 200);
    jodbc_batch_limit_clear(&l);
}

/* ---- a call's end and its caller's memory (issue 12 item 1) ---- */

typedef struct finisher {
    jodbc_call *call;
    gint finished; /* atomic */
} finisher;

static gpointer finish_thread(gpointer data)
{
    finisher *f = data;
    jodbc_db *db = NULL;
    char *error = NULL;
    jodbc_call_finish(f->call, &db, NULL, &error);
    g_assert_null(db);
    g_free(error);
    g_atomic_int_set(&f->finished, 1);
    return NULL;
}

/* The call's thread marks itself done and then rings the caller's cond
 * under the caller's lock. While it cannot ring yet (the test holds that
 * lock), jodbc_call_finish must not return: its caller would free the lock
 * and cond the thread is about to use. The failing version returned at once
 * (seen within the 200 ms pause below; the pause proves nothing when
 * finish is late, so the test cannot fail wrongly on a slow machine). */
static void test_finish_waits_for_ring(void)
{
    GMutex lock;
    GCond cond;
    g_mutex_init(&lock);
    g_cond_init(&cond);
    jodbc_stuck *stuck = jodbc_stuck_new();
    jodbc_notify notify = {&lock, &cond, stuck};
    jodbc_target target = {
        .connection = "Driver={ucd test: no such driver}", .timeout_s = 1, .prefix = "t_"};
    g_mutex_lock(&lock);
    jodbc_call *call = jodbc_call_open(&target, &notify);
    while (!jodbc_call_done(call))
        g_usleep(1000);
    finisher f = {.call = call};
    GThread *thread = g_thread_new("finisher", finish_thread, &f);
    g_usleep(200000);
    g_assert_cmpint(g_atomic_int_get(&f.finished), ==, 0);
    g_mutex_unlock(&lock);
    g_thread_join(thread);
    g_assert_cmpint(g_atomic_int_get(&f.finished), ==, 1);
    g_assert_cmpint(jodbc_stuck_count(stuck), ==, 0);
    jodbc_stuck_unref(stuck);
    g_mutex_clear(&lock);
    g_cond_clear(&cond);
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
    /* psqlODBC: 7498 parameters (found by test: 7499 lose the connection) */
    g_assert_cmpuint(jodbc_max_rows(JODBC_POSTGRESQL, 25), ==, 299);
    g_assert_cmpuint(jodbc_max_rows(JODBC_POSTGRESQL, 9), ==, 833);
    g_assert_cmpuint(jodbc_max_rows(JODBC_POSTGRESQL, 10000), ==, 1);

    char **ddl = jodbc_sql_create_schema(JODBC_MSSQL, "ucd_");
    g_assert_nonnull(strstr(ddl[1], "id BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY"));
    g_assert_nonnull(strstr(ddl[1], "uuid NVARCHAR(64) NOT NULL UNIQUE"));
    g_assert_nonnull(strstr(ddl[1], "memo NVARCHAR(4000)"));
    g_assert_true(
        g_str_has_suffix(ddl[g_strv_length(ddl) - 1], "ucd_schema_version (version) VALUES (2)"));
    g_assert_true(g_strv_contains((const char *const *)ddl,
                                  "CREATE INDEX ucd_participant_line ON ucd_participant "
                                  "(line, start_ms)"));
    g_strfreev(ddl);
    ddl = jodbc_sql_upgrade_schema(JODBC_POSTGRESQL, "ucd_", 1);
    g_assert_cmpuint(g_strv_length(ddl), ==, 2);
    g_assert_cmpstr(ddl[0], ==,
                    "CREATE INDEX IF NOT EXISTS ucd_participant_line ON ucd_participant (line, "
                    "start_ms)");
    g_assert_cmpstr(ddl[1], ==, "INSERT INTO ucd_schema_version (version) VALUES (2)");
    g_strfreev(ddl);
    ddl = jodbc_sql_upgrade_schema(JODBC_MSSQL, "ucd_", 1);
    g_assert_cmpstr(ddl[0], ==,
                    "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = "
                    "'ucd_participant_line') CREATE INDEX ucd_participant_line ON "
                    "ucd_participant (line, start_ms)");
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
    /* journal 1.2: the uuid and the participant filter, each list bounded
     * by the period and the cursor, parameters in the header's order */
    jodbc_filter pf = {
        .from = TRUE, .cursor = TRUE, .limit = 5, .uuid = TRUE, .users = 2, .lines = 1};
    sql = jodbc_sql_select(JODBC_POSTGRESQL, "p_", &pf);
    g_assert_nonnull(strstr(
        sql, " WHERE 1 = 1 AND start_ms >= ? AND uuid = ? AND uuid IN (SELECT "
             "conversation_uuid FROM p_participant WHERE user_id IN (?, ?) AND start_ms >= ? "
             "AND start_ms <= ? UNION ALL SELECT conversation_uuid FROM p_participant WHERE "
             "line IN (?) AND start_ms >= ? AND start_ms <= ?) AND (start_ms < ? OR "));
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
    if (argc >= 4 && strcmp(argv[2], "child") == 0)
        return child_main(argc, argv);
    g_test_init(&argc, &argv, NULL);
    if (argc < 4)
        g_error("usage: %s journal-odbc.so postgres|mariadb|dialect PEERS_DIR", argv[0]);
    kind = argv[2];
    peers_dir = argv[3];
    program = argv[0];
    plugin_path = argv[1];
    if (strcmp(kind, "dialect") == 0) {
        g_test_add_func("/journal-odbc/dialect-texts", test_dialect_texts);
        g_test_add_func("/journal-odbc/batch-limit", test_batch_limit);
        g_test_add_func("/journal-odbc/finish-waits-for-ring", test_finish_waits_for_ring);
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
        g_setenv("UCD_TEST_ODBC", harness_peer_get(peer, "PG_ODBC"), TRUE);
    }
    state_dir = g_dir_make_tmp("journal-odbc-XXXXXX", NULL);
    g_test_add_func("/journal-odbc/round-trip", test_round_trip);
    g_test_add_func("/journal-odbc/idempotent-and-reopen", test_idempotent_and_reopen);
    g_test_add_func("/journal-odbc/newer-schema-refused", test_newer_schema_refused);
    g_test_add_func("/journal-odbc/filters-1-2", test_filters_1_2);
    g_test_add_func("/journal-odbc/schema-1-upgraded", test_schema_1_upgraded);
    g_test_add_func("/journal-odbc/outage", test_outage);
    g_test_add_func("/journal-odbc/bulk", test_bulk);
    g_test_add_func("/journal-odbc/refused-row", test_refused_row);
    g_test_add_func("/journal-odbc/bad-input", test_bad_input);
    g_test_add_func("/journal-odbc/privacy-and-retention", test_privacy_and_retention);
    g_test_add_func("/journal-odbc/config-refused", test_config_refused);
    if (is_postgres()) {
        g_test_add_func("/journal-odbc/frozen", test_frozen);
        g_test_add_func("/journal-odbc/arrivals-during-replay", test_arrivals_during_replay);
        g_test_add_func("/journal-odbc/values-500", test_values_500);
    } else {
        g_test_add_func("/journal-odbc/batch-halved", test_batch_halved);
    }
    int rc = g_test_run();
    harness_peer_stop(peer);
    const char *argv_rm[] = {"rm", "-rf", state_dir, NULL};
    g_spawn_sync(NULL, (char **)argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
    g_free(state_dir);
    return rc;
}
