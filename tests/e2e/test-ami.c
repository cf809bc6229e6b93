/*
 * test-ami.c - pbx-ami end to end: the real ucd with pbx-ami against the
 * ami-replay program (plugins/pbx-ami/tests/proto), users-file owning the
 * lines, journal-sqlite and the probe fixture.
 *
 * The scripts are what a real Asterisk 22 sends: the login, the resync
 * answers (no channels, no hints, no AstDB keys), then a PJSIP call
 * alice -> bob made of the events of the real captures' shape, then
 * expectations of the actions ucctl must make the driver send. The replay
 * peer is ours: under CI=true nothing here skips.
 */
#include <string.h>

#include "test-ami-util.h"

static const char *const USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice'><login>alice</login><displayName>Alice</displayName>"
    "<line>alice</line></user>\n"
    "  <user id='file:bob'><login>bob</login><displayName>Bob</displayName>"
    "<line>bob</line></user>\n"
    "  <user id='file:carol'><login>carol</login><displayName>Carol</displayName>"
    "<line>carol</line></user>\n"
    "  <user id='file:dave'><login>dave</login><displayName>Dave</displayName>"
    "<line>dave</line></user>\n"
    "  <user id='file:erin'><login>erin</login><displayName>Erin</displayName>"
    "<line>201</line></user>\n"
    "</users>\n";

static const char *const ALICE_BOB[] = {"alice", "bob", NULL};

/* What `ucctl dial alice 0891234567` must send, and Asterisk's refusal: the
 * device is not registered (Reason 0, no channel made). */
static const char *const SCRIPT_DIAL =
    ">>> SENT\nAction: Originate\nActionID: 8\nChannel: PJSIP/alice\nContext: from-internal\n"
    "Exten: 0891234567\nPriority: 1\nAsync: true\n\n"
    "Response: Success\nActionID: 8\nMessage: Originate successfully queued\n\n"
    "Event: OriginateResponse\nActionID: 8\nResponse: Failure\nChannel: PJSIP/alice\n"
    "Context: from-internal\nExten: 0891234567\nReason: 0\nUniqueid: <null>\n\n";

/* A [module pbx-ami:NAME] section for `peer` with `lines`. */
static char *ami_section(const char *name, const ami_peer *peer, const char *lines)
{
    return g_strdup_printf("[module pbx-ami:%s]\n"
                           "host = 127.0.0.1\n"
                           "port = %s\n"
                           "username = ucd\n"
                           "secret = e2e-secret\n"
                           "lines = %s\n",
                           name, peer->port, lines);
}

static void test_call_and_dial(void)
{
    /* alice calls bob, bob answers, alice hangs up (one Linkedid) */
    char *head = ami_script_head(ALICE_BOB, "");
    char *call = ami_driver_data("alice-calls-bob.txt");
    char *hangup = ami_driver_data("alice-bob-hangup.txt");
    char *script = g_strconcat(head, call, hangup, SCRIPT_DIAL, NULL);
    ami_peer *peer = ami_peer_start(script, NULL);
    char *modules = ami_section("pbx", peer, "alice=PJSIP/alice;bob=PJSIP/bob");
    harness *h = ami_ucd_start(USERS_XML, modules);
    g_assert_true(harness_wait_state(h, "pbx-ami:pbx", "running"));

    /* the call: one conversation with both participants, answered, normal */
    ami_wait_journal(h, "SELECT count(*) FROM conversation", "1\n");
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
    ami_wait_journal(h,
                     "SELECT p.line FROM conversation c JOIN participant p "
                     "ON p.conversation_id = c.id WHERE c.outcome = 3",
                     "alice\n");
    g_assert_true(ami_peer_received(peer, "Action: Originate"));
    g_assert_true(ami_peer_received(peer, "Exten: 0891234567"));
    g_assert_true(ami_peer_received(peer, "Channel: PJSIP/alice"));
    /* alice's phone shows the number, the called party would see alice's
     * own caller ID: no CallerID header (issue 12 item 14) */
    g_assert_true(
        ami_peer_received(peer, "Variable: CONNECTEDLINE(all,i)=\\\"0891234567\\\" <0891234567>"));
    g_assert_false(ami_peer_received(peer, "CallerID:"));
    g_assert_false(ami_peer_received(peer, "e2e-secret"));
    g_assert_true(harness_wait_log(h, "dial on alice to 0891234567 failed"));
    ami_assert_secret_hidden(h, "e2e-secret", "ami-pbx");

    ami_ucd_stop(h);
    ami_peer_stop(peer);
    g_free(modules);
    g_free(script);
    g_free(hangup);
    g_free(call);
    g_free(head);
}

/* ---- two Asterisk servers ----------------------------------------------------------- */

/* The call alice -> bob up to the bridge, then an expectation: the Hangup of
 * bob's channel `ucctl hangup` must send, after which the call ends. The
 * west server's copy has carol and dave in place of alice and bob but the
 * same Uniqueids and Linkedid, as two unrelated Asterisk servers may well
 * report. */
static char *two_servers_script(gboolean west)
{
    const char *const lines[] = {west ? "carol" : "alice", west ? "dave" : "bob", NULL};
    char *head = ami_script_head(lines, "");
    char *call = ami_driver_data("alice-calls-bob.txt");
    char *hangup = ami_driver_data("alice-bob-hangup.txt");
    char *script = g_strconcat(head, call,
                               ">>> SENT\nAction: Hangup\nActionID: 20\n"
                               "Channel: PJSIP/bob-00000002\n\n"
                               "Response: Success\nActionID: 20\nMessage: Channel Hungup\n\n",
                               hangup, NULL);
    if (west) {
        const char *const swaps[][2] = {{"alice", "carol"}, {"Alice", "Carol"}, {"bob", "dave"}};
        for (guint i = 0; i < G_N_ELEMENTS(swaps); i++) {
            char *swapped = ami_replace(script, swaps[i][0], swaps[i][1]);
            g_free(script);
            script = swapped;
        }
    }
    g_free(hangup);
    g_free(call);
    g_free(head);
    return script;
}

/* The live leg on DRIVER's LINE has call id `expected` (from `ucctl calls`). */
static void assert_leg(harness *h, const char *line, const char *expected)
{
    char *leg = e2e_leg_on(h, line, "connected");
    g_assert_cmpstr(leg, ==, expected);
    g_free(leg);
}

/* `ucctl lines`: each instance lists its own lines with their users. */
static void assert_lines_table(harness *h)
{
    const char *const expected[][3] = {
        {"pbx-ami:east", "alice", "alice"}, {"pbx-ami:east", "bob", "bob"},
        {"pbx-ami:west", "carol", "carol"}, {"pbx-ami:west", "dave", "dave"},
        {"pbx-sim:office", "201", "erin"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(expected); i++) {
        char *user = ami_line_cell(h, expected[i][0], expected[i][1], "user");
        g_assert_cmpstr(user, ==, expected[i][2]);
        g_free(user);
    }
    /* no line of one instance shows up under the other */
    char *cross = ami_line_cell(h, "pbx-ami:west", "alice", "user");
    g_assert_null(cross);
    cross = ami_line_cell(h, "pbx-ami:east", "carol", "user");
    g_assert_null(cross);
}

static void test_two_servers(void)
{
    char *east_script = two_servers_script(FALSE);
    char *west_script = two_servers_script(TRUE);
    ami_peer *east = ami_peer_start(east_script, NULL);
    ami_peer *west = ami_peer_start(west_script, NULL);
    char *east_section = ami_section("east", east, "alice=PJSIP/alice;bob=PJSIP/bob");
    char *west_section = ami_section("west", west, "carol=PJSIP/carol;dave=PJSIP/dave");
    char *modules =
        g_strconcat(east_section, west_section, "[module pbx-sim:office]\nlines = 201;202\n", NULL);
    harness *h = ami_ucd_start(USERS_XML, modules);
    g_assert_true(harness_wait_state(h, "pbx-ami:east", "running"));
    g_assert_true(harness_wait_state(h, "pbx-ami:west", "running"));
    g_assert_true(harness_wait_state(h, "pbx-sim:office", "running"));

    /* both calls live at once: the same Uniqueids, ids kept apart by instance */
    assert_leg(h, "alice", "east-1700000000.1");
    assert_leg(h, "bob", "east-1700000000.2");
    assert_leg(h, "carol", "west-1700000000.1");
    assert_leg(h, "dave", "west-1700000000.2");
    assert_lines_table(h);
    char *busy = ami_line_cell(h, "pbx-ami:west", "dave", "calls");
    g_assert_cmpstr(busy, ==, "1");
    g_free(busy);

    /* each hangup goes to its own server */
    json_node_free(e2e_ctl(h, "hangup", "bob", "east-1700000000.2", NULL));
    ami_wait_journal(h, "SELECT driver_instance FROM conversation", "pbx-ami:east\n");
    g_assert_false(ami_peer_received(west, "Action: Hangup"));
    json_node_free(e2e_ctl(h, "hangup", "dave", "west-1700000000.2", NULL));
    ami_wait_journal(h, "SELECT count(*) FROM conversation", "2\n");
    /* and pbx-sim beside them */
    JsonNode *r = e2e_ctl(h, "sim-office", "call", "0301234567", "201");
    char *result = ami_field(r, "result");
    g_assert_cmpstr(result, ==, "ringing");
    g_free(result);
    json_node_free(r);
    char *sim_leg = e2e_leg_on(h, "201", "offering");
    /* 201 rejects it while it rings: end_reason "rejected", unanswered */
    json_node_free(e2e_ctl(h, "hangup", "201", sim_leg, NULL));
    g_free(sim_leg);

    ami_wait_journal(h,
                     "SELECT c.driver_instance, p.line, p.user_id FROM conversation c "
                     "JOIN participant p ON p.conversation_id = c.id ORDER BY 1, 2",
                     "pbx-ami:east|alice|file:alice\npbx-ami:east|bob|file:bob\n"
                     "pbx-ami:west|carol|file:carol\npbx-ami:west|dave|file:dave\n"
                     "pbx-sim:office|201|file:erin\n");
    char *rows = e2e_journal_sql(h, "SELECT driver_instance, end_reason, answer_ms > 0 "
                                    "FROM conversation ORDER BY 1");
    g_assert_cmpstr(rows, ==,
                    "pbx-ami:east|normal|1\npbx-ami:west|normal|1\npbx-sim:office|rejected|0\n");
    g_free(rows);
    e2e_wait_presence_suffix(h, "file:carol", "on_phone available");
    e2e_wait_presence_suffix(h, "file:alice", "on_phone available");
    g_assert_true(ami_peer_received(east, "Channel: PJSIP/bob-00000002"));
    g_assert_true(ami_peer_received(west, "Channel: PJSIP/dave-00000002"));

    ami_ucd_stop(h);
    ami_peer_stop(east);
    ami_peer_stop(west);
    g_free(modules);
    g_free(west_section);
    g_free(east_section);
    g_free(west_script);
    g_free(east_script);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ami/call-and-dial", test_call_and_dial);
    g_test_add_func("/ami/two-servers", test_two_servers);
    return g_test_run();
}
