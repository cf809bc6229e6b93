/*
 * test-ami.c - pbx-ami end to end: the real ucd with pbx-ami against the
 * ami-replay program (plugins/pbx-ami/tests/proto), users-file owning the
 * lines alice and bob, journal-sqlite and the probe fixture.
 *
 * The script is what a real Asterisk 22 sends: the login, the resync answers
 * (no channels, no hints, no AstDB keys), then a PJSIP call alice -> bob made
 * of the events of the real captures' shape, then an expectation of the
 * Originate `ucctl dial` must send, answered with an OriginateResponse
 * failure. The replay peer is ours: under CI=true nothing here skips.
 */
#include <signal.h>
#include <string.h>

#include "e2e-util.h"
#include "harness.h"

static const char *const USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice'><login>alice</login><displayName>Alice</displayName>"
    "<line>alice</line></user>\n"
    "  <user id='file:bob'><login>bob</login><displayName>Bob</displayName>"
    "<line>bob</line></user>\n"
    "</users>\n";

/* Login and the driver's resync for the lines alice and bob. */
static const char *const SCRIPT_HEAD =
    "<<< BANNER Asterisk Call Manager/11.0.0\n\n"
    ">>> SENT\nAction: Login\nActionID: 1\nUsername: ucd\n\n"
    "Response: Success\nActionID: 1\nMessage: Authentication accepted\n\n"
    ">>> SENT\nAction: CoreShowChannels\nActionID: 2\n\n"
    "Response: Success\nActionID: 2\nEventList: start\nMessage: Channels will follow\n\n"
    "Event: CoreShowChannelsComplete\nActionID: 2\nEventList: Complete\nListItems: 0\n\n"
    ">>> SENT\nAction: ExtensionStateList\nActionID: 3\n\n"
    "Response: Success\nActionID: 3\nEventList: start\n"
    "Message: Extension Statuses will follow\n\n"
    "Event: ExtensionStateListComplete\nActionID: 3\nEventList: Complete\nListItems: 0\n\n"
    ">>> SENT\nAction: DBGet\nActionID: 4\nFamily: DND\nKey: alice\n\n"
    "Response: Error\nActionID: 4\nMessage: Database entry not found\n\n"
    ">>> SENT\nAction: DBGet\nActionID: 5\nFamily: CF\nKey: alice\n\n"
    "Response: Error\nActionID: 5\nMessage: Database entry not found\n\n"
    ">>> SENT\nAction: DBGet\nActionID: 6\nFamily: DND\nKey: bob\n\n"
    "Response: Error\nActionID: 6\nMessage: Database entry not found\n\n"
    ">>> SENT\nAction: DBGet\nActionID: 7\nFamily: CF\nKey: bob\n\n"
    "Response: Error\nActionID: 7\nMessage: Database entry not found\n\n";

/* A script part of plugins/pbx-ami/tests/driver/data (the driver test's too). */
static char *driver_data(const char *name)
{
    char *path = g_build_filename(harness_env("AMI_DRIVER_DATA"), name, NULL);
    char *text = NULL;
    GError *error = NULL;
    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    g_free(path);
    return text;
}

/* What `ucctl dial alice 0891234567` must send, and Asterisk's refusal: the
 * device is not registered (Reason 0, no channel made). */
static const char *const SCRIPT_DIAL =
    ">>> SENT\nAction: Originate\nActionID: 8\nChannel: PJSIP/alice\nContext: from-internal\n"
    "Exten: 0891234567\nPriority: 1\nAsync: true\n\n"
    "Response: Success\nActionID: 8\nMessage: Originate successfully queued\n\n"
    "Event: OriginateResponse\nActionID: 8\nResponse: Failure\nChannel: PJSIP/alice\n"
    "Context: from-internal\nExten: 0891234567\nReason: 0\nUniqueid: <null>\n\n";

typedef struct replay {
    GSubprocess *proc;
    char *dir;
    char *port;
    char *actions; /* the --log-actions file */
} replay;

static replay *replay_start(const char *script)
{
    replay *r = g_new0(replay, 1);
    r->dir = g_dir_make_tmp("ucd-ami-XXXXXX", NULL);
    g_assert_nonnull(r->dir);
    char *script_path = g_build_filename(r->dir, "script.txt", NULL);
    char *port_file = g_build_filename(r->dir, "port", NULL);
    r->actions = g_build_filename(r->dir, "actions.txt", NULL);
    g_assert_true(g_file_set_contents(script_path, script, -1, NULL));
    GError *error = NULL;
    r->proc = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, harness_env("AMI_REPLAY_BIN"),
                               "--script", script_path, "--port-file", port_file, "--secret",
                               "e2e-secret", "--log-actions", r->actions, NULL);
    g_assert_no_error(error);
    for (int i = 0; i < 1000 && r->port == NULL; i++) {
        char *text = NULL;
        if (g_file_get_contents(port_file, &text, NULL, NULL) && *g_strstrip(text) != '\0')
            r->port = g_steal_pointer(&text);
        g_free(text);
        if (r->port == NULL)
            g_usleep(10000);
    }
    g_assert_nonnull(r->port);
    g_free(port_file);
    g_free(script_path);
    return r;
}

static void replay_stop(replay *r)
{
    g_subprocess_send_signal(r->proc, SIGTERM);
    g_subprocess_wait(r->proc, NULL, NULL);
    g_object_unref(r->proc);
    char *argv[] = {"rm", "-rf", r->dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(r->dir);
    g_free(r->port);
    g_free(r->actions);
    g_free(r);
}

static harness *start_ucd(replay *r)
{
    harness *h = harness_new(NULL);
    char *users = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(users, USERS_XML, -1, NULL));
    char *body = g_strdup_printf("[module pbx-ami:pbx]\n"
                                 "host = 127.0.0.1\n"
                                 "port = %s\n"
                                 "username = ucd\n"
                                 "secret = e2e-secret\n"
                                 "lines = alice=PJSIP/alice;bob=PJSIP/bob\n"
                                 "[module users-file]\n"
                                 "file = %s\n"
                                 "[module journal-sqlite]\n"
                                 "[module probe]\n"
                                 "publish_count = 1\n",
                                 r->port, users);
    harness_write_config(h, body);
    g_free(body);
    g_free(users);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "journal-sqlite", "running"));
    g_assert_true(harness_wait_state(h, "pbx-ami:pbx", "running"));
    return h;
}

/* Polls the journal until `sql` gives `expected` (up to 10 s). */
static void wait_journal(harness *h, const char *sql, const char *expected)
{
    char *got = NULL;
    for (int i = 0; i < 500; i++) {
        g_free(got);
        got = e2e_journal_sql(h, sql);
        if (g_strcmp0(got, expected) == 0)
            break;
        g_usleep(20000);
    }
    g_assert_cmpstr(got, ==, expected);
    g_free(got);
}

static gboolean file_has(const char *path, const char *needle)
{
    char *text = NULL;
    gboolean found = g_file_get_contents(path, &text, NULL, NULL) && strstr(text, needle) != NULL;
    g_free(text);
    return found;
}

static void test_call_and_dial(void)
{
    /* alice calls bob, bob answers, alice hangs up (one Linkedid) */
    char *call = driver_data("alice-calls-bob.txt");
    char *hangup = driver_data("alice-bob-hangup.txt");
    char *script = g_strconcat(SCRIPT_HEAD, call, hangup, SCRIPT_DIAL, NULL);
    g_free(call);
    g_free(hangup);
    replay *r = replay_start(script);
    harness *h = start_ucd(r);

    /* the call: one conversation with both participants, answered, normal */
    wait_journal(h, "SELECT count(*) FROM conversation", "1\n");
    char *rows = e2e_journal_sql(h, "SELECT line, user_id FROM participant ORDER BY line");
    g_assert_cmpstr(rows, ==, "alice|file:alice\nbob|file:bob\n");
    g_free(rows);
    rows = e2e_journal_sql(h, "SELECT end_reason, answer_ms > 0, driver_instance "
                              "FROM conversation");
    g_assert_cmpstr(rows, ==, "normal|1|pbx-ami:pbx\n");
    g_free(rows);
    /* presence followed the call */
    e2e_wait_presence_suffix(h, "file:bob", "on_phone available");
    e2e_wait_presence_suffix(h, "file:alice", "on_phone available");
    char *seen = e2e_presence_seen(h, "file:bob");
    g_assert_nonnull(strstr(seen, "ringing"));
    g_free(seen);

    /* click-to-dial: the Originate as scripted, its failure a failed row */
    const char *const dial[] = {"dial", "alice", "0891234567", NULL};
    json_node_free(harness_ok(h, dial));
    /* the failed dial: alice's leg, outcome failed (3) */
    wait_journal(h,
                 "SELECT p.line FROM conversation c JOIN participant p "
                 "ON p.conversation_id = c.id WHERE c.outcome = 3",
                 "alice\n");
    g_assert_true(file_has(r->actions, "Action: Originate"));
    g_assert_true(file_has(r->actions, "Exten: 0891234567"));
    g_assert_true(file_has(r->actions, "Channel: PJSIP/alice"));
    g_assert_false(file_has(r->actions, "e2e-secret"));
    g_assert_true(harness_wait_log(h, "dial on alice to 0891234567 failed"));
    char *log = harness_log(h);
    g_assert_null(strstr(log, "e2e-secret"));
    g_free(log);

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    replay_stop(r);
    g_free(script);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ami/call-and-dial", test_call_and_dial);
    return g_test_run();
}
