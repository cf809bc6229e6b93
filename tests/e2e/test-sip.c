/*
 * test-sip.c - pbx-sip end to end: the real ucd with pbx-sip watching the lines
 * alice and bob on a real Kamailio with two real baresip phones
 * (tests/peers/kamailio.sh), users-file owning those lines, journal-sqlite and
 * the probe fixture. A real call alice -> bob must show in ucd as the model
 * shows a pbx-sim call: legs ringing then connected (ucctl calls and trace),
 * both users' presence changing, and one journal row with both participants.
 */
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

/* ucd started, with both users known available (their lines idle). */
static harness *start_ucd_idle(harness_peer *peer)
{
    harness *h = start_ucd(peer);
    e2e_wait_presence_suffix(h, "file:alice", "available");
    e2e_wait_presence_suffix(h, "file:bob", "available");
    return h;
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

/* alice calls bob, bob answers, alice hangs up: everything the model makes of
 * a pbx-sim call must come out of real SIP dialog state. */
static void test_real_call(void)
{
    harness_peer *peer = harness_peer_start(harness_env("UCD_KAMAILIO_SCRIPT"), "SIP_DIR", NULL);
    if (!peer)
        return;
    harness *h = start_ucd_idle(peer);

    phone(peer, "alice", "dial", "sip:bob@127.0.0.1");
    char *bob_call = e2e_leg_on(h, "bob", "offering");
    char *alice_call = e2e_leg_on(h, "alice", "ringback");
    g_assert_cmpstr(bob_call, !=, alice_call);
    e2e_wait_presence_suffix(h, "file:bob", "ringing");
    phone(peer, "bob", "accept", "");
    g_free(e2e_leg_on(h, "bob", "connected"));
    g_free(e2e_leg_on(h, "alice", "connected"));
    e2e_wait_presence_suffix(h, "file:bob", "ringing on_phone");
    e2e_wait_presence_suffix(h, "file:alice", "on_phone");
    phone(peer, "alice", "hangup", "");
    e2e_wait_presence_suffix(h, "file:bob", "ringing on_phone available");
    e2e_wait_presence_suffix(h, "file:alice", "on_phone available");
    wait_journal(h, "SELECT count(*) FROM conversation", "1\n");

    char *trace = e2e_trace_words(h, "bob", 3);
    char *expected =
        g_strdup_printf("line idle; call %s offering; line ringing; call %s connected; "
                        "line busy; call %s disconnected; line idle; ",
                        bob_call, bob_call, bob_call);
    g_assert_cmpstr(trace, ==, expected);
    g_free(trace);
    g_free(expected);
    trace = e2e_trace_words(h, "alice", 3);
    /* Kamailio reports the caller "Trying" first: dialing, then ringback */
    expected = g_strdup_printf("line idle; call %s dialing; line dialing; call %s ringback; "
                               "call %s connected; line busy; call %s disconnected; line idle; ",
                               alice_call, alice_call, alice_call, alice_call);
    g_assert_cmpstr(trace, ==, expected);
    g_free(trace);
    g_free(expected);

    char *rows = e2e_journal_sql(h, "SELECT line, user_id FROM participant ORDER BY line");
    g_assert_cmpstr(rows, ==, "alice|file:alice\nbob|file:bob\n");
    g_free(rows);
    rows = e2e_journal_sql(h, "SELECT end_reason, answer_ms > 0 FROM conversation");
    g_assert_cmpstr(rows, ==, "normal|1\n");
    g_free(rows);

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    harness_peer_stop(peer);
    g_free(bob_call);
    g_free(alice_call);
}

/* `ucctl dial alice bob`: pbx-sip calls alice's phone (it auto-answers), REFERs
 * it to bob, and leaves: bob's phone rings, bob answers, both are connected. */
static void test_click_to_dial(void)
{
    harness_peer *peer = harness_peer_start(harness_env("UCD_KAMAILIO_SCRIPT"), "SIP_DIR", NULL);
    if (!peer)
        return;
    harness *h = start_ucd_idle(peer);

    const char *const dial[] = {"dial", "alice", "bob", NULL};
    json_node_free(harness_ok(h, dial));
    char *bob_call = e2e_leg_on(h, "bob", "offering");
    e2e_wait_presence_suffix(h, "file:bob", "ringing");
    phone(peer, "bob", "accept", "");
    g_free(e2e_leg_on(h, "bob", "connected"));
    e2e_wait_presence_suffix(h, "file:bob", "ringing on_phone");
    phone(peer, "bob", "hangup", "");
    e2e_wait_presence_suffix(h, "file:bob", "ringing on_phone available");
    /* alice is free again: her call with bob and the driver's own leg to her
     * phone (hung up after the transfer) have both ended */
    e2e_wait_presence_suffix(h, "file:alice", "on_phone available");
    /* the conversation alice <-> bob is journaled with both participants */
    wait_journal(h,
                 "SELECT count(*) FROM participant p JOIN participant q "
                 "ON p.conversation_id = q.conversation_id "
                 "WHERE p.line = 'bob' AND q.line = 'alice'",
                 "1\n");

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    harness_peer_stop(peer);
    g_free(bob_call);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sip/real-call", test_real_call);
    g_test_add_func("/sip/click-to-dial", test_click_to_dial);
    return g_test_run();
}
