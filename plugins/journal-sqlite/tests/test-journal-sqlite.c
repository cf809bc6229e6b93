/*
 * test-journal-sqlite.c - runs journal-sqlite.so against a fake host and
 * checks what its README promises: every field survives a round trip (the
 * journal 1.1 enums through their words), paging
 * and filters return the right conversations, private numbers follow the
 * policy, retention deletes old conversations, a version 1 file is migrated
 * into a new file and the old one kept intact, a newer file is refused
 * untouched, and a full or unopenable database keeps records in memory (and a
 * spool across a reload) until writes succeed again, losing nothing.
 *
 * argv[1] is the path of journal-sqlite.so. The plugin runs in the fake host
 * (tests/fake-host). Each test works in a temporary directory, the module's
 * state directory.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "fake-host.h"

/* The module of the running test, and its state directory, which outlives
 * the module when a test restarts it. */
typedef struct test_world {
    fake_module *module;
    char *state_dir;
    const ucd_journal_v1 *iface;
    void *impl;
} test_world;

static test_world world;
static const ucd_plugin_descriptor *descriptor;

static int64_t counter(const char *name)
{
    return fake_module_counter(world.module, name);
}

static gboolean log_has(int level, const char *needle)
{
    return fake_module_log_has(world.module, level, needle);
}

/* A fresh module with a fresh state directory; keeps the directory of the
 * previous one when `keep_dir` (a restart of the same module). */
static void world_reset(gboolean keep_dir)
{
    if (world.module != NULL)
        fake_module_free(world.module);
    if (!keep_dir) {
        g_free(world.state_dir);
        world.state_dir = g_dir_make_tmp("journal-test-XXXXXX", NULL);
        g_assert_nonnull(world.state_dir);
    }
    world.module = fake_module_new(descriptor, "journal-sqlite");
    fake_module_set_state_dir(world.module, world.state_dir);
    world.iface = NULL;
    world.impl = NULL;
}

static void set_config(const char *key, const char *value)
{
    fake_module_set(world.module, key, value);
}

static char *state_file(const char *name)
{
    return g_build_filename(world.state_dir, name, NULL);
}

/* init + start; returns the module state. */
static void *start_journal(void)
{
    fake_module_start(world.module);
    world.iface =
        fake_module_service(world.module, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, &world.impl);
    g_assert_nonnull(world.iface);
    return world.module->state;
}

static void stop_journal(void *state)
{
    g_assert_true(state == world.module->state);
    fake_module_stop(world.module);
}

/* ---- records ---- */

/* The end_cause the core gives a call that ended with `outcome` and was
 * not lost with its link (core/model/calls.c: the cause that decided an
 * unanswered call, NORMAL for an answered one), for the cause of that name. */
static uint32_t core_end_cause(uint32_t outcome)
{
    static const uint32_t causes[] = {
        [UCD_OUTCOME_ANSWERED] = UCD_CAUSE_NORMAL,
        [UCD_OUTCOME_NO_ANSWER] = UCD_CAUSE_NO_ANSWER,
        [UCD_OUTCOME_BUSY] = UCD_CAUSE_BUSY,
        [UCD_OUTCOME_FAILED] = UCD_CAUSE_FAILED,
        [UCD_OUTCOME_VOICEMAIL] = UCD_CAUSE_VOICEMAIL,
        [UCD_OUTCOME_BLOCKED] = UCD_CAUSE_BLOCKED,
    };
    g_assert_cmpuint(outcome, <, G_N_ELEMENTS(causes));
    return causes[outcome];
}

/* A record with every field set, strings derived from `n`. */
typedef struct test_record {
    ucd_journal_record rec;
    ucd_journal_participant parts[3];
    GStringChunk *strings;
} test_record;

static const char *s(test_record *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static const char *s(test_record *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    const char *kept = g_string_chunk_insert(t->strings, text);
    g_free(text);
    return kept;
}

static test_record *make_record(int n, int64_t start_ms)
{
    test_record *t = g_new0(test_record, 1);
    t->strings = g_string_chunk_new(512);
    ucd_journal_record *r = &t->rec;
    r->struct_size = sizeof(*r);
    r->direction = UCD_DIR_INBOUND;
    r->outcome = (uint32_t)(n % 6);
    r->flags = 0;
    r->uuid = s(t, "uuid-%08d-0000-4000-8000-000000000000", n);
    r->driver_instance = "pbx-sim:office";
    r->start_ms = start_ms;
    r->answer_ms = start_ms + 2000;
    r->end_ms = start_ms + 60000;
    r->source_number = s(t, "089%07d", n);
    r->source_e164 = s(t, "+4989%07d", n);
    r->source_name = s(t, "Caller %d", n);
    r->requested_number = s(t, "2%02d", n % 20);
    r->requested_e164 = s(t, "+49301234%03d", 200 + n % 20);
    r->destination_number = s(t, "2%02d", (n + 1) % 20);
    r->destination_e164 = s(t, "+49301234%03d", 200 + (n + 1) % 20);
    r->destination_name = s(t, "User %d", (n + 1) % 20);
    r->transferred_by = s(t, "u%d", n % 20);
    r->forward_reason = "busy";
    r->picked_up_by = NULL;
    r->end_cause = core_end_cause(r->outcome);
    r->end_reason = ucd_call_cause_word(r->end_cause);
    r->forward_reason_code = UCD_FORWARD_REASON_BUSY;
    r->tags = "sales;P-42";
    r->memo = s(t, "memo for call %d, with 'quotes' and ümlauts", n);
    for (int i = 0; i < 3; i++) {
        ucd_journal_participant *p = &t->parts[i];
        p->struct_size = sizeof(*p);
        p->role = i == 0 ? UCD_ROLE_CALLEE : UCD_ROLE_TRANSFER_TARGET;
        p->user_id = s(t, "u%d", (n + i) % 20);
        p->line = s(t, "2%02d", (n + i) % 20);
        p->joined_ms = start_ms + i * 1000;
        p->answered_ms = i == 2 ? 0 : start_ms + 2000 + i;
        p->left_ms = start_ms + 60000 - i;
    }
    t->parts[2].user_id = NULL; /* a line without a user */
    r->participants = t->parts;
    r->participant_count = 3;
    r->participant_size = sizeof(ucd_journal_participant);
    return t;
}

static void free_record(test_record *t)
{
    g_string_chunk_free(t->strings);
    g_free(t);
}

static void store_ok(test_record *t)
{
    g_assert_cmpint(world.iface->store(world.impl, &t->rec), ==, UCD_OK);
}

/* ---- queries ---- */

typedef struct collected {
    GPtrArray *uuids;
    GPtrArray *records; /* deep copies as test_record */
} collected;

static int collect_cb(const ucd_journal_record *r, void *user_data)
{
    collected *c = user_data;
    g_ptr_array_add(c->uuids, g_strdup(r->uuid));
    if (c->records != NULL) {
        test_record *t = g_new0(test_record, 1);
        t->strings = g_string_chunk_new(512);
        t->rec = *r;
#define KEEP(f) t->rec.f = r->f ? g_string_chunk_insert(t->strings, r->f) : NULL
        KEEP(uuid);
        KEEP(driver_instance);
        KEEP(source_number);
        KEEP(source_e164);
        KEEP(source_name);
        KEEP(requested_number);
        KEEP(requested_e164);
        KEEP(destination_number);
        KEEP(destination_e164);
        KEEP(destination_name);
        KEEP(transferred_by);
        KEEP(forward_reason);
        KEEP(picked_up_by);
        KEEP(end_reason);
        KEEP(tags);
        KEEP(memo);
#undef KEEP
        g_assert_cmpuint(r->participant_count, <=, 3);
        for (uint32_t i = 0; i < r->participant_count; i++) {
            t->parts[i] = r->participants[i];
            t->parts[i].user_id =
                r->participants[i].user_id
                    ? g_string_chunk_insert(t->strings, r->participants[i].user_id)
                    : NULL;
            t->parts[i].line = r->participants[i].line
                                   ? g_string_chunk_insert(t->strings, r->participants[i].line)
                                   : NULL;
        }
        t->rec.participants = t->parts;
        g_ptr_array_add(c->records, t);
    }
    return 0;
}

static collected *run_query(const ucd_journal_query *q, char *cursor, size_t cursor_size,
                            gboolean keep_records)
{
    collected *c = g_new0(collected, 1);
    c->uuids = g_ptr_array_new_with_free_func(g_free);
    if (keep_records)
        c->records = g_ptr_array_new_with_free_func((GDestroyNotify)free_record);
    int rc = world.iface->query(world.impl, q, collect_cb, c, cursor, cursor_size);
    g_assert_cmpint(rc, ==, UCD_OK);
    return c;
}

static void free_collected(collected *c)
{
    g_ptr_array_unref(c->uuids);
    if (c->records)
        g_ptr_array_unref(c->records);
    g_free(c);
}

/* Every conversation, all pages; returns how many. */
static guint count_all(void)
{
    ucd_journal_query q = {.struct_size = sizeof(q), .limit = 1000};
    char cursor[64] = "";
    guint total = 0;
    do {
        q.after = cursor[0] ? g_strdup(cursor) : NULL;
        collected *c = run_query(&q, cursor, sizeof(cursor), FALSE);
        total += c->uuids->len;
        free_collected(c);
        g_free((char *)q.after);
    } while (cursor[0] != '\0');
    return total;
}

static guint count_query(const ucd_journal_query *q)
{
    collected *c = run_query(q, NULL, 0, FALSE);
    guint n = c->uuids->len;
    free_collected(c);
    return n;
}

static void assert_integrity(const char *path)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    sqlite3_stmt *st = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    sqlite3_stmt *st = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void remove_tree(const char *dir)
{
    char *argv[] = {"rm", "-rf", (char *)dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

static void finish_world(void)
{
    remove_tree(world.state_dir);
}

/* ---- tests ---- */

static void assert_same_record(const ucd_journal_record *a, const ucd_journal_record *b)
{
    g_assert_cmpuint(a->direction, ==, b->direction);
    g_assert_cmpuint(a->outcome, ==, b->outcome);
    g_assert_cmpuint(a->flags, ==, b->flags);
    g_assert_cmpint(a->start_ms, ==, b->start_ms);
    g_assert_cmpint(a->answer_ms, ==, b->answer_ms);
    g_assert_cmpint(a->end_ms, ==, b->end_ms);
    g_assert_cmpuint(a->struct_size, >=, sizeof(*a));
    g_assert_cmpuint(a->end_cause, ==, b->end_cause);
    g_assert_cmpuint(a->forward_reason_code, ==, b->forward_reason_code);
    const char *const sa[] = {a->uuid,
                              a->driver_instance,
                              a->source_number,
                              a->source_e164,
                              a->source_name,
                              a->requested_number,
                              a->requested_e164,
                              a->destination_number,
                              a->destination_e164,
                              a->destination_name,
                              a->transferred_by,
                              a->forward_reason,
                              a->picked_up_by,
                              a->end_reason,
                              a->tags,
                              a->memo};
    const char *const sb[] = {b->uuid,
                              b->driver_instance,
                              b->source_number,
                              b->source_e164,
                              b->source_name,
                              b->requested_number,
                              b->requested_e164,
                              b->destination_number,
                              b->destination_e164,
                              b->destination_name,
                              b->transferred_by,
                              b->forward_reason,
                              b->picked_up_by,
                              b->end_reason,
                              b->tags,
                              b->memo};
    for (size_t i = 0; i < G_N_ELEMENTS(sa); i++)
        g_assert_cmpstr(sa[i], ==, sb[i]);
    g_assert_cmpuint(a->participant_count, ==, b->participant_count);
    for (uint32_t i = 0; i < a->participant_count; i++) {
        const ucd_journal_participant *pa = &a->participants[i], *pb = &b->participants[i];
        g_assert_cmpuint(pa->role, ==, pb->role);
        g_assert_cmpstr(pa->user_id, ==, pb->user_id);
        g_assert_cmpstr(pa->line, ==, pb->line);
        g_assert_cmpint(pa->joined_ms, ==, pb->joined_ms);
        g_assert_cmpint(pa->answered_ms, ==, pb->answered_ms);
        g_assert_cmpint(pa->left_ms, ==, pb->left_ms);
    }
}

static void test_round_trip(void)
{
    world_reset(FALSE);
    void *state = start_journal();
    test_record *t = make_record(7, 1700000000123);
    t->rec.picked_up_by = "u9";
    t->rec.flags = 0;
    /* Journal 1.1: the enums alone; the table keeps their words and query()
     * gives both back. */
    t->rec.end_cause = UCD_CAUSE_LINK_LOST;
    t->rec.end_reason = NULL;
    t->rec.forward_reason_code = UCD_FORWARD_REASON_BUSY;
    t->rec.forward_reason = NULL;
    store_ok(t);
    store_ok(t); /* stored twice: kept once */
    t->rec.end_reason = "link_lost";
    t->rec.forward_reason = "busy";
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);

    ucd_journal_query q = {.struct_size = sizeof(q)};
    char cursor[64] = "x";
    collected *c = run_query(&q, cursor, sizeof(cursor), TRUE);
    g_assert_cmpuint(c->records->len, ==, 1);
    g_assert_cmpstr(cursor, ==, "");
    assert_same_record(&((test_record *)g_ptr_array_index(c->records, 0))->rec, &t->rec);
    free_collected(c);

    ucd_journal_status st = {.struct_size = sizeof(st)};
    g_assert_cmpint(world.iface->status(world.impl, &st), ==, UCD_OK);
    g_assert_cmpuint(st.healthy, ==, 1);
    g_assert_cmpuint(st.stored, ==, 2); /* both accepted and committed; one row */
    g_assert_cmpuint(st.pending, ==, 0);
    g_assert_cmpint(counter("stored"), ==, 2);
    char *db = state_file("journal.sqlite");
    g_assert_cmpint(sql_int(db, "SELECT count(*) FROM conversation"), ==, 1);
    stop_journal(state);
    assert_integrity(db);
    g_free(db);
    free_record(t);
    finish_world();
}

/* A record of `outcome` ended with `cause`, its end_reason `word` (NULL:
 * the cause's word, as the core writes it). */
static test_record *ended_record(int n, uint32_t outcome, uint32_t cause, const char *word)
{
    test_record *t = make_record(n, 1700000000000 + n * 1000);
    t->rec.outcome = outcome;
    if (outcome != UCD_OUTCOME_ANSWERED) {
        t->rec.answer_ms = 0;
        for (int i = 0; i < 3; i++)
            t->parts[i].answered_ms = 0;
    }
    t->rec.end_cause = cause;
    t->rec.end_reason = word ? word : ucd_call_cause_word(cause);
    return t;
}

/* The table keeps end_reason, the word of end_cause, and the outcome;
 * query() gives back the end_cause and the word the core gave each record:
 * for every outcome, lost with the link or not, and a REJECTED call beside a
 * BUSY one (both outcome BUSY). Rows stored before the core wrote the
 * cause's word say "normal" for every call not lost; they come back with
 * their outcome's cause (jrec_end_cause_of). */
static void test_end_cause_of_each_outcome(void)
{
    world_reset(FALSE);
    void *state = start_journal();
    GPtrArray *stored = g_ptr_array_new_with_free_func((GDestroyNotify)free_record);
    int n = 0;
    for (uint32_t o = UCD_OUTCOME_ANSWERED; o <= UCD_OUTCOME_BLOCKED; o++)
        g_ptr_array_add(stored, ended_record(n++, o, core_end_cause(o), NULL));
    g_ptr_array_add(stored, ended_record(n++, UCD_OUTCOME_NO_ANSWER, UCD_CAUSE_LINK_LOST, NULL));
    g_ptr_array_add(stored, ended_record(n++, UCD_OUTCOME_BUSY, UCD_CAUSE_LINK_LOST, NULL));
    g_ptr_array_add(stored, ended_record(n++, UCD_OUTCOME_BUSY, UCD_CAUSE_REJECTED, NULL));
    g_ptr_array_add(stored, ended_record(n++, UCD_OUTCOME_NO_ANSWER, UCD_CAUSE_PICKED_UP, NULL));
    g_ptr_array_add(stored, ended_record(n++, UCD_OUTCOME_BUSY, UCD_CAUSE_BUSY, "normal"));
    g_ptr_array_add(stored,
                    ended_record(n++, UCD_OUTCOME_NO_ANSWER, UCD_CAUSE_NO_ANSWER, "normal"));
    for (guint k = 0; k < stored->len; k++)
        store_ok(g_ptr_array_index(stored, k));
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    char *db = state_file("journal.sqlite");
    g_assert_cmpint(sql_int(db, "SELECT count(*) FROM conversation WHERE outcome = 2"
                                " AND end_reason = 'rejected'"),
                    ==, 1);
    g_assert_cmpint(sql_int(db, "SELECT count(*) FROM conversation WHERE outcome = 2"
                                " AND end_reason = 'busy'"),
                    ==, 1);
    g_free(db);

    ucd_journal_query q = {.struct_size = sizeof(q), .limit = 100};
    collected *c = run_query(&q, NULL, 0, TRUE);
    g_assert_cmpuint(c->records->len, ==, stored->len);
    guint compared = 0;
    for (guint i = 0; i < c->records->len; i++) {
        const ucd_journal_record *r = &((test_record *)g_ptr_array_index(c->records, i))->rec;
        for (guint k = 0; k < stored->len; k++) {
            const ucd_journal_record *want = &((test_record *)g_ptr_array_index(stored, k))->rec;
            if (strcmp(r->uuid, want->uuid) == 0) {
                g_test_message("%s: %s", r->uuid, want->end_reason);
                assert_same_record(r, want);
                compared++;
            }
        }
    }
    g_assert_cmpuint(compared, ==, stored->len);
    free_collected(c);
    g_ptr_array_unref(stored);
    stop_journal(state);
    finish_world();
}

/* A record read back equals make_record() of its number and start. */
static void assert_as_made(const ucd_journal_record *r)
{
    int n = atoi(r->uuid + strlen("uuid-"));
    test_record *want = make_record(n, r->start_ms);
    assert_same_record(r, &want->rec);
    free_record(want);
}

/* Pages through `q` to the end, checking every record; returns their number. */
static guint count_pages(ucd_journal_query *q)
{
    char cursor[64] = "";
    guint total = 0;
    do {
        char *after = cursor[0] ? g_strdup(cursor) : NULL;
        q->after = after;
        collected *c = run_query(q, cursor, sizeof(cursor), TRUE);
        g_assert_cmpuint(c->records->len, <=, q->limit);
        for (guint i = 0; i < c->records->len; i++) {
            const ucd_journal_record *r = &((test_record *)g_ptr_array_index(c->records, i))->rec;
            g_assert_true(q->to_ms == 0 || r->start_ms < q->to_ms);
            g_assert_cmpint(r->start_ms, >=, q->from_ms);
            assert_as_made(r);
        }
        total += c->records->len;
        free_collected(c);
        g_free(after);
    } while (cursor[0] != '\0');
    q->after = NULL;
    return total;
}

static void test_paging(void)
{
    world_reset(FALSE);
    void *state = start_journal();
    /* 250 conversations, five per start time: the cursor must break the ties. */
    for (int i = 0; i < 250; i++) {
        test_record *t = make_record(i, 1700000000000 + (i / 5) * 1000);
        store_ok(t);
        free_record(t);
    }
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);

    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ucd_journal_query q = {.struct_size = sizeof(q)}; /* default page: 100 */
    char cursor[64] = "";
    guint pages = 0;
    int64_t last_start = INT64_MAX;
    do {
        char *after = cursor[0] ? g_strdup(cursor) : NULL;
        q.after = after;
        collected *c = run_query(&q, cursor, sizeof(cursor), TRUE);
        g_assert_cmpuint(c->records->len, ==, pages < 2 ? 100 : 50);
        for (guint i = 0; i < c->records->len; i++) {
            const ucd_journal_record *r = &((test_record *)g_ptr_array_index(c->records, i))->rec;
            g_assert_cmpint(r->start_ms, <=, last_start); /* newest first */
            last_start = r->start_ms;
            g_assert_true(g_hash_table_add(seen, g_strdup(r->uuid)));
            assert_as_made(r); /* each with its own participants */
        }
        free_collected(c);
        g_free(after);
        pages++;
    } while (cursor[0] != '\0');
    g_assert_cmpuint(pages, ==, 3);
    g_assert_cmpuint(g_hash_table_size(seen), ==, 250);
    g_hash_table_unref(seen);

    /* small pages inside a time window (the cursor and --to together), and a
     * user's conversations (ids far apart: participants read one by one) */
    ucd_journal_query window = {.struct_size = sizeof(window),
                                .from_ms = 1700000000000 + 10 * 1000,
                                .to_ms = 1700000000000 + 40 * 1000,
                                .limit = 7};
    g_assert_cmpuint(count_pages(&window), ==, 150); /* groups 10..39, five each */
    ucd_journal_query user = {.struct_size = sizeof(user), .user_id = "u3", .limit = 9};
    /* u3 is participant 0 when n % 20 == 3 and participant 1 when n % 20 == 2:
     * 13 numbers each below 250 */
    g_assert_cmpuint(count_pages(&user), ==, 26);

    q.after = "garbage";
    g_assert_cmpint(world.iface->query(world.impl, &q, collect_cb, NULL, NULL, 0), ==,
                    UCD_E_INVALID);
    stop_journal(state);
    char *db = state_file("journal.sqlite");
    assert_integrity(db);
    g_free(db);
    finish_world();
}

/* Records n = 0..59, a minute apart, for the filter tests. */
static void *store_sixty(void)
{
    world_reset(FALSE);
    void *state = start_journal();
    for (int i = 0; i < 60; i++) {
        test_record *t = make_record(i, 1700000000000 + i * 60000);
        store_ok(t);
        free_record(t);
    }
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    return state;
}

static void finish_filters(void *state)
{
    stop_journal(state);
    char *db = state_file("journal.sqlite");
    assert_integrity(db);
    g_free(db);
    finish_world();
}

static void test_filters(void)
{
    void *state = store_sixty();
    ucd_journal_query q = {.struct_size = sizeof(q), .limit = 1000};
    g_assert_cmpuint(count_query(&q), ==, 60);

    /* user: u5 is participant of calls n with n%20 in {5, 4} (seq 0, 1; seq 2 has no user) */
    q.user_id = "u5";
    g_assert_cmpuint(count_query(&q), ==, 6);
    q.user_id = "nobody";
    g_assert_cmpuint(count_query(&q), ==, 0);
    q.user_id = NULL;

    /* number, raw or E.164, source or destination side */
    q.number = "0890000017";
    g_assert_cmpuint(count_query(&q), ==, 1);
    q.number = "+49890000017";
    g_assert_cmpuint(count_query(&q), ==, 1);
    q.number = "+49301234205"; /* destination of n%20 == 4, requested of n%20 == 5 */
    g_assert_cmpuint(count_query(&q), ==, 6);
    q.number = "205"; /* raw requested of n%20 == 5, raw destination of n%20 == 4 */
    g_assert_cmpuint(count_query(&q), ==, 6);
    q.number = "+4989000001"; /* a prefix is not a number */
    g_assert_cmpuint(count_query(&q), ==, 0);
    q.number = NULL;

    /* time range: [from, to) */
    q.from_ms = 1700000000000 + 10 * 60000;
    q.to_ms = 1700000000000 + 20 * 60000;
    g_assert_cmpuint(count_query(&q), ==, 10);
    /* outcome: n % 6 */
    q.outcome_mask = (1u << UCD_OUTCOME_BUSY) | (1u << UCD_OUTCOME_BLOCKED);
    collected *c = run_query(&q, NULL, 0, TRUE);
    g_assert_cmpuint(c->records->len, ==, 3); /* n = 11, 14, 17 */
    for (guint i = 0; i < c->records->len; i++) {
        uint32_t o = ((test_record *)g_ptr_array_index(c->records, i))->rec.outcome;
        g_assert_true(o == UCD_OUTCOME_BUSY || o == UCD_OUTCOME_BLOCKED);
    }
    free_collected(c);
    /* all filters together */
    q.user_id = "u12"; /* n%20 in {12, 11}: n = 11, 12 in range; outcome filter keeps 11 */
    g_assert_cmpuint(count_query(&q), ==, 1);
    finish_filters(state);
}

/* Queries keep their read connection (jsql_reader): the next query must
 * still see what was committed since, and a file made again at the same
 * path, not the one the connection opened. */
static void test_kept_reader_sees_commits(void)
{
    world_reset(FALSE);
    void *state = start_journal();
    ucd_journal_query q = {.struct_size = sizeof(q), .limit = 1000};
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < 5; i++) {
            test_record *t = make_record(round * 10 + i, 1700000000000 + round * 60000 + i);
            store_ok(t);
            free_record(t);
        }
        g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
        g_assert_cmpuint(count_query(&q), ==, (guint)round * 5);
    }
    /* the file deleted under the running plugin: the kept connection must
     * not answer from the deleted file (a new connection at the path finds
     * no file, or the one the writer made again) */
    char *db = state_file("journal.sqlite");
    for (const char *const *suffix = (const char *const[]){"", "-wal", "-shm", NULL}; *suffix;
         suffix++) {
        char *name = g_strconcat(db, *suffix, NULL);
        g_unlink(name);
        g_free(name);
    }
    test_record *t = make_record(99, 1700000999000);
    store_ok(t);
    free_record(t);
    world.iface->flush(world.impl, 30000);
    collected c = {g_ptr_array_new_with_free_func(g_free), NULL};
    int rc = world.iface->query(world.impl, &q, collect_cb, &c, NULL, 0);
    g_test_message("after the delete: %d, %u conversations", rc, c.uuids->len);
    g_assert_true(rc == UCD_E_UNAVAILABLE || (rc == UCD_OK && c.uuids->len <= 1));
    g_ptr_array_unref(c.uuids);
    g_free(db);
    stop_journal(state);
    finish_world();
}

static void test_uuid_filter(void)
{
    void *state = store_sixty();
    ucd_journal_query q = {.struct_size = sizeof(q), .limit = 1000};
    q.uuid = "uuid-00000017-0000-4000-8000-000000000000";
    collected *c = run_query(&q, NULL, 0, TRUE);
    g_assert_cmpuint(c->records->len, ==, 1);
    assert_as_made(&((test_record *)g_ptr_array_index(c->records, 0))->rec);
    g_assert_cmpstr(g_ptr_array_index(c->uuids, 0), ==, q.uuid);
    free_collected(c);
    /* with other filters: all must hold */
    q.user_id = "u17";
    g_assert_cmpuint(count_query(&q), ==, 1);
    q.user_id = "u3";
    g_assert_cmpuint(count_query(&q), ==, 0);
    q.user_id = NULL;
    q.uuid = "uuid-00000017"; /* a prefix is not the uuid */
    g_assert_cmpuint(count_query(&q), ==, 0);
    q.uuid = "uuid-00000099-0000-4000-8000-000000000000";
    g_assert_cmpuint(count_query(&q), ==, 0);
    /* a journal 1.1 reader's query ends before uuid: not read, whatever lies there */
    q.uuid = "uuid-00000017-0000-4000-8000-000000000000";
    q.struct_size = offsetof(ucd_journal_query, uuid);
    g_assert_cmpuint(count_query(&q), ==, 60);
    finish_filters(state);
}

/* Pages through `q` in pages of `limit`, checking that every page but the
 * last is full; returns the uuids seen (each once). */
static GHashTable *walk_pages(ucd_journal_query *q, uint32_t limit)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char cursor[64] = "";
    q->limit = limit;
    do {
        char *after = cursor[0] ? g_strdup(cursor) : NULL;
        q->after = after;
        collected *c = run_query(q, cursor, sizeof(cursor), FALSE);
        if (cursor[0] != '\0')
            g_assert_cmpuint(c->uuids->len, ==, limit);
        for (guint i = 0; i < c->uuids->len; i++)
            g_assert_true(g_hash_table_add(seen, g_strdup(g_ptr_array_index(c->uuids, i))));
        free_collected(c);
        g_free(after);
    } while (cursor[0] != '\0');
    q->after = NULL;
    return seen;
}

/* The uuids of make_record(n) for n < 60 with n % 20 in `residues`. */
static void assert_residues(GHashTable *seen, const int *residues, guint count)
{
    guint want = 0;
    for (int n = 0; n < 60; n++) {
        for (guint i = 0; i < count; i++) {
            if (n % 20 == residues[i]) {
                char *uuid = g_strdup_printf("uuid-%08d-0000-4000-8000-000000000000", n);
                g_assert_true(g_hash_table_contains(seen, uuid));
                g_free(uuid);
                want++;
            }
        }
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, want);
    g_hash_table_unref(seen);
}

static void test_participant_filter(void)
{
    void *state = store_sixty();
    /* make_record(n): users u(n%20) and u(n+1 %20), lines 2(n%20), 2(n+1 %20)
     * and 2(n+2 %20), the last without a user */
    const char *users[] = {"u5", "u4"};
    ucd_journal_query q = {
        .struct_size = sizeof(q), .participant_users = users, .participant_user_count = 2};
    /* u5: n%20 in {5, 4}; u4: {4, 3}; a conversation of both comes once */
    const int both[] = {3, 4, 5};
    assert_residues(walk_pages(&q, 4), both, 3);
    /* a line of a participant without a user counts too: 207 in {7, 6, 5} */
    const char *lines[] = {"207"};
    ucd_journal_query l = {
        .struct_size = sizeof(l), .participant_lines = lines, .participant_line_count = 1};
    const int of_207[] = {5, 6, 7};
    assert_residues(walk_pages(&l, 2), of_207, 3);
    /* users or lines: u9 {9, 8}, 212 {12, 11, 10} */
    const char *u9[] = {"u9", "nobody"}, *l212[] = {"212"};
    ucd_journal_query ul = {.struct_size = sizeof(ul),
                            .participant_users = u9,
                            .participant_user_count = 2,
                            .participant_lines = l212,
                            .participant_line_count = 1};
    const int either[] = {8, 9, 10, 11, 12};
    assert_residues(walk_pages(&ul, 7), either, 5);
    /* with a time range and the user filter: n in [20, 40), u9's of those */
    ul.from_ms = 1700000000000 + 20 * 60000;
    ul.to_ms = 1700000000000 + 40 * 60000;
    ul.user_id = "u9";
    ul.limit = 1000;
    g_assert_cmpuint(count_query(&ul), ==, 2); /* n = 28, 29 */

    /* at most UCD_JOURNAL_MAX_PARTICIPANT_FILTER names, none NULL */
    const char **many = g_new0(const char *, UCD_JOURNAL_MAX_PARTICIPANT_FILTER + 1);
    for (guint i = 0; i <= UCD_JOURNAL_MAX_PARTICIPANT_FILTER; i++)
        many[i] = "u5";
    ucd_journal_query big = {.struct_size = sizeof(big),
                             .participant_users = many,
                             .participant_user_count = UCD_JOURNAL_MAX_PARTICIPANT_FILTER - 1,
                             .participant_lines = lines,
                             .participant_line_count = 1,
                             .limit = 1000};
    g_assert_cmpuint(count_query(&big), ==, 4 * 3); /* u5 {4, 5} or 207 {5, 6, 7} */
    big.participant_user_count++;
    g_assert_cmpint(world.iface->query(world.impl, &big, collect_cb, NULL, NULL, 0), ==,
                    UCD_E_INVALID);
    many[3] = NULL;
    big.participant_user_count = 10;
    g_assert_cmpint(world.iface->query(world.impl, &big, collect_cb, NULL, NULL, 0), ==,
                    UCD_E_INVALID);
    big.participant_users = NULL;
    g_assert_cmpint(world.iface->query(world.impl, &big, collect_cb, NULL, NULL, 0), ==,
                    UCD_E_INVALID);
    g_free(many);
    finish_filters(state);
}

/* Stores one private inbound and one private outbound call under `policy`
 * and returns them as stored (inbound first). */
static collected *store_private(const char *policy)
{
    world_reset(FALSE);
    set_config("private_numbers", policy);
    void *state = start_journal();
    test_record *in = make_record(1, 1700000000000);
    in->rec.flags = UCD_JOURNAL_FLAG_PRIVATE;
    test_record *out = make_record(2, 1700000001000);
    out->rec.flags = UCD_JOURNAL_FLAG_PRIVATE;
    out->rec.direction = UCD_DIR_OUTBOUND;
    store_ok(in);
    store_ok(out);
    free_record(in);
    free_record(out);
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    ucd_journal_query q = {.struct_size = sizeof(q)};
    collected *c = run_query(&q, NULL, 0, TRUE);
    g_assert_cmpuint(c->records->len, ==, 2);
    /* The private number is not findable unless kept. */
    q.number = "+49890000001";
    g_assert_cmpuint(count_query(&q), ==, strcmp(policy, "keep") == 0 ? 1 : 0);
    stop_journal(state);
    finish_world();
    return c;
}

static const ucd_journal_record *nth(collected *c, guint i)
{
    /* newest first: index 0 is the outbound call */
    return &((test_record *)g_ptr_array_index(c->records, i))->rec;
}

static void test_private_numbers(void)
{
    collected *c = store_private("mask"); /* the default, set explicitly here */
    const ucd_journal_record *out = nth(c, 0), *in = nth(c, 1);
    g_assert_cmpstr(in->source_number, ==, "089000xxxx");
    g_assert_cmpstr(in->source_e164, ==, "+4989000xxxx");
    g_assert_null(in->source_name);
    g_assert_cmpstr(in->destination_number, ==, "202"); /* our side untouched */
    g_assert_cmpstr(out->destination_number, ==, "xxx");
    g_assert_cmpstr(out->destination_e164, ==, "+4930123xxxx");
    g_assert_null(out->destination_name);
    g_assert_cmpstr(out->source_number, ==, "0890000002");
    g_assert_cmpuint(in->flags & UCD_JOURNAL_FLAG_PRIVATE, !=, 0);
    free_collected(c);

    c = store_private("drop");
    out = nth(c, 0);
    in = nth(c, 1);
    g_assert_null(in->source_number);
    g_assert_null(in->source_e164);
    g_assert_null(in->source_name);
    g_assert_null(out->destination_number);
    g_assert_null(out->requested_e164);
    g_assert_cmpstr(out->source_e164, ==, "+49890000002");
    free_collected(c);

    c = store_private("keep");
    in = nth(c, 1);
    g_assert_cmpstr(in->source_number, ==, "0890000001");
    g_assert_cmpstr(in->source_name, ==, "Caller 1");
    free_collected(c);

    world_reset(FALSE);
    set_config("private_numbers", "hide");
    g_assert_cmpint(fake_module_init(world.module), ==, UCD_FAIL);
    g_assert_cmpstr(world.module->config_error_key, ==, "private_numbers");
    finish_world();
}

static void test_retention(void)
{
    world_reset(FALSE);
    void *state = start_journal(); /* retention_days 0: keeps everything */
    int64_t now = g_get_real_time() / 1000;
    for (int i = 0; i < 1200; i++) { /* more than one retention batch */
        test_record *t = make_record(i, now - (int64_t)400 * 86400000 + i);
        store_ok(t);
        free_record(t);
    }
    for (int i = 0; i < 10; i++) {
        test_record *t = make_record(5000 + i, now - (int64_t)5 * 86400000 + i);
        store_ok(t);
        free_record(t);
    }
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    g_assert_cmpuint(count_all(), ==, 1210);
    stop_journal(state);

    world_reset(TRUE);
    set_config("retention_days", "30");
    state = start_journal();
    /* Retention runs in the background at start; wait (bounded) for it. */
    guint left = 0;
    for (int tries = 0; tries < 600 && (left = count_all()) != 10; tries++)
        g_usleep(50000);
    g_assert_cmpuint(left, ==, 10);
    char *db = state_file("journal.sqlite");
    g_assert_cmpint(sql_int(db, "SELECT count(*) FROM participant"), ==, 30);
    g_assert_cmpint(sql_int(db, "SELECT count(DISTINCT conversation_id) FROM"
                                " (SELECT conversation_id FROM conversation_number"
                                " UNION ALL SELECT conversation_id FROM number_recent)"),
                    ==, 10);
    g_assert_cmpint(sql_int(db, "SELECT count(*) FROM conversation_number"
                                " WHERE conversation_id NOT IN (SELECT id FROM conversation)"),
                    ==, 0);
    stop_journal(state);
    assert_integrity(db);
    g_free(db);
    finish_world();
}

/* The version 1 layout, as the preview wrote it. */
static void fabricate_v1(const char *path, int rows)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db,
                                 "CREATE TABLE schema_version(version INTEGER NOT NULL);"
                                 "INSERT INTO schema_version VALUES(1);"
                                 "CREATE TABLE calls(uuid TEXT PRIMARY KEY, driver_instance TEXT,"
                                 " start_ms INTEGER, answer_ms INTEGER, end_ms INTEGER,"
                                 " direction INTEGER, outcome INTEGER, source_number TEXT,"
                                 " destination_number TEXT, user_id TEXT, line TEXT);",
                                 NULL, NULL, NULL),
                    ==, SQLITE_OK);
    for (int i = 0; i < rows; i++) {
        char *sql = sqlite3_mprintf(
            "INSERT INTO calls VALUES('old-%d', 'pbx-sim', %lld, %lld, %lld, %d, %d,"
            " '08912345%02d', '2%02d', 'u%d', '2%02d')",
            i, 1600000000000LL + i * 1000, i % 2 ? 0LL : 1600000000000LL + i * 1000 + 500,
            1600000000000LL + i * 1000 + 900, 1 + i % 3, i % 2, i, i, i, i);
        g_assert_cmpint(sqlite3_exec(db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
        sqlite3_free(sql);
    }
    sqlite3_close(db);
}

/* Starts the journal (which opens, and migrates, its file on the first
 * write) and stores one new conversation, flushed. */
static void *start_and_store_one(void)
{
    void *state = start_journal();
    test_record *t = make_record(99, 1700000000000);
    store_ok(t);
    free_record(t);
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    return state;
}

static void test_migration_from_v1(void)
{
    world_reset(FALSE);
    char *db = state_file("journal.sqlite");
    char *backup = state_file("journal.sqlite.v1-backup");
    fabricate_v1(db, 30);
    gchar *before = NULL;
    gsize before_size = 0;
    g_assert_true(g_file_get_contents(db, &before, &before_size, NULL));

    void *state = start_and_store_one();
    g_assert_cmpuint(count_all(), ==, 31);

    /* The migrated rows: one conversation, one participant, numbers searchable. */
    ucd_journal_query q = {.struct_size = sizeof(q), .number = "0891234507"};
    collected *c = run_query(&q, NULL, 0, TRUE);
    g_assert_cmpuint(c->records->len, ==, 1);
    const ucd_journal_record *r = &((test_record *)g_ptr_array_index(c->records, 0))->rec;
    g_assert_cmpstr(r->uuid, ==, "old-7");
    g_assert_cmpstr(r->destination_number, ==, "207");
    g_assert_cmpint(r->start_ms, ==, 1600000007000);
    g_assert_cmpuint(r->direction, ==, 2);
    g_assert_cmpuint(r->participant_count, ==, 1);
    g_assert_cmpstr(r->participants[0].user_id, ==, "u7");
    g_assert_cmpuint(r->participants[0].role, ==, UCD_ROLE_CALLER);
    free_collected(c);
    q.number = NULL;
    q.user_id = "u8";
    g_assert_cmpuint(count_query(&q), ==, 1);
    stop_journal(state);

    /* The old file, moved aside, is byte for byte what it was. */
    gchar *after = NULL;
    gsize after_size = 0;
    g_assert_true(g_file_get_contents(backup, &after, &after_size, NULL));
    g_assert_cmpmem(before, before_size, after, after_size);
    g_assert_cmpint(sql_int(backup, "SELECT version FROM schema_version"), ==, 1);
    g_assert_cmpint(sql_int(backup, "SELECT count(*) FROM calls"), ==, 30);
    assert_integrity(backup);
    assert_integrity(db);
    g_assert_cmpint(sql_int(db, "SELECT max(version) FROM schema_version"), ==, 2);
    g_assert_true(log_has(UCD_LOG_INFO, "schema version 2"));
    /* The log says that the migration ran, and where the old file is. */
    char *said = g_strdup_printf("migrated %s from schema version 1 to 2 (30 conversations); "
                                 "the old file is kept as %s",
                                 db, backup);
    g_assert_true(log_has(UCD_LOG_NOTICE, said));
    g_free(said);

    /* A second start does not migrate again. */
    world_reset(TRUE);
    state = start_journal();
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    g_assert_cmpuint(count_all(), ==, 31);
    stop_journal(state);
    g_free(before);
    g_free(after);
    g_free(db);
    g_free(backup);
    finish_world();
}

static gboolean exists(const char *base, const char *suffix)
{
    char *name = g_strconcat(base, suffix, NULL);
    gboolean found = g_file_test(name, G_FILE_TEST_EXISTS);
    g_free(name);
    return found;
}

/* A path with '#' and '?' (an SQLite URI would cut it there) migrates, and
 * nothing named after a part of it appears. */
static void test_migration_odd_path(void)
{
    world_reset(FALSE);
    char *db = state_file("cal#1?x=2.sqlite");
    char *backup = g_strconcat(db, ".v1-backup", NULL);
    fabricate_v1(db, 5);
    set_config("database", db);
    void *state = start_and_store_one();
    g_assert_cmpuint(count_all(), ==, 6);
    stop_journal(state);
    g_assert_cmpint(sql_int(backup, "SELECT count(*) FROM calls"), ==, 5);
    g_assert_cmpint(sql_int(db, "SELECT max(version) FROM schema_version"), ==, 2);
    char *stray = state_file("cal");
    g_assert_false(g_file_test(stray, G_FILE_TEST_EXISTS));
    g_assert_false(exists(backup, "-wal"));
    g_assert_false(exists(backup, "-shm"));
    g_assert_true(log_has(UCD_LOG_NOTICE, "the old file is kept as"));
    g_free(stray);
    g_free(backup);
    g_free(db);
    finish_world();
}

static void copy_file(const char *from, const char *to)
{
    gchar *bytes = NULL;
    gsize size = 0;
    g_assert_true(g_file_get_contents(from, &bytes, &size, NULL));
    g_assert_true(g_file_set_contents(to, bytes, (gssize)size, NULL));
    g_free(bytes);
}

/* An old (pre-WAL) file whose writer died mid-transaction: the file holds
 * half of the write, its hot -journal the pages to put back. The migration
 * reads the last committed state (30 calls), not the torn file (whose calls
 * were deleted and refilled with others when the writer died). */
static void test_migration_hot_journal(void)
{
    world_reset(FALSE);
    char *live = state_file("live.sqlite");
    char *db = state_file("journal.sqlite");
    char *backup = state_file("journal.sqlite.v1-backup");
    fabricate_v1(live, 30);

    /* A small page cache spills the transaction into the file before its
     * end; a copy taken then is what a crash leaves. */
    sqlite3 *writer = NULL;
    g_assert_cmpint(sqlite3_open(live, &writer), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(writer,
                                 "PRAGMA cache_size=2; BEGIN; DELETE FROM calls;"
                                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                 "WHERE i < 300) INSERT INTO calls(uuid, line) "
                                 "SELECT 'torn-' || i, hex(randomblob(500)) FROM n",
                                 NULL, NULL, NULL),
                    ==, SQLITE_OK);
    char *live_journal = g_strconcat(live, "-journal", NULL);
    char *db_journal = g_strconcat(db, "-journal", NULL);
    copy_file(live, db);
    copy_file(live_journal, db_journal);
    g_assert_cmpint(sqlite3_exec(writer, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close(writer);

    void *state = start_and_store_one();
    g_assert_cmpuint(count_all(), ==, 31);
    stop_journal(state);
    g_assert_cmpint(sql_int(backup, "SELECT count(*) FROM calls WHERE uuid LIKE 'old-%'"), ==, 30);
    g_assert_cmpint(sql_int(backup, "SELECT count(*) FROM calls"), ==, 30);
    assert_integrity(backup);
    assert_integrity(db);
    g_assert_false(g_file_test(db_journal, G_FILE_TEST_EXISTS));
    g_free(live_journal);
    g_free(db_journal);
    g_free(backup);
    g_free(db);
    g_free(live);
    finish_world();
}

/* A crash after the old file was moved aside: the next start moves the
 * complete .migrating into place, says so, and leaves no side files of it. */
static void test_interrupted_migration_finished(void)
{
    world_reset(FALSE);
    char *db = state_file("journal.sqlite");
    char *target = state_file("journal.sqlite.migrating");
    char *backup = state_file("journal.sqlite.v1-backup");
    fabricate_v1(db, 10);
    void *state = start_journal();
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    stop_journal(state);
    g_assert_cmpint(g_rename(db, target), ==, 0); /* where the crash left it */

    world_reset(TRUE);
    state = start_journal();
    test_record *t = make_record(99, 1700000000000); /* a commit: the writer has opened it */
    store_ok(t);
    free_record(t);
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    g_assert_cmpuint(count_all(), ==, 11);
    stop_journal(state);
    char *said = g_strdup_printf("finished a migration a crash interrupted: moved %s to %s; the "
                                 "old file is kept as %s",
                                 target, db, backup);
    g_assert_true(log_has(UCD_LOG_NOTICE, said));
    g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
    g_assert_false(exists(target, "-wal"));
    g_assert_false(exists(target, "-shm"));
    assert_integrity(db);
    g_free(said);
    g_free(backup);
    g_free(target);
    g_free(db);
    finish_world();
}

static void test_newer_version_refused(void)
{
    world_reset(FALSE);
    char *db = state_file("journal.sqlite");
    sqlite3 *sql = NULL;
    g_assert_cmpint(sqlite3_open(db, &sql), ==, SQLITE_OK);
    /* A newer ucd writes in WAL mode, as this one does. */
    g_assert_cmpint(sqlite3_exec(sql,
                                 "PRAGMA journal_mode=WAL;"
                                 "CREATE TABLE schema_version(version INTEGER NOT NULL);"
                                 "INSERT INTO schema_version VALUES(3);"
                                 "CREATE TABLE future(x);",
                                 NULL, NULL, NULL),
                    ==, SQLITE_OK);
    sqlite3_close(sql);
    gchar *before = NULL, *after = NULL;
    gsize before_size = 0, after_size = 0;
    g_assert_true(g_file_get_contents(db, &before, &before_size, NULL));

    g_assert_cmpint(fake_module_init(world.module), ==, UCD_FAIL);
    g_assert_nonnull(world.module->last_error);
    g_assert_nonnull(strstr(world.module->last_error, "schema version 3"));
    g_assert_nonnull(strstr(world.module->last_error, "refusing"));
    g_assert_true(g_file_get_contents(db, &after, &after_size, NULL));
    g_assert_cmpmem(before, before_size, after, after_size);
    /* Not touched means nothing made beside it either. */
    g_assert_false(exists(db, "-wal"));
    g_assert_false(exists(db, "-shm"));
    g_free(before);
    g_free(after);
    g_free(db);
    finish_world();
}

static void test_disk_full_then_recovery(void)
{
    world_reset(FALSE);
    set_config("max_size_mb", "1");
    set_config("commit_interval", "20ms");
    void *state = start_journal();
    /* ~3 MB of memos: cannot fit in 1 MiB. */
    char *memo = g_strnfill(3000, 'm');
    const int total = 1000;
    for (int i = 0; i < total; i++) {
        test_record *t = make_record(i, 1700000000000 + i);
        t->rec.memo = memo;
        store_ok(t);
        free_record(t);
    }
    g_assert_cmpint(world.iface->flush(world.impl, 2000), ==, UCD_E_UNAVAILABLE);
    ucd_journal_status st = {.struct_size = sizeof(st)};
    g_assert_cmpint(world.iface->status(world.impl, &st), ==, UCD_OK);
    g_assert_cmpuint(st.healthy, ==, 0);
    g_assert_cmpuint(st.pending, >, 0);
    g_assert_cmpuint(st.stored + st.pending, ==, total);
    g_assert_nonnull(strstr(st.detail, "full"));
    g_assert_cmpint(counter("failed_writes"), >, 0);
    g_assert_true(log_has(UCD_LOG_ERROR, "is failing"));
    /* Stopping while full spools what is waiting. */
    stop_journal(state);
    char *spool = state_file("journal.spool");
    g_assert_true(g_file_test(spool, G_FILE_TEST_EXISTS));
    g_assert_true(log_has(UCD_LOG_ERROR, "journal.spool"));
    char *db = state_file("journal.sqlite");
    assert_integrity(db);

    /* The reload an admin does after raising the cap. */
    world_reset(TRUE);
    set_config("max_size_mb", "64");
    state = start_journal();
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    g_assert_cmpuint(count_all(), ==, total);
    g_assert_false(g_file_test(spool, G_FILE_TEST_EXISTS));
    g_assert_cmpint(world.iface->status(world.impl, &st), ==, UCD_OK);
    g_assert_cmpuint(st.healthy, ==, 1);
    stop_journal(state);
    assert_integrity(db);
    g_free(memo);
    g_free(spool);
    g_free(db);
    finish_world();
}

static void test_unopenable_path_then_recovery(void)
{
    world_reset(FALSE);
    char *dir = state_file("not-yet");
    char *db = g_build_filename(dir, "journal.sqlite", NULL);
    set_config("database", db);
    set_config("max_pending", "20");
    void *state = start_journal(); /* start-up succeeds */
    for (int i = 0; i < 20; i++) {
        test_record *t = make_record(i, 1700000000000 + i);
        store_ok(t);
        free_record(t);
    }
    /* The bound: the 21st is refused, counted and named in the log. */
    test_record *extra = make_record(77, 1700000000077);
    g_assert_cmpint(world.iface->store(world.impl, &extra->rec), ==, UCD_E_BUSY);
    g_assert_cmpint(counter("rejected"), ==, 1);
    g_assert_true(log_has(UCD_LOG_ERROR, extra->rec.uuid));

    g_assert_cmpint(world.iface->flush(world.impl, 300), ==, UCD_E_UNAVAILABLE);
    ucd_journal_status st = {.struct_size = sizeof(st)};
    g_assert_cmpint(world.iface->status(world.impl, &st), ==, UCD_OK);
    g_assert_cmpuint(st.healthy, ==, 0);
    g_assert_cmpuint(st.pending, ==, 20);
    g_assert_cmpint(st.oldest_pending_ms, ==, 1700000000000);
    ucd_journal_query q = {.struct_size = sizeof(q)};
    g_assert_cmpint(world.iface->query(world.impl, &q, collect_cb, NULL, NULL, 0), ==,
                    UCD_E_UNAVAILABLE);

    g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    g_assert_cmpuint(count_all(), ==, 20);
    g_assert_cmpint(world.iface->store(world.impl, &extra->rec), ==, UCD_OK);
    g_assert_cmpint(world.iface->flush(world.impl, 30000), ==, UCD_OK);
    g_assert_cmpuint(count_all(), ==, 21);
    g_assert_true(log_has(UCD_LOG_NOTICE, "writes again"));
    stop_journal(state);
    assert_integrity(db);
    free_record(extra);
    g_free(db);
    g_free(dir);
    finish_world();
}

/* A path under /proc can never be created, even by root. */
static void test_proc_path_waits(void)
{
    world_reset(FALSE);
    set_config("database", "/proc/ucd-journal-test/journal.sqlite");
    void *state = start_journal();
    test_record *t = make_record(1, 1700000000000);
    store_ok(t);
    free_record(t);
    g_assert_cmpint(world.iface->flush(world.impl, 300), ==, UCD_E_UNAVAILABLE);
    ucd_journal_status st = {.struct_size = sizeof(st)};
    g_assert_cmpint(world.iface->status(world.impl, &st), ==, UCD_OK);
    g_assert_cmpuint(st.pending, ==, 1);
    g_assert_cmpuint(st.healthy, ==, 0);
    stop_journal(state);
    /* Spooled for the next start. */
    char *spool = state_file("journal.spool");
    g_assert_true(g_file_test(spool, G_FILE_TEST_EXISTS));
    g_free(spool);
    finish_world();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2) {
        g_printerr("usage: %s PATH/journal-sqlite.so\n", argv[0]);
        return 2;
    }
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "journal-sqlite", &handle);

    g_test_add_func("/journal-sqlite/round-trip", test_round_trip);
    g_test_add_func("/journal-sqlite/end-cause-of-each-outcome", test_end_cause_of_each_outcome);
    g_test_add_func("/journal-sqlite/paging", test_paging);
    g_test_add_func("/journal-sqlite/filters", test_filters);
    g_test_add_func("/journal-sqlite/uuid-filter", test_uuid_filter);
    g_test_add_func("/journal-sqlite/kept-reader-sees-commits", test_kept_reader_sees_commits);
    g_test_add_func("/journal-sqlite/participant-filter", test_participant_filter);
    g_test_add_func("/journal-sqlite/private-numbers", test_private_numbers);
    g_test_add_func("/journal-sqlite/retention", test_retention);
    g_test_add_func("/journal-sqlite/migration-from-v1", test_migration_from_v1);
    g_test_add_func("/journal-sqlite/migration-odd-path", test_migration_odd_path);
    g_test_add_func("/journal-sqlite/migration-hot-journal", test_migration_hot_journal);
    g_test_add_func("/journal-sqlite/interrupted-migration-finished",
                    test_interrupted_migration_finished);
    g_test_add_func("/journal-sqlite/newer-version-refused", test_newer_version_refused);
    g_test_add_func("/journal-sqlite/disk-full-then-recovery", test_disk_full_then_recovery);
    g_test_add_func("/journal-sqlite/unopenable-path-then-recovery",
                    test_unopenable_path_then_recovery);
    g_test_add_func("/journal-sqlite/proc-path-waits", test_proc_path_waits);
    int result = g_test_run();
    world_reset(FALSE);
    remove_tree(world.state_dir);
    fake_module_free(world.module);
    g_free(world.state_dir);
    dlclose(handle);
    return result;
}
