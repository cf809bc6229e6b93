/*
 * test-sip.c - pbx-sip end to end: the real ucd with pbx-sip watching the lines
 * alice and bob (and carol, who has no phone) on a real Kamailio with two real
 * baresip phones (tests/peers/kamailio.sh), users-file owning those lines,
 * journal-sqlite and the probe fixture. A real call alice -> bob must show in
 * ucd as the model shows a pbx-sim call: legs ringing then connected (ucctl
 * calls and trace), both users' presence changing, and one journal row with
 * both participants. Click-to-dial must make exactly that call and nothing
 * more (the driver's own call to the phone is not a conversation), a dial
 * the phone cannot take must be a failed call, and a rejected call must be
 * journaled with the outcome the driver's cause mapping gives it.
 */
#include <string.h>

#include <ucd/ucd.h>

#include "e2e-util.h"
#include "harness.h"
#include "sip-util.h"

static const char *const USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice'><login>alice</login><displayName>Alice</displayName>"
    "<line>alice</line></user>\n"
    "  <user id='file:bob'><login>bob</login><displayName>Bob</displayName>"
    "<line>bob</line></user>\n"
    "  <user id='file:carol'><login>carol</login><displayName>Carol</displayName>"
    "<line>carol</line></user>\n"
    "</users>\n";

/* ucd watching alice, bob and carol, with every user known available (their
 * lines idle). */
static harness *start_ucd_idle(harness_peer *peer)
{
    char *section = sip_section("kam", peer, "alice;bob;carol", NULL);
    const char *const modules[] = {"pbx-sip:kam", NULL};
    harness *h = sip_ucd_start(USERS_XML, section, modules);
    g_free(section);
    e2e_wait_presence_suffix(h, "file:alice", "available");
    e2e_wait_presence_suffix(h, "file:bob", "available");
    e2e_wait_presence_suffix(h, "file:carol", "available");
    return h;
}

/* alice calls bob, bob answers, alice hangs up: everything the model makes of
 * a pbx-sim call must come out of real SIP dialog state. */
static void test_real_call(harness *h, harness_peer *peer)
{
    sip_phone_dial(peer, "alice", "bob");
    char *bob_call = e2e_leg_on(h, "bob", "offering");
    char *alice_call = e2e_leg_on(h, "alice", "ringback");
    g_assert_cmpstr(bob_call, !=, alice_call);
    e2e_wait_presence_suffix(h, "file:bob", "ringing");
    sip_phone(peer, "bob", "accept", "");
    g_free(e2e_leg_on(h, "bob", "connected"));
    g_free(e2e_leg_on(h, "alice", "connected"));
    e2e_wait_presence_suffix(h, "file:bob", "ringing on_phone");
    e2e_wait_presence_suffix(h, "file:alice", "on_phone");
    sip_phone(peer, "alice", "hangup", "");
    e2e_wait_presence_suffix(h, "file:bob", "ringing on_phone available");
    e2e_wait_presence_suffix(h, "file:alice", "on_phone available");
    sip_wait_journal(h, "SELECT count(*) FROM conversation", "1\n");

    char *trace = e2e_trace_words(h, "bob", 3);
    char *expected =
        g_strdup_printf("line idle; call %s offering; line ringing; call %s connected; "
                        "line busy; call %s disconnected; line idle; ",
                        bob_call, bob_call, bob_call);
    g_assert_cmpstr(trace, ==, expected);
    g_free(trace);
    g_free(expected);
    trace = e2e_trace_words(h, "alice", 3);
    /* Kamailio reports the caller "Trying" first: dialing, then ringback. A
     * NOTIFY carries the dialog's state at the time it is sent, not each
     * step: when "early" follows "Trying" closely (a slow machine, ASan) the
     * subscriber sees "early" first, so the dialing step may be missing. */
    expected = g_strdup_printf("line idle; call %s dialing; line dialing; call %s ringback; "
                               "call %s connected; line busy; call %s disconnected; line idle; ",
                               alice_call, alice_call, alice_call, alice_call);
    char *without_trying =
        g_strdup_printf("line idle; call %s ringback; line dialing; call %s connected; "
                        "line busy; call %s disconnected; line idle; ",
                        alice_call, alice_call, alice_call);
    if (g_strcmp0(trace, without_trying) != 0)
        g_assert_cmpstr(trace, ==, expected);
    g_free(without_trying);
    g_free(trace);
    g_free(expected);

    char *rows = e2e_journal_sql(h, "SELECT line, user_id FROM participant ORDER BY line");
    g_assert_cmpstr(rows, ==, "alice|file:alice\nbob|file:bob\n");
    g_free(rows);
    /* what alice dialled (issue 12 item 17) */
    rows = e2e_journal_sql(h, "SELECT end_reason, answer_ms > 0, requested_number "
                              "FROM conversation");
    g_assert_cmpstr(rows, ==, "normal|1|bob\n");
    g_free(rows);

    g_free(bob_call);
    g_free(alice_call);
}

/* Asserts that the model holds no live leg and has journaled `journaled`
 * conversations (ucctl calls), so no late row can still come. */
static void assert_settled(harness *h, const char *journaled)
{
    JsonNode *r = e2e_ctl(h, "calls", NULL, NULL, NULL);
    JsonObject *o = json_node_get_object(r);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o, "rows")), ==, 0);
    json_node_free(r);
    char *count = e2e_journal_sql(h, "SELECT count(*) FROM conversation");
    char *want = g_strdup_printf("%s\n", journaled);
    g_assert_cmpstr(count, ==, want);
    g_free(want);
    g_free(count);
}

/* How often `needle` occurs in `text`. */
static guint count_of(const char *text, const char *needle)
{
    guint n = 0;
    for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle))
        n++;
    return n;
}

/* `ucctl dial alice bob`: pbx-sip calls alice's phone (it auto-answers), REFERs
 * it to bob, and leaves: bob's phone rings, bob answers, both are connected.
 * The driver's own call to alice's phone is an implementation detail: it must
 * show neither on alice's line nor in the journal. */
static void test_click_to_dial(harness *h, harness_peer *peer)
{
    json_node_free(e2e_ctl(h, "dial", "alice", "bob", NULL));
    g_free(e2e_leg_on(h, "bob", "offering"));
    e2e_wait_presence_suffix(h, "file:bob", "ringing");
    sip_phone(peer, "bob", "accept", "");
    g_free(e2e_leg_on(h, "bob", "connected"));
    g_free(e2e_leg_on(h, "alice", "connected"));
    e2e_wait_presence_suffix(h, "file:bob", "ringing on_phone");
    sip_phone(peer, "bob", "hangup", "");
    e2e_wait_presence_suffix(h, "file:bob", "ringing on_phone available");
    /* alice is free again, and was busy once only: the call with bob */
    e2e_wait_presence_suffix(h, "file:alice", "available on_phone available");
    /* exactly one conversation, alice calling bob */
    sip_wait_journal(h, SIP_LINES_OF_CONVERSATIONS, "1|alice,bob\n");
    assert_settled(h, "1");
    /* the requested number is the one alice asked to dial (issue 12 item 17) */
    char *rows = e2e_journal_sql(h, "SELECT end_reason, answer_ms > 0, requested_number "
                                    "FROM conversation");
    g_assert_cmpstr(rows, ==, "normal|1|bob\n");
    g_free(rows);

    /* alice's line saw one call, outbound to bob; never one from the driver's
     * own SIP user (pbx-sip's `user`, default "ucd") */
    char *trace = sip_trace(h, "alice");
    g_assert_null(strstr(trace, "remote ucd"));
    g_assert_null(strstr(trace, "inbound"));
    g_assert_nonnull(strstr(trace, "remote bob"));
    g_assert_cmpuint(count_of(trace, "(was idle)"), ==, 1); /* legs begin idle */
    g_free(trace);
}

/* Waits (up to 30 s: an INVITE from ucd under ASan or valgrind on a busy
 * machine) until the baresip phone `who` has logged `needle`; on failure
 * prints what the phone did log. */
static void wait_phone_log(harness_peer *peer, const char *who, const char *needle)
{
    char *path = g_build_filename(harness_peer_get(peer, "SIP_DIR"), who, "log", NULL);
    char *text = NULL;
    for (int i = 0; i < 1500; i++) {
        g_free(text);
        text = NULL;
        if (g_file_get_contents(path, &text, NULL, NULL) && strstr(text, needle) != NULL)
            break;
        g_usleep(20000);
    }
    if (text == NULL || strstr(text, needle) == NULL)
        g_error("phone %s never logged \"%s\"; its log:\n%s", who, needle, text ? text : "(none)");
    g_free(text);
    g_free(path);
}

/* The trace of `line` must show exactly one leg, dialing alice and then ended
 * with `cause` without having been connected. */
static void assert_failed_dial(harness *h, const char *line, const char *cause)
{
    char *trace = sip_trace(h, line);
    g_assert_cmpuint(count_of(trace, "(was idle)"), ==, 1);
    g_assert_nonnull(strstr(trace, " dialing (was idle) "));
    g_assert_nonnull(strstr(trace, " remote alice"));
    g_assert_nonnull(strstr(trace, " disconnected (was dialing) "));
    g_assert_null(strstr(trace, " connected (was"));
    char *with_cause = g_strdup_printf(" cause %s", cause);
    g_assert_nonnull(strstr(trace, with_cause));
    g_free(with_cause);
    g_free(trace);
}

/* A dial the phone cannot take: carol has no phone registered (Kamailio
 * answers the driver's INVITE 404), and bob's phone rings and refuses (486).
 * Each is a call on the line that dialed and failed: the model journals it
 * with the outcome of its cause, and ucd carries on. */
static void test_click_to_dial_failed(harness *h, harness_peer *peer)
{
    json_node_free(e2e_ctl(h, "dial", "carol", "alice", NULL));
    sip_wait_journal(h, "SELECT count(*) FROM conversation", "1\n");
    char *rows = e2e_journal_sql(h, "SELECT outcome, answer_ms, end_reason FROM conversation");
    char *want = g_strdup_printf("%d|0|failed\n", UCD_OUTCOME_FAILED);
    g_assert_cmpstr(rows, ==, want);
    g_free(want);
    g_free(rows);
    rows = e2e_journal_sql(h, "SELECT line, user_id FROM participant");
    g_assert_cmpstr(rows, ==, "carol|file:carol\n");
    g_free(rows);
    assert_failed_dial(h, "carol", "failed");

    json_node_free(e2e_ctl(h, "dial", "bob", "alice", NULL));
    wait_phone_log(peer, "bob", "Incoming call from:  sip:ucd@");
    sip_phone(peer, "bob", "hangup", ""); /* baresip refuses a ringing call: 486 */
    sip_wait_journal(h, "SELECT count(*) FROM conversation", "2\n");
    /* bob rejecting his own click-to-dial: the row names alice, whom he asked
     * for, not bob himself (issue 12 item 17) */
    rows = e2e_journal_sql(h, "SELECT outcome, answer_ms, requested_number FROM conversation "
                              "ORDER BY id");
    want = g_strdup_printf("%d|0|alice\n%d|0|alice\n", UCD_OUTCOME_FAILED, UCD_OUTCOME_BUSY);
    g_assert_cmpstr(rows, ==, want);
    g_free(want);
    g_free(rows);
    assert_failed_dial(h, "bob", "busy");

    /* alice was never called: not by the driver, nor by a REFER */
    char *trace = sip_trace(h, "alice");
    g_assert_cmpstr(trace, ==, "line idle; ");
    g_free(trace);
    assert_settled(h, "2");
    e2e_wait_presence_suffix(h, "file:bob", "available");
    e2e_wait_presence_suffix(h, "file:carol", "available");
}

/* bob refuses a ringing call from alice. Kamailio publishes both dialogs as
 * plain "terminated" (no event, no code: pua_dialoginfo says no more), so the
 * driver can only tell that the callee never answered: bob's leg ends
 * no_answer, the caller's normal, and the conversation's outcome is no_answer. */
static void test_rejected(harness *h, harness_peer *peer)
{
    sip_phone_dial(peer, "alice", "bob");
    char *bob_call = e2e_leg_on(h, "bob", "offering");
    g_free(e2e_leg_on(h, "alice", "ringback"));
    sip_phone(peer, "bob", "hangup", "");
    e2e_wait_presence_suffix(h, "file:bob", "ringing available");
    e2e_wait_presence_suffix(h, "file:alice", "on_phone available");
    /* The two dialogs' NOTIFYs come on two subscriptions, in either order;
     * the callee's no_answer decides, whichever the driver heard last. */
    char *want = g_strdup_printf("%d|0|no_answer\n", UCD_OUTCOME_NO_ANSWER);
    sip_wait_journal(h, "SELECT outcome, answer_ms, end_reason FROM conversation", want);
    g_free(want);

    char *trace = sip_trace(h, "bob");
    char *ended =
        g_strdup_printf("call %s disconnected (was offering) internal remote alice", bob_call);
    g_assert_nonnull(strstr(trace, ended));
    g_assert_nonnull(strstr(trace, "cause no_answer"));
    g_free(ended);
    g_free(trace);
    trace = sip_trace(h, "alice");
    g_assert_nonnull(strstr(trace, "disconnected (was ringback) internal remote bob"));
    g_assert_nonnull(strstr(trace, "cause normal"));
    g_free(trace);
    char *rows = e2e_journal_sql(h, "SELECT line, user_id FROM participant ORDER BY line");
    g_assert_cmpstr(rows, ==, "alice|file:alice\nbob|file:bob\n");
    g_free(rows);
    rows = e2e_journal_sql(h, "SELECT requested_number FROM conversation");
    g_assert_cmpstr(rows, ==, "bob\n");
    g_free(rows);
    assert_settled(h, "1");

    g_free(bob_call);
}

/* Each test gets its own Kamailio with phones and its own ucd watching it;
 * after the test ucd must still run and stop cleanly (leak-free under
 * valgrind). */
typedef struct sip_test {
    const char *path;
    void (*run)(harness *h, harness_peer *peer);
} sip_test;

static void run_in_own_world(gconstpointer data)
{
    const sip_test *test = data;
    harness_peer *peer = sip_peer_start(NULL);
    if (peer == NULL)
        return;
    harness *h = start_ucd_idle(peer);
    test->run(h, peer);
    sip_stop(h, peer);
}

int main(int argc, char **argv)
{
    static const sip_test tests[] = {
        {"/sip/real-call", test_real_call},
        {"/sip/click-to-dial", test_click_to_dial},
        {"/sip/click-to-dial-failed", test_click_to_dial_failed},
        {"/sip/rejected", test_rejected},
    };
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(tests); i++)
        g_test_add_data_func(tests[i].path, &tests[i], run_in_own_world);
    return g_test_run();
}
