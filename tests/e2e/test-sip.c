/*
 * test-sip.c - pbx-sip end to end: the real ucd with pbx-sip watching the lines
 * alice and bob on a real Kamailio with two real baresip phones
 * (tests/peers/kamailio.sh), users-file owning those lines, journal-sqlite and
 * the probe fixture. A real call alice -> bob must show in ucd as the model
 * shows a pbx-sim call: legs ringing then connected (ucctl calls and trace),
 * both users' presence changing, and one journal row with both participants.
 */
#include <sqlite3.h>
#include <string.h>

#include "harness.h"

static const char *const USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice'><login>alice</login><displayName>Alice</displayName>"
    "<line>alice</line></user>\n"
    "  <user id='file:bob'><login>bob</login><displayName>Bob</displayName>"
    "<line>bob</line></user>\n"
    "</users>\n";

static harness *start_ucd(harness_peer *peer)
{
    harness *h = harness_new(NULL);
    char *users = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(users, USERS_XML, -1, NULL));
    char *body = g_strdup_printf("[module pbx-sip:kam]\n"
                                 "server = 127.0.0.1:%s\n"
                                 "domain = 127.0.0.1\n"
                                 "lines = alice;bob\n"
                                 "[module users-file]\n"
                                 "file = %s\n"
                                 "[module journal-sqlite]\n"
                                 "[module probe]\n"
                                 "publish_count = 1\n",
                                 harness_peer_get(peer, "SIP_PORT"), users);
    harness_write_config(h, body);
    g_free(body);
    g_free(users);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "journal-sqlite", "running"));
    g_assert_true(harness_wait_state(h, "pbx-sip:kam", "running"));
    return h;
}

static JsonNode *ctl(harness *h, const char *a0, const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = {a0, a1, a2, a3, NULL};
    return harness_ok(h, argv);
}

static int column(JsonObject *o, const char *name)
{
    JsonArray *cols = json_object_get_array_member(o, "columns");
    for (guint i = 0; i < json_array_get_length(cols); i++)
        if (strcmp(json_array_get_string_element(cols, i), name) == 0)
            return (int)i;
    g_error("no column %s", name);
}

/* "kamailio.sh ua DIR PHONE COMMAND [PARAMS]": drives a baresip phone. */
static void phone(harness_peer *peer, const char *who, const char *command, const char *params)
{
    const char *argv[] = {harness_env("UCD_KAMAILIO_SCRIPT"),
                          "ua",
                          harness_peer_get(peer, "SIP_DIR"),
                          who,
                          command,
                          params,
                          NULL};
    int status = 0;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, NULL));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
}

/* The call id of the leg on `line` in `state` (polls up to 10 s). */
static char *leg_on(harness *h, const char *line, const char *state)
{
    for (int i = 0; i < 500; i++) {
        JsonNode *r = ctl(h, "calls", NULL, NULL, NULL);
        JsonObject *o = json_node_get_object(r);
        int cl = column(o, "line"), cc = column(o, "call"), cs = column(o, "state");
        JsonArray *rows = json_object_get_array_member(o, "rows");
        char *found = NULL;
        for (guint j = 0; j < json_array_get_length(rows) && !found; j++) {
            JsonArray *row = json_array_get_array_element(rows, j);
            if (strcmp(json_array_get_string_element(row, cl), line) == 0 &&
                strcmp(json_array_get_string_element(row, cs), state) == 0)
                found = g_strdup(json_array_get_string_element(row, cc));
        }
        json_node_free(r);
        if (found)
            return found;
        g_usleep(20000);
    }
    g_error("no %s leg on line %s", state, line);
}

static char *presence_seen(harness *h, const char *user)
{
    JsonNode *r = ctl(h, "probe", "presence", user, NULL);
    char *text = g_strdup(json_object_get_string_member(json_node_get_object(r), "text"));
    json_node_free(r);
    return text;
}

static void wait_presence_suffix(harness *h, const char *user, const char *suffix)
{
    char *seen = NULL;
    for (int i = 0; i < 500; i++) {
        g_free(seen);
        seen = presence_seen(h, user);
        if (g_str_has_suffix(seen, suffix)) {
            g_free(seen);
            return;
        }
        g_usleep(20000);
    }
    g_error("presence of %s: expected to end with \"%s\", got \"%s\"", user, suffix, seen);
}

/* The events of one line as `ucctl trace LINE` shows them, each cut to its
 * first three words ("call kam-1 offering", "line ringing"). */
static char *trace_words(harness *h, const char *line)
{
    JsonNode *r = ctl(h, "trace", line, "--limit", "1000");
    JsonObject *o = json_node_get_object(r);
    int ce = column(o, "event");
    JsonArray *rows = json_object_get_array_member(o, "rows");
    GString *out = g_string_new(NULL);
    for (guint j = 0; j < json_array_get_length(rows); j++) {
        const char *ev = json_array_get_string_element(json_array_get_array_element(rows, j), ce);
        char **w = g_strsplit(ev, " ", -1);
        int n = g_str_has_prefix(ev, "line ") ? 2 : 3;
        for (int k = 0; k < n && w[k]; k++)
            g_string_append_printf(out, "%s%s", k ? " " : "", w[k]);
        g_string_append(out, "; ");
        g_strfreev(w);
    }
    json_node_free(r);
    return g_string_free(out, FALSE);
}

/* One SQL query's rows, "a|b\n" each; NULL while the file or table is missing. */
static char *sql_text(harness *h, const char *sql)
{
    char *path = g_build_filename(h->dir, "state", "journal-sqlite", "journal.sqlite", NULL);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    GString *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 2000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        out = g_string_new(NULL);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *v = sqlite3_column_text(st, c);
                g_string_append_printf(out, "%s%s", c ? "|" : "", v ? (const char *)v : "NULL");
            }
            g_string_append(out, "\n");
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    g_free(path);
    return out ? g_string_free(out, FALSE) : NULL;
}

static void wait_journal_rows(harness *h, const char *expected)
{
    char *got = NULL;
    for (int i = 0; i < 500; i++) {
        g_free(got);
        got = sql_text(h, "SELECT count(*) FROM conversation");
        if (g_strcmp0(got, expected) == 0)
            break;
        g_usleep(20000);
    }
    g_assert_cmpstr(got, ==, expected);
    g_free(got);
}

/* alice calls bob, bob answers, alice hangs up: everything the model makes of
 * a pbx-sim call must come out of real SIP dialog state. */
static void test_real_call(void)
{
    harness_peer *peer = harness_peer_start(harness_env("UCD_KAMAILIO_SCRIPT"), "SIP_DIR", NULL);
    if (!peer)
        return;
    harness *h = start_ucd(peer);
    wait_presence_suffix(h, "file:alice", "available");
    wait_presence_suffix(h, "file:bob", "available");

    phone(peer, "alice", "dial", "sip:bob@127.0.0.1");
    char *bob_call = leg_on(h, "bob", "offering");
    char *alice_call = leg_on(h, "alice", "ringback");
    g_assert_cmpstr(bob_call, !=, alice_call);
    wait_presence_suffix(h, "file:bob", "ringing");
    phone(peer, "bob", "accept", "");
    g_free(leg_on(h, "bob", "connected"));
    g_free(leg_on(h, "alice", "connected"));
    wait_presence_suffix(h, "file:bob", "ringing on_phone");
    wait_presence_suffix(h, "file:alice", "on_phone");
    phone(peer, "alice", "hangup", "");
    wait_presence_suffix(h, "file:bob", "ringing on_phone available");
    wait_presence_suffix(h, "file:alice", "on_phone available");
    wait_journal_rows(h, "1\n");

    char *trace = trace_words(h, "bob");
    char *expected =
        g_strdup_printf("line idle; call %s offering; line ringing; call %s connected; "
                        "line busy; call %s disconnected; line idle; ",
                        bob_call, bob_call, bob_call);
    g_assert_cmpstr(trace, ==, expected);
    g_free(trace);
    g_free(expected);
    trace = trace_words(h, "alice");
    /* Kamailio reports the caller "Trying" first: dialing, then ringback */
    expected = g_strdup_printf("line idle; call %s dialing; line dialing; call %s ringback; "
                               "call %s connected; line busy; call %s disconnected; line idle; ",
                               alice_call, alice_call, alice_call, alice_call);
    g_assert_cmpstr(trace, ==, expected);
    g_free(trace);
    g_free(expected);

    char *rows = sql_text(h, "SELECT line, user_id FROM participant ORDER BY line");
    g_assert_cmpstr(rows, ==, "alice|file:alice\nbob|file:bob\n");
    g_free(rows);
    rows = sql_text(h, "SELECT end_reason, answer_ms > 0 FROM conversation");
    g_assert_cmpstr(rows, ==, "normal|1\n");
    g_free(rows);

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    harness_peer_stop(peer);
    g_free(bob_call);
    g_free(alice_call);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sip/real-call", test_real_call);
    return g_test_run();
}
